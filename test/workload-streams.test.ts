import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { makeAccessStream } from '../src/workload/access-stream';
import type { AccessStream, TouchStepLike } from '../src/workload/types';
import { ZipfSampler } from '../src/workload/zipf';
import { Xoshiro128ss } from '../src/workload/prng';

function drain(s: AccessStream, chunk = 256): { page: number[]; write: number[]; cpu: number[] } {
  const p = new Float64Array(chunk), w = new Uint8Array(chunk), c = new Uint16Array(chunk);
  const out = { page: [] as number[], write: [] as number[], cpu: [] as number[] };
  let n;
  while ((n = s.fill(p, w, c)) > 0)
    for (let i = 0; i < n; i++) {
      out.page.push(p[i]);
      out.write.push(w[i]);
      out.cpu.push(c[i]);
    }
  return out;
}

const PATTERNS = ['sequential', 'random', 'zipf', 'stride', 'hotcold'] as const;

test('every pattern yields `count` accesses inside the selection, and is deterministic', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...PATTERNS),
      fc.integer({ min: 1, max: 300 }),
      fc.integer({ min: 0, max: 2000 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 0, max: 1e6 }),
      fc.integer({ min: 1, max: 97 }),
      (pattern, pages, count, threads, seed, chunk) => {
        const from = Math.floor(pages / 3);
        const sel = { from, count: pages - from };
        const step: TouchStepLike = { pattern, count, threads, pages: sel, access: 'rw', writeRatio: 0.3 };
        const a = drain(makeAccessStream(step, { pages, seed, cpus: 4 }), chunk);
        const b = drain(makeAccessStream(step, { pages, seed, cpus: 4 }), 64);
        assert.equal(a.page.length, count);
        assert.deepEqual(a, b, 'the buffer size must not change the stream');
        for (const p of a.page) assert.ok(p >= sel.from && p < sel.from + sel.count, `page ${p} outside selection`);
        for (const c of a.cpu) assert.ok(c < 4);
      },
    ),
    { numRuns: 120 },
  );
});

test('sequential with one thread visits pages in order; default count = each page once', () => {
  const s = drain(makeAccessStream({ access: 'write' }, { pages: 10, seed: 1, cpus: 1 }));
  assert.deepEqual(s.page, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(s.write.every((w) => w === 1));
});

test('page lists map selection order to region pages', () => {
  const s = drain(makeAccessStream({ pages: [7, 3, 5] }, { pages: 10, seed: 1, cpus: 1 }));
  assert.deepEqual(s.page, [7, 3, 5]);
  assert.ok(s.write.every((w) => w === 0), 'default access is read');
});

test('stride visits every page exactly once per round', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 40 }), (pages, stride) => {
      const s = drain(makeAccessStream({ pattern: 'stride', stride }, { pages, seed: 1, cpus: 1 }));
      assert.deepEqual([...s.page].sort((a, b) => a - b), Array.from({ length: pages }, (_, i) => i));
      if (pages > stride) assert.equal(s.page[1], stride);
    }),
  );
});

test('threads interleave round-robin and are placed on CPUs', () => {
  const s = drain(makeAccessStream({ threads: 4, count: 8 }, { pages: 8, seed: 1, cpus: 2 }));
  assert.deepEqual(s.cpu, [0, 1, 0, 1, 0, 1, 0, 1], 'spread: thread t on CPU t mod 2');
  assert.deepEqual(s.page, [0, 2, 4, 6, 1, 3, 5, 7], 'each thread walks its own block');
  const p = drain(makeAccessStream({ threads: 3, count: 6, placement: [3, 1] }, { pages: 8, seed: 1, cpus: 4 }));
  assert.deepEqual(p.cpu, [3, 1, 3, 3, 1, 3]);
  const one = drain(makeAccessStream({ cpu: 2, count: 3 }, { pages: 8, seed: 1, cpus: 4 }));
  assert.deepEqual(one.cpu, [2, 2, 2]);
});

test('write ratio: rw draws writes with the given probability; changing it keeps the page sequence', () => {
  const a = drain(makeAccessStream({ pattern: 'random', count: 20000, writeRatio: 0.3 }, { pages: 64, seed: 9, cpus: 1 }));
  const b = drain(makeAccessStream({ pattern: 'random', count: 20000, writeRatio: 0.7 }, { pages: 64, seed: 9, cpus: 1 }));
  const frac = a.write.reduce((x, y) => x + y, 0) / 20000;
  assert.ok(Math.abs(frac - 0.3) < 0.02, `write fraction ${frac}`);
  assert.deepEqual(a.page, b.page);
});

test('zipf: rank frequencies fall with rank like k^-theta', () => {
  const z = new ZipfSampler(1000, 1.0);
  const r = new Xoshiro128ss(5);
  const counts = new Array(1001).fill(0);
  const n = 200000;
  for (let i = 0; i < n; i++) counts[z.sample(r)]++;
  // P(1)/P(2) = 2 and P(1)/P(10) = 10 for theta = 1
  assert.ok(Math.abs(counts[1] / counts[2] - 2) < 0.15, `ratio 1:2 = ${counts[1] / counts[2]}`);
  assert.ok(Math.abs(counts[1] / counts[10] - 10) < 1.5, `ratio 1:10 = ${counts[1] / counts[10]}`);
  const H = Array.from({ length: 1000 }, (_, k) => 1 / (k + 1)).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(counts[1] / n - 1 / H) < 0.01, 'P(rank 1) = 1/H_n');
});

test('hotcold sends hotProbability of the accesses to the hot set', () => {
  const s = drain(makeAccessStream({ pattern: 'hotcold', count: 20000, hotFraction: 0.1, hotProbability: 0.9 }, { pages: 100, seed: 3, cpus: 1 }));
  const hot = s.page.filter((p) => p < 10).length / 20000;
  assert.ok(Math.abs(hot - 0.9) < 0.02, `hot fraction ${hot}`);
});

test('bad stream options throw messages that name the problem', () => {
  const cases: [TouchStepLike, number, RegExp][] = [
    [{ pages: [0, 12] }, 1, /page 12 is outside the region \(pages 0\.\.9\)/],
    [{ pages: { from: 8, count: 4 } }, 1, /ends at page 11, beyond the region's last page 9/],
    [{ cpu: 5 }, 2, /CPU 5 does not exist; the machine has cpus 0\.\.1/],
    [{ threads: 2, placement: [0, 7] }, 2, /CPU 7 does not exist/],
    [{ access: 'rw', writeRatio: 1.5 }, 1, /writeRatio must be between 0 and 1/],
    [{ pattern: 'zigzag' as never }, 1, /pattern "zigzag" is not one of sequential, random, zipf, stride, hotcold/],
    [{ count: -1 }, 1, /count must be a non-negative integer/],
  ];
  for (const [step, cpus, re] of cases) assert.throws(() => makeAccessStream(step, { pages: 10, seed: 1, cpus }), re);
});

test('fill allocates nothing per access (heap stays flat over 2M accesses)', () => {
  const s = makeAccessStream({ pattern: 'zipf', count: 2_000_000, threads: 4, writeRatio: 0.5 }, { pages: 1 << 16, seed: 1, cpus: 4 });
  const p = new Float64Array(4096), w = new Uint8Array(4096), c = new Uint16Array(4096);
  s.fill(p, w, c); // warm up (JIT)
  const before = process.memoryUsage().heapUsed;
  while (s.fill(p, w, c) > 0);
  const grown = process.memoryUsage().heapUsed - before;
  // 2M accesses allocating even 16 bytes each would add 32 MB
  assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${grown} bytes`);
});
