/**
 * A metric against a swept parameter (RunResult.params, from the spec's `sweep`): one line per group
 * (variant, CPU, other swept parameters), mean over seeds with 95% CI error bars (summarize()).
 */
import type { RunResult } from '../../lab/types';
import { summarize } from '../../lab/stats';
import { Chart } from '../chart';
import { checkPer, type Per } from '../../lab/per';
import { metricTitle, metricValue, type MetricSpec } from './metric';
import { bandWidth, categoryAxis, groupLegend, PAGE_WIDTH } from './layout';
import { checkOptions, type OptionKeys } from './options';
import { groupLabeller, runsOf, shortNumber, varyingParams, type ResultsInput, type StepSelector } from './runs';

export interface SweepOptions {
  /** the swept parameter on the x axis (default: the first one whose values differ, else "kernel") */
  param?: string;
  metric?: MetricSpec;
  step?: StepSelector;
  /** log scale on the x axis (numeric parameters only) */
  logX?: boolean;
  /** the metric per run (default), per page, per access or per fault */
  per?: Per;
  title?: string;
}

const KEYS: OptionKeys<SweepOptions> = { param: true, metric: true, step: true, logX: true, per: true, title: true };

export interface SweepPoint {
  group: string;
  x: string | number | boolean;
  n: number;
  mean: number;
  lo: number;
  hi: number;
}

function paramOf(r: RunResult, param: string): string | number | boolean | undefined {
  if (param === 'kernel' || param === 'variant') return r.params?.[param] ?? r.variant;
  if (param === 'cpu') return r.params?.[param] ?? r.cpu;
  return r.params?.[param];
}

export function sweepData(input: ResultsInput, opts: SweepOptions = {}): { param: string; numeric: boolean; points: SweepPoint[] } {
  checkOptions('sweep', opts, KEYS);
  const runs = runsOf(input);
  const candidates = varyingParams(runs);
  const param = opts.param ?? candidates[0] ?? (new Set(runs.map((r) => r.variant)).size > 1 ? 'kernel' : undefined);
  if (param === undefined) {
    throw new Error('sweep: these runs differ only by seed; add a "sweep" to the spec or pass {param: name}');
  }
  const missing = runs.find((r) => paramOf(r, param) === undefined);
  if (missing) {
    const known = [...new Set(runs.flatMap((r) => Object.keys(r.params ?? {})))];
    throw new Error(`sweep: run ${missing.id} has no parameter "${param}"; swept parameters here: ${known.join(', ') || 'none'}`);
  }
  const numeric = runs.every((r) => typeof paramOf(r, param) === 'number');
  const label = groupLabeller(runs, { omit: [param, ...(param === 'kernel' ? ['variant'] : [])] });
  const metric = opts.metric ?? 'cycles';
  const cells = new Map<string, { group: string; x: string | number | boolean; values: number[] }>();
  for (const r of runs) {
    const x = paramOf(r, param)!;
    const key = JSON.stringify([label(r), x]);
    if (!cells.has(key)) cells.set(key, { group: label(r), x, values: [] });
    cells.get(key)!.values.push(metricValue(r, metric, opts.step, checkPer('sweep', opts.per) ?? 'run'));
  }
  const points = [...cells.values()].map((c) => {
    const s = summarize(c.values);
    return { group: c.group, x: c.x, n: s.n, mean: s.mean, lo: s.lo, hi: s.hi };
  });
  if (numeric) points.sort((a, b) => (a.x as number) - (b.x as number));
  return { param, numeric, points };
}

export function sweep(input: ResultsInput, opts: SweepOptions = {}): Chart {
  const { param, numeric, points } = sweepData(input, opts);
  const groups = [...new Set(points.map((p) => p.group))];
  const what = metricTitle(opts.metric ?? 'cycles', opts.per);
  const xOrder = [...new Set(points.map((p) => String(p.x)))];
  const x = numeric
    ? { field: 'x', type: 'quantitative' as const, title: param, scale: opts.logX ? { type: 'log' as const } : { zero: false } }
    : { field: 'x', type: 'ordinal' as const, title: param, sort: xOrder, axis: categoryAxis(xOrder, bandWidth(xOrder.length)).axis };
  const color = { field: 'group', type: 'nominal' as const, sort: groups, title: null, legend: groupLegend(groups) };
  const line = Chart.from({
    data: { values: points },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: { x, y: { field: 'mean', type: 'quantitative', title: `${what} (mean over seeds)` }, color },
  });
  const bars = Chart.from({
    data: { values: points },
    mark: { type: 'errorbar', ticks: true, thickness: 1.5 },
    encoding: { x, y: { field: 'lo', type: 'quantitative', title: `${what} (mean over seeds)` }, y2: { field: 'hi' }, color },
  });
  const summary = groups
    .map((g) => `${g}: ${points.filter((p) => p.group === g).map((p) => `${param}=${p.x} ${shortNumber(p.mean)}`).join(', ')}`)
    .join('\n');
  return Chart.layer(line, bars)
    .width(PAGE_WIDTH)
    .height(260)
    .describe(summary)
    .title({ text: opts.title ?? `${what} vs ${param}`, subtitle: 'mean over seeds, error bars: 95% CI' });
}
