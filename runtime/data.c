/*
 * data.c — datasets and DataLoaders: MNIST-style IDX files, CIFAR-10 binary batches, and
 * in-memory tensors.
 *
 * Memory stays bounded whatever the dataset's size: the labels (one byte a sample) and the
 * epoch's permutation are held whole, but images are read with pread() a batch at a time.
 * Every check happens when the loader is opened, so a bad file stops the program before
 * training starts, with a message naming the file. Only regular files are read: a FIFO or
 * a device is refused rather than waited on (tt_open_regular).
 *
 * A gzip file is decompressed once into a cache file so that rows can be read at any
 * offset; plain files are read in place. The cache is keyed by the .gz file's content (its
 * SHA-256), never by its name or times, so a replaced file is never served stale data;
 * each cache file ends with a trailer (the decompressed size, its CRC-32 and the source's
 * SHA-256) that is checked on every use, and a copy that fails the check is rebuilt from
 * the .gz rather than blamed on it. Decompression is bounded by what the data claims: an
 * IDX file's header (decompressed first and checked as a plain file's would be) gives the
 * total size, a CIFAR batch's gzip ISIZE trailer gives its size, and a stream that inflates
 * past that is an error, not a disk filled with a gzip bomb. The cache directory is used
 * only if it is private (cache_dir).
 *
 * Opening a loader keeps everything it holds in an Opening, and an error frees all of it
 * before tt_fatal: generated programs exit there anyway, but the readers' fuzzers
 * (tests/fuzz) return from it and must see no leak.
 *
 * The shuffle is PyTorch's, draw for draw: per epoch one random64 for the iterator's base
 * seed, one for RandomSampler's seed, then torch.randperm from a generator seeded with it
 * (rng.c has the details), so a .tt program sees its batches in the order PyTorch would.
 */
#include "tt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAX_FILES 5      /* CIFAR-10's five training batches */
#define NUM_CLASSES 10   /* MNIST, Fashion-MNIST and CIFAR-10 labels are 0..9 */
#define IDX_SIDE 28      /* MNIST and Fashion-MNIST images are 28x28 */
#define CIFAR_PIXELS 3072
#define CIFAR_RECORD (1 + CIFAR_PIXELS)
#define ZCHUNK (1 << 16) /* decompression buffers, in and out */

typedef enum { LD_FILES, LD_TENSORS } LoaderKind;

/* What a data file holds: it decides the header checks and, for a .gz, the size to expect. */
typedef enum {
  DK_IDX_LABELS, /* magic 0x00000801, count, then one byte a label */
  DK_IDX_IMAGES, /* magic 0x00000803, count, rows, cols, then rows * cols bytes an image */
  DK_CIFAR,      /* records of a label byte and 3072 pixels, no header */
} DataKind;

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
  int nfiles; /* the files whose fd and path are set (and closed and freed by tt_loader_free) */
  size_t xrow;
  uint8_t *labels, *raw; /* raw: one batch of rows as bytes */
  /* LD_TENSORS */
  const unsigned char *tx, *ty;
  size_t txrow, tyrow;
  /* the epoch */
  int64_t *order; /* NULL: in order */
  int64_t pos;
  bool started;
  int64_t epochs; /* passes started (tt_loader_epoch) */
  /* a DistributedSampler (tt_loader_distribute): replicas > 0; its samples per rank */
  int64_t replicas, rank, seed, epoch, samples;
  bool dshuffle, ddrop_last;
};

/* A loader being opened and what it holds outside the loader: fail() frees it all. */
typedef struct Opening {
  TtLoader *ld;
  int fd;                          /* a file not handed to ld yet (the labels), or -1 */
  int src;                         /* a .gz being read, or -1 */
  int tmpfd;                       /* the decompressed copy being written, or -1 */
  char tmp[4700];                  /* its name while a temporary in the cache, else "" */
  z_stream z;
  bool zlive;                      /* z needs inflateEnd */
  unsigned char *in, *out, *chunk; /* decompression buffers; CIFAR's label chunk */
} Opening;

