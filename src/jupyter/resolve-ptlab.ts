/**
 * Make `import { lab } from 'ptlab'` resolve to THIS installation from any notebook folder, both when
 * the cell runs (Node's require) and when tslab type-checks it (TypeScript's node10 resolution).
 *
 * Nothing is written into the user's folder. Two in-process hooks, installed by the launcher before
 * tslab creates its compiler:
 *
 * - Runtime: tslab runs cells with `Module.createRequire(<notebook dir>/src.js)`
 *   (tslab/dist/executor.js), so every `require('ptlab')` of a cell goes through
 *   `Module._resolveFilename`; we answer 'ptlab' with the build's entry and 'ptlab/<sub>' with a
 *   path inside the package.
 * - Types: tslab's compiler reads files through `ts.sys` (its converter wraps `Object.create(ts.sys)`
 *   and calls `ts.sys.readFile/fileExists/directoryExists` for real files, and inherits
 *   `ts.sys.realpath`). tslab already fakes `<cwd>/node_modules/tslab` this way
 *   (`forwardTslabPath` in tslab/dist/converter.js); we fake `<cwd>/node_modules/ptlab` the same way,
 *   with a package.json whose `types` point at this build. TypeScript then calls `realpath` on the
 *   resolved file (node10 resolution, preserveSymlinks off), which we map to the real file, so the
 *   library's own imports (zod, vega-lite) resolve from ptlab's node_modules.
 */
import * as path from 'path';
import type { PtlabPackage } from './ptlab-package';

const NAME = 'ptlab';

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;

/** Forward 'ptlab' and 'ptlab/<sub>' to the package; leave every other request alone. */
export function mapPtlabRequest(request: string, pkg: PtlabPackage): string | null {
  if (request === NAME) return pkg.main;
  if (request === `${NAME}/internals`) return path.join(path.dirname(pkg.main), 'internals.js');
  if (request.startsWith(NAME + '/')) return path.join(pkg.root, request.slice(NAME.length + 1));
  return null;
}

/** Runtime hook. Returns a function that removes it (tests). */
export function hookRuntimeResolution(pkg: PtlabPackage): () => void {
  // Module._resolveFilename is not in @types/node but is the documented-by-practice hook that
  // require() calls for every request (lib/internal/modules/cjs/loader.js).
  const Module = require('module') as { _resolveFilename: ResolveFilename };
  const original = Module._resolveFilename;
  const hooked: ResolveFilename = function (this: unknown, request, parent, isMain, options) {
    const mapped = typeof request === 'string' ? mapPtlabRequest(request, pkg) : null;
    return original.call(this, mapped ?? request, parent, isMain, options);
  };
  Module._resolveFilename = hooked;
  return () => {
    if (Module._resolveFilename === hooked) Module._resolveFilename = original;
  };
}

/** The subset of TypeScript's `System` that module resolution reads through. */
export interface TsSysLike {
  readFile(p: string, encoding?: string): string | undefined;
  fileExists(p: string): boolean;
  directoryExists(p: string): boolean;
  realpath?(p: string): string;
  [key: string]: unknown;
}

/** TypeScript works with forward slashes on every platform. */
function slash(p: string): string {
  return p.replace(/\\/g, '/');
}

/** The package.json TypeScript sees for the virtual <cwd>/node_modules/ptlab. */
export function virtualPackageJson(pkg: PtlabPackage): string {
  return JSON.stringify({
    name: NAME,
    version: pkg.version,
    main: slash(path.relative(pkg.root, pkg.main)),
    types: slash(path.relative(pkg.root, pkg.types)),
    // 'ptlab/internals' (package.json exports it; node10 type resolution reads typesVersions)
    typesVersions: { '*': { internals: [slash(path.relative(pkg.root, path.join(path.dirname(pkg.types), 'internals.d.ts')))] } },
  });
}

/**
 * Type-resolution hook: patches `sys` (tslab's `ts.sys`) so `<cwd>/node_modules/ptlab/**` is served
 * from the package. Must run before tslab creates its compiler host (it binds `realpath` then).
 * Returns a function that restores the original methods.
 */
export function hookTypeResolution(sys: TsSysLike, cwd: string, pkg: PtlabPackage): () => void {
  const virtualDir = slash(path.join(cwd, 'node_modules', NAME));
  const pkgJson = virtualPackageJson(pkg);
  const root = slash(pkg.root);
  /** `undefined` when `p` is outside the virtual package; '' for the package dir itself. */
  const relOf = (p: string): string | undefined => {
    const s = slash(p);
    if (s === virtualDir) return '';
    return s.startsWith(virtualDir + '/') ? s.slice(virtualDir.length + 1) : undefined;
  };
  const real = (rel: string): string => (rel === '' ? root : root + '/' + rel);

  const orig = {
    readFile: sys.readFile,
    fileExists: sys.fileExists,
    directoryExists: sys.directoryExists,
    realpath: sys.realpath,
  };
  sys.readFile = function (p, encoding) {
    const rel = relOf(p);
    if (rel === undefined) return orig.readFile.call(sys, p, encoding);
    return rel === 'package.json' ? pkgJson : orig.readFile.call(sys, real(rel), encoding);
  };
  sys.fileExists = function (p) {
    const rel = relOf(p);
    if (rel === undefined) return orig.fileExists.call(sys, p);
    return rel === 'package.json' || orig.fileExists.call(sys, real(rel));
  };
  sys.directoryExists = function (p) {
    const rel = relOf(p);
    if (rel === undefined) return orig.directoryExists.call(sys, p);
    return orig.directoryExists.call(sys, real(rel));
  };
  if (orig.realpath) {
    const realpath = orig.realpath;
    sys.realpath = function (p) {
      const rel = relOf(p);
      return realpath.call(sys, rel === undefined ? p : real(rel));
    };
  }
  return () => {
    Object.assign(sys, orig);
  };
}
