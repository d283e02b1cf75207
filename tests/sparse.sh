#!/usr/bin/env bash
# sparse.sh — the sparse Linear for unstructured pruning of 80% or more (issue 13,
# passes/prune.c, runtime/sparse.c; docs/PRUNING.md). For each tests/sparse/*.tt: the printed
# values with the prune pass in the pipeline and without it are python3's (the .expected
# files, from python3 with PyTorch 1.13: CI has no torch), the C calls tt_sparse_linear_f32
# where the pass chose it, --explain=prune says what it chose and why at the .tt line, and
# the C compiles warning-free under gcc and clang (-Wall -Wextra).
#
#   bash tests/sparse.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
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
PIPE=autodiff,conv-im2col,dce,fuse,dce,memplan
PRUNED=autodiff,conv-im2col,dce,prune,fuse,dce,memplan

for tt in "$src"/sparse/*.tt; do
  name=$(basename "$tt" .tt)
  cp "$tt" .
  for pipe in PIPE PRUNED; do
    "$ttc" run "$name.tt" --passes=${!pipe} > "$name.$pipe.out" 2>&1
    if cmp -s "$name.$pipe.out" "$src/sparse/$name.expected"; then ok
    else bad "$name ($pipe): not python3's output: $(diff "$name.$pipe.out" "$src/sparse/$name.expected" | head -5)"; fi
  done
  "$ttc" compile "$name.tt" --passes=$PRUNED -o "$name.c" --explain=prune 2> "$name.explain"
  for cc in gcc clang; do
    command -v $cc > /dev/null || continue
    if $cc -std=c11 -O1 -Wall -Wextra -Werror -I"$src/../runtime" -c "$name.c" -o /dev/null 2> "$name.$cc.log"; then ok
    else bad "$name: warnings under $cc: $(head -3 "$name.$cc.log")"; fi
  done
done

# has FILE PATTERN: the --explain=prune of FILE has a line matching PATTERN (grep -E)
has() {
  if grep -qE -- "$2" "$1.explain"; then ok; else bad "$1: no '$2' in --explain=prune: $(head -3 "$1.explain")"; fi
}

# lifecycle: masked (85%, 90%), fine-tuned, removed: 6 batch-1 products sparse, packed again
# after the weights change; the training step and everything after the later training and
# the checkpoint load are dense, and say why
n=$(grep -c 'tt_sparse_linear_f32(' sparse-lifecycle.c)
if [ "$n" -eq 6 ]; then ok; else bad "sparse-lifecycle: $n sparse products in the C, expected 6"; fi
if grep -q 'if (fc1_weight_sparse_stale) {' sparse-lifecycle.c && grep -q 'fc1_weight_sparse_stale = 1;' sparse-lifecycle.c; then ok
else bad "sparse-lifecycle: no stale flag around the products"; fi
has sparse-lifecycle '^prune: sparse-lifecycle\.tt:19:36: in eval_step_1: fc1_weight \[40,300\] @ x \[B:1,300\]: sparse kernel \(sliced ELLPACK\): at most 1800 of 12000 weights \(15\.0%\) are nonzero'
has sparse-lifecycle '^prune: sparse-lifecycle\.tt:19:36: in eval_step_2: fc1_weight \[40,300\] @ x \[B:1,300\]: sparse kernel'
has sparse-lifecycle '^prune: sparse-lifecycle\.tt:19:36: in eval_step_3: fc1_weight \[40,300\] @ x \[B:1,300\]: sparse kernel'
has sparse-lifecycle '^prune: sparse-lifecycle\.tt:19:20: in eval_step_1: fc2_weight \[24,40\] @ x \[B:1,40\]: sparse kernel .*at most 96 of 960 weights \(10\.0%\)'
has sparse-lifecycle 'in train_step_1: fc2_weight \[24,40\] @ x \[B:4,40\]: dense: the graph that multiplies by the weight also writes it'
has sparse-lifecycle 'in eval_step_4: fc1_weight \[40,300\] @ x \[B:1,300\]: dense: no zeros proven'

# choice: 80% at batch 1 sparse, at batch 16 dense; 50% dense
n=$(grep -c 'tt_sparse_linear_f32(B, 64, 200, loader0_x, fc1_weight,' sparse-choice.c)
if [ "$n" -eq 1 ] && [ "$(grep -c 'tt_sparse_linear_f32(' sparse-choice.c)" -eq 1 ]; then ok
else bad "sparse-choice: expected one sparse product (fc1 at batch 1), found: $(grep 'tt_sparse_linear_f32(' sparse-choice.c)"; fi
has sparse-choice '^prune: sparse-choice\.tt:19:56: in eval_step_1: fc1_weight \[64,200\] @ x \[B:1,200\]: sparse kernel .*at most 2560 of 12800 weights \(20\.0%\)'
has sparse-choice 'in eval_step_2: fc1_weight \[64,200\] @ x \[B:16,200\]: dense: at most 20\.0% of it is nonzero, and at 16 rows of x the sparse kernel is faster only at or below 5%'
has sparse-choice 'in eval_step_1: fc2_weight_orig \[32,64\] @ x \[B:1,64\]: dense: at most 50\.0% of it is nonzero, and at 1 row of x the sparse kernel is faster only at or below 30%'
has sparse-choice 'in eval_step_1: fc3_weight \[5,32\] @ x \[B:1,32\]: dense: no zeros proven'

# epochs: fine-tuning with the masks and a batch-1 evaluation in each epoch: the evaluation
# is sparse, the flag set after each training step and the index packed before evaluating
if [ "$(grep -c 'tt_sparse_linear_f32(' sparse-epochs.c)" -eq 1 ]; then ok
else bad "sparse-epochs: expected one sparse product: $(grep 'tt_sparse_linear_f32(' sparse-epochs.c)"; fi
if grep -A2 'train_step();' sparse-epochs.c | grep -q 'model_0_weight_orig_sparse_stale = 1;' &&
   grep -B4 'eval_step();' sparse-epochs.c | grep -q 'model_0_weight_orig_sparse_pack();'; then ok
else bad "sparse-epochs: the index is not marked stale after the training step and packed before the evaluation"; fi
has sparse-epochs '^prune: sparse-epochs\.tt:27:26: in eval_step: model_0_weight_orig \[48,120\] @ x \[B:1,120\]: sparse kernel .*at most 576 of 5760 weights \(10\.0%\)'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
