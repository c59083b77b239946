/**
 * Host page size under nested paging (MmuGeometry hostPageKiB): on 4 KiB host pages a guest
 * 2 MiB leaf reaches the TLB as 4 KiB entries, one per page accessed ("page splintering"; measured
 * on the Zen 3 KVM guest, docs/fidelity.md). Rules on the MMU directly, then through the kernel
 * with the shipped profiles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { HwEv, HwViol } from '../src/x86/events';
import { Mmu } from '../src/x86/mmu';
import { PageTable } from '../src/x86/pagetable';
import * as pte from '../src/x86/pte';
import { TLB_SPLIT } from '../src/x86/tlb';
import { DEFAULT_GEOMETRY, type MmuGeometry } from '../src/x86/geometry';
import { Kernel } from '../src/kernel/kernel';
import { KERNEL_VIOLATIONS } from '../src/kernel/events';
import type { Mm } from '../src/kernel/mm';
import { getProfile } from '../src/cost/registry';
import { virtualize } from '../src/cost/virtualize';
import { extendProfile, ProfileError } from '../src/cost/profile';
import { loadSpecJson } from '../src/fidelity/spec-input';
import { simulateRun } from '../src/lab/simulate';

const HOST_4K: MmuGeometry = { ...DEFAULT_GEOMETRY, hostPageKiB: 4 };
const HOST_2M: MmuGeometry = { ...DEFAULT_GEOMETRY, hostPageKiB: 2048 };
const LEAF = pte.PAGE_SHARED | pte._PAGE_DIRTY; // young and dirty: no A/D re-walks

function machine(geometry: MmuGeometry, cpus = 1) {
  const mmu = new Mmu({ cpus, geometry });
  const pt = new PageTable(mmu.mem);
  for (let c = 0; c < cpus; c++) mmu.switchMm(c, pt.root, 1, false);
  mmu.resetCounters();
  return { mmu, pt, ev: (n: keyof typeof HwEv) => mmu.counters[HwEv[n]] };
}

test('4 KiB host pages: 512 reads of a guest 2 MiB page take 512 TLB misses (one walk each, to the PDE); 2 MiB host pages take 1', () => {
  for (const [g, misses] of [[HOST_4K, 512], [HOST_2M, 1], [DEFAULT_GEOMETRY, 1]] as const) {
    const { mmu, pt, ev } = machine(g);
    const pdeSlot = pt.setPmdLeaf(1024, pte.pfn_pte(8192, LEAF));
    for (let i = 0; i < 512; i++) {
      assert.equal(mmu.access(0, 1024 + i, 0), 0);
      assert.equal(mmu.lastPfn, 8192 + i, 'the frame within the leaf');
      assert.equal(mmu.lastSlot, pdeSlot, 'the leaf is the PDE');
    }
    assert.equal(ev('tlbMiss'), misses, `hostPageKiB ${g.hostPageKiB}`);
    assert.equal(ev('walk'), misses);
    // the first walk reads PML4E, PDPTE and PDE; the others the PDE only (the PDPTE cache holds its table)
    assert.equal(ev('walkMemRef'), 3 + (misses - 1));
    const f = mmu.cached(0, 1024 + 300);
    assert.ok(f >= 0);
    assert.equal((f & TLB_SPLIT) !== 0, misses === 512, 'a splintered entry is marked');
    assert.equal(mmu.l1h.occupancy(0), misses === 512 ? 0 : 1, 'no 2 MiB entry on 4 KiB host pages');
  }
});

test('4 KiB host pages: INVLPG of any address of the 2 MiB page drops all its 4 KiB entries (and no others): the next access walks again', () => {
  const { mmu, pt, ev } = machine(HOST_4K);
  pt.setPmdLeaf(1024, pte.pfn_pte(8192, LEAF));
  pt.setPmdLeaf(1536, pte.pfn_pte(16384, LEAF));
  for (let v = 2048; v < 2048 + 8; v++) pt.set(v, pte.pfn_pte(v + 7, LEAF));
  for (let i = 0; i < 300; i++) assert.equal(mmu.access(0, 1024 + i, i & 1), 0);
  for (const v of [1536, 1537, 2048, 2049]) assert.equal(mmu.access(0, v, 0), 0);
  const inv = ev('invlpg');
  mmu.invlpg(0, 1024 + 511);
  assert.equal(ev('invlpg') - inv, 1, 'priced as one INVLPG');
  for (let i = 0; i < 300; i++) assert.equal(mmu.cached(0, 1024 + i), -1, `page ${i} of the flushed 2 MiB page`);
  for (const v of [1536, 1537, 2048, 2049]) assert.ok(mmu.cached(0, v) >= 0, `${v} is not in it`);
  // a 4 KiB page's INVLPG drops that page only
  mmu.invlpg(0, 2048);
  assert.equal(mmu.cached(0, 2048), -1);
  assert.ok(mmu.cached(0, 2049) >= 0 && mmu.cached(0, 1536) >= 0);
  const walks = ev('walk');
  assert.equal(mmu.access(0, 1024 + 17, 1), 0);
  assert.equal(ev('walk') - walks, 1, 'the access after the flush walks');
  assert.equal(mmu.violations[HwViol.staleWritableTlb], 0);
});

test('4 KiB host pages: writes through splintered entries are checked against the PDE: current ones pass, a missed flush after the PDE changed is a violation', () => {
  const { mmu, pt } = machine(HOST_4K);
  const slot = pt.setPmdLeaf(1024, pte.pfn_pte(8192, LEAF));
  for (let pass = 0; pass < 3; pass++) for (let i = 0; i < 512; i += 5) assert.equal(mmu.access(0, 1024 + i, 1), 0);
  assert.ok(mmu.counters[HwEv.tlbL1Hit] + mmu.counters[HwEv.stlbHit] > 0, 'the later passes hit the TLB');
  assert.equal(mmu.violations[HwViol.staleWritableTlb], 0, 'no false violation for a frame within the leaf');
  // the PDE moves to other frames without a flush: a write through a cached entry is stale
  mmu.mem.set(slot, pte.pfn_pte(4096, LEAF) | pte._PAGE_PSE);
  assert.equal(mmu.access(0, 1024 + 5, 1), 0);
  assert.equal(mmu.violations[HwViol.staleWritableTlb], 1);
  // ... or becomes read-only
  mmu.mem.set(slot, pte.pfn_pte(8192, pte.PAGE_READONLY | pte._PAGE_DIRTY) | pte._PAGE_PSE);
  assert.equal(mmu.access(0, 1024 + 10, 1), 0);
  assert.equal(mmu.violations[HwViol.staleWritableTlb], 2);
  // ... or is split into a PTE table (the PDE now points to a table whose id is not the frame)
  mmu.mem.set(slot, pte.pfn_pte(mmu.mem.alloc(), pte.PAGE_SHARED));
  assert.equal(mmu.access(0, 1024 + 15, 1), 0);
  assert.equal(mmu.violations[HwViol.staleWritableTlb], 3);
});

test('property: on 4 KiB host pages, accesses to a guest 2 MiB page hit and miss the TLB exactly as the same accesses to a 2 MiB range of 4 KiB PTEs over the same frames', () => {
  const op = fc.record({ page: fc.integer({ min: 0, max: 511 }), write: fc.integer({ min: 0, max: 1 }), flush: fc.integer({ min: 0, max: 60 }), cpu: fc.integer({ min: 0, max: 1 }) });
  fc.assert(
    fc.property(fc.array(op, { minLength: 100, maxLength: 600 }), (ops) => {
      const run = (huge: boolean) => {
        const { mmu, pt } = machine(HOST_4K, 2);
        if (huge) pt.setPmdLeaf(1024, pte.pfn_pte(8192, LEAF));
        else for (let i = 0; i < 512; i++) pt.set(1024 + i, pte.pfn_pte(8192 + i, LEAF));
        const pfns: number[] = [];
        for (const o of ops) {
          if (o.flush === 0) mmu.flushAll(o.cpu);
          assert.equal(mmu.access(o.cpu, 1024 + o.page, o.write), 0);
          pfns.push(mmu.lastPfn);
        }
        assert.equal(mmu.violations[HwViol.staleWritableTlb], 0);
        const c = (n: keyof typeof HwEv) => mmu.counters[HwEv[n]];
        return { pfns, l1: c('tlbL1Hit'), stlb: c('stlbHit'), miss: c('tlbMiss'), walk: c('walk') };
      };
      assert.deepEqual(run(true), run(false));
    }),
    { numRuns: 30, seed: 20261207 },
  );
});

// ---- through the kernel, with the shipped profiles ----

const GUEST_4K = getProfile('zen3-kvm-guest');
const GUEST_2M = virtualize(getProfile('zen3'));

function kernel(g: MmuGeometry) {
  const k = new Kernel({ variant: 'linux-6.18', cpus: 2, strict: true, geometry: g, thp: { enabled: 'madvise', useZeroPage: true } });
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: 1024, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, 1024, 'hugepage');
  return { k, mm, s: vma.start };
}
const hw = (k: Kernel, n: keyof typeof HwEv) => k.mmu.counters[HwEv[n]];
const noViolations = (k: Kernel) => {
  assert.equal(k.mmu.violations[HwViol.staleWritableTlb], 0, 'no stale-TLB violation');
  KERNEL_VIOLATIONS.forEach((v, i) => assert.equal(k.violations[i], 0, v));
};
const touchAll = (k: Kernel, mm: Mm, s: number, n: number, write: number) => {
  for (let i = 0; i < n; i++) assert.ok(k.access(mm, 0, s + i, write));
};

test('profiles: zen3-kvm-guest states 4 KiB host pages (measured), virtualize() 2 MiB (estimate), bare metal none; a bare-metal profile stating one is refused', () => {
  assert.equal(GUEST_4K.tlb.hostPageKiB, 4);
  assert.equal(GUEST_4K.definition.tlb.hostPageKiB?.kind, 'measured');
  assert.match(GUEST_4K.definition.tlb.hostPageKiB!.source, /tlb-coalesce\.c/);
  assert.equal(GUEST_2M.tlb.hostPageKiB, 2048);
  assert.equal(GUEST_2M.definition.tlb.hostPageKiB?.kind, 'estimate');
  assert.equal(getProfile('zen3').tlb.hostPageKiB, undefined);
  const bad = { tlb: { hostPageKiB: { value: 4, source: 'measured: x', kind: 'measured' as const } } };
  assert.throws(() => extendProfile(getProfile('zen3'), bad, 'zen3-x'), (e: Error) => e instanceof ProfileError && /tlb\.hostPageKiB: only a virtualized profile/.test(e.message));
  assert.throws(
    () => extendProfile(GUEST_2M, { tlb: { hostPageKiB: { value: 64, source: 'measured: x', kind: 'measured' } } }, 'g'),
    /tlb\.hostPageKiB\.value: must be 4 .* or 2048/,
  );
  assert.equal(extendProfile(GUEST_2M, bad, 'g4').tlb.hostPageKiB, 4);
});

test('kernel, zen3-kvm-guest vs virtualized zen3: 512 reads of a THP take 512 walks vs 1; faults and PTE states are the same', () => {
  const states: unknown[] = [];
  for (const [p, walks] of [[GUEST_4K, 512], [GUEST_2M, 1]] as const) {
    const { k, mm, s } = kernel(p.tlb);
    touchAll(k, mm, s, 1, 1);
    assert.equal(k.inspect(mm, s).huge, true);
    k.mmu.flushAll(0);
    const w0 = hw(k, 'walk'), m0 = hw(k, 'tlbMiss'), f0 = hw(k, 'pageFault');
    touchAll(k, mm, s, 512, 0);
    assert.equal(hw(k, 'tlbMiss') - m0, walks, p.name);
    assert.equal(hw(k, 'walk') - w0, walks, p.name);
    assert.equal(hw(k, 'pageFault') - f0, 0);
    touchAll(k, mm, s + 512, 512, 0); // the huge zero page
    touchAll(k, mm, s + 512, 3, 1);
    states.push({ faults: hw(k, 'pageFault'), kernel: Array.from(k.counters), pages: [0, 300, 512, 513, 900].map((i) => k.inspect(mm, s + i)) });
    noViolations(k);
  }
  assert.deepEqual(states[0], states[1]);
});

test('kernel on 4 KiB host pages: mprotect, a split and MADV_DONTNEED of a THP leave no stale 4 KiB entry; the next access walks again', () => {
  const { k, mm, s } = kernel(GUEST_4K.tlb);
  touchAll(k, mm, s, 512, 1);
  assert.ok(k.mmu.cached(0, s + 400) >= 0);
  // mprotect of the whole THP: change_huge_pmd, one INVLPG at 2 MiB stride drops all 512
  const inv = hw(k, 'invlpg');
  k.mprotect(mm, 0, s, 512, 'r');
  assert.equal(hw(k, 'invlpg') - inv, 1);
  for (const i of [0, 1, 255, 400, 511]) assert.equal(k.mmu.cached(0, s + i), -1, `page ${i}`);
  let pf = hw(k, 'pageFault');
  assert.equal(k.access(mm, 0, s + 2, 1), false, 'a write after mprotect RO is refused (no stale writable entry)');
  assert.equal(hw(k, 'pageFault') - pf, 1);
  k.mprotect(mm, 0, s, 512, 'rw');
  touchAll(k, mm, s, 512, 1);
  // a partial mprotect splits the PMD: the following accesses walk the new PTEs
  k.mprotect(mm, 0, s, 256, 'r');
  assert.equal(k.inspect(mm, s + 300).huge, false);
  for (const i of [0, 100, 300, 511]) assert.equal(k.mmu.cached(0, s + i), -1, `page ${i} after the split`);
  let w = hw(k, 'walk');
  assert.ok(k.access(mm, 0, s + 300, 1));
  assert.ok(hw(k, 'walk') - w >= 1, 'walks again');
  // MADV_DONTNEED of a THP: zapped and flushed; the next access faults in a new page
  const b = s + 512;
  touchAll(k, mm, b, 512, 1);
  k.madvise(mm, 0, b, 512, 'dontneed');
  for (const i of [0, 7, 511]) assert.equal(k.mmu.cached(0, b + i), -1);
  pf = hw(k, 'pageFault');
  w = hw(k, 'walk');
  assert.ok(k.access(mm, 0, b + 7, 0));
  assert.equal(hw(k, 'pageFault') - pf, 1);
  assert.ok(hw(k, 'walk') - w >= 1);
  noViolations(k);
});

test('every THP fidelity scenario simulated on zen3-kvm-guest (4 KiB host pages) and on virtualized zen3 (2 MiB) has the same faults, flushes and PTE states; only TLB hits and walks may differ', () => {
  const dir = join(__dirname, '../../fidelity/scenarios');
  const files = readdirSync(dir).filter((f) => /^m?thp-.*\.json$/.test(f)).sort();
  assert.ok(files.length >= 30, 'the THP scenarios are found');
  let walksDiffer = 0;
  for (const f of files) {
    const raw = JSON.parse(readFileSync(join(dir, f), 'utf8'));
    const run = (machine: Record<string, unknown>) => {
      const spec = { ...raw, machine: { ...raw.machine, ...machine } };
      const r = simulateRun(loadSpecJson(spec, f, dir).plan);
      const walks = r.total.counters.walks;
      // everything a step counts but the TLB's hits, walks and the priced event tallies
      const steps = r.steps.map((s) => {
        const { tlb: _tlb, walks: _walks, walkMemRefs: _refs, events: _events, ...counters } = s.counters;
        return { op: s.op, counters, inspect: s.inspect, scan: s.scan };
      });
      return { steps, walks };
    };
    const a = run({ cpu: 'zen3-kvm-guest' }), b = run({ cpu: 'zen3', virtualized: true });
    assert.deepEqual(a.steps, b.steps, f);
    if (a.walks !== b.walks) walksDiffer++;
  }
  assert.ok(walksDiffer > 0, 'the host page size shows in the walks of some scenario');
});
