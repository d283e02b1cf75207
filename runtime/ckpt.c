/*
 * ckpt.c — checkpoints: a program's named tensors saved and loaded, in the format of
 * docs/CHECKPOINT.md (keep the two in sync).
 *
 * A save never damages a good file: it writes a temporary in the same directory, syncs
 * it, renames it over the target and syncs the directory. A load checks everything before
 * it copies anything: the magic, the version, the length, the CRC32, and that the keys,
 * dtypes and shapes are exactly those the program expects (strict, as load_state_dict,
 * within the requested keys' common prefix).
 */
#include "tt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "TTCKPT"
#define CKPT_MAGIC_LEN 6
#define CKPT_VERSION 1u
#define CKPT_HEADER (CKPT_MAGIC_LEN + 4 + 8 + 4) /* magic, version, file size, count */
#define CKPT_MAX_RANK 32

static size_t dtype_size(TtDType dt) {
  switch (dt) {
  case TT_F32: case TT_I32: return 4;
  case TT_F64: case TT_I64: return 8;
  case TT_I8: case TT_BOOL: return 1;
  }
  return 0;
}

static const char *dtype_name(TtDType dt) {
  static const char *names[] = {"float32", "float64", "int64", "int32", "int8", "bool"};
  return (unsigned)dt < sizeof names / sizeof names[0] ? names[dt] : "unknown";
}

static uint64_t numel(int rank, const int64_t *shape) {
  uint64_t n = 1;
  for (int i = 0; i < rank; i++)
    n *= (uint64_t)shape[i];
  return n;
}

/* "[256, 784]" */
static char *shape_str(int rank, const int64_t *shape, char *buf, size_t n) {
  size_t o = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < rank && o < n; i++)
    o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (o < n)
    snprintf(buf + o, n - o, "]");
  return buf;
}

/* ---- save ------------------------------------------------------------------------------ */

typedef struct Writer {
  FILE *f;
  uLong crc;
  const char *path, *tmp;
} Writer;

static _Noreturn void save_failed(Writer *w, int err) {
  if (w->f)
    fclose(w->f);
  unlink(w->tmp);
  tt_fatal("%s: cannot write checkpoint: %s", w->path, strerror(err));
}

static void put(Writer *w, const void *p, size_t n) {
  if (n && fwrite(p, 1, n, w->f) != n)
    save_failed(w, errno ? errno : EIO);
  /* zlib's crc32 takes a uInt length: feed large tensors in pieces */
  const unsigned char *b = p;
  for (size_t done = 0; done < n;) {
    uInt k = n - done > (1u << 30) ? (1u << 30) : (uInt)(n - done);
    w->crc = crc32(w->crc, b + done, k);
    done += k;
  }
}

static void put_u32(Writer *w, uint32_t v) {
  unsigned char b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  put(w, b, 4);
}

static void put_u64(Writer *w, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  put(w, b, 8);
}

static void check_entries(const char *path, const TtCkptEntry *e, int n, const char *what) {
  if (n < 0)
    tt_fatal("%s: cannot %s checkpoint: %d entries", path, what, n);
  for (int i = 0; i < n; i++)
    if (!e[i].key || e[i].rank < 0 || e[i].rank > CKPT_MAX_RANK || !dtype_size(e[i].dtype))
      tt_fatal("%s: cannot %s checkpoint: entry %d is malformed", path, what, i);
}

void tt_ckpt_save(const char *path, const TtCkptEntry *e, int n) {
  check_entries(path, e, n, "save");
  uint64_t total = CKPT_HEADER + 4;
  for (int i = 0; i < n; i++)
    total += 4 + strlen(e[i].key) + 4 + 4 + 8 * (uint64_t)e[i].rank + 8 +
             numel(e[i].rank, e[i].shape) * dtype_size(e[i].dtype);

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 16);
  if (!tmp)
    tt_fatal("out of memory (saving %s)", path);
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  Writer w = {NULL, crc32(0, Z_NULL, 0), path, tmp};
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int err = errno;
    free(tmp);
    tt_fatal("%s: cannot write checkpoint: %s", path, strerror(err));
  }
  fchmod(fd, 0644); /* mkstemp's 0600 would make checkpoints private, unlike fopen's */
  w.f = fdopen(fd, "wb");
  if (!w.f) {
    int err = errno;
    close(fd);
    save_failed(&w, err);
  }
  put(&w, CKPT_MAGIC, CKPT_MAGIC_LEN);
  put_u32(&w, CKPT_VERSION);
  put_u64(&w, total);
  put_u32(&w, (uint32_t)n);
  for (int i = 0; i < n; i++) {
    size_t klen = strlen(e[i].key);
    uint64_t bytes = numel(e[i].rank, e[i].shape) * dtype_size(e[i].dtype);
    put_u32(&w, (uint32_t)klen);
    put(&w, e[i].key, klen);
    put_u32(&w, (uint32_t)e[i].dtype);
    put_u32(&w, (uint32_t)e[i].rank);
    for (int d = 0; d < e[i].rank; d++)
      put_u64(&w, (uint64_t)e[i].shape[d]);
    put_u64(&w, bytes);
    put(&w, e[i].data, (size_t)bytes); /* host order: little-endian on every target we have */
  }
  uint32_t crc = (uint32_t)w.crc;
  put_u32(&w, crc);
  if (fflush(w.f) != 0 || fsync(fileno(w.f)) != 0)
    save_failed(&w, errno);
  FILE *f = w.f;
  w.f = NULL;
  if (fclose(f) != 0)
    save_failed(&w, errno);
  if (rename(tmp, path) != 0)
    save_failed(&w, errno);
  free(tmp);
  /* make the rename itself durable */
  char *dir = strdup(path);
  if (dir) {
    char *slash = strrchr(dir, '/');
    const char *d = slash ? (slash == dir ? "/" : (*slash = '\0', dir)) : ".";
    int dfd = open(d, O_RDONLY);
    if (dfd >= 0) {
      fsync(dfd); /* some file systems refuse (EINVAL): the data is still written */
      close(dfd);
    }
    free(dir);
  }
}

