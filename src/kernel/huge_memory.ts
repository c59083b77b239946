/**
 * Anonymous transparent huge pages mapped by a PMD leaf (mm/huge_memory.c, and the PMD branches
 * of mm/memory.c, mm/mprotect.c, mm/madvise.c and copy_pmd_range at fork), per kernel version.
 * A THP here is a 2 MiB folio of 512 aligned frames (frames.ts allocHuge) mapped by one PMD with
 * _PAGE_PSE; the x86 walker sets A and D in that PMD as it does in a PTE.
 *
 * Rules, each read in the kernel source (torvalds/linux, mm/huge_memory.c) and the version range
 * it holds for in the variants modelled (5.19, 6.0, 6.2, 6.3, 6.18):
 *  - eligibility (__transparent_hugepage_enabled / thp_vma_allowable_order): the sysfs `enabled`
 *    setting is `always`, or `madvise` and the VMA has VM_HUGEPAGE; never with VM_NOHUGEPAGE; the
 *    aligned 2 MiB range must lie inside the VMA (transhuge_vma_suitable). Anonymous memory only.
 *  - do_huge_pmd_anonymous_page (all versions): anon_vma_prepare first (so even a VMA holding only
 *    the huge zero page has an anon_vma and is copied at fork); a read maps the huge zero page when use_zero_page
 *    is set and the mm does not forbid zero pages (read-only, young from vm_page_prot, clean); a
 *    write allocates and zeroes a 2 MiB folio, mapped young + dirty (+ writable with VM_WRITE), the
 *    pages PageAnonExclusive. A MISSING-registered VMA hands the fault to userfaultfd, whose
 *    UFFDIO_COPY then fills a 4 KiB PTE.
 *  - huge_pmd_set_accessed -> touch_pmd: a fault on a PMD that already allows the access sets A
 *    (and D on a write); x86 pmdp_set_access_flags writes only on a write fault.
 *  - wp_huge_pmd: a uffd-wp PMD raises a userfaultfd WP fault; with UFFD_FEATURE_WP_ASYNC (6.7+)
 *    the PMD is split and the PTE path resolves the fault.
 *  - do_huge_pmd_wp_page: the huge zero page is split into 512 zero-page PTEs (<= 6.12) or, from
 *    6.13 (do_huge_zero_wp_pmd, Dev Jain), replaced by a new THP (old PMD cleared and flushed);
 *    an exclusive THP, or one whose only reference is this PMD, is reused (A + D + RW by software,
 *    no flush); otherwise the PMD is split and the write is retried on the PTE (wp_page_copy of
 *    one 4 KiB page).
 *  - __split_huge_pmd_locked: pmdp_invalidate + flush of the 2 MiB translation, then 512 PTEs
 *    carrying the PMD's write, young, soft-dirty and uffd-wp bits and the pages' AnonExclusive; a
 *    dirty PMD dirties the folio. Whether the PTEs also get D: not before 6.1 (the folio's PG_dirty
 *    held it: "carry over dirty bit when thp splits on pmd", 0ccf7f168e17, went into 6.1, was
 *    partly reverted for sparc64 before 6.1 shipped, 624a2c94f5b7, and re-applied for 6.2,
 *    e833bc503405 "mm/thp: re-apply mkdirty for small pages after split"): variant field
 *    splitHugePmdDirtyPtes. The huge zero page splits into zero-page PTEs (special, uffd-wp kept).
 *  - copy_huge_pmd (fork): an anon THP is shared: AnonExclusive cleared, the parent's PMD
 *    write-protected, the child's PMD write-protected and old, uffd-wp kept only if the child VMA
 *    stays registered; the huge zero page is shared the same way.
 *  - change_huge_pmd (mprotect, uffd-wp): only when the range covers the whole PMD (change_pmd_range
 *    splits it otherwise); pmd_modify keeps A and D; MM_CP_UFFD_WP sets uffd-wp (and write-protects),
 *    RESOLVE clears it only; MM_CP_TRY_CHANGE_WRITABLE maps it writable through
 *    can_change_pmd_writable (exclusive anon, no dirty requirement) from 6.2 (David Hildenbrand,
 *    "mm/huge_memory: try avoiding write faults when changing PMD protection"; before, PMDs were
 *    never upgraded): variant field changeHugePmdTryWritable. The flush follows
 *    huge_pmd_needs_flush, which unlike pte_needs_flush also flushes when A is cleared.
 *  - zap_pmd_range (MADV_DONTNEED, munmap): a whole PMD is zapped (zap_huge_pmd); a partial range
 *    splits it first and zaps PTEs; the folio stays until every page is unmapped (deferred split).
 *  - madvise_free_huge_pmd: whole PMD of a folio no other mapping uses (a PTE of another process
 *    mapping any of its pages counts: total_mapcount/folio_mapcount != 1 up to 6.3,
 *    folio_maybe_mapped_shared in 6.18): the folio is cleaned, the PMD
 *    made old and clean (flushed), stays writable, the folio lazyfree; a partial range splits the
 *    folio (split_folio) and MADV_FREE goes on per PTE; the huge zero page is skipped.
 *
 *  - migration (set_pmd_migration_entry / remove_migration_pmd): the folio moves whole and its
 *    PMD comes back as a PMD, writable/exclusive/soft-dirty kept, A/D from 6.1, uffd-wp from 6.3.
 *
 * Simplifications (documented in docs/kernel-model.md): PAGEMAP_SCAN splits a THP into order-0
 * pages before working on PTEs (the kernel reports the PMD whole; reclaim and MADV_PAGEOUT age and
 * swap it out whole, vmscan.ts); a split made inside a batched operation
 * flushes from the first CPU running the mm; variant hooks (changePte) and the RFC variants'
 * extra rules act on PTEs only, as the RFC patches touched change_pte_range only.
 */
