/**
 * Radix page tables (SDM vol. 3 §4.5): 4 levels (PGD/PUD/PMD/PTE, 512 entries each) or 5 with
 * LA57, stored in one growable pool of table pages. Each entry is two adjacent 32-bit words
 * (low at 2*slot, high at 2*slot+1), i.e. exactly the 8 bytes of the real entry, in one cache
 * line: 512 PTEs of a 4 KiB table page cost 4 KiB here too.
 *
 * Upper-level entries point to the next table by *table id* in their PFN field (table pages live
 * in their own frame space in the model; data frames are the kernel's business). Linux writes
 * upper entries as _PAGE_TABLE (P|RW|USER|A|D), so the walker never updates A/D above the leaf.
 */
import { _PAGE_PSE, _PAGE_TABLE, PTE_PFN_MASK } from './pte';

export const PTRS_PER_TABLE = 512;
/**
 * Table ids stay below 2^20 (4 GiB of table pages): an id is then the low word's PFN bits alone,
 * and every word index (id * 1024 + 2 * index) is an int32, which keeps the walker in integer
 * arithmetic.
 */
export const MAX_TABLES = 1 << 20;
const LO_P = 1;
const LO_PSE = 1 << 7;
const LO_PROTNONE = 1 << 8;

/** The pool of table pages shared by every address space of one simulated machine. */
export class PageTableMemory {
  /** entry words: low 32 bits at 2*slot, high 32 bits at 2*slot+1 */
  w: Uint32Array;
  /** table pages ever allocated, and live now (page-table memory accounting) */
  allocated = 0;
  live = 0;
  /**
   * Called before every entry write through set() (never by the walker's A/D updates, which
   * write the words directly): a per-PTE event trace watches its pages here. Null when nothing
   * watches, which is always outside a trace: set() is off the per-access path either way.
   */
  onSet: ((slot: number, value: bigint) => void) | null = null;
  private capacity: number;
  private next = 1; // table id 0 is "no table"
  private freeList: number[] = [];

  constructor(initialTables = 64) {
    this.capacity = Math.min(MAX_TABLES, Math.max(2, initialTables));
    this.w = new Uint32Array(this.capacity * PTRS_PER_TABLE * 2);
  }

  /** Allocate a zeroed table page; returns its id (>= 1). */
  alloc(): number {
    // a freed table page first (ids are >= 1, so ?? sees only an empty list)
    const id = this.freeList.pop() ?? this.fresh();
    this.allocated++;
    this.live++;
    return id;
  }

  /** Free a table page (the kernel flushes TLBs first, as tlb_remove_table does). */
  free(id: number): void {
    const base = id * PTRS_PER_TABLE * 2;
    this.w.fill(0, base, base + PTRS_PER_TABLE * 2);
    this.freeList.push(id);
    this.live--;
  }

  /** Bytes of page-table state held by live tables. */
  bytes(): number {
    return this.live * PTRS_PER_TABLE * 8;
  }

  /** A table id never used before, growing the pool if it is full. */
  private fresh(): number {
    if (this.next >= this.capacity) this.grow();
    return this.next++;
  }

  private grow(): void {
    if (this.capacity >= MAX_TABLES) throw new RangeError(`page-table memory: more than ${MAX_TABLES - 1} table pages`);
    const cap = Math.min(MAX_TABLES, this.capacity * 2);
    const w = new Uint32Array(cap * PTRS_PER_TABLE * 2);
    w.set(this.w);
    this.w = w;
    this.capacity = cap;
  }

  /** Read an entry as a 64-bit value. */
  get(slot: number): bigint {
    return (BigInt(this.w[2 * slot + 1]) << 32n) | BigInt(this.w[2 * slot]);
  }
  set(slot: number, v: bigint): void {
    if (this.onSet !== null) this.onSet(slot, v);
    this.w[2 * slot] = Number(v & 0xffffffffn);
    this.w[2 * slot + 1] = Number((v >> 32n) & 0xffffffffn);
  }
  /** low 32 bits of an entry (P, RW, US, A, D, PFN bits 12..31) */
  lo(slot: number): number {
    return this.w[2 * slot];
  }
  /** high 32 bits of an entry (PFN bits 32..51, software bits, PKEY, NX) */
  hi(slot: number): number {
    return this.w[2 * slot + 1];
  }
}

/** Entry index of `vpn` at `level` (1 = PTE, 2 = PMD, 3 = PUD, 4 = PGD/P4D, 5 = PGD with LA57). */
export function pt_index(vpn: number, level: number): number {
  if (level <= 3) {
    const low = vpn % 134217728; // 2^27: the bits the lower three levels use
    return (low >>> (9 * (level - 1))) & 511;
  }
  return Math.floor(vpn / 2 ** (9 * (level - 1))) % 512;
}

