/**
 * Hardware event vocabulary of the x86 layer. Every hardware action increments one slot of a
 * Float64Array indexed by these ids (no object per event). The cost layer turns counts into cycles;
 * names are stable: later layers and saved results refer to them.
 */
export const HW_EVENTS = [
  /** Translation found in the L1 dTLB with sufficient permission. */
  'tlbL1Hit',
  /** L1 dTLB miss, hit in the unified second-level TLB (STLB). */
  'stlbHit',
  /** Miss in both TLB levels: a page walk follows. */
  'tlbMiss',
  /** A page walk (after a TLB miss, or the re-walk that sets D). */
  'walk',
  /** One memory reference made by the page walker (one paging-structure entry read). */
  'walkMemRef',
  /** A paging-structure-cache hit that skipped upper levels of a walk. */
  'pscHit',
  /** The walker set PTE.A (leaf) on a fill, with D untouched. */
  'aBitSet',
  /** The walker set PTE.D: a write through a TLB entry cached with D=0 (re-walk, Intel microcode assist), or a write miss that found A=1,D=0. */
  'dBitSet',
  /** A write miss that set A and D in the same walk. */
  'adBitSet',
  /** A #PF delivered to the kernel (exception entry and exit). */
  'pageFault',
  /** INVLPG of one page on one CPU. */
  'invlpg',
  /** Invalidation of one PCID's non-global entries on one CPU (INVPCID single-context). */
  'flushPcid',
  /** Full TLB flush on one CPU (CR3 write without PCID, or INVPCID all-context). */
  'flushAll',
  /** CR3 write on a context switch (with or without the no-flush bit). */
  'cr3Write',
  /**
   * The data access of a load or store that completed (once per access, after any faults). Free
   * outside an access regime; in one, it costs the cache misses of the data (src/cost/regime.ts).
   */
  'dataAccess',
] as const;
export type HwEvent = (typeof HW_EVENTS)[number];
export const HwEv: { readonly [K in HwEvent]: number } = Object.freeze(
  Object.fromEntries(HW_EVENTS.map((n, i) => [n, i])) as { [K in HwEvent]: number },
);

/** Correctness breaches the hardware model can see (counted, never cost). */
export const HW_VIOLATIONS = [
  /** A write went through a TLB entry that is writable while the PTE in memory no longer is (or maps another frame): a missed flush. */
  'staleWritableTlb',
] as const;
export type HwViolation = (typeof HW_VIOLATIONS)[number];
export const HwViol: { readonly [K in HwViolation]: number } = Object.freeze(
  Object.fromEntries(HW_VIOLATIONS.map((n, i) => [n, i])) as { [K in HwViolation]: number },
);
