/*
 * test_runtime_data.c — DataLoaders over IDX (plain and gzip), CIFAR-10 binary batches
 * and tensors: values, batch sizes, drop_last, PyTorch's shuffle order and RNG use, the
 * decompression cache, and a clear fatal error for every kind of bad file.
 * Hardening: a FIFO or device is refused at once (never a hang); the cache is keyed by the
 * .gz file's content, so a replaced file is never served stale and a damaged cache copy is
 * rebuilt; a gzip bomb stops at the size the IDX header (or gzip's ISIZE) claims.
 *
 * The files are small ones written here in the real formats, in a fresh temporary
 * directory. One test reads Debian's Fashion-MNIST when it is installed (skipped if not).
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "runtime/tt.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define PIX 784

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

static void put_be32(unsigned char *b, uint32_t v) {
  b[0] = (unsigned char)(v >> 24);
  b[1] = (unsigned char)(v >> 16);
  b[2] = (unsigned char)(v >> 8);
  b[3] = (unsigned char)v;
}

static void write_file(const char *path, const void *data, size_t n, bool gz) {
  if (gz) {
    gzFile g = gzopen(path, "wb");
    assert_non_null(g);
    assert_int_equal(gzwrite(g, data, (unsigned)n), (int)n);
    assert_int_equal(gzclose(g), Z_OK);
  } else {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
  }
}

static unsigned char pixel(int64_t i, int64_t j) { return (unsigned char)((i * 7 + j * 3) % 256); }

/* A MNIST-style pair in dir: n images (rows x cols) and nl labels (label i = i % 10). */
static void make_idx(const char *dir, const char *prefix, int n, int nl, int rows, int cols,
                     bool gz) {
  char path[1100];
  size_t isz = 16 + (size_t)n * rows * cols;
  unsigned char *img = malloc(isz);
  put_be32(img, 0x00000803);
  put_be32(img + 4, (uint32_t)n);
  put_be32(img + 8, (uint32_t)rows);
  put_be32(img + 12, (uint32_t)cols);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < rows * cols; j++)
      img[16 + (size_t)i * rows * cols + j] = pixel(i, j);
  snprintf(path, sizeof path, "%.900s/%.64s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
  write_file(path, img, isz, gz);
  free(img);
  unsigned char *lab = malloc(8 + (size_t)nl);
  put_be32(lab, 0x00000801);
  put_be32(lab + 4, (uint32_t)nl);
  for (int i = 0; i < nl; i++)
    lab[8 + i] = (unsigned char)(i % 10);
  snprintf(path, sizeof path, "%.900s/%.64s-labels-idx1-ubyte%s", dir, prefix, gz ? ".gz" : "");
  write_file(path, lab, 8 + (size_t)nl, gz);
  free(lab);
}

static char *subdir(const char *name) {
  static char path[1100];
  snprintf(path, sizeof path, "%s/%s", tmpdir, name);
  mkdir(path, 0755);
  return path;
}

static int count_files(const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.')
      n++;
  closedir(d);
  return n;
}

/* Reads one epoch and checks every row against pixel() and label i % 10. */
static void check_epoch(TtLoader *ld, int n, int batch, bool drop_last) {
  float *x = malloc(sizeof(float) * PIX * (size_t)batch);
  int64_t *y = malloc(sizeof(int64_t) * (size_t)batch);
  int64_t m, seen = 0, batches = 0;
  tt_loader_start(ld);
  while (tt_loader_next(ld, x, y, &m)) {
    assert_true(m == batch || (!drop_last && m == n % batch));
    for (int64_t b = 0; b < m; b++) {
      int64_t i = seen + b;
      assert_int_equal(y[b], i % 10);
      for (int j = 0; j < PIX; j += 97)
        assert_true(x[b * PIX + j] == (float)pixel(i, j) / 255.0f);
    }
    seen += m;
    batches++;
  }
  assert_int_equal(batches, tt_loader_len(ld));
  assert_int_equal(seen, drop_last ? n / batch * batch : n);
  free(x);
  free(y);
}

