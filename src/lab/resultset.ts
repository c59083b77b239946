/**
 * ResultSet: the runs of an experiment with tidy views, filters, grouping, mean and 95% CI over
 * seeds (and repeats), JSON/CSV export, and a results directory format that the report generator
 * and `ptlab merge` read:
 *
 *   DIR/spec.json      the experiment spec as given
 *   DIR/results.json   ResultsJson: { ptlab: {version}, runs: [...] }
 *   DIR/meta.json      ptlab version, date, node version, seeds, run count (shard, if any)
 *   DIR/runs/*.json    one file per finished run (written while a sweep runs; see run-store.ts)
 *   DIR/profiles.json  the CPU profiles the runs were priced with (sourced definitions, by name)
 *   DIR/variants.json  the kernel variants they simulated, as values (by name)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { VERSION } from '../version';
import { loadSavedRuns } from './run-store';
import { checkPer, perDivisor, stepIndex, type Per } from './per';
import { summarize, type Summary } from './stats';
import { tidyRows, type TidyOptions } from './tidy';
import type { ResultsJson, RunResult, RunSource, TidyRow } from './types';
import type { CpuProfileDefinition } from '../cost/profile';
import type { VariantValue } from '../kernel/variant-value';
import type { RunOptions } from './runner';
// Charts and tables are drawn by src/notebook, above this layer, which is handed over as a value
// (result-views.ts): this module imports nothing of it.
import { installedResultViews, resultViews, type ViewChart, type ViewChartOptions, type ViewMetricOptions, type ViewShowOptions, type ViewTable } from './result-views';

export interface ResultMeta {
  ptlab: string;
  date: string;
  node: string;
  seeds: number[];
  runs: number;
  /** "i/N" when the set is one shard of a sweep */
  shard?: string;
  /** ids of planned runs that are missing (a cancelled or partial sweep) */
  missing?: string[];
  [k: string]: unknown;
}

/** Keys rows can be grouped by: a TidyRow field, or `params.<name>`. */
export type GroupKey = 'run' | 'source' | 'name' | 'variant' | 'cpu' | 'seed' | 'repeat' | 'step' | 'op' | 'metric' | `params.${string}`;

export interface RowQuery {
  metric?: string | readonly string[] | RegExp;
  /** step index, or 'total' (= -1) */
  step?: number | 'total' | string | readonly (number | string)[];
  op?: string | readonly string[];
  variant?: string | readonly string[];
  cpu?: string | readonly string[];
  /** 'model' or 'native' runs only */
  source?: RunSource | readonly RunSource[];
}

export interface SummaryRow extends Summary {
  variant: string;
  cpu: string;
  /** parameters of the group (swept ones except seed) */
  params: Record<string, string | number | boolean>;
  step: number;
  op: string;
  metric: string;
  /** the group's other keys when grouped by custom keys */
  group: Record<string, string | number | boolean>;
}

/** A variant as saved: its value, with the names of hooks that were functions (not saved). */
export type SavedVariant = Omit<VariantValue, 'hooks'> & { hooks?: string[] };

/** What the runs were run with, beyond the spec: enough to run them again, bit for bit. */
export interface Provenance {
  /** the CPU profiles the runs were priced with, by name (sourced definitions) */
  profiles: Record<string, CpuProfileDefinition>;
  /** the kernel variants the runs simulated, by name */
  variants: Record<string, SavedVariant>;
}

export class ResultSet {
  private tidyCache: TidyRow[] | null = null;

  constructor(
    readonly runs: readonly RunResult[],
    /** the spec that produced the runs (as given) */
    readonly spec?: unknown,
    readonly meta?: Partial<ResultMeta>,
    /** the profiles and variants the runs were run with (set by the runner, saved and loaded with the set) */
    readonly provenance?: Provenance,
  ) {}

  get length(): number {
    return this.runs.length;
  }

