/**
 * Kernel rules per version (issue 19): each test states one rule and the variants it holds for,
 * with the kernel function it comes from. fork's page-table copy (vma_needs_copy() and the
 * VMA's anon_vma) first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consistency, Lab } from './helpers/kernel-harness';
import { getVariant, listVariants } from '../src/kernel/variants';
import { FIXED_RULES, RULES } from '../src/kernel/variant-rules';

const ALL = listVariants();

for (const variant of ALL) {
  test(`${variant}: fork after a read-only zero-page fault copies no PTE (no anon_vma, vma_needs_copy() is false)`, () => {
    const l = new Lab(variant);
    l.map('m', 4);
    l.read('m', 0);
    assert.equal(l.page('m', 0).special, true, 'the zero page');
    assert.equal(l.mm.regionVmas('m')[0].anonVma, null, 'a zero-page read fault does not run anon_vma_prepare()');
    const child = l.k.fork(l.mm, 'child', 0);
    assert.equal(l.page('m', 0, child).entry, 'none', 'the child starts with an empty PTE');
    assert.equal(l.mm.regionVmas('m')[0].anonVma, null);
    assert.equal(child.regionVmas('m')[0].anonVma, null, 'anon_vma_fork() gives the child none either');
    assert.equal(l.page('m', 0).special, true, 'the parent keeps its zero-page PTE');
    l.read('m', 0, 1, child);
    assert.equal(l.page('m', 0, child).special, true, 'the child faults the zero page in itself');
    assert.deepEqual(consistency(l.k), []);
  });

  test(`${variant}: fork after one write copies every PTE of that VMA, zero-page PTEs of pages only read included`, () => {
    const l = new Lab(variant);
    l.map('m', 4);
    l.read('m', 0);
    l.write('m', 1);
    const child = l.k.fork(l.mm, 'child', 0);
    const z = l.page('m', 0, child);
    assert.deepEqual([z.present, z.special, z.young], [true, true, false], 'copy_present_pte(): copied, old');
    const p = l.page('m', 1, child);
    assert.deepEqual([p.present, p.write, p.exclusive], [true, false, false], 'the written page is shared copy-on-write');
    assert.ok(child.regionVmas('m')[0].anonVma?.forked, 'the child VMA got its own anon_vma from anon_vma_fork()');
    assert.deepEqual(consistency(l.k), []);
  });
}

test('anon_vma outlives the pages: write, MADV_DONTNEED, read (zero page), fork -> the zero-page PTE is copied', () => {
  const l = new Lab('linux-6.18');
  l.map('m', 2);
  l.write('m', 0);
  l.k.madvise(l.mm, 0, l.start('m'), 2, 'dontneed');
  l.read('m', 0);
  const child = l.k.fork(l.mm, 'child', 0);
  assert.equal(l.page('m', 0, child).special, true);
});

test('anon_vma is created by the allocating paths only: anon write, CoW of the zero page, do_cow_fault, UFFDIO_COPY and UFFDIO_ZEROPAGE', () => {
  const cases: [string, (l: Lab) => void, boolean][] = [
    ['read fault (zero page)', (l) => l.read('m', 0), false],
    ['write fault', (l) => l.write('m', 0), true],
    ['read, then write (wp_page_copy of the zero page)', (l) => (l.read('m', 0), l.write('m', 0)), true],
    ['mprotect and madvise', (l) => (l.k.mprotect(l.mm, 0, l.start('m'), 1, 'r'), l.k.madvise(l.mm, 0, l.start('m'), 2, 'dontneed')), false],
    ['UFFDIO_ZEROPAGE (mfill_atomic prepares any private VMA)', (l) => (l.k.uffdRegister(l.mm, l.start('m'), 2, ['missing']), l.k.uffdZeropage(l.mm, l.start('m'), 1)), true],
    ['UFFDIO_COPY', (l) => (l.k.uffdRegister(l.mm, l.start('m'), 2, ['missing']), l.k.uffdCopy(l.mm, l.start('m'), 1)), true],
  ];
  for (const [what, act, expected] of cases) {
    const l = new Lab('linux-6.18');
    l.map('m', 2);
    act(l);
    assert.equal(l.mm.regionVmas('m').some((v) => v.anonVma !== null), expected, what);
  }
  for (const write of [false, true]) {
    const l = new Lab('linux-6.18');
    l.map('f', 2, 'file-private');
    if (write) l.write('f', 0);
    else l.read('f', 0);
    const child = l.k.fork(l.mm, 'child', 0);
    assert.equal(l.page('f', 0, child).present, write, `file-private after a ${write ? 'write (do_cow_fault)' : 'read'}: ${write ? '' : 'not '}copied`);
  }
});

test('split and merge keep the anon_vma: mprotect a written VMA in two and back; fork copies both halves', () => {
  const l = new Lab('linux-6.18');
  l.map('m', 4);
  l.write('m', 3);
  l.read('m', 0);
  l.k.mprotect(l.mm, 0, l.start('m'), 2, 'r');
  const [lo, hi] = l.mm.regionVmas('m');
  assert.ok(lo.anonVma && lo.anonVma === hi.anonVma, '__split_vma() clones the anon_vma into both halves');
  l.k.mprotect(l.mm, 0, l.start('m'), 2, 'rw');
  assert.equal(l.mm.regionVmas('m').length, 1, 'merged again');
  const child = l.k.fork(l.mm, 'child', 0);
  assert.equal(l.page('m', 0, child).special, true, 'page 0 (read only, other half) is copied');
});

test('anon_vma_prepare() reuses a compatible neighbour\'s anon_vma; a forked anon_vma is neither reused nor merged with none', () => {
  const l = new Lab('linux-6.18');
  l.map('m', 4);
  l.k.mprotect(l.mm, 0, l.start('m'), 2, 'r'); // [0,2) r, [2,4) rw: compatible (only access bits differ)
  l.write('m', 2);
  l.k.mprotect(l.mm, 0, l.start('m'), 2, 'rw');
  const [only] = l.mm.regionVmas('m');
  assert.ok(only.anonVma, 'merged with the anon_vma the written half had');
  // in a child: split, the two halves keep the one forked anon_vma and merge back
  const child = l.k.fork(l.mm, 'child', 0);
  l.k.mprotect(child, 0, l.start('m', child), 2, 'r');
  l.k.mprotect(child, 0, l.start('m', child), 2, 'rw');
  assert.equal(child.regionVmas('m').length, 1);
});

test('a uffd-wp registered child VMA (EVENT_FORK) is copied even without an anon_vma: its markers survive fork', () => {
  const l = new Lab('linux-6.18');
  l.map('m', 2);
  l.k.uffdRegister(l.mm, l.start('m'), 2, ['wp'], ['wp-unpopulated', 'event-fork']);
  l.k.uffdWriteprotect(l.mm, 0, l.start('m'), 2, true);
  assert.equal(l.page('m', 0).entry, 'marker');
  assert.equal(l.mm.regionVmas('m')[0].anonVma, null);
  const child = l.k.fork(l.mm, 'child', 0);
  assert.equal(l.page('m', 0, child).entry, 'marker');
});

test('one VMA per page (the replayer\'s MADV_NOHUGEPAGE split): each page VMA gets its own anon_vma, so fork copies only written pages', () => {
  const l = new Lab('linux-6.18');
  l.k.mmap(l.mm, { region: 'm', pages: 4, kind: 'anon-private', vmaPerPage: true });
  assert.equal(l.mm.regionVmas('m').length, 4);
  l.read('m', 0);
  l.write('m', 1);
  l.k.mprotect(l.mm, 0, l.start('m'), 4, 'r');
  l.k.mprotect(l.mm, 0, l.start('m'), 4, 'rw');
  assert.equal(l.mm.regionVmas('m').length, 4, 'VM_NOHUGEPAGE on every other page: no merge');
  const child = l.k.fork(l.mm, 'child', 0);
  assert.equal(l.page('m', 0, child).entry, 'none');
  assert.equal(l.page('m', 1, child).present, true);
});

// ---- do_swap_page(): which swap-ins map the page writable (c18160dba5ff, v6.11) ----

for (const variant of ALL) {
  const reuses = getVariant(variant).doSwapPage === 'v6.11-reuse-exclusive';
  test(`${variant}: a read swap-in of an exclusive page maps it ${reuses ? 'writable but clean (6.11+)' : 'read-only; the next write takes a wp fault that reuses it (before 6.11)'}`, () => {
    const l = new Lab(variant);
    l.map('m', 1);
    l.write('m', 0);
    l.k.madvise(l.mm, 0, l.start('m'), 1, 'pageout');
    l.read('m', 0);
    const p = l.page('m', 0);
    assert.deepEqual([p.present, p.write, p.dirty, p.exclusive], [true, reuses, false, true]);
    l.resetCounters();
    l.write('m', 0);
    assert.equal(l.hw('pageFault'), reuses ? 0 : 1);
    if (!reuses) assert.equal(l.fault('wpReuse'), 1, 'wp_page_reuse: the page is PageAnonExclusive');
    const w = l.page('m', 0);
    assert.deepEqual([w.write, w.dirty, w.young], [true, true, true]);
    assert.deepEqual(consistency(l.k), []);
  });

  test(`${variant}: a write swap-in maps the page writable and dirty in one fault and frees its swap cache`, () => {
    const l = new Lab(variant);
    l.map('m', 1);
    l.write('m', 0);
    l.k.madvise(l.mm, 0, l.start('m'), 1, 'pageout');
    l.resetCounters();
    l.write('m', 0);
    assert.equal(l.hw('pageFault'), 1);
    const p = l.page('m', 0);
    assert.deepEqual([p.write, p.dirty, p.exclusive, p.folioDirty], [true, true, true, true]);
    assert.equal(l.k.swap.cache.size, 0, 'should_try_to_free_swap(): a write fault drops the swap-cache copy');
  });
}

test('do_swap_page after fork: a swap entry both processes map comes back read-only and shared; a write copies it inside the same #PF', () => {
  for (const variant of ['linux-5.19', 'linux-6.18']) {
    const l = new Lab(variant);
    l.map('m', 1);
    l.write('m', 0);
    const child = l.k.fork(l.mm, 'child', 0);
    l.k.reclaim('all');
    l.k.reclaim('all'); // aging first, then try_to_unmap() from both processes
    assert.equal(l.page('m', 0, child).entry, 'swap');
    assert.equal(l.page('m', 0).entry, 'swap');
    l.read('m', 0);
    const p = l.page('m', 0);
    assert.deepEqual([p.write, p.exclusive], [false, false], `${variant}: not exclusive, so never writable`);
    l.resetCounters();
    l.write('m', 0, 0, child);
    assert.equal(l.hw('pageFault'), 1, `${variant}: one #PF (do_swap_page calls do_wp_page itself)`);
    assert.equal(l.fault('swapIn') + l.fault('wpCopy'), 2, `${variant}: swap-in, then wp_page_copy`);
    assert.deepEqual(consistency(l.k), []);
  }
});

test('do_swap_page after fork, once the other process is gone: a write swap-in finds folio_ref_count() == 1 and reuses the page; a read does not', () => {
  for (const write of [true, false]) {
    const l = new Lab('linux-5.19');
    l.map('m', 1);
    l.write('m', 0);
    const child = l.k.fork(l.mm, 'child', 0);
    l.k.reclaim('all');
    l.k.reclaim('all');
    assert.equal(l.page('m', 0).entry, 'swap');
    l.k.munmap(child, 'm', 0); // the child's swap reference goes
    l.resetCounters();
    if (write) l.write('m', 0);
    else l.read('m', 0);
    const p = l.page('m', 0);
    assert.deepEqual([p.write, p.exclusive], [write, write], write ? 'freed swap cache: exclusive, written in place' : 'the swap PTE lost its exclusive bit at fork: read-only, not exclusive');
    if (write) assert.equal(l.fault('wpCopy'), 0, 'no copy');
  }
});

// ---- shmem reclaim: clean folios are dropped, dirty ones go to swap (shrink_folio_list) ----

for (const variant of ALL) {
  test(`${variant}: reclaim drops clean shmem folios (read-faulted holes) without swap I/O and swaps out written ones`, () => {
    const l = new Lab(variant);
    l.map('shm', 4, 'anon-shared');
    l.read('shm', 0);
    l.read('shm', 1);
    l.write('shm', 2);
    l.k.reclaim('all');
    l.resetCounters();
    l.k.reclaim('all');
    assert.equal(l.ev('swapOutPage'), 1, 'only the written page goes to swap');
    assert.equal(l.ev('reclaimDrop'), 2, 'the two clean holes are dropped');
    const file = l.mm.regionVmas('shm')[0].file!;
    assert.deepEqual([...file.swapped.keys()], [2]);
    l.resetCounters();
    l.read('shm', 0);
    assert.equal(l.ev('swapInPage'), 0, 'a dropped hole comes back as a new zeroed page');
    l.read('shm', 2);
    assert.equal(l.ev('swapInPage'), 1, 'the written page is read back from swap');
    assert.equal(l.page('shm', 2).folioDirty, true, 'shmem_swapin_folio() dirties it: memory holds the only copy');
    assert.deepEqual(consistency(l.k), []);
  });
}

test('shmem reclaim: a write that only set the PTE\'s D bit (no fault: mprotect RO->RW made the PTE writable) still sends the page to swap, because try_to_unmap() moves D to the folio', () => {
  const l = new Lab('linux-6.18');
  l.map('shm', 2, 'anon-shared');
  l.read('shm', 0);
  l.read('shm', 1);
  l.k.mprotect(l.mm, 0, l.start('shm'), 2, 'r');
  l.k.mprotect(l.mm, 0, l.start('shm'), 2, 'rw'); // pte_modify(): writable, clean (no writenotify on shmem)
  assert.deepEqual([l.page('shm', 0).write, l.page('shm', 0).dirty], [true, false]);
  l.resetCounters();
  l.write('shm', 0);
  assert.equal(l.hw('pageFault'), 0, 'the CPU sets D itself');
  assert.equal(l.page('shm', 0).folioDirty, false, 'the folio does not know yet');
  l.resetCounters();
  l.k.reclaim('all');
  l.k.reclaim('all');
  assert.deepEqual([l.ev('swapOutPage'), l.ev('reclaimDrop')], [1, 1]);
});

// ---- rules the differential fuzz found (each checked on this 6.18 host) ----

test('mprotect_fixup(): a VMA whose flags do not change is left alone (no split, no PTE walk): a writenotify-protected shmem PTE stays read-only', () => {
  const l = new Lab('linux-6.18');
  l.map('shm', 2, 'anon-shared');
  l.writeAll('shm', 2);
  l.k.uffdRegister(l.mm, l.start('shm'), 2, ['wp']); // uffd-wp: writenotify (6.2+)
  l.k.uffdWriteprotect(l.mm, 0, l.start('shm'), 2, true);
  l.k.uffdWriteprotect(l.mm, 0, l.start('shm'), 2, false);
  const before = l.page('shm', 1).write;
  l.k.mprotect(l.mm, 0, l.start('shm') + 1, 1, 'rw'); // same flags: a no-op
  assert.equal(l.mm.regionVmas('shm').length, 1, 'not split');
  assert.equal(l.page('shm', 1).write, before);
});

test('fork without EVENT_FORK (6.2+): the child\'s shared VMA loses uffd-wp and with it writenotify, so its PTEs are writable again', () => {
  const l = new Lab('linux-6.18');
  l.map('shm', 2, 'anon-shared');
  l.writeAll('shm', 2);
  l.k.uffdRegister(l.mm, l.start('shm'), 2, ['wp']);
  const child = l.k.fork(l.mm, 'child', 0);
  l.read('shm', 0, 0, child); // fault-around maps both pages from vm_page_prot
  l.resetCounters();
  l.write('shm', 0, 0, child);
  l.write('shm', 1, 0, child);
  assert.equal(l.hw('pageFault'), 0, 'writable PTEs: no wp fault');
});

test('reclaim of a lazyfree (MADV_FREE) page written again: the dirty PTE dirties the folio, the PTE is put back (A kept) and the page is swap-backed again', () => {
  const l = new Lab('linux-6.18');
  l.map('m', 1);
  l.write('m', 0);
  l.k.madvise(l.mm, 0, l.start('m'), 1, 'free');
  l.write('m', 0); // no fault: RW was kept, the CPU sets A and D
  l.k.madvise(l.mm, 0, l.start('m'), 1, 'pageout');
  const p = l.page('m', 0);
  assert.deepEqual([p.present, p.young, p.dirty, p.folioDirty], [true, true, true, true]);
});

for (const variant of ALL) {
  const clears = getVariant(variant).pageoutYoung === 'v5.19-clear-young';
  test(`${variant}: MADV_PAGEOUT ${clears ? 'clears A like MADV_COLD (before 6.9)' : 'leaves A alone and reclaim ignores references (6.9+)'}`, () => {
    const l = new Lab(variant);
    l.map('m', 1);
    l.write('m', 0);
    l.k.madvise(l.mm, 0, l.start('m'), 1, 'free');
    l.write('m', 0);
    l.k.madvise(l.mm, 0, l.start('m'), 1, 'pageout'); // kept: re-dirtied lazyfree page
    assert.equal(l.page('m', 0).young, !clears);
  });
}

test('MADV_FREE flushes the PTEs it cleans, also a read-only one whose dirtiness is only the saved-dirty software bit (6.6+): the next read sets A again', () => {
  const l = new Lab('linux-6.18', { cpus: 1 });
  l.map('m', 1);
  l.write('m', 0);
  const child = l.k.fork(l.mm, 'child', 0); // the parent's PTE is write-protected: D moves to saved-dirty
  void child;
  l.read('m', 0);
  l.k.madvise(l.mm, 0, l.start('m'), 1, 'free');
  assert.equal(l.page('m', 0).young, false);
  l.read('m', 0);
  assert.equal(l.page('m', 0).young, true, 'the cached translation was flushed, so the walk sets A');
});

// ---- mfill_atomic_install_pte(): UFFDIO_COPY, ZEROPAGE, CONTINUE (9ae0f87d009c, v5.16: same on every variant) ----

for (const variant of ALL) {
  test(`${variant}: UFFDIO_CONTINUE maps the cached shmem page young and dirty (writable in a shared mapping), on a read and on a write fault`, () => {
    for (const write of [false, true]) {
      const l = new Lab(variant);
      l.map('s', 2, 'anon-shared');
      l.writeAll('s', 2);
      l.k.madvise(l.mm, 0, l.start('s'), 2, 'dontneed'); // cached, not mapped
      l.k.uffdRegister(l.mm, l.start('s'), 2, ['minor']);
      l.resetCounters();
      if (write) l.write('s', 0);
      else l.read('s', 0);
      assert.equal(l.fault('uffdMinor'), 1, `a ${write ? 'write' : 'read'} of a cached page is a minor userfault`);
      assert.equal(l.hw('pageFault'), 1);
      const p = l.page('s', 0);
      assert.deepEqual([p.present, p.young, p.dirty, p.write], [true, true, true, true]);
    }
  });

  test(`${variant}: UFFDIO_COPY into shmem: a hole faults to the handler; the new page is mapped dirty, its folio is clean; a cached page is -EEXIST`, () => {
    const l = new Lab(variant);
    l.map('s', 2, 'anon-shared');
    l.k.uffdRegister(l.mm, l.start('s'), 2, ['missing']);
    l.read('s', 0);
    assert.equal(l.fault('uffdMissing'), 1, 'shmem_get_folio_gfp(): a hole in a MISSING VMA is a userfault');
    const p = l.page('s', 0);
    assert.deepEqual([p.present, p.young, p.dirty, p.folioDirty], [true, true, true, false]);
    l.k.madvise(l.mm, 0, l.start('s'), 1, 'dontneed');
    assert.equal(l.k.uffdCopy(l.mm, l.start('s'), 1), 0, 'the page is still in the page cache');
  });

  test(`${variant}: UFFDIO_ZEROPAGE on anon memory maps the zero page young, clean and read-only; UFFDIO_COPY maps young, dirty and writable`, () => {
    const l = new Lab(variant);
    l.map('m', 2);
    l.k.uffdRegister(l.mm, l.start('m'), 2, ['missing']);
    l.k.uffdZeropage(l.mm, l.start('m'), 1);
    l.k.uffdCopy(l.mm, l.start('m') + 1, 1);
    const z = l.page('m', 0), c = l.page('m', 1);
    assert.deepEqual([z.special, z.young, z.dirty, z.write], [true, true, false, false]);
    assert.deepEqual([c.special, c.young, c.dirty, c.write], [false, true, true, true]);
  });
}

// ---- remote TLB flushes (arch/x86/mm/tlb.c): flush_tlb_multi() and, from 6.15, INVLPGB ----

/** A Lab whose mm runs on `cpus` CPUs, each having touched every page. */
function onCpus(variant: string, cpus: number, invlpgb: boolean): Lab {
  const l = new Lab(variant, { cpus, invlpgb });
  l.map('m', 4);
  l.writeAll('m', 4);
  for (let c = 1; c < cpus; c++) for (let p = 0; p < 4; p++) l.read('m', p, c);
  return l;
}

