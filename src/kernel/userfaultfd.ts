/**
 * userfaultfd (fs/userfaultfd.c, mm/userfaultfd.c): registration, UFFDIO_WRITEPROTECT
 * (mwriteprotect_range -> uffd_wp_range -> change_protection), UFFDIO_COPY / ZEROPAGE
 * (mfill_atomic_install_pte), and a modelled handler thread that resolves faults:
 * MISSING -> UFFDIO_COPY of a zeroed page, MINOR -> UFFDIO_CONTINUE, WP -> un-protect the page.
 *
 * Era differences (kernel-facts.md 2.4): up to v6.2 un-protect rebuilt PTEs with
 * vm_get_page_prot(vm_flags) and never set RW itself, so a private PTE stays read-only and the next
 * write takes a wp fault (wp_page_reuse sets A+D+RW); from v6.3 it uses vma->vm_page_prot with
 * MM_CP_TRY_CHANGE_WRITABLE, so an exclusive anon PTE becomes writable at once with A and D
 * unchanged and the RW change flushes the TLB.
 */
import { pfn_pte, pte_mkspecial, pte_none } from '../x86/pte';
import { KEv } from './events';
import { ZERO_PFN } from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { filemap_get_page } from './filemap';
import { is_pte_marker } from './swap';
import { change_protection, type ChangeProtFlags } from './mprotect';
import { anon_vma_prepare, page_add_new_anon_rmap, page_dup_rmap } from './rmap';
import { split_huge_pmds_at } from './huge_memory';
import { MmuGather, tlb_finish_mmu } from './tlbflush';
import type { KernelVariant } from './variant';
import {
  VM_UFFD_MINOR, VM_UFFD_MISSING, VM_UFFD_WP, VM_WRITE, vm_get_page_prot, vma_set_page_prot, vma_wants_manual_pte_write_upgrade, type Vma,
} from './vma';

/** UFFDIO_REGISTER_MODE_* */
export const UFFD_MODES = ['missing', 'wp', 'minor'] as const;
export type UffdMode = (typeof UFFD_MODES)[number];
/** UFFD_FEATURE_WP_ASYNC, _WP_UNPOPULATED, _EVENT_FORK */
export const UFFD_FEATURES = ['wp-async', 'wp-unpopulated', 'event-fork'] as const;
export type UffdFeature = (typeof UFFD_FEATURES)[number];
/** the seed RFC's UFFDIO_WRITEPROTECT_MODE_ACCESS_LIKELY / _WRITE_LIKELY */
export const UFFD_HINTS = ['access-likely', 'write-likely'] as const;
export type UffdHint = (typeof UFFD_HINTS)[number];

export class UffdError extends Error {
  constructor(
    readonly errno: string,
    message: string,
  ) {
    super(message);
    this.name = 'UffdError';
  }
}

/** UFFDIO_API feature negotiation + UFFDIO_REGISTER over [start, start+pages). */
export interface UffdHandler {
  /** copy each faulting page before un-protecting it (a live snapshot) */
  copy?: boolean;
  hints?: readonly UffdHint[];
}

export function uffd_register(k: Kernel, mm: Mm, start: number, pages: number, modes: readonly UffdMode[], features: readonly UffdFeature[], handler: UffdHandler = {}): void {
  const v = k.variant;
  if (features.includes('wp-async') && !v.uffdWpAsync) throw new UffdError('EINVAL', `UFFD_FEATURE_WP_ASYNC needs Linux 6.7+; variant ${v.name} does not have it`);
  if (features.includes('wp-unpopulated') && !v.uffdWpUnpopulated) throw new UffdError('EINVAL', `UFFD_FEATURE_WP_UNPOPULATED needs Linux 6.4+; variant ${v.name} does not have it`);
  k.counters[KEv.uffdIoctl] += 2; // UFFDIO_API + UFFDIO_REGISTER
  // userfaultfd_register() checks every VMA of the range before it changes any
  for (const { vma } of mm.rangesIn(start, start + pages)) {
    const why = vma_can_userfault(v, vma, modes, features.includes('wp-async'));
    if (why) throw new UffdError('EINVAL', `UFFDIO_REGISTER(${modes.join(',')}) of region ${vma.region} fails with EINVAL under ${v.name}: ${why}`);
  }
  split_huge_pmds_at(k, mm, start, start + pages); // vma_adjust_trans_huge() at the new VMA boundaries
  for (const vma of mm.vmasIn(start, start + pages)) {
    if (modes.includes('missing')) vma.flags |= VM_UFFD_MISSING;
    if (modes.includes('wp')) vma.flags |= VM_UFFD_WP;
    if (modes.includes('minor')) vma.flags |= VM_UFFD_MINOR;
    // userfaultfd_api() (v6.7): "WP_ASYNC relies on WP_UNPOPULATED, choose it unconditionally"
    const wpAsync = features.includes('wp-async');
    vma.uffd = {
      wpAsync,
      wpUnpopulated: wpAsync || features.includes('wp-unpopulated'),
      eventFork: features.includes('event-fork'),
      handlerCopies: handler.copy ?? false,
      handlerHints: [...(handler.hints ?? [])],
    };
    vma_set_page_prot(vma, v); // writenotify for uffd-wp (v6.2+)
  }
  mm.mergeAdjacent();
}

