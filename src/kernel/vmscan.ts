/**
 * Page reclaim (mm/vmscan.c), the classic two-list LRU (not MGLRU):
 *  - aging (shrink_active_list): folio_referenced() clears A in every PTE mapping the folio and
 *    moves it to the inactive list. On x86 ptep_clear_flush_young() does NOT flush the TLB, so a
 *    CPU that still caches the translation keeps accessing without setting A again;
 *  - shrink_inactive_list: from the oldest end, referenced folios are activated, the others are
 *    unmapped (try_to_unmap: a dirty PTE dirties the folio; anon PTEs become swap entries that
 *    keep the exclusive, soft-dirty and uffd-wp bits; file PTEs of uffd-wp VMAs keep a marker),
 *    the unmap is flushed, and then: clean page-cache folios (shmem included: a read-faulted hole)
 *    and clean swap-cache folios are dropped, lazyfree (MADV_FREE) anon folios are discarded
 *    unless re-dirtied, dirty file folios are written back, dirty anon and shmem folios are
 *    written to swap (the same in 5.19-6.18; swap_writeout() writes no all-zero folio from 6.12,
 *    page_io.ts). A large anon folio is aged and activated as one
 *    (folio_referenced over its PMD or PTEs) and a swap-backed one goes out whole
 *    (shrink_large_anon), or is split first where the version does (swap_out_whole).
 */
import {
  pte_dirty, pte_mkold, pte_pfn, pte_present, pte_soft_dirty, pte_uffd_wp, pte_young, swp_entry_to_pte, pte_swp_mkexclusive, pte_swp_mksoft_dirty,
  pte_swp_mkuffd_wp,
} from '../x86/pte';
import { KEv } from './events';
import {
  HPAGE_NR, LRU_ACTIVE_ANON, LRU_ACTIVE_FILE, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, PG_anon, PG_anon_exclusive, PG_dirty,
  PG_mkwrite_notified, PG_nonzero, PG_referenced, PG_shmem, PG_swapbacked, PG_swapcache, PG_used,
} from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { rmap_walk } from './rmap';
import { swap_writeout } from './page_io';
import { make_pte_marker, PTE_MARKER_UFFD_WP } from './swap';
import { flush_tlb_mm_range, MmuGather, tlb_finish_mmu } from './tlbflush';
import { userfaultfd_wp } from './vma';
import { pmd_leaf_slot, split_huge_page, split_huge_pmd_address } from './huge_memory';

/** folio_referenced(): count and clear young PTEs (no flush on x86). */
export function folio_referenced(k: Kernel, pfn: number): number {
  let young = 0;
  const mem = k.mmu.mem;
  rmap_walk(k, pfn, (_mm, _vma, _vpn, slot) => {
    const pte = mem.get(slot);
    if (pte_young(pte)) {
      young++;
      mem.set(slot, pte_mkold(pte)); // ptep_clear_flush_young() is ptep_test_and_clear_young() on x86
    }
    k.counters[KEv.reclaimScan]++;
  });
  return young;
}

/**
 * Reclaim `target` folios (or every unreferenced one): age the active lists, then shrink the
 * inactive lists oldest first. Returns folios freed.
 */
export function reclaim(k: Kernel, target: number | 'all', cpu: number): number {
  const f = k.frames;
  /** move the folio holding `pfn` to `list` (the model keeps each frame of a large folio on the LRU) */
  const folioLruAdd = (pfn: number, list: number, clearReferenced: boolean): void => {
    const base = f.head[pfn];
    const [from, to] = base === 0 ? [pfn, pfn + 1] : [base, base + f.folioNr(base)];
    for (let p = from; p < to; p++) {
      if (clearReferenced) f.flags[p] &= ~PG_referenced;
      f.lruAdd(p, list);
    }
  };
  // aging: everything active goes inactive, with its A bits cleared; a large folio as one
  for (const [active, inactive] of [[LRU_ACTIVE_ANON, LRU_INACTIVE_ANON], [LRU_ACTIVE_FILE, LRU_INACTIVE_FILE]]) {
    for (const pfn of lruSnapshot(k, active)) {
      if (f.lruList[pfn] !== active) continue; // a page of a large folio aged already
      folio_referenced_any(k, pfn, cpu);
      folioLruAdd(pfn, inactive, true);
    }
  }
  let freed = 0;
  const want = target === 'all' ? Infinity : target;
  const batch = new TlbBatch(k, cpu);
  for (const list of [LRU_INACTIVE_FILE, LRU_INACTIVE_ANON]) {
    // snapshot the list: activation and freeing change it while we walk
    for (const pfn of lruSnapshot(k, list)) {
      if (freed >= want) break;
      if (f.lruList[pfn] !== list) continue;
      k.counters[KEv.reclaimScan]++;
      const head = f.head[pfn] || pfn;
      const referenced = folio_referenced_any(k, head, cpu);
      const decision = reclaimDecision(k, head, referenced);
      if (decision === 'keep') continue;
      if (decision === 'activate') {
        folioLruAdd(pfn, list === LRU_INACTIVE_FILE ? LRU_ACTIVE_FILE : LRU_ACTIVE_ANON, false);
        continue;
      }
      // a large folio split on the way (shrink_folio) leaves its other pages on this list for
      // their own pass, as split_folio_to_list() puts them on the folio list
      freed += shrink_folio(k, pfn, cpu, batch);
    }
  }
  batch.flush();
  return freed;
}

