/*
 * dataclass.c — Python's dataclasses.dataclass on the classes of a program: the config
 * classes of model scripts (`@dataclass class GPTConfig: block_size: int = 16`).
 *
 * The fields are the class body's annotated names, in order (x: int = 3, or x: int without
 * a default); a default is the class attribute the body bound, as in Python. The decorator
 * records the field names on the class (__dataclass_fields__); creating an instance binds
 * the arguments to them as the generated __init__ would (unless the class defines its own
 * __init__, which Python keeps), and printing one gives the generated __repr__'s text.
 * What ttc does not implement (field(), the decorator's options, dataclass bases) is a
 * diagnostic.
 */
#include "lower.h"

#include <string.h>

static Value *dataclass_call(L *l, Value *self, Args *a);
static const Builtin bi_dataclass = {"dataclass", BI_FUNC, dataclass_call, 0};

/* The names of module dataclasses that ttc has. */
Value *dataclass_getattr(L *l, const char *name, int32_t off) {
  if (strcmp(name, "dataclass"))
    lerr(l, off, "module 'dataclasses' has no attribute '%s' in ttc (it has dataclass)", name);
  Value *v = v_new(l, V_BUILTIN);
  v->bi = &bi_dataclass;
  v->s = bi_dataclass.name;
  return v;
}

/* The field names of class cls (a V_LIST of V_STR), or NULL when it is no dataclass. */
static Value *fields_of(Value *cls) {
  if (!cls || cls->k != V_CLASS || cls->bi) return NULL;
  Value *f = attrs_get(&cls->attrs, "__dataclass_fields__");
  return f && f->k == V_LIST ? f : NULL;
}

/* The class-body statements that declare fields: annotated plain names, in order. */
static void collect_fields(L *l, Value *cls, const Ast *body, Value *names) {
  if (body->kind == AST_BLOCK) {
    for (int i = 0; i < body->nitems; i++) collect_fields(l, cls, body->items[i], names);
    return;
  }
  if (!((body->kind == AST_ASSIGN || body->kind == AST_PASS) && body->ival == 1 && body->a &&
        body->a->kind == AST_NAME))
    return;
  const char *name = body->a->str;
  for (int i = 0; i < names->n; i++)
    if (!strcmp(names->items[i]->s, name)) return; /* annotated twice: one field */
  Value *dflt = attrs_get(&cls->attrs, name);
  if (body->kind == AST_ASSIGN && body->b->kind == AST_CALL && body->b->a->kind == AST_NAME &&
      !strcmp(body->b->a->str, "field"))
    lerr(l, body->b->off, "dataclasses.field() is not supported by ttc; give the field a plain default");
  if (dflt && (dflt->k == V_LIST || dflt->k == V_DICT))
    lerr(l, body->off, "mutable default <class '%s'> for field %s is not allowed: use default_factory",
         v_typename(dflt), name);
  if (!dflt) /* a field without a default after one with a default */
    for (int i = 0; i < names->n; i++)
      if (attrs_get(&cls->attrs, names->items[i]->s))
        lerr(l, body->off, "non-default argument '%s' follows default argument", name);
  v_list_push(l, names, v_str(l, name));
}

Value *dataclass_apply(L *l, Value *dec, Value *cls, const Ast *st) {
  if (!(dec->k == V_BUILTIN && dec->bi == &bi_dataclass))
    lerr(l, st->b->off, "ttc supports the class decorator @dataclass only");
  if (st->a)
    lerr(l, st->a->off, "a @dataclass deriving from a class is not supported by ttc");
  Value *names = v_new(l, V_LIST);
  collect_fields(l, cls, st->c, names);
  attrs_set(l, &cls->attrs, "__dataclass_fields__", names);
  return cls;
}

/* dataclass(C) and @dataclass(): the class, made a dataclass; options are not supported. */
static Value *dataclass_call(L *l, Value *self, Args *a) {
  (void)self;
  if (a->nkw)
    lerr(l, a->off, "dataclass(%s=...) is not supported by ttc; use @dataclass without options",
         a->kwnames[0]);
  if (a->npos == 0) {
    Value *v = v_new(l, V_BUILTIN);
    v->bi = &bi_dataclass;
    v->s = bi_dataclass.name;
    return v;
  }
  if (a->npos > 1 || a->pos[0]->k != V_CLASS || a->pos[0]->bi || !a->pos[0]->ast)
    lerr(l, a->off, "dataclass() takes a class of the program");
  Value *cls = a->pos[0];
  if (cls->ast->a) lerr(l, a->off, "a @dataclass deriving from a class is not supported by ttc");
  Value *names = v_new(l, V_LIST);
  collect_fields(l, cls, cls->ast->c, names);
  attrs_set(l, &cls->attrs, "__dataclass_fields__", names);
  return cls;
}

bool dataclass_init(L *l, Value *cls, Value *obj, Args *a) {
  Value *names = fields_of(cls);
  if (!names) return false;
  int n = names->n;
  Value **val = arena_alloc(l->arena, sizeof(Value *) * (size_t)(n + 1));
  memset(val, 0, sizeof(Value *) * (size_t)(n + 1));
  if (a->npos > n)
    lerr(l, a->off, "__init__() takes %d positional arguments but %d were given", n + 1, a->npos + 1);
  for (int i = 0; i < a->npos; i++) val[i] = a->pos[i];
  for (int k = 0; k < a->nkw; k++) {
    int j = 0;
    while (j < n && strcmp(names->items[j]->s, a->kwnames[k])) j++;
    if (j == n) lerr(l, a->off, "__init__() got an unexpected keyword argument '%s'", a->kwnames[k]);
    if (val[j]) lerr(l, a->off, "__init__() got multiple values for argument '%s'", a->kwnames[k]);
    val[j] = a->kw[k];
  }
  for (int j = 0; j < n; j++) {
    if (!val[j]) val[j] = attrs_get(&cls->attrs, names->items[j]->s);
    if (!val[j])
      lerr(l, a->off, "__init__() missing 1 required positional argument: '%s'", names->items[j]->s);
    attrs_set(l, &obj->attrs, names->items[j]->s, val[j]);
  }
  return true;
}

const char *dataclass_repr(L *l, Value *obj, int32_t off) {
  Value *names = fields_of(obj->cls);
  if (!names || attrs_get(&obj->cls->attrs, "__repr__")) return NULL;
  const char *r = arena_printf(l->arena, "%s(", obj->cls->s);
  for (int j = 0; j < names->n; j++) {
    Value *v = attrs_get(&obj->attrs, names->items[j]->s);
    if (!v) lerr(l, off, "the field '%s' of this %s object was deleted", names->items[j]->s, obj->cls->s);
    r = arena_printf(l->arena, "%s%s%s=%s", r, j ? ", " : "", names->items[j]->s,
                     py_text(l, v, true, off));
  }
  return arena_printf(l->arena, "%s)", r);
}

int dataclass_eq(L *l, Value *a, Value *b, int32_t off) {
  Value *names = fields_of(a->cls);
  if (!names || attrs_get(&a->cls->attrs, "__eq__")) return -1;
  if (b->k != V_OBJECT || b->cls != a->cls) return a == b; /* NotImplemented: identity */
  for (int j = 0; j < names->n; j++) {
    Value *x = attrs_get(&a->attrs, names->items[j]->s), *y = attrs_get(&b->attrs, names->items[j]->s);
    if (!x || !y) lerr(l, off, "the field '%s' of this %s object was deleted", names->items[j]->s, a->cls->s);
    if (!host_eq(l, x, y, off)) return 0;
  }
  return 1;
}
