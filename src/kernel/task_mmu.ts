/**
 * /proc/pid interfaces (fs/proc/task_mmu.c): clear_refs (soft-dirty = 4, young = 1), pagemap's
 * per-page view, and the PAGEMAP_SCAN ioctl (v6.7) with uffd WP_ASYNC "written" tracking.
 */
import {
  pte_clear_soft_dirty, pte_dirty, pte_mkold, pte_none, pte_pfn, pte_present, pte_soft_dirty, pte_special,
  pte_swp_clear_soft_dirty, pte_swp_exclusive, pte_swp_soft_dirty, pte_swp_uffd_wp, pte_uffd_wp, pte_write, pte_young,
} from '../x86/pte';
import { KEv } from './events';
import { PG_anon, PG_anon_exclusive, PG_dirty, PG_referenced, PG_zero, ZERO_PFN } from './frames';
import { clear_refs_huge, for_each_pmd_leaf, split_huge_pmd_address } from './huge_memory';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { is_pte_marker, is_swap_entry, is_migration_entry, pte_marker_uffd_wp } from './swap';
import { flush_tlb_mm_range, MmuGather, tlb_finish_mmu, tlb_flush_pte_change } from './tlbflush';
import { VM_SOFTDIRTY, VM_UFFD_WP, vma_set_page_prot } from './vma';
import { walk_pte_range } from './pagewalk';

/** clear_refs_write(): 'soft-dirty' (4) write-protects and cleans soft-dirty; 'young' (1) clears A. */
export function clear_refs(k: Kernel, mm: Mm, cpu: number, mode: 'soft-dirty' | 'young'): void {
  k.counters[KEv.clearRefs]++;
  const mem = k.mmu.mem;
  const tlb = new MmuGather(mm);
  for (const vma of mm.vmas) {
    if (mode === 'soft-dirty') {
      // tracking starts: VM_SOFTDIRTY goes, and writenotify may now apply (vma_set_page_prot)
      vma.flags &= ~VM_SOFTDIRTY;
      vma_set_page_prot(vma, k.variant);
    }
    clear_refs_huge(k, tlb, vma, mode);
    walk_pte_range(mm, vma.start, vma.end, (vpn, slot) => {
      const pte = mem.get(slot);
      if (pte_none(pte)) return;
      k.counters[KEv.scanPte]++;
      if (mode === 'soft-dirty') {
        if (pte_present(pte)) {
          // clear_soft_dirty(): every present PTE is write-protected so the next write faults
          const n = pte_clear_soft_dirty(k.arch.pte_wrprotect(pte));
          if (n !== pte) {
            k.setPte(mm, vma, vpn, slot, n);
            tlb_flush_pte_change(k, tlb, vpn, pte, n);
          }
        } else if (!is_pte_marker(pte)) mem.set(slot, pte_swp_clear_soft_dirty(pte));
      } else if (pte_present(pte)) {
        if (pte_young(pte)) mem.set(slot, pte_mkold(pte)); // ptep_test_and_clear_young: no flush on x86
        const pfn = pte_pfn(pte);
        if (pfn !== ZERO_PFN && !pte_special(pte)) k.frames.flags[pfn] &= ~PG_referenced;
      }
    });
  }
  if (mode === 'soft-dirty' && tlb.needFlush) flush_tlb_mm_range(k, mm, 0, Infinity, cpu); // flush_tlb_mm()
}

/** The kernel's meaning of a page's PTE bits (DESIGN.md inspect row). */
export interface PageFlags {
  /** false for none, swap and marker entries */
  present: boolean;
  /** pte_write() */
  write: boolean;
  /** pte_young(): PTE.A */
  young: boolean;
  /** pte_dirty(): PTE.D, or saved-dirty on shadow-stack kernels */
  dirty: boolean;
  /** the PTE's, swap entry's or marker's uffd-wp bit */
  uffdWp: boolean;
  /** pagemap semantics */
  softDirty: boolean;
  /** PageAnonExclusive (or the swap entry's exclusive bit) */
  exclusive: boolean;
  /** the zero page or another special mapping */
  special: boolean;
}

/** What the kernel knows of a page beyond its PTE bits. */
export interface PageDetail {
  entry: 'none' | 'present' | 'swap' | 'marker' | 'migration';
  /** folio PG_dirty */
  folioDirty: boolean;
  /** pagemap bit 56: the page is mapped exactly once (page_mapcount == 1) */
  mappedExclusively: boolean;
  /** a PMD leaf maps the page (a THP or the huge zero page): PAGEMAP_SCAN's PAGE_IS_HUGE */
  huge: boolean;
  /** the page belongs to a large folio, PMD- or PTE-mapped (THP, mTHP; kpageflags THP) */
  thp: boolean;
}

