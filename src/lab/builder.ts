/**
 * The fluent experiment builder (Altair-style): immutable — every method returns a new
 * Experiment — chainable and typed, producing exactly the JSON spec of DESIGN.md (`toSpec()`).
 *
 *   lab.experiment('uffd-wp unprotect, then write')
 *     .machine('skylake-sp', { cpus: 2 }).kernel('linux-6.18')
 *     .mmap('heap', '16MiB').touch('heap', 'write')
 *     .uffd.register('heap', { wp: true }).uffd.writeprotect('heap')
 *     .uffd.unprotect('heap', { hints: ['write-likely'] })
 *     .workload((w) => w.zipf('heap', { accesses: 1e6, writeRatio: 0.3, threads: 4 }))
 *     .sweep({ seed: [1, 2, 3, 4, 5] })
 *     .run()
 */
import { compile, type CompileOptions, type RunPlan } from './compile';
import type { ResultSet } from './resultset';
import type { TimeOptions } from './types';
import { run, runSync, type RunOptions, type RunProgressDisplay } from './runner';
import { parseSizeOrError, PAGE_SIZE } from './size';
import type { KernelVariant } from '../kernel/variant';
import { variantValue } from '../kernel/variant-value';
import { BUILTIN_VARIANTS } from '../kernel/variants';
import type { ExperimentSpec, KernelRef, Pages, PteTraceSpec, Step, StepOf, VarRef, VariantSpec } from './spec';
import { validateSpec, type ValidateOptions, type ValidateResult } from './validate';
import { WorkloadBuilder } from './workload-builder';
import { estimateRuns, type RunEstimate } from './estimate';

type Scalar = string | number | boolean;
type Num = number | VarRef;
type Common = { process?: string; label?: string; trace?: PteTraceSpec };
type Opts<O extends Step['op'], Omitted extends string> = Omit<StepOf<O>, 'op' | Omitted>;

interface Draft {
  name: string;
  description?: string;
  seed?: number | number[];
  machine?: { cpu: string; cpus?: number };
  kernel?: KernelRef | KernelRef[];
  /** variants given as values (they may carry hook functions, which no JSON spec can) */
  variants?: readonly KernelVariant[];
  steps: readonly Step[];
  sweep?: Record<string, Scalar[]>;
  vars?: Record<string, Scalar>;
  repeat?: number;
  sampleEvery?: number;
  trace?: PteTraceSpec;
}

/** userfaultfd operations; each returns the experiment builder again. */
export interface UffdOps {
  /** UFFDIO_REGISTER: `{wp: true}` -> modes ["wp"]; or give `modes` directly. */
  register(region: string, o?: { missing?: boolean; wp?: boolean; minor?: boolean; modes?: StepOf<'uffd-register'>['modes']; features?: StepOf<'uffd-register'>['features']; handler?: StepOf<'uffd-register'>['handler'] } & Common): Experiment;
  /** UFFDIO_WRITEPROTECT with mode WP (protect). */
  writeprotect(region: string, o?: { pages?: Pages } & Common): Experiment;
  /** UFFDIO_WRITEPROTECT without WP (resolve), optionally with the seed RFC's hints. */
  unprotect(region: string, o?: { pages?: Pages; hints?: StepOf<'uffd-writeprotect'>['hints'] } & Common): Experiment;
  /** UFFDIO_COPY into the pages (optionally write-protected: UFFDIO_COPY_MODE_WP). */
  copy(region: string, o?: Opts<'uffd-copy', 'region'>): Experiment;
  /** UFFDIO_ZEROPAGE. */
  zeropage(region: string, o?: Opts<'uffd-zeropage', 'region'>): Experiment;
}

/**
 * Times a spec's ops on this host's kernel (`experiment.native()`): src/fidelity/timed's
 * timeNative. The native runner sits above the lab layer, so the lab does not import it: the
 * builder is given it (src/index.ts builds the public `lab` with it) and carries it along.
 */
export type NativeTimer = (spec: ExperimentSpec, opts?: TimeOptions) => ResultSet;

/**
 * The progress `.run()` shows when it is given no callbacks of its own: src/notebook's display in a
 * notebook (null elsewhere). Like the timer, it is given to the builder by src/index.ts.
 */
export type RunProgressShow = (name: string, runs: number, accesses: number) => RunProgressDisplay | null;

/** What the layers above the lab give the builder (src/index.ts: src/fidelity's timer, src/notebook's progress). */
export interface BuilderServices {
  /** runs `.native()` */
  timer?: NativeTimer;
  /** shows `.run()`'s progress */
  progress?: RunProgressShow;
}

export class Experiment {
  private constructor(
    private readonly d: Draft,
    private readonly services: BuilderServices = {},
  ) {}

