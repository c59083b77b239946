/**
 * Collapse of PTE-mapped anonymous memory into PMD-mapped THPs (mm/khugepaged.c): the khugepaged
 * daemon's scan (all modelled versions) and madvise(MADV_COLLAPSE) (6.1+), which share
 * hpage_collapse_scan_pmd (khugepaged_scan_pmd up to 6.0) and collapse_huge_page and differ only
 * in collapse_control.is_khugepaged.
 *
 * Rules, read in mm/khugepaged.c (a 5.x khugepaged_scan_pmd whose checks 5.19 and 6.0 still have;
 * the 6.1 rework "mm/khugepaged: add struct collapse_control" and "mm/madvise: introduce
 * MADV_COLLAPSE sync hugepage collapse" that kept them for khugepaged and dropped the limits for
 * MADV_COLLAPSE; a 6.10-6.14 source for the folio conversions), anonymous memory:
 *  - hpage_collapse_scan_pmd, PTE by PTE over one aligned 2 MiB range:
 *    a swap PTE counts `unmapped`; khugepaged fails past max_ptes_swap (SCAN_EXCEED_SWAP_PTE),
 *    and a uffd-wp swap PTE or marker fails (SCAN_PTE_UFFD_WP);
 *    a none or zero-page PTE counts `none_or_zero`; it fails when userfaultfd is armed on the VMA,
 *    and for khugepaged past max_ptes_none (SCAN_EXCEED_NONE_PTE);
 *    a uffd-wp PTE fails (SCAN_PTE_UFFD_WP); a writable PTE makes the range `writable`;
 *    a page mapped shared counts `shared`, khugepaged fails past max_ptes_shared
 *    (SCAN_EXCEED_SHARED_PTE). "Shared" is page_mapcount(page) > 1 up to 6.9,
 *    folio_likely_mapped_shared() in 6.10-6.14 and folio_maybe_mapped_shared() from 6.15 (variant
 *    field largeFolioSharedTest);
 *    khugepaged only: a PTE is `referenced` when it is young or its folio has PG_referenced.
 *    At the end: no writable PTE fails (SCAN_PAGE_RO) up to the kernel the 6.18 variant models,
 *    which collapses read-only ranges too (variant field collapseNeedsWritablePte); khugepaged
 *    also fails with no referenced PTE, or with swap PTEs and fewer than 256 referenced
 *    (SCAN_LACK_REFERENCED_PAGE).
 *  - collapse_huge_page: swap PTEs are swapped in first (__collapse_huge_page_swapin: a read
 *    do_swap_page each), then the PMD is cleared and the range flushed (pmdp_collapse_flush, a
 *    flush_tlb_range at 4 KiB stride, so a full flush) and __collapse_huge_page_isolate checks
 *    the PTEs again (none/zero, non-present, uffd-wp, shared, referenced, writable; failing, it
 *    puts the table back); the pages are copied (none and zero-page PTEs give zeroed pages), the
 *    old pages unmapped (and dropped from the swap cache: free_page_and_swap_cache), the table
 *    freed, and the THP mapped young (vm_page_prot), dirty and, with VM_WRITE, writable, its pages
 *    AnonExclusive: the old PTEs' A and D bits are not looked at.
 *  - madvise_collapse (6.1+): thp_vma_allowable_order without sysfs enforcement (the `enabled`
 *    setting and VM_HUGEPAGE do not matter) refuses a VMA with VM_NOHUGEPAGE, without an anon_vma
 *    (hugepage_vma_check allows that only in a fault or for smaps) or too small to hold an aligned
 *    2 MiB range: EINVAL. The call covers the 2 MiB ranges inside it (start rounded up, end down;
 *    a call inside one range, whose rounded end lies below its rounded start, fails with EINVAL:
 *    the unsigned count of ranges never matches the THPs made). A range already PMD-mapped
 *    counts as done (SCAN_PMD_MAPPED). After a failure the call goes on only for SCAN_PMD_NULL,
 *    SCAN_PTE_NON_PRESENT, SCAN_PTE_UFFD_WP, SCAN_PAGE_RO, SCAN_LACK_REFERENCED_PAGE and the page
 *    lock/count/LRU results, and returns at once for any other (e.g. SCAN_PMD_NONE, a range with
 *    no PTE table: find_pmd_or_thp_or_none reports it apart since 34488399fa08, 6.1); it fails
 *    unless every range ended PMD-mapped (madvise_collapse_errno: EBUSY for SCAN_EXCEED_NONE_PTE,
 *    else EINVAL here), and madvise_walk_vmas() visits no VMA after one that failed.
 *  - khugepaged_scan_mm_slot: each VMA for which thp_vma_allowable_order with TVA_ENFORCE_SYSFS
 *    holds (anonymous with an anon_vma, no VM_NOHUGEPAGE, `enabled` always, or madvise and
 *    VM_HUGEPAGE; the daemon does not run at all with `never`), its 2 MiB ranges in address order.
 *    The defaults (khugepaged_init): max_ptes_none 511, max_ptes_swap 64, max_ptes_shared 256.
 * Model limits: one `khugepagedScan()` is one full scan (khugepaged/full_scans + 1) of every
 * process: the pacing by pages_to_scan and scan_sleep_millisecs, and which mms are registered on
 * khugepaged's list (MMF_VM_HUGEPAGE; every process with an eligible VMA is scanned here), are
 * not modelled; pages carry no extra references (GUP pins), so SCAN_PAGE_COUNT never happens;
 * every mapped anon folio is on an LRU list after lru_add_drain_all(); idle-page tracking and
 * secondary MMUs (folio_test_young, mmu_notifier_test_young) do not exist.
 */
