/**
 * `ptlab calibrate` and the host page size (tlb.hostPageKiB): the verdict on the probe's three
 * 256-page chases (THP, 4 KiB, compact; native/calibrate/thp.c measure_host_page), what a guest's
 * host profile states from it, the walk derivation it rules out on 4 KiB host pages, and --save
 * over several runs. Fixture numbers; the probe itself runs in test/cost-calibrate.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProbeOutput, ProbeResult } from '../src/cost/probe-runner';
import { probeStat } from './helpers/probe-host';
import { deriveHostProfile, parseCpuinfo } from '../src/cost/calibrate';
import { hostPageVerdict, HOST_PAGE_MIN_GAP } from '../src/cost/calibrate-host-page';
import { calibrateHostOverRuns } from '../src/cli/host-calibration';
import { parseProfile } from '../src/cost/profile';
import { getProfile } from '../src/cost/registry';
import { virtualize } from '../src/cost/virtualize';

const stat = (name: string, median: number, unit: ProbeResult['unit'] = 'access', spreadPct = 2) => probeStat(name, median, unit, { spreadPct });
const chases = (thp: number, small: number, compact: number, spreadPct = 2) => [stat('hostpage_thp', thp, 'access', spreadPct), stat('hostpage_4k', small, 'access', spreadPct), stat('hostpage_compact', compact, 'access', spreadPct)];
const out = (results: ProbeResult[], fast = true): ProbeOutput => ({ probe: 2, fast, reps: 7, tscGHz: 2.445, results });

const CPUINFO = 'vendor_id : AuthenticAMD\ncpu family : 25\nmodel : 1\nmodel name : AMD EPYC test\nflags : fpu';
const guest = parseCpuinfo(`${CPUINFO} hypervisor\n`, '6.18.44');
const bare = parseCpuinfo(`${CPUINFO}\n`, '6.18.44');

test('host page verdict: THP chase like the 4 KiB one -> 4 KiB host pages; like the compact one -> 2 MiB; in between, gap too small, noisy, no THP or bare metal -> none, with the reason', () => {
  // the Zen 3 KVM guest (native/experiments/tlb-coalesce.c at 256 pages)
  const v4 = hostPageVerdict(out(chases(8.3, 8.3, 3.0)), true);
  assert.ok('kib' in v4 && v4.kib === 4, JSON.stringify(v4));
  assert.deepEqual(v4.numbers, { thp: 8.3, small: 8.3, compact: 3.0 });
  assert.match(v4.how, /as dear as the 4 KiB one \(100% .*4 KiB host pages/);
  const v2 = hostPageVerdict(out(chases(3.1, 8.3, 3.0)), true);
  assert.ok('kib' in v2 && v2.kib === 2048, JSON.stringify(v2));
  assert.match(v2.how, /as cheap as the compact one \(2% .*2 MiB or more/);
  // the thresholds: within a third of the gap from either end
  assert.ok('kib' in hostPageVerdict(out(chases(6.8, 8.3, 3.0)), true));
  const mid = hostPageVerdict(out(chases(5.6, 8.3, 3.0)), true);
  assert.ok('why' in mid && /lies 49% of the way from the compact to the 4 KiB chase, near neither/.test(mid.why), JSON.stringify(mid));
  assert.match((mid as { why: string }).why, /PMD-mapped THP 5\.6, 4 KiB pages 8\.3, compact \(4 pages\) 3\.0/, 'the reason names the numbers');
  const flat = hostPageVerdict(out(chases(3.0, 3.0 + HOST_PAGE_MIN_GAP / 2, 3.0)), true);
  assert.ok('why' in flat && /did not miss the L1 dTLB/.test(flat.why), JSON.stringify(flat));
  const noisy = hostPageVerdict(out(chases(8.3, 8.3, 3.0, 40)), true);
  assert.ok('why' in noisy && /interquartile range of 3\.3 is more than a third of the 4 KiB - compact gap \(5\.3\)/.test(noisy.why), JSON.stringify(noisy));
  const noThp = hostPageVerdict(out([{ name: 'hostpage_thp', what: 'x', error: 'transparent_hugepage/enabled is never: no THP faults (set it to madvise or always)' }, ...chases(0, 8.3, 3.0).slice(1)]), true);
  assert.ok('why' in noThp && /^hostpage_thp: transparent_hugepage\/enabled is never/.test(noThp.why), JSON.stringify(noThp));
  const old = hostPageVerdict(out([]), true);
  assert.ok('why' in old && /hostpage_thp: not measured/.test(old.why));
  const metal = hostPageVerdict(out(chases(8.3, 8.3, 3.0)), false);
  assert.ok('why' in metal && /^bare metal/.test(metal.why));
});

/** the walk derivation's inputs, large enough that it resolves */
const walkInputs = () => [stat('walk_read', 400), stat('huge_read', 100), stat('syscall', 490, 'call')];

