/**
 * Ports of the kernel's THP selftests (tools/testing/selftests/mm, tools/testing/selftests/vm
 * before 6.3) to the model, anonymous memory only. Each test names the selftest file and case,
 * the collapse context (khugepaged.c runs every case twice: "khugepaged", where the daemon's
 * background scan collapses the range, and "madvise", MADV_COLLAPSE, 6.1+) and the variants it
 * runs on, and asserts the selftest's own check, read from the model's state as the selftest
 * reads it from the kernel:
 *  - check_huge_anon(): the VMA's smaps AnonHugePages, i.e. how many PMD-mapped anon THPs it has;
 *  - check_swap(): the VMA's smaps Swap, i.e. how many of its pages are swap entries;
 *  - validate_memory(): reading every page written before (which swaps it in) finds its data (the
 *    model carries "this frame was written" through copies, swap and collapse; a page that lost
 *    its contents would be a fresh zero page);
 *  - the khugepaged context's wait_for_scan(): MADV_HUGEPAGE, two full khugepaged scans (the
 *    selftest waits for khugepaged/full_scans to advance by 2), MADV_NOHUGEPAGE.
 * The selftest's defaults: enabled=madvise, use_zero_page=0, max_ptes_none 511, max_ptes_swap 64,
 * max_ptes_shared 256 (khugepaged_init's values); the madvise context sets enabled=never around
 * MADV_COLLAPSE to show it ignores the setting.
 * Also ported: userfaultfd.c's "pagemap on memory with THP" (5.13-6.3) and uffd-unit-tests.c's
 * wp-fork, wp-fork-with-event and wp-unpopulated (6.4+) on a THP-backed area; cow.c's anonymous
 * THP cases (Basic COW after fork(), with and without the mprotect() optimization, on PMD-mapped,
 * PTE-mapped and single-PTE THPs, swapped out or not; collapsing before and after fork(); the
 * huge zero page).
 * Not ported: the file and shmem cases (the model collapses anonymous memory only),
 * collapse_compound_extreme and uffd-wp-mremap.c (need mremap, which the model does not have),
 * madvise_retracted_page_tables (file only), the wp-fork-pin variants and cow.c's vmsplice,
 * io_uring and GUP-pin cases (no page pins in the model), and cow.c's partially shared and
 * lower/upper-shared cases (need MADV_DONTFORK).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kernel } from '../src/kernel/kernel';
import type { Mm } from '../src/kernel/mm';
import type { Vma } from '../src/kernel/vma';
import { PG_nonzero } from '../src/kernel/frames';
import { KEv } from '../src/kernel/events';
import { CollapseError } from '../src/kernel/khugepaged';
import { consistency } from './helpers/kernel-harness';
import { compileSpec } from '../src/lab/compile';
import { simulateRun } from '../src/lab/simulate';
import { parseSpec } from '../src/lab/validate';
import { SpecError } from '../src/lab/spec-issues';

const HPAGE = 512;
/** every built-in Linux variant: khugepaged exists in all of them */
const LINUX = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18'];
/** the variants with MADV_COLLAPSE (6.1+) */
const MADV_COLLAPSE = ['linux-6.2', 'linux-6.3', 'linux-6.18'];
type Context = 'khugepaged' | 'madvise';
const CASES: [Context, string][] = [...LINUX.map((v): [Context, string] => ['khugepaged', v]), ...MADV_COLLAPSE.map((v): [Context, string] => ['madvise', v])];