import { _PAGE_PSE, pfn_pte, pte_none, pte_pfn, pte_present, pte_special, pte_swp_uffd_wp, pte_uffd_wp, pte_write, pte_young } from '../x86/pte';
import { PTRS_PER_TABLE } from '../x86/pagetable';
import { KEv } from './events';
import { HPAGE_NR, PG_anon, PG_nonzero, PG_referenced, PG_swapcache, ZERO_PFN } from './frames';
import { folio_maybe_mapped_shared, pmd_leaf_slot } from './huge_memory';
import type { Kernel } from './kernel';
import { MadviseError } from './madvise';
import { do_swap_page } from './memory';
import type { Mm } from './mm';
import { anon_vma_prepare, page_add_new_anon_rmap, page_remove_rmap } from './rmap';
import { is_pte_marker, is_swap_entry, pte_marker_uffd_wp } from './swap';
import { flush_tlb_mm_range } from './tlbflush';
import { VM_HUGEPAGE, VM_NOHUGEPAGE, VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE, type Vma } from './vma';

/** /sys/kernel/mm/transparent_hugepage/khugepaged/max_ptes_{none,swap,shared}. */
export interface KhugepagedSettings {
  maxPtesNone: number;
  maxPtesSwap: number;
  maxPtesShared: number;
}
/** khugepaged_init(): HPAGE_PMD_NR - 1, HPAGE_PMD_NR / 8, HPAGE_PMD_NR / 2. */
export const DEFAULT_KHUGEPAGED: KhugepagedSettings = Object.freeze({ maxPtesNone: HPAGE_NR - 1, maxPtesSwap: HPAGE_NR / 8, maxPtesShared: HPAGE_NR / 2 });

/** The enum scan_result values the model can produce. */
export type ScanResult =
  | 'SCAN_SUCCEED'
  | 'SCAN_PMD_NULL'
  | 'SCAN_PMD_NONE'
  | 'SCAN_PMD_MAPPED'
  | 'SCAN_EXCEED_NONE_PTE'
  | 'SCAN_EXCEED_SWAP_PTE'
  | 'SCAN_EXCEED_SHARED_PTE'
  | 'SCAN_PTE_NON_PRESENT'
  | 'SCAN_PTE_UFFD_WP'
  | 'SCAN_PAGE_RO'
  | 'SCAN_LACK_REFERENCED_PAGE'
  | 'SCAN_PAGE_ANON';

/** One 2 MiB range a collapse looked at. */
export interface CollapseAttempt {
  readonly process: string;
  /** first page of the range */
  readonly vpn: number;
  readonly result: ScanResult;
}

/**
 * madvise(MADV_COLLAPSE) failed: the errno the kernel returns (madvise_collapse_errno(), EINVAL
 * without MADV_COLLAPSE or on a VMA it refuses). A program goes on after it, and so does a run.
 */
