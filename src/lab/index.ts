/**
 * The experiment API: `lab.experiment(name)` starts a fluent builder; specs, validation, the
 * runner and ResultSet are exported for notebooks, the CLI and tests.
 */
import { Experiment, type NativeTimer } from './builder';
import type { ExperimentSpec } from './spec';
import { WorkloadBuilder } from './workload-builder';

/**
 * The builder's entry points; its experiments time `.native()` with `timer`, which the lab layer
 * cannot import (src/fidelity sits above it): src/index.ts passes src/fidelity/timed's timeNative.
 */
export function makeLab(timer?: NativeTimer) {
  return {
    /** Starts an experiment: `lab.experiment('…').machine(…).kernel(…).mmap(…)…run()`. */
    experiment(name: string): Experiment {
      return Experiment.create(name, timer);
    },
    /** A builder from an existing JSON spec. */
    fromSpec(spec: ExperimentSpec): Experiment {
      return Experiment.fromSpec(spec, timer);
    },
    /** A standalone workload builder (its `.steps` can go into `.steps(...)`). */
    workload(): WorkloadBuilder {
      return new WorkloadBuilder();
    },
  };
}

/** The lab layer's builder: all of it but `.native()` (the public `lab` of src/index.ts has that too). */
export const lab = makeLab();

export { Experiment, type NativeTimer, type UffdOps } from './builder';
export { WorkloadBuilder, type AccessOptions } from './workload-builder';
export * from './spec';
export { SpecError, formatIssues, type SpecIssue } from './spec-issues';
export { validateSpec, parseSpec, type ValidateOptions, type ValidateResult } from './validate';
export { compile, compileSpec, runIds, type RunPlan, type CompileOptions, type ResolvedMachine } from './compile';
export { substitute, parseShard, shardPlans, runId, type Shard, type Scalar } from './plan';
export { parseSize, sizeToPages, formatSize, PAGE_SIZE } from './size';
export { run, runSync, prepare, RunnerError, RunCancelledError, RunFailedError, type RunOptions, type RunProgress, type SimulateFn } from './runner';
export { ResultSet, type Provenance, type SavedVariant, type ResultMeta, type GroupKey, type RowQuery, type SummaryRow } from './resultset';
export { tidyRows, flattenMetrics } from './tidy';
export { defaultRegistries, type Registries } from './registries';
export { specJsonSchema } from './json-schema';
