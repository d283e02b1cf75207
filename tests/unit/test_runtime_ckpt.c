/*
 * test_runtime_ckpt.c — checkpoints: the round trip, and a clear fatal error for every
 * kind of damage (each byte flipped, each truncation of a small file, a wrong version,
 * key, dtype or shape, a missing file), and a failed save that leaves the old file intact.
 * Hardening: a FIFO or device is refused at once (never a hang), a huge file's header is
 * checked before anything is allocated, and a killed save's temporary is removed by the
 * next save of the same checkpoint once its writer is gone.
 *
 * Fatal paths run in a forked child, so that its exit status and stderr can be checked.
 */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/tt.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))

static char tmpdir[256];

/* Runs fn(arg) in a child; returns its exit status (128 + signal if killed) and what it
 * wrote to stderr. */
static int run_child(void (*fn)(void *), void *arg, char *err, size_t n) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    dup2(fds[1], 2);
    close(fds[1]);
    fn(arg);
    exit(0);
  }
  close(fds[1]);
  size_t len = 0;
  char sink[256];
  for (;;) {
    ssize_t r = len + 1 < n ? read(fds[0], err + len, n - 1 - len) : read(fds[0], sink, sizeof sink);
    if (r <= 0)
      break;
    if (len + 1 < n)
      len += (size_t)r;
  }
  err[len] = '\0';
  close(fds[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A small model's state: two float tensors, an int64 step, a scalar and a bool mask. */
static float w[2][3], bias[2];
static int64_t step;
static double lr;
static unsigned char mask[4];
static const int64_t w_shape[2] = {2, 3}, b_shape[1] = {2}, m_shape[1] = {4};
static TtCkptEntry entries[5];

static void fill(int seed) {
  for (int i = 0; i < 6; i++)
    w[i / 3][i % 3] = (float)(seed + i) * 0.25f;
  bias[0] = -1.5f * (float)seed;
  bias[1] = 1e-30f;
  step = 1000000000000ll + seed;
  lr = 1e-3 * seed;
  for (int i = 0; i < 4; i++)
    mask[i] = (unsigned char)((seed + i) & 1);
}

static void set_entries(void) {
  entries[0] = (TtCkptEntry){"fc.weight", TT_F32, 2, w_shape, w};
  entries[1] = (TtCkptEntry){"fc.bias", TT_F32, 1, b_shape, bias};
  entries[2] = (TtCkptEntry){"opt.step", TT_I64, 0, NULL, &step};
  entries[3] = (TtCkptEntry){"lr", TT_F64, 0, NULL, &lr};
  entries[4] = (TtCkptEntry){"mask", TT_BOOL, 1, m_shape, mask};
}

static char *tpath(const char *name) {
  static char p[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(p[k], sizeof p[k], "%s/%s", tmpdir, name);
  return p[k];
}

static unsigned char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc(*n + 1);
  assert_int_equal(fread(b, 1, *n, f), *n);
  fclose(f);
  return b;
}

static void spit(const char *path, const unsigned char *b, size_t n) {
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(b, 1, n, f), n);
  fclose(f);
}

static void test_round_trip(void **state) {
  (void)state;
  set_entries();
  fill(7);
  tt_ckpt_save(tpath("a.ckpt"), entries, 5);
  tt_ckpt_save(tpath("a.ckpt"), entries, 5); /* over an existing file */
  float w0[2][3], b0[2];
  memcpy(w0, w, sizeof w);
  memcpy(b0, bias, sizeof bias);
  fill(0);
  tt_ckpt_load(tpath("a.ckpt"), entries, 5);
  assert_memory_equal(w, w0, sizeof w);
  assert_memory_equal(bias, b0, sizeof bias);
  assert_int_equal(step, 1000000000007ll);
  assert_true(lr == 7e-3);
  assert_int_equal(mask[0], 1);
  assert_int_equal(mask[1], 0);
  /* the order of the entries does not matter */
  TtCkptEntry rev[5];
  for (int i = 0; i < 5; i++)
    rev[i] = entries[4 - i];
  fill(0);
  tt_ckpt_load(tpath("a.ckpt"), rev, 5);
  assert_memory_equal(w, w0, sizeof w);
  /* an empty checkpoint is fine too */
  tt_ckpt_save(tpath("empty.ckpt"), NULL, 0);
  tt_ckpt_load(tpath("empty.ckpt"), NULL, 0);
}

/* The bytes start: "TTCKPT", version (4), file size (8), entry count (4). */
static void test_header_layout(void **state) {
  (void)state;
  set_entries();
  fill(1);
  tt_ckpt_save(tpath("h.ckpt"), entries, 5);
  size_t n;
  unsigned char *b = slurp(tpath("h.ckpt"), &n);
  assert_memory_equal(b, "TTCKPT\1\0\0\0", 10);
  assert_int_equal(b[10] | b[11] << 8, (int)n);
  assert_int_equal(b[18], 5);
  free(b);
}

typedef struct LoadCase {
  const char *path;
  TtCkptEntry *e;
  int n;
} LoadCase;

static void do_load(void *arg) {
  LoadCase *c = arg;
  tt_ckpt_load(c->path, c->e, c->n);
}

static void expect_load_error(const char *path, TtCkptEntry *e, int n, const char *msg) {
  char err[1024];
  LoadCase c = {path, e, n};
  int rc = run_child(do_load, &c, err, sizeof err);
  if (rc != 1 || strcmp(err, msg) != 0)
    fail_msg("exit %d, stderr '%s', expected '%s'", rc, err, msg);
}

static void test_every_byte_flip_is_caught(void **state) {
  (void)state;
  set_entries();
  fill(3);
  tt_ckpt_save(tpath("f.ckpt"), entries, 5);
  size_t n;
  unsigned char *good = slurp(tpath("f.ckpt"), &n);
  char corrupted[600];
  snprintf(corrupted, sizeof corrupted, "error: %s: checkpoint is corrupted (checksum mismatch)\n",
           tpath("g.ckpt"));
  for (size_t i = 0; i < n; i++) {
    good[i] ^= 0x10;
    spit(tpath("g.ckpt"), good, n);
    good[i] ^= 0x10;
    char err[1024];
    LoadCase c = {tpath("g.ckpt"), entries, 5};
    int rc = run_child(do_load, &c, err, sizeof err);
    if (rc != 1)
      fail_msg("flip at byte %zu: exit %d", i, rc);
    if (i < 6)
      assert_non_null(strstr(err, "not a ttc checkpoint (bad magic)"));
    else if (i < 10)
      assert_non_null(strstr(err, "checkpoint format version"));
    else if (i < 18) /* the file size: a bigger one reads as a cut-off file */
      assert_true(strstr(err, "corrupted") || strstr(err, "truncated"));
    else if (strcmp(err, corrupted) != 0)
      fail_msg("flip at byte %zu: '%s'", i, err);
  }
  free(good);
}

static void test_every_truncation_is_caught(void **state) {
  (void)state;
  set_entries();
  fill(4);
  tt_ckpt_save(tpath("t.ckpt"), entries, 5);
  size_t n;
  unsigned char *good = slurp(tpath("t.ckpt"), &n);
  char msg[600];
  snprintf(msg, sizeof msg, "error: %s: checkpoint is truncated\n", tpath("u.ckpt"));
  for (size_t len = 0; len < n; len++) {
    spit(tpath("u.ckpt"), good, len);
    expect_load_error(tpath("u.ckpt"), entries, 5, msg);
  }
  free(good);
}

static void test_mismatches(void **state) {
  (void)state;
  set_entries();
  fill(5);
  const char *p = tpath("m.ckpt");
  tt_ckpt_save(p, entries, 5);
  char msg[800];
  /* a wrong shape names the key and both shapes */
  int64_t other[2] = {3, 2};
  TtCkptEntry e[5];
  memcpy(e, entries, sizeof e);
  e[0].shape = other;
  snprintf(msg, sizeof msg,
           "error: %s: size mismatch for \"fc.weight\": the checkpoint has shape [2, 3], the "
           "program expects [3, 2]\n",
           p);
  expect_load_error(p, e, 5, msg);
  /* a wrong rank */
  memcpy(e, entries, sizeof e);
  e[2].rank = 1;
  e[2].shape = b_shape;
  snprintf(msg, sizeof msg,
           "error: %s: size mismatch for \"opt.step\": the checkpoint has shape [], the program "
           "expects [2]\n",
           p);
  expect_load_error(p, e, 5, msg);
  /* a wrong dtype */
  memcpy(e, entries, sizeof e);
  e[3].dtype = TT_F32;
  snprintf(msg, sizeof msg,
           "error: %s: dtype mismatch for \"lr\": the checkpoint has float64, the program "
           "expects float32\n",
           p);
  expect_load_error(p, e, 5, msg);
  /* a missing key, and an extra one */
  memcpy(e, entries, sizeof e);
  e[1].key = "fc.bias2";
  snprintf(msg, sizeof msg, "error: %s: missing key \"fc.bias2\" in checkpoint\n", p);
  expect_load_error(p, e, 5, msg);
  snprintf(msg, sizeof msg, "error: %s: unexpected key \"mask\" in checkpoint\n", p);
  expect_load_error(p, entries, 4, msg);
  /* a missing file, a directory, a file from elsewhere */
  snprintf(msg, sizeof msg,
           "error: %s: cannot open checkpoint: No such file or directory\n", tpath("nope.ckpt"));
  expect_load_error(tpath("nope.ckpt"), entries, 5, msg);
  snprintf(msg, sizeof msg, "error: %s: cannot open checkpoint: Is a directory\n", tmpdir);
  expect_load_error(tmpdir, entries, 5, msg);
  spit(tpath("x.ckpt"), (const unsigned char *)"PK\3\4 hello", 10);
  snprintf(msg, sizeof msg, "error: %s: not a ttc checkpoint (bad magic)\n", tpath("x.ckpt"));
  expect_load_error(tpath("x.ckpt"), entries, 5, msg);
}

static void test_other_version(void **state) {
  (void)state;
  set_entries();
  fill(6);
  tt_ckpt_save(tpath("v.ckpt"), entries, 5);
  size_t n;
  unsigned char *b = slurp(tpath("v.ckpt"), &n);
  b[6] = 2; /* a future version is refused by number, whatever its checksum */
  spit(tpath("v.ckpt"), b, n);
  free(b);
  char msg[600];
  snprintf(msg, sizeof msg, "error: %s: checkpoint format version 2 is not supported\n",
           tpath("v.ckpt"));
  expect_load_error(tpath("v.ckpt"), entries, 5, msg);
}

/* The child may write at most 64 bytes to any file: the save fails half way. */
static void save_limited(void *arg) {
  (void)arg;
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {64, 64};
  setrlimit(RLIMIT_FSIZE, &rl);
  set_entries();
  fill(9);
  tt_ckpt_save(tpath("keep.ckpt"), entries, 5);
}

static void save_nodir(void *arg) {
  (void)arg;
  set_entries();
  tt_ckpt_save(tpath("no/such/dir/x.ckpt"), entries, 5);
}

static void test_failed_save_keeps_old_file(void **state) {
  (void)state;
  set_entries();
  fill(2);
  tt_ckpt_save(tpath("keep.ckpt"), entries, 5);
  char err[1024];
  assert_int_equal(run_child(save_limited, NULL, err, sizeof err), 1);
  char want[600];
  snprintf(want, sizeof want, "error: %s: cannot write checkpoint: File too large\n",
           tpath("keep.ckpt"));
  assert_string_equal(err, want);
  fill(0);
  tt_ckpt_load(tpath("keep.ckpt"), entries, 5); /* the old one, whole */
  assert_int_equal(step, 1000000000002ll);
  /* no temporary is left behind */
  DIR *d = opendir(tmpdir);
  struct dirent *e;
  while ((e = readdir(d)))
    assert_null(strstr(e->d_name, ".tmp"));
  closedir(d);
  assert_int_equal(run_child(save_nodir, NULL, err, sizeof err), 1);
  assert_non_null(strstr(err, "x.ckpt: cannot write checkpoint: No such file or directory"));
}

/* ---- hardening ------------------------------------------------------------------------- */

/* A load that would block (a FIFO with no writer) is killed by the alarm: exit 128 + 14. */
static void do_load_with_alarm(void *arg) {
  alarm(5);
  do_load(arg);
}

static void test_fifo_and_device_refused(void **state) {
  (void)state;
  set_entries();
  const char *p = tpath("fifo.ckpt");
  unlink(p);
  assert_int_equal(mkfifo(p, 0644), 0);
  char err[1024], want[600];
  LoadCase c = {p, entries, 5};
  int rc = run_child(do_load_with_alarm, &c, err, sizeof err);
  snprintf(want, sizeof want, "error: %s: cannot open checkpoint: Is a FIFO, not a regular file\n",
           p);
  if (rc != 1 || strcmp(err, want) != 0)
    fail_msg("FIFO: exit %d, stderr '%s'", rc, err);
  unlink(p);
  c.path = "/dev/null";
  rc = run_child(do_load_with_alarm, &c, err, sizeof err);
  if (rc != 1 || !strstr(err, "/dev/null: cannot open checkpoint: Is a character device, not a "
                              "regular file"))
    fail_msg("/dev/null: exit %d, stderr '%s'", rc, err);
}

/* A sparse 3 GiB file whose 22-byte header is wrong in one way each: the load must stop at
 * the header without reading or allocating the rest. Where the sanitizers do not reserve
 * address space of their own, RLIMIT_AS makes any big allocation fail outright; everywhere
 * the child's peak resident size is checked too. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void do_load_small_as(void *arg) {
#ifndef UNDER_ASAN
  struct rlimit rl = {1u << 30, 1u << 30}; /* 1 GiB of address space */
  setrlimit(RLIMIT_AS, &rl);
#endif
  do_load(arg);
}

