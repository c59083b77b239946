/**
 * Physical memory: one slot per page frame (struct page / folio state) in typed arrays, the LRU
 * lists reclaim scans, and the frame allocator. Folios are order-0 (4 KiB), or order-9 (2 MiB,
 * a PMD-sized THP: 512 naturally aligned frames, each with its own flags and mapcount, as each
 * struct page has PageAnonExclusive and a _mapcount; `head` names the first frame).
 */

// folio flags (include/linux/page-flags.h names; the last ones are model bookkeeping)
export const PG_dirty = 1 << 0;
/** folio_mark_accessed()'s software referenced bit (mark_page_accessed) */
export const PG_referenced = 1 << 1;
export const PG_active = 1 << 2;
export const PG_lru = 1 << 3;
/** PageAnon: mapping is an anon_vma (here: the anon family id) */
export const PG_anon = 1 << 4;
/** PG_swapbacked: anon and shmem; MADV_FREE clears it (lazyfree) */
export const PG_swapbacked = 1 << 5;
export const PG_swapcache = 1 << 6;
/** PG_anon_exclusive (PageAnonExclusive, v5.19) */
export const PG_anon_exclusive = 1 << 7;
/** the shared zero page */
export const PG_zero = 1 << 8;
/** a page-cache page (file or shmem) */
export const PG_file = 1 << 9;
/** page-cache page of a filesystem with ->page_mkwrite */
export const PG_mkwrite_fs = 1 << 10;
/** model: ->page_mkwrite was called since the page was last cleaned (invariant bookkeeping) */
export const PG_mkwrite_notified = 1 << 11;
/** frame is allocated */
export const PG_used = 1 << 12;
/** shmem page (swap-backed page cache) */
export const PG_shmem = 1 << 13;
/**
 * model: the page may hold data other than zeros (written through a mapping, or filled from a copy,
 * swap or file); a page allocated zeroed and never written lacks it. split_huge_page (6.12+) maps
 * such pages to the shared zero page.
 */
export const PG_nonzero = 1 << 14;

export const LRU_INACTIVE_ANON = 0;
export const LRU_ACTIVE_ANON = 1;
export const LRU_INACTIVE_FILE = 2;
export const LRU_ACTIVE_FILE = 3;
const NR_LRU = 4;

export const ZERO_PFN = 1;
/** frames of a PMD-sized folio (HPAGE_PMD_NR) */
export const HPAGE_NR = 512;

export class PageFrames {
  flags: Uint32Array;
  /** number of PTEs mapping the frame (page_mapcount) */
  mapcount: Int32Array;
  /** anon: anon family id; page cache: file id */
  owner: Int32Array;
  /** anon: virtual page number (identical in every mm of the family); page cache: file page index */
  index: Float64Array;
  /** swap slot of a swap-cache folio, or -1 */
  swapSlot: Int32Array;
  /** first frame of the large folio this frame belongs to, or 0 for an order-0 folio */
  head: Int32Array;
  /** at a large folio's first frame: its number of frames */
  nr: Int32Array;
  private lruPrev: Int32Array;
  private lruNext: Int32Array;
  /** which LRU list the frame is on (-1 none) */
  lruList: Int8Array;
  readonly lruHead = new Int32Array(NR_LRU).fill(-1);
  readonly lruTail = new Int32Array(NR_LRU).fill(-1);
  readonly lruSize = new Float64Array(NR_LRU);
  private capacity: number;
  private next = 2; // 0 = none, 1 = zero page
  private freeList: number[] = [];
  private folioFree = new Map<number, number[]>();
  used = 0;

  constructor(initial = 1024) {
    this.capacity = initial;
    this.flags = new Uint32Array(initial);
    this.mapcount = new Int32Array(initial);
    this.owner = new Int32Array(initial);
    this.index = new Float64Array(initial);
    this.swapSlot = new Int32Array(initial).fill(-1);
    this.head = new Int32Array(initial);
    this.nr = new Int32Array(initial);
    this.lruPrev = new Int32Array(initial).fill(-1);
    this.lruNext = new Int32Array(initial).fill(-1);
    this.lruList = new Int8Array(initial).fill(-1);
    this.flags[ZERO_PFN] = PG_zero | PG_used;
  }

  alloc(): number {
    let pfn: number;
    if (this.freeList.length > 0) pfn = this.freeList.pop()!;
    else {
      if (this.next >= this.capacity) this.grow();
      pfn = this.next++;
    }
    this.flags[pfn] = PG_used;
    this.mapcount[pfn] = 0;
    this.owner[pfn] = 0;
    this.index[pfn] = 0;
    this.swapSlot[pfn] = -1;
    this.head[pfn] = 0;
    this.used++;
    return pfn;
  }

