/*
 * pyos.c — the pure part of Python's os.path (posixpath), as training scripts use it to
 * build file names: join, basename, dirname, split, splitext. They are functions of their
 * strings alone, so they run at compile time on compile-time strings, with posixpath's
 * exact rules. What depends on the file system when the program runs (os.path.exists,
 * os.makedirs, os.listdir, os.getcwd) is a diagnostic naming it: answering at compile time
 * could differ from what the program would see.
 */
#include "lower.h"

#include <string.h>

static const char *want_str(L *l, Value *v, const char *fn, int32_t off) {
  if (v->k == V_FSTR) fstr_unsupported(l, arena_printf(l->arena, "os.path.%s()", fn), off);
  if (v->k != V_STR) lerr(l, off, "%s() argument must be str, not %s", fn, v_typename(v));
  return v->s;
}

static Value *one_str(L *l, Args *a, const char *fn) {
  if (a->npos != 1 || a->nkw) lerr(l, a->off, "os.path.%s() takes exactly one argument (a path)", fn);
  return a->pos[0];
}

/* posixpath.join: an absolute part restarts the path; a '/' is added between parts unless
 * the path so far is empty or ends with one */
static BI_FN(os_join) {
  (void)self;
  if (a->npos < 1 || a->nkw) lerr(l, a->off, "os.path.join() takes paths as positional arguments");
  const char *path = want_str(l, a->pos[0], "join", a->off);
  for (int i = 1; i < a->npos; i++) {
    const char *b = want_str(l, a->pos[i], "join", a->off);
    size_t n = strlen(path);
    if (b[0] == '/') path = b;
    else if (n == 0 || path[n - 1] == '/') path = arena_printf(l->arena, "%s%s", path, b);
    else path = arena_printf(l->arena, "%s/%s", path, b);
  }
  return v_str(l, path);
}

/* the head and tail of posixpath.split: the tail after the last '/'; the head before it,
 * trailing slashes removed unless it is all slashes */
static void split_path(L *l, const char *p, const char **head, const char **tail) {
  const char *slash = strrchr(p, '/');
  size_t i = slash ? (size_t)(slash - p) + 1 : 0;
  *tail = p + i;
  size_t n = i;
  bool all = true;
  for (size_t k = 0; k < i; k++) all &= p[k] == '/';
  if (n && !all)
    while (n && p[n - 1] == '/') n--;
  *head = arena_strndup(l->arena, p, n);
}

static BI_FN(os_basename) {
  (void)self;
  const char *h, *t;
  split_path(l, want_str(l, one_str(l, a, "basename"), "basename", a->off), &h, &t);
  return v_str(l, t);
}

static BI_FN(os_dirname) {
  (void)self;
  const char *h, *t;
  split_path(l, want_str(l, one_str(l, a, "dirname"), "dirname", a->off), &h, &t);
  return v_str(l, h);
}

static BI_FN(os_split) {
  (void)self;
  const char *h, *t;
  split_path(l, want_str(l, one_str(l, a, "split"), "split", a->off), &h, &t);
  Value *r = v_tuple(l, 2);
  r->items[0] = v_str(l, h);
  r->items[1] = v_str(l, t);
  return r;
}

/* genericpath._splitext: the extension is from the last '.' after the last '/', unless
 * every character before it in the file name is a '.' (".bashrc" has none) */
static BI_FN(os_splitext) {
  (void)self;
  const char *p = want_str(l, one_str(l, a, "splitext"), "splitext", a->off);
  const char *sep = strrchr(p, '/'), *dot = strrchr(p, '.');
  Value *r = v_tuple(l, 2);
  r->items[0] = v_str(l, p);
  r->items[1] = v_str(l, "");
  if (dot && (!sep || dot > sep))
    for (const char *c = sep ? sep + 1 : p; c < dot; c++)
      if (*c != '.') {
        r->items[0] = v_str(l, arena_strndup(l->arena, p, (size_t)(dot - p)));
        r->items[1] = v_str(l, dot);
        break;
      }
  return r;
}

static const Builtin os_path_builtins[] = {
    {"join", BI_FUNC, bi_os_join, 0},         {"basename", BI_FUNC, bi_os_basename, 0},
    {"dirname", BI_FUNC, bi_os_dirname, 0},   {"split", BI_FUNC, bi_os_split, 0},
    {"splitext", BI_FUNC, bi_os_splitext, 0},
};

Value *os_getattr(L *l, Value *ns, const char *name, int32_t off) {
  if (!strcmp(ns->s, "os")) {
    if (!strcmp(name, "path")) {
      Value *p = v_new(l, V_NS);
      p->s = "os.path";
      return p;
    }
    if (!strcmp(name, "sep")) return v_str(l, "/");
    lerr(l, off, "os.%s is not supported by ttc (of os, only os.path's join, basename, dirname, "
                 "split and splitext)", name);
  }
  for (size_t i = 0; i < sizeof os_path_builtins / sizeof os_path_builtins[0]; i++)
    if (!strcmp(name, os_path_builtins[i].name)) {
      Value *bv = v_new(l, V_BUILTIN);
      bv->bi = &os_path_builtins[i];
      bv->s = os_path_builtins[i].name;
      return bv;
    }
  lerr(l, off, "os.path.%s is not supported by ttc (only join, basename, dirname, split and "
               "splitext, which do not depend on the files when the program runs)", name);
}
