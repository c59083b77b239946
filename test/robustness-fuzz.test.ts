/**
 * Robustness (issue 8): random and mutated specs and traces never crash and never hang: every
 * input ends either in a valid spec or in a SpecError / TraceError whose messages name the field
 * (or file:line) at fault. 10,000 inputs in all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { validateSpec } from '../src/lab/validate';
import { readSpecFile, SpecFileError, MAX_SPEC_BYTES } from '../src/lab/spec-file';
import { checkTrace } from '../src/workload/trace';
import { designExample } from './helpers/design-example';

const VALID = designExample();

const registries = { kernels: () => ['linux-6.18', 'rfc-2022-uffd-hints'], cpus: () => ['skylake-sp'] };

/** The property every spec input must satisfy. */
function checkSpecInput(raw: unknown): void {
  const r = validateSpec(raw, { registries });
  if (r.ok) return;
  assert.ok(r.issues.length > 0, 'a rejected spec has issues');
  for (const i of r.issues) {
    assert.equal(typeof i.message, 'string');
    assert.ok(i.message.length > 0);
    assert.ok(!/\n\s+at .*\(.*:\d+:\d+\)/.test(i.message), 'no stack trace in a message');
  }
  // every issue but a top-level one names its path
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const i of r.issues) assert.ok(i.path !== undefined, `issue without a path: ${i.message}`);
  }
}

/** Mutations of the valid spec: delete, replace with a random value, or add a junk field at a random path. */
const mutation = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'add'),
  pathPick: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  value: fc.jsonValue({ maxDepth: 2 }),
  key: fc.string({ maxLength: 8 }),
});

function mutate(base: unknown, m: { kind: string; pathPick: number[]; value: unknown; key: string }): unknown {
  const root = JSON.parse(JSON.stringify(base));
  let node: Record<string, unknown> | unknown[] = root;
  for (let d = 0; d < m.pathPick.length; d++) {
    const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
    if (keys.length === 0) break;
    const k = keys[m.pathPick[d] % keys.length] as never;
    const child = (node as Record<string, unknown>)[k];
    const last = d === m.pathPick.length - 1 || child === null || typeof child !== 'object';
    if (last) {
      if (m.kind === 'delete') {
        if (Array.isArray(node)) node.splice(k, 1);
        else delete (node as Record<string, unknown>)[k];
      } else if (m.kind === 'replace') (node as Record<string, unknown>)[k] = m.value;
      else if (!Array.isArray(node)) (node as Record<string, unknown>)[m.key || 'x'] = m.value;
      return root;
    }
    node = child as Record<string, unknown>;
  }
  return root;
}

test('spec parser: 4,000 random JSON documents end in a valid spec or a SpecError naming the field', () => {
  fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), checkSpecInput), { numRuns: 4000 });
});

test('spec parser: 4,000 mutations of the DESIGN.md example end in a valid spec or a SpecError naming the field', () => {
  fc.assert(
    fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (ms) => {
      let spec: unknown = VALID;
      for (const m of ms) spec = mutate(spec, m);
      checkSpecInput(spec);
    }),
    { numRuns: 4000 },
  );
});

test('spec files: over-large and malformed files give one-line errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-fuzz-'));
  const big = path.join(dir, 'big.json');
  fs.writeFileSync(big, ' '.repeat(MAX_SPEC_BYTES + 1));
  assert.throws(() => readSpecFile(big), (e: unknown) => e instanceof SpecFileError && /too large for an experiment spec/.test((e as Error).message));
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, '{"name": "x",\n  "steps": [}');
  assert.throws(() => readSpecFile(bad), (e: unknown) => e instanceof SpecFileError && /bad\.json: not valid JSON/.test((e as Error).message) && !(e as Error).message.includes('\n'));
  fs.rmSync(dir, { recursive: true, force: true });
});

test('trace parser: 2,000 random and mutated traces end in a stream or file:line errors', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-trace-fuzz-'));
  const line = fc.oneof(
    fc.tuple(fc.nat(3), fc.constantFrom('r', 'w', 'x', ''), fc.nat(70000)).map(([c, o, a]) => `${c},${o},${a}`),
    fc.tuple(fc.nat(3), fc.constantFrom('r', 'w'), fc.nat(70000)).map(([c, o, a]) => `${c},${o},0x${a.toString(16)}`),
    fc.string({ maxLength: 20 }),
    fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)),
  );
  let i = 0;
  try {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), fc.boolean(), (lines, jsonl) => {
        const file = path.join(dir, `t${i++}.${jsonl ? 'jsonl' : 'csv'}`);
        fs.writeFileSync(file, lines.join('\n'));
        const issues = checkTrace({ file, region: 'heap' }, { pages: 16, cpus: 2 });
        for (const msg of issues) assert.match(msg, new RegExp(`${path.basename(file).replace('.', '\\.')}(:\\d+)?`), 'each problem names the file (and line)');
        fs.unlinkSync(file);
      }),
      { numRuns: 2000 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
