/**
 * An immutable, composable chart over a vega-lite v5 spec (Altair-like: every method returns a new
 * Chart). `.show()` sends ONE display message with
 *   - `application/vnd.vegalite.v5+json` (a JSON object): interactive in JupyterLab 4 and VS Code,
 *     whose renderers accept vega-lite v3-v5 but not v6;
 *   - `image/png` (base64, 2x): what GitHub, nbconvert HTML and classic Notebook show, since they do
 *     not run vega and headless `nbconvert --execute` never adds a PNG itself;
 *   - `text/plain`: a short summary for consoles and logs.
 * No `text/html` (JupyterLab ranks it above vega-lite) and SVG only on request (GitHub/nbviewer
 * mangle inline SVG). See notes/anchors-and-notebook-rendering.md s.3.
 */
import type { TopLevelSpec } from 'vega-lite';
import { display, displayTarget, sendBundle, JUPYTER_DISPLAY, type Displayable, type MimeBundle } from './display';
import { pngSize, renderSvg, svgToPng, compileVegaLite, type PngOptions } from './render';

export const VEGA_LITE_SCHEMA = 'https://vega.github.io/schema/vega-lite/v5.json';
export const VEGA_LITE_MIME = 'application/vnd.vegalite.v5+json';

/** A plain JSON object (what vega-lite specs are at runtime). */
type Json = Record<string, unknown>;

/** Top-level-only properties: a sub-chart inside layer/concat must not carry them. */
const TOP_LEVEL_ONLY = ['$schema', 'config', 'autosize', 'padding', 'background', 'usermeta', 'datasets'];

export interface BundleOptions extends PngOptions {
  /** also include `image/svg+xml` (off by default: GitHub and nbviewer render inline SVG badly) */
  svg?: boolean;
}

export interface ChartTitle {
  text: string;
  /** one line, or several */
  subtitle?: string | string[];
}

function clone<T>(x: T): T {
  return JSON.parse(JSON.stringify(x)) as T;
}

function isComposite(spec: Json): boolean {
  return 'hconcat' in spec || 'vconcat' in spec || 'concat' in spec || 'facet' in spec || 'repeat' in spec;
}

function titleText(spec: Json): string | undefined {
  const t = spec.title;
  if (typeof t === 'string') return t;
  if (t && typeof t === 'object' && typeof (t as Json).text === 'string') return (t as Json).text as string;
  return undefined;
}

export class Chart implements Displayable {
  private readonly spec: Json;
  /** one-paragraph text summary of the data (text/plain), written by the chart builder */
  private readonly summaryText: string;

  private constructor(spec: Json, summary: string) {
    this.spec = spec;
    this.summaryText = summary;
  }

