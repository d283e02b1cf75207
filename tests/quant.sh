#!/usr/bin/env bash
# quant.sh — the int8 kernels (runtime/qgemm.c) as generated programs compile them:
# tests/unit/test_qgemm.c built again with -O3 -march=native (ctest's unit.test_qgemm runs
# the library as CMake built it, without -march, so the portable kernel), which on a CPU
# with AVX-512 VNNI runs the vpdpbusd kernel; and with -DTT_QGEMM_PORTABLE under the same
# flags, the plain C kernel as gcc vectorizes it. Both must equal the naive twins exactly.
#
#   bash tests/quant.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
src=$(realpath "$2")
root=$(realpath "$src/..")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cc=${CC:-cc}
pass=0
fail=0
for variant in native portable; do
  extra=""
  [ $variant = portable ] && extra="-DTT_QGEMM_PORTABLE"
  if ! $cc -std=c11 -O3 -march=native $extra -D_POSIX_C_SOURCE=200809L -Wall -Wextra \
      -Werror -I"$root" -I"$root/runtime" "$src/unit/test_qgemm.c" "$root"/runtime/[a-z]*.c \
      -o "$work/test_qgemm_$variant" -lcmocka -lcjson -lz -lm -lpthread 2> "$work/cc.$variant"; then
    echo "FAIL $variant: does not compile"
    cat "$work/cc.$variant"
    fail=$((fail + 1))
    continue
  fi
  if "$work/test_qgemm_$variant" > "$work/out.$variant" 2>&1; then
    pass=$((pass + 1))
  else
    echo "FAIL $variant:"
    cat "$work/out.$variant"
    fail=$((fail + 1))
  fi
done
if grep -q avx512_vnni /proc/cpuinfo 2>/dev/null; then
  # the native build must really contain the dot-product instruction
  if objdump -d "$work/test_qgemm_native" 2>/dev/null | grep -q vpdpbusd; then
    pass=$((pass + 1))
  else
    echo "FAIL native: this CPU has AVX-512 VNNI but the kernel has no vpdpbusd"
    fail=$((fail + 1))
  fi
fi
echo "quant: $pass passed, $fail failed"
[ $fail = 0 ]
