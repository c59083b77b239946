/**
 * The memory hierarchy of a profile: cache sizes and load-to-use latencies, DRAM latency and the
 * memory-level parallelism (MLP) of independent TLB-missing loads. The regime rule (regime.ts)
 * uses it to price a walk's memory references by where the paging structures live, and to price
 * the overlap a serializing event destroys.
 */
import { z } from 'zod';
import { SourcedSchema, type Sourced } from './sourced';

export interface CacheLevelDefinition {
  bytes: Sourced;
  /** load-to-use latency, core cycles at the profile's clock */
  cycles: Sourced;
}

export interface MemoryDefinition {
  l1d: CacheLevelDefinition;
  l2: CacheLevelDefinition;
  /** the last-level cache one core can use (an L3 slice group / CCX) */
  llc: CacheLevelDefinition;
  /** DRAM load-to-use latency, cycles at the profile's clock */
  dramCycles: Sourced;
  /** independent TLB-missing loads in flight: walks and data misses overlap about this much */
  mlp: Sourced;
  /**
   * how much of each cache page-table lines keep while the data they map streams through (1 = as
   * if alone); sets how fast walk references grow with the footprint (regime.ts). Optional: 0.5.
   */
  ptShare?: Sourced;
  /**
   * the share of a load's drain that an A+D update on a store costs in an independent stream
   * (regime.ts): a store retires into the store buffer before its line arrives, so the update
   * exposes less of the data access than a load's A update does. Optional: 1 (as a load).
   */
  storeDrain?: Sourced;
  /**
   * measured on AMD: how an A or A+D update in a random-order chase grows with the footprint,
   * log-linear from `fromMiB` on (cycles per doubling of the footprint). Replaces the re-walk term
   * of the cache model (ptShare) for those updates where measured (regime.ts).
   */
  adGrowth?: { fromMiB: Sourced; aPerDoubling: Sourced; adPerDoubling: Sourced };
}

/** The plain numbers the regime rule reads. */
export interface MemoryHierarchy {
  l1dBytes: number;
  l1dCycles: number;
  l2Bytes: number;
  l2Cycles: number;
  llcBytes: number;
  llcCycles: number;
  dramCycles: number;
  mlp: number;
  ptShare: number;
  storeDrain: number;
  /** see MemoryDefinition.adGrowth; undefined = the cache model's re-walk term */
  adGrowth?: { fromPages: number; a: number; ad: number };
}

const positive = SourcedSchema.refine((v) => v.value > 0, { error: 'value must be > 0', path: ['value'] });
const Level = z.object({ bytes: positive, cycles: positive });

export const MemorySchema = z
  .object({
    l1d: Level,
    l2: Level,
    llc: Level,
    dramCycles: positive,
    mlp: SourcedSchema.refine((v) => v.value >= 1, { error: 'must be >= 1 (1 = no overlap)', path: ['value'] }),
    ptShare: SourcedSchema.refine((v) => v.value > 0 && v.value <= 8, { error: 'must be > 0 and <= 8', path: ['value'] }).optional(),
    adGrowth: z
      .object({
        fromMiB: positive,
        aPerDoubling: SourcedSchema.refine((v) => v.value >= 0, { error: 'must be >= 0', path: ['value'] }),
        adPerDoubling: SourcedSchema.refine((v) => v.value >= 0, { error: 'must be >= 0', path: ['value'] }),
      })
      .optional(),
    storeDrain: SourcedSchema.refine((v) => v.value >= 0 && v.value <= 1, { error: 'must be between 0 and 1 (1 = a store drains like a load)', path: ['value'] }).optional(),
  })
  .superRefine((m, ctx) => {
    if (!(m.l1d.bytes.value < m.l2.bytes.value && m.l2.bytes.value < m.llc.bytes.value))
      ctx.addIssue({ code: 'custom', path: ['llc', 'bytes', 'value'], message: 'cache sizes must grow: l1d < l2 < llc' });
    if (!(m.l1d.cycles.value <= m.l2.cycles.value && m.l2.cycles.value <= m.llc.cycles.value && m.llc.cycles.value <= m.dramCycles.value))
      ctx.addIssue({ code: 'custom', path: ['dramCycles', 'value'], message: 'latencies must not shrink: l1d <= l2 <= llc <= dram' });
  });

/**
 * Page-table lines' share of each cache when not measured: between two uses of a leaf line in a
 * random-order pass as many data bytes pass through the caches as there are PTE bytes, so an LRU
 * cache needs twice the tables' size to keep them (estimate).
 */
export const DEFAULT_PT_SHARE = 0.5;

/** A store's A+D update drains like a load's A update unless measured (the v2 rule; estimate). */
export const DEFAULT_STORE_DRAIN = 1;

export function hierarchyOf(m: MemoryDefinition): MemoryHierarchy {
  return {
    l1dBytes: m.l1d.bytes.value,
    l1dCycles: m.l1d.cycles.value,
    l2Bytes: m.l2.bytes.value,
    l2Cycles: m.l2.cycles.value,
    llcBytes: m.llc.bytes.value,
    llcCycles: m.llc.cycles.value,
    dramCycles: m.dramCycles.value,
    mlp: m.mlp.value,
    ptShare: m.ptShare?.value ?? DEFAULT_PT_SHARE,
    storeDrain: m.storeDrain?.value ?? DEFAULT_STORE_DRAIN,
    ...(m.adGrowth ? { adGrowth: { fromPages: m.adGrowth.fromMiB.value * 256, a: m.adGrowth.aPerDoubling.value, ad: m.adGrowth.adPerDoubling.value } } : {}),
  };
}

/**
 * Mean load latency of uniformly spread accesses to `bytes` of lines when each cache level holds
 * `share` of its capacity for them: a fraction min(1, share x capacity / bytes) hits at or above
 * that level (the capacity model of a fully associative LRU cache under random reuse).
 */
export function meanLatency(m: MemoryHierarchy, bytes: number, share = 1): number {
  if (bytes <= 0) return m.l1dCycles;
  const h1 = Math.min(1, (share * m.l1dBytes) / bytes);
  const h2 = Math.max(h1, Math.min(1, (share * m.l2Bytes) / bytes));
  const h3 = Math.max(h2, Math.min(1, (share * m.llcBytes) / bytes));
  return h1 * m.l1dCycles + (h2 - h1) * m.l2Cycles + (h3 - h2) * m.llcCycles + (1 - h3) * m.dramCycles;
}

/**
 * Mean load latency of lines that are each reused at random intervals, `bytes` of them in all
 * (a page table's lines under random page order: each leaf line serves 8 pages visited at random
 * times). The distinct lines touched between two uses are exponentially distributed with mean
 * bytes / share, so a level of capacity C holds the line with probability 1 - exp(-share C / bytes).
 */
export function reuseLatency(m: MemoryHierarchy, bytes: number, share = 1): number {
  if (bytes <= 0) return m.l1dCycles;
  const hit = (c: number) => 1 - Math.exp((-share * c) / bytes);
  const h1 = hit(m.l1dBytes);
  const h2 = Math.max(h1, hit(m.l2Bytes));
  const h3 = Math.max(h2, hit(m.llcBytes));
  return h1 * m.l1dCycles + (h2 - h1) * m.l2Cycles + (h3 - h2) * m.llcCycles + (1 - h3) * m.dramCycles;
}
