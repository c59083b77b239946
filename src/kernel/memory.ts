/**
 * The page-fault paths of mm/memory.c (handle_mm_fault and what it calls), as of the variant's
 * kernel. Rules and the functions they come from (kernel-facts.md section 2.5, confirmed against
 * torvalds/linux mm/memory.c):
 *  - do_anonymous_page: a read maps the shared zero page (special, read-only, young from the
 *    protection, clean); a write allocates a zeroed page mapped young+dirty+RW (VM_WRITE);
 *  - do_read_fault / do_cow_fault / do_shared_fault (->page_mkwrite) for page-cache pages, with
 *    fault-around mapping up to 16 cached neighbours (young on x86);
 *  - do_wp_page: uffd-wp PTEs go to userfaultfd (or, with WP_ASYNC, just lose the bit); shared
 *    mappings call ->page_mkwrite and reuse; private anon pages that are exclusive are reused in
 *    place by wp_page_reuse (A+D+RW set by software, no flush), and so are pages
 *    wp_can_reuse_anon_folio finds unshared (a small folio: this PTE its only reference; a page of
 *    a large folio: variant field wpReuseLargeFolio); others are copied by wp_page_copy (the old
 *    PTE is cleared and flushed);
 *  - do_swap_page: an exclusive swapped page comes back writable (VM_WRITE), dirty only on a write
 *    fault: a read swap-in leaves RW=1, D=0;
 *  - handle_pte_fault on a PTE that already allows the access: a write sets D (and A) through
 *    ptep_set_access_flags without a flush; otherwise it is a spurious fault and
 *    flush_tlb_fix_spurious_fault() (a no-op on x86) runs.
 */
import {
  pfn_pte, pte_mkyoung, pte_none, pte_pfn, pte_present, pte_protnone, pte_special, pte_mkspecial, pte_uffd_wp,
  pte_write, pte_clear_uffd_wp, pte_swp_exclusive, pte_swp_offset, pte_swp_soft_dirty, pte_swp_uffd_wp, pte_mksoft_dirty,
  pte_soft_dirty, PTE_PFN_MASK,
} from '../x86/pte';
import { X86_PF_PK } from '../x86/mmu';
import { KEv, type KernelFaultKind } from './events';
import {
  PG_anon, PG_anon_exclusive, PG_dirty, PG_mkwrite_fs, PG_mkwrite_notified, PG_nonzero, PG_shmem, PG_swapbacked, PG_swapcache, ZERO_PFN,
  LRU_INACTIVE_ANON,
} from './frames';
import { filemap_get_page, type FileObj } from './filemap';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { faultPte } from './hooks';
import {
  anon_vma_prepare, folio_mapped_by_others, folio_total_mapcount, page_add_new_anon_rmap, page_cache_add, page_dup_rmap, page_remove_rmap,
} from './rmap';
import { swap_read_folio } from './page_io';
import { is_migration_entry, is_pte_marker, pte_marker_uffd_wp } from './swap';
import { flush_tlb_fix_spurious_fault, flush_tlb_mm_range } from './tlbflush';
import { FAULT_FALLBACK, handle_pmd_fault } from './huge_memory';
import { alloc_swap_folio_order, do_anonymous_mthp } from './mthp';
import { uffd_handle_missing, uffd_handle_minor, uffd_handle_wp } from './userfaultfd';
import { VM_READ, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_WRITE, vma_soft_dirty_enabled, userfaultfd_wp, type Vma } from './vma';

/** The fault is handled; the faulting instruction restarts (it may fault again). */
export const FAULT_RETRY = 0;
export const FAULT_SIGSEGV = 1;
/**
 * VM_FAULT_RETRY: the handler slept (userfaultfd round trip) and the x86 fault handler runs
 * handle_mm_fault() again itself (FAULT_FLAG_TRIED) before returning to user space: one #PF,
 * two passes through the handler (mm_account_fault() counts it once).
 */
