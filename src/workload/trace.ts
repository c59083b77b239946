/**
 * Trace import: replays recorded accesses `cpu, op, address` against a region (the `trace` op).
 *
 * Formats (docs/workloads.md):
 *  - CSV (`.csv`, or `format: "csv"`): one access per line `cpu,op,address`, e.g. `1,w,0x2000`.
 *    An optional header line `cpu,op,address`, blank lines and `#` comments are skipped; spaces
 *    around fields are ignored.
 *  - JSONL (`.jsonl`/`.ndjson`, or `format: "jsonl"`): one object per line,
 *    `{"cpu": 1, "op": "w", "address": "0x2000"}` (address a number or a decimal/0x-hex string).
 * `op` is `r` or `w`; `address` is a byte offset within the step's region (decimal or 0x-hex),
 * mapped to page floor(address / 4096).
 *
 * The file is read twice with a fixed 64 KiB buffer: a first pass checks every line (all errors
 * name file:line and the fix) and counts accesses for `total`; `fill()` then parses straight from
 * the buffer's bytes. CSV lines allocate nothing; JSONL lines go through JSON.parse (use CSV for
 * very large traces). Size limits keep a mistaken multi-gigabyte file from stalling a run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PAGE_SIZE } from '../x86/pte';
import type { AccessStream } from './types';

export const DEFAULT_TRACE_MAX_BYTES = 1024 * 1024 * 1024;
export const DEFAULT_TRACE_MAX_LINES = 50_000_000;
const BUF_SIZE = 64 * 1024;
/** stop collecting after this many bad lines: the first ones show the pattern */
const MAX_REPORTED = 20;

export interface TraceStepLike {
  region?: string;
  file: string;
  format?: 'csv' | 'jsonl' | 'ptt';
  maxBytes?: number;
  maxLines?: number;
}

export interface TraceOptions {
  /** region size in pages */
  pages: number;
  /** CPUs of the machine */
  cpus: number;
  /** directory relative trace paths resolve against (the spec file's directory); default cwd */
  baseDir?: string;
}

/** A trace that cannot be used; `issues` are `file:line: message` strings. */
export class TraceError extends Error {
  constructor(readonly issues: string[]) {
    super(issues.join('\n'));
    this.name = 'TraceError';
  }
}

export function traceFormat(step: TraceStepLike): 'csv' | 'jsonl' | 'ptt' {
  if (step.format) return step.format;
  const ext = path.extname(step.file).toLowerCase();
  if (ext === '.ptt') return 'ptt';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return 'csv';
}

/** Checks a whole trace without running it; returns the problems (empty = fine). */
export function checkTrace(step: TraceStepLike, opts: TraceOptions): string[] {
  try {
    scan(step, opts);
    return [];
  } catch (e) {
    if (e instanceof TraceError) return e.issues;
    throw e;
  }
}

/** Opens a trace as an AccessStream (validates all lines first; throws TraceError). */
export function openTraceStream(step: TraceStepLike, opts: TraceOptions): AccessStream {
  const { file, total } = scan(step, opts);
  return new TraceStream(file, traceFormat(step) as 'csv' | 'jsonl', total, opts);
}

function scan(step: TraceStepLike, opts: TraceOptions): { file: string; total: number } {
  const file = path.resolve(opts.baseDir ?? process.cwd(), step.file);
  const shown = step.file;
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    throw new TraceError([`${shown}: trace file not found (looked at ${file}); paths are relative to the spec file's directory`]);
  }
  if (!st.isFile()) throw new TraceError([`${shown}: is not a regular file; give the path of a .csv or .jsonl trace`]);
  const maxBytes = step.maxBytes ?? DEFAULT_TRACE_MAX_BYTES;
  const maxLines = step.maxLines ?? DEFAULT_TRACE_MAX_LINES;
  if (st.size > maxBytes)
    throw new TraceError([`${shown}: ${fmtBytes(st.size)} exceeds the trace limit of ${fmtBytes(maxBytes)}; split it into several trace steps or raise the step's maxBytes`]);
  const format = traceFormat(step);
  if (format === 'ptt') throw new TraceError([`${shown}: is a page trace (.ptt); it is read by the page trace reader, not as CSV/JSONL`]);
  const parser = new LineParser(format, opts.pages * PAGE_SIZE, opts.cpus, step.region);
  const issues: string[] = [];
  let total = 0;
  const reader = new LineReader(file, shown);
  try {
    while (reader.next()) {
      if (reader.lineNo > maxLines) {
        issues.push(`${shown}: more than ${maxLines} lines, above the trace limit; split it into several trace steps or raise the step's maxLines`);
        break;
      }
      const r = parser.parse(reader.buf, reader.start, reader.end);
      if (r === OK) total++;
      else if (r !== SKIP) {
        issues.push(`${shown}:${reader.lineNo}: ${r}`);
        if (issues.length >= MAX_REPORTED) {
          issues.push(`${shown}: stopped after ${MAX_REPORTED} bad lines`);
          break;
        }
      }
    }
  } finally {
    reader.close();
  }
  if (issues.length > 0) throw new TraceError(issues);
  return { file, total };
}

