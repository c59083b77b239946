/**
 * `replayNative(spec)`: runs an experiment spec on this machine's Linux kernel through the
 * native replayer and returns, per spec step, what user space observed (fault counts, inspect
 * rows with `null` for bits it cannot see). One run: the spec's first seed, vars resolved.
 */
import { spawnSync } from 'node:child_process';
import type { RunPlan } from '../lab/compile';
import { ensureReplayer } from './native-build';
import type { NativeHeader, NativeReplay, NativeStep, RawStep } from './native-types';
import { toNativeRow } from './observe';
import { toOpScript, type OpScript, type ScriptableSpec, type ScriptOptions } from './script';

export interface ReplayOptions extends Partial<ScriptOptions> {
  /** kill the replayer after this long (default 120 s) */
  timeoutMs?: number;
}

/** The host or kernel cannot do what the spec asks (exit code 3 of the replayer). */
export class ReplayRefused extends Error {
  constructor(
    message: string,
    readonly step: number,
    /** the errno of the system call the kernel refused (EINVAL from UFFDIO_REGISTER), if any */
    readonly errno?: string,
    /** what was replayed before the refusal (replayScript) */
    readonly partial?: NativeReplay,
  ) {
    super(message);
    this.name = 'ReplayRefused';
  }
}

/** The replayer failed (bad script, failed system call, crash). */
export class ReplayFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayFailed';
  }
}

export interface RunOutput<H extends NativeHeader = NativeHeader, S extends RawStep = RawStep> {
  header: H;
  lines: S[];
  /** with `refusal: 'return'`: the step the replayer refused (exit 3), and why */
  refused?: { step: number; reason: string; errno?: string };
}

/**
 * Runs the replayer binary with `args` on the op script `input` and parses its JSON lines. A
 * refusal throws ReplayRefused, or with `refusal: 'return'` comes back in `refused` with the
 * lines of the steps before it.
 */
export function runReplayer<H extends NativeHeader = NativeHeader, S extends RawStep = RawStep>(
  args: string[],
  input: string,
  timeoutMs: number,
  refusal: 'throw' | 'return' = 'throw',
): RunOutput<H, S> {
  const bin = ensureReplayer();
  const r = spawnSync(bin, args, { input, encoding: 'utf8', maxBuffer: 1 << 30, timeout: timeoutMs });
  if (r.error) throw new ReplayFailed(`running the native replayer failed: ${r.error.message}`);
  const out = r.stdout.split('\n').filter((l) => l.trim());
  let header: H | null = null;
  let refused: RunOutput['refused'];
  const lines: S[] = [];
  for (const l of out) {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(l);
    } catch {
      throw new ReplayFailed(`the native replayer printed a line that is not JSON: ${l.slice(0, 200)}`);
    }
    if (j.replay === 'ptlab') header = j as unknown as H;
    else if (typeof j.refuse === 'string') {
      const errno = typeof j.errno === 'string' ? j.errno : undefined;
      if (refusal === 'throw') throw new ReplayRefused(`${j.refuse}`, Number(j.step), errno);
      refused = { step: Number(j.step), reason: j.refuse, errno };
    } else if (typeof j.error === 'string') throw new ReplayFailed(`native replay, step ${j.step} (${j.process}): ${j.error}`);
    else if (typeof j.step === 'number') lines.push(j as unknown as S);
  }
  if (r.signal) throw new ReplayFailed(`the native replayer was killed by ${r.signal}${r.signal === 'SIGTERM' ? ` (timeout ${timeoutMs} ms)` : ''}`);
  if (!refused && r.status !== 0) throw new ReplayFailed(`the native replayer exited with ${r.status}: ${r.stderr.trim().slice(0, 500)}`);
  if (!header) throw new ReplayFailed('the native replayer printed no header');
  return refused ? { header, lines, refused } : { header, lines };
}

/**
 * The step's faults on the experiment's memory: getrusage's count less the exceptions the fault
 * sampler saw outside every region (the replayer's own stack, heap or text), when it sampled them
 * all. A sample is taken per exception, rusage counts completed faults, so the difference is capped
 * at the rusage count.
 */
export function ownFaultsExcluded(raw: RawStep): number {
  const all = raw.minflt + raw.majflt;
  if (!raw.pf || 'lost' in raw.pf) return all;
  return all - Math.min(raw.pf.out, all);
}

/** The host's facts (kernel, root, soft-dirty, swap, userfaultfd features, ...). */
export function hostFacts(): NativeHeader {
  return runReplayer(['--probe'], '', 30_000).header;
}

/** Replays an already translated op script. */
export function replayScript(script: OpScript, spec: ScriptableSpec, timeoutMs = 120_000): NativeReplay {
  const { header, lines, refused } = runReplayer([], script.text, timeoutMs, 'return');
  const firstFork = spec.steps.findIndex((st) => st.op === 'fork');
  const forkSeen = (step: number) => firstFork >= 0 && step > firstFork;
  const steps: NativeStep[] = lines.map((raw) => {
    const specStep = spec.steps[raw.step] as { region?: string } | undefined;
    const s: NativeStep = {
      index: raw.step,
      op: raw.op,
      process: raw.process,
      region: specStep?.region,
      faults: { total: ownFaultsExcluded(raw), minor: raw.minflt, major: raw.majflt, sigsegv: raw.sigsegv, sigbus: raw.sigbus },
      uffd: { missing: raw.uffd.missing, wp: raw.uffd.wp, minor: raw.uffd.minor },
      raw,
      notes: [...(script.notes[raw.step] ?? [])],
    };
    if (raw.inspect) {
      s.inspect = raw.inspect.map((row) => toNativeRow(row, header));
      // after a fork, "mapped once" no longer implies PageAnonExclusive: a page the other
      // process stopped mapping stays non-exclusive until a write fault reuses it
      if (forkSeen(raw.step)) for (const row of s.inspect) if (row.exclusive === true) row.exclusive = null;
    }
    if (raw.smaps) s.smaps = raw.smaps;
    const info = specStep?.region !== undefined ? script.regions[specStep.region] : undefined;
    if (raw.inspect && info && info.thp && !info.split && raw.inspect.length === info.pages) s.thpRegion = true;
    if (raw.scan) s.scan = raw.scan;
    if (raw.errno) s.errno = raw.errno;
    if (raw.pf && !('lost' in raw.pf)) {
      s.faultSites = raw.pf.at;
      if (raw.pf.out > 0 && raw.op === 'touch')
        s.notes.push(`${raw.pf.out} fault(s) on the replayer's own memory (${raw.pf.outAddrs.join(', ')}) are not counted`);
    }
    if (raw.uffd.errors) s.notes.push(`${raw.uffd.errors} userfaultfd resolutions failed in the handler thread`);
    if (raw.eexist) s.notes.push(`${raw.eexist} pages already populated (EEXIST)`);
    return s;
  });
  if (refused) throw new ReplayRefused(refused.reason, refused.step, refused.errno, { host: header, steps });
  return { host: header, steps };
}

/** Replays one run (`loadSpecFile(f).plan`, or any RunPlan). */
export function replayNative(plan: RunPlan, opts: ReplayOptions = {}): NativeReplay {
  const script = toOpScript(plan, { seed: plan.seed, repeat: 0, cpus: plan.machine.cpus, ...opts });
  return replayScript(script, plan, opts.timeoutMs);
}