static void test_idx_plain(void **state) {
  (void)state;
  char *dir = subdir("plain");
  make_idx(dir, "train", 10, 10, 28, 28, false);
  TtLoader *ld = tt_loader_idx(dir, "train", 4, false, false);
  assert_int_equal(tt_loader_len(ld), 3);
  assert_int_equal(tt_loader_dataset_len(ld), 10);
  check_epoch(ld, 10, 4, false);
  check_epoch(ld, 10, 4, false); /* a second epoch reads the same */
  tt_loader_free(ld);
  ld = tt_loader_idx(dir, "train", 4, false, true);
  assert_int_equal(tt_loader_len(ld), 2);
  check_epoch(ld, 10, 4, true);
  tt_loader_free(ld);
  ld = tt_loader_idx(dir, "train", 64, false, true); /* drop_last of a single short batch */
  assert_int_equal(tt_loader_len(ld), 0);
  tt_loader_free(ld);
}

static void test_idx_gzip_and_cache(void **state) {
  (void)state;
  char *dir = subdir("gz");
  char cache[512];
  snprintf(cache, sizeof cache, "%s/cache/nested", tmpdir);
  setenv("TTC_DATA_CACHE", cache, 1);
  make_idx(dir, "t10k", 23, 23, 28, 28, true);
  TtLoader *ld = tt_loader_idx(dir, "t10k", 5, false, false);
  assert_int_equal(tt_loader_len(ld), 5);
  check_epoch(ld, 23, 5, false);
  tt_loader_free(ld);
  /* the images and the labels were each decompressed once into the cache */
  assert_int_equal(count_files(cache), 2);
  ld = tt_loader_idx(dir, "t10k", 5, false, false);
  check_epoch(ld, 23, 5, false);
  tt_loader_free(ld);
  assert_int_equal(count_files(cache), 2); /* and reused */
  /* no usable cache directory: an unlinked temporary file does */
  setenv("TTC_DATA_CACHE", "/proc/no/such/dir", 1);
  ld = tt_loader_idx(dir, "t10k", 5, false, false);
  check_epoch(ld, 23, 5, false);
  tt_loader_free(ld);
  setenv("TTC_DATA_CACHE", cache, 1);
}

/* PyTorch: torch.manual_seed(0); DataLoader(TensorDataset(torch.arange(10)), batch_size=4,
 * shuffle=True): epochs [6,7,1,4,2,0,9,8,3,5] and [2,4,7,0,8,9,5,3,6,1], and torch.rand(2)
 * after them is [0.455627977848053, 0.6323062777519226]; with shuffle=False the epochs
 * still draw a seed each and torch.rand(2) is [0.30742281675338745, 0.6340786814689636]. */
static void test_shuffle_matches_pytorch(void **state) {
  (void)state;
  const int64_t want[2][10] = {{6, 7, 1, 4, 2, 0, 9, 8, 3, 5}, {2, 4, 7, 0, 8, 9, 5, 3, 6, 1}};
  int64_t data[10], ydata[10];
  for (int i = 0; i < 10; i++) {
    data[i] = i;
    ydata[i] = 100 + i;
  }
  for (int shuffle = 1; shuffle >= 0; shuffle--) {
    tt_manual_seed(0);
    TtLoader *ld = tt_loader_tensors(data, sizeof(int64_t), ydata, sizeof(int64_t), 10, 4,
                                     shuffle, false);
    for (int ep = 0; ep < 2; ep++) {
      int64_t got[12], gy[12], m, k = 0;
      tt_loader_start(ld);
      while (tt_loader_next(ld, got + k, gy + k, &m))
        k += m;
      assert_int_equal(k, 10);
      for (int i = 0; i < 10; i++) {
        assert_int_equal(got[i], shuffle ? want[ep][i] : i);
        assert_int_equal(gy[i], 100 + got[i]);
      }
    }
    float u[2];
    tt_uniform_f32(u, 2, 0, 1);
    if (shuffle)
      assert_true(u[0] == 0.455627977848053f && u[1] == 0.6323062777519226f);
    else
      assert_true(u[0] == 0.30742281675338745f && u[1] == 0.6340786814689636f);
    tt_loader_free(ld);
  }
}

