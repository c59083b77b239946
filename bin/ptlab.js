#!/usr/bin/env node
'use strict';
const path = require('path');
const fs = require('fs');
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('ptlab: the library is not built; run `npm install` (or `npm run build`) in ' + path.join(__dirname, '..') + '\n');
  process.exit(2);
}
require(entry).main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    if (err && err.name === 'CliError') { process.stderr.write('ptlab: ' + err.message + '\n'); process.exitCode = err.exitCode || 2; }
    else { process.stderr.write('ptlab: internal error: ' + ((err && err.stack) || err) + '\n'); process.exitCode = 70; }
  },
);
