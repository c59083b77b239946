/**
 * Faults by kind (the fault path the kernel took, KERNEL_FAULT_KINDS in src/kernel/events.ts) next to
 * TLB flush requests and shootdown IPIs: the seed thread's trade-off in one picture (a write fault
 * saved by a policy may reappear as an extra flush or IPI).
 */
import { Chart } from '../chart';
import { groupLegend, PAGE_WIDTH } from './layout';
import { checkOptions, type OptionKeys } from './options';
import { groupLabeller, groupRuns, mean, runsOf, stepOf, type ResultsInput, type StepSelector } from './runs';

export interface FaultsFlushesOptions {
  step?: StepSelector;
  title?: string;
}

const KEYS: OptionKeys<FaultsFlushesOptions> = { step: true, title: true };

export interface KindRow {
  group: string;
  category: 'faults' | 'flushes';
  kind: string;
  count: number;
}

export function faultsAndFlushesRows(input: ResultsInput, opts: FaultsFlushesOptions = {}): KindRow[] {
  checkOptions('faultsAndFlushes', opts, KEYS);
  const runs = runsOf(input);
  const groups = groupRuns(runs, groupLabeller(runs));
  const rows: KindRow[] = [];
  const kinds = new Set<string>();
  for (const r of runs) for (const k of Object.keys(stepOf(r, opts.step).counters.faults.byKind)) kinds.add(k);
  const sortedKinds = [...kinds].sort();
  for (const [g, rs] of groups) {
    const views = rs.map((r) => stepOf(r, opts.step));
    for (const k of sortedKinds) {
      const v = mean(views.map((s) => s.counters.faults.byKind[k] ?? 0));
      if (v > 0) rows.push({ group: g, category: 'faults', kind: k, count: v });
    }
    rows.push({ group: g, category: 'flushes', kind: 'TLB flushes', count: mean(views.map((s) => s.counters.tlbFlushes)) });
    rows.push({ group: g, category: 'flushes', kind: 'shootdown IPIs', count: mean(views.map((s) => s.counters.ipis)) });
  }
  return rows;
}

export function faultsAndFlushes(input: ResultsInput, opts: FaultsFlushesOptions = {}): Chart {
  const rows = faultsAndFlushesRows(input, opts);
  const groups = [...new Set(rows.map((r) => r.group))];
  const part = (category: KindRow['category'], title: string) =>
    Chart.from({
      data: { values: rows.filter((r) => r.category === category) },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'kind', type: 'nominal', title: null },
        yOffset: { field: 'group', type: 'nominal', sort: groups },
        x: { field: 'count', type: 'quantitative', title },
        color: { field: 'group', type: 'nominal', sort: groups, title: null, legend: groupLegend(groups) },
      },
      width: Math.floor((PAGE_WIDTH - 120) / 2),
    });
  const summary = groups
    .map((g) => {
      const rs = rows.filter((r) => r.group === g);
      const faults = rs.filter((r) => r.category === 'faults').map((r) => `${r.kind} ${r.count.toFixed(0)}`);
      const fl = rs.filter((r) => r.category === 'flushes').map((r) => `${r.kind} ${r.count.toFixed(0)}`);
      return `${g}: faults ${faults.join(', ') || 'none'}; ${fl.join(', ')}`;
    })
    .join('\n');
  const faults = part('faults', 'faults (mean over seeds)');
  const flushes = part('flushes', 'count (mean over seeds)');
  return Chart.hconcat(faults, flushes)
    .properties({ resolve: { scale: { y: 'independent', x: 'independent' } } })
    .describe(summary)
    .title({ text: opts.title ?? 'Faults by kind, TLB flushes and IPIs' });
}
