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
import type { ResultSet } from '../lab/resultset';
import type { TimeOptions } from '../lab/types';
import { hostFacts, replayNative } from '../fidelity/replay';
import { toOpScript } from '../fidelity/script';
import { loadSpecFile } from '../fidelity/spec-input';
import { DEFAULT_TIME_REPS, loadSpecForHost, timeNativePlans } from '../fidelity/timed';
import { readSpecFile } from '../lab/spec-file';
import { compareLoaded, formatComparison } from '../fidelity/compare';
import { listProfiles } from '../cost/registry';
import type { NativeReplay, NativeRow } from '../fidelity/native-types';
import { command, parseCommand, usageLine } from '../args/parser';
import { CliError } from '../args/cli-error';
import { nativeCliError } from './native-exit';

const REPLAY = command('replay', `SPEC.json --native [--json] [--script] [--no-split]
       ptlab replay SPEC.json --native --time [--reps N] [--others busy|as-is] [--json] [--compare [--cpu PROFILE]]`, {
  native: { type: 'boolean', help: 'run on this Linux kernel (required)' },
  json: { type: 'boolean', help: 'print JSON (with --time: the ResultsJson of ptlab run --json, native runs)' },
  script: { type: 'boolean', help: "print the replayer's op script instead of running it" },
  'no-split': { type: 'boolean', help: 'keep each region one VMA (no per-page split; young/dirty then unknown; docs/fidelity.md)' },
  time: { type: 'boolean', help: 'time every step on this kernel' },
  reps: { type: 'int', min: 1, max: 1000, example: DEFAULT_TIME_REPS, help: `with --time: repetitions of the whole spec (default ${DEFAULT_TIME_REPS})` },
  others: { type: 'choice', values: ['busy', 'as-is'], help: 'with --time: the other CPUs while timing (default: busy on a VM guest, else as-is)' },
  compare: { type: 'boolean', help: 'with --time: the model of this kernel next to each step' },
  cpu: { type: 'string', help: "with --compare: the model's CPU profile" },
}, `--time runs the whole spec N times (default ${DEFAULT_TIME_REPS}) on this kernel, pinned to one CPU, and reports each
step's median TSC cycles; --others busy (default on a VM guest) keeps the other CPUs busy, as ptlab calibrate.
--compare puts the model of this kernel next to each step (the spec's first run; profile: --cpu, else the
calibrated "host" profile, else the closest shipped one).`);

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
  const { values: v, positionals: files } = parseCommand(REPLAY, argv);
  const { reps, others, cpu } = v;
  if (files.length !== 1) throw new CliError(`replay: give exactly one spec file; ${usageLine(REPLAY)}`);
  if (!v.native)
    throw new CliError(`replay runs a spec on this machine's kernel and needs --native (for the model use: ptlab run ${files[0]})`);
  if (!v.time && (reps !== undefined || others !== undefined || v.compare)) throw new CliError('replay: --reps, --others and --compare apply to --time only');
  if (cpu !== undefined && !v.compare) throw new CliError('replay: --cpu applies to --compare only (the model\'s CPU profile)');
  if (cpu !== undefined && !listProfiles().includes(cpu)) throw new CliError(`replay: --cpu: no CPU profile "${cpu}"; known: ${listProfiles().join(', ')}`);
  if (v.time && (v.script || v['no-split'])) throw new CliError('replay: --time maps regions with 4 KiB PTEs, unsplit; --script and --no-split apply to the untimed replay');
  try {
    if (v.time) {
      const opts: TimeOptions = {};
      if (reps !== undefined) opts.reps = reps;
      if (others !== undefined) opts.others = others;
      // the spec as given: a native run needs no CPU profile (loadSpecForHost)
      const f = readSpecFile(files[0]);
      const loaded = loadSpecForHost(f.raw, files[0], f.baseDir);
      if (v.compare) {
        const c = compareLoaded(loaded, f.raw, cpu === undefined ? opts : { ...opts, cpu });
        process.stdout.write((v.json ? JSON.stringify({ ...c, results: c.results.toJSON() }, null, 1) : formatComparison(c)) + '\n');
        return c.refused.length ? 3 : 0;
      }
      const set = timeNativePlans(loaded.plans, hostFacts(), opts, f.raw);
      process.stdout.write((v.json ? JSON.stringify(set.toJSON(), null, 1) : formatTimed(set)) + '\n');
      return set.runs.some((r) => r.refused?.length) ? 3 : 0;
    }
    const { plan } = loadSpecFile(files[0]);
    const split = v['no-split'] ? 'never' : 'auto';
    if (v.script) {
      process.stdout.write(toOpScript(plan, { seed: plan.seed, repeat: plan.repeat, cpus: plan.machine.cpus, split }).text);
      return 0;
    }
    const rep = replayNative(plan, { split, repeat: plan.repeat });
    process.stdout.write((v.json ? JSON.stringify({ name: plan.name, ...rep }, null, 1) : formatReplay(plan.name, rep)) + '\n');
    return 0;
  } catch (e) {
    throw nativeCliError(e);
  }
}
