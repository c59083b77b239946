import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as pte from '../src/x86/pte';

const { X86_64_CLASSIC: classic, X86_64_SAVED_DIRTY: shstk } = pte;

test('bit positions match arch/x86/include/asm/pgtable_types.h', () => {
  // Values as the kernel header defines them (x86-64, CONFIG_X86_64, v6.6+ for SOFTW5 as saved-dirty).
  const header: Record<string, number> = {
    PRESENT: 0, RW: 1, USER: 2, PWT: 3, PCD: 4, ACCESSED: 5, DIRTY: 6, PSE: 7, PAT: 7, GLOBAL: 8,
    SOFTW1: 9, SOFTW2: 10, SOFTW3: 11, PAT_LARGE: 12, SOFTW4: 57, SOFTW5: 58, PKEY_BIT0: 59,
    PKEY_BIT1: 60, PKEY_BIT2: 61, PKEY_BIT3: 62, NX: 63, SPECIAL: 9, UFFD_WP: 10, SOFT_DIRTY: 11,
    SAVED_DIRTY: 58, PROTNONE: 8,
  };
  for (const [name, bit] of Object.entries(header)) {
    assert.equal((pte as Record<string, unknown>)[`_PAGE_BIT_${name}`], bit, `_PAGE_BIT_${name}`);
    const mask = (pte as Record<string, unknown>)[`_PAGE_${name}`];
    if (mask !== undefined) assert.equal(mask, 1n << BigInt(bit), `_PAGE_${name}`);
  }
  // swap-entry flags borrow bits 1-3, which are not part of the swap type/offset
  assert.equal(pte._PAGE_SWP_SOFT_DIRTY, 1n << 1n);
  assert.equal(pte._PAGE_SWP_UFFD_WP, 1n << 2n);
  assert.equal(pte._PAGE_SWP_EXCLUSIVE, 1n << 3n);
  assert.equal(pte._PAGE_PKEY_MASK, 0xfn << 59n);
});

test('user protections include ACCESSED, so PTEs made from vm_page_prot are born young', () => {
  for (const prot of [pte.PAGE_SHARED, pte.PAGE_COPY, pte.PAGE_READONLY, pte.PAGE_NONE]) {
    assert.ok(pte.pte_young(pte.pfn_pte(42, prot)));
  }
  assert.ok(!pte.pte_write(pte.pfn_pte(1, pte.PAGE_COPY)), 'private writable mappings start read-only');
  assert.ok(pte.pte_protnone(pte.pfn_pte(1, pte.PAGE_NONE)));
  assert.ok(pte.pte_present(pte.pfn_pte(1, pte.PAGE_NONE)), 'PROT_NONE PTEs are present to Linux');
});

const arbPte = fc.record({ pfn: fc.integer({ min: 0, max: 2 ** 40 - 1 }), flags: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) })
  .map(({ pfn, flags }) => (flags & ~pte.PTE_PFN_MASK) | (BigInt(pfn) << 12n));

test('pte_modify keeps _PAGE_CHG_MASK bits (A, D, soft-dirty, uffd-wp, PFN) and takes the rest from newprot', () => {
  fc.assert(
    fc.property(arbPte, fc.constantFrom(pte.PAGE_SHARED, pte.PAGE_COPY, pte.PAGE_READONLY, pte.PAGE_NONE), (p, prot) => {
      const n = classic.pte_modify(p, prot);
      assert.equal(n & pte._PAGE_CHG_MASK, p & pte._PAGE_CHG_MASK);
      assert.equal(n & ~pte._PAGE_CHG_MASK, prot & ~pte._PAGE_CHG_MASK);
      assert.equal(pte.pte_young(n), pte.pte_young(p), 'mprotect never changes A');
      assert.equal(pte.pte_dirty(n), pte.pte_dirty(p), 'mprotect never changes D');
    }),
  );
});

