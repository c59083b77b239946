/**
 * Swap of THPs and mTHPs, per variant: a large anon folio swapped out whole in one aligned run of
 * swap slots (shrink_folio_list / folio_alloc_swap, THP_SWAP), and the 6.13+ large swap-in of a
 * SWP_SYNCHRONOUS_IO device (do_swap_page / alloc_swap_folio / can_swapin_thp).
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
import type { KernelVariant } from '../src/kernel/variant';
import type { MthpSize } from '../src/kernel/mthp';
import { compile } from '../src/lab/compile';
import { simulateRun } from '../src/lab/simulate';
import { getProfile } from '../src/cost';

const RELEASES = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18'];

function setup(variant: string | KernelVariant, pages: number, opts: { mthp?: MthpSize[]; swap?: 'zram' | 'disk' } = {}) {
  const mthp = Object.fromEntries((opts.mthp ?? []).map((s) => [s, 'madvise' as const]));
  const k = new Kernel({ variant, cpus: 1, strict: true, swap: opts.swap ?? 'zram', thp: { enabled: 'madvise', mthp } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, pages, 'hugepage');
  return { k, mm, s: vma.start };
}
const touch = (k: Kernel, mm: Mm, s: number, pages: number[], write: number) => {
  for (const i of pages) assert.ok(k.access(mm, 0, s + i, write));
};
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
const pte = (k: Kernel, mm: Mm, vpn: number) => k.mmu.mem.get(mm.pt.pteSlot(vpn));
/** The swap offsets of pages [from, from+n), or null for a page that is not a swap entry. */
const offsets = (k: Kernel, mm: Mm, s: number, from: number, n: number) =>
  range(from, n).map((i) => (k.inspect(mm, s + i).entry === 'swap' ? pte_swp_offset(pte(k, mm, s + i)) : null));
const contiguousAligned = (offs: (number | null)[], align: number) =>
  offs[0] !== null && offs[0] % align === 0 && offs.every((o, i) => o === offs[0]! + i);
/** A written 2 MiB THP whose PMD an mprotect of one page split: one large folio mapped by 512 PTEs. */
function pteMappedThp(v: string) {
  const { k, mm, s } = setup(v, 512);
  touch(k, mm, s, range(0, 512), 1);
  k.mprotect(mm, 0, s + 100, 1, 'r');
  k.mprotect(mm, 0, s + 100, 1, 'rw');
  return { k, mm, s };
}
const present = (k: Kernel, mm: Mm, s: number, from: number, n: number) => range(from, n).filter((i) => k.inspect(mm, s + i).present);

test('MADV_PAGEOUT of a PMD-mapped THP swaps it out whole: 512 PTE swap entries with contiguous, 512-aligned offsets, no folio split (THP_SWAP, every release)', () => {
  for (const v of RELEASES) {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, range(0, 512), 1);
    assert.equal(k.inspect(mm, s).huge, true, v);
    const splits = k.counters[KEv.splitHugePage], pmdSplits = k.counters[KEv.splitHugePmd];
    k.madvise(mm, 0, s, 512, 'pageout');
    assert.equal(k.counters[KEv.splitHugePage], splits, `${v}: the folio is not split`);
    assert.equal(k.counters[KEv.splitHugePmd], pmdSplits + 1, `${v}: try_to_unmap(TTU_SPLIT_HUGE_PMD) splits the PMD mapping`);
    assert.equal(k.counters[KEv.swapOutPage], 512, v);
    assert.ok(contiguousAligned(offsets(k, mm, s, 0, 512), 512), `${v}: one aligned run of slots`);
    // the swap entries keep PageAnonExclusive of every page
    assert.ok(range(0, 512).every((i) => k.inspect(mm, s + i).exclusive), v);
    // without an mTHP order, a swap-in reads one page (a PMD-sized folio is never swapped in)
    const f0 = k.mmu.counters[HwEv.pageFault];
    touch(k, mm, s, [7], 0);
    assert.equal(k.mmu.counters[HwEv.pageFault] - f0, 1, v);
    assert.deepEqual(present(k, mm, s, 0, 512), [7], v);
  }
});

test('a PTE-mapped THP (PMD split by a partial mprotect) is split before swap-out up to 6.3 and swapped out whole on 6.18 (6.10+)', () => {
  for (const v of RELEASES) {
    const { k, mm, s } = pteMappedThp(v);
    assert.equal(k.inspect(mm, s).huge, false, `${v}: PTE-mapped now`);
    assert.equal(k.inspect(mm, s).thp, true, `${v}: still one large folio`);
    const splits = k.counters[KEv.splitHugePage];
    k.madvise(mm, 0, s, 512, 'pageout');
    assert.equal(k.counters[KEv.swapOutPage], 512, v);
    const whole = v === 'linux-6.18';
    assert.equal(k.counters[KEv.splitHugePage] - splits, whole ? 0 : 1, v);
    if (whole) assert.ok(contiguousAligned(offsets(k, mm, s, 0, 512), 512), v);
  }
});

