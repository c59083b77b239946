/** Workloads: seeded access generators, trace import and scenario scripts (docs/workloads.md). */
export { Xoshiro128ss, deriveSeed, streamSeed, fmix32 } from './prng';
export { ZipfSampler } from './zipf';
export { PageSet } from './pages';
export { makeAccessStream } from './access-stream';
export { openTraceStream, checkTrace, TraceError } from './trace';
export { liveSnapshot, gcWriteBarrier, checkpointDirtyTracking } from './scenarios';
export type { ScenarioStep, LiveSnapshotOptions, GcWriteBarrierOptions, CheckpointOptions } from './scenarios';
export type { AccessStream, StreamOptions, TouchStepLike, PageSelection, AccessKind, AccessPattern } from './types';
export type { TraceStepLike, TraceOptions } from './trace';
export { PageTraceFile, RecordReader, isPageTrace } from './pagetrace-reader';
export { PageTraceWriter, TraceWriteError } from './pagetrace-writer';
export { PageTraceStream, type PageTraceReplayOptions } from './pagetrace-stream';
export { pageTraceStats, type TraceStats, type RegionStats } from './pagetrace-stats';
export { PTT_VERSION, PTT_EXTENSION, REGION_KINDS, type TraceRegion, type TraceTrailer, type RegionKind } from './pagetrace-format';
