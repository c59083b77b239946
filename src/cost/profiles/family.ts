/** Core microarchitecture of a shipped profile: decides which published number applies directly and which is an estimate. */
export type CoreFamily = 'haswell' | 'skylake' | 'icelake' | 'goldencove' | 'zen3' | 'zen4';

export const INTEL_FAMILIES: readonly CoreFamily[] = ['haswell', 'skylake', 'icelake', 'goldencove'];

export function isIntel(f: CoreFamily): boolean {
  return INTEL_FAMILIES.includes(f);
}
