import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkTrace, openTraceStream, TraceError } from '../src/workload/trace';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-trace-'));
function write(name: string, text: string): string {
  fs.writeFileSync(path.join(dir, name), text);
  return name;
}
function readAll(file: string, pages = 16, cpus = 4, chunk = 7) {
  const s = openTraceStream({ file, region: 'heap' }, { pages, cpus, baseDir: dir });
  const p = new Float64Array(chunk), w = new Uint8Array(chunk), c = new Uint16Array(chunk);
  const out: [number, number, number][] = [];
  let n;
  while ((n = s.fill(p, w, c)) > 0) for (let i = 0; i < n; i++) out.push([c[i], w[i], p[i]]);
  s.close();
  return { total: s.total, out };
}

test('CSV: header, comments, blank lines, decimal and hex addresses, spaces, CRLF', () => {
  const f = write('a.csv', 'cpu,op,address\r\n# a comment\n\n0,w,0x1000\r\n 1 , r , 8192 \n3,W,0xFFFF\n2,r,0');
  const { total, out } = readAll(f);
  assert.equal(total, 4);
  assert.deepEqual(out, [
    [0, 1, 1],
    [1, 0, 2],
    [3, 1, 15],
    [2, 0, 0],
  ]);
});

test('JSONL: numeric and string addresses', () => {
  const f = write('a.jsonl', '{"cpu":0,"op":"w","address":"0x2000"}\n{"cpu":1,"op":"r","address":4096}\n');
  assert.deepEqual(readAll(f).out, [
    [0, 1, 2],
    [1, 0, 1],
  ]);
});

test('streams files larger than the 64 KiB buffer, lines split across reads', () => {
  const lines: string[] = [];
  for (let i = 0; i < 20000; i++) lines.push(`${i % 4},${i % 3 === 0 ? 'w' : 'r'},0x${((i * 4096 + 17) % (16 * 4096)).toString(16)}`);
  const f = write('big.csv', lines.join('\n') + '\n');
  assert.ok(fs.statSync(path.join(dir, f)).size > 3 * 65536);
  const { total, out } = readAll(f, 16, 4, 1000);
  assert.equal(total, 20000);
  assert.equal(out.length, 20000);
  out.forEach(([c, w, p], i) => {
    assert.equal(c, i % 4);
    assert.equal(w, i % 3 === 0 ? 1 : 0);
    assert.equal(p, i % 16);
  });
});

// Table of malformed traces: each must be refused with file:line and a fix.
const BAD: [string, string, RegExp][] = [
  ['fields.csv', '0,w\n', /fields.csv:1: expected 3 comma-separated fields "cpu,op,address", got "0,w"; write e.g. 0,w,0x1000/],
  ['extra.csv', '0,w,1,2\n', /extra.csv:1: expected 3 comma-separated fields/],
  ['op.csv', '0,w,0\n0,x,4096\n', /op.csv:2: op "x" is not r or w; use r for a read, w for a write/],
  ['cpu.csv', 'zero,w,0\n', /cpu.csv:1: cpu "zero" is not a CPU number; use 0..3/],
  ['cpu-range.csv', '9,w,0\n', /cpu-range.csv:1: cpu 9 does not exist; the machine has cpus 0..3/],
  ['addr.csv', '# c\n0,w,0x1g\n', /addr.csv:2: address "0x1g" is not a number; use a byte offset in decimal \(4096\) or 0x-hex \(0x1000\)/],
  ['neg.csv', '0,w,-4096\n', /neg.csv:1: address "-4096" is not a number/],
  ['beyond.csv', '0,w,0x10000\n', /beyond.csv:1: address 0x10000 is beyond the end of region "heap" \(64 KiB\)/],
  ['json.jsonl', '{"cpu":0,"op":"w"\n', /json.jsonl:1: not valid JSON/],
  ['jfield.jsonl', '{"cpu":0,"op":"w","addr":1}\n', /jfield.jsonl:1: unknown field "addr"; the fields are cpu, op, address/],
  ['jop.jsonl', '{"cpu":0,"op":"write","address":1}\n', /jop.jsonl:1: op "write" is not "r" or "w"/],
];

for (const [name, text, re] of BAD)
  test(`malformed trace ${name} is refused with file:line`, () => {
    write(name, text);
    const issues = checkTrace({ file: name, region: 'heap' }, { pages: 16, cpus: 4, baseDir: dir });
    assert.equal(issues.length, 1, issues.join('\n'));
    assert.match(issues[0], re);
    assert.throws(() => openTraceStream({ file: name, region: 'heap' }, { pages: 16, cpus: 4, baseDir: dir }), (e: unknown) => e instanceof TraceError && re.test(e.message));
  });

test('all bad lines are reported (up to a cap), not just the first', () => {
  write('many.csv', Array.from({ length: 30 }, () => '0,q,0').join('\n'));
  const issues = checkTrace({ file: 'many.csv' }, { pages: 16, cpus: 4, baseDir: dir });
  assert.equal(issues.length, 21);
  assert.match(issues[20], /stopped after 20 bad lines/);
});

test('limits: size and line count refuse with the knob to turn', () => {
  write('ten.csv', Array.from({ length: 10 }, () => '0,r,0').join('\n'));
  assert.match(checkTrace({ file: 'ten.csv', maxBytes: 20 }, { pages: 16, cpus: 4, baseDir: dir })[0], /ten.csv: 59 B exceeds the trace limit of 20 B; split it into several trace steps or raise the step's maxBytes/);
  assert.match(checkTrace({ file: 'ten.csv', maxLines: 5 }, { pages: 16, cpus: 4, baseDir: dir })[0], /more than 5 lines, above the trace limit; .* raise the step's maxLines/);
});

test('missing file names the resolved path', () => {
  assert.match(checkTrace({ file: 'nope.csv' }, { pages: 16, cpus: 4, baseDir: dir })[0], /nope.csv: trace file not found \(looked at .*nope.csv\)/);
});
