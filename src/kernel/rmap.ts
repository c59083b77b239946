/**
 * Reverse mapping (mm/rmap.c): which PTEs map a page. Anon pages sit at the same virtual page
 * in every mm of their fork family (anon_vma, coarsened); page-cache pages are found through the
 * VMAs mapping their file (i_mmap).
 */
import { pte_pfn, pte_present } from '../x86/pte';
import {
  LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, PG_anon, PG_anon_exclusive, PG_file, PG_swapbacked, PG_swapcache, PG_shmem, ZERO_PFN,
} from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { VM_ACCESS_FLAGS, VM_SOFTDIRTY, type Vma } from './vma';

/**
 * struct anon_vma, reduced to what the model needs: its identity (VMAs sharing one may merge, and
 * anon_vma_prepare() may reuse a neighbour's) and whether anon_vma_fork() made it: a forked VMA's
 * anon_vma_chain also links the parent's anon_vma, so it is not "singular" and is neither reused
 * by a neighbour nor merged with a VMA that has none (reuse_anon_vma(), is_mergeable_anon_vma()).
 * The PTE-level rmap stays coarsened to the fork family (AnonFamily).
 */
export class AnonVma {
  constructor(readonly forked: boolean) {}
}

/**
 * anon_vma_compatible() (mm/mmap.c, 5.19; mm/vma.c from 6.12): `a` ends where `b` starts, same
 * file, flags equal but for the access bits and VM_SOFTDIRTY, contiguous pgoff.
 */
function anon_vma_compatible(a: Vma, b: Vma): boolean {
  return a.end === b.start && a.file === b.file && ((a.flags ^ b.flags) & ~(VM_ACCESS_FLAGS | VM_SOFTDIRTY)) === 0 && b.pgoff === a.pgoff + a.pages;
}

/**
 * anon_vma_prepare() (mm/rmap.c, unchanged in this respect 5.19-6.18): called before the first anon
 * page goes into a VMA (do_anonymous_page's allocating path, wp_page_copy, do_cow_fault, and
 * mfill_atomic for every private VMA, UFFDIO_ZEROPAGE included). find_mergeable_anon_vma() first
 * tries the next, then the previous VMA's anon_vma; otherwise a new one.
 */
export function anon_vma_prepare(vma: Vma): void {
  if (vma.anonVma) return;
  const vmas = vma.mm.vmas;
  const i = vmas.indexOf(vma);
  const next = vmas[i + 1], prev = vmas[i - 1];
  if (next && next.anonVma && !next.anonVma.forked && anon_vma_compatible(vma, next)) vma.anonVma = next.anonVma;
  else if (prev && prev.anonVma && !prev.anonVma.forked && anon_vma_compatible(prev, vma)) vma.anonVma = prev.anonVma;
  else vma.anonVma = new AnonVma(false);
}

/** is_mergeable_anon_vma(): the same anon_vma, or one side has none and the other is not forked. */
export function is_mergeable_anon_vma(a: AnonVma | null, b: AnonVma | null): boolean {
  if (a === b) return true;
  const other = a ?? b;
  return (a === null || b === null) && !other!.forked;
}
import { split_huge_page } from './huge_memory';

/** folio_add_new_anon_rmap(): a freshly allocated anon page, exclusive to `mm`. */
export function page_add_new_anon_rmap(k: Kernel, pfn: number, mm: Mm, vpn: number): void {
  const f = k.frames;
  f.flags[pfn] |= PG_anon | PG_swapbacked | PG_anon_exclusive;
  f.owner[pfn] = mm.family.id;
  f.index[pfn] = vpn;
  f.mapcount[pfn] = 1;
  f.lruAdd(pfn, LRU_INACTIVE_ANON);
}

/** Another PTE maps the page (fork, swap-in of a shared slot, file mapping). */
export function page_dup_rmap(k: Kernel, pfn: number): void {
  if (pfn !== ZERO_PFN) k.frames.mapcount[pfn]++;
}

/**
 * A PTE stopped mapping the page. Anon pages with no mapping left and no swap-cache reference are
 * freed (as the last put_page would); page-cache pages stay cached.
 */
