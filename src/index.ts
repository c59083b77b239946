/**
 * ptlab: a lab for x86-64 page-table research. The public API:
 *
 * ```ts
 * import { lab } from 'ptlab';
 * const results = await lab.experiment('uffd unprotect, then write')
 *   .machine('skylake-sp', { cpus: 2 })
 *   .kernels('linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints')
 *   .mmap('heap', '16MiB').touch('heap', 'write')
 *   .uffd.register('heap', { wp: true }).uffd.writeprotect('heap')
 *   .uffd.unprotect('heap', { hints: ['write-likely'] })
 *   .touch('heap', 'write')
 *   .run();
 * await results.chart('cycles').show();
 * ```
 */
import { Experiment } from './lab/builder';
import { inspect } from 'node:util';
import { ResultSet, type RowQuery } from './lab/resultset';
import { inspectResults, resultsFrame, resultsSummary, showResults, type ShowOptions } from './notebook/results-display';
import type { Table } from './notebook/table';
import { timeNative, type TimeOptions } from './fidelity/timed';
import { chartFor, type ChartOptionsByName, type MetricByNameOptions } from './notebook/charts/index';
import type { Chart } from './notebook/chart';

export { VERSION } from './version';

// experiments: builder, spec, runner, results
export * from './lab/index';
export type { InspectRow, Counters, Cycles, SeriesPoint, StepResult, RunResult, ResultsJson, TidyRow, RunSource, StepTiming, MachineRecord, RefusedStep } from './lab/types';
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
export { loadSpecFile, loadSpecJson, SpecInputError } from './fidelity/spec-input';
export { timeNative, timeNativePlans, hostRefusals, DEFAULT_TIME_REPS, type TimeOptions } from './fidelity/timed';
export { compareWithHost, formatComparison, comparisonChart, comparisonCaption, type HostComparison, type ComparisonRow } from './fidelity/compare';

declare module './lab/resultset' {
  interface ResultSet {
    /** The summary table of the step the experiment is about (per access), then its cycle breakdown. `await results.show()` */
    show(opts?: ShowOptions): Promise<void>;
    /** The summary as a table (renders when it is a cell's value; `.show()`, `.toText()`, `.toMarkdown()`). */
    summary(opts?: ShowOptions): Table;
    /** Tidy rows (one per run x step x metric) as a table, filtered like rows(). */
    frame(q?: RowQuery): Table;
    /** A chart of these results by name ('cycles', 'overhead', 'dirty', 'faults', 'sweep', 'pte-map', ...), with that chart's options. */
    chart<N extends keyof ChartOptionsByName>(name: N, opts?: ChartOptionsByName[N]): Chart;
    /** A chart of one tidy metric ('cycles.dBitSet', 'faults.byKind.wpReuse', ...). */
    chart(metric: string, opts?: MetricByNameOptions): Chart;
  }
}
// ResultSet lives in src/lab, below the notebook layer; the chart method is attached here, at the top.
(ResultSet.prototype as unknown as { chart: (name: string, opts?: MetricByNameOptions) => Chart }).chart = function (this: ResultSet, name: string, opts?: MetricByNameOptions): Chart {
  return chartFor(this, name, opts);
};

declare module './lab/builder' {
  interface Experiment {
    /**
     * Runs this experiment's ops on this host's kernel, timed (rdtsc, pinned, `reps` fresh
     * replays, medians): RunResults with `source: 'native'`, variant `native-<release>`, cpu
     * `host`, the machine record, and `refused` for the steps this host cannot run.
     * `ResultSet.merge([model, native])` puts them next to the model's runs.
     */
    native(opts?: TimeOptions): ResultSet;
  }
}
// the native runner lives in src/fidelity, above the lab layer; the method is attached here, at the top.
(Experiment.prototype as unknown as { native: (opts?: TimeOptions) => ResultSet }).native = function (this: Experiment, opts?: TimeOptions): ResultSet {
  return timeNative(this.toSpec(), opts);
};

// display: methods of ResultSet defined by the notebook layer (above src/lab), attached here
Object.assign(ResultSet.prototype, {
  show(this: ResultSet, opts?: ShowOptions): Promise<void> {
    return showResults(this, opts);
  },
  summary(this: ResultSet, opts?: ShowOptions): Table {
    return resultsSummary(this, opts);
  },
  frame(this: ResultSet, q?: RowQuery): Table {
    return resultsFrame(this, q);
  },
  [inspect.custom](this: ResultSet): string {
    return inspectResults(this);
  },
});
export type { ShowOptions } from './notebook/results-display';
