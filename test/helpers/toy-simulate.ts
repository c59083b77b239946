/**
 * A toy stand-in for simulateRun — NOT a model of Linux or x86. It exists so the runner, worker
 * pool, CLI, sharding, resume and Slurm paths can be tested deterministically and quickly without
 * the real simulator: it drives the real access streams (src/workload) and counts first-touch
 * faults, writes and dirty pages with made-up prices. Select it with the runner option
 * `simulateModule: require.resolve('./helpers/toy-simulate')`, or, for a `ptlab` child process,
 * with `toyCliEnv()` (./toy-cli), which preloads it in place of the simulator.
 */
import { makeAccessStream } from '../../src/workload/access-stream';
import { streamSeed } from '../../src/workload/prng';
import { openTraceStream, traceFormat } from '../../src/workload/trace';
import type { AccessStream } from '../../src/workload/types';
import type { RunPlan } from '../../src/lab/compile';
import type { SimulateOptions } from '../../src/lab/simulate';
import { sizeToPages } from '../../src/lab/size';
import type { Counters, Cycles, RunResult, SeriesPoint, StepResult } from '../../src/lab/types';

const PRICE = { access: 1, fault: 1200, write: 2 };

function emptyCounters(): Counters {
  return {
    faults: { total: 0, byKind: {} },
    tlb: { hits: 0, misses: 0, l1Hits: 0, stlbHits: 0 },
    walks: 0,
    walkMemRefs: 0,
    aBitSets: 0,
    dBitSets: 0,
    tlbFlushes: 0,
    ipis: 0,
    dirtyPages: 0,
    writebackPages: 0,
    swapOutPages: 0,
    accesses: 0,
    violations: {},
    events: {},
  };
}

export function simulateRun(plan: RunPlan, opts: SimulateOptions = {}): RunResult {
  const regions = new Map<string, Uint8Array>(); // 0 none, 1 clean, 2 dirty
  const steps: StepResult[] = [];
  const total = emptyCounters();
  let totalCycles = 0;
  const page = new Float64Array(1024);
  const write = new Uint8Array(1024);
  const cpu = new Uint16Array(1024);
  const sampleEvery = opts.sampleEvery ?? plan.sampleEvery ?? 0;
  plan.steps.forEach((s, i) => {
    const c = emptyCounters();
    let cycles = 0;
    let series: SeriesPoint[] | undefined;
    if (s.op === 'mmap') regions.set(s.region, new Uint8Array(sizeToPages(s.size)));
    else if (s.op === 'munmap') regions.delete(s.region);
    else if (s.op === 'touch' || s.op === 'trace') {
      if (s.op === 'trace' && traceFormat(s) === 'ptt') throw new Error('toy-simulate: page traces (.ptt) run only in the model (simulateRun)');
      const st = regions.get(s.region ?? '') as Uint8Array;
      const opt = { pages: st.length, seed: streamSeed(plan.seed, plan.repeat, i), cpus: plan.machine.cpus };
      const stream: AccessStream = s.op === 'touch' ? makeAccessStream(s, opt) : openTraceStream(s, opt);
      if (sampleEvery > 0) series = [];
      let n: number;
      while ((n = stream.fill(page, write, cpu)) > 0) {
        for (let k = 0; k < n; k++) {
          const p = page[k];
          c.accesses++;
          cycles += PRICE.access;
          if (st[p] === 0 || (write[k] === 1 && st[p] === 1)) {
            c.faults.total++;
            const kind = st[p] === 0 ? (write[k] ? 'anonAlloc' : 'anonZeroPage') : 'wpReuse';
            c.faults.byKind[kind] = (c.faults.byKind[kind] ?? 0) + 1;
            cycles += PRICE.fault;
          }
          if (write[k] === 1) {
            st[p] = 2;
            cycles += PRICE.write;
          } else if (st[p] === 0) st[p] = 1;
          if (series && c.accesses % sampleEvery === 0)
            series.push({ accesses: c.accesses, cycles, faults: c.faults.total, dirtyPages: countDirty(regions), writebackPages: 0, tlbFlushes: 0 });
        }
        opts.onProgress?.(c.accesses, stream.total);
      }
      stream.close();
    } else if (s.op === 'writeback') {
      for (const [name, st] of regions) {
        if (s.region !== undefined && name !== s.region) continue;
        for (let p = 0; p < st.length; p++) if (st[p] === 2) {
          st[p] = 1;
          c.writebackPages++;
        }
      }
    }
    c.dirtyPages = countDirty(regions);
    const cy: Cycles = { total: cycles, byEvent: { toy: cycles } };
    const step: StepResult = { index: i, op: s.op, cycles: cy, counters: c };
    if ('region' in s && s.region !== undefined) step.region = s.region;
    if (series) step.series = series;
    if (s.op === 'inspect') {
      const st = regions.get(s.region) as Uint8Array;
      const sel = Array.isArray(s.pages) ? s.pages : Array.from({ length: Math.min(st.length, 8) }, (_, k) => k);
      step.inspect = sel.map((p: number) => ({ page: p, present: st[p] > 0, write: st[p] === 2, young: st[p] > 0, dirty: st[p] === 2, uffdWp: false, softDirty: false, exclusive: st[p] > 0, special: false }));
    }
    steps.push(step);
    totalCycles += cycles;
    total.accesses += c.accesses;
    total.faults.total += c.faults.total;
    for (const [k, v] of Object.entries(c.faults.byKind)) total.faults.byKind[k] = (total.faults.byKind[k] ?? 0) + v;
    total.writebackPages += c.writebackPages;
  });
  total.dirtyPages = countDirty(regions);
  return {
    id: plan.id,
    name: plan.name,
    variant: plan.variant,
    cpu: plan.cpu,
    seed: plan.seed,
    repeat: plan.repeat,
    params: plan.params,
    steps,
    total: { cycles: { total: totalCycles, byEvent: { toy: totalCycles } }, counters: total },
  };
}

function countDirty(regions: Map<string, Uint8Array>): number {
  let n = 0;
  for (const st of regions.values()) for (let p = 0; p < st.length; p++) if (st[p] === 2) n++;
  return n;
}
