/**
 * The sources behind the shipped profiles, one string each, so a profile entry says exactly where
 * its number comes from. Message-IDs resolve as https://lore.kernel.org/all/<Message-ID>/.
 * Collected in /work/shared/notes/kernel-facts.md, sections 3 and 4.
 */
export const CITE = {
  rfcCover:
    'Nadav Amit, "[RFC PATCH 00/14] mm: relaxed TLB flushes and other optimi.", Message-ID 20220718120212.3180-1-namit@vmware.com: Haswell bare metal, 5.19-rc4+, mprotect 1 page 2499 cycles (1 thread) / 4655 (2 threads)',
  rfc01:
    'Nadav Amit, "[RFC PATCH 01/14] userfaultfd: set dirty and young on writeprotect", Message-ID 20220718120212.3180-2-namit@vmware.com: first access to an old+clean PTE "might induce on x86 over 500 cycles"; no measurement posted',
  nadavKvm:
    'Nadav Amit, "mm/mprotect: avoid unnecessary TLB flushes" v3 cover, Message-ID 20220309041043.302261-1-namit@vmware.com: 5.17-rc6 KVM guest, mprotect(PROT_READ) 3494 / 8630 cycles (1 / 2 threads)',
  peterXuMigration:
    'Peter Xu, "mm: Remember a/d bits for migration entries" v4 cover, Message-ID 20220811161331.37055-1-peterx@redhat.com: Xeon E5-2630 v4 @2.2 GHz, reading 1 GiB at 4 KiB stride after migration 99 ms (young lost) vs 4 ms',
  raghavendra:
    'Raghavendra K T (AMD), Tested-by reply (21 Nov 2022) on Peter Xu\'s "mm: Remember a/d bits for migration entries": EPYC Milan 3.72 GHz, first read after migration 81,364 us vs ~5,200 us steady (~290 ns/page for A), first write 12,887 us vs ~4,540 us (~32 ns/page for D on A=1,D=0)',
  davidWp:
    'David Hildenbrand, "mm/mprotect: try avoiding write faults for exclusive anonymous pages when changing protection" (commit 64fe24a3e05e, v6.0; v3 Message-ID 20220614093629.76309-1-david@redhat.com): Ryzen 9 3900X, write after mprotect 432 ns/page with the wp fault vs 155 ns without; first-touch anon write 430-780 ns/page',
  ingoFlush:
    'Ingo Molnar, linux-mm 8 Jun 2015, review of "TLB flush multiple pages per IPI v5": __flush_tlb_one (INVLPG) 260 cycles, __flush_tlb (CR3 reload) 96, __flush_tlb_range 404 (CPU not stated)',
  tlbCeiling:
    'arch/x86/mm/tlb.c, tlb_single_page_flush_ceiling comment (commit a5102476a24b): one single-page flush is "about 100 ns", 33 pages ~3 us',
  daveHansenFlush:
    'Dave Hansen, Message-ID 20140218193017.ECDF1089@viggo.jf.intel.com: average flush_tlb_mm_range cycles during a kernel build, 1 page 1276, 33 pages 8534, full 2283 (Intel, 2014)',
  ptiDoc: 'Documentation/arch/x86/pti.rst: a CR3 write costs "on the order of a hundred cycles" and PTI does one at every kernel entry and exit',
  lastweek:
    'Yizhou Shan, http://lastweek.io/notes/xperf/ : #PF ring crossing user->kernel ~440 cycles, kernel->user ~270 (in a VM ~600 / ~370), Xeon E5 v3 2.4 GHz',
  peterXuBlog:
    'Peter Xu, https://xzpeter.org/userfaultfd-wp-latency-measurements/ : i7-8665U 1.9 GHz, Linux 5.9, mitigations off: uffd-wp sync round trip 4.74 us (message 2.43 + UFFDIO_WRITEPROTECT 1.16 + resume 1.15); mprotect+SIGSEGV 1.92 us (mprotect 0.36 us)',
  tma: 'Intel Top-down Microarchitecture Analysis metrics in tools/perf/pmu-events: tma_dtlb_load/tma_dtlb_store charge 7 cycles per DTLB_*_MISSES.STLB_HIT',
  intelAssist:
    'Intel perfmon events (tools/perf/pmu-events JSON): OTHER_ASSISTS.ANY (Skylake, 0xC1 umask 0x3F) / ASSISTS.ANY (Ice Lake+, SPR umask 0x1B): "microcode assist ... Examples include AD (page Access Dirty)"',
  amdNoAssist:
    'AMD Zen 2/3/4 PMC lists (tools/perf/pmu-events amdzen*): ls_tablewalker.* count walks, no A/D-assist event exists; a D update is a page-table re-walk in hardware',
  nestedWalk:
    'Bhargava et al., "Accelerating Two-Dimensional Page Walks for Virtualized Systems", ASPLOS 2008 (a 2-D walk takes up to 24 memory references); "Every Walk\'s a Hit", ASPLOS 2022 (~1.5 references per native walk with page-walk caches vs ~4.4 per nested walk)',
  splinter:
    'Pham et al., "Large Pages and Lightweight Memory Management in Virtualized Environments: Can You Have it Both Ways?", MICRO 2015 (a guest large page over small host pages is "splintered": the TLB caches it at the host\'s page size)',
  pscRevanc:
    'van Schaik et al., "Reverse Engineering Hardware Page Table Caches Using Side-Channel Attacks on the MMU" (RevAnC), EuroSec 2017; Intel SDM vol. 3 sec. 4.10.3 leaves paging-structure-cache sizes implementation specific',
  intelOptHaswell: 'Intel 64 and IA-32 Architectures Optimization Reference Manual (order 248966), Haswell microarchitecture chapter, "TLB Parameters" table',
  intelOptSkylake: 'Intel 64 and IA-32 Architectures Optimization Reference Manual (order 248966), Skylake server microarchitecture chapter, TLB parameters table',
  intelOptIcelake: 'Intel 64 and IA-32 Architectures Optimization Reference Manual (order 248966), Ice Lake (Sunny Cove) microarchitecture chapter, TLB parameters table',
  intelOptGoldenCove: 'Intel 64 and IA-32 Architectures Optimization Reference Manual (order 248966), Golden Cove microarchitecture chapter (L1 DTLB 96 load entries, STLB 2048)',
  amdSog19h: 'AMD "Software Optimization Guide for AMD Family 19h Processors" (pub. 56665), section "Translation-Lookaside Buffer" (L1 DTLB 64 entries fully associative; L2 DTLB 2048 entries, 4K/2M)',
  amdSogZen4: 'AMD "Software Optimization Guide for the AMD Zen4 Microarchitecture" (pub. 57647), TLB section (L1 DTLB 72 entries fully associative; L2 DTLB 3072 entries)',
  zen2Skewed: 'AMD Family 17h Software Optimization Guide / WikiChip Zen 2: the L2 DTLB is a unified, skewed 12-way set-associative cache',
  measuredShootdown:
    'measured: ptlab calibrate 2026-12-07 on AMD EPYC (Zen 3, family 25 model 1) KVM guest with nested paging, kernel 6.18.44, other vCPU running a thread of the mm: mprotect() of 1 page with - without that thread - one INVLPG (src/cost/profiles/measured/zen3-kvm-guest.json)',
  anandSkxLatency:
    'Johan De Gelas, AnandTech "Sizing Up Servers: Intel\'s Skylake-SP Xeon versus AMD\'s EPYC 7000" (2017), LMBench random load latency: Skylake-SP L2 ~14, L3 ~55 cycles, DRAM ~90 ns; Broadwell-EP L3 38-51 cycles, DRAM ~95 ns',
  anandZen3:
    'Andrei Frumusanu, AnandTech "AMD Zen 3 Ryzen Deep Dive Review" (Nov 2020): 6 page-table walkers (Zen 2: 2), 32 MiB L3 per 8-core CCX at ~46 cycles',
  ark: 'Intel ARK / AMD product page: base clock of the reference part',
  nvme:
    'estimate: typical datacenter PCIe NAND NVMe SSD data-sheet figures (sequential write ~2 GB/s, read ~3 GB/s, 4 KiB random-read latency ~80 us); replace with your device',
} as const;
