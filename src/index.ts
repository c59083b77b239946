/**
 * ptlab: a lab for x86-64 page-table research. The public API:
 *
 * ```ts
 * import { lab } from 'ptlab';
 * const results = await lab.experiment('uffd unprotect, then write')
 *   .machine('skylake-sp', { cpus: 2 })
 *   .kernel('linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints')
 *   .mmap('heap', '16MiB').touch('heap', 'write')
 *   .uffd.register('heap', { wp: true }).uffd.writeprotect('heap')
 *   .uffd.unprotect('heap', { hints: ['write-likely'] })
 *   .touch('heap', 'write')
 *   .run();
 * await results.chart('cycles').show();
 * ```
 */
// The public API (docs/api.md documents every name; test/api.test.ts fails on an undocumented
// one). Everything else is in 'ptlab/internals' (src/internals.ts).

export { VERSION } from './version';

// experiments: the builder (with the native runner of src/fidelity for `.native()` and the notebook
// progress of src/notebook for `.run()`, which the lab layer below them cannot import), the compile
// stage, results
import { makeLab } from './lab/index';
import { timeNative } from './fidelity/timed';
import { notebookRunProgress } from './notebook/run-progress';
export const lab = makeLab({ timer: timeNative, progress: notebookRunProgress });
// results draw themselves (results.chart(), .show(), ...) with src/notebook's views, given the same way
import { installResultViews } from './lab/result-views';
import { resultViews } from './notebook/results-display';
installResultViews(resultViews);
export { compile, type RunPlan, type CompileOptions, type ResolvedMachine } from './lab/compile';
export { validateSpec, type ValidateOptions, type ValidateResult } from './lab/validate';
export { SpecError, type SpecIssue } from './lab/spec-issues';
export { RunFailedError, RunCancelledError, type RunOptions, type RunProgress } from './lab/runner';
export { ResultSet, type ResultMeta, type GroupKey, type RowQuery, type SummaryRow } from './lab/resultset';
export type { Experiment, UffdOps } from './lab/builder';
export type { WorkloadBuilder, AccessOptions } from './lab/workload-builder';
export type { ExperimentSpec, Step, StepOf, ResolvedStep, Pages, Machine, VariantSpec, KernelRef, VarRef } from './lab/spec';
export type { InspectRow, Counters, Cycles, SeriesPoint, StepResult, RunResult, ResultsJson, TidyRow, RunSource, StepTiming, TimeOptions, MachineRecord, RefusedStep } from './lab/types';

// real programs: page traces (docs/traces.md)
export { PageTraceFile, pageTraceStats, type TraceStats, type RegionStats, type TraceRegion, type TraceTrailer } from './workload/index';

// kernel variants
export { deriveVariant, type KernelVariant, type VariantOverrides, type VariantHooks, type ChangePteContext, type MadvisePteContext, type FaultPteContext, type ReclaimFolioContext } from './kernel/variant';
export { getVariant, listVariants, DEFAULT_VARIANT } from './kernel/variants';

// CPU cost profiles
export { getProfile, listProfiles, registerProfile, DEFAULT_PROFILE } from './cost/registry';
export { extendProfile, type CpuProfile, type CpuProfileInput, type DeepPartial } from './cost/profile';
export { virtualize } from './cost/virtualize';
export { cycles, costTable, type CostTable } from './cost/model';

// charts, tables, display, reports
export { charts, type ChartOptionsByName, type MetricByNameOptions } from './notebook/charts/index';
export { Chart } from './notebook/chart';
export { Table, type Column, type TableOptions } from './notebook/table';
export { display, type Displayable, type DisplayOptions } from './notebook/display';
export { summaryTable } from './notebook/summary';
export { progress } from './notebook/progress';
export { traceTable } from './notebook/trace-table';
export { writeReport, type WriteReportOptions } from './report/index';

// the model next to this machine
export { compareWithHost, formatComparison, comparisonChart, type HostComparison } from './fidelity/compare';
export type { ShowOptions } from './notebook/results-display';
