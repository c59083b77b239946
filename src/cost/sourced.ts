/**
 * Every number in a CPU profile carries where it comes from. These schemas enforce that: a value
 * without a non-empty `source` is rejected with the path and what to write there.
 */
import { z } from 'zod';

export const SOURCE_KINDS = ['measured', 'published', 'estimate'] as const;
/** measured: by ptlab calibrate or a stated local experiment; published: a paper, LKML mail, manual or doc for this CPU family; estimate: derived (the note says how). */
export type SourceKind = (typeof SOURCE_KINDS)[number];

export const SOURCE_HINT = 'required; cite a paper, LKML Message-ID, manual, or "measured: <how>"';

export const SourceSchema = z
  .string({ error: (iss) => (iss.input === undefined ? SOURCE_HINT : 'must be a string: ' + SOURCE_HINT) })
  .trim()
  .min(1, { error: SOURCE_HINT });

export const KindSchema = z.enum(SOURCE_KINDS, {
  error: (iss) =>
    iss.input === undefined
      ? `required: one of ${SOURCE_KINDS.join(' | ')}`
      : `must be one of ${SOURCE_KINDS.join(' | ')} (got ${JSON.stringify(iss.input)})`,
});

function finiteNonNegative(what: string) {
  return z
    .number({ error: (iss) => (iss.input === undefined ? `required: a number of ${what}` : `must be a number of ${what}`) })
    .finite()
    .nonnegative({ error: `must be >= 0 ${what}` });
}

/** What every number in a profile carries besides itself: where it comes from, and what kind of source that is. */
export interface Provenance {
  source: string;
  kind: SourceKind;
  note?: string;
}

const provenanceShape = {
  source: SourceSchema,
  kind: KindSchema,
  note: z.string().optional(),
};

/** A number with its source: TLB sizes, clock, device speeds. */
export interface Sourced extends Provenance {
  value: number;
}

export const SourcedSchema = z.object({ value: finiteNonNegative(''), ...provenanceShape });

/** The price of one event, in core cycles at the profile's clock. */
export interface CostEntry extends Provenance {
  cycles: number;
  /** hardware events: the regime the number was measured or published in (docs/cost-model.md) */
  regime?: string;
  /** measured entries: repetitions behind the median, and their IQR / median in percent */
  samples?: number;
  spreadPct?: number;
}

export const CostEntrySchema = z.object({
  cycles: finiteNonNegative('cycles'),
  ...provenanceShape,
  regime: z.string().optional(),
  samples: z.number().int().positive().optional(),
  spreadPct: z.number().finite().nonnegative().optional(),
});

/** Convert a latency in ns measured at `ghz` to cycles (ns x GHz), rounded to a whole cycle. */
export function nsToCycles(ns: number, ghz: number): number {
  return Math.round(ns * ghz);
}

/** Shorthand for writing profiles. */
export function sourced(value: number, source: string, kind: SourceKind, note?: string): Sourced {
  return note === undefined ? { value, source, kind } : { value, source, kind, note };
}
