/**
 * Prices of the transparent-huge-page paths from the probe's THP measurements (native/calibrate/
 * thp.c): each measurement is one kernel path, and its price is the measurement minus the other
 * events the kernel model counts on that path (THP_PATHS says which; test/cost-calibrate-thp.test.ts
 * runs the same operations on the kernel model and checks the list against its counters).
 *
 * The #PF entry/exit is the host's measured `pageFault` (a getppid() round trip). The fault
 * prices are then reconciled like the 4 KiB ones (src/cost/reconcile.ts, thpFaultBenches below),
 * so the model's walks and #PF drain are not charged on top of a measurement that holds them.
 */
import { z } from 'zod';
import { COST_EVENTS, type CostEvent } from './cost-events';
import pathsFile from './calibrate-thp-paths.json';
import type { CostEntry } from './sourced';
import type { ProbeResult } from './probe-runner';
import type { FaultBench } from './reconcile';

/** A probe median with its result, or why it is missing (as medianOf returns it). */
export type Got = { value: number; r: ProbeResult } | { error: string };

export interface ThpPath {
  /** the probe measurement of the path */
  probe: string;
  /** a measurement of the same operation without the THP, subtracted first */
  baseline?: string;
  /** the event it prices */
  target: CostEvent;
  /** the other events of the path with their counts, priced at this calibration's value where it measured them, else the base profile's */
  terms: Partial<Record<CostEvent, number>>;
  /** how many `target` events one measured operation makes (a call over several PMDs); the price is per event */
  per?: number;
  /** what the measurement is, for the row and the price's note */
  what: string;
  /** the first kernel release that takes this path (earlier ones keep the base price) */
  since?: { release: [number, number]; why: string };
  /** for the user-space stand-ins of kernel copies: the conditions they were measured in */
  regime?: string;
}

/**
 * The THP paths (src/cost/calibrate-thp-paths.json, data): per probe measurement, the event it
 * prices and the other events the kernel model counts on that path. Validated once, here.
 */
const CostEventName = z.enum(COST_EVENTS as [CostEvent, ...CostEvent[]]);
const ThpPathSchema = z
  .object({
    probe: z.string(),
    baseline: z.string().optional(),
    target: CostEventName,
    terms: z.partialRecord(CostEventName, z.number().positive()),
    per: z.number().int().positive().optional(),
    what: z.string(),
    since: z.object({ release: z.tuple([z.number().int(), z.number().int()]), why: z.string() }).strict().optional(),
    regime: z.string().optional(),
  })
  .strict();
const PATHS = z.object({ description: z.string(), paths: z.array(ThpPathSchema), cow: ThpPathSchema }).strict().parse(pathsFile);

/** In the order they are derived: the zeroing and copying first, since the faults and the collapse subtract them. */
export const THP_PATHS: readonly ThpPath[] = PATHS.paths;

/**
 * Write to a THP that a live forked child shares: do_huge_pmd_wp_page splits the PMD and falls
 * back to the PTE path, which copies one 4 KiB page. Not a price: a second estimate of
 * splitHugePmd, shown next to the one THP_PATHS derives.
 */
export const THP_COW_PATH: ThpPath = PATHS.cow;

export interface ThpDeriveContext {
  /** the probe median of a measurement */
  m: (name: string) => Got;
  /** the base profile's price */
  b: (ev: CostEvent) => number;
  /** the prices measured so far in this calibration (THP prices are added to it by `derive`) */
  costs: Partial<Record<CostEvent, CostEntry>>;
  /** derive(event, main, subtracted, how, regime): calibrate.ts's derivation (a measured price or a kept row) */
  derive: (event: CostEvent, main: Got, minus: (Got | number)[], how: string, regime?: string) => void;
  /** keep the base price of `event` and say why */
  keep: (event: CostEvent, why: string) => void;
  /** the host's kernel release */
  kernel: string;
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(1));

/** The terms of a path in words, with the prices used: "pageFault 490 - thpAlloc 1600 (base)". */
function termsText(ctx: ThpDeriveContext, terms: ThpPath['terms']): string {
  return Object.entries(terms)
    .map(([ev, n]) => {
      const e = ev as CostEvent;
      const measured = ctx.costs[e]?.kind === 'measured';
      return `${n! > 1 ? `${n} x ` : ''}${e} ${fmt(price(ctx, e))}${measured ? '' : ' (base)'}`;
    })
    .join(' - ');
}

function price(ctx: ThpDeriveContext, ev: CostEvent): number {
  return ctx.costs[ev]?.cycles ?? ctx.b(ev);
}