export const FAULT_RETRY_IN_KERNEL = 2;

/** fault_around_bytes default 64 KiB (mm/memory.c) */
export const FAULT_AROUND_PAGES = 16;

function fault(k: Kernel, kind: KernelFaultKind): void {
  k.counters[KEv[`fault.${kind}`]]++;
}

/** maybe_mkwrite(): only VM_WRITE mappings get the write bit from a fault. */
function maybe_mkwrite(k: Kernel, pte: bigint, vma: Vma): bigint {
  return vma.flags & VM_WRITE ? k.arch.pte_mkwrite(pte) : pte;
}

/** handle_mm_fault() for a user #PF at `vpn` with x86 error code `code`. */
export function handle_mm_fault(k: Kernel, mm: Mm, cpu: number, vpn: number, write: number, code: number): number {
  const vma = mm.findVma(vpn);
  // access_error() (arch/x86/mm/fault.c): no VMA, a write to a VMA without VM_WRITE, a read of
  // a PROT_NONE VMA, or a protection-key fault -> SIGSEGV.
  if (!vma || (write ? !(vma.flags & VM_WRITE) : !(vma.flags & (VM_READ | VM_WRITE))) || code & X86_PF_PK) {
    fault(k, 'sigsegv');
    return FAULT_SIGSEGV;
  }
  // __handle_mm_fault(): the PMD level first (THP fault, PMD write-protect or access fault)
  const huge = handle_pmd_fault(k, mm, vma, cpu, vpn, write);
  if (huge !== FAULT_FALLBACK) return huge;
  const slot = mm.pt.ensurePteSlot(vpn);
  const pte = k.mmu.mem.get(slot);
  if (pte_none(pte)) return do_pte_missing(k, mm, vma, cpu, vpn, slot, write, false);
  if (!pte_present(pte)) {
    if (is_pte_marker(pte)) {
      if (pte_marker_uffd_wp(pte)) return do_pte_missing(k, mm, vma, cpu, vpn, slot, write, true);
      fault(k, 'sigsegv');
      return FAULT_SIGSEGV;
    }
    if (is_migration_entry(pte)) throw new Error('model: migration entries are never left in place');
    return do_swap_page(k, mm, vma, cpu, vpn, slot, pte, write);
  }
  // A PROT_NONE PTE in an accessible VMA is a NUMA hinting entry (change_prot_numa(), do_numa_page());
  // no spec op makes one (mprotect(PROT_NONE) also clears the VMA's access, so access_error() fires
  // first), so the model has no do_numa_page.
  if (pte_protnone(pte)) throw new Error(`model bug: a PROT_NONE PTE in accessible VMA ${vma.region} (no op creates NUMA hinting PTEs)`);

  // handle_pte_fault() on a present PTE
  let entry = pte;
  if (write) {
    if (!pte_write(entry)) return do_wp_page(k, mm, vma, cpu, vpn, slot, pte);
    entry = k.arch.pte_mkdirty(entry);
  }
  entry = pte_mkyoung(entry);
  // x86 ptep_set_access_flags() writes only when something changed and the fault was a write.
  if (entry !== pte && write) {
    k.setPte(mm, vma, vpn, slot, entry);
    fault(k, 'accessFlags');
    if (k.variant.relaxedPromotionFlush) flush_tlb_fix_spurious_fault(k, mm, cpu);
  } else {
    fault(k, 'spurious');
    if (write) flush_tlb_fix_spurious_fault(k, mm, cpu);
  }
  return FAULT_RETRY;
}

function do_pte_missing(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, slot: number, write: number, uffdWp: boolean): number {
  return vma.anon ? do_anonymous_page(k, mm, vma, cpu, vpn, slot, write, uffdWp) : do_fault(k, mm, vma, cpu, vpn, slot, write, uffdWp);
}

