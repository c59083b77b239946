import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Chart, VEGA_LITE_MIME, VEGA_LITE_SCHEMA } from '../src/notebook/chart';
import { setDisplaySink, type DisplayMessage } from '../src/notebook/display';
import { pngSize, prefixSvgIds, vegaLiteWarnings } from '../src/notebook/render';
import { charts } from '../src/notebook/charts/index';
import { fixtureResults, sweepResults } from './helpers/notebook-fixtures';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function checkPng(base64: unknown): { width: number; height: number } {
  assert.equal(typeof base64, 'string');
  const bytes = Buffer.from(base64 as string, 'base64');
  assert.ok(bytes.length > 100, 'PNG is not empty');
  assert.deepEqual([...bytes.subarray(0, 8)], PNG_SIGNATURE);
  assert.equal(bytes.subarray(12, 16).toString('latin1'), 'IHDR');
  const size = pngSize(bytes);
  assert.ok(size.width > 0 && size.height > 0, `IHDR size ${size.width}x${size.height}`);
  return size;
}

/** The spec as a plain object (TopLevelSpec is a union that does not index by string). */
const obj = (c: Chart): Record<string, unknown> => c.toSpec() as unknown as Record<string, unknown>;

const simple = () =>
  Chart.from({
    data: { values: [{ v: 'a', n: 1 }, { v: 'b', n: 3 }] },
    mark: 'bar',
    encoding: { x: { field: 'v', type: 'nominal' }, y: { field: 'n', type: 'quantitative' } },
  });

test('every standard chart: bundle has vega-lite v5 JSON, a valid PNG and text; the spec compiles cleanly', async () => {
  const r = fixtureResults();
  const all: Array<[string, Chart]> = [
    ['cycleBreakdown', charts.cycleBreakdown(r)],
    ['overhead', charts.overhead(r)],
    ['dirtyPages', charts.dirtyPages(r)],
    ['faultsAndFlushes', charts.faultsAndFlushes(r)],
    ['sweep', charts.sweep(sweepResults())],
    ['pteMap', charts.pteMap(r)],
  ];
  for (const [name, chart] of all) {
    const bundle = await chart.toMimeBundle();
    assert.deepEqual(Object.keys(bundle).sort(), [VEGA_LITE_MIME, 'image/png', 'text/plain'].sort(), name);
    assert.ok(!('text/html' in bundle), `${name}: no text/html (it outranks vega-lite in JupyterLab)`);
    const spec = bundle[VEGA_LITE_MIME] as Record<string, unknown>;
    assert.equal(typeof spec, 'object', `${name}: vega-lite payload is a JSON object`);
    assert.equal(spec.$schema, VEGA_LITE_SCHEMA);
    assert.match(String(spec.$schema), /vega-lite\/v5\.json$/);
    assert.deepEqual(vegaLiteWarnings(chart.toSpec()), [], `${name}: vega-lite warnings`);
    checkPng(bundle['image/png']);
    assert.match(String(bundle['text/plain']), /^Chart: /);
  }
});

test('show() sends one display message with the three MIME types and the PNG CSS size', async () => {
  const sent: DisplayMessage[] = [];
  const prev = setDisplaySink((m) => sent.push(m));
  try {
    await simple().title('t').show();
  } finally {
    setDisplaySink(prev);
  }
  assert.equal(sent.length, 1);
  const { width, height } = checkPng(sent[0].data['image/png']);
  assert.deepEqual(sent[0].metadata, { 'image/png': { width: Math.round(width / 2), height: Math.round(height / 2) } });
  assert.ok(sent[0].data[VEGA_LITE_MIME]);
});

