/**
 * Guards and progress: a run above the limits (src/lab/estimate.ts RUN_LIMITS) is refused at
 * validation with the estimate in the message; --allow-large lets it start, it reports progress
 * inside the run on stderr, and Ctrl-C ends it promptly. The access estimate is exact for touch
 * steps (checked against real runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lab } from '../src/lab/index';
import { estimateRuns, RUN_LIMITS } from '../src/lab/estimate';
import { runSync } from '../src/lab/runner';
import { SpecError } from '../src/lab/spec-issues';
import { compile } from '../src/lab/compile';

const BIN = path.join(__dirname, '..', '..', 'bin', 'ptlab.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-guards-'));
const TIB = { name: '1 TiB', machine: { cpu: 'skylake-sp' }, kernel: 'linux-6.18', steps: [{ op: 'mmap', region: 'big', size: '1TiB' }, { op: 'touch', region: 'big', access: 'write' }] };
const tibFile = path.join(dir, 'tib.json');
fs.writeFileSync(tibFile, JSON.stringify(TIB));

test('a 1 TiB region with a full touch is refused at validation, with the estimate and the override in the message', () => {
  const r = spawnSync(process.execPath, [BIN, 'validate', tibFile], { encoding: 'utf8' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /too large to run: 24\.0 GiB of model state per run \(limit 4\.00 GiB\)/);
  assert.match(r.stderr, /268 M simulated accesses per run/);
  assert.match(r.stderr, /pass --allow-large/);
  const ok = spawnSync(process.execPath, [BIN, 'validate', tibFile, '--allow-large'], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /ok, 1 run\(s\).*\n1 run\(s\); estimated up to 24\.0 GiB of model state and 268 M simulated accesses/);
  // the same from the API: the builder's estimate, and run() refusing without allowLarge
  const e = lab.experiment('1 TiB').machine('skylake-sp').kernel('linux-6.18').mmap('big', '1TiB').touch('big', 'write').estimate();
  assert.equal(e.accesses, 2 ** 28);
  assert.ok(e.memoryBytes > RUN_LIMITS.memoryBytes);
  assert.equal(e.over.length, 1);
  assert.throws(() => runSync(TIB), (err: unknown) => err instanceof SpecError && /too large to run/.test(err.message));
  // count: 1e12 is refused on accesses
  const many = estimateRuns(compile({ ...TIB, steps: [{ op: 'mmap', region: 'h', size: '16MiB' }, { op: 'touch', region: 'h', access: 'rw', pattern: 'random', count: 1e12 }] }));
  assert.match(many.over.join(), /^1\.00 T simulated accesses per run \(limit 10\.0 G\)$/);
});

test('--allow-large starts the run, progress appears on stderr, and Ctrl-C stops it promptly', { timeout: 120_000 }, async () => {
  const child = spawn(process.execPath, [BIN, 'run', tibFile, '--allow-large'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const progress = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no progress within 60 s; stderr: ${err}`)), 60_000);
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /run linux-6\.18\|[^:]+: [\d.]+ [kMG] \/ 268\.4 M accesses, [\d.]+ [kMG]\/s, ETA \d+m\d\ds/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before progress: ${err}`)));
  });
  assert.ok(progress);
  const t0 = Date.now();
  child.kill('SIGINT');
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  assert.equal(signal, 'SIGINT');
  assert.ok(Date.now() - t0 < 5000, `stopped ${Date.now() - t0} ms after Ctrl-C`);
});

test('the access estimate is what the run does, for touch steps with and without counts and page selections', () => {
  const specs = [
    lab.experiment('a').machine('skylake-sp').kernel('linux-6.18').mmap('h', '1MiB').touch('h', 'write').touch('h', 'read', { pages: [1, 5, 9] }),
    lab.experiment('b').machine('skylake-sp').kernel('linux-6.18').mmap('h', '1MiB').touch('h', 'rw', { pattern: 'random', count: 5000 }).touch('h', 'write', { pages: { from: 10, count: 20 } }),
  ];
  for (const x of specs) {
    const e = x.estimate();
    const r = x.runSync();
    assert.equal(e.accesses, r.runs[0].total.counters.accesses, x.toSpec().name);
  }
});
