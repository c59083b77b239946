/**
 * The experiment spec (DESIGN.md, "The experiment spec"): the JSON contract between the fluent
 * builder, the CLI, notebooks and tests, as a zod schema. Names follow DESIGN.md exactly; fields
 * beyond it are optional extensions documented in docs/spec.md.
 *
 * Sweep variables: any step field may hold the string "$name" instead of a value; the runner
 * substitutes the swept (or `vars`) value of `name` for each run (src/lab/plan.ts). The schema
 * therefore accepts a "$name" string wherever a number, boolean, enum or page selection goes.
 */
import { z } from 'zod';
import { UFFD_FEATURES, UFFD_HINTS, UFFD_MODES } from '../kernel/userfaultfd';
import { parseSizeOrError } from './size';
import { DEPENDENCES } from '../cost/regime';

/** A reference to a sweep or `vars` variable: "$name". */
export type VarRef = `$${string}`;
/** Message marking issues of the VarRef branch of a union, so error messages can skip that branch. */
export const VARREF_MARK = 'ptlab:varref';
// (z.templateLiteral would be the natural schema, but zod 4.6 infers its type as "" — so a regex
// string, typed by hand: the one cast in the spec, justified by that regex.)
export const VarRef = z
  .string({ error: VARREF_MARK })
  .regex(/^\$[A-Za-z_][A-Za-z0-9_]*$/, { error: VARREF_MARK, abort: true })
  .describe('a sweep variable, "$name"') as unknown as z.ZodType<VarRef>;

/** `schema`, or a "$name" sweep variable. The VarRef branch stays last (the error formatter relies on it). */
function v<T extends z.ZodType>(schema: T) {
  return z.union([schema, VarRef]);
}

const Name = z.string().min(1);
export const Size = z
  .union([z.string(), z.number()])
  .superRefine((val, ctx) => {
    if (typeof val === 'string' && val.startsWith('$')) return;
    const r = parseSizeOrError(val);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', message: r });
  })
  .describe('a size in binary units ("4KiB", "256MiB", "1GiB"), a byte count (multiple of 4096), or "$var"');

const PageIndex = z.number().int().nonnegative();
export const PageRange = z.object({ from: PageIndex, count: PageIndex }).strict();
export const Pages = z
  .union([z.array(PageIndex), PageRange, VarRef])
  .describe('pages of the region: [0, 1, 2] or {"from": 0, "count": 16}; omitted = all pages');
export type Pages = z.infer<typeof Pages>;

export const MMAP_KINDS = ['anon-private', 'anon-shared', 'file-shared', 'file-private'] as const;
export const PROTS = ['none', 'r', 'rw'] as const;
export const FS_KINDS = ['mkwrite', 'plain'] as const;
export const ACCESS_KINDS = ['read', 'write', 'rw'] as const;
export const PATTERNS = ['sequential', 'random', 'zipf', 'stride', 'hotcold'] as const;
export const ADVICE = ['dontneed', 'free', 'cold', 'pageout', 'hugepage', 'nohugepage', 'collapse'] as const;
export const THP_MODES = ['never', 'madvise', 'always'] as const;
export const MTHP_SIZE_NAMES = ['16kB', '32kB', '64kB', '128kB', '256kB', '512kB', '1024kB'] as const;
export { UFFD_MODES, UFFD_FEATURES, UFFD_HINTS };
export const CLEAR_REFS_MODES = ['soft-dirty', 'young'] as const;
export const SCAN_MODES = ['written', 'soft-dirty'] as const;
export const TRACE_FORMATS = ['csv', 'jsonl', 'ptt'] as const;
const dependence = v(z.enum(DEPENDENCES))
  .optional()
  .describe('independent (default): the accesses can overlap, like a stream; dependent: each waits for the previous one, like a pointer chase (prices walks and A/D updates, docs/cost-model.md)');

