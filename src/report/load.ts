/**
 * Reading a results directory (what `ptlab run SPEC --out DIR` writes): results.json (required),
 * spec.json and profiles.json (optional). results.json is checked with zod for the fields the
 * report reads, so a wrong file gives "results.json: runs.0.total.cycles.total: expected number"
 * rather than a stack trace from deep inside a chart.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { ResultsJson } from '../lab/types';

const num = z.number();
const numRecord = z.record(z.string(), num);

const CyclesSchema = z.looseObject({ total: num, byEvent: numRecord });
const CountersSchema = z.looseObject({
  faults: z.looseObject({ total: num, byKind: numRecord }),
  tlbFlushes: num,
  ipis: num,
  dirtyPages: num,
  writebackPages: num,
  violations: numRecord,
});
const StepSchema = z.looseObject({ index: num, op: z.string(), cycles: CyclesSchema, counters: CountersSchema });
const RunSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  variant: z.string(),
  cpu: z.string(),
  seed: num,
  repeat: num,
  params: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  steps: z.array(StepSchema),
  total: z.looseObject({ cycles: CyclesSchema, counters: CountersSchema }),
});
export const ResultsJsonSchema = z.looseObject({
  ptlab: z.looseObject({ version: z.string() }),
  runs: z.array(RunSchema).min(1, { error: 'holds no runs; the experiment produced nothing to report' }),
});

/** Thrown for a missing or malformed input file; the message names the file, the field and the fix. */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

function readJson(path: string, label: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ReportInputError(`cannot read ${label} (${path}): ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ReportInputError(`${label} is not valid JSON (${path}): ${(e as Error).message}`);
  }
}

/** Validate parsed results.json; throws ReportInputError listing at most 5 problems. */
export function parseResultsJson(data: unknown, label = 'results.json'): ResultsJson {
  const r = ResultsJsonSchema.safeParse(data);
  if (r.success) return data as ResultsJson;
  const problems = r.error.issues.slice(0, 5).map((i) => `  ${label}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  const more = r.error.issues.length > 5 ? `\n  ... and ${r.error.issues.length - 5} more` : '';
  throw new ReportInputError(`${label} is not a ptlab results file (the output of \`ptlab run SPEC --json\` or --out DIR):\n${problems.join('\n')}${more}`);
}

export interface ResultsDir {
  results: ResultsJson;
  spec?: unknown;
  profiles?: unknown;
  /** the kernel variants the runs simulated (variants.json), by name */
  variants?: unknown;
}

export function loadResultsDir(dir: string): ResultsDir {
  if (!existsSync(dir)) throw new ReportInputError(`results directory ${dir} does not exist; run \`ptlab run SPEC.json --out ${dir}\` first`);
  const resultsPath = join(dir, 'results.json');
  if (!existsSync(resultsPath)) throw new ReportInputError(`${resultsPath} not found; RESULTS_DIR must hold the results.json written by \`ptlab run SPEC.json --out DIR\``);
  const results = parseResultsJson(readJson(resultsPath, 'results.json'));
  const specPath = join(dir, 'spec.json');
  const profilesPath = join(dir, 'profiles.json');
  const variantsPath = join(dir, 'variants.json');
  return {
    results,
    spec: existsSync(specPath) ? readJson(specPath, 'spec.json') : undefined,
    profiles: existsSync(profilesPath) ? readJson(profilesPath, 'profiles.json') : undefined,
    variants: existsSync(variantsPath) ? readJson(variantsPath, 'variants.json') : undefined,
  };
}