test('a guest host profile states the measured host page size, naming the three numbers; on 4 KiB host pages the walk is not derived from the THP reads and its row says why', () => {
  const cal = deriveHostProfile(out([...walkInputs(), ...chases(8.3, 8.2, 3.0)]), guest, '2026-12-07');
  const h = cal.definition.tlb.hostPageKiB!;
  assert.equal(h.value, 4);
  assert.equal(h.kind, 'measured');
  assert.match(h.source, /^measured: ptlab calibrate 2026-12-07, AMD EPYC test \(VM guest\).*: 256-page pointer chases, TSC cycles per access: PMD-mapped THP 8\.3, 4 KiB pages 8\.2, compact \(4 pages\) 3\.0$/);
  assert.equal(cal.profile.tlb.hostPageKiB, 4, 'the MMU geometry splinters guest 2 MiB pages');
  const base = virtualize(getProfile('zen3'));
  const walk = cal.rows.find((r) => r.event === 'walk')!;
  assert.equal(walk.status, 'kept');
  assert.equal(cal.profile.costs.walk.cycles, base.costs.walk.cycles);
  assert.match(walk.how, /^kept base: not derived .*on 4 KiB host pages \(256-page pointer chases.*PMD-mapped THP 8\.3.*\) the reads on THP take a TLB miss per page, not one per 512 pages/);
  assert.match(cal.definition.notes!.join('\n'), /TLB geometry \(the host page size measured\)/);
  // the same host on 2 MiB host pages: stated 2048 (measured), and the walk is derived as before
  const big = deriveHostProfile(out([...walkInputs(), ...chases(3.1, 8.2, 3.0)]), guest, '2026-12-07');
  assert.equal(big.definition.tlb.hostPageKiB!.value, 2048);
  assert.equal(big.definition.tlb.hostPageKiB!.kind, 'measured');
  assert.equal(big.profile.tlb.hostPageKiB, 2048);
  const derived = big.rows.find((r) => r.event === 'walk')!;
  assert.equal(derived.status, 'measured');
  assert.equal(big.profile.costs.walk.cycles, Math.round(400 - 100 - base.costs.tlbMiss.cycles - 1.5 * base.costs.walkMemRef.cycles));
  // no verdict on a guest: the base's estimate stays, and its note says why calibrate did not measure it
  const none = deriveHostProfile(out([...walkInputs(), ...chases(5.6, 8.2, 3.0)]), guest, '2026-12-07');
  assert.equal(none.definition.tlb.hostPageKiB!.kind, 'estimate');
  assert.equal(none.definition.tlb.hostPageKiB!.value, 2048);
  assert.match(none.definition.tlb.hostPageKiB!.note!, /^ptlab calibrate 2026-12-07 gave no verdict: .*near neither/);
  assert.equal(none.rows.find((r) => r.event === 'walk')!.status, 'measured');
  // bare metal: no host page size (the schema refuses one), the walk derived
  const metal = deriveHostProfile(out([...walkInputs(), ...chases(8.3, 8.2, 3.0)]), bare, '2026-12-07');
  assert.equal(metal.definition.tlb.hostPageKiB, undefined);
  assert.equal(metal.profile.tlb.hostPageKiB, undefined);
  assert.ok('why' in metal.hostPage && /^bare metal/.test(metal.hostPage.why));
  assert.equal(metal.rows.find((r) => r.event === 'walk')!.status, 'measured');
});

test('calibrate --check --runs N --save: the saved profile states the host page size from the runs\' medians and parses back with it', () => {
  const runs = [
    [8.4, 8.3, 3.0],
    [8.3, 8.3, 3.1],
    [9.9, 8.2, 3.0],
  ].map(([t, s, c]) => out([...walkInputs(), stat('anon_write_fault', 5272, 'fault'), ...chases(t, s, c)], false));
  const cal = calibrateHostOverRuns(runs, guest, '2026-12-07', true, 'linux-6.18');
  const h = cal.definition.tlb.hostPageKiB!;
  assert.equal(h.value, 4);
  assert.equal(h.kind, 'measured');
  assert.match(h.source, /PMD-mapped THP 8\.4, 4 KiB pages 8\.3, compact \(4 pages\) 3\.0$/, 'each number the median of the runs');
  assert.equal(cal.rows.find((r) => r.event === 'walk')!.status, 'kept');
  // what --save writes (src/cli/calibrate.ts writeProfile): the definition as JSON under the new name
  const saved = parseProfile(JSON.parse(JSON.stringify({ ...cal.definition, name: 'guest-saved' })), 'saved');
  assert.equal(saved.tlb.hostPageKiB, 4);
  assert.deepEqual(saved.definition.tlb.hostPageKiB, h);
});
