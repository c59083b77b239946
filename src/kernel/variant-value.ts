/**
 * A kernel variant as a value that can be saved and sent to a worker thread: the built-in variant
 * it starts from plus the fields it changes. Hook functions do not travel; a variant with hooks
 * names a module exporting them (`hooksModule`, a field like the others), or its hooks stay in
 * this thread (`hooks`, refused for worker threads at compile time).
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

/** Fields whose value is free text; every other string field takes one of the values the built-ins use. */
const FREE_TEXT = new Set(['description', 'version', 'basedOn', 'sources', 'hooksModule']);

function same(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b);
}

function differences(v: KernelVariant, base: KernelVariant): VariantFields {
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) if (k !== 'name' && k !== 'hooks' && !same(x, base[k as keyof KernelVariant])) o[k] = x;
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
  // hooks from a module travel as its path; others are functions of this thread
  if (v.hooksModule === undefined && Object.keys(v.hooks).length > 0) out.hooks = { ...v.hooks };
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
  const fields = { basedOn: base.name, description: base.description, ...value.overrides, name: value.name };
  return deriveVariant(base, value.hooks ? { ...fields, hooks: value.hooks } : fields);
}

/** `fields` are valid overrides of the built-in `base` (no issues from variantValueIssues). */
export function isVariantFields(base: string, fields: Record<string, unknown>): fields is VariantFields {
  return variantValueIssues({ base, overrides: fields }).length === 0;
}

/** Problems of a variant value written by hand (a spec's kernel entry): each [field, message]. */
export function variantValueIssues(value: { base: string; overrides?: Record<string, unknown> }): [string, string][] {
  const base = BUILTIN_VARIANTS.get(value.base);
  if (!base) return [['base', `"${value.base}" is not a built-in variant; known: ${[...BUILTIN_VARIANTS.keys()].join(', ')}`]];
  const issues: [string, string][] = [];
  const fields = Object.keys(base).filter((k) => k !== 'name' && k !== 'hooks');
  for (const [k, x] of Object.entries(value.overrides ?? {})) {
    const at = `overrides.${k}`;
    if (k === 'hooksModule') {
      if (typeof x !== 'string') issues.push([at, 'expected the path of a module exporting changePte (a string)']);
      continue;
    }
    if (!fields.includes(k)) {
      issues.push([at, `is not a variant field; fields: ${fields.join(', ')}`]);
      continue;
    }
    const want = base[k as keyof KernelVariant];
    if (Array.isArray(want) ? !(Array.isArray(x) && x.every((e) => typeof e === 'string')) : typeof x !== typeof want) {
      issues.push([at, `expected ${Array.isArray(want) ? 'a list of strings' : `a ${typeof want}`}, got ${JSON.stringify(x)}`]);
      continue;
    }
    if (typeof x === 'string' && !FREE_TEXT.has(k)) {
      const known = [...new Set([...BUILTIN_VARIANTS.values()].map((b) => String(b[k as keyof KernelVariant])))];
      if (!known.includes(x)) issues.push([at, `"${x}" is not one of ${known.map((s) => `"${s}"`).join(', ')}`]);
    }
  }
  return issues;
}
