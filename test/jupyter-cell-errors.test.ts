import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { codeFrame, diagnosticsError, exceptionError, cleanStack, TYPESCRIPT_ENAME } from '../src/jupyter/cell-errors';
import type { TslabDiagnostic } from '../src/jupyter/tslab-api';

/** A diagnostic as tslab's converter reports it: zero-based line/character in the cell. */
function diag(line: number, character: number, length: number, messageText: string, code = 2322, extra: Partial<TslabDiagnostic> = {}): TslabDiagnostic {
  return {
    start: { offset: 0, line, character },
    end: { offset: length, line, character: character + length },
    messageText,
    category: 1,
    code,
    ...extra,
  };
}

// Cell sources: a few lines of printable ASCII without tabs or newlines inside a line.
const lineArb = fc.string({ unit: fc.constantFrom(...'abc xyz=;(){}:0123456789\'"'.split('')), maxLength: 40 });
const cellArb = fc.array(lineArb, { minLength: 1, maxLength: 8 });

test('a type error names the cell, the 1-based line and column, the message and the TS code', () => {
  fc.assert(
    fc.property(
      cellArb,
      fc.nat(),
      fc.nat(),
      fc.integer({ min: 1, max: 9999 }),
      fc.integer({ min: 1, max: 500 }),
      fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !s.includes('\n')),
      (lines, lineSeed, charSeed, code, count, message) => {
        const line = lineSeed % lines.length;
        const character = lines[line].length === 0 ? 0 : charSeed % lines[line].length;
        const err = diagnosticsError([diag(line, character, 1, message, code)], lines.join('\n'), { executionCount: count });
        assert.equal(err.ename, TYPESCRIPT_ENAME);
        const where = `cell In [${count}], line ${line + 1}, column ${character + 1}`;
        assert.ok(err.evalue.startsWith(where), err.evalue);
        assert.ok(err.evalue.includes(message) && err.evalue.includes(`TS${code}`), err.evalue);
        const text = err.traceback.join('\n');
        assert.ok(text.includes(where) && text.includes(message));
        // The offending line is quoted verbatim and marked (a marked source line is "> N | ...";
        // the message itself may start with "> ", as the fuzz found)
        const marked = err.traceback.filter((l) => /^> +\d+ \| /.test(l));
        assert.equal(marked.length, 1);
        assert.ok(marked[0].endsWith(`| ${lines[line]}`), marked[0]);
      },
    ),
    { numRuns: 200 },
  );
});

test('the caret sits under the reported column', () => {
  fc.assert(
    fc.property(cellArb, fc.nat(), fc.nat(), (lines, lineSeed, charSeed) => {
      const line = lineSeed % lines.length;
      const text = lines[line];
      const character = text.length === 0 ? 0 : charSeed % text.length;
      const frame = codeFrame(lines.join('\n'), diag(line, character, 1, 'm'));
      const source = frame[frame.length - 2];
      const carets = frame[frame.length - 1];
      const bar = source.indexOf('| ') + 2;
      assert.equal(carets.indexOf('^'), bar + character);
    }),
    { numRuns: 200 },
  );
});

test('a message chain is one problem with indented details, and several problems are all listed', () => {
  const d1 = diag(0, 6, 1, "Type '{ a: string; }' is not assignable to type 'Spec'.");
  const chainChild = { ...diag(0, 6, 1, "Property 'b' is missing in type '{ a: string; }'.", 2741) };
  const d2 = diag(1, 0, 3, "Cannot find name 'foo'.", 2304);
  const err = diagnosticsError([d1, chainChild, d2], "const x: Spec = { a: 'q' };\nfoo", { executionCount: 7 });
  assert.match(err.evalue, /^cell In \[7\], line 1, column 7: Type .* \(TS2322\) \(and 1 more\)$/);
  const text = err.traceback.join('\n');
  assert.match(text, /\n  Property 'b' is missing/);
  assert.match(text, /cell In \[7\], line 2, column 1: error TS2304/);
});

test('an error in an imported local .ts file names that file, without a code frame from the cell', () => {
  const err = diagnosticsError([diag(4, 2, 1, 'bad', 2304, { fileName: 'helpers.ts' })], 'import "./helpers"', {});
  assert.ok(err.evalue.startsWith('helpers.ts, line 5, column 3: bad'));
  assert.ok(!err.traceback.some((l) => l.startsWith('> ')));
});

test('PtlabError and SpecError show as "name: message" with no stack', () => {
  fc.assert(
    fc.property(fc.constantFrom('PtlabError', 'SpecError'), fc.string({ minLength: 1 }), (name, message) => {
      const e = new Error(message);
      e.name = name;
      const err = exceptionError(e, { executionCount: 3 });
      assert.deepEqual(err, { ename: name, evalue: message, traceback: [`${name}: ${message}`] });
    }),
  );
});

test('an unwrapped ZodError lists its issues as path: message', () => {
  const e = Object.assign(new Error('[...json...]'), {
    name: 'ZodError',
    issues: [
      { path: ['steps', 0, 'op'], message: 'Invalid option' },
      { path: [], message: 'Unrecognized key "foo"' },
    ],
  });
  const err = exceptionError(e, {});
  assert.equal(err.ename, 'ZodError');
  assert.equal(err.evalue, 'steps.0.op: Invalid option; (root): Unrecognized key "foo"');
  assert.ok(!err.traceback.join('\n').includes(' at '));
});

test('other exceptions keep their stack minus tslab, Node and launcher frames', () => {
  const stack = [
    'evalmachine.<anonymous>:2',
    "throw new Error('boom');",
    '^',
    '',
    'Error: boom',
    '    at evalmachine.<anonymous>:2:7',
    '    at userFn (/home/me/nb/helpers.js:3:9)',
    '    at Script.runInThisContext (node:vm:135:14)',
    '    at Object.execute (/x/node_modules/tslab/dist/executor.js:160:38)',
    '    at CellRunner.run (/x/dist/src/jupyter/cell-runner.js:70:1)',
  ].join('\n');
  const lines = cleanStack(stack, { executionCount: 2, internalDirs: ['/x/dist/src/jupyter'] }, 'Error');
  assert.deepEqual(lines, ['Error: boom', '    at <cell In [2], compiled JS>:2:7', '    at userFn (/home/me/nb/helpers.js:3:9)']);
  const err = exceptionError(Object.assign(new Error('boom'), { stack }), { executionCount: 2 });
  assert.equal(err.ename, 'Error');
  assert.equal(err.evalue, 'boom');
  assert.equal(err.traceback[0], 'Error: boom');
});

test('a thrown non-Error value is reported as Uncaught with its inspected value', () => {
  fc.assert(
    fc.property(fc.oneof(fc.integer(), fc.string(), fc.constant(null), fc.constant(undefined)), (v) => {
      const err = exceptionError(v, { executionCount: 1 });
      assert.equal(err.ename, 'Uncaught');
      assert.ok(err.traceback[0].startsWith('Uncaught '));
    }),
  );
});
