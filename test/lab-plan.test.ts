import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compileSpec as planRuns } from '../src/lab/compile';
import { parseShard, shardPlans, substitute } from '../src/lab/plan';
import { parseSpec } from '../src/lab/validate';

function spec(extra: Record<string, unknown> = {}) {
  return parseSpec(
    {
      name: 'plan',
      machine: { cpu: 'skylake-sp', cpus: 2 },
      kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
      steps: [
        { op: 'mmap', region: 'heap', size: '$size' },
        { op: 'touch', region: 'heap', access: 'write', count: '$n', pages: { from: 0, count: 8 } },
      ],
      sweep: { seed: [1, 2, 3], size: ['1MiB', '4MiB'], cpus: [1, 2] },
      vars: { n: 100 },
      repeat: 2,
      ...extra,
    },
    { registries: false },
  );
}

test('cartesian product: kernel list, then sweep keys in order, repeat innermost', () => {
  const plans = planRuns(spec());
  assert.equal(plans.length, 2 * 3 * 2 * 2 * 2);
  assert.equal(plans[0].id, 'linux-6.18|skylake-sp|seed=1|r=0|size=1MiB|cpus=1');
  assert.equal(plans[1].id, 'linux-6.18|skylake-sp|seed=1|r=1|size=1MiB|cpus=1');
  assert.equal(plans[2].id, 'linux-6.18|skylake-sp|seed=1|r=0|size=1MiB|cpus=2');
  assert.equal(new Set(plans.map((p) => p.id)).size, plans.length, 'ids are unique');
  assert.deepEqual(plans[0].params, { kernel: 'linux-6.18', seed: 1, size: '1MiB', cpus: 1 });
});

test('"$name" values are substituted with their JSON type; a plan holds one machine, profile and variant', () => {
  const s = planRuns(spec())[2]; // kernel 0, seed 1, size 1MiB, cpus 2, repeat 0
  assert.equal(s.steps[0].op === 'mmap' && s.steps[0].size, '1MiB');
  assert.equal(s.steps[1].op === 'touch' && s.steps[1].count, 100);
  assert.deepEqual(s.steps[1].op === 'touch' && s.steps[1].pages, { from: 0, count: 8 });
  assert.equal(s.machine.cpus, 2);
  assert.deepEqual(s.kernel, { name: 'linux-6.18', base: 'linux-6.18', overrides: {} });
  assert.equal(s.profile.name, 'skylake-sp');
  assert.deepEqual(substitute({ a: ['$x', 'x$x', '$y'] }, { x: 3 }), { a: [3, 'x$x', '$y'] }, 'only whole values, defined names');
});

test('shards partition the plan: disjoint, complete, order kept', () => {
  const plans = planRuns(spec());
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 60 }), (n) => {
      const parts = Array.from({ length: n }, (_, i) => shardPlans(plans, { index: i + 1, count: n }));
      const ids = parts.flat().map((p) => p.id);
      assert.equal(ids.length, plans.length);
      assert.deepEqual([...ids].sort(), plans.map((p) => p.id).sort());
      for (const part of parts) {
        const pos = part.map((p) => plans.indexOf(p));
        assert.deepEqual(pos, [...pos].sort((a, b) => a - b));
      }
    }),
  );
});

test('shard syntax errors name the fix', () => {
  assert.deepEqual(parseShard('2/4'), { index: 2, count: 4 });
  assert.match(String(parseShard('0/4')), /i must be between 1 and N/);
  assert.match(String(parseShard('5/4')), /i must be between 1 and N/);
  assert.match(String(parseShard('two')), /is not a shard; use i\/N .* e\.g\. 1\/4/);
});
