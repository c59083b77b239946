/**
 * What the native replayer prints (native/replay/replay.c), and what we make of it. Raw fields
 * keep the kernel's interfaces' names (pagemap, kpageflags, smaps, PAGEMAP_SCAN); `NativeRow`
 * maps them onto the InspectRow contract with `null` wherever user space cannot see the bit.
 */

/** First line: the host's facts. */
export interface NativeHeader {
  replay: 'ptlab';
  version: number;
  kernel: string;
  machine: string;
  pageSize: number;
  /** PFNs visible in pagemap (root): kpageflags and swap types readable */
  pfnVisible: boolean;
  kpageflags: boolean;
  pagemapScan: boolean;
  /** a swap device is active */
  swap: boolean;
  /** CONFIG_MEM_SOFT_DIRTY */
  softDirty: boolean;
  /** does an anon read fault map the shared zero page? (false on some patched kernels) */
  zeroPageOnRead: boolean;
  /** transparent_hugepage/enabled (null: a kernel without THP) */
  thp?: 'always' | 'madvise' | 'never' | null;
  /** transparent_hugepage/use_zero_page */
  thpZeroPage?: boolean | null;
  /** hugepages-<size>kB/enabled of the mTHP sizes (6.8+; empty before), as found at start-up */
  mthp?: Record<string, 'always' | 'inherit' | 'madvise' | 'never'>;
  /** userfaultfd features (hex), or null when userfaultfd is unusable */
  uffd: string | null;
  uffdError?: string;
}

/** One inspected page as printed. */
export interface RawInspect {
  page: number;
  pagemap: string;
  present: boolean;
  swapped: boolean;
  file: boolean;
  uffdWp: boolean;
  softDirty: boolean | null;
  /** pagemap bit 56: the page is mapped once (mapcount), not PageAnonExclusive */
  mappedExclusively: boolean;
  guard: boolean;
  swapType: number | null;
  kpageflags: string | null;
  folioDirty: boolean | null;
  folioReferenced: boolean | null;
  anon: boolean | null;
  zeroPage: boolean | null;
  swapCache: boolean | null;
  /** kpageflags THP: the page belongs to a transparent huge page (PMD- or PTE-mapped) */
  thp?: boolean | null;
  /** smaps of the page's own VMA: pte_young || PG_referenced (null when the VMA spans more pages) */
  smapsReferenced: boolean | null;
  /** smaps: pte_dirty || PG_dirty */
  smapsDirty: boolean | null;
  smapsResident: boolean | null;
  /** PAGEMAP_SCAN categories (PAGE_IS_*), null before Linux 6.7 */
  scan: number | null;
}

export interface RawStep {
  step: number;
  process: string;
  op: string;
  minflt: number;
  majflt: number;
  sigsegv: number;
  sigbus: number;
  accesses: number;
  uffd: { missing: number; wp: number; minor: number; errors: number };
  eexist?: number;
  /** a failed MADV_COLLAPSE of the step: its errno (EINVAL, EBUSY, EAGAIN, ENOMEM) */
  errno?: string;
  inspect?: RawInspect[];
  /**
   * Where the step's fault exceptions were (a perf page-fault sample per exception,
   * native/common/fault-sample.h): on region pages (`at`: "region:page", the first 64 in order)
   * or on the replayer's own memory (`out`). `lost`: more faults than the sample ring holds.
   * Absent when perf_event_open is not available, and in timed replays.
   */
  pf?: { in: number; out: number; at: string[]; outAddrs: string[] } | { lost: true };
  smaps?: { vmas: number; rss: number; referenced: number; dirty: number; swap: number; anonHuge?: number };
  scan?: number[];
}

/**
 * An inspect row as observed: the InspectRow fields, each `null` when this host cannot observe
 * it for this page (see docs/fidelity.md, "What can be compared").
 */
export interface NativeRow {
  page: number;
  present: boolean;
  /** pte_write(): never observable without faulting; see the touch steps' fault counts */
  write: null;
  young: boolean | null;
  dirty: boolean | null;
  uffdWp: boolean;
  softDirty: boolean | null;
  exclusive: boolean | null;
  special: boolean | null;
  entry: 'none' | 'present' | 'swap' | 'marker';
  folioDirty: boolean | null;
  /** a PMD leaf maps the page (PAGEMAP_SCAN PAGE_IS_HUGE); null before Linux 6.7 */
  huge?: boolean | null;
  /** the page belongs to a large folio (kpageflags THP, root) */
  thp?: boolean | null;
}

/** One replayed step. */
export interface NativeStep {
  index: number;
  op: string;
  process: string;
  region?: string;
  /**
   * minor + major faults of the executing thread during the step (getrusage RUSAGE_THREAD), less
   * the faults the sampler saw on the replayer's own memory (raw.pf.out)
   */
  faults: { total: number; minor: number; major: number; sigsegv: number; sigbus: number };
  /** the region pages of the step's fault exceptions, in order ("region:page"; raw.pf.at) */
  faultSites?: string[];
  /** fault round trips the handler thread resolved during the step */
  uffd: { missing: number; wp: number; minor: number };
  inspect?: NativeRow[];
  /** smaps totals over the region (pages) */
  smaps?: RawStep['smaps'];
  /** inspect steps: the region was mapped with MADV_HUGEPAGE, one VMA (not split per page), and every page was inspected: smaps totals are compared */
  thpRegion?: boolean;
  scan?: number[];
  /** the kernel failed the step's MADV_COLLAPSE with this errno (the script went on) */
  errno?: string;
  raw: RawStep;
  /** the step ran but something about it is not the model's op (e.g. hints ignored) */
  notes: string[];
}

export interface NativeReplay {
  host: NativeHeader;
  steps: NativeStep[];
}

/** PAGEMAP_SCAN category bits (include/uapi/linux/fs.h). */
export const PAGE_IS_WRITTEN = 1 << 1;
export const PAGE_IS_PFNZERO = 1 << 5;
export const PAGE_IS_HUGE = 1 << 6;
/** SWP_PTE_MARKER on x86-64 (MAX_SWAPFILES_SHIFT = 5, one marker type at the top). */
export const SWP_PTE_MARKER = 31;
