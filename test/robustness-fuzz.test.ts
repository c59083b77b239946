/**
 * Robustness (issue 8): random and mutated specs and traces never crash and never hang: every
 * input ends either in a valid spec or in a SpecError / TraceError whose messages name the field
 * (or file:line) at fault. 10,000 inputs in all. Page traces (.ptt): 3,000 byte-level corruptions and
 * truncations of a valid trace each end in a TraceError naming the byte, never a short read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { validateSpec } from '../src/lab/validate';
import { readSpecFile, SpecFileError, MAX_SPEC_BYTES } from '../src/lab/spec-file';
import { checkTrace, TraceError } from '../src/workload/trace';
import { PageTraceWriter } from '../src/workload/pagetrace-writer';
import { pageTraceStats } from '../src/workload/pagetrace-stats';
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

/** Object.prototype's names: a JSON document may carry them as its own keys or as strings. */
const PROTO_NAMES = ['__proto__', 'toString', 'valueOf', 'constructor', 'hasOwnProperty'];
/** A JSON object whose own key shadows a prototype method: `{"toString": {}}` makes String()/Number() of it throw. */
const protoShadow = fc
  .tuple(fc.constantFrom(...PROTO_NAMES), fc.jsonValue({ maxDepth: 1 }))
  .map(([k, v]) => JSON.parse(`{${JSON.stringify(k)}: ${JSON.stringify(v)}}`) as unknown);

/** Mutations of the valid spec: delete, replace with a random value, or add a junk field at a random path. */
const mutation = fc.record({
  kind: fc.constantFrom('delete', 'replace', 'add'),
  pathPick: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }),
  value: fc.oneof({ arbitrary: fc.jsonValue({ maxDepth: 2 }), weight: 4 }, { arbitrary: protoShadow, weight: 1 }, { arbitrary: fc.constantFrom(...PROTO_NAMES), weight: 1 }),
  key: fc.oneof({ arbitrary: fc.string({ maxLength: 8 }), weight: 4 }, { arbitrary: fc.constantFrom(...PROTO_NAMES), weight: 1 }),
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

test('spec parser: a field holding an object that shadows toString is an issue at that field, not a TypeError', () => {
  for (const path of [['machine', 'cpus'], ['seed'], ['repeat'], ['kernel'], ['steps', 0, 'size'], ['steps', 6, 'count']]) {
    const spec = designExample();
    let parent: any = spec;
    for (const k of path.slice(0, -1)) parent = parent[k];
    parent[path[path.length - 1]] = JSON.parse('{"toString": {}, "valueOf": 1}');
    const r = validateSpec(spec, { registries });
    assert.equal(r.ok, false, path.join('.'));
    // at that field, or inside it (a kernel may be an object: its own fields are then named)
    const at = path.map((k) => (typeof k === 'number' ? `[${k}]` : k)).join('.').replace(/\.\[/g, '[');
    if (!r.ok) assert.ok(r.issues.some((i) => i.path !== undefined && (i.path === at || i.path.startsWith(`${at}.`))), `${at}: ${JSON.stringify(r.issues)}`);
  }
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

test('page trace reader: 3,000 corrupted or truncated .ptt files each end in a TraceError naming the byte', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-ptt-fuzz-'));
  try {
    const good = path.join(dir, 'good.ptt');
    const w = new PageTraceWriter(good, 512);
    for (let i = 0; i < 4000; i++) w.access(i % 3, 0x10000 + ((i * 37) % 200), i % 4 === 0);
    w.finish([{ name: 'heap', kind: 'anon-private', prot: 'rw', start: '0x10000000', pages: 256 }], { tool: 'fuzz' });
    const bytes = fs.readFileSync(good);
    const intact = pageTraceStats(good);
    assert.equal(intact.accesses, 4000);
    const mutation = fc.oneof(
      // flip one to four bytes anywhere
      fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map((flips) => (b: Buffer) => {
        const c = Buffer.from(b);
        for (const [at, x] of flips) c[at] ^= x;
        return c;
      }),
      // cut the file short
      fc.nat(bytes.length - 1).map((n) => (b: Buffer) => b.subarray(0, n)),
      // cut a piece out of the middle
      fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 1, max: 300 })).map(([at, n]) => (b: Buffer) => Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + n))])),
    );
    let i = 0;
    fc.assert(
      fc.property(mutation, (m) => {
        const file = path.join(dir, `m${i++}.ptt`);
        const b = m(bytes);
        fs.writeFileSync(file, b);
        try {
          const st = pageTraceStats(file, path.basename(file));
          // only a mutation that changed nothing (flips that cancel out) may read back
          assert.ok(b.equals(bytes), 'a changed file was read without an error');
          assert.equal(st.accesses, 4000);
        } catch (e) {
          assert.ok(e instanceof TraceError, `not a TraceError: ${(e as Error).stack}`);
          assert.match((e as Error).message, /^m\d+\.ptt: byte \d+: /);
          assert.ok(!(e as Error).message.includes('\n'), 'one line');
        }
        fs.unlinkSync(file);
      }),
      { numRuns: 3000 },
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
