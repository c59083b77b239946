/**
 * Dirty pages and writeback pages over time: the cost side of "mkdirty on mkwrite" that the seed
 * thread worried about (pages nobody writes become dirty, so writeback and reclaim do more work).
 *
 * With `StepResult.series` (a SeriesPoint every N accesses inside touch steps, when the run sampled)
 * the x axis is simulated accesses, cumulative over the selected steps. Without series the chart
 * falls back to one point per step (the counters after each step), so it always shows something.
 */
import type { RunResult } from '../../lab/types';
import { Chart } from '../chart';
import { stepIndex } from '../../lab/per';
import { bandWidth, categoryAxis, groupLegend, PAGE_WIDTH } from './layout';
import { checkOptions, type OptionKeys } from './options';
import { groupLabeller, runsOf, type ResultsInput } from './runs';

export type SeriesMetric = 'dirtyPages' | 'writebackPages' | 'faults' | 'tlbFlushes' | 'cycles';

export interface DirtyPagesOptions {
  /** only this step index (default: every step that has a series) */
  step?: number | string;
  /** default ['dirtyPages', 'writebackPages'] */
  metrics?: SeriesMetric[];
  title?: string;
}

const KEYS: OptionKeys<DirtyPagesOptions> = { step: true, metrics: true, title: true };

export interface TimeRow {
  group: string;
  seed: number;
  /** step index the sample belongs to */
  step: number;
  x: number;
  /** step label for the per-step fallback */
  stepLabel?: string;
  metric: string;
  value: number;
}

const SERIES_METRICS: readonly SeriesMetric[] = ['dirtyPages', 'writebackPages', 'faults', 'tlbFlushes', 'cycles'];

function seriesRows(run: RunResult, group: string, metrics: SeriesMetric[], only?: number): TimeRow[] {
  const rows: TimeRow[] = [];
  let offset = 0;
  for (const s of run.steps) {
    if (only === undefined || s.index === only) {
      for (const p of s.series ?? []) for (const m of metrics) rows.push({ group, seed: run.seed, step: s.index, x: offset + p.accesses, metric: m, value: p[m] });
    }
    // SeriesPoint.accesses counts within its step; later steps start after this one's accesses.
    offset += s.counters.accesses;
  }
  return rows;
}

function stepRows(run: RunResult, group: string, metrics: SeriesMetric[]): TimeRow[] {
  const rows: TimeRow[] = [];
  for (const s of run.steps) {
    const c = s.counters;
    const values: Record<SeriesMetric, number> = { dirtyPages: c.dirtyPages, writebackPages: c.writebackPages, faults: c.faults.total, tlbFlushes: c.tlbFlushes, cycles: s.cycles.total };
    for (const m of metrics) rows.push({ group, seed: run.seed, step: s.index, x: s.index, stepLabel: `${s.index}: ${s.label ?? s.op}`, metric: m, value: values[m] });
  }
  return rows;
}

/**
 * Mean over seeds per (group, metric, step, x), in drawing order (`seq`): kept per step so that the
 * last sample of one step and the first of the next, which share an x, do not get averaged together.
 */
export interface TimePoint {
  group: string;
  metric: string;
  step: number;
  x: number;
  stepLabel?: string;
  value: number;
  n: number;
  seq: number;
}

export function dirtyPagesRows(input: ResultsInput, opts: DirtyPagesOptions = {}): { rows: TimeRow[]; points: TimePoint[]; perStep: boolean } {
  const runs = runsOf(input);
  const metrics = opts.metrics ?? ['dirtyPages', 'writebackPages'];
  for (const m of metrics) {
    if (!SERIES_METRICS.includes(m)) throw new Error(`dirtyPages: unknown metric "${m}"; use ${SERIES_METRICS.join(', ')}`);
  }
  const label = groupLabeller(runs);
  const only = opts.step === undefined ? undefined : stepIndex(runs[0], opts.step);
  let rows = runs.flatMap((r) => seriesRows(r, label(r), metrics, only));
  const perStep = rows.length === 0;
  if (perStep) rows = runs.flatMap((r) => stepRows(r, label(r), metrics));
  const cells = new Map<string, TimePoint & { sum: number }>();
  for (const r of rows) {
    const key = JSON.stringify([r.group, r.metric, r.step, r.x]);
    let c = cells.get(key);
    if (!c) {
      c = { group: r.group, metric: r.metric, step: r.step, x: r.x, stepLabel: r.stepLabel, value: 0, n: 0, seq: cells.size, sum: 0 };
      cells.set(key, c);
    }
    c.sum += r.value;
    c.n += 1;
  }
  const points = [...cells.values()].map(({ sum, ...p }) => ({ ...p, value: sum / p.n }));
  return { rows, points, perStep };
}

