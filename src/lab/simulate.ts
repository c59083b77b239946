/**
 * Runs one planned run of an experiment spec in the model. (Being written by the lead: the
 * signature is the contract the runner, workers and CLI build on.)
 */
import type { RunResult } from './types';

export interface RunPlan {
  /** stable id: `${variant}|${cpu}|seed=${seed}|r=${repeat}|k=v...` */
  id: string;
  name: string;
  variant: string;
  cpu: string;
  seed: number;
  repeat: number;
  /** the swept parameters of this run */
  params: Record<string, string | number | boolean>;
  /** the resolved spec: one kernel, one machine, no sweep, parameters substituted (DESIGN.md JSON shape) */
  spec: unknown;
}

export interface SimulateOptions {
  /** sample a SeriesPoint every N accesses inside touch steps (0 = never) */
  sampleEvery?: number;
  /** called now and then with accesses done in this run */
  onProgress?: (done: number, total: number) => void;
  /** invariant breaches throw instead of being counted */
  strict?: boolean;
}

export function simulateRun(plan: RunPlan, opts: SimulateOptions = {}): RunResult {
  void plan;
  void opts;
  throw new Error('simulateRun: not implemented yet');
}
