#!/usr/bin/env bash
# quantize.sh — an int8 model holds only int8 weights (issue 13). (1) A quantized model's
# checkpoint (its state_dict: int8 codes, per-channel scales, float32 biases) is about 4x
# smaller than the float32 model's. (2) A program that runs the int8 model from that
# checkpoint prints what the program that made it printed, with and without the quantize
# pass; with the pass its parameter bytes (--mem-report, ttc profile) are about 4x smaller
# than the same program's float32 twin, the float32 weights are gone from the C, and
# --explain=quantize says so. (3) Where the float32 weights are still needed (calibration,
# a float model kept beside, a print), the pass keeps them, says why, and changes no number.
#
#   bash tests/quantize.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}"
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}
PIPE=autodiff,conv-im2col,dce,fuse,dce,memplan
QUANT=autodiff,conv-im2col,dce,fuse,dce,quantize,memplan

mlp='import torch

class MLP(Module):
    def __init__(self):
        self.fc1 = Linear(784, 256)
        self.fc2 = Linear(256, 10)

    def forward(self, x):
        return self.fc2(relu(self.fc1(x)))
'
infer='torch.manual_seed(1)
x = torch.randn(3, 784)
with torch.no_grad():
    print(model(x))'
# the params: "parameters  N" of a --mem-report
params() { awk '$1 == "parameters" { print $2 }' "$1"; }

# ---- 1. the checkpoints -----------------------------------------------------------------------
printf '%s\ntorch.manual_seed(0)\nmodel = MLP()\ntorch.save(model.state_dict(), "f32.ckpt")\n%s\n' "$mlp" "$infer" > mkf32.tt
printf '%s\ntorch.manual_seed(0)\nmodel = quantize_model(MLP())\ntorch.save(model.state_dict(), "int8.ckpt")\n%s\n' "$mlp" "$infer" > mkint8.tt
"$ttc" run mkf32.tt > mkf32.out 2>&1 || bad "mkf32: $(head -3 mkf32.out)"
"$ttc" run mkint8.tt > mkint8.out 2>&1 || bad "mkint8: $(head -3 mkint8.out)"
if [ -s f32.ckpt ] && [ -s int8.ckpt ]; then
  f=$(stat -c %s f32.ckpt) q=$(stat -c %s int8.ckpt)
  # 4 bytes a weight against 1, the biases and scales (float32) the same: 3.9x here
  if [ $((f * 10)) -ge $((q * 39)) ]; then ok; else bad "checkpoint: float32 $f bytes, int8 $q: not 3.9x smaller"; fi
else
  bad "no checkpoints written"
fi

# ---- 2. the int8 model run from its checkpoint -------------------------------------------------
printf '%s\nmodel = MLP()\nmodel.load_state_dict(torch.load("f32.ckpt"))\n%s\n' "$mlp" "$infer" > deployf32.tt
printf '%s\nmodel = quantize_model(MLP())\nmodel.load_state_dict(torch.load("int8.ckpt"))\n%s\n' "$mlp" "$infer" > deploy.tt
"$ttc" run deploy.tt --passes=$PIPE > deploy.plain 2>&1
"$ttc" run deploy.tt --passes=$QUANT > deploy.quant 2>&1
if [ -s deploy.plain ] && cmp -s deploy.plain mkint8.out && cmp -s deploy.quant mkint8.out; then ok
else bad "deploy: outputs differ from the program that saved the model: $(diff mkint8.out deploy.quant | head -5)"; fi
"$ttc" compile deployf32.tt --passes=$PIPE --mem-report -o deployf32.c > deployf32.mem 2>&1
"$ttc" compile deploy.tt --passes=$QUANT --mem-report -o deploy.c > deploy.mem 2>&1
"$ttc" compile deploy.tt --passes=$PIPE --mem-report -o deploy-plain.c > deploy-plain.mem 2>&1
f=$(params deployf32.mem) q=$(params deploy.mem) n=$(params deploy-plain.mem)
if [ -n "$f" ] && [ -n "$q" ] && [ $((f * 10)) -ge $((q * 39)) ]; then ok; else bad "mem-report: float32 $f bytes of parameters, int8 $q: not 3.9x smaller"; fi
# without the pass the float32 weights are still there (nothing else removes them)
if [ -n "$n" ] && [ "$n" -gt "$f" ]; then ok; else bad "mem-report without the pass: $n bytes, float32 $f"; fi
if ! grep -q 'float fc1_weight\[' deploy.c && grep -q 'int8_t fc1_qweight\[200704\]' deploy.c; then ok; else bad "deploy: the C still declares fc1_weight, or no int8 fc1_qweight"; fi
"$ttc" compile deploy.tt --passes=$QUANT --explain=quantize -o /dev/null 2> deploy.explain
if grep -q 'fc1_weight \[256,784\] f32: removed (802816 bytes)' deploy.explain; then ok; else bad "deploy: --explain=quantize says: $(cat deploy.explain)"; fi
"$ttc" profile deploy.tt --passes=$QUANT --runs=2 --warmup=1 > deploy.profile 2>&1
st=$?
if [ $st -ne 0 ] || ! grep -q 'static memory' deploy.profile; then
  # CI once saw this profile print nothing (not reproduced here): say what it printed, and
  # check a second run, so that a failure shows whether it is the program or the run
  echo "note: ttc profile exited $st, printing: $(head -c 2000 deploy.profile); running it again" >&2
  "$ttc" profile deploy.tt --passes=$QUANT --runs=2 --warmup=1 > deploy.profile 2>&1
  st=$?
