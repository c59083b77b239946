/**
 * The built-in kernel variants (DESIGN.md "Kernel variants"), a constant table. Sources for each
 * rule are in ../shared/notes/kernel-facts.md sections 1.4 and 2, and named per field in variant.ts.
 */
import { deriveVariant, type KernelVariant } from './variant';
import { withRuleList } from './variant-rules';

const linux519: KernelVariant = Object.freeze({
  name: 'linux-5.19',
  version: '5.19',
  description:
    'Linux 5.19: uffd unprotect only clears the uffd-wp bit (the next write takes a wp fault; wp_page_reuse sets A+D+RW); mprotect upgrades only dirty PTEs of shared writenotify mappings; pte_needs_flush() avoids flushes for software-bit changes.',
  sources: [
    'mm/mprotect.c change_pte_range (v5.19, MM_CP_DIRTY_ACCT)',
    'mm/userfaultfd.c mwriteprotect_range (v5.19, newprot = vm_get_page_prot)',
    'c9fe66560bf2 mm/mprotect: do not flush when not required architecturally (v5.19)',
    'c56d1b62cce8 mm/shmem: handle uffd-wp during fork() (v5.19): vma_needs_copy(), fork copies only VMAs with an anon_vma or uffd-wp',
    'include/linux/userfaultfd_k.h vma_can_userfault() (v5.19): anon, shmem, hugetlb only',
    'mm/swap: remember PG_anon_exclusive via a swp pte bit (v5.19): do_swap_page maps exclusive pages writable on write faults only',
    '9ae0f87d009c mm/shmem: unconditionally set pte dirty in mfill_atomic_install_pte (v5.16)',
  ],
  pteArch: 'classic',
  canChangePteWritable: 'v5.19-dirty-acct',
  uffdUnprotect: 'v5.19-vm_get_page_prot',
  writenotifyForUffdWp: false,
  uffdAccessHints: false,
  uffdWriteLikelyTriesWritable: false,
  mkdirtyOnMkwrite: false,
  mkdirtyOnEveryWriteGrant: false,
  relaxedPromotionFlush: false,
  cleanWrprotectNoFlush: false,
  migrationKeepsYoungDirty: false,
  pmdMigrationKeepsUffdWp: false,
  uffdWpUnpopulated: false,
  uffdWpAsync: false,
  vmaCanUserfault: 'v5.19-anon-shmem-hugetlb',
  doSwapPage: 'v5.19-write-fault-only',
  pageoutYoung: 'v5.19-clear-young',
  remoteFlush: 'v5.19-ipi',
  mmForbidsZeropage: false,
  splitHugePmdDirtyPtes: false,
  changeHugePmdTryWritable: false,
  hugeZeroWpAllocatesThp: false,
  splitRemapsZeroSubpages: false,
  madvCollapse: false,
  anonMthp: false,
  madviseBatchesLargeFolios: false,
  largeFolioSharedTest: 'v5.19-first-page-mapcount',
  wpReuseLargeFolio: 'v5.19-folio-refcount',
  changePteBatchesLargeFolios: false,
  collapseNeedsWritablePte: true,
  reclaimEmptyPteTables: false,
  swapOutPteMappedLargeFolios: false,
  swapinLargeFolios: false,
  swapZeromap: false,
  hooks: {},
});

const linux60 = deriveVariant(linux519, {
  name: 'linux-6.0',
  version: '6.0',
  description: 'Linux 6.0: can_change_pte_writable() maps exclusive anon pages writable from mprotect, but only when the PTE is already dirty.',
  sources: ['64fe24a3e05e mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection (v6.0)'],
  canChangePteWritable: 'v6.0-dirty-only',
  basedOn: 'linux-5.19',
});

const linux62 = deriveVariant(linux60, {
  name: 'linux-6.2',
  version: '6.2',
  description:
    'Linux 6.2: can_change_pte_writable() makes exclusive anon pages writable from mprotect even when clean; migration remembers A/D (v6.1); uffd unprotect still leaves private PTEs read-only (the next write faults).',
  sources: [
    '20221108174652.198904-2-david@redhat.com mm/mprotect: allow clean exclusive anon pages to be writable (v6.2)',
    '2e3468778dbe mm: remember young/dirty bit for page migrations (v6.1)',
    'e833bc503405 mm/thp: re-apply mkdirty for small pages after split (v6.2)',
    'mm/huge_memory: try avoiding write faults when changing PMD protection (David Hildenbrand, v6.2)',
    '51d3d5eb74ff mm/userfaultfd: enable writenotify while userfaultfd-wp is enabled for a VMA (v6.2)',
  ],
  canChangePteWritable: 'v6.2-anon-exclusive',
  migrationKeepsYoungDirty: true,
  writenotifyForUffdWp: true,
  splitHugePmdDirtyPtes: true,
  changeHugePmdTryWritable: true,
  madvCollapse: true,
  basedOn: 'linux-6.0',
});

