/**
 * Runs one planned run of an experiment spec in the model: builds the machine (x86 MMU with the
 * CPU profile's TLB geometry) and the kernel variant, performs the steps, and prices every
 * step's events with the cost model. Deterministic: the same plan gives the same numbers, bit
 * for bit (all randomness comes from streams seeded by (seed, repeat, step index)).
 */
import { costTable, cycles as priceCycles, totalCycles, type CostTable } from '../cost/model';
import { regimeTable } from '../cost/regime';
import type { CpuProfile } from '../cost/profile';
import { HW_EVENTS, HW_VIOLATIONS, HwEv } from '../x86/events';
import { KERNEL_EVENTS, KERNEL_VIOLATIONS, KERNEL_FAULT_KINDS, KEv } from '../kernel/events';
import { KernelInvariantError } from '../kernel/invariants';
import { Kernel } from '../kernel/kernel';
import { MadviseError } from '../kernel/madvise';
import { CollapseError } from '../kernel/khugepaged';
import { PteTracer } from '../kernel/trace';
import { estimatePlan } from './estimate';
import type { Mm } from '../kernel/mm';
import { UffdError } from '../kernel/userfaultfd';
import { variantFromValue } from '../kernel/variant-value';
import { makeAccessStream } from '../workload/access-stream';
import { streamSeed } from '../workload/prng';
import { openTraceStream, traceFormat, TraceError } from '../workload/trace';
import * as path from 'node:path';
import { openPageTraceStep, TraceStepError } from './page-trace-step';
import type { AccessStream } from '../workload/types';
import type { RunPlan } from './compile';
import { sizeToPages } from './size';
import type { Resolved, Pages, ResolvedStep, ResolvedStepOf } from './spec';
import type { Counters, Cycles, InspectRow, RunResult, SeriesPoint, StepResult } from './types';

export type { RunPlan } from './compile';

export interface SimulateOptions {
  /** sample a SeriesPoint every N accesses inside touch steps (0 = never) */
  sampleEvery?: number;
  /** called now and then (every 65,536 accesses) with the accesses done in this run and the run's estimated total (src/lab/estimate.ts) */
  onProgress?: (done: number, total: number) => void;
  /** invariant breaches throw instead of being counted */
  strict?: boolean;
}

/** A step the model cannot perform as written (bad region, page out of range, missing feature). */
export class SimulationError extends Error {
  constructor(
    message: string,
    /** the step that failed, when the error came from the model (the kernel's own error in `cause`) */
    readonly step?: number,
    options?: { cause: Error },
  ) {
    super(message, options);
    this.name = 'SimulationError';
  }
}

const BATCH = 4096;

interface Region {
  start: number;
  pages: number;
}

class Run {
  readonly k: Kernel;
  readonly profile: CpuProfile;
  /** latency prices: steps without an access stream */
  readonly table: CostTable;
  /** the prices of the current step: its access regime's table for touch and trace steps */
  private stepTable: CostTable;
  private readonly hw0 = new Float64Array(HW_EVENTS.length);
  private readonly k0 = new Float64Array(KERNEL_EVENTS.length);
  private readonly hv0 = new Float64Array(HW_VIOLATIONS.length);
  private readonly kv0 = new Float64Array(KERNEL_VIOLATIONS.length);
  private readonly dHw = new Float64Array(HW_EVENTS.length);
  private readonly dK = new Float64Array(KERNEL_EVENTS.length);
  private readonly procCpu = new Map<string, number>([['main', 0]]);
  /** the per-PTE event trace while one is on (null otherwise: accesses go straight to the kernel) */
  private tracer: PteTracer | null = null;
  accesses = 0;
  /** accesses of the steps before this one, and the run's estimated total (progress) */
  private accessesBefore = 0;
  private readonly accessesTotal: number;
  private readonly page = new Float64Array(BATCH);
  private readonly write = new Uint8Array(BATCH);
  private readonly cpu = new Uint16Array(BATCH);

