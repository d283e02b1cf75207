/*
 * safetensors.c — tensors in the safetensors format, read and written at run time, so that
 * weights trained in PyTorch run in a ttc program and a ttc program's weights load in
 * PyTorch (safetensors.torch.save_file / load_file, save_model / load_model).
 *
 * The format (github.com/huggingface/safetensors, docs "Format"): an 8-byte little-endian
 * unsigned header length N, then N bytes of a UTF-8 JSON object (padded with spaces), then
 * the data. Each key of the object but "__metadata__" (a str -> str object) names a tensor:
 * {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, the offsets relative to
 * the data's start; tensors are row-major little-endian and, together, cover the data with
 * no gap and no overlap. The JSON is parsed and printed with Debian's cJSON.
 *
 * A load checks the whole header before it copies anything: the length against the file's
 * size, the JSON, every entry's dtype, shape and offsets, that the offsets tile the data
 * exactly, and that the names, dtypes and shapes are exactly the program's (strict, as
 * load_file's dict and load_model are checked when the program was compiled). A failure
 * names the file and what is wrong and exits with status 1 (tt_fatal), after freeing what
 * it holds. A save writes a temporary in the same directory and renames it over the target.
 *
 * The generated code reaches these through tt_ckpt_save / tt_ckpt_load (ckpt.c): a path
 * that starts with byte 1 is "\1METADATA\1PATH", METADATA the __metadata__ object's JSON
 * text or empty (frontend/safetensors.c writes it; keep the two in sync).
 */
#include "tt.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* safetensors' own limit on the header, which keeps a damaged length from costing memory */
#define ST_MAX_HEADER (100u * 1000u * 1000u)

static const char *st_dtype(TtDType dt) {
  switch (dt) {
  case TT_F32: return "F32";
  case TT_F64: return "F64";
  case TT_I64: return "I64";
  case TT_I32: return "I32";
  case TT_I8: return "I8";
  case TT_BOOL: return "BOOL";
  }
  return NULL;
}

static size_t st_size(TtDType dt) {
  switch (dt) {
  case TT_F32: case TT_I32: return 4;
  case TT_F64: case TT_I64: return 8;
  case TT_I8: case TT_BOOL: return 1;
  }
  return 0;
}

/* Element sizes of the format's dtypes, for checking entries ttc does not hold. */
static size_t st_any_size(const char *s) {
  static const struct { const char *name; size_t size; } t[] = {
      {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"I16", 2}, {"U16", 2},
      {"F16", 2}, {"BF16", 2}, {"I32", 4}, {"U32", 4}, {"F32", 4}, {"F64", 8}, {"I64", 8},
      {"U64", 8}};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (!strcmp(s, t[i].name)) return t[i].size;
  return 0;
}

static uint64_t numel(const TtCkptEntry *e) {
  uint64_t n = 1;
  for (int d = 0; d < e->rank; d++) n *= (uint64_t)e->shape[d];
  return n;
}

/* "\1META\1PATH" into its parts (meta is NULL when empty). */
static void split_path(const char *tagged, char **meta, const char **path) {
  const char *sep = strchr(tagged + 1, '\1');
  if (!sep) tt_fatal("internal error: a safetensors path without its metadata separator");
  size_t n = (size_t)(sep - (tagged + 1));
  *meta = NULL;
  if (n) {
    *meta = malloc(n + 1);
    if (!*meta) tt_fatal("out of memory");
    memcpy(*meta, tagged + 1, n);
    (*meta)[n] = 0;
  }
  *path = sep + 1;
}

/* ---- save ----------------------------------------------------------------------------- */

/* The format's dtype order (BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32,
 * F32, F64, I64, U64): the package writes the data in descending dtype order, then by name,
 * which keeps every tensor aligned; ttc writes the same bytes. */
static int st_rank(TtDType dt) {
  switch (dt) {
  case TT_BOOL: return 0;
  case TT_I8: return 2;
  case TT_I32: return 9;
  case TT_F32: return 11;
  case TT_F64: return 12;
  case TT_I64: return 13;
  }
  return 0;
}

static int by_dtype_then_name(const void *a, const void *b) {
  const TtCkptEntry *x = *(const TtCkptEntry *const *)a, *y = *(const TtCkptEntry *const *)b;
  int rx = st_rank(x->dtype), ry = st_rank(y->dtype);
  if (rx != ry) return rx > ry ? -1 : 1;
  return strcmp(x->key, y->key);
}

