/**
 * A sweep killed mid-way (SIGKILL: no chance to clean up) resumes from its saved runs without
 * redoing or losing any, and its final results equal an uninterrupted run's (issue 8).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const MAIN = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const SPEC = {
  name: 'resume after SIGKILL',
  seed: [1, 2, 3, 4],
  machine: { cpu: 'skylake-sp', cpus: 2 },
  kernel: ['linux-5.19', 'linux-6.18'],
  steps: [
    { op: 'mmap', region: 'heap', size: '32MiB' },
    { op: 'touch', region: 'heap', access: 'write' },
    { op: 'uffd-register', region: 'heap', modes: ['wp'] },
    { op: 'uffd-writeprotect', region: 'heap', wp: true },
    { op: 'uffd-writeprotect', region: 'heap', wp: false },
    { op: 'touch', region: 'heap', access: 'rw', pattern: 'random', count: 300000 },
  ],
};

function runsIn(dir: string): string[] {
  const d = path.join(dir, 'runs');
  return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => f.endsWith('.json')) : [];
}

test('a sweep killed with SIGKILL resumes without losing or redoing runs; results equal an uninterrupted run', async () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-resume-'));
  const spec = path.join(tmp, 'spec.json');
  fs.writeFileSync(spec, JSON.stringify(SPEC));
  const killed = path.join(tmp, 'killed');
  const child = spawn(process.execPath, [MAIN, 'run', spec, '--out', killed, '--jobs', '1'], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  // kill it once at least two runs are saved, and before it finishes
  await new Promise<void>((resolve, reject) => {
    const t = setInterval(() => {
      if (runsIn(killed).length >= 2) {
        child.kill('SIGKILL');
        clearInterval(t);
        resolve();
      }
    }, 20);
    child.on('exit', () => {
      clearInterval(t);
      resolve();
    });
    setTimeout(() => reject(new Error('no run saved within 120 s')), 120_000).unref();
  });
  await exited;
  const saved = runsIn(killed);
  assert.ok(saved.length >= 2 && saved.length < 8, `killed mid-way (${saved.length} of 8 runs saved)`);
  const savedBefore = new Map(saved.map((f) => [f, fs.readFileSync(path.join(killed, 'runs', f), 'utf8')]));

  const resumed = spawnSync(process.execPath, [MAIN, 'run', spec, '--out', killed, '--resume', '--jobs', '1'], { encoding: 'utf8' });
  assert.equal(resumed.status, 0, resumed.stderr);
  assert.equal((resumed.stderr.match(/\(resumed\)/g) ?? []).length, saved.length, 'every saved run is reused, none redone');
  for (const [f, text] of savedBefore) assert.equal(fs.readFileSync(path.join(killed, 'runs', f), 'utf8'), text, `${f} untouched`);

  const fresh = path.join(tmp, 'fresh');
  const whole = spawnSync(process.execPath, [MAIN, 'run', spec, '--out', fresh, '--jobs', '2'], { encoding: 'utf8' });
  assert.equal(whole.status, 0, whole.stderr);
  const a = JSON.parse(fs.readFileSync(path.join(killed, 'results.json'), 'utf8'));
  const b = JSON.parse(fs.readFileSync(path.join(fresh, 'results.json'), 'utf8'));
  assert.equal(a.runs.length, 8);
  assert.deepEqual(a.runs, b.runs);
  fs.rmSync(tmp, { recursive: true, force: true });
});
