/**
 * Prints the tables of docs/cost-model.md: every event's effective cycles on every shipped
 * profile, the source of each number, and the TLB geometry with sources.
 *   node dist/src/cost/doc-table.js > /tmp/tables.md
 */
import { COST_EVENTS, type CostEvent } from './cost-events';
import { effectiveCycles } from './model';
import { getProfile, SHIPPED_PROFILES } from './registry';
import type { CpuProfile } from './profile';
import type { Sourced } from './sourced';

const KIND = { measured: 'M', published: 'P', estimate: 'E' } as const;

function cell(p: CpuProfile, ev: CostEvent): string {
  const c = p.costs[ev];
  return `${Math.round(effectiveCycles(p, ev)).toLocaleString('en-US')} ${KIND[c.kind]}`;
}

const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function cyclesTable(profiles: CpuProfile[]): string {
  const head = `| event | ${profiles.map((p) => p.name).join(' | ')} |`;
  const sep = `|---|${profiles.map(() => '---:').join('|')}|`;
  const rows = COST_EVENTS.map((ev) => `| \`${ev}\` | ${profiles.map((p) => cell(p, ev)).join(' | ')} |`);
  return [head, sep, ...rows].join('\n');
}

/**
 * Sources per event, as numbers into a legend (the citations are long and shared by many events);
 * profiles whose entry differs are listed on their own row.
 */
export function sourcesTable(profiles: CpuProfile[]): string {
  const legend: string[] = [];
  const ref = (source: string) => {
    let i = legend.indexOf(source);
    if (i < 0) i = legend.push(source) - 1;
    return `[${i + 1}]`;
  };
  const out = ['| event | profiles | source | note |', '|---|---|---|---|'];
  for (const ev of COST_EVENTS) {
    const groups = new Map<string, { names: string[]; source: string; note: string }>();
    for (const p of profiles) {
      const c = p.costs[ev];
      const note = (c.note ?? '').replace(/; carried over in cycles from (a \w+ measurement|Zen 3 \(EPYC Milan\))/, '');
      const key = `${c.source}\u0000${note}`;
      const g = groups.get(key) ?? { names: [], source: c.source, note };
      g.names.push(p.name);
      groups.set(key, g);
    }
    for (const g of groups.values()) out.push(`| \`${ev}\` | ${g.names.length === profiles.length ? 'all' : g.names.join(', ')} | ${ref(g.source)} | ${esc(g.note)} |`);
  }
  out.push('', 'Sources:', '');
  legend.forEach((s, i) => out.push(`${i + 1}. ${s}`));
  return out.join('\n');
}

export function geometryTable(profiles: CpuProfile[]): string {
  const out = ['| profile | model | clock GHz | L1 DTLB 4K | STLB 4K | L1 DTLB 2M | PSC (PML4E/PDPTE/PDE) | sources |', '|---|---|---:|---|---|---:|---|---|'];
  for (const p of profiles) {
    const t = p.definition.tlb;
    const srcs = new Set<string>();
    const add = (s: Sourced) => srcs.add(`${s.source}${s.kind === 'estimate' ? ' (estimate' + (s.note ? ': ' + s.note : '') + ')' : ''}`);
    [t.l1d.entries, t.l1d.ways, t.stlb.entries, t.stlb.ways, t.l1d2m].forEach(add);
    out.push(
      `| ${p.name} | ${p.model} | ${p.clockGHz} | ${p.tlb.l1d.entries} x ${p.tlb.l1d.ways}-way | ${p.tlb.stlb.entries} x ${p.tlb.stlb.ways}-way | ${p.tlb.l1d2m} | ${p.tlb.psc.pml4e}/${p.tlb.psc.pdpte}/${p.tlb.psc.pde} (estimate) | ${esc([...srcs].join('; '))} |`,
    );
  }
  return out.join('\n');
}

export function docTables(names: string[] = SHIPPED_PROFILES.map((d) => d.name)): string {
  const profiles = names.map((n) => getProfile(n));
  return [
    '### Cycles per event (M measured, P published for this core family, E estimate)',
    '',
    cyclesTable(profiles),
    '',
    '### Where each number comes from',
    '',
    sourcesTable(profiles),
    '',
    '### TLB geometry',
    '',
    geometryTable(profiles),
    '',
  ].join('\n');
}

if (require.main === module) process.stdout.write(docTables(process.argv.slice(2).length ? process.argv.slice(2) : undefined));
