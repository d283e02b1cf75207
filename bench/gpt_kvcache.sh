#!/bin/sh
# gpt_kvcache.sh — the kvcache pass measured (issue 11): generating CTX - 1 tokens after a
# 1-token prompt with the bench GPT (bench/gpt_model.py: vocabulary 96, 4 layers, 4 heads,
# d_model 128, context CTX; batch 1), side by side in one run:
#   ttc                 bench/gpt_kvcache.py built by ttc (the kvcache pass is in -O1)
#   ttc, no kvcache     the same, built with --disable-pass=kvcache (full recompute)
#   torch               the same file under python3: full recompute (nanoGPT's generate)
#   torch, hand cache   bench/gpt_kvcache_torch.py: preallocated K/V caches, new position only
# PyTorch runs on one thread and on two. All draw the same tokens (checked). The systems run
# interleaved, RUNS rounds after one discarded round; the table shows the median [min-max]
# of the rounds' mean time per token, then the time per token by band of positions (the
# median round's), which is flat when each token costs the same. Not a test: nothing in
# ctest runs it.
#
#   bench/gpt_kvcache.sh [RUNS] [CTX ...]      (defaults: 3 rounds; contexts 128 and 512)
#
# Needs: cmake and cc (to build ttc), /usr/bin/python3 with Debian's python3-torch, and
# libopenblas0-pthread (the script refuses the reference BLAS). Env: TTC (a built ttc;
# else it is built in $BENCH_DIR/build), BENCH_DIR (default /tmp/ttc-bench).
set -eu
RUNS=${1:-3}
[ $# -gt 0 ] && shift
CTXS=${*:-128 512}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH_DIR=${BENCH_DIR:-/tmp/ttc-bench}
PY=/usr/bin/python3
mkdir -p "$BENCH_DIR"
die() { echo "gpt_kvcache.sh: $*" >&2; exit 1; }
case $RUNS in ''|*[!0-9]*|0) die "RUNS must be a positive integer";; esac
$PY -c 'import torch' 2>/dev/null || die "needs $PY with torch (apt-get install python3-torch)"
case $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3 2>/dev/null) in
  *openblas*) ;;
  *) die "libblas.so.3 is not OpenBLAS: apt-get install libopenblas0-pthread (PyTorch at its best)";;
esac
if [ -z "${TTC:-}" ]; then
  cmake -S "$ROOT" -B "$BENCH_DIR/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BENCH_DIR/build" --target ttc -j2 >/dev/null
  TTC=$BENCH_DIR/build/ttc
fi
torch_run() { # THREADS SCRIPT CTX
  (cd "$W" && OMP_NUM_THREADS=$1 OPENBLAS_NUM_THREADS=$1 $PY -c "import runpy, sys, torch; sys.path.insert(0, '.'); sys.argv = ['$2', '$3']; torch.set_num_threads($1); runpy.run_path('$2', run_name='__main__')")
}
CPU=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
for CTX in $CTXS; do
  case $CTX in ''|*[!0-9]*) die "CTX must be a positive integer";; esac
  W=$BENCH_DIR/kvcache-$CTX
  mkdir -p "$W"
  cp "$ROOT/bench/gpt_model.py" "$ROOT/bench/gpt_kvcache_torch.py" "$W/"
  sed "s/^CTX = 128$/CTX = $CTX/" "$ROOT/bench/gpt_kvcache.py" > "$W/gpt_kvcache.py"
  (cd "$W" && "$TTC" build gpt_kvcache.py -o kv && "$TTC" build gpt_kvcache.py --disable-pass=kvcache -o nokv) ||
    die "ttc build failed"
  "$W/kv" | grep '^tokens' > "$W/tok.kv"
  "$W/nokv" | grep '^tokens' > "$W/tok.nokv"
  torch_run 1 gpt_kvcache.py "$CTX" | grep '^tokens' > "$W/tok.torch"
  torch_run 1 gpt_kvcache_torch.py "$CTX" | grep '^tokens' > "$W/tok.cache"
  for s in nokv torch cache; do
    cmp -s "$W/tok.kv" "$W/tok.$s" || die "context $CTX: ttc with the kvcache pass and $s drew different tokens"
  done
  echo "context $CTX: the same $CTX tokens from all four"
  : > "$W/rows"
  for r in $(seq 0 "$RUNS"); do
    for s in kv nokv torch-1 cache-1 torch-2 cache-2; do
      case $s in
        kv|nokv) "$W/$s" > "$W/out.$s.$r";;
        torch-*) torch_run "${s#torch-}" gpt_kvcache.py "$CTX" > "$W/out.$s.$r";;
        cache-*) torch_run "${s#cache-}" gpt_kvcache_torch.py "$CTX" > "$W/out.$s.$r";;
      esac
      [ "$r" -eq 0 ] && continue # the warm-up round
      echo "$s $(sed -n 's/^ms per token //p' "$W/out.$s.$r") $r" >> "$W/rows"
    done
  done
  echo "machine: $CPU, $(nproc) cores; load after: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS rounds"
  echo "| context $CTX, batch 1, $((CTX - 1)) new tokens | ms per token, median [min-max] | tokens/s | time / ttc's |"
  echo "|---|---|---|---|"
  med() { grep "^$1 " "$W/rows" | cut -d' ' -f2 | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2), v[1], v[NR] }'; }
  kvm=$(med kv | cut -d' ' -f1)
  for s in kv nokv torch-1 torch-2 cache-1 cache-2; do
    set -- $(med $s)
    case $s in
      kv) name="ttc";; nokv) name="ttc --disable-pass=kvcache";;
      torch-*) name="torch 1.13 + OpenBLAS, full recompute, ${s#torch-} thread(s)";;
      cache-*) name="torch 1.13 + OpenBLAS, hand-written cache, ${s#cache-} thread(s)";;
    esac
    awk -v n="$name" -v m="$1" -v lo="$2" -v hi="$3" -v k="$kvm" \
      'BEGIN { printf "| %s | %.3f [%.3f-%.3f] | %.0f | %.1fx |\n", n, m, lo, hi, 1000 / m, m / k }'
  done
  # the per-position bands of each system's median round
  echo
  echo "| ms per token by position (context $CTX; each system's median round) | ttc | ttc, no kvcache | torch, full | torch, hand cache |"
  echo "|---|---|---|---|---|"
  pick() { grep "^$1 " "$W/rows" | sort -k2 -n | awk '{ r[NR] = $3 } END { print r[int((NR + 1) / 2)] }'; }
  a=$W/out.kv.$(pick kv); b=$W/out.nokv.$(pick nokv); c=$W/out.torch-1.$(pick torch-1); d=$W/out.cache-1.$(pick cache-1)
  for f in "$a" "$b" "$c" "$d"; do grep '^positions' "$f" | sed 's/^positions \([0-9-]*\): ms per token /\1 /' > "$f.bands"; done
  paste -d' ' "$a.bands" "$b.bands" "$c.bands" "$d.bands" | awk '{ printf "| %s | %.3f | %.3f | %.3f | %.3f |\n", $1, $2, $4, $6, $8 }'
  echo
done
