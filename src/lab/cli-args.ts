/**
 * Argument parsing shared by the `ptlab run|validate|merge|sweep` commands (node:util parseArgs),
 * turning its errors into messages that name the flag and list the valid ones.
 */
import { parseArgs } from 'node:util';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean; help: string }>;

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** Thrown for a usage mistake; the CLI turns it into a CliError. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function usageOf(cmd: string, synopsis: string, flags: FlagSpec): string {
  const lines = [`usage: ptlab ${cmd} ${synopsis}`, '', 'options:'];
  for (const [name, f] of Object.entries(flags)) lines.push(`  --${name}${f.type === 'string' ? ' VALUE' : ''}`.padEnd(24) + f.help);
  return lines.join('\n');
}

export function parseCli(cmd: string, argv: string[], flags: FlagSpec): Parsed {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, f] of Object.entries(flags)) options[name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  try {
    const r = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const valid = Object.entries(flags)
      .map(([n, f]) => `--${n}${f.type === 'string' ? ' VALUE' : ''}`)
      .join(', ');
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const flag = /'([^']+)'/.exec(err.message)?.[1] ?? 'option';
      throw new UsageError(`${cmd}: unknown option "${flag}"; valid options: ${valid}`);
    }
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const m = /'-(-?)([A-Za-z0-9-]+)/.exec(err.message);
      const name = m ? (m[1] ? m[2] : (Object.entries(flags).find(([, f]) => f.short === m[2])?.[0] ?? m[2])) : '';
      const f = flags[name];
      throw new UsageError(`${cmd}: --${name} ${f && f.type === 'string' ? 'needs a value' : 'takes no value'}${f ? ` (${f.help})` : ''}`);
    }
    throw new UsageError(`${cmd}: ${err.message}`);
  }
}

/** A positive integer flag value, or a UsageError naming the flag. */
export function positiveInt(cmd: string, flag: string, v: string, example: string): number {
  if (!/^\d+$/.test(v.trim()) || Number(v) < 1) throw new UsageError(`${cmd}: --${flag} "${v}" is not a positive integer; use e.g. --${flag} ${example}`);
  return Number(v);
}
