import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run, runSync, RunCancelledError, RunFailedError, RunnerError, type SimulateFn } from '../src/lab/runner';
import { ResultSet } from '../src/lab/resultset';
import { simulateRun as toySimulate } from './helpers/toy-simulate';
import { RUNS_DIR } from '../src/lab/run-store';

const TOY = path.join(__dirname, 'helpers', 'toy-simulate.js');

function spec(seeds = [1, 2, 3, 4]) {
  return {
    name: 'runner',
    machine: { cpu: 'skylake-sp', cpus: 2 },
    kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
    steps: [
      { op: 'mmap', region: 'heap', size: '1MiB' },
      { op: 'touch', region: 'heap', access: 'rw', writeRatio: '$wr', pattern: 'zipf', count: 20000, threads: 2 },
      { op: 'inspect', region: 'heap', pages: [0, 1] },
    ],
    sweep: { seed: seeds, wr: [0.1, 0.5] },
    sampleEvery: 5000,
  };
}
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-runner-'));

test('jobs 1 and jobs 2 give identical results, in plan order', async () => {
  const a = await run(spec(), { jobs: 1, simulateModule: TOY, registries: false });
  const b = await run(spec(), { jobs: 2, simulateModule: TOY, registries: false });
  assert.equal(a.length, 16);
  assert.deepEqual(b.toJSON(), a.toJSON());
  assert.deepEqual(runSync(spec(), { simulate: toySimulate, registries: false }).toJSON(), a.toJSON());
  assert.equal(a.runs[0].id, 'linux-6.18|skylake-sp|seed=1|r=0|wr=0.1');
  assert.ok(a.runs[0].steps[1].series && a.runs[0].steps[1].series.length === 4, 'sampleEvery reaches simulate');
});

test('in-process runs report progress inside a run', () => {
  const seen = new Set<string>();
  runSync(spec([1]), { simulate: toySimulate, registries: false, onRunProgress: (plan, done, total) => (assert.ok(done <= total), seen.add(plan.id)) });
  assert.equal(seen.size, 4);
});

test('progress is reported once per run', async () => {
  const seen: number[] = [];
  await run(spec([1, 2]), { jobs: 2, simulateModule: TOY, registries: false, onProgress: (p) => seen.push(p.done) });
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('cancellation keeps finished runs; resume finishes without redoing them', async () => {
  const out = tmp();
  const ac = new AbortController();
  const calls: string[] = [];
  const counting: SimulateFn = (plan, o) => {
    calls.push(plan.id);
    if (calls.length === 5) ac.abort();
    return toySimulate(plan, o);
  };
  await assert.rejects(run(spec(), { simulate: counting, registries: false, outDir: out, signal: ac.signal }), (e: unknown) => {
    assert.ok(e instanceof RunCancelledError);
    assert.equal(e.partial.length, 5);
    return true;
  });
  assert.equal(fs.readdirSync(path.join(out, RUNS_DIR)).length, 5, 'each finished run was saved at once');
  // a new run into the same dir without --resume is refused, naming the fix
  await assert.rejects(run(spec(), { simulate: counting, registries: false, outDir: out }), (e: unknown) => e instanceof RunnerError && /pass --resume/.test(e.message));
  calls.length = 0;
  const resumed = await run(spec(), { simulate: counting, registries: false, outDir: out, resume: true });
  assert.equal(calls.length, 11, 'only the missing runs ran');
  const fresh = await run(spec(), { simulate: toySimulate, registries: false });
  assert.deepEqual(resumed.toJSON(), fresh.toJSON());
  assert.deepEqual(ResultSet.load(out).toJSON(), fresh.toJSON());
});

test('cancelling a worker pool keeps what finished', async () => {
  const ac = new AbortController();
  let n = 0;
  const p = run(spec(), { jobs: 2, simulateModule: TOY, registries: false, signal: ac.signal, onProgress: () => ++n === 3 && ac.abort() });
  await assert.rejects(p, (e: unknown) => e instanceof RunCancelledError && e.partial.length >= 3 && e.partial.length < 16);
});

test('an output dir of another spec is refused', async () => {
  const out = tmp();
  await run(spec([1]), { simulate: toySimulate, registries: false, outDir: out });
  await assert.rejects(run(spec([2]), { simulate: toySimulate, registries: false, outDir: out, resume: true }), /holds results of a different spec/);
});

test('a failing run rejects with its id and keeps the others', async () => {
  const failing: SimulateFn = (plan, o) => {
    if (plan.seed === 3) throw new Error('boom');
    return toySimulate(plan, o);
  };
  await assert.rejects(run(spec(), { simulate: failing, registries: false }), (e: unknown) => e instanceof RunFailedError && /seed=3/.test(e.runId) && e.reason === 'boom' && e.partial.length === 4);
});

test('invalid specs reject before anything runs', async () => {
  let called = false;
  const s = spec();
  (s.steps[0] as { size: string }).size = '1MB';
  await assert.rejects(run(s, { simulate: () => ((called = true), null as never), registries: false }), /steps\[0\]\.size: "1MB" is not a size/);
  assert.equal(called, false);
});

test('shards: each runs its slice; merged they equal the whole', async () => {
  const whole = await run(spec(), { simulate: toySimulate, registries: false });
  const parts = [];
  for (let i = 1; i <= 3; i++) parts.push(await run(spec(), { simulate: toySimulate, registries: false, shard: { index: i, count: 3 } }));
  assert.deepEqual(parts.map((p) => p.length), [6, 5, 5]);
  assert.deepEqual(ResultSet.merge(parts, whole.runs.map((r) => r.id)).toJSON(), whole.toJSON());
});
