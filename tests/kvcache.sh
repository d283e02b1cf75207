#!/usr/bin/env bash
# kvcache.sh — the kvcache pass (passes/kvcache.c, docs/KVCACHE.md) is exact and says what
# it did:
#   1. tests/kvcache/causal.tt (a causal GPT, batch 2, greedy and seeded sampling, generating
#      past its block size so the window slides): the pass rewrites both loops; the output
#      (each step's largest logit and the tokens) is python3's with the pass and without it;
#      --profile shows the decode step's time per call.
#   2. variants the pass must refuse, each with its reason at the .tt line (--explain=kvcache
#      held in tests/kvcache/*.explain.txt), and whose output is still python3's:
#      bidirectional attention (no mask), a mean over positions, x.size(1) used as a number.
#   3. a mask buffer that is not causal (all ones): the structure passes, the run-time check
#      of the mask's values sends every step to full recompute: python3's output.
#   4. models/tinygpt.tt shortened to 20 training steps: the same text with and without
#      the pass (tests/train.sh checks it against python3's).
#   5. the generation tests of tests/exec and tests/train: the same output with and without.
#   6. the emitted C with the pass compiles without warnings under -Wall -Wextra.
#
#   bash tests/kvcache.sh TTC TESTS_SRC_DIR WORK_DIR      (UPDATE=1 rewrites the .explain.txt)
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
dir="$src/kvcache"
py=/usr/bin/python3
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}
havepy=0
$py -c 'import torch' 2> /dev/null && havepy=1
[ $havepy = 1 ] || echo "(python3 with torch missing: outputs compared between ttc builds only)"

# run NAME.tt: ttc with the pass, without it, and python3; all outputs must agree
same_three() { # NAME
  local n=$1
  if ! timeout 300 "$ttc" run "$n.tt" > "$n.kv" 2> "$n.kv.err"; then
    bad "$n: ttc run failed: $(head -3 "$n.kv.err")"
    return
  fi
  if ! timeout 300 "$ttc" run "$n.tt" --disable-pass=kvcache > "$n.nokv" 2> "$n.nokv.err"; then
    bad "$n: ttc run --disable-pass=kvcache failed: $(head -3 "$n.nokv.err")"
    return
  fi
  cmp -s "$n.kv" "$n.nokv" && ok || bad "$n: output differs with and without the kvcache pass: $(diff "$n.nokv" "$n.kv" | head -3 | tr '\n' ' ')"
  if [ $havepy = 1 ]; then
    $py "$n.tt" > "$n.py" 2> "$n.py.err" || { bad "$n: python3 failed: $(tail -1 "$n.py.err")"; return; }
    cmp -s "$n.kv" "$n.py" && ok || bad "$n: output differs from python3's: $(diff "$n.py" "$n.kv" | head -3 | tr '\n' ' ')"
  fi
}

explain() { # NAME: --explain=kvcache against tests/kvcache/NAME.explain.txt
  local n=$1
  "$ttc" compile "$n.tt" -o /dev/null --explain=kvcache > /dev/null 2> "$n.explain.txt"
  if [ -n "${UPDATE:-}" ]; then
    cp "$n.explain.txt" "$dir/$n.explain.txt"
    ok
  elif cmp -s "$dir/$n.explain.txt" "$n.explain.txt"; then
    ok
  else
    bad "$n: --explain=kvcache differs from tests/kvcache/$n.explain.txt: $(diff "$dir/$n.explain.txt" "$n.explain.txt" | head -4 | tr '\n' ' ')"
  fi
}

# 1. the causal GPT
cp "$dir/causal.tt" causal.tt
same_three causal
explain causal
grep -q 'prefill and decode' causal.explain.txt && ok || bad "causal: the pass did not rewrite the generation loop"

# ttc run --profile: each generation step's time by eighth of the steps, for the decode step
if timeout 300 "$ttc" run causal.tt --profile=causal.svg > /dev/null 2> causal.profile; then
  grep -Eq '^  eval_step_[0-9]+_kvcache +[0-9]+ calls:( +[0-9.]+){8}$' causal.profile && ok ||
    bad "causal: --profile shows no per-call times of the decode step: $(grep -A3 'graphs called' causal.profile | tr '\n' ' ')"