static void release(Opening *o) {
  if (o->zlive)
    inflateEnd(&o->z);
  o->zlive = false;
  if (o->fd >= 0)
    close(o->fd);
  if (o->src >= 0)
    close(o->src);
  if (o->tmpfd >= 0)
    close(o->tmpfd);
  o->fd = o->src = o->tmpfd = -1;
  if (o->tmp[0])
    unlink(o->tmp); /* a half-written copy never stays behind */
  o->tmp[0] = '\0';
  free(o->in);
  free(o->out);
  free(o->chunk);
  o->in = o->out = o->chunk = NULL;
  tt_loader_free(o->ld);
  o->ld = NULL;
}

/* The message first (its arguments may point into what is released), then the release. */
static _Noreturn __attribute__((format(printf, 2, 3))) void fail(Opening *o, const char *fmt,
                                                                 ...) {
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (o)
    release(o);
  tt_fatal("%s", msg);
}

static void *xmalloc(Opening *o, size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p)
    fail(o, "out of memory (allocating %zu bytes for a data loader)", n);
  return p;
}

static char *xstrdup(Opening *o, const char *s) {
  size_t n = strlen(s) + 1;
  return memcpy(xmalloc(o, n), s, n);
}

static uint32_t be32(const unsigned char *b) {
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static uint64_t le_get(const unsigned char *b, int k) {
  uint64_t v = 0;
  for (int i = k - 1; i >= 0; i--)
    v = v << 8 | b[i];
  return v;
}

static void le_put(unsigned char *b, uint64_t v, int k) {
  for (int i = 0; i < k; i++)
    b[i] = (unsigned char)(v >> (8 * i));
}

/* Reads up to n bytes at off; returns how many there were (fewer only at the end of the
 * file). An I/O error is fatal (o may be NULL once the loader is open). */
static size_t pread_upto(Opening *o, int fd, void *buf, size_t n, int64_t off, const char *path) {
  unsigned char *p = buf;
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(fd, p + got, n - got, (off_t)off + (off_t)got);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      fail(o, "%s: read error: %s", path, strerror(errno));
    }
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return got;
}

/* pread exactly n bytes at off; false on a short file. */
static bool pread_full(Opening *o, int fd, void *buf, size_t n, int64_t off, const char *path) {
  return pread_upto(o, fd, buf, n, off, path) == n;
}

static void write_full(Opening *o, int fd, const unsigned char *p, size_t n, const char *dest,
                       const char *path) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      fail(o, "%s: cannot write the decompressed copy of %s: %s", dest, path,
           w < 0 ? strerror(errno) : "no progress");
    p += w;
    n -= (size_t)w;
  }
}

static int64_t fd_size(Opening *o, int fd, const char *path) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    fail(o, "%s: cannot stat: %s", path, strerror(errno));
  return (int64_t)st.st_size;
}

/* ---- IDX headers ----------------------------------------------------------------------- */

/* The header's length for a kind of file (0: no header). */
static int header_len(DataKind k) { return k == DK_IDX_LABELS ? 8 : k == DK_IDX_IMAGES ? 16 : 0; }

/* Checks an IDX header (header_len(k) bytes) and returns the file's size as the header
 * claims it. One function for plain files and for a .gz's first decompressed bytes, so that
 * both fail with the same message. */
static int64_t idx_expected(Opening *o, DataKind k, const unsigned char *h, const char *shown) {
  if (k == DK_IDX_LABELS) {
    if (be32(h) != 0x00000801u)
      fail(o, "%s: not an IDX label file (magic 0x%08x, expected 0x00000801)", shown, be32(h));
    return 8 + (int64_t)be32(h + 4);
  }
  if (be32(h) != 0x00000803u)
    fail(o, "%s: not an IDX image file (magic 0x%08x, expected 0x00000803)", shown, be32(h));
  int64_t rows = be32(h + 8), cols = be32(h + 12);
  if (rows != IDX_SIDE || cols != IDX_SIDE)
    fail(o, "%s: images are %lldx%lld, expected %dx%d", shown, (long long)rows, (long long)cols,
         IDX_SIDE, IDX_SIDE);
  return 16 + (int64_t)be32(h + 4) * rows * cols; /* < 2^32 * 784: no overflow */
}

/* ---- SHA-256 (FIPS 180-4), the decompression cache's key ------------------------------- */

typedef struct Sha256 {
  uint32_t h[8];
  unsigned char block[64];
  uint64_t bytes;
} Sha256;

