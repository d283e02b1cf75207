#!/usr/bin/env bash
# cli.sh — command-line behaviour of ttc: options and exit statuses, the outputs of each
# command, determinism, that emitted C compiles warning-free with gcc and clang, and that
# hostile inputs (empty, binary, deeply nested, huge, NUL bytes) end in a diagnostic — exit
# status 0 or 1 within a few seconds — never in a crash.
#
#   bash tests/cli.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}"
rtdir="$src/../runtime"
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  [ -s err ] && head -c 2000 err
  fail=$((fail + 1))
}
# expect_rc NAME WANT CMD...: run CMD (stdout > out, stderr > err), check its exit status.
expect_rc() {
  local name=$1 want=$2
  shift 2
  "$@" > out 2> err
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "$name: exit status $rc, expected $want"; fi
}
# grep_in NAME FILE PATTERN: the file must contain the (extended) regex.
grep_in() {
  if grep -Eq -- "$3" "$2"; then ok; else bad "$1: $2 lacks /$3/"; fi
}
# robust NAME FILE: compiling FILE must end with status 0 or 1, within 10 s; status 1
# must come with a diagnostic on stderr. Outputs go to files of the work directory, never to
# /dev/null: a ttc that renamed a temporary over its output made /dev/null a regular file
# when run as root (tests/cache.sh checks -o onto device nodes, on a private twin first).
robust() {
  timeout 10 "$ttc" compile "$2" -o discard.c > out 2> err
  local rc=$?
  if [ $rc -eq 124 ]; then
    bad "$1: took more than 10 s"
  elif [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
    bad "$1: exit status $rc (crash?)"
  elif [ $rc -eq 1 ] && ! grep -q 'error' err; then
    bad "$1: exit status 1 without a diagnostic"
  else
    ok
  fi
}

cat > prog.tt <<'TT'
manual_seed(0)
fc = Linear(3, 2)
x = tensor([[1., 2., 3.]])
unused = x @ x.t()
y = relu(fc(x)) + tensor([[1.], [2.]])
print(y.sum(dim=0))
TT

# ---- options -----------------------------------------------------------------------------
expect_rc "--help" 0 "$ttc" --help
grep_in "--help" out 'usage'
expect_rc "--version" 0 "$ttc" --version
grep_in "--version" out 'ttc [0-9]+\.[0-9]+'
expect_rc "--list-passes" 0 "$ttc" --list-passes
grep_in "--list-passes" out 'dce'
grep_in "--list-passes kinds" out 'dce          graph'
expect_rc "no arguments" 1 "$ttc"
expect_rc "unknown option" 1 "$ttc" compile prog.tt --no-such-option
grep_in "unknown option" err 'no-such-option'
expect_rc "unknown command" 1 "$ttc" frobnicate prog.tt
grep_in "unknown command" err 'frobnicate'
expect_rc "missing file" 1 "$ttc" compile does-not-exist.tt
grep_in "missing file" err 'does-not-exist\.tt'
expect_rc "unknown pass" 1 "$ttc" compile prog.tt --passes=no-such-pass
grep_in "unknown pass" err 'no-such-pass'
expect_rc "bad --emit" 1 "$ttc" compile prog.tt --emit=pdf

# ---- compile -----------------------------------------------------------------------------
expect_rc "compile -o -" 0 "$ttc" compile prog.tt -o -
grep_in "compile -o -" out 'int main'
expect_rc "compile -o FILE" 0 "$ttc" compile prog.tt -o prog.c
if cmp -s out prog.c; then bad "compile -o FILE wrote to stdout too"; else ok; fi
"$ttc" compile prog.tt -o - > again.c 2> err
if cmp -s prog.c again.c; then ok; else bad "compile twice: the bytes differ"; fi
"$ttc" compile prog.tt --emit=ir -o - > a.ir 2> err
"$ttc" compile prog.tt --emit=ir -o - > b.ir 2> err
if [ -s a.ir ] && cmp -s a.ir b.ir; then ok; else bad "--emit=ir twice: empty or the bytes differ"; fi
for cc in gcc clang; do
  if command -v $cc > /dev/null; then
    expect_rc "$cc compiles the emitted C" 0 \
      $cc -std=c11 -Wall -Wextra -Werror -I"$rtdir" -c prog.c -o prog-$cc.o
  else
    echo "note: $cc not installed, skipped"
  fi
done
expect_rc "--emit=dot" 0 "$ttc" compile prog.tt --emit=dot -o prog.dot
if command -v dot > /dev/null; then
  expect_rc "dot -Tsvg" 0 dot -Tsvg prog.dot -o prog.svg
  grep_in "dot -Tsvg" prog.svg '<svg'
else
  echo "note: graphviz not installed, dot check skipped"
fi

# ---- passes ------------------------------------------------------------------------------
expect_rc "--print-after=dce" 0 "$ttc" compile prog.tt --print-after=dce -o discard.c
grep_in "--print-after=dce" err 'after dce'
grep_in "--print-after=dce" err 'forward @'
# --disable-pass drops one pass from the default pipeline: the dead value stays in the C
cat > deadval.tt <<'TT'
x = ones(2, 2)
unused = x * 3.0
print(x + 1.0)
TT
expect_rc "default pipeline" 0 "$ttc" compile deadval.tt -o with.c
expect_rc "--disable-pass=dce" 0 "$ttc" compile deadval.tt --disable-pass=dce -o without.c
if grep -q 'unused' with.c || ! grep -q 'unused' without.c; then
  echo "FAIL --disable-pass=dce: the dead value should be in without.c only"; fail=$((fail + 1))
else pass=$((pass + 1)); fi
expect_rc "--disable-pass=nonsense" 1 "$ttc" compile deadval.tt --disable-pass=nonsense -o without.c
grep_in "--disable-pass=nonsense" err "unknown pass 'nonsense'"
expect_rc "--print-after-all" 0 "$ttc" compile prog.tt --print-after-all -o discard.c
grep_in "--print-after-all" err 'after dce'
expect_rc "diff --pass=dce" 0 "$ttc" diff prog.tt --pass=dce
grep_in "diff --pass=dce" out '^--- '
grep_in "diff --pass=dce" out '^\+\+\+ '
grep_in "diff --pass=dce" out '^-.*matmul'
expect_rc "-O0 keeps the dead matmul" 0 "$ttc" compile prog.tt -O0 --emit=ir -o -
grep_in "-O0 keeps the dead matmul" out 'matmul'

# ---- build and run -----------------------------------------------------------------------
expect_rc "build -o BIN" 0 "$ttc" build prog.tt -o prog.bin
if [ -x prog.bin ]; then
  expect_rc "running the built binary" 0 ./prog.bin
  "$ttc" run prog.tt > run.out 2> err
  if cmp -s out run.out; then ok; else bad "ttc run and the built binary print different output"; fi
else
  bad "build -o BIN: no executable prog.bin"
fi
expect_rc "run prints" 0 "$ttc" run prog.tt
grep_in "run prints" out '^tensor\('
printf 'x = ones(2)\nprint(x[5])\n' > index-error.tt
expect_rc "run of a program with a compile error" 1 "$ttc" run index-error.tt
grep_in "run of a program with a compile error" err '^index-error\.tt:2:'
expect_rc "run with a C compiler that fails" 1 "$ttc" run prog.tt --cc=false --cflags=-DNEW_FLAGS

# ---- robustness: hostile input ends in a diagnostic, never a crash or a hang -------------
: > empty.tt
robust "empty file" empty.tt
head -c 4096 /dev/urandom > binary.tt
robust "binary file" binary.tt
head -c 65536 /dev/zero > zeros.tt
robust "file of NUL bytes" zeros.tt
printf 'x = 1\ny = \0 2\nprint(x)\n' > nul.tt
robust "NUL byte inside" nul.tt
grep_in "NUL byte inside" err 'nul\.tt:2:'
printf 'x = 1\n' > nonl.tt && printf 'print(x)' >> nonl.tt
expect_rc "no final newline" 0 "$ttc" run nonl.tt
grep_in "no final newline" out '^1$'
awk 'BEGIN { printf "x = "; for (i = 0; i < 100000; i++) printf "("; printf "1";
             for (i = 0; i < 100000; i++) printf ")"; print "" }' > parens.tt
