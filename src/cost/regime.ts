/**
 * The regime rule (cost model v2): what an event costs depends on whether the accesses around it
 * can overlap, and on where the paging structures live.
 *
 * - `dependent` (a pointer chase: each access waits for the previous one): every event costs its
 *   latency. This is the v1 pricing, with walk references priced by footprint.
 * - `independent` (a stream whose TLB misses overlap): overlappable work (STLB lookups, walks and
 *   their memory references) costs its latency / MLP, the profile's memory-level parallelism.
 *   Serializing work costs its latency plus the drain: the overlap it destroys. Serializing are
 *   the walker's A/D updates (AMD sets them only in a non-speculative re-walk at retirement; Intel
 *   counts them as microcode assists, OTHER_ASSISTS.ANY / ASSISTS.ANY, which drain the pipeline)
 *   and #PF delivery. The drain of a read's A update (or a #PF) is the data access that would
 *   have overlapped and now waits in full: dataLatency x (1 - 1/MLP). A store's A+D update drains
 *   memory.storeDrain of that (a store retires into the store buffer before its line arrives;
 *   measured on the Zen 3 guest, an independent write stream's A+D delta over the dependent one is
 *   ~0.65 of a read stream's A delta over its own, at 64 and at 512 MiB). The walk that found the bit
 *   clear ran speculatively and overlapped, so it keeps its throughput price. A D-only update has
 *   no drain (see DRAINING).
 *
 * Footprint: a touch of N pages spans N x 8 bytes of leaf PTEs. In random page order each leaf
 * line is reused at random intervals while the data streams through the caches, so a level of
 * capacity C holds it with probability 1 - exp(-s C / PT bytes), s = memory.ptShare (0.5 unless
 * measured: between two uses as many data bytes pass as there are PTE bytes); in address order 7
 * of 8 walks find the line the previous walk used. A walk reference costs its warm price (walkMemRef: tables in
 * L2) plus how much farther the line is. On AMD the A/D update re-walks (at retirement), and
 * measured dependent chases on a Zen 3 guest show the A update growing with the footprint like a
 * walk (docs/cost-model.md), so A/D prices add the same difference.
 *
 * All of this is a price table per (profile, regime): the per-access path only counts events.
 * The breakdown stays a dot product, so `total` is still the sum of `byEvent`.
 */
import { HW_EVENTS, type HwEvent } from '../x86/events';
import { KERNEL_EVENTS } from '../kernel/events';
import { effectiveCycles, type CostTable } from './model';
import { meanLatency, reuseLatency, type MemoryHierarchy } from './memory';
import type { CpuProfile } from './profile';

export const DEPENDENCES = ['independent', 'dependent'] as const;
export type Dependence = (typeof DEPENDENCES)[number];

export interface AccessRegime {
  dependence: Dependence;
  /** distinct 4 KiB pages the accesses spread over (sets the page-table and data footprints) */
  footprintPages: number;
  /** pages visited in address order: 8 neighbours share a leaf line, so 7 of 8 walks find it in L1 */
  sequential?: boolean;
}

/** Work a core overlaps across independent accesses (and the data access's cache misses, priced apart). */
export const OVERLAPPABLE: readonly HwEvent[] = ['stlbHit', 'tlbMiss', 'walk', 'walkMemRef'];
/** Work that serializes: priced at full latency in both regimes (never divided by MLP). */
export const SERIALIZING: readonly HwEvent[] = ['aBitSet', 'dBitSet', 'adBitSet', 'pageFault'];
/**
 * Serializing work that also drains: an update that sets A (on a read or a write miss) and a #PF
 * happen at retirement, and only then is the data fetched, which a stream would have overlapped.
 * A D-only update (a write to A=1,D=0) does not expose the data access: measured on the Zen 3
 * guest, an independent write stream's D delta is ~140 cycles (about its latency) while its A+D
 * delta is ~550-600, like a read stream's A delta (docs/cost-model.md).
 */
export const DRAINING: readonly HwEvent[] = ['aBitSet', 'adBitSet', 'pageFault'];
/** A/D updates: on AMD a locked re-walk that reads the leaf PTE again. */
const AD_UPDATES: readonly HwEvent[] = ['aBitSet', 'dBitSet', 'adBitSet'];

const PTE_BYTES = 8;
const PAGE_BYTES = 4096;

/** Bytes of paging structures that map `pages` pages: leaf PTEs plus their page-directory entries. */
export function pageTableBytes(pages: number): number {
  return pages * PTE_BYTES + Math.ceil(pages / 512) * PTE_BYTES;
}

/** Where a leaf line is when a walk reads it: mean latency over the hierarchy. */
export function pageTableLatency(m: MemoryHierarchy, footprintPages: number, sequential = false): number {
  const random = reuseLatency(m, pageTableBytes(footprintPages), m.ptShare);
  return sequential ? (7 / 8) * m.l1dCycles + random / 8 : random;
}