/** One page as the kernel reports it. */
export interface PageState extends PageFlags, PageDetail {
  pfn: number;
}

export function page_state(k: Kernel, mm: Mm, vpn: number): PageState {
  const vma = mm.findVma(vpn);
  const slot = mm.pt.pteSlot(vpn);
  const pteOrNone = slot >= 0 ? k.mmu.mem.get(slot) : 0n;
  // pagemap reports soft-dirty for every page of a VMA that still has VM_SOFTDIRTY
  const vmaSoftDirty = vma !== null && (vma.flags & VM_SOFTDIRTY) !== 0;
  const s: PageState = {
    present: false, write: false, young: false, dirty: false, uffdWp: false, softDirty: vmaSoftDirty, exclusive: false,
    special: false, entry: 'none', folioDirty: false, mappedExclusively: false, huge: false, thp: false, pfn: 0,
  };
  // a PMD leaf (pteSlot -2): the page's state is the PMD's, its frame the THP's vpn-th page
  const pmdSlot = slot === -2 ? mm.pt.pmdSlot(vpn) : -1;
  const pte = pmdSlot >= 0 ? k.mmu.mem.get(pmdSlot) : pteOrNone;
  if (pte_none(pte)) return s;
  if (pte_present(pte)) {
    const pfn = pte_pfn(pte) + (pmdSlot >= 0 ? vpn % 512 : 0);
    s.huge = pmdSlot >= 0;
    s.thp = k.frames.head[pfn] !== 0;
    const fl = k.frames.flags[pfn];
    s.entry = 'present';
    s.present = true;
    s.pfn = pfn;
    s.write = pte_write(pte);
    s.young = pte_young(pte);
    s.dirty = pte_dirty(pte);
    s.uffdWp = pte_uffd_wp(pte);
    s.softDirty ||= pte_soft_dirty(pte);
    s.special = pte_special(pte) || pfn === ZERO_PFN || (k.frames.flags[pfn] & PG_zero) !== 0;
    s.exclusive = !s.special && (fl & PG_anon) !== 0 && (fl & PG_anon_exclusive) !== 0;
    s.folioDirty = !s.special && (fl & PG_dirty) !== 0;
    s.mappedExclusively = !s.special && k.frames.mapcount[pfn] === 1;
    return s;
  }
  if (is_pte_marker(pte)) {
    s.entry = 'marker';
    s.uffdWp = pte_marker_uffd_wp(pte);
    return s;
  }
  s.entry = is_migration_entry(pte) ? 'migration' : is_swap_entry(pte) ? 'swap' : 'swap';
  s.uffdWp = pte_swp_uffd_wp(pte);
  s.softDirty ||= pte_swp_soft_dirty(pte);
  s.exclusive = pte_swp_exclusive(pte);
  return s;
}

/**
 * PAGEMAP_SCAN with PAGE_IS_WRITTEN (v6.7): pages of a uffd-wp (WP_ASYNC) range that are
 * present and no longer uffd-wp protected were written. With `clear` (PM_SCAN_WP_MATCHING) they
 * are write-protected again. Returns page indexes relative to `start`.
 */
export function pagemap_scan(k: Kernel, mm: Mm, cpu: number, start: number, pages: number, clear: boolean): number[] {
  if (!k.variant.uffdWpAsync) throw new Error(`PAGEMAP_SCAN needs Linux 6.7+; variant ${k.variant.name} does not have it`);
  k.counters[KEv.pagemapScan]++;
  const out: number[] = [];
  const mem = k.mmu.mem;
  const tlb = new MmuGather(mm);
  for (const { vma, start: from, end: to } of mm.rangesIn(start, start + pages)) {
    if (!(vma.flags & VM_UFFD_WP)) continue;
    // PMD leaves are split first (model simplification, see huge_memory.ts)
    for_each_pmd_leaf(k, mm, from, to, (haddr) => split_huge_pmd_address(k, mm, haddr, cpu));
    for (let vpn = from; vpn < to; vpn++) {
      const slot = mm.pt.pteSlot(vpn);
      if (slot < 0) continue;
      const pte = mem.get(slot);
      k.counters[KEv.scanPte]++;
      if (!pte_present(pte) || pte_uffd_wp(pte)) continue;
      out.push(vpn - start);
      if (clear) {
        const n = k.arch.pte_mkuffd_wp(pte);
        k.setPte(mm, vma, vpn, slot, n);
        tlb_flush_pte_change(k, tlb, vpn, pte, n);
      }
    }
  }
  tlb_finish_mmu(k, tlb, cpu);
  return out;
}
