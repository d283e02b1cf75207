/*
 * hasattr.c — Python's hasattr(obj, name) and getattr(obj, name[, default]) on the values
 * ttc holds at compile time.
 *
 * hasattr is true when obj.name would give a value in Python. ttc's own attribute lookup
 * (lower.c's getattr) knows what ttc implements, which is less than PyTorch has, and an
 * attribute ttc lacks is still PyTorch's: a program that asks hasattr(x, "numpy") before
 * calling it must take the branch it takes under Python, and then meet ttc's diagnostic, not
 * silently take the other. So the answer comes from dir() of what Python 3 with PyTorch 1.13
 * would hold (pynames.c, generated), together with what the program made (instance and
 * class attributes, a module's globals) and what ttc adds from later PyTorch
 * (F.scaled_dot_product_attention). Where neither tells (an object pynames.c has no table
 * for: an optimizer, a DataLoader, a tokenizer) ttc's own lookup answers, with its
 * diagnostics held back. A private name (one leading underscore) of a namespace is a
 * diagnostic: the tables leave those out.
 */
#include "lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pynames_has(const char *type, const char *name) {
  for (int i = 0; i < npynames; i++) {
    const PyNames *t = &pynames[i];
    if (strcmp(t->type, type)) continue;
    if (strcmp(type, "everyone") && pynames_has("everyone", name) == 1) return 1;
    if (t->parent && pynames_has(t->parent, name) == 1) return 1;
    return bsearch(&name, t->names, t->n, sizeof *t->names, name_cmp) != NULL;
  }
  return -1;
}

static bool is_dunder(const char *s) {
  size_t n = strlen(s);
  return n > 4 && !strncmp(s, "__", 2) && !strcmp(s + n - 2, "__");
}

/*
 * obj.name evaluated with its diagnostics held back: true (and *out) when it gives a value,
 * false when it fails with "... has no attribute ..." (Python's AttributeError). Any other
 * error is printed as it would have been and stops the compilation.
 */
static bool try_getattr(L *l, Value *obj, const char *name, int32_t off, Value **out) {
  jmp_buf outer;
  memcpy(outer, l->fail, sizeof outer);
  FILE *saved = l->diag->out;
  int nerrors = l->diag->nerrors;
  char *text = NULL;
  size_t len = 0;
  FILE *held = open_memstream(&text, &len);
  if (!held) {
    *out = lower_getattr(l, obj, name, off);
    return true;
  }
  l->diag->out = held;
  volatile bool ok = false;
  if (!setjmp(l->fail)) {
    *out = lower_getattr(l, obj, name, off);
    ok = true;
  }
  fclose(held);
  l->diag->out = saved;
  memcpy(l->fail, outer, sizeof outer);
  bool missing = !ok && text && strstr(text, "has no attribute");
  if (!missing && text) fputs(text, saved ? saved : stderr); /* warnings, or the error */
  free(text);
  if (!ok && !missing) longjmp(l->fail, 1);
  if (missing) l->diag->nerrors = nerrors;
  return ok;
}

/* ttc's functions from PyTorch after 1.13, which the 1.13 tables lack. */
static bool ttc_extra(const char *ns, const char *name) {
  return !strcmp(ns, "torch.nn.functional") && !strcmp(name, "scaled_dot_product_attention");
}

/* The builtin class cls is or derives from (Module, Dataset: lower.c records the base as
 * __builtin_base__), or NULL for a class of the program's own without one. */
static const Builtin *root_builtin(Value *cls) {
  for (int depth = 0; cls && depth < 256; cls = cls->self, depth++) {
    if (cls->bi) return cls->bi;
    Value *b = attrs_get(&cls->attrs, "__builtin_base__");
    if (b && b->bi) return b->bi;
  }
  return NULL;
}

/* hasattr(obj, name) for an instance of a class (the program's or a builtin one). */
static bool object_has(L *l, Value *obj, const char *name, int32_t off) {
  const Builtin *root = root_builtin(obj->cls);
  const char *cls_table = root ? arena_printf(l->arena, "nn.%s", root->name) : NULL;
  bool module = root && (!strcmp(root->name, "Module") || pynames_has(cls_table, name) >= 0);
  /* the instance's own attributes: ttc keeps its bookkeeping under dunder names */
  if (!is_dunder(name) && attrs_get(&obj->attrs, name)) return true;
  Value *c = obj->cls ? class_attr(obj->cls, name) : NULL;
  if (c && (!is_dunder(name) || c->k == V_FUNC || !strcmp(name, "__dataclass_fields__")))
    return true;
  if (module) return pynames_has(cls_table, name) == 1 || pynames_has("Module", name) == 1;
  /* a class of its own, a dataclass, a Dataset's subclass: what every object has */
  if (!root || !obj->cls->bi || is_dunder(name)) return pynames_has("object", name) == 1;
  Value *v;
  return try_getattr(l, obj, name, off, &v); /* an optimizer, a loader, ...: ttc's answer */
}

