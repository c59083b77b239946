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
import { parseProfile, type CpuProfile, type CpuProfileInput, type MeasuredMachine, type Vendor } from './profile';
import { getProfile } from './registry';
import { virtualize } from './virtualize';
import { medianOf, NOISY_SPREAD_PCT, spreadPct, type ProbeOutput, type ProbeResult } from './probe-runner';
import { drainCycles, regimePrice, walkRefAt, type Dependence } from './regime';
import { deriveThpCosts } from './calibrate-thp';
import { hostPageNumbersText, hostPageVerdict, type HostPageVerdict } from './calibrate-host-page';
import { DEFAULT_PT_SHARE, hierarchyOf, type MemoryDefinition } from './memory';
import type { HwEvent } from '../x86/events';

export interface HostInfo {
  cpuModel: string;
  vendorId?: string;
  vendor?: Vendor;
  family?: number;
  model?: number;
  hypervisor: boolean;
  kernel: string;
  cpus?: number;
  /** data/unified cache sizes in bytes by level, from /sys/devices/system/cpu/cpu0/cache */
  caches?: { l1d?: number; l2?: number; l3?: number };
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
    vendorId,
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
  return { ...parseCpuinfo(text), cpus: os.cpus().length, caches: readCacheSizes() };
}

/** "32K", "512K", "32768K", "32M" -> bytes */
function cacheBytes(v: string): number | undefined {
  const m = /^(\d+)\s*([KMG]?)/i.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * ({ '': 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[m[2].toUpperCase()];
}

function readCacheSizes(dir = '/sys/devices/system/cpu/cpu0/cache'): HostInfo['caches'] {
  const out: NonNullable<HostInfo['caches']> = {};
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir).filter((e) => e.startsWith('index'));
  } catch {
    return out;
  }
  for (const e of entries) {
    try {
      const read = (f: string) => fs.readFileSync(`${dir}/${e}/${f}`, 'utf8').trim();
      const level = Number(read('level'));
      const type = read('type');
      const bytes = cacheBytes(read('size'));
      if (bytes === undefined || type === 'Instruction') continue;
      if (level === 1) out.l1d = bytes;
      else if (level === 2) out.l2 = bytes;
      else if (level === 3) out.l3 = bytes;
    } catch {
      /* a level without the files: skip */
    }
  }
  return out;
}

/** Threshold between a hardware A-bit update and a hypervisor intervention, TSC cycles. */
export const SHADOW_PAGING_A_CYCLES = 2000;

/**
 * Bare metal, nested paging or shadow paging, and how that was decided. CPUID.1:ECX[31] (the
 * `hypervisor` flag) says whether this is a guest. A guest cannot read its hypervisor's MMU mode,
 * so the mode is inferred from what it costs: under nested paging the hardware walker sets PTE.A
 * in the guest's own tables (tens to hundreds of cycles); under shadow paging the hypervisor keeps
 * the guest's tables write-protected or the shadow entries not-accessed, so the first access after
 * the guest clears A is a VM exit (thousands of cycles; ~12k measured on a Zen 5 PVM guest).
 */
export function detectVirtualization(info: HostInfo, probe: ProbeOutput): { mode: MeasuredMachine['virtualization']; how: string } {
  if (!info.hypervisor) return { mode: 'bare-metal', how: 'CPUID.1:ECX[31] (the hypervisor flag in /proc/cpuinfo) is clear' };
  const sig = probe.hypervisorSignature ? `signature "${probe.hypervisorSignature}"` : 'no signature read';
  const a = medianOf(probe, 'a_iso');
  if ('error' in a) return { mode: 'nested-paging', how: `hypervisor flag set (${sig}); assumed nested paging: the isolated A-bit measurement is missing (${a.error})` };
  const v = Math.round(a.value);
  return v > SHADOW_PAGING_A_CYCLES
    ? { mode: 'shadow-paging', how: `hypervisor flag set (${sig}); an isolated A-bit update costs ${v} TSC cycles (> ${SHADOW_PAGING_A_CYCLES}): a hypervisor intervention per update, i.e. shadow paging` }
    : { mode: 'nested-paging', how: `hypervisor flag set (${sig}); an isolated A-bit update costs ${v} TSC cycles (<= ${SHADOW_PAGING_A_CYCLES}): the hardware walker sets it in the guest's own tables, i.e. nested paging (shadow paging would exit to the hypervisor)` };
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
  /** the spread stayed above NOISY_SPREAD_PCT after measuring again */
  noisy?: boolean;
}