function lruSnapshot(k: Kernel, list: number): number[] {
  const out: number[] = [];
  for (let pfn = k.frames.lruOldest(list); pfn >= 0; pfn = k.frames.lruNewer(pfn)) out.push(pfn);
  return out;
}

/** folio_referenced() of the folio holding `pfn`, order 0 or large. */
function folio_referenced_any(k: Kernel, pfn: number, cpu: number): number {
  const base = k.frames.head[pfn];
  return base === 0 || !(k.frames.flags[base] & PG_anon) ? folio_referenced(k, pfn) : folio_referenced_large(k, base, cpu);
}

/**
 * folio_referenced() of the large anon folio `base` (folio_referenced_one(), 5.19-6.18): a young
 * PMD mapping it counts once and is made old by pmdp_clear_flush_young(), which on x86 flushes
 * the 2 MiB range (flush_tlb_range with 4 KiB stride: past the ceiling, a full flush of the mm);
 * each young PTE mapping one of its pages counts once and is made old without a flush.
 */
function folio_referenced_large(k: Kernel, base: number, cpu: number): number {
  const f = k.frames;
  const mem = k.mmu.mem;
  const fam = k.families.get(f.owner[base]);
  if (!fam) return 0;
  const first = f.index[base], nr = f.folioNr(base);
  let young = 0;
  for (const mm of fam.mms) {
    const pmdSlot = pmd_leaf_slot(k, mm, first);
    if (pmdSlot >= 0) {
      const pmd = mem.get(pmdSlot);
      if (pte_pfn(pmd) !== base) continue;
      k.counters[KEv.reclaimScan]++;
      if (pte_young(pmd)) {
        young++;
        mem.set(pmdSlot, pte_mkold(pmd));
        flush_tlb_mm_range(k, mm, first, first + HPAGE_NR, cpu);
      }
      continue;
    }
    for (let i = 0; i < nr; i++) {
      const slot = mm.pt.pteSlot(first + i);
      if (slot < 0) continue;
      const pte = mem.get(slot);
      if (!pte_present(pte) || pte_pfn(pte) !== base + i) continue;
      k.counters[KEv.reclaimScan]++;
      if (pte_young(pte)) {
        young++;
        mem.set(slot, pte_mkold(pte)); // ptep_clear_flush_young(): no flush on x86
      }
    }
  }
  return young;
}

/**
 * shrink_inactive_list's decision for one folio: activate it if a PTE mapping it was young,
 * else reclaim it; the variant's reclaimFolio hook has the last say.
 */
function reclaimDecision(k: Kernel, pfn: number, referenced: number): 'reclaim' | 'activate' | 'keep' {
  const decision = referenced > 0 ? 'activate' : 'reclaim';
  const hook = k.variant.hooks.reclaimFolio;
  if (!hook) return decision;
  const fl = k.frames.flags[pfn];
  const anon = (fl & PG_anon) !== 0;
  return hook({ referenced, anon, dirty: (fl & PG_dirty) !== 0 || anyDirtyPte(k, pfn), lazyfree: anon && (fl & PG_swapbacked) === 0, mapcount: k.frames.mapcount[pfn], decision });
}

/** shrink_folio_list() isolates at most SWAP_CLUSTER_MAX (32) folios at a time. */
export const SWAP_CLUSTER_MAX = 32;

/**
 * Deferred shootdowns of reclaim (try_to_unmap with TTU_BATCH_FLUSH, arch_tlbbatch_flush): the
 * unmaps of one batch of folios are flushed together, once per mm, instead of once per page.
 */
