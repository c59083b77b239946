import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deriveSeed, fmix32, streamSeed, Xoshiro128ss } from '../src/workload/prng';

test('xoshiro128** matches the reference C implementation (state 1,2,3,4)', () => {
  // first outputs of prng.di.unimi.it/xoshiro128starstar.c compiled with gcc, s = {1, 2, 3, 4}
  const expected = [11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849];
  const r = new Xoshiro128ss(0);
  r.setState(1, 2, 3, 4);
  assert.deepEqual(expected.map(() => r.nextU32()), expected);
});

test('same seed gives the same stream, different seeds differ', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
      const a = new Xoshiro128ss(seed);
      const b = new Xoshiro128ss(seed);
      const c = new Xoshiro128ss((seed + 1) >>> 0);
      const xa = Array.from({ length: 16 }, () => a.nextU32());
      const xb = Array.from({ length: 16 }, () => b.nextU32());
      const xc = Array.from({ length: 16 }, () => c.nextU32());
      assert.deepEqual(xa, xb);
      assert.notDeepEqual(xa, xc);
    }),
    { numRuns: 50 },
  );
});

test('nextInt stays in [0, n) and nextFloat in [0, 1)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 1e9 }), fc.integer({ min: 1, max: 2 ** 32 }), (seed, n) => {
      const r = new Xoshiro128ss(seed);
      for (let i = 0; i < 50; i++) {
        const k = r.nextInt(n);
        assert.ok(Number.isInteger(k) && k >= 0 && k < n);
        const f = r.nextFloat();
        assert.ok(f >= 0 && f < 1);
      }
    }),
    { numRuns: 50 },
  );
});

test('uniform draws are roughly uniform (chi-square over 16 bins)', () => {
  const r = new Xoshiro128ss(42);
  const bins = new Array(16).fill(0);
  const n = 32000;
  for (let i = 0; i < n; i++) bins[r.nextInt(16)]++;
  const e = n / 16;
  const chi = bins.reduce((s, o) => s + (o - e) ** 2 / e, 0);
  assert.ok(chi < 37.7, `chi-square ${chi} above the 0.999 quantile for 15 df`); // P(chi2_15 > 37.7) = 0.001
});

test('derived seeds separate steps, threads and repeats', () => {
  const seen = new Set<number>();
  for (let rep = 0; rep < 4; rep++) for (let step = 0; step < 50; step++) seen.add(streamSeed(7, rep, step));
  assert.equal(seen.size, 200);
  assert.notEqual(deriveSeed(1, 0, 1), deriveSeed(1, 1, 0));
  assert.notEqual(deriveSeed(2 ** 40), deriveSeed(0)); // large seeds keep their high bits
  assert.equal(fmix32(0), 0); // fmix32 is a bijection fixing 0, hence the golden-ratio offsets
});
