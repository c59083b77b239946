/**
 * The model against this kernel. The comparison logic is tested on its own (fabricated runs);
 * then every scenario in fidelity/scenarios and a differential fuzz of generated op sequences
 * must show zero model differences (these need the simulator, src/lab/simulate.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import type { InspectRow, RunResult, StepResult } from '../src/lab/types';
import { diffRuns, diffSpec, formatDiff, hostQuirks, variantForHost } from '../src/fidelity/diff';
import { replayerSupport } from '../src/fidelity/native-build';
import type { NativeHeader, NativeReplay, NativeRow, NativeStep } from '../src/fidelity/native-types';
import { hostFacts, ownFaultsExcluded, replayNative, ReplayRefused, runReplayer } from '../src/fidelity/replay';
import { loadSpecFile, loadSpecJson } from '../src/fidelity/spec-input';
import { simulateRun } from '../src/lab/simulate';
import { appendFuzzSteps } from './helpers/fuzz-steps';

const SCENARIOS = join(__dirname, '../../fidelity/scenarios');
const unsupported = replayerSupport();
const host: NativeHeader | null = unsupported ? null : hostFacts();

const HOST: NativeHeader = {
  replay: 'ptlab', version: 1, kernel: '6.18.0', machine: 'x86_64', pageSize: 4096, pfnVisible: true, kpageflags: true,
  pagemapScan: true, swap: false, softDirty: true, zeroPageOnRead: true, uffd: '0x1ffff',
};

function nrow(page: number, o: Partial<NativeRow> = {}): NativeRow {
  return { page, present: true, write: null, young: true, dirty: true, uffdWp: false, softDirty: true, exclusive: true, special: false, entry: 'present', folioDirty: false, ...o };
}

function nstep(index: number, op: string, o: Partial<NativeStep> = {}): NativeStep {
  const raw = { step: index, process: 'main', op, minflt: 0, majflt: 0, sigsegv: 0, sigbus: 0, accesses: 0, uffd: { missing: 0, wp: 0, minor: 0, errors: 0 } };
  return { index, op, process: 'main', faults: { total: 0, minor: 0, major: 0, sigsegv: 0, sigbus: 0 }, uffd: { missing: 0, wp: 0, minor: 0 }, raw, notes: [], ...o };
}

/** A model run that agrees with a native replay on everything compared. */
function mirror(native: NativeReplay): RunResult {
  const counters = (faults: number, byKind: Record<string, number>) =>
    ({ faults: { total: faults, byKind }, tlb: { hits: 0, misses: 0, l1Hits: 0, stlbHits: 0 }, walks: 0, walkMemRefs: 0, aBitSets: 0, dBitSets: 0, tlbFlushes: 0, ipis: 0, dirtyPages: 0, writebackPages: 0, swapOutPages: 0, accesses: 0, violations: {}, events: {} }) as StepResult['counters'];
  const steps: StepResult[] = native.steps.map((s) => ({
    index: s.index,
    op: s.op,
    cycles: { total: 0, byEvent: {} },
    counters: counters(s.faults.total + s.faults.sigsegv, { sigsegv: s.faults.sigsegv, uffdWp: s.uffd.wp, uffdMissing: s.uffd.missing, uffdMinor: s.uffd.minor }),
    inspect: s.inspect?.map((r) => ({ ...r, write: true, young: r.young ?? false, dirty: r.dirty ?? false, softDirty: r.softDirty ?? false, exclusive: r.exclusive ?? false, special: r.special ?? false, folioDirty: r.folioDirty ?? false }) as InspectRow),
    scan: s.scan,
  }));
  return { id: 'x', name: 'x', variant: 'linux-6.18', cpu: 'c', seed: 1, repeat: 0, params: {}, steps, total: { cycles: { total: 0, byEvent: {} }, counters: counters(0, {}) } };
}

