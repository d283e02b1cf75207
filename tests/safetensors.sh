#!/usr/bin/env bash
# safetensors.sh — weights in the safetensors format (frontend/safetensors.c, runtime/
# safetensors.c), checked against PyTorch both ways:
#   roundtrip.py, from_torch.py  run by `ttc run` must print NAME.expected: python3's output
#                                with torch 1.13 and ref/safetensors, a stand-in for the
#                                package written from its format spec in json + struct
#   expected/*.safetensors       the bytes that stand-in writes for roundtrip.py's saves:
#                                ttc's files must be identical
#   torch_weights.safetensors    written by PyTorch (make_weights.py): from_torch.py runs it
#   reader.py                    built once, then run on damaged files: each must stop it
#                                with status 1 and a message naming the file and the damage
# and compile-time diagnostics (a missing file, a dtype ttc does not hold).
#
#   bash tests/safetensors.sh TTC TESTS_SRC_DIR WORK_DIR   # the test (needs no torch)
#   UPDATE=1 bash tests/safetensors.sh TTC TESTS_SRC_DIR   # rewrite the expected output and
#                                                          # files with python3 + torch
set -u
ttc=$(realpath "$1")
dir="$(realpath "$2")/safetensors"
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work" && mkdir -p "$work"
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}"
export PYTHONDONTWRITEBYTECODE=1
pass=0
fail=0
bad() { echo "FAIL $1"; fail=$((fail + 1)); }
ok() { pass=$((pass + 1)); }

if [ "${UPDATE:-0}" = 1 ]; then
  (cd "$dir" && PYTHONPATH=ref /usr/bin/python3 make_weights.py) || exit 1
  mkdir -p "$work/ref" "$dir/expected"
  for p in roundtrip from_torch; do
    (cd "$work/ref" && cp "$dir/torch_weights.safetensors" . &&
      PYTHONPATH="$dir/ref" /usr/bin/python3 "$dir/$p.py") > "$dir/$p.expected" || exit 1
  done
  cp "$work/ref/"{net,mixed,tied}.safetensors "$dir/expected/"
fi

mkdir -p "$work/run"
cp "$dir/torch_weights.safetensors" "$work/run/"
for p in roundtrip from_torch; do
  if ! (cd "$work/run" && timeout 300 "$ttc" run "$dir/$p.py") > "$work/out" 2> "$work/err"; then
    bad "$p: ttc run failed"; head -20 "$work/err"
  elif ! diff -u "$dir/$p.expected" "$work/out"; then
    bad "$p: output differs from PyTorch's"
  else
    ok
  fi
done
for f in net mixed tied; do
  if cmp "$dir/expected/$f.safetensors" "$work/run/$f.safetensors"; then ok
  else bad "$f.safetensors: ttc's bytes differ from the format's"; fi
done

# ---- damaged files: the built reader must stop, naming the file and the damage ----
st() { # st NAME HEADER_JSON DATA_HEX: writes a safetensors file byte by byte
  /usr/bin/python3 - "$@" <<'PY'
import struct, sys
name, header, data = sys.argv[1], sys.argv[2].encode(), bytes.fromhex(sys.argv[3])
header += b" " * ((8 - len(header) % 8) % 8)
open(name, "wb").write(struct.pack("<Q", len(header)) + header + data)
PY
}
good_h='{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]}}'
good_d="0700000000000000f9ffffffffffffff0000803f000000400000404000008040 0000a0400000c040"
good_d=${good_d// /}
mkdir -p "$work/dmg" && cd "$work/dmg" || exit 1
st w.safetensors "$good_h" "$good_d"
cp "$dir/reader.py" . && "$ttc" build reader.py -o reader 2> "$work/err" || cat "$work/err"
if [ "$(./reader 2>&1)" = "tensor([[1., 2., 3.],
        [4., 5., 6.]]) tensor([ 7, -7])" ]; then ok; else bad "reader: the good file"; ./reader; fi