  constructor(
    readonly plan: RunPlan,
    readonly opts: SimulateOptions,
  ) {
    this.profile = plan.profile;
    this.accessesTotal = opts.onProgress ? estimatePlan(plan).accesses : 0;
    this.table = this.stepTable = costTable(plan.profile);
    const m = plan.machine;
    this.k = new Kernel({
      variant: variantFromValue(plan.kernel), cpus: m.cpus, geometry: plan.profile.tlb, strict: opts.strict, swap: m.swap,
      // INVLPGB: AMD since Zen 3 (every AMD profile here); KVM does not expose it to guests
      invlpgb: plan.profile.vendor === 'amd' && !plan.profile.virtualized,
      thp: { enabled: m.thp ?? 'madvise', useZeroPage: m.thpZeroPage ?? true, mthp: m.mthp ?? {} },
      khugepaged: m.khugepaged,
    });
  }

  mark(): void {
    this.hw0.set(this.k.mmu.counters);
    this.k0.set(this.k.counters);
    this.hv0.set(this.k.mmu.violations);
    this.kv0.set(this.k.violations);
    this.k.writebackThisStep = 0;
    this.accessesBefore += this.accesses;
    this.accesses = 0;
    this.stepTable = this.table;
  }

  private deltas(): void {
    const hw = this.k.mmu.counters, kc = this.k.counters;
    for (let i = 0; i < hw.length; i++) this.dHw[i] = hw[i] - this.hw0[i];
    for (let i = 0; i < kc.length; i++) this.dK[i] = kc[i] - this.k0[i];
  }

  cyclesSoFar(): number {
    this.deltas();
    return totalCycles(this.stepTable, this.dHw, this.dK);
  }

  /** Counters and cycles of the step since mark(). */
  measure(): { cycles: Cycles; counters: Counters } {
    this.deltas();
    const dHw = this.dHw, dK = this.dK;
    const byKind: Record<string, number> = {};
    for (const kind of KERNEL_FAULT_KINDS) {
      const n = dK[KEv[`fault.${kind}`]];
      if (n) byKind[kind] = n;
    }
    const events: Record<string, number> = {};
    HW_EVENTS.forEach((e, i) => dHw[i] && (events[e] = dHw[i]));
    KERNEL_EVENTS.forEach((e, i) => dK[i] && (events[e] = dK[i]));
    const violations: Record<string, number> = {};
    HW_VIOLATIONS.forEach((v, i) => (violations[v] = this.k.mmu.violations[i] - this.hv0[i]));
    KERNEL_VIOLATIONS.forEach((v, i) => (violations[v] = this.k.violations[i] - this.kv0[i]));
    const counters: Counters = {
      faults: { total: dHw[HwEv.pageFault], byKind },
      tlb: { hits: dHw[HwEv.tlbL1Hit] + dHw[HwEv.stlbHit], misses: dHw[HwEv.tlbMiss], l1Hits: dHw[HwEv.tlbL1Hit], stlbHits: dHw[HwEv.stlbHit] },
      walks: dHw[HwEv.walk],
      walkMemRefs: dHw[HwEv.walkMemRef],
      aBitSets: dHw[HwEv.aBitSet] + dHw[HwEv.adBitSet],
      dBitSets: dHw[HwEv.dBitSet] + dHw[HwEv.adBitSet],
      tlbFlushes: dK[KEv.tlbFlushRequest],
      ipis: dK[KEv.ipi] + dK[KEv.ipiExtraTarget],
      dirtyPages: this.k.dirtyPages(),
      writebackPages: this.k.writebackThisStep,
      swapOutPages: dK[KEv.swapOutPage],
      accesses: this.accesses,
      violations,
      events,
    };
    return { cycles: priceCycles(this.stepTable, dHw, dK), counters };
  }

  proc(step: ResolvedStep, where: string): Mm {
    const name = step.process ?? 'main';
    if (!this.k.procs.has(name)) throw new SimulationError(`${where}.process: no process "${name}" (known: ${[...this.k.procs.keys()].join(', ')}); create it with a fork step`);
    return this.k.process(name);
  }

