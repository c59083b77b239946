/**
 * Page traces in the model: a `trace` step maps the trace's regions (or packs them into one spec
 * region) and replays every record as one access. Rules checked against a reference computed from
 * the records alone:
 *  - first-touch faults by kind: an anonymous private page read first maps the zero page
 *    (anonZeroPage) and a later write copies it (wpCopy); written first, it is allocated
 *    (anonAlloc). A private file page read first is mapped from the page cache (readFile) and a
 *    later write copies it (wpCopy); written first, do_cow_fault copies it (cow).
 *  - under a uffd-wp live snapshot, the uffd-wp faults are exactly the pages the program writes
 *    before the copier un-protects their chunk;
 *  - reclaim swaps out exactly the pages the program wrote (read-only anonymous pages map the
 *    zero page, read-only file pages are clean page cache).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { lab } from '../src/lab/index';
import { validateSpec } from '../src/lab/validate';
import { PageTraceWriter } from '../src/workload/pagetrace-writer';
import { liveSnapshot } from '../src/workload/scenarios';
import type { TraceRegion } from '../src/workload/pagetrace-format';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-labptt-'));
let n = 0;

const REGIONS: TraceRegion[] = [
  { name: 'heap', kind: 'anon-private', prot: 'rw', start: '0x10000000', pages: 8 },
  { name: 'lib:rw', kind: 'file-private', prot: 'rw', start: '0x20000000', pages: 4 },
  { name: 'stack', kind: 'anon-private', prot: 'rw', start: '0x7ff000000000', pages: 4 },
];
const VPN0 = REGIONS.map((r) => parseInt(r.start, 16) / 4096);

type Acc = { region: number; page: number; write: boolean; thread: number };

function write(accs: Acc[]): string {
  const f = path.join(dir, `t${n++}.ptt`);
  const w = new PageTraceWriter(f, 64);
  for (const a of accs) w.access(a.thread, VPN0[a.region] + a.page, a.write);
  w.finish(REGIONS, { tool: 'test' });
  return f;
}

/** The fault kinds the rules in the header predict, from the (unfolded) access list. */
function expectedFaults(accs: Acc[]): Record<string, number> {
  const state = new Map<string, 'r' | 'w'>();
  const out: Record<string, number> = {};
  const bump = (k: string) => (out[k] = (out[k] ?? 0) + 1);
  for (const a of accs) {
    const key = `${a.region}:${a.page}`;
    const s = state.get(key);
    const file = REGIONS[a.region].kind === 'file-private';
    if (s === undefined) {
      bump(a.write ? (file ? 'cow' : 'anonAlloc') : file ? 'readFile' : 'anonZeroPage');
      state.set(key, a.write ? 'w' : 'r');
    } else if (s === 'r' && a.write) {
      bump('wpCopy');
      state.set(key, 'w');
    }
  }
  return out;
}

// The file region gets one page only: a read fault there maps its neighbours too (do_fault_around),
// which depends on where the model places the region; the rule above is per page.
const acc = fc.record({ region: fc.nat(2), page: fc.nat(3), write: fc.boolean(), thread: fc.nat(2) }).map((a) => (a.region === 1 ? { ...a, page: 0 } : a));

test('trace step: a page trace maps its regions and faults by the first-touch rules (property, linux-6.18 and 5.19)', () => {
  fc.assert(
    fc.property(fc.array(acc, { minLength: 1, maxLength: 60 }), fc.constantFrom('linux-6.18', 'linux-5.19'), (accs, kernel) => {
      const f = write(accs);
      const r = lab.experiment('ptt').machine('skylake-sp', { cpus: 2 }).kernel(kernel).trace(f, { cpu: 0 }).runSync().runs[0];
      const st = r.steps[0];
      assert.deepEqual(st.counters.faults.byKind, expectedFaults(accs));
      fs.unlinkSync(f);
    }),
    { numRuns: 60 },
  );
});

