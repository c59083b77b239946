import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { specJsonSchemaText } from '../src/lab/json-schema';
import { validateSpec } from '../src/lab/validate';

const ROOT = path.join(__dirname, '..', '..');

test('docs/spec.schema.json is current (regenerate: node dist/src/lab/write-spec-schema.js)', () => {
  const file = path.join(ROOT, 'docs', 'spec.schema.json');
  assert.ok(fs.existsSync(file), 'docs/spec.schema.json is missing');
  assert.equal(fs.readFileSync(file, 'utf8'), specJsonSchemaText(), 'docs/spec.schema.json is stale; run node dist/src/lab/write-spec-schema.js');
});

test('the JSON Schema lists every op and forbids unknown fields', () => {
  const s = JSON.parse(specJsonSchemaText());
  const ops = (s.properties.steps.items.oneOf ?? s.properties.steps.items.anyOf).map((b: { properties: { op: { const: string } } }) => b.properties.op.const);
  assert.ok(ops.includes('mmap') && ops.includes('pagemap-scan') && ops.includes('trace'));
  assert.equal(s.additionalProperties, false);
});

test('every example spec validates', () => {
  const dir = path.join(ROOT, 'examples');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const r = validateSpec(JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')), { registries: false, baseDir: dir });
    assert.deepEqual(r.issues, [], f);
  }
});
