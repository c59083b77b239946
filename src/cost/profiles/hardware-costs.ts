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
import { familyHierarchy } from './memory-hierarchy';
import { meanLatency } from '../memory';
import { walkRefAt } from '../regime';

/** Peter Xu: (99 - 4) ms / 262144 pages = 362 ns per A set, Xeon E5-2630 v4 at 2.2 GHz. */
const INTEL_A_NS = ((99 - 4) * 1e6) / 262144;
/** the published figure in cycles: a delta of an independent stream (1 GiB, page stride) */
export const INTEL_A_STREAM_CYCLES = nsToCycles(INTEL_A_NS, 2.2);
/** RFC 01 claim for the A/D update on first access through an old+clean PTE (no regime stated). */
export const INTEL_D_CYCLES = 500;
/** Raghavendra, EPYC Milan 3.72 GHz: ~290 ns (A after migration), ~32 ns (D on A=1,D=0), both 1 GiB streams. */
export const AMD_A_STREAM_CYCLES = nsToCycles(290, 3.72);
export const AMD_D_STREAM_CYCLES = nsToCycles(32, 3.72);
const GIB_PAGES = 262144;
/** warm walk-reference prices (the walkMemRef entries below) */
const INTEL_REF = 10;
const amdRef = (family: CoreFamily) => (family === 'zen4' ? 14 : 12);

/**
 * The latency of an A update from a published stream delta, by the regime rule (regime.ts): the
 * stream pays latency + drain (the read's data access, dataLatency(1 GiB) x (1 - 1/MLP)) and, on
 * AMD, the re-walk of the leaf at 1 GiB of page tables read in address order; the measuring machine's hierarchy is the
 * family's, with DRAM at its clock. Returns the latency and the terms, for the note.
 */
function aLatencyFromStream(streamCycles: number, family: CoreFamily, clockGHz: number, amd: boolean): { cycles: number; drain: number; rewalk: number } {
  const h = familyHierarchy(family, clockGHz);
  const drain = meanLatency(h, GIB_PAGES * 4096) * (1 - 1 / h.mlp);
  const ref = amd ? amdRef(family) : INTEL_REF;
  const rewalk = amd ? walkRefAt(ref, h, GIB_PAGES, true) - ref : 0;
  return { cycles: Math.round(streamCycles - drain - rewalk), drain: Math.round(drain), rewalk: Math.round(rewalk) };
}

/** Peter Xu's Broadwell figure (haswell family hierarchy at 2.2 GHz). */
const INTEL_A = aLatencyFromStream(INTEL_A_STREAM_CYCLES, 'haswell', 2.2, false);
export const INTEL_A_CYCLES = INTEL_A.cycles;
/** Raghavendra's Milan figures (zen3 hierarchy at 3.72 GHz); a store's D update has no drain. */
const AMD_A = aLatencyFromStream(AMD_A_STREAM_CYCLES, 'zen3', 3.72, true);
export const AMD_A_CYCLES = AMD_A.cycles;
const AMD_D_REWALK = Math.round(walkRefAt(12, familyHierarchy('zen3', 3.72), GIB_PAGES, true) - 12);
export const AMD_D_CYCLES = AMD_D_STREAM_CYCLES - AMD_D_REWALK;