/** vma_is_shmem(): anon-shared memory and tmpfs files (the model's `shmem` page cache). */
function vma_is_shmem(vma: Vma): boolean {
  return vma.file?.fs === 'shmem';
}

/**
 * vma_can_userfault() (include/linux/userfaultfd_k.h; mm/userfaultfd.c later): may this VMA be
 * registered in these modes? Returns why not, or null. Minor mode needs shmem (or hugetlb) in
 * every modelled release; otherwise anon and shmem (and hugetlb) only, except that from 6.7 a
 * wp-only registration with UFFD_FEATURE_WP_ASYNC accepts any memory (d61ea1cb0095).
 */
export function vma_can_userfault(v: KernelVariant, vma: Vma, modes: readonly UffdMode[], wpAsync: boolean): string | null {
  const what = `${vma.kind}${vma.file && !vma_is_shmem(vma) ? ` on a '${vma.file.fs}' filesystem` : ''}`;
  if (modes.includes('minor') && !vma_is_shmem(vma)) return `minor mode needs shmem or hugetlb memory, and the region is ${what}`;
  if (v.vmaCanUserfault === 'v6.7-wp-async-any-memory' && wpAsync && modes.length === 1 && modes[0] === 'wp') return null;
  if (vma.anon || vma_is_shmem(vma)) return null;
  return v.vmaCanUserfault === 'v6.7-wp-async-any-memory'
    ? `vma_can_userfault() accepts ${what} only in wp-only mode with UFFD_FEATURE_WP_ASYNC (6.7+); otherwise anon, shmem and hugetlb memory only`
    : `vma_can_userfault() accepts only anon, shmem and hugetlb memory before 6.7, and the region is ${what}`;
}

/**
 * UFFDIO_WRITEPROTECT: mwriteprotect_range() -> uffd_wp_range() per VMA, one flush at the end.
 * `hints` are the RFC's UFFDIO_WRITEPROTECT_MODE_ACCESS_LIKELY / WRITE_LIKELY (never merged).
 */
export function uffd_writeprotect(k: Kernel, mm: Mm, cpu: number, start: number, pages: number, wp: boolean, hints: readonly UffdHint[] = []): number {
  k.counters[KEv.uffdIoctl]++;
  const v = k.variant;
  const tlb = new MmuGather(mm);
  let changed = 0;
  for (const { vma, start: from, end: to } of mm.rangesIn(start, start + pages)) {
    if (!(vma.flags & VM_UFFD_WP)) throw new UffdError('ENOENT', `UFFDIO_WRITEPROTECT on region ${vma.region}, which is not registered with uffd wp mode`);
    const cp: ChangeProtFlags = wp ? { uffdWp: true, cause: 'uffd-wp', hints } : { uffdWpResolve: true, cause: 'uffd-unprotect', hints };
    let newprot: bigint;
    if (v.uffdUnprotect === 'v5.19-vm_get_page_prot') {
      newprot = vm_get_page_prot(wp ? vma.flags & ~VM_WRITE : vma.flags);
      if (!wp && hints.includes('write-likely') && v.uffdWriteLikelyTriesWritable && vma_wants_manual_pte_write_upgrade(vma, v)) cp.tryChangeWritable = true;
    } else {
      newprot = vma.pageProt;
      if (!wp && vma_wants_manual_pte_write_upgrade(vma, v)) cp.tryChangeWritable = true;
    }
    if (!wp && v.uffdAccessHints && hints.length > 0) cp.willNeed = true;
    changed += change_protection(k, tlb, vma, from, to, newprot, cp);
  }
  tlb_finish_mmu(k, tlb, cpu);
  return changed;
}

/**
 * mfill_atomic_install_pte() for one page, UFFDIO_COPY and ZEROPAGE (and the CONTINUE below): the
 * new PTE is young (x86's vm_page_prot has _PAGE_ACCESSED) and always dirty (9ae0f87d009c, v5.16,
 * which also stopped shmem from dirtying the folio itself), writable if the VMA is unless it is a
 * page-cache page in a private mapping, optionally uffd-wp. Returns false if the PTE was not none,
 * or (shmem) the page is already in the page cache (-EEXIST).
 */
