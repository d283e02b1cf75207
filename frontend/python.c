/*
 * python.c — Python's built-in functions (print, len, range, int, float, str, min, max,
 * sum, list, zip, enumerate, isinstance, math.*) and the methods of lists, dicts and
 * strings.
 *
 * They run at compile time, as Python would, on compile-time values. What is only known
 * when the program runs (loss.item(), the length of a file dataset, a loop counter)
 * becomes a host expression: print() snapshots tensors and queues a host statement;
 * int(), round(), min() and str.format() build host expressions.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

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
        it->var = snapshot(l, pv, a->off);
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
          } else if (iv->k == V_TENSOR) {
            FLUSH_TEXT();
            PrintItem *it = &items[n++];
            it->var = snapshot(l, iv, a->off);
            it->param = iv->t.param && iv->t.requires_grad;
            it->gradfn = iv->t.requires_grad && !iv->t.leaf ? iv->t.gradfn : NULL;
            it->requires_grad = iv->t.requires_grad && !it->gradfn;
          } else
            ADD_TEXT(v_str_of(l, iv, true, a->off));
        }
        if (pv->k == V_TUPLE && pv->n == 1 && !size) ADD_TEXT(",");
        ADD_TEXT(size ? "])" : pv->k == V_LIST ? "]" : ")");
      } else if (pv->k == V_TUPLE && pv->s && (!strcmp(pv->s, "max") || !strcmp(pv->s, "min"))) {
        lerr(l, a->off, "printing a (values, indices) result is not supported; print .values and .indices");
      } else {
        ADD_TEXT(v_str_of(l, pv, false, a->off));
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
  case V_FSTR: fstr_unsupported(l, "len()", a->off);
  case V_RTLIST: return rtlist_len(l, x, a->off);
  case V_STR: return v_int(l, (int64_t)strlen(x->s));
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
  Value *x = v[0];
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
  Value *x = v[0];
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
  v_list_push(l, r, x);
  v_list_push(l, r, v_str(l, ""));
  return r;
}
B(py_str) {
  Value *v[1];
  args_bind(l, "str", "x=''", self, a, v, 1);
  if (v[0] && (v[0]->k == V_FSTR)) return v[0];
  if (v[0] && v[0]->k == V_RTLIST) return host_str(l, v_host(l, rtlist_expr(l, v[0])));
  if (v[0] && v[0]->k == V_HOST) return host_str(l, v[0]);
  return v_str(l, v[0] ? v_str_of(l, v[0], false, a->off) : "None");
}
B(py_repr) {
  Value *v[1];
  args_bind(l, "repr", "x", self, a, v, 1);
  if (v[0] && v[0]->k == V_HOST) return host_str(l, v[0]); /* a number's repr is its str */
  if (v[0] && v[0]->k == V_RTLIST) return host_str(l, v_host(l, rtlist_expr(l, v[0])));
  return v_str(l, v[0] ? v_str_of(l, v[0], true, a->off) : "None");
}
B(py_bool) {
  Value *v[1];
  args_bind(l, "bool", "x=False", self, a, v, 1);
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
      if (i == 0 || bi_compare(l, ismax ? CMP_GT : CMP_LT, kv, bestk, a->off)->i) best = items[i], bestk = kv;
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
        e->isfloat = acc->isfloat || e->b->isfloat;
        acc = e;
      }
      return v_host(l, acc);
    }
  for (int i = 1; i < n; i++) {
    Value *c = bi_compare(l, ismax ? CMP_GT : CMP_LT, items[i], best, a->off);
    if (c->i) best = items[i];
  }
  return best;
}
B(py_max) { UNUSED(self); return py_minmax(l, a, true); }
B(py_min) { UNUSED(self); return py_minmax(l, a, false); }

