/**
 * End to end through Jupyter: install the "ptlab (TypeScript)" kernelspec into a temporary prefix,
 * find it through jupyter_client's KernelSpecManager, execute notebooks that live in a folder
 * OUTSIDE the project (mkdtemp) with nbclient, check the outputs, remove the kernelspec.
 *
 * Needs Debian's Jupyter (/usr/bin/jupyter, python3-nbclient). Missing: a loud SKIPPED, except with
 * CI=true, where it fails (CI installs Jupyter in .ci/run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { executeNotebook, findNotebookTooling, installTemporaryKernel, type NotebookTooling } from '../src/jupyter/harness';
import { listKernelspecs, removeKernelspec } from '../src/jupyter/kernelspec';
import { locatePtlab } from '../src/jupyter/ptlab-package';

const VEGALITE = 'application/vnd.vegalite.v5+json';

interface NbOutput {
  output_type: string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
interface NbCell {
  cell_type: string;
  source: string | string[];
  execution_count?: number | null;
  outputs?: NbOutput[];
}

function notebook(cells: string[]): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'ptlab', display_name: 'ptlab (TypeScript)', language: 'typescript' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
  };
}

function joined(t: string | string[] | undefined): string {
  return Array.isArray(t) ? t.join('') : (t ?? '');
}

const pkg = locatePtlab(path.join(__dirname, '..', 'src', 'jupyter'));
const tooling = findNotebookTooling();
const missing = 'missing' in tooling ? tooling.missing : null;
if (missing && process.env.CI !== 'true') {
  process.stderr.write(`\n*** SKIPPED: jupyter-kernel tests: ${missing} ***\n\n`);
}
const skip = missing && process.env.CI !== 'true' ? `SKIPPED: ${missing}` : false;

/** The README's notebook API: only `lab` is imported; results know how to chart themselves. */
const IMPORT = "import { lab } from 'ptlab'";
const RUN_AND_SHOW = [
  "const results = await lab.experiment('kernel smoke').machine('skylake-sp').kernel('linux-6.18')",
  "  .mmap('heap', '64KiB', { kind: 'anon-private' }).touch('heap', 'write').run()",
  "await results.chart('cycles').show()",
].join('\n');

function runIn(dir: string, name: string, cells: string[], t: NotebookTooling, env: NodeJS.ProcessEnv): { cells: NbCell[]; summary: ReturnType<typeof executeNotebook> } {
  const file = path.join(dir, `${name}.ipynb`);
  const out = path.join(dir, `${name}.out.ipynb`);
  fs.writeFileSync(file, JSON.stringify(notebook(cells)));
  const summary = executeNotebook(t, pkg, file, { out, env, timeoutS: 300 });
  assert.ok(summary.summary, `execute.py gave no summary (exit ${summary.status}):\n${summary.stdout}\n${summary.stderr}`);
  const executed = JSON.parse(fs.readFileSync(out, 'utf8')) as { cells: NbCell[] };
  return { cells: executed.cells, summary };
}

