/**
 * virtualize(profile): the same CPU running as a KVM guest with nested paging (EPT/NPT).
 * - walkMemRef x 4.4/1.5: a 2-D walk makes ~4.4 references where a native walk with page-walk
 *   caches makes ~1.5 ("Every Walk's a Hit", ASPLOS 2022); worst case 24 vs 4 (Bhargava, ASPLOS 2008).
 * - ipi x 5136/2156: a shootdown IPI exits to the hypervisor on the sender and the receiver.
 *   Nadav's guest mprotect costs 8630 - 3494 = 5136 cycles more with a 2nd thread, bare metal
 *   4655 - 2499 = 2156 (RFC cover).
 * - pageFault x 970/710: ring crossing in a VM ~600+370 vs ~440+270 cycles (lastweek.io).
 * - syscalls x 3494/2499: guest vs bare-metal mprotect call (Nadav v3 cover vs RFC cover).
 * A/D updates, TLB hits and kernel handler paths are left unchanged.
 */
import type { CostEvent } from './cost-events';
import { KERNEL_ENTRY_EVENTS } from './cost-events';
import { CITE } from './citations';
import { parseProfile, type CpuProfile, type CpuProfileDefinition } from './profile';
import type { CostEntry } from './sourced';

export const NESTED_WALK_FACTOR = 4.4 / 1.5;
export const NESTED_WALK_WORST_FACTOR = 24 / 4;
export const VM_IPI_FACTOR = (8630 - 3494) / (4655 - 2499);
export const VM_PF_FACTOR = (600 + 370) / (440 + 270);
export const VM_SYSCALL_FACTOR = 3494 / 2499;

function scaled(e: CostEntry, factor: number, why: string): CostEntry {
  return {
    cycles: Math.round(e.cycles * factor),
    source: `${e.source}; virtualized x${factor.toFixed(2)}: ${why}`,
    kind: e.kind === 'measured' ? 'measured' : 'estimate',
    note: `${e.note ? e.note + '; ' : ''}native ${e.cycles} cycles`,
  };
}

export function virtualize(profile: CpuProfile): CpuProfile {
  if (profile.virtualized) return profile;
  const def: CpuProfileDefinition = JSON.parse(JSON.stringify(profile.definition));
  const c = def.costs as Record<string, CostEntry>;
  const scale = (ev: CostEvent, f: number, why: string) => {
    c[ev] = scaled(c[ev], f, why);
  };
  scale('walkMemRef', NESTED_WALK_FACTOR, CITE.nestedWalk);
  scale('ipi', VM_IPI_FACTOR, `VM exits on IPI send and receive; ${CITE.nadavKvm} vs ${CITE.rfcCover}`);
  scale('pageFault', VM_PF_FACTOR, CITE.lastweek);
  for (const ev of KERNEL_ENTRY_EVENTS) if (ev !== 'pageFault') scale(ev, VM_SYSCALL_FACTOR, `guest vs bare-metal mprotect call; ${CITE.nadavKvm}`);
  def.virtualized = true;
  def.notes = [...(def.notes ?? []), 'virtualized: nested paging and VM-exit costs applied by virtualize()'];
  return parseProfile(def, `virtualize("${profile.name}")`);
}
