#!/usr/bin/env bash
# gradcheck.sh — autodiff tests: every tests/grad/NAME.tt is compiled, built and run by
# `ttc run`, and its stdout must equal tests/grad/NAME.expected byte for byte.
#   fd-*.tt   finite-difference checks (written by tests/grad/gen.py): each line printed says
#             whether one input's .grad equals the central difference; all must be True.
#   par-*.tt  composite training-style programs whose values and .grads must print exactly
#             as PyTorch prints them (tests/grad/prelude.py: tests/torch_ref.py, which runs
#             the .tt under torch, plus the loss names its prelude lacks).
#   xfail/    reproducers of known autodiff bugs, with PyTorch's output: run and reported,
#             not counted as failures; one that starts to pass says so, to be moved up.
# The expected files are checked in, so the suite needs no torch.
#
#   bash tests/gradcheck.sh TTC TESTS_SRC_DIR WORK_DIR   # the test (ctest runs this)
#   UPDATE=1 bash tests/gradcheck.sh TTC TESTS_SRC_DIR   # rewrite every .expected from PyTorch
shopt -s nullglob
set -u
if [ $# -lt 2 ]; then
  echo "usage: [UPDATE=1] bash tests/gradcheck.sh TTC TESTS_SRC_DIR [WORK_DIR]" >&2
  exit 2
fi
ttc=$(realpath "$1")
src=$(realpath "$2")
dir="$src/grad"
ref="$dir/prelude.py"
work=$(realpath -m "${3:-$(mktemp -d)}")
mkdir -p "$work/out/xfail"
# A private cache: compiled programs of this suite neither read nor fill the user's cache.
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}" # the numbers, not the speed, are under test
# Each program's time limit (compile and run) guards against hangs, not for speed: under
# the sanitizer build fd-conv alone takes half a minute to compile (TTC_TEST_TIMEOUT).
python=/usr/bin/python3

cd "$dir" || exit 1

if [ "${UPDATE:-0}" = 1 ]; then
  n=0
  bad=0
  for tt in *.tt xfail/*.tt; do
    name="${tt%.tt}"
    if ! "$python" "$ref" "$tt" > "$name.expected"; then
      echo "torch_ref.py failed on $tt"
      bad=1
      continue
    fi
    # Under PyTorch a finite-difference check must pass too, else the check itself is wrong.
    if [[ $name == fd-* ]] && grep -v ': tensor(True)$' "$name.expected"; then
      echo "^ $tt: a check that PyTorch itself fails"
      bad=1
    fi
    n=$((n + 1))
  done
  echo "regenerated $n expected files"
  exit $bad
fi

# Run the programs two at a time (the build machines have two cores); each run writes its
# own files, and the verdicts are read in name order afterwards so the report is stable.
run_one() {
  local tt=$1 ttc=$2 out=$3
  local name="${tt%.tt}"
  timeout "${TTC_TEST_TIMEOUT:-300}" "$ttc" run "$tt" > "$out/$name.out" 2> "$out/$name.err"
  echo $? > "$out/$name.rc"
}
export -f run_one
# The first program runs alone: it builds the runtime into the fresh cache, which two
# concurrent first runs would otherwise both write.
progs=(*.tt xfail/*.tt)
run_one "${progs[0]}" "$ttc" "$work/out"
printf '%s\n' "${progs[@]:1}" | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {} "$ttc" "$work/out"

pass=0
fail=0
for tt in *.tt; do
  name="${tt%.tt}"
  rc=$(cat "$work/out/$name.rc" 2> /dev/null || echo missing)
  if [ "$rc" != 0 ]; then
    echo "FAIL $name: ttc run exited with status $rc: $(head -1 "$work/out/$name.err")"
    fail=$((fail + 1))
  elif [ ! -f "$name.expected" ]; then
    echo "FAIL $name: no $name.expected (UPDATE=1 writes it)"
    fail=$((fail + 1))
  elif ! diff -u --label "$name (expected)" --label "$name (ttc)" "$name.expected" \
      "$work/out/$name.out" > "$work/out/$name.diff"; then
    # One line per failure: for a gradient check the labels of the checks that are not
    # True, for a parity test the first differing line; the whole diff is in WORK_DIR.
    if [[ $name == fd-* ]]; then
      what=$(grep -v ': tensor(True)$' "$work/out/$name.out" | sed 's/: tensor(False)$//' |
        paste -sd ';' -)
      echo "FAIL $name: not True: ${what:-(missing lines)}"
    else
      first=$(grep -m1 '^[-+][^-+]' "$work/out/$name.diff")
      echo "FAIL $name: output differs from PyTorch's, first: $first (see $work/out/$name.diff)"
    fi
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done
xfail=0
for tt in xfail/*.tt; do
  name="${tt%.tt}"
  if [ "$(cat "$work/out/$name.rc" 2> /dev/null)" = 0 ] &&
      cmp -s "$name.expected" "$work/out/$name.out"; then
    echo "XPASS $name: it matches PyTorch now; move it to tests/grad/par-*.tt"
  else
    xfail=$((xfail + 1))
  fi
done
[ $xfail -gt 0 ] && echo "($xfail known bugs in tests/grad/xfail/ still differ from PyTorch)"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