import {
  _PAGE_DIRTY, _PAGE_RW, _PAGE_SAVED_DIRTY, _PAGE_SOFT_DIRTY, PTE_PFN_MASK,
  _PAGE_ACCESSED, _PAGE_PRESENT, _PAGE_PROTNONE, _PAGE_PSE, _PAGE_TABLE, pfn_pte, pte_dirty, pte_mkold, pte_mksoft_dirty,
  pte_mkspecial, pte_mkyoung, pte_needs_flush, pte_pfn, pte_present, pte_protnone, pte_soft_dirty, pte_uffd_wp, pte_write, pte_young,
  pte_clear_uffd_wp,
} from '../x86/pte';
import { PTRS_PER_TABLE } from '../x86/pagetable';
import { KEv } from './events';
import {
  HPAGE_NR, LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, PG_anon, PG_anon_exclusive, PG_dirty, PG_nonzero, PG_swapbacked, PG_swapcache, PG_used, PG_zero,
  ZERO_PFN,
} from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { FAULT_RETRY, FAULT_RETRY_IN_KERNEL } from './memory';
import { anon_vma_prepare, folio_mapped_by_others, page_add_new_anon_rmap } from './rmap';
import type { ChangeProtFlags } from './mprotect';
import { flush_tlb_mm_range, type MmuGather } from './tlbflush';
import { uffd_handle_wp } from './userfaultfd';
import type { MthpMode, MthpSize } from './mthp';
import { VM_HUGEPAGE, VM_NOHUGEPAGE, VM_UFFD_MISSING, VM_WRITE, userfaultfd_wp, vma_soft_dirty_enabled, type Vma } from './vma';

export const HPAGE_PMD_NR = HPAGE_NR;
/** VM_FAULT_FALLBACK: the PMD path did not handle the fault; the PTE path does. */
export const FAULT_FALLBACK = -1;


/** /sys/kernel/mm/transparent_hugepage: `enabled` and `use_zero_page`. */
export interface ThpSettings {
  enabled: 'never' | 'madvise' | 'always';
  useZeroPage: boolean;
  /** hugepages-<size>kB/enabled of the mTHP sizes below 2 MiB (6.8+); missing = never */
  mthp: Partial<Record<MthpSize, MthpMode>>;
}
/** A stock kernel's defaults (CONFIG_TRANSPARENT_HUGEPAGE_MADVISE, use_zero_page 1, no mTHP size enabled). */
export const DEFAULT_THP: ThpSettings = Object.freeze({ enabled: 'madvise', useZeroPage: true, mthp: {} });

const PMD_LEAF_LO = 0x80; // PSE
const PRESENT_LO = 0x101; // PRESENT | PROTNONE

/** Slot of the PMD leaf (present or PROT_NONE) mapping `vpn` in `mm`, or -1. */
export function pmd_leaf_slot(k: Kernel, mm: Mm, vpn: number): number {
  const slot = mm.pt.pmdSlot(vpn, false);
  if (slot < 0) return -1;
  const lo = k.mmu.mem.lo(slot);
  return (lo & PMD_LEAF_LO) !== 0 && (lo & PRESENT_LO) !== 0 ? slot : -1;
}

/** Calls `fn` for each PMD leaf that overlaps [start, end) of `mm`. */
export function for_each_pmd_leaf(k: Kernel, mm: Mm, start: number, end: number, fn: (haddr: number, slot: number) => void): void {
  for (let haddr = start - (start % HPAGE_NR); haddr < end; haddr += HPAGE_NR) {
    const slot = pmd_leaf_slot(k, mm, haddr);
    if (slot >= 0) fn(haddr, slot);
  }
}

export function is_huge_zero_pfn(k: Kernel, pfn: number): boolean {
  return pfn !== ZERO_PFN && (k.frames.flags[pfn] & PG_zero) !== 0;
}

/** thp_vma_allowable_order(vma, PMD_ORDER) for a fault at `haddr`. */
export function thp_vma_allowable(k: Kernel, vma: Vma, haddr: number): boolean {
  if (!vma.anon || vma.flags & VM_NOHUGEPAGE) return false;
  const e = k.thp.enabled;
  if (e === 'never' || (e === 'madvise' && !(vma.flags & VM_HUGEPAGE))) return false;
  return haddr >= vma.start && haddr + HPAGE_NR <= vma.end;
}

/** The first CPU running `mm` (the issuer of a flush inside a batched operation), else 0. */
function runningCpu(k: Kernel, mm: Mm): number {
  for (let c = 0; c < k.cpus; c++) if (k.cpuMm[c] === mm && !k.cpuLazy[c]) return c;
  return 0;
}

/** Write a PMD leaf (set_pmd_at) and check the invariants, as for a PTE. */
function set_pmd_at(k: Kernel, mm: Mm, vma: Vma, haddr: number, slot: number, pmd: bigint): void {
  k.setPte(mm, vma, haddr, slot, pmd | _PAGE_PSE);
}

