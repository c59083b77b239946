import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Table } from '../src/notebook/table';
import { escapeHtml, jsonForScript } from '../src/notebook/html-escape';
import { summaryRows, summaryTable } from '../src/notebook/summary';
import { fixtureResults } from './helpers/notebook-fixtures';

test('table HTML escapes every cell, header and title', () => {
  const evil = '</script><script>alert(1)</script>';
  const t = new Table([{ [evil]: evil, n: 1 }], { title: evil, caption: evil });
  const html = t.toHTML();
  assert.doesNotMatch(html, /<script/i);
  assert.equal(html.split('&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;').length - 1, 4);
  assert.deepEqual(Object.keys(t.toMimeBundle()).sort(), ['text/html', 'text/plain']);
});

test('escapeHtml output never contains markup characters (property)', () => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      const e = escapeHtml(s);
      assert.doesNotMatch(e, /[<>"']/);
      // and decodes back to the input
      const back = e.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
      assert.equal(back, s);
    }),
  );
});

test('jsonForScript round-trips and never closes a script element (property)', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.string(), (v, s) => {
      const value = { v, s: `</script>${s}<!--` };
      const text = jsonForScript(value);
      assert.doesNotMatch(text, /</);
      assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(value)));
    }),
  );
});

test('markdown keeps one cell per column even with pipes and newlines', () => {
  const md = new Table([{ variant: 'a|b', note: 'line1\nline2' }]).toMarkdown().split('\n');
  assert.equal(md.length, 3);
  for (const line of md) assert.equal((line.match(/(?<!\\)\|/g) ?? []).length, 3);
  assert.match(md[2], /a\\\|b/);
});

test('text table aligns columns and formats numbers', () => {
  const t = new Table([
    { variant: 'linux-6.18', cycles: 1234567 },
    { variant: 'rfc', cycles: 12.5 },
  ]);
  const lines = t.toText().split('\n');
  assert.equal(lines[0], 'variant        cycles');
  assert.equal(lines[2], 'linux-6.18  1,234,567');
  assert.equal(lines[3], 'rfc              12.5');
});

test('summary table: one row per variant, seeds listed, baseline marked, overhead from paired seeds', () => {
  const rows = summaryRows(fixtureResults());
  assert.deepEqual(rows.map((r) => r.group), ['linux-6.18', 'rfc-2022-uffd-hints']);
  assert.equal(rows[0].overhead, 'baseline');
  assert.equal(rows[0].seeds, '1, 2, 3');
  assert.match(String(rows[1].overhead), /^-\d+\.\d\d% ± \d+\.\d\d%$/);
  const text = summaryTable(fixtureResults()).toText();
  assert.match(text, /95% Student-t/);
});
