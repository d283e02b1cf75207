/*
 * builtins.c — the torch names a .tt program can use, traced into graph nodes.
 *
 * Each builtin follows PyTorch: same name, same argument names and defaults (the `sig`
 * column), same type promotion, same broadcasting. Functions that exist both as
 * torch.f(x, ...) and x.f(...) are one entry flagged BI_FUNC | BI_METHOD; the method
 * form binds the receiver to the first parameter. Module classes (Linear, Sequential, ...)
 * construct objects at compile time and trace their forward when called.
 *
 * Python builtins (print, len, range, int, ...) live here too, since they act on the
 * same values.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

static void diag_warning(Diag *d, int32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void diag_warning(Diag *d, int32_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, "warning", off, fmt, ap);
  va_end(ap);
}

/* ---- argument binding ------------------------------------------------------------- */

static Value *parse_default(L *l, const char *s) {
  if (!strcmp(s, "None")) return NULL;
  if (!strcmp(s, "True")) return l->vtrue;
  if (!strcmp(s, "False")) return l->vfalse;
  if (s[0] == '\'') return v_str(l, arena_strndup(l->arena, s + 1, strlen(s) - 2));
  if (strpbrk(s, ".e")) return v_float(l, strtod(s, NULL));
  return v_int(l, strtoll(s, NULL, 10));
}

void args_bind(L *l, const char *fname, const char *sig, Value *self, Args *a, Value **out,
               int nout) {
  char names[16][32];
  char defs[16][32];
  bool hasdef[16];
  int np = 0;
  for (const char *p = sig; *p && np < 16;) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    int k = 0;
    while (*p && *p != ',' && *p != '=' && k < 31) names[np][k++] = *p++;
    names[np][k] = 0;
    hasdef[np] = false;
    if (*p == '=') {
      p++;
      k = 0;
      while (*p && *p != ',' && k < 31) defs[np][k++] = *p++;
      defs[np][k] = 0;
      hasdef[np] = true;
    }
    np++;
  }
  TT_ASSERT(np <= nout);
  bool bound[16] = {0};
  int pi = 0;
  if (self) out[pi] = self, bound[pi++] = true;
  for (int i = 0; i < a->npos; i++, pi++) {
    if (pi >= np)
      lerr(l, a->off, "%s() takes %d positional arguments but %d were given", fname,
           np - (self ? 1 : 0), a->npos);
    out[pi] = a->pos[i];
    bound[pi] = true;
  }
  for (int k = 0; k < a->nkw; k++) {
    int j;
    for (j = 0; j < np; j++)
      if (!strcmp(names[j], a->kwnames[k])) break;
    if (j == np) lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, a->kwnames[k]);
    if (bound[j]) lerr(l, a->off, "%s() got multiple values for argument '%s'", fname, names[j]);
    out[j] = a->kw[k];
    bound[j] = true;
  }
  for (int j = 0; j < np; j++) {
    if (bound[j]) {
      if (out[j]->k == V_NONE) out[j] = NULL;
      continue;
    }
    if (!hasdef[j]) lerr(l, a->off, "%s() missing required argument '%s'", fname, names[j]);
    out[j] = parse_default(l, defs[j]);
  }
}

int64_t want_int(L *l, Value *v, const char *what, int32_t off) {
  if (v && v->k == V_HOST)
    lerr(l, off, "%s must be known at compile time, but this value is only known when the "
                 "program runs", what);
  if (v && (v->k == V_INT || v->k == V_BOOL)) return v->i;
  lerr(l, off, "%s must be an int, not %s", what, v ? v_typename(v) : "None");
}

double want_num(L *l, Value *v, const char *what, int32_t off) {
  if (v && v->k == V_HOST)
    lerr(l, off, "%s must be known at compile time, but this value is only known when the "
                 "program runs", what);
  if (v && (v->k == V_INT || v->k == V_BOOL)) return (double)v->i;
  if (v && v->k == V_FLOAT) return v->f;
  lerr(l, off, "%s must be a number, not %s", what, v ? v_typename(v) : "None");
}

static bool want_bool(L *l, Value *v, int32_t off) {
  return v ? v_truthy(l, v, off) : false;
}

static Value *want_tensor(L *l, Value *v, const char *fname, int32_t off) {
  if (!v || v->k != V_TENSOR)
    lerr(l, off, "%s(): expected a Tensor, got %s", fname, v ? v_typename(v) : "None");
  return v;
}

/* A float's integer value as an int64 (Python's ints are unbounded; ttc's are not). */
static int64_t f2i(L *l, double x, int32_t off) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
    lerr(l, off, "integer %g is too large (ttc's integers are 64-bit)", x);
  return (int64_t)x;
}

/* A double as a float, overflowing to an infinity as IEEE rounding does (a plain cast of
 * an out-of-range value is undefined in C). */
static float d2f(double x) {
  if (x > 3.4028234663852886e38) return INFINITY;
  if (x < -3.4028234663852886e38) return -INFINITY;
  return (float)x;
}

/* ---- tensor results ---------------------------------------------------------------- */

static Shape tshape(L *l, Value *t) {
  return tn(l, t)->shape;
}

static DType tdtype(L *l, Value *t) {
  return tn(l, t)->dtype;
}

/* A computed tensor: requires grad if an input does (outside no_grad), with PyTorch's
 * grad_fn name (the op's, unless the builtin says otherwise). */
Value *bi_result(L *l, int node, Value **ins, int nins, const char *gradfn) {
  Value *r = mk_tensor(l, node);
  bool rg = false;
  for (int i = 0; i < nins; i++) rg |= ins[i] && ins[i]->k == V_TENSOR && ins[i]->t.requires_grad;
  if (rg && !l->no_grad && dt_is_float(cur_graph(l)->nodes[node].dtype)) {
    r->t.requires_grad = true;
    r->t.gradfn = gradfn ? gradfn : ir_ops[cur_graph(l)->nodes[node].op].gradfn;
  } else if (rg && l->no_grad) {
    /* computed under no_grad: a later backward() must not flow through it */
    int32_t in = node;
    r->t.node = add_node(l, OP_DETACH, &in, 1, NULL, cur_graph(l)->nodes[node].loc.off);
  }
  return r;
}

#define result bi_result
static Value *op1(L *l, Op op, Value *x, const Attr *attr, int32_t off, const char *gradfn) {
  int32_t in = tnode(l, x);
  int id = add_node(l, op, &in, 1, attr, off);
  return result(l, id, &x, 1, gradfn);
}

static int normdim(L *l, int64_t d, int rank, int32_t off) {
  int r = rank ? rank : 1;
  if (d < -r || d >= r)
    lerr(l, off, "Dimension out of range (expected to be in range of [%d, %d], but got %lld)", -r,
         r - 1, (long long)d);
  return (int)(d < 0 ? d + r : d);
}

/* ---- constants and dtype promotion ------------------------------------------------ */

static int dcat(DType t) {
  return t == DT_BOOL ? 0 : dt_is_float(t) ? 2 : 1;
}

static DType dmax(DType a, DType b) {
  if (dcat(a) != dcat(b)) return dcat(a) > dcat(b) ? a : b;
  return dt_size(a) >= dt_size(b) ? a : b;
}

static DType scalar_dtype(const Value *v) {
  return v->k == V_FLOAT ? DT_F32 : v->k == V_BOOL ? DT_BOOL : DT_I64;
}

/* A 0-d constant tensor of dtype dt holding a host number. */
static Value *scalar_const(L *l, Value *v, DType dt, int32_t off) {
  double x = v->k == V_FLOAT ? v->f : (double)v->i;
  Graph *g = cur_graph(l);
  Attr at = {0};
  at.data = arena_alloc(g->arena, 8);
  switch (dt) {
  case DT_F32: *(float *)at.data = d2f(x); break;
  case DT_F64: *(double *)at.data = x; break;
  case DT_I64: *(int64_t *)at.data = v->k == V_FLOAT ? f2i(l, trunc(x), off) : v->i; break;
  case DT_I32: *(int32_t *)at.data = (int32_t)f2i(l, trunc(x), off); break;
  case DT_I8: *(int8_t *)at.data = (int8_t)f2i(l, trunc(x), off); break;
  case DT_BOOL: *(bool *)at.data = x != 0; break;
  default: tt_unreachable();
  }
  if (g->n == 0) g->loc.off = off;
  int id = ir_add_source(g, OP_CONST, dt, shape_scalar(), &at, (Loc){off});
  return mk_tensor(l, id);
}

/* Cast a tensor to dt (a no-op if it already is). */
static Value *cast(L *l, Value *x, DType dt, int32_t off) {
  if (tdtype(l, x) == dt) return x;
  Attr at = {0};
  at.i[0] = dt;
  return op1(l, OP_CAST, x, &at, off, "ToCopyBackward0");
}

/* PyTorch's result_type over tensors and Python scalars: dimensioned tensors decide,
 * then zero-dim tensors if of a higher category, then scalars if of a higher category
 * (as the default dtype of that category). */
static DType result_type(L *l, Value **v, int n, int32_t off) {
  int have[3] = {0};
  DType best[3] = {DT_BOOL, DT_BOOL, DT_BOOL};
  for (int i = 0; i < n; i++) {
    int cls;
    DType t;
    if (v[i]->k == V_TENSOR) {
      const Node *nd = tn(l, v[i]);
      cls = nd->shape.rank > 0 ? 0 : 1;
      t = nd->dtype;
    } else if (v[i]->k == V_INT || v[i]->k == V_FLOAT || v[i]->k == V_BOOL) {
      cls = 2;
      t = scalar_dtype(v[i]);
    } else if (v[i]->k == V_HOST) {
      cls = 2;
      t = v[i]->hx->isfloat ? DT_F32 : v[i]->hx->isbool ? DT_BOOL : DT_I64;
    } else
      lerr(l, off, "unsupported operand type: %s", v_typename(v[i]));
    best[cls] = have[cls] ? dmax(best[cls], t) : t;
    have[cls] = 1;
  }
  DType r = DT_BOOL;
  bool set = false;
  for (int c = 0; c < 3; c++) {
    if (!have[c]) continue;
    if (!set) r = best[c], set = true;
    else if (dcat(best[c]) > dcat(r)) r = c == 2 ? (dcat(best[c]) == 2 ? DT_F32 : DT_I64) : best[c];
  }
  return r;
}

static Value *to_tensor_dt(L *l, Value *v, DType dt, int32_t off) {
  if (v->k == V_TENSOR) return cast(l, v, dt, off);
  if (v->k == V_HOST) return host_to_tensor(l, v, dt, off);
  return scalar_const(l, v, dt, off);
}

/* ---- tensor literals ---------------------------------------------------------------- */

typedef struct Lit {
  Shape shape;
  int kind; /* 0 bool, 1 int, 2 float */
  int64_t n, cap;
  double *vals;
} Lit;

static void lit_walk(L *l, Lit *t, Value *v, int depth, int32_t off) {
  if (v->k == V_LIST || v->k == V_TUPLE) {
    if (depth >= TT_MAX_RANK) lerr(l, off, "tensor literal nested too deeply (at most %d dims)", TT_MAX_RANK);
    if (t->shape.rank <= depth) {
      if (t->n > 0) lerr(l, off, "tensor literal: inconsistent nesting");
      t->shape.rank = depth + 1;
      t->shape.d[depth] = v->n;
    } else if (t->shape.d[depth] != v->n)
      lerr(l, off, "expected sequence of length %lld at dim %d (got %d)", (long long)t->shape.d[depth],
           depth, v->n);
    for (int i = 0; i < v->n; i++) lit_walk(l, t, v->items[i], depth + 1, off);
    return;
  }
  if (depth != t->shape.rank) lerr(l, off, "tensor literal: inconsistent nesting");
  double x;
  int kind;
  if (v->k == V_FLOAT) x = v->f, kind = 2;
  else if (v->k == V_INT) x = (double)v->i, kind = 1;
  else if (v->k == V_BOOL) x = (double)v->i, kind = 0;
  else if (v->k == V_TENSOR) lerr(l, off, "tensor(): a list of tensors is not supported; use torch.stack");
  else lerr(l, off, "tensor(): could not convert a %s to a number", v_typename(v));
  if (kind > t->kind) t->kind = kind;
  if (t->n == t->cap) { /* in the arena: a diagnostic may longjmp out of the walk */
    int64_t cap = t->cap ? t->cap * 2 : 64;
    double *nv = arena_alloc(l->arena, sizeof(double) * (size_t)cap);
    if (t->n) memcpy(nv, t->vals, sizeof(double) * (size_t)t->n);
    t->vals = nv;
    t->cap = cap;
  }
  t->vals[t->n++] = x;
}

static Value *const_tensor(L *l, DType dt, Shape sh, const double *vals, int64_t n, int32_t off) {
  Graph *g = cur_graph(l);
  Attr at = {0};
  at.data = arena_alloc(g->arena, (size_t)(n ? n : 1) * dt_size(dt));
  for (int64_t i = 0; i < n; i++) {
    double x = vals[i];
    switch (dt) {
    case DT_F32: ((float *)at.data)[i] = d2f(x); break;
    case DT_F64: ((double *)at.data)[i] = x; break;
    case DT_I64: ((int64_t *)at.data)[i] = f2i(l, trunc(x), off); break;
    case DT_I32: ((int32_t *)at.data)[i] = (int32_t)f2i(l, trunc(x), off); break;
    case DT_I8: ((int8_t *)at.data)[i] = (int8_t)f2i(l, trunc(x), off); break;
    case DT_BOOL: ((bool *)at.data)[i] = x != 0; break;
    default: tt_unreachable();
    }
  }
  if (g->n == 0) g->loc.off = off;
  int id = ir_add_source(g, OP_CONST, dt, sh, &at, (Loc){off});
  return mk_tensor(l, id);
}

static DType want_dtype(L *l, Value *v, int32_t off) {
  if (v->k != V_DTYPE) lerr(l, off, "expected a dtype such as torch.float32, got %s", v_typename(v));
  return (DType)v->i;
}

static void remember_leaf(L *l, int var, Value *t) {
  if (var >= l->nleaves) {
    int n = var + 16;
    l->leaves = xrealloc(l->leaves, sizeof(Value *) * (size_t)n);
    for (int i = l->nleaves; i < n; i++) l->leaves[i] = NULL;
    l->nleaves = n;
  }
  l->leaves[var] = t;
}

/* A leaf that requires grad lives in a program variable from the start, so that its
 * .grad can accumulate across graphs. */
static Value *make_leaf(L *l, Value *t, bool rg, int32_t off) {
  if (!rg) {
    t->t.leaf = true;
    return t;
  }
  DType dt = tdtype(l, t);
  if (!dt_is_float(dt)) lerr(l, off, "only Tensors of floating point dtype can require gradients");
  const Node *n = tn(l, t);
  int var = ir_var_new(l->p, "leaf", VAR_PARAM, n->dtype, n->shape);
  l->p->vars[var].requires_grad = true;
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  t->t.var = var;
  t->t.graph = -1; /* later uses read the variable: autodiff finds the leaf there */
  remember_leaf(l, var, t);
  t->t.leaf = true;
  t->t.requires_grad = true;
  return t;
}

B(tensor) {
  Value *v[3];
  args_bind(l, "tensor", "data, dtype=None, requires_grad=False", self, a, v, 3);
  Value *data = v[0];
  if (data->k == V_TENSOR) {
    Value *t = op1(l, OP_RESHAPE, data, &(Attr){.ints = ir_ints(cur_graph(l), tshape(l, data).d, tshape(l, data).rank), .nints = tshape(l, data).rank}, a->off, NULL);
    t->t.requires_grad = false;
    t->t.gradfn = NULL;
    if (v[1]) t = cast(l, t, want_dtype(l, v[1], a->off), a->off);
    return make_leaf(l, t, want_bool(l, v[2], a->off), a->off);
  }
  Lit lit = {0};
  lit.shape.sym = -1;
  lit_walk(l, &lit, data, 0, a->off);
  if (lit.shape.rank > 0 && shape_numel(&lit.shape) == 0) lit.kind = 2; /* tensor([]) is float */
  DType dt = lit.kind == 2 ? DT_F32 : lit.kind == 1 ? DT_I64 : DT_BOOL;
  if (v[1]) dt = want_dtype(l, v[1], a->off);
  Value *t = const_tensor(l, dt, lit.shape, lit.vals, lit.n, a->off);
  return make_leaf(l, t, want_bool(l, v[2], a->off), a->off);
}

/* A size given as f(2, 3), f((2, 3)), f([2, 3]) or f(torch.Size). */
static Shape size_args(L *l, Args *a, int first, const char *fname) {
  Shape s = {0};
  s.sym = -1;
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) {
    n = items[0]->n;
    items = items[0]->items;
  }
  if (n > TT_MAX_RANK) lerr(l, a->off, "%s(): at most %d dimensions are supported", fname, TT_MAX_RANK);
  s.rank = n;
  for (int i = 0; i < n; i++) {
    int64_t d = want_int(l, items[i], "a size", a->off);
    if (d < 0) lerr(l, a->off, "%s(): negative dimension %lld", fname, (long long)d);
    if (d > (1LL << 31)) lerr(l, a->off, "%s(): dimension %lld is too large", fname, (long long)d);
    s.d[i] = d;
  }
  if (shape_numel(&s) > (1LL << 31)) lerr(l, a->off, "%s(): tensor too large", fname);
  return s;
}

/* The keyword arguments factory functions share. */
static void factory_kw(L *l, Args *a, const char *fname, DType *dt, bool *rg, Value **fill) {
  for (int k = 0; k < a->nkw; k++) {
    const char *n = a->kwnames[k];
    if (!strcmp(n, "dtype")) *dt = want_dtype(l, a->kw[k], a->off);
    else if (!strcmp(n, "requires_grad")) *rg = v_truthy(l, a->kw[k], a->off);
    else if (!strcmp(n, "fill_value") && fill) *fill = a->kw[k];
    else if (!strcmp(n, "device")) {
      if (a->kw[k]->k != V_STR || strcmp(a->kw[k]->s, "cpu"))
        lerr(l, a->off, "%s(): ttc compiles for the CPU; device must be 'cpu'", fname);
    } else lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, n);
  }
}

