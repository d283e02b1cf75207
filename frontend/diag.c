/*
 * diag.c — source files and clang-style diagnostics.
 *
 * Tokens and AST nodes carry only a byte offset; the line and column are computed here,
 * when a message is printed, by scanning the text from the start (a compilation stops at
 * its first few errors, so the scan costs nothing that matters). A line break is "\n",
 * "\r\n" or a lone "\r", as in the lexer. The source line is echoed with its tabs kept and
 * the caret line reuses those tabs, so the caret sits under the column in any terminal.
 */
#include "frontend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Offsets are int32_t; refuse what they cannot address. */
#define MAX_SOURCE_BYTES ((size_t)INT32_MAX - 16)

/* Echo at most this many bytes of a long line (a minified or binary file), around the column. */
#define LINE_WINDOW 160

static Source *source_make(const char *name, size_t len) {
  size_t nlen = strlen(name);
  Source *s = xmalloc(sizeof *s + nlen + 1 + len + 1);
  char *nm = (char *)(s + 1);
  char *text = nm + nlen + 1;
  memcpy(nm, name, nlen + 1);
  text[len] = '\0';
  s->name = nm;
  s->text = text;
  s->len = len;
  s->base = 0;
  s->next = NULL;
  return s;
}

Source *source_from_string(const char *name, const char *text) {
  size_t len = strlen(text);
  Source *s = source_make(name, len);
  memcpy((char *)s->text, text, len);
  return s;
}

/* Reads through fread in chunks rather than trusting st_size, so pipes work too. */
Source *source_read(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "ttc: error: cannot read '%s': %s\n", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    fprintf(stderr, "ttc: error: cannot read '%s': is a directory\n", path);
    fclose(f);
    return NULL;
  }
  size_t cap = 1 << 16, len = 0;
  char *buf = xmalloc(cap);
  for (;;) {
    if (len == cap) {
      if (cap > MAX_SOURCE_BYTES) {
        fprintf(stderr, "ttc: error: cannot read '%s': file too large\n", path);
        free(buf);
        fclose(f);
        return NULL;
      }
      cap *= 2;
      buf = xrealloc(buf, cap);
    }
    size_t got = fread(buf + len, 1, cap - len, f);
    len += got;
    if (got == 0)
      break;
  }
  int bad = ferror(f);
  int err = errno;
  fclose(f);
  if (bad || len > MAX_SOURCE_BYTES) {
    fprintf(stderr, "ttc: error: cannot read '%s': %s\n", path,
            bad ? strerror(err) : "file too large");
    free(buf);
    return NULL;
  }
  Source *s = source_make(path, len);
  memcpy((char *)s->text, buf, len);
  free(buf);
  return s;
}

void source_free(Source *s) {
  free(s); /* name and text live in the same block */
}

/* ---- printing ------------------------------------------------------------------------ */

static bool is_break(char c) {
  return c == '\n' || c == '\r';
}

void diag_verror(Diag *d, const char *kind, int32_t off, const char *fmt, va_list ap) {
  FILE *out = d->out ? d->out : stderr;
  if (strcmp(kind, "error") == 0)
    d->nerrors++;
  const Source *s = d->src;
  if (!s) {
    fprintf(out, "ttc: %s: ", kind);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    return;
  }
  /* the file the offset falls in: the last imported one starting at or before it */
  for (const Source *m = d->imported; m; m = m->next)
    if (off >= m->base)
      s = m;
  size_t pos = off < 0 ? 0 : (size_t)off;
  if (pos > s->len)
    pos = s->len;
  const char *t = s->text;
  int line = 1;
  size_t bol = (size_t)s->base;
  for (size_t i = (size_t)s->base; i < pos; i++) {
    if (t[i] == '\n' || (t[i] == '\r' && t[i + 1] != '\n')) {
      line++;
      bol = i + 1;
    }
  }
  /* An offset on the "\n" of a "\r\n" pair belongs to the line the pair ends. */
  size_t eol = bol;
  while (eol < s->len && !is_break(t[eol]))
    eol++;
  if (pos > eol)
    pos = eol;
  fprintf(out, "%s:%d:%zu: %s: ", s->name, line, pos - bol + 1, kind);
  vfprintf(out, fmt, ap);
  fputc('\n', out);

  size_t from = bol, to = eol;
  if (to - from > LINE_WINDOW) {
    from = pos > bol + LINE_WINDOW / 2 ? pos - LINE_WINDOW / 2 : bol;
    to = from + LINE_WINDOW < eol ? from + LINE_WINDOW : eol;
  }
  /* Control bytes (and NULs from binary input) are shown as '?' so the echo cannot
   * disturb the terminal; tabs stay so that the caret line can mirror them. */
  for (size_t i = from; i < to; i++) {
    unsigned char c = (unsigned char)t[i];
    fputc(c == '\t' || (c >= 0x20 && c != 0x7f) ? c : '?', out);
  }
  fputc('\n', out);
  for (size_t i = from; i < pos; i++) {
    unsigned char c = (unsigned char)t[i];
    if (c == '\t')
      fputc('\t', out);
    else if ((c & 0xc0) != 0x80) /* one column per UTF-8 character, not per byte */
      fputc(' ', out);
  }
  fputs("^\n", out);
}

void diag_error(Diag *d, int32_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, "error", off, fmt, ap);
  va_end(ap);
}

void diag_note(Diag *d, int32_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, "note", off, fmt, ap);
  va_end(ap);
}