test('native fault counts leave out the faults the sampler saw on the replayer\'s own memory, and only when it saw them all', () => {
  const raw = { step: 3, process: 'main', op: 'touch', minflt: 10, majflt: 1, sigsegv: 0, sigbus: 0, accesses: 8, uffd: { missing: 0, wp: 0, minor: 0, errors: 0 } };
  assert.equal(ownFaultsExcluded(raw), 11, 'no sampler: the getrusage count');
  assert.equal(ownFaultsExcluded({ ...raw, pf: { in: 9, out: 2, at: [], outAddrs: ['0x7ffd0000'] } }), 9);
  assert.equal(ownFaultsExcluded({ ...raw, pf: { lost: true } }), 11, 'a full ring: the getrusage count');
  assert.equal(ownFaultsExcluded({ ...raw, pf: { in: 0, out: 30, at: [], outAddrs: [] } }), 0, 'never below zero');
});

test('diffRuns: a fault-count difference names the pages the native faults were on', () => {
  const native: NativeReplay = { host: HOST, steps: [nstep(0, 'mmap'), nstep(1, 'touch', { faults: { total: 3, minor: 3, major: 0, sigsegv: 0, sigbus: 0 }, faultSites: ['h:0', 'h:0', 'h:4'] })] };
  const model = mirror(native);
  model.steps[1].counters.faults.total = 2;
  const d = diffRuns('t', model, native).differences;
  assert.deepEqual(d.map((x) => [x.field, x.model, x.native]), [['faults.total', 2, 3]]);
  assert.match(d[0].note ?? '', /native faults at h:0 h:0 h:4/);
});

test('diffRuns: a major fault is a swap-in read from the device (swapInPage), zero-filled from the zeromap (swpinZero, 6.12+) or a file read; a large folio\'s further pages are not faults', () => {
  const native: NativeReplay = { host: HOST, steps: [nstep(0, 'mmap'), nstep(1, 'touch', { faults: { total: 3, minor: 0, major: 3, sigsegv: 0, sigbus: 0 } })] };
  const model = mirror(native);
  model.steps[1].counters.events = { swapInPage: 1, swapInTailPage: 15, swpinZero: 1, pageZero: 15, fileReadPage: 1 };
  assert.deepEqual(diffRuns('t', model, native).differences, []);
  model.steps[1].counters.events = { swapInPage: 1, fileReadPage: 1 };
  assert.deepEqual(diffRuns('t', model, native).differences.map((x) => [x.field, x.model, x.native]), [['faults.major', 2, 3]]);
});

test('diffRuns: a MADV_COLLAPSE the kernel failed and the model did not (or the other way) is an errno difference', () => {
  const native: NativeReplay = { host: HOST, steps: [nstep(0, 'mmap'), nstep(1, 'madvise', { errno: 'EINVAL' })] };
  const model = mirror(native);
  let r = diffRuns('t', model, native);
  assert.deepEqual(r.differences.map((d) => [d.step, d.field, d.model, d.native]), [[1, 'errno', 'ok', 'EINVAL']]);
  model.steps[1].errno = 'EINVAL';
  assert.equal(diffRuns('t', model, native).differences.length, 0);
  model.steps[1].errno = 'EBUSY';
  assert.deepEqual(diffRuns('t', model, native).differences.map((d) => [d.model, d.native]), [['EBUSY', 'EINVAL']]);
});

test('diffRuns: a model that agrees on every observable value shows no difference', () => {
  const native: NativeReplay = {
    host: HOST,
    steps: [nstep(0, 'mmap'), nstep(1, 'touch', { faults: { total: 4, minor: 4, major: 0, sigsegv: 0, sigbus: 0 } }), nstep(2, 'inspect', { inspect: [nrow(0), nrow(1, { young: null, dirty: null })] })],
  };
  const r = diffRuns('t', mirror(native), native);
  assert.equal(r.differences.length, 0);
  assert.equal(r.compared, 6 + 9 + 7); // touch: faults total, major, sigsegv and three uffd counts
  assert.match(formatDiff(r), /no differences/);
});

