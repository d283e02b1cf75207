/*
 * text.c — what the tokenizers (tokenizers.c) need of text: UTF-8 code points, Python's
 * whitespace, a growable byte buffer, a set of strings that numbers them, and a hash map
 * from 64-bit keys to ints. Everything here is malloc'd and freed by its owner, as the
 * tables are working memory, not values the program keeps.
 */
#include "lower.h"

#include <stdlib.h>
#include <string.h>

/* ---- UTF-8 and Python's whitespace --------------------------------------------------- */

/* The end of the code point starting at s[i] (a stray byte is one character). */
size_t utf8_end(const char *s, size_t i, size_t n) {
  unsigned char c = (unsigned char)s[i];
  size_t want = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4, j = i + 1;
  while (j < n && j < i + want && ((unsigned char)s[j] & 0xC0) == 0x80) j++;
  return j;
}

uint32_t utf8_cp(const char *s, size_t i, size_t j) {
  unsigned char c = (unsigned char)s[i];
  if (j - i == 1) return c;
  uint32_t u = c & (0x3Fu >> (j - i - 1));
  for (size_t k = i + 1; k < j; k++) u = u << 6 | ((unsigned char)s[k] & 0x3Fu);
  return u;
}

/* str.split()'s separators: the code points for which str.isspace() is true. */
bool py_isspace(uint32_t u) {
  static const uint32_t ranges[][2] = {{0x09, 0x0D}, {0x1C, 0x20},     {0x85, 0x85},
                                       {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A},
                                       {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F},
                                       {0x3000, 0x3000}};
  for (size_t r = 0; r < sizeof ranges / sizeof ranges[0]; r++)
    if (u >= ranges[r][0] && u <= ranges[r][1]) return true;
  return false;
}

/* The end of the run of whitespace at s[i] (i itself when there is none). */
size_t text_skip_space(const char *s, size_t i, size_t n) {
  for (size_t j; i < n && py_isspace(utf8_cp(s, i, j = utf8_end(s, i, n)));) i = j;
  return i;
}

/* The end of the run of non-whitespace at s[i]. */
size_t text_skip_word(const char *s, size_t i, size_t n) {
  for (size_t j; i < n && !py_isspace(utf8_cp(s, i, j = utf8_end(s, i, n)));) i = j;
  return i;
}

int64_t utf8_count(const char *s) {
  size_t n = strlen(s);
  int64_t k = 0;
  for (size_t i = 0; i < n; i = utf8_end(s, i, n)) k++;
  return k;
}

/* ---- a growable byte buffer ----------------------------------------------------------- */

void textbuf_add(TextBuf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    b->cap = (b->n + n + 1) * 2;
    b->p = xrealloc(b->p, b->cap);
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

/* ---- interned strings: a string's id by its bytes ------------------------------------ */

static uint64_t strset_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211u;
  return h;
}

const char *strset_str(const Strset *t, int id) {
  return t->bytes.p + t->at[id];
}

static int find_hashed(const Strset *t, const char *s, size_t n, uint64_t h) {
  if (!t->nslot) return -1;
  for (size_t i = h & (t->nslot - 1);; i = (i + 1) & (t->nslot - 1)) {
    int id = t->slot[i];
    if (id < 0) return -1;
    if (t->hash[id] == h && t->len[id] == n && !memcmp(strset_str(t, id), s, n)) return id;
  }
}

static void strset_rehash(Strset *t) {
  size_t ns = t->nslot ? t->nslot * 2 : 64;
  free(t->slot);
  t->slot = xmalloc(sizeof(int32_t) * ns);
  memset(t->slot, 0xFF, sizeof(int32_t) * ns);
  t->nslot = ns;
  for (int id = 0; id < t->n; id++) {
    size_t i = t->hash[id] & (ns - 1);
    while (t->slot[i] >= 0) i = (i + 1) & (ns - 1);
    t->slot[i] = id;
  }
}

int strset_find(const Strset *t, const char *s, size_t n) {
  return find_hashed(t, s, n, strset_hash(s, n));
}

/* The id of the n bytes at s (which must not point into t), added if new. */
int strset_id(Strset *t, const char *s, size_t n) {
  uint64_t h = strset_hash(s, n);
  int id = find_hashed(t, s, n, h);
  if (id >= 0) return id;
  if (t->n == t->cap) {
    t->cap = t->cap ? t->cap * 2 : 256;
    t->at = xrealloc(t->at, sizeof(size_t) * (size_t)t->cap);
    t->len = xrealloc(t->len, sizeof(uint32_t) * (size_t)t->cap);
    t->hash = xrealloc(t->hash, sizeof(uint64_t) * (size_t)t->cap);
  }
  id = t->n++;
  t->at[id] = t->bytes.n;
  t->len[id] = (uint32_t)n;
  t->hash[id] = h;
  textbuf_add(&t->bytes, s, n);
  t->bytes.n++; /* keep the NUL */
  if ((size_t)t->n * 2 > t->nslot) strset_rehash(t);
  else {
    size_t i = h & (t->nslot - 1);
    while (t->slot[i] >= 0) i = (i + 1) & (t->nslot - 1);
    t->slot[i] = id;
  }
  return id;
}

/* The id of string a followed by string b (either may be one of t's own). */
int strset_id2(Strset *t, const char *a, size_t na, const char *b, size_t nb) {
  t->tmp.n = 0;
  textbuf_add(&t->tmp, a, na);
  textbuf_add(&t->tmp, b, nb);
  return strset_id(t, t->tmp.p, t->tmp.n);
}

void strset_free(Strset *t) {
  free(t->bytes.p);
  free(t->at);
  free(t->len);
  free(t->hash);
  free(t->slot);
  free(t->tmp.p);
}

/* ---- a map from 64-bit keys to int32 values -------------------------------------------- */

#define EMPTY INT32_MIN /* a free slot's value */

static size_t u64map_home(uint64_t k, size_t cap) {
  k ^= k >> 33; /* murmur3's finalizer */
  k *= 0xff51afd7ed558ccdu;
  k ^= k >> 33;
  return (size_t)k & (cap - 1);
}

static void u64map_grow(U64Map *m) {
  U64Map old = *m;
  m->cap = old.cap ? old.cap * 2 : 256;
  m->n = 0;
  m->key = xmalloc(sizeof(uint64_t) * m->cap);
  m->val = xmalloc(sizeof(int32_t) * m->cap);
  for (size_t i = 0; i < m->cap; i++) m->val[i] = EMPTY;
  for (size_t i = 0; i < old.cap; i++)
    if (old.val[i] != EMPTY) *u64map_ref(m, old.key[i]) = old.val[i];
  free(old.key);
  free(old.val);
}

int32_t *u64map_ref(U64Map *m, uint64_t k) {
  if ((m->n + 1) * 2 > m->cap) u64map_grow(m);
  size_t i = u64map_home(k, m->cap);
  while (m->val[i] != EMPTY && m->key[i] != k) i = (i + 1) & (m->cap - 1);
  if (m->val[i] == EMPTY) {
    m->key[i] = k;
    m->val[i] = 0;
    m->n++;
  }
  return &m->val[i];
}

/* The value of k, or -1. */
int32_t u64map_get(const U64Map *m, uint64_t k) {
  if (!m->cap) return -1;
  for (size_t i = u64map_home(k, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (m->val[i] == EMPTY) return -1;
    if (m->key[i] == k) return m->val[i];
  }
}

void u64map_free(U64Map *m) {
  free(m->key);
  free(m->val);
}
