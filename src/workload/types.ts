/**
 * Shapes the workload layer reads. They mirror the `touch` and `trace` steps of the experiment
 * spec (DESIGN.md) structurally, so src/lab can hand its parsed steps down without this layer
 * importing upward.
 */

/** Pages of a region: indices, or a range; omitted = all pages. */
export type PageSelection = readonly number[] | { readonly from: number; readonly count: number };

export type AccessKind = 'read' | 'write' | 'rw';
export type AccessPattern = 'sequential' | 'random' | 'zipf' | 'stride' | 'hotcold';

export interface TouchStepLike {
  region?: string;
  /** default: `rw` when writeRatio is given, else `read` */
  access?: AccessKind;
  pages?: PageSelection;
  /** default `sequential` */
  pattern?: AccessPattern;
  /** number of accesses; default: each selected page once */
  count?: number;
  /** fraction of writes for access `rw` (default 0.5) */
  writeRatio?: number;
  /** run every access on this CPU (default 0) */
  cpu?: number;
  /** number of threads issuing the accesses, round-robin interleaved */
  threads?: number;
  /** thread -> CPU: `spread` (thread t on CPU t mod cpus, default) or an explicit CPU list */
  placement?: 'spread' | readonly number[];
  /** Zipf exponent s (default 0.99, YCSB's) */
  theta?: number;
  /** stride in pages for pattern `stride` (default 8) */
  stride?: number;
  /** hot set size as a fraction of the selected pages (default 0.2) */
  hotFraction?: number;
  /** probability that an access goes to the hot set (default 0.8) */
  hotProbability?: number;
}

export interface StreamOptions {
  /** region size in pages */
  pages: number;
  /** stream seed: use `streamSeed(run.seed, run.repeat, stepIndex)` from ./prng */
  seed: number;
  /** number of CPUs of the machine (CPU numbers must be below it) */
  cpus: number;
}

/**
 * A batch-filled access stream: no allocation per access. `fill` writes up to `page.length`
 * accesses — page index within the region, 1 for a write, CPU number — and returns how many it
 * wrote; 0 means the stream is done. `total` is the number of accesses the stream yields.
 */
export interface AccessStream {
  readonly total: number;
  fill(page: Float64Array, write: Uint8Array, cpu: Uint16Array): number;
  /** releases resources (open trace files); safe to call twice */
  close(): void;
}
