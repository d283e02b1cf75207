#!/usr/bin/env bash
# memplan.sh — static memory planning end to end: for each program, the report of
# `ttc compile --mem-report` equals what the object file compiled from the C allocates (the
# arena symbols' sizes for the intermediates, the variables' arrays for parameters,
# gradients, optimizer state and values, as nm sees them), and the plan makes the
# intermediates smaller than separate arrays would be (the CNN's training step by at
# least half).
#
#   bash tests/memplan.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
cc=${CC:-cc}
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

# field REPORT NAME: the byte count on the report's line NAME
field() { awk -v k="$2" 'index($0, k) == 1 { n = split(substr($0, length(k) + 1), a, " "); print a[1]; exit }' "$1"; }

for prog in models/mlp_fashion.tt models/cnn_fashion.tt models/transformer_tasks.tt tests/train/gpt-char-trajectory.tt; do
  name=$(basename "$prog" .tt)
  if ! "$ttc" compile "$src/../$prog" -o "$name.c" --mem-report > "$name.report" 2> "$name.err"; then
    bad "$name: ttc compile --mem-report failed: $(head -1 "$name.err")"
    continue
  fi
  if ! "$cc" -std=c11 -O0 -c -Wa,-I"$work" -I"$src/../runtime" "$name.c" -o "$name.o" 2> "$name.cc"; then
    bad "$name: the C does not compile: $(head -1 "$name.cc")"
    continue
  fi
  nm -S --radix=d --defined-only "$name.o" > "$name.nm"
  # the arenas
  arena=$(awk '$4 ~ /^arena_/ { s += $2 + 0 } END { print s + 0 }' "$name.nm")
  want=$(field "$name.report" "intermediates")
  [ "$arena" = "$want" ] && ok || bad "$name: the report says $want bytes of intermediates, the object's arenas hold $arena"
  # the variables: the arrays the C declares as a value, parameter, gradient or state
  grep -oE '^static TT_ALIGN (TT_MAYBE_UNUSED )?[a-z0-9_]+ [A-Za-z0-9_]+\[[0-9]+\]; /\* \[[^]]*\] (value|parameter|gradient|state)' "$name.c" |
    sed -E 's/^static TT_ALIGN (TT_MAYBE_UNUSED )?[a-z0-9_]+ ([A-Za-z0-9_]+)\[.*/\2/' > "$name.vars"
  vars=$(awk 'NR == FNR { v[$1] = 1; next } ($4 in v) { s += $2 + 0 } END { print s + 0 }' "$name.vars" "$name.nm")
  want=$(( $(field "$name.report" "parameters") + $(field "$name.report" "gradients") +
           $(field "$name.report" "optimizer state") + $(field "$name.report" "values") ))
  [ "$vars" = "$want" ] && ok || bad "$name: the report says $want bytes of variables, the object's arrays hold $vars"
  # planned below separate arrays
  "$ttc" compile "$src/../$prog" -o "$name.off.c" --mem-report --disable-pass=memplan > "$name.off" 2> /dev/null
  on=$(field "$name.report" "intermediates")
  off=$(field "$name.off" "intermediates")
  [ "$on" -lt "$off" ] && ok || bad "$name: planned intermediates $on bytes, not below the $off of separate arrays"
done

# The CNN's training step: at least halved, against the separate arrays of the program
# without the fuse pass (fusing relu(conv2d) and the masked pooling gradient removes buffers
# of its own, which the separate-arrays figure of the fused program no longer counts).
"$ttc" compile "$src/../models/cnn_fashion.tt" -o cnn_unfused.c --mem-report --disable-pass=fuse > cnn_unfused.report 2> /dev/null
unfused=$(grep -E '^  train_step ' cnn_unfused.report)
line=$(grep -E '^  train_step ' cnn_fashion.report)
[[ $unfused =~ ([0-9.]+)\ MiB\ -\>\ ([0-9.]+)\ MiB ]] && before=${BASH_REMATCH[1]}
if [[ $line =~ ([0-9.]+)\ MiB\ -\>\ ([0-9.]+)\ MiB ]] && [ -n "${before:-}" ] &&
    awk -v a="$before" -v b="${BASH_REMATCH[2]}" 'BEGIN { exit !(b * 2 <= a) }'; then
  ok
else
  bad "cnn_fashion: the training step's intermediates not halved: $line (unfused: $unfused)"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
