/**
 * Chart builders over ptlab results. Each returns an immutable `Chart` (see ../chart.ts); call
 * `await chart.show()` in a notebook. Examples for each: docs/charts.md.
 */
import { cycleBreakdown } from './cycle-breakdown';
import { dirtyPages } from './dirty-pages';
import { faultsAndFlushes } from './faults-flushes';
import { overhead } from './overhead';
import { pteMap } from './pte-map';
import { sweep } from './sweep';
import { metricChart } from './metric-chart';

export const charts = { cycleBreakdown, overhead, dirtyPages, faultsAndFlushes, sweep, pteMap, metric: metricChart };

export { cycleBreakdown, cycleBreakdownRows, OTHER_EVENT, type CycleBreakdownOptions, type BreakdownRow } from './cycle-breakdown';
export { overhead, overheadData, type OverheadOptions, type OverheadPoint, type OverheadSummary } from './overhead';
export { dirtyPages, dirtyPagesRows, type DirtyPagesOptions, type SeriesMetric, type TimeRow } from './dirty-pages';
export { faultsAndFlushes, faultsAndFlushesRows, type FaultsFlushesOptions, type KindRow } from './faults-flushes';
export { sweep, sweepData, type SweepOptions, type SweepPoint } from './sweep';
export { pteMap, pteCells, pteGrid, pteMaps, pteState, pteFlags, PTE_STATE_COLORS, type PteMapOptions, type PteMapInput, type PteCell, type PteState } from './pte-map';
export { chartFor, CHART_NAMES, type ChartName, type ChartByNameOptions, type ChartOptionsByName, type MetricByNameOptions } from './by-name';
export { metricChart, metricCells, type MetricChartOptions, type MetricCell, type TidyKey } from './metric-chart';
export { metricOf, metricValue, metricTitle, type MetricSpec } from './metric';
export { runsOf, stepOf, groupLabeller, groupRuns, varyingParams, type ResultsInput, type StepSelector } from './runs';
