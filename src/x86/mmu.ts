/**
 * The memory-management unit of a multi-CPU x86-64 machine: per-CPU TLBs with PCID tags,
 * paging-structure caches, the page walker with its Accessed/Dirty updates, #PF delivery, and
 * the invalidation instructions. It knows nothing of Linux: the kernel layer writes PTEs into
 * page-table memory, handles the #PFs `access()` returns, and decides which CPUs flush.
 *
 * Hardware rules modelled (Intel SDM vol. 3, ch. 4):
 *  - §4.8 A/D: a walk that fills the TLB sets A in the leaf if clear; a write sets D. A write
 *    through a TLB entry cached with D=0 makes the CPU re-walk and set D (Intel does this with a
 *    microcode assist; AMD re-walks too): event `dBitSet`.
 *  - §4.10.2: the TLB caches the permissions and D state seen at fill time. Changing the PTE
 *    without an invalidation leaves the old translation usable: stale entries are real.
 *  - §4.10.4.1: a #PF invalidates the TLB entries for the faulting address (so a stale RO entry
 *    causes one spurious fault, after which the next access walks and sees the new PTE).
 *  - §4.10.4.1 INVLPG invalidates one page (current PCID) and the paging-structure caches;
 *    INVPCID single-context drops one PCID; a CR3 write without the no-flush bit drops the PCID.
 *  - Nested paging on 4 KiB host pages (geometry hostPageKiB 4): a guest 2 MiB leaf is cached as
 *    4 KiB entries, one per page accessed; INVLPG of the 2 MiB page drops them all.
 *
 * The per-access path allocates nothing: counters are Float64Array slots, results are numbers.
 */
import { HwEv, HW_EVENTS, HwViol, HW_VIOLATIONS } from './events';
import type { MmuGeometry } from './geometry';
import { DEFAULT_GEOMETRY } from './geometry';
import { PageTableMemory, PTRS_PER_TABLE } from './pagetable';
import { hugeTag, PCID_LIMIT, PscArray, TLB_D, TLB_NX, TLB_PKEY_SHIFT, TLB_RW, TLB_SPLIT, TLB_US, TlbArray } from './tlb';

/** #PF error code bits (arch/x86/include/asm/trap_pf.h, SDM §4.7). */
export const X86_PF_PROT = 1;
export const X86_PF_WRITE = 2;
export const X86_PF_USER = 4;
export const X86_PF_RSVD = 8;
export const X86_PF_INSTR = 16;
export const X86_PF_PK = 32;

// low-word bits of an entry
const P = 1, RW = 2, US = 4, A = 32, D = 64, PSE = 128;
// high-word bits: NX is bit 63, PKEY bits 59..62
const HI_NX = 0x80000000, HI_PKEY = 0x78000000;

const EV_L1 = HwEv.tlbL1Hit, EV_STLB = HwEv.stlbHit, EV_MISS = HwEv.tlbMiss, EV_WALK = HwEv.walk;
const EV_REF = HwEv.walkMemRef, EV_PSC = HwEv.pscHit, EV_A = HwEv.aBitSet, EV_D = HwEv.dBitSet;
const EV_AD = HwEv.adBitSet, EV_PF = HwEv.pageFault;

/** miss() returns HUGE_HIT + i for entry i of the 2 MiB L1 (TLB indexes stay far below it). */
const HUGE_HIT = 1 << 30;

/**
 * SDM §4.8: the walk sets A in the leaf it uses if clear, and D too if the access writes (one
 * atomic read-modify-write of the entry in memory, counted as one aBitSet, dBitSet or adBitSet).
 * Returns the leaf's low word as written.
 */
function setAccessedDirty(w: Uint32Array, slot: number, e: number, write: number, c: Float64Array): number {
  if ((e & A) === 0) {
    if (write && (e & D) === 0) {
      e |= A | D;
      c[EV_AD]++;
    } else {
      e |= A;
      c[EV_A]++;
    }
    w[2 * slot] = e;
  } else if (write && (e & D) === 0) {
    e |= D;
    w[2 * slot] = e;
    c[EV_D]++;
  }
  return e;
}

