/**
 * MADV_COLLAPSE (mm/khugepaged.c madvise_collapse -> hpage_collapse_scan_pmd -> collapse_huge_page,
 * 6.1+): synchronous collapse of PTE-mapped anonymous memory into PMD-mapped THPs. khugepaged's
 * background scan uses the same collapse; it is not modelled (it runs on its own schedule).
 *
 * Rules (read in mm/khugepaged.c of 6.1-6.18, anonymous memory):
 *  - only the 2 MiB ranges the call covers whole are collapsed (hstart rounded up, hend down);
 *    the sysfs `enabled` setting and VM_HUGEPAGE do not matter, VM_NOHUGEPAGE makes it fail;
 *  - a range already mapped by a PMD counts as done;
 *  - the scan fails on a uffd-wp PTE or marker (SCAN_PTE_UFFD_WP), on a none or zero-page PTE
 *    when userfaultfd is armed on the VMA, and when no PTE is writable (SCAN_PAGE_RO); unlike
 *    khugepaged, MADV_COLLAPSE ignores max_ptes_none / max_ptes_shared / max_ptes_swap;
 *  - the collapse copies every page into a new THP (none and zero-page PTEs give zero pages),
 *    clears the PMD and flushes the range (pmdp_collapse_flush: flush_tlb_range at 4 KiB stride,
 *    so a full flush), frees the PTE table and maps the THP young (vm_page_prot), dirty and,
 *    with VM_WRITE, writable, its pages AnonExclusive: the old PTEs' A and D bits are not
 *    looked at, the new PMD has both.
 * Model limit: swapped-out pages in the range make the collapse fail here (the kernel swaps them
 * in first).
 */
import { _PAGE_PSE, pfn_pte, pte_none, pte_pfn, pte_present, pte_special, pte_uffd_wp, pte_write } from '../x86/pte';
import { PTRS_PER_TABLE } from '../x86/pagetable';
import { KEv } from './events';
import { HPAGE_NR, PG_anon, PG_nonzero, ZERO_PFN } from './frames';
import { pmd_leaf_slot } from './huge_memory';
import type { Kernel } from './kernel';
import { MadviseError } from './madvise';
import type { Mm } from './mm';
import { anon_vma_prepare, page_add_new_anon_rmap, page_remove_rmap } from './rmap';
import { is_pte_marker, pte_marker_uffd_wp } from './swap';
import { flush_tlb_mm_range } from './tlbflush';
import { userfaultfd_wp, VM_NOHUGEPAGE, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE, type Vma } from './vma';

/** Why hpage_collapse_scan_pmd() refuses a range, or null when it can be collapsed. */
function scan_pmd(k: Kernel, mm: Mm, vma: Vma, haddr: number): string | null {
  const mem = k.mmu.mem;
  const armed = (vma.flags & (VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)) !== 0; // userfaultfd_armed()
  let writable = false;
  for (let i = 0; i < HPAGE_NR; i++) {
    const slot = mm.pt.pteSlot(haddr + i);
    const pte = slot >= 0 ? mem.get(slot) : 0n;
    if (pte_none(pte) || (pte_present(pte) && (pte_special(pte) || pte_pfn(pte) === ZERO_PFN))) {
      if (armed) return 'SCAN_EXCEED_NONE_PTE: a none or zero-page PTE while userfaultfd is armed';
      continue;
    }
    if (!pte_present(pte)) {
      if (is_pte_marker(pte) && pte_marker_uffd_wp(pte)) return 'SCAN_PTE_UFFD_WP: a uffd-wp marker';
      return 'a swapped-out page (the model does not swap in for a collapse)';
    }
    if (userfaultfd_wp(vma) && pte_uffd_wp(pte)) return 'SCAN_PTE_UFFD_WP: a uffd-wp protected PTE';
    if (!(k.frames.flags[pte_pfn(pte)] & PG_anon)) return 'SCAN_PAGE_ANON: a page that is not anonymous';
    if (pte_write(pte)) writable = true;
  }
  return writable ? null : 'SCAN_PAGE_RO: no writable PTE in the range';
}

