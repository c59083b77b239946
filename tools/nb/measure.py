#!/usr/bin/python3
"""Measure the ptlab kernel's cold start and first-cell time (the numbers quoted in docs/jupyter.md).

    /usr/bin/python3 tools/nb/measure.py [--kernel ptlab] [--runs 5] [--cell "import { lab } from 'ptlab'"]

Each run starts a fresh kernel with nbclient in a temporary folder and executes: the first cell
(default: the ptlab import, which loads the library and type-checks against its declarations), then
a trivial cell (`1 + 1`). Reported: kernel start (launch until kernel_info_reply), first cell,
trivial cell, as median and range over the runs. The kernelspec must be visible to Jupyter (for a
checkout: `ptlab kernel install --prefix DIR` and JUPYTER_PATH=DIR/share/jupyter).
"""
import argparse
import statistics
import sys
import tempfile
import time

import nbformat
from nbclient import NotebookClient


def one_run(kernel, first_cell):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(first_cell), nbformat.v4.new_code_cell("1 + 1")])
    with tempfile.TemporaryDirectory(prefix="ptlab-measure-") as cwd:
        client = NotebookClient(nb, kernel_name=kernel, timeout=300, resources={"metadata": {"path": cwd}})
        t0 = time.monotonic()
        with client.setup_kernel():
            start = time.monotonic() - t0
            times = []
            for i, cell in enumerate(nb.cells):
                t = time.monotonic()
                client.execute_cell(cell, i)
                times.append(time.monotonic() - t)
    return start, times[0], times[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernel", default="ptlab")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cell", default="import { lab } from 'ptlab'")
    args = ap.parse_args()
    rows = [one_run(args.kernel, args.cell) for _ in range(args.runs)]
    for name, values in zip(["kernel start", "first cell", "trivial cell"], zip(*rows)):
        print(f"{name:13s} median {statistics.median(values):.2f} s  (min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)")
    print(f"first cell: {args.cell!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
