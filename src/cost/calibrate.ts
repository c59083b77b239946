/**
 * Turns probe measurements into a `host` CPU profile: start from the closest shipped profile
 * (vendor, family/model from /proc/cpuinfo; virtualize()d when the CPU reports a hypervisor),
 * replace every cost the probe measured, and keep (and say so) every cost it could not.
 *
 * All measured numbers are TSC cycles; the host profile's clock is the TSC rate. Inside a VM or
 * with turbo the core clock can differ from the TSC, so "cycles" here means TSC ticks.
 */
import * as fs from 'fs';
import * as os from 'os';
import type { CostEvent } from './cost-events';
import type { CostEntry } from './sourced';
import { parseProfile, type CpuProfile, type CpuProfileInput, type Vendor } from './profile';
import { getProfile } from './registry';
import { virtualize } from './virtualize';
import { medianOf, spreadPct, type ProbeOutput, type ProbeResult } from './probe-runner';

export interface HostInfo {
  cpuModel: string;
  vendor?: Vendor;
  family?: number;
  model?: number;
  hypervisor: boolean;
  kernel: string;
}

export function parseCpuinfo(text: string, kernel = os.release()): HostInfo {
  const field = (k: string) => new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim();
  const vendorId = field('vendor_id');
  const flags = field('flags') ?? '';
  const num = (k: string) => {
    const v = field(k);
    return v === undefined ? undefined : Number(v);
  };
  return {
    cpuModel: field('model name') ?? 'unknown CPU',
    vendor: vendorId === 'GenuineIntel' ? 'intel' : vendorId === 'AuthenticAMD' || vendorId === 'HygonGenuine' ? 'amd' : undefined,
    family: num('cpu family'),
    model: num('model'),
    hypervisor: /\bhypervisor\b/.test(flags),
    kernel,
  };
}

export function readHostInfo(): HostInfo {
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    /* not Linux: empty info */
  }
  return parseCpuinfo(text);
}

/** Closest shipped profile by vendor and family/model (Intel model numbers from the SDM's CPUID tables). */
export function closestBase(info: HostInfo): { name: string; why: string } {
  const m = info.model ?? -1;
  if (info.vendor === 'amd') {
    if (info.family === 0x19 && m >= 0x10) return { name: 'zen4', why: `AMD family 0x19 model 0x${m.toString(16)} (Zen 4)` };
    if (info.family === 0x1a) return { name: 'zen4', why: 'AMD family 0x1a (Zen 5): closest shipped is zen4' };
    return { name: 'zen3', why: `AMD family ${info.family ?? '?'} model ${m}: closest shipped is zen3` };
  }
  if (info.vendor === 'intel') {
    if ([0x3c, 0x3f, 0x45, 0x46, 0x3d, 0x47, 0x4f, 0x56].includes(m)) return { name: 'haswell', why: `Intel model 0x${m.toString(16)} (Haswell/Broadwell)` };
    if ([0x6a, 0x6c, 0x7d, 0x7e, 0x8c, 0x8d].includes(m)) return { name: 'icelake-sp', why: `Intel model 0x${m.toString(16)} (Ice/Tiger Lake)` };
    if ([0x8f, 0x97, 0x9a, 0xb7, 0xba, 0xbf, 0xcf, 0xaa, 0xad].includes(m)) return { name: 'sapphire-rapids', why: `Intel model 0x${m.toString(16)} (Golden Cove or later)` };
    return { name: 'skylake-sp', why: `Intel model 0x${m.toString(16)}: closest shipped is skylake-sp` };
  }
  return { name: 'skylake-sp', why: 'vendor unknown: default profile' };
}

export interface CalibrationRow {
  event: CostEvent;
  /** the base profile's cycles */
  base: number;
  /** the cycles written to the host profile */
  cycles: number;
  status: 'measured' | 'kept';
  /** formula (measured) or why the base value was kept */
  how: string;
  /** IQR / median of the main measurement, percent */
  spreadPct?: number;
}

type Got = { value: number; r: ProbeResult } | { error: string };