function do_anonymous_page(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, slot: number, write: number, uffdWp: boolean): number {
  if (vma.flags & VM_UFFD_MISSING) {
    fault(k, 'uffdMissing');
    uffd_handle_missing(k, mm, vma, cpu, vpn);
    return FAULT_RETRY_IN_KERNEL;
  }
  if (!write && !k.variant.mmForbidsZeropage) {
    let entry = pte_mkspecial(pfn_pte(ZERO_PFN, vma.pageProt));
    if (uffdWp) entry = k.arch.pte_mkuffd_wp(entry);
    k.setPte(mm, vma, vpn, slot, faultPte(k, vma, vpn, 'anon', write, 0n, entry));
    fault(k, 'anonZeroPage');
    return FAULT_RETRY; // no anon_vma_prepare(): a VMA with only zero-page PTEs is not copied by fork
  }
  anon_vma_prepare(vma);
  // alloc_anon_folio() (6.8+): a large folio of an enabled mTHP order, mapped by PTEs (mthp.ts)
  if (!uffdWp && do_anonymous_mthp(k, mm, vma, vpn, slot)) {
    fault(k, 'anonAlloc');
    return FAULT_RETRY;
  }
  const pfn = k.allocPage(true);
  let entry = pfn_pte(pfn, vma.pageProt);
  if (vma.flags & VM_WRITE) entry = k.arch.pte_mkwrite(k.arch.pte_mkdirty(entry));
  if (uffdWp) entry = k.arch.pte_mkuffd_wp(entry);
  page_add_new_anon_rmap(k, pfn, mm, vpn);
  k.setPte(mm, vma, vpn, slot, faultPte(k, vma, vpn, 'anon', write, 0n, entry));
  fault(k, 'anonAlloc');
  return FAULT_RETRY;
}

/** set_pte_range() for a page-cache page mapped by a fault (or fault-around when `prefault`). */
function file_pte(k: Kernel, vma: Vma, pfn: number, write: boolean, uffdWp: boolean): bigint {
  let entry = pfn_pte(pfn, vma.pageProt); // young: x86 does not want old prefaulted PTEs
  if (write) entry = maybe_mkwrite(k, k.arch.pte_mkdirty(entry), vma);
  else if (pte_write(entry) && k.frames.flags[pfn] & PG_dirty) entry = k.arch.pte_mkdirty(entry);
  if (uffdWp) entry = k.arch.pte_mkuffd_wp(entry);
  return entry;
}

function do_fault(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, slot: number, write: number, uffdWp: boolean): number {
  const file = vma.file!;
  const index = vma.fileIndex(vpn);
  // shmem_get_folio_gfp(): a cached page in a MINOR-registered VMA is a userfault, on a read or a
  // write alike; the handler maps it with UFFDIO_CONTINUE
  if (vma.flags & VM_UFFD_MINOR && file.cache.has(index)) {
    fault(k, 'uffdMinor');
    uffd_handle_minor(k, mm, vma, cpu, vpn);
    return FAULT_RETRY_IN_KERNEL;
  }
  if (!write) {
    // do_read_fault(): fault-around first (not for uffd wp/minor registered VMAs:
    // uffd_disable_fault_around()).
    if (!(vma.flags & VM_UFFD_MINOR) && !userfaultfd_wp(vma)) do_fault_around(k, mm, vma, vpn);
    if (shmem_uffd_missing(k, mm, vma, cpu, vpn, file, index)) return FAULT_RETRY_IN_KERNEL;
    const { pfn, major } = filemap_get_page(k, file, index);
    k.setPte(mm, vma, vpn, slot, file_pte(k, vma, pfn, false, uffdWp));
    page_dup_rmap(k, pfn);
    fault(k, major && file.fs !== 'shmem' ? 'fileRead' : 'readFile');
    return FAULT_RETRY;
  }
  if (shmem_uffd_missing(k, mm, vma, cpu, vpn, file, index)) return FAULT_RETRY_IN_KERNEL;
  if (!vma.shared) {
    // do_cow_fault(): copy the page-cache page into a new exclusive anon page.
    filemap_get_page(k, file, index); // the source must be in the page cache (read it if not)
    anon_vma_prepare(vma);
    const pfn = k.allocPage(false);
    k.counters[KEv.pageCopy]++;
    let entry = maybe_mkwrite(k, k.arch.pte_mkdirty(pfn_pte(pfn, vma.pageProt)), vma);
    if (uffdWp) entry = k.arch.pte_mkuffd_wp(entry);
    page_add_new_anon_rmap(k, pfn, mm, vpn);
    k.setPte(mm, vma, vpn, slot, entry);
    fault(k, 'cow');
    return FAULT_RETRY;
  }
  // do_shared_fault(): ->page_mkwrite first, then map writable+dirty and dirty the folio.
  const { pfn } = filemap_get_page(k, file, index);
  const mkwrite = file.fs === 'mkwrite';
  if (mkwrite) do_page_mkwrite(k, file, pfn, index);
  k.setPte(mm, vma, vpn, slot, file_pte(k, vma, pfn, true, uffdWp));
  page_dup_rmap(k, pfn);
  k.frames.flags[pfn] |= PG_dirty; // fault_dirty_shared_page()
  fault(k, mkwrite ? 'sharedMkwrite' : 'shared');
  return FAULT_RETRY;
}

