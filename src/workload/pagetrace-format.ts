/**
 * The ptlab page trace format, version 1 (`.ptt`; docs/traces.md is the reference): a real
 * program's data accesses at page granularity, in program order, with the program's region table.
 *
 *   header   16 B   "PTLTRACE", u32 version (1), u32 flags (0)
 *   block*          u32 "PBK1", u32 payload bytes, u32 raw bytes, u32 records, u32 crc32(payload),
 *                   payload = raw-deflate of `raw bytes` of records
 *   trailer         u32 "PTEN", u32 JSON bytes, u32 crc32(JSON), JSON (region table and totals)
 *   footer   16 B   u64 byte offset of the trailer, "PTLTREND"
 *
 * All integers are little-endian. Records are varints (LEB128); every block starts afresh with
 * page 0 and thread 0, so a block decodes on its own:
 *   - access: varint h with h & 1 = 0; bit 1 = write, bit 2 = a count follows;
 *     floor(h / 8) is the zigzag-coded page delta from the previous access; the count (when
 *     present) is one more varint holding count - 2 (a record without one stands for 1 access).
 *   - thread switch: varint 1 (control op 0), then a varint thread index.
 * The trailer is written last, so a capture that died midway has no footer and is refused.
 */

export const PAGE_SHIFT = 12;
export const PAGE_BYTES = 1 << PAGE_SHIFT;
export const PTT_VERSION = 1;
export const PTT_EXTENSION = '.ptt';

export const HEADER_MAGIC = 'PTLTRACE';
export const FOOTER_MAGIC = 'PTLTREND';
export const HEADER_BYTES = 16;
export const FOOTER_BYTES = 16;
/** "PBK1" and "PTEN" as little-endian u32 */
export const BLOCK_MAGIC = 0x314b4250;
export const TRAILER_MAGIC = 0x4e455450;
export const BLOCK_HEADER_BYTES = 20;
export const TRAILER_HEADER_BYTES = 12;
/** raw record bytes per block the writer aims for; a reader refuses blocks above MAX_BLOCK_RAW */
export const BLOCK_RAW_TARGET = 256 * 1024;
export const MAX_BLOCK_RAW = 16 * 1024 * 1024;
export const MAX_TRAILER_JSON = 64 * 1024 * 1024;

/** Record tags. */
export const CTRL_THREAD = 0;

/** Region kinds, as the experiment spec's mmap kinds. */
export const REGION_KINDS = ['anon-private', 'anon-shared', 'file-private', 'file-shared'] as const;
export type RegionKind = (typeof REGION_KINDS)[number];

/** One mapping of the traced program. */
export interface TraceRegion {
  /** unique name: `heap`, `stack`, `libc.so.6:rw`, `anon@0x7f12...` */
  name: string;
  kind: RegionKind;
  /** `r` or `rw` (or `none`): the mapping's protection while the program ran */
  prot: 'none' | 'r' | 'rw';
  /** first byte address, 0x-hex (page aligned) */
  start: string;
  /** size in 4 KiB pages */
  pages: number;
  /** backing file (file kinds), as /proc/pid/maps showed it */
  path?: string;
}

/** The trailer's JSON. */
export interface TraceTrailer {
  version: number;
  pageSize: number;
  regions: TraceRegion[];
  /** number of distinct threads (thread indices are 0..threads-1) */
  threads: number;
  /** page-level records (folded accesses) */
  records: number;
  /** raw accesses the records stand for */
  accesses: number;
  blocks: number;
  /** how the trace was made (command, tool, versions, date, exit code); free-form */
  capture?: Record<string, unknown>;
}

export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

export function unzigzag(z: number): number {
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}
