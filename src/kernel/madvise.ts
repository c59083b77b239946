/**
 * madvise(2) (mm/madvise.c) and the zap path it shares with munmap (mm/memory.c zap_pte_range):
 *  - MADV_DONTNEED: zap PTEs; anon pages go, dirty file PTEs dirty their folio;
 *  - MADV_FREE (madvise_free_pte_range): for exclusively mapped anon pages clear A and D but keep
 *    RW (a writable, clean, old PTE), mark the folio lazyfree; swap entries are dropped; the D
 *    clear needs a flush;
 *  - MADV_COLD: clear A (with a flush) and deactivate;
 *  - MADV_PAGEOUT: clear A and reclaim the pages now (ignoring references).
 */
import {
  pte_dirty, pte_mkold, pte_none, pte_pfn, pte_present, pte_special, pte_swp_offset, pte_swp_uffd_wp, pte_uffd_wp, pte_young,
} from '../x86/pte';
import { KEv } from './events';
import { LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, PG_anon, PG_dirty, PG_file, PG_swapbacked, PG_swapcache, PG_shmem, ZERO_PFN } from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { folio_total_mapcount, page_remove_rmap } from './rmap';
import { is_pte_marker, is_swap_entry, make_pte_marker, pte_marker_uffd_wp, PTE_MARKER_UFFD_WP } from './swap';
import { MmuGather, tlb_finish_mmu, tlb_flush_pte_change } from './tlbflush';
import { shrink_folio, TlbBatch } from './vmscan';
import { userfaultfd_wp, type Vma } from './vma';
import { walk_pte_range } from './pagewalk';
import { hugepage_madvise, madvise_huge_pmds } from './huge_memory';
import { madvise_collapse } from './khugepaged';
import { try_to_free_pte_tables } from './pt_reclaim';
import { madvisePte } from './hooks';

export type Advice = 'dontneed' | 'free' | 'cold' | 'pageout' | 'hugepage' | 'nohugepage' | 'collapse';

/** zap one PTE (zap_pte_range / zap_present_pte); file VMAs armed for uffd-wp keep a marker. */
export function zap_pte(k: Kernel, tlb: MmuGather, vma: Vma, vpn: number, slot: number, keepUffdMarkers = true): void {
  const mem = k.mmu.mem;
  const pte = mem.get(slot);
  if (pte_none(pte)) return;
  k.counters[KEv.zapPte]++;
  // zap_install_uffd_wp_if_needed(): file-backed memory keeps its uffd-wp state across a zap.
  // (pte_install_uffd_wp_if_needed: a uffd-wp present PTE, swap entry or marker re-arms a marker)
  const wp = pte_present(pte) ? pte_uffd_wp(pte) : is_pte_marker(pte) ? pte_marker_uffd_wp(pte) : pte_swp_uffd_wp(pte);
  const keepMarker = keepUffdMarkers && !vma.anon && userfaultfd_wp(vma) && wp;
  mem.set(slot, keepMarker ? make_pte_marker(PTE_MARKER_UFFD_WP) : 0n);
  if (pte_present(pte)) {
    tlb_flush_pte_change(k, tlb, vpn, pte, 0n);
    const pfn = pte_pfn(pte);
    if (pte_special(pte) || pfn === ZERO_PFN) return;
    if (k.frames.flags[pfn] & PG_file && pte_dirty(pte)) k.frames.flags[pfn] |= PG_dirty;
    if (k.frames.flags[pfn] & PG_anon && k.frames.mapcount[pfn] === 1 && k.frames.flags[pfn] & PG_swapcache) {
      // free_swap_cache(): the last mapping of a swap-cache page goes, so does the cache entry
      k.freeSwapCache(pfn, false);
    }
    page_remove_rmap(k, pfn);
  } else if (!is_pte_marker(pte) && is_swap_entry(pte)) {
    k.swap.put(pte_swp_offset(pte));
  }
}

export class MadviseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MadviseError';
  }
}

/**
 * "Do not interfere with other mappings of this folio": a small folio mapped once; a large folio
 * (one the range covers whole, 6.10+) mapped once per page, folio_mapcount() == folio_nr_pages(),
 * so a page another process maps (or still shares after fork) keeps the whole folio as it is.
 */
function mapped_once(k: Kernel, pfn: number): boolean {
  const f = k.frames;
  const base = f.head[pfn];
  if (base === 0) return f.mapcount[pfn] === 1;
  return folio_total_mapcount(k, base) === f.folioNr(base);
}

/** The folio's flags (the model keeps them per frame; the kernel's are the folio's). */
function folio_flags(k: Kernel, base: number): number {
  const f = k.frames;
  let fl = 0;
  for (let p = base, end = base + f.folioNr(base); p < end; p++) fl |= f.flags[p];
  return fl;
}

