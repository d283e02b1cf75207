#!/usr/bin/env bash
# erf.sh — the float erf of the exact GELU (tt_erff, runtime/tt.h) built with the flags
# `ttc build` gives programs ($TTC_CFLAGS, else -O3 -march=native -fno-math-errno) and with
# none (-O2, no FMA), checked by tests/erf_sweep.c: under 1 ulp of the exact erf on every
# float of [0.25, 10] (and a sample below), the special values, and, where /usr/bin/python3
# has torch, within 2 ulp of torch.erf on 2,000,001 points of [-10, 10], odd, and a GELU
# at least as close to the exact one as PyTorch's own F.gelu.
#
#   bash tests/erf.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
cc=${CC:-cc}
root="$src/.."
flags=${TTC_CFLAGS:--O3 -march=native -fno-math-errno}
torch_file=""
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 - "$work/torch.bin" <<'PY' || { echo "FAIL: python3 could not write the torch values"; exit 1; }
import sys, numpy as np, torch
import torch.nn.functional as F
x = torch.linspace(-10, 10, 2_000_001, dtype=torch.float32)
with open(sys.argv[1], "wb") as f:
    np.array([x.numel()], dtype="<i8").tofile(f)
    for t in (x, torch.erf(x), F.gelu(x)):
        t.numpy().astype("<f4").tofile(f)
PY
  torch_file="$work/torch.bin"
else
  echo "erf: no torch in /usr/bin/python3: the comparison with PyTorch is skipped"
fi
fail=0
for variant in native plain; do
  f=$flags
  [ $variant = plain ] && f="-O2"
  # shellcheck disable=SC2086
  if ! "$cc" -std=c11 -D_POSIX_C_SOURCE=200809L $f -Wall -Wextra -Werror -I"$root/runtime" \
      "$src/erf_sweep.c" -o "erf_$variant" -lm 2> "$variant.cc"; then
    echo "FAIL $variant: does not compile: $(head -5 "$variant.cc")"
    fail=$((fail + 1))
    continue
  fi
  echo "== $variant ($f)"
  # shellcheck disable=SC2086
  ./"erf_$variant" $torch_file || fail=$((fail + 1))
done
[ $fail -eq 0 ]
