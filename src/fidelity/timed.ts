/**
 * Model next to machine: runs a spec's ops on this host's kernel, timed with the calibration
 * probe's discipline, and returns RunResults in the model's shape marked `source: 'native'`, so
 * both land in one ResultSet (`ResultSet.merge`) and charts and tables put them side by side.
 *
 * Discipline (native/common/timing.h, as native/calibrate/probe.c): each step is bracketed by
 * the process CPU clock and lfence'd rdtsc; the replayer is pinned to one CPU (its uffd handler
 * thread inherits that); with `others: 'busy'` (the default on a VM guest, as `ptlab calibrate`)
 * every other allowed CPU is kept busy by a spinner; the whole script runs `reps` times, each time
 * in a fresh replayer process. A step's cycles are the median over the repetitions of the CPU time
 * of the replayer's threads in TSC ticks, as the probe times its passes: on a shared host the
 * wall clock also counts whatever other processes ran on the pinned CPU (measured here with a
 * load of 13 on 2 CPUs: 1.1-7x the CPU time per step). The wall-clock median is in `timing`.
 *
 * Regions keep one VMA (no per-page split, whose thousands of VMAs would change what mprotect and
 * uffd cost) and get THP exactly where the model gives them THP (nativeThp: MADV_HUGEPAGE or
 * MADV_NOHUGEPAGE on each, whatever this host's transparent_hugepage/enabled says).
 *
 * What this host cannot run is refused per step, before anything runs: ops user space cannot
 * drive (reclaim, migrate, trace, idle), missing kernel features (userfaultfd, its features, no
 * swap for pageout, no soft-dirty, no PAGEMAP_SCAN). The steps before the first refused one are
 * run and timed; every refused step, and every step after the first, is listed in `refused`.
 */
import * as os from 'node:os';
import { readHostInfo } from '../cost/calibrate';
import { variantForRelease } from '../kernel/variants';
import { ResultSet } from '../lab/resultset';
import type { ResolvedMachine } from '../lab/compile';
import { emptyCounters, type RunPlan } from '../lab/simulate';
import type { Step } from '../lab/spec';
import type { Counters, MachineRecord, RefusedStep, RunResult, StepResult, StepTiming, TimeOptions } from '../lab/types';
import { replayerSupport } from './native-build';
import type { NativeHeader, RawStep } from './native-types';
import { hostFacts, ReplayFailed, runReplayer } from './replay';
import { NOT_REPLAYABLE, ScriptError, toOpScript, type OpScript } from './script';
import { loadSpecJson, type LoadedSpec } from './spec-input';
import { DEFAULT_PROFILE, listProfiles } from '../cost/registry';

export const DEFAULT_TIME_REPS = 5;

/** The header line of a --time replay. */
interface TimedHeader extends NativeHeader {
  /** overhead*: the median cost of an empty timing window, subtracted from every step */
  time: { tscGHz: number; pinnedCpu: number; spinners: number; overheadTsc: number; overheadCpuNs: number; hypervisor: string };
}

type TimedStep = RawStep & { tsc: number; cpuNs: number };

/** uffd feature bits (include/uapi/linux/userfaultfd.h) */
const UFFD_FEATURE = { pagefaultFlagWp: 1 << 0, wpHugetlbfsShmem: 1 << 12, wpUnpopulated: 1 << 13, wpAsync: 1 << 15, minorShmem: 1 << 10 };

/**
 * The spec's THP setting applied to each region natively: the model maps a region with THP when
 * it advises `hugepage` (unless machine.thp is `never`) or, without advice, when machine.thp is
 * `always` (default `madvise`). The timed replay gives each mmap explicit advice to match
 * (MADV_HUGEPAGE, else MADV_NOHUGEPAGE: 4 KiB PTEs), whatever this host's
 * transparent_hugepage/enabled says. Returns the steps with that advice, the refusals (THP wanted
 * on a host without it) and notes.
 */
