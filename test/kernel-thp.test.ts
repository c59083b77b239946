/**
 * Anonymous THP paths (src/kernel/huge_memory.ts), rule by rule and per kernel version, on the
 * kernel model directly; plus the x86 side (2 MiB TLB entries, INVLPG of a 2 MiB page).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kernel/kernel';
import { page_state } from '../src/kernel/task_mmu';
import type { Mm } from '../src/kernel/mm';
import type { Vma } from '../src/kernel/vma';
import { KEv } from '../src/kernel/events';
import { HwEv } from '../src/x86/events';
import { listVariants } from '../src/kernel/variants';

const VARIANTS = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18', 'rfc-2022-uffd-hints', 'proposal-dirty-on-mkwrite', 'rfc-2022-relaxed-flush'];
const atLeast = (v: string, major: number, minor: number): boolean => {
  const m = /^linux-(\d+)\.(\d+)$/.exec(v);
  if (!m) return true; // the RFC variants are built on 6.18
  return Number(m[1]) * 100 + Number(m[2]) >= major * 100 + minor;
};

function setup(variant: string, pages = 1024, opts: { thp?: 'never' | 'madvise' | 'always'; advise?: boolean; useZeroPage?: boolean } = {}): { k: Kernel; mm: Mm; vma: Vma; s: number } {
  const k = new Kernel({ variant, cpus: 2, strict: true, thp: { enabled: opts.thp ?? 'madvise', useZeroPage: opts.useZeroPage ?? true } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages, kind: 'anon-private' });
  if (opts.advise !== false) k.madvise(mm, 0, vma.start, pages, 'hugepage');
  return { k, mm, vma, s: vma.start };
}
const touch = (k: Kernel, mm: Mm, s: number, from: number, n: number, write: number) => {
  for (let i = from; i < from + n; i++) assert.ok(k.access(mm, 0, s + i, write));
};
const faults = (k: Kernel) => k.mmu.counters[HwEv.pageFault];

test('thp eligibility: madvise needs MADV_HUGEPAGE, never never maps a PMD, always does without advice, NOHUGEPAGE wins', () => {
  for (const [thp, advise, huge] of [['madvise', true, true], ['madvise', false, false], ['never', true, false], ['always', false, true]] as const) {
    const { k, mm, s } = setup('linux-6.18', 512, { thp, advise });
    touch(k, mm, s, 0, 1, 1);
    assert.equal(k.inspect(mm, s).huge, huge, `${thp} advise=${advise}`);
  }
  const { k, mm, vma, s } = setup('linux-6.18', 512, { thp: 'always', advise: false });
  k.madvise(mm, 0, vma.start, 512, 'nohugepage');
  touch(k, mm, s, 0, 1, 1);
  assert.equal(k.inspect(mm, s).huge, false);
  // a VMA that does not cover the aligned 2 MiB range gets no PMD
  const small = setup('linux-6.18', 300);
  touch(small.k, small.mm, small.s, 0, 1, 1);
  assert.equal(small.k.inspect(small.mm, small.s).huge, false);
});

for (const v of VARIANTS) {
  test(`${v}: a write fault maps a THP (young, dirty, writable, exclusive); one fault and one walk serve 512 pages`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 512, 1);
    assert.equal(faults(k), 1);
    assert.equal(k.counters[KEv['fault.hugeAnonAlloc']], 1);
    assert.equal(k.counters[KEv.thpZero], 1);
    // the walk that faulted, then the one that filled the 2 MiB entry
    assert.equal(k.mmu.counters[HwEv.walk], 2);
    for (const p of [0, 311, 511]) {
      const st = k.inspect(mm, s + p);
      assert.deepEqual([st.huge, st.present, st.write, st.young, st.dirty, st.exclusive, st.special], [true, true, true, true, true, true, false]);
    }
    assert.equal(k.dirtyPages(), 512);
  });

  test(`${v}: a read maps the huge zero page; a write then ${atLeast(v, 6, 13) ? 'maps a new THP (6.13+)' : 'splits it and copies one 4 KiB page (<= 6.12)'}`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 512, 0);
    let st = k.inspect(mm, s + 7);
    assert.deepEqual([st.huge, st.special, st.write, st.young, st.dirty], [true, true, false, true, false]);
    assert.equal(k.counters[KEv['fault.hugeZeroPage']], 1);
    touch(k, mm, s, 7, 1, 1);
    st = k.inspect(mm, s + 7);
    const other = k.inspect(mm, s + 8);
    if (atLeast(v, 6, 13)) {
      assert.deepEqual([st.huge, st.special, st.write, st.dirty], [true, false, true, true]);
      assert.deepEqual([other.huge, other.special, other.write], [true, false, true]);
    } else {
      assert.deepEqual([st.huge, st.special, st.write, st.dirty, st.exclusive], [false, false, true, true, true]);
      assert.deepEqual([other.huge, other.special, other.write], [false, true, false]);
      assert.equal(k.counters[KEv.splitHugePmd], 1);
    }
  });

  test(`${v}: use_zero_page=0 makes a read allocate a THP`, () => {
    const { k, mm, s } = setup(v, 512, { useZeroPage: false });
    touch(k, mm, s, 0, 1, 0);
    const st = k.inspect(mm, s);
    assert.deepEqual([st.huge, st.special, st.write, st.dirty], [true, false, true, true]);
  });

  test(`${v}: mprotect RO then RW of a whole THP keeps the PMD; ${atLeast(v, 6, 2) ? 'it is writable again at once (can_change_pmd_writable, 6.2+)' : 'the next write takes a fault that reuses it (no PMD upgrade before 6.2)'}`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 1, 1);
    k.mprotect(mm, 0, s, 512, 'r');
    let st = k.inspect(mm, s + 3);
    assert.deepEqual([st.huge, st.write, st.young, st.dirty], [true, false, true, true]);
    k.mprotect(mm, 0, s, 512, 'rw');
    st = k.inspect(mm, s + 3);
    assert.equal(st.huge, true);
    assert.equal(st.write, atLeast(v, 6, 2));
    const pf = faults(k);
    touch(k, mm, s, 3, 1, 1);
    assert.equal(faults(k) - pf, atLeast(v, 6, 2) ? 0 : 1);
    assert.equal(k.counters[KEv['fault.hugeWpReuse']], atLeast(v, 6, 2) ? 0 : 1);
    assert.equal(k.inspect(mm, s + 3).huge, true);
  });

  test(`${v}: mprotect of part of a THP splits the PMD; every PTE keeps A and W, and D ${atLeast(v, 6, 2) ? 'too (6.2+)' : 'only in the folio (5.19-6.1)'}`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 1, 1);
    k.mprotect(mm, 0, s + 10, 2, 'r');
    const inside = k.inspect(mm, s + 10), outside = k.inspect(mm, s + 100);
    assert.deepEqual([inside.huge, inside.write, inside.young, inside.exclusive], [false, false, true, true]);
    assert.deepEqual([outside.huge, outside.write, outside.young, outside.exclusive], [false, true, true, true]);
    assert.equal(outside.dirty, atLeast(v, 6, 2));
    assert.equal(outside.folioDirty, true);
    assert.equal(k.counters[KEv.splitHugePmd], 1);
  });

  test(`${v}: fork shares a THP: both PMDs read-only, not exclusive, the child's old; a parent write splits and copies one page`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 1, 1);
    const child = k.fork(mm, 'child', 0);
    const p = k.inspect(mm, s + 5), c = k.inspect(child, s + 5);
    assert.deepEqual([p.huge, p.write, p.exclusive, p.young], [true, false, false, true]);
    assert.deepEqual([c.huge, c.write, c.exclusive, c.young], [true, false, false, false]);
    touch(k, mm, s, 5, 1, 1);
    const p5 = k.inspect(mm, s + 5), p6 = k.inspect(mm, s + 6);
    assert.deepEqual([p5.huge, p5.write, p5.exclusive, p5.dirty], [false, true, true, true]);
    assert.deepEqual([p6.huge, p6.write, p6.exclusive], [false, false, false]);
    assert.equal(k.inspect(child, s + 5).huge, true);
    assert.equal(k.counters[KEv['fault.wpCopy']], 1);
  });

  test(`${v}: uffd-wp on a whole THP keeps the PMD; a write raises a wp fault whose 4 KiB unprotect splits it; ${atLeast(v, 6, 3) ? 'unprotect makes it writable at once (6.3+)' : 'unprotect leaves it read-only (<= 6.2)'}`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 1, 1);
    k.uffdRegister(mm, s, 512, ['wp']);
    k.uffdWriteprotect(mm, 0, s, 512, true);
    let st = k.inspect(mm, s + 1);
    assert.deepEqual([st.huge, st.uffdWp, st.write, st.dirty], [true, true, false, true]);
    k.uffdWriteprotect(mm, 0, s, 512, false);
    st = k.inspect(mm, s + 1);
    assert.deepEqual([st.huge, st.uffdWp], [true, false]);
    assert.equal(st.write, atLeast(v, 6, 3));
    k.uffdWriteprotect(mm, 0, s, 512, true);
    touch(k, mm, s, 9, 1, 1);
    assert.equal(k.counters[KEv['fault.uffdWp']], 1);
    const p9 = k.inspect(mm, s + 9), p10 = k.inspect(mm, s + 10);
    assert.deepEqual([p9.huge, p9.uffdWp], [false, false]);
    assert.deepEqual([p10.huge, p10.uffdWp, p10.write], [false, true, false]);
  });

  test(`${v}: MADV_DONTNEED of a whole THP zaps the PMD; of part, splits and zaps those PTEs`, () => {
    const { k, mm, s } = setup(v, 1024);
    touch(k, mm, s, 0, 1, 1);
    touch(k, mm, s, 512, 1, 1);
    k.madvise(mm, 0, s, 512, 'dontneed');
    assert.equal(k.inspect(mm, s + 3).present, false);
    k.madvise(mm, 0, s + 520, 4, 'dontneed');
    assert.equal(k.inspect(mm, s + 521).present, false);
    const kept = k.inspect(mm, s + 600);
    assert.deepEqual([kept.present, kept.huge, kept.write], [true, false, true]);
    assert.equal(k.counters[KEv.zapHugePmd], 1);
  });

  test(`${v}: MADV_FREE of a whole THP leaves the PMD writable, old and clean; of part, splits the folio first`, () => {
    const { k, mm, s } = setup(v, 1024);
    touch(k, mm, s, 0, 1, 1);
    touch(k, mm, s, 512, 512, 1);
    k.madvise(mm, 0, s, 512, 'free');
    const w = k.inspect(mm, s + 3);
    assert.deepEqual([w.huge, w.write, w.young, w.dirty, w.folioDirty], [true, true, false, false, false]);
    k.madvise(mm, 0, s + 520, 4, 'free');
    const p = k.inspect(mm, s + 521), q = k.inspect(mm, s + 600);
    assert.deepEqual([p.huge, p.write, p.young, p.dirty], [false, true, false, false]);
    assert.deepEqual([q.huge, q.write, q.young], [false, true, true]);
    assert.equal(k.counters[KEv.splitHugePage], 1);
  });
}

for (const v of VARIANTS) {
  test(`${v}: splitting a THP ${atLeast(v, 6, 12) ? 'maps its zero-filled pages to the shared zero page (6.12+)' : 'keeps every page (the zero-page remap is 6.12+)'}`, () => {
    const { k, mm, s } = setup(v, 512);
    touch(k, mm, s, 0, 1, 1);
    k.madvise(mm, 0, s + 100, 4, 'free'); // partial MADV_FREE: split_folio
    const written = k.inspect(mm, s), zero = k.inspect(mm, s + 5);
    assert.deepEqual([written.present, written.special, written.huge], [true, false, false]);
    assert.deepEqual([zero.present, zero.special, zero.write], atLeast(v, 6, 12) ? [true, true, false] : [true, false, true]);
    const frames = k.frames.used;
    touch(k, mm, s, 5, 1, 1); // a write to a remapped page copies from the zero page
    assert.equal(k.inspect(mm, s + 5).special, false);
    assert.equal(k.frames.used - frames, atLeast(v, 6, 12) ? 1 : 0);
  });
}

test('x86: a 2 MiB PMD leaf fills one 2 MiB TLB entry; INVLPG of any address in it drops it; flush of a PMD range is one INVLPG', () => {
  const { k, mm, s } = setup('linux-6.18', 512);
  touch(k, mm, s, 0, 1, 1);
  const walks = k.mmu.counters[HwEv.walk];
  touch(k, mm, s, 1, 511, 0);
  assert.equal(k.mmu.counters[HwEv.walk], walks, 'no walk for the other 511 pages');
  assert.ok(k.mmu.cached(0, s + 300) >= 0);
  k.mmu.invlpg(0, s + 300, mm.pcid);
  assert.equal(k.mmu.cached(0, s + 0), -1, 'INVLPG of one address dropped the whole 2 MiB entry');
  touch(k, mm, s, 0, 1, 0);
  const inv = k.mmu.counters[HwEv.invlpg];
  k.mprotect(mm, 0, s, 512, 'r');
  assert.equal(k.mmu.counters[HwEv.invlpg] - inv, 1, 'change_huge_pmd flushes at 2 MiB stride: one INVLPG');
  assert.equal(k.mmu.counters[HwEv.flushPcid], 0);
  const pf = faults(k);
  assert.equal(k.access(mm, 0, s + 2, 1), false, 'a write after mprotect RO is refused (no stale writable 2 MiB entry)');
  assert.equal(faults(k) - pf, 1);
  assert.equal(k.mmu.violations[0], 0);
});

test('every variant is covered by the THP rules above', () => {
  for (const v of listVariants()) assert.ok(VARIANTS.includes(v), `add ${v} to VARIANTS`);
});

/**
 * Property: random op sequences over two THP regions (one forked) on every variant keep every
 * kernel invariant (strict mode throws on a breach) and the rules that hold in every version.
 */
