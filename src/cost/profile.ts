/**
 * CPU profile: TLB geometry, clock, storage speeds and a price for every event of both
 * vocabularies, each number with its source. `CpuProfileSchema` validates a definition (the
 * sourced JSON form a person writes) and produces a `CpuProfile` whose `tlb` is the plain
 * `MmuGeometry` the x86 layer takes and whose `costs` also hold the derived per-page I/O costs.
 */
import { z } from 'zod';
import type { MmuGeometry } from '../x86/geometry';
import { COST_EVENTS, IO_EVENTS, PAGE_ZERO_EVENTS, STATED_COST_EVENTS, type CostEvent, type PageZeroEvent, type StatedCostEvent } from './cost-events';
import { CostEntrySchema, SourcedSchema, type CostEntry, type Sourced } from './sourced';
import { deriveIoCosts, type StorageDefinition } from './storage';
import { MemorySchema, hierarchyOf, type MemoryDefinition, type MemoryHierarchy } from './memory';

export type Vendor = 'intel' | 'amd';

export interface TlbLevelDefinition {
  entries: Sourced;
  ways: Sourced;
}

/** MmuGeometry with a source on every number. */
export interface TlbDefinition {
  l1d: TlbLevelDefinition;
  stlb: TlbLevelDefinition;
  l1d2m: Sourced;
  psc: { pml4e: Sourced; pdpte: Sourced; pde: Sourced };
  la57?: boolean;
  /**
   * Virtualized profiles only: the page size in KiB (4 or 2048) the host backs guest memory with.
   * 4 KiB host pages make the TLB cache a guest 2 MiB page as 4 KiB entries (MmuGeometry
   * hostPageKiB). A virtualized definition without it gets HOST_PAGE_ASSUMED.
   */
  hostPageKiB?: Sourced;
}

/** A virtualized profile's host page size when nothing measured says otherwise: the model before host page sizes. */
export const HOST_PAGE_ASSUMED: Sourced = {
  value: 2048,
  source: 'estimate: 2 MiB host pages assumed, the model before host page sizes (VMware vSphere 6.7 performance docs: "By default the hypervisor uses large pages in hardware assisted modes"; a KVM host backs guest memory with THPs where its THP setting allows); a guest PMD leaf then reaches the TLB as one 2 MiB entry',
  kind: 'estimate',
  note: 'not measured on this host; on a guest `ptlab calibrate` measures it (the hostpage_* chases of native/calibrate/thp.c: a PMD-mapped THP as slow as 4 KiB pages means 4 KiB host pages)',
};

/** Where a measured profile was measured (src/cost/profiles/measured/*.json, the host profile). */
export interface MeasuredMachine {
  /** /proc/cpuinfo "model name" */
  cpuModel: string;
  vendorId?: string;
  /** CPUID family and model, decimal as /proc/cpuinfo prints them */
  family?: number;
  model?: number;
  kernel: string;
  /** bare metal, or a guest with nested paging (EPT/NPT) or shadow paging (the hypervisor write-protects the guest's tables) */
  virtualization: 'bare-metal' | 'nested-paging' | 'shadow-paging';
  /** how the virtualization mode was detected */
  virtualizationHow: string;
  /** YYYY-MM-DD */
  date: string;
  tscGHz: number;
  /** the other CPUs during the measurement */
  otherCpus: 'busy' | 'as-is';
  cpus?: number;
  /** the shipped profile the unmeasured entries came from (virtualize()d for a guest) */
  base?: { profile: string; virtualized: boolean };
}

export const MeasuredMachineSchema = z
  .object({
    cpuModel: z.string().min(1),
    vendorId: z.string().optional(),
    family: z.number().int().nonnegative().optional(),
    model: z.number().int().nonnegative().optional(),
    kernel: z.string().min(1),
    virtualization: z.enum(['bare-metal', 'nested-paging', 'shadow-paging'], { error: 'must be "bare-metal", "nested-paging" or "shadow-paging"' }),
    virtualizationHow: z.string().min(1, { error: 'required: say how the virtualization mode was detected' }),
    date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'must be a date YYYY-MM-DD' }),
    tscGHz: z.number().positive(),
    otherCpus: z.enum(['busy', 'as-is']),
    cpus: z.number().int().positive().optional(),
    base: z.object({ profile: z.string().min(1), virtualized: z.boolean() }).strict().optional(),
  })
  .strict();

