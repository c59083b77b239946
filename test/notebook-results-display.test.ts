/**
 * Results that display themselves and numbers in the unit the question is asked in:
 * results.show() (summary of the step the experiment is about + its chart), summary() and
 * frame() as tables, a short description instead of an object dump, `per:` page/access/fault on
 * charts and summaries, and step labels usable wherever a step is selected.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import * as ptlab from '../src/internals';
import { setDisplaySink, type DisplayMessage } from '../src/notebook/display';

const { lab, table } = ptlab;

function results() {
  return lab
    .experiment('first write after unprotect')
    .machine('skylake-sp')
    .kernel('linux-5.19', 'linux-6.18')
    .seed([1, 2])
    .mmap('heap', '64KiB')
    .touch('heap', 'write', { label: 'populate' })
    .uffd.register('heap', { wp: true })
    .uffd.writeprotect('heap')
    .uffd.unprotect('heap')
    .touch('heap', 'write', { label: 'first writes', pages: { from: 0, count: 8 } })
    .runSync();
}

test('per: page, access and fault divide by the step\'s pages, accesses and faults; labels select steps', () => {
  const r = results();
  const run = r.runs[0];
  const fw = run.steps[5];
  assert.equal(fw.label, 'first writes');
  assert.equal(fw.pages, 8);
  assert.equal(run.steps[1].pages, 16);
  const byLabel = r.summarize({ metric: 'cycles.total', step: 'first writes', per: 'page' });
  assert.equal(byLabel[0].mean, fw.cycles.total / 8);
  assert.equal(r.summarize({ metric: 'cycles.total', step: 5, per: 'access' })[0].mean, fw.cycles.total / fw.counters.accesses);
  assert.equal(r.summarize({ metric: 'cycles.total', step: 5, per: 'fault' })[0].mean, fw.cycles.total / fw.counters.faults.total);
  assert.deepEqual(r.rows({ step: 'first writes', metric: 'cycles.total' }).map((x) => x.step), [5, 5, 5, 5]);
  // a chart by step label, per page
  const chart = r.chart('cycles.total', { step: 'first writes', per: 'page' });
  assert.match(chart.summary(), new RegExp(`linux-5\\.19: ${(fw.cycles.total / 8).toPrecision(3).replace('.', '\\.').replace('+', '\\+')} `));
  assert.match(JSON.stringify(chart.toSpec()), /cycles\.total per page \(mean over seeds\)/);
  assert.match(r.chart('cycles', { step: 'first writes', per: 'page' }).summary(), /cycles per page/);
  // an unknown label lists the steps there are
  assert.throws(() => r.chart('cycles', { step: 'first write' }), /step label "first write" does not exist .*5: first writes/);
  assert.throws(() => r.summarize({ per: 'pages' as never }), /per must be one of run, page, access, fault/);
});

test('results.show(): the summary table of the headline step (per access), then its chart; tables from tidy rows', async () => {
  const r = results();
  const sent: DisplayMessage[] = [];
  const prev = setDisplaySink((m) => sent.push(m));
  try {
    await r.show();
  } finally {
    setDisplaySink(prev);
  }
  assert.equal(sent.length, 2);
  const [tbl, chart] = sent.map((m) => m.data);
  assert.match(String(tbl['text/html']), /cycles per access \(mean ± 95% CI\)/);
  assert.match(String(tbl['text/plain']), /^step 5: first writes, cycles per access/);
  assert.ok(chart['application/vnd.vegalite.v5+json'] && chart['image/png'], 'a chart bundle');
  // summary() and frame() are tables; a table from tidy rows type-checks and renders params
  assert.match(r.summary().toText(), /linux-6\.18/);
  assert.equal(r.frame({ metric: 'cycles.total' }).rows.length, 4 * 7);
  assert.match(table(r.rows({ metric: 'faults.total', step: 'first writes' })).toText(), /kernel=linux-5\.19, seed=1/);
});

test('a ResultSet as a value is a short description, not an object dump', () => {
  const text = inspect(results());
  assert.ok(text.split('\n').length <= 3, text);
  assert.match(text, /^ResultSet "first write after unprotect": 4 run\(s\): 2 variant\(s\)/);
  assert.match(inspect(results().summary()), /cycles per access/);
});

test('the report headlines the step the experiment is about, per access, like npm start', async () => {
  const html = await ptlab.renderReport(results(), { defaultCharts: false });
  const summary = html.slice(html.indexOf('<h2>Summary</h2>'), html.indexOf('<h2>Charts</h2>'));
  assert.match(summary, /step 5: first writes, cycles per access/);
  assert.match(summary, /<h3>Whole run<\/h3>/);
});
