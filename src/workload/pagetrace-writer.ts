/**
 * Streaming writer of the page trace format (pagetrace-format.ts): accesses go in one at a time,
 * folded at page level, records are packed into ~256 KiB blocks, each block is deflated and
 * written at once, so memory stays bounded however long the program runs.
 *
 * Folding keeps what the page tables can see. Consecutive accesses by one thread to one page
 * become one record with a count: reads after reads, and anything after a write (once a page is
 * written, later reads and writes to it find the PTE writable and dirty). A write after reads
 * starts a new record, because read-then-write (a read fault, then a write fault or a D-bit set)
 * differs from a write alone. The order of distinct pages and each record's kind are kept.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import {
  BLOCK_HEADER_BYTES,
  BLOCK_MAGIC,
  BLOCK_RAW_TARGET,
  CTRL_THREAD,
  FOOTER_MAGIC,
  HEADER_MAGIC,
  PAGE_BYTES,
  PTT_VERSION,
  TRAILER_HEADER_BYTES,
  TRAILER_MAGIC,
  zigzag,
  type TraceRegion,
  type TraceTrailer,
} from './pagetrace-format';

/** Writing failed (disk full, no permission): one line naming the file and the fix. */
export class TraceWriteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceWriteError';
  }
}

export class PageTraceWriter {
  private fd: number;
  private readonly raw: Buffer;
  private pos = 0;
  private blockRecords = 0;
  private prevVpn = 0;
  private curThread = 0;
  // the pending (not yet encoded) record
  private has = false;
  private pThread = 0;
  private pVpn = 0;
  private pWrite = false;
  private pCount = 0;
  /** bytes written to the file so far */
  bytes = 0;
  records = 0;
  accesses = 0;
  blocks = 0;
  threads = 0;

  constructor(
    readonly file: string,
    private readonly blockRaw = BLOCK_RAW_TARGET,
  ) {
    try {
      this.fd = fs.openSync(file, 'w');
    } catch (e) {
      throw new TraceWriteError(`${file}: cannot create the trace file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another --out path`);
    }
    this.raw = Buffer.allocUnsafe(blockRaw + 64);
    const h = Buffer.alloc(16);
    h.write(HEADER_MAGIC, 0, 'latin1');
    h.writeUInt32LE(PTT_VERSION, 8);
    h.writeUInt32LE(0, 12);
    this.out(h);
  }

  /** One raw access of `thread` to virtual page number `vpn` (address >> 12). */
  access(thread: number, vpn: number, write: boolean): void {
    this.accesses++;
    if (this.has && thread === this.pThread && vpn === this.pVpn && (this.pWrite || !write)) {
      this.pCount++;
      return;
    }
    if (this.has) this.emit();
    this.has = true;
    this.pThread = thread;
    this.pVpn = vpn;
    this.pWrite = write;
    this.pCount = 1;
  }

  /** One access at a byte address of `size` bytes (split when it crosses a page boundary). */
  accessBytes(thread: number, address: number, size: number, write: boolean): void {
    const first = Math.floor(address / PAGE_BYTES);
    const last = Math.floor((address + Math.max(size, 1) - 1) / PAGE_BYTES);
    this.access(thread, first, write);
    if (last !== first) this.access(thread, last, write);
  }

  private emit(): void {
    if (this.pos >= this.blockRaw) this.flushBlock();
    const t = this.pThread;
    if (t !== this.curThread) {
      this.varint(1 + CTRL_THREAD * 2);
      this.varint(t);
      this.curThread = t;
    }
    if (t + 1 > this.threads) this.threads = t + 1;
    const c = this.pCount;
    this.varint(zigzag(this.pVpn - this.prevVpn) * 8 + (c > 1 ? 4 : 0) + (this.pWrite ? 2 : 0));
    if (c > 1) this.varint(c - 2);
    this.prevVpn = this.pVpn;
    this.blockRecords++;
    this.records++;
  }

  private varint(v: number): void {
    const b = this.raw;
    let p = this.pos;
    while (v >= 128) {
      b[p++] = (v % 128) | 128;
      v = Math.floor(v / 128);
    }
    b[p++] = v;
    this.pos = p;
  }

  private flushBlock(): void {
    if (this.blockRecords === 0) return;
    const payload = zlib.deflateRawSync(this.raw.subarray(0, this.pos));
    const h = Buffer.allocUnsafe(BLOCK_HEADER_BYTES);
    h.writeUInt32LE(BLOCK_MAGIC, 0);
    h.writeUInt32LE(payload.length, 4);
    h.writeUInt32LE(this.pos, 8);
    h.writeUInt32LE(this.blockRecords, 12);
    h.writeUInt32LE(zlib.crc32(payload), 16);
    this.out(h);
    this.out(payload);
    this.blocks++;
    this.pos = 0;
    this.blockRecords = 0;
    this.prevVpn = 0;
    this.curThread = 0;
  }

  private out(b: Buffer): void {
    let off = 0;
    try {
      while (off < b.length) off += fs.writeSync(this.fd, b, off, b.length - off);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const mb = (this.bytes / 1e6).toFixed(1);
      this.abort();
      if (code === 'ENOSPC' || code === 'EDQUOT')
        throw new TraceWriteError(`${this.file}: the disk is full after ${mb} MB of trace; free space or write the trace elsewhere (--out)`);
      throw new TraceWriteError(`${this.file}: writing the trace failed after ${mb} MB (${code ?? (e as Error).message})`);
    }
    this.bytes += b.length;
  }

  /** Writes the last block, the trailer (region table, totals) and the footer, and closes. */
  finish(regions: TraceRegion[], capture?: Record<string, unknown>): TraceTrailer {
    if (this.has) this.emit();
    this.has = false;
    this.flushBlock();
    const trailer: TraceTrailer = {
      version: PTT_VERSION,
      pageSize: PAGE_BYTES,
      regions,
      threads: this.threads,
      records: this.records,
      accesses: this.accesses,
      blocks: this.blocks,
      ...(capture ? { capture } : {}),
    };
    const json = Buffer.from(JSON.stringify(trailer), 'utf8');
    const offset = this.bytes;
    const h = Buffer.allocUnsafe(TRAILER_HEADER_BYTES);
    h.writeUInt32LE(TRAILER_MAGIC, 0);
    h.writeUInt32LE(json.length, 4);
    h.writeUInt32LE(zlib.crc32(json), 8);
    this.out(h);
    this.out(json);
    const f = Buffer.alloc(16);
    f.writeUInt32LE(offset % 2 ** 32, 0);
    f.writeUInt32LE(Math.floor(offset / 2 ** 32), 4);
    f.write(FOOTER_MAGIC, 8, 'latin1');
    this.out(f);
    fs.closeSync(this.fd);
    this.fd = -1;
    return trailer;
  }

  /** Closes without a trailer (the file is then refused by readers as unfinished). */
  abort(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        /* already failing */
      }
      this.fd = -1;
    }
  }
}
