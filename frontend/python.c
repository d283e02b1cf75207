/*
 * python.c — Python's built-in functions (print, len, range, int, float, str, min, max,
 * sum, sorted, list, dict, set, zip, enumerate, filter, map, isinstance, type, math.*,
 * copy.deepcopy, collections.OrderedDict), the methods of lists, dicts, sets and strings,
 * and the evaluator's cases for lambdas, dict and set comprehensions and those modules.
 *
 * They run at compile time, as Python would, on compile-time values. What is only known
 * when the program runs (loss.item(), the length of a file dataset, a loop counter)
 * becomes a host expression: print() snapshots tensors and queues a host statement;
 * int(), round(), min() and str.format() build host expressions. Where a built-in needs
 * what such a value is (an order, a truth value, a hash), it is a diagnostic.
 *
 * A set is a list that keeps CPython's hash table beside it, so that it iterates and
 * prints in Python's order; an OrderedDict is a dict marked as one (s "OrderedDict").
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

/* ---- compile-time values: run-time checks, equality, order, text -------------------- */

/* What these built-ins compute (an order, a truth value, a hash, a text) is computed here,
 * at compile time: a value known only when the program runs stops them with a diagnostic
 * naming what needed it, never a guess. Tensors count as such where their truth value or
 * order is wanted. */
static bool runtime_kind(const Value *v, bool tensors) {
  return v->k == V_HOST || v->k == V_FSTR || v->k == V_RTLIST || (tensors && v->k == V_TENSOR);
}
static _Noreturn void runtime_value(L *l, Value *v, const char *what, int32_t off) {
  if (v->k == V_FSTR) fstr_unsupported(l, arena_printf(l->arena, "its use in %s", what), off);
  if (v->k == V_RTLIST) rtlist_unsupported(l, arena_printf(l->arena, "its use in %s", what), off);
  lerr(l, off, "%s needs a value known at compile time, but this %s is known only when the "
               "program runs", what, v->k == V_TENSOR ? "tensor's value" : "value");
}
static void want_ct(L *l, Value *v, bool tensors, const char *what, int32_t off) {
  if (v && runtime_kind(v, tensors)) runtime_value(l, v, what, off);
}

static bool is_set(const Value *v) { return v->k == V_LIST && v->s && !strcmp(v->s, "set"); }
static bool is_odict(const Value *v) { return v->k == V_DICT && v->s && !strcmp(v->s, "OrderedDict"); }
/* The type name Python's messages use. */
static const char *py_typename(const Value *v) {
  return is_set(v) ? "set" : is_odict(v) ? "OrderedDict" : v_typename(v);
}

/* Python's a == b, for what list.remove(), count() and index() compare: the same object,
 * or equal values (tensors and run-time values are compared only when the program runs). */
static bool py_eq(L *l, Value *a, Value *b, const char *what, int32_t off) {
  if (a == b) return true;
  want_ct(l, a, true, what, off);
  want_ct(l, b, true, what, off);
  if (is_set(a) || is_set(b)) return py_set_eq(l, a, b, off);
  return host_eq(l, a, b, off);
}

static bool is_num(const Value *v) { return v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL; }

/* Python's a == b where a or b is a run-time number: a run-time bool (a number never equals
 * a str, a list or None); NULL when both are known at compile time. */
static Value *rt_eq(L *l, Value *a, Value *b, const char *what, int32_t off) {
  if (a == b || (a->k != V_HOST && b->k != V_HOST)) return NULL;
  Value *o = a->k == V_HOST ? b : a;
  if (o->k == V_HOST || is_num(o)) return host_compare(l, CMP_EQ, a, b, off);
  want_ct(l, o, true, what, off);
  return l->vfalse;
}

/* A run-time bool, the and (or) of run-time bools */
static Value *rt_andor(L *l, Value *x, Value *y, bool and) {
  HostExpr *r = ir_hx(l->p, HX_BIN);
  r->op = and ? HB_AND : HB_OR;
  r->a = hx_of(l, x, 0), r->b = hx_of(l, y, 0);
  r->isbool = true;
  return v_host(l, r);
}
/* A run-time value as a bool (Python's bool(x)) */
static Value *rt_bool(L *l, Value *x) {
  if (x->hx->isbool) return x;
  return host_compare(l, CMP_NE, x, v_int(l, 0), 0);
}

/* x in seq where x or an item is a run-time number: a run-time bool; NULL when nothing
 * is run-time. Items are compared in order; one equal at compile time decides. */
Value *py_in_runtime(L *l, Value *x, Value *seq, int32_t off) {
  if (seq->k != V_LIST && seq->k != V_TUPLE && seq->k != V_DICT) return NULL;
  Value *r = NULL;
  for (int i = 0; i < seq->n; i += seq->k == V_DICT ? 2 : 1) { /* a dict's keys */
    Value *e = rt_eq(l, x, seq->items[i], "'in'", off);
    if (!e) {
      if (py_eq(l, x, seq->items[i], "'in'", off)) return r ? l->vtrue : NULL;
      continue;
    }
    if (e->k == V_BOOL) continue; /* never equal */
    r = r ? rt_andor(l, r, e, false) : e;
  }
  return r;
}

/* Python's a < b: numbers, strings (by code point, which UTF-8's byte order is), and lists
 * or tuples item by item. */
static bool py_lt(L *l, Value *a, Value *b, const char *what, int32_t off) {
  want_ct(l, a, true, what, off);
  want_ct(l, b, true, what, off);
  if (is_set(a) || is_set(b)) lerr(l, off, "ordering sets (a subset test) is not supported in %s", what);
  if ((a->k == V_LIST && b->k == V_LIST) || (a->k == V_TUPLE && b->k == V_TUPLE)) {
    for (int i = 0; i < a->n && i < b->n; i++)
      if (!py_eq(l, a->items[i], b->items[i], what, off)) return py_lt(l, a->items[i], b->items[i], what, off);
    return a->n < b->n;
  }
  if ((is_num(a) && is_num(b)) || (a->k == V_STR && b->k == V_STR)) return bi_compare(l, CMP_LT, a, b, off)->i != 0;
  lerr(l, off, "'<' not supported between instances of '%s' and '%s'", py_typename(a), py_typename(b));
}

/* ---- hashing and sets ---------------------------------------------------------------- */

/* A set is a V_LIST (s "set") whose items are its elements in CPython 3.11's iteration
 * order, so that printing and iterating it give what Python gives; fn is the hash table
 * that order comes from, kept as Objects/setobject.c keeps it: fn->items the slots (NULL
 * unused; an entry V_INT: i the hash, self the key, or self NULL for a deleted "dummy"),
 * fn->n the table size, fn->i the fill (active and dummy slots), fn->i3 pop()'s finger.
 * Hashes are CPython's for numbers and tuples of them; strings, None and objects hash by
 * a salt or an address in CPython, so no program can depend on their order: ttc gives them
 * a fixed stand-in. */
enum { SET_MINSIZE = 8, LINEAR_PROBES = 9, PERTURB_SHIFT = 5 };
#define HASH_MODULUS (((uint64_t)1 << 61) - 1)

static int64_t hash_int(int64_t n) {
  uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
  int64_t h = (int64_t)(u % HASH_MODULUS);
  if (n < 0) h = -h;
  return h == -1 ? -2 : h;
}

/* CPython's _Py_HashDouble: a float equal to an int hashes as that int. */
static int64_t hash_float(double v) {
  if (isinf(v)) return v > 0 ? 314159 : -314159;
  if (isnan(v)) return 0; /* CPython hashes a NaN by its address */
  int e;
  double m = frexp(v, &e);
  int sign = 1;
  if (m < 0) sign = -1, m = -m;
  uint64_t x = 0;
  while (m) {
    x = ((x << 28) & HASH_MODULUS) | x >> (61 - 28);
    m *= 268435456.0;
    e -= 28;
    uint64_t y = (uint64_t)m;
    m -= (double)y;
    x += y;
    if (x >= HASH_MODULUS) x -= HASH_MODULUS;
  }
  e = e >= 0 ? e % 61 : 61 - 1 - ((-1 - e) % 61);
  x = ((x << e) & HASH_MODULUS) | x >> (61 - e);
  x = x * (uint64_t)(int64_t)sign;
  if (x == (uint64_t)-1) x = (uint64_t)-2;
  return (int64_t)x;
}

/* Python's hash(v), or a diagnostic for what Python cannot hash (or ttc cannot know). */
static int64_t py_hash(L *l, Value *v, const char *what, int32_t off) {
  switch (v->k) {
  case V_BOOL:
  case V_INT: return hash_int(v->i);
  case V_FLOAT: return hash_float(v->f);
  case V_STR: { /* FNV-1a: a stand-in for CPython's salted string hash */
    uint64_t h = 14695981039346656037u;
    for (const unsigned char *p = (const unsigned char *)v->s; *p; p++) h = (h ^ *p) * 1099511628211u;
    return (int64_t)h == -1 ? -2 : (int64_t)h;
  }
  case V_TUPLE: { /* CPython's tuplehash (xxHash's mixing) */
    uint64_t acc = 2870177450012600261u;
    for (int i = 0; i < v->n; i++) {
      acc += (uint64_t)py_hash(l, v->items[i], what, off) * 14029467366897019727u;
      acc = (acc << 31) | (acc >> 33);
      acc *= 11400714785074694791u;
    }
    acc += (uint64_t)v->n ^ (2870177450012600261u ^ 3527539u);
    return acc == (uint64_t)-1 ? 1546275796 : (int64_t)acc;
  }
  case V_LIST:
  case V_DICT:
  case V_RTLIST: lerr(l, off, "unhashable type: '%s'", py_typename(v));
  case V_HOST:
  case V_FSTR: runtime_value(l, v, what, off);
  default: return 7; /* None, dtypes, functions, modules, tensors: by address in CPython */
  }
}

static Value *set_new(L *l) {
  Value *s = v_new(l, V_LIST), *t = v_new(l, V_LIST);
  s->s = "set";
  t->n = t->cap = SET_MINSIZE;
  t->items = arena_alloc(l->arena, sizeof(Value *) * SET_MINSIZE);
  s->fn = t;
  return s;
}

/* The items in table order, after a change. */
static void set_sync(Value *s) {
  Value *t = s->fn;
  s->n = 0;
  for (int i = 0; i < t->n; i++)
    if (t->items[i] && t->items[i]->self) s->items[s->n++] = t->items[i]->self;
}

static void set_insert_clean(Value **table, uint64_t mask, Value *entry) {
  uint64_t perturb = (uint64_t)entry->i, i = (uint64_t)entry->i & mask;
  for (;;) {
    if (!table[i]) {
      table[i] = entry;
      return;
    }
    if (i + LINEAR_PROBES <= mask)
      for (uint64_t j = 1; j <= LINEAR_PROBES; j++)
        if (!table[i + j]) {
          table[i + j] = entry;
          return;
        }
    perturb >>= PERTURB_SHIFT;
    i = (i * 5 + 1 + perturb) & mask;
  }
}

/* set_table_resize: the smallest table above minused; dummies are dropped. */
static void set_resize(L *l, Value *s, int64_t minused) {
  Value *t = s->fn;
  int64_t size = SET_MINSIZE;
  while (size <= minused) size <<= 1;
  if (size == SET_MINSIZE && t->n == SET_MINSIZE && t->i == s->n) return; /* nothing to purge */
  Value **old = t->items;
  int oldn = t->n;
  t->items = arena_alloc(l->arena, sizeof(Value *) * (size_t)size);
  t->n = t->cap = (int)size;
  t->i = s->n;
  for (int i = 0; i < oldn; i++)
    if (old[i] && old[i]->self) set_insert_clean(t->items, (uint64_t)size - 1, old[i]);
  set_sync(s);
}

/* The slot holding key (hash h), or -1. */
static int64_t set_lookup(L *l, Value *s, Value *key, int64_t h, int32_t off) {
  Value *t = s->fn;
  uint64_t mask = (uint64_t)t->n - 1, perturb = (uint64_t)h, i = (uint64_t)h & mask;
  for (;;) {
    uint64_t probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
    for (uint64_t j = 0; j <= probes; j++) {
      Value *e = t->items[i + j];
      if (!e) return -1;
      if (e->self && e->i == h && (e->self == key || host_eq(l, e->self, key, off))) return (int64_t)(i + j);
    }
    perturb >>= PERTURB_SHIFT;
    i = (i * 5 + 1 + perturb) & mask;
  }
}

/* set_add_entry: an absent key goes to the last dummy on its probe path, or else to the
 * unused slot that ends it (then the table grows when it is 3/5 full). */
static void set_add_hashed(L *l, Value *s, Value *key, int64_t h, int32_t off) {
  Value *t = s->fn;
  uint64_t mask = (uint64_t)t->n - 1, perturb = (uint64_t)h, i = (uint64_t)h & mask;
  int64_t freeslot = -1;
  for (;;) {
    uint64_t probes = i + LINEAR_PROBES <= mask ? LINEAR_PROBES : 0;
    for (uint64_t j = 0; j <= probes; j++) {
      Value *e = t->items[i + j];
      if (!e) {
        Value *ne = v_int(l, h);
        ne->self = key;
        if (freeslot >= 0) {
          t->items[freeslot] = ne;
          v_list_push(l, s, key);
        } else {
          t->items[i + j] = ne;
          t->i++;
          v_list_push(l, s, key);
          if ((uint64_t)t->i * 5 >= mask * 3) set_resize(l, s, s->n > 50000 ? 2 * (int64_t)s->n : 4 * (int64_t)s->n);
        }
        set_sync(s);
        return;
      }
      if (e->self && e->i == h && (e->self == key || host_eq(l, e->self, key, off))) return;
      if (!e->self) freeslot = (int64_t)(i + j); /* the last dummy seen, as 3.11 does */
    }
    perturb >>= PERTURB_SHIFT;
    i = (i * 5 + 1 + perturb) & mask;
  }
}

static void set_add(L *l, Value *s, Value *key, int32_t off) {
  set_add_hashed(l, s, key, py_hash(l, key, "a set element", off), off);
}

static bool set_discard(L *l, Value *s, Value *key, int32_t off) {
  int64_t at = set_lookup(l, s, key, py_hash(l, key, "a set lookup", off), off);
  if (at < 0) return false;
  Value *dummy = v_int(l, -1);
  s->fn->items[at] = dummy;
  set_sync(s);
  return true;
}

static bool set_has(L *l, Value *s, Value *key, int32_t off) {
  return set_lookup(l, s, key, py_hash(l, key, "a set lookup", off), off) >= 0;
}

/* Python's a == b where one is a set: the same elements, whatever their order. */
bool py_set_eq(L *l, Value *a, Value *b, int32_t off) {
  if (!is_set(a) || !is_set(b) || a->n != b->n) return false;
  for (int i = 0; i < a->n; i++)
    if (!set_has(l, b, a->items[i], off)) return false;
  return true;
}

/* set_merge: other's entries into s, with one resize first; into an empty table they go
 * by set_insert_clean (or as a copy of the slots, when the sizes agree). */
