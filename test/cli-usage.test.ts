/**
 * Every usage error, through the entry point a user types (`npx ptlab`, which runs bin/ptlab.js)
 * and through `node dist/src/cli/main.js`: one line on stderr starting "ptlab: ", exit 2, nothing
 * on stdout, no stack trace. Then --version, help for one command, and `list`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { VERSION } from '../src/version';
import { listVariants } from '../src/kernel/variants';
import { listProfiles } from '../src/cost/registry';
import { OPS } from '../src/lab/spec';

const ROOT = path.join(__dirname, '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-usage-'));
const spec = path.join(tmp, 'ok.json');
fs.writeFileSync(spec, JSON.stringify({ name: 'x', machine: { cpu: 'skylake-sp' }, kernel: 'linux-6.18', steps: [{ op: 'mmap', region: 'h', size: '64KiB' }] }));

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Out> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 120_000, env: { ...process.env, npm_config_yes: 'false' } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
const npx = (args: string[]) => run('npx', ['--no-install', 'ptlab', ...args]);
const node = (args: string[]) => run(process.execPath, [MAIN, ...args]);

/** argv, and what the one line must say */
const USAGE_ERRORS: [string[], RegExp][] = [
  [[], /give a command; commands: start, run, /],
  [['frobnicate'], /unknown command "frobnicate"; commands: /],
  [['rn'], /unknown command "rn" \(did you mean "run"\?\)/],
  [['run'], /run: give the spec file; usage: ptlab run SPEC\.json/],
  [['run', spec, spec], /run: one spec file at a time \(got 2\)/],
  [['run', spec, '--jobs', '0'], /run: --jobs "0" is not a positive integer; use e\.g\. --jobs 2/],
  [['run', spec, '--jobs'], /run: --jobs needs a value/],
  [['run', spec, '--bogus'], /run: unknown option "--bogus"; valid options: --json/],
  [['run', spec, '--shard', '5/2'], /run: --shard "5\/2": i must be between 1 and N/],
  [['validate'], /validate: give exactly one spec file/],
  [['validate', '--bogus'], /validate: unknown option "--bogus"/],
  [['merge'], /merge: --out DIR is required/],
  [['sweep'], /sweep: give exactly one spec file/],
  [['sweep', spec, '--slurm', '0'], /sweep: --slurm "0" is not a positive integer/],
  [['report'], /report: RESULTS_DIR is required/],
  [['report', '--bogus'], /report: unknown option "--bogus"; valid options: --out VALUE/],
  [['calibrate', '--bogus'], /calibrate: unknown option "--bogus"; valid options: --check, /],
  [['calibrate', '--reps', '0'], /calibrate: --reps "0" is not an integer from 1 to 64; use e\.g\. --reps 7/],
  [['kernel'], /kernel: say install, list or remove; usage: ptlab kernel install/],
  [['kernel', 'frob'], /kernel: unknown subcommand "frob"; say install, list or remove/],
  [['replay'], /usage: ptlab replay SPEC\.json --native/],
  [['replay', spec], /replay runs a spec on this machine's kernel and needs --native/],
  [['diff'], /usage: ptlab diff SPEC\.json/],
  [['diff', '--bogus'], /diff: unknown option "--bogus"; valid options: --variant VALUE/],
  [['trace'], /trace: say capture or stats/],
  [['trace', 'frob'], /trace: unknown subcommand "frob"/],
  [['trace', 'stats'], /trace stats: give exactly one trace file/],
  [['list'], /list: say what to list; usage: ptlab list kernels\|cpus\|ops/],
  [['list', 'kernel'], /list: cannot list "kernel" \(did you mean "kernels"\?\)/],
  [['start', '--bogus'], /start: unknown option "--bogus"; valid options: --out VALUE/],
  [['start', '--jobs', '0'], /start: --jobs "0" is not a positive integer/],
  [['start', '--jbos', '2'], /start: unknown option "--jbos"; valid options: --out VALUE, .*, --help; did you mean "--jobs"\?$/],
  [['report', 'a', 'b'], /report: one RESULTS_DIR only \(got "a" and "b"\)/],
  [['kernel', 'install', '--frob'], /kernel install: unknown option "--frob"; valid options: --user, --system, --prefix VALUE, --node VALUE/],
  [['diff', spec, '--variant'], /diff: --variant needs a value/],
  [['replay', spec, '--native', '--time', '--reps', 'x'], /replay: --reps "x" is not an integer from 1 to 1000; use e\.g\. --reps /],
  [['replay', spec, '--native', '--others', 'idle'], /replay: --others must be "busy" or "as-is", not "idle"/],
  [['run', spec, '--json=yes'], /run: --json takes no value/],
];

/** Run `jobs` at a time (2 cores are shared with other work). */
async function pooled<T, R>(items: readonly T[], jobs: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]);
      }
    }),
  );
  return out;
}

