/**
 * The rules of the July 2022 thread, per variant (DESIGN.md "Kernel variants").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Lab } from './helpers/kernel-harness';
import { deriveVariant, type KernelVariant } from '../src/kernel/variant';
import { getVariant } from '../src/kernel/variants';
import { KernelInvariantError } from '../src/kernel/invariants';

const N = 64;

/** Written exclusive anon pages, optionally made old+clean by MADV_FREE, then uffd-wp protected and unprotected. */
function protectedThenUnprotected(variant: string, opts: { madvFree?: boolean; hints?: ('write-likely' | 'access-likely')[] } = {}) {
  const l = new Lab(variant);
  l.map('heap', N);
  l.writeAll('heap', N);
  if (opts.madvFree) l.k.madvise(l.mm, 0, l.start('heap'), N, 'free');
  l.k.uffdRegister(l.mm, l.start('heap'), N, ['wp']);
  l.k.uffdWriteprotect(l.mm, 0, l.start('heap'), N, true);
  assert.equal(l.page('heap', 0).write, false, 'uffd-wp protect write-protects');
  assert.equal(l.page('heap', 0).uffdWp, true);
  l.resetCounters();
  l.k.uffdWriteprotect(l.mm, 0, l.start('heap'), N, false, opts.hints ?? []);
  return l;
}

test('linux-5.19: uffd unprotect only clears uffd-wp; the next write takes a wp fault that sets A+D+RW (wp_page_reuse)', () => {
  const l = protectedThenUnprotected('linux-5.19', { madvFree: true });
  const p = l.page('heap', 0);
  assert.deepEqual([p.write, p.uffdWp, p.young, p.dirty], [false, false, false, false]);
  assert.equal(l.ev('tlbFlushRequest'), 0, 'clearing a software bit needs no flush');
  l.resetCounters();
  assert.ok(l.write('heap', 0));
  assert.equal(l.fault('wpReuse'), 1);
  assert.equal(l.hw('dBitSet') + l.hw('adBitSet'), 0, 'software set D: no hardware D update');
  const q = l.page('heap', 0);
  assert.deepEqual([q.write, q.young, q.dirty], [true, true, true]);
});

test('linux-6.18: uffd unprotect makes an exclusive anon PTE writable at once, A and D unchanged, and flushes the TLB', () => {
  for (const madvFree of [true, false]) {
    const l = protectedThenUnprotected('linux-6.18', { madvFree });
    const p = l.page('heap', 0);
    assert.equal(p.write, true);
    assert.equal(p.young, !madvFree, 'A unchanged');
    assert.equal(p.dirty, !madvFree, 'D unchanged');
    assert.equal(l.ev('tlbFlushRequest'), 1, 'RW change: one batched flush');
    l.resetCounters();
    assert.ok(l.write('heap', 0));
    assert.equal(l.hw('pageFault'), 0, 'no fault');
    if (madvFree) assert.equal(l.hw('adBitSet'), 1, 'the first write pays a hardware A+D update');
  }
});

test('rfc-2022-uffd-hints: unprotect with WRITE_LIKELY maps RW+young+dirty; the first write needs no A/D update', () => {
  const l = protectedThenUnprotected('rfc-2022-uffd-hints', { madvFree: true, hints: ['write-likely'] });
  const p = l.page('heap', 0);
  assert.deepEqual([p.write, p.young, p.dirty], [true, true, true]);
  l.resetCounters();
  assert.ok(l.write('heap', 1));
  assert.equal(l.hw('aBitSet') + l.hw('dBitSet') + l.hw('adBitSet'), 0);
  // without a hint it behaves like 6.18
  const q = protectedThenUnprotected('rfc-2022-uffd-hints', { madvFree: true }).page('heap', 0);
  assert.deepEqual([q.write, q.young, q.dirty], [true, false, false]);
});

test('rfc-2022-uffd-hints: ACCESS_LIKELY alone makes the PTE young; dirty only because it became writable', () => {
  const l = protectedThenUnprotected('rfc-2022-uffd-hints', { madvFree: true, hints: ['access-likely'] });
  const p = l.page('heap', 0);
  assert.deepEqual([p.write, p.young, p.dirty], [true, true, true]);
});

