/**
 * Imports only go downward (docs/architecture.md, "Layers"). Every .ts file under src/ is read, each
 * of its relative imports, exports, `import()` and `require()` (type-only ones too: a type names
 * the layer it comes from) is resolved to the layer it lands in, and a file that reaches a layer its
 * own may not import is named with the import.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const SRC = path.join(ROOT, 'src');

/** The chain of docs/architecture.md, lowest first: a layer may import every layer before it. */
const CHAIN = ['args', 'x86', 'kernel', 'cost', 'workload', 'lab', 'notebook', 'report', 'fidelity', 'cli'] as const;
/** Layers beside the chain, with what they may import (and who may import them: see USERS). */
const SIDE: Record<string, readonly string[]> = {
  // the Jupyter kernel launcher and the notebook scripts
  jupyter: ['args'],
  // recording a page trace of a real process: writes src/workload's trace format
  capture: ['args', 'x86', 'kernel', 'cost', 'workload'],
};
/** Side layers and the layers that use them. */
const USERS: Record<string, readonly string[]> = { jupyter: ['cli'], capture: ['cli'] };
/** Files directly in src/: the package entry points may import everything; version.ts nothing. */
const ENTRY_FILES = ['index.ts', 'internals.ts'];
const LEAF_FILES = ['version.ts'];

/** What each layer may import (besides itself and the leaf files). */
function mayImport(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  CHAIN.forEach((layer, i) => out.set(layer, new Set(CHAIN.slice(0, i))));
  for (const [layer, below] of Object.entries(SIDE)) out.set(layer, new Set(below));
  for (const [side, users] of Object.entries(USERS)) for (const u of users) out.get(u)!.add(side);
  return out;
}

/** The layer of a path relative to src/: its folder ('lab/resultset' -> 'lab'), or the file of src/ itself ('version' -> 'version.ts'). */
function layerOf(rel: string): string {
  if (rel.includes('/')) return rel.split('/')[0];
  if (fs.existsSync(path.join(SRC, rel)) && fs.statSync(path.join(SRC, rel)).isDirectory()) return rel;
  return `${rel.replace(/\.(ts|js)$/, '')}.ts`;
}

interface Violation {
  file: string;
  line: number;
  spec: string;
  problem: string;
}

/** The upward (or unplaced) imports of one file; `rel` is its path under src/, `text` its source. */
function checkFile(rel: string, text: string, rules = mayImport()): Violation[] {
  const out: Violation[] = [];
  const own = layerOf(rel);
  const known = (l: string) => rules.has(l) || ENTRY_FILES.includes(l) || LEAF_FILES.includes(l);
  if (!known(own)) return [{ file: rel, line: 1, spec: '', problem: `src/${own} is in no layer: place it in docs/architecture.md and in this test's table` }];
  const info = ts.preProcessFile(text, true, true);
  for (const ref of info.importedFiles) {
    const spec = ref.fileName;
    if (!spec.startsWith('./') && !spec.startsWith('../')) continue;
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(rel), spec));
    const line = text.slice(0, ref.pos).split('\n').length;
    if (target.startsWith('../')) {
      // package.json and other files outside src/ (version.ts reads the package version)
      if (LEAF_FILES.includes(rel)) continue;
      out.push({ file: rel, line, spec, problem: `reaches outside src/ (${target})` });
      continue;
    }
    const to = layerOf(target);
    if (to === own || LEAF_FILES.includes(to) || ENTRY_FILES.includes(own)) continue;
    if (LEAF_FILES.includes(own)) {
      out.push({ file: rel, line, spec, problem: `src/${own} imports nothing of src/` });
      continue;
    }
    if (ENTRY_FILES.includes(to)) {
      out.push({ file: rel, line, spec, problem: `imports the package entry src/${to}` });
      continue;
    }
    if (!rules.get(own)!.has(to)) out.push({ file: rel, line, spec, problem: `layer ${own} imports layer ${to}, which is not below it` });
  }
  return out;
}

function tsFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...tsFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

test('every file under src/ imports only its own layer and the layers below it (docs/architecture.md)', () => {
  const files = tsFiles(SRC);
  assert.ok(files.length > 150, `read ${files.length} files under ${SRC}`);
  let imports = 0;
  const problems: string[] = [];
  for (const f of files) {
    const rel = path.relative(SRC, f).split(path.sep).join('/');
    const text = fs.readFileSync(f, 'utf8');
    imports += ts.preProcessFile(text, true, true).importedFiles.filter((r) => r.fileName.startsWith('.')).length;
    for (const v of checkFile(rel, text)) {
      const line = `src/${v.file}:${v.line}: '${v.spec}': ${v.problem}`;
      if (!problems.includes(line)) problems.push(line);
    }
  }
  assert.ok(imports > 500, `resolved ${imports} relative imports`);
  if (problems.length > 0) assert.fail(`${problems.length} import(s) that do not go downward:\n${problems.join('\n')}`);
});

test('the check sees every kind of import: static, type-only, re-export, import() and require()', () => {
  const upward = [
    "import { Chart } from '../notebook/chart';",
    "import type { Table } from '../notebook/table';",
    "export { x } from '../notebook/x';",
    "let t: import('../notebook/run-progress').RunProgressDisplay;",
    "const m = require('../notebook/results-display');",
  ];
  for (const line of upward) {
    const v = checkFile('lab/resultset.ts', `// a comment\n${line}\n`);
    assert.equal(v.length, 1, line);
    assert.equal(v[0].line, 2);
    assert.match(v[0].problem, /layer lab imports layer notebook/);
  }
  assert.deepEqual(checkFile('lab/resultset.ts', "import { x } from './per';\nimport { y } from '../kernel/mm';\nimport { VERSION } from '../version';\n"), []);
  assert.match(checkFile('cost/check.ts', "import { X } from '../workload/prng';")[0].problem, /cost imports layer workload/);
  assert.match(checkFile('jupyter/launcher.ts', "import { Kernel } from '../kernel/kernel';")[0].problem, /jupyter imports layer kernel/);
  assert.deepEqual(checkFile('cli/kernel.ts', "import { a } from '../jupyter/kernelspec';"), []);
  assert.match(checkFile('lab/x.ts', "import { lab } from '../index';")[0].problem, /package entry/);
  assert.match(checkFile('newlayer/x.ts', '')[0].problem, /in no layer/);
});

test("docs/architecture.md states this test's chain of layers", () => {
  const md = fs.readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const para = /^Layers \(imports only downward\)[\s\S]*?(?=\n\n)/m.exec(md);
  assert.ok(para, 'docs/architecture.md has its "Layers (imports only downward)" paragraph');
  const chain = para[0].slice(0, para[0].indexOf('`src/cli`') + '`src/cli`'.length);
  assert.deepEqual([...chain.matchAll(/`src\/(\w+)`/g)].map((m) => m[1]), [...CHAIN]);
  for (const side of Object.keys(SIDE)) assert.match(para[0], new RegExp(`\`src/${side}\``), `the paragraph places src/${side}`);
});