static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha_block(Sha256 *s, const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = be32(p + 4 * i);
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ (w[i - 15] >> 3);
    uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
  uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 =
        h + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
    uint32_t t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g, g = f, f = e, e = d + t1;
    d = c, c = b, b = a, a = t1 + t2;
  }
  s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
  s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha_init(Sha256 *s) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(s->h, h0, sizeof h0);
  s->bytes = 0;
}

static void sha_update(Sha256 *s, const unsigned char *p, size_t n) {
  size_t have = (size_t)(s->bytes % 64);
  s->bytes += n;
  if (have) {
    size_t k = 64 - have < n ? 64 - have : n;
    memcpy(s->block + have, p, k);
    p += k, n -= k, have += k;
    if (have < 64)
      return;
    sha_block(s, s->block);
  }
  for (; n >= 64; p += 64, n -= 64)
    sha_block(s, p);
  memcpy(s->block, p, n);
}

static void sha_final(Sha256 *s, unsigned char out[32]) {
  uint64_t bits = s->bytes * 8;
  unsigned char pad[72] = {0x80};
  size_t k = (size_t)((119 - s->bytes % 64) % 64) + 1; /* to 56 mod 64 */
  for (int i = 0; i < 8; i++)
    pad[k + i] = (unsigned char)(bits >> (56 - 8 * i));
  sha_update(s, pad, k + 8);
  for (int i = 0; i < 8; i++)
    for (int j = 0; j < 4; j++)
      out[4 * i + j] = (unsigned char)(s->h[i] >> (24 - 8 * j));
}

/* ---- the decompression cache ---------------------------------------------------------- */

/* A cache file is the decompressed bytes, then this trailer (little-endian): their size (8),
 * their CRC-32 (4), the .gz file's SHA-256 (32), and CACHE_MAGIC (8). */
#define CACHE_MAGIC "ttcgunz1"
#define TRAILER (8 + 4 + 32 + 8)

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

/* $TTC_DATA_CACHE, else $XDG_CACHE_HOME/ttc/data, else $HOME/.cache/ttc/data, if it is
 * private: a directory (or a link to one) that the user owns and nobody else may write to.
 * A cache's trailer is a checksum, not a signature, so whoever can write there could plant
 * data; a shared directory is not used, and the data is decompressed afresh instead. */
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
  struct stat st;
  return k > 0 && (size_t)k < n && mkdir_p(out) && stat(out, &st) == 0 && S_ISDIR(st.st_mode) &&
         st.st_uid == geteuid() && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* The SHA-256 of all of o->src, and (in isize) its last 4 bytes: gzip's ISIZE field, the
 * size of the last member's data modulo 2^32. */
static void hash_source(Opening *o, const char *path, unsigned char digest[32], uint32_t *isize) {
  Sha256 s;
  sha_init(&s);
  unsigned char last[4] = {0};
  int64_t off = 0;
  for (;;) {
    size_t r = pread_upto(o, o->src, o->in, ZCHUNK, off, path);
    if (r == 0)
      break;
    sha_update(&s, o->in, r);
    if (r >= 4)
      memcpy(last, o->in + r - 4, 4);
    else { /* a short final read: shift the tail along */
      memmove(last, last + r, 4 - r);
      memcpy(last + 4 - r, o->in, r);
    }
    off += (int64_t)r;
  }
  sha_final(&s, digest);
  *isize = (uint32_t)le_get(last, 4);
}

/* fd's first n bytes' CRC-32; false if the file has fewer. */
static bool crc_of_fd(Opening *o, int fd, int64_t n, const char *path, uint32_t *crc) {
  uLong c = crc32(0, Z_NULL, 0);
  for (int64_t off = 0; off < n;) {
    size_t k = n - off < ZCHUNK ? (size_t)(n - off) : ZCHUNK;
    if (!pread_full(o, fd, o->out, k, off, path))
      return false;
    c = crc32(c, o->out, (uInt)k);
    off += (int64_t)k;
  }
  *crc = (uint32_t)c;
  return true;
}

/* Opens the cache file name if it holds an intact copy of the .gz whose SHA-256 is digest:
 * its descriptor, the data's size in *size. -1 when it is missing or damaged (cut short,
 * a byte changed, another file's trailer): the caller then builds it afresh. */
