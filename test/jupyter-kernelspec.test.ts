import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main as kernelCli } from '../src/cli/kernel';
import { CliError } from '../src/args/cli-error';
import { DISPLAY_NAME, installKernelspec, kernelDir, launcherPath, listKernelspecs, removeKernelspec, userDataDir } from '../src/jupyter/kernelspec';
import { locatePtlab } from '../src/jupyter/ptlab-package';
import { hookRuntimeResolution, hookTypeResolution, mapPtlabRequest, virtualPackageJson, type TsSysLike } from '../src/jupyter/resolve-ptlab';
import { loadTslab, TSLAB_VERSION, TslabVersionError } from '../src/jupyter/tslab-api';

const pkg = locatePtlab(path.join(__dirname, '..', 'src', 'jupyter'));

function tmp(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Width and height from a PNG's IHDR chunk. */
function pngSize(buf: Buffer): { width: number; height: number } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** Silence a CLI call's stdout while keeping its return value. */
async function quiet<T>(fn: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await fn();
  } finally {
    process.stdout.write = write;
  }
}

test('install writes kernel.json that runs this build\'s launcher with an absolute node, plus 32/64 px logos', () => {
  const prefix = tmp('ptlab-ks-');
  try {
    const result = installKernelspec(pkg, { kind: 'prefix', prefix });
    assert.equal(result.dir, path.join(prefix, 'share', 'jupyter', 'kernels', 'ptlab'));
    const spec = JSON.parse(fs.readFileSync(path.join(result.dir, 'kernel.json'), 'utf8'));
    assert.equal(spec.display_name, DISPLAY_NAME);
    assert.equal(spec.language, 'typescript');
    assert.ok(path.isAbsolute(spec.argv[0]) && fs.existsSync(spec.argv[0]), 'node is an absolute, existing path');
    assert.equal(spec.argv[1], launcherPath(pkg));
    assert.ok(fs.existsSync(spec.argv[1]), 'launcher exists');
    assert.deepEqual(spec.argv.slice(2), ['--config-path', '{connection_file}']);
    assert.equal(spec.metadata.ptlab.tslab, TSLAB_VERSION);
    assert.equal(result.logoWarning, undefined);
    for (const size of [32, 64]) {
      const dims = pngSize(fs.readFileSync(path.join(result.dir, `logo-${size}x${size}.png`)));
      assert.deepEqual(dims, { width: size, height: size });
    }
    assert.ok(fs.readFileSync(path.join(result.dir, 'logo-svg.svg'), 'utf8').startsWith('<svg'));
    assert.equal(removeKernelspec({ kind: 'prefix', prefix }), result.dir);
    assert.equal(fs.existsSync(result.dir), false);
    assert.equal(removeKernelspec({ kind: 'prefix', prefix }), null, 'second remove finds nothing');
  } finally {
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});

test('`ptlab kernel` CLI: install, list (sees JUPYTER_PATH), remove; bad input is a CliError naming the fix', async () => {
  const prefix = tmp('ptlab-kernel-cli-');
  const savedPath = process.env.JUPYTER_PATH;
  try {
    assert.equal(await quiet(() => kernelCli(['install', '--prefix', prefix])), 0);
    process.env.JUPYTER_PATH = path.join(prefix, 'share', 'jupyter');
    const listing = listKernelspecs();
    const ptlab = listing.kernels.find((k) => k.name === 'ptlab');
    assert.ok(ptlab, `ptlab listed (via ${listing.source})`);
    assert.equal(fs.realpathSync(ptlab.resourceDir), fs.realpathSync(kernelDir({ kind: 'prefix', prefix })));
    assert.equal(ptlab.displayName, DISPLAY_NAME);
    assert.equal(await quiet(() => kernelCli(['list'])), 0);
    assert.equal(await quiet(() => kernelCli(['remove', `--prefix=${prefix}`])), 0);
    await assert.rejects(() => kernelCli(['remove', '--prefix', prefix]), (e: unknown) => e instanceof CliError && /no "ptlab" kernelspec/.test(e.message));
    await assert.rejects(() => kernelCli(['install', '--user', '--prefix', prefix]), (e: unknown) => e instanceof CliError && /choose one of/.test(e.message));
    await assert.rejects(() => kernelCli(['install', '--frobnicate']), (e: unknown) => e instanceof CliError && /unknown option "--frobnicate"/.test(e.message));
    await assert.rejects(() => kernelCli(['install', '--prefix']), (e: unknown) => e instanceof CliError && /--prefix needs a value/.test(e.message));
    await assert.rejects(() => kernelCli([]), (e: unknown) => e instanceof CliError && /kernel: say install, list or remove/.test(e.message));
  } finally {
    if (savedPath === undefined) delete process.env.JUPYTER_PATH;
    else process.env.JUPYTER_PATH = savedPath;
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});

test('user data dir follows jupyter_core: JUPYTER_DATA_DIR, then XDG_DATA_HOME, per platform', () => {
  assert.equal(userDataDir({ JUPYTER_DATA_DIR: '/j' }, 'linux', '/h'), '/j');
  assert.equal(userDataDir({ XDG_DATA_HOME: '/x' }, 'linux', '/h'), path.join('/x', 'jupyter'));
  assert.equal(userDataDir({}, 'linux', '/h'), path.join('/h', '.local', 'share', 'jupyter'));
  assert.equal(userDataDir({}, 'darwin', '/h'), path.join('/h', 'Library', 'Jupyter'));
});

test("'ptlab' maps to this build's entry, 'ptlab/<sub>' into the package, anything else is untouched", () => {
  assert.equal(mapPtlabRequest('ptlab', pkg), pkg.main);
  assert.equal(mapPtlabRequest('ptlab/package.json', pkg), path.join(pkg.root, 'package.json'));
  for (const other of ['ptlabx', 'zod', './ptlab', '@scope/ptlab', 'ptlab-extra']) assert.equal(mapPtlabRequest(other, pkg), null);
});

test('runtime hook: require("ptlab") from any folder resolves to this build, and can be removed', () => {
  const dir = tmp('ptlab-rt-');
  const req = require('module').createRequire(path.join(dir, 'x.js')) as NodeRequire;
  const unhook = hookRuntimeResolution(pkg);
  try {
    assert.equal(req.resolve('ptlab'), pkg.main);
  } finally {
    unhook();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => req.resolve('ptlab'), /Cannot find module 'ptlab'/);
});

test('type hook: <cwd>/node_modules/ptlab is served from the package with types pointing at this build', () => {
  const cwd = '/somewhere/notebooks';
  const calls: string[] = [];
  const sys: TsSysLike = {
    readFile: (p) => (calls.push(`read ${p}`), `content of ${p}`),
    fileExists: (p) => (calls.push(`exists ${p}`), p.endsWith('.d.ts')),
    directoryExists: (p) => p === pkg.root || p.startsWith(pkg.root + '/'),
    realpath: (p) => `real:${p}`,
  };
  const restore = hookTypeResolution(sys, cwd, pkg);
  const virt = `${cwd}/node_modules/ptlab`;
  const manifest = JSON.parse(sys.readFile(`${virt}/package.json`)!);
  assert.deepEqual(manifest, JSON.parse(virtualPackageJson(pkg)));
  assert.equal(path.join(pkg.root, manifest.types), pkg.types);
  assert.equal(sys.fileExists(`${virt}/package.json`), true);
  assert.equal(sys.fileExists(`${virt}/dist/src/index.d.ts`), true);
  assert.equal(sys.readFile(`${virt}/dist/src/index.d.ts`), `content of ${pkg.root}/dist/src/index.d.ts`);
  assert.equal(sys.directoryExists(virt), true);
  assert.equal(sys.realpath!(`${virt}/dist/src/index.d.ts`), `real:${pkg.root}/dist/src/index.d.ts`);
  // Outside the virtual package nothing changes.
  assert.equal(sys.readFile('/elsewhere/node_modules/ptlab/package.json'), 'content of /elsewhere/node_modules/ptlab/package.json');
  assert.equal(sys.realpath!('/a/b'), 'real:/a/b');
  assert.equal(sys.directoryExists(`${cwd}/node_modules/ptlabx`), false);
  restore();
  assert.equal(sys.readFile(`${virt}/package.json`), `content of ${virt}/package.json`);
});

test('launcher --check reports the pinned tslab of this installation; a bad argument is one readable line', () => {
  const r = spawnSync(process.execPath, [launcherPath(pkg), '--check'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const info = JSON.parse(r.stdout);
  assert.equal(info.tslab, TSLAB_VERSION);
  assert.equal(info.typescript, '5.0.4');
  assert.equal(info.main, pkg.main);
  assert.equal(fs.realpathSync(info.tslabDir), fs.realpathSync(path.join(pkg.root, 'node_modules', 'tslab')));
  const bad = spawnSync(process.execPath, [launcherPath(pkg), '--bogus'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^ptlab kernel: launcher.js: unknown option "--bogus"; valid options: --config-path VALUE, --check/);
  assert.ok(!bad.stderr.includes('    at '), 'no stack trace');
});

test('the kernel refuses a tslab other than the pinned version, and a missing one, with the fix', () => {
  const dir = tmp('ptlab-pin-');
  try {
    assert.throws(() => loadTslab(dir), (e: unknown) => e instanceof TslabVersionError && /tslab is not installed next to ptlab.*npm install/.test(e.message));
    fs.mkdirSync(path.join(dir, 'node_modules', 'tslab'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'node_modules', 'tslab', 'package.json'), JSON.stringify({ name: 'tslab', version: '1.0.21' }));
    assert.throws(
      () => loadTslab(dir),
      (e: unknown) => e instanceof TslabVersionError && e.message.includes(`needs tslab ${TSLAB_VERSION} but found tslab 1.0.21`) && e.message.includes(`npm install tslab@${TSLAB_VERSION}`),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
