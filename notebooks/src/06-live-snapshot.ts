// %% [markdown]
// # 06 · A live snapshot of a 1 GiB heap with userfaultfd-wp
//
// **Question.** The seed thread's un-protect is the inner loop of a *live snapshot* (QEMU background
// snapshot, CRIU pre-dump): write-protect the whole heap, let the application run, copy chunks in a
// background thread and un-protect them; a write to a page not yet copied takes a uffd-wp fault, and
// the handler copies that page first. Under a write-heavy application, what is the total overhead
// per kernel variant, and how accurate is the dirty state the kernel is left with (pages marked dirty
// vs pages the application really wrote during the snapshot)?
//
// **Variants.** `linux-5.19` (un-protected pages stay read-only: every later write faults),
// `linux-6.18` (writable at once, D unchanged), `rfc-2022-uffd-hints` (un-protect with `write-likely`
// marks young+dirty), `proposal-dirty-on-mkwrite` (dirty whenever write is granted),
// `rfc-2022-relaxed-flush` (the RFC's other half: making a PTE writable flushes only locally).

// %%
import { lab, Chart, Table, display, getProfile } from 'ptlab'

// %% [markdown]
// ## Setup
//
// * A 1 GiB anonymous heap (262,144 pages), populated, swapped out and read back: resident, exclusive
//   and **clean**, so that a dirty page at the end means "written during the snapshot" — or marked
//   dirty by the kernel without a write.
// * `liveSnapshot` (src/workload/scenarios.ts) in 16 rounds of 16,384 pages: the application (CPU 0)
//   writes 16,384 random pages, the copier (CPU 1) reads a 64 MiB chunk and un-protects it with the
//   RFC's `write-likely` hint (ignored by variants without hints).
// * The uffd-wp handler copies a faulting page before un-protecting it (`uffd-register` with
//   `handler: { copy: true, hints: ['write-likely'] }`); that copy is priced as `pageCopy`. The
//   copier's own copies are not a spec op (its `touch read` is the read side only), so their cost is
//   added below from the profile's `pageCopy` price: one copy per page the handler did not copy
//   already, the same for every variant.

// %%
const PAGES = 262144
const snapshot = lab.workload().liveSnapshot('heap', { pages: PAGES, chunk: 16384, appWrites: 16384, hints: ['write-likely'] }).steps
  .map((s) => (s.op === 'uffd-register' ? { ...s, handler: { copy: true, hints: ['write-likely' as const] } } : { ...s }))
const VARIANTS = ['linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints', 'proposal-dirty-on-mkwrite', 'rfc-2022-relaxed-flush']
const experiment = lab.experiment('live snapshot of a 1 GiB heap')
  .machine('skylake-sp', { cpus: 2 })
  .kernels(...VARIANTS)
  .mmap('heap', '1GiB', { kind: 'anon-private' })
  .touch('heap', 'write')
  .madvise('heap', 'pageout')
  .touch('heap', 'read')
  .steps(snapshot)
const SETUP_STEPS = 4
console.log(`${experiment.toSpec().steps.length} steps; the snapshot starts at step ${SETUP_STEPS}:`)
console.log(JSON.stringify(experiment.toSpec().steps.slice(SETUP_STEPS, SETUP_STEPS + 5), null, 1))

// %%
const results = await experiment.run()
console.log(results.runs.map((r) => r.id).join('\n'))

// %% [markdown]
// ## Results

// %%
const pageCopy = getProfile('skylake-sp').costs.pageCopy.cycles
const rows = results.runs.map((r) => {
  const snap = r.steps.slice(SETUP_STEPS)
  const handlerFaults = snap.reduce((a, s) => a + (s.counters.faults.byKind.uffdWp ?? 0), 0)
  const last = snap[snap.length - 1]
  return { variant: r.variant, snap, handlerFaults, dirty: last.counters.dirtyPages, copierCopies: PAGES - handlerFaults }
})
// step roles inside the snapshot: [register, protect, then per round: app writes, copier reads, un-protect]
const role = (i: number) => (i < 2 ? 'register + protect' : ['application writes', 'copier reads', 'un-protect'][(i - 2) % 3])
const parts: { variant: string; part: string; cycles: number }[] = []
for (const r of rows) {
  const acc: Record<string, number> = {}
  r.snap.forEach((s, i) => (acc[role(i)] = (acc[role(i)] ?? 0) + s.cycles.total))
  acc['copier copies (priced from the profile)'] = r.copierCopies * pageCopy
  for (const [part, cycles] of Object.entries(acc)) parts.push({ variant: r.variant, part, cycles })
}
await Chart.from({
  data: { values: parts },
  mark: 'bar',
  encoding: {
    y: { field: 'variant', type: 'nominal', sort: VARIANTS, title: null },
    x: { field: 'cycles', type: 'quantitative', title: 'cycles during the snapshot', axis: { format: '.2s' } },
    color: { field: 'part', type: 'nominal' },
    tooltip: [{ field: 'variant' }, { field: 'part' }, { field: 'cycles', format: '.3s' }],
  },
  width: 420,
}, 'snapshot cycles by component per variant').title('Live snapshot of 1 GiB under random writes (skylake-sp)').show()

