/**
 * From what the replayer printed to InspectRow fields: which bits user space can see, and
 * under which conditions (docs/fidelity.md, "What can be compared").
 */
import { PAGE_IS_HUGE, PAGE_IS_PFNZERO, SWP_PTE_MARKER, type NativeHeader, type NativeRow, type RawInspect } from './native-types';

/**
 * - present, uffdWp: pagemap bits 63 and 57 (57 also for swap entries and uffd-wp markers).
 * - entry: swap-format entries (bit 62) are swap or markers; the swap type (root only) tells a
 *   marker (SWP_PTE_MARKER); without root, a swap entry with no swap device must be a marker.
 * - special: the shared zero page (kpageflags ZERO_PAGE, or PAGEMAP_SCAN PAGE_IS_PFNZERO).
 * - young / dirty: smaps of a one-page VMA says pte_young || PG_referenced and
 *   pte_dirty || PG_dirty; with the folio flag known clear (kpageflags), the PTE bit follows.
 *   smaps skips special pages (vm_normal_page is NULL), so those stay unknown.
 * - exclusive: pagemap bit 56 is "mapped once", which equals PageAnonExclusive for present anon
 *   pages except after the other mappers went away (fork, then child exit): the kernel keeps
 *   the page non-exclusive until a write fault reuses it. Compared for anon pages, with that
 *   caveat documented. Non-anon pages: never AnonExclusive.
 * - softDirty: pagemap bit 55 when CONFIG_MEM_SOFT_DIRTY is built in (it also reflects the
 *   VMA's VM_SOFTDIRTY, set on new VMAs until clear_refs).
 * - write: not observable without writing (see the touch steps' fault counts).
 * - thp: kpageflags THP (root): the page belongs to a large folio, PMD- or PTE-mapped (mTHP).
 * - huge: PAGEMAP_SCAN PAGE_IS_HUGE, set for pages a PMD leaf maps (pagemap_thp_category); not
 *   for pages of a large folio mapped by PTEs (kpageflags THP is set for those too).
 */
export function toNativeRow(r: RawInspect, host: NativeHeader): NativeRow {
  let entry: NativeRow['entry'] = 'none';
  if (r.present) entry = 'present';
  else if (r.swapped || r.guard) {
    const marker = r.guard || (r.swapType !== null ? r.swapType === SWP_PTE_MARKER : !host.swap);
    entry = marker ? 'marker' : 'swap';
  }
  let special: boolean | null = false;
  if (r.present) special = r.zeroPage ?? (r.scan !== null ? (r.scan & PAGE_IS_PFNZERO) !== 0 : null);

  const pteBit = (smaps: boolean | null, folioFlag: boolean | null): boolean | null => {
    if (entry !== 'present') return false;
    if (special !== false) return null;
    if (smaps === null) return null;
    if (!smaps) return false;
    return folioFlag === false ? true : null;
  };

  let exclusive: boolean | null;
  if (entry === 'present') {
    if (special === true) exclusive = false;
    else if (r.anon === false) exclusive = false;
    else if (r.anon === true) exclusive = r.mappedExclusively;
    else exclusive = null;
  } else exclusive = entry === 'swap' ? null : false;

  return {
    page: r.page,
    present: r.present,
    write: null,
    young: pteBit(r.smapsReferenced, r.folioReferenced),
    dirty: pteBit(r.smapsDirty, r.folioDirty),
    uffdWp: r.uffdWp,
    softDirty: host.softDirty ? r.softDirty : null,
    exclusive,
    special,
    entry,
    folioDirty: r.folioDirty,
    huge: entry !== 'present' ? false : r.scan !== null ? (r.scan & PAGE_IS_HUGE) !== 0 : null,
    thp: entry !== 'present' ? false : r.thp ?? null,
  };
}
