/**
 * The x86-64 page-table entry as Linux lays it out (arch/x86/include/asm/pgtable_types.h,
 * pgtable.h, pgtable_64.h), with the accessors the kernel layer calls, named as in the kernel.
 *
 * A PTE value is a `bigint` holding all 64 bits. The page tables store entries as two 32-bit
 * words (see pagetable.ts); the MMU's hot path reads those words directly and never builds a
 * bigint, so only the kernel's (rarer) PTE updates pay for bigint arithmetic.
 */

// ---- bit numbers (pgtable_types.h) ----
export const _PAGE_BIT_PRESENT = 0;
export const _PAGE_BIT_RW = 1;
export const _PAGE_BIT_USER = 2;
export const _PAGE_BIT_PWT = 3;
export const _PAGE_BIT_PCD = 4;
export const _PAGE_BIT_ACCESSED = 5;
export const _PAGE_BIT_DIRTY = 6;
/** PSE on PMD/PUD (a 2 MiB / 1 GiB leaf); PAT on a 4 KiB PTE */
export const _PAGE_BIT_PSE = 7;
export const _PAGE_BIT_PAT = 7;
export const _PAGE_BIT_GLOBAL = 8;
export const _PAGE_BIT_SOFTW1 = 9;
export const _PAGE_BIT_SOFTW2 = 10;
export const _PAGE_BIT_SOFTW3 = 11;
export const _PAGE_BIT_PAT_LARGE = 12;
export const _PAGE_BIT_SOFTW4 = 57;
export const _PAGE_BIT_SOFTW5 = 58;
export const _PAGE_BIT_PKEY_BIT0 = 59;
export const _PAGE_BIT_PKEY_BIT1 = 60;
export const _PAGE_BIT_PKEY_BIT2 = 61;
export const _PAGE_BIT_PKEY_BIT3 = 62;
export const _PAGE_BIT_NX = 63;
/** SOFTW1: vm_normal_page() must not touch it (zero page, PFN maps) */
export const _PAGE_BIT_SPECIAL = _PAGE_BIT_SOFTW1;
/** SOFTW2 on x86-64: userfaultfd write-protect marker */
export const _PAGE_BIT_UFFD_WP = _PAGE_BIT_SOFTW2;
/** SOFTW3: soft-dirty tracking (clear_refs 4) */
export const _PAGE_BIT_SOFT_DIRTY = _PAGE_BIT_SOFTW3;
/** SOFTW4: _PAGE_DEVMAP until its removal (~v6.17); bit 58 before v6.6 */
export const _PAGE_BIT_DEVMAP = _PAGE_BIT_SOFTW4;
/** SOFTW5 on a leaf (x86-64, v6.6+ user shadow stack): the dirty bit of a Write=0 PTE lives here */
export const _PAGE_BIT_SAVED_DIRTY = _PAGE_BIT_SOFTW5;
/** When PRESENT is clear, GLOBAL means PROT_NONE (also NUMA hinting) */
export const _PAGE_BIT_PROTNONE = _PAGE_BIT_GLOBAL;

const B = (bit: number): bigint => 1n << BigInt(bit);
export const _PAGE_PRESENT = B(_PAGE_BIT_PRESENT);
export const _PAGE_RW = B(_PAGE_BIT_RW);
export const _PAGE_USER = B(_PAGE_BIT_USER);
export const _PAGE_PWT = B(_PAGE_BIT_PWT);
export const _PAGE_PCD = B(_PAGE_BIT_PCD);
export const _PAGE_ACCESSED = B(_PAGE_BIT_ACCESSED);
export const _PAGE_DIRTY = B(_PAGE_BIT_DIRTY);
export const _PAGE_PSE = B(_PAGE_BIT_PSE);
export const _PAGE_PAT = B(_PAGE_BIT_PAT);
export const _PAGE_GLOBAL = B(_PAGE_BIT_GLOBAL);
export const _PAGE_SPECIAL = B(_PAGE_BIT_SPECIAL);
export const _PAGE_UFFD_WP = B(_PAGE_BIT_UFFD_WP);
export const _PAGE_SOFT_DIRTY = B(_PAGE_BIT_SOFT_DIRTY);
export const _PAGE_PAT_LARGE = B(_PAGE_BIT_PAT_LARGE);
export const _PAGE_DEVMAP = B(_PAGE_BIT_DEVMAP);
export const _PAGE_SAVED_DIRTY = B(_PAGE_BIT_SAVED_DIRTY);
export const _PAGE_PKEY_MASK = B(59) | B(60) | B(61) | B(62);
export const _PAGE_NX = B(_PAGE_BIT_NX);
export const _PAGE_PROTNONE = B(_PAGE_BIT_PROTNONE);
/** pte_dirty() tests both: hardware D, and the software copy kept while Write=0 (v6.6+) */
export const _PAGE_DIRTY_BITS = _PAGE_DIRTY | _PAGE_SAVED_DIRTY;