export function page_remove_rmap(k: Kernel, pfn: number): void {
  if (pfn === ZERO_PFN) return;
  const f = k.frames;
  if (--f.mapcount[pfn] > 0) return;
  f.mapcount[pfn] = 0;
  const fl = f.flags[pfn];
  if ((fl & PG_anon) === 0 || (fl & PG_swapcache) !== 0) return;
  const base = f.head[pfn];
  if (base === 0) {
    f.free(pfn);
    return;
  }
  // a page of a THP: the folio is freed when none of its pages is mapped any more (until then it
  // sits, partly mapped, on the deferred split queue)
  for (let p = base, end = base + f.folioNr(base); p < end; p++) if (f.mapcount[p] > 0 || f.flags[p] & PG_swapcache) return;
  f.freeHuge(base);
}

/**
 * Does a process other than `mm` map any page of the large anon folio `base` (by PTE or PMD)?
 * What the per-folio MM owner tracking of 6.15+ answers (folio_maybe_mapped_shared(), the
 * FOLIO_MM_IDS_SHARED bit): exact while at most two processes map the folio; the kernel tracks two
 * owners and may keep the bit set with three or more, which the model does not reproduce.
 */
export function folio_mapped_by_others(k: Kernel, mm: Mm, base: number): boolean {
  const f = k.frames;
  const first = f.index[base], nr = f.folioNr(base);
  let total = 0, mine = 0;
  for (let i = 0; i < nr; i++) {
    total += f.mapcount[base + i];
    const slot = mm.pt.pteSlot(first + i);
    if (slot === -2) {
      // a PMD leaf of `mm` (present or PROT_NONE) maps the folio: only a PMD-sized one, whole
      if (pte_pfn(k.mmu.mem.get(mm.pt.pmdSlot(first + i, false))) === base) mine++;
      continue;
    }
    if (slot < 0) continue;
    const pte = k.mmu.mem.get(slot);
    if (pte_present(pte) && pte_pfn(pte) === base + i) mine++;
  }
  return total > mine;
}

/** Mappings of every page of the large folio `base` (a PMD counts once per page). */
export function folio_total_mapcount(k: Kernel, base: number): number {
  const f = k.frames;
  let n = 0;
  for (let p = base, end = base + f.folioNr(base); p < end; p++) n += f.mapcount[p];
  return n;
}

/** A new page-cache page for `index` of a file. */
export function page_cache_add(k: Kernel, pfn: number, fileId: number, index: number, flags: number): void {
  const f = k.frames;
  f.flags[pfn] |= PG_file | flags;
  f.owner[pfn] = fileId;
  f.index[pfn] = index;
  f.lruAdd(pfn, flags & PG_shmem ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE);
}

/** rmap_walk(): call `fn` for every PTE mapping `pfn`. */
export function rmap_walk(k: Kernel, pfn: number, fn: (mm: Mm, vma: Vma, vpn: number, slot: number) => void): void {
  const f = k.frames;
  const fl = f.flags[pfn];
  const mem = k.mmu.mem;
  const visit = (mm: Mm, vma: Vma, vpn: number) => {
    let slot = mm.pt.pteSlot(vpn);
    if (slot === -2) {
      // a PMD maps the page: the callers here work on PTEs, so the THP is split first
      // (reclaim ages and unmaps large folios itself, vmscan.ts; a reclaimFolio hook's dirty
      // test still comes here)
      split_huge_page(k, pfn);
      slot = mm.pt.pteSlot(vpn);
    }
    if (slot < 0) return;
    const pte = mem.get(slot);
    if (pte_present(pte) && pte_pfn(pte) === pfn) fn(mm, vma, vpn, slot);
  };
  if (fl & PG_anon) {
    const fam = k.families.get(f.owner[pfn]);
    if (!fam) return;
    const vpn = f.index[pfn];
    for (const mm of fam.mms) {
      const vma = mm.findVma(vpn);
      if (vma) visit(mm, vma, vpn);
    }
  } else if (fl & PG_file) {
    const file = k.files.get(f.owner[pfn]);
    if (!file) return;
    const index = f.index[pfn];
    for (const vma of [...file.vmas]) {
      const vpn = vma.start + (index - vma.pgoff);
      if (vpn >= vma.start && vpn < vma.end) visit(vma.mm, vma, vpn);
    }
  }
}
