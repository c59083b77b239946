// %% [markdown]
// # 04 · Page-cache pages made writable without `->page_mkwrite`
//
// **Question.** David Hildenbrand in the RFC 01 thread (`2b4393ce-…@redhat.com`): for page cache it
// may be "plain wrong" to map a page writable outside the write-fault handler, because
// `do_shared_fault()`/`wp_page_shared()` call the filesystem's `->page_mkwrite()`, which is where a
// filesystem that allocates blocks lazily (ext4 delalloc, XFS, btrfs) reserves space. Nadav Amit
// added that dirty must be set only *after* the writability decision: a dirty shared PTE looks
// "already notified" to `can_change_pte_writable()`. What happens when a kernel variant maps clean
// page-cache pages writable anyway, and what does ptlab report?
//
// **Variants.**
// * `linux-5.19`, `linux-6.2`: uffd un-protect rebuilt PTEs from `vm_get_page_prot(vm_flags)`, which
//   for a shared writable mapping includes RW — so un-protect really did map clean page-cache pages
//   writable behind `->page_mkwrite` (fixed in 6.3 by "mm/userfaultfd: rely on vma->vm_page_prot in
//   uffd_wp_range()", `20221223155616.297723-2-david@redhat.com`).
// * `linux-6.3`, `linux-6.18`, `proposal-dirty-on-mkwrite`: clean shared PTEs stay read-only.
//
// **Flagged (issue 19, for the findings rewrite):** the first bullet does not hold. Before 6.7,
// `vma_can_userfault()` refuses UFFDIO_REGISTER of a page-cache file (ext4) with EINVAL, so 5.19/6.2
// un-protect never reached such pages (their 5.19-6.2 bug is a shmem + soft-dirty corner case);
// from 6.7 a file can be registered in wp-only mode with `UFFD_FEATURE_WP_ASYNC`. The model now
// refuses the registration too: this notebook shows the refusal and runs the 6.7+ variants with
// `features: ['wp-async']`.
// * `what-if-mkdirty-before-check`: defined below with `deriveVariant`: 6.18 plus a `changePte` hook
//   that marks shared PTEs dirty (and writable) on un-protect — the ordering Nadav warned about.
//
// **Invariants ptlab checks** (`src/kernel/invariants.ts`): `mkwriteBypassed` (a page-cache page of a
// `->page_mkwrite` filesystem was mapped writable without `->page_mkwrite`) and `writeWithoutMkwrite`
// (a write reached such a page with no notification since its last clean).

// %%
import { lab, charts, Chart, Table, display, deriveVariant, getVariant } from 'ptlab'

// %% [markdown]
// ## A what-if variant, defined in the notebook
//
// The hook sees every PTE `change_pte_range` commits and may return another one. This one dirties
// and write-enables shared PTEs on un-protect, i.e. it sets D *before* (instead of after) the
// writability check.

// %%
const whatIf = deriveVariant(getVariant('linux-6.18'), {
  name: 'what-if-mkdirty-before-check',
  description: '6.18, but uffd un-protect marks shared PTEs dirty and writable (D before the writability check)',
  hooks: {
    changePte: (c) => (c.cause === 'uffd-unprotect' && c.vma.shared ? c.arch.pte_mkwrite(c.arch.pte_mkdirty(c.newPte)) : c.newPte),
  },
})
// the variant is a value: pass it to .kernels() next to the built-in names
const KERNELS = ['linux-6.18', 'proposal-dirty-on-mkwrite', whatIf]
const VARIANTS = ['linux-6.18', 'proposal-dirty-on-mkwrite', whatIf.name]
// before 6.7 the registration itself fails (vma_can_userfault)
for (const v of ['linux-5.19', 'linux-6.2', 'linux-6.3']) {
  try {
    lab.experiment('register a file').machine('skylake-sp').kernels(v).mmap('file', '1MiB', { kind: 'file-shared', fs: 'mkwrite' }).uffd.register('file', { wp: true }).runSync()
  } catch (e) {
    console.log(`${v}: ${(e as Error).message}`)
  }
}

// %% [markdown]
// ## Setup
//
// A 1 MiB file (256 pages) on a `->page_mkwrite` filesystem that allocates blocks lazily (`fs: 'mkwrite'`:
// the file is sparse, its pages are in the page cache and clean), mapped shared. The application reads
// it (fault-around maps the cached neighbours read-only), registers it for uffd-wp, protects and
// un-protects it, then writes the first 32 pages; finally `writeback` syncs the file.