/** Physical address bits 12..51 (__PHYSICAL_MASK_SHIFT = 52) */
export const PTE_PFN_MASK = ((1n << 52n) - 1n) & ~0xfffn;
export const PAGE_SHIFT = 12;
/** Bytes of a 4 KiB page, the unit of every page count in ptlab */
export const PAGE_SIZE = 1 << PAGE_SHIFT;

// The same bits read from a PTE's two 32-bit halves (PageTableMemory.lo/hi), for scans over many
// PTEs that should not build a bigint per entry.
/** pte_present() on the low half: P, or PROTNONE (a PROT_NONE PTE is present to the kernel) */
export const pte_lo_present = (lo: number): boolean => (lo & ((1 << _PAGE_BIT_PRESENT) | (1 << _PAGE_BIT_PROTNONE))) !== 0;
/** D, or the saved-dirty bit of shadow-stack kernels (bit 58, in the high half) */
export const pte_lohi_dirty = (lo: number, hi: number): boolean => (lo & (1 << _PAGE_BIT_DIRTY)) !== 0 || (hi & (1 << (_PAGE_BIT_SAVED_DIRTY - 32))) !== 0;
/** pte_pfn() from the halves: physical address bits 12..51 */
export const pte_lohi_pfn = (lo: number, hi: number): number => (lo >>> PAGE_SHIFT) + (hi & 0xfffff) * 1048576;

/**
 * _PAGE_CHG_MASK: the bits pte_modify() keeps from the old PTE. Because A, D (both dirty bits),
 * soft-dirty and uffd-wp are in it, mprotect() never changes A or D (kernel-facts 2.1).
 * _PAGE_CC (memory encryption) is not modelled.
 */
export const _PAGE_CHG_MASK =
  PTE_PFN_MASK | _PAGE_PCD | _PAGE_PWT | _PAGE_SPECIAL | _PAGE_ACCESSED | _PAGE_DIRTY_BITS |
  _PAGE_SOFT_DIRTY | _PAGE_DEVMAP | _PAGE_UFFD_WP | _PAGE_PAT;

// ---- protections (pgtable_types.h PAGE_* and the x86 protection_map) ----
// All user protections include _PAGE_ACCESSED, so PTEs built from vm_page_prot are born young.
/** PROT_NONE: not present to the hardware, PROTNONE (=GLOBAL) set */
export const PAGE_NONE = _PAGE_PROTNONE | _PAGE_ACCESSED;
export const PAGE_SHARED = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
/** private writable mappings: read-only until a write fault breaks CoW */
export const PAGE_COPY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
export const PAGE_READONLY = _PAGE_PRESENT | _PAGE_USER | _PAGE_ACCESSED | _PAGE_NX;
/** _PAGE_TABLE: what Linux writes into PGD/P4D/PUD/PMD entries that point to a table */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