import fc from 'fast-check';
const R = 1024;
const range = fc.oneof(
  fc.constantFrom(0, 512).map((from) => ({ from, count: 512 })),
  fc.constant({ from: 0, count: R }),
  fc.record({ from: fc.nat(R - 1), count: fc.integer({ min: 1, max: 20 }) }).map(({ from, count }) => ({ from, count: Math.min(count, R - from) })),
);
const ThpOp = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('touch' as const), range, write: fc.boolean(), child: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mprotect' as const), range, prot: fc.constantFrom('none' as const, 'r' as const, 'rw' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('madvise' as const), range, advice: fc.constantFrom('dontneed' as const, 'free' as const, 'cold' as const, 'pageout' as const, 'hugepage' as const, 'nohugepage' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fork' as const) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('uffd-wp' as const), range, wp: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('reclaim' as const) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('migrate' as const), range }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('clear-refs' as const), mode: fc.constantFrom('soft-dirty' as const, 'young' as const) }) },
);
for (const v of VARIANTS) {
  test(`${v}: random THP op sequences keep every invariant and the version-independent rules`, () => {
    fc.assert(
      fc.property(fc.array(ThpOp, { minLength: 5, maxLength: 25 }), fc.boolean(), (ops, async) => {
        const { k, mm, s } = setup(v, R);
        k.uffdRegister(mm, s, R, ['wp'], async && atLeast(v, 6, 7) ? ['wp-async'] : []);
        const prot = new Array<'none' | 'r' | 'rw'>(R).fill('rw');
        let child: Mm | null = null;
        for (const o of ops) {
          if (o.op === 'touch') {
            const m = o.child && child ? child : mm;
            for (let p = o.range.from; p < o.range.from + o.range.count; p += 7) {
              const ok = k.access(m, 0, s + p, o.write ? 1 : 0);
              if (m === mm) assert.equal(ok, o.write ? prot[p] === 'rw' : prot[p] !== 'none');
              if (ok && o.write) {
                const st = k.inspect(m, s + p);
                assert.ok(st.present && st.write && st.dirty && !st.special, 'after a write: present, writable, dirty, not the zero page');
              }
            }
          } else if (o.op === 'mprotect') {
            k.mprotect(mm, 0, s + o.range.from, o.range.count, o.prot);
            prot.fill(o.prot, o.range.from, o.range.from + o.range.count);
          } else if (o.op === 'madvise') k.madvise(mm, 0, s + o.range.from, o.range.count, o.advice);
          else if (o.op === 'fork') {
            if (!child) child = k.fork(mm, 'child', 0);
          } else if (o.op === 'uffd-wp') k.uffdWriteprotect(mm, 0, s + o.range.from, o.range.count, o.wp);
          else if (o.op === 'reclaim') k.reclaim('all');
          else if (o.op === 'migrate') k.migrate(mm, 0, s + o.range.from, Math.min(o.range.count, 8));
          else k.clearRefs(mm, 0, o.mode);
          // rules of every version: a huge page is present; no writable page where the VMA forbids writes
          for (let p = 0; p < R; p += 37) {
            const st = k.inspect(mm, s + p);
            if (st.huge) assert.ok(st.present);
            if (prot[p] !== 'rw') assert.equal(st.write, false);
          }
        }
        assert.equal(k.mmu.violations[0], 0, 'no write went through a stale writable TLB entry');
      }),
      { numRuns: 25, seed: 17 },
    );
  });
}