  cpuOf(step: ResolvedStep): number {
    return this.procCpu.get(step.process ?? 'main') ?? 0;
  }

  region(mm: Mm, name: string, where: string): Region {
    const vmas = mm.regionVmas(name);
    if (vmas.length === 0) {
      throw new SimulationError(`${where}.region: no region "${name}" in process ${mm.name}; map it first with an mmap step`);
    }
    return { start: vmas[0].start, pages: vmas[vmas.length - 1].end - vmas[0].start };
  }

  /** How many pages a step's region and `pages` select (the `per: 'page'` divisor), if it names a region. */
  selectedPages(s: ResolvedStep, i: number): number | undefined {
    if (!('region' in s) || typeof s.region !== 'string') return undefined;
    const mm = this.k.procs.get(s.process ?? 'main');
    if (!mm || mm.regionVmas(s.region).length === 0) return undefined;
    const r = this.region(mm, s.region, `steps[${i}]`);
    const sel = 'pages' in s && typeof s.pages === 'object' ? (s.pages as Resolved<Pages>) : undefined;
    let n = 0;
    for (const [, c] of this.ranges(r, sel, `steps[${i}]`)) n += c;
    return n;
  }

  /** Contiguous [first, count] runs of the selected pages. */
  ranges(r: Region, pages: Resolved<Pages> | undefined, where: string): [number, number][] {
    if (pages === undefined) return [[0, r.pages]];
    if (!Array.isArray(pages)) {
      const p = pages;
      if (p.from + p.count > r.pages) throw new SimulationError(`${where}.pages: {from: ${p.from}, count: ${p.count}} goes past the region's ${r.pages} pages`);
      return [[p.from, p.count]];
    }
    const sorted = [...pages].sort((a, b) => a - b);
    const out: [number, number][] = [];
    for (const p of sorted) {
      if (p >= r.pages) throw new SimulationError(`${where}.pages: page ${p} is outside the region (${r.pages} pages)`);
      const last = out[out.length - 1];
      if (last && last[0] + last[1] === p) last[1]++;
      else if (!last || last[0] + last[1] < p) out.push([p, 1]);
    }
    return out;
  }

  /**
   * Start the per-PTE trace this step asks for (its own `trace`, or the run's): watch the pages
   * (those of regions mapped by now) and install the hooks. Returns whether a trace is on.
   */
  traceStart(s: ResolvedStep, i: number): boolean {
    const t = s.trace ?? this.plan.trace;
    if (!t) return false;
    const where = s.trace ? `steps[${i}].trace` : 'trace';
    const mm = this.proc(s, `steps[${i}]`);
    const name = t.region ?? ('region' in s && typeof s.region === 'string' ? s.region : undefined) ?? this.plan.steps.find((x): x is ResolvedStepOf<'mmap'> => x.op === 'mmap')?.region;
    // a region mapped later (or by this mmap) is watched from the next step on
    if (!name || mm.regionVmas(name).length === 0) return false;
    const r = this.region(mm, name, where);
    this.tracer ??= new PteTracer(this.k);
    for (const p of t.pages) {
      if (p >= r.pages) throw new SimulationError(`${where}.pages: page ${p} is outside region "${name}" (${r.pages} pages)`);
      this.tracer.watch(mm, r.start + p, p, name);
    }
    this.tracer.start();
    return true;
  }

  /** Stop the trace; returns the events since the last call. */
  traceStop(): StepResult['pteTrace'] {
    const t = this.tracer;
    if (!t) return [];
    t.stop();
    return t.events.splice(0);
  }

