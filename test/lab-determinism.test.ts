/**
 * Determinism against the REAL simulator (src/lab/simulate.ts): the same spec and seed give
 * bit-identical results run after run, and whether runs go through worker threads or not.
 * These fail until simulateRun is implemented (it throws "not implemented yet" before that).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, runSync } from '../src/lab/runner';

const SPEC = {
  name: 'determinism',
  machine: { cpu: 'skylake-sp', cpus: 2 },
  kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
  steps: [
    { op: 'mmap', region: 'heap', size: '2MiB', kind: 'anon-private' },
    { op: 'touch', region: 'heap', access: 'write' },
    { op: 'uffd-register', region: 'heap', modes: ['wp'] },
    { op: 'uffd-writeprotect', region: 'heap', wp: true },
    { op: 'uffd-writeprotect', region: 'heap', wp: false, hints: ['write-likely'] },
    { op: 'inspect', region: 'heap', pages: [0, 1, 2] },
    { op: 'touch', region: 'heap', access: 'rw', writeRatio: 0.3, pattern: 'zipf', count: 20000, threads: 2 },
  ],
  sweep: { seed: [1, 2] },
  sampleEvery: 5000,
};

test('real simulator: the same spec and seed give identical results, run after run', () => {
  const a = runSync(SPEC);
  const b = runSync(SPEC);
  assert.equal(a.length, 4);
  assert.deepEqual(b.toJSON(), a.toJSON());
  assert.ok(a.runs.every((r) => r.total.counters.accesses > 0), 'touch steps were simulated');
});

test('real simulator: --jobs 1 and --jobs 2 (worker threads) agree bit for bit', async () => {
  const a = await run(SPEC, { jobs: 1 });
  const b = await run(SPEC, { jobs: 2 });
  assert.deepEqual(b.toJSON(), a.toJSON());
});

test('real simulator: different seeds change a random workload', () => {
  const r = runSync(SPEC);
  const bySeed = (s: number) => r.where({ seed: s, variant: 'linux-6.18' }).runs[0].steps[6];
  assert.notDeepEqual(bySeed(1), bySeed(2));
});
