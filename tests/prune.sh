#!/usr/bin/env bash
# prune.sh — pruning's diagnostics, end to end. What ttc cannot do as PyTorch does is an
# error at the line (never another mask): a second pruning whose kept count is not known at
# compile time, bad amounts, pruning what is not a parameter, remove() before any pruning.
# Each program must fail to compile with exit status 1, a file:line:col diagnostic and the
# message given. (The masks themselves are checked against PyTorch by tests/exec/prune-*.tt
# and tests/train/prune-*.tt.)
#
#   bash tests/prune.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

pre='import torch.nn as nn
import torch.nn.utils.prune as prune
m = nn.Linear(4, 3)'

# err NAME MESSAGE LINES: compiling $pre plus LINES fails (status 1) with MESSAGE
err() {
  local name=$1 want=$2
  printf '%s\n%s\n' "$pre" "$3" > "$name.tt"
  "$ttc" compile "$name.tt" -o "$name.c" 2> "$name.err" > /dev/null
  local rc=$?
  if [ $rc -ne 1 ]; then bad "$name: exit status $rc, expected 1"; return; fi
  if ! grep -qF -- "$want" "$name.err"; then bad "$name: no '$want' in: $(head -1 "$name.err")"; return; fi
  if ! grep -q "^$name.tt:[0-9]*:[0-9]*: error: " "$name.err"; then bad "$name: not a file:line:col diagnostic"; return; fi
  ok
}

err structured-after-unstructured "kept channels along dim 0 ttc cannot know at compile time" \
  'prune.l1_unstructured(m, "weight", amount=0.5)
prune.ln_structured(m, "weight", amount=1, n=2, dim=0)'
err unstructured-after-custom "number of kept entries ttc cannot know" \
  'prune.custom_from_mask(m, "weight", mask=m.weight > 0)
prune.l1_unstructured(m, "weight", amount=2)'
err amount-negative "amount=-1 should either be a float in the range [0, 1] or a non-negative integer" \
  'prune.l1_unstructured(m, "weight", amount=-1)'
err amount-float-range "amount=1.5 should either be a float in the range [0, 1]" \
  'prune.random_unstructured(m, "weight", amount=1.5)'
err amount-too-many "amount=13 should be smaller than the number of parameters to prune=12" \
  'prune.l1_unstructured(m, "weight", amount=13)'
err amount-type "Invalid type for amount" \
  'prune.l1_unstructured(m, "weight", amount="half")'
err no-such-tensor "has no parameter or buffer with name 'w'" \
  'prune.l1_unstructured(m, "w", amount=1)'
err not-a-parameter "only a module's parameters can be pruned" \
  'm.register_buffer("scale", m.weight.detach() * 2)
prune.l1_unstructured(m, "scale", amount=1)'
err remove-unpruned "has to be pruned before pruning can be removed" \
  'prune.remove(m, "weight")'
err structured-1d "Structured pruning can only be applied to multidimensional tensors" \
  'prune.ln_structured(m, "bias", amount=1, n=2, dim=0)'
err global-structured "ttc supports pruning_method=prune.L1Unstructured or prune.RandomUnstructured" \
  'prune.global_unstructured([(m, "weight")], pruning_method=prune.ln_structured, amount=1)'
err unknown-name "module 'torch.nn.utils.prune' has no attribute 'random_structured'" \
  'prune.random_structured(m, "weight", amount=1, dim=0)'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
