#!/bin/sh
# sparse_mlp.sh — the sparse Linear for unstructured pruning, measured (issue 13): the MLP of
# models/mlp_fashion.tt (784-256-10) trained 3 epochs, both layers pruned 80% and 90% by
# prune.l1_unstructured and fine-tuned 1 epoch with the masks (bench/sparse_mlp_train.tt,
# once). Then bench/sparse_mlp_infer.tt (the saved model, its test accuracy and its batch-1
# latency) for the unpruned model and each pruned one, each pruned one built twice from the
# same source: the default pipeline (the dense GEMM over the zeros) and the same pipeline with
# the prune pass (which proves the zeros and picks tt_sparse_linear_f32). The five binaries
# run interleaved RUNS times each after a warm-up run; the median and the spread (min-max) of
# each, and the ratio of medians dense / sparse. The accuracy and the output checksum must
# be the same with and without the pass. Last, bench/sparse_bench.c's table of the kernel
# alone against the GEMM by density and batch (the pass's limits come from it).
# Not a test: nothing in ctest runs it.
#
#   bench/sparse_mlp.sh [RUNS]     (default 7)
#
# Env: TTC (a built ttc; else it is built in $BENCH_DIR/build), BENCH_DIR (scratch, default
# /tmp/ttc-bench-sparse), TT_THREADS (passed on; 1 for one-thread numbers). Needs Debian's
# dataset-fashion-mnist.
set -eu
RUNS=${1:-7}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench-sparse}
mkdir -p "$BENCH_DIR"
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" -j2 --target ttc >/dev/null
  TTC="$BENCH_DIR/build/ttc"
fi
cd "$BENCH_DIR"
PIPE=autodiff,conv-im2col,dce,fuse,dce,memplan
PRUNED=autodiff,conv-im2col,dce,prune,fuse,dce,memplan

echo "== training, pruning 80% and 90% of the weights, fine-tuning (bench/sparse_mlp_train.tt)"
"$TTC" run "$ROOT/bench/sparse_mlp_train.tt" | grep -v '^epoch'

# infer NAME AMOUNT CKPT: the inference program for that checkpoint
infer() {
  sed -e "s/^AMOUNT = .*/AMOUNT = $2/" -e "s/^CKPT = .*/CKPT = \"$3\"/" "$ROOT/bench/sparse_mlp_infer.tt" > "$1.tt"
}
infer unpruned 0.0 mlp_dense.ckpt
infer s80 0.8 mlp_sparse80.ckpt
infer s90 0.9 mlp_sparse90.ckpt
"$TTC" build unpruned.tt --passes=$PIPE -o unpruned.bin
for m in s80 s90; do
  "$TTC" build $m.tt --passes=$PIPE -o $m.dense.bin
  "$TTC" build $m.tt --passes=$PRUNED -o $m.sparse.bin
  "$TTC" compile $m.tt --passes=$PRUNED -o $m.sparse.c --explain=prune 2> $m.explain
done
echo "== the prune pass (--explain=prune, 90%)"
sed 's/^/  /' s90.explain
echo "== the batch-1 products in the C (90%)"
grep -E 'tt_sparse_linear_f32\(1,' s90.sparse.c | sed 's/^ */  /'

BINS="unpruned s80.dense s80.sparse s90.dense s90.sparse"
echo "== test accuracy and checksum (warm-up run)"
for b in $BINS; do
  ./$b.bin > $b.out
  printf "  %-11s %s, %s\n" "$b:" "$(grep accuracy $b.out)" "$(sed -n 's/.*(\(checksum [^)]*\)).*/\1/p' $b.out)"
  : > $b.t
done
for m in s80 s90; do
  if [ "$(grep accuracy $m.dense.out)" != "$(grep accuracy $m.sparse.out)" ] ||
     [ "$(sed -n 's/.*(checksum/(checksum/p' $m.dense.out)" != "$(sed -n 's/.*(checksum/(checksum/p' $m.sparse.out)" ]; then
    echo "ERROR: $m: the sparse build's results differ from the dense build's" >&2
    exit 1
  fi
done

echo "== batch-1 latency, $RUNS runs each, interleaved"
i=0
while [ $i -lt "$RUNS" ]; do
  for b in $BINS; do ./$b.bin | sed -n 's/^batch-1 latency \([0-9.]*\) us.*/\1/p' >> $b.t; done
  i=$((i + 1))
done
stats() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'; }
for b in $BINS; do
  set -- $(stats $b.t)
  printf "  %-11s median %8.2f us  (min %.2f, max %.2f)\n" "$b:" "$1" "$2" "$3"
  eval "med_$(echo $b | tr . _)=$1"
done
awk -v a="$med_s80_dense" -v b="$med_s80_sparse" 'BEGIN { printf "  80%%: dense / sparse (ratio of medians): %.2fx\n", a / b }'
awk -v a="$med_s90_dense" -v b="$med_s90_sparse" 'BEGIN { printf "  90%%: dense / sparse (ratio of medians): %.2fx\n", a / b }'

echo "== the kernel alone (bench/sparse_bench.c, W [256,784], us per call)"
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L -O3 -march=native -fno-math-errno -fno-trapping-math \
  -I"$ROOT/runtime" "$ROOT/bench/sparse_bench.c" "$ROOT"/runtime/[a-z]*.c -o sparse_bench \
  -lm -lz -lcjson -lpthread -ldl
./sparse_bench 5