/* ---- load ------------------------------------------------------------------------------ */

typedef struct Reader {
  const unsigned char *b;
  size_t n, at;
  const char *path;
} Reader;

static uint64_t get_le(const unsigned char *b, int k) {
  uint64_t v = 0;
  for (int i = k - 1; i >= 0; i--)
    v = v << 8 | b[i];
  return v;
}

/* The file's CRC was right, yet its structure is not: another writer, or a bug. */
static _Noreturn void malformed(const Reader *r, const char *what) {
  tt_fatal("%s: checkpoint is malformed (%s at byte %zu)", r->path, what, r->at);
}

static const unsigned char *take(Reader *r, uint64_t k, const char *what) {
  if (k > r->n - r->at)
    malformed(r, what);
  const unsigned char *p = r->b + r->at;
  r->at += (size_t)k;
  return p;
}

static unsigned char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    tt_fatal("%s: cannot open checkpoint: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int err = errno;
    fclose(f);
    tt_fatal("%s: cannot open checkpoint: %s", path, strerror(err));
  }
  if (S_ISDIR(st.st_mode)) {
    fclose(f);
    tt_fatal("%s: cannot open checkpoint: %s", path, strerror(EISDIR));
  }
  size_t n = (size_t)st.st_size;
  unsigned char *b = malloc(n ? n : 1);
  if (!b)
    tt_fatal("out of memory (loading %s, %zu bytes)", path, n);
  if (fread(b, 1, n, f) != n) {
    fclose(f);
    tt_fatal("%s: cannot read checkpoint: %s", path, strerror(errno ? errno : EIO));
  }
  fclose(f);
  *len = n;
  return b;
}

static uint32_t crc_of(const unsigned char *b, size_t n) {
  uLong c = crc32(0, Z_NULL, 0);
  for (size_t done = 0; done < n;) {
    uInt k = n - done > (1u << 30) ? (1u << 30) : (uInt)(n - done);
    c = crc32(c, b + done, k);
    done += k;
  }
  return (uint32_t)c;
}

typedef struct FileEntry {
  const char *key;
  uint32_t klen, dtype, rank;
  int64_t shape[CKPT_MAX_RANK];
  uint64_t bytes;
  const unsigned char *data;
} FileEntry;

