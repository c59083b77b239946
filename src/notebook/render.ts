/**
 * vega-lite v5 spec -> vega spec -> SVG (headless vega View, renderer 'none', no canvas) -> PNG.
 *
 * Why these pieces (notes/notebook-stack-feasibility.md s.3, anchors s.3):
 * - vega 6 / vega-lite 6 are ESM with top-level await and cannot load under tslab; vega 5.33 and
 *   vega-lite 5.23 are CommonJS, so they are loaded with a plain `require`, lazily, so importing the
 *   library does not pay ~0.4 s for vega unless a chart is drawn.
 * - Without node-canvas vega cannot make PNGs (`toImageURL('png')` fails) and measures text with an
 *   estimate (~0.8 x fontSize per character); SVG works. @resvg/resvg-js (prebuilt napi binary)
 *   rasterises the SVG with the system fonts.
 * - vega numbers SVG clip paths and gradients from a module-level counter (clip1, clip2, ...): the same
 *   chart would get different ids on each render and two charts inlined in one page could clash. We
 *   renumber every id per chart under a per-chart prefix (same spec -> same bytes, no global state).
 */
import type { TopLevelSpec } from 'vega-lite';
import type * as VegaTypes from 'vega';

type VegaModule = typeof VegaTypes;
interface VegaLiteModule {
  compile(spec: TopLevelSpec, opt?: unknown): { spec: VegaTypes.Spec };
  version: string;
}
interface ResvgModule {
  Resvg: new (svg: string, opts: unknown) => { render(): { asPng(): Buffer; width: number; height: number } };
}

function vega(): VegaModule {
  return require('vega') as VegaModule;
}
function vegaLite(): VegaLiteModule {
  return require('vega-lite') as VegaLiteModule;
}

export interface RenderOptions {
  /**
   * prefix for every SVG id (clip paths, gradients), so several charts can share one HTML page;
   * default: a hash of the spec, so the same chart always gets the same ids
   */
  idPrefix?: string;
}

export interface PngOptions {
  /** device pixels per CSS pixel (default 2: sharp on high-DPI screens and in GitHub's viewer) */
  scale?: number;
  /** background colour painted under the chart (default white; vega's SVG is transparent) */
  background?: string;
}

/** vega-lite -> vega. Throws vega-lite's own message (e.g. an unknown mark) prefixed with context. */
export function compileVegaLite(spec: TopLevelSpec): VegaTypes.Spec {
  try {
    return vegaLite().compile(spec).spec;
  } catch (e) {
    throw new Error(`vega-lite could not compile the chart spec: ${(e as Error).message}`);
  }
}

/** FNV-1a 32-bit: a short, stable id prefix from the spec text (no randomness, no global state). */
export function specHash(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Rename every `id="x"` and its references (`url(#x)`, `href="#x"`) to `prefix-<stem><n>`, numbering
 * ids in order of definition. The numbers vega drew from its global counter disappear, so the SVG
 * depends only on the chart, not on what was rendered before or at the same time.
 */
export function prefixSvgIds(svg: string, prefix: string): string {
  const safe = prefix.replace(/[^A-Za-z0-9_-]/g, '_');
  const renamed = new Map<string, string>();
  for (const m of svg.matchAll(/\sid="([^"]+)"/g)) {
    if (renamed.has(m[1])) continue;
    const stem = m[1].replace(/[0-9]+$/, '').replace(/[^A-Za-z0-9_-]/g, '_');
    renamed.set(m[1], `${safe}-${stem}${renamed.size}`);
  }
  if (renamed.size === 0) return svg;
  const re = /(\sid=")([^"]+)(")|(url\(#)([^)]+)(\))|(href="#)([^"]+)(")/g;
  return svg.replace(re, (all, a1, id1, a3, b1, id2, b3, c1, id3, c3) => {
    if (id1 !== undefined) return renamed.has(id1) ? `${a1}${renamed.get(id1)}${a3}` : all;
    if (id2 !== undefined) return renamed.has(id2) ? `${b1}${renamed.get(id2)}${b3}` : all;
    return renamed.has(id3) ? `${c1}${renamed.get(id3)}${c3}` : all;
  });
}

/** Render a vega-lite spec to a standalone SVG string. */
export async function renderSvg(spec: TopLevelSpec, opts: RenderOptions = {}): Promise<string> {
  const vg = vega();
  const vgSpec = compileVegaLite(spec);
  const view = new vg.View(vg.parse(vgSpec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    return prefixSvgIds(svg, opts.idPrefix ?? `c${specHash(JSON.stringify(spec))}`);
  } finally {
    view.finalize();
  }
}

/** Rasterise an SVG to PNG with resvg and the system fonts (DejaVu Sans stands in for sans-serif). */
export function svgToPng(svg: string, opts: PngOptions = {}): Buffer {
  const { Resvg } = require('@resvg/resvg-js') as ResvgModule;
  const r = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: opts.scale ?? 2 },
    background: opts.background ?? 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  });
  return r.render().asPng();
}

/** Width and height from a PNG's IHDR chunk (throws if the bytes are not a PNG). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new Error('not a PNG: missing the 8-byte PNG signature');
  const type = String.fromCharCode(png[12], png[13], png[14], png[15]);
  if (type !== 'IHDR') throw new Error('not a PNG: first chunk is not IHDR');
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

/** vega-lite spec -> PNG bytes. */
export async function renderPng(spec: TopLevelSpec, opts: RenderOptions & PngOptions = {}): Promise<Buffer> {
  return svgToPng(await renderSvg(spec, opts), opts);
}

/** The vega-lite version actually loaded (for reports). */
export function vegaLiteVersion(): string {
  return vegaLite().version;
}

/**
 * Compile and collect vega-lite's warnings (it logs them to the console by default, e.g. "dropping
 * field with incompatible type"): an empty list means the spec is clean. Throws on hard errors.
 */
export function vegaLiteWarnings(spec: TopLevelSpec): string[] {
  const warnings: string[] = [];
  let level = 2;
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: unknown[]) {
      throw new Error(`vega-lite could not compile the chart spec: ${args.map(String).join(' ')}`);
    },
    warn(...args: unknown[]) {
      warnings.push(args.map(String).join(' '));
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  vegaLite().compile(spec, { logger });
  return warnings;
}
