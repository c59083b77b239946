/**
 * How a ResultSet shows itself: `results.chart(name)`, `.show()`, `.summary()`, `.frame()`, and
 * its text when it is a notebook cell's value. The notebook layer draws these and sits above this
 * one, so the lab does not import it: src/index.ts hands src/notebook's functions over
 * (installResultViews), and src/notebook/results-display.ts names the types they return in
 * ResultViewTypes (declaration merging), so `results.chart('cycles')` is typed as a `Chart` for
 * every user of 'ptlab'. Without them (the lab layer alone: a worker, a test of src/lab) the
 * methods say what is missing.
 */
import type { ResultSet, RowQuery } from './resultset';

/**
 * The types of the views, declared by src/notebook/results-display.ts: `chart` (its Chart),
 * `table` (Table), `chartOptions` (the options of each chart name), `metricOptions` (those of a
 * metric chart), `showOptions`.
 */
export interface ResultViewTypes {}

/** A type of ResultViewTypes, or `Otherwise` while no layer has declared it. */
type Declared<K extends string, Otherwise> = ResultViewTypes extends Record<K, infer T> ? T : Otherwise;
export type ViewChart = Declared<'chart', unknown>;
export type ViewTable = Declared<'table', unknown>;
export type ViewChartOptions = Declared<'chartOptions', Record<string, object>>;
export type ViewMetricOptions = Declared<'metricOptions', object>;
export type ViewShowOptions = Declared<'showOptions', object>;

/** The functions behind ResultSet's views. */
export interface ResultViews {
  /** a chart by name, or of one tidy metric */
  chart(results: ResultSet, name: string, opts?: object): ViewChart;
  show(results: ResultSet, opts?: ViewShowOptions): Promise<void>;
  summary(results: ResultSet, opts?: ViewShowOptions): ViewTable;
  frame(results: ResultSet, q?: RowQuery): ViewTable;
  /** util.inspect of a ResultSet */
  inspect(results: ResultSet): string;
}

let installed: ResultViews | undefined;

/** Gives ResultSet its views (src/index.ts, with src/notebook's). */
export function installResultViews(views: ResultViews): void {
  installed = views;
}

/** The views ResultSet was given, or undefined before src/index.ts has run. */
export function installedResultViews(): ResultViews | undefined {
  return installed;
}

/** The views, for `results.<method>()`; an error that says where they come from when there are none. */
export function resultViews(method: string): ResultViews {
  if (!installed) throw new Error(`results.${method}() is drawn by ptlab's notebook layer, which was not loaded: import from 'ptlab' (or 'ptlab/internals'), not from src/lab`);
  return installed;
}