void tt_st_save(const char *tagged, const TtCkptEntry *e, int n) {
  char *meta;
  const char *path;
  split_path(tagged, &meta, &path);
  const TtCkptEntry **order = malloc(sizeof *order * (size_t)(n ? n : 1));
  cJSON *root = cJSON_CreateObject();
  if (!order || !root) tt_fatal("out of memory");
  if (meta) {
    cJSON *m = cJSON_Parse(meta);
    if (!m) tt_fatal("internal error: bad safetensors metadata");
    cJSON_AddItemToObject(root, "__metadata__", m);
    free(meta);
  }
  for (int i = 0; i < n; i++) order[i] = &e[i];
  qsort(order, (size_t)n, sizeof *order, by_dtype_then_name);
  uint64_t off = 0;
  for (int i = 0; i < n; i++) {
    const TtCkptEntry *t = order[i];
    uint64_t bytes = numel(t) * st_size(t->dtype);
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *offs = cJSON_CreateArray();
    if (!o || !shape || !offs) tt_fatal("out of memory");
    cJSON_AddStringToObject(o, "dtype", st_dtype(t->dtype));
    for (int d = 0; d < t->rank; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddItemToObject(o, "shape", shape);
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
    cJSON_AddItemToObject(o, "data_offsets", offs);
    cJSON_AddItemToObject(root, t->key, o);
    off += bytes;
  }
  char *json = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!json) tt_fatal("out of memory");
  size_t hlen = strlen(json);
  size_t padded = (hlen + 7) / 8 * 8; /* the data starts 8-byte aligned, as safetensors writes */

  char tmp[4096];
  if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid()) >= sizeof tmp)
    tt_fatal("cannot write '%s': path too long", path);
  FILE *f = fopen(tmp, "wb");
  if (!f) tt_fatal("cannot write '%s': %s", path, strerror(errno));
  unsigned char len8[8];
  for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
  bool ok = fwrite(len8, 1, 8, f) == 8 && fwrite(json, 1, hlen, f) == hlen;
  for (size_t i = hlen; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
  for (int i = 0; ok && i < n; i++) {
    size_t bytes = (size_t)(numel(order[i]) * st_size(order[i]->dtype));
    ok = !bytes || fwrite(order[i]->data, 1, bytes, f) == bytes;
  }
  free(json);
  free(order);
  int err = errno;
  if (fflush(f) != 0 || fsync(fileno(f)) != 0) ok = false, err = errno;
  if (fclose(f) != 0 && ok) ok = false, err = errno;
  if (!ok || rename(tmp, path) != 0) {
    if (ok) err = errno;
    unlink(tmp);
    tt_fatal("cannot write '%s': %s", path, strerror(err));
  }
}

/* ---- load ----------------------------------------------------------------------------- */

typedef struct Span {
  uint64_t begin, end;
} Span;

static int by_begin(const void *a, const void *b) {
  const Span *x = a, *y = b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : x->end < y->end ? -1 : x->end > y->end;
}

/* A JSON number that is a non-negative integer below 2^53 (exact in a double). */
static bool json_u64(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j)) return false;
  double v = j->valuedouble;
  if (!(v >= 0 && v < 9007199254740992.0) || v != (double)(uint64_t)v) return false;
  *out = (uint64_t)v;
  return true;
}