export class CollapseError extends Error {
  constructor(
    message: string,
    readonly errno: 'EINVAL' | 'EBUSY',
  ) {
    super(message);
    this.name = 'CollapseError';
  }
}

/** struct collapse_control: who collapses (khugepaged enforces the max_ptes_* limits and the referenced rule). */
interface CollapseControl {
  readonly isKhugepaged: boolean;
}

/** userfaultfd_armed(): any userfaultfd mode registered on the VMA. */
const userfaultfd_armed = (vma: Vma): boolean => (vma.flags & (VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR)) !== 0;
const isNoneOrZero = (pte: bigint): boolean => pte_none(pte) || (pte_present(pte) && (pte_special(pte) || pte_pfn(pte) === ZERO_PFN));

/**
 * Is the page at `pfn` "mapped shared" as the collapse scan counts it? Variant field
 * largeFolioSharedTest: its 5.19-6.3 value means page_mapcount(page) > 1 here (khugepaged's test
 * up to 6.9); 6.15+ asks folio_maybe_mapped_shared(). Order-0 pages: mapped more than once.
 */
function collapse_page_shared(k: Kernel, mm: Mm, pfn: number): boolean {
  const f = k.frames;
  if (k.variant.largeFolioSharedTest === 'v5.19-first-page-mapcount' || f.head[pfn] === 0) return f.mapcount[pfn] > 1;
  return folio_maybe_mapped_shared(k, mm, f.head[pfn]);
}

/** pte_young(), folio_test_referenced() (folio_test_young / mmu_notifier_test_young do not exist here). */
function referenced(k: Kernel, pte: bigint, pfn: number): boolean {
  const f = k.frames;
  return pte_young(pte) || (f.flags[f.head[pfn] || pfn] & PG_referenced) !== 0;
}

/** find_pmd_or_thp_or_none(): the table under the PMD, or why there is none. */
function pte_table(k: Kernel, mm: Mm, haddr: number): { table: number } | { result: ScanResult } {
  if (pmd_leaf_slot(k, mm, haddr) >= 0) return { result: 'SCAN_PMD_MAPPED' };
  const slot = mm.pt.pmdSlot(haddr, false);
  if (slot < 0) return { result: 'SCAN_PMD_NULL' };
  const e = k.mmu.mem.get(slot);
  if (e === 0n) return { result: 'SCAN_PMD_NONE' };
  return { table: Number((e >> 12n) & 0xffffffffn) };
}

/** hpage_collapse_scan_pmd() (khugepaged_scan_pmd() up to 6.0) of the 2 MiB range at `haddr`. */
function hpage_collapse_scan_pmd(k: Kernel, mm: Mm, vma: Vma, haddr: number, cc: CollapseControl): { result: ScanResult; referenced: number; unmapped: number } {
  const t = pte_table(k, mm, haddr);
  if ('result' in t) return { result: t.result, referenced: 0, unmapped: 0 };
  const mem = k.mmu.mem;
  const lim = k.khugepaged;
  let unmapped = 0, noneOrZero = 0, shared = 0, refs = 0, writable = false;
  const out = (result: ScanResult) => ({ result, referenced: refs, unmapped });
  for (let i = 0; i < HPAGE_NR; i++) {
    const pte = mem.get(t.table * PTRS_PER_TABLE + i);
    if (!pte_none(pte) && !pte_present(pte)) {
      // is_swap_pte(): swap entries and markers
      unmapped++;
      if (cc.isKhugepaged && unmapped > lim.maxPtesSwap) return out('SCAN_EXCEED_SWAP_PTE');
      if (is_pte_marker(pte) ? pte_marker_uffd_wp(pte) : pte_swp_uffd_wp(pte)) return out('SCAN_PTE_UFFD_WP');
      continue;
    }
    if (isNoneOrZero(pte)) {
      noneOrZero++;
      if (userfaultfd_armed(vma) || (cc.isKhugepaged && noneOrZero > lim.maxPtesNone)) return out('SCAN_EXCEED_NONE_PTE');
      continue;
    }
    if (pte_uffd_wp(pte)) return out('SCAN_PTE_UFFD_WP');
    if (pte_write(pte)) writable = true;
    const pfn = pte_pfn(pte);
    if (!(k.frames.flags[pfn] & PG_anon)) return out('SCAN_PAGE_ANON');
    if (collapse_page_shared(k, mm, pfn) && ++shared > lim.maxPtesShared && cc.isKhugepaged) return out('SCAN_EXCEED_SHARED_PTE');
    if (cc.isKhugepaged && referenced(k, pte, pfn)) refs++;
  }
  if (!writable && k.variant.collapseNeedsWritablePte) return out('SCAN_PAGE_RO');
  if (cc.isKhugepaged && (refs === 0 || (unmapped > 0 && refs < HPAGE_NR / 2))) return out('SCAN_LACK_REFERENCED_PAGE');
  return out('SCAN_SUCCEED');
}

