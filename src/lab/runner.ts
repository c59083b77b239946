/**
 * The runner: validates a spec, expands it into runs (plan.ts), runs each with one
 * `simulateRun(plan, opts)` call — in this thread (`jobs: 1`, runSync) or on a piscina
 * worker-thread pool (`jobs: N`), reports progress, honours an AbortSignal, and with an output
 * directory saves every finished run at once so an interrupted sweep resumes without redoing or
 * losing runs. Results are always in plan order, so `jobs` never changes the output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { KernelVariant } from '../kernel/variant';
import { SpecError } from './spec-issues';
import { estimateRuns, tooLargeMessage } from './estimate';
import { compile, type RunPlan } from './compile';
import { shardPlans, type Shard } from './plan';
import type { Registries } from './registries';
import { ResultSet, type Provenance } from './resultset';
import { parseProfile, type CpuProfile } from '../cost/profile';
import { variantFromValue } from '../kernel/variant-value';
import { loadSavedRuns, RUNS_DIR, saveRun } from './run-store';
import type { SimulateOptions } from './simulate';
import type { RunResult } from './types';

export type SimulateFn = (plan: RunPlan, opts: SimulateOptions) => RunResult;

export interface RunOptions {
  /** parallel runs on worker threads (default 1 = in this thread) */
  jobs?: number;
  /** in-process simulator (jobs 1 and runSync); default: the module below */
  simulate?: SimulateFn;
  /** module exporting `simulateRun`, loaded by workers (and in-process without `simulate`); default src/lab/simulate */
  simulateModule?: string;
  /** time series: sample every N accesses (overrides the spec's sampleEvery) */
  sampleEvery?: number;
  /** invariant breaches throw instead of being counted */
  strict?: boolean;
  /** called after every finished (or resumed) run */
  onProgress?: (p: RunProgress) => void;
  /** within a run: accesses done so far in the current step (in-process runs only: jobs 1, runSync) */
  onRunProgress?: (plan: RunPlan, done: number, total: number) => void;
  /** stops the sweep; finished runs are kept (and saved with outDir) */
  signal?: AbortSignal;
  /** save runs/<id>.json as runs finish, and spec/results/meta at the end */
  outDir?: string;
  /** with outDir: reuse runs already saved there */
  resume?: boolean;
  /** run only shard i of N of the plan */
  shard?: Shard;
  /** directory relative trace paths resolve against (the spec file's directory) */
  baseDir?: string;
  /** kernel/CPU name checks (default: this build's registries; false: skip) */
  registries?: Registries | false;
  /** name of the spec's source for messages (a file name) */
  source?: string;
  /** variants the spec may name besides the built-ins (e.g. derived with deriveVariant) */
  variants?: readonly KernelVariant[];
  /** CPU profiles to price with instead of the registry's of the same name (a re-run's saved ones) */
  profiles?: readonly CpuProfile[];
  /** run even above RUN_LIMITS (src/lab/estimate.ts: 4 GiB of model state or 1e10 accesses per run) */
  allowLarge?: boolean;
}

/** A progress display of a run: the callbacks it listens with, and its end (`ok`: the run finished). */
export interface RunProgressDisplay {
  callbacks: Pick<RunOptions, 'onProgress' | 'onRunProgress'>;
  finish(ok: boolean): void;
}

/** What the worker pool is created with (worker.ts). */
export interface WorkerData {
  /** a module exporting simulateRun to use instead of src/lab/simulate (tests' stand-ins) */
  simulateModule?: string;
}

/** One task for a worker: a plan and the simulator options. */
export interface WorkerTask {
  plan: RunPlan;
  opts: Pick<SimulateOptions, 'sampleEvery' | 'strict'>;
}

export interface RunProgress {
  /** runs finished so far, including resumed ones */
  done: number;
  total: number;
  plan: RunPlan;
  result: RunResult;
  /** true when the run was loaded from outDir instead of run */
  resumed: boolean;
  elapsedMs: number;
}

/** A user-facing runner problem (bad output dir, ...): one message, no stack. */
export class RunnerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunnerError';
  }
}

/** The sweep was cancelled; `partial` holds the runs that finished. */
export class RunCancelledError extends Error {
  constructor(readonly partial: ResultSet) {
    super(`cancelled after ${partial.length} finished run(s)`);
    this.name = 'RunCancelledError';
  }
}

/** A run threw; `partial` holds the runs that finished, `runId` names the failing one. */
export class RunFailedError extends Error {
  constructor(
    readonly runId: string,
    readonly reason: string,
    readonly partial: ResultSet,
  ) {
    super(`run "${runId}" failed: ${reason}`);
    this.name = 'RunFailedError';
  }
}

export interface Prepared {
  /** every run of the spec, in plan order */
  all: RunPlan[];
  /** the runs to do (the shard, if any) */
  plans: RunPlan[];
}

