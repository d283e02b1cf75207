#!/usr/bin/env bash
# same_ir.sh — the IR two builds of ttc print for each program must be the same byte for
# byte. .ci/run compares the gcc build with the clang one: C leaves the order in which a
# call's arguments (and an initializer list's items) are evaluated unspecified, so a front
# end or pass that adds graph nodes in two arguments of one call orders them, and names
# them in the emitted C, by whichever compiler built ttc. Fix such a call by adding the
# nodes in statements of their own.
#
#   bash .ci/same_ir.sh TTC_A TTC_B FILE.tt...
set -u
if [ $# -lt 3 ]; then
  echo "usage: bash .ci/same_ir.sh TTC_A TTC_B FILE.tt..." >&2
  exit 2
fi
a=$(realpath "$1") b=$(realpath "$2")
shift 2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 bad=0
for f in "$@"; do
  dir=$(dirname "$f") base=$(basename "$f")
  # programs that do not compile are other tests' business: compare what both print
  (cd "$dir" && "$a" compile "$base" --emit=ir -o "$work/a.ir" > /dev/null 2>&1) || continue
  (cd "$dir" && "$b" compile "$base" --emit=ir -o "$work/b.ir" > /dev/null 2>&1) || {
    echo "FAIL $f: only the first ttc compiles it"
    bad=$((bad + 1))
    continue
  }
  n=$((n + 1))
  if ! cmp -s "$work/a.ir" "$work/b.ir"; then
    echo "FAIL $f: the two builds print other IR"
    diff "$work/a.ir" "$work/b.ir" | head -8
    bad=$((bad + 1))
  fi
done
echo "same_ir: $n programs, $bad differ"
[ "$bad" -eq 0 ]