static void test_cifar10(void **state) {
  (void)state;
  char *dir = subdir("cifar");
  unsigned char rec[3 * 3073];
  for (int k = 1; k <= 5; k++) {
    for (int r = 0; r < 3; r++) {
      rec[r * 3073] = (unsigned char)((k * 3 + r) % 10);
      for (int j = 0; j < 3072; j++)
        rec[r * 3073 + 1 + j] = (unsigned char)(k * 31 + r * 5 + j);
    }
    char path[1100];
    assert_true(snprintf(path, sizeof path, "%s/data_batch_%d.bin", dir, k) < (int)sizeof path);
    write_file(path, rec, sizeof rec, false);
    if (k == 1) {
      assert_true(snprintf(path, sizeof path, "%s/test_batch.bin", dir) < (int)sizeof path);
      write_file(path, rec, 2 * 3073, false);
    }
  }
  TtLoader *ld = tt_loader_cifar10(dir, true, 4, false, false);
  assert_int_equal(tt_loader_dataset_len(ld), 15);
  assert_int_equal(tt_loader_len(ld), 4);
  float *x = malloc(sizeof(float) * 3072 * 4);
  int64_t y[4], m, seen = 0;
  tt_loader_start(ld);
  while (tt_loader_next(ld, x, y, &m)) {
    for (int64_t b = 0; b < m; b++) {
      int64_t i = seen + b, k = i / 3 + 1, r = i % 3;
      assert_int_equal(y[b], (k * 3 + r) % 10);
      assert_true(x[b * 3072] == (float)(unsigned char)(k * 31 + r * 5) / 255.0f);
      assert_true(x[b * 3072 + 3071] == (float)(unsigned char)(k * 31 + r * 5 + 3071) / 255.0f);
    }
    seen += m;
  }
  assert_int_equal(seen, 15);
  tt_loader_free(ld);
  ld = tt_loader_cifar10(dir, false, 4, true, false);
  assert_int_equal(tt_loader_dataset_len(ld), 2);
  tt_loader_free(ld);
  free(x);
}

/* ---- bad files ------------------------------------------------------------------------- */

typedef struct Bad {
  const char *name;
  void (*make)(const char *dir);
  const char *expect; /* a part of the message */
} Bad;

static void mk_missing(const char *dir) { (void)dir; }
static void mk_bad_magic(const char *dir) {
  make_idx(dir, "train", 3, 3, 28, 28, false);
  char path[1100];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
  FILE *f = fopen(path, "r+b");
  fputc(0x42, f);
  fclose(f);
}
static void mk_bad_dims(const char *dir) { make_idx(dir, "train", 3, 3, 32, 32, false); }
static void mk_mismatch(const char *dir) { make_idx(dir, "train", 3, 4, 28, 28, true); }
static void mk_truncated(const char *dir) {
  make_idx(dir, "train", 3, 3, 28, 28, false);
  char path[1100];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
  assert_int_equal(truncate(path, 16 + 2 * 784 + 5), 0);
}
static void mk_truncated_labels(const char *dir) {
  make_idx(dir, "train", 3, 3, 28, 28, false);
  char path[1100];
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
  assert_int_equal(truncate(path, 9), 0);
}
static void mk_truncated_gz(const char *dir) {
  make_idx(dir, "train", 40, 40, 28, 28, true);
  char path[1100];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  struct stat st;
  stat(path, &st);
  assert_int_equal(truncate(path, st.st_size / 2), 0);
}
static void mk_corrupt_gz(const char *dir) {
  make_idx(dir, "train", 40, 40, 28, 28, true);
  char path[1100];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  FILE *f = fopen(path, "r+b");
  fseek(f, 40, SEEK_SET);
  for (int i = 0; i < 16; i++)
    fputc(0xff, f);
  fclose(f);
}
static void mk_not_gzip(const char *dir) { /* an uncompressed file named .gz */
  make_idx(dir, "train", 3, 3, 28, 28, false);
  char from[1100], to[1100];
  snprintf(from, sizeof from, "%s/train-images-idx3-ubyte", dir);
  snprintf(to, sizeof to, "%s/train-images-idx3-ubyte.gz", dir);
  assert_int_equal(rename(from, to), 0);
}
static void mk_bad_dims_gz(const char *dir) { make_idx(dir, "train", 3, 3, 32, 32, true); }
static void mk_bad_label(const char *dir) {
  make_idx(dir, "train", 3, 3, 28, 28, false);
  char path[1100];
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
  FILE *f = fopen(path, "r+b");
  fseek(f, 9, SEEK_SET);
  fputc(12, f);
  fclose(f);
}

