/**
 * TLB shootdowns as Linux does them on x86 (mm/mmu_gather.c, arch/x86/mm/tlb.c):
 *  - an mmu_gather collects the range of PTEs whose change needs a flush (pte_needs_flush) and
 *    flushes once at tlb_finish_mmu();
 *  - flush_tlb_mm_range() bumps the mm's TLB generation, flushes locally, and IPIs the other CPUs
 *    that have the mm loaded; lazy-TLB CPUs are skipped (they flush when they leave lazy mode);
 *    CPUs that cached the mm's PCID but run something else catch up at their next switch_mm;
 *  - a range of more than tlb_single_page_flush_ceiling (33) pages is flushed whole.
 * RFC 2022 (relaxed-flush variant): a flush that only promotes permissions is done locally, and
 * a CPU taking a spurious #PF with a stale generation flushes itself then.
 */
import { HwEv } from '../x86/events';
import { KEv } from './events';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { pte_needs_flush, _PAGE_RW, _PAGE_NX, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_ACCESSED, _PAGE_SOFT_DIRTY, _PAGE_SPECIAL, _PAGE_UFFD_WP, _PAGE_SAVED_DIRTY, _PAGE_DEVMAP, pte_pfn } from '../x86/pte';

export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

export class MmuGather {
  start = Infinity;
  end = -Infinity;
  /** some change in the batch needs a strict (all-CPU) flush */
  strict = false;
  /** tlb->freed_tables: page tables were freed, so lazy-TLB CPUs must be flushed too */
  freedTables = false;
  /** tlb->cleared_ptes / cleared_pmds: which levels changed, for the flush stride */
  clearedPtes = false;
  clearedPmds = false;
  constructor(readonly mm: Mm) {}
  get needFlush(): boolean {
    return this.end > this.start;
  }
  add(vpn: number, strict = true): void {
    if (vpn < this.start) this.start = vpn;
    if (vpn + 1 > this.end) this.end = vpn + 1;
    if (strict) this.strict = true;
    this.clearedPtes = true;
  }
  /** tlb_flush_pmd_range() / tlb_remove_pmd_tlb_entry(): a PMD leaf at 2 MiB-aligned `haddr` changed. */
  addPmd(haddr: number): void {
    if (haddr < this.start) this.start = haddr;
    if (haddr + 512 > this.end) this.end = haddr + 512;
    this.strict = true;
    this.clearedPmds = true;
  }
  /** tlb_get_unmap_shift(): 4 KiB stride if any PTE changed, else 2 MiB if a PMD did */
  get stride(): number {
    return this.clearedPtes || !this.clearedPmds ? 1 : 512;
  }
}

const SW_BITS = _PAGE_SOFT_DIRTY | _PAGE_SPECIAL | _PAGE_UFFD_WP | _PAGE_DEVMAP | _PAGE_SAVED_DIRTY | _PAGE_ACCESSED;

/**
 * Record a PTE change in the gather if the variant's flush rule needs it: pte_needs_flush()
 * (v5.19+), relaxed by RFC patch 11 (promotion only: not strict) and patch 12 (clean RW->RO: none).
 */
export function tlb_flush_pte_change(k: Kernel, tlb: MmuGather, vpn: number, oldpte: bigint, newpte: bigint): void {
  if (!pte_needs_flush(oldpte, newpte)) return;
  const v = k.variant;
  if (v.relaxedPromotionFlush || v.cleanWrprotectNoFlush) {
    const samePfn = pte_pfn(oldpte) === pte_pfn(newpte) && (newpte & _PAGE_PRESENT) !== 0n;
    // Changes that never need a flush by themselves: software bits, A, and setting D.
    let diff = (oldpte ^ newpte) & ~SW_BITS;
    if ((newpte & _PAGE_DIRTY) !== 0n) diff &= ~_PAGE_DIRTY;
    if (samePfn && v.cleanWrprotectNoFlush && diff === _PAGE_RW && (oldpte & _PAGE_RW) !== 0n && (oldpte & _PAGE_DIRTY) === 0n) return;
    const addsRw = (diff & _PAGE_RW) === 0n || (newpte & _PAGE_RW) !== 0n;
    const clearsNx = (diff & _PAGE_NX) === 0n || (oldpte & _PAGE_NX) !== 0n;
    const promotionOnly = (diff & ~(_PAGE_RW | _PAGE_NX)) === 0n && addsRw && clearsNx;
    if (samePfn && v.relaxedPromotionFlush && promotionOnly) {
      tlb.add(vpn, false);
      return;
    }
  }
  tlb.add(vpn, true);
}

/** tlb_finish_mmu(): issue the batched flush from `cpu`. */
export function tlb_finish_mmu(k: Kernel, tlb: MmuGather, cpu: number): void {
  if (!tlb.needFlush) return;
  flush_tlb_mm_range(k, tlb.mm, tlb.start, tlb.end, cpu, tlb.strict || !k.variant.relaxedPromotionFlush, tlb.stride, tlb.freedTables);
}

/**
 * flush_tlb_mm_range() issued by `cpu` for [start, end) of `mm`, one INVLPG per `stride` pages
 * (stride_shift: 512 for a range of PMD leaves); more than tlb_single_page_flush_ceiling
 * INVLPGs become a full flush. Remote CPUs are reached one of two ways:
 *  - native_flush_tlb_multi() (every variant): an IPI to each CPU that runs the mm, lazy-TLB
 *    CPUs skipped unless page tables were freed (then they are IPI'd too and leave the mm). The
 *    IPIs are all sent first and then waited for together (smp_call_function_many_cond), so the
 *    initiator pays one round trip (`ipi`) plus a send per further target (`ipiExtraTarget`);
 *    the further targets' invalidations run in parallel (`parallelRemoteFlush`, not its work);
 *  - broadcast_tlb_flush() (6.15+, CPUs with INVLPGB): an mm with a global ASID is flushed by
 *    INVLPGB on every CPU at once and one TLBSYNC, no IPI. consider_global_asid() gives one to an
 *    mm after a shootdown when it is loaded on 4 or more CPUs (4afeb0ed1753).
 */
