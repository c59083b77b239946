/**
 * Calling a variant's hooks (variant.ts VariantHooks) at the points the rule files name: what a
 * hook may see of the VMA and page, and the one call per hook point, so each rule file adds one
 * line where the kernel makes the decision. With no hook the rules' value passes through.
 */
import { pte_pfn, pte_present, pte_special } from '../x86/pte';
import { PG_anon, PG_anon_exclusive, PG_mkwrite_fs, ZERO_PFN } from './frames';
import type { Kernel } from './kernel';
import type { FaultPteContext, HookPage, HookVma, MadvisePteContext } from './variant';
import { userfaultfd_wp, type Vma } from './vma';

export function hookVma(vma: Vma): HookVma {
  return { kind: vma.kind, shared: vma.shared, writable: vma.writable, uffdWp: userfaultfd_wp(vma) };
}

/** The page a present PTE maps, or null (not present, the zero page, a special mapping). */
export function hookPage(k: Kernel, pte: bigint): HookPage | null {
  if (!pte_present(pte)) return null;
  const pfn = pte_pfn(pte);
  if (pfn === ZERO_PFN || pte_special(pte)) return null;
  const fl = k.frames.flags[pfn];
  return { anon: (fl & PG_anon) !== 0, exclusive: (fl & PG_anon_exclusive) !== 0, fileMkwrite: (fl & PG_mkwrite_fs) !== 0 };
}

/** The PTE a fault installs, after the variant's faultPte hook. */
export function faultPte(k: Kernel, vma: Vma, vpn: number, path: FaultPteContext['path'], write: number | boolean, oldPte: bigint, newPte: bigint): bigint {
  const hook = k.variant.hooks.faultPte;
  if (!hook) return newPte;
  return hook({ vpn, path, write: !!write, oldPte, newPte, vma: hookVma(vma), page: hookPage(k, newPte), arch: k.arch });
}

/** The PTE MADV_FREE / MADV_DONTNEED leaves, after the variant's madvisePte hook. */
export function madvisePte(k: Kernel, vma: Vma, vpn: number, advice: MadvisePteContext['advice'], oldPte: bigint, newPte: bigint): bigint {
  const hook = k.variant.hooks.madvisePte;
  if (!hook) return newPte;
  return hook({ vpn, advice, oldPte, newPte, vma: hookVma(vma), page: hookPage(k, oldPte), arch: k.arch });
}
