#!/usr/bin/env bash
# metrics.sh — training curves end to end (docs/METRICS.md):
#  - `ttc run --metrics=F.csv` of tests/metrics/train-curve.tt writes the header and one row
#    per training step plus one per printed accuracy; the loss column equals the losses the
#    program prints (loss.item()), the accuracy the accuracies it prints, the lr StepLR's,
#    the epoch the loader's pass, the steps 1..n;
#  - the same with JSON lines, and with a built binary and $TTC_METRICS;
#  - the C without --metrics is the C it always was (no hook, no extra variable);
#  - `ttc plot` writes a well-formed SVG with its title, axes and legend; a missing or
#    malformed file is a message naming it, exit status 1, never a crash.
#
#   bash tests/metrics.sh TTC TESTS_SRC_DIR WORK_DIR
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")
work="$(realpath -m "${3:-$(mktemp -d)}")"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache"
unset TTC_METRICS
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  fail=$((fail + 1))
}
prog="$src/metrics/train-curve.tt"

# ---- CSV from ttc run ----
if "$ttc" run "$prog" --metrics=m.csv > out.txt 2> err.txt; then ok; else bad "run --metrics: $(cat err.txt)"; fi
# check.py FILE: compares the metrics file with what the program printed (out.txt)
cat > check.py << 'PY'
import csv, json, math, sys
path = sys.argv[1]
if path.endswith(".jsonl"):
    rows = [json.loads(l) for l in open(path)]
else:
    r = csv.DictReader(open(path))
    assert r.fieldnames == ["step", "epoch", "loss", "accuracy", "lr", "time"], r.fieldnames
    rows = [{k: float(v) for k, v in row.items() if v != ""} for row in r]
printed = [l.split() for l in open("out.txt")]
losses = [float(l[1]) for l in printed if l[0] == "loss"]
accs = [float(l[-1]) for l in printed if l[0] == "epoch"]
steps = [r for r in rows if "loss" in r]
acc_rows = [r for r in rows if "accuracy" in r]
assert len(rows) == 12 + 3, len(rows)
assert [int(r["step"]) for r in steps] == list(range(1, 13)), [r["step"] for r in steps]
assert [int(r["epoch"]) for r in steps] == [0] * 4 + [1] * 4 + [2] * 4
assert len(losses) == 12 and all(math.isclose(r["loss"], l, rel_tol=1e-7) for r, l in zip(steps, losses)), (losses, steps)
# StepLR(step_size=1, gamma=0.5) after each epoch: each step's lr is the one it used
assert [r["lr"] for r in steps] == [0.02] * 4 + [0.01] * 4 + [0.005] * 4, [r["lr"] for r in steps]
assert [r["accuracy"] for r in acc_rows] == accs and len(accs) == 3, (acc_rows, accs)
assert [int(r["step"]) for r in acc_rows] == [4, 8, 12]
times = [r["time"] for r in rows]
assert times == sorted(times) and times[0] >= 0
PY
if python3 check.py m.csv; then ok; else bad "m.csv does not match the program's output"; fi

# ---- JSON lines, and a built binary with $TTC_METRICS ----
"$ttc" run "$prog" --metrics=m.jsonl > out2.txt 2> err.txt || bad "run --metrics=.jsonl: $(cat err.txt)"
if cmp -s out.txt out2.txt && python3 check.py m.jsonl; then ok; else bad "m.jsonl does not match"; fi
"$ttc" build "$prog" --metrics -o prog 2> err.txt || bad "build --metrics: $(cat err.txt)"
TTC_METRICS=b.csv ./prog > out3.txt || bad "the built program failed"
if cmp -s out.txt out3.txt && python3 check.py b.csv; then ok; else bad "TTC_METRICS=b.csv does not match"; fi
./prog > /dev/null
if [ ! -e metrics.csv ] && [ "$(ls *.csv | wc -l)" = 2 ]; then ok; else bad "a binary built with --metrics and no file wrote one without TTC_METRICS"; fi

# ---- without --metrics the C has no trace of it ----
"$ttc" compile "$prog" -o plain.c
"$ttc" compile "$prog" --metrics=x.csv -o hooked.c
if ! grep -q metrics plain.c && grep -q "tt_metrics_step" hooked.c; then ok; else bad "the C without --metrics mentions metrics"; fi
# build and compile write the file in the C (run passes it in the environment)
if grep -q 'tt_metrics_open("x.csv");' hooked.c; then ok; else bad "compile --metrics=x.csv: no default path in the C"; fi
if cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$src/../runtime" hooked.c 2> cc.txt; then ok; else bad "the hooked C warns: $(head -5 cc.txt)"; fi
if "$ttc" profile "$prog" --metrics=x.csv > /dev/null 2> err.txt; then bad "profile --metrics accepted"; else ok; fi

# ---- ttc plot ----
if "$ttc" plot m.csv -o curve.svg 2> err.txt; then ok; else bad "plot: $(cat err.txt)"; fi
if python3 -c '
import sys, xml.etree.ElementTree as ET
t = ET.parse("curve.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
assert t.tag == ns + "svg", t.tag
text = " ".join(e.text or "" for e in t.iter(ns + "text"))
for want in ["Training curves: m.csv", "loss", "step", "accuracy", "learning rate"]:
    assert want in text, want
assert len(list(t.iter(ns + "polyline"))) >= 3  # loss, accuracy, lr
'; then ok; else bad "curve.svg is not the chart"; fi
if "$ttc" plot m.jsonl -o curve2.svg 2> err.txt && python3 -c 'import xml.etree.ElementTree as E; E.parse("curve2.svg")'; then ok; else bad "plot of JSON lines: $(cat err.txt)"; fi
# bad input: a message naming the file, status 1
expect_err() { # expect_err WHAT WANT-IN-MESSAGE ARGS...
  local what=$1 want=$2
  shift 2
  "$ttc" plot "$@" > /dev/null 2> err.txt
  local st=$?
  if [ $st = 1 ] && grep -q -- "$want" err.txt; then ok; else bad "$what: status $st, '$(cat err.txt)'"; fi
}
expect_err "missing file" "nope.csv: error: cannot read" nope.csv -o x.svg
printf 'a,b\n1,2\n' > nostep.csv
expect_err "no step column" "nostep.csv:1: error: the header has no 'step' column" nostep.csv -o x.svg
printf 'step,loss\n1,0.5\n2,zebra\n' > word.csv
expect_err "malformed number" "word.csv:3: error: field 2 (loss) is not a number" word.csv -o x.svg
printf 'step,loss\n1,0.5,7\n' > wide.csv
expect_err "too many fields" "wide.csv:2: error: more fields" wide.csv -o x.svg
printf 'step,loss\n' > empty.csv
expect_err "no rows" "empty.csv: error: no rows to plot" empty.csv -o x.svg
printf '{"step": 1, "loss": 0.5}\n{"step": 2, "loss": \n' > cut.jsonl
expect_err "truncated JSON" "cut.jsonl:2: error:" cut.jsonl -o x.svg
expect_err "no -o" "plot: -o FILE.svg is required" m.csv

echo "metrics: $pass passed, $fail failed"
[ $fail = 0 ]
