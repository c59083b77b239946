/**
 * Metric names used by charts and tables, resolved against a step's (or the total's) cycles and
 * counters (src/lab/types.ts). Examples: `cycles`, `cycles.dBitSet`, `faults`, `faults.wpReuse`,
 * `dirtyPages`, `writebackPages`, `tlbFlushes`, `ipis`, `tlb.misses`, `events.walk`, `violations`.
 */
import { perDivisor, type Per } from '../../lab/per';
import type { RunResult } from '../../lab/types';
import { stepOf, type StepSelector, type StepView } from './runs';

export type MetricSpec = string | ((run: RunResult) => number);

const COUNTER_NUMBERS = ['walks', 'walkMemRefs', 'aBitSets', 'dBitSets', 'tlbFlushes', 'ipis', 'dirtyPages', 'writebackPages', 'swapOutPages', 'accesses'] as const;
const KNOWN = ['cycles', 'cycles.<event>', 'faults', 'faults.<kind>', 'tlb.hits', 'tlb.misses', 'tlb.l1Hits', 'tlb.stlbHits', ...COUNTER_NUMBERS, 'violations', 'violations.<name>', 'events.<event>'];

function sum(rec: Record<string, number> | undefined): number {
  let s = 0;
  for (const v of Object.values(rec ?? {})) s += v;
  return s;
}

/** Value of `metric` in one step view; unknown names throw with the list of valid names. */
export function metricOf(view: StepView, metric: string): number {
  const [head, ...rest] = metric.split('.');
  const tail = rest.join('.');
  const c = view.counters;
  switch (head) {
    case 'cycles':
      if (!tail || tail === 'total') return view.cycles.total;
      return view.cycles.byEvent[tail.replace(/^byEvent\./, '')] ?? 0;
    case 'faults':
      if (!tail || tail === 'total') return c.faults.total;
      return c.faults.byKind[tail.replace(/^byKind\./, '')] ?? 0;
    case 'violations':
      return tail ? c.violations[tail] ?? 0 : sum(c.violations);
    case 'events':
      if (tail) return c.events[tail] ?? 0;
      break;
    case 'tlb':
      if (tail === 'hits' || tail === 'misses' || tail === 'l1Hits' || tail === 'stlbHits') return c.tlb[tail];
      break;
    default:
      if (!tail && (COUNTER_NUMBERS as readonly string[]).includes(head)) return c[head as (typeof COUNTER_NUMBERS)[number]];
  }
  throw new Error(`unknown metric "${metric}": use one of ${KNOWN.join(', ')}`);
}

/** Value of a metric for a run at a step (per page, access or fault if asked); a function metric gets the whole run. */
export function metricValue(run: RunResult, metric: MetricSpec, step: StepSelector = 'total', per: Per = 'run'): number {
  if (typeof metric === 'function') return metric(run);
  const view = stepOf(run, step);
  return metricOf(view, metric) / perDivisor(run, view.index, per);
}

/** Axis title for a metric: "cycles per page". */
export function metricTitle(metric: MetricSpec, per?: Per): string {
  const name = typeof metric === 'function' ? metric.name || 'value' : metric;
  return per && per !== 'run' ? `${name} per ${per}` : name;
}