class TraceStream implements AccessStream {
  private reader: LineReader | null;
  private readonly parser: LineParser;

  constructor(
    private readonly file: string,
    format: 'csv' | 'jsonl',
    readonly total: number,
    opts: TraceOptions,
  ) {
    this.reader = new LineReader(file, file);
    this.parser = new LineParser(format, opts.pages * PAGE_SIZE, opts.cpus, undefined);
  }

  fill(page: Float64Array, write: Uint8Array, cpu: Uint16Array): number {
    const r = this.reader;
    if (r === null) return 0;
    const cap = Math.min(page.length, write.length, cpu.length);
    const p = this.parser;
    let n = 0;
    while (n < cap && r.next()) {
      const res = p.parse(r.buf, r.start, r.end);
      if (res === SKIP) continue;
      if (res !== OK) throw new TraceError([`${this.file}:${r.lineNo}: ${res} (the file changed after it was checked)`]);
      page[n] = Math.floor(p.address / PAGE_SIZE);
      write[n] = p.write;
      cpu[n] = p.cpu;
      n++;
    }
    if (n === 0) this.close();
    return n;
  }

  close(): void {
    if (this.reader) {
      this.reader.close();
      this.reader = null;
    }
  }
}

const OK = 0;
const SKIP = 1;
const C_COMMA = 44, C_HASH = 35, C_SPACE = 32, C_TAB = 9, C_CR = 13, C_0 = 48, C_9 = 57;

/** Parses one line into `cpu`, `write`, `address` fields (reused; no allocation for CSV). */
class LineParser {
  cpu = 0;
  write = 0;
  address = 0;
  private seenLine = false;

  constructor(
    private readonly format: 'csv' | 'jsonl',
    private readonly regionBytes: number,
    private readonly cpus: number,
    private readonly region: string | undefined,
  ) {}

  /** OK, SKIP, or an error message naming the fix. */
  parse(buf: Buffer, s: number, e: number): number | string {
    while (s < e && isSpace(buf[s])) s++;
    while (e > s && (isSpace(buf[e - 1]) || buf[e - 1] === C_CR)) e--;
    if (s === e || buf[s] === C_HASH) return SKIP;
    return this.format === 'csv' ? this.parseCsv(buf, s, e) : this.parseJson(buf.toString('utf8', s, e));
  }

  private parseCsv(buf: Buffer, s: number, e: number): number | string {
    const c1 = indexOf(buf, C_COMMA, s, e);
    const c2 = c1 < 0 ? -1 : indexOf(buf, C_COMMA, c1 + 1, e);
    if (!this.seenLine) {
      // an optional header, as the first line that is not blank or a comment
      this.seenLine = true;
      if ((buf[s] | 0x20) === 0x63 && /^cpu\s*,\s*op\s*,\s*address$/i.test(buf.toString('utf8', s, e))) return SKIP;
    }
    if (c1 < 0 || c2 < 0 || indexOf(buf, C_COMMA, c2 + 1, e) >= 0) {
      return `expected 3 comma-separated fields "cpu,op,address", got "${clip(buf.toString('utf8', s, e))}"; write e.g. 0,w,0x1000`;
    }
    const cpu = parseUint(buf, s, c1);
    if (Number.isNaN(cpu)) return `cpu "${clip(trimmed(buf, s, c1))}" is not a CPU number; use 0..${this.cpus - 1}`;
    let os = c1 + 1, oe = c2;
    while (os < oe && isSpace(buf[os])) os++;
    while (oe > os && isSpace(buf[oe - 1])) oe--;
    let w = -1;
    if (oe - os === 1) {
      const ch = buf[os] | 0x20; // lower-case ASCII
      if (ch === 0x72) w = 0; // r
      else if (ch === 0x77) w = 1; // w
    }
    if (w < 0) return `op "${clip(buf.toString('utf8', os, oe))}" is not r or w; use r for a read, w for a write`;
    const addr = parseUint(buf, c2 + 1, e);
    if (Number.isNaN(addr)) return `address "${clip(trimmed(buf, c2 + 1, e))}" is not a number; use a byte offset in decimal (4096) or 0x-hex (0x1000)`;
    return this.accept(cpu, w, addr);
  }

