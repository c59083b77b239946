/**
 * "Why did page 17 do that?": a per-PTE event trace. For a few watched pages it records, in
 * order, every hardware and kernel event that touched each one, with the kernel function that
 * did it:
 *  - an access to a watched page: the hardware events of each translation attempt (TLB hit or
 *    miss, walk, A/D update by the walker, #PF) and the fault path the kernel took, read as
 *    counter differences around the access, split at each PTE write so a #PF comes before the
 *    PTE its handler installs;
 *  - every PTE write to a watched page (PageTableMemory.onSet), named by the kernel functions on
 *    the call stack: the model's rule files are named after the kernel's functions
 *    (change_pte_range, madvise_free_pte_range, do_wp_page, shrink_folio_list, ...), so the stack
 *    *is* the kernel call chain;
 *  - every invalidation that drops a watched page's translation on some CPU (Mmu.onInvalidate).
 *
 * Costs nothing when off: the hooks are null, and the simulator drives accesses through
 * `access()` here only while a trace is on (its ordinary loop calls Kernel.access directly).
 */
import { HW_EVENTS, HwEv } from '../x86/events';
import { pte_describe, pte_none } from '../x86/pte';
import { KERNEL_EVENTS } from './events';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { is_migration_entry, is_pte_marker, pte_marker_uffd_wp } from './swap';

/** One event that touched a traced page. */
export interface PteEvent {
  /** order within the run (all traced pages share one sequence) */
  seq: number;
  /** page index within its region */
  page: number;
  region: string;
  process: string;
  /** hardware (the MMU), kernel (a kernel path), pte (the PTE was written), tlb (a translation was dropped) */
  kind: 'hardware' | 'kernel' | 'pte' | 'tlb';
  /** the event name (src/x86/events.ts, src/kernel/events.ts), or "set PTE", "invlpg", ... */
  event: string;
  /** how many times, when one access repeated it (e.g. walk memory references) */
  count: number;
  /** the kernel function (call chain, outermost first) or the hardware mechanism */
  fn: string;
  /** the CPU, when one CPU did it */
  cpu: number | null;
  /** the PTE before and after, as `pte_describe` reads it ("none", "pfn=.. P RW U A D", "marker uffd-wp") */
  before: string;
  after: string;
}

/** What did each hardware event, for the `fn` column (Intel SDM vol. 3 sections). */
const HW_FN: Readonly<Record<string, string>> = {
  tlbL1Hit: 'L1 dTLB lookup',
  stlbHit: 'STLB lookup',
  tlbMiss: 'TLB lookup (miss)',
  walk: 'page walk (SDM 4.5)',
  walkMemRef: 'page walk (SDM 4.5)',
  pscHit: 'paging-structure cache (SDM 4.10.3)',
  aBitSet: 'walker A/D update (SDM 4.8)',
  dBitSet: 'walker A/D update (SDM 4.8)',
  adBitSet: 'walker A/D update (SDM 4.8)',
  pageFault: '#PF delivery (SDM 4.7)',
};

/** The kernel function behind each kernel event (src/kernel/events.ts documents each). */
const KERNEL_FN: Readonly<Record<string, string>> = {
  'fault.anonZeroPage': 'do_anonymous_page',
  'fault.anonAlloc': 'do_anonymous_page',
  'fault.readFile': 'do_read_fault',
  'fault.cow': 'do_cow_fault',
  'fault.shared': 'do_shared_fault',
  'fault.sharedMkwrite': 'do_shared_fault › do_page_mkwrite',
  'fault.wpReuse': 'do_wp_page › wp_page_reuse',
  'fault.wpCopy': 'do_wp_page › wp_page_copy',
  'fault.wpShared': 'do_wp_page › wp_page_shared',
  'fault.wpSharedMkwrite': 'do_wp_page › wp_page_shared › do_page_mkwrite',
  'fault.swapIn': 'do_swap_page',
  'fault.fileRead': 'filemap_fault',
  'fault.uffdMissing': 'handle_userfault (MISSING)',
  'fault.uffdMinor': 'handle_userfault (MINOR)',
  'fault.uffdWp': 'handle_userfault (WP)',
  'fault.uffdWpAsync': 'do_wp_page (uffd-wp async)',
  'fault.spurious': 'handle_pte_fault › flush_tlb_fix_spurious_fault',
  'fault.accessFlags': 'handle_pte_fault › ptep_set_access_flags',
  'fault.sigsegv': 'do_user_addr_fault (SIGSEGV)',
  pageAlloc: 'alloc_pages',
  pageZero: 'clear_page',
  pageCopy: 'copy_page',
  blockAlloc: '->page_mkwrite (block allocation)',
  tlbFlushRequest: 'flush_tlb_mm_range',
  ipi: 'native_flush_tlb_multi (IPI)',
  lazyTlbSkip: 'native_flush_tlb_multi (lazy CPU skipped)',
  swapInPage: 'swap_read_folio',
  swapInTailPage: 'swap_read_folio (further pages of a large folio)',
  swpinZero: 'swap_read_folio › swap_read_folio_zeromap',
  swpoutZero: 'swap_writeout › swap_zeromap_folio_set',
  fileReadPage: 'filemap_read_folio',
};