/**
 * shmem_get_folio_gfp(): a shmem hole (neither cached nor swapped) in a MISSING-registered VMA is
 * a userfault (handle_userfault(VM_UFFD_MISSING)), whose handler fills it with UFFDIO_COPY.
 */
function shmem_uffd_missing(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, file: FileObj, index: number): boolean {
  if (!(vma.flags & VM_UFFD_MISSING) || file.fs !== 'shmem' || file.cache.has(index) || file.swapped.has(index)) return false;
  fault(k, 'uffdMissing');
  uffd_handle_missing(k, mm, vma, cpu, vpn);
  return true;
}

/** do_page_mkwrite(): the filesystem sees the write (and allocates blocks on a sparse file). */
function do_page_mkwrite(k: Kernel, file: FileObj, pfn: number, index: number): void {
  k.frames.flags[pfn] |= PG_mkwrite_notified;
  if (!file.blocks.has(index)) {
    file.blocks.add(index);
    k.counters[KEv.blockAlloc]++;
  }
}

/** do_fault_around() -> filemap_map_pages(): map cached neighbours in the same PTE table. */
function do_fault_around(k: Kernel, mm: Mm, vma: Vma, vpn: number): void {
  const file = vma.file!;
  const from = Math.max(vpn - (vpn % FAULT_AROUND_PAGES), vma.start);
  const to = Math.min(vpn - (vpn % FAULT_AROUND_PAGES) + FAULT_AROUND_PAGES, vma.end);
  const mem = k.mmu.mem;
  for (let v = from; v < to; v++) {
    if (v === vpn) continue;
    const pfn = file.cache.get(vma.fileIndex(v));
    if (pfn === undefined) continue;
    const slot = mm.pt.ensurePteSlot(v);
    if (!pte_none(mem.get(slot))) continue;
    k.setPte(mm, vma, v, slot, file_pte(k, vma, pfn, false, false));
    page_dup_rmap(k, pfn);
  }
}