/** The PMD part of __handle_mm_fault(). Returns FAULT_FALLBACK when the PTE level must handle it. */
export function handle_pmd_fault(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, write: number): number {
  const slot = mm.pt.pmdSlot(vpn, true);
  const pmd = k.mmu.mem.get(slot);
  const haddr = vpn - (vpn % HPAGE_NR);
  if (pmd === 0n) {
    if (!thp_vma_allowable(k, vma, haddr)) return FAULT_FALLBACK;
    return do_huge_pmd_anonymous_page(k, mm, vma, haddr, slot, write);
  }
  if ((pmd & _PAGE_PSE) === 0n || (pmd & (_PAGE_PRESENT | _PAGE_PROTNONE)) === 0n) return FAULT_FALLBACK;
  // a PROT_NONE PMD in an accessible VMA would be a NUMA hinting entry (do_huge_pmd_numa_page()):
  // no spec op makes one, see handle_mm_fault()
  if (pte_protnone(pmd)) throw new Error(`model bug: a PROT_NONE PMD in accessible VMA ${vma.region} (no op creates NUMA hinting PMDs)`);
  if (write && !pte_write(pmd)) {
    const r = wp_huge_pmd(k, mm, vma, cpu, vpn, haddr, slot, pmd);
    if (r !== FAULT_FALLBACK) return r;
    return FAULT_FALLBACK;
  }
  // huge_pmd_set_accessed() -> touch_pmd()
  let entry = pte_mkyoung(pmd);
  if (write) entry = k.arch.pte_mkdirty(entry);
  if (entry !== pmd && write) {
    set_pmd_at(k, mm, vma, haddr, slot, entry);
    k.counters[KEv['fault.accessFlags']]++;
  } else k.counters[KEv['fault.spurious']]++;
  return FAULT_RETRY;
}

/** The huge zero folio (get_huge_zero_page), allocated on first use. */
function huge_zero_pfn(k: Kernel): number {
  if (k.hugeZeroPfn === 0) {
    const base = k.frames.allocHuge();
    for (let p = base; p < base + HPAGE_NR; p++) k.frames.flags[p] = PG_used | PG_zero;
    k.hugeZeroPfn = base;
  }
  return k.hugeZeroPfn;
}

/** A new anon THP at `haddr` of `mm` (folio_add_new_anon_rmap, RMAP_EXCLUSIVE), zeroed. */
function alloc_anon_thp(k: Kernel, mm: Mm, haddr: number): number {
  const f = k.frames;
  const base = f.allocHuge();
  k.counters[KEv.thpAlloc]++;
  k.counters[KEv.thpZero]++;
  for (let i = 0; i < HPAGE_NR; i++) {
    page_add_new_anon_rmap(k, base + i, mm, haddr + i);
  }
  return base;
}

/** mk_huge_pmd + pmd_mkdirty + maybe_pmd_mkwrite: a fresh anon THP's PMD. */
function new_anon_pmd(k: Kernel, vma: Vma, base: number): bigint {
  let entry = k.arch.pte_mkdirty(pfn_pte(base, vma.pageProt) | _PAGE_PSE);
  if (vma.flags & VM_WRITE) entry = k.arch.pte_mkwrite(entry);
  return entry;
}

function do_huge_pmd_anonymous_page(k: Kernel, mm: Mm, vma: Vma, haddr: number, slot: number, write: number): number {
  // userfaultfd_missing(): handle_userfault() from here; the handler's UFFDIO_COPY fills a PTE,
  // which is what the PTE path's MISSING handling does
  if (vma.flags & VM_UFFD_MISSING) return FAULT_FALLBACK;
  // vmf_anon_prepare() (anon_vma_prepare() before 6.8) runs first, also for the huge zero page:
  // unlike a 4 KiB zero-page read, a huge zero-page read gives the VMA an anon_vma, so fork copies it
  anon_vma_prepare(vma);
  if (!write && k.thp.useZeroPage && !k.variant.mmForbidsZeropage) {
    // set_huge_zero_folio(): mk_pmd(zero folio, vm_page_prot) -> read-only, young, clean
    set_pmd_at(k, mm, vma, haddr, slot, pfn_pte(huge_zero_pfn(k), vma.pageProt));
    k.counters[KEv['fault.hugeZeroPage']]++;
    return FAULT_RETRY;
  }
  const base = alloc_anon_thp(k, mm, haddr);
  set_pmd_at(k, mm, vma, haddr, slot, new_anon_pmd(k, vma, base));
  k.counters[KEv['fault.hugeAnonAlloc']]++;
  return FAULT_RETRY;
}

function wp_huge_pmd(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number, haddr: number, slot: number, pmd: bigint): number {
  if (userfaultfd_wp(vma) && pte_uffd_wp(pmd)) {
    if (vma.uffd?.wpAsync && k.variant.uffdWpAsync) {
      __split_huge_pmd(k, mm, vma, haddr, slot, cpu);
      return FAULT_FALLBACK;
    }
    k.counters[KEv['fault.uffdWp']]++;
    uffd_handle_wp(k, mm, vma, cpu, vpn);
    return FAULT_RETRY_IN_KERNEL;
  }
  return do_huge_pmd_wp_page(k, mm, vma, cpu, haddr, slot, pmd);
}

function do_huge_pmd_wp_page(k: Kernel, mm: Mm, vma: Vma, cpu: number, haddr: number, slot: number, pmd: bigint): number {
  const f = k.frames;
  const base = pte_pfn(pmd);
  if (is_huge_zero_pfn(k, base)) {
    if (k.variant.hugeZeroWpAllocatesThp) {
      // do_huge_zero_wp_pmd() (6.13): a new THP replaces the zero PMD, which is cleared and flushed
      const nbase = alloc_anon_thp(k, mm, haddr);
      k.mmu.mem.set(slot, 0n);
      flush_tlb_mm_range(k, mm, haddr, haddr + HPAGE_NR, cpu, true, HPAGE_NR);
      set_pmd_at(k, mm, vma, haddr, slot, new_anon_pmd(k, vma, nbase));
      k.counters[KEv['fault.hugeZeroWpAlloc']]++;
      return FAULT_RETRY;
    }
    __split_huge_pmd(k, mm, vma, haddr, slot, cpu);
    return FAULT_FALLBACK;
  }
  let reuse = (f.flags[base] & PG_anon_exclusive) !== 0;
  if (!reuse) {
    // folio_ref_count() == 1 (+ swap cache): this PMD is the folio's only mapping
    let only = true;
    for (let p = base; p < base + HPAGE_NR && only; p++) if (f.mapcount[p] !== 1) only = false;
    if (only) {
      if (f.flags[base] & PG_swapcache) for (let p = base; p < base + HPAGE_NR; p++) k.freeSwapCache(p);
      for (let p = base; p < base + HPAGE_NR; p++) f.flags[p] |= PG_anon_exclusive;
      reuse = true;
    }
  }
  if (!reuse) {
    __split_huge_pmd(k, mm, vma, haddr, slot, cpu);
    return FAULT_FALLBACK;
  }
  let entry = k.arch.pte_mkdirty(pte_mkyoung(pmd));
  if (vma.flags & VM_WRITE) entry = k.arch.pte_mkwrite(entry);
  set_pmd_at(k, mm, vma, haddr, slot, entry);
  k.counters[KEv['fault.hugeWpReuse']]++;
  return FAULT_RETRY;
}

