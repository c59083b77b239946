import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { summarize } from '../src/lab/stats';
import type { InspectRow, RunResult } from '../src/lab/types';
import { charts, cycleBreakdownRows, overheadData, PTE_STATE_COLORS, pteState, sweepData, dirtyPagesRows, metricOf, stepOf, OTHER_EVENT } from '../src/notebook/charts/index';
import { counters, fixtureResults, makeRun, SEEDS, sweepResults } from './helpers/notebook-fixtures';

test('overhead: error bars are the 95% CI of per-seed paired differences', async () => {
  const r = fixtureResults();
  const { points, summaries, baseline } = overheadData(r);
  assert.equal(baseline, 'linux-6.18');
  // by hand: pair each hints run with the 6.18 run of the same seed
  const diffs = SEEDS.map((seed) => {
    const b = r.runs.find((x) => x.variant === 'linux-6.18' && x.seed === seed)!;
    const v = r.runs.find((x) => x.variant === 'rfc-2022-uffd-hints' && x.seed === seed)!;
    return (100 * (v.total.cycles.total - b.total.cycles.total)) / b.total.cycles.total;
  });
  assert.deepEqual(points.map((p) => p.seed), SEEDS);
  const expected = summarize(diffs);
  assert.equal(summaries.length, 1);
  assert.equal(summaries[0].n, 3);
  assert.ok(Math.abs(summaries[0].mean - expected.mean) < 1e-9);
  assert.ok(Math.abs(summaries[0].lo - expected.lo) < 1e-9);
  assert.ok(Math.abs(summaries[0].hi - expected.hi) < 1e-9);
  assert.ok(summaries[0].hi > summaries[0].lo, 'seeds differ, so the CI has width');

  const chart = charts.overhead(r);
  const spec = chart.toSpec() as { layer: Array<{ mark: { type: string }; encoding: Record<string, { field?: string }>; data: { values: unknown[] } }> };
  const eb = spec.layer.find((l) => l.mark.type === 'errorbar')!;
  assert.ok(eb, 'an errorbar layer');
  assert.equal(eb.encoding.y.field, 'lo');
  assert.equal(eb.encoding.y2.field, 'hi');
  assert.equal((eb.data.values[0] as { lo: number }).lo, summaries[0].lo);
  // drawn: vega-lite expands the errorbar layer (layer 1) into two tick rects and one rule per bar
  const svg = await chart.toSVG();
  const group = (name: string) => svg.match(new RegExp(`<g class="[^"]*role-mark ${name}"[^>]*>([\\s\\S]*?)</g>`))?.[1] ?? '';
  assert.equal((group('layer_1_layer_2_marks').match(/<line\b/g) ?? []).length, summaries.length, 'one error-bar rule per variant');
  assert.equal((group('layer_1_layer_0_marks').match(/<path/g) ?? []).length, summaries.length, 'one tick per end');
  assert.equal((group('layer_2_marks').match(/<path/g) ?? []).length, SEEDS.length, 'one dot per seed');
  // one dot per seed
  const dots = spec.layer.find((l) => l.mark.type === 'point')!;
  assert.equal(dots.data.values.length, SEEDS.length);
});

test('overhead: unknown baseline and unpaired seeds give clear errors', () => {
  const r = fixtureResults();
  assert.throws(() => charts.overhead(r, { baseline: 'linux-9.9' }), /baseline "linux-9\.9" is not among the variants.*linux-6\.18, rfc-2022-uffd-hints/);
  const unpaired = { runs: [...r.runs.filter((x) => x.variant === 'linux-6.18' && x.seed !== 2), ...r.runs.filter((x) => x.variant !== 'linux-6.18')] };
  assert.throws(() => charts.overhead(unpaired), /no "linux-6\.18" run with cpu skylake-sp, seed 2/);
  assert.throws(() => charts.overhead({ runs: r.runs.filter((x) => x.variant === 'linux-6.18') }), /only the baseline/);
});

test('cycle breakdown: top N events plus "other" add up to each group total (property)', () => {
  const eventArb = fc.dictionary(fc.constantFrom('tlbMiss', 'walk', 'dBitSet', 'aBitSet', 'fault.wpReuse', 'ipi', 'pageZero', 'changePte', 'writebackPage'), fc.integer({ min: 1, max: 1e6 }), { minKeys: 1 });
  fc.assert(
    fc.property(fc.array(eventArb, { minLength: 2, maxLength: 4 }), fc.integer({ min: 1, max: 5 }), (byEvents, top) => {
      const runs: RunResult[] = byEvents.map((byEvent, i) => {
        const run = makeRun(i % 2 ? 'b' : 'a', i);
        const total = Object.values(byEvent).reduce((s, v) => s + v, 0);
        return { ...run, total: { ...run.total, cycles: { total, byEvent } } };
      });
      const rows = cycleBreakdownRows(runs, { top });
      const named = new Set(rows.filter((r) => r.event !== OTHER_EVENT).map((r) => r.event));
      assert.ok(named.size <= top);
      for (const g of ['a', 'b']) {
        const mine = runs.filter((r) => r.variant === g);
        if (mine.length === 0) continue;
        const expected = mine.reduce((s, r) => s + r.total.cycles.total, 0) / mine.length;
        const got = rows.filter((r) => r.group === g).reduce((s, r) => s + r.cycles, 0);
        assert.ok(Math.abs(got - expected) < 1e-6 * expected, `${g}: ${got} vs ${expected}`);
      }
    }),
    { numRuns: 50 },
  );
});