/** The sourced form of a profile, as written in src/cost/profiles/*.ts or a host-profile JSON file. */
export interface CpuProfileDefinition {
  name: string;
  vendor: Vendor;
  /** marketing name of the reference part, e.g. "Xeon Gold 6148" */
  model: string;
  clockGHz: Sourced;
  tlb: TlbDefinition;
  /** kernel page-table isolation on (Meltdown-affected Intel parts): +2 CR3 writes per kernel entry */
  pti: boolean;
  /** set by virtualize(): nested paging and VM exits are priced in */
  virtualized: boolean;
  storage: StorageDefinition;
  /** caches, DRAM latency and memory-level parallelism: the regime rule's inputs (regime.ts) */
  memory: MemoryDefinition;
  costs: Record<StatedCostEvent, CostEntry>;
  /** measured profiles: the machine, kernel and virtualization mode they were measured on */
  measuredOn?: MeasuredMachine;
  /** free-form remarks shown in docs */
  notes?: string[];
}

/** What a definition may omit (defaults: pti false, virtualized false). */
export type CpuProfileInput = Omit<CpuProfileDefinition, 'pti' | 'virtualized'> & { pti?: boolean; virtualized?: boolean };

export interface CpuProfile {
  name: string;
  vendor: Vendor;
  model: string;
  clockGHz: number;
  /** plain geometry for the x86 layer */
  tlb: MmuGeometry;
  pti: boolean;
  virtualized: boolean;
  storage: { writeMBps: number; readMBps: number; latencyUs: number };
  memory: MemoryHierarchy;
  /** every event of HW_EVENTS and KERNEL_EVENTS (I/O events derived from storage) */
  costs: Record<CostEvent, CostEntry>;
  /** the validated sourced definition this profile was built from (for extendProfile, docs) */
  definition: CpuProfileDefinition;
}

const positive = (s: typeof SourcedSchema) =>
  s.refine((v) => v.value > 0, { error: 'value must be > 0', path: ['value'] });

const TlbLevelSchema = z.object({ entries: SourcedSchema, ways: SourcedSchema }).superRefine((lvl, ctx) => {
  const e = lvl.entries.value;
  const w = lvl.ways.value;
  if (!Number.isInteger(e) || e < 1) ctx.addIssue({ code: 'custom', path: ['entries', 'value'], message: 'must be a positive integer' });
  if (!Number.isInteger(w) || w < 1) ctx.addIssue({ code: 'custom', path: ['ways', 'value'], message: 'must be a positive integer' });
  else if (Number.isInteger(e)) {
    const sets = e / w;
    // The x86 layer indexes TLB sets with a mask: sets must be a power of two.
    if (!Number.isInteger(sets) || (sets & (sets - 1)) !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['ways', 'value'],
        message: `entries/ways must be a power of two (got ${e}/${w}); model a skewed or odd-way TLB with the nearest ways that give power-of-two sets and say so in note`,
      });
  }
});

const intSourced = SourcedSchema.refine((v) => Number.isInteger(v.value), { error: 'value must be an integer', path: ['value'] });

const TlbSchema = z.object({
  l1d: TlbLevelSchema,
  stlb: TlbLevelSchema,
  l1d2m: intSourced,
  psc: z.object({ pml4e: intSourced, pdpte: intSourced, pde: intSourced }),
  la57: z.boolean().optional(),
  hostPageKiB: SourcedSchema.refine((v) => v.value === 4 || v.value === 2048, { error: 'must be 4 (the host maps guest memory with 4 KiB pages) or 2048 (2 MiB or larger host pages)', path: ['value'] }).optional(),
});

const StorageSchema = z.object({
  writeMBps: positive(SourcedSchema),
  readMBps: positive(SourcedSchema),
  latencyUs: SourcedSchema,
});

