/**
 * Without Jupyter the notebook tests must say so loudly and skip, except under CI=true, where a
 * missing Jupyter is a failure (.ci/run installs it). Simulated with PTLAB_JUPYTER pointing nowhere;
 * the child runs only the notebooks test file, which then stops before starting any kernel.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const notebooksTest = path.join(__dirname, 'jupyter-notebooks.test.js');

function runWithoutJupyter(ci: string | undefined): { status: number | null; output: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, PTLAB_JUPYTER: '/nonexistent/jupyter' };
  delete env.CI;
  // node --test sets NODE_TEST_CONTEXT in children; without clearing it the child reports to us.
  delete env.NODE_TEST_CONTEXT;
  if (ci !== undefined) env.CI = ci;
  const r = spawnSync(process.execPath, ['--test', notebooksTest], { encoding: 'utf8', env, timeout: 120_000 });
  return { status: r.status, output: r.stdout + r.stderr };
}

test('no Jupyter: a loud SKIPPED and success outside CI', () => {
  const r = runWithoutJupyter(undefined);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /\*\*\* SKIPPED: notebooks\/\*\.ipynb were NOT executed: Jupyter is not installed/);
  assert.match(r.output, /# skipped 1/);
});

test('no Jupyter with CI=true: the notebook test fails and names the missing piece', () => {
  const r = runWithoutJupyter('true');
  assert.notEqual(r.status, 0, r.output);
  assert.match(r.output, /CI=true but Jupyter is missing: Jupyter is not installed/);
});
