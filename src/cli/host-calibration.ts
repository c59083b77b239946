/**
 * The host profile `ptlab calibrate` writes: derived from the probe's measurements (cost layer),
 * then its fault prices reconciled with the model's own run of each fault microbenchmark
 * (src/cost/reconcile.ts). The CLI wires the simulator in, as the cost layer does not import it.
 */
import { compile } from '../lab/compile';
import { simulateRun } from '../lab/simulate';
import { deriveHostProfile, type HostCalibration, type HostInfo } from '../cost/calibrate';
import { reconcileFaultPrices, type BenchStep } from '../cost/reconcile';
import { registerProfile } from '../cost/registry';
import { poolRounds, type ProbeOutput } from '../cost/probe-runner';
import type { CpuProfile } from '../cost/profile';

/** Model cycles of the last step, under a profile registered for the purpose. */
function lastStepCycles(kernel: string) {
  return (profile: CpuProfile, steps: BenchStep[]): number => {
    const cpu = registerProfile({ ...profile.definition, name: 'host-reconcile' }).name;
    const [plan] = compile({ name: 'calibrate: fault microbenchmark', seed: 1, machine: { cpu, cpus: 1 }, kernel, steps }, { source: 'ptlab calibrate fault microbenchmark' });
    const run = simulateRun(plan);
    return run.steps[run.steps.length - 1].cycles.total;
  };
}

export function calibrateHost(probe: ProbeOutput, info: HostInfo, date: string, spinning: boolean, kernel: string): HostCalibration {
  return reconcileFaultPrices(deriveHostProfile(probe, info, date, spinning), probe, lastStepCycles(kernel)).cal;
}

/**
 * The profile `calibrate --check --runs N --save` writes: each measurement's median over the runs'
 * medians, derived once (a price from one run carries that run's noise).
 */
export function calibrateHostOverRuns(outs: ProbeOutput[], info: HostInfo, date: string, spinning: boolean, kernel: string): HostCalibration {
  if (outs.length === 1) return calibrateHost(outs[0], info, date, spinning, kernel);
  const pooled = poolRounds({ ...outs[outs.length - 1], results: outs.flatMap((o) => o.results) });
  const cal = calibrateHost(pooled, info, date, spinning, kernel);
  cal.definition.notes = [
    ...(cal.definition.notes ?? []),
    `each measurement is the median of its ${outs.length} runs' medians (ptlab calibrate --check --runs ${outs.length}); an entry's n counts every sample and its IQR is that of the runs' medians`,
  ];
  return cal;
}
