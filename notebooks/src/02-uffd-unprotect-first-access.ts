// %% [markdown]
// # 02 · The first access after a uffd un-protect
//
// **Question.** Nadav Amit's RFC 01 (`20220718120212.3180-2-namit@vmware.com`, July 2022) wanted
// `UFFDIO_WRITEPROTECT` un-protect, given an access hint, to mark the PTE young — and dirty once it is
// writable — because otherwise the first access to an old or clean PTE "might induce on x86 over 500
// cycles". Nobody measured it in the thread. What does the first access really cost, per kernel
// variant and per CPU profile, as a function of how many un-protected pages are then written or
// only read? Where is the break-even against the cost the hint adds (pages dirtied that nobody
// writes, which reclaim must then write to swap)? And is ">500 cycles" consistent with the sources
// behind the CPU profiles, and with the calibrated host when there is one?
//
// **Kernel variants.**
// * `linux-5.19`: un-protect only clears the uffd-wp bit; the PTE stays read-only and the first
//   write takes a write-protect fault (`do_wp_page` → `wp_page_reuse` sets A+D+RW in software).
// * `linux-6.18`: since 6.3 un-protect uses `MM_CP_TRY_CHANGE_WRITABLE`: exclusive anon PTEs become
//   writable at once, **A and D unchanged** (`pte_modify` keeps them), so the hardware sets them on
//   first access (Intel: a microcode assist; AMD: a page-walker re-walk).
// * `rfc-2022-uffd-hints`: RFC 01+02 on top of 6.18: with `access-likely`/`write-likely`, `pte_mkyoung`,
//   and `pte_mkdirty` once the PTE is writable.
//
// **How a PTE really ends up old and/or clean before it is protected** (each is a setup below):
// | setup | how | PTE after un-protect on 6.18 |
// |---|---|---|
// | `written` | the page was written just before protection | young + dirty: nothing to pay |
// | `reclaim-aged` | reclaim scanned it (`folio_referenced` clears A, no TLB flush on x86) | old, dirty |
// | `swapin-read` | swapped out, then read back (`do_swap_page` maps an exclusive page RW but clean from 6.11, read-only before: c18160dba5ff) | young, clean |
// | `madv-free` | `MADV_FREE` (`madvise_free_pte_range` clears A and D, keeps RW) | old, clean |

// %%
import { lab, charts, Chart, Table, display, getProfile, listProfiles, type ResultSet } from 'ptlab'

// %% [markdown]
// ## Setup
//
// An 8 MiB anonymous heap (2048 pages, more than any profile's STLB reach) is written once, brought into one of the
// four states, registered for uffd-wp, protected, and un-protected with the RFC's hints (older
// variants ignore them). Then every page is accessed once, in order: a write with probability `wr`,
// else a read (`touch` with `access: 'rw'`; the same access stream for every variant and profile).
// Last comes memory pressure: `reclaim('all')` three times (the first pass gives referenced pages
// their second chance, clearing A; the second evicts them; a `MADV_FREE` page dirtied since is made
// swap-backed again and only the third pass swaps it out), which writes dirty pages to swap and drops
// clean ones for free. The CPU profiles are every shipped one, plus `host` when `ptlab calibrate` has written it.

// %%
const HEAP = '8MiB'
const PAGES = 2048
const VARIANTS = ['linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints']
const CPUS = listProfiles().filter((p) => ['haswell', 'skylake-sp', 'icelake-sp', 'sapphire-rapids', 'zen3', 'zen4', 'host'].includes(p))
const WRITE_RATIOS = [0, 0.25, 0.5, 0.75, 1]

type Builder = ReturnType<typeof lab.experiment>
const SETUPS: Record<string, (e: Builder) => Builder> = {
  'written': (e) => e,
  // 16 clean page-cache pages are reclaimed first; to free a 17th, reclaim scans the anon LRU,
  // finds every heap page referenced, clears A (second chance) and activates it instead.
  'reclaim-aged': (e) => e.mmap('cache', '64KiB', { kind: 'file-private' }).touch('cache', 'read').reclaim(17),
  'swapin-read': (e) => e.madvise('heap', 'pageout').touch('heap', 'read'),
  'madv-free': (e) => e.madvise('heap', 'free'),
}