static void set_merge(L *l, Value *s, Value *o, int32_t off) {
  Value *t = s->fn, *ot = o->fn;
  if (s == o || o->n == 0) return;
  if ((t->i + o->n) * 5 >= (int64_t)(t->n - 1) * 3) set_resize(l, s, 2 * ((int64_t)s->n + o->n));
  t = s->fn;
  if (t->i == 0 && t->n == ot->n && ot->i == o->n) {
    for (int i = 0; i < ot->n; i++) t->items[i] = ot->items[i];
    t->i = ot->i;
  } else if (t->i == 0) {
    t->i = o->n;
    for (int i = 0; i < ot->n; i++)
      if (ot->items[i] && ot->items[i]->self) set_insert_clean(t->items, (uint64_t)t->n - 1, ot->items[i]);
  } else {
    for (int i = 0; i < ot->n; i++)
      if (ot->items[i] && ot->items[i]->self) set_add_hashed(l, s, ot->items[i]->self, ot->items[i]->i, off);
    return;
  }
  s->n = 0;
  for (int i = 0; i < t->n; i++)
    if (t->items[i] && t->items[i]->self) v_list_push(l, s, t->items[i]->self);
}

static Value *seq_of(L *l, Value *v, int32_t off);

/* set_update_internal: a set merges, a dict's keys go in after one resize, anything else
 * is added item by item. */
static void set_update(L *l, Value *s, Value *src, int32_t off) {
  if (is_set(src)) {
    set_merge(l, s, src, off);
    return;
  }
  if (src->k == V_DICT) {
    int64_t n = src->n / 2;
    if ((s->fn->i + n) * 5 >= (int64_t)(s->fn->n - 1) * 3) set_resize(l, s, 2 * (s->n + n));
  }
  Value *seq = seq_of(l, src, off);
  for (int i = 0; i < seq->n; i++) set_add(l, s, seq->items[i], off);
}

static Value *set_copy(L *l, Value *s, int32_t off) {
  Value *r = set_new(l);
  set_merge(l, r, s, off);
  return r;
}

/* ---- text -------------------------------------------------------------------------- */

static bool has_special(const Value *v, int depth) {
  if (depth > 100) return false;
  if (is_set(v) || is_odict(v)) return true;
  if (v->k == V_LIST || (v->k == V_TUPLE && !v->s) || v->k == V_DICT)
    for (int i = 0; i < v->n; i++)
      if (has_special(v->items[i], depth + 1)) return true;
  return false;
}

/* Python's str() (or repr()) of a compile-time value: v_str_of's text, and sets and
 * OrderedDicts, which it does not know, inside any container. */
const char *py_text(L *l, Value *v, bool repr, int32_t off) {
  if (!has_special(v, 0)) return v_str_of(l, v, repr, off);
  const char *r = is_set(v) ? (v->n ? "{" : "set()") : is_odict(v) ? (v->n ? "OrderedDict([" : "OrderedDict()")
                  : v->k == V_LIST ? "[" : v->k == V_TUPLE ? "(" : "{";
  if (!v->n && (is_set(v) || is_odict(v))) return r;
  bool dict = v->k == V_DICT;
  for (int i = 0; i < v->n; i += dict ? 2 : 1) {
    const char *it = py_text(l, v->items[i], true, off);
    if (dict && is_odict(v)) it = arena_printf(l->arena, "(%s, %s)", it, py_text(l, v->items[i + 1], true, off));
    else if (dict) it = arena_printf(l->arena, "%s: %s", it, py_text(l, v->items[i + 1], true, off));
    r = arena_printf(l->arena, "%s%s%s", r, i ? ", " : "", it);
  }
  return arena_printf(l->arena, "%s%s", r,
                      is_odict(v) ? "])" : v->k == V_TUPLE ? (v->n == 1 ? ",)" : ")") : v->k == V_LIST && !is_set(v) ? "]" : "}");
}

/* ---- Python builtins --------------------------------------------------------------- */

static bool has_host(const Value *v) {
  for (int i = 0; i < v->n; i++)
    if (v->items[i]->k == V_HOST || v->items[i]->k == V_TENSOR) return true;
  return false;
}

/* A fresh variable holding the tensor's value at this point of the graph. */
static int snapshot(L *l, Value *t, int32_t off) {
  const Node *n = tn(l, t);
  const char *name = n->name ? n->name : t->t.var >= 0 ? l->p->vars[t->t.var].name : "t";
  int var = ir_var_new(l->p, arena_strdup(l->p->arena, name), VAR_VALUE, n->dtype, n->shape);
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  return var;
}

void lower_print(L *l, Args *a) {
  const char *sep = " ", *end = "\n";
  for (int k = 0; k < a->nkw; k++) {
    Value *v = a->kw[k];
    if (!strcmp(a->kwnames[k], "sep")) sep = v->k == V_NONE ? " " : v->k == V_STR ? v->s : (lerr(l, a->off, "sep must be None or a string"), "");
    else if (!strcmp(a->kwnames[k], "end")) end = v->k == V_NONE ? "\n" : v->k == V_STR ? v->s : (lerr(l, a->off, "end must be None or a string"), "");
    else if (!strcmp(a->kwnames[k], "flush")) continue;
    else lerr(l, a->off, "print() got an unexpected keyword argument '%s'", a->kwnames[k]);
  }
  /* Text is formatted now; tensors are printed by the program when it runs, from a
   * snapshot taken here (the tensor may change in place later in the graph). */
  int cap = 2 * a->npos + 2;
  for (int i = 0; i < a->npos; i++)
    if (a->pos[i]->k == V_TUPLE || a->pos[i]->k == V_LIST || a->pos[i]->k == V_FSTR) cap += 2 * a->pos[i]->n + 2;
  PrintItem *items = arena_alloc(l->p->arena, sizeof(PrintItem) * (size_t)cap);
  int n = 0;
  char *text = NULL;
  size_t tlen = 0;
#define ADD_TEXT(s)                                                       \
  do {                                                                    \
    const char *s_ = (s);                                                 \
    size_t sl_ = strlen(s_);                                              \
    char *nt_ = arena_alloc(l->p->arena, tlen + sl_ + 1);                 \
    if (tlen) memcpy(nt_, text, tlen);                                    \
    memcpy(nt_ + tlen, s_, sl_ + 1);                                      \
    text = nt_;                                                           \
    tlen += sl_;                                                          \
  } while (0)
#define FLUSH_TEXT()                                                      \
  do {                                                                    \
    if (tlen) items[n++] = (PrintItem){.text = text, .var = -1};         \
    text = NULL;                                                          \
    tlen = 0;                                                             \
  } while (0)
  for (int i = 0; i < a->npos; i++) {
    if (i) ADD_TEXT(sep);
    Value *v = a->pos[i];
    int nparts = 1;
    Value **parts = &v;
    if (v->k == V_FSTR) parts = v->items, nparts = v->n;
    for (int k = 0; k < nparts; k++) {
      Value *pv = parts[k];
      if (pv->k == V_RTLIST) {
        FLUSH_TEXT();
        items[n++] = (PrintItem){.var = -1, .expr = rtlist_expr(l, pv)};
      } else if (pv->k == V_TENSOR) {
        FLUSH_TEXT();
        PrintItem *it = &items[n++];
        it->text = NULL;
        if (pv->t.dyn) { /* x[mask]: its buffer and run-time count */
          dyn_print_item(l, pv, it, a->off);
          continue;
        }
        it->var = snapshot(l, pv, a->off);
        {
          const Shape *vs = &l->p->vars[it->var].shape;
          bool prefix = sym_count(vs) <= 1;
          for (int q = 0; prefix && q < sym_first(vs); q++) prefix = vs->d[q] == 1;
          if (!prefix)
            lerr(l, a->off, "print() of a tensor whose run-time length is not its leading dimension is not "
                            "supported by ttc (print x[0] of a [1, T] window, or the tensor after the loop)");
        }
        it->param = pv->t.param && pv->t.requires_grad;
        it->gradfn = pv->t.requires_grad && !pv->t.leaf ? pv->t.gradfn : NULL;
        it->requires_grad = pv->t.requires_grad && !it->gradfn;
      } else if (pv->k == V_HOST || (pv->k == V_TUPLE && pv->s && !strcmp(pv->s, "hfmt"))) {
        FLUSH_TEXT();
        PrintItem *it = &items[n++];
        it->var = -1;
        Value *hv = pv->k == V_HOST ? pv : pv->items[0];
        it->expr = hx_of(l, hv, a->off);
        if (pv->k == V_TUPLE && pv->items[1]->k == V_STR && pv->items[1]->s[0])
          it->spec = arena_strdup(l->p->arena, pv->items[1]->s);
      } else if ((pv->k == V_LIST || pv->k == V_TUPLE) && has_host(pv)) {
        /* [lr], torch.Size([B, 784]): the brackets now, the run-time items when printed */
        bool size = pv->k == V_TUPLE && pv->s && !strcmp(pv->s, "torch.Size");
        /* torch.max(x, dim)'s named tuple prints as torch.return_types.max(values=..., ...) */
        bool named = pv->k == V_TUPLE && pv->n == 2 && pv->s &&
                     (!strcmp(pv->s, "max") || !strcmp(pv->s, "min") || !strcmp(pv->s, "sort") || !strcmp(pv->s, "topk"));
        if (named) ADD_TEXT(arena_printf(l->arena, "torch.return_types.%s(\nvalues=", pv->s));
        else ADD_TEXT(size ? "torch.Size([" : pv->k == V_LIST ? "[" : "(");
        for (int q = 0; q < pv->n; q++) {
          if (q) ADD_TEXT(named ? ",\nindices=" : ", ");
          Value *iv = pv->items[q];
          if (iv->k == V_HOST) {
            FLUSH_TEXT();
            PrintItem *it = &items[n++];
            it->var = -1;
            it->expr = iv->hx;
          } else if (iv->k == V_TENSOR && iv->t.dyn) {
            FLUSH_TEXT();
            dyn_print_item(l, iv, &items[n++], a->off);
          } else if (iv->k == V_TENSOR) {
            FLUSH_TEXT();
            PrintItem *it = &items[n++];
            it->var = snapshot(l, iv, a->off);
            it->param = iv->t.param && iv->t.requires_grad;
            it->gradfn = iv->t.requires_grad && !iv->t.leaf ? iv->t.gradfn : NULL;
            it->requires_grad = iv->t.requires_grad && !it->gradfn;
          } else
            ADD_TEXT(py_text(l, iv, true, a->off));
        }
        if (pv->k == V_TUPLE && pv->n == 1 && !size) ADD_TEXT(",");
        ADD_TEXT(size ? "])" : pv->k == V_LIST ? "]" : ")");
      } else if (pv->k == V_TUPLE && pv->s && (!strcmp(pv->s, "max") || !strcmp(pv->s, "min"))) {
        lerr(l, a->off, "printing a (values, indices) result is not supported; print .values and .indices");
      } else {
        ADD_TEXT(py_text(l, pv, false, a->off));
      }
    }
  }
  ADD_TEXT(end);
  FLUSH_TEXT();
  Stmt *st = emit_host_stmt(l, ST_PRINT, a->off);
  st->items = items;
  st->nitems = n;
  st->sep = "";
  st->end = "";
#undef ADD_TEXT
#undef FLUSH_TEXT
}

B(print_) {
  UNUSED(self);
  lower_print(l, a);
  return l->none;
}

B(len) {
  Value *v[1];
  args_bind(l, "len", "obj", self, a, v, 1);
  Value *x = v[0];
  if (!x) lerr(l, a->off, "object of type 'NoneType' has no len()");
  switch (x->k) {
  case V_FSTR: return fstr_len(l, x, a->off);
  case V_RTLIST: return rtlist_fix(l, x, a->off) ? v_int(l, x->n) : rtlist_len(l, x, a->off);
  case V_STR: return v_int(l, str_codes(x->s)); /* code points, as Python counts */
  case V_LIST:
  case V_TUPLE: return v_int(l, x->n);
  case V_DICT: return v_int(l, x->n / 2);
  case V_RANGE: return v_int(l, range_len(l, x, a->off));
  case V_TENSOR: {
    Shape s = tshape(l, x);
    if (s.rank == 0) lerr(l, a->off, "len() of a 0-d tensor");
    return dim_size(l, s, 0, a->off);
  }
  case V_OBJECT: {
    if (moduledict_keys(x)) return v_int(l, moduledict_keys(x)->n);
    Value *items = attrs_get(&x->attrs, "__items__");
    if (items) return v_int(l, items->n);
    Value *len = attrs_get(&x->attrs, "__len__");
    /* files are counted when they are opened: len() of a file dataset (or of its loader)
     * is a run-time value, so a smaller or larger file is counted right */
    Value *kind = attrs_get(&x->attrs, "__kind__");
    Value *lid = attrs_get(&x->attrs, "__loader__");
    Value *dsl = attrs_get(&x->attrs, "__loader_id__");
    if (lid && attrs_get(&x->attrs, "dataset")) {
      Value *ds = attrs_get(&x->attrs, "dataset");
      if (attrs_get(&ds->attrs, "__kind__")->i != LD_TENSORS) {
        HostExpr *e = ir_hx(l->p, HX_LOADER_LEN);
        e->loader = (int)lid->i;
        return v_host(l, e);
      }
    } else if (kind && kind->i != LD_TENSORS && dsl) {
      HostExpr *e = ir_hx(l->p, HX_DATASET_LEN);
      e->loader = (int)dsl->i;
      return v_host(l, e);
    }
    if (len) return len;
    Value *m = user_method(l, x, "__len__"); /* a user class's __len__ */
    if (m) {
      Args none = {.off = a->off};
      return v_call(l, m, &none);
    }
    break;
  }
  default: break;
  }
  lerr(l, a->off, "object of type '%s' has no len()", v_typename(x));
}

B(range) {
  UNUSED(self);
  if (a->nkw) lerr(l, a->off, "range() takes no keyword arguments");
  if (a->npos < 1 || a->npos > 3) lerr(l, a->off, "range expected 1 to 3 arguments, got %d", a->npos);
  Value *r = v_new(l, V_RANGE);
  r->i = 0;
  r->i3 = 1;
  if (a->npos == 1) r->i2 = want_int(l, a->pos[0], "range() argument", a->off);
  else {
    r->i = want_int(l, a->pos[0], "range() argument", a->off);
    r->i2 = want_int(l, a->pos[1], "range() argument", a->off);
    if (a->npos == 3) r->i3 = want_int(l, a->pos[2], "range() argument", a->off);
  }
  if (r->i3 == 0) lerr(l, a->off, "range() arg 3 must not be zero");
  return r;
}

B(py_int) {
  Value *v[1];
  args_bind(l, "int", "x=0", self, a, v, 1);
  Value *x = v[0], *c = x && x->k == V_TENSOR ? fold_scalar(l, x) : NULL; /* known now */
  if (c) x = c;
  if (!x) lerr(l, a->off, "int() argument must be a string or a number, not 'NoneType'");
  if (x->k == V_INT || x->k == V_BOOL) return v_int(l, x->i);
  if (x->k == V_FLOAT) {
    if (!isfinite(x->f)) lerr(l, a->off, "cannot convert float %s to integer", isnan(x->f) ? "NaN" : "infinity");
    return v_int(l, f2i(l, trunc(x->f), a->off));
  }
  if (x->k == V_STR) {
    char *e;
    long long i = strtoll(x->s, &e, 10);
    if (e == x->s || *e) lerr(l, a->off, "invalid literal for int() with base 10: '%s'", x->s);
    return v_int(l, i);
  }
  if (x->k == V_TENSOR) x = tensor_item(l, x, a->off);
  if (x->k == V_HOST) return x->hx->isfloat ? host_call1(l, HU_TOINT, x, a->off) : x;
  lerr(l, a->off, "int() argument must be a string or a number, not '%s'", v_typename(x));
}