/* What is wrong with the header, or NULL; spans receives each tensor's data range. */
static const char *check_header(const cJSON *root, uint64_t datalen, Span *spans, int *nspans,
                                char *why, size_t nwhy) {
  if (!cJSON_IsObject(root)) return "the header is not a JSON object";
  int k = 0;
  for (const cJSON *it = root->child; it; it = it->next) {
    if (!it->string) return "the header has an entry without a name";
    for (const cJSON *o = root->child; o != it; o = o->next)
      if (!strcmp(o->string, it->string)) {
        snprintf(why, nwhy, "the header names '%.200s' twice", it->string);
        return why;
      }
    if (!strcmp(it->string, "__metadata__")) {
      if (!cJSON_IsObject(it)) return "__metadata__ is not a JSON object";
      for (const cJSON *m = it->child; m; m = m->next)
        if (!cJSON_IsString(m)) return "a __metadata__ value is not a string";
      continue;
    }
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    size_t esize = cJSON_IsString(dt) ? st_any_size(dt->valuestring) : 0;
    uint64_t b, e, count = 1;
    if (!cJSON_IsObject(it) || !esize || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
        cJSON_GetArraySize(offs) != 2 || !json_u64(cJSON_GetArrayItem(offs, 0), &b) ||
        !json_u64(cJSON_GetArrayItem(offs, 1), &e) || b > e) {
      snprintf(why, nwhy, "tensor '%.200s' has a bad dtype, shape or data_offsets", it->string);
      return why;
    }
    if (e > datalen) {
      snprintf(why, nwhy, "tensor '%.200s' lies past the end of the data (the file is truncated)", it->string);
      return why;
    }
    for (const cJSON *d = shape->child; d; d = d->next) {
      uint64_t x;
      if (!json_u64(d, &x) || (x && count > UINT64_MAX / x)) {
        snprintf(why, nwhy, "tensor '%.200s' has a bad shape", it->string);
        return why;
      }
      count *= x;
    }
    if (count > UINT64_MAX / esize || count * esize != e - b) {
      snprintf(why, nwhy, "tensor '%.200s': its data_offsets do not hold its shape", it->string);
      return why;
    }
    spans[k++] = (Span){b, e};
  }
  qsort(spans, (size_t)k, sizeof *spans, by_begin);
  uint64_t at = 0;
  for (int i = 0; i < k; i++) {
    if (spans[i].begin != at) return "the tensors' data_offsets overlap or leave a gap";
    at = spans[i].end;
  }
  if (at != datalen) return "the data is not exactly the tensors' bytes (truncated, or extra bytes)";
  *nspans = k;
  return NULL;
}

static bool same_shape(const cJSON *shape, const TtCkptEntry *e) {
  if (cJSON_GetArraySize(shape) != e->rank) return false;
  int d = 0;
  for (const cJSON *x = shape->child; x; x = x->next, d++)
    if (x->valuedouble != (double)e->shape[d]) return false;
  return true;
}

static char *shape_text(const TtCkptEntry *e, char *buf, size_t n) {
  size_t o = (size_t)snprintf(buf, n, "[");
  for (int d = 0; d < e->rank && o < n; d++)
    o += (size_t)snprintf(buf + o, n - o, "%s%lld", d ? ", " : "", (long long)e->shape[d]);
  if (o < n) snprintf(buf + o, n - o, "]");
  return buf;
}