type Got = { value: number; r: ProbeResult } | { error: string };

/** The probe's regime measurements (<key>_<dep|ind>_<tag>) and the model's event for each. */
const REGIME_KEYS: { key: string; ev: 'aBitSet' | 'adBitSet' | 'dBitSet'; how: string }[] = [
  { key: 'a', ev: 'aBitSet', how: 'read after MADV_FREE' },
  { key: 'acr', ev: 'aBitSet', how: 'read after clear_refs' },
  { key: 'ad', ev: 'adBitSet', how: 'write after MADV_FREE' },
  { key: 'd', ev: 'dBitSet', how: 'write to A=1,D=0' },
];

/**
 * The A/D regime measurements next to the model's extra cycles per page for them under `profile`
 * (its independent pass reads in address order, its dependent chase in random order). `isFitted`
 * marks the rows that priced the profile.
 */
export function regimeRowsFor(profile: CpuProfile, probe: ProbeOutput, tags: string[], isFitted: (key: string, dependence: Dependence, tag: string) => boolean = () => false): RegimeRow[] {
  const rows: RegimeRow[] = [];
  for (const u of REGIME_KEYS)
    for (const t of tags)
      for (const dependence of ['dependent', 'independent'] as Dependence[]) {
        const name = `${u.key}_${dependence === 'dependent' ? 'dep' : 'ind'}_${t}`;
        const g = medianOf(probe, name);
        if ('error' in g && u.key === 'acr' && /no such measurement|not in the --fast/.test(g.error)) continue;
        const pages = Number(t.replace('m', '')) * 256;
        const predicted = regimePrice(profile, u.ev as HwEvent, { dependence, footprintPages: pages, sequential: dependence === 'independent' });
        const row: RegimeRow = { event: u.ev, how: u.how, dependence, footprintMiB: pages / 256, predicted, fitted: isFitted(u.key, dependence, t) };
        if ('error' in g) row.problem = g.error;
        else {
          row.measured = g.value;
          row.spreadPct = spreadPct(g.r);
          row.errorPct = ((predicted - g.value) / Math.abs(g.value)) * 100;
        }
        rows.push(row);
      }
  return rows;
}

/** A regime measurement against the model's price for it (only the dependent one at the first footprint is fitted). */
export interface RegimeRow {
  event: 'aBitSet' | 'adBitSet' | 'dBitSet';
  /** how the bit was cleared and the access */
  how: string;
  dependence: Dependence;
  footprintMiB: number;
  measured?: number;
  spreadPct?: number;
  predicted: number;
  errorPct?: number;
  fitted: boolean;
  problem?: string;
}

export interface HostCalibration {
  definition: CpuProfileInput;
  profile: CpuProfile;
  base: string;
  baseWhy: string;
  rows: CalibrationRow[];
  /** the A/D regime measurements next to the model (not fitted, except the one marked) */
  regimeRows: RegimeRow[];
  /** bare metal / nested / shadow paging and how that was decided */
  virtualization: { mode: MeasuredMachine['virtualization']; how: string };
  /** a guest's host page size from the probe's chases (tlb.hostPageKiB when there is a verdict), or why not */
  hostPage: HostPageVerdict;
  tscGHz: number;
}

/**
 * Build the host profile from probe output. `date` is stamped in every source
 * ("measured: ptlab calibrate <date>, <cpu model>").
 */
