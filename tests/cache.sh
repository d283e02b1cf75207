#!/usr/bin/env bash
# cache.sh — what ttc trusts on disk. The run cache: its directories are private (0700, the
# user's own), and a cache directory someone else made or can write (the /tmp fallback
# planted by another user, a TTC_CACHE_DIR made by nobody or made 0777, an entry or rt-* dir
# of nobody's, a symlink in place of a directory) is refused before anything in it runs; a
# corrupted cached binary or runtime object (emptied, cut in half, replaced by a script) is
# rebuilt; a full disk or `ulimit -f` is said in those words. Outputs: -o onto /dev/null, a
# FIFO, /dev/full or a symlink writes through it and leaves the node as it was.
#
#   bash tests/cache.sh TTC TESTS_SRC_DIR WORK_DIR
#
# The tests that plant a cache as another user need root (CI runs as root): they run the
# planting as nobody (runuser or setpriv) and check that root's `ttc run` refuses it and
# does not execute the planted program. Not root: those are skipped, with a SKIP line.
set -u
ttc=$(realpath "$1")
work="$(realpath -m "${3:-$(mktemp -d)}")"
if mountpoint -q "$work/mnt" 2> /dev/null; then umount "$work/mnt"; fi
rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
export TTC_CFLAGS="${TTC_CFLAGS:--O1}"
unset XDG_CACHE_HOME
export TTC_CACHE_DIR="$work/cache"
pass=0
fail=0
skip=0
euid=$(id -u)

ok() { pass=$((pass + 1)); }
bad() {
  echo "FAIL $1"
  [ -s err ] && head -c 2000 err
  fail=$((fail + 1))
}
skipped() {
  echo "SKIP $1"
  skip=$((skip + 1))
}
# expect_rc NAME WANT CMD...: run CMD (stdout > out, stderr > err), check its exit status.
expect_rc() {
  local name=$1 want=$2
  shift 2
  timeout 120 "$@" > out 2> err
  local rc=$?
  if [ "$rc" -eq "$want" ]; then ok; else bad "$name: exit status $rc, expected $want"; fi
}
grep_in() {
  if grep -Eq -- "$3" "$2"; then ok; else bad "$1: $2 lacks /$3/"; fi
}
lacks() {
  if grep -Eq -- "$3" "$2"; then bad "$1: $2 has /$3/"; else ok; fi
}
check() { # check NAME CONDITION...: the test(1) condition must hold
  local name=$1
  shift
  if [ "$@" ]; then ok; else bad "$name"; fi
}

cat > prog.tt <<'TT'
x = ones(2, 3)
print(x.sum())
TT
cat > prog2.tt <<'TT'
manual_seed(0)
fc = Linear(3, 2)
print(relu(fc(tensor([[1., 2., 3.]]))).sum() + 1)
TT
expect_rc "first run" 0 "$ttc" run prog.tt
grep_in "first run" out '^tensor\(6\.\)$'
cp out want.out

# ---- the cache's directories are private ------------------------------------------------
# entry: the one <hash> directory of prog.tt in cache $1; rt: its rt-* directory
entry_of() { dirname "$(ls "$1"/[0-9a-f]*/model | head -1)"; }
rt_of() { ls -d "$1"/rt-* | head -1; }
entry=$(entry_of cache)
rt=$(rt_of cache)
for d in cache "$entry" "$rt"; do
  check "cache directory ${d#$work/} is 0700 (it is $(stat -c %a "$d"))" "$(stat -c %a "$d")" = 700
done
check "the binary has a checksum beside it" -s "$entry/model.sum"