// ---- swap / non-present encodings (pgtable_64.h, pgtable_types.h) ----
/** Bits 1-4 are not part of the swap entry, so Linux borrows them (present bit clear only): */
export const _PAGE_SWP_SOFT_DIRTY = _PAGE_RW; // bit 1 (since v4.13; bit 7 before)
export const _PAGE_SWP_UFFD_WP = _PAGE_USER; // bit 2
export const _PAGE_SWP_EXCLUSIVE = _PAGE_PWT; // bit 3, PG_anon_exclusive (v5.19)
/** Swap type in the top 5 bits, offset stored inverted from bit 9 (L1TF mitigation, v4.18). */
export const SWP_TYPE_BITS = 5;
export const SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1;
const SWP_OFFSET_BITS = 64 - SWP_TYPE_BITS - SWP_OFFSET_FIRST_BIT; // 50
const SWP_OFFSET_MASK = (1n << BigInt(SWP_OFFSET_BITS)) - 1n;
const U64 = (1n << 64n) - 1n;

// ---- accessors (pgtable.h) ----
export const pte_val = (pte: bigint): bigint => pte;
export const pte_none = (pte: bigint): boolean => pte === 0n;
/** pte_present(): PRESENT, or PROTNONE (PROT_NONE and NUMA-hinting PTEs are "present" to Linux) */
export const pte_present = (pte: bigint): boolean => (pte & (_PAGE_PRESENT | _PAGE_PROTNONE)) !== 0n;
export const pte_protnone = (pte: bigint): boolean => (pte & (_PAGE_PROTNONE | _PAGE_PRESENT)) === _PAGE_PROTNONE;
export const pte_pfn = (pte: bigint): number => Number((pte & PTE_PFN_MASK) >> 12n);
export const pfn_pte = (pfn: number, prot: bigint): bigint => ((BigInt(pfn) << 12n) & PTE_PFN_MASK) | (prot & ~PTE_PFN_MASK);
export const pte_young = (pte: bigint): boolean => (pte & _PAGE_ACCESSED) !== 0n;
export const pte_dirty = (pte: bigint): boolean => (pte & _PAGE_DIRTY_BITS) !== 0n;
/** hardware D only (what the walker sets); pte_dirty() is the kernel's view */
export const pte_hw_dirty = (pte: bigint): boolean => (pte & _PAGE_DIRTY) !== 0n;
export const pte_special = (pte: bigint): boolean => (pte & _PAGE_SPECIAL) !== 0n;
export const pte_uffd_wp = (pte: bigint): boolean => (pte & _PAGE_UFFD_WP) !== 0n;
export const pte_soft_dirty = (pte: bigint): boolean => (pte & _PAGE_SOFT_DIRTY) !== 0n;
export const pte_global = (pte: bigint): boolean => (pte & _PAGE_GLOBAL) !== 0n;
export const pte_exec = (pte: bigint): boolean => (pte & _PAGE_NX) === 0n;
export const pte_pkey = (pte: bigint): number => Number((pte >> 59n) & 0xfn);
/** pte_write(): RW=1. (A Write=0,Dirty=1 shadow-stack PTE also counts in v6.6+; ptlab models no shadow-stack VMAs.) */
export const pte_write = (pte: bigint): boolean => (pte & _PAGE_RW) !== 0n;

export const pte_mkyoung = (pte: bigint): bigint => pte | _PAGE_ACCESSED;
export const pte_mkold = (pte: bigint): bigint => pte & ~_PAGE_ACCESSED;
export const pte_mkspecial = (pte: bigint): bigint => pte | _PAGE_SPECIAL;
export const pte_mksoft_dirty = (pte: bigint): bigint => pte | _PAGE_SOFT_DIRTY;
export const pte_clear_soft_dirty = (pte: bigint): bigint => pte & ~_PAGE_SOFT_DIRTY;
export const pte_clear_uffd_wp = (pte: bigint): bigint => pte & ~_PAGE_UFFD_WP;

/** Is a non-present, non-none entry a swap-format entry (swap, migration, marker)? */
export const is_swap_pte = (pte: bigint): boolean => !pte_none(pte) && !pte_present(pte);
export function swp_entry_to_pte(type: number, offset: number): bigint {
  const off = (~BigInt(offset) & SWP_OFFSET_MASK) << BigInt(SWP_OFFSET_FIRST_BIT);
  return (off | (BigInt(type) << BigInt(64 - SWP_TYPE_BITS))) & U64;
}
export const pte_swp_type = (pte: bigint): number => Number(pte >> BigInt(64 - SWP_TYPE_BITS));
export const pte_swp_offset = (pte: bigint): number =>
  Number(~(pte >> BigInt(SWP_OFFSET_FIRST_BIT)) & SWP_OFFSET_MASK);
