/**
 * The per-PTE event trace (src/kernel/trace.ts, `trace: { pages }` in a spec):
 *  - rules: the first write after uffd unprotect is a #PF then do_wp_page's PTE write under
 *    linux-5.19, and a walker A/D update without a fault under linux-6.18 (after MADV_FREE cleaned
 *    the PTE); MADV_FREE's PTE write and the flush that drops the translation are listed;
 *  - property over random operation sequences: tracing changes no number of the run, the trace
 *    of each page is continuous (every event starts from the PTE the previous one left) and ends
 *    at the PTE an inspect step reads;
 *  - bad trace requests are refused with the field and the fix.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { runSync } from '../src/lab/runner';
import type { ExperimentSpec, Step } from '../src/lab/spec';
import { validateSpec } from '../src/lab/validate';
import type { RunResult } from '../src/lab/types';
import { describePte } from '../src/kernel/trace';
import { traceTable } from '../src/notebook/trace-table';

function spec(kernel: string | string[], steps: Step[], extra: Partial<ExperimentSpec> = {}): ExperimentSpec {
  return { name: 'trace', machine: { cpu: 'skylake-sp', cpus: 2 }, kernel, steps, ...extra } as ExperimentSpec;
}

const UNPROTECT_THEN_WRITE: Step[] = [
  { op: 'mmap', region: 'heap', size: '64KiB' },
  { op: 'touch', region: 'heap', access: 'write' },
  { op: 'madvise', region: 'heap', advice: 'free', trace: { pages: [3] } },
  { op: 'uffd-register', region: 'heap', modes: ['wp'] },
  { op: 'uffd-writeprotect', region: 'heap', wp: true },
  { op: 'uffd-writeprotect', region: 'heap', wp: false },
  { op: 'touch', region: 'heap', access: 'write', label: 'first writes', trace: { pages: [3] } },
];

function events(run: RunResult, step: number): string[] {
  return (run.steps[step].pteTrace ?? []).map((e) => `${e.kind}:${e.event.replace(/ \((read|write)\)$/, '')}`);
}

test('trace: first write after uffd unprotect — #PF and do_wp_page on 5.19, walker A/D update on 6.18', () => {
  const rs = runSync(spec(['linux-5.19', 'linux-6.18'], UNPROTECT_THEN_WRITE));
  const [v519, v618] = rs.runs;
  // MADV_FREE cleans the PTE (A and D cleared) and the flush drops the cached translation
  const free = v519.steps[2].pteTrace!;
  const set = free.find((e) => e.kind === 'pte')!;
  assert.match(set.fn, /do_madvise/);
  assert.match(set.before, / A D /);
  assert.doesNotMatch(set.after, / A | D /);
  assert.ok(free.some((e) => e.kind === 'tlb' && /flush_tlb_mm_range/.test(e.fn)), 'the shootdown that drops page 3 is listed');
  // steps without a trace carry none
  assert.equal(v519.steps[4].pteTrace, undefined);

  const e519 = events(v519, 6);
  const pf = e519.indexOf('hardware:pageFault');
  const wp = v519.steps[6].pteTrace!.findIndex((e) => e.kind === 'pte');
  assert.ok(pf >= 0 && wp > pf, `5.19: a #PF, then the PTE write (${e519.join(', ')})`);
  const write = v519.steps[6].pteTrace![wp];
  assert.match(write.fn, /handle_mm_fault › do_wp_page/);
  assert.match(write.before, / RO /);
  assert.match(write.after, / RW .*A D/);
  assert.ok(e519.includes('kernel:fault.wpReuse'));

  const e618 = events(v618, 6);
  assert.ok(!e618.includes('hardware:pageFault'), `6.18: no fault (${e618.join(', ')})`);
  const ad = v618.steps[6].pteTrace!.find((e) => e.event === 'adBitSet')!;
  assert.ok(ad, '6.18: the walker sets A and D');
  assert.match(ad.before, / RW /);
  assert.doesNotMatch(ad.before, / A | D /);
  assert.match(ad.after, / A D /);

  // the table: one row per event, labelled steps, both variants
  const t = traceTable(rs);
  assert.equal(t.rows.length, rs.runs.reduce((n, r) => n + r.steps.reduce((m, s) => m + (s.pteTrace?.length ?? 0), 0), 0));
  assert.ok(t.rows.some((r) => r.step === '6: first writes' && r.variant === 'linux-6.18'));
  assert.match(t.toText(), /do_wp_page/);
});

test('trace: bad requests are refused with the field and the fix', () => {
  const bad = spec('linux-6.18', [{ op: 'mmap', region: 'heap', size: '64KiB' }, { op: 'touch', region: 'heap', access: 'write', trace: { pages: [99] } }]);
  assert.throws(() => runSync(bad), /steps\[1\]\.trace\.pages: page 99 is outside region "heap" \(16 pages\)/);
  const many = validateSpec(spec('linux-6.18', [{ op: 'mmap', region: 'heap', size: '64KiB' }], { trace: { pages: Array.from({ length: 65 }, (_, i) => i) } }));
  assert.equal(many.ok, false);
  assert.ok(many.issues.some((i) => i.path.startsWith('trace.pages')), JSON.stringify(many.issues));
  const typo = validateSpec(spec('linux-6.18', [{ op: 'mmap', region: 'heap', size: '64KiB' }], { trace: { page: [1] } as never }));
  assert.ok(typo.issues.some((i) => /did you mean "pages"/.test(i.message)), JSON.stringify(typo.issues));
});

// ---- property: random operations on an 8-page region ----

const PAGES = 8;
const span = fc.record({ from: fc.nat(PAGES - 1), count: fc.integer({ min: 1, max: PAGES }) }).map(({ from, count }) => ({ from, count: Math.min(count, PAGES - from) }));
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ access: fc.constantFrom('read' as const, 'write' as const), pages: span }).map(({ access, pages }) => ({ op: 'touch' as const, region: 'heap', access, pages })) },
  { weight: 2, arbitrary: fc.record({ prot: fc.constantFrom('none' as const, 'r' as const, 'rw' as const), pages: span }).map(({ prot, pages }) => ({ op: 'mprotect' as const, region: 'heap', prot, pages })) },
  { weight: 2, arbitrary: fc.record({ advice: fc.constantFrom('dontneed' as const, 'free' as const, 'cold' as const, 'pageout' as const), pages: span }).map(({ advice, pages }) => ({ op: 'madvise' as const, region: 'heap', advice, pages })) },
  { weight: 2, arbitrary: fc.record({ wp: fc.boolean(), pages: span }).map(({ wp, pages }) => ({ op: 'uffd-writeprotect' as const, region: 'heap', wp, pages })) },
  { weight: 1, arbitrary: fc.constant({ op: 'reclaim' as const, pages: 'all' as const }) },
  { weight: 1, arbitrary: span.map((pages) => ({ op: 'migrate' as const, region: 'heap', pages })) },
  { weight: 1, arbitrary: fc.constantFrom('soft-dirty' as const, 'young' as const).map((mode) => ({ op: 'clear-refs' as const, mode })) },
);

function strip(r: RunResult): RunResult {
  return JSON.parse(JSON.stringify(r, (k, v) => (k === 'pteTrace' ? undefined : v))) as RunResult;
}

test('trace (property): changes no number, is continuous per page, and ends at the inspected PTE', () => {
  fc.assert(
    fc.property(fc.constantFrom('linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints'), fc.array(stepArb, { minLength: 1, maxLength: 12 }), fc.uniqueArray(fc.nat(PAGES - 1), { minLength: 1, maxLength: 3 }), (kernel, ops, pages) => {
      const steps: Step[] = [
        { op: 'mmap', region: 'heap', size: PAGES * 4096 },
        { op: 'uffd-register', region: 'heap', modes: ['wp'] },
        ...ops,
        { op: 'inspect', region: 'heap', pages },
      ];
      const plain = runSync(spec(kernel, steps)).runs[0];
      const traced = runSync(spec(kernel, steps, { trace: { pages } })).runs[0];
      assert.deepEqual(strip(traced), plain, 'tracing changed the run');
      const last = new Map<number, string>();
      for (const s of traced.steps) {
        for (const e of s.pteTrace ?? []) {
          const prev = last.get(e.page) ?? 'none';
          assert.equal(e.before, prev, `page ${e.page}, step ${s.index} (${s.op}), event ${e.seq} ${e.kind} ${e.event} by ${e.fn}: starts from ${e.before}, the trace left ${prev}`);
          last.set(e.page, e.after);
        }
      }
      const inspect = traced.steps[traced.steps.length - 1].inspect!;
      for (const row of inspect) {
        const final = last.get(row.page) ?? 'none';
        assert.equal(final === 'none' || final.startsWith('swp') || final.startsWith('marker') || final === 'migration entry', !row.present, `page ${row.page}: trace ends at ${final}`);
        if (row.present) {
          assert.equal(/ RW /.test(final), row.write, `page ${row.page} write bit: ${final}`);
          assert.equal(/ A( |$)/.test(final), row.young, `page ${row.page} A: ${final}`);
        }
      }
    }),
    { numRuns: 60 },
  );
  assert.equal(describePte(0n), 'none');
});
