/** Skylake-SP server core (Xeon Scalable 1st gen): the default profile. */
import type { CpuProfileInput } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import { hardwareCosts } from './hardware-costs';
import { kernelSoftwareCosts } from './kernel-software';
import { nvmeStorage } from './storage-nvme';
import { estimatedPsc } from './psc';
import { memoryHierarchy } from './memory-hierarchy';

export const skylakeSp: CpuProfileInput = {
  name: 'skylake-sp',
  vendor: 'intel',
  model: 'Xeon Gold 6148 (Skylake-SP)',
  clockGHz: sourced(2.4, CITE.ark, 'published', 'base clock'),
  tlb: {
    l1d: { entries: sourced(64, CITE.intelOptSkylake, 'published'), ways: sourced(4, CITE.intelOptSkylake, 'published') },
    stlb: { entries: sourced(1536, CITE.intelOptSkylake, 'published', 'shared by 4K and 2M pages'), ways: sourced(12, CITE.intelOptSkylake, 'published') },
    l1d2m: sourced(32, CITE.intelOptSkylake, 'published'),
    psc: estimatedPsc(false),
  },
  storage: nvmeStorage(),
  memory: memoryHierarchy('skylake', 2.4),
  costs: { ...hardwareCosts('skylake'), ...kernelSoftwareCosts('skylake') },
};
