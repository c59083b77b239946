/**
 * `ptlab diff SPEC.json [--variant NAME] [--json]`: simulate the spec under the variant that
 * models this kernel and replay it natively; print the differences step by step. Exit code 0
 * when the model matches (host-quirk differences aside), 1 when it does not, 3 when this host
 * cannot replay the spec.
 */
import { diffSpec, formatDiff, ModelFailed } from '../fidelity/diff';
import { ReplayFailed, ReplayRefused } from '../fidelity/replay';
import { ScriptError } from '../fidelity/script';
import { loadSpecFile } from '../fidelity/spec-input';
import { SpecFileError } from '../lab/spec-file';
import { SpecError } from '../lab/spec-issues';
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
    if (e instanceof ReplayRefused) throw new CliError(`cannot replay here: ${e.message}`, 3);
    // a spec this command cannot use: exit 2 (1 says the model differs)
    if (e instanceof SpecFileError || e instanceof SpecError || e instanceof ScriptError) throw new CliError(e.message, 2);
    if (e instanceof ReplayFailed) throw new CliError(e.message, 4);
    if (e instanceof ModelFailed) throw new CliError(e.message, 5);
    throw e;
  }
}