B(py_float) {
  Value *v[1];
  args_bind(l, "float", "x=0.0", self, a, v, 1);
  Value *x = v[0], *c = x && x->k == V_TENSOR ? fold_scalar(l, x) : NULL; /* known now */
  if (c) x = c;
  if (x && (x->k == V_INT || x->k == V_BOOL)) return v_float(l, (double)x->i);
  if (x && x->k == V_FLOAT) return x;
  if (x && x->k == V_STR) {
    char *e;
    double f = strtod(x->s, &e);
    if (e == x->s || *e) lerr(l, a->off, "could not convert string to float: '%s'", x->s);
    return v_float(l, f);
  }
  if (x && x->k == V_TENSOR) x = tensor_item(l, x, a->off);
  if (x && x->k == V_HOST) return host_call1(l, HU_TOFLOAT, x, a->off);
  lerr(l, a->off, "float() argument must be a string or a number, not '%s'", x ? v_typename(x) : "NoneType");
}

/* str(x) of a run-time number: a string of its text when the program runs (V_FSTR) */
static Value *host_str(L *l, Value *x) {
  Value *r = v_new(l, V_FSTR);
  v_list_push(l, r, v_str(l, ""));
  v_list_push(l, r, host_snapshot(l, x, 0));
  v_list_push(l, r, v_str(l, ""));
  return r;
}
B(py_str) {
  Value *v[1];
  args_bind(l, "str", "x=''", self, a, v, 1);
  if (v[0] && (v[0]->k == V_FSTR)) return v[0];
  if (v[0] && v[0]->k == V_RTLIST) return host_str(l, v_host(l, rtlist_expr(l, v[0])));
  if (v[0] && v[0]->k == V_HOST) return host_str(l, v[0]);
  return v_str(l, v[0] ? py_text(l, v[0], false, a->off) : "None");
}
B(py_repr) {
  Value *v[1];
  args_bind(l, "repr", "x", self, a, v, 1);
  if (v[0] && v[0]->k == V_HOST) return host_str(l, v[0]); /* a number's repr is its str */
  if (v[0] && v[0]->k == V_RTLIST) return host_str(l, v_host(l, rtlist_expr(l, v[0])));
  return v_str(l, v[0] ? py_text(l, v[0], true, a->off) : "None");
}
B(py_bool) {
  Value *v[1];
  args_bind(l, "bool", "x=False", self, a, v, 1);
  Value *c = v[0] && v[0]->k == V_TENSOR ? fold_scalar(l, v[0]) : NULL; /* known now */
  if (c) v[0] = c;
  if (v[0] && v[0]->k == V_TENSOR) v[0] = tensor_item(l, v[0], a->off); /* bool(t): its one element */
  if (v[0] && v[0]->k == V_HOST) { /* known at run time: x != 0, printed True/False */
    if (v[0]->hx->isbool) return v[0];
    return host_compare(l, CMP_NE, v[0], v_int(l, 0), a->off);
  }
  return v_bool(l, v[0] ? v_truthy(l, v[0], a->off) : false);
}

B(py_abs) {
  Value *v[1];
  args_bind(l, "abs", "x", self, a, v, 1);
  if (v[0] && v[0]->k == V_TENSOR) return bi_abs(l, v[0], &(Args){.off = a->off});
  if (v[0] && v[0]->k == V_HOST) return host_call1(l, HU_ABS, v[0], a->off);
  if (v[0] && (v[0]->k == V_INT || v[0]->k == V_BOOL)) {
    if (v[0]->i == INT64_MIN) lerr(l, a->off, "integer overflow: ttc's compile-time ints are 64-bit (Python's would grow)");
    return v_int(l, v[0]->i < 0 ? -v[0]->i : v[0]->i);
  }
  return v_float(l, fabs(want_num(l, v[0], "abs() argument", a->off)));
}

static Value *seq_of(L *l, Value *v, int32_t off);

static Value *py_minmax(L *l, Args *a, bool ismax) {
  Value *key = NULL, *dflt = NULL;
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "key")) key = a->kw[k]->k == V_NONE ? NULL : a->kw[k];
    else if (!strcmp(a->kwnames[k], "default")) dflt = a->kw[k];
    else lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", ismax ? "max" : "min", a->kwnames[k]);
  }
  if (key || dflt) { /* Python's rules, at compile time: the first item with the best key */
    if (dflt && a->npos != 1) lerr(l, a->off, "Cannot specify a default for %s() with multiple positional arguments", ismax ? "max" : "min");
    Value *seq = a->npos == 1 ? seq_of(l, a->pos[0], a->off) : NULL;
    Value **items = seq ? seq->items : a->pos;
    int n = seq ? seq->n : a->npos;
    if (n == 0) {
      if (dflt) return dflt;
      lerr(l, a->off, "%s() arg is an empty sequence", ismax ? "max" : "min");
    }
    Value *best = items[0], *bestk = NULL;
    for (int i = 0; i < n; i++) {
      Value *kv = items[i];
      if (key) kv = v_call(l, key, &(Args){.pos = &items[i], .npos = 1, .off = a->off});
      if (kv->k == V_HOST || kv->k == V_TENSOR || kv->k == V_RTLIST)
        lerr(l, a->off, "%s() with a key that is known only at run time is not supported: which item "
                        "it picks is decided when the program runs", ismax ? "max" : "min");
      if (i == 0 || (ismax ? py_lt(l, bestk, kv, ismax ? "max()" : "min()", a->off) : py_lt(l, kv, bestk, "min()", a->off)))
        best = items[i], bestk = kv;
    }
    return best;
  }
  if (a->npos == 1 && a->pos[0]->k == V_RTLIST) return rtlist_reduce(l, a->pos[0], ismax ? HX_LIST_MAX : HX_LIST_MIN, a->off);
  if (a->npos == 1 && a->pos[0]->k == V_TENSOR) return maxmin(l, NULL, a, ismax);
  if (a->npos == 2 && (a->pos[0]->k == V_TENSOR || a->pos[1]->k == V_TENSOR))
    lerr(l, a->off, "Python's %s() on tensors: use torch.%s", ismax ? "max" : "min", ismax ? "maximum" : "minimum");
  Value *seq = a->npos == 1 ? seq_of(l, a->pos[0], a->off) : NULL;
  Value **items = seq ? seq->items : a->pos;
  int n = seq ? seq->n : a->npos;
  if (n == 0) lerr(l, a->off, "%s() arg is an empty sequence", ismax ? "max" : "min");
  Value *best = items[0];
  for (int i = 0; i < n; i++)
    if (items[i]->k == V_HOST) { /* run-time: min/max as host expressions */
      HostExpr *acc = hx_of(l, items[0], a->off);
      for (int k = 1; k < n; k++) {
        HostExpr *e = ir_hx(l->p, HX_BIN);
        e->op = ismax ? HB_MAX : HB_MIN;
        e->a = acc;
        e->b = hx_of(l, items[k], a->off);
        if (!e->b) lerr(l, a->off, "%s() of a run-time value and a %s", ismax ? "max" : "min", v_typename(items[k]));
        if (e->b->isfloat != acc->isfloat || e->b->isbool != acc->isbool)
          lerr(l, a->off, "%s() of run-time values of different types (%s and %s): which one it "
                          "gives, and so its type, is known only when the program runs",
               ismax ? "max" : "min", acc->isbool ? "bool" : acc->isfloat ? "float" : "int",
               e->b->isbool ? "bool" : e->b->isfloat ? "float" : "int");
        e->isfloat = acc->isfloat;
        e->isbool = acc->isbool;
        acc = e;
        if (k % 4 == 0 && k + 1 < n) { /* (b < a ? b : a) reads a twice: keep it in a variable */
          HostExpr *v = ir_hx(l->p, HX_VAR);
          v->isfloat = acc->isfloat, v->isbool = acc->isbool;
          v->hvar = host_var_for(l, v_host(l, acc), ismax ? "max" : "min", a->off);
          acc = v;
        }
      }
      return v_host(l, acc);
    }
  for (int i = 1; i < n; i++)
    if (ismax ? py_lt(l, best, items[i], "max()", a->off) : py_lt(l, items[i], best, "min()", a->off)) best = items[i];
  return best;
}
B(py_max) { UNUSED(self); return py_minmax(l, a, true); }
B(py_min) { UNUSED(self); return py_minmax(l, a, false); }

static Value *seq_of(L *l, Value *v, int32_t off) {
  /* arguments bind None as NULL */
  if (!v || v->k == V_NONE) lerr(l, off, "'NoneType' object is not iterable");
  if (v->k == V_LIST || v->k == V_TUPLE) return v;
  if (v->k == V_FSTR) fstr_unsupported(l, "iterating over it", off);
  if (v->k == V_RTLIST && !rtlist_fix(l, v, off)) rtlist_unsupported(l, "iterating over it", off);
  Value *r = v_new(l, V_LIST);
  if (v->k == V_RANGE) {
    /* checked before any element is made: ten million elements took 1.5 GB of the
     * compiler's memory before the check fired (the fuzzer's out-of-memory) */
    if (range_len(l, v, off) > 5000000)
      lerr(l, off, "range too long: ttc makes its elements at compile time (at most 5000000)");
    for (int64_t i = v->i; v->i3 > 0 ? i < v->i2 : i > v->i2; i += v->i3) v_list_push(l, r, v_int(l, i));
    return r;
  }
  if (v->k == V_STR) {
    for (const char *p = v->s; *p; p += str_code_len(p))
      v_list_push(l, r, v_str(l, arena_strndup(l->arena, p, str_code_len(p))));
    return r;
  }
  if (v->k == V_DICT) {
    for (int i = 0; i + 1 < v->n; i += 2) v_list_push(l, r, v->items[i]);
    return r;
  }
  if (v->k == V_OBJECT && moduledict_keys(v)) {
    for (int i = 0; i < moduledict_keys(v)->n; i++) v_list_push(l, r, moduledict_keys(v)->items[i]);
    return r;
  }
  if (v->k == V_OBJECT && attrs_get(&v->attrs, "__items__")) return attrs_get(&v->attrs, "__items__");
  if (v->k == V_TENSOR) {
    Shape s = tshape(l, v);
    if (s.rank == 0) lerr(l, off, "iteration over a 0-d tensor");
    for (int64_t i = 0; i < s.d[0]; i++) {
      IndexItem it = {.kind = IX_VALUE, .v = v_int(l, i), .off = off};
      v_list_push(l, r, bi_index(l, v, &it, 1, false, off));
    }
    return r;
  }
  lerr(l, off, "'%s' object is not iterable", v_typename(v));
}

B(py_sum) {
  Value *v[2];
  args_bind(l, "sum", "iterable, start=0", self, a, v, 2);
  if (v[0] && v[0]->k == V_TENSOR) return bi_sum(l, v[0], &(Args){.off = a->off});
  if (v[0] && v[0]->k == V_RTLIST) {
    Value *s = rtlist_reduce(l, v[0], HX_LIST_SUM, a->off);
    return v[1] ? bi_binop(l, BIN_ADD, v[1], s, a->off) : s;
  }
  Value *seq = seq_of(l, v[0], a->off);
  Value *acc = v[1] ? v[1] : v_int(l, 0);
  for (int i = 0; i < seq->n; i++) acc = bi_binop(l, BIN_ADD, acc, seq->items[i], a->off);
  return acc;
}

B(py_list) {
  Value *v[1];
  args_bind(l, "list", "iterable=None", self, a, v, 1);
  Value *r = v_new(l, V_LIST);
  /* an explicit None binds as a missing argument: look at the call itself */
  if (!v[0] && (a->npos || a->nkw)) lerr(l, a->off, "'NoneType' object is not iterable");
  if (!v[0]) return r;
  Value *seq = seq_of(l, v[0], a->off);
  for (int i = 0; i < seq->n; i++) v_list_push(l, r, seq->items[i]);
  return r;
}
B(py_tuple) {
  Value *v[1];
  args_bind(l, "tuple", "iterable=None", self, a, v, 1);
  Value *r = v_new(l, V_TUPLE);
  /* an explicit None binds as a missing argument: look at the call itself */
  if (!v[0] && (a->npos || a->nkw)) lerr(l, a->off, "'NoneType' object is not iterable");
  if (!v[0]) return r;
  Value *seq = seq_of(l, v[0], a->off);
  for (int i = 0; i < seq->n; i++) v_list_push(l, r, seq->items[i]);
  return r;
}
B(py_enumerate) {
  Value *v[2];
  args_bind(l, "enumerate", "iterable, start=0", self, a, v, 2);
  if (v[0] && v[0]->k == V_OBJECT && attrs_get(&v[0]->attrs, "__loader__")) {
    Value *r = v_new(l, V_LIST); /* a loop over it counts at run time */
    r->s = "enumerate_loader";
    v_list_push(l, r, v[0]);
    v_list_push(l, r, v[1] ? v[1] : v_int(l, 0));
    return r;
  }
  Value *seq = seq_of(l, v[0], a->off), *r = v_new(l, V_LIST);
  int64_t start = want_int(l, v[1], "start", a->off);
  for (int i = 0; i < seq->n; i++) {
    Value *t = v_tuple(l, 2);
    t->items[0] = v_int(l, start + i);
    t->items[1] = seq->items[i];
    v_list_push(l, r, t);
  }
  return r;
}
B(py_zip) {
  UNUSED(self);
  Value *r = v_new(l, V_LIST);
  if (a->npos == 0) return r;
  Value **seqs = arena_alloc(l->arena, sizeof(Value *) * (size_t)a->npos);
  int n = INT32_MAX;
  for (int i = 0; i < a->npos; i++) {
    seqs[i] = seq_of(l, a->pos[i], a->off);
    if (seqs[i]->n < n) n = seqs[i]->n;
  }
  for (int k = 0; k < n; k++) {
    Value *t = v_tuple(l, a->npos);
    for (int i = 0; i < a->npos; i++) t->items[i] = seqs[i]->items[k];
    v_list_push(l, r, t);
  }
  return r;
}
/* ---- sorted, reversed, any, all, filter, map ---------------------------------------- */

/* A stable merge sort of items by keys (Python's sort is stable too, so the order is the
 * same); reverse keeps equal items in their order, as Python's does. */
static void sort_items(L *l, Value **items, Value **keys, int n, bool reverse, const char *what, int32_t off) {
  if (n < 2) return;
  Value **ti = arena_alloc(l->arena, sizeof(Value *) * (size_t)n), **tk = arena_alloc(l->arena, sizeof(Value *) * (size_t)n);
  for (int w = 1; w < n; w *= 2) {
    for (int lo = 0; lo < n; lo += 2 * w) {
      int mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n, i = lo, j = mid, o = lo;
      while (i < mid && j < hi) {
        bool right = reverse ? py_lt(l, keys[i], keys[j], what, off) : py_lt(l, keys[j], keys[i], what, off);
        int k = right ? j++ : i++;
        ti[o] = items[k], tk[o++] = keys[k];
      }
      while (i < mid) ti[o] = items[i], tk[o++] = keys[i++];
      while (j < hi) ti[o] = items[j], tk[o++] = keys[j++];
    }
    memcpy(items, ti, sizeof(Value *) * (size_t)n);
    memcpy(keys, tk, sizeof(Value *) * (size_t)n);
  }
}

/* key= and reverse= of sorted() and list.sort(), keyword-only as in Python. */
static void sort_opts(L *l, Args *a, const char *fname, Value **key, bool *reverse) {
  *key = NULL, *reverse = false;
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "key")) *key = a->kw[k]->k == V_NONE ? NULL : a->kw[k];
    else if (!strcmp(a->kwnames[k], "reverse")) {
      want_ct(l, a->kw[k], true, "reverse=", a->off);
      *reverse = v_truthy(l, a->kw[k], a->off);
    } else lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, a->kwnames[k]);
  }
}