/**
 * __split_huge_pmd() of the PMD leaf at `haddr` (slot `slot`): 512 PTEs in a new table, the 2 MiB
 * translation flushed from `cpu` (pmdp_invalidate -> flush_pmd_tlb_range).
 */
export function __split_huge_pmd(k: Kernel, mm: Mm, vma: Vma, haddr: number, slot: number, cpu: number = runningCpu(k, mm)): void {
  const mem = k.mmu.mem;
  const f = k.frames;
  const old = mem.get(slot);
  const base = pte_pfn(old);
  k.counters[KEv.splitHugePmd]++;
  const table = mem.alloc();
  const first = table * PTRS_PER_TABLE;
  mem.set(slot, (BigInt(table) << 12n) | _PAGE_TABLE);
  // The kernel splits the PMD before a VMA boundary moves inside it (vma_adjust_trans_huge), so
  // every PTE gets the protection the VMA had; the model may have moved the boundary already
  // (Mm.vmasIn), so each page takes the protection of the VMA it is in now, which the caller's
  // change (if any) then rewrites for its own range.
  const vmaOf = (vpn: number): Vma => (vpn >= vma.start && vpn < vma.end ? vma : (mm.findVma(vpn) ?? vma));
  if (is_huge_zero_pfn(k, base)) {
    // __split_huge_zero_page_pmd(): zero-page PTEs, special, uffd-wp kept
    for (let i = 0; i < HPAGE_NR; i++) {
      const pv = vmaOf(haddr + i);
      let e = pte_mkspecial(pfn_pte(ZERO_PFN, pv.pageProt));
      if (pte_uffd_wp(old)) e = k.arch.pte_mkuffd_wp(e);
      k.setPte(mm, pv, haddr + i, first + i, e);
    }
  } else {
    const write = pte_write(old), young = pte_young(old), dirty = pte_dirty(old);
    const softDirty = pte_soft_dirty(old), uffdWp = pte_uffd_wp(old);
    if (dirty) for (let p = base; p < base + HPAGE_NR; p++) f.flags[p] |= PG_dirty; // folio_set_dirty
    for (let i = 0; i < HPAGE_NR; i++) {
      const pv = vmaOf(haddr + i);
      let e = pfn_pte(base + i, pv.pageProt);
      // (a page whose VMA lost VM_WRITE in the model's early boundary move is the one the
      // caller write-protects next: the kernel's transient writable PTE is skipped)
      if (write && pv.flags & VM_WRITE) e = k.arch.pte_mkwrite(e);
      if (!young) e = pte_mkold(e);
      if (dirty && k.variant.splitHugePmdDirtyPtes) e = k.arch.pte_mkdirty(e);
      if (softDirty) e = pte_mksoft_dirty(e);
      if (uffdWp) e = k.arch.pte_mkuffd_wp(e);
      k.setPte(mm, pv, haddr + i, first + i, e);
    }
  }
  flush_tlb_mm_range(k, mm, haddr, haddr + HPAGE_NR, cpu, true, HPAGE_NR);
}

/** Split the PMD mapping `vpn` in `mm`, if a PMD leaf maps it (split_huge_pmd_address). */
export function split_huge_pmd_address(k: Kernel, mm: Mm, vpn: number, cpu?: number, folio?: number): void {
  const slot = pmd_leaf_slot(k, mm, vpn);
  if (slot < 0) return;
  // __split_huge_pmd() with a folio splits only a PMD that maps that folio: after fork and a
  // zap, another process of the family may map a different THP at the same address
  if (folio !== undefined && pte_pfn(k.mmu.mem.get(slot)) !== folio) return;
  const vma = mm.findVma(vpn)!;
  __split_huge_pmd(k, mm, vma, vpn - (vpn % HPAGE_NR), slot, cpu);
}

/**
 * split_folio() of the THP holding `pfn`: every PMD mapping it is split (in every mm of its fork
 * family) and its pages become order-0 folios with the state they had.
 */