  /** A chart of these results by name ('cycles', 'overhead', 'dirty', 'faults', 'sweep', 'pte-map', ...), with that chart's options. */
  chart<N extends keyof ViewChartOptions>(name: N, opts?: ViewChartOptions[N]): ViewChart;
  /** A chart of one tidy metric ('cycles.dBitSet', 'faults.byKind.wpReuse', ...). */
  chart(metric: string, opts?: ViewMetricOptions): ViewChart;
  chart(name: string, opts?: object): ViewChart {
    return resultViews('chart').chart(this, name, opts);
  }

  /** The summary table of the step the experiment is about (per access), then its cycle breakdown. `await results.show()` */
  show(opts?: ViewShowOptions): Promise<void> {
    return resultViews('show').show(this, opts);
  }

  /** The summary as a table (renders when it is a cell's value; `.show()`, `.toText()`, `.toMarkdown()`). */
  summary(opts?: ViewShowOptions): ViewTable {
    return resultViews('summary').summary(this, opts);
  }

  /** Tidy rows (one per run x step x metric) as a table, filtered like rows(). */
  frame(q?: RowQuery): ViewTable {
    return resultViews('frame').frame(this, q);
  }

  [inspect.custom](): string {
    const views = installedResultViews();
    return views ? views.inspect(this) : `ResultSet: ${this.runs.length} run(s)`;
  }

  /** One row per run x step x metric; the total has step -1 and op "total". */
  tidy(opts: TidyOptions = {}): TidyRow[] {
    if (opts.events) return tidyRows(this.runs, opts);
    if (!this.tidyCache) this.tidyCache = tidyRows(this.runs);
    return this.tidyCache;
  }

  /** Rows matching a query (all given criteria must hold). */
  rows(q: RowQuery = {}): TidyRow[] {
    const m = q.metric;
    // a step by index, 'total', or its label (the runs of one spec share their steps)
    const steps = q.step === undefined ? undefined : (Array.isArray(q.step) ? q.step : [q.step]).map((s) => (typeof s === 'number' ? s : this.runs.length ? stepIndex(this.runs[0], s) : -1));
    return this.tidy().filter(
      (r) =>
        (m === undefined || (m instanceof RegExp ? m.test(r.metric) : typeof m === 'string' ? r.metric === m : m.includes(r.metric))) &&
        (steps === undefined || steps.includes(r.step)) &&
        oneOf(q.op, r.op) &&
        oneOf(q.variant, r.variant) &&
        oneOf(q.cpu, r.cpu) &&
        oneOf(q.source, r.source),
    );
  }

  /** Rows of one metric, optionally narrowed further. */
  metric(name: string, q: Omit<RowQuery, 'metric'> = {}): TidyRow[] {
    return this.rows({ ...q, metric: name });
  }

  /** Runs for which `pred` holds (a new ResultSet). */
  filter(pred: (run: RunResult) => boolean): ResultSet {
    return new ResultSet(this.runs.filter(pred), this.spec, this.meta, this.provenance);
  }

  /** Runs whose fields (and `params`) equal the given values. */
  where(match: Partial<Pick<RunResult, 'variant' | 'cpu' | 'seed' | 'repeat' | 'name'>> & { params?: Record<string, string | number | boolean> }): ResultSet {
    return this.filter((r) => {
      for (const k of ['variant', 'cpu', 'seed', 'repeat', 'name'] as const) if (match[k] !== undefined && r[k] !== match[k]) return false;
      for (const [k, v] of Object.entries(match.params ?? {})) if (r.params[k] !== v) return false;
      return true;
    });
  }

  /** Rows grouped by keys; map key is the JSON of the key values, in first-seen order. */
  groupBy(keys: readonly GroupKey[], rows: readonly TidyRow[] = this.tidy()): Map<string, TidyRow[]> {
    const out = new Map<string, TidyRow[]>();
    for (const r of rows) {
      const k = JSON.stringify(keys.map((key) => keyValue(r, key)));
      let g = out.get(k);
      if (!g) out.set(k, (g = []));
      g.push(r);
    }
    return out;
  }

