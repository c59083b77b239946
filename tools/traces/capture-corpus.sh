#!/usr/bin/env bash
# Captures the committed page-trace corpus (traces/*.ptt, listed in traces/README.md) with
# `ptlab trace capture`. Run from anywhere after `npm run build`; needs valgrind, gzip, xz-utils,
# sqlite3, python3 and gcc from Debian. Inputs are generated here, deterministically, so a rerun on
# the same Debian release gives the same access streams up to ASLR-free layout differences.
# Usage: tools/traces/capture-corpus.sh [NAME...]   (default: all of gzip xz sqlite3 python3 cc1)
#        tools/traces/capture-corpus.sh --readme      (only rewrite traces/README.md)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/traces"
PTLAB=(node "$ROOT/dist/src/cli/main.js")
W="$(mktemp -d)"
trap 'rm -rf "$W"' EXIT
cd "$W"

# 48 KiB of pseudo-random words (Python's Mersenne Twister, seed 1: stable across Python 3 releases)
/usr/bin/python3 -S -c '
import random
random.seed(1)
words = ["".join(random.choice("abcdefghijklmnop") for _ in range(random.randint(2, 9))) for _ in range(3000)]
out, n = [], 0
while n < 48 * 1024:
    w = random.choice(words); out.append(w); n += len(w) + 1
open("words.txt", "w").write(" ".join(out)[: 48 * 1024])
'
cat > write-heavy.sql <<'SQL'
PRAGMA journal_mode = DELETE;
CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT, v BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 600)
  INSERT INTO t SELECT x, printf('%08d', (x * 7919) % 100003), zeroblob(200) FROM c;
CREATE INDEX tk ON t (k);
UPDATE t SET v = zeroblob(300), k = k || 'x' WHERE id % 3 = 0;
DELETE FROM t WHERE id % 7 = 0;
INSERT INTO t (k, v) SELECT k || 'y', v FROM t WHERE id % 5 = 0;
SELECT count(*), sum(length(v)) FROM t;
SQL
cat > dict.py <<'PY'
d = {}
for i in range(6000):
    d["k%d" % i] = [i]
for i in range(0, 6000, 3):
    d["k%d" % i].append(i * 2)
for i in range(0, 6000, 7):
    del d["k%d" % i]
print(len(d), sum(len(v) for v in d.values()))
PY
cat > prog.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; int key; char name[24]; };
static struct node *table[256];
static unsigned hash(const char *s) { unsigned h = 5381; while (*s) h = h * 33 + (unsigned char)*s++; return h & 255; }
static void put(const char *name, int key) {
  struct node *n = malloc(sizeof *n);
  strncpy(n->name, name, sizeof n->name - 1); n->name[sizeof n->name - 1] = 0;
  n->key = key; n->next = table[hash(name)]; table[hash(name)] = n;
}
int main(int argc, char **argv) {
  char buf[32];
  for (int i = 0; i < 1000; i++) { snprintf(buf, sizeof buf, "n%d", i * argc); put(buf, i); }
  long s = 0;
  for (int b = 0; b < 256; b++) for (struct node *n = table[b]; n; n = n->next) s += n->key;
  printf("%ld %s\n", s, argv[0]);
  return 0;
}
C

cap() { # name, then the command
  local name="$1"; shift
  echo "== $name: $*" >&2
  "${PTLAB[@]}" trace capture --out "$OUT/$name.ptt" -- "$@" >/dev/null
}
ALL=("$@"); [ "${#ALL[@]}" -eq 0 ] && ALL=(gzip xz sqlite3 python3 cc1)
[ "${ALL[0]}" = --readme ] && ALL=()
mkdir -p "$OUT"
for n in "${ALL[@]+"${ALL[@]}"}"; do
  case "$n" in
    gzip) cap gzip /usr/bin/gzip -6 -c words.txt ;;
    xz) head -c 16384 words.txt > words16k.txt; cap xz /usr/bin/xz -1 -c words16k.txt ;;
    sqlite3) cap sqlite3 /usr/bin/sqlite3 t.db < write-heavy.sql ;;
    python3) cap python3 /usr/bin/python3 -S dict.py ;;
    cc1) cap cc1 "$(gcc -print-prog-name=cc1)" -quiet -imultiarch x86_64-linux-gnu -O0 prog.c -o prog.s ;;
    *) echo "unknown trace $n (gzip xz sqlite3 python3 cc1)" >&2; exit 2 ;;
  esac
done

# traces/README.md: one line per trace, from the traces themselves and dpkg
/usr/bin/python3 - "$OUT" "$ROOT" <<'PY'
import json, os, subprocess, sys
out, root = sys.argv[1], sys.argv[2]
def sh(*a):
    return subprocess.run(a, capture_output=True, text=True).stdout.strip()
def package(binary):
    real = os.path.realpath(binary)
    for p in (real, binary, "/bin/" + os.path.basename(binary)):
        r = sh("dpkg-query", "-S", p)
        if r:
            name = r.split(":")[0]
            return f"{name} {sh('dpkg-query', '-W', '-f=${Version}', name)}"
    return "?"
rows = []
for f in sorted(os.listdir(out)):
    if not f.endswith(".ptt"):
        continue
    r = subprocess.run(["node", os.path.join(root, "dist/src/cli/main.js"), "trace", "stats", "--json", os.path.join(out, f)], capture_output=True, text=True)
    if r.returncode != 0:
        print(f"README: skipping {f}: {r.stderr.strip()}", file=sys.stderr)
        continue
    st = json.loads(r.stdout)
    cap = st.get("capture", {})
    cmd = cap.get("command", []) + (["<", "write-heavy.sql"] if f == "sqlite3.ptt" else [])  # stdin is not in the trace
    rows.append(f"| `{f}` | `{' '.join(cmd)}` | {package(cmd[0]) if cmd else '?'} | {cap.get('tool', '?').split(' ')[0]} | {cap.get('date', '?')[:10]} | "
                f"{st['accesses']:,} | {st['records']:,} | {st['touched']:,} | {st['writtenFraction']:.3f} | {st['rewriteFraction']:.3f} | {os.path.getsize(os.path.join(out, f)):,} |")
head = """# Page-trace corpus

Real programs from Debian, captured with `ptlab trace capture` (valgrind's lackey; docs/traces.md)
by `tools/traces/capture-corpus.sh`, which also writes this file. The script generates every input
(48 KiB of pseudo-random words, an SQL script, a Python script, a C file) deterministically, so the
command lines below are complete. Inspect one with `ptlab trace stats traces/NAME.ptt`.

| trace | command | package | tracer | date | raw accesses | page records | pages touched | written / touched | re-written / written | bytes |
|---|---|---|---|---|---|---|---|---|---|---|
"""
open(os.path.join(out, "README.md"), "w").write(head + "\n".join(rows) + "\n")
PY