export function split_huge_page(k: Kernel, pfn: number, cpu?: number): void {
  const f = k.frames;
  const base = f.head[pfn];
  if (base === 0 || is_huge_zero_pfn(k, base)) return;
  const fam = k.families.get(f.owner[base]);
  const haddr = f.index[base];
  if (fam) for (const mm of fam.mms) split_huge_pmd_address(k, mm, haddr, cpu, base);
  k.counters[KEv.splitHugePage]++;
  const nr = f.folioNr(base);
  // split_folio() unmaps the folio first (unmap_folio -> try_to_migrate_one, 5.19-6.18): a dirty
  // PTE dirties the (still large) folio, and __split_huge_page_tail() copies PG_dirty from the
  // head to every tail, so all its pages come out dirty when any mapping of it was
  if (fam && !(f.flags[base] & PG_dirty)) {
    let dirty = false;
    for (let p = base; p < base + nr && !dirty; p++) {
      for (const mm of fam.mms) {
        const slot = mm.pt.pteSlot(f.index[p]);
        if (slot < 0) continue;
        const pte = k.mmu.mem.get(slot);
        if (pte_present(pte) && pte_pfn(pte) === p && pte_dirty(pte)) dirty = true;
      }
    }
    if (dirty) for (let p = base; p < base + nr; p++) f.flags[p] |= PG_dirty;
  }
  f.unlinkFolio(base);
  // remap_page(RMP_USE_SHARED_ZEROPAGE) -> try_to_map_unused_to_zeropage() (6.12+): a page that
  // holds only zeros is mapped to the shared zero page (special, read-only; soft-dirty and uffd-wp
  // kept, as the stable fixes do) and freed
  const remap = k.variant.splitRemapsZeroSubpages && !k.variant.mmForbidsZeropage;
  const mem = k.mmu.mem;
  for (let p = base; p < base + nr; p++) {
    if (remap && fam && (f.flags[p] & (PG_anon | PG_nonzero)) === PG_anon && f.mapcount[p] > 0) {
      const vpn = f.index[p];
      for (const mm of fam.mms) {
        const slot = mm.pt.pteSlot(vpn);
        const vma = mm.findVma(vpn);
        if (slot < 0 || !vma) continue;
        const pte = mem.get(slot);
        if (!pte_present(pte) || pte_pfn(pte) !== p) continue;
        let e = pte_mkspecial(pfn_pte(ZERO_PFN, vma.pageProt));
        if (pte_soft_dirty(pte)) e = pte_mksoft_dirty(e);
        if (pte_uffd_wp(pte)) e = k.arch.pte_mkuffd_wp(e);
        k.setPte(mm, vma, vpn, slot, e);
        f.mapcount[p]--;
      }
    }
    // pages no mapping holds any more are freed with the split (free_page_and_swap_cache)
    if (f.mapcount[p] <= 0 && !(f.flags[p] & PG_swapcache) && f.flags[p] & PG_used) f.free(p);
  }
}

/** What set_pmd_migration_entry() keeps of a PMD in its migration entry (a PMD swap entry). */
export interface PmdMigrationEntry {
  readonly mm: Mm;
  readonly vma: Vma;
  readonly haddr: number;
  readonly slot: number;
  /** writable entry (the PMD was writable) */
  readonly write: boolean;
  /** young and dirty: remembered from 6.1 (make_migration_entry_young/dirty) */
  readonly young: boolean;
  readonly dirty: boolean;
  readonly softDirty: boolean;
  /** pmd_swp_mkuffd_wp: only from 6.3 ("mm/userfaultfd: fix uffd-wp handling for THP migration entries") */
  readonly uffdWp: boolean;
}

/**
 * set_pmd_migration_entry() (mm/huge_memory.c, all modelled versions, with
 * ARCH_ENABLE_THP_MIGRATION as on x86-64): the PMD is invalidated and its 2 MiB translation
 * flushed (pmdp_invalidate), a dirty PMD dirties the folio, and the PMD becomes a migration
 * entry (writable, readable-exclusive or readable: the page's AnonExclusive travels with it)
 * keeping soft-dirty; A and D from 6.1 (variant field migrationKeepsYoungDirty); uffd-wp from 6.3
 * (pmdMigrationKeepsUffdWp: 5.19-6.2 dropped it here, though remove_migration_pmd looked for it).
 * The model leaves the PMD empty while the folio is copied; nothing runs in between.
 */
export function set_pmd_migration_entry(k: Kernel, mm: Mm, vma: Vma, haddr: number, slot: number, cpu: number): PmdMigrationEntry {
  const pmd = k.mmu.mem.get(slot);
  const base = pte_pfn(pmd);
  k.mmu.mem.set(slot, 0n);
  flush_tlb_mm_range(k, mm, haddr, haddr + HPAGE_NR, cpu, true, HPAGE_NR);
  if (pte_dirty(pmd)) for (let p = base; p < base + HPAGE_NR; p++) k.frames.flags[p] |= PG_dirty; // folio_mark_dirty
  const keepAD = k.variant.migrationKeepsYoungDirty;
  return {
    mm, vma, haddr, slot,
    write: pte_write(pmd),
    young: keepAD && pte_young(pmd),
    dirty: keepAD && pte_dirty(pmd),
    softDirty: pte_soft_dirty(pmd),
    uffdWp: k.variant.pmdMigrationKeepsUffdWp && pte_uffd_wp(pmd),
  };
}

/**
 * remove_migration_pmd() (mm/huge_memory.c): the new folio `nbase` mapped by a PMD built from
 * vm_page_prot: old and clean unless the entry remembered A and D (6.1+; D only if the folio is
 * still dirty), soft-dirty and uffd-wp (write-protected) as the entry kept them, writable if the
 * entry was (and the VMA still allows it). No flush: the entry was not present.
 */
export function remove_migration_pmd(k: Kernel, e: PmdMigrationEntry, nbase: number): void {
  // (in 6.18's order: write, uffd-wp, then A and D, so a saved-dirty PTE arch keeps D in the D bit)
  let pmd = pfn_pte(nbase, e.vma.pageProt) | _PAGE_PSE;
  if (e.softDirty) pmd = pte_mksoft_dirty(pmd);
  if (e.write && e.vma.flags & VM_WRITE) pmd = k.arch.pte_mkwrite(pmd);
  else if (e.uffdWp) pmd = k.arch.pte_mkuffd_wp(pmd);
  if (!e.young) pmd = pte_mkold(pmd);
  if (e.dirty && k.frames.flags[nbase] & PG_dirty) pmd = k.arch.pte_mkdirty(pmd);
  set_pmd_at(k, e.mm, e.vma, e.haddr, e.slot, pmd);
}