test('diffRuns: one flipped bit is one difference naming step, page, field and both values', () => {
  const native: NativeReplay = { host: HOST, steps: [nstep(0, 'inspect', { inspect: [nrow(0), nrow(3)] })] };
  const model = mirror(native);
  model.steps[0].inspect![1].dirty = false;
  const r = diffRuns('t', model, native);
  assert.deepEqual(
    r.differences.map((d) => [d.step, d.page, d.field, d.model, d.native, d.cause]),
    [[0, 3, 'dirty', false, true, 'model']],
  );
  assert.equal(r.modelDifferences, 1);
  assert.match(formatDiff(r), /dirty\s+0\s+1\s+model/);
});

test('diffRuns: unknown native bits are not compared; faults only on touch steps', () => {
  const native: NativeReplay = {
    host: HOST,
    steps: [nstep(0, 'fork', { faults: { total: 7, minor: 7, major: 0, sigsegv: 0, sigbus: 0 } }), nstep(1, 'inspect', { inspect: [nrow(0, { young: null, exclusive: null })] })],
  };
  const model = mirror(native);
  model.steps[0].counters.faults.total = 0;
  model.steps[1].inspect![0].young = false;
  model.steps[1].inspect![0].exclusive = false;
  assert.equal(diffRuns('t', model, native).differences.length, 0);
});

test('diffRuns: zero-page differences on a host without read-fault zero pages are host-caused', () => {
  const native: NativeReplay = { host: { ...HOST, zeroPageOnRead: false }, steps: [nstep(0, 'inspect', { inspect: [nrow(0)] })] };
  const model = mirror(native);
  Object.assign(model.steps[0].inspect![0], { special: true, dirty: false, exclusive: false });
  // the model's zero-page mapping happened in this step
  model.steps[0].counters.faults.byKind.anonZeroPage = 1;
  const r = diffRuns('t', model, native);
  assert.ok(r.differences.length >= 2);
  assert.ok(r.differences.every((d) => d.cause === 'host'));
  assert.equal(r.modelDifferences, 0);
  assert.ok(r.hostQuirks.some((q) => /zero page/.test(q)));
});

test('variantForHost: nearest lower known linux-X.Y', () => {
  assert.equal(variantForHost('6.18.44-fc-v782'), 'linux-6.18');
  assert.equal(variantForHost('5.19.0'), 'linux-5.19');
  assert.equal(variantForHost('6.5.1'), 'linux-6.3');
  assert.equal(variantForHost('6.2.9'), 'linux-6.2');
});

/** Skip reason for a native-and-model comparison, or undefined. */
const nativeSkip = unsupported ? `SKIPPED: ${unsupported}` : !host!.uffd ? `SKIPPED: userfaultfd unusable (${host!.uffdError})` : undefined;

for (const file of readdirSync(SCENARIOS).filter((f) => f.endsWith('.json')).sort()) {
  test(`diff ${file}: the model matches this kernel`, { skip: nativeSkip }, (t) => {
    let r;
    try {
      r = diffSpec(loadSpecFile(join(SCENARIOS, file)));
    } catch (e) {
      if (e instanceof ReplayRefused) {
        t.skip(`SKIPPED: ${e.message}`);
        return;
      }
      throw e;
    }
    assert.equal(r.modelDifferences, 0, formatDiff(r));
  });
}

test('a registration the kernel refuses with EINVAL is compared: agreement is reported, a model that accepts it is one errno difference', { skip: nativeSkip }, () => {
  const spec = join(SCENARIOS, 'uffd-register-file-wp-einval.json');
  const agreed = diffSpec(loadSpecFile(spec));
  assert.equal(agreed.modelDifferences, 0, formatDiff(agreed));
  assert.match(formatDiff(agreed), /agreed: steps\[3\] \(uffd-register\): both the kernel and the model refuse it with EINVAL/);
  assert.ok(agreed.compared > 1, 'the steps before the refusal are compared too');
  // a model that wrongly accepts the registration (here: one that asks for WP_ASYNC behind the spec's back)
  const lenient = diffSpec(loadSpecFile(spec), {
    simulate: (p) => simulateRun({ ...p, steps: p.steps.map((st) => (st.op === 'uffd-register' ? { ...st, features: ['wp-async' as const] } : st)) }),
  });
  assert.deepEqual(lenient.differences.filter((d) => d.cause === 'model').map((d) => [d.step, d.field, d.model, d.native]), [[3, 'errno', 'ok', 'EINVAL']]);
});

