/**
 * Writes docs/spec.schema.json from the zod schema: `node dist/src/lab/write-spec-schema.js`
 * (npm script `schema`). Run it after changing src/lab/spec.ts; a test checks the file is current.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { specJsonSchemaText } from './json-schema';

/** docs/spec.schema.json of the repository (this file compiles to <out>/src/lab/). */
export const SCHEMA_FILE = path.join(__dirname, '..', '..', '..', 'docs', 'spec.schema.json');

if (require.main === module) {
  fs.writeFileSync(SCHEMA_FILE, specJsonSchemaText());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
