/**
 * ptlab/internals: every layer's own API (the x86 and kernel models, the cost model's parts, the
 * spec schemas, the runner, the fidelity tools), for tools and tests built on ptlab. Not covered
 * by the compatibility promise of the public API (`ptlab`, docs/api.md).
 */
export { VERSION } from './version';

// experiments: builder, spec, runner, results (`lab` is the public one, whose `.native()` runs)
export * from './lab/index';
export { lab } from './index';
export type { InspectRow, Counters, Cycles, SeriesPoint, StepResult, RunResult, ResultsJson, TidyRow, RunSource, StepTiming, TimeOptions, MachineRecord, RefusedStep } from './lab/types';
export { summarize, tQuantile975, type Summary } from './lab/stats';
export { simulateRun, SimulationError, type SimulateOptions } from './lab/simulate';

// the Linux mm model and its variants
export { Kernel, type KernelOptions, type MmapOptions } from './kernel/kernel';
export { deriveVariant, type KernelVariant, type VariantOverrides, type VariantHooks, type ChangePteContext, type MadvisePteContext, type FaultPteContext, type ReclaimFolioContext } from './kernel/variant';
export { getVariant, listVariants, variantForRelease, DEFAULT_VARIANT } from './kernel/variants';
export { KernelInvariantError } from './kernel/invariants';
export { KERNEL_EVENTS, KERNEL_FAULT_KINDS, KERNEL_WORK_EVENTS, KERNEL_VIOLATIONS } from './kernel/events';

// the x86 hardware model
export * as pte from './x86/pte';
export { Mmu, X86_PF_PROT, X86_PF_WRITE, X86_PF_USER, X86_PF_PK } from './x86/mmu';
export { PageTable, PageTableMemory } from './x86/pagetable';
export { HW_EVENTS, HW_VIOLATIONS } from './x86/events';
export { DEFAULT_GEOMETRY, type MmuGeometry } from './x86/geometry';

// the cost model
export * from './cost/index';

// notebooks and writeups
export * from './notebook/index';
export { writeReport, renderReport, loadResultsDir, type ReportOptions, type WriteReportOptions, type ReportChart } from './report/index';

// fidelity against the running kernel
export { replayNative, replayScript, hostFacts, ReplayRefused, ReplayFailed, type ReplayOptions } from './fidelity/replay';
export { diffSpec, diffRuns, formatDiff, variantForHost, ModelFailed, type DiffReport, type Difference, type DiffOptions } from './fidelity/diff';
export { loadSpecFile, loadSpecJson, type LoadedSpec } from './fidelity/spec-input';
export { hostModelPlan } from './fidelity/host-model';
export { timeNative, timeNativePlans, hostRefusals, DEFAULT_TIME_REPS } from './fidelity/timed';
export { compareWithHost, formatComparison, comparisonChart, comparisonCaption, type HostComparison, type ComparisonRow } from './fidelity/compare';

export { variantValue, variantFromValue, type VariantValue, type VariantFields } from './kernel/variant-value';
export { BUILTIN_VARIANTS } from './kernel/variants';
export * from './workload/index';