// %%
const experiment = lab.experiment('page-cache pages after uffd un-protect')
  .machine('skylake-sp', { cpus: 2 })
  .kernels(...KERNELS)
  .mmap('file', '1MiB', { kind: 'file-shared', fs: 'mkwrite' })
  .touch('file', 'read')
  .uffd.register('file', { wp: true, features: ['wp-async'] })
  .uffd.writeprotect('file')
  .uffd.unprotect('file', { label: 'unprotect' })
  .inspect('file', { from: 0, count: 64 }, { label: 'after unprotect' })
  .touch('file', 'write', { pages: { from: 0, count: 32 }, label: 'app writes' })
  .writeback('file', { label: 'sync' })
console.log(JSON.stringify(experiment.toSpec()))
const steps = experiment.toSpec().steps as { label?: string }[]
const at = (label: string) => steps.findIndex((s) => s.label === label)
// runSync (this thread): the what-if's hook is a function defined here, which worker threads cannot load
const results = experiment.runSync()
console.log(results.runs.map((r) => r.variant).join(', '))

// %% [markdown]
// ## The PTEs after un-protect
//
// Orange = writable. An orange, clean page-cache page is the bug: its next write lands without the
// filesystem ever hearing of it.

// %%
const maps: Record<string, any> = {}
for (const r of results.runs) maps[r.variant] = r.steps[at('after unprotect')].inspect!
await charts.pteMap(maps, { columns: 16 }).title('Shared file mapping after uffd un-protect (first 64 pages)').show()

// %% [markdown]
// ## What ptlab reports

// %%
const rows = results.runs.map((r) => {
  const v = r.total.counters.violations
  const u = r.steps[at('unprotect')].counters, w = r.steps[at('app writes')].counters
  return {
    variant: r.variant,
    'writable after unprotect': r.steps[at('after unprotect')].inspect!.filter((p) => p.write).length,
    mkwriteBypassed: v.mkwriteBypassed ?? 0,
    writeWithoutMkwrite: v.writeWithoutMkwrite ?? 0,
    'page_mkwrite faults': (w.faults.byKind.wpSharedMkwrite ?? 0) + (w.faults.byKind.sharedMkwrite ?? 0),
    'blocks allocated by page_mkwrite': w.events.blockAlloc ?? 0,
    'pages written back': r.steps[at('sync')].counters.writebackPages,
    'unprotect flushes': u.tlbFlushes,
  }
})
new Table(rows, { title: 'Invariant violations and ->page_mkwrite calls per variant', caption: '64 pages inspected; 32 pages written' }).show()
await Chart.from({
  data: { values: rows.flatMap((r) => [
    { variant: r.variant, violation: 'mkwriteBypassed', count: r.mkwriteBypassed },
    { variant: r.variant, violation: 'writeWithoutMkwrite', count: r.writeWithoutMkwrite },
  ]) },
  mark: 'bar',
  encoding: {
    y: { field: 'variant', type: 'nominal', sort: VARIANTS, title: null },
    x: { field: 'count', type: 'quantitative', title: 'violations' },
    color: { field: 'violation', type: 'nominal' },
    yOffset: { field: 'violation' },
    tooltip: [{ field: 'variant' }, { field: 'violation' }, { field: 'count' }],
  },
  width: 360,
}, 'invariant violations per variant').title('->page_mkwrite bypassed (mapping) and writes that landed unnotified').show()

// %% [markdown]
// ## Findings

// %%
const by = (v: string) => rows.find((r) => r.variant === v)!
const lines = VARIANTS.map((v) => {
  const r = by(v)
  return `- **${v}**: ${r['writable after unprotect']} of 64 inspected clean page-cache PTEs writable after un-protect; ${r.mkwriteBypassed} mkwriteBypassed, ` +
    `${r.writeWithoutMkwrite} writeWithoutMkwrite; ${r['page_mkwrite faults']} write faults called ->page_mkwrite and ${r['blocks allocated by page_mkwrite']} blocks were allocated for the 32 written pages.`
})
const broken = VARIANTS.filter((v) => by(v).writeWithoutMkwrite > 0)
const sound = VARIANTS.filter((v) => by(v).writeWithoutMkwrite === 0 && by(v).mkwriteBypassed === 0)
lines.push(`- Writes reached pages the filesystem never saw (no block reserved: on a full or quota-limited filesystem writeback fails later, data lost) on: ${broken.join(', ')}.`)
lines.push(`- Sound: ${sound.join(', ')}. Peter Xu's proposal is among them because it dirties only after \`can_change_pte_writable()\` decided — Nadav's ordering; the what-if variant shows the other ordering breaks exactly as David warned.`)
const text = lines.join('\n')
const shown = await display({ 'text/markdown': text, 'text/plain': text })
