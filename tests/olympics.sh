#!/usr/bin/env bash
# olympics.sh — ttc olympics end to end on tiny entries (tests/olympics/: a 784-32-10 MLP at
# -O1 and -O0 and a softmax regression, each trained for 100 steps, and one entry that
# counts its accuracy on the training set and must be refused), docs/OLYMPICS.md:
#  - the run writes the leaderboard (five events, every entry), a submission JSON per entry
#    and the Pareto SVG, and exits 1 naming the refused entry;
#  - the JSONs parse and hold what they promise; the medals follow the rules when recomputed
#    from the JSONs' own numbers; the baseline scores 1 against itself; the -O0 and -O1
#    builds of one program print the same accuracy;
#  - the SVG is XML with a dot per valid entry;
#  - a directory without a baseline, or with no entries, is a message, not a crash;
#  - the language's Profiler.count_flops of the main demo's model is ttc profile's count.
# Times are never asserted (they are measured, not tested).
#
#   bash tests/olympics.sh TTC TESTS_SRC_DIR WORK_DIR
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
check() { # check WHAT COMMAND...
  local what=$1
  shift
  if "$@"; then ok; else bad "$what"; fi
}

"$ttc" olympics "$src/olympics" -o out --runs=20 --warmup=2 > board.txt 2> err.txt
rc=$?
check "exit status 1 when an entry fails (got $rc)" test $rc = 1
check "the refused entry is named with the reason" grep -q "no_test_set: does not read the Fashion-MNIST test set" err.txt
for f in out/leaderboard.md out/pareto.svg out/submissions/baseline.json out/submissions/baseline-O0.json \
  out/submissions/tiny.json out/submissions/no_test_set.json out/logs/baseline.log; do
  check "$f written" test -s "$f"
done
check "stdout is the leaderboard" cmp -s board.txt out/leaderboard.md
for ev in "Latency sprint" "Memory challenge" "Accuracy contest" "All-around" "Extreme push"; do
  check "leaderboard: event $ev" grep -q "^| $ev | " out/leaderboard.md
done
for e in baseline baseline-O0 tiny; do
  check "leaderboard: entry $e" grep -q "^| $e | .* | [0-9.]*% | " out/leaderboard.md
done
check "leaderboard: the failed entry" grep -q "^| no_test_set | .* failed: " out/leaderboard.md

/usr/bin/python3 - out > py.txt 2>&1 <<'PY'
import json, math, sys, xml.dom.minidom
out = sys.argv[1]
sub = {n: json.load(open(f"{out}/submissions/{n}.json")) for n in ("baseline", "baseline-O0", "tiny", "no_test_set")}
bad = []
def need(cond, what):
    if not cond:
        bad.append(what)
need(sub["no_test_set"]["valid"] is False and "test set" in sub["no_test_set"]["error"], "refused entry's JSON")
valid = {n: s for n, s in sub.items() if s["valid"]}
need(sorted(valid) == ["baseline", "baseline-O0", "tiny"], "valid entries")
for n, s in valid.items():
    lat = s["latency_batch1_ms"]
    need(0 <= s["accuracy_percent"] <= 100, f"{n}: accuracy in [0, 100]")
    need(lat["runs"] == 20, f"{n}: 20 measured runs (--runs=20)")
    need(0 < lat["p50"] and lat["ci95"][0] <= lat["mean"] <= lat["ci95"][1], f"{n}: latency summary")
    need(s["peak_rss_bytes"] > 0 and s["binary_bytes"] > 0, f"{n}: sizes")
    need(s["dataset"].startswith("Fashion-MNIST test set"), f"{n}: dataset")
