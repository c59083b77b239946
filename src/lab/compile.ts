/**
 * The compile stage (DESIGN.md "Second wave"): a spec is validated once and turned into the list
 * of runs it stands for, each a `RunPlan` that later stages use and nothing else — the simulator,
 * the worker threads, `ptlab diff` and `ptlab calibrate --check`. A plan holds fully substituted
 * steps (the StepSchema types with no "$var" option), the resolved machine and CPU profile, and
 * the kernel variant as a value (a built-in name plus field overrides) that travels to workers.
 *
 * Runs are the cartesian product of the swept axes, times `repeat` (plan.ts), in a deterministic
 * order that `--shard i/N` slices.
 */
import * as path from 'node:path';
import { getProfile } from '../cost/registry';
import type { CpuProfile } from '../cost/profile';
import { virtualize } from '../cost/virtualize';
import type { KernelVariant } from '../kernel/variant';
import { isVariantFields, localHooks, variantValue, variantValueIssues, type VariantValue } from '../kernel/variant-value';
import { getVariant } from '../kernel/variants';
import { defaultRegistries } from './registries';
import { combinations, findVarRefs, runId, substitute, sweepAxes, type Scalar } from './plan';
import { kernelName, type ExperimentSpec, type PteTraceSpec, type ResolvedStep, type Step, type VariantSpec } from './spec';
import { SpecError } from './spec-issues';
import type { RunResult } from './types';
import { parseSpec, type ValidateOptions } from './validate';

/** The machine of one run: one CPU profile name, a CPU count. */
export interface ResolvedMachine {
  cpu: string;
  cpus: number;
  virtualized?: boolean;
  swap?: 'disk' | 'zram';
  thp?: 'never' | 'madvise' | 'always';
  thpZeroPage?: boolean;
  /** hugepages-<size>kB/enabled of the mTHP sizes (6.8+) */
  mthp?: Partial<Record<'16kB' | '32kB' | '64kB' | '128kB' | '256kB' | '512kB' | '1024kB', 'always' | 'madvise' | 'inherit' | 'never'>>;
  /** transparent_hugepage/khugepaged/max_ptes_* */
  khugepaged?: { maxPtesNone?: number; maxPtesSwap?: number; maxPtesShared?: number };
}

/** One run, ready for the simulator: the identity fields of its RunResult and everything it needs. */
export interface RunPlan extends Pick<RunResult, 'id' | 'name' | 'variant' | 'cpu' | 'seed' | 'repeat' | 'params'> {
  description?: string;
  machine: ResolvedMachine;
  /** the CPU profile the run is priced with (virtualized when machine.virtualized) */
  profile: CpuProfile;
  /** the kernel variant, as a value (`variant` is its name) */
  kernel: VariantValue;
  steps: ResolvedStep[];
  sampleEvery?: number;
  /** directory relative trace files resolve against (the spec file's directory) */
  baseDir?: string;
  /** per-PTE event trace of these pages for the whole run (the spec's `trace`) */
  trace?: PteTraceSpec;
  /** regions mapped one VMA per page, as the native replayer maps them (set by `ptlab diff`) */
  vmaPerPage?: string[];
}

export interface CompileOptions extends ValidateOptions {
  /** variants the spec may name besides the built-ins (e.g. derived in a notebook) */
  variants?: readonly KernelVariant[];
  /** CPU profiles to use instead of the registry's of the same name (a re-run's saved ones) */
  profiles?: readonly CpuProfile[];
  /** worker threads the plans will run on: above 1, a variant with hooks defined in this process is refused */
  jobs?: number;
}

function isResolved(s: Step): s is ResolvedStep {
  return findVarRefs(s).length === 0;
}

/** Validates `raw` (throws SpecError with every issue) and compiles it into its runs. */
export function compile(raw: unknown, opts: CompileOptions = {}): RunPlan[] {
  const registries = opts.registries === false ? false : (opts.registries ?? defaultRegistries(opts.variants, opts.profiles));
  return compileSpec(parseSpec(raw, { ...opts, registries }), opts);
}

