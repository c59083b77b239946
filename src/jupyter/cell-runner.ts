/**
 * Run one cell with tslab's executor and report HOW it failed, not just that it failed.
 *
 * tslab's executor (tslab/dist/executor.js) returns only a boolean: it prints diagnostics with
 * `console.error("%s%d:%d - %s", ...)` and exceptions with `console.error(err)`. We own the two
 * objects it talks to, so we capture both at the source: the converter set wraps `convert()` to keep
 * the diagnostics of the cell, and the console we pass records `error()` calls while a cell runs.
 * A `%module` cell reports diagnostics yet counts as success; those are replayed to stderr as before.
 */
import type { Tslab, TslabConverter, TslabConverterSet, TslabDiagnostic, TslabExecutor } from './tslab-api';
import { diagnosticsError, exceptionError, type CellLabel, type JupyterError } from './cell-errors';

/** `result`: the MIME bundle of a last expression that knows how to display itself. */
export type CellOutcome = { ok: true; result?: Record<string, unknown> } | { ok: false; error: JupyterError };

interface Capture {
  diagnostics: TslabDiagnostic[] | null;
  errorCalls: unknown[][];
  /** renders the cell's last value, when that value is displayable */
  lastValue: (() => unknown) | null;
}

/**
 * Deno's convention for rich values, which ptlab's Chart and Table implement
 * (src/notebook/display.ts JUPYTER_DISPLAY): a method that returns a MIME bundle, or a promise of one.
 */
const JUPYTER_DISPLAY = Symbol.for('Jupyter.display');

function displayMethod(x: unknown): (() => unknown) | null {
  if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return null;
  const fn = (x as Record<symbol, unknown>)[JUPYTER_DISPLAY];
  return typeof fn === 'function' ? () => (fn as () => unknown).call(x) : null;
}

function isBundle(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.keys(x).length > 0;
}

/** Same laziness as tslab's ConverterSetImpl (main.js): the browser converter is built on first use. */
function converterSet(tslab: Tslab, onConvert: (diags: TslabDiagnostic[]) => void): TslabConverterSet {
  let node: TslabConverter | undefined;
  let browser: TslabConverter | undefined;
  const make = (isBrowser: boolean): TslabConverter => {
    const conv = tslab.converter.createConverter({ isJS: false, isBrowser });
    const convert = conv.convert.bind(conv);
    conv.convert = (prevDecl: string, src: string) => {
      const result = convert(prevDecl, src);
      onConvert(result.diagnostics);
      return result;
    };
    return conv;
  };
  return {
    get node() {
      return (node ??= make(false));
    },
    get browser() {
      return (browser ??= make(true));
    },
    close() {
      node?.close();
      browser?.close();
    },
  };
}

export class CellRunner {
  readonly executor: TslabExecutor;
  private capture: Capture | null = null;

  constructor(
    tslab: Tslab,
    rootDir: string,
    private readonly internalDirs: readonly string[] = [],
  ) {
    const convs = converterSet(tslab, (diags) => {
      if (this.capture) this.capture.diagnostics = diags;
    });
    // Warm the Node converter now, as tslab's startKernel does: creating it takes several hundred ms.
    void convs.node;
    this.executor = tslab.executor.createExecutor(rootDir, convs, {
      // tslab's executor calls log() only to print the cell's last value. A displayable value (a
      // chart, a table) becomes an execute_result with its MIME bundle instead of a text dump.
      log: (...args: unknown[]) => {
        const show = this.capture && args.length === 1 ? displayMethod(args[0]) : null;
        if (show && this.capture) this.capture.lastValue = show;
        else console.log(...args);
      },
      error: (...args: unknown[]) => {
        if (this.capture) this.capture.errorCalls.push(args);
        else console.error(...args);
      },
    });
  }

  /** Execute `code`; on failure return the Jupyter error to show for it. */
  async run(code: string, executionCount: number): Promise<CellOutcome> {
    const capture: Capture = { diagnostics: null, errorCalls: [], lastValue: null };
    this.capture = capture;
    let ok: boolean;
    try {
      ok = await this.executor.execute(code);
    } catch (e) {
      // execute() itself threw (a converter bug or an interrupt): still report it as the cell's error.
      capture.errorCalls.push([e]);
      ok = false;
    } finally {
      this.capture = null;
    }
    const cell: CellLabel = { executionCount, internalDirs: this.internalDirs };
    if (ok) {
      for (const args of capture.errorCalls) console.error(...args);
      if (!capture.lastValue) return { ok: true };
      try {
        const bundle = await capture.lastValue();
        return isBundle(bundle) ? { ok: true, result: bundle } : { ok: true };
      } catch (e) {
        return { ok: false, error: exceptionError(e, cell) };
      }
    }
    if (capture.diagnostics && capture.diagnostics.length > 0) {
      return { ok: false, error: diagnosticsError(capture.diagnostics, code, cell) };
    }
    // tslab calls console.error(e) with the exception as the only argument.
    const thrown = capture.errorCalls.find((args) => args.length === 1);
    if (thrown) return { ok: false, error: exceptionError(thrown[0], cell) };
    const text = capture.errorCalls.map((args) => args.map(String).join(' ')).join('\n');
    return { ok: false, error: { ename: 'Error', evalue: text || 'the cell failed', traceback: text ? text.split('\n') : [] } };
  }

  interrupt(): void {
    this.executor.interrupt();
  }

  close(): void {
    this.executor.close();
  }
}
