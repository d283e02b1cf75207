/*
 * data.c — datasets and DataLoaders: MNIST-style IDX files, CIFAR-10 binary batches, and
 * in-memory tensors.
 *
 * Memory stays bounded whatever the dataset's size: the labels (one byte a sample) and the
 * epoch's permutation are held whole, but images are read with pread() a batch at a time.
 * A gzip file is decompressed once into a cache file (written atomically, named after the
 * source's path, size and mtime) so that rows can be read at any offset; plain files are
 * read in place. Every check happens when the loader is opened, so a bad file stops the
 * program before training starts, with a message naming the file.
 *
 * The shuffle is PyTorch's, draw for draw: per epoch one random64 for the iterator's base
 * seed, one for RandomSampler's seed, then torch.randperm from a generator seeded with it
 * (rng.c has the details), so a .tt program sees its batches in the order PyTorch would.
 */
#include "tt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_FILES 5      /* CIFAR-10's five training batches */
#define NUM_CLASSES 10   /* MNIST, Fashion-MNIST and CIFAR-10 labels are 0..9 */
#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)

typedef enum { LD_FILES, LD_TENSORS } LoaderKind;

/* One file of image rows: row i of this file is at off + i * stride. */
typedef struct RowFile {
  int fd;
  int64_t count, off, stride;
  char *path; /* for messages */
} RowFile;

struct TtLoader {
  LoaderKind kind;
  int64_t n, batch;
  bool shuffle, drop_last;
  /* LD_FILES: rows of xrow bytes in files, labels[n] held whole */
  RowFile files[MAX_FILES];
  int nfiles;
  size_t xrow;
  uint8_t *labels, *raw; /* raw: one batch of rows as bytes */
  /* LD_TENSORS */
  const unsigned char *tx, *ty;
  size_t txrow, tyrow;
  /* the epoch */
  int64_t *order; /* NULL: in order */
  int64_t pos;
  bool started;
};

static void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    tt_fatal("out of memory (allocating %zu bytes for a data loader)", n);
  return p;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(n), s, n);
}

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

/* pread exactly n bytes at off; false on a short file. Fatal on an I/O error. */
static bool pread_full(int fd, void *buf, size_t n, int64_t off, const char *path) {
  unsigned char *p = buf;
  while (n > 0) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      tt_fatal("%s: read error: %s", path, strerror(errno));
    }
    if (r == 0)
      return false;
    p += r;
    n -= (size_t)r;
    off += r;
  }
  return true;
}

/* ---- the decompression cache ---------------------------------------------------------- */

static bool mkdir_p(char *dir) {
  for (char *s = dir + 1; *s; s++) {
    if (*s != '/')
      continue;
    *s = '\0';
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
      *s = '/';
      return false;
    }
    *s = '/';
  }
  return mkdir(dir, 0755) == 0 || errno == EEXIST;
}

/* $TTC_DATA_CACHE, else $XDG_CACHE_HOME/ttc/data, else $HOME/.cache/ttc/data. */
static bool cache_dir(char *out, size_t n) {
  const char *v;
  int k;
  if ((v = getenv("TTC_DATA_CACHE")) && *v)
    k = snprintf(out, n, "%s", v);
  else if ((v = getenv("XDG_CACHE_HOME")) && *v)
    k = snprintf(out, n, "%s/ttc/data", v);
  else if ((v = getenv("HOME")) && *v)
    k = snprintf(out, n, "%s/.cache/ttc/data", v);
  else
    return false;
  return k > 0 && (size_t)k < n && mkdir_p(out);
}

/* Decompresses path (gzip) into fd, which is at offset 0. Fatal on a damaged stream. */
static void gunzip_into(const char *path, int fd, const char *dest) {
  gzFile gz = gzopen(path, "rb");
  if (!gz)
    tt_fatal("%s: cannot open: %s", path, strerror(errno ? errno : ENOMEM));
  static unsigned char buf[1 << 16];
  for (;;) {
    int r = gzread(gz, buf, sizeof buf);
    if (r < 0) {
      int code;
      const char *msg = gzerror(gz, &code);
      tt_fatal("%s: gzip data is corrupt: %s", path, msg);
    }
    if (r == 0)
      break;
    for (unsigned char *p = buf; r > 0;) {
      ssize_t w = write(fd, p, (size_t)r);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        tt_fatal("%s: cannot write the decompressed copy of %s: %s", dest, path,
                 strerror(errno));
      p += w;
      r -= (int)w;
    }
  }
  /* zlib reports a stream cut short only as an error state after the last read */
  int code;
  const char *msg = gzerror(gz, &code);
  if (code != Z_OK && code != Z_STREAM_END)
    tt_fatal("%s: gzip data is truncated or corrupt: %s", path, msg);
  if (gzclose(gz) != Z_OK)
    tt_fatal("%s: gzip data is truncated or corrupt", path);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 0x100000001b3ull;
  }
  return h;
}

