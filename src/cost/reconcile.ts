/**
 * Fault prices that reproduce their own microbenchmark.
 *
 * The probe times a fault the way a program takes it: the walk that finds the PTE absent or
 * read-only, the #PF entry and exit, the handler, then the retried access with its walk and data
 * load. The model charges those parts as separate events: pageFault (with the drain it causes in
 * an independent stream, regime.ts), the walk's tlbMiss/walk/walkMemRef, dataAccess, and the
 * handler's pageAlloc/pageZero/pageCopy/invlpg estimates. deriveHostProfile() subtracts the
 * round trip and the base estimates from the measured fault, but not the drain and the walks, so
 * the model charged those twice: on the Zen 3 KVM guest (2026-12-07) a first write came to 5,550
 * model cycles per page against the 5,272 it was derived from, and every --check row that starts
 * with a fill sat ~12% high.
 *
 * Here each fault price is set so that the model, run over the probe's own microbenchmark (the
 * same pages, the same order, the same regime), predicts exactly what the probe measured. The
 * price enters its microbenchmark once per page, so one correction is exact. These are the
 * calibration's inputs, never the --check scenarios (src/workload/check-scenarios.ts), which stay predictions.
 * The THP fault passes (calibrate-thp.ts thpFaultBenches) are reconciled the same way.
 * The cost layer does not run the simulator: the caller passes the prediction in.
 */
import type { CostEvent, StatedCostEvent } from './cost-events';
import type { CostEntry } from './sourced';
import { parseProfile, type CpuProfile } from './profile';
import { medianOf, type ProbeOutput } from './probe-runner';
import type { CalibrationRow, HostCalibration } from './calibrate';
import { thpFaultBenches } from './calibrate-thp';

/** A spec step in the DESIGN.md JSON shape (validated by whoever runs it). */
export type BenchStep = Record<string, unknown>;

/** One fault measurement of the probe and the same work as spec steps. */
export interface FaultBench {
  event: StatedCostEvent;
  /** the probe's measurement: cycles per fault of the timed pass (one fault per page, or per 2 MiB for THP) */
  probe: string;
  /** the steps; the last one is the pass the probe times */
  steps: BenchStep[];
  /** faults of the timed pass (the price enters it once per fault) */
  pages: number;
  /** what the steps do, for the note */
  what: string;
}

/** The probe's fault microbenchmarks (native/calibrate/probe.c measure_first_touch, measure_fork_wp). */
export function faultBenches(fast: boolean): FaultBench[] {
  const pages = fast ? 1024 : 4096;
  const mmap = { op: 'mmap', region: 'heap', size: `${pages * 4}KiB`, kind: 'anon-private' };
  const write = { op: 'touch', region: 'heap', access: 'write' };
  const benches: FaultBench[] = [
    { event: 'fault.anonAlloc', probe: 'anon_write_fault', steps: [mmap, write], pages, what: 'a first write per page in address order' },
    { event: 'fault.anonZeroPage', probe: 'zero_read_fault', steps: [mmap, { op: 'touch', region: 'heap', access: 'read' }], pages, what: 'a first read per page in address order' },
    {
      event: 'fault.wpReuse',
      probe: 'wp_reuse_fault',
      // the probe's child exits before the writes; a child that unmaps the region leaves the same exclusive folios
      steps: [mmap, write, { op: 'fork', child: 'child' }, { op: 'munmap', region: 'heap', process: 'child' }, { ...write, process: 'main' }],
      pages,
      what: 'writes after fork once the child is gone',
    },
    { event: 'fault.wpCopy', probe: 'wp_copy_fault', steps: [mmap, write, { op: 'fork', child: 'child' }, { ...write, process: 'main' }], pages, what: 'writes after fork while the child lives' },
  ];
  return benches;
}

/** Model cycles of the last step of `steps` under `profile` (the caller compiles and simulates). */
export type BenchPredictor = (profile: CpuProfile, steps: BenchStep[]) => number;

/** What reconciling changed, per fault price. */
export interface Reconciled {
  event: StatedCostEvent;
  /** the price deriveHostProfile() gave */
  before: number;
  after: number;
  /** the model's charge for the rest of the microbenchmark, per fault */
  rest: number;
  measured: number;
}

/**
 * Re-price the measured fault events of `cal` so the model reproduces each microbenchmark;
 * returns the new calibration (profile rebuilt) and what changed. A price that would not stay
 * positive is left as it was, and the row says why.
 */
export function reconcileFaultPrices(cal: HostCalibration, probe: ProbeOutput, predict: BenchPredictor): { cal: HostCalibration; changes: Reconciled[] } {
  const def = JSON.parse(JSON.stringify(cal.definition)) as HostCalibration['definition'] & { costs: Record<string, CostEntry> };
  const rows: CalibrationRow[] = cal.rows.map((r) => ({ ...r }));
  const changes: Reconciled[] = [];
  for (const bench of [...faultBenches(probe.fast), ...thpFaultBenches()]) {
    const entry = def.costs[bench.event];
    const row = rows.find((r) => r.event === bench.event);
    const got = medianOf(probe, bench.probe);
    if (!entry || entry.kind !== 'measured' || !row || row.status !== 'measured' || 'error' in got) continue;
    const before = entry.cycles as number;
    const perPage = predict(cal.profile, bench.steps) / bench.pages;
    const rest = perPage - before;
    const after = Math.round(got.value - rest);
    if (!(after > 0)) {
      row.how += `; not reconciled: the model charges ${Math.round(rest)} cycles a page for the rest of ${bench.what}, more than the ${Math.round(got.value)} measured`;
      continue;
    }
    def.costs[bench.event] = {
      ...entry,
      cycles: after,
      note: `${bench.probe} (${bench.what}, ${Math.round(got.value)} per fault) minus the model's charge for the rest of that pass (${Math.round(rest)}: #PF entry/exit and its drain, walks, data access, the other events' prices), so the model reproduces it; ${entry.note ?? ''}`.replace(/; $/, ''),
    };
    row.cycles = after;
    row.how = `${bench.probe} - the model's other charges for the same pass (${Math.round(rest)} per fault: #PF with its drain, walks, data access, the other events' prices)`;
    changes.push({ event: bench.event, before, after, rest, measured: got.value });
  }
  const profile = parseProfile(def, 'ptlab calibrate');
  return { cal: { ...cal, definition: def, profile, rows }, changes };
}
