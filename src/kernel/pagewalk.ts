/**
 * walk_page_range() (mm/pagewalk.c), the part every PTE walker of the model shares: visit the
 * PTE slots of [start, end) that have a page table, skipping a missing PTE table (512 pages) whole.
 */
import type { Mm } from './mm';

export function walk_pte_range(mm: Mm, start: number, end: number, visit: (vpn: number, slot: number) => void): void {
  for (let vpn = start; vpn < end; vpn++) {
    const slot = mm.pt.pteSlot(vpn);
    if (slot < 0) {
      vpn += 511 - (vpn % 512);
      continue;
    }
    visit(vpn, slot);
  }
}