/** Validates and compiles (no running). Throws SpecError with every issue. */
export function prepare(specInput: unknown, opts: Pick<RunOptions, 'shard' | 'baseDir' | 'registries' | 'source' | 'variants' | 'profiles' | 'jobs' | 'allowLarge'> = {}): Prepared {
  const all = compile(specInput, { registries: opts.registries, baseDir: opts.baseDir, source: opts.source, variants: opts.variants, profiles: opts.profiles, jobs: opts.jobs });
  const plans = opts.shard ? shardPlans(all, opts.shard) : all;
  if (!opts.allowLarge) {
    const e = estimateRuns(plans);
    if (e.over.length > 0) throw new SpecError([{ path: 'steps', message: tooLargeMessage(e) }], opts.source);
  }
  return { all, plans };
}

function simOpts(opts: RunOptions): SimulateOptions {
  const o: SimulateOptions = {};
  if (opts.sampleEvery !== undefined) o.sampleEvery = opts.sampleEvery;
  if (opts.strict !== undefined) o.strict = opts.strict;
  return o;
}

function loadSimulate(opts: RunOptions): SimulateFn {
  const sim = opts.simulate ?? (require(opts.simulateModule ?? './simulate') as { simulateRun: SimulateFn }).simulateRun;
  const onRun = opts.onRunProgress;
  if (!onRun) return sim;
  return (plan, so) => sim(plan, { ...so, onProgress: (done, total) => onRun(plan, done, total) });
}

/** The simulator's result, with the plan's identity fields (ids must match plans for resume/merge). */
function stamp(plan: RunPlan, r: RunResult): RunResult {
  return { ...r, id: plan.id, name: plan.name, variant: plan.variant, cpu: plan.cpu, seed: plan.seed, repeat: plan.repeat, params: plan.params };
}

/** Opens the output dir: checks it belongs to this spec, writes spec.json, returns resumable runs. */
function openOutDir(dir: string, specInput: unknown, resume: boolean | undefined): Map<string, RunResult> {
  fs.mkdirSync(dir, { recursive: true });
  const specFile = path.join(dir, 'spec.json');
  const saved = loadSavedRuns(dir);
  if (fs.existsSync(specFile)) {
    let old: unknown;
    try {
      old = JSON.parse(fs.readFileSync(specFile, 'utf8'));
    } catch {
      old = undefined;
    }
    if (stableJson(old) !== stableJson(specInput) && (saved.size > 0 || fs.existsSync(path.join(dir, 'results.json'))))
      throw new RunnerError(`${dir} holds results of a different spec; choose another output directory or remove it`);
  }
  if (saved.size > 0 && !resume)
    throw new RunnerError(`${dir} already holds ${saved.size} finished run(s) in ${RUNS_DIR}/; pass --resume (resume: true) to keep them and run the rest, or choose another output directory`);
  fs.writeFileSync(specFile, JSON.stringify(specInput, null, 1) + '\n');
  return resume ? saved : new Map();
}

/**
 * One sweep in progress, shared by run() and runSync(): the plans, the results so far (in plan
 * order), progress reporting and saving. Runs found in outDir (resume) are recorded at once.
 */
class Sweep {
  readonly prep: Prepared;
  readonly results: (RunResult | undefined)[];
  readonly todo: number[] = [];
  readonly so: SimulateOptions;
  private done = 0;
  private readonly t0 = Date.now();

  constructor(
    readonly specInput: unknown,
    readonly opts: RunOptions,
  ) {
    this.prep = prepare(specInput, opts);
    const saved = opts.outDir ? openOutDir(opts.outDir, specInput, opts.resume) : new Map<string, RunResult>();
    this.so = simOpts(opts);
    this.results = new Array(this.prep.plans.length).fill(undefined);
    this.prep.plans.forEach((p, i) => {
      const old = saved.get(p.id);
      if (old) this.record(i, old, true);
      else this.todo.push(i);
    });
  }

  record(i: number, r: RunResult, resumed: boolean): void {
    this.results[i] = r;
    this.done++;
    this.opts.onProgress?.({ done: this.done, total: this.prep.plans.length, plan: this.prep.plans[i], result: r, resumed, elapsedMs: Date.now() - this.t0 });
  }

  /** Records (and saves) the result of run i, finished here or in a worker. */
  finished(i: number, r: RunResult): void {
    const stamped = stamp(this.prep.plans[i], r);
    if (this.opts.outDir) saveRun(this.opts.outDir, stamped);
    this.record(i, stamped, false);
  }

  /** Runs plan i in this thread; a failure ends the sweep with the runs so far. */
  runHere(i: number, simulate: SimulateFn): void {
    let r: RunResult;
    try {
      r = simulate(this.prep.plans[i], this.so);
    } catch (e) {
      throw this.failed(this.prep.plans[i].id, e);
    }
    this.finished(i, r);
  }

  failed(id: string, e: unknown): RunFailedError {
    return new RunFailedError(id, (e as Error)?.message ?? String(e), this.finish());
  }

  cancelled(): RunCancelledError {
    return new RunCancelledError(this.finish());
  }