export function hardwareCosts(family: CoreFamily): Record<HwEvent, CostEntry> {
  const intel = isIntel(family);
  const est = (cycles: number, source: string, note: string): CostEntry => ({ cycles, source, kind: 'estimate', note });
  const amdFrom = (cycles: number, source: string, note: string, regime: string): CostEntry =>
    family === 'zen3' ? { cycles, source, kind: 'estimate', note, regime } : { ...est(cycles, source, `${note}; carried over in cycles from Zen 3 (EPYC Milan), a cross-family estimate`), regime };
  const intelA = `Peter Xu's 1 GiB page-stride read stream after migration, Xeon E5-2630 v4 (Broadwell)`;
  const amdStream = `Raghavendra's 1 GiB stream after migration, EPYC Milan (Zen 3) at 3.72 GHz`;
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
      ? {
          ...est(
            INTEL_A_CYCLES,
            CITE.peterXuMigration,
            `microcode assist (counted by OTHER_ASSISTS.ANY / ASSISTS.ANY). The published 95 ms / 262144 pages = ${INTEL_A_NS.toFixed(0)} ns x 2.2 GHz = ${INTEL_A_STREAM_CYCLES} cycles is an independent-stream delta; the latency is that minus the regime rule's drain at 1 GiB (${INTEL_A.drain})${family === 'haswell' ? '' : '; carried over in cycles from Broadwell, a cross-family estimate'}`,
          ),
          regime: `derived: latency (dependent); published as ${intelA}`,
        }
      : amdFrom(
          AMD_A_CYCLES,
          CITE.raghavendra,
          `hardware re-walk sets A (no assist event on Zen). The published 290 ns x 3.72 GHz = ${AMD_A_STREAM_CYCLES} cycles is an independent-stream delta after migration (the PTEs were just rewritten by another CPU); the latency is that minus the drain (${AMD_A.drain}) and the re-walk at 1 GiB (${AMD_A.rewalk}). ptlab calibrate on an EPYC Zen 3 KVM guest measured far less (src/cost/profiles/measured)`,
          `derived: latency (dependent); published as ${amdStream}`,
        ),
    dBitSet: intel
      ? { ...est(INTEL_D_CYCLES, CITE.rfc01, `microcode assist on a write through a cached D=0 entry (OTHER_ASSISTS.ANY / ASSISTS.ANY count AD assists: ${CITE.intelAssist}). ">500 cycles" is a claim: no data was posted; Peter Xu's ~${INTEL_A_CYCLES}-cycle A assist latency supports the magnitude`), regime: 'claimed, regime not stated; used as the latency' }
      : amdFrom(AMD_D_CYCLES, CITE.raghavendra, `hardware re-walk on a write to A=1,D=0 (no assist on Zen, see amdzen PMC lists): 32 ns x 3.72 GHz = ${AMD_D_STREAM_CYCLES} minus the re-walk at 1 GiB (${AMD_D_REWALK}); a D-only update has no drain, and a dependent chase hides it (regime.ts)`, `derived: latency in an independent stream (a chase hides it on AMD); published as ${amdStream} (writes)`),
    adBitSet: intel
      ? { ...est(INTEL_A_CYCLES, CITE.peterXuMigration, 'one assist sets A and D together: priced like the A assist'), regime: 'latency, as aBitSet' }
      : { ...est(AMD_A_CYCLES, CITE.raghavendra, 'one walk sets A and D together: priced like the A set (the local Zen 3 measurement in kernel-facts.md sec. 3 shows A+D ~ A)'), regime: 'latency, as aBitSet' },
    pageFault:
      family === 'haswell'
        ? { cycles: PF_ENTRY_EXIT, source: CITE.lastweek, kind: 'published', note: 'user->kernel 440 + kernel->user 270 cycles on Xeon E5 v3 (Haswell-EP)' }
        : est(PF_ENTRY_EXIT, CITE.lastweek, 'user->kernel 440 + kernel->user 270 cycles measured on Haswell-EP, carried over in cycles'),
    invlpg: est(INVLPG, CITE.ingoFlush, '__flush_tlb_one; CPU not stated. The tlb.c ceiling comment says "about 100 ns" (~200-300 cycles), consistent'),
    flushPcid: est(96, CITE.ingoFlush, 'no published INVPCID single-context figure; priced like the 96-cycle CR3 reload (refills are priced as later misses)'),
    flushAll: est(96, CITE.ingoFlush, '__flush_tlb (CR3 reload) 96 cycles; refills are priced as later misses'),
    cr3Write: { cycles: 100, source: CITE.ptiDoc, kind: 'published', note: '"on the order of a hundred cycles"' },
    dataAccess: est(0, 'estimate: ptlab cost model v2 (src/cost/regime.ts)', 'outside an access regime the load itself is not priced (v1); in a touch or trace step it costs its cache misses: dataLatency(footprint) - L1 latency, divided by MLP when independent'),
  };
}
