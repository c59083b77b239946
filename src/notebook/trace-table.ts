/**
 * The per-PTE event trace as a table ("why did page 17 do that?"): one row per event that touched
 * a traced page, in order, with the step it happened in, the kernel function or hardware
 * mechanism, and the PTE before and after. Runs come from `trace: { pages: [...] }` on a step or
 * on the whole experiment (docs/spec.md).
 */
import type { RunResult } from '../lab/types';
import { runsOf, type ResultsInput } from './charts/runs';
import { checkOptions, type OptionKeys } from './charts/options';
import { Table, type Row } from './table';

export interface TraceTableOptions {
  /** only this page (index in its region) */
  page?: number;
  /** only runs of this variant (default: every run that traced) */
  variant?: string;
  /** only the first run of each variant (default true: seeds usually repeat the story) */
  firstSeedOnly?: boolean;
  /** leave out L1/STLB hits (default false) */
  hideHits?: boolean;
  title?: string;
}

const KEYS: OptionKeys<TraceTableOptions> = { page: true, variant: true, firstSeedOnly: true, hideHits: true, title: true };

/** The trace rows of these results (one per event), with the run and step they belong to. */
export function traceRows(input: ResultsInput, opts: TraceTableOptions = {}): Row[] {
  checkOptions('traceTable', opts, KEYS);
  const runs = runsOf(input).filter((r) => opts.variant === undefined || r.variant === opts.variant);
  const seen = new Set<string>();
  const picked: RunResult[] = [];
  for (const r of runs) {
    if ((opts.firstSeedOnly ?? true) && seen.has(r.variant)) continue;
    if (!r.steps.some((s) => s.pteTrace && s.pteTrace.length > 0)) continue;
    seen.add(r.variant);
    picked.push(r);
  }
  if (picked.length === 0) {
    throw new Error(`traceTable: no run${opts.variant ? ` of "${opts.variant}"` : ''} recorded a trace; add trace: { pages: [17] } to a step or to the experiment (.trace([17]) in the builder)`);
  }
  const multi = new Set(picked.map((r) => r.variant)).size > 1;
  const rows: Row[] = [];
  for (const r of picked) {
    for (const s of r.steps) {
      for (const e of s.pteTrace ?? []) {
        if (opts.page !== undefined && e.page !== opts.page) continue;
        if (opts.hideHits && (e.event.startsWith('tlbL1Hit') || e.event.startsWith('stlbHit'))) continue;
        rows.push({
          ...(multi ? { variant: r.variant } : {}),
          step: s.label ? `${s.index}: ${s.label}` : `${s.index}: ${s.op}`,
          page: e.page,
          kind: e.kind,
          event: e.count > 1 ? `${e.event} ×${e.count}` : e.event,
          function: e.fn,
          cpu: e.cpu,
          'PTE before': e.before,
          'PTE after': e.after,
        });
      }
    }
  }
  return rows;
}

/** The trace as a Table (`await traceTable(results, { page: 17 }).show()`). */
export function traceTable(input: ResultsInput, opts: TraceTableOptions = {}): Table {
  const rows = traceRows(input, opts);
  const pages = [...new Set(rows.map((r) => r.page))].join(', ');
  return new Table(rows, { title: opts.title ?? `Events that touched page ${pages}`, caption: 'in order; hardware events of one access are counted together, PTE writes name the kernel functions on the call stack' });
}
