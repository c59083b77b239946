/**
 * PTE map: one cell per page of an `inspect` step, coloured by what the PTE allows — not present
 * (none, swap, uffd-wp marker, migration entry), read-only, or writable (`pte_write()`) — and
 * lettered with the bits the seed thread argues about: A = `pte_young()` (PTE.A), D = `pte_dirty()`
 * (PTE.D), u = the uffd-wp bit (of the PTE, swap entry or marker). A page that is RW but lacks A/D
 * is exactly the "made writable without a fault" case: its first write costs the CPU an A/D assist.
 * When the map holds huge pages, each cell's outline tells how the page is mapped: by a PMD leaf
 * (a 2 MiB THP or the huge zero page: one A/D pair for all 512 pages), or by a PTE of a large
 * folio (mTHP, or a THP whose PMD was split: A/D per page).
 */
import type { PageFlags } from '../../kernel/task_mmu';
import type { InspectRow, RunResult } from '../../lab/types';
import { Chart } from '../chart';
import { stepIndex } from '../../lab/per';
import { checkOptions, type OptionKeys } from './options';
import { groupLabeller, groupRuns, runsOf, type ResultsInput } from './runs';

export type PteState = 'not present' | 'RO' | 'RW';
export type PteMapping = '4 KiB page' | 'PMD-mapped THP' | 'PTE-mapped large folio';
const MAPPINGS: readonly PteMapping[] = ['4 KiB page', 'PMD-mapped THP', 'PTE-mapped large folio'];
/** outline colours: none for plain pages, black for PMD leaves, green for PTE-mapped large folios */
export const PTE_MAPPING_COLORS: Readonly<Record<PteMapping, string>> = Object.freeze({
  '4 KiB page': 'transparent',
  'PMD-mapped THP': '#000000',
  'PTE-mapped large folio': '#54a24b',
});

export function pteMapping(row: InspectRow): PteMapping {
  if (row.huge) return 'PMD-mapped THP';
  return row.present && row.thp ? 'PTE-mapped large folio' : '4 KiB page';
}

/** Fixed colours so every map in a notebook reads the same way (Tableau 10 blue/orange, grey). */
export const PTE_STATE_COLORS: Readonly<Record<PteState, string>> = Object.freeze({
  'not present': '#d9d9d9',
  RO: '#4c78a8',
  RW: '#f58518',
});
const STATES: readonly PteState[] = ['not present', 'RO', 'RW'];

export function pteState(row: InspectRow): PteState {
  if (!row.present) return 'not present';
  return row.write ? 'RW' : 'RO';
}

/** The letters drawn in a cell: "A", "D", "u" for the bits that are set. */
export function pteFlags(row: InspectRow): string {
  return `${row.young ? 'A' : ''}${row.dirty ? 'D' : ''}${row.uffdWp ? 'u' : ''}`;
}

export interface PteMapOptions {
  /** pages per row of the grid (default 32, or 64 for maps over 512 pages) */
  columns?: number;
  /** step index of the inspect step when given runs (default: the first step with inspect rows) */
  step?: number | string;
  /** draw the A/D/u letters (default: when at most 1024 pages per map) */
  flags?: boolean;
  title?: string;
}

const KEYS: OptionKeys<PteMapOptions> = { columns: true, step: true, flags: true, title: true };

export type PteMapInput = readonly InspectRow[] | Readonly<Record<string, readonly InspectRow[]>> | ResultsInput;

/** One cell of the map: where it is drawn, its state and flags, and the page's bits. */
export type PteCell = { map: string; page: number; col: number; row: number; state: PteState; flags: string; entry: string; mapping: PteMapping } & Omit<PageFlags, 'present' | 'write'>;

function isInspectRows(x: unknown): x is readonly InspectRow[] {
  return Array.isArray(x) && (x.length === 0 || (typeof x[0] === 'object' && x[0] !== null && 'page' in x[0] && 'present' in x[0]));
}

function inspectOf(run: RunResult, step?: number | string): InspectRow[] {
  const s = step === undefined ? run.steps.find((st) => st.inspect && st.inspect.length > 0) : run.steps[stepIndex(run, step)];
  if (!s || !s.inspect) {
    throw new Error(`pteMap: run ${run.id} has no inspect rows${step === undefined ? '' : ` at step ${step}`}; add {"op": "inspect", "region": ...} to the spec`);
  }
  return s.inspect;
}

/** Named maps from any accepted input: inspect rows, {label: rows}, or results (first seed per group). */
export function pteMaps(input: PteMapInput, step?: number | string): Map<string, readonly InspectRow[]> {
  if (isInspectRows(input)) return new Map([['pages', input]]);
  const looksLikeRuns = Array.isArray(input) || (typeof input === 'object' && input !== null && Array.isArray((input as { runs?: unknown }).runs));
  if (looksLikeRuns) {
    const runs = runsOf(input as ResultsInput);
    const out = new Map<string, readonly InspectRow[]>();
    for (const [label, rs] of groupRuns(runs, groupLabeller(runs))) {
      // one map per group: the lowest seed (the PTE state is a snapshot, not averaged)
      const first = [...rs].sort((a, b) => a.seed - b.seed || a.repeat - b.repeat)[0];
      out.set(label, inspectOf(first, step));
    }
    return out;
  }
  const out = new Map<string, readonly InspectRow[]>();
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    if (!isInspectRows(v)) throw new TypeError(`pteMap: "${k}" is not an array of inspect rows ({page, present, write, young, dirty, uffdWp, ...})`);
    out.set(k, v);
  }
  return out;
}

