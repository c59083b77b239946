/** The example spec of DESIGN.md ("The experiment spec"), written by hand; a fresh copy per call. */
export function designExample(): Record<string, any> {
  return {
    name: 'uffd-wp unprotect, then write',
    seed: 1,
    machine: { cpu: 'skylake-sp', cpus: 2 },
    kernel: 'linux-6.18',
    steps: [
      { op: 'mmap', region: 'heap', size: '16MiB', kind: 'anon-private' },
      { op: 'touch', region: 'heap', access: 'write' },
      { op: 'uffd-register', region: 'heap', modes: ['wp'] },
      { op: 'uffd-writeprotect', region: 'heap', wp: true },
      { op: 'uffd-writeprotect', region: 'heap', wp: false, hints: ['write-likely'] },
      { op: 'inspect', region: 'heap', pages: [0, 1, 2] },
      { op: 'touch', region: 'heap', access: 'write', pattern: 'random', count: 100000 },
    ],
    sweep: { kernel: ['linux-6.18', 'rfc-2022-uffd-hints'] },
    repeat: 1,
  };
}
