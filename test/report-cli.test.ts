import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/report';
import { CliError } from '../src/args/cli-error';
import { fixtureResults } from './helpers/notebook-fixtures';

function silently<T>(fn: () => Promise<T>): Promise<T> {
  const orig = process.stdout.write.bind(process.stdout);
  (process.stdout as { write: unknown }).write = () => true;
  return fn().finally(() => {
    (process.stdout as { write: unknown }).write = orig;
  });
}

test('ptlab report DIR writes DIR/report.html from results.json, spec.json and profiles.json', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptlab-cli-report-'));
  try {
    writeFileSync(join(dir, 'results.json'), JSON.stringify(fixtureResults()));
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'from spec', seed: 1, steps: [] }));
    writeFileSync(join(dir, 'profiles.json'), JSON.stringify({ name: 'skylake-sp', costs: { ipi: { cycles: 1200, source: 'published: somewhere', kind: 'published' } } }));
    const code = await silently(() => main([dir]));
    assert.equal(code, 0);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    assert.match(html, /<title>from spec<\/title>/);
    assert.match(html, /published: somewhere/);
    const out = join(dir, 'custom.html');
    assert.equal(await silently(() => main([dir, '--out', out, '--title', 'T', '--baseline', 'rfc-2022-uffd-hints'])), 0);
    assert.ok(existsSync(out));
    assert.match(readFileSync(out, 'utf8'), /Overhead vs rfc-2022-uffd-hints/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ptlab report: missing or malformed input is a CliError naming the file, field and fix', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptlab-cli-report-'));
  try {
    await assert.rejects(main([]), (e: unknown) => e instanceof CliError && /RESULTS_DIR is required/.test(e.message));
    await assert.rejects(main([join(dir, 'nope')]), (e: unknown) => e instanceof CliError && /does not exist; run `ptlab run SPEC\.json --out/.test(e.message));
    await assert.rejects(main([dir]), (e: unknown) => e instanceof CliError && /results\.json not found/.test(e.message));
    writeFileSync(join(dir, 'results.json'), '{not json');
    await assert.rejects(main([dir]), (e: unknown) => e instanceof CliError && /results\.json is not valid JSON/.test(e.message));
    const bad = fixtureResults() as unknown as { runs: Array<{ total: { cycles: { total: unknown } } }> };
    bad.runs[0].total.cycles.total = 'many';
    writeFileSync(join(dir, 'results.json'), JSON.stringify(bad));
    await assert.rejects(main([dir]), (e: unknown) => e instanceof CliError && /runs\.0\.total\.cycles\.total: /.test(e.message) && !/\n\s+at /.test(e.message));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(fixtureResults()));
    await assert.rejects(main([dir, '--baseline', 'linux-9']), (e: unknown) => e instanceof CliError && /--baseline "linux-9" is not a variant/.test(e.message));
    await assert.rejects(main([dir, '--frobnicate']), (e: unknown) => e instanceof CliError && /unknown option "--frobnicate"/.test(e.message));
    await assert.rejects(main([dir, '--out']), (e: unknown) => e instanceof CliError && /--out needs a value/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
