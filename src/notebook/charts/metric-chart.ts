/**
 * A general chart over tidy rows (src/lab/tidy.ts: one row per run x step x metric): one metric,
 * mean over seeds and repeats with a 95% CI (summarize()), by any dimension of the row — variant,
 * cpu, op, step or a swept parameter (`params.<name>`). For questions the fixed builders do not
 * ask: `charts.metric(results, { metric: 'cycles.dBitSet', x: 'params.size', color: 'variant' })`.
 */
import { tidyRows } from '../../lab/tidy';
import type { TidyRow } from '../../lab/types';
import { summarize } from '../../lab/stats';
import { Chart } from '../chart';
import { bandWidth, categoryAxis, categoryWidth, groupLegend, PAGE_WIDTH as PAGE_WIDTH_LINE } from './layout';
import { checkOptions, type OptionKeys } from './options';
import { checkPer, perDivisor, perText, type Per } from '../../lab/per';
import { runsOf, shortNumber, type ResultsInput, type StepSelector } from './runs';

export type TidyKey = 'variant' | 'cpu' | 'op' | 'step' | 'name' | `params.${string}`;

export interface MetricChartOptions {
  /** a tidy metric name: cycles.total, cycles.<event>, faults.total, faults.byKind.<kind>, dirtyPages, ... */
  metric: string;
  /** x axis (default 'variant') */
  x?: TidyKey;
  /** colour (default: none) */
  color?: TidyKey;
  /** the step: index, label, {op}, or 'total' / -1 = the run total (default) */
  step?: StepSelector;
  /** the metric per run (default), per page the step selects, per access or per fault (needs results, not tidy rows) */
  per?: Per;
  /** bars (default for a nominal x) or lines (default for a numeric x) */
  mark?: 'bar' | 'line';
  title?: string;
}

const KEYS: OptionKeys<MetricChartOptions> = { metric: true, x: true, color: true, step: true, per: true, mark: true, title: true };

/** The step index a selector names among tidy rows (labels and ops come from the rows). */
function tidyStep(rows: readonly TidyRow[], sel: StepSelector | undefined): number {
  if (sel === undefined || sel === 'total') return -1;
  if (typeof sel === 'number') return sel;
  const hit = rows.find((r) => (typeof sel === 'string' ? r.label === sel : r.op === sel.op && r.step >= 0));
  if (!hit) {
    const steps = [...new Map(rows.filter((r) => r.step >= 0).map((r) => [r.step, `${r.step}: ${r.label ?? r.op}`])).values()];
    throw new RangeError(`metric chart: no step ${typeof sel === 'string' ? `labelled "${sel}"` : `with op "${sel.op}"`}; steps: ${steps.join(', ')}`);
  }
  return hit.step;
}

function isTidy(x: unknown): x is readonly TidyRow[] {
  return Array.isArray(x) && x.length > 0 && typeof x[0] === 'object' && x[0] !== null && 'metric' in x[0] && 'value' in x[0];
}

function keyOf(row: TidyRow, key: TidyKey): string | number | boolean {
  if (key.startsWith('params.')) {
    const v = row.params?.[key.slice(7)];
    if (v === undefined) throw new Error(`metric chart: run ${row.run} has no parameter "${key.slice(7)}"; use a key of params (${Object.keys(row.params ?? {}).join(', ') || 'none'})`);
    return v;
  }
  return row[key as 'variant' | 'cpu' | 'op' | 'step' | 'name'];
}

export interface MetricCell {
  x: string | number | boolean;
  color: string | number | boolean | null;
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

export function metricCells(input: readonly TidyRow[] | ResultsInput, opts: MetricChartOptions): MetricCell[] {
  checkOptions('metric chart', opts, KEYS);
  const per = checkPer('metric chart', opts.per) ?? 'run';
  const runs = isTidy(input) ? undefined : runsOf(input as ResultsInput);
  if (per !== 'run' && !runs) throw new TypeError(`metric chart: per "${per}" needs the results (a ResultSet), not tidy rows: their steps' pages, accesses and faults`);
  const rows = runs ? tidyRows(runs) : (input as readonly TidyRow[]);
  const step = tidyStep(rows, opts.step);
  const byId = new Map((runs ?? []).map((r) => [r.id, r]));
  const picked = rows
    .filter((r) => r.metric === opts.metric && r.step === step)
    .map((r) => (per === 'run' ? r : { ...r, value: r.value / perDivisor(byId.get(r.run)!, r.step, per) }));
  if (picked.length === 0) {
    const names = [...new Set(rows.filter((r) => r.step === step).map((r) => r.metric))];
    throw new Error(`metric chart: no rows for metric "${opts.metric}" at step ${step}; metrics there: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', ...' : ''}`);
  }
  const xKey = opts.x ?? 'variant';
  const cells = new Map<string, { x: string | number | boolean; color: string | number | boolean | null; values: number[] }>();
  for (const r of picked) {
    const x = keyOf(r, xKey);
    const color = opts.color ? keyOf(r, opts.color) : null;
    const k = JSON.stringify([x, color]);
    if (!cells.has(k)) cells.set(k, { x, color, values: [] });
    cells.get(k)!.values.push(r.value);
  }
  return [...cells.values()].map((c) => {
    const s = summarize(c.values);
    return { x: c.x, color: c.color, n: s.n, mean: s.mean, lo: s.lo, hi: s.hi };
  });
}

export function metricChart(input: readonly TidyRow[] | ResultsInput, opts: MetricChartOptions): Chart {
  const cells = metricCells(input, opts);
  const numeric = cells.every((c) => typeof c.x === 'number');
  const mark = opts.mark ?? (numeric ? 'line' : 'bar');
  const xTitle = opts.x ?? 'variant';
  const xOrder = [...new Set(cells.map((c) => String(c.x)))];
  const width = numeric && mark === 'line' ? PAGE_WIDTH_LINE : categoryWidth(xOrder.length);
  const x = numeric && mark === 'line' ? { field: 'x', type: 'quantitative' as const, title: xTitle, scale: { zero: false } } : { field: 'x', type: 'nominal' as const, title: xTitle, sort: xOrder, axis: categoryAxis(xOrder, bandWidth(xOrder.length, width)).axis };
  const colors = [...new Set(cells.map((c) => String(c.color)))];
  const color = opts.color ? { color: { field: 'color', type: 'nominal' as const, title: opts.color, legend: groupLegend(colors) } } : {};
  const offset = opts.color && mark === 'bar' ? { xOffset: { field: 'color', type: 'nominal' as const } } : {};
  const yTitle = `${perText(opts.metric, opts.per)} (mean over seeds)`;
  const main = Chart.from({
    data: { values: cells },
    mark: mark === 'line' ? { type: 'line', point: true, tooltip: true } : { type: 'bar', opacity: 0.8, tooltip: true },
    encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle }, ...color, ...offset },
  });
  const bars = Chart.from({
    data: { values: cells },
    mark: { type: 'errorbar', ticks: { size: 8 }, color: 'black', thickness: 1.5 },
    encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' }, ...offset },
  });
  const summary = cells.map((c) => `${c.x}${c.color !== null ? ` · ${c.color}` : ''}: ${shortNumber(c.mean)}${c.n > 1 ? ` ± ${shortNumber(c.hi - c.mean)}` : ''} (n=${c.n})`).join('\n');
  return Chart.layer(main, bars)
    .width(width)
    .height(260)
    .describe(summary)
    .title({ text: opts.title ?? `${opts.metric} by ${xTitle}`, subtitle: 'mean over seeds, error bars: 95% CI' });
}
