import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { compile } from '../src/lab/compile';
import { run } from '../src/lab/runner';
import { SpecError } from '../src/lab/spec-issues';
import { deriveVariant } from '../src/kernel/variant';
import { variantFromValue, variantValue } from '../src/kernel/variant-value';
import { BUILTIN_VARIANTS, getVariant } from '../src/kernel/variants';

const spec = (kernel: string | string[]) => ({
  name: 'compile',
  machine: { cpu: 'skylake-sp', cpus: 2, virtualized: true },
  kernel,
  steps: [
    { op: 'mmap', region: 'heap', size: '256KiB' },
    { op: 'touch', region: 'heap', access: 'write' },
    { op: 'uffd-register', region: 'heap', modes: ['wp'] },
    { op: 'uffd-writeprotect', region: 'heap', wp: true },
    { op: 'uffd-writeprotect', region: 'heap', wp: false },
    { op: 'touch', region: 'heap', access: 'write', count: '$n' },
  ],
  sweep: { n: [16, 64] },
});

test('a plan carries substituted steps, the resolved machine, the priced profile and the variant as a value', () => {
  const plans = compile(spec('linux-6.2'));
  assert.equal(plans.length, 2);
  const p = plans[1];
  assert.deepEqual(p.steps[5], { op: 'touch', region: 'heap', access: 'write', count: 64 });
  assert.deepEqual(p.machine, { cpu: 'skylake-sp', cpus: 2, virtualized: true });
  assert.equal(p.profile.virtualized, true, 'machine.virtualized is priced in at compile time');
  assert.deepEqual(p.kernel, { name: 'linux-6.2', base: 'linux-6.2', overrides: {} });
  assert.deepEqual(JSON.parse(JSON.stringify(p.kernel)), p.kernel, 'the variant value survives JSON');
});

test('variantValue and variantFromValue round-trip every built-in and a derived variant', () => {
  for (const v of BUILTIN_VARIANTS.values()) assert.equal(variantFromValue(variantValue(v)), v);
  const d = deriveVariant(getVariant('linux-6.2'), { name: 'what-if', mkdirtyOnMkwrite: true });
  const value = variantValue(d);
  assert.equal(value.base, 'linux-6.2');
  assert.deepEqual(Object.keys(value.overrides).sort(), ['basedOn', 'description', 'mkdirtyOnMkwrite'], 'linux-6.2 is based on 6.0, the derived one on 6.2');
  assert.deepEqual({ ...variantFromValue(JSON.parse(JSON.stringify(value))) }, { ...d });
});

test('a derived variant runs on worker threads (jobs 2) exactly as in this thread', async () => {
  const d = deriveVariant(getVariant('linux-6.18'), { name: 'what-if', mmForbidsZeropage: true });
  const sp = { ...spec(['linux-6.18', 'what-if']), steps: [{ op: 'mmap', region: 'heap', size: '256KiB' }, { op: 'touch', region: 'heap', access: 'read', count: '$n' }] };
  const one = await run(sp, { jobs: 1, variants: [d] });
  const two = await run(sp, { jobs: 2, variants: [d] });
  assert.deepEqual(two.toJSON(), one.toJSON());
  assert.deepEqual(two.runs.map((r) => r.variant), ['linux-6.18', 'linux-6.18', 'what-if', 'what-if']);
  // the what-if's field reached the workers: its read faults allocate pages instead of mapping the zero page
  assert.deepEqual(two.runs[1].steps[1].counters.faults.byKind, { anonZeroPage: 64 }, 'count 64 > 16 pages: run 1 is n = 64');
  assert.deepEqual(two.runs[3].steps[1].counters.faults.byKind, { anonAlloc: 64 });
});

test('a variant with hooks defined in this process is refused for worker threads, naming the fix', () => {
  const d = deriveVariant(getVariant('linux-6.18'), { name: 'hooked', hooks: { changePte: (c) => c.newPte } });
  assert.equal(compile(spec('hooked'), { variants: [d] }).length, 2, 'fine in this thread');
  assert.throws(
    () => compile(spec('hooked'), { variants: [d], jobs: 2 }),
    (e: unknown) => e instanceof SpecError && /kernel: variant "hooked" has changePte hook\(s\) defined in this process.*jobs: 1.*hooksModule/.test(e.message),
  );
});

// ---- variants as values: in the builder, in a JSON spec (ptlab run), with a hooks module ----

const HOOK = `exports.changePte = (c) => (c.cause === 'uffd-unprotect' ? c.arch.pte_mkclean(c.newPte) : c.newPte);\n`;
const uffdSpec = (kernel: unknown) => ({
  name: 'values',
  machine: { cpu: 'skylake-sp', cpus: 2 },
  kernel,
  steps: [
    { op: 'mmap', region: 'heap', size: '64KiB' },
    { op: 'touch', region: 'heap', access: 'write' },
    { op: 'uffd-register', region: 'heap', modes: ['wp'] },
    { op: 'uffd-writeprotect', region: 'heap', wp: true },
    { op: 'uffd-writeprotect', region: 'heap', wp: false },
    { op: 'inspect', region: 'heap', pages: [0] },
  ],
  seed: [1, 2],
});

