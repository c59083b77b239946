/**
 * Streaming reader of the page trace format (pagetrace-format.ts). `PageTraceFile.open` reads
 * the header, footer and trailer (region table, totals) and checks them; `records()` then decodes
 * the blocks one at a time into caller-owned typed arrays, so memory stays at one block however
 * long the trace is. Every defect — truncation, a flipped byte (each block carries a CRC-32), a
 * record that runs past its block, totals that do not add up — is a TraceError naming the file
 * and the byte offset, never a crash or a silently short replay.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { TraceError } from './trace';
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  CTRL_THREAD,
  FOOTER_BYTES,
  FOOTER_MAGIC,
  HEADER_BYTES,
  HEADER_MAGIC,
  MAX_BLOCK_RAW,
  MAX_TRAILER_JSON,
  PAGE_BYTES,
  PTT_VERSION,
  REGION_KINDS,
  TRAILER_HEADER_BYTES,
  TRAILER_MAGIC,
  type TraceRegion,
  type TraceTrailer,
} from './pagetrace-format';

/** True if the file starts with the page trace magic (used to pick the format). */
export function isPageTrace(file: string): boolean {
  let fd = -1;
  try {
    fd = fs.openSync(file, 'r');
    const b = Buffer.alloc(8);
    return fs.readSync(fd, b, 0, 8, 0) === 8 && b.toString('latin1') === HEADER_MAGIC;
  } catch {
    return false;
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
}

export class PageTraceFile {
  readonly trailer: TraceTrailer;
  /** region i's first virtual page number, and its page count (same order as trailer.regions) */
  readonly regionStart: Float64Array;
  readonly regionPages: Float64Array;
  /** region indices sorted by start (for lookups) */
  private readonly byStart: Int32Array;
  private readonly trailerOffset: number;

  private constructor(
    readonly path: string,
    /** the name errors show */
    readonly shown: string,
    readonly size: number,
  ) {
    const fd = openOrThrow(path, shown);
    try {
      if (size < HEADER_BYTES + TRAILER_HEADER_BYTES + FOOTER_BYTES)
        throw err(shown, 0, `${size} bytes is too short for a ptlab trace (header, trailer and footer alone take ${HEADER_BYTES + TRAILER_HEADER_BYTES + FOOTER_BYTES}); the file is truncated or not a .ptt trace`);
      const h = readAt(fd, 0, HEADER_BYTES);
      if (h.toString('latin1', 0, 8) !== HEADER_MAGIC)
        throw err(shown, 0, `not a ptlab page trace (it does not start with "${HEADER_MAGIC}"); give a .ptt file from \`ptlab trace capture\`, or a .csv/.jsonl trace with format set`);
      const version = h.readUInt32LE(8);
      if (version !== PTT_VERSION) throw err(shown, 8, `format version ${version}; this ptlab reads version ${PTT_VERSION} (upgrade ptlab, or capture the trace again)`);
      if (h.readUInt32LE(12) !== 0) throw err(shown, 12, `header flags are ${h.readUInt32LE(12)}, not 0: the header is corrupted`);

      const f = readAt(fd, size - FOOTER_BYTES, FOOTER_BYTES);
      if (f.toString('latin1', 8, 16) !== FOOTER_MAGIC)
        throw err(shown, size - FOOTER_BYTES, `no footer at the end of the file: the trace is truncated or its capture did not finish; capture it again`);
      const off = f.readUInt32LE(0) + f.readUInt32LE(4) * 2 ** 32;
      if (off < HEADER_BYTES || off + TRAILER_HEADER_BYTES > size - FOOTER_BYTES)
        throw err(shown, size - FOOTER_BYTES, `the footer points at byte ${off}, outside the file's ${size} bytes: the footer is corrupted or the file was cut`);
      const th = readAt(fd, off, TRAILER_HEADER_BYTES);
      if (th.readUInt32LE(0) !== TRAILER_MAGIC) throw err(shown, off, `no trailer where the footer points: the file is corrupted or was cut`);
      const jsonLen = th.readUInt32LE(4);
      if (jsonLen > MAX_TRAILER_JSON || off + TRAILER_HEADER_BYTES + jsonLen !== size - FOOTER_BYTES)
        throw err(shown, off + 4, `the trailer says ${jsonLen} bytes of region table, but ${size - FOOTER_BYTES - off - TRAILER_HEADER_BYTES} bytes lie before the footer: the file is corrupted`);
      const json = readAt(fd, off + TRAILER_HEADER_BYTES, jsonLen);
      if (zlib.crc32(json) !== th.readUInt32LE(8)) throw err(shown, off + TRAILER_HEADER_BYTES, `the region table fails its CRC-32 check: the file is corrupted`);
      let t: unknown;
      try {
        t = JSON.parse(json.toString('utf8'));
      } catch {
        throw err(shown, off + TRAILER_HEADER_BYTES, `the region table is not valid JSON: the file is corrupted`);
      }
      this.trailer = checkTrailer(t, shown, off + TRAILER_HEADER_BYTES);
      this.trailerOffset = off;
    } finally {
      fs.closeSync(fd);
    }
    const n = this.trailer.regions.length;
    this.regionStart = new Float64Array(n);
    this.regionPages = new Float64Array(n);
    this.trailer.regions.forEach((r, i) => {
      this.regionStart[i] = parseInt(r.start, 16) / PAGE_BYTES;
      this.regionPages[i] = r.pages;
    });
    this.byStart = Int32Array.from(this.trailer.regions.map((_, i) => i)).sort((a, b) => this.regionStart[a] - this.regionStart[b]);
    for (let j = 1; j < n; j++) {
      const a = this.byStart[j - 1], b = this.byStart[j];
      if (this.regionStart[a] + this.regionPages[a] > this.regionStart[b])
        throw err(shown, this.trailerOffset, `regions "${this.trailer.regions[a].name}" and "${this.trailer.regions[b].name}" overlap: the region table is corrupted`);
    }
  }

  /** Opens and checks a trace's header, footer and region table (throws TraceError). */
  static open(file: string, shown = file): PageTraceFile {
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      throw new TraceError([`${shown}: trace file not found (looked at ${file})`]);
    }
    if (!st.isFile()) throw new TraceError([`${shown}: is not a regular file; give the path of a .ptt trace`]);
    return new PageTraceFile(file, shown, st.size);
  }

  /** The region holding virtual page `vpn`, or -1. */
  regionOf(vpn: number): number {
    const s = this.byStart, st = this.regionStart;
    let lo = 0, hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const r = s[mid];
      if (vpn < st[r]) hi = mid - 1;
      else if (vpn >= st[r] + this.regionPages[r]) lo = mid + 1;
      else return r;
    }
    return -1;
  }

  /** A fresh sequential decoder over all records. */
  records(): RecordReader {
    return new RecordReader(this, this.trailerOffset);
  }
}