export const pte_swp_uffd_wp = (pte: bigint): boolean => (pte & _PAGE_SWP_UFFD_WP) !== 0n;
export const pte_swp_mkuffd_wp = (pte: bigint): bigint => pte | _PAGE_SWP_UFFD_WP;
export const pte_swp_clear_uffd_wp = (pte: bigint): bigint => pte & ~_PAGE_SWP_UFFD_WP;
export const pte_swp_soft_dirty = (pte: bigint): boolean => (pte & _PAGE_SWP_SOFT_DIRTY) !== 0n;
export const pte_swp_mksoft_dirty = (pte: bigint): bigint => pte | _PAGE_SWP_SOFT_DIRTY;
export const pte_swp_clear_soft_dirty = (pte: bigint): bigint => pte & ~_PAGE_SWP_SOFT_DIRTY;
export const pte_swp_exclusive = (pte: bigint): boolean => (pte & _PAGE_SWP_EXCLUSIVE) !== 0n;
export const pte_swp_mkexclusive = (pte: bigint): bigint => pte | _PAGE_SWP_EXCLUSIVE;

/**
 * The accessors whose behaviour changed with x86 user shadow stacks (v6.6): from then on a
 * Write=0 PTE never carries hardware D (it would read as a shadow-stack page), so wrprotect,
 * mkdirty and modify move D into SAVED_DIRTY while RW=0, and mkwrite moves it back
 * (pte_mksaveddirty / pte_clear_saveddirty in arch/x86/include/asm/pgtable.h). Kernels before
 * v6.6 use the classic accessors.
 */
export interface PteArch {
  readonly name: 'x86-64' | 'x86-64-saved-dirty';
  readonly savedDirty: boolean;
  pte_mkdirty(pte: bigint): bigint;
  pte_mkclean(pte: bigint): bigint;
  pte_wrprotect(pte: bigint): bigint;
  pte_mkwrite(pte: bigint): bigint;
  pte_modify(pte: bigint, newprot: bigint): bigint;
  pte_mkuffd_wp(pte: bigint): bigint;
}

function mksaveddirty(v: bigint): bigint {
  // Only a Write=0 PTE moves D into SAVED_DIRTY.
  if ((v & _PAGE_RW) !== 0n) return v;
  if ((v & _PAGE_DIRTY) !== 0n) v = (v & ~_PAGE_DIRTY) | _PAGE_SAVED_DIRTY;
  return v;
}
function clear_saveddirty(v: bigint): bigint {
  // Only a Write=1 PTE moves SAVED_DIRTY back into D.
  if ((v & _PAGE_RW) === 0n) return v;
  if ((v & _PAGE_SAVED_DIRTY) !== 0n) v = (v & ~_PAGE_SAVED_DIRTY) | _PAGE_DIRTY;
  return v;
}

/** Before v6.6: D is only the hardware bit; RW changes leave it alone. */
export const X86_64_CLASSIC: PteArch = Object.freeze({
  name: 'x86-64',
  savedDirty: false,
  // x86 pte_mkdirty also sets soft-dirty: any dirtying is a change soft-dirty tracking must see.
  pte_mkdirty: (pte: bigint) => pte | _PAGE_DIRTY | _PAGE_SOFT_DIRTY,
  pte_mkclean: (pte: bigint) => pte & ~_PAGE_DIRTY_BITS,
  pte_wrprotect: (pte: bigint) => pte & ~_PAGE_RW,
  pte_mkwrite: (pte: bigint) => pte | _PAGE_RW,
  pte_modify: (pte: bigint, newprot: bigint) => (pte & _PAGE_CHG_MASK) | (newprot & ~_PAGE_CHG_MASK),
  pte_mkuffd_wp: (pte: bigint) => (pte | _PAGE_UFFD_WP) & ~_PAGE_RW,
} as PteArch);

