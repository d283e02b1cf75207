/*
 * ckpt.c — checkpoints: a program's named tensors saved and loaded, in the format of
 * docs/CHECKPOINT.md (keep the two in sync).
 *
 * A save never damages a good file: it writes a temporary in the same directory, syncs
 * it, renames it over the target and syncs the directory; it first removes what killed
 * saves of the same checkpoint left behind (the rule is at remove_stale_temporaries). A
 * load reads only regular files (a FIFO would block it forever), checks the 22-byte header
 * before it reads or allocates the rest (so a huge file that is not a checkpoint costs
 * nothing), then checks everything before it copies anything: the length, the CRC32, and
 * that the keys, dtypes and shapes are exactly those the program expects (strict, as
 * load_state_dict, within the requested keys' common prefix). A failing load frees what it
 * holds before tt_fatal, so that the readers' fuzzer (tests/fuzz) can jump back from it.
 */
#include "tt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define CKPT_MAGIC "TTCKPT"
#define CKPT_MAGIC_LEN 6
#define CKPT_VERSION 1u
#define CKPT_HEADER (CKPT_MAGIC_LEN + 4 + 8 + 4) /* magic, version, file size, count */
#define CKPT_MAX_RANK 32
/* A killed save's temporary is removed by a later save once its writer is gone and it has
 * not been written for this long, or once it is this old whatever its writer (the rule:
 * remove_stale_temporaries and docs/CHECKPOINT.md). */
#define STALE_GONE_SECONDS (5 * 60)
#define STALE_ANY_SECONDS (24 * 60 * 60)

/* Besides TtDType's tensor codes 0-5, an entry may hold a Python number saved with the
 * tensors (torch.save({"epoch": 3, "model": ...})): 6 an int (8 bytes, int64), 7 a float (8
 * bytes, float64), 8 a bool (1 byte), each with rank 0 (docs/CHECKPOINT.md). */
enum { CKPT_PY_INT = 6, CKPT_PY_FLOAT = 7, CKPT_PY_BOOL = 8, CKPT_MAX_DTYPE = 8 };

static size_t dtype_size(TtDType dt) {
  switch ((int)dt) {
  case TT_F32: case TT_I32: return 4;
  case TT_F64: case TT_I64: case CKPT_PY_INT: case CKPT_PY_FLOAT: return 8;
  case TT_I8: case TT_BOOL: case CKPT_PY_BOOL: return 1;
  }
  return 0;
}

