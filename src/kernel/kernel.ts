/**
 * The simulated Linux kernel of one machine: a variant (policy), the MMU it drives, physical
 * memory, swap, files, processes (one mm each) and which mm each CPU has loaded. Its methods are
 * the system calls and kernel work an experiment performs; each forwards to the file that holds
 * the rule under the kernel's name (memory.ts for faults, mprotect.ts, userfaultfd.ts, ...).
 */
import { Mmu } from '../x86/mmu';
import type { MmuGeometry } from '../x86/geometry';
import { HwEv } from '../x86/events';
import { pte_lo_present, pte_lohi_dirty, pte_lohi_pfn, X86_64_CLASSIC, X86_64_SAVED_DIRTY, type PteArch } from '../x86/pte';
import { KERNEL_EVENTS, KERNEL_VIOLATIONS, KEv, type KernelViolation } from './events';
import { FileObj, type FsKind } from './filemap';
import { PageFrames, PG_nonzero, PG_dirty, PG_file, PG_mkwrite_fs, PG_mkwrite_notified, PG_swapcache } from './frames';
import { checkPte, KernelInvariantError } from './invariants';
import { do_madvise, do_munmap, type Advice } from './madvise';
import { FAULT_RETRY_IN_KERNEL, FAULT_SIGSEGV, handle_mm_fault } from './memory';
import { migrate_page } from './migrate';
import { AnonFamily, Mm } from './mm';
import { do_mprotect, type Prot, protFlags } from './mprotect';
import { do_fork } from './fork';
import { SwapSpace } from './swap';
import { clear_refs, page_state, pagemap_scan, type PageState } from './task_mmu';
import { switch_mm } from './tlbflush';
import { uffd_fill, uffd_register, uffd_writeprotect, type UffdFeature, type UffdHandler, type UffdHint, type UffdMode } from './userfaultfd';
import type { KernelVariant } from './variant';
import { DEFAULT_VARIANT, getVariant } from './variants';
import { reclaim } from './vmscan';
import { Vma, VM_MAYREAD, VM_MAYWRITE, VM_NOHUGEPAGE, VM_SHARED, VM_SOFTDIRTY, vma_set_page_prot, type VmaKind } from './vma';
import { writeback_files } from './writeback';
import { walk_pte_range } from './pagewalk';
import { DEFAULT_THP, dirty_huge_pages, type ThpSettings } from './huge_memory';
import { DEFAULT_KHUGEPAGED, khugepaged_scan, type CollapseAttempt, type KhugepagedSettings } from './khugepaged';

/** hardware event slot of a completed data access */
const EV_DATA = HwEv.dataAccess;

export interface KernelOptions {
  variant?: KernelVariant | string;
  cpus?: number;
  geometry?: MmuGeometry;
  /** throw on an invariant breach instead of counting it */
  strict?: boolean;
  /** swap device: 'disk' (default) or 'zram', a SWP_SYNCHRONOUS_IO device (see do_swap_page) */
  swap?: 'disk' | 'zram';
  /** the CPUs have INVLPGB/TLBSYNC (AMD Zen 3 and later; not exposed to KVM guests) */
  invlpgb?: boolean;
  /** transparent huge pages (sysfs enabled / use_zero_page); default a stock kernel's: madvise, zero page on */
  thp?: Partial<ThpSettings>;
  /** transparent_hugepage/khugepaged/max_ptes_{none,swap,shared}; default khugepaged_init()'s 511, 64, 256 */
  khugepaged?: Partial<KhugepagedSettings>;
}

export interface MmapOptions {
  region: string;
  pages: number;
  kind: VmaKind;
  prot?: Prot;
  /** filesystem for file kinds: 'mkwrite' (->page_mkwrite, lazy block allocation) or 'plain' */
  fs?: 'mkwrite' | 'plain';
  /** file kinds: is the file already in the page cache (default true) */
  cached?: boolean;
  /**
   * One VMA per page, as MADV_NOHUGEPAGE on every other page makes it (adjacent VMAs with different
   * flags never merge and never share an anon_vma). The native replayer maps anon regions so, to
   * read young/dirty per page from smaps; `ptlab diff` has the model do the same.
   */
  vmaPerPage?: boolean;
}

