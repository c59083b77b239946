/**
 * The exit codes of the commands that run a spec on this kernel (`ptlab replay`, `ptlab diff`;
 * docs/fidelity.md): 2 a spec the command cannot use (as a usage mistake: 1 is diff's "the model
 * differs"), 3 this host cannot do what the spec asks, 4 the replayer failed, 5 the simulator
 * failed. Anything else is returned as it is.
 */
import { ModelFailed } from '../fidelity/diff';
import { ReplayFailed, ReplayRefused } from '../fidelity/replay';
import { ScriptError } from '../fidelity/script';
import { SpecFileError } from '../lab/spec-file';
import { SpecError } from '../lab/spec-issues';
import { CliError } from '../args/cli-error';

export function nativeCliError(e: unknown): unknown {
  if (e instanceof ReplayRefused) return new CliError(`cannot replay here: ${e.message}`, 3);
  if (e instanceof SpecFileError || e instanceof SpecError || e instanceof ScriptError) return new CliError(e.message, 2);
  if (e instanceof ReplayFailed) return new CliError(e.message, 4);
  if (e instanceof ModelFailed) return new CliError(e.message, 5);
  return e;
}
