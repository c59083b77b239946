/**
 * Run-time check of chart options, for callers the type checker does not see (plain JavaScript,
 * JSON, a notebook cell cast to `any`): an unknown option is an error naming it, the close names
 * and every option the chart takes, never silently ignored (`{ stpe: 1 }` would otherwise draw
 * the whole run instead of step 1).
 */
import { didYouMean } from '../../args/spelling';

/** Every option of an options type, as a record (so the compiler checks the list is complete). */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

export function checkOptions<T extends object>(chart: string, opts: T | undefined, keys: OptionKeys<T>): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new TypeError(`${chart}: options must be an object such as { step: 1 } (got ${Array.isArray(opts) ? 'an array' : typeof opts})`);
  const known = Object.keys(keys);
  for (const k of Object.keys(opts)) {
    if (known.includes(k)) continue;
    throw new TypeError(`${chart}: unknown option "${k}"${didYouMean(k, known)}; options: ${known.join(', ')}`);
  }
}
