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
 *   swapInTailPage              = PAGE / (readMBps * 1e6) seconds * f * 1e9
 *                                 A further page of a large folio swapped in whole (6.13+,
 *                                 do_swap_page -> swap_read_folio of the folio): the same read
 *                                 request as its swapInPage, so only its transfer time counts. A
 *                                 large swap-in of N pages costs one latency plus N pages' transfer.
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

/** One more page of a read already waiting for the device: its transfer time only. */
export function readTransferCyclesPerPage(readMBps: number, clockGHz: number): number {
  return Math.round((PAGE_BYTES / (readMBps * 1e6)) * 1e9 * clockGHz);
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
  const readTail: CostEntry = {
    cycles: readTransferCyclesPerPage(storage.readMBps.value, f),
    source: `derived: 4096 B / ${cite('storage.readMBps', storage.readMBps)}`,
    kind: weakest(storage.readMBps.kind, clock.kind),
    note: `transfer only (a further page of a large swap-in, in the same read as its swapInPage): cycles = 4096 / (readMBps*1e6) * clockGHz*1e9 at clockGHz=${f}`,
  };
  return { writebackPage: write, swapOutPage: { ...write }, swapInPage: read, swapInTailPage: readTail, fileReadPage: { ...read } };
}
