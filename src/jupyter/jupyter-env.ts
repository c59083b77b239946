/**
 * Find the Python that has Jupyter's libraries.
 *
 * On Debian the first `python3` on PATH is often another interpreter (pyenv, a venv) without
 * jupyter_client or nbclient (notes/notebook-stack-feasibility.md), so Debian's /usr/bin/python3 is
 * tried first and `python3` on PATH is the last resort (macOS, pip installs). PTLAB_PYTHON and
 * PTLAB_JUPYTER override the choice (also how tests simulate a machine without Jupyter).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';

export const DEBIAN_PYTHON = '/usr/bin/python3';
export const DEBIAN_JUPYTER = '/usr/bin/jupyter';
/** The one command that installs everything ptlab's notebooks need on Debian/Ubuntu. */
export const APT_INSTALL_COMMAND = 'sudo apt-get install -y jupyter-notebook jupyter-nbconvert python3-nbclient';
export const PIP_INSTALL_COMMAND = 'python3 -m pip install --user notebook nbconvert nbclient';

export interface JupyterPython {
  python: string;
  /** jupyter_client can be imported (kernelspec listing) */
  jupyterClient: boolean;
  /** nbclient and nbformat can be imported (notebook execution) */
  nbclient: boolean;
  /** nbconvert can be imported (HTML export) */
  nbconvert: boolean;
}

/** PTLAB_PYTHON, when set, is the only candidate (so a wrong one fails instead of being skipped). */
function candidates(env: NodeJS.ProcessEnv): string[] {
  if (env.PTLAB_PYTHON) return [env.PTLAB_PYTHON];
  return fs.existsSync(DEBIAN_PYTHON) ? [DEBIAN_PYTHON, 'python3'] : ['python3'];
}

/** Which of the modules import in `python` (one interpreter start). */
function probe(python: string): JupyterPython | null {
  const code =
    'import importlib.util as u, json\n' +
    'print(json.dumps({m: u.find_spec(m) is not None for m in ["jupyter_client", "nbclient", "nbformat", "nbconvert"]}))';
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 30_000 });
  if (r.status !== 0 || !r.stdout) return null;
  try {
    const found = JSON.parse(r.stdout.trim()) as Record<string, boolean>;
    return {
      python,
      jupyterClient: !!found.jupyter_client,
      nbclient: !!found.nbclient && !!found.nbformat,
      nbconvert: !!found.nbconvert,
    };
  } catch {
    return null;
  }
}

/** The first candidate Python with jupyter_client, or null when there is none. */
export function findJupyterPython(env: NodeJS.ProcessEnv = process.env): JupyterPython | null {
  for (const python of candidates(env)) {
    const p = probe(python);
    if (p?.jupyterClient) return p;
  }
  return null;
}

/**
 * PTLAB_JUPYTER if set (null when that file does not exist), else Debian's `jupyter` command if
 * present, else the first `jupyter` on PATH, else null.
 */
export function findJupyterCommand(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PTLAB_JUPYTER) return fs.existsSync(env.PTLAB_JUPYTER) ? env.PTLAB_JUPYTER : null;
  if (fs.existsSync(DEBIAN_JUPYTER)) return DEBIAN_JUPYTER;
  const r = spawnSync('jupyter', ['--version'], { encoding: 'utf8', env, timeout: 30_000 });
  return r.status === 0 ? 'jupyter' : null;
}

/** The install hint for this machine: apt on Debian-like systems, pip elsewhere. */
export function installHint(): string {
  return fs.existsSync('/usr/bin/apt-get') ? APT_INSTALL_COMMAND : PIP_INSTALL_COMMAND;
}