test('deriveVariant values go into the builder: jobs 2 runs them; a function hook is refused for workers with the documented error', async () => {
  const { lab } = require('../src/lab/index') as typeof import('../src/lab/index');
  const plain = deriveVariant(getVariant('linux-6.18'), { name: 'no-zero-page', mmForbidsZeropage: true });
  const e = lab.experiment('builder').machine('skylake-sp', { cpus: 2 }).kernel('linux-6.18', plain).mmap('h', '64KiB').touch('h', 'read').seed([1, 2]);
  assert.deepEqual(e.toSpec().kernel, ['linux-6.18', { name: 'no-zero-page', base: 'linux-6.18', overrides: { basedOn: 'linux-6.18', description: plain.description, mmForbidsZeropage: true } }]);
  const two = await e.run({ jobs: 2 });
  assert.deepEqual(two.toJSON(), e.runSync().toJSON());
  assert.deepEqual(two.runs.map((r) => Object.keys(r.steps[1].counters.faults.byKind)), [['anonZeroPage'], ['anonZeroPage'], ['anonAlloc'], ['anonAlloc']]);
  const hooked = deriveVariant(getVariant('linux-6.18'), { name: 'hooked', hooks: { changePte: (c) => c.newPte } });
  const h = lab.experiment('hooked').machine('skylake-sp', { cpus: 2 }).kernel(hooked).mmap('h', '64KiB').touch('h', 'read').seed([1, 2]);
  assert.equal(h.runSync().length, 2, 'in this thread the hook runs');
  await assert.rejects(h.run({ jobs: 2 }), /variant "hooked" has changePte hook\(s\) defined in this process, which worker threads cannot load; run with jobs: 1, or put the hooks in a module/);
  // the JSON spec alone cannot carry the function: compiling it elsewhere says so
  assert.throws(() => compile(h.toSpec()), /variant "hooked" has changePte hook\(s\) written as functions where the spec was built/);
});

test('ptlab run: a spec gives a variant as a value, with its hooks in a module next to it, and runs it with --jobs 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-variant-'));
  fs.writeFileSync(path.join(dir, 'hooks.js'), HOOK);
  const spec = uffdSpec(['linux-6.18', { name: 'dirty-unprotect', base: 'linux-6.18', overrides: { hooksModule: './hooks.js' } }]);
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const MAIN = path.join(__dirname, '..', 'src', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [MAIN, 'run', path.join(dir, 'spec.json'), '--jobs', '2', '--json', '--quiet'], { encoding: 'utf8', cwd: os.tmpdir() });
  assert.equal(r.status, 0, r.stderr);
  const runs = (JSON.parse(r.stdout) as { runs: { variant: string; steps: { inspect?: { dirty: boolean; young: boolean }[] }[] }[] }).runs;
  assert.deepEqual(runs.map((x) => x.variant), ['linux-6.18', 'linux-6.18', 'dirty-unprotect', 'dirty-unprotect']);
  // 6.18's un-protect keeps the D bit the write set; the module's hook, loaded by the workers, cleans it
  assert.deepEqual(runs.map((x) => x.steps[5].inspect![0].dirty), [true, true, false, false]);
  const bad = uffdSpec({ name: 'typo', base: 'linux-6.18', overrides: { mkdirtyOnMkwrit: true, pteArch: 'fancy' } });
  fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(bad));
  const b = spawnSync(process.execPath, [MAIN, 'run', path.join(dir, 'bad.json'), '--quiet'], { encoding: 'utf8' });
  assert.equal(b.status, 1);
  assert.match(b.stderr, /kernel\.overrides\.mkdirtyOnMkwrit: is not a variant field; fields: .*mkdirtyOnMkwrite/);
  assert.match(b.stderr, /kernel\.overrides\.pteArch: "fancy" is not one of "classic", "saved-dirty"/);
});

test('a kernel set beside sweep.kernel that the sweep leaves out is reported, not dropped', () => {
  const { lab } = require('../src/lab/index') as typeof import('../src/lab/index');
  const e = lab.experiment('k').machine('skylake-sp').kernel('linux-5.19').mmap('h', '64KiB').sweep({ kernel: ['linux-6.2', 'linux-6.18'] });
  const r = e.validate();
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.issues.map((i) => `${i.path}: ${i.message}`).join('\n'), /^kernel: "linux-5.19" is not in sweep.kernel, so it would never run/m);
  assert.equal(lab.experiment('k').machine('skylake-sp').kernel('linux-6.2').mmap('h', '64KiB').sweep({ kernel: ['linux-6.2', 'linux-6.18'] }).plan().length, 2);
});