/**
 * Decodes records in order, one block in memory at a time. `read` fills the caller's arrays with
 * up to their length of records: virtual page, 1 for a write, thread, raw access count.
 */
export class RecordReader {
  private fd: number;
  private offset = HEADER_BYTES;
  private raw: Buffer = Buffer.alloc(0);
  private rawLen = 0;
  private pos = 0;
  private left = 0;
  private blockOffset = 0;
  private blocks = 0;
  private vpn = 0;
  private thread = 0;
  /** records decoded so far */
  done = 0;
  private finished = false;

  constructor(
    readonly file: PageTraceFile,
    private readonly end: number,
  ) {
    this.fd = openOrThrow(file.path, file.shown);
  }

  read(vpn: Float64Array, write: Uint8Array, thread: Uint16Array, count?: Float64Array, max = Infinity): number {
    const cap = Math.min(vpn.length, write.length, thread.length, count ? count.length : Infinity, max);
    const threads = this.file.trailer.threads;
    let n = 0, counted = 0;
    // the decoder state lives in locals while decoding; saved back before a block change and at the end
    let b = this.raw, end = this.rawLen, p = this.pos, left = this.left, v = this.vpn, t = this.thread;
    while (n < cap) {
      if (left === 0) {
        if (p !== end) throw this.bad(this.blockOffset, `block ${this.blocks} has ${end - p} bytes after its last record: the block is corrupted`);
        this.done += n - counted; // nextBlock checks the totals at the end
        counted = n;
        if (!this.nextBlock()) break;
        (b = this.raw), (end = this.rawLen), (p = 0), (left = this.left), (v = 0), (t = 0);
        continue;
      }
      if (p >= end) throw this.bad(this.blockOffset, `block ${this.blocks}: a record runs past the end of the block (${left} of its records left): the block is corrupted`);
      let c = b[p++];
      let h = c;
      if (c >= 128) {
        // a longer varint (floats past 31 bits: page deltas can be large)
        h = c & 127;
        let mul = 128;
        do {
          if (p >= end) throw this.bad(this.blockOffset, `block ${this.blocks}: a record runs past the end of the block (${left} of its records left): the block is corrupted`);
          c = b[p++];
          h += (c & 127) * mul;
          mul *= 128;
        } while (c >= 128 && mul < 2 ** 56);
        if (c >= 128) throw this.bad(this.blockOffset, `block ${this.blocks}: a varint longer than 8 bytes: the block is corrupted`);
      }
      // low bits survive ToInt32 for any integer below 2^53, so `&` is safe on h here
      if ((h & 1) === 1) {
        const op = (h - 1) / 2;
        if (op !== CTRL_THREAD) throw this.bad(this.blockOffset, `block ${this.blocks}: unknown control record ${op}: the block is corrupted or from a newer ptlab`);
        let x = 0, mul = 1;
        do {
          if (p >= end) throw this.bad(this.blockOffset, `block ${this.blocks}: a thread record runs past the end of the block: the block is corrupted`);
          c = b[p++];
          x += (c & 127) * mul;
          mul *= 128;
        } while (c >= 128 && mul < 2 ** 21);
        if (c >= 128 || x >= threads) throw this.bad(this.blockOffset, `block ${this.blocks}: thread ${x} is not below the trailer's ${threads} threads: the block is corrupted`);
        t = x;
        continue;
      }
      const q = h < 0x80000000 ? h >>> 3 : Math.floor(h / 8);
      v += (q & 1) === 0 ? q / 2 : -(q + 1) / 2;
      let cnt = 1;
      if ((h & 4) !== 0) {
        let x = 0, mul = 1;
        do {
          if (p >= end) throw this.bad(this.blockOffset, `block ${this.blocks}: a count runs past the end of the block: the block is corrupted`);
          c = b[p++];
          x += (c & 127) * mul;
          mul *= 128;
        } while (c >= 128 && mul < 2 ** 56);
        cnt = x + 2;
      }
      vpn[n] = v;
      write[n] = (h >> 1) & 1;
      thread[n] = t;
      if (count) count[n] = cnt;
      n++;
      left--;
    }
    this.pos = p;
    this.left = left;
    this.vpn = v;
    this.thread = t;
    this.done += n - counted;
    return n;
  }


