/**
 * Kernel variants: the policy decisions that differ between Linux versions and the patches of
 * the July 2022 thread, as data plus small hooks. Every field names the kernel function (and
 * version) whose behaviour it selects; the mm model reads these fields and nothing else, so a
 * notebook can derive a variant and change one decision without editing the library.
 */
import type { PteArch } from '../x86/pte';

/** Which era of `can_change_pte_writable()` (mm/mprotect.c) is modelled. */
export type CanChangePteWritableEra =
  /** <= v5.19: no such function; change_pte_range upgrades only dirty PTEs of shared
   *  dirty-accountable (writenotify) mappings (MM_CP_DIRTY_ACCT), private PTEs stay RO. */
  | 'v5.19-dirty-acct'
  /** v6.0-v6.1 (64fe24a3e05e): exclusive anon or shared writenotify, but only if pte_dirty(). */
  | 'v6.0-dirty-only'
  /** v6.2+ ("allow clean exclusive anon pages to be writable"): any exclusive anon page. */
  | 'v6.2-anon-exclusive';

/** How UFFDIO_WRITEPROTECT(wp=false) rebuilds the PTE (mm/userfaultfd.c mwriteprotect_range / uffd_wp_range). */
export type UffdUnprotectEra =
  /** <= v6.2: newprot = vm_get_page_prot(vm_flags), no MM_CP_TRY_CHANGE_WRITABLE: a private
   *  PTE stays read-only and the next write takes a wp fault (wp_page_reuse). */
  | 'v5.19-vm_get_page_prot'
  /** v6.3+ ("rely on vma->vm_page_prot in uffd_wp_range()"): MM_CP_TRY_CHANGE_WRITABLE, so
   *  exclusive anon PTEs become writable at once, A and D unchanged. */
  | 'v6.3-try-change-writable';

/** Which memory UFFDIO_REGISTER accepts: vma_can_userfault() (include/linux/userfaultfd_k.h). */
export type VmaCanUserfaultEra =
  /** <= v6.6: anon, shmem and hugetlb only, in every mode (minor: shmem/hugetlb only); file
   *  memory (ext4 page cache) is refused with EINVAL. shmem in wp mode needs
   *  CONFIG_PTE_MARKER_UFFD_WP (v5.19+, on in x86-64 configs), which the model assumes. */
  | 'v5.19-anon-shmem-hugetlb'
  /** v6.7+ (d61ea1cb0095 "userfaultfd: UFFD_FEATURE_WP_ASYNC"): in addition, any memory type
   *  when wp is the only mode requested and the context has UFFD_FEATURE_WP_ASYNC. */
  | 'v6.7-wp-async-any-memory';

/** How do_swap_page() (mm/memory.c) maps an exclusive anon folio it swaps in. */
export type DoSwapPageEra =
  /** v5.19-v6.10: writable (and dirty) only on a write fault; a read swap-in maps it read-only, so
   *  the next write takes a wp fault (wp_page_reuse). Exclusive = the swap PTE's exclusive bit, or
   *  a folio nothing else references once a write fault freed its swap cache (ref count 1). */
  | 'v5.19-write-fault-only'
  /** v6.11+ (c18160dba5ff "mm: swap: reuse exclusive folio directly instead of wp page faults"):
   *  writable on a read fault too (VM_WRITE, no uffd-wp, no soft-dirty tracking), dirty only on a write. */
  | 'v6.11-reuse-exclusive';

/** Whether MADV_PAGEOUT clears the PTEs' Accessed bits (madvise_cold_or_pageout_pte_range()). */
export type PageoutYoungEra =
  /** <= v6.8: MADV_PAGEOUT clears A like MADV_COLD (and flushes), so reclaim sees no reference */
  | 'v5.19-clear-young'
  /** v6.9+ (Barry Song, "mm: madvise: pageout: ignore references rather than clearing young",
   *  posted 2024-02-23 as 20240223041550.77157-1-21cnbao@gmail.com; release inferred from the
   *  posting date): A is left alone and reclaim_pages() ignores references instead */
  | 'v6.9-ignore-references';