// %%
const written = rows.find((r) => r.variant === 'linux-6.18')!.dirty
const acc = rows.map((r) => {
  const total = parts.filter((p) => p.variant === r.variant).reduce((a, p) => a + p.cycles, 0)
  const faults = r.snap.reduce((a, s) => a + s.counters.faults.total, 0)
  return {
    variant: r.variant,
    'snapshot cycles (G)': (total / 1e9).toFixed(3),
    'faults': faults,
    'uffd-wp faults (handler copies)': r.handlerFaults,
    'wp faults after un-protect': r.snap.reduce((a, s) => a + (s.counters.faults.byKind.wpReuse ?? 0), 0),
    'TLB flushes': r.snap.reduce((a, s) => a + s.counters.tlbFlushes, 0),
    'IPIs': r.snap.reduce((a, s) => a + s.counters.ipis, 0),
    'dirty pages at the end': r.dirty,
    'dirty-tracking precision': (written / r.dirty).toFixed(3),
  }
})
new Table(acc, { title: 'Overhead and dirty-tracking accuracy', caption: `pages the application wrote during the snapshot: ${written} (the dirty count of linux-6.18, whose un-protect never sets D; linux-5.19 agrees: ${rows.find((r) => r.variant === 'linux-5.19')!.dirty})` }).show()

// %% [markdown]
// ## This machine: measured next to the model
//
// A 64 MiB version of the snapshot on this machine's own kernel: populated, paged out and read back,
// then 4 chunks of 4096 pages with 2048 random application writes per round. The native replayer
// runs every thread's steps in one thread and its uffd-wp handler only un-protects (no copy), so
// this version runs on one CPU without the handler's copy, in the model too; the shootdowns of the
// 2-CPU setup above have no native counterpart here. `compareWithHost`: median CPU time of 3 fresh
// replays (pinned, other CPUs busy) next to the model of this kernel on the calibrated `host`
// profile (without one, the closest shipped profile). Swap-out and swap-in are priced from the
// profile's storage, which need not be this host's swap device (docs/fidelity.md).

// %%
import { compareWithHost as hostCompare, comparisonChart as hostChart, formatComparison as hostFormat } from 'ptlab'
const hostSnap = lab.workload().liveSnapshot('heap', { pages: 16384, chunk: 4096, appWrites: 2048 }).steps
  .map((s) => { const c = { ...s } as Record<string, unknown>; delete c.cpu; return c as typeof s })
const hostExperiment = lab.experiment('live snapshot of 64 MiB, one CPU')
  .machine('host', { cpus: 1 })
  .kernel('linux-6.18') // compareWithHost models the variant of this machine's kernel
  .mmap('heap', '64MiB', { kind: 'anon-private' })
  .touch('heap', 'write', { label: 'populate' })
  .madvise('heap', 'pageout', { label: 'pageout' })
  .touch('heap', 'read', { label: 'read back' })
  .steps(hostSnap)
try {
  const c = hostCompare(hostExperiment.toSpec(), { reps: 3 })
  console.log(hostFormat(c))
  const snapRows = c.rows.filter((r) => r.step >= 4)
  const sum = (f: (r: (typeof snapRows)[number]) => number) => snapRows.reduce((a, r) => a + f(r), 0)
  if (snapRows.length) console.log(`the snapshot (steps 4-${snapRows[snapRows.length - 1].step}): measured ${Math.round(sum((r) => r.native)).toLocaleString('en-US')}, model ${Math.round(sum((r) => r.model)).toLocaleString('en-US')} TSC cycles (${((sum((r) => r.model) / sum((r) => r.native) - 1) * 100).toFixed(1)} %)`)
  await hostChart(c, 'live snapshot of 64 MiB on this machine: measured vs model').show()
} catch (e) {
  console.log(`not measured on this machine: ${(e as Error).message}`)
}

// %% [markdown]
// ## Findings

// %%
const by = (v: string) => acc.find((a) => a.variant === v)!
const lines = VARIANTS.map((v) => `- **${v}**: ${by(v)['snapshot cycles (G)']} G cycles for the snapshot, ${by(v).faults} faults; ` +
  `${by(v)['dirty pages at the end']} dirty pages for ${written} written (precision ${by(v)['dirty-tracking precision']}).`)
const g = (v: string) => Number(by(v)['snapshot cycles (G)'])
const cmp = (a: string, b: string) => {
  const d = (g(a) / g(b) - 1) * 100
  return `${a} costs ${Math.abs(d).toFixed(1)} % ${d < 0 ? 'less' : 'more'} than ${b}`
}
lines.push(`- ${cmp('linux-6.18', 'linux-5.19')}: each uffd-wp fault's un-protect now changes RW, so it flushes the TLB and, with the copier's CPU in the mm, sends an IPI ` +
  `(${by('linux-6.18').IPIs} IPIs vs ${by('linux-5.19').IPIs}) — the shootdown cost Nadav's cover letter named; 5.19 instead takes a cheaper write-protect fault on the retried write.`)
lines.push(`- ${cmp('rfc-2022-uffd-hints', 'linux-6.18')} (no D-bit updates after un-protect); ${cmp('rfc-2022-relaxed-flush', 'linux-6.18')} (${by('rfc-2022-relaxed-flush').IPIs} IPIs).`)
lines.push(`- The hint and Peter Xu's proposal leave every un-protected page dirty: ${by('rfc-2022-uffd-hints')['dirty pages at the end'] - written} pages nobody wrote ` +
  `(precision ${by('rfc-2022-uffd-hints')['dirty-tracking precision']}), which reclaim must now write to swap instead of dropping their clean swap-cache copies.`)
const text = lines.join('\n')
const shown = await display({ 'text/markdown': text, 'text/plain': text })