robust "100000 nested parentheses" parens.tt
awk 'BEGIN { printf "["; for (i = 0; i < 100000; i++) printf "["; print "" }' > brackets.tt
robust "100000 unclosed brackets" brackets.tt
awk 'BEGIN { for (i = 0; i < 5000; i++) { for (j = 0; j < i; j++) printf " "; print "if 1:" }
             for (j = 0; j < 5000; j++) printf " "; print "x = 1" }' > ifs.tt
robust "5000 nested ifs" ifs.tt
awk 'BEGIN { x = "x"; for (i = 0; i < 20000; i++) x = x " + 1"; print "y = " x }' > long.tt
robust "a 20000-term expression" long.tt
awk 'BEGIN { for (i = 0; i < 1000000; i++) print "x = 1" }' > big.tt
robust "a 5 MB file of statements" big.tt
awk 'BEGIN { for (i = 0; i < 50000; i++) print "x = ones(2) + 1" }' > manygraphs.tt
robust "50000 tensor statements" manygraphs.tt
printf 'def f(:\n  return\n' > junk1.tt
robust "broken def" junk1.tt
printf 'class C(Module):\n\tdef f(self):\n        return 1\n' > tabs.tt
robust "mixed tabs and spaces" tabs.tt
printf 'print(f"{x:{y}}{")\n' > fstr.tt
robust "broken f-string" fstr.tt
printf 'x = 99999999999999999999999999 * 1e999999\n' > numbers.tt
robust "huge literals" numbers.tt
# shapes whose element count overflows 64 bits (found by the fuzzer: UB under UBSan)
printf 'x = ones(100000000, 1000, 100000000)\nprint(x.sum())\n' > hugeshape.tt
robust "a shape of 1e19 elements" hugeshape.tt
grep_in "a shape of 1e19 elements" err 'hugeshape\.tt:1:5: error: ones\(\): tensor too large'
printf 'x = ones()\nprint(x, sum(print(x.sum())))\n' > sumnone.tt
robust "sum() of print()'s None (found by the fuzzer: NULL dereference)" sumnone.tt
grep_in "sum() of print()'s None" err "sumnone\\.tt:2:.*'NoneType' object is not iterable"
printf 'x = ones(4, 6)\ny = x.view(10000000000, 10000000000, -1)\n' > hugeview.tt
robust "a view of 1e20 elements" hugeview.tt
grep_in "a view of 1e20 elements" err 'hugeview\.tt:2:6: error: shape .\[10000000000, 10000000000, -1\]. is invalid for input of size 24'