static Value *filled(L *l, Shape s, DType dt, double x, int32_t off) {
  Attr at = {0};
  at.f[0] = x;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  return mk_tensor(l, ir_add_source(g, OP_FILL, dt, s, &at, (Loc){off}));
}

static Value *factory(L *l, Args *a, const char *fname, double x, Op op) {
  DType dt = DT_F32;
  bool rg = false;
  Value *fill = NULL;
  int first = 0;
  if (op == OP__COUNT) { /* full(size, fill_value) */
    if (a->npos >= 2) fill = a->pos[a->npos - 1], a->npos--;
  }
  Shape s = size_args(l, a, first, fname);
  factory_kw(l, a, fname, &dt, &rg, &fill);
  if (op == OP__COUNT) {
    if (!fill) lerr(l, a->off, "full() missing required argument 'fill_value'");
    x = want_num(l, fill, "fill_value", a->off);
    if (!a->nkw || true) {
      bool dtset = false;
      for (int k = 0; k < a->nkw; k++) dtset |= !strcmp(a->kwnames[k], "dtype");
      if (!dtset) dt = scalar_dtype(fill);
    }
    op = OP_FILL;
  }
  Value *t;
  if (op == OP_FILL) t = filled(l, s, dt, x, a->off);
  else {
    if (!dt_is_float(dt)) lerr(l, a->off, "%s(): expected a floating point dtype", fname);
    Attr at = {0};
    at.f[0] = 0;
    at.f[1] = 1;
    Graph *g = cur_graph(l);
    if (g->n == 0) g->loc.off = a->off;
    t = mk_tensor(l, ir_add_source(g, op, dt, s, &at, (Loc){a->off}));
  }
  return make_leaf(l, t, rg, a->off);
}

B(zeros) { UNUSED(self); return factory(l, a, "zeros", 0, OP_FILL); }
B(ones) { UNUSED(self); return factory(l, a, "ones", 1, OP_FILL); }
B(empty) { UNUSED(self); return factory(l, a, "empty", 0, OP_FILL); }
B(full) { UNUSED(self); return factory(l, a, "full", 0, OP__COUNT); }
B(rand) { UNUSED(self); return factory(l, a, "rand", 0, OP_UNIFORM); }
B(randn) { UNUSED(self); return factory(l, a, "randn", 0, OP_NORMAL); }

static Value *like(L *l, Value *self, Args *a, const char *fname, double x, Op op) {
  Value *v[3];
  args_bind(l, fname, "input, dtype=None, requires_grad=False", self, a, v, 3);
  Value *t = want_tensor(l, v[0], fname, a->off);
  Shape s = tshape(l, t);
  DType dt = v[1] ? want_dtype(l, v[1], a->off) : tdtype(l, t);
  Value *r;
  if (op == OP_FILL) r = filled(l, s, dt, x, a->off);
  else {
    Attr at = {0};
    at.f[1] = 1;
    r = mk_tensor(l, ir_add_source(cur_graph(l), op, dt, s, &at, (Loc){a->off}));
  }
  return make_leaf(l, r, want_bool(l, v[2], a->off), a->off);
}

B(randint) {
  UNUSED(self);
  /* randint(high, size) or randint(low, high, size), size a tuple */
  Value *lo = NULL, *hi = NULL, *size = NULL;
  if (a->npos == 2) hi = a->pos[0], size = a->pos[1];
  else if (a->npos == 3) lo = a->pos[0], hi = a->pos[1], size = a->pos[2];
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "low")) lo = a->kw[k];
    else if (!strcmp(a->kwnames[k], "high")) hi = a->kw[k];
    else if (!strcmp(a->kwnames[k], "size")) size = a->kw[k];
    else if (strcmp(a->kwnames[k], "dtype") && strcmp(a->kwnames[k], "device"))
      lerr(l, a->off, "randint() got an unexpected keyword argument '%s'", a->kwnames[k]);
  }
  if (!hi || !size) lerr(l, a->off, "randint(): expected (high, size) or (low, high, size)");
  int64_t l0 = lo ? want_int(l, lo, "low", a->off) : 0, h0 = want_int(l, hi, "high", a->off);
  if (h0 <= l0) lerr(l, a->off, "random_ expects 'from' to be less than 'to', but got from=%lld >= to=%lld", (long long)l0, (long long)h0);
  Args sa = {.pos = &size, .npos = 1, .off = a->off};
  Shape s = size_args(l, &sa, 0, "randint");
  Attr at = {0};
  at.i[0] = l0;
  at.i[1] = h0;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = a->off;
  Value *t = mk_tensor(l, ir_add_source(g, OP_RANDINT, DT_I64, s, &at, (Loc){a->off}));
  t->t.leaf = true;
  return t;
}

B(zeros_like) { return like(l, self, a, "zeros_like", 0, OP_FILL); }
B(ones_like) { return like(l, self, a, "ones_like", 1, OP_FILL); }
B(rand_like) { return like(l, self, a, "rand_like", 0, OP_UNIFORM); }
B(randn_like) { return like(l, self, a, "randn_like", 0, OP_NORMAL); }

B(full_like) {
  Value *v[4];
  args_bind(l, "full_like", "input, fill_value, dtype=None, requires_grad=False", self, a, v, 4);
  Value *t = want_tensor(l, v[0], "full_like", a->off);
  DType dt = v[2] ? want_dtype(l, v[2], a->off) : tdtype(l, t);
  Value *r = filled(l, tshape(l, t), dt, want_num(l, v[1], "fill_value", a->off), a->off);
  return make_leaf(l, r, want_bool(l, v[3], a->off), a->off);
}

B(arange) {
  UNUSED(self);
  DType dt = DT_I64;
  bool rg = false;
  bool isfloat = false;
  double s0 = 0, s1, st = 1;
  for (int i = 0; i < a->npos; i++) isfloat |= a->pos[i]->k == V_FLOAT;
  Value *kstart = NULL, *kend = NULL, *kstep = NULL;
  Args rest = *a;
  rest.nkw = 0;
  const char **kn = arena_alloc(l->arena, sizeof(char *) * (size_t)(a->nkw + 1));
  Value **kv = arena_alloc(l->arena, sizeof(Value *) * (size_t)(a->nkw + 1));
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "start")) kstart = a->kw[k];
    else if (!strcmp(a->kwnames[k], "end")) kend = a->kw[k];
    else if (!strcmp(a->kwnames[k], "step")) kstep = a->kw[k];
    else kn[rest.nkw] = a->kwnames[k], kv[rest.nkw++] = a->kw[k];
  }
  rest.kwnames = kn;
  rest.kw = kv;
  Value *p[3] = {0};
  int np = 0;
  for (int i = 0; i < a->npos && np < 3; i++) p[np++] = a->pos[i];
  if (a->npos > 3) lerr(l, a->off, "arange() takes at most 3 positional arguments");
  if (np == 1) kend = kend ? kend : p[0];
  else if (np >= 2) kstart = p[0], kend = p[1], kstep = np == 3 ? p[2] : kstep;
  if (!kend) lerr(l, a->off, "arange() missing required argument 'end'");
  for (Value **q = (Value *[]){kstart, kend, kstep}, **e = q + 3; q < e; q++)
    if (*q && (*q)->k == V_FLOAT) isfloat = true;
  if (kstart) s0 = want_num(l, kstart, "start", a->off);
  s1 = want_num(l, kend, "end", a->off);
  if (kstep) st = want_num(l, kstep, "step", a->off);
  if (st == 0) lerr(l, a->off, "arange(): step must be nonzero");
  if ((st > 0 && s1 < s0) || (st < 0 && s1 > s0))
    lerr(l, a->off, "arange(): upper bound and larger bound inconsistent with step sign");
  if (isfloat) dt = DT_F32;
  factory_kw(l, &rest, "arange", &dt, &rg, NULL);
  double cnt = ceil((s1 - s0) / st);
  if (cnt > (double)(1LL << 31)) lerr(l, a->off, "arange(): too many elements");
  Shape s = {0};
  s.sym = -1;
  s.rank = 1;
  s.d[0] = (int64_t)cnt;
  Attr at = {0};
  at.f[0] = s0;
  at.f[1] = st;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = a->off;
  Value *t = mk_tensor(l, ir_add_source(g, OP_ARANGE, dt, s, &at, (Loc){a->off}));
  return make_leaf(l, t, rg, a->off);
}

B(linspace) {
  Value *v[5];
  args_bind(l, "linspace", "start, end, steps, dtype=None, requires_grad=False", self, a, v, 5);
  double s0 = want_num(l, v[0], "start", a->off), s1 = want_num(l, v[1], "end", a->off);
  int64_t n = want_int(l, v[2], "steps", a->off);
  if (n < 0 || n > (1 << 24)) lerr(l, a->off, "linspace(): bad number of steps %lld", (long long)n);
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n ? n : 1));
  /* PyTorch computes the first half from start and the second half from end */
  double step = n > 1 ? (s1 - s0) / (double)(n - 1) : 0;
  for (int64_t i = 0; i < n; i++) {
    float fs = d2f(step);
    vals[i] = i < n / 2 ? d2f(s0) + fs * (float)i : d2f(s1) - fs * (float)(n - 1 - i);
  }
  Shape s = {.rank = 1, .sym = -1, .d = {n}};
  DType dt = v[3] ? want_dtype(l, v[3], a->off) : DT_F32;
  Value *t = const_tensor(l, dt, s, vals, n, a->off);
  return make_leaf(l, t, want_bool(l, v[4], a->off), a->off);
}

B(eye) {
  Value *v[4];
  args_bind(l, "eye", "n, m=None, dtype=None, requires_grad=False", self, a, v, 4);
  int64_t n = want_int(l, v[0], "n", a->off), m = v[1] ? want_int(l, v[1], "m", a->off) : n;
  if (n < 0 || m < 0 || n * m > (1 << 24)) lerr(l, a->off, "eye(): bad size");
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n * m + 1));
  for (int64_t i = 0; i < n * m; i++) vals[i] = (i / m == i % m);
  Shape s = {.rank = 2, .sym = -1, .d = {n, m}};
  Value *t = const_tensor(l, v[2] ? want_dtype(l, v[2], a->off) : DT_F32, s, vals, n * m, a->off);
  return make_leaf(l, t, want_bool(l, v[3], a->off), a->off);
}

B(manual_seed) {
  Value *v[1];
  args_bind(l, "manual_seed", "seed", self, a, v, 1);
  int64_t seed = want_int(l, v[0], "seed", a->off);
  /* Reseeding mid-program is a runtime effect; at the start it is the program's seed. */
  bool any_rng = false;
  for (int gi = 0; gi < l->p->ngraphs && !any_rng; gi++)
    for (int i = 0; i < l->p->graphs[gi]->n && !any_rng; i++)
      any_rng = ir_ops[l->p->graphs[gi]->nodes[i].op].flags & OPF_RNG;
  if (!any_rng && !l->rng_drawn && l->loop_depth == 0) {
    l->p->seed = (uint64_t)seed; /* before any draw: the program's seed */
    return l->none;
  }
  Attr at = {0};
  at.i[0] = seed;
  add_node(l, OP_SEED, NULL, 0, &at, a->off);
  return l->none;
}

/* ---- elementwise ----------------------------------------------------------------- */

static Value *ew2(L *l, Op op, Value *x, Value *y, int32_t off, const char *gradfn) {
  Value *ops[2] = {x, y};
  DType dt = result_type(l, ops, 2, off);
  if ((op == OP_DIV || op == OP_POW) && !dt_is_float(dt)) {
    if (op == OP_DIV || (y->k == V_FLOAT)) dt = DT_F32;
  }
  if (op == OP_POW && !dt_is_float(dt))
    lerr(l, off, "pow of integer tensors is not supported yet; use a float tensor");
  Value *tx = to_tensor_dt(l, x, dt, off), *ty = to_tensor_dt(l, y, dt, off);
  int32_t in[2] = {tnode(l, tx), tnode(l, ty)};
  int id = add_node(l, op, in, 2, NULL, off);
  return result(l, id, ops, 2, gradfn);
}

static const char *scalar_gradfn(Value *y, const char *plain, const char *scalar) {
  return y->k == V_TENSOR ? plain : scalar;
}

Value *bi_binop(L *l, int op, Value *a, Value *b, int32_t off) {
  bool ta = a->k == V_TENSOR, tb = b->k == V_TENSOR;
  if (!ta && !tb && (a->k == V_HOST || b->k == V_HOST)) return host_binop(l, op, a, b, off);
  if (ta || tb) {
    switch (op) {
    case BIN_ADD: return ew2(l, OP_ADD, a, b, off, NULL);
    case BIN_SUB: return ew2(l, OP_SUB, a, b, off, NULL);
    case BIN_MUL: return ew2(l, OP_MUL, a, b, off, NULL);
    case BIN_DIV: return ew2(l, OP_DIV, a, b, off, NULL);
    case BIN_POW: return ew2(l, OP_POW, a, b, off, scalar_gradfn(b, "PowBackward1", "PowBackward0"));
    case BIN_FLOORDIV:
    case BIN_MOD: {
      /* floor(a / b) (and a - floor(a / b) * b), in double for integers so that the result
       * is exact, then back to the operands' type */
      Value *ops[2] = {a, b};
      DType dt = result_type(l, ops, 2, off);
      DType wt = dt_is_float(dt) ? dt : DT_F64;
      Value *x = to_tensor_dt(l, a, wt, off), *y = to_tensor_dt(l, b, wt, off);
      Value *q = op1(l, OP_FLOOR, ew2(l, OP_DIV, x, y, off, NULL), NULL, off, "FloorBackward0");
      Value *r = op == BIN_FLOORDIV ? q : ew2(l, OP_SUB, x, ew2(l, OP_MUL, q, y, off, NULL), off, "RemainderBackward0");
      return cast(l, r, dt, off);
    }
    case BIN_MATMUL: {
      if (!ta || !tb) lerr(l, off, "matmul: both operands must be tensors");
      Value *ops[2] = {a, b};
      DType dt = result_type(l, ops, 2, off);
      Value *x = cast(l, a, dt, off), *y = cast(l, b, dt, off);
      int32_t in[2] = {tnode(l, x), tnode(l, y)};
      int id = add_node(l, OP_MATMUL, in, 2, NULL, off);
      const Node *nx = tn(l, x), *ny = tn(l, y);
      const char *gf = nx->shape.rank == 2 && ny->shape.rank == 2 ? "MmBackward0"
                       : nx->shape.rank == 1 && ny->shape.rank == 1 ? "DotBackward0"
                       : nx->shape.rank <= 2 && ny->shape.rank <= 2 ? "MvBackward0"
                                                                     : "UnsafeViewBackward0";
      return result(l, id, ops, 2, gf);
    }
    default: lerr(l, off, "this operator is not supported on tensors yet");
    }
  }
  /* host arithmetic, Python semantics */
  if (a->k == V_STR && b->k == V_STR && op == BIN_ADD)
    return v_str(l, arena_printf(l->arena, "%s%s", a->s, b->s));
  if (a->k == V_STR && op == BIN_MOD) {
    /* "%d %.3f" % (x, y): C's printf handles the common conversions */
    Value *args = b->k == V_TUPLE ? b : NULL;
    int ai = 0;
    char out[4096];
    size_t o = 0;
    for (const char *p = a->s; *p && o < sizeof out - 1;) {
      if (*p != '%') { out[o++] = *p++; continue; }
      if (p[1] == '%') { out[o++] = '%'; p += 2; continue; }
      const char *q = p + 1;
      while (*q && strchr("-+ #0123456789.", *q)) q++;
      if (!*q) lerr(l, off, "incomplete format");
      char spec[32];
      size_t sl = (size_t)(q - p + 1) < sizeof spec - 4 ? (size_t)(q - p + 1) : sizeof spec - 4;
      memcpy(spec, p, sl);
      spec[sl] = 0;
      Value *arg = args ? (ai < args->n ? args->items[ai++] : NULL) : (ai++ == 0 ? b : NULL);
      if (!arg) lerr(l, off, "not enough arguments for format string");
      char piece[512];
      if (strchr("diouxX", *q)) {
        spec[sl - 1] = 0;
        strcat(spec, "lld");
        spec[strlen(spec) - 1] = *q == 'i' ? 'd' : *q;
        snprintf(piece, sizeof piece, spec, (long long)want_num(l, arg, "%d format", off));
      } else if (strchr("eEfFgG", *q)) snprintf(piece, sizeof piece, spec, want_num(l, arg, "%f format", off));
      else if (*q == 's' || *q == 'r') {
        spec[sl - 1] = 's';
        snprintf(piece, sizeof piece, spec, v_str_of(l, arg, *q == 'r', off));
      } else lerr(l, off, "unsupported format character '%c'", *q);
      for (char *c = piece; *c && o < sizeof out - 1; c++) out[o++] = *c;
      p = q + 1;
    }
    out[o] = 0;
    return v_str(l, arena_strdup(l->arena, out));
  }
  if ((a->k == V_LIST && b->k == V_LIST) || (a->k == V_TUPLE && b->k == V_TUPLE)) {
    if (op != BIN_ADD) lerr(l, off, "unsupported operand types for this operator: %s and %s", v_typename(a), v_typename(b));
    Value *r = v_new(l, a->k);
    for (int i = 0; i < a->n; i++) v_list_push(l, r, a->items[i]);
    for (int i = 0; i < b->n; i++) v_list_push(l, r, b->items[i]);
    return r;
  }
  if ((a->k == V_LIST || a->k == V_STR) && b->k == V_INT && op == BIN_MUL) {
    if (a->k == V_STR) {
      size_t n = strlen(a->s);
      int64_t k = b->i < 0 ? 0 : b->i;
      if ((double)n * (double)k > 1e7) lerr(l, off, "string too long");
      char *s = arena_alloc(l->arena, n * (size_t)k + 1);
      for (int64_t i = 0; i < k; i++) memcpy(s + (size_t)i * n, a->s, n);
      return v_str(l, s);
    }
    Value *r = v_new(l, V_LIST);
    if ((double)a->n * (double)b->i > 1e7) lerr(l, off, "list too long");
    for (int64_t i = 0; i < b->i; i++)
      for (int j = 0; j < a->n; j++) v_list_push(l, r, a->items[j]);
    return r;
  }
  bool na = a->k == V_INT || a->k == V_BOOL || a->k == V_FLOAT;
  bool nb = b->k == V_INT || b->k == V_BOOL || b->k == V_FLOAT;
  if (!na || !nb)
    lerr(l, off, "unsupported operand types: %s and %s", v_typename(a), v_typename(b));
  bool isf = a->k == V_FLOAT || b->k == V_FLOAT;
  if (!isf && op != BIN_DIV && !(op == BIN_POW && b->i < 0)) {
    int64_t x = a->i, y = b->i;
    switch (op) {
    case BIN_ADD: return v_int(l, (int64_t)((uint64_t)x + (uint64_t)y));
    case BIN_SUB: return v_int(l, (int64_t)((uint64_t)x - (uint64_t)y));
    case BIN_MUL: return v_int(l, (int64_t)((uint64_t)x * (uint64_t)y));
    case BIN_FLOORDIV:
    case BIN_MOD: {
      if (y == 0) lerr(l, off, "integer division or modulo by zero");
      if (x == INT64_MIN && y == -1) lerr(l, off, "integer overflow");
      int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) q--, r += y;
      return v_int(l, op == BIN_MOD ? r : q);
    }
    case BIN_POW: {
      int64_t r = 1;
      for (int64_t i = 0; i < y && i < 64; i++) r = (int64_t)((uint64_t)r * (uint64_t)x);
      return v_int(l, r);
    }
    default: break;
    }
    lerr(l, off, "unsupported operator for ints");
  }
  double x = a->k == V_FLOAT ? a->f : (double)a->i, y = b->k == V_FLOAT ? b->f : (double)b->i;
  switch (op) {
  case BIN_ADD: return v_float(l, x + y);
  case BIN_SUB: return v_float(l, x - y);
  case BIN_MUL: return v_float(l, x * y);
  case BIN_DIV:
    if (y == 0) lerr(l, off, "division by zero");
    return v_float(l, x / y);
  case BIN_FLOORDIV:
    if (y == 0) lerr(l, off, "float floor division by zero");
    return v_float(l, floor(x / y));
  case BIN_MOD:
    if (y == 0) lerr(l, off, "float modulo");
    return v_float(l, x - floor(x / y) * y);
  case BIN_POW: return v_float(l, pow(x, y));
  default: lerr(l, off, "unsupported operator for floats");
  }
}

