/**
 * The standalone writeup: ONE offline HTML file (no remote scripts, fonts or styles) with the title,
 * a summary table, each chart as a PNG data URI (what any browser, mail client or archive shows)
 * plus its vega-lite JSON in a `<script type="application/json">` block for reuse (e.g. paste into
 * the vega editor), the experiment spec, seeds, ptlab version and the source of every CPU-profile
 * number used.
 *
 * Everything user-supplied (experiment, variant and step names, spec text, profile sources) is
 * HTML-escaped, and JSON inside script blocks has `<` escaped as \u003c, so a name such as
 * `</script><script>alert(1)</script>` stays text. A Content-Security-Policy meta tag forbids
 * scripts outright as a second line of defence (the JSON blocks are data, never executed).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { ResultsJson } from '../lab/types';
import { Chart } from '../notebook/chart';
import { cycleBreakdown } from '../notebook/charts/cycle-breakdown';
import { dirtyPages } from '../notebook/charts/dirty-pages';
import { faultsAndFlushes } from '../notebook/charts/faults-flushes';
import { overhead } from '../notebook/charts/overhead';
import { pteMap } from '../notebook/charts/pte-map';
import { runsOf, varyingParams, type ResultsInput } from '../notebook/charts/runs';
import { sweep } from '../notebook/charts/sweep';
import { escapeHtml, jsonForScript } from '../notebook/html-escape';
import { pngSize, renderSvg, svgToPng } from '../notebook/render';
import { headlineStep, summaryTable } from '../notebook/summary';
import { Table } from '../notebook/table';
import { VERSION } from '../version';
import { profileSourceRows } from './profiles';

export interface ReportChart {
  /** heading above the chart */
  title: string;
  chart: Chart;
  /** paragraph under the chart (default: the chart's text summary) */
  caption?: string;
}

export interface ReportOptions {
  /** default: the experiment name of the spec or of the first run */
  title?: string;
  /** the ExperimentSpec (spec.json), shown verbatim */
  spec?: unknown;
  /** CPU profiles used (profiles.json): their sourced numbers are listed */
  profiles?: unknown;
  /** kernel variants used (variants.json): each with its base and changed fields */
  variants?: unknown;
  /** baseline variant for overhead (default: the first variant) */
  baseline?: string;
  /** the standard charts (default true) */
  defaultCharts?: boolean;
  /** more charts, after the standard ones */
  charts?: ReportChart[];
  /** a paragraph of text under the title (escaped; blank lines start new paragraphs) */
  notes?: string;
  /** a date or other provenance line; omitted by default so the same results give the same file */
  generated?: string;
}

export interface WriteReportOptions extends ReportOptions {
  /** output file (default out/report.html) */
  out?: string;
}

/** The standard charts for these results; a chart that does not apply is listed as skipped. */
export function defaultReportCharts(results: ResultsInput, opts: ReportOptions = {}): { charts: ReportChart[]; skipped: string[] } {
  const runs = runsOf(results);
  const charts: ReportChart[] = [];
  const skipped: string[] = [];
  const attempt = (title: string, make: () => Chart) => {
    try {
      charts.push({ title, chart: make() });
    } catch (e) {
      skipped.push(`${title}: ${(e as Error).message}`);
    }
  };
  const variants = new Set(runs.map((r) => r.variant));
  // the step the experiment is about first (the summary's headline), then the whole run
  const headline = headlineStep(results);
  if (headline !== 'total') attempt('Cycles per access by event, headline step', () => cycleBreakdown(results, { step: headline, per: 'access' }));
  attempt('Cycles by event', () => cycleBreakdown(results));
  if (variants.size > 1) attempt('Overhead vs baseline', () => overhead(results, { baseline: opts.baseline }));
  attempt('Dirty and writeback pages', () => dirtyPages(results));
  attempt('Faults, TLB flushes and IPIs', () => faultsAndFlushes(results));
  const swept = varyingParams(runs);
  if (swept.length > 0) for (const p of swept) attempt(`Sweep over ${p}`, () => sweep(results, { param: p }));
  if (runs.some((r) => r.steps.some((s) => s.inspect && s.inspect.length > 0))) attempt('PTE map', () => pteMap(results));
  return { charts, skipped };
}