export class TlbBatch {
  private gathers = new Map<Mm, MmuGather>();
  private folios = 0;
  constructor(
    private readonly k: Kernel,
    private readonly cpu: number,
  ) {}
  add(mm: Mm, vpn: number): void {
    let tlb = this.gathers.get(mm);
    if (!tlb) this.gathers.set(mm, (tlb = new MmuGather(mm)));
    tlb.add(vpn);
  }
  /** One folio done; flush when a batch is complete. */
  folioDone(): void {
    if (++this.folios >= SWAP_CLUSTER_MAX) this.flush();
  }
  flush(): void {
    for (const tlb of this.gathers.values()) tlb_finish_mmu(this.k, tlb, this.cpu);
    this.gathers.clear();
    this.folios = 0;
  }
}

/** Does any PTE mapping `pfn` have D set? */
function anyDirtyPte(k: Kernel, pfn: number): boolean {
  let dirty = false;
  const mem = k.mmu.mem;
  rmap_walk(k, pfn, (_mm, _vma, _vpn, slot) => {
    if (pte_dirty(mem.get(slot))) dirty = true;
  });
  return dirty;
}

/** shrink_folio_list() for one folio: unmap, write out if dirty, free. Returns the pages freed. */
export function shrink_folio(k: Kernel, pfn: number, cpu: number, batch: TlbBatch = new TlbBatch(k, cpu)): number {
  const base = k.frames.head[pfn];
  if (base !== 0) {
    if (swap_out_whole(k, base)) {
      const nr = k.frames.folioNr(base);
      shrink_large_anon(k, base, cpu, batch);
      batch.folioDone();
      return nr;
    }
    split_huge_page(k, pfn, cpu);
    if (!(k.frames.flags[pfn] & PG_used)) return 0; // the split freed it (no mapping left)
  }
  const r = shrink_one(k, pfn, batch);
  batch.folioDone();
  return r ? 1 : 0;
}

/** Is a PMD leaf of its fork family mapping the large folio `base` (folio_entire_mapcount() > 0)? */
function pmd_mapped(k: Kernel, base: number): boolean {
  const fam = k.families.get(k.frames.owner[base]);
  const vpn = k.frames.index[base];
  return fam !== undefined && [...fam.mms].some((mm) => {
    const slot = pmd_leaf_slot(k, mm, vpn);
    return slot >= 0 && pte_pfn(k.mmu.mem.get(slot)) === base;
  });
}

/**
 * shrink_folio_list() before add_to_swap() / folio_alloc_swap() for the large folio `base`: is it
 * swapped out whole? Only a swap-backed anon folio not yet in the swap cache (lazyfree, swap-cache
 * and file folios are split first: a model simplification). A PMD-mapped THP is (CONFIG_THP_SWAP,
 * 5.19-6.18); one no PMD maps is split first up to 6.9 ("Split folios without a PMD map right
 * away"), and from 6.10 swapped whole unless partially mapped (6.12+ split those first: pages no
 * PTE maps are freed without I/O). The run of slots never fails to allocate in the model.
 */
function swap_out_whole(k: Kernel, base: number): boolean {
  const f = k.frames;
  const fl = f.flags[base];
  if ((fl & (PG_anon | PG_swapbacked | PG_swapcache)) !== (PG_anon | PG_swapbacked)) return false;
  if (pmd_mapped(k, base)) return true;
  if (!k.variant.swapOutPteMappedLargeFolios) return false;
  for (let p = base, end = base + f.folioNr(base); p < end; p++) if (f.mapcount[p] === 0) return false;
  return true;
}

/**
 * The large anon folio `base` swapped out whole: folio_alloc_swap() gives it a naturally aligned
 * run of slots (the swap cluster allocator), try_to_unmap() with TTU_SPLIT_HUGE_PMD splits a PMD
 * mapping into PTEs and turns every PTE into the swap entry of its page's slot, and the folio is
 * written (folio_mark_dirty(): always, 6.18 and 5.19 alike) and freed whole.
 */
function shrink_large_anon(k: Kernel, base: number, cpu: number, batch: TlbBatch): void {
  const f = k.frames;
  const nr = f.folioNr(base);
  const first = k.swap.allocRange(nr);
  for (let i = 0; i < nr; i++) {
    const p = base + i;
    f.flags[p] |= PG_swapcache | PG_dirty;
    f.swapSlot[p] = first + i;
    k.swap.cache.set(first + i, p);
  }
  const fam = k.families.get(f.owner[base]);
  if (fam) for (const mm of fam.mms) split_huge_pmd_address(k, mm, f.index[base], cpu, base);
  for (let p = base; p < base + nr; p++) try_to_unmap_one(k, p, batch, true, false);
  swap_writeout(k, base, nr, first); // the whole folio: written, or (all zeros, 6.12+) only noted
  for (let i = 0; i < nr; i++) {
    k.swap.cache.delete(first + i);
    if ((k.swap.refs.get(first + i) ?? 0) <= 0) k.swap.release(first + i);
  }
  f.freeHuge(base);
}

