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
 *   and #PF delivery. The drain of one such event is the data access that would have overlapped
 *   and now waits in full: dataLatency x (1 - 1/MLP). The walk that found the bit clear ran
 *   speculatively and overlapped, so it keeps its throughput price.
 *
 * Footprint: a touch of N pages spans N x 8 bytes of leaf PTEs. A walk reference costs the mean
 * latency of the level holding those lines, with the page tables getting half of each cache (the
 * other half holds the data they map; estimate). It never drops below the profile's walkMemRef,
 * which prices a reference to warm, cached tables. On AMD the A/D re-walk reads the leaf again,
 * so the A/D prices grow with the footprint by the same difference.
 *
 * All of this is a price table per (profile, regime): the per-access path only counts events.
 * The breakdown stays a dot product, so `total` is still the sum of `byEvent`.
 */
import { HW_EVENTS, type HwEvent } from '../x86/events';
import { KERNEL_EVENTS } from '../kernel/events';
import { effectiveCycles, type CostTable } from './model';
import { meanLatency } from './memory';
import type { CpuProfile } from './profile';

export const DEPENDENCES = ['independent', 'dependent'] as const;
export type Dependence = (typeof DEPENDENCES)[number];

export interface AccessRegime {
  dependence: Dependence;
  /** distinct 4 KiB pages the accesses spread over (sets the page-table and data footprints) */
  footprintPages: number;
}

/** Work a core overlaps across independent accesses. */
export const OVERLAPPABLE: readonly HwEvent[] = ['stlbHit', 'tlbMiss', 'walk', 'walkMemRef'];
/** Work that serializes: the access waits for it at retirement, and nothing younger overlaps it. */
export const SERIALIZING: readonly HwEvent[] = ['aBitSet', 'dBitSet', 'adBitSet', 'pageFault'];
/** A/D updates: on AMD a locked re-walk that reads the leaf PTE again. */
const AD_UPDATES: readonly HwEvent[] = ['aBitSet', 'dBitSet', 'adBitSet'];

/** Share of each cache the page tables get while the data they map competes for it (estimate). */
export const PAGE_TABLE_CACHE_SHARE = 0.5;
const PTE_BYTES = 8;
const PAGE_BYTES = 4096;

/** Bytes of paging structures that map `pages` pages: leaf PTEs plus their page-directory entries. */
export function pageTableBytes(pages: number): number {
  return pages * PTE_BYTES + Math.ceil(pages / 512) * PTE_BYTES;
}

/** Price of one walk memory reference for a footprint: the warm price scaled by where the tables live. */
export function walkMemRefCycles(profile: CpuProfile, footprintPages: number): number {
  const m = profile.memory;
  const warm = effectiveCycles(profile, 'walkMemRef');
  const lat = meanLatency(m, pageTableBytes(footprintPages), PAGE_TABLE_CACHE_SHARE);
  return warm * Math.max(1, lat / m.l2Cycles);
}

/** Load-to-use latency of the data access for a footprint (the whole pages are the working set). */
export function dataLatency(profile: CpuProfile, footprintPages: number): number {
  return meanLatency(profile.memory, footprintPages * PAGE_BYTES);
}

/** The overlap one serializing event destroys in an independent stream. */
export function drainCycles(profile: CpuProfile, footprintPages: number): number {
  return dataLatency(profile, footprintPages) * (1 - 1 / profile.memory.mlp);
}

/** The price of one hardware event in a regime. */
export function regimePrice(profile: CpuProfile, ev: HwEvent, r: AccessRegime): number {
  let c = ev === 'walkMemRef' ? walkMemRefCycles(profile, r.footprintPages) : effectiveCycles(profile, ev);
  if (profile.vendor === 'amd' && AD_UPDATES.includes(ev)) c += walkMemRefCycles(profile, r.footprintPages) - effectiveCycles(profile, 'walkMemRef');
  if (r.dependence === 'independent') {
    if (OVERLAPPABLE.includes(ev)) c /= profile.memory.mlp;
    else if (SERIALIZING.includes(ev)) c += drainCycles(profile, r.footprintPages);
  }
  return c;
}

const regimeTables = new WeakMap<CpuProfile, Map<string, CostTable>>();

/** The price table of a regime (cached per profile and regime). Kernel events keep their latency. */
export function regimeTable(profile: CpuProfile, r: AccessRegime): CostTable {
  let byKey = regimeTables.get(profile);
  if (!byKey) regimeTables.set(profile, (byKey = new Map()));
  const key = `${r.dependence}:${r.footprintPages}`;
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

