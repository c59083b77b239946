/**
 * `ptlab kernel install|list|remove`: manage the "ptlab (TypeScript)" Jupyter kernelspec, which
 * starts tslab from ptlab's own dependency through src/jupyter/launcher.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { command, parseCommand, subcommand, type Flags, type Values } from '../args/parser';
import { CliError } from '../args/cli-error';
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

/** Where the kernelspec goes; without one of these: the system directory as root, else the user's. */
const SCOPE_FLAGS = {
  user: { type: 'boolean', help: "the user's Jupyter data directory" },
  system: { type: 'boolean', help: 'the system Jupyter data directory' },
  prefix: { type: 'string', help: `DIR/share/jupyter/kernels/${KERNEL_NAME}; use it with JUPYTER_PATH=DIR/share/jupyter` },
} as const satisfies Flags;
const INSTALL = command(
  'kernel install',
  '[--user | --system | --prefix DIR] [--node PATH]',
  { ...SCOPE_FLAGS, node: { type: 'string', help: 'the node binary the kernel runs with (default: this one)' } },
  'Without a location flag: the system directory when run as root, else the user directory.',
);
const LIST = command('kernel list', '[--json]', { json: { type: 'boolean', help: 'print the listing as JSON' } });
const REMOVE = command('kernel remove', '[--user | --system | --prefix DIR]', SCOPE_FLAGS);

/** The location flags as one Scope, or the error when more than one is given. */
function scopeOf(cmd: string, v: Values<typeof SCOPE_FLAGS>): Scope {
  const given: Scope[] = [
    ...(v.user ? [{ kind: 'user' } as const] : []),
    ...(v.system ? [{ kind: 'system' } as const] : []),
    ...(v.prefix !== undefined ? [{ kind: 'prefix', prefix: v.prefix } as const] : []),
  ];
  if (given.length > 1) throw new CliError(`${cmd}: choose one of --user, --system, --prefix DIR`);
  return given[0] ?? defaultScope();
}

function describeScope(scope: Scope): string {
  return scope.kind === 'prefix' ? `prefix ${path.resolve(scope.prefix)}` : scope.kind;
}

function install(pkg: PtlabPackage, argv: string[]): number {
  const { values } = parseCommand(INSTALL, argv);
  const args = { scope: scopeOf(INSTALL.name, values), node: values.node === undefined ? undefined : path.resolve(values.node) };
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
  const { values } = parseCommand(LIST, argv);
  const listing = listKernelspecs();
  if (values.json) {
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
  const args = { scope: scopeOf(REMOVE.name, parseCommand(REMOVE, argv).values) };
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
  return subcommand('kernel', argv, [
    [INSTALL, (rest) => install(locatePtlab(__dirname), rest)],
    [LIST, (rest) => list(locatePtlab(__dirname), rest)],
    [REMOVE, remove],
  ]);
}