static void put_le(unsigned char *b, uint64_t v, int k) {
  for (int i = 0; i < k; i++)
    b[i] = (unsigned char)(v >> (8 * i));
}

static void test_huge_file_header_checked_first(void **state) {
  (void)state;
  set_entries();
  const uint64_t huge = 3ull << 30;
  struct {
    uint32_t version;
    uint64_t claimed;
    const char *msg;
  } cases[] = {
      {0, huge, "checkpoint format version 0 is not supported"},
      {7, huge, "checkpoint format version 7 is not supported"},
      {1, 100, "checkpoint is corrupted (its header says 100 bytes, the file has 3221225472)"},
      {1, huge + 1, "checkpoint is truncated"},
  };
  for (size_t i = 0; i < NELEMS(cases); i++) {
    const char *p = tpath("huge.ckpt");
    unsigned char h[22] = "TTCKPT";
    put_le(h + 6, cases[i].version, 4);
    put_le(h + 10, cases[i].claimed, 8);
    put_le(h + 18, 1, 4);
    spit(p, h, sizeof h);
    assert_int_equal(truncate(p, (off_t)huge), 0); /* sparse: no disk used */
    char err[1024], want[600];
    LoadCase c = {p, entries, 5};
    int rc = run_child(do_load_small_as, &c, err, sizeof err);
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    snprintf(want, sizeof want, "error: %s: %s\n", p, cases[i].msg);
    if (rc != 1 || strcmp(err, want) != 0)
      fail_msg("case %zu: exit %d, stderr '%s', expected '%s'", i, rc, err, want);
    /* ru_maxrss (KiB) is the largest child so far: every one of them was small */
    if (ru.ru_maxrss > 512 * 1024)
      fail_msg("case %zu: a child used %ld KiB", i, ru.ru_maxrss);
    unlink(p);
  }
}