/**
 * A walk reference's price for a footprint: its warm price (tables in L2, the v1 price, which
 * includes the nested walk's extra references on a virtualized profile) plus how much farther the
 * tables are: + max(0, pageTableLatency - L2 latency).
 */
export function walkRefAt(warm: number, m: MemoryHierarchy, footprintPages: number, sequential = false): number {
  return warm + Math.max(0, pageTableLatency(m, footprintPages, sequential) - m.l2Cycles);
}

/** Price of one walk memory reference in a regime. */
export function walkMemRefCycles(profile: CpuProfile, footprintPages: number, sequential = false): number {
  return walkRefAt(effectiveCycles(profile, 'walkMemRef'), profile.memory, footprintPages, sequential);
}

/** Load-to-use latency of the data access for a footprint (the whole pages are the working set). */
export function dataLatency(profile: CpuProfile, footprintPages: number): number {
  return meanLatency(profile.memory, footprintPages * PAGE_BYTES);
}

/** The overlap one serializing event destroys in an independent stream. */
export function drainCycles(profile: CpuProfile, footprintPages: number): number {
  return dataLatency(profile, footprintPages) * (1 - 1 / profile.memory.mlp);
}

/**
 * How much an AMD A/D update adds over its price for the footprint. By default the re-walk of the
 * leaf: how much farther the leaf line is than in L2 (the cache model). Where a profile measured
 * it (memory.adGrowth), an A or A+D update in random page order grows log-linearly with the
 * footprint instead: measured on the Zen 3 guest, the dependent A delta was 57 / 77-95 / 130 /
 * 143-166 cycles at 64 MiB / 128 MiB / 512 MiB / 1 GiB, about +24 per doubling throughout, where
 * the cache model (fitted at 64 and 512 MiB) gave 65 at 128 MiB and 203 at 1 GiB.
 */
function adFootprintTerm(profile: CpuProfile, ev: HwEvent, r: AccessRegime, ref: number): number {
  const g = profile.memory.adGrowth;
  if (g && ev !== 'dBitSet' && !r.sequential) return (ev === 'aBitSet' ? g.a : g.ad) * Math.max(0, Math.log2(r.footprintPages / g.fromPages));
  return ref - effectiveCycles(profile, 'walkMemRef');
}

/** The price of one hardware event in a regime. */
export function regimePrice(profile: CpuProfile, ev: HwEvent, r: AccessRegime): number {
  if (ev === 'dataAccess') {
    const miss = effectiveCycles(profile, ev) + Math.max(0, dataLatency(profile, r.footprintPages) - profile.memory.l1dCycles);
    return r.dependence === 'independent' ? miss / profile.memory.mlp : miss;
  }
  const ref = walkMemRefCycles(profile, r.footprintPages, r.sequential);
  let c = ev === 'walkMemRef' ? ref : effectiveCycles(profile, ev);
  if (profile.vendor === 'amd' && AD_UPDATES.includes(ev)) c += adFootprintTerm(profile, ev, r, ref);
  if (r.dependence === 'independent') {
    if (OVERLAPPABLE.includes(ev)) c /= profile.memory.mlp;
    else if (DRAINING.includes(ev)) c += (ev === 'adBitSet' ? profile.memory.storeDrain : 1) * drainCycles(profile, r.footprintPages);
  } else if (ev === 'dBitSet' && profile.vendor === 'amd') {
    // A D-only update (AMD: at the store's retirement) is off a dependent chase's critical path:
    // the next load waits for the previous load, not for the store, so the update overlaps it.
    // Measured on the Zen 3 guest: a chase's D-only delta is ~0 (-12..+32 cycles at 64 and 512
    // MiB) while an independent write stream shows ~125 (docs/cost-model.md). Hidden up to the
    // chase's own load latency at that footprint.
    c = Math.max(0, c - dataLatency(profile, r.footprintPages));
  }
  return c;
}

const regimeTables = new WeakMap<CpuProfile, Map<string, CostTable>>();

/** The price table of a regime (cached per profile and regime). Kernel events keep their latency. */
export function regimeTable(profile: CpuProfile, r: AccessRegime): CostTable {
  let byKey = regimeTables.get(profile);
  if (!byKey) regimeTables.set(profile, (byKey = new Map()));
  const key = `${r.dependence}:${r.footprintPages}:${r.sequential ? 's' : 'r'}`;
  let t = byKey.get(key);
  if (!t) {
    t = {
      profile: profile.name,
      hw: Float64Array.from(HW_EVENTS, (e) => regimePrice(profile, e, r)),
      kernel: Float64Array.from(KERNEL_EVENTS, (e) => effectiveCycles(profile, e)),
    };
    byKey.set(key, t);
  }
  return t;
}

/** Extra cycles one A update adds to an access in a regime (the model's answer to "what does a cleared A bit cost per page"). */
export function aBitDelta(profile: CpuProfile, r: AccessRegime): number {
  return regimePrice(profile, 'aBitSet', r);
}