test('x86: a #PF through a cached read-only 2 MiB entry drops it, so a write after a wp-fault reuse goes through (no flush needed)', () => {
  const { k, mm, s } = setup('linux-5.19', 512);
  touch(k, mm, s, 0, 1, 1);
  k.mprotect(mm, 0, s, 512, 'r');
  k.mprotect(mm, 0, s, 512, 'rw'); // 5.19: the PMD stays read-only
  touch(k, mm, s, 1, 1, 0); // caches the read-only 2 MiB entry
  assert.ok(k.mmu.cached(0, s + 1) >= 0);
  const pf = faults(k);
  touch(k, mm, s, 2, 1, 1); // #PF (RO entry) -> do_huge_pmd_wp_page reuse -> retry walks the writable PMD
  assert.equal(faults(k) - pf, 1);
  assert.equal(k.counters[KEv['fault.hugeWpReuse']], 1);
});

for (const v of VARIANTS) {
  test(`${v}: MADV_COLLAPSE ${atLeast(v, 6, 1) ? 'copies a PTE-mapped range into a THP, young and dirty whatever the PTEs had' : 'does not exist before 6.1 (EINVAL)'}`, () => {
    const { k, mm, vma, s } = setup(v, 512, { advise: false });
    touch(k, mm, s, 0, 4, 1);
    touch(k, mm, s, 9, 1, 0);
    k.madvise(mm, 0, s, 512, 'free'); // the written pages old and clean
    if (!atLeast(v, 6, 1)) {
      assert.throws(() => k.madvise(mm, 0, s, 512, 'collapse'), /6\.1/);
      return;
    }
    k.madvise(mm, 0, s, 512, 'collapse');
    for (const p of [0, 9, 300]) {
      const st = k.inspect(mm, s + p);
      assert.deepEqual([st.huge, st.present, st.write, st.young, st.dirty, st.exclusive, st.special], [true, true, true, true, true, true, false], `page ${p}`);
    }
    assert.equal(k.counters[KEv.collapseHugePage], 1);
    // a partly covered 2 MiB range is not collapsed; NOHUGEPAGE refuses; uffd-wp PTEs fail the scan
    const b = setup(v, 1024, { advise: false });
    touch(b.k, b.mm, b.s, 0, 1, 1);
    b.k.madvise(b.mm, 0, b.s, 600, 'collapse');
    assert.equal(b.k.inspect(b.mm, b.s + 520).huge, false);
    assert.equal(b.k.inspect(b.mm, b.s).huge, true);
    b.k.uffdRegister(b.mm, b.s + 512, 512, ['wp']);
    touch(b.k, b.mm, b.s, 512, 512, 1);
    b.k.uffdWriteprotect(b.mm, 0, b.s + 512, 1, true);
    assert.throws(() => b.k.madvise(b.mm, 0, b.s + 512, 512, 'collapse'), /UFFD_WP/);
    k.madvise(mm, 0, vma.start, 512, 'nohugepage');
    assert.throws(() => k.madvise(mm, 0, s, 512, 'collapse'), /NOHUGEPAGE/);
  });
}

