/**
 * Cycle prices of the hardware events (HW_EVENTS) by core family.
 *
 * The A/D rule (the question of the seed thread): when the walker must set PTE.A or PTE.D,
 * - Intel cores do it with a microcode assist: perfmon counts it in OTHER_ASSISTS.ANY (Skylake) /
 *   ASSISTS.ANY (Ice Lake+), "Examples include AD (page Access Dirty)". An assist drains the
 *   pipeline, so a D update on a write through a cached D=0 entry costs hundreds of cycles; the
 *   RFC 01 commit message puts it at ">500 cycles" (claimed, not measured), and Peter Xu's A-set
 *   after migration measured ~800 cycles on Broadwell.
 * - AMD Zen cores have no assist event; the walker re-walks and sets the bit in hardware.
 *   Raghavendra's EPYC Milan numbers: ~32 ns for D on an A=1,D=0 PTE, ~290 ns for A after migration.
 * So Intel profiles price dBitSet at the assist figure and AMD profiles at the re-walk figure.
 */
import type { CostEntry } from '../sourced';
import { nsToCycles } from '../sourced';
import type { HwEvent } from '../../x86/events';
import { CITE } from '../citations';
import { isIntel, type CoreFamily } from './family';
import { INVLPG, PF_ENTRY_EXIT } from './kernel-software';

/** Peter Xu: (99 - 4) ms / 262144 pages = 362 ns per A set, Xeon E5-2630 v4 at 2.2 GHz. */
const INTEL_A_NS = ((99 - 4) * 1e6) / 262144;
export const INTEL_A_CYCLES = nsToCycles(INTEL_A_NS, 2.2);
/** RFC 01 claim for the A/D update on first access through an old+clean PTE. */
export const INTEL_D_CYCLES = 500;
/** Raghavendra, EPYC Milan 3.72 GHz: ~290 ns (A after migration), ~32 ns (D on A=1,D=0). */
export const AMD_A_CYCLES = nsToCycles(290, 3.72);
export const AMD_D_CYCLES = nsToCycles(32, 3.72);

export function hardwareCosts(family: CoreFamily): Record<HwEvent, CostEntry> {
  const intel = isIntel(family);
  const est = (cycles: number, source: string, note: string): CostEntry => ({ cycles, source, kind: 'estimate', note });
  const amdFrom = (cycles: number, source: string, note: string): CostEntry =>
    family === 'zen3' ? { cycles, source, kind: 'published', note } : est(cycles, source, `${note}; carried over in cycles from Zen 3 (EPYC Milan)`);
  const memRef = intel
    ? est(10, 'estimate: Intel optimization manual cache latencies (L1D 4-5, L2 12-14 cycles)', 'paging-structure reads mostly hit L1D/L2; 10 cycles is their midpoint. Large random footprints miss further and cost more')
    : est(family === 'zen4' ? 14 : 12, 'estimate: AMD software optimization guide L2 latency (Zen 3 12, Zen 4 14 cycles)', 'the Zen table walker reads paging structures through the L2 cache');
  return {
    tlbL1Hit: est(0, 'estimate: VIPT L1D, the L1 DTLB lookup overlaps the cache access', 'a hit adds no latency beyond the load itself; the model prices translation overhead, not the access'),
    stlbHit: intel
      ? { cycles: 7, source: CITE.tma, kind: 'published', note: 'Intel TMA charges 7 cycles per STLB hit' }
      : est(7, CITE.tma, 'Intel TMA constant used for the Zen L2 DTLB hit as well'),
    tlbMiss: est(7, CITE.tma, 'the STLB lookup that missed costs about an STLB hit before the walk starts'),
    walk: est(5, 'estimate: fixed walker overhead; with ~1.5 refs/walk (Every Walk\'s a Hit, ASPLOS 2022) a cached walk totals ~20-30 cycles', 'consistent with ~20 cycles for an STLB miss with cached tables on Haswell (PC Watch 2013, secondary source)'),
    walkMemRef: memRef,
    pscHit: est(0, CITE.pscRevanc, 'a paging-structure-cache hit saves walkMemRefs; it has no cost of its own'),
    aBitSet: intel
      ? est(INTEL_A_CYCLES, CITE.peterXuMigration, `microcode assist (counted by OTHER_ASSISTS.ANY / ASSISTS.ANY): 95 ms / 262144 pages = ${INTEL_A_NS.toFixed(0)} ns x 2.2 GHz (the measuring Broadwell's clock)`)
      : amdFrom(AMD_A_CYCLES, CITE.raghavendra, 'hardware re-walk sets A (no assist event on Zen): 290 ns x 3.72 GHz (the measuring machine\'s clock)'),
    dBitSet: intel
      ? est(INTEL_D_CYCLES, CITE.rfc01, `microcode assist on a write through a cached D=0 entry (OTHER_ASSISTS.ANY / ASSISTS.ANY count AD assists: ${CITE.intelAssist}). ">500 cycles" is a claim: no data was posted; Peter Xu's ~${INTEL_A_CYCLES}-cycle A assist supports the magnitude`)
      : amdFrom(AMD_D_CYCLES, CITE.raghavendra, 'hardware re-walk on a write to A=1,D=0 (no assist on Zen, see amdzen PMC lists): 32 ns x 3.72 GHz'),
    adBitSet: intel
      ? est(INTEL_A_CYCLES, CITE.peterXuMigration, 'one assist sets A and D together: priced like the A assist')
      : est(AMD_A_CYCLES, CITE.raghavendra, 'one walk sets A and D together: priced like the A set (the local Zen 3 measurement in kernel-facts.md sec. 3 shows A+D ~ A)'),
    pageFault:
      family === 'haswell'
        ? { cycles: PF_ENTRY_EXIT, source: CITE.lastweek, kind: 'published', note: 'user->kernel 440 + kernel->user 270 cycles on Xeon E5 v3 (Haswell-EP)' }
        : est(PF_ENTRY_EXIT, CITE.lastweek, 'user->kernel 440 + kernel->user 270 cycles measured on Haswell-EP, carried over in cycles'),
    invlpg: est(INVLPG, CITE.ingoFlush, '__flush_tlb_one; CPU not stated. The tlb.c ceiling comment says "about 100 ns" (~200-300 cycles), consistent'),
    flushPcid: est(96, CITE.ingoFlush, 'no published INVPCID single-context figure; priced like the 96-cycle CR3 reload (refills are priced as later misses)'),
    flushAll: est(96, CITE.ingoFlush, '__flush_tlb (CR3 reload) 96 cycles; refills are priced as later misses'),
    cr3Write: { cycles: 100, source: CITE.ptiDoc, kind: 'published', note: '"on the order of a hundred cycles"' },
  };
}
