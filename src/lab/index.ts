/**
 * The experiment API: `lab.experiment(name)` starts a fluent builder; specs, validation, the
 * runner and ResultSet are exported for notebooks, the CLI and tests.
 */
import { Experiment, type BuilderServices } from './builder';
import type { ExperimentSpec } from './spec';
import { WorkloadBuilder } from './workload-builder';

/**
 * The builder's entry points; its experiments time `.native()` with `services.timer` and show
 * `.run()`'s progress with `services.progress`, which the lab layer cannot import (src/fidelity and
 * src/notebook sit above it): src/index.ts passes src/fidelity/timed's timeNative and
 * src/notebook/run-progress's notebookRunProgress.
 */
export function makeLab(services: BuilderServices = {}) {
  return {
    /** Starts an experiment: `lab.experiment('…').machine(…).kernel(…).mmap(…)…run()`. */
    experiment(name: string): Experiment {
      return Experiment.create(name, services);
    },
    /** A builder from an existing JSON spec. */
    fromSpec(spec: ExperimentSpec): Experiment {
      return Experiment.fromSpec(spec, services);
    },
    /** A standalone workload builder (its `.steps` can go into `.steps(...)`). */
    workload(): WorkloadBuilder {
      return new WorkloadBuilder();
    },
  };
}

/** The lab layer's builder: all of it but `.native()` and the notebook progress (the public `lab` of src/index.ts has those too). */
export const lab = makeLab();

export { Experiment, type NativeTimer, type RunProgressShow, type BuilderServices, type UffdOps } from './builder';
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
