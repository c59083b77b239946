/**
 * The model of this host: a planned run re-targeted at the variant that models `uname -r`, with
 * the host's quirks (no shared zero page on anon read faults: mm_forbids_zeropage(); a zram swap
 * device: SWP_SYNCHRONOUS_IO swap-ins skip the swap cache) and, optionally, another CPU profile.
 * `ptlab diff` and the timed comparison (compare.ts) simulate through it.
 */
import { deriveVariant, type KernelVariant } from '../kernel/variant';
import { getVariant, variantForRelease } from '../kernel/variants';
import type { ResolvedSpec } from '../lab/plan';
import type { RunPlan } from '../lab/simulate';
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

export interface HostModelPlan {
  /** the run to simulate: kernel = the host's variant name, machine with the host's swap kind */
  plan: RunPlan;
  /** the variant value to simulate with (simulateRun's `variant` option), when the host needs a derived one */
  variant?: KernelVariant;
}

/**
 * `plan` re-targeted at the host: `variant` (default: the one modelling `host.kernel`), and
 * `machine` overrides (e.g. `{cpu: 'host'}`) on top of the plan's machine.
 */
export function hostModelPlan(plan: RunPlan, host: NativeHeader, o: { variant?: string; machine?: Partial<ResolvedSpec['machine']> } = {}): HostModelPlan {
  const spec = plan.spec as ResolvedSpec;
  const variant = o.variant ?? variantForRelease(host.kernel);
  const machine = { ...spec.machine, ...(o.machine ?? {}) };
  if (machine.swap === undefined && hostSwapIsZram()) machine.swap = 'zram';
  // THP settings are the machine's (sysfs), not the spec's
  if (host.thp) machine.thp = host.thp;
  if (typeof host.thpZeroPage === 'boolean') machine.thpZeroPage = host.thpZeroPage;
  const resolved: ResolvedSpec = { ...spec, kernel: variant, machine };
  const out: HostModelPlan = { plan: { ...plan, id: `${plan.id}|host=${variant}|${machine.cpu}`, variant, cpu: machine.cpu, spec: resolved } };
  if (!host.zeroPageOnRead) out.variant = deriveVariant(getVariant(variant), { name: `${variant}+no-zero-page`, mmForbidsZeropage: true });
  return out;
}