export class Kernel {
  readonly variant: KernelVariant;
  readonly arch: PteArch;
  readonly cpus: number;
  readonly mmu: Mmu;
  readonly frames = new PageFrames();
  readonly swap = new SwapSpace();
  readonly files = new Map<number, FileObj>();
  readonly families = new Map<number, AnonFamily>();
  readonly procs = new Map<string, Mm>();
  /** event counts, indexed by KEv */
  readonly counters = new Float64Array(KERNEL_EVENTS.length);
  readonly violations = new Float64Array(KERNEL_VIOLATIONS.length);
  readonly cpuMm: (Mm | null)[];
  readonly cpuLazy: boolean[];
  strict: boolean;
  /** the swap device is SWP_SYNCHRONOUS_IO (zram): unshared swap-ins bypass the swap cache */
  readonly swapSynchronousIo: boolean;
  /** X86_FEATURE_INVLPGB: broadcast TLB invalidation is available (used by 6.15+ variants) */
  readonly invlpgb: boolean;
  /** pages written to storage or swap since the counter was last reset */
  writebackThisStep = 0;
  readonly thp: ThpSettings;
  /** khugepaged's sysfs limits; writable between operations, as the selftests write them */
  readonly khugepaged: KhugepagedSettings;
  /** first frame of the huge zero folio, 0 until first used */
  hugeZeroPfn = 0;
  private nextId = 1;

  constructor(opts: KernelOptions = {}) {
    this.variant = typeof opts.variant === 'string' || opts.variant === undefined ? getVariant(opts.variant ?? DEFAULT_VARIANT) : opts.variant;
    this.arch = this.variant.pteArch === 'saved-dirty' ? X86_64_SAVED_DIRTY : X86_64_CLASSIC;
    this.cpus = opts.cpus ?? 2;
    this.mmu = new Mmu({ cpus: this.cpus, geometry: opts.geometry });
    this.cpuMm = new Array(this.cpus).fill(null);
    this.cpuLazy = new Array(this.cpus).fill(false);
    this.strict = opts.strict ?? false;
    this.swapSynchronousIo = opts.swap === 'zram';
    this.invlpgb = opts.invlpgb ?? false;
    this.thp = Object.freeze({ ...DEFAULT_THP, ...(opts.thp ?? {}) });
    this.khugepaged = { ...DEFAULT_KHUGEPAGED, ...(opts.khugepaged ?? {}) };
    const mthpOn = Object.entries(this.thp.mthp).filter(([, m]) => m !== 'never');
    if (mthpOn.length > 0 && !this.variant.anonMthp) {
      throw new Error(`machine.mthp: multi-size THP (hugepages-${mthpOn[0][0]}) needs Linux 6.8+; variant ${this.variant.name} has no such sysfs setting`);
    }
    this.createProcess('main');
  }

  // ---- processes ----

  createProcess(name: string, family?: AnonFamily): Mm {
    if (this.procs.has(name)) throw new Error(`process "${name}" already exists`);
    const id = this.nextId++;
    if (id >= 255) throw new Error('the model supports at most 254 processes (one PCID each)');
    const fam = family ?? new AnonFamily(id);
    this.families.set(fam.id, fam);
    const mm = new Mm(id, name, this.mmu.mem, this.mmu.geometry.la57 ?? false, this.cpus, id, fam);
    fam.mms.push(mm);
    this.procs.set(name, mm);
    return mm;
  }

  process(name: string): Mm {
    const mm = this.procs.get(name);
    if (!mm) throw new Error(`no process "${name}" (known: ${[...this.procs.keys()].join(', ')}); create it with a fork step`);
    return mm;
  }

  /** Run `mm` on `cpu` (context switch if another mm is loaded there). */
  runOn(mm: Mm, cpu: number): void {
    if (this.cpuMm[cpu] !== mm || this.cpuLazy[cpu]) switch_mm(this, cpu, mm);
  }

  /** The CPU goes idle: it keeps the mm loaded in lazy-TLB mode and is skipped by shootdowns. */
  idle(cpu: number): void {
    if (this.cpuMm[cpu]) this.cpuLazy[cpu] = true;
  }

  // ---- memory accesses ----

  /**
   * A user access by a thread of `mm` on `cpu`: the MMU translates; a #PF goes to
   * handle_mm_fault and the access is retried. Returns false if the access got SIGSEGV.
   */
  access(mm: Mm, cpu: number, vpn: number, write: number): boolean {
    if (this.cpuMm[cpu] !== mm || this.cpuLazy[cpu]) switch_mm(this, cpu, mm);
    const mmu = this.mmu;
    for (let tries = 0; tries < 16; tries++) {
      const code = mmu.access(cpu, vpn, write);
      if (code === 0) {
        // translated: the load or store itself happens now, once (the cost layer prices its cache misses)
        mmu.counters[EV_DATA]++;
        if (write) this.afterWrite(mmu.lastPfn);
        return true;
      }
      let r = handle_mm_fault(this, mm, cpu, vpn, write, code);
      for (let again = 0; r === FAULT_RETRY_IN_KERNEL && again < 4; again++) r = handle_mm_fault(this, mm, cpu, vpn, write, code);
      if (r === FAULT_SIGSEGV) return false;
    }
    throw new Error(`model bug: access to vpn ${vpn} by cpu ${cpu} keeps faulting`);
  }

