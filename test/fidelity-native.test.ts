/**
 * The native replayer against this machine's kernel: asserts the kernel's known behaviour as
 * observed from user space (pagemap, kpageflags, per-page smaps, fault counts). Skips, saying
 * why, where the host cannot replay (not Linux x86-64, no cc, no userfaultfd, no swap, no
 * soft-dirty).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import fc from 'fast-check';
import { replayerSupport } from '../src/fidelity/native-build';
import { hostFacts, replayNative, ReplayRefused } from '../src/fidelity/replay';
import { ScriptError, toOpScript } from '../src/fidelity/script';
import { loadSpecFile, loadSpecJson } from '../src/fidelity/spec-input';
import { SpecError } from '../src/lab/spec-issues';
import type { NativeHeader, NativeReplay } from '../src/fidelity/native-types';

const SCENARIOS = join(__dirname, '../../fidelity/scenarios');
const unsupported = replayerSupport();
let host: NativeHeader | null = null;
if (!unsupported) host = hostFacts();

/** Returns a skip reason, or undefined when the test can run. */
function skipUnless(...needs: ('uffd' | 'swap' | 'softDirty' | 'root' | 'v6.3')[]): string | undefined {
  if (unsupported) return `SKIPPED: ${unsupported}`;
  const h = host!;
  for (const n of needs) {
    if (n === 'uffd' && !h.uffd) return `SKIPPED: userfaultfd unusable here (${h.uffdError})`;
    if (n === 'swap' && !h.swap) return 'SKIPPED: no active swap device (MADV_PAGEOUT of anon memory needs one)';
    if (n === 'softDirty' && !h.softDirty) return 'SKIPPED: kernel built without CONFIG_MEM_SOFT_DIRTY';
    if (n === 'root' && !h.pfnVisible) return 'SKIPPED: needs root (PFNs, kpageflags)';
    if (n === 'v6.3') {
      const m = /^(\d+)\.(\d+)/.exec(h.kernel);
      if (!m || Number(m[1]) * 1000 + Number(m[2]) < 6003) return `SKIPPED: kernel ${h.kernel} predates 6.3 uffd unprotect semantics`;
    }
  }
  return undefined;
}

function replayFile(name: string): NativeReplay {
  return replayNative(loadSpecFile(join(SCENARIOS, `${name}.json`)).plan);
}

function replaySteps(steps: unknown[], name = 'test'): NativeReplay {
  return replayNative(loadSpecJson({ name, machine: { cpu: 'skylake-sp' }, kernel: 'linux-6.18', steps }).plan);
}

test('uffd-wp protect sets pagemap bit 57, unprotect clears it, and (6.3+) the next write takes no fault', { skip: skipUnless('uffd', 'root', 'v6.3') }, () => {
  const r = replayFile('seed-uffd-unprotect-written-anon');
  const [, , touch1, before, , prot, , unprot, touch2, after] = r.steps;
  assert.equal(touch1.faults.total, 4, 'first writes allocate one page each');
  for (const row of before.inspect!) assert.deepEqual([row.present, row.uffdWp, row.young, row.dirty, row.exclusive], [true, false, true, true, true]);
  for (const row of prot.inspect!) assert.equal(row.uffdWp, true);
  for (const row of unprot.inspect!) {
    assert.equal(row.uffdWp, false);
    assert.equal(row.dirty, true, 'unprotect keeps D');
  }
  assert.equal(touch2.faults.total, 0, 'MM_CP_TRY_CHANGE_WRITABLE made the PTEs writable');
  assert.equal(touch2.uffd.wp, 0);
  for (const row of after.inspect!) assert.equal(row.dirty, true);
});

test('a write to a protected page is a synchronous uffd-wp round trip that the handler resolves', { skip: skipUnless('uffd', 'root') }, () => {
  const r = replayFile('seed-uffd-unprotect-single-page');
  const touch = r.steps[6];
  assert.equal(touch.op, 'touch');
  assert.equal(touch.uffd.wp, 3, 'pages 0, 2, 3 stay protected');
  const unprotected = r.steps[5].inspect!;
  assert.deepEqual(unprotected.map((x) => x.uffdWp), [true, false, true, true]);
  for (const row of r.steps[7].inspect!) assert.equal(row.uffdWp, false);
});

