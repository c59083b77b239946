/**
 * The swap zeromap (mm/page_io.c, 6.12+, variant swapZeromap; src/kernel/page_io.ts): a page that
 * is all zeros when swapped out is not written (swap_writeout() only notes it in the zeromap), and
 * its swap-in zero-fills the folio without device I/O (swap_read_folio_zeromap()), still one major
 * fault (do_swap_page() returns VM_FAULT_MAJOR whenever the folio had to be read). Before 6.12 it
 * is written and read like any other page.
 *
 * An anon page is all zeros when nothing wrote it: with mm_forbids_zeropage() a read fault
 * allocates a zeroed page instead of mapping the zero page, so the tests derive each release with
 * mmForbidsZeropage (a host quirk, not a release: it changes nothing else about swap).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kernel/kernel';
import type { Mm } from '../src/kernel/mm';
import { KEv } from '../src/kernel/events';
import { HwEv } from '../src/x86/events';
import { pte_swp_offset } from '../src/x86/pte';
import { deriveVariant } from '../src/kernel/variant';
import { getVariant } from '../src/kernel/variants';
import type { MthpSize } from '../src/kernel/mthp';
import { compile } from '../src/lab/compile';
import { simulateRun } from '../src/lab/simulate';
import { getProfile } from '../src/cost';

const RELEASES = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18'];
const hasZeromap = (v: string) => v === 'linux-6.18';

function setup(release: string, pages: number, opts: { mthp?: MthpSize[]; swap?: 'zram' | 'disk' } = {}) {
  const variant = deriveVariant(getVariant(release), { name: `${release}-no-zero-page`, mmForbidsZeropage: true });
  const mthp = Object.fromEntries((opts.mthp ?? []).map((s) => [s, 'madvise' as const]));
  const k = new Kernel({ variant, cpus: 1, strict: true, swap: opts.swap ?? 'zram', thp: { enabled: 'madvise', mthp } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages, kind: 'anon-private' });
  if (opts.mthp) k.madvise(mm, 0, vma.start, pages, 'hugepage');
  return { k, mm, s: vma.start };
}
const access = (k: Kernel, mm: Mm, vpn: number, write: number) => assert.ok(k.access(mm, 0, vpn, write));
/** The kernel events and #PFs of `fn`. */
function delta(k: Kernel, fn: () => void) {
  const before = Float64Array.from(k.counters);
  const pf = k.mmu.counters[HwEv.pageFault];
  fn();
  const ev = (name: keyof typeof KEv) => k.counters[KEv[name]] - before[KEv[name]];
  /** what `ptlab diff` compares with the host's major faults (src/fidelity/diff.ts) */
  const major = ev('swapInPage') + ev('swpinZero') + ev('fileReadPage');
  return { ev, major, faults: k.mmu.counters[HwEv.pageFault] - pf };
}

for (const release of RELEASES) {
  for (const swap of ['zram', 'disk'] as const) {
    test(`${release} (${swap}): a page that was all zeros when swapped out is ${hasZeromap(release) ? 'not written, and zero-filled on swap-in with no device read (the zeromap, 6.12+)' : 'written and read back like any other (no zeromap before 6.12)'}; one major fault either way`, () => {
      const { k, mm, s } = setup(release, 2, { swap });
      access(k, mm, s, 0); // a zeroed page, never written
      const out = delta(k, () => k.madvise(mm, 0, s, 1, 'pageout'));
      assert.equal(k.inspect(mm, s).entry, 'swap');
      assert.deepEqual([out.ev('swapOutPage'), out.ev('swpoutZero')], hasZeromap(release) ? [0, 1] : [1, 0], 'swap_writeout()');
      const inn = delta(k, () => access(k, mm, s, 0));
      assert.equal(inn.faults, 1);
      assert.equal(inn.ev('fault.swapIn'), 1);
      assert.equal(inn.major, 1, 'VM_FAULT_MAJOR: the folio was not in the swap cache');
      assert.deepEqual([inn.ev('swapInPage'), inn.ev('swpinZero'), inn.ev('swapInTailPage')], hasZeromap(release) ? [0, 1, 0] : [1, 0, 0], 'swap_read_folio()');
      assert.equal(k.inspect(mm, s).present, true);
    });
  }

  test(`${release}: a written page is written to swap and read from the device, whatever the version`, () => {
    const { k, mm, s } = setup(release, 2);
    access(k, mm, s, 1);
    const out = delta(k, () => k.madvise(mm, 0, s, 1, 'pageout'));
    assert.deepEqual([out.ev('swapOutPage'), out.ev('swpoutZero')], [1, 0]);
    const inn = delta(k, () => access(k, mm, s, 0));
    assert.deepEqual([inn.ev('swapInPage'), inn.ev('swpinZero'), inn.major], [1, 0, 1]);
  });
}

