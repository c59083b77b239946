/**
 * A kernel variant as a value that can be saved and sent to a worker thread: the built-in variant
 * it starts from plus the fields it changes. Hooks are functions and do not travel; a variant with
 * hooks names a module exporting them (`hooksModule`), or is usable in this thread only.
 */
import { deriveVariant, type KernelVariant, type VariantHooks } from './variant';
import { BUILTIN_VARIANTS } from './variants';

/** The data fields of a variant (everything but its name and hooks). */
export type VariantFields = Partial<Omit<KernelVariant, 'name' | 'hooks'>>;

export interface VariantValue {
  name: string;
  /** the built-in variant (BUILTIN_VARIANTS) the fields are changed from */
  base: string;
  /** the fields that differ from `base` */
  overrides: VariantFields;
  /** hook functions defined in this process (never serialised; refused for worker threads) */
  hooks?: VariantHooks;
}

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function fieldsOf(v: KernelVariant): [keyof VariantFields, unknown][] {
  const out: [keyof VariantFields, unknown][] = [];
  for (const k of Object.keys(v) as (keyof KernelVariant)[]) if (k !== 'name' && k !== 'hooks') out.push([k, v[k]]);
  return out;
}

function differences(v: KernelVariant, base: KernelVariant): VariantFields {
  const o: Record<string, unknown> = {};
  for (const [k, x] of fieldsOf(v)) if (!same(x, base[k])) o[k] = x;
  return o;
}

/** The value of a variant: its nearest built-in (basedOn when that is built in) and the differing fields. */
export function variantValue(v: KernelVariant): VariantValue {
  if (BUILTIN_VARIANTS.get(v.name) === v) return { name: v.name, base: v.name, overrides: {} };
  let base = v.basedOn !== undefined ? BUILTIN_VARIANTS.get(v.basedOn) : undefined;
  let overrides = base ? differences(v, base) : undefined;
  if (!base || !overrides) {
    for (const b of BUILTIN_VARIANTS.values()) {
      const d = differences(v, b);
      if (!overrides || Object.keys(d).length < Object.keys(overrides).length) {
        base = b;
        overrides = d;
      }
    }
  }
  const out: VariantValue = { name: v.name, base: base!.name, overrides: overrides! };
  const own = Object.entries(v.hooks).filter(([k, f]) => f !== base!.hooks[k as keyof VariantHooks]);
  if (own.length > 0) out.hooks = { ...v.hooks };
  return out;
}

/** Hook names of a value that exist only as functions in this process. */
export function localHooks(value: VariantValue): string[] {
  return Object.keys(value.hooks ?? {});
}

/** The variant a value describes (the built-in itself when nothing is changed). */
export function variantFromValue(value: VariantValue): KernelVariant {
  const base = BUILTIN_VARIANTS.get(value.base);
  if (!base) throw new Error(`variant "${value.name}": unknown base variant "${value.base}"; known: ${[...BUILTIN_VARIANTS.keys()].join(', ')}`);
  if (value.name === base.name && Object.keys(value.overrides).length === 0 && !value.hooks) return base;
  return deriveVariant(base, { basedOn: base.name, description: base.description, ...value.overrides, name: value.name, hooks: value.hooks ?? {} });
}
