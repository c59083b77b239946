/**
 * `ptlab calibrate`: measure this host with the native probe and write the "host" CPU profile.
 * `ptlab calibrate --check`: run composite scenarios natively and compare with the model.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { compile } from '../lab/compile';
import { simulateRun } from '../lab/simulate';
import { command, parseCommand, type Values } from '../args/parser';
import { CliError } from '../args/cli-error';
import { buildProbe, keepQuieter, noisyMeasurements, NOISY_SPREAD_PCT, probeSupport, runProbe, type ProbeOutput } from '../cost/probe-runner';
import { calibrateHost, calibrateHostOverRuns } from './host-calibration';
import { readHostInfo, closestBase, regimeRowsFor, type CalibrationRow, type RegimeRow } from '../cost/calibrate';
import { hostPageNumbersText, type HostPageVerdict } from '../cost/calibrate-host-page';
import type { Sourced } from '../cost/sourced';
import { hostProfilePath, getProfile, listProfiles, registerProfile, measuredProfileDir, SHIPPED_PROFILES } from '../cost/registry';
import { checkScenarios, pageListFile } from '../workload/check-scenarios';
import { variantForRelease } from '../kernel/variants';
import { compareCheck, checkPassed, formatCheckTable, summarizeRuns, CHECK_TOLERANCE_PCT, type CheckRow, type CheckScenario } from '../cost/check';

const CALIBRATE = command('calibrate', `[--fast] [--reps N] [--others busy|as-is] [--out FILE | --save NAME] [--dry-run] [--json]
       ptlab calibrate --regimes MiB[,MiB...] [--reps N] [--cpu PROFILE] [--others busy|as-is] [--json]
       ptlab calibrate --check [--runs N] [--reps N] [--others busy|as-is] [--saved | --cpu PROFILE] [--kernel VARIANT] [--out FILE | --save NAME] [--dry-run] [--json]`, {
  check: { type: 'boolean', help: 'run the composite scenarios natively and compare them with the model' },
  runs: { type: 'int', min: 1, max: 20, example: 3, default: 3, help: 'with --check: calibrate-and-check rounds' },
  saved: { type: 'boolean', help: 'with --check: use the saved host profile, do not measure it again' },
  regimes: { type: 'string', help: 'footprints in MiB for the A/D update regimes, e.g. 128,1024' },
  fast: { type: 'boolean', help: 'a subset of the measurements with fewer trials (quick, rougher)' },
  reps: { type: 'int', min: 1, max: 64, example: 7, help: 'repetitions of each measurement' },
  others: { type: 'choice', values: ['busy', 'as-is'], help: "the other CPUs while measuring (default: busy on a VM guest, else as-is)" },
  out: { type: 'string', help: 'write the profile to this file' },
  save: { type: 'string', help: 'write the profile as the measured profile NAME' },
  'dry-run': { type: 'boolean', help: 'measure but write nothing' },
  json: { type: 'boolean', help: 'print the result as JSON' },
  cpu: { type: 'string', help: 'the CPU profile to compare with (--regimes, --check)' },
  kernel: { type: 'string', help: 'with --check: the kernel variant of the model (default: the one of this kernel)' },
}, `Measures A/D-bit updates, page walks, faults, mprotect, userfaultfd, shootdowns and, when
transparent_hugepage/enabled allows it, the THP fault, split, collapse and PMD paths on this Linux
x86-64 host with a small C probe (compiled with cc into $PTLAB_CACHE or ~/.cache/ptlab) and writes
a "host" CPU profile to $PTLAB_HOST_PROFILE or ~/.config/ptlab/host-profile.json.
--check compares native totals of composite scenarios with the model (exit 1 if any error > ${CHECK_TOLERANCE_PCT}%).
Each of its --runs (default 3) calibrates and runs the scenarios in one probe process, so the
profile and the scenarios see the host in the same state; the verdict uses each row's median error
over the runs, and the profile written is derived from each measurement's median over the runs. --saved checks the saved host profile (or
--cpu PROFILE) without re-measuring it.
--regimes 128,1024 measures only the A, A+D and D updates in a dependent chase and an independent
stream over those footprints and prints them next to the model's price under --cpu (default host).
--save NAME writes the profile as the measured profile NAME (src/cost/profiles/measured/NAME.json,
to commit: a profile of a machine the project runs on, next to the published ones).
--others busy (the default on a VM guest) pins the probe to one CPU and keeps its other CPUs busy
while it measures: on VM guests a local TLB flush can cost several times more while the other
vCPUs run, and this holds that state fixed. --others as-is (the default on bare metal) leaves them.`);

type Args = Omit<Values<typeof CALIBRATE.flags>, 'regimes' | 'dry-run'> & {
  /** --regimes 128,1024: footprints in MiB */
  regimes?: number[];
  dryRun: boolean;
};