  /** A write reached `pfn`: the page_mkwrite invariant. */
  private afterWrite(pfn: number): void {
    const fl = this.frames.flags[pfn];
    if ((fl & PG_nonzero) === 0) this.frames.flags[pfn] = fl | PG_nonzero;
    if ((fl & PG_mkwrite_fs) !== 0 && (fl & PG_mkwrite_notified) === 0) {
      this.violation('writeWithoutMkwrite', `a write reached page-cache page ${pfn} of a ->page_mkwrite filesystem that was never notified since its last clean`);
    }
  }

  // ---- system calls ----

  mmap(mm: Mm, o: MmapOptions): Vma {
    this.counters[KEv.syscallMmap]++;
    const start = mm.unmappedArea(o.pages);
    const shared = o.kind === 'anon-shared' || o.kind === 'file-shared';
    // new VMAs start with VM_SOFTDIRTY: everything counts as soft-dirty until clear_refs
    const flags = protFlags(o.prot ?? 'rw') | VM_MAYREAD | VM_MAYWRITE | VM_SOFTDIRTY | (shared ? VM_SHARED : 0);
    let file: FileObj | null = null;
    if (o.kind !== 'anon-private') {
      const fs: FsKind = o.kind === 'anon-shared' ? 'shmem' : o.fs ?? 'plain';
      file = new FileObj(this.nextId++, `${mm.name}:${o.region}`, fs, o.pages);
      this.files.set(file.id, file);
      if (fs !== 'shmem' && o.cached !== false) this.populateCache(file);
      if (fs === 'plain') for (let i = 0; i < o.pages; i++) file.blocks.add(i);
    }
    if (o.vmaPerPage) {
      const vmas: Vma[] = [];
      for (let i = 0; i < o.pages; i++) {
        const vma = new Vma(mm, start + i, start + i + 1, flags | (i % 2 === 0 ? VM_NOHUGEPAGE : 0), o.kind, file, i, o.region);
        vma_set_page_prot(vma, this.variant);
        vmas.push(vma);
      }
      mm.insertVma(...vmas);
      return vmas[0];
    }
    const vma = new Vma(mm, start, start + o.pages, flags, o.kind, file, 0, o.region);
    vma_set_page_prot(vma, this.variant);
    mm.insertVma(vma);
    return vma;
  }

  /** A file whose pages are all in the page cache, clean (a warm cache after reading it). */
  private populateCache(file: FileObj): void {
    for (let i = 0; i < file.pages; i++) {
      const pfn = this.allocPage(false);
      this.frames.flags[pfn] |= PG_file | (file.fs === 'mkwrite' ? PG_mkwrite_fs : 0);
      this.frames.owner[pfn] = file.id;
      this.frames.index[pfn] = i;
      this.frames.lruAdd(pfn, 2);
      file.cache.set(i, pfn);
    }
  }

  munmap(mm: Mm, region: string, cpu: number): void {
    const vmas = mm.regionVmas(region);
    if (vmas.length === 0) throw new Error(`munmap: no region "${region}" in process ${mm.name}`);
    this.runOn(mm, cpu);
    do_munmap(this, mm, cpu, vmas);
  }

  mprotect(mm: Mm, cpu: number, start: number, pages: number, prot: Prot): number {
    this.runOn(mm, cpu);
    return do_mprotect(this, mm, cpu, start, pages, prot);
  }

  madvise(mm: Mm, cpu: number, start: number, pages: number, advice: Advice): void {
    this.runOn(mm, cpu);
    do_madvise(this, mm, cpu, start, pages, advice);
  }

  fork(parent: Mm, childName: string, cpu: number): Mm {
    this.runOn(parent, cpu);
    const child = this.createProcess(childName, parent.family);
    do_fork(this, parent, child, cpu);
    return child;
  }

  uffdRegister(mm: Mm, start: number, pages: number, modes: readonly UffdMode[], features: readonly UffdFeature[] = [], handler: UffdHandler = {}): void {
    uffd_register(this, mm, start, pages, modes, features, handler);
  }

  uffdWriteprotect(mm: Mm, cpu: number, start: number, pages: number, wp: boolean, hints: readonly UffdHint[] = []): number {
    this.runOn(mm, cpu);
    return uffd_writeprotect(this, mm, cpu, start, pages, wp, hints);
  }

  uffdCopy(mm: Mm, start: number, pages: number, wp = false): number {
    return uffd_fill(this, mm, start, pages, wp, false);
  }