function do_wp_page(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, slot: number, pte: bigint): number {
  if (userfaultfd_wp(vma) && pte_uffd_wp(pte)) {
    if (!(vma.uffd?.wpAsync && k.variant.uffdWpAsync)) {
      fault(k, 'uffdWp');
      uffd_handle_wp(k, mm, vma, cpu, vpn);
      return FAULT_RETRY_IN_KERNEL;
    }
    // WP_ASYNC: only the (software) uffd-wp bit goes; no flush needed. Then resolve the write.
    pte = pte_clear_uffd_wp(pte);
    k.setPte(mm, vma, vpn, slot, pte);
    fault(k, 'uffdWpAsync');
  }
  const pfn = pte_pfn(pte);
  if (vma.shared) {
    // wp_page_shared(): ->page_mkwrite, then reuse in place.
    const file = vma.file!;
    const mkwrite = file.fs === 'mkwrite';
    if (mkwrite) do_page_mkwrite(k, file, pfn, vma.fileIndex(vpn));
    k.setPte(mm, vma, vpn, slot, maybe_mkwrite(k, k.arch.pte_mkdirty(pte_mkyoung(pte)), vma));
    k.frames.flags[pfn] |= PG_dirty;
    fault(k, mkwrite ? 'wpSharedMkwrite' : 'wpShared');
    return FAULT_RETRY;
  }
  const f = k.frames;
  const anon = !pte_special(pte) && pfn !== ZERO_PFN && (f.flags[pfn] & PG_anon) !== 0;
  if (anon) {
    let reuse = (f.flags[pfn] & PG_anon_exclusive) !== 0;
    if (!reuse && wp_can_reuse_anon_folio(k, mm, pfn)) {
      f.flags[pfn] |= PG_anon_exclusive; // page_move_anon_rmap / SetPageAnonExclusive
      reuse = true;
    }
    if (reuse) {
      // wp_page_reuse(): A, D and RW set by software; no flush (the entry was RO).
      k.setPte(mm, vma, vpn, slot, faultPte(k, vma, vpn, 'wp-reuse', 1, pte, maybe_mkwrite(k, k.arch.pte_mkdirty(pte_mkyoung(pte)), vma)));
      fault(k, 'wpReuse');
      return FAULT_RETRY;
    }
  }
  // wp_page_copy(): new exclusive page, old PTE cleared and flushed, new PTE young+dirty+RW.
  anon_vma_prepare(vma);
  const npfn = k.allocPage(false);
  k.counters[pfn === ZERO_PFN ? KEv.pageZero : KEv.pageCopy]++;
  let entry = maybe_mkwrite(k, k.arch.pte_mkdirty(pfn_pte(npfn, vma.pageProt)), vma);
  if (pte_soft_dirty(pte)) entry = pte_mksoft_dirty(entry);
  k.mmu.mem.set(slot, 0n);
  flush_tlb_mm_range(k, mm, vpn, vpn + 1, cpu); // ptep_clear_flush()
  page_add_new_anon_rmap(k, npfn, mm, vpn);
  k.setPte(mm, vma, vpn, slot, faultPte(k, vma, vpn, 'wp-copy', 1, pte, entry));
  if (pfn !== ZERO_PFN) page_remove_rmap(k, pfn);
  fault(k, 'wpCopy');
  return FAULT_RETRY;
}

/**
 * wp_can_reuse_anon_folio() for an anon page that is not PageAnonExclusive. A small folio (every
 * version): reused when this PTE is its only reference once its swap cache (if no other swap PTE
 * uses the slot) is freed. A page of a large folio: variant field `wpReuseLargeFolio`.
 */
function wp_can_reuse_anon_folio(k: Kernel, mm: Mm, pfn: number): boolean {
  const f = k.frames;
  const base = f.head[pfn];
  if (base === 0) return f.mapcount[pfn] === 1 && k.freeSwapCache(pfn);
  const total = folio_total_mapcount(k, base);
  if (k.variant.wpReuseLargeFolio === 'v5.19-folio-refcount') {
    // 5.19-6.3 do_wp_page: page_count() of a tail page is the folio's, one reference per mapping
    return total === 1 && folio_free_swap(k, base);
  }
  // 6.15+ __wp_can_reuse_large_anon_folio(): a folio mapped once is given back (copied), one
  // another process maps is shared, and its mappings must be all its references
  if (total <= 1 || folio_mapped_by_others(k, mm, base)) return false;
  return folio_free_swap(k, base);
}