function experiment(setup: string): Builder {
  let e = lab.experiment(`first access after uffd un-protect: ${setup}`)
    .machine('skylake-sp', { cpus: 2 })
    .kernels(...VARIANTS)
    .sweep({ cpu: CPUS, wr: WRITE_RATIOS })
    .mmap('heap', HEAP, { kind: 'anon-private' })
    .touch('heap', 'write')
  e = SETUPS[setup](e)
  return e.uffd.register('heap', { wp: true })
    .uffd.writeprotect('heap')
    .uffd.unprotect('heap', { hints: ['access-likely', 'write-likely'], label: 'unprotect' })
    .inspect('heap', { from: 0, count: 64 }, { label: 'after unprotect' })
    .touch('heap', { access: 'rw', writeRatio: '$wr', count: PAGES, label: 'first access' })
    .reclaim('all', { label: 'memory pressure 1' })
    .reclaim('all', { label: 'memory pressure 2' })
    .reclaim('all', { label: 'memory pressure 3' })
}
console.log(JSON.stringify(experiment('swapin-read').toSpec(), null, 1))

// %%
const results: Record<string, ResultSet> = {}
for (const setup of Object.keys(SETUPS)) results[setup] = await experiment(setup).run()
console.log(Object.entries(results).map(([s, r]) => `${s}: ${r.length} runs`).join(', '))

// %% [markdown]
// ## The PTE each variant leaves behind
//
// The state of the first 64 pages right after un-protect, on the setup where it matters most
// (`madv-free`). Orange = writable; an orange cell without `D` is a page whose first write costs
// the CPU a dirty-bit update; without `A`, the first access costs an accessed-bit update too.

// %%
const idx = (setup: string, label: string) => {
  const spec = experiment(setup).toSpec()
  return spec.steps.findIndex((s) => (s as { label?: string }).label === label)
}
const free = results['madv-free'].where({ cpu: 'skylake-sp', params: { wr: 0.5 } })
const maps: Record<string, any> = {}
for (const r of free.runs) maps[r.variant] = r.steps[idx('madv-free', 'after unprotect')].inspect!
await charts.pteMap(maps, { columns: 16 }).title('madv-free heap after un-protect (first 64 pages)').show()

// %% [markdown]
// ## Results: cycles of the first access pass, per un-protected page
//
// Each point is the cycles of the `first access` step divided by the 2048 pages, on `skylake-sp`,
// against the fraction of pages written (the rest are read once).

// %%
interface Row { setup: string; variant: string; cpu: string; wr: number; access: number; reclaim: number; total: number; wpFaults: number; dSets: number; aSets: number; swapOut: number }
const rows: Row[] = []
for (const [setup, rs] of Object.entries(results)) {
  const ia = idx(setup, 'first access')
  const ir = [1, 2, 3].map((n) => idx(setup, `memory pressure ${n}`))
  for (const r of rs.runs) {
    const a = r.steps[ia]
    const reclaim = ir.reduce((sum, i) => sum + r.steps[i].cycles.total, 0)
    rows.push({
      setup, variant: r.variant, cpu: r.cpu, wr: Number(r.params.wr),
      access: a.cycles.total / PAGES, reclaim: reclaim / PAGES, total: (a.cycles.total + reclaim) / PAGES,
      wpFaults: a.counters.faults.byKind.wpReuse ?? 0, dSets: a.counters.dBitSets, aSets: a.counters.aBitSets,
      swapOut: ir.reduce((sum, i) => sum + r.steps[i].counters.swapOutPages, 0),
    })
  }
}
const sky = rows.filter((r) => r.cpu === 'skylake-sp')
await Chart.from({
  data: { values: sky },
  facet: { field: 'setup', type: 'nominal', sort: Object.keys(SETUPS), title: null },
  columns: 4,
  spec: {
    width: 170, height: 160,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'wr', type: 'quantitative', title: 'fraction of pages written' },
      y: { field: 'access', type: 'quantitative', title: 'cycles / page (first access)' },
      color: { field: 'variant', type: 'nominal', sort: VARIANTS },
      tooltip: [{ field: 'variant' }, { field: 'wr' }, { field: 'access', format: '.0f' }, { field: 'wpFaults' }, { field: 'dSets' }, { field: 'aSets' }],
    },
  },
}, 'first-access cycles per page vs write fraction, per setup and variant (skylake-sp)').title('First access after uffd un-protect (skylake-sp)').show()

// %% [markdown]
// ## Per CPU profile: what one written page costs
//
// All pages written (`wr = 1`), setups whose PTE is clean after un-protect. `linux-5.19` pays a
// write-protect fault per page, `linux-6.18` a hardware dirty-bit update (`dBitSet`, or `adBitSet`
// when A is clear too), the hinted RFC nothing.

// %%
const perCpu = rows.filter((r) => r.wr === 1 && (r.setup === 'swapin-read' || r.setup === 'madv-free'))
await Chart.from({
  data: { values: perCpu },
  facet: { field: 'setup', type: 'nominal', title: null },
  spec: {
    width: 260, height: 180,
    mark: 'bar',
    encoding: {
      x: { field: 'cpu', type: 'nominal', sort: CPUS, title: null },
      xOffset: { field: 'variant', sort: VARIANTS },
      y: { field: 'access', type: 'quantitative', title: 'cycles / written page' },
      color: { field: 'variant', type: 'nominal', sort: VARIANTS },
      tooltip: [{ field: 'cpu' }, { field: 'variant' }, { field: 'access', format: '.0f' }],
    },
  },
}, 'cycles per written page by CPU profile and variant').title('First write after un-protect, every page written').show()

