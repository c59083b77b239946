/**
 * Invariants checked whenever the kernel model writes a PTE (and on writes, see Kernel.access):
 *  - no PTE is writable on a page that is CoW-shared (anon not exclusive, or mapped twice, or the zero page);
 *  - no PTE is writable in a VMA without VM_WRITE (the mkdirty selftest);
 *  - a page-cache page of a ->page_mkwrite filesystem is never mapped writable in a shared
 *    mapping without a ->page_mkwrite notification since its last clean (the seed thread's
 *    data-corruption concern).
 * Breaches are counted; in strict mode they throw.
 */
import { pte_present, pte_pfn, pte_write, pte_describe } from '../x86/pte';
import { PG_anon, PG_anon_exclusive, PG_mkwrite_fs, PG_mkwrite_notified, ZERO_PFN } from './frames';
import type { Kernel } from './kernel';
import type { Vma } from './vma';

export class KernelInvariantError extends Error {
  constructor(
    readonly violation: string,
    message: string,
  ) {
    super(message);
    this.name = 'KernelInvariantError';
  }
}

export function checkPte(k: Kernel, vma: Vma, vpn: number, pte: bigint): void {
  if (!pte_present(pte) || !pte_write(pte)) return;
  if (!vma.writable) k.violation('writableInReadOnlyVma', `writable PTE at vpn ${vpn} in a VMA without VM_WRITE (${pte_describe(pte)})`);
  const pfn = pte_pfn(pte);
  if (pfn === ZERO_PFN) {
    k.violation('cowSharedWritable', `the zero page is mapped writable at vpn ${vpn}`);
    return;
  }
  const fl = k.frames.flags[pfn];
  if (fl & PG_anon && (!(fl & PG_anon_exclusive) || k.frames.mapcount[pfn] > 1)) {
    k.violation('cowSharedWritable', `writable PTE at vpn ${vpn} on a CoW-shared anon page (pfn ${pfn}, mapcount ${k.frames.mapcount[pfn]})`);
  }
  if (fl & PG_mkwrite_fs && vma.shared && !(fl & PG_mkwrite_notified)) {
    k.violation('mkwriteBypassed', `page-cache page ${pfn} of a ->page_mkwrite filesystem mapped writable at vpn ${vpn} without ->page_mkwrite`);
  }
}