function assertUsageError(argv: string[], want: RegExp, r: Out, via: string): void {
  const what = `${via} ptlab ${argv.join(' ')}`;
  assert.equal(r.code, 2, `${what}: exit ${r.code}, stderr ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${what}: one line, got:\n${r.stderr}`);
  assert.match(lines[0], /^ptlab: /, what);
  assert.match(lines[0], want, what);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, `${what}: no stack trace`);
}

test('every usage error through `npx ptlab` is one line on stderr with exit 2', { timeout: 600_000 }, async () => {
  const results = await pooled(USAGE_ERRORS, 3, ([argv]) => npx(argv));
  USAGE_ERRORS.forEach(([argv, want], i) => assertUsageError(argv, want, results[i], 'npx'));
});

test('the same through `node dist/src/cli/main.js`', { timeout: 600_000 }, async () => {
  const results = await pooled(USAGE_ERRORS, 3, ([argv]) => node(argv));
  USAGE_ERRORS.forEach(([argv, want], i) => assertUsageError(argv, want, results[i], 'node main.js'));
});

test('replay and diff refuse a spec file with the lab reader\'s one line naming the file, timed or not (exit 2)', { timeout: 300_000 }, async () => {
  const bad = path.join(tmp, 'bad-op.json');
  fs.writeFileSync(bad, JSON.stringify({ name: 'x', machine: { cpu: 'skylake-sp' }, kernel: 'linux-6.18', steps: [{ op: 'tuoch', region: 'h' }] }));
  const missing = path.join(tmp, 'missing.json');
  const invalid = /bad-op\.json: invalid experiment spec \(1 problem\); steps\[0\]\.op: "tuoch" is not an op \(did you mean "touch"\?\)/;
  const cases: [string[], RegExp][] = [
    [['replay', bad, '--native'], invalid],
    [['replay', bad, '--native', '--time'], invalid],
    [['replay', bad, '--native', '--time', '--compare'], invalid],
    [['diff', bad], invalid],
    [['replay', missing, '--native', '--time'], /missing\.json: no such file; give the path of an experiment spec/],
    [['diff', missing], /missing\.json: no such file; give the path of an experiment spec/],
  ];
  const results = await pooled(cases, 3, ([argv]) => node(argv));
  cases.forEach(([argv, want], i) => assertUsageError(argv, want, results[i], 'node main.js'));
});

test('--version, help run, list kernels|cpus|ops', { timeout: 300_000 }, async () => {
  const [version, v2, helpRun, helpList, kernels, cpus, ops] = await pooled(
    [['--version'], ['-V'], ['help', 'run'], ['help', 'list'], ['list', 'kernels'], ['list', 'cpus'], ['list', 'ops']],
    3,
    (argv) => npx(argv),
  );
  assert.equal(version.stdout, `ptlab ${VERSION}\n`);
  assert.equal(version.code, 0);
  assert.equal(v2.stdout, version.stdout);
  assert.equal(helpRun.code, 0);
  assert.match(helpRun.stdout, /^usage: ptlab run SPEC\.json/);
  assert.match(helpRun.stdout, /--jobs VALUE/);
  assert.doesNotMatch(helpRun.stdout, /commands:/, 'the command\'s help, not the global one');
  assert.match(helpList.stdout, /^usage: ptlab list kernels\|cpus\|ops/);
  const names = (out: Out) => out.stdout.trimEnd().split('\n').map((l) => l.split(/\s+/)[0]);
  assert.deepEqual(names(kernels), listVariants());
  assert.deepEqual(names(cpus), listProfiles());
  assert.deepEqual(names(ops), [...OPS]);
  for (const l of ops.stdout.trimEnd().split('\n')) assert.match(l, /^\S+\s+\S/, 'each op line names its fields');
  assert.match(kernels.stdout, /^linux-6\.18\s+Linux 6\.18/m);
});

test('ptlab help <cmd> prints every command\'s usage and options, written from its flag table', { timeout: 300_000 }, async () => {
  const all = await node(['--help']);
  const cmds = [...all.stdout.matchAll(/^  (\w+) /gm)].map((m) => m[1]).filter((c) => c !== 'help');
  assert.ok(cmds.length >= 12, all.stdout);
  const helps = await pooled(cmds, 3, (c) => node(['help', c]));
  cmds.forEach((c, i) => {
    const h = helps[i];
    assert.equal(h.code, 0, `help ${c}: ${h.stderr}`);
    assert.equal(h.stderr, '');
    assert.match(h.stdout, new RegExp(`^usage: ptlab ${c} `), `help ${c}`);
    assert.match(h.stdout, /^options:\n/m, `help ${c}: an options section`);
    assert.match(h.stdout, /^  -h, --help {2,}show this help$/m, `help ${c}: the flags come from the table`);
  });
});

test('bad JSON names line and column, also where V8 gives no position', async () => {
  const f = path.join(tmp, 'comma.json');
  fs.writeFileSync(f, '{\n  "name": "x",\n  "steps": [,]\n}\n');
  const r = await node(['validate', f]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /comma\.json: not valid JSON: unexpected "," at line 3, column 13; specs are plain JSON/);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1);
});
