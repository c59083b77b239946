/**
 * Page migration (mm/migrate.c, mm/rmap.c try_to_migrate_one, remove_migration_pte): each PTE
 * becomes a migration entry (flushed), the folio is copied to a new frame, and the PTEs are
 * rebuilt from vma->vm_page_prot: writable if the entry was, uffd-wp and soft-dirty carried.
 * Before v6.1 the new PTE is always old and clean (a dirty PTE only dirtied the folio), so the
 * next access pays an A update and the next write a D update; from v6.1 (2e3468778dbe) the
 * migration entry remembers A and D and the new PTE gets them back.
 *
 * A large folio (THP, mTHP) moves whole, as migrate_pages() does on x86-64 in every modelled
 * version (ARCH_ENABLE_THP_MIGRATION; the kernel splits it only when no large folio can be
 * allocated on the target, which the model never lacks): move_pages()/mbind() of any of its pages
 * isolates the folio, a PMD mapping it becomes a PMD migration entry and comes back as a PMD
 * (set_pmd_migration_entry / remove_migration_pmd in huge_memory.ts), PTEs mapping its pages
 * become PTE migration entries, and the new folio has the same order.
 */
import { pfn_pte, pte_dirty, pte_mkold, pte_mksoft_dirty, pte_mkyoung, pte_none, pte_pfn, pte_present, pte_soft_dirty, pte_special, pte_uffd_wp, pte_write } from '../x86/pte';
import { KEv } from './events';
import { LRU_INACTIVE_ANON, LRU_INACTIVE_FILE, PG_anon, PG_dirty, PG_file, PG_lru, PG_active, ZERO_PFN, PG_shmem, HPAGE_NR } from './frames';
import type { Kernel } from './kernel';
import type { Mm } from './mm';
import { is_huge_zero_pfn, pmd_leaf_slot, remove_migration_pmd, set_pmd_migration_entry, type PmdMigrationEntry } from './huge_memory';
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
  /** which page of the folio */
  page: number;
}

/**
 * migrate_pages() of the folio mapped at `vpn` in `mm` (a page of it); returns the pages moved
 * (the folio's size, or 0 when nothing there can move: no page, the zero page, the huge zero page)
 * and the first virtual page after the folio (where a range walk goes on).
 */
export function migrate_page(k: Kernel, mm: Mm, vpn: number, cpu: number): { moved: number; next: number } {
  const none = { moved: 0, next: vpn + 1 };
  const pmdSlot = pmd_leaf_slot(k, mm, vpn);
  let pfn: number;
  if (pmdSlot >= 0) {
    pfn = pte_pfn(k.mmu.mem.get(pmdSlot));
    if (is_huge_zero_pfn(k, pfn)) return none;
    pfn += vpn % HPAGE_NR;
  } else {
    const slot = mm.pt.pteSlot(vpn);
    if (slot < 0) return none;
    const pte = k.mmu.mem.get(slot);
    if (pte_none(pte) || !pte_present(pte) || pte_special(pte)) return none;
    pfn = pte_pfn(pte);
    if (pfn === ZERO_PFN) return none;
  }
  const f = k.frames;
  const base = f.head[pfn] !== 0 ? f.head[pfn] : pfn;
  const nr = f.head[pfn] !== 0 ? f.folioNr(base) : 1;
  // try_to_migrate(): replace every mapping of every page by a migration entry, flushing
  const maps: Mapping[] = [];
  const pmds: PmdMigrationEntry[] = [];
  const gathers = new Map<Mm, MmuGather>();
  if (nr === HPAGE_NR && f.flags[base] & PG_anon) {
    // PMD mappings first (page_vma_mapped_walk finds the PMD before any PTE of the folio)
    const fam = k.families.get(f.owner[base]);
    for (const m of fam?.mms ?? []) {
      const haddr = f.index[base];
      const vma = m.findVma(haddr);
      const slot = vma ? pmd_leaf_slot(k, m, haddr) : -1;
      if (slot >= 0 && pte_pfn(k.mmu.mem.get(slot)) === base) pmds.push(set_pmd_migration_entry(k, m, vma!, haddr, slot, cpu));
    }
  }
  for (let i = 0; i < nr; i++) {
    const old = base + i;
    rmap_walk(k, old, (m, vma, v, s) => {
      const p = k.mmu.mem.get(s);
      maps.push({ mm: m, vma, vpn: v, slot: s, write: pte_write(p), young: (p & 32n) !== 0n, dirty: pte_dirty(p), softDirty: pte_soft_dirty(p), uffdWp: pte_uffd_wp(p), page: i });
      if (pte_dirty(p)) f.flags[old] |= PG_dirty;
      k.mmu.mem.set(s, 0n); // the migration entry itself is transient in the model
      let tlb = gathers.get(m);
      if (!tlb) gathers.set(m, (tlb = new MmuGather(m)));
      tlb.add(v);
    });
  }
  for (const tlb of gathers.values()) tlb_finish_mmu(k, tlb, cpu);
  // move_to_new_folio(): copy contents and state
  const nbase = nr === 1 ? k.allocPage(false) : f.allocFolio(Math.log2(nr));
  k.counters[KEv.migratePage]++;
  if (nr === HPAGE_NR) {
    k.counters[KEv.thpAlloc]++;
    k.counters[KEv.thpCopy]++;
  } else k.counters[KEv.pageCopy] += nr;
  for (let i = 0; i < nr; i++) {
    const old = base + i, npfn = nbase + i;
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
  }
  if (nr === 1) f.free(base);
  else f.freeHuge(base);
  // remove_migration_ptes()
  for (const e of pmds) remove_migration_pmd(k, e, nbase);
  const keep = k.variant.migrationKeepsYoungDirty;
  for (const m of maps) {
    const npfn = nbase + m.page;
    let n = pte_mkold(pfn_pte(npfn, m.vma.pageProt));
    if (m.softDirty) n = pte_mksoft_dirty(n);
    if (m.write) n = m.vma.flags & VM_WRITE ? k.arch.pte_mkwrite(n) : n;
    else if (m.uffdWp) n = k.arch.pte_mkuffd_wp(n);
    if (keep && m.young) n = pte_mkyoung(n);
    if (keep && m.dirty && f.flags[npfn] & PG_dirty) n = k.arch.pte_mkdirty(n);
    k.setPte(m.mm, m.vma, m.vpn, m.slot, n);
  }
  // anon pages sit at index = vpn in every mm of the family; a page-cache folio is order-0 here
  return { moved: nr, next: nr === 1 ? vpn + 1 : Math.max(vpn + 1, f.index[nbase] + nr) };
}