test('MADV_FREE leaves the PTE writable but old and clean: the write after it takes no fault', { skip: skipUnless('uffd', 'root') }, () => {
  const r = replayFile('seed-madv-free-then-unprotect');
  for (const row of r.steps[4].inspect!) assert.deepEqual([row.present, row.young, row.dirty], [true, false, false]);
  for (const row of r.steps[8].inspect!) assert.deepEqual([row.young, row.dirty, row.uffdWp], [false, false, false]);
  assert.equal(r.steps[9].faults.total, 0);
  for (const row of r.steps[10].inspect!) assert.deepEqual([row.young, row.dirty], [true, true]);
});

test('MADV_PAGEOUT then read: the page is back present, exclusive, young and clean; the write then takes no fault', { skip: skipUnless('swap', 'root') }, () => {
  const r = replayFile('seed-pageout-read-swapin');
  for (const row of r.steps[3].inspect!) assert.equal(row.entry, 'swap');
  assert.equal(r.steps[4].faults.total, 4);
  for (const row of r.steps[5].inspect!) assert.deepEqual([row.present, row.exclusive, row.young, row.dirty], [true, true, true, false]);
  assert.equal(r.steps[6].faults.total, 0, 'do_swap_page mapped it writable');
  for (const row of r.steps[7].inspect!) assert.equal(row.dirty, true);
});

test('soft-dirty: cleared by clear_refs, set by a write, not by mprotect RO->RW', { skip: skipUnless('softDirty') }, () => {
  const r = replayFile('soft-dirty-mprotect-anon');
  const sd = (i: number) => r.steps[i].inspect![0].softDirty;
  assert.equal(sd(2), true);
  assert.equal(sd(4), false);
  assert.equal(sd(6), false);
  assert.equal(sd(8), false);
  assert.equal(sd(10), true);
});

test('soft-dirty steps are refused, not answered wrongly, on a kernel without CONFIG_MEM_SOFT_DIRTY', { skip: unsupported ? `SKIPPED: ${unsupported}` : host!.softDirty ? 'SKIPPED: this kernel has soft-dirty' : undefined }, () => {
  assert.throws(() => replayFile('soft-dirty-simple'), (e: unknown) => e instanceof ReplayRefused && /CONFIG_MEM_SOFT_DIRTY/.test(e.message));
});

test('fork without EVENT_FORK drops uffd-wp in the child; the shared page is no longer exclusive', { skip: skipUnless('uffd', 'root') }, () => {
  const r = replayFile('uffd-wp-fork-no-event');
  assert.equal(r.steps[4].inspect![0].uffdWp, true);
  const child = r.steps[6];
  assert.equal(child.process, 'child');
  assert.deepEqual([child.inspect![0].uffdWp, child.inspect![0].exclusive, child.inspect![0].young], [false, false, false], 'copy_present_pte: child PTE old, no uffd-wp');
  assert.deepEqual([r.steps[7].inspect![0].uffdWp, r.steps[7].inspect![0].exclusive], [true, false]);
});

test('copy on write after fork: one fault per written page in either process', { skip: skipUnless('root') }, () => {
  const r = replayFile('cow-fork-child-write');
  assert.equal(r.steps[3].process, 'child');
  assert.equal(r.steps[3].faults.total, 4);
  // after a fork, pagemap's "mapped once" no longer proves PageAnonExclusive: true reads unknown
  for (const row of r.steps[4].inspect!) assert.deepEqual([row.exclusive, row.dirty], [null, true]);
  for (const row of r.steps[5].inspect!) assert.notEqual(row.exclusive, false, 'the child copied away: the parent maps its page alone again');
  const reuse = replayFile('cow-child-munmap-parent-reuse');
  assert.equal(reuse.steps[5].faults.total, 4, 'still write-protected: one fault each (reuse, not copy)');
});