Value *bi_unop(L *l, int op, Value *a, int32_t off) {
  if (a->k == V_HOST) return host_unop(l, op, a, off);
  if (a->k == V_TENSOR) {
    if (op == UN_POS) return a;
    if (tdtype(l, a) == DT_BOOL) lerr(l, off, "negation, the `-` operator, on a bool tensor is not supported");
    return op1(l, OP_NEG, a, NULL, off, NULL);
  }
  if (a->k == V_INT || a->k == V_BOOL) return v_int(l, op == UN_NEG ? -a->i : a->i);
  if (a->k == V_FLOAT) return v_float(l, op == UN_NEG ? -a->f : a->f);
  lerr(l, off, "bad operand type for unary -: '%s'", v_typename(a));
}

static bool host_eq(L *l, Value *a, Value *b, int32_t off) {
  bool na = a->k == V_INT || a->k == V_BOOL || a->k == V_FLOAT;
  bool nb = b->k == V_INT || b->k == V_BOOL || b->k == V_FLOAT;
  if (na && nb) {
    if (a->k != V_FLOAT && b->k != V_FLOAT) return a->i == b->i;
    return (a->k == V_FLOAT ? a->f : (double)a->i) == (b->k == V_FLOAT ? b->f : (double)b->i);
  }
  if (a->k != b->k) return false;
  switch (a->k) {
  case V_NONE: return true;
  case V_STR: return !strcmp(a->s, b->s);
  case V_DTYPE: return a->i == b->i;
  case V_LIST:
  case V_TUPLE:
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
      if (!host_eq(l, a->items[i], b->items[i], off)) return false;
    return true;
  default: return a == b;
  }
}

Value *bi_compare(L *l, int op, Value *a, Value *b, int32_t off) {
  if (op == CMP_IS || op == CMP_ISNOT) {
    bool same = a == b || (a->k == V_NONE && b->k == V_NONE) ||
                (a->k == V_BOOL && b->k == V_BOOL && a->i == b->i);
    return v_bool(l, op == CMP_IS ? same : !same);
  }
  if (op == CMP_IN || op == CMP_NOTIN) {
    bool found = false;
    if (b->k == V_STR && a->k == V_STR) found = strstr(b->s, a->s) != NULL;
    else if (b->k == V_LIST || b->k == V_TUPLE) {
      for (int i = 0; i < b->n && !found; i++) found = host_eq(l, a, b->items[i], off);
    } else if (b->k == V_DICT) {
      for (int i = 0; i + 1 < b->n && !found; i += 2) found = host_eq(l, a, b->items[i], off);
    } else lerr(l, off, "argument of type '%s' is not iterable", v_typename(b));
    return v_bool(l, op == CMP_IN ? found : !found);
  }
  if (a->k != V_TENSOR && b->k != V_TENSOR && (a->k == V_HOST || b->k == V_HOST))
    return host_compare(l, op, a, b, off);
  if (a->k == V_TENSOR || b->k == V_TENSOR) {
    static const Op map[] = {OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE};
    return ew2(l, map[op], a, b, off, NULL);
  }
  if (op == CMP_EQ) return v_bool(l, host_eq(l, a, b, off));
  if (op == CMP_NE) return v_bool(l, !host_eq(l, a, b, off));
  int c;
  if (a->k == V_STR && b->k == V_STR) c = strcmp(a->s, b->s);
  else {
    double x = want_num(l, a, "comparison operand", off), y = want_num(l, b, "comparison operand", off);
    if (x != x || y != y) return l->vfalse;
    c = x < y ? -1 : x > y ? 1 : 0;
  }
  switch (op) {
  case CMP_LT: return v_bool(l, c < 0);
  case CMP_LE: return v_bool(l, c <= 0);
  case CMP_GT: return v_bool(l, c > 0);
  default: return v_bool(l, c >= 0);
  }
}

static Value *unary_builtin(L *l, Value *self, Args *a, const char *fname, Op op) {
  Value *v[1];
  args_bind(l, fname, "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], fname, a->off);
  if (ir_shape_rules[op] && (op == OP_EXP || op == OP_LOG || op == OP_SQRT || op == OP_RSQRT ||
                             op == OP_SIGMOID || op == OP_TANH || op == OP_SIN || op == OP_COS))
    x = cast(l, x, dt_is_float(tdtype(l, x)) ? tdtype(l, x) : DT_F32, a->off);
  return op1(l, op, x, NULL, a->off, NULL);
}

#define UNARY(fn, OPC) \
  B(fn) { return unary_builtin(l, self, a, #fn, OPC); }
UNARY(exp, OP_EXP)
UNARY(log, OP_LOG)
UNARY(sqrt, OP_SQRT)
UNARY(rsqrt, OP_RSQRT)
UNARY(abs, OP_ABS)
UNARY(neg, OP_NEG)
UNARY(relu, OP_RELU)
UNARY(sigmoid, OP_SIGMOID)
UNARY(tanh, OP_TANH)
UNARY(sin, OP_SIN)
UNARY(cos, OP_COS)

B(square) {
  Value *v[1];
  args_bind(l, "square", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "square", a->off);
  return ew2(l, OP_POW, x, v_int(l, 2), a->off, "PowBackward0");
}

B(gelu) {
  Value *v[2];
  args_bind(l, "gelu", "input, approximate='none'", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "gelu", a->off);
  const char *ap = v[1] && v[1]->k == V_STR ? v[1]->s : "none";
  if (strcmp(ap, "none") && strcmp(ap, "tanh"))
    lerr(l, a->off, "gelu(): approximate must be 'none' or 'tanh', got '%s'", ap);
  return op1(l, strcmp(ap, "tanh") ? OP_GELU : OP_GELU_TANH, x, NULL, a->off, NULL);
}

static Value *binary_builtin(L *l, Value *self, Args *a, const char *fname, int binop) {
  Value *v[2];
  args_bind(l, fname, "input, other", self, a, v, 2);
  if (!v[0] || !v[1]) lerr(l, a->off, "%s(): arguments must not be None", fname);
  return bi_binop(l, binop, v[0], v[1], a->off);
}

B(add) {
  Value *v[3];
  args_bind(l, "add", "input, other, alpha=1", self, a, v, 3);
  Value *o = v[1];
  if (v[2] && !(v[2]->k == V_INT && v[2]->i == 1)) o = bi_binop(l, BIN_MUL, o, v[2], a->off);
  return bi_binop(l, BIN_ADD, v[0], o, a->off);
}
B(sub) {
  Value *v[3];
  args_bind(l, "sub", "input, other, alpha=1", self, a, v, 3);
  Value *o = v[1];
  if (v[2] && !(v[2]->k == V_INT && v[2]->i == 1)) o = bi_binop(l, BIN_MUL, o, v[2], a->off);
  return bi_binop(l, BIN_SUB, v[0], o, a->off);
}
B(mul) { return binary_builtin(l, self, a, "mul", BIN_MUL); }
B(div) { return binary_builtin(l, self, a, "div", BIN_DIV); }
B(pow) {
  Value *v[2];
  args_bind(l, "pow", "input, exponent", self, a, v, 2);
  return bi_binop(l, BIN_POW, v[0], v[1], a->off);
}
B(matmul) { return binary_builtin(l, self, a, "matmul", BIN_MATMUL); }
B(mm) {
  Value *v[2];
  args_bind(l, "mm", "input, mat2", self, a, v, 2);
  if (tshape(l, want_tensor(l, v[0], "mm", a->off)).rank != 2 || tshape(l, want_tensor(l, v[1], "mm", a->off)).rank != 2)
    lerr(l, a->off, "mm(): both arguments must be 2-D matrices");
  return bi_binop(l, BIN_MATMUL, v[0], v[1], a->off);
}
B(bmm) {
  Value *v[2];
  args_bind(l, "bmm", "input, mat2", self, a, v, 2);
  if (tshape(l, want_tensor(l, v[0], "bmm", a->off)).rank != 3 || tshape(l, want_tensor(l, v[1], "bmm", a->off)).rank != 3)
    lerr(l, a->off, "bmm(): both arguments must be 3-D tensors");
  return bi_binop(l, BIN_MATMUL, v[0], v[1], a->off);
}

static Value *minmax2(L *l, Value *x, Value *y, Op op, int32_t off) {
  return ew2(l, op, x, y, off, NULL);
}
B(maximum) {
  Value *v[2];
  args_bind(l, "maximum", "input, other", self, a, v, 2);
  return minmax2(l, want_tensor(l, v[0], "maximum", a->off), want_tensor(l, v[1], "maximum", a->off), OP_MAXIMUM, a->off);
}
B(minimum) {
  Value *v[2];
  args_bind(l, "minimum", "input, other", self, a, v, 2);
  return minmax2(l, want_tensor(l, v[0], "minimum", a->off), want_tensor(l, v[1], "minimum", a->off), OP_MINIMUM, a->off);
}
B(clamp) {
  Value *v[3];
  args_bind(l, "clamp", "input, min=None, max=None", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "clamp", a->off);
  if (!v[1] && !v[2]) lerr(l, a->off, "clamp(): at least one of 'min' or 'max' must not be None");
  /* where(x < lo, lo, x): the gradient passes at the bounds, as PyTorch's clamp */
  Value *ops[3] = {x, NULL, NULL};
  int nops = 1;
  if (v[1]) ops[nops++] = v[1];
  if (v[2]) ops[nops++] = v[2];
  DType dt = result_type(l, ops, nops, a->off);
  x = cast(l, x, dt, a->off);
  for (int k = 1; k <= 2; k++) {
    if (!v[k]) continue;
    Value *bound = to_tensor_dt(l, v[k], dt, a->off);
    Value *c = ew2(l, k == 1 ? OP_LT : OP_GT, x, bound, a->off, NULL);
    int32_t in[3] = {tnode(l, c), tnode(l, bound), tnode(l, x)};
    Value *ins[2] = {x, bound};
    x = result(l, add_node(l, OP_WHERE, in, 3, NULL, a->off), ins, 2, "ClampBackward1");
  }
  return x;
}

B(where) {
  Value *v[3];
  args_bind(l, "where", "condition, input, other", self, a, v, 3);
  Value *c = want_tensor(l, v[0], "where", a->off);
  if (tdtype(l, c) != DT_BOOL) lerr(l, a->off, "where(): condition must be a bool tensor, got %s", dt_torch(tdtype(l, c)));
  Value *ops[2] = {v[1], v[2]};
  DType dt = result_type(l, ops, 2, a->off);
  Value *x = to_tensor_dt(l, v[1], dt, a->off), *y = to_tensor_dt(l, v[2], dt, a->off);
  int32_t in[3] = {tnode(l, c), tnode(l, x), tnode(l, y)};
  int id = add_node(l, OP_WHERE, in, 3, NULL, a->off);
  return result(l, id, ops, 2, NULL);
}

/* ---- reductions -------------------------------------------------------------------- */

/* The dims bitmask for dim=None (all), an int, or a tuple/list of ints. */
static int64_t dims_mask(L *l, Value *dim, int rank, int32_t off) {
  if (!dim) return rank ? (int64_t)((1u << rank) - 1) : 0;
  if (dim->k == V_LIST || dim->k == V_TUPLE) {
    int64_t m = 0;
    for (int i = 0; i < dim->n; i++) {
      int d = normdim(l, want_int(l, dim->items[i], "dim", off), rank, off);
      if (m & (1LL << d)) lerr(l, off, "dim %d appears multiple times in the list of dims", d);
      m |= 1LL << d;
    }
    return m;
  }
  return 1LL << normdim(l, want_int(l, dim, "dim", off), rank, off);
}

static Value *reduce(L *l, Op op, Value *x, Value *dim, bool keepdim, int32_t off, const char *gradfn) {
  Shape s = tshape(l, x);
  int64_t mask = dims_mask(l, dim, s.rank, off);
  if (s.rank == 0 || mask == 0) return x;
  if (op == OP_MEAN && s.sym >= 0 && (mask & (1LL << s.sym))) {
    /* a mean over the batch: the sum divided by the run-time batch size times the rest */
    Value *sum = reduce(l, OP_SUM, x, dim, keepdim, off, NULL);
    double count = 1;
    for (int i = 0; i < s.rank; i++)
      if ((mask & (1LL << i)) && i != s.sym) count *= (double)s.d[i];
    DType dt = tdtype(l, x);
    Graph *g = cur_graph(l);
    Value *bs = mk_tensor(l, ir_add_source(g, OP_BATCH, dt, shape_scalar(), NULL, (Loc){off}));
    if (count != 1) bs = ew2(l, OP_MUL, bs, v_float(l, count), off, NULL);
    Value *r = ew2(l, OP_DIV, sum, bs, off, NULL);
    if (r->t.requires_grad) r->t.gradfn = gradfn;
    return r;
  }
  Attr at = {0};
  at.i[0] = mask;
  at.i[1] = keepdim;
  return op1(l, op, x, &at, off, gradfn);
}

B(sum) {
  Value *v[4];
  args_bind(l, "sum", "input, dim=None, keepdim=False, dtype=None", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "sum", a->off);
  DType dt = tdtype(l, x);
  if (v[3]) x = cast(l, x, want_dtype(l, v[3], a->off), a->off);
  else if (dt == DT_BOOL || dt == DT_I32 || dt == DT_I8) x = cast(l, x, DT_I64, a->off);
  return reduce(l, OP_SUM, x, v[1], want_bool(l, v[2], a->off), a->off, v[1] ? "SumBackward1" : "SumBackward0");
}

B(mean) {
  Value *v[4];
  args_bind(l, "mean", "input, dim=None, keepdim=False, dtype=None", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "mean", a->off);
  if (v[3]) x = cast(l, x, want_dtype(l, v[3], a->off), a->off);
  if (!dt_is_float(tdtype(l, x)))
    lerr(l, a->off, "mean(): could not infer output dtype. Input dtype must be either a floating "
                    "point or complex dtype. Got: %s", dt_torch(tdtype(l, x)) + 6);
  return reduce(l, OP_MEAN, x, v[1], want_bool(l, v[2], a->off), a->off, v[1] ? "MeanBackward1" : "MeanBackward0");
}

static Value *argreduce(L *l, Op op, Value *x, Value *dim, bool keepdim, int32_t off) {
  Shape s = tshape(l, x);
  Attr at = {0};
  if (dim) {
    at.i[0] = 1LL << normdim(l, want_int(l, dim, "dim", off), s.rank, off);
    at.i[1] = keepdim;
  }
  if (s.rank == 0) {
    at.i[0] = 0;
    at.i[1] = 0;
  }
  return op1(l, op, x, &at, off, NULL);
}

B(argmax) {
  Value *v[3];
  args_bind(l, "argmax", "input, dim=None, keepdim=False", self, a, v, 3);
  return argreduce(l, OP_ARGMAX, want_tensor(l, v[0], "argmax", a->off), v[1], want_bool(l, v[2], a->off), a->off);
}
B(argmin) {
  Value *v[3];
  args_bind(l, "argmin", "input, dim=None, keepdim=False", self, a, v, 3);
  return argreduce(l, OP_ARGMIN, want_tensor(l, v[0], "argmin", a->off), v[1], want_bool(l, v[2], a->off), a->off);
}

/* max(x), max(x, dim, keepdim) -> (values, indices), max(x, other) */
static Value *maxmin(L *l, Value *self, Args *a, bool ismax) {
  const char *fname = ismax ? "max" : "min";
  Value *v[3];
  args_bind(l, fname, "input, dim=None, keepdim=False", self, a, v, 3);
  Value *x = want_tensor(l, v[0], fname, a->off);
  if (v[1] && v[1]->k == V_TENSOR) return minmax2(l, x, v[1], ismax ? OP_MAXIMUM : OP_MINIMUM, a->off);
  if (!v[1]) return reduce(l, ismax ? OP_MAX : OP_MIN, x, NULL, false, a->off, ismax ? "MaxBackward1" : "MinBackward1");
  bool kd = want_bool(l, v[2], a->off);
  Value *vals = reduce(l, ismax ? OP_MAX : OP_MIN, x, v[1], kd, a->off, ismax ? "MaxBackward0" : "MinBackward0");
  Value *idx = argreduce(l, ismax ? OP_ARGMAX : OP_ARGMIN, x, v[1], kd, a->off);
  Value *r = v_tuple(l, 2);
  r->s = ismax ? "max" : "min";
  r->items[0] = vals;
  r->items[1] = idx;
  return r;
}
B(max) { return maxmin(l, self, a, true); }
B(min) { return maxmin(l, self, a, false); }

static Value *softmax_like(L *l, Value *self, Args *a, Op op, const char *fname) {
  Value *v[3];
  args_bind(l, fname, "input, dim=None, dtype=None", self, a, v, 3);
  Value *x = want_tensor(l, v[0], fname, a->off);
  if (v[2]) x = cast(l, x, want_dtype(l, v[2], a->off), a->off);
  if (!dt_is_float(tdtype(l, x))) lerr(l, a->off, "%s(): expected a floating point tensor", fname);
  int rank = tshape(l, x).rank;
  /* PyTorch's legacy rule when dim is omitted (with a deprecation warning) */
  int64_t d = v[1] ? want_int(l, v[1], "dim", a->off) : (rank == 0 || rank == 1 || rank == 3) ? 0 : 1;
  Attr at = {0};
  at.i[0] = normdim(l, d, rank, a->off);
  return op1(l, op, x, &at, a->off, NULL);
}
B(softmax) { return softmax_like(l, self, a, OP_SOFTMAX, "softmax"); }
B(log_softmax) { return softmax_like(l, self, a, OP_LOG_SOFTMAX, "log_softmax"); }

/* ---- layout ------------------------------------------------------------------------ */

static Value *reshape_to(L *l, Value *x, Shape s, int32_t off, const char *gradfn) {
  Shape in = tshape(l, x);
  if (shape_eq(&in, &s)) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_RESHAPE, x, &at, off, gradfn);
}

/* "[5, -1]": a requested shape as PyTorch's error messages print it, -1 where inferred. */
static const char *requested_shape(const Shape *s, int infer, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < s->rank && k < n; i++) {
    int w = snprintf(buf + k, n - k, "%s%lld", i ? ", " : "[", (long long)(i == infer ? -1 : s->d[i]));
    k += w > 0 ? (size_t)w : 0;
  }
  if (k < n) snprintf(buf + k, n - k, "%s", s->rank ? "]" : "[]");
  return buf;
}

static Value *reshape_args(L *l, Value *x, Args *a, int first, const char *fname, const char *gradfn) {
  Shape in = tshape(l, x);
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (a->nkw == 1 && !strcmp(a->kwnames[0], "shape") && n == 0) items = &a->kw[0], n = 1;
  else if (a->nkw) lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, a->kwnames[0]);
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) {
    n = items[0]->n;
    items = items[0]->items;
  }
  if (n > TT_MAX_RANK) lerr(l, a->off, "%s(): at most %d dimensions", fname, TT_MAX_RANK);
  Shape s = {0};
  s.sym = -1;
  s.rank = n;
  int infer = -1;
  int64_t known = 1;
  if (in.sym >= 0) {
    /* a batch [B, ...] keeps B first: x.view(-1, 784), x.view(x.size(0), -1) */
    if (in.sym != 0 || n == 0)
      lerr(l, a->off, "%s(): the batch dimension must stay the first dimension", fname);
    bool first_batch = items[0]->k == V_HOST || (items[0]->k == V_INT && (items[0]->i == -1 || items[0]->i == in.d[0]));
    if (!first_batch)
      lerr(l, a->off, "%s(): the first dimension of a batch must stay the batch (use -1 or x.size(0))", fname);
    Shape rest = in, out = {0};
    rest.sym = -1;
    rest.d[0] = 1;
    int64_t per = shape_numel(&rest), k2 = 1;
    int inf2 = -1;
    out.rank = n;
    out.sym = 0;
    out.d[0] = in.d[0];
    for (int i = 1; i < n; i++) {
      int64_t d = want_int(l, items[i], "a dimension", a->off);
      if (d == -1) {
        if (inf2 >= 0) lerr(l, a->off, "only one dimension can be inferred");
        inf2 = i;
        continue;
      }
      if (d < 0) lerr(l, a->off, "invalid shape dimension %lld", (long long)d);
      out.d[i] = d;
      k2 = dim_mul(k2, d);
    }
    if (inf2 >= 0) {
      if (k2 == 0 || per % k2) lerr(l, a->off, "%s(): cannot infer a dimension: %lld elements per sample", fname, (long long)per);
      out.d[inf2] = per / k2;
      k2 *= out.d[inf2];
    }
    if (k2 != per) {
      char b1[64], b2[64];
      lerr(l, a->off, "shape '%s' is invalid for a batch of shape %s", shape_str(&out, b1, sizeof b1), shape_str(&in, b2, sizeof b2));
    }
    return reshape_to(l, x, out, a->off, gradfn);
  }
  for (int i = 0; i < n; i++) {
    int64_t d = want_int(l, items[i], "a dimension", a->off);
    if (d == -1) {
      if (infer >= 0) lerr(l, a->off, "only one dimension can be inferred");
      infer = i;
      continue;
    }
    if (d < 0) lerr(l, a->off, "invalid shape dimension %lld", (long long)d);
    s.d[i] = d;
    known = dim_mul(known, d);
  }
  int64_t numel = shape_numel(&in);
  if (infer >= 0) {
    if (known == 0 || numel % known) {
      char b1[200];
      lerr(l, a->off, "shape '%s' is invalid for input of size %lld", requested_shape(&s, infer, b1, sizeof b1), (long long)numel);
    }
    s.d[infer] = numel / known;
  }
  if (shape_numel(&s) != numel) {
    char b1[200];
    lerr(l, a->off, "shape '%s' is invalid for input of size %lld", requested_shape(&s, infer, b1, sizeof b1), (long long)numel);
  }
  return reshape_to(l, x, s, a->off, gradfn);
}