else
  bad "causal: ttc run --profile failed: $(tail -3 causal.profile)"
fi

# 2. what the pass must refuse (each a one-line change of causal.tt)
sed '/att = att.masked_fill/d' causal.tt > bidirectional.tt
sed 's/^        return self.head(self.ln_f(x))$/        x = x - x.mean(dim=1, keepdim=True)\n        return self.head(self.ln_f(x))/' causal.tt > pooled.tt
sed 's/^        return self.head(self.ln_f(x))$/        return self.head(self.ln_f(x)) \/ t/' causal.tt > size_as_number.tt
for n in bidirectional pooled size_as_number; do
  cmp -s causal.tt $n.tt && { bad "$n: the sed did not change causal.tt"; continue; }
  explain $n
  grep -q 'left as full recompute' $n.explain.txt && ok || bad "$n: the pass did not refuse the loop"
  same_three $n
done

# 3. a mask of ones: rewritten, but the run-time check keeps full recompute
sed 's/torch.tril(torch.ones(block_size, block_size))/torch.ones(block_size, block_size)/' causal.tt > ones_mask.tt
cmp -s causal.tt ones_mask.tt && bad "ones_mask: the sed did not change causal.tt"
explain ones_mask
same_three ones_mask

# 4. tinygpt, 20 training steps: the same text with and without the pass
if [ -d /usr/share/games/fortunes ]; then
  sed -e 's/^max_iters = 2500$/max_iters = 20/' -e 's/^eval_interval = 250$/eval_interval = 10/' \
    "$src/../models/tinygpt.tt" > tinygpt20.tt
  if ! timeout 600 "$ttc" run tinygpt20.tt > tg.kv 2> tg.kv.err; then
    bad "tinygpt20: ttc run failed: $(head -3 tg.kv.err)"
  elif ! timeout 600 "$ttc" run tinygpt20.tt --disable-pass=kvcache > tg.nokv 2> tg.nokv.err; then
    bad "tinygpt20: ttc run --disable-pass=kvcache failed: $(head -3 tg.nokv.err)"
  else
    cmp -s tg.kv tg.nokv && ok || bad "tinygpt20: output differs with and without the kvcache pass"
  fi
  "$ttc" compile tinygpt20.tt -o tinygpt20.c 2> tg.compile.err
  grep -q '^kvcache: generation loop 0: K and V caches: 2 x 4 attentions x 4 (batch x heads) x 64 positions x 32 x 4 B = 256 KiB$' tg.compile.err &&
    ok || bad "tinygpt20: compile did not print the cache's memory: $(head -2 tg.compile.err)"
else
  echo "(models/tinygpt.tt not checked: no /usr/share/games/fortunes; apt-get install fortunes)"
fi

# 5. the generation tests of tests/exec and tests/train (python3's outputs are checked
# there, with the pass): the same output without it
for f in exec/generate-window.tt train/gpt-char-trajectory.tt; do
  n=$(basename "$f" .tt)
  cp "$src/$f" "$n.tt"
  grep -q 'prefill and decode' < <("$ttc" compile "$n.tt" -o /dev/null --explain=kvcache 2>&1) && ok ||
    bad "$f: the pass did not rewrite its generation loop"
  if timeout 300 "$ttc" run "$n.tt" > "$n.kv" 2>&1 && timeout 300 "$ttc" run "$n.tt" --disable-pass=kvcache > "$n.nokv" 2>&1; then
    cmp -s "$n.kv" "$n.nokv" && ok || bad "$f: output differs with and without the kvcache pass"
  else
    bad "$f: ttc run failed: $(head -3 "$n.kv" "$n.nokv")"
  fi
done

# 6. warning-free C
"$ttc" compile causal.tt -o causal.c 2> /dev/null
for cc in gcc clang; do
  command -v $cc > /dev/null || continue
  if $cc -std=c11 -Wall -Wextra -Werror -I"$src/../runtime" -c causal.c -o causal-$cc.o 2> cc.txt; then ok; else bad "causal.c warns under $cc: $(head -3 cc.txt)"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
