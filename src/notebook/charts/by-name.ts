/**
 * A chart by name, for one-word calls such as `results.chart('cycles')` (the lab layer cannot import
 * charts — layers only import downward — so src/index.ts can attach this to ResultSet). A name
 * that is not a chart is read as a tidy metric (`cycles.dBitSet`, `faults.byKind.wpReuse`, ...).
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

export type ChartByNameOptions = CycleBreakdownOptions & OverheadOptions & DirtyPagesOptions & FaultsFlushesOptions & SweepOptions & PteMapOptions & Partial<MetricChartOptions>;

const ALIASES: Record<string, ChartName> = {
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
};

export function chartFor(results: ResultsInput, name: ChartName | string, opts: ChartByNameOptions = {}): Chart {
  const kind = ALIASES[name];
  switch (kind) {
    case 'cycles':
      return cycleBreakdown(results, opts);
    case 'overhead':
      return overhead(results, opts);
    case 'dirty':
      return dirtyPages(results, { ...opts, step: typeof opts.step === 'number' ? opts.step : undefined });
    case 'faults':
      return faultsAndFlushes(results, opts);
    case 'sweep':
      return sweep(results, opts);
    case 'pte':
      return pteMap(results, { ...opts, step: typeof opts.step === 'number' ? opts.step : undefined });
  }
  // not a chart name: a tidy metric name (the error lists both kinds of names)
  const step = typeof opts.step === 'number' ? opts.step : -1;
  try {
    return metricChart(results as readonly TidyRow[] | ResultsInput, { ...opts, metric: name, step });
  } catch (e) {
    runsOf(results as ResultsInput);
    throw new Error(`chart "${name}": not a chart (${CHART_NAMES.join(', ')}) and ${(e as Error).message.replace(/^metric chart: /, '')}`);
  }
}