test('ptlab kernel: install to a temp prefix, listed by KernelSpecManager, runs notebooks outside the project, removed', { skip, timeout: 600_000 }, (t) => {
  if (missing) assert.fail(`CI=true but Jupyter is missing: ${missing}`);
  const tools = tooling as NotebookTooling;
  const kernel = installTemporaryKernel();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-nb-outside-'));
  try {
    assert.ok(path.relative(pkg.root, work).startsWith('..'), 'notebook folder is outside the project');

    // 1. Jupyter itself finds the kernelspec.
    const listing = listKernelspecs(kernel.env);
    assert.equal(listing.source, 'jupyter_client');
    const spec = listing.kernels.find((k) => k.name === 'ptlab');
    assert.ok(spec, 'KernelSpecManager lists ptlab');
    assert.equal(fs.realpathSync(spec.resourceDir), fs.realpathSync(path.join(kernel.prefix, 'share', 'jupyter', 'kernels', 'ptlab')));
    assert.equal(spec.displayName, 'ptlab (TypeScript)');

    // 2. `import { lab } from 'ptlab'` and `.show()` with no setup cell: one complete chart bundle.
    // The third cell ends with a chart value and no .show(): it renders as the cell's result.
    const run = runIn(work, 'chart', [IMPORT, RUN_AND_SHOW, "results.chart('faults')"], tools, kernel.env);
    assert.equal(run.summary.summary!.ok, true, `notebook failed:\n${run.summary.stdout}`);
    const outputs = run.cells.flatMap((c) => c.outputs ?? []);
    const kinds = JSON.stringify(run.cells.map((c) => (c.outputs ?? []).map((o) => o.output_type)));
    const shown = (run.cells[1].outputs ?? []).filter((o) => o.output_type === 'display_data' && o.data && VEGALITE in o.data);
    assert.equal(shown.length, 1, `one chart display from .show(); outputs per cell: ${kinds}`);
    const result = (run.cells[2].outputs ?? []).filter((o) => o.output_type === 'execute_result' && o.data && VEGALITE in o.data);
    assert.equal(result.length, 1, `the chart value is the cell's execute_result; outputs per cell: ${kinds}`);
    assert.equal((result[0] as { execution_count?: number }).execution_count, 3);
    for (const o of [shown[0], result[0]]) {
      const data = o.data!;
      assert.equal(typeof data[VEGALITE], 'object', 'vega-lite spec stored as a JSON object');
      const png = Buffer.from(joined(data['image/png'] as string | string[]), 'base64');
      assert.ok(png.length > 100 && png.subarray(1, 4).toString() === 'PNG', 'image/png is a PNG');
      assert.ok(joined(data['text/plain'] as string | string[]).trim().length > 0, 'text/plain present');
      assert.ok(!('text/html' in data), 'no text/html in a chart bundle');
    }
    assert.ok(!outputs.some((o) => o.output_type === 'stream' && o.name === 'stdout' && /Chart \{/.test(joined(o.text))), 'no text dump of the chart');
    assert.ok(!outputs.some((o) => o.output_type === 'stream' && o.name === 'stderr'), 'nothing on stderr');
    assert.ok(run.cells.every((c) => typeof c.execution_count === 'number'), 'execution_count recorded (execute_input)');
    if (run.summary.summary!.kernel_start_s !== null) {
      t.diagnostic(`kernel start ${run.summary.summary!.kernel_start_s.toFixed(2)} s; cells ${JSON.stringify(run.summary.summary!.cells.map((c) => c.seconds))} s`);
    }

    // 3. Failures come out as error outputs: a type error names cell, line and message; a ptlab
    //    validation error is `name: message`; later cells still run.
    const bad = runIn(
      work,
      'errors',
      [
        "import { lab, VERSION } from 'ptlab'",
        "const fine = 1\nconst n: number = VERSION",
        "await lab.experiment('bad').machine('skylake-sp').kernel('linux-6.18').mmap('heap', '64KiB').touch('nope', 'write').run()",
        'const after = 40 + 2\nconsole.log(after)',
        // A chart without its fallbacks (tslab's public display sends one MIME type per message).
        "import { display } from 'tslab'\ndisplay.raw('application/vnd.vegalite.v5+json', JSON.stringify({ mark: 'bar' }))",
      ],
      tools,
      kernel.env,
    );
    const [, typeCell, specCell, lastCell] = bad.cells;
    const typeErr = (typeCell.outputs ?? []).find((o) => o.output_type === 'error');
    assert.ok(typeErr, `type error is an error output; got ${JSON.stringify(typeCell.outputs)}`);
    assert.equal(typeErr.ename, 'TypeScriptError');
    assert.match(typeErr.evalue!, /^cell In \[2\], line 2, column 7: Type 'string' is not assignable to type 'number'\. \(TS2322\)$/);
    assert.ok(typeErr.traceback!.some((l) => l.startsWith('> 2 | const n: number = VERSION')), typeErr.traceback!.join('\n'));
    const specErr = (specCell.outputs ?? []).find((o) => o.output_type === 'error');
    assert.ok(specErr);
    assert.equal(specErr.ename, 'SpecError');
    assert.equal(specErr.traceback!.length, 1, 'one entry: name and message, no stack');
    assert.match(specErr.traceback![0], /^SpecError: [^]*steps\[1\]\.region: "nope"/);
    assert.ok(!/\n\s+at /.test(specErr.traceback![0]), 'no stack frames');
    assert.equal(joined((lastCell.outputs ?? []).find((o) => o.name === 'stdout')?.text), '42\n', 'cells after a failure still run');
    const failures = bad.summary.summary!.failures;
    assert.deepEqual(failures.map((f) => [f.index, f.kind]), [[1, 'error'], [2, 'error'], [4, 'bundle'], [4, 'bundle']]);
    assert.match(failures[2].text, /without a non-empty image\/png/);
    assert.match(failures[3].text, /without a non-empty text\/plain/);
    assert.match(bad.summary.stdout, /FAILED errors\.ipynb: cell 1 \(code cell 2, In \[2\]\) error\n.*line 2, column 7/);
  } finally {
    // 4. Remove: Jupyter no longer lists it.
    removeKernelspec({ kind: 'prefix', prefix: kernel.prefix });
    const after = listKernelspecs(kernel.env);
    kernel.remove();
    fs.rmSync(work, { recursive: true, force: true });
    assert.ok(!after.kernels.some((k) => k.name === 'ptlab' && k.resourceDir.startsWith(kernel.prefix)), 'kernelspec removed');
  }
});

/** Speaks the Jupyter protocol to one kernel with jupyter_client; prints one JSON line per check. */
const PROTOCOL_SCRIPT = `
import json, os, sys, tempfile, time
import jupyter_client
os.chdir(tempfile.mkdtemp())
km, kc = jupyter_client.manager.start_new_kernel(kernel_name='ptlab', startup_timeout=120)
def reply(mid):
    while True:
        r = kc.get_shell_msg(timeout=60)
        if r['parent_header'].get('msg_id') == mid:
            return r
out = {}
try:
    r = reply(kc.kernel_info())
    out['kernel_info'] = [r['msg_type'], r['content'].get('status'), r['content'].get('implementation')]
    r = reply(kc.comm_info())
    out['comm_info'] = [r['msg_type'], r['content'].get('status')]
    mid = kc.execute('let spins = 0\\nconsole.log("spinning")\\nwhile (true) { spins++ }')
    # Interrupt only once the loop runs (compiling the cell can take seconds on a loaded machine).
    while True:
        m = kc.get_iopub_msg(timeout=60)
        if m['parent_header'].get('msg_id') == mid and m['msg_type'] == 'stream' and 'spinning' in m['content']['text']:
            break
    time.sleep(0.2)
    km.interrupt_kernel()
    r = reply(mid)
    out['interrupt'] = [r['content'].get('status'), r['content'].get('ename'), r['content'].get('evalue')]
    time.sleep(0.3)
    r = reply(kc.execute('40 + 2'))
    out['after'] = [r['content'].get('status')]
    m1 = kc.execute('throw new Error("first")')
    m2 = kc.execute('1')
    out['stop_on_error'] = [reply(m1)['content']['status'], reply(m2)['content']['status']]
    time.sleep(0.3)
    m1 = kc.execute('throw new Error("first")', stop_on_error=False)
    m2 = kc.execute('2')
    out['no_stop_on_error'] = [reply(m1)['content']['status'], reply(m2)['content']['status']]
finally:
    kc.stop_channels()
    km.shutdown_kernel(now=True)
print(json.dumps(out))
`;

test('ptlab kernel speaks the protocol: kernel_info status, comm_info_reply, interrupt, stop_on_error', { skip, timeout: 300_000 }, () => {
  if (missing) assert.fail(`CI=true but Jupyter is missing: ${missing}`);
  const kernel = installTemporaryKernel();
  try {
    const r = spawnSync((tooling as NotebookTooling).python, ['-c', PROTOCOL_SCRIPT], { encoding: 'utf8', env: kernel.env, timeout: 240_000 });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!);
    assert.deepEqual(out.kernel_info, ['kernel_info_reply', 'ok', 'ptlab']);
    assert.deepEqual(out.comm_info, ['comm_info_reply', 'ok']);
    assert.equal(out.interrupt[0], 'error');
    assert.match(out.interrupt[2], /interrupted/i);
    assert.deepEqual(out.after, ['ok']);
    // A failure aborts what is already queued behind it, unless the request says stop_on_error: false.
    assert.deepEqual(out.stop_on_error, ['error', 'aborted']);
    assert.deepEqual(out.no_stop_on_error, ['error', 'ok']);
  } finally {
    kernel.remove();
  }
});
