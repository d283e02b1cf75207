#!/usr/bin/env bash
# outline.sh — C that grows with a model's design, not its depth (codegen/outline.c): a
# ModuleList of identical blocks is one C function per repeated run of kernels, called
# once per block; the C compiles without warnings under gcc and clang; and a generation
# loop is one C loop over a token buffer (frontend/generate.c), so generating more
# tokens adds no C. The numbers these programs print are checked against python3 by
# tests/exec.sh and tests/train.sh.
#
#   bash tests/outline.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
rtdir="$src/../runtime"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

# 1. four identical blocks: functions for the repeated runs, each called four times
if "$ttc" compile "$src/exec/modulelist-blocks.tt" -o blocks.c 2> err.txt; then
  nfn=$(grep -c '^static TT_NOINLINE void layer[0-9]*(' blocks.c)
  [ "$nfn" -ge 2 ] && ok || bad "modulelist-blocks: $nfn layer functions, want the forward's and the backward's at least"
  # some function is called exactly 4 times (once per block) in the training step
  four=$(grep -o '^  layer[0-9]*(' blocks.c | sort | uniq -c | awk '$1 % 4 == 0' | wc -l)
  [ "$four" -ge 2 ] && ok || bad "modulelist-blocks: no layer function called once per block"
  for cc in gcc clang; do
    command -v $cc > /dev/null || continue
    if $cc -std=c11 -Wall -Wextra -Werror -I"$rtdir" -c blocks.c -o blocks-$cc.o 2> cc.txt; then ok; else bad "blocks.c warns under $cc: $(head -3 cc.txt)"; fi
  done
else
  bad "compile modulelist-blocks: $(head -3 err.txt)"
fi

# 2. a GPT's C: its blocks outlined, its generation loop one C loop whatever the length
# (the sample printed as its last ids: decoding every id of a list is C per id, as yet)
gpt="$src/train/gpt-char-trajectory.tt"
if "$ttc" compile "$gpt" -o gpt40.c 2> err.txt; then
  sed 's/decode(model.generate(context, max_new_tokens=40, top_k=5)\[0\].tolist())/model.generate(context, max_new_tokens=40, top_k=5)[0, -5:]/' "$gpt" > gptids40.tt
  sed 's/max_new_tokens=40/max_new_tokens=400/' gptids40.tt > gptids400.tt
  grep -q 'max_new_tokens=400, top_k=5)\[0, -5:\]' gptids400.tt || bad "the sed of the sample line no longer applies"
  if "$ttc" compile gptids40.tt -o gpt40ids.c 2> err2.txt && "$ttc" compile gptids400.tt -o gpt400.c 2>> err2.txt; then
    a=$(wc -l < gpt40ids.c)
    b=$(wc -l < gpt400.c)
    [ "$a" -eq "$b" ] && ok || bad "generating 400 tokens instead of 40 changed the C from $a to $b lines"
  else
    bad "compile gpt400: $(head -3 err2.txt)"
  fi
  n=$(grep -c '^static TT_NOINLINE void layer[0-9]*(' gpt40.c)
  [ "$n" -ge 2 ] && ok || bad "gpt: $n layer functions"
  grep -q 'a run-time length' gpt40.c && ok || bad "gpt: no run-time length (ST_EXTENT) in the generation loop"
  for cc in gcc clang; do
    command -v $cc > /dev/null || continue
    if $cc -std=c11 -Wall -Wextra -Werror -I"$rtdir" -c gpt40.c -o gpt-$cc.o 2> cc.txt; then ok; else bad "gpt40.c warns under $cc: $(head -3 cc.txt)"; fi
  done
else
  bad "compile gpt: $(head -3 err.txt)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
