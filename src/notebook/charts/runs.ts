/**
 * Chart inputs: results as `ResultsJson`, anything with a `runs` array (a ResultSet), or a plain
 * `RunResult[]`. Runs that differ only by seed or repeat are replicates of one *group*; a group is
 * labelled by whatever distinguishes it from the other groups (variant, CPU, swept parameters).
 */
import { stepIndex, type StepSelector } from '../../lab/per';
import type { Counters, Cycles, ResultsJson, RunResult } from '../../lab/types';

export type { StepSelector } from '../../lab/per';

export type ResultsInput = ResultsJson | { readonly runs: readonly RunResult[] } | readonly RunResult[];

export function runsOf(input: ResultsInput): RunResult[] {
  const runs = Array.isArray(input) ? input : (input as { runs?: unknown })?.runs;
  if (!Array.isArray(runs)) {
    throw new TypeError('charts: results must be a ResultsJson ({ptlab, runs}), a ResultSet or a RunResult[] (got no "runs" array)');
  }
  if (runs.length === 0) throw new Error('charts: results hold no runs; run an experiment first');
  runs.forEach((r: RunResult, i: number) => {
    if (!r || typeof r.variant !== 'string' || !r.total || !Array.isArray(r.steps)) {
      throw new TypeError(`charts: runs[${i}] is not a RunResult (needs variant, steps and total)`);
    }
  });
  return runs as RunResult[];
}

export interface StepView {
  cycles: Cycles;
  counters: Counters;
  label: string;
  /** the step's index (-1: the run total) */
  index: number;
}

/** The step a chart reads: the run total (default), an index, a step label, or {op}. */
export function stepOf(run: RunResult, sel: StepSelector = 'total'): StepView {
  const i = stepIndex(run, sel);
  if (i < 0) return { ...run.total, label: 'total', index: -1 };
  const step = run.steps[i];
  return { cycles: step.cycles, counters: step.counters, label: `${step.index}: ${step.label ?? step.op}`, index: i };
}

/** Parameters that only replicate a measurement, never tell groups apart. */
const REPLICATE_KEYS = new Set(['seed', 'repeat']);
/** Parameters that are the variant or CPU under another name. */
const ALIAS_KEYS = new Set(['kernel', 'variant', 'cpu', 'machine.cpu']);

function paramText(v: string | number | boolean): string {
  return String(v);
}

/** Swept parameters (besides seed/repeat/kernel/cpu) whose values differ across runs. */
export function varyingParams(runs: readonly RunResult[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const r of runs) {
    for (const [k, v] of Object.entries(r.params ?? {})) {
      if (REPLICATE_KEYS.has(k) || ALIAS_KEYS.has(k)) continue;
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(paramText(v));
    }
  }
  return [...values].filter(([, s]) => s.size > 1).map(([k]) => k);
}

export interface GroupOptions {
  /** leave these dimensions out of the label (e.g. the variant when it is the x axis) */
  omit?: readonly string[];
  /** label when nothing distinguishes the runs (default: the variant name) */
  fallback?: (r: RunResult) => string;
}

/** Label of a run's group: the varying ones of variant, cpu and swept parameters, joined by " · ". */
export function groupLabeller(runs: readonly RunResult[], opts: GroupOptions = {}): (r: RunResult) => string {
  const omit = new Set(opts.omit ?? []);
  const multiVariant = new Set(runs.map((r) => r.variant)).size > 1 && !omit.has('variant');
  const multiCpu = new Set(runs.map((r) => r.cpu)).size > 1 && !omit.has('cpu');
  const params = varyingParams(runs).filter((k) => !omit.has(k));
  return (r) => {
    const parts: string[] = [];
    if (multiVariant) parts.push(r.variant);
    if (multiCpu) parts.push(r.cpu);
    for (const k of params) parts.push(`${k}=${r.params?.[k] === undefined ? '-' : paramText(r.params[k])}`);
    return parts.length ? parts.join(' · ') : opts.fallback ? opts.fallback(r) : r.variant;
  };
}

/** Runs grouped by label, groups and runs in first-appearance order (so charts follow the spec order). */
export function groupRuns(runs: readonly RunResult[], label: (r: RunResult) => string): Map<string, RunResult[]> {
  const groups = new Map<string, RunResult[]>();
  for (const r of runs) {
    const k = label(r);
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(r);
  }
  return groups;
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Format a count for text summaries: 1234567 -> "1.23M". */
export function shortNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1e9) return `${(x / 1e9).toPrecision(3)}G`;
  if (a >= 1e6) return `${(x / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(x / 1e3).toPrecision(3)}k`;
  return Number.isInteger(x) ? String(x) : x.toPrecision(3);
}
