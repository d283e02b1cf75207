#!/usr/bin/env bash
# imports.sh — programs in several files (frontend/imports.c).
#   tests/imports/PROJECT/main.py    a project laid out as people lay them out (model.py,
#                                    utils.py, packages with and without __init__.py); `ttc
#                                    run` of main.py, from another directory, must print
#                                    PROJECT/main.expected, which is python3's output
#   tests/imports/errors/case-*.py   programs whose imports fail; `ttc compile` must exit 1
#                                    with exactly case-*.err (the file:line:col names the
#                                    imported file where the mistake is)
# and the compile cache: editing an imported module changes what `ttc run` prints.
#
#   bash tests/imports.sh TTC TESTS_SRC_DIR WORK_DIR   # the test
#   UPDATE=1 bash tests/imports.sh TTC TESTS_SRC_DIR   # rewrite main.expected (python3, torch
#                                                      # 1.13) and the .err files (review them)
set -u
ttc=$(realpath "$1")
dir="$(realpath "$2")/imports"
work="$(realpath -m "${3:-$(mktemp -d)}")"
mkdir -p "$work"
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}"
export PYTHONDONTWRITEBYTECODE=1
pass=0
fail=0
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

for main in "$dir"/*/main.py; do
  proj=$(basename "$(dirname "$main")")
  if [ "${UPDATE:-0}" = 1 ]; then
    (cd "$work" && /usr/bin/python3 "$main") > "${main%.py}.expected" || exit 1
  fi
  if ! (cd "$work" && timeout 300 "$ttc" run "$main") > "$work/out" 2> "$work/err"; then
    bad "$proj: ttc run failed"; head -20 "$work/err"
  elif ! diff -u "${main%.py}.expected" "$work/out"; then
    bad "$proj: output differs from python3's"
  else
    pass=$((pass + 1))
  fi
done

cd "$dir/errors" || exit 1
for f in case-*.py; do
  "$ttc" compile "$f" -o "$work/case.c" 2> "$work/err"
  rc=$?
  [ "${UPDATE:-0}" = 1 ] && cp "$work/err" "${f%.py}.err"
  if [ $rc -ne 1 ]; then
    bad "$f: exit status $rc, expected 1"; cat "$work/err"
  elif ! diff -u "${f%.py}.err" "$work/err"; then
    bad "$f: diagnostic differs"
  else
    pass=$((pass + 1))
  fi
done

# the cache holds what the files say now: a changed module is a new program
rm -rf "$work/copy" && cp -r "$dir/project" "$work/copy"
(cd "$work/copy" && "$ttc" run main.py) > "$work/out1" 2>&1
sed -i 's/model.py runs once/model.py (edited) runs once/' "$work/copy/model.py"
(cd "$work/copy" && "$ttc" run main.py) > "$work/out2" 2>&1
if grep -q "^model.py runs once" "$work/out1" && grep -q "^model.py (edited) runs once" "$work/out2"; then
  pass=$((pass + 1))
else
  bad "cache: editing model.py did not change what ttc run prints"; head -3 "$work/out1" "$work/out2"
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
