/**
 * Differential check of the model against this machine's kernel: the same run simulated under
 * the variant that models `uname -r` and replayed natively, compared step by step — inspect
 * fields bit by bit where user space can see them, faults by count on touch steps, and
 * PAGEMAP_SCAN results as page sets.
 */
import { release } from 'node:os';
import type { RunPlan } from '../lab/compile';
import { SimulationError, simulateRun } from '../lab/simulate';
import { UffdError } from '../kernel/userfaultfd';
import type { InspectRow, RunResult, StepResult } from '../lab/types';
import { getVariant, variantForRelease } from '../kernel/variants';
import type { NativeHeader, NativeReplay, NativeRow, NativeStep } from './native-types';
import { ReplayRefused, replayNative, type ReplayOptions } from './replay';
import { toOpScript } from './script';
import type { LoadedSpec } from './spec-input';
import { hostModelPlan, hostZswapEnabled } from './host-model';

/** InspectRow fields compared bit by bit (write is never observable natively). */
export const COMPARED_FIELDS = ['present', 'entry', 'young', 'dirty', 'uffdWp', 'softDirty', 'exclusive', 'special', 'folioDirty', 'huge', 'thp'] as const;

/**
 * smaps totals of a region (pages), as fs/proc/task_mmu.c smaps_account() counts them from the
 * model's inspect rows: Rss = present pages with a normal page (not the zero pages: vm_normal_page
 * is NULL), Referenced = those young, Dirty = those with a dirty PTE or folio, AnonHugePages =
 * those a PMD maps. Compared for THP regions, whose per-page A/D user space cannot see.
 */
export function smapsTotals(rows: readonly InspectRow[]): { rss: number; referenced: number; dirty: number; anonHuge: number } {
  let rss = 0, referenced = 0, dirty = 0, anonHuge = 0;
  for (const r of rows) {
    if (!r.present || r.special) continue;
    rss++;
    if (r.young) referenced++;
    if (r.dirty || r.folioDirty) dirty++;
    if (r.huge) anonHuge++;
  }
  return { rss, referenced, dirty, anonHuge };
}
export type ComparedField = (typeof COMPARED_FIELDS)[number];

export interface Difference {
  step: number;
  op: string;
  process: string;
  /** page index for inspect fields */
  page?: number;
  /** an InspectRow field, or faults.total / faults.sigsegv / faults.uffdMissing / faults.uffdWp / faults.uffdMinor / scan / errno (a failed MADV_COLLAPSE) */
  field: string;
  model: unknown;
  native: unknown;
  /** 'host': explained by a documented quirk of this host (see DiffReport.hostQuirks) */
  cause: 'model' | 'host';
  note?: string;
}

export interface DiffReport {
  name: string;
  variant: string;
  host: NativeHeader;
  /** quirks of this host that make some differences expected */
  hostQuirks: string[];
  /** number of values compared */
  compared: number;
  differences: Difference[];
  /** differences with cause 'model' */
  modelDifferences: number;
  model: RunResult;
  native: NativeReplay;
  /** outcomes both sides agree on that are not step rows, e.g. a registration both refuse */
  agreements?: string[];
}

/** A step both the kernel and the model refused with an errno (UFFDIO_REGISTER's EINVAL). */
interface Refusal {
  step: number;
  errno: string;
  message: string;
}

/** The model's refusal of a uffd-register step, from the simulator's error message. */
function modelRefusal(e: unknown, plan: RunPlan): Refusal | null {
  if (!(e instanceof SimulationError && e.step !== undefined && e.cause instanceof UffdError && e.cause.errno === 'EINVAL')) return null;
  return plan.steps[e.step]?.op === 'uffd-register' ? { step: e.step, errno: e.cause.errno, message: e.message } : null;
}

/** The kernel variant modelling a release string (`uname -r`): nearest lower known linux-X.Y. */
export function variantForHost(rel = release()): string {
  return variantForRelease(rel);
}

function modelFaults(s: StepResult): { total: number; sigsegv: number; uffdMissing: number; uffdWp: number; uffdMinor: number } {
  const by = s.counters.faults.byKind ?? {};
  const sigsegv = by.sigsegv ?? 0;
  // a SIGSEGV'd access never reaches handle_mm_fault, so getrusage does not count it
  return { total: s.counters.faults.total - sigsegv, sigsegv, uffdMissing: by.uffdMissing ?? 0, uffdWp: by.uffdWp ?? 0, uffdMinor: by.uffdMinor ?? 0 };
}

