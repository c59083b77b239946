/**
 * THP prices from the probe's THP measurements (src/cost/calibrate-thp.ts): the derivation from a
 * fixture measurement, and each path's list of subtracted events against what the kernel model
 * counts for the same operations.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import { buildProbe, runProbe } from '../src/cost/probe-runner';
import { probeSkipReason, probeStat, withTempProbeCache } from './helpers/probe-host';
import type { ProbeOutput, ProbeResult } from '../src/cost/probe-runner';
import { deriveHostProfile, parseCpuinfo } from '../src/cost/calibrate';
import { THP_COW_PATH, THP_PATHS, thpFaultBenches, type ThpPath } from '../src/cost/calibrate-thp';
import { calibrateHost } from '../src/cli/host-calibration';
import { compile } from '../src/lab/compile';
import { simulateRun } from '../src/lab/simulate';
import { registerProfile } from '../src/cost/registry';
import type { CpuProfile } from '../src/cost/profile';
import { getProfile } from '../src/cost';
import { virtualize } from '../src/cost/virtualize';
import type { CostEvent } from '../src/cost/cost-events';
import { Kernel } from '../src/kernel/kernel';
import { KERNEL_EVENTS, KEv } from '../src/kernel/events';
import { HwEv } from '../src/x86/events';

const stat = (name: string, median: number, unit: ProbeResult['unit'] = 'fault'): ProbeResult => probeStat(name, median, unit, { n: 14, spreadPct: 10 });

/** the numbers of a run on the development host (Zen 3 KVM guest, 6.18), rounded */
const FIXTURE: ProbeResult[] = [
  stat('syscall', 490, 'call'),
  stat('wp_copy_fault', 8000),
  stat('thp_fault', 395000),
  stat('thp_clear_user', 335000, 'page'),
  stat('thp_zero_read_fault', 5000),
  stat('thp_zero_wp_fault', 392000),
  stat('thp_cow_fault', 32600),
  stat('thp_split_mprotect', 49300, 'call'),
  stat('thp_split_base', 16200, 'call'),
  stat('thp_collapse', 1400000, 'call'),
  stat('thp_copy_user', 552000, 'page'),
  stat('thp_wp_reuse_fault', 2800),
  stat('thp_mprotect_whole', 18700, 'call'),
  stat('thp_zap', 230000, 'call'),
  stat('thp_fork', 448000, 'call'),
  stat('thp_fork_base', 201000, 'call'),
  stat('thp_free_partial', 1168000, 'call'),
  stat('thp_free_base', 7800, 'call'),
];

const probe = (results: ProbeResult[]): ProbeOutput => ({ probe: 2, fast: false, reps: 7, tscGHz: 2.445, results });
const zen3Guest = (kernel: string) => parseCpuinfo('vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\nmodel name : Test EPYC\nflags : fpu hypervisor\n', kernel);