/** __collapse_huge_page_isolate(): the PTEs checked again with the PMD cleared (after swap-in). */
function collapse_huge_page_isolate(k: Kernel, mm: Mm, vma: Vma, table: number, cc: CollapseControl): ScanResult {
  const mem = k.mmu.mem;
  const lim = k.khugepaged;
  let noneOrZero = 0, shared = 0, refs = 0, writable = false;
  for (let i = 0; i < HPAGE_NR; i++) {
    const pte = mem.get(table * PTRS_PER_TABLE + i);
    if (isNoneOrZero(pte)) {
      noneOrZero++;
      if (userfaultfd_armed(vma) || (cc.isKhugepaged && noneOrZero > lim.maxPtesNone)) return 'SCAN_EXCEED_NONE_PTE';
      continue;
    }
    if (!pte_present(pte)) return 'SCAN_PTE_NON_PRESENT';
    if (pte_uffd_wp(pte)) return 'SCAN_PTE_UFFD_WP';
    const pfn = pte_pfn(pte);
    if (collapse_page_shared(k, mm, pfn) && ++shared > lim.maxPtesShared && cc.isKhugepaged) return 'SCAN_EXCEED_SHARED_PTE';
    if (cc.isKhugepaged && referenced(k, pte, pfn)) refs++;
    if (pte_write(pte)) writable = true;
  }
  if (!writable && k.variant.collapseNeedsWritablePte) return 'SCAN_PAGE_RO';
  if (cc.isKhugepaged && refs === 0) return 'SCAN_LACK_REFERENCED_PAGE';
  return 'SCAN_SUCCEED';
}

/** __collapse_huge_page_swapin(): a read do_swap_page() for each swap PTE of the range. */
function collapse_huge_page_swapin(k: Kernel, mm: Mm, vma: Vma, haddr: number, cpu: number): void {
  const mem = k.mmu.mem;
  for (let i = 0; i < HPAGE_NR; i++) {
    const slot = mm.pt.pteSlot(haddr + i);
    const pte = slot >= 0 ? mem.get(slot) : 0n;
    if (pte_none(pte) || pte_present(pte) || is_pte_marker(pte) || !is_swap_entry(pte)) continue;
    do_swap_page(k, mm, vma, cpu, haddr + i, slot, pte, 0);
  }
}

