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
import { groupLabeller, runsOf, type ResultsInput } from './runs';

export type SeriesMetric = 'dirtyPages' | 'writebackPages' | 'faults' | 'tlbFlushes' | 'cycles';

export interface DirtyPagesOptions {
  /** only this step index (default: every step that has a series) */
  step?: number;
  /** default ['dirtyPages', 'writebackPages'] */
  metrics?: SeriesMetric[];
  title?: string;
}

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
    for (const m of metrics) rows.push({ group, seed: run.seed, step: s.index, x: s.index, stepLabel: `${s.index}: ${s.op}`, metric: m, value: values[m] });
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
  let rows = runs.flatMap((r) => seriesRows(r, label(r), metrics, opts.step));
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

export function dirtyPages(input: ResultsInput, opts: DirtyPagesOptions = {}): Chart {
  const { points, perStep } = dirtyPagesRows(input, opts);
  const groups = [...new Set(points.map((r) => r.group))];
  const metrics = [...new Set(points.map((r) => r.metric))];
  const last = (g: string, m: string) => {
    const ps = points.filter((r) => r.group === g && r.metric === m);
    return ps.length ? ps[ps.length - 1].value : NaN;
  };
  const summary = groups.map((g) => `${g}: ${metrics.map((m) => `${m} ${last(g, m).toFixed(0)}`).join(', ')} (at the end, mean over seeds)`).join('\n');
  const x = perStep
    ? { field: 'stepLabel', type: 'ordinal' as const, sort: { field: 'x' }, title: 'after step', axis: { labelAngle: -30 } }
    : { field: 'x', type: 'quantitative' as const, title: 'simulated accesses' };
  return Chart.from(
    {
      data: { values: points },
      mark: { type: 'line', point: perStep, tooltip: true },
      encoding: {
        x,
        y: { field: 'value', type: 'quantitative', title: 'pages (mean over seeds)' },
        color: { field: 'group', type: 'nominal', sort: groups, title: null },
        strokeDash: { field: 'metric', type: 'nominal', sort: metrics, title: null },
        order: { field: 'seq', type: 'quantitative' },
      },
      width: 420,
      height: 260,
    },
    summary,
  ).title({ text: opts.title ?? 'Dirty and writeback pages', subtitle: perStep ? 'after each step (runs recorded no series)' : 'sampled during the run' });
}