// %% [markdown]
// ## Break-even: the hint's saving against the writeback it causes
//
// The hint saves the first-access cost on pages that are then used, but dirties every page it
// makes writable. Under memory pressure a clean page (a swap-cache copy, a `MADV_FREE` page) is
// dropped for free, while a dirty one must be written to swap. The chart adds the three `reclaim('all')`
// steps to the first-access pass; the break-even is the write fraction where `rfc-2022-uffd-hints`
// stops costing more than `linux-6.18` (linear interpolation between the swept points).

// %%
await Chart.from({
  data: { values: sky.filter((r) => r.variant !== 'linux-5.19' && (r.setup === 'swapin-read' || r.setup === 'madv-free')) },
  facet: { field: 'setup', type: 'nominal', title: null },
  spec: {
    width: 260, height: 180,
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'wr', type: 'quantitative', title: 'fraction of pages written' },
      y: { field: 'total', type: 'quantitative', title: 'cycles / page (access + reclaim)' },
      color: { field: 'variant', type: 'nominal' },
      tooltip: [{ field: 'variant' }, { field: 'wr' }, { field: 'total', format: '.0f' }, { field: 'swapOut' }],
    },
  },
}, 'access + reclaim cycles per page vs write fraction (skylake-sp)').title('With memory pressure after the access pass (skylake-sp)').show()

// %%
/** The write fraction where f(wr) = rfc - 6.18 crosses zero; 0 if the hint never costs more, null if it always does. */
function breakEven(setup: string, cpu: string): number | null {
  const diff = WRITE_RATIOS.map((wr) => {
    const pick = (v: string) => rows.find((r) => r.setup === setup && r.cpu === cpu && r.wr === wr && r.variant === v)!.total
    return pick('rfc-2022-uffd-hints') - pick('linux-6.18')
  })
  if (diff[0] <= 0) return 0
  for (let i = 1; i < diff.length; i++) {
    if (diff[i] <= 0) return WRITE_RATIOS[i - 1] + (WRITE_RATIOS[i] - WRITE_RATIOS[i - 1]) * diff[i - 1] / (diff[i - 1] - diff[i])
  }
  return null
}
const beRows = CPUS.map((cpu) => {
  const o: Record<string, string> = { cpu }
  for (const setup of Object.keys(SETUPS)) {
    const b = breakEven(setup, cpu)
    o[setup] = b === null ? 'never' : b === 0 ? '0 (hint never costs)' : b.toFixed(2)
  }
  return o
})
new Table(beRows, { title: 'Break-even write fraction: above it, hinting pays off even if every page is then reclaimed', caption: 'computed from the runs above' }).show()

// %% [markdown]
// ## Is ">500 cycles" consistent with the profiles' sources?
//
// The prices the model uses for the hardware A/D updates, with the kind of source behind each:
// `published` (a number measured on that core family), `measured` (the calibrated host) or
// `estimate` (carried over, or a claim).

// %%
const adRows = CPUS.map((name) => {
  const p = getProfile(name)
  const short = (s: string) => s.replace(/^(.{0,90}).*$/, '$1…')
  return {
    cpu: name,
    'A set': p.costs.aBitSet.cycles, 'D set': p.costs.dBitSet.cycles, 'A+D set': p.costs.adBitSet.cycles,
    'D kind': p.costs.dBitSet.kind, 'D source': short(p.costs.dBitSet.source),
  }
})
new Table(adRows, { title: 'A/D update prices per CPU profile (cycles)' }).show()

// %% [markdown]
// ## This machine: measured next to the model
//
// Each setup once more on this machine's own kernel, every page written (`wr` 1): `compareWithHost`
// times the steps natively (median CPU time of 3 fresh replays, pinned to one CPU, the other CPUs
// kept busy; docs/fidelity.md) and models them under the variant of this kernel on the calibrated
// `host` profile (without one, the closest shipped profile; the line above the chart says which).
// Cycles are TSC ticks per page. Steps this host cannot run (global reclaim; pageout without a swap
// device; userfaultfd without permission) are named, not measured; upstream Linux has no access
// hints, so the native un-protect ignores them.

