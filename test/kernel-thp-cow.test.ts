/**
 * Copy-on-write of PTE-mapped large folios after fork, and the madvise/mprotect rules that look
 * at who else maps a folio, per kernel version (issue 17; the cases the THP differential fuzz
 * found once it drew mixed read/write touches):
 *  - do_wp_page / wp_can_reuse_anon_folio: 5.19-6.3 reuse a non-exclusive page of a large folio
 *    only when this PTE is the folio's only reference; 6.15+ (__wp_can_reuse_large_anon_folio)
 *    when only this process maps the folio, more than once;
 *  - madvise_free_huge_pmd: a PMD-mapped THP another process maps a page of (by PTE) is skipped;
 *  - change_pte_range (6.17+): A and D gathered over a large folio's PTE batch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kernel/kernel';
import type { Mm } from '../src/kernel/mm';
import { KEv } from '../src/kernel/events';

const MAINLINE = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18'];
const ownerTracking = (v: string): boolean => v === 'linux-6.18';

function thp(variant: string): { k: Kernel; mm: Mm; s: number } {
  const k = new Kernel({ variant, cpus: 1, strict: true, thp: { enabled: 'madvise', useZeroPage: true } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: 512, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, 512, 'hugepage');
  for (let i = 0; i < 512; i++) assert.ok(k.access(mm, 0, vma.start + i, 1));
  assert.equal(k.inspect(mm, vma.start).huge, true);
  return { k, mm, s: vma.start };
}

/** A write to `page`; returns whether it copied the page (else reused it) and the page after. */
function write(k: Kernel, mm: Mm, s: number, page: number): { copied: boolean; pfnBefore: number; pfnAfter: number } {
  const pfnBefore = k.inspect(mm, s + page).pfn;
  const copies = k.counters[KEv['fault.wpCopy']];
  const reuses = k.counters[KEv['fault.wpReuse']];
  assert.ok(k.access(mm, 0, s + page, 1));
  const copied = k.counters[KEv['fault.wpCopy']] === copies + 1;
  assert.equal(copied || k.counters[KEv['fault.wpReuse']] === reuses + 1, true, 'the write took a wp fault');
  return { copied, pfnBefore, pfnAfter: k.inspect(mm, s + page).pfn };
}

for (const v of MAINLINE) {
  test(`${v}: a page of a split THP that the child copied away is still copied by the parent while the child maps other pages of the folio`, () => {
    // the fuzz's case: the child's write copies page 269 out of the shared THP, so the THP's page
    // 269 has one mapping left (the parent's PTE), but the child still maps the other 511 pages
    const { k, mm, s } = thp(v);
    k.mprotect(mm, 0, s, 1, 'r'); // split the parent's PMD
    k.mprotect(mm, 0, s, 1, 'rw');
    const child = k.fork(mm, 'child', 0);
    assert.equal(write(k, child, s, 269).copied, true, 'the child copies (its PMD is split, the folio shared)');
    const w = write(k, mm, s, 269);
    assert.equal(w.copied, true, 'folio refcount > 1 (<= 6.3) / mapped by another process (6.15+): copy');
    assert.notEqual(w.pfnAfter, w.pfnBefore);
    assert.equal(k.inspect(mm, s + 269).thp, false);
  });

  test(`${v}: after the child unmapped the THP, a parent's write to its PTE-mapped THP ${ownerTracking(v) ? 'reuses the page (6.15+: only this process maps the folio)' : 'still copies (<= 6.3: the folio has 512 references)'}`, () => {
    const { k, mm, s } = thp(v);
    k.mprotect(mm, 0, s, 1, 'r');
    k.mprotect(mm, 0, s, 1, 'rw');
    const child = k.fork(mm, 'child', 0);
    k.madvise(child, 0, s, 512, 'dontneed');
    const w = write(k, mm, s, 5);
    assert.equal(w.copied, !ownerTracking(v));
    const st = k.inspect(mm, s + 5);
    assert.equal(st.thp, ownerTracking(v), 'the page stays in the THP only when reused');
    assert.deepEqual([st.write, st.dirty, st.exclusive], [true, true, true]);
    // the next page of the folio: the same decision again, page by page
    assert.equal(write(k, mm, s, 6).copied, !ownerTracking(v));
  });

  test(`${v}: a THP page that is the folio's last mapping is ${ownerTracking(v) ? 'copied, so the folio can be freed (6.15+)' : 'reused (<= 6.3: the only reference)'}`, () => {
    const { k, mm, s } = thp(v);
    k.mprotect(mm, 0, s, 1, 'r');
    k.mprotect(mm, 0, s, 1, 'rw');
    const child = k.fork(mm, 'child', 0);
    k.madvise(child, 0, s, 512, 'dontneed');
    k.madvise(mm, 0, s, 5, 'dontneed');
    k.madvise(mm, 0, s + 6, 506, 'dontneed');
    const w = write(k, mm, s, 5);
    assert.equal(w.copied, ownerTracking(v));
    assert.equal(k.inspect(mm, s + 5).thp, !ownerTracking(v));
    if (ownerTracking(v)) assert.equal(k.frames.flags[w.pfnBefore], 0, 'the THP was freed with its last mapping');
  });

  test(`${v}: MADV_FREE of a whole PMD-mapped THP is skipped while another process maps one of its pages by a PTE (head page unmapped there)`, () => {
    const { k, mm, s } = thp(v);
    const child = k.fork(mm, 'child', 0);
    // the parent's PMD is split and page 0 zapped: the THP's head page is mapped by the child's PMD only
    k.madvise(mm, 0, s, 1, 'dontneed');
    k.madvise(child, 0, s, 512, 'free');
    const st = k.inspect(child, s + 3);
    assert.deepEqual([st.huge, st.dirty, st.folioDirty], [true, true, true], 'not cleaned: madvise_free_huge_pmd found other mappings');
  });

  test(`${v}: MADV_COLD of a whole PMD-mapped THP whose head page only the child maps: ${ownerTracking(v) ? 'skipped (6.15+: another process maps the folio)' : 'deactivated (<= 6.2 test the head page mapcount; 6.3 modelled as 6.2)'}`, () => {
    const { k, mm, s } = thp(v);
    const child = k.fork(mm, 'child', 0);
    k.madvise(mm, 0, s, 1, 'dontneed');
    assert.ok(k.access(child, 0, s + 3, 0)); // the child's PMD (old after fork) becomes young
    assert.equal(k.inspect(child, s + 3).young, true);
    k.madvise(child, 0, s, 512, 'cold');
    assert.equal(k.inspect(child, s + 3).young, ownerTracking(v), 'MADV_COLD makes the PMD old unless it skips the folio');
  });

  test(`${v}: mprotect RO then RW over a PTE-mapped THP ${ownerTracking(v) ? 'makes the whole PTE batch young and dirty when one PTE is (6.17+ batching)' : 'keeps each PTE\'s own A and D (no batching before 6.17)'}`, () => {
    const { k, mm, s } = thp(v);
    k.mprotect(mm, 0, s, 1, 'r'); // split the PMD: 512 PTEs map the folio
    k.mprotect(mm, 0, s, 1, 'rw');
    k.madvise(mm, 0, s, 512, 'free'); // every PTE old and clean (6.10+ keep the folio whole)
    for (const p of [2, 3]) assert.deepEqual([k.inspect(mm, s + p).young, k.inspect(mm, s + p).dirty], [false, false]);
    assert.ok(k.access(mm, 0, s + 3, 1)); // page 3: young and dirty again
    k.mprotect(mm, 0, s, 512, 'r');
    k.mprotect(mm, 0, s, 512, 'rw');
    const p2 = k.inspect(mm, s + 2), p3 = k.inspect(mm, s + 3), p400 = k.inspect(mm, s + 400);
    assert.deepEqual([p3.young, p3.dirty], [true, true]);
    assert.deepEqual([p2.young, p2.dirty, p400.young, p400.dirty], ownerTracking(v) ? [true, true, true, true] : [false, false, false, false]);
  });
}

