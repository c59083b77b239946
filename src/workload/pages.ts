/**
 * Resolves a spec's `pages` selection against a region: indices, a `{from, count}` range, or
 * everything. Index k of the selection maps to a page of the region in O(1) without allocation.
 */
import type { PageSelection } from './types';

export class PageSet {
  /** number of selected pages */
  readonly size: number;
  private readonly from: number;
  private readonly list: Float64Array | null;

  constructor(selection: PageSelection | undefined, regionPages: number, what = 'pages') {
    if (selection === undefined) {
      this.size = regionPages;
      this.from = 0;
      this.list = null;
    } else if (!isList(selection)) {
      const { from, count } = selection;
      if (!Number.isInteger(from) || from < 0 || !Number.isInteger(count) || count < 0)
        throw new Error(`${what}: {from: ${from}, count: ${count}} must use non-negative integers`);
      if (from + count > regionPages)
        throw new Error(`${what}: {from: ${from}, count: ${count}} ends at page ${from + count - 1}, beyond the region's last page ${regionPages - 1}; lower count or enlarge the region`);
      this.size = count;
      this.from = from;
      this.list = null;
    } else {
      const list = new Float64Array(selection.length);
      for (let k = 0; k < selection.length; k++) {
        const p = selection[k];
        if (!Number.isInteger(p) || p < 0 || p >= regionPages)
          throw new Error(`${what}[${k}]: page ${p} is outside the region (pages 0..${regionPages - 1})`);
        list[k] = p;
      }
      this.size = list.length;
      this.from = 0;
      this.list = list;
    }
  }

  /** Page index (within the region) of selection entry k, 0 <= k < size. */
  at(k: number): number {
    return this.list === null ? this.from + k : this.list[k];
  }
}

export function isRange(s: PageSelection): s is { readonly from: number; readonly count: number } {
  return !Array.isArray(s);
}

export function isList(s: PageSelection): s is readonly number[] {
  return Array.isArray(s);
}
