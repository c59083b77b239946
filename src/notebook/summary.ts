/**
 * The summary table of an experiment: one row per group (variant, CPU, swept parameters) with the
 * mean over seeds and a 95% CI (summarize(), src/lab/stats.ts) of total cycles, the paired overhead
 * against the baseline variant, and the counters the seed thread's trade-off is about: faults,
 * dirty and writeback pages, TLB flushes, IPIs and invariant violations.
 */
import { summarize } from '../lab/stats';
import { overheadData } from './charts/overhead';
import { groupLabeller, groupRuns, mean, runsOf, type ResultsInput } from './charts/runs';
import { Table, type Row } from './table';

export interface SummaryOptions {
  /** baseline variant for the overhead column (default: the first variant) */
  baseline?: string;
  title?: string;
}

function pm(mean: number, ci: number, digits = 0): string {
  if (!Number.isFinite(mean)) return '';
  const m = mean.toLocaleString('en-US', { maximumFractionDigits: digits });
  return ci > 0 ? `${m} ± ${ci.toLocaleString('en-US', { maximumFractionDigits: digits })}` : m;
}

export function summaryRows(input: ResultsInput, opts: SummaryOptions = {}): Row[] {
  const runs = runsOf(input);
  const groups = groupRuns(runs, groupLabeller(runs));
  const variants = new Set(runs.map((r) => r.variant));
  let ov: ReturnType<typeof overheadData> | undefined;
  if (variants.size > 1) {
    try {
      ov = overheadData(runs, { baseline: opts.baseline });
    } catch {
      ov = undefined; // unpaired seeds: leave the column empty rather than fail the whole table
    }
  }
  const ovLabel = groupLabeller(runs, { omit: ['variant'], fallback: () => '' });
  const hasCtx = new Set(runs.map((r) => ovLabel(r))).size > 1;
  const rows: Row[] = [];
  for (const [label, rs] of groups) {
    const cyc = summarize(rs.map((r) => r.total.cycles.total));
    const c = rs.map((r) => r.total.counters);
    const first = rs[0];
    const ctx = hasCtx ? ovLabel(first) : '';
    const o = ov?.summaries.find((s) => s.variant === first.variant && s.context === ctx);
    const isBase = ov !== undefined && first.variant === ov.baseline;
    const violations = mean(c.map((x) => Object.values(x.violations).reduce((a, b) => a + b, 0)));
    rows.push({
      group: label,
      runs: rs.length,
      seeds: [...new Set(rs.map((r) => r.seed))].sort((a, b) => a - b).join(', '),
      cycles: pm(cyc.mean, cyc.ci95),
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
  return new Table(rows, {
    title: opts.title,
    columns: [
      { key: 'group', label: 'variant' },
      'runs',
      'seeds',
      { key: 'cycles', label: 'cycles (mean ± 95% CI)', align: 'right' },
      ...(showOverhead ? [{ key: 'overhead', label: 'overhead (paired, ± 95% CI)', align: 'right' as const }] : []),
      { key: 'faults', label: 'faults' },
      { key: 'dirtyPages', label: 'dirty pages' },
      { key: 'writebackPages', label: 'writeback pages' },
      { key: 'tlbFlushes', label: 'TLB flushes' },
      { key: 'ipis', label: 'IPIs' },
      { key: 'violations', label: 'violations' },
    ],
    caption: 'Means over seeds; ± is the half-width of the 95% Student-t confidence interval; overhead pairs each run with the baseline run of the same seed.',
  });
}