test('THP prices from a fixture measurement: each is its measurement minus the other events of its path, measured and attributed', () => {
  const cal = deriveHostProfile(probe(FIXTURE), zen3Guest('6.18.44'), '2026-12-07');
  const base = virtualize(getProfile('zen3')).costs;
  const c = cal.profile.costs;
  const pf = c.pageFault.cycles;
  assert.equal(pf, 490);
  // the user-space stand-ins are the zeroing and the copy
  assert.equal(c.thpZero.cycles, 335000);
  assert.equal(c.thpCopy.cycles, 552000);
  assert.equal(c.thpZero.regime, THP_PATHS.find((p) => p.target === 'thpZero')!.regime);
  // the fault subtracts the entry/exit, the allocation (base) and the measured zeroing
  assert.equal(c['fault.hugeAnonAlloc'].cycles, 395000 - 490 - base.thpAlloc.cycles - 335000);
  assert.equal(c['fault.hugeZeroPage'].cycles, 5000 - 490);
  assert.equal(c['fault.hugeZeroWpAlloc'].cycles, 392000 - 490 - base.thpAlloc.cycles - 335000 - base.tlbFlushRequest.cycles - base.invlpg.cycles);
  // the split: the mprotect inside a THP minus the same call inside 4 KiB pages, minus the 2 MiB flush
  assert.equal(c.splitHugePmd.cycles, 49300 - 16200 - base.tlbFlushRequest.cycles - base.invlpg.cycles);
  assert.equal(c.collapseHugePage.cycles, 1400000 - base.syscallMadvise.cycles - base.thpAlloc.cycles - 552000 - base.tlbFlushRequest.cycles - base.flushPcid.cycles);
  // calls over several PMDs are priced per PMD
  assert.equal(c['fault.hugeWpReuse'].cycles, 2800 - 490);
  assert.equal(c.changeHugePmd.cycles, Math.round((18700 - c.syscallMprotect.cycles - base.tlbFlushRequest.cycles - 16 * base.invlpg.cycles) / 16));
  assert.equal(c.zapHugePmd.cycles, Math.round((230000 - base.syscallMadvise.cycles - base.tlbFlushRequest.cycles - 16 * base.invlpg.cycles) / 16));
  assert.equal(c.copyHugePmd.cycles, Math.round((448000 - 201000) / 64));
  // the folio split: the partial MADV_FREE difference minus the PMD split (this calibration's) and its flush
  assert.equal(c.splitHugePage.cycles, 1168000 - 7800 - c.splitHugePmd.cycles - base.tlbFlushRequest.cycles - base.invlpg.cycles);
  for (const ev of ['thpZero', 'thpCopy', 'fault.hugeAnonAlloc', 'fault.hugeZeroPage', 'fault.hugeZeroWpAlloc', 'splitHugePmd', 'collapseHugePage', 'fault.hugeWpReuse', 'changeHugePmd', 'zapHugePmd', 'copyHugePmd', 'splitHugePage'] as const) {
    assert.equal(c[ev].kind, 'measured', ev);
    assert.match(c[ev].source, /^measured: ptlab calibrate 2026-12-07, Test EPYC \(VM guest\), kernel 6\.18\.44/, ev);
    assert.equal(c[ev].samples, 14, ev);
    assert.equal(c[ev].spreadPct, 10, ev);
    // what --save writes
    assert.equal(cal.definition.costs[ev].cycles, c[ev].cycles, ev);
    const row = cal.rows.find((r) => r.event === ev)!;
    assert.equal(row.status, 'measured', ev);
  }
  // the fork CoW path is a cross-check in the split's note, not a second price
  const cow = 32600 - 490 - c['fault.wpCopy'].cycles - base.pageAlloc.cycles - base.pageCopy.cycles - 2 * (base.tlbFlushRequest.cycles + base.invlpg.cycles);
  assert.match(c.splitHugePmd.note!, new RegExp(`cross-check.*= ${Math.round(cow)}`));
  // a THP price the host did not measure is the base's, estimate as before
  assert.equal(c.thpAlloc.cycles, base.thpAlloc.cycles);
  assert.equal(c.thpAlloc.kind, 'estimate');
});

