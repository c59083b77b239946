import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderReport, writeReport } from '../src/report/html';
import { profileSourceRows } from '../src/report/profiles';
import { Chart } from '../src/notebook/chart';
import { pngSize } from '../src/notebook/render';
import type { ResultsJson } from '../src/lab/types';
import { fixtureResults, sweepResults } from './helpers/notebook-fixtures';

const EVIL = '</script><script>alert(1)</script>';

function evilResults(): ResultsJson {
  const r = fixtureResults();
  for (const run of r.runs) {
    run.name = EVIL;
    if (run.variant === 'rfc-2022-uffd-hints') run.variant = `${EVIL}<img src=x onerror=alert(2)>`;
    run.params.kernel = run.variant;
    for (const s of run.steps) s.op = s.op === 'inspect' ? `inspect${EVIL}` : s.op;
  }
  return r;
}

/** Every <script> element with its attributes and body. */
function scripts(html: string): Array<{ attrs: string; body: string }> {
  return [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)].map((m) => ({ attrs: m[1], body: m[2] }));
}

test('report: names cannot inject script, in HTML or inside the JSON blocks', async () => {
  const spec = { name: EVIL, seed: 1, kernel: ['linux-6.18', EVIL], steps: [{ op: 'touch', region: EVIL }] };
  const html = await renderReport(evilResults(), { spec, notes: `note ${EVIL}`, profiles: { name: EVIL, costs: { dBitSet: { cycles: 1, source: EVIL, kind: 'estimate' } } } });
  // only data blocks: no script element that a browser would execute
  const all = scripts(html);
  assert.ok(all.length >= 2);
  for (const s of all) {
    assert.match(s.attrs, /type="application\/json"/);
    assert.doesNotMatch(s.body, /</, 'JSON blocks escape < as \\u003c');
    JSON.parse(s.body); // still valid JSON
  }
  // the number of <script openings equals the number of JSON blocks we emitted
  assert.equal((html.match(/<script/gi) ?? []).length, all.length);
  assert.doesNotMatch(html, /<img src=x/i);
  assert.doesNotMatch(html, /onerror=alert\(2\)>/);
  assert.match(html, /&lt;\/script&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  // the spec block decodes to the spec, names intact
  const specBlock = all.find((s) => /id="ptlab-spec"/.test(s.attrs))!;
  assert.deepEqual(JSON.parse(specBlock.body), spec);
  // second line of defence: the page forbids scripts
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:/);
});

test('report: one <img> with PNG data per chart, plus its vega-lite JSON', async () => {
  const extra = Chart.from({ data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } });
  const html = await renderReport(sweepResults(), { charts: [{ title: 'My extra chart', chart: extra }] });
  const figures = html.match(/<figure\b/g) ?? [];
  const imgs = [...html.matchAll(/<img [^>]*src="data:image\/png;base64,([A-Za-z0-9+/=]+)"/g)];
  const specs = scripts(html).filter((s) => /vega-lite-spec/.test(s.attrs));
  // breakdown of the headline step (the last touch, per access), breakdown of the whole run,
  // overhead, dirty pages, faults, sweep over pages, PTE map, the extra one
  assert.equal(figures.length, 8);
  assert.match(html, /Cycles per access by event, headline step/);
  assert.equal(imgs.length, figures.length);
  assert.equal(specs.length, figures.length);
  for (const m of imgs) {
    const size = pngSize(Buffer.from(m[1], 'base64'));
    assert.ok(size.width > 0 && size.height > 0);
  }
  for (const s of specs) assert.match(JSON.parse(s.body).$schema, /vega-lite\/v5\.json$/);
  assert.match(html, /My extra chart/);
  assert.match(html, /Sweep over pages/);
  assert.doesNotMatch(html, /<script[^>]+src=/i, 'no remote scripts');
  assert.doesNotMatch(html, /https?:\/\/(?!vega\.github\.io\/schema)/, 'no remote resources');
});

test('report: summary table, seeds, versions and profile sources', async () => {
  const profiles = [
    { name: 'skylake-sp', clockGHz: { value: 2.4, source: 'Intel ARK, Xeon Gold 6148', kind: 'published' }, costs: { dBitSet: { cycles: 550, source: 'LKML <20220721>', kind: 'estimate' } } },
  ];
  const html = await renderReport(fixtureResults(), { profiles, generated: '2026-11-28' });
  assert.match(html, /<h2>Summary<\/h2>\n<table/);
  assert.match(html, /linux-6\.18/);
  assert.match(html, /seeds<\/td><td[^>]*>1, 2, 3</);
  assert.match(html, /ptlab version \(results\)<\/td><td[^>]*>0\.1\.0</);
  assert.match(html, /LKML &lt;20220721&gt;/);
  assert.match(html, /costs\.dBitSet/);
  assert.match(html, /2026-11-28/);
  const rows = profileSourceRows(profiles);
  assert.deepEqual(rows.map((r) => [r.profile, r.path, r.value]), [['skylake-sp', 'clockGHz', 2.4], ['skylake-sp', 'costs.dBitSet', 550]]);
});

test('report: the same results give the same file', async () => {
  const a = await renderReport(fixtureResults());
  const b = await renderReport(fixtureResults());
  assert.equal(a, b);
});

test('writeReport writes one standalone file and returns its path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ptlab-report-'));
  try {
    const path = await writeReport(fixtureResults(), { out: join(dir, 'sub', 'report.html'), defaultCharts: false });
    const html = readFileSync(path, 'utf8');
    assert.match(html, /^<!DOCTYPE html>/);
    assert.match(html, /<title>uffd-wp unprotect, then write<\/title>/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('report accepts a ResultSet-like object and uses its spec', async () => {
  const r = fixtureResults();
  const resultSet = { runs: r.runs, spec: { name: 'spec from the result set', seed: [1, 2, 3] }, toJSON: () => r };
  const html = await renderReport(resultSet, { defaultCharts: false });
  assert.match(html, /<title>spec from the result set<\/title>/);
  assert.match(html, /ptlab version \(results\)<\/td><td[^>]*>0\.1\.0</);
  assert.match(html, /id="ptlab-spec"/);
});
