import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HW_EVENTS, HwEv } from '../src/x86/events';
import { KERNEL_EVENTS, KEv } from '../src/kernel/events';
import { SHIPPED_PROFILES, getProfile, cycles, totalCycles, costTable } from '../src/cost';
import type { Cycles as LabCycles } from '../src/lab/types';
import type { Cycles } from '../src/cost/model';

// The cost layer's Cycles must stay structurally identical to the lab's.
const sameShape = (c: Cycles): LabCycles => c;
const sameShapeBack = (c: LabCycles): Cycles => c;
void sameShape;
void sameShapeBack;

const names = SHIPPED_PROFILES.map((d) => d.name);
const count = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 1_000_000 }));

test('total is exactly the sum of byEvent, and zero entries are skipped (property)', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...names),
      fc.array(count, { minLength: HW_EVENTS.length, maxLength: HW_EVENTS.length }),
      fc.array(count, { minLength: KERNEL_EVENTS.length, maxLength: KERNEL_EVENTS.length }),
      (name, hw, k) => {
        const p = getProfile(name);
        const c = cycles(p, Float64Array.from(hw), Float64Array.from(k));
        let sum = 0;
        for (const v of Object.values(c.byEvent)) {
          assert.notEqual(v, 0);
          sum += v;
        }
        assert.equal(c.total, sum);
        assert.equal(totalCycles(p, Float64Array.from(hw), Float64Array.from(k)), c.total);
        for (let i = 0; i < HW_EVENTS.length; i++)
          if (hw[i] !== 0 && p.costs[HW_EVENTS[i]].cycles !== 0) assert.equal(c.byEvent[HW_EVENTS[i]], hw[i] * p.costs[HW_EVENTS[i]].cycles);
      },
    ),
    { numRuns: 200 },
  );
});

test('pricing is linear in the counts and keyed by event name', () => {
  const p = getProfile('zen3');
  const hw = new Float64Array(HW_EVENTS.length);
  const k = new Float64Array(KERNEL_EVENTS.length);
  hw[HwEv.dBitSet] = 4096;
  k[KEv['fault.wpReuse']] = 10;
  const c = cycles(p, hw, k);
  assert.deepEqual(Object.keys(c.byEvent).sort(), ['dBitSet', 'fault.wpReuse']);
  assert.equal(c.byEvent.dBitSet, 4096 * p.costs.dBitSet.cycles);
  assert.equal(c.byEvent['fault.wpReuse'], 10 * p.costs['fault.wpReuse'].cycles);
  assert.deepEqual(cycles(p, new Float64Array(HW_EVENTS.length), new Float64Array(KERNEL_EVENTS.length)), { total: 0, byEvent: {} });
});

test('the cost table is built once per profile and wrong-length counts are a clear error', () => {
  const p = getProfile('haswell');
  assert.equal(costTable(p), costTable(p));
  assert.equal(costTable(p).hw.length, HW_EVENTS.length);
  assert.throws(() => cycles(p, new Float64Array(3), new Float64Array(KERNEL_EVENTS.length)), /hwCounts has 3 slots, expected/);
});