export function nativeThp(steps: readonly Step[], machine: Pick<ResolvedMachine, 'thp' | 'thpZeroPage'>, host: NativeHeader): { steps: Step[]; refused: RefusedStep[]; notes: Map<number, string> } {
  const mode = machine.thp ?? 'madvise';
  const refused: RefusedStep[] = [];
  const notes = new Map<number, string>();
  const out = steps.map((st, i) => {
    if (st.op !== 'mmap') return st;
    const advice = st.thp as 'hugepage' | 'nohugepage' | undefined;
    const huge = advice === 'hugepage' ? mode !== 'never' : advice === undefined && mode === 'always';
    if (huge && (!host.thp || host.thp === 'never'))
      refused.push({ step: i, op: st.op, reason: `region ${st.region} would be mapped with transparent huge pages (machine.thp ${mode}${advice ? `, advice ${advice}` : ''}), and this kernel has ${host.thp ? 'THP disabled (never)' : 'no THP'}` });
    if (huge && (machine.thpZeroPage ?? true) !== (host.thpZeroPage ?? true))
      notes.set(i, `the spec's thpZeroPage is ${machine.thpZeroPage ?? true}, this host's use_zero_page is ${host.thpZeroPage}: read faults on this region differ`);
    // without THP in this kernel every region has 4 KiB PTEs, and madvise(MADV_NOHUGEPAGE) fails
    const { thp: _advice, ...rest } = st;
    return (huge ? { ...rest, thp: 'hugepage' } : host.thp ? { ...rest, thp: 'nohugepage' } : rest) as Step;
  });
  return { steps: out, refused, notes };
}

/**
 * Why this host cannot run each step, before running anything (the replayer refuses the same
 * things at run time; this lists all of them, not only the first).
 */
export function hostRefusals(steps: readonly Step[], host: NativeHeader): RefusedStep[] {
  const out: RefusedStep[] = [];
  const features = host.uffd === null ? null : Number.parseInt(host.uffd, 16);
  const kinds = new Map<string, { kind: string; fs: string }>();
  steps.forEach((st, i) => {
    const refuse = (reason: string) => out.push({ step: i, op: st.op, reason });
    const proc = st.process ?? 'main';
    const region = 'region' in st && typeof st.region === 'string' ? kinds.get(st.region) : undefined;
    const why = NOT_REPLAYABLE[st.op];
    if (why) return refuse(`cannot be run natively: ${why}`);
    switch (st.op) {
      case 'mmap':
        kinds.set(st.region, { kind: (st.kind as string) ?? 'anon-private', fs: (st.fs as string) ?? 'mkwrite' });
        return;
      case 'idle':
        return refuse('a CPU going idle (lazy TLB) cannot be arranged from user space');
      case 'khugepaged':
        return refuse("khugepaged collapses in its own kernel thread, on its own schedule: its work is not inside the step's window");
      case 'fork':
        if (proc !== 'main') refuse('only the main process can fork in a native run');
        return;
      case 'uffd-register':
      case 'uffd-writeprotect':
      case 'uffd-copy':
      case 'uffd-zeropage': {
        if (features === null) return refuse(`userfaultfd is not usable here (${host.uffdError ?? 'unknown'}; needs root, vm.unprivileged_userfaultfd=1 or /dev/userfaultfd)`);
        if (proc !== 'main') return refuse(`${st.op} in forked process ${proc}: the child has no userfaultfd (no UFFD_FEATURE_EVENT_FORK)`);
        if (st.op === 'uffd-zeropage' && st.wp) return refuse('UFFDIO_ZEROPAGE has no write-protect mode');
        if (st.op !== 'uffd-register') return;
        // the replayer puts fs "plain" files on tmpfs, which userfaultfd treats as shmem (script.ts)
        if (region && region.kind.startsWith('file') && region.fs === 'plain')
          return refuse(`region ${st.region} (fs "plain") is replayed on tmpfs, which userfaultfd treats as shmem, while the model's "plain" filesystem is not; use fs "mkwrite" or kind "anon-shared"`);
        // a disk file is the kernel's to refuse (EINVAL from vma_can_userfault): the replayer reports that at run time
        const shmem = region?.kind === 'anon-shared';
        if (st.modes.includes('wp') && !(features & UFFD_FEATURE.pagefaultFlagWp)) return refuse('this kernel has no userfaultfd write-protect (Linux 5.7)');
        if (st.modes.includes('wp') && shmem && !(features & UFFD_FEATURE.wpHugetlbfsShmem)) return refuse('this kernel has no uffd-wp on shmem (Linux 5.19)');
        if (st.modes.includes('minor') && !shmem) return refuse(`minor mode needs shmem; region ${st.region} is ${region?.kind ?? 'unmapped'}`);
        if (st.modes.includes('minor') && !(features & UFFD_FEATURE.minorShmem)) return refuse('this kernel has no minor faults on shmem (Linux 5.14)');
        if (st.features?.includes('wp-async') && !(features & UFFD_FEATURE.wpAsync)) return refuse('this kernel lacks UFFD_FEATURE_WP_ASYNC (Linux 6.7)');
        if (st.features?.includes('wp-unpopulated') && !(features & UFFD_FEATURE.wpUnpopulated)) return refuse('this kernel lacks UFFD_FEATURE_WP_UNPOPULATED (Linux 6.4)');
        return;
      }
      case 'madvise':
        if (st.advice === 'pageout' && !host.swap && region && region.kind !== 'file-shared')
          refuse(`madvise pageout of ${region.kind} memory needs an active swap device, and this host has none (e.g. a zram swap: docs/fidelity.md)`);
        return;
      case 'clear-refs':
        if (st.mode === 'soft-dirty' && !host.softDirty) refuse('soft-dirty tracking is not built into this kernel (CONFIG_MEM_SOFT_DIRTY=n)');
        return;
      case 'pagemap-scan':
        if (!host.pagemapScan) return refuse('PAGEMAP_SCAN needs Linux 6.7');
        if (st.mode === 'soft-dirty' && !host.softDirty) refuse('PAGE_IS_SOFT_DIRTY needs CONFIG_MEM_SOFT_DIRTY');
        return;
      default:
        return;
    }
  });
  return out;
}

