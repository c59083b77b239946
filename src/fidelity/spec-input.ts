/**
 * Reads an experiment spec for replay and diff with the lab's own validation (parseSpec) and
 * planning (planRuns): a native replay is one run on one kernel, so it takes the plan's first
 * run (first seed, first swept values, repeat 0).
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { planRuns, type ResolvedSpec } from '../lab/plan';
import type { RunPlan } from '../lab/simulate';
import type { ExperimentSpec } from '../lab/spec';
import { SpecError } from '../lab/spec-issues';
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
  resolved: ResolvedSpec;
}

export function loadSpecJson(json: unknown, source = 'spec', baseDir?: string): LoadedSpec {
  let spec: ExperimentSpec;
  try {
    // names of kernels and CPU profiles are the simulator's business; replay checks shape and flow
    spec = parseSpec(json, { source, baseDir, registries: false, checkTraces: false });
  } catch (e) {
    if (e instanceof SpecError) throw new SpecInputError(e.message);
    throw e;
  }
  const plans = planRuns(spec, { baseDir });
  if (!plans.length) throw new SpecInputError(`${source}: the spec plans no run`);
  const plan = plans[0];
  return { spec, plan, plans, resolved: plan.spec as ResolvedSpec };
}

export function loadSpecFile(file: string): LoadedSpec {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SpecInputError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SpecInputError(`${file} is not JSON: ${(e as Error).message}`);
  }
  return loadSpecJson(json, file, dirname(file));
}
