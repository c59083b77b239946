// %% [markdown]
// # 01 · Quickstart: from zero to a chart in five cells
//
// ptlab models how Linux manages x86-64 page-table entries (PTEs) and what each hardware and kernel
// event costs in CPU cycles. You describe an experiment as a list of steps (mmap, touch, mprotect,
// userfaultfd ioctls, reclaim, ...), pick kernel variants and a CPU profile, run it, and get results
// you can chart, tabulate and save.
//
// This notebook runs the question that started ptlab (an LKML thread of July 2022): after
// userfaultfd write-protects a page and later un-protects it, what does the *first write* cost?
//
// Run it in the **ptlab (TypeScript)** kernel (`npx ptlab kernel install`, see `docs/jupyter.md`).
// Every cell that shows something ends with `await ….show()`: tslab only waits for cells that
// contain a top-level `await`.

// %% [markdown]
// **Cell 1: import.** `lab` builds experiments; `charts` and `summaryTable` display results.
// The import resolves to the checkout that installed the kernel, with full types.

// %%
import { lab, charts, summaryTable, Table } from 'ptlab'

// %% [markdown]
// **Cell 2: describe the experiment.** A 16 MiB anonymous heap is written once (so every page
// exists, young and dirty), registered with userfaultfd in write-protect mode, protected, then
// un-protected — and written again. We compare two kernels:
//
// * `linux-5.19`: un-protect only clears the uffd-wp bit; the PTE stays read-only, so the next write
//   takes a write-protect fault (`do_wp_page` → `wp_page_reuse`);
// * `linux-6.18`: un-protect uses `MM_CP_TRY_CHANGE_WRITABLE` (since 6.3), so the PTE becomes
//   writable at once and the write needs no fault.
//
// The builder is immutable and produces a plain JSON spec (`docs/spec.md`); `toSpec()` shows it.

// %%
const experiment = lab.experiment('quickstart: write after uffd un-protect')
  .machine('skylake-sp', { cpus: 2 })
  .kernel('linux-5.19', 'linux-6.18')
  .mmap('heap', '16MiB', { kind: 'anon-private' })
  .touch('heap', 'write')
  .uffd.register('heap', { wp: true })
  .uffd.writeprotect('heap')
  .uffd.unprotect('heap')
  .touch('heap', 'write', { label: 'write after unprotect' })
console.log(JSON.stringify(experiment.toSpec(), null, 1))

// %% [markdown]
// **Cell 3: run it.** One run per kernel variant; the model is deterministic, so the same spec
// gives the same numbers bit for bit. `results` is a `ResultSet`: runs, tidy rows, summaries,
// `save(dir)`.

// %%
const results = await experiment.run()
console.log(`${results.length} runs:`, results.runs.map((r) => r.id).join(', '))

// %% [markdown]
// **Cell 4: a chart.** Where the cycles of the last step (the write after un-protect) go, per
// kernel: `fault.wpReuse` and `pageFault` are the write-protect fault of 5.19. The chart carries an
// interactive vega-lite view plus a PNG (what GitHub and the HTML export show).

// %%
await charts.cycleBreakdown(results, { step: 5, title: 'First write after uffd un-protect (16 MiB heap)' }).show()

// %% [markdown]
// **Cell 5: the numbers.** A table from the same results, and the finding computed from them
// (nothing below is typed by hand).

// %%
const writeStep = (variant: string) => results.runs.find((r) => r.variant === variant)!.steps[5]
const pages = writeStep('linux-6.18').counters.accesses
const perPage = (variant: string) => writeStep(variant).cycles.total / pages
new Table(results.runs.map((r) => ({
  variant: r.variant,
  'cycles / page': (r.steps[5].cycles.total / pages).toFixed(0),
  'wp faults': r.steps[5].counters.faults.byKind.wpReuse ?? 0,
  'TLB flushes at unprotect': r.steps[4].counters.tlbFlushes,
})), { title: 'Write after un-protect' }).show()
console.log(`Finding: on skylake-sp, the first write after un-protect costs ${perPage('linux-5.19').toFixed(0)} cycles/page on linux-5.19 ` +
  `(${writeStep('linux-5.19').counters.faults.total} write-protect faults for ${pages} pages) and ${perPage('linux-6.18').toFixed(0)} cycles/page on linux-6.18, ` +
  `which maps the pages writable during the un-protect itself.`)

// %% [markdown]
// ## Where next
//
// * `02-uffd-unprotect-first-access` — the same question for PTEs that are old and/or clean, per CPU profile;
// * `03-dirty-on-mkwrite` — what marking pages dirty on un-protect costs under memory pressure;
// * `04-pagecache-mkwrite` — why page-cache pages must not be made writable behind `->page_mkwrite`;
// * `05-relaxed-tlb-flush` — the RFC's relaxed TLB flushes, IPIs vs spurious faults;
// * `06-live-snapshot` — a uffd-wp live snapshot of a 1 GiB heap, end to end.
//
// Specs, ops and result fields: `docs/spec.md`; charts and tables: `docs/charts.md`.