test('mTHP (6.8+): a write fault maps a 64 KiB folio by 16 PTEs; reads, userfaultfd-armed VMAs, NOHUGEPAGE and non-none ranges fall back', () => {
  const mk = (o: { uffd?: boolean; nohuge?: boolean } = {}) => {
    const k = new Kernel({ variant: 'linux-6.18', cpus: 1, strict: true, thp: { enabled: 'madvise', mthp: { '64kB': 'always', '16kB': 'always' } } });
    const mm = k.process('main');
    const vma = k.mmap(mm, { region: 'h', pages: 64, kind: 'anon-private' });
    if (o.uffd) k.uffdRegister(mm, vma.start, 64, ['wp']);
    if (o.nohuge) k.madvise(mm, 0, vma.start, 64, 'nohugepage');
    return { k, mm, s: vma.start };
  };
  const { k, mm, s } = mk();
  assert.ok(k.access(mm, 0, s + 5, 1));
  for (const p of [0, 5, 15]) {
    const st = k.inspect(mm, s + p);
    assert.deepEqual([st.present, st.thp, st.huge, st.young, st.dirty, st.write, st.exclusive], [true, true, false, true, true, true, true], `page ${p}`);
  }
  assert.equal(k.inspect(mm, s + 16).present, false);
  const pf = faults(k);
  for (let p = 0; p < 16; p++) k.access(mm, 0, s + p, 1);
  assert.equal(faults(k) - pf, 0);
  // a read maps the 4 KiB zero page; a write next to it then fits only a 16 KiB folio
  k.access(mm, 0, s + 17, 0);
  assert.equal(k.inspect(mm, s + 17).special, true);
  k.access(mm, 0, s + 16, 1);
  assert.equal(k.inspect(mm, s + 16).thp, false, '16-19 hold the zero page at 17: not all none, order 0');
  k.access(mm, 0, s + 20, 1);
  assert.deepEqual([k.inspect(mm, s + 23).present, k.inspect(mm, s + 24).present], [true, false], 'a 16 KiB folio at 20-23');
  for (const o of [{ uffd: true }, { nohuge: true }]) {
    const b = mk(o);
    b.k.access(b.mm, 0, b.s, 1);
    assert.deepEqual([b.k.inspect(b.mm, b.s).thp, b.k.inspect(b.mm, b.s + 1).present], [false, false], JSON.stringify(o));
  }
  assert.throws(() => new Kernel({ variant: 'linux-6.3', thp: { enabled: 'madvise', mthp: { '64kB': 'always' } } }), /6\.8/);
});

