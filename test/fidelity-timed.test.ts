/**
 * Model next to machine: timed native runs (src/fidelity/timed.ts) have the model's RunResult
 * shape with `source: 'native'`, a machine record and per-step cycles; what the host cannot run
 * is refused per step; a model and a native ResultSet merge into one. No timing thresholds:
 * only that measured cycles are positive and their quantiles ordered.
 *
 * The host tests skip, saying why, where the replayer cannot run (not Linux x86-64, no cc).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lab, ResultSet } from '../src/index';
import { replayerSupport } from '../src/fidelity/native-build';
import type { NativeHeader } from '../src/fidelity/native-types';
import { hostFacts } from '../src/fidelity/replay';
import { hostRefusals, nativeThp } from '../src/fidelity/timed';
import { compareWithHost, formatComparison } from '../src/fidelity/compare';
import { readHostInfo } from '../src/cost/calibrate';
import { getProfile, measuredProfiles } from '../src/cost/registry';
import type { Step } from '../src/lab/spec';

const unsupported = replayerSupport();
const host: NativeHeader | null = unsupported ? null : hostFacts();
const skipHost = unsupported ? `SKIPPED: ${unsupported}` : undefined;
const CLI = path.join(__dirname, '../../bin/ptlab.js');

/** A small spec every Linux x86-64 host can run: no userfaultfd, no swap. */
function small() {
  return lab
    .experiment('timed: mprotect round trip')
    .machine('skylake-sp', { cpus: 1 })
    .kernel('linux-6.18')
    .mmap('heap', '256KiB')
    .touch('heap', 'write')
    .madvise('heap', 'free')
    .mprotect('heap', 'r')
    .mprotect('heap', 'rw')
    .touch('heap', 'write', { pattern: 'random', count: 32 });
}

const header = (over: Partial<NativeHeader> = {}): NativeHeader => ({
  replay: 'ptlab',
  version: 1,
  kernel: '6.1.0',
  machine: 'x86_64',
  pageSize: 4096,
  pfnVisible: true,
  kpageflags: true,
  pagemapScan: false,
  swap: false,
  softDirty: false,
  zeroPageOnRead: true,
  uffd: '0x1fff', // up to WP_HUGETLBFS_SHMEM: no WP_UNPOPULATED (6.4), no WP_ASYNC (6.7)
  ...over,
});