const linux63 = deriveVariant(linux62, {
  name: 'linux-6.3',
  version: '6.3',
  description:
    'Linux 6.3: uffd unprotect uses MM_CP_TRY_CHANGE_WRITABLE, so exclusive anon PTEs become writable at once with A and D unchanged, and the RW change flushes the TLB.',
  sources: [
    '20221223155616.297723-2-david@redhat.com mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range() (v6.3)',
    '20230405160236.587705-2-david@redhat.com mm/userfaultfd: fix uffd-wp handling for THP migration entries (hotfix, Cc stable; in 6.3 by its date, read in 6.3.8)',
  ],
  uffdUnprotect: 'v6.3-try-change-writable',
  pmdMigrationKeepsUffdWp: true,
  basedOn: 'linux-6.2',
});

const linux618 = deriveVariant(linux63, {
  name: 'linux-6.18',
  version: '6.18',
  description:
    'Linux 6.18 (current): 6.3 uffd behaviour, saved-dirty PTE accessors (x86 shadow stack, v6.6), UFFD_FEATURE_WP_UNPOPULATED (v6.4), UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN (v6.7).',
  sources: [
    'x86/shstk for 6.6-rc1 (_PAGE_SAVED_DIRTY)',
    '2bad466cc9d9 mm/uffd: UFFD_FEATURE_WP_UNPOPULATED (v6.4)',
    'UFFD_FEATURE_WP_ASYNC + fs/proc/task_mmu PAGEMAP_SCAN (v6.7)',
    'do_huge_zero_wp_pmd: mm: allocate THP on hugezeropage wp-fault (Dev Jain, v6.13)',
    'mm: remap unused subpages to shared zeropage when splitting isolated thp (Usama Arif, v6.12)',
    'mm: thp: support allocation of anonymous multi-size THP (Ryan Roberts, v6.8)',
    'mm: madvise: avoid split during MADV_PAGEOUT and MADV_COLD (Ryan Roberts, v6.10); mm/madvise: optimize lazyfreeing with mTHP in madvise_free (Lance Yang, v6.10)',
    'mm: pgtable: reclaim empty PTE page in madvise(MADV_DONTNEED) (Qi Zheng, v6.14, CONFIG_PT_RECLAIM)',
    '20250903054635.19949-*-dev.jain@arm.com mm: enable khugepaged anonymous collapse on non-writable regions; mm: drop all references of writable and SCAN_PAGE_RO (posted 2025-09-03; seen on this 6.18.44 host, mainline release not read from a tag)',
    'd61ea1cb0095 userfaultfd: UFFD_FEATURE_WP_ASYNC (v6.7): vma_can_userfault() accepts any memory in wp-only mode with WP_ASYNC',
    'c18160dba5ff mm: swap: reuse exclusive folio directly instead of wp page faults (v6.11)',
    '20240223041550.77157-1-21cnbao@gmail.com mm: madvise: pageout: ignore references rather than clearing young (v6.9, inferred from the posting date)',
    '4afeb0ed1753 x86/mm: Enable broadcast TLB invalidation for multi-threaded processes (v6.15)',
    'cac1db8c3aad mm: optimize mprotect() by PTE batching (Dev Jain, v6.17; read in 6.18): change_pte_range() gathers A/D over a large folio batch',
    'mm/memory: __wp_can_reuse_large_anon_folio(), COW reuse of PTE-mapped large folios with MM owner tracking (David Hildenbrand, v6.15)',
    'mm: vmscan: avoid split during shrink_folio_list() (Ryan Roberts, "Swap-out mTHP without splitting", v6.10; read in 6.18.2): PTE-mapped large folios swapped out whole',
    'mm: support large folios swap-in for sync io devices (Chuanhua Han, Barry Song; v6.13 by its merge window, read in 6.18.2): alloc_swap_folio(), can_swapin_thp()',
    'mm: store zero pages to be swapped out in a bitmap (Usama Arif; v6.12: absent from 6.11.11, read in 6.18.2): swap_writeout() writes no all-zero folio, swap_read_folio_zeromap() zero-fills it',
  ],
  pteArch: 'saved-dirty',
  hugeZeroWpAllocatesThp: true,
  splitRemapsZeroSubpages: true,
  anonMthp: true,
  madviseBatchesLargeFolios: true,
  largeFolioSharedTest: 'v6.15-mm-owners',
  wpReuseLargeFolio: 'v6.15-mm-owners',
  changePteBatchesLargeFolios: true,
  collapseNeedsWritablePte: false,
  reclaimEmptyPteTables: true,
  swapOutPteMappedLargeFolios: true,
  swapinLargeFolios: true,
  swapZeromap: true,
  uffdWpUnpopulated: true,
  uffdWpAsync: true,
  vmaCanUserfault: 'v6.7-wp-async-any-memory',
  doSwapPage: 'v6.11-reuse-exclusive',
  pageoutYoung: 'v6.9-ignore-references',
  remoteFlush: 'v6.15-invlpgb',
  basedOn: 'linux-6.3',
});