const STYLE = `
body { font: 15px/1.5 "DejaVu Sans", system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.meta { color: #555; } figure { margin: 1.5em 0; } figure img { max-width: 100%; height: auto; }
figcaption { white-space: pre-wrap; font-size: .9em; color: #444; }
table { border-collapse: collapse; font-size: .9em; } th, td { border: 1px solid #ddd; padding: .25em .6em; }
thead { background: #f4f4f4; } pre { background: #f7f7f7; padding: 1em; overflow-x: auto; font-size: .85em; }
.skipped { color: #8a5300; }
`;

function paragraphs(text: string): string {
  return text
    .split(/\n\s*\n/)
    .map((p) => `<p>${escapeHtml(p.trim())}</p>`)
    .join('\n');
}

async function figure(c: ReportChart, index: number): Promise<string> {
  // distinct id prefixes per figure: charts are inlined in one document
  const svg = await renderSvg(c.chart.toSpec(), { idPrefix: `fig${index}` });
  const png = svgToPng(svg, { scale: 2 });
  const { width, height } = pngSize(png);
  const caption = c.caption ?? c.chart.summary().split('\n').slice(1).join('\n');
  return [
    `<figure id="figure-${index}">`,
    `<h3>${escapeHtml(c.title)}</h3>`,
    `<img alt="${escapeHtml(c.title)}" width="${Math.round(width / 2)}" height="${Math.round(height / 2)}" src="data:image/png;base64,${png.toString('base64')}">`,
    caption ? `<figcaption>${escapeHtml(caption)}</figcaption>` : '',
    `<script type="application/json" class="vega-lite-spec" data-figure="${index}">${jsonForScript(c.chart.toSpec())}</script>`,
    `</figure>`,
  ]
    .filter(Boolean)
    .join('\n');
}

function experimentName(runs: readonly { name: string }[], spec: unknown): string {
  const specName = typeof spec === 'object' && spec !== null ? (spec as { name?: unknown }).name : undefined;
  if (typeof specName === 'string' && specName) return specName;
  return runs[0]?.name || 'ptlab experiment';
}

/** The ptlab version that produced the results: ResultsJson.ptlab.version, else unknown. */
function resultsVersion(results: ResultsInput): string {
  let v = (results as Partial<ResultsJson>).ptlab?.version;
  // a ResultSet carries no version of its own; its JSON form (what it saves) does
  const toJSON = (results as { toJSON?: () => Partial<ResultsJson> }).toJSON;
  if (v === undefined && typeof toJSON === 'function') v = toJSON.call(results)?.ptlab?.version;
  return typeof v === 'string' ? v : 'unknown';
}

/**
 * Build the HTML text of the report. `results`: a ResultSet (its `spec` and provenance are used
 * when opts does not give them), a ResultsJson or a RunResult[].
 */