function parseArgs(argv: string[]): Args {
  const { values: v } = parseCommand(CALIBRATE, argv);
  let regimes: number[] | undefined;
  if (v.regimes !== undefined) {
    regimes = v.regimes.split(',').map(Number);
    if (regimes.some((n) => !Number.isInteger(n) || n < 1 || n > 65536)) throw new CliError(`calibrate: --regimes "${v.regimes}" needs footprints in MiB separated by commas, e.g. 128,1024`);
  }
  if (v.save !== undefined && (!/^[a-z0-9][a-z0-9-]*$/.test(v.save) || SHIPPED_PROFILES.some((d) => d.name === v.save) || v.save === 'host'))
    throw new CliError(`calibrate: --save needs a new profile name of lower-case letters, digits and dashes (not a shipped profile or "host"), not "${v.save}"`);
  if (v.save !== undefined && v.out !== undefined) throw new CliError('calibrate: give --out FILE or --save NAME, not both');
  return { ...v, regimes, dryRun: v['dry-run'] };
}

/** Where the profile goes and under which name: --save NAME (a measured profile), --out FILE, or the host profile. */
function destination(a: Args): { file: string; name: string } {
  if (a.save) return { file: path.join(measuredProfileDir(), `${a.save}.json`), name: a.save };
  return { file: a.out ?? hostProfilePath(), name: 'host' };
}

function writeProfile(a: Args, def: object): string {
  const { file, name } = destination(a);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify({ ...def, name }, null, 2) + '\n');
  return file;
}

async function probe(opts: Parameters<typeof runProbe>[1]): Promise<ProbeOutput | string> {
  const why = probeSupport();
  if (why) return `cannot measure this host: ${why}`;
  let bin: string;
  try {
    bin = await buildProbe();
  } catch (e) {
    return `cannot build the probe: ${(e as Error).message}`;
  }
  try {
    return await runProbe(bin, opts);
  } catch (e) {
    return (e as Error).message;
  }
}

