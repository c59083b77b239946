/** The regime rule of cost model v2 (src/cost/regime.ts), on the model alone. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HW_EVENTS } from '../src/x86/events';
import { KERNEL_EVENTS } from '../src/kernel/events';
import { SHIPPED_PROFILES, getProfile, virtualize, cycles, type CpuProfile } from '../src/cost';
import { regimeTable, walkMemRefCycles, regimePrice, dataLatency, drainCycles, OVERLAPPABLE, SERIALIZING, DRAINING, type Dependence } from '../src/cost/regime';
import { registerProfile } from '../src/cost/registry';
import { runSync } from '../src/lab/runner';
import { permutation } from '../src/workload/check-scenarios';

const profiles: CpuProfile[] = SHIPPED_PROFILES.flatMap((d) => [getProfile(d.name), virtualize(getProfile(d.name))]);

/** Cycles of the read pass over `pages` pages, after a fill and optionally a clear_refs that clears A. */
function readPass(cpu: string, virtualized: boolean, pages: number, dependence: Dependence, clearA: boolean): { cycles: number; aSets: number } {
  const steps: unknown[] = [
    { op: 'mmap', region: 'heap', size: pages * 4096 },
    { op: 'touch', region: 'heap', access: 'write' },
    // evict the heap's translations alike in both runs: a second region larger than the STLB reach
    { op: 'mmap', region: 'evict', size: '64MiB' },
    { op: 'touch', region: 'evict', access: 'read' },
  ];
  if (clearA) steps.push({ op: 'clear-refs', mode: 'young' });
  steps.push({ op: 'touch', region: 'heap', access: 'read', dependence });
  const rs = runSync({ name: 'a-clear', seed: 1, machine: { cpu, cpus: 1, virtualized }, kernel: 'linux-6.18', steps } as never).toJSON();
  const last = rs.runs[0].steps[steps.length - 1];
  return { cycles: last.cycles.total, aSets: last.counters.aBitSets };
}

test('an A-clear read pass costs more per page in the independent delta than in the dependent one, on every profile with MLP > 1', () => {
  const pages = 4096;
  for (const d of SHIPPED_PROFILES) {
    for (const virtualized of [false, true]) {
      const p = virtualized ? virtualize(getProfile(d.name)) : getProfile(d.name);
      assert.ok(p.memory.mlp > 1, `${d.name}: MLP ${p.memory.mlp}`);
      const delta = (dep: Dependence) => {
        const clear = readPass(d.name, virtualized, pages, dep, true);
        const set = readPass(d.name, virtualized, pages, dep, false);
        assert.equal(clear.aSets, pages, `${d.name} ${dep}: every page's A bit is set again`);
        assert.equal(set.aSets, 0, `${d.name} ${dep}: no A bit to set when it was never cleared`);
        return (clear.cycles - set.cycles) / pages;
      };
      const ind = delta('independent');
      const dep = delta('dependent');
      assert.ok(dep > 0, `${d.name}${virtualized ? ' (virtualized)' : ''}: dependent delta ${dep}`);
      assert.ok(ind > dep, `${d.name}${virtualized ? ' (virtualized)' : ''}: independent delta ${ind.toFixed(1)} must exceed dependent ${dep.toFixed(1)}`);
    }
  }
});

test('a regime only reprices: the breakdown still sums to the total, and kernel work keeps its latency', () => {
  const count = fc.integer({ min: 0, max: 100_000 });
  fc.assert(
    fc.property(
      fc.constantFrom(...profiles),
      fc.constantFrom<Dependence>('independent', 'dependent'),
      fc.integer({ min: 1, max: 1 << 26 }),
      fc.array(count, { minLength: HW_EVENTS.length, maxLength: HW_EVENTS.length }),
      fc.array(count, { minLength: KERNEL_EVENTS.length, maxLength: KERNEL_EVENTS.length }),
      (p, dependence, footprintPages, hw, k) => {
        const t = regimeTable(p, { dependence, footprintPages });
        const c = cycles(t, Float64Array.from(hw), Float64Array.from(k));
        const sum = Object.values(c.byEvent).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(c.total - sum) <= 1e-9 * Math.max(1, c.total));
        const base = cycles(p, new Float64Array(HW_EVENTS.length), Float64Array.from(k));
        const kernelOnly = cycles(t, new Float64Array(HW_EVENTS.length), Float64Array.from(k));
        assert.equal(kernelOnly.total, base.total);
      },
    ),
    { numRuns: 200 },
  );
});