  /**
   * Mean, sd and 95% Student-t CI of each metric over seeds and repeats (src/lab/stats.ts). By
   * default groups by variant, cpu, every swept parameter except seed, step and metric.
   */
  summarize(opts: { by?: readonly GroupKey[]; rows?: readonly TidyRow[]; per?: Per } & RowQuery = {}): SummaryRow[] {
    const per = checkPer('summarize', opts.per) ?? 'run';
    let rows = opts.rows ?? this.rows(opts);
    if (per !== 'run') {
      // each value divided by its step's pages, accesses or faults (NaN where the step has none)
      const byId = new Map(this.runs.map((r) => [r.id, r]));
      rows = rows.map((r) => ({ ...r, value: r.value / perDivisor(byId.get(r.run)!, r.step, per) }));
    }
    const paramKeys = new Set<string>();
    for (const r of rows) for (const k of Object.keys(r.params)) if (k !== 'seed') paramKeys.add(k);
    const by: readonly GroupKey[] = opts.by ?? ['source', 'variant', 'cpu', ...[...paramKeys].filter((k) => k !== 'kernel' && k !== 'cpu').map((k) => `params.${k}` as GroupKey), 'step', 'op', 'metric'];
    const out: SummaryRow[] = [];
    for (const group of this.groupBy(by, rows).values()) {
      const first = group[0];
      const params: Record<string, string | number | boolean> = {};
      const g: Record<string, string | number | boolean> = {};
      for (const key of by) {
        const v = keyValue(first, key);
        g[key] = v;
        if (key.startsWith('params.')) params[key.slice(7)] = v;
      }
      out.push({
        ...summarize(group.map((r) => r.value)),
        variant: first.variant,
        cpu: first.cpu,
        params,
        step: first.step,
        op: first.op,
        metric: first.metric,
        group: g,
      });
    }
    return out;
  }

  toJSON(): ResultsJson {
    return { ptlab: { version: VERSION }, runs: this.runs.slice() };
  }

  /** Tidy rows as RFC 4180 CSV; one column per swept parameter that is not already a column. */
  toCSV(opts: TidyOptions = {}): string {
    const rows = this.tidy(opts);
    const fixed = ['run', 'name', 'variant', 'cpu', 'seed', 'repeat'] as const;
    const paramCols: string[] = [];
    for (const r of this.runs) for (const k of Object.keys(r.params)) if (k !== 'kernel' && !(fixed as readonly string[]).includes(k) && !paramCols.includes(k)) paramCols.push(k);
    // a source column only when native runs are in the set (model-only CSVs keep their columns)
    const withSource = this.runs.some((r) => r.source === 'native');
    const lines = [[...fixed, ...(withSource ? ['source'] : []), ...paramCols, 'step', 'op', 'metric', 'value'].map(csvCell).join(',')];
    for (const r of rows) {
      const cells: unknown[] = [r.run, r.name, r.variant, r.cpu, r.seed, r.repeat, ...(withSource ? [r.source] : []), ...paramCols.map((k) => r.params[k] ?? ''), r.step, r.op, r.metric, r.value];
      lines.push(cells.map(csvCell).join(','));
    }
    return lines.join('\n') + '\n';
  }

  /**
   * Runs the spec again with the profiles and variants these runs were run with (not today's
   * registries); deterministic, so the result equals this set bit for bit.
   */
  rerun(opts: RunOptions = {}): Promise<ResultSet> {
    const { rerun } = require('./runner') as typeof import('./runner');
    return rerun(this, opts);
  }