static int open_cached(Opening *o, const char *name, const unsigned char digest[32],
                       int64_t *size) {
  const char *why;
  int fd = tt_open_regular(name, &why);
  if (fd < 0)
    return -1;
  o->fd = fd; /* released if a read error is fatal */
  unsigned char t[TRAILER];
  int64_t fsize = fd_size(o, fd, name), n = fsize - TRAILER;
  uint32_t crc;
  bool ok = fsize >= TRAILER && pread_full(o, fd, t, TRAILER, n, name) &&
            memcmp(t + TRAILER - 8, CACHE_MAGIC, 8) == 0 && memcmp(t + 12, digest, 32) == 0 &&
            le_get(t, 8) == (uint64_t)n && crc_of_fd(o, fd, n, name, &crc) &&
            crc == (uint32_t)le_get(t + 8, 4);
  o->fd = -1;
  if (!ok) {
    close(fd);
    return -1;
  }
  *size = n;
  return fd;
}

/* Feeds out[0..n) of the decompressed stream (at offset at) through the IDX header check
 * and the bound. *limit is -1 until the bound is known. */
static void check_output(Opening *o, DataKind kind, const unsigned char *out, size_t n,
                         int64_t at, unsigned char *h, int64_t *limit, const char *path) {
  int hl = header_len(kind);
  if (at < hl) {
    size_t k = (size_t)(hl - at) < n ? (size_t)(hl - at) : n;
    memcpy(h + at, out, k);
    if (at + (int64_t)k == hl)
      *limit = idx_expected(o, kind, h, path);
  }
  if (*limit >= 0 && at + (int64_t)n > *limit)
    fail(o, "%s: gzip data inflates to more than the %lld bytes its %s claims", path,
         (long long)*limit, hl ? "IDX header" : "gzip trailer");
}

/*
 * Decompresses o->src (the gzip file path, whose SHA-256 must be digest) into o->tmpfd and
 * returns the size; *crc gets the output's CRC-32. Members follow one another, with zero
 * bytes between or after them allowed (as Python's gzip module reads them). The output is
 * bounded: by the IDX header's claim as soon as the header is out, by isize for CIFAR.
 */
static int64_t inflate_into(Opening *o, const char *path, DataKind kind, uint32_t isize,
                            const unsigned char digest[32], const char *dest, uint32_t *crc) {
  unsigned char magic[2];
  if (!pread_full(o, o->src, magic, 2, 0, path) || magic[0] != 0x1f || magic[1] != 0x8b)
    fail(o, "%s: not in gzip format", path);
  memset(&o->z, 0, sizeof o->z);
  if (inflateInit2(&o->z, 15 + 16) != Z_OK) /* 16: a gzip wrapper, checked */
    fail(o, "%s: cannot decompress: out of memory", path);
  o->zlive = true;
  Sha256 s;
  sha_init(&s);
  uLong c = crc32(0, Z_NULL, 0);
  unsigned char h[16];
  int64_t limit = kind == DK_CIFAR ? (int64_t)isize : -1, total = 0, off = 0;
  bool between = false; /* at the end of a member: only zeros or another member may follow */
  for (;;) {
    size_t r = pread_upto(o, o->src, o->in, ZCHUNK, off, path);
    if (r == 0)
      break;
    off += (int64_t)r;
    sha_update(&s, o->in, r);
    o->z.next_in = o->in;
    o->z.avail_in = (uInt)r;
    while (o->z.avail_in > 0) {
      if (between) {
        while (o->z.avail_in > 0 && *o->z.next_in == 0)
          o->z.next_in++, o->z.avail_in--;
        if (o->z.avail_in == 0)
          break;
        between = false;
      }
      o->z.next_out = o->out;
      o->z.avail_out = ZCHUNK;
      int ret = inflate(&o->z, Z_NO_FLUSH);
      size_t made = ZCHUNK - o->z.avail_out;
      if (made) {
        check_output(o, kind, o->out, made, total, h, &limit, path);
        write_full(o, o->tmpfd, o->out, made, dest, path);
        c = crc32(c, o->out, (uInt)made);
        total += (int64_t)made;
      }
      if (ret == Z_STREAM_END) {
        between = true;
        inflateReset(&o->z);
      } else if (ret == Z_BUF_ERROR && made == 0) {
        break; /* needs more input */
      } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
        fail(o, "%s: gzip data is corrupt: %s", path, o->z.msg ? o->z.msg : "inflate failed");
      }
    }
  }
  /* the last output may still be in the window: drain it */
  for (;;) {
    if (between)
      break;
    o->z.next_out = o->out;
    o->z.avail_out = ZCHUNK;
    int ret = inflate(&o->z, Z_FINISH);
    size_t made = ZCHUNK - o->z.avail_out;
    if (made) {
      check_output(o, kind, o->out, made, total, h, &limit, path);
      write_full(o, o->tmpfd, o->out, made, dest, path);
      c = crc32(c, o->out, (uInt)made);
      total += (int64_t)made;
    }
    if (ret == Z_STREAM_END)
      break;
    if (made == 0)
      fail(o, "%s: gzip data is truncated or corrupt: %s", path,
           o->z.msg ? o->z.msg : "unexpected end of file");
  }
  inflateEnd(&o->z);
  o->zlive = false;
  unsigned char again[32];
  sha_final(&s, again);
  if (memcmp(again, digest, 32) != 0)
    fail(o, "%s: the file changed while it was being read", path);
  *crc = (uint32_t)c;
  return total;
}