test('THP paths a kernel does not take or a host could not measure keep the base price and say why', () => {
  const results = FIXTURE.filter((r) => r.name !== 'thp_split_mprotect').concat([
    { name: 'thp_split_mprotect', what: 'x', error: 'the writes mapped 0 kB of AnonHugePages, not 16384: THP allocation fell back to 4 KiB pages' },
  ]);
  const cal = deriveHostProfile(probe(results), zen3Guest('6.0.1'), '2026-12-07');
  const base = virtualize(getProfile('zen3')).costs;
  const row = (ev: CostEvent) => cal.rows.find((r) => r.event === ev)!;
  assert.equal(row('splitHugePmd').status, 'kept');
  assert.match(row('splitHugePmd').how, /fell back to 4 KiB pages/);
  assert.equal(cal.profile.costs.splitHugePmd.cycles, base.splitHugePmd.cycles);
  // 6.0: no do_huge_zero_wp_pmd (6.13) and no MADV_COLLAPSE (6.1)
  assert.equal(row('fault.hugeZeroWpAlloc').status, 'kept');
  assert.match(row('fault.hugeZeroWpAlloc').how, /before 6\.13/);
  assert.equal(row('collapseHugePage').status, 'kept');
  assert.match(row('collapseHugePage').how, /6\.1/);
  assert.equal(cal.profile.costs.collapseHugePage.kind, 'estimate');
  // the rest is measured on 6.0 as on 6.18
  assert.equal(row('fault.hugeAnonAlloc').status, 'measured');
  // a whole-THP run that was not resolved (measurement below its terms) keeps the base too
  const low = deriveHostProfile(probe(FIXTURE.map((r) => (r.name === 'thp_zero_read_fault' ? stat('thp_zero_read_fault', 300) : r))), zen3Guest('6.18.44'), '2026-12-07');
  const z = low.rows.find((r) => r.event === 'fault.hugeZeroPage')!;
  assert.equal(z.status, 'kept');
  assert.match(z.how, /not resolved/);
});

function lastStepPerFault(profile: CpuProfile, steps: Record<string, unknown>[], faults: number): number {
  const cpu = registerProfile({ ...profile.definition, name: 'test-thp-reconcile' }).name;
  const [plan] = compile({ name: 't', seed: 1, machine: { cpu, cpus: 1 }, kernel: 'linux-6.18', steps }, { source: 'test' });
  const run = simulateRun(plan);
  return run.steps[run.steps.length - 1].cycles.total / faults;
}

test('THP fault prices are reconciled with the model run of their own probe pass: the model then predicts each measurement', () => {
  const out = probe(FIXTURE);
  const derived = deriveHostProfile(out, zen3Guest('6.18.44'), '2026-12-07');
  const cal = calibrateHost(out, zen3Guest('6.18.44'), '2026-12-07', true, 'linux-6.18');
  for (const bench of thpFaultBenches()) {
    const measured = FIXTURE.find((r) => r.name === bench.probe)!.median!;
    const before = lastStepPerFault(derived.profile, bench.steps, bench.pages);
    const after = lastStepPerFault(cal.profile, bench.steps, bench.pages);
    // the listed terms leave the walks and the #PF drain in the price, which the model adds again
    assert.ok(before > measured + 50, `${bench.event}: before ${before.toFixed(0)} vs measured ${measured}`);
    assert.ok(Math.abs(after - measured) < 1, `${bench.event}: model ${after.toFixed(1)} vs measured ${measured}`);
    const entry = cal.definition.costs[bench.event];
    assert.equal(entry.kind, 'measured');
    assert.ok(entry.cycles < derived.definition.costs[bench.event].cycles, bench.event);
  }
});

/** Counter deltas of `op` on the kernel model: every kernel event, and the hardware events a path's terms may name. */
function counted(k: Kernel, op: () => void): Map<string, number> {
  const hw = ['pageFault', 'invlpg', 'flushPcid', 'flushAll'] as const;
  const k0 = Array.from(k.counters), h0 = hw.map((e) => k.mmu.counters[HwEv[e]]);
  op();
  const out = new Map<string, number>();
  KERNEL_EVENTS.forEach((e, i) => {
    const d = k.counters[KEv[e]] - k0[i];
    if (d) out.set(e, d);
  });
  hw.forEach((e, i) => {
    const d = k.mmu.counters[HwEv[e]] - h0[i];
    if (d) out.set(e, d);
  });
  return out;
}

function minus(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map(a);
  for (const [e, n] of b) {
    const d = (out.get(e) ?? 0) - n;
    if (d) out.set(e, d);
    else out.delete(e);
  }
  return out;
}