# parameters and weights: 784*32 + 32 + 32*10 + 10 and 784*10 + 10 float32 numbers
need(sub["baseline"]["parameters"] == 784 * 32 + 32 + 32 * 10 + 10, "baseline parameters")
need(sub["tiny"]["parameters"] == 7850 and sub["tiny"]["weight_bytes"] == 4 * 7850, "tiny parameters and weights")
# FLOPs of one sample's forward and its accuracy count (argmax 10, ==, cast, sum): fc 2*784*32 + 32,
# relu 32, fc 2*32*10 + 10
need(sub["baseline"]["flops_per_sample"] == 2 * 784 * 32 + 32 + 32 + 2 * 32 * 10 + 10 + 13, "baseline FLOPs")
b = sub["baseline"]["vs_baseline"]
need(b["speedup"] == 1 and b["compression"] == 1 and sub["baseline"]["all_around_score"] == 1, "baseline scores 1")
need(sub["baseline"]["accuracy_percent"] == sub["baseline-O0"]["accuracy_percent"], "-O0 and -O1 print the same accuracy")
need(sub["baseline-O0"]["pipeline"] != sub["baseline"]["pipeline"], "-O0's pipeline differs")
# the medals, recomputed from the JSONs (docs/OLYMPICS.md's rules)
base = sub["baseline"]["accuracy_percent"]
def key(ev, n):
    s = valid[n]
    return {"latency": s["latency_batch1_ms"]["p50"], "memory": s["peak_rss_bytes"],
            "accuracy": -s["accuracy_percent"], "all_around": -s["all_around_score"],
            "extreme": s["weight_bytes"]}[ev]
def qual(ev, n):
    a = valid[n]["accuracy_percent"]
    return True if ev == "accuracy" else a >= 80 if ev == "extreme" else a >= base - 5
for ev in ("latency", "memory", "accuracy", "all_around", "extreme"):
    ranked = sorted((n for n in valid if qual(ev, n)), key=lambda n: (key(ev, n), -valid[n]["accuracy_percent"], n))
    for place, n in zip(("gold", "silver", "bronze"), ranked):
        need(f"{ev}: {place}" in valid[n]["medals"], f"{ev} {place} is {n}")
    for n in valid:
        if n not in ranked[:3]:
            need(not any(m.startswith(ev + ":") for m in valid[n]["medals"]), f"{n} has no {ev} medal")
for n, s in valid.items():  # the all-around score is its formula
    v = s["vs_baseline"]
    need(math.isclose(s["all_around_score"], (v["speedup"] * v["compression"] * v["error_reduction"]) ** (1 / 3), rel_tol=1e-3), f"{n}: all-around formula")
svg = xml.dom.minidom.parse(f"{out}/pareto.svg")
need(len(svg.getElementsByTagName("circle")) == 3 + 3, "a dot per valid entry (and 3 in the legend)")
texts = " ".join(t.firstChild.data for t in svg.getElementsByTagName("text") if t.firstChild)
need(all(n in texts for n in valid), "each dot labelled")
need(sum(s["pareto_optimal"] for s in valid.values()) >= 1, "some entry is Pareto-optimal")
print("\n".join("FAIL " + b for b in bad) if bad else "ok")
PY
if [ "$(cat py.txt)" = ok ]; then ok; else bad "outputs: $(cat py.txt)"; fi

# ---- a directory the Olympics cannot run ----
mkdir -p nobase empty
cp "$src/olympics/tiny.tt" nobase/
"$ttc" olympics nobase -o out2 > /dev/null 2> nobase.err
check "no baseline: exit 1" test $? = 1
check "no baseline: the message" grep -q "has no entry named 'baseline'" nobase.err
"$ttc" olympics empty -o out3 > /dev/null 2> empty.err
check "no entries: the message" grep -q "holds no .tt entries" empty.err
"$ttc" olympics missing-dir > /dev/null 2> missing.err
check "a missing directory: the message" grep -q "cannot open the directory of entries missing-dir" missing.err

# ---- the language's Profiler counts what ttc profile counts ----
# the main demo's model, asked from the program, against ttc profile's count of its
# evaluation graph (which also holds the accuracy count: argmax 10, ==, cast, sum 1 each)
sed -n '/^class MLP/,/^manual_seed/p' "$src/../models/mlp_fashion.tt" | grep -v '^manual_seed' > flops.tt
{ echo 'MEAN, STD = 0.2860, 0.3530'; cat flops.tt; echo 'print(Profiler().count_flops(MLP(), (1, 784)))'; } > flops2.tt
lang=$("$ttc" run flops2.tt 2> flops.err)
"$ttc" profile "$src/../models/mlp_fashion.tt" --runs=0 --json > mlp.json 2>> flops.err
prof=$(grep -o '"flops_forward_batch1": [0-9]*' mlp.json | awk '{ print $2 }')
check "count_flops ($lang) is ttc profile's forward ($prof) less the accuracy count's 13" test "$lang" = $((prof - 13))

echo "olympics: $pass passed, $fail failed"
[ "$fail" = 0 ]
