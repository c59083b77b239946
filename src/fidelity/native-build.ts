/**
 * Builds the native replayer (native/replay/replay.c) with the system C compiler and caches the
 * binary by a hash of its source, so a checkout compiles it once ($PTLAB_CACHE, else
 * ~/.cache/ptlab). Nothing here runs on non-Linux hosts: `replayerSupport` says why not.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/** native/replay/replay.c; compiled files live in dist/src/fidelity, three levels below the root. */
export const REPLAY_SOURCE = resolve(__dirname, '../../../native/replay/replay.c');
/** Headers replay.c includes (the binary's cache name hashes them too). */
const REPLAY_HEADERS = [resolve(__dirname, '../../../native/common/timing.h'), resolve(__dirname, '../../../native/common/fault-sample.h')];

export function cacheDir(): string {
  return process.env.PTLAB_CACHE || join(homedir(), '.cache', 'ptlab');
}

/** null when this host can run the replayer, else the reason it cannot. */
export function replayerSupport(): string | null {
  if (process.platform !== 'linux') return `native replay needs Linux (this is ${process.platform})`;
  if (process.arch !== 'x64') return `native replay needs x86-64 (this is ${process.arch}); the model is of x86-64 page tables`;
  if (!existsSync(REPLAY_SOURCE)) return `replayer source not found at ${REPLAY_SOURCE}`;
  try {
    execFileSync(process.env.CC || 'cc', ['--version'], { stdio: 'ignore' });
  } catch {
    return `no C compiler: install one (e.g. apt-get install gcc) or set CC`;
  }
  return null;
}

/** Path of the compiled replayer, compiling it first when its source changed. */
export function ensureReplayer(): string {
  const why = replayerSupport();
  if (why) throw new Error(why);
  const h = createHash('sha256').update(readFileSync(REPLAY_SOURCE));
  for (const f of REPLAY_HEADERS) h.update(readFileSync(f));
  const hash = h.digest('hex').slice(0, 16);
  const dir = cacheDir();
  const bin = join(dir, `ptlab-replay-${hash}`);
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  // compile to a private name and rename: concurrent test workers never run a half-written file
  const tmp = `${bin}.${process.pid}.tmp`;
  try {
    execFileSync(process.env.CC || 'cc', ['-O2', '-Wall', '-pthread', '-o', tmp, REPLAY_SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (e) {
    const err = (e as { stderr?: Buffer }).stderr?.toString() ?? String(e);
    throw new Error(`compiling the native replayer failed:\n${err}`);
  }
  renameSync(tmp, bin);
  return bin;
}
