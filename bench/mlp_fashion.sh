#!/bin/sh
# mlp_fashion.sh — training benchmark, ttc vs PyTorch: the Fashion-MNIST MLP (784-256-10,
# Adam, batch 64) trained by a ttc-built binary and by PyTorch, timed side by side by the
# same harness (bench/mlp_fashion_torch.py bench). Not a test: nothing in ctest runs it.
#
#   bench/mlp_fashion.sh [EPOCHS [RUNS]]        (defaults: 1 epoch, 5 runs after 1 warm-up)
#
# Needs: cmake and cc (to build ttc, Release), /usr/bin/python3 with Debian's python3-torch,
# stdbuf (coreutils), Debian's dataset-fashion-mnist. Optional: OpenBLAS for the "torch+ob"
# rows: Debian's torch calls whatever libblas.so.3 is installed, which is netlib's
# reference BLAS unless an optimized one is; set OPENBLAS_DIR to a directory holding
# OpenBLAS's libblas.so.3, or let the script unpack libopenblas0-pthread from apt into
# $BENCH_DIR without installing it (the system's BLAS choice is left alone).
#
# Env: TTC (a built ttc; else it is built in $BENCH_DIR/build), BENCH_DIR (scratch,
# default /tmp/ttc-bench), OPENBLAS_DIR (see above; "none" to skip those rows).
set -eu

EPOCHS=${1:-1}
RUNS=${2:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
PY=/usr/bin/python3
mkdir -p "$BENCH_DIR"

need() { command -v "$1" >/dev/null 2>&1 || { echo "mlp_fashion.sh: needs $1 ($2)" >&2; exit 1; }; }
need cmake "apt-get install cmake"
need cc "apt-get install gcc"
need stdbuf "coreutils"
die() { echo "mlp_fashion.sh: $*" >&2; exit 1; }
$PY -c 'import torch' 2>/dev/null || die "needs $PY with torch (apt-get install python3-torch)"
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] ||
  { echo "mlp_fashion.sh: needs the data (apt-get install dataset-fashion-mnist)" >&2; exit 1; }
case $EPOCHS in ''|*[!0-9]*|0) die "EPOCHS must be a positive integer";; esac
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive integer";; esac

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
      echo "mlp_fashion.sh: could not unpack OpenBLAS; torch+ob rows skipped" >&2
  fi
fi
OB_ARG=
if [ "$OPENBLAS_DIR" != none ] && [ -f "$OPENBLAS_DIR/libblas.so.3" ]; then
  OB_ARG="--openblas-dir=$OPENBLAS_DIR"
fi

# The model with EPOCHS epochs, built with ttc's defaults (-O3 -march=native). The build
# is timed on its own, not inside any training time: .tt -> C alone; a full build with an
# empty cache (the runtime compiled too); and one with only the runtime cached (ttc's cache
# would otherwise hand back the finished binary).
sed "s/^EPOCHS = 1\$/EPOCHS = $EPOCHS/" "$ROOT/bench/mlp_bench.tt" >"$BENCH_DIR/mlp_bench.tt"
grep -q "^EPOCHS = $EPOCHS\$" "$BENCH_DIR/mlp_bench.tt" ||
  { echo "mlp_fashion.sh: bench/mlp_bench.tt has no 'EPOCHS = 1' line" >&2; exit 1; }
CACHE=$BENCH_DIR/cache
timed() {
  t0=$(date +%s.%N)
  TTC_CACHE_DIR=$CACHE "$TTC" "$@" >/dev/null
  t1=$(date +%s.%N)
  awk "BEGIN { printf \"%.3f\", $t1 - $t0 }"
}
rm -rf "$CACHE"
tocee=$(timed compile "$BENCH_DIR/mlp_bench.tt" -o "$BENCH_DIR/mlp_bench.c")
cold=$(timed build "$BENCH_DIR/mlp_bench.tt" -o "$BENCH_DIR/mlp_bench")
find "$CACHE" -mindepth 1 -maxdepth 1 ! -name 'rt-*' -exec rm -rf {} +
warm=$(timed build "$BENCH_DIR/mlp_bench.tt" -o "$BENCH_DIR/mlp_bench")

CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "machine: $CPU, $(nproc) cores;" \
  "load before: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "ttc build time (not in the training times): .tt -> C ${tocee} s; build ${cold} s with" \
  "an empty cache (runtime compiled too), ${warm} s with the runtime cached"
# shellcheck disable=SC2086
$PY "$ROOT/bench/mlp_fashion_torch.py" bench --ttc-bin "$BENCH_DIR/mlp_bench" \
  --epochs "$EPOCHS" --runs "$RUNS" $OB_ARG
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
