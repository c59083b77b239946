/**
 * Every version-dependent rule of the model, with the kernel function it comes from and, for each
 * value a variant may hold, the release and commit that introduced that behaviour. The built-in
 * variants' descriptions list these per rule (`describeRules()`), so a reader can see, for any
 * variant, what each rule is and where it changed. Rules that are the same in every modelled
 * release (5.19-6.18) are listed too, once, in FIXED_RULES.
 */
import type { KernelVariant } from './variant';

type RuleField = Exclude<keyof KernelVariant, 'name' | 'version' | 'description' | 'basedOn' | 'sources' | 'hooks' | 'hooksModule'>;

interface Rule {
  /** the kernel function(s) the field selects the behaviour of */
  readonly where: string;
  /** per value: what it means, and since when (release and commit), or why no release has it */
  readonly values: Readonly<Record<string, string>>;
}

const NOT_MERGED = 'not in any release';

export const RULES: Readonly<Record<RuleField, Rule>> = {
  pteArch: {
    where: 'x86 pte_dirty()/pte_wrprotect()',
    values: { classic: 'D is bit 6 only (<= 6.5)', 'saved-dirty': 'a read-only PTE keeps D in _PAGE_SAVED_DIRTY (6.6, x86 user shadow stack series)' },
  },
  canChangePteWritable: {
    where: 'change_pte_range() / can_change_pte_writable() (mm/mprotect.c)',
    values: {
      'v5.19-dirty-acct': 'only dirty PTEs of shared writenotify mappings (5.19, MM_CP_DIRTY_ACCT)',
      'v6.0-dirty-only': 'also exclusive anon PTEs, if dirty (6.0, 64fe24a3e05e)',
      'v6.2-anon-exclusive': 'any exclusive anon PTE (6.2, "mm/mprotect: allow clean exclusive anon pages to be writable")',
    },
  },
  uffdUnprotect: {
    where: 'uffd_wp_range() (mm/userfaultfd.c)',
    values: {
      'v5.19-vm_get_page_prot': 'rebuilt from vm_get_page_prot(), private PTEs stay read-only (5.19-6.2)',
      'v6.3-try-change-writable': 'vm_page_prot + MM_CP_TRY_CHANGE_WRITABLE (6.3, "mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range()")',
    },
  },
  writenotifyForUffdWp: {
    where: 'vma_wants_writenotify() (mm/mmap.c)',
    values: { false: 'uffd-wp needs no writenotify (<= 6.1)', true: 'uffd-wp VMAs are writenotify (6.2, 51d3d5eb74ff)' },
  },
  uffdAccessHints: { where: 'RFC 01 MM_CP_WILL_NEED', values: { false: NOT_MERGED, true: `${NOT_MERGED} (20220718120212.3180-2-namit@vmware.com)` } },
  uffdWriteLikelyTriesWritable: { where: 'RFC 02', values: { false: NOT_MERGED, true: `${NOT_MERGED} (20220718120212.3180-3-namit@vmware.com)` } },
  mkdirtyOnMkwrite: { where: "Peter Xu's proposal in change_pte_range()", values: { false: NOT_MERGED, true: `${NOT_MERGED} (YtcYVMoSRVxRH70Z@xz-m1.local)` } },
  mkdirtyOnEveryWriteGrant: { where: 'what-if in change_pte_range()', values: { false: NOT_MERGED, true: `${NOT_MERGED} (nobody proposed it)` } },
  relaxedPromotionFlush: { where: 'RFC 08-11 (x86 relaxed flushes)', values: { false: NOT_MERGED, true: `${NOT_MERGED} (20220718120212.3180-9..-12-namit@vmware.com)` } },
  cleanWrprotectNoFlush: { where: 'RFC 12 (pte_needs_flush)', values: { false: NOT_MERGED, true: `${NOT_MERGED} (20220718120212.3180-13-namit@vmware.com)` } },
  migrationKeepsYoungDirty: {
    where: 'remove_migration_pte() (mm/migrate.c)',
    values: { false: 'the new PTE is old and clean (<= 6.0)', true: 'A and D remembered (6.1, 2e3468778dbe)' },
  },
  pmdMigrationKeepsUffdWp: {
    where: 'set_pmd_migration_entry() (mm/huge_memory.c)',
    values: {
      false: 'a migrating THP loses its PMD\'s uffd-wp bit (5.19-6.2, read in each)',
      true: 'the PMD migration entry keeps uffd-wp (6.3, "mm/userfaultfd: fix uffd-wp handling for THP migration entries", 20230405160236.587705-2-david@redhat.com, a hotfix with Cc stable; read in 6.3.8 and 6.18)',
    },
  },
  uffdWpUnpopulated: { where: 'UFFD_FEATURE_WP_UNPOPULATED', values: { false: 'absent (<= 6.3)', true: '6.4, 2bad466cc9d9' } },
  uffdWpAsync: { where: 'UFFD_FEATURE_WP_ASYNC, PAGEMAP_SCAN', values: { false: 'absent (<= 6.6)', true: '6.7, d61ea1cb0095 "userfaultfd: UFFD_FEATURE_WP_ASYNC" and "fs/proc/task_mmu: implement IOCTL to get and optionally clear info about PTEs"' } },
  doSwapPage: {
    where: 'do_swap_page() (mm/memory.c)',
    values: {
      'v5.19-write-fault-only': 'a read swap-in maps an exclusive page read-only (5.19-6.10)',
      'v6.11-reuse-exclusive': 'writable and clean on a read too (6.11, c18160dba5ff)',
    },
  },
  pageoutYoung: {
    where: 'madvise_cold_or_pageout_pte_range() (mm/madvise.c)',
    values: {
      'v5.19-clear-young': 'MADV_PAGEOUT clears A (<= 6.8)',
      'v6.9-ignore-references': 'A left alone, reclaim ignores references (6.9 inferred from the posting date, "mm: madvise: pageout: ignore references rather than clearing young")',
    },
  },
  remoteFlush: {
    where: 'flush_tlb_mm_range() (arch/x86/mm/tlb.c)',
    values: {
      'v5.19-ipi': 'IPIs (flush_tlb_multi) only (5.19 on; without INVLPGB hardware also later)',
      'v6.15-invlpgb': 'INVLPGB broadcasts for mms on 4+ CPUs on INVLPGB hardware (6.15, 4afeb0ed1753)',
    },
  },
  vmaCanUserfault: {
    where: 'vma_can_userfault() (include/linux/userfaultfd_k.h)',
    values: {
      'v5.19-anon-shmem-hugetlb': 'anon, shmem, hugetlb only (<= 6.6)',
      'v6.7-wp-async-any-memory': 'also any memory in wp-only mode with WP_ASYNC (6.7, d61ea1cb0095)',
    },
  },
  mmForbidsZeropage: { where: 'mm_forbids_zeropage()', values: { false: 'mainline x86: the zero page on anon read faults', true: 'a host quirk (s390 KVM guests, some vendor kernels), not a release' } },
  splitHugePmdDirtyPtes: { where: '__split_huge_pmd_locked()', values: { false: 'PTEs clean, D only in the folio (<= 6.1)', true: 'D on every PTE (6.2, e833bc503405)' } },
  changeHugePmdTryWritable: { where: 'change_huge_pmd() / can_change_pmd_writable()', values: { false: 'no write upgrade (<= 6.1)', true: '6.2, "mm/huge_memory: try avoiding write faults when changing PMD protection"' } },
  hugeZeroWpAllocatesThp: { where: 'do_huge_zero_wp_pmd()', values: { false: 'split into zero-page PTEs (<= 6.12)', true: 'maps a new THP (6.13, "mm: allocate THP on hugezeropage wp-fault")' } },
  splitRemapsZeroSubpages: { where: 'split_huge_page()', values: { false: 'zero-filled subpages stay (<= 6.11)', true: 'remapped to the shared zero page (6.12, "mm: remap unused subpages to shared zeropage when splitting isolated thp")' } },
  madvCollapse: { where: 'MADV_COLLAPSE', values: { false: 'absent (<= 6.0)', true: '6.1' } },
  anonMthp: { where: 'alloc_anon_folio() (multi-size THP)', values: { false: 'absent (<= 6.7)', true: '6.8, "mm: thp: support allocation of anonymous multi-size THP"' } },
  madviseBatchesLargeFolios: {
    where: 'madvise_free_pte_range(), madvise_cold_or_pageout_pte_range()',
    values: { false: 'a covered PTE-mapped large folio is split (<= 6.9)', true: 'handled whole when its PTEs batch (6.10, "mm: madvise: avoid split during MADV_PAGEOUT and MADV_COLD")' },
  },
  largeFolioSharedTest: {
    where: 'madvise_free_pte_range(), madvise_cold_or_pageout_pte_range(): folio_likely_mapped_shared() / folio_maybe_mapped_shared(); hpage_collapse_scan_pmd() and __collapse_huge_page_isolate() (max_ptes_shared)',
    values: {
      'v5.19-first-page-mapcount': "madvise: a partly covered large folio counts as shared when its first page is mapped more than once (<= 6.14's guess; 5.19-6.3's exact tests are not modelled apart); collapse: a page counts as shared when it is mapped more than once (page_mapcount(), <= 6.9)",
      'v6.15-mm-owners': 'shared when any of its pages is mapped by another process (6.15, "mm/rmap: basic MM owner tracking for large folios (!hugetlb)"), for madvise and collapse alike',
    },
  },
  changePteBatchesLargeFolios: {
    where: 'change_pte_range() (mm/mprotect.c): modify_prot_start_ptes() / modify_prot_commit_ptes() over a folio_pte_batch',
    values: {
      false: 'one PTE at a time, each keeps its own A and D (5.19-6.3 read; until 6.16)',
      true: 'PTEs of a large folio batched, the batch\'s gathered A and D written to all of them (6.17, cac1db8c3aad "mm: optimize mprotect() by PTE batching", merged in the 6.16..6.17 window; read in 6.18)',
    },
  },
  wpReuseLargeFolio: {
    where: 'do_wp_page() / wp_can_reuse_anon_folio() (mm/memory.c) for a non-exclusive page of a large anon folio',
    values: {
      'v5.19-folio-refcount': 'reused only when this PTE is the folio\'s only reference (5.19-6.3, read in each)',
      'v6.15-mm-owners': 'reused when the folio is mapped more than once, by this process only, with no extra reference; a folio mapped once is copied (6.15, __wp_can_reuse_large_anon_folio() with "mm/rmap: basic MM owner tracking for large folios (!hugetlb)")',
    },
  },
  collapseNeedsWritablePte: {
    where: 'hpage_collapse_scan_pmd(), __collapse_huge_page_isolate() (mm/khugepaged.c)',
    values: {
      true: 'a range with no writable PTE is refused, SCAN_PAGE_RO (5.19 up to at least 6.14, read in the source)',
      false:
        'read-only ranges collapse too (Dev Jain, "mm: enable khugepaged anonymous collapse on non-writable regions" and "mm: drop all references of writable and SCAN_PAGE_RO", posted 2025-09-03; the 6.18.44 host collapses a range whose every PTE is read-only, so the 6.18 variant has it; confirmed in the 6.18.2 stable source, whose mm/khugepaged.c has no SCAN_PAGE_RO and no writable test left)',
    },
  },
  reclaimEmptyPteTables: {
    where: 'zap_pte_range() with CONFIG_PT_RECLAIM',
    values: { false: 'MADV_DONTNEED keeps empty PTE tables (<= 6.13)', true: 'frees a PTE table it empties whole (6.14, "mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED)")' },
  },
  swapOutPteMappedLargeFolios: {
    where: 'shrink_folio_list() (mm/vmscan.c) for a large anon folio no PMD maps',
    values: {
      false: 'split first, then each page swapped on its own ("Split folios without a PMD map right away", read in 5.19, 6.0.1, 6.2.1 and 6.3.8; until 6.9)',
      true: 'swapped out whole in one aligned run of swap slots unless partially mapped (6.10, "mm: vmscan: avoid split during shrink_folio_list()"; 6.12 splits partially mapped folios first; read in 6.18.2)',
    },
  },
  swapZeromap: {
    where: 'swap_writeout() / swap_read_folio(), swap_read_folio_zeromap() (mm/page_io.c)',
    values: {
      false: 'an all-zero page is written to swap and read back like any other (<= 6.11; read in 5.19, 6.0.1, 6.2.1, 6.3.8 and 6.11.11)',
      true: 'an all-zero folio is only noted in the swap device\'s zeromap, with no write, and its swap-in is zero-filled with no device read, still a major fault (6.12, "mm: store zero pages to be swapped out in a bitmap"; read in 6.18.2)',
    },
  },
  swapinLargeFolios: {
    where: 'do_swap_page() / alloc_swap_folio(), can_swapin_thp() (mm/memory.c)',
    values: {
      false: 'every swap-in reads one page (<= 6.12)',
      true: 'a zram (SWP_SYNCHRONOUS_IO) fault on an unshared entry reads a large folio of the highest enabled mTHP order whose aligned PTEs are contiguous, aligned swap entries with the same bits, none in the swap cache, all or none zero-filled (6.13, "mm: support large folios swap-in for sync io devices"; read in 6.18.2)',
    },
  },
};