/** Default grid width: 32 pages a row keeps letters legible; big regions get 64 so the map stays short. */
function defaultColumns(maps: Map<string, readonly InspectRow[]>): number {
  const most = Math.max(0, ...[...maps.values()].map((rows) => rows.length));
  return most > 512 ? 64 : 32;
}

export function pteCells(input: PteMapInput, opts: PteMapOptions = {}): PteCell[] {
  return pteGrid(input, opts).cells;
}

/** Cells and the number of pages per grid row they were laid out with. */
export function pteGrid(input: PteMapInput, opts: PteMapOptions = {}): { cells: PteCell[]; columns: number } {
  checkOptions('pteMap', opts, KEYS);
  const maps = pteMaps(input, opts.step);
  const columns = opts.columns ?? defaultColumns(maps);
  if (!(Number.isInteger(columns) && columns >= 1)) throw new RangeError(`pteMap: columns must be a whole number >= 1 (got ${columns})`);
  const cells: PteCell[] = [];
  for (const [map, rows] of maps) {
    for (const r of rows) {
      cells.push({
        map,
        page: r.page,
        col: r.page % columns,
        row: Math.floor(r.page / columns),
        state: pteState(r),
        flags: pteFlags(r),
        young: r.young,
        dirty: r.dirty,
        uffdWp: r.uffdWp,
        softDirty: r.softDirty,
        exclusive: r.exclusive,
        special: r.special,
        entry: r.entry ?? (r.present ? 'present' : 'none'),
        mapping: pteMapping(r),
      });
    }
  }
  return { cells, columns };
}

export function pteMap(input: PteMapInput, opts: PteMapOptions = {}): Chart {
  const { cells, columns: perRow } = pteGrid(input, opts);
  const maps = [...new Set(cells.map((c) => c.map))];
  // a map shorter than one row is drawn only as wide as it is
  const columns = cells.every((c) => c.row === 0) ? Math.max(1, ...cells.map((c) => c.col + 1)) : perRow;
  const rows = Math.max(1, ...cells.map((c) => c.row + 1));
  const perMap = Math.max(...maps.map((m) => cells.filter((c) => c.map === m).length), 0);
  const showFlags = opts.flags ?? perMap <= 1024;
  // 18 px cells fit two or three letters; without letters 8 px cells keep a 4096-page map ~512 px
  const cell = showFlags ? 18 : 8;
  const x = { field: 'col', type: 'ordinal' as const, title: null, axis: null, scale: { domain: Array.from({ length: columns }, (_, i) => i) } };
  const y = { field: 'row', type: 'ordinal' as const, title: null, axis: { title: null, labelOverlap: "parity" as const, labelExpr: `datum.value * ${perRow}` } };
  const layers: object[] = [
    {
      mark: { type: 'rect', stroke: 'white', strokeWidth: showFlags ? 1 : 0.5, tooltip: true },
      encoding: {
        x,
        y,
        color: { field: 'state', type: 'nominal', title: 'PTE', scale: { domain: [...STATES], range: STATES.map((s) => PTE_STATE_COLORS[s]) } },
        tooltip: ['page', 'state', 'young', 'dirty', 'uffdWp', 'softDirty', 'exclusive', 'special', 'entry', 'mapping'].map((f) => ({ field: f })),
      },
    },
  ];
  if (cells.some((c) => c.mapping !== '4 KiB page')) {
    // how each page is mapped, as the cell's outline (drawn only when the map has huge pages)
    layers.push({
      mark: { type: 'rect', filled: false, strokeWidth: showFlags ? 1.5 : 1 },
      encoding: {
        x,
        y,
        stroke: { field: 'mapping', type: 'nominal', title: 'mapping', scale: { domain: [...MAPPINGS], range: MAPPINGS.map((m) => PTE_MAPPING_COLORS[m]) } },
      },
    });
  }
  if (showFlags) {
    layers.push({
      mark: { type: 'text', fontSize: 8, baseline: 'middle' },
      encoding: {
        x,
        y,
        text: { field: 'flags' },
        color: { condition: { test: "datum.state === 'not present'", value: '#333' }, value: 'white' },
      },
    });
  }
  const unit = { width: columns * cell, height: rows * cell, layer: layers };
  const spec =
    maps.length > 1
      ? { data: { values: cells }, facet: { row: { field: 'map', type: 'nominal' as const, sort: maps, title: null, header: { labelAngle: 0, labelOrient: 'top' as const, labelAnchor: 'start' as const, labelFontWeight: 'bold' as const } } }, spec: unit }
      : { data: { values: cells }, ...unit };
  const counts = (m: string) => STATES.map((s) => `${s} ${cells.filter((c) => c.map === m && c.state === s).length}`).join(', ');
  const bits = (m: string) => {
    const cs = cells.filter((c) => c.map === m && c.state !== 'not present');
    return `A ${cs.filter((c) => c.young).length}, D ${cs.filter((c) => c.dirty).length}, uffd-wp ${cells.filter((c) => c.map === m && c.uffdWp).length}`;
  };
  const huge = (m: string) => {
    const pmd = cells.filter((c) => c.map === m && c.mapping === 'PMD-mapped THP').length;
    const pte = cells.filter((c) => c.map === m && c.mapping === 'PTE-mapped large folio').length;
    return pmd || pte ? `; PMD-mapped ${pmd}, PTE-mapped large folio ${pte}` : '';
  };
  const summary = maps.map((m) => `${m}: ${counts(m)}; ${bits(m)}${huge(m)}`).join('\n');
  return Chart.from(spec, summary).title({
    text: opts.title ?? 'PTE map',
    subtitle: `${perRow} pages per row (row labels: first page); ${showFlags ? 'letters: A = young (PTE.A), D = dirty (PTE.D), u = uffd-wp' : 'hover a page for its bits'}`,
  });
}
