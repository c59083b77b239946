// %% [markdown]
// # 07 · Real programs: write sets and the live-snapshot question
//
// **Question.** Notebooks 02–06 run synthetic streams. A kernel developer will ask "on what
// workload?" first. This notebook takes the committed traces of real Debian programs
// (`traces/*.ptt`: `traces/README.md` has the exact commands, versions and dates; the programs ran
// under valgrind's lackey via `ptlab trace capture`) and asks two things:
//
// 1. How do real programs write? The write set over time, the re-write fraction, and how clustered
//    the written pages are.
// 2. The seed thread's live snapshot on each program. Every page of the program is write-protected
//    and a copier un-protects it chunk by chunk while the program runs. Which fraction of the
//    written pages does the program write *before* the copier reaches them (each one a uffd-wp
//    fault)? Which fraction of the pages the copier un-protects is written *afterwards* (only those
//    benefit from `write-likely` marking them dirty)? What are the cycles per kernel variant, and
//    how precise is the dirty state left behind?
//
// Every number in the Findings is computed in this notebook from the traces and the model runs.

// %%
import * as path from 'path'
import { lab, Chart, Table, display, PageTraceFile, pageTraceStats } from 'ptlab'

const PROGRAMS = ['gzip', 'xz', 'sqlite3', 'python3', 'cc1']
const file = (p: string) => path.resolve('..', 'traces', `${p}.ptt`)
const stats = PROGRAMS.map((p) => pageTraceStats(file(p), `${p}.ptt`))
const cmd = (p: string) => ((stats[PROGRAMS.indexOf(p)].capture?.command as string[]) ?? []).map((a) => path.basename(a)).join(' ')
new Table(stats.map((s, i) => ({
  program: PROGRAMS[i],
  command: cmd(PROGRAMS[i]),
  'raw accesses': s.accesses,
  'page records': s.records,
  'pages touched': s.touched,
  'pages written': s.written,
  'written / touched': s.writtenFraction.toFixed(3),
  're-written / written': s.rewriteFraction.toFixed(3),
})), { title: 'The traces (ptlab trace stats)', caption: 'A record is a run of accesses by one thread to one page (docs/traces.md, Folding). Re-written: written again after the program touched another page.' }).show()

// %% [markdown]
// ## Write sets over time
//
// Each trace is cut into 40 equal intervals of records. Per interval we count the distinct pages
// written, and how many of them the program writes there for the first time.

// %%
const INTERVALS = 40
interface Shape { program: string; series: { interval: number; written: number; firstWrites: number }[]; clusterPerWindow: number; neighbourWritten: number }
function shapeOf(p: string): Shape {
  const t = PageTraceFile.open(file(p))
  const total = t.trailer.records
  const per = Math.ceil(total / INTERVALS)
  const r = t.records()
  const N = 8192
  const vpn = new Float64Array(N), wr = new Uint8Array(N), th = new Uint16Array(N)
  const everWritten = new Set<number>()
  let cur = new Set<number>(), first = 0, done = 0
  const series: Shape['series'] = []
  for (let n = r.read(vpn, wr, th); n > 0; n = r.read(vpn, wr, th)) {
    for (let i = 0; i < n; i++, done++) {
      if (wr[i]) {
        cur.add(vpn[i])
        if (!everWritten.has(vpn[i])) { everWritten.add(vpn[i]); first++ }
      }
      if ((done + 1) % per === 0 || done + 1 === total) {
        series.push({ interval: series.length, written: cur.size, firstWrites: first })
        cur = new Set(); first = 0
      }
    }
  }
  // clustering: written pages per 64 KiB window that holds a write, and the share of written pages
  // whose next page is written too
  const windows = new Set([...everWritten].map((v) => Math.floor(v / 16)))
  const neighbour = [...everWritten].filter((v) => everWritten.has(v + 1)).length
  return { program: p, series, clusterPerWindow: everWritten.size / windows.size, neighbourWritten: neighbour / everWritten.size }
}
const shapes = PROGRAMS.map(shapeOf)
await Chart.from({
  data: { values: shapes.flatMap((s) => s.series.map((x) => ({ program: s.program, 'share of the run (%)': (100 * (x.interval + 0.5)) / INTERVALS, 'pages written': x.written, 'first writes': x.firstWrites }))) },
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: 'share of the run (%)', type: 'quantitative' },
    y: { field: 'pages written', type: 'quantitative', scale: { type: 'symlog' } },
    color: { field: 'program', type: 'nominal', sort: PROGRAMS },
    tooltip: [{ field: 'program' }, { field: 'share of the run (%)' }, { field: 'pages written' }, { field: 'first writes' }],
  },
  width: 460,
}, 'distinct pages written per interval of the run, per program').title('Write set per 1/40 of each run').show()