export function mfill_atomic_install_pte(k: Kernel, mm: Mm, vma: Vma, vpn: number, wp: boolean, zeropage: boolean): boolean {
  const slot = mm.pt.ensurePteSlot(vpn);
  if (slot < 0) return false; // a PMD leaf maps it: -EEXIST (mfill_atomic: pmd_trans_huge)
  const old = k.mmu.mem.get(slot);
  if (!pte_none(old) && !is_pte_marker(old)) return false; // -EEXIST
  if (zeropage && vma.anon) {
    // mfill_atomic_pte_zeropage(): the zero page, special and read-only
    k.setPte(mm, vma, vpn, slot, pte_mkspecial(pfn_pte(ZERO_PFN, vma.pageProt)));
    return true;
  }
  let pfn: number;
  if (vma.anon) {
    pfn = k.allocPage(false);
    k.counters[zeropage ? KEv.pageZero : KEv.pageCopy]++;
    page_add_new_anon_rmap(k, pfn, mm, vpn);
  } else {
    // shmem_mfill_atomic_pte(): a new page into the page cache (-EEXIST if one is there)
    const file = vma.file!, index = vma.fileIndex(vpn);
    if (file.cache.has(index) || file.swapped.has(index)) return false;
    pfn = filemap_get_page(k, file, index).pfn;
    k.counters[KEv.pageCopy]++;
    page_dup_rmap(k, pfn);
  }
  let entry = k.arch.pte_mkdirty(pfn_pte(pfn, vma.pageProt));
  if (vma.flags & VM_WRITE && (vma.anon || vma.shared)) entry = k.arch.pte_mkwrite(entry);
  if (wp) entry = k.arch.pte_mkuffd_wp(entry);
  k.setPte(mm, vma, vpn, slot, entry);
  return true;
}

/** UFFDIO_COPY / UFFDIO_ZEROPAGE over a range; returns pages installed. */
export function uffd_fill(k: Kernel, mm: Mm, start: number, pages: number, wp: boolean, zeropage: boolean): number {
  k.counters[KEv.uffdIoctl]++;
  let n = 0;
  for (const { vma, start: from, end: to } of mm.rangesIn(start, start + pages)) {
    if (!(vma.flags & (VM_UFFD_MISSING | VM_UFFD_WP | VM_UFFD_MINOR))) throw new UffdError('ENOENT', `UFFDIO_${zeropage ? 'ZEROPAGE' : 'COPY'} on region ${vma.region}, which is not registered with userfaultfd`);
    // mfill_atomic(): every private VMA gets its anon_vma first, UFFDIO_ZEROPAGE included
    if (!vma.shared) anon_vma_prepare(vma);
    for (let vpn = from; vpn < to; vpn++) if (mfill_atomic_install_pte(k, mm, vma, vpn, wp, zeropage)) n++;
  }
  return n;
}

// ---- the modelled handler thread (one round trip per fault; cost: fault.uffd* events) ----

/** MISSING: the handler answers with UFFDIO_COPY of a zeroed page (wp if registered for wp). */
export function uffd_handle_missing(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number): void {
  void cpu;
  k.counters[KEv.uffdIoctl]++;
  if (!vma.shared) anon_vma_prepare(vma); // mfill_atomic()
  mfill_atomic_install_pte(k, mm, vma, vpn, false, false);
}

/** MINOR: the handler answers with UFFDIO_CONTINUE (map the cached page). */
export function uffd_handle_minor(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number): void {
  void cpu;
  k.counters[KEv.uffdIoctl]++;
  if (!vma.shared) anon_vma_prepare(vma); // mfill_atomic()
  const slot = mm.pt.ensurePteSlot(vpn);
  const pfn = vma.file!.cache.get(vma.fileIndex(vpn))!;
  // mfill_atomic_pte_continue() -> mfill_atomic_install_pte(): young, always dirty (9ae0f87d009c),
  // writable only in a shared writable mapping (the page is in the page cache)
  let entry = k.arch.pte_mkdirty(pfn_pte(pfn, vma.pageProt));
  if (vma.flags & VM_WRITE && vma.shared) entry = k.arch.pte_mkwrite(entry);
  page_dup_rmap(k, pfn);
  k.setPte(mm, vma, vpn, slot, entry);
}

/** WP: the handler (e.g. a live-snapshot thread, after copying the page) un-protects that page. */
export function uffd_handle_wp(k: Kernel, mm: Mm, vma: Vma, cpu: number, vpn: number): void {
  if (vma.uffd?.handlerCopies) k.counters[KEv.pageCopy]++;
  uffd_writeprotect(k, mm, cpu, vpn, 1, false, vma.uffd?.handlerHints ?? []);
}