/** One run of khugepaged.c: a machine with the selftest's settings and its helpers on one process. */
class Selftest {
  readonly k: Kernel;
  mm: Mm;
  constructor(readonly variant: string, readonly ctx: Context) {
    // the madvise context collapses with enabled=never; the khugepaged one needs madvise
    this.k = new Kernel({ variant, cpus: 2, strict: true, thp: { enabled: ctx === 'madvise' ? 'never' : 'madvise', useZeroPage: false } });
    this.mm = this.k.process('main');
  }
  get enforcesLimits(): boolean {
    return this.ctx === 'khugepaged'; // collapse_context.enforce_pte_scan_limits
  }
  /** anon_setup_area(): an anonymous private mapping of `n` PMD-aligned huge pages. */
  setupArea(n: number): number {
    const vma = this.k.mmap(this.mm, { region: `area${this.mm.vmas.length}`, pages: n * HPAGE, kind: 'anon-private' });
    assert.equal(vma.start % HPAGE, 0);
    return vma.start;
  }
  /** anon_fault() / fill_memory(): write one word of each page of [from, to). */
  fault(p: number, from: number, to: number, mm = this.mm): void {
    for (let i = from; i < to; i++) assert.ok(this.k.access(mm, 0, p + i, 1), `write page ${i}`);
  }
  private vma(p: number, mm: Mm): Vma {
    const vma = mm.findVma(p);
    assert.ok(vma, `a VMA at ${p}`);
    return vma;
  }
  /** smaps AnonHugePages of the VMA at `p`, in PMD-sized THPs. */
  anonHuge(p: number, mm = this.mm): number {
    const vma = this.vma(p, mm);
    let n = 0;
    for (let a = vma.start; a < vma.end; a += HPAGE) {
      const s = this.k.inspect(mm, a);
      if (s.huge && !s.special) n++;
    }
    return n;
  }
  /** check_huge_anon(p, nr) */
  checkHuge(p: number, nr: number, mm = this.mm): boolean {
    return this.anonHuge(p, mm) === nr;
  }
  /** check_swap(p, size): smaps Swap of the VMA at `p`, in pages. */
  swapPages(p: number, mm = this.mm): number {
    const vma = this.vma(p, mm);
    let n = 0;
    for (let a = vma.start; a < vma.end; a++) if (this.k.inspect(mm, a).entry === 'swap') n++;
    return n;
  }
  /** validate_memory(): read each page of [from, to) (swapping it in if need be); each still holds its data. */
  validate(p: number, from: number, to: number, mm = this.mm): void {
    for (let i = from; i < to; i++) {
      assert.ok(this.k.access(mm, 0, p + i, 0), `read page ${i}`);
      const s = this.k.inspect(mm, p + i);
      assert.ok(s.present && (this.k.frames.flags[s.pfn] & PG_nonzero) !== 0, `page ${i} is corrupted (lost its data)`);
    }
  }
  private madvise(p: number, pages: number, advice: 'hugepage' | 'nohugepage' | 'collapse' | 'dontneed' | 'pageout', mm = this.mm): void {
    this.k.madvise(mm, 0, p, pages, advice);
  }
  /** alloc_hpage(): a PMD-mapped THP in a VM_HUGEPAGE VMA (MADV_COLLAPSE from 6.1; before, the
   *  selftest of those releases faulted it in under MADV_HUGEPAGE). */
  allocHpage(): number {
    const p = this.setupArea(1);
    if (this.k.variant.madvCollapse) {
      this.fault(p, 0, HPAGE);
      this.madvise(p, HPAGE, 'collapse');
      assert.ok(this.checkHuge(p, 1), 'alloc_hpage: MADV_COLLAPSE made a THP');
      this.madvise(p, HPAGE, 'hugepage');
    } else {
      // (the khugepaged context runs with enabled=madvise, so the first write maps a THP)
      this.madvise(p, HPAGE, 'hugepage');
      this.fault(p, 0, HPAGE);
      assert.ok(this.checkHuge(p, 1), 'alloc_hpage: the fault mapped a THP');
    }
    return p;
  }
  /** c->collapse(msg, p, nr, ops, expect) in this context; asserts what the selftest asserts. */
  collapse(msg: string, p: number, nr: number, expect: boolean, mm = this.mm): void {
    assert.ok(this.checkHuge(p, 0, mm), `${msg}: sanity check (no huge page before)`);
    this.madvise(p, nr * HPAGE, 'hugepage', mm); // clears VM_NOHUGEPAGE
    if (this.ctx === 'madvise') {
      let ok = true;
      try {
        this.madvise(p, nr * HPAGE, 'collapse', mm);
      } catch (e) {
        if (!(e instanceof CollapseError)) throw e;
        ok = false;
      }
      assert.equal(ok, expect, `${msg}: Fail: Bad return value`);
    } else {
      this.k.khugepagedScan(1);
      this.k.khugepagedScan(1);
      this.madvise(p, nr * HPAGE, 'nohugepage', mm);
    }
    assert.ok(this.checkHuge(p, expect ? nr : 0, mm), `${msg}: Fail: check_huge() (AnonHugePages ${this.anonHuge(p, mm)} THPs, want ${expect ? nr : 0})`);
    assert.deepEqual(consistency(this.k), [], `${msg}: the model stays consistent`);
  }
}

test('khugepaged.c alloc_at_fault (all variants): enabled=always maps a THP on the first write; MADV_DONTNEED of one page splits it', () => {
  for (const v of LINUX) {
    const k = new Kernel({ variant: v, strict: true, thp: { enabled: 'always', useZeroPage: false } });
    const mm = k.process('main');
    const p = k.mmap(mm, { region: 'p', pages: HPAGE, kind: 'anon-private' }).start;
    k.access(mm, 0, p, 1);
    assert.equal(k.inspect(mm, p).huge, true, `${v}: Allocate huge page on fault`);
    k.madvise(mm, 0, p, 1, 'dontneed');
    assert.equal(k.inspect(mm, p + 1).huge, false, `${v}: Split huge PMD on MADV_DONTNEED`);
    assert.equal(k.inspect(mm, p + 1).present, true, `${v}: the rest of the THP stays mapped`);
  }
});

