/**
 * Replays a page trace (pagetrace-format.ts) as an AccessStream: each record becomes one model
 * access (a folded record stands for its count of raw accesses, all but the first of which would
 * hit the TLB with the PTE already in the state the first left it in). Pages come out absolute:
 * trace region i's page j becomes `base[i] + j`, where the caller chose `base` (the model address
 * of the spec region the trace region runs in). Thread t runs on CPU `t mod cpus`, or all threads
 * on `cpu` when given.
 *
 * A slice `{from, count}` of the records lets a spec interleave a program with other steps (a
 * copier between chunks of a live snapshot); blocks before `from` are skipped by their headers.
 */
import { TraceError } from './trace';
import type { PageTraceFile, RecordReader } from './pagetrace-reader';
import type { AccessStream } from './types';

export interface PageTraceReplayOptions {
  /** CPUs of the machine */
  cpus: number;
  /** run every thread on this CPU (default: thread t on CPU t mod cpus) */
  cpu?: number;
  /** first record to replay (default 0) */
  from?: number;
  /** records to replay (default: all from `from` on) */
  count?: number;
}

const BATCH = 4096;

export class PageTraceStream implements AccessStream {
  readonly total: number;
  /** pages of all trace regions (the footprint the cost model's regime prices walks by) */
  readonly footprintPages: number;
  private reader: RecordReader | null;
  private readonly vpn = new Float64Array(BATCH);
  private readonly wr = new Uint8Array(BATCH);
  private readonly th = new Uint16Array(BATCH);
  private done = 0;
  // the two regions hit last: [start, end) in trace pages and the offset to model pages
  private s0 = 0;
  private e0 = -1;
  private d0 = 0;
  private s1 = 0;
  private e1 = -1;
  private d1 = 0;

  constructor(
    private readonly trace: PageTraceFile,
    /** model page of each trace region's first page */
    private readonly base: Float64Array,
    private readonly opts: PageTraceReplayOptions,
  ) {
    const records = trace.trailer.records;
    const from = opts.from ?? 0;
    if (!Number.isSafeInteger(from) || from < 0 || from > records)
      throw new TraceError([`${trace.shown}: records.from ${from} is outside the trace's ${records} records`]);
    const count = opts.count ?? records - from;
    if (!Number.isSafeInteger(count) || count < 0 || from + count > records)
      throw new TraceError([`${trace.shown}: records {from: ${from}, count: ${count}} goes past the trace's ${records} records`]);
    if (opts.cpu !== undefined && !(opts.cpu >= 0 && opts.cpu < opts.cpus))
      throw new TraceError([`${trace.shown}: cpu ${opts.cpu} does not exist; the machine has cpus 0..${opts.cpus - 1}`]);
    if (base.length !== trace.trailer.regions.length) throw new Error('PageTraceStream: one base page per trace region');
    this.total = count;
    this.footprintPages = trace.regionPages.reduce((a, b) => a + b, 0);
    this.reader = trace.records();
    this.reader.skip(from);
  }

  fill(page: Float64Array, write: Uint8Array, cpu: Uint16Array): number {
    const r = this.reader;
    if (r === null) return 0;
    const want = Math.min(page.length, write.length, cpu.length, BATCH, this.total - this.done);
    if (want === 0) {
      this.close();
      return 0;
    }
    const vpn = this.vpn, wr = this.wr, th = this.th;
    const n = r.read(vpn, wr, th, undefined, want);
    if (n < want) throw new TraceError([`${this.trace.shown}: byte ${r.at}: the trace ended after ${this.done + n} of the ${this.total} records it was to replay: the file is corrupted`]);
    const fixed = this.opts.cpu ?? -1, cpus = this.opts.cpus;
    // two cached regions (programs alternate between two, e.g. a buffer and the stack); a miss
    // replaces the older one
    let s0 = this.s0, e0 = this.e0, d0 = this.d0, s1 = this.s1, e1 = this.e1, d1 = this.d1;
    for (let i = 0; i < n; i++) {
      const v = vpn[i];
      if (v >= s0 && v < e0) page[i] = v + d0;
      else if (v >= s1 && v < e1) {
        page[i] = v + d1;
        const ts = s0, te = e0, td = d0;
        (s0 = s1), (e0 = e1), (d0 = d1), (s1 = ts), (e1 = te), (d1 = td);
      } else {
        const ri = this.trace.regionOf(v);
        if (ri < 0)
          throw new TraceError([`${this.trace.shown}: byte ${r.at}: an access to address 0x${(v * 4096).toString(16)} lies in no region of the trace's region table: the file is corrupted`]);
        (s1 = s0), (e1 = e0), (d1 = d0);
        s0 = this.trace.regionStart[ri];
        e0 = s0 + this.trace.regionPages[ri];
        d0 = this.base[ri] - s0;
        page[i] = v + d0;
      }
      write[i] = wr[i];
      cpu[i] = fixed >= 0 ? fixed : th[i] % cpus;
    }
    (this.s0 = s0), (this.e0 = e0), (this.d0 = d0), (this.s1 = s1), (this.e1 = e1), (this.d1 = d1);
    this.done += n;
    return n;
  }

  close(): void {
    if (this.reader) {
      this.reader.close();
      this.reader = null;
    }
  }
}
