#!/usr/bin/env bash
# roofline.sh — ttc roofline and ttc run --profile (docs/ROOFLINE.md): roofline measures and
# caches the machine's numbers; a --profile run's table has its columns, is ranked by time,
# and each kernel's FLOPs per call are ir_cost's (a hand count for the matmuls, and in sum
# the FLOPs of the C's kernel comments, fused ops included); its GFLOP/s and percent of the
# roof follow from the raw times and a roofline written into the cache by hand; the SVG is
# well-formed with a point per kernel that does arithmetic; without --profile the C has no
# timer. No speed is asserted.
#
#   bash tests/roofline.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
unset TTC_PROFILE
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}

# ---- ttc roofline: measured, printed, cached -------------------------------------------
if "$ttc" roofline > rl.txt 2> err.txt; then ok; else bad "roofline failed: $(cat err.txt)"; fi
if grep -q "cached in $TTC_CACHE_DIR/roofline" rl.txt && grep -q '^peak (FMA' rl.txt &&
  grep -q '^DRAM (triad' rl.txt && grep -q '^L2 (triad' rl.txt && grep -q '^ridge point' rl.txt; then
  ok
else
  bad "roofline's output: $(cat rl.txt)"
fi
if grep -q '^key ' cache/roofline && [ "$(grep -c -E '^(peak_flops|dram_bytes|l2_bytes)_[12] [0-9.]+e[+-][0-9]+$' cache/roofline)" = 6 ]; then
  ok
else
  bad "the cache: $(cat cache/roofline)"
fi
if "$ttc" roofline extra.tt > /dev/null 2> err.txt; then bad "roofline took a file"; else ok; fi

# A roofline of round numbers, so the table's percentages can be checked: 100 GFLOP/s peak,
# 10 GB/s DRAM, 50 GB/s L2 (the key line stays: it is this machine's)
grep '^key ' cache/roofline > key.txt
{
  cat key.txt
  printf 'peak_flops_1 5.0e+10\npeak_flops_2 1.0e+11\ndram_bytes_1 5.0e+09\ndram_bytes_2 1.0e+10\n'
  printf 'l2_bytes_1 2.5e+10\nl2_bytes_2 5.0e+10\nsimd test\n'
} > cache/roofline