static int bad_counter;

static void open_bad(void *arg) {
  const Bad *b = arg;
  char dir[512];
  snprintf(dir, sizeof dir, "%s/bad%d", tmpdir, bad_counter);
  mkdir(dir, 0755);
  b->make(dir);
  tt_loader_free(tt_loader_idx(dir, "train", 2, false, false));
}

static void test_bad_idx_files(void **state) {
  (void)state;
  const Bad bads[] = {
      {"missing", mk_missing, "train-labels-idx1-ubyte: cannot open dataset file: No such file"},
      {"magic", mk_bad_magic, "train-images-idx3-ubyte: not an IDX image file (magic 0x42000803"},
      {"dims", mk_bad_dims, "images are 32x32, expected 28x28"},
      {"count", mk_mismatch, "has 3 images but"},
      {"truncated", mk_truncated, "train-images-idx3-ubyte: file is truncated"},
      {"truncated labels", mk_truncated_labels, "train-labels-idx1-ubyte: file is truncated"},
      {"truncated gzip", mk_truncated_gz, "train-images-idx3-ubyte.gz: gzip data is"},
      {"corrupt gzip", mk_corrupt_gz, "train-images-idx3-ubyte.gz: gzip data is"},
      {"label", mk_bad_label, "label 12 of sample 1 is out of range"},
      {"not gzip", mk_not_gzip, "train-images-idx3-ubyte.gz: not in gzip format"},
      {"dims gzip", mk_bad_dims_gz, "train-images-idx3-ubyte.gz: images are 32x32, expected 28x28"},
  };
  for (size_t i = 0; i < NELEMS(bads); i++) {
    char err[1024];
    bad_counter = (int)i;
    int rc = run_child(open_bad, (void *)&bads[i], err, sizeof err);
    if (rc != 1 || !strstr(err, bads[i].expect) || strncmp(err, "error: ", 7) != 0)
      fail_msg("%s: exit %d, stderr '%s', expected '%s'", bads[i].name, rc, err,
               bads[i].expect);
  }
}

static void bad_cifar(void *arg) {
  (void)arg;
  char *dir = subdir("badcifar");
  char path[1100];
  unsigned char rec[3073 + 100] = {0};
  if (snprintf(path, sizeof path, "%s/test_batch.bin", dir) >= (int)sizeof path)
    exit(2);
  write_file(path, rec, sizeof rec, false);
  tt_loader_cifar10(dir, false, 2, false, false);
}

static void bad_batch(void *arg) {
  (void)arg;
  int64_t x[2] = {0};
  tt_loader_tensors(x, 8, NULL, 0, 2, 0, false, false);
}

static void test_bad_cifar_and_batch(void **state) {
  (void)state;
  char err[1024];
  assert_int_equal(run_child(bad_cifar, NULL, err, sizeof err), 1);
  assert_non_null(strstr(err, "test_batch.bin: file is truncated or not a CIFAR-10 batch"));
  assert_int_equal(run_child(bad_batch, NULL, err, sizeof err), 1);
  assert_non_null(strstr(err, "batch_size should be a positive integer"));
}

