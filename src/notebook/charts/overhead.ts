/**
 * Cycle overhead against a baseline variant, with a 95% confidence interval over seeds.
 *
 * Runs are *paired*: a variant's run is compared with the baseline run that has the same CPU, seed,
 * repeat and other swept parameters, so both saw the same access stream (the workload generators are
 * seeded) and the difference isolates the policy. The per-seed differences are summarised with
 * `summarize()` (src/lab/stats.ts: mean and Student-t 95% CI), drawn as a bar with error bars, and
 * each seed's difference is drawn as a dot so a reader sees how many seeds the CI rests on.
 */
import type { RunResult } from '../../lab/types';
import { summarize } from '../../lab/stats';
import { Chart } from '../chart';
import { checkPer, type Per } from '../../lab/per';
import { metricTitle, metricValue, type MetricSpec } from './metric';
import { bandWidth, categoryAxis, categoryWidth, groupLegend } from './layout';
import { checkOptions, type OptionKeys } from './options';
import { groupLabeller, runsOf, shortNumber, type ResultsInput, type StepSelector } from './runs';

export interface OverheadOptions {
  /** the variant everything is compared with (default: the first variant in the results) */
  baseline?: string;
  /** default 'cycles' (see metric.ts for names) */
  metric?: MetricSpec;
  step?: StepSelector;
  /** 'percent' (default): 100 * (v - base) / base per seed; 'absolute': v - base */
  unit?: 'percent' | 'absolute';
  /** the metric per run (default), per page, per access or per fault (matters for unit 'absolute') */
  per?: Per;
  title?: string;
}

const KEYS: OptionKeys<OverheadOptions> = { baseline: true, metric: true, step: true, unit: true, per: true, title: true };

export interface OverheadPoint {
  variant: string;
  /** CPU and swept parameters when they vary ('' otherwise) */
  context: string;
  seed: number;
  repeat: number;
  value: number;
}

export interface OverheadSummary {
  variant: string;
  context: string;
  n: number;
  mean: number;
  lo: number;
  hi: number;
  ci95: number;
}

function pairKey(r: RunResult): string {
  const params = Object.entries(r.params ?? {})
    .filter(([k]) => k !== 'kernel' && k !== 'variant')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([r.cpu, r.seed, r.repeat, params]);
}

/** Per-seed paired differences and their summaries (exported for tests and tables). */
export function overheadData(input: ResultsInput, opts: OverheadOptions = {}): { baseline: string; points: OverheadPoint[]; summaries: OverheadSummary[] } {
  checkOptions('overhead', opts, KEYS);
  const runs = runsOf(input);
  const variants = [...new Set(runs.map((r) => r.variant))];
  const baseline = opts.baseline ?? variants[0];
  if (!variants.includes(baseline)) {
    throw new Error(`overhead: baseline "${baseline}" is not among the variants of these results (${variants.join(', ')}); pass {baseline: one of them}`);
  }
  const metric = opts.metric ?? 'cycles';
  const percent = (opts.unit ?? 'percent') === 'percent';
  const base = new Map<string, RunResult>();
  for (const r of runs) if (r.variant === baseline) base.set(pairKey(r), r);
  const context = groupLabeller(runs, { omit: ['variant'], fallback: () => '' });
  const hasContext = new Set(runs.map((r) => context(r))).size > 1;
  const points: OverheadPoint[] = [];
  for (const r of runs) {
    if (r.variant === baseline) continue;
    const b = base.get(pairKey(r));
    if (!b) {
      throw new Error(`overhead: no "${baseline}" run with cpu ${r.cpu}, seed ${r.seed}, repeat ${r.repeat} to pair with ${r.variant}; run the baseline with the same seeds and parameters`);
    }
    const per = checkPer('overhead', opts.per) ?? 'run';
    const v = metricValue(r, metric, opts.step, per);
    const bv = metricValue(b, metric, opts.step, per);
    const value = percent ? (bv === 0 ? (v === 0 ? 0 : NaN) : (100 * (v - bv)) / bv) : v - bv;
    points.push({ variant: r.variant, context: hasContext ? context(r) : '', seed: r.seed, repeat: r.repeat, value });
  }
  const keys = [...new Set(points.map((p) => JSON.stringify([p.variant, p.context])))];
  const summaries = keys.map((k) => {
    const [variant, ctx] = JSON.parse(k) as [string, string];
    const s = summarize(points.filter((p) => p.variant === variant && p.context === ctx).map((p) => p.value));
    return { variant, context: ctx, n: s.n, mean: s.mean, lo: s.lo, hi: s.hi, ci95: s.ci95 };
  });
  return { baseline, points, summaries };
}

export function overhead(input: ResultsInput, opts: OverheadOptions = {}): Chart {
  const { baseline, points, summaries } = overheadData(input, opts);
  if (summaries.length === 0) throw new Error(`overhead: the results hold only the baseline "${baseline}"; add another kernel variant to compare`);
  const percent = (opts.unit ?? 'percent') === 'percent';
  const what = metricTitle(opts.metric ?? 'cycles', opts.per);
  // the baseline is named in the title: a long variant name would not fit along the y axis
  const yTitle = percent ? `${what} overhead (%)` : `${what} minus baseline`;
  const variants = [...new Set(summaries.map((s) => s.variant))];
  const multiContext = new Set(summaries.map((s) => s.context)).size > 1;
  const width = categoryWidth(variants.length);
  const x = { field: 'variant', type: 'nominal' as const, sort: variants, title: null, axis: categoryAxis(variants, bandWidth(variants.length, width)).axis };
  const contexts = [...new Set(summaries.map((s) => s.context))];
  const offset = multiContext ? { xOffset: { field: 'context', type: 'nominal' as const }, color: { field: 'context', type: 'nominal' as const, title: null, legend: groupLegend(contexts) } } : {};
  const fmt = (v: number) => (percent ? `${v >= 0 ? '+' : ''}${v.toFixed(2)}%` : `${v >= 0 ? '+' : ''}${shortNumber(v)}`);
  const summary = summaries
    .map((s) => `${s.variant}${s.context ? ` (${s.context})` : ''}: ${fmt(s.mean)} ± ${percent ? s.ci95.toFixed(2) + '%' : shortNumber(s.ci95)} (95% CI, n=${s.n}${s.n < 2 ? ', no CI from one seed' : ''})`)
    .join('\n');
  const bars = Chart.from({
    data: { values: summaries },
    mark: { type: 'bar', opacity: 0.75, width: { band: 0.6 }, tooltip: true },
    encoding: { x, y: { field: 'mean', type: 'quantitative', title: yTitle }, ...offset },
  });
  const errorBars = Chart.from({
    data: { values: summaries },
    mark: { type: 'errorbar', ticks: { size: 14 }, color: 'black', thickness: 1.5 },
    encoding: { x, y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' }, ...(multiContext ? { xOffset: offset.xOffset } : {}) },
  });
  const seeds = Chart.from({
    data: { values: points },
    mark: { type: 'point', filled: true, size: 18, color: 'black', opacity: 0.6, tooltip: true },
    encoding: { x, y: { field: 'value', type: 'quantitative' }, ...(multiContext ? { xOffset: offset.xOffset } : {}) },
  });
  const zero = Chart.from({ data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#666' }, encoding: { y: { field: 'zero', type: 'quantitative' } } });
  return Chart.layer(bars, errorBars, seeds, zero)
    .width(width)
    .height(280)
    .describe(summary)
    .title({ text: opts.title ?? `Overhead vs ${baseline}`, subtitle: ['bars: mean of per-seed paired differences', 'error bars: 95% CI (Student t); dots: seeds'] });
}
