/**
 * `npm start` / `ptlab start`: the flagship experiment of the seed thread on the default CPU
 * profile, no Jupyter needed. Written exclusive anon pages are made clean and old (MADV_FREE,
 * as reclaim aging or a read swap-in also leave them), write-protected with uffd, unprotected
 * with the WRITE_LIKELY hint, and then a quarter of them is written at random. Per variant it
 * reports the cycles of those first writes, the faults and A/D updates they cost, and how many
 * pages end up dirty and written back under memory pressure, then writes out/report.html.
 *
 * Where the host can run it (Linux x86-64 with a C compiler; userfaultfd for the uffd steps), the
 * same experiment is also measured on this kernel (src/fidelity/compare.ts: one seed, a few
 * fresh replays, a couple of seconds) and shown next to the model of this host; otherwise the
 * output says why not. `--no-host` skips it.
 */
import * as path from 'node:path';
import { DEFAULT_PROFILE, getProfile } from '../cost/registry';
import { lab } from '../lab/index';
import type { ResultSet } from '../lab/resultset';
import { summarize } from '../lab/stats';
import { Table } from '../notebook/table';
import { writeReport } from '../report/index';
import { charts } from '../notebook/charts/index';
import { command, parseCommand } from '../args/parser';
import { CliError } from '../args/cli-error';
import { comparisonCaption, comparisonChart, compareWithHost, formatComparison, type HostComparison } from '../fidelity/compare';

export const FLAGSHIP_VARIANTS = ['linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints', 'proposal-dirty-on-mkwrite'];
const PAGES = 16384; // 64 MiB
const WRITES = PAGES / 4;

/** The flagship experiment as a builder (also used by tests and the quickstart). */
export function flagshipExperiment(cpu = DEFAULT_PROFILE, seeds: number[] = [1, 2, 3]) {
  return lab
    .experiment('First write after uffd unprotect (the July 2022 thread)')
    .describe('Exclusive anon pages, clean and old (MADV_FREE), uffd-wp protected then unprotected with WRITE_LIKELY; a random quarter is then written; two reclaim passes show what gets written back.')
    .machine(cpu, { cpus: 2 })
    .kernel(...FLAGSHIP_VARIANTS)
    .seed(seeds)
    .mmap('heap', `${PAGES * 4}KiB`)
    .touch('heap', 'write', { label: 'populate' })
    .madvise('heap', 'free', { label: 'MADV_FREE (clean, old)' })
    .uffd.register('heap', { wp: true })
    .uffd.writeprotect('heap', { label: 'uffd protect' })
    .uffd.unprotect('heap', { hints: ['write-likely'], label: 'uffd unprotect (WRITE_LIKELY)' })
    .touch('heap', 'write', { pattern: 'random', count: WRITES, label: 'first writes' })
    // sustained memory pressure: young or lazily-freed-but-dirtied folios survive a pass or two
    .reclaim('all', { label: 'reclaim 1' })
    .reclaim('all', { label: 'reclaim 2' })
    .reclaim('all', { label: 'reclaim 3' })
    .reclaim('all', { label: 'reclaim 4' });
}

const FIRST_WRITES = 6;
const UNPROTECT = 5;

export interface FlagshipRow {
  variant: string;
  cyclesPerWrite: number;
  ci95: number;
  faults: number;
  adUpdates: number;
  dirtyAfterUnprotect: number;
  pagesWritten: number;
  writtenBack: number;
}

/** Per-variant means over seeds of the numbers the thread argued about. */
export function flagshipSummary(results: ResultSet): FlagshipRow[] {
  const runs = results.toJSON().runs;
  const variants = [...new Set(runs.map((r) => r.variant))];
  return variants.map((variant) => {
    const rs = runs.filter((r) => r.variant === variant);
    const mean = (f: (r: (typeof rs)[number]) => number) => summarize(rs.map(f)).mean;
    // the headline: cycles per access of the first-writes step (the report's summary shows the same)
    const perWrite = results.where({ variant }).summarize({ metric: 'cycles.total', step: FIRST_WRITES, per: 'access' })[0];
    return {
      variant,
      cyclesPerWrite: perWrite.mean,
      ci95: perWrite.ci95,
      faults: mean((r) => r.steps[FIRST_WRITES].counters.faults.total),
      adUpdates: mean((r) => {
        const e = r.steps[FIRST_WRITES].counters.events;
        return (e.aBitSet ?? 0) + (e.dBitSet ?? 0) + (e.adBitSet ?? 0); // hardware A/D update operations
      }),
      dirtyAfterUnprotect: mean((r) => r.steps[UNPROTECT].counters.dirtyPages),
      pagesWritten: mean((r) => r.steps[FIRST_WRITES].counters.dirtyPages),
      writtenBack: mean((r) => r.steps.slice(FIRST_WRITES + 1).reduce((n, st) => n + st.counters.writebackPages, 0)),
    };
  });
}

