#!/bin/sh
# quant_forward_bench.sh — builds bench/quant_forward_bench.c with the runtime and the flags
# `ttc build` gives programs ($TTC_CFLAGS, else -O3 -march=native -fno-math-errno) and runs
# it with one thread: batch-1 forwards of the Fashion-MNIST MLP and CNN shapes with the
# float32 kernels and with the int8 kernels, side by side. Not a test.
#
#   bench/quant_forward_bench.sh [RUNS]     (default 21 rounds of 200 forwards, after a warm-up)
#
# Env: BENCH_DIR (scratch, default /tmp/ttc-bench), CC (default cc), TTC_CFLAGS.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
CFLAGS=${TTC_CFLAGS:--O3 -march=native -fno-math-errno}
mkdir -p "$BENCH_DIR"
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L $CFLAGS -I"$ROOT/runtime" \
  "$ROOT/bench/quant_forward_bench.c" "$ROOT"/runtime/[a-z]*.c -o "$BENCH_DIR/quant_forward_bench" \
  -lm -lz -lcjson -lpthread -ldl
echo "quant_forward_bench: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), cc $CFLAGS"
TT_THREADS=1 exec "$BENCH_DIR/quant_forward_bench" "$@"
