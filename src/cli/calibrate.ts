/**
 * `ptlab calibrate`: measure this host with the native probe and write the "host" CPU profile.
 * `ptlab calibrate --check`: run composite scenarios natively and compare with the model.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CliError } from './errors';
import { buildProbe, probeSupport, runProbe, type ProbeOutput } from '../cost/probe-runner';
import { deriveHostProfile, readHostInfo, closestBase, type CalibrationRow } from '../cost/calibrate';
import { hostProfilePath, getProfile, listProfiles } from '../cost/registry';
import { checkScenarios, pageListFile, type CheckScenario } from '../cost/check-scenarios';
import { variantForRelease } from '../kernel/variants';
import { compareCheck, checkPassed, formatCheckTable, CHECK_TOLERANCE_PCT } from '../cost/check';

const USAGE = `usage: ptlab calibrate [--fast] [--reps N] [--out FILE] [--dry-run] [--json]
       ptlab calibrate --check [--reps N] [--cpu PROFILE] [--kernel VARIANT] [--json]

Measures A/D-bit updates, page walks, faults, mprotect, userfaultfd and shootdowns on this Linux
x86-64 host with a small C probe (compiled with cc into $PTLAB_CACHE or ~/.cache/ptlab) and writes
a "host" CPU profile to $PTLAB_HOST_PROFILE or ~/.config/ptlab/host-profile.json.
--check compares native totals of composite scenarios with the model (exit 1 if any error > ${CHECK_TOLERANCE_PCT}%).`;

interface Args {
  check: boolean;
  fast: boolean;
  reps?: number;
  out?: string;
  dryRun: boolean;
  json: boolean;
  cpu?: string;
  kernel?: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { check: false, fast: false, dryRun: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new CliError(`${k} needs a value\n\n${USAGE}`);
      return v;
    };
    if (k === '--check') a.check = true;
    else if (k === '--fast') a.fast = true;
    else if (k === '--dry-run') a.dryRun = true;
    else if (k === '--json') a.json = true;
    else if (k === '--reps') {
      const n = Number(val());
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new CliError('--reps must be an integer from 1 to 64');
      a.reps = n;
    } else if (k === '--out') a.out = val();
    else if (k === '--cpu') a.cpu = val();
    else if (k === '--kernel') a.kernel = val();
    else if (k === '--help' || k === '-h') throw new CliError(USAGE, 0);
    else throw new CliError(`unknown option ${k}\n\n${USAGE}`);
  }
  return a;
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
    r.spreadPct === undefined || !Number.isFinite(r.spreadPct) ? '-' : r.spreadPct.toFixed(0),
    r.how,
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (c: string[]) => c.map((x, i) => (i === 4 ? x : i === 0 ? x.padEnd(w[i]) : x.padStart(w[i]))).join('  ');
  return [line(head), ...body.map(line)].join('\n');
}

async function calibrate(a: Args): Promise<number> {
  const info = readHostInfo();
  const out = await probe({ fast: a.fast, reps: a.reps });
  if (typeof out === 'string') {
    process.stderr.write(`ptlab calibrate: ${out}\n`);
    return 1;
  }
  const date = new Date().toISOString().slice(0, 10);
  const cal = deriveHostProfile(out, info, date);
  const file = a.out ?? hostProfilePath();
  if (!a.dryRun) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(cal.definition, null, 2) + '\n');
  }
  if (a.json) {
    process.stdout.write(JSON.stringify({ file: a.dryRun ? null : file, base: cal.base, tscGHz: cal.tscGHz, rows: cal.rows, probe: out }, null, 2) + '\n');
    return 0;
  }
  const w = (s: string) => process.stdout.write(s + '\n');
  w(`host: ${info.cpuModel}${info.hypervisor ? ' (VM guest)' : ''}, kernel ${info.kernel}, TSC ${out.tscGHz.toFixed(3)} GHz`);
  w(`base profile: ${cal.base} (${cal.baseWhy})${out.fast ? '; --fast subset' : ''}`);
  w('');
  w(formatRows(cal.rows));
  w('');
  w('cycles are TSC ticks; each value is a median over repetitions (IQR = interquartile range / median).');
  w(a.dryRun ? 'dry run: nothing written' : `wrote ${file} (use it as CPU profile "host")`);
  return 0;
}

async function check(a: Args): Promise<number> {
  const info = readHostInfo();
  const cpu = a.cpu ?? (listProfiles().includes('host') ? 'host' : closestBase(info).name);
  if (!a.cpu && cpu !== 'host') process.stderr.write(`ptlab calibrate --check: no host profile yet, predicting with "${cpu}" (run "ptlab calibrate" first)\n`);
  const profile = getProfile(cpu);
  const kernel = a.kernel ?? variantForRelease(info.kernel);
  const plan = checkScenarios(cpu, kernel);
  const listFile = path.join(os.tmpdir(), `ptlab-check-pages-${process.pid}.txt`);
  fs.writeFileSync(listFile, pageListFile(plan.lists));
  let out: ProbeOutput | string;
  try {
    out = await probe({ check: true, checkPagesFile: listFile, reps: a.reps ?? 7 });
  } finally {
    fs.rmSync(listFile, { force: true });
  }
  if (typeof out === 'string') {
    process.stderr.write(`ptlab calibrate --check: ${out}\n`);
    return 1;
  }
  const tscGHz = out.tscGHz;
  const predict = (sc: CheckScenario): { steps: number[] } => {
    let sim: typeof import('../lab/simulate');
    try {
      sim = require('../lab/simulate');
    } catch (e) {
      throw new Error(`the simulator (src/lab/simulate.ts) is not available: ${(e as Error).message}`);
    }
    const run = sim.simulateRun({ id: `check|${sc.name}`, name: sc.name, variant: kernel, cpu, seed: 1, repeat: 0, params: {}, spec: sc.spec });
    // model cycles are at the profile clock; the probe counts TSC ticks
    const k = tscGHz / profile.clockGHz;
    const steps = run.steps.map((s) => s.cycles.total * k);
    // the run's total must be the sum of its steps for the two rows to be comparable
    const total = run.total.cycles.total * k;
    const sum = steps.reduce((a, b) => a + b, 0);
    if (Math.abs(sum - total) > 1e-6 * Math.max(1, total)) throw new Error(`run total ${total} differs from the sum of its steps ${sum}`);
    return { steps };
  };
  const rows = compareCheck(plan.scenarios, out, predict);
  const passed = checkPassed(rows);
  if (a.json) process.stdout.write(JSON.stringify({ cpu, kernel, tscGHz, tolerancePct: CHECK_TOLERANCE_PCT, passed, rows }, null, 2) + '\n');
  else {
    process.stdout.write(`fidelity check on ${info.cpuModel}, kernel ${info.kernel}: model cpu "${cpu}", variant ${kernel}, TSC ${tscGHz.toFixed(3)} GHz\n`);
    for (const sc of plan.scenarios) process.stdout.write(`  ${sc.name}: ${sc.title}\n`);
    process.stdout.write('\n' + formatCheckTable(rows) + '\n\n');
    process.stdout.write('measured = median native total (thread CPU time in TSC cycles); noise = IQR / median of the repetitions\n');
    process.stdout.write(passed ? `PASS: every error within ${CHECK_TOLERANCE_PCT}%\n` : `FAIL: an error exceeds ${CHECK_TOLERANCE_PCT}% or a column is missing\n`);
  }
  return passed ? 0 : 1;
}

export async function main(argv: string[]): Promise<number> {
  const a = parseArgs(argv);
  return a.check ? check(a) : calibrate(a);
}