/** folio_free_swap() on a large folio: false if a swap PTE still holds one of its slots. */
function folio_free_swap(k: Kernel, base: number): boolean {
  const f = k.frames;
  for (let p = base, end = base + f.folioNr(base); p < end; p++) if (!k.freeSwapCache(p)) return false;
  return true;
}

/**
 * do_swap_page() from 6.11 (c18160dba5ff) for an exclusive folio: writable at once unless uffd-wp
 * or soft-dirty tracking needs the write fault, dirty only on a write. null: it stays read-only.
 */
function swapin_mkwrite_exclusive(k: Kernel, vma: Vma, swp: bigint, entry: bigint, write: number): bigint | null {
  const softDirtyWp = vma_soft_dirty_enabled(vma) && !pte_swp_soft_dirty(swp);
  const uffdWp = userfaultfd_wp(vma) && pte_swp_uffd_wp(swp);
  if (!(vma.flags & VM_WRITE) || uffdWp || softDirtyWp) return null;
  entry = k.arch.pte_mkwrite(entry);
  return write ? k.arch.pte_mkdirty(entry) : entry;
}

/**
 * do_swap_page() reading a large folio of `order` (alloc_swap_folio_order() chose it; 6.13+, read
 * in 6.18.2): one major fault brings the whole aligned run back. The folio never enters the swap
 * cache and is certainly exclusive; swap_free_nr() drops every slot, and set_ptes() maps all its
 * pages with the same bits: young, writable with VM_WRITE unless uffd-wp or soft-dirty tracking
 * wants the write fault (the 6.11+ rule, which every release with large swap-in has), dirty on every PTE when the fault was a write. A folio
 * the zeromap held comes back zero-filled (swap_read_folio()); the folio is clean (not PG_dirty).
 */
function do_swap_page_large(k: Kernel, mm: Mm, vma: Vma, vpn: number, slot: number, pte: bigint, write: number, order: number): number {
  const f = k.frames;
  const nr = 1 << order;
  const idx = vpn % nr;
  const start = vpn - idx, firstSlot = slot - idx, firstOffset = pte_swp_offset(pte) - idx;
  const base = f.allocFolio(order);
  k.counters[KEv.pageAlloc]++;
  // swap_read_folio() of the whole folio, one major fault: one read (swapInPage, the device latency
  // and the first page, and the transfer of the other nr-1), or from 6.12 a zero-fill if its slots
  // are in the zeromap (all or none of them: alloc_swap_folio_order())
  swap_read_folio(k, base, nr, firstOffset);
  for (let i = 0; i < nr; i++) {
    const p = base + i;
    f.flags[p] |= PG_anon | PG_swapbacked | PG_anon_exclusive;
    f.owner[p] = mm.family.id;
    f.index[p] = start + i;
    f.mapcount[p] = 1;
    f.lruAdd(p, LRU_INACTIVE_ANON);
    k.swap.put(firstOffset + i);
  }
  let entry = pfn_pte(base + idx, vma.pageProt);
  if (pte_swp_soft_dirty(pte)) entry = pte_mksoft_dirty(entry);
  entry = swapin_mkwrite_exclusive(k, vma, pte, entry, write) ?? entry;
  if (pte_swp_uffd_wp(pte)) entry = k.arch.pte_mkuffd_wp(entry);
  entry = faultPte(k, vma, vpn, 'swap', write, pte, entry);
  const template = entry & ~PTE_PFN_MASK;
  for (let i = 0; i < nr; i++) k.setPte(mm, vma, start + i, firstSlot + i, template | (pfn_pte(base + i, 0n) & PTE_PFN_MASK));
  fault(k, 'swapIn');
  return FAULT_RETRY;
}

/**
 * do_swap_page() for an anon swap entry. Which exclusive folios come back writable is the variant's
 * `doSwapPage` rule: up to 6.10 only on a write fault (a read swap-in maps read-only and the next
 * write takes a wp fault that reuses the page); from 6.11 (c18160dba5ff) also on a read, clean.
 */