/** Remote TLB invalidation style of flush_tlb_mm_range() (arch/x86/mm/tlb.c). */
export type RemoteFlushEra =
  /** IPIs to every CPU running the mm (flush_tlb_multi), lazy-TLB CPUs skipped unless page tables were freed */
  | 'v5.19-ipi'
  /** v6.15+ (4afeb0ed1753 "x86/mm: Enable broadcast TLB invalidation for multi-threaded processes"):
   *  on CPUs with INVLPGB (AMD Zen 3+), an mm seen running on 4 or more CPUs at once gets a global
   *  ASID, and its flushes become INVLPGB + TLBSYNC broadcasts with no IPI */
  | 'v6.15-invlpgb';

/** folio_likely_mapped_shared() / folio_maybe_mapped_shared() (include/linux/mm.h) as madvise uses it. */
export type LargeFolioSharedTest =
  /** <= v6.14: a guess from the folio's first page (its mapcount above 1 means shared); the model
   *  uses this for 5.19-6.3, whose exact tests (page_mapcount, folio_mapcount, estimated sharers)
   *  differ in details not modelled here */
  | 'v5.19-first-page-mapcount'
  /** v6.15+ (per-folio MM owner tracking, "mm/rmap: basic MM owner tracking for large folios"):
   *  exact: shared when any page of the folio is mapped by another process */
  | 'v6.15-mm-owners';

/**
 * do_wp_page() / wp_can_reuse_anon_folio() (mm/memory.c) for a page of a large anon folio (a THP
 * after its PMD was split, an mTHP) that is not PageAnonExclusive, e.g. after fork.
 */
export type WpReuseLargeFolioEra =
  /** v5.19-v6.3 (read in each): the test is the folio's reference count, as for a small folio:
   *  reused only when this PTE is the folio's only reference once its swap cache is freed (no
   *  other page of the folio mapped by anyone, no PMD); otherwise copied. A release between 6.3
   *  and 6.15 refused to reuse any page of a large folio (not modelled by any variant). */
  | 'v5.19-folio-refcount'
  /** v6.15+ (__wp_can_reuse_large_anon_folio(), with the per-folio MM owner tracking of "mm/rmap:
   *  basic MM owner tracking for large folios (!hugetlb)"; read in 6.18): reused when the folio is
   *  mapped more than once in all, only by this process, and has no reference beyond its mappings
   *  (swap cache freed first); the page then becomes PageAnonExclusive. A folio mapped by this one
   *  PTE alone is copied, so that it can be freed. */
  | 'v6.15-mm-owners';

/** What a hook sees for one PTE in change_pte_range (mprotect, uffd writeprotect). */
export interface ChangePteContext {
  readonly vpn: number;
  /** the PTE before the change */
  readonly oldPte: bigint;
  /** the PTE the variant's rules produced */
  readonly newPte: bigint;
  readonly vma: { readonly kind: string; readonly shared: boolean; readonly writable: boolean; readonly uffdWp: boolean };
  readonly page: { readonly anon: boolean; readonly exclusive: boolean; readonly fileMkwrite: boolean } | null;
  readonly cause: 'mprotect' | 'uffd-wp' | 'uffd-unprotect' | 'clear-refs';
  readonly hints: readonly string[];
  readonly arch: PteArch;
}

/** The VMA and page a PTE hook is about (what the kernel's code at that point can see). */
export interface HookVma {
  readonly kind: string;
  readonly shared: boolean;
  readonly writable: boolean;
  readonly uffdWp: boolean;
}
export interface HookPage {
  readonly anon: boolean;
  /** PageAnonExclusive */
  readonly exclusive: boolean;
  /** a page-cache page of a ->page_mkwrite filesystem */
  readonly fileMkwrite: boolean;
}

/**
 * What a hook sees for one PTE that MADV_FREE or MADV_DONTNEED is about to change
 * (madvise_free_pte_range, zap_pte_range). `newPte` is what the rules write: for `free` the PTE
 * made old and clean (pte_mkold, pte_mkclean), for `dontneed` none (0n, zapped).
 */
export interface MadvisePteContext {
  readonly vpn: number;
  readonly advice: 'free' | 'dontneed';
  readonly oldPte: bigint;
  readonly newPte: bigint;
  readonly vma: HookVma;
  readonly page: HookPage | null;
  /** the PTE accessors of this kernel (pte_mkclean, pte_mkdirty, pte_mkwrite, pte_dirty, ...) */
  readonly arch: PteArch;
}

