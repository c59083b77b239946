/**
 * Page migration (mm/migrate.c, mm/rmap.c try_to_migrate_one, remove_migration_pte): each PTE
 * becomes a migration entry (flushed), the folio is copied to a new frame, and the PTEs are
 * rebuilt from vma->vm_page_prot: writable if the entry was, uffd-wp and soft-dirty carried.
 * Before v6.1 the new PTE is always old and clean (a dirty PTE only dirtied the folio), so the
 * next access pays an A update and the next write a D update; from v6.1 (2e3468778dbe) the
 * migration entry remembers A and D and the new PTE gets them back.
 */
import { pfn_pte, pte_dirty, pte_mkold, pte_mksoft_dirty, pte_mkyoung, pte_none, pte_pfn, pte_present, pte_soft_dirty, pte_special, pte_uffd_wp, pte_write } from '../x86/pte';
import { KEv } from './events';
import { LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, PG_anon, PG_dirty, PG_file, PG_lru, PG_active, ZERO_PFN, PG_shmem } from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { split_huge_pmd_folio } from './huge_memory';
import { rmap_walk } from './rmap';
import { MmuGather, tlb_finish_mmu } from './tlbflush';
import { VM_WRITE, type Vma } from './vma';

interface Mapping {
  mm: Mm;
  vma: Vma;
  vpn: number;
  slot: number;
  write: boolean;
  young: boolean;
  dirty: boolean;
  softDirty: boolean;
  uffdWp: boolean;
}

/** migrate_pages() of the folio mapped at `vpn` in `mm`; returns whether a page moved. */
export function migrate_page(k: Kernel, mm: Mm, vpn: number, cpu: number): boolean {
  // the model migrates order-0 folios: a THP is split first (huge_memory.ts)
  split_huge_pmd_folio(k, mm, vpn, cpu);
  const slot = mm.pt.pteSlot(vpn);
  if (slot < 0) return false;
  const pte = k.mmu.mem.get(slot);
  if (pte_none(pte) || !pte_present(pte) || pte_special(pte)) return false;
  const old = pte_pfn(pte);
  if (old === ZERO_PFN) return false;
  const f = k.frames;
  // try_to_migrate(): replace every mapping by a migration entry, flushing
  const maps: Mapping[] = [];
  const gathers = new Map<Mm, MmuGather>();
  rmap_walk(k, old, (m, vma, v, s) => {
    const p = k.mmu.mem.get(s);
    maps.push({ mm: m, vma, vpn: v, slot: s, write: pte_write(p), young: (p & 32n) !== 0n, dirty: pte_dirty(p), softDirty: pte_soft_dirty(p), uffdWp: pte_uffd_wp(p) });
    if (pte_dirty(p)) f.flags[old] |= PG_dirty;
    k.mmu.mem.set(s, 0n); // the migration entry itself is transient in the model
    let tlb = gathers.get(m);
    if (!tlb) gathers.set(m, (tlb = new MmuGather(m)));
    tlb.add(v);
  });
  for (const tlb of gathers.values()) tlb_finish_mmu(k, tlb, cpu);
  // move_to_new_folio(): copy contents and state
  const npfn = k.allocPage(false);
  k.counters[KEv.migratePage]++;
  k.counters[KEv.pageCopy]++;
  f.flags[npfn] = f.flags[old] & ~(PG_lru | PG_active);
  f.owner[npfn] = f.owner[old];
  f.index[npfn] = f.index[old];
  f.swapSlot[npfn] = f.swapSlot[old];
  f.mapcount[npfn] = f.mapcount[old];
  if (f.swapSlot[old] >= 0) k.swap.cache.set(f.swapSlot[old], npfn);
  if (f.flags[old] & PG_file) {
    const file = k.files.get(f.owner[old])!;
    file.cache.set(f.index[old], npfn);
  }
  f.lruAdd(npfn, f.flags[npfn] & (PG_anon | PG_shmem) ? LRU_INACTIVE_ANON : LRU_INACTIVE_FILE);
  f.free(old);
  // remove_migration_ptes()
  const keep = k.variant.migrationKeepsYoungDirty;
  for (const m of maps) {
    let n = pte_mkold(pfn_pte(npfn, m.vma.pageProt));
    if (m.softDirty) n = pte_mksoft_dirty(n);
    if (m.write) n = m.vma.flags & VM_WRITE ? k.arch.pte_mkwrite(n) : n;
    else if (m.uffdWp) n = k.arch.pte_mkuffd_wp(n);
    if (keep && m.young) n = pte_mkyoung(n);
    if (keep && m.dirty && f.flags[npfn] & PG_dirty) n = k.arch.pte_mkdirty(n);
    k.setPte(m.mm, m.vma, m.vpn, m.slot, n);
  }
  return true;
}
