/**
 * `ptlab run SPEC.json [--json] [--out DIR] [--jobs N] [--shard i/N] [--resume]`: runs an
 * experiment spec; progress goes to stderr, results to stdout (ResultsJson with --json, a short
 * table otherwise). Ctrl-C stops the sweep keeping finished runs (saved with --out; continue with
 * --resume).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { command, intFlag, parseCommand } from '../args/parser';
import { parseShard } from '../lab/plan';
import type { ResultSet } from '../lab/resultset';
import { run, RunCancelledError, RunFailedError, type RunOptions } from '../lab/runner';
import { readSpecFile } from '../lab/spec-file';
import { CliError } from '../args/cli-error';

const RUN = command('run', 'SPEC.json [--json] [--csv FILE] [--out DIR] [--jobs N] [--shard i/N] [--resume]', {
  json: { type: 'boolean', help: 'print the results as JSON (ResultsJson) on stdout' },
  csv: { type: 'string', help: 'also write the tidy rows (run x step x metric) as CSV to this file' },
  out: { type: 'string', help: 'save spec.json, results.json, meta.json and runs/ in this directory' },
  jobs: { type: 'string', short: 'j', help: 'parallel runs on worker threads (default 1; "auto" = all cores)' },
  shard: { type: 'string', help: 'run only slice i of N of the sweep, e.g. 2/4' },
  resume: { type: 'boolean', help: 'with --out: keep runs already saved there and run the rest' },
  'sample-every': { type: 'int', min: 1, example: 10000, help: 'time series: sample counters every N accesses' },
  strict: { type: 'boolean', help: 'stop at the first invariant violation' },
  quiet: { type: 'boolean', short: 'q', help: 'no progress on stderr' },
  'allow-large': { type: 'boolean', help: 'run even above the size limits (4 GiB of model state or 1e10 accesses per run)' },
});

export async function main(argv: string[]): Promise<number> {
  const opts = parseRunArgs(argv);
  const ac = new AbortController();
  const onSigint = () => {
    if (!opts.quiet) process.stderr.write('\nptlab run: stopping; finished runs are kept\n');
    ac.abort();
  };
  // Runs in this thread (jobs 1) keep the event loop busy, so a handler would only run after the
  // current run: Ctrl-C keeps its default (the process ends at once; runs saved with --out stay).
  const handleSigint = (opts.run.jobs ?? 1) > 1;
  if (handleSigint) process.once('SIGINT', onSigint);
  let set: ResultSet;
  try {
    set = await run(opts.spec, { ...opts.run, signal: ac.signal });
  } catch (e) {
    if (e instanceof RunCancelledError) {
      process.stderr.write(`ptlab run: cancelled with ${e.partial.length} run(s) finished${opts.run.outDir ? `, saved in ${opts.run.outDir}; run again with --resume to finish` : ''}\n`);
      return 130;
    }
    if (e instanceof RunFailedError) throw new CliError(`${e.message}${opts.run.outDir ? ` (${e.partial.length} finished run(s) saved in ${opts.run.outDir})` : ''}`, 1);
    throw e;
  } finally {
    if (handleSigint) process.removeListener('SIGINT', onSigint);
    inRun.clear();
  }
  if (opts.csv) fs.writeFileSync(opts.csv, set.toCSV());
  if (opts.json) process.stdout.write(JSON.stringify(set.toJSON()) + '\n');
  else process.stdout.write(summaryTable(set) + (opts.run.outDir ? `\nsaved in ${opts.run.outDir}\n` : ''));
  return 0;
}

interface ParsedRun {
  spec: unknown;
  csv?: string;
  json: boolean;
  quiet: boolean;
  run: RunOptions;
}

export function parseRunArgs(argv: string[]): ParsedRun {
  const p = parseCommand(RUN, argv);
  const v = p.values;
  if (p.positionals.length !== 1)
    throw new CliError(`run: ${p.positionals.length === 0 ? 'give the spec file' : `one spec file at a time (got ${p.positionals.length})`}; usage: ptlab run ${RUN.synopsis}`);
  const run: RunOptions = {};
  if (v.jobs !== undefined) run.jobs = v.jobs === 'auto' ? os.availableParallelism() : intFlag('run', 'jobs', v.jobs, { min: 1, example: 2 });
  if (v['sample-every'] !== undefined) run.sampleEvery = v['sample-every'];
  if (v.shard !== undefined) {
    const s = parseShard(v.shard);
    if (typeof s === 'string') throw new CliError(`run: --shard ${s}`);
    run.shard = s;
  }
  if (v.out !== undefined) run.outDir = v.out;
  if (v.resume) {
    if (!run.outDir) throw new CliError('run: --resume needs --out DIR (the directory holding the saved runs)');
    run.resume = true;
  }
  if (v.strict) run.strict = true;
  if (v['allow-large']) run.allowLarge = true;
  const spec = readSpecFile(p.positionals[0]);
  run.baseDir = spec.baseDir;
  run.source = p.positionals[0];
  const quiet = v.quiet;
  if (!quiet) {
    run.onProgress = (pr) => {
      inRun.clear();
      process.stderr.write(`[${pr.done}/${pr.total}] ${pr.plan.id}${pr.resumed ? ' (resumed)' : ''}  ${(pr.elapsedMs / 1000).toFixed(1)}s\n`);
    };
    run.onRunProgress = (plan, done, total) => inRun.update(plan.id, done, total);
  }
  return { spec: spec.raw, json: v.json, quiet, run, ...(v.csv !== undefined ? { csv: v.csv } : {}) };
}

/**
 * Progress inside a run on stderr, at most once a second: accesses done of the estimated total,
 * the rate and the time left ("run linux-6.18|...: 12.3 M / 268 M accesses, 2.1 M/s, ETA 2m08s").
 */
const inRun = {
  t0: 0,
  last: 0,
  id: '',
  shown: false,
  update(id: string, done: number, total: number): void {
    const now = Date.now();
    if (id !== this.id) {
      this.id = id;
      this.t0 = now;
      this.last = now;
      return;
    }
    if (now - this.last < 1000) return;
    this.last = now;
    const rate = done / ((now - this.t0) / 1000);
    const left = total > done && rate > 0 ? (total - done) / rate : 0;
    const eta = left >= 60 ? `${Math.floor(left / 60)}m${String(Math.round(left % 60)).padStart(2, '0')}s` : `${Math.round(left)}s`;
    const m = (n: number) => (n >= 1e9 ? `${(n / 1e9).toFixed(2)} G` : n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : `${Math.round(n / 1e3)} k`);
    process.stderr.write(`\r  run ${id}: ${m(done)} / ${m(total)} accesses, ${m(rate)}/s, ETA ${eta}   `);
    this.shown = true;
  },
  clear(): void {
    if (this.shown) process.stderr.write('\n');
    this.shown = false;
    this.id = '';
  },
};

function summaryTable(set: ResultSet): string {
  const head = ['run', 'cycles', 'faults', 'dirtyPages', 'tlbFlushes'];
  const rows = set.runs.map((r) => [r.id, fmt(r.total.cycles.total), fmt(r.total.counters.faults.total), fmt(r.total.counters.dirtyPages), fmt(r.total.counters.tlbFlushes)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), ...rows.map(line)].join('\n') + '\n';
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}