test('6.18: the split before swap-out of a PTE-mapped folio follows swapOutPteMappedLargeFolios', () => {
  const v = deriveVariant(getVariant('linux-6.18'), { name: 'no-whole-pte-swapout', swapOutPteMappedLargeFolios: false });
  const { k, mm, s } = setup(v, 64, { mthp: ['64kB'] });
  touch(k, mm, s, range(0, 16), 1);
  const splits = k.counters[KEv.splitHugePage];
  k.madvise(mm, 0, s, 16, 'pageout');
  assert.equal(k.counters[KEv.splitHugePage] - splits, 1);
  assert.equal(k.counters[KEv.swapOutPage], 16);
});

test('6.18 zram: a read fault on a whole-swapped 64 KiB mTHP brings the whole folio back with one major fault (alloc_swap_folio, 6.13+)', () => {
  const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'] });
  touch(k, mm, s, range(0, 32), 1);
  k.madvise(mm, 0, s, 32, 'pageout');
  assert.equal(k.counters[KEv.splitHugePage], 0, 'swapped out whole');
  assert.ok(contiguousAligned(offsets(k, mm, s, 0, 16), 16));
  assert.ok(contiguousAligned(offsets(k, mm, s, 16, 16), 16));
  const f0 = k.mmu.counters[HwEv.pageFault], in0 = k.counters[KEv.swapInPage];
  touch(k, mm, s, [3], 0);
  assert.equal(k.mmu.counters[HwEv.pageFault] - f0, 1);
  assert.equal(k.counters[KEv.swapInPage] - in0, 1, 'one read, one major fault');
  assert.deepEqual(present(k, mm, s, 0, 32), range(0, 16));
  const head = k.frames.head[k.inspect(mm, s).pfn];
  for (const i of range(0, 16)) {
    const p = k.inspect(mm, s + i);
    assert.ok(p.thp && k.frames.head[p.pfn] === head && p.pfn === head + i, `page ${i} in one folio, in order`);
    // set_ptes() of one template: young, writable (exclusive, 6.11+), clean on a read fault
    assert.ok(p.young && p.write && !p.dirty && p.exclusive && !p.folioDirty, `page ${i}`);
  }
  // the other 15 pages take no fault; a write to the second folio dirties every PTE of it
  touch(k, mm, s, range(0, 16), 1);
  assert.equal(k.mmu.counters[HwEv.pageFault] - f0, 1);
  touch(k, mm, s, [20], 1);
  assert.deepEqual(present(k, mm, s, 0, 32), range(0, 32));
  assert.ok(range(16, 16).every((i) => k.inspect(mm, s + i).dirty && k.inspect(mm, s + i).write));
  assert.equal(k.swap.slotsInUse, 0, 'swap_free_nr() freed every slot');
});

/** The last step's counters and cycles of a zram run: write 16 pages, page them out, read page 3. */
function swapInStep(mthp: Record<string, 'madvise'>) {
  const [plan] = compile(
    {
      name: 'swap-in price',
      seed: 1,
      machine: { cpu: 'zen3', cpus: 1, swap: 'zram', mthp },
      kernel: 'linux-6.18',
      steps: [
        { op: 'mmap', region: 'h', size: '64KiB', thp: 'hugepage' },
        { op: 'touch', region: 'h', access: 'write' },
        { op: 'madvise', region: 'h', advice: 'pageout' },
        { op: 'touch', region: 'h', access: 'read', pages: { from: 3, count: 1 } },
      ],
    },
    { source: 'test' },
  );
  const run = simulateRun(plan);
  return run.steps[run.steps.length - 1];
}

test('6.18 zram: a large swap-in of a 64 KiB mTHP costs one device latency plus 16 pages of transfer, a 4 KiB one latency plus one page; both are one swapInPage (one major fault)', () => {
  const p = getProfile('zen3');
  const transfer = (4096 / (p.storage.readMBps * 1e6)) * 1e9 * p.clockGHz;
  const latency = p.storage.latencyUs * 1e3 * p.clockGHz;
  for (const [mthp, pages] of [[{ '64kB': 'madvise' as const }, 16], [{}, 1]] as const) {
    const st = swapInStep(mthp);
    const ev = st.counters.events;
    assert.equal(ev.swapInPage, 1, `${pages} pages: one read, one major fault (faults.major compares swapInPage + fileReadPage)`);
    assert.equal(ev.swapInTailPage ?? 0, pages - 1, `${pages} pages`);
    const device = (st.cycles.byEvent.swapInPage ?? 0) + (st.cycles.byEvent.swapInTailPage ?? 0);
    assert.ok(Math.abs(device - (latency + pages * transfer)) <= pages, `${pages} pages: ${device} vs ${latency + pages * transfer}`);
  }
});