  /** Drive an access stream through the kernel; samples the time series. */
  drive(mm: Mm, r: Region, stream: AccessStream, series: SeriesPoint[] | undefined, every: number): void {
    const { k, page, write, cpu } = this;
    const tracer = this.tracer !== null && this.tracer.watching ? this.tracer : null;
    const total = stream.total;
    let done = 0;
    let nextSample = every > 0 ? every : Infinity;
    let nextProgress = 1 << 16;
    try {
      for (let n = stream.fill(page, write, cpu); n > 0; n = stream.fill(page, write, cpu)) {
        for (let i = 0; i < n; i++) {
          if (tracer === null) k.access(mm, cpu[i], r.start + page[i], write[i]);
          else tracer.access(mm, cpu[i], r.start + page[i], write[i]);
          if (++done >= nextSample) {
            nextSample += every;
            this.accesses = done;
            series!.push(this.sample());
          }
        }
        this.accesses = done;
        if (done >= nextProgress && this.opts.onProgress) {
          nextProgress = done + (1 << 16);
          this.opts.onProgress(this.accessesBefore + done, Math.max(this.accessesTotal, this.accessesBefore + total));
        }
      }
    } finally {
      stream.close();
    }
    this.accesses = done;
  }

  private sample(): SeriesPoint {
    this.deltas();
    return {
      accesses: this.accesses,
      cycles: totalCycles(this.stepTable, this.dHw, this.dK),
      faults: this.dHw[HwEv.pageFault],
      dirtyPages: this.k.dirtyPages(),
      writebackPages: this.k.writebackThisStep,
      tlbFlushes: this.dK[KEv.tlbFlushRequest],
    };
  }

