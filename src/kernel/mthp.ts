/**
 * Multi-size anonymous THP (mTHP, 6.8+): an anonymous write fault may allocate a large folio of
 * an enabled order below the PMD order and map it with one PTE per page (mm/memory.c
 * alloc_anon_folio, do_anonymous_page). Settings: /sys/kernel/mm/transparent_hugepage/
 * hugepages-<size>kB/enabled = always | madvise | inherit | never (a stock kernel: never for every
 * size below 2 MiB); `inherit` follows the top-level `enabled`.
 *
 * Rules (mm/memory.c 6.8-6.18, read in the source):
 *  - only the allocating path of do_anonymous_page (a write fault; a read still maps the 4 KiB zero
 *    page), never when userfaultfd is armed on the VMA (alloc_anon_folio: "uffd ... may want to
 *    install one PTE at a time"), never with VM_NOHUGEPAGE;
 *  - the highest enabled order whose naturally aligned range lies inside the VMA
 *    (thp_vma_suitable_orders) and whose PTEs are all none (pte_range_none) wins, else order 0;
 *  - every PTE of the folio is made at once (set_ptes): young (vm_page_prot), dirty, writable with
 *    VM_WRITE; the pages are AnonExclusive; each PTE then has its own A and D (the walker sets
 *    them per 4 KiB translation).
 * A PTE-mapped large folio shares the PMD THP's folio machinery (frames.ts): partial MADV_FREE /
 * COLD / PAGEOUT split it (huge_memory.ts), a partial unmap leaves it allocated until every page
 * is unmapped (deferred split).
 */
import { pfn_pte, pte_none, pte_swp_offset, swp_entry_to_pte } from '../x86/pte';
import { KEv } from './events';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { page_add_new_anon_rmap } from './rmap';
import { VM_HUGEPAGE, VM_NOHUGEPAGE, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE, type Vma } from './vma';

export type MthpMode = 'always' | 'madvise' | 'inherit' | 'never';
/** the mTHP sizes of x86-64 anonymous memory (orders 2-8; order 1 is not allowed for anon) */
export const MTHP_SIZES = ['16kB', '32kB', '64kB', '128kB', '256kB', '512kB', '1024kB'] as const;
export type MthpSize = (typeof MTHP_SIZES)[number];
export const mthpOrder = (size: MthpSize): number => Math.log2(parseInt(size, 10) / 4);

/** The orders below PMD_ORDER enabled for a fault in `vma`, highest first. */
function enabled_orders(k: Kernel, vma: Vma): number[] {
  const out: number[] = [];
  for (let i = MTHP_SIZES.length - 1; i >= 0; i--) {
    let mode = k.thp.mthp[MTHP_SIZES[i]] ?? 'never';
    if (mode === 'inherit') mode = k.thp.enabled;
    if (mode === 'always' || (mode === 'madvise' && vma.flags & VM_HUGEPAGE)) out.push(mthpOrder(MTHP_SIZES[i]));
  }
  return out;
}

/** The mTHP orders a fault in `vma` may allocate, highest first: none without mTHP (<= 6.7), with
 *  VM_NOHUGEPAGE, or with userfaultfd armed (alloc_anon_folio(), alloc_swap_folio()). */
function fault_orders(k: Kernel, vma: Vma): number[] {
  if (!k.variant.anonMthp || vma.flags & (VM_NOHUGEPAGE | VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)) return [];
  return enabled_orders(k, vma);
}

/**
 * alloc_swap_folio() (mm/memory.c, 6.13+, variant field swapinLargeFolios; read in 6.18.2): the
 * order of the folio do_swap_page() reads for a fault at `vpn` on the swap PTE `pte` (in slot
 * `slot`) when it skips the swap cache (a SWP_SYNCHRONOUS_IO device, the entry's swap count 1).
 * The highest enabled mTHP order below the PMD order (thp_vma_allowable_orders with
 * TVA_PAGEFAULT: a PMD-sized THP always comes back as smaller folios or pages) such that:
 *  - its naturally aligned range lies in the VMA (thp_vma_suitable_orders);
 *  - the faulting swap offset and page have the same remainder modulo the folio size
 *    (thp_swap_suitable_orders: the run was aligned when it was swapped out whole);
 *  - every PTE of the range is a swap entry, the same but for consecutive offsets (swap_pte_batch:
 *    the same exclusive, soft-dirty and uffd-wp bits);
 *  - none of the slots is in the swap cache (non_swapcache_batch), and all or none are in the
 *    zeromap (swap_zeromap_batch).
 * 0 otherwise. zswap is assumed never enabled (zswap_never_enabled(); with zswap ever on, every
 * swap-in is order 0). Only the faulting entry's swap count is tested; the others may be shared.
 */
export function alloc_swap_folio_order(k: Kernel, vma: Vma, vpn: number, slot: number, pte: bigint): number {
  if (!k.variant.swapinLargeFolios) return 0;
  const mem = k.mmu.mem;
  const sw = k.swap;
  const offset = pte_swp_offset(pte);
  for (const order of fault_orders(k, vma)) {
    const n = 1 << order;
    const start = vpn - (vpn % n);
    if (start < vma.start || start + n > vma.end) continue;
    if (offset % n !== vpn % n) continue;
    const first = slot - (vpn - start), firstOffset = offset - (vpn - start);
    const zero = sw.zeromap.has(firstOffset);
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      const expected = pte ^ swp_entry_to_pte(0, offset) ^ swp_entry_to_pte(0, firstOffset + i);
      ok = mem.get(first + i) === expected && !sw.cache.has(firstOffset + i) && sw.zeromap.has(firstOffset + i) === zero;
    }
    if (ok) return order;
  }
  return 0;
}

/**
 * alloc_anon_folio() + the large-folio mapping of do_anonymous_page() for a write fault at `vpn`
 * (its PTE slot `slot`). Returns false when the fault gets an order-0 page instead.
 */
export function do_anonymous_mthp(k: Kernel, mm: Mm, vma: Vma, vpn: number, slot: number): boolean {
  const mem = k.mmu.mem;
  const f = k.frames;
  for (const order of fault_orders(k, vma)) {
    const n = 1 << order;
    const start = vpn - (vpn % n);
    if (start < vma.start || start + n > vma.end) continue;
    const first = slot - (vpn - start); // n <= 256 and aligned: the range is in this PTE table
    let none = true;
    for (let i = 0; i < n && none; i++) if (!pte_none(mem.get(first + i))) none = false;
    if (!none) continue;
    const base = f.allocFolio(order);
    k.counters[KEv.pageAlloc]++;
    k.counters[KEv.pageZero] += n;
    for (let i = 0; i < n; i++) {
      const p = base + i;
      page_add_new_anon_rmap(k, p, mm, start + i);
      let e = k.arch.pte_mkdirty(pfn_pte(p, vma.pageProt));
      if (vma.flags & VM_WRITE) e = k.arch.pte_mkwrite(e);
      k.setPte(mm, vma, start + i, first + i, e);
    }
    return true;
  }
  return false;
}