B(reshape) {
  UNUSED(self);
  Value *x = self ? self : (a->npos ? a->pos[0] : NULL);
  return reshape_args(l, want_tensor(l, x, "reshape", a->off), a, self ? 0 : 1, "reshape", "ViewBackward0");
}
B(view) {
  if (!self) lerr(l, a->off, "view() is a tensor method: x.view(...)");
  if (a->npos == 1 && a->pos[0]->k == V_DTYPE) lerr(l, a->off, "view(dtype) is not supported");
  return reshape_args(l, self, a, 0, "view", "ViewBackward0");
}

B(flatten) {
  Value *v[3];
  args_bind(l, "flatten", "input, start_dim=0, end_dim=-1", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "flatten", a->off);
  Shape in = tshape(l, x);
  if (in.rank == 0) return reshape_to(l, x, (Shape){.rank = 1, .sym = -1, .d = {1}}, a->off, "ViewBackward0");
  int s0 = normdim(l, want_int(l, v[1], "start_dim", a->off), in.rank, a->off);
  int s1 = normdim(l, want_int(l, v[2], "end_dim", a->off), in.rank, a->off);
  if (s0 > s1) lerr(l, a->off, "flatten() has invalid args: start_dim cannot come after end_dim");
  if (in.sym >= 0 && s0 <= in.sym && in.sym <= s1 && s0 != s1)
    lerr(l, a->off, "flatten(): cannot merge the batch dimension with others (use flatten(1))");
  Shape s = {0};
  s.sym = in.sym >= 0 && in.sym < s0 ? in.sym : -1;
  for (int i = 0; i < s0; i++) s.d[s.rank++] = in.d[i];
  int64_t m = 1;
  for (int i = s0; i <= s1; i++) m *= in.d[i];
  s.d[s.rank++] = m;
  for (int i = s1 + 1; i < in.rank; i++) s.d[s.rank++] = in.d[i];
  return reshape_to(l, x, s, a->off, "ViewBackward0");
}

B(unsqueeze) {
  Value *v[2];
  args_bind(l, "unsqueeze", "input, dim", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "unsqueeze", a->off);
  Shape in = tshape(l, x);
  if (in.rank >= TT_MAX_RANK) lerr(l, a->off, "unsqueeze(): too many dimensions");
  int d = normdim(l, want_int(l, v[1], "dim", a->off), in.rank + 1, a->off);
  Shape s = in;
  s.rank = in.rank + 1;
  for (int i = in.rank; i > d; i--) s.d[i] = in.d[i - 1];
  s.d[d] = 1;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_RESHAPE, x, &at, a->off, "UnsqueezeBackward0");
}

B(squeeze) {
  Value *v[2];
  args_bind(l, "squeeze", "input, dim=None", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "squeeze", a->off);
  Shape in = tshape(l, x), s = {0};
  s.sym = -1;
  int64_t mask = v[1] ? dims_mask(l, v[1], in.rank, a->off) : -1;
  for (int i = 0; i < in.rank; i++)
    if (!(in.d[i] == 1 && (mask & (1LL << i)))) s.d[s.rank++] = in.d[i];
  if (s.rank == in.rank) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_RESHAPE, x, &at, a->off, v[1] ? "SqueezeBackward1" : "SqueezeBackward0");
}

static Value *permute_to(L *l, Value *x, const int64_t *perm, int rank, int32_t off, const char *gradfn) {
  bool ident = true;
  for (int i = 0; i < rank; i++) ident &= perm[i] == i;
  if (ident) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), perm, rank);
  at.nints = rank;
  return op1(l, OP_PERMUTE, x, &at, off, gradfn);
}

B(permute) {
  Value *x = self ? self : (a->npos ? a->pos[0] : NULL);
  x = want_tensor(l, x, "permute", a->off);
  int first = self ? 0 : 1;
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (a->nkw == 1 && !strcmp(a->kwnames[0], "dims") && n == 0) items = &a->kw[0], n = 1;
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) n = items[0]->n, items = items[0]->items;
  int rank = tshape(l, x).rank;
  if (n != rank) lerr(l, a->off, "permute(): number of dims don't match in permute (got %d for a %d-d tensor)", n, rank);
  int64_t perm[TT_MAX_RANK];
  int64_t seen = 0;
  for (int i = 0; i < n; i++) {
    perm[i] = normdim(l, want_int(l, items[i], "dim", a->off), rank, a->off);
    if (seen & (1LL << perm[i])) lerr(l, a->off, "permute(): repeated dim");
    seen |= 1LL << perm[i];
  }
  return permute_to(l, x, perm, rank, a->off, "PermuteBackward0");
}

B(transpose) {
  Value *v[3];
  args_bind(l, "transpose", "input, dim0, dim1", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "transpose", a->off);
  int rank = tshape(l, x).rank;
  int d0 = normdim(l, want_int(l, v[1], "dim0", a->off), rank, a->off);
  int d1 = normdim(l, want_int(l, v[2], "dim1", a->off), rank, a->off);
  int64_t perm[TT_MAX_RANK];
  for (int i = 0; i < rank; i++) perm[i] = i;
  perm[d0] = d1;
  perm[d1] = d0;
  if (rank == 0) return x;
  return permute_to(l, x, perm, rank, a->off, "TransposeBackward0");
}

B(t) {
  Value *v[1];
  args_bind(l, "t", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "t", a->off);
  int rank = tshape(l, x).rank;
  if (rank > 2) lerr(l, a->off, "t() expects a tensor with <= 2 dimensions, but self is %dD", rank);
  if (rank < 2) return x;
  int64_t perm[2] = {1, 0};
  return permute_to(l, x, perm, 2, a->off, "TBackward0");
}

B(expand) {
  Value *x = want_tensor(l, self ? self : (a->npos ? a->pos[0] : NULL), "expand", a->off);
  int first = self ? 0 : 1;
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) n = items[0]->n, items = items[0]->items;
  Shape in = tshape(l, x), s = {0};
  s.sym = -1;
  if (n < in.rank) lerr(l, a->off, "expand(): the number of sizes provided (%d) must be greater or equal to the number of dimensions in the tensor (%d)", n, in.rank);
  if (n > TT_MAX_RANK) lerr(l, a->off, "expand(): too many dimensions");
  s.rank = n;
  for (int i = 0; i < n; i++) {
    int64_t d = want_int(l, items[i], "size", a->off);
    int j = i - (n - in.rank);
    if (d == -1) {
      if (j < 0) lerr(l, a->off, "expand(): -1 is not allowed in a leading, non-existing dimension");
      d = in.d[j];
    }
    s.d[i] = d;
  }
  if (shape_eq(&in, &s)) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_EXPAND, x, &at, a->off, NULL);
}

static Value *cat_list(L *l, Value *list, int64_t dim, int32_t off, const char *fname, bool stack) {
  if (!list || (list->k != V_LIST && list->k != V_TUPLE))
    lerr(l, off, "%s(): expected a list or tuple of tensors", fname);
  if (list->n == 0) lerr(l, off, "%s(): expected a non-empty list of Tensors", fname);
  DType dt = DT_BOOL;
  for (int i = 0; i < list->n; i++) {
    want_tensor(l, list->items[i], fname, off);
    dt = i ? dmax(dt, tdtype(l, list->items[i])) : tdtype(l, list->items[i]);
  }
  int32_t *in = arena_alloc(l->arena, sizeof(int32_t) * (size_t)list->n);
  Value **ins = arena_alloc(l->arena, sizeof(Value *) * (size_t)list->n);
  Shape s0 = tshape(l, list->items[0]);
  int rank = stack ? s0.rank + 1 : s0.rank;
  int d = normdim(l, dim, rank, off);
  for (int i = 0; i < list->n; i++) {
    Value *x = cast(l, list->items[i], dt, off);
    if (stack) {
      Shape si = tshape(l, x);
      if (!shape_eq(&si, &s0)) {
        char b1[64], b2[64];
        lerr(l, off, "stack expects each tensor to be equal size, but got %s at entry 0 and %s at entry %d",
             shape_str(&s0, b1, sizeof b1), shape_str(&si, b2, sizeof b2), i);
      }
      Shape s = si;
      s.rank = si.rank + 1;
      for (int k = si.rank; k > d; k--) s.d[k] = si.d[k - 1];
      s.d[d] = 1;
      x = reshape_to(l, x, s, off, "UnsqueezeBackward0");
    }
    ins[i] = x;
    in[i] = tnode(l, x);
  }
  if (rank == 0) lerr(l, off, "zero-dimensional tensor cannot be concatenated");
  Attr at = {0};
  at.i[0] = d;
  int id = add_node(l, OP_CAT, in, list->n, &at, off);
  return result(l, id, ins, list->n, stack ? "StackBackward0" : "CatBackward0");
}

B(cat) {
  Value *v[2];
  args_bind(l, "cat", "tensors, dim=0", self, a, v, 2);
  return cat_list(l, v[0], want_int(l, v[1], "dim", a->off), a->off, "cat", false);
}
B(stack) {
  Value *v[2];
  args_bind(l, "stack", "tensors, dim=0", self, a, v, 2);
  return cat_list(l, v[0], want_int(l, v[1], "dim", a->off), a->off, "stack", true);
}

/* ---- indexing ---------------------------------------------------------------------- */

static Value *host_index(L *l, Value *obj, Value *iv, int32_t off) {
  if (obj->k == V_DICT) {
    for (int i = 0; i + 1 < obj->n; i += 2)
      if (host_eq(l, obj->items[i], iv, off)) return obj->items[i + 1];
    lerr(l, off, "KeyError: %s", v_str_of(l, iv, true, off));
  }
  if (obj->k == V_OBJECT && obj->cls && obj->cls->s && !strcmp(obj->cls->s, "Checkpoint"))
    return checkpoint_index(l, obj, iv, off);
  if (obj->k == V_OBJECT) {
    Value *items = attrs_get(&obj->attrs, "__items__");
    if (!items) lerr(l, off, "'%s' object is not subscriptable", v_typename(obj));
    obj = items;
  }
  int64_t n = obj->k == V_STR ? (int64_t)strlen(obj->s) : obj->n;
  if (iv->k != V_INT && iv->k != V_BOOL)
    lerr(l, off, "%s indices must be integers or slices, not %s", v_typename(obj), v_typename(iv));
  int64_t i = iv->i < 0 ? iv->i + n : iv->i;
  if (i < 0 || i >= n) lerr(l, off, "%s index out of range", v_typename(obj));
  if (obj->k == V_STR) return v_str(l, arena_strndup(l->arena, obj->s + i, 1));
  return obj->items[i];
}