/** huge_pmd_needs_flush() (x86): pte_flags_need_flush without ignoring A. */
function huge_pmd_needs_flush(old: bigint, n: bigint): boolean {
  if (pte_needs_flush(old, n)) return true;
  return (old & _PAGE_PRESENT) !== 0n && (old & _PAGE_ACCESSED) !== 0n && (n & _PAGE_ACCESSED) === 0n;
}

/** can_change_pmd_writable() (6.2+). */
function can_change_pmd_writable(k: Kernel, vma: Vma, pmd: bigint): boolean {
  if (!(vma.flags & VM_WRITE) || pte_protnone(pmd)) return false;
  if (vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pmd)) return false;
  if (userfaultfd_wp(vma) && pte_uffd_wp(pmd)) return false;
  if (vma.shared) return pte_dirty(pmd);
  const base = pte_pfn(pmd);
  if (is_huge_zero_pfn(k, base)) return false;
  const fl = k.frames.flags[base];
  return (fl & PG_anon) !== 0 && (fl & PG_anon_exclusive) !== 0;
}

/**
 * change_pmd_range() at the PMD covering `vpn`, for change_protection() over [vpn, end): a PMD
 * leaf the range covers whole goes through change_huge_pmd(); one it covers in part is split
 * (the caller then changes PTEs). Returns the pages handled here (the whole PMD), or 0.
 */
export function change_pmd_range(k: Kernel, tlb: MmuGather, vma: Vma, vpn: number, end: number, newprot: bigint, cp: ChangeProtFlags): number {
  const mm = vma.mm;
  const slot = pmd_leaf_slot(k, mm, vpn);
  if (slot < 0) return 0;
  const haddr = vpn - (vpn % HPAGE_NR);
  if (vpn !== haddr || end - haddr < HPAGE_NR) {
    __split_huge_pmd(k, mm, vma, haddr, slot);
    return 0;
  }
  const mem = k.mmu.mem;
  const old = mem.get(slot);
  k.counters[KEv.changeHugePmd]++;
  let n = k.arch.pte_modify(old, newprot); // keeps PSE (bit 7 is in _HPAGE_CHG_MASK), A, D
  if (cp.uffdWp) n = k.arch.pte_mkuffd_wp(n);
  else if (cp.uffdWpResolve) n = pte_clear_uffd_wp(n);
  if (cp.tryChangeWritable && k.variant.changeHugePmdTryWritable && !pte_write(n) && can_change_pmd_writable(k, vma, n)) {
    n = k.arch.pte_mkwrite(n);
  }
  if (n !== old) {
    if (pte_write(n) && !pte_write(old) && pte_dirty(n)) k.counters[KEv.mkwriteDirtyPte]++;
    set_pmd_at(k, mm, vma, haddr, slot, n);
    if (huge_pmd_needs_flush(old, n)) tlb.addPmd(haddr);
  }
  return HPAGE_NR;
}

/** folio_remove_rmap_pmd(): one mapping of each page less; a THP no longer mapped is freed. */
function remove_rmap_pmd(k: Kernel, base: number): void {
  const f = k.frames;
  let mapped = false, swapcache = false;
  for (let p = base; p < base + HPAGE_NR; p++) {
    if (f.mapcount[p] > 0) f.mapcount[p]--;
    if (f.mapcount[p] > 0) mapped = true;
    if (f.flags[p] & PG_swapcache) swapcache = true;
  }
  if (!mapped && !swapcache && f.head[base] === base) f.freeHuge(base);
}

/** zap_huge_pmd(): clear a PMD leaf (flush gathered at 2 MiB stride), unmap its folio. */
export function zap_huge_pmd(k: Kernel, tlb: MmuGather, haddr: number, slot: number): void {
  const mem = k.mmu.mem;
  const old = mem.get(slot);
  mem.set(slot, 0n);
  k.counters[KEv.zapHugePmd]++;
  tlb.addPmd(haddr);
  const base = pte_pfn(old);
  if (is_huge_zero_pfn(k, base)) return;
  remove_rmap_pmd(k, base);
}

/**
 * The PMD branches of zap_pmd_range (MADV_DONTNEED, munmap), madvise_free_pte_range (MADV_FREE)
 * and madvise_cold_or_pageout_pte_range over [from, to) of `vma`; they run before the PTE walk,
 * which then finds split PMDs as PTE tables. MADV_PAGEOUT adds the THPs of the PMDs it covers
 * whole to `pageout` (5.19-6.18 read: isolated whole for reclaim_pages()).
 */