test('flush_tlb_multi(): one shootdown to 3 remote CPUs is one round trip (ipi) and two further sends; only the first target\'s INVLPGs count as serial work', () => {
  const l = onCpus('linux-6.3', 4, false);
  l.resetCounters();
  l.k.mprotect(l.mm, 0, l.start('m'), 1, 'r');
  assert.deepEqual([l.ev('ipi'), l.ev('ipiExtraTarget'), l.ev('parallelRemoteFlush')], [1, 2, 2]);
  assert.equal(l.hw('invlpg'), 2, 'the local INVLPG and the first target\'s');
  for (let c = 1; c < 4; c++) assert.equal(l.write('m', 0, c), false, `CPU ${c} lost its writable entry (SIGSEGV now)`);
});

test('lazy-TLB CPUs are skipped by a shootdown, unless page tables are freed (munmap): then they are flushed too', () => {
  for (const unmap of [false, true]) {
    const l = onCpus('linux-6.18', 3, false);
    l.k.idle(2);
    l.resetCounters();
    if (unmap) l.k.munmap(l.mm, 'm', 0);
    else l.k.mprotect(l.mm, 0, l.start('m'), 4, 'r');
    assert.equal(l.ev('lazyTlbSkip'), unmap ? 0 : 1);
    assert.equal(l.ev('ipi') + l.ev('ipiExtraTarget'), unmap ? 2 : 1);
  }
});