# ---- the NaN detective, autodiff's diff, the convolution kernel choice ------------------
cat > nan.tt <<'TT'
x = tensor([[0.5, -1.0, 2.0]], requires_grad=True)
w = tensor([[1.0], [2.0], [3.0]], requires_grad=True)
h = x @ w
y = sqrt(h - 4.5)
loss = y.sum() * 0.0 + h.sum()
loss.backward()
print(x.grad)
TT
expect_rc "NaN without the detective" 0 "$ttc" run nan.tt
grep_in "NaN without the detective" out 'nan'
expect_rc "--detect-anomaly stops" 1 "$ttc" run --detect-anomaly nan.tt
grep_in "--detect-anomaly names sqrt's line, backward" err 'anomaly detected: NaN in the output of .* [(]backward[)] at nan\.tt:4:5'
printf 'x = log(tensor([-1.0, 2.0]))\nprint(x)\n' > nanfwd.tt
expect_rc "--detect-anomaly forward" 1 "$ttc" run --detect-anomaly nanfwd.tt
grep_in "--detect-anomaly forward names log" err 'NaN in the output of log [(]forward[)] at nanfwd\.tt:1:5'
expect_rc "diff --pass=autodiff" 0 "$ttc" diff nan.tt --pass=autodiff
grep_in "diff --pass=autodiff shows the backward" out '^[+].*store into x_grad'
expect_rc "diff --from=autodiff --to=dce" 0 "$ttc" diff nan.tt --from=autodiff --to=dce --emit=ir
grep_in "diff --from/--to labels both points" out '^[+][+][+] nan[.]tt[.]ir [(]after dce[)]'
expect_rc "diff --from=unknown" 1 "$ttc" diff nan.tt --from=nope --to=end
cat > conv.tt <<'TT'
manual_seed(0)
c = Conv2d(1, 2, 3, padding=1)
x = randn(2, 1, 5, 5)
y = max_pool2d(relu(c(x)), 2)
y.sum().backward()
print(y.sum(), c.weight.grad.sum())
TT
expect_rc "conv im2col" 0 "$ttc" run conv.tt
cp out conv-im2col.out
expect_rc "conv --conv=naive" 0 "$ttc" run --conv=naive conv.tt
if cmp -s out conv-im2col.out; then ok; else bad "--conv=naive and im2col print the same"; fi
expect_rc "diff --pass=conv-im2col" 0 "$ttc" diff conv.tt --pass=conv-im2col
grep_in "diff --pass=conv-im2col shows the kernels" out '^[+].*tt_conv2d_f32[(]'
expect_rc "bad --conv" 1 "$ttc" run --conv=fast conv.tt