export interface MmuOptions {
  cpus: number;
  geometry?: MmuGeometry;
  mem?: PageTableMemory;
  /**
   * Take the common walk inline in access() before falling back to the general walker (default
   * true). Its outcome is the general walker's either way; tests turn it off to check that.
   */
  inlineWalk?: boolean;
}

export class Mmu {
  readonly cpus: number;
  readonly geometry: MmuGeometry;
  readonly mem: PageTableMemory;
  /** event counts, indexed by HwEv */
  readonly counters = new Float64Array(HW_EVENTS.length);
  /** violation counts, indexed by HwViol */
  readonly violations = new Float64Array(HW_VIOLATIONS.length);
  /** per-CPU root table (CR3) and current PCID; root 0 = no address space loaded */
  readonly cr3 : Int32Array;
  readonly pcid: Uint16Array;
  /** per-CPU PKRU (two bits per key: AD at 2k, WD at 2k+1) */
  readonly pkru: Uint32Array;
  /** levels of paging (4, or 5 with LA57) */
  readonly levels: number;
  readonly l1: TlbArray;
  /**
   * L1 dTLB entries for 2 MiB pages (geometry `l1d2m`), tagged like STLB 2 MiB entries (tlb.ts
   * hugeTag). The STLB holds both sizes, as Intel's and AMD's second-level TLBs do.
   */
  readonly l1h: TlbArray;
  readonly stlb: TlbArray;
  readonly pde: PscArray;
  readonly pdpte: PscArray;
  readonly pml4e: PscArray;
  private readonly inlineWalk: boolean;
  /**
   * Called before each invalidation instruction (a per-PTE event trace sees which of its pages
   * lose a translation). Null unless a trace is on; access() never calls it.
   */
  onInvalidate: ((what: 'invlpg' | 'flushPcid' | 'flushAll', cpu: number, vpn: number, pcid: number) => void) | null = null;
  /** frame number of the last successful access (the kernel's invariant checks read it) */
  lastPfn = 0;
  /** slot of the leaf entry (PTE, or PMD for a 2 MiB page) used by the last successful access */
  lastSlot = -1;
  /**
   * Has any 2 MiB translation been cached? Until one is, a TLB miss skips the 2 MiB lookups, so
   * machines without huge pages pay nothing for them.
   */
  private hugeSeen = false;
  /**
   * A guest on 4 KiB host pages (geometry hostPageKiB 4): a walk ending at a guest 2 MiB leaf
   * caches a 4 KiB entry (TLB_SPLIT) for the page accessed instead of a 2 MiB one, since the
   * nested translation is contiguous only within one host page ("page splintering", Pham et al.,
   * MICRO 2015; measured on the Zen 3 KVM guest: docs/fidelity.md). `splitSeen`: one was made, so
   * INVLPG must look for them (until then it pays nothing, like hugeSeen).
   */
  private readonly splinter: boolean;
  private splitSeen = false;

  constructor(opts: MmuOptions) {
    this.cpus = opts.cpus;
    this.geometry = opts.geometry ?? DEFAULT_GEOMETRY;
    this.mem = opts.mem ?? new PageTableMemory();
    this.levels = this.geometry.la57 ? 5 : 4;
    this.inlineWalk = opts.inlineWalk ?? true;
    this.splinter = this.geometry.hostPageKiB === 4;
    this.cr3 = new Int32Array(this.cpus);
    this.pcid = new Uint16Array(this.cpus);
    this.pkru = new Uint32Array(this.cpus);
    const g = this.geometry;
    // last-use stamps suit a small set (a hit is one store, a miss scans a few ways); a fully
    // associative L1 (Zen: 64-72 ways) keeps recency lists, whose victim costs O(1)
    this.l1 = new TlbArray(this.cpus, g.l1d.entries, g.l1d.ways, g.l1d.ways <= 8 ? 'stamp' : 'list');
    this.stlb = new TlbArray(this.cpus, g.stlb.entries, g.stlb.ways, 'list');
    const hw = g.l1d2mWays ?? (g.l1d2m <= 32 ? Math.min(4, g.l1d2m) : g.l1d2m);
    this.l1h = new TlbArray(this.cpus, g.l1d2m, hw, hw <= 8 ? 'stamp' : 'list');
    this.pde = new PscArray(this.cpus, g.psc.pde);
    this.pdpte = new PscArray(this.cpus, g.psc.pdpte);
    this.pml4e = new PscArray(this.cpus, g.psc.pml4e);
  }