for (const [ctx, v] of CASES) {
  test(`khugepaged.c collapse_full (${ctx}, ${v}): four fully populated PTE tables collapse into four THPs`, () => {
    const t = new Selftest(v, ctx);
    const p = t.setupArea(4);
    t.fault(p, 0, 4 * HPAGE);
    t.collapse('Collapse multiple fully populated PTE table', p, 4, true);
    t.validate(p, 0, 4 * HPAGE);
  });

  test(`khugepaged.c collapse_empty (${ctx}, ${v}): an empty range is not collapsed`, () => {
    const t = new Selftest(v, ctx);
    const p = t.setupArea(1);
    t.collapse('Do not collapse empty PTE table', p, 1, false);
  });

  test(`khugepaged.c collapse_single_pte_entry (${ctx}, ${v}): one present PTE is enough (max_ptes_none 511)`, () => {
    const t = new Selftest(v, ctx);
    const p = t.setupArea(1);
    t.fault(p, 0, 1);
    t.collapse('Collapse PTE table with single PTE entry present', p, 1, true);
  });

  test(`khugepaged.c collapse_max_ptes_none (${ctx}, ${v}): max_ptes_none=256 ${ctx === 'khugepaged' ? 'refuses 257 none PTEs and collapses 256' : 'does not bind MADV_COLLAPSE'}`, () => {
    const t = new Selftest(v, ctx);
    const maxPtesNone = HPAGE / 2;
    t.k.khugepaged.maxPtesNone = maxPtesNone;
    const p = t.setupArea(1);
    t.fault(p, 0, HPAGE - maxPtesNone - 1);
    t.collapse('Maybe collapse with max_ptes_none exceeded', p, 1, !t.enforcesLimits);
    t.validate(p, 0, HPAGE - maxPtesNone - 1);
    if (t.enforcesLimits) {
      t.fault(p, 0, HPAGE - maxPtesNone);
      t.collapse('Collapse with max_ptes_none PTEs empty', p, 1, true);
      t.validate(p, 0, HPAGE - maxPtesNone);
    }
  });

  test(`khugepaged.c collapse_swapin_single_pte (${ctx}, ${v}): a swapped-out page is swapped in and collapsed`, () => {
    const t = new Selftest(v, ctx);
    const p = t.setupArea(1);
    t.fault(p, 0, HPAGE);
    t.k.madvise(t.mm, 0, p, 1, 'pageout');
    assert.equal(t.swapPages(p), 1, 'Swapout one page');
    t.collapse('Collapse with swapping in single PTE entry', p, 1, true);
    t.validate(p, 0, HPAGE);
    assert.equal(t.swapPages(p), 0);
  });

  test(`khugepaged.c collapse_max_ptes_swap (${ctx}, ${v}): ${ctx === 'khugepaged' ? '65 swapped-out pages exceed max_ptes_swap=64, 64 do not' : 'MADV_COLLAPSE swaps in 65 pages (no limit)'}`, () => {
    const t = new Selftest(v, ctx);
    const maxPtesSwap = t.k.khugepaged.maxPtesSwap;
    assert.equal(maxPtesSwap, 64, 'khugepaged_init() default');
    const p = t.setupArea(1);
    t.fault(p, 0, HPAGE);
    t.k.madvise(t.mm, 0, p, maxPtesSwap + 1, 'pageout');
    assert.equal(t.swapPages(p), maxPtesSwap + 1, `Swapout ${maxPtesSwap + 1} of 512 pages`);
    t.collapse('Maybe collapse with max_ptes_swap exceeded', p, 1, !t.enforcesLimits);
    t.validate(p, 0, HPAGE);
    if (t.enforcesLimits) {
      t.fault(p, 0, HPAGE);
      t.k.madvise(t.mm, 0, p, maxPtesSwap, 'pageout');
      assert.equal(t.swapPages(p), maxPtesSwap, `Swapout ${maxPtesSwap} of 512 pages`);
      t.collapse('Collapse with max_ptes_swap pages swapped out', p, 1, true);
      t.validate(p, 0, HPAGE);
    }
  });

  test(`khugepaged.c collapse_single_pte_entry_compound (${ctx}, ${v}): a PTE table whose only PTE maps a page of a split THP collapses`, () => {
    const t = new Selftest(v, ctx);
    const p = t.allocHpage();
    t.k.madvise(t.mm, 0, p, HPAGE, 'nohugepage');
    t.k.madvise(t.mm, 0, p + 1, HPAGE - 1, 'dontneed');
    assert.ok(t.checkHuge(p, 0), 'Split huge page leaving single PTE mapping compound page');
    assert.equal(t.k.inspect(t.mm, p).thp, true, 'the PTE maps a page of the large folio');
    t.collapse('Collapse PTE table with single PTE mapping compound page', p, 1, true);
    t.validate(p, 0, 1);
  });

  test(`khugepaged.c collapse_full_of_compound (${ctx}, ${v}): a PTE table full of one split THP's pages collapses`, () => {
    const t = new Selftest(v, ctx);
    const p = t.allocHpage();
    t.k.madvise(t.mm, 0, p, 1, 'nohugepage'); // splits the VMA, and with it the PMD
    t.k.madvise(t.mm, 0, p, HPAGE, 'nohugepage'); // the VMAs merge again
    assert.ok(t.checkHuge(p, 0), 'Split huge page leaving single PTE page table full of compound pages');
    assert.equal(t.mm.vmas.length, 1);
    t.collapse('Collapse PTE table full of compound pages', p, 1, true);
    t.validate(p, 0, HPAGE);
  });

  test(`khugepaged.c collapse_fork (${ctx}, ${v}): the child collapses a table holding a page shared with the parent; the parent keeps its small page`, () => {
    const t = new Selftest(v, ctx);
    const p = t.setupArea(1);
    t.fault(p, 0, 1);
    assert.ok(t.checkHuge(p, 0), 'Allocate small page');
    const parent = t.mm;
    const child = t.k.fork(parent, 'child', 0);
    assert.ok(t.checkHuge(p, 0, child), 'Share small page over fork()');
    t.fault(p, 1, 2, child);
    t.collapse('Collapse PTE table with single page shared with parent process', p, 1, true, child);
    t.validate(p, 0, 1, child);
    assert.ok(t.checkHuge(p, 0, parent), 'Check if parent still has small page');
    t.validate(p, 0, 1, parent);
    assert.notEqual(t.k.inspect(parent, p).pfn, t.k.inspect(child, p).pfn, 'the child copied the shared page');
  });

  test(`khugepaged.c collapse_fork_compound (${ctx}, ${v}): the child collapses its split copy of a THP shared with the parent (max_ptes_shared 511); the parent keeps its THP`, () => {
    const t = new Selftest(v, ctx);
    const p = t.allocHpage();
    const parent = t.mm;
    const child = t.k.fork(parent, 'child', 0);
    assert.ok(t.checkHuge(p, 1, child), 'Share huge page over fork()');
    t.k.madvise(child, 0, p, 1, 'nohugepage');
    t.k.madvise(child, 0, p, HPAGE, 'nohugepage');
    assert.ok(t.checkHuge(p, 0, child), 'Split huge page PMD in child process');
    t.fault(p, 0, 1, child);
    t.k.khugepaged.maxPtesShared = HPAGE - 1;
    t.collapse('Collapse PTE table full of compound pages in child', p, 1, true, child);
    t.k.khugepaged.maxPtesShared = HPAGE / 2;
    t.validate(p, 0, HPAGE, child);
    assert.ok(t.checkHuge(p, 1, parent), 'Check if parent still has huge page');
    t.validate(p, 0, HPAGE, parent);
  });

  test(`khugepaged.c collapse_max_ptes_shared (${ctx}, ${v}): ${ctx === 'khugepaged' ? '257 pages shared with the parent exceed max_ptes_shared=256, 256 do not' : 'MADV_COLLAPSE ignores max_ptes_shared'}`, () => {
    const t = new Selftest(v, ctx);
    const maxPtesShared = t.k.khugepaged.maxPtesShared;
    assert.equal(maxPtesShared, 256, 'khugepaged_init() default');
    const p = t.allocHpage();
    const parent = t.mm;
    const child = t.k.fork(parent, 'child', 0);
    assert.ok(t.checkHuge(p, 1, child), 'Share huge page over fork()');
    t.fault(p, 0, HPAGE - maxPtesShared - 1, child);
    assert.ok(t.checkHuge(p, 0, child), `Trigger CoW on page ${HPAGE - maxPtesShared - 1} of 512`);
    t.collapse('Maybe collapse with max_ptes_shared exceeded', p, 1, !t.enforcesLimits, child);
    if (t.enforcesLimits) {
      t.fault(p, 0, HPAGE - maxPtesShared, child);
      assert.ok(t.checkHuge(p, 0, child), `Trigger CoW on page ${HPAGE - maxPtesShared} of 512`);
      t.collapse('Collapse with max_ptes_shared PTEs shared', p, 1, true, child);
    }
    t.validate(p, 0, HPAGE, child);
    assert.ok(t.checkHuge(p, 1, parent), 'Check if parent still has huge page');
    t.validate(p, 0, HPAGE, parent);
  });
}