test('Linux 6.18 hosts: a write to a uffd-wp marker on shmem faults twice on that page (the first maps it read-only keeping uffd-wp, the second is the uffd-wp fault); a hole once; a read-only page once', { skip: nativeSkip }, (t) => {
  // the fuzz counterexample CI's host counted 10 faults for (this host: 9): the sampler says where
  const spec = {
    name: 'marker-write', machine: { cpu: 'skylake-sp', cpus: 1 }, kernel: 'linux-6.18',
    steps: [
      { op: 'mmap', region: 'h', size: '32KiB', kind: 'anon-shared' },
      { op: 'uffd-register', region: 'h', modes: ['wp'] },
      { op: 'touch', region: 'h', access: 'read', pages: [5, 6] },
      { op: 'uffd-writeprotect', region: 'h', wp: true, pages: [0, 1, 7] },
      { op: 'fork', child: 'child' },
      { op: 'touch', region: 'h', access: 'write', pages: [0, 1, 2, 5, 6, 7], pattern: 'sequential', process: 'main' },
    ],
  };
  const loaded = loadSpecJson(spec, 'marker-write');
  const want = ['h:0', 'h:0', 'h:1', 'h:1', 'h:2', 'h:5', 'h:6', 'h:7', 'h:7'];
  // host noise only adds faults (a page migrated or its A bit cleared by DAMON mid-fault): a rule
  // holds on one of three replays, as in the fuzz; a kernel that behaves otherwise fails all three
  const seen: string[][] = [];
  for (let i = 0; i < 3; i++) {
    const touch = replayNative(loaded.plan).steps.find((s) => s.index === 5)!;
    if (touch.faultSites === undefined) return void t.diagnostic('host: no perf_event_open, so fault sites are not sampled; only the diff below is checked');
    seen.push(touch.faultSites);
    if (JSON.stringify(touch.faultSites) === JSON.stringify(want)) break;
  }
  if (!host!.kernel.startsWith('6.18')) t.diagnostic(`host: Linux ${host!.kernel}, so the 6.18 fault sites are not asserted; only the diff below is checked`);
  else assert.deepEqual(seen[seen.length - 1], want, `fault sites of three replays: ${seen.map((x) => x.join(' ')).join(' | ')}`);
  const r = diffSpec(loaded);
  assert.equal(r.modelDifferences, 0, formatDiff(r));
});

test('a fault-count difference names the model\'s fault pages (a traced re-run) next to the native ones', { skip: nativeSkip }, () => {
  const spec = {
    name: 'fault-pages', machine: { cpu: 'skylake-sp', cpus: 1 }, kernel: 'linux-6.18',
    steps: [
      { op: 'mmap', region: 'h', size: '16KiB', kind: 'anon-private' },
      { op: 'touch', region: 'h', access: 'write', pages: [0, 2], pattern: 'sequential' },
    ],
  };
  // a model that miscounts: one fault too few on the touch step (its per-PTE trace is left as is)
  const undercount = (p: Parameters<typeof simulateRun>[0]) => {
    const r = simulateRun(p);
    r.steps[1].counters.faults.total -= 1;
    return r;
  };
  const r = diffSpec(loadSpecJson(spec, 'fault-pages'), { simulate: undercount });
  const d = r.differences.find((x) => x.field === 'faults.total');
  assert.ok(d, formatDiff(r));
  assert.match(d!.note ?? '', /model faults at h:0 h:2/);
  // (host noise may add a native fault; the two written pages are there whatever else is)
  if (d!.note?.includes('native faults')) assert.match(d!.note!, /native faults at (h:0 )+.*h:2/);
});