export function deriveHostProfile(probe: ProbeOutput, info: HostInfo, date: string, spinning = info.hypervisor): HostCalibration {
  const pick = closestBase(info);
  let base = getProfile(pick.name);
  if (info.hypervisor) base = virtualize(base);
  const b = (ev: CostEvent) => base.costs[ev].cycles;
  const m = (name: string): Got => medianOf(probe, name);
  const source = `measured: ptlab calibrate ${date}, ${info.cpuModel}${info.hypervisor ? ' (VM guest)' : ''}, kernel ${info.kernel}`;
  const rows: CalibrationRow[] = [];
  const costs: Partial<Record<CostEvent, CostEntry>> = {};

  /** a = main measurement, rest subtracted; `parts` names the subtracted terms for the note */
  const derive = (event: CostEvent, main: Got, minus: (Got | number)[], how: string, regime?: string) => {
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
      // why: the main measurement is no larger than what is subtracted from it, so this host does
      // not show the event above the other terms (or the noise hides it)
      const why = `${mainV.toFixed(1)} measured - ${sub.toFixed(1)} subtracted = ${v.toFixed(1)} <= 0: the event costs no more than the other terms here${Number.isFinite(spread) ? `, within the measurement's IQR of ${spread.toFixed(0)}%` : ''}; the base profile's value is kept`;
      rows.push({ event, base: b(event), cycles: b(event), status: 'kept', how: `kept base: not resolved (${how}): ${why}`, spreadPct: spread });
      return;
    }
    const r = (main as { r: ProbeResult }).r;
    const cycles = Math.round(v);
    const noisy = spread > NOISY_SPREAD_PCT;
    costs[event] = {
      cycles,
      source,
      kind: 'measured',
      note: `${noisy ? `NOISY (IQR ${spread.toFixed(0)}% > ${NOISY_SPREAD_PCT}%${r.remeasured ? ' after measuring twice' : ''}): ` : ''}${how}; median of n=${r.n} ${r.unit ?? ''} samples, IQR ${spread.toFixed(0)}% (TSC cycles)`,
      ...(regime ? { regime } : {}),
      ...(r.n ? { samples: r.n } : {}),
      ...(Number.isFinite(spread) ? { spreadPct: Math.round(spread * 10) / 10 } : {}),
    };
    rows.push({ event, base: b(event), cycles, status: 'measured', how, spreadPct: spread, ...(noisy ? { noisy } : {}) });
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

  const keep = (event: CostEvent, why: string) => rows.push({ event, base: b(event), cycles: b(event), status: 'kept', how: `kept base: ${why}` });
  const hostPage = hostPageVerdict(probe, info.hypervisor);
  // The walk's baseline, the same reads on THP, takes one TLB miss per 512 pages only where the
  // guest THP reaches the TLB as one 2 MiB entry; on 4 KiB host pages it takes one per page too,
  // and the difference would leave out most of the walk.
  if ('kib' in hostPage && hostPage.kib === 4)
    keep('walk', `not derived (TLB-cold read - same reads on THP - ...): on 4 KiB host pages (${hostPageNumbersText(hostPage.numbers)}) the reads on THP take a TLB miss per page, not one per 512 pages, so they are no TLB-hit baseline`);
  else derive('walk', walkRead, [m('huge_read'), b('tlbMiss'), 1.5 * b('walkMemRef')], 'TLB-cold read (A=1,D=1) - same reads on THP - tlbMiss - 1.5 x walkMemRef (base)');
  // Memory hierarchy: the sizes this (virtual) CPU reports, load-to-use latencies from line
  // chases, and the overlap of independent TLB-missing reads (the regime rule's inputs).
  const mem = JSON.parse(JSON.stringify(base.definition.memory)) as MemoryDefinition;
  const sysSource = `${source}: /sys/devices/system/cpu/cpu0/cache`;
  const setSize = (lvl: 'l1d' | 'l2' | 'llc', bytes: number | undefined) => {
    if (bytes) mem[lvl].bytes = { value: bytes, source: sysSource, kind: 'measured', note: 'the size this CPU reports (a guest may share it with other guests)' };
  };
  setSize('l1d', info.caches?.l1d);
  setSize('l2', info.caches?.l2);
  setSize('llc', info.caches?.l3);
  const lat = (key: 'l2' | 'llc' | 'dram', name: string) => {
    const g = m(name);
    if ('error' in g) return;
    const entry = { value: Math.round(g.value * 10) / 10, source: `${source}: ${g.r.what}`, kind: 'measured' as const, note: `median of n=${g.r.n}, IQR ${spreadPct(g.r).toFixed(0)}%` };
    if (key === 'dram') mem.dramCycles = entry;
    else mem[key].cycles = entry;
  };
  lat('l2', 'lat_l2');
  lat('llc', 'lat_2m');
  lat('dram', 'lat_dram');
  // noise can invert the levels (a loaded host): keep the base's value for a level out of order
  const baseMem = base.definition.memory;
  if (!(mem.l2.cycles.value <= mem.llc.cycles.value && mem.llc.cycles.value <= mem.dramCycles.value)) {
    if (mem.l2.cycles.value > mem.llc.cycles.value) mem.l2.cycles = baseMem.l2.cycles;
    if (mem.llc.cycles.value > mem.dramCycles.value || mem.llc.cycles.value < mem.l2.cycles.value) mem.llc.cycles = baseMem.llc.cycles;
    if (mem.dramCycles.value < mem.llc.cycles.value) mem.dramCycles = baseMem.dramCycles;
  }
  if (mem.l1d.cycles.value > mem.l2.cycles.value) mem.l2.cycles = baseMem.l2.cycles;
  // the LLC capacity this core gets: a uniform random chase over S bytes hits with C/S, so each
  // S past the capacity gives C = S (dram - lat(S)) / (dram - llc); the median over the sizes
  const llcLat = mem.llc.cycles.value, dramLat = mem.dramCycles.value;
  const caps = [4, 8, 16]
    .map((mib) => ({ mib, g: m(`lat_${mib}m`) }))
    .filter((x): x is { mib: number; g: { value: number; r: ProbeResult } } => !('error' in x.g))
    .map(({ mib, g }) => Math.min(mib, Math.max(0.25, (mib * (dramLat - g.value)) / (dramLat - llcLat))) * (1 << 20))
    .sort((x, y) => x - y);
  if (caps.length && dramLat > llcLat) {
    const eff = caps[Math.floor(caps.length / 2)];
    const reported = info.caches?.l3;
    const bytes = Math.round(eff / 65536) * 65536 || 65536;
    // on a loaded host the 4-16 MiB chases can cost as much as DRAM, which puts the estimate at
    // or below L2: the schema refuses that (sizes must grow), so the reported or base size stays
    if ((!reported || eff < reported) && bytes > mem.l2.bytes.value)
      mem.llc.bytes = {
        value: bytes,
        source: `${source}: random line chases over 4, 8 and 16 MiB (warm): C = S (dram - lat(S)) / (dram - llc), median`,
        kind: 'measured',
        note: `the LLC capacity this core effectively gets${reported ? ` (the CPU reports ${reported >> 20} MiB; a guest shares it with other guests)` : ''}`,
      };
  }
  const tags = probe.fast ? ['8m', '32m'] : ['64m', '512m'];
  const tagPages = (t: string) => Number(t.replace('m', '')) * 256;
  const chase0 = m(`chase_${tags[0]}`), stream0 = m(`stream_${tags[0]}`);
  if (!('error' in chase0) && !('error' in stream0) && chase0.value > stream0.value)
    mem.mlp = {
      value: Math.round((chase0.value / stream0.value) * 10) / 10,
      source: `${source}: TLB-missing reads of A=1 pages over ${tags[0].replace('m', ' MiB')}, dependent chase / independent page-stride stream (${Math.round(chase0.value)} / ${Math.round(stream0.value)} cycles per page)`,
      kind: 'measured',
    };
  const amd = pick.name.startsWith('zen');
  const warmRef = b('walkMemRef');
  const hierWith = (ptShare: number) => ({ ...hierarchyOf(mem), ptShare });
  /** the model's footprint term of an AMD A/D update (a re-walk of the leaf) in a random-order chase */
  const rewalkAt = (pages: number, ptShare: number) => (amd ? walkRefAt(warmRef, hierWith(ptShare), pages) - warmRef : 0);
  // The page tables' cache share (AMD): the share that makes the cache model's re-walk term grow
  // between the two calibration footprints as the dependent A delta did (bisection; the term
  // falls as the share grows). It prices walk references by footprint; the A/D updates
  // themselves take the measured log-linear growth below when both footprints were measured.
  // The check sizes (128 MiB, 1 GiB) stay out.
  // An A update in a chase is measured twice per footprint, with A cleared by MADV_FREE and by
  // clear_refs: the two passes fit it together (their mean), which halves the noise of either
  // (IQR 20-80% on this guest's dependent deltas).
  const aDep = (tag: string): Got => {
    const got = [m(`a_dep_${tag}`), m(`acr_dep_${tag}`)].filter((g): g is { value: number; r: ProbeResult } => !('error' in g));
    if (got.length === 0) return m(`a_dep_${tag}`);
    return { value: got.reduce((x, g) => x + g.value, 0) / got.length, r: got[0].r };
  };
  const a0 = aDep(tags[0]), a1 = aDep(tags[1]);
  if (amd && !('error' in a0) && !('error' in a1) && a1.value > a0.value) {
    const growth = (sh: number) => rewalkAt(tagPages(tags[1]), sh) - rewalkAt(tagPages(tags[0]), sh);
    const want = a1.value - a0.value;
    let lo = 0.05, hi = 8;
    if (growth(hi) <= want && want <= growth(lo)) {
      for (let i = 0; i < 50; i++) {
        const mid = Math.sqrt(lo * hi);
        if (growth(mid) > want) lo = mid;
        else hi = mid;
      }
      mem.ptShare = {
        value: Math.round(Math.sqrt(lo * hi) * 100) / 100,
        source: `${source}: the dependent A delta grew by ${Math.round(want)} cycles from ${tagPages(tags[0]) / 256} to ${tagPages(tags[1]) / 256} MiB (a_dep_${tags[0]} ${Math.round(a0.value)}, a_dep_${tags[1]} ${Math.round(a1.value)}); the share that gives the model's re-walk term the same growth`,
        kind: 'measured',
        note: 'fitted at the two calibration footprints only; 128 MiB and 1 GiB (the checks) are predictions',
      };
    }
  }
  const share = mem.ptShare?.value ?? DEFAULT_PT_SHARE;
  // AMD: the A and A+D updates' growth with the footprint in a chase, log-linear between the two
  // calibration footprints (regime.ts adFootprintTerm); their price is then the delta at the first
  // footprint itself. The check sizes (128 MiB, 1 GiB) stay predictions.
  const ad0 = m(`ad_dep_${tags[0]}`), ad1 = m(`ad_dep_${tags[1]}`);
  if (amd && !('error' in a0) && !('error' in a1) && !('error' in ad0) && !('error' in ad1)) {
    const doublings = Math.log2(tagPages(tags[1]) / tagPages(tags[0]));
    const per = (lo: number, hi: number) => Math.round((Math.max(0, hi - lo) / doublings) * 10) / 10;
    const from = (x: string) => (x === 'a' ? `the mean of a_dep and acr_dep: ${Math.round(a0.value)} and ${Math.round(a1.value)}` : `ad_dep_${tags[0]} ${Math.round(ad0.value)}, ad_dep_${tags[1]} ${Math.round(ad1.value)}`);
    mem.adGrowth = {
      fromMiB: { value: tagPages(tags[0]) / 256, source: `${source}: the first calibration footprint`, kind: 'measured' },
      aPerDoubling: { value: per(a0.value, a1.value), source: `${source}: the dependent A delta from ${tagPages(tags[0]) / 256} to ${tagPages(tags[1]) / 256} MiB (${from('a')}), per doubling of the footprint`, kind: 'measured', note: 'fitted at the two calibration footprints only; 128 MiB and 1 GiB (the checks) are predictions' },
      adPerDoubling: { value: per(ad0.value, ad1.value), source: `${source}: the dependent A+D delta from ${tagPages(tags[0]) / 256} to ${tagPages(tags[1]) / 256} MiB (${from('ad')}), per doubling of the footprint`, kind: 'measured', note: 'fitted at the two calibration footprints only' },
    };
  }
  const rewalk = (pages: number) => (mem.adGrowth ? 0 : rewalkAt(pages, share));
  // A/D updates: fitted on the dependent chase at the first footprint only, minus the footprint
  // term the model adds there (AMD re-walk of the leaf); everything else in regimeRows is a check.
  const fitPages = tagPages(tags[0]);
  const upd: { ev: 'aBitSet' | 'adBitSet' | 'dBitSet'; key: string; what: string }[] = [
    { ev: 'aBitSet', key: 'a', what: 'read after MADV_FREE (A=0) - read of A=1' },
    { ev: 'adBitSet', key: 'ad', what: 'write after MADV_FREE (A=0,D=0) - write to A=1,D=1' },
    { ev: 'dBitSet', key: 'd', what: 'write to A=1,D=0 (MADV_FREE + a read pass) - write to A=1,D=1' },
  ];
  for (const u of upd) {
    if (u.ev === 'dBitSet' && amd) {
      // on AMD a chase hides the D-only update (regime.ts): it is visible in the independent stream
      const rw = walkRefAt(warmRef, hierWith(share), fitPages, true) - warmRef;
      derive(u.ev, m(`${u.key}_ind_${tags[0]}`), [rw], `independent page-stride stream over ${fitPages / 256} MiB, ${u.what}, per page, minus the model's re-walk term there (${rw.toFixed(1)}); a dependent chase hides it on AMD`, `independent, ${fitPages / 256} MiB`);
      continue;
    }
    const rw = rewalk(fitPages);
    const both = u.ev === 'aBitSet' && !('error' in m(`acr_dep_${tags[0]}`));
    derive(u.ev, u.ev === 'aBitSet' ? a0 : m(`${u.key}_dep_${tags[0]}`), [rw], `dependent random pointer chase over ${fitPages / 256} MiB, ${u.what}${both ? ', mean with the same pass after clear_refs' : ''}, per page${rw ? `, minus the model's re-walk term there (${rw.toFixed(1)})` : ''}`, `dependent, ${fitPages / 256} MiB`);
  }
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
  derive('ipi', both('mprotect_call_2t'), [oneCall, b('invlpg')], "mprotect() with a 2nd thread of the mm spinning on another CPU (a busy neighbour: every flush is a shootdown) - without - remote invlpg (Nadav's method)", 'remote CPU busy in the same mm');
  derive('scanPte', m('clear_refs_pte'), [], 'clear_refs with N more young PTEs - without them, per PTE (clear_refs_pte_range: test-and-clear A)');
  const idle = both('mprotect_call_2t_idle');
  const idleNote = 'error' in idle || 'error' in oneCall ? undefined : `an idle neighbour (the 2nd thread asleep, its CPU in lazy TLB mode) adds ${Math.round(idle.value - oneCall.value)} cycles to the 1-page mprotect (a busy one: ${'error' in both('mprotect_call_2t') ? '?' : Math.round((both('mprotect_call_2t') as { value: number }).value - oneCall.value)})`;
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

  // transparent huge pages: fault, zero-page, split and collapse paths (calibrate-thp.ts)
  deriveThpCosts({ m, b, costs, derive, kernel: info.kernel, keep });

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
  def.memory = mem;
  // a guest's host page size: measured when the chases give a verdict; else the base's (the
  // virtualize() estimate), saying why calibrate did not measure it. Bare metal has none.
  if (info.hypervisor) {
    if ('kib' in hostPage)
      def.tlb.hostPageKiB = { value: hostPage.kib, source: `${source}: ${hostPageNumbersText(hostPage.numbers)}`, kind: 'measured', note: hostPage.how };
    else if (def.tlb.hostPageKiB) def.tlb.hostPageKiB = { ...def.tlb.hostPageKiB, note: `ptlab calibrate ${date} gave no verdict: ${hostPage.why}` };
  }
  const virt = detectVirtualization(info, probe);
  def.measuredOn = {
    cpuModel: info.cpuModel,
    ...(info.vendorId ? { vendorId: info.vendorId } : {}),
    ...(info.family !== undefined ? { family: info.family } : {}),
    ...(info.model !== undefined ? { model: info.model } : {}),
    kernel: info.kernel,
    virtualization: virt.mode,
    virtualizationHow: virt.how,
    date,
    tscGHz: Math.round(probe.tscGHz * 1000) / 1000,
    otherCpus: spinning ? 'busy' : 'as-is',
    ...(info.cpus ? { cpus: info.cpus } : {}),
    base: { profile: pick.name, virtualized: info.hypervisor },
  };
  def.notes = [
    ...(base.definition.notes ?? []),
    `host profile from ptlab calibrate ${date}: base "${pick.name}"${info.hypervisor ? ' (virtualized)' : ''} because ${pick.why}`,
    `measured: ${rows.filter((r) => r.status === 'measured').map((r) => r.event).join(', ') || 'nothing'}`,
    `kept from the base: TLB geometry${'kib' in hostPage ? ' (the host page size measured)' : ''}, storage, ${Object.keys(base.costs).filter((e) => !measuredNames.has(e as CostEvent) || !costs[e as CostEvent]).length} costs`,
    ...(idleNote ? [idleNote] : []),
  ];
  let profile = parseProfile(def, 'ptlab calibrate');
  // A store's drain (regime.ts): fitted on the independent write stream at the first footprint
  // only (its A+D delta is the dependent price + the re-walk + storeDrain x the load's drain); the
  // second footprint stays a check.
  const adInd = m(`ad_ind_${tags[0]}`);
  if (costs.adBitSet?.kind === 'measured' && !('error' in adInd)) {
    const r = { dependence: 'independent' as const, footprintPages: fitPages, sequential: true };
    const drain = drainCycles(profile, fitPages);
    const rest = regimePrice(profile, 'adBitSet', r) - profile.memory.storeDrain * drain;
    const share = (adInd.value - rest) / drain;
    if (drain > 0 && share > 0) {
      def.memory.storeDrain = {
        value: Math.round(Math.min(1, share) * 100) / 100,
        source: `${source}: independent page-stride writes after MADV_FREE over ${fitPages / 256} MiB (ad_ind_${tags[0]} ${Math.round(adInd.value)} per page) minus the model's A+D price without a drain there (${Math.round(rest)}), over the model's load drain (${Math.round(drain)})`,
        kind: 'measured',
        note: `fitted at ${fitPages / 256} MiB only; ${tagPages(tags[1]) / 256} MiB and the --check scenarios are predictions`,
      };
      profile = parseProfile(def, 'ptlab calibrate');
    }
  }
  const priced = (key: string) => costs[REGIME_KEYS.find((k) => k.key === key)!.ev]?.kind === 'measured';
  /** the regime rows that priced the profile; every other row is a check */
  const fitted = (key: string, dep: Dependence, tag: string): boolean => {
    if (key === 'acr') return dep === 'dependent' && priced('a') && (tag === tags[0] || (tag === tags[1] && def.memory.adGrowth !== undefined));
    if (!priced(key)) return false;
    if (key === 'd' && amd) return dep === 'independent' && tag === tags[0];
    if (dep === 'dependent') return tag === tags[0] || ((key === 'a' || key === 'ad') && tag === tags[1] && def.memory.adGrowth !== undefined) || (key === 'a' && tag === tags[1] && def.memory.ptShare !== undefined);
    return key === 'ad' && tag === tags[0] && def.memory.storeDrain !== undefined;
  };
  const regimeRows = regimeRowsFor(profile, probe, tags, fitted);
  return { definition: def, profile, base: pick.name + (info.hypervisor ? ' (virtualized)' : ''), baseWhy: pick.why, rows, regimeRows, virtualization: virt, hostPage, tscGHz: probe.tscGHz };
}
