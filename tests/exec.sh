#!/usr/bin/env bash
# exec.sh — execution tests: each tests/exec/NAME.tt is compiled, built and run by
# `ttc run`, and its stdout must equal tests/exec/NAME.expected byte for byte. The expected
# files are what PyTorch prints for the same program (tests/torch_ref.py), checked in so the
# suite itself needs no torch.
#
#   bash tests/exec.sh TTC TESTS_SRC_DIR WORK_DIR     # the test
#   bash tests/exec.sh --regen [TESTS_SRC_DIR]         # rewrite every .expected (or UPDATE=1)
set -u
regen=0
if [ "${1:-}" = --regen ]; then
  regen=1
  shift
  dir="$(realpath "${1:-$(dirname "$0")}")/exec"
  ref="$(realpath "$(dirname "$0")")/torch_ref.py"
else
  [ "${UPDATE:-0}" = 1 ] && regen=1
  ttc=$(realpath "$1")
  dir="$(realpath "$2")/exec"
  ref="$(realpath "$2")/torch_ref.py"
  work="$(realpath -m "${3:-$(mktemp -d)}")"
  mkdir -p "$work"
  export TTC_CACHE_DIR="$work/cache"
  export TTC_CFLAGS="${TTC_CFLAGS:--O1}" # the numbers, not the speed, are under test
fi
python=/usr/bin/python3

cd "$dir" || exit 1
if [ $regen = 1 ]; then
  n=0
  for tt in *.tt; do
    if ! "$python" "$ref" "$tt" > "${tt%.tt}.expected"; then
      echo "torch_ref.py failed on $tt"
      exit 1
    fi
    n=$((n + 1))
  done
  echo "regenerated $n expected files"
  exit 0
fi

pass=0
fail=0
for tt in *.tt; do
  name="${tt%.tt}"
  timeout "${TTC_TEST_TIMEOUT:-300}" "$ttc" run "$tt" > "$work/out" 2> "$work/err"
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL $name: ttc run exited with status $rc"
    head -20 "$work/err"
    fail=$((fail + 1))
  elif ! diff -u --label "$name (PyTorch)" --label "$name (ttc)" "$name.expected" "$work/out" \
      > "$work/diff"; then
    echo "FAIL $name"
    cat "$work/diff"
    fail=$((fail + 1))
  else
    pass=$((pass + 1))
  fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