  /**
   * Load an address space on `cpu` (MOV CR3). With `noflush` (CR3 bit 63 and PCIDs), entries
   * tagged with `pcid` survive; otherwise that PCID's entries are dropped.
   */
  switchMm(cpu: number, root: number, pcid: number, noflush: boolean): void {
    if (pcid < 0 || pcid >= PCID_LIMIT) throw new RangeError(`pcid ${pcid} out of range 0..${PCID_LIMIT - 1}`);
    this.cr3[cpu] = root;
    this.pcid[cpu] = pcid;
    this.counters[HwEv.cr3Write]++;
    if (!noflush) this.dropPcid(cpu, pcid);
  }

  /**
   * A user-mode data access by `cpu` to virtual page `vpn`. Returns 0 on success, or the #PF
   * error code (always non-zero: user accesses set X86_PF_USER) for the kernel to handle.
   */
  access(cpu: number, vpn: number, write: number): number {
    const pcid = this.pcid[cpu];
    const tag = vpn * PCID_LIMIT + pcid;
    const l1 = this.l1;
    const set = l1.setOf(cpu, vpn);
    // the L1 entry the access uses: 4 KiB (l1), or 2 MiB (l1h) when miss() says so
    let t = l1;
    let i = l1.find(set, tag);
    if (i >= 0) {
      this.counters[EV_L1]++;
      l1.touch(set, i);
    } else {
      // the miss path is its own function, so this hit path stays small enough to inline
      i = this.miss(cpu, vpn, write, tag, set);
      if (i < 0) return -1 - i;
      if (i >= HUGE_HIT) {
        t = this.l1h;
        i -= HUGE_HIT;
      }
    }
    const f = t.flags[i];
    if ((f & TLB_US) === 0) return this.fault(cpu, vpn, tag, t, X86_PF_PROT | X86_PF_USER | (write ? X86_PF_WRITE : 0));
    if (f >>> TLB_PKEY_SHIFT !== 0 && this.pkeyDenies(cpu, f >>> TLB_PKEY_SHIFT, write)) {
      return this.fault(cpu, vpn, tag, t, X86_PF_PROT | X86_PF_USER | X86_PF_PK | (write ? X86_PF_WRITE : 0));
    }
    if (write) {
      if ((f & TLB_RW) === 0) return this.fault(cpu, vpn, tag, t, X86_PF_PROT | X86_PF_WRITE | X86_PF_USER);
      if ((f & TLB_D) === 0) {
        // SDM §4.8: the first write through an entry cached with D=0 re-walks to set D (in the
        // PTE, or the PMD of a 2 MiB page); the re-walk sees the entry as it is now, so a
        // write-protected one faults here.
        const r = this.walk(cpu, vpn, 1, false);
        return r < 0 ? -r : 0;
      }
      const slot = t.slot[i];
      if (slot >= 0) this.checkStaleWrite(slot, t.pfn[i], f, vpn);
    }
    // (a 2 MiB entry holds the first frame of its page)
    this.lastPfn = t === l1 ? t.pfn[i] : t.pfn[i] + (vpn % 512);
    this.lastSlot = t.slot[i];
    return 0;
  }

