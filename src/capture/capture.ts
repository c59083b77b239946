/**
 * `ptlab trace capture`: runs a program under valgrind's lackey tool and streams its data
 * accesses into a page trace (docs/traces.md). valgrind writes its log to a pipe (fd 3) that is
 * parsed as it arrives, so memory stays bounded: one log chunk, one trace block, and one entry
 * per touched page. When this process falls behind, the pipe fills and valgrind waits.
 *
 * The program's stdin, stdout and stderr are this process's. valgrind serialises threads and
 * reports each switch (`--trace-sched`), so the trace keeps the program order of all threads.
 * Children the program execs are not traced (valgrind's default).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LackeyParser } from './lackey';
import { buildRegions, MapsHistory, parseMaps } from './regions';
import { PAGE_BYTES, type TraceTrailer } from '../workload/pagetrace-format';
import { PageTraceWriter, TraceWriteError } from '../workload/pagetrace-writer';

export const INSTALL_VALGRIND = 'apt-get install valgrind';

/** The capture could not run or the program failed: a one-line message with the fix. */
export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

export interface CaptureOptions {
  out: string;
  /** called with a warning worth showing (CMD is a script) */
  onWarning?: (message: string) => void;
  /** called about every half second and at the end */
  onProgress?: (p: CaptureProgress) => void;
  /** keep the trace when the program exits with a non-zero status (default: refuse) */
  allowFailure?: boolean;
  /** the valgrind to run (default `valgrind` on PATH) */
  valgrind?: string;
}

export interface CaptureProgress {
  accesses: number;
  records: number;
  pages: number;
  bytesWritten: number;
  seconds: number;
  done: boolean;
}

export interface CaptureResult {
  trailer: TraceTrailer;
  exitCode: number;
  seconds: number;
  /** raw accesses per second of wall time (valgrind and parsing together) */
  accessesPerSec: number;
}

