import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { toyCliEnv } from './helpers/toy-cli';

const MAIN = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-cli-'));

function ptlab(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', env: toyCliEnv() });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const SPEC = {
  name: 'cli sweep',
  machine: { cpu: 'skylake-sp', cpus: 2 },
  kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
  steps: [
    { op: 'mmap', region: 'heap', size: '512KiB' },
    { op: 'touch', region: 'heap', access: 'rw', writeRatio: '$wr', pattern: 'random', count: 3000, threads: 2 },
  ],
  sweep: { seed: [1, 2, 3], wr: [0.2, 0.8] },
};
const specFile = path.join(dir, 'spec.json');
fs.writeFileSync(specFile, JSON.stringify(SPEC));
// The CLI validates kernel/CPU names against this build's registries (when present): the names
// used here are DESIGN.md's, which those registries must know.

test('these tests\' ptlab children simulate with the toy (helpers/toy-cli), in the main thread and in workers', () => {
  for (const jobs of ['1', '2']) {
    const r = ptlab('run', specFile, '--json', '--jobs', jobs, '--quiet');
    assert.equal(r.code, 0, r.stderr);
    const runs = JSON.parse(r.stdout).runs as { total: { cycles: { byEvent: Record<string, number> } } }[];
    assert.deepEqual([...new Set(runs.map((x) => Object.keys(x.total.cycles.byEvent).join()))], ['toy'], `--jobs ${jobs}`);
  }
});

test('ptlab run --json: same results with --jobs 1 and --jobs 2', () => {
  const a = ptlab('run', specFile, '--json', '--jobs', '1', '--quiet');
  const b = ptlab('run', specFile, '--json', '--jobs', '2', '--quiet');
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const ja = JSON.parse(a.stdout);
  assert.equal(ja.runs.length, 12);
  assert.deepEqual(JSON.parse(b.stdout), ja);
});

test('--shard slices merged equal the unsharded run', () => {
  const whole = ptlab('run', specFile, '--json', '--quiet');
  const dirs: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const out = path.join(dir, `shard-${i}`);
    dirs.push(out);
    const r = ptlab('run', specFile, '--shard', `${i}/5`, '--out', out, '--quiet');
    assert.equal(r.code, 0, r.stderr);
  }
  const merged = path.join(dir, 'merged');
  const m = ptlab('merge', ...dirs, '--out', merged);
  assert.equal(m.code, 0, m.stderr);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(merged, 'results.json'), 'utf8')), JSON.parse(whole.stdout));
  // a missing shard is reported (exit 1) unless allowed
  const partial = ptlab('merge', ...dirs.slice(1), '--out', path.join(dir, 'partial'));
  assert.equal(partial.code, 1);
  assert.match(partial.stderr, /planned run\(s\) missing/);
});

test('progress goes to stderr, a table to stdout; --out saves the run dir', () => {
  const out = path.join(dir, 'run-out');
  const csv = path.join(dir, 'tidy.csv');
  const r = ptlab('run', specFile, '--out', out, '--csv', csv);
  assert.equal(r.code, 0, r.stderr);
  assert.match(fs.readFileSync(csv, 'utf8'), /^run,name,variant,cpu,seed,repeat,wr,step,op,metric,value\n/);
  assert.match(r.stderr, /^\[1\/12\] linux-6.18\|skylake-sp\|seed=1\|r=0\|wr=0.2/m);
  assert.match(r.stdout, /^run +cycles +faults +dirtyPages +tlbFlushes$/m);
  for (const f of ['spec.json', 'results.json', 'meta.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
  assert.equal(fs.readdirSync(path.join(out, 'runs')).length, 12);
  const again = ptlab('run', specFile, '--out', out, '--resume');
  assert.equal(again.code, 0);
  assert.equal((again.stderr.match(/\(resumed\)/g) ?? []).length, 12);
});

test('validate: ok summary, or every issue with exit 1', () => {
  const ok = ptlab('validate', specFile);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /ok, 12 run\(s\)/);
  const bad = path.join(dir, 'bad.json');
  fs.writeFileSync(bad, JSON.stringify({ ...SPEC, steps: [{ op: 'mmap', region: 'heap', size: '256MB' }, { op: 'tuoch', region: 'heap' }] }));
  const r = ptlab('validate', bad);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /steps\[0\]\.size: "256MB" is not a size; use e\.g\. "256MiB" or "4KiB"/);
  assert.match(r.stderr, /steps\[1\]\.op: "tuoch" is not an op/);
  assert.doesNotMatch(r.stderr, /\n    at /, 'no stack trace');
});