test('the fault sampler says when a step had more faults than its ring holds, and small steps after it are sampled again', { skip: nativeSkip }, () => {
  const script = '# sampler overflow\n0 main mmap h 40000 anon-private rw - 0 -\n1 main touch h w0-39999\n2 main touch h w0-9 r39990-39999\n';
  const { lines } = runReplayer([], script, 60_000);
  const [, big, small] = lines;
  if (!big.pf) return; // no perf_event_open on this host: nothing is sampled
  assert.deepEqual(big.pf, { lost: true }, '40000 faults overflow the 32 Ki-sample ring');
  assert.equal(ownFaultsExcluded(big), big.minflt + big.majflt, 'an overflowed step keeps the getrusage count');
  // already-mapped pages: sampled again, nothing left over from the overflow (a page compaction
  // moved in between could fault once: host noise only adds faults)
  assert.ok(small.pf && !('lost' in small.pf) && small.pf.in <= 1 && small.pf.at.length === small.pf.in, JSON.stringify(small.pf));
});

/** MADV_PAGEOUT only where the host can swap (it is refused otherwise, and the fuzz says so). */
const hostSwaps = host?.swap === true;
const advices = (kind: string): string[] => [...(kind === 'anon-private' ? ['dontneed', 'free', 'cold'] : ['dontneed', 'cold']), ...(hostSwaps ? ['pageout'] : [])];

/** Random op sequences over one small region, with an inspect after every op. */
const PAGES = 8;
const pagesArb = fc.uniqueArray(fc.integer({ min: 0, max: PAGES - 1 }), { minLength: 1, maxLength: PAGES }).map((a) => a.sort((x, y) => x - y));
const opArb = (kind: string, uffd: boolean, forked: boolean): fc.Arbitrary<Record<string, unknown>> => {
  const proc = forked ? fc.constantFrom('main', 'child') : fc.constant('main');
  const ops: fc.Arbitrary<Record<string, unknown>>[] = [
    fc.record({ op: fc.constant('touch'), region: fc.constant('h'), access: fc.constantFrom('read', 'write', 'rw'), pages: pagesArb, pattern: fc.constantFrom('sequential', 'random'), process: proc }),
    fc.record({ op: fc.constant('mprotect'), region: fc.constant('h'), prot: fc.constantFrom('none', 'r', 'rw'), pages: pagesArb, process: proc }),
    fc.record({ op: fc.constant('madvise'), region: fc.constant('h'), advice: fc.constantFrom(...advices(kind)), pages: pagesArb, process: proc }),
  ];
  // no clear-refs young: it clears A without a TLB flush, so whether a later access sets A again
  // depends on TLB eviction on the host (scheduling), which no model can reproduce run for run
  if (uffd) ops.push(fc.record({ op: fc.constant('uffd-writeprotect'), region: fc.constant('h'), wp: fc.boolean(), pages: pagesArb }));
  return fc.oneof(...ops);
};
const specArb = fc
  .record({
    kind: fc.constantFrom('anon-private', 'anon-private', 'anon-shared'),
    uffd: fc.constantFrom('none', 'wp', 'wp-async'),
    forkAt: fc.integer({ min: -1, max: 6 }),
    // start from written pages, from read-only faults (zero pages on anon memory, clean holes on
    // shmem: what fork, swap-in and reclaim treat differently), or from nothing
    prefill: fc.constantFrom('write', 'write', 'read', 'none'),
    n: fc.integer({ min: 1, max: 8 }),
  })
  .chain(({ kind, uffd, forkAt, n, prefill }) =>
    fc.tuple(fc.constant({ kind, uffd, forkAt, prefill }), fc.array(opArb(kind, uffd !== 'none', false), { minLength: n, maxLength: n }), fc.array(opArb(kind, uffd !== 'none', true), { minLength: 0, maxLength: 4 })),
  )
  .map(([{ kind, uffd, forkAt, prefill }, before, after]) => {
    const steps: Record<string, unknown>[] = [{ op: 'mmap', region: 'h', size: `${PAGES * 4}KiB`, kind }];
    if (prefill !== 'none') steps.push({ op: 'touch', region: 'h', access: prefill });
    appendFuzzSteps(steps, uffd, forkAt, before, after);
    return { name: 'fuzz', machine: { cpu: 'skylake-sp', cpus: 1 }, kernel: 'linux-6.18', steps };
  });