  /**
   * access() after an L1 miss: an STLB hit refills the L1 and returns its index (>= 0) for
   * access() to check, a 2 MiB translation returns HUGE_HIT + its index in the 2 MiB L1;
   * otherwise the walk settles the access and the result is -1 - (0 or the #PF error code).
   */
  private miss(cpu: number, vpn: number, write: number, tag: number, set: number): number {
    const l1 = this.l1;
    const pcid = this.pcid[cpu];
    const s = this.stlb;
    const j = this.tlbHit(s, s.setOf(cpu, vpn), tag, EV_STLB);
    if (j >= 0) {
      return l1.stamped
        ? l1.fillStampVictim(set, tag, s.pfn[j], s.flags[j], s.slot[j])
        : l1.fillListVictim(set, tag, s.pfn[j], s.flags[j], s.slot[j]);
    } else {
      // the 2 MiB translations are looked up after both 4 KiB levels missed (hardware probes all
      // sizes at once; no 4 KiB and 2 MiB entry for one address are valid together, so the order
      // changes nothing but keeps the STLB-hit path as short as without huge pages)
      if (this.hugeSeen) {
        const h = this.hugeLookup(cpu, vpn);
        if (h >= 0) return HUGE_HIT + h;
      }
      const c = this.counters;
      c[EV_MISS]++;
      // The common walk runs here, without walk()'s generality: 4-level paging (SDM §4.5),
      // vpn < 2^32, resuming from a PDE-cache hit (one reference: the PTE) or a PDPTE-cache hit
      // (two: PDE and PTE), a present 4 KiB leaf this access may use (user, no protection key,
      // writable if written). It reads first and leaves the block, having changed nothing, as
      // soon as any of that does not hold; walk() then walks from the start, so the outcome is
      // walk()'s in every case. On success it makes walk()'s updates: events, PDE-cache fill,
      // A/D (§4.8), and fills of both TLB levels at their victims.
      inline: if (vpn < 4294967296 && this.levels === 4 && this.inlineWalk) {
        const w = this.mem.w;
        const pde = this.pde;
        const pdeKey = vpn >>> 9;
        const pdeAt = cpu * pde.perCpu + (pdeKey & pde.mask);
        const pdeTag = pdeKey * PCID_LIMIT + pcid;
        // the leaf's table, and the permissions (RW, U/S) of the levels above it
        let table: number;
        let upper: number;
        let refs = 1;
        if (pde.tag[pdeAt] === pdeTag) {
          table = pde.next[pdeAt];
          upper = pde.perm[pdeAt];
        } else {
          const pdpte = this.pdpte;
          const key = vpn >>> 18;
          const at = cpu * pdpte.perCpu + (key & pdpte.mask);
          if (pdpte.tag[at] !== key * PCID_LIMIT + pcid) break inline;
          const pdeSlot = pdpte.next[at] * PTRS_PER_TABLE + (pdeKey & 511);
          const pdeE = w[2 * pdeSlot];
          // present, not a 2 MiB leaf, next table inside the pool (walk() reads others as table 0)
          if ((pdeE & (P | PSE)) !== P || (w[2 * pdeSlot + 1] & 0xfffff) !== 0) break inline;
          table = pdeE >>> 12;
          upper = pdpte.perm[at] & pdeE;
          refs = 2;
        }
        const slot = table * PTRS_PER_TABLE + (vpn & 511);
        let e = w[2 * slot];
        const h = w[2 * slot + 1];
        const perm = upper & e;
        // (with a protection key, walk() consults PKRU)
        if ((e & P) === 0 || (perm & US) === 0 || (h & HI_PKEY) !== 0 || (write && (perm & RW) === 0)) break inline;

        c[EV_WALK]++;
        c[EV_PSC]++;
        c[EV_REF] += refs;
        if (refs === 2) pde.fillAt(pdeAt, pdeTag, table, upper);
        e = setAccessedDirty(w, slot, e, write, c);
        const pfn = (e >>> 12) + (h & 0xfffff) * 1048576;
        const flags = (perm & RW ? TLB_RW : 0) | TLB_US | (e & D ? TLB_D : 0) | (h & HI_NX ? TLB_NX : 0);
        s.fillListVictim(s.setOf(cpu, vpn), tag, pfn, flags, slot);
        if (l1.stamped) l1.fillStampVictim(set, tag, pfn, flags, slot);
        else l1.fillListVictim(set, tag, pfn, flags, slot);
        this.lastPfn = pfn;
        this.lastSlot = slot;
        return -1;
      }
      // both levels missed: the walk fills each at its victim
      const r = this.walk(cpu, vpn, write, true);
      return r < 0 ? -1 + r : -1;
    }
  }