function formatRows(rows: CalibrationRow[]): string {
  const head = ['event', 'base', 'host', 'IQR %', 'how'];
  const body = rows.map((r) => [
    r.event,
    String(r.base),
    r.status === 'measured' ? String(r.cycles) : '(kept)',
    r.spreadPct === undefined || !Number.isFinite(r.spreadPct) ? '-' : `${r.spreadPct.toFixed(0)}${r.noisy ? ' noisy' : ''}`,
    r.how,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 4 ? x : i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** The host page verdict, or why there is none and what the profile states instead. */
function formatHostPage(v: HostPageVerdict, stated: Sourced | undefined): string {
  if ('kib' in v) return `${v.kib === 4 ? '4 KiB' : '2 MiB or larger'}, measured (${hostPageNumbersText(v.numbers)}: ${v.how})`;
  const kept = stated ? `; the profile keeps ${stated.value === 4 ? '4 KiB' : '2 MiB'} (${stated.kind})` : '';
  return `no verdict: ${v.why}${kept}`;
}

function formatRegimeRows(rows: RegimeRow[]): string {
  const head = ['event', 'how', 'regime', 'footprint', 'measured', 'IQR %', 'model', 'error %', ''];
  const body = rows.map((r) => [
    r.event,
    r.how,
    r.dependence,
    `${r.footprintMiB} MiB`,
    r.measured === undefined ? '-' : r.measured.toFixed(0),
    r.spreadPct === undefined || !Number.isFinite(r.spreadPct) ? '-' : r.spreadPct.toFixed(0),
    r.predicted.toFixed(0),
    r.errorPct === undefined ? '-' : `${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(0)}`,
    r.fitted ? 'fitted' : r.problem ?? 'check',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i < 3 || i === 8 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

/** --regimes 128,1024: the A/D regime measurements at these footprints against a profile's model (nothing is fitted or written). */
async function regimes(a: Args): Promise<number> {
  const info = readHostInfo();
  const cpu = a.cpu ?? (listProfiles().includes('host') ? 'host' : closestBase(info).name);
  const profile = getProfile(cpu);
  const out = await probe({ regimes: a.regimes, reps: a.reps ?? 7, spinOthers: spinOthers(a, info) });
  if (typeof out === 'string') {
    process.stderr.write(`ptlab calibrate --regimes: ${out}\n`);
    return 1;
  }
  const rows = regimeRowsFor(profile, out, a.regimes!.map((m) => `${m}m`));
  if (a.json) {
    process.stdout.write(JSON.stringify({ cpu, tscGHz: out.tscGHz, rows, probe: out }, null, 2) + '\n');
    return 0;
  }
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`A/D updates by regime on ${info.cpuModel}, kernel ${info.kernel}, TSC ${out.tscGHz.toFixed(3)} GHz, against the model with CPU profile "${cpu}"`);
  w(`other CPUs: ${spinOthers(a, info) ? 'kept busy (--others busy)' : 'as they were (--others as-is)'}`);
  w('');
  w(formatRegimeRows(rows));
  w('');
  w('extra cycles per page against the same pass over A=1,D=1 PTEs: median over the repetitions (IQR = interquartile range / median);');
  w('independent = a page-stride read/write stream in address order, dependent = a pointer chase in random page order; model = regimePrice() of the event.');
  return 0;
}

/** --others: busy by default on a VM guest (see USAGE), as-is on bare metal */
function spinOthers(a: Args, info: { hypervisor: boolean }): boolean {
  return (a.others ?? (info.hypervisor ? 'busy' : 'as-is')) === 'busy';
}

async function calibrate(a: Args): Promise<number> {
  const info = readHostInfo();
  let out = await probe({ fast: a.fast, reps: a.reps, spinOthers: spinOthers(a, info) });
  if (typeof out === 'string') {
    process.stderr.write(`ptlab calibrate: ${out}\n`);
    return 1;
  }
  // noisy measurements are measured again (one more probe run); the quieter of the two is kept,
  // and a row still above the threshold is marked noisy in the table and the saved profile
  const noisy = noisyMeasurements(out);
  if (noisy.length > 0) {
    if (!a.json) process.stderr.write(`ptlab calibrate: ${noisy.length} measurement(s) with IQR > ${NOISY_SPREAD_PCT}% (${noisy.join(', ')}): measuring again\n`);
    const again = await probe({ fast: a.fast, reps: a.reps, spinOthers: spinOthers(a, info) });
    if (typeof again !== 'string') out = keepQuieter(out, again);
  }
  const date = new Date().toISOString().slice(0, 10);
  const cal = calibrateHost(out, info, date, spinOthers(a, info), a.kernel ?? variantForRelease(info.kernel));
  const file = a.dryRun ? destination(a).file : writeProfile(a, cal.definition);
  if (a.json) {
    process.stdout.write(JSON.stringify({ file: a.dryRun ? null : file, base: cal.base, tscGHz: cal.tscGHz, virtualization: cal.virtualization, hostPage: cal.hostPage, rows: cal.rows, regimeRows: cal.regimeRows, probe: out }, null, 2) + '\n');
    return 0;
  }
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`host: ${info.cpuModel}${info.hypervisor ? ' (VM guest)' : ''}, kernel ${info.kernel}, TSC ${out.tscGHz.toFixed(3)} GHz`);
  w(`base profile: ${cal.base} (${cal.baseWhy})${out.fast ? '; --fast subset' : ''}`);
  w(`other CPUs: ${spinOthers(a, info) ? 'kept busy (--others busy)' : 'as they were (--others as-is)'}`);
  w(`virtualization: ${cal.virtualization.mode} (${cal.virtualization.how})`);
  w(`host page size: ${formatHostPage(cal.hostPage, cal.definition.tlb.hostPageKiB)}`);
  w('');
  w(formatRows(cal.rows));
  w('');
  w('A/D updates by regime (extra cycles per page vs the same pass over A=1,D=1; the model prices the host profile):');
  w(formatRegimeRows(cal.regimeRows));
  w('');
  w('cycles are TSC ticks; each value is a median over repetitions (IQR = interquartile range / median).');
  w(a.dryRun ? 'dry run: nothing written' : `wrote ${file} (use it as CPU profile "${destination(a).name}")`);
  return 0;
}

/** Predicted per-step cycles of a check scenario under `cpu`, in the probe's TSC cycles. */
function predictor(cpu: string, kernel: string, tscGHz: number) {
  const profile = getProfile(cpu);
  return (sc: CheckScenario): { steps: number[] } => {
    // the scenario is a spec like any other: validated and compiled, then simulated
    const [plan] = compile({ ...sc.spec, kernel, machine: { ...(sc.spec.machine as object), cpu } }, { source: `check scenario ${sc.name}` });
    const run = simulateRun(plan);
    // model cycles are at the profile clock; the probe counts TSC ticks
    const k = tscGHz / profile.clockGHz;
    const steps = run.steps.map((s) => s.cycles.total * k);
    // the run's total must be the sum of its steps for the two rows to be comparable
    const total = run.total.cycles.total * k;
    const sum = steps.reduce((x, y) => x + y, 0);
    if (Math.abs(sum - total) > 1e-6 * Math.max(1, total)) throw new Error(`run total ${total} differs from the sum of its steps ${sum}`);
    return { steps };
  };
}

async function check(a: Args): Promise<number> {
  const info = readHostInfo();
  const kernel = a.kernel ?? variantForRelease(info.kernel);
  const w = (s: string) => {
    if (!a.json) process.stdout.write(s + '\n');
  };
  // --saved (or --cpu): judge an existing profile; otherwise calibrate and check in one probe
  // process per run, so that the profile and the scenarios see the host in the same state.
  const fresh = !a.saved && !a.cpu;
  let savedCpu: string | undefined;
  if (!fresh) {
    savedCpu = a.cpu ?? (listProfiles().includes('host') ? 'host' : closestBase(info).name);
    if (!a.cpu && savedCpu !== 'host') process.stderr.write(`ptlab calibrate --check: no host profile yet, predicting with "${savedCpu}" (run "ptlab calibrate" first)\n`);
    getProfile(savedCpu);
  }
  const plan = checkScenarios(savedCpu ?? 'host', kernel);
  const listFile = path.join(os.tmpdir(), `ptlab-check-pages-${process.pid}.txt`);
  fs.writeFileSync(listFile, pageListFile(plan.lists));
  const runs: CheckRow[][] = [];
  let tscGHz = 0;
  let wrote: string | undefined;
  const outs: ProbeOutput[] = [];
  let lastRegimes: RegimeRow[] | undefined;
  try {
    for (let run = 1; run <= a.runs; run++) {
      if (a.runs > 1) process.stderr.write(`ptlab calibrate --check: run ${run} of ${a.runs}${fresh ? ' (calibrate + scenarios)' : ''}...\n`);
      const out = await probe({ check: true, measure: fresh, checkPagesFile: listFile, reps: a.reps ?? 7, spinOthers: spinOthers(a, info) });
      if (typeof out === 'string') {
        process.stderr.write(`ptlab calibrate --check: ${out}\n`);
        return 1;
      }
      tscGHz = out.tscGHz;
      let cpu = savedCpu!;
      if (fresh) {
        const cal = calibrateHost(out, info, new Date().toISOString().slice(0, 10), spinOthers(a, info), kernel);
        lastRegimes = cal.regimeRows;
        cpu = registerProfile({ ...cal.definition, name: 'host-check' }).name;
        outs.push(out);
        if (!a.dryRun && run === a.runs) {
          // the profile written: each measurement's median over the runs, derived once (a price
          // from one run carries that run's noise; the verdict still predicts each run with its own)
          wrote = writeProfile(a, calibrateHostOverRuns(outs, info, new Date().toISOString().slice(0, 10), spinOthers(a, info), kernel).definition);
        }
      }
      const rows = compareCheck(plan.scenarios, out, predictor(cpu, kernel, tscGHz));
      runs.push(rows);
      if (a.runs > 1 && !a.json) {
        w(`run ${run}:`);
        w(formatCheckTable(rows));
        w('');
      }
    }
  } finally {
    fs.rmSync(listFile, { force: true });
  }
  const summary = summarizeRuns(runs);
  const last = runs[runs.length - 1];
  // one run: its errors; several: the median error of each row over the runs
  const verdictRows: CheckRow[] = last.map((r, i) => ({ ...r, errorPct: a.runs > 1 ? summary[i].medianErrorPct : r.errorPct }));
  const passed = checkPassed(verdictRows);
  if (a.json) {
    process.stdout.write(JSON.stringify({ kernel, fresh, cpu: fresh ? 'host (calibrated in each run)' : savedCpu, tscGHz, tolerancePct: CHECK_TOLERANCE_PCT, runs, summary, passed, profileWritten: wrote ?? null }, null, 2) + '\n');
    return passed ? 0 : 1;
  }
  w(`fidelity check on ${info.cpuModel}, kernel ${info.kernel}: variant ${kernel}, TSC ${tscGHz.toFixed(3)} GHz`);
  w(fresh ? `model cpu: a host profile calibrated in the same probe process as the scenarios (each run)` : `model cpu: "${savedCpu}" (saved profile, not re-measured)`);
  w(`other CPUs: ${spinOthers(a, info) ? 'kept busy (--others busy)' : 'as they were (--others as-is)'}`);
  for (const sc of plan.scenarios) w(`  ${sc.name}: ${sc.title}`);
  w('');
  if (a.runs === 1) w(formatCheckTable(last));
  else {
    const head = ['scenario', 'median error %', 'range over runs %', ''];
    const body = summary.map((s) => [
      s.name,
      s.medianErrorPct === undefined ? '-' : `${s.medianErrorPct >= 0 ? '+' : ''}${s.medianErrorPct.toFixed(1)}`,
      s.minErrorPct === undefined ? '-' : `${s.minErrorPct.toFixed(1)} .. ${s.maxErrorPct!.toFixed(1)}`,
      s.medianErrorPct === undefined ? 'n/a' : Math.abs(s.medianErrorPct) <= CHECK_TOLERANCE_PCT ? 'ok' : `> ${CHECK_TOLERANCE_PCT}%`,
    ]);
    const wd = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(wd[i]) : x.padStart(wd[i]))).join('  ');
    w(`summary over ${a.runs} runs:`);
    w([line(head), line(wd.map((n) => '-'.repeat(n))), ...body.map(line)].join('\n'));
  }
  w('');
  w('measured = median native total (thread CPU time in TSC cycles); noise = IQR / median of the repetitions within a run');
  if (lastRegimes) {
    w('');
    w("the last run's A/D regime measurements next to its profile's model (fitted rows priced it; the others are checks):");
    w(formatRegimeRows(lastRegimes));
  }
  if (wrote) w(`wrote ${wrote} (each measurement the median over the runs)`);
  w(passed ? `PASS: every error within ${CHECK_TOLERANCE_PCT}%${a.runs > 1 ? ' (median over runs)' : ''}` : `FAIL: an error exceeds ${CHECK_TOLERANCE_PCT}% or a column is missing`);
  return passed ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  return a.regimes ? regimes(a) : a.check ? check(a) : calibrate(a);
}
