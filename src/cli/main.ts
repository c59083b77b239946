#!/usr/bin/env node
/**
 * `ptlab` command line. Each command lives in its own module under src/cli (or src/fidelity)
 * and exports `main(argv): Promise<number>` (the exit code). Commands are loaded lazily so that
 * `ptlab validate` does not pay for vega or the simulator.
 */
import { CliError } from './errors';
import { UsageError } from '../lab/cli-args';

interface CommandInfo {
  module: string;
  summary: string;
}

const COMMANDS: Record<string, CommandInfo> = {
  start: { module: './start', summary: 'run the flagship experiment of the seed thread and write out/report.html' },
  run: { module: './run', summary: 'run an experiment spec: ptlab run SPEC.json [--json] [--out DIR] [--jobs N] [--shard i/N]' },
  validate: { module: './validate', summary: 'check a spec: ptlab validate SPEC.json' },
  merge: { module: './merge', summary: 'combine saved shard results: ptlab merge DIR... --out DIR' },
  sweep: { module: './sweep', summary: 'write a Slurm job array for a sweep: ptlab sweep SPEC.json --slurm N' },
  report: { module: './report', summary: 'write a standalone HTML writeup: ptlab report RESULTS_DIR --out report.html' },
  calibrate: { module: './calibrate', summary: 'measure this host and write a "host" CPU profile (--check: fidelity report)' },
  kernel: { module: './kernel', summary: 'manage the "ptlab (TypeScript)" Jupyter kernel: install | list | remove' },
  replay: { module: '../fidelity/replay-cli', summary: 'run a spec natively on this Linux kernel: ptlab replay SPEC.json --native' },
  trace: { module: './trace', summary: 'capture a real program\'s page trace (valgrind) or summarise one: ptlab trace capture|stats' },
  diff: { module: '../fidelity/diff-cli', summary: 'compare the model with this kernel: ptlab diff SPEC.json' },
};

function usage(): string {
  const lines = ['usage: ptlab <command> [options]', '', 'commands:'];
  for (const [name, info] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(10)} ${info.summary}`);
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    process.stdout.write(usage() + '\n');
    return cmd ? 0 : 2;
  }
  const info = COMMANDS[cmd];
  if (!info) {
    process.stderr.write(`ptlab: unknown command "${cmd}"\n\n${usage()}\n`);
    return 2;
  }
  let mod: { main(argv: string[]): Promise<number> };
  try {
    mod = require(info.module);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((e as Error).message).includes(info.module.replace(/^\.\.?\//, ''))) {
      process.stderr.write(`ptlab: command "${cmd}" is not available in this build\n`);
      return 2;
    }
    throw e;
  }
  return mod.main(rest);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      if (err instanceof CliError || err instanceof UsageError) {
        // UsageError: a flag the shared parser (src/lab/cli-args.ts) rejected, naming the flag
        process.stderr.write(`ptlab: ${err.message}\n`);
        process.exitCode = err instanceof CliError ? err.exitCode : 2;
      } else {
        process.stderr.write(`ptlab: internal error: ${(err as Error)?.stack ?? err}\n`);
        process.exitCode = 70;
      }
    },
  );
}
