/**
 * Rich display: send ONE Jupyter display message carrying several MIME types.
 *
 * tslab 1.0.22's public `display.*` API sends exactly one MIME type per message, which would split a
 * chart into a vega-lite output and a separate PNG output. The kernel's own writer,
 * `exports.lastWriteDisplayData` of `tslab/dist/jupyter.js`, passes `content.data` through unchanged,
 * so a whole bundle goes out as one `display_data` (verified in notes/notebook-stack-feasibility.md, s.2).
 * We find the *running* copy through `require.cache` (a plain require could resolve a different
 * install whose writer is null). This is internal tslab API: pinned to tslab 1.0.22.
 *
 * Order of sinks: an injected sink (setDisplaySink; tests, other kernels), tslab's writer, Deno's
 * `Deno.jupyter.display`, and finally plain text on stdout when no kernel is present.
 */

/** A MIME bundle: MIME type -> payload (string, or a JSON object for `+json` types). */
export type MimeBundle = Record<string, unknown>;

/** The content of a Jupyter `display_data` / `update_display_data` message. */
export interface DisplayMessage {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** Receives one display message; `update` = true means `update_display_data` for an existing id. */
export type DisplaySink = (msg: DisplayMessage, update: boolean) => void;

/** Deno's hook: an object with this method renders as a MIME bundle when it is a cell's last value. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for('Jupyter.display');

/** Anything that can produce a MIME bundle (charts, tables). */
export interface Displayable {
  toMimeBundle(): MimeBundle | Promise<MimeBundle>;
}

export interface DisplayOptions {
  /** fixed display id, so later `updateDisplay(id, …)` replaces this output in place */
  displayId?: string;
  metadata?: Record<string, unknown>;
}

export interface DisplayHandle {
  /** the display id (generated when not given) */
  id: string;
  /** where the message went */
  via: DisplayTarget;
  /** replace the output in place */
  update(bundle: MimeBundle | Displayable): Promise<DisplayTarget>;
}

export type DisplayTarget = 'sink' | 'tslab' | 'deno' | 'text';

let injectedSink: DisplaySink | null = null;

/**
 * Install a sink that receives every display message (tests use it; other kernels can adapt it).
 * Pass null to remove it. Returns the previous sink so callers can restore it.
 */
export function setDisplaySink(fn: DisplaySink | null): DisplaySink | null {
  const prev = injectedSink;
  injectedSink = fn;
  return prev;
}

/** tslab/dist/jupyter.js of the running kernel, if loaded; tslab sets the writer on each execute request. */
function tslabWriter(): ((msg: DisplayMessage, update: boolean) => void) | null {
  const cache = typeof require !== 'undefined' ? require.cache : undefined;
  if (!cache) return null;
  for (const key of Object.keys(cache)) {
    if (!/[\\/]tslab[\\/]dist[\\/]jupyter\.js$/.test(key)) continue;
    const w = (cache[key]?.exports as { lastWriteDisplayData?: unknown } | undefined)?.lastWriteDisplayData;
    if (typeof w === 'function') return w as (msg: DisplayMessage, update: boolean) => void;
  }
  return null;
}

interface DenoJupyter {
  display(obj: unknown, opts: { raw: boolean; update?: boolean; display_id?: string }): unknown;
}

function denoJupyter(): DenoJupyter | null {
  const deno = (globalThis as { Deno?: { jupyter?: DenoJupyter } }).Deno;
  if (!deno) return null;
  try {
    // Deno documents that touching Deno.jupyter outside a notebook throws.
    const j = deno.jupyter;
    return j && typeof j.display === 'function' ? j : null;
  } catch {
    return null;
  }
}

/** Where a display would go now: an injected sink, a running Jupyter kernel, or plain text. */
export function displayTarget(): DisplayTarget {
  if (injectedSink) return 'sink';
  if (tslabWriter()) return 'tslab';
  if (denoJupyter()) return 'deno';
  return 'text';
}

/** True when displays reach a notebook front end (or a test sink), not stdout. */
export function kernelAvailable(): boolean {
  return displayTarget() !== 'text';
}

let nextId = 0;
/** Display ids only need to be unique within one kernel session. */
function newDisplayId(): string {
  nextId += 1;
  return `ptlab-${process.pid}-${nextId}`;
}

function isDisplayable(x: unknown): x is Displayable {
  return typeof x === 'object' && x !== null && typeof (x as Displayable).toMimeBundle === 'function';
}

async function bundleOf(x: MimeBundle | Displayable): Promise<MimeBundle> {
  return isDisplayable(x) ? await x.toMimeBundle() : x;
}

/** The text shown when there is no kernel: text/plain, else the first string payload, else the MIME list. */
export function plainText(bundle: MimeBundle): string {
  const t = bundle['text/plain'];
  if (typeof t === 'string') return t;
  return `<display: ${Object.keys(bundle).join(', ') || 'empty bundle'}>`;
}

/** Send one message synchronously (the bundle is already built). */
export function sendBundle(bundle: MimeBundle, opts: DisplayOptions & { update?: boolean } = {}): DisplayTarget {
  const msg: DisplayMessage = {
    data: bundle,
    metadata: opts.metadata ?? {},
    transient: opts.displayId ? { display_id: opts.displayId } : {},
  };
  const update = !!opts.update;
  if (injectedSink) {
    injectedSink(msg, update);
    return 'sink';
  }
  const w = tslabWriter();
  if (w) {
    w(msg, update);
    return 'tslab';
  }
  const deno = denoJupyter();
  if (deno) {
    deno.display(bundle, { raw: true, update, display_id: opts.displayId });
    return 'deno';
  }
  process.stdout.write(plainText(bundle).replace(/\n?$/, '\n'));
  return 'text';
}

/**
 * Show a bundle or a displayable object as one display message. Await it: tslab only waits for
 * cells that contain a top-level await, so `await chart.show()` keeps the output in its cell.
 */
export async function display(x: MimeBundle | Displayable, opts: DisplayOptions = {}): Promise<DisplayHandle> {
  const bundle = await bundleOf(x);
  const id = opts.displayId ?? newDisplayId();
  const via = sendBundle(bundle, { ...opts, displayId: id });
  return { id, via, update: (b) => updateDisplay(id, b) };
}

/**
 * Synchronous variant for bundles that are already built (tables, progress): the message is sent
 * before this returns, so it lands in the running cell even without `await`.
 */
export function displayBundle(bundle: MimeBundle, opts: DisplayOptions = {}): DisplayHandle {
  const id = opts.displayId ?? newDisplayId();
  const via = sendBundle(bundle, { ...opts, displayId: id });
  return { id, via, update: (b) => updateDisplay(id, b) };
}

/** Replace the output with display id `id` in place (`update_display_data`). */
export async function updateDisplay(id: string, x: MimeBundle | Displayable): Promise<DisplayTarget> {
  return sendBundle(await bundleOf(x), { displayId: id, update: true });
}
