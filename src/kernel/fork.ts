/**
 * fork(2): dup_mmap() -> copy_page_range() -> copy_pte_range() (mm/memory.c), for the child's
 * address space. Only VMAs that need it are copied: vma_needs_copy() (c56d1b62cce8, v5.19, the
 * same test up to 6.18) copies page tables when the child's VMA is uffd-wp registered, the VMA
 * is PFNMAP/MIXEDMAP (not modelled), or the parent's VMA has an anon_vma. Everything else (shared
 * mappings, private file mappings never written, anon VMAs that only mapped the zero page) is
 * faulted in again by the child. The child's VMA gets its own anon_vma when the parent's has one
 * (anon_vma_fork()).
 *  - copy_present_pte(): an anon page becomes shared: PageAnonExclusive is cleared
 *    (folio_try_dup_anon_rmap_pte), and in a CoW mapping both parent and child PTEs are
 *    write-protected; the child's PTE is old (and clean in shared mappings); the child keeps
 *    uffd-wp only if its VMA stays registered (UFFD_FEATURE_EVENT_FORK).
 *  - copy_nonpresent_pte(): swap entries are duplicated and lose their exclusive bit.
 * The parent's write-protections are flushed at the end (flush_tlb_mm in dup_mmap).
 */
import {
  pte_clear_uffd_wp, pte_mkold, pte_none, pte_pfn, pte_present, pte_special, pte_swp_clear_uffd_wp, pte_swp_exclusive,
  pte_swp_offset, pte_write, _PAGE_SWP_EXCLUSIVE,
} from '../x86/pte';
import { KEv } from './events';
import { PG_anon, PG_anon_exclusive, ZERO_PFN } from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { AnonVma, page_dup_rmap } from './rmap';
import { is_pte_marker, is_swap_entry, pte_marker_uffd_wp } from './swap';
import { flush_tlb_mm_range } from './tlbflush';
import { VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, userfaultfd_wp, vma_set_page_prot, type Vma } from './vma';
import { walk_pte_range } from './pagewalk';
import { copy_huge_pmds } from './huge_memory';

/** vma_needs_copy() (mm/memory.c, 5.19-6.18; PFNMAP/MIXEDMAP and hugetlb VMAs are not modelled). */
export function vma_needs_copy(dst: Vma, src: Vma): boolean {
  return userfaultfd_wp(dst) || src.anonVma !== null;
}

export function do_fork(k: Kernel, parent: Mm, child: Mm, cpu: number): void {
  k.counters[KEv.fork]++;
  const mem = k.mmu.mem;
  const f = k.frames;
  let wrprotected = false;
  let lo = Infinity, hi = -Infinity;
  for (const src of parent.vmas) {
    const dst = src.clone(child);
    // Without UFFD_FEATURE_EVENT_FORK the child's VMA is not registered (dup_userfaultfd()).
    if (!src.uffd?.eventFork) {
      const hadWp = userfaultfd_wp(dst);
      dst.flags &= ~(VM_UFFD_WP | VM_UFFD_MISSING | VM_UFFD_MINOR);
      dst.uffd = null;
      // userfaultfd_set_vm_flags() (v6.2, with 51d3d5eb74ff): a shared VMA that loses uffd-wp
      // loses its writenotify for it, so vm_page_prot is computed again
      if (hadWp && dst.shared && k.variant.writenotifyForUffdWp) vma_set_page_prot(dst, k.variant);
    }
    dst.anonVma = src.anonVma ? new AnonVma(true) : null;
    child.insertVma(dst);
    if (!vma_needs_copy(dst, src)) continue;
    const cow = !src.shared; // is_cow_mapping(): private and may write
    const huge = copy_huge_pmds(k, parent, child, src, dst);
    if (huge) {
      wrprotected = true;
      lo = Math.min(lo, huge[0]);
      hi = Math.max(hi, huge[1]);
    }
    walk_pte_range(parent, src.start, src.end, (vpn, sslot) => {
      // copy_pte_range() allocates the child's PTE table before it looks at any entry: the child
      // gets a table (so no THP fault) wherever the parent has one, even if nothing is copied
      if (vpn === src.start || vpn % 512 === 0) child.pt.ensurePteSlot(vpn);
      let pte = mem.get(sslot);
      if (pte_none(pte)) return;
      k.counters[KEv.forkPte]++;
      if (!pte_present(pte)) {
        if (is_pte_marker(pte)) {
          if (userfaultfd_wp(dst) && pte_marker_uffd_wp(pte)) child.pt.set(vpn, pte);
          return;
        }
        if (is_swap_entry(pte)) {
          k.swap.dup(pte_swp_offset(pte));
          if (pte_swp_exclusive(pte)) {
            pte &= ~_PAGE_SWP_EXCLUSIVE;
            mem.set(sslot, pte);
          }
          child.pt.set(vpn, userfaultfd_wp(dst) ? pte : pte_swp_clear_uffd_wp(pte));
        }
        return;
      }
      const pfn = pte_pfn(pte);
      const anonPage = !pte_special(pte) && pfn !== ZERO_PFN && (f.flags[pfn] & PG_anon) !== 0;
      if (anonPage) f.flags[pfn] &= ~PG_anon_exclusive;
      if (cow && pte_write(pte)) {
        const n = k.arch.pte_wrprotect(pte);
        mem.set(sslot, n); // ptep_set_wrprotect() on the parent
        wrprotected = true;
        if (vpn < lo) lo = vpn;
        if (vpn + 1 > hi) hi = vpn + 1;
        pte = n;
      }
      let c = pte;
      if (src.shared) c = k.arch.pte_mkclean(c);
      c = pte_mkold(c);
      if (!userfaultfd_wp(dst)) c = pte_clear_uffd_wp(c);
      page_dup_rmap(k, pfn);
      const dslot = child.pt.ensurePteSlot(vpn);
      k.setPte(child, dst, vpn, dslot, c);
    });
  }
  if (wrprotected) flush_tlb_mm_range(k, parent, lo, hi, cpu);
}