new Table(shapes.map((s, i) => ({
  program: s.program,
  'written pages': stats[i].written,
  'written pages per 64 KiB window written': s.clusterPerWindow.toFixed(2),
  'written pages whose next page is written': s.neighbourWritten.toFixed(3),
  're-written / written': stats[i].rewriteFraction.toFixed(3),
})), { title: 'Clustering of written pages', caption: 'A 64 KiB window holds 16 pages; 16 would be perfectly clustered writes.' }).show()

// %% [markdown]
// ## The live snapshot on each program
//
// Setup per program, as in notebook 06 but with the program as the application:
// * all of the program's regions are packed into one anonymous region `mem` (docs/traces.md,
//   Replaying). It is populated, swapped out and read back, so it starts resident, exclusive and
//   clean. A page that is dirty at the end was written during the snapshot, or was marked dirty by
//   the kernel without a write.
// * `liveSnapshot` in 16 rounds: a slice of the program's records (CPU 0, at most 1,000,000 records
//   in all), then the copier reads the next chunk (CPU 1) and un-protects it with `write-likely`.
//   The uffd-wp handler copies a faulting page before it un-protects it.
// * Variants: `linux-5.19`, `linux-6.18`, `rfc-2022-uffd-hints` and `proposal-dirty-on-mkwrite`.
//   Cycles come from the `skylake-sp` profile (published numbers, docs/cost-model.md) and are model
//   figures, not measurements.

// %%
const VARIANTS = ['linux-5.19', 'linux-6.18', 'rfc-2022-uffd-hints', 'proposal-dirty-on-mkwrite']
const MAX_RECORDS = 1_000_000
const SETUP_STEPS = 4
interface Snap { program: string; variant: string; pages: number; cycles: number; handlerFaults: number; dirty: number; faults: number; dBitSets: number }
const snaps: Snap[] = []
for (const p of PROGRAMS) {
  const t = PageTraceFile.open(file(p))
  const pages = t.trailer.regions.reduce((a, r) => a + r.pages, 0)
  const records = Math.min(t.trailer.records, MAX_RECORDS)
  const chunk = Math.ceil(pages / 16)
  const steps = lab.workload().liveSnapshot('mem', { pages, chunk, trace: { file: file(p), records }, hints: ['write-likely'] }).steps
    .map((s) => (s.op === 'uffd-register' ? { ...s, handler: { copy: true, hints: ['write-likely' as const] } } : { ...s }))
  const results = await lab.experiment(`live snapshot of ${p}`)
    .machine('skylake-sp', { cpus: 2 })
    .kernel(...VARIANTS)
    .mmap('mem', pages * 4096)
    .touch('mem', 'write')
    .madvise('mem', 'pageout')
    .touch('mem', 'read')
    .steps(steps)
    .run()
  for (const r of results.runs) {
    const snap = r.steps.slice(SETUP_STEPS)
    snaps.push({
      program: p,
      variant: r.variant,
      pages,
      cycles: snap.reduce((a, s) => a + s.cycles.total, 0),
      handlerFaults: snap.reduce((a, s) => a + (s.counters.faults.byKind.uffdWp ?? 0), 0),
      faults: snap.reduce((a, s) => a + s.counters.faults.total, 0),
      dBitSets: snap.reduce((a, s) => a + s.counters.dBitSets, 0),
      dirty: snap[snap.length - 1].counters.dirtyPages,
    })
  }
}
const snapOf = (p: string, v: string) => snaps.find((s) => s.program === p && s.variant === v)!
// pages the program wrote during the snapshot: the dirty count of linux-6.18, whose un-protect never sets D
const writtenDuring = (p: string) => snapOf(p, 'linux-6.18').dirty