  step(s: ResolvedStep, i: number): Partial<StepResult> {
    const k = this.k;
    const where = `steps[${i}]`;
    const mm = this.proc(s, where);
    const cpu = this.cpuOf(s);
    const out: Partial<StepResult> = {};
    switch (s.op) {
      case 'mmap': {
        const pages = sizeToPages(s.size);
        if (mm.regionVmas(s.region).length > 0) throw new SimulationError(`${where}.region: "${s.region}" is already mapped in process ${mm.name}`);
        const vma = k.mmap(mm, { region: s.region, pages, kind: s.kind ?? 'anon-private', prot: s.prot ?? 'rw', fs: s.fs ?? 'mkwrite', vmaPerPage: this.plan.vmaPerPage?.includes(s.region) });
        if (s.thp) k.madvise(mm, cpu, vma.start, pages, s.thp);
        break;
      }
      case 'munmap':
        this.region(mm, s.region, where);
        k.munmap(mm, s.region, cpu);
        break;
      case 'touch':
      case 'trace': {
        let r: Region;
        let stream: AccessStream;
        let footprint: number;
        if (s.op === 'trace' && traceFormat(s) === 'ptt') {
          // page trace: the stream yields absolute model pages (src/lab/page-trace-step.ts)
          r = { start: 0, pages: Infinity };
          try {
            const pts = openPageTraceStep(k, mm, s, path.resolve(this.plan.baseDir ?? process.cwd(), s.file), where, (name) => (mm.regionVmas(name).length > 0 ? this.region(mm, name, where) : null));
            stream = pts;
            footprint = pts.footprintPages;
          } catch (e) {
            if (e instanceof TraceStepError) throw new SimulationError(e.message);
            throw e;
          }
        } else {
          r = this.region(mm, s.region ?? '', where);
          // The footprint is the region's pages even when the step selects some of them: the
          // selected pages lie spread over the region, so their data lines and leaf PTE lines are
          // where the region's last pass left them. Measured on the Zen 3 guest (docs/cost-model.md,
          // "The seed's write pass"): 1024 random writes into a 16 MiB region after MADV_FREE pay
          // an A+D drain at DRAM distance (~440 cycles over A=D=1), not at the 4 MiB of the pages
          // they select (which would fit the effective LLC); with the lines cached, ~140.
          footprint = r.pages;
          const seed = streamSeed(this.plan.seed, this.plan.repeat, i);
          stream = s.op === 'touch'
            ? makeAccessStream(s, { pages: r.pages, seed, cpus: k.cpus })
            : openTraceStream(s, { pages: r.pages, cpus: k.cpus, baseDir: this.plan.baseDir });
        }
        this.stepTable = regimeTable(this.profile, {
          dependence: s.dependence ?? 'independent',
          footprintPages: footprint,
          // address order (a range or the whole region, pattern sequential): neighbours share leaf lines
          sequential: s.op === 'touch' && (s.pattern ?? 'sequential') === 'sequential' && !Array.isArray(s.pages),
        });
        const every = this.opts.sampleEvery ?? this.plan.sampleEvery ?? 0;
        const series: SeriesPoint[] | undefined = every > 0 ? [] : undefined;
        this.drive(mm, r, stream, series, every);
        if (series) out.series = series;
        break;
      }
      case 'mprotect': {
        const r = this.region(mm, s.region, where);
        for (const [from, n] of this.ranges(r, s.pages, where)) k.mprotect(mm, cpu, r.start + from, n, s.prot);
        break;
      }
      case 'madvise': {
        const r = this.region(mm, s.region, where);
        for (const [from, n] of this.ranges(r, s.pages, where)) {
          try {
            k.madvise(mm, cpu, r.start + from, n, s.advice);
          } catch (e) {
            // a failed MADV_COLLAPSE is the call's result, not the end of the run
            if (!(e instanceof CollapseError)) throw e;
            out.errno ??= e.errno;
            (out.notes ??= []).push(e.message);
          }
        }
        break;
      }
      case 'fork': {
        const child = k.fork(mm, s.child, cpu);
        // the child's thread runs on the next CPU (wrapping), so parent and child run side by side
        this.procCpu.set(child.name, (cpu + 1) % k.cpus);
        break;
      }
      case 'uffd-register': {
        const r = this.region(mm, s.region, where);
        k.uffdRegister(mm, r.start, r.pages, s.modes, s.features ?? [], s.handler ?? {});
        break;
      }
      case 'uffd-writeprotect': {
        const r = this.region(mm, s.region, where);
        for (const [from, n] of this.ranges(r, s.pages, where)) {
          k.uffdWriteprotect(mm, cpu, r.start + from, n, s.wp, s.hints ?? []);
        }
        break;
      }
      case 'uffd-copy':
      case 'uffd-zeropage': {
        const r = this.region(mm, s.region, where);
        for (const [from, n] of this.ranges(r, s.pages, where)) {
          if (s.op === 'uffd-copy') k.uffdCopy(mm, r.start + from, n, s.wp ?? false);
          else k.uffdZeropage(mm, r.start + from, n);
        }
        break;
      }
      case 'reclaim':
        k.reclaim(s.pages ?? 'all', cpu);
        break;
      case 'writeback':
        if (s.region) this.region(mm, s.region, where);
        k.writeback(cpu, s.region ? mm : undefined, s.region);
        break;
      case 'migrate': {
        const r = this.region(mm, s.region, where);
        for (const [from, n] of this.ranges(r, s.pages, where)) k.migrate(mm, cpu, r.start + from, n);
        break;
      }
      case 'clear-refs':
        k.clearRefs(mm, cpu, s.mode);
        break;
      case 'khugepaged':
        k.khugepagedScan(cpu);
        break;
      case 'idle': {
        const c = s.cpu;
        if (c >= k.cpus) throw new SimulationError(`${where}.cpu: CPU ${c} does not exist (machine.cpus is ${k.cpus})`);
        k.idle(c);
        break;
      }
      case 'inspect': {
        const r = this.region(mm, s.region, where);
        const rows: InspectRow[] = [];
        for (const [from, n] of this.ranges(r, s.pages, where)) {
          for (let p = from; p < from + n; p++) {
            const { pfn, ...state } = k.inspect(mm, r.start + p);
            void pfn; // physical frames are the model's business, not part of the result
            rows.push({ page: p, ...state });
          }
        }
        out.inspect = rows;
        break;
      }
      case 'pagemap-scan': {
        const r = this.region(mm, s.region, where);
        const found: number[] = [];
        for (const [from, n] of this.ranges(r, s.pages, where)) {
          if (s.mode === 'written') {
            for (const p of k.pagemapScan(mm, cpu, r.start + from, n, s.clear ?? false)) found.push(from + p);
          } else {
            for (let p = from; p < from + n; p++) if (k.inspect(mm, r.start + p).softDirty) found.push(p);
          }
        }
        out.scan = found;
        break;
      }
    }
    return out;
  }
}