void tt_st_load(const char *tagged, const TtCkptEntry *e, int n) {
  char *meta;
  const char *path;
  split_path(tagged, &meta, &path);
  free(meta);
  const char *why;
  int fd = tt_open_regular(path, &why);
  if (fd < 0) tt_fatal("cannot read '%s': %s", path, why);
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    close(fd);
    tt_fatal("cannot read '%s': %s", path, strerror(errno));
  }
  struct stat sb;
  unsigned char len8[8];
  char *head = NULL;
  cJSON *root = NULL;
  Span *spans = NULL;
  char msg[768];
  msg[0] = 0;
  uint64_t hlen = 0;
  if (fstat(fileno(f), &sb) != 0 || fread(len8, 1, 8, f) != 8) {
    snprintf(msg, sizeof msg, "is not a safetensors file (shorter than its 8-byte header length)");
    goto fail;
  }
  for (int i = 0; i < 8; i++) hlen |= (uint64_t)len8[i] << (8 * i);
  if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > (uint64_t)sb.st_size - 8) {
    snprintf(msg, sizeof msg, "is not a safetensors file or is truncated (header length %llu, file size %lld)",
             (unsigned long long)hlen, (long long)sb.st_size);
    goto fail;
  }
  head = malloc((size_t)hlen + 1);
  if (!head) tt_fatal("out of memory");
  if (fread(head, 1, (size_t)hlen, f) != hlen) {
    snprintf(msg, sizeof msg, "is truncated (its header)");
    goto fail;
  }
  head[hlen] = 0;
  if (head[0] != '{') {
    snprintf(msg, sizeof msg, "is not a safetensors file (its header is not a JSON object)");
    goto fail;
  }
  const char *end = NULL;
  root = cJSON_ParseWithLengthOpts(head, (size_t)hlen, &end, false);
  /* what follows the object may only be the spaces that pad the header */
  while (root && end && end < head + hlen && (*end == ' ' || *end == '\n' || *end == '\t' || *end == '\r'))
    end++;
  if (!root || end != head + hlen) {
    snprintf(msg, sizeof msg, "has a damaged header (not valid JSON)");
    goto fail;
  }
  uint64_t datalen = (uint64_t)sb.st_size - 8 - hlen;
  spans = malloc(sizeof *spans * (size_t)(cJSON_GetArraySize(root) + 1));
  if (!spans) tt_fatal("out of memory");
  int nspans = 0;
  char why_buf[512];
  const char *bad = check_header(root, datalen, spans, &nspans, why_buf, sizeof why_buf);
  if (bad) {
    snprintf(msg, sizeof msg, "is damaged: %s", bad);
    goto fail;
  }
  /* exactly the program's tensors, with its dtypes and shapes */
  for (int i = 0; i < n; i++) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, e[i].key);
    char s1[256];
    if (!it || !strcmp(e[i].key, "__metadata__")) {
      snprintf(msg, sizeof msg, "has no tensor '%.200s'", e[i].key);
      goto fail;
    }
    const char *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype")->valuestring;
    if (!st_dtype(e[i].dtype) || strcmp(dt, st_dtype(e[i].dtype))) {
      snprintf(msg, sizeof msg, "holds '%.200s' as %s, the program expects %s", e[i].key, dt,
               st_dtype(e[i].dtype) ? st_dtype(e[i].dtype) : "?");
      goto fail;
    }
    if (!same_shape(cJSON_GetObjectItemCaseSensitive(it, "shape"), &e[i])) {
      snprintf(msg, sizeof msg, "holds '%.200s' with another shape than the program's %s", e[i].key,
               shape_text(&e[i], s1, sizeof s1));
      goto fail;
    }
  }
  int meta_n = cJSON_GetObjectItemCaseSensitive(root, "__metadata__") ? 1 : 0;
  if (nspans != n || cJSON_GetArraySize(root) - meta_n != n) {
    for (const cJSON *it = root->child; it; it = it->next) {
      bool known = !strcmp(it->string, "__metadata__");
      for (int i = 0; i < n && !known; i++) known = !strcmp(it->string, e[i].key);
      if (!known) {
        snprintf(msg, sizeof msg, "holds tensor '%.200s', which the program does not expect", it->string);
        goto fail;
      }
    }
  }
  /* a BOOL byte other than 0 or 1 is damage too: checked before anything is written, so a
   * failed load leaves the program's tensors as they were */
  for (int i = 0; i < n; i++) {
    if (e[i].dtype != TT_BOOL) continue;
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, e[i].key), "data_offsets");
    uint64_t b = (uint64_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
    if (fseeko(f, (off_t)(8 + hlen + b), SEEK_SET) != 0) {
      snprintf(msg, sizeof msg, "is truncated (tensor '%.200s')", e[i].key);
      goto fail;
    }
    for (uint64_t k = 0; k < numel(&e[i]); k++) {
      int c = fgetc(f);
      if (c == EOF || c > 1) {
        snprintf(msg, sizeof msg, c == EOF ? "is truncated (tensor '%.200s')"
                                           : "is damaged: tensor '%.200s' holds a BOOL that is neither 0 nor 1",
                 e[i].key);
        goto fail;
      }
    }
  }
  for (int i = 0; i < n; i++) {
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, e[i].key), "data_offsets");
    uint64_t b = (uint64_t)cJSON_GetArrayItem(offs, 0)->valuedouble;
    size_t bytes = (size_t)(numel(&e[i]) * st_size(e[i].dtype));
    if (bytes && (fseeko(f, (off_t)(8 + hlen + b), SEEK_SET) != 0 || fread(e[i].data, 1, bytes, f) != bytes)) {
      /* the file shrank since its size was checked: what was read is lost with the program */
      snprintf(msg, sizeof msg, "is truncated (tensor '%.200s')", e[i].key);
      goto fail;
    }
  }
fail:
  free(head);
  free(spans);
  cJSON_Delete(root);
  fclose(f);
  if (msg[0]) tt_fatal("safetensors file '%s' %s", path, msg);
}
