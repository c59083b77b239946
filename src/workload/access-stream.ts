/**
 * Synthetic access streams for `touch` steps: sequential, uniform random, Zipf, strided and
 * hot/cold sets, issued by one CPU or by several threads placed on CPUs.
 *
 * Threads: access i of the step belongs to thread i mod T and is that thread's access
 * floor(i / T) — a round-robin interleaving, so every thread's CPU has the mm active (and TLB
 * entries) while the others run, which is what makes shootdowns and stale-TLB races visible.
 * Each thread draws from its own xoshiro128** stream (deriveSeed(seed, thread)), and write
 * decisions use a second stream per thread, so sweeping `writeRatio` keeps the page sequence
 * fixed (common random numbers).
 *
 * Per pattern, over the k selected pages (selection index -> region page via PageSet):
 *  - sequential: thread t walks its own contiguous block [k·t/T, k·(t+1)/T) and wraps (a
 *    parallel first-touch / memset); with one thread, page order 0,1,2,...
 *  - stride: one shared cursor visits 0, s, 2s, ... then 1, 1+s, ... (a column walk), so
 *    every page is visited once per k accesses.
 *  - random: uniform over the selection.
 *  - zipf: rank r (1 = hottest) -> selection index r-1, exponent `theta`.
 *  - hotcold: the first ceil(hotFraction·k) selected pages are hot and get `hotProbability`
 *    of the accesses, uniformly; the rest uniformly share the remainder.
 */
import { PageSet } from './pages';
import { deriveSeed, Xoshiro128ss } from './prng';
import type { AccessStream, StreamOptions, TouchStepLike } from './types';
import { ZipfSampler } from './zipf';

const PATTERNS = ['sequential', 'random', 'zipf', 'stride', 'hotcold'] as const;
const enum Pat {
  Sequential,
  Random,
  Zipf,
  Stride,
  HotCold,
}

/** Purposes mixed into thread seeds: page choice and write choice draw from separate streams. */
const enum Purpose {
  Page = 0,
  Write = 1,
}

/** A touch step's options when it leaves them out (the spec schema's descriptions say the same). */
const DEFAULTS = { writeRatio: 0.5, theta: 0.99, stride: 8, hotFraction: 0.2, hotProbability: 0.8 } as const;

export function makeAccessStream(step: TouchStepLike, opts: StreamOptions): AccessStream {
  return new SyntheticStream(step, opts);
}

class SyntheticStream implements AccessStream {
  readonly total: number;
  private done = 0;
  private readonly sel: PageSet;
  private readonly pat: Pat;
  private readonly threads: number;
  private readonly cpuOf: Uint16Array;
  private readonly rng: Xoshiro128ss[];
  private readonly wrng: Xoshiro128ss[];
  /** 0 = all reads, 1 = all writes, else the write probability */
  private readonly writeP: number;
  private readonly zipf: ZipfSampler | null;
  private readonly stride: number;
  private strideLane = 0;
  private stridePos = 0;
  private readonly hotN: number;
  private readonly hotP: number;

  constructor(step: TouchStepLike, opts: StreamOptions) {
    const where = step.region ? `touch "${step.region}"` : 'touch';
    if (!Number.isInteger(opts.pages) || opts.pages < 0) throw new Error(`${where}: region size must be a whole number of pages, got ${opts.pages}`);
    if (!Number.isInteger(opts.cpus) || opts.cpus < 1) throw new Error(`${where}: cpus must be a positive integer, got ${opts.cpus}`);
    this.sel = new PageSet(step.pages, opts.pages, `${where} pages`);
    const pattern = step.pattern ?? 'sequential';
    const pi = PATTERNS.indexOf(pattern);
    if (pi < 0) throw new Error(`${where}: pattern "${pattern}" is not one of ${PATTERNS.join(', ')}`);
    this.pat = pi as Pat;

    const count = step.count ?? this.sel.size;
    if (!Number.isInteger(count) || count < 0) throw new Error(`${where}: count must be a non-negative integer, got ${count}`);
    if (count > 0 && this.sel.size === 0) throw new Error(`${where}: ${count} accesses requested but no page is selected; select pages or set count 0`);
    this.total = count;

    const access = step.access ?? (step.writeRatio !== undefined ? 'rw' : 'read');
    if (access === 'read') this.writeP = 0;
    else if (access === 'write') this.writeP = 1;
    else if (access === 'rw') {
      const r = step.writeRatio ?? DEFAULTS.writeRatio;
      if (!(r >= 0 && r <= 1)) throw new Error(`${where}: writeRatio must be between 0 and 1, got ${r}`);
      this.writeP = r;
    } else throw new Error(`${where}: access "${String(access)}" is not one of read, write, rw`);

    // Thread placement.
    if (step.cpu !== undefined && step.threads !== undefined && step.threads !== 1)
      throw new Error(`${where}: give either cpu (one thread) or threads, not both`);
    const threads = step.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 65535) throw new Error(`${where}: threads must be an integer in 1..65535, got ${threads}`);
    this.threads = threads;
    this.cpuOf = new Uint16Array(threads);
    const placement = step.placement ?? 'spread';
    for (let t = 0; t < threads; t++) {
      let c: number;
      if (step.cpu !== undefined) c = step.cpu;
      else if (placement === 'spread') c = t % opts.cpus;
      else {
        if (placement.length === 0) throw new Error(`${where}: placement must list at least one CPU`);
        c = placement[t % placement.length];
      }
      if (!Number.isInteger(c) || c < 0 || c >= opts.cpus)
        throw new Error(`${where}: CPU ${c} does not exist; the machine has cpus 0..${opts.cpus - 1}`);
      this.cpuOf[t] = c;
    }

