/**
 * Writeback of dirty page-cache folios (mm/page-writeback.c): folio_clear_dirty_for_io() calls
 * folio_mkclean() -> page_vma_mkclean_one() (mm/rmap.c), which write-protects and cleans every
 * PTE mapping the folio and flushes, so the next write faults and the filesystem sees it again
 * (->page_mkwrite). Then the folio is written and becomes clean.
 */
import { pte_dirty, pte_write } from '../x86/pte';
import { KEv } from './events';
import { PG_dirty, PG_mkwrite_notified } from './frames';
import type { FileObj } from './filemap';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { rmap_walk } from './rmap';
import { MmuGather, tlb_finish_mmu, tlb_flush_pte_change } from './tlbflush';

/** folio_mkclean(): returns the number of PTEs cleaned. */
export function folio_mkclean(k: Kernel, pfn: number, cpu: number): number {
  const mem = k.mmu.mem;
  const gathers = new Map<Mm, MmuGather>();
  let cleaned = 0;
  rmap_walk(k, pfn, (mm, vma, vpn, slot) => {
    if (!vma.shared) return; // only shared mappings can write to the page-cache page
    const pte = mem.get(slot);
    if (!pte_dirty(pte) && !pte_write(pte)) return;
    const n = k.arch.pte_mkclean(k.arch.pte_wrprotect(pte));
    k.setPte(mm, vma, vpn, slot, n);
    let tlb = gathers.get(mm);
    if (!tlb) gathers.set(mm, (tlb = new MmuGather(mm)));
    tlb_flush_pte_change(k, tlb, vpn, pte, n);
    if (pte_dirty(pte)) k.frames.flags[pfn] |= PG_dirty;
    cleaned++;
  });
  for (const tlb of gathers.values()) tlb_finish_mmu(k, tlb, cpu);
  return cleaned;
}

/** Write back every dirty folio of `files` (sync / the flusher). Returns pages written. */
export function writeback_files(k: Kernel, files: Iterable<FileObj>, cpu: number): number {
  const f = k.frames;
  let written = 0;
  for (const file of files) {
    if (file.fs === 'shmem') continue; // tmpfs does no writeback
    for (const [index, pfn] of file.cache) {
      // A dirty PTE of a shared mapping is folded into the folio by folio_mkclean().
      folio_mkclean(k, pfn, cpu);
      if (!(f.flags[pfn] & PG_dirty)) continue;
      f.flags[pfn] &= ~(PG_dirty | PG_mkwrite_notified);
      file.blocks.add(index);
      k.counters[KEv.writebackPage]++;
      k.writebackThisStep++;
      written++;
    }
  }
  return written;
}