  /**
   * Look `vpn` up among the 2 MiB translations: the 2 MiB L1, else the STLB (which refills the
   * L1). Returns the 2 MiB L1 index, or -1 if neither holds one; access() checks the entry.
   */
  private hugeLookup(cpu: number, vpn: number): number {
    const htag = hugeTag(vpn, this.pcid[cpu]);
    const hkey = vpn < 4294967296 ? vpn >>> 9 : Math.floor(vpn / 512);
    const l1h = this.l1h;
    const hset = l1h.setOf(cpu, hkey);
    const i = this.tlbHit(l1h, hset, htag, EV_L1);
    if (i >= 0) return i;
    const s = this.stlb;
    const j = this.tlbHit(s, s.setOf(cpu, hkey), htag, EV_STLB);
    if (j < 0) return -1;
    return l1h.fillVictim(hset, htag, s.pfn[j], s.flags[j], s.slot[j]);
  }

  /**
   * The entry of TLB array `t` tagged `tag` in `set`, counted as event `ev` and made the most
   * recently used; or -1. (access() looks its L1 up itself, which keeps its hit path short.)
   */
  private tlbHit(t: TlbArray, set: number, tag: number, ev: number): number {
    const i = t.find(set, tag);
    if (i >= 0) {
      this.counters[ev]++;
      t.touch(set, i);
    }
    return i;
  }

  /** #PF through a 2 MiB entry: the faulting translation is dropped (SDM §4.10.4.1), as in faultCode(). */
  private hugeFault(cpu: number, vpn: number, code: number): number {
    const htag = hugeTag(vpn, this.pcid[cpu]), hkey = Math.floor(vpn / 512);
    this.counters[EV_PF]++;
    this.l1h.invalidate(cpu, hkey, htag);
    this.stlb.invalidate(cpu, hkey, htag);
    return code;
  }

