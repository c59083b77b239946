/**
 * Builds native/calibrate/probe.c with the system C compiler into a cache directory and runs it.
 * Only Linux x86-64 can run it (rdtsc, userfaultfd, MADV_FREE); elsewhere `probeSupport()` says why.
 */
import { execFile } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** One measurement as the probe prints it (cycles are TSC cycles per `unit`). */
export interface ProbeResult {
  name: string;
  what: string;
  unit?: 'access' | 'fault' | 'call' | 'page' | 'scenario';
  n?: number;
  min?: number;
  p10?: number;
  p25?: number;
  median?: number;
  p75?: number;
  p90?: number;
  mean?: number;
  /** anonymous resident pages of the probe when measured (fork measurements) */
  rssPages?: number;
  /** measured twice because the first spread was above NOISY_SPREAD_PCT (calibrate) */
  remeasured?: boolean;
  /** set when the measurement could not run on this host */
  error?: string;
}

export interface ProbeOutput {
  probe: number;
  /** CPUID leaf 0x40000000 vendor signature ("KVMKVMKVM", "Microsoft Hv", ...; empty on bare metal) */
  hypervisorSignature?: string;
  fast: boolean;
  reps: number;
  tscGHz: number;
  results: ProbeResult[];
}

/** Where the probe C source lives: three levels up from the compiled src/cost directory (dist-x/src/cost), or two from src/cost. */
export function probeSourcePath(): string {
  const candidates = [path.resolve(__dirname, '../../../native/calibrate/probe.c'), path.resolve(__dirname, '../../native/calibrate/probe.c')];
  return candidates.find((p) => fs.existsSync(p)) ?? candidates[0];
}

export function cacheDir(): string {
  return process.env.PTLAB_CACHE || path.join(os.homedir(), '.cache', 'ptlab');
}

/** Why the probe cannot run here, or undefined when it can. */
export function probeSupport(): string | undefined {
  if (process.platform !== 'linux') return `the probe needs Linux (this is ${process.platform})`;
  if (process.arch !== 'x64') return `the probe needs x86-64 (this is ${process.arch})`;
  if (!fs.existsSync(probeSourcePath())) return `probe source not found at ${probeSourcePath()}`;
  return undefined;
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string; error?: NodeJS.ErrnoException }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, stdout: String(stdout), stderr: String(stderr), error: e ?? undefined });
    });
  });
}

/** Compile the probe (once per source version) and return the binary's path. Throws with the reason. */
export async function buildProbe(cc = process.env.CC || 'cc'): Promise<string> {
  const why = probeSupport();
  if (why) throw new Error(why);
  const src = probeSourcePath();
  // probe.c #includes the other sources of its directory (thp.c) and the shared headers of
  // native/common (timing.h): all of them name the build
  const h = crypto.createHash('sha1');
  for (const dir of [path.dirname(src), path.resolve(path.dirname(src), '../common')])
    for (const f of fs.readdirSync(dir).filter((x) => /\.[ch]$/.test(x)).sort()) h.update(f).update(fs.readFileSync(path.join(dir, f)));
  const hash = h.digest('hex').slice(0, 12);
  const cache = cacheDir();
  const bin = path.join(cache, `ptlab-probe-${hash}`);
  if (fs.existsSync(bin)) return bin;
  fs.mkdirSync(cache, { recursive: true });
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = await run(cc, ['-O2', '-pthread', '-o', tmp, src], 120_000);
  if (r.error && r.error.code === 'ENOENT') throw new Error(`no C compiler: "${cc}" not found (install gcc or set CC)`);
  if (r.code !== 0) throw new Error(`compiling ${src} with ${cc} failed:\n${r.stderr.trim()}`);
  fs.renameSync(tmp, bin);
  return bin;
}

export interface ProbeOptions {
  fast?: boolean;
  reps?: number;
  /** run the composite check scenarios; `checkPagesFile` holds their page lists */
  check?: boolean;
  checkPagesFile?: string;
  /** with `check`: run every measurement first, then the scenarios, in the same probe process */
  measure?: boolean;
  /** only the regime measurements, at these footprints in MiB */
  regimes?: number[];
  /** pin the probe to its first allowed CPU and keep the other allowed CPUs busy with spinning processes (see probe.c) */
  spinOthers?: boolean;
  timeoutMs?: number;
}

