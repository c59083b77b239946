/**
 * `ptlab merge DIR... --out DIR`: combines results directories (shards of one sweep, or a sweep
 * resumed elsewhere) into one. The directories must hold the same spec; runs are put back in plan
 * order, so merging all shards gives exactly the unsharded run's results.json. Directories of
 * interrupted runs (runs/ without results.json) are accepted.
 */
import * as fs from 'node:fs';
import { command, parseCommand } from '../args/parser';
import { runIds } from '../lab/compile';
import { ResultSet } from '../lab/resultset';
import { stableJson } from '../lab/runner';
import { validateSpec } from '../lab/validate';
import { CliError } from '../args/cli-error';

const MERGE = command('merge', 'DIR... --out DIR', {
  out: { type: 'string', short: 'o', help: 'directory to write the merged spec.json, results.json, meta.json' },
  json: { type: 'boolean', help: 'also print the merged ResultsJson on stdout' },
  'allow-missing': { type: 'boolean', help: 'succeed even when planned runs are missing' },
});

export async function main(argv: string[]): Promise<number> {
  const p = parseCommand(MERGE, argv);
  const v = p.values;
  if (v.out === undefined) throw new CliError(`merge: --out DIR is required (where the merged results go); usage: ptlab merge ${MERGE.synopsis}`);
  if (p.positionals.length === 0) throw new CliError(`merge: give at least one results directory; usage: ptlab merge ${MERGE.synopsis}`);
  const sets: ResultSet[] = [];
  for (const dir of p.positionals) {
    if (!fs.existsSync(dir)) throw new CliError(`merge: ${dir}: no such directory`, 1);
    try {
      sets.push(ResultSet.load(dir));
    } catch (e) {
      throw new CliError(`merge: ${(e as Error).message}`, 1);
    }
  }
  const withSpec = sets.map((s, i) => ({ s, dir: p.positionals[i] })).filter((x) => x.s.spec !== undefined);
  for (const x of withSpec.slice(1))
    if (stableJson(x.s.spec) !== stableJson(withSpec[0].s.spec))
      throw new CliError(`merge: ${x.dir}/spec.json differs from ${withSpec[0].dir}/spec.json; merge only results of the same spec`, 1);
  let order: string[] | undefined;
  const spec = withSpec[0]?.s.spec;
  if (spec !== undefined) {
    const r = validateSpec(spec, { registries: false, checkTraces: false });
    if (r.ok) order = runIds(r.spec);
  }
  let merged: ResultSet;
  try {
    merged = ResultSet.merge(sets, order);
  } catch (e) {
    throw new CliError(`merge: ${(e as Error).message}`, 1);
  }
  const missing = order ? order.filter((id) => !merged.runs.some((r) => r.id === id)) : [];
  merged = new ResultSet(merged.runs, spec, missing.length > 0 ? { missing } : {});
  merged.save(v.out);
  if (v.json) process.stdout.write(JSON.stringify(merged.toJSON()) + '\n');
  process.stderr.write(`merged ${merged.length} run(s) from ${sets.length} director${sets.length === 1 ? 'y' : 'ies'} into ${v.out}${missing.length ? `; ${missing.length} planned run(s) missing, e.g. ${missing[0]}` : ''}\n`);
  return missing.length > 0 && !v['allow-missing'] ? 1 : 0;
}