for (const v of MADV_COLLAPSE) {
  test(`khugepaged.c madvise_collapse_existing_thps (madvise, ${v}): MADV_COLLAPSE of a range already PMD-mapped succeeds`, () => {
    const t = new Selftest(v, 'madvise');
    const p = t.setupArea(1);
    t.fault(p, 0, HPAGE);
    t.collapse('Collapse fully populated PTE table...', p, 1, true);
    t.validate(p, 0, HPAGE);
    // __madvise_collapse() directly: the range is a THP already (SCAN_PMD_MAPPED counts as done)
    const pfn = t.k.inspect(t.mm, p).pfn;
    t.k.madvise(t.mm, 0, p, HPAGE, 'collapse');
    assert.ok(t.checkHuge(p, 1), 'Re-collapse PMD-mapped hugepage');
    assert.equal(t.k.inspect(t.mm, p).pfn, pfn, 'the THP is the same one (nothing was copied)');
    t.validate(p, 0, HPAGE);
  });
}

// ---- rules the ports rest on (mm/khugepaged.c), each per version ----

/** A machine with one anonymous region of `n` 2 MiB ranges. */
function machine(variant: string, n: number, thp: 'never' | 'madvise' | 'always' = 'madvise') {
  const k = new Kernel({ variant, cpus: 2, strict: true, thp: { enabled: thp, useZeroPage: false } });
  const mm = k.process('main');
  const p = k.mmap(mm, { region: 'r', pages: n * HPAGE, kind: 'anon-private' }).start;
  const write = (from: number, to: number) => {
    for (let i = from; i < to; i++) k.access(mm, 0, p + i, 1);
  };
  /** reads on CPU 1, whose TLB holds none of the translations CPU 0's writes cached: each walk sets A */
  const read = (from: number, to: number) => {
    for (let i = from; i < to; i++) k.access(mm, 1, p + i, 0);
  };
  return { k, mm, p, write, read };
}

for (const v of MADV_COLLAPSE) {
  test(`${v}: MADV_COLLAPSE swaps the range's swapped-out pages in first (__collapse_huge_page_swapin) and frees their swap slots`, () => {
    const { k, mm, p, write } = machine(v, 1);
    write(0, HPAGE);
    k.madvise(mm, 0, p, 3, 'pageout');
    assert.equal(k.inspect(mm, p + 1).entry, 'swap');
    k.madvise(mm, 0, p, HPAGE, 'collapse');
    const s = k.inspect(mm, p + 1);
    assert.deepEqual([s.huge, s.write, s.young, s.dirty, s.exclusive], [true, true, true, true, true]);
    assert.equal(k.swap.refs.size + k.swap.cache.size, 0, 'no swap slot or swap-cache page is left');
    assert.deepEqual(consistency(k), []);
  });

  test(`${v}: MADV_COLLAPSE goes on past a range with a uffd-wp PTE (SCAN_PTE_UFFD_WP) but stops at one with no PTE table (SCAN_PMD_NONE), and visits no VMA after a failed one`, () => {
    // one VMA, registered for uffd-wp and written whole (so no none PTE meets userfaultfd_armed()):
    // [collapses][a uffd-wp PTE][collapses]
    const a = machine(v, 3);
    a.k.uffdRegister(a.mm, a.p, 3 * HPAGE, ['wp']);
    a.write(0, 3 * HPAGE);
    a.k.uffdWriteprotect(a.mm, 0, a.p + HPAGE + 5, 1, true);
    assert.throws(() => a.k.madvise(a.mm, 0, a.p, 3 * HPAGE, 'collapse'), /SCAN_PTE_UFFD_WP/);
    assert.deepEqual([0, 1, 2].map((i) => a.k.inspect(a.mm, a.p + i * HPAGE).huge), [true, false, true]);
    // [written][never touched: no PTE table][written]: the call returns at the middle range
    const b = machine(v, 3);
    b.write(0, 1);
    b.write(2 * HPAGE, 2 * HPAGE + 1);
    assert.throws(() => b.k.madvise(b.mm, 0, b.p, 3 * HPAGE, 'collapse'), /SCAN_PMD_NONE/);
    assert.deepEqual([0, 1, 2].map((i) => b.k.inspect(b.mm, b.p + i * HPAGE).huge), [true, false, false]);
    // two VMAs (the first registered for uffd-wp, with a protected PTE): the second is not visited
    const c = machine(v, 3);
    c.write(0, 3 * HPAGE);
    c.k.uffdRegister(c.mm, c.p, HPAGE, ['wp']);
    c.k.uffdWriteprotect(c.mm, 0, c.p + 5, 1, true);
    assert.equal(c.mm.vmas.length, 2);
    assert.throws(() => c.k.madvise(c.mm, 0, c.p, 3 * HPAGE, 'collapse'), /SCAN_PTE_UFFD_WP/);
    assert.deepEqual([0, 1, 2].map((i) => c.k.inspect(c.mm, c.p + i * HPAGE).huge), [false, false, false]);
  });

  test(`${v}: MADV_COLLAPSE of pages inside one 2 MiB range fails (EINVAL) unless the call starts on its boundary (then it covers no range and succeeds)`, () => {
    const m = machine(v, 1);
    m.write(0, 4);
    assert.throws(() => m.k.madvise(m.mm, 0, m.p + 1, 1, 'collapse'), (e: unknown) => e instanceof CollapseError && e.errno === 'EINVAL');
    m.k.madvise(m.mm, 0, m.p, 1, 'collapse'); // hstart == hend: nothing to do, success
    assert.equal(m.k.inspect(m.mm, m.p).huge, false);
  });

  test(`${v}: MADV_COLLAPSE of a range whose every PTE is read-only ${v === 'linux-6.18' ? 'collapses it (read-only collapse, seen on the 6.18.44 host)' : 'fails with SCAN_PAGE_RO'}`, () => {
    const m = machine(v, 1);
    m.write(0, 8);
    m.read(100, 104); // zero-page PTEs
    m.k.mprotect(m.mm, 0, m.p, HPAGE, 'r');
    assert.equal(m.k.inspect(m.mm, m.p).write, false);
    if (m.k.variant.collapseNeedsWritablePte) {
      assert.throws(() => m.k.madvise(m.mm, 0, m.p, HPAGE, 'collapse'), /SCAN_PAGE_RO/);
      assert.equal(m.k.inspect(m.mm, m.p).huge, false);
      return;
    }
    m.k.madvise(m.mm, 0, m.p, HPAGE, 'collapse');
    const s = m.k.inspect(m.mm, m.p + 3);
    assert.deepEqual([s.huge, s.write, s.dirty, s.exclusive], [true, false, true, true], 'a read-only PMD: maybe_pmd_mkwrite() needs VM_WRITE');
    assert.equal(m.k.frames.flags[s.pfn] & PG_nonzero, PG_nonzero, 'the data was copied');
    assert.deepEqual(consistency(m.k), []);
  });
}

