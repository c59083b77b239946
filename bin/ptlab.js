#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('ptlab: the library is not built; run `npm install` (or `npm run build`) in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
// errors are mapped to messages and exit codes in one place: cli() in src/cli/main.ts
require(entry).cli(process.argv.slice(2)).then((code) => { process.exitCode = code; });