export interface HostCalibration {
  definition: CpuProfileInput;
  profile: CpuProfile;
  base: string;
  baseWhy: string;
  rows: CalibrationRow[];
  tscGHz: number;
}

/**
 * Build the host profile from probe output. `date` is stamped in every source
 * ("measured: ptlab calibrate <date>, <cpu model>").
 */
export function deriveHostProfile(probe: ProbeOutput, info: HostInfo, date: string): HostCalibration {
  const pick = closestBase(info);
  let base = getProfile(pick.name);
  if (info.hypervisor) base = virtualize(base);
  const b = (ev: CostEvent) => base.costs[ev].cycles;
  const m = (name: string): Got => medianOf(probe, name);
  const source = `measured: ptlab calibrate ${date}, ${info.cpuModel}${info.hypervisor ? ' (VM guest)' : ''}, kernel ${info.kernel}`;
  const rows: CalibrationRow[] = [];
  const costs: Partial<Record<CostEvent, CostEntry>> = {};

  /** a = main measurement, rest subtracted; `parts` names the subtracted terms for the note */
  const derive = (event: CostEvent, main: Got, minus: (Got | number)[], how: string) => {
    const bad = [main, ...minus].find((g): g is { error: string } => typeof g === 'object' && 'error' in g);
    if (bad) {
      rows.push({ event, base: b(event), cycles: b(event), status: 'kept', how: `kept base: ${bad.error}` });
      return;
    }
    const mainV = (main as { value: number; r: ProbeResult }).value;
    const sub = minus.reduce<number>((s, g) => s + (typeof g === 'number' ? g : 'value' in g ? g.value : 0), 0);
    const v = mainV - sub;
    const spread = spreadPct((main as { r: ProbeResult }).r);
    if (!(v > 0)) {
      rows.push({ event, base: b(event), cycles: b(event), status: 'kept', how: `kept base: not resolved (${how} = ${v.toFixed(1)} <= 0)`, spreadPct: spread });
      return;
    }
    const r = (main as { r: ProbeResult }).r;
    const cycles = Math.round(v);
    costs[event] = { cycles, source, kind: 'measured', note: `${how}; median of n=${r.n} ${r.unit ?? ''} samples, IQR ${spread.toFixed(0)}% (TSC cycles)` };
    rows.push({ event, base: b(event), cycles, status: 'measured', how, spreadPct: spread });
  };

  const walkRead = m('walk_read');
  const walkWrite = m('walk_write');
  const syscall = m('syscall');
  const pf = syscall; // #PF entry/exit stands in as a syscall round trip (see how)
  /** mean of the two directions of an alternating call measurement (<name>_a, <name>_b) */
  const both = (name: string): Got => {
    const a = m(`${name}_a`);
    const z = m(`${name}_b`);
    if ('error' in a) return a;
    if ('error' in z) return z;
    return { value: (a.value + z.value) / 2, r: { ...z.r, p25: Math.min(a.r.p25!, z.r.p25!), p75: Math.max(a.r.p75!, z.r.p75!), median: (a.value + z.value) / 2 } };
  };
  const oneCall = both('mprotect_call');
  /** per page of a big call minus the matching 1-page call spread over its N pages */
  const perPage = (big: string, call: Got | number): Got => {
    const g = m(big);
    if ('error' in g) return g;
    if (typeof call === 'object' && 'error' in call) return call;
    const n = /of (\d+)/.exec(g.r.what) ? Number(/of (\d+)/.exec(g.r.what)![1]) : 4096;
    return { value: g.value - (typeof call === 'number' ? call : call.value) / n, r: g.r };
  };
  /** a - b of two per-page measurements (the 1-page call overheads cancel) */
  const minus = (a: Got, z: Got): Got => ('error' in a ? a : 'error' in z ? z : { value: a.value - z.value, r: a.r });
  const uffdIoctlWhole = both('uffd_ioctl');
  // change_pte_range makes the probe's dirty exclusive anon PTEs writable itself under
  // mprotect(RW) since 6.0 (64fe24a3e05e, can_change_pte_writable) and under uffd unprotect since
  // 6.3 (uffd_wp_range passes MM_CP_TRY_CHANGE_WRITABLE); before, those calls leave them read-only.
  const release = /^(\d+)\.(\d+)/.exec(info.kernel);
  const since = (major: number, minor: number) =>
    release !== null && (Number(release[1]) > major || (Number(release[1]) === major && Number(release[2]) >= minor));
  const mprotectUpgrades = since(6, 0);
  const unprotectUpgrades = since(6, 3);

  derive('walk', walkRead, [m('huge_read'), b('tlbMiss'), 1.5 * b('walkMemRef')], 'TLB-cold read (A=1,D=1) - same reads on THP - tlbMiss - 1.5 x walkMemRef (base)');
  derive('aBitSet', m('a_read'), [walkRead], 'TLB-cold read after MADV_FREE - TLB-cold read of A=1,D=1');
  derive('adBitSet', m('ad_write'), [walkWrite], 'TLB-cold write after MADV_FREE - TLB-cold write to A=1,D=1');
  derive('dBitSet', m('cached_write_dset'), [m('cached_write')], 'write through cached A=1,D=0 translations - write through cached D=1 ones (TLB-cold A=1,D=0 variant: d_write_cold)');
  derive('pageFault', syscall, [], 'getppid() round trip, a stand-in for the #PF entry/exit');
  derive('fault.anonAlloc', m('anon_write_fault'), [pf, b('pageAlloc'), b('pageZero')], 'first anon write - entry/exit - pageAlloc (base) - pageZero (base)');
  derive('fault.anonZeroPage', m('zero_read_fault'), [pf], 'first anon read (zero page) - entry/exit');
  derive('fault.wpReuse', m('wp_reuse_fault'), [pf], 'write after fork + child exit (wp_page_reuse) - entry/exit');
  derive('fault.wpCopy', m('wp_copy_fault'), [pf, b('pageAlloc'), b('pageCopy'), b('tlbFlushRequest'), b('invlpg')], 'write while the forked child lives (wp_page_copy) - entry/exit - pageAlloc, pageCopy, tlbFlushRequest, invlpg (base)');
  derive('fault.uffdWpAsync', m('uffd_wp_async_fault'), [pf], 'write to a uffd-wp page with WP_ASYNC - entry/exit');
  derive('fault.uffdWp', m('uffd_wp_roundtrip'), [pf, uffdIoctlWhole], 'uffd-wp round trip through a handler thread - entry/exit - one UFFDIO_WRITEPROTECT call');
  // The per-PTE price depends on the direction: making a dirty PTE writable can cost far more
  // than write-protecting it (x10 under shadow paging), so the RO direction prices changePte and
  // the RW-minus-RO difference prices mkwriteDirtyPte, which the model counts on top.
  derive('changePte', perPage('mprotect_big_ro', m('mprotect_call_a')), [], 'mprotect(RO) of N written pages, per page, minus the 1-page RO call / N');
  const cp = costs.changePte?.cycles ?? b('changePte');
  if (mprotectUpgrades) {
    const viaUffd = minus(m('uffd_big_unwp'), m('uffd_big_wp'));
    const cross = !unprotectUpgrades || 'error' in viaUffd ? '' : ` (UFFDIO_WRITEPROTECT unprotect - protect gives ${Math.round(viaUffd.value)})`;
    derive('mkwriteDirtyPte', minus(m('mprotect_big_rw'), m('mprotect_big_ro')), [], `mprotect(RW) of N read-only dirty pages, which it makes writable, - mprotect(RO) of the same N, per page${cross}`);
  } else {
    rows.push({ event: 'mkwriteDirtyPte', base: b('mkwriteDirtyPte'), cycles: b('mkwriteDirtyPte'), status: 'kept', how: `kept base: kernel ${info.kernel} does not make PTEs writable in mprotect(RW) (6.0+ does)` });
  }
  const mkd = costs.mkwriteDirtyPte?.cycles ?? b('mkwriteDirtyPte');
  // the 1-page RW call / unprotect pays one mkwriteDirtyPte only where that call upgrades the PTE
  const mkdRw = mprotectUpgrades ? mkd : 0, mkdUnwp = unprotectUpgrades ? mkd : 0;
  derive('syscallMprotect', oneCall, [cp, mkdRw / 2, b('tlbFlushRequest'), b('invlpg')], 'mean of mprotect(RO) and mprotect(RW) of 1 dirty page - changePte - mkwriteDirtyPte / 2 (the RW call) - tlbFlushRequest (base) - invlpg (base)');
  derive('uffdChangePte', perPage('uffd_big_wp', m('uffd_ioctl_a')), [], 'UFFDIO_WRITEPROTECT protect of N written pages, per page, minus the 1-page protect call / N');
  const ucp = costs.uffdChangePte?.cycles ?? b('uffdChangePte');
  derive('uffdIoctl', uffdIoctlWhole, [ucp, mkdUnwp / 2, b('tlbFlushRequest'), b('invlpg')], 'mean of UFFDIO_WRITEPROTECT protect and unprotect of 1 dirty page - uffdChangePte - mkwriteDirtyPte / 2 (the unprotect, 6.3+) - tlbFlushRequest (base) - invlpg (base)');
  derive('madvisePte', perPage('madv_free_big', b('syscallMadvise')), [], 'MADV_FREE of N written pages (clears A and D), per page, minus the call (syscallMadvise, base) / N; MADV_DONTNEED adds zapPte to it');
  derive('ipi', both('mprotect_call_2t'), [oneCall, b('invlpg')], "mprotect() with a 2nd thread on another CPU - without - remote invlpg (Nadav's method)");
  const forkPteGot: Got = (() => {
    const a = m('fork_call');
    const z = m('fork_call_16k');
    if ('error' in a) return a;
    if ('error' in z) return z;
    return { value: (z.value - a.value) / 16384, r: z.r };
  })();
  derive('forkPte', forkPteGot, [], '(fork with 16384 more written pages - fork) / 16384');
  const forkCall = m('fork_call');
  const rss = 'error' in forkCall ? 0 : forkCall.r.rssPages ?? 0;
  derive('fork', forkCall, [typeof costs.forkPte?.cycles === 'number' ? costs.forkPte.cycles * rss : b('forkPte') * rss], `fork() of the probe process, parent side - forkPte x its ${rss} anonymous resident pages`);

  const measuredNames = new Set(rows.map((r) => r.event));
  const def = JSON.parse(JSON.stringify(base.definition)) as CpuProfileInput & { costs: Record<string, CostEntry> };
  def.name = 'host';
  def.model = `${info.cpuModel}${info.hypervisor ? ' (VM guest)' : ''}`;
  def.clockGHz = {
    value: Math.round(probe.tscGHz * 1000) / 1000,
    source: `${source}: TSC ticks over 50 ms of CLOCK_MONOTONIC_RAW`,
    kind: 'measured',
    note: 'the TSC rate; all measured cycles are TSC ticks (the core clock may differ under turbo or in a VM)',
  };
  for (const [ev, c] of Object.entries(costs)) def.costs[ev] = c as CostEntry;
  def.notes = [
    ...(base.definition.notes ?? []),
    `host profile from ptlab calibrate ${date}: base "${pick.name}"${info.hypervisor ? ' (virtualized)' : ''} because ${pick.why}`,
    `measured: ${rows.filter((r) => r.status === 'measured').map((r) => r.event).join(', ') || 'nothing'}`,
    `kept from the base: TLB geometry, storage, ${Object.keys(base.costs).filter((e) => !measuredNames.has(e as CostEvent) || !costs[e as CostEvent]).length} costs`,
  ];
  const profile = parseProfile(def, 'ptlab calibrate');
  return { definition: def, profile, base: pick.name + (info.hypervisor ? ' (virtualized)' : ''), baseWhy: pick.why, rows, tscGHz: probe.tscGHz };
}