test('linux-6.2 vs 5.19: mprotect RO->RW on an exclusive anon page', () => {
  // "after mprotect RO->RW on an exclusive anon page under linux-6.2, the PTE is writable, still clean, and no fault occurs"
  for (const variant of ['linux-6.2', 'linux-5.19', 'linux-6.0']) {
    const l = new Lab(variant);
    l.map('heap', 4);
    l.writeAll('heap', 4);
    l.k.madvise(l.mm, 0, l.start('heap'), 4, 'free'); // clean + old, still RW
    l.k.mprotect(l.mm, 0, l.start('heap'), 4, 'r');
    l.k.mprotect(l.mm, 0, l.start('heap'), 4, 'rw');
    const p = l.page('heap', 0);
    l.resetCounters();
    l.write('heap', 0);
    if (variant === 'linux-6.2') {
      assert.deepEqual([p.write, p.dirty], [true, false], variant);
      assert.equal(l.hw('pageFault'), 0, variant);
    } else {
      // 5.19: no can_change_pte_writable; 6.0: it requires pte_dirty()
      assert.equal(p.write, false, variant);
      assert.equal(l.fault('wpReuse'), 1, variant);
    }
  }
});

test('linux-6.0: mprotect RO->RW upgrades a dirty exclusive anon PTE without a fault', () => {
  const l = new Lab('linux-6.0');
  l.map('heap', 1);
  l.write('heap', 0);
  l.k.mprotect(l.mm, 0, l.start('heap'), 1, 'r');
  l.k.mprotect(l.mm, 0, l.start('heap'), 1, 'rw');
  assert.equal(l.page('heap', 0).write, true);
});

test('proposal-dirty-on-mkwrite: mprotect RO->RW of clean pages makes them dirty, and reclaim then writes them out though nobody wrote them', () => {
  const written = (variant: string) => {
    const l = new Lab(variant);
    l.map('heap', N);
    l.writeAll('heap', N);
    l.k.madvise(l.mm, 0, l.start('heap'), N, 'free'); // clean, lazily freeable
    l.k.mprotect(l.mm, 0, l.start('heap'), N, 'r');
    l.k.mprotect(l.mm, 0, l.start('heap'), N, 'rw');
    const dirty = l.k.dirtyPages();
    l.k.writebackThisStep = 0;
    l.k.reclaim('all');
    l.k.reclaim('all');
    return { dirty, written: l.k.writebackThisStep };
  };
  const base = written('linux-6.18');
  const prop = written('proposal-dirty-on-mkwrite');
  assert.equal(base.dirty, 0);
  assert.equal(base.written, 0, '6.18: MADV_FREE pages are discarded without I/O');
  assert.equal(prop.dirty, N, 'every upgraded PTE is dirty');
  assert.equal(prop.written, N, 'and every one is written to swap');
});

test('proposal-dirty-on-mkwrite dirties only where the try-change-writable branch grants write: shmem mprotect RO->RW (a pte_modify grant from a writable vm_page_prot) stays clean; the every-write-grant what-if dirties it', () => {
  const everyGrant = deriveVariant(getVariant('linux-6.18'), { name: 'what-if-dirty-on-every-write-grant', mkdirtyOnEveryWriteGrant: true });
  const after = (variant: string | KernelVariant) => {
    const l = new Lab(variant);
    l.map('shm', 4, 'anon-shared');
    for (let i = 0; i < 4; i++) l.read('shm', i); // shmem holes read-faulted: clean
    l.k.mprotect(l.mm, 0, l.start('shm'), 4, 'r');
    l.k.mprotect(l.mm, 0, l.start('shm'), 4, 'rw');
    return l.page('shm', 0);
  };
  for (const v of ['linux-6.18', 'proposal-dirty-on-mkwrite']) {
    const p = after(v);
    assert.equal(p.write, true, `${v}: shmem without writenotify: pte_modify grants write`);
    assert.equal(p.dirty, false, `${v}: and the PTE stays clean`);
  }
  const w = after(everyGrant);
  assert.equal(w.write, true);
  assert.equal(w.dirty, true, 'every-write-grant: dirty');
});