/** valgrind's version string, or null when it is not installed. */
export function valgrindVersion(valgrind = 'valgrind'): string | null {
  const r = spawnSync(valgrind, ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.trim();
}

/**
 * The script behind `cmd` (a `#!` file found on PATH), or null. valgrind then traces the
 * interpreter running it (a pyenv shim's bash, say), and the program the script execs is not
 * traced, so the capture warns.
 */
export function scriptBehind(cmd: string): string | null {
  const dirs = cmd.includes('/') ? [''] : (process.env.PATH ?? '').split(':').filter(Boolean);
  for (const d of dirs) {
    const f = d ? path.join(d, cmd) : cmd;
    try {
      if (!fs.statSync(f).isFile()) continue;
      const fd = fs.openSync(f, 'r');
      const b = Buffer.alloc(2);
      const n = fs.readSync(fd, b, 0, 2, 0);
      fs.closeSync(fd);
      return n === 2 && b.toString('latin1') === '#!' ? f : null;
    } catch {
      /* not here */
    }
  }
  return null;
}

export function capture(command: readonly string[], opts: CaptureOptions): Promise<CaptureResult> {
  const vg = opts.valgrind ?? 'valgrind';
  if (command.length === 0) return Promise.reject(new CaptureError('trace capture: no command given; write `ptlab trace capture --out prog.ptt -- CMD ARGS...`'));
  const version = valgrindVersion(vg);
  if (version === null) return Promise.reject(new CaptureError(`trace capture: valgrind is not installed (it provides the lackey tracer); install it with: ${INSTALL_VALGRIND}`));
  const script = scriptBehind(command[0]);
  if (script)
    opts.onWarning?.(`\`${command[0]}\` is a script (${script}): valgrind traces its interpreter, not the programs it execs; give the program itself (e.g. /usr/bin/python3) to trace that`);
  let writer: PageTraceWriter;
  try {
    writer = new PageTraceWriter(opts.out);
  } catch (e) {
    return Promise.reject(e instanceof TraceWriteError ? new CaptureError(`trace capture: ${e.message}`) : e);
  }
  const t0 = Date.now();
  const maps = new MapsHistory();
  const touched = new Set<number>();
  const firstPage: number[] = [];
  let heapStart = -1, heapEnd = -1;
  let lastVpn = -1, lastThread = -1;
  let lastMaps = 0;
  let failure: Error | null = null;

  const child = spawn(
    vg,
    ['--tool=lackey', '--basic-counts=no', '--trace-mem=yes', '--trace-sched=yes', '--trace-syscalls=yes', '--log-fd=3', '--', ...command],
    { stdio: ['inherit', 'inherit', 'inherit', 'pipe'] },
  );
  const snapshot = () => {
    lastMaps = Date.now();
    try {
      maps.add(parseMaps(fs.readFileSync(`/proc/${child.pid}/maps`, 'utf8')));
    } catch {
      /* the process is gone: the snapshots so far must do */
    }
  };
  const parser = new LackeyParser({
    access(thread, address, size, write) {
      const first = Math.floor(address / PAGE_BYTES);
      const last = Math.floor((address + Math.max(size, 1) - 1) / PAGE_BYTES);
      writer.access(thread, first, write);
      if (first !== lastVpn || thread !== lastThread) {
        touched.add(first);
        if (firstPage[thread] === undefined) firstPage[thread] = first;
        lastVpn = first;
        lastThread = thread;
      }
      if (last !== first) {
        writer.access(thread, last, write);
        touched.add(last);
        lastVpn = last;
      }
    },
    brk(end) {
      const p = Math.ceil(end / PAGE_BYTES);
      if (heapStart < 0) heapStart = p;
      if (p > heapEnd) heapEnd = p;
    },
    mappingsChanged() {
      if (Date.now() - lastMaps >= 20) snapshot();
    },
  });
  const progress = (done: boolean) =>
    opts.onProgress?.({ accesses: writer.accesses, records: writer.records, pages: touched.size, bytesWritten: writer.bytes, seconds: (Date.now() - t0) / 1000, done });
  const timer = setInterval(() => {
    snapshot();
    progress(false);
  }, 500);
  const early = setTimeout(snapshot, 100);

  return new Promise<CaptureResult>((resolve, reject) => {
    const fail = (e: Error) => {
      if (failure) return;
      failure = e;
      child.kill('SIGKILL');
    };
    // Ctrl-C or a kill: stop valgrind and leave no half-written trace behind
    const onSignal = () => fail(new CaptureError('trace capture: interrupted; no trace written'));
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const log = child.stdio[3] as NodeJS.ReadableStream;
    log.on('data', (chunk: Buffer) => {
      if (failure) return;
      try {
        parser.push(chunk);
      } catch (e) {
        fail(e as Error);
      }
    });
    child.on('error', (e) => fail(new CaptureError(`trace capture: cannot run valgrind (${(e as NodeJS.ErrnoException).code ?? e.message}); install it with: ${INSTALL_VALGRIND}`)));
    child.on('close', (code, signal) => {
      clearInterval(timer);
      clearTimeout(early);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const seconds = (Date.now() - t0) / 1000;
      const removeOut = () => {
        writer.abort();
        fs.rmSync(opts.out, { force: true });
      };
      if (failure) {
        removeOut();
        reject(failure instanceof TraceWriteError ? new CaptureError(`trace capture: ${failure.message}`) : failure);
        return;
      }
      parser.end();
      const cmd = command.join(' ');
      const why = valgrindSays(parser.tail);
      if (signal) {
        removeOut();
        reject(new CaptureError(`trace capture: \`${cmd}\` was killed by ${signal}${why}; no trace written`));
        return;
      }
      if (code === 127 && parser.accesses === 0) {
        removeOut();
        reject(new CaptureError(`trace capture: \`${command[0]}\` could not be started (not found or not executable; valgrind says so above); no trace written`));
        return;
      }
      if (code !== 0 && !opts.allowFailure) {
        removeOut();
        reject(new CaptureError(`trace capture: \`${cmd}\` exited with status ${code}${why}; no trace written (its output is above; --allow-failure keeps the trace of a failing run)`));
        return;
      }
      try {
        const pages = Float64Array.from(touched).sort();
        const regions = buildRegions(maps.entries(), heapStart >= 0 ? { start: heapStart, end: heapEnd } : null, pages, firstPage);
        const trailer = writer.finish(regions, {
          command: [...command],
          tool: `${version} lackey --trace-mem=yes`,
          date: new Date().toISOString(),
          exitCode: code,
          mapsSnapshots: maps.snapshots,
          seconds: Number(seconds.toFixed(2)),
        });
        progress(true);
        resolve({ trailer, exitCode: code ?? 0, seconds, accessesPerSec: seconds > 0 ? parser.accesses / seconds : 0 });
      } catch (e) {
        removeOut();
        reject(e instanceof TraceWriteError ? new CaptureError(`trace capture: ${e.message}`) : e);
      }
    });
  });
}

/** valgrind's last message lines that explain a failure, if any. */
function valgrindSays(tail: string[]): string {
  const msg = tail.map((l) => l.replace(/^==\d+==\s*/, '').trim()).filter((l) => l.length > 0 && !/^(Exit code|Counted|Lackey|Copyright|Using Valgrind|Command:)/.test(l));
  const pick = msg.find((l) => /Process terminating|signal|out of memory|Fatal|error/i.test(l));
  return pick ? ` (valgrind: ${pick})` : '';
}
