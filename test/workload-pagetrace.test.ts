/**
 * The page trace format (.ptt): what goes in comes out — folded by the documented rules, in order,
 * across block boundaries — slices replay exactly their records, stats count what the records say.
 * (Corruption and truncation are fuzzed in robustness-fuzz.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { PageTraceWriter } from '../src/workload/pagetrace-writer';
import { PageTraceFile } from '../src/workload/pagetrace-reader';
import { PageTraceStream } from '../src/workload/pagetrace-stream';
import { pageTraceStats } from '../src/workload/pagetrace-stats';
import type { TraceRegion } from '../src/workload/pagetrace-format';
import { TraceError } from '../src/workload/trace';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-ptt-'));
let seq = 0;
const tmp = () => path.join(dir, `t${seq++}.ptt`);

/** Two regions far apart, so page deltas are large and of both signs. */
const REGIONS: TraceRegion[] = [
  { name: 'heap', kind: 'anon-private', prot: 'rw', start: '0x5000000', pages: 64 },
  { name: 'stack', kind: 'anon-private', prot: 'rw', start: '0x7ffd00000000', pages: 16 },
];
const VPN0 = [0x5000000 / 4096, 0x7ffd00000000 / 4096];

type Acc = [thread: number, vpn: number, write: boolean];
type Rec = { thread: number; vpn: number; write: boolean; count: number };

/** The folding rule of docs/traces.md, written out plainly. */
function fold(accs: Acc[]): Rec[] {
  const out: Rec[] = [];
  for (const [thread, vpn, write] of accs) {
    const p = out[out.length - 1];
    if (p && p.thread === thread && p.vpn === vpn && (p.write || !write)) p.count++;
    else out.push({ thread, vpn, write, count: 1 });
  }
  return out;
}

function writeTrace(accs: Acc[], blockRaw?: number): string {
  const f = tmp();
  const w = new PageTraceWriter(f, blockRaw);
  for (const [t, v, wr] of accs) w.access(t, v, wr);
  w.finish(REGIONS, { tool: 'test' });
  return f;
}

function readAll(f: string): Rec[] {
  const r = PageTraceFile.open(f).records();
  const v = new Float64Array(7), w = new Uint8Array(7), t = new Uint16Array(7), c = new Float64Array(7);
  const out: Rec[] = [];
  for (let n = r.read(v, w, t, c); n > 0; n = r.read(v, w, t, c)) for (let i = 0; i < n; i++) out.push({ thread: t[i], vpn: v[i], write: w[i] === 1, count: c[i] });
  return out;
}

const access = fc.tuple(fc.nat(3), fc.nat(1), fc.nat(5), fc.boolean()).map(([t, r, p, w]): Acc => [t, VPN0[r] + p * (r === 0 ? 13 : 3), w]);

test('ptt: random access sequences come back folded, in order, across many small blocks', () => {
  fc.assert(
    fc.property(fc.array(access, { maxLength: 400 }), fc.constantFrom(8, 64, 1 << 18), (accs, blockRaw) => {
      const f = writeTrace(accs, blockRaw);
      assert.deepEqual(readAll(f), fold(accs));
      const t = PageTraceFile.open(f).trailer;
      assert.equal(t.accesses, accs.length);
      assert.equal(t.records, fold(accs).length);
      assert.equal(t.threads, accs.length ? Math.max(...accs.map((a) => a[0])) + 1 : 0);
      fs.unlinkSync(f);
    }),
    { numRuns: 300 },
  );
});

test('ptt: folding keeps read-then-write apart and absorbs anything after a write', () => {
  const h = VPN0[0];
  const f = writeTrace([
    [0, h, false], [0, h, false], [0, h, true], [0, h, false], [0, h, true], // R R W R W on one page
    [0, h + 1, true], [1, h + 1, true], // another thread: a new record
    [1, h, false],
  ]);
  assert.deepEqual(readAll(f), [
    { thread: 0, vpn: h, write: false, count: 2 },
    { thread: 0, vpn: h, write: true, count: 3 },
    { thread: 0, vpn: h + 1, write: true, count: 1 },
    { thread: 1, vpn: h + 1, write: true, count: 1 },
    { thread: 1, vpn: h, write: false, count: 1 },
  ]);
});