export async function renderReport(results: ResultsInput, opts: ReportOptions = {}): Promise<string> {
  const runs = runsOf(results);
  const own = Array.isArray(results) ? {} : (results as { spec?: unknown; provenance?: { profiles?: unknown; variants?: unknown } });
  opts = { ...opts, spec: opts.spec ?? own.spec, profiles: opts.profiles ?? own.provenance?.profiles, variants: opts.variants ?? own.provenance?.variants };
  const title = opts.title ?? experimentName(runs, opts.spec);
  const std = opts.defaultCharts === false ? { charts: [], skipped: [] } : defaultReportCharts(results, opts);
  const all = [...std.charts, ...(opts.charts ?? [])];
  const figures: string[] = [];
  for (let i = 0; i < all.length; i++) figures.push(await figure(all[i], i + 1)); // sequential: 2 cores are shared

  const seeds = [...new Set(runs.map((r) => r.seed))].sort((a, b) => a - b);
  const variants = [...new Set(runs.map((r) => r.variant))];
  const cpus = [...new Set(runs.map((r) => r.cpu))];
  const resultsVersionText = resultsVersion(results);
  const meta = new Table(
    [
      { field: 'kernel variants', value: variants.join(', ') },
      { field: 'CPU profiles', value: cpus.join(', ') },
      { field: 'seeds', value: seeds.join(', ') },
      { field: 'runs', value: runs.length },
      { field: 'ptlab version (results)', value: resultsVersionText },
      { field: 'ptlab version (report)', value: VERSION },
      ...(opts.generated ? [{ field: 'generated', value: opts.generated }] : []),
    ],
    { columns: [{ key: 'field', label: '' }, { key: 'value', label: '', align: 'left' }] },
  );

  const sections: string[] = [];
  sections.push(`<h1>${escapeHtml(title)}</h1>`);
  sections.push(`<p class="meta">ptlab ${escapeHtml(resultsVersionText)} · ${runs.length} runs · ${variants.length} variant(s) · seeds ${escapeHtml(seeds.join(', '))}</p>`);
  if (opts.notes) sections.push(paragraphs(opts.notes));
  // one headline: the step the experiment is about (npm start's table), per access, then the whole run
  const headline = headlineStep(results);
  if (headline === 'total') sections.push('<h2>Summary</h2>', summaryTable(results, { baseline: opts.baseline }).toHTML());
  else {
    sections.push('<h2>Summary</h2>', summaryTable(results, { baseline: opts.baseline, step: headline, per: 'access' }).toHTML());
    sections.push('<h3>Whole run</h3>', summaryTable(results, { baseline: opts.baseline }).toHTML());
  }
  sections.push('<h2>Charts</h2>', ...figures);
  if (std.skipped.length) sections.push(`<ul class="skipped">${std.skipped.map((s) => `<li>skipped ${escapeHtml(s)}</li>`).join('')}</ul>`);
  sections.push('<h2>Provenance</h2>', meta.toHTML());
  if (opts.spec !== undefined) {
    sections.push('<h3>Experiment spec</h3>', `<pre>${escapeHtml(JSON.stringify(opts.spec, null, 2))}</pre>`);
    sections.push(`<script type="application/json" id="ptlab-spec">${jsonForScript(opts.spec)}</script>`);
  }
  if (opts.variants !== undefined && typeof opts.variants === 'object' && opts.variants !== null) {
    const rows = Object.values(opts.variants).map((v: { name?: unknown; base?: unknown; overrides?: unknown; hooks?: unknown }) => ({
      variant: String(v.name),
      base: String(v.base),
      changes: JSON.stringify(v.overrides ?? {}),
      hooks: Array.isArray(v.hooks) ? `${v.hooks.join(', ')} (functions, not saved)` : '',
    }));
    sections.push('<h3>Kernel variants</h3>', new Table(rows).toHTML());
  }
  if (opts.profiles !== undefined) {
    const rows = profileSourceRows(opts.profiles);
    sections.push('<h3>CPU profile sources</h3>');
    if (rows.length) {
      sections.push(
        new Table(
          rows.map((r) => ({ ...r })),
          { columns: ['profile', { key: 'path', label: 'parameter' }, { key: 'value', format: (v) => String(v) }, 'kind', 'source'] },
        ).toHTML(),
      );
    } else {
      sections.push(`<pre>${escapeHtml(JSON.stringify(opts.profiles, null, 2))}</pre>`);
    }
  }

  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // No script may run in this page; images only from data: URIs; inline styles only.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<meta name="generator" content="ptlab ${escapeHtml(VERSION)}">`,
    `<title>${escapeHtml(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...sections,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Write the report to `opts.out` (default out/report.html); returns the absolute path. */
export async function writeReport(results: ResultsInput, opts: WriteReportOptions = {}): Promise<string> {
  const html = await renderReport(results, opts);
  const path = resolve(opts.out ?? 'out/report.html');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, html);
  return path;
}
