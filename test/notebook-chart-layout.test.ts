/**
 * Charts with many long variant names: every category axis caps its labels at the band width (so
 * neighbours cannot overlap) and wraps them into lines that fit, legends are wide enough for the
 * names, charts use the page width, and the dirty/writeback chart draws groups with identical
 * numbers once. Chart options are checked: a typo is an error naming the option.
 * (The pictures themselves were checked by eye in headless Chromium; see docs/charts.md.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { ResultsJson } from '../src/lab/types';
import { charts, chartFor } from '../src/notebook/charts/index';
import { categoryAxis, PAGE_WIDTH, wrapLabel } from '../src/notebook/charts/layout';
import { vegaLiteWarnings } from '../src/notebook/render';
import { makeRun } from './helpers/notebook-fixtures';

const LONG = [
  'linux-5.19 baseline (uffd unprotect faults)',
  'linux-6.2 can_change_pte_writable clean anon',
  'linux-6.18 try-change-writable',
  'rfc-2022-uffd-hints write-likely mkdirty',
  'proposal-dirty-on-mkwrite (Peter Xu)',
  'rfc-2022-relaxed-flush local-only promotion',
];

function longResults(): ResultsJson {
  return { ptlab: { version: '0.1.0' }, runs: LONG.flatMap((v) => [1, 2].map((s) => makeRun(v, s))) };
}

type Json = Record<string, unknown>;

/** Every (encoding channel, field definition, width of the view) in a spec, through layers and concats. */
function encodings(spec: Json, width = 0): { channel: string; def: Json; width: number }[] {
  const w = typeof spec.width === 'number' ? spec.width : width;
  const out: { channel: string; def: Json; width: number }[] = [];
  for (const [channel, def] of Object.entries((spec.encoding as Json | undefined) ?? {})) if (def && typeof def === 'object' && !Array.isArray(def)) out.push({ channel, def: def as Json, width: w });
  for (const k of ['layer', 'hconcat', 'vconcat', 'concat']) for (const s of (spec[k] as Json[] | undefined) ?? []) out.push(...encodings(s, w));
  if (spec.spec) out.push(...encodings(spec.spec as Json, w));
  return out;
}

test('wrapLabel: lines fit, words are kept whole where they fit, nothing is lost unless marked cut (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.stringMatching(/^[a-z0-9()._-]{1,14}$/), { minLength: 1, maxLength: 8 }), fc.integer({ min: 8, max: 30 }), (words, perLine) => {
      const label = words.join(' ');
      const { lines, cut } = wrapLabel(label, perLine);
      assert.ok(lines.length >= 1 && lines.length <= 4);
      for (const l of lines) assert.ok(l.length <= perLine, `"${l}" is longer than ${perLine}`);
      if (!cut) assert.equal(lines.join('').replace(/\s/g, ''), label.replace(/\s/g, ''));
      else assert.ok(lines.some((l) => l.endsWith('…')));
    }),
  );
  assert.deepEqual(wrapLabel('linux-6.2 can_change_pte_writable clean anon', 14).lines, ['linux-6.2 can_', 'change_pte_', 'writable clean', 'anon']);
  assert.deepEqual(wrapLabel('a. b-c d', 20).lines, ['a. b-c d']);
});