/*
 * A descriptor for the uncompressed bytes of a .gz file: the cache file when there is
 * one, else a fresh decompression into it (a temporary in the cache directory renamed
 * into place, so that concurrent or interrupted runs never see half a file). Without a
 * usable cache directory the data goes to an unlinked temporary file instead.
 */
static int open_gz_cached(const char *path, const struct stat *st) {
  char dir[4096], name[4600], tmp[4700];
  char key[8200], cwd[4096];
  if (path[0] != '/' && getcwd(cwd, sizeof cwd))
    snprintf(key, sizeof key, "%s/%s", cwd, path); /* the same file from any directory */
  else
    snprintf(key, sizeof key, "%s", path);
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  size_t blen = strlen(base);
  if (blen > 3 && strcmp(base + blen - 3, ".gz") == 0)
    blen -= 3;
  if (blen > 200)
    blen = 200;
  if (cache_dir(dir, sizeof dir)) {
    snprintf(name, sizeof name, "%s/%.*s-%016llx-%lld-%lld", dir, (int)blen, base,
             (unsigned long long)fnv1a(key), (long long)st->st_size, (long long)st->st_mtime);
    int fd = open(name, O_RDONLY);
    if (fd >= 0)
      return fd;
    snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", name);
    fd = mkstemp(tmp);
    if (fd >= 0) {
      gunzip_into(path, fd, tmp); /* fatal exits leave a stray temporary, never a bad cache */
      if (fsync(fd) != 0 || rename(tmp, name) != 0) {
        int e = errno;
        unlink(tmp);
        tt_fatal("%s: cannot write the decompressed copy of %s: %s", name, path, strerror(e));
      }
      return fd;
    }
  }
  FILE *t = tmpfile();
  if (!t)
    tt_fatal("%s: cannot create a file to decompress into: %s", path, strerror(errno));
  int fd = dup(fileno(t));
  fclose(t); /* the unlinked file lives on through fd */
  if (fd < 0)
    tt_fatal("%s: cannot create a file to decompress into: %s", path, strerror(errno));
  gunzip_into(path, fd, "a temporary file");
  return fd;
}

/* Opens PATH, or PATH.gz through the cache; *shown is the name to use in messages. */
static int open_data(const char *path, char *shown, size_t n) {
  struct stat st;
  snprintf(shown, n, "%s", path);
  if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
    size_t len = strlen(path);
    if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
      return open_gz_cached(path, &st);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
      tt_fatal("%s: cannot open: %s", path, strerror(errno));
    return fd;
  }
  snprintf(shown, n, "%s.gz", path);
  if (stat(shown, &st) == 0 && !S_ISDIR(st.st_mode))
    return open_gz_cached(shown, &st);
  tt_fatal("%s: cannot open dataset file: No such file or directory (nor %s.gz)", path, path);
}

static int64_t fd_size(int fd, const char *path) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    tt_fatal("%s: cannot stat: %s", path, strerror(errno));
  return (int64_t)st.st_size;
}

/* ---- loaders -------------------------------------------------------------------------- */

static TtLoader *loader_new(LoaderKind kind, int64_t batch, bool shuffle, bool drop_last) {
  if (batch <= 0)
    tt_fatal("batch_size should be a positive integer value, but got batch_size=%lld",
             (long long)batch);
  TtLoader *ld = xmalloc(sizeof *ld);
  memset(ld, 0, sizeof *ld);
  ld->kind = kind;
  ld->batch = batch;
  ld->shuffle = shuffle;
  ld->drop_last = drop_last;
  return ld;
}

static void check_labels(const uint8_t *labels, int64_t n, const char *path) {
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= NUM_CLASSES)
      tt_fatal("%s: label %u of sample %lld is out of range (0..%d)", path, labels[i],
               (long long)i, NUM_CLASSES - 1);
}

