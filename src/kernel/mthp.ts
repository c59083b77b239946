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
import { pfn_pte, pte_none } from '../x86/pte';
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

/**
 * alloc_anon_folio() + the large-folio mapping of do_anonymous_page() for a write fault at `vpn`
 * (its PTE slot `slot`). Returns false when the fault gets an order-0 page instead.
 */
export function do_anonymous_mthp(k: Kernel, mm: Mm, vma: Vma, vpn: number, slot: number): boolean {
  if (!k.variant.anonMthp || vma.flags & (VM_NOHUGEPAGE | VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)) return false;
  const mem = k.mmu.mem;
  const f = k.frames;
  for (const order of enabled_orders(k, vma)) {
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