/** collapse_huge_page() of the 2 MiB range at `haddr`, whose scan succeeded. */
function collapse_huge_page(k: Kernel, mm: Mm, vma: Vma, haddr: number, unmapped: number, cc: CollapseControl, cpu: number): ScanResult {
  if (unmapped > 0) collapse_huge_page_swapin(k, mm, vma, haddr, cpu);
  const mem = k.mmu.mem;
  const f = k.frames;
  const pmdSlot = mm.pt.pmdSlot(haddr, false);
  const tableEntry = mem.get(pmdSlot);
  const table = Number((tableEntry >> 12n) & 0xffffffffn);
  // (checked while the PMD still points to the table: the model's folio_maybe_mapped_shared()
  // finds this mm's mappings through it; the kernel's MM owner tracking needs no page table)
  const isolated = collapse_huge_page_isolate(k, mm, vma, table, cc);
  // pmdp_collapse_flush(): the PMD is cleared and the range flushed at 4 KiB stride (a full flush)
  // before __collapse_huge_page_isolate() runs
  mem.set(pmdSlot, 0n);
  flush_tlb_mm_range(k, mm, haddr, haddr + HPAGE_NR, cpu);
  if (isolated !== 'SCAN_SUCCEED') {
    mem.set(pmdSlot, tableEntry); // pmd_populate(): the table goes back
    return isolated;
  }
  anon_vma_prepare(vma);
  const base = f.allocHuge();
  k.counters[KEv.thpAlloc]++;
  k.counters[KEv.collapseHugePage]++;
  for (let i = 0; i < HPAGE_NR; i++) {
    const p = base + i;
    const slot = table * PTRS_PER_TABLE + i;
    const pte = mem.get(slot);
    let nonzero = false;
    if (!isNoneOrZero(pte)) {
      // __collapse_huge_page_copy_succeeded(): unmap the old page, free it with its swap-cache copy
      const old = pte_pfn(pte);
      nonzero = (f.flags[old] & PG_nonzero) !== 0;
      if (f.mapcount[old] === 1 && f.flags[old] & PG_swapcache) k.freeSwapCache(old, false);
      page_remove_rmap(k, old);
    }
    mem.set(slot, 0n);
    page_add_new_anon_rmap(k, p, mm, haddr + i);
    if (nonzero) f.flags[p] |= PG_nonzero;
  }
  // __collapse_huge_page_copy(): copies (none and zero-page PTEs become zeroed pages)
  k.counters[KEv.thpCopy]++;
  mem.free(table);
  k.mmu.flushPagingStructureCaches();
  let entry = k.arch.pte_mkdirty(pfn_pte(base, vma.pageProt) | _PAGE_PSE);
  if (vma.flags & VM_WRITE) entry = k.arch.pte_mkwrite(entry);
  k.setPte(mm, vma, haddr, pmdSlot, entry);
  return 'SCAN_SUCCEED';
}

/** Scan, then collapse, the 2 MiB range at `haddr`. */
function collapse_range(k: Kernel, mm: Mm, vma: Vma, haddr: number, cc: CollapseControl, cpu: number): ScanResult {
  const scan = hpage_collapse_scan_pmd(k, mm, vma, haddr, cc);
  if (scan.result !== 'SCAN_SUCCEED') return scan.result;
  return collapse_huge_page(k, mm, vma, haddr, scan.unmapped, cc, cpu);
}

/** Results after which madvise_collapse() goes on with the next range (the others stop the call). */
const MADV_COLLAPSE_CONTINUES: ReadonlySet<ScanResult> = new Set(['SCAN_PMD_NULL', 'SCAN_PTE_NON_PRESENT', 'SCAN_PTE_UFFD_WP', 'SCAN_PAGE_RO', 'SCAN_LACK_REFERENCED_PAGE']);

/** madvise_collapse_errno() of the results the model produces. */
function collapse_errno(r: ScanResult): 'EINVAL' | 'EBUSY' {
  return r === 'SCAN_EXCEED_NONE_PTE' ? 'EBUSY' : 'EINVAL';
}

/**
 * madvise(MADV_COLLAPSE) over [start, end) of `mm`. Returns what happened to each 2 MiB range it
 * looked at; throws CollapseError (with the errno) when the kernel fails the call, the results in
 * its text, and MadviseError for memory the model does not collapse (not anonymous).
 */
