/**
 * A small table for notebooks and reports: rows + columns, shown as one display message with
 * `text/html` (rendered by every front end, including GitHub) and `text/plain` (an aligned text
 * table for consoles and CI logs), and exportable as Markdown for writeups. Every cell is
 * HTML-escaped (variant and step names are user input).
 */
import { inspect } from 'node:util';
import { displayBundle, displayTarget, JUPYTER_DISPLAY, type Displayable, type MimeBundle } from './display';
import { escapeHtml } from './html-escape';

export type Cell = string | number | boolean | null | undefined;
export type Row = Record<string, Cell>;
/** Rows a table accepts: plain rows, or any objects (tidy rows: a nested `params` shows as k=v). */
export type RowLike = Row | object;

export interface Column {
  /** property of each row */
  key: string;
  /** header text (default: key) */
  label?: string;
  /** cell text (default: numbers with thousands separators and at most 3 decimals) */
  format?: (value: Cell, row: Row) => string;
  /** default: right for numbers, left otherwise */
  align?: 'left' | 'right';
}

export interface TableOptions {
  columns?: ReadonlyArray<string | Column>;
  title?: string;
  /** footnote under the table (e.g. how the CI was computed) */
  caption?: string;
}

export function formatCell(v: Cell | object): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') {
    return Object.entries(v)
      .map(([k, x]) => `${k}=${typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)}`)
      .join(', ');
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    return v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 0 : 3 });
  }
  return String(v);
}

export class Table implements Displayable {
  readonly rows: readonly Row[];
  readonly columns: readonly Column[];
  readonly title?: string;
  readonly caption?: string;

  constructor(rows: readonly RowLike[], opts: TableOptions = {}) {
    if (!Array.isArray(rows)) throw new TypeError('Table(rows): rows must be an array of objects, e.g. [{variant: "linux-6.18", cycles: 123}]');
    this.rows = rows.map((r) => ({ ...(r as Row) }));
    const keys = opts.columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
    this.columns = keys.map((c) => (typeof c === 'string' ? { key: c } : { ...c }));
    this.title = opts.title;
    this.caption = opts.caption;
  }

  private text(c: Column, r: Row): string {
    return c.format ? c.format(r[c.key], r) : formatCell(r[c.key]);
  }

  private align(c: Column): 'left' | 'right' {
    if (c.align) return c.align;
    return this.rows.some((r) => typeof r[c.key] === 'number') ? 'right' : 'left';
  }

  /** A copy with a title. */
  withTitle(title: string): Table {
    return new Table(this.rows, { columns: this.columns, title, caption: this.caption });
  }

  toHTML(): string {
    const head = this.columns.map((c) => `<th style="text-align:${this.align(c)}">${escapeHtml(c.label ?? c.key)}</th>`).join('');
    const body = this.rows
      .map((r) => `<tr>${this.columns.map((c) => `<td style="text-align:${this.align(c)}">${escapeHtml(this.text(c, r))}</td>`).join('')}</tr>`)
      .join('\n');
    const cap = this.title ? `<caption>${escapeHtml(this.title)}</caption>` : '';
    const foot = this.caption ? `\n<p class="ptlab-caption"><small>${escapeHtml(this.caption)}</small></p>` : '';
    return `<table class="ptlab-table">${cap}\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>${foot}`;
  }

  /** Aligned plain text (text/plain). */
  toText(): string {
    const cells = this.rows.map((r) => this.columns.map((c) => this.text(c, r)));
    const heads = this.columns.map((c) => c.label ?? c.key);
    const widths = heads.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
    const pad = (s: string, i: number) => (this.align(this.columns[i]) === 'right' ? s.padStart(widths[i]) : s.padEnd(widths[i]));
    const lines = [heads.map(pad).join('  '), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map((row) => row.map(pad).join('  '))];
    if (this.title) lines.unshift(this.title);
    if (this.caption) lines.push(this.caption);
    return lines.map((l) => l.replace(/\s+$/, '')).join('\n');
  }

  /** GitHub-flavoured Markdown; `|` and newlines in cells are escaped so the table stays intact. */
  toMarkdown(): string {
    const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
    const heads = this.columns.map((c) => esc(c.label ?? c.key));
    const rule = this.columns.map((c) => (this.align(c) === 'right' ? '---:' : ':---'));
    const rows = this.rows.map((r) => `| ${this.columns.map((c) => esc(this.text(c, r))).join(' | ')} |`);
    const out = [`| ${heads.join(' | ')} |`, `| ${rule.join(' | ')} |`, ...rows];
    if (this.title) out.unshift(`**${esc(this.title)}**`, '');
    if (this.caption) out.push('', esc(this.caption));
    return out.join('\n');
  }

  toMimeBundle(): MimeBundle {
    return { 'text/html': this.toHTML(), 'text/plain': this.toText() };
  }

  [JUPYTER_DISPLAY](): MimeBundle {
    return this.toMimeBundle();
  }

  /**
   * Display as one message (text/html + text/plain); without a kernel prints the text table.
   * Returns nothing so tslab prints no value under the table.
   */
  show(): void {
    displayBundle(this.toMimeBundle());
  }

  /**
   * A table as a cell's last value: tslab prints values with util.inspect, so this is where it
   * becomes a rendered table (HTML + text, as pandas shows a DataFrame) instead of a dump of the
   * object; elsewhere (a console, a log) it is the aligned text table.
   */
  [inspect.custom](): string {
    return inspectAsDisplay(this.toMimeBundle(), `Table: ${this.rows.length} row(s) x ${this.columns.length} column(s)`);
  }
}

/** Shorthand: `table(rows, {columns})`; tidy rows (`results.rows()`) work as they are. */
export function table(rows: readonly RowLike[], opts: TableOptions = {}): Table {
  return new Table(rows, opts);
}

/**
 * What util.inspect shows for a displayable value: in a tslab notebook the bundle is displayed
 * (rich) and one line stands for it in the text stream; elsewhere the bundle's text/plain.
 */
export function inspectAsDisplay(bundle: MimeBundle, oneLine: string): string {
  if (displayTarget() === 'tslab') {
    displayBundle(bundle);
    return oneLine;
  }
  return String(bundle['text/plain'] ?? oneLine);
}