# A key known only at run time that selects a string (decode of generated ids) is looked up
# where Python looks it up: a missing one stops the program there, printed or not, with
# Python's KeyError or IndexError and the line and column of the lookup.
cat > badkey.tt <<'TT'
itos = {0: "a", 1: "b"}
ids = (tensor([1, 0, 7]) + randint(0, 1, (3,))).tolist()
s = "".join(itos[i] for i in ids)
print("not reached")
TT
expect_rc "run-time KeyError" 1 "$ttc" run badkey.tt
grep_in "run-time KeyError" err 'badkey.tt:3:17: KeyError: 7$'
if [ -s out ]; then bad "run-time KeyError: printed before stopping"; else ok; fi
cat > badpos.tt <<'TT'
words = ["zero", "one"]
ids = (tensor([-2, 2]) + randint(0, 1, (2,))).tolist()
print(" ".join([words[i] for i in ids]))
TT
expect_rc "run-time IndexError" 1 "$ttc" run badpos.tt
grep_in "run-time IndexError" err 'badpos.tt:3:22: IndexError: list index out of range$'

# An index read from data at run time that is out of range stops the program with the .tt
# line, as PyTorch raises; indexing the result of a bool mask (sized at run time) is a
# compile-time diagnostic.
cat > badindex.tt <<'TT'
x = randn(4, 5)
i = (x.sum(1) > -100).long() * 7
print(x.gather(1, i.unsqueeze(1)))
TT
expect_rc "index out of range" 1 "$ttc" run badindex.tt
grep_in "index out of range" err 'badindex.tt:3: index 7 is out of bounds for dimension 1 with size 5'
printf 'x = randn(3)\nprint(x[x > 0][0])\n' > boolmask.tt
expect_rc "bool mask index" 1 "$ttc" compile boolmask.tt -o discard.c
grep_in "bool mask index" err 'boolmask.tt:2:1: error: this use of a tensor whose size is known only at run time'