/* Sorts list (a fresh one or list.sort()'s self) in place. */
static void sort_list(L *l, Value *list, Value *key, bool reverse, const char *what, int32_t off) {
  Value **keys = arena_alloc(l->arena, sizeof(Value *) * (size_t)(list->n + 1));
  for (int i = 0; i < list->n; i++)
    keys[i] = key ? v_call(l, key, &(Args){.pos = &list->items[i], .npos = 1, .off = off}) : list->items[i];
  sort_items(l, list->items, keys, list->n, reverse, what, off);
}

B(py_sorted) {
  UNUSED(self);
  if (a->npos != 1) lerr(l, a->off, "sorted expected 1 argument, got %d", a->npos);
  Value *key;
  bool reverse;
  sort_opts(l, a, "sorted", &key, &reverse);
  Value *seq = seq_of(l, a->pos[0], a->off), *r = v_new(l, V_LIST);
  for (int i = 0; i < seq->n; i++) v_list_push(l, r, seq->items[i]);
  sort_list(l, r, key, reverse, "sorted()", a->off);
  return r;
}

/* reversed(seq): a list (as generator expressions are), for what Python can reverse. */
B(py_reversed) {
  Value *v[1];
  args_bind(l, "reversed", "sequence", self, a, v, 1);
  Value *x = v[0] ? v[0] : l->none;
  if (is_set(x) || x->k == V_NONE || is_num(x))
    lerr(l, a->off, "'%s' object is not reversible", py_typename(x));
  if (x->k == V_TENSOR) lerr(l, a->off, "reversed() of a tensor is not supported; index it with a reversed range of rows");
  Value *seq = seq_of(l, x, a->off), *r = v_new(l, V_LIST);
  for (int i = seq->n - 1; i >= 0; i--) v_list_push(l, r, seq->items[i]);
  return r;
}

/* any() and all() stop at the first item that decides, as Python's do. */
static Value *any_all(L *l, Value *self, Args *a, bool any) {
  Value *v[1];
  args_bind(l, any ? "any" : "all", "iterable", self, a, v, 1);
  Value *seq = seq_of(l, v[0], a->off);
  Value *r = NULL; /* the run-time items so far, or-ed (and-ed) */
  for (int i = 0; i < seq->n; i++) {
    Value *x = seq->items[i];
    if (x->k == V_HOST) { /* decided when the program runs */
      r = r ? rt_andor(l, r, rt_bool(l, x), !any) : rt_bool(l, x);
      continue;
    }
    want_ct(l, x, true, any ? "any()" : "all()", a->off);
    if (v_truthy(l, x, a->off) == any) return v_bool(l, any);
  }
  return r ? r : v_bool(l, !any);
}
B(py_any) { return any_all(l, self, a, true); }
B(py_all) { return any_all(l, self, a, false); }

/* filter() and map() give lists: the function runs on every item when they are called
 * (Python runs it as the result is consumed). */
B(py_filter) {
  Value *v[2];
  args_bind(l, "filter", "function, iterable", self, a, v, 2);
  Value *seq = seq_of(l, v[1], a->off), *r = v_new(l, V_LIST);
  for (int i = 0; i < seq->n; i++) {
    Value *t = v[0] ? v_call(l, v[0], &(Args){.pos = &seq->items[i], .npos = 1, .off = a->off}) : seq->items[i];
    want_ct(l, t, true, "filter()", a->off);
    if (v_truthy(l, t, a->off)) v_list_push(l, r, seq->items[i]);
  }
  return r;
}

B(py_map) {
  UNUSED(self);
  if (a->nkw) lerr(l, a->off, "map() takes no keyword arguments");
  if (a->npos < 2) lerr(l, a->off, "map() must have at least two arguments.");
  int n = a->npos - 1, len = INT32_MAX;
  Value **seqs = arena_alloc(l->arena, sizeof(Value *) * (size_t)n);
  for (int i = 0; i < n; i++) {
    seqs[i] = seq_of(l, a->pos[i + 1], a->off);
    if (seqs[i]->n < len) len = seqs[i]->n;
  }
  Value *r = v_new(l, V_LIST);
  for (int k = 0; k < len; k++) {
    Value **args = arena_alloc(l->arena, sizeof(Value *) * (size_t)n);
    for (int i = 0; i < n; i++) args[i] = seqs[i]->items[k];
    v_list_push(l, r, v_call(l, a->pos[0], &(Args){.pos = args, .npos = n, .off = a->off}));
  }
  return r;
}

/* ---- dict, OrderedDict, set, type, ord, chr ---------------------------------------- */

/* d[key] = val, where key must be hashable and known at compile time. */
static void dict_set(L *l, Value *d, Value *key, Value *val, int32_t off) {
  py_hash(l, key, "a dict key", off);
  for (int i = 0; i + 1 < d->n; i += 2)
    if (d->items[i] == key || host_eq(l, d->items[i], key, off)) {
      d->items[i + 1] = val;
      return;
    }
  v_list_push(l, d, key);
  v_list_push(l, d, val);
}

/* The index of key's value in d->items, or -1. */
static int dict_find(L *l, Value *d, Value *key, int32_t off) {
  py_hash(l, key, "a dict key", off);
  for (int i = 0; i + 1 < d->n; i += 2)
    if (d->items[i] == key || host_eq(l, d->items[i], key, off)) return i + 1;
  return -1;
}

/* dict.update(src, **kw) and dict(src, **kw): a mapping, or an iterable of pairs. */
static void dict_update(L *l, Value *d, Value *src, Args *a) {
  if (src && src->k == V_DICT) {
    int n = src->n; /* src may be d */
    for (int i = 0; i + 1 < n; i += 2) dict_set(l, d, src->items[i], src->items[i + 1], a->off);
  } else if (src) {
    Value *seq = seq_of(l, src, a->off);
    for (int i = 0; i < seq->n; i++) {
      Value *p = seq->items[i];
      if (p->k == V_STR) p = seq_of(l, p, a->off);
      if (p->k != V_LIST && p->k != V_TUPLE)
        lerr(l, a->off, "cannot convert dictionary update sequence element #%d to a sequence", i);
      if (p->n != 2)
        lerr(l, a->off, "dictionary update sequence element #%d has length %d; 2 is required", i, p->n);
      dict_set(l, d, p->items[0], p->items[1], a->off);
    }
  }
  for (int k = 0; k < a->nkw; k++) dict_set(l, d, v_str(l, a->kwnames[k]), a->kw[k], a->off);
}

static Value *make_dict(L *l, Args *a, const char *tag) {
  if (a->npos > 1) lerr(l, a->off, "%s expected at most 1 argument, got %d", tag ? tag : "dict", a->npos);
  Value *d = v_new(l, V_DICT);
  d->s = tag;
  dict_update(l, d, a->npos ? a->pos[0] : NULL, a);
  return d;
}
B(py_dict) { UNUSED(self); return make_dict(l, a, NULL); }
/* collections.OrderedDict: a dict that prints as one (ttc's dicts keep insertion order) */
B(py_ordered_dict) { UNUSED(self); return make_dict(l, a, "OrderedDict"); }

B(py_set) {
  UNUSED(self);
  if (a->nkw) lerr(l, a->off, "set() takes no keyword arguments");
  if (a->npos > 1) lerr(l, a->off, "set expected at most 1 argument, got %d", a->npos);
  Value *s = set_new(l);
  if (a->npos) set_update(l, s, a->pos[0], a->off);
  return s;
}

/* The static type of a run-time number, when nothing it reads can change type later. */
static bool hx_fixed(const HostExpr *e) {
  if (!e) return true;
  if (e->kind == HX_VAR || e->kind == HX_LIST || e->kind == HX_LIST_GET || e->kind == HX_LIST_SUM ||
      e->kind == HX_LIST_MIN || e->kind == HX_LIST_MAX)
    return false;
  return hx_fixed(e->a) && hx_fixed(e->b);
}
static const char *host_type(L *l, Value *v, const char *what, int32_t off) {
  if (!hx_fixed(v->hx))
    lerr(l, off, "%s of a value known only when the program runs is not supported here: its "
                 "type can change while the program runs", what);
  return v->hx->isbool ? "bool" : v->hx->isfloat ? "float" : "int";
}

/* type(x): a class with __name__ that prints as Python's; for Python's own types and
 * ttc's module classes, calling it constructs one (type(x)(...)). One value per type, kept
 * in the globals under a name no program can spell, so type(a) == type(b) holds. */
static Value *type_value(L *l, const char *qual, const char *name, const Builtin *ctor) {
  const char *key = arena_printf(l->arena, "type %s", qual);
  Value *c = attrs_get(&l->globals->vars, key);
  if (c) return c;
  c = v_new(l, V_CLASS);
  c->s = qual;
  c->bi = ctor;
  attrs_set(l, &c->attrs, "__name__", v_str(l, name));
  attrs_set(l, &l->globals->vars, key, c);
  return c;
}
static Value *py_type_of(L *l, Value *x, int32_t off) {
  const char *n = NULL;
  switch (x->k) {
  case V_NONE: return type_value(l, "NoneType", "NoneType", NULL);
  case V_BOOL: n = "bool"; break;
  case V_INT: n = "int"; break;
  case V_FLOAT: n = "float"; break;
  case V_STR:
  case V_FSTR: n = "str"; break;
  case V_RTLIST: n = "list"; break;
  case V_HOST: n = host_type(l, x, "type()", off); break;
  case V_LIST:
    if (!x->s || is_set(x)) n = is_set(x) ? "set" : "list";
    break;
  case V_TUPLE:
    if (x->s && !strcmp(x->s, "torch.Size")) return type_value(l, "torch.Size", "Size", NULL);
    if (!x->s) n = "tuple";
    break;
  case V_DICT:
    if (is_odict(x)) return type_value(l, "collections.OrderedDict", "OrderedDict", bi_lookup("OrderedDict", BI_FUNC));
    n = "dict";
    break;
  case V_RANGE: n = "range"; break;
  case V_TENSOR:
    if (x->t.param) return type_value(l, "torch.nn.parameter.Parameter", "Parameter", bi_lookup("Parameter", BI_FUNC | BI_CLASS));
    return type_value(l, "torch.Tensor", "Tensor", bi_lookup("Tensor", BI_FUNC));
  case V_DTYPE: return type_value(l, "torch.dtype", "dtype", NULL);
  case V_FUNC: return type_value(l, "function", "function", NULL);
  case V_BUILTIN: return type_value(l, "builtin_function_or_method", "builtin_function_or_method", NULL);
  case V_METHOD: return type_value(l, "method", "method", NULL);
  case V_CLASS: return type_value(l, "type", "type", NULL);
  case V_NS: return type_value(l, "module", "module", NULL);
  case V_OBJECT:
    if (x->cls->bi) return type_value(l, x->cls->s, x->cls->s, x->cls->bi);
    if (!attrs_get(&x->cls->attrs, "__name__")) attrs_set(l, &x->cls->attrs, "__name__", v_str(l, x->cls->s));
    return x->cls; /* a user class */
  }
  if (!n) lerr(l, off, "type() of this value is not supported");
  return type_value(l, n, n, bi_lookup(n, BI_FUNC));
}
B(py_type) {
  UNUSED(self);
  if (a->nkw || a->npos != 1) lerr(l, a->off, "type() takes 1 argument in ttc (the 3-argument form is not supported)");
  return py_type_of(l, a->pos[0], a->off);
}

