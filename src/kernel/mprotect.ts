/**
 * mprotect() and the shared machinery of change_protection() (mm/mprotect.c), used by mprotect,
 * userfaultfd write-protect and clear_refs. The rule for "when does mprotect make a PTE
 * writable" lives here: change_pte_range() rebuilds each PTE with pte_modify() (A, D,
 * soft-dirty and uffd-wp survive), then, with MM_CP_TRY_CHANGE_WRITABLE, may set RW itself if
 * can_change_pte_writable() allows it; flushes follow pte_needs_flush(). From 6.17 the PTEs of a
 * large folio go in batches whose gathered A and D every PTE of the batch gets
 * (changePteBatchesLargeFolios).
 */
import {
  _PAGE_ACCESSED, _PAGE_DIRTY_BITS, _PAGE_SPECIAL, pte_dirty, pte_mkyoung, pte_none, pte_young, pte_pfn, pte_present, pte_protnone, pte_soft_dirty, pte_special, pte_uffd_wp, pte_write,
  pte_clear_uffd_wp, pte_swp_mkuffd_wp, pte_swp_clear_uffd_wp,
} from '../x86/pte';
import { KEv } from './events';
import { PG_anon, PG_anon_exclusive, ZERO_PFN } from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { is_pte_marker, make_pte_marker, pte_marker_uffd_wp, PTE_MARKER_UFFD_WP } from './swap';
import { hookPage, hookVma } from './hooks';
import { MmuGather, tlb_finish_mmu, tlb_flush_pte_change } from './tlbflush';
import { change_pmd_range, folio_pte_batch_respect, HPAGE_PMD_NR, split_huge_pmds_at } from './huge_memory';
import type { ChangePteContext } from './variant';
import {
  VM_READ, VM_SOFTDIRTY, VM_WRITE, vma_set_page_prot, vma_soft_dirty_enabled, vma_wants_manual_pte_write_upgrade, vma_wants_writenotify,
  userfaultfd_wp, type Vma,
} from './vma';

/** A and D (both x86 dirty bits), which folio_pte_batch ignores and change_pte_range gathers */
const AD_BITS = _PAGE_ACCESSED | _PAGE_DIRTY_BITS;
const NOT_AD_BITS = ~AD_BITS;
/** _PAGE_SPECIAL in an entry's low word */
const SPECIAL_LO = Number(_PAGE_SPECIAL);

/** cp_flags of change_protection() */
export interface ChangeProtFlags {
  /** MM_CP_UFFD_WP: set uffd-wp (and write-protect) */
  uffdWp?: boolean;
  /** MM_CP_UFFD_WP_RESOLVE: clear uffd-wp */
  uffdWpResolve?: boolean;
  /** MM_CP_TRY_CHANGE_WRITABLE (v6.0+) */
  tryChangeWritable?: boolean;
  /** MM_CP_DIRTY_ACCT (<= v5.19): upgrade dirty PTEs of shared writenotify mappings */
  dirtyAcct?: boolean;
  /** MM_CP_WILL_NEED (RFC 01): mkyoung, and mkdirty if the PTE ends writable */
  willNeed?: boolean;
  cause: ChangePteContext['cause'];
  hints?: readonly string[];
}

/**
 * can_change_pte_writable() (mm/mprotect.c), per era: may change_pte_range map this PTE
 * writable without a write fault?
 */
export function can_change_pte_writable(k: Kernel, vma: Vma, pte: bigint): boolean {
  const era = k.variant.canChangePteWritable;
  if (era === 'v5.19-dirty-acct') return false;
  if (!(vma.flags & VM_WRITE)) return false;
  if (pte_protnone(pte)) return false;
  // Soft-dirty tracking needs the write fault to set the bit (76aefad628aa, v6.0: 5.19 had the VM_SOFTDIRTY test inverted).
  if (vma_soft_dirty_enabled(vma) && !pte_soft_dirty(pte)) return false;
  // Do we need write faults for uffd-wp tracking?
  if (userfaultfd_wp(vma) && pte_uffd_wp(pte)) return false;
  if (!vma.shared) {
    // Private mapping: only an exclusive anon page may be written without CoW.
    const pfn = pte_pfn(pte);
    if (pte_special(pte) || pfn === ZERO_PFN) return false;
    const fl = k.frames.flags[pfn];
    const exclusive = (fl & PG_anon) !== 0 && (fl & PG_anon_exclusive) !== 0;
    if (era === 'v6.0-dirty-only') return exclusive && pte_dirty(pte);
    return exclusive;
  }
  // Shared writenotify mapping: a dirty PTE means the filesystem was already notified.
  return pte_dirty(pte);
}