fi
if [ $st -eq 0 ] && grep -q "parameters *$q " deploy.profile && ! grep -q ' fc1_weight ' deploy.profile; then ok
else bad "profile (exit $st, parameters $q bytes expected): $(head -c 3000 deploy.profile)"; fi
"$ttc" diff deploy.tt --pass=quantize > deploy.diff
if grep -q '^-static TT_ALIGN float fc1_weight\[200704\]' deploy.diff && grep -q '^- \* parameters  *1018448' deploy.diff; then ok
else bad "diff --pass=quantize: no removed fc1_weight array: $(head -20 deploy.diff)"; fi

# a static int8 model (with the input scales) runs from its checkpoint too: quantized with a
# one-batch list as calibration data, whose float forward the load makes dead as well
printf '%s\ntorch.manual_seed(0)\nmodel = quantize_model(MLP(), calibration_data=[torch.randn(16, 784)])\ntorch.save(model.state_dict(), "int8s.ckpt")\n%s\n' "$mlp" "$infer" > mkstatic.tt
printf '%s\nmodel = quantize_model(MLP(), calibration_data=[torch.zeros(1, 784)])\nmodel.load_state_dict(torch.load("int8s.ckpt"))\n%s\n' "$mlp" "$infer" > deploystatic.tt
"$ttc" run mkstatic.tt > mkstatic.out 2>&1
"$ttc" run deploystatic.tt --passes=$QUANT > deploystatic.out 2>&1
"$ttc" compile deploystatic.tt --passes=$QUANT --mem-report -o deploystatic.c > deploystatic.mem 2>&1
s=$(params deploystatic.mem)
if [ -s mkstatic.out ] && cmp -s mkstatic.out deploystatic.out && [ -n "$s" ] && [ $((f * 10)) -ge $((s * 39)) ]; then ok
else bad "static deploy: outputs differ or $s bytes of parameters: $(diff mkstatic.out deploystatic.out | head -3)"; fi

# the CNN: Conv2d layers too (a static model run from its checkpoint); the biases and scales
# weigh more in so small a model, so 3.8x here (cnn_fashion.tt's: 3.98x, docs/QUANTIZATION.md)
cnn='import torch

class CNN(Module):
    def __init__(self):
        self.conv1 = Conv2d(1, 8, 3, padding=1)
        self.conv2 = Conv2d(8, 16, 3, padding=1)
        self.fc = Linear(16 * 7 * 7, 10)

    def forward(self, x):
        x = max_pool2d(relu(self.conv1(x)), 2)
        x = max_pool2d(relu(self.conv2(x)), 2)
        return self.fc(x.flatten(1))
'
cinfer='torch.manual_seed(1)
x = torch.randn(2, 1, 28, 28)
with torch.no_grad():
    print(model(x))'