const rfcHints = deriveVariant(linux618, {
  name: 'rfc-2022-uffd-hints',
  description:
    'The seed RFC (patches 01-02, 20220718120212.3180-2/-3-namit@vmware.com) on top of 6.3+ behaviour: uffd unprotect with ACCESS_LIKELY/WRITE_LIKELY marks the PTE young, and dirty only when it is made writable.',
  sources: ['20220718120212.3180-2-namit@vmware.com userfaultfd: set dirty and young on writeprotect', '20220718120212.3180-3-namit@vmware.com userfaultfd: try to map write-unprotected pages'],
  uffdAccessHints: true,
  uffdWriteLikelyTriesWritable: true,
  basedOn: 'linux-6.18',
});

const proposalDirty = deriveVariant(linux618, {
  name: 'proposal-dirty-on-mkwrite',
  description:
    "Peter Xu's suggestion in the thread (YtcYVMoSRVxRH70Z@xz-m1.local): the pte_mkdirty of RFC 01 inside change_pte_range's MM_CP_TRY_CHANGE_WRITABLE branch, unconditional (no hint needed), for mprotect and uffd alike; write grants from pte_modify() stay clean.",
  sources: ['YtcYVMoSRVxRH70Z@xz-m1.local (linux-mm, 19 Jul 2022)'],
  mkdirtyOnMkwrite: true,
  basedOn: 'linux-6.18',
});

const rfcRelaxed = deriveVariant(linux618, {
  name: 'rfc-2022-relaxed-flush',
  description:
    'RFC patches 08-12: permission promotion flushes only the local CPU (other CPUs take a spurious #PF that flushes them when their TLB generation is stale), and clean RW->RO needs no flush.',
  sources: ['20220718120212.3180-9-namit@vmware.com x86/mm: introduce flush_tlb_fix_spurious_fault', '20220718120212.3180-11-namit@vmware.com x86/mm: introduce relaxed TLB flushes', '20220718120212.3180-13-namit@vmware.com x86/tlb: no flush on PTE change from RW->RO when PTE is clean'],
  relaxedPromotionFlush: true,
  cleanWrprotectNoFlush: true,
  basedOn: 'linux-6.18',
});

/** The built-in variants by name: a constant table (user variants travel as values, see variant-value.ts). */
export const BUILTIN_VARIANTS: ReadonlyMap<string, KernelVariant> = new Map(
  // each description ends with the per-rule list: value, kernel function, release and commit
  [linux519, linux60, linux62, linux63, linux618, rfcHints, proposalDirty, rfcRelaxed].map((v) => [v.name, withRuleList(v)]),
);

export const DEFAULT_VARIANT = 'linux-6.18';

/** Names of the built-in variants. */
export function listVariants(): string[] {
  return [...BUILTIN_VARIANTS.keys()];
}

/** A built-in variant by name (derive your own with deriveVariant and pass the value to the run). */
export function getVariant(name: string): KernelVariant {
  const v = BUILTIN_VARIANTS.get(name);
  if (!v) throw new Error(`unknown kernel variant "${name}"; known: ${listVariants().join(', ')}`);
  return v;
}

/** The variant modelling a running kernel release (`uname -r`): the newest built-in linux-X.Y not newer than it. */
export function variantForRelease(release: string): string {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) throw new Error(`cannot read a kernel version from "${release}"`);
  const want = Number(m[1]) * 1000 + Number(m[2]);
  let best = 'linux-5.19';
  let bestV = -1;
  for (const v of BUILTIN_VARIANTS.values()) {
    const vm = /^linux-(\d+)\.(\d+)$/.exec(v.name);
    if (!vm) continue;
    const n = Number(vm[1]) * 1000 + Number(vm[2]);
    if (n <= want && n > bestV) {
      best = v.name;
      bestV = n;
    }
  }
  return best;
}