test('independent accesses pay overlappable work / MLP and a load\'s serializing work + a drain; dependent ones pay latency', () => {
  for (const p of profiles) {
    for (const footprintPages of [16, 4096, 262144]) {
      const dep = { dependence: 'dependent' as const, footprintPages };
      const ind = { dependence: 'independent' as const, footprintPages };
      for (const ev of OVERLAPPABLE) assert.ok(Math.abs(regimePrice(p, ev, ind) * p.memory.mlp - regimePrice(p, ev, dep)) < 1e-9, `${p.name} ${ev}`);
      for (const ev of SERIALIZING) {
        if (DRAINING.includes(ev)) assert.ok(regimePrice(p, ev, ind) > regimePrice(p, ev, dep), `${p.name} ${ev}: latency + drain`);
        else if (ev === 'dBitSet' && p.vendor === 'amd') {
          // a D-only update is hidden behind a chase's load, up to that load's latency
          assert.equal(regimePrice(p, ev, dep), Math.max(0, regimePrice(p, ev, ind) - dataLatency(p, footprintPages)), `${p.name} dBitSet: hidden in a chase`);
          continue;
        } else assert.equal(regimePrice(p, ev, ind), regimePrice(p, ev, dep), `${p.name} ${ev}: a store's D update has no drain`);
        assert.ok(regimePrice(p, ev, dep) >= p.costs[ev].cycles, `${p.name} ${ev}: never below its latency`);
      }
    }
  }
});

test('a walk reference costs the warm price for small page tables and more once they outgrow the caches', () => {
  for (const p of profiles) {
    const warm = p.costs.walkMemRef.cycles;
    assert.equal(walkMemRefCycles(p, 16), warm, `${p.name}: 64 KiB of data has 128 bytes of PTEs`);
    // 64 GiB of pages: 128 MiB of leaf PTEs, past every LLC -> mostly DRAM references
    const huge = walkMemRefCycles(p, 16 << 20);
    assert.ok(huge > 3 * warm, `${p.name}: ${huge} vs warm ${warm}`);
    let prev = 0;
    for (let pages = 1; pages <= 1 << 26; pages *= 2) {
      const c = walkMemRefCycles(p, pages);
      assert.ok(c >= prev, `${p.name}: walkMemRef must not fall as the footprint grows (${pages} pages)`);
      prev = c;
    }
  }
});

test('dependence is a touch and trace field; the default is independent', () => {
  const base = { name: 'dep', seed: 1, machine: { cpu: 'zen3', cpus: 1 }, kernel: 'linux-6.18' };
  const steps = (extra: object) => [
    { op: 'mmap', region: 'heap', size: '64MiB' },
    { op: 'touch', region: 'heap', access: 'read', pattern: 'random', ...extra },
  ];
  const total = (extra: object) => runSync({ ...base, steps: steps(extra) } as never).toJSON().runs[0].total.cycles.total;
  assert.equal(total({}), total({ dependence: 'independent' }));
  assert.notEqual(total({ dependence: 'dependent' }), total({}));
  assert.throws(() => runSync({ ...base, steps: steps({ dependence: 'chase' }) } as never), /dependence/);
});

/** Cycles per page of an independent write pass over `count` random pages of a `regionPages` region, after MADV_FREE. */
function subsetWritePass(cpu: string, regionPages: number, count: number): number {
  const steps: unknown[] = [
    { op: 'mmap', region: 'heap', size: regionPages * 4096 },
    { op: 'touch', region: 'heap', access: 'write' },
    { op: 'madvise', region: 'heap', advice: 'free' },
    { op: 'touch', region: 'heap', access: 'write', pages: permutation(regionPages, 1).slice(0, count) },
  ];
  const rs = runSync({ name: 'subset', seed: 1, machine: { cpu, cpus: 1 }, kernel: 'linux-6.18', steps } as never).toJSON();
  const last = rs.runs[0].steps[steps.length - 1];
  assert.equal(last.counters.aBitSets, count, `${cpu}: every selected page sets A+D`);
  return last.cycles.total / count;
}

