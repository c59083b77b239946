/**
 * One spec, measured and modelled on this host: the spec's first run timed natively (timed.ts)
 * and simulated under the variant modelling this kernel (host-model.ts) with the calibrated
 * `host` profile, or, without one, a committed profile measured on this machine kind, or else the
 * closest shipped profile (virtualized on a VM guest).
 * Rows are per step in TSC ticks (model cycles converted from the profile's clock), for the
 * steps the host ran; the rest are in `refused`.
 */
import { closestBase, readHostInfo, type HostInfo } from '../cost/calibrate';
import type { MeasuredMachine } from '../cost/profile';
import { getProfile, HOST_PROFILE, listProfiles, measuredProfiles } from '../cost/registry';
import { ResultSet } from '../lab/resultset';
import { Chart } from '../notebook/chart';
import { simulateRun } from '../lab/simulate';
import type { MachineRecord, RefusedStep, RunResult, TimeOptions } from '../lab/types';
import { replayerSupport } from './native-build';
import { hostFacts } from './replay';
import { hostModelPlan } from './host-model';
import type { LoadedSpec } from './spec-input';
import { loadSpecForHost, timeNativePlan } from './timed';

export interface ComparisonRow {
  step: number;
  op: string;
  /** the step's label, else its op and region */
  label: string;
  /** native cycles (median CPU time of the replayer's threads, TSC ticks) and the median rdtsc wall clock */
  native: number;
  nativeWall: number;
  /** IQR / median of the native repetitions, percent */
  noisePct: number;
  /** the model's cycles converted to TSC ticks */
  model: number;
  /** (model - native) / native, percent (undefined when native is 0) */
  errorPct?: number;
}

export interface HostComparison {
  name: string;
  machine: MachineRecord;
  /** the model's kernel variant and CPU profile (and why that profile) */
  variant: string;
  profile: { name: string; virtualized: boolean; calibrated: boolean; /** a committed profile measured on this machine kind (not calibrated in this sitting) */ measured?: boolean; why: string };
  /** CPUs of the modelled machine (natively, every step runs on one pinned thread) */
  modelCpus: number;
  rows: ComparisonRow[];
  refused: RefusedStep[];
  /** the model run and the native run, in one set */
  results: ResultSet;
}

/** The profile to model this host with: `cpu` if given, the calibrated `host` profile, a committed profile measured on this machine kind, else the closest shipped one. */
function hostProfile(cpu?: string): HostComparison['profile'] {
  if (cpu) return { name: cpu, virtualized: false, calibrated: cpu === HOST_PROFILE, why: 'chosen' };
  let missing = 'no calibrated host profile (run ptlab calibrate)';
  if (listProfiles().includes(HOST_PROFILE)) {
    try {
      getProfile(HOST_PROFILE);
      return { name: HOST_PROFILE, virtualized: false, calibrated: true, why: 'calibrated on this host (ptlab calibrate)' };
    } catch (e) {
      // e.g. written by an older ptlab, before events it lacks existed
      missing = `the host profile cannot be used (${(e as Error).message.split('\n')[0].replace(/:\s*$/, '')}; re-run ptlab calibrate)`;
    }
  }
  const info = readHostInfo();
  const same = measuredProfileFor(info);
  if (same) return { name: same.name, virtualized: false, calibrated: false, measured: true, why: `${missing}; ${same.why}` };
  const base = closestBase(info);
  return { name: base.name, virtualized: info.hypervisor, calibrated: false, why: `${missing}; closest shipped: ${base.why}${info.hypervisor ? ', virtualized' : ''}` };
}

/**
 * A committed measured profile (src/cost/profiles/measured) taken on this kind of machine: same
 * CPU vendor, family and model, and a guest when this is a guest (bare metal when it is not).
 * Among several, the one measured on the same kernel major.minor, then the newest. It is a
 * guest's own measurement, so it is used as it is (not virtualize()d again).
 */
function measuredProfileFor(info: HostInfo): { name: string; why: string } | undefined {
  const release = (k: string) => /^\d+\.\d+/.exec(k)?.[0];
  const candidates = measuredProfiles()
    .map((name) => ({ name, m: getProfile(name).definition.measuredOn }))
    .filter((c): c is { name: string; m: MeasuredMachine } =>
      c.m !== undefined && c.m.vendorId === info.vendorId && c.m.family === info.family && c.m.model === info.model &&
      (c.m.virtualization !== 'bare-metal') === info.hypervisor)
    .sort((a, b) => Number(release(b.m.kernel) === release(info.kernel)) - Number(release(a.m.kernel) === release(info.kernel)) || b.m.date.localeCompare(a.m.date));
  const best = candidates[0];
  if (!best) return undefined;
  const m = best.m;
  return { name: best.name, why: `measured profile ${best.name}: this machine kind (${m.cpuModel}, family ${m.family} model ${m.model}, ${m.virtualization}), measured ${m.date} on Linux ${m.kernel}, not in this sitting` };
}

/** Percent error of the model against the measurement. */
export function errorPct(model: number, native: number): number | undefined {
  return native > 0 ? ((model - native) / native) * 100 : undefined;
}

/**
 * Times the spec's first run here and simulates it for this host. Throws an Error naming the
 * reason when this host cannot run natively at all.
 */
export function compareWithHost(specInput: unknown, opts: TimeOptions & { cpu?: string } = {}): HostComparison {
  return compareLoaded(loadSpecForHost(specInput), specInput, opts);
}

/**
 * compareWithHost of a spec already loaded for this host (`ptlab replay --compare` loads it from
 * its file, so that its problems name the file); `specInput` is kept with the results.
 */
