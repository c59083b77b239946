/**
 * Kernel-model benchmark (issue 3): a 1 Mi-page anon region populated by write faults,
 * write-protected and unprotected with uffd, then touched 10 M times at random (uniform, so most
 * accesses walk the page tables), under linux-6.18. Reports seconds for the whole sequence.
 */
import { Kernel } from '../src/kernel/kernel';
import { Xoshiro128ss } from '../src/workload/prng';

export function uffdMillionPages(pages = 1 << 20, touches = 10_000_000): { seconds: number; accessesPerSec: number } {
  const t0 = process.hrtime.bigint();
  const k = new Kernel({ variant: 'linux-6.18', cpus: 2 });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'heap', pages, kind: 'anon-private' });
  for (let p = 0; p < pages; p++) k.access(mm, 0, vma.start + p, 1);
  k.uffdRegister(mm, vma.start, pages, ['wp']);
  k.uffdWriteprotect(mm, 0, vma.start, pages, true);
  k.uffdWriteprotect(mm, 0, vma.start, pages, false);
  const rng = new Xoshiro128ss(7);
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < touches; i++) k.access(mm, i & 1, vma.start + Math.floor(rng.nextFloat() * pages), i & 1);
  const t2 = process.hrtime.bigint();
  return { seconds: Number(t2 - t0) / 1e9, accessesPerSec: touches / (Number(t2 - t1) / 1e9) };
}

/**
 * THP first touch (issue 17): a 1 GiB MADV_HUGEPAGE anon region written once, page by page in
 * order, under linux-6.18 with THP `madvise`: one do_huge_pmd_anonymous_page fault per 2 MiB,
 * then 511 accesses through the 2 MiB TLB entry. Accesses (4 KiB pages) per second, the whole
 * sequence including the faults.
 */
export function thpFirstTouch(pages = 1 << 18): number {
  const k = new Kernel({ variant: 'linux-6.18', cpus: 2, thp: { enabled: 'madvise' } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'heap', pages, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, pages, 'hugepage');
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < pages; p++) k.access(mm, 0, vma.start + p, 1);
  const t1 = process.hrtime.bigint();
  if (k.counters[0] !== 0 || k.inspect(mm, vma.start + pages - 1).huge !== true) throw new Error('thpFirstTouch: the region was not THP-backed');
  return pages / (Number(t1 - t0) / 1e9);
}