TtLoader *tt_loader_idx(const char *root, const char *prefix, int64_t batch, bool shuffle,
                        bool drop_last) {
  char ipath[4096], lpath[4096], ishown[4100], lshown[4100];
  snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte", root, prefix);
  snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte", root, prefix);
  TtLoader *ld = loader_new(LD_FILES, batch, shuffle, drop_last);

  /* labels: magic 0x00000801, count, then one byte per label */
  int lfd = open_data(lpath, lshown, sizeof lshown);
  unsigned char h[16];
  if (!pread_full(lfd, h, 8, 0, lshown))
    tt_fatal("%s: file is truncated (no IDX header)", lshown);
  if (be32(h) != 0x00000801u)
    tt_fatal("%s: not an IDX label file (magic 0x%08x, expected 0x00000801)", lshown, be32(h));
  int64_t nl = be32(h + 4);
  if (fd_size(lfd, lshown) < 8 + nl)
    tt_fatal("%s: file is truncated (the header says %lld labels, the file holds %lld)",
             lshown, (long long)nl, (long long)(fd_size(lfd, lshown) - 8));
  ld->labels = xmalloc((size_t)nl);
  if (!pread_full(lfd, ld->labels, (size_t)nl, 8, lshown))
    tt_fatal("%s: file is truncated", lshown);
  close(lfd);
  check_labels(ld->labels, nl, lshown);

  /* images: magic 0x00000803, count, rows, cols, then rows * cols bytes per image */
  int ifd = open_data(ipath, ishown, sizeof ishown);
  if (!pread_full(ifd, h, 16, 0, ishown))
    tt_fatal("%s: file is truncated (no IDX header)", ishown);
  if (be32(h) != 0x00000803u)
    tt_fatal("%s: not an IDX image file (magic 0x%08x, expected 0x00000803)", ishown, be32(h));
  int64_t ni = be32(h + 4), rows = be32(h + 8), cols = be32(h + 12);
  if (rows != 28 || cols != 28)
    tt_fatal("%s: images are %lldx%lld, expected 28x28", ishown, (long long)rows,
             (long long)cols);
  if (fd_size(ifd, ishown) < 16 + ni * rows * cols)
    tt_fatal("%s: file is truncated (the header says %lld images of %lldx%lld, the file holds "
             "%lld bytes)",
             ishown, (long long)ni, (long long)rows, (long long)cols,
             (long long)fd_size(ifd, ishown));
  if (ni != nl)
    tt_fatal("%s has %lld images but %s has %lld labels", ishown, (long long)ni, lshown,
             (long long)nl);
  ld->files[0] = (RowFile){ifd, ni, 16, rows * cols, xstrdup(ishown)};
  ld->nfiles = 1;
  ld->n = ni;
  ld->xrow = (size_t)(rows * cols);
  ld->raw = xmalloc(ld->xrow);
  return ld;
}

TtLoader *tt_loader_cifar10(const char *root, bool train, int64_t batch, bool shuffle,
                            bool drop_last) {
  TtLoader *ld = loader_new(LD_FILES, batch, shuffle, drop_last);
  int nf = train ? 5 : 1;
  int64_t total = 0;
  int64_t counts[MAX_FILES];
  char shown[MAX_FILES][4200];
  for (int k = 0; k < nf; k++) {
    char path[4096];
    if (train)
      snprintf(path, sizeof path, "%s/data_batch_%d.bin", root, k + 1);
    else
      snprintf(path, sizeof path, "%s/test_batch.bin", root);
    int fd = open_data(path, shown[k], sizeof shown[k]);
    int64_t size = fd_size(fd, shown[k]);
    if (size == 0 || size % CIFAR_RECORD != 0)
      tt_fatal("%s: file is truncated or not a CIFAR-10 batch (%lld bytes is not a whole number "
               "of %d-byte records)",
               shown[k], (long long)size, CIFAR_RECORD);
    counts[k] = size / CIFAR_RECORD;
    ld->files[k] = (RowFile){fd, counts[k], 1, CIFAR_RECORD, xstrdup(shown[k])};
    total += counts[k];
  }
  ld->nfiles = nf;
  ld->n = total;
  ld->xrow = CIFAR_PIXELS;
  ld->labels = xmalloc((size_t)total);
  /* the labels are the first byte of every record: read them a chunk of records at a time */
  enum { CHUNK = 256 };
  unsigned char *chunk = xmalloc((size_t)CHUNK * CIFAR_RECORD);
  int64_t at = 0;
  for (int k = 0; k < nf; k++) {
    for (int64_t r = 0; r < counts[k]; r += CHUNK) {
      int64_t m = counts[k] - r < CHUNK ? counts[k] - r : CHUNK;
      if (!pread_full(ld->files[k].fd, chunk, (size_t)(m * CIFAR_RECORD), r * CIFAR_RECORD,
                      shown[k]))
        tt_fatal("%s: file is truncated", shown[k]);
      for (int64_t i = 0; i < m; i++)
        ld->labels[at + r + i] = chunk[i * CIFAR_RECORD];
    }
    check_labels(ld->labels + at, counts[k], shown[k]);
    at += counts[k];
  }
  free(chunk);
  ld->raw = xmalloc(ld->xrow);
  return ld;
}