test('mapping a clean page-cache page writable without ->page_mkwrite is flagged (a variant that sets D before the writability check)', () => {
  const dirtyFirst = deriveVariant(getVariant('linux-6.18'), {
    name: 'what-if-mkdirty-before-check',
    hooks: {
      // the ordering Nadav warned about: dirty a shared file PTE, which makes it look notified
      changePte: (c) => (c.cause === 'uffd-unprotect' && c.vma.shared ? c.arch.pte_mkwrite(c.arch.pte_mkdirty(c.newPte)) : c.newPte),
    },
  });
  const l = new Lab(dirtyFirst, { strict: false });
  l.map('file', 8, 'file-shared', { fs: 'mkwrite' });
  for (let p = 0; p < 8; p++) l.read('file', p);
  l.k.uffdRegister(l.mm, l.start('file'), 8, ['wp'], ['wp-async']); // page-cache files: 6.7+, WP_ASYNC only
  l.k.uffdWriteprotect(l.mm, 0, l.start('file'), 8, true);
  l.k.uffdWriteprotect(l.mm, 0, l.start('file'), 8, false);
  const bypassed = l.k.violations[3];
  assert.equal(bypassed, 8, 'mkwriteBypassed for each page');
  l.write('file', 0);
  assert.equal(l.k.violations[2], 1, 'writeWithoutMkwrite when the write lands');
  // strict mode throws
  const s = new Lab(dirtyFirst, { strict: true });
  s.map('file', 1, 'file-shared', { fs: 'mkwrite' });
  s.read('file', 0);
  s.k.uffdRegister(s.mm, s.start('file'), 1, ['wp'], ['wp-async']);
  s.k.uffdWriteprotect(s.mm, 0, s.start('file'), 1, true);
  assert.throws(() => s.k.uffdWriteprotect(s.mm, 0, s.start('file'), 1, false), KernelInvariantError);
  // the real kernel never does this
  const ok = new Lab('linux-6.18', { strict: true });
  ok.map('file', 8, 'file-shared', { fs: 'mkwrite' });
  for (let p = 0; p < 8; p++) ok.read('file', p);
  ok.k.uffdRegister(ok.mm, ok.start('file'), 8, ['wp'], ['wp-async']);
  ok.k.uffdWriteprotect(ok.mm, 0, ok.start('file'), 8, true);
  ok.k.uffdWriteprotect(ok.mm, 0, ok.start('file'), 8, false);
  assert.equal(ok.page('file', 0).write, false, 'clean shared PTE stays read-only: the write must fault for ->page_mkwrite');
  ok.resetCounters();
  ok.write('file', 0);
  assert.equal(ok.fault('wpSharedMkwrite'), 1);
});

test('rfc-2022-relaxed-flush: promotion flushes only locally; the other CPU takes a spurious fault and flushes itself', () => {
  for (const variant of ['linux-6.18', 'rfc-2022-relaxed-flush']) {
    const l = new Lab(variant, { cpus: 2 });
    l.map('heap', 8);
    l.writeAll('heap', 8);
    for (let p = 0; p < 8; p++) l.read('heap', p, 1); // CPU 1 caches the translations too
    l.k.uffdRegister(l.mm, l.start('heap'), 8, ['wp']);
    l.k.uffdWriteprotect(l.mm, 0, l.start('heap'), 8, true);
    for (let p = 0; p < 8; p++) l.read('heap', p, 1); // CPU 1 caches read-only entries
    l.resetCounters();
    l.k.uffdWriteprotect(l.mm, 0, l.start('heap'), 8, false);
    const ipis = l.ev('ipi');
    for (let p = 0; p < 8; p++) assert.ok(l.write('heap', p, 1));
    if (variant === 'linux-6.18') {
      assert.equal(ipis, 1, 'strict flush: one IPI to CPU 1');
      assert.equal(l.hw('pageFault'), 0);
    } else {
      assert.equal(ipis, 0, 'relaxed: no IPI');
      assert.equal(l.hw('pageFault'), 1, 'one spurious fault on CPU 1, whose stale generation then flushes all');
      assert.equal(l.fault('spurious') + l.fault('accessFlags'), 1);
    }
    assert.equal(l.k.mmu.violations[0], 0, 'never a write through a stale writable entry');
  }
});

test('up to 6.2, uffd unprotect rebuilds PTEs from vm_get_page_prot(): on shmem with soft-dirty tracking armed it maps them writable, so a write skips the soft-dirty fault (fixed in 6.3 by relying on vma->vm_page_prot)', () => {
  for (const [variant, bypass] of [['linux-5.19', true], ['linux-6.2', true], ['linux-6.3', false], ['linux-6.18', false]] as const) {
    const l = new Lab(variant);
    l.map('shm', 4, 'anon-shared');
    l.writeAll('shm', 4);
    l.k.uffdRegister(l.mm, l.start('shm'), 4, ['wp']);
    l.k.clearRefs(l.mm, 0, 'soft-dirty'); // writenotify for soft-dirty: vm_page_prot read-only
    l.k.uffdWriteprotect(l.mm, 0, l.start('shm'), 4, true);
    l.k.uffdWriteprotect(l.mm, 0, l.start('shm'), 4, false);
    assert.equal(l.page('shm', 0).write, bypass, `${variant}: writable after unprotect`);
    l.write('shm', 0);
    assert.equal(l.page('shm', 0).softDirty, !bypass, `${variant}: the write ${bypass ? 'is missed by' : 'is seen by'} soft-dirty tracking`);
  }
});