function termsSum(ctx: ThpDeriveContext, terms: ThpPath['terms']): number {
  return Object.entries(terms).reduce((s, [ev, n]) => s + n! * price(ctx, ev as CostEvent), 0);
}

/** The path's measurement, less its baseline measurement when it has one. */
function mainOf(ctx: ThpDeriveContext, p: ThpPath): Got {
  const g = ctx.m(p.probe);
  if (!p.baseline || 'error' in g) return g;
  const z = ctx.m(p.baseline);
  return 'error' in z ? z : { value: g.value - z.value, r: g.r };
}

function since(kernel: string, [major, minor]: [number, number]): boolean {
  const r = /^(\d+)\.(\d+)/.exec(kernel);
  return r !== null && (Number(r[1]) > major || (Number(r[1]) === major && Number(r[2]) >= minor));
}

/** The value of the cross-check path under this calibration's prices, or why there is none. */
function thpCowSplit(ctx: ThpDeriveContext): { value: number; text: string } | { error: string } {
  const g = ctx.m(THP_COW_PATH.probe);
  if ('error' in g) return g;
  const value = g.value - termsSum(ctx, THP_COW_PATH.terms);
  return { value, text: `${fmt(g.value)} - ${termsText(ctx, THP_COW_PATH.terms)} = ${Math.round(value)}` };
}

/** Derive every THP price of THP_PATHS into ctx.costs (through ctx.derive, which also adds the table rows). */
export function deriveThpCosts(ctx: ThpDeriveContext): void {
  for (const p of THP_PATHS) {
    if (p.since && !since(ctx.kernel, p.since.release)) {
      ctx.keep(p.target, `kernel ${ctx.kernel}: ${p.since.why}`);
      continue;
    }
    const main = mainOf(ctx, p);
    const terms = Object.keys(p.terms).length ? ` - ${termsText(ctx, p.terms)}` : '';
    let how = p.per ? `(${p.what}${terms}) / ${p.per}` : `${p.what}${terms}`;
    if (p.target === THP_COW_PATH.target) {
      const cow = thpCowSplit(ctx);
      how += 'error' in cow ? `; fork CoW cross-check not measured (${cow.error})` : `; cross-check, ${THP_COW_PATH.what}: ${cow.text}`;
    }
    const sum = termsSum(ctx, p.terms);
    if (p.per && !('error' in main)) ctx.derive(p.target, { value: (main.value - sum) / p.per, r: main.r }, [], how, p.regime);
    else ctx.derive(p.target, main, [sum], how, p.regime);
  }
}

/**
 * The probe's THP fault passes (native/calibrate/thp.c) as spec steps, for reconcileFaultPrices:
 * one fault per 2 MiB range, so `pages` counts the faults of the timed pass. Their walks and #PF
 * drain are ~0.1% of a 2 MiB fault but ~7% of the huge-zero-page read and ~10% of the reuse.
 */
export function thpFaultBenches(): FaultBench[] {
  const region = (faults: number) => [
    { op: 'mmap', region: 'thp', size: `${faults * 2}MiB`, kind: 'anon-private' },
    { op: 'madvise', region: 'thp', advice: 'hugepage' },
  ];
  const pass = (faults: number, access: 'read' | 'write') => ({ op: 'touch', region: 'thp', access, pattern: 'stride', stride: 512, count: faults });
  return [
    { event: 'fault.hugeAnonAlloc', probe: 'thp_fault', steps: [...region(16), pass(16, 'write')], pages: 16, what: 'a first write per 2 MiB of a MADV_HUGEPAGE region' },
    { event: 'fault.hugeZeroPage', probe: 'thp_zero_read_fault', steps: [...region(16), pass(16, 'read')], pages: 16, what: 'a first read per 2 MiB of a MADV_HUGEPAGE region' },
    { event: 'fault.hugeZeroWpAlloc', probe: 'thp_zero_wp_fault', steps: [...region(16), pass(16, 'read'), pass(16, 'write')], pages: 16, what: 'a write per 2 MiB after the huge zero page was mapped' },
    {
      event: 'fault.hugeWpReuse',
      probe: 'thp_wp_reuse_fault',
      // the probe's child exits before the writes; a child that unmaps the region leaves the same folios
      steps: [...region(8), pass(8, 'write'), { op: 'fork', child: 'child' }, { op: 'munmap', region: 'thp', process: 'child' }, { ...pass(8, 'write'), process: 'main' }],
      pages: 8,
      what: 'a write per 2 MiB after fork once the child is gone',
    },
  ];
}
