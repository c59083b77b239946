/**
 * Cache sizes and latencies, DRAM latency and memory-level parallelism of the shipped profiles'
 * reference parts. Sizes are the vendors' published figures; load-to-use latencies of L1/L2 come
 * from the vendors' optimization guides; LLC and DRAM latencies of server parts are not published
 * by the vendors, so they are estimates from third-party LMBench-style measurements (cited). DRAM
 * latency is a time, converted at the profile's clock.
 */
import { hierarchyOf, type MemoryDefinition, type MemoryHierarchy } from '../memory';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import type { CoreFamily } from './family';

const KiB = 1024;
const MiB = 1024 * 1024;

interface Figures {
  l1d: number;
  l1dCyc: number;
  l2: number;
  l2Cyc: number;
  llc: number;
  llcCyc: number;
  dramNs: number;
  mlp: number;
  sizes: string;
  lat: string;
  llcLat: string;
  mlpWhy: string;
}

const FIGURES: Record<CoreFamily, Figures> = {
  haswell: {
    l1d: 32 * KiB, l1dCyc: 4, l2: 256 * KiB, l2Cyc: 12, llc: 20 * MiB, llcCyc: 40, dramNs: 90, mlp: 7,
    sizes: CITE.ark, lat: CITE.intelOptHaswell, llcLat: CITE.anandSkxLatency,
    mlpWhy: "Peter Xu's Broadwell reads of A-set pages: 4 ms / 262144 pages = 15 ns per TLB-missing page against ~110 ns of walk + DRAM latency",
  },
  skylake: {
    l1d: 32 * KiB, l1dCyc: 4, l2: 1 * MiB, l2Cyc: 14, llc: 27.5 * MiB, llcCyc: 55, dramNs: 90, mlp: 8,
    sizes: CITE.ark, lat: CITE.intelOptSkylake, llcLat: CITE.anandSkxLatency,
    mlpWhy: '12 L1D fill buffers and 2 page walkers: about 8 TLB-missing loads overlap (carried over from the Broadwell rate, +1 for the larger buffers)',
  },
  icelake: {
    l1d: 48 * KiB, l1dCyc: 5, l2: 1.25 * MiB, l2Cyc: 14, llc: 60 * MiB, llcCyc: 70, dramNs: 100, mlp: 8,
    sizes: CITE.ark, lat: CITE.intelOptIcelake, llcLat: CITE.anandSkxLatency,
    mlpWhy: 'taken equal to Skylake-SP (no published page-walker count)',
  },
  goldencove: {
    l1d: 48 * KiB, l1dCyc: 5, l2: 2 * MiB, l2Cyc: 16, llc: 105 * MiB, llcCyc: 90, dramNs: 110, mlp: 10,
    sizes: CITE.ark, lat: CITE.intelOptGoldenCove, llcLat: CITE.anandSkxLatency,
    mlpWhy: '16 L1D fill buffers and 4 page walkers (Golden Cove): more overlap than Skylake-SP',
  },
  zen3: {
    l1d: 32 * KiB, l1dCyc: 4, l2: 512 * KiB, l2Cyc: 12, llc: 32 * MiB, llcCyc: 46, dramNs: 100, mlp: 10,
    sizes: CITE.amdSog19h, lat: CITE.amdSog19h, llcLat: CITE.anandZen3,
    mlpWhy: '6 page walkers on Zen 3 (Zen 2: 2); ptlab calibrate measured 9-10 on an EPYC Zen 3 KVM guest (A-set page-stride stream vs dependent chase, 128 MiB)',
  },
  zen4: {
    l1d: 32 * KiB, l1dCyc: 4, l2: 1 * MiB, l2Cyc: 14, llc: 32 * MiB, llcCyc: 50, dramNs: 110, mlp: 10,
    sizes: CITE.amdSogZen4, lat: CITE.amdSogZen4, llcLat: CITE.anandZen3,
    mlpWhy: 'taken equal to Zen 3 (6 page walkers)',
  },
};

/** The plain numbers of a family's hierarchy with DRAM latency converted at `clockGHz`. */
export function familyHierarchy(family: CoreFamily, clockGHz: number): MemoryHierarchy {
  return hierarchyOf(memoryHierarchy(family, clockGHz));
}

export function memoryHierarchy(family: CoreFamily, clockGHz: number): MemoryDefinition {
  const f = FIGURES[family];
  const est = 'estimate';
  return {
    l1d: { bytes: sourced(f.l1d, f.sizes, 'published'), cycles: sourced(f.l1dCyc, f.lat, 'published', 'load-to-use, simple addressing') },
    l2: { bytes: sourced(f.l2, f.sizes, 'published'), cycles: sourced(f.l2Cyc, f.lat, 'published') },
    llc: {
      bytes: sourced(f.llc, f.sizes, 'published', 'the L3 one core can fill (Zen: its CCX/CCD)'),
      cycles: sourced(f.llcCyc, f.llcLat, est, 'no vendor figure for the server part; third-party random-load latency'),
    },
    dramCycles: sourced(Math.round(f.dramNs * clockGHz), f.llcLat, est, `~${f.dramNs} ns unloaded local DRAM x ${clockGHz} GHz (the profile's clock)`),
    mlp: sourced(f.mlp, family === 'zen3' || family === 'zen4' ? CITE.anandZen3 : CITE.peterXuMigration, est, f.mlpWhy),
  };
}
