/**
 * The events the cost model prices: every hardware event (src/x86/events.ts) followed by every
 * kernel event (src/kernel/events.ts). A CostTable is a Float64Array in this order, so pricing a
 * run is one dot product per vocabulary.
 */
import { HW_EVENTS, type HwEvent } from '../x86/events';
import { KERNEL_EVENTS, type KernelEvent } from '../kernel/events';

export type CostEvent = HwEvent | KernelEvent;

export const COST_EVENTS: readonly CostEvent[] = [...HW_EVENTS, ...KERNEL_EVENTS];

/**
 * Per-page I/O events: their cycles are derived from the profile's `storage` device speeds (see
 * storage.ts), so a profile never states them directly.
 */
export const IO_EVENTS = ['writebackPage', 'swapOutPage', 'swapInPage', 'swapInTailPage', 'fileReadPage'] as const;
export type IoEvent = (typeof IO_EVENTS)[number];

/**
 * The swap zeromap's work instead of I/O (6.12+, src/kernel/page_io.ts): zero-filling a swapped-in
 * page (folio_zero_range) and finding a swapped-out page all zeros (is_folio_zero_filled, which
 * reads every word of it). Both are one pass over a 4 KiB page, priced as the profile's `pageZero`
 * (derived, so a profile never states them).
 */
export const PAGE_ZERO_EVENTS = ['swpinZero', 'swpoutZero'] as const;
export type PageZeroEvent = (typeof PAGE_ZERO_EVENTS)[number];

/** Events whose cycles come from other inputs of the profile: storage speeds, or `pageZero`. */
export const DERIVED_COST_EVENTS: readonly CostEvent[] = [...IO_EVENTS, ...PAGE_ZERO_EVENTS];
export type DerivedCostEvent = IoEvent | PageZeroEvent;

/** Events whose cycles a profile states (everything but the derived events). */
export type StatedCostEvent = Exclude<CostEvent, DerivedCostEvent>;
export const STATED_COST_EVENTS: readonly StatedCostEvent[] = COST_EVENTS.filter(
  (e): e is StatedCostEvent => !DERIVED_COST_EVENTS.includes(e),
);

/**
 * Kernel entries and exits: with page-table isolation (PTI, Documentation/arch/x86/pti.rst) each
 * of these pays two extra CR3 writes (switch to the kernel page tables on entry, back on exit).
 * A #PF is one entry/exit; each syscall-like work event is one.
 */
export const KERNEL_ENTRY_EVENTS: readonly CostEvent[] = [
  'pageFault',
  'syscallMmap',
  'syscallMunmap',
  'syscallMprotect',
  'syscallMadvise',
  'uffdIoctl',
  'pagemapScan',
  'clearRefs',
  'fork',
];