export function do_swap_page(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, slot: number, pte: bigint, write: number): number {
  const f = k.frames;
  const s = pte_swp_offset(pte);
  let pfn = k.swap.cache.get(s);
  // A SWP_SYNCHRONOUS_IO device (zram) with the slot referenced by this PTE only: the folio is read
  // without ever entering the swap cache, and the slot is freed at once.
  const skipSwapcache = pfn === undefined && k.swapSynchronousIo && (k.swap.refs.get(s) ?? 0) === 1;
  // 6.13+: maybe a large folio over the aligned run of swap PTEs around the fault (alloc_swap_folio)
  const order = skipSwapcache ? alloc_swap_folio_order(k, vma, vpn, slot, pte) : 0;
  if (order > 0) return do_swap_page_large(k, mm, vma, vpn, slot, pte, write, order);
  if (skipSwapcache) {
    pfn = k.allocPage(false);
    swap_read_folio(k, pfn, 1, s);
    f.flags[pfn] |= PG_anon | PG_swapbacked;
    f.owner[pfn] = mm.family.id;
    f.index[pfn] = vpn;
    f.mapcount[pfn] = 0;
    f.lruAdd(pfn, LRU_INACTIVE_ANON);
  } else if (pfn === undefined) {
    pfn = k.allocPage(false);
    swap_read_folio(k, pfn, 1, s); // read_swap_cache_async() (swapin_readahead: the faulting page only)
    f.flags[pfn] |= PG_anon | PG_swapbacked | PG_swapcache;
    f.owner[pfn] = mm.family.id;
    f.index[pfn] = vpn;
    f.swapSlot[pfn] = s;
    f.mapcount[pfn] = 0;
    f.lruAdd(pfn, LRU_INACTIVE_ANON);
    k.swap.cache.set(s, pfn);
  }
  k.swap.put(s);
  // should_try_to_free_swap() (5.19-6.18): a write fault on a swap-cache folio that nothing else maps
  // (folio_ref_count() == 2: ours and the swap cache's) frees the swap cache if no other swap PTE
  // uses the slot (folio_free_swap(), which dirties the folio); the folio is then ours alone.
  let exclusive = pte_swp_exclusive(pte) || skipSwapcache;
  if (write && f.flags[pfn] & PG_swapcache && f.mapcount[pfn] === 0 && (k.swap.refs.get(s) ?? 0) === 0) {
    k.freeSwapCache(pfn);
    exclusive = true; // folio_ref_count() == 1 (no KSM in the model)
  }
  let entry = pfn_pte(pfn, vma.pageProt);
  if (pte_swp_soft_dirty(pte)) entry = pte_mksoft_dirty(entry);
  let writeLeft = write !== 0; // FAULT_FLAG_WRITE still set: do_wp_page() runs in this same fault
  if (exclusive) {
    f.flags[pfn] |= PG_anon_exclusive;
    if (k.variant.doSwapPage === 'v6.11-reuse-exclusive') {
      const w = swapin_mkwrite_exclusive(k, vma, pte, entry, write);
      if (w !== null) {
        entry = w;
        writeLeft = false;
      }
    } else if (write) {
      // 5.19-6.10: only a write fault maps it writable (and dirty); a read leaves it read-only
      entry = maybe_mkwrite(k, k.arch.pte_mkdirty(entry), vma);
      writeLeft = false;
    }
  }
  if (pte_swp_uffd_wp(pte)) entry = k.arch.pte_mkuffd_wp(entry); // read-only again
  f.mapcount[pfn]++;
  entry = faultPte(k, vma, vpn, 'swap', write, pte, entry);
  k.setPte(mm, vma, vpn, slot, entry);
  fault(k, 'swapIn');
  // a write the swap-in did not resolve (a shared folio, uffd-wp): do_wp_page() within this #PF
  if (writeLeft && vma.flags & VM_WRITE) return do_wp_page(k, mm, vma, cpu, vpn, slot, entry);
  return FAULT_RETRY;
}