test('linux-6.18: a change_pte_range batch stops where a PTE differs in more than A and D (here uffd-wp), so A/D are gathered per run of equal PTEs', () => {
  const { k, mm, s } = thp('linux-6.18');
  k.mprotect(mm, 0, s, 1, 'r');
  k.mprotect(mm, 0, s, 1, 'rw');
  k.madvise(mm, 0, s, 512, 'free');
  k.uffdRegister(mm, s, 512, ['wp']);
  k.uffdWriteprotect(mm, 0, s + 100, 1, true); // page 100 differs (uffd-wp): the batch breaks there
  assert.ok(k.access(mm, 0, s + 3, 0)); // page 3 young
  k.mprotect(mm, 0, s, 512, 'r');
  assert.equal(k.inspect(mm, s + 99).young, true, 'pages 0-99 are one batch with page 3');
  assert.equal(k.inspect(mm, s + 99).thp, true);
  assert.equal(k.inspect(mm, s + 101).young, false, 'pages 101-511 are another batch, all old');
});

test('linux-6.18: MADV_FREE/COLD of a PTE-mapped THP covered whole by one batch test the folio (folio_mapcount() == folio_nr_pages()): a page only this process maps is left alone while another process maps other pages', () => {
  for (const advice of ['free', 'cold'] as const) {
    const { k, mm, s } = thp('linux-6.18');
    k.mprotect(mm, 0, s, 1, 'r'); // split the parent's PMD: 512 PTEs
    k.mprotect(mm, 0, s, 1, 'rw');
    const child = k.fork(mm, 'child', 0); // the child copies the 512 PTEs
    assert.ok(k.access(mm, 0, s + 1, 1)); // the parent copies page 1 away: the THP's page 1 is the child's alone
    assert.ok(k.access(child, 0, s + 1, 0));
    assert.equal(k.frames.mapcount[k.inspect(child, s + 1).pfn], 1);
    k.madvise(child, 0, s, 512, advice);
    const p1 = k.inspect(child, s + 1);
    assert.equal(p1.thp, true, `${advice}: not split`);
    if (advice === 'free') assert.equal(p1.folioDirty, true, 'free: the folio is not cleaned');
    else assert.equal(p1.young, true, 'cold: the PTE keeps A');
  }
});
