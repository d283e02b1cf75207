#!/usr/bin/env bash
# dist.sh — data-parallel training over MPI (torch.distributed, DistributedDataParallel):
#   tests/dist/mlp.tt, gpt.tt   one process at a batch of 8, and `mpirun -np 2` at 4 a rank,
#                               print the same losses, which are python3's (DDP over gloo,
#                               one rank, at 8: NAME.expected)
#   tests/dist/resume.tt        gpt.tt's checkpoint, saved by rank 0, resumes on 1 and on 2
#                               ranks with the same losses (resume.expected, python3's)
#   tests/dist/sampler-order.tt DistributedSampler's order, as PyTorch's (no MPI linked)
#   tests/dist/bn.tt            BatchNorm1d under DDP on 2 ranks: broadcast_buffers (rank 0's
#                               running statistics before each forward) and =False print
#                               python3's (DDP over 2 gloo ranks: bn.expected, bn-nobcast.expected)
#   a rank killed mid-training  ends the job within seconds, with mpirun's message
#   diagnostics                 another backend; no MPI at build time
# Without mpirun the test is skipped, unless TTC_REQUIRE_MPI=1 (.ci/run sets it).
#
#   bash tests/dist.sh TTC TESTS_SRC_DIR WORK_DIR
#   UPDATE=1 bash tests/dist.sh TTC TESTS_SRC_DIR   # rewrite the .expected files (python3)
set -u
ttc=$(realpath "$1")
src=$(realpath "$2")/dist
work=$(realpath -m "${3:-$(mktemp -d)}")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
export TTC_CACHE_DIR="$work/cache" TTC_CFLAGS="${TTC_CFLAGS:--O1}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Under ASan (.ci/run's second pass) LeakSanitizer reports what Open MPI's dlopen'ed plugins
# keep at exit (frames in an "<unknown module>"); the runtime's own leaks are the other
# suites' to catch, so leak checking is off for these MPI programs only.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
mpirun=(mpirun --oversubscribe -np 2)
cp "$src"/*.tt "$src"/gpt_model.py .

# The program at one process's batch (8) and at a rank's (4).
variant() { sed "s/^batch_size = 4/batch_size = $2/" "$1.tt" > "$1_$2.tt"; }

if [ "${UPDATE:-0}" = 1 ]; then # PyTorch's DDP on one gloo rank, at a batch of 8
  for name in mlp gpt resume sampler-order; do
    variant "$name" 8
    sed -i 's|backend="mpi"|backend="gloo", init_method="tcp://127.0.0.1:29517", rank=0, world_size=1|' "${name}_8.tt"
    /usr/bin/python3 "${name}_8.tt" > "$src/$name.expected" || exit 1
  done
  # bn.tt's statistics are each rank's half-batch's: two gloo ranks, two processes
  sed 's/broadcast_buffers=True/broadcast_buffers=False/' bn.tt > bn-nobcast.tt
  for name in bn bn-nobcast; do
    sed 's|backend="mpi"|backend="gloo", init_method="tcp://127.0.0.1:29517", rank=int(__import__("os").environ["RANK"]), world_size=2|' "$name.tt" > "${name}_gloo.py"
    RANK=1 /usr/bin/python3 "${name}_gloo.py" > /dev/null &
    RANK=0 /usr/bin/python3 "${name}_gloo.py" > "$src/$name.expected" || exit 1
    wait $! || exit 1
  done
  echo "regenerated tests/dist/*.expected"
  exit 0
fi

if ! command -v mpirun > /dev/null; then
  if [ "${TTC_REQUIRE_MPI:-0}" = 1 ]; then echo "FAIL mpirun not found (apt-get install openmpi-bin libopenmpi-dev)"; exit 1; fi
  echo "skipped: no mpirun (apt-get install openmpi-bin libopenmpi-dev)"
  exit 0
fi
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }
same() { # NAME FILE: FILE equals NAME.expected
  if diff -u "$src/$1.expected" "$2" > "$2.diff"; then ok; else bad "$1: $2 differs from $1.expected"; cat "$2.diff"; fi
}

# 1. one process and two ranks, the MLP and the GPT (gpt.tt saves gpt_dist.pt on rank 0)
for name in mlp gpt; do
  variant "$name" 8 && variant "$name" 4
  "$ttc" build "${name}_8.tt" -o "${name}_8" && "$ttc" build "${name}_4.tt" -o "${name}_4" || { bad "$name: build"; continue; }
  ./"${name}_8" > "$name.1" 2> "$name.1.err" || bad "$name: one process: $(cat "$name.1.err")"
  same "$name" "$name.1"
  timeout 60 "${mpirun[@]}" ./"${name}_4" > "$name.2" 2> "$name.2.err" || bad "$name: two ranks: $(cat "$name.2.err")"
  same "$name" "$name.2"
done
# a program that uses MPI links it; one that does not, does not
if ldd mlp_4 | grep -q libmpi; then ok; else bad "mlp_4 is not linked with MPI"; fi

# 2. rank 0's checkpoint resumes on one and on two ranks
variant resume 8 && variant resume 4
if [ -f gpt_dist.pt ] && "$ttc" build resume_8.tt -o resume_8 && "$ttc" build resume_4.tt -o resume_4; then
  timeout 60 "${mpirun[@]}" ./resume_4 > resume.2 2> resume.2.err || bad "resume: two ranks: $(cat resume.2.err)"
  same resume resume.2
  timeout 60 mpirun -np 1 ./resume_8 > resume.1 2> resume.1.err || bad "resume: one rank: $(cat resume.1.err)"
  same resume resume.1
else
  bad "resume: no checkpoint from gpt.tt, or the build failed"
fi

# 3. DistributedSampler's order, in one process without MPI
"$ttc" build sampler-order.tt -o sampler-order && ./sampler-order > sampler-order.out
same sampler-order sampler-order.out
if ldd sampler-order | grep -q libmpi; then bad "sampler-order.tt links MPI, which it does not use"; else ok; fi

# 4. DDP with BatchNorm1d on 2 ranks: rank 0's buffers at each forward, or (=False) each rank's
sed 's/broadcast_buffers=True/broadcast_buffers=False/' bn.tt > bn-nobcast.tt
for name in bn bn-nobcast; do
  "$ttc" build "$name.tt" -o "$name" || { bad "$name: build"; continue; }
  timeout 60 "${mpirun[@]}" ./"$name" > "$name.2" 2> "$name.2.err" || bad "$name: two ranks: $(cat "$name.2.err")"
  same "$name" "$name.2"
done

# 5. a rank killed mid-training: mpirun ends the job within seconds, naming what happened
sed 's/^for epoch in range(2):/for epoch in range(1000000):/' mlp_4.tt > forever.tt
"$ttc" build forever.tt -o forever || bad "forever: build"
"${mpirun[@]}" ./forever > forever.out 2> forever.err &
job=$!
for _ in $(seq 50); do [ -s forever.out ] && break; sleep 0.1; done # training has started
victim=$(pgrep -P "$job" -f forever | tail -n 1)
t0=$(date +%s%N)
if [ -n "$victim" ]; then kill -9 "$victim"; else bad "kill: no rank of the job found"; fi
for _ in $(seq 100); do kill -0 "$job" 2> /dev/null || break; sleep 0.1; done
if kill -0 "$job" 2> /dev/null; then
  bad "kill: the job still runs 10 s after a rank was killed"
  kill -9 "$job" $(pgrep -P "$job") 2> /dev/null
fi
wait "$job"
st=$?
ms=$((($(date +%s%N) - t0) / 1000000))
if [ "$st" -ne 0 ] && grep -q "exited on signal 9" forever.err; then ok; else
  bad "kill: exit status $st, stderr: $(head -c 600 forever.err)"
fi
echo "a killed rank ended the job in $ms ms (exit status $st)"

# 6. diagnostics: another backend; MPI missing at build time
sed 's/backend="mpi"/backend="gloo"/' mlp_4.tt > gloo.tt
"$ttc" build gloo.tt -o gloo 2> gloo.err
grep -Eq '^gloo.tt:13:[0-9]+: error: init_process_group\(\): ttc runs torch.distributed on MPI' gloo.err && ok || bad "gloo: $(cat gloo.err)"
sed 's/seed=3/seed=4/' mlp_4.tt > nompi.tt # not in the cache: it must link (the runtime is)
PATH=/nonexistent PKG_CONFIG_LIBDIR=/nonexistent "$ttc" build nompi.tt -o nompi 2> nompi.err
grep -q 'uses torch.distributed, which needs MPI' nompi.err && ok || bad "no MPI: $(cat nompi.err)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