const METRIC_TITLES: Record<string, string> = {
  dirtyPages: 'dirty pages',
  writebackPages: 'pages written back',
  faults: 'faults',
  tlbFlushes: 'TLB flushes',
  cycles: 'cycles',
};

/**
 * Groups whose points are all equal would draw one line over the other, and a reader would see
 * one colour where the legend promises several: such groups are drawn once, under a name that
 * lists them all ("a = b = c"). Returns the merged points and, per shown name, its members.
 */
export function mergeIdenticalGroups(points: readonly TimePoint[]): { points: TimePoint[]; members: Map<string, string[]> } {
  const byGroup = new Map<string, TimePoint[]>();
  for (const p of points) {
    if (!byGroup.has(p.group)) byGroup.set(p.group, []);
    byGroup.get(p.group)!.push(p);
  }
  const bySignature = new Map<string, string[]>();
  for (const [g, ps] of byGroup) {
    const sig = JSON.stringify(ps.map((p) => [p.metric, p.step, p.x, p.value]));
    if (!bySignature.has(sig)) bySignature.set(sig, []);
    bySignature.get(sig)!.push(g);
  }
  const rename = new Map<string, string>();
  const members = new Map<string, string[]>();
  for (const gs of bySignature.values()) {
    const name = gs.join(' = ');
    members.set(name, gs);
    for (const g of gs) rename.set(g, name);
  }
  const out: TimePoint[] = [];
  for (const [g, ps] of byGroup) if (members.get(rename.get(g)!)![0] === g) for (const p of ps) out.push({ ...p, group: rename.get(g)! });
  return { points: out, members };
}

export function dirtyPages(input: ResultsInput, opts: DirtyPagesOptions = {}): Chart {
  checkOptions('dirtyPages', opts, KEYS);
  const raw = dirtyPagesRows(input, opts);
  const perStep = raw.perStep;
  const { points, members } = mergeIdenticalGroups(raw.points);
  const groups = [...members.keys()];
  const metrics = [...new Set(points.map((r) => r.metric))];
  const last = (g: string, m: string) => {
    const ps = points.filter((r) => r.group === g && r.metric === m);
    return ps.length ? ps[ps.length - 1].value : NaN;
  };
  const summary = groups.map((g) => `${g}: ${metrics.map((m) => `${m} ${last(g, m).toFixed(0)}`).join(', ')} (at the end, mean over seeds)`).join('\n');
  // one panel per metric (their scales differ: writeback is often 0 while thousands are dirty)
  const panelWidth = metrics.length > 1 ? Math.floor((PAGE_WIDTH - 40) / 2) : PAGE_WIDTH;
  const stepLabels = [...new Set(points.map((p) => p.stepLabel ?? ''))];
  const x = perStep
    ? { field: 'stepLabel', type: 'ordinal' as const, sort: { field: 'x' }, title: 'after step', axis: categoryAxis(stepLabels, bandWidth(stepLabels.length, panelWidth)).axis }
    : { field: 'x', type: 'quantitative' as const, title: 'simulated accesses' };
  // a merged group's legend entry lists its members one per line
  const legend = groupLegend(groups.flatMap((g) => members.get(g)!));
  const multi = [...members].filter(([, ms]) => ms.length > 1);
  if (multi.length) legend.labelExpr = `(${JSON.stringify(Object.fromEntries(multi.map(([g, ms]) => [g, ms.map((m, i) => (i ? `= ${m}` : m))])))})[datum.value] || datum.label`;
  const rows = points.map((p) => ({ ...p, panel: METRIC_TITLES[p.metric] ?? p.metric }));
  const panels = metrics.map((m) => METRIC_TITLES[m] ?? m);
  return Chart.from(
    {
      data: { values: rows },
      facet: { column: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } },
      spec: {
        mark: { type: 'line', point: perStep, tooltip: true, strokeWidth: 2 },
        encoding: {
          x,
          y: { field: 'value', type: 'quantitative', title: 'pages (mean over seeds)' },
          color: { field: 'group', type: 'nominal', sort: groups, title: null, legend },
          order: { field: 'seq', type: 'quantitative' },
        },
        width: panelWidth,
        height: 240,
      },
      resolve: { scale: { y: 'independent' } },
    },
    summary,
  ).title({
    text: opts.title ?? 'Dirty and writeback pages',
    subtitle: [perStep ? 'after each step (runs recorded no series)' : 'sampled during the run', ...(multi.length ? ['variants with identical numbers share one line'] : [])],
  });
}
