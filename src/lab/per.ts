/**
 * Units: a metric per run (as measured), per page (the pages the step selects: its region, or
 * its `pages`), per access (the step's simulated accesses) or per fault (its page faults). The
 * question is nearly always "cycles per first write", so charts, tables and summaries take
 * `per:` instead of every notebook dividing by hand.
 */
import type { Counters, RunResult } from './types';

export const PER_UNITS = ['run', 'page', 'access', 'fault'] as const;
export type Per = (typeof PER_UNITS)[number];

/** Which step: its index, its label (from the spec), 'total' (= -1), or the first step with this op. */
export type StepSelector = 'total' | number | string | { op: string };

/** The index of the step `sel` names in `run` (-1 = the total); throws naming the steps there are. */
export function stepIndex(run: RunResult, sel: StepSelector = 'total'): number {
  if (sel === 'total' || sel === -1) return -1;
  let i: number;
  if (typeof sel === 'number') i = sel >= 0 && sel < run.steps.length ? sel : -2;
  else if (typeof sel === 'string') i = run.steps.findIndex((s) => s.label === sel);
  else i = run.steps.findIndex((s) => s.op === sel.op);
  if (i < 0) {
    const what = typeof sel === 'number' ? `index ${sel}` : typeof sel === 'string' ? `label "${sel}"` : `op "${sel.op}"`;
    const names = run.steps.map((s) => `${s.index}: ${s.label ?? s.op}`).join(', ');
    throw new RangeError(`step ${what} does not exist in run ${run.id} (its steps: ${names}); select a step by index, label, {op}, or 'total'`);
  }
  return i;
}

/** What one unit of `per` is in a step (or the total, step -1): NaN when the step has none. */
export function perDivisor(run: RunResult, step: number, per: Per): number {
  if (per === 'run') return 1;
  const view: { counters: Counters; pages?: number } = step < 0 ? { counters: run.total.counters, pages: Math.max(0, ...run.steps.map((s) => s.pages ?? 0)) } : run.steps[step];
  const n = per === 'page' ? view.pages ?? 0 : per === 'access' ? view.counters.accesses : view.counters.faults.total;
  return n > 0 ? n : NaN;
}

/** Axis and column wording: "cycles per page". */
export function perText(metric: string, per: Per | undefined): string {
  return per && per !== 'run' ? `${metric} per ${per}` : metric;
}

export function checkPer(where: string, per: unknown): Per | undefined {
  if (per === undefined) return undefined;
  if (!(PER_UNITS as readonly unknown[]).includes(per)) throw new TypeError(`${where}: per must be one of ${PER_UNITS.join(', ')} (got ${JSON.stringify(per)})`);
  return per as Per;
}
