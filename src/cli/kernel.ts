/**
 * `ptlab kernel install|list|remove`: manage the "ptlab (TypeScript)" Jupyter kernelspec, which
 * starts tslab from ptlab's own dependency through src/jupyter/launcher.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CliError } from './errors';
import { locatePtlab, type PtlabPackage } from '../jupyter/ptlab-package';
import {
  KERNEL_NAME,
  defaultScope,
  installKernelspec,
  kernelDir,
  launcherPath,
  listKernelspecs,
  removeKernelspec,
  type ListedKernel,
  type Scope,
} from '../jupyter/kernelspec';

const USAGE = `usage:
  ptlab kernel install [--user | --system | --prefix DIR] [--node PATH]
  ptlab kernel list [--json]
  ptlab kernel remove [--user | --system | --prefix DIR]

Without a location flag: the system directory when run as root, else the user directory.
--prefix DIR writes DIR/share/jupyter/kernels/${KERNEL_NAME}; use it with JUPYTER_PATH=DIR/share/jupyter.`;

interface Parsed {
  scope: Scope;
  node?: string;
  json: boolean;
}

function parse(argv: string[], allowed: ReadonlySet<string>): Parsed {
  let scope: Scope | undefined;
  const out: Parsed = { scope: defaultScope(), json: false };
  const setScope = (s: Scope) => {
    if (scope) throw new CliError(`choose one of --user, --system, --prefix DIR\n\n${USAGE}`);
    scope = s;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let value: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (!allowed.has(a)) throw new CliError(`unknown option "${argv[i]}"\n\n${USAGE}`);
    const need = (): string => {
      const v = value ?? argv[++i];
      if (!v) throw new CliError(`${a} needs a value\n\n${USAGE}`);
      return v;
    };
    if (a === '--user') setScope({ kind: 'user' });
    else if (a === '--system') setScope({ kind: 'system' });
    else if (a === '--prefix') setScope({ kind: 'prefix', prefix: need() });
    else if (a === '--node') out.node = path.resolve(need());
    else if (a === '--json') out.json = true;
  }
  if (scope) out.scope = scope;
  return out;
}

function describeScope(scope: Scope): string {
  return scope.kind === 'prefix' ? `prefix ${path.resolve(scope.prefix)}` : scope.kind;
}

function install(pkg: PtlabPackage, argv: string[]): number {
  const args = parse(argv, new Set(['--user', '--system', '--prefix', '--node']));
  if (args.node && !fs.existsSync(args.node)) throw new CliError(`--node: ${args.node} does not exist`);
  let result;
  try {
    result = installKernelspec(pkg, args.scope, { node: args.node });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EACCES' || err.code === 'EPERM') {
      throw new CliError(`cannot write ${kernelDir(args.scope)} (${err.code}); use --user or --prefix DIR`);
    }
    throw new CliError(err.message);
  }
  process.stdout.write(`installed kernelspec "${KERNEL_NAME}" (${describeScope(args.scope)}) in ${result.dir}\n`);
  process.stdout.write(`  runs ${launcherPath(pkg)} with ${args.node ?? process.execPath}\n`);
  if (args.scope.kind === 'prefix') {
    process.stdout.write(`  make Jupyter see it: export JUPYTER_PATH=${path.join(path.resolve(args.scope.prefix), 'share', 'jupyter')}\n`);
  }
  if (result.logoWarning) process.stderr.write(`ptlab: warning: ${result.logoWarning}\n`);
  return 0;
}

/** How a listed ptlab kernel relates to this installation. */
function ptlabNote(k: ListedKernel, pkg: PtlabPackage): string {
  const launcher = k.argv?.[1];
  if (!launcher || !/launcher\.js$/.test(launcher)) return '';
  if (path.resolve(launcher) === launcherPath(pkg)) return '  <- this checkout';
  return fs.existsSync(launcher) ? `  <- another ptlab: ${launcher}` : `  <- BROKEN: ${launcher} is missing`;
}

function list(pkg: PtlabPackage, argv: string[]): number {
  const args = parse(argv, new Set(['--json']));
  const listing = listKernelspecs();
  if (args.json) {
    process.stdout.write(JSON.stringify(listing, null, 2) + '\n');
    return 0;
  }
  const via = listing.source === 'jupyter_client' ? `jupyter_client (${listing.python})` : 'a directory scan (no Python with jupyter_client found)';
  process.stdout.write(`Jupyter kernels, as listed by ${via}:\n`);
  if (listing.kernels.length === 0) process.stdout.write('  (none)\n');
  const width = Math.max(4, ...listing.kernels.map((k) => k.name.length));
  for (const k of listing.kernels) {
    const name = k.displayName ? `${k.displayName}` : k.error ? `unreadable: ${k.error}` : '';
    process.stdout.write(`  ${k.name.padEnd(width)}  ${k.resourceDir}  ${name}${ptlabNote(k, pkg)}\n`);
  }
  if (!listing.kernels.some((k) => k.name === KERNEL_NAME)) {
    process.stdout.write(`\nthe "${KERNEL_NAME}" kernel is not installed: run \`ptlab kernel install\`\n`);
  }
  return 0;
}

function remove(argv: string[]): number {
  const args = parse(argv, new Set(['--user', '--system', '--prefix']));
  let removed: string | null;
  try {
    removed = removeKernelspec(args.scope);
  } catch (e) {
    throw new CliError(`cannot remove ${kernelDir(args.scope)}: ${(e as Error).message}`);
  }
  if (!removed) {
    throw new CliError(`no "${KERNEL_NAME}" kernelspec in ${kernelDir(args.scope)} (${describeScope(args.scope)}); see \`ptlab kernel list\``, 1);
  }
  process.stdout.write(`removed kernelspec "${KERNEL_NAME}" from ${removed}\n`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const pkg = locatePtlab(__dirname);
  switch (sub) {
    case 'install':
      return install(pkg, rest);
    case 'list':
      return list(pkg, rest);
    case 'remove':
      return remove(rest);
    default:
      throw new CliError(`${sub ? `unknown kernel command "${sub}"` : 'missing kernel command'}\n\n${USAGE}`);
  }
}