static bool ns_has(L *l, Value *ns, const char *name, int32_t off) {
  if (ns->closure) return attrs_get(&ns->closure->vars, name) != NULL; /* the program's module */
  int has = pynames_has(ns->s, name);
  if (has >= 0) {
    if (name[0] == '_' && name[1] != '_')
      lerr(l, off, "hasattr() of module '%s' and the private name '%s' is not supported", ns->s,
           name);
    return has == 1 || ttc_extra(ns->s, name);
  }
  Value *v;
  return try_getattr(l, ns, name, off, &v);
}

static bool has_attr(L *l, Value *obj, const char *name, int32_t off) {
  const char *type = NULL;
  switch (obj->k) {
  case V_NONE:
    type = "NoneType";
    break;
  case V_BOOL:
    type = "bool";
    break;
  case V_INT:
    type = "int";
    break;
  case V_FLOAT:
    type = "float";
    break;
  case V_STR:
  case V_FSTR:
    type = "str";
    break;
  case V_LIST:
    type = obj->s && !strcmp(obj->s, "set") ? "set" : "list";
    break;
  case V_RTLIST:
    type = "list";
    break;
  case V_RANGE:
    type = "range";
    break;
  case V_TENSOR:
    type = "Tensor";
    break;
  case V_FUNC:
    type = "function";
    break;
  case V_METHOD:
    type = "method";
    break;
  case V_BUILTIN:
    type = "builtin_function_or_method";
    break;
  case V_DTYPE:
    type = "dtype";
    break;
  case V_HOST:
    type = obj->hx->isbool ? "bool" : obj->hx->isfloat ? "float" : "int";
    break;
  case V_TUPLE:
    if (!obj->s || !strcmp(obj->s, "torch.Size")) type = obj->s ? obj->s : "tuple";
    break;
  case V_DICT:
    if (!obj->s) type = "dict";
    break;
  case V_CLASS:
    if (!obj->bi) { /* a class of the program: its attributes, then what classes have */
      Value *c = class_attr(obj, name);
      if (c && (!is_dunder(name) || c->k == V_FUNC || !strcmp(name, "__dataclass_fields__")))
        return true;
      const Builtin *root = root_builtin(obj);
      if (root && !strcmp(root->name, "Module") && pynames_has("Module.class", name) == 1)
        return true; /* Module's methods */
      type = "type";
    }
    break;
  case V_NS:
    return ns_has(l, obj, name, off);
  case V_OBJECT:
    return object_has(l, obj, name, off);
  default:
    break;
  }
  if (type) return pynames_has(type, name) == 1;
  Value *v; /* a named tuple, an OrderedDict, a builtin class, ...: ttc's answer */
  return try_getattr(l, obj, name, off, &v);
}

BI_FN(py_hasattr) {
  Value *v[2];
  if (a->nkw) lerr(l, a->off, "hasattr() takes no keyword arguments");
  args_bind(l, "hasattr", "obj, name", self, a, v, 2);
  if (!v[1] || v[1]->k != V_STR) lerr(l, a->off, "hasattr(): attribute name must be string");
  return v_bool(l, has_attr(l, v[0] ? v[0] : l->none, v[1]->s, a->off));
}

BI_FN(py_getattr) {
  Value *v[3];
  if (a->nkw) lerr(l, a->off, "getattr() takes no keyword arguments");
  args_bind(l, "getattr", "obj, name, default=None", self, a, v, 3);
  if (!v[1] || v[1]->k != V_STR) lerr(l, a->off, "getattr(): attribute name must be string");
  Value *obj = v[0] ? v[0] : l->none;
  const char *name = v[1]->s;
  if (a->npos < 3) return lower_getattr(l, obj, name, a->off);
  if (!has_attr(l, obj, name, a->off)) return v[2] ? v[2] : l->none;
  Value *r;
  if (!try_getattr(l, obj, name, a->off, &r)) /* Python has it: its default is not taken */
    lerr(l, a->off, "'%s' object has the attribute '%s' in PyTorch, which ttc does not implement",
         v_typename(obj), name);
  return r;
}
