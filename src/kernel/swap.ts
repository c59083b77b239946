/**
 * Swap space and the swap cache (mm/swapfile.c, mm/swap_state.c), reduced to what PTE research
 * needs: slots, which folio caches a slot, and swap-entry encodings (include/linux/swapops.h).
 */
import { swp_entry_to_pte, pte_swp_type, pte_swp_offset } from '../x86/pte';

// Swap types above the swap files (include/linux/swap.h with CONFIG_DEVICE_PRIVATE,
// CONFIG_MIGRATION, CONFIG_MEMORY_FAILURE, PTE markers): 32 - 4 - 3 - 1 - 1 = 23 swap files.
export const MAX_SWAPFILES = 23;
export const SWP_HWPOISON = MAX_SWAPFILES;
export const SWP_MIGRATION_READ = MAX_SWAPFILES + 1;
export const SWP_MIGRATION_READ_EXCLUSIVE = MAX_SWAPFILES + 2;
export const SWP_MIGRATION_WRITE = MAX_SWAPFILES + 3;
export const SWP_PTE_MARKER = 31;

/** PTE marker bits (include/linux/swapops.h): uffd-wp on a none PTE (v5.19; anon with WP_UNPOPULATED v6.4). */
export const PTE_MARKER_UFFD_WP = 1;
export const PTE_MARKER_POISONED = 2;
export const PTE_MARKER_GUARD = 4;

/** Migration entries remember A and D (v6.1, 2e3468778dbe) in offset bits above the PFN. */
export const SWP_MIG_YOUNG = 2 ** 40;
export const SWP_MIG_DIRTY = 2 ** 41;

export const make_pte_marker = (marker: number): bigint => swp_entry_to_pte(SWP_PTE_MARKER, marker);
export const is_pte_marker = (pte: bigint): boolean => pte_swp_type(pte) === SWP_PTE_MARKER;
export const pte_marker_uffd_wp = (pte: bigint): boolean => is_pte_marker(pte) && (pte_swp_offset(pte) & PTE_MARKER_UFFD_WP) !== 0;
export const is_migration_entry = (pte: bigint): boolean => {
  const t = pte_swp_type(pte);
  return t >= SWP_MIGRATION_READ && t <= SWP_MIGRATION_WRITE;
};
export const is_swap_entry = (pte: bigint): boolean => pte_swp_type(pte) < MAX_SWAPFILES;

export class SwapSpace {
  private nextSlot = 1;
  private freeSlots: number[] = [];
  /** swap cache: slot -> pfn of the folio caching it */
  readonly cache = new Map<number, number>();
  /** mapping count of each slot (swap_duplicate): entries in page tables referring to it */
  readonly refs = new Map<number, number>();
  /** slots whose page was all zeros when swapped out (swap_writeout(), page_io.ts): the swap
   *  device's zeromap from 6.12 (variant swapZeromap), recorded for every version as the content
   *  a swap-in gets back; can_swapin_thp() requires it to be the same over a large swap-in's range */
  readonly zeromap = new Set<number>();
  slotsInUse = 0;

  alloc(): number {
    this.slotsInUse++;
    const s = this.freeSlots.pop() ?? this.nextSlot++;
    this.refs.set(s, 0);
    return s;
  }
  /**
   * `nr` contiguous slots starting at a multiple of `nr`, for a large folio swapped out whole: the
   * cluster allocator (mm/swapfile.c, CONFIG_THP_SWAP) hands out naturally aligned runs inside a
   * 512-slot cluster. Slots skipped for the alignment go to the order-0 free list.
   */
  allocRange(nr: number): number {
    const start = Math.ceil(this.nextSlot / nr) * nr;
    for (let s = this.nextSlot; s < start; s++) this.freeSlots.push(s);
    this.nextSlot = start + nr;
    for (let s = start; s < start + nr; s++) this.refs.set(s, 0);
    this.slotsInUse += nr;
    return start;
  }
  dup(slot: number): void {
    this.refs.set(slot, (this.refs.get(slot) ?? 0) + 1);
  }
  /** Drop one reference; free the slot when nothing (PTE or swap cache) holds it. */
  put(slot: number): void {
    const n = (this.refs.get(slot) ?? 1) - 1;
    this.refs.set(slot, n);
    if (n <= 0 && !this.cache.has(slot)) this.release(slot);
  }
  release(slot: number): void {
    if (!this.refs.has(slot)) return;
    this.refs.delete(slot);
    this.cache.delete(slot);
    this.zeromap.delete(slot);
    this.freeSlots.push(slot);
    this.slotsInUse--;
  }
}
