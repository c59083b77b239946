#!/usr/bin/python3
"""Write notebooks/NAME.ipynb from its reviewable source notebooks/src/NAME.ts.

The source is TypeScript in the "percent" format (as jupytext and VS Code read it):

    // %% [markdown]
    // # A title
    // Markdown lines, each behind `// `.
    // %%
    const results = await lab.experiment('x').run()   // a code cell, verbatim

Why a generator: .ipynb JSON is unreadable in review and diffs badly; the .ts source is what people
review, and the .ipynb (committed too, without outputs) is what Jupyter and CI open. Cell ids are
derived from the notebook name and the cell index, so regenerating an unchanged source gives the
same bytes.

    /usr/bin/python3 tools/nb/make-notebook.py                 # every notebooks/src/*.ts
    /usr/bin/python3 tools/nb/make-notebook.py notebooks/src/02-uffd-unprotect-first-access.ts
    /usr/bin/python3 tools/nb/make-notebook.py --check         # exit 1 if an .ipynb is stale

Needs only the Python standard library.
"""
import argparse
import glob
import hashlib
import json
import os
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SRC_DIR = os.path.join(ROOT, "notebooks", "src")
OUT_DIR = os.path.join(ROOT, "notebooks")

MARKDOWN = "// %% [markdown]"
CODE = "// %%"


def parse(text, where):
    """Split a percent-format source into (kind, lines) cells."""
    cells = []
    kind, lines = None, []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.rstrip()
        if stripped == MARKDOWN or stripped == CODE:
            if kind is not None:
                cells.append((kind, lines))
            kind, lines = ("markdown" if stripped == MARKDOWN else "code"), []
            continue
        if kind is None:
            if stripped:
                raise SystemExit(f"{where}:{n}: text before the first cell marker; start the file with '{MARKDOWN}' or '{CODE}'")
            continue
        if kind == "markdown":
            if stripped and not stripped.startswith("//"):
                raise SystemExit(f"{where}:{n}: markdown lines must start with '// ' (got {stripped[:40]!r})")
            line = stripped[3:] if stripped.startswith("// ") else stripped[2:]
        lines.append(line.rstrip())
    if kind is not None:
        cells.append((kind, lines))
    out = []
    for kind, lines in cells:
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        if lines:
            out.append((kind, lines))
    if not out:
        raise SystemExit(f"{where}: no cells")
    return out


def notebook(name, cells):
    nb_cells = []
    for i, (kind, lines) in enumerate(cells):
        cid = hashlib.sha1(f"{name}:{i}".encode()).hexdigest()[:8]
        source = [l + "\n" for l in lines[:-1]] + [lines[-1]]
        cell = {"cell_type": kind, "id": cid, "metadata": {}, "source": source}
        if kind == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
            # keep the keys in nbformat's usual order
            cell = {"cell_type": "code", "execution_count": None, "id": cid, "metadata": {}, "outputs": [], "source": source}
        nb_cells.append(cell)
    return {
        "cells": nb_cells,
        "metadata": {
            "kernelspec": {"display_name": "ptlab (TypeScript)", "language": "typescript", "name": "ptlab"},
            "language_info": {"file_extension": ".ts", "mimetype": "text/typescript", "name": "typescript"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def render(src):
    name = os.path.splitext(os.path.basename(src))[0]
    with open(src, encoding="utf-8") as f:
        cells = parse(f.read(), os.path.relpath(src, ROOT))
    text = json.dumps(notebook(name, cells), indent=1, ensure_ascii=False) + "\n"
    return os.path.join(OUT_DIR, name + ".ipynb"), text


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("sources", nargs="*", help="notebooks/src/*.ts files (default: all)")
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if any .ipynb differs from its source")
    a = ap.parse_args()
    sources = a.sources or sorted(glob.glob(os.path.join(SRC_DIR, "*.ts")))
    if not sources:
        raise SystemExit(f"no sources in {SRC_DIR}")
    stale = []
    for src in sources:
        out, text = render(src)
        old = open(out, encoding="utf-8").read() if os.path.exists(out) else None
        if a.check:
            if old != text:
                stale.append(os.path.relpath(out, ROOT))
            continue
        if old != text:
            with open(out, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {os.path.relpath(out, ROOT)}")
    if stale:
        print("stale (run tools/nb/make-notebook.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