/** Host quirks found in the header, as sentences. */
export function hostQuirks(h: NativeHeader): string[] {
  const q: string[] = [];
  if (!h.zeroPageOnRead)
    q.push(
      'this kernel maps no shared zero page on anonymous read faults (a read allocates a young, dirty, writable page, as with mm_forbids_zeropage()); the model runs the host variant derived with mmForbidsZeropage, so it does the same',
    );
  if (hostZswapEnabled() && getVariant(variantForRelease(h.kernel)).swapinLargeFolios)
    q.push('zswap is enabled: this kernel swaps large folios in as single pages (alloc_swap_folio(), 6.13+); the model runs the host variant derived without swapinLargeFolios');
  if (!h.softDirty) q.push('CONFIG_MEM_SOFT_DIRTY is off: softDirty is not compared');
  if (!h.pfnVisible) q.push('not root: no PFNs, kpageflags or swap types; folio flags and most young/dirty bits are unknown');
  if (h.thp === null) q.push('no transparent huge pages on this kernel: THP scenarios are refused');
  else if (h.thp) q.push(`transparent_hugepage/enabled is ${h.thp}${h.thpZeroPage === false ? ', use_zero_page 0' : ''}; the model runs with the same setting`);
  return q;
}

function compareRows(step: NativeStep, modelRows: InspectRow[], nativeRows: NativeRow[], host: NativeHeader, out: Difference[]): number {
  let compared = 0;
  const byPage = new Map(modelRows.map((r) => [r.page, r]));
  for (const n of nativeRows) {
    const m = byPage.get(n.page);
    if (!m) {
      out.push({ step: step.index, op: step.op, process: step.process, page: n.page, field: 'row', model: 'missing', native: 'present', cause: 'model' });
      continue;
    }
    for (const f of COMPARED_FIELDS) {
      const nv = n[f];
      const mv = (m as unknown as Record<string, unknown>)[f];
      if (nv === null || nv === undefined || mv === undefined) continue;
      compared++;
      if (nv === mv) continue;
      const hostCaused = !host.zeroPageOnRead && m.special === true && n.special === false;
      out.push({
        step: step.index,
        op: step.op,
        process: step.process,
        page: n.page,
        field: f,
        model: mv,
        native: nv,
        cause: hostCaused ? 'host' : 'model',
        note: hostCaused
          ? 'no zero page on this host'
          : f === 'exclusive'
            ? 'native exclusive is pagemap bit 56 (mapped once), which differs from PageAnonExclusive after other mappers went away'
            : undefined,
      });
    }
  }
  return compared;
}

/** Compares a simulated run with a native replay of the same spec. Pure: no I/O. */
export function diffRuns(name: string, model: RunResult, native: NativeReplay): DiffReport {
  const differences: Difference[] = [];
  let compared = 0;
  for (const ns of native.steps) {
    const ms = model.steps[ns.index];
    if (!ms) {
      differences.push({ step: ns.index, op: ns.op, process: ns.process, field: 'step', model: 'missing', native: ns.op, cause: 'model' });
      continue;
    }
    const add = (field: string, mv: unknown, nv: unknown, note?: string) => {
      compared++;
      if (JSON.stringify(mv) !== JSON.stringify(nv)) differences.push({ step: ns.index, op: ns.op, process: ns.process, field, model: mv, native: nv, cause: 'model', note });
    };
    if (ns.op === 'touch') {
      // only touch steps: other ops are system calls whose own faults (the replayer's stack,
      // a new handler thread, copy-on-write of its data after fork) are not the model's
      const mf = modelFaults(ms);
      add('faults.total', mf.total, ns.faults.total, ns.faultSites && ns.faultSites.length ? `native faults at ${ns.faultSites.join(' ')}` : undefined);
      // a major fault read the page: from swap (do_swap_page, shmem_swapin_folio; from 6.12 a
      // zero-fill from the zeromap, swpinZero, is major too) or from a file
      const ev = ms.counters.events ?? {};
      add('faults.major', (ev.swapInPage ?? 0) + (ev.swpinZero ?? 0) + (ev.fileReadPage ?? 0), ns.faults.major);
      add('faults.sigsegv', mf.sigsegv, ns.faults.sigsegv + ns.faults.sigbus);
      add('faults.uffdMissing', mf.uffdMissing, ns.uffd.missing);
      add('faults.uffdWp', mf.uffdWp, ns.uffd.wp);
      add('faults.uffdMinor', mf.uffdMinor, ns.uffd.minor);
    }
    if (ns.inspect) {
      if (!ms.inspect) differences.push({ step: ns.index, op: ns.op, process: ns.process, field: 'inspect', model: 'none', native: `${ns.inspect.length} rows`, cause: 'model' });
      else {
        compared += compareRows(ns, ms.inspect, ns.inspect, native.host, differences);
        if (ns.thpRegion && ns.smaps && ns.smaps.anonHuge !== undefined) {
          const m = smapsTotals(ms.inspect);
          add('smaps.rss', m.rss, ns.smaps.rss);
          add('smaps.referenced', m.referenced, ns.smaps.referenced, 'pages young (or PG_referenced) in smaps');
          add('smaps.dirty', m.dirty, ns.smaps.dirty, 'pages with a dirty PTE/PMD or folio in smaps');
          add('smaps.anonHuge', m.anonHuge, ns.smaps.anonHuge, 'pages mapped by PMD leaves (AnonHugePages)');
        }
      }
    }
    if (ns.scan) add('scan', (ms.scan ?? []).slice().sort((a, b) => a - b), ns.scan.slice().sort((a, b) => a - b));
    // MADV_COLLAPSE: whether the call failed, and with which errno
    if (ns.op === 'madvise' && (ns.errno || ms.errno)) add('errno', ms.errno ?? 'ok', ns.errno ?? 'ok', ms.notes?.join('; '));
  }
  // A host without read-fault zero pages diverges from the model from the first zero-page
  // mapping on (the page is real, dirty and writable here; later faults and bits follow from
  // that): differences from there on are reported as host-caused.
  if (!native.host.zeroPageOnRead) {
    const from = model.steps.findIndex((st) => (st.counters.faults.byKind?.anonZeroPage ?? 0) > 0);
    if (from >= 0)
      for (const d of differences)
        if (d.step >= from && d.cause === 'model') {
          d.cause = 'host';
          d.note = `after the model mapped the zero page (step ${from}); this host maps none on read faults`;
        }
  }
  return {
    name,
    variant: model.variant,
    host: native.host,
    hostQuirks: hostQuirks(native.host),
    compared,
    differences,
    modelDifferences: differences.filter((d) => d.cause === 'model').length,
    model,
    native,
  };
}