  uffdZeropage(mm: Mm, start: number, pages: number): number {
    return uffd_fill(this, mm, start, pages, false, true);
  }

  /** Reclaim `pages` folios (or all reclaimable): aging, then shrink. Returns folios freed. */
  reclaim(pages: number | 'all', cpu = 0): number {
    return reclaim(this, pages, cpu);
  }

  /** Write back dirty page-cache pages (of one mm's region, or all files). */
  writeback(cpu = 0, mm?: Mm, region?: string): number {
    const files = mm && region ? mm.regionVmas(region).map((v) => v.file).filter((f): f is FileObj => f !== null) : [...this.files.values()];
    return writeback_files(this, new Set(files), cpu);
  }

  /** One full khugepaged scan on `cpu` (khugepaged.ts): what happened to each 2 MiB range it looked at. */
  khugepagedScan(cpu = 0): CollapseAttempt[] {
    return khugepaged_scan(this, cpu);
  }

  /** move_pages()/mbind() over a range: each folio mapped there migrates once, whole (migrate.ts). Returns the pages moved. */
  migrate(mm: Mm, cpu: number, start: number, pages: number): number {
    let n = 0;
    const end = start + pages;
    for (let vpn = start; vpn < end; ) {
      // the rest of a large folio moves with it: go on after its last page
      const { moved, next } = migrate_page(this, mm, vpn, cpu);
      n += moved;
      vpn = next;
    }
    return n;
  }

  clearRefs(mm: Mm, cpu: number, mode: 'soft-dirty' | 'young'): void {
    this.runOn(mm, cpu);
    clear_refs(this, mm, cpu, mode);
  }

  pagemapScan(mm: Mm, cpu: number, start: number, pages: number, clear: boolean): number[] {
    this.runOn(mm, cpu);
    return pagemap_scan(this, mm, cpu, start, pages, clear);
  }

  inspect(mm: Mm, vpn: number): PageState {
    return page_state(this, mm, vpn);
  }

  // ---- services for the rule files ----

  /** Write a PTE and check the invariants (the kernel's set_pte_at). */
  setPte(mm: Mm, vma: Vma, vpn: number, slot: number, pte: bigint): void {
    this.mmu.mem.set(slot, pte);
    checkPte(this, vma, vpn, pte);
    void mm;
  }

  /** Allocate a page frame (counted; zeroed if asked). */
  allocPage(zero: boolean): number {
    this.counters[KEv.pageAlloc]++;
    if (zero) this.counters[KEv.pageZero]++;
    const pfn = this.frames.alloc();
    if (!zero) this.frames.flags[pfn] |= PG_nonzero; // filled from a copy, swap or file
    return pfn;
  }

  /**
   * folio_free_swap(): drop the swap-cache copy, unless a swap PTE still refers to the slot
   * (folio_swapped()): then nothing happens and it returns false. With `dirty`, the folio holds
   * the only copy now.
   */
  freeSwapCache(pfn: number, dirty = true): boolean {
    const f = this.frames;
    if (!(f.flags[pfn] & PG_swapcache)) return true;
    const s = f.swapSlot[pfn];
    if ((this.swap.refs.get(s) ?? 0) > 0) return false;
    this.swap.cache.delete(s);
    this.swap.release(s);
    f.flags[pfn] &= ~PG_swapcache;
    f.swapSlot[pfn] = -1;
    if (dirty) f.flags[pfn] |= PG_dirty;
    return true;
  }

  violation(kind: KernelViolation, message: string): void {
    this.violations[KERNEL_VIOLATIONS.indexOf(kind)]++;
    if (this.strict) throw new KernelInvariantError(kind, `${kind}: ${message} (variant ${this.variant.name})`);
  }

  /** Pages whose PTE (in any mm) or folio is dirty. */
  dirtyPages(): number {
    const f = this.frames;
    const seen = new Uint8Array(f.limit);
    const mem = this.mmu.mem;
    let n = 0;
    for (const mm of this.procs.values()) {
      for (const vma of mm.vmas) {
        n += dirty_huge_pages(this, mm, vma.start, vma.end, seen);
        walk_pte_range(mm, vma.start, vma.end, (vpn, slot) => {
          const lo = mem.lo(slot);
          const hi = mem.hi(slot);
          if (!pte_lo_present(lo) || !pte_lohi_dirty(lo, hi)) return;
          const pfn = pte_lohi_pfn(lo, hi);
          if (pfn < seen.length && !seen[pfn]) {
            seen[pfn] = 1;
            n++;
          }
        });
      }
    }
    for (let pfn = 2; pfn < f.limit; pfn++) if (!seen[pfn] && f.flags[pfn] & PG_dirty) n++;
    return n;
  }
}
