#!/usr/bin/env bash
# corpus.sh — how much of ordinary PyTorch ttc runs. tests/corpus/NAME.py are short scripts
# written as PyTorch 1.13 users write them in tutorials and course notebooks (regression,
# MLPs, CNNs, data loaders, schedulers, autograd and tensor drills, text preprocessing),
# not shaped around ttc; NAME.expected is what /usr/bin/python3 prints for each (torch 1.13).
# Every script is built and run by `ttc run` and its stdout compared with NAME.expected
# byte for byte. The comparison is exact: where ttc sums floats in another order than
# PyTorch, a printed number can differ in its last digit, and such a script counts as
# differing (its line says "output differs" and shows the first differing line); the
# scripts print with formats that make that rare (f"{loss.item():.4f}", 4-decimal tensors),
# and a script known to differ only so says it in its first comment. Each script runs in a
# scratch directory of its own (what it saves stays out of the source tree), with a
# timeout (TTC_TEST_TIMEOUT, 120 s); the whole corpus takes about 30 s on two cores.
#
# One line per script (PASS, or FAIL with the first line ttc wrote to stderr, or the first
# differing line), then "corpus: P of N scripts print python3's output (X%)".
# tests/corpus/passing.txt names the scripts known to pass: if one of them fails, that is a
# regression and the exit status is 1. Other failures are reported only (exit status 0);
# a script that passes but is not listed is marked "(new: add it to passing.txt)".
#
#   bash tests/corpus.sh TTC TESTS_SRC_DIR [WORK_DIR]   # the test (ctest runs this)
#   UPDATE=1 bash tests/corpus.sh TTC TESTS_SRC_DIR     # rewrite the .expected files with
#                                                       # python3 (needs torch 1.13)
#   PASSING=1 bash tests/corpus.sh TTC TESTS_SRC_DIR    # also rewrite passing.txt
set -u
if [ $# -lt 2 ]; then
  echo "usage: [UPDATE=1] [PASSING=1] bash tests/corpus.sh TTC TESTS_SRC_DIR [WORK_DIR]" >&2
  exit 2
fi
ttc=$(realpath "$1")
dir="$(realpath "$2")/corpus"
work=$(realpath -m "${3:-$(mktemp -d)}")
rm -rf "$work/out"
mkdir -p "$work/out"
# A private cache: compiled programs of this suite neither read nor fill the user's cache.
export TTC_CACHE_DIR="$work/cache"
export TTC_CFLAGS="${TTC_CFLAGS:--O1}" # the numbers, not the speed, are under test
python=/usr/bin/python3

cd "$dir" || exit 1
scripts=(*.py)

if [ "${UPDATE:-0}" = 1 ]; then
  bad=0
  for py in "${scripts[@]}"; do
    name="${py%.py}"
    mkdir -p "$work/out/$name.py.dir"
    # a script may torch.save: run it in a scratch directory, not in the source tree
    if ! (cd "$work/out/$name.py.dir" && "$python" "$dir/$py") > "$name.expected"; then
      echo "python3 failed on $py"
      bad=1
    fi
  done
  echo "regenerated the expected files of ${#scripts[@]} scripts"
  exit $bad
fi

# Two at a time (the build machines have two cores), each in a scratch directory of its
# own so that what it saves stays out of the source tree and away from its neighbour; the
# verdicts are read in name order afterwards.
run_one() {
  local py=$1 ttc=$2 out=$3
  local name="${py%.py}"
  mkdir -p "$out/$name.dir"
  # (the braces keep bash's own "Segmentation fault" report of a crash off the terminal:
  # the verdict names the signal)
  { (cd "$out/$name.dir" && timeout "${TTC_TEST_TIMEOUT:-120}" "$ttc" run "$OLDPWD/$py") \
    > "$out/$name.out" 2> "$out/$name.err"; } 2> /dev/null
  echo $? > "$out/$name.rc"
}
export -f run_one
# The first script runs alone: it builds the runtime into the fresh cache, which two
# concurrent first runs would otherwise both write.
run_one "${scripts[0]}" "$ttc" "$work/out"
printf '%s\n' "${scripts[@]:1}" | xargs -P 2 -I{} bash -c 'run_one "$@"' _ {} "$ttc" "$work/out"

declare -A listed=()
if [ -f passing.txt ]; then
  while read -r line; do
    line="${line%%#*}"
    line="${line//[[:space:]]/}"
    [ -n "$line" ] && listed[$line]=1
  done < passing.txt
fi

pass=0
total=0
regressions=0
passing=()
for py in "${scripts[@]}"; do
  name="${py%.py}"
  total=$((total + 1))
  rc=$(cat "$work/out/$name.rc" 2> /dev/null || echo missing)
  verdict=""
  if [ "$rc" = 124 ]; then
    verdict="timed out after ${TTC_TEST_TIMEOUT:-120} s"
  elif [[ $rc =~ ^[0-9]+$ ]] && [ "$rc" -gt 128 ]; then
    first=$(grep -m1 . "$work/out/$name.err")
    first=${first#"$dir/"}
    verdict="killed by SIG$(kill -l $((rc - 128))) (a crash of ttc or of the program): ${first:-(nothing on stderr)}"
  elif [ "$rc" != 0 ]; then
    first=$(grep -m1 . "$work/out/$name.err")
    first=${first#"$dir/"}
    verdict="exit $rc: ${first:-(nothing on stderr)}"
  elif ! diff -u --label "$name (python3)" --label "$name (ttc)" "$name.expected" \
      "$work/out/$name.out" > "$work/out/$name.diff"; then
    first=$(grep -m1 '^[-+][^-+]' "$work/out/$name.diff")
    verdict="output differs, first: $first"
  fi
  if [ -z "$verdict" ]; then
    pass=$((pass + 1))
    passing+=("$name")
    if [ -n "${listed[$name]:-}" ]; then
      echo "PASS $name"
    else
      echo "PASS $name (new: add it to passing.txt)"
    fi
  elif [ -n "${listed[$name]:-}" ]; then
    echo "FAIL $name: $verdict (REGRESSION: listed in passing.txt)"
    regressions=$((regressions + 1))
  else
    echo "FAIL $name: $verdict"
  fi
done
for name in "${!listed[@]}"; do
  if [ ! -f "$name.py" ]; then
    echo "FAIL $name: listed in passing.txt but tests/corpus/$name.py does not exist"
    regressions=$((regressions + 1))
  fi
done

if [ "${PASSING:-0}" = 1 ]; then
  {
    echo "# The corpus scripts that print python3's output under ttc (tests/corpus.sh fails if"
    echo "# one of them stops). Rewritten by PASSING=1 bash tests/corpus.sh TTC TESTS_SRC_DIR."
    printf '%s\n' "${passing[@]}"
  } > passing.txt
  echo "rewrote passing.txt: ${#passing[@]} scripts"
fi

echo "corpus: $pass of $total scripts print python3's output ($((100 * pass / total))%)"
if [ $regressions -gt 0 ]; then
  echo "$regressions regressions among the scripts in tests/corpus/passing.txt (outputs in $work/out)"
  exit 1
fi
exit 0