  /**
   * Walk the tables for `vpn`; on success fill L1 and STLB and return the L1 index, on failure
   * deliver a #PF and return -errorCode. `missed`: neither TLB level holds `tag` (else the walk
   * refreshes the entries that do).
   *
   * The PDE and PTE levels are unrolled (no per-level index selection) and table ids are int32
   * (MAX_TABLES), so the common walk is a short run of integer operations between its memory
   * references.
   */
  private walk(cpu: number, vpn: number, write: number, missed: boolean): number {
    const c = this.counters;
    c[EV_WALK]++;
    const pcid = this.pcid[cpu];
    // (the tag is recomputed, not passed: a double beyond 2^31 would be boxed for the call)
    const tag = vpn * PCID_LIMIT + pcid;
    // Table indexes of each level and the paging-structure-cache keys (the VA bits above each
    // level): integer shifts while vpn fits in 32 bits, the common case; divisions beyond.
    let i1: number, i2: number, i3: number, i4: number, i5: number;
    let pdeKey: number, pdpteKey: number, top: number;
    if (vpn < 4294967296) {
      pdeKey = vpn >>> 9;
      pdpteKey = vpn >>> 18;
      top = vpn >>> 27;
      i1 = vpn & 511;
      i2 = pdeKey & 511;
      i3 = pdpteKey & 511;
      i4 = top;
      i5 = 0;
    } else {
      pdeKey = Math.floor(vpn / 512);
      pdpteKey = Math.floor(vpn / 262144);
      top = Math.floor(vpn / 134217728);
      i1 = vpn % 512;
      i2 = pdeKey % 512;
      i3 = pdpteKey % 512;
      i4 = top % 512;
      i5 = Math.floor(top / 512) % 512;
    }
    // Paging-structure caches decide where the walk starts: a hit resumes below the cached entry
    // with the table and permissions it holds, skipping the memory references above it.
    const pde = this.pde, pdpte = this.pdpte, pml4e = this.pml4e;
    const pdeAt = pde.index(cpu, pdeKey), pdeTag = pdeKey * PCID_LIMIT + pcid;
    let table: number;
    let perm: number;
    let level: number;
    let p: number;
    if (pde.tag[pdeAt] === pdeTag) {
      table = pde.next[pdeAt];
      perm = pde.perm[pdeAt];
      level = 1;
      c[EV_PSC]++;
    } else if ((p = pdpte.lookup(cpu, pdpteKey, pdpteKey * PCID_LIMIT + pcid)) >= 0) {
      table = pdpte.next[p];
      perm = pdpte.perm[p];
      level = 2;
      c[EV_PSC]++;
    } else if ((p = pml4e.lookup(cpu, top, top * PCID_LIMIT + pcid)) >= 0) {
      table = pml4e.next[p];
      perm = pml4e.perm[p];
      level = 3;
      c[EV_PSC]++;
    } else {
      table = this.cr3[cpu];
      perm = RW | US;
      level = this.levels;
    }
    const start = level;
    const w = this.mem.w;
    let slot = 0;
    let e = 0;
    // Non-leaf entries: the next table's id is the entry's PFN (SDM §4.5); a PFN beyond the
    // table pool (high-word PFN bits set) reads as table 0, which is never allocated and so all
    // not-present, as an out-of-pool table would be. The walker caches each non-leaf entry it
    // uses (SDM §4.10.3.1).
    // The levels above the PDE (a walk reaches them only when the PDPTE cache missed: once per
    // GiB of address space after a flush) step in a loop; the PDE and PTE levels are unrolled.
    for (; level >= 3; level--) {
      slot = table * PTRS_PER_TABLE + (level === 3 ? i3 : level === 4 ? i4 : i5);
      e = w[2 * slot];
      if ((e & P) === 0) return this.notPresent(cpu, vpn, tag, write, start - level + 1);
      perm &= e;
      table = (w[2 * slot + 1] & 0xfffff) === 0 ? e >>> 12 : 0;
      // (there is no PML5E cache)
      if (level === 3) pdpte.fill(cpu, pdpteKey, pdpteKey * PCID_LIMIT + pcid, table, perm);
      else if (level === 4) pml4e.fill(cpu, top, top * PCID_LIMIT + pcid, table, perm);
    }
    if (level === 2) {
      slot = table * PTRS_PER_TABLE + i2;
      e = w[2 * slot];
      if ((e & P) === 0) return this.notPresent(cpu, vpn, tag, write, start - 1);
      perm &= e;
      if ((e & PSE) === 0) {
        table = (w[2 * slot + 1] & 0xfffff) === 0 ? e >>> 12 : 0;
        pde.fillAt(pdeAt, pdeTag, table, perm);
        level = 1;
      }
    }
    if (level === 1) {
      slot = table * PTRS_PER_TABLE + i1;
      e = w[2 * slot];
      if ((e & P) === 0) return this.notPresent(cpu, vpn, tag, write, start);
      perm &= e;
    }
    c[EV_REF] += start - level + 1;

    const h = w[2 * slot + 1];
    const pkey = (h >>> 27) & 0xf;
    // A protection fault leaves the leaf's A and D as they were: the SDM (§4.8) sets them for a
    // translation that is used, and Shanley's "Unabridged Pentium 4" (ch. 12, secondary) states
    // that a PTE's A and D change only when the access succeeds.
    if ((perm & US) === 0) return this.faultCode(cpu, vpn, tag, -(X86_PF_PROT | X86_PF_USER | (write ? X86_PF_WRITE : 0)));
    if (pkey !== 0 && this.pkeyDenies(cpu, pkey, write)) {
      return this.faultCode(cpu, vpn, tag, -(X86_PF_PROT | X86_PF_USER | X86_PF_PK | (write ? X86_PF_WRITE : 0)));
    }
    if (write && (perm & RW) === 0) return this.faultCode(cpu, vpn, tag, -(X86_PF_PROT | X86_PF_WRITE | X86_PF_USER));

    e = setAccessedDirty(w, slot, e, write, c);

    let pfn = (e >>> 12) + (h & 0xfffff) * 1048576;
    let flags = (perm & RW ? TLB_RW : 0) | TLB_US | (e & D ? TLB_D : 0) | (h & HI_NX ? TLB_NX : 0) | (pkey << TLB_PKEY_SHIFT);
    const s = this.stlb, l1 = this.l1;
    if (level === 2 && this.splinter) {
      // 2 MiB leaf on 4 KiB host pages: a 4 KiB entry for the page accessed (its frame within
      // the leaf), filled below like a PTE's but keeping the PDE's slot; the walk above (to the
      // PDE, A/D set there) is the guest's own, priced as for a 2 MiB entry.
      pfn += i1;
      flags |= TLB_SPLIT;
      this.splitSeen = true;
    } else if (level === 2) {
      // 2 MiB leaf (PDE with PS=1): one entry for the whole page in the 2 MiB L1 and in the
      // STLB, tagged by the 2 MiB page number, holding the page's first frame and the PDE's slot.
      const htag = hugeTag(vpn, pcid);
      this.hugeSeen = true;
      s.insert(cpu, pdeKey, htag, pfn, flags, slot);
      this.l1h.insert(cpu, pdeKey, htag, pfn, flags, slot);
      this.lastPfn = pfn + i1;
      this.lastSlot = slot;
      return 0;
    }
    const leafSlot = slot;
    let i: number;
    if (missed) {
      s.fillVictim(s.setOf(cpu, vpn), tag, pfn, flags, leafSlot);
      i = l1.fillVictim(l1.setOf(cpu, vpn), tag, pfn, flags, leafSlot);
    } else {
      s.insert(cpu, vpn, tag, pfn, flags, leafSlot);
      i = l1.insert(cpu, vpn, tag, pfn, flags, leafSlot);
    }
    this.lastPfn = pfn;
    this.lastSlot = leafSlot;
    return i;
  }