static int utf8_len(unsigned char c) { return c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4; }
/* The code point at p (valid UTF-8, which the lexer and chr() guarantee). */
static uint32_t utf8_at(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  int n = utf8_len(u[0]);
  uint32_t c = n == 1 ? u[0] : u[0] & (0x7F >> n);
  for (int i = 1; i < n; i++) c = (c << 6) | (u[i] & 0x3F);
  return c;
}
/* Code points in s[0, nbytes). */
static int64_t ncodes(const char *s, size_t nbytes) {
  int64_t n = 0;
  for (size_t i = 0; i < nbytes; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}
/* The byte offset of code point k of s (its length if k is past the end). */
static size_t code_off(const char *s, int64_t k) {
  size_t i = 0;
  for (; s[i] && k > 0; k--) i += (size_t)utf8_len((unsigned char)s[i]);
  return i;
}
int64_t str_codes(const char *s) {
  return ncodes(s, strlen(s));
}
size_t str_code_off(const char *s, int64_t k) {
  return code_off(s, k);
}
size_t str_code_len(const char *s) {
  return *s ? (size_t)utf8_len((unsigned char)*s) : 0;
}

B(py_ord) {
  Value *v[1];
  args_bind(l, "ord", "c", self, a, v, 1);
  Value *c = v[0] ? v[0] : l->none;
  if (c->k == V_FSTR) fstr_unsupported(l, "ord() of it", a->off);
  if (c->k != V_STR) lerr(l, a->off, "ord() expected string of length 1, but %s found", py_typename(c));
  int64_t n = ncodes(c->s, strlen(c->s));
  if (n != 1) lerr(l, a->off, "ord() expected a character, but string of length %lld found", (long long)n);
  return v_int(l, utf8_at(c->s));
}

B(py_chr) {
  Value *v[1];
  args_bind(l, "chr", "i", self, a, v, 1);
  int64_t c = want_int(l, v[0], "chr() argument", a->off);
  if (c < 0 || c > 0x10FFFF) lerr(l, a->off, "chr() arg not in range(0x110000)");
  if (c == 0) lerr(l, a->off, "chr(0): a NUL character is not supported in ttc's strings");
  if (c >= 0xD800 && c <= 0xDFFF) lerr(l, a->off, "chr(%lld) is a lone surrogate, which ttc's strings cannot hold", (long long)c);
  char buf[5] = {0};
  if (c < 0x80) buf[0] = (char)c;
  else if (c < 0x800) buf[0] = (char)(0xC0 | (c >> 6)), buf[1] = (char)(0x80 | (c & 0x3F));
  else if (c < 0x10000)
    buf[0] = (char)(0xE0 | (c >> 12)), buf[1] = (char)(0x80 | ((c >> 6) & 0x3F)), buf[2] = (char)(0x80 | (c & 0x3F));
  else
    buf[0] = (char)(0xF0 | (c >> 18)), buf[1] = (char)(0x80 | ((c >> 12) & 0x3F)),
    buf[2] = (char)(0x80 | ((c >> 6) & 0x3F)), buf[3] = (char)(0x80 | (c & 0x3F));
  return v_str(l, arena_strdup(l->arena, buf));
}

/* ---- copy.copy, copy.deepcopy ------------------------------------------------------ */

typedef struct Memo { /* deepcopy's memo: each object copied once, so sharing is kept */
  Value **from, **to;
  int n, cap;
} Memo;

static void memo_put(L *l, Memo *m, Value *from, Value *to) {
  if (m->n == m->cap) {
    int cap = m->cap ? 2 * m->cap : 16;
    Value **f = arena_alloc(l->arena, sizeof(Value *) * (size_t)cap), **t = arena_alloc(l->arena, sizeof(Value *) * (size_t)cap);
    if (m->n) memcpy(f, m->from, sizeof(Value *) * (size_t)m->n), memcpy(t, m->to, sizeof(Value *) * (size_t)m->n);
    m->from = f, m->to = t, m->cap = cap;
  }
  m->from[m->n] = from, m->to[m->n++] = to;
}

/* A tensor's copy: its value now, detached (torch's __deepcopy__ copies the data); a leaf
 * that requires grad stays one, and a Parameter stays a Parameter. */
static Value *copy_tensor(L *l, Value *t, int32_t off) {
  if (t->t.requires_grad && !t->t.leaf)
    lerr(l, off, "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                 "protocol at the moment");
  Value *r = bi_call(l, "clone", bi_call(l, "detach", t, NULL, 0, off), NULL, 0, off);
  r->t.leaf = true;
  if (t->t.requires_grad) {
    if (t->t.grad) lerr(l, off, "copy.deepcopy() of a tensor that has a .grad is not supported");
    r = make_leaf(l, r, true, off);
    r->t.param = t->t.param;
  }
  return r;
}

static Value *deepcopy(L *l, Value *v, Memo *m, int depth, int32_t off) {
  if (depth > 200) lerr(l, off, "copy.deepcopy(): the structure is nested too deeply");
  for (int i = 0; i < m->n; i++)
    if (m->from[i] == v) return m->to[i];
  Value *r;
  switch (v->k) {
  case V_LIST:
    if (is_set(v)) { /* rebuilt from its items, as a set's __reduce__ does */
      r = set_new(l);
      memo_put(l, m, v, r);
      for (int i = 0; i < v->n; i++) set_add(l, r, deepcopy(l, v->items[i], m, depth + 1, off), off);
      return r;
    }
    if (v->s) lerr(l, off, "copy.deepcopy() of this list is not supported");
    r = v_new(l, V_LIST);
    memo_put(l, m, v, r);
    for (int i = 0; i < v->n; i++) v_list_push(l, r, deepcopy(l, v->items[i], m, depth + 1, off));
    return r;
  case V_DICT:
    r = v_new(l, V_DICT);
    r->s = is_odict(v) ? v->s : NULL; /* an optimizer's param group copies as a plain dict */
    memo_put(l, m, v, r);
    for (int i = 0; i + 1 < v->n; i += 2) {
      Value *k = deepcopy(l, v->items[i], m, depth + 1, off);
      v_list_push(l, r, k);
      v_list_push(l, r, deepcopy(l, v->items[i + 1], m, depth + 1, off));
    }
    return r;
  case V_TUPLE: { /* a tuple of unchanged items is itself, as in Python */
    r = v_tuple(l, v->n);
    r->s = v->s;
    bool same = true;
    for (int i = 0; i < v->n; i++) same &= (r->items[i] = deepcopy(l, v->items[i], m, depth + 1, off)) == v->items[i];
    if (same) return v;
    memo_put(l, m, v, r);
    return r;
  }
  case V_TENSOR:
    r = copy_tensor(l, v, off);
    memo_put(l, m, v, r);
    return r;
  case V_RTLIST: rtlist_unsupported(l, "copy.deepcopy() of it", off);
  case V_OBJECT:
    if (bi_is_module(v))
      lerr(l, off, "copy.deepcopy() of a module is not supported: ttc cannot duplicate its "
                   "parameters; build a second module, or copy its state_dict()");
    lerr(l, off, "copy.deepcopy() of a %s object is not supported", v_typename(v));
  default: return v; /* numbers, strings (run-time ones too), functions, classes: immutable */
  }
}

B(py_deepcopy) {
  Value *v[2];
  args_bind(l, "deepcopy", "x, memo=None", self, a, v, 2);
  if (v[1]) lerr(l, a->off, "deepcopy(): a memo argument is not supported");
  Memo m = {0};
  return deepcopy(l, v[0] ? v[0] : l->none, &m, 0, a->off);
}

B(py_copy) {
  Value *v[1];
  args_bind(l, "copy", "x", self, a, v, 1);
  Value *x = v[0] ? v[0] : l->none;
  switch (x->k) {
  case V_LIST: {
    if (is_set(x)) return set_copy(l, x, a->off);
    if (x->s) lerr(l, a->off, "copy.copy() of this list is not supported");
    Value *r = v_new(l, V_LIST);
    for (int i = 0; i < x->n; i++) v_list_push(l, r, x->items[i]);
    return r;
  }
  case V_DICT: {
    Value *r = v_new(l, V_DICT);
    r->s = is_odict(x) ? x->s : NULL;
    for (int i = 0; i < x->n; i++) v_list_push(l, r, x->items[i]);
    return r;
  }
  case V_TENSOR:
    lerr(l, a->off, "copy.copy() of a tensor (a tensor sharing its storage) is not supported; use "
                    "t.clone() or copy.deepcopy()");
  case V_RTLIST: rtlist_unsupported(l, "copy.copy() of it", a->off);
  case V_OBJECT: lerr(l, a->off, "copy.copy() of a %s object is not supported", v_typename(x));
  default: return x;
  }
}

/* round(x, n) of a float, as Python computes it: x's exact decimal value rounded to n
 * digits (ties to even), then the nearest double. The same as runtime/print.c's
 * tt_round_digits, which programs call for run-time values (ttc does not link the
 * runtime). */
static double round_digits(double x, int64_t n) {
  if (!isfinite(x) || n > 330) return x;
  if (n < 0) {
    if (n < -330) return copysign(0.0, x);
    double m = pow(10.0, (double)-n);
    return nearbyint(x / m) * m;
  }
  char buf[720];
  snprintf(buf, sizeof buf, "%.*f", (int)n, x);
  return strtod(buf, NULL);
}

B(py_round) {
  Value *v[2];
  args_bind(l, "round", "number, ndigits=None", self, a, v, 2);
  if (v[0] && v[0]->k == V_HOST) {
    if (!v[1]) return host_call1(l, HU_ROUND, v[0], a->off);
    int64_t nd = want_int(l, v[1], "ndigits", a->off);
    return host_round(l, v[0], nd, a->off);
  }
  if (v[0] && v[0]->k == V_INT) return v[0]; /* round(int[, n]) is the int (for n >= 0) */
  double x = want_num(l, v[0], "round() argument", a->off);
  if (!v[1]) {
    double r = nearbyint(x); /* banker's rounding, as Python */
    if (!isfinite(r)) lerr(l, a->off, "cannot convert float to integer");
    return v_int(l, f2i(l, r, a->off));
  }
  return v_float(l, round_digits(x, want_int(l, v[1], "ndigits", a->off)));
}
/* isinstance(o, T) for Python's own type T (or torch.Tensor, nn.Parameter), by name; a
 * bool is an int, a torch.Size a tuple, an OrderedDict a dict, as in Python. */
static bool isinst_name(L *l, Value *o, const char *n, int32_t off) {
  bool num = !strcmp(n, "int") || !strcmp(n, "float") || !strcmp(n, "bool");
  const char *h = o->k == V_HOST && num ? host_type(l, o, "isinstance()", off) : "";
  if (!strcmp(n, "int")) return o->k == V_INT || o->k == V_BOOL || !strcmp(h, "int") || !strcmp(h, "bool");
  if (!strcmp(n, "float")) return o->k == V_FLOAT || !strcmp(h, "float");
  if (!strcmp(n, "bool")) return o->k == V_BOOL || !strcmp(h, "bool");
  if (!strcmp(n, "str")) return o->k == V_STR || o->k == V_FSTR;
  if (!strcmp(n, "list")) return (o->k == V_LIST && !o->s) || o->k == V_RTLIST;
  if (!strcmp(n, "tuple")) return o->k == V_TUPLE;
  if (!strcmp(n, "dict")) return o->k == V_DICT;
  if (!strcmp(n, "OrderedDict")) return is_odict(o);
  if (!strcmp(n, "set")) return is_set(o);
  if (!strcmp(n, "range")) return o->k == V_RANGE;
  if (!strcmp(n, "Tensor") || !strcmp(n, "torch.Tensor")) return o->k == V_TENSOR;
  if (!strcmp(n, "Parameter")) return o->k == V_TENSOR && o->t.param;
  return false;
}

static bool isinst(L *l, Value *o, Value *c, int32_t off) {
  if (c->k == V_TUPLE && !c->s) { /* isinstance(x, (int, float)) */
    for (int i = 0; i < c->n; i++)
      if (isinst(l, o, c->items[i], off)) return true;
    return false;
  }
  if ((c->k == V_BUILTIN || c->k == V_CLASS) && c->bi && !(c->bi->flags & BI_CLASS))
    return isinst_name(l, o, c->bi->name, off); /* int, dict, torch.Tensor, type(3) */
  if (c->k == V_CLASS && c->bi) {
    if (o->k != V_OBJECT) return false;
    /* a builtin class (nn.Linear): the object's class or a user class's builtin base */
    if (!strcmp(c->bi->name, "Module")) return bi_is_module(o);
    for (Value *k = o->cls; k; k = k->self)
      if (k->bi == c->bi) return true;
    return false;
  }
  if (c->k == V_CLASS && !c->ast) return py_type_of(l, o, off) == c; /* type(None), type(f) */
  if (c->k == V_CLASS) {
    for (Value *k = o->k == V_OBJECT ? o->cls : NULL; k; k = k->self)
      if (k == c) return true;
    return false;
  }
  lerr(l, off, "isinstance() arg 2 must be a type or tuple of types");
}

B(py_isinstance) {
  Value *v[2];
  args_bind(l, "isinstance", "obj, classinfo", self, a, v, 2);
  return v_bool(l, isinst(l, v[0] ? v[0] : l->none, v[1] ? v[1] : l->none, a->off));
}

B(super) {
  UNUSED(a);
  UNUSED(self);
  Value *s = v_tuple(l, 0);
  s->s = "super";
  return s;
}
/* torch.device("cpu"): a device is its name; ttc's programs run on the CPU */
B(device) {
  Value *v[2];
  args_bind(l, "device", "type, index=None", self, a, v, 2);
  if (!v[0] || v[0]->k != V_STR) lerr(l, a->off, "device(): expected a device name such as 'cpu'");
  if (strncmp(v[0]->s, "cpu", 3))
    lerr(l, a->off, "device('%s'): ttc compiles for the CPU; use 'cpu'", v[0]->s);
  return v_str(l, "cpu");
}

B(no_grad) {
  UNUSED(self);
  UNUSED(a);
  Value *s = v_tuple(l, 0);
  s->s = "no_grad";
  return s;
}

#define MATH1(nm, expr, hu)                                             \
  B(math_##nm) {                                                        \
    Value *v[1];                                                        \
    args_bind(l, "math." #nm, "x", self, a, v, 1);                      \
    if (v[0] && v[0]->k == V_HOST) return host_call1(l, hu, v[0], a->off); \
    double x = want_num(l, v[0], "math." #nm " argument", a->off);      \
    return v_float(l, expr);                                            \
  }
MATH1(sqrt, (x < 0 ? (lerr(l, a->off, "math domain error"), 0) : sqrt(x)), HU_SQRT)
MATH1(exp, exp(x), HU_EXP)
MATH1(log, (x <= 0 ? (lerr(l, a->off, "math domain error"), 0) : log(x)), HU_LOG)
MATH1(cos, cos(x), HU_COS)
MATH1(sin, sin(x), HU_SIN)
MATH1(tanh, tanh(x), HU_TOFLOAT)
B(math_floor) {
  Value *v[1];
  args_bind(l, "math.floor", "x", self, a, v, 1);
  return v_int(l, f2i(l, floor(want_num(l, v[0], "math.floor argument", a->off)), a->off));
}
B(math_ceil) {
  Value *v[1];
  args_bind(l, "math.ceil", "x", self, a, v, 1);
  return v_int(l, f2i(l, ceil(want_num(l, v[0], "math.ceil argument", a->off)), a->off));
}
B(math_pow) {
  Value *v[2];
  args_bind(l, "math.pow", "x, y", self, a, v, 2);
  return v_float(l, pow(want_num(l, v[0], "x", a->off), want_num(l, v[1], "y", a->off)));
}

/* ---- methods of Python lists, dicts and strings ------------------------------------- */

/* A list method called on a set, or a set method on a list: Python has no such method. */
static void want_kind(L *l, Value *self, bool set, const char *name, int32_t off) {
  if (is_set(self) != set) lerr(l, off, "'%s' object has no attribute '%s'", py_typename(self), name);
}
/* A method that changes self, called in a run-time loop or branch on a container made
 * outside it: ttc would change it once, the program once per iteration. */
static void mutation(L *l, Value *self, const char *what, int32_t off) {
  if (!outer_container(l, self)) return;
  if (is_set(self)) /* outer_mutation's words (keep in sync), which would call a set a list */
    lerr(l, off, "%s on a set made outside this run-time %s is not supported: the body runs "
                 "many times but ttc lowers it once (only append() and extend() of numbers to "
                 "a list are run-time operations)", what, l->loop_depth ? "loop" : "branch");
  outer_mutation(l, self, what, off);
}

B(list_remove) {
  Value *v[2];
  args_bind(l, "remove", "self, value", self, a, v, 2);
  if (is_set(self)) {
    mutation(l, self, "remove()", a->off);
    if (!set_discard(l, self, v[1] ? v[1] : l->none, a->off))
      lerr(l, a->off, "KeyError: %s", py_text(l, v[1] ? v[1] : l->none, true, a->off));
    return l->none;
  }
  mutation(l, self, "remove()", a->off);
  for (int i = 0; i < self->n; i++)
    if (py_eq(l, self->items[i], v[1] ? v[1] : l->none, "list.remove()", a->off)) {
      memmove(self->items + i, self->items + i + 1, sizeof(Value *) * (size_t)(self->n - i - 1));
      self->n--;
      return l->none;
    }
  lerr(l, a->off, "list.remove(x): x not in list");
}
B(list_clear) {
  UNUSED(a);
  mutation(l, self, "clear()", a->off);
  if (is_set(self)) { /* back to the small table; pop()'s finger stays, as in CPython */
    Value *t = self->fn;
    t->items = arena_alloc(l->arena, sizeof(Value *) * SET_MINSIZE);
    t->n = t->cap = SET_MINSIZE;
    t->i = 0;
  }
  self->n = 0;
  return l->none;
}
B(list_count) {
  Value *v[2];
  args_bind(l, "count", "self, value", self, a, v, 2);
  want_kind(l, self, false, "count", a->off);
  int64_t n = 0;
  Value *r = NULL; /* the run-time comparisons, summed */
  for (int i = 0; i < self->n; i++) {
    Value *x = v[1] ? v[1] : l->none, *e = rt_eq(l, self->items[i], x, "list.count()", a->off);
    if (!e) n += py_eq(l, self->items[i], x, "list.count()", a->off);
    else if (e->k != V_BOOL) r = r ? host_binop(l, BIN_ADD, r, e, a->off) : host_binop(l, BIN_ADD, e, v_int(l, 0), a->off);
  }
  return r ? (n ? host_binop(l, BIN_ADD, r, v_int(l, n), a->off) : r) : v_int(l, n);
}
B(list_copy) {
  UNUSED(a);
  if (is_set(self)) return set_copy(l, self, a->off);
  Value *r = v_new(l, V_LIST);
  for (int i = 0; i < self->n; i++) v_list_push(l, r, self->items[i]);
  return r;
}
B(list_reverse) {
  UNUSED(a);
  want_kind(l, self, false, "reverse", a->off);
  mutation(l, self, "reverse()", a->off);
  for (int i = 0, j = self->n - 1; i < j; i++, j--) {
    Value *t = self->items[i];
    self->items[i] = self->items[j], self->items[j] = t;
  }
  return l->none;
}
B(list_sort) {
  want_kind(l, self, false, "sort", a->off);
  if (a->npos) lerr(l, a->off, "sort() takes no positional arguments");
  Value *key;
  bool reverse;
  sort_opts(l, a, "sort", &key, &reverse);
  mutation(l, self, "sort()", a->off);
  sort_list(l, self, key, reverse, "list.sort()", a->off);
  return l->none;
}

/* ---- methods of sets ---------------------------------------------------------------- */

B(set_add) {
  Value *v[2];
  args_bind(l, "add", "self, elem", self, a, v, 2);
  want_kind(l, self, true, "add", a->off);
  mutation(l, self, "add()", a->off);
  set_add(l, self, v[1] ? v[1] : l->none, a->off);
  return l->none;
}
B(set_discard_) {
  Value *v[2];
  args_bind(l, "discard", "self, elem", self, a, v, 2);
  want_kind(l, self, true, "discard", a->off);
  mutation(l, self, "discard()", a->off);
  set_discard(l, self, v[1] ? v[1] : l->none, a->off);
  return l->none;
}
/* set.pop(): from pop()'s finger on, the first element in table order */
static Value *set_pop(L *l, Value *self, int32_t off) {
  mutation(l, self, "pop()", off);
  if (!self->n) lerr(l, off, "KeyError: 'pop from an empty set'");
  Value *t = self->fn;
  int64_t i = t->i3 & (t->n - 1);
  while (!t->items[i] || !t->items[i]->self) i = i + 1 == t->n ? 0 : i + 1;
  Value *r = t->items[i]->self;
  t->items[i] = v_int(l, -1);
  t->i3 = i + 1;
  set_sync(self);
  return r;
}
/* set.update(*others), set.union(*others) */
static Value *set_updates(L *l, Value *self, Args *a, Value *into, const char *name) {
  want_kind(l, self, true, name, a->off);
  if (a->nkw) lerr(l, a->off, "%s() takes no keyword arguments", name);
  for (int i = 0; i < a->npos; i++)
    if (a->pos[i] != self) set_update(l, into, a->pos[i], a->off);
  return into;
}
B(set_update_) {
  mutation(l, self, "update()", a->off);
  set_updates(l, self, a, self, "update");
  return l->none;
}
B(set_union) { return set_updates(l, self, a, set_copy(l, self, a->off), "union"); }
/* set_intersection: the smaller set's elements (the argument's if not a set) found in the other */
static Value *set_intersect(L *l, Value *s, Value *o, int32_t off) {
  if (s == o) return set_copy(l, s, off);
  Value *r = set_new(l);
  if (is_set(o) && o->n > s->n) {
    Value *t = s;
    s = o, o = t;
  }
  Value *seq = seq_of(l, o, off);
  for (int i = 0; i < seq->n; i++)
    if (set_has(l, s, seq->items[i], off)) set_add(l, r, seq->items[i], off);
  return r;
}
B(set_intersection) {
  want_kind(l, self, true, "intersection", a->off);
  if (a->npos == 0) return set_copy(l, self, a->off);
  Value *r = self;
  for (int i = 0; i < a->npos; i++) r = set_intersect(l, r, a->pos[i], a->off);
  return r;
}
/* set_difference_update_internal: o's elements discarded from s, then a resize if more
 * than a quarter of the table is dummies. */
static void set_discard_all(L *l, Value *s, Value *o, int32_t off) {
  Value *seq = seq_of(l, o, off);
  for (int i = 0; i < seq->n; i++) set_discard(l, s, seq->items[i], off);
  if (s->fn->i - s->n > (s->fn->n - 1) / 4) set_resize(l, s, s->n > 50000 ? 2 * (int64_t)s->n : 4 * (int64_t)s->n);
  set_sync(s);
}
/* set_difference: when the other is a set or dict not much smaller, the elements of s it
 * lacks, added to an empty set; else a copy of s with the other's elements discarded */
static Value *set_minus(L *l, Value *s, Value *o, int32_t off) {
  if ((is_set(o) || o->k == V_DICT) && (s->n >> 2) <= (is_set(o) ? o->n : o->n / 2)) {
    Value *r = set_new(l);
    for (int i = 0; i < s->n; i++) {
      bool in = is_set(o) ? set_has(l, o, s->items[i], off) : dict_find(l, o, s->items[i], off) >= 0;
      if (!in) set_add(l, r, s->items[i], off);
    }
    return r;
  }
  Value *r = set_copy(l, s, off);
  set_discard_all(l, r, o, off);
  return r;
}
B(set_difference) {
  want_kind(l, self, true, "difference", a->off);
  Value *r = a->npos ? set_minus(l, self, a->pos[0], a->off) : set_copy(l, self, a->off);
  for (int i = 1; i < a->npos; i++) set_discard_all(l, r, a->pos[i], a->off);
  return r;
}
static Value *set_sub(L *l, Value *self, Args *a, int which) { /* issubset, issuperset, isdisjoint */
  static const char *const names[] = {"issubset", "issuperset", "isdisjoint"};
  Value *v[2];
  args_bind(l, names[which], "self, other", self, a, v, 2);
  want_kind(l, self, true, names[which], a->off);
  Value *o = set_new(l);
  set_update(l, o, v[1], a->off);
  Value *x = which == 1 ? o : self, *y = which == 1 ? self : o;
  for (int i = 0; i < x->n; i++)
    if (set_has(l, y, x->items[i], a->off) == (which == 2)) return l->vfalse;
  return l->vtrue;
}
B(set_issubset) { return set_sub(l, self, a, 0); }
B(set_issuperset) { return set_sub(l, self, a, 1); }
B(set_isdisjoint) { return set_sub(l, self, a, 2); }

/* ---- more methods of dicts ---------------------------------------------------------- */

/* An optimizer's param group changes only through g['lr'] = value (train_set_lr). */
static void dict_mutation(L *l, Value *self, const char *what, int32_t off) {
  if (self->s && !strcmp(self->s, "param_group"))
    lerr(l, off, "%s on an optimizer's param group is not supported; ttc changes only its 'lr', "
                 "by g['lr'] = value", what);
  mutation(l, self, what, off);
}
B(dict_update_) {
  if (a->npos > 1) lerr(l, a->off, "update expected at most 1 argument, got %d", a->npos);
  dict_mutation(l, self, "update()", a->off);
  dict_update(l, self, a->npos ? a->pos[0] : NULL, a);
  return l->none;
}
B(dict_pop) {
  Value *v[3];
  args_bind(l, "pop", "self, key, default=None", self, a, v, 3);
  dict_mutation(l, self, "pop()", a->off);
  Value *key = v[1] ? v[1] : l->none;
  int i = dict_find(l, self, key, a->off);
  if (i < 0) {
    if (a->npos + a->nkw >= 2) return v[2] ? v[2] : l->none;
    lerr(l, a->off, "KeyError: %s", py_text(l, key, true, a->off));
  }
  Value *r = self->items[i];
  memmove(self->items + i - 1, self->items + i + 1, sizeof(Value *) * (size_t)(self->n - i - 1));
  self->n -= 2;
  return r;
}
B(dict_popitem) {
  UNUSED(a);
  Value *last = l->vtrue;
  if (is_odict(self)) {
    Value *v[2];
    args_bind(l, "popitem", "self, last=True", self, a, v, 2);
    last = v[1] ? v[1] : l->vfalse;
  } else if (a->npos || a->nkw) lerr(l, a->off, "popitem() takes no arguments");
  dict_mutation(l, self, "popitem()", a->off);
  if (!self->n) lerr(l, a->off, "KeyError: 'popitem(): dictionary is empty'");
  int at = v_truthy(l, last, a->off) ? self->n - 2 : 0;
  Value *t = v_tuple(l, 2);
  t->items[0] = self->items[at], t->items[1] = self->items[at + 1];
  memmove(self->items + at, self->items + at + 2, sizeof(Value *) * (size_t)(self->n - at - 2));
  self->n -= 2;
  return t;
}
B(dict_setdefault) {
  Value *v[3];
  args_bind(l, "setdefault", "self, key, default=None", self, a, v, 3);
  dict_mutation(l, self, "setdefault()", a->off);
  Value *key = v[1] ? v[1] : l->none;
  int i = dict_find(l, self, key, a->off);
  if (i >= 0) return self->items[i];
  dict_set(l, self, key, v[2] ? v[2] : l->none, a->off);
  return v[2] ? v[2] : l->none;
}
B(dict_copy) {
  UNUSED(a);
  Value *r = v_new(l, V_DICT);
  r->s = is_odict(self) ? self->s : NULL;
  for (int i = 0; i < self->n; i++) v_list_push(l, r, self->items[i]);
  return r;
}
B(dict_clear) {
  UNUSED(a);
  dict_mutation(l, self, "clear()", a->off);
  self->n = 0;
  return l->none;
}
B(dict_move_to_end) {
  Value *v[3];
  args_bind(l, "move_to_end", "self, key, last=True", self, a, v, 3);
  if (!is_odict(self)) lerr(l, a->off, "'dict' object has no attribute 'move_to_end'");
  mutation(l, self, "move_to_end()", a->off);
  Value *key = v[1] ? v[1] : l->none;
  int i = dict_find(l, self, key, a->off);
  if (i < 0) lerr(l, a->off, "KeyError: %s", py_text(l, key, true, a->off));
  Value *k = self->items[i - 1], *val = self->items[i];
  memmove(self->items + i - 1, self->items + i + 1, sizeof(Value *) * (size_t)(self->n - i - 1));
  if (v[2] && !v_truthy(l, v[2], a->off)) {
    memmove(self->items + 2, self->items, sizeof(Value *) * (size_t)(self->n - 2));
    self->items[0] = k, self->items[1] = val;
  } else
    self->items[self->n - 2] = k, self->items[self->n - 1] = val;
  return l->none;
}

/* ---- more methods of strings -------------------------------------------------------- */

/* A str argument, known at compile time. */
static const char *want_str(L *l, Value *v, const char *what, int32_t off) {
  if (v && v->k == V_FSTR) fstr_unsupported(l, arena_printf(l->arena, "its use as %s", what), off);
  if (!v || v->k != V_STR) lerr(l, off, "%s must be str, not %s", what, v ? py_typename(v) : "NoneType");
  return v->s;
}

/* The length of the whitespace character at p (str.isspace's: the ASCII ones, \x1c-\x1f,
 * and Unicode's spaces), or 0. */
static int space_at(const char *p) {
  unsigned char c = (unsigned char)*p;
  if (c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f)) return 1;
  if (c < 0x80 || !c) return 0;
  uint32_t u = utf8_at(p);
  bool sp = u == 0x85 || u == 0xA0 || u == 0x1680 || (u >= 0x2000 && u <= 0x200A) || u == 0x2028 ||
            u == 0x2029 || u == 0x202F || u == 0x205F || u == 0x3000;
  return sp ? utf8_len(c) : 0;
}

static Value *substr(L *l, const char *s, size_t from, size_t to) {
  return v_str(l, arena_strndup(l->arena, s + from, to - from));
}

B(str_split) {
  Value *v[3];
  args_bind(l, "split", "self, sep=None, maxsplit=-1", self, a, v, 3);
  int64_t max = want_int(l, v[2], "maxsplit", a->off);
  if (max < 0) max = INT64_MAX;
  const char *s = self->s;
  size_t n = strlen(s), i = 0;
  Value *r = v_new(l, V_LIST);
  if (!v[1]) { /* runs of whitespace, none at the ends */
    while (max-- > 0) {
      while (i < n && space_at(s + i)) i += (size_t)space_at(s + i);
      if (i == n) break;
      size_t j = i;
      while (i < n && !space_at(s + i)) i += (size_t)utf8_len((unsigned char)s[i]);
      v_list_push(l, r, substr(l, s, j, i));
    }
    if (i < n) {
      while (i < n && space_at(s + i)) i += (size_t)space_at(s + i);
      if (i < n) v_list_push(l, r, substr(l, s, i, n));
    }
    return r;
  }
  const char *sep = want_str(l, v[1], "the separator", a->off);
  size_t m = strlen(sep);
  if (!m) lerr(l, a->off, "ValueError: empty separator");
  const char *hit;
  while (max-- > 0 && (hit = strstr(s + i, sep))) {
    v_list_push(l, r, substr(l, s, i, (size_t)(hit - s)));
    i = (size_t)(hit - s) + m;
  }
  v_list_push(l, r, substr(l, s, i, n));
  return r;
}

/* strip(), lstrip(), rstrip(): whitespace, or the characters of chars */
static bool in_chars(const char *p, const char *chars) {
  if (!chars) return space_at(p) != 0;
  uint32_t c = utf8_at(p);
  for (const char *q = chars; *q; q += utf8_len((unsigned char)*q))
    if (utf8_at(q) == c) return true;
  return false;
}
static Value *strip(L *l, Value *self, Args *a, const char *name, bool left, bool right) {
  Value *v[2];
  args_bind(l, name, "self, chars=None", self, a, v, 2);
  const char *chars = v[1] ? want_str(l, v[1], "the characters", a->off) : NULL, *s = self->s;
  size_t i = 0, j = strlen(s);
  if (left)
    while (i < j && in_chars(s + i, chars)) i += (size_t)utf8_len((unsigned char)s[i]);
  if (right)
    while (j > i) {
      size_t k = j - 1;
      while (k > i && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
      if (!in_chars(s + k, chars)) break;
      j = k;
    }
  return substr(l, s, i, j);
}
B(str_strip) { return strip(l, self, a, "strip", true, true); }
B(str_lstrip) { return strip(l, self, a, "lstrip", true, false); }
B(str_rstrip) { return strip(l, self, a, "rstrip", false, true); }

/* A string built by appending, for results that grow piece by piece. */
typedef struct Buf {
  char *s;
  size_t n, cap;
} Buf;
static void buf_put(L *l, Buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = 2 * (b->n + n + 1) + 64;
    char *ns = arena_alloc(l->arena, cap);
    if (b->n) memcpy(ns, b->s, b->n);
    b->s = ns, b->cap = cap;
  }
  memcpy(b->s + b->n, s, n);
  b->s[b->n += n] = 0;
}

B(str_replace) {
  Value *v[4];
  args_bind(l, "replace", "self, old, new, count=-1", self, a, v, 4);
  const char *old = want_str(l, v[1], "replace() argument 1", a->off), *rep = want_str(l, v[2], "replace() argument 2", a->off);
  int64_t count = want_int(l, v[3], "count", a->off);
  if (count < 0) count = INT64_MAX;
  const char *s = self->s, *hit;
  size_t m = strlen(old), n = strlen(s), r = strlen(rep), i = 0;
  Buf b = {0};
  buf_put(l, &b, "", 0);
  if (!m) { /* between every character, and at both ends */
    for (; count > 0; count--) {
      buf_put(l, &b, rep, r);
      if (i == n) break;
      size_t k = (size_t)utf8_len((unsigned char)s[i]);
      buf_put(l, &b, s + i, k);
      i += k;
    }
  } else
    for (; count > 0 && (hit = strstr(s + i, old)); count--) {
      buf_put(l, &b, s + i, (size_t)(hit - s) - i);
      buf_put(l, &b, rep, r);
      i = (size_t)(hit - s) + m;
    }
  buf_put(l, &b, s + i, n - i);
  return v_str(l, b.s);
}

/* The code-point range [*start, *end) of s that find() and count() search, with Python's
 * slice rules; false when it is empty in a way that finds nothing. */
static void search_range(L *l, Value *self, Value *st, Value *en, int64_t *start, int64_t *end, int32_t off) {
  int64_t len = ncodes(self->s, strlen(self->s));
  *start = st ? want_int(l, st, "start", off) : 0;
  *end = en ? want_int(l, en, "end", off) : len;
  if (*end > len) *end = len;
  else if (*end < 0 && (*end += len) < 0) *end = 0;
  if (*start < 0 && (*start += len) < 0) *start = 0;
}
B(str_find) {
  Value *v[4];
  args_bind(l, "find", "self, sub, start=None, end=None", self, a, v, 4);
  const char *sub = want_str(l, v[1], "find() argument", a->off);
  int64_t start, end, sublen = ncodes(sub, strlen(sub));
  search_range(l, self, v[2], v[3], &start, &end, a->off);
  if (end - start < sublen) return v_int(l, -1);
  size_t from = code_off(self->s, start), to = code_off(self->s, end);
  char *hay = arena_strndup(l->arena, self->s + from, to - from);
  const char *hit = strstr(hay, sub);
  return v_int(l, hit ? start + ncodes(hay, (size_t)(hit - hay)) : -1);
}
B(str_count) {
  Value *v[4];
  args_bind(l, "count", "self, sub, start=None, end=None", self, a, v, 4);
  const char *sub = want_str(l, v[1], "count() argument", a->off);
  int64_t start, end;
  search_range(l, self, v[2], v[3], &start, &end, a->off);
  if (end < start) return v_int(l, 0);
  if (!*sub) return v_int(l, end - start + 1);
  size_t from = code_off(self->s, start), to = code_off(self->s, end), m = strlen(sub);
  char *hay = arena_strndup(l->arena, self->s + from, to - from);
  int64_t n = 0;
  for (const char *p = hay; (p = strstr(p, sub)); p += m) n++;
  return v_int(l, n);
}

/* isdigit(), isalpha(): Python's are Unicode's classes; ttc knows the ASCII ones. */
static Value *str_is(L *l, Value *self, Args *a, const char *name, bool digit) {
  if (a->npos || a->nkw) lerr(l, a->off, "%s() takes no arguments", name);
  const char *s = self->s;
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p >= 0x80) lerr(l, a->off, "%s() of non-ASCII text is not supported", name);
  for (const char *p = s; *p; p++)
    if (digit ? !(*p >= '0' && *p <= '9') : !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))) return l->vfalse;
  return v_bool(l, *s != 0);
}
B(str_isdigit) { return str_is(l, self, a, "isdigit", true); }
B(str_isalpha) { return str_is(l, self, a, "isalpha", false); }

