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
import type { Vma } from './vma';

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
  if ((fl & PG_anon) !== 0 && (fl & PG_swapcache) === 0) f.free(pfn);
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
    const slot = mm.pt.pteSlot(vpn);
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
