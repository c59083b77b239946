/** AMD Zen 3 server core (EPYC 7003 "Milan"): Raghavendra's A/D numbers were taken on this family. */
import type { CpuProfileInput } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import { hardwareCosts } from './hardware-costs';
import { kernelSoftwareCosts } from './kernel-software';
import { nvmeStorage } from './storage-nvme';
import { estimatedPsc } from './psc';
import { memoryHierarchy } from './memory-hierarchy';

export const zen3: CpuProfileInput = {
  name: 'zen3',
  vendor: 'amd',
  model: 'EPYC 7763 (Milan)',
  clockGHz: sourced(2.45, CITE.ark, 'published', 'base clock'),
  tlb: {
    l1d: { entries: sourced(64, CITE.amdSog19h, 'published', 'fully associative, all page sizes'), ways: sourced(64, CITE.amdSog19h, 'published', 'fully associative') },
    stlb: { entries: sourced(2048, CITE.amdSog19h, 'published', '4K and 2M pages'), ways: sourced(16, CITE.zen2Skewed, 'estimate', 'really a skewed 12-way cache; 16 ways keep 128 power-of-two sets in the model') },
    l1d2m: sourced(64, CITE.amdSog19h, 'published', 'the same 64 fully associative entries hold 2M pages'),
    psc: estimatedPsc(true),
  },
  storage: nvmeStorage(),
  memory: memoryHierarchy('zen3', 2.45),
  costs: { ...hardwareCosts('zen3'), ...kernelSoftwareCosts('zen3') },
};