/* ljust, rjust, center, zfill: widths in characters (code points), as Python counts */
static Value *str_pad(L *l, Value *self, Args *a, const char *name, int how) {
  Value *v[3];
  args_bind(l, name, how == 3 ? "self, width" : "self, width, fillchar=' '", self, a, v, 3);
  int64_t width = want_int(l, v[1], "width", a->off), len = ncodes(self->s, strlen(self->s));
  const char *fill = how == 3 ? "0" : want_str(l, v[2], "the fill character", a->off);
  if (ncodes(fill, strlen(fill)) != 1) lerr(l, a->off, "The fill character must be exactly one character long");
  if (width <= len) return v_str(l, self->s);
  if (width > 100000) lerr(l, a->off, "%s(): a width over 100000 is not supported", name);
  int64_t marg = width - len;
  int64_t left = how == 0 ? 0 : how == 1 || how == 3 ? marg : marg / 2 + (marg & width & 1);
  size_t fl = strlen(fill), sl = strlen(self->s);
  char *out = arena_alloc(l->arena, (size_t)marg * fl + sl + 1), *o = out;
  for (int64_t i = 0; i < left; i++, o += fl) memcpy(o, fill, fl);
  memcpy(o, self->s, sl), o += sl;
  for (int64_t i = left; i < marg; i++, o += fl) memcpy(o, fill, fl);
  if (how == 3 && (out[marg] == '+' || out[marg] == '-')) out[0] = out[marg], out[marg] = '0'; /* the sign first */
  return v_str(l, out);
}
B(str_ljust) { return str_pad(l, self, a, "ljust", 0); }
B(str_rjust) { return str_pad(l, self, a, "rjust", 1); }
B(str_center) { return str_pad(l, self, a, "center", 2); }
B(str_zfill) { return str_pad(l, self, a, "zfill", 3); }