/* ---- temporaries of killed saves --------------------------------------------------------- */

/* The child's save is killed by SIGXFSZ half way (the default action): a real killed save. */
static void save_killed(void *arg) {
  (void)arg;
  signal(SIGXFSZ, SIG_DFL);
  struct rlimit rl = {64, 64};
  setrlimit(RLIMIT_FSIZE, &rl);
  set_entries();
  fill(9);
  tt_ckpt_save(tpath("kill/k.ckpt"), entries, 5);
}

static void exit_now(void *arg) {
  (void)arg;
  _exit(0);
}

/* The names in tpath("kill") that start with prefix. */
static int count_prefixed(const char *prefix) {
  DIR *d = opendir(tpath("kill"));
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
  closedir(d);
  return n;
}

static void plant(const char *name, time_t age, bool dir) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", tpath("kill"), name);
  if (dir)
    assert_int_equal(mkdir(p, 0755), 0);
  else
    spit(p, (const unsigned char *)"partial", 7);
  struct timeval tv[2] = {{time(NULL) - age, 0}, {time(NULL) - age, 0}};
  assert_int_equal(utimes(p, tv), 0);
}

static bool exists(const char *name) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", tpath("kill"), name);
  return access(p, F_OK) == 0;
}

static void test_killed_save_temporaries_cleaned(void **state) {
  (void)state;
  mkdir(tpath("kill"), 0755);
  char err[1024];
  int rc = run_child(save_killed, NULL, err, sizeof err);
  assert_int_equal(rc, 128 + SIGXFSZ);
  assert_int_equal(count_prefixed("k.ckpt.tmp"), 1); /* what the killed save left */
  /* make it look 10 minutes old, as after a restart */
  DIR *d = opendir(tpath("kill"));
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, "k.ckpt.tmp", 10) == 0)
      plant(e->d_name, 600, false);
  closedir(d);

  /* a process that is surely gone, and one that is surely alive */
  pid_t dead = fork();
  if (dead == 0)
    exit_now(NULL);
  assert_true(dead > 0);
  waitpid(dead, NULL, 0);
  char n1[64], n2[64], n3[64], n4[64], n5[64], n6[64], n7[64];
  snprintf(n1, sizeof n1, "k.ckpt.tmp.%d.aB3xYz", (int)dead);    /* gone, old: removed */
  snprintf(n2, sizeof n2, "k.ckpt.tmp.%d.Qw12Er", (int)dead);    /* gone, fresh: kept */
  snprintf(n3, sizeof n3, "k.ckpt.tmp.%d.Zx98Cv", (int)getpid()); /* alive, old: kept */
  snprintf(n4, sizeof n4, "k.ckpt.tmp.%d.Mn45Bv", (int)getpid()); /* alive, 2 days: removed */
  snprintf(n5, sizeof n5, "other.ckpt.tmp.%d.aB3xYz", (int)dead); /* another checkpoint's */
  snprintf(n6, sizeof n6, "k.ckpt.tmp.%d.aB3x", (int)dead);       /* not a ttc name */
  snprintf(n7, sizeof n7, "k.ckpt.tmp.%d.Dd00Dd", (int)dead);     /* a directory */
  plant(n1, 600, false);
  plant(n2, 0, false);
  plant(n3, 600, false);
  plant(n4, 2 * 86400, false);
  plant(n5, 600, false);
  plant(n6, 600, false);
  plant(n7, 600, true);

  set_entries();
  fill(3);
  tt_ckpt_save(tpath("kill/k.ckpt"), entries, 5);
  assert_false(exists(n1));
  assert_true(exists(n2));
  assert_true(exists(n3));
  assert_false(exists(n4));
  assert_true(exists(n5));
  assert_true(exists(n6));
  assert_true(exists(n7));
  /* the killed save's temporary is gone: what is left are n2, n3, n6 and n7 */
  assert_int_equal(count_prefixed("k.ckpt.tmp"), 4);
  fill(0);
  tt_ckpt_load(tpath("kill/k.ckpt"), entries, 5);
  assert_int_equal(step, 1000000000003ll);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ttc-ckpt-test-XXXXXX");
  return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_header_layout),
      cmocka_unit_test(test_every_byte_flip_is_caught),
      cmocka_unit_test(test_every_truncation_is_caught),
      cmocka_unit_test(test_mismatches),
      cmocka_unit_test(test_other_version),
      cmocka_unit_test(test_failed_save_keeps_old_file),
      cmocka_unit_test(test_fifo_and_device_refused),
      cmocka_unit_test(test_huge_file_header_checked_first),
      cmocka_unit_test(test_killed_save_temporaries_cleaned),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