/** change_protection() over [start, end) of `vma`, gathering flushes into `tlb`. Returns PTEs changed. */
export function change_protection(k: Kernel, tlb: MmuGather, vma: Vma, start: number, end: number, newprot: bigint, cp: ChangeProtFlags): number {
  const mm = vma.mm;
  const mem = k.mmu.mem;
  const arch = k.arch;
  const v = k.variant;
  const hook = v.hooks.changePte;
  // PTE markers keep uffd-wp on none PTEs: always for shmem/file, for anon with WP_UNPOPULATED.
  const markers = cp.uffdWp === true && (!vma.anon || (vma.uffd?.wpUnpopulated === true && v.uffdWpUnpopulated));
  let changed = 0;
  // the rest of the current large-folio PTE batch, and the A/D gathered over it
  let batchLeft = 0, batchAD = 0n, batchYoung = false, batchDirty = false;
  const perPte = cp.cause === 'uffd-wp' || cp.cause === 'uffd-unprotect' ? KEv.uffdChangePte : KEv.changePte;
  for (let vpn = start; vpn < end; vpn++) {
    if (vpn === start || vpn % HPAGE_PMD_NR === 0) {
      // change_pmd_range(): a PMD leaf covered whole changes as one; partly covered, it is split
      const done = change_pmd_range(k, tlb, vma, vpn, end, newprot, cp);
      if (done > 0) {
        changed += done;
        vpn += done - 1;
        continue;
      }
    }
    const slot = markers ? mm.pt.ensurePteSlot(vpn) : mm.pt.pteSlot(vpn);
    if (slot < 0) {
      // no PTE table: skip to the next table
      vpn += 511 - (vpn % 512);
      continue;
    }
    const old = mem.get(slot);
    if (pte_none(old)) {
      if (markers) {
        mem.set(slot, make_pte_marker(PTE_MARKER_UFFD_WP));
        changed++;
      }
      continue;
    }
    k.counters[perPte]++;
    if (!pte_present(old)) {
      // swap entries and markers: only the uffd-wp bit changes; no flush (not cached)
      let n = old;
      if (is_pte_marker(old)) {
        if (cp.uffdWpResolve && pte_marker_uffd_wp(old)) n = 0n;
      } else if (cp.uffdWp) n = pte_swp_mkuffd_wp(old);
      else if (cp.uffdWpResolve) n = pte_swp_clear_uffd_wp(old);
      if (n !== old) {
        mem.set(slot, n);
        changed++;
      }
      continue;
    }
    // 6.17+ (cac1db8c3aad; variant field changePteBatchesLargeFolios): the PTEs mapping consecutive pages of a
    // large folio with the same bits but A and D are one batch. modify_prot_start_ptes() takes
    // the first PTE and adds A (pte_mkyoung) and D (pte_mkdirty, which sets soft-dirty too) if any
    // later PTE of the batch has them; every PTE of the batch is rebuilt from that one, so one
    // young or dirty PTE makes the whole batch young or dirty, and the flush follows it.
    let gathered = old;
    if (v.changePteBatchesLargeFolios && batchLeft === 0) {
      // (the PFN and the special bit read from the entry's words: this runs for every PTE, and
      // an order-0 page, the common case, must cost no BigInt work)
      const lo = mem.lo(slot);
      const pfn = (lo >>> 12) + (mem.hi(slot) & 0xfffff) * 1048576;
      if ((lo & SPECIAL_LO) === 0 && k.frames.head[pfn] !== 0) {
        const nr = folio_pte_batch_respect(k, mm, vpn, old, Math.min(end, vpn - (vpn % 512) + 512) - vpn);
        if (nr > 1) {
          batchLeft = nr;
          batchAD = old & AD_BITS;
          batchYoung = false;
          batchDirty = false;
          for (let i = 1; i < nr; i++) {
            const e = mem.get(mm.pt.pteSlot(vpn + i));
            batchYoung ||= pte_young(e);
            batchDirty ||= pte_dirty(e);
          }
        }
      }
    }
    if (batchLeft > 0) {
      batchLeft--;
      gathered = (old & NOT_AD_BITS) | batchAD;
      if (batchYoung) gathered = pte_mkyoung(gathered);
      if (batchDirty) gathered = arch.pte_mkdirty(gathered);
    }
    let n = arch.pte_modify(gathered, newprot);
    if (cp.uffdWp) n = arch.pte_mkuffd_wp(n);
    else if (cp.uffdWpResolve) n = pte_clear_uffd_wp(n);
    if (cp.dirtyAcct && pte_dirty(n) && (pte_soft_dirty(n) || (vma.flags & VM_SOFTDIRTY) === 0)) {
      // v5.19 "avoid taking write faults for known dirty pages" (shared writenotify only). The
      // VM_SOFTDIRTY test is as inverted as it was in 5.19 (fixed by 76aefad628aa in v6.0).
      n = arch.pte_mkwrite(n);
    } else if (cp.tryChangeWritable && !pte_write(n) && can_change_pte_writable(k, vma, n)) {
      n = arch.pte_mkwrite(n);
      // Peter Xu's proposal (YtcYVMoSRVxRH70Z@xz-m1.local): make RFC 01's pte_mkdirty in this branch
      // unconditional, for mprotect and uffd alike; only where this branch grants write
      if (v.mkdirtyOnMkwrite) n = arch.pte_mkdirty(n);
    }
    if (cp.willNeed) {
      // RFC 01 as settled in the thread: young always, dirty only once the write bit is decided.
      n = pte_mkyoung(n);
      if (pte_write(n)) n = arch.pte_mkdirty(n);
    }
    // what-if, not a proposal from the thread: dirty on every write grant, also those pte_modify()
    // makes from a writable vm_page_prot (shmem, or any shared VMA without writenotify)
    if (v.mkdirtyOnEveryWriteGrant && pte_write(n) && !pte_write(old)) n = arch.pte_mkdirty(n);
    if (hook) n = hook({ vpn, oldPte: old, newPte: n, vma: hookVma(vma), page: hookPage(k, n), cause: cp.cause, hints: cp.hints ?? [], arch });
    if (n !== old) {
      // Counted apart from changePte: a PTE this call made writable while dirty, whichever rule
      // above (or the hook) made it so; a cost profile may price it above a plain PTE change.
      if (pte_write(n) && !pte_write(old) && pte_dirty(n)) k.counters[KEv.mkwriteDirtyPte]++;
      k.setPte(mm, vma, vpn, slot, n);
      tlb_flush_pte_change(k, tlb, vpn, gathered, n);
      changed++;
    }
  }
  return changed;
}

