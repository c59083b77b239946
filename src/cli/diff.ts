/**
 * `ptlab diff SPEC.json [--variant NAME] [--json]`: simulate the spec under the variant that
 * models this kernel and replay it natively; print the differences step by step. Exit code 0
 * when the model matches (host-quirk differences aside), 1 when it does not, 3 when this host
 * cannot replay the spec.
 */
import { diffSpec, formatDiff } from '../fidelity/diff';
import { loadSpecFile } from '../fidelity/spec-input';
import { nativeCliError } from './native-exit';
import { command, parseCommand, usageLine } from '../args/parser';
import { CliError } from '../args/cli-error';

const DIFF = command('diff', 'SPEC.json [--variant NAME] [--json] [--no-split]', {
  variant: { type: 'string', help: 'the variant to simulate: a built-in one, or one the spec gives as a value (default: the one that models this kernel)' },
  json: { type: 'boolean', help: 'print the differences as JSON' },
  'no-split': { type: 'boolean', help: 'keep each region one VMA (no per-page split; young/dirty then unknown; docs/fidelity.md)' },
}, 'Exit 0: the model matches this kernel (host quirks aside); 1: it does not; 3: this host cannot replay the spec.');

export async function main(argv: string[]): Promise<number> {
  const { values, positionals: files } = parseCommand(DIFF, argv);
  if (files.length !== 1) throw new CliError(`diff: give exactly one spec file; ${usageLine(DIFF)}`);
  const { variant, json } = values;
  const split = values['no-split'] ? 'never' : 'auto';
  try {
    const r = diffSpec(loadSpecFile(files[0]), { variant, split });
    if (json) {
      const { model, native, ...rest } = r;
      void model;
      void native;
      process.stdout.write(JSON.stringify(rest, null, 1) + '\n');
    } else process.stdout.write(formatDiff(r) + '\n');
    return r.modelDifferences ? 1 : 0;
  } catch (e) {
    throw nativeCliError(e);
  }
}