/** collapse_huge_page() of the 2 MiB range at `haddr`. */
function collapse_huge_page(k: Kernel, mm: Mm, vma: Vma, haddr: number, cpu: number): void {
  const mem = k.mmu.mem;
  const f = k.frames;
  const pmdSlot = mm.pt.pmdSlot(haddr, true);
  anon_vma_prepare(vma);
  const base = f.allocHuge();
  k.counters[KEv.thpAlloc]++;
  k.counters[KEv.collapseHugePage]++;
  const tableEntry = mem.get(pmdSlot);
  const hasTable = tableEntry !== 0n;
  const table = hasTable ? Number((tableEntry >> 12n) & 0xffffffffn) : 0;
  for (let i = 0; i < HPAGE_NR; i++) {
    const p = base + i;
    let nonzero = false;
    if (hasTable) {
      const slot = table * PTRS_PER_TABLE + i;
      const pte = mem.get(slot);
      if (pte_present(pte) && !pte_special(pte) && pte_pfn(pte) !== ZERO_PFN) {
        const old = pte_pfn(pte);
        nonzero = (f.flags[old] & PG_nonzero) !== 0;
        mem.set(slot, 0n);
        page_remove_rmap(k, old);
      } else mem.set(slot, 0n);
    }
    page_add_new_anon_rmap(k, p, mm, haddr + i);
    if (nonzero) f.flags[p] |= PG_nonzero;
  }
  // __collapse_huge_page_copy(): copies (none and zero-page PTEs become zeroed pages)
  k.counters[KEv.thpCopy]++;
  // pmdp_collapse_flush(): the PMD is cleared and the range flushed at 4 KiB stride (a full flush)
  mem.set(pmdSlot, 0n);
  flush_tlb_mm_range(k, mm, haddr, haddr + HPAGE_NR, cpu);
  if (hasTable) {
    mem.free(table);
    k.mmu.flushPagingStructureCaches();
  }
  let entry = k.arch.pte_mkdirty(pfn_pte(base, vma.pageProt) | _PAGE_PSE);
  if (vma.flags & VM_WRITE) entry = k.arch.pte_mkwrite(entry);
  k.setPte(mm, vma, haddr, pmdSlot, entry);
}

/** madvise(MADV_COLLAPSE) over [start, end) of `mm`. Throws MadviseError when the kernel fails the call. */
export function madvise_collapse(k: Kernel, mm: Mm, cpu: number, start: number, end: number): void {
  if (!k.variant.madvCollapse) throw new MadviseError(`MADV_COLLAPSE needs Linux 6.1+; variant ${k.variant.name} does not have it (the kernel returns EINVAL)`);
  const failures: string[] = [];
  for (const { vma, start: from, end: to } of mm.rangesIn(start, end)) {
    if (!vma.anon) throw new MadviseError(`MADV_COLLAPSE of region ${vma.region} (${vma.kind}): the model collapses anonymous memory only`);
    if (vma.flags & VM_NOHUGEPAGE) throw new MadviseError(`MADV_COLLAPSE of region ${vma.region}: the VMA has MADV_NOHUGEPAGE (the kernel returns EINVAL)`);
    const hstart = Math.ceil(from / HPAGE_NR) * HPAGE_NR;
    const hend = Math.floor(to / HPAGE_NR) * HPAGE_NR;
    for (let haddr = hstart; haddr < hend; haddr += HPAGE_NR) {
      if (pmd_leaf_slot(k, mm, haddr) >= 0) continue; // SCAN_PMD_MAPPED (also the huge zero page)
      const why = scan_pmd(k, mm, vma, haddr);
      if (why) failures.push(`the 2 MiB range at page ${haddr - vma.start} of the VMA: ${why}`);
      else collapse_huge_page(k, mm, vma, haddr, cpu);
    }
  }
  if (failures.length) throw new MadviseError(`MADV_COLLAPSE failed (the kernel returns EAGAIN or EINVAL): ${failures.join('; ')}`);
}
