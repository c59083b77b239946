/**
 * Turn what fails in a cell into the content of a Jupyter `error` message
 * ({ename, evalue, traceback}), which front ends, nbclient and nbconvert all show.
 *
 * Why: tslab 1.0.22 prints TypeScript diagnostics and exceptions with `console.error`, which becomes
 * a stderr stream, and replies `status: error` without ename/evalue. The executed notebook then has
 * no `error` output and nbconvert reports an empty `<Error>:` (notes/notebook-stack-feasibility.md).
 *
 * Rules: a type error names the cell (`In [n]`), the line and column in the cell, the message and
 * the TS code, with the offending line underlined. ptlab's own validation errors (name PtlabError or
 * SpecError) are meant for the reader and show as `name: message` without a stack. Other exceptions
 * keep a stack, minus tslab's and Node's internal frames.
 */
import { inspect } from 'util';
import type { TslabDiagnostic } from './tslab-api';

/** Content of a Jupyter `error` message (also merged into the `execute_reply`). */
export interface JupyterError {
  ename: string;
  evalue: string;
  traceback: string[];
}

/** How the error refers to the cell: tslab's execution counter, shown as `In [n]` like the prompt. */
export interface CellLabel {
  executionCount?: number;
  /** directories whose stack frames are kernel machinery (the launcher's own folder) */
  internalDirs?: readonly string[];
}

/** Errors the ptlab library throws for people, not programmers: message only, no stack. */
export const READABLE_ERROR_NAMES: readonly string[] = ['PtlabError', 'SpecError'];

export const TYPESCRIPT_ENAME = 'TypeScriptError';

/** TypeScript's DiagnosticCategory enum (Warning = 0, Error = 1, Suggestion = 2, Message = 3). */
const CATEGORY = ['warning', 'error', 'suggestion', 'message'];

function cellName(cell: CellLabel): string {
  return cell.executionCount !== undefined ? `cell In [${cell.executionCount}]` : 'cell';
}

/** One reported problem: tslab flattens a message chain into several diagnostics at one position. */
interface DiagnosticGroup {
  head: TslabDiagnostic;
  details: string[];
}

function groupDiagnostics(diags: readonly TslabDiagnostic[]): DiagnosticGroup[] {
  const groups: DiagnosticGroup[] = [];
  for (const d of diags) {
    const last = groups[groups.length - 1];
    // tslab's traverseDiagnosticMessageChain gives chain children the parent's start/end and no fileName.
    const isChainChild =
      last !== undefined &&
      d.fileName === undefined &&
      d.start.offset === last.head.start.offset &&
      d.end.offset === last.head.end.offset;
    if (isChainChild) last.details.push(d.messageText);
    else groups.push({ head: d, details: [] });
  }
  return groups;
}

/** `where` part of a message: 'line 3, column 7' (1-based), prefixed by the file for imported files. */
function location(d: TslabDiagnostic, cell: CellLabel): string {
  const at = `line ${d.start.line + 1}, column ${d.start.character + 1}`;
  return d.fileName ? `${d.fileName}, ${at}` : `${cellName(cell)}, ${at}`;
}

/** Lines of the cell around the diagnostic, the offending one marked with '>' and underlined. */
export function codeFrame(source: string, d: TslabDiagnostic, context = 2): string[] {
  const lines = source.split(/\r?\n/);
  const line = d.start.line;
  if (line < 0 || line >= lines.length) return [];
  const first = Math.max(0, line - context);
  const width = String(line + 1).length;
  const out: string[] = [];
  for (let i = first; i <= line; i++) {
    const mark = i === line ? '>' : ' ';
    out.push(`${mark} ${String(i + 1).padStart(width)} | ${lines[i]}`);
  }
  const text = lines[line];
  const startCol = Math.min(Math.max(0, d.start.character), text.length);
  const endCol = d.end.line === line ? Math.min(Math.max(d.end.character, startCol + 1), text.length) : text.length;
  // Keep tabs so the caret lines up under tab-indented code.
  const pad = text.slice(0, startCol).replace(/[^\t]/g, ' ');
  const carets = '^'.repeat(Math.max(1, endCol - startCol));
  out.push(`  ${' '.repeat(width)} | ${pad}${carets}`);
  return out;
}

/**
 * The error for a cell that did not compile. `source` is the cell's code exactly as sent by the
 * front end (tslab's diagnostic positions are relative to it).
 */