damaged() { # damaged WHAT EXPECTED_MESSAGE: the reader on the w.safetensors just written
  ./reader > /dev/null 2> "$work/err"
  rc=$?
  if [ $rc -ne 1 ]; then bad "$1: exit status $rc, expected 1"; cat "$work/err"
  elif [ "$(cat "$work/err")" != "error: safetensors file 'w.safetensors' $2" ]; then
    bad "$1: message"; echo "  expected: error: safetensors file 'w.safetensors' $2"; echo "  got:      $(cat "$work/err")"
  else ok; fi
}
st w.safetensors "$good_h" "${good_d:0:70}"
damaged truncated "is damaged: tensor 'x' lies past the end of the data (the file is truncated)"
st w.safetensors "$good_h" "${good_d}00"
damaged "extra byte" "is damaged: the data is not exactly the tensors' bytes (truncated, or extra bytes)"
printf 'garbage' > w.safetensors
damaged "shorter than 8 bytes" "is not a safetensors file (shorter than its 8-byte header length)"
printf '\xff\xff\xff\xff\xff\xff\xff\x7f{}' > w.safetensors
damaged "huge header length" "is not a safetensors file or is truncated (header length 9223372036854775807, file size 10)"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32",' "$good_d"
damaged "broken JSON" "has a damaged header (not valid JSON)"
st w.safetensors '[1, 2, 3]' "$good_d"
damaged "not an object" "is not a safetensors file (its header is not a JSON object)"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[2,3],"data_offsets":[8,32]}}' "$good_d"
damaged overlap "is damaged: the tensors' data_offsets overlap or leave a gap"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[3,2],"data_offsets":[16,40]}}' "$good_d"
damaged "another shape" "holds 'x' with another shape than the program's [2, 3]"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"I32","shape":[2,3],"data_offsets":[16,40]}}' "$good_d"
damaged "another dtype" "holds 'x' as I32, the program expects F32"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[2,4],"data_offsets":[16,40]}}' "$good_d"
damaged "offsets against shape" "is damaged: tensor 'x': its data_offsets do not hold its shape"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}' "${good_d:0:32}"
damaged "missing tensor" "has no tensor 'x'"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]},"y":{"dtype":"I8","shape":[1],"data_offsets":[40,41]}}' "${good_d}05"
damaged "extra tensor" "holds tensor 'y', which the program does not expect"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"n":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]}}' "$good_d"
damaged "repeated name" "is damaged: the header names 'n' twice"
st w.safetensors '{"__metadata__":{"a":1},"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[2,3],"data_offsets":[16,40]}}' "$good_d"
damaged "bad metadata" "is damaged: a __metadata__ value is not a string"
st w.safetensors '{"n":{"dtype":"I64","shape":[2],"data_offsets":[0,16]},"x":{"dtype":"F32","shape":[2,-3],"data_offsets":[16,40]}}' "$good_d"
damaged "negative dimension" "is damaged: tensor 'x' has a bad shape"
rm -f w.safetensors && mkdir w.safetensors
./reader > /dev/null 2> "$work/err"
if [ $? -eq 1 ] && grep -q "cannot read 'w.safetensors'" "$work/err"; then ok; else bad "a directory"; cat "$work/err"; fi
rmdir w.safetensors

# ---- compile-time diagnostics -------------------------------------------------------
diagnose() { # diagnose WHAT PROGRAM EXPECTED_FIRST_LINE
  printf '%s' "$2" > prog.py
  "$ttc" compile prog.py -o prog.c 2> "$work/err"
  rc=$?
  if [ $rc -ne 1 ] || [ "$(head -1 "$work/err")" != "$3" ]; then
    bad "$1: rc $rc"; echo "  expected: $3"; echo "  got:      $(head -1 "$work/err")"
  else ok; fi
}
diagnose "missing file" $'from safetensors.torch import load_file\nw = load_file("nope.safetensors")\n' \
  "prog.py:2:5: error: cannot read the safetensors file 'nope.safetensors' (its names, dtypes and shapes are needed when the program is compiled)"
st half.safetensors '{"h":{"dtype":"F16","shape":[1],"data_offsets":[0,2]}}' "003c"
diagnose "F16" $'import safetensors.torch\nw = safetensors.torch.load_file("half.safetensors")\n' \
  "prog.py:2:22: error: safetensors file 'half.safetensors': tensor 'h' is F16; ttc holds F32, F64, I64, I32, I8 and BOOL"
diagnose "not contiguous" $'import torch\nfrom safetensors.torch import save_file\nsave_file({"t": torch.ones(2, 3).t()}, "t.safetensors")\n' \
  "prog.py:3:1: error: save_file(): 't' is not contiguous, which safetensors refuses (save 't'.contiguous())"
diagnose "shared" $'import torch\nfrom safetensors.torch import save_file\nx = torch.ones(2)\nsave_file({"a": x, "b": x}, "t.safetensors")\n' \
  "prog.py:4:1: error: save_file(): 'a' and 'b' are the same tensor (they share memory), which safetensors refuses; save one of them (save_model drops the repeat)"
diagnose "a number" $'from safetensors.torch import save_file\nsave_file({"a": 1}, "t.safetensors")\n' \
  "prog.py:2:1: error: save_file(): 'a' is of type int; safetensors holds tensors only"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
