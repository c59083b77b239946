/**
 * The public API is small and documented: `Object.keys(require('ptlab'))` stays at about 40
 * names, each has a section in docs/api.md with an example, and every example runs as written.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.join(__dirname, '..', '..');
const API_MD = fs.readFileSync(path.join(ROOT, 'docs', 'api.md'), 'utf8');
const ENTRY = path.join(__dirname, '..', 'src', 'index.js');

/** `### \`name\`` sections and the first code block under each: [fence info, code]. */
function sections(md: string): Map<string, { info: string; code: string }> {
  const out = new Map<string, { info: string; code: string }>();
  const parts = md.split(/^### `([^`]+)`\s*$/m);
  for (let i = 1; i < parts.length; i += 2) {
    const m = /^```(ts[^\n]*)\n([\s\S]*?)^```/m.exec(parts[i + 1]);
    if (m) out.set(parts[i], { info: m[1].trim(), code: m[2] });
  }
  return out;
}

test('the public API has at most 40 names, each documented in docs/api.md with an example', () => {
  const names = Object.keys(require(ENTRY));
  assert.ok(names.length <= 40, `${names.length} public names: ${names.join(', ')}`);
  const docs = sections(API_MD);
  const undocumented = names.filter((n) => !docs.has(n));
  assert.deepEqual(undocumented, [], `exported from 'ptlab' but without a "### \`name\`" section and a ts example in docs/api.md`);
  const stale = [...docs.keys()].filter((n) => !names.includes(n));
  assert.deepEqual(stale, [], 'documented in docs/api.md but not exported');
});

test('package.json exports ptlab and ptlab/internals only', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
  assert.deepEqual(Object.keys(pkg.exports), ['.', './internals', './package.json']);
  const internals = require(path.join(__dirname, '..', 'src', 'internals.js')) as Record<string, unknown>;
  for (const n of Object.keys(require(ENTRY))) if (n !== 'lab') assert.ok(n in internals || n === 'VERSION', `${n} is in internals too`);
});

test('every docs/api.md example, and the README example, runs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-api-'));
  const log = console.log;
  const errors: string[] = [];
  const readme = /^```ts\n([\s\S]*?)^```/m.exec(fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8'));
  assert.ok(readme, 'README.md has a ts example');
  const examples = [...sections(API_MD), ['README', { info: 'ts', code: readme[1] }] as const];
  try {
    for (const [name, { info, code }] of examples) {
      if (info !== 'ts') continue; // "ts host": needs the native replayer
      const imports = code.split('\n').filter((l) => l.startsWith('import '));
      const body = code.split('\n').filter((l) => !l.startsWith('import '));
      const src = `${imports.join('\n')}\nexport default (async () => {\n${body.join('\n')}\n})();\n`;
      const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText.replace(/require\("ptlab"\)/g, `require(${JSON.stringify(ENTRY)})`);
      const file = path.join(dir, `${name}.js`);
      fs.writeFileSync(file, js);
      console.log = () => {};
      try {
        await (require(file) as { default: Promise<void> }).default;
      } catch (e) {
        errors.push(`${name}: ${(e as Error).message}`);
      } finally {
        console.log = log;
      }
    }
  } finally {
    console.log = log;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(errors, []);
});
