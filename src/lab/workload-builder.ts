/**
 * The `w` in `.workload(w => w.zipf('heap', {accesses: 1e6, writeRatio: 0.3, threads: 4}))`:
 * an immutable list of steps built from workload generators and scenario scripts. Each generator
 * is a `touch` step with a pattern (src/workload/access-stream.ts documents them).
 */
import { checkpointDirtyTracking, gcWriteBarrier, liveSnapshot, type CheckpointOptions, type GcWriteBarrierOptions, type LiveSnapshotOptions } from '../workload/scenarios';
import type { Pages, Step, StepOf, VarRef } from './spec';

type Num = number | VarRef;

/** Options shared by the access generators. */
export interface AccessOptions {
  /** number of accesses (default: each selected page once) */
  accesses?: Num;
  /** read, write, or rw (default rw when writeRatio is given, else read) */
  access?: 'read' | 'write' | 'rw' | VarRef;
  /** fraction of writes (implies access rw) */
  writeRatio?: Num;
  /** threads issuing accesses, round-robin interleaved */
  threads?: Num;
  /** one CPU for all accesses */
  cpu?: Num;
  /** thread -> CPU: 'spread' (default) or a CPU list */
  placement?: 'spread' | number[];
  /** pages of the region to draw from (default all) */
  pages?: Pages;
  process?: string;
  label?: string;
}

export class WorkloadBuilder {
  constructor(
    private readonly list: readonly Step[] = [],
    /** region -> pages, from the experiment's mmap steps (for scenarios that need the size) */
    private readonly regionPages: (region: string) => number | undefined = () => undefined,
  ) {}

  /** The steps built so far. */
  get steps(): readonly Step[] {
    return this.list;
  }

  private add(...steps: Step[]): WorkloadBuilder {
    return new WorkloadBuilder([...this.list, ...steps], this.regionPages);
  }

  private touch(region: string, pattern: NonNullable<StepOf<'touch'>['pattern']>, o: AccessOptions, extra: Partial<StepOf<'touch'>> = {}): WorkloadBuilder {
    const s: StepOf<'touch'> = { op: 'touch', region };
    const access = o.access ?? (o.writeRatio !== undefined ? 'rw' : undefined);
    if (access !== undefined) s.access = access;
    if (o.pages !== undefined) s.pages = o.pages;
    if (pattern !== 'sequential') s.pattern = pattern;
    if (o.accesses !== undefined) s.count = o.accesses;
    if (o.writeRatio !== undefined) s.writeRatio = o.writeRatio;
    if (o.cpu !== undefined) s.cpu = o.cpu;
    if (o.threads !== undefined) s.threads = o.threads;
    if (o.placement !== undefined) s.placement = o.placement;
    Object.assign(s, extra);
    if (o.process !== undefined) s.process = o.process;
    if (o.label !== undefined) s.label = o.label;
    return this.add(s);
  }

  /** Pages in order (each thread its own contiguous block). */
  sequential(region: string, o: AccessOptions = {}): WorkloadBuilder {
    return this.touch(region, 'sequential', o);
  }

  /** Uniformly random pages. */
  uniform(region: string, o: AccessOptions = {}): WorkloadBuilder {
    return this.touch(region, 'random', o);
  }

  /** Same as uniform (the spec's pattern name). */
  random(region: string, o: AccessOptions = {}): WorkloadBuilder {
    return this.touch(region, 'random', o);
  }

  /** Zipf-distributed pages, P(rank k) ∝ k^-theta (default 0.99); page 0 is the hottest. */
  zipf(region: string, o: AccessOptions & { theta?: Num } = {}): WorkloadBuilder {
    return this.touch(region, 'zipf', o, o.theta !== undefined ? { theta: o.theta } : {});
  }

  /** Every `stride`-th page (default 8), then the next lane. */
  strided(region: string, o: AccessOptions & { stride?: Num } = {}): WorkloadBuilder {
    return this.touch(region, 'stride', o, o.stride !== undefined ? { stride: o.stride } : {});
  }

  /** A hot set (first `hotFraction` of the pages) receiving `hotProbability` of the accesses. */
  hotCold(region: string, o: AccessOptions & { hotFraction?: Num; hotProbability?: Num } = {}): WorkloadBuilder {
    const extra: Partial<StepOf<'touch'>> = {};
    if (o.hotFraction !== undefined) extra.hotFraction = o.hotFraction;
    if (o.hotProbability !== undefined) extra.hotProbability = o.hotProbability;
    return this.touch(region, 'hotcold', o, extra);
  }

  /** Replays a CSV/JSONL trace of `cpu, op, address` against the region. */
  trace(region: string, file: string, o: Omit<StepOf<'trace'>, 'op' | 'region' | 'file'> = {}): WorkloadBuilder {
    return this.add({ op: 'trace', region, file, ...o });
  }

  /** Scenario: live snapshot with uffd-wp (see src/workload/scenarios.ts). */
  liveSnapshot(region: string, o: Partial<LiveSnapshotOptions> = {}): WorkloadBuilder {
    return this.add(...(liveSnapshot(region, { ...o, pages: o.pages ?? this.pagesOf(region, 'liveSnapshot') }) as Step[]));
  }

  /** Scenario: GC write barrier with mprotect. */
  gcWriteBarrier(region: string, o: Partial<GcWriteBarrierOptions> = {}): WorkloadBuilder {
    return this.add(...(gcWriteBarrier(region, { ...o, pages: o.pages ?? this.pagesOf(region, 'gcWriteBarrier') }) as Step[]));
  }

  /** Scenario: checkpoint dirty tracking with soft-dirty or PAGEMAP_SCAN. */
  checkpoint(region: string, o: CheckpointOptions): WorkloadBuilder {
    return this.add(...(checkpointDirtyTracking(region, o) as Step[]));
  }

  private pagesOf(region: string, what: string): number {
    const p = this.regionPages(region);
    if (p === undefined) throw new Error(`${what}("${region}"): the region's size is unknown here; mmap it earlier with a literal size or pass {pages: N}`);
    return p;
  }
}