/** Rules the model applies identically to every modelled release (5.19-6.18), with their source. */
export const FIXED_RULES: readonly string[] = [
  'fork copies page tables only of VMAs with an anon_vma or a uffd-wp child VMA: vma_needs_copy() (c56d1b62cce8, 5.19); a zero-page read fault makes no anon_vma',
  'mfill_atomic_install_pte() (UFFDIO_COPY/ZEROPAGE/CONTINUE) maps young and always dirty (9ae0f87d009c, 5.16)',
  'reclaim drops clean shmem folios and swaps dirty ones: shrink_folio_list()',
  'reclaim, and MADV_PAGEOUT of a whole PMD, swap a PMD-mapped THP out whole in one aligned 512-slot run (CONFIG_THP_SWAP; the cluster allocator of a non-rotational device such as zram), try_to_unmap(TTU_SPLIT_HUGE_PMD) turning the PMD into 512 PTE swap entries: madvise_cold_or_pageout_pte_range(), shrink_folio_list(), add_to_swap() / folio_alloc_swap() (read in 5.19, 6.0.1, 6.2.1, 6.3.8 and 6.18.2)',
  'flush_tlb_multi() sends all IPIs then waits; lazy-TLB CPUs skipped unless page tables were freed (native_flush_tlb_multi())',
  'mprotect_fixup() leaves a VMA whose flags do not change alone',
];

/** One line per rule: where it lives, this variant's value, and since when. */
export function describeRules(v: KernelVariant): string[] {
  return (Object.keys(RULES) as RuleField[]).map((f) => {
    const value = String(v[f]);
    return `${f} = ${value}: ${RULES[f].where}: ${RULES[f].values[value] ?? 'a user-defined value'}`;
  });
}

/** The description with the per-rule list appended (built-in variants carry it). */
export function withRuleList(v: KernelVariant): KernelVariant {
  return Object.freeze({ ...v, description: `${v.description}\nRules (value: kernel function: release, commit):\n${describeRules(v).map((l) => `- ${l}`).join('\n')}` });
}