/**
 * What a hook sees for a PTE a fault installs: do_anonymous_page (`anon`), do_swap_page
 * (`swap`), wp_page_reuse (`wp-reuse`) and wp_page_copy (`wp-copy`). `oldPte` is the entry
 * before the fault (none, a swap entry, or the write-protected PTE).
 */
export interface FaultPteContext {
  readonly vpn: number;
  readonly path: 'anon' | 'swap' | 'wp-reuse' | 'wp-copy';
  readonly write: boolean;
  readonly oldPte: bigint;
  readonly newPte: bigint;
  readonly vma: HookVma;
  readonly page: HookPage | null;
  readonly arch: PteArch;
}

/**
 * What a hook sees for one folio at the end of the inactive list (shrink_inactive_list): the
 * rules reclaim it unless a PTE mapping it was young (`referenced`), which activates it.
 */
export interface ReclaimFolioContext {
  /** young PTEs folio_referenced() found (and cleared) */
  readonly referenced: number;
  readonly anon: boolean;
  /** PG_dirty, or D in a PTE mapping it */
  readonly dirty: boolean;
  /** MADV_FREE'd (lazyfree: anon, no longer swap-backed) */
  readonly lazyfree: boolean;
  readonly mapcount: number;
  /** what the rules decided */
  readonly decision: 'reclaim' | 'activate';
}

/**
 * A variant's last say at points where kernels (and proposals) differ. Each hook gets the
 * decision the variant's rules made and returns the one to apply; the arch PTE accessors are on
 * the context. Hooks are functions: to run a variant with hooks in worker threads (`jobs > 1`)
 * or from the CLI, put them in a module (see docs/variants.md).
 */
export interface VariantHooks {
  /** Last say over each PTE change_pte_range commits (mprotect, uffd-wp, clear_refs); return the PTE to write. */
  changePte?: (ctx: ChangePteContext) => bigint;
  /** Each PTE MADV_FREE cleans or MADV_DONTNEED zaps; return the PTE to leave (`oldPte` keeps it as it was). */
  madvisePte?: (ctx: MadvisePteContext) => bigint;
  /** Each PTE an anon, swap-in or write-protect fault installs; return the PTE to install. */
  faultPte?: (ctx: FaultPteContext) => bigint;
  /** Each folio reclaim considers: reclaim it, activate it, or keep it on the inactive list. */
  reclaimFolio?: (ctx: ReclaimFolioContext) => 'reclaim' | 'activate' | 'keep';
}

