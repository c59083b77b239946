/**
 * A spec for replay and diff: read with the lab's one reader (readSpecFile), validated and
 * compiled by the lab's compile stage, so its problems are the lab's SpecFileError and SpecError
 * with the same one-line messages as `ptlab run` and `ptlab validate`. A native replay is one run
 * on one kernel, so it takes the first RunPlan (first seed, first swept values, repeat 0).
 */
import { compileSpec, type RunPlan } from '../lab/compile';
import type { ExperimentSpec } from '../lab/spec';
import { SpecError } from '../lab/spec-issues';
import { readSpecFile } from '../lab/spec-file';
import { parseSpec } from '../lab/validate';

export interface LoadedSpec {
  spec: ExperimentSpec;
  /** the run a replay or diff uses */
  plan: RunPlan;
  /** every planned run (a timed native run uses them all: seeds, swept values, repeats) */
  plans: RunPlan[];
}

/**
 * Validates and compiles a spec given as JSON; `source` names it in messages (the file name),
 * `baseDir` is where its relative trace paths resolve. Throws SpecError.
 */
export function loadSpecJson(json: unknown, source = 'spec', baseDir?: string): LoadedSpec {
  // traces are read when the replay runs
  const spec = parseSpec(json, { source, baseDir, checkTraces: false });
  const plans = compileSpec(spec, { source, baseDir });
  if (!plans.length) throw new SpecError([{ path: '', message: 'the spec plans no run' }], source);
  return { spec, plan: plans[0], plans };
}

/** readSpecFile, then loadSpecJson. Throws SpecFileError (the file) or SpecError (the spec). */
export function loadSpecFile(file: string): LoadedSpec {
  const f = readSpecFile(file);
  return loadSpecJson(f.raw, file, f.baseDir);
}