/** v6.6+ (CONFIG_X86_USER_SHADOW_STACK era): the saved-dirty shuffle on every RW change. */
export const X86_64_SAVED_DIRTY: PteArch = Object.freeze({
  name: 'x86-64-saved-dirty',
  savedDirty: true,
  pte_mkdirty: (pte: bigint) => mksaveddirty(pte | _PAGE_DIRTY | _PAGE_SOFT_DIRTY),
  pte_mkclean: (pte: bigint) => pte & ~_PAGE_DIRTY_BITS,
  pte_wrprotect: (pte: bigint) => mksaveddirty(pte & ~_PAGE_RW),
  pte_mkwrite: (pte: bigint) => clear_saveddirty(pte | _PAGE_RW),
  pte_modify: (pte: bigint, newprot: bigint) => {
    const v = (pte & _PAGE_CHG_MASK) | (newprot & ~_PAGE_CHG_MASK & ~_PAGE_DIRTY_BITS);
    return (pte & _PAGE_RW) !== 0n ? mksaveddirty(v) : clear_saveddirty(v);
  },
  pte_mkuffd_wp: (pte: bigint) => mksaveddirty((pte | _PAGE_UFFD_WP) & ~_PAGE_RW),
} as PteArch);

/**
 * pte_needs_flush() (arch/x86/include/asm/tlbflush.h, v5.19+): does changing `oldpte` into
 * `newpte` require a TLB flush? A non-present old PTE cannot be cached; a PFN change always
 * flushes; clearing D or PRESENT flushes (a cached D=1 entry would skip the D update); changing
 * RW, USER, caching, GLOBAL, PKEY or NX flushes; software bits and clearing A do not.
 */
const FLUSH_IGNORED = _PAGE_SOFT_DIRTY | _PAGE_SPECIAL | _PAGE_UFFD_WP | _PAGE_DEVMAP | _PAGE_SAVED_DIRTY | _PAGE_ACCESSED;
const FLUSH_ON_CLEAR = _PAGE_DIRTY | _PAGE_PRESENT | _PAGE_ACCESSED;
const FLUSH_ON_CHANGE = _PAGE_RW | _PAGE_USER | _PAGE_PWT | _PAGE_PCD | _PAGE_PSE | _PAGE_GLOBAL | _PAGE_PAT | _PAGE_PAT_LARGE | _PAGE_PKEY_MASK | _PAGE_NX;
export function pte_needs_flush(oldpte: bigint, newpte: bigint): boolean {
  if ((oldpte & _PAGE_PRESENT) === 0n) return false;
  if (pte_pfn(oldpte) !== pte_pfn(newpte)) return true;
  const diff = (oldpte ^ newpte) & ~FLUSH_IGNORED & ~PTE_PFN_MASK;
  if ((diff & oldpte & FLUSH_ON_CLEAR) !== 0n) return true;
  return (diff & FLUSH_ON_CHANGE) !== 0n;
}

/** A one-line human reading of a PTE, for errors and notebooks. */
export function pte_describe(pte: bigint): string {
  if (pte_none(pte)) return 'none';
  if (!pte_present(pte)) {
    const f = [pte_swp_uffd_wp(pte) && 'uffd-wp', pte_swp_soft_dirty(pte) && 'soft-dirty', pte_swp_exclusive(pte) && 'exclusive'].filter(Boolean);
    return `swp type=${pte_swp_type(pte)} off=${pte_swp_offset(pte)}${f.length ? ' ' + f.join(' ') : ''}`;
  }
  const f: string[] = [];
  if (pte_protnone(pte)) f.push('PROTNONE');
  if (pte & _PAGE_PRESENT) f.push('P');
  f.push(pte_write(pte) ? 'RW' : 'RO');
  if (pte & _PAGE_USER) f.push('U');
  if (pte_young(pte)) f.push('A');
  if (pte & _PAGE_DIRTY) f.push('D');
  if (pte & _PAGE_SAVED_DIRTY) f.push('SD');
  if (pte_special(pte)) f.push('special');
  if (pte_uffd_wp(pte)) f.push('uffd-wp');
  if (pte_soft_dirty(pte)) f.push('soft-dirty');
  if (pte & _PAGE_NX) f.push('NX');
  return `pfn=${pte_pfn(pte)} ${f.join(' ')}`;
}