# ---- a corrupted cached binary is rebuilt, never run ------------------------------------
# run_ok NAME: `ttc run prog.tt` must print the right output, exit 0, and leave a binary
# that is not the corrupted one.
run_ok() {
  expect_rc "$1" 0 "$ttc" run prog.tt
  if cmp -s out want.out; then ok; else
    bad "$1: prints '$(head -c 200 out)', not '$(cat want.out)'"
  fi
}
truncate -s 0 "$entry/model"
run_ok "cached binary truncated to 0 bytes"
size=$(stat -c %s "$entry/model")
check "the emptied binary was rebuilt" "$size" -gt 1000
truncate -s $((size / 2)) "$entry/model"
run_ok "cached binary cut in half"
printf '#!/bin/sh\necho planted\ntouch "%s/script-ran"\n' "$work" > "$entry/model"
run_ok "cached binary replaced by a script"
check "the script in place of the cached binary did not run" ! -e script-ran
grep_in "a corrupted binary is noted" err 'does not match its checksum'
rm -f "$entry/model.sum"
run_ok "cached binary without its checksum"
check "the checksum is written again" -s "$entry/model.sum"
obj=$(ls "$rt"/*.o | head -1)
truncate -s 0 "$obj"
run_ok "runtime object $(basename "$obj") truncated to 0 bytes"
lacks "a truncated runtime object is rebuilt, not an internal error" err 'internal error'
truncate -s 0 "$entry/model"
expect_rc "build -o from a corrupted cache" 0 "$ttc" build prog.tt -o built.bin
if [ -x built.bin ] && ./built.bin > built.out 2> err && cmp -s built.out want.out; then ok; else
  bad "build -o copied a corrupted cached binary"
fi

# ---- caches made or writable by someone else are refused ---------------------------------
# Another user (nobody) plants a cache entry whose program, if root ran it, would leave a
# marker; root's `ttc run` must refuse, naming the directory, and the marker must not appear.
nobody_run=""
if [ "$euid" -eq 0 ] && id nobody > /dev/null 2>&1; then
  if command -v runuser > /dev/null && runuser -u nobody -- true 2> /dev/null; then
    nobody_run="runuser -u nobody --"
  elif command -v setpriv > /dev/null &&
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups true 2> /dev/null; then
    nobody_run="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
  else
    bad "root, but neither runuser nor setpriv can act as nobody"
  fi
fi
plant=""
cleanup() {
  if mountpoint -q "$work/mnt" 2> /dev/null; then umount "$work/mnt"; fi
  [ -n "$plant" ] && rm -rf "$plant"
}
trap cleanup EXIT
if [ -n "$nobody_run" ]; then
  nobody_uid=$(id -u nobody)
  # a sticky world-writable directory, as /tmp is, that nobody can reach
  plant=$(mktemp -d /tmp/ttc-cache-test.XXXXXX)
  chmod 1777 "$plant"
  ename=$(basename "$entry")
  rname=$(basename "$rt")
  # the planted program: run by root, it would leave $plant/ran-as-0
  printf '#!/bin/sh\nid -u > %s/ran-as-$(id -u)\necho planted\n' "$plant" > "$plant/evil"
  # as_nobody_plant DIR: nobody makes DIR/<entry of prog.tt>/model, the planted program
  as_nobody_plant() {
    $nobody_run sh -c 'mkdir -p "$1" && cp "$2" "$1/model" && chmod 755 "$1/model"' \
      sh "$1/$ename" "$plant/evil"
  }
  # refused NAME DIR-PATTERN WHY-PATTERN: the run was refused for the right reason, and the
  # planted program did not run
  refused() {
    if [ -e "$plant/ran-as-0" ]; then bad "$1: root ran the planted program"; else ok; fi
    rm -f "$plant"/ran-as-*
    grep_in "$1" err "refusing the cache directory $2"
    grep_in "$1" err "$3"
    lacks "$1" out planted
  }

  # the /tmp fallback (no TTC_CACHE_DIR, XDG_CACHE_HOME or HOME), planted by nobody first
  mkdir "$plant/tmp1" && chmod 1777 "$plant/tmp1"
  as_nobody_plant "$plant/tmp1/ttc-cache-0"
  expect_rc "fallback cache planted by nobody" 1 \
    env -u TTC_CACHE_DIR -u XDG_CACHE_HOME -u HOME TMPDIR="$plant/tmp1" "$ttc" run prog.tt
  refused "fallback cache planted by nobody" "$plant/tmp1/ttc-cache-0" "owned by uid $nobody_uid"
  grep_in "the refusal says what to do" err 'remove it, or set TTC_CACHE_DIR'

  # the fallback, as a symlink nobody put in place of the directory
  mkdir "$plant/tmp2" && chmod 1777 "$plant/tmp2"
  as_nobody_plant "$plant/nobodys"
  $nobody_run ln -s "$plant/nobodys" "$plant/tmp2/ttc-cache-0"
  expect_rc "fallback cache a symlink of nobody's" 1 \
    env -u TTC_CACHE_DIR -u XDG_CACHE_HOME -u HOME TMPDIR="$plant/tmp2" "$ttc" run prog.tt
  refused "fallback cache a symlink of nobody's" "$plant/tmp2/ttc-cache-0" 'symbolic link'

  # the fallback, unplanted: created 0700 and used
  mkdir "$plant/tmp3" && chmod 1777 "$plant/tmp3"
  expect_rc "fallback cache" 0 env -u TTC_CACHE_DIR -u XDG_CACHE_HOME -u HOME \
    TMPDIR="$plant/tmp3" "$ttc" run prog.tt
  check "the fallback cache is $plant/tmp3/ttc-cache-0, 0700" \
    "$(stat -c %a "$plant/tmp3/ttc-cache-0" 2> /dev/null)" = 700

  # TTC_CACHE_DIR made by nobody
  as_nobody_plant "$plant/by-nobody"
  expect_rc "TTC_CACHE_DIR made by nobody" 1 env TTC_CACHE_DIR="$plant/by-nobody" "$ttc" run prog.tt
  refused "TTC_CACHE_DIR made by nobody" "$plant/by-nobody" "owned by uid $nobody_uid"

  # TTC_CACHE_DIR made 0777: nobody plants an entry in it
  mkdir -m 777 "$plant/open"
  as_nobody_plant "$plant/open"
  expect_rc "TTC_CACHE_DIR mode 0777" 1 env TTC_CACHE_DIR="$plant/open" "$ttc" run prog.tt
  refused "TTC_CACHE_DIR mode 0777" "$plant/open" 'writable by others'

  # a private cache root, but the entry directory is nobody's
  mkdir -m 700 "$plant/c4" && mkdir "$plant/c4/$ename" && chown nobody "$plant/c4/$ename"
  chmod 711 "$plant/c4"
  as_nobody_plant "$plant/c4"
  chmod 700 "$plant/c4"
  expect_rc "entry directory owned by nobody" 1 env TTC_CACHE_DIR="$plant/c4" "$ttc" run prog.tt
  refused "entry directory owned by nobody" "$plant/c4/$ename" "owned by uid $nobody_uid"

  # a private cache root whose rt-* directory is a symlink to nobody's
  $nobody_run mkdir "$plant/nobody-rt"
  mkdir -m 700 "$plant/c5" && ln -s "$plant/nobody-rt" "$plant/c5/$rname"
  expect_rc "rt-* directory a symlink" 1 env TTC_CACHE_DIR="$plant/c5" "$ttc" run prog.tt
  refused "rt-* directory a symlink" "$plant/c5/$rname" 'symbolic link'

  # a cache of root's, 0700, inside a directory nobody owns (who could swap it)
  $nobody_run mkdir "$plant/nobody-parent"
  mkdir -m 700 "$plant/nobody-parent/cache"
  expect_rc "cache inside nobody's directory" 1 \
    env TTC_CACHE_DIR="$plant/nobody-parent/cache" "$ttc" run prog.tt
  refused "cache inside nobody's directory" "$plant/nobody-parent/cache" \
    "inside $plant/nobody-parent, which belongs to uid $nobody_uid"
elif [ "$euid" -ne 0 ]; then
  skipped "planted caches: not root, so cannot act as another user to plant one"
fi

# a group-writable cache of one's own (needs no other user)
mkdir -m 770 gw && chmod 770 gw
expect_rc "TTC_CACHE_DIR group-writable" 1 env TTC_CACHE_DIR="$work/gw" "$ttc" run prog.tt
grep_in "TTC_CACHE_DIR group-writable" err \
  "refusing the cache directory $work/gw: it is writable by its group"

# ---- a full disk, a quota, ulimit -f: said as such, not as an internal error ------------
# ttc's own write past `ulimit -f` (the runtime cached, a new program's C is too big)
expect_rc "ulimit -f, warming the cache" 0 "$ttc" run prog.tt
# limited KIB CMD...: CMD under `ulimit -f KIB`, the test's own files not
limited=(bash -c 'ulimit -f "$0" && exec "$@"')
expect_rc "ttc's write past ulimit -f" 1 "${limited[@]}" 1 "$ttc" run prog2.tt
grep_in "ttc's write past ulimit -f" err 'file size limit exceeded \(ulimit -f\) while writing .*/model\.c'
# the C compiler's write past `ulimit -f` (an assembler temporary or the binary passes 64 KiB)
expect_rc "cc's write past ulimit -f" 1 \
  env TTC_CACHE_DIR="$work/cache-ulimit" "${limited[@]}" 64 "$ttc" run prog2.tt
grep_in "cc's write past ulimit -f" err 'file size limit exceeded \(ulimit -f\) while the C compiler wrote'
lacks "cc's write past ulimit -f" err 'internal error'
# a cache on a full file system: a 200 KiB tmpfs (root only)
mkdir mnt
if [ "$euid" -eq 0 ] && mount -t tmpfs -o size=200k,mode=0700 tmpfs mnt 2> /dev/null; then
  expect_rc "cache on a full disk" 1 env TTC_CACHE_DIR="$work/mnt/cache" "$ttc" run prog2.tt
  grep_in "cache on a full disk" err 'no space left on device while'
  lacks "cache on a full disk" err 'internal error'
  # the same disk with the runtime in place and the rest filled: ttc's own write fails
  # (64 MiB: room for the runtime's objects however they are built, ASan's included)
  umount mnt && mount -t tmpfs -o size=64m,mode=0700 tmpfs mnt
  expect_rc "cache on a full disk, warming" 0 env TTC_CACHE_DIR="$work/mnt/cache" "$ttc" run prog.tt
  dd if=/dev/zero of=mnt/fill bs=4k > /dev/null 2>&1
  expect_rc "cache on a full disk, ttc's write" 1 \
    env TTC_CACHE_DIR="$work/mnt/cache" "$ttc" run prog2.tt
  grep_in "cache on a full disk, ttc's write" err \
    'no space left on device while (writing|creating the directory) .*mnt/cache'
  umount mnt
else
  skipped "cache on a full disk: cannot mount a small tmpfs (not root, or not permitted)"
fi

# ---- outputs: -o writes through what is not a regular file --------------------------------
"$ttc" compile prog.tt -o - > want.c 2> err
# node_ok NAME PATH TYPE MODE: PATH is still of TYPE (stat %F) with MODE
node_ok() {
  local t m
  t=$(stat -c %F "$2")
  m=$(stat -c %a "$2")
  if [ "$t" = "$3" ] && [ "$m" = "$4" ]; then ok; else bad "$1: $2 is now a $t, mode $m"; fi
}
if [ "$euid" -eq 0 ] && mknod -m 666 null c 1 3 2> /dev/null && mknod -m 666 full c 1 7; then
  # private twins of /dev/null and /dev/full, so a broken ttc cannot damage the real ones
  expect_rc "compile -o a /dev/null twin" 0 "$ttc" compile prog.tt -o null
  node_ok "compile -o a /dev/null twin" null "character special file" 666
  expect_rc "build -o a /dev/null twin" 0 "$ttc" build prog.tt -o null
  node_ok "build -o a /dev/null twin" null "character special file" 666
  expect_rc "compile -o a /dev/full twin" 1 "$ttc" compile prog.tt -o full
  grep_in "compile -o a /dev/full twin" err "no space left on device while writing full"
  node_ok "compile -o a /dev/full twin" full "character special file" 666
  twins_ok=$([ "$(stat -c %F null)" = "character special file" ] && echo 1)
else
  twins_ok=1 # not root: ttc cannot rename over /dev/null, so the real one is safe to try
fi
# the real /dev/null (only once the twin showed ttc will not replace it)
if [ "$(stat -c %F /dev/null)" != "character special file" ]; then
  skipped "-o /dev/null: /dev/null is a $(stat -c %F /dev/null) before the test, damaged by \
something else (as root: rm /dev/null && mknod -m 666 /dev/null c 1 3)"
elif [ -n "$twins_ok" ]; then
  expect_rc "compile -o /dev/null" 0 "$ttc" compile prog.tt -o /dev/null
  expect_rc "build -o /dev/null" 0 "$ttc" build prog.tt -o /dev/null
  check "-o /dev/null leaves /dev/null a character device" \
    "$(stat -c %F /dev/null)" = "character special file"
fi
expect_rc "compile -o - onto /dev/full" 1 sh -c '"$1" compile prog.tt -o - > /dev/full' sh "$ttc"
grep_in "compile -o - onto /dev/full" err 'no space left on device while writing standard output'
# a FIFO with a reader
mkfifo fifo
timeout 20 cat fifo > fifo.out &
reader=$!
expect_rc "compile -o FIFO" 0 timeout 20 "$ttc" compile prog.tt -o fifo
wait $reader
check "compile -o FIFO: the reader got the C" -s fifo.out
if cmp -s fifo.out want.c; then ok; else bad "compile -o FIFO: the reader got other bytes"; fi
node_ok "compile -o FIFO" fifo fifo "$(stat -c %a fifo)"
# a symlink (as /dev/stdout is): written through, left a symlink
ln -s /proc/self/fd/1 stdout-link
expect_rc "compile -o a symlink to stdout" 0 "$ttc" compile prog.tt -o stdout-link
if cmp -s out want.c; then ok; else bad "compile -o a symlink to stdout: stdout lacks the C"; fi
check "compile -o a symlink to stdout: still a symlink" -L stdout-link
# a regular file: still replaced atomically (a hard link to the old file keeps the old bytes)
echo old > reg.c && ln reg.c reg-link.c
expect_rc "compile -o a regular file" 0 "$ttc" compile prog.tt -o reg.c
if cmp -s reg.c want.c && [ "$(cat reg-link.c)" = old ]; then ok; else
  bad "compile -o a regular file: not replaced by rename"
fi
check "compile -o a new file: mode 0644 under umask 022" \
  "$(umask 022 && "$ttc" compile prog.tt -o new.c && stat -c %a new.c)" = 644

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
