import { test } from 'node:test';
import assert from 'node:assert/strict';
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
  void path;
});