for (const v of LINUX) {
  test(`${v}: khugepaged needs a referenced PTE (young or PG_referenced) and, with swap PTEs, 256 of them; MADV_COLLAPSE needs neither`, () => {
    const a = machine(v, 1);
    a.write(0, 8);
    a.k.clearRefs(a.mm, 0, 'young'); // every PTE old, PG_referenced cleared
    a.k.madvise(a.mm, 0, a.p, HPAGE, 'hugepage');
    assert.deepEqual(a.k.khugepagedScan().map((r) => r.result), ['SCAN_LACK_REFERENCED_PAGE']);
    a.read(3, 4);
    assert.deepEqual(a.k.khugepagedScan().map((r) => r.result), ['SCAN_SUCCEED'], 'one young PTE is enough');
    assert.equal(a.k.inspect(a.mm, a.p).huge, true);
    // swap PTEs in the range: fewer than HPAGE_PMD_NR / 2 referenced PTEs is not enough
    const b = machine(v, 1);
    b.write(0, HPAGE);
    b.k.madvise(b.mm, 0, b.p, 1, 'pageout');
    b.k.clearRefs(b.mm, 0, 'young');
    b.read(1, 256);
    b.k.madvise(b.mm, 0, b.p, HPAGE, 'hugepage');
    assert.deepEqual(b.k.khugepagedScan().map((r) => r.result), ['SCAN_LACK_REFERENCED_PAGE'], '255 referenced');
    b.read(256, 257);
    assert.deepEqual(b.k.khugepagedScan().map((r) => r.result), ['SCAN_SUCCEED'], '256 referenced');
    assert.equal(b.k.inspect(b.mm, b.p).huge, true);
    if (b.k.variant.madvCollapse) {
      const c = machine(v, 1);
      c.write(0, 8);
      c.k.clearRefs(c.mm, 0, 'young');
      c.k.madvise(c.mm, 0, c.p, HPAGE, 'collapse');
      assert.equal(c.k.inspect(c.mm, c.p).huge, true);
    }
  });

  test(`${v}: khugepaged scans the VMAs thp_vma_allowable_order(TVA_ENFORCE_SYSFS) allows: enabled=always, or madvise with MADV_HUGEPAGE; never NOHUGEPAGE; nothing with enabled=never`, () => {
    for (const [thp, advice, collapsed] of [
      ['madvise', null, false],
      ['madvise', 'hugepage', true],
      ['always', null, true],
      ['always', 'nohugepage', false],
      ['never', 'hugepage', false],
    ] as const) {
      const m = machine(v, 1, thp);
      if (advice) m.k.madvise(m.mm, 0, m.p, HPAGE, advice);
      m.write(0, 4);
      // where the fault mapped a THP, split it: MADV_DONTNEED of the rest leaves 4 PTEs
      if (m.k.inspect(m.mm, m.p).huge) m.k.madvise(m.mm, 0, m.p + 4, HPAGE - 4, 'dontneed');
      assert.equal(m.k.inspect(m.mm, m.p).huge, false, `${thp}/${advice}: PTE-mapped before the scan`);
      m.k.khugepagedScan();
      assert.equal(m.k.inspect(m.mm, m.p).huge, collapsed, `${thp}/${advice}`);
    }
  });
}

test('khugepaged counts shared pages by page_mapcount() up to 6.9 and by folio_maybe_mapped_shared() from 6.15: a child\'s split copy of a THP the parent has partly unmapped', () => {
  for (const [v, result] of [['linux-6.3', 'SCAN_SUCCEED'], ['linux-6.18', 'SCAN_EXCEED_SHARED_PTE']] as const) {
    const k = new Kernel({ variant: v, cpus: 2, strict: true, thp: { enabled: 'madvise', useZeroPage: false } });
    const parent = k.process('main');
    const p = k.mmap(parent, { region: 'r', pages: HPAGE, kind: 'anon-private' }).start;
    k.madvise(parent, 0, p, HPAGE, 'hugepage');
    k.access(parent, 0, p, 1); // a THP
    const child = k.fork(parent, 'child', 0);
    k.madvise(child, 0, p, 1, 'nohugepage'); // the child's PMD is split...
    k.madvise(child, 0, p, HPAGE, 'hugepage'); // ...and its VMA eligible again
    k.access(child, 0, p + 1, 1); // a CoW copy: a writable, young PTE (the rest are read-only and old)
    k.madvise(parent, 0, p, HPAGE, 'nohugepage'); // (khugepaged leaves the parent's range alone)
    k.madvise(parent, 0, p, 300, 'dontneed'); // the parent keeps 212 pages of the folio mapped
    assert.equal(k.inspect(child, p).thp, true);
    const r = k.khugepagedScan().filter((a) => a.process === 'child');
    // 212 pages mapped twice (<= 256) vs a folio another process maps: its 511 pages here all count
    assert.deepEqual(r.map((a) => a.result), [result], v);
  }
});