export function do_madvise(k: Kernel, mm: Mm, cpu: number, start: number, pages: number, advice: Advice): void {
  k.counters[KEv.syscallMadvise]++;
  if (advice === 'hugepage' || advice === 'nohugepage') {
    hugepage_madvise(k, mm, start, start + pages, advice);
    return;
  }
  if (advice === 'collapse') {
    madvise_collapse(k, mm, cpu, start, start + pages);
    return;
  }
  if (advice === 'free') {
    // madvise_free_single_vma(): only anonymous private memory (-EINVAL otherwise)
    const bad = mm.rangesIn(start, start + pages).map((r) => r.vma).find((v) => !v.anon);
    if (bad) throw new MadviseError(`MADV_FREE needs anonymous private memory; region ${bad.region} is ${bad.kind} (the kernel returns EINVAL)`);
  }
  const tlb = new MmuGather(mm);
  const mem = k.mmu.mem;
  const f = k.frames;
  const toReclaim: number[] = [];
  for (const { vma, start: from, end: to } of mm.rangesIn(start, start + pages)) {
    const shared = madvise_huge_pmds(k, tlb, vma, from, to, advice, toReclaim);
    walk_pte_range(mm, from, to, (vpn, slot) => {
      const pte = mem.get(slot);
      if (pte_none(pte)) return;
      k.counters[KEv.madvisePte]++;
      // PTEs of a shared large folio the range covers only in part are left as they are
      if (shared.length && pte_present(pte) && shared.includes(f.head[pte_pfn(pte)])) return;
      if (advice === 'dontneed') {
        // a hook may keep (or rewrite) the PTE instead of zapping it
        const n = madvisePte(k, vma, vpn, 'dontneed', pte, 0n);
        if (n === 0n) zap_pte(k, tlb, vma, vpn, slot);
        else if (n !== pte) {
          k.setPte(mm, vma, vpn, slot, n);
          tlb_flush_pte_change(k, tlb, vpn, pte, n);
        }
        return;
      }
      if (!pte_present(pte)) {
        // MADV_FREE drops swap entries (the data is disposable); markers stay.
        if (advice === 'free' && !is_pte_marker(pte) && is_swap_entry(pte)) {
          mem.set(slot, 0n);
          k.swap.put(pte_swp_offset(pte));
        }
        return;
      }
      const pfn = pte_pfn(pte);
      if (pte_special(pte) || pfn === ZERO_PFN) return;
      const fl = f.flags[pfn];
      if (advice === 'free') {
        if (!(fl & PG_anon)) return;
        // madvise_free_pte_range(): a folio with a swap-cache copy or PG_dirty must be mapped
        // only here (and its swap copy freeable); then the folio is cleaned. A clean folio is
        // handled even if fork shares it.
        // A large folio here is one the range covers whole with one PTE batch (6.10+): its flags
        // and the test are the folio's, folio_mapcount() == folio_nr_pages().
        const base = f.head[pfn];
        if (base === 0 ? fl & (PG_swapcache | PG_dirty) : folio_flags(k, base) & (PG_swapcache | PG_dirty)) {
          if (!mapped_once(k, pfn)) return;
          if (base === 0) {
            if (!k.freeSwapCache(pfn, false)) return; // another swap PTE still uses the slot
            f.flags[pfn] &= ~PG_dirty;
          } else {
            for (let p = base, end = base + f.folioNr(base); p < end; p++) if (!k.freeSwapCache(p, false)) return;
            for (let p = base, end = base + f.folioNr(base); p < end; p++) f.flags[p] &= ~PG_dirty;
          }
        }
        const n = madvisePte(k, vma, vpn, 'free', pte, pte_young(pte) || pte_dirty(pte) ? k.arch.pte_mkclean(pte_mkold(pte)) : pte);
        if (n !== pte) {
          k.setPte(mm, vma, vpn, slot, n);
          // tlb_remove_tlb_entries(): flushed whatever changed (also when only A or the
          // saved-dirty software bit of a read-only PTE was cleared, which pte_needs_flush() would skip)
          tlb.add(vpn, true);
        }
        // folio_mark_lazyfree(): not swap-backed any more, onto the inactive file list
        if (f.flags[pfn] & PG_swapbacked && !(f.flags[pfn] & PG_swapcache)) {
          f.flags[pfn] &= ~PG_swapbacked;
          f.lruAdd(pfn, LRU_INACTIVE_FILE);
        }
        return;
      }
      // MADV_COLD / MADV_PAGEOUT (madvise_cold_or_pageout_pte_range): skip shared folios
      if (!mapped_once(k, pfn)) return;
      if (pte_young(pte) && (advice === 'cold' || k.variant.pageoutYoung === 'v5.19-clear-young')) {
        const n = pte_mkold(pte);
        k.setPte(mm, vma, vpn, slot, n);
        tlb.add(vpn); // tlb_remove_tlb_entry(): the A clear is flushed here
      }
      if (advice === 'cold') f.lruAdd(pfn, fl & (PG_anon | PG_shmem) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE);
      else toReclaim.push(pfn);
    });
    if (advice === 'dontneed') try_to_free_pte_tables(k, mm, from, to);
  }
  tlb_finish_mmu(k, tlb, cpu);
  // reclaim_pages(): shrink the isolated folios, ignoring references
  const batch = new TlbBatch(k, cpu);
  for (const pfn of toReclaim) if (f.flags[pfn]) shrink_folio(k, pfn, cpu, batch);
  batch.flush();
}

/** munmap(2): zap the region, free its PTE tables, remove the VMAs. */
export function do_munmap(k: Kernel, mm: Mm, cpu: number, vmas: Vma[]): void {
  k.counters[KEv.syscallMunmap]++;
  const tlb = new MmuGather(mm);
  for (const vma of vmas) {
    madvise_huge_pmds(k, tlb, vma, vma.start, vma.end, 'unmap');
    walk_pte_range(mm, vma.start, vma.end, (vpn, slot) => {
      zap_pte(k, tlb, vma, vpn, slot, false);
    });
  }
  // free_pgtables() before tlb_finish_mmu(): with tables freed (tlb->freed_tables) the shootdown
  // also reaches lazy-TLB CPUs, and every CPU's paging-structure caches go
  let freed = 0;
  for (const vma of vmas) freed += mm.pt.freeEmptyPteTables(vma.start, vma.end);
  tlb.freedTables = freed > 0;
  tlb_finish_mmu(k, tlb, cpu);
  for (const vma of vmas) mm.removeVma(vma);
  if (freed > 0) k.mmu.flushPagingStructureCaches();
}

