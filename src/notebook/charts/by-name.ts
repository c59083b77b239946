/**
 * A chart by name, for one-word calls such as `results.chart('cycles')` (the lab layer cannot import
 * charts — layers only import downward — so src/index.ts hands it to ResultSet: see
 * src/notebook/results-display.ts's resultViews). A name that is not a chart is read as a tidy
 * metric (`cycles.dBitSet`, `faults.byKind.wpReuse`, ...).
 */
import type { TidyRow } from '../../lab/types';
import type { Chart } from '../chart';
import { cycleBreakdown, type CycleBreakdownOptions } from './cycle-breakdown';
import { dirtyPages, type DirtyPagesOptions } from './dirty-pages';
import { faultsAndFlushes, type FaultsFlushesOptions } from './faults-flushes';
import { metricChart, type MetricChartOptions } from './metric-chart';
import { overhead, type OverheadOptions } from './overhead';
import { pteMap, type PteMapOptions } from './pte-map';
import { runsOf, type ResultsInput } from './runs';
import { sweep, type SweepOptions } from './sweep';

export const CHART_NAMES = ['cycles', 'overhead', 'dirty', 'faults', 'sweep', 'pte'] as const;
export type ChartName = (typeof CHART_NAMES)[number];

/** The options each chart name takes (aliases included), so a typo is a type error. */
export interface ChartOptionsByName {
  cycles: CycleBreakdownOptions;
  breakdown: CycleBreakdownOptions;
  cycleBreakdown: CycleBreakdownOptions;
  overhead: OverheadOptions;
  dirty: DirtyPagesOptions;
  dirtyPages: DirtyPagesOptions;
  writeback: DirtyPagesOptions;
  faults: FaultsFlushesOptions;
  flushes: FaultsFlushesOptions;
  faultsAndFlushes: FaultsFlushesOptions;
  sweep: SweepOptions;
  pte: PteMapOptions;
  pteMap: PteMapOptions;
  'pte-map': PteMapOptions;
}

/** Options of a metric chart by name (`results.chart('cycles.dBitSet', { x: 'params.size' })`). */
export type MetricByNameOptions = Omit<MetricChartOptions, 'metric'>;

/** @deprecated the union of every chart's options; use ChartOptionsByName[name] */
export type ChartByNameOptions = CycleBreakdownOptions & OverheadOptions & DirtyPagesOptions & FaultsFlushesOptions & SweepOptions & PteMapOptions & Partial<MetricChartOptions>;

const ALIASES: Record<keyof ChartOptionsByName, ChartName> = {
  cycles: 'cycles',
  breakdown: 'cycles',
  cycleBreakdown: 'cycles',
  overhead: 'overhead',
  dirty: 'dirty',
  dirtyPages: 'dirty',
  writeback: 'dirty',
  faults: 'faults',
  flushes: 'faults',
  faultsAndFlushes: 'faults',
  sweep: 'sweep',
  pte: 'pte',
  pteMap: 'pte',
  'pte-map': 'pte',
};

/** Each chart name's chart; keyed by ChartName, so a new name without its chart is a type error. */
const CHARTS: { readonly [K in ChartName]: (input: ResultsInput, opts: ChartOptionsByName[K]) => Chart } = {
  cycles: cycleBreakdown,
  overhead,
  dirty: dirtyPages,
  faults: faultsAndFlushes,
  sweep,
  pte: pteMap,
};

/**
 * A chart by name with that chart's options; any other name is read as a tidy metric. Options
 * are checked at run time too: an unknown one is an error that lists the chart's options.
 */
export function chartFor<N extends keyof ChartOptionsByName>(results: ResultsInput, name: N, opts?: ChartOptionsByName[N]): Chart;
export function chartFor(results: ResultsInput | readonly TidyRow[], metric: string, opts?: MetricByNameOptions): Chart;
export function chartFor(results: ResultsInput | readonly TidyRow[], name: string, opts: object = {}): Chart {
  const kind = Object.prototype.hasOwnProperty.call(ALIASES, name) ? ALIASES[name as keyof ChartOptionsByName] : undefined;
  const input = results as ResultsInput;
  if (kind !== undefined) return (CHARTS[kind] as (input: ResultsInput, opts: object) => Chart)(input, opts);
  // not a chart name: a tidy metric name (the error lists both kinds of names)
  const m = opts as MetricByNameOptions;
  if ('metric' in m) throw new TypeError(`chart "${name}": the metric is the name itself; drop the "metric" option`);
  try {
    return metricChart(results as readonly TidyRow[] | ResultsInput, { ...m, metric: name });
  } catch (e) {
    if (e instanceof TypeError) throw e; // an unknown option: say that, not "not a chart"
    runsOf(input);
    throw new Error(`chart "${name}": not a chart (${CHART_NAMES.join(', ')}) and ${(e as Error).message.replace(/^metric chart: /, '')}`);
  }
}