test('ptt: an access that crosses a page boundary touches both pages', () => {
  const f = tmp();
  const w = new PageTraceWriter(f);
  w.accessBytes(0, 0x5000ffc, 8, true);
  w.finish(REGIONS);
  assert.deepEqual(readAll(f).map((r) => r.vpn), [VPN0[0], VPN0[0] + 1]);
});

test('ptt: a replayed slice is exactly those records, mapped onto the given bases, threads spread over CPUs', () => {
  const accs: Acc[] = [];
  for (let i = 0; i < 5000; i++) accs.push([i % 3, VPN0[i % 7 === 0 ? 1 : 0] + ((i * 7) % 16), i % 5 === 0]);
  const f = writeTrace(accs, 64);
  const recs = fold(accs);
  const t = PageTraceFile.open(f);
  const base = Float64Array.from([1000, 5000]);
  const replay = (from: number, count: number) => {
    const s = new PageTraceStream(t, base, { cpus: 2, from, count });
    const p = new Float64Array(100), w = new Uint8Array(100), c = new Uint16Array(100);
    const out: [number, number, number][] = [];
    for (let n = s.fill(p, w, c); n > 0; n = s.fill(p, w, c)) for (let i = 0; i < n; i++) out.push([p[i], w[i], c[i]]);
    assert.equal(out.length, s.total);
    return out;
  };
  const expect = (from: number, count: number) =>
    recs.slice(from, from + count).map((r) => [r.vpn >= VPN0[1] ? 5000 + r.vpn - VPN0[1] : 1000 + r.vpn - VPN0[0], r.write ? 1 : 0, r.thread % 2]);
  for (const [from, count] of [[0, recs.length], [0, 10], [1234, 777], [recs.length - 5, 5], [recs.length, 0]]) assert.deepEqual(replay(from, count), expect(from, count), `slice ${from}+${count}`);
  assert.throws(() => new PageTraceStream(t, base, { cpus: 2, from: 10, count: recs.length }), /goes past the trace's \d+ records/);
});

test('ptt stats: touched, written and re-written pages per region', () => {
  const h = VPN0[0], s = VPN0[1];
  const f = writeTrace([
    [0, h, true], [0, h, true], // one write record
    [0, h + 1, false], [0, h + 1, true], // read then write: written once
    [0, h, true], // page h written again after page h+1: re-written
    [0, s, false], [0, s + 1, true], [0, s + 2, false],
  ]);
  const st = pageTraceStats(f);
  const heap = st.regions.find((r) => r.name === 'heap')!;
  const stack = st.regions.find((r) => r.name === 'stack')!;
  assert.deepEqual([heap.accesses, heap.records, heap.touched, heap.written, heap.rewritten, heap.rewriteFraction], [5, 4, 2, 2, 1, 0.5]);
  assert.deepEqual([stack.accesses, stack.records, stack.touched, stack.written, stack.rewritten], [3, 3, 3, 1, 0]);
  assert.deepEqual([st.accesses, st.touched, st.written, st.writtenFraction], [8, 5, 3, 0.6]);
});

test('ptt: an access outside every region is refused when replayed, naming the byte', () => {
  const f = writeTrace([[0, VPN0[0], true], [0, 12345, false]]);
  const t = PageTraceFile.open(f);
  const s = new PageTraceStream(t, Float64Array.from([0, 100]), { cpus: 1 });
  assert.throws(() => s.fill(new Float64Array(8), new Uint8Array(8), new Uint16Array(8)), (e: Error) => e instanceof TraceError && /byte 16: an access to address 0x3039000 lies in no region/.test(e.message));
  assert.throws(() => pageTraceStats(f), /lies in no region/);
});

test('ptt: a CSV file is not taken for a page trace', () => {
  const f = path.join(dir, 'x.csv');
  fs.writeFileSync(f, '0,w,0x1000\n'.repeat(10));
  assert.throws(() => PageTraceFile.open(f), /byte 0: not a ptlab page trace/);
});