test('spec: a khugepaged step runs one full scan with machine.khugepaged limits; a bad limit names the field', () => {
  const spec = (maxPtesNone: unknown) => ({
    name: 'k',
    machine: { cpu: 'zen3', khugepaged: { maxPtesNone } },
    kernel: 'linux-6.18',
    steps: [
      { op: 'mmap', region: 'h', size: '2MiB', thp: 'nohugepage' },
      { op: 'touch', region: 'h', access: 'write', pages: { from: 0, count: 255 } },
      { op: 'madvise', region: 'h', advice: 'hugepage' },
      { op: 'khugepaged' },
      { op: 'inspect', region: 'h', pages: [0] },
      { op: 'touch', region: 'h', access: 'write', pages: [255] },
      { op: 'khugepaged' },
      { op: 'inspect', region: 'h', pages: [0] },
    ],
  });
  const r = simulateRun(compileSpec(parseSpec(spec(256)))[0]);
  assert.equal(r.steps[4].inspect?.[0].huge, false, '257 none PTEs > max_ptes_none 256');
  assert.equal(r.steps[7].inspect?.[0].huge, true, '256 none PTEs');
  assert.equal(r.steps[6].counters.events.collapseHugePage, 1);
  assert.throws(() => parseSpec(spec(600)), (e: unknown) => e instanceof SpecError && /machine\.khugepaged\.maxPtesNone/.test(e.message));
});

// ---- userfaultfd write-protect on THPs: the selftests' pagemap checks (PM_UFFD_WP, PM_MMAP_EXCLUSIVE) ----

/** pagemap_test_fork(): fork, read the child's PM_UFFD_WP of the first page, and let the child exit. */
function pagemapTestFork(k: Kernel, mm: Mm, p: number): boolean {
  const child = k.fork(mm, `child${k.procs.size}`, 0);
  const wp = k.inspect(child, p).uffdWp;
  k.munmap(child, 'area', 0); // the child exits: exit_mmap() unmaps everything
  return wp;
}

/**
 * userfaultfd.c userfaultfd_pagemap_test(page_size * 512) (5.13-6.3, "pagemap on memory with THP"),
 * and uffd-unit-tests.c's wp-fork / wp-fork-with-event (6.4+) run on the same THP-backed area:
 * PM_UFFD_WP after protecting a THP, dropped in a child without UFFD_FEATURE_EVENT_FORK and kept
 * with it, kept across MADV_PAGEOUT of the whole THP, cleared by unprotect, and gone after the page
 * is faulted back in.
 */
for (const v of LINUX) {
  for (const withEvent of [false, true]) {
    test(`userfaultfd.c pagemap on memory with THP / uffd-unit-tests.c wp-fork${withEvent ? '-with-event' : ''} on a THP (${v})`, () => {
      const k = new Kernel({ variant: v, cpus: 2, strict: true });
      const mm = k.process('main');
      const p = k.mmap(mm, { region: 'area', pages: HPAGE, kind: 'anon-private' }).start;
      k.madvise(mm, 0, p, HPAGE, 'hugepage'); // "This is a thp test"
      k.uffdRegister(mm, p, HPAGE, ['wp'], withEvent ? ['event-fork'] : []);
      assert.ok(k.access(mm, 0, p, 1)); // touch the page: a THP
      assert.equal(k.inspect(mm, p).huge, true);
      k.uffdWriteprotect(mm, 0, p, HPAGE, true);
      let s = k.inspect(mm, p);
      assert.deepEqual([s.uffdWp, s.huge], [true, true], 'pagemap_check_wp(value, true) on the PMD');
      assert.equal(pagemapTestFork(k, mm, p), withEvent, withEvent ? 'the child keeps uffd-wp (EVENT_FORK)' : 'the child drops uffd-wp');
      assert.equal(k.inspect(mm, p).mappedExclusively, true, 'PM_MMAP_EXCLUSIVE again once the child exited (PAGEOUT needs it)');
      k.madvise(mm, 0, p, HPAGE, 'pageout');
      s = k.inspect(mm, p);
      assert.deepEqual([s.entry, s.uffdWp], ['swap', true], 'uffd-wp should persist even swapped out');
      assert.equal(pagemapTestFork(k, mm, p), withEvent, 'a swap entry in the child: the same rule');
      k.uffdWriteprotect(mm, 0, p, 1, false); // unprotect one page: a swap PTE change
      assert.equal(k.inspect(mm, p).uffdWp, false);
      assert.equal(k.inspect(mm, p + 1).uffdWp, true, 'the rest of the range stays protected');
      assert.ok(k.access(mm, 0, p, 1)); // fault the page in from swap
      s = k.inspect(mm, p);
      assert.deepEqual([s.present, s.uffdWp, s.write], [true, false, true]);
      assert.deepEqual(consistency(k), []);
    });
  }
}

