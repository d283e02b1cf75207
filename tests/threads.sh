#!/usr/bin/env bash
# threads.sh — a program's results do not depend on its thread count (issues 10, 12). Built
# with ttc's default flags (with gcc: -fopenmp), large elementwise loops and softmax rows run
# on every core (TT_PARALLEL_FOR) and the GEMMs' second half on the same OpenMP pool; each
# element is still computed by one thread with one thread's arithmetic. So the same binary
# prints the same bits with TT_THREADS=1, with the default, and with OMP_NUM_THREADS=3 (an
# odd split of every loop); the C is warning-free with and without -fopenmp, under gcc and
# clang, and a clang build (no -fopenmp by default: clang's OpenMP needs libomp) runs too.
#
#   bash tests/threads.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")/threads
runtime=$(dirname "$(realpath "$2")")/runtime
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
unset TTC_CFLAGS TT_THREADS OMP_NUM_THREADS CC
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

prog="$src/attention.tt"
if "$ttc" build "$prog" -o attn > build.log 2>&1; then ok; else bad "build: $(head -5 build.log)"; fi
if [ -s build.log ]; then bad "build printed warnings: $(head -5 build.log)"; else ok; fi
"$ttc" compile "$prog" -o attn.c
n=$(grep -c '^ *TT_PARALLEL_FOR$' attn.c)
# the softmax rows, the GELU and its gradient, the residual adds, Adam's loops at least
if [ "$n" -ge 10 ]; then ok; else bad "only $n loops marked TT_PARALLEL_FOR in the C"; fi
TT_THREADS=1 ./attn > one.out 2>&1
./attn > two.out 2>&1
OMP_NUM_THREADS=3 ./attn > three.out 2>&1
if [ -s one.out ] && [ "$(wc -l < one.out)" -eq 6 ]; then ok; else bad "one thread: $(head -3 one.out)"; fi
if cmp -s one.out two.out && cmp -s one.out three.out; then ok
else bad "outputs differ by thread count: $(diff one.out two.out | head -4) $(diff one.out three.out | head -4)"; fi
# the losses are PyTorch's (tests/threads/attention.expected: python3 on the same file)
if awk 'NR == FNR { if (FNR <= 4) want[$1] = $2; next } FNR <= 4 { d = $2 - want[$1]; if (d < 0) d = -d; if (d > 2e-6) bad = 1 } END { exit bad }' "$src/attention.expected" one.out
then ok; else bad "losses differ from python3's: $(paste one.out "$src/attention.expected" | head -4)"; fi

# warning-free C, with and without OpenMP, under gcc and clang
for cc in gcc clang; do
  command -v $cc > /dev/null || continue
  for omp in "" -fopenmp; do
    [ $cc = clang ] && [ -n "$omp" ] && continue # clang's -fopenmp needs libomp's headers
    if $cc -std=c11 -O1 $omp -Wall -Wextra -Werror -I"$runtime" -c attn.c -o /dev/null 2> cc.log
    then ok; else bad "$cc $omp: $(head -5 cc.log)"; fi
  done
done
if command -v clang > /dev/null; then
  if "$ttc" run "$prog" --cc=clang > clang.out 2>&1 && [ "$(wc -l < clang.out)" -eq 6 ]; then ok
  else bad "clang build: $(head -5 clang.out)"; fi
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
