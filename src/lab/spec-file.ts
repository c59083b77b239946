/**
 * Reading a spec file for the CLI: missing files and JSON syntax errors become one-line messages
 * with the fix (line:column for syntax errors), never a stack trace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export class SpecFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpecFileError';
  }
}

export interface SpecFile {
  /** the parsed JSON (not yet validated) */
  raw: unknown;
  /** absolute path of the file */
  file: string;
  /** directory relative paths in the spec (traces) resolve against */
  baseDir: string;
}

/** Specs are small documents; anything bigger is almost certainly the wrong file (a trace?). */
export const MAX_SPEC_BYTES = 4 * 1024 * 1024;

export function readSpecFile(file: string): SpecFile {
  const abs = path.resolve(file);
  let text: string;
  try {
    const size = fs.statSync(abs).size;
    if (size > MAX_SPEC_BYTES) {
      throw new SpecFileError(`${file}: ${size} bytes is too large for an experiment spec (limit ${MAX_SPEC_BYTES}); large access sequences belong in a trace file referenced by a "trace" step`);
    }
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    if (e instanceof SpecFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SpecFileError(`${file}: no such file; give the path of an experiment spec (.json), e.g. examples/uffd-wp-unprotect.json`);
    if (code === 'EISDIR') throw new SpecFileError(`${file}: is a directory; give the path of an experiment spec (.json)`);
    throw new SpecFileError(`${file}: cannot read (${(e as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new SpecFileError(`${file}: not valid JSON: ${jsonErrorWhere(text, (e as Error).message)}; specs are plain JSON (no comments or trailing commas)`);
  }
  return { raw, file: abs, baseDir: path.dirname(abs) };
}

/** "Unexpected token } in JSON at position 42" -> "... (line 3, column 5)". */
function jsonErrorWhere(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  if (!m) return message;
  const pos = Number(m[1]);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  return `${message.replace(/ in JSON at position \d+.*$/, '')} at line ${line}, column ${col}`;
}