  finish(): ResultSet {
    const runs = this.results.filter((r): r is RunResult => r !== undefined);
    const missing = this.prep.plans.filter((_, i) => this.results[i] === undefined).map((p) => p.id);
    const meta: Record<string, unknown> = {};
    if (this.opts.shard) meta.shard = `${this.opts.shard.index}/${this.opts.shard.count}`;
    if (missing.length > 0) meta.missing = missing;
    const set = new ResultSet(runs, this.specInput, meta, provenanceOf(this.prep.all));
    if (this.opts.outDir) set.save(this.opts.outDir);
    return set;
  }
}

/** The profiles and variants of the plans, as saved with their results. */
function provenanceOf(plans: readonly RunPlan[]): Provenance {
  const out: Provenance = { profiles: {}, variants: {} };
  for (const p of plans) {
    out.profiles[p.cpu] ??= p.profile.definition;
    if (!out.variants[p.variant]) {
      const { hooks, ...value } = p.kernel;
      out.variants[p.variant] = hooks ? { ...value, hooks: Object.keys(hooks) } : value;
    }
  }
  return out;
}

/**
 * Runs a result set's spec again with the profiles and variants it was run with (its provenance),
 * not whatever the registries hold today.
 */
export function rerun(set: ResultSet, opts: RunOptions = {}): Promise<ResultSet> {
  if (set.spec === undefined) throw new RunnerError('these results hold no spec to run again');
  const p = set.provenance;
  if (!p) throw new RunnerError('these results hold no provenance (profiles.json, variants.json) to run them again with');
  const variants = Object.values(p.variants).map((v) => {
    if (v.hooks?.length) throw new RunnerError(`variant "${v.name}" ran with ${v.hooks.join(', ')} hook(s) defined as functions, which were not saved; run it again where they are defined`);
    return variantFromValue({ name: v.name, base: v.base, overrides: v.overrides });
  });
  const profiles = Object.values(p.profiles).map((d) => parseProfile(d, 'saved profiles.json'));
  return run(set.spec, { ...opts, variants, profiles });
}

/** Runs a spec in this thread, synchronously (notebooks, small runs). `jobs` is ignored. */
export function runSync(specInput: unknown, opts: RunOptions = {}): ResultSet {
  const sw = new Sweep(specInput, { ...opts, jobs: 1 });
  const simulate = loadSimulate(opts);
  for (const i of sw.todo) {
    if (opts.signal?.aborted) throw sw.cancelled();
    sw.runHere(i, simulate);
  }
  return sw.finish();
}

interface PoolLike {
  run(task: unknown, opts?: { signal?: AbortSignal }): Promise<unknown>;
  destroy(): Promise<void>;
}

/** Runs a spec; with `jobs > 1` on a piscina worker pool. Resolves to the runs in plan order. */
export async function run(specInput: unknown, opts: RunOptions = {}): Promise<ResultSet> {
  const jobs = opts.jobs ?? 1;
  if (!Number.isInteger(jobs) || jobs < 1) throw new RunnerError(`jobs must be a positive integer, got ${jobs}`);
  if (jobs > 1 && opts.simulate && !opts.simulateModule)
    throw new RunnerError('jobs > 1 runs in worker threads, which cannot receive a function; pass simulateModule (a module exporting simulateRun) instead of simulate');
  const sw = new Sweep(specInput, opts);
  const todo = sw.todo;

  if (jobs === 1 || todo.length <= 1) {
    const simulate = loadSimulate(opts);
    for (const i of todo) {
      // yield between runs so an abort (or a progress repaint) can get in
      await new Promise<void>((res) => setImmediate(res));
      if (opts.signal?.aborted) throw sw.cancelled();
      sw.runHere(i, simulate);
    }
    return sw.finish();
  }

  const { Piscina } = require('piscina') as { Piscina: new (o: object) => PoolLike };
  const workerData: WorkerData = {};
  if (opts.simulateModule) workerData.simulateModule = path.resolve(opts.simulateModule);
  const threads = Math.min(jobs, todo.length);
  const pool = new Piscina({ filename: path.join(__dirname, 'worker.js'), minThreads: threads, maxThreads: threads, idleTimeout: 1000, workerData });
  // The user's signal, or the first failure, stops handing out runs. Runs already in a worker
  // finish and are kept: piscina's own abort of a running task can race with the worker's reply
  // ("Unexpected message from Worker"), so no running task is ever aborted.
  const ac = new AbortController();
  const onAbort = () => ac.abort();
  opts.signal?.addEventListener('abort', onAbort);
  if (opts.signal?.aborted) ac.abort();
  let failure: { id: string; reason: unknown } | undefined;
  let next = 0;
  const feed = async (): Promise<void> => {
    while (!ac.signal.aborted && next < todo.length) {
      const i = todo[next++];
      const plan = sw.prep.plans[i];
      const task: WorkerTask = { plan, opts: sw.so };
      try {
        sw.finished(i, (await pool.run(task)) as RunResult);
      } catch (e) {
        failure ??= { id: plan.id, reason: e };
        ac.abort();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: threads }, feed));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await pool.destroy();
  }
  if (failure) throw sw.failed(failure.id, failure.reason);
  if (opts.signal?.aborted && sw.results.some((r) => r === undefined)) throw sw.cancelled();
  return sw.finish();
}

/** JSON with sorted keys, for comparing specs regardless of key order. */
export function stableJson(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}
