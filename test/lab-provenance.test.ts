/**
 * Saved results carry what they were run with: the CPU profiles (sourced definitions) and the
 * kernel variants (values). Reloaded, they run again bit for bit even after the registries
 * changed, and `ptlab report` lists the profile sources and the variants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { extendProfile } from '../src/cost/profile';
import { getProfile, registerProfile } from '../src/cost/registry';
import { deriveVariant } from '../src/kernel/variant';
import { getVariant } from '../src/kernel/variants';
import { lab } from '../src/lab/index';
import { ResultSet } from '../src/lab/resultset';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-prov-'));
const slower = (cycles: number) =>
  extendProfile(getProfile('skylake-sp'), { costs: { pageFault: { cycles, source: `test: page fault at ${cycles} cycles`, kind: 'estimate' } } }, 'prov-test-cpu');

test('a saved ResultSet holds its profiles and variants; reloaded, it re-runs bit for bit after the registry changed', async () => {
  registerProfile(slower(1500));
  const what = deriveVariant(getVariant('linux-6.2'), { name: 'prov-what-if', mkdirtyOnMkwrite: true });
  const dir = tmp();
  const first = await lab.experiment('provenance').machine('prov-test-cpu', { cpus: 2 }).kernel('linux-6.18', what).seed([1, 2])
    .mmap('h', '256KiB').touch('h', 'write').mprotect('h', 'r').mprotect('h', 'rw').touch('h', 'rw', { pattern: 'zipf', count: 5000 })
    .run({ outDir: dir, jobs: 2 });
  const saved = JSON.parse(fs.readFileSync(path.join(dir, 'profiles.json'), 'utf8'));
  assert.equal(saved['prov-test-cpu'].costs.pageFault.cycles, 1500);
  assert.equal(saved['prov-test-cpu'].costs.pageFault.source, 'test: page fault at 1500 cycles');
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, 'variants.json'), 'utf8'))['prov-what-if'], { name: 'prov-what-if', base: 'linux-6.2', overrides: { basedOn: 'linux-6.2', description: what.description, mkdirtyOnMkwrite: true } });
  // the registry now prices faults differently; the saved profile still rules the re-run
  registerProfile(slower(9000));
  const back = ResultSet.load(dir);
  const again = await back.rerun();
  assert.equal(JSON.stringify(again.toJSON()), JSON.stringify(first.toJSON()));
  assert.equal(JSON.stringify(again.toJSON()), JSON.stringify(back.toJSON()));
  const today = await lab.fromSpec(back.spec as never).run({ variants: [what] });
  assert.notEqual(today.runs[0].total.cycles.total, first.runs[0].total.cycles.total, 'today\'s registry prices faults at 9000');
});

test('ptlab report lists the profile sources and the variants of saved results', () => {
  const dir = tmp();
  const spec = {
    name: 'report provenance',
    machine: { cpu: 'zen3', virtualized: true },
    kernel: ['linux-6.18', { name: 'no-zero-page', base: 'linux-6.18', overrides: { mmForbidsZeropage: true } }],
    steps: [{ op: 'mmap', region: 'h', size: '64KiB' }, { op: 'touch', region: 'h', access: 'read' }],
  };
  fs.writeFileSync(path.join(dir, 'spec.json'), JSON.stringify(spec));
  const MAIN = path.join(__dirname, '..', 'src', 'cli', 'main.js');
  const r = spawnSync(process.execPath, [MAIN, 'run', path.join(dir, 'spec.json'), '--out', path.join(dir, 'out'), '--quiet'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rep = spawnSync(process.execPath, [MAIN, 'report', path.join(dir, 'out')], { encoding: 'utf8' });
  assert.equal(rep.status, 0, rep.stderr);
  const html = fs.readFileSync(path.join(dir, 'out', 'report.html'), 'utf8');
  assert.match(html, /<h3>CPU profile sources<\/h3>/);
  assert.match(html, /virtualized x[\d.]+/, 'the virtualized prices, with the reason they were scaled');
  assert.match(html, /<h3>Kernel variants<\/h3>[\s\S]*no-zero-page[\s\S]*mmForbidsZeropage/);
});
