/**
 * Swap I/O (mm/page_io.c): what writing a folio to swap and reading it back does to the device,
 * with the swap zeromap (variant field swapZeromap; read in 6.18.2, absent from 6.11.11, 6.3.8,
 * 6.2.1, 6.0.1 and 5.19, so 6.12: "mm: store zero pages to be swapped out in a bitmap", Usama Arif):
 *  - swap_writeout() (swap_writepage() in 6.11.11 and before) first tests whether the folio is
 *    all zeros (is_folio_zero_filled(), every page of a large folio). If so it only sets the
 *    folio's slots in the device's zeromap (swap_zeromap_folio_set(), vmstat swpout_zero per page)
 *    and writes nothing; otherwise it clears them (swap_zeromap_folio_clear()) and writes it;
 *  - swap_read_folio() first asks swap_read_folio_zeromap(): a folio whose slots are all in the
 *    zeromap is zero-filled (folio_zero_range(), vmstat swpin_zero per page) with no device I/O;
 *    one whose slots are partly in it is left not uptodate, an I/O error for the fault. That never
 *    happens: can_swapin_thp() (6.13+) reads a large folio only if its slots are all or none in
 *    the zeromap, and falls back to a smaller order otherwise;
 *  - the fault is major all the same: do_swap_page() returns VM_FAULT_MAJOR whenever the folio was
 *    not in the swap cache and had to be read, before and after the zeromap (read in 5.19, 6.0.1,
 *    6.2.1, 6.3.8 and 6.18.2), and shmem_swapin_folio() likewise.
 * Before 6.12 a zero page is written to the device and read back like any other.
 *
 * The model records which slots were zero when written in SwapSpace.zeromap for every version (the
 * page's content, PG_nonzero), and only variants with swapZeromap act on it.
 */
import { KEv } from './events';
import { PG_nonzero } from './frames';
import type { Kernel } from './kernel';

/**
 * swap_writeout() of the folio of `nr` pages at `base` to the slots `firstSlot`..+nr: a write of
 * each page (swapOutPage), or, all zero with the zeromap, one swpoutZero per page and no write.
 */
export function swap_writeout(k: Kernel, base: number, nr: number, firstSlot: number): void {
  const f = k.frames;
  let zero = true;
  for (let p = base; p < base + nr && zero; p++) if (f.flags[p] & PG_nonzero) zero = false;
  for (let i = 0; i < nr; i++) {
    if (zero) k.swap.zeromap.add(firstSlot + i);
    else k.swap.zeromap.delete(firstSlot + i);
  }
  if (zero && k.variant.swapZeromap) {
    // is_folio_zero_filled() read every word of the folio: that pass is swpoutZero's price
    k.counters[KEv.swpoutZero] += nr;
    return;
  }
  k.counters[KEv.swapOutPage] += nr;
  k.writebackThisStep += nr;
}

/**
 * swap_read_folio() of the folio of `nr` pages at `base` from the slots `firstSlot`..+nr (all or
 * none of them in the zeromap: alloc_swap_folio_order() makes sure for a large folio). One device
 * read (swapInPage, the request and its first page, plus a swapInTailPage for each further page),
 * or, with the zeromap, one zero-filled swap-in (swpinZero for the first page, pageZero for each
 * further one: folio_zero_range() clears the whole folio). Either is one major fault, which
 * `ptlab diff` counts as swapInPage + swpinZero (+ fileReadPage). The pages' content follows.
 */
export function swap_read_folio(k: Kernel, base: number, nr: number, firstSlot: number): void {
  const f = k.frames;
  const zero = k.swap.zeromap.has(firstSlot);
  for (let p = base; p < base + nr; p++) {
    if (zero) f.flags[p] &= ~PG_nonzero;
    else f.flags[p] |= PG_nonzero;
  }
  if (zero && k.variant.swapZeromap) {
    k.counters[KEv.swpinZero]++;
    k.counters[KEv.pageZero] += nr - 1;
    return;
  }
  k.counters[KEv.swapInPage]++;
  k.counters[KEv.swapInTailPage] += nr - 1;
}
