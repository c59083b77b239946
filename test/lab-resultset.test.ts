import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ResultSet, type Provenance } from '../src/lab/resultset';
import { getProfile } from '../src/cost/registry';
import { runSync } from '../src/lab/runner';
import { simulateRun as toy } from './helpers/toy-simulate';
import { summarize } from '../src/lab/stats';
import { VERSION } from '../src/version';

const spec = {
  name: 'rs',
  machine: { cpu: 'skylake-sp', cpus: 2 },
  kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
  seed: [1, 2, 3],
  steps: [
    { op: 'mmap', region: 'heap', size: '256KiB' },
    { op: 'touch', region: 'heap', access: 'rw', writeRatio: 0.5, pattern: 'random', count: 50 },
  ],
};
const rs = runSync(spec, { simulate: toy, registries: false });

test('tidy rows: one per run x step x metric, total as step -1', () => {
  const rows = rs.tidy();
  const perStep = rows.filter((r) => r.run === rs.runs[0].id && r.step === 1).map((r) => r.metric);
  for (const m of ['cycles.total', 'faults.total', 'tlb.hits', 'tlb.misses', 'walks', 'aBitSets', 'dBitSets', 'tlbFlushes', 'ipis', 'dirtyPages', 'writebackPages']) assert.ok(perStep.includes(m), m);
  assert.ok(perStep.some((m) => m.startsWith('faults.byKind.')));
  assert.ok(!perStep.some((m) => m.startsWith('events.')), 'raw events only on request');
  const totals = rs.rows({ step: 'total', metric: 'cycles.total' });
  assert.equal(totals.length, 6);
  assert.ok(totals.every((r) => r.op === 'total' && r.step === -1));
});

test('summaries: mean and 95% CI over seeds per variant', () => {
  const s = rs.summarize({ metric: 'faults.total', step: 'total' });
  assert.equal(s.length, 2);
  for (const row of s) {
    const values = rs.where({ variant: row.variant }).runs.map((r) => r.total.counters.faults.total);
    assert.deepEqual({ ...row, variant: undefined, cpu: undefined, params: undefined, step: undefined, op: undefined, metric: undefined, group: undefined }, { ...summarize(values), variant: undefined, cpu: undefined, params: undefined, step: undefined, op: undefined, metric: undefined, group: undefined });
    assert.equal(row.n, 3);
  }
  const byVariant = rs.groupBy(['variant'], rs.metric('cycles.total', { step: 'total' }));
  assert.equal(byVariant.size, 2);
});

test('CSV: header, quoting, one line per tidy row', () => {
  const csv = rs.toCSV().trimEnd().split('\n');
  assert.equal(csv[0], 'run,name,variant,cpu,seed,repeat,step,op,metric,value');
  assert.equal(csv.length, rs.tidy().length + 1);
  const q = new ResultSet([{ ...rs.runs[0], name: 'a, "b"' }]).toCSV().split('\n')[1];
  assert.match(q, /,"a, ""b""",/);
});

test('save/load round-trips results, spec, meta and provenance', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-rs-'));
  const provenance: Provenance = { profiles: { 'skylake-sp': getProfile('skylake-sp').definition }, variants: { 'linux-6.18': { name: 'linux-6.18', base: 'linux-6.18', overrides: {} } } };
  new ResultSet(rs.runs, rs.spec, rs.meta, provenance).save(dir);
  const back = ResultSet.load(dir);
  assert.deepEqual(back.toJSON(), rs.toJSON());
  assert.deepEqual(back.spec, spec);
  assert.deepEqual(back.provenance, JSON.parse(JSON.stringify(provenance)));
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  assert.equal(meta.ptlab, VERSION);
  assert.deepEqual(meta.seeds, [1, 2, 3]);
  assert.equal(meta.node, process.version);
  assert.ok(!Number.isNaN(Date.parse(meta.date)));
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'results.json'), 'utf8')).ptlab, { version: VERSION });
});

test('merge refuses conflicting duplicates', () => {
  const changed = { ...rs.runs[0], total: { ...rs.runs[0].total, cycles: { total: 1, byEvent: {} } } };
  assert.throws(() => ResultSet.merge([rs, new ResultSet([changed])]), /appears twice with different results/);
  assert.equal(ResultSet.merge([rs, rs]).length, rs.length);
});

// Last in this file: it loads src/index, which gives ResultSet its views for the rest of the process.
test("results draw with the notebook layer's views: src/lab alone says what is missing, 'ptlab' hands them over", () => {
  const { inspect } = require('node:util') as typeof import('node:util');
  for (const call of [() => rs.chart('cycles'), () => rs.summary(), () => rs.frame(), () => rs.show()]) {
    assert.throws(call, /^Error: results\.\w+\(\) is drawn by ptlab's notebook layer, which was not loaded: import from 'ptlab'/);
  }
  assert.equal(inspect(rs), 'ResultSet: 6 run(s)');
  require('../src/index');
  assert.match(rs.chart('cycles').summary(), /cycle/i);
  assert.equal(rs.summary().rows.length > 0, true);
  assert.match(inspect(rs), /^ResultSet "rs": 6 run\(s\)/);
});
