/**
 * The kernel's logo: a four-level x86-64 page walk (CR3 -> PML4 -> PDPT -> PD -> PT), drawn as
 * shapes only, with the leaf PTE in amber for the dirty bit the seed thread is about. No text, so
 * it renders the same with or without system fonts.
 *
 * Jupyter front ends look for logo-32x32.png and logo-64x64.png in the kernelspec directory
 * (jupyter_client's kernelspec resources); JupyterLab also uses logo-svg.svg.
 */
export const LOGO_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" viewBox="0 0 64 64">
  <rect x="0" y="0" width="64" height="64" rx="12" fill="#1f3b5c"/>
  <g fill="none" stroke="#9fb7d3" stroke-width="2">
    <path d="M13 14 H19 V22 H25"/>
    <path d="M29 24 H35 V32 H41"/>
    <path d="M45 34 H51 V42"/>
  </g>
  <g fill="#d7e3f0">
    <rect x="6" y="10" width="10" height="8" rx="1.5"/>
    <rect x="22" y="18" width="10" height="8" rx="1.5"/>
    <rect x="38" y="28" width="10" height="8" rx="1.5"/>
  </g>
  <rect x="44" y="42" width="14" height="12" rx="2" fill="#f5a623"/>
  <g fill="#1f3b5c">
    <rect x="47" y="45" width="3" height="6"/>
    <rect x="52" y="45" width="3" height="6"/>
  </g>
</svg>
`;

/** PNG files for a kernelspec, keyed by file name; rendered with @resvg/resvg-js. */
export function renderLogoPngs(): Map<string, Buffer> {
  // Loaded here, not at the top: only `ptlab kernel install` needs the native rasteriser.
  const { Resvg } = require('@resvg/resvg-js') as typeof import('@resvg/resvg-js');
  const out = new Map<string, Buffer>();
  for (const size of [32, 64]) {
    const png = new Resvg(LOGO_SVG, { fitTo: { mode: 'width', value: size }, font: { loadSystemFonts: false } })
      .render()
      .asPng();
    out.set(`logo-${size}x${size}.png`, Buffer.from(png));
  }
  return out;
}