test('6.18: a whole-swapped THP comes back as folios of the highest enabled mTHP order; with none enabled, one page', () => {
  const { k, mm, s } = setup('linux-6.18', 512, { mthp: ['16kB', '64kB'] });
  touch(k, mm, s, range(0, 512), 1);
  k.madvise(mm, 0, s, 512, 'pageout');
  touch(k, mm, s, [20], 0);
  assert.deepEqual(present(k, mm, s, 0, 512), range(16, 16));
});

test('6.18: large swap-in falls back to smaller orders, then to one page, when the range does not qualify', () => {
  // a zapped PTE inside the 64 KiB range: the aligned 16 KiB run around the fault still qualifies
  {
    const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['16kB', '64kB'] });
    touch(k, mm, s, range(0, 16), 1);
    k.madvise(mm, 0, s, 16, 'pageout');
    k.madvise(mm, 0, s + 9, 1, 'dontneed');
    touch(k, mm, s, [6], 0);
    assert.deepEqual(present(k, mm, s, 0, 16), [4, 5, 6, 7]);
  }
  // a swap device that is not SWP_SYNCHRONOUS_IO goes through the swap cache: order 0
  {
    const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'], swap: 'disk' });
    touch(k, mm, s, range(0, 16), 1);
    k.madvise(mm, 0, s, 16, 'pageout');
    touch(k, mm, s, [3], 0);
    assert.deepEqual(present(k, mm, s, 0, 16), [3]);
  }
  // after fork the faulting entry's swap count is 2: no skipping the swap cache, order 0
  {
    const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'] });
    touch(k, mm, s, range(0, 16), 1);
    k.madvise(mm, 0, s, 16, 'pageout');
    k.fork(mm, 'child', 0);
    touch(k, mm, s, [3], 0);
    assert.deepEqual(present(k, mm, s, 0, 16), [3]);
  }
  // userfaultfd armed on the VMA: one PTE per fault
  {
    const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'] });
    touch(k, mm, s, range(0, 16), 1);
    k.madvise(mm, 0, s, 16, 'pageout');
    k.uffdRegister(mm, s, 64, ['wp']);
    touch(k, mm, s, [3], 0);
    assert.deepEqual(present(k, mm, s, 0, 16), [3]);
  }
  // a release before 6.13 (here 6.18 with the rule turned off) reads one page
  {
    const v = deriveVariant(getVariant('linux-6.18'), { name: 'no-large-swapin', swapinLargeFolios: false });
    const { k, mm, s } = setup(v, 64, { mthp: ['64kB'] });
    touch(k, mm, s, range(0, 16), 1);
    k.madvise(mm, 0, s, 16, 'pageout');
    touch(k, mm, s, [3], 0);
    assert.deepEqual(present(k, mm, s, 0, 16), [3]);
  }
});

test('6.18: a folio written on one page only is not all zeros: written whole, out of the zeromap, and read back whole', () => {
  const { k, mm, s } = setup('linux-6.18', 64, { mthp: ['64kB'] });
  touch(k, mm, s, [0], 1);
  assert.equal(k.inspect(mm, s + 15).thp, true, 'one write fault mapped the whole 64 KiB folio');
  k.madvise(mm, 0, s, 16, 'pageout');
  assert.equal(k.swap.zeromap.size, 0);
  touch(k, mm, s, [2], 0);
  assert.deepEqual(present(k, mm, s, 0, 16), range(0, 16));
});

test('reclaim: a PMD-mapped THP is aged as one folio (its PMD A bit, cleared with a flush, so the next access sets it again) and swapped out whole, every release', () => {
  for (const v of RELEASES) {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, range(0, 512), 1);
    // first pass: the PMD was young, the folio is activated whole (folio_referenced clears A)
    const flushes = k.counters[KEv.tlbFlushRequest];
    k.reclaim('all');
    assert.ok(k.counters[KEv.tlbFlushRequest] > flushes, `${v}: pmdp_clear_flush_young() flushes`);
    assert.equal(k.inspect(mm, s).huge, true, `${v}: kept, PMD-mapped`);
    assert.equal(k.inspect(mm, s + 5).young, false, v);
    // the flush dropped the 2 MiB translation: a read walks again and sets the PMD's A
    touch(k, mm, s, [5], 0);
    assert.equal(k.inspect(mm, s + 300).young, true, `${v}: one A bit for the whole PMD`);
    // second pass: aging clears it, the inactive pass finds it old and swaps the folio out whole
    k.reclaim('all');
    assert.equal(k.counters[KEv.splitHugePage], 0, `${v}: no split`);
    assert.equal(k.counters[KEv.swapOutPage], 512, v);
    assert.ok(contiguousAligned(offsets(k, mm, s, 0, 512), 512), v);
  }
});

