/**
 * Sizes and labels shared by the chart builders, so that charts use the page and their labels
 * never overlap, however many variants there are and however long their names.
 *
 * - Widths: a chart's plot area is sized from PAGE_WIDTH (the report column is 1100 CSS px, a
 *   JupyterLab output area about 1000), not from a fixed 400 px.
 * - Category labels (`categoryAxis`): each label is wrapped at word boundaries (spaces, then
 *   `-`, `_`, `.`) into at most four lines that fit its band, drawn through an axis `labelExpr`
 *   lookup; `labelLimit` caps any line at the band width, so neighbours cannot overlap. When the
 *   bands are too narrow to wrap into, labels are rotated and cut with an ellipsis, and the
 *   chart shows the full names in a legend (`needsLegend`).
 * - Legends for long names (`groupLegend`) go under the plot in one or two columns with a limit
 *   wide enough for the names, instead of cutting them at vega's default 160 px.
 *
 * Character widths are estimated (DejaVu Sans at vega's default 10/11 px), so the limits are what
 * actually guarantees no overlap; the estimate only decides how to lay the lines out.
 */

/** Plot-area width of a full-width chart, in CSS pixels. */
export const PAGE_WIDTH = 760;

/** Width of a character of a 10 px axis label as vega estimates it without a canvas (0.8 em: vega-scenegraph textMetrics.estimateWidth), which is what labelLimit cuts by when charts are rendered in Node; browsers measure narrower glyphs. */
const CHAR_PX = 8;
const MAX_LINES = 4;

/** Width of each band of a band scale with `n` categories spread over `width` pixels. */
export function bandWidth(n: number, width = PAGE_WIDTH): number {
  return width / Math.max(1, n);
}

/** Plot width for `n` categories: at least `minBand` per category, up to the page. */
export function categoryWidth(n: number, minBand = 60): number {
  return Math.max(160, Math.min(PAGE_WIDTH, n * Math.max(minBand, 120)));
}

/**
 * Split a label into pieces at word boundaries: spaces first, then after -, _ or . inside words
 * too long for a line; `space` marks a piece that starts a word (a space goes before it).
 */
function pieces(label: string, perLine: number): { text: string; space: boolean }[] {
  const out: { text: string; space: boolean }[] = [];
  for (const word of label.split(/\s+/).filter(Boolean)) {
    if (word.length <= perLine) {
      out.push({ text: word, space: true });
      continue;
    }
    // break after each -, _ or . (kept on the line before, as a hyphen would be)
    (word.match(/[^-_.]+[-_.]*|[-_.]+/g) ?? [word]).forEach((text, i) => out.push({ text, space: i === 0 }));
  }
  return out;
}

/**
 * `label` as lines of at most `perLine` characters (greedy), at most `maxLines` of them; returns
 * the lines and whether anything had to be cut (the last line then ends in an ellipsis).
 */
export function wrapLabel(label: string, perLine: number, maxLines = MAX_LINES): { lines: string[]; cut: boolean } {
  const lines: string[] = [];
  let line = '';
  for (const p of pieces(label, perLine)) {
    const joined = line === '' ? p.text : p.space ? `${line} ${p.text}` : line + p.text;
    if (line !== '' && joined.length > perLine) {
      lines.push(line);
      line = p.text;
    } else line = joined;
  }
  if (line) lines.push(line);
  let cut = lines.some((l) => l.length > perLine);
  const out = lines.map((l) => (l.length > perLine ? `${l.slice(0, Math.max(1, perLine - 1))}…` : l));
  if (out.length > maxLines) {
    cut = true;
    const last = out[maxLines - 1];
    out.length = maxLines;
    out[maxLines - 1] = `${last.slice(0, Math.max(1, perLine - 1))}…`;
  }
  return { lines: out, cut };
}

export interface CategoryAxis {
  /** a vega-lite `axis` object */
  axis: Record<string, unknown>;
  /** some labels were cut: show the full names in a legend (or they are lost) */
  needsLegend: boolean;
}

/**
 * An axis for the categories `labels` drawn in bands of `bandPx` pixels: wrapped lines when the
 * band holds at least 8 characters, else rotated labels cut at 150 px (with `needsLegend`).
 */
export function categoryAxis(labels: readonly string[], bandPx: number): CategoryAxis {
  const perLine = Math.floor((bandPx - 6) / CHAR_PX);
  if (perLine >= 8) {
    const lookup: Record<string, string[]> = {};
    let cut = false;
    let multi = false;
    for (const l of labels) {
      const w = wrapLabel(l, perLine);
      cut ||= w.cut;
      if (w.lines.length !== 1 || w.lines[0] !== l) {
        lookup[l] = w.lines;
        multi = true;
      }
    }
    const axis: Record<string, unknown> = { labelAngle: 0, labelLimit: Math.floor(bandPx - 4), labelOverlap: false };
    // vega draws an array label as lines; names without an entry keep their own text
    if (multi) axis.labelExpr = `(${JSON.stringify(lookup)})[datum.value] || datum.label`;
    return { axis, needsLegend: cut };
  }
  const longest = Math.max(0, ...labels.map((l) => l.length));
  return { axis: { labelAngle: -40, labelLimit: 150, labelOverlap: false }, needsLegend: longest * CHAR_PX > 150 };
}

/** A legend for (possibly long) group names: under the plot when they are long, never cut short. */
export function groupLegend(names: readonly string[]): Record<string, unknown> {
  const longest = Math.max(0, ...names.map((n) => n.length));
  if (longest <= 24) return { labelLimit: 200 };
  return { orient: 'bottom', direction: 'vertical', columns: longest > 48 || names.length < 3 ? 1 : 2, labelLimit: 480 };
}
