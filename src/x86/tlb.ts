/**
 * Set-associative TLB arrays for all CPUs of a machine, in typed arrays (no object per entry).
 * One instance models one level (L1 dTLB or STLB); entries are tagged with the virtual page
 * number and the PCID, as Intel's TLBs are (SDM vol. 3 §4.10.1). LRU replacement within a set.
 *
 * Entry flags (TLB_*) record what the walker saw: the effective RW and U/S of all levels, the
 * D bit of the leaf at fill time (a write through a D=0 entry must re-walk to set D), NX and the
 * protection key.
 */
export const TLB_RW = 1;
export const TLB_US = 2;
export const TLB_D = 4;
export const TLB_NX = 8;
/**
 * A 4 KiB entry made from a guest 2 MiB page under 4 KiB host pages (MmuGeometry hostPageKiB):
 * its frame is one 4 KiB frame of the page and its slot the PDE's. INVLPG of the 2 MiB page drops
 * all such entries of the page (Mmu.invlpg).
 */
export const TLB_SPLIT = 16;
/** protection key in bits 8..11 */
export const TLB_PKEY_SHIFT = 8;

/** Tags combine vpn and PCID: vpn * 256 + pcid (exact in a double for vpn < 2^45, i.e. LA57). */
export const PCID_LIMIT = 256;

/**
 * Tag of a 2 MiB translation: negative, so it never equals a 4 KiB tag (>= 0) or the invalid
 * tag (-1): -(2 MiB page number * PCID_LIMIT + pcid) - 2. Arrays index it by the 2 MiB page number.
 */
export function hugeTag(vpn: number, pcid: number): number {
  return -(Math.floor(vpn / 512) * PCID_LIMIT + pcid) - 2;
}

/** The PCID a valid tag (4 KiB or 2 MiB) belongs to. */
export function tagPcid(tag: number): number {
  return (tag >= 0 ? tag : -tag - 2) % PCID_LIMIT;
}

export class TlbArray {
  readonly sets: number;
  readonly ways: number;
  readonly perCpu: number;
  readonly setMask: number;
  readonly tag: Float64Array;
  readonly pfn: Float64Array;
  readonly flags: Uint16Array;
  /** slot of the PTE in page-table memory the entry was filled from (-1 for none) */
  readonly slot: Int32Array;
  /**
   * True LRU as each set's recency list: a circular doubly linked list through the set's entries
   * and a sentinel node (number entries + set), older[x] at link[2x] and newer[x] at link[2x+1].
   * Going older from the sentinel gives the most recently used entry first and the least
   * recently used last. Invalid entries sit at the LRU end, so the LRU entry is the victim: an
   * invalid one if the set has any, else the least recently used. Hits and fills relink in O(1)
   * and without branches, so a miss does not scan the set for its victim.
   */
  readonly link: Int32Array;
  /** sentinel node of set 0 (= number of entries) */
  private readonly sentinel0: number;
  /**
   * `recency: 'stamp'` keeps the same true LRU as a last-use time per entry instead: a hit is one
   * store, and a miss scans the set for its victim. That suits a small, hit-heavy L1 (4-6 ways);
   * the list suits the 12-way STLB, which a walk-heavy run mostly misses, and a fully
   * associative L1.
   */
  readonly stamped: boolean;
  readonly stamp: Float64Array;
  private clock = 0;

  constructor(
    readonly cpus: number,
    entries: number,
    ways: number,
    recency: 'list' | 'stamp' = 'list',
  ) {
    const sets = entries / ways;
    if (!Number.isInteger(sets) || sets < 1 || (sets & (sets - 1)) !== 0) {
      throw new RangeError(`TLB geometry: ${entries} entries / ${ways} ways must give a power-of-two number of sets`);
    }
    this.sets = sets;
    this.ways = ways;
    this.perCpu = entries;
    this.setMask = sets - 1;
    const n = cpus * entries;
    this.tag = new Float64Array(n).fill(-1);
    this.pfn = new Float64Array(n);
    this.flags = new Uint16Array(n);
    this.slot = new Int32Array(n).fill(-1);
    this.stamped = recency === 'stamp';
    this.stamp = new Float64Array(this.stamped ? n : 0);
    const nsets = cpus * sets;
    this.sentinel0 = n;
    const link = (this.link = new Int32Array(2 * (n + nsets)));
    for (let set = 0; set < nsets; set++) {
      // way 0 least recently used, so an empty set fills in way order
      const base = set * ways, s = n + set;
      let newer = s;
      for (let w = ways - 1; w >= 0; w--) {
        link[2 * (base + w) + 1] = newer;
        link[2 * newer] = base + w;
        newer = base + w;
      }
      link[2 * base] = s;
      link[2 * s + 1] = base;
    }
  }

  /** The set `vpn` maps to on `cpu` (its entries are set * ways .. set * ways + ways - 1). */
  setOf(cpu: number, vpn: number): number {
    return cpu * this.sets + (vpn & this.setMask);
  }