/* Python's slice.indices(n) for step > 0 (PyTorch rejects negative steps). */
static void slice_bounds(L *l, Value *lo, Value *hi, Value *st, int64_t n, int64_t *s, int64_t *e,
                         int64_t *step, int32_t off, bool tensor) {
  *step = st ? want_int(l, st, "slice step", off) : 1;
  if (*step == 0) lerr(l, off, "slice step cannot be zero");
  if (*step < 0 && tensor) lerr(l, off, "step must be greater than zero");
  if (*step < 0) lerr(l, off, "negative slice steps are not supported");
  int64_t a = lo ? want_int(l, lo, "slice start", off) : 0;
  int64_t b = hi ? want_int(l, hi, "slice stop", off) : n;
  if (a < 0) a += n;
  if (b < 0) b += n;
  if (a < 0) a = 0;
  if (a > n) a = n;
  if (b < a) b = a;
  if (b > n) b = n;
  *s = a;
  *e = b;
}

Value *bi_index(L *l, Value *obj, IndexItem *items, int n, bool tuple, int32_t off) {
  if (obj->k != V_TENSOR) {
    if (tuple) {
      Value *key = v_tuple(l, n);
      for (int i = 0; i < n; i++) {
        if (items[i].kind != IX_VALUE) lerr(l, items[i].off, "'%s' object cannot be sliced this way", v_typename(obj));
        key->items[i] = items[i].v;
      }
      return host_index(l, obj, key, off);
    }
    if (items[0].kind == IX_SLICE) {
      Value *src = obj;
      if (src->k == V_OBJECT) src = attrs_get(&src->attrs, "__items__");
      if (!src || (src->k != V_LIST && src->k != V_TUPLE && src->k != V_STR))
        lerr(l, off, "'%s' object cannot be sliced", v_typename(obj));
      int64_t len = src->k == V_STR ? (int64_t)strlen(src->s) : src->n;
      int64_t s, e, st;
      slice_bounds(l, items[0].lo, items[0].hi, items[0].st, len, &s, &e, &st, off, false);
      if (src->k == V_STR) {
        char *buf = arena_alloc(l->arena, (size_t)len + 1);
        int o = 0;
        for (int64_t i = s; i < e; i += st) buf[o++] = src->s[i];
        return v_str(l, buf);
      }
      Value *r = v_new(l, src->k);
      for (int64_t i = s; i < e; i += st) v_list_push(l, r, src->items[i]);
      if (obj->k == V_OBJECT) { /* ModuleList[a:b] is a ModuleList */
        Value *o2 = v_new(l, V_OBJECT);
        o2->cls = obj->cls;
        attrs_set(l, &o2->attrs, "__items__", r);
        return o2;
      }
      return r;
    }
    if (items[0].kind != IX_VALUE) lerr(l, off, "'%s' object cannot be indexed with '...'", v_typename(obj));
    return host_index(l, obj, items[0].v, off);
  }
  /* tensor indexing: ints select, slices narrow, None inserts, ... expands */
  Shape in = tshape(l, obj);
  int consumed = 0, ell = -1;
  for (int i = 0; i < n; i++) {
    if (items[i].kind == IX_ELLIPSIS) {
      if (ell >= 0) lerr(l, items[i].off, "an index can only have a single ellipsis ('...')");
      ell = i;
    } else if (!(items[i].kind == IX_VALUE && items[i].v->k == V_NONE))
      consumed++;
  }
  if (consumed > in.rank) lerr(l, off, "too many indices for tensor of dimension %d", in.rank);
  int64_t trip[TT_MAX_RANK * 3];
  Shape out = {0};
  out.sym = -1;
  bool need_slice = false, anyint = false;
  int dim = 0;
  for (int i = 0; i < n; i++) {
    IndexItem *it = &items[i];
    if (it->kind == IX_ELLIPSIS) {
      int skip = in.rank - consumed;
      for (int k = 0; k < skip; k++, dim++) {
        trip[dim * 3] = 0, trip[dim * 3 + 1] = in.d[dim], trip[dim * 3 + 2] = 1;
        if (out.rank >= TT_MAX_RANK) lerr(l, it->off, "too many dimensions");
        out.d[out.rank++] = in.d[dim];
      }
      continue;
    }
    if (it->kind == IX_VALUE && it->v->k == V_NONE) {
      if (out.rank >= TT_MAX_RANK) lerr(l, it->off, "too many dimensions");
      out.d[out.rank++] = 1;
      continue;
    }
    if (it->kind == IX_SLICE) {
      int64_t s, e, st;
      slice_bounds(l, it->lo, it->hi, it->st, in.d[dim], &s, &e, &st, it->off, true);
      trip[dim * 3] = s, trip[dim * 3 + 1] = e, trip[dim * 3 + 2] = st;
      int64_t len = e > s ? (e - s + st - 1) / st : 0;
      if (s != 0 || e != in.d[dim] || st != 1) need_slice = true;
      if (out.rank >= TT_MAX_RANK) lerr(l, it->off, "too many dimensions");
      out.d[out.rank++] = len;
      dim++;
      continue;
    }
    if (it->v->k == V_TENSOR || it->v->k == V_LIST)
      lerr(l, it->off, "indexing with a tensor or list (advanced indexing) is not supported yet");
    int64_t k = want_int(l, it->v, "an index", it->off);
    int64_t sz = in.d[dim];
    if (k < -sz || k >= sz)
      lerr(l, it->off, "index %lld is out of bounds for dimension %d with size %lld", (long long)k, dim,
           (long long)sz);
    if (k < 0) k += sz;
    trip[dim * 3] = k, trip[dim * 3 + 1] = k + 1, trip[dim * 3 + 2] = 1;
    need_slice = anyint = true;
    dim++;
  }
  for (; dim < in.rank; dim++) {
    trip[dim * 3] = 0, trip[dim * 3 + 1] = in.d[dim], trip[dim * 3 + 2] = 1;
    if (out.rank >= TT_MAX_RANK) lerr(l, off, "too many dimensions");
    out.d[out.rank++] = in.d[dim];
  }
  Value *x = obj;
  const char *gf = anyint ? "SelectBackward0" : "SliceBackward0";
  if (need_slice) {
    Attr at = {0};
    at.ints = ir_ints(cur_graph(l), trip, in.rank * 3);
    at.nints = in.rank * 3;
    x = op1(l, OP_SLICE, x, &at, off, gf);
  }
  Value *r = reshape_to(l, x, out, off, need_slice ? gf : "UnsqueezeBackward0");
  return r;
}

/* ---- casts, copies, properties ------------------------------------------------------ */

static Value *to_dtype(L *l, Value *self, Args *a, const char *fname, DType dt) {
  Value *v[1];
  args_bind(l, fname, "input", self, a, v, 1);
  return cast(l, want_tensor(l, v[0], fname, a->off), dt, a->off);
}
B(float) { return to_dtype(l, self, a, "float", DT_F32); }
B(double) { return to_dtype(l, self, a, "double", DT_F64); }
B(long) { return to_dtype(l, self, a, "long", DT_I64); }
B(int) { return to_dtype(l, self, a, "int", DT_I32); }
B(bool) { return to_dtype(l, self, a, "bool", DT_BOOL); }

B(to) {
  Value *x = want_tensor(l, self, "to", a->off);
  for (int i = 0; i < a->npos; i++) {
    if (a->pos[i]->k == V_DTYPE) x = cast(l, x, (DType)a->pos[i]->i, a->off);
    else if (a->pos[i]->k == V_STR && !strcmp(a->pos[i]->s, "cpu")) continue;
    else lerr(l, a->off, "to(): expected a dtype or 'cpu'");
  }
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "dtype")) x = cast(l, x, want_dtype(l, a->kw[k], a->off), a->off);
    else if (strcmp(a->kwnames[k], "device")) lerr(l, a->off, "to() got an unexpected keyword argument '%s'", a->kwnames[k]);
  }
  return x;
}

B(detach) {
  Value *v[1];
  args_bind(l, "detach", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "detach", a->off);
  int32_t in = tnode(l, x);
  Value *r = mk_tensor(l, add_node(l, OP_DETACH, &in, 1, NULL, a->off));
  r->t.leaf = true;
  return r;
}

B(clone) {
  Value *v[1];
  args_bind(l, "clone", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "clone", a->off);
  /* a copy: a reshape to the same shape is the cheapest node that is not the input */
  Shape s = tshape(l, x);
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  int32_t in = tnode(l, x);
  int id = add_node(l, OP_RESHAPE, &in, 1, &at, a->off);
  return result(l, id, &x, 1, "CloneBackward0");
}

B(contiguous) {
  UNUSED(l);
  UNUSED(a);
  return self;
}

B(requires_grad_) {
  Value *v[2];
  args_bind(l, "requires_grad_", "input, requires_grad=True", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "requires_grad_", a->off);
  bool rg = want_bool(l, v[1], a->off);
  if (!x->t.leaf && !rg) lerr(l, a->off, "you can only change requires_grad flags of leaf variables");
  if (rg && !x->t.requires_grad) {
    if (!x->t.leaf)
      return x; /* a non-leaf that requires grad already; PyTorch allows it as a no-op */
    make_leaf(l, x, true, a->off);
  }
  x->t.requires_grad = rg;
  return x;
}

/* The run-time extent of the current graph's batch dimension, as a host value. */
static Value *batch_size_value(L *l, int32_t off) {
  int ld = cur_graph(l)->loader >= 0 ? cur_graph(l)->loader : l->loader;
  if (ld < 0) lerr(l, off, "the size of the batch dimension is only known inside the loop over its loader");
  HostExpr *e = ir_hx(l->p, HX_BATCH);
  e->loader = ld;
  return v_host(l, e);
}

static Value *dim_size(L *l, Shape s, int i, int32_t off) {
  return i == s.sym ? batch_size_value(l, off) : v_int(l, s.d[i]);
}

static Value *size_tuple(L *l, Shape s) {
  Value *t = v_tuple(l, s.rank);
  t->s = "torch.Size";
  for (int i = 0; i < s.rank; i++) t->items[i] = dim_size(l, s, i, 0);
  return t;
}

B(size) {
  Value *v[2];
  args_bind(l, "size", "input, dim=None", self, a, v, 2);
  Shape s = tshape(l, want_tensor(l, v[0], "size", a->off));
  if (!v[1]) return size_tuple(l, s);
  return dim_size(l, s, normdim(l, want_int(l, v[1], "dim", a->off), s.rank, a->off), a->off);
}
B(dim) {
  Value *v[1];
  args_bind(l, "dim", "input", self, a, v, 1);
  return v_int(l, tshape(l, want_tensor(l, v[0], "dim", a->off)).rank);
}
B(numel) {
  Value *v[1];
  args_bind(l, "numel", "input", self, a, v, 1);
  Shape s = tshape(l, want_tensor(l, v[0], "numel", a->off));
  return v_int(l, shape_numel(&s));
}
B(item) {
  Value *v[1];
  args_bind(l, "item", "input", self, a, v, 1);
  return tensor_item(l, want_tensor(l, v[0], "item", a->off), a->off);
}

/* ---- modules ----------------------------------------------------------------------- */

Value *bi_module_new(L *l, const char *cls) {
  const Builtin *b = bi_lookup(cls, BI_CLASS);
  TT_ASSERT(b);
  Value *c = v_new(l, V_CLASS);
  c->bi = b;
  c->s = b->name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = c;
  return o;
}

#define module_new bi_module_new
/* A parameter: a program variable initialised by the graph that created it. */
Value *bi_make_param(L *l, Value *t, const char *name, int32_t off) {
  const Node *n = tn(l, t);
  int var = ir_var_new(l->p, name, VAR_PARAM, n->dtype, n->shape);
  l->p->vars[var].requires_grad = true;
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *p = v_new(l, V_TENSOR);
  p->t = t->t;
  p->t.var = var;
  p->t.graph = -1; /* uses read the variable, where autodiff finds the parameter */
  remember_leaf(l, var, p);
  p->t.leaf = p->t.param = p->t.requires_grad = true;
  p->t.gradfn = NULL;
  return p;
}

#define make_param bi_make_param
Value *bi_uniform_param(L *l, Shape s, DType dt, double bound, const char *name, int32_t off) {
  Attr at = {0};
  at.f[0] = -bound;
  at.f[1] = bound;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  Value *t = mk_tensor(l, ir_add_source(g, OP_UNIFORM, dt, s, &at, (Loc){off}));
  return make_param(l, t, name, off);
}

#define uniform_param bi_uniform_param
B(Parameter) {
  Value *v[2];
  args_bind(l, "Parameter", "data, requires_grad=True", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "Parameter", a->off);
  Value *p = make_param(l, x, "param", a->off);
  p->t.requires_grad = want_bool(l, v[1], a->off);
  l->p->vars[p->t.var].requires_grad = p->t.requires_grad;
  return p;
}

static Value *linear_forward(L *l, Value *m, Value *x, int32_t off) {
  Value *w = attrs_get(&m->attrs, "weight"), *b = attrs_get(&m->attrs, "bias");
  x = want_tensor(l, x, "Linear", off);
  Shape xs = tshape(l, x), ws = tshape(l, w);
  if (xs.rank == 0 || xs.d[xs.rank - 1] != ws.d[1]) {
    char b1[64], b2[64];
    Shape wt = ws;
    wt.d[0] = ws.d[1], wt.d[1] = ws.d[0];
    lerr(l, off, "Linear: input %s @ weight^T %s: inner dimensions %lld and %lld differ (in_features=%lld)",
         shape_str(&xs, b1, sizeof b1), shape_str(&wt, b2, sizeof b2),
         (long long)(xs.rank ? xs.d[xs.rank - 1] : 0), (long long)ws.d[1], (long long)ws.d[1]);
  }
  Value *ops[3] = {x, w, b && b->k == V_TENSOR ? b : NULL};
  DType dt = tdtype(l, w);
  if (tdtype(l, x) != dt)
    lerr(l, off, "mat1 and mat2 must have the same dtype (input is %s, weight is %s)", dt_torch(tdtype(l, x)), dt_torch(dt));
  Attr at = {0};
  at.i[0] = 1; /* weight is [out, in]: multiply by its transpose */
  int32_t in[2] = {tnode(l, x), tnode(l, w)};
  int id = add_node(l, OP_MATMUL, in, 2, &at, off);
  Value *y = result(l, id, ops, 2, xs.rank == 2 ? "MmBackward0" : "UnsafeViewBackward0");
  if (ops[2]) {
    int32_t in2[2] = {tnode(l, y), tnode(l, ops[2])};
    int id2 = add_node(l, OP_ADD, in2, 2, NULL, off);
    y = result(l, id2, ops, 3, xs.rank == 2 ? "AddmmBackward0" : xs.rank == 1 ? "AddBackward0" : "ViewBackward0");
  } else if (xs.rank == 1 && y->t.requires_grad) {
    y->t.gradfn = "SqueezeBackward3"; /* PyTorch's mv of a 1-D input */
  }
  return y;
}

/* A builtin module class: called with self == NULL it constructs, with self the object
 * it runs forward. */
B(Linear) {
  if (self) {
    Value *v[1];
    args_bind(l, "Linear.forward", "input", NULL, a, v, 1);
    return linear_forward(l, self, v[0], a->off);
  }
  Value *v[5];
  args_bind(l, "Linear", "in_features, out_features, bias=True, device=None, dtype=None", NULL, a, v, 5);
  DType pdt = v[4] ? want_dtype(l, v[4], a->off) : DT_F32;
  if (!dt_is_float(pdt)) lerr(l, a->off, "Linear(): dtype must be a floating point type");
  int64_t in = want_int(l, v[0], "in_features", a->off), out = want_int(l, v[1], "out_features", a->off);
  if (in < 0 || out < 0 || (double)in * (double)out > 1e9)
    lerr(l, a->off, "Linear(%lld, %lld): invalid size", (long long)in, (long long)out);
  Value *m = module_new(l, "Linear");
  attrs_set(l, &m->attrs, "in_features", v_int(l, in));
  attrs_set(l, &m->attrs, "out_features", v_int(l, out));
  /* kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); the bias uses the same bound */
  double bound = in > 0 ? 1.0 / sqrt((double)in) : 0;
  attrs_set(l, &m->attrs, "weight", uniform_param(l, (Shape){.rank = 2, .sym = -1, .d = {out, in}}, pdt, bound, "weight", a->off));
  if (want_bool(l, v[2], a->off))
    attrs_set(l, &m->attrs, "bias", uniform_param(l, (Shape){.rank = 1, .sym = -1, .d = {out}}, pdt, bound, "bias", a->off));
  else
    attrs_set(l, &m->attrs, "bias", l->none);
  return m;
}

/* Activation modules: construct with their options, forward calls the function. */
static Value *act_module(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn, const char *sig) {
  if (self) {
    Value *v[1];
    args_bind(l, cls, "input", NULL, a, v, 1);
    Args fa = {0};
    Value *pos[1] = {v[0]};
    fa.pos = pos;
    fa.npos = 1;
    fa.off = a->off;
    Value *opt = attrs_get(&self->attrs, "__opt__");
    const char *kwn[1] = {sig};
    Value *kwv[1] = {opt};
    if (opt && sig) fa.kwnames = kwn, fa.kw = kwv, fa.nkw = 1;
    return fn(l, NULL, &fa);
  }
  Value *m = module_new(l, cls);
  if (sig) {
    Value *v[1];
    char full[64];
    snprintf(full, sizeof full, "%s=None", sig);
    args_bind(l, cls, full, NULL, a, v, 1);
    if (v[0]) attrs_set(l, &m->attrs, "__opt__", v[0]);
  } else if (a->npos || a->nkw) {
    Value *v[1];
    args_bind(l, cls, "inplace=False", NULL, a, v, 1);
  }
  return m;
}
B(ReLU) { return act_module(l, self, a, "ReLU", bi_relu, NULL); }
B(Sigmoid) { return act_module(l, self, a, "Sigmoid", bi_sigmoid, NULL); }
B(Tanh) { return act_module(l, self, a, "Tanh", bi_tanh, NULL); }
B(GELU) { return act_module(l, self, a, "GELU", bi_gelu, "approximate"); }
B(Softmax) { return act_module(l, self, a, "Softmax", bi_softmax, "dim"); }
B(LogSoftmax) { return act_module(l, self, a, "LogSoftmax", bi_log_softmax, "dim"); }

