/**
 * Validation of an experiment spec beyond its JSON shape: sweep variables, region and process
 * flow, page bounds, CPU numbers, uffd prerequisites, registry names and trace files. Every
 * problem is collected and reported with its path and fix (SpecIssue); nothing throws midway.
 *
 * Steps that use "$vars" are checked once per value of each variable (the others at their first
 * value), which catches a bad swept value without expanding the whole cartesian product.
 */
import { PageSet } from '../workload/pages';
import { checkTrace, traceFormat, TraceError } from '../workload/trace';
import * as path from 'node:path';
import { PageTraceFile } from '../workload/pagetrace-reader';
import { packedPages } from './page-trace-step';
import { findVarRefs, substitute, sweepAxes, type Scalar } from './plan';
import { defaultRegistries, type Registries } from './registries';
import { formatSize, PAGE_SIZE, parseSizeOrError } from './size';
import { variantValueIssues } from '../kernel/variant-value';
import { ExperimentSpecSchema, kernelName, RESERVED_SWEEP_KEYS, StepSchema, type ExperimentSpec, type Pages, type Step, type StepOf } from './spec';
import { closest } from '../args/spelling';
import { describe, formatPath, SpecError, zodIssuesToSpecIssues, type SpecIssue } from './spec-issues';

export interface ValidateOptions {
  /** name checks for kernels and CPU profiles; default: this build's registries; false: skip */
  registries?: Registries | false;
  /** directory relative trace paths resolve against (default cwd) */
  baseDir?: string;
  /** read trace files and check every line (default true) */
  checkTraces?: boolean;
  /** label for messages (a file name) */
  source?: string;
}

export type ValidateResult = { ok: true; spec: ExperimentSpec; issues: [] } | { ok: false; issues: SpecIssue[] };

/** Validates a spec (parsed JSON or a builder's output); collects every issue. */
export function validateSpec(raw: unknown, opts: ValidateOptions = {}): ValidateResult {
  const parsed = ExperimentSpecSchema.safeParse(raw, { reportInput: true });
  const registries = opts.registries === false ? {} : (opts.registries ?? defaultRegistries());
  if (!parsed.success)
    return { ok: false, issues: dedupe([...zodIssuesToSpecIssues(parsed.error.issues, raw), ...namesDespiteShape(raw, registries), ...flowDespiteShape(raw, opts)]) };
  const spec = parsed.data;
  const issues: SpecIssue[] = [];
  const varsOk = checkSweep(spec, issues);
  checkNames(spec, registries, issues);
  if (varsOk) checkProbes(spec, opts, issues);
  const unique = dedupe(issues);
  return unique.length === 0 ? { ok: true, spec, issues: [] } : { ok: false, issues: unique };
}

/**
 * All problems in one pass: when the spec's shape is wrong elsewhere, an unknown CPU profile or
 * kernel variant named by a plain string is still reported (read from the raw input, strings only).
 */
function namesDespiteShape(raw: unknown, reg: Registries): SpecIssue[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  const r = raw as { kernel?: unknown; machine?: unknown };
  const machine = r.machine !== null && typeof r.machine === 'object' && !Array.isArray(r.machine) ? (r.machine as { cpu?: unknown }) : {};
  const issues: SpecIssue[] = [];
  for (const issue of [
    typeof r.kernel === 'string' ? unknownName(reg.kernels, r.kernel, 'kernel', 'kernel variant') : null,
    typeof machine.cpu === 'string' ? unknownName(reg.cpus, machine.cpu, 'machine.cpu', 'CPU profile') : null,
  ])
    if (issue) issues.push(issue);
  return issues;
}

/** The issue for a name a registry does not know (with the closest known name), or null. */
function unknownName(list: (() => readonly string[]) | undefined, value: string, path: string, what: string): SpecIssue | null {
  if (!list) return null;
  const known = list();
  if (known.includes(value)) return null;
  const guess = closest(value, known);
  return { path, message: `"${value}" is not a known ${what}${guess ? ` (did you mean "${guess}"?)` : ''}; known: ${known.join(', ')}` };
}

/**
 * All problems in one pass: when the spec's shape is wrong, the flow checks (regions, page
 * ranges, CPUs) still run on the steps with the wrong parts taken out — a bad entry dropped
 * from a list, a bad field removed — so a negative page does not hide an out-of-range one. They
 * run only when every step can be repaired so (a step left out would make later ones look wrong).
 */