const costShape: Record<string, z.ZodType> = {};
for (const ev of STATED_COST_EVENTS)
  costShape[ev] = z.unknown().superRefine((v, ctx) => {
    if (v === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'required: every event of HW_EVENTS and KERNEL_EVENTS needs { cycles, source, kind } (derive from another CPU and mark kind "estimate" if nothing is published)',
      });
  }).pipe(CostEntrySchema.optional());
for (const ev of IO_EVENTS)
  costShape[ev] = z
    .never({ error: 'derived from storage (writeMBps/readMBps/latencyUs at clockGHz); override storage.* instead of this cost' })
    .optional();
for (const ev of PAGE_ZERO_EVENTS)
  costShape[ev] = z.never({ error: 'derived from costs.pageZero (one pass over a 4 KiB page); override pageZero instead of this cost' }).optional();

const CostsSchema = z.strictObject(costShape, {
  error: (iss) =>
    iss.code === 'unrecognized_keys'
      ? `unknown event(s) ${iss.keys.join(', ')}: costs are keyed by the names in HW_EVENTS (src/x86/events.ts) and KERNEL_EVENTS (src/kernel/events.ts)`
      : undefined,
});

export const CpuProfileDefinitionSchema = z.object({
  name: z.string().trim().min(1, { error: 'required: a profile name such as "skylake-sp"' }),
  vendor: z.enum(['intel', 'amd'], { error: 'must be "intel" or "amd"' }),
  model: z.string().trim().min(1, { error: 'required: the marketing name of the reference part' }),
  clockGHz: positive(SourcedSchema),
  tlb: TlbSchema,
  pti: z.boolean().default(false),
  virtualized: z.boolean().default(false),
  storage: StorageSchema,
  memory: MemorySchema,
  costs: CostsSchema,
  measuredOn: MeasuredMachineSchema.optional(),
  notes: z.array(z.string()).optional(),
}).superRefine((d, ctx) => {
  if (d.tlb.hostPageKiB && !d.virtualized)
    ctx.addIssue({ code: 'custom', path: ['tlb', 'hostPageKiB'], message: 'only a virtualized profile has a host page size: remove it, or set virtualized: true' });
}) as unknown as z.ZodType<CpuProfileDefinition, CpuProfileInput>;

function geometryOf(t: TlbDefinition, virtualized: boolean): MmuGeometry {
  const g: MmuGeometry = {
    l1d: { entries: t.l1d.entries.value, ways: t.l1d.ways.value },
    stlb: { entries: t.stlb.entries.value, ways: t.stlb.ways.value },
    l1d2m: t.l1d2m.value,
    psc: { pml4e: t.psc.pml4e.value, pdpte: t.psc.pdpte.value, pde: t.psc.pde.value },
  };
  if (t.la57 !== undefined) g.la57 = t.la57;
  if (virtualized) g.hostPageKiB = (t.hostPageKiB ?? HOST_PAGE_ASSUMED).value === 4 ? 4 : 2048;
  return g;
}

/** The zeromap's events (cost-events.ts PAGE_ZERO_EVENTS): each is the profile's pageZero, as sourced as it. */
function derivePageZeroCosts(pageZero: CostEntry): Record<PageZeroEvent, CostEntry> {
  const derived = (what: string): CostEntry => ({
    cycles: pageZero.cycles,
    source: `derived: costs.pageZero (${pageZero.source})`,
    kind: pageZero.kind,
    note: `${what}, one pass over a 4 KiB page like clear_page: priced as pageZero`,
  });
  return {
    swpinZero: derived('swap_read_folio_zeromap() zero-fills the page instead of reading it from the device (6.12+)'),
    swpoutZero: derived('is_folio_zero_filled() reads every word of the page, which swap_writeout() then does not write (6.12+)'),
  };
}