  /** Wrap a vega-lite v5 spec (copied; `$schema` is set to v5). */
  static from(spec: TopLevelSpec | Json, summary = ''): Chart {
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
      throw new TypeError('Chart.from(spec): spec must be a vega-lite v5 JSON object, e.g. {mark: "bar", data: {values: [...]}, encoding: {...}}');
    }
    const s = clone(spec) as Json;
    const schema = s.$schema;
    if (typeof schema === 'string' && !/\/vega-lite\/v5(\.\d+)*\.json$/.test(schema)) {
      throw new Error(`Chart.from(spec): $schema is "${schema}"; ptlab renders vega-lite v5 only (use ${VEGA_LITE_SCHEMA})`);
    }
    return new Chart({ $schema: VEGA_LITE_SCHEMA, ...s }, summary);
  }

  private with(patch: Json, summary = this.summaryText): Chart {
    return new Chart({ ...clone(this.spec), ...clone(patch) }, summary);
  }

  /** Set the title (and optional subtitle). */
  title(text: string | ChartTitle): Chart {
    return this.with({ title: typeof text === 'string' ? { text } : { ...text } });
  }

  /** Width in CSS pixels (of each view, for faceted charts). */
  width(px: number): Chart {
    if (!(px > 0)) throw new RangeError(`width(${px}): width must be a positive number of pixels`);
    return this.with({ width: px });
  }

  height(px: number): Chart {
    if (!(px > 0)) throw new RangeError(`height(${px}): height must be a positive number of pixels`);
    return this.with({ height: px });
  }

  /** Merge arbitrary top-level vega-lite properties (config, padding, description, ...). */
  properties(props: Partial<Record<string, unknown>>): Chart {
    return this.with(props as Json);
  }

  /** Replace the text/plain summary. */
  describe(summary: string): Chart {
    return new Chart(clone(this.spec), summary);
  }

  /** The vega-lite v5 spec (a fresh copy: editing it does not change the chart). */
  toSpec(): TopLevelSpec {
    return clone(this.spec) as unknown as TopLevelSpec;
  }

  toJSON(): TopLevelSpec {
    return this.toSpec();
  }

  /** The spec without top-level-only properties, for use inside layer/concat. */
  private inner(): Json {
    const s = clone(this.spec);
    for (const k of TOP_LEVEL_ONLY) delete s[k];
    return s;
  }

  /** Draw `others` on top of this chart, sharing its axes (vega-lite `layer`). */
  layer(...others: Chart[]): Chart {
    return Chart.layer(this, ...others);
  }

  hconcat(...others: Chart[]): Chart {
    return Chart.hconcat(this, ...others);
  }

  vconcat(...others: Chart[]): Chart {
    return Chart.vconcat(this, ...others);
  }

  /** Layered chart. Width and height move to the layer (vega-lite forbids them on layer members). */
  static layer(...charts: Chart[]): Chart {
    if (charts.length === 0) throw new Error('Chart.layer(): give at least one chart');
    const members = charts.map((c, i) => {
      if (isComposite(c.spec)) throw new Error(`Chart.layer(): chart ${i} is a concat/facet/repeat chart; only single or layered charts can be layered (use hconcat/vconcat instead)`);
      return c.inner();
    });
    const out: Json = { $schema: VEGA_LITE_SCHEMA };
    for (const m of members) {
      for (const k of ['width', 'height', 'title']) {
        if (m[k] !== undefined && out[k] === undefined) out[k] = m[k];
        delete m[k];
      }
    }
    out.layer = members;
    return new Chart(out, charts.map((c) => c.summaryText).filter(Boolean).join('\n'));
  }

  static hconcat(...charts: Chart[]): Chart {
    return Chart.concat('hconcat', charts);
  }

  static vconcat(...charts: Chart[]): Chart {
    return Chart.concat('vconcat', charts);
  }

  private static concat(kind: 'hconcat' | 'vconcat', charts: Chart[]): Chart {
    if (charts.length === 0) throw new Error(`Chart.${kind}(): give at least one chart`);
    const summary = charts.map((c) => c.summaryText).filter(Boolean).join('\n');
    return new Chart({ $schema: VEGA_LITE_SCHEMA, [kind]: charts.map((c) => c.inner()) }, summary);
  }

  /** Compile to vega (throws vega-lite's message when the spec is invalid). */
  toVega(): unknown {
    return compileVegaLite(this.toSpec());
  }

  /** Standalone SVG; ids are prefixed (default: a hash of the spec) so charts can share a page. */
  toSVG(opts: { idPrefix?: string } = {}): Promise<string> {
    return renderSvg(this.toSpec(), opts);
  }

  /** PNG bytes (2x by default). */
  async toPNG(opts: PngOptions = {}): Promise<Buffer> {
    return svgToPng(await this.toSVG(), opts);
  }

  /** The text/plain summary. */
  summary(): string {
    const t = titleText(this.spec);
    const head = t ? `Chart: ${t}` : 'Chart';
    return this.summaryText ? `${head}\n${this.summaryText}` : head;
  }

  /** `{vega-lite v5 JSON, PNG base64, text}` (+ SVG on request). */
  async toMimeBundle(opts: BundleOptions = {}): Promise<MimeBundle> {
    const svg = await this.toSVG();
    const png = svgToPng(svg, opts);
    const bundle: MimeBundle = {
      [VEGA_LITE_MIME]: this.toSpec(),
      'image/png': png.toString('base64'),
      'text/plain': this.summary(),
    };
    if (opts.svg) bundle['image/svg+xml'] = svg;
    return bundle;
  }

  /** Deno's `deno jupyter` renders the last value of a cell through this method. */
  [JUPYTER_DISPLAY](): Promise<MimeBundle> {
    return this.toMimeBundle();
  }

  /**
   * Display in the notebook (one message, three MIME types). `await` it: tslab waits only for cells
   * that contain a top-level await. Without a kernel, prints the text summary. Resolves to nothing,
   * so tslab has no last value to print under the chart; use `display(chart)` for a handle that can
   * update the output in place.
   */
  async show(opts: BundleOptions = {}): Promise<void> {
    // No front end to look at a picture: skip vega and resvg, print the summary.
    if (displayTarget() === 'text') {
      sendBundle({ 'text/plain': this.summary() });
      return;
    }
    const bundle = await this.toMimeBundle(opts);
    // The PNG is drawn at `scale` device pixels per CSS pixel: tell the front end its CSS size.
    const { width, height } = pngSize(Buffer.from(bundle['image/png'] as string, 'base64'));
    const scale = opts.scale ?? 2;
    await display(bundle, { metadata: { 'image/png': { width: Math.round(width / scale), height: Math.round(height / scale) } } });
  }
}