test('uffd-unit-tests.c wp-unpopulated on a THP-eligible range (6.4+): markers live in a PTE table, so the next write is a uffd-wp fault on a 4 KiB page, not a THP', () => {
  for (const v of LINUX) {
    const k = new Kernel({ variant: v, cpus: 2, strict: true });
    const mm = k.process('main');
    const p = k.mmap(mm, { region: 'area', pages: HPAGE, kind: 'anon-private' }).start;
    k.madvise(mm, 0, p, HPAGE, 'hugepage');
    if (!k.variant.uffdWpUnpopulated) {
      assert.throws(() => k.uffdRegister(mm, p, HPAGE, ['wp'], ['wp-unpopulated']), /WP_UNPOPULATED needs Linux 6\.4/, v);
      continue;
    }
    k.uffdRegister(mm, p, HPAGE, ['wp'], ['wp-unpopulated']);
    // test applying a PTE marker to unpopulated anon memory, and unprotecting it
    k.uffdWriteprotect(mm, 0, p, 1, true);
    assert.deepEqual([k.inspect(mm, p).entry, k.inspect(mm, p).uffdWp], ['marker', true], v);
    k.uffdWriteprotect(mm, 0, p, 1, false);
    assert.equal(k.inspect(mm, p).uffdWp, false);
    // zap on an anon marker drops it
    k.uffdWriteprotect(mm, 0, p, 1, true);
    k.madvise(mm, 0, p, 1, 'dontneed');
    assert.equal(k.inspect(mm, p).uffdWp, false);
    // fault in after the marker was removed: not protected
    assert.ok(k.access(mm, 0, p, 1));
    assert.equal(k.inspect(mm, p).uffdWp, false);
    k.madvise(mm, 0, p, 1, 'dontneed');
    // protect the whole 2 MiB range while it is unpopulated: 512 markers in a PTE table...
    k.uffdWriteprotect(mm, 0, p, HPAGE, true);
    assert.equal(k.inspect(mm, p + 7).entry, 'marker');
    // ...so a write there takes the PTE path: a uffd-wp fault, resolved on a 4 KiB page
    const wpFaults = k.counters[KEv['fault.uffdWp']];
    assert.ok(k.access(mm, 0, p + 7, 1));
    const s = k.inspect(mm, p + 7);
    assert.deepEqual([s.huge, s.present, s.uffdWp], [false, true, false], `${v}: the handler unprotected one 4 KiB page`);
    assert.equal(k.counters[KEv['fault.uffdWp']] - wpFaults, 1, 'one uffd-wp fault');
    assert.equal(k.inspect(mm, p + 8).entry, 'marker', 'its neighbours keep their markers');
    assert.deepEqual(consistency(k), []);
  }
});

// ---- cow.c (6.2+ selftest; the CoW rules it checks hold in every modelled release) ----

type ThpRun = 'pmd' | 'pmd-swapout' | 'pte' | 'pte-swapout' | 'single-pte' | 'single-pte-swapout';

/**
 * do_run_with_thp(): a PMD-mapped THP in a MADV_HUGEPAGE area, filled; then PTE-mapped by a
 * temporary mprotect(PROT_READ) of its second page, or cut to its first page by MADV_DONTNEED
 * of the rest; the swapout runs page the range out (range_is_swapped). Returns the size tested.
 */
function runWithThp(k: Kernel, mm: Mm, p: number, run: ThpRun): number {
  k.madvise(mm, 0, p, HPAGE, 'hugepage');
  for (let i = 0; i < HPAGE; i++) assert.ok(k.access(mm, 0, p + i, 1));
  assert.equal(k.inspect(mm, p + HPAGE - 1).huge, true, 'a THP was populated');
  let size = HPAGE;
  if (run.startsWith('pte') || run.startsWith('single-pte')) {
    k.mprotect(mm, 0, p + 1, 1, 'r');
    k.mprotect(mm, 0, p + 1, 1, 'rw');
    assert.equal(k.inspect(mm, p).huge, false);
    assert.equal(k.inspect(mm, p).thp, true, 'a PTE-mapped THP');
  }
  if (run.startsWith('single-pte')) {
    k.madvise(mm, 0, p + 1, HPAGE - 1, 'dontneed');
    size = 1;
  }
  if (run.endsWith('swapout')) {
    k.madvise(mm, 0, p, size, 'pageout');
    for (let i = 0; i < size; i++) assert.equal(k.inspect(mm, p + i).entry, 'swap', 'range_is_swapped');
  }
  return size;
}

/** The frame a process reads at `vpn` (reading it, as memcpy does: a swap-in where need be). */
function readFrame(k: Kernel, mm: Mm, vpn: number): number {
  assert.ok(k.access(mm, 1, vpn, 0));
  const s = k.inspect(mm, vpn);
  assert.ok(s.present);
  return s.pfn;
}

/** do_test_cow_in_parent() with child_memcmp_fn: the child must not see the parent's writes. */
function cowInParent(k: Kernel, mm: Mm, p: number, size: number, mprotect: boolean): void {
  const child = k.fork(mm, `child${k.procs.size}`, 0);
  const old = Array.from({ length: size }, (_, i) => readFrame(k, child, p + i)); // backup the original content
  if (mprotect) {
    k.mprotect(mm, 0, p, size, 'r');
    k.mprotect(mm, 0, p, size, 'rw');
  }
  for (let i = 0; i < size; i++) assert.ok(k.access(mm, 0, p + i, 1)); // memset(mem, 0xff, size)
  for (let i = 0; i < size; i++) {
    const seen = readFrame(k, child, p + i);
    assert.equal(seen, old[i], `page ${i}: the child still reads the old values`);
    assert.notEqual(k.inspect(mm, p + i).pfn, seen, `page ${i}: No leak from parent into child`);
  }
  assert.deepEqual(consistency(k), []);
}

