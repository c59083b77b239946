// %% [markdown]
// # 03 · Dirty on mkwrite: Peter Xu's proposal against David Hildenbrand's objection
//
// **Question.** In the RFC 01 thread Peter Xu asked for `pte_mkdirty()` *whenever* `change_pte_range`
// grants the write bit, for mprotect and uffd alike (`YtcYVMoSRVxRH70Z@xz-m1.local`), to keep write and
// dirty coherent. David Hildenbrand objected: "We *surely* don't want to dirty random pages … simply
// because we change protection" (`017facf0-…@redhat.com`), and for page cache it may be "plain wrong"
// to bypass the write-fault handler. How many extra dirty pages does the proposal create, how many
// pages does memory pressure then write back or swap out, and how many cycles does it save — for
// workloads that un-protect much and write little, per memory kind?
//
// **Variants.** `linux-6.18` (mprotect and uffd un-protect make exclusive anon PTEs writable with D
// unchanged; shared file PTEs only if already dirty) and `proposal-dirty-on-mkwrite` (6.18 plus
// `pte_mkdirty` whenever the write bit is granted).
//
// **Workloads** (both "un-protect everything, write a little"):
// * `mprotect`: a GC card-marking barrier's epoch end — `mprotect(PROT_READ)` then
//   `mprotect(PROT_READ|PROT_WRITE)` of the whole heap (Boehm GC's incremental mode);
// * `uffd`: a live snapshot's un-protect — `UFFDIO_WRITEPROTECT` on, then off, the whole heap.
//
// **Memory kinds.** `anon-private` (made clean by swap-out and read-back, so pages are exclusive but
// clean), `anon-shared` (shmem, read-faulted), `file-shared` (a clean page-cache file on a filesystem
// with `->page_mkwrite`, read-faulted). uffd-wp on the file needs `UFFD_FEATURE_WP_ASYNC` (6.7+):
// before 6.7, and without it, `vma_can_userfault()` refuses to register a page-cache file.

// %%
import { lab, Chart, Table, display } from 'ptlab'

// %% [markdown]
// ## Setup
//
// 8 MiB (2048 pages) per kind. After the un-protect the application writes the first `n` pages once
// (`n` from 1/32 of the heap to all of it), then memory pressure: three `reclaim('all')` passes
// (second chance, eviction, and the swap-out of re-dirtied lazily freed pages).

// %%
const PAGES = 2048
const KINDS = ['anon-private', 'anon-shared', 'file-shared'] as const
const OPS = ['mprotect', 'uffd'] as const
const WRITTEN = [PAGES / 32, PAGES / 8, PAGES / 2, PAGES]
type Builder = ReturnType<typeof lab.experiment>

function experiment(kind: (typeof KINDS)[number], op: (typeof OPS)[number]): Builder {
  let e = lab.experiment(`dirty on mkwrite: ${kind}, ${op}`)
    .machine('skylake-sp', { cpus: 2 })
    .kernels('linux-6.18', 'proposal-dirty-on-mkwrite')
    .sweep({ n: WRITTEN })
    .mmap('heap', '8MiB', kind === 'file-shared' ? { kind, fs: 'mkwrite' } : { kind })
  // bring every page in, clean
  e = kind === 'anon-private' ? e.touch('heap', 'write').madvise('heap', 'pageout').touch('heap', 'read') : e.touch('heap', 'read')
  e = op === 'mprotect'
    ? e.mprotect('heap', 'r').mprotect('heap', 'rw', { label: 'grant write' })
    // a page-cache file can be registered for uffd-wp only from 6.7, with WP_ASYNC (vma_can_userfault)
    : e.uffd.register('heap', { wp: true, features: kind === 'file-shared' ? ['wp-async'] : [] }).uffd.writeprotect('heap').uffd.unprotect('heap', { label: 'grant write' })
  return e.touch('heap', { access: 'write', count: '$n', label: 'app writes' })
    .reclaim('all', { label: 'memory pressure 1' })
    .reclaim('all', { label: 'memory pressure 2' })
    .reclaim('all', { label: 'memory pressure 3' })
}
console.log(JSON.stringify(experiment('anon-private', 'uffd').toSpec(), null, 1))