function newKernel(): Kernel {
  return new Kernel({ variant: 'linux-6.18', cpus: 2, strict: true, thp: { enabled: 'madvise', useZeroPage: true } });
}

/** a 2 MiB-aligned range like the probe's, with `advice` */
function range(k: Kernel, advice: 'hugepage' | 'nohugepage') {
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: 512, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, 512, advice);
  return { mm, s: vma.start };
}

/** `n` written THPs of one MADV_HUGEPAGE region */
function thps(n: number) {
  const k = newKernel();
  const mm = k.process('main');
  const vma = k.mmap(mm, { region: 'h', pages: n * 512, kind: 'anon-private' });
  k.madvise(mm, 0, vma.start, n * 512, 'hugepage');
  for (let i = 0; i < n; i++) k.access(mm, 0, vma.start + i * 512, 1);
  return { k, mm, s: vma.start };
}

/** The probe's operations for each path on the kernel model (linux-6.18), as counter deltas. */
const MODEL_OPS: Record<string, () => Map<string, number>> = {
  thp_fault: () => {
    const k = newKernel();
    const { mm, s } = range(k, 'hugepage');
    return counted(k, () => k.access(mm, 0, s, 1));
  },
  thp_zero_read_fault: () => {
    const k = newKernel();
    const { mm, s } = range(k, 'hugepage');
    return counted(k, () => k.access(mm, 0, s, 0));
  },
  thp_zero_wp_fault: () => {
    const k = newKernel();
    const { mm, s } = range(k, 'hugepage');
    k.access(mm, 0, s, 0);
    return counted(k, () => k.access(mm, 0, s, 1));
  },
  thp_split_mprotect: () => {
    const thp = newKernel();
    const h = range(thp, 'hugepage');
    thp.access(h.mm, 0, h.s, 1);
    const withThp = counted(thp, () => thp.mprotect(h.mm, 0, h.s + 256, 1, 'r'));
    const k = newKernel();
    const b = range(k, 'nohugepage');
    for (let i = 0; i < 512; i++) k.access(b.mm, 0, b.s + i, 1);
    return minus(withThp, counted(k, () => k.mprotect(b.mm, 0, b.s + 256, 1, 'r')));
  },
  thp_free_partial: () => {
    const thp = newKernel();
    const h = range(thp, 'hugepage');
    // every page written, as the probe does: a split maps zero-filled subpages to the zero page (6.12+)
    for (let i = 0; i < 512; i++) thp.access(h.mm, 0, h.s + i, 1);
    const withThp = counted(thp, () => thp.madvise(h.mm, 0, h.s + 256, 1, 'free'));
    const k = newKernel();
    const b = range(k, 'nohugepage');
    for (let i = 0; i < 512; i++) k.access(b.mm, 0, b.s + i, 1);
    return minus(withThp, counted(k, () => k.madvise(b.mm, 0, b.s + 256, 1, 'free')));
  },
  thp_collapse: () => {
    const k = newKernel();
    const { mm, s } = range(k, 'nohugepage');
    for (let i = 0; i < 512; i++) k.access(mm, 0, s + i, 1);
    k.madvise(mm, 0, s, 512, 'hugepage');
    return counted(k, () => k.madvise(mm, 0, s, 512, 'collapse'));
  },
  thp_wp_reuse_fault: () => {
    const k = newKernel();
    const { mm, s } = range(k, 'hugepage');
    k.access(mm, 0, s, 1);
    const child = k.fork(mm, 'child', 0);
    k.munmap(child, 'h', 0); // the child's exit
    k.runOn(mm, 0);
    return counted(k, () => k.access(mm, 0, s + 7, 1));
  },
  thp_mprotect_whole: () => {
    const { k, mm, s } = thps(16);
    return counted(k, () => k.mprotect(mm, 0, s, 16 * 512, 'r'));
  },
  thp_zap: () => {
    const { k, mm, s } = thps(16);
    return counted(k, () => k.madvise(mm, 0, s, 16 * 512, 'dontneed'));
  },
  thp_fork: () => {
    // the probe has written 4 KiB pages of its own either way, so both forks write-protect and flush
    const small = (k: Kernel, mm: ReturnType<Kernel['process']>) => {
      const vma = k.mmap(mm, { region: 'small', pages: 64, kind: 'anon-private' });
      k.madvise(mm, 0, vma.start, 64, 'nohugepage');
      for (let i = 0; i < 64; i++) k.access(mm, 0, vma.start + i, 1);
    };
    const withThp = thps(64);
    small(withThp.k, withThp.mm);
    const forked = counted(withThp.k, () => withThp.k.fork(withThp.mm, 'child', 0));
    const k = newKernel();
    small(k, k.process('main'));
    return minus(forked, counted(k, () => k.fork(k.process('main'), 'child', 0)));
  },
  thp_cow_fault: () => {
    const k = newKernel();
    const { mm, s } = range(k, 'hugepage');
    k.access(mm, 0, s, 1);
    k.fork(mm, 'child', 0);
    return counted(k, () => k.access(mm, 0, s + 7, 1));
  },
};

