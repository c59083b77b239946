/**
 * The summary table of an experiment: one row per group (variant, CPU, swept parameters) with the
 * mean over seeds and a 95% CI (summarize(), src/lab/stats.ts) of total cycles, the paired overhead
 * against the baseline variant, and the counters the seed thread's trade-off is about: faults,
 * dirty and writeback pages, TLB flushes, IPIs and invariant violations.
 */
import { summarize } from '../lab/stats';
import { overheadData } from './charts/overhead';
import { checkPer, perText, type Per } from '../lab/per';
import { metricValue } from './charts/metric';
import { groupLabeller, groupRuns, mean, runsOf, stepOf, type ResultsInput, type StepSelector } from './charts/runs';
import { Table, type Row } from './table';

export interface SummaryOptions {
  /** baseline variant for the overhead column (default: the first variant) */
  baseline?: string;
  /** the step the numbers are of: index, label, {op} or 'total' (default: the whole run) */
  step?: StepSelector;
  /** cycles per run (default), per page the step selects, per access or per fault */
  per?: Per;
  title?: string;
}

/**
 * The step an experiment is about: the last touch (or trace) step, whose accesses it measures;
 * the whole run when it has none. `npm start`, the report and results.show() headline it.
 */
export function headlineStep(input: ResultsInput): StepSelector {
  const run = runsOf(input)[0];
  for (let i = run.steps.length - 1; i >= 0; i--) if (run.steps[i].op === 'touch' || run.steps[i].op === 'trace') return i;
  return 'total';
}

function pm(mean: number, ci: number, digits = 0): string {
  if (!Number.isFinite(mean)) return '';
  const m = mean.toLocaleString('en-US', { maximumFractionDigits: digits });
  return ci > 0 ? `${m} ± ${ci.toLocaleString('en-US', { maximumFractionDigits: digits })}` : m;
}

export function summaryRows(input: ResultsInput, opts: SummaryOptions = {}): Row[] {
  const runs = runsOf(input);
  const step = opts.step ?? 'total';
  const per = checkPer('summaryTable', opts.per) ?? 'run';
  const groups = groupRuns(runs, groupLabeller(runs));
  const variants = new Set(runs.map((r) => r.variant));
  let ov: ReturnType<typeof overheadData> | undefined;
  if (variants.size > 1) {
    try {
      ov = overheadData(runs, { baseline: opts.baseline, step });
    } catch {
      ov = undefined; // unpaired seeds: leave the column empty rather than fail the whole table
    }
  }
  const ovLabel = groupLabeller(runs, { omit: ['variant'], fallback: () => '' });
  const hasCtx = new Set(runs.map((r) => ovLabel(r))).size > 1;
  const rows: Row[] = [];
  for (const [label, rs] of groups) {
    const cyc = summarize(rs.map((r) => metricValue(r, 'cycles', step, per)));
    const c = rs.map((r) => stepOf(r, step).counters);
    const first = rs[0];
    const ctx = hasCtx ? ovLabel(first) : '';
    const o = ov?.summaries.find((s) => s.variant === first.variant && s.context === ctx);
    const isBase = ov !== undefined && first.variant === ov.baseline;
    const violations = mean(c.map((x) => Object.values(x.violations).reduce((a, b) => a + b, 0)));
    rows.push({
      group: label,
      runs: rs.length,
      seeds: [...new Set(rs.map((r) => r.seed))].sort((a, b) => a - b).join(', '),
      cycles: pm(cyc.mean, cyc.ci95, per === 'run' ? 0 : 1),
      overhead: isBase ? 'baseline' : o ? `${o.mean >= 0 ? '+' : ''}${o.mean.toFixed(2)}% ± ${o.ci95.toFixed(2)}%` : '',
      faults: mean(c.map((x) => x.faults.total)),
      dirtyPages: mean(c.map((x) => x.dirtyPages)),
      writebackPages: mean(c.map((x) => x.writebackPages)),
      tlbFlushes: mean(c.map((x) => x.tlbFlushes)),
      ipis: mean(c.map((x) => x.ipis)),
      violations,
    });
  }
  return rows;
}

/** Summary table of results (mean over seeds, ± = 95% CI half-width). */
export function summaryTable(input: ResultsInput, opts: SummaryOptions = {}): Table {
  const rows = summaryRows(input, opts);
  const showOverhead = rows.some((r) => r.overhead);
  const step = opts.step ?? 'total';
  const where = step === 'total' ? 'whole run' : `step ${stepOf(runsOf(input)[0], step).label}`;
  return new Table(rows, {
    title: opts.title ?? (step === 'total' ? undefined : `${where}, ${perText('cycles', opts.per)}`),
    columns: [
      { key: 'group', label: 'variant' },
      'runs',
      'seeds',
      { key: 'cycles', label: `${perText('cycles', opts.per)} (mean ± 95% CI)`, align: 'right' },
      ...(showOverhead ? [{ key: 'overhead', label: 'overhead (paired, ± 95% CI)', align: 'right' as const }] : []),
      { key: 'faults', label: 'faults' },
      { key: 'dirtyPages', label: 'dirty pages' },
      { key: 'writebackPages', label: 'writeback pages' },
      { key: 'tlbFlushes', label: 'TLB flushes' },
      { key: 'ipis', label: 'IPIs' },
      { key: 'violations', label: 'violations' },
    ],
    caption: `${where[0].toUpperCase()}${where.slice(1)}; means over seeds; ± is the half-width of the 95% Student-t confidence interval; overhead pairs each run with the baseline run of the same seed.`,
  });
}
