/** Paging-structure-cache sizes: no vendor publishes them, so every profile uses the reverse-engineered order of magnitude. */
import type { TlbDefinition } from '../profile';
import { sourced } from '../sourced';
import { CITE } from '../citations';

export function estimatedPsc(amd: boolean): TlbDefinition['psc'] {
  const note = amd
    ? 'Zen keeps page-directory entries in the L2 DTLB (AMD SOG); modelled as separate small caches'
    : 'SDM 4.10.3: sizes are implementation specific; RevAnC found a few PML4E/PDPTE entries and tens of PDEs';
  return {
    pml4e: sourced(2, CITE.pscRevanc, 'estimate', note),
    pdpte: sourced(4, CITE.pscRevanc, 'estimate', note),
    pde: sourced(32, CITE.pscRevanc, 'estimate', note),
  };
}
