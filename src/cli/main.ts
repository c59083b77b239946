#!/usr/bin/env node
/**
 * `ptlab` command line. Each command lives in its own module src/cli/<command>.ts, declares its
 * flags in one table for the shared parser (./args.ts, which also writes its --help) and exports
 * `main(argv): Promise<number>` (the exit code). Commands are loaded lazily so that
 * `ptlab validate` does not pay for vega or the simulator.
 */
import { CliError } from '../args/cli-error';
import { didYouMean } from '../args/spelling';
import { VERSION } from '../version';

/** Each command's one-line summary; its module is ./<command>. */
const COMMANDS: Record<string, string> = {
  start: 'run the flagship experiment of the seed thread and write out/report.html',
  run: 'run an experiment spec: ptlab run SPEC.json [--json] [--out DIR] [--jobs N] [--shard i/N]',
  validate: 'check a spec: ptlab validate SPEC.json',
  merge: 'combine saved shard results: ptlab merge DIR... --out DIR',
  sweep: 'write a Slurm job array for a sweep: ptlab sweep SPEC.json --slurm N',
  report: 'write a standalone HTML writeup: ptlab report RESULTS_DIR --out report.html',
  calibrate: 'measure this host and write a "host" CPU profile (--check: fidelity report)',
  kernel: 'manage the "ptlab (TypeScript)" Jupyter kernel: install | list | remove',
  replay: 'run a spec natively on this Linux kernel: ptlab replay SPEC.json --native',
  trace: "capture a real program's page trace (valgrind) or summarise one: ptlab trace capture|stats",
  diff: 'compare the model with this kernel: ptlab diff SPEC.json',
  list: 'list what a spec can name, one per line: ptlab list kernels|cpus|ops',
};

function usage(): string {
  const lines = ['usage: ptlab <command> [options]', '', 'commands:'];
  for (const [name, summary] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${summary}`);
  lines.push(`  ${'help'.padEnd(10)} help for one command: ptlab help run`, `  ${'--version'.padEnd(10)} print the ptlab version`);
  return lines.join('\n');
}

const COMMAND_LIST = `commands: ${Object.keys(COMMANDS).join(', ')}, help, --version`;

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === '--help' || cmd === '-h' || (cmd === 'help' && rest.length === 0)) {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    process.stdout.write(`ptlab ${VERSION}\n`);
    return 0;
  }
  if (!cmd) throw new CliError(`give a command; ${COMMAND_LIST} (ptlab help for more)`);
  // `ptlab help run` = `ptlab run --help`
  if (cmd === 'help') return main([rest[0], '--help']);
  if (!Object.hasOwn(COMMANDS, cmd)) throw new CliError(`unknown command "${cmd}"${didYouMean(cmd, Object.keys(COMMANDS))}; ${COMMAND_LIST}`);
  let mod: { main(argv: string[]): Promise<number> };
  try {
    mod = require(`./${cmd}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(`'./${cmd}'`)) {
      process.stderr.write(`ptlab: command "${cmd}" is not available in this build\n`);
      return 2;
    }
    throw e;
  }
  return mod.main(rest);
}

/** A spec file ptlab cannot read, a spec with problems, an output directory in use (loaded lazily: `ptlab --version` stays light). */
function refusedInput(err: unknown): boolean {
  const { SpecFileError } = require('../lab/spec-file') as typeof import('../lab/spec-file');
  const { SpecError } = require('../lab/spec-issues') as typeof import('../lab/spec-issues');
  const { RunnerError } = require('../lab/runner') as typeof import('../lab/runner');
  return err instanceof SpecFileError || err instanceof SpecError || err instanceof RunnerError;
}

/**
 * The one place errors become what the person at the terminal sees (bin/ptlab.js and
 * `node dist/src/cli/main.js` both come here): a usage mistake or a refused input is one line
 * `ptlab: ...` and its exit code (2 for usage; a CliError may say otherwise, e.g. 1 for a spec
 * with problems); anything else is a bug in ptlab, printed with its stack, exit 70.
 */
export async function cli(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    // input the lab refuses (a spec file it cannot read, a spec with problems, an output dir in
    // use): its message says what to fix; exit 1
    if (!(err instanceof CliError) && refusedInput(err)) err = new CliError((err as Error).message, 1);
    if (err instanceof CliError) {
      const code = err.exitCode;
      // help asked for (exit 0) may span lines; an error is one line
      if (code === 0) process.stdout.write(`${err.message}\n`);
      else process.stderr.write(`ptlab: ${err.message.replace(/:\s*\n\s*/g, ': ').replace(/\s*\n\s*/g, '; ')}\n`);
      return code;
    }
    process.stderr.write(`ptlab: internal error: ${(err as Error)?.stack ?? err}\n`);
    return 70;
  }
}

if (require.main === module) {
  void cli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
