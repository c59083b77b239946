/**
 * Fidelity check: native totals of the composite scenarios against the model's prediction.
 * The predictor is passed in (the CLI wires src/lab/simulate.ts), so the cost layer does not
 * import the lab layer above it.
 */
import type { ProbeOutput } from './probe-runner';
import { spreadPct } from './probe-runner';

/**
 * A composite scenario as this check compares it: src/workload/check-scenarios.ts writes them (their
 * page orders come from the workload PRNG, above this layer), the probe measures them.
 */
export interface CheckScenario {
  /** the probe's name for the native measurement */
  name: string;
  title: string;
  /** an ExperimentSpec in the DESIGN.md JSON shape */
  spec: Record<string, unknown>;
  /** index of the first step after the initial mmap + fill; the probe also reports "<name>/after-fill" from there */
  afterFillStep: number;
}

export const CHECK_TOLERANCE_PCT = 25;

export interface CheckRow {
  name: string;
  title: string;
  /** median native total, TSC cycles */
  measured?: number;
  /** IQR / median of the native repetitions, percent */
  noisePct?: number;
  predicted?: number;
  /** (predicted - measured) / measured, percent */
  errorPct?: number;
  /** why a column is missing */
  problem?: string;
}

/** Predicted cycles of a scenario (in the probe's TSC cycles): per step, in spec order. Throws with the reason. */
export type Predictor = (scenario: CheckScenario) => { steps: number[] };

/**
 * Two rows per scenario: the total (from mmap on, as `total.cycles.total` of the run) and
 * "<name>/after-fill", the steps after the initial fill, which the first-touch faults (priced by
 * the calibrated fault.anonAlloc) do not dominate.
 */
export function compareCheck(scenarios: CheckScenario[], native: ProbeOutput, predict: Predictor): CheckRow[] {
  const rows: CheckRow[] = [];
  for (const sc of scenarios) {
    let steps: number[] | undefined;
    let predictProblem: string | undefined;
    try {
      steps = predict(sc).steps;
    } catch (e) {
      predictProblem = `prediction: ${(e as Error).message}`;
    }
    const sum = (from: number) => (steps ? steps.slice(from).reduce((a, b) => a + b, 0) : undefined);
    for (const [name, title, predicted] of [
      [sc.name, sc.title, sum(0)],
      [`${sc.name}/after-fill`, `${sc.title} (steps after the first fill)`, sum(sc.afterFillStep)],
    ] as [string, string, number | undefined][]) {
      const row: CheckRow = { name, title };
      const problems: string[] = [];
      const r = native.results.find((x) => x.name === name);
      if (!r) problems.push('not measured natively');
      else if (r.error) problems.push(`native: ${r.error}`);
      else {
        row.measured = r.median;
        row.noisePct = spreadPct(r);
      }
      if (predictProblem) problems.push(predictProblem);
      else row.predicted = predicted;
      if (row.measured !== undefined && row.predicted !== undefined) row.errorPct = ((row.predicted - row.measured) / row.measured) * 100;
      if (problems.length) row.problem = problems.join('; ');
      rows.push(row);
    }
  }
  return rows;
}

/** One row over repeated runs: each run's error, their median and range. */
export interface CheckSummaryRow {
  name: string;
  errors: number[];
  medianErrorPct?: number;
  minErrorPct?: number;
  maxErrorPct?: number;
}

/** Per row (rows in the same order in every run): the median error over the runs and its range. */
export function summarizeRuns(runs: CheckRow[][]): CheckSummaryRow[] {
  return runs[0].map((r0, i) => {
    const errors = runs.map((rows) => rows[i].errorPct).filter((e): e is number => e !== undefined);
    const sorted = [...errors].sort((x, y) => x - y);
    const n = sorted.length;
    const median = n === 0 ? undefined : n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    return { name: r0.name, errors, medianErrorPct: median, minErrorPct: sorted[0], maxErrorPct: sorted[n - 1] };
  });
}

/** true when every row has both numbers and |error| <= tolerance */
export function checkPassed(rows: CheckRow[], tolerancePct = CHECK_TOLERANCE_PCT): boolean {
  return rows.every((r) => r.errorPct !== undefined && Math.abs(r.errorPct) <= tolerancePct);
}

const fmt = (v: number | undefined, digits = 0) => (v === undefined || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: digits }));

export function formatCheckTable(rows: CheckRow[], tolerancePct = CHECK_TOLERANCE_PCT): string {
  const head = ['scenario', 'measured (cyc)', 'predicted (cyc)', 'error %', 'noise %', ''];
  const body = rows.map((r) => [
    r.name,
    fmt(r.measured),
    fmt(r.predicted),
    r.errorPct === undefined ? '-' : `${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)}`,
    fmt(r.noisePct, 1),
    r.errorPct === undefined ? 'n/a' : Math.abs(r.errorPct) <= tolerancePct ? 'ok' : `> ${tolerancePct}%`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  const out = [line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
  for (const r of rows) if (r.problem) out.push(`  ${r.name}: ${r.problem}`);
  out.push(CHECK_SIGN_CONVENTION);
  return out.join('\n');
}

/** How to read the error column (printed under every --check table). */
export const CHECK_SIGN_CONVENTION =
  'error % = (predicted - measured) / measured x 100: + means the model predicts more cycles than this host measured (it overestimates), - fewer (it underestimates); noise % is the measured spread (IQR / median).';