test('a shared file page: read maps clean, write dirties PTE and folio, writeback cleans and re-protects', { skip: skipUnless('root') }, () => {
  const r = replayFile('file-shared-writeback');
  assert.equal(r.steps[1].faults.total, 4, 'write faults on cached pages (do_shared_fault)');
  // file regions keep one VMA (fault-around), so the PTE's D bit is not visible: folio flags are
  for (const row of r.steps[2].inspect!) assert.deepEqual([row.present, row.folioDirty], [true, true]);
  for (const row of r.steps[4].inspect!) assert.deepEqual([row.present, row.folioDirty], [true, false]);
  assert.equal(r.steps[5].faults.total, 4, '->page_mkwrite runs again for each page');
});

test('writes to a PROT_READ region are SIGSEGVs, not faults', { skip: unsupported ? `SKIPPED: ${unsupported}` : undefined }, () => {
  const r = replayFile('prot-read-write-sigsegv');
  assert.equal(r.steps[1].faults.sigsegv, 4);
  assert.equal(r.steps[1].faults.total, 0);
  assert.equal(r.steps[4].faults.sigsegv, 0);
  assert.equal(r.steps[4].faults.total, 4);
});

test('every scenario translates into an op script (steps, regions, tokens)', () => {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const files = readdirSync(SCENARIOS).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 25, `${files.length} scenarios`);
  for (const f of files) {
    const { plan: resolved } = loadSpecFile(join(SCENARIOS, f));
    const s = toOpScript(resolved, { seed: resolved.seed });
    // one line per step, besides the title comment and host directives (@mthp)
    assert.equal(s.text.trim().split('\n').filter((l) => /^\d/.test(l)).length, resolved.steps.length, f);
  }
});

test('what cannot be replayed is refused with the field and the reason', () => {
  const base = { name: 'x', machine: { cpu: 'skylake-sp' }, kernel: 'linux-6.18' };
  const mk = (steps: unknown[]) => loadSpecJson({ ...base, steps }).plan;
  assert.throws(
    () => toOpScript(mk([{ op: 'mmap', region: 'h', size: '4KiB' }, { op: 'reclaim' }])),
    (e: unknown) => e instanceof ScriptError && /steps\[1\] \(reclaim\) cannot be replayed natively/.test(e.message),
  );
  assert.throws(
    () => toOpScript(mk([{ op: 'mmap', region: 'h', size: '4KiB' }, { op: 'uffd-register', region: 'h', modes: ['missing'] }, { op: 'uffd-zeropage', region: 'h', wp: true }])),
    (e: unknown) => e instanceof ScriptError && /steps\[2\]\.wp/.test(e.message),
  );
  assert.throws(
    () => loadSpecJson({ ...base, steps: [{ op: 'madvise', region: 'h', advice: 'bogus' }] }),
    (e: unknown) => e instanceof SpecError && /steps\[0\]\.advice/.test(e.message),
  );
});

test('property: n distinct pages written first = n faults, and exactly those pages become present and dirty', { skip: skipUnless('root') }, () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 16 }), fc.integer({ min: 0, max: 3 }), (pages, extra) => {
      const again = pages.slice(0, extra);
      const r = replaySteps([
        { op: 'mmap', region: 'h', size: '64KiB' },
        { op: 'touch', region: 'h', access: 'write', pages },
        { op: 'touch', region: 'h', access: 'write', pages: again.length ? again : [pages[0]] },
        { op: 'inspect', region: 'h' },
      ]);
      assert.equal(r.steps[1].faults.total, pages.length);
      assert.equal(r.steps[2].faults.total, 0, 'rewrites hit writable, dirty PTEs');
      for (const row of r.steps[3].inspect!) {
        const touched = pages.includes(row.page);
        assert.equal(row.present, touched);
        assert.equal(row.dirty, touched);
      }
    }),
    { numRuns: 12, seed: 4242 },
  );
});