await Chart.from({
  data: { values: snaps.map((s) => ({ program: s.program, variant: s.variant, 'cycles (relative to linux-6.18)': s.cycles / snapOf(s.program, 'linux-6.18').cycles })) },
  mark: 'bar',
  encoding: {
    y: { field: 'variant', type: 'nominal', sort: VARIANTS, title: null },
    x: { field: 'cycles (relative to linux-6.18)', type: 'quantitative' },
    row: { field: 'program', type: 'nominal', sort: PROGRAMS },
    color: { field: 'variant', type: 'nominal', sort: VARIANTS, legend: null },
    tooltip: [{ field: 'program' }, { field: 'variant' }, { field: 'cycles (relative to linux-6.18)', format: '.3f' }],
  },
  width: 360,
}, 'snapshot cycles per variant relative to linux-6.18, per program').title('Live snapshot cycles per variant (model, skylake-sp)').show()

const snapRows = PROGRAMS.map((p) => {
  const h = snapOf(p, 'linux-6.18')
  const written = writtenDuring(p)
  const copierUnprotected = h.pages - h.handlerFaults
  const writtenAfter = written - h.handlerFaults
  return {
    program: p,
    'pages protected': h.pages,
    'written during the snapshot': written,
    'written before the copier came (uffd-wp faults)': h.handlerFaults,
    'share of written pages': (h.handlerFaults / written).toFixed(3),
    'un-protected by the copier': copierUnprotected,
    'of those, written afterwards': writtenAfter,
    'share': (writtenAfter / copierUnprotected).toFixed(4),
  }
})
new Table(snapRows, { title: 'Who reaches a page first: the program or the copier', caption: 'linux-6.18 runs; the uffd-wp fault count is the same on every variant (the program and copier order do not depend on the kernel).' }).show()

const precisionRows = snaps.map((s) => ({
  program: s.program,
  variant: s.variant,
  'snapshot cycles (M)': (s.cycles / 1e6).toFixed(2),
  faults: s.faults,
  'D-bit sets by the walker': s.dBitSets,
  'dirty pages at the end': s.dirty,
  'dirty-tracking precision': (writtenDuring(s.program) / s.dirty).toFixed(3),
}))
new Table(precisionRows, { title: 'Cycles and dirty-tracking precision per program and variant', caption: 'precision = pages written during the snapshot / pages dirty at the end' }).show()

// %% [markdown]
// ## Findings

// %%
const f = (x: number, d = 1) => x.toFixed(d)
const lines: string[] = []
for (const [i, p] of PROGRAMS.entries()) {
  const s = stats[i], sh = shapes[i], row = snapRows[i]
  const rel = (v: string) => snapOf(p, v).cycles / snapOf(p, 'linux-6.18').cycles
  const prec = (v: string) => writtenDuring(p) / snapOf(p, v).dirty
  lines.push(`- **${p}** (\`${cmd(p)}\`): ${s.touched} pages touched, ${f(100 * s.writtenFraction)} % of them written, ` +
    `${f(100 * s.rewriteFraction)} % of the written pages re-written; ${f(sh.clusterPerWindow, 2)} written pages per 64 KiB window written. ` +
    `Live snapshot: ${f(100 * Number(row['share of written pages']))} % of the ${row['written during the snapshot']} pages written were written before the copier reached them; ` +
    `${f(100 * Number(row.share), 2)} % of the ${row['un-protected by the copier']} pages the copier un-protected were written afterwards. ` +
    `Cycles vs linux-6.18: linux-5.19 ×${f(rel('linux-5.19'), 3)}, rfc-2022-uffd-hints ×${f(rel('rfc-2022-uffd-hints'), 3)}, proposal-dirty-on-mkwrite ×${f(rel('proposal-dirty-on-mkwrite'), 3)}; ` +
    `dirty-tracking precision ${f(prec('linux-6.18'), 3)} (6.18) vs ${f(prec('rfc-2022-uffd-hints'), 3)} (hints).`)
}
const worstHints = PROGRAMS.map((p) => writtenDuring(p) / snapOf(p, 'rfc-2022-uffd-hints').dirty)
const lo = Math.min(...worstHints), hi = Math.max(...worstHints)
lines.push(`- Across the ${PROGRAMS.length} programs, \`write-likely\` on the copier's un-protect leaves a dirty-tracking precision of ${f(lo, 3)}–${f(hi, 3)}: ` +
  (hi < 0.5
    ? 'most pages it marks dirty are pages the program never wrote during the snapshot'
    : 'at least half the pages it marks dirty were written during the snapshot in every program') +
  ' (model, skylake-sp profile; traces from valgrind lackey, traces/README.md).')
const text = lines.join('\n')
const shown = await display({ 'text/markdown': text, 'text/plain': text })
