/**
 * Hardware-model benchmarks (issue 2): simulated accesses per second through the MMU alone.
 * The access streams are precomputed so the loop measures the model, not the generator.
 */
import { Mmu } from '../src/x86/mmu';
import { PageTable } from '../src/x86/pagetable';
import { pfn_pte, PAGE_SHARED, _PAGE_DIRTY } from '../src/x86/pte';
import { Xoshiro128ss } from '../src/workload/prng';

export const MI = 1 << 20;

function randomPages(n: number, range: number, seed: number): Float64Array {
  const rng = new Xoshiro128ss(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.nextFloat() * range);
  return out;
}

function timeIt(f: () => number): { perSec: number; n: number; sec: number } {
  const t0 = process.hrtime.bigint();
  const n = f();
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSec: n / sec, n, sec };
}

function machine(pages: number) {
  const mmu = new Mmu({ cpus: 1 });
  const pt = new PageTable(mmu.mem);
  for (let v = 0; v < pages; v++) pt.set(v, pfn_pte(v + 2, PAGE_SHARED | _PAGE_DIRTY));
  mmu.switchMm(0, pt.root, 1, false);
  return { mmu, pt };
}

/** Random reads and writes within 32 pages (fits the L1 dTLB): the TLB-hit path. */
export function tlbResident(accesses = 20_000_000): number {
  const { mmu } = machine(32);
  const idx = randomPages(1 << 16, 32, 1);
  for (let i = 0; i < 1_000_000; i++) mmu.access(0, idx[i & 0xffff], i & 1); // warm up
  (globalThis as { gc?: () => void }).gc?.();
  return timeIt(() => {
    let fails = 0;
    for (let i = 0; i < accesses; i++) fails += mmu.access(0, idx[i & 0xffff], i & 1);
    if (fails) throw new Error('unexpected faults');
    return accesses;
  }).perSec;
}

/** `n` reads of uniformly random pages of 1 Mi (xorshift32 inline: a precomputed index array would add cache misses of its own). */
function randomWalks(mmu: Mmu, n: number, seed: number): number {
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    mmu.access(0, (x >>> 0) & (MI - 1), 0);
  }
  return n;
}

/** Uniform random accesses over 1 Mi pages: nearly every access misses the STLB and walks. */
export function walkPerAccess(accesses = 5_000_000): { perSec: number; walksPerAccess: number; bytesPerMappedPage: number } {
  const { mmu } = machine(MI);
  randomWalks(mmu, 1_000_000, 88172645); // warm up: JIT-compile the walk before timing it
  (globalThis as { gc?: () => void }).gc?.(); // and collect the BigInts of building 1 Mi PTEs
  const before = mmu.counters[3];
  const r = timeIt(() => randomWalks(mmu, accesses, 2463534242));
  return { perSec: r.perSec, walksPerAccess: (mmu.counters[3] - before) / accesses, bytesPerMappedPage: mmu.mem.bytes() / MI };
}



/** Sequential first-touch writes over 1 Mi pages: #PF, a minimal handler installs the PTE, retry. */
export function firstTouch(pages = MI): number {
  const mmu = new Mmu({ cpus: 1 });
  const pt = new PageTable(mmu.mem);
  mmu.switchMm(0, pt.root, 1, false);
  return timeIt(() => {
    for (let v = 0; v < pages; v++) {
      if (mmu.access(0, v, 1) !== 0) {
        pt.set(v, pfn_pte(v + 2, PAGE_SHARED));
        mmu.access(0, v, 1);
      }
    }
    return pages;
  }).perSec;
}

/** Heap growth over `accesses` TLB-hit and walk accesses: shows the per-access path allocates nothing. */
export function heapGrowth(accesses = 10_000_000): number {
  const { mmu } = machine(4096);
  const idx = randomPages(1 << 16, 4096, 3);
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 100_000; i++) mmu.access(0, idx[i & 0xffff], i & 1); // warm up (JIT)
  gc?.();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < accesses; i++) mmu.access(0, idx[i & 0xffff], i & 1);
  const after = process.memoryUsage().heapUsed; // no gc: garbage made by the loop would still be counted
  return after - before;
}
