#!/usr/bin/env bash
# quant.sh — the int8 kernels (runtime/qgemm.c) as generated programs compile them:
# tests/unit/test_qgemm.c built again with -O3 -march=native (ctest's unit.test_qgemm runs
# the library as CMake built it, without -march, so the portable kernel), which on a CPU
# with AVX-512 VNNI runs the vpdpbusd kernel; and with -DTT_QGEMM_PORTABLE under the same
# flags, the plain C kernel as gcc vectorizes it. Both must equal the naive twins exactly.
#
# Then the quantization functions' diagnostics (frontend/quant.c), each at its line.
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

# The quantization functions' diagnostics: where ttc cannot do what PyTorch does, or
# PyTorch refuses, the compile stops at the line (their numbers are tests/exec/quant-*.tt's).
ttc=$(realpath "$1")
export TTC_CACHE_DIR="$work/cache"
# refuse LINE MESSAGE: `import torch` + LINE must fail to compile, saying MESSAGE at line 2
refuse() {
  printf 'import torch\n%s\n' "$1" > "$work/e.tt"
  "$ttc" compile "$work/e.tt" -o "$work/e.c" 2> "$work/e.err"
  rc=$?
  if [ $rc = 1 ] && grep -q "e.tt:2:[0-9]*: error: .*$2" "$work/e.err"; then
    pass=$((pass + 1))
  else
    echo "FAIL: '$1' (status $rc), want '$2', got:"
    cat "$work/e.err"
    fail=$((fail + 1))
  fi
}
x='torch.randn(2, 3)'
refuse "q = torch.quantize_per_tensor($x.double(), 0.1, 0, torch.qint8)" \
  "Quantize only works on Float Tensor, got torch.float64"
refuse "q = torch.quantize_per_tensor($x, 0.1, 256, torch.quint8)" "zero_point 256 is above upper bound"
refuse "q = torch.quantize_per_tensor($x, 0.1, -129, torch.qint8)" "zero_point -129 is below lower bound"
refuse "q = torch.quantize_per_tensor($x, 0.1, 0, torch.int8)" \
  "dtype must be torch.qint8, torch.quint8 or torch.qint32, not torch.int8"
refuse "q = torch.quantize_per_tensor($x, $x.max(), 0, torch.qint8)" "scale known only at run time"
refuse "print(torch.quantize_per_tensor($x, 0.1, 0, torch.quint8).int_repr())" \
  "torch.uint8 tensor, a dtype ttc does not have"
refuse "print(torch.quantize_per_tensor($x, 0.1, 0, torch.qint8))" \
  "printing a quantized tensor object is not supported"
refuse "y = torch.quantize_per_tensor($x, 0.1, 0, torch.qint8) + 1" "unsupported operand types"
pc="torch.quantize_per_channel($x, torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 0, torch.qint8)"
refuse "print($pc.q_scale())" "Expected quantizer to be PerTensorAffineQuantizer"
refuse "print(torch.quantize_per_tensor($x, 0.1, 0, torch.qint8).q_per_channel_axis())" \
  "Expected quantizer to be PerChannelAffineQuantizer"
refuse "q = torch.quantize_per_channel($x, torch.tensor([0.1, 0.2]), torch.tensor([0, -1]), 0, torch.quint8)" \
  "zero_point -1 is below lower bound"
refuse "q = torch.quantize_per_channel($x, torch.tensor([0.1, 0.2]), torch.tensor([0, 0]), 2, torch.qint8)" \
  "Channel axis out of range in per channel affine quantization. Got: 2, expected: \\[0, 2)"
refuse "q = torch.quantize_per_channel($x, torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 0]), 0, torch.qint8)" \
  "number of elements in scales and zero_points must match"
refuse "q = torch.quantize_per_channel($x, torch.tensor([0.1, 0.2, 0.3]), torch.tensor([0, 0, 0]), 0, torch.qint8)" \
  "length of scales must equal to channel"
refuse "q, s, z = quantize_int8(torch.ones(3, dtype=torch.int64))" \
  "quantize_int8(): expected a floating tensor, got torch.int64"
net="Sequential(Linear(4, 3), ReLU(), Linear(3, 2))"
refuse "m = quantize_model($net, num_batches=3)" "num_batches without calibration_data"
refuse "m = quantize_model($net, calibration_data=[torch.randn(2, 4)], num_batches=0)" \
  "num_batches must be at least 1"
refuse "m = quantize_model($net, calibration_data=[3])" \
  "calibration_data must yield tensors or tuples whose first item is the model's input"
refuse "m = quantize_model(Sequential(ReLU()))" "the model has no Linear or Conv2d layer to quantize"
refuse "m = QuantizedLinear(ReLU())" "expected an nn.Linear"
refuse "y = QuantizedLinear(Linear(4, 3))(torch.randn(2, 5))" "the input's last dimension must be 4"
echo "quant: $pass passed, $fail failed"
[ $fail = 0 ]
