#!/bin/sh
# qgemm_bench.sh — builds bench/qgemm_bench.c with the runtime and the flags `ttc build` gives
# programs ($TTC_CFLAGS, else -O3 -march=native -fno-math-errno) and runs it: the int8 GEMM
# against ttc's float32 GEMM, side by side, 1 and 2 threads. With PORTABLE=1 the int8 kernel
# is the plain C one (-DTT_QGEMM_PORTABLE), to see what VNNI's vpdpbusd buys. Not a test:
# nothing in ctest runs it.
#
#   bench/qgemm_bench.sh [RUNS]        (default 11 timed rounds per cell, after a warm-up)
#
# Env: BENCH_DIR (scratch, default /tmp/ttc-bench), CC (default cc), TTC_CFLAGS, PORTABLE.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
CFLAGS=${TTC_CFLAGS:--O3 -march=native -fno-math-errno}
[ "${PORTABLE:-0}" = 1 ] && CFLAGS="$CFLAGS -DTT_QGEMM_PORTABLE"
mkdir -p "$BENCH_DIR"
${CC:-cc} -std=c11 -D_POSIX_C_SOURCE=200809L $CFLAGS -I"$ROOT/runtime" \
  "$ROOT/bench/qgemm_bench.c" "$ROOT"/runtime/[a-z]*.c -o "$BENCH_DIR/qgemm_bench" \
  -lm -lz -lcjson -lpthread -ldl
echo "qgemm_bench: $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), cc $CFLAGS"
exec "$BENCH_DIR/qgemm_bench" "$@"
