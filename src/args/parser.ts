/**
 * The one flag parser of ptlab's command lines: the `ptlab` commands (src/cli) and the Jupyter
 * kernel launcher and notebook scripts (src/jupyter). A command declares its flags once, in a
 * table (name -> type, default, help), and gets from it:
 * - typed values (`int` flags are numbers, `choice` flags their literal union, defaults filled in);
 * - its `--help` text (also what `ptlab help <cmd>` prints);
 * - one-line usage errors that name the flag and the fix: an unknown option lists the valid
 *   ones, a missing value names the flag, a bad number or choice says what is accepted. They are
 *   CliErrors with exit code 2; `--help` is a CliError with exit code 0 whose message is the help.
 */
import { parseArgs } from 'node:util';
import { CliError } from './cli-error';
import { didYouMean } from './spelling';

interface FlagBase {
  help: string;
  /** one-letter alias: -o for --out */
  short?: string;
}

export type Flag =
  | (FlagBase & { type: 'boolean' })
  | (FlagBase & { type: 'string'; default?: string })
  | (FlagBase & IntRange & { type: 'int'; default?: number })
  | (FlagBase & { type: 'choice'; values: readonly string[]; default?: string });

/** What an integer flag accepts; `example` goes into the error ("use e.g. --jobs 2"). */
export interface IntRange {
  min: number;
  max?: number;
  example: number;
}

export type Flags = Readonly<Record<string, Flag>>;

type ValueOf<F extends Flag> = F extends { type: 'boolean' }
  ? boolean
  : F extends { type: 'int' }
    ? number
    : F extends { type: 'choice'; values: readonly (infer V)[] }
      ? V
      : string;

/** The parsed flags: booleans are always there, other flags when given or defaulted. */
export type Values<T extends Flags> = {
  [K in keyof T]: T[K] extends { type: 'boolean' } ? boolean : T[K] extends { default: unknown } ? ValueOf<T[K]> : ValueOf<T[K]> | undefined;
};

/** A command (or subcommand, "kernel install") as the person at the terminal sees it. */
export interface Command<T extends Flags> {
  /** as typed after the program: "run", "trace stats"; errors start with it */
  name: string;
  /** what the usage line starts with (default "ptlab"): "npm run" for the notebook scripts */
  program?: string;
  /** what follows the name in the usage line: "SPEC.json [--json] [--out DIR]" */
  synopsis: string;
  /** prose after the usage line, if any */
  about?: string;
  flags: T;
}

/**
 * A command's table; `const T` keeps the flag types literal (a choice flag's values, defaults).
 * `program` is for command lines other than `ptlab`'s.
 */
export function command<const T extends Flags>(name: string, synopsis: string, flags: T, about?: string, program?: string): Command<T> {
  return { name, synopsis, flags, ...(about !== undefined ? { about } : {}), ...(program !== undefined ? { program } : {}) };
}

export interface Parsed<T extends Flags> {
  values: Values<T>;
  positionals: string[];
}

const HELP: Flag = { type: 'boolean', short: 'h', help: 'show this help' };

function withHelp(flags: Flags): Flags {
  return { ...flags, help: HELP };
}

function spelled(name: string, f: Flag): string {
  return `--${name}${f.type === 'boolean' ? '' : ' VALUE'}`;
}

/** The command as typed: "ptlab run SPEC.json [--json] ..." */
function invocation(cmd: Command<Flags>): string {
  return `${cmd.program ?? 'ptlab'} ${cmd.name} ${cmd.synopsis}`;
}

/** The usage line of a command: "usage: ptlab run SPEC.json [--json] ..." */
export function usageLine(cmd: Command<Flags>): string {
  return `usage: ${invocation(cmd)}`;
}

/** The option list of a command, one flag a line with its help, choices and default. */
function optionLines(flags: Flags): string[] {
  return Object.entries(withHelp(flags)).map(([name, f]) => {
    const extra = [
      f.type === 'choice' ? f.values.join('|') : '',
      f.type === 'int' ? (f.max === undefined ? `>= ${f.min}` : `${f.min}-${f.max}`) : '',
      f.type !== 'boolean' && f.default !== undefined ? `default ${f.default}` : '',
    ].filter(Boolean);
    return `  ${f.short ? `-${f.short}, ` : ''}${spelled(name, f)}`.padEnd(26) + f.help + (extra.length ? ` [${extra.join(', ')}]` : '');
  });
}

/** `ptlab <cmd> --help`: usage line, prose, options; several subcommands one after another. */
export function helpText(...cmds: Command<Flags>[]): string {
  return cmds.map((c) => [usageLine(c), ...(c.about ? ['', c.about] : []), '', 'options:', ...optionLines(c.flags)].join('\n')).join('\n\n');
}

/** "is not a positive integer; use e.g. --jobs 2", or the CliError naming the flag. */
export function intFlag(cmd: string, name: string, raw: string, r: IntRange): number {
  const n = Number(raw);
  if (/^\s*-?\d+\s*$/.test(raw) && n >= r.min && (r.max === undefined || n <= r.max)) return n;
  const want = r.min === 1 && r.max === undefined ? 'a positive integer' : `an integer from ${r.min} to ${r.max ?? 'any'}`;
  throw new CliError(`${cmd}: --${name} "${raw}" is not ${want}; use e.g. --${name} ${r.example}`);
}