  /** Index of the entry tagged `tag` in `set`, or -1. */
  find(set: number, tag: number): number {
    const ways = this.ways;
    const t = this.tag;
    let i = set * ways;
    const end = i + ways;
    // four ways per iteration: a miss compares every way, and the loop overhead (bound and
    // interrupt checks) would otherwise cost as much as the compares
    for (const end4 = end - 3; i < end4; i += 4) {
      if (t[i] === tag) return i;
      if (t[i + 1] === tag) return i + 1;
      if (t[i + 2] === tag) return i + 2;
      if (t[i + 3] === tag) return i + 3;
    }
    for (; i < end; i++) if (t[i] === tag) return i;
    return -1;
  }

  /** Index of the entry tagged `tag` for `vpn` on `cpu`, or -1. */
  lookup(cpu: number, vpn: number, tag: number): number {
    return this.find(this.setOf(cpu, vpn), tag);
  }

  /** The entry a fill of `set` replaces: the least recently used (invalid entries are last). */
  victim(set: number): number {
    if (this.stamped) {
      // invalid entries have stamp 0, older than any use (the clock starts at 1)
      const st = this.stamp;
      let v = set * this.ways;
      for (let i = v + 1, end = v + this.ways; i < end; i++) if (st[i] < st[v]) v = i;
      return v;
    }
    return this.link[2 * (this.sentinel0 + set) + 1];
  }

  /** Make entry `i` of `set` the most recently used. */
  touch(set: number, i: number): void {
    if (this.stamped) {
      this.stamp[i] = ++this.clock;
      return;
    }
    this.relink(this.sentinel0 + set, i, true);
  }

  /** Move entry `i` of `set` to the LRU end (it was just invalidated). */
  private demote(set: number, i: number): void {
    if (this.stamped) {
      this.stamp[i] = 0; // as old as an entry never used: victim() takes it first
      return;
    }
    this.relink(this.sentinel0 + set, i, false);
  }

  /**
   * Unlink entry `i` from the recency list of sentinel `s` and link it back at the MRU end
   * (`mru`, between the MRU entry and the sentinel) or at the LRU end (between the sentinel and
   * the LRU entry). Both ends are read after the unlink, so they are right even when `i` was at
   * that end (no branch: whether a hit is on the MRU entry is data-dependent and mispredicts).
   * Callers pass `mru` as a constant, so the choice folds away where V8 inlines this.
   */
  private relink(s: number, i: number, mru: boolean): void {
    const link = this.link;
    const o = link[2 * i], n = link[2 * i + 1];
    link[2 * n] = o;
    link[2 * o + 1] = n;
    const before = mru ? link[2 * s] : s;
    const after = mru ? s : link[2 * s + 1];
    link[2 * i] = before;
    link[2 * before + 1] = i;
    link[2 * i + 1] = after;
    link[2 * after] = i;
  }

  /**
   * Fill an entry: the one with the same tag if there is one, else the set's victim (an invalid
   * entry, else the least recently used one).
   */
  insert(cpu: number, vpn: number, tag: number, pfn: number, flags: number, slot: number): number {
    const set = this.setOf(cpu, vpn);
    const i = this.find(set, tag);
    return this.fillAt(set, i >= 0 ? i : this.victim(set), tag, pfn, flags, slot);
  }

  /** Fill entry `i` of `set` (found by find(), or victim(set)) and make it the most recently used. */
  fillAt(set: number, i: number, tag: number, pfn: number, flags: number, slot: number): number {
    this.tag[i] = tag;
    this.pfn[i] = pfn;
    this.flags[i] = flags;
    this.slot[i] = slot;
    this.touch(set, i);
    return i;
  }

  /** Fill the victim of `set` (which holds no entry tagged `tag`); returns its index. */
  fillVictim(set: number, tag: number, pfn: number, flags: number, slot: number): number {
    return this.stamped ? this.fillStampVictim(set, tag, pfn, flags, slot) : this.fillListVictim(set, tag, pfn, flags, slot);
  }

  // The two fills below are fillVictim() for each recency keeping, written without nested calls
  // but relink(), a leaf V8 inlines: the walk path calls them directly, and V8 then inlines them
  // into it (nested calls exhausted its inlining budget; measured: 15 -> 17 M/s on compute-bound
  // walks, 5.5 -> 6.5 M/s over 1 Mi pages). Sharing relink() with touch() and demote() cost
  // nothing measurable (2026-12-07, Zen 3 KVM guest under load, bench keys timed by process CPU
  // time, 7-13 interleaved runs each: walkPerAccess x1.06, tlbResident x1.01, thpFirstTouch x0.99).

  /** fillVictim() of a list-kept array: the LRU end of the list, relinked as most recent. */
  fillListVictim(set: number, tag: number, pfn: number, flags: number, slot: number): number {
    const s = this.sentinel0 + set;
    const i = this.link[2 * s + 1];
    this.tag[i] = tag;
    this.pfn[i] = pfn;
    this.flags[i] = flags;
    this.slot[i] = slot;
    this.relink(s, i, true);
    return i;
  }

