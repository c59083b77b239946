/**
 * Every notebook in notebooks/ must run top to bottom in the ptlab kernel, and every chart it shows
 * must carry its PNG and text fallbacks (tools/nb/execute.py checks both). A failure prints the
 * failing cell's error output (the kernel turns type errors into error outputs naming the line).
 *
 * The notebooks are executed from copies in a temporary folder next to nothing (their own folder
 * stays untouched); the kernel runs in notebooks/ as Jupyter would, so relative paths in cells work.
 * Needs Debian's Jupyter; missing: a loud SKIPPED, or a failure when CI=true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { executeNotebook, exportHtml, findNotebookTooling, installTemporaryKernel, type NotebookTooling } from '../src/jupyter/harness';
import { locatePtlab } from '../src/jupyter/ptlab-package';

const pkg = locatePtlab(path.join(__dirname, '..', 'src', 'jupyter'));
const notebooksDir = path.join(pkg.root, 'notebooks');
const notebooks = fs.existsSync(notebooksDir)
  ? fs.readdirSync(notebooksDir).filter((f) => f.endsWith('.ipynb')).sort()
  : [];

const tooling = findNotebookTooling();
const missing = 'missing' in tooling ? tooling.missing : null;
if (missing && process.env.CI !== 'true') {
  process.stderr.write(`\n*** SKIPPED: notebooks/*.ipynb were NOT executed: ${missing} ***\n\n`);
}
const skip = missing && process.env.CI !== 'true' ? `SKIPPED: ${missing}` : false;

test('notebooks/*.ipynb run in the ptlab kernel without errors, with complete chart bundles', { skip, timeout: 30 * 60_000 }, async (t) => {
  if (missing) assert.fail(`CI=true but Jupyter is missing: ${missing}`);
  if (notebooks.length === 0) {
    t.diagnostic('no notebooks in notebooks/');
    return;
  }
  const tools = tooling as NotebookTooling;
  const kernel = installTemporaryKernel();
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-notebooks-'));
  let failed = false;
  try {
    for (const name of notebooks) {
      await t.test(name, () => {
        const executed = path.join(outDir, name);
        const r = executeNotebook(tools, pkg, path.join(notebooksDir, name), { out: executed, cwd: notebooksDir, env: kernel.env, timeoutS: 600 });
        const s = r.summary;
        if (!s || !s.ok) {
          failed = true;
          assert.fail(`${name} failed (executed copy: ${executed}):\n${r.stdout}${r.stderr ? `\nstderr:\n${r.stderr}` : ''}`);
        }
        t.diagnostic(`${name}: kernel start ${s.kernel_start_s?.toFixed(2)} s, total ${s.total_s.toFixed(1)} s`);
        // The HTML export must work on the executed notebook (PNG fallbacks embedded).
        exportHtml(tools, pkg, executed, executed.replace(/\.ipynb$/, '.html'));
      });
    }
  } finally {
    kernel.remove();
    if (!failed) fs.rmSync(outDir, { recursive: true, force: true });
  }
});