/** `trace: { pages: [17] }`: record every hardware and kernel event that touches these pages. */
export const PteTraceSpec = z
  .object({
    pages: z.array(PageIndex).min(1).max(64).describe('page indices of the region to trace (at most 64)'),
    region: Name.optional().describe("the region (default: the step's region, else the first region mapped)"),
  })
  .strict()
  .describe('per-PTE event trace: every hardware and kernel event that touched these pages, in order, with the kernel function');
export type PteTraceSpec = z.infer<typeof PteTraceSpec>;

/** Fields every step may carry. */
const common = {
  /** per-PTE event trace of some pages during this step */
  trace: PteTraceSpec.optional(),
  /** the process the step acts in (default `main`; others come from `fork`) */
  process: Name.optional().describe('process the step runs in (default "main"; others are created by fork)'),
  /** free text shown in charts and tables instead of the op */
  label: z.string().optional().describe('label for charts and tables'),
};
const region = Name.describe('region name given by an earlier mmap');

export const MmapStep = z
  .object({
    op: z.literal('mmap'),
    region,
    size: Size,
    kind: v(z.enum(MMAP_KINDS)).optional().describe('default anon-private'),
    prot: v(z.enum(PROTS)).optional().describe('default rw'),
    fs: v(z.enum(FS_KINDS)).optional().describe('file kinds: mkwrite (->page_mkwrite, lazy block allocation; default) or plain'),
    thp: v(z.enum(['hugepage', 'nohugepage'])).optional().describe('madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE) right after mmap'),
    ...common,
  })
  .strict();

export const MunmapStep = z.object({ op: z.literal('munmap'), region, ...common }).strict();

export const TouchStep = z
  .object({
    op: z.literal('touch'),
    region,
    access: v(z.enum(ACCESS_KINDS)).optional().describe('default rw when writeRatio is given, else read'),
    pages: Pages.optional(),
    pattern: v(z.enum(PATTERNS)).optional().describe('default sequential'),
    count: v(z.number().int().nonnegative()).optional().describe('accesses; default: each selected page once'),
    writeRatio: v(z.number().min(0).max(1)).optional().describe('fraction of writes for access rw (default 0.5)'),
    cpu: v(z.number().int().nonnegative()).optional().describe('run all accesses on this CPU (default 0)'),
    threads: v(z.number().int().min(1).max(65535)).optional().describe('threads, round-robin interleaved'),
    placement: z
      .union([z.literal('spread'), z.array(z.number().int().nonnegative()).min(1), VarRef])
      .optional()
      .describe('thread -> CPU: "spread" (thread t on CPU t mod cpus, default) or a CPU list'),
    theta: v(z.number().positive()).optional().describe('Zipf exponent (default 0.99)'),
    stride: v(z.number().int().min(1)).optional().describe('pages between accesses for pattern stride (default 8)'),
    hotFraction: v(z.number().gt(0).max(1)).optional().describe('hot set fraction for pattern hotcold (default 0.2)'),
    hotProbability: v(z.number().min(0).max(1)).optional().describe('probability of a hot access (default 0.8)'),
    dependence,
    ...common,
  })
  .strict();

export const MprotectStep = z.object({ op: z.literal('mprotect'), region, prot: v(z.enum(PROTS)), pages: Pages.optional(), ...common }).strict();

export const MadviseStep = z.object({ op: z.literal('madvise'), region, advice: v(z.enum(ADVICE)), pages: Pages.optional(), ...common }).strict();

export const ForkStep = z.object({ op: z.literal('fork'), child: Name.describe('name of the new process'), ...common }).strict();

export const UffdRegisterStep = z
  .object({
    op: z.literal('uffd-register'),
    region,
    modes: z.array(z.enum(UFFD_MODES)).min(1),
    features: z.array(z.enum(UFFD_FEATURES)).optional(),
    handler: z
      .object({
        copy: z.boolean().optional().describe('the handler copies each faulting page before un-protecting it (a live snapshot); default false'),
        hints: z.array(z.enum(UFFD_HINTS)).optional().describe("hints the handler's UFFDIO_WRITEPROTECT passes (the seed RFC)"),
      })
      .strict()
      .optional()
      .describe('what the modelled handler thread does on a uffd-wp fault: un-protect the page, optionally copying it first'),
    ...common,
  })
  .strict();

