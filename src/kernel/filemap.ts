/**
 * Files and their page cache (mm/filemap.c), for file-backed and shmem mappings. A filesystem is
 * `mkwrite` (has ->page_mkwrite and allocates blocks lazily, like ext4/xfs on a sparse file),
 * `plain` (does writeback and dirty accounting but has no ->page_mkwrite), or `shmem` (tmpfs:
 * swap-backed, no writeback, no ->page_mkwrite).
 */
import { KEv } from './events';
import { PG_dirty, PG_mkwrite_fs, PG_nonzero, PG_shmem, PG_swapbacked } from './frames';
import type { Kernel } from './kernel';
import { swap_read_folio } from './page_io';
import { page_cache_add } from './rmap';
import type { Vma } from './vma';

export type FsKind = 'mkwrite' | 'plain' | 'shmem';

export class FileObj {
  /** page index -> pfn of the cached page */
  readonly cache = new Map<number, number>();
  /** page indexes whose blocks are allocated on storage (mkwrite filesystems allocate in ->page_mkwrite) */
  readonly blocks = new Set<number>();
  /** shmem: page index -> swap slot of a swapped-out page */
  readonly swapped = new Map<number, number>();
  /** VMAs mapping this file (the i_mmap tree rmap walks) */
  readonly vmas: Vma[] = [];
  constructor(
    readonly id: number,
    readonly name: string,
    readonly fs: FsKind,
    readonly pages: number,
  ) {}
}

/** filemap_fault()/shmem_fault(): the page-cache page for `index`, reading or allocating it. */
export function filemap_get_page(k: Kernel, file: FileObj, index: number): { pfn: number; major: boolean } {
  const cached = file.cache.get(index);
  if (cached !== undefined) return { pfn: cached, major: false };
  const pfn = k.allocPage(false);
  let major = false;
  if (file.fs === 'shmem') {
    const slot = file.swapped.get(index);
    if (slot !== undefined) {
      // shmem_swapin_folio(): read back from swap (zero-filled from the zeromap, 6.12+), a major
      // fault either way
      file.swapped.delete(index);
      swap_read_folio(k, pfn, 1, slot);
      k.swap.put(slot);
      major = true;
    } else {
      k.counters[KEv.pageZero]++; // a hole: a zeroed page
      k.frames.flags[pfn] &= ~PG_nonzero;
    }
    page_cache_add(k, pfn, file.id, index, PG_shmem | PG_swapbacked);
    if (major) k.frames.flags[pfn] |= PG_dirty; // only copy now lives in memory
  } else {
    k.counters[KEv.fileReadPage]++;
    major = true;
    page_cache_add(k, pfn, file.id, index, file.fs === 'mkwrite' ? PG_mkwrite_fs : 0);
  }
  file.cache.set(index, pfn);
  return { pfn, major };
}