const START = command('start', '[--out DIR] [--cpu PROFILE] [--jobs N] [--no-host]', {
  out: { type: 'string', default: 'out', help: 'directory for report.html and the saved results' },
  cpu: { type: 'string', default: DEFAULT_PROFILE, help: 'CPU profile of the model (ptlab list cpus)' },
  jobs: { type: 'int', min: 1, example: 2, default: 2, help: 'parallel runs on worker threads' },
  'no-host': { type: 'boolean', help: 'do not measure the experiment on this kernel' },
}, 'Runs the flagship experiment of the seed thread, prints its table and writes DIR/report.html.');

export async function main(argv: string[]): Promise<number> {
  const { values } = parseCommand(START, argv);
  const { out: outDir, cpu, jobs } = values;
  try {
    getProfile(cpu);
  } catch (e) {
    throw new CliError(`start: --cpu: ${(e as Error).message}`);
  }
  const exp = flagshipExperiment(cpu);
  process.stderr.write(`ptlab: ${exp.toSpec().name} — ${FLAGSHIP_VARIANTS.length} variants x 3 seeds on ${cpu}\n`);
  const results = await exp.run({
    jobs,
    onProgress: (p) => process.stderr.write(`\r  runs ${p.done}/${p.total}`),
  });
  process.stderr.write('\n');
  const rows = flagshipSummary(results);
  const table = new Table(
    rows.map((r) => ({
      variant: r.variant,
      'cycles/first write': `${r.cyclesPerWrite.toFixed(0)} ± ${r.ci95.toFixed(0)}`,
      faults: r.faults,
      'HW A/D updates': r.adUpdates,
      'dirty after unprotect': r.dirtyAfterUnprotect,
      'dirty after writes': r.pagesWritten,
      'written to swap': r.writtenBack,
    })),
  );
  process.stdout.write(`\n${table.toText()}\n`);
  results.save(path.join(outDir, 'flagship'));
  const host = values['no-host'] ? { skipped: 'skipped (--no-host)' } : measureOnHost();
  if ('comparison' in host) {
    const c = host.comparison;
    const fw = c.rows.find((r) => r.step === FIRST_WRITES);
    process.stdout.write(`\nThe same experiment on this machine (${c.machine.kernelVariant} is the variant modelling its kernel; uffd hints are not in upstream Linux and are ignored natively):\n${formatComparison(c)}\n`);
    if (fw) process.stdout.write(`first writes: ${perWrite(fw.native)} cycles per write measured here, ${perWrite(fw.model)} modelled (${c.variant}, profile ${c.profile.name})\n`);
    // the measured first write is an A/D-setting pass over fresh memory: on a VM guest that is the
    // dear state of docs/fidelity.md "Open", while profiles are priced from repeated passes
    if (fw && c.machine.virtualization !== 'bare-metal')
      process.stdout.write(`  (a VM guest: a first A/D-setting pass over fresh memory costs up to 2-4x a repeated pass, the state profiles are priced in; docs/fidelity.md, "Open")\n`);
  } else process.stdout.write(`\nmeasurement on this machine: ${host.skipped}\n`);
  const firstWrites = { step: FIRST_WRITES };
  const file = await writeReport(results, {
    out: path.join(outDir, 'report.html'),
    baseline: 'linux-6.18',
    charts: [
      { title: 'Cycles of the first writes after unprotect, by event', chart: charts.cycleBreakdown(results, firstWrites) },
      { title: 'First-write cycles vs linux-6.18 (95% CI over seeds)', chart: charts.overhead(results, { ...firstWrites, baseline: 'linux-6.18' }) },
      ...('comparison' in host
        ? [{ title: 'This machine next to the model (seed 1, per step)', chart: comparisonChart(host.comparison), caption: comparisonCaption(host.comparison) }]
        : []),
    ],
    notes:
      'Cycles per first write after uffd unprotect, per kernel variant, on the default CPU profile (every number in it cites its source: docs/cost-model.md). ' +
      'linux-5.19 pays a write-protect fault per page; linux-6.18 maps the PTE writable at once but old and clean, so the first write pays a hardware A+D update; ' +
      'the RFC hint makes it young and dirty; the dirty-on-mkwrite proposal dirties every unprotected page, which reclaim then writes back.' +
      ('comparison' in host ? '' : `\n\nMeasured on this machine: ${host.skipped}.`),
  });
  process.stdout.write(`\nreport: ${file}\nresults: ${path.join(outDir, 'flagship')} (re-run: ptlab run ${path.join(outDir, 'flagship', 'spec.json')})\n`);
  return 0;
}

const perWrite = (cycles: number) => Math.round(cycles / WRITES).toLocaleString('en-US');

/** The flagship's first seed timed on this kernel next to the model of this host, or why not. */
function measureOnHost(): { comparison: HostComparison } | { skipped: string } {
  process.stderr.write('ptlab: measuring the same experiment on this machine (seed 1, 3 fresh runs)\n');
  try {
    return { comparison: compareWithHost(flagshipExperiment(DEFAULT_PROFILE, [1]).kernel('linux-6.18').toSpec(), { reps: 3 }) };
  } catch (e) {
    return { skipped: `not available (${(e as Error).message})` };
  }
}
