/**
 * A ResultSet on screen: `results.show()` (the summary table of the step the experiment is
 * about, per access, and the cycle breakdown of that step), `results.summary()` and
 * `results.frame()` as tables, `results.chart(name)`, and a short description instead of an
 * object dump when a ResultSet is a cell's value. ResultSet lives in src/lab, below this layer:
 * src/index.ts hands it `resultViews` (src/lab/result-views.ts), and this module declares the types
 * those methods return there.
 */
import type { ResultSet, RowQuery } from '../lab/resultset';
import type { Per, StepSelector } from '../lab/per';
import type { ResultViews } from '../lab/result-views';
import { chartFor, type ChartOptionsByName, type MetricByNameOptions } from './charts/by-name';
import { cycleBreakdown } from './charts/cycle-breakdown';
import { runsOf, stepOf } from './charts/runs';
import type { Chart } from './chart';
import type { MimeBundle } from './display';
import { escapeHtml } from './html-escape';
import { headlineStep, summaryTable } from './summary';
import { inspectAsDisplay, Table } from './table';

export interface ShowOptions {
  /** the step to headline (default: the last touch step, else the whole run) */
  step?: StepSelector;
  /** default 'access' for a step (cycles per access = per first write), 'run' for the whole run */
  per?: Per;
  /** baseline variant for the overhead column */
  baseline?: string;
  /** the chart under the table: a chart name or metric (default the cycle breakdown), or false */
  chart?: string | false;
}

function headline(results: ResultSet, opts: ShowOptions): { step: StepSelector; per: Per } {
  const step = opts.step ?? headlineStep(results);
  return { step, per: opts.per ?? (step === 'total' ? 'run' : 'access') };
}

/** The summary as a Table (a cell's value renders as a table). */
export function resultsSummary(results: ResultSet, opts: ShowOptions = {}): Table {
  const h = headline(results, opts);
  return summaryTable(results, { baseline: opts.baseline, ...h });
}

/** Tidy rows as a Table (`frame({ metric: 'cycles.total', step: 'first writes' })`). */
export function resultsFrame(results: ResultSet, q: RowQuery = {}): Table {
  const rows = results.rows(q).map((r) => ({ variant: r.variant, cpu: r.cpu, seed: r.seed, repeat: r.repeat, params: r.params, step: r.step, label: r.label ?? '', op: r.op, metric: r.metric, value: r.value }));
  return new Table(rows, { caption: `${rows.length} tidy row(s): one per run x step x metric (step -1 = the whole run)` });
}

/** The summary table, then the default chart of the headline step. */
export async function showResults(results: ResultSet, opts: ShowOptions = {}): Promise<void> {
  const h = headline(results, opts);
  resultsSummary(results, opts).show();
  if (opts.chart === false) return;
  const chart: Chart = opts.chart === undefined ? cycleBreakdown(results, h) : chartFor(results, opts.chart);
  await chart.show();
}

/** A few lines that say what the set holds (text/plain of a ResultSet). */
export function resultsText(results: ResultSet): string {
  if (results.length === 0) return 'ResultSet: no runs';
  const runs = runsOf(results);
  const variants = [...new Set(runs.map((r) => r.variant))];
  const seeds = [...new Set(runs.map((r) => r.seed))];
  const steps = runs[0].steps.map((s) => `${s.index}: ${s.label ?? s.op}`);
  const h = headlineStep(results);
  return [
    `ResultSet "${runs[0].name}": ${runs.length} run(s): ${variants.length} variant(s) (${variants.join(', ')}) x ${seeds.length} seed(s)`,
    `steps: ${steps.join(', ')}`,
    `about: ${h === 'total' ? 'the whole run' : `step ${stepOf(runs[0], h).label}`}; results.show() for the summary and chart, results.summary(), results.frame(), results.chart('cycles')`,
  ].join('\n');
}

export function resultsBundle(results: ResultSet): MimeBundle {
  const text = resultsText(results);
  if (results.length === 0) return { 'text/plain': text };
  const [first, ...rest] = text.split('\n');
  return { 'text/html': `<p><b>${escapeHtml(first)}</b><br>${rest.map(escapeHtml).join('<br>')}</p>\n${resultsSummary(results).toHTML()}`, 'text/plain': text };
}

/** util.inspect of a ResultSet: rendered in a notebook, a short description elsewhere. */
export function inspectResults(results: ResultSet): string {
  return inspectAsDisplay(resultsBundle(results), resultsText(results).split('\n')[0]);
}

// The types of ResultSet's views, for the lab layer's ResultSet (declaration merging).
declare module '../lab/result-views' {
  interface ResultViewTypes {
    chart: Chart;
    table: Table;
    chartOptions: ChartOptionsByName;
    metricOptions: MetricByNameOptions;
    showOptions: ShowOptions;
  }
}

/** ResultSet's views, as src/index.ts gives them to the lab layer. */
export const resultViews: ResultViews = {
  chart: (results, name, opts) => chartFor(results, name, opts as MetricByNameOptions),
  show: showResults,
  summary: resultsSummary,
  frame: resultsFrame,
  inspect: inspectResults,
};
