#!/usr/bin/env bash
# models.sh — process replay for the shipped programs: the C that ttc emits for every
# models/NAME.tt must equal tests/golden-models/NAME.c byte for byte, so a refactor that
# should change no output proves it (and one that does shows the change, as a diff, in
# review). Also the lesson of `ttc diff models/mirror.tt --pass=autodiff`: what autodiff
# changed is only added lines (the backward); no forward line is renamed or dropped.
#
#   bash tests/models.sh TTC TESTS_SRC_DIR WORK_DIR
#   UPDATE=1 bash tests/models.sh TTC TESTS_SRC_DIR WORK_DIR   # rewrite the golden files
set -u
ttc=$(realpath "$1")
tests="$(realpath "$2")"
golden="$tests/golden-models"
work="$(realpath -m "${3:-$(mktemp -d)}")"
mkdir -p "$work"
export TTC_CACHE_DIR="$work/cache"
pass=0
fail=0

check() { # NAME GOT: compare with golden/NAME, or rewrite it under UPDATE=1
  if [ "${UPDATE:-0}" = 1 ]; then
    cp "$2" "$golden/$1" && pass=$((pass + 1))
  elif diff -u --label "$1 (expected)" --label "$1 (got)" "$golden/$1" "$2" > "$work/diff"; then
    pass=$((pass + 1))
  else
    echo "FAIL $1"
    head -60 "$work/diff"
    fail=$((fail + 1))
  fi
}

# From models/ with relative names, so the comments name "NAME.tt" on any machine.
cd "$tests/../models" || exit 1
for tt in *.tt; do
  name="${tt%.tt}"
  if ! timeout 60 "$ttc" compile "$tt" -o "$work/$name.c" 2> "$work/err"; then
    echo "FAIL $name.c: ttc compile failed"
    cat "$work/err"
    fail=$((fail + 1))
    continue
  fi
  check "$name.c" "$work/$name.c"
done

# The autodiff lesson: only added lines (but for the memory report heading the C, whose
# sizes grow with the backward's buffers).
timeout 60 "$ttc" diff mirror.tt --pass=autodiff > "$work/mirror.diff" 2> "$work/err"
check "mirror.autodiff.diff" "$work/mirror.diff"
removed=$(grep '^-[^-]' "$work/mirror.diff" | grep -cv '^- \* \(intermediates\|total\) ')
added=$(grep -c '^+[^+]' "$work/mirror.diff")
if [ "$removed" -eq 0 ] && [ "$added" -gt 5 ]; then
  pass=$((pass + 1))
else
  echo "FAIL diff --pass=autodiff: $removed removed lines (expected none), $added added"
  fail=$((fail + 1))
fi
# What the fuse pass did and did not do, and why (--explain=fuse), for the MLP and the CNN.
for name in mlp_fashion cnn_fashion; do
  timeout 60 "$ttc" compile "$name.tt" -o /dev/null --explain=fuse > /dev/null 2> "$work/$name.fuse.txt"
  check "$name.fuse.txt" "$work/$name.fuse.txt"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
