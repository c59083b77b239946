/**
 * Composite scenarios for `ptlab calibrate --check`: measured natively by the probe and predicted
 * by the simulator, never used to fit the host profile. Each is an ExperimentSpec in the DESIGN.md
 * JSON shape; the probe performs exactly the same operations on the same pages (the page lists
 * are written to a file the probe reads), from the mmap to the last access.
 */
import type { CheckScenario } from '../cost/check';
import { Xoshiro128ss } from './prng';

export const CHECK_PAGES = 4096;
/** the regime scenarios: a 1 GiB independent stream, a 128 MiB dependent chase */
export const CHECK_STREAM_PAGES = 262144;
export const CHECK_CHASE_PAGES = 32768;

/** Seeded permutation (ptlab's PRNG + Fisher-Yates); the probe reads the same pages from the list file. */
export function permutation(n: number, seed: number): number[] {
  const rng = new Xoshiro128ss(seed);
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

export interface CheckPlan {
  scenarios: CheckScenario[];
  /** the lists the probe reads: seed-scenario writes, mix writes, mix reads, the chase order */
  lists: [number[], number[], number[], number[]];
}

/** `cpu`: a profile name; `kernel`: the variant matching the host kernel. */
export function checkScenarios(cpu: string, kernel: string, seed = 1): CheckPlan {
  const quarter = permutation(CHECK_PAGES, seed).slice(0, CHECK_PAGES / 4);
  // stride 7 is coprime with 4096, so the walk visits every page once; even visits write, odd read
  const strided = Array.from({ length: CHECK_PAGES }, (_, i) => (i * 7) % CHECK_PAGES);
  const writes = strided.filter((_, i) => i % 2 === 0);
  const reads = strided.filter((_, i) => i % 2 === 1);
  const machine = { cpu, cpus: 1 };
  const chase = permutation(CHECK_CHASE_PAGES, seed + 1);
  const mmap = { op: 'mmap', region: 'heap', size: '16MiB', kind: 'anon-private' };
  const fill = { op: 'touch', region: 'heap', access: 'write' };
  // every scenario maps the heap (16 MiB unless `size` says otherwise) and writes all of it; the
  // probe's "<name>/after-fill" row starts at the step after that fill
  const scenario = (name: string, title: string, specName: string, then: object[], size = mmap.size): CheckScenario => ({
    name,
    title,
    afterFillStep: 2,
    spec: { name: specName, seed, machine, kernel, steps: [{ ...mmap, size }, fill, ...then] },
  });
  return {
    lists: [quarter, writes, reads, chase],
    scenarios: [
      scenario('seed-uffd-unprotect-write', 'seed: 4096 written pages, MADV_FREE, uffd protect + unprotect, write a random quarter', 'check: seed scenario', [
        { op: 'madvise', region: 'heap', advice: 'free' },
        { op: 'uffd-register', region: 'heap', modes: ['wp'] },
        { op: 'uffd-writeprotect', region: 'heap', wp: true },
        { op: 'uffd-writeprotect', region: 'heap', wp: false },
        { op: 'touch', region: 'heap', access: 'write', pages: quarter },
      ]),
      scenario('mprotect-ro-rw-mix', 'mprotect RO then RW over 4096 written pages, then a stride-7 write/read mix', 'check: mprotect RO->RW then strided mix', [
        { op: 'mprotect', region: 'heap', prot: 'r' },
        { op: 'mprotect', region: 'heap', prot: 'rw' },
        { op: 'touch', region: 'heap', access: 'write', pages: writes },
        { op: 'touch', region: 'heap', access: 'read', pages: reads },
      ]),
      scenario('fork-parent-writes', 'fork with 4096 written pages; the child lives while the parent writes every page', 'check: fork then parent writes', [
        { op: 'fork', child: 'child' },
        { op: 'touch', region: 'heap', access: 'write', process: 'main' },
      ]),
      scenario(
        'stream-1g-clear-refs',
        'regime independent: 1 GiB written, clear_refs (A cleared), one read per page in address order',
        'check: page-stride reads of 1 GiB after clear_refs',
        [
          { op: 'clear-refs', mode: 'young' },
          { op: 'touch', region: 'heap', access: 'read', dependence: 'independent' },
        ],
        '1GiB',
      ),
      scenario(
        'chase-128m-madv-free',
        'regime dependent: 128 MiB written, MADV_FREE (A and D cleared), a pointer chase along a random cycle of all pages',
        'check: dependent chase over 128 MiB after MADV_FREE',
        [
          { op: 'madvise', region: 'heap', advice: 'free' },
          { op: 'touch', region: 'heap', access: 'read', pages: chase, dependence: 'dependent' },
        ],
        '128MiB',
      ),
    ],
  };
}

/** The page-list file format the probe reads: per list, its length then the indices. */
export function pageListFile(lists: number[][]): string {
  return lists.map((l) => `${l.length}\n${l.join(' ')}\n`).join('');
}
