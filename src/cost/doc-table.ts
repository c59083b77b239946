/**
 * Prints the tables of docs/cost-model.md: every event's effective cycles on every shipped
 * profile, the source of each number, and the TLB geometry with sources.
 *   node dist/src/cost/doc-table.js > /tmp/tables.md
 */
import { COST_EVENTS, type CostEvent } from './cost-events';
import { effectiveCycles } from './model';
import { getProfile, measuredProfiles, SHIPPED_PROFILES } from './registry';
import { regimePrice, walkMemRefCycles, dataLatency } from './regime';
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
  const out = ['| event | profiles | source | regime | note |', '|---|---|---|---|---|'];
  for (const ev of COST_EVENTS) {
    const groups = new Map<string, { names: string[]; source: string; note: string; regime: string }>();
    for (const p of profiles) {
      const c = p.costs[ev];
      const note = (c.note ?? '').replace(/; carried over in cycles from (a \w+ measurement|Zen 3 \(EPYC Milan\))/, '');
      const key = `${c.source}\u0000${note}\u0000${c.regime ?? ''}`;
      const g = groups.get(key) ?? { names: [], source: c.source, note, regime: c.regime ?? '' };
      g.names.push(p.name);
      groups.set(key, g);
    }
    for (const g of groups.values()) out.push(`| \`${ev}\` | ${g.names.length === profiles.length ? 'all' : g.names.join(', ')} | ${ref(g.source)} | ${esc(g.regime)} | ${esc(g.note)} |`);
  }
  out.push('', 'Sources:', '');
  legend.forEach((s, i) => out.push(`${i + 1}. ${s}`));
  return out.join('\n');
}

export function geometryTable(profiles: CpuProfile[]): string {
  const out = ['| profile | model | clock GHz | L1 DTLB 4K | STLB 4K | L1 DTLB 2M | PSC (PML4E/PDPTE/PDE) | host page (guests) | sources |', '|---|---|---:|---|---|---:|---|---|---|'];
  for (const p of profiles) {
    const t = p.definition.tlb;
    const srcs = new Set<string>();
    const add = (s: Sourced) => srcs.add(`${s.source}${s.kind === 'estimate' ? ' (estimate' + (s.note ? ': ' + s.note : '') + ')' : ''}`);
    [t.l1d.entries, t.l1d.ways, t.stlb.entries, t.stlb.ways, t.l1d2m].forEach(add);
    // (bare metal: none; a guest on 4 KiB host pages caches its 2 MiB pages as 4 KiB entries)
    const host = t.hostPageKiB ? `${t.hostPageKiB.value === 4 ? '4 KiB' : '2 MiB'} ${KIND[t.hostPageKiB.kind]}` : '-';
    if (t.hostPageKiB) add(t.hostPageKiB);
    out.push(
      `| ${p.name} | ${p.model} | ${p.clockGHz} | ${p.tlb.l1d.entries} x ${p.tlb.l1d.ways}-way | ${p.tlb.stlb.entries} x ${p.tlb.stlb.ways}-way | ${p.tlb.l1d2m} | ${p.tlb.psc.pml4e}/${p.tlb.psc.pdpte}/${p.tlb.psc.pde} (estimate) | ${host} | ${esc([...srcs].join('; '))} |`,
    );
  }
  return out.join('\n');
}

const KIB = 1024;
const fmtBytes = (b: number) => (b >= 1 << 20 ? `${+(b / (1 << 20)).toFixed(2)} MiB` : `${+(b / KIB).toFixed(0)} KiB`);

export function memoryTable(profiles: CpuProfile[]): string {
  const out = ['| profile | L1D | L2 | LLC | DRAM cycles | MLP | PT share | store drain | kinds (L1/L2 latency, LLC, DRAM, MLP, PT share, store drain) |', '|---|---|---|---|---:|---:|---:|---:|---|'];
  for (const p of profiles) {
    const d = p.definition.memory;
    const m = p.memory;
    out.push(
      `| ${p.name} | ${fmtBytes(m.l1dBytes)}, ${m.l1dCycles} cyc | ${fmtBytes(m.l2Bytes)}, ${m.l2Cycles} cyc | ${fmtBytes(m.llcBytes)}, ${m.llcCycles} cyc | ${m.dramCycles} | ${m.mlp} | ${m.ptShare} | ${m.storeDrain} | ${[d.l2.cycles, d.llc.cycles, d.dramCycles, d.mlp].map((x) => KIND[x.kind]).join(' ')} ${d.ptShare ? KIND[d.ptShare.kind] : 'E'} ${d.storeDrain ? KIND[d.storeDrain.kind] : 'E'} |`,
    );
  }
  return out.join('\n');
}

/** The regime rule per profile: an A update's extra cycles per page, and a walk reference, at two footprints. */
export function regimeTable(profiles: CpuProfile[]): string {
  const sizes = [{ mib: 128, pages: 32768 }, { mib: 1024, pages: 262144 }];
  const head = ['profile', ...sizes.flatMap((s) => [`A dep ${s.mib} MiB`, `A ind ${s.mib} MiB`]), ...sizes.map((s) => `walkMemRef ${s.mib} MiB (random)`), ...sizes.map((s) => `data miss ${s.mib} MiB`)];
  const out = [`| ${head.join(' | ')} |`, `|---|${head.slice(1).map(() => '---:').join('|')}|`];
  for (const p of profiles) {
    const cells = [
      ...sizes.flatMap((s) => [
        regimePrice(p, 'aBitSet', { dependence: 'dependent', footprintPages: s.pages }),
        regimePrice(p, 'aBitSet', { dependence: 'independent', footprintPages: s.pages, sequential: true }),
      ]),
      ...sizes.map((s) => walkMemRefCycles(p, s.pages)),
      ...sizes.map((s) => dataLatency(p, s.pages)),
    ];
    out.push(`| ${p.name} | ${cells.map((c) => Math.round(c).toLocaleString('en-US')).join(' | ')} |`);
  }
  return out.join('\n');
}

export function docTables(names: string[] = [...SHIPPED_PROFILES.map((d) => d.name), ...measuredProfiles()]): string {
  const profiles = names.map((n) => getProfile(n));
  return [
    '### The regime rule per profile (cycles; A ind = an address-order read stream, A dep = a random pointer chase)',
    '',
    regimeTable(profiles),
    '',
    '### Memory hierarchy (M measured, P published, E estimate)',
    '',
    memoryTable(profiles),
    '',
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