for (const v of LINUX) {
  for (const run of ['pmd', 'pmd-swapout', 'pte', 'pte-swapout', 'single-pte', 'single-pte-swapout'] as const) {
    for (const mprotect of [false, true]) {
      test(`cow.c Basic COW after fork()${mprotect ? ' with mprotect() optimization' : ''} ... with ${run} THP (${v})`, () => {
        const k = new Kernel({ variant: v, cpus: 2, strict: true });
        const mm = k.process('main');
        const p = k.mmap(mm, { region: 'mem', pages: HPAGE, kind: 'anon-private' }).start;
        cowInParent(k, mm, p, runWithThp(k, mm, p, run), mprotect);
      });
    }
  }
  test(`cow.c "Other mapping not modified" ... with huge zeropage (${v}): a write to one mapping of the huge zero page leaves the other reading zeros`, () => {
    const k = new Kernel({ variant: v, cpus: 2, strict: true, thp: { enabled: 'madvise', useZeroPage: true } });
    const mm = k.process('main');
    const mem = k.mmap(mm, { region: 'mem', pages: HPAGE, kind: 'anon-private' }).start;
    const smem = k.mmap(mm, { region: 'smem', pages: HPAGE, kind: 'anon-private', prot: 'r' }).start;
    k.madvise(mm, 0, mem, HPAGE, 'hugepage');
    k.madvise(mm, 0, smem, HPAGE, 'hugepage');
    k.access(mm, 0, mem, 0);
    k.access(mm, 0, smem, 0);
    const zero = k.inspect(mm, smem + 1);
    assert.deepEqual([k.inspect(mm, mem + 1).huge, zero.huge, zero.special], [true, true, true], 'both map the huge zero page');
    for (let i = 0; i < HPAGE; i++) assert.ok(k.access(mm, 0, mem + i, 1));
    const s = k.inspect(mm, smem + 1);
    assert.deepEqual([s.special, s.pfn], [true, zero.pfn], 'smem still maps the huge zero page');
    assert.equal(k.frames.flags[k.inspect(mm, mem + 1).pfn] & PG_nonzero, PG_nonzero);
  });
}

for (const v of MADV_COLLAPSE) {
  for (const when of ['before fork()', 'after fork() (fully shared)'] as const) {
    test(`cow.c Basic COW after fork() when collapsing ${when} (${v})`, () => {
      const k = new Kernel({ variant: v, cpus: 2, strict: true });
      const mm = k.process('main');
      const p = k.mmap(mm, { region: 'mem', pages: HPAGE, kind: 'anon-private' }).start;
      runWithThp(k, mm, p, 'pmd');
      // trigger PTE-mapping the THP by temporarily mapping a single subpage R/O
      k.mprotect(mm, 0, p + 1, 1, 'r');
      k.mprotect(mm, 0, p + 1, 1, 'rw');
      if (when === 'before fork()') k.madvise(mm, 0, p, HPAGE, 'collapse');
      const child = k.fork(mm, 'child', 0);
      const old = Array.from({ length: HPAGE }, (_, i) => readFrame(k, child, p + i));
      if (when !== 'before fork()') {
        // collapse before anyone modified the COW-shared page: fork write-protected every PTE, so
        // a kernel that needs a writable PTE fails the call and the selftest skips the case
        if (k.variant.collapseNeedsWritablePte) {
          assert.throws(() => k.madvise(mm, 0, p, HPAGE, 'collapse'), /SCAN_PAGE_RO/, 'ksft_test_result_skip("MADV_COLLAPSE failed")');
          return;
        }
        k.madvise(mm, 0, p, HPAGE, 'collapse');
      }
      assert.equal(k.inspect(mm, p).huge, true);
      for (let i = 0; i < HPAGE; i++) assert.ok(k.access(mm, 0, p + i, 1));
      for (let i = 0; i < HPAGE; i++) {
        const seen = readFrame(k, child, p + i);
        assert.equal(seen, old[i], `page ${i}: No leak from parent into child`);
        assert.notEqual(k.inspect(mm, p + i).pfn, seen);
      }
      assert.deepEqual(consistency(k), []);
    });
  }
}

test('spec: a MADV_COLLAPSE the kernel fails is the step\'s errno (notes say why) and the run goes on', () => {
  const spec = (kernel: string, prepare: Record<string, unknown>[]) => ({
    name: 'c',
    machine: { cpu: 'zen3' },
    kernel,
    steps: [
      { op: 'mmap', region: 'h', size: '2MiB', thp: 'nohugepage' },
      ...prepare,
      { op: 'madvise', region: 'h', advice: 'hugepage' },
      { op: 'madvise', region: 'h', advice: 'collapse' },
      { op: 'inspect', region: 'h', pages: [0] },
    ],
  });
  const run = (kernel: string, prepare: Record<string, unknown>[]) => {
    const r = simulateRun(compileSpec(parseSpec(spec(kernel, prepare)))[0]);
    const n = r.steps.length;
    return { errno: r.steps[n - 2].errno, why: r.steps[n - 2].notes?.join('; ') ?? '', huge: r.steps[n - 1].inspect?.[0].huge };
  };
  const readOnly = [
    { op: 'touch', region: 'h', access: 'write', pages: [0] },
    { op: 'mprotect', region: 'h', prot: 'r' },
  ];
  const zeroPageOnly = [{ op: 'touch', region: 'h', access: 'read', pages: { from: 0, count: 4 } }];
  let r = run('linux-5.19', readOnly);
  assert.deepEqual([r.errno, r.huge], ['EINVAL', false]);
  assert.match(r.why, /needs Linux 6\.1/);
  r = run('linux-6.2', readOnly);
  assert.deepEqual([r.errno, r.huge], ['EINVAL', false]);
  assert.match(r.why, /SCAN_PAGE_RO/);
  r = run('linux-6.18', readOnly);
  assert.deepEqual([r.errno, r.huge], [undefined, true], '6.18 needs no writable PTE');
  // a VMA too small for an aligned 2 MiB range is refused whole (transhuge_vma_suitable outside a fault)
  const small = simulateRun(
    compileSpec(parseSpec({ name: 's', machine: { cpu: 'zen3' }, kernel: 'linux-6.18', steps: [{ op: 'mmap', region: 'h', size: '256KiB' }, { op: 'touch', region: 'h', access: 'write' }, { op: 'madvise', region: 'h', advice: 'collapse' }] }))[0],
  );
  assert.equal(small.steps[2].errno, 'EINVAL');
  assert.match(small.steps[2].notes?.join() ?? '', /no aligned 2 MiB range/);
  // a VMA that only read the zero page has no anon_vma, which thp_vma_allowable_order() wants
  // outside a fault (the 6.18.44 host: EINVAL); before 6.18 the call failed the same way
  for (const v of ['linux-6.2', 'linux-6.18']) {
    r = run(v, zeroPageOnly);
    assert.deepEqual([r.errno, r.huge], ['EINVAL', false], v);
    assert.match(r.why, /anon_vma/);
  }
});