/**
 * try_to_unmap_one() for every PTE mapping `pfn`: a dirty PTE dirties the folio; a swap-backed anon
 * page's PTE becomes its slot's swap entry (keeping exclusive, soft-dirty and uffd-wp), a file
 * PTE of a uffd-wp VMA a marker, anything else none.
 */
function try_to_unmap_one(k: Kernel, pfn: number, batch: TlbBatch, anon: boolean, lazyfree: boolean): void {
  const f = k.frames;
  const mem = k.mmu.mem;
  rmap_walk(k, pfn, (mm, vma, vpn, slot) => {
    const pte = mem.get(slot);
    if (pte_dirty(pte)) f.flags[pfn] |= PG_dirty;
    let n = 0n;
    if (anon && !lazyfree) {
      const s = f.swapSlot[pfn];
      n = swp_entry_to_pte(0, s);
      if (f.flags[pfn] & PG_anon_exclusive) n = pte_swp_mkexclusive(n);
      if (pte_soft_dirty(pte)) n = pte_swp_mksoft_dirty(n);
      if (pte_uffd_wp(pte)) n = pte_swp_mkuffd_wp(n);
      k.swap.dup(s);
    } else if (!anon && userfaultfd_wp(vma) && pte_uffd_wp(pte)) {
      n = make_pte_marker(PTE_MARKER_UFFD_WP);
    }
    mem.set(slot, n);
    f.mapcount[pfn]--;
    batch.add(mm, vpn);
    k.counters[KEv.zapPte]++;
  });
}

function shrink_one(k: Kernel, pfn: number, batch: TlbBatch): boolean {
  const f = k.frames;
  const anon = (f.flags[pfn] & PG_anon) !== 0;
  const lazyfree = anon && (f.flags[pfn] & PG_swapbacked) === 0;
  if (lazyfree && (f.flags[pfn] & PG_dirty || anyDirtyPte(k, pfn))) {
    // try_to_unmap_one(): a lazyfree folio written since MADV_FREE cannot be discarded; the dirty
    // PTE dirties the folio, the PTE is put back, and the folio is swap-backed again and kept (a
    // later reclaim swaps it out).
    f.flags[pfn] |= PG_swapbacked | PG_dirty;
    f.lruAdd(pfn, LRU_ACTIVE_ANON);
    return false;
  }
  if (anon && !lazyfree && !(f.flags[pfn] & PG_swapcache)) {
    // add_to_swap(): a swap slot, and the folio is dirty until written there
    const slot = k.swap.alloc();
    f.flags[pfn] |= PG_swapcache | PG_dirty;
    f.swapSlot[pfn] = slot;
    k.swap.cache.set(slot, pfn);
  }
  try_to_unmap_one(k, pfn, batch, anon, lazyfree);
  const dirty = (f.flags[pfn] & PG_dirty) !== 0;
  if (lazyfree) {
    k.counters[KEv.reclaimDrop]++;
    f.free(pfn);
    return true;
  }
  if (anon) {
    if (dirty) swap_writeout(k, pfn, 1, f.swapSlot[pfn]);
    else k.counters[KEv.reclaimDrop]++; // clean swap-cache folio: the slot already holds it
    // __remove_mapping(): the folio leaves the swap cache; the slot stays for the swap PTEs
    const s = f.swapSlot[pfn];
    k.swap.cache.delete(s);
    if ((k.swap.refs.get(s) ?? 0) <= 0) k.swap.release(s);
    f.free(pfn);
    return true;
  }
  const file = k.files.get(f.owner[pfn])!;
  if (f.flags[pfn] & PG_shmem && dirty) {
    // pageout() -> shmem_writepage() (shmem_writeout() from 6.16): tmpfs has no backing store but
    // swap. Only dirty folios get here; a clean one (a read-faulted hole, never written) is dropped
    // by __remove_mapping() like any clean page-cache folio, and a later fault finds the hole again.
    const slot = k.swap.alloc();
    k.swap.dup(slot);
    file.swapped.set(f.index[pfn], slot);
    swap_writeout(k, pfn, 1, slot);
  } else if (f.flags[pfn] & PG_shmem) k.counters[KEv.reclaimDrop]++;
  else if (dirty) {
    k.counters[KEv.writebackPage]++;
    k.writebackThisStep++;
    file.blocks.add(f.index[pfn]);
  } else k.counters[KEv.reclaimDrop]++;
  f.flags[pfn] &= ~(PG_dirty | PG_mkwrite_notified);
  file.cache.delete(f.index[pfn]);
  f.free(pfn);
  return true;
}
