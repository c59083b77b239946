/**
 * The library's declarations must work in the notebook kernel's compiler: tslab 1.0.22 type-checks
 * cells with its own TypeScript 5.0.4 and node10 resolution, while ptlab is built with a newer
 * TypeScript. tslab itself would hide a problem: it skips lib checks, never reports syntax errors in
 * .d.ts files it did not emit, and drops diagnostics for files outside the notebook folder, so a
 * declaration TS 5.0 cannot read silently turns into `any` (a wrong spec is then accepted).
 *
 * This compiles `import * as ptlab from 'ptlab'` the way tslab does and requires: no syntax error in
 * any file, and no semantic error in ptlab's own .d.ts files (e.g. TS2307 for a module node10
 * cannot resolve, or syntax newer than 5.0 such as `resolution-mode` import attributes).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { locatePtlab } from '../src/jupyter/ptlab-package';
import { loadTslab } from '../src/jupyter/tslab-api';

/** tslab's own TypeScript and the options its converter compiles cells with. */
function tslabCompiler() {
  const pkg = locatePtlab(path.join(__dirname, '..', 'src', 'jupyter'));
  assert.ok(fs.existsSync(pkg.types), `${pkg.types} exists (build the library first)`);
  const tslab = loadTslab(pkg.root);
  // The full compiler API of the TypeScript bundled with tslab (tslab-api.ts declares only ts.sys).
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslab.dir] })) as typeof import('typescript');
  assert.equal(ts.version, '5.0.4');
  const options: import('typescript').CompilerOptions = {
    // As tslab's converter (tslab/dist/converter.js createConverter), except lib checks stay on.
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2022.d.ts'],
    esModuleInterop: true,
    resolveJsonModule: true,
    experimentalDecorators: true,
    skipDefaultLibCheck: true,
    noEmit: true,
    types: ['node'],
    typeRoots: [path.join(pkg.root, 'node_modules', '@types')],
  };
  const format = (d: import('typescript').Diagnostic): string => {
    const where = d.file && d.start !== undefined ? (() => {
      const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start!);
      return `${path.relative(pkg.root, d.file!.fileName)}:${line + 1}:${character + 1}`;
    })() : '(global)';
    return `${where} TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  };
  return { pkg, ts, options, format };
}

test("ptlab's .d.ts files parse and type-check under tslab's TypeScript 5.0 with node10 resolution", () => {
  const { pkg, ts, options, format } = tslabCompiler();
  const program = ts.createProgram([pkg.types], options);
  const problems: string[] = [];
  for (const sf of program.getSourceFiles()) {
    for (const d of program.getSyntacticDiagnostics(sf)) problems.push(format(d));
    const own = path.resolve(sf.fileName).startsWith(path.join(pkg.build, 'src') + path.sep);
    if (own) for (const d of program.getSemanticDiagnostics(sf)) problems.push(format(d));
  }
  const ownFiles = program.getSourceFiles().filter((sf) => path.resolve(sf.fileName).startsWith(pkg.build + path.sep));
  assert.ok(ownFiles.length >= 1, 'the entry declarations were loaded');
  assert.deepEqual(problems, [], `declarations TypeScript 5.0 cannot use:\n${problems.join('\n')}`);
});

test("a cell sees a ResultSet's views with the notebook's types (src/notebook declares them into the lab's ResultViewTypes)", () => {
  const { pkg, ts, options, format } = tslabCompiler();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-views-'));
  try {
    const cell = path.join(dir, 'cell.ts');
    const entry = pkg.types.replace(/\.d\.ts$/, '');
    fs.writeFileSync(
      cell,
      [
        `import type { ResultSet, Chart, Table } from ${JSON.stringify(entry)};`,
        'declare const results: ResultSet;',
        "export const chart: Chart = results.chart('cycles', { per: 'access' }).title('t');",
        "export const metric: Chart = results.chart('cycles.dBitSet', { x: 'params.size' });",
        "export const summary: Table = results.summary({ baseline: 'linux-5.19' });",
        "export const frame: Table = results.frame({ metric: 'cycles.total' });",
        'export const shown: Promise<void> = results.show({ chart: false });',
        '// @ts-expect-error an option the pte-map chart does not take',
        "results.chart('pte-map', { nope: 1 });",
      ].join('\n'),
    );
    const program = ts.createProgram([cell], options);
    const problems = [...program.getSyntacticDiagnostics(), ...program.getSemanticDiagnostics(program.getSourceFile(cell))].map(format);
    assert.deepEqual(problems, []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
