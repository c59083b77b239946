/**
 * The result contract (DESIGN.md, "Result"): what `ptlab run --json` prints, what ResultSet
 * stores and what charts and reports read. Extend freely; rename nothing.
 */
import type { PageDetail, PageFlags } from '../kernel/task_mmu';
import type { PteEvent } from '../kernel/trace';

/** One row of `inspect`: the page's index in the region and the kernel's meaning of each bit
 * (PageFlags); the detail fields are absent in rows of older results and of native replays. */
export type InspectRow = { page: number } & PageFlags & Partial<PageDetail>;

export interface Counters {
  faults: { total: number; byKind: Record<string, number> };
  tlb: { hits: number; misses: number; l1Hits: number; stlbHits: number };
  walks: number;
  walkMemRefs: number;
  aBitSets: number;
  dBitSets: number;
  /** flush requests that reached hardware (flush_tlb_mm_range / flush_tlb_page calls) */
  tlbFlushes: number;
  /** shootdown IPIs, one per remote CPU */
  ipis: number;
  /** pages whose PTE or folio is dirty after the step */
  dirtyPages: number;
  /** pages written to storage or swap during the step */
  writebackPages: number;
  swapOutPages: number;
  /** simulated memory accesses (touch/workload) during the step */
  accesses: number;
  violations: Record<string, number>;
  /** every raw event count (hardware and kernel), by event name */
  events: Record<string, number>;
}

export interface Cycles {
  /** equals the sum of byEvent */
  total: number;
  byEvent: Record<string, number>;
}

/** A sample of counters taken every N accesses during a step (for "dirty pages over time"). */
export interface SeriesPoint {
  accesses: number;
  cycles: number;
  faults: number;
  dirtyPages: number;
  writebackPages: number;
  tlbFlushes: number;
}

export interface StepResult {
  index: number;
  op: string;
  /** the step's `label` from the spec, when it has one */
  label?: string;
  /** pages the step's region and `pages` selection cover (what `per: 'page'` divides by) */
  pages?: number;
  region?: string;
  process?: string;
  cycles: Cycles;
  counters: Counters;
  inspect?: InspectRow[];
  series?: SeriesPoint[];
  /** PAGEMAP_SCAN-style query result (written pages), when the step asks for one */
  scan?: number[];
  /** per-PTE event trace (`trace: { pages }` on the step or the run): the events of this step, in order */
  pteTrace?: PteEvent[];
  /** native runs: the spread of the step's timing over the repetitions */
  timing?: StepTiming;
  /** a call of the step the kernel failed, and the run went on (MADV_COLLAPSE): the errno it returns */
  errno?: string;
  /** native runs: how the native step differs from the op (e.g. hints ignored); model runs: why a call failed (`errno`) */
  notes?: string[];
}

/**
 * How a native step was timed (src/fidelity/timed.ts) over `reps` fresh replays: the CPU time of
 * the replaying process's threads (the executing one and its userfaultfd handlers; not the time
 * other processes preempted them) from just before the op to just after it, in TSC ticks.
 * `cycles.total` of the step is `median`; `wallMedian` is the rdtsc wall clock of the same window.
 */
export interface StepTiming {
  reps: number;
  median: number;
  p25: number;
  p75: number;
  min: number;
  max: number;
  /** median rdtsc wall-clock ticks: includes preemption by other processes and blocked time (I/O, the hypervisor backing fresh memory) */
  wallMedian: number;
}

/** How a native run is timed (`experiment.native(opts)`, src/fidelity/timed.ts). */
export interface TimeOptions {
  /** fresh replays of the whole script (default 5); a step's cycles are their median */
  reps?: number;
  /** 'busy': keep every other CPU busy while measuring; default: busy on a VM guest, as-is on bare metal (as ptlab calibrate) */
  others?: 'busy' | 'as-is';
  /** per replay (default 120 s) */
  timeoutMs?: number;
}

/** Where a run's numbers come from: the model (simulateRun) or a timed run on this host's kernel. */
export type RunSource = 'model' | 'native';

/** The machine a native run was measured on. */
export interface MachineRecord {
  cpuModel: string;
  vendor?: string;
  family?: number;
  model?: number;
  /** uname -r */
  kernel: string;
  /** the kernel variant that models this release (variantForRelease) */
  kernelVariant: string;
  /** "bare metal", or "VM guest (KVM)" from the CPUID hypervisor leaf; a guest cannot see whether its host uses nested or shadow paging */
  virtualization: string;
  /** TSC ticks per ns: native cycles are TSC ticks */
  tscGHz: number;
  /** CPUs this process may use; the replayer was pinned to `pinnedCpu` */
  cpus: number;
  pinnedCpu: number;
  /** every other allowed CPU kept busy by a spinner (ptlab calibrate's --others busy) */
  othersBusy: boolean;
}

/** A spec step a native run did not run, and why. */
export interface RefusedStep {
  step: number;
  op: string;
  reason: string;
}

export interface RunResult {
  /** stable id: variant|cpu|seed|repeat|params */
  id: string;
  name: string;
  variant: string;
  cpu: string;
  seed: number;
  repeat: number;
  /** the swept parameters of this run (e.g. {kernel: 'linux-6.18', seed: 3}) */
  params: Record<string, string | number | boolean>;
  steps: StepResult[];
  total: { cycles: Cycles; counters: Counters };
  /** 'model' (simulateRun) or 'native' (timed on this host); absent in results written before it existed = model */
  source?: RunSource;
  /** native runs: where they were measured */
  machine?: MachineRecord;
  /**
   * native runs: the spec steps this host could not run, each with its reason; steps after the
   * first refused one are listed too (their state would depend on it), and `steps` holds only
   * the steps before it
   */
  refused?: RefusedStep[];
}

export interface ResultsJson {
  ptlab: { version: string };
  runs: RunResult[];
}

/** Tidy row: one per run x step x metric ("total" step has index -1). */
export interface TidyRow extends Pick<RunResult, 'name' | 'variant' | 'cpu' | 'seed' | 'repeat' | 'params'> {
  /** the run's id */
  run: string;
  /** the run's source ('model' unless the run says otherwise) */
  source: RunSource;
  step: number;
  op: string;
  /** the step's label from the spec, when it has one */
  label?: string;
  metric: string;
  value: number;
}
