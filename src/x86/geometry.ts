/**
 * TLB and paging-structure-cache geometry of one CPU model. The x86 layer only needs sizes and
 * ways; CPU profiles (src/cost) supply the values with their sources.
 */
export interface TlbLevelGeometry {
  /** total entries for 4 KiB translations */
  entries: number;
  /** associativity; entries / ways must be a power of two */
  ways: number;
}

export interface MmuGeometry {
  /** L1 data TLB, 4 KiB pages */
  l1d: TlbLevelGeometry;
  /** unified second-level TLB (STLB), 4 KiB pages */
  stlb: TlbLevelGeometry;
  /** L1 data TLB entries for 2 MiB pages */
  l1d2m: number;
  /**
   * their associativity; default: 4 ways up to 32 entries (Intel's 32-entry, 4-way 2M/4M L1 DTLB,
   * optimization manual "TLB parameters"), fully associative above (AMD Zen's 64-72 entries)
   */
  l1d2mWays?: number;
  /** paging-structure caches (SDM 4.10.3): entries for PML4E, PDPTE and PDE caches */
  psc: { pml4e: number; pdpte: number; pde: number };
  /** 5-level paging (LA57) */
  la57?: boolean;
  /**
   * A guest under nested paging: the page size the host maps guest memory with, in KiB (absent:
   * bare metal, or a host whose pages are at least 2 MiB). With 4 KiB host pages a nested
   * translation is contiguous only within one 4 KiB host page, so the TLB caches a guest 2 MiB
   * page as 4 KiB entries, one per page accessed ("page splintering": Pham et al., "Large Pages
   * and Lightweight Memory Management in Virtualized Environments: Can You Have it Both Ways?",
   * MICRO 2015). The walk is still the guest's walk to its PDE.
   */
  hostPageKiB?: 4 | 2048;
}

/** Skylake client/server core: SDM vol. 3 / Intel optimization manual table "TLB parameters". Used as the x86 layer's default. */
export const DEFAULT_GEOMETRY: MmuGeometry = {
  l1d: { entries: 64, ways: 4 },
  stlb: { entries: 1536, ways: 12 },
  l1d2m: 32,
  psc: { pml4e: 2, pdpte: 4, pde: 32 },
};
