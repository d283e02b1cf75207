#!/usr/bin/env bash
# ints.sh — integers never wrap silently, and a division by zero is an error, at run time:
# host arithmetic on Python ints is checked (C's int64 overflow is undefined; Python's ints
# grow, ttc's stop the program), true division by zero and int() of NaN or infinity raise
# as Python does, integer tensors divided by zero raise ZeroDivisionError as PyTorch does,
# and a program whose tensors cannot fit a C program's static data is a diagnostic, not a
# link failure. (Compile-time overflow and shapes are golden .err tests: int-overflow-*,
# shape-too-large-*.)
#
# Each case is a program that must print its stdout and then stop with status 1 and
# exactly "error: FILE:LINE:COL: MESSAGE" on stderr. Where Python raises too, its message
# (the last line of python3's traceback) must end with the same MESSAGE.
#
#   bash tests/ints.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}"
python=/usr/bin/python3
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

# runtime NAME STDOUT WHERE MESSAGE PY: the program on stdin, as NAME.tt, must print STDOUT
# and stop with "error: NAME.tt:WHERE: MESSAGE". PY=py: python3 raises the same message.
runtime() {
  local name=$1 want_out=$2 where=$3 msg=$4 py=${5:-}
  cat > "$name.tt"
  "$ttc" run "$name.tt" > out 2> err
  local rc=$?
  if [ $rc -eq 1 ]; then ok; else bad "$name: exit status $rc, expected 1"; fi
  printf 'error: %s.tt:%s: %s\n' "$name" "$where" "$msg" > want
  if cmp -s want err; then ok; else
    bad "$name: stderr"
    diff want err | head -10
  fi
  printf '%s' "$want_out" > want
  if cmp -s want out; then ok; else
    bad "$name: stdout"
    diff want out | head -10
  fi
  if [ "$py" = py ] && [ -x "$python" ]; then
    "$python" "$name.tt" > /dev/null 2> pyerr
    local last
    last=$(tail -n 1 pyerr)
    case $last in
    *"$msg") ok ;;
    *) bad "$name: python3 says '$last', not '...$msg'" ;;
    esac
  fi
}

overflow="integer overflow: ttc's ints are 64-bit (Python's would grow)"

# The issue's case: a * 4 at a = 2**62 in a host loop.
runtime host-mul-overflow $'4611686018427387904\n' 7:1 "$overflow" <<'TT'
a = 1
for i in range(2000):
    if i == 62:
        break
    a = a * 2
print(a)
b = a * 4
print(b)
TT

runtime host-add-overflow '' 3:1 "$overflow" <<'TT'
import torch
m = torch.tensor([9223372036854775807]).item()
print(m + 1)
TT

runtime host-sub-overflow '' 3:1 "$overflow" <<'TT'
import torch
m = torch.tensor([-9223372036854775807]).item()
print(m - 2)
TT

runtime host-neg-overflow '' 3:1 "$overflow" <<'TT'
import torch
m = torch.tensor([-9223372036854775807 - 1]).item()
print(-m)
TT

runtime host-abs-overflow '' 3:1 "$overflow" <<'TT'
import torch
m = torch.tensor([-9223372036854775807 - 1]).item()
print(abs(m))
TT

runtime host-pow-overflow $'4052555153018976267\n' 4:1 "$overflow" <<'TT'
import torch
n = torch.tensor([3]).item()
print(n ** 39)
print(n ** 40)
TT

runtime host-float-division-by-zero $'inf\n' 4:1 "float division by zero" py <<'TT'
import torch
y = torch.tensor([0.0]).item()
print(float("inf"))
print(1.0 / y)
TT

runtime host-int-division-by-zero '' 3:1 "division by zero" py <<'TT'
import torch
k = torch.tensor([0]).item()
print(7 / k)
TT

runtime host-zero-negative-power '' 3:1 "0.0 cannot be raised to a negative power" py <<'TT'
import torch
y = torch.tensor([0.0]).item()
print(y ** -1.5)
TT

runtime host-int-of-nan '' 3:1 "cannot convert float NaN to integer" py <<'TT'
import torch
y = torch.tensor([float("nan")]).item()
print(int(y))
TT

runtime host-int-of-inf '' 3:1 "cannot convert float infinity to integer" py <<'TT'
import torch
y = torch.tensor([float("inf")]).item()
print(int(y))
TT

runtime host-int-of-huge-float '' 3:1 "$overflow" <<'TT'
import torch
y = torch.tensor([1e30]).item()
print(int(y))
TT

# PyTorch: RuntimeError: ZeroDivisionError (an inf cast to int64 before: undefined).
runtime tensor-floordiv-by-zero '' 3:28 "ZeroDivisionError" py <<'TT'
import torch
a = torch.tensor([7, 8])
print(torch.tensor([7, 8]) // torch.tensor([0, 1]))
TT

runtime tensor-remainder-by-zero '' 2:28 "ZeroDivisionError" py <<'TT'
import torch
print(torch.tensor([7, 8]) % torch.tensor([1, 0]))
TT

runtime tensor-floordiv-by-zero-scalar '' 2:25 "ZeroDivisionError" py <<'TT'
import torch
print(torch.tensor([7]) // 0)
TT

# A range() counter saturates past int64 instead of wrapping back into the range.
cat > range-step.tt <<'TT'
n = 0
last = 0
for k in range(9223372036854775807 - 2000 * 2**40, 9223372036854775807, 2**40):
    n = n + 1
    last = k
print(n, last)
TT
"$ttc" run range-step.tt > out 2> err
if [ $? -eq 0 ] && [ "$(cat out)" = "$("$python" range-step.tt)" ]; then ok; else
  bad "range-step: $(cat out err)"
fi

# Tensors that do not fit a C program's static data: a diagnostic before any C compiler.
printf 'x = zeros(2**31)\nprint(x.sum())\n' > huge.tt
"$ttc" build huge.tt -o huge > out 2> err
rc=$?
if [ $rc -eq 1 ] && grep -q "^huge.tt: error: the program's tensors need 8.00 GiB of static storage.*the fill at line 1$" err; then ok; else
  bad "huge: exit status $rc: $(head -c 600 err)"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
