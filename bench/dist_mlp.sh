#!/bin/sh
# dist_mlp.sh — data-parallel scaling on this machine: bench/dist_mlp.tt (the Fashion-MNIST
# MLP, Adam, global batch 128, DistributedSampler + DistributedDataParallel) on 1 rank at 128
# and on 2 ranks at 64 each, over MPI's loopback, alternating, RUNS times each; prints every
# run's line and the medians: samples/s, ms per step, the gradient allreduce alone, and the
# scaling efficiency (samples/s on 2 ranks / (2 x on 1)). Not a test: nothing in ctest runs it.
# Another PROGRAM printing the same line is measured the same way, its `batch_size = N` line
# the global batch (bench/dist_cnn.tt: the CNN at 64, 32 a rank on 2).
#
#   bench/dist_mlp.sh [RUNS] [PROGRAM]      (default 5 bench/dist_mlp.tt)
#
# Each rank runs the runtime on one thread (TT_THREADS=1), ranks unbound (--bind-to none: on
# a 2-core container Open MPI's default binding measured 2.5x slower). Needs Open MPI
# (libopenmpi-dev, openmpi-bin) and Debian's dataset-fashion-mnist. Env: TTC (a built ttc;
# else it is built in $BENCH_DIR/build), BENCH_DIR (scratch, default /tmp/ttc-bench-dist),
# MPI_ARGS (more mpirun options: "--mca mpi_yield_when_idle 1" lets a waiting rank yield its
# core rather than spin, which made the 2-rank CNN 2.2x faster on this loaded 2-core machine).
set -eu
RUNS=${1:-5}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PROG=$(realpath "${2:-$ROOT/bench/dist_mlp.tt}")
NAME=$(basename "$PROG" .tt)
GLOBAL=$(sed -n 's/^batch_size = \([0-9]*\).*/\1/p' "$PROG")
[ -n "$GLOBAL" ] || { echo "dist_mlp.sh: $PROG has no 'batch_size = N' line" >&2; exit 1; }
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench-dist}
mkdir -p "$BENCH_DIR"
command -v mpirun >/dev/null || { echo "dist_mlp.sh: needs mpirun (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" --target ttc -j2 >/dev/null
  TTC=$BENCH_DIR/build/ttc
fi
export TTC_CACHE_DIR="$BENCH_DIR/cache" TT_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$BENCH_DIR"
sed "s/^batch_size = $GLOBAL/batch_size = $((GLOBAL / 2))/" "$PROG" > "${NAME}_half.tt"
"$TTC" build "$PROG" -o "${NAME}_1"
"$TTC" build "${NAME}_half.tt" -o "${NAME}_2"
: > runs.txt
i=0
while [ "$i" -lt "$RUNS" ]; do
  mpirun -np 1 --bind-to none ${MPI_ARGS:-} -x TT_THREADS ./"${NAME}_1" | tee -a runs.txt
  mpirun -np 2 --bind-to none ${MPI_ARGS:-} -x TT_THREADS ./"${NAME}_2" | tee -a runs.txt
  i=$((i + 1))
done
# the medians, per number of ranks
for n in 1 2; do
  grep "^ranks $n " runs.txt | awk '{print $6, $8, $10}' | sort -n > "med$n.txt"
  k=$(( ($(wc -l < "med$n.txt") + 1) / 2 ))
  sed -n "${k}p" "med$n.txt" | awk -v n="$n" '{printf "median, %d rank(s): %s samples/s\n", n, $1}'
  for col in 2 3; do
    awk -v c="$col" '{print $c}' "med$n.txt" | sort -n | sed -n "${k}p" |
      awk -v n="$n" -v c="$col" '{printf "median, %d rank(s): %s %s\n", n, $1, c == 2 ? "ms a step" : "ms an allreduce of the gradients"}'
  done
done
s1=$(sort -n med1.txt | awk '{print $1}' | sort -n | sed -n "$(( ($(wc -l < med1.txt) + 1) / 2 ))p")
s2=$(awk '{print $1}' med2.txt | sort -n | sed -n "$(( ($(wc -l < med2.txt) + 1) / 2 ))p")
awk -v a="$s1" -v b="$s2" 'BEGIN {printf "scaling efficiency on 2 ranks: %.0f%% (speedup %.2fx)\n", 100 * b / (2 * a), b / a}'
