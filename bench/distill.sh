#!/bin/sh
# distill.sh — does distillation help? Runs models/distill.tt (the CNN teacher, then per
# seed 0, 1, 2 a 784-50-10 student trained alone and one distilled, from the same initial
# weights and the same batches, for the same epochs) and compares each pair's test accuracy:
# every distilled student must beat its twin trained alone. Prints the table, each seed's
# gain and the means; exits 1 if a distilled student does not win. Not a test (minutes of
# training): nothing in ctest runs it.
#
#   bench/distill.sh
#
# Env: TTC (a built ttc; else it is built in $BENCH_DIR/build), BENCH_DIR (scratch, default
# /tmp/ttc-bench-distill). Needs Debian's dataset-fashion-mnist.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench-distill}
mkdir -p "$BENCH_DIR"
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" -j2 --target ttc >/dev/null
  TTC="$BENCH_DIR/build/ttc"
fi
cd "$BENCH_DIR"
start=$(date +%s)
"$TTC" run "$ROOT/models/distill.tt" | tee distill.out
end=$(date +%s)
echo "run time: $((end - start)) s (teacher training included)"
awk '
  /^seed  alone   distilled/ { table = 1; next }
  table && NF == 3 {
    n++; a += $2; d += $3; gain = $3 - $2
    printf "seed %s: distilled - alone = %+.2f points\n", $1, gain
    if (gain <= 0) lost++
  }
  END {
    if (n != 3) { print "distill.sh: expected 3 seeds in the table, found " n; exit 1 }
    printf "mean: alone %.2f%%, distilled %.2f%% (%+.2f points)\n", a / n, d / n, (d - a) / n
    if (lost) { print "distill.sh: a distilled student did not beat its twin"; exit 1 }
    print "every distilled student beats the same student trained alone"
  }' distill.out
