/**
 * Integration: a single-node Slurm on localhost runs `ptlab sweep --slurm 4` (a 16-run sweep in
 * 4 array tasks plus the dependent merge job) and the merged results must equal a local run.
 * Needs Debian's slurm-wlm and munge, and root or passwordless sudo (munged, slurmctld and slurmd
 * run as root from a temp dir; jobs run as the invoking user). Without them the test is SKIPPED —
 * except with CI=true, where it must run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { toyCliEnv } from './helpers/toy-cli';

const MAIN = path.join(__dirname, '..', 'src', 'cli', 'main.js');
const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'sinfo', 'squeue'];

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const f = path.join(d, cmd);
    try {
      fs.accessSync(f, fs.constants.X_OK);
      return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitFor(what: string, ok: () => boolean, seconds: number, log: () => string): Promise<void> {
  for (let i = 0; i < seconds * 4; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.fail(`timed out waiting for ${what}\n${log()}`);
}

test('Slurm: a 16-run sweep in 4 array tasks plus a dependent merge equals the local run', async (t) => {
  const missing = DAEMONS.filter((d) => !which(d));
  const isRoot = process.getuid?.() === 0;
  // not root: start the daemons through passwordless sudo
  const sudo = !isRoot && spawnSync('sudo', ['-n', 'true']).status === 0 ? ['sudo', '-n'] : [];
  const mungeKey = '/etc/munge/munge.key';
  const keyOk = isRoot ? fs.existsSync(mungeKey) : sudo.length > 0 && spawnSync('sudo', ['-n', 'test', '-r', mungeKey]).status === 0;
  if (missing.length > 0 || (!isRoot && sudo.length === 0) || !keyOk) {
    const why = missing.length > 0 ? `missing ${missing.join(', ')} (apt-get install -y slurm-wlm munge)` : !isRoot && sudo.length === 0 ? 'not root and no passwordless sudo' : `no ${mungeKey}`;
    if (process.env.CI === 'true') assert.fail(`Slurm integration test cannot run in CI: ${why}`);
    t.skip(`SKIPPED: ${why}`);
    return;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-slurm-'));
  const host = os.hostname().split('.')[0];
  const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
  for (const d of ['state', 'spool']) fs.mkdirSync(path.join(dir, d));
  const conf = path.join(dir, 'slurm.conf');
  // Single node, no cgroups (proctrack/linuxproc, task/none) so it runs inside containers.
  fs.writeFileSync(
    conf,
    [
      'ClusterName=ptlabtest',
      `SlurmctldHost=${host}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${dir}/munge.socket`,
      'CredType=cred/munge',
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'SchedulerType=sched/backfill',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core',
      'SlurmUser=root',
      'SlurmdUser=root',
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ReturnToService=2',
      'MpiDefault=none',
      `NodeName=${host} CPUs=${os.cpus().length} State=UNKNOWN`,
      `PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = toyCliEnv({ ...process.env, SLURM_CONF: conf });
  const logs = () => ['slurmctld.log', 'slurmd.log', 'munged.log'].map((f) => `--- ${f}\n${readTail(path.join(dir, f))}`).join('\n');
  const asRoot = (cmd: string, args: string[]) =>
    sudo.length > 0 ? execFileSync(sudo[0], [...sudo.slice(1), `SLURM_CONF=${conf}`, which(cmd) as string, ...args], { env }) : execFileSync(which(cmd) as string, args, { env });
  const stop = () => {
    spawnSync('scancel', [`--user=${os.userInfo().username}`], { env });
    for (const f of ['slurmd', 'slurmctld', 'munged']) {
      try {
        const pid = fs.readFileSync(path.join(dir, `${f}.pid`), 'utf8').trim();
        if (sudo.length > 0) spawnSync(sudo[0], [...sudo.slice(1), 'kill', pid]);
        else process.kill(Number(pid), 'SIGTERM');
      } catch {
        // not started or already gone
      }
    }
  };
  try {
    asRoot('munged', [`--socket=${dir}/munge.socket`, `--key-file=${mungeKey}`, `--pid-file=${dir}/munged.pid`, `--log-file=${dir}/munged.log`, `--seed-file=${dir}/munge.seed`, '--force']);
    asRoot('slurmctld', ['-f', conf]);
    asRoot('slurmd', ['-f', conf, '-N', host]);
    await waitFor('the node to become idle', () => /idle/.test(spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout ?? ''), 60, logs);

    const spec = {
      name: 'slurm sweep',
      machine: { cpu: 'skylake-sp', cpus: 2 },
      kernel: ['linux-6.18', 'rfc-2022-uffd-hints'],
      steps: [
        { op: 'mmap', region: 'heap', size: '1MiB' },
        { op: 'touch', region: 'heap', access: 'rw', writeRatio: '$wr', pattern: 'zipf', count: 5000, threads: 2 },
      ],
      sweep: { seed: [1, 2, 3, 4], wr: [0.1, 0.9] },
    };
    const specFile = path.join(dir, 'spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const out = path.join(dir, 'sweep');
    execFileSync(process.execPath, [MAIN, 'sweep', specFile, '--slurm', '4', '--out', out], { env });
    execFileSync('sh', [path.join(out, 'slurm', 'submit.sh')], { env });
    const merged = path.join(out, 'merged', 'results.json');
    await waitFor('the merge job', () => fs.existsSync(merged) && (spawnSync('squeue', ['-h'], { env, encoding: 'utf8' }).stdout ?? 'x').trim() === '', 180, () => `${logs()}\n--- shard/merge output\n${fs.readdirSync(path.join(out, 'slurm')).filter((f) => f.endsWith('.out')).map((f) => readTail(path.join(out, 'slurm', f))).join('\n')}`);

    const local = JSON.parse(execFileSync(process.execPath, [MAIN, 'run', specFile, '--json', '--quiet'], { env, encoding: 'utf8' }));
    const fromSlurm = JSON.parse(fs.readFileSync(merged, 'utf8'));
    assert.equal(fromSlurm.runs.length, 16);
    for (let i = 1; i <= 4; i++) assert.equal(JSON.parse(fs.readFileSync(path.join(out, 'shards', String(i), 'results.json'), 'utf8')).runs.length, 4, `shard ${i}`);
    assert.deepEqual(fromSlurm, local);
  } finally {
    stop();
  }
});

function readTail(f: string): string {
  try {
    return fs.readFileSync(f, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(none)';
  }
}
