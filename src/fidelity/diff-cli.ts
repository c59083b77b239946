/**
 * `ptlab diff SPEC.json [--variant NAME] [--json]`: simulate the spec under the variant that
 * models this kernel and replay it natively; print the differences step by step. Exit code 0
 * when the model matches (host-quirk differences aside), 1 when it does not, 3 when this host
 * cannot replay the spec.
 */
import { CliError } from '../cli/errors';
import { diffSpec, formatDiff, ModelFailed } from './diff';
import { ReplayFailed, ReplayRefused } from './replay';
import { ScriptError } from './script';
import { loadSpecFile, SpecInputError } from './spec-input';

const USAGE = 'usage: ptlab diff SPEC.json [--variant NAME] [--json] [--no-split]  (NAME: a built-in variant, or one the spec gives as a value)';

export async function main(argv: string[]): Promise<number> {
  const files: string[] = [];
  let variant: string | undefined;
  let json = false;
  let split: 'auto' | 'never' = 'auto';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--variant') {
      variant = argv[++i];
      if (!variant) throw new CliError(`--variant needs a name\n${USAGE}`);
    } else if (a === '--json') json = true;
    else if (a === '--no-split') split = 'never';
    else if (a === '--help') {
      process.stdout.write(USAGE + '\n');
      return 0;
    } else if (a.startsWith('--')) throw new CliError(`unknown option ${a}\n${USAGE}`);
    else files.push(a);
  }
  if (files.length !== 1) throw new CliError(USAGE);
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
    if (e instanceof SpecInputError || e instanceof ScriptError) throw new CliError(e.message, 2);
    if (e instanceof ReplayFailed) throw new CliError(e.message, 4);
    if (e instanceof ModelFailed) throw new CliError(e.message, 5);
    throw e;
  }
}
