/**
 * Kernel event vocabulary: one counter slot per event (Float64Array), names stable.
 * Fault events count handled #PFs by the path the kernel took (the entry/exit itself is the
 * hardware `pageFault` event). The cost layer prices each; changing a policy never touches cost.
 */
export const KERNEL_FAULT_KINDS = [
  /** do_anonymous_page, read: map the shared zero page (RO, clean, special). */
  'anonZeroPage',
  /** do_anonymous_page, write: allocate and zero a page, map it young+dirty+RW. */
  'anonAlloc',
  /** do_read_fault: map a page-cache page read-only (file kinds and shmem). */
  'readFile',
  /** do_cow_fault: write fault on a private file mapping, copy the page-cache page. */
  'cow',
  /** do_shared_fault on a filesystem without ->page_mkwrite. */
  'shared',
  /** do_shared_fault that called ->page_mkwrite (may allocate blocks). */
  'sharedMkwrite',
  /** do_wp_page -> wp_page_reuse: exclusive anon page made writable in place (sets A+D+RW, no flush). */
  'wpReuse',
  /** do_wp_page -> wp_page_copy: copy on write (new page, old PTE cleared and flushed). */
  'wpCopy',
  /** do_wp_page -> wp_page_shared without ->page_mkwrite. */
  'wpShared',
  /** do_wp_page -> wp_page_shared with ->page_mkwrite. */
  'wpSharedMkwrite',
  /** do_swap_page: swap-in (major if not in swap cache). */
  'swapIn',
  /** Fault on a file page not in the page cache: read from storage first (major fault). */
  'fileRead',
  /** userfaultfd MISSING fault: round trip to the handler thread (UFFDIO_COPY/ZEROPAGE resolves). */
  'uffdMissing',
  /** userfaultfd MINOR fault round trip. */
  'uffdMinor',
  /** userfaultfd WP fault: synchronous round trip to the handler, which un-protects. */
  'uffdWp',
  /** userfaultfd WP fault with UFFD_FEATURE_WP_ASYNC: the kernel clears uffd-wp and continues. */
  'uffdWpAsync',
  /** handle_pte_fault found the PTE already permitting the access (stale TLB entry): spurious fault. */
  'spurious',
  /** handle_pte_fault fix-up of A/D on a PTE that already permitted the access (ptep_set_access_flags). */
  'accessFlags',
  /** Access not allowed by the VMA (or no VMA): SIGSEGV delivered. */
  'sigsegv',
  /** do_huge_pmd_anonymous_page, write (or no huge zero page): a 2 MiB THP mapped by a PMD (allocation and zeroing are thpAlloc, thpZero). */
  'hugeAnonAlloc',
  /** do_huge_pmd_anonymous_page, read: the huge zero page mapped by a PMD (read-only, clean). */
  'hugeZeroPage',
  /** do_huge_pmd_wp_page reusing an exclusive THP: A+D+RW set on the PMD by software, no flush. */
  'hugeWpReuse',
  /** do_huge_zero_wp_pmd (6.13+): a write to the huge zero page maps a new THP (old PMD flushed). */
  'hugeZeroWpAlloc',
] as const;
export type KernelFaultKind = (typeof KERNEL_FAULT_KINDS)[number];