/* ---- hardening ------------------------------------------------------------------------- */

typedef struct Open {
  const char *dir;
  bool cifar;
} Open;

/* Opens the dataset in dir with a 5 s alarm: a blocked open dies of SIGALRM (exit 142). */
static void open_with_alarm(void *arg) {
  const Open *o = arg;
  alarm(5);
  if (o->cifar)
    tt_loader_free(tt_loader_cifar10(o->dir, false, 2, false, false));
  else
    tt_loader_free(tt_loader_idx(o->dir, "train", 2, false, false));
}

static void expect_open_error(const char *dir, bool cifar, const char *expect) {
  char err[1024];
  Open o = {dir, cifar};
  int rc = run_child(open_with_alarm, &o, err, sizeof err);
  if (rc != 1 || !strstr(err, expect) || strncmp(err, "error: ", 7) != 0)
    fail_msg("%s: exit %d, stderr '%s', expected '%s'", dir, rc, err, expect);
}

static void test_fifo_and_device_refused(void **state) {
  (void)state;
  char path[1200];
  char *dir = subdir("fifo-labels");
  make_idx(dir, "train", 3, 3, 28, 28, false);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
  unlink(path);
  assert_int_equal(mkfifo(path, 0644), 0);
  expect_open_error(dir, false, "train-labels-idx1-ubyte: cannot open dataset file: Is a FIFO, "
                                "not a regular file");

  dir = subdir("fifo-gz"); /* the images only as .gz, and that a FIFO */
  make_idx(dir, "train", 3, 3, 28, 28, false);
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
  unlink(path);
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  assert_int_equal(mkfifo(path, 0644), 0);
  expect_open_error(dir, false, "train-images-idx3-ubyte.gz: cannot open dataset file: Is a FIFO, "
                                "not a regular file");

  dir = subdir("fifo-cifar");
  snprintf(path, sizeof path, "%s/test_batch.bin", dir);
  assert_int_equal(mkfifo(path, 0644), 0);
  expect_open_error(dir, true,
                    "test_batch.bin: cannot open dataset file: Is a FIFO, not a regular file");

  dir = subdir("device");
  make_idx(dir, "train", 3, 3, 28, 28, false);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
  unlink(path);
  assert_int_equal(symlink("/dev/null", path), 0);
  expect_open_error(dir, false, "train-labels-idx1-ubyte: cannot open dataset file: Is a character "
                                "device, not a regular file");

  dir = subdir("directory");
  make_idx(dir, "train", 3, 3, 28, 28, false);
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
  unlink(path);
  assert_int_equal(mkdir(path, 0755), 0);
  expect_open_error(dir, false,
                    "train-images-idx3-ubyte: cannot open dataset file: Is a directory");
}

/* One epoch without cmocka (for children): every row against pixel() and label
 * (i + shift) % 10; false at the first difference. */
static bool epoch_ok(TtLoader *ld, int n, int shift) {
  float x[PIX];
  int64_t y, m, i = 0;
  tt_loader_start(ld);
  while (tt_loader_next(ld, x, &y, &m)) {
    if (y != (i + shift) % 10)
      return false;
    for (int j = 0; j < PIX; j++)
      if (x[j] != (float)pixel(i, j) / 255.0f)
        return false;
    i++;
  }
  return i == n;
}

typedef struct Check {
  const char *dir;
  int n, shift;
} Check;

/* Exit 0 when the dataset in dir reads right, 3 when it reads wrong (1 on a fatal error). */
static void load_and_check(void *arg) {
  const Check *c = arg;
  TtLoader *ld = tt_loader_idx(c->dir, "train", 1, false, false);
  bool ok = epoch_ok(ld, c->n, c->shift);
  tt_loader_free(ld);
  exit(ok ? 0 : 3);
}

static void expect_reads_right(const char *dir, int n, int shift, const char *what) {
  char err[1024];
  Check c = {dir, n, shift};
  int rc = run_child(load_and_check, &c, err, sizeof err);
  if (rc != 0)
    fail_msg("%s: exit %d (3: wrong data), stderr '%s'", what, rc, err);
}

