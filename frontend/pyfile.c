/*
 * pyfile.c — Python's open() for reading text, at compile time: open(path).read(),
 * f.readline(), f.readlines(), f.close() and `with open(path) as f:`.
 *
 * A text corpus is data the program is compiled with (DESIGN.md: a corpus read with
 * open().read() is a compile-time value, kept out of the emitted C when large), so the
 * file is read when the program is compiled, relative to the directory ttc runs in, as
 * python3 run from there would read it: UTF-8 (Python's default on Linux), with universal
 * newlines ("\r\n" and "\r" read as "\n"). Writing files, binary mode and other encodings
 * are diagnostics, as are a NUL character (ttc's strings cannot hold one) and text that
 * is not UTF-8 (Python's UnicodeDecodeError).
 */
#include "lower.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define B(name) static Value *pf_##name(L *l, Value *self, Args *a)

/* The class of the objects open() makes: its methods are found by file_getattr. */
static const Builtin file_class = {"_io.TextIOWrapper", 0, NULL, 0};

/* The length of the UTF-8 sequence at s[i..n), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t i, size_t n) {
  unsigned char c = s[i];
  size_t k = c < 0x80 ? 1 : (c >= 0xC2 && c < 0xE0) ? 2 : (c >= 0xE0 && c < 0xF0) ? 3 : (c >= 0xF0 && c < 0xF5) ? 4 : 0;
  if (!k || i + k > n) return 0;
  for (size_t j = 1; j < k; j++)
    if ((s[i + j] & 0xC0) != 0x80) return 0;
  uint32_t u = k == 1 ? c : c & (0x7Fu >> k);
  for (size_t j = 1; j < k; j++) u = u << 6 | (s[i + j] & 0x3Fu);
  static const uint32_t least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (u < least[k] || u > 0x10FFFF || (u >= 0xD800 && u <= 0xDFFF)) return 0; /* overlong, surrogate */
  return k;
}

/* The whole file as Python's text mode reads it, in the arena; a diagnostic otherwise. */
static const char *read_text(L *l, const char *path, int32_t off) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    if (e == ENOENT) lerr(l, off, "FileNotFoundError: [Errno 2] No such file or directory: '%s'", path);
    lerr(l, off, "cannot open '%s': %s", path, strerror(e));
  }
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = xmalloc(cap);
  for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
    n += got;
    if (n == cap) buf = xrealloc(buf, cap *= 2);
  }
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed) {
    free(buf);
    lerr(l, off, "cannot read '%s'", path);
  }
  char *text = arena_alloc(l->arena, n + 1);
  size_t k = 0;
  for (size_t i = 0; i < n;) {
    size_t len = utf8_seq(buf, i, n);
    if (!len || !buf[i]) {
      unsigned byte = buf[i];
      free(buf);
      if (!len)
        lerr(l, off, "UnicodeDecodeError: '%s' is not UTF-8 text (byte 0x%02x at offset %zu)", path, byte, i);
      lerr(l, off, "'%s' holds a NUL character at offset %zu, which ttc's strings cannot hold", path, i);
    }
    if (buf[i] == '\r') { /* universal newlines */
      text[k++] = '\n';
      i += i + 1 < n && buf[i + 1] == '\n' ? 2 : 1;
      continue;
    }
    memcpy(text + k, buf + i, len);
    k += len;
    i += len;
  }
  text[k] = 0;
  free(buf);
  return text;
}

