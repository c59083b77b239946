/**
 * Per-page I/O cycles derived from the profile's storage device speeds.
 *
 * Formula (PAGE = 4096 bytes, f = profile clock in GHz):
 *   writebackPage, swapOutPage  = PAGE / (writeMBps * 1e6) seconds * f * 1e9
 *                                 Writeback and swap-out are queued in batches (writeback_sb_inodes,
 *                                 shrink_folio_list -> pageout), so they are bandwidth bound: only the
 *                                 transfer time counts, the device latency overlaps.
 *   swapInPage, fileReadPage    = (latencyUs * 1e3 + PAGE / (readMBps * 1e6) * 1e9) ns * f
 *                                 A major fault waits for its read (do_swap_page, filemap_fault), so
 *                                 the full device latency is on the critical path.
 * These are device time on the faulting thread's critical path expressed as cycles, not CPU work.
 */
import type { CostEntry, Sourced, SourceKind } from './sourced';
import type { IoEvent } from './cost-events';

export const PAGE_BYTES = 4096;

export interface StorageDefinition {
  writeMBps: Sourced;
  readMBps: Sourced;
  latencyUs: Sourced;
}

export function writeCyclesPerPage(writeMBps: number, clockGHz: number): number {
  return Math.round((PAGE_BYTES / (writeMBps * 1e6)) * 1e9 * clockGHz);
}

export function readCyclesPerPage(readMBps: number, latencyUs: number, clockGHz: number): number {
  return Math.round((latencyUs * 1e3 + (PAGE_BYTES / (readMBps * 1e6)) * 1e9) * clockGHz);
}

/** The weakest kind among the inputs: a derived number is only as good as its worst input. */
function weakest(...kinds: SourceKind[]): SourceKind {
  if (kinds.includes('estimate')) return 'estimate';
  if (kinds.includes('published')) return 'published';
  return 'measured';
}

function cite(label: string, s: Sourced): string {
  return `${label}=${s.value} (${s.source})`;
}

export function deriveIoCosts(storage: StorageDefinition, clock: Sourced): Record<IoEvent, CostEntry> {
  const f = clock.value;
  const write: CostEntry = {
    cycles: writeCyclesPerPage(storage.writeMBps.value, f),
    source: `derived: 4096 B / ${cite('storage.writeMBps', storage.writeMBps)}`,
    kind: weakest(storage.writeMBps.kind, clock.kind),
    note: `bandwidth bound (batched writeback/swap-out): cycles = 4096 / (writeMBps*1e6) * clockGHz*1e9 at clockGHz=${f}`,
  };
  const read: CostEntry = {
    cycles: readCyclesPerPage(storage.readMBps.value, storage.latencyUs.value, f),
    source: `derived: ${cite('storage.latencyUs', storage.latencyUs)} + 4096 B / ${cite('storage.readMBps', storage.readMBps)}`,
    kind: weakest(storage.readMBps.kind, storage.latencyUs.kind, clock.kind),
    note: `latency bound (the major fault waits): cycles = (latencyUs*1e3 + 4096/(readMBps*1e6)*1e9) ns * clockGHz at clockGHz=${f}`,
  };
  return { writebackPage: write, swapOutPage: { ...write }, swapInPage: read, fileReadPage: { ...read } };
}
