/** Sapphire Rapids server core (Golden Cove, Xeon Scalable 4th gen). */
import type { CpuProfileInput } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';
import { hardwareCosts } from './hardware-costs';
import { kernelSoftwareCosts } from './kernel-software';
import { nvmeStorage } from './storage-nvme';
import { estimatedPsc } from './psc';
import { memoryHierarchy } from './memory-hierarchy';

export const sapphireRapids: CpuProfileInput = {
  name: 'sapphire-rapids',
  vendor: 'intel',
  model: 'Xeon Platinum 8480+ (Sapphire Rapids)',
  clockGHz: sourced(2.0, CITE.ark, 'published', 'base clock'),
  tlb: {
    l1d: { entries: sourced(96, CITE.intelOptGoldenCove, 'published', 'load DTLB, 4K pages (64 on earlier cores)'), ways: sourced(6, CITE.intelOptGoldenCove, 'estimate', 'associativity not confirmed; 6 gives 16 sets') },
    stlb: { entries: sourced(2048, CITE.intelOptGoldenCove, 'published', 'shared by 4K and 2M pages'), ways: sourced(16, CITE.intelOptGoldenCove, 'estimate', 'associativity not confirmed; 16 gives 128 sets') },
    l1d2m: sourced(32, CITE.intelOptGoldenCove, 'published'),
    psc: estimatedPsc(false),
  },
  storage: nvmeStorage(),
  memory: memoryHierarchy('goldencove', 2.0),
  costs: { ...hardwareCosts('goldencove'), ...kernelSoftwareCosts('goldencove') },
};
