/**
 * The model of this host: a planned run re-targeted at the variant that models `uname -r`, with
 * the host's quirks (no shared zero page on anon read faults: mm_forbids_zeropage(); a zram swap
 * device: SWP_SYNCHRONOUS_IO swap-ins skip the swap cache; zswap enabled: no large swap-in) and, optionally, another CPU profile.
 * `ptlab diff` and the timed comparison (compare.ts) simulate through it.
 */
import { deriveVariant } from '../kernel/variant';
import { variantFromValue, variantValue } from '../kernel/variant-value';
import { getVariant, variantForRelease } from '../kernel/variants';
import { planProfile, type ResolvedMachine, type RunPlan } from '../lab/compile';
import type { NativeHeader } from './native-types';

/** Is the first active swap device of this host a zram device (/proc/swaps)? */
export function hostSwapIsZram(): boolean {
  try {
    const lines = require('node:fs').readFileSync('/proc/swaps', 'utf8').trim().split('\n').slice(1);
    return lines.length > 0 && /zram/.test(lines[0]);
  } catch {
    return false;
  }
}

/**
 * Is zswap enabled on this host (/sys/module/zswap/parameters/enabled)? Once it has been,
 * alloc_swap_folio() (6.13+) swaps every folio in as order 0 (zswap_never_enabled() is false for
 * good); a host that turned it off again cannot be told apart here and counts as never enabled.
 */
export function hostZswapEnabled(param = '/sys/module/zswap/parameters/enabled'): boolean {
  try {
    return /^[Y1]/.test(require('node:fs').readFileSync(param, 'utf8'));
  } catch {
    return false;
  }
}

/**
 * `plan` re-targeted at the host: `variant` (default: the one modelling `host.kernel`), and
 * `machine` overrides (e.g. `{cpu: 'host'}`) on top of the plan's machine. The plan names the
 * variant it simulates (`linux-6.18+no-zero-page` on a host that maps no zero page).
 */
export function hostModelPlan(plan: RunPlan, host: NativeHeader, o: { variant?: string; machine?: Partial<ResolvedMachine> } = {}): RunPlan {
  // a variant the spec itself gives as a value (or a built-in name)
  const release = o.variant !== undefined && o.variant === plan.variant ? variantFromValue(plan.kernel) : getVariant(o.variant ?? variantForRelease(host.kernel));
  let variant = host.zeroPageOnRead ? release : deriveVariant(release, { name: `${release.name}+no-zero-page`, mmForbidsZeropage: true });
  if (variant.swapinLargeFolios && hostZswapEnabled()) variant = deriveVariant(variant, { name: `${variant.name}+zswap`, swapinLargeFolios: false });
  const machine = { ...plan.machine };
  if (machine.swap === undefined && hostSwapIsZram()) machine.swap = 'zram';
  // THP settings are the machine's (sysfs), not the spec's, unless the caller says otherwise (a
  // timed run applies the spec's THP setting to its regions with madvise: timed.ts)
  if (host.thp) machine.thp = host.thp;
  if (typeof host.thpZeroPage === 'boolean') machine.thpZeroPage = host.thpZeroPage;
  // mTHP sizes: the host's, with the ones the spec sets (the replayer writes those to sysfs)
  if (host.mthp && Object.keys(host.mthp).length > 0) machine.mthp = { ...(host.mthp as typeof machine.mthp), ...(plan.machine.mthp ?? {}) };
  Object.assign(machine, o.machine ?? {});
  const profile = machine.cpu === plan.machine.cpu && machine.virtualized === plan.machine.virtualized ? plan.profile : planProfile(machine);
  return { ...plan, id: `${plan.id}|host=${release.name}|${machine.cpu}`, variant: variant.name, kernel: variantValue(variant), cpu: machine.cpu, machine, profile };
}