export interface KernelVariant {
  readonly name: string;
  /** kernel version whose code the baseline rules come from */
  readonly version: string;
  readonly description: string;
  readonly basedOn?: string;
  /** commits, Message-IDs and files the rules come from */
  readonly sources: readonly string[];
  /** PTE accessors: 'saved-dirty' from v6.6 (x86 user shadow stack), else 'classic' */
  readonly pteArch: 'classic' | 'saved-dirty';
  readonly canChangePteWritable: CanChangePteWritableEra;
  readonly uffdUnprotect: UffdUnprotectEra;
  /** vma_wants_writenotify() also for uffd-wp VMAs (51d3d5eb74ff, v6.2 hotfix) */
  readonly writenotifyForUffdWp: boolean;
  /** RFC 01 (MM_CP_WILL_NEED): with ACCESS_LIKELY/WRITE_LIKELY, mkyoung, and mkdirty only if the
   *  PTE ends up writable (the order Nadav settled on in the thread) */
  readonly uffdAccessHints: boolean;
  /** RFC 02: WRITE_LIKELY adds MM_CP_TRY_CHANGE_WRITABLE to uffd unprotect (pre-6.3 kernels) */
  readonly uffdWriteLikelyTriesWritable: boolean;
  /** Peter Xu's suggestion (YtcYVMoSRVxRH70Z@xz-m1.local, 19 Jul 2022): the pte_mkdirty RFC 01 adds
   *  inside change_pte_range's MM_CP_TRY_CHANGE_WRITABLE branch made unconditional (no hint needed),
   *  for mprotect and uffd alike; write grants from pte_modify() are untouched */
  readonly mkdirtyOnMkwrite: boolean;
  /** what-if (no one proposed it): mkdirty on every write grant change_pte_range commits, including
   *  pte_modify() grants from a writable vm_page_prot (shmem, shared VMAs without writenotify) */
  readonly mkdirtyOnEveryWriteGrant: boolean;
  /** RFC 08-11: permission promotion (RO->RW, NX cleared) flushes only the local CPU; stale CPUs
   *  take a spurious #PF and flush_tlb_fix_spurious_fault() flushes them if their TLB generation is old */
  readonly relaxedPromotionFlush: boolean;
  /** RFC 12: RW->RO of a clean PTE needs no flush (a cached D=0 entry must re-walk to write) */
  readonly cleanWrprotectNoFlush: boolean;
  /** 2e3468778dbe (v6.1): migration entries remember A and D */
  readonly migrationKeepsYoungDirty: boolean;
  /** set_pmd_migration_entry() keeps the PMD's uffd-wp bit (6.3, "mm/userfaultfd: fix uffd-wp
   *  handling for THP migration entries"); 5.19-6.2 lose it when a THP migrates */
  readonly pmdMigrationKeepsUffdWp: boolean;
  /** UFFD_FEATURE_WP_UNPOPULATED (v6.4) */
  readonly uffdWpUnpopulated: boolean;
  /** UFFD_FEATURE_WP_ASYNC and the PAGEMAP_SCAN ioctl (v6.7) */
  readonly uffdWpAsync: boolean;
  /** do_swap_page(): does a read swap-in of an exclusive folio map it writable */
  readonly doSwapPage: DoSwapPageEra;
  /** MADV_PAGEOUT and the Accessed bit (visible when reclaim keeps a re-dirtied lazyfree page) */
  readonly pageoutYoung: PageoutYoungEra;
  /** remote TLB flushes: IPIs only, or INVLPGB broadcasts for mms on 4+ CPUs (needs the CPU feature) */
  readonly remoteFlush: RemoteFlushEra;
  /** which VMAs UFFDIO_REGISTER accepts (vma_can_userfault()) */
  readonly vmaCanUserfault: VmaCanUserfaultEra;
  /** mm_forbids_zeropage(): anon read faults allocate a page (mapped young+dirty+RW) instead of
   *  mapping the shared zero page. False in mainline x86 (true only for s390 KVM guests), but some
   *  vendor kernels behave so; `ptlab diff` derives such a variant when the host does. */
  readonly mmForbidsZeropage: boolean;
  /** __split_huge_pmd_locked() marks each PTE dirty when the PMD was (6.2+, e833bc503405; 5.19-6.1
   *  leave the PTEs clean and only the folio dirty) */
  readonly splitHugePmdDirtyPtes: boolean;
  /** change_huge_pmd() honours MM_CP_TRY_CHANGE_WRITABLE through can_change_pmd_writable() (6.2+) */
  readonly changeHugePmdTryWritable: boolean;
  /** do_huge_zero_wp_pmd() (6.13+): a write to the huge zero page maps a new THP instead of
   *  splitting the PMD into zero-page PTEs */
  readonly hugeZeroWpAllocatesThp: boolean;
  /** split_huge_page() maps a THP's zero-filled pages to the shared zero page (6.12+, "mm: remap
   *  unused subpages to shared zeropage when splitting isolated thp") */
  readonly splitRemapsZeroSubpages: boolean;
  /** madvise(MADV_COLLAPSE) exists (6.1+) */
  readonly madvCollapse: boolean;
  /** multi-size anonymous THP: alloc_anon_folio() in do_anonymous_page (6.8+) */
  readonly anonMthp: boolean;
  /** MADV_FREE/COLD/PAGEOUT handle a PTE-mapped large folio they cover whole without splitting
   *  it when its PTEs form one folio_pte_batch (6.10+); before, every such folio is split */
  readonly madviseBatchesLargeFolios: boolean;
  /** How MADV_FREE/COLD/PAGEOUT decide that a PTE-mapped large folio they do not cover whole is
   *  "mapped shared" (then its PTEs are skipped, neither split nor cleaned), and how a collapse
   *  counts shared pages against max_ptes_shared (khugepaged.ts). */
  readonly largeFolioSharedTest: LargeFolioSharedTest;
  /** change_pte_range() handles the PTEs of a large folio in batches (folio_pte_batch) whose A and
   *  D are gathered and written to every PTE of the batch (6.17+) */
  readonly changePteBatchesLargeFolios: boolean;
  /** do_wp_page(): when a write reuses a shared-looking page of a large anon folio instead of copying it */
  readonly wpReuseLargeFolio: WpReuseLargeFolioEra;
  /** hpage_collapse_scan_pmd() / __collapse_huge_page_isolate() refuse a range with no writable
   *  PTE (SCAN_PAGE_RO): up to the 6.18 variant's kernel, which collapses read-only ranges too
   *  (Dev Jain, "mm: enable khugepaged anonymous collapse on non-writable regions") */
  readonly collapseNeedsWritablePte: boolean;
  /** MADV_DONTNEED frees a PTE table it leaves empty when it covers the table's whole range (6.14+, pt_reclaim) */
  readonly reclaimEmptyPteTables: boolean;
  /** shrink_folio_list() (mm/vmscan.c) swaps out a large anon folio that no PMD maps whole, in one
   *  run of swap slots (6.10+, "mm: vmscan: avoid split during shrink_folio_list()"; the model splits
   *  partially mapped folios first, as 6.12+ do); before, only a PMD-mapped THP is swapped whole
   *  and a PTE-mapped one is split first ("Split folios without a PMD map right away", 5.19-6.3 read) */
  readonly swapOutPteMappedLargeFolios: boolean;
  /** do_swap_page() / alloc_swap_folio() (mm/memory.c): on a SWP_SYNCHRONOUS_IO device (zram), a
   *  fault on an unshared swap entry reads a large folio of an enabled mTHP order when the aligned
   *  range's PTEs are contiguous swap entries (6.13+, "mm: support large folios swap-in for sync io
   *  devices"); before, every swap-in is order 0 */
  readonly swapinLargeFolios: boolean;
  /** swap_writeout() / swap_read_folio() (mm/page_io.c): an all-zero folio is only noted in the
   *  swap device's zeromap, never written, and a swap-in of it is zero-filled without device I/O
   *  (6.12, "mm: store zero pages to be swapped out in a bitmap"); before, it is written and read */
  readonly swapZeromap: boolean;
  /** a module (absolute path or package name) exporting the hooks: how a variant with hooks
   *  reaches worker threads, which cannot receive functions */
  readonly hooksModule?: string;
  readonly hooks: VariantHooks;
}