// %%
import { compareWithHost, comparisonChart, formatComparison, type HostComparison } from 'ptlab'
const hostRows: Record<string, string | number>[] = []
let hostSeed: HostComparison | undefined
for (const setup of Object.keys(SETUPS)) {
  let c: HostComparison
  try {
    c = compareWithHost(experiment(setup).sweep({ wr: [1] }).toSpec(), { reps: 3 })
  } catch (e) {
    hostRows.push({ setup, note: `not measured on this machine: ${(e as Error).message}` })
    continue
  }
  if (setup === 'madv-free') hostSeed = c
  const at = (label: string) => c.rows.find((r) => r.label === label)
  const perPage = (v: number | undefined) => (v === undefined ? '-' : Math.round(v / PAGES))
  const un = at('unprotect'), fa = at('first access')
  hostRows.push({
    setup,
    'un-protect, measured': perPage(un?.native), 'un-protect, model': perPage(un?.model),
    'first write, measured': perPage(fa?.native), 'first write, model': perPage(fa?.model),
    'model vs measured (first write)': fa?.errorPct === undefined ? '-' : `${fa.errorPct >= 0 ? '+' : ''}${fa.errorPct.toFixed(0)} %`,
    'not run here': c.refused.length ? `from step ${c.refused[0].step} (${c.refused[0].op})` : '',
  })
}
new Table(hostRows, { title: 'This machine: TSC cycles per page, measured and modelled' }).show()
if (hostSeed) {
  console.log(formatComparison(hostSeed))
  await comparisonChart(hostSeed, 'madv-free setup on this machine: measured vs model').show()
}

// %% [markdown]
// ## Findings
//
// Every number below is computed from the results and profiles above.

// %%
const at = (setup: string, variant: string, cpu: string, wr: number) => rows.find((r) => r.setup === setup && r.variant === variant && r.cpu === cpu && r.wr === wr)!
const fmt = (x: number) => x.toFixed(0)
const lines: string[] = []
for (const setup of Object.keys(SETUPS)) {
  const a = at(setup, 'linux-5.19', 'skylake-sp', 1), b = at(setup, 'linux-6.18', 'skylake-sp', 1), c = at(setup, 'rfc-2022-uffd-hints', 'skylake-sp', 1)
  lines.push(`- **${setup}** (skylake-sp, every page written): linux-5.19 ${fmt(a.access)} cycles/page (${a.wpFaults} wp faults), ` +
    `linux-6.18 ${fmt(b.access)} (${b.dSets} D-bit updates, ${b.aSets} A-bit updates), rfc-2022-uffd-hints ${fmt(c.access)} (${c.dSets} D-bit updates).`)
}
const claimCpus = CPUS.filter((n) => /3180-2-namit/.test(getProfile(n).costs.dBitSet.source))
const measured = CPUS.filter((n) => !claimCpus.includes(n))
lines.push(`- The D-bit price of ${claimCpus.join(', ')} *is* the RFC's ">500 cycles" claim (source: the RFC 01 commit message), so the model cannot confirm it there: ` +
  `it only propagates it. The A-bit price on those profiles (${getProfile('skylake-sp').costs.aBitSet.cycles} cycles) comes from Peter Xu's migration measurement and supports the magnitude for A.`)
for (const n of measured) {
  const p = getProfile(n)
  lines.push(`- ${n} (${p.costs.dBitSet.kind}): a D update costs ${p.costs.dBitSet.cycles} cycles, ${p.costs.dBitSet.cycles > 500 ? 'above' : 'below'} 500; an A update ${p.costs.aBitSet.cycles}.`)
}
for (const n of CPUS) {
  const worse = Object.keys(SETUPS).filter((s) => at(s, 'linux-6.18', n, 1).access >= at(s, 'linux-5.19', n, 1).access)
  if (worse.length) lines.push(`- On ${n}, linux-6.18's fault-free un-protect is no cheaper than linux-5.19's write fault in: ${worse.map((s) => `${s} (${fmt(at(s, 'linux-6.18', n, 1).access)} vs ${fmt(at(s, 'linux-5.19', n, 1).access)} cycles/page)`).join(', ')}: the hardware A update costs as much as the fault.`)
}
if (!CPUS.includes('host')) lines.push('- No calibrated `host` profile on this machine (run `ptlab calibrate` and re-run this notebook to add it).')
const sw = breakEven('swapin-read', 'skylake-sp'), mf = breakEven('madv-free', 'skylake-sp')
lines.push(`- Break-even on skylake-sp when every page is later reclaimed: the hint pays off only if more than ${sw === null ? 'all' : (100 * sw).toFixed(0) + ' %'} (swapin-read) / ` +
  `${mf === null ? 'all' : (100 * mf).toFixed(0) + ' %'} (madv-free) of the hinted pages are written; for pages already dirty (written, reclaim-aged) it never costs anything.`)
const text = lines.join('\n')
const shown = await display({ 'text/markdown': text, 'text/plain': text })
