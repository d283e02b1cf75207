/*
 * imports.c — programs in several files: the program's own modules.
 *
 * `import model`, `from model import GPT`, `from model import *`, `import pkg.mod as m` and
 * `from pkg.mod import X` find model.py (or model.tt) and pkg/ (a folder, with or without an
 * __init__.py) in the main file's folder, as Python finds them through sys.path[0]. A module
 * runs once, where it is first imported, in a namespace of its own (its functions and classes
 * see that namespace as their globals, and __name__ is the module's dotted name, so its
 * `if __name__ == "__main__":` block does not run); later imports bind the same namespace,
 * as Python's sys.modules does. Importing a module that is still running (an import cycle)
 * is a diagnostic: Python would hand out a half-initialized module.
 *
 * Every file shares the compilation's one offset space (frontend.h, Source.base): a module's
 * text is appended, after a newline, to the text read so far, and is lexed from its base, so
 * tokens, AST nodes and IR locations keep plain int32 offsets and a diagnostic finds its file
 * from the offset alone. The Program's source text is the whole space, so every offset the
 * code generator is given lies inside it.
 */
/* XSI on top of the build's POSIX 2008: realpath, for printing a module as Python does */
#define _XOPEN_SOURCE 700

#include "lower.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { MAX_IMPORT_DEPTH = 32 };

typedef struct Module {
  const char *name;   /* dotted: "pkg.mod" */
  const char *path;   /* the file it was read from; NULL for a folder without __init__ */
  Value *ns;          /* V_NS whose closure is the module's namespace */
  bool running;       /* its top level is being executed */
} Module;

struct Imports {
  const char *dir;    /* the main file's folder, where modules are found */
  Module *mods;
  int n, cap;
  char *text;         /* the offset space's text so far (main, "\n", a module, ...) */
  size_t len;
  Source *last;       /* the last imported file, to chain the next one to */
  int depth;          /* modules being run, nested */
};

static struct Imports *imports(L *l) {
  if (!l->imports) {
    struct Imports *im = arena_alloc(l->arena, sizeof *im);
    memset(im, 0, sizeof *im);
    const char *slash = strrchr(l->src->name, '/');
    im->dir = slash ? arena_strndup(l->arena, l->src->name, (size_t)(slash - l->src->name) + 1) : "";
    im->text = (char *)l->p->src;
    im->len = strlen(l->p->src);
    l->imports = im;
  }
  return l->imports;
}

static Module *find_module(struct Imports *im, const char *name) {
  for (int i = 0; i < im->n; i++)
    if (!strcmp(im->mods[i].name, name)) return &im->mods[i];
  return NULL;
}

static bool is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where module `name` lives, as Python's path finder looks: a folder with an __init__ is a
 * package, then name.py (ttc's name.tt after it), then a folder without one (a namespace
 * package). *file is the file to run (NULL for a namespace package); false if none. */
static bool locate(L *l, const char *name, const char **file, bool *pkg) {
  struct Imports *im = imports(l);
  char *rel = arena_strdup(l->arena, name);
  for (char *c = rel; *c; c++)
    if (*c == '.') *c = '/';
  const char *base = arena_printf(l->arena, "%s%s", im->dir, rel);
  static const char *const exts[] = {".py", ".tt"};
  if (is_dir(base))
    for (size_t i = 0; i < 2; i++) {
      const char *init = arena_printf(l->arena, "%s/__init__%s", base, exts[i]);
      if (is_file(init)) {
        *file = init;
        *pkg = true;
        return true;
      }
    }
  for (size_t i = 0; i < 2; i++) {
    const char *f = arena_printf(l->arena, "%s%s", base, exts[i]);
    if (is_file(f)) {
      *file = f;
      *pkg = false;
      return true;
    }
  }
  if (is_dir(base)) {
    *file = NULL;
    *pkg = true;
    return true;
  }
  return false;
}

bool import_is_local(L *l, const char *name) {
  const char *dot = strchr(name, '.');
  const char *top = dot ? arena_strndup(l->arena, name, (size_t)(dot - name)) : name;
  if (find_module(imports(l), top)) return true;
  const char *file;
  bool pkg;
  return locate(l, top, &file, &pkg);
}

