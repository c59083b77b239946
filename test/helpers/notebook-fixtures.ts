/**
 * Hand-built results for notebook and report tests: 2 kernel variants x 3 seeds of the seed
 * thread's scenario (write, uffd-wp protect, unprotect, inspect, write again), with byEvent cycles,
 * fault kinds, flushes, a dirty-page series and inspect rows. Numbers are made up but shaped like
 * the real thing: the hints variant trades wp faults for dirty pages.
 */
import type { Counters, InspectRow, ResultsJson, RunResult, StepResult } from '../../src/lab/types';

export function counters(p: Partial<Omit<Counters, 'faults'>> & { faults?: Record<string, number> } = {}): Counters {
  const byKind = p.faults ?? {};
  return {
    faults: { total: Object.values(byKind).reduce((s, v) => s + v, 0), byKind },
    tlb: p.tlb ?? { hits: 0, misses: 0, l1Hits: 0, stlbHits: 0 },
    walks: p.walks ?? 0,
    walkMemRefs: p.walkMemRefs ?? 0,
    aBitSets: p.aBitSets ?? 0,
    dBitSets: p.dBitSets ?? 0,
    tlbFlushes: p.tlbFlushes ?? 0,
    ipis: p.ipis ?? 0,
    dirtyPages: p.dirtyPages ?? 0,
    writebackPages: p.writebackPages ?? 0,
    swapOutPages: p.swapOutPages ?? 0,
    accesses: p.accesses ?? 0,
    violations: p.violations ?? {},
    events: p.events ?? {},
  };
}

function cycles(byEvent: Record<string, number>) {
  return { total: Object.values(byEvent).reduce((s, v) => s + v, 0), byEvent };
}

export function inspectRows(n: number, hints: boolean): InspectRow[] {
  return Array.from({ length: n }, (_, page) => {
    const present = page % 8 !== 7;
    const write = present && (hints ? page % 2 === 0 : page % 4 === 0);
    return {
      page,
      present,
      write,
      young: present && (hints || page % 3 === 0),
      dirty: write && hints,
      uffdWp: !write && page % 5 === 0,
      softDirty: false,
      exclusive: present,
      special: false,
      entry: present ? 'present' : page % 16 === 15 ? 'marker' : 'none',
    };
  });
}

function step(index: number, op: string, byEvent: Record<string, number>, c: Counters, extra: Partial<StepResult> = {}): StepResult {
  return { index, op, region: 'heap', cycles: cycles(byEvent), counters: c, ...extra };
}

export function makeRun(variant: string, seed: number, params: Record<string, string | number | boolean> = {}): RunResult {
  const hints = variant.includes('hints');
  const jitter = 1 + ((seed * 37) % 11) / 100; // seed-dependent noise, deterministic
  const scale = typeof params.pages === 'number' ? params.pages / 256 : 1;
  const wp = Math.round((hints ? 10 : 240) * jitter * scale);
  const dirty = Math.round((hints ? 256 : 64) * scale);
  const steps: StepResult[] = [
    step(0, 'mmap', { syscallMmap: 900 }, counters({})),
    step(
      1,
      'touch',
      { tlbL1Hit: 2000 * jitter * scale, tlbMiss: 9000 * scale, walk: 5000 * scale, 'fault.anonAlloc': 256 * 1200 * scale, pageZero: 256 * 700 * scale },
      counters({ faults: { anonAlloc: Math.round(256 * scale) }, accesses: 1000, dirtyPages: Math.round(256 * scale), tlbFlushes: 0 }),
      {
        series: [0, 250, 500, 750, 1000].map((a) => ({ accesses: a, cycles: a * 500, faults: a / 4, dirtyPages: Math.round((a / 1000) * 256 * scale), writebackPages: 0, tlbFlushes: 0 })),
      },
    ),
    step(2, 'uffd-writeprotect', { uffdIoctl: 3000, changePte: 256 * 40 * scale, tlbFlushRequest: 800, ipi: hints ? 2400 : 1200 }, counters({ tlbFlushes: 1, ipis: hints ? 2 : 1, dirtyPages: dirty })),
    step(3, 'inspect', {}, counters({ dirtyPages: dirty }), { inspect: inspectRows(64, hints) }),
    step(
      4,
      'touch',
      { tlbL1Hit: 3000 * jitter, dBitSet: (hints ? 5 : 200) * 550 * scale, 'fault.wpReuse': wp * 1500, 'fault.uffdWp': wp * 9000, writebackPage: (hints ? 256 : 64) * 3000 * scale },
      counters({ faults: { wpReuse: wp, uffdWp: wp }, accesses: 2000, dirtyPages: dirty, writebackPages: Math.round((hints ? 256 : 64) * scale), tlbFlushes: hints ? 1 : 3, ipis: hints ? 1 : 3 }),
      {
        series: [0, 500, 1000, 1500, 2000].map((a) => ({ accesses: a, cycles: a * 900, faults: wp * (a / 2000), dirtyPages: dirty, writebackPages: Math.round((a / 2000) * (hints ? 256 : 64) * scale), tlbFlushes: 1 })),
      },
    ),
  ];
  const totalEvents: Record<string, number> = {};
  for (const s of steps) for (const [k, v] of Object.entries(s.cycles.byEvent)) totalEvents[k] = (totalEvents[k] ?? 0) + v;
  const faults: Record<string, number> = {};
  for (const s of steps) for (const [k, v] of Object.entries(s.counters.faults.byKind)) faults[k] = (faults[k] ?? 0) + v;
  const sum = (f: (c: Counters) => number) => steps.reduce((acc, s) => acc + f(s.counters), 0);
  const paramText = Object.entries(params).map(([k, v]) => `|${k}=${v}`).join('');
  return {
    id: `${variant}|skylake-sp|seed=${seed}|r=0${paramText}`,
    name: 'uffd-wp unprotect, then write',
    variant,
    cpu: 'skylake-sp',
    seed,
    repeat: 0,
    params: { kernel: variant, ...params },
    steps,
    total: {
      cycles: cycles(totalEvents),
      counters: counters({ faults, accesses: sum((c) => c.accesses), dirtyPages: dirty, writebackPages: sum((c) => c.writebackPages), tlbFlushes: sum((c) => c.tlbFlushes), ipis: sum((c) => c.ipis) }),
    },
  };
}

export const VARIANTS = ['linux-6.18', 'rfc-2022-uffd-hints'];
export const SEEDS = [1, 2, 3];

/** 2 variants x 3 seeds. */
export function fixtureResults(): ResultsJson {
  return { ptlab: { version: '0.1.0' }, runs: VARIANTS.flatMap((v) => SEEDS.map((s) => makeRun(v, s))) };
}

/** 2 variants x 3 sizes x 2 seeds, swept over `pages`. */
export function sweepResults(): ResultsJson {
  return { ptlab: { version: '0.1.0' }, runs: VARIANTS.flatMap((v) => [256, 1024, 4096].flatMap((pages) => [1, 2].map((s) => makeRun(v, s, { pages })))) };
}

