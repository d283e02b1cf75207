#!/usr/bin/env bash
# gemm_native.sh — the GEMM unit tests (tests/unit/test_runtime_gemm.c) built again with the
# flags `ttc build` gives programs ($TTC_CFLAGS, else -O3 -march=native -fno-math-errno), so
# the micro-kernel that programs really run is tested: on an AVX-512 CPU the <immintrin.h>
# kernel (MR 12, NR 32), which ctest's own build (no -march) never compiles. Then once more
# with -DTT_GEMM_PORTABLE under the same flags (the plain kernel, vectorized for this CPU).
#
#   bash tests/gemm_native.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
cc=${CC:-cc}
flags=${TTC_CFLAGS:--O3 -march=native -fno-math-errno}
root="$src/.."
fail=0
for variant in native portable; do
  extra=""
  [ $variant = portable ] && extra="-DTT_GEMM_PORTABLE"
  # shellcheck disable=SC2086
  if ! "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L $flags $extra -Wall -Wextra -Werror \
      -Wno-unused-parameter -I"$root" -I"$root/runtime" \
      "$src/unit/test_runtime_gemm.c" "$root"/runtime/[a-z]*.c -o "gemm_$variant" \
      -lcmocka -lm -lz -lcjson -lpthread 2> "$variant.cc"; then
    echo "FAIL $variant: does not compile: $(head -5 "$variant.cc")"
    fail=$((fail + 1))
    continue
  fi
  if ! ./"gemm_$variant" > "$variant.out" 2>&1; then
    echo "FAIL $variant ($flags $extra):"
    cat "$variant.out"
    fail=$((fail + 1))
  fi
done
if "$cc" $flags -dM -E -x c /dev/null 2>/dev/null | grep -q __AVX512F__; then
  echo "gemm_native: AVX-512 kernel and plain kernel checked ($flags)"
else
  echo "gemm_native: this CPU has no AVX-512: the plain kernel was checked twice ($flags)"
fi
[ $fail -eq 0 ]