function choiceFlag(cmd: string, name: string, raw: string, values: readonly string[]): string {
  if (values.includes(raw)) return raw;
  const q = values.map((v) => `"${v}"`);
  const want = q.length === 2 ? `${q[0]} or ${q[1]}` : `one of ${q.join(', ')}`;
  throw new CliError(`${cmd}: --${name} must be ${want}, not "${raw}"`);
}

/**
 * Parses argv against the command's table. Throws CliError(help, 0) for --help / -h, and a
 * one-line CliError (exit 2) for any usage mistake.
 */
export function parseCommand<T extends Flags>(cmd: Command<T>, argv: string[]): Parsed<T> {
  const flags = withHelp(cmd.flags);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.short ? { short: f.short } : {}) };
  let raw: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    // node types `values` from the literal options object; ours is built from the table, so its
    // keys are only known as strings (each value is a string or a boolean by its option type)
    raw = parseArgs({ args: negativeValues(argv, flags), options, allowPositionals: true, strict: true }) as typeof raw;
  } catch (e) {
    throw new CliError(parseError(cmd.name, flags, e as NodeJS.ErrnoException));
  }
  if (raw.values.help) throw new CliError(helpText(cmd), 0);
  const values: Record<string, string | number | boolean | undefined> = {};
  for (const [name, f] of Object.entries(cmd.flags)) {
    const v = raw.values[name];
    if (f.type === 'boolean') values[name] = v === true;
    else if (typeof v !== 'string') values[name] = f.default;
    else if (f.type === 'int') values[name] = intFlag(cmd.name, name, v, f);
    else if (f.type === 'choice') values[name] = choiceFlag(cmd.name, name, v, f.values);
    else values[name] = v;
  }
  // each key was set above from its table entry by the same rule Values<T> states (boolean:
  // always; int: a number; choice: one of its values; else the string or the default), which
  // TypeScript cannot follow through Object.entries
  return { values: values as Values<T>, positionals: raw.positionals };
}

/**
 * `--jobs -1` as `--jobs=-1`: node:util takes a value that starts with a dash for a forgotten
 * value ("needs a value"), but a negative number is a value, and intFlag says what is wrong with it.
 */
function negativeValues(argv: string[], flags: Flags): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return [...out, ...argv.slice(i)];
    const name = a.startsWith('--') ? a.slice(2) : Object.entries(flags).find(([, f]) => f.short !== undefined && a === `-${f.short}`)?.[0];
    const f = name !== undefined && Object.hasOwn(flags, name) ? flags[name] : undefined;
    if (f && f.type !== 'boolean' && /^-\d/.test(argv[i + 1] ?? '')) out.push(`--${name}=${argv[++i]}`);
    else out.push(a);
  }
  return out;
}

/**
 * A command made of subcommands (`ptlab kernel install|list|remove`): runs the one argv[0] names
 * with the rest of argv; `--help`, `-h` or `help` prints all their help; none or an unknown one
 * is a one-line usage error listing them.
 */
export function subcommand<R>(cmd: string, argv: string[], subs: readonly (readonly [Command<Flags>, (argv: string[]) => R])[]): R {
  const [word, ...rest] = argv;
  const names = subs.map(([c]) => c.name.slice(cmd.length + 1));
  const i = word === undefined ? -1 : names.indexOf(word);
  if (i >= 0) return subs[i][1](rest);
  if (word === '--help' || word === '-h' || word === 'help') throw new CliError(helpText(...subs.map(([c]) => c)), 0);
  const say = `say ${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  const usage = `usage: ${subs.map(([c]) => invocation(c)).join('; ')}`;
  if (word === undefined) throw new CliError(`${cmd}: ${say}; ${usage}`);
  throw new CliError(`${cmd}: unknown subcommand "${word}"${didYouMean(word, names)}; ${say}; ${usage}`);
}

/** node:util's parse error as one line naming the flag and the fix. */
function parseError(cmd: string, flags: Flags, err: NodeJS.ErrnoException): string {
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /'([^']+)'/.exec(err.message)?.[1] ?? 'option';
    const valid = Object.entries(flags).map(([n, f]) => spelled(n, f));
    // the closest spelling last, so the line still starts with the flag and the full list
    const near = flag.startsWith('--') ? didYouMean(flag, Object.keys(flags).map((n) => `--${n}`)).replace(/^ \((.*)\)$/, '; $1') : '';
    return `${cmd}: unknown option "${flag}"; valid options: ${valid.join(', ')}${near}`;
  }
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const m = /'-(-?)([A-Za-z0-9-]+)/.exec(err.message);
    const name = m ? (m[1] ? m[2] : (Object.entries(flags).find(([, f]) => f.short === m[2])?.[0] ?? m[2])) : '';
    const f = flags[name];
    return `${cmd}: --${name} ${f && f.type !== 'boolean' ? 'needs a value' : 'takes no value'}${f ? ` (${f.help})` : ''}`;
  }
  return `${cmd}: ${err.message.replace(/\.\s.*$/s, '')}`;
}