/* Labels (i + shift) % 10, gzip level 0 (stored): the .gz's size depends only on n. */
static void write_stored_labels(const char *dir, int n, int shift) {
  unsigned char lab[8 + 64];
  put_be32(lab, 0x00000801);
  put_be32(lab + 4, (uint32_t)n);
  for (int i = 0; i < n; i++)
    lab[8 + i] = (unsigned char)((i + shift) % 10);
  char path[1200];
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  gzFile g = gzopen(path, "wb0");
  assert_non_null(g);
  assert_int_equal(gzwrite(g, lab, 8u + (unsigned)n), 8 + n);
  assert_int_equal(gzclose(g), Z_OK);
}

static void test_gz_cache_keyed_by_content(void **state) {
  (void)state;
  char *dir = subdir("stale");
  char path[1200];
  make_idx(dir, "train", 12, 12, 28, 28, true);
  write_stored_labels(dir, 12, 0);
  expect_reads_right(dir, 12, 0, "first load");
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  struct stat before, after;
  assert_int_equal(stat(path, &before), 0);
  /* replaced by a file of the same size whose mtime has the same seconds */
  write_stored_labels(dir, 12, 3);
  struct timespec ts[2] = {before.st_atim, before.st_mtim};
  ts[1].tv_nsec = (ts[1].tv_nsec + 1) % 1000000000;
  assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
  assert_int_equal(stat(path, &after), 0);
  assert_int_equal(after.st_size, before.st_size);
  assert_int_equal(after.st_mtime, before.st_mtime);
  expect_reads_right(dir, 12, 3, "replaced labels");
}

/* A cache directory that others may write to is not used: what is in it could be planted. */
static void test_gz_shared_cache_not_used(void **state) {
  (void)state;
  char *dir = subdir("shared");
  char cache[600];
  snprintf(cache, sizeof cache, "%s/cache-shared", tmpdir);
  assert_int_equal(mkdir(cache, 0777), 0);
  assert_int_equal(chmod(cache, 0777), 0); /* whatever the umask */
  setenv("TTC_DATA_CACHE", cache, 1);
  make_idx(dir, "train", 5, 5, 28, 28, true);
  expect_reads_right(dir, 5, 0, "shared cache");
  assert_int_equal(count_files(cache), 0);
  assert_int_equal(chmod(cache, 0755), 0); /* private again: used */
  expect_reads_right(dir, 5, 0, "private cache");
  assert_int_equal(count_files(cache), 2);
  char cache0[512];
  snprintf(cache0, sizeof cache0, "%s/cache/nested", tmpdir);
  setenv("TTC_DATA_CACHE", cache0, 1);
}

/* The cache files of dir's dataset: every regular file in the cache directory. */
static int cache_files(const char *cache, char names[][1200], off_t *sizes, int max) {
  DIR *d = opendir(cache);
  assert_non_null(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    if (e->d_name[0] == '.')
      continue;
    snprintf(names[n], 1200, "%s/%s", cache, e->d_name);
    struct stat st;
    assert_int_equal(stat(names[n], &st), 0);
    sizes[n++] = st.st_size;
  }
  closedir(d);
  return n;
}

