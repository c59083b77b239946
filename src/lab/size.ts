/**
 * Sizes in specs: binary units only ("4KiB", "256MiB", "1GiB"), or a byte count. Decimal units
 * ("256MB") are refused on purpose: page tables count in powers of two and a silent 1000-vs-1024
 * mix-up would make a region a non-whole number of pages.
 */
import { PAGE_SIZE } from '../x86/pte';

export { PAGE_SIZE };

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4 };
const SIZE_RE = /^\s*(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|TiB)\s*$/;
/** decimal or shorthand units people write by habit, mapped to the binary unit they meant */
const MISTAKES: Record<string, string> = { k: 'KiB', kb: 'KiB', kib: 'KiB', m: 'MiB', mb: 'MiB', mib: 'MiB', g: 'GiB', gb: 'GiB', gib: 'GiB', t: 'TiB', tb: 'TiB', tib: 'TiB', b: 'B', '': 'B' };

/** Bytes of a size, or an error message naming the fix. */
export function parseSizeOrError(v: string | number): number | string {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v <= 0) return `${v} is not a size; use a positive byte count or e.g. "256MiB"`;
    return pageMultiple(v, String(v));
  }
  const m = SIZE_RE.exec(v);
  if (!m) {
    const loose = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v);
    const fix = loose && MISTAKES[loose[2].toLowerCase()] ? `${loose[1]}${MISTAKES[loose[2].toLowerCase()]}` : '256MiB';
    const alt = fix === '4KiB' ? '1MiB' : '4KiB';
    return `"${v}" is not a size; use e.g. "${fix}" or "${alt}"`;
  }
  const bytes = Number(m[1]) * UNITS[m[2]];
  if (!Number.isInteger(bytes) || bytes <= 0) return `"${v}" is not a whole, positive number of bytes; use e.g. "256MiB"`;
  return pageMultiple(bytes, `"${v}"`);
}

function pageMultiple(bytes: number, shown: string): number | string {
  if (bytes % PAGE_SIZE !== 0) {
    const up = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    return `${shown} is not a multiple of the 4KiB page size; use "${formatSize(up)}"`;
  }
  return bytes;
}

/** Bytes of a valid size; throws with the message otherwise. */
export function parseSize(v: string | number): number {
  const r = parseSizeOrError(v);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

/** Pages (4 KiB) of a valid size. */
export function sizeToPages(v: string | number): number {
  return parseSize(v) / PAGE_SIZE;
}

/** The largest binary unit that divides `bytes` exactly: 268435456 -> 256MiB. */
export function formatSize(bytes: number): string {
  for (const u of ['TiB', 'GiB', 'MiB', 'KiB'] as const) if (bytes >= UNITS[u] && bytes % UNITS[u] === 0) return `${bytes / UNITS[u]}${u}`;
  return `${bytes}B`;
}