  /** A new experiment named `name` (no steps yet); `services.timer` runs `.native()`. */
  static create(name: string, services?: BuilderServices): Experiment {
    return new Experiment({ name, steps: [] }, services);
  }

  /** A builder holding an existing spec (e.g. loaded from JSON) to extend; `services.timer` runs `.native()`. */
  static fromSpec(spec: ExperimentSpec, services?: BuilderServices): Experiment {
    const s = JSON.parse(JSON.stringify(spec)) as ExperimentSpec;
    const { steps, ...rest } = s;
    return new Experiment({ ...rest, steps: steps.map((x) => Object.freeze(x)) } as Draft, services);
  }

  private with(patch: Partial<Draft>): Experiment {
    return new Experiment({ ...this.d, ...patch }, this.services);
  }

  private add(...steps: Step[]): Experiment {
    return this.with({ steps: [...this.d.steps, ...steps.map((s) => Object.freeze(s))] });
  }

  // ---- experiment-level settings ----

  describe(text: string): Experiment {
    return this.with({ description: text });
  }

  /** The run seed; a list runs once per seed. */
  seed(seed: number | number[]): Experiment {
    return this.with({ seed: Array.isArray(seed) ? seed.slice() : seed });
  }

  /** The CPU cost profile and the number of CPUs. */
  machine(cpu: string, o: { cpus?: number } = {}): Experiment {
    return this.with({ machine: o.cpus !== undefined ? { cpu, cpus: o.cpus } : { cpu } });
  }

  /**
   * The kernel variants (built-in names or deriveVariant values): one run per variant, as the
   * spec's `kernel` field, which takes one or a list.
   */
  kernel(...variants: (string | KernelVariant)[]): Experiment {
    const given = variants.filter((v): v is KernelVariant => typeof v !== 'string' && BUILTIN_VARIANTS.get(v.name) !== v);
    const refs = variants.map((v): KernelRef => (typeof v === 'string' ? v : BUILTIN_VARIANTS.get(v.name) === v ? v.name : variantSpec(v)));
    return this.with({ kernel: refs.length === 1 ? refs[0] : refs, variants: given });
  }

  /** Adds sweep axes (cartesian product): kernel, seed, cpu, cpus or "$name" variables. */
  sweep(axes: Record<string, Scalar[]>): Experiment {
    const next = { ...(this.d.sweep ?? {}) };
    for (const [k, v] of Object.entries(axes)) next[k] = v.slice();
    return this.with({ sweep: next });
  }

  /** Default values for "$name" variables. */
  vars(values: Record<string, Scalar>): Experiment {
    return this.with({ vars: { ...(this.d.vars ?? {}), ...values } });
  }

  repeat(n: number): Experiment {
    return this.with({ repeat: n });
  }

  /** Time series: sample counters every N accesses. */
  sampleEvery(n: number): Experiment {
    return this.with({ sampleEvery: n });
  }

  /**
   * Per-PTE event trace of these pages (indices in `region`, default the first region mapped)
   * for the whole run: each step lists every hardware and kernel event that touched them
   * (`traceTable(results)`); the spec's `trace` field. For one step only, give the step
   * `{ trace: { pages } }`. (`trace(region, file)` is the step that replays an access trace.)
   */
  tracePages(pages: number[], o: { region?: string } = {}): Experiment {
    return this.with({ trace: { pages: pages.slice(), ...o } });
  }

  // ---- steps (one method per op of DESIGN.md) ----

  mmap(region: string, size: string | number, o: Opts<'mmap', 'region' | 'size'> = {}): Experiment {
    return this.add({ op: 'mmap', region, size, ...o });
  }

  munmap(region: string, o: Common = {}): Experiment {
    return this.add({ op: 'munmap', region, ...o });
  }

  /** Touch pages: `touch('heap', 'write')`, `touch('heap', 'rw', {pattern: 'random', count: 1e5, writeRatio: 0.3})`. */
  touch(region: string, access?: StepOf<'touch'>['access'] | Opts<'touch', 'region'>, o: Opts<'touch', 'region' | 'access'> = {}): Experiment {
    if (access !== undefined && typeof access === 'object') return this.add({ op: 'touch', region, ...access });
    return this.add(access === undefined ? { op: 'touch', region, ...o } : { op: 'touch', region, access, ...o });
  }

  mprotect(region: string, prot: StepOf<'mprotect'>['prot'], o: Opts<'mprotect', 'region' | 'prot'> = {}): Experiment {
    return this.add({ op: 'mprotect', region, prot, ...o });
  }

  madvise(region: string, advice: StepOf<'madvise'>['advice'], o: Opts<'madvise', 'region' | 'advice'> = {}): Experiment {
    return this.add({ op: 'madvise', region, advice, ...o });
  }