TtLoader *tt_loader_tensors(const void *x, size_t xrow, const void *y, size_t yrow, int64_t n,
                            int64_t batch, bool shuffle, bool drop_last) {
  if (n < 0 || (n > 0 && !x))
    tt_fatal("TensorDataset: no data for %lld rows", (long long)n);
  TtLoader *ld = loader_new(LD_TENSORS, batch, shuffle, drop_last);
  ld->n = n;
  ld->tx = x;
  ld->txrow = xrow;
  ld->ty = y;
  ld->tyrow = y ? yrow : 0;
  return ld;
}

int64_t tt_loader_len(const TtLoader *ld) {
  return ld->drop_last ? ld->n / ld->batch : (ld->n + ld->batch - 1) / ld->batch;
}

int64_t tt_loader_dataset_len(const TtLoader *ld) { return ld->n; }

void tt_loader_start(TtLoader *ld) {
  /* _BaseDataLoaderIter draws its base seed whether or not it shuffles */
  (void)tt_rng_random64();
  if (ld->shuffle) {
    uint64_t seed = tt_rng_random64() & 0x7fffffffffffffffull; /* random_() on int64 */
    if (!ld->order)
      ld->order = xmalloc((size_t)ld->n * sizeof *ld->order);
    tt_randperm(ld->order, ld->n, seed);
  }
  ld->pos = 0;
  ld->started = true;
}

/* Row i's image bytes into ld->raw. */
static void read_row(TtLoader *ld, int64_t i) {
  int k = 0;
  while (i >= ld->files[k].count)
    i -= ld->files[k++].count;
  const RowFile *rf = &ld->files[k];
  if (!pread_full(rf->fd, ld->raw, ld->xrow, rf->off + i * rf->stride, rf->path))
    tt_fatal("%s: file became shorter while it was being read", rf->path);
}

bool tt_loader_next(TtLoader *ld, void *x, void *y, int64_t *n) {
  if (!ld->started)
    tt_loader_start(ld);
  int64_t left = ld->n - ld->pos;
  int64_t m = left < ld->batch ? left : ld->batch;
  if (m <= 0 || (ld->drop_last && m < ld->batch)) {
    ld->started = false; /* the next loop over the loader starts a new epoch */
    if (n)
      *n = 0;
    return false;
  }
  for (int64_t b = 0; b < m; b++) {
    int64_t i = ld->order ? ld->order[ld->pos + b] : ld->pos + b;
    if (ld->kind == LD_TENSORS) {
      if (x)
        memcpy((unsigned char *)x + b * (int64_t)ld->txrow, ld->tx + i * (int64_t)ld->txrow,
               ld->txrow);
      if (y && ld->ty)
        memcpy((unsigned char *)y + b * (int64_t)ld->tyrow, ld->ty + i * (int64_t)ld->tyrow,
               ld->tyrow);
      continue;
    }
    if (x) {
      read_row(ld, i);
      float *row = (float *)x + b * (int64_t)ld->xrow;
      for (size_t j = 0; j < ld->xrow; j++)
        row[j] = (float)ld->raw[j] / 255.0f; /* ToTensor: float32 division, as torch does */
    }
    if (y)
      ((int64_t *)y)[b] = ld->labels[i];
  }
  ld->pos += m;
  if (n)
    *n = m;
  return true;
}

void tt_loader_free(TtLoader *ld) {
  if (!ld)
    return;
  for (int k = 0; k < ld->nfiles; k++) {
    close(ld->files[k].fd);
    free(ld->files[k].path);
  }
  free(ld->labels);
  free(ld->raw);
  free(ld->order);
  free(ld);
}
