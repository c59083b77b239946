// %% [markdown]
// # 04 · Where Linux can map a page writable behind the write-fault handler, per version
//
// **Question.** David Hildenbrand in the RFC 01 thread (`2b4393ce-…@redhat.com`): for page cache it
// may be "plain wrong" to map a page writable outside the write-fault handler, because
// `do_shared_fault()`/`wp_page_shared()` call the filesystem's `->page_mkwrite()`, where a filesystem
// that allocates blocks lazily (ext4 delalloc, XFS, btrfs) reserves space. Nadav Amit added that dirty
// must be set only *after* the writability decision: a dirty shared PTE looks "already notified" to
// `can_change_pte_writable()`. Which paths of which kernels really reach a clean page-cache page, or
// another mapping that wants write notification, and what does the model show on each?
//
// **Where it can happen, per version** (each is a section below):
// 1. **uffd-wp on a page-cache file.** `vma_can_userfault()` refuses UFFDIO_REGISTER(wp) of a file
//    mapping with EINVAL before 6.7, so no 5.19-6.6 un-protect ever touches ext4-like page cache. From
//    6.7 a file registers in wp-only mode with `UFFD_FEATURE_WP_ASYNC` (d61ea1cb0095).
// 2. **mprotect on a writenotify mapping** (shared file mapping of a `->page_mkwrite` filesystem):
//    every version upgrades only PTEs that are already dirty (5.19: the dirty-accountable path of
//    `change_pte_range`; 6.0+: `can_change_pte_writable()`), so the filesystem was told already.
// 3. **uffd-wp with WP_ASYNC on a file, 6.7+**: un-protect runs the try-change-writable path, which
//    again upgrades only dirty shared PTEs. A variant that sets D *before* that check
//    (`what-if-mkdirty-before-check`, defined below) is the ordering Nadav warned about.
// 4. **The real 5.19-6.2 bug: shmem + soft-dirty.** Up to 6.2, un-protect rebuilt PTEs from
//    `vm_get_page_prot(vm_flags)`, ignoring the write-notification that soft-dirty tracking put in
//    `vma->vm_page_prot`; on shmem that maps pages writable and the next write escapes soft-dirty
//    tracking. Fixed in 6.3 ("mm/userfaultfd: rely on vma->vm_page_prot in uffd_wp_range()",
//    `20221223155616.297723-2-david@redhat.com`). Not a page-cache `->page_mkwrite` bypass.
//
// Not modelled: GUP with FOLL_FORCE (ptrace, /proc/pid/mem writes into read-only private file
// mappings), which breaks COW instead of writing the page cache.
//
// **Invariants ptlab checks** (`src/kernel/invariants.ts`): `mkwriteBypassed` (a page-cache page of a
// `->page_mkwrite` filesystem mapped writable without `->page_mkwrite`) and `writeWithoutMkwrite`
// (a write reached such a page with no notification since its last clean). All counts here are
// **model** output (no cycles are used).

// %%
import { lab, charts, Chart, Table, display, deriveVariant, getVariant } from 'ptlab'

// %% [markdown]
// ## 1. uffd-wp registration of a page-cache file, per version

// %%
const REGISTER: Record<string, string>[] = []
for (const v of ['linux-5.19', 'linux-6.2', 'linux-6.3', 'linux-6.18']) {
  for (const features of [[], ['wp-async']] as ('wp-async')[][]) {
    if (features.length && v !== 'linux-6.18') continue // WP_ASYNC exists from 6.7
    let answer = 'registered'
    try {
      lab.experiment('register a file').machine('skylake-sp').kernel(v).mmap('file', '1MiB', { kind: 'file-shared', fs: 'mkwrite' })
        .uffd.register('file', { wp: true, features }).runSync()
    } catch (e) {
      answer = (e as Error).message.replace(/\s+/g, ' ').replace(/^.*?(fails with)/, 'refused: $1').slice(0, 140)
    }
    REGISTER.push({ variant: v, features: features.join(', ') || '(none)', answer })
  }
}
new Table(REGISTER, { title: 'UFFDIO_REGISTER(wp) of a shared ext4-like file mapping (model)' }).show()

// %% [markdown]
// ## 2. mprotect on a writenotify mapping, per version
//
// A 1 MiB file (256 pages) on a `->page_mkwrite` filesystem, mapped shared and read; the first 16
// pages are written (so `->page_mkwrite` ran and they are dirty), then `mprotect(PROT_READ)` and
// `mprotect(PROT_READ|PROT_WRITE)`, then the application writes the first 64 pages.

