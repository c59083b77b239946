/** Small helpers for kernel-rule tests: one process, named regions, page-relative accesses. */
import { Kernel } from '../../src/kernel/kernel';
import type { Mm } from '../../src/kernel/mm';
import type { Vma, VmaKind } from '../../src/kernel/vma';
import type { KernelVariant } from '../../src/kernel/variant';
import { KEv, type KernelFaultKind } from '../../src/kernel/events';
import { HwEv, type HwEvent } from '../../src/x86/events';
import { PG_anon, PG_swapcache, PG_used, PG_file, PG_zero, ZERO_PFN } from '../../src/kernel/frames';
import { pte_none, pte_present, pte_pfn, pte_special, pte_swp_offset } from '../../src/x86/pte';
import { is_pte_marker, is_swap_entry } from '../../src/kernel/swap';

export class Lab {
  readonly k: Kernel;
  readonly mm: Mm;
  constructor(variant: string | KernelVariant, opts: { cpus?: number; strict?: boolean; invlpgb?: boolean } = {}) {
    this.k = new Kernel({ variant, cpus: opts.cpus ?? 2, strict: opts.strict ?? true, invlpgb: opts.invlpgb });
    this.mm = this.k.process('main');
  }
  map(region: string, pages: number, kind: VmaKind = 'anon-private', extra: { prot?: 'none' | 'r' | 'rw'; fs?: 'mkwrite' | 'plain' } = {}): Vma {
    return this.k.mmap(this.mm, { region, pages, kind, ...extra });
  }
  start(region: string, mm: Mm = this.mm): number {
    return mm.regionVmas(region)[0].start;
  }
  write(region: string, page: number, cpu = 0, mm: Mm = this.mm): boolean {
    return this.k.access(mm, cpu, this.start(region, mm) + page, 1);
  }
  read(region: string, page: number, cpu = 0, mm: Mm = this.mm): boolean {
    return this.k.access(mm, cpu, this.start(region, mm) + page, 0);
  }
  writeAll(region: string, pages: number, mm: Mm = this.mm): void {
    for (let p = 0; p < pages; p++) this.write(region, p, 0, mm);
  }
  page(region: string, page: number, mm: Mm = this.mm) {
    return this.k.inspect(mm, this.start(region, mm) + page);
  }
  fault(kind: KernelFaultKind): number {
    return this.k.counters[KEv[`fault.${kind}`]];
  }
  ev(name: keyof typeof KEv): number {
    return this.k.counters[KEv[name]];
  }
  hw(name: HwEvent): number {
    return this.k.mmu.counters[HwEv[name]];
  }
  /** Counters since the last call. */
  resetCounters(): void {
    this.k.counters.fill(0);
    this.k.mmu.resetCounters();
  }
}

/**
 * Global consistency of the model: every PTE and PMD leaf maps a used frame; mapcounts equal the number of
 * PTEs mapping each frame; anon frames are mapped or in the swap cache; swap-slot references
 * equal the swap PTEs plus shmem swap entries. Returns a list of problems (empty = consistent).
 */
export function consistency(k: Kernel): string[] {
  const problems: string[] = [];
  const f = k.frames;
  const count = new Map<number, number>();
  const swapRefs = new Map<number, number>();
  const mem = k.mmu.mem;
  for (const mm of k.procs.values()) {
    for (const vma of mm.vmas) {
      for (let vpn = vma.start; vpn < vma.end; vpn++) {
        const pteSlot = mm.pt.pteSlot(vpn);
        if (pteSlot === -1) continue;
        // a PMD leaf (-2) maps the page: each of its pages counts one mapping (the huge zero page none)
        const slot = pteSlot === -2 ? mm.pt.pmdSlot(vpn) : pteSlot;
        const pte = mem.get(slot);
        if (pteSlot === -2) {
          if (!pte_present(pte)) continue;
          const pfn = pte_pfn(pte) + (vpn % 512);
          if (f.flags[pfn] & PG_zero) continue;
          if (!(f.flags[pfn] & PG_used)) problems.push(`${mm.name} vpn ${vpn} maps free frame ${pfn} by a PMD`);
          count.set(pfn, (count.get(pfn) ?? 0) + 1);
          continue;
        }
        if (pte_none(pte)) continue;
        if (pte_present(pte)) {
          const pfn = pte_pfn(pte);
          if (pfn === ZERO_PFN || pte_special(pte)) continue;
          if (!(f.flags[pfn] & PG_used)) problems.push(`${mm.name} vpn ${vpn} maps free frame ${pfn}`);
          count.set(pfn, (count.get(pfn) ?? 0) + 1);
        } else if (!is_pte_marker(pte) && is_swap_entry(pte)) {
          const s = pte_swp_offset(pte);
          swapRefs.set(s, (swapRefs.get(s) ?? 0) + 1);
        }
      }
    }
  }
  for (const file of k.files.values()) for (const s of file.swapped.values()) swapRefs.set(s, (swapRefs.get(s) ?? 0) + 1);
  const partlyMappedFolio = (pfn: number): boolean => {
    const base = f.head[pfn];
    if (base === 0) return false;
    for (let p = base; p < base + f.folioNr(base); p++) if ((count.get(p) ?? 0) > 0 || f.flags[p] & PG_swapcache) return true;
    return false;
  };
  for (let pfn = 2; pfn < f.limit; pfn++) {
    const fl = f.flags[pfn];
    if (!(fl & PG_used)) continue;
    const n = count.get(pfn) ?? 0;
    if (f.mapcount[pfn] !== n) problems.push(`frame ${pfn}: mapcount ${f.mapcount[pfn]} but ${n} PTEs map it`);
    // (a page of a large folio whose other pages are still mapped waits for the deferred split)
    if (fl & PG_anon && n === 0 && !(fl & PG_swapcache) && !partlyMappedFolio(pfn)) problems.push(`anon frame ${pfn} is neither mapped nor in the swap cache (leak)`);
    if (!(fl & (PG_anon | PG_file))) problems.push(`frame ${pfn} is used but neither anon nor page cache`);
  }
  for (const [s, n] of swapRefs) if ((k.swap.refs.get(s) ?? -1) !== n) problems.push(`swap slot ${s}: ${k.swap.refs.get(s)} refs recorded, ${n} entries point to it`);
  return problems;
}
