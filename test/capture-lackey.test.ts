/**
 * `ptlab trace capture`: a tiny C program whose access pattern is known, compiled here, is captured
 * under valgrind's lackey, and its page-level stream in its own mapping must come out exactly:
 * pages, order, read/write, thread. Plus the failures: valgrind missing, the program failing, the
 * disk full. Needs valgrind and cc: skipped without them, except under CI=true (.ci/run installs
 * valgrind), where their absence fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capture, CaptureError, scriptBehind, valgrindVersion } from '../src/capture/capture';
import { LackeyParser } from '../src/capture/lackey';
import { PageTraceFile } from '../src/workload/pagetrace-reader';
import { pageTraceStats } from '../src/workload/pagetrace-stats';

const hasCc = spawnSync('cc', ['--version']).status === 0;
const vg = valgrindVersion();
const missing = !vg ? 'valgrind is not installed (apt-get install valgrind)' : !hasCc ? 'no C compiler (cc)' : '';
const skip = missing && process.env.CI !== 'true' ? `SKIPPED: ${missing}` : false;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-capture-'));
const BASE = 0x200000000;

// Known pattern in a 16-page mapping at a fixed address. All pointer accesses are volatile and
// built with -O2, so no stack traffic comes between them (the check looks at this mapping only).
const PROGRAM = `
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
static volatile char *p;
static void *worker(void *a) { (void)a; for (int i = 0; i < 4; i++) p[i * 4096 + 100] = 2; return 0; }
int main(void) {
  p = mmap((void *)0x200000000, 16 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED) return 9;
  for (int i = 0; i < 8; i++) p[i * 4096] = 1;          /* W 0..7 */
  int s = 0;
  for (int i = 7; i >= 0; i--) s += p[i * 4096];        /* R 7..0 (R 7 folds into W 7) */
  p[3 * 4096 + 8] += 1;                                 /* R 3, W 3 */
  *(volatile uint64_t *)(p + 10 * 4096 - 4) = 7;        /* one store across pages 9|10 */
  s += p[12 * 4096]; s += p[12 * 4096 + 64];            /* R 12 (folded: count 2) */
  pthread_t t;
  pthread_create(&t, 0, worker, 0);                     /* thread 1: W 0..3 */
  pthread_join(t, 0);
  p[15 * 4096] = (char)s;                               /* W 15 */
  return 0;
}
`;

function build(name: string, src: string): string {
  const c = path.join(dir, `${name}.c`), exe = path.join(dir, name);
  fs.writeFileSync(c, src);
  execFileSync('cc', ['-O2', '-o', exe, c, '-lpthread']);
  return exe;
}

test('capture: the known program\'s page stream in its mapping comes out exactly (pages, order, read/write, thread)', { skip }, async () => {
  const exe = build('known', PROGRAM);
  const out = path.join(dir, 'known.ptt');
  const progress: number[] = [];
  const r = await capture([exe], { out, onProgress: (p) => progress.push(p.accesses) });
  assert.equal(r.exitCode, 0);
  const t = PageTraceFile.open(out);
  const region = t.trailer.regions.find((x) => x.start === `0x${BASE.toString(16)}`);
  assert.ok(region, `a region at 0x${BASE.toString(16)}: ${JSON.stringify(t.trailer.regions.map((x) => x.name))}`);
  assert.deepEqual({ ...region, path: undefined }, { name: 'anon@0x200000000', kind: 'anon-private', prot: 'rw', start: '0x200000000', pages: 16, path: undefined });
  const rd = t.records();
  const v = new Float64Array(4096), w = new Uint8Array(4096), th = new Uint16Array(4096), c = new Float64Array(4096);
  const got: string[] = [];
  for (let n = rd.read(v, w, th, c); n > 0; n = rd.read(v, w, th, c))
    for (let i = 0; i < n; i++) {
      const pg = v[i] - BASE / 4096;
      if (pg >= 0 && pg < 16) got.push(`${th[i]}${w[i] ? 'W' : 'R'}${pg}${c[i] > 1 ? `x${c[i]}` : ''}`);
    }
  const expected = [
    ...[0, 1, 2, 3, 4, 5, 6].map((p) => `0W${p}`),
    '0W7x2', // the read of page 7 right after its write folds into the write record
    ...[6, 5, 4, 3, 2, 1, 0].map((p) => `0R${p}`),
    '0R3', '0W3',
    '0W9', '0W10',
    '0R12x2',
    ...[0, 1, 2, 3].map((p) => `1W${p}`),
    '0W15',
  ];
  assert.deepEqual(got, expected);
  assert.equal(t.trailer.threads, 2);
  assert.ok(t.trailer.regions.some((x) => x.name === 'stack'), 'the main thread\'s stack is named');
  assert.ok(progress.length >= 1 && progress[progress.length - 1] === t.trailer.accesses, 'the last progress report has the final count');
  const st = pageTraceStats(out);
  const mine = st.regions.find((x) => x.name === 'anon@0x200000000')!;
  assert.deepEqual([mine.touched, mine.written, mine.rewritten], [12, 11, 4]);
});

test('capture: a failing program, a missing valgrind and a full disk are one-line errors; no trace is left', { skip }, async () => {
  const exe = build('fails', 'int main(void) { return 3; }');
  const out = path.join(dir, 'fails.ptt');
  await assert.rejects(capture([exe], { out }), (e: Error) => e instanceof CaptureError && /exited with status 3.*no trace written/.test(e.message));
  assert.equal(fs.existsSync(out), false);
  const kept = await capture([exe], { out, allowFailure: true });
  assert.equal(kept.exitCode, 3);
  assert.ok(PageTraceFile.open(out).trailer.records > 0);
  await assert.rejects(capture([path.join(dir, 'no-such-program')], { out }), (e: Error) => e instanceof CaptureError && /could not be started/.test(e.message));
  await assert.rejects(capture([exe], { out, valgrind: path.join(dir, 'no-valgrind') }), (e: Error) => e instanceof CaptureError && /valgrind is not installed.*install it with: apt-get install valgrind/.test(e.message));
  await assert.rejects(capture([exe], { out: '/dev/full' }), (e: Error) => e instanceof CaptureError && /the disk is full/.test(e.message));
});

test('lackey parser: lines split anywhere across chunks parse the same', () => {
  const log = [
    '==1== Lackey, an example Valgrind tool',
    '--1--   SCHED[1]:  acquired lock (thread_wrapper(starting new thread))',
    'I  0401ab70,3',
    ' S 1fff000778,8',
    ' L 04222d30,8',
    'SYSCALL[7,1](12) sys_brk ( 0x0 ) --> [pre-success] Success(0x4035000) ',
    '--1--   SCHED[2]:  acquired lock (VG_(client_syscall)[async])',
    ' M 0421fe58,4',
    ' L 0421fffe,4',
  ].join('\n') + '\n';
  const run = (cuts: number[]) => {
    const seen: string[] = [];
    const p = new LackeyParser({ access: (t, a, s, w) => seen.push(`${t}:${a.toString(16)}:${s}:${w ? 'w' : 'r'}`), brk: (e) => seen.push(`brk ${e.toString(16)}`), mappingsChanged: () => seen.push('maps') });
    const b = Buffer.from(log);
    let s = 0;
    for (const c of [...cuts, b.length]) {
      p.push(b.subarray(s, c));
      s = c;
    }
    p.end();
    return seen;
  };
  const whole = run([]);
  assert.deepEqual(whole, ['0:1fff000778:8:w', '0:4222d30:8:r', 'brk 4035000', '1:421fe58:4:w', '1:421fffe:4:r']);
  for (let cut = 1; cut < log.length; cut += 3) assert.deepEqual(run([cut, Math.min(log.length, cut + 5)]), whole, `cut at ${cut}`);
});

test('capture: a command that is a #! script is named, so the capture can warn that its execs are not traced', () => {
  const sh = path.join(dir, 'shim');
  fs.writeFileSync(sh, '#!/bin/sh\nexec /usr/bin/true "$@"\n', { mode: 0o755 });
  assert.equal(scriptBehind(sh), sh);
  assert.equal(scriptBehind('/bin/sh'), null);
  assert.equal(scriptBehind(path.join(dir, 'nothing-here')), null);
});