export type VariantOverrides = Partial<Omit<KernelVariant, 'name' | 'hooks'>> & { name: string; hooks?: VariantHooks };

/** The hooks a hooks module exports (`exports.changePte = (ctx) => ...`, or `exports.hooks = {...}`). */
export function loadHooksModule(module: string): VariantHooks {
  const m: VariantHooks & { hooks?: VariantHooks } = require(module);
  const hooks: VariantHooks = { ...(m.hooks ?? {}) };
  if (m.changePte) hooks.changePte = m.changePte;
  if (m.madvisePte) hooks.madvisePte = m.madvisePte;
  if (m.faultPte) hooks.faultPte = m.faultPte;
  if (m.reclaimFolio) hooks.reclaimFolio = m.reclaimFolio;
  return hooks;
}

/**
 * Derive a variant from another, changing some decisions (e.g. in a notebook cell):
 * `deriveVariant(getVariant('linux-6.18'), { name: 'what-if', hooks: { changePte: c => ... } })`.
 * Hooks written as functions work in this thread; for worker threads (`run({ jobs: 2 })`) put
 * them in a module and give its path: `{ name: 'what-if', hooksModule: '/abs/path/hooks.js' }`.
 */
export function deriveVariant(base: KernelVariant, overrides: VariantOverrides): KernelVariant {
  if (!overrides.name || typeof overrides.name !== 'string') throw new TypeError('deriveVariant: overrides.name is required (a new variant name)');
  if (overrides.hooksModule !== undefined && overrides.hooks !== undefined) throw new TypeError('deriveVariant: give hooks or hooksModule, not both');
  if (overrides.hooksModule !== undefined) overrides = { ...overrides, hooks: loadHooksModule(overrides.hooksModule) };
  return Object.freeze({
    ...base,
    ...overrides,
    basedOn: overrides.basedOn ?? base.name,
    description: overrides.description ?? `${base.description} (derived: ${overrides.name})`,
    sources: overrides.sources ?? base.sources,
    hooks: { ...base.hooks, ...(overrides.hooks ?? {}) },
  });
}