# Large constants (a corpus's token ids) are not spelled out in the C: `compile -o X.c`
# writes them to X.data, which the C includes with .incbin; build and run carry them into
# the binary; a C compiled against another data file stops at start-up naming it.
cat > bigconst.tt <<'TT'
ids = tensor([i % 97 for i in range(20000)])
print(ids.sum(), ids[12345])
TT
expect_rc "big constant: compile" 0 "$ttc" compile bigconst.tt -o bigconst.c
if [ -s bigconst.data ] && [ "$(stat -c %s bigconst.data)" -ge 160000 ]; then ok; else bad "big constant: no bigconst.data of 160000 bytes"; fi
if [ "$(wc -c < bigconst.c)" -lt 100000 ]; then ok; else bad "big constant: spelled out in the C ($(wc -c < bigconst.c) bytes)"; fi
grep_in "big constant: .incbin" bigconst.c 'incbin \\"bigconst.data\\"'
expect_rc "big constant: run" 0 "$ttc" run bigconst.tt
grep_in "big constant: run" out '^tensor\(959289\) tensor\(26\)$'
for cc in gcc clang; do
  command -v $cc > /dev/null || continue
  expect_rc "big constant: $cc -Wa,-I" 0 $cc -std=c11 -Wall -Wextra -Werror -I"$rtdir" -Wa,-I. \
    -c bigconst.c -o bigconst-$cc.o
  expect_rc "big constant: $cc links it" 0 $cc -std=c11 -D_POSIX_C_SOURCE=200809L -I"$rtdir" \
    bigconst-$cc.o "$rtdir"/*.c -lz -lcjson -lm -o bigconst-$cc
  expect_rc "big constant: the $cc binary" 0 ./bigconst-$cc
  grep_in "big constant: the $cc binary" out '^tensor\(959289\) tensor\(26\)$'
done
printf 'x' >> bigconst.data
if command -v gcc > /dev/null; then
  gcc -std=c11 -D_POSIX_C_SOURCE=200809L -I"$rtdir" -Wa,-I. bigconst.c "$rtdir"/*.c -lz -lcjson -lm \
    -o bigconst-bad 2> err
  expect_rc "big constant: another data file" 1 ./bigconst-bad
  grep_in "big constant: another data file" err 'bigconst.data: the data file this program was compiled with has 160001 bytes'
fi
expect_rc "big constant: to stdout, in the C" 0 "$ttc" compile bigconst.tt -o -
if grep -q incbin out; then bad "big constant: stdout C names a data file"; else ok; fi

# A failing assert on a value known only at run time stops the program as Python's
# AssertionError does, naming the line, after what it printed before.
cat > runassert.tt <<'TT'
import torch
torch.manual_seed(0)
for it in range(3):
    x = torch.randn(2, requires_grad=True)
    (x * x).sum().backward()
    print("step", it)
    assert x.grad.abs().sum().item() < 5.0, "gradient too large"
TT
expect_rc "run-time assert" 1 "$ttc" run runassert.tt
grep_in "run-time assert" err '^error: runassert.tt:7: AssertionError: gradient too large$'
grep_in "run-time assert" out '^step 1$'

# A graph of more than 400 nodes is emitted in parts (noinline functions sharing its
# buffers at file scope), which bounds the C compiler's time; the result is unchanged. The
# 200 steps are 200 lines, so that no run of them repeats (a loop's iterations would be one
# outlined function, codegen/outline.c).
{ echo 'x = ones(3)'; for i in $(seq 200); do echo 'x = x * 1.001 + 0.01'; done; echo 'print(x)'; } > split.tt
expect_rc "split graph: compile" 0 "$ttc" compile split.tt -o split.c
grep_in "split graph: parts" split.c '^static TT_NOINLINE void forward_part3[(]void[)] [{]$'
grep_in "split graph: the caller" split.c '^/[*] split.tt lines 1-202, in [0-9]+ parts [*]/$'
for cc in gcc clang; do
  command -v $cc > /dev/null || continue
  expect_rc "split graph: $cc" 0 $cc -std=c11 -Wall -Wextra -Werror -I"$rtdir" -c split.c -o split-$cc.o
done
expect_rc "split graph: run" 0 "$ttc" run split.tt
grep_in "split graph: run" out '^tensor[(][[]3.4341, 3.4341, 3.4341[]][)]$'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
