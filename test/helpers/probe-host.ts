/** Whether the native calibration probe can be built and run on this machine, for the tests that run it. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { probeSupport } from '../../src/cost/probe-runner';

function hasCc(): boolean {
  try {
    execFileSync(process.env.CC || 'cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Why the probe cannot run here (the test is skipped with it), or undefined. */
export const probeSkipReason: string | undefined = probeSupport() ?? (hasCc() ? undefined : 'no C compiler (cc) on PATH');

/** Run `fn` with PTLAB_CACHE set to a fresh temporary directory (the probe is built there), removed after. */
export async function withTempProbeCache<T>(fn: () => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-probe-'));
  const old = process.env.PTLAB_CACHE;
  process.env.PTLAB_CACHE = dir;
  try {
    return await fn();
  } finally {
    if (old === undefined) delete process.env.PTLAB_CACHE;
    else process.env.PTLAB_CACHE = old;
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