/** Compiles a spec that already passed validation. */
export function compileSpec(spec: ExperimentSpec, opts: CompileOptions = {}): RunPlan[] {
  const variants = new Map<string, VariantValue>();
  const refuse = (message: string) => new SpecError([{ path: 'kernel', message }], opts.source);
  const variantOf = (name: string): VariantValue => {
    let v = variants.get(name);
    if (!v) {
      v = resolveVariant(spec, name, opts, refuse);
      const local = localHooks(v);
      if ((opts.jobs ?? 1) > 1 && local.length > 0)
        throw refuse(`variant "${name}" has ${local.join(', ')} hook(s) defined in this process, which worker threads cannot load; run with jobs: 1, or put the hooks in a module and derive the variant with hooksModule`);
      variants.set(name, v);
    }
    return v;
  };
  const profiles = new Map<string, CpuProfile>();
  const profileOf = (machine: ResolvedMachine): CpuProfile => {
    const key = `${machine.cpu}|${machine.virtualized === true}`;
    let p = profiles.get(key);
    if (!p) profiles.set(key, (p = planProfile(machine, opts.profiles?.find((x) => x.name === machine.cpu))));
    return p;
  };

  // one step list per combination (its repeats share the `values` object)
  const stepsOf = new Map<Record<string, Scalar>, ResolvedStep[]>();
  const resolveSteps = (values: Record<string, Scalar>): ResolvedStep[] => {
    let steps = stepsOf.get(values);
    if (!steps) {
      steps = spec.steps.map((s, i): ResolvedStep => {
        const c = substitute(s, values);
        // validation checked every variable against every swept value, so none is left
        if (!isResolved(c)) throw new SpecError([{ path: `steps[${i}]`, message: 'a "$variable" is left after substitution; define it in sweep or vars' }], opts.source);
        if (c.op === 'trace' && opts.baseDir) return { ...c, file: path.resolve(opts.baseDir, c.file) };
        return c;
      });
      stepsOf.set(values, steps);
    }
    return steps;
  };
  return enumerate(spec).map((r): RunPlan => {
    const plan: RunPlan = { ...r.identity, machine: r.machine, profile: profileOf(r.machine), kernel: variantOf(r.identity.variant), steps: resolveSteps(r.values) };
    if (spec.description !== undefined) plan.description = spec.description;
    if (spec.sampleEvery !== undefined) plan.sampleEvery = spec.sampleEvery;
    if (spec.trace !== undefined) plan.trace = spec.trace;
    if (opts.baseDir !== undefined) plan.baseDir = opts.baseDir;
    return plan;
  });
}

/**
 * The value of the variant `name`: one passed to the run (it may carry hook functions), one the
 * spec gives as a value, or a built-in. The name -> value table is built here, per compile.
 */
function resolveVariant(spec: ExperimentSpec, name: string, opts: CompileOptions, refuse: (m: string) => SpecError): VariantValue {
  const given = opts.variants?.find((x) => x.name === name);
  if (given) return variantValue(given);
  const inline = (Array.isArray(spec.kernel) ? spec.kernel : [spec.kernel]).find((k): k is VariantSpec => typeof k !== 'string' && k.name === name);
  if (!inline) return variantValue(getVariant(name));
  if (inline.hooks?.length)
    throw refuse(`variant "${name}" has ${inline.hooks.join(', ')} hook(s) written as functions where the spec was built; run it there (pass the variant to the run), or put the hooks in a module and set overrides.hooksModule`);
  const overrides: Record<string, unknown> = { ...inline.overrides };
  const mod = overrides.hooksModule;
  if (typeof mod === 'string' && /^\.\.?\//.test(mod)) overrides.hooksModule = path.resolve(opts.baseDir ?? process.cwd(), mod);
  // validation reported any bad field; this only narrows the type
  if (!isVariantFields(inline.base, overrides)) throw refuse(`variant "${name}": ${variantValueIssues({ base: inline.base, overrides }).map(([f, m]) => `${f} ${m}`).join('; ')}`);
  return { name, base: inline.base, overrides };
}

interface Enumerated {
  identity: Pick<RunPlan, 'id' | 'name' | 'variant' | 'cpu' | 'seed' | 'repeat' | 'params'>;
  machine: ResolvedMachine;
  values: Record<string, Scalar>;
}

/** Every run of a validated spec in plan order, without resolving names or steps. */
function enumerate(spec: ExperimentSpec): Enumerated[] {
  const out: Enumerated[] = [];
  const repeat = spec.repeat ?? 1;
  for (const combo of combinations(sweepAxes(spec))) {
    const values: Record<string, Scalar> = { ...(spec.vars ?? {}), ...combo };
    const kernel = String(combo.kernel ?? kernelName(Array.isArray(spec.kernel) ? spec.kernel[0] : spec.kernel));
    const seed = Number(combo.seed ?? (Array.isArray(spec.seed) ? spec.seed[0] : (spec.seed ?? 1)));
    const machine: ResolvedMachine = { cpu: String(combo.cpu ?? spec.machine.cpu), cpus: Number(combo.cpus ?? spec.machine.cpus ?? 1) };
    if (spec.machine.virtualized !== undefined) machine.virtualized = spec.machine.virtualized;
    if (spec.machine.swap !== undefined) machine.swap = spec.machine.swap;
    if (spec.machine.thp !== undefined) machine.thp = spec.machine.thp;
    if (spec.machine.thpZeroPage !== undefined) machine.thpZeroPage = spec.machine.thpZeroPage;
    if (spec.machine.mthp !== undefined) machine.mthp = spec.machine.mthp;
    if (spec.machine.khugepaged !== undefined) machine.khugepaged = spec.machine.khugepaged;
    for (let r = 0; r < repeat; r++)
      out.push({ identity: { id: runId(kernel, machine.cpu, seed, r, combo), name: spec.name, variant: kernel, cpu: machine.cpu, seed, repeat: r, params: { ...combo } }, machine, values });
  }
  return out;
}

/** The run ids of a validated spec, in plan order (merge and shards need no more). */
export function runIds(spec: ExperimentSpec): string[] {
  return enumerate(spec).map((r) => r.identity.id);
}

/** The CPU profile a machine is priced with: its cpu's, virtualized when the machine is. */
export function planProfile(machine: ResolvedMachine, given?: CpuProfile): CpuProfile {
  const base = given ?? getProfile(machine.cpu);
  return machine.virtualized && !base.virtualized ? virtualize(base) : base;
}