// [args, exit code, stderr pattern]: usage mistakes name the flag and the fix
const MISTAKES: [string[], number, RegExp][] = [
  [['run', specFile, '--jbos', '2'], 2, /unknown option "--jbos"; valid options: --json, --csv VALUE, --out VALUE, --jobs VALUE/],
  [['run', specFile, '--jobs', 'two'], 2, /--jobs "two" is not a positive integer; use e\.g\. --jobs 2/],
  [['run', specFile, '--jobs', '0'], 2, /--jobs "0" is not a positive integer/],
  [['run', specFile, '--shard', '3/2'], 2, /--shard "3\/2": i must be between 1 and N/],
  [['run', specFile, '--resume'], 2, /--resume needs --out DIR/],
  [['run', specFile, '--out'], 2, /--out needs a value/],
  [['run'], 2, /run: give the spec file/],
  [['run', path.join(dir, 'nope.json')], 1, /nope\.json: no such file/],
  [['run', specFile, '--json=yes'], 2, /--json takes no value/],
  [['merge', dir], 2, /merge: --out DIR is required/],
  [['sweep', specFile], 2, /--slurm N is required/],
  [['sweep', specFile, '--slurm', 'x'], 2, /--slurm "x" is not a positive integer/],
  [['sweep', specFile, '--slurm', '2', '--time', 'soon'], 2, /--time "soon" is not a Slurm time; use e\.g\. --time 01:30:00/],
];
for (const [args, code, re] of MISTAKES)
  test(`usage mistake: ptlab ${args.map((a) => (a === specFile ? 'SPEC' : path.basename(a))).join(' ')}`, () => {
    const r = ptlab(...args);
    assert.equal(r.code, code, r.stderr);
    assert.match(r.stderr, re);
    assert.doesNotMatch(r.stderr, /internal error|\n    at /);
  });

test('a JSON syntax error names line and column', () => {
  const f = path.join(dir, 'syntax.json');
  fs.writeFileSync(f, '{\n  "name": "x",\n  "seed": 1,\n}\n');
  const r = ptlab('validate', f);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /syntax\.json: not valid JSON: .* at line 4, column 1; specs are plain JSON/);
});

test('sweep writes an sbatch array, a merge job and a submit script chaining afterok', () => {
  const out = path.join(dir, 'sw');
  const r = ptlab('sweep', specFile, '--slurm', '3', '--out', out, '--partition', 'short', '--time', '00:10:00');
  assert.equal(r.code, 0, r.stderr);
  const shards = fs.readFileSync(path.join(out, 'slurm', 'shards.sbatch'), 'utf8');
  assert.match(shards, /^#SBATCH --array=1-3$/m);
  assert.match(shards, /^#SBATCH --partition=short$/m);
  assert.match(shards, /run .*spec\.json --shard "\$SLURM_ARRAY_TASK_ID\/3" --out .*shards\/"\$SLURM_ARRAY_TASK_ID" --resume/);
  const merge = fs.readFileSync(path.join(out, 'slurm', 'merge.sbatch'), 'utf8');
  assert.match(merge, /merge .*shards\/1 .*shards\/2 .*shards\/3 --out .*merged/);
  const submit = fs.readFileSync(path.join(out, 'slurm', 'submit.sh'), 'utf8');
  assert.match(submit, /sbatch --parsable --dependency=afterok:"\$array"/);
});

test('calibrate: bad --runs and --others values are clear errors naming the flag, before anything is measured', () => {
  for (const [args, msg] of [
    [['--check', '--runs', '0'], /--runs "0" is not an integer from 1 to 20/],
    [['--check', '--others', 'idle'], /--others must be "busy" or "as-is", not "idle"/],
    [['--check', '--runs'], /--runs needs a value/],
  ] as [string[], RegExp][]) {
    const r = ptlab('calibrate', ...args);
    assert.notEqual(r.code, 0, args.join(' '));
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
