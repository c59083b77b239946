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
/** protection key in bits 8..11 */
export const TLB_PKEY_SHIFT = 8;

/** Tags combine vpn and PCID: vpn * 256 + pcid (exact in a double for vpn < 2^45, i.e. LA57). */
export const PCID_LIMIT = 256;

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
  readonly lru: Float64Array;

  constructor(
    readonly cpus: number,
    entries: number,
    ways: number,
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
    this.lru = new Float64Array(n);
  }

  /** Index of the entry tagged `tag` for `vpn` on `cpu`, or -1. */
  lookup(cpu: number, vpn: number, tag: number): number {
    const base = cpu * this.perCpu + (vpn & this.setMask) * this.ways;
    const end = base + this.ways;
    const t = this.tag;
    for (let i = base; i < end; i++) if (t[i] === tag) return i;
    return -1;
  }

  /**
   * Fill an entry: the one with the same tag if there is one, else an invalid one, else the
   * least recently used one of the set.
   */
  insert(cpu: number, vpn: number, tag: number, pfn: number, flags: number, slot: number, tick: number): number {
    const j = this.probe(cpu, vpn, tag);
    return this.fillAt(j >= 0 ? j : -1 - j, tag, pfn, flags, slot, tick);
  }

  /**
   * One pass over the set: the index of the entry tagged `tag` if present, else `-1 - victim`
   * where victim is the way `insert` would fill (invalid first, else least recently used).
   */
  probe(cpu: number, vpn: number, tag: number): number {
    const base = cpu * this.perCpu + (vpn & this.setMask) * this.ways;
    const end = base + this.ways;
    const t = this.tag;
    const lru = this.lru;
    let victim = base;
    let oldest = Infinity;
    for (let i = base; i < end; i++) {
      const ti = t[i];
      if (ti === tag) return i;
      if (ti === -1) {
        if (oldest !== -1) {
          victim = i;
          oldest = -1;
        }
      } else if (lru[i] < oldest) {
        victim = i;
        oldest = lru[i];
      }
    }
    return -1 - victim;
  }

  /** Fill entry `i` (a victim chosen by probe()). */
  fillAt(i: number, tag: number, pfn: number, flags: number, slot: number, tick: number): number {
    this.tag[i] = tag;
    this.pfn[i] = pfn;
    this.flags[i] = flags;
    this.slot[i] = slot;
    this.lru[i] = tick;
    return i;
  }

  /** Drop the entry for (vpn, tag) on `cpu`; returns whether one was there. */
  invalidate(cpu: number, vpn: number, tag: number): boolean {
    const i = this.lookup(cpu, vpn, tag);
    if (i < 0) return false;
    this.tag[i] = -1;
    return true;
  }

  /** Drop all entries of `pcid` on `cpu`. */
  flushPcid(cpu: number, pcid: number): void {
    const start = cpu * this.perCpu;
    const end = start + this.perCpu;
    const t = this.tag;
    for (let i = start; i < end; i++) if (t[i] !== -1 && t[i] % PCID_LIMIT === pcid) t[i] = -1;
  }

  flushAll(cpu: number): void {
    this.tag.fill(-1, cpu * this.perCpu, (cpu + 1) * this.perCpu);
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
