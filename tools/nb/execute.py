#!/usr/bin/python3
"""Execute a notebook with nbclient, cell by cell, and report what failed.

Run with Debian's /usr/bin/python3 (the python3 first on PATH may lack nbclient):

    /usr/bin/python3 tools/nb/execute.py NOTEBOOK.ipynb [--kernel ptlab] [--out OUT.ipynb]
        [--timeout 300] [--cwd DIR] [--summary SUMMARY.json]

Why not `jupyter nbconvert --execute`:
- tslab cancels queued requests for 200 ms after a failed cell (tslab issue #19), so with
  --allow-errors the following cells silently get no output. We wait 0.3 s after a failure.
- tslab reports TypeScript errors only on stderr; nbconvert then says `<Error>:`. We print each
  failing cell's error output, or its stderr when a kernel gives nothing better.
- Charts must carry their fallbacks: every output with application/vnd.vegalite.v5+json must also
  have a non-empty image/png (GitHub, nbconvert HTML and classic Notebook show only that) and
  text/plain, and no text/html (JupyterLab ranks it above the chart).

Cells tagged `raises-exception` are expected to fail; they count as failures when they succeed.
Exit status: 0 all good, 1 failures (listed on stdout), 2 bad usage, 3 nbclient/nbformat missing.
"""
import argparse
import base64
import binascii
import json
import os
import sys
import time

VEGALITE = "application/vnd.vegalite.v5+json"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# tslab 1.0.22 (dist/jupyter.js) resets its queue 200 ms after a failure; wait a little longer.
AFTER_FAILURE_SLEEP_S = 0.3
EXPECTED_ERROR_TAG = "raises-exception"

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
except ImportError as e:  # pragma: no cover - depends on the machine
    print(f"SKIPPED: nbclient/nbformat not importable by {sys.executable}: {e}", file=sys.stderr)
    sys.exit(3)


