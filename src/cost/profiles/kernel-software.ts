/**
 * Cycle prices of the kernel's software paths (KERNEL_EVENTS minus the storage-derived I/O
 * events), shared by all shipped profiles. Kernel code is core-bound, so a cycle count measured on
 * one x86 core is carried to the others as an estimate.
 *
 * Conventions the kernel layer must follow (so nothing is counted twice):
 * - one #PF = hardware `pageFault` (entry/exit) + exactly one `fault.<kind>` (the handler path) +
 *   the work events it did (`pageAlloc`, `pageZero`, `pageCopy`, `tlbFlushRequest`, `ipi`, I/O).
 * - a syscall = `syscall*`/`uffdIoctl`/`pagemapScan` (entry, VMA walk, locks) + per-PTE events
 *   (`changePte`, `madvisePte`, `scanPte`, `zapPte`) + flush events.
 * - `fault.uffd*` (sync) = the round trip to the handler thread without the resolving ioctl, which
 *   the handler's UFFDIO_* call adds as `uffdIoctl` (+ its `changePte` and flush).
 *
 * Where a published number was measured in ns on a machine whose clock is stated, it is converted
 * at THAT machine's clock (cycles = ns x GHz): kernel paths are core-bound, so cycles carry across
 * clock speeds, while converting at the profile's clock would, e.g., make David's 277 ns wp fault
 * on a ~3.8 GHz Ryzen cheaper than a bare #PF entry/exit on a 2 GHz Xeon.
 */
import type { CostEntry, SourceKind } from '../sourced';
import { nsToCycles } from '../sourced';
import type { KernelEvent } from '../../kernel/events';
import type { DerivedCostEvent } from '../cost-events';
import { CITE } from '../citations';
import type { CoreFamily } from './family';

/**
 * TSC cycles of one shootdown measured on the Zen 3 KVM guest (see IPI): the first calibration's
 * (2026-12-07, 02:00 UTC). Later calibrations of the same guest gave 3942, 2644, 2093 and 11421
 * (IQR 77%; the one in src/cost/profiles/measured/zen3-kvm-guest.json now): the shootdown of a
 * guest varies with the host's state, and notebook 05 sweeps the price from 500 to 8000 cycles.
 */
export const MEASURED_SHOOTDOWN = 2093;

/** #PF entry+exit on Haswell-EP (lastweek.io: 440 + 270 cycles); subtracted from whole-fault numbers. */
export const PF_ENTRY_EXIT = 440 + 270;
/** INVLPG (Ingo Molnar 2015). */
export const INVLPG = 260;
/** flush_tlb_mm_range bookkeeping without the INVLPG: Ingo's __flush_tlb_range 404 - __flush_tlb_one 260. */
export const FLUSH_REQUEST = 404 - 260;
/** change_pte_range per PTE (estimate, see entry). */
export const CHANGE_PTE = 40;
export const PAGE_ALLOC = 400;
export const PAGE_ZERO = 300;
/** Ryzen 9 3900X base clock; David's ns numbers are converted at it. */
const RYZEN_3900X_GHZ = 3.8;
/** i7-8665U base clock (Peter Xu's blog); turbo may have been higher, so these are lower bounds. */
const I7_8665U_GHZ = 1.9;

/** wp fault handler alone: David's 432-155 = 277 ns whole wp fault, minus the #PF entry/exit. */
export const WP_HANDLER = nsToCycles(432 - 155, RYZEN_3900X_GHZ) - PF_ENTRY_EXIT;
/** first-touch anon write, mid of 430-780 ns, minus entry/exit, page allocation and zeroing. */
const ANON_ALLOC_HANDLER = nsToCycles((430 + 780) / 2, RYZEN_3900X_GHZ) - PF_ENTRY_EXIT - PAGE_ALLOC - PAGE_ZERO;
/** uffd-wp round trip without UFFDIO_WRITEPROTECT (1.16 us) and without the #PF entry/exit. */
const UFFD_ROUND_TRIP = nsToCycles(4740 - 1160, I7_8665U_GHZ) - PF_ENTRY_EXIT;
/** UFFDIO_WRITEPROTECT of one page minus its change_pte, flush request and INVLPG. */
const UFFD_IOCTL = nsToCycles(1160, I7_8665U_GHZ) - CHANGE_PTE - FLUSH_REQUEST - INVLPG;
/** SIGSEGV delivery + sigreturn: 1.92 us (mprotect+SIGSEGV) - 0.36 us (mprotect), minus the #PF entry/exit. */
const SIGSEGV = nsToCycles(1920 - 360, I7_8665U_GHZ) - PF_ENTRY_EXIT;
/** mprotect() of 1 page, 1 thread, 2499 cycles, minus one change_pte, the flush request and INVLPG. */
export const MPROTECT_CALL = 2499 - CHANGE_PTE - FLUSH_REQUEST - INVLPG;
/**
 * Shootdown of one remote CPU, measured: `ptlab calibrate` on the EPYC Zen 3 KVM guest (nested
 * paging, kernel 6.18.44, 2026-12-07; src/cost/profiles/measured/zen3-kvm-guest.json): a 1-page
 * mprotect() with a second thread of the mm spinning on the other vCPU, minus the same call
 * without it, minus a remote INVLPG. NOT the RFC cover letter's 4655 - 2499: notebook 05 compares
 * the model with those numbers, so a price fitted to them would make that comparison circular.
 */
