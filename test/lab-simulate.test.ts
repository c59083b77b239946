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
    for (const st of [...run.steps, run.total]) {
      const c = st.counters;
      for (const k of ['tlbFlushes', 'ipis', 'dirtyPages', 'writebackPages', 'walks', 'aBitSets', 'dBitSets']) assert.equal(typeof (c as never)[k], 'number', k);
      assert.equal(typeof c.faults.total, 'number');
      assert.equal(typeof c.tlb.hits + typeof c.tlb.misses, 'numbernumber');
      const sum = Object.values(st.cycles.byEvent).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - st.cycles.total) <= 1e-6 * Math.max(1, sum), 'total = sum of byEvent');
    }
    const rows = run.steps[5].inspect!;
    assert.deepEqual(rows.map((r) => r.page), [0, 1, 2]);
    for (const r of rows) for (const k of ['present', 'write', 'young', 'dirty', 'uffdWp', 'softDirty', 'exclusive', 'special']) assert.equal(typeof (r as never)[k], 'boolean', k);
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