/* The file's text appended to the offset space; the Source that lexes it from its base. */
static const Source *add_source(L *l, const char *path, int32_t off) {
  struct Imports *im = imports(l);
  Source *read = source_read(path);
  if (!read) lerr(l, off, "cannot read the module file '%s'", path);
  if (im->len + 1 + read->len + 1 > (size_t)INT32_MAX - 16) {
    source_free(read);
    lerr(l, off, "the program's files are too large together (offsets are 32-bit)");
  }
  size_t base = im->len + 1;
  char *text = arena_alloc(l->arena, base + read->len + 1);
  memcpy(text, im->text, im->len);
  text[im->len] = '\n';
  memcpy(text + base, read->text, read->len);
  text[base + read->len] = '\0';
  Source *s = arena_alloc(l->arena, sizeof *s);
  s->name = arena_strdup(l->arena, path);
  s->text = text;
  s->len = base + read->len;
  s->base = (int32_t)base;
  s->next = NULL;
  source_free(read);
  if (im->last) im->last->next = s;
  else l->diag->imported = s;
  im->last = s;
  im->text = text;
  im->len = s->len;
  /* the code generator finds lines through the program's text: it must cover the module.
   * A NUL inside the module stops its lexer, so the text is a C string here. */
  l->p->src = text;
  return s;
}

/* Runs module `name` (whose parent package, if any, is loaded) once; its namespace value. */
static Value *load_one(L *l, const char *name, int32_t off) {
  struct Imports *im = imports(l);
  Module *m = find_module(im, name);
  if (m) {
    if (m->running)
      lerr(l, off, "circular import: module '%s' is imported while it is still running (an "
                   "import cycle); Python would see it partly initialized, ttc does not support that", name);
    return m->ns;
  }
  const char *file;
  bool pkg;
  if (!locate(l, name, &file, &pkg)) return NULL;
  if (im->depth >= MAX_IMPORT_DEPTH) lerr(l, off, "imports nested more than %d modules deep", MAX_IMPORT_DEPTH);
  Scope *scope = arena_alloc(l->arena, sizeof *scope);
  memset(scope, 0, sizeof *scope);
  Value *ns = v_new(l, V_NS);
  ns->s = arena_strdup(l->arena, name);
  ns->closure = scope;
  ns->i = pkg;
  attrs_set(l, &scope->vars, "__name__", v_str(l, ns->s));
  if (im->n == im->cap) {
    int cap = im->cap ? im->cap * 2 : 8;
    Module *mods = arena_alloc(l->arena, sizeof *mods * (size_t)cap);
    if (im->n) memcpy(mods, im->mods, sizeof *mods * (size_t)im->n);
    im->mods = mods;
    im->cap = cap;
  }
  int idx = im->n++;
  im->mods[idx] = (Module){.name = ns->s, .path = file, .ns = ns, .running = true};
  if (file) {
    char *abs = realpath(file, NULL); /* Python's __file__ is absolute */
    attrs_set(l, &scope->vars, "__file__", v_str(l, arena_strdup(l->arena, abs ? abs : file)));
    free(abs);
    const Source *src = add_source(l, file, off);
    im->depth++;
    /* an error while the module runs also says where it was imported from */
    jmp_buf outer;
    memcpy(outer, l->fail, sizeof outer);
    if (setjmp(l->fail)) {
      memcpy(l->fail, outer, sizeof outer);
      diag_note(l->diag, off, "while running module '%s', imported here", name);
      longjmp(l->fail, 1);
    }
    Ast *root = parse_program(src, l->arena, l->diag);
    if (!root) longjmp(l->fail, 1); /* the parser's diagnostic is printed */
    Frame f = {scope, l->none};
    if (lower_block(l, &f, root) == X_RETURN) lerr(l, root->off, "'return' outside function");
    memcpy(l->fail, outer, sizeof outer);
    im->depth--;
  }
  im->mods[idx].running = false;
  /* a submodule is an attribute of its package once loaded, as in Python */
  const char *dot = strrchr(name, '.');
  if (dot) {
    Module *parent = find_module(im, arena_strndup(l->arena, name, (size_t)(dot - name)));
    if (parent) attrs_set(l, &parent->ns->closure->vars, arena_strdup(l->arena, dot + 1), ns);
  }
  return ns;
}

/* import a.b.c: runs a, a.b and a.b.c in turn; the last one's namespace. */
static Value *load_dotted(L *l, const char *name, int32_t off) {
  Value *ns = NULL;
  for (const char *p = name;; p++) {
    if (*p != '.' && *p) continue;
    const char *prefix = arena_strndup(l->arena, name, (size_t)(p - name));
    Value *parent = ns;
    ns = load_one(l, prefix, off);
    if (!ns) {
      if (parent && !parent->i)
        lerr(l, off, "No module named '%s'; '%s' is not a package", prefix, parent->s);
      lerr(l, off, "No module named '%s'", prefix);
    }
    if (!*p) return ns;
  }
}

