/**
 * The flag parser every `ptlab` command uses (src/args/parser.ts): typed values from the table,
 * defaults, its help text, and one-line usage errors (exit 2) that name the flag and the fix.
 * test/cli-usage.test.ts runs the same errors through the real commands.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { command, parseCommand, helpText, subcommand } from '../src/args/parser';
import { CliError } from '../src/args/cli-error';

const CMD = command('demo', 'FILE [--out DIR]', {
  out: { type: 'string', short: 'o', help: 'where to write' },
  title: { type: 'string', default: 'untitled', help: 'the title' },
  jobs: { type: 'int', min: 1, example: 2, default: 1, help: 'parallel jobs' },
  reps: { type: 'int', min: 1, max: 64, example: 7, help: 'repetitions' },
  others: { type: 'choice', values: ['busy', 'as-is'], help: 'the other CPUs' },
  json: { type: 'boolean', help: 'print JSON' },
}, 'Some prose.');

function usageError(argv: string[]): string {
  try {
    parseCommand(CMD, argv);
  } catch (e) {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.exitCode, 2, e.message);
    assert.doesNotMatch(e.message, /\n/, 'one line');
    return e.message;
  }
  assert.fail(`${argv.join(' ')} was accepted`);
}

test('values are typed from the table: numbers, choices, booleans, defaults filled in', () => {
  const p = parseCommand(CMD, ['a.json', '-o', 'dir', '--jobs=3', '--reps', '64', '--others', 'as-is', '--json', 'b']);
  assert.deepEqual(p.positionals, ['a.json', 'b']);
  assert.deepEqual(p.values, { out: 'dir', title: 'untitled', jobs: 3, reps: 64, others: 'as-is', json: true });
  const d = parseCommand(CMD, []);
  assert.deepEqual(d.values, { out: undefined, title: 'untitled', jobs: 1, reps: undefined, others: undefined, json: false });
  assert.deepEqual(parseCommand(CMD, ['--', '--json']).positionals, ['--json'], 'after -- everything is a positional');
});

test('usage mistakes are one line naming the flag and the fix', () => {
  assert.equal(usageError(['--jbos', '2']), 'demo: unknown option "--jbos"; valid options: --out VALUE, --title VALUE, --jobs VALUE, --reps VALUE, --others VALUE, --json, --help; did you mean "--jobs" or "--json"?');
  assert.match(usageError(['-z']), /^demo: unknown option "-z"; valid options: --out VALUE, .*, --help$/);
  assert.equal(usageError(['--out']), 'demo: --out needs a value (where to write)');
  assert.equal(usageError(['-o']), 'demo: --out needs a value (where to write)', 'a short alias is named by its long name');
  assert.equal(usageError(['--out', '--json']), 'demo: --out needs a value (where to write)', 'a flag is not taken as the value');
  assert.equal(usageError(['--json=yes']), 'demo: --json takes no value (print JSON)');
  for (const bad of ['0', 'two', '1.5', '1e3', '-1', ''])
    assert.equal(usageError(['--jobs', bad]), `demo: --jobs "${bad}" is not a positive integer; use e.g. --jobs 2`);
  assert.equal(usageError(['--reps', '65']), 'demo: --reps "65" is not an integer from 1 to 64; use e.g. --reps 7');
  assert.equal(usageError(['--others', 'idle']), 'demo: --others must be "busy" or "as-is", not "idle"');
});

test('--help and -h throw the help text with exit code 0; the text lists every flag of the table', () => {
  for (const argv of [['--help'], ['x', '-h', '--jobs', '2']]) {
    assert.throws(
      () => parseCommand(CMD, argv),
      (e: unknown) => e instanceof CliError && e.exitCode === 0 && e.message === helpText(CMD),
      argv.join(' '),
    );
  }
  const h = helpText(CMD);
  assert.match(h, /^usage: ptlab demo FILE \[--out DIR\]\n\nSome prose\.\n\noptions:\n/);
  assert.match(h, /^ {2}-o, --out VALUE +where to write$/m);
  assert.match(h, /^ {2}--title VALUE +the title \[default untitled\]$/m);
  assert.match(h, /^ {2}--jobs VALUE +parallel jobs \[>= 1, default 1\]$/m);
  assert.match(h, /^ {2}--reps VALUE +repetitions \[1-64\]$/m);
  assert.match(h, /^ {2}--others VALUE +the other CPUs \[busy\|as-is\]$/m);
  assert.match(h, /^ {2}-h, --help +show this help$/m);
});

test('subcommand: runs the one named with the rest of argv; help lists all; none or an unknown one is a usage error', () => {
  const A = command('tool add', 'NAME', {});
  const B = command('tool remove', 'NAME [--force]', { force: { type: 'boolean', help: 'even if in use' } });
  const subs = [
    [A, (rest: string[]) => `add ${rest.join(' ')}`],
    [B, (rest: string[]) => `remove ${parseCommand(B, rest).values.force}`],
  ] as const;
  assert.equal(subcommand('tool', ['add', 'x', 'y'], subs), 'add x y');
  assert.equal(subcommand('tool', ['remove', '--force'], subs), 'remove true');
  for (const h of ['--help', '-h', 'help'])
    assert.throws(() => subcommand('tool', [h], subs), (e: unknown) => e instanceof CliError && e.exitCode === 0 && e.message === helpText(A, B));
  const usage = 'usage: ptlab tool add NAME; ptlab tool remove NAME [--force]';
  assert.throws(() => subcommand('tool', [], subs), (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message === `tool: say add or remove; ${usage}`);
  assert.throws(
    () => subcommand('tool', ['remov'], subs),
    (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message === `tool: unknown subcommand "remov" (did you mean "remove"?); say add or remove; ${usage}`,
  );
});