static void done_with_source(Opening *o) {
  close(o->src);
  o->src = -1;
  free(o->in);
  free(o->out);
  o->in = o->out = NULL;
}

/*
 * A descriptor for the decompressed bytes of the .gz file at path, and their size: the
 * cache's copy when it is intact, else a fresh decompression into it (a temporary in the
 * cache directory renamed into place, so that concurrent or interrupted runs never see half
 * a file). Without a usable cache directory the data goes to an unlinked temporary file.
 */
static int open_gz(Opening *o, const char *path, DataKind kind, int64_t *size) {
  const char *why;
  o->src = tt_open_regular(path, &why);
  if (o->src < 0)
    fail(o, "%s: cannot open dataset file: %s", path, why);
  o->in = xmalloc(o, ZCHUNK);
  o->out = xmalloc(o, ZCHUNK);
  unsigned char digest[32];
  uint32_t isize, crc;
  hash_source(o, path, digest, &isize);

  char dir[4096], name[4400];
  int fd = -1;
  if (cache_dir(dir, sizeof dir)) {
    /* the source's base name is only for people looking in the cache: the key is the hash */
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    size_t blen = strlen(base) - 3; /* path ends in ".gz" */
    if (blen > 120)
      blen = 120;
    char hex[33];
    for (int i = 0; i < 16; i++)
      snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    snprintf(name, sizeof name, "%s/%.*s-%s", dir, (int)blen, base, hex);
    if ((fd = open_cached(o, name, digest, size)) >= 0) {
      done_with_source(o);
      return fd;
    }
    snprintf(o->tmp, sizeof o->tmp, "%s.tmpXXXXXX", name);
    o->tmpfd = mkstemp(o->tmp);
    if (o->tmpfd < 0)
      o->tmp[0] = '\0'; /* an unwritable cache: decompress into an unlinked file below */
  }
  if (o->tmpfd >= 0) {
    *size = inflate_into(o, path, kind, isize, digest, o->tmp, &crc);
    unsigned char t[TRAILER];
    le_put(t, (uint64_t)*size, 8);
    le_put(t + 8, crc, 4);
    memcpy(t + 12, digest, 32);
    memcpy(t + 44, CACHE_MAGIC, 8);
    write_full(o, o->tmpfd, t, TRAILER, o->tmp, path);
    if (fsync(o->tmpfd) != 0 || rename(o->tmp, name) != 0)
      fail(o, "%s: cannot write the decompressed copy of %s: %s", name, path, strerror(errno));
    o->tmp[0] = '\0';
  } else {
    FILE *t = tmpfile();
    if (!t)
      fail(o, "%s: cannot create a file to decompress into: %s", path, strerror(errno));
    o->tmpfd = dup(fileno(t));
    fclose(t); /* the unlinked file lives on through the descriptor */
    if (o->tmpfd < 0)
      fail(o, "%s: cannot create a file to decompress into: %s", path, strerror(errno));
    *size = inflate_into(o, path, kind, isize, digest, "a temporary file", &crc);
  }
  fd = o->tmpfd;
  o->tmpfd = -1;
  done_with_source(o);
  return fd;
}

