/**
 * The region table of a captured program, built from what the capture saw:
 *  - snapshots of /proc/<pid>/maps taken while it ran (the file behind each mapping, its
 *    protection, shared or private). Under valgrind the process's maps hold the client's mappings
 *    and valgrind's own; valgrind's are never touched by the client, so they drop out below.
 *  - the brk heap's bounds from the traced brk calls (valgrind emulates brk in an anonymous
 *    mapping, so maps cannot say which mapping is the heap);
 *  - the pages the program touched.
 * Only mappings the program touched become regions. Mappings seen overlapping in different
 * snapshots (an mprotect split, an munmap and a new mmap at the same place) merge into one region.
 * Touched pages that no snapshot covered (a mapping that lived between two snapshots) are grouped
 * into `anon@0x…` regions, each spanning a run of touched pages with gaps of at most 16 pages.
 * The region holding thread t's first access is its stack (`stack`, `stack-1`, …) when anonymous;
 * an anonymous mapping right behind a file mapping is that binary's `.bss` (`gzip:bss`).
 */
import * as path from 'node:path';
import { PAGE_BYTES, type RegionKind, type TraceRegion } from '../workload/pagetrace-format';

export interface MapsEntry {
  start: number; // first page
  end: number; // page after the last
  perms: string; // "rw-p"
  path: string; // "" for anonymous
}

/** Parses /proc/pid/maps text. */
export function parseMaps(text: string): MapsEntry[] {
  const out: MapsEntry[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ start: parseInt(m[1], 16) / PAGE_BYTES, end: parseInt(m[2], 16) / PAGE_BYTES, perms: m[3], path: m[4].trim() });
  }
  return out;
}

/** Accumulates every mapping seen in any snapshot. */
export class MapsHistory {
  private readonly seen = new Map<string, MapsEntry>();
  snapshots = 0;

  add(entries: MapsEntry[]): void {
    this.snapshots++;
    for (const e of entries) {
      if (e.start >= 2 ** 35) continue; // kernel and vsyscall pages: no user data there
      this.seen.set(`${e.start}-${e.end}-${e.perms}-${e.path}`, e);
    }
  }

  entries(): MapsEntry[] {
    return [...this.seen.values()];
  }
}

interface Cand {
  start: number;
  end: number;
  name: string;
  kind: RegionKind;
  write: boolean;
  path?: string;
  touched: number;
}

const GAP = 16;

/**
 * The region table: every touched page (sorted `touched`) lies in exactly one region.
 * `firstPage[t]` is thread t's first page (for naming stacks).
 */
export function buildRegions(maps: MapsEntry[], heap: { start: number; end: number } | null, touched: Float64Array, firstPage: number[]): TraceRegion[] {
  const cands: Cand[] = [];
  if (heap && heap.end > heap.start) cands.push({ start: heap.start, end: heap.end, name: 'heap', kind: 'anon-private', write: true, touched: 0 });
  for (const e of maps) {
    if (heap && e.start < heap.end && e.end > heap.start && e.path === '') continue; // valgrind's brk segment: it is the heap
    const anon = e.path === '' || e.path.startsWith('[') || e.path.startsWith('/dev/zero') || e.path.startsWith('/memfd:') || e.path.startsWith('/SYSV');
    const shared = e.perms[3] === 's';
    const kind: RegionKind = anon ? (shared ? 'anon-shared' : 'anon-private') : shared ? 'file-shared' : 'file-private';
    cands.push({ start: e.start, end: e.end, name: '', kind, write: e.perms[1] === 'w', path: anon ? undefined : e.path, touched: 0 });
  }
  cands.sort((a, b) => a.start - b.start || b.end - a.end);
  // merge overlapping candidates (the heap, listed first at equal start, names the merge)
  const merged: Cand[] = [];
  for (const c of cands) {
    const m = merged[merged.length - 1];
    if (m && c.start < m.end) {
      if (c.end > m.end) m.end = c.end;
      m.write ||= c.write;
      if (m.name !== 'heap' && c.name === 'heap') Object.assign(m, { name: 'heap', kind: 'anon-private', path: undefined });
    } else merged.push({ ...c });
  }
  // count touched pages per candidate; gather uncovered pages
  const uncovered: number[] = [];
  let j = 0;
  for (let i = 0; i < touched.length; i++) {
    const v = touched[i];
    while (j < merged.length && merged[j].end <= v) j++;
    if (j < merged.length && merged[j].start <= v) merged[j].touched++;
    else uncovered.push(v);
  }
  const regions: Cand[] = merged.filter((c) => c.touched > 0);
  for (let i = 0; i < uncovered.length; ) {
    let k = i;
    while (k + 1 < uncovered.length && uncovered[k + 1] - uncovered[k] <= GAP) k++;
    regions.push({ start: uncovered[i], end: uncovered[k] + 1, name: '', kind: 'anon-private', write: true, touched: k - i + 1 });
    i = k + 1;
  }
  regions.sort((a, b) => a.start - b.start);
  // stacks: the anonymous region of each thread's first access
  firstPage.forEach((p, t) => {
    const r = regions.find((c) => c.start <= p && p < c.end);
    if (r && r.name === '' && r.kind === 'anon-private') r.name = t === 0 ? 'stack' : `stack-${t}`;
  });
  // an anonymous mapping that starts where a file mapping ends is that binary's .bss
  for (let i = 1; i < regions.length; i++) {
    const r = regions[i], prev = regions[i - 1];
    if (r.name === '' && r.kind === 'anon-private' && prev.path && prev.end === r.start) r.name = `${path.basename(prev.path)}:bss`;
  }
  const used = new Map<string, number>();
  const out: TraceRegion[] = [];
  for (const r of regions) {
    let name = r.name;
    if (name === '') {
      if (r.path) name = `${path.basename(r.path)}:${r.write ? 'rw' : 'r'}`;
      else if (r.kind === 'anon-shared') name = `shared@0x${(r.start * PAGE_BYTES).toString(16)}`;
      else name = `anon@0x${(r.start * PAGE_BYTES).toString(16)}`;
    }
    const n = used.get(name) ?? 0;
    used.set(name, n + 1);
    if (n > 0) name = `${name}#${n + 1}`;
    out.push({
      name,
      kind: r.kind,
      prot: r.write ? 'rw' : 'r',
      start: `0x${(r.start * PAGE_BYTES).toString(16)}`,
      pages: r.end - r.start,
      ...(r.path ? { path: r.path } : {}),
    });
  }
  return out;
}