function addCounters(a: Counters, b: Counters): void {
  a.faults.total += b.faults.total;
  for (const [kk, v] of Object.entries(b.faults.byKind)) a.faults.byKind[kk] = (a.faults.byKind[kk] ?? 0) + v;
  a.tlb.hits += b.tlb.hits;
  a.tlb.misses += b.tlb.misses;
  a.tlb.l1Hits += b.tlb.l1Hits;
  a.tlb.stlbHits += b.tlb.stlbHits;
  a.walks += b.walks;
  a.walkMemRefs += b.walkMemRefs;
  a.aBitSets += b.aBitSets;
  a.dBitSets += b.dBitSets;
  a.tlbFlushes += b.tlbFlushes;
  a.ipis += b.ipis;
  a.dirtyPages = b.dirtyPages;
  a.writebackPages += b.writebackPages;
  a.swapOutPages += b.swapOutPages;
  a.accesses += b.accesses;
  for (const [kk, v] of Object.entries(b.violations)) a.violations[kk] = (a.violations[kk] ?? 0) + v;
  for (const [kk, v] of Object.entries(b.events)) a.events[kk] = (a.events[kk] ?? 0) + v;
}

function addCycles(a: Cycles, b: Cycles): void {
  for (const [kk, v] of Object.entries(b.byEvent)) a.byEvent[kk] = (a.byEvent[kk] ?? 0) + v;
  a.total = Object.values(a.byEvent).reduce((x, y) => x + y, 0);
}

/** Counters with every count 0 (a step before it counts anything). */
export function emptyCounters(): Counters {
  return {
    faults: { total: 0, byKind: {} }, tlb: { hits: 0, misses: 0, l1Hits: 0, stlbHits: 0 }, walks: 0, walkMemRefs: 0, aBitSets: 0,
    dBitSets: 0, tlbFlushes: 0, ipis: 0, dirtyPages: 0, writebackPages: 0, swapOutPages: 0, accesses: 0, violations: {}, events: {},
  };
}

/** Errors the kernel model and the workload raise for a step the run asks for (typed where they are thrown). */
function isStepError(e: unknown): e is Error {
  return e instanceof KernelInvariantError || e instanceof UffdError || e instanceof MadviseError || e instanceof CollapseError || e instanceof TraceError;
}

export function simulateRun(plan: RunPlan, opts: SimulateOptions = {}): RunResult {
  const run = new Run(plan, opts);
  const steps: StepResult[] = [];
  const total = { cycles: { total: 0, byEvent: {} } as Cycles, counters: emptyCounters() };
  plan.steps.forEach((s, i) => {
    run.mark();
    let extra: Partial<StepResult>;
    try {
      const tracing = run.traceStart(s, i);
      extra = run.step(s, i);
      if (tracing) extra.pteTrace = run.traceStop();
      else if (s.trace ?? plan.trace) run.traceStop();
    } catch (e) {
      if (isStepError(e)) throw new SimulationError(`steps[${i}] (${s.op}): ${e.message}`, i, { cause: e });
      throw e;
    }
    const m = run.measure();
    const st: StepResult = { index: i, op: s.op, cycles: m.cycles, counters: m.counters, ...extra };
    if ('region' in s && s.region) st.region = s.region;
    if (s.process) st.process = s.process;
    if (s.label) st.label = s.label;
    const pages = run.selectedPages(s, i);
    if (pages !== undefined) st.pages = pages;
    steps.push(st);
    addCounters(total.counters, m.counters);
    addCycles(total.cycles, m.cycles);
  });
  return { id: plan.id, name: plan.name, variant: plan.variant, cpu: plan.cpu, seed: plan.seed, repeat: plan.repeat, params: plan.params, steps, total, source: 'model' };
}
