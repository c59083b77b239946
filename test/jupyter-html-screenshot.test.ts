/**
 * The HTML export shows chart PNGs, checked in a real browser: tools/nb/export.py renders a notebook
 * whose display output is a chart-like bundle (vega-lite + a PNG of a blue block + text), headless
 * Chromium screenshots the page, and the block's colour must cover most of its area, so the
 * picture is really on screen (not only present in
 * the markup, and not hidden by the template the way nbconvert 6.5 empties inline SVG).
 *
 * Optional: skipped (with a message) when chromium or nbconvert is missing; .ci/run installs chromium
 * only with PTLAB_CI_CHROMIUM=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { exportHtml, findNotebookTooling, type NotebookTooling } from '../src/jupyter/harness';
import { locatePtlab } from '../src/jupyter/ptlab-package';

const pkg = locatePtlab(path.join(__dirname, '..', 'src', 'jupyter'));

function findChromium(): string | null {
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  }
  return null;
}

/** RGBA pixels of an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium and resvg write). */
function decodePng(buf: Buffer): { width: number; height: number; rgba: Uint8Array } {
  let pos = 8;
  let width = 0;
  let height = 0;
  let colorType = 0;
  const idat: Buffer[] = [];
  while (pos < buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.equal(data[8], 8, 'bit depth 8');
      colorType = data[9];
      assert.ok(colorType === 2 || colorType === 6, `colour type ${colorType} (RGB or RGBA)`);
      assert.equal(data[12], 0, 'not interlaced');
    } else if (type === 'IDAT') idat.push(data);
    pos += 12 + len;
  }
  const bpp = colorType === 6 ? 4 : 3;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? px[y * stride + x - bpp] : 0;
      const b = y > 0 ? px[(y - 1) * stride + x] : 0;
      const c = x >= bpp && y > 0 ? px[(y - 1) * stride + x - bpp] : 0;
      let v = line[x];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      px[y * stride + x] = v & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(px.subarray(i * bpp, i * bpp + 3), i * 4);
    rgba[i * 4 + 3] = bpp === 4 ? px[i * bpp + 3] : 255;
  }
  return { width, height, rgba };
}

/** A 320x160 solid block in vega-lite's default blue, as a PNG. */
function bluePng(): Buffer {
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="160"><rect width="320" height="160" fill="#4c78a8"/></svg>';
  return Buffer.from(new Resvg(svg, { font: { loadSystemFonts: false } }).render().asPng());
}

function chartNotebook(pngBase64: string): object {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'ptlab', display_name: 'ptlab (TypeScript)', language: 'typescript' } },
    cells: [
      {
        cell_type: 'code',
        id: 'chart',
        metadata: {},
        execution_count: 1,
        source: 'await chart.show()',
        outputs: [
          {
            output_type: 'display_data',
            metadata: {},
            data: {
              'application/vnd.vegalite.v5+json': { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', mark: 'bar' },
              'image/png': pngBase64,
              'text/plain': 'a blue block',
            },
          },
        ],
      },
    ],
  };
}

const tooling = findNotebookTooling();
const chromium = findChromium();
const skip = 'missing' in tooling ? `SKIPPED: ${tooling.missing}` : !chromium ? 'SKIPPED: no chromium (optional; apt-get install chromium)' : false;
if (skip) process.stderr.write(`\n*** ${skip} (HTML screenshot check) ***\n\n`);

test('exported HTML shows the chart PNG in headless Chromium', { skip, timeout: 180_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ptlab-shot-'));
  try {
    const shot = (name: string, png: string): ReturnType<typeof decodePng> => {
      const nb = path.join(dir, `${name}.ipynb`);
      const html = path.join(dir, `${name}.html`);
      const out = path.join(dir, `${name}.png`);
      fs.writeFileSync(nb, JSON.stringify(chartNotebook(png)));
      exportHtml(tooling as NotebookTooling, pkg, nb, html);
      const r = spawnSync(
        chromium!,
        ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-dev-shm-usage', '--hide-scrollbars', '--force-device-scale-factor=1', '--window-size=900,700', `--screenshot=${out}`, `file://${html}`],
        // No session bus in CI containers: point D-Bus nowhere instead of letting Chromium retry.
        { encoding: 'utf8', timeout: 120_000, env: { ...process.env, HOME: dir, DBUS_SESSION_BUS_ADDRESS: '/dev/null' } },
      );
      assert.ok(fs.existsSync(out), `chromium wrote no screenshot (exit ${r.status}): ${r.stderr}`);
      return decodePng(fs.readFileSync(out));
    };
    const page = shot('chart', bluePng().toString('base64'));
    // Count the block's colour; nothing else on a JupyterLab-styled page is this blue.
    let blue = 0;
    for (let i = 0; i < page.rgba.length; i += 4) {
      const [r, g, b] = [page.rgba[i], page.rgba[i + 1], page.rgba[i + 2]];
      if (Math.abs(r - 0x4c) < 12 && Math.abs(g - 0x78) < 12 && Math.abs(b - 0xa8) < 12) blue++;
    }
    // 320x160 = 51,200 pixels; allow for a page narrower than the image or a scaled layout.
    assert.ok(blue > 25_000, `only ${blue} pixels of the chart are visible in the screenshot`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