  /**
   * Skips `n` records. Whole blocks are skipped by their headers (neither inflated nor
   * CRC-checked: a replay of a later slice does not pay for the records before it).
   */
  skip(n: number): void {
    let sv: Float64Array | null = null, sw: Uint8Array | null = null, st: Uint16Array | null = null;
    while (n > 0) {
      if (this.left === 0 && this.pos === this.rawLen && this.offset + BLOCK_HEADER_BYTES <= this.end) {
        const h = readAt(this.fd, this.offset, BLOCK_HEADER_BYTES);
        const plen = h.readUInt32LE(4), recs = h.readUInt32LE(12);
        if (h.readUInt32LE(0) === BLOCK_MAGIC && recs > 0 && recs <= n && this.offset + BLOCK_HEADER_BYTES + plen <= this.end) {
          this.offset += BLOCK_HEADER_BYTES + plen;
          this.blocks++;
          this.done += recs;
          n -= recs;
          continue;
        }
      }
      if (!sv) (sv = new Float64Array(4096)), (sw = new Uint8Array(4096)), (st = new Uint16Array(4096));
      const got = this.read(sv, sw as Uint8Array, st as Uint16Array, undefined, n);
      if (got === 0) throw this.bad(this.end, `the trace ended while skipping to record ${this.done + n}`);
      n -= got;
    }
  }

  /** Byte offset of the block being decoded (for error messages). */
  get at(): number {
    return this.blockOffset;
  }

  private nextBlock(): boolean {
    const shown = this.file.shown;
    const t = this.file.trailer;
    if (this.offset >= this.end) {
      if (!this.finished) {
        this.finished = true;
        if (this.offset !== this.end) throw err(shown, this.end, `the last block runs into the trailer: the file is corrupted`);
        if (this.blocks !== t.blocks || this.done !== t.records)
          throw err(shown, this.end, `the blocks hold ${this.done} records in ${this.blocks} blocks, the trailer says ${t.records} in ${t.blocks}: blocks are missing or the file is corrupted`);
        this.close();
      }
      return false;
    }
    const off = this.offset;
    if (off + BLOCK_HEADER_BYTES > this.end) throw err(shown, off, `a block header is cut off by the trailer: the file is corrupted`);
    const h = readAt(this.fd, off, BLOCK_HEADER_BYTES);
    if (h.readUInt32LE(0) !== BLOCK_MAGIC) throw err(shown, off, `block ${this.blocks} does not start with its marker: the file is corrupted`);
    const plen = h.readUInt32LE(4), rawLen = h.readUInt32LE(8), recs = h.readUInt32LE(12), crc = h.readUInt32LE(16);
    if (off + BLOCK_HEADER_BYTES + plen > this.end) throw err(shown, off + 4, `block ${this.blocks} claims ${plen} bytes, past the trailer at byte ${this.end}: the file is corrupted`);
    if (rawLen > MAX_BLOCK_RAW || recs === 0 || recs > rawLen) throw err(shown, off + 8, `block ${this.blocks} claims ${recs} records in ${rawLen} bytes: the block header is corrupted`);
    const payload = readAt(this.fd, off + BLOCK_HEADER_BYTES, plen);
    if (zlib.crc32(payload) !== crc) throw err(shown, off + BLOCK_HEADER_BYTES, `block ${this.blocks} fails its CRC-32 check: the file is corrupted (capture it again or restore it)`);
    let raw: Buffer;
    try {
      raw = zlib.inflateRawSync(payload, { maxOutputLength: MAX_BLOCK_RAW });
    } catch {
      throw err(shown, off + BLOCK_HEADER_BYTES, `block ${this.blocks} does not inflate: the file is corrupted`);
    }
    if (raw.length !== rawLen) throw err(shown, off + 8, `block ${this.blocks} inflates to ${raw.length} bytes, its header says ${rawLen}: the file is corrupted`);
    this.raw = raw;
    this.rawLen = rawLen;
    this.pos = 0;
    this.left = recs;
    this.vpn = 0;
    this.thread = 0;
    this.blockOffset = off;
    this.offset = off + BLOCK_HEADER_BYTES + plen;
    this.blocks++;
    return true;
  }

