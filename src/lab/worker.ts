/**
 * Piscina worker: runs one planned run per task. It loads the real simulator
 * (src/lab/simulate.ts) unless the pool was created with `workerData.simulateModule` (tests and
 * the toy simulator), so workers never need a function passed across threads.
 */
import { workerData } from 'node:worker_threads';
import type { RunPlan, SimulateOptions } from './simulate';
import type { RunResult } from './types';
// the task shape is declared in runner.ts (WorkerTask) as well; keep the two in step

interface SimulateModule {
  simulateRun(plan: RunPlan, opts?: SimulateOptions): RunResult;
}

const modulePath: string = (workerData as { simulateModule?: string } | undefined)?.simulateModule ?? './simulate';
// Loaded when the worker starts (piscina starts minThreads workers with the pool), so module
// loading overlaps with the main thread's planning instead of delaying the first task.
const mod: SimulateModule = require(modulePath) as SimulateModule;

interface WorkerTask {
  plan: RunPlan;
  opts: Pick<SimulateOptions, 'sampleEvery' | 'strict'>;
}

function runTask(task: WorkerTask): RunResult {
  return mod.simulateRun(task.plan, task.opts);
}

export = runTask;