/**
 * Knobs: PTLAB_FUZZ_RUNS sequences per seed (default 200 with CI set, else 20), PTLAB_FUZZ_SEEDS a
 * comma-separated seed list (default 20220718; PTLAB_FUZZ_SEED still names a single one). A
 * nightly-size run: PTLAB_FUZZ_RUNS=200 PTLAB_FUZZ_SEEDS=20220718,1,2.
 */
const FUZZ_RUNS = Number(process.env.PTLAB_FUZZ_RUNS ?? (process.env.CI ? 200 : 20));
const FUZZ_SEEDS = (process.env.PTLAB_FUZZ_SEEDS ?? process.env.PTLAB_FUZZ_SEED ?? '20220718').split(',').map((x) => Number(x.trim()));

for (const seed of FUZZ_SEEDS) {
  test(`differential fuzz (seed ${seed}): ${FUZZ_RUNS} generated op sequences show no model difference`, { skip: nativeSkip }, (t) => {
    // what this host changes about the comparison is said, never silently skipped
    for (const q of hostQuirks(host!)) t.diagnostic(`host quirk: ${q}`);
    if (!hostSwaps) t.diagnostic('host quirk: no swap device, so the fuzz generates no MADV_PAGEOUT (swap) sequences here');
    fc.assert(
      fc.property(specArb, (spec) => {
        // The host is not quiet (DAMON's kdamond clears A bits, compaction migrates pages): a
        // difference must show on three replays in a row to count; a model bug always does.
        let r = diffSpec(loadSpecJson(spec, 'fuzz'));
        for (let again = 0; again < 2 && r.modelDifferences > 0; again++) r = diffSpec(loadSpecJson(spec, 'fuzz'));
        assert.equal(r.modelDifferences, 0, `${formatDiff(r)}\nspec: ${JSON.stringify(spec)}`);
      }),
      { numRuns: FUZZ_RUNS, seed, includeErrorInReport: true },
    );
  });
}

test('the fuzz generator only builds specs the replayer accepts', { skip: nativeSkip }, () => {
  const { replayNative } = require('../src/fidelity/replay') as typeof import('../src/fidelity/replay');
  fc.assert(
    fc.property(specArb, (spec) => {
      const rep = replayNative(loadSpecJson(spec, 'fuzz').plan);
      assert.equal(rep.steps.length, spec.steps.length);
    }),
    { numRuns: 15, seed: 7 },
  );
});

test('ptlab diff --variant NAME simulates a variant the spec gives as a value, and reports that name', { skip: nativeSkip }, () => {
  const spec = {
    name: 'diff a value',
    machine: { cpu: 'skylake-sp' },
    kernel: { name: 'six-eighteen-again', base: 'linux-6.18', overrides: { description: 'linux-6.18 under another name' } },
    steps: [{ op: 'mmap', region: 'h', size: '16KiB' }, { op: 'touch', region: 'h', access: 'write' }, { op: 'inspect', region: 'h' }],
  };
  const r = diffSpec(loadSpecJson(spec, 'value'), { variant: 'six-eighteen-again' });
  assert.match(r.variant, /^six-eighteen-again(\+no-zero-page)?$/);
  assert.equal(r.modelDifferences, 0, formatDiff(r));
});