  /** fork(): later steps may run in `child` via `{process: child}`. */
  fork(child: string, o: Common = {}): Experiment {
    return this.add({ op: 'fork', child, ...o });
  }

  /** userfaultfd ioctls: `.uffd.register(...)`, `.uffd.writeprotect(...)`, `.uffd.unprotect(...)`. */
  get uffd(): UffdOps {
    return {
      register: (region, o = {}) => {
        const { missing, wp, minor, modes, features, ...rest } = o;
        const m: StepOf<'uffd-register'>['modes'] = modes ? modes.slice() : [];
        if (!modes) {
          if (missing) m.push('missing');
          if (wp) m.push('wp');
          if (minor) m.push('minor');
        }
        const s: StepOf<'uffd-register'> = { op: 'uffd-register', region, modes: m, ...rest };
        if (features) s.features = features.slice();
        return this.add(s);
      },
      writeprotect: (region, o = {}) => this.add({ op: 'uffd-writeprotect', region, wp: true, ...o }),
      unprotect: (region, o = {}) => {
        const { hints, ...rest } = o;
        const s: StepOf<'uffd-writeprotect'> = { op: 'uffd-writeprotect', region, wp: false, ...rest };
        if (hints) s.hints = hints.slice();
        return this.add(s);
      },
      copy: (region, o = {}) => this.add({ op: 'uffd-copy', region, ...o }),
      zeropage: (region, o = {}) => this.add({ op: 'uffd-zeropage', region, ...o }),
    };
  }

  /** Reclaim `pages` pages (a count) or all (default): aging, then shrink. */
  reclaim(pages?: number | 'all' | VarRef, o: Common = {}): Experiment {
    return this.add(pages === undefined ? { op: 'reclaim', ...o } : { op: 'reclaim', pages, ...o });
  }

  /** Sync dirty file pages of `region` (default: all regions). */
  writeback(region?: string, o: Common = {}): Experiment {
    return this.add(region === undefined ? { op: 'writeback', ...o } : { op: 'writeback', region, ...o });
  }

  migrate(region: string, o: Opts<'migrate', 'region'> = {}): Experiment {
    return this.add({ op: 'migrate', region, ...o });
  }

  /** Write /proc/pid/clear_refs: `soft-dirty` (4) or `young` (1). */
  clearRefs(mode: StepOf<'clear-refs'>['mode'], o: Common = {}): Experiment {
    return this.add({ op: 'clear-refs', mode, ...o });
  }

  /** One full khugepaged scan: ranges it may collapse (machine.khugepaged limits) become THPs. */
  khugepaged(o: Common = {}): Experiment {
    return this.add({ op: 'khugepaged', ...o });
  }

  /** The thread on `cpu` goes to sleep (lazy TLB: shootdowns skip the CPU until it runs again). */
  idle(cpu: number, o: Common = {}): Experiment {
    return this.add({ op: 'idle', cpu, ...o });
  }

  /** Record PTE rows of these pages into this step's result. */
  inspect(region: string, pages?: Pages, o: Common = {}): Experiment {
    return this.add(pages === undefined ? { op: 'inspect', region, ...o } : { op: 'inspect', region, pages, ...o });
  }

  /**
   * Replay a real program's page trace (.ptt, `ptlab trace capture`): `trace('gzip.ptt')` runs each
   * trace region in the spec region of its name (mapping those not mapped yet); `{region}` packs them
   * all into one spec region; `{records: {from, count}}` replays a slice. Or replay a CSV/JSONL trace
   * (`cpu, op, address`) against a region: `trace('heap', 'app.csv')`.
   */
  trace(file: string, o?: Opts<'trace', 'file'>): Experiment;
  trace(region: string, file: string, o?: Opts<'trace', 'region' | 'file'>): Experiment;
  trace(a: string, b?: string | Opts<'trace', 'file'>, c: Opts<'trace', 'region' | 'file'> = {}): Experiment {
    if (typeof b === 'string') return this.add({ op: 'trace', region: a, file: b, ...c });
    return this.add({ op: 'trace', file: a, ...(b ?? {}) });
  }

  /** PAGEMAP_SCAN: pages `written` since protection (uffd-wp async) or `soft-dirty`; `clear` re-protects (PM_SCAN_WP_MATCHING). */
  pagemapScan(region: string, mode: StepOf<'pagemap-scan'>['mode'], o: Opts<'pagemap-scan', 'region' | 'mode'> = {}): Experiment {
    return this.add({ op: 'pagemap-scan', region, mode, ...o });
  }

  /** Appends raw spec steps (e.g. from a scenario script). */
  steps(...steps: Array<Step | readonly Step[] | readonly { op: string }[]>): Experiment {
    const flat: Step[] = [];
    for (const s of steps) if (Array.isArray(s)) flat.push(...(s as Step[]));
    else flat.push(s as Step);
    return this.add(...flat.map((s) => ({ ...s })));
  }

