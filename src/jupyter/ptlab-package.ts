/**
 * Where "this installation" of ptlab is, as seen from a compiled file of it.
 *
 * Compiled files live at <root>/<build>/src/... (build = dist for `npm run build`, dist-<name> for a
 * private build). The kernel serves the build it was launched from, so a notebook imports exactly
 * the library code that sits next to the launcher.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface PtlabPackage {
  /** the package root (holds package.json and node_modules) */
  root: string;
  /** the build directory, e.g. <root>/dist */
  build: string;
  /** compiled entry, <build>/src/index.js */
  main: string;
  /** declarations of the entry, <build>/src/index.d.ts */
  types: string;
  version: string;
}

/** `srcDir` is the compiled src/ directory (or a subdirectory of it, such as src/jupyter). */
export function locatePtlab(fromDir: string): PtlabPackage {
  let dir = path.resolve(fromDir);
  while (path.basename(dir) !== 'src') {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the compiled src/ directory above ${fromDir}`);
    dir = up;
  }
  const build = path.dirname(dir);
  const root = path.dirname(build);
  const pkgFile = path.join(root, 'package.json');
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { name?: string; version?: string };
  if (pkg.name !== 'ptlab') throw new Error(`${pkgFile} is not ptlab's package.json (name: ${pkg.name})`);
  return {
    root,
    build,
    main: path.join(build, 'src', 'index.js'),
    types: path.join(build, 'src', 'index.d.ts'),
    version: pkg.version ?? '0.0.0',
  };
}