test('the 5.19-6.2 unprotect bug cannot reach page-cache files: UFFDIO_REGISTER(wp) of a file mapping fails with EINVAL before 6.7 (vma_can_userfault)', () => {
  for (const variant of ['linux-5.19', 'linux-6.2', 'linux-6.3']) {
    const l = new Lab(variant);
    l.map('file', 4, 'file-shared', { fs: 'mkwrite' });
    assert.throws(() => l.k.uffdRegister(l.mm, l.start('file'), 4, ['wp']), (e: Error) => /EINVAL/.test(e.message) && /before 6\.7/.test(e.message), variant);
  }
});

test('the modelled uffd-wp handler: copies the page first when asked (live snapshot), and passes its hints to UFFDIO_WRITEPROTECT', () => {
  const l = new Lab('rfc-2022-uffd-hints');
  l.map('heap', 4);
  l.writeAll('heap', 4);
  l.k.madvise(l.mm, 0, l.start('heap'), 4, 'free');
  l.k.uffdRegister(l.mm, l.start('heap'), 4, ['wp'], [], { copy: true, hints: ['write-likely'] });
  l.k.uffdWriteprotect(l.mm, 0, l.start('heap'), 4, true);
  l.resetCounters();
  assert.ok(l.write('heap', 2));
  assert.equal(l.fault('uffdWp'), 1);
  assert.equal(l.ev('pageCopy'), 1, 'the handler copied the page');
  assert.equal(l.hw('pageFault'), 1, 'one #PF: the handler round trip is retried inside it');
  const p = l.page('heap', 2);
  assert.deepEqual([p.write, p.young, p.dirty, p.uffdWp], [true, true, true, false], 'WRITE_LIKELY: young and dirty, so no hardware A/D update');
  assert.equal(l.hw('adBitSet') + l.hw('aBitSet') + l.hw('dBitSet'), 0);
  assert.equal(l.page('heap', 3).uffdWp, true, 'other pages stay protected');
});

test('mkwriteDirtyPte counts the PTEs change_pte_range makes writable while dirty, per variant and direction', () => {
  // 8 written (dirty) pages and 8 MADV_FREE'd (clean) ones, then mprotect RO and RW.
  const counts = (variant: string) => {
    const l = new Lab(variant);
    l.map('heap', 16);
    l.writeAll('heap', 16);
    l.k.madvise(l.mm, 0, l.start('heap') + 8, 8, 'free');
    l.resetCounters();
    l.k.mprotect(l.mm, 0, l.start('heap'), 16, 'r');
    const ro = l.ev('mkwriteDirtyPte');
    l.k.mprotect(l.mm, 0, l.start('heap'), 16, 'rw');
    return { ro, rw: l.ev('mkwriteDirtyPte') - ro, changed: l.ev('changePte'), writable: [0, 8].map((i) => l.page('heap', i).write) };
  };
  // 6.2: every exclusive anon PTE becomes writable; only the 8 dirty ones count. Write-protecting counts none.
  assert.deepEqual(counts('linux-6.2'), { ro: 0, rw: 8, changed: 32, writable: [true, true] });
  // 6.0: can_change_pte_writable wants pte_dirty, so the same 8 (and the clean ones stay read-only)
  assert.deepEqual(counts('linux-6.0'), { ro: 0, rw: 8, changed: 32, writable: [true, false] });
  // 5.19: mprotect never upgrades private anon PTEs
  assert.deepEqual(counts('linux-5.19'), { ro: 0, rw: 0, changed: 32, writable: [false, false] });
});

test('linux-6.18: uffd unprotect of dirty PTEs counts mkwriteDirtyPte, of MADV_FREE\'d clean ones none (the seed scenario)', () => {
  assert.equal(protectedThenUnprotected('linux-6.18').ev('mkwriteDirtyPte'), N);
  assert.equal(protectedThenUnprotected('linux-6.18', { madvFree: true }).ev('mkwriteDirtyPte'), 0);
  assert.equal(protectedThenUnprotected('linux-5.19').ev('mkwriteDirtyPte'), 0, '5.19 leaves them read-only');
});
