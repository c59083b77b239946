/**
 * `ptlab replay SPEC.json --native [--json] [--script]`: runs the spec on this Linux kernel and
 * prints what user space observed per step (a table, or JSON with --json; --script prints the
 * replayer's op script instead of running it).
 *
 * `ptlab replay SPEC.json --native --time [--reps N] [--others busy|as-is] [--json]`: times every
 * step on this kernel (src/fidelity/timed.ts) and prints per-step cycles, or with --json the
 * ResultsJson of `ptlab run --json` with `source: "native"` runs (ResultSet.merge puts them next
 * to the model's).
 */
import { CliError } from '../cli/errors';
import type { ResultSet } from '../lab/resultset';
import { ReplayFailed, ReplayRefused, hostFacts, replayNative } from './replay';
import { ScriptError, toOpScript } from './script';
import { loadSpecFile, SpecInputError } from './spec-input';
import { DEFAULT_TIME_REPS, loadSpecForHost, timeNativePlans, type TimeOptions } from './timed';
import { readSpecFile, SpecFileError } from '../lab/spec-file';
import { compareWithHost, formatComparison } from './compare';
import { listProfiles } from '../cost/registry';
import type { NativeReplay, NativeRow } from './native-types';

const USAGE = `usage: ptlab replay SPEC.json --native [--json] [--script] [--no-split]
       ptlab replay SPEC.json --native --time [--reps N] [--others busy|as-is] [--json] [--compare [--cpu PROFILE]]
--time runs the whole spec N times (default ${DEFAULT_TIME_REPS}) on this kernel, pinned to one CPU, and reports each
step's median TSC cycles; --others busy (default on a VM guest) keeps the other CPUs busy, as ptlab calibrate.
--compare puts the model of this kernel next to each step (the spec's first run; profile: --cpu, else the
calibrated "host" profile, else the closest shipped one).`;

/** One line per step of each timed run, then what was refused and the machine. */
export function formatTimed(set: ResultSet): string {
  const out: string[] = [];
  for (const r of set.runs) {
    const m = r.machine;
    out.push(`native timing of "${r.name}" (${r.id})`);
    if (m)
      out.push(
        `  machine: ${m.cpuModel}${m.family !== undefined ? ` (family ${m.family} model ${m.model})` : ''}, ${m.virtualization}, Linux ${m.kernel} (modelled by ${m.kernelVariant}), TSC ${m.tscGHz.toFixed(3)} GHz, pinned to CPU ${m.pinnedCpu}, other CPUs ${m.othersBusy ? 'kept busy' : 'as they were'}`,
      );
    out.push('  step  op                    cycles (median)   IQR %       wall clock   faults');
    for (const s of r.steps) {
      const t = s.timing;
      const iqr = t && t.median > 0 ? (((t.p75 - t.p25) / t.median) * 100).toFixed(0) : '-';
      out.push(
        `  ${String(s.index).padStart(4)}  ${(s.op + (s.region ? ` ${s.region}` : '')).padEnd(20)}  ${Math.round(s.cycles.total).toLocaleString('en-US').padStart(15)}  ${iqr.padStart(6)}  ${t ? Math.round(t.wallMedian).toLocaleString('en-US').padStart(16) : '-'}  ${String(s.counters.faults.total).padStart(7)}`,
      );
      for (const n of s.notes ?? []) out.push(`        note: ${n}`);
    }
    out.push(`  total ${Math.round(r.total.cycles.total).toLocaleString('en-US')} cycles over ${r.steps.length} steps (${r.steps[0]?.timing?.reps ?? 0} repetitions)`);
    for (const x of r.refused ?? []) out.push(`  REFUSED step ${x.step} (${x.op}): ${x.reason}`);
  }
  out.push('  cycles = CPU time of the replayer\'s threads from just before each op to just after it, in TSC ticks, median over the repetitions; wall clock = rdtsc over the same window (adds preemption and blocked time)');
  return out.join('\n');
}

function parseArgs(argv: string[]): { files: string[]; flags: Set<string>; reps?: number; others?: 'busy' | 'as-is'; cpu?: string } {
  const files: string[] = [];
  const flags = new Set<string>();
  let reps: number | undefined;
  let others: 'busy' | 'as-is' | undefined;
  let cpu: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reps' || a === '--others' || a === '--cpu') {
      const v = argv[++i];
      if (v === undefined) throw new CliError(`${a} needs a value\n${USAGE}`);
      if (a === '--cpu') cpu = v;
      else if (a === '--reps') {
        reps = Number(v);
        if (!Number.isInteger(reps) || reps < 1 || reps > 1000) throw new CliError(`--reps: "${v}" is not an integer from 1 to 1000`);
      } else {
        if (v !== 'busy' && v !== 'as-is') throw new CliError(`--others must be "busy" or "as-is", not "${v}"`);
        others = v;
      }
    } else if (a.startsWith('--')) {
      if (!['--native', '--json', '--script', '--no-split', '--help', '--time', '--compare'].includes(a)) throw new CliError(`unknown option ${a}\n${USAGE}`);
      flags.add(a);
    } else files.push(a);
  }
  return { files, flags, reps, others, cpu };
}