/** Where to stop a trace from growing without bound (a hot page in a long random stream). */
export const MAX_TRACE_EVENTS = 10_000;

interface Watched {
  mm: Mm;
  vpn: number;
  page: number;
  region: string;
}

/** Kernel functions on the current call stack, outermost first (snake_case frames: rule files). */
function kernelCallChain(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? '';
  Error.stackTraceLimit = limit;
  const names: string[] = [];
  for (const m of stack.matchAll(/at (?:[\w$]+\.)?([a-z][a-z0-9]*(?:_[a-z0-9]+)+) \(/g)) if (names[names.length - 1] !== m[1]) names.push(m[1]);
  return names.reverse().join(' › ') || '(kernel)';
}

/** A PTE as the trace shows it: pte_describe, with markers and migration entries named. */
export function describePte(pte: bigint): string {
  if (pte_none(pte)) return 'none';
  if (is_pte_marker(pte)) return pte_marker_uffd_wp(pte) ? 'marker uffd-wp' : 'marker';
  if (is_migration_entry(pte)) return 'migration entry';
  return pte_describe(pte);
}

export class PteTracer {
  readonly events: PteEvent[] = [];
  /** events not recorded after MAX_TRACE_EVENTS */
  dropped = 0;
  private readonly watched: Watched[] = [];
  private readonly byVpn = new Map<number, Watched[]>();
  private readonly hw0: Float64Array;
  private readonly k0: Float64Array;
  private seq = 0;
  private inAccess: Watched | null = null;
  private accessCpu = 0;
  private accessKind = 'read';
  /** the watched PTE when the counters were last read */
  private pte0 = 0n;
  private active = false;

  constructor(private readonly k: Kernel) {
    this.hw0 = new Float64Array(HW_EVENTS.length);
    this.k0 = new Float64Array(KERNEL_EVENTS.length);
  }

  /** Watch page `page` (index in `region`, at `vpn`) of `mm`. */
  watch(mm: Mm, vpn: number, page: number, region: string): void {
    if (this.watched.some((w) => w.mm === mm && w.vpn === vpn)) return;
    const w = { mm, vpn, page, region };
    this.watched.push(w);
    if (!this.byVpn.has(vpn)) this.byVpn.set(vpn, []);
    this.byVpn.get(vpn)!.push(w);
  }

  get watching(): boolean {
    return this.watched.length > 0;
  }

  /** Install the hooks (until stop()). */
  start(): void {
    if (this.active || this.watched.length === 0) return;
    this.active = true;
    this.k.mmu.mem.onSet = (slot, value) => this.pteWritten(slot, value);
    this.k.mmu.onInvalidate = (what, cpu, vpn, pcid) => this.invalidating(what, cpu, vpn, pcid);
  }

  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.k.mmu.mem.onSet = null;
    this.k.mmu.onInvalidate = null;
  }

  /** Kernel.access, recording the events of accesses to watched pages. */
  access(mm: Mm, cpu: number, vpn: number, write: number): boolean {
    const ws = this.byVpn.get(vpn);
    const w = ws?.find((x) => x.mm === mm);
    if (!this.active || !w) return this.k.access(mm, cpu, vpn, write);
    this.inAccess = w;
    this.accessCpu = cpu;
    this.accessKind = write ? 'write' : 'read';
    this.snapshot();
    this.pte0 = this.pteOf(w);
    try {
      return this.k.access(mm, cpu, vpn, write);
    } finally {
      this.emitCounters(w, this.pteOf(w));
      this.inAccess = null;
    }
  }

  private snapshot(): void {
    this.hw0.set(this.k.mmu.counters);
    this.k0.set(this.k.counters);
  }

  private pteOf(w: Watched): bigint {
    const slot = w.mm.pt.pteSlot(w.vpn);
    return slot >= 0 ? this.k.mmu.mem.get(slot) : 0n;
  }

  private push(e: Omit<PteEvent, 'seq'>): void {
    if (this.events.length >= MAX_TRACE_EVENTS) {
      this.dropped++;
      return;
    }
    this.events.push({ seq: this.seq++, ...e });
  }

  /**
   * The counter differences since the last snapshot, as events of the access in progress (the
   * first one says whether it reads or writes). `now`: the watched PTE at this point; only the
   * walker's A/D updates change it between PTE writes.
   */
  private emitCounters(w: Watched, now: bigint): void {
    const hw = this.k.mmu.counters;
    const kc = this.k.counters;
    const cpu = this.accessCpu;
    const a = describePte(now);
    const faulted = this.k.mmu.counters[HwEv.pageFault] !== this.hw0[HwEv.pageFault];
    // each row shows the PTE as it was at that event: only the walker's A/D update changes it here
    let cur = describePte(this.pte0);
    const hwRows: Omit<PteEvent, 'seq'>[] = [];
    const kRows: Omit<PteEvent, 'seq'>[] = [];
    for (let i = 0; i < hw.length; i++) {
      const n = hw[i] - this.hw0[i];
      if (n === 0) continue;
      const name = HW_EVENTS[i];
      const ad = name === 'aBitSet' || name === 'dBitSet' || name === 'adBitSet';
      hwRows.push({ page: w.page, region: w.region, process: w.mm.name, kind: 'hardware', event: hwRows.length === 0 ? `${name} (${this.accessKind})` : name, count: n, fn: HW_FN[name] ?? 'MMU', cpu, before: cur, after: ad ? a : cur });
      if (ad) cur = a;
    }
    for (let i = 0; i < kc.length; i++) {
      const n = kc[i] - this.k0[i];
      if (n === 0) continue;
      const name = KERNEL_EVENTS[i];
      const pte = faulted ? cur : describePte(this.pte0);
      kRows.push({ page: w.page, region: w.region, process: w.mm.name, kind: 'kernel', event: name, count: n, fn: KERNEL_FN[name] ?? name, cpu, before: pte, after: pte });
    }
    // Counters do not say in which order their events came. Between two PTE writes, a #PF comes
    // before the kernel work it causes; without one, kernel work here is the tail of a fault
    // handler (after its PTE write), which runs before the retried translation.
    for (const e of faulted ? [...hwRows, ...kRows] : [...kRows, ...hwRows]) this.push(e);
    this.snapshot();
    this.pte0 = now;
  }

  private pteWritten(slot: number, value: bigint): void {
    for (const w of this.watched) {
      if (w.mm.pt.pteSlot(w.vpn) !== slot) continue;
      const old = this.k.mmu.mem.get(slot);
      // inside an access: what happened up to this write (the #PF) comes first
      if (this.inAccess === w) {
        this.emitCounters(w, old);
        this.pte0 = value;
      }
      if (old === value) continue;
      this.push({ page: w.page, region: w.region, process: w.mm.name, kind: 'pte', event: 'set PTE', count: 1, fn: kernelCallChain(), cpu: null, before: describePte(old), after: describePte(value) });
    }
  }

  private invalidating(what: 'invlpg' | 'flushPcid' | 'flushAll', cpu: number, vpn: number, pcid: number): void {
    for (const w of this.watched) {
      if (what === 'invlpg' ? vpn !== w.vpn || pcid !== w.mm.pcid : what === 'flushPcid' && pcid !== w.mm.pcid) continue;
      // only a flush that drops a translation this CPU holds touches the page
      if (this.k.mmu.cached(cpu, w.vpn, w.mm.pcid) < 0) continue;
      const pte = describePte(this.pteOf(w));
      this.push({ page: w.page, region: w.region, process: w.mm.name, kind: 'tlb', event: what, count: 1, fn: kernelCallChain(), cpu, before: pte, after: pte });
    }
  }
}
