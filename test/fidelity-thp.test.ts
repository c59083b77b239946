/**
 * Differential fuzz of THP op sequences (issue 17): a MADV_HUGEPAGE region of one or two 2 MiB
 * THPs (or 256 KiB with mTHP sizes enabled through sysfs, as root), random whole-THP and partial ranges for touch, mprotect, madvise (dontneed, free, cold,
 * hugepage, nohugepage, collapse: a failed MADV_COLLAPSE compares as its errno) and uffd-wp, sometimes a fork with child steps, an inspect of the whole
 * region after every op (so the smaps totals are compared too). Runs against this kernel; skipped
 * with a reason where the host cannot replay (no THP, no userfaultfd, not Linux x86-64).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { diffSpec, formatDiff } from '../src/fidelity/diff';
import { replayerSupport } from '../src/fidelity/native-build';
import { hostFacts } from '../src/fidelity/replay';
import { loadSpecJson } from '../src/fidelity/spec-input';
import { appendFuzzSteps } from './helpers/fuzz-steps';

const unsupported = replayerSupport();
const host = unsupported ? null : hostFacts();
const skip = unsupported
  ? `SKIPPED: ${unsupported}`
  : !host!.uffd
    ? `SKIPPED: userfaultfd unusable (${host!.uffdError})`
    : !host!.thp || host!.thp === 'never'
      ? `SKIPPED: transparent huge pages are ${host!.thp ?? 'not built in'} on this kernel`
      : !host!.pagemapScan
        ? 'SKIPPED: no PAGEMAP_SCAN (6.7+) to see PMD mappings'
        : undefined;

const rangeArb = (pages: number): fc.Arbitrary<{ from: number; count: number }> =>
  fc.oneof(
    fc.constant({ from: 0, count: pages }),
    fc.constantFrom(0, 512).filter((f) => f < pages).map((from) => ({ from, count: Math.min(512, pages - from) })),
    fc.integer({ min: 0, max: pages - 1 }).chain((from) => fc.integer({ min: 1, max: Math.min(16, pages - from) }).map((count) => ({ from, count }))),
  );

const opArb = (pages: number, uffd: boolean, forked: boolean): fc.Arbitrary<Record<string, unknown>> => {
  const proc = forked ? fc.constantFrom('main', 'child') : fc.constant('main');
  const pagesArb = rangeArb(pages);
  const ops: fc.Arbitrary<Record<string, unknown>>[] = [
    // 'rw' is a random mix of reads and writes (writeRatio 0.5 by default), not read-modify-write
    fc.record({ op: fc.constant('touch'), region: fc.constant('h'), access: fc.constantFrom('read', 'write', 'rw'), pages: pagesArb, process: proc }),
    fc.record({ op: fc.constant('mprotect'), region: fc.constant('h'), prot: fc.constantFrom('none', 'r', 'rw'), pages: pagesArb, process: proc }),
    fc.record({ op: fc.constant('madvise'), region: fc.constant('h'), advice: fc.constantFrom('dontneed', 'free', 'cold', 'hugepage', 'nohugepage', 'collapse'), pages: pagesArb, process: proc }),
  ];
  if (uffd) ops.push(fc.record({ op: fc.constant('uffd-writeprotect'), region: fc.constant('h'), wp: fc.boolean(), pages: pagesArb }));
  // (no khugepaged steps: their waits make a replay last long enough for this host's DAMON
  // (kdamond, paddr sampling) to mark an old PMD-mapped folio young, which smaps counts as
  // referenced - host noise the fuzz then reports; the khugepaged scenarios check that step)
  return fc.oneof(...ops);
};

const specArb = fc
  .record({
    // 64 pages: too small for a PMD, so writes get mTHP folios where the run enables sizes
    pages: fc.constantFrom(512, 512, 1024, 64),
    mthp: fc.constantFrom<Record<string, string> | null>(null, null, { '64kB': 'madvise' }, { '16kB': 'madvise', '64kB': 'madvise' }),
    uffd: fc.constantFrom('none', 'none', 'wp', 'wp-async'),
    forkAt: fc.integer({ min: -1, max: 5 }),
    prefill: fc.constantFrom('all', 'all', 'first', 'read', 'none'),
    n: fc.integer({ min: 1, max: 6 }),
  })
  .chain((o) => fc.tuple(fc.constant(o), fc.array(opArb(o.pages, o.uffd !== 'none', false), { minLength: o.n, maxLength: o.n }), fc.array(opArb(o.pages, o.uffd !== 'none', true), { minLength: 0, maxLength: 3 })))
  .map(([{ pages, mthp, uffd, forkAt, prefill }, before, after]) => {
    const steps: Record<string, unknown>[] = [{ op: 'mmap', region: 'h', size: `${pages * 4}KiB`, kind: 'anon-private', thp: 'hugepage' }];
    if (prefill === 'all') steps.push({ op: 'touch', region: 'h', access: 'write' });
    if (prefill === 'first') steps.push({ op: 'touch', region: 'h', access: 'write', pages: [0] });
    if (prefill === 'read') steps.push({ op: 'touch', region: 'h', access: 'read' });
    appendFuzzSteps(steps, uffd, forkAt, before, after);
    // mTHP sizes in madvise mode: only this MADV_HUGEPAGE region is affected while the replayer
    // holds the setting (it restores it at exit), not other programs' memory
    return { name: 'thp-fuzz', machine: { cpu: 'zen3', cpus: 1, ...(mthp && host?.pfnVisible && host.mthp && Object.keys(host.mthp).length ? { mthp } : {}) }, kernel: 'linux-6.18', steps };
  });

const FUZZ_RUNS = Number(process.env.PTLAB_THP_FUZZ_RUNS ?? (process.env.CI ? 60 : 12));

test(`THP differential fuzz: ${FUZZ_RUNS} generated op sequences show no model difference`, { skip }, () => {
  fc.assert(
    fc.property(specArb, (spec) => {
      // host noise (DAMON, compaction, khugepaged) must repeat on three replays to count
      let r = diffSpec(loadSpecJson(spec, 'thp-fuzz'));
      for (let again = 0; again < 2 && r.modelDifferences > 0; again++) r = diffSpec(loadSpecJson(spec, 'thp-fuzz'));
      assert.equal(r.modelDifferences, 0, `${formatDiff(r)}\nspec: ${JSON.stringify(spec)}`);
    }),
    { numRuns: FUZZ_RUNS, seed: Number(process.env.PTLAB_FUZZ_SEED ?? 20221125), includeErrorInReport: true },
  );
});
