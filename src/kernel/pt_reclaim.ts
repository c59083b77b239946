/**
 * Empty PTE-table reclaim on MADV_DONTNEED (mm/pt_reclaim.c try_to_free_pte, called from
 * zap_pte_range; Qi Zheng, 6.14, CONFIG_PT_RECLAIM selected on x86-64): when the zap covers a
 * whole PMD range (reclaim_pt_is_enabled: end - start >= PMD_SIZE) and leaves every entry of that
 * PTE table none, the table is freed and the PMD cleared, so the next fault there sees a none PMD
 * (and may map a THP). Variant field `reclaimEmptyPteTables`.
 */
import type { Kernel } from './kernel';
import type { Mm } from './mm';

export function try_to_free_pte_tables(k: Kernel, mm: Mm, from: number, to: number): void {
  if (!k.variant.reclaimEmptyPteTables) return;
  const start = Math.ceil(from / 512) * 512, end = Math.floor(to / 512) * 512;
  if (end <= start) return;
  // the tables' removal is flushed like tlb_remove_table(): no walk may resume in a freed table
  if (mm.pt.freeEmptyPteTables(start, end) > 0) k.mmu.flushPagingStructureCaches();
}
