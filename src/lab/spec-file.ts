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

/**
 * "Unexpected token } in JSON at position 42" -> "... at line 3, column 5". V8 leaves the position
 * out of some messages ("Unexpected token ',', ..."): then the scanner below finds it.
 */
export function jsonErrorWhere(text: string, message: string): string {
  const m = /position (\d+)/.exec(message);
  const pos = m ? Number(m[1]) : jsonErrorOffset(text);
  const before = text.slice(0, pos);
  const line = before.split('\n').length;
  const col = pos - before.lastIndexOf('\n');
  const what = m ? message.replace(/ in JSON at position \d+.*$/, '').replace(/ \(line \d+ column \d+\)$/, '') : pos >= text.length ? 'unexpected end of the text' : `unexpected ${JSON.stringify(text[pos])}`;
  return `${what} at line ${line}, column ${col}`;
}

/** Offset of the first character that makes `text` invalid JSON (RFC 8259), for error messages. */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const lit = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const str = () => {
    i++; // opening quote
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fail();
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? '')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const num = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail();
    i += m![0].length;
  };
  // an object's or array's members, from its opening bracket to `close`; `member` reads one
  const members = (close: string, member: () => void): void => {
    i++;
    ws();
    if (text[i] === close) return void i++;
    for (;;) {
      member();
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === close) return void i++;
      else fail();
    }
  };
  const pair = (): void => {
    ws();
    if (text[i] !== '"') fail();
    str();
    ws();
    if (text[i] !== ':') fail();
    i++;
    value();
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') return members('}', pair);
    if (c === '[') return members(']', value);
    if (c === '"') return str();
    if (c === 't') return lit('true');
    if (c === 'f') return lit('false');
    if (c === 'n') return lit('null');
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return num();
    fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (at) {
    return Math.min(at as number, text.length);
  }
}