export function madvise_huge_pmds(
  k: Kernel, tlb: MmuGather, vma: Vma, from: number, to: number, advice: 'dontneed' | 'free' | 'cold' | 'pageout' | 'unmap', pageout?: number[],
): number[] {
  /** first frames of the shared, partly covered large folios whose PTEs the caller must skip */
  const skip: number[] = [];
  const mm = vma.mm;
  const f = k.frames;
  for_each_pmd_leaf(k, mm, from, to, (haddr, slot) => {
    const whole = from <= haddr && to >= haddr + HPAGE_NR;
    const pmd = k.mmu.mem.get(slot);
    const base = pte_pfn(pmd);
    if (advice === 'dontneed' || advice === 'unmap') {
      if (whole) zap_huge_pmd(k, tlb, haddr, slot);
      else __split_huge_pmd(k, mm, vma, haddr, slot);
      return;
    }
    // MADV_FREE, MADV_COLD and MADV_PAGEOUT leave the huge zero page's PMD alone, whole or not
    if (is_huge_zero_pfn(k, base)) return;
    if (advice === 'free') {
      // madvise_free_huge_pmd(): skip a folio mapped anywhere else, by a PTE of any of its pages
      // too (5.19-6.2 total_mapcount() != 1, 6.3 folio_mapcount() != 1, 6.18
      // folio_maybe_mapped_shared(); the same test while the PMD is this mm's only mapping of it)
      if (folio_mapped_by_others(k, mm, base)) return;
      if (!whole) {
        split_huge_page(k, base);
        return;
      }
      for (let p = base; p < base + HPAGE_NR; p++) f.flags[p] &= ~PG_dirty;
      if (pte_young(pmd) || pte_dirty(pmd)) {
        set_pmd_at(k, mm, vma, haddr, slot, k.arch.pte_mkclean(pte_mkold(pmd)));
        tlb.addPmd(haddr);
      }
      // folio_mark_lazyfree()
      for (let p = base; p < base + HPAGE_NR; p++) {
        if (f.flags[p] & PG_swapbacked && !(f.flags[p] & PG_swapcache)) {
          f.flags[p] &= ~PG_swapbacked;
          f.lruAdd(p, LRU_INACTIVE_FILE);
        }
      }
      return;
    }
    // MADV_COLD / MADV_PAGEOUT: "do not interfere with other mappings of this folio": 5.19-6.2
    // test the head page's mapcount (page_mapcount(), PMD mappings included), 6.18 whether any
    // other process maps the folio (folio_maybe_mapped_shared(); 6.3's folio_mapcount() != 1 is
    // modelled as 6.2's, see largeFolioSharedTest)
    if (folio_maybe_mapped_shared(k, mm, base)) return;
    if (whole) {
      // a whole PMD: made old (MADV_PAGEOUT only up to 6.8, pageoutYoung), then deactivated
      // (MADV_COLD) or isolated for reclaim_pages() (MADV_PAGEOUT), which swaps it out whole
      // (shrink_folio() in vmscan.ts)
      if (pte_young(pmd) && (advice === 'cold' || k.variant.pageoutYoung === 'v5.19-clear-young')) {
        set_pmd_at(k, mm, vma, haddr, slot, pte_mkold(pmd));
        tlb.addPmd(haddr);
      }
      if (advice === 'cold') for (let p = base; p < base + HPAGE_NR; p++) f.lruAdd(p, LRU_INACTIVE_ANON);
      else pageout?.push(base);
      return;
    }
    // a PMD the range covers in part: split_huge_page(), then the PTE walk
    split_huge_page(k, base);
  });
  if (advice === 'dontneed' || advice === 'unmap') return skip;
  // PTE-mapped large folios (mTHP, or a THP whose PMD was split): madvise_free_pte_range and
  // madvise_cold_or_pageout_pte_range split them, unless another process maps them. From 6.10
  // ("avoid split during MADV_PAGEOUT and MADV_COLD", "optimize lazyfreeing with mTHP") a folio
  // whose PTEs from its first page on form one folio_pte_batch (consecutive frames, the same bits
  // but A, D, soft-dirty and W) inside the range is handled whole, PTE by PTE, without a split.
  const mem = k.mmu.mem;
  for (let vpn = from; vpn < to; vpn++) {
    const slot = mm.pt.pteSlot(vpn);
    if (slot < 0) continue;
    const pte = mem.get(slot);
    if (!pte_present(pte)) continue;
    const base = f.head[pte_pfn(pte)];
    if (base === 0 || is_huge_zero_pfn(k, base)) continue;
    const first = f.index[base], nr = f.folioNr(base);
    if (k.variant.madviseBatchesLargeFolios && first >= from && first + nr <= to && folio_pte_batch_whole(k, mm, first, base, nr)) {
      vpn = first + nr - 1;
      continue;
    }
    if (folio_maybe_mapped_shared(k, mm, base)) {
      // "continue" for each of its PTEs: neither split nor cleaned (6.18 madvise_free_pte_range)
      skip.push(base);
      vpn = first + nr - 1;
      continue;
    }
    split_huge_page(k, base);
  }
  return skip;
}

/** Is the large folio `base` mapped by a process other than `mm` (k.variant.largeFolioSharedTest)? */
export function folio_maybe_mapped_shared(k: Kernel, mm: Mm, base: number): boolean {
  const f = k.frames;
  if (k.variant.largeFolioSharedTest === 'v5.19-first-page-mapcount') return f.mapcount[base] > 1;
  return folio_mapped_by_others(k, mm, base);
}

/** Bits folio_pte_batch() ignores when comparing PTEs (A and W always; D and soft-dirty with FPB_IGNORE_*). */
const BATCH_IGNORED = _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SAVED_DIRTY | _PAGE_SOFT_DIRTY | _PAGE_RW | PTE_PFN_MASK;

/**
 * folio_pte_batch_flags() (mm/internal.h) as change_pte_range() calls it (6.17+,
 * FPB_RESPECT_SOFT_DIRTY | FPB_RESPECT_WRITE): how many PTEs from `vpn` (whose present PTE is
 * `pte`, mapping a page of a large folio) map the folio's next pages in order with the same bits
 * but A and D, up to `maxNr` and the folio's end.
 */
export function folio_pte_batch_respect(k: Kernel, mm: Mm, vpn: number, pte: bigint, maxNr: number): number {
  const f = k.frames;
  const pfn = pte_pfn(pte);
  const base = f.head[pfn];
  if (base === 0) return 1;
  const max = Math.min(maxNr, base + f.folioNr(base) - pfn);
  const ignored = _PAGE_ACCESSED | _PAGE_DIRTY | _PAGE_SAVED_DIRTY | PTE_PFN_MASK;
  const mem = k.mmu.mem;
  let nr = 1;
  while (nr < max) {
    const slot = mm.pt.pteSlot(vpn + nr);
    if (slot < 0) break;
    const next = mem.get(slot);
    if (!pte_present(next) || pte_pfn(next) !== pfn + nr || ((next ^ pte) & ~ignored) !== 0n) break;
    nr++;
  }
  return nr;
}