test('hostRefusals: every step a host cannot run is named with its reason', () => {
  const steps = [
    { op: 'mmap', region: 'heap', size: '64KiB' },
    { op: 'uffd-register', region: 'heap', modes: ['wp'], features: ['wp-async'] },
    { op: 'madvise', region: 'heap', advice: 'pageout' },
    { op: 'clear-refs', mode: 'soft-dirty' },
    { op: 'pagemap-scan', region: 'heap', mode: 'written' },
    { op: 'reclaim', pages: 'all' },
    { op: 'touch', region: 'heap', access: 'write' },
  ] as Step[];
  const r = hostRefusals(steps, header());
  assert.deepEqual(
    r.map((x) => [x.step, x.op]),
    [
      [1, 'uffd-register'],
      [2, 'madvise'],
      [3, 'clear-refs'],
      [4, 'pagemap-scan'],
      [5, 'reclaim'],
    ],
  );
  assert.match(r[0].reason, /WP_ASYNC \(Linux 6\.7\)/);
  assert.match(r[1].reason, /swap/);
  assert.match(r[2].reason, /CONFIG_MEM_SOFT_DIRTY/);
  assert.match(r[3].reason, /PAGEMAP_SCAN needs Linux 6\.7/);
  assert.match(r[4].reason, /cannot be run natively/);
  // the same spec on a host that has all of it: only reclaim remains
  const full = hostRefusals(steps, header({ kernel: '6.18.0', uffd: '0x1ffff', swap: true, softDirty: true, pagemapScan: true }));
  assert.deepEqual(full.map((x) => x.op), ['reclaim']);
  // no userfaultfd at all: every uffd step says so
  const none = hostRefusals([steps[0], steps[1], { op: 'uffd-writeprotect', region: 'heap', wp: true } as Step], header({ uffd: null, uffdError: 'Operation not permitted' }));
  assert.deepEqual(none.map((x) => x.step), [1, 2]);
  assert.match(none[1].reason, /userfaultfd is not usable here \(Operation not permitted/);
  // fs "plain" is tmpfs natively (shmem to userfaultfd), not the model's plain filesystem: refused;
  // a disk file is the kernel's to accept or refuse (EINVAL), so it is not refused up front
  const files = [
    { op: 'mmap', region: 'p', size: '16KiB', kind: 'file-shared', fs: 'plain' },
    { op: 'mmap', region: 'd', size: '16KiB', kind: 'file-shared', fs: 'mkwrite' },
    { op: 'uffd-register', region: 'p', modes: ['wp'] },
    { op: 'uffd-register', region: 'd', modes: ['wp'], features: ['wp-async'] },
  ] as Step[];
  const f = hostRefusals(files, header({ kernel: '6.18.0', uffd: '0x1ffff' }));
  assert.deepEqual(f.map((x) => x.step), [2]);
  assert.match(f[0].reason, /tmpfs, which userfaultfd treats as shmem/);
});

test('nativeThp: each region gets THP natively exactly where the model gives it THP', () => {
  const steps = [
    { op: 'mmap', region: 'a', size: '4MiB' },
    { op: 'mmap', region: 'b', size: '4MiB', thp: 'hugepage' },
    { op: 'mmap', region: 'c', size: '4MiB', thp: 'nohugepage' },
    { op: 'touch', region: 'a', access: 'write' },
  ] as Step[];
  const advice = (machineThp: 'never' | 'madvise' | 'always' | undefined, h: NativeHeader) =>
    nativeThp(steps, machineThp ? { thp: machineThp } : {}, h).steps.slice(0, 3).map((s) => (s as { thp?: string }).thp ?? '-');
  const always = header({ thp: 'always', thpZeroPage: true });
  assert.deepEqual(advice(undefined, always), ['nohugepage', 'hugepage', 'nohugepage'], 'default madvise: THP only where advised');
  assert.deepEqual(advice('always', always), ['hugepage', 'hugepage', 'nohugepage']);
  assert.deepEqual(advice('never', always), ['nohugepage', 'nohugepage', 'nohugepage']);
  // a kernel without THP: no advice at all (madvise would fail), and a region that wants THP is refused
  assert.deepEqual(advice('madvise', header({ thp: null })), ['-', 'hugepage', '-']);
  const r = nativeThp(steps, { thp: 'always' }, header({ thp: 'never' })).refused;
  assert.deepEqual(r.map((x) => x.step), [0, 1]);
  assert.match(r[0].reason, /transparent huge pages .* THP disabled \(never\)/);
});

test('a timed native run has the model run shape, source native, positive per-step cycles and the machine record', { skip: skipHost }, () => {
  const set = small().native({ reps: 3 });
  assert.equal(set.runs.length, 1);
  const r = set.runs[0];
  assert.equal(r.source, 'native');
  assert.equal(r.cpu, 'host');
  assert.match(r.variant, /^native-\d+\.\d+/);
  assert.equal(r.refused, undefined, JSON.stringify(r.refused));
  assert.equal(r.steps.length, small().toSpec().steps.length);
  r.steps.forEach((s, i) => {
    assert.equal(s.index, i);
    assert.equal(s.op, small().toSpec().steps[i].op);
    assert.ok(s.cycles.total > 0, `step ${i} (${s.op}): ${s.cycles.total} cycles`);
    assert.equal(s.cycles.total, Object.values(s.cycles.byEvent).reduce((a, b) => a + b, 0));
    const t = s.timing!;
    assert.equal(t.reps, 3);
    assert.ok(t.min <= t.p25 && t.p25 <= t.median && t.median <= t.p75 && t.p75 <= t.max, JSON.stringify(t));
  });
  assert.equal(r.steps[1].counters.faults.total, 64, 'the first write to each of 64 fresh pages faults (do_anonymous_page)');
  assert.equal(r.steps[1].counters.accesses, 64);
  assert.equal(r.total.cycles.total, r.steps.reduce((a, s) => a + s.cycles.total, 0));
  const m = r.machine!;
  assert.equal(m.kernel, os.release());
  assert.match(m.kernelVariant, /^linux-\d+\.\d+$/);
  assert.ok(m.tscGHz > 0);
  assert.match(m.virtualization, /^(bare metal|VM guest)/);
  assert.ok(m.cpus >= 1 && m.pinnedCpu >= 0);
  assert.equal(typeof m.cpuModel, 'string');
});

test('a step the host cannot run is refused with its reason; the steps before it are timed, the ones after listed', { skip: skipHost }, () => {
  const exp = small().reclaim('all').touch('heap', 'read');
  const r = exp.native({ reps: 1 }).runs[0];
  const k = small().toSpec().steps.length; // the reclaim step
  assert.equal(r.steps.length, k, 'the steps before the refused one ran');
  assert.deepEqual(
    r.refused!.map((x) => [x.step, x.op]),
    [
      [k, 'reclaim'],
      [k + 1, 'touch'],
    ],
  );
  assert.match(r.refused![0].reason, /global reclaim cannot be triggered/);
  assert.match(r.refused![1].reason, new RegExp(`follows refused step ${k}`));
});

const lacking = skipHost ?? (host!.softDirty && host!.swap ? 'SKIPPED: this host has both soft-dirty and swap' : undefined);
test('a host feature the kernel lacks is refused for that step (soft-dirty, or swap for pageout)', { skip: lacking }, () => {
  const probe = !host!.softDirty ? small().clearRefs('soft-dirty') : small().madvise('heap', 'pageout');
  const r = probe.native({ reps: 1 }).runs[0];
  assert.equal(r.refused?.length, 1);
  assert.match(r.refused![0].reason, /CONFIG_MEM_SOFT_DIRTY|swap/);
});

test('a model ResultSet and a native ResultSet merge; tidy rows, summaries and CSV keep them apart', { skip: skipHost }, () => {
  const exp = small();
  const model = exp.runSync();
  const native = exp.native({ reps: 1 });
  assert.equal(model.runs[0].source, 'model');
  const both = ResultSet.merge([model, native]);
  assert.equal(both.runs.length, 2);
  assert.deepEqual(
    both.runs.map((r) => r.source),
    ['model', 'native'],
  );
  const cycles = both.metric('cycles.total', { step: 1 });
  assert.deepEqual(cycles.map((x) => x.source).sort(), ['model', 'native']);
  // a native run reports what user space observes, never zeros for TLB misses or A/D updates it cannot see
  const nativeMetrics = new Set(both.rows({ source: 'native' }).map((x) => x.metric));
  assert.ok(nativeMetrics.has('cycles.total') && nativeMetrics.has('faults.total') && nativeMetrics.has('accesses'));
  for (const m of ['tlb.misses', 'aBitSets', 'dirtyPages', 'tlbFlushes']) assert.ok(!nativeMetrics.has(m), m);
  assert.ok(both.rows({ source: 'model' }).some((x) => x.metric === 'tlb.misses'));
  const sum = both.summarize({ metric: 'cycles.total', step: 'total' });
  assert.equal(sum.length, 2, 'one summary row per source');
  assert.match(both.toCSV().split('\n')[0], /^run,name,variant,cpu,seed,repeat,source,/);
  assert.doesNotMatch(model.toCSV().split('\n')[0], /source/);
});

test('ptlab replay --native --time --json prints ResultsJson with native runs; a refusal exits 3 and says why', { skip: skipHost }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-timed-'));
  const file = path.join(dir, 'spec.json');
  fs.writeFileSync(file, JSON.stringify(small().toSpec()));
  const ok = spawnSync(process.execPath, [CLI, 'replay', file, '--native', '--time', '--reps', '1', '--json'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  const json = JSON.parse(ok.stdout);
  assert.equal(json.runs[0].source, 'native');
  assert.ok(json.runs[0].machine.tscGHz > 0);
  const cmp = spawnSync(process.execPath, [CLI, 'replay', file, '--native', '--time', '--reps', '1', '--compare', '--cpu', 'zen3'], { encoding: 'utf8' });
  assert.equal(cmp.status, 0, cmp.stderr);
  assert.match(cmp.stdout, /^measured on: .*\nmodel: linux-\d+\.\d+\S* on profile zen3/);
  fs.writeFileSync(file, JSON.stringify(small().reclaim('all').toSpec()));
  const refused = spawnSync(process.execPath, [CLI, 'replay', file, '--native', '--time', '--reps', '1'], { encoding: 'utf8' });
  assert.equal(refused.status, 3, refused.stderr);
  assert.match(refused.stdout, /REFUSED step 6 \(reclaim\): cannot be run natively/);
  const bad = spawnSync(process.execPath, [CLI, 'replay', file, '--native', '--time', '--reps', 'x'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--reps "x" is not an integer/);
  fs.rmSync(dir, { recursive: true, force: true });
});

test('compareWithHost: per-step native next to the model of this host, in TSC ticks, with what was not run', { skip: skipHost }, () => {
  const spec = small().reclaim('all').reclaim('all').toSpec();
  const c = compareWithHost(spec, { reps: 1, cpu: 'zen3' });
  assert.equal(c.rows.length, 6);
  assert.equal(c.variant.replace(/\+no-zero-page$/, ''), c.machine.kernelVariant);
  assert.equal(c.profile.name, 'zen3');
  for (const r of c.rows) {
    assert.ok(r.native > 0 && r.model >= 0, JSON.stringify(r));
    if (r.native > 0) assert.equal(r.errorPct, ((r.model - r.native) / r.native) * 100);
  }
  assert.deepEqual(c.results.runs.map((r) => r.source), ['model', 'native']);
  const text = formatComparison(c);
  assert.match(text, /measured on: .*Linux /);
  assert.match(text, /not run here: steps 6-7 \(reclaim\): cannot be run natively/);
});

const noUffd = skipHost ?? (host!.uffd ? undefined : `SKIPPED: userfaultfd unusable here (${host!.uffdError})`);
test('a step the kernel itself refuses when it gets there (EINVAL) is refused, and the steps before it are timed every repetition', { skip: noUffd }, () => {
  // vma_can_userfault: no MISSING mode on a disk file in any version
  const exp = lab
    .experiment('timed: uffd on a disk file')
    .machine('zen3', { cpus: 1 })
    .kernel('linux-6.18')
    .mmap('f', '64KiB', { kind: 'file-shared', fs: 'mkwrite' })
    .touch('f', 'read')
    .uffd.register('f', { missing: true })
    .touch('f', 'write');
  const r = exp.native({ reps: 2 }).runs[0];
  assert.equal(r.steps.length, 2);
  for (const s of r.steps) assert.equal(s.timing!.reps, 2);
  assert.deepEqual(
    r.refused!.map((x) => [x.step, x.op]),
    [
      [2, 'uffd-register'],
      [3, 'touch'],
    ],
  );
  assert.match(r.refused![0].reason, /EINVAL/);
});

test('a kernel sweep collapses natively (one host kernel); seeds do not', { skip: skipHost }, () => {
  const set = small().kernel('linux-5.19', 'linux-6.18').seed([1, 2]).native({ reps: 1 });
  assert.deepEqual(
    set.runs.map((r) => [r.seed, r.cpu, r.params.kernel]),
    [
      [1, 'host', undefined],
      [2, 'host', undefined],
    ],
  );
  assert.notEqual(set.runs[0].id, set.runs[1].id);
});

test('a native run needs no CPU profile: machine.cpu "host" before any calibration is accepted', { skip: skipHost }, () => {
  const saved = process.env.PTLAB_HOST_PROFILE;
  process.env.PTLAB_HOST_PROFILE = path.join(os.tmpdir(), 'ptlab-no-such-host-profile.json');
  try {
    const spec = { ...small().toSpec(), machine: { cpu: 'host', cpus: 1 } };
    const r = lab.fromSpec(spec).native({ reps: 1 }).runs[0];
    assert.equal(r.source, 'native');
    const c = compareWithHost(spec, { reps: 1 });
    assert.equal(c.profile.calibrated, false);
    assert.match(c.profile.why, /no calibrated host profile/);
    // Without a host profile, a committed profile measured on this machine kind (same CPU vendor,
    // family, model and guest-ness) is preferred over a shipped bare-metal one.
    const info = readHostInfo();
    const sameKind = measuredProfiles().filter((n) => {
      const m = getProfile(n).definition.measuredOn!;
      return m.vendorId === info.vendorId && m.family === info.family && m.model === info.model && (m.virtualization !== 'bare-metal') === info.hypervisor;
    });
    if (sameKind.length) {
      assert.ok(sameKind.includes(c.profile.name), `${c.profile.name} is one of ${sameKind.join(', ')}`);
      assert.equal(c.profile.measured, true);
      assert.equal(c.profile.virtualized, false, 'a guest measurement is not virtualized again');
    } else {
      assert.ok(!measuredProfiles().includes(c.profile.name));
      assert.notEqual(c.profile.measured, true);
    }
  } finally {
    if (saved === undefined) delete process.env.PTLAB_HOST_PROFILE;
    else process.env.PTLAB_HOST_PROFILE = saved;
  }
});