export const IPI = MEASURED_SHOOTDOWN;

type KernelStated = Exclude<KernelEvent, DerivedCostEvent>;

export function kernelSoftwareCosts(family: CoreFamily): Record<KernelStated, CostEntry> {
  const est = (cycles: number, source: string, note?: string): CostEntry => ({ cycles, source, kind: 'estimate', ...(note ? { note } : {}) });
  /** published when the source CPU is of this family, else an estimate carried over in cycles */
  const from = (srcFamily: CoreFamily, cycles: number, source: string, note: string): CostEntry => {
    const kind: SourceKind = srcFamily === family ? 'published' : 'estimate';
    return { cycles, source, kind, note: kind === 'published' ? note : `${note}; carried over in cycles from a ${srcFamily} measurement` };
  };
  const wpNote = `wp fault 277 ns x 3.8 GHz (3900X base) = ${WP_HANDLER + PF_ENTRY_EXIT} cycles minus #PF entry/exit ${PF_ENTRY_EXIT}`;
  // David's 3900X is Zen 2: no profile family matches exactly, so these are estimates everywhere.
  const wp = (extra: number, what: string): CostEntry =>
    est(WP_HANDLER + extra, CITE.davidWp, `${wpNote}${extra ? ` + ${extra} for ${what} (estimate)` : ''}`);
  const uffd = from('skylake', UFFD_ROUND_TRIP, CITE.peterXuBlog, `(4.74 - 1.16) us x 1.9 GHz minus #PF entry/exit ${PF_ENTRY_EXIT}; i7-8665U is a Skylake-family core; turbo would make it larger`);
  const generic = (c: number, why: string) => est(c, 'estimate: ptlab cost model (no published figure found)', why);
  return {
    'fault.anonZeroPage': wp(0, ''),
    'fault.anonAlloc': est(ANON_ALLOC_HANDLER, CITE.davidWp, `first-touch write (430+780)/2 ns x 3.8 GHz minus #PF ${PF_ENTRY_EXIT}, pageAlloc ${PAGE_ALLOC}, pageZero ${PAGE_ZERO}`),
    'fault.readFile': wp(300, 'the page-cache lookup and fault-around (filemap_map_pages)'),
    'fault.cow': est(ANON_ALLOC_HANDLER, CITE.davidWp, 'priced like the anonAlloc handler (do_cow_fault: allocate, copy counted as pageCopy)'),
    'fault.shared': wp(500, 'page-cache lookup + dirty accounting (fault_dirty_shared_page)'),
    'fault.sharedMkwrite': wp(1000, 'page-cache lookup, ->page_mkwrite call and dirty accounting'),
    'fault.wpReuse': wp(0, ''),
    'fault.wpCopy': est(ANON_ALLOC_HANDLER, CITE.davidWp, 'priced like the anonAlloc handler (wp_page_copy; page copy and flush are separate events)'),
    'fault.wpShared': wp(200, 'dirty accounting (fault_dirty_shared_page)'),
    'fault.wpSharedMkwrite': wp(700, '->page_mkwrite call and dirty accounting'),
    'fault.swapIn': generic(2000, 'do_swap_page bookkeeping (swap cache, swap count, rmap); the device read is swapInPage'),
    'fault.fileRead': generic(2000, 'filemap_fault miss bookkeeping (readahead setup, page-cache insert); the device read is fileReadPage'),
    'fault.uffdMissing': { ...uffd, kind: 'estimate', note: `${uffd.note}; a MISSING round trip taken equal to the WP one` },
    'fault.uffdMinor': { ...uffd, kind: 'estimate', note: `${uffd.note}; a MINOR round trip taken equal to the WP one` },
    'fault.uffdWp': uffd,
    'fault.uffdWpAsync': wp(100, 'clearing the uffd-wp bit in place (WP_ASYNC); the whole async fault including the reuse is this one kind'),
    'fault.spurious': generic(200, 'handle_pte_fault takes the PTE lock, finds the PTE already permits the access, returns'),
    'fault.accessFlags': generic(300, 'handle_pte_fault + ptep_set_access_flags writes A/D'),
    'fault.sigsegv': from('skylake', SIGSEGV, CITE.peterXuBlog, `(1.92 - 0.36) us x 1.9 GHz minus #PF ${PF_ENTRY_EXIT}: signal delivery + sigreturn`),
    syscallMmap: est(MPROTECT_CALL, CITE.rfcCover, 'taken equal to the mprotect() call overhead (entry, mmap lock, VMA work)'),
    syscallMunmap: est(MPROTECT_CALL, CITE.rfcCover, 'taken equal to the mprotect() call overhead; zapPte and flushes are separate'),
    syscallMprotect: from('haswell', MPROTECT_CALL, CITE.rfcCover, `2499 cycles per 1-page call minus changePte ${CHANGE_PTE}, tlbFlushRequest ${FLUSH_REQUEST}, invlpg ${INVLPG}`),
    changePte: generic(CHANGE_PTE, 'change_pte_range per PTE: atomic get-and-clear (ptep_modify_prot_start), pte_modify, set'),
    uffdChangePte: generic(CHANGE_PTE, 'change_pte_range per PTE under UFFDIO_WRITEPROTECT: the same work as changePte (estimate: priced alike; `ptlab calibrate` measures the two apart)'),
    mkwriteDirtyPte: generic(0, 'no work beyond changePte on bare metal: the writable dirty PTE is the same store (under shadow paging it is not; `ptlab calibrate` measures it)'),
    syscallMadvise: est(MPROTECT_CALL, CITE.rfcCover, 'taken equal to the mprotect() call overhead'),
    madvisePte: generic(CHANGE_PTE, 'madvise page walk per PTE, like changePte'),
    uffdIoctl: from('skylake', UFFD_IOCTL, CITE.peterXuBlog, `UFFDIO_WRITEPROTECT 1.16 us x 1.9 GHz minus changePte ${CHANGE_PTE}, tlbFlushRequest ${FLUSH_REQUEST}, invlpg ${INVLPG}`),
    pagemapScan: est(MPROTECT_CALL, CITE.rfcCover, 'taken equal to the mprotect() call overhead (ioctl entry, VMA walk)'),
    scanPte: generic(20, 'PAGEMAP_SCAN / clear_refs per PTE: read and test bits'),
    clearRefs: generic(3000, 'write to /proc/pid/clear_refs: procfs entry, mm walk setup'),
    fork: generic(72000, 'fork() of a small process without its PTE copies (~30 us at 2.4 GHz; lmbench lat_proc order of magnitude)'),
    forkPte: generic(60, 'copy_pte_range per PTE: copy, folio ref + mapcount atomics, wrprotect'),
    zapPte: generic(60, 'zap_pte_range per PTE: clear, rmap, folio put'),
    tlbFlushRequest: est(FLUSH_REQUEST, CITE.ingoFlush, '__flush_tlb_range 404 - __flush_tlb_one 260: the bookkeeping around the invalidation'),
    ipi: {
      ...est(IPI, CITE.measuredShootdown, 'send, remote entry, flush, ack wait, measured in a KVM guest where the IPI exits to the hypervisor (x2APIC ICR write) on the sender and is injected on the receiver: an upper bound for bare metal; carried over in cycles to every profile, a cross-family estimate. Not fitted to the RFC cover letter (4655 - 2499 on Haswell), which notebook 05 compares against'),
      regime: 'remote CPU busy in the same mm (an idle, lazy-TLB neighbour cost about as much on this guest)',
    },
    lazyTlbSkip: generic(20, 'cpumask test of a lazy-TLB CPU in native_flush_tlb_multi'),
    // the charging rule of flush_tlb_multi() (docs/cost-model.md, "Remote TLB flushes"): one round trip, then sends only
    ipiExtraTarget: generic(200, 'one more target of the same shootdown: csd enqueue and an x2APIC ICR write in smp_call_function_many_cond(); its handler runs while the first target\'s does, so the wait is not paid again'),
    parallelRemoteFlush: generic(0, 'INVLPGs on the 2nd..Nth target of a shootdown: that CPU\'s work, done in parallel with the first target\'s (which the round trip includes)'),
    invlpgb: generic(INVLPG, `one INVLPGB broadcast (AMD APM vol. 3; no published latency): priced like a local INVLPG ${INVLPG} for issuing it`),
    tlbsync: generic(IPI / 4, `TLBSYNC, waiting for the broadcast to reach every CPU (no published latency): a quarter of an IPI round trip ${IPI}, since no interrupt or handler is involved`),
    pageAlloc: generic(PAGE_ALLOC, 'page allocator per-cpu-list fast path + memcg charge'),
    pageZero: generic(PAGE_ZERO, 'clear_page of 4 KiB with rep stosb (~16-32 B/cycle) plus cache misses'),
    pageCopy: generic(600, 'copy_page of 4 KiB: about twice a clear_page'),
    blockAlloc: generic(5000, 'filesystem block reservation in ->page_mkwrite (delayed allocation, journal handle)'),
    reclaimScan: generic(500, 'folio_referenced rmap walk of one folio'),
    reclaimDrop: generic(300, 'dropping one clean folio (unmap, page-cache removal, free)'),
    migratePage: generic(5000, 'migrate one folio: unmap, copy, remap, flush'),
    // transparent huge pages (src/kernel/huge_memory.ts): estimates until `ptlab calibrate` measures them
    'fault.hugeAnonAlloc': est(ANON_ALLOC_HANDLER, CITE.davidWp, 'priced like the anonAlloc handler (do_huge_pmd_anonymous_page; the 2 MiB allocation and zeroing are thpAlloc and thpZero)'),
    'fault.hugeZeroPage': wp(0, ''),
    'fault.hugeWpReuse': wp(0, ''),
    'fault.hugeZeroWpAlloc': est(ANON_ALLOC_HANDLER, CITE.davidWp, 'priced like the anonAlloc handler (do_huge_zero_wp_pmd; allocation, zeroing and the 2 MiB flush are separate events)'),
    thpAlloc: generic(PAGE_ALLOC * 4, 'order-9 allocation (buddy or per-cpu THP list, memcg charge of 512 pages): four order-0 allocations'),
    thpZero: generic(PAGE_ZERO * 512, `folio_zero_user of 2 MiB: 512 x pageZero ${PAGE_ZERO} (clearing is bandwidth-bound; no cache benefit assumed). Sanity check, not fitted: a whole THP write fault took a median 165 us on the development host (AMD EPYC Zen 3 KVM guest, nested paging, Linux 6.18, loaded), which includes the hypervisor's first touch of the guest memory`),
    splitHugePmd: generic(CHANGE_PTE * 512 + 1000, `__split_huge_pmd: 512 PTE stores (changePte ${CHANGE_PTE} each) + rmap and table withdrawal (1000); the 2 MiB flush is separate. Sanity check, not fitted: mprotect of one page inside a THP took 16 us against 3.9 us inside a 4 KiB-mapped region on the development host (Zen 3 KVM guest, 6.18), ~12 us for the VMA and PMD split with its flush`),
    splitHugePage: generic(20000, 'split_huge_page of a THP: unmap to migration entries, 512 tail pages set up, remap (order of 10 us)'),
    changeHugePmd: generic(CHANGE_PTE * 2, 'change_huge_pmd: pmdp_invalidate_ad + pmd_modify + set, about two PTE changes'),
    zapHugePmd: generic(300, 'zap_huge_pmd: clear, rmap of the folio, deposited table freed'),
    copyHugePmd: generic(300, 'copy_huge_pmd: wrprotect both PMDs, folio dup rmap, deposit a table'),
    thpCopy: generic(600 * 512, 'copying 2 MiB into a new THP: 512 x pageCopy 600'),
    collapseHugePage: generic(20000, 'collapse_huge_page without the copy and flush: isolate 512 PTEs and their folios, set the PMD, release the old pages (order of 10 us)'),
  };
}

