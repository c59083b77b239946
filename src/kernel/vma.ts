/**
 * Virtual memory areas: flags, protections and the writenotify rule (mm/mmap.c), as on x86-64.
 */
import { PAGE_COPY, PAGE_NONE, PAGE_READONLY, PAGE_SHARED } from '../x86/pte';
import type { FileObj } from './filemap';
import type { Mm } from './mm';
import type { AnonVma } from './rmap';
import type { UffdHint } from './userfaultfd';
import type { KernelVariant } from './variant';

// include/linux/mm.h values (VM_UFFD_MINOR is bit 41 there; the model uses 0x800, a bit free in
// every modelled release: VM_DENYWRITE until 5.15, VM_MAYBE_GUARD only after 6.18)
export const VM_READ = 0x1;
export const VM_WRITE = 0x2;
export const VM_EXEC = 0x4;
export const VM_SHARED = 0x8;
export const VM_MAYREAD = 0x10;
export const VM_MAYWRITE = 0x20;
export const VM_UFFD_MISSING = 0x200;
export const VM_UFFD_MINOR = 0x800;
export const VM_UFFD_WP = 0x1000;
export const VM_SOFTDIRTY = 0x08000000;
/** MADV_HUGEPAGE / MADV_NOHUGEPAGE (include/linux/mm.h values) */
export const VM_HUGEPAGE = 0x20000000;
export const VM_NOHUGEPAGE = 0x40000000;
/** VM_ACCESS_FLAGS (include/linux/mm.h): the protection bits anon_vma_compatible() ignores */
export const VM_ACCESS_FLAGS = VM_READ | VM_WRITE | VM_EXEC;

export type VmaKind = 'anon-private' | 'anon-shared' | 'file-shared' | 'file-private';

export interface UffdContext {
  /** UFFD_FEATURE_WP_ASYNC */
  wpAsync: boolean;
  /** UFFD_FEATURE_WP_UNPOPULATED */
  wpUnpopulated: boolean;
  /** UFFD_FEATURE_EVENT_FORK: the child keeps uffd-wp state */
  eventFork: boolean;
  /** the modelled handler thread copies each faulting page before un-protecting it */
  handlerCopies: boolean;
  /** hints the handler's UFFDIO_WRITEPROTECT passes (the seed RFC's ACCESS/WRITE_LIKELY) */
  handlerHints: UffdHint[];
}

export class Vma {
  constructor(
    public mm: Mm,
    /** first virtual page number */
    public start: number,
    /** one past the last virtual page number */
    public end: number,
    public flags: number,
    public kind: VmaKind,
    /** backing file (page cache) for file kinds and shmem */
    public file: FileObj | null,
    /** file page index that `start` maps */
    public pgoff: number,
    /** the spec's region name */
    public region: string,
    public pageProt: bigint = 0n,
    public uffd: UffdContext | null = null,
    /**
     * vma->anon_vma: set by anon_vma_prepare() on the first fault or ioctl that puts an anon page
     * in the VMA (never by a read fault that maps the zero page); fork copies page tables only of
     * VMAs that have one (vma_needs_copy()).
     */
    public anonVma: AnonVma | null = null,
  ) {}

  get pages(): number {
    return this.end - this.start;
  }
  get shared(): boolean {
    return (this.flags & VM_SHARED) !== 0;
  }
  get writable(): boolean {
    return (this.flags & VM_WRITE) !== 0;
  }
  get anon(): boolean {
    return this.kind === 'anon-private';
  }
  /** file page index backing `vpn` */
  fileIndex(vpn: number): number {
    return this.pgoff + (vpn - this.start);
  }
  /** A copy sharing the anon_vma, as __split_vma() makes with anon_vma_clone(); fork replaces it (anon_vma_fork()). */
  clone(mm: Mm): Vma {
    return new Vma(mm, this.start, this.end, this.flags, this.kind, this.file, this.pgoff, this.region, this.pageProt, this.uffd && { ...this.uffd }, this.anonVma);
  }
}

/** vm_get_page_prot(): the x86 protection_map (data mappings; exec not modelled). */
export function vm_get_page_prot(flags: number): bigint {
  const r = (flags & VM_READ) !== 0, w = (flags & VM_WRITE) !== 0;
  if (!r && !w) return PAGE_NONE;
  if (!w) return PAGE_READONLY;
  // A private writable mapping is mapped read-only: the first write breaks CoW in do_wp_page.
  return flags & VM_SHARED ? PAGE_SHARED : PAGE_COPY;
}

/** vma_soft_dirty_enabled(): soft-dirty tracking is armed once clear_refs cleared VM_SOFTDIRTY. */
export function vma_soft_dirty_enabled(vma: Vma): boolean {
  return (vma.flags & VM_SOFTDIRTY) === 0;
}

/** userfaultfd_wp(): the VMA is registered for write-protect faults. */
export function userfaultfd_wp(vma: Vma): boolean {
  return (vma.flags & VM_UFFD_WP) !== 0;
}

/**
 * vma_wants_writenotify(vma, prot) (mm/mmap.c): shared writable mappings whose first write must
 * fault so the kernel sees it: ->page_mkwrite, soft-dirty tracking, uffd-wp (v6.2+), dirty
 * accounting of files that do writeback (not shmem). Before those checks the kernel gives up if
 * `prot` is not what vm_pgprot_modify() would make of the VMA flags, which is the case once
 * vm_page_prot is already write-protected for writenotify: asked with vma->vm_page_prot (as
 * vma_wants_manual_pte_write_upgrade() and 5.19's MM_CP_DIRTY_ACCT do), the answer is then
 * false for everything but ->page_mkwrite files.
 */
export function vma_wants_writenotify(vma: Vma, variant: KernelVariant, prot: bigint = vm_get_page_prot(vma.flags)): boolean {
  if ((vma.flags & (VM_WRITE | VM_SHARED)) !== (VM_WRITE | VM_SHARED)) return false;
  if (vma.file && vma.file.fs === 'mkwrite') return true;
  if (prot !== vm_get_page_prot(vma.flags)) return false;
  if (vma_soft_dirty_enabled(vma)) return true;
  if (variant.writenotifyForUffdWp && userfaultfd_wp(vma)) return true;
  return vma.file !== null && vma.file.fs !== 'shmem';
}

/** vma_set_page_prot(): writenotify mappings get the read-only (private) protection. */
export function vma_set_page_prot(vma: Vma, variant: KernelVariant): void {
  let flags = vma.flags;
  if (vma_wants_writenotify(vma, variant)) flags &= ~VM_SHARED;
  vma.pageProt = vm_get_page_prot(flags);
}

/**
 * vma_wants_manual_pte_write_upgrade() (mm/mprotect.c, v6.2; logic v6.0): may change_pte_range
 * map PTEs writable itself? Shared: only writenotify mappings (others get RW from the prot);
 * private: any VM_WRITE mapping.
 */
export function vma_wants_manual_pte_write_upgrade(vma: Vma, variant: KernelVariant): boolean {
  if (vma.shared) return vma_wants_writenotify(vma, variant, vma.pageProt);
  return vma.writable;
}
