/*
 * test_runtime_ckpt.c — checkpoints: the round trip, and a clear fatal error for every
 * kind of damage (each byte flipped, each truncation of a small file, a wrong version,
 * key, dtype or shape, a missing file), and a failed save that leaves the old file intact.
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
#include <sys/wait.h>
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
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