/* open(file, mode='r', buffering=-1, encoding=None, errors=None, newline=None) */
B(open) {
  (void)self;
  Value *v[6];
  args_bind(l, "open", "file, mode='r', buffering=-1, encoding=None, errors=None, newline=None", NULL, a, v, 6);
  if (v[0]->k == V_FSTR) fstr_unsupported(l, "a file name", a->off);
  if (v[0]->k != V_STR) lerr(l, a->off, "open(): expected str as the file name, not %s", v_typename(v[0]));
  const char *mode = v[1] && v[1]->k == V_STR ? v[1]->s : "?";
  if (strcmp(mode, "r") && strcmp(mode, "rt") && strcmp(mode, "tr"))
    lerr(l, a->off, "open(): ttc reads text files while it compiles (mode 'r'); mode '%s' is not supported", mode);
  if (v[3]) {
    const char *enc = v[3]->k == V_STR ? v[3]->s : "";
    if (strcasecmp(enc, "utf-8") && strcasecmp(enc, "utf8") && strcasecmp(enc, "utf_8"))
      lerr(l, a->off, "open(): ttc reads UTF-8 text; encoding=%s is not supported", v_str_of(l, v[3], true, a->off));
  }
  if (v[5]) lerr(l, a->off, "open(): newline= is not supported by ttc (files are read with universal newlines)");
  Value *c = v_new(l, V_CLASS);
  c->bi = &file_class;
  c->s = "_io.TextIOWrapper";
  Value *f = v_new(l, V_OBJECT);
  f->cls = c;
  attrs_set(l, &f->attrs, "name", v[0]);
  attrs_set(l, &f->attrs, "mode", v_str(l, mode));
  attrs_set(l, &f->attrs, "closed", l->vfalse);
  attrs_set(l, &f->attrs, "__text__", v_str(l, read_text(l, v[0]->s, a->off)));
  attrs_set(l, &f->attrs, "__at__", v_int(l, 0));
  return f;
}

bool file_is(const Value *v) {
  return v->k == V_OBJECT && v->cls && v->cls->bi == &file_class;
}

/* The text not read yet, after a check that the file is open. */
static const char *unread(L *l, Value *f, int32_t off) {
  if (attrs_get(&f->attrs, "closed")->i) lerr(l, off, "ValueError: I/O operation on closed file.");
  return attrs_get(&f->attrs, "__text__")->s + attrs_get(&f->attrs, "__at__")->i;
}

static void advance(L *l, Value *f, size_t n) {
  attrs_set(l, &f->attrs, "__at__", v_int(l, attrs_get(&f->attrs, "__at__")->i + (int64_t)n));
}

/* f.read(size=-1): the rest of the file (ttc reads it whole: a size is a diagnostic) */
B(read) {
  Value *v[2];
  args_bind(l, "read", "self, size=-1", self, a, v, 2);
  if (v[1] && !(v[1]->k == V_INT && v[1]->i < 0)) lerr(l, a->off, "read(): ttc reads the whole file; read(size) is not supported");
  const char *s = unread(l, self, a->off);
  advance(l, self, strlen(s));
  return v_str(l, s);
}

/* The next line of f, its "\n" included ("" at the end). */
static Value *next_line(L *l, Value *f, int32_t off) {
  const char *s = unread(l, f, off), *nl = strchr(s, '\n');
  size_t n = nl ? (size_t)(nl - s) + 1 : strlen(s);
  advance(l, f, n);
  return v_str(l, arena_strndup(l->arena, s, n));
}

B(readline) {
  Value *v[1];
  args_bind(l, "readline", "self", self, a, v, 1);
  return next_line(l, self, a->off);
}

B(readlines) {
  Value *v[1];
  args_bind(l, "readlines", "self", self, a, v, 1);
  Value *r = v_new(l, V_LIST);
  while (*unread(l, self, a->off)) v_list_push(l, r, next_line(l, self, a->off));
  return r;
}

B(close) {
  Value *v[1];
  args_bind(l, "close", "self", self, a, v, 1);
  attrs_set(l, &self->attrs, "closed", l->vtrue);
  return l->none;
}

static const Builtin file_methods[] = {
  {"read", 0, pf_read, 0},
  {"readline", 0, pf_readline, 0},
  {"readlines", 0, pf_readlines, 0},
  {"close", 0, pf_close, 0},
};

Value *file_getattr(L *l, Value *obj, const char *name) {
  if (!file_is(obj)) return NULL;
  for (size_t i = 0; i < sizeof file_methods / sizeof file_methods[0]; i++)
    if (!strcmp(name, file_methods[i].name)) return bi_bind(l, &file_methods[i], obj);
  return NULL;
}

const Builtin file_builtins[] = {
  {"open", BI_FUNC, pf_open, 0},
};
const int file_nbuiltins = (int)(sizeof file_builtins / sizeof file_builtins[0]);
