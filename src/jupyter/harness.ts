/**
 * Drive the Python notebook tools (tools/nb/execute.py, tools/nb/export.py) from Node, with the
 * ptlab kernelspec of THIS build installed into a throw-away prefix that only the child processes
 * see (JUPYTER_PATH), so tests and `npm run notebooks:html` never touch the user's Jupyter setup.
 * Used by test/jupyter-*.test.ts and src/jupyter/notebook-cmd.ts.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { locatePtlab, type PtlabPackage } from './ptlab-package';
import { installKernelspec, KERNEL_NAME } from './kernelspec';
import { findJupyterCommand, findJupyterPython, installHint } from './jupyter-env';

export interface NotebookTooling {
  python: string;
  jupyter: string;
}

/** The Python and `jupyter` command able to run notebooks, or the reason they are missing. */
export function findNotebookTooling(env: NodeJS.ProcessEnv = process.env): NotebookTooling | { missing: string } {
  const jupyter = findJupyterCommand(env);
  if (!jupyter) return { missing: `Jupyter is not installed (no /usr/bin/jupyter); install it with: ${installHint()}` };
  const py = findJupyterPython(env);
  if (!py || !py.nbclient) {
    return { missing: `no Python with nbclient and nbformat${py ? ` (${py.python} has jupyter_client only)` : ''}; install it with: ${installHint()}` };
  }
  return { python: py.python, jupyter };
}

export interface TemporaryKernel {
  prefix: string;
  /** environment for child processes: JUPYTER_PATH puts this kernelspec first */
  env: NodeJS.ProcessEnv;
  pkg: PtlabPackage;
  remove(): void;
}

/** Install the ptlab kernelspec of the build containing this file into a fresh temp prefix. */
export function installTemporaryKernel(baseEnv: NodeJS.ProcessEnv = process.env): TemporaryKernel {
  const pkg = locatePtlab(__dirname);
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-kernel-'));
  installKernelspec(pkg, { kind: 'prefix', prefix });
  const dataDir = path.join(prefix, 'share', 'jupyter');
  const env: NodeJS.ProcessEnv = {
    ...baseEnv,
    JUPYTER_PATH: [dataDir, baseEnv.JUPYTER_PATH].filter(Boolean).join(path.delimiter),
    // Keep Jupyter's runtime files (connection files) out of the user's home.
    JUPYTER_RUNTIME_DIR: path.join(prefix, 'runtime'),
  };
  return { prefix, env, pkg, remove: () => fs.rmSync(prefix, { recursive: true, force: true }) };
}

export function toolPath(pkg: PtlabPackage, name: string): string {
  return path.join(pkg.root, 'tools', 'nb', name);
}

export interface CellFailure {
  index: number | null;
  code_cell: number | null;
  execution_count: number | null;
  kind: 'error' | 'expected-error' | 'timeout' | 'bundle' | 'kernel-died' | 'kernel' | 'nbformat';
  text: string;
}

/** tools/nb/execute.py --summary */
export interface ExecutionSummary {
  notebook: string;
  kernel: string;
  ok: boolean;
  failures: CellFailure[];
  kernel_start_s: number | null;
  total_s: number;
  cells: { index: number; seconds: number }[];
}

export interface ExecuteOptions {
  kernel?: string;
  out?: string;
  cwd?: string;
  timeoutS?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ExecuteResult {
  summary: ExecutionSummary | null;
  /** execute.py's report (one block per failing cell) */
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Execute a notebook with tools/nb/execute.py and return its summary. */
export function executeNotebook(tooling: NotebookTooling, pkg: PtlabPackage, notebook: string, opts: ExecuteOptions = {}): ExecuteResult {
  const summaryFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-nb-')), 'summary.json');
  const args = [toolPath(pkg, 'execute.py'), notebook, '--kernel', opts.kernel ?? KERNEL_NAME, '--summary', summaryFile];
  if (opts.out) args.push('--out', opts.out);
  if (opts.cwd) args.push('--cwd', opts.cwd);
  if (opts.timeoutS) args.push('--timeout', String(opts.timeoutS));
  const r = spawnSync(tooling.python, args, { encoding: 'utf8', env: opts.env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  let summary: ExecutionSummary | null = null;
  try {
    summary = JSON.parse(fs.readFileSync(summaryFile, 'utf8')) as ExecutionSummary;
  } catch {
    summary = null;
  }
  fs.rmSync(path.dirname(summaryFile), { recursive: true, force: true });
  return { summary, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + (r.error ? String(r.error) : ''), status: r.status };
}

/** Export an executed notebook to HTML with tools/nb/export.py; throws with its stderr on failure. */
export function exportHtml(tooling: NotebookTooling, pkg: PtlabPackage, notebook: string, out: string): void {
  const r = spawnSync(tooling.python, [toolPath(pkg, 'export.py'), notebook, '--out', out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`export of ${notebook} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
}