export function buildProfile(def: CpuProfileDefinition): CpuProfile {
  // a virtualized definition states its host page size (docs and extendProfile see the assumption)
  if (def.virtualized && !def.tlb.hostPageKiB) def = { ...def, tlb: { ...def.tlb, hostPageKiB: HOST_PAGE_ASSUMED } };
  const costs = { ...def.costs, ...deriveIoCosts(def.storage, def.clockGHz), ...derivePageZeroCosts(def.costs.pageZero) } as Record<CostEvent, CostEntry>;
  for (const ev of COST_EVENTS) if (!costs[ev]) throw new Error(`internal: no cost for ${ev}`);
  return {
    name: def.name,
    vendor: def.vendor,
    model: def.model,
    clockGHz: def.clockGHz.value,
    tlb: geometryOf(def.tlb, def.virtualized),
    pti: def.pti,
    virtualized: def.virtualized,
    storage: { writeMBps: def.storage.writeMBps.value, readMBps: def.storage.readMBps.value, latencyUs: def.storage.latencyUs.value },
    memory: hierarchyOf(def.memory),
    costs,
    definition: def,
  };
}

/** Validates a definition and produces the profile (zod; `.parse` throws ZodError, prefer parseProfile for a readable message). */
export const CpuProfileSchema = CpuProfileDefinitionSchema.transform(buildProfile) as unknown as z.ZodType<CpuProfile, CpuProfileInput>;

/** A profile that failed validation; the message lists each bad field as `path: what to do`. */
export class ProfileError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ProfileError';
  }
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): { path: string; message: string }[] {
  return issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}

/** Validate and build; throws ProfileError naming each bad path. `origin` says where the input came from. */
export function parseProfile(input: unknown, origin?: string): CpuProfile {
  const r = CpuProfileSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = formatIssues(r.error.issues);
  const name = typeof input === 'object' && input && typeof (input as { name?: unknown }).name === 'string' ? `"${(input as { name: string }).name}"` : '';
  const head = `invalid CPU profile ${name}${origin ? ` (${origin})` : ''}:`;
  throw new ProfileError([head, ...issues.map((i) => `  ${i.path}: ${i.message}`)].join('\n'), issues);
}

/** Recursive partial, for notebook overrides. */
export type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

function isPlain(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Merge `over` onto `base`. A sourced leaf ({cycles|value, source, kind}) whose number changes must
 * bring a new `source`: a number never silently inherits a citation that does not back it.
 */
function mergeSourced(base: unknown, over: unknown, path: string[], errors: { path: string; message: string }[]): unknown {
  if (over === undefined) return base;
  if (!isPlain(over) || !isPlain(base)) return over;
  const out: Record<string, unknown> = { ...base };
  const isLeaf = 'source' in base && ('cycles' in base || 'value' in base);
  if (isLeaf) {
    const numKey = 'cycles' in base ? 'cycles' : 'value';
    const changes = over[numKey] !== undefined && over[numKey] !== base[numKey];
    if (changes && over.source === undefined)
      errors.push({ path: [...path, 'source'].join('.'), message: `required when overriding ${numKey}; cite a paper, LKML Message-ID, manual, or "measured: <how>"` });
    if (changes) {
      delete out.note;
      if (over.kind === undefined) out.kind = 'estimate';
    }
    for (const [k, v] of Object.entries(over)) if (v !== undefined) out[k] = v;
    return out;
  }
  for (const [k, v] of Object.entries(over)) out[k] = mergeSourced(base[k], v, [...path, k], errors);
  return out;
}

/**
 * Derive a profile in a notebook: deep partial override of `base`'s definition, re-validated.
 * e.g. extendProfile(getProfile('zen3'), { costs: { dBitSet: { cycles: 150, source: 'measured: my box', kind: 'measured' } } }, 'zen3-mine')
 */
export function extendProfile(base: CpuProfile, overrides: DeepPartial<CpuProfileInput>, name: string): CpuProfile {
  const errors: { path: string; message: string }[] = [];
  const merged = mergeSourced(base.definition, overrides, [], errors) as Record<string, unknown>;
  merged.name = name;
  if (errors.length)
    throw new ProfileError([`invalid override for CPU profile "${name}" (from "${base.name}"):`, ...errors.map((e) => `  ${e.path}: ${e.message}`)].join('\n'), errors);
  return parseProfile(merged, `extendProfile from "${base.name}"`);
}