Value *module_attr(L *l, Value *mod, const char *name, int32_t off) {
  Value *v = attrs_get(&mod->closure->vars, name);
  if (!v) lerr(l, off, "module '%s' has no attribute '%s'", mod->s, name);
  return v;
}

const char *module_repr(L *l, Value *mod, int32_t off) {
  Module *m = find_module(imports(l), mod->s);
  char *abs = m && m->path ? realpath(m->path, NULL) : NULL;
  if (!abs) lerr(l, off, "printing the namespace package '%s' is not supported", mod->s);
  const char *r = arena_printf(l->arena, "<module '%s' from '%s'>", mod->s, abs);
  free(abs);
  return r;
}

bool import_stmt(L *l, Scope *s, const Ast *st) {
  if (!import_is_local(l, st->str)) return false;
  if (st->kind == AST_IMPORT) {
    Value *ns = load_dotted(l, st->str, st->off);
    if (st->a) {
      attrs_set(l, &s->vars, st->a->str, ns);
      return true;
    }
    /* import a.b.c binds a */
    const char *dot = strchr(st->str, '.');
    const char *top = dot ? arena_strndup(l->arena, st->str, (size_t)(dot - st->str)) : st->str;
    attrs_set(l, &s->vars, top, find_module(imports(l), top)->ns);
    return true;
  }
  Value *ns = load_dotted(l, st->str, st->off);
  Module *m = find_module(imports(l), st->str);
  const char *where = m->path ? m->path : "unknown location";
  if (st->ival) { /* from m import *: __all__, or every name not starting with '_' */
    Value *all = attrs_get(&ns->closure->vars, "__all__");
    if (all) {
      if (all->k != V_LIST && all->k != V_TUPLE)
        lerr(l, st->b->off, "__all__ of module '%s' must be a list or tuple of names", ns->s);
      for (int i = 0; i < all->n; i++) {
        if (all->items[i]->k != V_STR) lerr(l, st->b->off, "__all__ of module '%s' must hold names (str)", ns->s);
        const char *nm = all->items[i]->s;
        Value *v = attrs_get(&ns->closure->vars, nm);
        if (!v) lerr(l, st->b->off, "module '%s' has no attribute '%s'", ns->s, nm);
        attrs_set(l, &s->vars, nm, v);
      }
      return true;
    }
    const Attrs *vars = &ns->closure->vars;
    for (int i = 0; i < vars->n; i++)
      if (vars->keys[i][0] != '_') attrs_set(l, &s->vars, vars->keys[i], vars->vals[i]);
    return true;
  }
  for (int i = 0; i < st->nitems; i++) {
    const Ast *it = st->items[i];
    Value *v = attrs_get(&ns->closure->vars, it->str);
    if (!v && ns->i) { /* from pkg import mod: a submodule */
      const char *sub = arena_printf(l->arena, "%s.%s", st->str, it->str);
      v = load_one(l, sub, it->off);
    }
    if (!v) lerr(l, it->off, "cannot import name '%s' from '%s' (%s)", it->str, ns->s, where);
    attrs_set(l, &s->vars, it->a ? it->a->str : it->str, v);
  }
  return true;
}

/* Modules a Python program may import that ttc does not implement: named as such, rather
 * than "No module named", which would be wrong for them. Keep in sync with docs/LANGUAGE.md. */
bool import_known_elsewhere(const char *name) {
  static const char *const known[] = {
      "argparse", "os", "sys", "itertools", "inspect", "json", "random", "re", "functools",
      "typing", "dataclasses", "pathlib", "pickle", "numpy", "safetensors", "matplotlib",
      "logging", "contextlib", "abc", "enum", "string", "struct", "subprocess", "shutil",
      "glob", "csv", "io", "gzip", "zipfile", "urllib", "requests", "datetime", "heapq",
      "bisect", "operator", "statistics", "warnings", "traceback", "platform", "socket",
      "threading", "multiprocessing", "tempfile", "hashlib", "base64", "textwrap", "pprint",
      "unittest", "pandas", "scipy", "sklearn", "PIL", "transformers", "datasets", "tiktoken",
      "wandb", "tensorboard", "einops", "torchaudio", "torchtext", "fractions", "decimal",
      "cmath", "array", "queue", "types", "weakref", "gc", "signal", "uuid", "builtins",
      "collections", "copy", "math", "time", "torch", "torchvision", "tqdm", "tinytorch",
  };
  const char *dot = strchr(name, '.');
  size_t n = dot ? (size_t)(dot - name) : strlen(name);
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (strlen(known[i]) == n && !strncmp(known[i], name, n)) return true;
  return false;
}
