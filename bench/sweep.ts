/**
 * Sweep throughput: a 40-run sweep (2 kernels x 20 seeds of the seed thread's uffd-wp scenario
 * plus a Zipf workload) run with --jobs 1 and with --jobs 2 (piscina worker threads), wall time
 * each. On a 2-core machine the speedup shows whether the runner scales across both cores. Runs
 * last about half a second each so that the workers' one-time start-up (~0.6 s) does not dominate.
 * Both runs must produce identical results (checked), so the bench also guards determinism.
 */
import { run } from '../src/lab/runner';

export const SWEEP_BENCH_SPEC = {
  name: 'bench: 40-run sweep',
  machine: { cpu: 'skylake-sp', cpus: 2 },
  kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
  steps: [
    { op: 'mmap', region: 'heap', size: '16MiB' },
    { op: 'touch', region: 'heap', access: 'write' },
    { op: 'uffd-register', region: 'heap', modes: ['wp'] },
    { op: 'uffd-writeprotect', region: 'heap', wp: true },
    { op: 'uffd-writeprotect', region: 'heap', wp: false, hints: ['write-likely'] },
    { op: 'touch', region: 'heap', access: 'rw', writeRatio: 0.3, pattern: 'zipf', count: 2000000, threads: 2 },
  ],
  sweep: { seed: Array.from({ length: 20 }, (_, i) => i + 1) },
};

export async function benchSweep(): Promise<{ sweep40Jobs1Sec: number; sweep40Jobs2Sec: number; sweepJobsSpeedup: number }> {
  const t0 = process.hrtime.bigint();
  const one = await run(SWEEP_BENCH_SPEC, { jobs: 1 });
  const t1 = process.hrtime.bigint();
  const two = await run(SWEEP_BENCH_SPEC, { jobs: 2 });
  const t2 = process.hrtime.bigint();
  if (one.length !== 40 || JSON.stringify(one.toJSON()) !== JSON.stringify(two.toJSON())) throw new Error('benchSweep: --jobs 1 and --jobs 2 results differ');
  const sweep40Jobs1Sec = Number(t1 - t0) / 1e9;
  const sweep40Jobs2Sec = Number(t2 - t1) / 1e9;
  return { sweep40Jobs1Sec, sweep40Jobs2Sec, sweepJobsSpeedup: sweep40Jobs1Sec / sweep40Jobs2Sec };
}

if (require.main === module) {
  benchSweep().then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (e) => {
      process.stderr.write(`benchSweep: ${(e as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