function quantile(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const i = Math.floor(pos);
  const f = pos - i;
  return i + 1 < sorted.length ? sorted[i] * (1 - f) + sorted[i + 1] * f : sorted[sorted.length - 1];
}

function timingOf(cpu: number[], wall: number[]): StepTiming {
  const c = [...cpu].sort((a, b) => a - b);
  const w = [...wall].sort((a, b) => a - b);
  return { reps: c.length, median: quantile(c, 0.5), p25: quantile(c, 0.25), p75: quantile(c, 0.75), min: c[0], max: c[c.length - 1], wallMedian: quantile(w, 0.5) };
}

/** Faults and accesses as observed (the other counters are not observable: see isNativeMetric). */
function nativeCounters(raw: TimedStep): Counters {
  const c = emptyCounters();
  const byKind: Record<string, number> = {};
  const put = (k: string, v: number) => v && (byKind[k] = v);
  put('minor', raw.minflt);
  put('major', raw.majflt);
  put('sigsegv', raw.sigsegv);
  put('sigbus', raw.sigbus);
  put('uffdMissing', raw.uffd.missing);
  put('uffdWp', raw.uffd.wp);
  put('uffdMinor', raw.uffd.minor);
  c.faults = { total: raw.minflt + raw.majflt + raw.sigsegv + raw.sigbus, byKind };
  c.accesses = raw.accesses;
  return c;
}

function median(v: number[]): number {
  return quantile([...v].sort((a, b) => a - b), 0.5);
}

interface OneReplay {
  header: TimedHeader;
  steps: TimedStep[];
  /** the replayer refused at run time */
  refused?: RefusedStep;
}

function runTimedOnce(script: string, others: 'busy' | 'as-is', timeoutMs: number, ops: readonly Step[]): OneReplay {
  const r = runReplayer<TimedHeader, TimedStep>(['--time', '--others', others], script, timeoutMs, 'return');
  if (!r.header.time) throw new ReplayFailed('the native replayer printed no timing header');
  const out: OneReplay = { header: r.header, steps: r.lines };
  if (r.refused) out.refused = { step: r.refused.step, op: ops[r.refused.step]?.op ?? '?', reason: r.refused.reason };
  return out;
}

/** The machine record of a timed replay. */
export function machineRecord(h: TimedHeader, othersBusy: boolean): MachineRecord {
  const info = readHostInfo();
  const m: MachineRecord = {
    cpuModel: info.cpuModel,
    kernel: h.kernel,
    kernelVariant: variantForRelease(h.kernel),
    virtualization: h.time.hypervisor ? `VM guest (${h.time.hypervisor.replace(/\0/g, '').trim() || 'unnamed hypervisor'})` : info.hypervisor ? 'VM guest' : 'bare metal',
    tscGHz: h.time.tscGHz,
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    pinnedCpu: h.time.pinnedCpu,
    othersBusy,
  };
  if (info.vendor) m.vendor = info.vendor;
  if (info.family !== undefined) m.family = info.family;
  if (info.model !== undefined) m.model = info.model;
  return m;
}

