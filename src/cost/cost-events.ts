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

/** Events whose cycles a profile states (everything but the derived I/O events). */
export type StatedCostEvent = Exclude<CostEvent, IoEvent>;
export const STATED_COST_EVENTS: readonly StatedCostEvent[] = COST_EVENTS.filter(
  (e): e is StatedCostEvent => !(IO_EVENTS as readonly string[]).includes(e),
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
