/**
 * Events -> cycles. A CostTable holds one Float64Array of per-event cycles per vocabulary, built
 * once per profile, so pricing a step is two dot products over the count arrays.
 */
import { HW_EVENTS } from '../x86/events';
import { KERNEL_EVENTS } from '../kernel/events';
import { KERNEL_ENTRY_EVENTS, type CostEvent } from './cost-events';
import type { CpuProfile } from './profile';

/** Same shape as Cycles in src/lab/types.ts (kept structurally identical; cost does not import lab). */
export interface Cycles {
  /** equals the sum of byEvent */
  total: number;
  byEvent: Record<string, number>;
}

export interface CostTable {
  profile: string;
  /** cycles per event, indexed like HW_EVENTS */
  hw: Float64Array;
  /** cycles per event, indexed like KERNEL_EVENTS */
  kernel: Float64Array;
}

const tables = new WeakMap<CpuProfile, CostTable>();

/**
 * The effective price of one event: the profile's cost plus, with PTI, two CR3 writes per kernel
 * entry/exit (Documentation/arch/x86/pti.rst: switch to the kernel page tables and back).
 */
export function effectiveCycles(profile: CpuProfile, ev: CostEvent): number {
  let c = profile.costs[ev].cycles;
  if (profile.pti && KERNEL_ENTRY_EVENTS.includes(ev)) c += 2 * profile.costs.cr3Write.cycles;
  return c;
}

export function costTable(profile: CpuProfile): CostTable {
  let t = tables.get(profile);
  if (!t) {
    t = {
      profile: profile.name,
      hw: Float64Array.from(HW_EVENTS, (e) => effectiveCycles(profile, e)),
      kernel: Float64Array.from(KERNEL_EVENTS, (e) => effectiveCycles(profile, e)),
    };
    tables.set(profile, t);
  }
  return t;
}

function isTable(p: CpuProfile | CostTable): p is CostTable {
  return (p as CostTable).hw instanceof Float64Array;
}

function checkLength(what: string, counts: Float64Array, n: number): void {
  if (counts.length !== n) throw new RangeError(`cycles(): ${what} has ${counts.length} slots, expected ${n} (one per event of ${what === 'hwCounts' ? 'HW_EVENTS' : 'KERNEL_EVENTS'})`);
}

/** Total cycles only: the dot product, no object allocated (for per-access sampling). */
export function totalCycles(p: CpuProfile | CostTable, hwCounts: Float64Array, kCounts: Float64Array): number {
  const t = isTable(p) ? p : costTable(p);
  checkLength('hwCounts', hwCounts, t.hw.length);
  checkLength('kCounts', kCounts, t.kernel.length);
  let sum = 0;
  for (let i = 0; i < t.hw.length; i++) sum += t.hw[i] * hwCounts[i];
  for (let i = 0; i < t.kernel.length; i++) sum += t.kernel[i] * kCounts[i];
  return sum;
}

/**
 * Price event counts. `byEvent` has one entry per event with a non-zero product (keyed by event
 * name), and `total` is computed as the sum of exactly those entries.
 */
export function cycles(p: CpuProfile | CostTable, hwCounts: Float64Array, kCounts: Float64Array): Cycles {
  const t = isTable(p) ? p : costTable(p);
  checkLength('hwCounts', hwCounts, t.hw.length);
  checkLength('kCounts', kCounts, t.kernel.length);
  const byEvent: Record<string, number> = {};
  let total = 0;
  for (let i = 0; i < t.hw.length; i++) {
    const c = t.hw[i] * hwCounts[i];
    if (c !== 0) {
      byEvent[HW_EVENTS[i]] = c;
      total += c;
    }
  }
  for (let i = 0; i < t.kernel.length; i++) {
    const c = t.kernel[i] * kCounts[i];
    if (c !== 0) {
      byEvent[KERNEL_EVENTS[i]] = c;
      total += c;
    }
  }
  return { total, byEvent };
}