static Value *seq_of(L *l, Value *v, int32_t off) {
  /* arguments bind None as NULL */
  if (!v || v->k == V_NONE) lerr(l, off, "'NoneType' object is not iterable");
  if (v->k == V_LIST || v->k == V_TUPLE) return v;
  if (v->k == V_FSTR) fstr_unsupported(l, "iterating over it", off);
  if (v->k == V_RTLIST) rtlist_unsupported(l, "iterating over it", off);
  Value *r = v_new(l, V_LIST);
  if (v->k == V_RANGE) {
    int64_t count = 0;
    for (int64_t i = v->i; v->i3 > 0 ? i < v->i2 : i > v->i2; i += v->i3) {
      if (++count > 10000000) lerr(l, off, "range too long");
      v_list_push(l, r, v_int(l, i));
    }
    return r;
  }
  if (v->k == V_STR) {
    for (const char *p = v->s; *p; p++) v_list_push(l, r, v_str(l, arena_strndup(l->arena, p, 1)));
    return r;
  }
  if (v->k == V_DICT) {
    for (int i = 0; i + 1 < v->n; i += 2) v_list_push(l, r, v->items[i]);
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
B(py_isinstance) {
  Value *v[2];
  args_bind(l, "isinstance", "obj, classinfo", self, a, v, 2);
  Value *o = v[0], *c = v[1];
  if (!c || c->k != V_BUILTIN || !c->bi) {
    if (c && c->k == V_CLASS && c->bi && o && o->k == V_OBJECT) {
      /* a builtin class (nn.Linear): the object's class or a user class's builtin base */
      if (!strcmp(c->bi->name, "Module")) return v_bool(l, bi_is_module(o));
      for (Value *k = o->cls; k; k = k->self)
        if (k->bi == c->bi) return l->vtrue;
      return l->vfalse;
    }
    if (c && c->k == V_CLASS && o && o->k == V_OBJECT) {
      for (Value *k = o->cls; k; k = k->self)
        if (k == c) return l->vtrue;
      return l->vfalse;
    }
    if (c && c->k == V_CLASS && c->bi && o && o->k == V_TENSOR) return v_bool(l, !strcmp(c->bi->name, "Parameter") && o->t.param);
    lerr(l, a->off, "isinstance(): unsupported class");
  }
  const char *n = c->bi->name;
  bool r = (!strcmp(n, "int") && o->k == V_INT) || (!strcmp(n, "float") && o->k == V_FLOAT) ||
           (!strcmp(n, "str") && o->k == V_STR) || (!strcmp(n, "bool") && o->k == V_BOOL) ||
           (!strcmp(n, "list") && o->k == V_LIST) || (!strcmp(n, "tuple") && o->k == V_TUPLE);
  return v_bool(l, r);
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

B(list_append) {
  Value *v[2];
  args_bind(l, "append", "self, object", self, a, v, 2);
  if (outer_container(l, self)) {
    rtlist_append(l, self, v[1] ? v[1] : l->none, a->off);
    return l->none;
  }
  v_list_push(l, self, v[1] ? v[1] : l->none);
  return l->none;
}
B(list_extend) {
  Value *v[2];
  args_bind(l, "extend", "self, iterable", self, a, v, 2);
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
  for (int i = 0; i < self->n; i++)
    if (host_eq(l, self->items[i], v[1] ? v[1] : l->none, a->off)) return v_int(l, i);
  lerr(l, a->off, "value is not in list");
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
  for (int i = 0; i + 1 < self->n; i += 2)
    if (host_eq(l, self->items[i], v[1] ? v[1] : l->none, a->off)) return self->items[i + 1];
  return v[2] ? v[2] : l->none;
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
    Value *r = v_str(l, "");
    for (int i = 0; i < seq->n; i++) {
      if (i) r = fstr_concat(l, r, self, a->off);
      r = fstr_concat(l, r, seq->items[i], a->off);
    }
    return r;
  }
  char *out = arena_alloc(l->arena, n);
  for (int i = 0; i < seq->n; i++) {
    if (i) strcat(out, self->s);
    strcat(out, seq->items[i]->s);
  }
  return v_str(l, out);
}
static Value *str_case(L *l, Value *self, bool upper) {
  char *s = arena_strdup(l->arena, self->s);
  for (char *c = s; *c; c++)
    if (upper && *c >= 'a' && *c <= 'z') *c = (char)(*c - 32);
    else if (!upper && *c >= 'A' && *c <= 'Z') *c = (char)(*c + 32);
  return v_str(l, s);
}
B(str_upper) { UNUSED(a); return str_case(l, self, true); }
B(str_lower) { UNUSED(a); return str_case(l, self, false); }
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
        hf->items[0] = arg;
        hf->items[1] = spec && *spec ? v_str(l, arena_strdup(l->arena, spec)) : l->none;
        v_list_push(l, parts, hf);
      } else
        v_list_push(l, parts, arg);
    } else {
      const char *t = conv && *conv == 'r' ? v_str_of(l, arg, true, a->off) : format_spec(l, arg, spec, a->off);
      for (const char *c = t; *c && o < sizeof buf - 1; c++) buf[o++] = *c;
    }
    p = e + 1;
  }
  buf[o] = 0;
  if (parts->n == 0) return v_str(l, arena_strdup(l->arena, buf));
  v_list_push(l, parts, v_str(l, arena_strdup(l->arena, buf)));
  return parts;
}

static const Builtin list_methods[] = {
  {"append", BI_METHOD, bi_list_append, 0}, {"extend", BI_METHOD, bi_list_extend, 0},
  {"pop", BI_METHOD, bi_list_pop, 0},       {"insert", BI_METHOD, bi_list_insert, 0},
  {"index", BI_METHOD, bi_list_index, 0},
};
static const Builtin dict_methods[] = {
  {"keys", BI_METHOD, bi_dict_keys, 0}, {"values", BI_METHOD, bi_dict_values, 0},
  {"items", BI_METHOD, bi_dict_items, 0}, {"get", BI_METHOD, bi_dict_get, 0},
};
static const Builtin str_methods[] = {
  {"join", BI_METHOD, bi_str_join, 0},   {"format", BI_METHOD, bi_str_format, 0},
  {"upper", BI_METHOD, bi_str_upper, 0}, {"lower", BI_METHOD, bi_str_lower, 0},
  {"startswith", BI_METHOD, bi_str_startswith, 0}, {"endswith", BI_METHOD, bi_str_endswith, 0},
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