  /** A walk that met a not-present entry after `refs` memory references: #PF. */
  private notPresent(cpu: number, vpn: number, tag: number, write: number, refs: number): number {
    this.counters[EV_REF] += refs;
    return this.faultCode(cpu, vpn, tag, -(X86_PF_USER | (write ? X86_PF_WRITE : 0)));
  }

  private pkeyDenies(cpu: number, pkey: number, write: number): boolean {
    const bits = (this.pkru[cpu] >>> (2 * pkey)) & 3;
    return (bits & 1) !== 0 || (write !== 0 && (bits & 2) !== 0);
  }

  /**
   * A write through a TLB entry (flags `f`, for `vpn`) whose leaf in memory is no longer
   * writable, or maps another frame. A TLB_SPLIT entry holds one frame of its PDE's 2 MiB page:
   * it is current if the PDE is still a writable 2 MiB leaf whose frame + (vpn % 512) is its frame.
   */
  private checkStaleWrite(slot: number, pfn: number, f: number, vpn: number): void {
    const w = this.mem.w;
    const e = w[2 * slot];
    const frame = (e >>> 12) + (w[2 * slot + 1] & 0xfffff) * 1048576;
    if ((e & (P | RW)) !== (P | RW) || frame !== pfn) {
      if ((f & TLB_SPLIT) !== 0 && (e & (P | RW | PSE)) === (P | RW | PSE) && frame + (vpn % 512) === pfn) return;
      this.violations[HwViol.staleWritableTlb]++;
    }
  }

  /** #PF through the L1 entry of array `t` (l1, or l1h for a 2 MiB page). */
  private fault(cpu: number, vpn: number, tag: number, t: TlbArray, code: number): number {
    return t === this.l1h ? this.hugeFault(cpu, vpn, code) : -this.faultCode(cpu, vpn, tag, -code);
  }

  /** Deliver #PF: count it and drop the faulting translation on this CPU (SDM §4.10.4.1). */
  private faultCode(cpu: number, vpn: number, tag: number, negCode: number): number {
    this.counters[EV_PF]++;
    this.l1.invalidate(cpu, vpn, tag);
    this.stlb.invalidate(cpu, vpn, tag);
    return negCode;
  }

  // ---- invalidation instructions (the kernel decides which CPUs run them) ----