static const char *dtype_name(TtDType dt) {
  static const char *names[] = {"float32", "float64", "int64", "int32", "int8", "bool",
                                "a Python int", "a Python float", "a Python bool"};
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

/*
 * Removes the temporaries that killed saves of path left: PATH.tmp.PID.XXXXXX, where PID
 * is the writer's process id and XXXXXX mkstemp's six letters or digits. Only files of
 * exactly that name, for exactly this path, regular, and owned by this user are touched,
 * and of those only ones that no writer can still be using:
 *   - its writer is gone (kill(PID, 0) says ESRCH) and it has not been written for
 *     STALE_GONE_SECONDS: a live writer writes as it goes, and the pause guards a writer
 *     whose PID this process cannot see (another PID namespace, or another host sharing the
 *     directory), which is still writing;
 *   - or it has not been written for STALE_ANY_SECONDS, whatever its PID says (a PID that
 *     was reused would otherwise keep a dead writer's file forever).
 * A writer is never harmed by losing a file it is no longer writing to: its rename then
 * fails and its save reports an error, and the checkpoint it meant to replace stays whole.
 * A name cannot be taken by a new writer between the check and the unlink, as mkstemp
 * never reuses an existing name.
 */
static void remove_stale_temporaries(const char *path) {
  const char *slash = strrchr(path, '/');
  const char *base = slash ? slash + 1 : path;
  size_t dlen = slash ? (size_t)(slash - path) : 0, blen = strlen(base);
  char *dir = malloc(dlen + 2);
  if (!dir || !*base) {
    free(dir);
    return;
  }
  if (!slash)
    strcpy(dir, ".");
  else if (dlen == 0)
    strcpy(dir, "/"); /* "/x.ckpt" */
  else {
    memcpy(dir, path, dlen);
    dir[dlen] = '\0';
  }
  DIR *d = opendir(dir);
  if (!d) {
    free(dir);
    return;
  }
  time_t now = time(NULL);
  struct dirent *de;
  while ((de = readdir(d))) {
    const char *nm = de->d_name;
    if (strncmp(nm, base, blen) != 0 || strncmp(nm + blen, ".tmp.", 5) != 0)
      continue;
    const char *s = nm + blen + 5;
    long long pid = 0;
    int digits = 0;
    for (; *s >= '0' && *s <= '9' && digits < 10; s++, digits++)
      pid = pid * 10 + (*s - '0');
    if (digits == 0 || pid <= 0 || pid > INT_MAX || *s != '.' || strlen(s + 1) != 6)
      continue;
    bool letters = true;
    for (const char *c = s + 1; *c; c++)
      letters &= (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
    if (!letters)
      continue;
    size_t flen = strlen(dir) + 1 + strlen(nm) + 1;
    char *full = malloc(flen);
    if (!full)
      break;
    snprintf(full, flen, "%s/%s", dir, nm);
    struct stat st;
    if (lstat(full, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid()) {
      double idle = difftime(now, st.st_mtime);
      bool gone = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
      if ((gone && idle >= STALE_GONE_SECONDS) || idle >= STALE_ANY_SECONDS)
        unlink(full); /* at worst someone else removed it first */
    }
    free(full);
  }
  closedir(d);
  free(dir);
}

void tt_ckpt_save(const char *path, const TtCkptEntry *e, int n) {
  if (path[0] == '\1') { /* safetensors.torch.save_file (safetensors.c) */
    tt_st_save(path, e, n);
    return;
  }
  check_entries(path, e, n, "save");
  remove_stale_temporaries(path);
  uint64_t total = CKPT_HEADER + 4;
  for (int i = 0; i < n; i++)
    total += 4 + strlen(e[i].key) + 4 + 4 + 8 * (uint64_t)e[i].rank + 8 +
             numel(e[i].rank, e[i].shape) * dtype_size(e[i].dtype);

  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp)
    tt_fatal("out of memory (saving %s)", path);
  /* the writer's PID in the name lets a later save tell a killed save's file from a live one */
  snprintf(tmp, plen + 32, "%s.tmp.%ld.XXXXXX", path, (long)getpid());
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

typedef struct FileEntry {
  const char *key;
  uint32_t klen, dtype, rank;
  int64_t shape[CKPT_MAX_RANK];
  uint64_t bytes;
  const unsigned char *data;
} FileEntry;

/* What a load holds, so that an error frees it before tt_fatal (which may jump back to a
 * test or a fuzzer rather than exit). */
typedef struct Load {
  const char *path;
  int fd;                    /* -1 once closed */
  unsigned char *b;          /* the whole file */
  size_t len;
  FileEntry *fe;
  FileEntry **match;
  bool *used;
} Load;

static void load_release(Load *l) {
  if (l->fd >= 0)
    close(l->fd);
  l->fd = -1;
  free(l->b);
  free(l->fe);
  free(l->match);
  free(l->used);
  l->b = NULL, l->fe = NULL, l->match = NULL, l->used = NULL;
}

/* The message first (its arguments may point into the file's bytes), then the release. */
static _Noreturn __attribute__((format(printf, 2, 3))) void load_fail(Load *l, const char *fmt,
                                                                      ...) {
  char msg[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  load_release(l);
  tt_fatal("%s", msg);
}

typedef struct Reader {
  const unsigned char *b;
  size_t n, at;
  Load *l;
} Reader;

static uint64_t get_le(const unsigned char *b, int k) {
  uint64_t v = 0;
  for (int i = k - 1; i >= 0; i--)
    v = v << 8 | b[i];
  return v;
}

/* The file's CRC was right, yet its structure is not: another writer, or a bug. */
static _Noreturn void malformed(const Reader *r, const char *what) {
  load_fail(r->l, "%s: checkpoint is malformed (%s at byte %zu)", r->l->path, what, r->at);
}

static const unsigned char *take(Reader *r, uint64_t k, const char *what) {
  if (k > r->n - r->at)
    malformed(r, what);
  const unsigned char *p = r->b + r->at;
  r->at += (size_t)k;
  return p;
}

/* Reads up to n bytes at off; returns how many there were (fewer at the end of the file). */
static size_t read_at(Load *l, unsigned char *buf, size_t n, off_t off) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = pread(l->fd, buf + got, n - got, off + (off_t)got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      load_fail(l, "%s: cannot read checkpoint: %s", l->path, strerror(errno));
    if (r == 0)
      break;
    got += (size_t)r;
  }
  return got;
}

/*
 * Opens the file and checks its header before anything else is read or allocated: the
 * magic, the version, and that the size the header claims is the file's. Then reads the
 * whole file into l->b: at most the size of a file whose header agrees with it.
 */
static void read_checked(Load *l) {
  const char *why;
  l->fd = tt_open_regular(l->path, &why);
  if (l->fd < 0)
    load_fail(l, "%s: cannot open checkpoint: %s", l->path, why);
  struct stat st;
  if (fstat(l->fd, &st) != 0)
    load_fail(l, "%s: cannot open checkpoint: %s", l->path, strerror(errno));
  uint64_t size = (uint64_t)st.st_size;
  unsigned char h[CKPT_HEADER];
  size_t hn = read_at(l, h, size < CKPT_HEADER ? (size_t)size : CKPT_HEADER, 0);
  size_t m = hn < CKPT_MAGIC_LEN ? hn : CKPT_MAGIC_LEN;
  if (memcmp(h, CKPT_MAGIC, m) != 0)
    load_fail(l, "%s: not a ttc checkpoint (bad magic)", l->path);
  if (hn < CKPT_MAGIC_LEN + 4)
    load_fail(l, "%s: checkpoint is truncated", l->path);
  uint32_t version = (uint32_t)get_le(h + CKPT_MAGIC_LEN, 4);
  if (version != CKPT_VERSION)
    load_fail(l, "%s: checkpoint format version %u is not supported", l->path, version);
  if (hn < CKPT_HEADER)
    load_fail(l, "%s: checkpoint is truncated", l->path);
  uint64_t claimed = get_le(h + CKPT_MAGIC_LEN + 4, 8);
  if (claimed > size) /* a file shorter than its header says was cut off */
    load_fail(l, "%s: checkpoint is truncated", l->path);
  if (claimed < size)
    load_fail(l, "%s: checkpoint is corrupted (its header says %llu bytes, the file has %llu)",
              l->path, (unsigned long long)claimed, (unsigned long long)size);
  if (size > SIZE_MAX - 1)
    load_fail(l, "out of memory (loading %s, %llu bytes)", l->path, (unsigned long long)size);
  l->len = (size_t)size;
  l->b = malloc(l->len);
  if (!l->b)
    load_fail(l, "out of memory (loading %s, %zu bytes)", l->path, l->len);
  memcpy(l->b, h, CKPT_HEADER);
  if (read_at(l, l->b + CKPT_HEADER, l->len - CKPT_HEADER, CKPT_HEADER) != l->len - CKPT_HEADER)
    load_fail(l, "%s: checkpoint is truncated", l->path); /* it shrank as it was read */
  close(l->fd);
  l->fd = -1;
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

void tt_ckpt_load(const char *path, const TtCkptEntry *e, int n) {
  if (path[0] == '\1') { /* safetensors.torch.load_file (safetensors.c) */
    tt_st_load(path, e, n);
    return;
  }
  check_entries(path, e, n, "load");
  Load l = {path, -1, NULL, 0, NULL, NULL, NULL};
  read_checked(&l);
  const unsigned char *b = l.b;
  size_t len = l.len; /* = the header's size, at least CKPT_HEADER */
  if (len < CKPT_HEADER + 4 || crc_of(b, len - 4) != (uint32_t)get_le(b + len - 4, 4))
    load_fail(&l, "%s: checkpoint is corrupted (checksum mismatch)", path);
  Reader r = {b, len - 4, CKPT_MAGIC_LEN + 4, &l};
  if (get_le(take(&r, 8, "file size"), 8) != len)
    malformed(&r, "file size");
  uint32_t count = (uint32_t)get_le(take(&r, 4, "entry count"), 4);
  if (count > (len - CKPT_HEADER) / 20) /* each entry takes at least 20 bytes */
    malformed(&r, "entry count");
  FileEntry *fe = l.fe = calloc(count ? count : 1, sizeof *fe);
  if (!fe)
    load_fail(&l, "out of memory (loading %s)", path);
  for (uint32_t i = 0; i < count; i++) {
    fe[i].klen = (uint32_t)get_le(take(&r, 4, "key length"), 4);
    fe[i].key = (const char *)take(&r, fe[i].klen, "key");
    fe[i].dtype = (uint32_t)get_le(take(&r, 4, "dtype"), 4);
    fe[i].rank = (uint32_t)get_le(take(&r, 4, "rank"), 4);
    if (fe[i].dtype > CKPT_MAX_DTYPE)
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
  FileEntry **match = l.match = calloc((size_t)(n ? n : 1), sizeof *match);
  bool *used = l.used = calloc(count ? count : 1, sizeof *used);
  if (!match || !used)
    load_fail(&l, "out of memory (loading %s)", path);
  for (int i = 0; i < n; i++) {
    size_t klen = strlen(e[i].key);
    for (uint32_t j = 0; j < count && !match[i]; j++)
      if (fe[j].klen == klen && memcmp(fe[j].key, e[i].key, klen) == 0) {
        match[i] = &fe[j];
        used[j] = true;
      }
    const FileEntry *f = match[i];
    if (!f)
      load_fail(&l, "%s: missing key \"%s\" in checkpoint", path, e[i].key);
    if (f->dtype != (uint32_t)e[i].dtype)
      load_fail(&l, "%s: dtype mismatch for \"%s\": the checkpoint has %s, the program expects %s",
                path, e[i].key, dtype_name((TtDType)f->dtype), dtype_name(e[i].dtype));
    bool same = f->rank == (uint32_t)e[i].rank;
    for (int d = 0; same && d < e[i].rank; d++)
      same = f->shape[d] == e[i].shape[d];
    if (!same)
      load_fail(&l, "%s: size mismatch for \"%s\": the checkpoint has shape %s, the program "
                "expects %s",
                path, e[i].key, shape_str((int)f->rank, f->shape, s1, sizeof s1),
                shape_str(e[i].rank, e[i].shape, s2, sizeof s2));
    if (f->bytes != numel(e[i].rank, e[i].shape) * dtype_size(e[i].dtype))
      load_fail(&l, "%s: checkpoint is malformed (\"%s\" has %llu bytes for shape %s)", path,
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
      load_fail(&l, "%s: unexpected key \"%.*s\" in checkpoint", path,
                fe[j].klen > 1000 ? 1000 : (int)fe[j].klen, fe[j].key); /* not NUL-ended */
  for (int i = 0; i < n; i++)
    if (match[i]->bytes)
      memcpy(e[i].data, match[i]->data, (size_t)match[i]->bytes);
  load_release(&l);
}
