/**
 * The `ptlab` kernelspec: where it goes, what it contains, listing and removal.
 *
 * Directory rules follow jupyter_core's paths (jupyter_data_dir / SYSTEM_JUPYTER_PATH) and
 * `jupyter kernelspec install`: --user -> the user data dir, --prefix DIR -> DIR/share/jupyter,
 * otherwise the system dir when running as root and the user dir when not (tslab's rule).
 * A kernelspec is `<data dir>/kernels/<name>/kernel.json` plus optional logos.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { PtlabPackage } from './ptlab-package';
import { LOGO_SVG, renderLogoPngs } from './logo';
import { TSLAB_VERSION } from './tslab-api';
import { findJupyterPython } from './jupyter-env';

export const KERNEL_NAME = 'ptlab';
export const DISPLAY_NAME = 'ptlab (TypeScript)';

export type Scope = { kind: 'user' } | { kind: 'system' } | { kind: 'prefix'; prefix: string };

export interface KernelJson {
  argv: string[];
  display_name: string;
  language: string;
  interrupt_mode: 'signal';
  metadata: { ptlab: { root: string; launcher: string; version: string; tslab: string } };
}

/** jupyter_core.paths.jupyter_data_dir() */
export function userDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform, home = os.homedir()): string {
  if (env.JUPYTER_DATA_DIR) return env.JUPYTER_DATA_DIR;
  if (platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'jupyter');
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'jupyter');
}

/** First entry of jupyter_core.paths.SYSTEM_JUPYTER_PATH */
export function systemDataDir(env: NodeJS.ProcessEnv = process.env, platform = process.platform): string {
  if (platform === 'win32') return path.join(env.PROGRAMDATA ?? 'C:\\ProgramData', 'jupyter');
  return '/usr/local/share/jupyter';
}

export function defaultScope(): Scope {
  return typeof process.getuid === 'function' && process.getuid() === 0 ? { kind: 'system' } : { kind: 'user' };
}

export function kernelsDir(scope: Scope, env: NodeJS.ProcessEnv = process.env): string {
  switch (scope.kind) {
    case 'user':
      return path.join(userDataDir(env), 'kernels');
    case 'system':
      return path.join(systemDataDir(env), 'kernels');
    case 'prefix':
      return path.join(path.resolve(scope.prefix), 'share', 'jupyter', 'kernels');
  }
}

export function kernelDir(scope: Scope, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(kernelsDir(scope, env), KERNEL_NAME);
}

export function launcherPath(pkg: PtlabPackage): string {
  return path.join(pkg.build, 'src', 'jupyter', 'launcher.js');
}

/**
 * kernel.json for this installation. `node` is an absolute path (the Node running the installer) so
 * the kernel starts even when Jupyter is launched with a PATH that has no node on it.
 */
export function kernelJson(pkg: PtlabPackage, node = process.execPath): KernelJson {
  const launcher = launcherPath(pkg);
  return {
    argv: [node, launcher, '--config-path', '{connection_file}'],
    display_name: DISPLAY_NAME,
    language: 'typescript',
    interrupt_mode: 'signal',
    metadata: { ptlab: { root: pkg.root, launcher, version: pkg.version, tslab: TSLAB_VERSION } },
  };
}

export interface InstallResult {
  dir: string;
  files: string[];
  /** set when the PNG logos could not be rendered (the kernel works without them) */
  logoWarning?: string;
}