function bit(v: boolean | null): string {
  return v === null ? '?' : v ? '1' : '0';
}

export function formatRow(r: NativeRow): string {
  return `    page ${String(r.page).padStart(5)} ${r.entry.padEnd(7)} young=${bit(r.young)} dirty=${bit(r.dirty)} uffdWp=${bit(r.uffdWp)} softDirty=${bit(r.softDirty)} exclusive=${bit(r.exclusive)} special=${bit(r.special)} folioDirty=${bit(r.folioDirty)}`;
}

export function formatReplay(name: string, rep: NativeReplay): string {
  const h = rep.host;
  const out = [
    `native replay of "${name}" on Linux ${h.kernel} (${h.machine})`,
    `  host: root=${h.pfnVisible} softDirty=${h.softDirty} swap=${h.swap} zeroPageOnRead=${h.zeroPageOnRead} PAGEMAP_SCAN=${h.pagemapScan} uffd=${h.uffd ?? `unusable (${h.uffdError})`}`,
  ];
  for (const s of rep.steps) {
    const f = s.faults;
    const uffd = s.uffd.missing + s.uffd.wp + s.uffd.minor ? ` uffd missing=${s.uffd.missing} wp=${s.uffd.wp} minor=${s.uffd.minor}` : '';
    out.push(`  [${s.index}] ${s.process}: ${s.op}${s.region ? ` ${s.region}` : ''}  faults=${f.total} (minor ${f.minor}, major ${f.major})${f.sigsegv ? ` sigsegv=${f.sigsegv}` : ''}${uffd}`);
    for (const n of s.notes) out.push(`    note: ${n}`);
    if (s.scan) out.push(`    scan: [${s.scan.join(', ')}]`);
    for (const r of s.inspect ?? []) out.push(formatRow(r));
  }
  out.push('  (? = not observable from user space here; write is never observable without faulting, see docs/fidelity.md)');
  return out.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const { files, flags, reps, others, cpu } = parseArgs(argv);
  if (flags.has('--help')) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (files.length !== 1) throw new CliError(USAGE);
  if (!flags.has('--native'))
    throw new CliError(`replay runs a spec on this machine's kernel and needs --native (for the model use: ptlab run ${files[0]})`);
  if (!flags.has('--time') && (reps !== undefined || others !== undefined || flags.has('--compare'))) throw new CliError('--reps, --others and --compare apply to --time only');
  if (cpu !== undefined && !flags.has('--compare')) throw new CliError('--cpu applies to --compare only (the model\'s CPU profile)');
  if (cpu !== undefined && !listProfiles().includes(cpu)) throw new CliError(`--cpu: no CPU profile "${cpu}"; known: ${listProfiles().join(', ')}`);
  if (flags.has('--time') && (flags.has('--script') || flags.has('--no-split'))) throw new CliError('--time maps regions with 4 KiB PTEs, unsplit; --script and --no-split apply to the untimed replay');
  try {
    if (flags.has('--time')) {
      const opts: TimeOptions = {};
      if (reps !== undefined) opts.reps = reps;
      if (others !== undefined) opts.others = others;
      // the spec as given: a native run needs no CPU profile (loadSpecForHost)
      const raw = readSpecFile(files[0]).raw;
      if (flags.has('--compare')) {
        const c = compareWithHost(raw, cpu === undefined ? opts : { ...opts, cpu });
        process.stdout.write((flags.has('--json') ? JSON.stringify({ ...c, results: c.results.toJSON() }, null, 1) : formatComparison(c)) + '\n');
        return c.refused.length ? 3 : 0;
      }
      const set = timeNativePlans(loadSpecForHost(raw).plans, hostFacts(), opts, raw);
      process.stdout.write((flags.has('--json') ? JSON.stringify(set.toJSON(), null, 1) : formatTimed(set)) + '\n');
      return set.runs.some((r) => r.refused?.length) ? 3 : 0;
    }
    const { plan } = loadSpecFile(files[0]);
    const split = flags.has('--no-split') ? 'never' : 'auto';
    if (flags.has('--script')) {
      process.stdout.write(toOpScript(plan, { seed: plan.seed, repeat: plan.repeat, cpus: plan.machine.cpus, split }).text);
      return 0;
    }
    const rep = replayNative(plan, { split, repeat: plan.repeat });
    process.stdout.write((flags.has('--json') ? JSON.stringify({ name: plan.name, ...rep }, null, 1) : formatReplay(plan.name, rep)) + '\n');
    return 0;
  } catch (e) {
    if (e instanceof ReplayRefused) throw new CliError(`cannot replay here: ${e.message}`, 3);
    if (e instanceof SpecInputError || e instanceof ScriptError || e instanceof SpecFileError) throw new CliError(e.message, 2);
    if (e instanceof ReplayFailed) throw new CliError(e.message, 4);
    throw e;
  }
}
