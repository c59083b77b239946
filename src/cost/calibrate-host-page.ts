/**
 * The host's page size under nested paging (`tlb.hostPageKiB`) from the probe's three chases
 * (native/calibrate/thp.c, measure_host_page): a dependent chase over 256 pages, one line per page,
 * of a PMD-mapped THP, of 4 KiB-mapped pages, and the same lines packed into 4 pages (compact: no
 * TLB misses). A guest THP reaches the TLB as one 2 MiB entry only on host pages of 2 MiB or more
 * (a nested translation is cached at most at the smaller page size: "splintering", Pham et al.,
 * MICRO 2015): its chase then costs what the compact one does; on 4 KiB host pages it costs what
 * the 4 KiB chase does (measured on the Zen 3 KVM guest: 8.3 and 8.3 vs 3.0 TSC cycles per access).
 */
import type { ProbeOutput, ProbeResult } from './probe-runner';
import { medianOf } from './probe-runner';

/** The probe measurements, by layout. */
export const HOST_PAGE_PROBES = { thp: 'hostpage_thp', small: 'hostpage_4k', compact: 'hostpage_compact' } as const;

/**
 * The 4 KiB chase must cost at least this many TSC cycles per access more than the compact one
 * for the THP chase to be placed between them: the gap is an L1 dTLB miss that hits the STLB
 * (~5 cycles on the Zen 3 guest, 7-9 on Intel cores); a smaller gap means the chase did not
 * miss the L1 dTLB (a larger one than 256 entries) and cannot tell the page sizes apart.
 */
export const HOST_PAGE_MIN_GAP = 1.5;
/** The THP chase within this fraction of the gap from one end is that end; in between, no verdict. */
export const HOST_PAGE_NEAR = 1 / 3;

export interface HostPageNumbers {
  /** TSC cycles per access (medians) */
  thp: number;
  small: number;
  compact: number;
}

export type HostPageVerdict =
  /** `how`: the reasoning (the numbers are in hostPageNumbersText) */
  | { kib: 4 | 2048; numbers: HostPageNumbers; how: string }
  /** `why`: with the numbers when they were measured */
  | { why: string; numbers?: HostPageNumbers };

const iqr = (r: ProbeResult) => (r.p75 !== undefined && r.p25 !== undefined ? r.p75 - r.p25 : 0);
const f = (n: number) => n.toFixed(1);

/** The three numbers in words, for the verdict and the profile's source. */
export function hostPageNumbersText(n: HostPageNumbers): string {
  return `256-page pointer chases, TSC cycles per access: PMD-mapped THP ${f(n.thp)}, 4 KiB pages ${f(n.small)}, compact (4 pages) ${f(n.compact)}`;
}

/**
 * The verdict on the probe's chases for a guest (`guest`: the CPU reports a hypervisor), or why
 * there is none: bare metal has no host page size, a missing chase (no THP), a gap too small to
 * place the THP chase, noise as large as a third of the gap, or a THP chase in the middle.
 */
export function hostPageVerdict(probe: ProbeOutput, guest: boolean): HostPageVerdict {
  if (!guest) return { why: 'bare metal: no host page size (only a virtualized profile states tlb.hostPageKiB)' };
  const got = { thp: medianOf(probe, HOST_PAGE_PROBES.thp), small: medianOf(probe, HOST_PAGE_PROBES.small), compact: medianOf(probe, HOST_PAGE_PROBES.compact) };
  for (const [k, g] of Object.entries(got)) if ('error' in g) return { why: `${HOST_PAGE_PROBES[k as keyof typeof got]}: ${g.error}` };
  const v = got as { [K in keyof typeof got]: { value: number; r: ProbeResult } };
  const numbers: HostPageNumbers = { thp: v.thp.value, small: v.small.value, compact: v.compact.value };
  const text = hostPageNumbersText(numbers);
  const gap = numbers.small - numbers.compact;
  if (gap < HOST_PAGE_MIN_GAP)
    return { numbers, why: `${text}: the 4 KiB chase costs ${f(gap)} more than the compact one (< ${HOST_PAGE_MIN_GAP}): it did not miss the L1 dTLB, so it cannot tell 4 KiB from 2 MiB entries` };
  const noise = Math.max(iqr(v.thp.r), iqr(v.small.r), iqr(v.compact.r));
  if (noise > gap * HOST_PAGE_NEAR) return { numbers, why: `${text}: an interquartile range of ${f(noise)} is more than a third of the 4 KiB - compact gap (${f(gap)}); re-run on a quieter host` };
  const at = (numbers.thp - numbers.compact) / gap;
  if (at <= HOST_PAGE_NEAR)
    return { kib: 2048, numbers, how: `the THP chase is as cheap as the compact one (${Math.round(at * 100)}% of the way to the 4 KiB chase): one 2 MiB TLB entry, so the host maps guest memory with pages of 2 MiB or more` };
  if (at >= 1 - HOST_PAGE_NEAR)
    return { kib: 4, numbers, how: `the THP chase is as dear as the 4 KiB one (${Math.round(at * 100)}% of the way from the compact chase): the TLB caches the guest 2 MiB page as 4 KiB entries, which 4 KiB host pages give (inferred: the host's mapping is not visible from a guest)` };
  return { numbers, why: `${text}: the THP chase lies ${Math.round(at * 100)}% of the way from the compact to the 4 KiB chase, near neither` };
}
