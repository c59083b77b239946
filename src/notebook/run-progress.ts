/**
 * Progress of `experiment.run()` in a notebook: one display updated in place with the simulated
 * accesses done of the estimated total (finished runs, and inside the current run when it runs
 * in this thread), ending in a summary line that the saved notebook keeps. Outside a notebook
 * nothing is shown (the CLI prints its own progress on stderr).
 */
import type { RunProgressShow } from '../lab/builder';
import { kernelAvailable } from './display';
import { Progress } from './progress';

/** Progress callbacks for a run of `runs` runs and about `accesses` simulated accesses, or null outside a notebook. */
export const notebookRunProgress: RunProgressShow = (name, runs, accesses) => {
  if (!kernelAvailable()) return null;
  const p = new Progress({ label: name, unit: 'accesses', total: Math.max(1, accesses), minIntervalMs: 500 });
  let finishedAccesses = 0;
  let finishedRuns = 0;
  return {
    callbacks: {
      onRunProgress: (_plan, done) => void p.update(finishedAccesses + done),
      onProgress: (pr) => {
        finishedRuns = pr.done;
        finishedAccesses += pr.result.total.counters.accesses;
        p.update(finishedAccesses);
      },
    },
    finish: (ok) => p.done(`${finishedRuns}/${runs} runs${ok ? '' : ' (stopped)'}`),
  };
};