for (const [variant, hw, broadcast] of [['linux-6.18', true, true], ['linux-6.18', false, false], ['linux-6.3', true, false]] as const) {
  test(`${variant}${hw ? ' on an INVLPGB CPU' : ' without INVLPGB'}: an mm running on 4 CPUs ${broadcast ? 'gets a global ASID after its first shootdown; later flushes are INVLPGB + TLBSYNC broadcasts, no IPI' : 'keeps using IPIs'}`, () => {
    const l = onCpus(variant, 4, hw);
    l.k.mprotect(l.mm, 0, l.start('m'), 1, 'r'); // the first shootdown: IPIs
    assert.equal(l.mm.globalAsid, broadcast);
    for (let c = 1; c < 4; c++) l.read('m', 1, c);
    l.resetCounters();
    l.k.mprotect(l.mm, 0, l.start('m') + 1, 1, 'r');
    assert.equal(l.ev('ipi') + l.ev('ipiExtraTarget'), broadcast ? 0 : 3);
    assert.deepEqual([l.ev('invlpgb'), l.ev('tlbsync')], broadcast ? [1, 1] : [0, 0]);
    for (let c = 1; c < 4; c++) assert.equal(l.write('m', 1, c), false, `CPU ${c}: no stale writable entry`);
    assert.equal(l.k.mmu.violations[0], 0);
  });
}

test('4 CPUs on a 6.15+ variant, fewer than 4 running the mm: no global ASID (mm_active_cpus_exceeds(mm, 3))', () => {
  const l = onCpus('linux-6.18', 3, true);
  l.k.mprotect(l.mm, 0, l.start('m'), 1, 'r');
  assert.equal(l.mm.globalAsid, false);
});

// ---- every built-in variant says, per rule, what it does and since which release and commit ----

test('each built-in variant\'s description lists every version-dependent rule with its kernel function and the release it changed in', () => {
  for (const name of ALL) {
    const v = getVariant(name);
    for (const [field, rule] of Object.entries(RULES)) {
      const value = String((v as unknown as Record<string, unknown>)[field]);
      assert.ok(value in rule.values, `${name}.${field} = ${value} has an entry in RULES`);
      const line = v.description.split('\n').find((l) => l.startsWith(`- ${field} = ${value}:`));
      assert.ok(line, `${name}: description lists ${field}`);
      assert.match(line!, /\d\.\d+|not in any release|host quirk|mainline|IPIs/, `${name}.${field}: a release (or why none)`);
    }
  }
  assert.ok(FIXED_RULES.length >= 5);
});