  /**
   * Allocate a folio of 2^order frames starting at a multiple of its size (a 2 MiB page must be
   * 2 MiB aligned physically, SDM §4.5; mTHP folios are naturally aligned too). Returns the first
   * frame; the folio's frames are `head`-linked and `nr` holds its size at the head.
   */
  allocFolio(order: number): number {
    const n = 1 << order;
    const pool = this.folioFree.get(n);
    let base = pool?.pop();
    if (base === undefined) {
      base = Math.ceil(this.next / n) * n;
      while (base + n > this.capacity) this.grow();
      for (let p = this.next; p < base; p++) this.freeList.push(p);
      this.next = base + n;
    }
    for (let p = base; p < base + n; p++) {
      this.flags[p] = PG_used;
      this.mapcount[p] = 0;
      this.owner[p] = 0;
      this.index[p] = 0;
      this.swapSlot[p] = -1;
      this.head[p] = base;
    }
    this.nr[base] = n;
    this.used += n;
    return base;
  }

  /** A PMD-sized folio (order 9). */
  allocHuge(): number {
    return this.allocFolio(9);
  }

  /** Number of frames of the large folio whose first frame is `base`. */
  folioNr(base: number): number {
    return this.nr[base];
  }

  /** Free a whole large folio (its frames still linked to `base`). */
  freeHuge(base: number): void {
    const n = this.nr[base];
    for (let p = base; p < base + n; p++) {
      if (this.lruList[p] >= 0) this.lruDel(p);
      this.flags[p] = 0;
      this.mapcount[p] = 0;
      this.head[p] = 0;
    }
    let pool = this.folioFree.get(n);
    if (!pool) this.folioFree.set(n, (pool = []));
    pool.push(base);
    this.used -= n;
  }

  /** Split a large folio into order-0 folios (__split_huge_page): the frames keep their state. */
  unlinkFolio(base: number): void {
    const n = this.nr[base];
    for (let p = base; p < base + n; p++) this.head[p] = 0;
  }

  free(pfn: number): void {
    if (pfn === ZERO_PFN) throw new Error('freeing the zero page');
    if (this.lruList[pfn] >= 0) this.lruDel(pfn);
    this.flags[pfn] = 0;
    this.mapcount[pfn] = 0;
    this.freeList.push(pfn);
    this.used--;
  }

  /** Add to the head (newest end) of an LRU list. */
  lruAdd(pfn: number, list: number): void {
    if (this.lruList[pfn] >= 0) this.lruDel(pfn);
    const head = this.lruHead[list];
    this.lruPrev[pfn] = -1;
    this.lruNext[pfn] = head;
    if (head >= 0) this.lruPrev[head] = pfn;
    else this.lruTail[list] = pfn;
    this.lruHead[list] = pfn;
    this.lruList[pfn] = list;
    this.lruSize[list]++;
    this.flags[pfn] |= PG_lru;
    if (list === LRU_ACTIVE_ANON || list === LRU_ACTIVE_FILE) this.flags[pfn] |= PG_active;
    else this.flags[pfn] &= ~PG_active;
  }

  lruDel(pfn: number): void {
    const list = this.lruList[pfn];
    if (list < 0) return;
    const p = this.lruPrev[pfn], n = this.lruNext[pfn];
    if (p >= 0) this.lruNext[p] = n;
    else this.lruHead[list] = n;
    if (n >= 0) this.lruPrev[n] = p;
    else this.lruTail[list] = p;
    this.lruList[pfn] = -1;
    this.lruSize[list]--;
    this.flags[pfn] &= ~(PG_lru | PG_active);
  }

  /** Oldest frame of a list (reclaim scans from the tail), or -1. */
  lruOldest(list: number): number {
    return this.lruTail[list];
  }
  /** The next-newer neighbour of `pfn` on its list, or -1. */
  lruNewer(pfn: number): number {
    return this.lruPrev[pfn];
  }

  /** Frames ever handed out + 1 (iteration bound). */
  get limit(): number {
    return this.next;
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const g = <T extends Uint32Array | Int32Array | Float64Array | Int8Array>(a: T, fill?: number): T => {
      const b = new (a.constructor as new (n: number) => T)(cap);
      if (fill !== undefined) b.fill(fill);
      b.set(a);
      return b;
    };
    this.flags = g(this.flags);
    this.mapcount = g(this.mapcount);
    this.owner = g(this.owner);
    this.index = g(this.index);
    this.swapSlot = g(this.swapSlot, -1);
    this.head = g(this.head);
    this.nr = g(this.nr);
    this.lruPrev = g(this.lruPrev, -1);
    this.lruNext = g(this.lruNext, -1);
    this.lruList = g(this.lruList, -1);
    this.capacity = cap;
  }
}