  /** Appends workload steps: `.workload(w => w.zipf('heap', {accesses: 1e6}))`. */
  workload(build: (w: WorkloadBuilder) => WorkloadBuilder): Experiment {
    const w = build(new WorkloadBuilder([], (r) => this.regionPages(r)));
    return this.add(...w.steps.map((s) => ({ ...s })));
  }

  /** Pages of the latest mmap of `region` with a literal size. */
  private regionPages(region: string): number | undefined {
    for (let i = this.d.steps.length - 1; i >= 0; i--) {
      const s = this.d.steps[i];
      if (s.op === 'mmap' && s.region === region) {
        const b = parseSizeOrError(s.size);
        return typeof b === 'number' ? b / PAGE_SIZE : undefined;
      }
    }
    return undefined;
  }

  // ---- output ----

  /** The plain JSON spec (DESIGN.md shape), not validated. */
  toSpec(): ExperimentSpec {
    const d = this.d;
    const out: Record<string, unknown> = { name: d.name };
    if (d.description !== undefined) out.description = d.description;
    if (d.seed !== undefined) out.seed = d.seed;
    if (d.machine !== undefined) out.machine = { ...d.machine };
    if (d.kernel !== undefined) out.kernel = JSON.parse(JSON.stringify(d.kernel));
    out.steps = d.steps.map((s) => JSON.parse(JSON.stringify(s)));
    if (d.sweep !== undefined) out.sweep = JSON.parse(JSON.stringify(d.sweep));
    if (d.vars !== undefined) out.vars = { ...d.vars };
    if (d.repeat !== undefined) out.repeat = d.repeat;
    if (d.sampleEvery !== undefined) out.sampleEvery = d.sampleEvery;
    if (d.trace !== undefined) out.trace = JSON.parse(JSON.stringify(d.trace));
    return out as ExperimentSpec;
  }

  toJSON(): ExperimentSpec {
    return this.toSpec();
  }

  /** Every problem of the spec (shape, sweep, regions, names), without running. */
  validate(opts: ValidateOptions = {}): ValidateResult {
    return validateSpec(this.toSpec(), opts);
  }

  /** The runs this spec expands to (throws SpecError if invalid). */
  plan(opts: CompileOptions = {}): RunPlan[] {
    return compile(this.toSpec(), { variants: this.d.variants, ...opts });
  }

  /**
   * Estimated model state and simulated accesses, without running (`.summary` says it in one
   * line; `.over` lists what exceeds RUN_LIMITS, which run() refuses unless `allowLarge`).
   */
  estimate(opts: CompileOptions = {}): RunEstimate {
    return estimateRuns(this.plan(opts));
  }

  /** Runs all runs (worker threads with `jobs > 1`); resolves to the ResultSet. */
  async run(opts: RunOptions = {}): Promise<ResultSet> {
    // without callbacks of its own: the progress display the builder was given (src/notebook's)
    let shown: RunProgressDisplay | null = null;
    const show = this.services.progress;
    if (show && !opts.onProgress && !opts.onRunProgress) {
      const e = this.estimate({ variants: this.d.variants });
      shown = show(this.d.name, e.runs, e.totalAccesses);
    }
    let ok = false;
    try {
      const r = await run(this.toSpec(), { variants: this.d.variants, ...(shown?.callbacks ?? {}), ...opts });
      ok = true;
      return r;
    } finally {
      shown?.finish(ok);
    }
  }

  /** Runs in this thread, synchronously: for small runs in notebooks. */
  runSync(opts: RunOptions = {}): ResultSet {
    return runSync(this.toSpec(), { variants: this.d.variants, ...opts });
  }

  /**
   * Runs this experiment's ops on this host's kernel, timed (rdtsc, pinned, `reps` fresh
   * replays, medians): RunResults with `source: 'native'`, variant `native-<release>`, cpu
   * `host`, the machine record, and `refused` for the steps this host cannot run.
   * `ResultSet.merge([model, native])` puts them next to the model's runs.
   */
  native(opts?: TimeOptions): ResultSet {
    const timer = this.services.timer;
    if (!timer) throw new Error("native runs need ptlab's native runner, which this builder was made without: start from `lab` of 'ptlab' (or 'ptlab/internals'), not of src/lab");
    return timer(this.toSpec(), opts);
  }
}

/** A derived variant as a spec entry; hooks that are functions are listed by name (they stay in this process). */
function variantSpec(v: KernelVariant): VariantSpec {
  const value = variantValue(v);
  const out: VariantSpec = { name: value.name, base: value.base };
  if (Object.keys(value.overrides).length > 0) out.overrides = JSON.parse(JSON.stringify(value.overrides));
  if (value.hooks) out.hooks = Object.keys(value.hooks);
  return out;
}
