#!/bin/sh
# gemm_bench.sh — builds bench/gemm_bench.c with the runtime and the flags `ttc build` gives
# programs ($TTC_CFLAGS, else -O3 -march=native -fno-math-errno) and runs it: tt_gemm_f32
# against OpenBLAS (dlopen'ed from Debian's libopenblas0-pthread) side by side, 1 and 2
# threads. Not a test: nothing in ctest runs it.
#
#   bench/gemm_bench.sh [RUNS [FILTER]]   (default 7 timed batches per cell, after a warm-up;
#                                         FILTER: only the shapes whose name contains it)
#
# Env: BENCH_DIR (scratch, default /tmp/ttc-bench), CC (default cc), TTC_CFLAGS,
# OPENBLAS_LIB (a libopenblas.so to use instead of Debian's).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
CFLAGS=${TTC_CFLAGS:--O3 -march=native -fno-math-errno}
mkdir -p "$BENCH_DIR"
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L $CFLAGS -I"$ROOT/runtime" \
  "$ROOT/bench/gemm_bench.c" "$ROOT"/runtime/[a-z]*.c -o "$BENCH_DIR/gemm_bench" \
  -lm -lz -lcjson -lpthread -ldl
echo "gemm_bench: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), cc $CFLAGS"
exec "$BENCH_DIR/gemm_bench" "$@"
