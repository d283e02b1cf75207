#!/usr/bin/env bash
# tokenizers.sh — TinyTorch's tokenizers (frontend/tokenizers.c) and open() (frontend/pyfile.c).
#   tests/tokenizers/NAME.py         programs using CharTokenizer, BPETokenizer and the module's
#                                    helpers as TinyTorch's users write them; `ttc run` must
#                                    print NAME.expected, which is what python3 prints for the
#                                    same program with tests/tokenizers/ref (a stand-in for
#                                    TinyTorch's tokenization module, written from its rules)
#                                    on its path. Programs named *fortunes* read Debian's
#                                    fortunes package and are skipped, with a note, without it.
#   tests/tokenizers/errors/NAME.py  programs ttc must reject: `ttc compile` exits 1 with
#                                    exactly NAME.err
#
#   bash tests/tokenizers.sh TTC TESTS_SRC_DIR WORK_DIR   # the test
#   UPDATE=1 bash tests/tokenizers.sh TTC TESTS_SRC_DIR   # rewrite the .expected files with
#       python3 (bpe-fortunes-2mb's reference takes about a quarter of an hour) and the .err files
#       with ttc (review them)
set -u
ttc=$(realpath "$1") dir=$(realpath "$2")/tokenizers work=$(realpath -m "${3:-$(mktemp -d)}")
mkdir -p "$work" || exit 1
export TTC_CACHE_DIR="$work/cache" TTC_CFLAGS="${TTC_CFLAGS:--O1}" PYTHONDONTWRITEBYTECODE=1
fortunes=/usr/share/games/fortunes
pass=0
fail=0
skip=0
bad() { echo "FAIL $1"; fail=$((fail + 1)); }

cd "$dir" || exit 1
for prog in *.py; do
  name=${prog%.py}
  if [[ $name == *fortunes* && ! -d $fortunes ]]; then
    echo "SKIP $name: $fortunes is not installed (Debian's fortunes package)"
    skip=$((skip + 1))
    continue
  fi
  if [ "${UPDATE:-0}" = 1 ]; then
    PYTHONPATH="$dir/ref" /usr/bin/python3 "$prog" > "$name.expected" || { bad "$name: python3 failed"; continue; }
  fi
  if ! timeout "${TTC_TEST_TIMEOUT:-300}" "$ttc" run "$prog" > "$work/out" 2> "$work/err"; then
    bad "$name: ttc run failed"
    head -20 "$work/err"
  elif ! diff -u --label "$name (python3)" --label "$name (ttc)" "$name.expected" "$work/out" > "$work/diff"; then
    bad "$name: output differs from python3's"
    head -40 "$work/diff"
  else
    pass=$((pass + 1))
  fi
done

cd "$dir/errors" || exit 1
for prog in *.py; do
  "$ttc" compile "$prog" -o "$work/case.c" > /dev/null 2> "$work/err"
  rc=$?
  [ "${UPDATE:-0}" = 1 ] && cp "$work/err" "${prog%.py}.err"
  if [ $rc -ne 1 ]; then
    bad "errors/$prog: exit status $rc, expected 1"
    cat "$work/err"
  elif ! diff -u "${prog%.py}.err" "$work/err"; then
    bad "errors/$prog: diagnostic differs"
  else
    pass=$((pass + 1))
  fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