  private bad(at: number, msg: string): TraceError {
    return err(this.file.shown, at, msg);
  }

  close(): void {
    if (this.fd >= 0) {
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

function err(shown: string, at: number, msg: string): TraceError {
  return new TraceError([`${shown}: byte ${at}: ${msg}`]);
}

function openOrThrow(file: string, shown: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new TraceError([`${shown}: cannot open the trace (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`]);
  }
}

function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = fs.readSync(fd, b, got, len - got, pos + got);
    if (n === 0) break;
    got += n;
  }
  return got === len ? b : b.subarray(0, got);
}

const NAT = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** Checks the trailer's shape; every problem names the field. */
function checkTrailer(t: unknown, shown: string, at: number): TraceTrailer {
  const bad = (m: string) => err(shown, at, `region table: ${m}: the file is corrupted or not from ptlab`);
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad('not an object');
  const o = t as Record<string, unknown>;
  if (o.version !== PTT_VERSION) throw bad(`version ${JSON.stringify(o.version)} is not ${PTT_VERSION}`);
  if (o.pageSize !== PAGE_BYTES) throw bad(`pageSize ${JSON.stringify(o.pageSize)} is not ${PAGE_BYTES}`);
  for (const k of ['threads', 'records', 'accesses', 'blocks'] as const) if (!NAT(o[k])) throw bad(`${k} ${JSON.stringify(o[k])} is not a whole number`);
  if ((o.records as number) > 0 && (o.threads as number) < 1) throw bad(`threads is 0 but there are records`);
  if ((o.accesses as number) < (o.records as number)) throw bad(`accesses (${o.accesses}) is below records (${o.records})`);
  if (!Array.isArray(o.regions)) throw bad('regions is not a list');
  const names = new Set<string>();
  o.regions.forEach((r: unknown, i: number) => {
    if (typeof r !== 'object' || r === null) throw bad(`regions[${i}] is not an object`);
    const x = r as Record<string, unknown>;
    if (typeof x.name !== 'string' || x.name.length === 0) throw bad(`regions[${i}].name is not a name`);
    if (names.has(x.name)) throw bad(`regions[${i}].name "${x.name}" appears twice`);
    names.add(x.name);
    if (!REGION_KINDS.includes(x.kind as never)) throw bad(`regions[${i}].kind ${JSON.stringify(x.kind)} is not one of ${REGION_KINDS.join(', ')}`);
    if (x.prot !== 'none' && x.prot !== 'r' && x.prot !== 'rw') throw bad(`regions[${i}].prot ${JSON.stringify(x.prot)} is not none, r or rw`);
    if (typeof x.start !== 'string' || !/^0x[0-9a-f]{1,13}$/.test(x.start) || parseInt(x.start, 16) % PAGE_BYTES !== 0)
      throw bad(`regions[${i}].start ${JSON.stringify(x.start)} is not a page-aligned 0x-hex address`);
    if (!NAT(x.pages) || x.pages === 0) throw bad(`regions[${i}].pages ${JSON.stringify(x.pages)} is not a positive whole number`);
    if (x.path !== undefined && typeof x.path !== 'string') throw bad(`regions[${i}].path is not a string`);
  });
  if (o.capture !== undefined && (typeof o.capture !== 'object' || o.capture === null || Array.isArray(o.capture))) throw bad('capture is not an object');
  return o as unknown as TraceTrailer;
}