export const KERNEL_WORK_EVENTS = [
  'syscallMmap',
  'syscallMunmap',
  /** One mprotect() call (entry, VMA walk, mmap lock). */
  'syscallMprotect',
  /** One PTE visited by change_pte_range for mprotect (or clear_refs, NUMA hinting). */
  'changePte',
  /** One PTE visited by change_pte_range for UFFDIO_WRITEPROTECT (priced apart: hosts measure it cheaper than mprotect's). */
  'uffdChangePte',
  /**
   * One PTE that change_pte_range made writable while its D bit is set (old PTE not writable),
   * counted on top of changePte/uffdChangePte. Bare metal does no extra work for it; under shadow
   * paging the hypervisor must install a writable shadow entry at once (a clean PTE stays
   * read-only in the shadow until the first write sets D), which `ptlab calibrate` measures.
   */
  'mkwriteDirtyPte',
  'syscallMadvise',
  /** One PTE visited by a madvise walk (DONTNEED/FREE/COLD/PAGEOUT). */
  'madvisePte',
  /** One UFFDIO_* ioctl (REGISTER, WRITEPROTECT, COPY, ZEROPAGE, ...). */
  'uffdIoctl',
  /** One PAGEMAP_SCAN ioctl. */
  'pagemapScan',
  /** One PTE visited by PAGEMAP_SCAN or clear_refs. */
  'scanPte',
  /** One write to /proc/pid/clear_refs. */
  'clearRefs',
  'fork',
  /** One PTE copied by copy_pte_range at fork. */
  'forkPte',
  /** One PTE zapped (munmap, MADV_DONTNEED, exit). */
  'zapPte',
  /** One call to flush_tlb_mm_range / flush_tlb_page that reached hardware (local part). */
  'tlbFlushRequest',
  /**
   * A shootdown's round trip to its first remote CPU (native_flush_tlb_multi(): send, remote entry,
   * the remote CPU's own invalidations, ack), one per flush that IPIs anyone.
   */
  'ipi',
  /**
   * Each further CPU of the same shootdown: flush_tlb_multi() sends every IPI first and then waits
   * for all, so the initiator pays only the send; the remote handlers run in parallel.
   */
  'ipiExtraTarget',
  /** INVLPG/INVPCID work done on the 2nd..Nth target CPU of a shootdown, in parallel with the first (not the initiator's). */
  'parallelRemoteFlush',
  /** One INVLPGB broadcast invalidation (AMD, 6.15+ global ASIDs): a page, or the whole ASID. */
  'invlpgb',
  /** One TLBSYNC: wait until the broadcast invalidations reached every CPU. */
  'tlbsync',
  /** A remote CPU in lazy-TLB mode skipped by a shootdown (it flushes when it switches back). */
  'lazyTlbSkip',
  'pageAlloc',
  'pageZero',
  'pageCopy',
  /** Filesystem block allocation in ->page_mkwrite (lazily allocating filesystems). */
  'blockAlloc',
  /** One page written to storage by writeback. */
  'writebackPage',
  /** One page written to swap. */
  'swapOutPage',
  /**
   * One all-zero page swap_writeout() noted in the swap device's zeromap instead of writing it
   * (6.12+, variant swapZeromap; vmstat swpout_zero): is_folio_zero_filled() read the whole page.
   */
  'swpoutZero',
  /** One read from swap: one page, or the first page of a large folio read whole (one major fault). */
  'swapInPage',
  /**
   * Each further page of a large folio read from swap by the same request as its swapInPage
   * (do_swap_page of an mTHP, 6.13+: swap_read_folio() reads the folio whole): one more page's
   * transfer; the device latency and the major fault are the swapInPage's.
   */
  'swapInTailPage',
  /**
   * One swap-in that swap_read_folio_zeromap() zero-filled instead of reading (6.12+, variant
   * swapZeromap): the page was all zeros when swapped out. Counted instead of swapInPage: one
   * major fault (do_swap_page() and shmem_swapin_folio() say VM_FAULT_MAJOR all the same), no
   * device I/O, the zeroing of its first page; a large folio's further pages are pageZero (instead
   * of swapInTailPage). The kernel's vmstat swpin_zero counts pages: swpinZero plus those pageZero.
   */
  'swpinZero',
  /** One page read from storage into the page cache. */
  'fileReadPage',
  /** One folio examined by reclaim (rmap walk, folio_referenced). */
  'reclaimScan',
  /** One clean page dropped by reclaim without I/O. */
  'reclaimDrop',
  /** One folio migrated (copy + remap). */
  'migratePage',
  /** Allocation of one 2 MiB folio (order 9). */
  'thpAlloc',
  /** Zeroing one 2 MiB folio (clear_huge_page / folio_zero_user). */
  'thpZero',
  /** One PMD leaf split into a table of 512 PTEs (__split_huge_pmd; its flush is separate). */
  'splitHugePmd',
  /** One THP folio split into order-0 folios (split_huge_page), on top of its PMD splits. */
  'splitHugePage',
  /** One PMD leaf changed by change_huge_pmd (mprotect, uffd-wp). */
  'changeHugePmd',
  /** One PMD leaf zapped (zap_huge_pmd). */
  'zapHugePmd',
  /** One PMD leaf copied at fork (copy_huge_pmd). */
  'copyHugePmd',
  /** Copying 2 MiB of pages into a new THP (__collapse_huge_page_copy). */
  'thpCopy',
  /** One collapse of 512 PTEs into a PMD-mapped THP (collapse_huge_page, MADV_COLLAPSE), without its copy and flush. */
  'collapseHugePage',
] as const;
export type KernelWorkEvent = (typeof KERNEL_WORK_EVENTS)[number];

/** All kernel events: fault kinds prefixed `fault.`, then work events. */
export type KernelEvent = `fault.${KernelFaultKind}` | KernelWorkEvent;
export const KERNEL_EVENTS = [
  ...KERNEL_FAULT_KINDS.map((k) => `fault.${k}` as const),
  ...KERNEL_WORK_EVENTS,
] as const;
export const KEv: { readonly [K in KernelEvent]: number } = Object.freeze(
  Object.fromEntries(KERNEL_EVENTS.map((n, i) => [n, i])) as { [K in KernelEvent]: number },
);

/** Invariant breaches the kernel model checks (counted, or thrown in strict mode). */
export const KERNEL_VIOLATIONS = [
  /** A PTE is writable while its page is CoW-shared (mapcount > 1 anon, or not exclusive). */
  'cowSharedWritable',
  /** A PTE is writable in a VMA without VM_WRITE (mkdirty selftest: setting D must never make a PTE writable there). */
  'writableInReadOnlyVma',
  /** A write reached a page-cache page of a ->page_mkwrite filesystem without a notification since its last clean. */
  'writeWithoutMkwrite',
  /** A page-cache page of a ->page_mkwrite filesystem was mapped writable without ->page_mkwrite. */
  'mkwriteBypassed',
  /** A page whose PTE or folio was dirty was freed without writeback or swap-out. */
  'lostDirty',
] as const;
export type KernelViolation = (typeof KERNEL_VIOLATIONS)[number];
