#!/bin/sh
# cnn_fashion.sh — training benchmark for convolutions: the 8/16-channel Fashion-MNIST CNN
# (bench/cnn_bench.tt, Adam, batch 64, a fixed number of steps) trained by ttc-built binaries
# with im2col + GEMM and with naive convolutions, and by PyTorch, timed side by side by one
# harness (bench/cnn_fashion_torch.py bench). Not a test: nothing in ctest runs it.
#
#   bench/cnn_fashion.sh [STEPS [RUNS [NAIVE_RUNS]]]    (defaults: 300 steps, 5 runs, 3 naive)
#
# Needs: cmake and cc (to build ttc, Release), /usr/bin/python3 with Debian's python3-torch,
# stdbuf (coreutils), Debian's dataset-fashion-mnist. Optional: OpenBLAS for the "torch+ob"
# rows (Debian's torch runs Conv2d on oneDNN, but its matmuls on whatever libblas.so.3 is
# installed): set OPENBLAS_DIR to a directory holding OpenBLAS's libblas.so.3, or let the
# script unpack libopenblas0-pthread from apt into $BENCH_DIR without installing it.
#
# Env: TTC (a built ttc; else it is built in $BENCH_DIR/build), BENCH_DIR (scratch,
# default /tmp/ttc-bench), OPENBLAS_DIR (see above; "none" to skip those rows).
set -eu

STEPS=${1:-300}
RUNS=${2:-5}
NAIVE_RUNS=${3:-3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
PY=/usr/bin/python3
mkdir -p "$BENCH_DIR"

die() { echo "cnn_fashion.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "needs $1 ($2)"; }
need cmake "apt-get install cmake"
need cc "apt-get install gcc"
need stdbuf "coreutils"
$PY -c 'import torch' 2>/dev/null || die "needs $PY with torch (apt-get install python3-torch)"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
  die "needs the data (apt-get install dataset-fashion-mnist)"
# One epoch is 938 batches; the loop breaks out of it, so STEPS may not exceed that.
case $STEPS in ''|*[!0-9]*|0) die "STEPS must be a positive integer";; esac
[ "$STEPS" -le 938 ] || die "STEPS must be at most 938 (one epoch of batch 64)"
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive integer";; esac
case $NAIVE_RUNS in ''|*[!0-9]*|0) die "NAIVE_RUNS must be a positive integer";; esac

# ttc itself, Release; its own build time is not part of anything reported.
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" --target ttc -j2 >/dev/null
  TTC=$BENCH_DIR/build/ttc
fi

# OpenBLAS, unpacked (not installed) so PyTorch can be measured at its best.
if [ -z "${OPENBLAS_DIR:-}" ]; then
  OPENBLAS_DIR=$BENCH_DIR/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
  if [ ! -f "$OPENBLAS_DIR/libblas.so.3" ]; then
    (cd "$BENCH_DIR" && rm -f libopenblas0-pthread_*.deb &&
      apt-get download libopenblas0-pthread >/dev/null 2>&1 &&
      dpkg -x libopenblas0-pthread_*.deb openblas) ||
      echo "cnn_fashion.sh: could not unpack OpenBLAS; torch+ob rows skipped" >&2
  fi
fi
OB_ARG=
if [ "$OPENBLAS_DIR" != none ] && [ -f "$OPENBLAS_DIR/libblas.so.3" ]; then
  OB_ARG="--openblas-dir=$OPENBLAS_DIR"
fi

# The model with STEPS steps, built twice with ttc's defaults (-O3 -march=native): im2col +
# tiled GEMM convolutions (the default) and the direct loops (--conv=naive). Build times are
# printed apart and are in no training time.
sed "s/^STEPS = 300\$/STEPS = $STEPS/" "$ROOT/bench/cnn_bench.tt" >"$BENCH_DIR/cnn_bench.tt"
grep -q "^STEPS = $STEPS\$" "$BENCH_DIR/cnn_bench.tt" ||
  die "bench/cnn_bench.tt has no 'STEPS = 300' line"
CACHE=$BENCH_DIR/cache
timed() {
  t0=$(date +%s.%N)
  TTC_CACHE_DIR=$CACHE "$TTC" "$@" >/dev/null
  t1=$(date +%s.%N)
  awk "BEGIN { printf \"%.3f\", $t1 - $t0 }"
}
b_im2col=$(timed build "$BENCH_DIR/cnn_bench.tt" -o "$BENCH_DIR/cnn_bench")
b_naive=$(timed build "$BENCH_DIR/cnn_bench.tt" -o "$BENCH_DIR/cnn_bench_naive" --conv=naive)

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $CPU, $(nproc) cores;" \
  "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "ttc build time (not in the training times): im2col ${b_im2col} s, naive ${b_naive} s"
# shellcheck disable=SC2086
$PY "$ROOT/bench/cnn_fashion_torch.py" bench --ttc-bin "$BENCH_DIR/cnn_bench" \
  --ttc-naive-bin "$BENCH_DIR/cnn_bench_naive" --steps "$STEPS" --runs "$RUNS" \
  --naive-runs "$NAIVE_RUNS" $OB_ARG
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