  /** INVLPG (or INVPCID individual-address for another PCID) of one page on one CPU. */
  invlpg(cpu: number, vpn: number, pcid: number = this.pcid[cpu]): void {
    if (this.onInvalidate !== null) this.onInvalidate('invlpg', cpu, vpn, pcid);
    const tag = vpn * PCID_LIMIT + pcid;
    this.l1.invalidate(cpu, vpn, tag);
    this.stlb.invalidate(cpu, vpn, tag);
    if (this.hugeSeen) {
      // INVLPG drops the translations of the page that contains the address, whatever its size
      // (SDM vol. 3 §4.10.4.1), so also a 2 MiB entry covering it.
      const htag = hugeTag(vpn, pcid), hkey = Math.floor(vpn / 512);
      this.l1h.invalidate(cpu, hkey, htag);
      this.stlb.invalidate(cpu, hkey, htag);
    }
    if (this.splitSeen) {
      // ... and on 4 KiB host pages every 4 KiB entry made from that guest 2 MiB page: the
      // hardware must drop them all (the kernel flushes a PMD-mapped THP with one INVLPG at
      // 2 MiB stride, or a full flush), however it tracks them. The model drops all 512 (those
      // cached) and prices one INVLPG.
      const lo = Math.floor(vpn / 512) * 512 * PCID_LIMIT;
      this.l1.invalidateSplit(cpu, lo, lo + 512 * PCID_LIMIT, pcid);
      this.stlb.invalidateSplit(cpu, lo, lo + 512 * PCID_LIMIT, pcid);
    }
    this.flushPsc(cpu);
    this.counters[HwEv.invlpg]++;
  }

  /** INVPCID single-context: drop every entry of `pcid` on `cpu`. */
  flushPcid(cpu: number, pcid: number = this.pcid[cpu]): void {
    if (this.onInvalidate !== null) this.onInvalidate('flushPcid', cpu, -1, pcid);
    this.dropPcid(cpu, pcid);
    this.counters[HwEv.flushPcid]++;
  }

  /**
   * Drop every paging-structure-cache entry on every CPU: what the kernel's flush after freeing
   * page tables (tlb_remove_table, freed_tables) guarantees, so no walk resumes in a freed table.
   */
  flushPagingStructureCaches(): void {
    for (let c = 0; c < this.cpus; c++) this.flushPsc(c);
  }

  /** Full flush of `cpu` (all PCIDs). */
  flushAll(cpu: number): void {
    if (this.onInvalidate !== null) this.onInvalidate('flushAll', cpu, -1, -1);
    this.l1.flushAll(cpu);
    this.l1h.flushAll(cpu);
    this.stlb.flushAll(cpu);
    this.flushPsc(cpu);
    this.counters[HwEv.flushAll]++;
  }

  private dropPcid(cpu: number, pcid: number): void {
    this.l1.flushPcid(cpu, pcid);
    this.l1h.flushPcid(cpu, pcid);
    this.stlb.flushPcid(cpu, pcid);
    this.flushPsc(cpu);
  }

  private flushPsc(cpu: number): void {
    this.pde.flush(cpu);
    this.pdpte.flush(cpu);
    this.pml4e.flush(cpu);
  }

  /** Is (vpn, pcid) cached on `cpu`? Returns its TLB flags, or -1 (inspection and tests). */
  cached(cpu: number, vpn: number, pcid: number = this.pcid[cpu]): number {
    const tag = vpn * PCID_LIMIT + pcid;
    const i = this.l1.lookup(cpu, vpn, tag);
    if (i >= 0) return this.l1.flags[i];
    const j = this.stlb.lookup(cpu, vpn, tag);
    if (j >= 0) return this.stlb.flags[j];
    const htag = hugeTag(vpn, pcid), hkey = Math.floor(vpn / 512);
    const h = this.l1h.lookup(cpu, hkey, htag);
    if (h >= 0) return this.l1h.flags[h];
    const k = this.stlb.lookup(cpu, hkey, htag);
    return k >= 0 ? this.stlb.flags[k] : -1;
  }

  /** Reset event and violation counts (not the TLB contents). */
  resetCounters(): void {
    this.counters.fill(0);
    this.violations.fill(0);
  }
}