/* Opens PATH, or PATH.gz through the cache, as a kind of data file: the descriptor, its
 * data's size in *size; *shown is the name to use in messages. */
static int open_data(Opening *o, const char *path, DataKind kind, char *shown, size_t n,
                     int64_t *size) {
  struct stat st;
  snprintf(shown, n, "%s", path);
  if (stat(path, &st) != 0) {
    if (errno != ENOENT)
      fail(o, "%s: cannot open dataset file: %s", path, strerror(errno));
    snprintf(shown, n, "%s.gz", path);
    if (stat(shown, &st) != 0) {
      if (errno == ENOENT)
        fail(o, "%s: cannot open dataset file: No such file or directory (nor %s.gz)", path,
             path);
      fail(o, "%s: cannot open dataset file: %s", shown, strerror(errno));
    }
    return open_gz(o, shown, kind, size);
  }
  size_t len = strlen(path);
  if (len > 3 && strcmp(path + len - 3, ".gz") == 0)
    return open_gz(o, path, kind, size);
  const char *why;
  int fd = tt_open_regular(path, &why);
  if (fd < 0)
    fail(o, "%s: cannot open dataset file: %s", path, why);
  o->fd = fd;
  *size = fd_size(o, fd, path);
  o->fd = -1;
  return fd;
}

/* ---- loaders -------------------------------------------------------------------------- */

static TtLoader *loader_new(Opening *o, LoaderKind kind, int64_t batch, bool shuffle,
                            bool drop_last) {
  if (batch <= 0)
    fail(o, "batch_size should be a positive integer value, but got batch_size=%lld",
         (long long)batch);
  TtLoader *ld = xmalloc(o, sizeof *ld);
  memset(ld, 0, sizeof *ld);
  ld->kind = kind;
  ld->batch = batch;
  ld->shuffle = shuffle;
  ld->drop_last = drop_last;
  if (o)
    o->ld = ld;
  return ld;
}

static void check_labels(Opening *o, const uint8_t *labels, int64_t n, const char *path) {
  for (int64_t i = 0; i < n; i++)
    if (labels[i] >= NUM_CLASSES)
      fail(o, "%s: label %u of sample %lld is out of range (0..%d)", path, labels[i],
           (long long)i, NUM_CLASSES - 1);
}

#define OPENING_INIT {NULL, -1, -1, -1, "", {0}, false, NULL, NULL, NULL}

TtLoader *tt_loader_idx(const char *root, const char *prefix, int64_t batch, bool shuffle,
                        bool drop_last) {
  char ipath[4096], lpath[4096], ishown[4100], lshown[4100];
  snprintf(ipath, sizeof ipath, "%s/%s-images-idx3-ubyte", root, prefix);
  snprintf(lpath, sizeof lpath, "%s/%s-labels-idx1-ubyte", root, prefix);
  Opening o = OPENING_INIT;
  TtLoader *ld = loader_new(&o, LD_FILES, batch, shuffle, drop_last);

  /* labels: magic 0x00000801, count, then one byte per label */
  int64_t lsize, isize;
  o.fd = open_data(&o, lpath, DK_IDX_LABELS, lshown, sizeof lshown, &lsize);
  unsigned char h[16];
  if (lsize < 8 || !pread_full(&o, o.fd, h, 8, 0, lshown))
    fail(&o, "%s: file is truncated (no IDX header)", lshown);
  int64_t nl = idx_expected(&o, DK_IDX_LABELS, h, lshown) - 8;
  if (lsize < 8 + nl)
    fail(&o, "%s: file is truncated (the header says %lld labels, the file holds %lld)", lshown,
         (long long)nl, (long long)(lsize - 8));
  ld->labels = xmalloc(&o, (size_t)nl);
  if (!pread_full(&o, o.fd, ld->labels, (size_t)nl, 8, lshown))
    fail(&o, "%s: file is truncated", lshown);
  close(o.fd);
  o.fd = -1;
  check_labels(&o, ld->labels, nl, lshown);

  /* images: magic 0x00000803, count, rows, cols, then rows * cols bytes per image */
  int ifd = open_data(&o, ipath, DK_IDX_IMAGES, ishown, sizeof ishown, &isize);
  ld->files[0] = (RowFile){ifd, 0, 16, IDX_SIDE * IDX_SIDE, NULL};
  ld->nfiles = 1;
  ld->files[0].path = xstrdup(&o, ishown);
  if (isize < 16 || !pread_full(&o, ifd, h, 16, 0, ishown))
    fail(&o, "%s: file is truncated (no IDX header)", ishown);
  int64_t want = idx_expected(&o, DK_IDX_IMAGES, h, ishown), ni = be32(h + 4);
  if (isize < want)
    fail(&o, "%s: file is truncated (the header says %lld images of %dx%d, the file holds "
         "%lld bytes)",
         ishown, (long long)ni, IDX_SIDE, IDX_SIDE, (long long)isize);
  if (ni != nl)
    fail(&o, "%s has %lld images but %s has %lld labels", ishown, (long long)ni, lshown,
         (long long)nl);
  ld->files[0].count = ni;
  ld->n = ni;
  ld->xrow = IDX_SIDE * IDX_SIDE;
  ld->raw = xmalloc(&o, ld->xrow);
  return ld;
}

