/**
 * `ptlab list kernels|cpus|ops`: what a spec can name, one line each (name, then what it is), so
 * nobody has to read the source to write a spec.
 */
import { getProfile, listProfiles } from '../cost/registry';
import { getVariant, listVariants } from '../kernel/variants';
import { OPS, STEP_SCHEMAS } from '../lab/spec';
import { didYouMean } from '../args/spelling';
import { command, parseCommand, usageLine } from '../args/parser';
import { CliError } from '../args/cli-error';

const WHAT = ['kernels', 'cpus', 'ops'] as const;
const LIST = command('list', 'kernels|cpus|ops', {}, '  kernels  kernel variants (spec "kernel")\n  cpus     CPU cost profiles (spec "machine.cpu")\n  ops      step ops and their fields (spec "steps")');
const USAGE = usageLine(LIST);

function lines(what: (typeof WHAT)[number]): string[] {
  switch (what) {
    case 'kernels':
      return listVariants().map((n) => {
        const d = getVariant(n).description.replace(/\s+/g, ' ');
        return `${n.padEnd(28)} ${d.length > 110 ? `${d.slice(0, 109)}…` : d}`;
      });
    case 'cpus':
      return listProfiles().map((n) => {
        try {
          const p = getProfile(n);
          return `${n.padEnd(20)} ${p.vendor} ${p.model}, ${p.clockGHz} GHz${p.virtualized ? ', virtualized' : ''}`;
        } catch (e) {
          return `${n.padEnd(20)} (${(e as Error).message})`;
        }
      });
    case 'ops':
      return OPS.map((op) => `${op.padEnd(18)} ${Object.keys(STEP_SCHEMAS[op].shape).filter((k) => k !== 'op').join(', ')}`);
  }
}

export async function main(args: string[]): Promise<number> {
  const argv = parseCommand(LIST, args).positionals;
  if (argv.length !== 1) throw new CliError(`list: ${argv.length === 0 ? 'say what to list' : `one thing at a time (got ${argv.join(' ')})`}; ${USAGE}`);
  const what = WHAT.find((w) => w === argv[0]);
  if (!what) throw new CliError(`list: cannot list "${argv[0]}"${didYouMean(argv[0], WHAT)}; ${USAGE}`);
  process.stdout.write(lines(what).join('\n') + '\n');
  return 0;
}