test('PTE map chart: PMD-mapped and PTE-mapped large folio pages are told apart by their outline', async () => {
  const { pteMap, pteCells } = await import('../src/notebook/charts/pte-map');
  const { k, mm, s } = setup('linux-6.18', 1024);
  touch(k, mm, s, 0, 1, 1); // a PMD-mapped THP at 0-511
  touch(k, mm, s, 512, 1, 1);
  k.mprotect(mm, 0, s + 520, 1, 'r'); // split: 512-1023 PTE-mapped, still one large folio
  const rows = Array.from({ length: 1024 }, (_, p) => {
    const { pfn, ...st } = k.inspect(mm, s + p);
    void pfn;
    return { page: p, ...st };
  });
  const cells = pteCells(rows);
  assert.equal(cells[3].mapping, 'PMD-mapped THP');
  assert.equal(cells[600].mapping, 'PTE-mapped large folio');
  const chart = pteMap(rows);
  const spec = chart.toSpec() as unknown as { layer: Array<{ encoding: { stroke?: { scale: { domain: string[] } } } }> };
  assert.ok(spec.layer.some((l) => l.encoding.stroke?.scale.domain.includes('PTE-mapped large folio')));
  assert.match(chart.summary(), /PMD-mapped 512, PTE-mapped large folio 512/);
  // a map without huge pages keeps its plain layers
  const plain = pteMap(rows.map((r) => ({ ...r, huge: false, thp: false })));
  assert.ok(!(plain.toSpec() as unknown as { layer: Array<{ encoding: { stroke?: unknown } }> }).layer.some((l) => l.encoding.stroke));
});

