/**
 * Piscina worker: runs one RunPlan per task. The plan carries everything the run needs (steps,
 * CPU profile, kernel variant as a value), so nothing is looked up by name here. It loads the
 * real simulator (src/lab/simulate.ts) unless the pool was created with
 * `workerData.simulateModule` (tests' stand-in simulators).
 */
import { workerData } from 'node:worker_threads';
import type { RunPlan } from './compile';
import type { WorkerData, WorkerTask } from './runner';
import type { SimulateOptions } from './simulate';
import type { RunResult } from './types';

interface SimulateModule {
  simulateRun(plan: RunPlan, opts?: SimulateOptions): RunResult;
}

const data: WorkerData | undefined = workerData;
// Loaded when the worker starts (piscina starts minThreads workers with the pool), so module
// loading overlaps with the main thread's planning instead of delaying the first task.
const mod: SimulateModule = require(data?.simulateModule ?? './simulate');

function runTask(task: WorkerTask): RunResult {
  return mod.simulateRun(task.plan, task.opts);
}

export = runTask;
