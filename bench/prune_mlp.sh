#!/bin/sh
# prune_mlp.sh — structured pruning that shrinks the code, measured (issue 13): the MLP of
# models/mlp_fashion.tt (784-256-10) trained 3 epochs, half its hidden neurons pruned
# (prune.ln_structured along dim 0), fine-tuned 1 epoch with the mask, the mask made
# permanent (bench/prune_mlp_train.tt, once). Then bench/prune_mlp_infer.tt (the saved
# model, its test accuracy and its batch-1 latency) built twice from the same source: the
# default pipeline (256-wide arrays, 128 rows zero) and the same pipeline with the prune
# pass (128-wide arrays), the two binaries run alternately RUNS times each after a warm-up
# run; the median and the spread (min-max) of each, and the ratio of medians. Also the array
# widths the emitted C declares. Not a test: nothing in ctest runs it.
#
#   bench/prune_mlp.sh [RUNS]     (default 7)
#
# Env: TTC (a built ttc; else it is built in $BENCH_DIR/build), BENCH_DIR (scratch, default
# /tmp/ttc-bench-prune). Needs Debian's dataset-fashion-mnist.
set -eu
RUNS=${1:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench-prune}
mkdir -p "$BENCH_DIR"
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" -j2 --target ttc >/dev/null
  TTC="$BENCH_DIR/build/ttc"
fi
cd "$BENCH_DIR"
PIPE=autodiff,conv-im2col,dce,fuse,dce,memplan
PRUNED=autodiff,conv-im2col,dce,prune,fuse,dce,memplan

echo "== training, pruning 50% of the hidden neurons, fine-tuning (bench/prune_mlp_train.tt)"
"$TTC" run "$ROOT/bench/prune_mlp_train.tt" | grep -v '^epoch'

"$TTC" compile "$ROOT/bench/prune_mlp_infer.tt" --passes=$PIPE -o dense.c
"$TTC" compile "$ROOT/bench/prune_mlp_infer.tt" --passes=$PRUNED -o pruned.c --explain=prune 2> explain.txt
"$TTC" build "$ROOT/bench/prune_mlp_infer.tt" --passes=$PIPE -o dense.bin
"$TTC" build "$ROOT/bench/prune_mlp_infer.tt" --passes=$PRUNED -o pruned.bin
echo "== the prune pass (--explain=prune)"
cat explain.txt
echo "== the arrays the inference reads, as declared in the C"
grep -E '^static TT_ALIGN float (fc1_weight|fc1_bias|fc2_weight)(_pruned)?\[' dense.c | sed 's/^/  default: /'
grep -E '^static TT_ALIGN float (fc1_weight|fc1_bias|fc2_weight)_pruned\[' pruned.c | sed 's/^/  prune:   /'
grep -E 'tt_gemm_f32\(1, [0-9]+, 784' dense.c | head -1 | sed 's/^ */  default fc1 GEMM: /'
grep -E 'tt_gemm_f32\(1, [0-9]+, 784' pruned.c | head -1 | sed 's/^ */  prune fc1 GEMM:   /'

echo "== batch-1 latency, $RUNS runs each, alternating (after one warm-up run each)"
./dense.bin > dense.out
./pruned.bin > pruned.out
grep accuracy dense.out | sed 's/^/  default: /'
grep accuracy pruned.out | sed 's/^/  prune:   /'
: > dense.t
: > pruned.t
i=0
while [ $i -lt "$RUNS" ]; do
  ./dense.bin | sed -n 's/^batch-1 latency \([0-9.]*\) us.*/\1/p' >> dense.t
  ./pruned.bin | sed -n 's/^batch-1 latency \([0-9.]*\) us.*/\1/p' >> pruned.t
  i=$((i + 1))
done
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'; }
set -- $(stats dense.t)
dm=$1
printf "  default: median %8.2f us  (min %.2f, max %.2f)\n" "$1" "$2" "$3"
set -- $(stats pruned.t)
pm=$1
printf "  prune:   median %8.2f us  (min %.2f, max %.2f)\n" "$1" "$2" "$3"
awk -v a="$dm" -v b="$pm" 'BEGIN { printf "  speedup (ratio of medians): %.2fx\n", a / b }'