B(Identity) {
  if (self) return a->npos ? a->pos[0] : l->none;
  return module_new(l, "Identity");
}

B(Flatten) {
  if (self) {
    Value *v[1];
    args_bind(l, "Flatten", "input", NULL, a, v, 1);
    Value *pos[3] = {v[0], attrs_get(&self->attrs, "start_dim"), attrs_get(&self->attrs, "end_dim")};
    Args fa = {.pos = pos, .npos = 3, .off = a->off};
    return bi_flatten(l, NULL, &fa);
  }
  Value *v[2];
  args_bind(l, "Flatten", "start_dim=1, end_dim=-1", NULL, a, v, 2);
  Value *m = module_new(l, "Flatten");
  attrs_set(l, &m->attrs, "start_dim", v[0]);
  attrs_set(l, &m->attrs, "end_dim", v[1]);
  return m;
}

B(Sequential) {
  if (self) {
    Value *items = attrs_get(&self->attrs, "__items__");
    Value *v[1];
    args_bind(l, "Sequential", "input", NULL, a, v, 1);
    Value *x = v[0];
    for (int i = 0; i < items->n; i++) {
      Args fa = {.pos = &x, .npos = 1, .off = a->off};
      x = v_call(l, items->items[i], &fa);
    }
    return x;
  }
  Value *m = module_new(l, "Sequential");
  Value *items = v_new(l, V_LIST);
  for (int i = 0; i < a->npos; i++) {
    if (a->pos[i]->k != V_OBJECT) lerr(l, a->posoff ? a->posoff[i] : a->off, "Sequential(): %s is not a Module", v_typename(a->pos[i]));
    v_list_push(l, items, a->pos[i]);
  }
  if (a->nkw) lerr(l, a->off, "Sequential() takes no keyword arguments");
  attrs_set(l, &m->attrs, "__items__", items);
  return m;
}

B(ModuleList) {
  if (self) lerr(l, a->off, "ModuleList is not callable; iterate over it or index it");
  Value *v[1];
  args_bind(l, "ModuleList", "modules=None", NULL, a, v, 1);
  Value *m = module_new(l, "ModuleList");
  Value *items = v_new(l, V_LIST);
  if (v[0]) {
    if (v[0]->k != V_LIST && v[0]->k != V_TUPLE) lerr(l, a->off, "ModuleList(): expected a list of modules");
    for (int i = 0; i < v[0]->n; i++) v_list_push(l, items, v[0]->items[i]);
  }
  attrs_set(l, &m->attrs, "__items__", items);
  return m;
}

B(Module) {
  if (self) lerr(l, a->off, "Module has no forward");
  return module_new(l, "Module");
}

/* parameters() in PyTorch's order: own parameters, then sub-modules, recursively. */
void collect_params(L *l, Value *m, Value *out, const char *prefix, Value *names) {
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    if (v->k == V_TENSOR && v->t.param) {
      for (int k = 0; k < out->n; k++)
        if (out->items[k] == v) goto skip;
      v_list_push(l, out, v);
      if (names) v_list_push(l, names, v_str(l, *prefix ? arena_printf(l->arena, "%s.%s", prefix, m->attrs.keys[i]) : m->attrs.keys[i]));
    }
  skip:;
  }
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    const char *key = m->attrs.keys[i];
    if (v->k == V_OBJECT) {
      collect_params(l, v, out, *prefix ? arena_printf(l->arena, "%s.%s", prefix, key) : key, names);
    } else if (v->k == V_LIST && !strcmp(key, "__items__")) {
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT)
          collect_params(l, v->items[k], out, *prefix ? arena_printf(l->arena, "%s.%d", prefix, k) : arena_printf(l->arena, "%d", k), names);
    }
  }
}

B(parameters) {
  Value *out = v_new(l, V_LIST);
  UNUSED(a);
  collect_params(l, self, out, "", NULL);
  return out;
}

B(named_parameters) {
  Value *ps = v_new(l, V_LIST), *names = v_new(l, V_LIST), *out = v_new(l, V_LIST);
  UNUSED(a);
  collect_params(l, self, ps, "", names);
  for (int i = 0; i < ps->n; i++) {
    Value *t = v_tuple(l, 2);
    t->items[0] = names->items[i];
    t->items[1] = ps->items[i];
    v_list_push(l, out, t);
  }
  return out;
}

/* model.train() / model.eval(): the mode of the module and of all its sub-modules, read
 * when forward is traced (Dropout, BatchNorm2d) */
static void set_training(L *l, Value *m, bool on) {
  attrs_set(l, &m->attrs, "training", v_bool(l, on));
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    if (v->k == V_OBJECT && !attrs_get(&v->attrs, "__optim__")) set_training(l, v, on);
    if (v->k == V_LIST && !strcmp(m->attrs.keys[i], "__items__"))
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT) set_training(l, v->items[k], on);
  }
}
B(train_mode) {
  Value *v[2];
  args_bind(l, "train", "self, mode=True", self, a, v, 2);
  set_training(l, self, v[1] ? v_truthy(l, v[1], a->off) : true);
  return self;
}
B(eval_mode) {
  UNUSED(a);
  set_training(l, self, false);
  return self;
}

/* ---- autograd ------------------------------------------------------------------------ */

/* The leaves (variables that require grad) the loss depends on, walking the current
 * graph back from it; ops without a gradient rule and DETACH stop the walk. */
static int loss_leaves(L *l, int loss, int *vars, int max) {
  Graph *g = cur_graph(l);
  bool *seen = xmalloc((size_t)g->n + 1);
  memset(seen, 0, (size_t)g->n + 1);
  seen[loss] = true;
  int n = 0;
  for (int i = loss; i >= 0; i--) {
    if (!seen[i]) continue;
    const Node *nd = &g->nodes[i];
    if (nd->op == OP_INPUT) {
      const Var *v = &l->p->vars[nd->attr.var];
      if (v->requires_grad && v->kind == VAR_PARAM) {
        bool dup = false;
        for (int k = 0; k < n; k++) dup |= vars[k] == nd->attr.var;
        if (!dup && n < max) vars[n++] = nd->attr.var;
      }
      continue;
    }
    if (!ir_ops[nd->op].differentiable) continue;
    for (int k = 0; k < nd->nin; k++) seen[nd->in[k]] = true;
  }
  free(seen);
  /* in variable order, so the emitted code does not depend on the walk */
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && vars[k - 1] > vars[k]; k--) {
      int t = vars[k];
      vars[k] = vars[k - 1];
      vars[k - 1] = t;
    }
  return n;
}

B(backward) {
  Value *v[5];
  args_bind(l, "backward", "input, gradient=None, retain_graph=None, create_graph=False, inputs=None", self, a, v, 5);
  Value *loss = want_tensor(l, v[0], "backward", a->off);
  if (v[3] && v_truthy(l, v[3], a->off)) lerr(l, a->off, "backward(create_graph=True) is not supported");
  if (v[4]) lerr(l, a->off, "backward(inputs=...) is not supported");
  if (!loss->t.requires_grad)
    lerr(l, a->off, "element 0 of tensors does not require grad and does not have a grad_fn");
  Shape ls = tshape(l, loss);
  Value *gradient = v[1];
  if (!gradient && shape_numel(&ls) != 1)
    lerr(l, a->off, "grad can be implicitly created only for scalar outputs");
  int32_t in[2] = {tnode(l, loss), -1};
  int nin = 1;
  if (gradient) {
    Value *gt = want_tensor(l, gradient, "backward", a->off);
    Shape gs = tshape(l, gt);
    if (!shape_eq(&gs, &ls)) {
      char b1[64], b2[64];
      lerr(l, a->off, "Mismatch in shape: grad_output[0] has a shape of %s and output[0] has a shape of %s",
           shape_str(&gs, b1, sizeof b1), shape_str(&ls, b2, sizeof b2));
    }
    in[1] = tnode(l, gt);
    nin = 2;
  }
  int vars[1024];
  int n = loss_leaves(l, in[0], vars, 1024);
  int64_t *pairs = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(2 * n + 1));
  for (int k = 0; k < n; k++) {
    Value *leaf = vars[k] < l->nleaves ? l->leaves[vars[k]] : NULL;
    TT_ASSERT(leaf);
    pairs[2 * k] = vars[k];
    /* .grad exists: accumulate into it. Inside a run-time loop always: the buffer starts
     * at zero, and later iterations must add to what earlier ones left. */
    pairs[2 * k + 1] = leaf->t.grad != NULL || l->loop_depth > 0;
    leaf_grad(l, leaf)->t.graph = -1; /* read it again after this backward */
  }
  Attr at = {0};
  at.ints = pairs;
  at.nints = 2 * n;
  add_node(l, OP_BACKWARD, in, nin, &at, a->off);
  return l->none;
}

/* The .grad of a leaf, made (a program variable) if it has none yet. */
Value *leaf_grad(L *l, Value *leaf) {
  if (leaf->t.grad) return leaf->t.grad;
  int v = leaf->t.var;
  if (l->p->vars[v].grad < 0) {
    int gv = ir_var_new(l->p, "grad", VAR_GRAD, l->p->vars[v].dtype, l->p->vars[v].shape);
    l->p->vars[gv].grad_of = v;
    l->p->vars[v].grad = gv;
  }
  Value *gval = v_new(l, V_TENSOR);
  gval->t.var = l->p->vars[v].grad;
  gval->t.leaf = true;
  leaf->t.grad = gval;
  return gval;
}

/* Sets every existing .grad of the parameters to zero (PyTorch 1.13's
 * zero_grad(set_to_none=False), the version the tests compare against). Inside a run-time
 * loop every parameter's: the first iteration lowered has no .grad yet, the next ones do. */
void zero_param_grads(L *l, Value *params, int32_t off) {
  for (int i = 0; i < params->n; i++) {
    Value *p = params->items[i];
    if (p->k != V_TENSOR || p->t.var < 0) continue;
    if (!p->t.grad && l->loop_depth > 0 && p->t.requires_grad) leaf_grad(l, p);
    if (!p->t.grad) continue;
    Value *g = p->t.grad;
    const Var *gv = &l->p->vars[g->t.var];
    Value *z = filled(l, gv->shape, gv->dtype, 0, off);
    bool saved = l->no_grad;
    l->no_grad = true;
    tensor_inplace(l, g, z, off);
    l->no_grad = saved;
  }
}

/* model.to(device) / model.cpu(): the CPU is where the module already is */
B(module_to) {
  for (int i = 0; i < a->npos; i++)
    if (!(a->pos[i]->k == V_STR && !strncmp(a->pos[i]->s, "cpu", 3)))
      lerr(l, a->off, "Module.to(): ttc compiles for the CPU; only 'cpu' is supported");
  return self;
}

/* zero_grad(set_to_none=True): .grad becomes None; the buffer is zeroed so that the next
 * backward, which may accumulate (inside a run-time loop it always does), starts from 0. */
void none_param_grads(L *l, Value *params, int32_t off) {
  zero_param_grads(l, params, off);
  if (l->loop_depth > 0) return;
  for (int i = 0; i < params->n; i++)
    if (params->items[i]->k == V_TENSOR) params->items[i]->t.grad = NULL;
}

B(module_zero_grad) {
  Value *v[2];
  args_bind(l, "zero_grad", "self, set_to_none=False", self, a, v, 2);
  Value *ps = v_new(l, V_LIST);
  collect_params(l, self, ps, "", NULL);
  if (v[1] && v_truthy(l, v[1], a->off)) none_param_grads(l, ps, a->off);
  else zero_param_grads(l, ps, a->off);
  return l->none;
}

/* In-place tensor methods: the new value computed out of place, then written back. */
static Value *inplace_result(L *l, Value *self, Value *nv, int32_t off) {
  tensor_inplace(l, self, nv, off);
  return self;
}
B(zero_) {
  want_tensor(l, self, "zero_", a->off);
  return inplace_result(l, self, filled(l, tshape(l, self), tdtype(l, self), 0, a->off), a->off);
}
B(fill_) {
  Value *v[2];
  args_bind(l, "fill_", "self, value", self, a, v, 2);
  return inplace_result(l, self, filled(l, tshape(l, self), tdtype(l, self), want_num(l, v[1], "value", a->off), a->off), a->off);
}
B(add_) { return inplace_result(l, self, bi_add(l, self, a), a->off); }
B(sub_) { return inplace_result(l, self, bi_sub(l, self, a), a->off); }
B(mul_) { return inplace_result(l, self, bi_mul(l, self, a), a->off); }
B(div_) { return inplace_result(l, self, bi_div(l, self, a), a->off); }
B(copy_) {
  Value *v[2];
  args_bind(l, "copy_", "self, src", self, a, v, 2);
  Value *src = want_tensor(l, v[1], "copy_", a->off);
  Shape s = tshape(l, self);
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  Value *b = shape_eq(&s, &(Shape){0}) ? src : src;
  Shape ss = tshape(l, src);
  if (!shape_eq(&ss, &s)) b = op1(l, OP_EXPAND, src, &at, a->off, NULL);
  return inplace_result(l, self, b, a->off);
}
static Value *random_inplace(L *l, Value *self, Args *a, Op op, const char *fname, const char *sig) {
  Value *v[3];
  args_bind(l, fname, sig, self, a, v, 3);
  DType dt = tdtype(l, self);
  if (!dt_is_float(dt)) lerr(l, a->off, "%s(): expected a floating point tensor", fname);
  Attr at = {0};
  at.f[0] = want_num(l, v[1], "a bound", a->off);
  at.f[1] = want_num(l, v[2], "a bound", a->off);
  Value *r = mk_tensor(l, ir_add_source(cur_graph(l), op, dt, tshape(l, self), &at, (Loc){a->off}));
  bool saved = l->no_grad;
  l->no_grad = true; /* nn.init draws without recording history */
  tensor_inplace(l, self, r, a->off);
  l->no_grad = saved;
  return self;
}
B(uniform_) { return random_inplace(l, self, a, OP_UNIFORM, "uniform_", "self, a=0.0, b=1.0"); }
B(normal_) { return random_inplace(l, self, a, OP_NORMAL, "normal_", "self, mean=0.0, std=1.0"); }

/* ---- losses (torch.nn.functional), composed from differentiable ops ----------------- */

static Value *reduce_loss(L *l, Value *per, Value *reduction, int32_t off, const char *gradfn) {
  const char *r = reduction && reduction->k == V_STR ? reduction->s : "mean";
  Value *out;
  if (!strcmp(r, "none")) out = per;
  else if (!strcmp(r, "sum")) out = reduce(l, OP_SUM, per, NULL, false, off, NULL);
  else if (!strcmp(r, "mean")) out = reduce(l, OP_MEAN, per, NULL, false, off, NULL);
  else lerr(l, off, "%s is not a valid value for reduction", r);
  if (out->t.requires_grad) out->t.gradfn = gradfn;
  return out;
}

static void same_shape(L *l, Value *x, Value *y, const char *fname, int32_t off) {
  Shape a = tshape(l, x), b = tshape(l, y);
  if (!shape_eq(&a, &b)) {
    char b1[64], b2[64];
    lerr(l, off, "%s: target size %s must be the same as input size %s", fname, shape_str(&b, b1, sizeof b1),
         shape_str(&a, b2, sizeof b2));
  }
}

B(mse_loss) {
  Value *v[3];
  args_bind(l, "mse_loss", "input, target, reduction='mean'", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "mse_loss", a->off), *y = want_tensor(l, v[1], "mse_loss", a->off);
  same_shape(l, x, y, "mse_loss", a->off);
  Value *d = bi_binop(l, BIN_SUB, x, y, a->off);
  return reduce_loss(l, bi_binop(l, BIN_MUL, d, d, a->off), v[2], a->off, "MseLossBackward0");
}

B(l1_loss) {
  Value *v[3];
  args_bind(l, "l1_loss", "input, target, reduction='mean'", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "l1_loss", a->off), *y = want_tensor(l, v[1], "l1_loss", a->off);
  same_shape(l, x, y, "l1_loss", a->off);
  Value *d = bi_binop(l, BIN_SUB, x, y, a->off);
  return reduce_loss(l, op1(l, OP_ABS, d, NULL, a->off, NULL), v[2], a->off, "MeanBackward0");
}

static Value *one_hot_f(L *l, Value *target, int64_t classes, DType dt, int32_t off) {
  Attr at = {0};
  at.i[0] = classes;
  at.i[1] = dt;
  return op1(l, OP_ONE_HOT, target, &at, off, NULL);
}

B(one_hot) {
  Value *v[2];
  args_bind(l, "one_hot", "input, num_classes=-1", self, a, v, 2);
  Value *t = want_tensor(l, v[0], "one_hot", a->off);
  if (tdtype(l, t) != DT_I64) lerr(l, a->off, "one_hot is only applicable to index tensor (int64)");
  int64_t c = want_int(l, v[1], "num_classes", a->off);
  if (c < 0) lerr(l, a->off, "one_hot(): num_classes must be given in ttc (the class count is part of the shape)");
  return one_hot_f(l, t, c, DT_I64, a->off);
}

