/** Ice Lake-SP server core (Sunny Cove, Xeon Scalable 3rd gen). */
import type { CpuProfileInput } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import { hardwareCosts } from './hardware-costs';
import { kernelSoftwareCosts } from './kernel-software';
import { nvmeStorage } from './storage-nvme';
import { estimatedPsc } from './psc';
import { memoryHierarchy } from './memory-hierarchy';

export const icelakeSp: CpuProfileInput = {
  name: 'icelake-sp',
  vendor: 'intel',
  model: 'Xeon Platinum 8380 (Ice Lake-SP)',
  clockGHz: sourced(2.3, CITE.ark, 'published', 'base clock'),
  tlb: {
    l1d: { entries: sourced(64, CITE.intelOptIcelake, 'published', 'load DTLB, 4K pages'), ways: sourced(4, CITE.intelOptIcelake, 'published') },
    stlb: { entries: sourced(2048, CITE.intelOptIcelake, 'published', 'shared by 4K and 2M pages'), ways: sourced(16, CITE.intelOptIcelake, 'estimate', 'associativity not confirmed; 16 gives 128 sets') },
    l1d2m: sourced(32, CITE.intelOptIcelake, 'published'),
    psc: estimatedPsc(false),
  },
  storage: nvmeStorage(),
  memory: memoryHierarchy('icelake', 2.3),
  costs: { ...hardwareCosts('icelake'), ...kernelSoftwareCosts('icelake') },
};
