/** Workloads: seeded access generators, trace import and scenario scripts (docs/workloads.md). */
export { Xoshiro128ss, deriveSeed, streamSeed, fmix32 } from './prng';
export { ZipfSampler } from './zipf';
export { PageSet } from './pages';
export { makeAccessStream } from './access-stream';
export { openTraceStream, checkTrace, TraceError, PAGE_SIZE } from './trace';
export { liveSnapshot, gcWriteBarrier, checkpointDirtyTracking } from './scenarios';
export type { ScenarioStep, LiveSnapshotOptions, GcWriteBarrierOptions, CheckpointOptions } from './scenarios';
export type { AccessStream, StreamOptions, TouchStepLike, PageSelection, AccessKind, AccessPattern } from './types';
export type { TraceStepLike, TraceOptions } from './trace';