printf '%s\ntorch.manual_seed(0)\nmodel = quantize_model(CNN(), calibration_data=[torch.randn(4, 1, 28, 28)])\ntorch.save(model.state_dict(), "cnn8.ckpt")\n%s\n' "$cnn" "$cinfer" > mkcnn.tt
printf '%s\nmodel = quantize_model(CNN(), calibration_data=[torch.zeros(1, 1, 28, 28)])\nmodel.load_state_dict(torch.load("cnn8.ckpt"))\n%s\n' "$cnn" "$cinfer" > deploycnn.tt
printf '%s\nmodel = CNN()\nmodel.load_state_dict(torch.load("cnn32.ckpt"))\n%s\n' "$cnn" "$cinfer" > deploycnn32.tt
"$ttc" run mkcnn.tt > mkcnn.out 2>&1
"$ttc" run deploycnn.tt --passes=$QUANT > deploycnn.out 2>&1
"$ttc" compile deploycnn32.tt --passes=$PIPE --mem-report -o deploycnn32.c > deploycnn32.mem 2>&1
"$ttc" compile deploycnn.tt --passes=$QUANT --mem-report -o deploycnn.c > deploycnn.mem 2>&1
cf=$(params deploycnn32.mem) cq=$(params deploycnn.mem)
if [ -s mkcnn.out ] && cmp -s mkcnn.out deploycnn.out && [ -n "$cq" ] && [ $((cf * 10)) -ge $((cq * 38)) ] &&
   ! grep -q 'float conv2_weight\[' deploycnn.c; then ok
else bad "cnn deploy: outputs differ, or float32 $cf against int8 $cq bytes: $(diff mkcnn.out deploycnn.out | head -3)"; fi

# ---- 3. where the float32 weights are still needed ---------------------------------------------
# calibration runs the float model, and the float model is kept to compare with
printf '%s\ntorch.manual_seed(0)\nmodel = MLP()\nfmodel = MLP()\nfmodel.load_state_dict(torch.load("f32.ckpt"))\nmodel.load_state_dict(torch.load("f32.ckpt"))\nmodel = quantize_model(model, calibration_data=[torch.randn(8, 784)])\n%s\n    print(fmodel(x))\n' "$mlp" "$infer" > calib.tt
"$ttc" run calib.tt --passes=$PIPE > calib.plain 2>&1
"$ttc" run calib.tt --passes=$QUANT > calib.quant 2>&1
if [ -s calib.plain ] && cmp -s calib.plain calib.quant; then ok; else bad "calib: outputs differ with the pass: $(diff calib.plain calib.quant | head -5)"; fi
"$ttc" compile calib.tt --passes=$QUANT --explain=quantize -o calib.c 2> calib.explain
if grep -q 'fc1_weight: kept: its float32 values are read at line' calib.explain && grep -q 'float fc1_weight\[' calib.c; then ok
else bad "calib: --explain=quantize says: $(cat calib.explain)"; fi
# a print of the float weight after quantization keeps it
printf '%s\nmodel = MLP()\nw = model.fc1.weight\nmodel = quantize_model(model)\nmodel.load_state_dict(torch.load("int8.ckpt"))\n%s\nprint(w.sum() != 0)\n' "$mlp" "$infer" > printed.tt
"$ttc" run printed.tt --passes=$QUANT > printed.out 2>&1
"$ttc" compile printed.tt --passes=$QUANT -o printed.c 2> printed.explain
if tail -1 printed.out | grep -q True && grep -q 'float fc1_weight\[' printed.c; then ok; else bad "printed: $(tail -3 printed.out)"; fi

# ---- 4. the observer's arguments: diagnostics at the call ---------------------------------------
# err NAME MESSAGE CALL: a program quantizing with CALL fails to compile (status 1) with MESSAGE
err() {
  printf '%s\nmodel = MLP()\ncal = [torch.randn(2, 784)]\nmodel = %s\n' "$mlp" "$3" > "$1.tt"
  "$ttc" compile "$1.tt" -o "$1.c" 2> "$1.err" > /dev/null
  local rc=$?
  if [ $rc -ne 1 ]; then bad "$1: exit status $rc, expected 1"; return; fi
  if ! grep -qF -- "$2" "$1.err" || ! grep -q "^$1.tt:[0-9]*:[0-9]*: error: " "$1.err"; then bad "$1: $(head -1 "$1.err")"; return; fi
  ok
}
err observer-unknown "observer must be 'minmax' or 'percentile'" 'quantize_model(model, calibration_data=cal, observer="histogram")'
err percentile-range "percentile must be in (50, 100], got 40" 'quantize_model(model, calibration_data=cal, observer="percentile", percentile=40)'
err percentile-no-data "observer='percentile' needs calibration_data" 'quantize_model(model, observer="percentile")'

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
