import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lab } from '../src/lab';
import { checkpointDirtyTracking, gcWriteBarrier, liveSnapshot } from '../src/workload/scenarios';

const base = () => lab.experiment('scenario').machine('skylake-sp', { cpus: 2 }).kernel('linux-6.18').mmap('heap', '1MiB').touch('heap', 'write');

test('live snapshot: protect all, copy and unprotect every chunk once', () => {
  const steps = liveSnapshot('heap', { pages: 256, chunk: 64, hints: ['write-likely'] });
  assert.deepEqual(steps.slice(0, 2), [
    { op: 'uffd-register', region: 'heap', modes: ['wp'] },
    { op: 'uffd-writeprotect', region: 'heap', wp: true },
  ]);
  const unprot = steps.filter((s) => s.op === 'uffd-writeprotect' && s.wp === false);
  assert.deepEqual(unprot.map((s) => s.pages), [0, 64, 128, 192].map((from) => ({ from, count: 64 })));
  assert.ok(unprot.every((s) => JSON.stringify(s.hints) === '["write-likely"]'));
  const r = base().steps(steps).validate({ registries: false });
  assert.deepEqual(r.issues, []);
});

test('GC write barrier: deterministic distinct pages, mprotect per epoch', () => {
  const a = gcWriteBarrier('heap', { pages: 256, epochs: 2, dirtyPages: 10, seed: 3 });
  assert.deepEqual(a, gcWriteBarrier('heap', { pages: 256, epochs: 2, dirtyPages: 10, seed: 3 }));
  const chosen = a[1].pages as number[];
  assert.equal(new Set(chosen).size, 10);
  assert.ok(chosen.every((p) => p >= 0 && p < 256));
  assert.deepEqual(a.map((s) => s.op), ['mprotect', 'touch', 'mprotect', 'touch', 'mprotect', 'touch', 'mprotect', 'touch']);
  assert.deepEqual(base().steps(a).validate({ registries: false }).issues, []);
});

test('checkpoint dirty tracking: soft-dirty and PAGEMAP_SCAN variants validate', () => {
  const sd = checkpointDirtyTracking('heap', { mode: 'soft-dirty', epochs: 2 });
  assert.deepEqual(sd.map((s) => s.op), ['clear-refs', 'touch', 'pagemap-scan', 'clear-refs', 'touch', 'pagemap-scan', 'clear-refs']);
  const ps = checkpointDirtyTracking('heap', { mode: 'pagemap-scan', epochs: 2 });
  assert.deepEqual(ps[0], { op: 'uffd-register', region: 'heap', modes: ['wp'], features: ['wp-async'] });
  assert.deepEqual(ps.at(-1), { op: 'pagemap-scan', region: 'heap', mode: 'written', clear: true });
  for (const steps of [sd, ps]) assert.deepEqual(base().steps(steps).validate({ registries: false }).issues, []);
});

test('the workload builder sizes scenarios from the mmap step', () => {
  const e = base().workload((w) => w.liveSnapshot('heap', { chunk: 128 }));
  const unprot = e.toSpec().steps.filter((s) => s.op === 'uffd-writeprotect' && s.wp === false);
  assert.equal(unprot.length, 2); // 1 MiB = 256 pages in chunks of 128
});