static void test_gz_cache_damaged_copy_rebuilt(void **state) {
  (void)state;
  char *dir = subdir("damaged");
  char cache[600];
  snprintf(cache, sizeof cache, "%s/cache-damaged", tmpdir);
  setenv("TTC_DATA_CACHE", cache, 1);
  make_idx(dir, "train", 9, 9, 28, 28, true);
  expect_reads_right(dir, 9, 0, "first load");
  char names[4][1200];
  off_t sizes[4], now[4];
  int n = cache_files(cache, names, sizes, 4);
  assert_int_equal(n, 2);
  /* cut both copies short: the next load rebuilds them from the intact .gz files */
  for (int i = 0; i < n; i++)
    assert_int_equal(truncate(names[i], sizes[i] / 2), 0);
  expect_reads_right(dir, 9, 0, "truncated cache copies");
  assert_int_equal(cache_files(cache, names, now, 4), 2);
  for (int i = 0; i < n; i++)
    assert_int_equal(now[i], sizes[i]);
  /* a flipped byte in the middle of each copy: caught by its checksum, rebuilt */
  for (int i = 0; i < n; i++) {
    FILE *f = fopen(names[i], "r+b");
    assert_non_null(f);
    fseek(f, (long)(sizes[i] / 2), SEEK_SET);
    int c = fgetc(f);
    fseek(f, (long)(sizes[i] / 2), SEEK_SET);
    fputc(c ^ 0x40, f);
    fclose(f);
  }
  expect_reads_right(dir, 9, 0, "flipped cache copies");
  char cache0[512];
  snprintf(cache0, sizeof cache0, "%s/cache/nested", tmpdir);
  setenv("TTC_DATA_CACHE", cache0, 1);
}

/* A .gz of zlen zero bytes after the given header, in one gzip member (level 9: a few KiB
 * for many MiB). */
static void write_bomb(const char *path, const unsigned char *head, size_t hlen, size_t zlen,
                       const char *mode) {
  gzFile g = gzopen(path, mode);
  assert_non_null(g);
  if (hlen)
    assert_int_equal(gzwrite(g, head, (unsigned)hlen), (int)hlen);
  static unsigned char zeros[1 << 16];
  for (size_t done = 0; done < zlen; done += sizeof zeros)
    assert_int_equal(gzwrite(g, zeros, sizeof zeros), (int)sizeof zeros);
  assert_int_equal(gzclose(g), Z_OK);
}

/* The child may write at most 4 MiB to any file: an unbounded decompression fails with
 * "File too large" instead of the error the test expects. */
static void open_limited(void *arg) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {4 << 20, 4 << 20};
  setrlimit(RLIMIT_FSIZE, &rl);
  open_with_alarm(arg);
}

static void expect_limited_error(const char *dir, bool cifar, const char *expect) {
  char err[1024];
  Open o = {dir, cifar};
  int rc = run_child(open_limited, &o, err, sizeof err);
  if (rc != 1 || !strstr(err, expect) || strncmp(err, "error: ", 7) != 0)
    fail_msg("%s: exit %d, stderr '%s', expected '%s'", dir, rc, err, expect);
}