/** The simulator threw (e.g. not implemented yet, or an invariant breach in strict mode). */
export class ModelFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelFailed';
  }
}

export interface DiffOptions extends ReplayOptions {
  /** the variant to simulate (default: the one modelling this kernel) */
  variant?: string;
  /** the simulator (default simulateRun); tests inject stubs */
  simulate?: (plan: RunPlan) => RunResult;
}

/** Runs a loaded spec in the model (host variant) and natively, and compares. */
export function diffSpec(loaded: LoadedSpec, opts: DiffOptions = {}): DiffReport {
  // A registration the kernel refuses (EINVAL) is an answer to compare, not a host limit.
  let native: NativeReplay;
  let nativeRefused: Refusal | null = null;
  try {
    native = replayNative(loaded.plan, { ...opts, repeat: loaded.plan.repeat });
  } catch (e) {
    if (!(e instanceof ReplayRefused && e.errno && e.partial && loaded.plan.steps[e.step]?.op === 'uffd-register')) throw e;
    native = e.partial;
    nativeRefused = { step: e.step, errno: e.errno, message: e.message };
  }
  const release = opts.variant ?? variantForHost(native.host.kernel);
  const target = hostModelPlan(loaded.plan, native.host, { variant: release });
  const plan: RunPlan = { ...target, id: `${loaded.plan.id}|diff=${release}` };
  // The replayer maps small anon regions one VMA per page (to read A/D from smaps); so does the
  // model here, since VMA boundaries decide fork's page-table copy (each VMA's own anon_vma).
  const regions = toOpScript(plan, { seed: plan.seed, repeat: plan.repeat, cpus: plan.machine.cpus, ...opts }).regions;
  plan.vmaPerPage = Object.entries(regions).filter(([, r]) => r.split).map(([name]) => name);
  const simulate = (p: RunPlan) => (opts.simulate ? opts.simulate(p) : simulateRun(p));
  let model: RunResult;
  let modelRefused: Refusal | null = null;
  try {
    model = simulate(plan);
  } catch (e) {
    modelRefused = modelRefusal(e, plan);
    if (!modelRefused) throw new ModelFailed(`simulating "${plan.name}" under ${plan.variant} failed: ${(e as Error).message}`);
    // the steps before the refused one still compare
    model = simulate({ ...plan, steps: plan.steps.slice(0, modelRefused.step) });
  }
  if (nativeRefused || modelRefused) return refusalReport(plan.name, model, native, nativeRefused, modelRefused);
  let report = diffRuns(plan.name, model, native);
  // Host noise only ever adds faults (compaction or khugepaged migrating a page, DAMON) and
  // smaps-referenced pages (DAMON's access sampling clears A but marks the folio young, which
  // smaps counts as referenced): when the only differences are of those kinds, replay again
  // (up to twice) and keep the quietest run.
  for (let retry = 0; retry < 2 && report.modelDifferences > 0 && onlyExtraNativeFaults(report); retry++) {
    const again = diffRuns(plan.name, model, replayNative(loaded.plan, { ...opts, repeat: loaded.plan.repeat }));
    if (again.modelDifferences < report.modelDifferences) report = again;
  }
  nameModelFaultPages(report, plan, regions, simulate);
  return report;
}

