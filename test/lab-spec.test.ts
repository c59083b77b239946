import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSize, parseSizeOrError } from '../src/lab/size';
import { SpecError } from '../src/lab/spec-issues';
import { parseSpec, validateSpec } from '../src/lab/validate';
import { designExample } from './helpers/design-example';

const registries = { kernels: () => ['linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints'], cpus: () => ['skylake-sp', 'zen4'] };

const good = designExample;

test('the DESIGN.md example spec is valid', () => {
  const r = validateSpec(good(), { registries });
  assert.deepEqual(r.issues, []);
});

/** [what, mutate, expected "path: message" pattern] — each must be reported, with its fix. */
const BAD: [string, (s: Record<string, any>) => void, RegExp][] = [
  ['decimal size unit', (s) => (s.steps[0].size = '256MB'), /^steps\[0\]\.size: "256MB" is not a size; use e\.g\. "256MiB" or "4KiB"$/],
  ['size not page aligned', (s) => (s.steps[0].size = '6000B'), /^steps\[0\]\.size: "6000B" is not a multiple of the 4KiB page size; use "8KiB"$/],
  ['unknown op', (s) => (s.steps[1].op = 'tuoch'), /^steps\[1\]\.op: "tuoch" is not an op \(did you mean "touch"\?\); valid ops: mmap, munmap, touch, .*pagemap-scan$/],
  ['missing op', (s) => delete s.steps[1].op, /^steps\[1\]\.op: missing "op"; every step needs one of: mmap, /],
  ['bad enum', (s) => (s.steps[0].kind = 'anon'), /^steps\[0\]\.kind: "anon" is not one of "anon-private", "anon-shared", "file-shared", "file-private" \(did you mean "anon-private" or "anon-shared"\?\)$/],
  ['unknown field with typo', (s) => (s.steps[1].acess = 'read'), /^steps\[1\]\.acess: unknown field \(did you mean "access"\?\); a touch step has: op, region, access, /],
  ['unknown top-level field', (s) => (s.kernels = ['x']), /^kernels: unknown field \(did you mean "kernel"\?\); a spec has: /],
  ['missing required field', (s) => delete s.steps[0].region, /^steps\[0\]\.region: missing; add "region": the name of a region created by an earlier mmap step/],
  ['wrong type', (s) => (s.steps[6].count = '100000'), /^steps\[6\]\.count: "100000" is not valid here; use a whole number of accesses/],
  ['non-integer count', (s) => (s.steps[6].count = 1.5), /^steps\[6\]\.count: expected an integer, got 1\.5/],
  ['writeRatio out of range', (s) => Object.assign(s.steps[6], { access: 'rw', writeRatio: 1.5 }), /^steps\[6\]\.writeRatio: 1\.5 is too large; use a value <= 1$/],
  ['zero cpus', (s) => (s.machine.cpus = 0), /^machine\.cpus: 0 is too small; use a value >= 1$/],
  ['missing machine', (s) => delete s.machine, /^machine: missing; add "machine": \{"cpu": "skylake-sp", "cpus": 2\}$/],
  ['empty steps', (s) => (s.steps = []), /^steps: needs at least 1 entry$/],
  ['bad pages', (s) => (s.steps[5].pages = 'all'), /^steps\[5\]\.pages: "all" is not valid here; use a page list such as \[0, 1, 2\], a range/],
  ['page out of range', (s) => (s.steps[5].pages = [0, 5000]), /^steps\[5\]\.pages: page 5000 is outside the region \(pages 0\.\.4095\)$/],
  ['range out of range', (s) => (s.steps[5].pages = { from: 4000, count: 100 }), /^steps\[5\]\.pages: \{from: 4000, count: 100\} ends at page 4099, beyond the region's last page 4095/],
  ['region never mapped', (s) => (s.steps[1].region = 'hep'), /^steps\[1\]\.region: "hep" is not mapped in process "main" at this step \(did you mean "heap"\?\); add \{"op": "mmap", "region": "hep"/],
  ['uffd-wp without register', (s) => s.steps.splice(2, 1), /^steps\[2\]\.region: "heap" is not registered for uffd-wp; add \{"op": "uffd-register", "region": "heap", "modes": \["wp"\]\} before it$/],
  ['CPU beyond machine', (s) => (s.steps[1].cpu = 2), /^steps\[1\]\.cpu: CPU 2 does not exist; the machine has cpus 0\.\.1 \(raise machine\.cpus\)$/],
  ['unknown kernel', (s) => (s.sweep.kernel = ['linux-6.18', 'linux-6.81']), /^sweep\.kernel\[1\]: "linux-6.81" is not a known kernel variant \(did you mean "linux-6.18"\?\); known: linux-5.19, linux-6.18, rfc-2022-uffd-hints$/],
  ['unknown cpu profile', (s) => (s.machine.cpu = 'skylake'), /^machine\.cpu: "skylake" is not a known CPU profile \(did you mean "skylake-sp"\?\); known: skylake-sp, zen4$/],
  ['undefined variable', (s) => (s.steps[0].size = '$heapSize'), /^steps\[0\]\.size: "\$heapSize" names no variable; add "heapSize" to sweep/],
  ['unused sweep variable', (s) => (s.sweep.size = ['1MiB']), /^sweep\.size: no step uses "\$size"; reference it as a step field value "\$size" or remove it/],
  ['bad swept value', (s) => ((s.steps[0].size = '$sz'), (s.sweep.sz = ['16MiB', '3MB'])), /^steps\[0\]\.size: "3MB" is not a size; use e\.g\. "3MiB" or "4KiB" \(with sz = "3MB"\)$/],
  ['kernel listed twice', (s) => (s.kernel = ['linux-6.18']), /^sweep\.kernel: kernel is already a list; give the kernels in one place/],
  ['pattern-only field', (s) => (s.steps[6].theta = 1.2), /^steps\[6\]\.theta: applies to pattern "zipf" only; remove it or set "pattern": "zipf"$/],
  ['unknown process', (s) => (s.steps[6].process = 'child'), /^steps\[6\]\.process: process "child" does not exist at this step; create it with \{"op": "fork", "child": "child"\} earlier/],
  ['pagemap-scan written without wp-async', (s) => s.steps.push({ op: 'pagemap-scan', region: 'heap', mode: 'written' }), /^steps\[7\]\.mode: "written" needs "heap" registered with .*"features": \["wp-async"\]/],
  ['double mmap', (s) => s.steps.splice(1, 0, { op: 'mmap', region: 'heap', size: '4KiB' }), /^steps\[1\]\.region: "heap" is already mapped; munmap it first or use another name$/],
];

for (const [what, mutate, re] of BAD)
  test(`invalid spec: ${what}`, () => {
    const s = good();
    mutate(s);
    const r = validateSpec(s, { registries });
    assert.equal(r.ok, false, 'must be refused');
    const lines = r.issues.map((i) => `${i.path}: ${i.message}`);
    assert.ok(lines.some((l) => re.test(l)), `expected ${re}\n got:\n  ${lines.join('\n  ')}`);
  });

test('all issues are collected in one pass', () => {
  const s = good();
  s.steps[0].size = '256MB';
  s.steps[1].op = 'tuoch';
  s.machine.cpus = 0;
  s.bogus = 1;
  const r = validateSpec(s, { registries });
  assert.equal(r.issues.length, 4, r.issues.map((i) => i.message).join('\n'));
});

test('an unknown CPU profile or kernel is reported next to a shape error elsewhere, not after it is fixed', () => {
  const s = good();
  s.machine.cpus = 0;
  s.machine.cpu = 'skylak';
  s.kernel = 'linux-6.81';
  const r = validateSpec(s, { registries });
  assert.deepEqual(r.issues.map((i) => i.path).sort(), ['kernel', 'machine.cpu', 'machine.cpus']);
  assert.match(r.issues.find((i) => i.path === 'machine.cpu')!.message, /"skylak" is not a known CPU profile \(did you mean "skylake-sp"\?\)/);
});

test('parseSpec throws one SpecError listing every issue, without a stack in the message', () => {
  const s = good();
  s.steps[0].size = '256MB';
  s.machine.cpus = 0;
  assert.throws(
    () => parseSpec(s, { registries, source: 'x.json' }),
    (e: unknown) => e instanceof SpecError && e.issues.length === 2 && /^x\.json: invalid experiment spec \(2 problems\)\n  machine\.cpus: /.test(e.message) && !/    at /.test(e.message),
  );
});

test('sizes: binary units round-trip, everything else is refused with a suggestion', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 1 << 20 }), fc.constantFrom(['KiB', 1024], ['MiB', 1024 ** 2], ['GiB', 1024 ** 3]), (n, [u, m]) => {
      const bytes = n * (m as number);
      if (bytes % 4096 !== 0) assert.match(String(parseSizeOrError(`${n}${u}`)), /multiple of the 4KiB page size/);
      else assert.equal(parseSize(`${n}${u}`), bytes);
    }),
  );
  assert.equal(parseSize(8192), 8192);
  assert.equal(parseSizeOrError('1.5MiB'), 1.5 * 1024 * 1024);
  assert.match(String(parseSizeOrError('2GB')), /"2GB" is not a size; use e\.g\. "2GiB"/);
  assert.match(String(parseSizeOrError('lots')), /"lots" is not a size; use e\.g\. "256MiB"/);
});