static void test_gzip_bomb_stops_at_expected_size(void **state) {
  (void)state;
  char cache[600], path[1200];
  snprintf(cache, sizeof cache, "%s/cache-bomb", tmpdir);
  setenv("TTC_DATA_CACHE", cache, 1);
  /* images: the header claims 2 images (1584 bytes), the stream holds 32 MiB more */
  char *dir = subdir("bomb-images");
  make_idx(dir, "train", 2, 2, 28, 28, true);
  unsigned char h[16 + 2 * PIX] = {0};
  put_be32(h, 0x00000803);
  put_be32(h + 4, 2);
  put_be32(h + 8, 28);
  put_be32(h + 12, 28);
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte.gz", dir);
  write_bomb(path, h, sizeof h, 32u << 20, "wb9");
  expect_limited_error(dir, false, "train-images-idx3-ubyte.gz: gzip data inflates to more than "
                                   "the 1584 bytes its IDX header claims");
  /* the labels were cached; the bomb left nothing behind, not even a temporary */
  assert_int_equal(count_files(cache), 1);
  /* labels: 3 claimed, 32 MiB in the stream */
  dir = subdir("bomb-labels");
  make_idx(dir, "train", 3, 3, 28, 28, true);
  unsigned char l[8 + 3] = {0};
  put_be32(l, 0x00000801);
  put_be32(l + 4, 3);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte.gz", dir);
  write_bomb(path, l, sizeof l, 32u << 20, "wb9");
  expect_limited_error(dir, false, "train-labels-idx1-ubyte.gz: gzip data inflates to more than "
                                   "the 11 bytes its IDX header claims");
  /* without a cache directory (an unlinked temporary file) the bound is the same */
  setenv("TTC_DATA_CACHE", "/proc/no/such/dir", 1);
  expect_limited_error(dir, false, "train-labels-idx1-ubyte.gz: gzip data inflates to more than "
                                   "the 11 bytes its IDX header claims");
  setenv("TTC_DATA_CACHE", cache, 1);
  /* CIFAR has no header: gzip's ISIZE trailer (the last member's size) is the claim. Two
   * members, 8 MiB of zeros then one record: ISIZE says 3073. */
  dir = subdir("bomb-cifar");
  snprintf(path, sizeof path, "%s/test_batch.bin.gz", dir);
  write_bomb(path, NULL, 0, 8u << 20, "wb9");
  unsigned char rec[3073] = {3};
  write_bomb(path, rec, sizeof rec, 0, "ab9");
  expect_limited_error(dir, true, "test_batch.bin.gz: gzip data inflates to more than the 3073 "
                                  "bytes its gzip trailer claims");
  /* and a good CIFAR .gz loads */
  dir = subdir("cifar-gz");
  snprintf(path, sizeof path, "%s/test_batch.bin.gz", dir);
  unsigned char two[2 * 3073] = {4};
  two[3073] = 7;
  write_file(path, two, sizeof two, true);
  TtLoader *ld = tt_loader_cifar10(dir, false, 2, false, false);
  assert_int_equal(tt_loader_dataset_len(ld), 2);
  float *x = malloc(sizeof(float) * 3072 * 2);
  int64_t y[2], m;
  assert_true(tt_loader_next(ld, x, y, &m));
  assert_int_equal(y[0], 4);
  assert_int_equal(y[1], 7);
  free(x);
  tt_loader_free(ld);
  char cache0[512];
  snprintf(cache0, sizeof cache0, "%s/cache/nested", tmpdir);
  setenv("TTC_DATA_CACHE", cache0, 1);
}

/* Debian's dataset-fashion-mnist, when installed: torchvision's FashionMNIST(train=True)
 * starts with labels 9, 0, 0, 3, 0 and has 938 batches of 64. */
static void test_fashion_mnist_if_installed(void **state) {
  (void)state;
  const char *root = "/usr/share/datasets/fashion-mnist";
  if (access(root, R_OK) != 0)
    skip();
  TtLoader *ld = tt_loader_idx(root, "train", 64, false, false);
  assert_int_equal(tt_loader_len(ld), 938);
  assert_int_equal(tt_loader_dataset_len(ld), 60000);
  float *x = malloc(sizeof(float) * PIX * 64);
  int64_t y[64], m;
  assert_true(tt_loader_next(ld, x, y, &m));
  assert_int_equal(m, 64);
  const int64_t want[5] = {9, 0, 0, 3, 0};
  assert_memory_equal(y, want, sizeof want);
  tt_loader_free(ld);
  free(x);
}

static int setup(void **state) {
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ttc-data-test-XXXXXX");
  if (!mkdtemp(tmpdir))
    return -1;
  char cache[512];
  snprintf(cache, sizeof cache, "%s/cache/nested", tmpdir);
  setenv("TTC_DATA_CACHE", cache, 1);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idx_plain),
      cmocka_unit_test(test_idx_gzip_and_cache),
      cmocka_unit_test(test_shuffle_matches_pytorch),
      cmocka_unit_test(test_cifar10),
      cmocka_unit_test(test_bad_idx_files),
      cmocka_unit_test(test_bad_cifar_and_batch),
      cmocka_unit_test(test_fifo_and_device_refused),
      cmocka_unit_test(test_gz_cache_keyed_by_content),
      cmocka_unit_test(test_gz_shared_cache_not_used),
      cmocka_unit_test(test_gz_cache_damaged_copy_rebuilt),
      cmocka_unit_test(test_gzip_bomb_stops_at_expected_size),
      cmocka_unit_test(test_fashion_mnist_if_installed),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
