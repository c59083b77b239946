/**
 * The experiment API: `lab.experiment(name)` starts a fluent builder; specs, validation, the
 * runner and ResultSet are exported for notebooks, the CLI and tests.
 */
import { Experiment } from './builder';
import { WorkloadBuilder } from './workload-builder';

export const lab = {
  /** Starts an experiment: `lab.experiment('…').machine(…).kernel(…).mmap(…)…run()`. */
  experiment(name: string): Experiment {
    return Experiment.create(name);
  },
  /** A builder from an existing JSON spec. */
  fromSpec: Experiment.fromSpec,
  /** A standalone workload builder (its `.steps` can go into `.steps(...)`). */
  workload(): WorkloadBuilder {
    return new WorkloadBuilder();
  },
};

export { Experiment, type UffdOps } from './builder';
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
