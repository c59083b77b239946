/**
 * The result contract (DESIGN.md, "Result"): what `ptlab run --json` prints, what ResultSet
 * stores and what charts and reports read. Extend freely; rename nothing.
 */

/** One row of `inspect`: the kernel's meaning of each bit (DESIGN.md). */
export interface InspectRow {
  page: number;
  /** false for none, swap and marker entries */
  present: boolean;
  /** pte_write() */
  write: boolean;
  /** pte_young(): PTE.A */
  young: boolean;
  /** pte_dirty(): PTE.D, or saved-dirty on shadow-stack kernels */
  dirty: boolean;
  /** the PTE's, swap entry's or marker's uffd-wp bit */
  uffdWp: boolean;
  softDirty: boolean;
  /** PageAnonExclusive (or the swap entry's exclusive bit) */
  exclusive: boolean;
  /** the zero page or another special mapping */
  special: boolean;
  /** extra detail: 'none' | 'present' | 'swap' | 'marker' | 'migration' */
  entry?: string;
  /** folio PG_dirty */
  folioDirty?: boolean;
  /** pagemap bit 56: the page is mapped exactly once (page_mapcount == 1) */
  mappedExclusively?: boolean;
}

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
  region?: string;
  process?: string;
  cycles: Cycles;
  counters: Counters;
  inspect?: InspectRow[];
  series?: SeriesPoint[];
  /** PAGEMAP_SCAN-style query result (written pages), when the step asks for one */
  scan?: number[];
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
}

export interface ResultsJson {
  ptlab: { version: string };
  runs: RunResult[];
}

/** Tidy row: one per run x step x metric ("total" step has index -1). */
export interface TidyRow {
  run: string;
  name: string;
  variant: string;
  cpu: string;
  seed: number;
  repeat: number;
  params: Record<string, string | number | boolean>;
  step: number;
  op: string;
  metric: string;
  value: number;
}
