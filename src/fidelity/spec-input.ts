/**
 * Reads an experiment spec for replay and diff with the lab's own reader (readSpecFile) and
 * compile stage: a native replay is one run on one kernel, so it takes the first RunPlan (first
 * seed, first swept values, repeat 0).
 */
import { compileSpec, type RunPlan } from '../lab/compile';
import type { ExperimentSpec } from '../lab/spec';
import { SpecError } from '../lab/spec-issues';
import { readSpecFile, SpecFileError } from '../lab/spec-file';
import { parseSpec } from '../lab/validate';

export class SpecInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecInputError';
  }
}

export interface LoadedSpec {
  spec: ExperimentSpec;
  /** the run a replay or diff uses */
  plan: RunPlan;
  /** every planned run (a timed native run uses them all: seeds, swept values, repeats) */
  plans: RunPlan[];
}

export function loadSpecJson(json: unknown, source = 'spec', baseDir?: string): LoadedSpec {
  let spec: ExperimentSpec;
  let plans: RunPlan[];
  try {
    // traces are read when the replay runs
    spec = parseSpec(json, { source, baseDir, checkTraces: false });
    plans = compileSpec(spec, { source, baseDir });
  } catch (e) {
    if (e instanceof SpecError) throw new SpecInputError(e.message);
    throw e;
  }
  if (!plans.length) throw new SpecInputError(`${source}: the spec plans no run`);
  return { spec, plan: plans[0], plans };
}

export function loadSpecFile(file: string): LoadedSpec {
  try {
    const f = readSpecFile(file);
    return loadSpecJson(f.raw, file, f.baseDir);
  } catch (e) {
    if (e instanceof SpecFileError) throw new SpecInputError(e.message);
    throw e;
  }
}