  /** fillVictim() of a stamp-kept array: the oldest stamp (invalid entries have 0), stamped now. */
  fillStampVictim(set: number, tag: number, pfn: number, flags: number, slot: number): number {
    const st = this.stamp;
    let i = set * this.ways;
    for (let k = i + 1, end = i + this.ways; k < end; k++) if (st[k] < st[i]) i = k;
    this.tag[i] = tag;
    this.pfn[i] = pfn;
    this.flags[i] = flags;
    this.slot[i] = slot;
    st[i] = ++this.clock;
    return i;
  }

  /** Drop the entry for (vpn, tag) on `cpu`; returns whether one was there. */
  invalidate(cpu: number, vpn: number, tag: number): boolean {
    const set = this.setOf(cpu, vpn);
    const i = this.find(set, tag);
    if (i < 0) return false;
    this.tag[i] = -1;
    this.demote(set, i);
    return true;
  }

  /**
   * Drop the entries on `cpu` of `pcid` tagged in [tagLo, tagHi) that carry TLB_SPLIT (the 4 KiB
   * entries made from one guest 2 MiB page). A scan of the CPU's entries: the page's 512 pages
   * map to every set of a small array, and a scan is cheaper than 512 lookups.
   */
  invalidateSplit(cpu: number, tagLo: number, tagHi: number, pcid: number): void {
    const t = this.tag, fl = this.flags, ways = this.ways;
    for (let i = cpu * this.perCpu, end = i + this.perCpu; i < end; i++) {
      const tg = t[i];
      if (tg >= tagLo && tg < tagHi && (fl[i] & TLB_SPLIT) !== 0 && tg % PCID_LIMIT === pcid) {
        t[i] = -1;
        this.demote(Math.floor(i / ways), i);
      }
    }
  }

  /** Drop all entries of `pcid` on `cpu`. */
  flushPcid(cpu: number, pcid: number): void {
    const t = this.tag;
    for (let set = cpu * this.sets; set < (cpu + 1) * this.sets; set++) {
      for (let i = set * this.ways; i < (set + 1) * this.ways; i++) {
        if (t[i] !== -1 && tagPcid(t[i]) === pcid) {
          t[i] = -1;
          this.demote(set, i);
        }
      }
    }
  }

  /** Drop every entry on `cpu` (all invalid, so any recency order keeps invalid entries at the LRU end). */
  flushAll(cpu: number): void {
    this.tag.fill(-1, cpu * this.perCpu, (cpu + 1) * this.perCpu);
    if (this.stamped) this.stamp.fill(0, cpu * this.perCpu, (cpu + 1) * this.perCpu);
  }

  /** Number of valid entries on `cpu` (tests and inspection). */
  occupancy(cpu: number): number {
    let n = 0;
    for (let i = cpu * this.perCpu; i < (cpu + 1) * this.perCpu; i++) if (this.tag[i] !== -1) n++;
    return n;
  }
}

/**
 * A direct-mapped paging-structure cache (SDM §4.10.3: PML4E, PDPTE and PDE caches). Like the
 * hardware's, an entry holds what the walk needs to resume below it: the next table and the
 * permissions (RW, U/S) accumulated down to it, so a hit skips reading the upper levels. Real PSCs
 * are small and fully associative; direct mapping by the upper VA bits is the model's
 * simplification.
 */
export class PscArray {
  readonly tag: Float64Array;
  /** next-level table id (an int32: PageTableMemory caps ids below MAX_TABLES) */
  readonly next: Int32Array;
  /** RW | U/S accumulated over the levels down to this entry */
  readonly perm: Uint8Array;
  readonly perCpu: number;
  readonly mask: number;
  constructor(cpus: number, entries: number) {
    // a power of two, so the slot is a mask of the key (the hot path avoids a division)
    let n = 1;
    while (n < entries) n *= 2;
    this.perCpu = n;
    this.mask = n - 1;
    this.tag = new Float64Array(cpus * this.perCpu).fill(-1);
    this.next = new Int32Array(cpus * this.perCpu);
    this.perm = new Uint8Array(cpus * this.perCpu);
  }
  /** the entry `key` maps to on `cpu` (it holds `key` if its tag is key * PCID_LIMIT + pcid) */
  index(cpu: number, key: number): number {
    return cpu * this.perCpu + (key & this.mask);
  }
  /** index of the entry for `key` if it holds `tag`, else -1 */
  lookup(cpu: number, key: number, tag: number): number {
    const i = this.index(cpu, key);
    return this.tag[i] === tag ? i : -1;
  }
  /** fill entry `i` (from index()) */
  fillAt(i: number, tag: number, next: number, perm: number): void {
    this.tag[i] = tag;
    this.next[i] = next;
    this.perm[i] = perm;
  }
  fill(cpu: number, key: number, tag: number, next: number, perm: number): void {
    this.fillAt(this.index(cpu, key), tag, next, perm);
  }
  flush(cpu: number): void {
    this.tag.fill(-1, cpu * this.perCpu, (cpu + 1) * this.perCpu);
  }
}
