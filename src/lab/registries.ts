/**
 * Name checks for kernels and CPU profiles: the built-in variants (src/kernel/variants), the
 * variants a run is given as values, and the cost profiles (src/cost/registry). Tests inject
 * their own lists.
 */
import { listProfiles } from '../cost/registry';
import { listVariants } from '../kernel/variants';

export interface Registries {
  /** known kernel variant names */
  kernels?: () => readonly string[];
  /** known CPU cost profile names */
  cpus?: () => readonly string[];
}

/** The names this build knows, plus those of the `variants` and `profiles` a run is given. */
export function defaultRegistries(variants: readonly { name: string }[] = [], profiles: readonly { name: string }[] = []): Registries {
  return { kernels: () => [...listVariants(), ...variants.map((v) => v.name)], cpus: () => [...listProfiles(), ...profiles.map((p) => p.name)] };
}