test('every problem in one pass: a shape error does not hide a flow error in the same or another step', () => {
  const spec = {
    name: 'x',
    machine: { cpu: 'skylake-sp', cpus: 2 },
    kernel: 'linux-6.18',
    steps: [
      { op: 'mmap', region: 'h', size: '64KiB' },
      { op: 'touch', region: 'h', access: 'write', pages: [-1, 99] },
      { op: 'mprotect', region: 'nope', prot: 'r' },
      { op: 'touch', region: 'h', access: 'write', cpu: 7, count: 'lots' },
    ],
  };
  const r = validateSpec(spec);
  assert.equal(r.ok, false);
  const paths = r.issues.map((i) => `${i.path}: ${i.message}`);
  assert.ok(paths.some((p) => /^steps\[1\]\.pages\[0\]: -1 is too small/.test(p)), paths.join('\n'));
  assert.ok(paths.some((p) => /^steps\[1\]\.pages: page 99 is outside the region/.test(p)), paths.join('\n'));
  assert.ok(paths.some((p) => /^steps\[2\]\.region: "nope" is not mapped/.test(p)), paths.join('\n'));
  assert.ok(paths.some((p) => /^steps\[3\]\.count:/.test(p)), paths.join('\n'));
  assert.ok(paths.some((p) => /^steps\[3\]\.cpu: .*7/.test(p)), paths.join('\n'));
});
