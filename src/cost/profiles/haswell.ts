/** Haswell-EP server core (Xeon E5 v3): the machine class of the RFC's mprotect numbers and of lastweek.io's #PF numbers. */
import type { CpuProfileInput } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import { hardwareCosts } from './hardware-costs';
import { kernelSoftwareCosts } from './kernel-software';
import { nvmeStorage } from './storage-nvme';
import { estimatedPsc } from './psc';
import { memoryHierarchy } from './memory-hierarchy';

export const haswell: CpuProfileInput = {
  name: 'haswell',
  vendor: 'intel',
  model: 'Xeon E5-2630 v3 (Haswell-EP)',
  clockGHz: sourced(2.4, CITE.ark, 'published', 'base clock'),
  tlb: {
    l1d: { entries: sourced(64, CITE.intelOptHaswell, 'published'), ways: sourced(4, CITE.intelOptHaswell, 'published') },
    stlb: { entries: sourced(1024, CITE.intelOptHaswell, 'published', 'shared by 4K and 2M pages'), ways: sourced(8, CITE.intelOptHaswell, 'published') },
    l1d2m: sourced(32, CITE.intelOptHaswell, 'published'),
    psc: estimatedPsc(false),
  },
  storage: nvmeStorage(),
  memory: memoryHierarchy('haswell', 2.4),
  costs: { ...hardwareCosts('haswell'), ...kernelSoftwareCosts('haswell') },
};
