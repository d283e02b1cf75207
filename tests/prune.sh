#!/usr/bin/env bash
# prune.sh — pruning end to end. (1) The diagnostics: what ttc cannot do as PyTorch does is
# an error at the line (never another mask): a second pruning whose kept count is not known
# at compile time, bad amounts, pruning what is not a parameter, remove() before any
# pruning. Each program must fail to compile with exit status 1, a file:line:col diagnostic
# and the message given. (The masks themselves are checked against PyTorch by
# tests/exec/prune-*.tt and tests/train/prune-*.tt.) (2) The prune pass: the same printed
# numbers with and without it, narrower arrays in the C, a smaller checkpoint, and where it
# cannot be exact (the weights trained or printed later) no other numbers.
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
err amount-nan "cannot convert float NaN to integer" \
  'prune.l1_unstructured(m, "weight", amount=float("nan"))'
err norm-nan "ttc supports n > 0 or inf" \
  'prune.ln_structured(m, "weight", amount=1, n=float("nan"), dim=0)'
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

# ---- the prune pass ------------------------------------------------------------------------
PIPE=autodiff,conv-im2col,dce,fuse,dce,memplan
PRUNED=autodiff,conv-im2col,dce,prune,fuse,dce,memplan
mlp='import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.nn.utils.prune as prune
from torch.utils.data import TensorDataset, DataLoader

class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 6)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))

torch.manual_seed(1)
model = MLP()
X = torch.randn(10, 8)
Y = torch.randint(0, 3, (10,))
loader = DataLoader(TensorDataset(X, Y), batch_size=4)'
infer='with torch.no_grad():
    for x, y in loader:
        print(model(x))
torch.save(model.state_dict(), "m.ckpt")'

# pass NAME LINES: the program with LINES between the model and the inference
prog() { printf '%s\n%s\n%s\n' "$mlp" "$2" "$infer" > "$1.tt"; }

# 1. ln_structured + remove, then inference: the same numbers (to print precision) with
#    the pass, narrower arrays in the C, a smaller checkpoint, and the pass explains itself
prog compact 'prune.ln_structured(model.fc1, "weight", amount=0.5, n=2, dim=0)
prune.remove(model.fc1, "weight")'
"$ttc" run compact.tt --passes=$PIPE > compact.dense 2>&1 && cp m.ckpt dense.ckpt
"$ttc" run compact.tt --passes=$PRUNED > compact.pruned 2>&1 && cp m.ckpt pruned.ckpt
if [ -s compact.dense ] && cmp -s compact.dense compact.pruned; then ok; else bad "compact: outputs differ: $(diff compact.dense compact.pruned | head -5)"; fi
"$ttc" compile compact.tt --passes=$PRUNED -o compact.c --explain=prune 2> compact.explain
if grep -q 'fc1_weight_pruned\[24\]; /\* \[3,8\]' compact.c && grep -q 'fc2_weight_pruned\[9\]; /\* \[3,3\]' compact.c; then ok; else bad "compact: no [3,8] / [3,3] arrays in the C"; fi
if grep -q 'fc1_weight \[6,8\] -> \[3,8\], fc1_bias \[6\] -> \[3\], fc2_weight \[3,6\] -> \[3,3\]' compact.explain; then ok; else bad "compact: --explain=prune says: $(cat compact.explain)"; fi
if [ -s pruned.ckpt ] && [ "$(stat -c %s pruned.ckpt)" -lt "$(stat -c %s dense.ckpt)" ]; then ok; else bad "compact: the checkpoint did not shrink"; fi

# 2. the curriculum's structured_prune (weights and biases zero): the same
prog curriculum 'structured_prune(model, 0.5)'
"$ttc" run curriculum.tt --passes=$PIPE > curriculum.dense 2>&1
"$ttc" run curriculum.tt --passes=$PRUNED > curriculum.pruned 2>&1
"$ttc" compile curriculum.tt --passes=$PRUNED -o curriculum.c
if [ -s curriculum.dense ] && cmp -s curriculum.dense curriculum.pruned && grep -q 'fc1_weight_pruned\[24\]' curriculum.c; then ok; else bad "curriculum: outputs differ or no [3,8] array"; fi

# 3. training after the pruning (rows grow back): the pass keeps the layer and says why
prog retrain 'structured_prune(model, 0.5)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for x, y in loader:
    loss = F.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()'
"$ttc" run retrain.tt --passes=$PIPE > retrain.dense 2>&1
"$ttc" run retrain.tt --passes=$PRUNED > retrain.pruned 2> retrain.err
rc=$?
"$ttc" compile retrain.tt --passes=$PRUNED -o retrain.c --explain=prune 2> retrain.explain
# either the pass compacts after the training (then more rows are alive than it kept: the
# program must stop, naming the pass) or it keeps the layer: never other numbers
if cmp -s retrain.dense retrain.pruned; then ok
elif [ $rc -ne 0 ] && grep -q "the prune pass kept 3 rows of fc1_weight" retrain.err; then ok
else bad "retrain: other numbers with the pass (status $rc): $(head -3 retrain.err)"; fi

# 4. a later print of the weight: declined, with the reason
prog printed 'prune.ln_structured(model.fc1, "weight", amount=0.5, n=2, dim=0)
prune.remove(model.fc1, "weight")
for x, y in loader:
    print(model.fc1.weight.sum())'
"$ttc" compile printed.tt --passes=$PRUNED -o printed.c --explain=prune 2> printed.explain
if grep -q "fc1_weight: kept as it is: " printed.explain && ! grep -q fc1_weight_pruned printed.c; then ok; else bad "printed: $(cat printed.explain)"; fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
