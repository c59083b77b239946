import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setDisplaySink, type DisplayMessage } from '../src/notebook/display';
import { progress } from '../src/notebook/progress';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, write: (c: string) => (chunks.push(c), true) } as unknown as NodeJS.WritableStream & { isTTY?: boolean } };
}

test('in a notebook, progress updates ONE display in place and ends with a summary line', () => {
  const sent: Array<[DisplayMessage, boolean]> = [];
  const prev = setDisplaySink((m, u) => sent.push([m, u]));
  let t = 0;
  try {
    const p = progress({ total: 4, label: 'sweep', unit: 'runs', minIntervalMs: 0, now: () => (t += 250) });
    for (let i = 1; i <= 4; i++) p.update(i);
    p.done('2 variants');
    const summary = p.summary;
    assert.match(summary, /^sweep: 4\/4 runs in \d+\.\d s; 2 variants$/);
    assert.equal(sent.length, 5);
    const ids = new Set(sent.map(([m]) => m.transient.display_id));
    assert.equal(ids.size, 1, 'one fixed display_id');
    assert.deepEqual(sent.map(([, u]) => u), [false, true, true, true, true], 'display_data once, then update_display_data');
    assert.match(String(sent[1][0].data['text/plain']), /\[##########\.{10}\]\s+50% 2\/4 runs/);
    assert.equal(sent[4][0].data['text/plain'], summary);
    assert.doesNotMatch(String(sent[4][0].data['text/html']), /<progress/);
    // updates after done() are ignored
    p.update(1);
    assert.equal(sent.length, 5);
  } finally {
    setDisplaySink(prev);
  }
});

test('in a notebook, redraws are throttled by minIntervalMs but the summary always shows', () => {
  const sent: DisplayMessage[] = [];
  const prev = setDisplaySink((m) => sent.push(m));
  try {
    const p = progress({ total: 1000, minIntervalMs: 200, now: () => 0 });
    for (let i = 1; i <= 1000; i++) p.update(i);
    p.done();
    assert.equal(sent.length, 2, 'first draw and the summary');
  } finally {
    setDisplaySink(prev);
  }
});

test('outside a kernel on a TTY: one line rewritten with \\r, newline at the end', () => {
  const { chunks, stream } = fakeStream(true);
  const p = progress({ total: 3, label: 'runs', stream, minIntervalMs: 0, mode: 'tty' });
  p.tick().tick().tick();
  p.done();
  assert.ok(chunks.every((c) => c.startsWith('\r')));
  assert.ok(chunks.slice(0, -1).every((c) => !c.includes('\n')));
  assert.ok(chunks[chunks.length - 1].endsWith('\n'));
  assert.match(chunks[chunks.length - 1], /runs: 3\/3 steps in/);
});

test('outside a kernel without a TTY: a line at the start and at each 10%, then the summary', () => {
  const { chunks, stream } = fakeStream(false);
  const p = progress({ total: 100, label: 'sweep', stream, mode: 'lines' });
  for (let i = 1; i <= 100; i++) p.update(i);
  p.done();
  assert.equal(chunks.length, 12);
  assert.ok(chunks.every((c) => c.endsWith('\n') && !c.includes('\r')));
  assert.match(chunks[0], /  1% 1\/100 steps/);
  assert.match(chunks[5], / 50% 50\/100 steps/);
  assert.match(chunks[11], /^sweep: 100\/100 steps in/);
});

test('progress.callback fits SimulateOptions.onProgress (done, total) and RunOptions.onProgress ({done, total})', () => {
  const { chunks, stream } = fakeStream(false);
  const p = progress({ stream, mode: 'lines', unit: 'accesses' });
  const cb = p.callback;
  cb(50, 100);
  cb(100, 100);
  assert.match(chunks[chunks.length - 1], /100% 100\/100 accesses/);
  const q = progress({ stream, mode: 'lines', unit: 'runs' });
  q.callback({ done: 3, total: 4 }); // RunOptions.onProgress shape
  assert.match(chunks[chunks.length - 1], /75% 3\/4 runs/);
});

test("experiment.run() of ptlab's lab shows its progress in a notebook; the lab of src/lab was given no display", async () => {
  const { lab } = require('../src/index') as typeof import('../src/index');
  const { lab: bare } = require('../src/lab/index') as typeof import('../src/lab/index');
  const sent: DisplayMessage[] = [];
  const prev = setDisplaySink((m) => sent.push(m));
  try {
    const exp = (l: typeof lab) => l.experiment('progress shown').machine('skylake-sp').kernel('linux-6.18').mmap('heap', '64KiB').touch('heap', 'write');
    await exp(bare).run();
    assert.equal(sent.length, 0, 'no display from the lab layer alone');
    const r = await exp(lab).run();
    assert.equal(r.length, 1);
    assert.ok(sent.length >= 2, `a progress display and its summary (${sent.length} message(s))`);
    assert.match(String(sent[sent.length - 1].data['text/plain']), /^progress shown: .*1\/1 runs$/);
  } finally {
    setDisplaySink(prev);
  }
});
