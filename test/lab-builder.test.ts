import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Experiment, lab } from '../src/lab';
import { designExample } from './helpers/design-example';

/** The example spec of DESIGN.md ("The experiment spec"), written by hand. */
const DESIGN_EXAMPLE = designExample();

test('the builder produces exactly the DESIGN.md example spec', () => {
  const spec = lab
    .experiment('uffd-wp unprotect, then write')
    .seed(1)
    .machine('skylake-sp', { cpus: 2 })
    .kernel('linux-6.18')
    .mmap('heap', '16MiB', { kind: 'anon-private' })
    .touch('heap', 'write')
    .uffd.register('heap', { wp: true })
    .uffd.writeprotect('heap')
    .uffd.unprotect('heap', { hints: ['write-likely'] })
    .inspect('heap', [0, 1, 2])
    .touch('heap', 'write', { pattern: 'random', count: 100000 })
    .sweep({ kernel: ['linux-6.18', 'rfc-2022-uffd-hints'] })
    .repeat(1)
    .toSpec();
  assert.deepStrictEqual(spec, DESIGN_EXAMPLE);
  assert.equal(JSON.stringify(spec), JSON.stringify(DESIGN_EXAMPLE), 'same key order too');
});

test('the issue example chains (uffd.* returns the builder) and validates', () => {
  const e = lab
    .experiment('seed thread')
    .machine('skylake-sp', { cpus: 4 })
    .kernel('linux-6.18', 'rfc-2022-uffd-hints')
    .mmap('heap', '256MiB')
    .touch('heap', 'write')
    .uffd.register('heap', { wp: true })
    .uffd.writeprotect('heap')
    .uffd.unprotect('heap', { hints: ['write-likely'] })
    .workload((w) => w.zipf('heap', { accesses: 1e6, writeRatio: 0.3, threads: 4 }))
    .sweep({ seed: [1, 2, 3, 4, 5] });
  assert.ok(e instanceof Experiment);
  const spec = e.toSpec();
  assert.deepEqual(spec.kernel, ['linux-6.18', 'rfc-2022-uffd-hints']);
  assert.equal('kernels' in e, false, 'one way to give the kernels: .kernel(...) takes one or several');
  assert.deepEqual(spec.steps.at(-1), { op: 'touch', region: 'heap', access: 'rw', pattern: 'zipf', count: 1e6, writeRatio: 0.3, threads: 4 });
  assert.deepEqual(e.validate({ registries: false }).issues, []);
  assert.equal(e.plan({ registries: false }).length, 10);
});

test('builders are immutable: branching does not leak steps', () => {
  const base = lab.experiment('x').machine('skylake-sp').kernel('linux-6.18').mmap('a', '4KiB');
  const b1 = base.touch('a', 'read');
  const b2 = base.touch('a', 'write').seed([1, 2]);
  assert.equal(base.toSpec().steps.length, 1);
  assert.equal(b1.toSpec().steps.length, 2);
  assert.equal(b2.toSpec().steps[1].op, 'touch');
  assert.equal(b1.toSpec().seed, undefined);
  const spec = b1.toSpec();
  (spec.steps[0] as { region: string }).region = 'mutated';
  assert.equal((b1.toSpec().steps[0] as { region: string }).region, 'a', 'toSpec returns a copy');
});

test('a builder method exists for every op', () => {
  const e = lab
    .experiment('all ops')
    .machine('skylake-sp', { cpus: 2 })
    .kernel('linux-6.18')
    .mmap('heap', '64KiB')
    .mmap('file', '64KiB', { kind: 'file-shared', fs: 'mkwrite' })
    .touch('heap', { access: 'rw', writeRatio: 0.5, pattern: 'zipf', count: 10 })
    .mprotect('heap', 'r', { pages: { from: 0, count: 4 } })
    .madvise('heap', 'dontneed', { pages: [1] })
    .fork('child')
    .touch('heap', 'write', { process: 'child' })
    .uffd.register('heap', { missing: true, wp: true, features: ['wp-async'] })
    .uffd.writeprotect('heap', { pages: [0] })
    .uffd.unprotect('heap')
    .uffd.copy('heap', { pages: [2], wp: true })
    .uffd.zeropage('heap', { pages: [3] })
    .pagemapScan('heap', 'written', { clear: true })
    .reclaim(8)
    .writeback('file')
    .migrate('heap', { pages: [0] })
    .clearRefs('soft-dirty')
    .inspect('heap')
    .munmap('file');
  const ops = e.toSpec().steps.map((s) => s.op);
  for (const op of ['mmap', 'touch', 'mprotect', 'madvise', 'fork', 'uffd-register', 'uffd-writeprotect', 'uffd-copy', 'uffd-zeropage', 'pagemap-scan', 'reclaim', 'writeback', 'migrate', 'clear-refs', 'inspect', 'munmap'])
    assert.ok(ops.includes(op as never), op);
  assert.deepEqual(e.toSpec().steps[7], { op: 'uffd-register', region: 'heap', modes: ['missing', 'wp'], features: ['wp-async'] });
  assert.deepEqual(e.validate({ registries: false }).issues, []);
});

test('fromSpec round-trips a JSON spec', () => {
  assert.deepStrictEqual(Experiment.fromSpec(DESIGN_EXAMPLE as never).toSpec(), DESIGN_EXAMPLE);
});
