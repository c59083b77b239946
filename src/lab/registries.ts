/**
 * Name checks for kernels and CPU profiles. The registries live in other layers (the kernel
 * variant registry `listVariants()` in src/kernel/variants, the cost profiles `listProfiles()`
 * in src/cost/registry); they are looked up lazily so validation works — minus these two checks — in a
 * build where one of them is absent, and tests inject their own lists.
 */

export interface Registries {
  /** known kernel variant names */
  kernels?: () => readonly string[];
  /** known CPU cost profile names */
  cpus?: () => readonly string[];
}

type Named = string | { name: string };

function names(list: readonly Named[]): string[] {
  return list.map((x) => (typeof x === 'string' ? x : x.name));
}

/** Calls `fn` of the first module that loads and exports it; undefined if none does. */
function lazyList(modules: readonly string[], fn: string): (() => readonly string[]) | undefined {
  for (const m of modules) {
    let mod: Record<string, unknown>;
    try {
      mod = require(m);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') continue;
      throw e;
    }
    const f = mod[fn];
    if (typeof f === 'function') return () => names(f() as readonly Named[]);
  }
  return undefined;
}

/** The registries of this build (each absent one is skipped). */
export function defaultRegistries(): Registries {
  return {
    kernels: lazyList(['../kernel/variants', '../kernel'], 'listVariants'),
    cpus: lazyList(['../cost/registry', '../cost'], 'listProfiles'),
  };
}