// %%
interface Row { kind: string; op: string; variant: string; written: number; fraction: string; dirty: number; writeback: number; swapOut: number; writeCycles: number; reclaimCycles: number; violations: number }
const rows: Row[] = []
for (const kind of KINDS) {
  for (const op of OPS) {
    const e = experiment(kind, op)
    const steps = e.toSpec().steps as { label?: string }[]
    const at = (label: string) => steps.findIndex((s) => s.label === label)
    const pressure = [1, 2, 3].map((i) => at(`memory pressure ${i}`))
    const rs = await e.run()
    for (const r of rs.runs) {
      const w = r.steps[at('app writes')]
      rows.push({
        kind, op, variant: r.variant, written: Number(r.params.n), fraction: `${Number(r.params.n)}/${PAGES}`,
        dirty: w.counters.dirtyPages,
        writeback: pressure.reduce((s, i) => s + r.steps[i].counters.writebackPages, 0),
        swapOut: pressure.reduce((s, i) => s + r.steps[i].counters.swapOutPages, 0),
        writeCycles: w.cycles.total,
        reclaimCycles: pressure.reduce((s, i) => s + r.steps[i].cycles.total, 0),
        violations: Object.values(r.total.counters.violations).reduce((a, b) => a + b, 0),
      })
    }
  }
}
console.log(`${rows.length} runs`)

// %% [markdown]
// ## Results: dirty pages and pages written out, against pages actually written
//
// The dashed line is "pages the application wrote". Above it, pages are dirty (or written to storage
// or swap) although nobody wrote them.

// %%
const ideal = rows.filter((r) => r.variant === 'linux-6.18').map((r) => ({ ...r, variant: 'pages written by the app', dirty: r.written, writeback: r.written }))
const chartOf = (field: 'dirty' | 'writeback', title: string) => Chart.from({
  data: { values: [...rows, ...ideal] },
  facet: { row: { field: 'kind', type: 'nominal', title: null }, column: { field: 'op', type: 'nominal', title: null } },
  config: { legend: { labelLimit: 320 } },
  spec: {
    width: 200, height: 120,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'written', type: 'quantitative', scale: { type: 'log', base: 2 }, title: 'pages written by the app' },
      y: { field, type: 'quantitative', title: 'pages' },
      color: { field: 'variant', type: 'nominal' },
      strokeDash: { condition: { test: "datum.variant === 'pages written by the app'", value: [4, 3] }, value: [1, 0] },
      tooltip: [{ field: 'variant' }, { field: 'written' }, { field }],
    },
  },
}, `${title} per memory kind and workload`)
await chartOf('dirty', 'dirty pages after the writes').title('Dirty pages (PTE or folio)').show()
await chartOf('writeback', 'pages written back or swapped out').title('Pages written to storage or swap under memory pressure').show()

// %%
new Table(rows.filter((r) => r.written === PAGES / 32).map((r) => ({
  kind: r.kind, workload: r.op, variant: r.variant, 'pages written': r.written, 'dirty pages': r.dirty,
  'written back / swapped': r.writeback, 'of which swap': r.swapOut, 'write cycles': Math.round(r.writeCycles), 'reclaim cycles': Math.round(r.reclaimCycles),
})), { title: `Writing 1/32 of the heap (${PAGES / 32} of ${PAGES} pages)`, caption: 'skylake-sp; reclaim cycles include swap-out and writeback device time' }).show()

// %% [markdown]
// ## Findings
//
// Computed from the rows above (skylake-sp prices).

// %%
const get = (kind: string, op: string, variant: string, n: number) => rows.find((r) => r.kind === kind && r.op === op && r.variant === variant && r.written === n)!
const lines: string[] = []
const n = PAGES / 32
for (const kind of KINDS) {
  for (const op of OPS) {
    const b = get(kind, op, 'linux-6.18', n), p = get(kind, op, 'proposal-dirty-on-mkwrite', n)
    const saved = b.writeCycles - p.writeCycles, added = p.reclaimCycles - b.reclaimCycles
    lines.push(`- **${kind}, ${op}**, ${n} of ${PAGES} pages written: dirty pages ${b.dirty} → ${p.dirty} under the proposal, ` +
      `written back or swapped ${b.writeback} → ${p.writeback}; the proposal saves ${Math.round(saved)} cycles in the writes and adds ${Math.round(added)} in reclaim` +
      `${p.violations ? ` (${p.violations} invariant violations)` : ''}.`)
  }
}
const anon = get('anon-private', 'uffd', 'proposal-dirty-on-mkwrite', n)
lines.push(`- David's objection holds for anonymous memory: with few pages written, the proposal turns ${anon.dirty - n} never-written pages dirty, and reclaim must swap them out instead of dropping their clean swap-cache copies.`)
const file = get('file-shared', 'mprotect', 'proposal-dirty-on-mkwrite', n), fileBase = get('file-shared', 'mprotect', 'linux-6.18', n)
lines.push(`- On the page-cache file the proposal changes nothing here (dirty ${fileBase.dirty} vs ${file.dirty}): ` +
  '`can_change_pte_writable()` only upgrades shared PTEs that are already dirty, so a clean page-cache page still takes the write fault and `->page_mkwrite` (notebook 04 shows what goes wrong when a variant skips that check).')
const text = lines.join('\n')
const shown = await display({ 'text/markdown': text, 'text/plain': text })