export function compareLoaded(loaded: LoadedSpec, specInput: unknown, opts: TimeOptions & { cpu?: string } = {}): HostComparison {
  const why = replayerSupport();
  if (why) throw new Error(`cannot measure on this host: ${why}`);
  const host = hostFacts();
  const native = timeNativePlan(loaded.plan, host, opts);
  const machine = native.machine!;
  const profile = hostProfile(opts.cpu);
  // the spec's THP setting, which the timed run applies to its regions (timed.ts, nativeThp)
  const thp = { thp: loaded.plan.machine.thp ?? 'madvise', thpZeroPage: loaded.plan.machine.thpZeroPage ?? true } as const;
  const target = hostModelPlan(loaded.plan, host, { machine: { cpu: profile.name, ...thp, ...(profile.virtualized ? { virtualized: true } : {}) } });
  const model: RunResult = simulateRun(target);
  const k = machine.tscGHz / getProfile(profile.name).clockGHz; // model cycles are at the profile's clock
  const steps = loaded.plan.steps;
  const rows: ComparisonRow[] = native.steps.map((s) => {
    const st = steps[s.index];
    const t = s.timing!;
    const m = model.steps[s.index].cycles.total * k;
    const row: ComparisonRow = {
      step: s.index,
      op: s.op,
      label: st.label ?? `${st.op}${'region' in st && st.region ? ` ${st.region}` : ''}`,
      native: s.cycles.total,
      nativeWall: t.wallMedian,
      noisePct: t.median > 0 ? ((t.p75 - t.p25) / t.median) * 100 : 0,
      model: m,
    };
    const e = errorPct(m, s.cycles.total);
    if (e !== undefined) row.errorPct = e;
    return row;
  });
  return {
    name: loaded.plan.name,
    machine,
    variant: target.variant,
    profile,
    modelCpus: target.machine.cpus,
    rows,
    refused: native.refused ?? [],
    results: new ResultSet([model, native], specInput),
  };
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');

/** What a comparison is of, without its table: the machine, the model, what was not run. */
export function comparisonNotes(c: HostComparison): { machine: string; model: string; notRun: string[] } {
  const m = c.machine;
  const reps = c.results.runs.find((r) => r.source === 'native')?.steps[0]?.timing?.reps;
  const notRun: string[] = [];
  // consecutive steps refused for the same reason as one line
  for (let i = 0; i < c.refused.length; ) {
    let j = i;
    while (j + 1 < c.refused.length && c.refused[j + 1].reason === c.refused[i].reason && c.refused[j + 1].step === c.refused[j].step + 1) j++;
    const a = c.refused[i];
    const ops = [...new Set(c.refused.slice(i, j + 1).map((x) => x.op))].join(', ');
    notRun.push(`not run here: ${i === j ? `step ${a.step}` : `steps ${a.step}-${c.refused[j].step}`} (${ops}): ${a.reason}`);
    i = j + 1;
  }
  return {
    machine: `measured on: ${m.cpuModel}${m.family !== undefined ? ` (family ${m.family} model ${m.model})` : ''}, ${m.virtualization}, Linux ${m.kernel}, TSC ${m.tscGHz.toFixed(3)} GHz; ${reps ? `median CPU time of ${reps} fresh runs` : 'nothing ran'}, pinned, other CPUs ${m.othersBusy ? 'kept busy' : 'as they were'}`,
    model: `model: ${c.variant} on profile ${c.profile.name} (${c.profile.why})${c.modelCpus > 1 ? `, ${c.modelCpus} CPUs (natively every step runs on one pinned thread)` : ''}; cycles converted to TSC ticks`,
    notRun,
  };
}

/** The comparison as a text table, with the machine, the model's profile and what was not run. */
export function formatComparison(c: HostComparison): string {
  const head = ['step', 'native (TSC)', 'wall clock', 'noise %', `model (${c.profile.name})`, 'model vs native'];
  const body = c.rows.map((r) => [`${r.step} ${r.label}`, n(r.native), n(r.nativeWall), r.noisePct.toFixed(0), n(r.model), r.errorPct === undefined ? '-' : `${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(0)}%`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((x, i) => (i === 0 ? x.padEnd(widths[i]) : x.padStart(widths[i]))).join('  ');
  const notes = comparisonNotes(c);
  return [notes.machine, notes.model, line(head), line(widths.map((w) => '-'.repeat(w))), ...body.map(line), ...notes.notRun].join('\n');
}

/** Per step, native next to model (TSC ticks, log scale: steps differ by orders of magnitude). */
export function comparisonChart(c: HostComparison, title = `${c.name}: this machine vs the model`): Chart {
  const values = c.rows.flatMap((r) => [
    { step: `${r.step} ${r.label}`, source: 'native (measured)', cycles: Math.max(1, r.native) },
    { step: `${r.step} ${r.label}`, source: `model (${c.profile.name})`, cycles: Math.max(1, r.model) },
  ]);
  return Chart.from(
    {
      title,
      data: { values },
      mark: 'bar',
      encoding: {
        y: { field: 'step', type: 'nominal', sort: null, title: null },
        yOffset: { field: 'source', type: 'nominal' },
        x: { field: 'cycles', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'TSC cycles (log scale)', axis: { format: '.2s' } },
        color: { field: 'source', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      },
      width: 480,
    },
    formatComparison(c),
  );
}

/** A caption for comparisonChart: the machine, the model and what was not run (the chart has the numbers). */
export function comparisonCaption(c: HostComparison): string {
  const x = comparisonNotes(c);
  return [x.machine, x.model, ...x.notRun].join('\n');
}