test('linux-6.18: a zero-filled page stays zero: swapped out again it is not written; once written, it is', () => {
  const { k, mm, s } = setup('linux-6.18', 1);
  access(k, mm, s, 0);
  k.madvise(mm, 0, s, 1, 'pageout');
  access(k, mm, s, 0); // zero-filled swap-in
  let out = delta(k, () => k.madvise(mm, 0, s, 1, 'pageout'));
  assert.deepEqual([out.ev('swapOutPage'), out.ev('swpoutZero')], [0, 1]);
  access(k, mm, s, 1); // zero-filled again, then written
  out = delta(k, () => k.madvise(mm, 0, s, 1, 'pageout'));
  assert.deepEqual([out.ev('swapOutPage'), out.ev('swpoutZero')], [1, 0]);
  const inn = delta(k, () => access(k, mm, s, 0));
  assert.deepEqual([inn.ev('swapInPage'), inn.ev('swpinZero')], [1, 0]);
});

test('linux-6.18 zram: a 64 KiB mTHP that was all zeros goes out with no write and comes back whole with one zero-fill, no device read, one major fault', () => {
  const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'] });
  access(k, mm, s, 0);
  assert.equal(k.inspect(mm, s + 15).thp, true, 'one read fault allocated the whole zeroed 64 KiB folio (mm_forbids_zeropage)');
  const out = delta(k, () => k.madvise(mm, 0, s, 16, 'pageout'));
  assert.equal(k.counters[KEv.splitHugePage], 0, 'swapped out whole');
  assert.deepEqual([out.ev('swapOutPage'), out.ev('swpoutZero')], [0, 16], 'is_folio_zero_filled(): every page noted, none written');
  const inn = delta(k, () => access(k, mm, s + 3, 0));
  assert.equal(inn.faults, 1);
  assert.equal(inn.major, 1);
  assert.deepEqual(
    [inn.ev('swapInPage'), inn.ev('swapInTailPage'), inn.ev('swpinZero'), inn.ev('pageZero')],
    [0, 0, 1, 15],
    'folio_zero_range() of the whole folio: swpinZero for the first page, pageZero for the others',
  );
  for (let i = 0; i < 16; i++) assert.equal(k.inspect(mm, s + i).present, true, `page ${i} came back with the folio`);
});

test('linux-6.18 zram: a 64 KiB run whose slots are only partly in the zeromap is not read as one folio (can_swapin_thp(): swap_read_folio() cannot zero-fill part of a folio); the faulting page comes back alone', () => {
  const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'] });
  access(k, mm, s, 0);
  k.madvise(mm, 0, s, 16, 'pageout');
  // the model cannot write a page of a folio after its zero test: take one slot out of the zeromap,
  // as if that page had held data when its slot was written (order-0 pages in a contiguous run)
  k.swap.zeromap.delete(pte_swp_offset(k.mmu.mem.get(mm.pt.pteSlot(s + 9))));
  let inn = delta(k, () => access(k, mm, s + 3, 0));
  assert.deepEqual([inn.ev('swpinZero'), inn.ev('pageZero'), inn.ev('swapInPage'), inn.major], [1, 0, 0, 1], 'order 0: the zero page alone');
  assert.equal(k.inspect(mm, s + 4).present, false);
  inn = delta(k, () => access(k, mm, s + 9, 0));
  assert.deepEqual([inn.ev('swpinZero'), inn.ev('swapInPage'), inn.major], [0, 1, 1], 'the page out of the zeromap is read from the device');
});

test('linux-6.18 zram prices a zero-filled swap-in as a page zeroing, with no device latency; linux-5.19 as a device read', () => {
  const p = getProfile('zen3');
  for (const release of ['linux-5.19', 'linux-6.18']) {
    const [plan] = compile(
      {
        name: 'zero swap-in price',
        seed: 1,
        machine: { cpu: 'zen3', cpus: 1, swap: 'zram' },
        kernel: [{ name: 'no-zero-page', base: release, overrides: { mmForbidsZeropage: true } }],
        steps: [
          { op: 'mmap', region: 'h', size: '16KiB' },
          { op: 'touch', region: 'h', access: 'read' },
          { op: 'madvise', region: 'h', advice: 'pageout' },
          { op: 'touch', region: 'h', access: 'read', pages: { from: 1, count: 1 } },
        ],
      },
      { source: 'test' },
    );
    const run = simulateRun(plan);
    const [, , out, inn] = run.steps;
    if (hasZeromap(release)) {
      assert.equal(out.counters.swapOutPages, 0, 'nothing written');
      assert.equal(out.counters.events.swpoutZero, 4);
      assert.equal(inn.counters.events.swpinZero, 1);
      assert.equal(inn.counters.events.swapInPage ?? 0, 0);
      assert.equal(inn.cycles.byEvent.swpinZero, p.costs.pageZero.cycles, 'the profile\'s pageZero');
      assert.equal(inn.cycles.byEvent.swapInPage ?? 0, 0, 'no device latency');
    } else {
      assert.equal(out.counters.swapOutPages, 4);
      assert.equal(inn.counters.events.swapInPage, 1);
      assert.equal(inn.counters.events.swpinZero ?? 0, 0);
      assert.equal(inn.cycles.byEvent.swapInPage, p.costs.swapInPage.cycles);
    }
  }
});