export function madvise_collapse(k: Kernel, mm: Mm, cpu: number, start: number, end: number): CollapseAttempt[] {
  if (!k.variant.madvCollapse) throw new CollapseError(`MADV_COLLAPSE needs Linux 6.1+; variant ${k.variant.name} does not have it (the kernel returns EINVAL)`, 'EINVAL');
  const cc: CollapseControl = { isKhugepaged: false };
  const attempts: CollapseAttempt[] = [];
  let lastFail: ScanResult | null = null;
  // madvise_walk_vmas(): one madvise_collapse() per VMA part
  vmas: for (const { vma, start: from, end: to } of mm.rangesIn(start, end)) {
    if (!vma.anon) throw new MadviseError(`MADV_COLLAPSE of region ${vma.region} (${vma.kind}): the model collapses anonymous memory only`);
    if (vma.flags & VM_NOHUGEPAGE) throw new CollapseError(`MADV_COLLAPSE of region ${vma.region}: the VMA has MADV_NOHUGEPAGE (the kernel returns EINVAL)`, 'EINVAL');
    // thp_vma_allowable_order() outside a fault (and not for smaps) wants an anon_vma: a VMA
    // that only ever read the zero page, or was never touched, has none
    // ... and, outside a fault, a VMA that holds an aligned 2 MiB range (transhuge_vma_suitable()
    // at vm_end - HPAGE_PMD_SIZE), whatever part of it the call covers
    const lastRange = Math.floor((vma.end - HPAGE_NR) / HPAGE_NR) * HPAGE_NR;
    if (lastRange < vma.start) throw new CollapseError(`MADV_COLLAPSE of region ${vma.region}: the VMA holds no aligned 2 MiB range (the kernel returns EINVAL)`, 'EINVAL');
    if (vma.anonVma === null) throw new CollapseError(`MADV_COLLAPSE of region ${vma.region}: the VMA has no anon_vma yet (nothing but zero-page reads; the kernel returns EINVAL)`, 'EINVAL');
    const hstart = Math.ceil(from / HPAGE_NR) * HPAGE_NR;
    const hend = Math.floor(to / HPAGE_NR) * HPAGE_NR;
    // a call inside one 2 MiB range (hend < hstart): the count of ranges to collapse, computed
    // unsigned, never equals the THPs made, and the call fails with last_fail = SCAN_FAIL
    if (hend < hstart) throw new CollapseError(`MADV_COLLAPSE of pages ${from - start}-${to - start - 1}: inside one 2 MiB range, none covered whole (SCAN_FAIL: the kernel returns EINVAL)`, 'EINVAL');
    for (let haddr = hstart; haddr < hend; haddr += HPAGE_NR) {
      const result = collapse_range(k, mm, vma, haddr, cc, cpu);
      attempts.push({ process: mm.name, vpn: haddr, result });
      if (result === 'SCAN_SUCCEED' || result === 'SCAN_PMD_MAPPED') continue;
      lastFail = result;
      if (!MADV_COLLAPSE_CONTINUES.has(result)) break vmas; // the call returns at once
    }
    // madvise_walk_vmas() stops at the first VMA whose madvise_collapse() returned an error
    if (lastFail) break;
  }
  if (lastFail) {
    const why = attempts.filter((a) => a.result !== 'SCAN_SUCCEED' && a.result !== 'SCAN_PMD_MAPPED').map((a) => `page ${a.vpn - start}: ${a.result}`);
    const errno = collapse_errno(lastFail);
    throw new CollapseError(`MADV_COLLAPSE failed (the kernel returns ${errno}): ${why.join('; ')}`, errno);
  }
  return attempts;
}

/** thp_vma_allowable_order(vma, vm_flags, TVA_ENFORCE_SYSFS, PMD_ORDER) as khugepaged asks it. */
function khugepaged_vma_allowed(k: Kernel, vma: Vma): boolean {
  if (!vma.anon || vma.anonVma === null || vma.flags & VM_NOHUGEPAGE) return false;
  const e = k.thp.enabled;
  return e === 'always' || (e === 'madvise' && (vma.flags & VM_HUGEPAGE) !== 0);
}

/**
 * One full khugepaged scan (khugepaged_do_scan -> khugepaged_scan_mm_slot until khugepaged/full_scans
 * advances): every process, every eligible VMA, every aligned 2 MiB range, on `cpu`. Returns what
 * happened to each range (nothing when `enabled` is never: the daemon is not running).
 */
export function khugepaged_scan(k: Kernel, cpu: number): CollapseAttempt[] {
  if (k.thp.enabled === 'never') return [];
  const cc: CollapseControl = { isKhugepaged: true };
  const attempts: CollapseAttempt[] = [];
  for (const mm of k.procs.values()) {
    for (const vma of [...mm.vmas]) {
      if (!khugepaged_vma_allowed(k, vma)) continue;
      const hstart = Math.ceil(vma.start / HPAGE_NR) * HPAGE_NR;
      const hend = Math.floor(vma.end / HPAGE_NR) * HPAGE_NR;
      for (let haddr = hstart; haddr < hend; haddr += HPAGE_NR) {
        const result = collapse_range(k, mm, vma, haddr, cc, cpu);
        if (result !== 'SCAN_PMD_MAPPED' && result !== 'SCAN_PMD_NULL' && result !== 'SCAN_PMD_NONE') attempts.push({ process: mm.name, vpn: haddr, result });
      }
    }
  }
  return attempts;
}
