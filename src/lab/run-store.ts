/**
 * Saving finished runs one by one (`DIR/runs/<file>.json`) so an interrupted sweep loses nothing
 * and `--resume` picks up where it stopped. Each file is written to a temporary name and renamed,
 * so a crash mid-write leaves no half file that looks finished.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunResult } from './types';

export const RUNS_DIR = 'runs';

/** 32-bit FNV-1a of a string, as 8 hex digits (keeps sanitized file names unique). */
function fnv1a(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** File name for a run id: readable, safe on every filesystem, unique by a hash suffix. */
export function runFileName(id: string): string {
  const readable = id.replace(/[^A-Za-z0-9._=-]+/g, '_').slice(0, 120);
  return `${readable}.${fnv1a(id)}.json`;
}

export function saveRun(dir: string, run: RunResult): void {
  const runsDir = path.join(dir, RUNS_DIR);
  fs.mkdirSync(runsDir, { recursive: true });
  const file = path.join(runsDir, runFileName(run.id));
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(run));
  fs.renameSync(tmp, file);
}

/** Runs saved in DIR/runs, by id (unreadable files are skipped: those runs simply run again). */
export function loadSavedRuns(dir: string): Map<string, RunResult> {
  const out = new Map<string, RunResult>();
  const runsDir = path.join(dir, RUNS_DIR);
  let names: string[];
  try {
    names = fs.readdirSync(runsDir);
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    if (!n.endsWith('.json')) continue;
    try {
      const r = JSON.parse(fs.readFileSync(path.join(runsDir, n), 'utf8')) as RunResult;
      if (r && typeof r.id === 'string' && Array.isArray(r.steps)) out.set(r.id, r);
    } catch {
      // a file cut short by a crash before rename cannot exist; anything else unreadable reruns
    }
  }
  return out;
}