    this.rng = [];
    this.wrng = [];
    for (let t = 0; t < threads; t++) {
      this.rng.push(new Xoshiro128ss(deriveSeed(opts.seed, t, Purpose.Page)));
      this.wrng.push(new Xoshiro128ss(deriveSeed(opts.seed, t, Purpose.Write)));
    }

    const theta = step.theta ?? DEFAULTS.theta;
    this.zipf = this.pat === Pat.Zipf && this.sel.size > 0 ? new ZipfSampler(this.sel.size, theta) : null;
    this.stride = step.stride ?? DEFAULTS.stride;
    if (this.pat === Pat.Stride && (!Number.isInteger(this.stride) || this.stride < 1))
      throw new Error(`${where}: stride must be a positive integer number of pages, got ${this.stride}`);
    const hf = step.hotFraction ?? DEFAULTS.hotFraction;
    const hp = step.hotProbability ?? DEFAULTS.hotProbability;
    if (this.pat === Pat.HotCold) {
      if (!(hf > 0 && hf <= 1)) throw new Error(`${where}: hotFraction must be in (0, 1], got ${hf}`);
      if (!(hp >= 0 && hp <= 1)) throw new Error(`${where}: hotProbability must be in [0, 1], got ${hp}`);
    }
    this.hotN = Math.min(this.sel.size, Math.max(1, Math.ceil(hf * this.sel.size)));
    this.hotP = hp;
  }

  fill(page: Float64Array, write: Uint8Array, cpu: Uint16Array): number {
    const n = Math.min(page.length, write.length, cpu.length, this.total - this.done);
    const T = this.threads;
    for (let j = 0; j < n; j++) {
      const i = this.done + j;
      const t = i % T;
      const local = (i - t) / T;
      page[j] = this.sel.at(this.nextIndex(t, local));
      const wp = this.writeP;
      write[j] = wp === 0 ? 0 : wp === 1 ? 1 : this.wrng[t].nextFloat() < wp ? 1 : 0;
      cpu[j] = this.cpuOf[t];
    }
    this.done += n;
    return n;
  }

  close(): void {}

  /** Selection index of thread t's `local`-th access. */
  private nextIndex(t: number, local: number): number {
    const k = this.sel.size;
    switch (this.pat) {
      case Pat.Sequential: {
        const T = this.threads;
        let start = Math.floor((k * t) / T);
        let len = Math.floor((k * (t + 1)) / T) - start;
        if (len === 0) {
          // more threads than pages: such a thread re-touches one page
          start = t % k;
          len = 1;
        }
        return start + (local % len);
      }
      case Pat.Random:
        return this.rng[t].nextInt(k);
      case Pat.Zipf:
        return (this.zipf as ZipfSampler).sample(this.rng[t]) - 1;
      case Pat.Stride: {
        const r = this.stridePos;
        let next = r + this.stride;
        if (next >= k) {
          this.strideLane = this.strideLane + 1 >= Math.min(this.stride, k) ? 0 : this.strideLane + 1;
          next = this.strideLane;
        }
        this.stridePos = next;
        return r;
      }
      case Pat.HotCold: {
        const g = this.rng[t];
        const cold = k - this.hotN;
        if (cold === 0 || g.nextFloat() < this.hotP) return g.nextInt(this.hotN);
        return this.hotN + g.nextInt(cold);
      }
    }
  }
}
