/**
 * Files and their page cache (mm/filemap.c), for file-backed and shmem mappings. A filesystem is
 * `mkwrite` (has ->page_mkwrite and allocates blocks lazily, like ext4/xfs on a sparse file),
 * `plain` (does writeback and dirty accounting but has no ->page_mkwrite), or `shmem` (tmpfs:
 * swap-backed, no writeback, no ->page_mkwrite).
 */
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
