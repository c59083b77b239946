/**
 * Flattens RunResults into tidy rows (one per run x step x metric), the shape charts, tables and
 * statistics read. Metric names: `cycles.total`, `cycles.<event>`, then the counters flattened
 * with dots — `faults.total`, `faults.byKind.<kind>`, `tlb.hits`, `walks`, ..., `violations.<kind>`.
 * The raw `events` map is left out unless asked for (it repeats what cycles.<event> shows).
 */
import type { Counters, Cycles, RunResult, TidyRow } from './types';

export interface TidyOptions {
  /** include `events.<name>` raw counts (default false) */
  events?: boolean;
}

/** Metric name -> value of one step (or the total), in a stable order. */
export function flattenMetrics(cycles: Cycles, counters: Counters, opts: TidyOptions = {}): [string, number][] {
  const out: [string, number][] = [['cycles.total', cycles.total]];
  for (const [ev, v] of Object.entries(cycles.byEvent)) out.push([`cycles.${ev}`, v]);
  flatten(counters, '', out, opts.events === true);
  return out;
}

function flatten(o: object, prefix: string, out: [string, number][], events: boolean): void {
  for (const [k, v] of Object.entries(o)) {
    if (!prefix && k === 'events' && !events) continue;
    const name = prefix + k;
    if (typeof v === 'number') out.push([name, v]);
    else if (typeof v === 'boolean') out.push([name, v ? 1 : 0]);
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v, name + '.', out, events);
  }
}

/**
 * What a native run observes (src/fidelity/timed.ts): cycles, faults and accesses. Its other
 * counters (TLB, walks, A/D updates, flushes, dirty pages, ...) are not visible from user space;
 * they are 0 in its JSON and left out of its tidy rows, so no chart or table shows them as zeros.
 */
export function isNativeMetric(metric: string): boolean {
  return metric.startsWith('cycles.') || metric.startsWith('faults.') || metric === 'accesses';
}

/** Tidy rows of runs: each step (index >= 0) and the total (step -1, op "total"). */
export function tidyRows(runs: readonly RunResult[], opts: TidyOptions = {}): TidyRow[] {
  const rows: TidyRow[] = [];
  for (const r of runs) {
    const source = r.source ?? 'model';
    const keep = source === 'native' ? isNativeMetric : () => true;
    const base = { run: r.id, source, name: r.name, variant: r.variant, cpu: r.cpu, seed: r.seed, repeat: r.repeat, params: r.params };
    for (const s of r.steps) {
      const label = s.label !== undefined ? { label: s.label } : {};
      for (const [metric, value] of flattenMetrics(s.cycles, s.counters, opts)) if (keep(metric)) rows.push({ ...base, step: s.index, op: s.op, ...label, metric, value });
    }
    for (const [metric, value] of flattenMetrics(r.total.cycles, r.total.counters, opts)) if (keep(metric)) rows.push({ ...base, step: -1, op: 'total', metric, value });
  }
  return rows;
}