function flowDespiteShape(raw: unknown, opts: ValidateOptions): SpecIssue[] {
  const steps = (raw as { steps?: unknown } | null)?.steps;
  if (!Array.isArray(steps)) return [];
  const repaired: Step[] = [];
  for (const s of steps) {
    let r = StepSchema.safeParse(s);
    if (!r.success && s && typeof s === 'object') {
      const copy = JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
      // deepest paths first, so removing an array entry does not shift the others
      const paths = r.error.issues.map((i) => i.path).sort((a, b) => b.length - a.length || String(b[b.length - 1]).localeCompare(String(a[a.length - 1]), undefined, { numeric: true }));
      for (const path of paths) {
        if (path.length === 0 || path[0] === 'op') continue;
        let parent: unknown = copy;
        for (const k of path.slice(0, -1)) parent = parent && typeof parent === 'object' ? (parent as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
        const last = path[path.length - 1];
        if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
        else if (parent && typeof parent === 'object') delete (parent as Record<PropertyKey, unknown>)[last as PropertyKey];
      }
      r = StepSchema.safeParse(copy);
    }
    if (!r.success || findVarRefs(r.data).length > 0) return [];
    repaired.push(r.data);
  }
  // raw input: only a number is read (Number() of an object calls its own toString, which a
  // JSON document may have replaced with data)
  const rawCpus = (raw as { machine?: { cpus?: unknown } }).machine?.cpus;
  const cpus = typeof rawCpus === 'number' ? rawCpus : NaN;
  const issues: SpecIssue[] = [];
  checkFlow(repaired, Number.isInteger(cpus) && cpus >= 1 ? cpus : 1, opts, new Map(), issues);
  return issues;
}

/** Validates and returns the spec, or throws SpecError with every issue. */
export function parseSpec(raw: unknown, opts: ValidateOptions = {}): ExperimentSpec {
  const r = validateSpec(raw, opts);
  if (!r.ok) throw new SpecError(r.issues, opts.source);
  return r.spec;
}

/** Checks sweep keys and "$var" references; false when a reference cannot be resolved. */
function checkSweep(spec: ExperimentSpec, issues: SpecIssue[]): boolean {
  let varsOk = true;
  const add = (path: string, message: string) => issues.push({ path, message });
  const sweep = spec.sweep ?? {};
  const refs = findVarRefs(spec.steps, ['steps']);
  const defined = new Set([...Object.keys(sweep), ...Object.keys(spec.vars ?? {})]);
  const used = new Set<string>();
  for (const r of refs) {
    if (!r.name) {
      varsOk = false;
      add(formatPath(r.path), `${describe(r.raw)} is not a variable reference; write "$name" with letters, digits and _`);
      continue;
    }
    used.add(r.name);
    if ((RESERVED_SWEEP_KEYS as readonly string[]).includes(r.name)) {
      varsOk = false;
      add(formatPath(r.path), `"$${r.name}" refers to a reserved sweep key; ${r.name} is set per run already, use another variable name`);
    } else if (!defined.has(r.name)) {
      varsOk = false;
      const guess = closest(r.name, [...defined]);
      add(formatPath(r.path), `"$${r.name}" names no variable${guess ? ` (did you mean "$${guess}"?)` : ''}; add "${r.name}" to sweep (e.g. "sweep": {"${r.name}": [...]}) or to vars`);
    }
  }
  if (Array.isArray(spec.kernel) && sweep.kernel) add('sweep.kernel', 'kernel is already a list; give the kernels in one place (kernel or sweep.kernel)');
  else if (sweep.kernel && !Array.isArray(spec.kernel) && !sweep.kernel.includes(kernelName(spec.kernel)))
    add('kernel', `"${kernelName(spec.kernel)}" is not in sweep.kernel, so it would never run; add it to sweep.kernel or give the kernels in one place`);
  if (Array.isArray(spec.seed) && sweep.seed) add('sweep.seed', 'seed is already a list; give the seeds in one place (seed or sweep.seed)');
  for (const [key, values] of Object.entries(sweep)) {
    values.forEach((v, i) => {
      const p = `sweep.${key}[${i}]`;
      if ((key === 'kernel' || key === 'cpu') && typeof v !== 'string') add(p, `expected a ${key === 'kernel' ? 'kernel variant' : 'CPU profile'} name (a string), got ${describe(v)}`);
      if (key === 'seed' && !(typeof v === 'number' && Number.isInteger(v) && v >= 0)) add(p, `expected a non-negative integer seed, got ${describe(v)}`);
      if (key === 'cpus' && !(typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 4096)) add(p, `expected a CPU count (integer 1..4096), got ${describe(v)}`);
    });
    if (!(RESERVED_SWEEP_KEYS as readonly string[]).includes(key) && !used.has(key))
      add(`sweep.${key}`, `no step uses "$${key}"; reference it as a step field value "$${key}" or remove it (reserved keys: ${RESERVED_SWEEP_KEYS.join(', ')})`);
    const seen = new Set(values.map((x) => JSON.stringify(x)));
    if (seen.size !== values.length) add(`sweep.${key}`, 'lists a value twice; each combination would run twice (use repeat for that)');
  }
  for (const key of Object.keys(spec.vars ?? {})) {
    if ((RESERVED_SWEEP_KEYS as readonly string[]).includes(key)) add(`vars.${key}`, `"${key}" is reserved; set it with the spec's own field instead`);
    else if (!used.has(key)) add(`vars.${key}`, `no step uses "$${key}"; remove it or reference it as "$${key}"`);
  }
  return varsOk;
}

function checkNames(spec: ExperimentSpec, reg: Registries, issues: SpecIssue[]): void {
  const check = (list: (() => readonly string[]) | undefined, value: string, path: string, what: string) => {
    const issue = unknownName(list, value, path, what);
    if (issue) issues.push(issue);
  };
  const entries = Array.isArray(spec.kernel) ? spec.kernel.map((k, i) => [k, `kernel[${i}]`] as const) : [[spec.kernel, 'kernel'] as const];
  const inline = entries.flatMap(([k]) => (typeof k === 'string' ? [] : [k.name]));
  const kernels = reg.kernels && (() => [...reg.kernels!(), ...inline]);
  for (const [k, at] of entries) {
    if (typeof k === 'string') check(kernels, k, at, 'kernel variant');
    else for (const [field, message] of variantValueIssues(k)) issues.push({ path: `${at}.${field}`, message });
  }
  (spec.sweep?.kernel ?? []).forEach((k, i) => typeof k === 'string' && check(kernels, k, `sweep.kernel[${i}]`, 'kernel variant'));
  check(reg.cpus, spec.machine.cpu, 'machine.cpu', 'CPU profile');
  (spec.sweep?.cpu ?? []).forEach((c, i) => typeof c === 'string' && check(reg.cpus, c, `sweep.cpu[${i}]`, 'CPU profile'));
}

/** Runs the step checks for the base combination and for each other value of each axis. */
function checkProbes(spec: ExperimentSpec, opts: ValidateOptions, issues: SpecIssue[]): void {
  const axes = sweepAxes(spec).filter((a) => a.key !== 'kernel' && a.key !== 'seed' && a.key !== 'cpu');
  const base: Record<string, Scalar> = { ...(spec.vars ?? {}) };
  for (const a of axes) base[a.key] = a.values[0];
  const probes: { values: Record<string, Scalar>; note: string }[] = [{ values: base, note: '' }];
  for (const a of axes) for (const v of a.values.slice(1)) probes.push({ values: { ...base, [a.key]: v }, note: ` (with ${a.key} = ${describe(v)})` });
  const traceCache = new Map<string, string[]>();
  for (const probe of probes) {
    const steps = spec.steps.map((s) => substitute(s, probe.values));
    const cpus = Number(probe.values.cpus ?? spec.machine.cpus ?? 1);
    const local: SpecIssue[] = [];
    let shapeOk = true;
    steps.forEach((s, i) => {
      if (findVarRefs(s).length > 0) return; // undefined variable: reported by checkSweep
      const r = StepSchema.safeParse(s, { reportInput: true });
      if (!r.success) {
        shapeOk = false;
        local.push(...zodIssuesToSpecIssues(r.error.issues, { steps }, ['steps', i]));
      }
    });
    if (shapeOk) checkFlow(steps as Step[], cpus, opts, traceCache, local);
    for (const iss of local) issues.push({ path: iss.path, message: iss.message + probe.note });
  }
}

interface RegionState {
  pages: number;
  kind: string;
  uffdModes: Set<string>;
  uffdFeatures: Set<string>;
}

/** Region/process bookkeeping in step order, the way the kernel would refuse or misbehave. */
function checkFlow(steps: readonly Step[], cpus: number, opts: ValidateOptions, traceCache: Map<string, string[]>, issues: SpecIssue[]): void {
  const procs = new Map<string, Map<string, RegionState>>([['main', new Map()]]);
  steps.forEach((s, i) => {
    const at = (field?: string) => `steps[${i}]${field ? `.${field}` : ''}`;
    const add = (field: string | undefined, message: string) => issues.push({ path: at(field), message });
    const procName = s.process ?? 'main';
    const regions = procs.get(procName);
    if (!regions) {
      add('process', `process "${procName}" does not exist at this step; create it with {"op": "fork", "child": "${procName}"} earlier or use "main"`);
      return;
    }
    const need = (name: string): RegionState | undefined => {
      const r = regions.get(name);
      if (!r) {
        const guess = closest(name, [...regions.keys()]);
        add('region', `"${name}" is not mapped in process "${procName}" at this step${guess ? ` (did you mean "${guess}"?)` : ''}; add {"op": "mmap", "region": "${name}", "size": "16MiB"} before it`);
      }
      return r;
    };
    const pagesOk = (r: RegionState, sel: Pages | undefined) => {
      if (sel === undefined || typeof sel === 'string') return; // a "$var" left: reported by checkSweep
      try {
        new PageSet(sel, r.pages, 'pages');
      } catch (e) {
        add('pages', (e as Error).message.replace(/^pages(\[\d+\])?: /, ''));
      }
    };
    switch (s.op) {
      case 'mmap': {
        if (regions.has(s.region)) {
          add('region', `"${s.region}" is already mapped; munmap it first or use another name`);
          return;
        }
        const bytes = parseSizeOrError(s.size);
        const kind = typeof s.kind === 'string' ? s.kind : 'anon-private';
        if (s.fs !== undefined && kind.startsWith('anon')) add('fs', `fs applies to file mappings only; remove it or use kind "file-shared"/"file-private"`);
        regions.set(s.region, { pages: typeof bytes === 'number' ? bytes / PAGE_SIZE : 0, kind, uffdModes: new Set(), uffdFeatures: new Set() });
        return;
      }
      case 'munmap':
        if (need(s.region)) regions.delete(s.region);
        return;
      case 'fork': {
        if (procs.has(s.child)) {
          add('child', `process "${s.child}" already exists; give the child another name`);
          return;
        }
        // the child inherits the mappings; uffd registrations only with UFFD_FEATURE_EVENT_FORK (dup_userfaultfd)
        const copy = new Map<string, RegionState>();
        for (const [k, r] of regions) {
          const keep = r.uffdFeatures.has('event-fork');
          copy.set(k, { ...r, uffdModes: keep ? new Set(r.uffdModes) : new Set(), uffdFeatures: keep ? new Set(r.uffdFeatures) : new Set() });
        }
        procs.set(s.child, copy);
        return;
      }
      case 'reclaim':
      case 'clear-refs':
      case 'khugepaged':
      case 'idle': // (the CPU number is checked against machine.cpus when the run starts)
        return;
      case 'writeback':
        if (s.region !== undefined) need(s.region);
        return;
      case 'touch': {
        const r = need(s.region);
        if (r) pagesOk(r, s.pages);
        if (typeof s.cpu === 'number' && s.cpu >= cpus) add('cpu', `CPU ${s.cpu} does not exist; the machine has cpus 0..${cpus - 1} (raise machine.cpus)`);
        if (s.cpu !== undefined && s.threads !== undefined) add('threads', 'give either cpu (one thread) or threads (with placement), not both');
        if (Array.isArray(s.placement))
          s.placement.forEach((c, k) => c >= cpus && add(`placement[${k}]`, `CPU ${c} does not exist; the machine has cpus 0..${cpus - 1}`));
        const pattern = s.pattern ?? 'sequential';
        const only: [keyof typeof s, string][] = [['theta', 'zipf'], ['stride', 'stride'], ['hotFraction', 'hotcold'], ['hotProbability', 'hotcold']];
        for (const [f, p] of only) if (s[f] !== undefined && pattern !== p) add(f as string, `applies to pattern "${p}" only; remove it or set "pattern": "${p}"`);
        if (s.writeRatio !== undefined && s.access !== undefined && s.access !== 'rw') add('writeRatio', `applies to access "rw" only (access is "${s.access}"); remove it or set "access": "rw"`);
        return;
      }
      case 'uffd-register': {
        const r = need(s.region);
        if (!r) return;
        if ((s.features ?? []).length > 0 && !s.modes.includes('wp'))
          add('features', `${(s.features ?? []).join(', ')} need mode "wp"; add "wp" to modes`);
        for (const m of s.modes) r.uffdModes.add(m);
        for (const f of s.features ?? []) r.uffdFeatures.add(f);
        return;
      }
      case 'uffd-writeprotect': {
        const r = need(s.region);
        if (!r) return;
        pagesOk(r, s.pages);
        // UFFDIO_WRITEPROTECT fails (-ENOENT) on a range not registered with UFFDIO_REGISTER_MODE_WP
        if (!r.uffdModes.has('wp')) add('region', `"${s.region}" is not registered for uffd-wp; add {"op": "uffd-register", "region": "${s.region}", "modes": ["wp"]} before it`);
        return;
      }
      case 'uffd-copy':
      case 'uffd-zeropage': {
        const r = need(s.region);
        if (!r) return;
        pagesOk(r, s.pages);
        if (r.uffdModes.size === 0) add('region', `"${s.region}" is not registered with userfaultfd; add {"op": "uffd-register", "region": "${s.region}", "modes": ["missing"]} before it`);
        return;
      }
      case 'pagemap-scan': {
        const r = need(s.region);
        if (!r) return;
        pagesOk(r, s.pages);
        if (s.mode === 'soft-dirty' && s.clear === true)
          add('clear', 'PAGEMAP_SCAN cannot clear soft-dirty; remove clear and add {"op": "clear-refs", "mode": "soft-dirty"}');
        // ioctl_pagemap_scan(2): tracking PAGE_IS_WRITTEN needs UFFD_FEATURE_WP_ASYNC and a WP registration
        if (s.mode === 'written' && !(r.uffdModes.has('wp') && r.uffdFeatures.has('wp-async')))
          add('mode', `"written" needs "${s.region}" registered with {"op": "uffd-register", "modes": ["wp"], "features": ["wp-async"]} first (ioctl_pagemap_scan(2))`);
        return;
      }
      case 'trace': {
        if (traceFormat(s) === 'ptt') {
          checkPageTraceStep(s, regions, opts, add, need);
          return;
        }
        if (s.region === undefined) {
          add('region', 'a CSV/JSONL trace addresses one region: give "region" (only page traces, .ptt, may leave it out)');
          return;
        }
        const r = need(s.region);
        if (!r || opts.checkTraces === false) return;
        const key = `${s.file}|${r.pages}|${cpus}`;
        let found = traceCache.get(key);
        if (!found) {
          found = checkTrace(s, { pages: r.pages, cpus, baseDir: opts.baseDir });
          traceCache.set(key, found);
        }
        for (const m of found) add('file', m);
        return;
      }
      default: {
        const r = need(s.region);
        if (r && 'pages' in s) pagesOk(r, s.pages);
      }
    }
  });
}

/** A page trace step: the file's header and region table, and where its regions go (src/lab/page-trace-step.ts). */
function checkPageTraceStep(
  s: StepOf<'trace'>,
  regions: Map<string, RegionState>,
  opts: ValidateOptions,
  add: (field: string | undefined, message: string) => void,
  need: (name: string) => RegionState | undefined,
): void {
  const packInto = s.region !== undefined ? need(s.region) : undefined;
  if (s.region !== undefined && !packInto) return;
  if (opts.checkTraces === false) return;
  let t: PageTraceFile;
  try {
    t = PageTraceFile.open(path.resolve(opts.baseDir ?? process.cwd(), s.file), s.file);
  } catch (e) {
    if (e instanceof TraceError) for (const m of e.issues) add('file', m);
    else throw e;
    return;
  }
  const regs = t.trailer.regions;
  const rec = s.records as { from: number; count: number } | undefined;
  if (rec && rec.from + rec.count > t.trailer.records)
    add('records', `{from: ${rec.from}, count: ${rec.count}} goes past the trace's ${t.trailer.records} records`);
  if (packInto) {
    const needPages = packedPages(t);
    if (needPages > packInto.pages) add('region', `"${s.region}" has ${packInto.pages} pages but the trace's ${regs.length} regions need ${needPages}; mmap it with size "${formatSize(needPages * PAGE_SIZE)}"`);
    return;
  }
  for (const name of Object.keys(s.regions ?? {}))
    if (!regs.some((x) => x.name === name)) add('regions', `the trace has no region "${name}"; its regions: ${regs.map((x) => x.name).join(', ')}`);
  for (const x of regs) {
    const name = s.regions?.[x.name] ?? x.name;
    const r = regions.get(name);
    if (!r) regions.set(name, { pages: x.pages, kind: x.kind, uffdModes: new Set(), uffdFeatures: new Set() });
    else if (r.pages < x.pages) add('regions', `spec region "${name}" has ${r.pages} pages but trace region "${x.name}" needs ${x.pages}; mmap it with size "${formatSize(x.pages * PAGE_SIZE)}"`);
  }
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message.replace(/ \(with [^)]*\)$/, '')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