test('trace step: packed into one region under a uffd-wp live snapshot, the uffd-wp faults are the pages written before their chunk is copied', () => {
  const accs: Acc[] = [];
  for (let i = 0; i < 400; i++) accs.push({ region: i % 5 === 0 ? 2 : i % 3 === 0 ? 1 : 0, page: (i * 7) % 4 + (i % 2) * 4 * Number(i % 5 !== 0 && i % 3 !== 0), write: i % 4 !== 1, thread: i % 2 });
  const f = write(accs);
  const records = 0 + (JSON.parse(JSON.stringify(require('../src/workload/pagetrace-reader').PageTraceFile.open(f).trailer)).records as number);
  const pages = 16; // 8 + 4 + 4, packed in address order
  const chunk = 4;
  const steps = liveSnapshot('mem', { pages, chunk, trace: { file: f, records }, appCpu: 0, copierCpu: 1 });
  const spec = lab.experiment('snap').machine('skylake-sp', { cpus: 2 }).kernel('linux-6.18', 'linux-5.19')
    .mmap('mem', `${pages * 4}KiB`).touch('mem', 'write').steps(steps as never);
  assert.equal(validateSpec(spec.toSpec(), { registries: false }).ok, true);
  // reference: replay the folded records in rounds; a write to a packed page whose chunk is not yet
  // un-protected, and that has not faulted before, is one uffd-wp fault
  const packed = (a: Acc) => [0, 8, 12][a.region] + a.page;
  const folded: Acc[] = [];
  for (const a of accs) {
    const p = folded[folded.length - 1];
    if (p && p.thread === a.thread && p.region === a.region && p.page === a.page && (p.write || !a.write)) continue;
    folded.push({ ...a });
  }
  assert.equal(folded.length, records);
  const rounds = pages / chunk, per = Math.ceil(records / rounds);
  const unprot = new Set<number>();
  let expect = 0;
  for (let r = 0; r < rounds; r++) {
    for (const a of folded.slice(r * per, (r + 1) * per)) {
      const pg = packed(a);
      if (a.write && !unprot.has(pg)) {
        expect++;
        unprot.add(pg); // the handler un-protects it
      }
    }
    for (let p = r * chunk; p < (r + 1) * chunk; p++) unprot.add(p);
  }
  assert.ok(expect > 3, `the fixture makes uffd-wp faults (${expect})`);
  for (const run of spec.runSync().runs) {
    const got = run.steps.reduce((s, x) => s + (x.op === 'trace' ? (x.counters.faults.byKind.uffdWp ?? 0) : 0), 0);
    assert.equal(got, expect, run.variant);
  }
});

test('trace step: two reclaim passes after a replay swap out exactly the written pages', () => {
  const accs: Acc[] = [];
  for (let i = 0; i < 200; i++) accs.push({ region: i % 3, page: (i * 5) % 4, write: i % 7 === 0 || i % 11 === 0, thread: 0 });
  const f = write(accs);
  const written = new Set(accs.filter((a) => a.write).map((a) => `${a.region}:${a.page}`)).size;
  // the first pass finds every new PTE young and only ages it; the second reclaims
  const r = lab.experiment('reclaim').machine('skylake-sp').kernel('linux-6.18').trace(f).reclaim('all').reclaim('all').runSync().runs[0];
  assert.equal(r.steps[1].counters.swapOutPages + r.steps[2].counters.swapOutPages, written);
});

test('trace step: regions are named by the trace, can be renamed, and bad layouts name the field', () => {
  const f = write([{ region: 0, page: 1, write: true, thread: 0 }]);
  const base = () => lab.experiment('v').machine('skylake-sp').kernel('linux-6.18');
  // the step maps "heap"; a later step can use it
  assert.equal(validateSpec(base().trace(f).inspect('heap', [1]).toSpec(), { registries: false }).ok, true);
  const row = base().trace(f).inspect('heap', [1]).runSync().runs[0].steps[1].inspect![0];
  assert.equal(row.dirty, true);
  // renamed onto a spec region that is big enough
  const renamed = base().mmap('arena', '64KiB').trace(f, { regions: { heap: 'arena' } }).inspect('arena', [1]);
  assert.equal(renamed.runSync().runs[0].steps[2].inspect![0].dirty, true);
  const issues = (spec: unknown) => {
    const r = validateSpec(spec, { registries: false });
    return r.ok ? [] : r.issues.map((i) => `${i.path}: ${i.message}`);
  };
  assert.match(issues(base().mmap('arena', '4KiB').trace(f, { regions: { heap: 'arena' } }).toSpec()).join('\n'), /steps\[1\]\.regions: spec region "arena" has 1 pages but trace region "heap" needs 8; mmap it with size "32KiB"/);
  assert.match(issues(base().trace(f, { regions: { hep: 'x' } }).toSpec()).join('\n'), /steps\[0\]\.regions: the trace has no region "hep"/);
  assert.match(issues(base().mmap('m', '4KiB').trace(f, { region: 'm' }).toSpec()).join('\n'), /steps\[1\]\.region: "m" has 1 pages but the trace's 3 regions need 16; mmap it with size "64KiB"/);
  assert.match(issues({ ...base().mmap('m', '4KiB').toSpec(), steps: [{ op: 'mmap', region: 'm', size: '4KiB' }, { op: 'trace', file: 'x.csv' }] }).join('\n'), /steps\[1\]\.region: a CSV\/JSONL trace addresses one region: give "region"/);
  assert.match(issues(base().trace(f, { records: { from: 1, count: 5 } }).toSpec()).join('\n'), /steps\[0\]\.records: \{from: 1, count: 5\} goes past the trace's 1 records/);
  const whole = fs.readFileSync(f);
  fs.writeFileSync(path.join(dir, 'cut.ptt'), whole.subarray(0, whole.length - 10));
  assert.match(issues(base().trace(path.join(dir, 'cut.ptt')).toSpec()).join('\n'), /steps\[0\]\.file: .*cut\.ptt: byte \d+: no footer/);
});