/** Do the PTEs at `first`.. map the folio `base` page by page as one batch? */
function folio_pte_batch_whole(k: Kernel, mm: Mm, first: number, base: number, nr: number): boolean {
  const mem = k.mmu.mem;
  const slot0 = mm.pt.pteSlot(first);
  if (slot0 < 0) return false;
  const pte0 = mem.get(slot0);
  for (let i = 0; i < nr; i++) {
    const slot = mm.pt.pteSlot(first + i);
    if (slot < 0) return false;
    const pte = mem.get(slot);
    if (!pte_present(pte) || pte_pfn(pte) !== base + i || ((pte ^ pte0) & ~BATCH_IGNORED) !== 0n) return false;
  }
  return true;
}

/**
 * copy_huge_pmd() for every PMD leaf of `src` at fork. Returns [lo, hi) of the parent's pages
 * write-protected (for dup_mmap's flush), or null.
 */
export function copy_huge_pmds(k: Kernel, parent: Mm, child: Mm, src: Vma, dst: Vma): [number, number] | null {
  if (!dst.anon) return null; // "Skip if can be re-fill on fault"
  const f = k.frames;
  const mem = k.mmu.mem;
  let lo = Infinity, hi = -Infinity;
  for_each_pmd_leaf(k, parent, src.start, src.end, (haddr, slot) => {
    let pmd = mem.get(slot);
    const base = pte_pfn(pmd);
    k.counters[KEv.copyHugePmd]++;
    if (!is_huge_zero_pfn(k, base)) {
      for (let p = base; p < base + HPAGE_NR; p++) {
        f.flags[p] &= ~PG_anon_exclusive; // folio_try_dup_anon_rmap_pmd()
        f.mapcount[p]++;
      }
    }
    if (pte_write(pmd)) {
      pmd = k.arch.pte_wrprotect(pmd); // pmdp_set_wrprotect() on the parent
      mem.set(slot, pmd);
      if (haddr < lo) lo = haddr;
      if (haddr + HPAGE_NR > hi) hi = haddr + HPAGE_NR;
    }
    let c = pmd;
    if (!userfaultfd_wp(dst)) c = pte_clear_uffd_wp(c);
    c = pte_mkold(k.arch.pte_wrprotect(c));
    const dslot = child.pt.pmdSlot(haddr, true);
    set_pmd_at(k, child, dst, haddr, dslot, c);
  });
  return lo < hi ? [lo, hi] : null;
}

/** clear_refs_pte_range() on PMD leaves: young clears A (no flush on x86); soft-dirty write-protects and cleans (flushed). */
export function clear_refs_huge(k: Kernel, tlb: MmuGather, vma: Vma, mode: 'soft-dirty' | 'young'): void {
  const mm = vma.mm;
  for_each_pmd_leaf(k, mm, vma.start, vma.end, (haddr, slot) => {
    const pmd = k.mmu.mem.get(slot);
    if (mode === 'young') {
      if (pte_young(pmd)) k.mmu.mem.set(slot, pte_mkold(pmd));
      return;
    }
    const n = k.arch.pte_wrprotect(pmd) & ~(1n << 11n); // clear_soft_dirty_pmd(): wrprotect, clear soft-dirty
    if (n !== pmd) {
      set_pmd_at(k, mm, vma, haddr, slot, n);
      tlb.addPmd(haddr);
    }
  });
}

/** Pages of `mm` whose PMD is dirty, added to `seen` by frame (Kernel.dirtyPages). */
export function dirty_huge_pages(k: Kernel, mm: Mm, start: number, end: number, seen: Uint8Array): number {
  let n = 0;
  for_each_pmd_leaf(k, mm, start, end, (_haddr, slot) => {
    const pmd = k.mmu.mem.get(slot);
    if (!pte_dirty(pmd)) return;
    const base = pte_pfn(pmd);
    for (let p = base; p < base + HPAGE_NR; p++) {
      if (p < seen.length && !seen[p]) {
        seen[p] = 1;
        n++;
      }
    }
  });
  return n;
}

/**
 * vma_adjust_trans_huge() / split_huge_pmd_if_needed(): a VMA boundary about to be made at `start`
 * or `end` inside a PMD leaf splits that PMD first (a PMD cannot straddle two VMAs).
 */
export function split_huge_pmds_at(k: Kernel, mm: Mm, start: number, end: number): void {
  for (const at of start === end ? [start] : [start, end]) if (at % HPAGE_NR !== 0) split_huge_pmd_address(k, mm, at);
}

/** madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE) -> hugepage_madvise(): VMA flags (the range's VMAs split, then merged back). */
export function hugepage_madvise(k: Kernel, mm: Mm, start: number, end: number, advice: 'hugepage' | 'nohugepage'): void {
  const target = (flags: number): number => (advice === 'hugepage' ? (flags & ~VM_NOHUGEPAGE) | VM_HUGEPAGE : (flags & ~VM_HUGEPAGE) | VM_NOHUGEPAGE);
  // madvise_update_vma(): a VMA whose flags do not change is left alone (no split)
  for (const at of [start, end]) {
    const v = mm.findVma(at);
    if (v && at > v.start && target(v.flags) !== v.flags) split_huge_pmds_at(k, mm, at, at);
  }
  for (const vma of mm.vmasIn(start, end)) vma.flags = target(vma.flags);
  mm.mergeAdjacent();
}
