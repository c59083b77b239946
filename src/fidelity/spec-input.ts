/**
 * Reads an experiment spec for replay and diff: validates it with the spec schema
 * (src/lab/spec.ts) and resolves "$name" variables to one concrete run (the `vars` default, or
 * the first swept value), because a native replay is one run on one kernel.
 */
import { readFileSync } from 'node:fs';
import { ExperimentSpecSchema, type ExperimentSpec, type Step } from '../lab/spec';

export class SpecInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecInputError';
  }
}

/** One issue per line: `steps[3].advice: expected one of dontneed|free|cold|pageout`. */
function formatIssues(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 8)
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
      return `  ${path || '(spec)'}: ${i.message}`;
    })
    .join('\n');
}

export function parseSpecJson(json: unknown, where = 'spec'): ExperimentSpec {
  const r = ExperimentSpecSchema.safeParse(json);
  if (!r.success) throw new SpecInputError(`${where} is not a valid experiment spec:\n${formatIssues(r.error.issues)}\n(see docs/spec.md)`);
  return resolveVars(r.data);
}

export function readSpecFile(file: string): ExperimentSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecInputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpecInputError(`${file} is not JSON: ${(e as Error).message}`);
  }
  return parseSpecJson(json, file);
}

/** Replaces "$name" values in steps by `vars[name]` or the first `sweep[name]` value. */
export function resolveVars(spec: ExperimentSpec): ExperimentSpec {
  const values: Record<string, unknown> = {};
  for (const [k, vs] of Object.entries(spec.sweep ?? {})) values[k] = vs[0];
  Object.assign(values, spec.vars ?? {});
  const sub = (v: unknown, path: string): unknown => {
    if (typeof v === 'string' && v.startsWith('$')) {
      const name = v.slice(1);
      if (!(name in values)) throw new SpecInputError(`${path}: variable "${v}" has no value; add it to "vars" or "sweep"`);
      return values[name];
    }
    if (Array.isArray(v)) return v.map((x, i) => sub(x, `${path}[${i}]`));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x, `${path}.${k}`)]));
    return v;
  };
  const steps = spec.steps.map((s, i) => sub(s, `steps[${i}]`) as Step);
  return { ...spec, steps };
}

/** The run seed a replay uses: the spec's (first) seed, default 1 (DESIGN.md). */
export function specSeed(spec: ExperimentSpec): number {
  const s = spec.seed ?? 1;
  return Array.isArray(s) ? s[0] : s;
}
