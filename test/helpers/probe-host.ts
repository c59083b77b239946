/** Whether the native calibration probe can be built and run on this machine, for the tests that run it. */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { probeSupport, type ProbeResult } from '../../src/cost/probe-runner';

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

/**
 * One probe measurement for fixtures: `median` with p25/p75 at ±spreadPct/2 around it (so
 * spreadPct() gives spreadPct), the other quantiles at the median.
 */
export function probeStat(name: string, median: number, unit: ProbeResult['unit'] = 'page', opts: { n?: number; spreadPct?: number; what?: string } = {}): ProbeResult {
  const half = (opts.spreadPct ?? 0) / 200;
  return { name, what: opts.what ?? name, unit, n: opts.n ?? 7, min: median, p10: median, p25: median * (1 - half), median, p75: median * (1 + half), p90: median, mean: median };
}