/* -sum(logp * onehot(target)) per sample: the log-probability of the target class. */
static Value *nll(L *l, Value *logp, Value *target, Value *reduction, int32_t off, const char *fname) {
  Shape xs = tshape(l, logp), ts = tshape(l, target);
  if (tdtype(l, target) != DT_I64)
    lerr(l, off, "%s(): expected class indices of type int64 as target, got %s", fname, dt_torch(tdtype(l, target)));
  bool batched = xs.rank == 2;
  if (!(xs.rank == 2 && ts.rank == 1 && ts.d[0] == xs.d[0]) && !(xs.rank == 1 && ts.rank == 0)) {
    char b1[64], b2[64];
    lerr(l, off, "%s(): expected input [N, C] with target [N], or input [C] with a scalar target; got %s and %s",
         fname, shape_str(&xs, b1, sizeof b1), shape_str(&ts, b2, sizeof b2));
  }
  int64_t classes = xs.d[xs.rank - 1];
  Value *oh = one_hot_f(l, target, classes, tdtype(l, logp), off);
  Value *picked = bi_binop(l, BIN_MUL, logp, oh, off);
  Value *dimv = v_int(l, batched ? 1 : 0);
  Value *per = bi_unop(l, UN_NEG, reduce(l, OP_SUM, picked, dimv, false, off, NULL), off);
  return reduce_loss(l, per, reduction, off, "NllLossBackward0");
}

B(nll_loss) {
  Value *v[3];
  args_bind(l, "nll_loss", "input, target, reduction='mean'", self, a, v, 3);
  return nll(l, want_tensor(l, v[0], "nll_loss", a->off), want_tensor(l, v[1], "nll_loss", a->off), v[2], a->off, "nll_loss");
}

B(cross_entropy) {
  Value *v[3];
  args_bind(l, "cross_entropy", "input, target, reduction='mean'", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "cross_entropy", a->off), *t = want_tensor(l, v[1], "cross_entropy", a->off);
  Shape xs = tshape(l, x);
  if (xs.rank < 1 || xs.rank > 2) lerr(l, a->off, "cross_entropy(): expected logits of shape [N, C] or [C]");
  Value *dim = v_int(l, xs.rank - 1);
  Value *pos[2] = {x, dim};
  Args la = {.pos = pos, .npos = 2, .off = a->off};
  Value *logp = bi_log_softmax(l, NULL, &la);
  if (dt_is_float(tdtype(l, t))) { /* class probabilities as targets */
    same_shape(l, x, t, "cross_entropy", a->off);
    Value *per = bi_unop(l, UN_NEG, reduce(l, OP_SUM, bi_binop(l, BIN_MUL, logp, t, a->off), dim, false, a->off, NULL), a->off);
    Value *r = reduce_loss(l, per, v[2], a->off, "DivBackward1");
    return r;
  }
  return nll(l, logp, t, v[2], a->off, "cross_entropy");
}

B(binary_cross_entropy_with_logits) {
  Value *v[3];
  args_bind(l, "binary_cross_entropy_with_logits", "input, target, reduction='mean'", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "binary_cross_entropy_with_logits", a->off);
  Value *y = want_tensor(l, v[1], "binary_cross_entropy_with_logits", a->off);
  same_shape(l, x, y, "binary_cross_entropy_with_logits", a->off);
  /* softplus(x) - x*y: no overflow for any x, and the gradient is sigmoid(x) - y */
  Value *sp = op1(l, OP_SOFTPLUS, x, NULL, a->off, NULL);
  Value *per = bi_binop(l, BIN_SUB, sp, bi_binop(l, BIN_MUL, x, y, a->off), a->off);
  return reduce_loss(l, per, v[2], a->off, "BinaryCrossEntropyWithLogitsBackward0");
}

B(binary_cross_entropy) {
  Value *v[3];
  args_bind(l, "binary_cross_entropy", "input, target, reduction='mean'", self, a, v, 3);
  Value *p = want_tensor(l, v[0], "binary_cross_entropy", a->off);
  Value *y = want_tensor(l, v[1], "binary_cross_entropy", a->off);
  same_shape(l, p, y, "binary_cross_entropy", a->off);
  /* PyTorch clamps the logs at -100 */
  Value *lp = ew2(l, OP_MAXIMUM, op1(l, OP_LOG, p, NULL, a->off, NULL), v_float(l, -100), a->off, NULL);
  Value *lq = ew2(l, OP_MAXIMUM, op1(l, OP_LOG, bi_binop(l, BIN_SUB, v_int(l, 1), p, a->off), NULL, a->off, NULL), v_float(l, -100), a->off, NULL);
  Value *per = bi_unop(l, UN_NEG, bi_binop(l, BIN_ADD, bi_binop(l, BIN_MUL, y, lp, a->off),
                                       bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, v_int(l, 1), y, a->off), lq, a->off), a->off), a->off);
  return reduce_loss(l, per, v[2], a->off, "BinaryCrossEntropyBackward0");
}

B(floor) {
  Value *v[1];
  args_bind(l, "floor", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "floor", a->off);
  if (!dt_is_float(tdtype(l, x))) return x;
  return op1(l, OP_FLOOR, x, NULL, a->off, NULL);
}

B(softplus) {
  Value *v[3];
  args_bind(l, "softplus", "input, beta=1, threshold=20", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "softplus", a->off);
  double beta = want_num(l, v[1], "beta", a->off);
  if (beta == 1) return op1(l, OP_SOFTPLUS, x, NULL, a->off, NULL);
  Value *bx = bi_binop(l, BIN_MUL, x, v_float(l, beta), a->off);
  return bi_binop(l, BIN_DIV, op1(l, OP_SOFTPLUS, bx, NULL, a->off, NULL), v_float(l, beta), a->off);
}

B(erf) {
  Value *v[1];
  args_bind(l, "erf", "input", self, a, v, 1);
  return op1(l, OP_ERF, want_tensor(l, v[0], "erf", a->off), NULL, a->off, NULL);
}

