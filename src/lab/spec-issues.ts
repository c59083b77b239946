/**
 * Turns zod issues into messages a person can act on: each names the path in the spec
 * (`steps[3].size`), what is wrong and the fix — `steps[3].size: "256MB" is not a size; use e.g.
 * "256MiB" or "4KiB"`. All issues are collected; nothing here ever shows a stack trace.
 */
import type { z } from 'zod';
import { didYouMean } from '../args/spelling';
import { ExperimentSpecSchema, MachineSchema, OPS, PteTraceSpec, STEP_SCHEMAS, VARREF_MARK } from './spec';

export interface SpecIssue {
  /** `steps[3].size`; '' for the spec as a whole */
  path: string;
  message: string;
}

/** A spec that cannot run; `issues` holds every problem found. */
export class SpecError extends Error {
  constructor(
    readonly issues: SpecIssue[],
    /** where the spec came from (a file name), prefixed to the summary */
    readonly source?: string,
  ) {
    super(formatIssues(issues, source));
    this.name = 'SpecError';
  }
}

export function formatIssues(issues: readonly SpecIssue[], source?: string): string {
  const head = `${source ? `${source}: ` : ''}invalid experiment spec (${issues.length} problem${issues.length === 1 ? '' : 's'})`;
  return [head, ...issues.map((i) => `  ${i.path ? `${i.path}: ` : ''}${i.message}`)].join('\n');
}

export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const p of path) {
    if (typeof p === 'number') s += `[${p}]`;
    else if (typeof p === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(p)) s += s ? `.${p}` : p;
    else s += `[${JSON.stringify(String(p))}]`;
  }
  return s;
}

/** What a field expects, for messages about values of the wrong kind or missing fields. */
const FIELD_HELP: Record<string, string> = {
  name: 'a name for the experiment, e.g. "uffd-wp unprotect, then write"',
  machine: '{"cpu": "skylake-sp", "cpus": 2}',
  cpu: 'a CPU cost profile name (machine.cpu) or a CPU number (steps)',
  cpus: 'the number of CPUs, e.g. 2',
  kernel: 'a kernel variant name such as "linux-6.18", or a list of them',
  steps: 'a list of steps such as {"op": "mmap", "region": "heap", "size": "16MiB"}',
  region: 'the name of a region created by an earlier mmap step, e.g. "heap"',
  size: 'a size such as "16MiB" or "4KiB"',
  pages: 'a page list such as [0, 1, 2], a range {"from": 0, "count": 16}, or "$var"',
  count: 'a whole number of accesses, e.g. 100000',
  seed: 'a non-negative integer, or a list of them',
  wp: 'true (protect) or false (unprotect)',
  clear: 'true or false',
  modes: 'a list such as ["wp"]',
  child: 'the name of the new process, e.g. "child"',
  file: 'the path of a .csv or .jsonl trace',
  placement: '"spread" or a list of CPU numbers such as [0, 2]',
  sweep: 'an object of lists, e.g. {"seed": [1, 2, 3]}',
  repeat: 'a whole number >= 1',
  prot: 'one of "none", "r", "rw"',
  advice: 'one of "dontneed", "free", "cold", "pageout"',
  mode: 'a mode name',
};

type Issue = z.core.$ZodIssue;

export function zodIssuesToSpecIssues(issues: readonly Issue[], root: unknown, prefix: readonly PropertyKey[] = []): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const iss of issues) convert(iss, [...prefix, ...iss.path], root, out);
  return dedupe(out);
}