// %%
const MPROTECT_KERNELS = ['linux-5.19', 'linux-6.0', 'linux-6.2', 'linux-6.3', 'linux-6.18', 'proposal-dirty-on-mkwrite']
const mp = lab.experiment('mprotect on a writenotify file mapping')
  .machine('skylake-sp', { cpus: 2 })
  .kernel(...MPROTECT_KERNELS)
  .mmap('file', '1MiB', { kind: 'file-shared', fs: 'mkwrite' })
  .touch('file', 'read')
  .touch('file', 'write', { pages: { from: 0, count: 16 } })
  .mprotect('file', 'r')
  .mprotect('file', 'rw', { label: 'grant write' })
  .inspect('file', { from: 0, count: 64 }, { label: 'after grant' })
  .touch('file', 'write', { pages: { from: 0, count: 64 }, label: 'app writes' })
const mpSteps = mp.toSpec().steps as { label?: string }[]
const mpAt = (label: string) => mpSteps.findIndex((s) => s.label === label)
const mpRows = (await mp.run()).runs.map((r) => {
  const ins = r.steps[mpAt('after grant')].inspect!
  const w = r.steps[mpAt('app writes')].counters
  return {
    variant: r.variant,
    'writable after mprotect (of 64)': ins.filter((p) => p.write).length,
    'of them clean': ins.filter((p) => p.write && !p.dirty).length,
    'page_mkwrite faults (64 writes)': (w.faults.byKind.wpSharedMkwrite ?? 0) + (w.faults.byKind.sharedMkwrite ?? 0),
    mkwriteBypassed: r.total.counters.violations.mkwriteBypassed ?? 0,
    writeWithoutMkwrite: r.total.counters.violations.writeWithoutMkwrite ?? 0,
  }
})
new Table(mpRows, { title: 'mprotect RO -> RW of a shared file mapping: 16 dirty pages, 48 clean (model)' }).show()

// %% [markdown]
// ## 3. uffd-wp with WP_ASYNC on a file (6.7+), and the ordering Nadav warned about
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
const KERNELS = ['linux-6.18', 'proposal-dirty-on-mkwrite', whatIf]
const VARIANTS = ['linux-6.18', 'proposal-dirty-on-mkwrite', whatIf.name]
const experiment = lab.experiment('page-cache pages after uffd un-protect (WP_ASYNC)')
  .machine('skylake-sp', { cpus: 2 })
  .kernel(...KERNELS)
  .mmap('file', '1MiB', { kind: 'file-shared', fs: 'mkwrite' })
  .touch('file', 'read')
  .uffd.register('file', { wp: true, features: ['wp-async'] })
  .uffd.writeprotect('file')
  .uffd.unprotect('file', { label: 'unprotect' })
  .inspect('file', { from: 0, count: 64 }, { label: 'after unprotect' })
  .touch('file', 'write', { pages: { from: 0, count: 32 }, label: 'app writes' })
  .writeback('file', { label: 'sync' })
const steps = experiment.toSpec().steps as { label?: string }[]
const at = (label: string) => steps.findIndex((s) => s.label === label)
// runSync (this thread): the what-if's hook is a function defined here, which worker threads cannot load
const results = experiment.runSync()

// %% [markdown]
// Orange = writable. An orange, clean page-cache page is the bug: its next write lands without the
// filesystem ever hearing of it.

// %%
const maps: Record<string, any> = {}
for (const r of results.runs) maps[r.variant] = r.steps[at('after unprotect')].inspect!
await charts.pteMap(maps, { columns: 16 }).title('Shared file mapping after uffd un-protect with WP_ASYNC (first 64 pages)').show()

// %%
const rows = results.runs.map((r) => {
  const v = r.total.counters.violations
  const w = r.steps[at('app writes')].counters
  return {
    variant: r.variant,
    'writable after unprotect': r.steps[at('after unprotect')].inspect!.filter((p) => p.write).length,
    mkwriteBypassed: v.mkwriteBypassed ?? 0,
    writeWithoutMkwrite: v.writeWithoutMkwrite ?? 0,
    'page_mkwrite faults': (w.faults.byKind.wpSharedMkwrite ?? 0) + (w.faults.byKind.sharedMkwrite ?? 0),
    'blocks allocated by page_mkwrite': w.events.blockAlloc ?? 0,
    'pages written back': r.steps[at('sync')].counters.writebackPages,
  }
})
new Table(rows, { title: 'Invariant violations and ->page_mkwrite calls per variant (model)', caption: '64 pages inspected; 32 pages written' }).show()
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
// ## 4. The 5.19-6.2 bug: shmem with soft-dirty tracking
//
// 64 shmem pages, written, registered for uffd-wp; `clear_refs` 4 arms soft-dirty tracking (which
// makes `vma->vm_page_prot` read-only so the next write faults and sets soft-dirty); protect,
// un-protect, and write every page. A page written after un-protect must read soft-dirty.