# ---- ttc run --profile ---------------------------------------------------------------
cat > small.tt << 'EOF'
manual_seed(0)
x = randn(64, 32)
y = randn(64, 16)
lin = Linear(32, 16)
opt = SGD(lin.parameters(), lr=0.1)
for step in range(5):
    loss = mse_loss(relu(lin(x)), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(loss.item())
EOF
"$ttc" run small.tt > plain.out 2> err.txt || bad "run: $(cat err.txt)"
if TTC_PROFILE="$work/raw.tsv" "$ttc" run --profile small.tt > prof.out 2> table.txt; then ok; else bad "run --profile: $(cat table.txt)"; fi
if cmp -s plain.out prof.out; then ok; else bad "--profile changed the program's output"; fi
if [ -s small.roofline.svg ] && [ -s raw.tsv ]; then ok; else bad "no SVG or no raw table"; fi
"$ttc" compile small.tt -o plain.c
"$ttc" compile small.tt --profile -o timed.c
if ! grep -q tt_prof plain.c && grep -q 'tt_prof_end(&tt_prof_sites\[0\]);' timed.c; then ok; else bad "the C without --profile has timers, or the C with it none"; fi
if cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$src/../runtime" timed.c 2> cc.txt; then ok; else bad "the timed C warns: $(head -5 cc.txt)"; fi

cat > check.py << 'PY'
import re, sys
raw = [l.rstrip("\n").split("\t") for l in open("raw.tsv") if not l.startswith("#")]
rows = {}
for op, name, line, calls, secs, flops, byts in raw:
    rows.setdefault((op, name), []).append((int(line), int(calls), float(secs), float(flops), float(byts)))
# the hand counts: the forward matmul 2*64*16*32, the weight gradient 2*64*16*32 + 16*32
# (matmul_acc adds into the gradient), the fused relu(x + b) 2 ops over 64*16
assert rows[("matmul", "t2")] == [(7, 5, rows[("matmul", "t2")][0][2], 65536.0, rows[("matmul", "t2")][0][4])], rows
assert rows[("matmul_acc", "lin_weight_grad")][0][3] == 2 * 64 * 16 * 32 + 16 * 32
assert rows[("relu", "t5")][0][3] == 2 * 64 * 16, rows[("relu", "t5")]
assert all(r[1] == 1 for k in [("normal", "x"), ("normal", "y")] for r in rows[k])
# in sum, the FLOPs of the C's kernel comments (ir_cost), fused ops included
c = open("plain.c").read()
comment = sum(float(m) for m in re.findall(r"   (\d+) FLOPs", c))
timed = sum(float(r[5]) for r in raw)
assert comment == timed, (comment, timed)

# the table: header, columns, ranked by time, numbers consistent with the raw times
lines = open("table.txt").read().splitlines()
head = [i for i, l in enumerate(lines) if l.split()[:3] == ["rank", "kernel", "line"]]
assert len(head) == 1, lines
assert lines[head[0]].split() == ["rank", "kernel", "line", "calls", "time", "ms", "%time", "GFLOP/s",
                                  "GB/s", "FLOP/B", "%roof", "roof"], lines[head[0]]
assert any(l.startswith("profile of small.tt: ") for l in lines), lines
assert any("100.0 GFLOP/s peak; 10.0 GB/s DRAM, 50.0 GB/s L2" in l for l in lines), lines
body = []
for l in lines[head[0] + 1:]:
    f = l.split()
    if not f or not f[0].isdigit():
        break
    body.append(f)
ran = [r for r in raw if int(r[3]) > 0]
assert len(body) == min(len(ran), 40), (len(body), len(ran))
assert [int(f[0]) for f in body] == list(range(1, len(body) + 1))
times = [float(f[-7]) for f in body]
assert times == sorted(times, reverse=True), times
mm = [f for f in body if f[1] == "matmul" and f[2] == "t2"][0]
line, calls, secs, flops, byts = rows[("matmul", "t2")][0]
assert int(mm[3]) == 7 and int(mm[4]) == 5, mm
gf = flops * calls / secs * 1e-9
assert abs(float(mm[7]) - gf) <= 0.006 + 1e-3 * gf, (mm, gf)
assert mm[9] == "4.57", mm  # 65536 FLOPs / 14336 B
# 14336 B a call fits in L2: roof = min(100, 4.57 x 50) = 100 GFLOP/s
assert mm[11] == "L2" and abs(float(mm[10]) - gf) <= 0.06 + 1e-3 * gf, (mm, gf)
print("ok")
PY
if out=$(python3 check.py 2>&1); then ok; else bad "table: $out"; fi

if python3 -c '
import xml.etree.ElementTree as ET
t = ET.parse("small.roofline.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
assert t.tag == ns + "svg", t.tag
text = " ".join(e.text or "" for e in t.iter(ns + "text"))
for want in ["Roofline: small.tt", "arithmetic intensity", "GFLOP/s", "2 threads, DRAM", "2 threads, L2", "peak 100.0"]:
    assert want in text, want
raw = [l.split("\t") for l in open("raw.tsv") if not l.startswith("#")]
arith = [r for r in raw if int(r[3]) > 0 and float(r[4]) > 0 and float(r[5]) > 0 and float(r[6]) > 0]
circles = list(t.iter(ns + "circle"))
assert len(circles) == len(arith), (len(circles), len(arith))
assert len(list(t.iter(ns + "polyline"))) == 3
'; then ok; else bad "small.roofline.svg is not the plot"; fi

# --profile=FILE names the SVG; ttc's own raw file is removed after the report
"$ttc" run --profile=named.svg small.tt > /dev/null 2> err.txt || bad "--profile=named.svg: $(cat err.txt)"
if [ -s named.svg ] && ! ls cache/profile-* > /dev/null 2>&1; then ok; else bad "--profile=named.svg, or a raw file left in the cache"; fi
# where --profile does not belong
if "$ttc" profile small.tt --profile > /dev/null 2> err.txt; then bad "ttc profile --profile accepted"; elif grep -q -- "--profile is for compile, build and run" err.txt; then ok; else bad "message: $(cat err.txt)"; fi
if "$ttc" run --profile= small.tt > /dev/null 2> err.txt; then bad "--profile= accepted"; else ok; fi

echo "roofline: $pass passed, $fail failed"
[ $fail = 0 ]