export function installKernelspec(pkg: PtlabPackage, scope: Scope, opts: { node?: string; env?: NodeJS.ProcessEnv } = {}): InstallResult {
  const dir = kernelDir(scope, opts.env);
  const launcher = launcherPath(pkg);
  if (!fs.existsSync(launcher)) {
    throw new Error(`the kernel launcher ${launcher} does not exist; build ptlab first (npm run build in ${pkg.root})`);
  }
  fs.mkdirSync(dir, { recursive: true });
  const files: [string, string | Buffer][] = [
    ['kernel.json', JSON.stringify(kernelJson(pkg, opts.node), null, 2) + '\n'],
    ['logo-svg.svg', LOGO_SVG],
  ];
  let logoWarning: string | undefined;
  try {
    for (const [name, png] of renderLogoPngs()) files.push([name, png]);
  } catch (e) {
    logoWarning = `could not render the PNG logos (${(e as Error).message}); the kernel works without them`;
  }
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, name), data);
  return { dir, files: files.map(([name]) => name), logoWarning };
}

/** Remove the kernelspec of `scope`; returns the removed directory, or null if there was none. */
export function removeKernelspec(scope: Scope, env: NodeJS.ProcessEnv = process.env): string | null {
  const dir = kernelDir(scope, env);
  if (!fs.existsSync(path.join(dir, 'kernel.json'))) return null;
  fs.rmSync(dir, { recursive: true, force: true });
  return dir;
}

export interface ListedKernel {
  name: string;
  resourceDir: string;
  displayName?: string;
  language?: string;
  argv?: string[];
  error?: string;
}

export interface KernelListing {
  /** 'jupyter_client' when Jupyter's own KernelSpecManager answered, 'scan' for our fallback */
  source: 'jupyter_client' | 'scan';
  python?: string;
  kernels: ListedKernel[];
}

/** Ask jupyter_client's KernelSpecManager (the list Jupyter itself uses, JUPYTER_PATH included). */
const LIST_SCRIPT = `
import json
from jupyter_client.kernelspec import KernelSpecManager
m = KernelSpecManager()
out = []
for name, d in sorted(m.find_kernel_specs().items()):
    k = {"name": name, "resourceDir": d}
    try:
        s = m.get_kernel_spec(name)
        k.update(displayName=s.display_name, language=s.language, argv=s.argv)
    except Exception as e:
        k["error"] = str(e)
    out.append(k)
print(json.dumps(out))
`;

function listWithJupyterClient(python: string, env: NodeJS.ProcessEnv): ListedKernel[] | null {
  const r = spawnSync(python, ['-c', LIST_SCRIPT], { encoding: 'utf8', env, timeout: 60_000 });
  if (r.status !== 0) return null;
  try {
    return JSON.parse(r.stdout.trim()) as ListedKernel[];
  } catch {
    return null;
  }
}

/** Without Python: scan JUPYTER_PATH, the user dir and the usual system dirs, first match wins. */
function listByScanning(env: NodeJS.ProcessEnv): ListedKernel[] {
  const dataDirs = [
    ...(env.JUPYTER_PATH ?? '').split(path.delimiter).filter(Boolean),
    userDataDir(env),
    systemDataDir(env),
    '/usr/share/jupyter',
  ];
  const seen = new Map<string, ListedKernel>();
  for (const data of dataDirs) {
    const kernels = path.join(data, 'kernels');
    let names: string[];
    try {
      names = fs.readdirSync(kernels);
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const file = path.join(kernels, name, 'kernel.json');
      if (seen.has(name) || !fs.existsSync(file)) continue;
      const k: ListedKernel = { name, resourceDir: path.join(kernels, name) };
      try {
        const spec = JSON.parse(fs.readFileSync(file, 'utf8')) as { display_name?: string; language?: string; argv?: string[] };
        Object.assign(k, { displayName: spec.display_name, language: spec.language, argv: spec.argv });
      } catch (e) {
        k.error = (e as Error).message;
      }
      seen.set(name, k);
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function listKernelspecs(env: NodeJS.ProcessEnv = process.env): KernelListing {
  const py = findJupyterPython(env);
  if (py) {
    const kernels = listWithJupyterClient(py.python, env);
    if (kernels) return { source: 'jupyter_client', python: py.python, kernels };
  }
  return { source: 'scan', kernels: listByScanning(env) };
}
