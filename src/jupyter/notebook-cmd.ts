/**
 * The npm scripts around notebooks:
 *
 *   npm run notebook [-- JUPYTER_ARGS...]      install the ptlab kernelspec for this checkout and
 *                                               open Jupyter on notebooks/ (JupyterLab if present,
 *                                               else classic Notebook); without Jupyter, print the
 *                                               one command that installs it
 *   npm run notebooks:html [-- NAME.ipynb... ] [--out DIR]
 *                                               execute notebooks/*.ipynb in the ptlab kernel (a
 *                                               temporary kernelspec) and export each to HTML in
 *                                               out/notebooks/ (default)
 *
 * package.json: "notebook": "node dist/src/jupyter/notebook-cmd.js notebook",
 *               "notebooks:html": "node dist/src/jupyter/notebook-cmd.js html"
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { CliError } from '../args/cli-error';
import { command, parseCommand } from '../args/parser';
import { locatePtlab, type PtlabPackage } from './ptlab-package';
import { defaultScope, installKernelspec } from './kernelspec';
import { findJupyterCommand, installHint } from './jupyter-env';
import { executeNotebook, exportHtml, findNotebookTooling, installTemporaryKernel } from './harness';

function say(line: string): void {
  process.stdout.write(line + '\n');
}

/** `jupyter lab` when JupyterLab is installed (it renders vega-lite itself), else `jupyter notebook`. */
function jupyterApp(jupyter: string): 'lab' | 'notebook' {
  return spawnSync(jupyter, ['lab', '--version'], { stdio: 'ignore', timeout: 60_000 }).status === 0 ? 'lab' : 'notebook';
}

async function openNotebook(pkg: PtlabPackage, args: string[]): Promise<number> {
  const jupyter = findJupyterCommand();
  if (!jupyter) {
    say('Jupyter is not installed. Install it with:');
    say(`  ${installHint()}`);
    say('then run `npm run notebook` again.');
    return 1;
  }
  const scope = defaultScope();
  const installed = installKernelspec(pkg, scope);
  say(`kernel "ptlab (TypeScript)" installed in ${installed.dir}`);
  const app = jupyterApp(jupyter);
  const argv = [app, `--notebook-dir=${path.join(pkg.root, 'notebooks')}`];
  // Jupyter refuses to run as root without this flag (containers, CI boxes).
  if (typeof process.getuid === 'function' && process.getuid() === 0) argv.push('--allow-root');
  argv.push(...args);
  say(`starting: ${jupyter} ${argv.join(' ')}`);
  const child = spawn(jupyter, argv, { stdio: 'inherit' });
  // Ctrl-C reaches Jupyter from the terminal (it asks before shutting down): stay alive meanwhile.
  // SIGTERM/SIGHUP sent to this process alone (npm, a supervisor) are passed on so Jupyter stops too.
  process.on('SIGINT', () => undefined);
  for (const sig of ['SIGTERM', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));
  return await new Promise<number>((resolve) => {
    child.on('error', (e) => {
      process.stderr.write(`cannot start ${jupyter}: ${e.message}\n`);
      resolve(1);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const HTML = command('notebooks:html', '-- [NAME.ipynb...] [--out DIR]', {
  out: { type: 'string', help: 'where the executed notebooks and their HTML go; default out/notebooks' },
}, 'Executes notebooks/*.ipynb (or the NAMEs) in the ptlab kernel and exports each to HTML.', 'npm run');

function notebooksHtml(pkg: PtlabPackage, args: string[]): number {
  const { values, positionals: names } = parseCommand(HTML, args);
  const outDir = values.out !== undefined ? path.resolve(values.out) : path.join(pkg.root, 'out', 'notebooks');
  const tooling = findNotebookTooling();
  if ('missing' in tooling) {
    say(`cannot execute notebooks: ${tooling.missing}`);
    return 1;
  }
  const dir = path.join(pkg.root, 'notebooks');
  const files = names.length > 0 ? names.map((n) => path.resolve(dir, n)) : fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(dir, f));
  fs.mkdirSync(outDir, { recursive: true });
  const kernel = installTemporaryKernel();
  let failures = 0;
  try {
    for (const file of files) {
      const executed = path.join(outDir, path.basename(file));
      const html = executed.replace(/\.ipynb$/, '.html');
      const r = executeNotebook(tooling, pkg, file, { out: executed, cwd: path.dirname(file), env: kernel.env, timeoutS: 600 });
      process.stdout.write(r.stdout);
      if (!r.summary?.ok) failures++;
      if (fs.existsSync(executed)) {
        // Export failed notebooks too: the error outputs are what the reader needs to see.
        exportHtml(tooling, pkg, executed, html);
        say(`  -> ${path.relative(process.cwd(), html)}`);
      } else {
        say(`  (no executed notebook written for ${path.basename(file)}: ${r.stderr.trim()})`);
      }
    }
  } finally {
    kernel.remove();
  }
  say(failures ? `${failures} of ${files.length} notebooks failed` : `${files.length} notebooks executed and exported to ${outDir}`);
  return failures ? 1 : 0;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  const pkg = locatePtlab(__dirname);
  if (cmd === 'notebook') return openNotebook(pkg, rest);
  if (cmd === 'html') return notebooksHtml(pkg, rest);
  process.stderr.write('usage: notebook-cmd.js notebook [JUPYTER_ARGS...] | html [NAME.ipynb...] [--out DIR]\n');
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      // a usage mistake: one line, exit 2 (`--help`: the help, exit 0)
      if (e instanceof CliError && e.exitCode === 0) process.stdout.write(`${e.message}\n`);
      else process.stderr.write(`ptlab: ${(e as Error)?.message ?? String(e)}\n`);
      process.exitCode = e instanceof CliError ? e.exitCode : 1;
    },
  );
}