export function flush_tlb_mm_range(k: Kernel, mm: Mm, start: number, end: number, cpu: number, strict = true, stride = 1, freedTables = false): void {
  k.counters[KEv.tlbFlushRequest]++;
  const gen = ++mm.tlbGen;
  const full = (end - start) / stride > TLB_SINGLE_PAGE_FLUSH_CEILING;
  if (mm.globalAsid && strict) {
    broadcast_tlb_flush(k, mm, start, end, full, stride, gen);
    return;
  }
  if (k.cpuMm[cpu] === mm) {
    flushLocal(k, mm, cpu, start, end, full, stride);
    mm.cpuGen[cpu] = gen;
  }
  if (!strict) return; // RFC relaxed flush: remote CPUs keep stale (less permissive) entries
  let targets = 0;
  for (let c = 0; c < k.cpus; c++) {
    if (c === cpu || k.cpuMm[c] !== mm) continue;
    if (k.cpuLazy[c] && !freedTables) {
      k.counters[KEv.lazyTlbSkip]++; // tlb_is_not_lazy() / should_flush_tlb()
      continue;
    }
    if (targets++ === 0) {
      k.counters[KEv.ipi]++;
      flushLocal(k, mm, c, start, end, full, stride);
    } else {
      k.counters[KEv.ipiExtraTarget]++;
      k.counters[KEv.parallelRemoteFlush] += inParallel(k, () => flushLocal(k, mm, c, start, end, full, stride));
    }
    mm.cpuGen[c] = gen;
  }
  if (targets > 0) consider_global_asid(k, mm);
}

/** consider_global_asid() (6.15+): an mm loaded on 4 or more CPUs gets a global ASID, if the CPU has INVLPGB. */
function consider_global_asid(k: Kernel, mm: Mm): void {
  if (k.variant.remoteFlush !== 'v6.15-invlpgb' || !k.invlpgb || mm.globalAsid) return;
  let loaded = 0;
  for (let c = 0; c < k.cpus; c++) if (k.cpuMm[c] === mm) loaded++; // mm_active_cpus_exceeds(mm, 3)
  if (loaded > 3) mm.globalAsid = true;
}

/**
 * broadcast_tlb_flush(): INVLPGB per page (or one for the whole ASID), then TLBSYNC; every CPU's
 * entries of the ASID go, whatever it runs now, without an interrupt. The invalidations on other
 * CPUs are the hardware's, not the initiator's instructions.
 */
function broadcast_tlb_flush(k: Kernel, mm: Mm, start: number, end: number, full: boolean, stride: number, gen: number): void {
  k.counters[KEv.invlpgb] += full ? 1 : Math.ceil((end - start) / stride);
  k.counters[KEv.tlbsync]++;
  inParallel(k, () => {
    for (let c = 0; c < k.cpus; c++) flushLocal(k, mm, c, start, end, full, stride);
  });
  for (let c = 0; c < k.cpus; c++) mm.cpuGen[c] = gen;
}

/** Runs invalidations that other CPUs (or the broadcast) perform, without counting them as this CPU's instructions; returns how many there were. */
function inParallel(k: Kernel, fn: () => void): number {
  const hw = k.mmu.counters;
  const inv = hw[HwEv.invlpg], pcid = hw[HwEv.flushPcid];
  fn();
  const n = hw[HwEv.invlpg] - inv + (hw[HwEv.flushPcid] - pcid);
  hw[HwEv.invlpg] = inv;
  hw[HwEv.flushPcid] = pcid;
  return n;
}

function flushLocal(k: Kernel, mm: Mm, cpu: number, start: number, end: number, full: boolean, stride: number): void {
  if (full) k.mmu.flushPcid(cpu, mm.pcid);
  else for (let v = start; v < end; v += stride) k.mmu.invlpg(cpu, v, mm.pcid);
}

/**
 * switch_mm_irqs_off(): load `mm` on `cpu`. The PCID's cached entries are reused only if no
 * flush for the mm happened since this CPU last caught up (tlb_gen); leaving lazy mode does the
 * same check.
 */
export function switch_mm(k: Kernel, cpu: number, mm: Mm): void {
  const stale = mm.cpuGen[cpu] < mm.tlbGen;
  if (k.cpuMm[cpu] === mm) {
    if (k.cpuLazy[cpu]) {
      k.cpuLazy[cpu] = false;
      if (stale) k.mmu.flushPcid(cpu, mm.pcid);
      mm.cpuGen[cpu] = mm.tlbGen;
    }
    return;
  }
  k.mmu.switchMm(cpu, mm.pt.root, mm.pcid, !stale);
  k.cpuMm[cpu] = mm;
  k.cpuLazy[cpu] = false;
  mm.cpuGen[cpu] = mm.tlbGen;
}

/**
 * flush_tlb_fix_spurious_fault(): a no-op on x86 (the #PF already invalidated the faulting
 * translation). Under the relaxed-flush RFC (patch 08) a CPU whose TLB generation is behind the
 * mm's flushes all of the mm's entries here.
 */
export function flush_tlb_fix_spurious_fault(k: Kernel, mm: Mm, cpu: number): void {
  if (!k.variant.relaxedPromotionFlush) return;
  if (mm.cpuGen[cpu] < mm.tlbGen) {
    k.mmu.flushPcid(cpu, mm.pcid);
    mm.cpuGen[cpu] = mm.tlbGen;
  }
}