test('linux-6.18: a write to a uffd-wp THP under WP_ASYNC splits the PMD and resolves on the PTE without a round trip; clear_refs young clears the PMD A bit without a flush', () => {
  const { k, mm, s } = setup('linux-6.18', 512);
  touch(k, mm, s, 0, 1, 1);
  k.uffdRegister(mm, s, 512, ['wp'], ['wp-async']);
  k.uffdWriteprotect(mm, 0, s, 512, true);
  touch(k, mm, s, 3, 1, 1);
  assert.equal(k.counters[KEv['fault.uffdWp']], 0);
  assert.equal(k.counters[KEv['fault.uffdWpAsync']], 1);
  const w = k.inspect(mm, s + 3), o = k.inspect(mm, s + 4);
  assert.deepEqual([w.huge, w.uffdWp, w.write], [false, false, true]);
  assert.deepEqual([o.huge, o.uffdWp, o.write], [false, true, false]);
  const b = setup('linux-6.18', 512);
  touch(b.k, b.mm, b.s, 0, 1, 1);
  const flushes = b.k.counters[KEv.tlbFlushRequest];
  b.k.clearRefs(b.mm, 0, 'young');
  const st = b.k.inspect(b.mm, b.s + 9);
  assert.deepEqual([st.huge, st.young, st.dirty], [true, false, true]);
  assert.equal(b.k.counters[KEv.tlbFlushRequest], flushes);
});