/** The variant name a native run carries: "native-<release>" (its own series in charts and tables). */
export function nativeVariantName(release: string): string {
  return `native-${/^\d+\.\d+(\.\d+)?/.exec(release)?.[0] ?? release}`;
}

/** The run identity of a native run of `plan`: kernel and CPU axes do not apply to the host. */
function nativeIdentity(plan: Pick<RunPlan, 'id' | 'name' | 'seed' | 'repeat' | 'params'>, variant: string) {
  const params = { ...plan.params };
  delete params.kernel;
  delete params.cpu;
  let id = `${variant}|host|seed=${plan.seed}|r=${plan.repeat}`;
  for (const [k, v] of Object.entries(params)) if (k !== 'seed') id += `|${k}=${String(v)}`;
  return { id, name: plan.name, variant, cpu: 'host', seed: plan.seed, repeat: plan.repeat, params };
}

/** What the timer reads of a planned run. */
type TimedPlan = Pick<RunPlan, 'id' | 'name' | 'seed' | 'repeat' | 'params' | 'steps' | 'machine'>;

/**
 * Times one planned run on this host. Throws ScriptError for a spec that cannot be expressed
 * natively at all, ReplayFailed when the replayer fails; refusals are in the result.
 */
export function timeNativePlan(plan: TimedPlan, host: NativeHeader, opts: TimeOptions = {}): RunResult {
  const reps = opts.reps ?? DEFAULT_TIME_REPS;
  if (!Number.isInteger(reps) || reps < 1) throw new ScriptError(`reps: ${reps} is not a positive integer`, -1);
  if (opts.others !== undefined && opts.others !== 'busy' && opts.others !== 'as-is') throw new ScriptError(`others: "${String(opts.others)}" must be "busy" or "as-is"`, -1);
  const others = opts.others ?? (readHostInfo().hypervisor ? 'busy' : 'as-is');
  const thp = nativeThp(plan.steps, plan.machine, host);
  const spec = { ...plan, steps: thp.steps };
  const refused = [...hostRefusals(spec.steps, host), ...thp.refused];
  // The op script of the steps before the first refused one. A step the script cannot express
  // natively (script.ts says why), or that the replayer refuses when it gets there (e.g. EINVAL
  // from UFFDIO_REGISTER), is refused too, and the steps before it are timed again without it.
  let notes: string[][] = [];
  const firstRefused = () => (refused.length ? Math.min(...refused.map((r) => r.step)) : spec.steps.length);
  let runs: OneReplay[] = [];
  for (;;) {
    const cut = firstRefused();
    let script: OpScript;
    try {
      script = toOpScript({ name: spec.name, steps: spec.steps.slice(0, cut) }, { seed: spec.seed, repeat: plan.repeat, cpus: spec.machine.cpus, split: 'never' });
    } catch (e) {
      if (!(e instanceof ScriptError) || e.step < 0 || e.step >= cut) throw e;
      refused.push({ step: e.step, op: spec.steps[e.step].op, reason: e.message.replace(/^steps\[\d+\]\s*(\([^)]*\))?:?\s*/, '') });
      continue;
    }
    runs = [];
    let late: RefusedStep | undefined;
    for (let i = 0; i < reps && !late; i++) {
      const one = runTimedOnce(script.text, others, opts.timeoutMs ?? 120_000, spec.steps);
      runs.push(one);
      late = one.refused;
    }
    if (!late) {
      notes = script.notes;
      break;
    }
    if (late.step < 0 || late.step >= cut) throw new ReplayFailed(`the native replayer refused step ${late.step}, outside the ${cut} steps it was given: ${late.reason}`);
    refused.push(late);
  }
  refused.sort((a, b) => a.step - b.step);
  const cut = firstRefused();
  for (let i = cut + 1; i < spec.steps.length; i++)
    if (!refused.some((r) => r.step === i)) refused.push({ step: i, op: spec.steps[i].op, reason: `not run: it follows refused step ${cut}, whose state it would need` });
  refused.sort((a, b) => a.step - b.step);

  const header = runs[0].header;
  const machine = machineRecord(header, header.time.spinners > 0);
  const ident = nativeIdentity(plan, nativeVariantName(header.kernel));
  const steps: StepResult[] = [];
  for (let i = 0; i < cut; i++) {
    const per = runs.map((r) => ({ raw: r.steps.find((s) => s.step === i), t: r.header.time })).filter((x): x is { raw: TimedStep; t: TimedHeader['time'] } => x.raw !== undefined);
    if (per.length === 0) continue;
    // less the empty window's own cost (measured by each replayer at start)
    const timing = timingOf(
      per.map((x) => Math.max(0, x.raw.cpuNs - x.t.overheadCpuNs) * x.t.tscGHz),
      per.map((x) => Math.max(0, x.raw.tsc - x.t.overheadTsc)),
    );
    const raw = per[0].raw;
    const counters = nativeCounters(raw);
    counters.faults.total = median(per.map((x) => x.raw.minflt + x.raw.majflt + x.raw.sigsegv + x.raw.sigbus));
    const st = spec.steps[i] as { region?: string };
    const s: StepResult = { index: i, op: raw.op, cycles: { total: timing.median, byEvent: { native: timing.median } }, counters, timing };
    if (st.region) s.region = st.region;
    if (raw.process !== 'main') s.process = raw.process;
    const stepNotes = [...(notes[i] ?? []), ...(thp.notes.has(i) ? [thp.notes.get(i)!] : [])];
    if (stepNotes.length) s.notes = stepNotes;
    steps.push(s);
  }
  const total = emptyCounters();
  const byKind: Record<string, number> = {};
  for (const s of steps) {
    total.faults.total += s.counters.faults.total;
    total.accesses += s.counters.accesses;
    for (const [k, v] of Object.entries(s.counters.faults.byKind)) byKind[k] = (byKind[k] ?? 0) + v;
  }
  total.faults.byKind = byKind;
  const cycles = steps.reduce((a, s) => a + s.cycles.total, 0);
  const out: RunResult = { ...ident, steps, total: { cycles: { total: cycles, byEvent: { native: cycles } }, counters: total }, source: 'native', machine };
  if (refused.length) out.refused = refused;
  return out;
}

