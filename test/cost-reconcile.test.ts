/**
 * Fault prices reconciled with the model's own run of each fault microbenchmark (src/cost/reconcile.ts):
 * after reconciling, the model predicts exactly what the probe measured for each, and the correction
 * is the model's charge for the rest of the pass (which v1 charged twice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProbeOutput, ProbeResult } from '../src/cost/probe-runner';
import { probeStat } from './helpers/probe-host';
import { deriveHostProfile, parseCpuinfo } from '../src/cost/calibrate';
import { faultBenches, reconcileFaultPrices } from '../src/cost/reconcile';
import { calibrateHost, calibrateHostOverRuns } from '../src/cli/host-calibration';
import { compile } from '../src/lab/compile';
import { simulateRun } from '../src/lab/simulate';
import { registerProfile } from '../src/cost/registry';
import type { CpuProfile } from '../src/cost/profile';

const stat = (name: string, median: number, unit: ProbeResult['unit'] = 'page') => probeStat(name, median, unit, { spreadPct: 2 });

function probeOut(fast: boolean): ProbeOutput {
  const tag = fast ? ['8m', '32m'] : ['64m', '512m'];
  return {
    probe: 1,
    fast,
    reps: 7,
    tscGHz: 2.445,
    results: [
      stat('syscall', 490, 'call'),
      stat(`a_dep_${tag[0]}`, 60),
      stat(`ad_dep_${tag[0]}`, 150),
      stat(`d_dep_${tag[0]}`, 30),
      stat(`chase_${tag[0]}`, 300),
      stat(`stream_${tag[0]}`, 60),
      stat('lat_l2', 12, 'access'),
      stat('lat_2m', 40, 'access'),
      stat('lat_dram', 330, 'access'),
      stat('anon_write_fault', 5272, 'fault'),
      stat('zero_read_fault', 1800, 'fault'),
      stat('wp_reuse_fault', 2800, 'fault'),
      stat('wp_copy_fault', 6900, 'fault'),
    ],
  };
}

const info = parseCpuinfo('vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\nmodel name : AMD EPYC test\nflags : fpu hypervisor\n', '6.18.44');

function lastStep(profile: CpuProfile, steps: Record<string, unknown>[]): number {
  const cpu = registerProfile({ ...profile.definition, name: 'test-reconcile' }).name;
  const [plan] = compile({ name: 't', seed: 1, machine: { cpu, cpus: 1 }, kernel: 'linux-6.18', steps }, { source: 'test' });
  const run = simulateRun(plan);
  return run.steps[run.steps.length - 1].cycles.total;
}

for (const fast of [false, true]) {
  test(`reconciled fault prices reproduce each microbenchmark exactly (${fast ? '--fast' : 'full'} probe)`, () => {
    const out = probeOut(fast);
    const derived = deriveHostProfile(out, info, '2026-12-07');
    const { cal, changes } = reconcileFaultPrices(derived, out, lastStep);
    assert.deepEqual(changes.map((c) => c.event).sort(), ['fault.anonAlloc', 'fault.anonZeroPage', 'fault.wpCopy', 'fault.wpReuse']);
    for (const bench of faultBenches(fast)) {
      const measured = out.results.find((r) => r.name === bench.probe)!.median!;
      const before = lastStep(derived.profile, bench.steps) / bench.pages;
      const after = lastStep(cal.profile, bench.steps) / bench.pages;
      // the derivation alone over-predicts: it charged the drain and the walks on top of a measurement that holds them
      assert.ok(before > measured + 20, `${bench.event}: before ${before.toFixed(0)} vs measured ${measured}`);
      assert.ok(Math.abs(after - measured) < 1, `${bench.event}: model ${after.toFixed(1)} vs measured ${measured}`);
      const entry = cal.definition.costs[bench.event]!;
      assert.equal(entry.kind, 'measured');
      assert.match(entry.note ?? '', new RegExp(`${bench.probe} .* minus the model's charge for the rest`));
      assert.equal(cal.rows.find((r) => r.event === bench.event)!.cycles, entry.cycles);
    }
  });
}

test('a fault price the model cannot reproduce with a positive price is kept, and the row says why', () => {
  const out = probeOut(false);
  out.results = out.results.map((r) => (r.name === 'zero_read_fault' ? stat('zero_read_fault', 495, 'fault') : r));
  const derived = deriveHostProfile(out, info, '2026-12-07');
  const { cal, changes } = reconcileFaultPrices(derived, out, lastStep);
  assert.ok(!changes.some((c) => c.event === 'fault.anonZeroPage'));
  assert.equal(cal.definition.costs['fault.anonZeroPage']!.cycles, derived.definition.costs['fault.anonZeroPage']!.cycles);
  assert.match(cal.rows.find((r) => r.event === 'fault.anonZeroPage')!.how, /not reconciled/);
});

test('calibrateHost (what `ptlab calibrate` writes) is the reconciled profile', () => {
  const out = probeOut(false);
  const cal = calibrateHost(out, info, '2026-12-07', true, 'linux-6.18');
  const bench = faultBenches(false)[0];
  assert.ok(Math.abs(lastStep(cal.profile, bench.steps) / bench.pages - 5272) < 1);
});

test('the probe runner pools one-sample rounds by name (--check --measure interleaves them with the scenarios)', async () => {
  const { poolRounds } = await import('../src/cost/probe-runner');
  const one = (name: string, v: number) => probeStat(name, v, 'page', { n: 1 });
  const out: ProbeOutput = {
    probe: 1,
    fast: false,
    reps: 5,
    tscGHz: 2.4,
    results: [stat('syscall', 490, 'call'), ...[300, 170, 180, 350, 175].map((v) => one('mprotect_big_ro', v)), { name: 'mprotect_big_ro', what: 'x', error: 'mmap failed' }, { name: 'gone', what: 'y', error: 'no uffd' }, { name: 'gone', what: 'y', error: 'no uffd' }],
  };
  const pooled = poolRounds(out);
  assert.equal(pooled.results.length, 3);
  const ro = pooled.results.find((r) => r.name === 'mprotect_big_ro')!;
  assert.equal(ro.n, 5);
  assert.equal(ro.median, 180);
  assert.equal(ro.min, 170);
  assert.equal(ro.p25, 175);
  assert.equal(ro.p75, 300);
  assert.equal(pooled.results.find((r) => r.name === 'gone')!.error, 'no uffd');
  // a probe output without repeated names is returned as it is
  const single: ProbeOutput = { ...out, results: [stat('syscall', 490, 'call')] };
  assert.equal(poolRounds(single), single);
});

test('calibrate --check --runs N --save derives the profile from each measurement\'s median over the runs', () => {
  const runs = [4000, 5272, 9000].map((v) => {
    const o = probeOut(false);
    o.results = o.results.map((r) => (r.name === 'anon_write_fault' ? stat('anon_write_fault', v, 'fault') : r));
    return o;
  });
  const over = calibrateHostOverRuns(runs, info, '2026-12-07', true, 'linux-6.18');
  const middle = calibrateHost(runs[1], info, '2026-12-07', true, 'linux-6.18');
  assert.equal(over.definition.costs['fault.anonAlloc']!.cycles, middle.definition.costs['fault.anonAlloc']!.cycles);
  assert.notEqual(over.definition.costs['fault.anonAlloc']!.cycles, calibrateHost(runs[2], info, '2026-12-07', true, 'linux-6.18').definition.costs['fault.anonAlloc']!.cycles);
  assert.match(over.definition.notes!.join('\n'), /median of its 3 runs' medians/);
  assert.equal(over.definition.costs['fault.anonAlloc']!.samples, 21);
});

test('on AMD, calibrate fits the A and A+D growth per doubling of the footprint between its two footprints, and prices each at the first', () => {
  const out = probeOut(false);
  out.results = [...out.results, stat('a_dep_512m', 135), stat('ad_dep_512m', 180), stat('acr_dep_64m', 50), stat('acr_dep_512m', 125)];
  const cal = deriveHostProfile(out, info, '2026-12-07');
  const g = cal.definition.memory.adGrowth!;
  assert.equal(g.fromMiB.value, 64);
  // the A update: the mean of the MADV_FREE and clear_refs passes at each footprint (55 and 130)
  assert.equal(g.aPerDoubling.value, 25); // (130 - 55) / 3 doublings
  assert.equal(g.adPerDoubling.value, 10); // (180 - 150) / 3
  assert.equal(cal.definition.costs.aBitSet!.cycles, 55);
  assert.equal(cal.definition.costs.adBitSet!.cycles, 150);
  const fitted = cal.regimeRows.filter((r) => r.fitted).map((r) => `${r.event} ${r.dependence} ${r.footprintMiB}`);
  assert.ok(fitted.includes('aBitSet dependent 512') && fitted.includes('adBitSet dependent 512'), fitted.join(', '));
  // both A passes priced it: the clear_refs rows at the calibration footprints are fitted, not checks
  assert.equal(cal.regimeRows.filter((r) => r.fitted && r.event === 'aBitSet' && r.how.includes('clear_refs')).length, 2);
});
