/**
 * Scenario scripts: functions returning step lists (spec JSON steps) for the use cases the seed
 * thread argues about. They are plain data: append them with the builder's `.steps(...)` or paste
 * them into a spec. Every random choice is drawn from xoshiro128** with the given seed, so a
 * scenario is as reproducible as the run that uses it.
 */
import type { UffdHint } from '../kernel/userfaultfd';
import { deriveSeed, Xoshiro128ss } from './prng';

/** A spec step (validated by src/lab when the spec is built or parsed). */
export interface ScenarioStep {
  op: string;
  [field: string]: unknown;
}

export interface LiveSnapshotOptions {
  /** region size in pages (the scenario copies it in chunks) */
  pages: number;
  /** pages the copier copies (and then unprotects) per round (default 64) */
  chunk?: number;
  /** application writes between two copier rounds (default 256) */
  appWrites?: number;
  /** CPU of the application thread (default 0) */
  appCpu?: number;
  /** CPU of the snapshot (copier) thread (default 1: give the machine >= 2 cpus) */
  copierCpu?: number;
  /** hints on the unprotect: the seed RFC's `write-likely` / `access-likely` */
  hints?: UffdHint[];
  /** pattern of the application's writes (default `random`) */
  pattern?: 'random' | 'zipf' | 'sequential';
  /**
   * A real program as the application (docs/traces.md): its page trace, packed into `region`,
   * replayed in equal slices of its `records` between the copier's rounds (instead of `appWrites`
   * synthetic writes). All its threads run on `appCpu`.
   */
  trace?: { file: string; records: number };
}

/**
 * Live snapshot with userfaultfd-wp (QEMU background snapshot, CRIU pre-dump): register uffd-wp,
 * write-protect the whole region, then in rounds the application writes (protected pages take a
 * uffd-wp fault; the handler copies and unprotects them) while the copier reads a chunk and
 * unprotects it. The unprotect is exactly the step the seed thread is about: whether it leaves
 * the PTE clean and old (next access pays the A/D update) or marks it young/dirty.
 */
export function liveSnapshot(region: string, o: LiveSnapshotOptions): ScenarioStep[] {
  const chunk = o.chunk ?? 64;
  const appWrites = o.appWrites ?? 256;
  const appCpu = o.appCpu ?? 0;
  const copierCpu = o.copierCpu ?? 1;
  requirePositive('liveSnapshot', 'pages', o.pages);
  requirePositive('liveSnapshot', 'chunk', chunk);
  const steps: ScenarioStep[] = [
    { op: 'uffd-register', region, modes: ['wp'] },
    { op: 'uffd-writeprotect', region, wp: true },
  ];
  const rounds = Math.ceil(o.pages / chunk);
  const perRound = o.trace ? Math.ceil(o.trace.records / rounds) : 0;
  for (let from = 0, round = 0; from < o.pages; from += chunk, round++) {
    const count = Math.min(chunk, o.pages - from);
    if (o.trace) {
      const rf = Math.min(o.trace.records, round * perRound);
      const rc = Math.min(perRound, o.trace.records - rf);
      if (rc > 0) steps.push({ op: 'trace', region, file: o.trace.file, records: { from: rf, count: rc }, cpu: appCpu });
    } else if (appWrites > 0) steps.push({ op: 'touch', region, access: 'write', pattern: o.pattern ?? 'random', count: appWrites, cpu: appCpu });
    steps.push({ op: 'touch', region, access: 'read', pages: { from, count }, cpu: copierCpu });
    const unprotect: ScenarioStep = { op: 'uffd-writeprotect', region, wp: false, pages: { from, count } };
    if (o.hints && o.hints.length > 0) unprotect.hints = o.hints.slice();
    steps.push(unprotect);
  }
  return steps;
}

export interface GcWriteBarrierOptions {
  /** region size in pages */
  pages: number;
  /** collection cycles (default 3) */
  epochs?: number;
  /** distinct pages the mutator dirties per epoch (default: 1/8 of the region, at least 1) */
  dirtyPages?: number;
  /** further writes per epoch to already unprotected pages (default 4 x dirtyPages) */
  writes?: number;
  /** seed for choosing the dirtied pages (default 1) */
  seed?: number;
  /** mutator CPU (default 0) */
  cpu?: number;
}

/**
 * A GC card-marking write barrier built on mprotect (Boehm GC's incremental mode, older JVMs):
 * each epoch the collector makes the heap read-only; the mutator's first write to a page takes a
 * fault (SIGSEGV in the model: the VMA forbids the write), the handler mprotects that page
 * read-write and records it, the mutator continues writing. Each epoch is: mprotect r (all),
 * touch write once per chosen page (the faulting writes), mprotect rw on exactly those pages
 * (the handler), random writes to them (the mutator carrying on).
 */
