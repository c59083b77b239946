/**
 * What-if hooks beyond change_pte_range (src/kernel/hooks.ts): MADV_FREE/DONTNEED per PTE, the PTE
 * a fault installs, reclaim's decision per folio. Each hook sees the rules' decision and the arch
 * PTE accessors, and what it returns is what the model does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveVariant, type KernelVariant, type VariantHooks } from '../src/kernel/variant';
import { getVariant } from '../src/kernel/variants';
import { runSync } from '../src/lab/runner';
import type { ExperimentSpec, Step } from '../src/lab/spec';
import type { RunResult } from '../src/lab/types';
import { pte_dirty } from '../src/x86/pte';

// The first reclaim finds the new pages young (activates them, clearing A); the second takes them.
const RECLAIM: Step[] = [{ op: 'reclaim', pages: 'all' }, { op: 'reclaim', pages: 'all' }];

let n = 0;
function withHooks(hooks: VariantHooks): KernelVariant {
  return deriveVariant(getVariant('linux-6.18'), { name: `hooked-${++n}`, hooks });
}

function run(kernel: string | KernelVariant, steps: Step[]): RunResult {
  const name = typeof kernel === 'string' ? kernel : kernel.name;
  const spec = { name: 'hooks', machine: { cpu: 'skylake-sp', cpus: 2 }, kernel: name, steps } as ExperimentSpec;
  return runSync(spec, { variants: typeof kernel === 'string' ? [] : [kernel] }).runs[0];
}

const PAGES: Step[] = [
  { op: 'mmap', region: 'heap', size: '64KiB' },
  { op: 'touch', region: 'heap', access: 'write' },
];

test('madvisePte: MADV_FREE that keeps D — the page stays dirty, so reclaim keeps it instead of discarding it', () => {
  const seen: string[] = [];
  const keepDirty = withHooks({
    madvisePte: (c) => {
      seen.push(c.advice);
      assert.equal(c.page?.anon, true);
      // the rules' PTE is old and clean; the hook puts D back with the arch accessor
      assert.equal(pte_dirty(c.newPte), false);
      return c.arch.pte_mkdirty(c.newPte);
    },
  });
  const steps: Step[] = [...PAGES, { op: 'madvise', region: 'heap', advice: 'free' }, { op: 'inspect', region: 'heap', pages: [0] }, { op: 'reclaim', pages: 'all' }, { op: 'inspect', region: 'heap', pages: [0] }];
  const base = run('linux-6.18', steps);
  const hooked = run(keepDirty, steps);
  assert.equal(seen.length, 16);
  assert.ok(seen.every((a) => a === 'free'));
  assert.equal(base.steps[3].inspect![0].dirty, false);
  assert.equal(hooked.steps[3].inspect![0].dirty, true);
  // shrink_folio_list: a clean lazyfree folio is discarded; a re-dirtied one is swap-backed again and kept
  assert.equal(base.steps[5].inspect![0].present, false, 'clean lazyfree pages are discarded');
  assert.equal(hooked.steps[5].inspect![0].present, true, 'dirty lazyfree pages stay');
  assert.equal(hooked.steps[4].counters.swapOutPages, 0);
});

test('madvisePte: MADV_DONTNEED whose hook keeps the PTE leaves the page mapped', () => {
  const keep = withHooks({ madvisePte: (c) => (c.advice === 'dontneed' && c.vpn % 2 === 0 ? c.oldPte : c.newPte) });
  const steps: Step[] = [...PAGES, { op: 'madvise', region: 'heap', advice: 'dontneed' }, { op: 'inspect', region: 'heap', pages: { from: 0, count: 4 } }];
  const rows = run(keep, steps).steps[3].inspect!;
  const present = rows.map((r) => r.present);
  // two of every four pages kept (which ones depends on the region's start vpn)
  assert.equal(present.filter(Boolean).length, 2);
  assert.deepEqual(run('linux-6.18', steps).steps[3].inspect!.map((r) => r.present), [false, false, false, false]);
});

test('faultPte: an anon write fault that installs the PTE clean makes the walker set D on the retried write', () => {
  const paths: string[] = [];
  const clean = withHooks({
    faultPte: (c) => {
      paths.push(`${c.path}:${c.write}`);
      assert.equal(c.oldPte, 0n);
      return c.arch.pte_mkclean(c.newPte);
    },
  });
  const base = run('linux-6.18', PAGES);
  const hooked = run(clean, PAGES);
  assert.deepEqual([...new Set(paths)], ['anon:true']);
  assert.equal(base.steps[1].counters.dBitSets, 0, 'do_anonymous_page maps a written page dirty');
  assert.equal(hooked.steps[1].counters.dBitSets, 16, 'a clean PTE costs the CPU an A/D update on the write');
});

test('faultPte sees swap-in and write-protect paths too', () => {
  const paths = new Set<string>();
  const watch = withHooks({ faultPte: (c) => (paths.add(c.path), c.newPte) });
  run(watch, [...PAGES, ...RECLAIM, { op: 'touch', region: 'heap', access: 'read' }, { op: 'fork', child: 'c' }, { op: 'touch', region: 'heap', access: 'write' }]);
  assert.ok(paths.has('anon') && paths.has('swap') && (paths.has('wp-reuse') || paths.has('wp-copy')), [...paths].join(', '));
});

test('reclaimFolio: keep every folio — reclaim frees nothing; the context carries the rules\' decision', () => {
  const decisions: string[] = [];
  const keep = withHooks({ reclaimFolio: (c) => (decisions.push(c.decision), 'keep') });
  const steps: Step[] = [...PAGES, ...RECLAIM, { op: 'inspect', region: 'heap', pages: [0] }];
  const base = run('linux-6.18', steps);
  const hooked = run(keep, steps);
  assert.equal(base.steps[3].counters.swapOutPages, 16);
  assert.equal(hooked.steps[3].counters.swapOutPages + hooked.steps[2].counters.swapOutPages, 0);
  assert.equal(hooked.steps[4].inspect![0].present, true);
  // the rules activate the young folios (first reclaim) — kept inactive by the hook, and then,
  // no longer young, they are the rules' to reclaim
  assert.ok(decisions.includes('activate') && decisions.includes('reclaim'), decisions.join(','));
});
