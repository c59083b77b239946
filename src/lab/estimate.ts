/**
 * Guards before a run: how much model state and how many simulated accesses a compiled plan
 * asks for, and the limits above which ptlab refuses it unless told `allowLarge` (CLI
 * `--allow-large`). A 1 TiB region touched in full validates as a spec, but would grow the
 * process by gigabytes over many minutes before anything is printed; the estimate says so up
 * front.
 *
 * Model state per touched page (src/kernel/frames.ts, src/x86/pagetable.ts): 8 bytes of PTE
 * (`npm run bench` measures 8.02 with the upper levels), 37 bytes of per-frame typed arrays
 * (flags, mapcount, owner, index, swap slot, head, LRU links), which grow by doubling (so up to
 * twice that), and bookkeeping: 96 bytes per page is the estimate, plus a fixed 32 MiB.
 */
import type { RunPlan } from './compile';
import { sizeToPages } from './size';
import type { ResolvedStep } from './spec';

/** The limits: above either, a run is refused unless `allowLarge`. */
export const RUN_LIMITS = Object.freeze({
  /** model state of one run */
  memoryBytes: 4 * 1024 ** 3,
  /** simulated accesses of one run */
  accesses: 1e10,
});

export const MODEL_BYTES_PER_PAGE = 96;
const BASE_BYTES = 32 * 1024 ** 2;

export interface RunEstimate {
  /** the largest run: model state, bytes */
  memoryBytes: number;
  /** the largest run: simulated accesses */
  accesses: number;
  /** all runs together: simulated accesses */
  totalAccesses: number;
  runs: number;
  /** "2 runs; up to 1.5 GiB of model state and 2.7e8 simulated accesses per run" */
  summary: string;
  /** what is over RUN_LIMITS (empty when within them) */
  over: string[];
}

function selected(step: { pages?: unknown }, regionPages: number): number {
  const p = step.pages;
  if (Array.isArray(p)) return p.length;
  if (p && typeof p === 'object' && 'count' in p) return Number((p as { count: number }).count);
  return regionPages;
}

/** Model state and accesses of one run. */
export function estimatePlan(plan: Pick<RunPlan, 'steps'>): { memoryBytes: number; accesses: number } {
  const regions = new Map<string, number>();
  const touched = new Map<string, number>();
  let accesses = 0;
  for (const s of plan.steps as readonly ResolvedStep[]) {
    if (s.op === 'mmap') regions.set(s.region, sizeToPages(s.size));
    if (s.op !== 'touch') continue;
    const pages = regions.get(s.region) ?? 0;
    const sel = Math.min(pages, selected(s, pages));
    const n = s.count ?? sel;
    accesses += n;
    // pages this step can touch: the selection, or fewer when it makes fewer accesses
    touched.set(s.region, Math.min(pages, Math.max(touched.get(s.region) ?? 0, Math.min(sel, n))));
  }
  let pages = 0;
  for (const n of touched.values()) pages += n;
  return { memoryBytes: BASE_BYTES + pages * MODEL_BYTES_PER_PAGE, accesses };
}

function bytes(n: number): string {
  for (const [u, b] of [['TiB', 1024 ** 4], ['GiB', 1024 ** 3], ['MiB', 1024 ** 2]] as const) if (n >= b) return `${(n / b).toPrecision(3)} ${u}`;
  return `${Math.ceil(n / 1024)} KiB`;
}

function count(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toPrecision(3)} T`;
  if (n >= 1e9) return `${(n / 1e9).toPrecision(3)} G`;
  if (n >= 1e6) return `${(n / 1e6).toPrecision(3)} M`;
  if (n >= 1e3) return `${(n / 1e3).toPrecision(3)} k`;
  return String(n);
}

/** The estimate of a compiled experiment, and what exceeds RUN_LIMITS. */
export function estimateRuns(plans: readonly Pick<RunPlan, 'steps'>[]): RunEstimate {
  let memoryBytes = 0;
  let accesses = 0;
  let totalAccesses = 0;
  for (const p of plans) {
    const e = estimatePlan(p);
    memoryBytes = Math.max(memoryBytes, e.memoryBytes);
    accesses = Math.max(accesses, e.accesses);
    totalAccesses += e.accesses;
  }
  const over: string[] = [];
  if (memoryBytes > RUN_LIMITS.memoryBytes) over.push(`${bytes(memoryBytes)} of model state per run (limit ${bytes(RUN_LIMITS.memoryBytes)})`);
  if (accesses > RUN_LIMITS.accesses) over.push(`${count(accesses)} simulated accesses per run (limit ${count(RUN_LIMITS.accesses)})`);
  const summary = `${plans.length} run(s); estimated up to ${bytes(memoryBytes)} of model state and ${count(accesses)} simulated accesses per run (${count(totalAccesses)} in all)`;
  return { memoryBytes, accesses, totalAccesses, runs: plans.length, summary, over };
}

/** The message of a refused run: the estimate, the limit, the override. */
export function tooLargeMessage(e: RunEstimate): string {
  return `too large to run: ${e.over.join(' and ')}; ${e.summary}. Make the regions or counts smaller, or pass --allow-large (run({ allowLarge: true })) to run it anyway`;
}
