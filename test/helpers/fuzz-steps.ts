/**
 * The part of a differential-fuzz spec both fuzzes build (test/fidelity-diff.test.ts and
 * test/fidelity-thp.test.ts): the optional uffd registration, then the generated ops with an
 * inspect after each, a fork before op `forkAt` (or after the last), and the ops after the fork
 * with an inspect of the process each ran in.
 */
export type FuzzStep = Record<string, unknown> & { process?: string };

export function appendFuzzSteps(steps: Record<string, unknown>[], uffd: string, forkAt: number, before: FuzzStep[], after: FuzzStep[]): void {
  if (uffd !== 'none') steps.push({ op: 'uffd-register', region: 'h', modes: ['wp'], ...(uffd === 'wp-async' ? { features: ['wp-async'] } : {}) });
  const forks = forkAt >= 0 && forkAt <= before.length;
  before.forEach((s, i) => {
    if (forks && i === forkAt) steps.push({ op: 'fork', child: 'child' });
    steps.push(s, { op: 'inspect', region: 'h' });
  });
  if (forks) {
    if (forkAt === before.length) steps.push({ op: 'fork', child: 'child' });
    for (const s of after) steps.push(s, { op: 'inspect', region: 'h', process: s.process ?? 'main' });
  }
}
