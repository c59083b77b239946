/** Public surface of the cost layer (re-exported from src/index.ts by the lead). */
export { COST_EVENTS, IO_EVENTS, PAGE_ZERO_EVENTS, KERNEL_ENTRY_EVENTS, type CostEvent } from './cost-events';
export { SOURCE_KINDS, nsToCycles, sourced, type CostEntry, type Sourced, type SourceKind } from './sourced';
export {
  CpuProfileSchema,
  CpuProfileDefinitionSchema,
  ProfileError,
  parseProfile,
  extendProfile,
  buildProfile,
  type CpuProfile,
  type CpuProfileDefinition,
  type CpuProfileInput,
  type DeepPartial,
  type Vendor,
} from './profile';
export { writeCyclesPerPage, readCyclesPerPage, readTransferCyclesPerPage } from './storage';
export { virtualize, NESTED_WALK_FACTOR } from './virtualize';
export { getProfile, listProfiles, registerProfile, hostProfilePath, measuredProfiles, measuredProfileDir, DEFAULT_PROFILE, SHIPPED_PROFILES } from './registry';
export { cycles, totalCycles, costTable, effectiveCycles, type Cycles, type CostTable } from './model';
export { DEPENDENCES, regimeTable, regimePrice, walkMemRefCycles, dataLatency, drainCycles, pageTableBytes, OVERLAPPABLE, SERIALIZING, type Dependence, type AccessRegime } from './regime';
export { meanLatency, type MemoryDefinition, type MemoryHierarchy } from './memory';