test('charts are immutable: title/width/height return new charts and toSpec returns copies', () => {
  const a = simple();
  const b = a.title({ text: 'T', subtitle: 's' }).width(300).height(100);
  assert.equal(obj(a).title, undefined);
  const sb = obj(b);
  assert.deepEqual(sb.title, { text: 'T', subtitle: 's' });
  assert.equal(sb.width, 300);
  (sb as { width: number }).width = 1;
  assert.equal(obj(b).width, 300);
  assert.throws(() => a.width(0), /width must be a positive number/);
});

test('layer moves size to the top and strips $schema from members; concat composes; bad layering explains itself', () => {
  const l = obj(simple().width(200).layer(simple()));
  assert.equal(l.width, 200);
  const members = l.layer as Record<string, unknown>[];
  assert.equal(members.length, 2);
  for (const m of members) {
    assert.equal(m.$schema, undefined);
    assert.equal(m.width, undefined);
  }
  assert.deepEqual(vegaLiteWarnings(l as never), []);
  const h = obj(Chart.hconcat(simple(), simple()));
  assert.equal((h.hconcat as unknown[]).length, 2);
  assert.deepEqual(vegaLiteWarnings(simple().vconcat(simple()).toSpec()), []);
  assert.throws(() => Chart.layer(simple().hconcat(simple()), simple()), /only single or layered charts can be layered/);
  assert.throws(() => Chart.from({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', mark: 'bar' }), /vega-lite v5 only/);
});

test('SVG ids are prefixed per chart and rendering is deterministic', async () => {
  const c = charts.overhead(fixtureResults()); // layered with clip paths
  const s1 = await c.toSVG({ idPrefix: 'one' });
  const s2 = await c.toSVG({ idPrefix: 'one' });
  assert.equal(s1, s2);
  const ids = [...s1.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  for (const id of ids) assert.ok(id.startsWith('one-'), id);
  const other = await c.toSVG({ idPrefix: 'two' });
  const otherIds = new Set([...other.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]));
  for (const id of ids) assert.ok(!otherIds.has(id));
});

test('prefixSvgIds renames every id and its references consistently (property)', () => {
  const idArb = fc.stringMatching(/^[a-z][a-z0-9_]{0,6}$/);
  fc.assert(
    fc.property(fc.uniqueArray(idArb, { minLength: 1, maxLength: 5 }), (ids) => {
      const svg = `<svg>${ids.map((id) => `<clipPath id="${id}"><rect/></clipPath><g clip-path="url(#${id})"/><use href="#${id}"/>`).join('')}<a href="#notanid"/></svg>`;
      const out = prefixSvgIds(svg, 'p');
      const newIds = [...out.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
      assert.equal(newIds.length, ids.length);
      assert.equal(new Set(newIds).size, ids.length, 'still unique');
      newIds.forEach((id, i) => {
        assert.ok(id.startsWith('p-') && id.endsWith(String(i)), id);
        // each definition's references follow it
        assert.equal(out.split(`url(#${id})`).length - 1, 1);
        assert.equal(out.split(`href="#${id}"`).length - 1, 1);
      });
      assert.ok(out.includes('href="#notanid"'), 'references to unknown ids are left alone');
      // the structure is unchanged apart from the names
      const strip = (s: string) => s.replace(/(id="|url\(#|href="#)[^")]+/g, '$1');
      assert.equal(strip(out), strip(svg));
    }),
  );
});

test('SVG of a chart does not depend on what vega rendered before or alongside it', async () => {
  const c = charts.overhead(fixtureResults());
  const alone = await c.toSVG();
  const [a, , b] = await Promise.all([c.toSVG(), charts.cycleBreakdown(fixtureResults()).toSVG(), c.toSVG()]);
  assert.equal(a, alone);
  assert.equal(b, alone);
});

test('toPNG honours the scale factor', async () => {
  const c = simple().width(100).height(50);
  const one = pngSize(await c.toPNG({ scale: 1 }));
  const two = pngSize(await c.toPNG({ scale: 2 }));
  assert.equal(two.width, one.width * 2);
  assert.equal(two.height, one.height * 2);
});
