/**
 * Where the cycles go: one stacked bar per group (variant, CPU, swept parameters), split by cost
 * event (`cycles.byEvent`, the event names of src/x86/events.ts and src/kernel/events.ts), mean
 * over seeds. The N largest events overall keep their names; the rest are summed into "other" so the
 * legend stays readable.
 */
import { Chart } from '../chart';
import { checkPer, perDivisor, perText, type Per } from '../../lab/per';
import { bandWidth, categoryAxis, categoryWidth } from './layout';
import { checkOptions, type OptionKeys } from './options';
import { groupLabeller, groupRuns, mean, runsOf, shortNumber, stepOf, type ResultsInput, type StepSelector } from './runs';

export interface CycleBreakdownOptions {
  /** run total (default), a step index, or {op} */
  step?: StepSelector;
  /** events shown by name (default 8); the rest become "other" */
  top?: number;
  /** cycles per run (default), per page the step selects, per access or per fault */
  per?: Per;
  title?: string;
}

const KEYS: OptionKeys<CycleBreakdownOptions> = { step: true, top: true, per: true, title: true };

export const OTHER_EVENT = 'other';

export interface BreakdownRow {
  group: string;
  event: string;
  cycles: number;
  /** share of this group's total (0..1) */
  share: number;
  /** stacking order: 0 = largest event overall, "other" last */
  order: number;
}

/** The numbers behind the chart (exported for tests and tables). */
export function cycleBreakdownRows(input: ResultsInput, opts: CycleBreakdownOptions = {}): BreakdownRow[] {
  checkOptions('cycleBreakdown', opts, KEYS);
  const per = checkPer('cycleBreakdown', opts.per) ?? 'run';
  const runs = runsOf(input);
  const top = opts.top ?? 8;
  if (!(Number.isInteger(top) && top >= 1)) throw new RangeError(`cycleBreakdown: top must be a whole number >= 1 (got ${top})`);
  const groups = groupRuns(runs, groupLabeller(runs));
  // mean cycles per event per group
  const perGroup = new Map<string, Map<string, number>>();
  const overall = new Map<string, number>();
  for (const [g, rs] of groups) {
    const events = new Set<string>();
    for (const r of rs) for (const e of Object.keys(stepOf(r, opts.step).cycles.byEvent)) events.add(e);
    const m = new Map<string, number>();
    for (const e of events) {
      const v = mean(rs.map((r) => { const s = stepOf(r, opts.step); return (s.cycles.byEvent[e] ?? 0) / perDivisor(r, s.index, per); }));
      if (v === 0) continue;
      m.set(e, v);
      overall.set(e, (overall.get(e) ?? 0) + v);
    }
    perGroup.set(g, m);
  }
  // ties broken by name so the order is deterministic
  const ranked = [...overall].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([e]) => e);
  const named = ranked.length > top ? ranked.slice(0, top) : ranked;
  const rank = new Map(named.map((e, i) => [e, i]));
  const rows: BreakdownRow[] = [];
  for (const [g, m] of perGroup) {
    let total = 0;
    for (const v of m.values()) total += v;
    let other = 0;
    for (const [e, v] of m) {
      if (rank.has(e)) rows.push({ group: g, event: e, cycles: v, share: total ? v / total : 0, order: rank.get(e)! });
      else other += v;
    }
    if (other > 0) rows.push({ group: g, event: OTHER_EVENT, cycles: other, share: total ? other / total : 0, order: named.length });
  }
  return rows;
}

export function cycleBreakdown(input: ResultsInput, opts: CycleBreakdownOptions = {}): Chart {
  const rows = cycleBreakdownRows(input, opts);
  const groups = [...new Set(rows.map((r) => r.group))];
  const events = [...new Set(rows.map((r) => r.event))].sort((a, b) => rows.find((r) => r.event === a)!.order - rows.find((r) => r.event === b)!.order);
  const width = categoryWidth(groups.length);
  const stepLabel = opts.step === undefined || opts.step === 'total' ? 'whole run' : stepOf(runsOf(input)[0], opts.step).label;
  const summary = groups
    .map((g) => {
      const rs = rows.filter((r) => r.group === g).sort((a, b) => b.cycles - a.cycles);
      const total = rs.reduce((s, r) => s + r.cycles, 0);
      return `${g}: ${shortNumber(total)} ${perText('cycles', opts.per)} (${rs.slice(0, 3).map((r) => `${r.event} ${(r.share * 100).toFixed(0)}%`).join(', ')})`;
    })
    .join('\n');
  return Chart.from(
    {
      description: `Cycle breakdown by event (${stepLabel}), mean over seeds`,
      data: { values: rows },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'group', type: 'nominal', sort: groups, title: null, axis: categoryAxis(groups, bandWidth(groups.length, width)).axis },
        y: { field: 'cycles', type: 'quantitative', stack: 'zero', title: `${perText('cycles', opts.per)} (mean over seeds)` },
        color: { field: 'event', type: 'nominal', sort: events, title: 'event' },
        order: { field: 'order', type: 'quantitative' },
        tooltip: [
          { field: 'group', type: 'nominal' },
          { field: 'event', type: 'nominal' },
          { field: 'cycles', type: 'quantitative', format: ',.0f' },
          { field: 'share', type: 'quantitative', format: '.1%' },
        ],
      },
      width,
      height: 300,
    },
    summary,
  ).title({ text: opts.title ?? 'Cycles by event', subtitle: `${stepLabel}, mean over seeds; top ${Math.min(opts.top ?? 8, events.length)} events` });
}
