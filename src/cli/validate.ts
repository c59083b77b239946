/**
 * `ptlab validate SPEC.json`: checks a spec without running it — shape, sweep variables, region
 * flow, kernel and CPU names, trace files — and prints every problem with its fix (exit 1), or a
 * one-line summary of the runs it would make (exit 0).
 */
import { command, parseCommand } from '../args/parser';
import { compileSpec } from '../lab/compile';
import { readSpecFile } from '../lab/spec-file';
import { formatIssues } from '../lab/spec-issues';
import { validateSpec } from '../lab/validate';
import { estimateRuns, tooLargeMessage } from '../lab/estimate';
import { CliError } from '../args/cli-error';

const VALIDATE = command('validate', 'SPEC.json [--json] [--allow-large]', {
  json: { type: 'boolean', help: 'print {ok, runs, issues, estimate} as JSON' },
  'allow-large': { type: 'boolean', help: 'accept runs above the size limits (4 GiB of model state or 1e10 accesses per run)' },
});

export async function main(argv: string[]): Promise<number> {
  const p = parseCommand(VALIDATE, argv);
  if (p.positionals.length !== 1) throw new CliError(`validate: give exactly one spec file; usage: ptlab validate SPEC.json`);
  const name = p.positionals[0];
  const spec = readSpecFile(name);
  const r = validateSpec(spec.raw, { baseDir: spec.baseDir, source: name });
  if (!r.ok) {
    if (p.values.json) process.stdout.write(JSON.stringify({ ok: false, issues: r.issues }) + '\n');
    else process.stderr.write(formatIssues(r.issues, name) + '\n');
    return 1;
  }
  const plans = compileSpec(r.spec, { baseDir: spec.baseDir });
  const estimate = estimateRuns(plans);
  if (estimate.over.length > 0 && !p.values['allow-large']) {
    const issues = [{ path: 'steps', message: tooLargeMessage(estimate) }];
    if (p.values.json) process.stdout.write(JSON.stringify({ ok: false, issues, estimate }) + '\n');
    else process.stderr.write(formatIssues(issues, name) + '\n');
    return 1;
  }
  if (p.values.json) {
    process.stdout.write(JSON.stringify({ ok: true, runs: plans.map((x) => x.id), issues: [], estimate }) + '\n');
    return 0;
  }
  const kernels = [...new Set(plans.map((x) => x.variant))];
  const seeds = [...new Set(plans.map((x) => x.seed))];
  process.stdout.write(`${name}: ok, ${plans.length} run(s): ${r.spec.steps.length} steps; kernels ${kernels.join(', ')}; seeds ${seeds.join(', ')}\n${estimate.summary}\n`);
  return 0;
}