test('six long variant names: every category axis caps labels at its band and wraps them; legends fit the names', () => {
  const r = longResults();
  const all = {
    cycles: charts.cycleBreakdown(r),
    overhead: charts.overhead(r),
    faults: charts.faultsAndFlushes(r),
    dirty: charts.dirtyPages(r),
    metric: charts.metric(r, { metric: 'cycles.total' }),
    sweep: charts.sweep(r, { param: 'kernel' }),
  };
  for (const [name, chart] of Object.entries(all)) {
    const spec = chart.toSpec() as unknown as Json;
    assert.deepEqual(vegaLiteWarnings(spec as never), [], `${name}: vega-lite warnings`);
    let checked = 0;
    for (const { channel, def, width } of encodings(spec)) {
      const field = def.field;
      if (channel === 'x' && (def.type === 'nominal' || def.type === 'ordinal')) {
        const axis = def.axis as Json;
        assert.ok(axis, `${name}: x axis of ${String(field)} has settings`);
        const n = (def.sort as unknown[] | undefined)?.length ?? LONG.length;
        assert.ok(typeof axis.labelLimit === 'number' && axis.labelLimit <= width / n, `${name}: labelLimit ${String(axis.labelLimit)} caps labels at the band (${width}/${n})`);
        assert.equal(axis.labelOverlap, false, `${name}: labels are never dropped`);
        if (axis.labelAngle === 0) assert.match(String(axis.labelExpr), /^\(\{/, `${name}: long labels are wrapped through a lookup`);
        checked++;
      }
      if ((channel === 'color' || channel === 'strokeDash') && def.field === 'group') {
        const legend = def.legend as Json;
        assert.ok(legend && (legend.labelLimit as number) >= 8 * Math.max(...LONG.map((l) => l.length)), `${name}: the legend holds the longest name`);
        checked++;
      }
    }
    assert.ok(checked > 0 || name === 'dirty', `${name}: found the axis or legend to check`);
  }
  // wide enough to use the page
  assert.equal((all.cycles.toSpec() as unknown as Json).width, Math.min(PAGE_WIDTH, LONG.length * 120));
});

test('categoryAxis: narrow bands rotate and cut, and ask for a legend', () => {
  const many = Array.from({ length: 40 }, (_, i) => `variant number ${i} with a long name`);
  const { axis, needsLegend } = categoryAxis(many, PAGE_WIDTH / many.length);
  assert.ok((axis.labelAngle as number) < 0);
  assert.ok((axis.labelLimit as number) <= 150);
  assert.equal(needsLegend, true);
  assert.deepEqual(categoryAxis(['a', 'b'], 300), { axis: { labelAngle: 0, labelLimit: 296, labelOverlap: false }, needsLegend: false });
});

test('dirty/writeback chart: one panel per metric, groups with identical numbers drawn once and named together', () => {
  const r = longResults();
  const spec = charts.dirtyPages(r).toSpec() as unknown as { facet: { column: { field: string } }; spec: { encoding: Json }; data: { values: { group: string; panel: string }[] } };
  assert.equal(spec.facet.column.field, 'panel');
  assert.ok(!('strokeDash' in spec.spec.encoding), 'no dash legend (it drew two identical black symbols)');
  const groups = [...new Set(spec.data.values.map((v) => v.group))];
  // makeRun gives the same numbers to every variant without "hints" in its name, and to both with
  assert.equal(groups.length, 2);
  assert.ok(groups.some((g) => g.split(' = ').length === LONG.filter((l) => !l.includes('hints')).length));
  assert.deepEqual([...new Set(spec.data.values.map((v) => v.panel))], ['dirty pages', 'pages written back']);
});

test('chart options: a typo is an error naming it, the close name and the chart\'s options', () => {
  const r = longResults();
  const loose = chartFor as unknown as (r: unknown, n: string, o: unknown) => unknown;
  assert.throws(() => loose(r, 'cycles', { stpe: 1 }), /cycleBreakdown: unknown option "stpe" \(did you mean "step"\?\); options: step, top, per, title/);
  assert.throws(() => loose(r, 'dirty', { metric: ['dirtyPages'] }), /dirtyPages: unknown option "metric" \(did you mean "metrics"\?\)/);
  assert.throws(() => loose(r, 'cycles.total', { colour: 'variant' }), /metric chart: unknown option "colour" \(did you mean "color"\?\)/);
  assert.throws(() => charts.overhead(r, { baseline: LONG[0], units: 'absolute' } as never), /overhead: unknown option "units" \(did you mean "unit"\?\)/);
  assert.throws(() => loose(r, 'pte', 3), /pteMap: options must be an object/);
  // aliases take the options of their chart
  assert.match(chartFor(r, 'pte-map', { step: 3 }).summary(), /^Chart: PTE map/);
});
