#!/usr/bin/env bash
# profile.sh — ttc profile's counts and ttc bench end to end (docs/PROFILE.md):
#  - the parameter and FLOP counts of the MLP and the CNN equal counts made by hand;
#  - profile's static memory equals `ttc compile --mem-report`'s, line by line;
#  - a tiny program's measured section has the fields it promises (times not asserted);
#  - ttc bench of two identical tiny programs prints its comparison sentence.
# Times are never asserted here (speed is measured in bench/); the statistics' behaviour
# on synthetic samples is tests/unit/test_runtime_stats.c's.
#
#   bash tests/profile.sh TTC TESTS_SRC_DIR WORK_DIR
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
# json FILE KEY: the number after "KEY": in profile's JSON
json() { grep -o "\"$2\": [0-9]*" "$1" | head -1 | awk '{ print $2 }'; }
expect() { # expect WHAT GOT WANT
  if [ "$2" = "$3" ]; then ok; else bad "$1: got '$2', want '$3'"; fi
}

# ---- the MLP: 784-256-10 ----
"$ttc" profile "$src/../models/mlp_fashion.tt" --runs=0 --json > mlp.json 2> mlp.err || bad "mlp: profile failed: $(cat mlp.err)"
# parameters: fc1 784*256 + 256, fc2 256*10 + 10
expect "mlp parameters" "$(json mlp.json parameters)" $((784 * 256 + 256 + 256 * 10 + 10))
# the forward of one sample in the eval loop: (x - MEAN) / STD 784 + 784; fc1 2*784*256 and
# its bias 256; relu 256; fc2 2*256*10 and its bias 10; then the program's accuracy code in
# the same graph: argmax 10, == 1, cast 1, sum 1
mlp1=$((784 + 784 + 2 * 784 * 256 + 256 + 256 + 2 * 256 * 10 + 10 + 10 + 1 + 1 + 1))
expect "mlp FLOPs per forward at batch 1" "$(json mlp.json flops_forward_batch1)" $mlp1
expect "mlp FLOPs per forward at the eval batch 1000" "$(json mlp.json flops_forward)" $((1000 * mlp1))

# ---- the CNN: conv 1->32, pool, conv 32->64, pool, 3136-128-10 ----
"$ttc" profile "$src/../models/cnn_fashion.tt" --runs=0 --json > cnn.json 2> cnn.err || bad "cnn: profile failed: $(cat cnn.err)"
expect "cnn parameters" "$(json cnn.json parameters)" \
  $((32 * 1 * 3 * 3 + 32 + 64 * 32 * 3 * 3 + 64 + 128 * 3136 + 128 + 10 * 128 + 10))
# per sample: conv1 2 * (32*28*28 outputs) * (1*3*3); relu 32*28*28; max_pool 2x2 one
# comparison per window element: 32*14*14*4; conv2 2 * (64*14*14) * (32*3*3); relu
# 64*14*14; pool 64*7*7*4; fc1 2*3136*128 + bias 128; relu 128 (dropout is the identity
# in eval); fc2 2*128*10 + bias 10; argmax 10, == 1, cast 1, sum 1
cnn1=$((2 * 32 * 28 * 28 * 9 + 32 * 28 * 28 + 32 * 14 * 14 * 4 + 2 * 64 * 14 * 14 * 32 * 9 + 64 * 14 * 14 + 64 * 7 * 7 * 4 + 2 * 3136 * 128 + 128 + 128 + 2 * 128 * 10 + 10 + 10 + 1 + 1 + 1))
expect "cnn FLOPs per forward at batch 1" "$(json cnn.json flops_forward_batch1)" $cnn1
expect "cnn FLOPs per forward at the eval batch 1000" "$(json cnn.json flops_forward)" $((1000 * cnn1))

# ---- static memory: profile's numbers are --mem-report's ----
field() { awk -v k="$2" 'index($0, k) == 1 { n = split(substr($0, length(k) + 1), a, " "); print a[1]; exit }' "$1"; }
for m in mlp cnn; do
  prog="$src/../models/${m}_fashion.tt"
  "$ttc" compile "$prog" --mem-report -o /dev/null > $m.mem || bad "$m: --mem-report failed"
  for kv in parameters:parameters gradients:gradients optimizer_state:"optimizer state" values:values \
            intermediates:intermediates constants:constants total:total; do
    key=${kv%%:*} line=${kv#*:}
    got=$(grep '"static_memory"' $m.json | grep -o "\"$key\": [0-9]*" | awk '{ print $2 }')
    expect "$m static memory $key" "$got" "$(field $m.mem "$line ")"
  done
done

# ---- measured: a tiny program's table and JSON ----
cat > tiny.tt <<'TT'
manual_seed(0)
model = Linear(8, 4)
x = randn(16, 8)
opt = SGD(model.parameters(), lr=0.1)
for step in range(3):
    loss = model(x).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
with no_grad():
    print(model(x).sum().item() > -1000)
TT
"$ttc" profile tiny.tt --runs=5 --warmup=1 --json > tiny.json 2> tiny.err || bad "tiny: profile failed: $(cat tiny.err)"
for k in mean_s std_s ci95_s p50_s p90_s p99_s samples_per_s peak_rss_bytes; do
  grep -q "\"$k\": " tiny.json || bad "tiny: JSON lacks $k"
done
expect "tiny runs" "$(json tiny.json runs)" 5
"$ttc" profile tiny.tt --runs=5 --warmup=1 > tiny.txt 2> tiny.err || bad "tiny: profile table failed"
grep -q "training step" tiny.txt && grep -q "95% CI" tiny.txt || bad "tiny: the table lacks its measured lines"

# ---- bench: two identical programs ----
cp tiny.tt tiny2.tt
"$ttc" bench tiny.tt tiny2.tt --runs=5 --warmup=1 > bench.txt 2> bench.err || bad "bench failed: $(cat bench.err)"
grep -Eq "faster than .* \(95% CI [0-9.]+-[0-9.]+, 5 runs each\)|not significant" bench.txt ||
  bad "bench: no comparison sentence: $(cat bench.txt)"
"$ttc" bench tiny.tt --a=-O0 --b=-O1 --runs=3 --warmup=0 > bench2.txt 2> bench2.err || bad "bench --a --b failed: $(cat bench2.err)"
grep -q "3 runs each" bench2.txt || bad "bench --a --b: $(cat bench2.txt)"
"$ttc" bench nosuch.tt 2> nosuch.err && bad "bench of a missing file succeeded"
grep -q "nosuch.tt" nosuch.err || bad "bench of a missing file: $(cat nosuch.err)"

echo "profile: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
