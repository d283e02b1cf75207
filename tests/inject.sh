#!/usr/bin/env bash
# inject.sh — the emitted C is injection-proof: outside text (the .tt file's name, strings
# the program prints, source lines shown in comments) reaches the C only escaped, and
# never as a format string. Each program below has a hostile FILE NAME (quotes,
# backslashes, printf conversions, trigraphs, a newline, a C injection; a `*/` cannot be in a
# file name, so the source line of a host loop tries it in a comment) and an index out
# of range at run time, so the program prints its own name in the error. For each:
#   - the emitted C compiles with gcc and clang under -Wall -Wextra -Werror;
#   - `ttc run` prints exactly "error: NAME:LINE: ..." (the name byte for byte, `%`
#     literal) on stderr and nothing else (no compiler warning), and exits with status 1;
#   - the command the injection would run has not run (its marker file is absent).
#
#   bash tests/inject.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O0}"
rtdir="$src/../runtime"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

# The three run-time index checks that print the file name, and the message each gives.
# Line 8 is the one that fails. Line 5 is a host loop whose source line (shown in a C
# comment above the loop) tries to close the comment, splice lines and form a trigraph.
prog() {
  cat <<'TT'
import torch
import torch.nn.functional as F
x = torch.tensor([1, 5])
n = 0
for i in range(2000):  # */ system("touch PWNED"); /* ??/ \
  n = n + i
print("q\"uote \\ %s%n ??/ */ /* end", n)
TT
  case $1 in
  one_hot) echo 'print(F.one_hot(x, 3))' ;;
  gather) echo 'print(torch.ones(2, 3).gather(1, x.unsqueeze(1)))' ;;
  embedding) echo 'print(F.embedding(x, torch.ones(3, 2)))' ;;
  esac
}
want_msg() {
  case $1 in
  one_hot) echo 'class index 5 is out of bounds for 3 classes' ;;
  gather) echo 'index 5 is out of bounds for dimension 1 with size 3' ;;
  embedding) echo 'index 5 is out of range for an embedding of 3 rows' ;;
  esac
}

names=(
  'q"uote.tt'
  'back\slash.tt'
  'trailing\'
  '%n%n%n%n.tt'
  '%s%s%s.tt'
  'end*'
  '*star.tt'
  'tri??=graph??).tt'
  $'new\nline.tt'
  $'splice\\\nline.tt'
  $'tab\there.tt'
  'a",0);system("touch PWNED");tt_fatal("b.tt'
  $'mod\xc3\xa8le.tt'
)
kinds=(one_hot gather embedding)

k=0
for name in "${names[@]}"; do
  kind=${kinds[$((k % 3))]}
  k=$((k + 1))
  label=$(printf '%q' "$name")
  prog "$kind" > "$name"
  rm -f PWNED
  if "$ttc" compile "$name" -o prog.c 2> err; then ok; else
    bad "$label: ttc compile failed"
    head -5 err
    continue
  fi
  for cc in gcc clang; do
    command -v $cc > /dev/null || continue
    if $cc -std=c11 -Wall -Wextra -Wpedantic -Wtrigraphs -Wcomment -Werror -I"$rtdir" -c prog.c \
        -o prog.o 2> err; then ok; else
      bad "$label: $cc rejects or warns about the emitted C"
      head -20 err
    fi
  done
  "$ttc" run "$name" > out 2> err
  rc=$?
  if [ $rc -eq 1 ]; then ok; else bad "$label: ttc run exited with status $rc, expected 1"; fi
  printf 'error: %s:8: %s\n' "$name" "$(want_msg "$kind")" > want
  if cmp -s want err; then ok; else
    bad "$label: stderr is not exactly the error naming the file"
    diff want err | head -20
  fi
  printf '%s\n' 'q"uote \ %s%n ??/ */ /* end 1999000' > want
  if cmp -s want out; then ok; else
    bad "$label: the program printed something else"
    diff want out | head -10
  fi
  if [ -e PWNED ]; then bad "$label: the injected command ran"; else ok; fi
done

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