export function diagnosticsError(diags: readonly TslabDiagnostic[], source: string, cell: CellLabel): JupyterError {
  const groups = groupDiagnostics(diags);
  if (groups.length === 0) {
    return { ename: TYPESCRIPT_ENAME, evalue: `${cellName(cell)} did not compile`, traceback: [] };
  }
  const summary = (g: DiagnosticGroup): string =>
    `${location(g.head, cell)}: ${g.head.messageText} (TS${g.head.code})`;
  const traceback: string[] = [];
  groups.forEach((g, i) => {
    if (i > 0) traceback.push('');
    const category = CATEGORY[g.head.category] ?? 'error';
    traceback.push(`${location(g.head, cell)}: ${category} TS${g.head.code}`);
    if (!g.head.fileName) traceback.push(...codeFrame(source, g.head));
    traceback.push(g.head.messageText);
    for (const detail of g.details) traceback.push('  ' + detail);
  });
  const more = groups.length > 1 ? ` (and ${groups.length - 1} more)` : '';
  const evalue = summary(groups[0]) + more;
  // No closing `ename: evalue` line: nbclient's CellExecutionError appends exactly that line after
  // the traceback, and front ends show the header line above, which says the same.
  return { ename: TYPESCRIPT_ENAME, evalue, traceback };
}

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  stack?: unknown;
  issues?: unknown;
}

function isErrorLike(x: unknown): x is ErrorLike {
  return typeof x === 'object' && x !== null && typeof (x as ErrorLike).message === 'string';
}

/** zod's issues as `path: message` lines, for a ZodError that escaped the library unwrapped. */
function zodIssueLines(issues: unknown): string[] | null {
  if (!Array.isArray(issues) || issues.length === 0) return null;
  const lines: string[] = [];
  for (const issue of issues) {
    if (typeof issue !== 'object' || issue === null) return null;
    const { path: p, message } = issue as { path?: unknown; message?: unknown };
    if (typeof message !== 'string') return null;
    const where = Array.isArray(p) && p.length > 0 ? p.map(String).join('.') : '(root)';
    lines.push(`${where}: ${message}`);
  }
  return lines;
}

/** Stack frames of tslab, of Node itself and of the vm wrapper say nothing about the user's code. */
export function cleanStack(stack: string, cell: CellLabel, header?: string): string[] {
  const out: string[] = [];
  let lines = stack.split('\n');
  // vm.runInThisContext decorates the stack with 'evalmachine.<anonymous>:N', the compiled source
  // line and a caret before the real header; that compiled line is not what the user wrote.
  const start = header ? lines.findIndex((l) => l.startsWith(header)) : -1;
  if (start > 0) lines = lines.slice(start);
  for (const line of lines) {
    const frame = line.trim();
    if (frame.startsWith('at ')) {
      if (/[\\/]tslab[\\/]dist[\\/]/.test(frame) || /\bnode:/.test(frame)) continue;
      if ((cell.internalDirs ?? []).some((dir) => frame.includes(dir))) continue;
      // tslab runs the compiled cell with vm.runInThisContext: positions refer to the compiled JS.
      out.push(line.replace(/evalmachine\.<anonymous>/g, `<${cellName(cell)}, compiled JS>`));
    } else {
      out.push(line);
    }
  }
  return out;
}

/** The error for an exception thrown (or a promise rejected) while the cell ran. */
export function exceptionError(err: unknown, cell: CellLabel): JupyterError {
  if (!isErrorLike(err)) {
    const evalue = inspect(err, { depth: 4 });
    return { ename: 'Uncaught', evalue, traceback: [`Uncaught ${evalue} (thrown by ${cellName(cell)})`] };
  }
  const ename = typeof err.name === 'string' && err.name ? err.name : 'Error';
  const message = String(err.message);
  if (READABLE_ERROR_NAMES.includes(ename)) {
    return { ename, evalue: message, traceback: [`${ename}: ${message}`] };
  }
  if (ename === 'ZodError') {
    const lines = zodIssueLines(err.issues);
    if (lines) {
      const evalue = lines.join('; ');
      return { ename, evalue, traceback: [`${ename}: invalid input`, ...lines.map((l) => '  ' + l)] };
    }
  }
  const stack = typeof err.stack === 'string' && err.stack ? err.stack : `${ename}: ${message}`;
  return { ename, evalue: message, traceback: cleanStack(stack, cell, ename) };
}