B(list_append) {
  Value *v[2];
  args_bind(l, "append", "self, object", self, a, v, 2);
  want_kind(l, self, false, "append", a->off);
  if (outer_container(l, self)) {
    rtlist_append(l, self, v[1] ? v[1] : l->none, a->off);
    return l->none;
  }
  v_list_push(l, self, v[1] ? host_snapshot(l, v[1], a->off) : l->none);
  return l->none;
}
B(list_extend) {
  Value *v[2];
  args_bind(l, "extend", "self, iterable", self, a, v, 2);
  want_kind(l, self, false, "extend", a->off);
  Value *seq = seq_of(l, v[1], a->off);
  int n = seq->n; /* seq may be self */
  if (outer_container(l, self)) {
    if (seq == self) rtlist_unsupported(l, "extending it with itself", a->off);
    for (int i = 0; i < n; i++) rtlist_append(l, self, seq->items[i], a->off);
    return l->none;
  }
  for (int i = 0; i < n; i++) v_list_push(l, self, seq->items[i]);
  return l->none;
}
B(list_pop) {
  if (is_set(self)) {
    if (a->npos || a->nkw) lerr(l, a->off, "set.pop() takes no arguments");
    return set_pop(l, self, a->off);
  }
  Value *v[2];
  args_bind(l, "pop", "self, index=-1", self, a, v, 2);
  if (outer_container(l, self)) outer_mutation(l, self, "pop()", a->off);
  if (self->n == 0) lerr(l, a->off, "pop from empty list");
  int64_t i = want_int(l, v[1], "index", a->off);
  if (i < 0) i += self->n;
  if (i < 0 || i >= self->n) lerr(l, a->off, "pop index out of range");
  Value *r = self->items[i];
  memmove(self->items + i, self->items + i + 1, sizeof(Value *) * (size_t)(self->n - i - 1));
  self->n--;
  return r;
}
B(list_insert) {
  Value *v[3];
  args_bind(l, "insert", "self, index, object", self, a, v, 3);
  want_kind(l, self, false, "insert", a->off);
  if (outer_container(l, self)) outer_mutation(l, self, "insert()", a->off);
  int64_t i = want_int(l, v[1], "index", a->off);
  if (i < 0) i += self->n;
  if (i < 0) i = 0;
  if (i > self->n) i = self->n;
  v_list_push(l, self, l->none);
  memmove(self->items + i + 1, self->items + i, sizeof(Value *) * (size_t)(self->n - 1 - i));
  self->items[i] = v[2] ? v[2] : l->none;
  return l->none;
}
B(list_index) {
  Value *v[2];
  args_bind(l, "index", "self, value", self, a, v, 2);
  want_kind(l, self, false, "index", a->off);
  Value *x = v[1] ? v[1] : l->none, **eqs = arena_alloc(l->arena, sizeof(Value *) * (size_t)(self->n + 1));
  int *at = arena_alloc(l->arena, sizeof(int) * (size_t)(self->n + 1));
  int64_t found = -1;
  int n = 0;
  if (x->k == V_HOST && x->hx->kind != HX_INT && x->hx->kind != HX_FLOAT && x->hx->kind != HX_VAR) {
    HostExpr *e = ir_hx(l->p, HX_VAR); /* computed once, not once per item */
    e->isfloat = x->hx->isfloat, e->isbool = x->hx->isbool;
    e->hvar = host_var_for(l, x, "key", a->off);
    x = v_host(l, e);
  }
  for (int i = 0; i < self->n && found < 0; i++) {
    Value *e = rt_eq(l, self->items[i], x, "list.index()", a->off);
    if (!e && py_eq(l, self->items[i], x, "list.index()", a->off)) found = i;
    if (e && e->k != V_BOOL) eqs[n] = e, at[n++] = i;
  }
  if (!n) {
    if (found >= 0) return v_int(l, found);
    lerr(l, a->off, "value is not in list");
  }
  /* the first equal item's index: e0 ? i0 : (e1 ? i1 : ... found), as e*i + (1 - e)*rest */
  Value *rest = v_int(l, found >= 0 ? found : 0), *any = NULL;
  for (int k = n - 1; k >= 0; k--) {
    Value *e = eqs[k], *one = v_int(l, 1);
    rest = host_binop(l, BIN_ADD, host_binop(l, BIN_MUL, e, v_int(l, at[k]), a->off),
                      host_binop(l, BIN_MUL, host_binop(l, BIN_SUB, one, e, a->off), rest, a->off), a->off);
    any = any ? rt_andor(l, e, any, false) : e;
  }
  if (found >= 0) return rest;
  /* nothing equal: the program stops here (an IndexError, where Python's is a ValueError);
   * `any || error` evaluates the error only then */
  Value *stop = rt_andor(l, any, v_host(l, hx_runtime_error(l, a->off)), false);
  return host_binop(l, BIN_ADD, rest, host_binop(l, BIN_MUL, v_int(l, 0), stop, a->off), a->off);
}
static Value *dict_view(L *l, Value *d, int which) {
  Value *r = v_new(l, V_LIST);
  for (int i = 0; i + 1 < d->n; i += 2) {
    if (which == 0) v_list_push(l, r, d->items[i]);
    else if (which == 1) v_list_push(l, r, d->items[i + 1]);
    else {
      Value *t = v_tuple(l, 2);
      t->items[0] = d->items[i];
      t->items[1] = d->items[i + 1];
      v_list_push(l, r, t);
    }
  }
  return r;
}
B(dict_keys) { UNUSED(a); return dict_view(l, self, 0); }
B(dict_values) { UNUSED(a); return dict_view(l, self, 1); }
B(dict_items) { UNUSED(a); return dict_view(l, self, 2); }
B(dict_get) {
  Value *v[3];
  args_bind(l, "get", "self, key, default=None", self, a, v, 3);
  int i = dict_find(l, self, v[1] ? v[1] : l->none, a->off);
  return i >= 0 ? self->items[i] : v[2] ? v[2] : l->none;
}
B(str_join) {
  Value *v[2];
  args_bind(l, "join", "self, iterable", self, a, v, 2);
  Value *seq = seq_of(l, v[1], a->off);
  size_t n = 1;
  bool runtime = false;
  for (int i = 0; i < seq->n; i++) {
    runtime |= seq->items[i]->k == V_FSTR;
    if (seq->items[i]->k != V_STR && seq->items[i]->k != V_FSTR)
      lerr(l, a->off, "sequence item %d: expected str instance, %s found", i, v_typename(seq->items[i]));
    if (seq->items[i]->k == V_STR) n += strlen(seq->items[i]->s) + strlen(self->s);
  }
  if (runtime) { /* " ".join(f"{lr:.5f}" for lr in lrs): a string of run-time values */
    Value *r = v_new(l, V_FSTR); /* pieces appended in place: fstr_concat would copy them all */
    v_list_push(l, r, v_str(l, ""));
    for (int i = 0; i < seq->n; i++) {
      Value *it = seq->items[i], **last = &r->items[r->n - 1];
      const char *sep = i ? self->s : "";
      if (it->k == V_STR) {
        *last = v_str(l, arena_printf(l->arena, "%s%s%s", (*last)->s, sep, it->s));
        continue;
      }
      *last = v_str(l, arena_printf(l->arena, "%s%s%s", (*last)->s, sep, it->items[0]->s));
      for (int k = 1; k < it->n; k++) v_list_push(l, r, it->items[k]);
    }
    return r;
  }
  char *out = arena_alloc(l->arena, n), *o = out; /* appended at its end: strcat was quadratic */
  size_t ns = strlen(self->s);
  for (int i = 0; i < seq->n; i++) {
    if (i) memcpy(o, self->s, ns), o += ns;
    size_t k = strlen(seq->items[i]->s);
    memcpy(o, seq->items[i]->s, k), o += k;
  }
  *o = 0;
  return v_str(l, out);
}
/* The other case of code point c, as Python's str.upper/lower map it, for the alphabets
 * ttc knows (ASCII, Latin-1, basic Greek and Cyrillic); c itself when it has no case;
 * -1 when ttc does not know (a letter of another script). */
static int64_t case_map(uint32_t c, bool upper) {
  if (c < 0x80) return upper ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c);
  if (c < 0xC0) return c == 0xB5 && upper ? 0x39Cu : c; /* micro sign: Greek capital mu */
  if (c <= 0xFF) {
    if (c == 0xD7 || c == 0xF7) return c;
    if (c == 0xDF) return upper ? -1 : (int64_t)c; /* sharp s uppers to "SS": two characters */
    if (c == 0xFF) return upper ? 0x178 : c;
    return upper ? (c >= 0xE0 ? c - 32 : c) : (c < 0xE0 ? c + 32 : c);
  }
  static const uint16_t tonos[][2] = {{0x386, 0x3AC}, {0x388, 0x3AD}, {0x389, 0x3AE}, {0x38A, 0x3AF},
                                       {0x38C, 0x3CC}, {0x38E, 0x3CD}, {0x38F, 0x3CE}};
  for (size_t i = 0; i < sizeof tonos / sizeof tonos[0]; i++)
    if (c == tonos[i][0] || c == tonos[i][1]) return tonos[i][!upper];
  if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) return upper ? c : c + 32;
  if (c >= 0x3B1 && c <= 0x3C9) return upper ? (c == 0x3C2 ? 0x3A3 : c - 32) : c;
  if (c >= 0x410 && c <= 0x42F) return upper ? c : c + 32;
  if (c >= 0x430 && c <= 0x44F) return upper ? c - 32 : c;
  if (c >= 0x400 && c <= 0x40F) return upper ? c : c + 80;
  if (c >= 0x450 && c <= 0x45F) return upper ? c - 80 : c;
  /* no case: punctuation, symbols, arrows, box drawing, CJK, kana, Hangul, emoji */
  if ((c >= 0x2000 && c <= 0x2BFF) || (c >= 0x3000 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF) ||
      c >= 0x1F000)
    return c;
  return -1;
}

static Value *str_case(L *l, Value *self, bool upper, int32_t off) {
  size_t n = strlen(self->s);
  char *s = arena_alloc(l->arena, 2 * n + 1), *o = s; /* a 2-byte code point may map to 3 */
  for (const char *p = self->s; *p; p += utf8_len((unsigned char)*p)) {
    int64_t c = case_map(utf8_at(p), upper);
    if (c < 0)
      lerr(l, off, "str.%s(): ttc maps the case of ASCII, Latin-1, Greek and Cyrillic letters; "
                   "this string has U+%04X", upper ? "upper" : "lower", (unsigned)utf8_at(p));
    if (c < 0x80) *o++ = (char)c;
    else if (c < 0x800) *o++ = (char)(0xC0 | (c >> 6)), *o++ = (char)(0x80 | (c & 0x3F));
    else if (c < 0x10000)
      *o++ = (char)(0xE0 | (c >> 12)), *o++ = (char)(0x80 | ((c >> 6) & 0x3F)), *o++ = (char)(0x80 | (c & 0x3F));
    else
      *o++ = (char)(0xF0 | (c >> 18)), *o++ = (char)(0x80 | ((c >> 12) & 0x3F)),
      *o++ = (char)(0x80 | ((c >> 6) & 0x3F)), *o++ = (char)(0x80 | (c & 0x3F));
  }
  *o = 0;
  return v_str(l, s);
}
B(str_upper) { return str_case(l, self, true, a->off); }
B(str_lower) { return str_case(l, self, false, a->off); }
B(str_startswith) {
  Value *v[2];
  args_bind(l, "startswith", "self, prefix", self, a, v, 2);
  if (!v[1] || v[1]->k != V_STR) lerr(l, a->off, "startswith(): expected a str");
  return v_bool(l, !strncmp(self->s, v[1]->s, strlen(v[1]->s)));
}
B(str_endswith) {
  Value *v[2];
  args_bind(l, "endswith", "self, suffix", self, a, v, 2);
  if (!v[1] || v[1]->k != V_STR) lerr(l, a->off, "endswith(): expected a str");
  size_t n = strlen(self->s), m = strlen(v[1]->s);
  return v_bool(l, m <= n && !strcmp(self->s + n - m, v[1]->s));
}
/* "{} {:.3f} {name}".format(...): compile-time values become text; run-time ones make a
 * value print() and f-strings understand (text and host values in order). */
