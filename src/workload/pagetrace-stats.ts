/**
 * Per-region statistics of a page trace (`ptlab trace stats`): accesses, records, pages touched,
 * pages written, and the re-write fraction — the share of written pages that are written again
 * after the program went elsewhere (a second write record: consecutive writes to one page fold
 * into one record, so a second record means another page or thread came in between). That is the
 * number a live snapshot cares about: a page written once and copied early costs one fault; a
 * page written again and again keeps costing.
 *
 * Memory is one Map entry per touched page (the program's footprint), not per access.
 */
import { PageTraceFile } from './pagetrace-reader';
import type { RegionKind } from './pagetrace-format';
import { TraceError } from './trace';

export interface RegionStats {
  name: string;
  kind: RegionKind;
  prot: string;
  start: string;
  /** size of the mapping in pages */
  pages: number;
  path?: string;
  /** raw accesses (loads and stores the tracer saw) */
  accesses: number;
  /** page-level records (folded accesses) */
  records: number;
  writeRecords: number;
  touched: number;
  written: number;
  /** written pages with more than one write record */
  rewritten: number;
  /** rewritten / written (0 when nothing is written) */
  rewriteFraction: number;
}

export interface TraceStats {
  file: string;
  version: number;
  threads: number;
  records: number;
  accesses: number;
  touched: number;
  written: number;
  rewritten: number;
  rewriteFraction: number;
  /** written / touched */
  writtenFraction: number;
  regions: RegionStats[];
  capture?: Record<string, unknown>;
}

const TOUCHED = 1, WRITTEN = 2, REWRITTEN = 4;

export function pageTraceStats(file: string, shown = file): TraceStats {
  const t = PageTraceFile.open(file, shown);
  const tr = t.trailer;
  const regions: RegionStats[] = tr.regions.map((r) => ({
    name: r.name,
    kind: r.kind,
    prot: r.prot,
    start: r.start,
    pages: r.pages,
    ...(r.path !== undefined ? { path: r.path } : {}),
    accesses: 0,
    records: 0,
    writeRecords: 0,
    touched: 0,
    written: 0,
    rewritten: 0,
    rewriteFraction: 0,
  }));
  const state = new Map<number, number>();
  const reader = t.records();
  const N = 8192;
  const vpn = new Float64Array(N), wr = new Uint8Array(N), th = new Uint16Array(N), cnt = new Float64Array(N);
  let lastStart = 0, lastEnd = -1, ri = -1;
  try {
    for (let n = reader.read(vpn, wr, th, cnt); n > 0; n = reader.read(vpn, wr, th, cnt)) {
      for (let i = 0; i < n; i++) {
        const v = vpn[i];
        if (v < lastStart || v >= lastEnd) {
          ri = t.regionOf(v);
          if (ri < 0) throw new TraceError([`${shown}: byte ${reader.at}: an access to address 0x${(v * 4096).toString(16)} lies in no region of the trace's region table: the file is corrupted`]);
          lastStart = t.regionStart[ri];
          lastEnd = lastStart + t.regionPages[ri];
        }
        const rs = regions[ri];
        rs.accesses += cnt[i];
        rs.records++;
        const s = state.get(v) ?? 0;
        let ns = s | TOUCHED;
        if (s === 0) rs.touched++;
        if (wr[i]) {
          rs.writeRecords++;
          if (s & WRITTEN) {
            if (!(s & REWRITTEN)) rs.rewritten++;
            ns |= REWRITTEN;
          } else rs.written++;
          ns |= WRITTEN;
        }
        if (ns !== s) state.set(v, ns);
      }
    }
  } finally {
    reader.close();
  }
  let touched = 0, written = 0, rewritten = 0, accesses = 0;
  for (const r of regions) accesses += r.accesses;
  if (accesses !== tr.accesses) throw new TraceError([`${shown}: the records count ${accesses} raw accesses, the trailer says ${tr.accesses}: the file is corrupted`]);
  for (const r of regions) {
    r.rewriteFraction = r.written > 0 ? r.rewritten / r.written : 0;
    touched += r.touched;
    written += r.written;
    rewritten += r.rewritten;
  }
  return {
    file: shown,
    version: tr.version,
    threads: tr.threads,
    records: tr.records,
    accesses: tr.accesses,
    touched,
    written,
    rewritten,
    rewriteFraction: written > 0 ? rewritten / written : 0,
    writtenFraction: touched > 0 ? written / touched : 0,
    regions,
    ...(tr.capture ? { capture: tr.capture } : {}),
  };
}
