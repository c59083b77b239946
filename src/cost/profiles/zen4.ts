/** AMD Zen 4 server core (EPYC 9004 "Genoa"). */
import type { CpuProfileInput } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import { hardwareCosts } from './hardware-costs';
import { kernelSoftwareCosts } from './kernel-software';
import { nvmeStorage } from './storage-nvme';
import { estimatedPsc } from './psc';
import { memoryHierarchy } from './memory-hierarchy';

export const zen4: CpuProfileInput = {
  name: 'zen4',
  vendor: 'amd',
  model: 'EPYC 9654 (Genoa)',
  clockGHz: sourced(2.4, CITE.ark, 'published', 'base clock'),
  tlb: {
    l1d: { entries: sourced(72, CITE.amdSogZen4, 'published', 'fully associative, all page sizes'), ways: sourced(72, CITE.amdSogZen4, 'published', 'fully associative') },
    stlb: { entries: sourced(3072, CITE.amdSogZen4, 'published', '4K and 2M pages'), ways: sourced(24, CITE.zen2Skewed, 'estimate', 'associativity not published for Zen 4; 24 ways keep 128 power-of-two sets') },
    l1d2m: sourced(72, CITE.amdSogZen4, 'published', 'the same fully associative entries hold 2M pages'),
    psc: estimatedPsc(true),
  },
  storage: nvmeStorage(),
  memory: memoryHierarchy('zen4', 2.4),
  costs: { ...hardwareCosts('zen4'), ...kernelSoftwareCosts('zen4') },
};