// %%
const SD_KERNELS = ['linux-5.19', 'linux-6.2', 'linux-6.3', 'linux-6.18']
const sd = lab.experiment('shmem + soft-dirty + uffd-wp un-protect')
  .machine('skylake-sp', { cpus: 2 })
  .kernel(...SD_KERNELS)
  .mmap('shm', '256KiB', { kind: 'anon-shared' })
  .touch('shm', 'write')
  .uffd.register('shm', { wp: true })
  .clearRefs('soft-dirty')
  .uffd.writeprotect('shm')
  .uffd.unprotect('shm', { label: 'unprotect' })
  .inspect('shm', { from: 0, count: 64 }, { label: 'after unprotect' })
  .touch('shm', 'write', { label: 'app writes' })
  .inspect('shm', { from: 0, count: 64 }, { label: 'after writes' })
const sdSteps = sd.toSpec().steps as { label?: string }[]
const sdAt = (label: string) => sdSteps.findIndex((s) => s.label === label)
const sdRows = (await sd.run()).runs.map((r) => ({
  variant: r.variant,
  'writable after un-protect (of 64)': r.steps[sdAt('after unprotect')].inspect!.filter((p) => p.write).length,
  'write faults': r.steps[sdAt('app writes')].counters.faults.total,
  'written pages not soft-dirty (missed)': r.steps[sdAt('after writes')].inspect!.filter((p) => !p.softDirty).length,
}))
new Table(sdRows, { title: 'shmem with soft-dirty tracking: writes after uffd un-protect (model)' }).show()

// %% [markdown]
// ## Findings

// %%
const lines: string[] = []
const refused = REGISTER.filter((r) => r.answer !== 'registered').map((r) => `${r.variant}${r.features !== '(none)' ? ` (${r.features})` : ''}`)
const accepted = REGISTER.filter((r) => r.answer === 'registered').map((r) => `${r.variant} (${r.features})`)
lines.push(`- **uffd-wp on page cache:** UFFDIO_REGISTER(wp) of a shared ext4-like file is refused with EINVAL on ${refused.join(', ')}; accepted on ${accepted.join(', ')}. So no 5.19 or 6.2 un-protect ever reaches such a page (the first version of this page showed 5.19/6.2 mapping all 256 pages writable; those kernels never register them).`)
const mpBad = mpRows.filter((r) => r.writeWithoutMkwrite > 0 || r.mkwriteBypassed > 0 || r['of them clean'] > 0)
lines.push(`- **mprotect on a writenotify mapping:** on ${mpRows.map((r) => `${r.variant} ${r['writable after mprotect (of 64)']}`).join(', ')} of 64 pages are writable after mprotect RO->RW, ` +
  `${mpBad.length === 0 ? 'every one already dirty' : `clean ones on ${mpBad.map((r) => r.variant).join(', ')}`}; the ${64 - mpRows[0]['writable after mprotect (of 64)']} clean pages fault into \`->page_mkwrite\` on every version (${mpRows.map((r) => r['page_mkwrite faults (64 writes)']).join('/')} calls).`)
const by = (v: string) => rows.find((r) => r.variant === v)!
for (const v of VARIANTS) {
  const r = by(v)
  lines.push(`- **uffd-wp + WP_ASYNC (6.7+), ${v}**: ${r['writable after unprotect']} of 64 clean page-cache PTEs writable after un-protect; ${r.mkwriteBypassed} mkwriteBypassed, ${r.writeWithoutMkwrite} writeWithoutMkwrite; ` +
    `${r['page_mkwrite faults']} writes called \`->page_mkwrite\`, ${r['blocks allocated by page_mkwrite']} blocks allocated for the 32 written pages, ${r['pages written back']} pages written back.`)
}
const broken = VARIANTS.filter((v) => by(v).writeWithoutMkwrite > 0)
lines.push(`- Writes reached page cache the filesystem never saw (on a full or quota-limited filesystem writeback fails later, data lost) only on: ${broken.join(', ') || 'none'}, the notebook's what-if. Peter Xu's proposal stays sound because it dirties only after \`can_change_pte_writable()\` decided: Nadav's ordering.`)
const sdBy = (v: string) => sdRows.find((r) => r.variant === v)!
const sdBad = SD_KERNELS.filter((v) => sdBy(v)['written pages not soft-dirty (missed)'] > 0)
lines.push(`- **Where 5.19-6.2 really went wrong:** shmem with soft-dirty tracking. After un-protect ${SD_KERNELS.map((v) => `${v} leaves ${sdBy(v)['writable after un-protect (of 64)']}`).join(', ')} of 64 pages writable, and ` +
  `${sdBad.map((v) => `${v} misses ${sdBy(v)['written pages not soft-dirty (missed)']}`).join(', ') || 'no kernel misses any'} written pages in soft-dirty tracking (fixed in 6.3 by relying on \`vma->vm_page_prot\`).`)
const text = lines.join('\n')
const shown = await display({ 'text/markdown': text, 'text/plain': text })