  /** Writes spec.json, results.json, meta.json and the provenance (profiles.json, variants.json) into `dir`. */
  save(dir: string, extraMeta: Partial<ResultMeta> = {}): void {
    fs.mkdirSync(dir, { recursive: true });
    if (this.spec !== undefined) writeJson(path.join(dir, 'spec.json'), this.spec);
    writeJson(path.join(dir, 'results.json'), this.toJSON());
    const meta: ResultMeta = {
      ...(this.meta ?? {}),
      ptlab: VERSION,
      date: new Date().toISOString(),
      node: process.version,
      seeds: [...new Set(this.runs.map((r) => r.seed))].sort((a, b) => a - b),
      runs: this.runs.length,
      ...extraMeta,
    };
    writeJson(path.join(dir, 'meta.json'), meta);
    if (this.provenance) {
      writeJson(path.join(dir, 'profiles.json'), this.provenance.profiles);
      writeJson(path.join(dir, 'variants.json'), this.provenance.variants);
    }
  }

  /** Reads a results directory (results.json, or the runs/ of an interrupted sweep). */
  static load(dir: string): ResultSet {
    const resultsFile = path.join(dir, 'results.json');
    const spec = readJsonIfExists(path.join(dir, 'spec.json'));
    const meta = readJsonIfExists(path.join(dir, 'meta.json')) as Partial<ResultMeta> | undefined;
    const profiles = readJsonIfExists(path.join(dir, 'profiles.json')) as Provenance['profiles'] | undefined;
    const variants = readJsonIfExists(path.join(dir, 'variants.json')) as Provenance['variants'] | undefined;
    const provenance = profiles && variants ? { profiles, variants } : undefined;
    if (fs.existsSync(resultsFile)) {
      const json = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as ResultsJson;
      if (!json || !Array.isArray(json.runs)) throw new Error(`${resultsFile}: not a ptlab results file (no "runs" list)`);
      return new ResultSet(json.runs, spec, meta, provenance);
    }
    const saved = loadSavedRuns(dir);
    if (saved.size === 0) throw new Error(`${dir}: no results.json and no saved runs; is this a directory written by ptlab run --out?`);
    return new ResultSet([...saved.values()], spec, meta, provenance);
  }

  static fromJSON(json: ResultsJson, spec?: unknown): ResultSet {
    return new ResultSet(json.runs, spec);
  }

  /**
   * Combines sets (e.g. shards of one sweep). Runs with the same id must be identical (they are
   * deterministic); `order` (plan ids) fixes the run order, else first-seen order is kept.
   */
  static merge(sets: readonly ResultSet[], order?: readonly string[]): ResultSet {
    const byId = new Map<string, RunResult>();
    for (const s of sets)
      for (const r of s.runs) {
        const prev = byId.get(r.id);
        if (prev && JSON.stringify(prev) !== JSON.stringify(r)) throw new Error(`run "${r.id}" appears twice with different results; were the shards run with different ptlab versions or specs?`);
        if (!prev) byId.set(r.id, r);
      }
    let runs = [...byId.values()];
    if (order) {
      const pos = new Map(order.map((id, i) => [id, i]));
      runs = runs.slice().sort((a, b) => (pos.get(a.id) ?? Infinity) - (pos.get(b.id) ?? Infinity));
    }
    const withProvenance = sets.filter((s) => s.provenance);
    const provenance = withProvenance.length
      ? { profiles: Object.assign({}, ...withProvenance.map((s) => s.provenance!.profiles)), variants: Object.assign({}, ...withProvenance.map((s) => s.provenance!.variants)) }
      : undefined;
    return new ResultSet(runs, sets.find((s) => s.spec !== undefined)?.spec, undefined, provenance);
  }
}

function oneOf(want: string | readonly string[] | undefined, v: string): boolean {
  return want === undefined || (typeof want === 'string' ? want === v : want.includes(v));
}

function keyValue(r: TidyRow, key: GroupKey): string | number | boolean {
  if (key.startsWith('params.')) return r.params[key.slice(7)] ?? '';
  return r[key as Exclude<GroupKey, `params.${string}`>];
}

function csvCell(v: unknown): string {
  const s = typeof v === 'string' ? v : String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n');
  fs.renameSync(tmp, file);
}

function readJsonIfExists(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: cannot read (${(e as Error).message})`);
  }
}