export function gcWriteBarrier(region: string, o: GcWriteBarrierOptions): ScenarioStep[] {
  requirePositive('gcWriteBarrier', 'pages', o.pages);
  const epochs = o.epochs ?? 3;
  const dirty = Math.min(o.pages, o.dirtyPages ?? Math.max(1, Math.floor(o.pages / 8)));
  const writes = o.writes ?? 4 * dirty;
  const cpu = o.cpu ?? 0;
  const steps: ScenarioStep[] = [];
  for (let e = 0; e < epochs; e++) {
    const chosen = pickDistinct(o.pages, dirty, deriveSeed(o.seed ?? 1, e));
    steps.push({ op: 'mprotect', region, prot: 'r' });
    steps.push({ op: 'touch', region, access: 'write', pages: chosen, cpu });
    steps.push({ op: 'mprotect', region, prot: 'rw', pages: chosen });
    if (writes > 0) steps.push({ op: 'touch', region, access: 'write', pages: chosen, pattern: 'random', count: writes, cpu });
  }
  return steps;
}

export interface CheckpointOptions {
  /** `soft-dirty`: clear_refs + PAGE_IS_SOFT_DIRTY (CRIU); `pagemap-scan`: uffd-wp async + PAGE_IS_WRITTEN with PM_SCAN_WP_MATCHING (6.7+) */
  mode: 'soft-dirty' | 'pagemap-scan';
  /** checkpoint intervals (default 3) */
  epochs?: number;
  /** accesses by the application per interval (default 1000) */
  accesses?: number;
  /** fraction of writes among them (default 0.3) */
  writeRatio?: number;
  /** application access pattern (default `zipf`) */
  pattern?: 'random' | 'zipf' | 'sequential' | 'hotcold';
  /** application threads (default 1) */
  threads?: number;
}

/**
 * Incremental checkpointing by dirty tracking. With `soft-dirty` each interval is: the app runs,
 * a `pagemap-scan` (mode soft-dirty) reads the dirtied pages, `clear-refs soft-dirty` re-arms
 * (write-protecting every PTE, so next writes fault). With `pagemap-scan` the region is
 * registered for uffd-wp with WP_ASYNC and protected once; each interval the app runs and one
 * PAGEMAP_SCAN with PAGE_IS_WRITTEN and PM_SCAN_WP_MATCHING both reads and re-protects.
 */
export function checkpointDirtyTracking(region: string, o: CheckpointOptions): ScenarioStep[] {
  const epochs = o.epochs ?? 3;
  const app: ScenarioStep = {
    op: 'touch',
    region,
    access: 'rw',
    writeRatio: o.writeRatio ?? 0.3,
    pattern: o.pattern ?? 'zipf',
    count: o.accesses ?? 1000,
  };
  if (o.threads !== undefined && o.threads > 1) app.threads = o.threads;
  const steps: ScenarioStep[] = [];
  if (o.mode === 'soft-dirty') {
    steps.push({ op: 'clear-refs', mode: 'soft-dirty' });
    for (let e = 0; e < epochs; e++) {
      steps.push({ ...app });
      steps.push({ op: 'pagemap-scan', region, mode: 'soft-dirty' });
      steps.push({ op: 'clear-refs', mode: 'soft-dirty' });
    }
  } else if (o.mode === 'pagemap-scan') {
    steps.push({ op: 'uffd-register', region, modes: ['wp'], features: ['wp-async'] });
    steps.push({ op: 'uffd-writeprotect', region, wp: true });
    for (let e = 0; e < epochs; e++) {
      steps.push({ ...app });
      steps.push({ op: 'pagemap-scan', region, mode: 'written', clear: true });
    }
  } else {
    throw new Error(`checkpointDirtyTracking: mode "${String((o as { mode: unknown }).mode)}" is not soft-dirty or pagemap-scan`);
  }
  return steps;
}

/** `count` distinct page indices in [0, n), ascending (partial Fisher-Yates on the fly). */
function pickDistinct(n: number, count: number, seed: number): number[] {
  const rng = new Xoshiro128ss(seed);
  const swapped = new Map<number, number>();
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const j = i + rng.nextInt(n - i);
    const vj = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    out.push(vj);
  }
  return out.sort((a, b) => a - b);
}

function requirePositive(fn: string, name: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${fn}: ${name} must be a positive integer, got ${v}`);
}