  private parseJson(line: string): number | string {
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      return `not valid JSON ("${clip(line)}"); write one object per line, e.g. {"cpu":0,"op":"w","address":"0x1000"}`;
    }
    if (typeof o !== 'object' || o === null || Array.isArray(o)) return `expected an object {"cpu", "op", "address"}, got ${clip(line)}`;
    const rec = o as Record<string, unknown>;
    for (const k of Object.keys(rec)) if (k !== 'cpu' && k !== 'op' && k !== 'address') return `unknown field "${k}"; the fields are cpu, op, address`;
    const cpu = rec.cpu;
    if (typeof cpu !== 'number' || !Number.isInteger(cpu) || cpu < 0) return `cpu ${JSON.stringify(cpu)} is not a CPU number; use 0..${this.cpus - 1}`;
    const op = rec.op;
    const w = op === 'r' || op === 'R' ? 0 : op === 'w' || op === 'W' ? 1 : -1;
    if (w < 0) return `op ${JSON.stringify(op)} is not "r" or "w"; use "r" for a read, "w" for a write`;
    const a = rec.address;
    let addr = NaN;
    if (typeof a === 'number' && Number.isInteger(a) && a >= 0) addr = a;
    else if (typeof a === 'string') {
      const b = Buffer.from(a);
      addr = parseUint(b, 0, b.length);
    }
    if (Number.isNaN(addr)) return `address ${JSON.stringify(a)} is not a number; use a byte offset in decimal (4096) or 0x-hex ("0x1000")`;
    return this.accept(cpu, w, addr);
  }

  private accept(cpu: number, w: number, addr: number): number | string {
    if (cpu >= this.cpus) return `cpu ${cpu} does not exist; the machine has cpus 0..${this.cpus - 1} (raise machine.cpus or renumber)`;
    if (addr >= this.regionBytes)
      return `address 0x${addr.toString(16)} is beyond the end of region${this.region ? ` "${this.region}"` : ''} (${fmtBytes(this.regionBytes)}); addresses are byte offsets within the region`;
    this.cpu = cpu;
    this.write = w;
    this.address = addr;
    return OK;
  }
}

/** Reads lines with one fixed buffer; a line is buf[start, end). */
class LineReader {
  readonly buf = Buffer.allocUnsafe(BUF_SIZE);
  start = 0;
  end = 0;
  lineNo = 0;
  private fd: number;
  private len = 0;
  private pos = 0;
  private eof = false;

  constructor(
    file: string,
    private readonly shown: string,
  ) {
    this.fd = fs.openSync(file, 'r');
  }

  next(): boolean {
    for (;;) {
      const nl = indexOf(this.buf, 10, this.pos, this.len);
      if (nl >= 0) {
        this.start = this.pos;
        this.end = nl;
        this.pos = nl + 1;
        this.lineNo++;
        return true;
      }
      if (this.eof) {
        if (this.pos < this.len) {
          this.start = this.pos;
          this.end = this.len;
          this.pos = this.len;
          this.lineNo++;
          return true;
        }
        return false;
      }
      // move the partial line to the front and read more behind it
      if (this.pos > 0) {
        this.buf.copy(this.buf, 0, this.pos, this.len);
        this.len -= this.pos;
        this.pos = 0;
      }
      if (this.len === this.buf.length)
        throw new TraceError([`${this.shown}:${this.lineNo + 1}: line is longer than ${BUF_SIZE} bytes; a trace line is "cpu,op,address"`]);
      const got = fs.readSync(this.fd, this.buf, this.len, this.buf.length - this.len, null);
      if (got === 0) this.eof = true;
      this.len += got;
    }
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function indexOf(buf: Buffer, ch: number, s: number, e: number): number {
  for (let i = s; i < e; i++) if (buf[i] === ch) return i;
  return -1;
}

function isSpace(c: number): boolean {
  return c === C_SPACE || c === C_TAB;
}

/** Decimal or 0x-hex unsigned integer from bytes (spaces trimmed); NaN if malformed or > 2^53. */
function parseUint(buf: Buffer, s: number, e: number): number {
  while (s < e && isSpace(buf[s])) s++;
  while (e > s && isSpace(buf[e - 1])) e--;
  if (s === e) return NaN;
  let v = 0;
  if (e - s > 2 && buf[s] === C_0 && (buf[s + 1] | 0x20) === 0x78) {
    for (let i = s + 2; i < e; i++) {
      const c = buf[i];
      let d: number;
      if (c >= C_0 && c <= C_9) d = c - C_0;
      else if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66) d = (c | 0x20) - 0x61 + 10;
      else return NaN;
      v = v * 16 + d;
    }
  } else {
    for (let i = s; i < e; i++) {
      const c = buf[i];
      if (c < C_0 || c > C_9) return NaN;
      v = v * 10 + (c - C_0);
    }
  }
  return v <= Number.MAX_SAFE_INTEGER ? v : NaN;
}

function trimmed(buf: Buffer, s: number, e: number): string {
  return buf.toString('utf8', s, e).trim();
}

function clip(s: string): string {
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

export function fmtBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1 && v % 1024 === 0) {
    v /= 1024;
    u++;
  }
  if (v >= 1024 && u < units.length - 1) {
    // not a round multiple: show one decimal of the next unit
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return `${v.toFixed(1)} ${units[u]}`;
  }
  return `${v} ${units[u]}`;
}