TtLoader *tt_loader_cifar10(const char *root, bool train, int64_t batch, bool shuffle,
                            bool drop_last) {
  Opening o = OPENING_INIT;
  TtLoader *ld = loader_new(&o, LD_FILES, batch, shuffle, drop_last);
  int nf = train ? 5 : 1;
  int64_t total = 0;
  char shown[MAX_FILES][4200];
  for (int k = 0; k < nf; k++) {
    char path[4096];
    if (train)
      snprintf(path, sizeof path, "%s/data_batch_%d.bin", root, k + 1);
    else
      snprintf(path, sizeof path, "%s/test_batch.bin", root);
    int64_t size;
    int fd = open_data(&o, path, DK_CIFAR, shown[k], sizeof shown[k], &size);
    ld->files[k] = (RowFile){fd, size / CIFAR_RECORD, 1, CIFAR_RECORD, NULL};
    ld->nfiles = k + 1;
    ld->files[k].path = xstrdup(&o, shown[k]);
    if (size == 0 || size % CIFAR_RECORD != 0)
      fail(&o, "%s: file is truncated or not a CIFAR-10 batch (%lld bytes is not a whole "
           "number of %d-byte records)",
           shown[k], (long long)size, CIFAR_RECORD);
    total += ld->files[k].count;
  }
  ld->n = total;
  ld->xrow = CIFAR_PIXELS;
  ld->labels = xmalloc(&o, (size_t)total);
  /* the labels are the first byte of every record: read them a chunk of records at a time */
  enum { CHUNK = 256 };
  o.chunk = xmalloc(&o, (size_t)CHUNK * CIFAR_RECORD);
  int64_t at = 0;
  for (int k = 0; k < nf; k++) {
    int64_t count = ld->files[k].count;
    for (int64_t r = 0; r < count; r += CHUNK) {
      int64_t m = count - r < CHUNK ? count - r : CHUNK;
      if (!pread_full(&o, ld->files[k].fd, o.chunk, (size_t)(m * CIFAR_RECORD),
                      r * CIFAR_RECORD, shown[k]))
        fail(&o, "%s: file is truncated", shown[k]);
      for (int64_t i = 0; i < m; i++)
        ld->labels[at + r + i] = o.chunk[i * CIFAR_RECORD];
    }
    check_labels(&o, ld->labels + at, count, shown[k]);
    at += count;
  }
  free(o.chunk);
  o.chunk = NULL;
  ld->raw = xmalloc(&o, ld->xrow);
  return ld;
}

TtLoader *tt_loader_tensors(const void *x, size_t xrow, const void *y, size_t yrow, int64_t n,
                            int64_t batch, bool shuffle, bool drop_last) {
  if (n < 0 || (n > 0 && !x))
    tt_fatal("TensorDataset: no data for %lld rows", (long long)n);
  TtLoader *ld = loader_new(NULL, LD_TENSORS, batch, shuffle, drop_last);
  ld->n = n;
  ld->tx = x;
  ld->txrow = xrow;
  ld->ty = y;
  ld->tyrow = y ? yrow : 0;
  return ld;
}