export async function runProbe(bin: string, opts: ProbeOptions = {}): Promise<ProbeOutput> {
  const args: string[] = [];
  if (opts.fast) args.push('--fast');
  if (opts.reps) args.push('--reps', String(opts.reps));
  if (opts.check) args.push('--check', '--check-pages', opts.checkPagesFile ?? '');
  if (opts.check && opts.measure) args.push('--measure');
  if (opts.spinOthers) args.push('--spin-others');
  if (opts.regimes?.length) args.push('--regimes', opts.regimes.join(','));
  const r = await run(bin, args, opts.timeoutMs ?? 600_000);
  if (r.code !== 0) throw new Error(`probe ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.error?.message}`);
  let out: ProbeOutput;
  try {
    out = JSON.parse(r.stdout) as ProbeOutput;
  } catch (e) {
    throw new Error(`probe printed invalid JSON (${(e as Error).message}); first bytes: ${r.stdout.slice(0, 200)}`);
  }
  return poolRounds(out);
}

function quantileOf(sorted: number[], q: number): number {
  const i = q * (sorted.length - 1);
  const lo = Math.floor(i);
  return lo + 1 < sorted.length ? sorted[lo] + (i - lo) * (sorted[lo + 1] - sorted[lo]) : sorted[lo];
}

/**
 * One result per name. `--check --measure` prints the per-page measurements and the scenarios once
 * per round (probe.c run_check_interleaved), one sample each: a name printed several times becomes
 * one result over the rounds' medians (for one-sample rounds, the samples themselves). A round
 * that failed is dropped when others succeeded; if all failed, the first error stays.
 */
export function poolRounds(out: ProbeOutput): ProbeOutput {
  const byName = new Map<string, ProbeResult[]>();
  for (const r of out.results) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  if ([...byName.values()].every((rs) => rs.length === 1)) return out;
  const results: ProbeResult[] = [];
  for (const [name, rs] of byName) {
    const ok = rs.filter((r) => !r.error && r.median !== undefined);
    if (rs.length === 1 || ok.length === 0) {
      results.push(rs[0]);
      continue;
    }
    const v = ok.map((r) => r.median!).sort((a, b) => a - b);
    const q = (p: number) => Math.round(quantileOf(v, p) * 10) / 10;
    results.push({
      name,
      what: ok[0].what,
      ...(ok[0].unit ? { unit: ok[0].unit } : {}),
      n: ok.reduce((s, r) => s + (r.n ?? 1), 0),
      min: Math.min(...ok.map((r) => r.min ?? r.median!)),
      p10: q(0.1),
      p25: q(0.25),
      median: q(0.5),
      p75: q(0.75),
      p90: q(0.9),
      mean: Math.round((v.reduce((s, x) => s + x, 0) / v.length) * 10) / 10,
    });
  }
  return { ...out, results };
}

/** Median of a named measurement, or the reason it is missing. */
export function medianOf(out: ProbeOutput, name: string): { value: number; r: ProbeResult } | { error: string } {
  const r = out.results.find((x) => x.name === name);
  if (!r) return { error: `not measured (${out.fast ? 'not in the --fast subset' : 'probe has no such measurement'})` };
  if (r.error) return { error: r.error };
  if (r.median === undefined) return { error: 'no samples' };
  return { value: r.median, r };
}

/**
 * Above this spread (IQR / median, percent) a measurement is noisy: `ptlab calibrate` measures
 * it again, keeps the quieter of the two, and marks it "noisy" if it still is.
 */
export const NOISY_SPREAD_PCT = 50;

/** Names of the measurements of `out` whose spread is above NOISY_SPREAD_PCT. */
export function noisyMeasurements(out: ProbeOutput): string[] {
  return out.results.filter((r) => !r.error && spreadPct(r) > NOISY_SPREAD_PCT).map((r) => r.name);
}

/** `first` with each noisy measurement replaced by the one from `again` when that one is quieter. */
export function keepQuieter(first: ProbeOutput, again: ProbeOutput): ProbeOutput {
  const noisy = new Set(noisyMeasurements(first));
  const results = first.results.map((r) => {
    if (!noisy.has(r.name)) return r;
    const b = again.results.find((x) => x.name === r.name);
    return b && !b.error && spreadPct(b) < spreadPct(r) ? { ...b, remeasured: true } : { ...r, remeasured: true };
  });
  return { ...first, results };
}

/** Interquartile range relative to the median, in percent: the noise figure reported everywhere. */
export function spreadPct(r: ProbeResult): number {
  if (r.median === undefined || r.p25 === undefined || r.p75 === undefined || r.median === 0) return NaN;
  return ((r.p75 - r.p25) / Math.abs(r.median)) * 100;
}