/** One address space's page-table tree (what CR3 points to). */
export class PageTable {
  readonly root: number;
  readonly levels: 4 | 5;

  constructor(
    readonly mem: PageTableMemory,
    la57 = false,
  ) {
    this.levels = la57 ? 5 : 4;
    this.root = mem.alloc();
  }

  /** Highest virtual page number + 1 this tree can map (47 or 56 bits of user address space). */
  get maxVpn(): number {
    return 2 ** (9 * this.levels);
  }

  /**
   * Slot of the leaf PTE for `vpn`, or -1 if a table on the way is missing, or -2 if a PMD maps
   * a 2 MiB page there (then `pmdSlot()` gives the leaf).
   */
  pteSlot(vpn: number): number {
    const w = this.mem.w;
    let table = this.root;
    for (let level: number = this.levels; level >= 2; level--) {
      const slot = table * PTRS_PER_TABLE + pt_index(vpn, level);
      const e = w[2 * slot];
      if (level === 2 && (e & (LO_PSE | LO_PROTNONE)) === (LO_PSE | LO_PROTNONE)) return -2;
      if ((e & LO_P) === 0) return -1;
      if (level === 2 && (e & LO_PSE) !== 0) return -2;
      table = (e >>> 12) + (w[2 * slot + 1] & 0xfffff) * 1048576;
    }
    return table * PTRS_PER_TABLE + pt_index(vpn, 1);
  }

  /** Slot of the PMD entry covering `vpn` (allocating upper tables when `alloc`), or -1. */
  pmdSlot(vpn: number, alloc = false): number {
    return this.walkTo(vpn, 2, alloc);
  }

  /** Slot of the leaf PTE for `vpn`, allocating missing tables as __pte_alloc() does. */
  ensurePteSlot(vpn: number): number {
    return this.walkTo(vpn, 1, true);
  }

  private walkTo(vpn: number, target: number, alloc: boolean): number {
    const mem = this.mem;
    let table = this.root;
    for (let level: number = this.levels; level > target; level--) {
      const slot = table * PTRS_PER_TABLE + pt_index(vpn, level);
      const e = mem.lo(slot);
      // a PROT_NONE 2 MiB leaf (PRESENT clear, PROTNONE and PSE set) is still a leaf to Linux
      if (level === 2 && (e & (LO_PSE | LO_PROTNONE)) === (LO_PSE | LO_PROTNONE)) return -2;
      if ((e & LO_P) === 0) {
        if (!alloc) return -1;
        const t = mem.alloc();
        mem.set(slot, (BigInt(t) << 12n) | _PAGE_TABLE);
        table = t;
        continue;
      }
      if (level === 2 && (e & LO_PSE) !== 0) return -2;
      table = Number((mem.get(slot) & PTE_PFN_MASK) >> 12n);
    }
    return table * PTRS_PER_TABLE + pt_index(vpn, target);
  }

  /** The PTE for `vpn` (0n when no table exists). */
  get(vpn: number): bigint {
    const slot = this.pteSlot(vpn);
    return slot >= 0 ? this.mem.get(slot) : 0n;
  }

  /** Write the PTE for `vpn`, allocating tables on the way. Returns the slot. */
  set(vpn: number, pte: bigint): number {
    const slot = this.ensurePteSlot(vpn);
    this.mem.set(slot, pte);
    return slot;
  }

  /** Install a 2 MiB leaf at the PMD covering `vpn` (which must be 512-aligned). */
  setPmdLeaf(vpn: number, pmd: bigint): number {
    const slot = this.pmdSlot(vpn, true);
    this.mem.set(slot, pmd | _PAGE_PSE);
    return slot;
  }

  /**
   * Free PTE tables whose 512 entries are all none within [startVpn, endVpn) (free_pgtables at
   * munmap). Returns the number of table pages freed. Upper levels are kept (cheap, and Linux
   * also frees them only when a whole range goes).
   */
  freeEmptyPteTables(startVpn: number, endVpn: number): number {
    let freed = 0;
    for (let v = startVpn - (startVpn % 512); v < endVpn; v += 512) {
      const pmd = this.pmdSlot(v, false);
      if (pmd < 0) continue;
      // no table behind a none or 2 MiB-leaf PMD (table id 0 is never a real table)
      if ((this.mem.lo(pmd) & (LO_P | LO_PSE)) !== LO_P) continue;
      const t = Number((this.mem.get(pmd) & PTE_PFN_MASK) >> 12n);
      const base = t * PTRS_PER_TABLE * 2;
      let empty = true;
      for (let i = 0; i < PTRS_PER_TABLE * 2; i++) {
        if (this.mem.w[base + i] !== 0) {
          empty = false;
          break;
        }
      }
      if (!empty) continue;
      this.mem.set(pmd, 0n);
      this.mem.free(t);
      freed++;
    }
    return freed;
  }
}
