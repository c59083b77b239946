/** simulateRun: the result contract of DESIGN.md, and spec-level semantics of a few ops. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSync } from '../src/lab/runner';
import { designExample } from './helpers/design-example';

test('the DESIGN.md example produces the documented result fields, and cycle totals are sums of their breakdowns', () => {
  const spec = designExample();
  spec.steps[0].size = '1MiB';
  spec.steps[6].count = 2000;
  const rs = runSync(spec as never).toJSON();
  assert.equal(rs.runs.length, 2);
  for (const run of rs.runs) {
    for (const k of ['variant', 'cpu', 'seed', 'params', 'steps', 'total']) assert.ok(k in run, k);
    assert.equal(run.steps.length, spec.steps.length);
    // the total adds up the steps' counts; dirtyPages is a state, the last step's
    for (const k of ['tlbFlushes', 'ipis', 'writebackPages', 'walks', 'aBitSets', 'dBitSets', 'accesses'] as const)
      assert.equal(run.total.counters[k], run.steps.reduce((a, st) => a + st.counters[k], 0), k);
    assert.equal(run.total.counters.faults.total, run.steps.reduce((a, st) => a + st.counters.faults.total, 0));
    assert.equal(run.total.counters.dirtyPages, run.steps[run.steps.length - 1].counters.dirtyPages);
    for (const st of [...run.steps, run.total]) {
      const c = st.counters;
      assert.equal(c.tlb.hits, c.tlb.l1Hits + c.tlb.stlbHits);
      const sum = Object.values(st.cycles.byEvent).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - st.cycles.total) <= 1e-6 * Math.max(1, sum), 'total = sum of byEvent');
    }
    const rows = run.steps[5].inspect!;
    assert.deepEqual(rows.map((r) => r.page), [0, 1, 2]);
    // written, protected, then un-protected: mapped, exclusive, no longer uffd-wp
    for (const r of rows) assert.deepEqual([r.present, r.exclusive, r.uffdWp, r.special], [true, true, false, false], `page ${r.page}`);
  }
});

test('idle: a sleeping CPU keeps the mm in lazy-TLB mode and a shootdown skips it (no IPI)', () => {
  const base = {
    name: 'lazy tlb',
    machine: { cpu: 'skylake-sp', cpus: 2 },
    kernel: 'linux-6.18',
    steps: [
      { op: 'mmap', region: 'heap', size: '64KiB' },
      { op: 'touch', region: 'heap', access: 'write', threads: 2 },
      { op: 'mprotect', region: 'heap', prot: 'r' },
    ],
  };
  const busy = runSync(base as never).toJSON().runs[0];
  assert.equal(busy.steps[2].counters.ipis, 1, 'the other thread runs: one IPI');
  const lazy = runSync({ ...base, steps: [base.steps[0], base.steps[1], { op: 'idle', cpu: 1 }, base.steps[2]] } as never).toJSON().runs[0];
  assert.equal(lazy.steps[3].counters.ipis, 0, 'it sleeps: no IPI');
  assert.equal(lazy.steps[3].counters.events.lazyTlbSkip, 1);
});

test('steps the model cannot perform end in a SimulationError naming the step and field', () => {
  const spec = (steps: unknown[]) => ({ name: 'bad', machine: { cpu: 'skylake-sp', cpus: 2 }, kernel: 'linux-6.18', steps });
  assert.throws(() => runSync(spec([{ op: 'mmap', region: 'a', size: '8KiB' }, { op: 'idle', cpu: 7 }]) as never, { registries: false } as never), (e: unknown) => /steps\[1\]\.cpu: CPU 7 does not exist/.test(String((e as Error).message)));
  assert.throws(
    () => runSync(spec([{ op: 'mmap', region: 'f', size: '8KiB', kind: 'file-shared' }, { op: 'madvise', region: 'f', advice: 'free' }]) as never),
    (e: unknown) => /steps\[1\].*MADV_FREE needs anonymous private memory/.test(String((e as Error).message)),
  );
});