/**
 * Times every run of a plan list natively. Runs that differ only in kernel or CPU profile are one
 * native run (the host has one kernel and one CPU), so a kernel sweep gives one native run per
 * seed, repeat and other swept value.
 */
export function timeNativePlans(plans: readonly RunPlan[], host: NativeHeader, opts: TimeOptions = {}, spec?: unknown): ResultSet {
  const seen = new Set<string>();
  const runs: RunResult[] = [];
  const variant = nativeVariantName(host.kernel);
  for (const p of plans) {
    const id = nativeIdentity(p, variant).id;
    if (seen.has(id)) continue;
    seen.add(id);
    runs.push(timeNativePlan(p, host, opts));
  }
  return new ResultSet(runs, spec);
}

/**
 * A spec read for this host: the CPU profile does not price a native run (and a comparison picks
 * its own), so a machine.cpu that names no profile here (e.g. "host" before `ptlab calibrate`)
 * and a swept `cpu` axis are set aside; everything else is validated and compiled as for `run()`.
 */
export function loadSpecForHost(specInput: unknown, source?: string, baseDir?: string): LoadedSpec {
  if (specInput === null || typeof specInput !== 'object' || Array.isArray(specInput)) return loadSpecJson(specInput, source, baseDir);
  const spec = { ...(specInput as Record<string, unknown>) };
  const machine = spec.machine as Record<string, unknown> | undefined;
  if (machine && typeof machine === 'object' && typeof machine.cpu === 'string' && !listProfiles().includes(machine.cpu)) spec.machine = { ...machine, cpu: DEFAULT_PROFILE };
  const sweep = spec.sweep as Record<string, unknown> | undefined;
  if (sweep && typeof sweep === 'object' && 'cpu' in sweep) {
    const { cpu: _cpu, ...rest } = sweep;
    spec.sweep = rest;
  }
  return loadSpecJson(spec, source, baseDir);
}

/**
 * `experiment.native(opts)` and `ptlab replay --native --time` in one call: validates and plans
 * the spec like `run()`, then times every distinct host run. Throws an Error naming the reason
 * when this host cannot run natively at all (not Linux x86-64, no C compiler).
 */
export function timeNative(specInput: unknown, opts: TimeOptions = {}): ResultSet {
  const why = replayerSupport();
  if (why) throw new Error(`cannot time natively here: ${why}`);
  const loaded = loadSpecForHost(specInput);
  return timeNativePlans(loaded.plans, hostFacts(), opts, specInput);
}