void tt_ckpt_load(const char *path, const TtCkptEntry *e, int n) {
  check_entries(path, e, n, "load");
  size_t len;
  unsigned char *b = read_all(path, &len);
  /* the header first: whose file is it, which version, and is all of it there */
  size_t m = len < CKPT_MAGIC_LEN ? len : CKPT_MAGIC_LEN;
  if (memcmp(b, CKPT_MAGIC, m) != 0)
    tt_fatal("%s: not a ttc checkpoint (bad magic)", path);
  if (len < CKPT_MAGIC_LEN + 4)
    tt_fatal("%s: checkpoint is truncated", path);
  uint32_t version = (uint32_t)get_le(b + CKPT_MAGIC_LEN, 4);
  if (version != CKPT_VERSION)
    tt_fatal("%s: checkpoint format version %u is not supported", path, version);
  bool crc_ok = len >= 4 && crc_of(b, len - 4) == (uint32_t)get_le(b + len - 4, 4);
  if (!crc_ok) {
    /* a short file whose header promises more was cut off; anything else is damage */
    if (len < CKPT_HEADER || get_le(b + CKPT_MAGIC_LEN + 4, 8) > len)
      tt_fatal("%s: checkpoint is truncated", path);
    tt_fatal("%s: checkpoint is corrupted (checksum mismatch)", path);
  }
  Reader r = {b, len - 4, CKPT_MAGIC_LEN + 4, path};
  if (get_le(take(&r, 8, "file size"), 8) != len)
    malformed(&r, "file size");
  uint32_t count = (uint32_t)get_le(take(&r, 4, "entry count"), 4);
  if (count > (len - CKPT_HEADER) / 20) /* each entry takes at least 20 bytes */
    malformed(&r, "entry count");
  FileEntry *fe = calloc(count ? count : 1, sizeof *fe);
  if (!fe)
    tt_fatal("out of memory (loading %s)", path);
  for (uint32_t i = 0; i < count; i++) {
    fe[i].klen = (uint32_t)get_le(take(&r, 4, "key length"), 4);
    fe[i].key = (const char *)take(&r, fe[i].klen, "key");
    fe[i].dtype = (uint32_t)get_le(take(&r, 4, "dtype"), 4);
    fe[i].rank = (uint32_t)get_le(take(&r, 4, "rank"), 4);
    if (fe[i].dtype > TT_BOOL)
      malformed(&r, "dtype");
    if (fe[i].rank > CKPT_MAX_RANK)
      malformed(&r, "rank");
    for (uint32_t d = 0; d < fe[i].rank; d++)
      fe[i].shape[d] = (int64_t)get_le(take(&r, 8, "shape"), 8);
    fe[i].bytes = get_le(take(&r, 8, "byte count"), 8);
    fe[i].data = take(&r, fe[i].bytes, "tensor data");
    for (uint32_t j = 0; j < i; j++)
      if (fe[j].klen == fe[i].klen && memcmp(fe[j].key, fe[i].key, fe[i].klen) == 0)
        malformed(&r, "duplicate key");
  }
  if (r.at != r.n)
    malformed(&r, "trailing bytes");

  /* then the match with what the program expects, before a single byte is copied */
  char s1[512], s2[512];
  FileEntry **match = calloc((size_t)(n ? n : 1), sizeof *match);
  bool *used = calloc(count ? count : 1, sizeof *used);
  if (!match || !used)
    tt_fatal("out of memory (loading %s)", path);
  for (int i = 0; i < n; i++) {
    size_t klen = strlen(e[i].key);
    for (uint32_t j = 0; j < count && !match[i]; j++)
      if (fe[j].klen == klen && memcmp(fe[j].key, e[i].key, klen) == 0) {
        match[i] = &fe[j];
        used[j] = true;
      }
    const FileEntry *f = match[i];
    if (!f)
      tt_fatal("%s: missing key \"%s\" in checkpoint", path, e[i].key);
    if (f->dtype != (uint32_t)e[i].dtype)
      tt_fatal("%s: dtype mismatch for \"%s\": the checkpoint has %s, the program expects %s",
               path, e[i].key, dtype_name((TtDType)f->dtype), dtype_name(e[i].dtype));
    bool same = f->rank == (uint32_t)e[i].rank;
    for (int d = 0; same && d < e[i].rank; d++)
      same = f->shape[d] == e[i].shape[d];
    if (!same)
      tt_fatal("%s: size mismatch for \"%s\": the checkpoint has shape %s, the program "
               "expects %s",
               path, e[i].key, shape_str((int)f->rank, f->shape, s1, sizeof s1),
               shape_str(e[i].rank, e[i].shape, s2, sizeof s2));
    if (f->bytes != numel(e[i].rank, e[i].shape) * dtype_size(e[i].dtype))
      tt_fatal("%s: checkpoint is malformed (\"%s\" has %llu bytes for shape %s)", path,
               e[i].key, (unsigned long long)f->bytes,
               shape_str(e[i].rank, e[i].shape, s1, sizeof s1));
  }
  /* Strict within the requested keys' common "a.b." prefix: a file holding a model and its
   * optimizer ("model.*", "opt.*") loads each part on its own, but a key the model does not
   * have under its own prefix is an error, as load_state_dict's unexpected keys are. */
  size_t plen = n > 0 ? strlen(e[0].key) : 0;
  for (int i = 1; i < n; i++) {
    size_t k = 0;
    while (k < plen && e[i].key[k] && e[i].key[k] == e[0].key[k]) k++;
    plen = k;
  }
  while (plen > 0 && e[0].key[plen - 1] != '.') plen--;
  for (uint32_t j = 0; j < count; j++)
    if (!used[j] && fe[j].klen >= plen && (plen == 0 || !memcmp(fe[j].key, e[0].key, plen)))
      tt_fatal("%s: unexpected key \"%.*s\" in checkpoint", path, (int)fe[j].klen, fe[j].key);
  for (int i = 0; i < n; i++)
    if (match[i]->bytes)
      memcpy(e[i].data, match[i]->data, (size_t)match[i]->bytes);
  free(used);
  free(match);
  free(fe);
  free(b);
}