test('saved-dirty (v6.6+): no Write=0 PTE carries hardware D, and pte_dirty() is preserved across RW changes', () => {
  fc.assert(
    fc.property(arbPte, fc.constantFrom('wrprotect', 'mkwrite', 'mkdirty', 'mkuffd_wp', 'modify-ro', 'modify-rw'), (p0, op) => {
      // start from a consistent PTE: RW=0 implies no hardware D, RW=1 implies no SAVED_DIRTY
      const p = (p0 & pte._PAGE_RW) === 0n ? p0 & ~pte._PAGE_DIRTY : p0 & ~pte._PAGE_SAVED_DIRTY;
      let n: bigint;
      switch (op) {
        case 'wrprotect': n = shstk.pte_wrprotect(p); break;
        case 'mkwrite': n = shstk.pte_mkwrite(p); break;
        case 'mkdirty': n = shstk.pte_mkdirty(p); break;
        case 'mkuffd_wp': n = shstk.pte_mkuffd_wp(p); break;
        case 'modify-ro': n = shstk.pte_modify(p, pte.PAGE_COPY); break;
        default: n = shstk.pte_modify(p, pte.PAGE_SHARED);
      }
      if (!pte.pte_write(n)) assert.ok(!pte.pte_hw_dirty(n), `${op} left D=1 on a RO PTE`);
      if (pte.pte_write(n)) assert.ok((n & pte._PAGE_SAVED_DIRTY) === 0n, `${op} left SAVED_DIRTY on a RW PTE`);
      if (op !== 'mkdirty') assert.equal(pte.pte_dirty(n), pte.pte_dirty(p), `${op} changed pte_dirty()`);
      else assert.ok(pte.pte_dirty(n) && pte.pte_soft_dirty(n), 'x86 pte_mkdirty also sets soft-dirty');
    }),
  );
});

test('classic accessors (< v6.6): wrprotect keeps hardware D', () => {
  const p = pte.pfn_pte(7, pte.PAGE_SHARED | pte._PAGE_DIRTY);
  const n = classic.pte_wrprotect(p);
  assert.ok(!pte.pte_write(n));
  assert.ok(pte.pte_hw_dirty(n));
  assert.ok(pte.pte_uffd_wp(classic.pte_mkuffd_wp(p)) && !pte.pte_write(classic.pte_mkuffd_wp(p)), 'pte_mkuffd_wp also write-protects');
});

test('pte_needs_flush (v5.19+): RW changes and clearing D flush; software bits, clearing A and none->present do not', () => {
  const rw = pte.pfn_pte(5, pte.PAGE_SHARED);
  const ro = classic.pte_wrprotect(rw);
  assert.equal(pte.pte_needs_flush(ro, rw), true, 'RO -> RW flushes (RW is flush_on_change)');
  assert.equal(pte.pte_needs_flush(rw, ro), true, 'RW -> RO flushes');
  assert.equal(pte.pte_needs_flush(classic.pte_mkuffd_wp(rw) | pte._PAGE_RW, rw), false, 'clearing only uffd-wp: no flush');
  assert.equal(pte.pte_needs_flush(rw, pte.pte_mkold(rw)), false, 'clearing A: no flush');
  assert.equal(pte.pte_needs_flush(rw | pte._PAGE_DIRTY, rw), true, 'clearing D flushes');
  assert.equal(pte.pte_needs_flush(rw, rw | pte._PAGE_DIRTY), false, 'setting D: no flush');
  assert.equal(pte.pte_needs_flush(0n, rw), false, 'a non-present PTE is never cached');
  assert.equal(pte.pte_needs_flush(pte.pfn_pte(5, pte.PAGE_NONE), rw), false, 'PROT_NONE -> RW: no flush');
  assert.equal(pte.pte_needs_flush(rw, pte.pfn_pte(6, pte.PAGE_SHARED)), true, 'PFN change flushes');
  assert.equal(pte.pte_needs_flush(rw, rw | pte._PAGE_SOFT_DIRTY), false, 'soft-dirty is software');
});

test('swap entries round-trip type and offset and keep the borrowed flag bits apart', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 0, max: 2 ** 48 - 1 }), fc.boolean(), fc.boolean(), fc.boolean(), (type, off, wp, sd, ex) => {
      let e = pte.swp_entry_to_pte(type, off);
      if (wp) e = pte.pte_swp_mkuffd_wp(e);
      if (sd) e = pte.pte_swp_mksoft_dirty(e);
      if (ex) e = pte.pte_swp_mkexclusive(e);
      assert.equal(pte.pte_swp_type(e), type);
      assert.equal(pte.pte_swp_offset(e), off);
      assert.equal(pte.pte_swp_uffd_wp(e), wp);
      assert.equal(pte.pte_swp_soft_dirty(e), sd);
      assert.equal(pte.pte_swp_exclusive(e), ex);
      assert.ok(!pte.pte_present(e) && !pte.pte_none(e), 'a swap entry is neither present nor none');
    }),
  );
});
