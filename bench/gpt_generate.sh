#!/bin/sh
# gpt_generate.sh — nanoGPT's generate() by full recompute, ttc vs PyTorch, side by side:
# bench/gpt_generate.py (the bench GPT: 4 layers, 4 heads, d_model 128, context 128; batch 1,
# 127 new tokens after a 1-token prompt) built by ttc without its kvcache pass and run by
# python3. Each prints the time per token of one timed generate() after a warm-up one; the
# systems run interleaved, RUNS rounds after one discarded round, and the table shows the
# median [min-max] of the rounds. The script also checks that both drew the same 128 tokens. Not a test: nothing in
# ctest runs it.
#
#   bench/gpt_generate.sh [RUNS]        (default 5)
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
die() { echo "gpt_generate.sh: $*" >&2; exit 1; }
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
# full recompute on both sides: without the kvcache pass (bench/gpt_kvcache.sh measures it)
TTC_CACHE_DIR=$BENCH_DIR/cache-gpt "$TTC" build "$ROOT/bench/gpt_generate.py" --disable-pass=kvcache -o "$BENCH_DIR/gpt_generate"
t1=$(date +%s.%N)
echo "ttc build bench/gpt_generate.py: $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s (the runtime cached or not)"
ms() { sed -n 's/^ms per token //p'; }
torch_run() { # THREADS
  OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 $PY -c "import runpy, sys, torch; sys.path.insert(0, '$ROOT/bench'); torch.set_num_threads($1); runpy.run_path('$ROOT/bench/gpt_generate.py', run_name='__main__')"
}
: > "$BENCH_DIR/gen_rows"
"$BENCH_DIR/gpt_generate" | grep '^tokens \[' > "$BENCH_DIR/gen_tokens_ttc"
torch_run 1 | grep '^tokens \[' > "$BENCH_DIR/gen_tokens_torch"
cmp -s "$BENCH_DIR/gen_tokens_ttc" "$BENCH_DIR/gen_tokens_torch" || die "ttc and PyTorch drew different tokens"
echo "tokens: the same 128 under ttc and PyTorch"
for r in $(seq 0 "$RUNS"); do
  a=$("$BENCH_DIR/gpt_generate" | ms)
  b=$(torch_run 1 | ms)
  c=$(torch_run 2 | ms)
  [ "$r" -eq 0 ] && continue # the warm-up round
  echo "ttc $a" >> "$BENCH_DIR/gen_rows"
  echo "torch-1 $b" >> "$BENCH_DIR/gen_rows"
  echo "torch-2 $c" >> "$BENCH_DIR/gen_rows"
done
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $CPU, $(nproc) cores; load after: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS rounds"
echo "| system | ms per token, median [min-max] | tokens/s |"
echo "|---|---|---|"
for s in ttc torch-1 torch-2; do
  grep "^$s " "$BENCH_DIR/gen_rows" | cut -d' ' -f2 | sort -n |
    awk -v s="$s" '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      name = s == "ttc" ? "ttc" : "torch 1.13 + OpenBLAS, " substr(s, 7) " thread" (substr(s, 7) == "1" ? "" : "s");
      printf "| %s | %.2f [%.2f-%.2f] | %.0f |\n", name, m, v[1], v[NR], 1000 / m }'
done
