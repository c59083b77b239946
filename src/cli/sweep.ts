/**
 * `ptlab sweep SPEC.json --slurm N [--out DIR]`: writes a Slurm job array that runs the sweep in
 * N shards (`ptlab run --shard i/N --resume`, so a requeued task continues where it stopped) and a
 * merge job that starts only when every shard succeeded (`--dependency=afterok:<array id>`):
 *
 *   DIR/slurm/shards.sbatch   the job array, one task per shard -> DIR/shards/<i>/
 *   DIR/slurm/merge.sbatch    ptlab merge DIR/shards/* --out DIR/merged
 *   DIR/slurm/submit.sh       sbatch both, chaining the dependency
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { command, parseCommand } from '../args/parser';
import { runIds } from '../lab/compile';
import { readSpecFile } from '../lab/spec-file';
import { validateSpec } from '../lab/validate';
import { formatIssues } from '../lab/spec-issues';
import { CliError } from '../args/cli-error';

const SWEEP = command('sweep', 'SPEC.json --slurm N [--out DIR] [--partition P] [--time T] [--submit]', {
  slurm: { type: 'int', min: 1, example: 4, help: 'number of shards = array tasks (required)' },
  out: { type: 'string', short: 'o', help: 'output directory (default ./ptlab-sweep-<name>)' },
  partition: { type: 'string', help: 'Slurm partition (sbatch --partition)' },
  account: { type: 'string', help: 'Slurm account (sbatch --account)' },
  time: { type: 'string', help: 'time limit per shard, e.g. 01:00:00' },
  'cpus-per-task': { type: 'int', min: 1, example: 2, default: 1, help: 'CPUs per shard; also ptlab run --jobs' },
  mem: { type: 'string', help: 'memory per shard, e.g. 4G' },
  ptlab: { type: 'string', help: 'command that runs ptlab on the nodes (default: this node binary and CLI)' },
  submit: { type: 'boolean', help: 'submit at once (runs submit.sh)' },
});

export async function main(argv: string[]): Promise<number> {
  const p = parseCommand(SWEEP, argv);
  const v = p.values;
  if (p.positionals.length !== 1) throw new CliError(`sweep: give exactly one spec file; usage: ptlab sweep ${SWEEP.synopsis}`);
  const shards = v.slurm;
  if (shards === undefined) throw new CliError('sweep: --slurm N is required (the number of shards, one Slurm array task each), e.g. --slurm 4');
  const cpusPerTask = v['cpus-per-task'];
  if (typeof v.time === 'string' && !/^(\d+-)?\d+(:\d{2}){0,2}$/.test(v.time)) throw new CliError(`sweep: --time "${v.time}" is not a Slurm time; use e.g. --time 01:30:00 or --time 2-00:00:00`);
  if (typeof v.mem === 'string' && !/^\d+[KMGT]?$/.test(v.mem)) throw new CliError(`sweep: --mem "${v.mem}" is not a Slurm memory size; use e.g. --mem 4G`);
  const spec = readSpecFile(p.positionals[0]);
  const r = validateSpec(spec.raw, { baseDir: spec.baseDir, source: p.positionals[0] });
  if (!r.ok) throw new CliError(formatIssues(r.issues, p.positionals[0]), 1);
  const runs = runIds(r.spec).length;
  const slug = r.spec.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'sweep';
  const out = path.resolve(v.out ?? `ptlab-sweep-${slug}`);
  const ptlab = v.ptlab ?? `${shq(process.execPath)} ${shq(path.join(__dirname, 'main.js'))}`;
  const files = slurmScripts({ specFile: spec.file, out, shards, cpusPerTask, ptlab, jobName: `ptlab-${slug}`, partition: v.partition, account: v.account, time: v.time, mem: v.mem });
  const dir = path.join(out, 'slurm');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text, { mode: name.endsWith('.sh') ? 0o755 : 0o644 });
  if (shards > runs) process.stderr.write(`note: ${shards} shards for ${runs} run(s); ${shards - runs} shard(s) will have nothing to do\n`);
  process.stdout.write(`wrote ${dir}/{shards.sbatch,merge.sbatch,submit.sh}: ${runs} run(s) in ${shards} shard(s)\nsubmit with: sh ${path.join(dir, 'submit.sh')}\nmerged results will be in ${path.join(out, 'merged')}\n`);
  if (v.submit) {
    const s = spawnSync('sh', [path.join(dir, 'submit.sh')], { stdio: 'inherit' });
    if (s.error) throw new CliError(`sweep: cannot run submit.sh (${s.error.message}); is Slurm's sbatch on PATH?`, 1);
    return s.status ?? 1;
  }
  return 0;
}

export interface SlurmOptions {
  specFile: string;
  out: string;
  shards: number;
  cpusPerTask: number;
  ptlab: string;
  jobName: string;
  partition?: string;
  account?: string;
  time?: string;
  mem?: string;
}

/** The three files, by name. Paths are absolute so the jobs can start in any directory. */
export function slurmScripts(o: SlurmOptions): Record<string, string> {
  const common = [
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(o.account ? [`#SBATCH --account=${o.account}`] : []),
  ];
  const slurmDir = path.join(o.out, 'slurm');
  const shardDir = path.join(o.out, 'shards');
  const shardsSbatch = [
    '#!/bin/bash',
    `#SBATCH --job-name=${o.jobName}`,
    `#SBATCH --array=1-${o.shards}`,
    `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
    `#SBATCH --output=${slurmDir}/shard-%a.out`,
    ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ...(o.mem ? [`#SBATCH --mem=${o.mem}`] : []),
    ...common,
    '# One shard of the sweep per array task; --resume continues a requeued task.',
    'set -euo pipefail',
    `exec ${o.ptlab} run ${shq(o.specFile)} --shard "$SLURM_ARRAY_TASK_ID/${o.shards}" --out ${shq(shardDir)}/"$SLURM_ARRAY_TASK_ID" --resume --jobs "\${SLURM_CPUS_PER_TASK:-1}" --quiet`,
    '',
  ].join('\n');
  const dirs = Array.from({ length: o.shards }, (_, i) => shq(path.join(shardDir, String(i + 1)))).join(' ');
  const mergeSbatch = [
    '#!/bin/bash',
    `#SBATCH --job-name=${o.jobName}-merge`,
    '#SBATCH --cpus-per-task=1',
    `#SBATCH --output=${slurmDir}/merge.out`,
    ...common,
    '# Runs after every shard succeeded (submitted with --dependency=afterok:<array job id>).',
    'set -euo pipefail',
    `exec ${o.ptlab} merge ${dirs} --out ${shq(path.join(o.out, 'merged'))}`,
    '',
  ].join('\n');
  const submit = [
    '#!/bin/sh',
    'set -eu',
    `array=$(sbatch --parsable ${shq(path.join(slurmDir, 'shards.sbatch'))})`,
    'array=${array%%;*}',
    `merge=$(sbatch --parsable --dependency=afterok:"$array" ${shq(path.join(slurmDir, 'merge.sbatch'))})`,
    'merge=${merge%%;*}',
    'echo "shards: job $array; merge: job $merge"',
    `echo "$array" > ${shq(path.join(slurmDir, 'array.jobid'))}`,
    `echo "$merge" > ${shq(path.join(slurmDir, 'merge.jobid'))}`,
    '',
  ].join('\n');
  return { 'shards.sbatch': shardsSbatch, 'merge.sbatch': mergeSbatch, 'submit.sh': submit };
}

/** Single-quotes a word for sh. */
function shq(s: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
