#!/bin/sh
# gpt_train.sh — one GPT training step, ttc vs PyTorch, side by side: bench/gpt_train.py
# (nanoGPT's model: batch 16, context 128, 4 layers, 4 heads, d_model 128, AdamW, gradient
# clipping) built by ttc and run by python3. Each prints the mean time of 20 steps after 3
# warm-up steps; the systems run interleaved, RUNS rounds after one discarded round, and the
# table shows the median [min-max] of the rounds. Not a test: nothing in ctest runs it.
#
#   bench/gpt_train.sh [RUNS]        (default 5)
#
# Needs: cmake and cc (to build ttc), /usr/bin/python3 with Debian's python3-torch, and
# libopenblas0-pthread installed (Debian's torch calls whatever libblas.so.3 is installed;
# the reference BLAS would make the comparison meaningless, so the script refuses it).
# Env: TTC (a built ttc; else it is built in $BENCH_DIR/build), BENCH_DIR (default
# /tmp/ttc-bench).
set -eu
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
PY=/usr/bin/python3
mkdir -p "$BENCH_DIR"
die() { echo "gpt_train.sh: $*" >&2; exit 1; }
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive integer";; esac
$PY -c 'import torch' 2>/dev/null || die "needs $PY with torch (apt-get install python3-torch)"
case $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null) in
  *openblas*) ;;
  *) die "libblas.so.3 is not OpenBLAS: apt-get install libopenblas0-pthread (PyTorch at its best)";;
esac
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" --target ttc -j2 >/dev/null
  TTC=$BENCH_DIR/build/ttc
fi
t0=$(date +%s.%N)
TTC_CACHE_DIR=$BENCH_DIR/cache-gpt "$TTC" build "$ROOT/bench/gpt_train.py" -o "$BENCH_DIR/gpt_train"
t1=$(date +%s.%N)
echo "ttc build bench/gpt_train.py: $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s (the runtime cached or not)"
ms() { sed -n 's/^ms per step //p'; }
torch_run() { # THREADS
  OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 $PY -c "import runpy, sys, torch; sys.path.insert(0, '$ROOT/bench'); torch.set_num_threads($1); runpy.run_path('$ROOT/bench/gpt_train.py', run_name='__main__')"
}
: > "$BENCH_DIR/gpt_rows"
for r in $(seq 0 "$RUNS"); do
  a=$("$BENCH_DIR/gpt_train" | ms)
  b=$(torch_run 1 | ms)
  c=$(torch_run 2 | ms)
  [ "$r" -eq 0 ] && continue # the warm-up round
  echo "ttc $a" >> "$BENCH_DIR/gpt_rows"
  echo "torch-1 $b" >> "$BENCH_DIR/gpt_rows"
  echo "torch-2 $c" >> "$BENCH_DIR/gpt_rows"
done
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $CPU, $(nproc) cores; load after: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS rounds"
echo "| system | ms per training step, median [min-max] |"
echo "|---|---|"
for s in ttc torch-1 torch-2; do
  grep "^$s " "$BENCH_DIR/gpt_rows" | cut -d' ' -f2 | sort -n |
    awk -v s="$s" '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      name = s == "ttc" ? "ttc" : "torch 1.13 + OpenBLAS, " substr(s, 7) " thread" (substr(s, 7) == "1" ? "" : "s");
      printf "| %s | %.1f [%.1f-%.1f] |\n", name, m, v[1], v[NR] }'
done
