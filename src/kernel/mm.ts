/**
 * An address space (struct mm_struct): its page tables, its VMAs, its PCID, its TLB generation
 * (the x86 tlb_gen scheme: a CPU whose local generation is behind must flush before trusting its
 * cached translations) and the anon "family" that rmap walks for pages shared after fork.
 */
import { PageTable } from '../x86/pagetable';
import type { PageTableMemory } from '../x86/pagetable';
import { is_mergeable_anon_vma } from './rmap';
import { Vma } from './vma';

/** Processes that share anon pages through fork (the anon_vma tree, coarsened to the process tree). */
export class AnonFamily {
  readonly mms: Mm[] = [];
  constructor(readonly id: number) {}
}

/** User mappings start at 256 MiB and are 2 MiB aligned so regions never share a PTE table. */
const MMAP_BASE_VPN = 0x10000;
const REGION_ALIGN = 512;

export class Mm {
  readonly pt: PageTable;
  vmas: Vma[] = [];
  /** mm->context.tlb_gen: bumped by every flush request */
  tlbGen = 0;
  /** mm->context.global_asid (6.15+, INVLPGB): flushes are broadcasts, no IPIs */
  globalAsid = false;
  /** per CPU: the generation its TLB is known to be flushed up to (cpu_tlbstate.ctxs[].tlb_gen) */
  readonly cpuGen: Float64Array;
  private nextVpn = MMAP_BASE_VPN;

  constructor(
    readonly id: number,
    readonly name: string,
    mem: PageTableMemory,
    la57: boolean,
    cpus: number,
    readonly pcid: number,
    public family: AnonFamily,
  ) {
    this.pt = new PageTable(mem, la57);
    this.cpuGen = new Float64Array(cpus);
  }

  /** find_vma(): the VMA containing `vpn`, or null. */
  findVma(vpn: number): Vma | null {
    const v = this.vmas;
    let lo = 0, hi = v.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const m = v[mid];
      if (vpn < m.start) hi = mid - 1;
      else if (vpn >= m.end) lo = mid + 1;
      else return m;
    }
    return null;
  }

  /** get_unmapped_area(): a free, aligned range of `pages`. */
  unmappedArea(pages: number): number {
    const start = this.nextVpn;
    this.nextVpn = start + Math.ceil((pages + 1) / REGION_ALIGN) * REGION_ALIGN;
    return start;
  }

  insertVma(...vmas: Vma[]): void {
    for (const vma of vmas) {
      this.vmas.push(vma);
      if (vma.file) vma.file.vmas.push(vma);
    }
    this.vmas.sort((a, b) => a.start - b.start);
  }

  removeVma(vma: Vma): void {
    this.vmas = this.vmas.filter((v) => v !== vma);
    if (vma.file) {
      const i = vma.file.vmas.indexOf(vma);
      if (i >= 0) vma.file.vmas.splice(i, 1);
    }
  }

  /** split_vma(): make `at` a VMA boundary (no-op if it already is or lies outside). */
  splitAt(at: number): void {
    const vma = this.findVma(at);
    if (!vma || vma.start === at) return;
    const hi = vma.clone(this);
    hi.start = at;
    hi.pgoff = vma.pgoff + (at - vma.start);
    vma.end = at;
    this.insertVma(hi);
  }

  /** The VMAs covering [start, end), split at both ends (as mprotect and uffd register do). */
  vmasIn(start: number, end: number): Vma[] {
    this.splitAt(start);
    this.splitAt(end);
    return this.vmas.filter((v) => v.start >= start && v.end <= end);
  }

  /**
   * The parts of the VMAs overlapping [start, end), without splitting anything (madvise advice
   * that changes no VMA flags, UFFDIO_WRITEPROTECT/COPY, PAGEMAP_SCAN walk ranges of VMAs).
   */
  rangesIn(start: number, end: number): { vma: Vma; start: number; end: number }[] {
    return this.vmas
      .filter((v) => v.end > start && v.start < end)
      .map((vma) => ({ vma, start: Math.max(vma.start, start), end: Math.min(vma.end, end) }));
  }

  /**
   * vma_merge(): after mprotect or userfaultfd registration, neighbours that became identical
   * (flags, protection, backing, userfaultfd context, region) with mergeable anon_vmas are one
   * VMA again, keeping whichever anon_vma either had.
   */
  mergeAdjacent(): void {
    const out: Vma[] = [];
    for (const v of this.vmas) {
      const prev = out[out.length - 1];
      const same =
        prev !== undefined && prev.end === v.start && prev.flags === v.flags && prev.kind === v.kind && prev.file === v.file &&
        prev.pageProt === v.pageProt && prev.region === v.region && JSON.stringify(prev.uffd) === JSON.stringify(v.uffd) &&
        (prev.file === null || prev.pgoff + (prev.end - prev.start) === v.pgoff) && is_mergeable_anon_vma(prev.anonVma, v.anonVma);
      if (same) {
        prev.end = v.end;
        prev.anonVma ??= v.anonVma;
        if (v.file) {
          const i = v.file.vmas.indexOf(v);
          if (i >= 0) v.file.vmas.splice(i, 1);
        }
      } else out.push(v);
    }
    this.vmas = out;
  }

  /** All VMAs of a spec region, in address order. */
  regionVmas(region: string): Vma[] {
    return this.vmas.filter((v) => v.region === region);
  }
}