export const UffdWriteprotectStep = z
  .object({
    op: z.literal('uffd-writeprotect'),
    region,
    wp: v(z.boolean()).describe('true protects, false resolves (unprotects)'),
    hints: z.array(z.enum(UFFD_HINTS)).optional().describe('the seed RFC hints: access-likely, write-likely'),
    pages: Pages.optional(),
    ...common,
  })
  .strict();

export const UffdCopyStep = z.object({ op: z.literal('uffd-copy'), region, pages: Pages.optional(), wp: v(z.boolean()).optional(), ...common }).strict();
export const UffdZeropageStep = z.object({ op: z.literal('uffd-zeropage'), region, pages: Pages.optional(), wp: v(z.boolean()).optional(), ...common }).strict();

export const ReclaimStep = z
  .object({
    op: z.literal('reclaim'),
    pages: z.union([z.number().int().nonnegative(), z.literal('all'), VarRef]).optional().describe('pages to reclaim, or "all" (default)'),
    ...common,
  })
  .strict();

export const WritebackStep = z.object({ op: z.literal('writeback'), region: region.optional().describe('default: all regions'), ...common }).strict();
export const MigrateStep = z.object({ op: z.literal('migrate'), region, pages: Pages.optional(), ...common }).strict();
export const ClearRefsStep = z.object({ op: z.literal('clear-refs'), mode: v(z.enum(CLEAR_REFS_MODES)), ...common }).strict();
export const KhugepagedStep = z
  .object({ op: z.literal('khugepaged'), ...common })
  .strict()
  .describe(
    "one full khugepaged scan (mm/khugepaged.c khugepaged_scan_mm_slot, khugepaged/full_scans + 1) of every process: each 2 MiB range of a VMA it may collapse (anon, machine.thp always, or madvise with MADV_HUGEPAGE) that passes hpage_collapse_scan_pmd's limits (machine.khugepaged) becomes a THP; the step's process and CPU are where the daemon's flushes are issued from",
  );
export const IdleStep = z
  .object({
    op: z.literal('idle'),
    cpu: v(z.number().int().nonnegative()).describe('the CPU whose thread goes to sleep: it keeps the mm loaded in lazy-TLB mode and is skipped by shootdowns until it runs again'),
    ...common,
  })
  .strict();
export const InspectStep = z.object({ op: z.literal('inspect'), region, pages: Pages.optional(), ...common }).strict();

export const TraceStep = z
  .object({
    op: z.literal('trace'),
    region: Name.optional().describe(
      'CSV/JSONL: the region the byte offsets address (required). Page trace (.ptt): run all its regions packed, in address order, inside this one region; omitted = each trace region in the spec region of its name (see regions), mapped by this step if not mapped yet',
    ),
    file: Name.describe('a page trace (.ptt, from ptlab trace capture) or a CSV/JSONL trace of cpu, op (r|w), address; relative to the spec file'),
    format: z.enum(TRACE_FORMATS).optional().describe('default from the extension: .ptt = ptt, .jsonl/.ndjson = jsonl, else csv'),
    regions: z
      .record(z.string().min(1), Name)
      .optional()
      .describe('page traces: trace region name -> spec region to run it in (default: the spec region of the same name)'),
    records: PageRange.optional().describe('page traces: replay only these records {from, count} (e.g. to interleave a copier); default all'),
    cpu: v(z.number().int().nonnegative()).optional().describe('page traces: run every thread on this CPU (default: thread t on CPU t mod cpus)'),
    maxBytes: z.number().int().positive().optional().describe('CSV/JSONL: refuse larger files (default 1 GiB)'),
    maxLines: z.number().int().positive().optional().describe('CSV/JSONL: refuse longer files (default 50 million lines)'),
    dependence,
    ...common,
  })
  .strict();

