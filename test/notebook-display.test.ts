import { test } from 'node:test';
import assert from 'node:assert/strict';
import { display, displayTarget, setDisplaySink, updateDisplay, JUPYTER_DISPLAY, type DisplayMessage } from '../src/notebook/display';
import { Table } from '../src/notebook/table';

function captureStdout<T>(fn: () => Promise<T>): Promise<{ out: string; value: T }> {
  const orig = process.stdout.write.bind(process.stdout);
  let out = '';
  (process.stdout as { write: unknown }).write = (chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  };
  return fn().then(
    (value) => {
      (process.stdout as { write: unknown }).write = orig;
      return { out, value };
    },
    (e) => {
      (process.stdout as { write: unknown }).write = orig;
      throw e;
    },
  );
}

test('a sink receives ONE message carrying every MIME type of the bundle', async () => {
  const sent: Array<[DisplayMessage, boolean]> = [];
  const prev = setDisplaySink((m, u) => sent.push([m, u]));
  try {
    const bundle = { 'application/vnd.vegalite.v5+json': { mark: 'bar' }, 'image/png': 'iVBOR', 'text/plain': 'chart' };
    const h = await display(bundle, { metadata: { 'image/png': { width: 10 } } });
    assert.equal(h.via, 'sink');
    assert.equal(sent.length, 1);
    const [msg, update] = sent[0];
    assert.equal(update, false);
    assert.deepEqual(Object.keys(msg.data).sort(), ['application/vnd.vegalite.v5+json', 'image/png', 'text/plain']);
    // the vega-lite payload stays a JSON object (nbformat stores it as such)
    assert.equal(typeof msg.data['application/vnd.vegalite.v5+json'], 'object');
    assert.equal(msg.transient.display_id, h.id);
    assert.deepEqual(msg.metadata, { 'image/png': { width: 10 } });
  } finally {
    setDisplaySink(prev);
  }
});

test('updateDisplay sends update_display_data for the same display id', async () => {
  const sent: Array<[DisplayMessage, boolean]> = [];
  const prev = setDisplaySink((m, u) => sent.push([m, u]));
  try {
    const h = await display({ 'text/plain': 'one' }, { displayId: 'fixed-id' });
    await h.update({ 'text/plain': 'two' });
    await updateDisplay('fixed-id', { 'text/plain': 'three' });
    assert.deepEqual(
      sent.map(([m, u]) => [m.transient.display_id, u, m.data['text/plain']]),
      [
        ['fixed-id', false, 'one'],
        ['fixed-id', true, 'two'],
        ['fixed-id', true, 'three'],
      ],
    );
  } finally {
    setDisplaySink(prev);
  }
});

test('with no kernel, display prints the text/plain part on stdout', async () => {
  const prev = setDisplaySink(null);
  try {
    assert.equal(displayTarget(), 'text');
    const { out, value } = await captureStdout(() => display({ 'text/plain': 'hello from ptlab', 'image/png': 'AAAA' }));
    assert.equal(value.via, 'text');
    assert.equal(out, 'hello from ptlab\n');
    const t = await captureStdout(async () => new Table([{ variant: 'linux-6.18', cycles: 1234 }]).show());
    assert.match(t.out, /variant\s+cycles/);
    assert.match(t.out, /linux-6\.18\s+1,234/);
    assert.doesNotMatch(t.out, /<table/);
  } finally {
    setDisplaySink(prev);
  }
});

test("display finds the running tslab's writer through require.cache", async () => {
  const prev = setDisplaySink(null);
  const key = '/nonexistent/kernel/node_modules/tslab/dist/jupyter.js';
  const sent: Array<[DisplayMessage, boolean]> = [];
  const fakeModule = { id: key, filename: key, loaded: true, exports: { lastWriteDisplayData: (m: DisplayMessage, u: boolean) => sent.push([m, u]) } };
  (require.cache as Record<string, unknown>)[key] = fakeModule;
  try {
    assert.equal(displayTarget(), 'tslab');
    const h = await display({ 'text/plain': 'x', 'text/html': '<b>x</b>' });
    assert.equal(h.via, 'tslab');
    assert.equal(sent.length, 1);
    assert.deepEqual(Object.keys(sent[0][0].data), ['text/plain', 'text/html']);
  } finally {
    delete (require.cache as Record<string, unknown>)[key];
    setDisplaySink(prev);
  }
  // a tslab that is loaded but not executing a cell (writer still null) is not a kernel
  (require.cache as Record<string, unknown>)[key] = { ...fakeModule, exports: { lastWriteDisplayData: null } };
  try {
    assert.equal(displayTarget(), 'text');
  } finally {
    delete (require.cache as Record<string, unknown>)[key];
  }
});

test("displayable objects expose Symbol.for('Jupyter.display') for Deno", () => {
  const t = new Table([{ a: 1 }]);
  const viaSymbol = (t as unknown as Record<symbol, () => unknown>)[Symbol.for('Jupyter.display')]();
  assert.equal(JUPYTER_DISPLAY, Symbol.for('Jupyter.display'));
  assert.deepEqual(viaSymbol, t.toMimeBundle());
});

test('chart.show() with no kernel prints its text summary (and draws nothing)', async () => {
  const { Chart } = await import('../src/notebook/chart');
  const prev = setDisplaySink(null);
  try {
    const c = Chart.from({ data: { values: [{ a: 1 }] }, mark: 'point', encoding: { x: { field: 'a', type: 'quantitative' } } }, 'one point at a=1').title('T');
    const { out } = await captureStdout(() => c.show());
    assert.equal(out, 'Chart: T\none point at a=1\n');
  } finally {
    setDisplaySink(prev);
  }
});