B(str_format) {
  Value *parts = v_new(l, V_FSTR);
  char buf[4096];
  size_t o = 0;
  int auto_i = 0;
  for (const char *p = self->s; *p;) {
    if (*p == '{' && p[1] == '{') { if (o < sizeof buf - 1) buf[o++] = '{'; p += 2; continue; }
    if (*p == '}' && p[1] == '}') { if (o < sizeof buf - 1) buf[o++] = '}'; p += 2; continue; }
    if (*p != '{') { if (o < sizeof buf - 1) buf[o++] = *p; p++; continue; }
    const char *e = strchr(p, '}');
    if (!e) lerr(l, a->off, "format(): single '{' encountered in format string");
    char field[256];
    snprintf(field, sizeof field, "%.*s", (int)(e - p - 1), p + 1);
    char *spec = strchr(field, ':');
    if (spec) *spec++ = 0;
    char *conv = strchr(field, '!');
    if (conv) *conv++ = 0;
    Value *arg = NULL;
    if (!field[0]) {
      if (auto_i >= a->npos) lerr(l, a->off, "format(): Replacement index %d out of range", auto_i);
      arg = a->pos[auto_i++];
    } else if (field[0] >= '0' && field[0] <= '9') {
      int k = atoi(field);
      if (k >= a->npos) lerr(l, a->off, "format(): Replacement index %d out of range", k);
      arg = a->pos[k];
    } else {
      for (int k = 0; k < a->nkw && !arg; k++)
        if (!strcmp(a->kwnames[k], field)) arg = a->kw[k];
      if (!arg) lerr(l, a->off, "format(): no argument named '%s'", field);
    }
    if (arg->k == V_HOST || arg->k == V_TENSOR) {
      buf[o] = 0;
      v_list_push(l, parts, v_str(l, arena_strdup(l->arena, buf)));
      o = 0;
      if (arg->k == V_HOST) {
        Value *hf = v_tuple(l, 2);
        hf->s = "hfmt";
        hf->items[0] = host_snapshot(l, arg, a->off);
        hf->items[1] = spec && *spec ? v_str(l, arena_strdup(l->arena, spec)) : l->none;
        v_list_push(l, parts, hf);
      } else
        v_list_push(l, parts, arg);
    } else {
      const char *t = conv && *conv == 'r' ? py_text(l, arg, true, a->off)
                      : spec && *spec ? format_spec(l, arg, spec, a->off) : py_text(l, arg, false, a->off);
      for (const char *c = t; *c && o < sizeof buf - 1; c++) buf[o++] = *c;
    }
    p = e + 1;
  }
  buf[o] = 0;
  if (parts->n == 0) return v_str(l, arena_strdup(l->arena, buf));
  v_list_push(l, parts, v_str(l, arena_strdup(l->arena, buf)));
  return parts;
}

/* Sets are lists (is_set): their methods are here too, and each refuses the other kind. */
static const Builtin list_methods[] = {
  {"append", BI_METHOD, bi_list_append, 0}, {"extend", BI_METHOD, bi_list_extend, 0},
  {"pop", BI_METHOD, bi_list_pop, 0},       {"insert", BI_METHOD, bi_list_insert, 0},
  {"index", BI_METHOD, bi_list_index, 0},   {"remove", BI_METHOD, bi_list_remove, 0},
  {"clear", BI_METHOD, bi_list_clear, 0},   {"count", BI_METHOD, bi_list_count, 0},
  {"copy", BI_METHOD, bi_list_copy, 0},     {"reverse", BI_METHOD, bi_list_reverse, 0},
  {"sort", BI_METHOD, bi_list_sort, 0},
  {"add", BI_METHOD, bi_set_add, 0},        {"discard", BI_METHOD, bi_set_discard_, 0},
  {"update", BI_METHOD, bi_set_update_, 0}, {"union", BI_METHOD, bi_set_union, 0},
  {"intersection", BI_METHOD, bi_set_intersection, 0},
  {"difference", BI_METHOD, bi_set_difference, 0},
  {"issubset", BI_METHOD, bi_set_issubset, 0}, {"issuperset", BI_METHOD, bi_set_issuperset, 0},
  {"isdisjoint", BI_METHOD, bi_set_isdisjoint, 0},
};
static const Builtin dict_methods[] = {
  {"keys", BI_METHOD, bi_dict_keys, 0}, {"values", BI_METHOD, bi_dict_values, 0},
  {"items", BI_METHOD, bi_dict_items, 0}, {"get", BI_METHOD, bi_dict_get, 0},
  {"update", BI_METHOD, bi_dict_update_, 0}, {"pop", BI_METHOD, bi_dict_pop, 0},
  {"popitem", BI_METHOD, bi_dict_popitem, 0}, {"setdefault", BI_METHOD, bi_dict_setdefault, 0},
  {"copy", BI_METHOD, bi_dict_copy, 0}, {"clear", BI_METHOD, bi_dict_clear, 0},
  {"move_to_end", BI_METHOD, bi_dict_move_to_end, 0},
};
static const Builtin str_methods[] = {
  {"join", BI_METHOD, bi_str_join, 0},   {"format", BI_METHOD, bi_str_format, 0},
  {"upper", BI_METHOD, bi_str_upper, 0}, {"lower", BI_METHOD, bi_str_lower, 0},
  {"startswith", BI_METHOD, bi_str_startswith, 0}, {"endswith", BI_METHOD, bi_str_endswith, 0},
  {"split", BI_METHOD, bi_str_split, 0}, {"strip", BI_METHOD, bi_str_strip, 0},
  {"lstrip", BI_METHOD, bi_str_lstrip, 0}, {"rstrip", BI_METHOD, bi_str_rstrip, 0},
  {"replace", BI_METHOD, bi_str_replace, 0}, {"find", BI_METHOD, bi_str_find, 0},
  {"count", BI_METHOD, bi_str_count, 0}, {"isdigit", BI_METHOD, bi_str_isdigit, 0},
  {"isalpha", BI_METHOD, bi_str_isalpha, 0}, {"ljust", BI_METHOD, bi_str_ljust, 0},
  {"rjust", BI_METHOD, bi_str_rjust, 0}, {"center", BI_METHOD, bi_str_center, 0},
  {"zfill", BI_METHOD, bi_str_zfill, 0},
};

static const Builtin *method_of(const Builtin *tab, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(tab[i].name, name)) return &tab[i];
  return NULL;
}

/* The method called name of a list, dict or str (by its kind k), or NULL. */
const Builtin *py_method(VKind k, const char *name) {
  return k == V_LIST ? method_of(list_methods, sizeof list_methods / sizeof *list_methods, name)
         : k == V_DICT ? method_of(dict_methods, sizeof dict_methods / sizeof *dict_methods, name)
                       : method_of(str_methods, sizeof str_methods / sizeof *str_methods, name);
}

/* ---- the evaluator's cases: lambda, dict and set displays, modules ------------------ */

/* Evaluates e in scope s: lower.c's eval, reached through a RETURN statement. */
static Value *py_eval(L *l, Scope *s, const Ast *e) {
  Ast ret = {.kind = AST_RETURN, .off = e->off, .a = (Ast *)e, .depth = e->depth + 1};
  Frame f = {s, l->none};
  int32_t at = l->stmt_off;
  lower_block(l, &f, &ret);
  l->stmt_off = at;
  return f.ret;
}

/* A lambda is a function whose body returns its expression (the parser wrote the RETURN),
 * closing over the scope it is made in, so it reads names as they are when it is called.
 * Python evaluates its defaults once, here (lambda x, i=i: ... keeps this iteration's i);
 * a call evaluates a parameter's default expression, so each default becomes its literal
 * or else a name bound now, in a scope between the lambda and its maker, under a name no
 * program can spell. (A class body rebinds its functions' scope: there, only literal
 * defaults survive.) */
Value *py_lambda(L *l, Scope *s, const Ast *e) {
  Value *fn = v_new(l, V_FUNC);
  fn->ast = e;
  fn->closure = s;
  fn->s = e->str;
  bool dflt = false;
  for (int i = 0; i < e->nitems; i++) dflt |= e->items[i]->kind == AST_KWARG;
  if (!dflt) return fn;
  Scope *ds = arena_alloc(l->arena, sizeof *ds);
  ds->parent = s;
  Ast *def = ast_new(l->arena, AST_LAMBDA, e->off);
  def->str = e->str;
  def->c = e->c;
  for (int i = 0; i < e->nitems; i++) {
    Ast *p = e->items[i];
    if (p->kind == AST_KWARG) {
      Value *v = py_eval(l, s, p->a);
      Ast *ref = ast_new(l->arena, AST_NAME, p->a->off), *kw = ast_new(l->arena, AST_KWARG, p->off);
      switch (v->k) { /* a number, string or None becomes its literal */
      case V_INT: ref->kind = AST_INT, ref->ival = v->i; break;
      case V_BOOL: ref->kind = AST_BOOL, ref->ival = v->i; break;
      case V_FLOAT: ref->kind = AST_FLOAT, ref->fval = v->f; break;
      case V_STR: ref->kind = AST_STR, ref->str = v->s; break;
      case V_NONE: ref->kind = AST_NONE; break;
      default:
        ref->str = arena_printf(l->arena, "default of %s", p->str);
        attrs_set(l, &ds->vars, ref->str, v);
      }
      kw->str = p->str;
      kw->a = ref;
      p = kw;
    }
    ast_push(l->arena, def, p);
  }
  fn->ast = def;
  fn->closure = ds;
  return fn;
}

/* {k: v for ...}: the pairs in order; a repeated key keeps its place and takes the last
 * value, as in Python. */
Value *py_dictcomp(L *l, Scope *s, const Ast *e) {
  Value *pairs = py_eval(l, s, e->a), *d = v_new(l, V_DICT);
  int32_t koff = e->a->a->items[0]->off;
  for (int i = 0; i < pairs->n; i++) dict_set(l, d, pairs->items[i]->items[0], pairs->items[i]->items[1], koff);
  return d;
}

/* Whether CPython's AST optimizer makes e a constant: literals, and signs, operators and
 * tuples of them. */
static bool ast_const(const Ast *e) {
  switch (e->kind) {
  case AST_INT: case AST_FLOAT: case AST_STR: case AST_BOOL: case AST_NONE: case AST_ELLIPSIS: return true;
  case AST_UNARY: return ast_const(e->a);
  case AST_BINOP: return e->op != BIN_MATMUL && ast_const(e->a) && ast_const(e->b);
  case AST_TUPLE:
    for (int i = 0; i < e->nitems; i++)
      if (!ast_const(e->items[i])) return false;
    return true;
  default: return false;
  }
}

/* {x, y} and {x for ...}: the items added one by one, as CPython's BUILD_SET and SET_ADD;
 * but three or more constants are a frozenset constant, which SET_UPDATE merges into the
 * new set (so its table can have another size, and another order). The compiler makes that
 * frozenset twice: from the items, then (merge_consts_recursive) from the first one's. */
Value *py_set_display(L *l, Scope *s, const Ast *e) {
  Value *items = py_eval(l, s, e->a), *r = set_new(l);
  bool folded = e->a->kind == AST_LIST && e->a->nitems > 2;
  for (int i = 0; folded && i < e->a->nitems; i++) folded = ast_const(e->a->items[i]);
  Value *into = folded ? set_new(l) : r;
  for (int i = 0; i < items->n; i++)
    set_add(l, into, items->items[i], e->a->kind == AST_LIST ? e->a->items[i]->off : e->a->a->off);
  if (folded) {
    Value *again = set_new(l);
    for (int i = 0; i < into->n; i++) set_add(l, again, into->items[i], e->off);
    set_merge(l, r, again, e->off);
  }
  return r;
}

/* copy and collections: namespaces whose functions are the builtins of their names
 * (deepcopy, copy, OrderedDict). */
Value *py_module(L *l, const Ast *e) {
  Value *ns = v_new(l, V_NS);
  ns->s = e->str;
  return ns;
}

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
const Builtin py_builtins[] = {
  /* Python */
  {"print", F, bi_print_, 0},
  {"len", F, bi_len, 0},
  {"range", F, bi_range, 0},
  {"int", F, bi_py_int, 0},
  {"float", F, bi_py_float, 0},
  {"str", F, bi_py_str, 0},
  {"repr", F, bi_py_repr, 0},
  {"bool", F, bi_py_bool, 0},
  {"abs", F, bi_py_abs, 0},
  {"max", F, bi_py_max, 0},
  {"min", F, bi_py_min, 0},
  {"sum", F, bi_py_sum, 0},
  {"list", F, bi_py_list, 0},
  {"tuple", F, bi_py_tuple, 0},
  {"enumerate", F, bi_py_enumerate, 0},
  {"zip", F, bi_py_zip, 0},
  {"round", F, bi_py_round, 0},
  {"isinstance", F, bi_py_isinstance, 0},
  {"hasattr", F, bi_py_hasattr, 0},
  {"getattr", F, bi_py_getattr, 0},
  {"sorted", F, bi_py_sorted, 0},
  {"reversed", F, bi_py_reversed, 0},
  {"any", F, bi_py_any, 0},
  {"all", F, bi_py_all, 0},
  {"filter", F, bi_py_filter, 0},
  {"map", F, bi_py_map, 0},
  {"dict", F, bi_py_dict, 0},
  {"set", F, bi_py_set, 0},
  {"type", F, bi_py_type, 0},
  {"ord", F, bi_py_ord, 0},
  {"chr", F, bi_py_chr, 0},
  {"deepcopy", F, bi_py_deepcopy, 0}, /* copy.deepcopy, copy.copy (module copy) */
  {"copy", F, bi_py_copy, 0},
  {"OrderedDict", F, bi_py_ordered_dict, 0}, /* collections.OrderedDict */
  {"super", F, bi_super, 0},
  {"device", F, bi_device, 0},
  {"no_grad", F, bi_no_grad, 0},
  {"inference_mode", F, bi_no_grad, 0},
  {"math.sqrt", F, bi_math_sqrt, 0},
  {"math.exp", F, bi_math_exp, 0},
  {"math.log", F, bi_math_log, 0},
  {"math.cos", F, bi_math_cos, 0},
  {"math.sin", F, bi_math_sin, 0},
  {"math.tanh", F, bi_math_tanh, 0},
  {"math.floor", F, bi_math_floor, 0},
  {"math.ceil", F, bi_math_ceil, 0},
  {"math.pow", F, bi_math_pow, 0},
};
#undef F
const int py_nbuiltins = (int)(sizeof py_builtins / sizeof py_builtins[0]);
