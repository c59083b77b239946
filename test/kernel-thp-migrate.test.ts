/**
 * Migration of large folios (issue 17, "migration"), per kernel version: migrate_pages() moves a
 * THP whole on x86-64 (ARCH_ENABLE_THP_MIGRATION), the PMD becoming a PMD migration entry and
 * coming back as a PMD (set_pmd_migration_entry / remove_migration_pmd, mm/huge_memory.c):
 *  - write and AnonExclusive travel in the entry (all versions);
 *  - soft-dirty is kept (all versions);
 *  - A and D are kept from 6.1 (5.19/6.0: the PMD comes back old and clean, the folio dirty);
 *  - uffd-wp is kept from 6.3 (5.19-6.2 lose it: the next write reuses the THP without a
 *    userfaultfd fault).
 * The host cannot migrate a THP from user space on a one-node machine (move_pages to the node
 * a page is on does nothing), so these rules have no fidelity scenario.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kernel/kernel';
import type { Mm } from '../src/kernel/mm';
import { KEv } from '../src/kernel/events';
import { HwEv } from '../src/x86/events';

const MAINLINE = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18'];
const at = (v: string, major: number, minor: number): boolean => {
  const m = /^linux-(\d+)\.(\d+)$/.exec(v)!;
  return Number(m[1]) * 100 + Number(m[2]) >= major * 100 + minor;
};

function thp(variant: string): { k: Kernel; mm: Mm; s: number } {
  const k = new Kernel({ variant, cpus: 1, strict: true, thp: { enabled: 'madvise', useZeroPage: true } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: 512, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, 512, 'hugepage');
  return { k, mm, s: vma.start };
}
const writeAll = (k: Kernel, mm: Mm, s: number, n = 512): void => {
  for (let i = 0; i < n; i++) assert.ok(k.access(mm, 0, s + i, 1));
};

for (const v of MAINLINE) {
  test(`${v}: migrating one page of a PMD-mapped THP moves the whole folio and keeps the PMD (writable, exclusive); one 2 MiB flush`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    const before = k.inspect(mm, s + 7).pfn;
    const flushes = k.counters[KEv.tlbFlushRequest];
    assert.equal(k.migrate(mm, 0, s + 7, 1), 512);
    assert.equal(k.counters[KEv.migratePage], 1);
    assert.equal(k.counters[KEv.thpCopy], 1);
    assert.equal(k.counters[KEv.splitHugePmd], 0, 'no split');
    assert.equal(k.counters[KEv.tlbFlushRequest], flushes + 1, 'pmdp_invalidate flushed the 2 MiB translation once');
    for (const p of [0, 7, 511]) {
      const st = k.inspect(mm, s + p);
      assert.deepEqual([st.huge, st.thp, st.present, st.write, st.exclusive], [true, true, true, true, true]);
      assert.notEqual(st.pfn, before - 7 + p);
    }
    assert.equal(k.inspect(mm, s + 1).pfn, k.inspect(mm, s).pfn + 1, 'the pages stay in order in the new folio');
    assert.equal(k.frames.flags[before], 0, 'the old folio is freed');
    // the next writes take no fault
    const faults = k.mmu.counters[HwEv.pageFault];
    writeAll(k, mm, s);
    assert.equal(k.mmu.counters[HwEv.pageFault], faults);
  });

  test(`${v}: a migrated THP's PMD ${at(v, 6, 1) ? 'keeps A and D (6.1+)' : 'comes back old and clean, the folio dirty (<= 6.0)'}`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    k.migrate(mm, 0, s, 512);
    const st = k.inspect(mm, s + 3);
    assert.equal(st.huge, true);
    assert.deepEqual([st.young, st.dirty, st.folioDirty], at(v, 6, 1) ? [true, true, true] : [false, false, true]);
  });

  test(`${v}: a migrated THP's PMD keeps soft-dirty, and an old PMD stays old`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    k.clearRefs(mm, 0, 'young');
    assert.equal(k.inspect(mm, s).young, false);
    const sd = k.inspect(mm, s).softDirty;
    k.migrate(mm, 0, s, 1);
    const st = k.inspect(mm, s);
    assert.deepEqual([st.huge, st.young, st.softDirty], [true, false, sd]);
  });

  test(`${v}: mkdirty.c (THP): after mprotect(PROT_READ) of a dirty THP, migration keeps its PMD read-only; a write gets SIGSEGV`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    k.mprotect(mm, 0, s, 512, 'r');
    k.migrate(mm, 0, s, 512);
    const st = k.inspect(mm, s + 9);
    assert.deepEqual([st.huge, st.write], [true, false]);
    assert.equal(k.access(mm, 0, s + 9, 1), false);
    assert.equal(k.violations[1], 0, 'writableInReadOnlyVma never happens');
  });

  test(`${v}: uffd-wp on a migrated THP ${at(v, 6, 3) ? 'is kept (6.3+): the next write is a userfaultfd fault' : 'is lost (<= 6.2): the next write reuses the THP without a userfaultfd fault'}`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    k.uffdRegister(mm, s, 512, ['wp']);
    k.uffdWriteprotect(mm, 0, s, 512, true);
    assert.deepEqual([k.inspect(mm, s).huge, k.inspect(mm, s).uffdWp], [true, true]);
    k.migrate(mm, 0, s, 512);
    const st = k.inspect(mm, s);
    assert.deepEqual([st.huge, st.uffdWp, st.write], [true, at(v, 6, 3), false]);
    const wp = k.counters[KEv['fault.uffdWp']];
    assert.ok(k.access(mm, 0, s + 1, 1));
    assert.equal(k.counters[KEv['fault.uffdWp']], wp + (at(v, 6, 3) ? 1 : 0));
  });

  test(`${v}: a THP shared after fork migrates once: both processes' PMDs map the new folio, read-only, not exclusive`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    const child = k.fork(mm, 'child', 0);
    assert.equal(k.migrate(child, 0, s, 512), 512);
    assert.equal(k.counters[KEv.migratePage], 1);
    const p = k.inspect(mm, s + 4), c = k.inspect(child, s + 4);
    assert.equal(p.pfn, c.pfn);
    for (const st of [p, c]) assert.deepEqual([st.huge, st.write, st.exclusive], [true, false, false]);
    assert.equal(k.frames.mapcount[p.pfn], 2);
  });

  test(`${v}: a PTE-mapped THP (PMD split) migrates whole too: every PTE maps the new folio`, () => {
    const { k, mm, s } = thp(v);
    writeAll(k, mm, s);
    k.mprotect(mm, 0, s, 1, 'r'); // split the PMD
    assert.equal(k.inspect(mm, s + 100).huge, false);
    assert.equal(k.migrate(mm, 0, s + 100, 1), 512);
    const a = k.inspect(mm, s + 100), b = k.inspect(mm, s + 101), z = k.inspect(mm, s);
    assert.deepEqual([a.thp, a.huge, b.pfn - a.pfn, a.pfn - z.pfn], [true, false, 1, 100]);
    assert.equal(k.counters[KEv.splitHugePage], 0);
  });
}

test('linux-6.18: an mTHP (64 KiB folio) migrates whole, keeping its order', () => {
  const k = new Kernel({ variant: 'linux-6.18', cpus: 1, strict: true, thp: { enabled: 'madvise', useZeroPage: true, mthp: { '64kB': 'madvise' } } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: 64, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, 64, 'hugepage');
  assert.ok(k.access(mm, 0, vma.start + 20, 1));
  const before = k.inspect(mm, vma.start + 20);
  assert.equal(before.thp, true);
  assert.equal(k.migrate(mm, 0, vma.start + 16, 48), 16, 'one 16-page folio mapped in the range');
  const after = k.inspect(mm, vma.start + 20);
  assert.notEqual(after.pfn, before.pfn);
  assert.equal(after.thp, true);
  assert.equal(k.frames.folioNr(k.frames.head[after.pfn]), 16);
  assert.deepEqual([after.young, after.dirty, after.write], [true, true, true]);
});
