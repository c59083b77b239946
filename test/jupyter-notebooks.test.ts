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

/** base64 PNGs of the chart outputs (vega-lite bundles) of an executed notebook. */
function chartPngs(file: string): string[] {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8')) as { cells: { outputs?: { data?: Record<string, string | string[]> }[] }[] };
  const out: string[] = [];
  for (const cell of nb.cells) {
    for (const o of cell.outputs ?? []) {
      const png = o.data?.['image/png'];
      if (o.data && 'application/vnd.vegalite.v5+json' in o.data && png) out.push((Array.isArray(png) ? png.join('') : png).replace(/\s/g, ''));
    }
  }
  return out;
}

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
        // The HTML export must work on the executed notebook and show every chart through its PNG.
        const htmlFile = executed.replace(/\.ipynb$/, '.html');
        exportHtml(tools, pkg, executed, htmlFile);
        const html = fs.readFileSync(htmlFile, 'utf8');
        const pngs = chartPngs(executed);
        for (const [i, png] of pngs.entries()) {
          assert.ok(html.includes(`data:image/png;base64,${png.slice(0, 200)}`), `${name}: chart ${i + 1} is not embedded as a PNG in the HTML export`);
        }
        if (pngs.length) t.diagnostic(`${name}: ${pngs.length} chart(s) visible in the HTML export`);
      });
    }
  } finally {
    kernel.remove();
    if (!failed) fs.rmSync(outDir, { recursive: true, force: true });
  }
});
