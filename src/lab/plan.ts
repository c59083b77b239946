/**
 * Sweep axes, "$name" substitution and sharding, for compile() (compile.ts). The runs of a spec are
 * the cartesian product of the swept axes, times `repeat`.
 *
 * Axes, outermost first: `kernel` when it is a list, `seed` when it is a list, then the keys of
 * `sweep` in the order written. Reserved sweep keys set the run's kernel, seed, machine.cpu
 * (`cpu`) and machine.cpus (`cpus`); any other key is a variable that steps use as "$name".
 *
 * Substitution: a step field (or list element) whose value is exactly the string "$name" is
 * replaced by the run's value of `name` — from `sweep`, else from `vars`. Only whole values are
 * replaced ("$size", not "x$size"), so a substituted value keeps its JSON type (a number stays a
 * number) and the step is validated again after substitution.
 *
 * The order of the plan list is deterministic and is what `--shard i/N` slices (round-robin:
 * run k goes to shard (k mod N) + 1, which spreads slow and fast combinations evenly).
 */
import { kernelName, type ExperimentSpec } from './spec';

export type Scalar = string | number | boolean;

export interface Axis {
  key: string;
  values: Scalar[];
}

const VAR_RE = /^\$([A-Za-z_][A-Za-z0-9_]*)$/;

/** The variable name if `v` is a "$name" reference. */
export function varName(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  const m = VAR_RE.exec(v);
  return m ? m[1] : undefined;
}

export function sweepAxes(spec: ExperimentSpec): Axis[] {
  const axes: Axis[] = [];
  if (Array.isArray(spec.kernel)) axes.push({ key: 'kernel', values: spec.kernel.map(kernelName) });
  if (Array.isArray(spec.seed)) axes.push({ key: 'seed', values: spec.seed.slice() });
  for (const [key, values] of Object.entries(spec.sweep ?? {})) {
    if (axes.some((a) => a.key === key)) continue; // kernel/seed given both ways: validation reports it
    axes.push({ key, values: values.slice() });
  }
  return axes;
}

/** Every combination of axis values, first axis outermost. */
export function combinations(axes: readonly Axis[]): Record<string, Scalar>[] {
  let out: Record<string, Scalar>[] = [{}];
  for (const a of axes) {
    const next: Record<string, Scalar>[] = [];
    for (const c of out) for (const v of a.values) next.push({ ...c, [a.key]: v });
    out = next;
  }
  return out;
}

/** Deep copy of `value` with every "$name" string replaced by `values[name]` when defined. */
export function substitute<T>(value: T, values: Readonly<Record<string, Scalar>>): T {
  const name = varName(value);
  if (name !== undefined) return (Object.prototype.hasOwnProperty.call(values, name) ? values[name] : value) as T;
  if (Array.isArray(value)) return value.map((x) => substitute(x, values)) as T;
  if (value !== null && typeof value === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(value)) o[k] = substitute(x, values);
    return o as T;
  }
  return value;
}

/** Every "$name" reference in `value`, with its path. */
export function findVarRefs(value: unknown, at: PropertyKey[] = [], out: { path: PropertyKey[]; name: string; raw: string }[] = []) {
  if (typeof value === 'string' && value.startsWith('$')) out.push({ path: at, name: varName(value) ?? '', raw: value });
  else if (Array.isArray(value)) value.forEach((x, i) => findVarRefs(x, [...at, i], out));
  else if (value !== null && typeof value === 'object') for (const [k, x] of Object.entries(value)) findVarRefs(x, [...at, k], out);
  return out;
}

/** Stable run id: `${variant}|${cpu}|seed=${seed}|r=${repeat}` then `|k=v` for other swept keys. */
export function runId(variant: string, cpu: string, seed: number, repeat: number, params: Readonly<Record<string, Scalar>>): string {
  let id = `${variant}|${cpu}|seed=${seed}|r=${repeat}`;
  for (const [k, v] of Object.entries(params)) if (k !== 'kernel' && k !== 'cpu' && k !== 'seed') id += `|${k}=${String(v)}`;
  return id;
}

export interface Shard {
  /** 1-based */
  index: number;
  count: number;
}

/** Parses "i/N" (1 <= i <= N); returns an error message naming the fix otherwise. */
export function parseShard(s: string): Shard | string {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(s);
  if (!m) return `"${s}" is not a shard; use i/N with 1 <= i <= N, e.g. 1/4`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) return `"${s}": i must be between 1 and N (N >= 1); use e.g. 1/${Math.max(count, 1)}`;
  return { index, count };
}

/** Shard i of N: runs whose plan position k has k mod N = i - 1. */
export function shardPlans<T>(plans: readonly T[], shard: Shard): T[] {
  return plans.filter((_, k) => k % shard.count === shard.index - 1);
}