for (const p of [...THP_PATHS, THP_COW_PATH] as ThpPath[]) {
  if (!MODEL_OPS[p.probe]) continue; // user-space stand-ins: no kernel path
  test(`THP path ${p.probe}: the events subtracted from it are the ones the kernel model counts there (linux-6.18), plus one ${p.target}`, () => {
    const want = new Map<string, number>(Object.entries(p.terms) as [string, number][]);
    want.set(p.target, (want.get(p.target) ?? 0) + (p.per ?? 1));
    const got = MODEL_OPS[p.probe]();
    assert.deepEqual(Object.fromEntries([...got].sort()), Object.fromEntries([...want].sort()));
  });
}

const THP_MEASUREMENTS = ['thp_fault', 'thp_clear_user', 'thp_zero_read_fault', 'thp_zero_wp_fault', 'thp_cow_fault', 'thp_split_mprotect', 'thp_split_base', 'thp_collapse', 'thp_copy_user', 'thp_wp_reuse_fault', 'thp_mprotect_whole', 'thp_zap', 'thp_fork', 'thp_fork_base', 'thp_free_partial', 'thp_free_base'];

test('the probe measures the THP paths on this host, or says for each why not', { skip: probeSkipReason ? `skipped: ${probeSkipReason}` : false, timeout: 120_000 }, () =>
  withTempProbeCache(async () => {
    const out = await runProbe(await buildProbe(), { fast: true, reps: 1 });
    let enabled = 'missing';
    try {
      enabled = /\[(\w+)\]/.exec(fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'))?.[1] ?? '?';
    } catch {
      /* no THP in this kernel */
    }
    for (const name of THP_MEASUREMENTS) {
      const r = out.results.find((x) => x.name === name);
      assert.ok(r, `${name} missing from the probe output`);
      if (enabled === 'never' || enabled === 'missing') assert.match(r.error ?? '', /transparent_hugepage/, name);
      if (r.error) {
        assert.ok(r.error.length > 10, `${name}: an error says why`);
        continue;
      }
      assert.ok(r.median! > 0 && r.p25! <= r.median! && r.median! <= r.p75!, name);
      assert.ok(r.n! >= 2, name);
    }
    if (enabled === 'madvise' || enabled === 'always') {
      // a THP fault zeroes 2 MiB: far more than a 4 KiB fault, whatever the host
      const thp = out.results.find((x) => x.name === 'thp_fault')!;
      const small = out.results.find((x) => x.name === 'anon_write_fault')!;
      if (!thp.error && !small.error) assert.ok(thp.median! > 20 * small.median!, `THP fault ${thp.median} vs 4 KiB fault ${small.median}`);
    }
  }),
);