export const PagemapScanStep = z
  .object({
    op: z.literal('pagemap-scan'),
    region,
    mode: v(z.enum(SCAN_MODES)).describe('written: PAGE_IS_WRITTEN (uffd-wp async); soft-dirty: PAGE_IS_SOFT_DIRTY'),
    clear: v(z.boolean()).optional().describe('PM_SCAN_WP_MATCHING: write-protect the matched pages again (mode written only)'),
    pages: Pages.optional(),
    ...common,
  })
  .strict();

export const STEP_SCHEMAS = {
  mmap: MmapStep,
  munmap: MunmapStep,
  touch: TouchStep,
  mprotect: MprotectStep,
  madvise: MadviseStep,
  fork: ForkStep,
  'uffd-register': UffdRegisterStep,
  'uffd-writeprotect': UffdWriteprotectStep,
  'uffd-copy': UffdCopyStep,
  'uffd-zeropage': UffdZeropageStep,
  reclaim: ReclaimStep,
  writeback: WritebackStep,
  migrate: MigrateStep,
  'clear-refs': ClearRefsStep,
  khugepaged: KhugepagedStep,
  idle: IdleStep,
  inspect: InspectStep,
  trace: TraceStep,
  'pagemap-scan': PagemapScanStep,
} as const;

export type Op = keyof typeof STEP_SCHEMAS;
export const OPS = Object.keys(STEP_SCHEMAS) as Op[];

export const StepSchema = z.discriminatedUnion('op', [
  MmapStep,
  MunmapStep,
  TouchStep,
  MprotectStep,
  MadviseStep,
  ForkStep,
  UffdRegisterStep,
  UffdWriteprotectStep,
  UffdCopyStep,
  UffdZeropageStep,
  ReclaimStep,
  WritebackStep,
  MigrateStep,
  ClearRefsStep,
  KhugepagedStep,
  IdleStep,
  InspectStep,
  TraceStep,
  PagemapScanStep,
]);
export type Step = z.infer<typeof StepSchema>;
/** The step type of one op: `StepOf<'touch'>`. */
export type StepOf<O extends Op> = Extract<Step, { op: O }>;

/** `T` without its "$name" options: the shape a value has once every variable is substituted. */
export type Resolved<T> = T extends VarRef ? never : T extends readonly (infer E)[] ? Resolved<E>[] : T extends object ? { [K in keyof T]: Resolved<T[K]> } : T;
/** A step after substitution (what compile() puts in a RunPlan): the StepSchema type with no "$var" option. */
export type ResolvedStep = Resolved<Step>;
export type ResolvedStepOf<O extends Op> = Extract<ResolvedStep, { op: O }>;

const VarName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/);
const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Seed = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const MachineSchema = z
  .object({
    cpu: Name.describe('a CPU cost profile name, e.g. "skylake-sp"'),
    cpus: z.number().int().min(1).max(4096).optional().describe('number of CPUs (default 1)'),
    virtualized: z.boolean().optional().describe('run as a KVM guest: nested (2-D) page walks and VM-exit costs for IPIs (default false)'),
    swap: z.enum(['disk', 'zram']).optional().describe('swap device: disk (default) or zram, a SWP_SYNCHRONOUS_IO device whose swap-ins skip the swap cache'),
    thp: z.enum(THP_MODES).optional().describe('transparent huge pages, /sys/kernel/mm/transparent_hugepage/enabled: never, madvise (default, as a stock kernel) or always'),
    thpZeroPage: z.boolean().optional().describe('transparent_hugepage/use_zero_page: a read fault maps the huge zero page (default true)'),
    mthp: z
      .partialRecord(z.enum(MTHP_SIZE_NAMES), z.enum(['always', 'madvise', 'inherit', 'never']))
      .optional()
      .describe('multi-size THP (6.8+): transparent_hugepage/hugepages-<size>kB/enabled per size, e.g. {"64kB": "always"} (default: never for every size)'),
    khugepaged: z
      .object({
        maxPtesNone: z.number().int().min(0).max(511).optional().describe('khugepaged/max_ptes_none: none or zero-page PTEs a range may have (default 511)'),
        maxPtesSwap: z.number().int().min(0).max(511).optional().describe('khugepaged/max_ptes_swap: swap PTEs a range may have, swapped in by the collapse (default 64)'),
        maxPtesShared: z.number().int().min(0).max(511).optional().describe('khugepaged/max_ptes_shared: pages mapped by another process a range may have (default 256)'),
      })
      .strict()
      .optional()
      .describe('transparent_hugepage/khugepaged limits of the khugepaged step (MADV_COLLAPSE ignores them)'),
  })
  .strict();