export type Prot = 'none' | 'r' | 'rw';
export const protFlags = (prot: Prot): number => (prot === 'rw' ? VM_READ | VM_WRITE : prot === 'r' ? VM_READ : 0);

/** mprotect(2): mprotect_fixup() on each VMA of the range, one batched flush at the end. */
export function do_mprotect(k: Kernel, mm: Mm, cpu: number, start: number, pages: number, prot: Prot): number {
  k.counters[KEv.syscallMprotect]++;
  const tlb = new MmuGather(mm);
  let changed = 0;
  // mprotect_fixup() returns at once for a VMA whose flags do not change: no split, no PTE walk
  // (so a writenotify- or uffd-protected PTE stays as it is)
  const touched = mm.rangesIn(start, start + pages).filter(({ vma }) => ((vma.flags & ~(VM_READ | VM_WRITE)) | protFlags(prot)) !== vma.flags);
  // mprotect_fixup() -> vma_modify_flags() splits the VMA first, and vma_adjust_trans_huge()
  // splits a PMD leaf that the new boundary would cut, while the VMA still has its old
  // protection: the PTEs come out as writable as the PMD was, and change_pte_range() then
  // write-protects the ones in the range and flushes them (all versions modelled: read in the
  // 5.19, 6.0.1, 6.2.1, 6.3.8 and 6.18.2 sources, where __vma_adjust() / __split_vma() call it).
  for (const r of touched) split_huge_pmds_at(k, mm, r.start, r.end);
  for (const vma of touched.flatMap((r) => mm.vmasIn(r.start, r.end))) {
    vma.flags = (vma.flags & ~(VM_READ | VM_WRITE)) | protFlags(prot);
    vma_set_page_prot(vma, k.variant);
    const cp: ChangeProtFlags = { cause: 'mprotect' };
    if (k.variant.canChangePteWritable === 'v5.19-dirty-acct') {
      cp.dirtyAcct = vma.shared && vma_wants_writenotify(vma, k.variant, vma.pageProt);
    } else if (vma_wants_manual_pte_write_upgrade(vma, k.variant)) cp.tryChangeWritable = true;
    changed += change_protection(k, tlb, vma, vma.start, vma.end, vma.pageProt, cp);
  }
  tlb_finish_mmu(k, tlb, cpu);
  mm.mergeAdjacent();
  return changed;
}