test('a touch of some pages of a region is priced at the region footprint: their lines are where the region left them', () => {
  // measured on the Zen 3 guest (docs/cost-model.md, "The seed's write pass"): 1024 random writes
  // into a 16 MiB region pay the A+D drain at DRAM distance, not at the 4 MiB they select
  for (const cpu of ['zen3-kvm-guest', 'zen3', 'skylake-sp']) {
    const subset = subsetWritePass(cpu, 4096, 1024);
    const wholeSmall = subsetWritePass(cpu, 1024, 1024);
    const wholeLarge = subsetWritePass(cpu, 4096, 4096);
    assert.ok(subset > wholeSmall, `${cpu}: a quarter of 16 MiB (${subset.toFixed(0)}/page) costs more than all of 4 MiB (${wholeSmall.toFixed(0)}/page)`);
    assert.ok(Math.abs(subset - wholeLarge) / wholeLarge < 0.05, `${cpu}: a quarter of 16 MiB (${subset.toFixed(0)}/page) is priced like all of it (${wholeLarge.toFixed(0)}/page)`);
  }
});

test('a store\'s A+D update drains memory.storeDrain of a load\'s drain in an independent stream', () => {
  const base = getProfile('zen3');
  const half = registerProfile({ ...base.definition, name: 'zen3-store-half', memory: { ...base.definition.memory, storeDrain: { value: 0.5, source: 'test', kind: 'estimate' } } });
  for (const footprintPages of [4096, 262144]) {
    const ind = { dependence: 'independent' as const, footprintPages };
    const dep = { dependence: 'dependent' as const, footprintPages };
    const drainOf = (p: typeof base, ev: 'aBitSet' | 'adBitSet') => regimePrice(p, ev, ind) - regimePrice(p, ev, dep);
    assert.ok(Math.abs(drainOf(base, 'adBitSet') - drainCycles(base, footprintPages)) < 1e-9, 'default: a store drains like a load');
    assert.ok(Math.abs(drainOf(half, 'adBitSet') - 0.5 * drainCycles(half, footprintPages)) < 1e-9, 'storeDrain 0.5: half');
    assert.ok(Math.abs(drainOf(half, 'aBitSet') - drainCycles(half, footprintPages)) < 1e-9, 'a load keeps its whole drain');
  }
  assert.throws(() => registerProfile({ ...base.definition, name: 'zen3-bad', memory: { ...base.definition.memory, storeDrain: { value: 1.5, source: 'test', kind: 'estimate' } } }), /storeDrain.*between 0 and 1/);
});

test('a measured adGrowth makes an AMD A or A+D update in random order grow log-linearly with the footprint', () => {
  const base = getProfile('zen3');
  const src = { source: 'test', kind: 'estimate' as const };
  const g = registerProfile({
    ...base.definition,
    name: 'zen3-ad-growth',
    memory: { ...base.definition.memory, adGrowth: { fromMiB: { value: 64, ...src }, aPerDoubling: { value: 24, ...src }, adPerDoubling: { value: 10, ...src } } },
  });
  const dep = (pages: number, sequential = false) => ({ dependence: 'dependent' as const, footprintPages: pages, sequential });
  const mib = 256;
  // at and below the first footprint: the price itself
  assert.equal(regimePrice(g, 'aBitSet', dep(64 * mib)), g.costs.aBitSet.cycles);
  assert.equal(regimePrice(g, 'aBitSet', dep(8 * mib)), g.costs.aBitSet.cycles);
  // +24 per doubling for A, +10 for A+D
  assert.ok(Math.abs(regimePrice(g, 'aBitSet', dep(1024 * mib)) - (g.costs.aBitSet.cycles + 4 * 24)) < 1e-9);
  assert.ok(Math.abs(regimePrice(g, 'adBitSet', dep(128 * mib)) - (g.costs.adBitSet.cycles + 10)) < 1e-9);
  // address order keeps the cache model's (small) re-walk term, like a profile without adGrowth
  assert.equal(regimePrice(g, 'aBitSet', dep(1024 * mib, true)), regimePrice(base, 'aBitSet', dep(1024 * mib, true)));
  // an independent stream in random order adds the same growth under its drain
  const ind = { dependence: 'independent' as const, footprintPages: 1024 * mib };
  assert.ok(Math.abs(regimePrice(g, 'aBitSet', ind) - (g.costs.aBitSet.cycles + 96 + drainCycles(g, 1024 * mib))) < 1e-9);
  // Intel profiles have no re-walk term at all
  const intel = registerProfile({ ...getProfile('skylake-sp').definition, name: 'sky-ad-growth', memory: { ...getProfile('skylake-sp').definition.memory, adGrowth: { fromMiB: { value: 64, ...src }, aPerDoubling: { value: 24, ...src }, adPerDoubling: { value: 10, ...src } } } });
  assert.equal(regimePrice(intel, 'aBitSet', dep(1024 * mib)), intel.costs.aBitSet.cycles);
});
