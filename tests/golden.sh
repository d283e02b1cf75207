#!/usr/bin/env bash
# golden.sh — golden tests: each tests/golden/NAME.tt sits beside the output it must give.
# The expected file's extension picks the mode (as in cproc's tests):
#   NAME.ir   stdout of `ttc compile NAME.tt --emit=ir`
#   NAME.c    stdout of `ttc compile NAME.tt --emit=c`
#   NAME.err  stderr of `ttc compile NAME.tt`, which must exit with status 1
#   NAME.PASS.diff  stdout of `ttc diff NAME.tt --pass=PASS`: what that pass changes in the C
# Runs from the golden dir with a relative path so diagnostics name "NAME.tt" and the files
# are machine-independent. UPDATE=1 rewrites the expected files (review them as a diff).
#
#   bash tests/golden.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
dir="$(realpath "$2")/golden"
work="$(realpath -m "${3:-$(mktemp -d)}")"
mkdir -p "$work"
export TTC_CACHE_DIR="$work/cache"
pass=0
fail=0

# check NAME KIND GOT_FILE: compare with the expected file, or rewrite it under UPDATE=1.
check() {
  local exp="$dir/$1.$2"
  if [ "${UPDATE:-0}" = 1 ]; then
    if cp "$3" "$exp"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
  elif diff -u --label "$1.$2 (expected)" --label "$1.$2 (got)" "$exp" "$3" > "$work/diff"; then
    pass=$((pass + 1))
  else
    echo "FAIL $1.$2"
    cat "$work/diff"
    fail=$((fail + 1))
  fi
}

cd "$dir" || exit 1
for tt in *.tt; do
  name="${tt%.tt}"
  ran=0
  for kind in ir c; do
    [ -f "$name.$kind" ] || continue
    ran=1
    timeout 20 "$ttc" compile "$tt" --emit="$kind" -o - > "$work/out" 2> "$work/err"
    rc=$?
    if [ $rc -ne 0 ]; then
      echo "FAIL $name.$kind: ttc exited with status $rc"
      cat "$work/err"
      fail=$((fail + 1))
      continue
    fi
    check "$name" "$kind" "$work/out"
  done
  for f in "$name".*.diff; do
    [ -f "$f" ] || continue
    ran=1
    p=${f#"$name".}
    p=${p%.diff}
    timeout 20 "$ttc" diff "$tt" --pass="$p" > "$work/out" 2> "$work/err"
    rc=$?
    if [ $rc -ne 0 ]; then
      echo "FAIL $f: ttc diff exited with status $rc"
      cat "$work/err"
      fail=$((fail + 1))
      continue
    fi
    check "$name" "$p.diff" "$work/out"
  done
  if [ -f "$name.err" ]; then
    ran=1
    timeout 20 "$ttc" compile "$tt" -o "$work/out" 2> "$work/err"
    rc=$?
    if [ $rc -ne 1 ]; then
      echo "FAIL $name.err: expected exit status 1, got $rc"
      cat "$work/err"
      fail=$((fail + 1))
      continue
    fi
    check "$name" err "$work/err"
  fi
  if [ $ran = 0 ]; then
    echo "FAIL $name: no $name.ir, $name.c, $name.err or $name.PASS.diff beside it (run with UPDATE=1?)"
    fail=$((fail + 1))
  fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
