#!/usr/bin/python3
"""Export an (executed) notebook to standalone HTML with charts visible.

    /usr/bin/python3 tools/nb/export.py NOTEBOOK.ipynb [--out OUT.html]

Uses nbconvert's HTMLExporter with the `ptlab` template in tools/nb/templates (JupyterLab's
template plus the SVG fix described there). The HTML exporter never shows the vega-lite JSON (it is
not in its MIME priority list); ptlab charts show through their image/png fallback, embedded as a
data URI, so the file is self-contained.

Exit status: 0 written, 2 bad usage, 3 nbconvert missing.
"""
import argparse
import os
import re
import sys

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
# nbconvert 6's upstream default; Debian's points at file:///usr/share/javascript/mathjax instead.
MATHJAX_CDN = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/2.7.7/MathJax.js?config=TeX-AMS_CHTML-full,Safe"
MATH = re.compile(r"\$|\\\(|\\\[|\\begin\{")

try:
    import nbformat
    from nbconvert import HTMLExporter
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: nbconvert not importable by {sys.executable}: {e}", file=sys.stderr)
    sys.exit(3)


def export(notebook_path, out_path):
    nb = nbformat.read(notebook_path, as_version=4)
    # Load MathJax only when a markdown cell has math, so most pages need nothing from the network.
    has_math = any(c.cell_type == "markdown" and MATH.search(c.source) for c in nb.cells)
    exporter = HTMLExporter(template_name="ptlab", extra_template_basedirs=[TEMPLATES],
                            mathjax_url=MATHJAX_CDN if has_math else "")
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": os.path.splitext(os.path.basename(notebook_path))[0]}})
    with open(out_path, "w", encoding="utf-8") as fh:
        fh.write(body)
    return len(body)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--out", help="output file (default: NOTEBOOK with .html)")
    args = ap.parse_args(argv)
    out = args.out or os.path.splitext(args.notebook)[0] + ".html"
    try:
        size = export(args.notebook, out)
    except (OSError, ValueError) as e:
        print(f"cannot export {args.notebook}: {e}", file=sys.stderr)
        return 2
    print(f"wrote {out} ({size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
