/**
 * Page-trace benchmarks (issue 16):
 *  - traceReplay: the committed traces/gzip.ptt replayed through the model (linux-6.18, a `trace`
 *    step that maps the trace's regions), page accesses (records) per second of the whole run —
 *    decoding, region lookup and the kernel model together (per wall second and per CPU second);
 *  - traceCapture: `ptlab trace capture` of gzip on 16 KiB of text under valgrind's lackey, raw
 *    accesses per second of wall time (valgrind dominates; null when valgrind is missing).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lab } from '../src/lab/index';
import { PageTraceFile } from '../src/workload/pagetrace-reader';

const ROOT = path.join(__dirname, '..', '..');
export const REPLAY_TRACE = path.join(ROOT, 'traces', 'gzip.ptt');

export function traceReplay(): { perSec: number; perCpuSec: number; records: number } {
  const records = PageTraceFile.open(REPLAY_TRACE).trailer.records;
  const exp = lab.experiment('replay bench').machine('skylake-sp', { cpus: 2 }).kernel('linux-6.18').trace(REPLAY_TRACE);
  exp.runSync(); // warm-up: JIT
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const r = exp.runSync();
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(c0);
  if (r.runs[0].steps[0].counters.accesses !== records) throw new Error('replay bench: short replay');
  // per CPU second too: on a shared 2-core guest the wall-clock figure mostly measures the neighbours
  return { perSec: records / s, perCpuSec: records / ((c.user + c.system) / 1e6), records };
}

export function traceCapture(): { perSec: number; accesses: number } | null {
  if (spawnSync('valgrind', ['--version']).status !== 0) return null;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-capture-bench-'));
  try {
    const words = Array.from({ length: 4000 }, (_, i) => `w${(i * 7919) % 1009}`).join(' ').slice(0, 16 * 1024);
    fs.writeFileSync(path.join(dir, 'in.txt'), words);
    const out = path.join(dir, 'gz.ptt');
    const t0 = process.hrtime.bigint();
    execFileSync(process.execPath, [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'trace', 'capture', '-q', '--out', out, '--', '/usr/bin/gzip', '-c', path.join(dir, 'in.txt')], { stdio: ['ignore', 'ignore', 'inherit'] });
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const accesses = PageTraceFile.open(out).trailer.accesses;
    return { perSec: accesses / s, accesses };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