test('reclaim: a PTE-mapped THP is split first up to 6.3 (each page reclaimed on its own) and swapped out whole on 6.18', () => {
  for (const v of RELEASES) {
    const { k, mm, s } = pteMappedThp(v);
    k.reclaim('all'); // young PTEs: activated whole
    assert.equal(k.counters[KEv.swapOutPage], 0, v);
    k.reclaim('all');
    const whole = v === 'linux-6.18';
    assert.equal(k.counters[KEv.splitHugePage], whole ? 0 : 1, v);
    assert.equal(k.counters[KEv.swapOutPage], 512, v);
    if (whole) assert.ok(contiguousAligned(offsets(k, mm, s, 0, 512), 512), v);
  }
});

import fc from 'fast-check';
const Rg = 256;
const rng = fc.oneof(
  fc.constantFrom(0, 16, 64, 128).map((from) => ({ from, count: 16 })),
  fc.constant({ from: 0, count: Rg }),
  fc.record({ from: fc.nat(Rg - 1), count: fc.integer({ min: 1, max: 24 }) }).map(({ from, count }) => ({ from, count: Math.min(count, Rg - from) })),
);
const SwapOp = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('touch' as const), range: rng, write: fc.boolean(), child: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('madvise' as const), range: rng, advice: fc.constantFrom('pageout' as const, 'pageout' as const, 'dontneed' as const, 'free' as const, 'cold' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mprotect' as const), range: rng, prot: fc.constantFrom('r' as const, 'rw' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reclaim' as const) }) },
);

test('6.18 zram + mTHP: random touch/pageout/reclaim/fork sequences keep the swap counts exact (every slot referenced by its swap PTEs and nothing else) and every touched page present', () => {
  fc.assert(
    fc.property(fc.array(SwapOp, { minLength: 5, maxLength: 30 }), (ops) => {
      const { k, mm, s } = setup('linux-6.18', Rg, { mthp: ['16kB', '64kB'] });
      let child: Mm | null = null;
      const prot = new Array<'r' | 'rw'>(Rg).fill('rw');
      for (const o of ops) {
        if (o.op === 'touch') {
          const m = o.child && child ? child : mm;
          for (let p = o.range.from; p < o.range.from + o.range.count; p += 3) {
            const ok = k.access(m, 0, s + p, o.write ? 1 : 0);
            if (m === mm) assert.equal(ok, !o.write || prot[p] === 'rw');
            if (ok) assert.ok(k.inspect(m, s + p).present, `page ${p} present after its access`);
          }
        } else if (o.op === 'madvise') k.madvise(mm, 0, s + o.range.from, o.range.count, o.advice);
        else if (o.op === 'mprotect') {
          k.mprotect(mm, 0, s + o.range.from, o.range.count, o.prot);
          prot.fill(o.prot, o.range.from, o.range.from + o.range.count);
        } else if (o.op === 'fork') {
          if (!child) child = k.fork(mm, 'child', 0);
        } else k.reclaim('all');
        // swap accounting: the refs of each slot are the swap PTEs naming it
        const seen = new Map<number, number>();
        for (const m of child ? [mm, child] : [mm]) {
          for (let p = 0; p < Rg; p++) {
            if (k.inspect(m, s + p).entry !== 'swap') continue;
            const off = pte_swp_offset(pte(k, m, s + p));
            seen.set(off, (seen.get(off) ?? 0) + 1);
          }
        }
        for (const [off, n] of seen) assert.equal(k.swap.refs.get(off), n, `slot ${off}`);
        for (const [off, n] of k.swap.refs) if (n > 0) assert.equal(seen.get(off), n, `slot ${off} has refs but no PTE`);
      }
    }),
    { numRuns: 40, seed: 17 },
  );
});

test('ptlab diff: a host with zswap enabled is modelled without large swap-in (zswap_never_enabled() false); no zswap module reads as never enabled', async () => {
  const { hostZswapEnabled } = await import('../src/fidelity/host-model');
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'zswap-'));
  writeFileSync(join(dir, 'on'), 'Y\n');
  writeFileSync(join(dir, 'off'), 'N\n');
  assert.equal(hostZswapEnabled(join(dir, 'on')), true);
  assert.equal(hostZswapEnabled(join(dir, 'off')), false);
  assert.equal(hostZswapEnabled(join(dir, 'missing')), false);
});