/**
 * A fault-count difference on a small region (at most 64 pages, the per-PTE trace's limit) also
 * names the pages the model's faults were on, from a traced run of the same plan, next to the
 * native fault pages: "model faults at h:0 h:2; native faults at h:0 h:0 h:2".
 */
function nameModelFaultPages(report: DiffReport, plan: RunPlan, regions: Record<string, { pages: number }>, simulate: (p: RunPlan) => RunResult): void {
  const diffs = report.differences.filter((d) => d.field === 'faults.total' && d.cause === 'model');
  if (diffs.length === 0) return;
  const steps = plan.steps.map((st, i) => {
    const region = 'region' in st && typeof st.region === 'string' ? st.region : undefined;
    const pages = region ? regions[region]?.pages : undefined;
    if (!diffs.some((d) => d.step === i) || !region || !pages || pages > 64) return st;
    return { ...st, trace: { pages: Array.from({ length: pages }, (_, p) => p), region } };
  });
  let traced: RunResult;
  try {
    traced = simulate({ ...plan, steps });
  } catch {
    return; // the report stands without the model's pages
  }
  for (const d of diffs) {
    const events = traced.steps[d.step]?.pteTrace;
    if (!events) continue;
    const at = events.filter((e) => e.event === 'pageFault').map((e) => `${e.region}:${e.page}`);
    d.note = [`model faults at ${at.join(' ') || 'none'}`, d.note].filter(Boolean).join('; ');
  }
}

/** Compares the steps before the first refusal, and the refusal itself (errno or none). */
function refusalReport(name: string, model: RunResult, native: NativeReplay, n: Refusal | null, m: Refusal | null): DiffReport {
  const step = Math.min(n?.step ?? Infinity, m?.step ?? Infinity);
  const before = (r: { index: number }) => r.index < step;
  const report = diffRuns(name, { ...model, steps: model.steps.filter(before) }, { ...native, steps: native.steps.filter(before) });
  report.compared++;
  const got = (r: Refusal | null) => (r?.step === step ? r.errno : 'ok');
  if (got(n) === got(m)) report.agreements = [`steps[${step}] (uffd-register): both the kernel and the model refuse it with ${n!.errno} (kernel: ${n!.message}; model: ${m!.message})`];
  else {
    report.differences.push({ step, op: 'uffd-register', process: 'main', field: 'errno', model: got(m), native: got(n), cause: 'model', note: (n ?? m)!.message });
    report.modelDifferences++;
  }
  return report;
}

function onlyExtraNativeFaults(r: DiffReport): boolean {
  return r.differences.every((d) => d.cause !== 'model' || ((d.field === 'faults.total' || d.field === 'smaps.referenced') && Number(d.native) > Number(d.model)));
}

function show(v: unknown): string {
  return typeof v === 'boolean' ? (v ? '1' : '0') : Array.isArray(v) ? `[${v.join(',')}]` : String(v);
}

/** A step-by-step table of differences. */
export function formatDiff(r: DiffReport): string {
  const out = [`diff of "${r.name}": model ${r.variant} vs Linux ${r.host.kernel} (${r.compared} values compared)`];
  for (const q of r.hostQuirks) out.push(`  host: ${q}`);
  for (const a of r.agreements ?? []) out.push(`  agreed: ${a}`);
  if (!r.differences.length) {
    out.push('  no differences');
    return out.join('\n');
  }
  out.push(`  ${'step'.padEnd(5)}${'process'.padEnd(9)}${'op'.padEnd(19)}${'page'.padEnd(6)}${'field'.padEnd(20)}${'model'.padEnd(8)}${'native'.padEnd(8)}cause`);
  for (const d of r.differences)
    out.push(
      `  ${String(d.step).padEnd(5)}${d.process.padEnd(9)}${d.op.padEnd(19)}${(d.page === undefined ? '' : String(d.page)).padEnd(6)}${d.field.padEnd(20)}${show(d.model).padEnd(8)}${show(d.native).padEnd(8)}${d.cause}${d.note ? `  (${d.note})` : ''}`,
    );
  out.push(`  ${r.modelDifferences} model difference(s), ${r.differences.length - r.modelDifferences} explained by host quirks`);
  return out.join('\n');
}