test('cycle breakdown spec stacks bars per variant coloured by event, "other" last', () => {
  const spec = charts.cycleBreakdown(fixtureResults(), { top: 3 }).toSpec() as { encoding: Record<string, { field: string; sort?: string[] }> };
  assert.equal(spec.encoding.x.field, 'group');
  assert.equal(spec.encoding.color.field, 'event');
  const order = spec.encoding.color.sort!;
  assert.equal(order.length, 4);
  assert.equal(order[3], OTHER_EVENT);
});

test('PTE map: cell colours follow the inspect rows', async () => {
  const rows: InspectRow[] = [
    { page: 0, present: false, write: false, young: false, dirty: false, uffdWp: true, softDirty: false, exclusive: false, special: false, entry: 'marker' },
    { page: 1, present: true, write: false, young: true, dirty: false, uffdWp: true, softDirty: false, exclusive: true, special: false },
    { page: 2, present: true, write: true, young: true, dirty: true, uffdWp: false, softDirty: true, exclusive: true, special: false },
    { page: 3, present: true, write: true, young: false, dirty: false, uffdWp: false, softDirty: false, exclusive: true, special: false },
    { page: 4, present: true, write: false, young: false, dirty: false, uffdWp: false, softDirty: false, exclusive: false, special: true },
  ];
  const chart = charts.pteMap(rows, { columns: 4 });
  const spec = chart.toSpec() as { data: { values: Array<{ page: number; state: string; flags: string; col: number; row: number }> } };
  assert.deepEqual(spec.data.values.map((c) => c.state), ['not present', 'RO', 'RW', 'RW', 'RO']);
  assert.deepEqual(spec.data.values.map((c) => c.flags), ['u', 'Au', 'AD', '', '']);
  assert.deepEqual(spec.data.values.map((c) => [c.col, c.row]), [[0, 0], [1, 0], [2, 0], [3, 0], [0, 1]]);
  // and in the drawing: the rect marks carry the state colours, in page order
  const svg = await chart.toSVG();
  const rectGroup = svg.match(/<g class="mark-rect role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/);
  assert.ok(rectGroup, 'a rect mark group');
  const fills = [...rectGroup[1].matchAll(/fill="(#[0-9a-f]{6})"/gi)].map((m) => m[1].toLowerCase());
  assert.deepEqual(fills, rows.map((r) => PTE_STATE_COLORS[pteState(r)].toLowerCase()));
});

test('PTE map from results: one map per variant, from the inspect step', () => {
  const spec = charts.pteMap(fixtureResults()).toSpec() as { facet?: unknown; data: { values: Array<{ map: string }> } };
  assert.ok(spec.facet, 'faceted by variant');
  assert.deepEqual([...new Set(spec.data.values.map((v) => v.map))], ['linux-6.18', 'rfc-2022-uffd-hints']);
  const noInspect = { runs: fixtureResults().runs.map((r) => ({ ...r, steps: r.steps.filter((s) => !s.inspect) })) };
  assert.throws(() => charts.pteMap(noInspect), /has no inspect rows.*add \{"op": "inspect"/);
});

test('sweep: finds the swept parameter and summarises seeds per point', () => {
  const { param, numeric, points } = sweepData(sweepResults());
  assert.equal(param, 'pages');
  assert.ok(numeric);
  assert.equal(points.length, 6);
  for (const p of points) assert.equal(p.n, 2);
  assert.deepEqual([...new Set(points.map((p) => p.group))], ['linux-6.18', 'rfc-2022-uffd-hints']);
  assert.throws(() => sweepData({ runs: fixtureResults().runs.filter((r) => r.variant === 'linux-6.18') }), /differ only by seed/);
  assert.throws(() => sweepData(sweepResults(), { param: 'threads' }), /no parameter "threads"/);
});

test('dirty pages: uses series when present, falls back to one point per step', () => {
  const withSeries = dirtyPagesRows(fixtureResults());
  assert.equal(withSeries.perStep, false);
  // step 4's samples start after step 1's 1000 accesses... plus steps 2-3 (0 accesses)
  assert.ok(withSeries.points.some((p) => p.step === 4 && p.x === 1000 + 2000));
  const noSeries = { runs: fixtureResults().runs.map((r) => ({ ...r, steps: r.steps.map(({ series: _s, ...s }) => s) })) };
  const fallback = dirtyPagesRows(noSeries);
  assert.equal(fallback.perStep, true);
  const last = fallback.points.filter((p) => p.group === 'rfc-2022-uffd-hints' && p.metric === 'dirtyPages' && p.step === 4);
  assert.equal(last[0].value, 256);
});

test('metric names resolve against counters and cycles; unknown names list the valid ones', () => {
  const run = makeRun('linux-6.18', 1);
  const t = stepOf(run);
  assert.equal(metricOf(t, 'cycles'), run.total.cycles.total);
  assert.equal(metricOf(t, 'cycles.dBitSet'), run.total.cycles.byEvent.dBitSet);
  assert.equal(metricOf(t, 'faults.wpReuse'), run.total.counters.faults.byKind.wpReuse);
  assert.equal(metricOf(t, 'faults'), run.total.counters.faults.total);
  assert.equal(metricOf(t, 'dirtyPages'), run.total.counters.dirtyPages);
  assert.equal(metricOf({ ...t, counters: counters({ violations: { lostDirty: 2, mkwriteBypassed: 1 } }) }, 'violations'), 3);
  assert.throws(() => metricOf(t, 'dirtypages'), /unknown metric "dirtypages": use one of cycles, .*dirtyPages/);
  assert.throws(() => stepOf(run, 9), /step index 9 does not exist.*its steps: 0: mmap, 1: touch, 2: uffd-writeprotect, 3: inspect, 4: touch/);
});

test('bad input to charts names the problem', () => {
  assert.throws(() => charts.cycleBreakdown({} as never), /results must be a ResultsJson/);
  assert.throws(() => charts.cycleBreakdown({ runs: [] }), /hold no runs/);
  assert.throws(() => charts.cycleBreakdown(fixtureResults(), { top: 0 }), /top must be a whole number >= 1/);
});

test('metric chart over tidy rows: mean and CI per x and colour, from TidyRow[] or results alike', async () => {
  const { tidyRows } = await import('../src/lab/tidy');
  const { metricCells, metricChart } = await import('../src/notebook/charts/metric-chart');
  const { vegaLiteWarnings } = await import('../src/notebook/render');
  const sw = sweepResults();
  const rows = tidyRows(sw.runs);
  const cells = metricCells(rows, { metric: 'cycles.total', x: 'params.pages', color: 'variant' });
  assert.deepEqual(cells, metricCells(sw, { metric: 'cycles.total', x: 'params.pages', color: 'variant' }));
  assert.equal(cells.length, 6);
  const one = cells.find((c) => c.x === 1024 && c.color === 'linux-6.18')!;
  const expected = summarize(sw.runs.filter((r) => r.variant === 'linux-6.18' && r.params.pages === 1024).map((r) => r.total.cycles.total));
  assert.equal(one.mean, expected.mean);
  assert.equal(one.hi, expected.hi);
  assert.deepEqual(vegaLiteWarnings(metricChart(rows, { metric: 'faults.byKind.wpReuse', x: 'params.pages', color: 'variant' }).toSpec()), []);
  assert.throws(() => metricCells(rows, { metric: 'cycles.nope' }), /no rows for metric "cycles\.nope" at step -1; metrics there: cycles\.total/);
  assert.throws(() => metricCells(rows, { metric: 'cycles.total', x: 'params.threads' }), /no parameter "threads"/);
});

test('PTE map layout: row labels count pages per row even for sparse pages; big maps drop letters and shrink cells', async () => {
  const { pteGrid } = await import('../src/notebook/charts/pte-map');
  const row = (page: number): InspectRow => ({ page, present: true, write: page % 2 === 0, young: true, dirty: false, uffdWp: false, softDirty: false, exclusive: true, special: false });
  const sparse = charts.pteMap([row(0), row(40), row(100)], { columns: 32 }).toSpec() as unknown as { layer: Array<{ encoding: { y: { axis: { labelExpr: string } } } }> };
  assert.equal(sparse.layer[0].encoding.y.axis.labelExpr, 'datum.value * 32');
  const big = Array.from({ length: 4096 }, (_, i) => row(i));
  assert.equal(pteGrid(big).columns, 64);
  const spec = charts.pteMap(big).toSpec() as unknown as { width: number; height: number; layer: unknown[] };
  assert.equal(spec.layer.length, 1, 'no letter layer over 1024 pages');
  assert.ok(spec.height <= 64 * 8 && spec.width <= 64 * 8);
});

test('chartFor picks a chart by name, else reads the name as a tidy metric', async () => {
  const { chartFor } = await import('../src/notebook/charts/by-name');
  const r = fixtureResults();
  assert.match(chartFor(r, 'cycles').summary(), /^Chart: Cycles by event/);
  assert.match(chartFor(r, 'overhead', { baseline: 'linux-6.18' }).summary(), /^Chart: Overhead vs linux-6\.18/);
  assert.match(chartFor(r, 'pte').summary(), /^Chart: PTE map/);
  assert.match(chartFor(r, 'cycles.dBitSet').summary(), /^Chart: cycles\.dBitSet by variant/);
  assert.throws(() => chartFor(r, 'nonsense'), /chart "nonsense": not a chart \(cycles, overhead, dirty, faults, sweep, pte\) and no rows for metric "nonsense"/);
});