/* The samples one epoch yields: the dataset's, or this rank's share of a sampler's. */
static int64_t epoch_samples(const TtLoader *ld) {
  return ld->replicas ? ld->samples : ld->n;
}

int64_t tt_loader_len(const TtLoader *ld) {
  int64_t n = epoch_samples(ld);
  return ld->drop_last ? n / ld->batch : (n + ld->batch - 1) / ld->batch;
}

/* torch.utils.data.distributed.DistributedSampler's sizes: without drop_last each rank gets
 * ceil(n / replicas) samples (the index list padded by repeating its start), with it
 * floor(n / replicas) (the tail dropped). */
void tt_loader_distribute(TtLoader *ld, int64_t replicas, int64_t rank, int64_t shuffle,
                          int64_t seed, int64_t drop_last) {
  if (replicas < 1 || rank < 0 || rank >= replicas)
    tt_fatal("DistributedSampler: Invalid rank %lld, rank should be in the interval [0, %lld]",
             (long long)rank, (long long)replicas - 1);
  ld->replicas = replicas;
  ld->rank = rank;
  ld->dshuffle = shuffle != 0;
  ld->seed = seed;
  ld->ddrop_last = drop_last != 0;
  ld->epoch = 0;
  if (ld->ddrop_last && ld->n % replicas != 0)
    ld->samples = (ld->n - replicas + replicas - 1) / replicas; /* ceil((n - R) / R) */
  else
    ld->samples = (ld->n + replicas - 1) / replicas;
  if (ld->samples < 0) ld->samples = 0;
}

void tt_loader_set_epoch(TtLoader *ld, int64_t epoch) {
  ld->epoch = epoch;
}

/* This rank's indices for the epoch, as DistributedSampler.__iter__: randperm(n) from a
 * generator seeded seed + epoch (or 0..n-1), padded or cut to samples * replicas, then every
 * replicas-th index from rank. */
static void distributed_order(TtLoader *ld) {
  int64_t n = ld->n;
  int64_t *all = malloc((size_t)(n > 0 ? n : 1) * sizeof *all);
  if (!ld->order) ld->order = malloc((size_t)(ld->samples > 0 ? ld->samples : 1) * sizeof *ld->order);
  if (!all || !ld->order) tt_fatal("out of memory (DistributedSampler of %lld samples)", (long long)n);
  if (ld->dshuffle)
    tt_randperm(all, n, (uint64_t)(ld->seed + ld->epoch));
  else
    for (int64_t i = 0; i < n; i++) all[i] = i;
  for (int64_t k = 0; k < ld->samples; k++) {
    int64_t j = ld->rank + k * ld->replicas; /* past n, the padding repeats the start */
    ld->order[k] = n > 0 ? all[j % n] : 0;
  }
  free(all);
}

int64_t tt_loader_dataset_len(const TtLoader *ld) { return ld->n; }

void tt_loader_start(TtLoader *ld) {
  /* _BaseDataLoaderIter draws its base seed whether or not it shuffles */
  (void)tt_rng_random64();
  if (ld->replicas)
    distributed_order(ld);
  else if (ld->shuffle) {
    uint64_t seed = tt_rng_random64() & 0x7fffffffffffffffull; /* random_() on int64 */
    if (!ld->order)
      ld->order = xmalloc(NULL, (size_t)ld->n * sizeof *ld->order);
    tt_randperm(ld->order, ld->n, seed);
  }
  ld->pos = 0;
  ld->started = true;
  ld->epochs++;
}

/* Row i's image bytes into ld->raw. */
static void read_row(TtLoader *ld, int64_t i) {
  int k = 0;
  while (i >= ld->files[k].count)
    i -= ld->files[k++].count;
  const RowFile *rf = &ld->files[k];
  if (!pread_full(NULL, rf->fd, ld->raw, ld->xrow, rf->off + i * rf->stride, rf->path))
    tt_fatal("%s: file became shorter while it was being read", rf->path);
}

bool tt_loader_next(TtLoader *ld, void *x, void *y, int64_t *n) {
  if (!ld->started)
    tt_loader_start(ld);
  int64_t left = epoch_samples(ld) - ld->pos;
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

/* The pass over the loader now under way, from 0 (the training curves' epoch). */
int64_t tt_loader_epoch(const TtLoader *ld) { return ld->epochs > 0 ? ld->epochs - 1 : 0; }