function convert(iss: Issue, path: PropertyKey[], root: unknown, out: SpecIssue[]): void {
  const input = (iss as { input?: unknown }).input;
  const key = lastKey(path);
  const add = (message: string, p: PropertyKey[] = path) => out.push({ path: formatPath(p), message });
  if (iss.message === VARREF_MARK) {
    // only the "$name" branch of a union was left to complain: the value fits neither
    add(`${describe(input)} is not valid here; use ${(key && FIELD_HELP[key]) ?? 'a value of the documented type'} (or a "$name" sweep variable)`);
    return;
  }
  switch (iss.code) {
    case 'invalid_type': {
      if (input === undefined) {
        const help = key ? FIELD_HELP[key] : undefined;
        add(`missing; add "${key}"${help ? `: ${help}` : ''}`);
      } else add(`expected ${expectedWord(iss.expected)}, got ${describe(input)}${key && FIELD_HELP[key] ? `; use ${FIELD_HELP[key]}` : ''}`);
      return;
    }
    case 'too_small': {
      const origin = (iss as { origin?: string }).origin;
      if (origin === 'array') add(`needs at least ${iss.minimum} entr${Number(iss.minimum) === 1 ? 'y' : 'ies'}`);
      else if (origin === 'string') add('must not be empty');
      else add(`${describe(input)} is too small; use a value ${iss.inclusive ? '>=' : '>'} ${iss.minimum}`);
      return;
    }
    case 'too_big': {
      const origin = (iss as { origin?: string }).origin;
      if (origin === 'array') add(`has more than ${iss.maximum} entries`);
      else add(`${describe(input)} is too large; use a value ${iss.inclusive ? '<=' : '<'} ${iss.maximum}`);
      return;
    }
    case 'invalid_value': {
      const values = iss.values.map((x) => JSON.stringify(x));
      const guess = typeof input === 'string' ? didYouMean(input, iss.values.map(String)) : '';
      add(`${describe(input)} is not one of ${values.join(', ')}${guess}`);
      return;
    }
    case 'unrecognized_keys': {
      const known = knownKeys(path, root);
      for (const k of iss.keys) {
        const guess = known ? didYouMean(k, known) : '';
        const where = describeObject(path, root);
        add(`unknown field${guess}${known ? `; ${where} has: ${known.join(', ')}` : '; remove it'}`, [...path, k]);
      }
      return;
    }
    case 'invalid_union': {
      if ((iss as { note?: string }).note === 'No matching discriminator') {
        const op = input && typeof input === 'object' ? (input as { op?: unknown }).op : undefined;
        if (op === undefined) add(`missing "op"; every step needs one of: ${OPS.join(', ')}`);
        else {
          const guess = typeof op === 'string' ? didYouMean(op, OPS) : '';
          add(`${describe(op)} is not an op${guess}; valid ops: ${OPS.join(', ')}`);
        }
        return;
      }
      // v(schema) unions end with the "$var" branch; report against the branch(es) whose type matched
      const branches = iss.errors.filter((b) => !isVarRefBranch(b));
      const matched = branches.filter((b) => b.every((e) => !isRootTypeMismatch(e, input)));
      if (matched.length >= 1) {
        for (const e of matched[0]) convert(e, [...path, ...e.path], root, out);
        return;
      }
      const help = key ? FIELD_HELP[key] : undefined;
      const kinds = branches.map((b) => (b[0] && b[0].code === 'invalid_type' ? expectedWord(b[0].expected) : 'a value')).join(' or ');
      add(`${describe(input)} is not valid here; use ${help ?? kinds}`);
      return;
    }
    case 'invalid_format':
      if ((iss as { format?: string }).format === 'regex' && path.length >= 1)
        add(`${describe(input)} is not a valid name; use letters, digits and _ (not starting with a digit)`);
      else add(`${describe(input)} is not valid: ${iss.message}`);
      return;
    case 'invalid_key':
      add(`${describe(input)} is not a valid name; use letters, digits and _ (not starting with a digit)`);
      return;
    case 'custom':
      add(iss.message);
      return;
    default:
      add(iss.message);
  }
}

function isVarRefBranch(b: readonly Issue[]): boolean {
  return b.length > 0 && b.every((i) => i.message === VARREF_MARK);
}

function isRootTypeMismatch(e: Issue, input: unknown): boolean {
  if (e.path.length > 0) return false;
  if (e.code === 'invalid_type') return !(e.expected === 'int' && typeof input === 'number');
  // z.literal('spread') against another string: a different kind of value, not a near miss
  if (e.code === 'invalid_value' && e.values.length === 1) return true;
  return false;
}

function expectedWord(t: string): string {
  switch (t) {
    case 'int':
      return 'an integer';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
      return 'an object';
    default:
      return t;
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  return s.length > 60 ? s.slice(0, 57) + '...' : s;
}

function lastKey(path: readonly PropertyKey[]): string | undefined {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return undefined;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p as string];
  }
  return v;
}

function knownKeys(path: readonly PropertyKey[], root: unknown): string[] | undefined {
  if (path.length === 0) return Object.keys(ExperimentSpecSchema.shape);
  if (path.length === 1 && path[0] === 'machine') return Object.keys(MachineSchema.shape);
  if (path.length === 2 && path[0] === 'steps') {
    const op = (valueAt(root, path) as { op?: string } | undefined)?.op;
    if (op && op in STEP_SCHEMAS) return Object.keys(STEP_SCHEMAS[op as keyof typeof STEP_SCHEMAS].shape);
  }
  if (path.length === 3 && path[0] === 'steps' && path[2] === 'pages') return ['from', 'count'];
  if (path[path.length - 1] === 'trace' && (path.length === 1 || (path.length === 3 && path[0] === 'steps'))) return Object.keys(PteTraceSpec.shape);
  return undefined;
}

function describeObject(path: readonly PropertyKey[], root: unknown): string {
  if (path.length === 0) return 'a spec';
  if (path.length === 2 && path[0] === 'steps') return `a ${(valueAt(root, path) as { op?: string }).op} step`;
  return formatPath(path);
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
