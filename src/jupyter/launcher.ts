/**
 * Entry point of the "ptlab (TypeScript)" Jupyter kernel; the kernelspec runs
 * `node <build>/src/jupyter/launcher.js --config-path {connection_file}`.
 *
 * It starts tslab's kernel in this process from ptlab's own, pinned tslab (never a global tslab, and
 * never the one tslab's `findLocalStartKernel` would pick from the notebook's folder), after
 * installing the hooks that make `ptlab` resolve to this installation (resolve-ptlab.ts). The
 * assembly mirrors tslab's `startKernel` (tslab/dist/main.js) with ptlab's handler and server.
 *
 * `--check` prints what the kernel would run (versions and paths) as JSON and exits.
 */
import { CliError } from '../args/cli-error';
import { command, parseCommand, usageLine } from '../args/parser';
import { locatePtlab } from './ptlab-package';
import { loadTslab, TslabVersionError, type Tslab } from './tslab-api';
import { hookRuntimeResolution, hookTypeResolution, type TsSysLike } from './resolve-ptlab';
import { CellRunner } from './cell-runner';
import { PtlabHandler, createServer } from './kernel-server';

/** The kernelspec's argv (kernelspec.ts); a mistake in it is a one-line CliError. */
const LAUNCH = command('launcher.js', '--config-path FILE | --check', {
  'config-path': { type: 'string', short: 'f', help: "the kernel's connection file, which Jupyter passes as {connection_file}" },
  check: { type: 'boolean', help: 'print what the kernel would run (versions and paths) as JSON' },
}, undefined, 'node');

export function launch(argv: string[]): void {
  const { values, positionals } = parseCommand(LAUNCH, argv);
  if (positionals.length > 0) throw new CliError(`launcher.js: unexpected argument "${positionals[0]}"; ${usageLine(LAUNCH)}`);
  const args = { configPath: values['config-path'], check: values.check };
  const pkg = locatePtlab(__dirname);
  const tslab: Tslab = loadTslab(pkg.root);
  if (args.check) {
    process.stdout.write(
      JSON.stringify({
        ptlab: pkg.version,
        root: pkg.root,
        main: pkg.main,
        tslab: tslab.version,
        tslabDir: tslab.dir,
        typescript: tslab.typescriptVersion,
        node: process.version,
      }) + '\n',
    );
    return;
  }
  if (!args.configPath) throw new CliError(`launcher.js: --config-path FILE is required (Jupyter passes {connection_file}); ${usageLine(LAUNCH)}`);

  const cwd = process.cwd();
  hookRuntimeResolution(pkg);
  hookTypeResolution(tslab.ts.sys as unknown as TsSysLike, cwd, pkg);
  // Lets library code and notebooks tell the ptlab kernel from plain tslab.
  process.env.PTLAB_KERNEL = pkg.version;

  const runner = new CellRunner(tslab, cwd, [__dirname]);
  const handler = new PtlabHandler(tslab, runner, {
    ptlabVersion: pkg.version,
    tslabVersion: tslab.version,
    typescriptVersion: tslab.typescriptVersion,
  });
  const server = createServer(tslab, handler, args.configPath);
  // Same process-level handlers as tslab's startKernel: a stray rejection must not kill the kernel.
  process.on('SIGINT', () => runner.interrupt());
  process.on('uncaughtException', (err) => console.error('UncaughtException:', err));
  process.on('unhandledRejection', (reason) => console.error('UnhandledPromiseRejection:', reason));
  server.init().catch((e: unknown) => {
    process.stderr.write(`ptlab kernel: cannot open the Jupyter sockets: ${(e as Error)?.message ?? e}\n`);
    process.exit(1);
  });
}

if (require.main === module) {
  try {
    launch(process.argv.slice(2));
  } catch (e) {
    // Shown in the Jupyter server log / nbclient's "kernel died" message: one line, no stack
    // (`--help` is a CliError with exit code 0: the help, on stdout).
    if (e instanceof CliError && e.exitCode === 0) {
      process.stdout.write(`${e.message}\n`);
      process.exit(0);
    }
    const known = e instanceof TslabVersionError || e instanceof CliError;
    const text = known ? e.message : ((e as Error | undefined)?.stack ?? String(e));
    process.stderr.write(`ptlab kernel: ${text}\n`);
    process.exit(2);
  }
}