def text_of(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def error_text(outputs):
    """The error outputs of a cell, else its stderr: what a reader needs to see why it failed."""
    errors = [o for o in outputs if o.get("output_type") == "error"]
    if errors:
        parts = []
        for o in errors:
            tb = "\n".join(o.get("traceback") or [])
            parts.append(tb if tb.strip() else f"{o.get('ename', 'Error')}: {o.get('evalue', '')}")
        return "\n".join(parts)
    stderr = "".join(text_of(o.get("text")) for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr")
    return stderr.strip() or "(the kernel reported an error but sent no error output and no stderr)"


def check_bundles(outputs):
    """Problems with chart bundles in a cell's outputs (empty list when all are complete)."""
    problems = []
    for n, o in enumerate(outputs):
        data = o.get("data") or {}
        if VEGALITE not in data:
            continue
        where = f"output {n} ({o.get('output_type')})"
        png = text_of(data.get("image/png"))
        if not png.strip():
            problems.append(f"{where}: {VEGALITE} without a non-empty image/png fallback")
        else:
            try:
                raw = base64.b64decode("".join(png.split()), validate=True)
                if not raw.startswith(PNG_SIGNATURE):
                    problems.append(f"{where}: image/png is not a PNG (bad signature)")
            except (binascii.Error, ValueError):
                problems.append(f"{where}: image/png is not valid base64")
        if not text_of(data.get("text/plain")).strip():
            problems.append(f"{where}: {VEGALITE} without a non-empty text/plain")
        if "text/html" in data:
            problems.append(f"{where}: text/html in a chart bundle (JupyterLab would show it instead of the chart)")
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebook")
    ap.add_argument("--kernel", help="kernel name (default: the notebook's kernelspec, else ptlab)")
    ap.add_argument("--out", help="where to write the executed notebook (default: do not write)")
    ap.add_argument("--timeout", type=int, default=300, help="seconds per cell (default 300)")
    ap.add_argument("--startup-timeout", type=int, default=120, help="seconds for the kernel to start")
    ap.add_argument("--cwd", help="kernel working directory (default: the notebook's folder)")
    ap.add_argument("--summary", help="write a JSON summary here")
    args = ap.parse_args(argv)

    try:
        nb = nbformat.read(args.notebook, as_version=4)
    except (OSError, ValueError) as e:
        print(f"cannot read {args.notebook}: {e}", file=sys.stderr)
        return 2
    kernel = args.kernel or nb.metadata.get("kernelspec", {}).get("name") or "ptlab"
    cwd = args.cwd or os.path.dirname(os.path.abspath(args.notebook))

    # allow_errors: we decide what a failure is (per cell) and keep running the rest; nbclient then
    # sends stop_on_error=False, which the ptlab kernel honours (plain tslab ignores it).
    client = NotebookClient(
        nb,
        kernel_name=kernel,
        timeout=args.timeout,
        startup_timeout=args.startup_timeout,
        allow_errors=True,
        record_timing=True,
        resources={"metadata": {"path": cwd}},
    )
    replies = {}
    client.on_cell_executed = lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply)

    failures = []  # {"index", "code_cell", "execution_count", "kind", "text"}
    timings = []
    t0 = time.monotonic()
    kernel_start_s = None
    code_cell = 0
    try:
        with client.setup_kernel():
            # setup_kernel waits for kernel_info_reply: the kernel is ready here.
            kernel_start_s = time.monotonic() - t0
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                code_cell += 1
                expected = EXPECTED_ERROR_TAG in cell.metadata.get("tags", [])
                started = time.monotonic()
                failed = False
                try:
                    client.execute_cell(cell, index)
                    reply = replies.get(index) or {}
                    failed = (reply.get("content") or {}).get("status") == "error"
                    if failed and not expected:
                        failures.append(dict(index=index, code_cell=code_cell, execution_count=cell.get("execution_count"),
                                             kind="error", text=error_text(cell.outputs)))
                    elif expected and not failed:
                        failures.append(dict(index=index, code_cell=code_cell, execution_count=cell.get("execution_count"),
                                             kind="expected-error", text=f"tagged {EXPECTED_ERROR_TAG} but ran without error"))
                except CellTimeoutError as e:
                    failed = True
                    failures.append(dict(index=index, code_cell=code_cell, execution_count=None, kind="timeout", text=str(e)))
                timings.append(dict(index=index, seconds=round(time.monotonic() - started, 3)))
                for problem in check_bundles(cell.outputs):
                    failures.append(dict(index=index, code_cell=code_cell, execution_count=cell.get("execution_count"),
                                         kind="bundle", text=problem))
                if failed:
                    time.sleep(AFTER_FAILURE_SLEEP_S)
    except DeadKernelError as e:
        failures.append(dict(index=None, code_cell=code_cell, execution_count=None, kind="kernel-died", text=str(e)))
    except RuntimeError as e:  # e.g. kernel failed to start, unknown kernel name
        failures.append(dict(index=None, code_cell=code_cell, execution_count=None, kind="kernel", text=f"{type(e).__name__}: {e}"))
    except Exception as e:  # jupyter_client's NoSuchKernel and friends
        failures.append(dict(index=None, code_cell=code_cell, execution_count=None, kind="kernel", text=f"{type(e).__name__}: {e}"))
    total_s = time.monotonic() - t0

    # A kernel that dies before its first reply (seen under heavy load on 2 cores) never ran a
    # cell: start the whole run once more before calling it a failure.
    died_at_start = code_cell == 0 and any(f["kind"] == "kernel" and "before replying to kernel_info" in f["text"] for f in failures)
    if died_at_start and not os.environ.get("PTLAB_NB_RETRIED"):
        print(f"{os.path.basename(args.notebook)}: the kernel died while starting; retrying once", file=sys.stderr)
        os.environ["PTLAB_NB_RETRIED"] = "1"
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable] + sys.argv)

    if args.out:
        nbformat.write(nb, args.out)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as e:
        failures.append(dict(index=None, code_cell=None, execution_count=None, kind="nbformat", text=str(e).split("\n")[0]))

    name = os.path.basename(args.notebook)
    for f in failures:
        if f["index"] is None:
            head = f"{name}: {f['kind']}"
        else:
            n = f["execution_count"]
            head = f"{name}: cell {f['index']} (code cell {f['code_cell']}{', In [%s]' % n if n else ''}) {f['kind']}"
        print(f"FAILED {head}\n" + "\n".join("    " + line for line in f["text"].splitlines()))
    if not failures:
        print(f"ok {name}: {code_cell} code cells, kernel {kernel}, {total_s:.1f} s")

    if args.summary:
        with open(args.summary, "w") as fh:
            json.dump(dict(notebook=args.notebook, kernel=kernel, ok=not failures, failures=failures,
                           kernel_start_s=kernel_start_s, total_s=round(total_s, 3), cells=timings), fh, indent=2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
