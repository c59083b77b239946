/**
 * The parts of tslab's internals the ptlab kernel builds on, loaded from ptlab's OWN dependency and
 * pinned to one version.
 *
 * tslab's public API cannot start a kernel with a different module resolution or a different error
 * reporting, so the launcher assembles the kernel from tslab's building blocks (converter, executor,
 * ZmqServer, JupyterHandlerImpl, TaskQueue) the same way tslab's own `startKernel` does
 * (tslab/dist/main.js). Those modules are internal: their shapes below were read from tslab 1.0.22
 * and are only trusted for that exact version, which `loadTslab` checks before anything runs.
 *
 * The shapes are declared here (not imported from tslab's .d.ts) so that building ptlab does not pull
 * in the TypeScript 5.0 declarations bundled with tslab.
 */
import * as path from 'path';

/** The tslab version whose internals this kernel was written against (package.json pins it too). */
export const TSLAB_VERSION = '1.0.22';

/** tslab/dist/converter.d.ts: a position in the cell (zero-based line and character). */
export interface TslabDiagnosticPos {
  offset: number;
  line: number;
  character: number;
}

/** tslab/dist/converter.d.ts `Diagnostic`; `fileName` is set for errors in imported local .ts files. */
export interface TslabDiagnostic {
  start: TslabDiagnosticPos;
  end: TslabDiagnosticPos;
  messageText: string;
  category: number;
  code: number;
  fileName?: string;
}

export interface TslabConvertResult {
  diagnostics: TslabDiagnostic[];
  [key: string]: unknown;
}

export interface TslabConverter {
  convert(prevDecl: string, src: string): TslabConvertResult;
  close(): void;
  [key: string]: unknown;
}

export interface TslabConverterSet {
  readonly node: TslabConverter;
  readonly browser: TslabConverter;
  close(): void;
}

export interface TslabConsole {
  log(message?: unknown, ...rest: unknown[]): void;
  error(message?: unknown, ...rest: unknown[]): void;
}

export interface TslabExecutor {
  execute(src: string): Promise<boolean>;
  interrupt(): void;
  close(): void;
  [key: string]: unknown;
}

/** Jupyter `display_data` content as tslab passes it to its writer. */
export interface TslabDisplayData {
  data: Record<string, unknown>;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

export type WriteStream = (name: string, text: string) => void;
export type WriteDisplayData = (data: TslabDisplayData, update: boolean) => void;

/** tslab/dist/jupyter.js `ZmqMessage` (not exported; we only receive instances). */
export interface TslabZmqMessage {
  header: { msg_type: string; [key: string]: unknown };
  metadata: Record<string, unknown>;
  content: Record<string, unknown>;
  createReply(): TslabZmqMessage;
  signAndSend(key: string, sock: unknown): void;
}

export interface TslabHandler {
  handleKernel(): Record<string, unknown>;
  handleIsComplete(req: unknown): unknown;
  handleInspect(req: unknown): unknown;
  handleComplete(req: unknown): unknown;
  handleShutdown(req: unknown): unknown;
  createWriteToIopub(name: 'stdout' | 'stderr', writeStream: WriteStream): (chunk: string | Uint8Array) => boolean;
  close(): void;
}

export interface TslabZmqServerInstance {
  connInfo: { key: string; [key: string]: unknown };
  iopub: unknown;
  handler: unknown;
  init(): Promise<void>;
  handleShellMessage(sock: unknown, ...frames: unknown[]): Promise<void>;
  close(): void;
}

export type TslabZmqServerClass = new (handler: unknown, configPath: string) => TslabZmqServerInstance;

export interface TslabTaskQueue {
  add<T>(fn: () => Promise<T>): Promise<T>;
  reset(delay?: number): void;
}

export interface Tslab {
  version: string;
  /** directory of the tslab package that is running */
  dir: string;
  typescriptVersion: string;
  converter: {
    createConverter(options: { isJS: boolean; isBrowser: boolean }): TslabConverter;
  };
  executor: {
    createExecutor(rootDir: string, convs: TslabConverterSet, console: TslabConsole): TslabExecutor;
  };
  jupyter: {
    /** read by tslab's public display API and by ptlab's display (src/notebook/display.ts) */
    lastWriteDisplayData: WriteDisplayData | null;
    ZmqServer: TslabZmqServerClass;
    JupyterHandlerImpl: new (executor: TslabExecutor, isJs: boolean) => TslabHandler;
  };
  util: {
    TaskQueue: new () => TslabTaskQueue;
    TaskCanceledError: new (reason: unknown) => Error;
  };
  /** the TypeScript module tslab compiles cells with (@tslab/typescript-for-tslab) */
  ts: { sys: Record<string, unknown>; version: string };
}

/** Thrown when ptlab's tslab dependency is missing or not the pinned version. */
export class TslabVersionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TslabVersionError';
  }
}

/**
 * Load tslab's internals from the tslab package that `fromDir` resolves (ptlab's own
 * node_modules/tslab), after checking its version. Never falls back to another copy: the kernel
 * must not silently run a tslab whose internals differ from the shapes above.
 */
export function loadTslab(fromDir: string): Tslab {
  let pkgJson: string;
  try {
    pkgJson = require.resolve('tslab/package.json', { paths: [fromDir] });
  } catch {
    throw new TslabVersionError(
      `tslab is not installed next to ptlab (looked from ${fromDir}); run \`npm install\` in the ptlab checkout`,
    );
  }
  const dir = path.dirname(pkgJson);
  const version = (require(pkgJson) as { version: string }).version;
  if (version !== TSLAB_VERSION) {
    throw new TslabVersionError(
      `the ptlab kernel needs tslab ${TSLAB_VERSION} but found tslab ${version} in ${dir}; ` +
        `run \`npm install tslab@${TSLAB_VERSION}\` in the ptlab checkout`,
    );
  }
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [dir] })) as Tslab['ts'];
  return {
    version,
    dir,
    typescriptVersion: ts.version,
    converter: require(path.join(dir, 'dist', 'converter.js')),
    executor: require(path.join(dir, 'dist', 'executor.js')),
    jupyter: require(path.join(dir, 'dist', 'jupyter.js')),
    util: require(path.join(dir, 'dist', 'util.js')),
    ts,
  };
}