test('linux-6.18: MADV_FREE leaves a PTE-mapped large folio it covers only in part alone when another process maps it (folio_maybe_mapped_shared, 6.15+), and splits it when none does', () => {
  for (const forked of [true, false]) {
    const k = new Kernel({ variant: 'linux-6.18', cpus: 1, strict: true, thp: { enabled: 'madvise', mthp: { '64kB': 'always' } } });
    const mm = k.process('main');
    const vma = k.mmap(mm, { region: 'h', pages: 64, kind: 'anon-private' });
    const s = vma.start;
    for (let p = 0; p < 64; p++) k.access(mm, 0, s + p, 1);
    if (forked) k.fork(mm, 'child', 0);
    // page 0 goes, so the first folio's PTEs start at page 1: MADV_FREE covers it only in part
    k.madvise(mm, 0, s, 1, 'dontneed');
    k.madvise(mm, 0, s, 64, 'free');
    for (const p of [1, 8, 15]) {
      const st = k.inspect(mm, s + p);
      if (forked) assert.deepEqual([st.thp, st.young, st.dirty], [true, true, true], `shared: page ${p} neither split nor cleaned`);
      else assert.deepEqual([st.thp, st.young, st.dirty], [false, false, false], `exclusive: page ${p} split, then cleaned`);
    }
  }
});

test('splitting a THP splits only the PMDs that map it: after fork, zap and a new THP in the parent, a partial MADV_COLD there leaves the child\'s THP PMD-mapped (__split_huge_pmd with a folio)', () => {
  for (const variant of listVariants()) {
    const k = new Kernel({ variant, cpus: 1, strict: true, thp: { enabled: 'madvise' } });
    const mm = k.process('main');
    const vma = k.mmap(mm, { region: 'h', pages: 512, kind: 'anon-private' });
    k.madvise(mm, 0, vma.start, 512, 'hugepage');
    k.access(mm, 0, vma.start, 1);
    const child = k.fork(mm, 'child', 0);
    k.madvise(mm, 0, vma.start, 512, 'dontneed');
    k.access(mm, 0, vma.start, 1); // a new THP in the parent, at the child's THP's address
    assert.equal(k.inspect(mm, vma.start).huge, true, `${variant}: the parent's new THP`);
    k.madvise(mm, 0, vma.start, 1, 'cold');
    assert.equal(k.inspect(mm, vma.start).huge, false, `${variant}: the parent's THP is split`);
    assert.equal(k.inspect(child, vma.start).huge, true, `${variant}: the child's THP keeps its PMD`);
  }
});

test('linux-6.18: a partial MADV_COLD splits a written 64 KiB folio, and every page comes out with a dirty folio (split_folio unmaps through try_to_migrate_one, which dirties the folio; tails copy PG_dirty)', () => {
  const k = new Kernel({ variant: 'linux-6.18', cpus: 1, strict: true, thp: { enabled: 'madvise', mthp: { '64kB': 'always' } } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: 16, kind: 'anon-private' });
  for (let p = 0; p < 16; p++) k.access(mm, 0, vma.start + p, 1);
  assert.equal(page_state(k, mm, vma.start + 3).folioDirty, false, 'a freshly written anon folio is not PG_dirty');
  k.madvise(mm, 0, vma.start, 1, 'cold');
  for (const p of [0, 3, 15]) {
    const st = page_state(k, mm, vma.start + p);
    assert.deepEqual([st.thp, st.folioDirty], [false, true], `page ${p}`);
  }
});