/* Loss modules: the options at construction, the function at the call. */
static Value *loss_module(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn) {
  if (self) {
    Value *v[2];
    args_bind(l, cls, "input, target", NULL, a, v, 2);
    Value *pos[2] = {v[0], v[1]};
    Value *red = attrs_get(&self->attrs, "reduction");
    const char *kn[1] = {"reduction"};
    Value *kv[1] = {red};
    Args fa = {.pos = pos, .npos = 2, .off = a->off, .kwnames = kn, .kw = kv, .nkw = 1};
    return fn(l, NULL, &fa);
  }
  Value *v[1];
  args_bind(l, cls, "reduction='mean'", NULL, a, v, 1);
  Value *m = module_new(l, cls);
  attrs_set(l, &m->attrs, "reduction", v[0]);
  return m;
}
B(MSELoss) { return loss_module(l, self, a, "MSELoss", bi_mse_loss); }
B(L1Loss) { return loss_module(l, self, a, "L1Loss", bi_l1_loss); }
B(CrossEntropyLoss) { return loss_module(l, self, a, "CrossEntropyLoss", bi_cross_entropy); }
B(NLLLoss) { return loss_module(l, self, a, "NLLLoss", bi_nll_loss); }
B(BCEWithLogitsLoss) { return loss_module(l, self, a, "BCEWithLogitsLoss", bi_binary_cross_entropy_with_logits); }
B(BCELoss) { return loss_module(l, self, a, "BCELoss", bi_binary_cross_entropy); }

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
    if (a->pos[i]->k == V_TUPLE || a->pos[i]->k == V_LIST) cap += 2 * a->pos[i]->n + 2;
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
    if (v->k == V_TUPLE && v->s && !strcmp(v->s, "fstring")) parts = v->items, nparts = v->n;
    for (int k = 0; k < nparts; k++) {
      Value *pv = parts[k];
      if (pv->k == V_TENSOR) {
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
        ADD_TEXT(size ? "torch.Size([" : pv->k == V_LIST ? "[" : "(");
        for (int q = 0; q < pv->n; q++) {
          if (q) ADD_TEXT(", ");
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
  case V_STR: return v_int(l, (int64_t)strlen(x->s));
  case V_LIST:
  case V_TUPLE: return v_int(l, x->n);
  case V_DICT: return v_int(l, x->n / 2);
  case V_RANGE: {
    int64_t n = x->i3 > 0 ? (x->i2 - x->i + x->i3 - 1) / x->i3 : (x->i - x->i2 - x->i3 - 1) / -x->i3;
    return v_int(l, n < 0 ? 0 : n);
  }
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

B(py_str) {
  Value *v[1];
  args_bind(l, "str", "x=''", self, a, v, 1);
  return v_str(l, v[0] ? v_str_of(l, v[0], false, a->off) : "None");
}
B(py_repr) {
  Value *v[1];
  args_bind(l, "repr", "x", self, a, v, 1);
  return v_str(l, v[0] ? v_str_of(l, v[0], true, a->off) : "None");
}
B(py_bool) {
  Value *v[1];
  args_bind(l, "bool", "x=False", self, a, v, 1);
  return v_bool(l, v[0] ? v_truthy(l, v[0], a->off) : false);
}

B(py_abs) {
  Value *v[1];
  args_bind(l, "abs", "x", self, a, v, 1);
  if (v[0] && v[0]->k == V_TENSOR) return bi_abs(l, v[0], &(Args){.off = a->off});
  if (v[0] && v[0]->k == V_HOST) return host_call1(l, HU_ABS, v[0], a->off);
  if (v[0] && (v[0]->k == V_INT || v[0]->k == V_BOOL)) return v_int(l, v[0]->i < 0 ? -v[0]->i : v[0]->i);
  return v_float(l, fabs(want_num(l, v[0], "abs() argument", a->off)));
}

static Value *seq_of(L *l, Value *v, int32_t off);

static Value *py_minmax(L *l, Args *a, bool ismax) {
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
  Value *seq = seq_of(l, v[0], a->off);
  Value *acc = v[1] ? v[1] : v_int(l, 0);
  for (int i = 0; i < seq->n; i++) acc = bi_binop(l, BIN_ADD, acc, seq->items[i], a->off);
  return acc;
}

B(py_list) {
  Value *v[1];
  args_bind(l, "list", "iterable=None", self, a, v, 1);
  Value *r = v_new(l, V_LIST);
  if (!v[0]) return r;
  Value *seq = seq_of(l, v[0], a->off);
  for (int i = 0; i < seq->n; i++) v_list_push(l, r, seq->items[i]);
  return r;
}
B(py_tuple) {
  Value *v[1];
  args_bind(l, "tuple", "iterable=None", self, a, v, 1);
  Value *r = v_new(l, V_TUPLE);
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
B(py_round) {
  Value *v[2];
  args_bind(l, "round", "number, ndigits=None", self, a, v, 2);
  if (v[0] && v[0]->k == V_HOST) {
    if (v[1]) lerr(l, a->off, "round(x, ndigits) of a run-time value is not supported; use an f-string format");
    return host_call1(l, HU_TOINT, host_call1(l, HU_FLOOR, host_binop(l, BIN_ADD, v[0], v_float(l, 0.5), a->off), a->off), a->off);
  }
  double x = want_num(l, v[0], "round() argument", a->off);
  if (!v[1]) {
    double r = nearbyint(x); /* banker's rounding, as Python */
    if (!isfinite(r)) lerr(l, a->off, "cannot convert float to integer");
    return v_int(l, f2i(l, r, a->off));
  }
  double m = pow(10, (double)want_int(l, v[1], "ndigits", a->off));
  return v_float(l, nearbyint(x * m) / m);
}
B(py_isinstance) {
  Value *v[2];
  args_bind(l, "isinstance", "obj, classinfo", self, a, v, 2);
  Value *o = v[0], *c = v[1];
  if (!c || c->k != V_BUILTIN || !c->bi) {
    if (c && c->k == V_CLASS && o && o->k == V_OBJECT) {
      for (Value *k = o->cls; k; k = k->self)
        if (k == c) return l->vtrue;
      return l->vfalse;
    }
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

B(noop) {
  UNUSED(self);
  UNUSED(a);
  return l->none;
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

/* ---- print(model): PyTorch's module repr ------------------------------------------------ */

static bool is_module(const Value *v) {
  static const char *const mods[] = {"Module", "Linear", "ReLU", "Sigmoid", "Tanh", "GELU", "Softmax",
                                     "LogSoftmax", "Identity", "Flatten", "Sequential", "ModuleList",
                                     "Conv2d", "MaxPool2d", "AvgPool2d", "Dropout", "BatchNorm2d",
                                     "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss",
                                     "BCEWithLogitsLoss", "BCELoss"};
  if (v->k != V_OBJECT || !v->cls) return false;
  if (!v->cls->bi) return true; /* a user class */
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
    if (!strcmp(v->cls->bi->name, mods[i])) return true;
  return false;
}

/* An int or pair attribute as PyTorch shows it: 2, or (1, 1) when pair is asked for. */
static const char *pair_repr(L *l, Value *v, bool pair, int32_t off) {
  if (v && (v->k == V_TUPLE || v->k == V_LIST) && v->n == 2)
    return arena_printf(l->arena, "(%s, %s)", v_str_of(l, v->items[0], true, off), v_str_of(l, v->items[1], true, off));
  const char *x = v ? v_str_of(l, v, true, off) : "None";
  return pair ? arena_printf(l->arena, "(%s, %s)", x, x) : x;
}

static const char *extra_repr(L *l, Value *m, int32_t off) {
  const char *k = m->cls->bi ? m->cls->bi->name : "";
  Attrs *a = &m->attrs;
  if (!strcmp(k, "Linear"))
    return arena_printf(l->arena, "in_features=%lld, out_features=%lld, bias=%s", (long long)attrs_get(a, "in_features")->i,
                        (long long)attrs_get(a, "out_features")->i, attrs_get(a, "bias")->k == V_TENSOR ? "True" : "False");
  if (!strcmp(k, "Conv2d")) {
    const Shape ws = tn(l, attrs_get(a, "weight"))->shape;
    Value *pad = attrs_get(a, "padding");
    bool nopad = pad->k == V_INT && pad->i == 0;
    return arena_printf(l->arena, "%lld, %lld, kernel_size=(%lld, %lld), stride=%s%s%s", (long long)ws.d[1], (long long)ws.d[0],
                        (long long)ws.d[2], (long long)ws.d[3], pair_repr(l, attrs_get(a, "stride"), true, off),
                        nopad ? "" : arena_printf(l->arena, ", padding=%s", pad->k == V_STR ? v_str_of(l, pad, true, off) : pair_repr(l, pad, true, off)),
                        attrs_get(a, "bias")->k == V_TENSOR ? "" : ", bias=False");
  }
  if (!strcmp(k, "MaxPool2d") || !strcmp(k, "AvgPool2d")) {
    Value *ks = attrs_get(a, "kernel_size"), *st = attrs_get(a, "stride");
    if (st && (st->k == V_TUPLE || st->k == V_LIST) && st->n == 0) st = ks;
    return arena_printf(l->arena, "kernel_size=%s, stride=%s, padding=%s%s", pair_repr(l, ks, false, off), pair_repr(l, st, false, off),
                        pair_repr(l, attrs_get(a, "padding"), false, off), k[0] == 'M' ? ", dilation=1, ceil_mode=False" : "");
  }
  if (!strcmp(k, "Flatten"))
    return arena_printf(l->arena, "start_dim=%s, end_dim=%s", v_str_of(l, attrs_get(a, "start_dim"), true, off),
                        v_str_of(l, attrs_get(a, "end_dim"), true, off));
  if (!strcmp(k, "Dropout")) return arena_printf(l->arena, "p=%s, inplace=False", v_str_of(l, attrs_get(a, "p"), true, off));
  if (!strcmp(k, "BatchNorm2d"))
    return arena_printf(l->arena, "%lld, eps=%s, momentum=%s, affine=True, track_running_stats=True",
                        (long long)attrs_get(a, "num_features")->i, v_str_of(l, attrs_get(a, "eps"), true, off),
                        v_str_of(l, attrs_get(a, "momentum"), true, off));
  if (!strcmp(k, "Softmax") || !strcmp(k, "LogSoftmax")) {
    Value *d = attrs_get(a, "__opt__");
    return arena_printf(l->arena, "dim=%s", d ? v_str_of(l, d, true, off) : "None");
  }
  if (!strcmp(k, "GELU")) {
    Value *ap = attrs_get(a, "__opt__");
    return arena_printf(l->arena, "approximate=%s", ap ? v_str_of(l, ap, true, off) : "'none'");
  }
  return "";
}

/* Indents every line but the first by two spaces (PyTorch's _addindent). */
static const char *add_indent(L *l, const char *s) {
  size_t n = 0;
  for (const char *c = s; *c; c++) n += *c == '\n' ? 3 : 1;
  char *o = arena_alloc(l->arena, n + 1), *q = o;
  for (const char *c = s; *c; c++) {
    *q++ = *c;
    if (*c == '\n') *q++ = ' ', *q++ = ' ';
  }
  *q = 0;
  return o;
}

const char *bi_module_repr(L *l, Value *m, int32_t off) {
  if (!is_module(m)) return NULL;
  const char *name = m->cls->bi ? m->cls->bi->name : m->cls->s;
  char *buf = arena_printf(l->arena, "%s(%s", name, extra_repr(l, m, off));
  bool children = false;
  Value *items = attrs_get(&m->attrs, "__items__");
  for (int i = 0; items && i < items->n; i++)
    if (is_module(items->items[i])) {
      buf = arena_printf(l->arena, "%s\n  (%d): %s", buf, i, add_indent(l, bi_module_repr(l, items->items[i], off)));
      children = true;
    }
  for (int i = 0; i < m->attrs.n; i++)
    if (is_module(m->attrs.vals[i])) {
      buf = arena_printf(l->arena, "%s\n  (%s): %s", buf, m->attrs.keys[i], add_indent(l, bi_module_repr(l, m->attrs.vals[i], off)));
      children = true;
    }
  return arena_printf(l->arena, "%s%s)", buf, children ? "\n" : "");
}

/* ---- methods of Python lists, dicts and strings ------------------------------------- */

B(list_append) {
  Value *v[2];
  args_bind(l, "append", "self, object", self, a, v, 2);
  v_list_push(l, self, v[1] ? v[1] : l->none);
  return l->none;
}
B(list_extend) {
  Value *v[2];
  args_bind(l, "extend", "self, iterable", self, a, v, 2);
  Value *seq = seq_of(l, v[1], a->off);
  int n = seq->n; /* seq may be self */
  for (int i = 0; i < n; i++) v_list_push(l, self, seq->items[i]);
  return l->none;
}
B(list_pop) {
  Value *v[2];
  args_bind(l, "pop", "self, index=-1", self, a, v, 2);
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
  for (int i = 0; i < seq->n; i++) {
    if (seq->items[i]->k != V_STR) lerr(l, a->off, "sequence item %d: expected str instance, %s found", i, v_typename(seq->items[i]));
    n += strlen(seq->items[i]->s) + strlen(self->s);
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
  Value *parts = v_new(l, V_TUPLE);
  parts->s = "fstring";
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

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
#define M BI_METHOD
static const Builtin builtins[] = {
  /* tensor creation */
  {"tensor", F, bi_tensor, 0},
  {"Tensor", F, bi_tensor, 0},
  {"zeros", F, bi_zeros, 0},
  {"ones", F, bi_ones, 0},
  {"empty", F, bi_empty, 0},
  {"full", F, bi_full, 0},
  {"rand", F, bi_rand, 0},
  {"randn", F, bi_randn, 0},
  {"randint", F, bi_randint, 0},
  {"zeros_like", F, bi_zeros_like, 0},
  {"ones_like", F, bi_ones_like, 0},
  {"full_like", F, bi_full_like, 0},
  {"rand_like", F, bi_rand_like, 0},
  {"randn_like", F, bi_randn_like, 0},
  {"arange", F, bi_arange, 0},
  {"linspace", F, bi_linspace, 0},
  {"eye", F, bi_eye, 0},
  {"manual_seed", F, bi_manual_seed, 0},
  /* elementwise */
  {"add", F | M, bi_add, 0},
  {"sub", F | M, bi_sub, 0},
  {"subtract", F | M, bi_sub, 0},
  {"mul", F | M, bi_mul, 0},
  {"multiply", F | M, bi_mul, 0},
  {"div", F | M, bi_div, 0},
  {"divide", F | M, bi_div, 0},
  {"true_divide", F | M, bi_div, 0},
  {"pow", F | M, bi_pow, 0},
  {"exp", F | M, bi_exp, 0},
  {"log", F | M, bi_log, 0},
  {"sqrt", F | M, bi_sqrt, 0},
  {"rsqrt", F | M, bi_rsqrt, 0},
  {"abs", M, bi_abs, 0},
  {"neg", F | M, bi_neg, 0},
  {"negative", F | M, bi_neg, 0},
  {"square", F | M, bi_square, 0},
  {"relu", F | M, bi_relu, 0},
  {"sigmoid", F | M, bi_sigmoid, 0},
  {"tanh", F | M, bi_tanh, 0},
  {"sin", F | M, bi_sin, 0},
  {"cos", F | M, bi_cos, 0},
  {"gelu", F, bi_gelu, 0},
  {"maximum", F | M, bi_maximum, 0},
  {"minimum", F | M, bi_minimum, 0},
  {"clamp", F | M, bi_clamp, 0},
  {"clip", F | M, bi_clamp, 0},
  {"where", F | M, bi_where, 0},
  {"softmax", F | M, bi_softmax, 0},
  {"log_softmax", F | M, bi_log_softmax, 0},
  /* linear algebra */
  {"matmul", F | M, bi_matmul, 0},
  {"mm", F | M, bi_mm, 0},
  {"bmm", F | M, bi_bmm, 0},
  /* reductions */
  {"sum", M, bi_sum, 0},
  {"mean", F | M, bi_mean, 0},
  {"max", M, bi_max, 0},
  {"min", M, bi_min, 0},
  {"argmax", F | M, bi_argmax, 0},
  {"argmin", F | M, bi_argmin, 0},
  /* layout */
  {"reshape", F | M, bi_reshape, 0},
  {"view", M, bi_view, 0},
  {"flatten", F | M, bi_flatten, 0},
  {"unsqueeze", F | M, bi_unsqueeze, 0},
  {"squeeze", F | M, bi_squeeze, 0},
  {"permute", F | M, bi_permute, 0},
  {"transpose", F | M, bi_transpose, 0},
  {"swapaxes", F | M, bi_transpose, 0},
  {"t", F | M, bi_t, 0},
  {"expand", M, bi_expand, 0},
  {"cat", F, bi_cat, 0},
  {"concat", F, bi_cat, 0},
  {"concatenate", F, bi_cat, 0},
  {"stack", F, bi_stack, 0},
  /* casts and copies */
  {"float", M, bi_float, 0},
  {"double", M, bi_double, 0},
  {"long", M, bi_long, 0},
  {"int", M, bi_int, 0},
  {"bool", M, bi_bool, 0},
  {"to", M, bi_to, 0},
  {"detach", F | M, bi_detach, 0},
  {"clone", F | M, bi_clone, 0},
  {"contiguous", M, bi_contiguous, 0},
  {"requires_grad_", M, bi_requires_grad_, 0},
  {"size", M, bi_size, 0},
  {"dim", M, bi_dim, 0},
  {"numel", F | M, bi_numel, 0},
  {"item", M, bi_item, 0},
  /* modules */
  {"Module", BI_CLASS, bi_Module, 0},
  {"Linear", BI_CLASS, bi_Linear, 0},
  {"ReLU", BI_CLASS, bi_ReLU, 0},
  {"Sigmoid", BI_CLASS, bi_Sigmoid, 0},
  {"Tanh", BI_CLASS, bi_Tanh, 0},
  {"GELU", BI_CLASS, bi_GELU, 0},
  {"Softmax", BI_CLASS, bi_Softmax, 0},
  {"LogSoftmax", BI_CLASS, bi_LogSoftmax, 0},
  {"Identity", BI_CLASS, bi_Identity, 0},
  {"Flatten", BI_CLASS, bi_Flatten, 0},
  {"Sequential", BI_CLASS, bi_Sequential, 0},
  {"ModuleList", BI_CLASS, bi_ModuleList, 0},
  {"Parameter", F, bi_Parameter, 0},
  /* autograd */
  {"backward", M, bi_backward, 0},
  {"zero_", M, bi_zero_, 0},
  {"fill_", M, bi_fill_, 0},
  {"add_", M, bi_add_, 0},
  {"sub_", M, bi_sub_, 0},
  {"mul_", M, bi_mul_, 0},
  {"div_", M, bi_div_, 0},
  {"copy_", M, bi_copy_, 0},
  {"uniform_", M, bi_uniform_, 0},
  {"normal_", M, bi_normal_, 0},
  {"erf", F | M, bi_erf, 0},
  {"softplus", F, bi_softplus, 0},
  {"floor", F | M, bi_floor, 0},
  /* losses */
  {"mse_loss", F, bi_mse_loss, 0},
  {"l1_loss", F, bi_l1_loss, 0},
  {"nll_loss", F, bi_nll_loss, 0},
  {"cross_entropy", F, bi_cross_entropy, 0},
  {"binary_cross_entropy_with_logits", F, bi_binary_cross_entropy_with_logits, 0},
  {"binary_cross_entropy", F, bi_binary_cross_entropy, 0},
  {"one_hot", F, bi_one_hot, 0},
  {"MSELoss", BI_CLASS, bi_MSELoss, 0},
  {"L1Loss", BI_CLASS, bi_L1Loss, 0},
  {"CrossEntropyLoss", BI_CLASS, bi_CrossEntropyLoss, 0},
  {"NLLLoss", BI_CLASS, bi_NLLLoss, 0},
  {"BCEWithLogitsLoss", BI_CLASS, bi_BCEWithLogitsLoss, 0},
  {"BCELoss", BI_CLASS, bi_BCELoss, 0},
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
#undef M

/* Functions that are torch.X but whose plain name is Python's (sum, max, min, abs): the
 * torch namespace maps to the tensor versions. */
static const Builtin torch_overrides[] = {
  {"sum", BI_FUNC, bi_sum, 0},
  {"max", BI_FUNC, bi_max, 0},
  {"min", BI_FUNC, bi_min, 0},
  {"abs", BI_FUNC, bi_abs, 0},
};

const Builtin *bi_lookup(const char *name, unsigned flags) {
  for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
    if ((builtins[i].flags & flags) && !strcmp(builtins[i].name, name)) return &builtins[i];
  for (int i = 0; i < train_nbuiltins; i++)
    if ((train_builtins[i].flags & flags) && !strcmp(train_builtins[i].name, name)) return &train_builtins[i];
  for (int i = 0; i < layer_nbuiltins; i++)
    if ((layer_builtins[i].flags & flags) && !strcmp(layer_builtins[i].name, name)) return &layer_builtins[i];
  return NULL;
}

Value *bi_call(L *l, const char *name, Value *self, Value **pos, int npos, int32_t off) {
  const Builtin *b = bi_lookup(name, self ? BI_METHOD : BI_FUNC);
  TT_ASSERT(b);
  Args a = {.pos = pos, .npos = npos, .off = off};
  return b->fn(l, self, &a);
}

static const struct {
  const char *name;
  DType dt;
} dtypes[] = {
  {"float32", DT_F32}, {"float", DT_F32}, {"float64", DT_F64}, {"double", DT_F64},
  {"int64", DT_I64},   {"long", DT_I64},  {"int32", DT_I32},   {"int", DT_I32},
  {"int8", DT_I8},     {"bool", DT_BOOL},
};

static const Builtin bi_super_init = {"__init__", BI_FUNC, bi_noop, 0};
/* ttc compiles for the CPU: no CUDA device is ever available */
static Value *bi_false_(L *l, Value *self, Args *a) {
  UNUSED(self);
  UNUSED(a);
  return l->vfalse;
}
static Value *bi_int_zero(L *l, Value *self, Args *a) {
  UNUSED(self);
  UNUSED(a);
  return v_int(l, 0);
}
static const Builtin bi_cuda_available = {"is_available", BI_FUNC, bi_false_, 0};
static const Builtin bi_cuda_device_count = {"device_count", BI_FUNC, bi_int_zero, 0};
enum { MM_parameters, MM_named_parameters, MM_train, MM_eval, MM_zero_grad, MM_to };
static const Builtin module_methods[] = {
  [MM_parameters] = {"parameters", BI_METHOD, bi_parameters, 0},
  [MM_named_parameters] = {"named_parameters", BI_METHOD, bi_named_parameters, 0},
  [MM_train] = {"train", BI_METHOD, bi_train_mode, 0},
  [MM_eval] = {"eval", BI_METHOD, bi_eval_mode, 0},
  [MM_zero_grad] = {"zero_grad", BI_METHOD, bi_module_zero_grad, 0},
  [MM_to] = {"to", BI_METHOD, bi_module_to, 0},
};

static Value *bound(L *l, const Builtin *b, Value *self) {
  Value *v = v_new(l, V_BUILTIN);
  v->bi = b;
  v->self = self;
  v->s = b->name;
  return v;
}

Value *bi_getattr(L *l, Value *obj, const char *name, int32_t off) {
  if (obj->k == V_NS) {
    if (!strcmp(obj->s, "torch") || !strcmp(obj->s, "torch.nn.functional")) {
      for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(obj->s, "torch") && !strcmp(dtypes[i].name, name)) {
          Value *d = v_new(l, V_DTYPE);
          d->i = dtypes[i].dt;
          return d;
        }
      for (size_t i = 0; i < sizeof torch_overrides / sizeof torch_overrides[0]; i++)
        if (!strcmp(torch_overrides[i].name, name)) return bound(l, &torch_overrides[i], NULL);
    }
    if (!strcmp(name, "Tensor") || !strcmp(name, "tensor")) return bound(l, bi_lookup(name, BI_FUNC), NULL);
    if (!strcmp(obj->s, "torch.cuda") && !strcmp(name, "is_available")) return bound(l, &bi_cuda_available, NULL);
    if (!strcmp(obj->s, "torch.cuda") && !strcmp(name, "device_count")) return bound(l, &bi_cuda_device_count, NULL);
    const Builtin *b = bi_lookup(name, BI_FUNC | BI_METHOD);
    if (b && (b->flags & BI_FUNC)) return NULL; /* the caller resolves plain functions */
    if (b) return bound(l, b, NULL);            /* torch.sum-like method-only names */
    return NULL;
  }
  if (obj->k == V_LIST || obj->k == V_DICT || obj->k == V_STR) {
    const Builtin *m = obj->k == V_LIST ? method_of(list_methods, sizeof list_methods / sizeof *list_methods, name)
                       : obj->k == V_DICT ? method_of(dict_methods, sizeof dict_methods / sizeof *dict_methods, name)
                                          : method_of(str_methods, sizeof str_methods / sizeof *str_methods, name);
    return m ? bound(l, m, obj) : NULL;
  }
  if (obj->k == V_TUPLE && obj->s) {
    if (!strcmp(obj->s, "super") && !strcmp(name, "__init__")) return bound(l, &bi_super_init, NULL);
    if (!strcmp(obj->s, "max") || !strcmp(obj->s, "min")) {
      if (!strcmp(name, "values")) return obj->items[0];
      if (!strcmp(name, "indices")) return obj->items[1];
    }
    return NULL;
  }
  if (obj->k == V_OBJECT && attrs_get(&obj->attrs, "__items__") && (!strcmp(name, "append") || !strcmp(name, "extend")))
    return bound(l, method_of(list_methods, sizeof list_methods / sizeof *list_methods, name), attrs_get(&obj->attrs, "__items__"));
  if (obj->k == V_OBJECT) {
    Value *tv = train_getattr(l, obj, name);
    if (tv) return tv;
    Value *len = attrs_get(&obj->attrs, "__len__");
    if (len && !strcmp(name, "dataset")) return attrs_get(&obj->attrs, "dataset");
    if (len && !strcmp(name, "batch_size")) return attrs_get(&obj->attrs, "batch_size");
    if (!strcmp(name, "parameters")) return bound(l, &module_methods[MM_parameters], obj);
    if (!strcmp(name, "named_parameters")) return bound(l, &module_methods[MM_named_parameters], obj);
    if (!strcmp(name, "train")) return bound(l, &module_methods[MM_train], obj);
    if (!strcmp(name, "eval")) return bound(l, &module_methods[MM_eval], obj);
    if (!strcmp(name, "zero_grad")) return bound(l, &module_methods[MM_zero_grad], obj);
    if (!strcmp(name, "to") || !strcmp(name, "cpu")) return bound(l, &module_methods[MM_to], obj);
    if (!strcmp(name, "training")) return attrs_get(&obj->attrs, "training") ? attrs_get(&obj->attrs, "training") : l->vtrue;
    if (!strcmp(name, "forward") && obj->cls->bi) return bound(l, obj->cls->bi, obj);
    return NULL;
  }
  if (obj->k != V_TENSOR) return NULL;
  Shape s = tshape(l, obj);
  if (!strcmp(name, "shape")) return size_tuple(l, s);
  if (!strcmp(name, "ndim")) return v_int(l, s.rank);
  if (!strcmp(name, "dtype")) {
    Value *d = v_new(l, V_DTYPE);
    d->i = tdtype(l, obj);
    return d;
  }
  if (!strcmp(name, "T") || !strcmp(name, "mT")) {
    int64_t perm[TT_MAX_RANK];
    for (int i = 0; i < s.rank; i++) perm[i] = name[0] == 'm' ? i : s.rank - 1 - i;
    if (name[0] == 'm') {
      if (s.rank < 2) lerr(l, off, "tensor.mT is only supported on matrices or batches of matrices");
      perm[s.rank - 1] = s.rank - 2, perm[s.rank - 2] = s.rank - 1;
    }
    return s.rank < 2 ? obj : permute_to(l, obj, perm, s.rank, off, name[0] == 'm' ? "TransposeBackward0" : "PermuteBackward0");
  }
  if (!strcmp(name, "requires_grad")) return v_bool(l, obj->t.requires_grad);
  if (!strcmp(name, "is_leaf")) return v_bool(l, obj->t.leaf || !obj->t.requires_grad);
  if (!strcmp(name, "data")) {
    /* the same storage without the autograd history: in-place changes write the variable */
    int32_t in = tnode(l, obj);
    Value *r = mk_tensor(l, add_node(l, OP_DETACH, &in, 1, NULL, off));
    r->t.var = obj->t.var;
    r->t.leaf = true;
    return r;
  }
  if (!strcmp(name, "grad")) {
    if (obj->t.grad) return obj->t.grad;
    if (obj->t.requires_grad && !obj->t.leaf)
      diag_warning(l->diag, off,
                   "the .grad attribute of a tensor that is not a leaf is being accessed; it is "
                   "None (call .retain_grad() on it in PyTorch, or use a leaf)");
    return l->none;
  }
  if (!strcmp(name, "grad_fn")) return obj->t.gradfn ? v_str(l, obj->t.gradfn) : l->none;
  if (!strcmp(name, "device")) return v_str(l, "cpu");
  const Builtin *b = bi_lookup(name, BI_METHOD);
  if (b) return bound(l, b, obj);
  return NULL;
}

void lower_init_builtins(L *l) {
  static const char *ns[] = {"torch", "nn", "F", "optim", "math"};
  static const char *full[] = {"torch", "torch.nn", "torch.nn.functional", "torch.optim", "math"};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    Value *v = v_new(l, V_NS);
    v->s = full[i];
    attrs_set(l, &l->globals->vars, ns[i], v);
  }
}