/**
 * A kernel variant given as a value: a built-in variant and the fields it changes, e.g.
 * {"name": "what-if", "base": "linux-6.18", "overrides": {"mkdirtyOnMkwrite": true}}. Hooks come
 * from a module (`overrides.hooksModule`, a path relative to the spec file); `hooks` lists hooks
 * defined as functions where the spec was built (a notebook), which run only there.
 */
export const VariantSpecSchema = z
  .object({
    name: Name.describe('the variant name runs are labelled with'),
    base: Name.describe('the built-in variant the fields are changed from, e.g. "linux-6.18"'),
    overrides: z
      .record(z.string(), z.union([z.string(), z.boolean(), z.number(), z.array(z.string())]))
      .optional()
      .describe('variant fields (src/kernel/variant.ts) and their values; hooksModule: a module exporting changePte, madvisePte, faultPte or reclaimFolio (docs/kernel-model.md)'),
    hooks: z.array(z.string()).optional().describe('hooks defined as functions where the spec was built; they run only in that process'),
  })
  .strict();
export type VariantSpec = z.infer<typeof VariantSpecSchema>;
const KernelRef = z.union([Name, VariantSpecSchema]);
export type KernelRef = z.infer<typeof KernelRef>;

/** The variant name of a kernel entry. */
export function kernelName(k: KernelRef): string {
  return typeof k === 'string' ? k : k.name;
}

export const ExperimentSpecSchema = z
  .object({
    $schema: z.string().optional().describe('path or URL of docs/spec.schema.json, for editors'),
    name: Name.describe('experiment name'),
    description: z.string().optional(),
    seed: z.union([Seed, z.array(Seed).min(1)]).optional().describe('run seed (default 1); a list runs one per seed'),
    machine: MachineSchema,
    kernel: z.union([KernelRef, z.array(KernelRef).min(1)]).describe('a kernel variant (a built-in name, or a variant value), or a list: one run per variant'),
    steps: z.array(StepSchema).min(1),
    sweep: z
      .record(VarName, z.array(Scalar).min(1))
      .optional()
      .describe('cartesian product: kernel, seed, cpu (machine.cpu), cpus (machine.cpus), or a variable used as "$name" in steps'),
    vars: z.record(VarName, Scalar).optional().describe('default values of "$name" variables'),
    repeat: z.number().int().min(1).optional().describe('runs per combination (default 1)'),
    sampleEvery: z.number().int().nonnegative().optional().describe('time series: sample counters every N accesses (0 = never)'),
    trace: PteTraceSpec.optional().describe('per-PTE event trace of some pages during the whole run (each step lists its events)'),
  })
  .strict();

export type ExperimentSpec = z.infer<typeof ExperimentSpecSchema>;
export type Machine = z.infer<typeof MachineSchema>;
/** Keys of `sweep` with a meaning of their own; any other key is a "$name" variable. */
export const RESERVED_SWEEP_KEYS = ['kernel', 'seed', 'cpu', 'cpus'] as const;
