/*
 * tensor_ops.c — the torch functions that make tensors and compute on them: creation
 * (tensor, zeros, rand, arange, normal, logspace, bincount, ...), elementwise arithmetic and
 * math with PyTorch's type promotion and broadcasting, matmul and einsum, and the reductions
 * (sum, mean, max, argmax, softmax, prod, median). The builtins composed from the layout
 * ops (flip, the stacks, repeat_interleave, is_contiguous, tolist) sit here too, near the
 * end; with einsum they are the part to move out when this file is split.
 *
 * bi_binop, bi_unop and bi_compare are the operators too: lower.c sends `a + b`, `-a` and
 * `a < b` here, and operands that are not tensors get Python's semantics (host arithmetic,
 * `%` formatting, list concatenation, ==, in).
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

#define result bi_result

/* An int64 result that does not fit: Python's would grow, ttc's compile-time ints cannot. */
_Noreturn static void int_overflow(L *l, int32_t off) {
  lerr(l, off, "integer overflow: ttc's compile-time ints are 64-bit (Python's would grow)");
}

/* ---- tensor literals ---------------------------------------------------------------- */

typedef struct Lit {
  Shape shape;
  int kind; /* 0 bool, 1 int, 2 float */
  int64_t n, cap;
  double *vals;
  int64_t *ivals; /* the same values, exact for ints (a double holds them only to 2^53) */
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
    int64_t *ni = arena_alloc(l->arena, sizeof(int64_t) * (size_t)cap);
    if (t->n) memcpy(nv, t->vals, sizeof(double) * (size_t)t->n);
    if (t->n) memcpy(ni, t->ivals, sizeof(int64_t) * (size_t)t->n);
    t->vals = nv;
    t->ivals = ni;
    t->cap = cap;
  }
  t->ivals[t->n] = kind < 2 ? v->i : 0;
  t->vals[t->n++] = x;
}

/* A constant tensor of the n values; ivals, when given, holds them exactly as ints. */
static Value *const_tensor(L *l, DType dt, Shape sh, const double *vals, const int64_t *ivals,
                           int64_t n, int32_t off) {
  Graph *g = cur_graph(l);
  Attr at = {0};
  at.data = arena_alloc(g->arena, (size_t)(n ? n : 1) * dt_size(dt));
  for (int64_t i = 0; i < n; i++) {
    double x = vals[i];
    switch (dt) {
    case DT_F32: ((float *)at.data)[i] = d2f(x); break;
    case DT_F64: ((double *)at.data)[i] = x; break;
    case DT_I64: ((int64_t *)at.data)[i] = ivals ? ivals[i] : f2i(l, trunc(x), off); break;
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
  lit_walk(l, &lit, data, 0, a->off);
  if (lit.shape.rank > 0 && shape_numel(&lit.shape) == 0) lit.kind = 2; /* tensor([]) is float */
  DType dt = lit.kind == 2 ? DT_F32 : lit.kind == 1 ? DT_I64 : DT_BOOL;
  if (v[1]) dt = want_dtype(l, v[1], a->off);
  Value *t = const_tensor(l, dt, lit.shape, lit.vals, lit.kind < 2 ? lit.ivals : NULL, lit.n, a->off);
  return make_leaf(l, t, want_bool(l, v[2], a->off), a->off);
}

/* A size given as f(2, 3), f((2, 3)), f([2, 3]) or f(torch.Size). */
static Shape size_args(L *l, Args *a, int first, const char *fname) {
  Shape s = {0};
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
    if (d > IR_MAX_NUMEL) lerr(l, a->off, "%s(): dimension %lld is too large", fname, (long long)d);
    s.d[i] = d;
  }
  if (shape_numel(&s) > IR_MAX_NUMEL) lerr(l, a->off, "%s(): tensor too large", fname);
  return s;
}

/* The keyword arguments factory functions share. */
static void factory_kw(L *l, Args *a, const char *fname, DType *dt, bool *rg, Value **fill, int *gen) {
  for (int k = 0; k < a->nkw; k++) {
    const char *n = a->kwnames[k];
    if (!strcmp(n, "dtype")) *dt = want_dtype(l, a->kw[k], a->off);
    else if (!strcmp(n, "generator") && gen) *gen = gen_arg(l, a->kw[k], fname, a->off);
    else if (!strcmp(n, "requires_grad")) *rg = v_truthy(l, a->kw[k], a->off);
    else if (!strcmp(n, "fill_value") && fill) *fill = a->kw[k];
    else if (!strcmp(n, "device")) {
      if (a->kw[k]->k != V_STR || strcmp(a->kw[k]->s, "cpu"))
        lerr(l, a->off, "%s(): ttc compiles for the CPU; device must be 'cpu'", fname);
    } else lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, n);
  }
}

/* A fill with the value v (a Python number): ints exact, past 2^53 included. */
static Value *filled_value(L *l, Shape s, DType dt, Value *v, int32_t off) {
  Value *t = filled(l, s, dt, want_num(l, v, "fill_value", off), off);
  if (v->k == V_INT || v->k == V_BOOL) cur_graph(l)->nodes[t->t.node].attr.i[0] = v->i;
  return t;
}

Value *filled(L *l, Shape s, DType dt, double x, int32_t off) {
  Attr at = {0};
  at.f[0] = x;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  return mk_tensor(l, ir_add_source(g, OP_FILL, dt, s, &at, (Loc){off}));
}

Value *random_source(L *l, Op op, DType dt, Shape s, int gen, int32_t off) {
  Attr at = {0};
  at.f[0] = 0;
  at.f[1] = 1;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  gen_use(l, gen, off);
  Value *t = mk_tensor(l, ir_add_source(g, op, dt, s, &at, (Loc){off}));
  gen_done(l, gen, off);
  return t;
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
  int gen = 0;
  factory_kw(l, a, fname, &dt, &rg, op == OP__COUNT ? &fill : NULL, op == OP_UNIFORM || op == OP_NORMAL ? &gen : NULL);
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
  if (op == OP_FILL) t = fill ? filled_value(l, s, dt, fill, a->off) : filled(l, s, dt, x, a->off);
  else {
    if (!dt_is_float(dt)) lerr(l, a->off, "%s(): expected a floating point dtype", fname);
    t = random_source(l, op, dt, s, gen, a->off);
  }
  return make_leaf(l, t, rg, a->off);
}

B(zeros) { UNUSED(self); return factory(l, a, "zeros", 0, OP_FILL); }
B(ones) { UNUSED(self); return factory(l, a, "ones", 1, OP_FILL); }
B(empty) { UNUSED(self); return factory(l, a, "empty", 0, OP_FILL); }
B(full) { UNUSED(self); return factory(l, a, "full", 0, OP__COUNT); }
B(rand) { UNUSED(self); return factory(l, a, "rand", 0, OP_UNIFORM); }
B(randn) { UNUSED(self); return factory(l, a, "randn", 0, OP_NORMAL); }

/*
 * torch.Tensor(...), the legacy constructor: always the default float dtype. A sequence is
 * data (torch.Tensor([1, 2]) is tensor([1., 2.]), a tuple too), ints or a torch.Size are a
 * shape (uninitialized in PyTorch; zeros in ttc), a tensor is an alias of itself (its
 * dtype kept). It takes no dtype or requires_grad. The bare name Tensor, which Python
 * does not have, stays an alias of tensor() (as tests/torch_ref.py's prelude binds it).
 */
B(torch_Tensor) {
  UNUSED(self);
  for (int k = 0; k < a->nkw; k++) {
    if (strcmp(a->kwnames[k], "device"))
      lerr(l, a->off, "torch.Tensor() got an unexpected keyword argument '%s' (it takes no dtype or "
                      "requires_grad; use torch.tensor)", a->kwnames[k]);
    if (a->kw[k]->k != V_STR || strcmp(a->kw[k]->s, "cpu"))
      lerr(l, a->off, "torch.Tensor(): ttc compiles for the CPU; device must be 'cpu'");
  }
  Value *p0 = a->npos ? a->pos[0] : NULL;
  if (!p0) /* torch.Tensor(): tensor([]) */
    return factory(l, &(Args){.pos = (Value *[]){v_int(l, 0)}, .npos = 1, .off = a->off}, "Tensor", 0, OP_FILL);
  if (a->npos == 1 && p0->k == V_TENSOR) {
    if (!p0->t.requires_grad) return p0; /* the same storage */
    Shape s = tshape(l, p0);
    Attr at = {.ints = ir_ints(cur_graph(l), s.d, s.rank), .nints = s.rank};
    return op1(l, OP_RESHAPE, p0, &at, a->off, "AliasBackward0");
  }
  if (a->npos == 1 && (p0->k == V_LIST || (p0->k == V_TUPLE && !(p0->s && !strcmp(p0->s, "torch.Size"))))) {
    Value *dt = v_new(l, V_DTYPE);
    dt->i = DT_F32;
    return bi_tensor(l, NULL, &(Args){.pos = (Value *[]){p0, dt}, .npos = 2, .off = a->off});
  }
  if (a->npos == 1 && p0->k != V_INT && p0->k != V_TUPLE)
    lerr(l, a->off, "torch.Tensor(): data must be a sequence (got %s)", v_typename(p0));
  for (int i = 0; i < a->npos; i++)
    if (a->pos[i]->k != V_INT && a->pos[i]->k != V_TUPLE)
      lerr(l, a->off, "torch.Tensor(): a size must be ints, got %s", v_typename(a->pos[i]));
  return factory(l, &(Args){.pos = a->pos, .npos = a->npos, .off = a->off}, "Tensor", 0, OP_FILL);
}


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
  int gen = 0;
  if (a->npos == 2) hi = a->pos[0], size = a->pos[1];
  else if (a->npos == 3) lo = a->pos[0], hi = a->pos[1], size = a->pos[2];
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "low")) lo = a->kw[k];
    else if (!strcmp(a->kwnames[k], "high")) hi = a->kw[k];
    else if (!strcmp(a->kwnames[k], "size")) size = a->kw[k];
    else if (!strcmp(a->kwnames[k], "generator")) gen = gen_arg(l, a->kw[k], "randint", a->off);
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
  gen_use(l, gen, a->off);
  Value *t = mk_tensor(l, ir_add_source(g, OP_RANDINT, DT_I64, s, &at, (Loc){a->off}));
  gen_done(l, gen, a->off);
  t->t.leaf = true;
  return t;
}

B(randperm) {
  Value *v[5];
  args_bind(l, "randperm", "n, dtype=None, device=None, requires_grad=False, generator=None", self, a, v, 5);
  int gen = gen_arg(l, v[4], "randperm", a->off);
  int64_t n = want_int(l, v[0], "n", a->off);
  if (n < 0) lerr(l, a->off, "n must be non-negative, got%lld", (long long)n);
  if (n > IR_MAX_NUMEL) lerr(l, a->off, "randperm(): n = %lld is too large", (long long)n);
  if (v[1] && want_dtype(l, v[1], a->off) != DT_I64) lerr(l, a->off, "randperm(): ttc draws int64 permutations only");
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = a->off;
  gen_use(l, gen, a->off);
  Value *t = mk_tensor(l, ir_add_source(g, OP_RANDPERM, DT_I64, (Shape){.rank = 1, .d = {n}}, NULL, (Loc){a->off}));
  gen_done(l, gen, a->off);
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
  Value *r = filled_value(l, tshape(l, t), dt, v[1], a->off);
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
  if (ext_of(l, kend) >= 0 && (!kstart || (kstart->k == V_INT && kstart->i == 0)) &&
      (!kstep || (kstep->k == V_INT && kstep->i == 1))) {
    /* arange(0, t) with t a run-time length (x.size(1) of a [1, B:64] window): positions of
       that length, [B:64] (generate.c) */
    int ld = ext_of(l, kend);
    factory_kw(l, &rest, "arange", &dt, &rg, NULL, NULL);
    ext_use(l, ld, a->off);
    Attr at = {0};
    at.f[1] = 1;
    at.i[1] = 1;
    Shape s = {.rank = 1, .symm = 1u, .d = {l->p->loaders[ld].batch}};
    Value *t = mk_tensor(l, ir_add_source(cur_graph(l), OP_ARANGE, dt, s, &at, (Loc){a->off}));
    return make_leaf(l, t, rg, a->off);
  }
  for (Value **q = (Value *[]){kstart, kend, kstep}, **e = q + 3; q < e; q++)
    if (*q && (*q)->k == V_FLOAT) isfloat = true;
  if (kstart) s0 = want_num(l, kstart, "start", a->off);
  s1 = want_num(l, kend, "end", a->off);
  if (kstep) st = want_num(l, kstep, "step", a->off);
  if (st == 0) lerr(l, a->off, "arange(): step must be nonzero");
  if ((st > 0 && s1 < s0) || (st < 0 && s1 > s0))
    lerr(l, a->off, "arange(): upper bound and larger bound inconsistent with step sign");
  if (isfloat) dt = DT_F32;
  factory_kw(l, &rest, "arange", &dt, &rg, NULL, NULL);
  double cnt = ceil((s1 - s0) / st);
  Attr at = {0};
  at.f[0] = s0;
  at.f[1] = st;
  if (!isfloat && !dt_is_float(dt)) {
    /* int arguments, an integer result: counted and carried exactly (a double holds ints
     * only to 2^53); attr.i holds start and step, attr.f their roundings */
    int64_t i0 = kstart ? want_int(l, kstart, "start", a->off) : 0, i1 = want_int(l, kend, "end", a->off);
    int64_t is = kstep ? want_int(l, kstep, "step", a->off) : 1, diff;
    if (__builtin_sub_overflow(i1, i0, &diff) || diff == INT64_MIN) int_overflow(l, a->off);
    cnt = (double)(diff / is + (diff % is != 0));
    at.i[0] = i0;
    at.i[1] = is;
  }
  if (cnt > (double)IR_MAX_NUMEL) lerr(l, a->off, "arange(): too many elements");
  Shape s = {0};
  s.rank = 1;
  s.d[0] = (int64_t)cnt;
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
  Shape s = {.rank = 1, .d = {n}};
  DType dt = v[3] ? want_dtype(l, v[3], a->off) : DT_F32;
  Value *t = const_tensor(l, dt, s, vals, NULL, n, a->off);
  return make_leaf(l, t, want_bool(l, v[4], a->off), a->off);
}

B(eye) {
  Value *v[4];
  args_bind(l, "eye", "n, m=None, dtype=None, requires_grad=False", self, a, v, 4);
  int64_t n = want_int(l, v[0], "n", a->off), m = v[1] ? want_int(l, v[1], "m", a->off) : n;
  if (n < 0 || m < 0 || n * m > (1 << 24)) lerr(l, a->off, "eye(): bad size");
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n * m + 1));
  for (int64_t i = 0; i < n * m; i++) vals[i] = (i / m == i % m);
  Shape s = {.rank = 2, .d = {n, m}};
  Value *t = const_tensor(l, v[2] ? want_dtype(l, v[2], a->off) : DT_F32, s, vals, NULL, n * m, a->off);
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

Value *ew2(L *l, Op op, Value *x, Value *y, int32_t off, const char *gradfn) {
  Value *ops[2] = {x, y};
  DType dt = result_type(l, ops, 2, off);
  if ((op == OP_DIV || op == OP_POW) && !dt_is_float(dt)) {
    if (op == OP_DIV || (y->k == V_FLOAT)) dt = DT_F32;
  }
  if (op == OP_POW && !dt_is_float(dt)) {
    /* Integer pow, as ATen's powi: exact in the integer type, wrapping on overflow; a
     * negative exponent gives 0 (1 and -1 excepted) when it comes from a tensor, and is
     * PyTorch's error when it is a Python number. */
    if (dt == DT_BOOL) lerr(l, off, "\"pow\" not implemented for 'Bool'");
    if (y->k == V_HOST)
      lerr(l, off, "pow of an integer tensor by an int known only at run time is not supported "
                   "(PyTorch's error for a negative one could not be given); use a float");
    if ((y->k == V_INT || y->k == V_BOOL) && y->i < 0)
      lerr(l, off, "Integers to negative integer powers are not allowed.");
    op = OP_POW_INT;
  }
  Value *tx = to_tensor_dt(l, x, dt, off), *ty = to_tensor_dt(l, y, dt, off);
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, tx);
  in[1] = tnode(l, ty);
  int id = add_node(l, op, in, 2, NULL, off);
  return result(l, id, ops, 2, gradfn);
}

static const char *scalar_gradfn(Value *y, const char *plain, const char *scalar) {
  return y->k == V_TENSOR ? plain : scalar;
}

/*
 * Python's int arithmetic on compile-time ints. Python's ints grow without bound; ttc's
 * are int64_t, so a result outside int64 is a diagnostic at the line, never a silent wrap
 * (a shape or a range() bound computed from a wrapped value would be quietly wrong).
 */

static Value *int_binop(L *l, int op, int64_t x, int64_t y, int32_t off) {
  int64_t r;
  switch (op) {
  case BIN_ADD:
    if (__builtin_add_overflow(x, y, &r)) int_overflow(l, off);
    return v_int(l, r);
  case BIN_SUB:
    if (__builtin_sub_overflow(x, y, &r)) int_overflow(l, off);
    return v_int(l, r);
  case BIN_MUL:
    if (__builtin_mul_overflow(x, y, &r)) int_overflow(l, off);
    return v_int(l, r);
  case BIN_FLOORDIV:
  case BIN_MOD: {
    if (y == 0) lerr(l, off, op == BIN_MOD ? "integer modulo by zero" : "integer division or modulo by zero");
    if (y == -1) { /* also keeps INT64_MIN / -1, which traps, out of C */
      if (op == BIN_MOD) return v_int(l, 0);
      if (x == INT64_MIN) int_overflow(l, off);
      return v_int(l, -x);
    }
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) q--, m += y;
    return v_int(l, op == BIN_MOD ? m : q);
  }
  case BIN_POW: { /* y >= 0: square and multiply, every product checked */
    r = 1;
    for (int64_t base = x; y; ) {
      if ((y & 1) && __builtin_mul_overflow(r, base, &r)) int_overflow(l, off);
      y >>= 1;
      /* a square that overflows is only needed if bits remain, and then |x| >= 2 */
      if (y && __builtin_mul_overflow(base, base, &base)) int_overflow(l, off);
    }
    return v_int(l, r);
  }
  default: lerr(l, off, "unsupported operator for ints");
  }
}

Value *bi_binop(L *l, int op, Value *a, Value *b, int32_t off) {
  bool ta = a->k == V_TENSOR, tb = b->k == V_TENSOR;
  if ((ta && a->t.dyn) || (tb && b->t.dyn)) return dyn_binop(l, op, false, a, b, off);
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
      Value *ops[2] = {a, b};
      DType dt = result_type(l, ops, 2, off);
      /* integers: exact int64 ops (a zero divisor is a run-time error, as in PyTorch) */
      if (!dt_is_float(dt) && dt != DT_BOOL)
        return ew2(l, op == BIN_FLOORDIV ? OP_FLOORDIV : OP_REMAINDER, a, b, off, NULL);
      /* floats: floor(a / b), and a - floor(a / b) * b */
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
      int32_t in[2]; /* one at a time: tnode may add an input node */
      in[0] = tnode(l, x);
      in[1] = tnode(l, y);
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
  if (!isf && op != BIN_DIV && !(op == BIN_POW && b->i < 0)) return int_binop(l, op, a->i, b->i, off);
  double x = a->k == V_FLOAT ? a->f : (double)a->i, y = b->k == V_FLOAT ? b->f : (double)b->i;
  switch (op) {
  case BIN_ADD: return v_float(l, x + y);
  case BIN_SUB: return v_float(l, x - y);
  case BIN_MUL: return v_float(l, x * y);
  case BIN_DIV:
    if (y == 0) lerr(l, off, "%sdivision by zero", isf ? "float " : "");
    return v_float(l, x / y);
  case BIN_FLOORDIV:
    if (y == 0) lerr(l, off, "float floor division by zero");
    return v_float(l, floor(x / y));
  case BIN_MOD:
    if (y == 0) lerr(l, off, "float modulo");
    return v_float(l, x - floor(x / y) * y);
  case BIN_POW:
    if (x == 0 && y < 0) lerr(l, off, "0.0 cannot be raised to a negative power");
    return v_float(l, pow(x, y));
  default: lerr(l, off, "unsupported operator for floats");
  }
}

Value *bi_unop(L *l, int op, Value *a, int32_t off) {
  if (a->k == V_HOST) return host_unop(l, op, a, off);
  if (a->k == V_TENSOR && a->t.dyn) return dyn_unop(l, op, a, off);
  if (a->k == V_TENSOR) {
    if (op == UN_POS) return a;
    if (tdtype(l, a) == DT_BOOL) lerr(l, off, "negation, the `-` operator, on a bool tensor is not supported");
    return op1(l, OP_NEG, a, NULL, off, NULL);
  }
  if (a->k == V_INT || a->k == V_BOOL) {
    if (op == UN_NEG && a->i == INT64_MIN) int_overflow(l, off);
    return v_int(l, op == UN_NEG ? -a->i : a->i);
  }
  if (a->k == V_FLOAT) return v_float(l, op == UN_NEG ? -a->f : a->f);
  lerr(l, off, "bad operand type for unary -: '%s'", v_typename(a));
}

/* Each lookup of a class's name makes a new value: the same class is the same builtin row
 * or the same class statement (type(x) == int, type(x) is int). */
static bool same_class(const Value *a, const Value *b) {
  bool ca = a->k == V_CLASS || (a->k == V_BUILTIN && !a->self), cb = b->k == V_CLASS || (b->k == V_BUILTIN && !b->self);
  if (!ca || !cb || (a->k != V_CLASS && b->k != V_CLASS)) return a == b; /* int is a builtin row */
  return a == b || (a->bi && a->bi == b->bi) || (!a->bi && !b->bi && a->ast && a->ast == b->ast);
}

bool host_eq(L *l, Value *a, Value *b, int32_t off) {
  bool na = a->k == V_INT || a->k == V_BOOL || a->k == V_FLOAT;
  bool nb = b->k == V_INT || b->k == V_BOOL || b->k == V_FLOAT;
  if (na && nb) {
    if (a->k != V_FLOAT && b->k != V_FLOAT) return a->i == b->i;
    return (a->k == V_FLOAT ? a->f : (double)a->i) == (b->k == V_FLOAT ? b->f : (double)b->i);
  }
  if ((a->k == V_CLASS || b->k == V_CLASS)) return same_class(a, b);
  if (a->k != b->k) return false;
  switch (a->k) {
  case V_NONE: return true;
  case V_STR: return !strcmp(a->s, b->s);
  case V_DTYPE: return a->i == b->i;
  case V_CLASS: return same_class(a, b);
  case V_LIST:
  case V_TUPLE:
    if ((a->s && !strcmp(a->s, "set")) || (b->s && !strcmp(b->s, "set"))) return py_set_eq(l, a, b, off);
    if (a->n != b->n) return false;
    for (int i = 0; i < a->n; i++)
      if (!host_eq(l, a->items[i], b->items[i], off)) return false;
    return true;
  case V_DICT: /* the same keys with equal values, in any order */
    if (a->n != b->n) return false;
    for (int i = 0; i + 1 < a->n; i += 2) {
      int j = 0;
      while (j + 1 < b->n && !host_eq(l, a->items[i], b->items[j], off)) j += 2;
      if (j + 1 >= b->n || !host_eq(l, a->items[i + 1], b->items[j + 1], off)) return false;
    }
    return true;
  case V_OBJECT: { /* a dataclass's generated __eq__ compares the fields */
    int eq = dataclass_eq(l, a, b, off);
    return eq >= 0 ? eq : a == b;
  }
  default: return a == b;
  }
}

Value *bi_compare(L *l, int op, Value *a, Value *b, int32_t off) {
  if (op != CMP_IS && op != CMP_ISNOT && ((a->k == V_TENSOR && a->t.dyn) || (b->k == V_TENSOR && b->t.dyn)))
    return dyn_binop(l, op, true, a, b, off);
  if (op == CMP_IS || op == CMP_ISNOT) {
    bool same = a == b || (a->k == V_NONE && b->k == V_NONE) ||
                (a->k == V_BOOL && b->k == V_BOOL && a->i == b->i) ||
                ((a->k == V_CLASS || b->k == V_CLASS) && same_class(a, b));
    return v_bool(l, op == CMP_IS ? same : !same);
  }
  if (op == CMP_IN || op == CMP_NOTIN) {
    bool found = false;
    if (b->k == V_STR && a->k == V_STR) found = strstr(b->s, a->s) != NULL;
    else if (b->k == V_LIST || b->k == V_TUPLE) {
      for (int i = 0; i < b->n && !found; i++) found = host_eq(l, a, b->items[i], off);
    } else if (b->k == V_DICT) {
      for (int i = 0; i + 1 < b->n && !found; i += 2) found = host_eq(l, a, b->items[i], off);
    } else if (moduledict_keys(b)) { /* key in ModuleDict */
      Value *keys = moduledict_keys(b);
      for (int i = 0; i < keys->n && !found; i++) found = host_eq(l, a, keys->items[i], off);
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
  if (ir_ops[op].flags & OPF_FLOAT) /* ops.def: integers compute in float32 */
    x = cast(l, x, dt_is_float(tdtype(l, x)) ? tdtype(l, x) : DT_F32, a->off);
  return op1(l, op, x, NULL, a->off, NULL);
}

#define UNARY(fn, OPC) \
  B(fn) { return unary_builtin(l, self, a, #fn, OPC); }
#define UNARY_SHARED(fn, OPC) /* declared in lower.h */ \
  BI_FN(fn) { return unary_builtin(l, self, a, #fn, OPC); }
UNARY(exp, OP_EXP)
UNARY(log, OP_LOG)
UNARY(sqrt, OP_SQRT)
UNARY(rsqrt, OP_RSQRT)
UNARY_SHARED(abs, OP_ABS)
UNARY(neg, OP_NEG)
BI_FN(relu) { /* F.relu(x, inplace=False) as well as x.relu() and torch.relu(x) */
  Value *v[2];
  args_bind(l, "relu", "input, inplace=False", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "relu", a->off);
  Value *r = op1(l, OP_RELU, x, NULL, a->off, NULL);
  if (v[1] && v_truthy(l, v[1], a->off)) {
    tensor_inplace(l, x, r, a->off);
    return x;
  }
  return r;
}
UNARY_SHARED(sigmoid, OP_SIGMOID)
UNARY_SHARED(tanh, OP_TANH)
UNARY(sin, OP_SIN)
UNARY(cos, OP_COS)
UNARY(log1p, OP_LOG1P)
UNARY(expm1, OP_EXPM1)

B(square) {
  Value *v[1];
  args_bind(l, "square", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "square", a->off);
  return ew2(l, OP_POW, x, v_int(l, 2), a->off, "PowBackward0");
}

BI_FN(gelu) {
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

BI_FN(add) {
  Value *v[3];
  args_bind(l, "add", "input, other, alpha=1", self, a, v, 3);
  Value *o = v[1];
  if (v[2] && !(v[2]->k == V_INT && v[2]->i == 1)) o = bi_binop(l, BIN_MUL, o, v[2], a->off);
  return bi_binop(l, BIN_ADD, v[0], o, a->off);
}
BI_FN(sub) {
  Value *v[3];
  args_bind(l, "sub", "input, other, alpha=1", self, a, v, 3);
  Value *o = v[1];
  if (v[2] && !(v[2]->k == V_INT && v[2]->i == 1)) o = bi_binop(l, BIN_MUL, o, v[2], a->off);
  return bi_binop(l, BIN_SUB, v[0], o, a->off);
}
BI_FN(mul) { return binary_builtin(l, self, a, "mul", BIN_MUL); }
BI_FN(div) { return binary_builtin(l, self, a, "div", BIN_DIV); }
B(floor_divide) { return binary_builtin(l, self, a, "floor_divide", BIN_FLOORDIV); }
B(remainder) { return binary_builtin(l, self, a, "remainder", BIN_MOD); }
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
    int32_t in[3]; /* one at a time: tnode may add an input node */
    in[0] = tnode(l, c);
    in[1] = tnode(l, bound);
    in[2] = tnode(l, x);
    Value *ins[2] = {x, bound};
    x = result(l, add_node(l, OP_WHERE, in, 3, NULL, a->off), ins, 2, "ClampBackward1");
  }
  return x;
}

/* where(c, x, y) as a traced result of x and y; a Python number on either side takes the
 * other side's dtype (where(mask, x, 0) keeps x's). The compositions of ATen's kernels
 * select with it, which also keeps +0 where a product with a 0/1 mask would give -0. */
Value *bi_select(L *l, Value *c, Value *x, Value *y, int32_t off, const char *gradfn) {
  if (x->k != V_TENSOR) x = to_tensor_dt(l, x, tdtype(l, y), off);
  if (y->k != V_TENSOR) y = to_tensor_dt(l, y, tdtype(l, x), off);
  int32_t in[3]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, c);
  in[1] = tnode(l, x);
  in[2] = tnode(l, y);
  Value *ins[2] = {x, y};
  return bi_result(l, add_node(l, OP_WHERE, in, 3, NULL, off), ins, 2, gradfn);
}

B(where) {
  Value *v[3];
  if (!self && a->npos == 1 && a->nkw == 0) return dyn_where1(l, a->pos[0], a->off); /* nonzero */
  args_bind(l, "where", "condition, input, other", self, a, v, 3);
  Value *c = want_tensor(l, v[0], "where", a->off);
  if (tdtype(l, c) != DT_BOOL) lerr(l, a->off, "where(): condition must be a bool tensor, got %s", dt_torch(tdtype(l, c)));
  Value *ops[2] = {v[1], v[2]};
  DType dt = result_type(l, ops, 2, a->off);
  Value *x = to_tensor_dt(l, v[1], dt, a->off), *y = to_tensor_dt(l, v[2], dt, a->off);
  int32_t in[3]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, c);
  in[1] = tnode(l, x);
  in[2] = tnode(l, y);
  int id = add_node(l, OP_WHERE, in, 3, NULL, a->off);
  return result(l, id, ops, 2, NULL);
}

/* ---- reductions -------------------------------------------------------------------- */

/* The dims bitmask for dim=None (all), an int, or a tuple/list of ints. */
int64_t dims_mask(L *l, Value *dim, int rank, int32_t off) {
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

/* The number of elements dims `mask` of x hold, less `minus`: a number, or a 0-d tensor
 * when the run-time batch dimension is among them. */
static Value *count_less(L *l, Value *x, int64_t mask, double minus, int32_t off) {
  Shape s = tshape(l, x);
  double count = 1;
  int batch = 0;
  for (int i = 0; i < s.rank; i++)
    if ((mask >> i) & 1) {
      if (sym_at(&s, i)) batch++;
      else count *= (double)s.d[i];
    }
  if (!batch) return v_float(l, count - minus);
  DType dt = tdtype(l, x);
  Value *bs = mk_tensor(l, ir_add_source(cur_graph(l), OP_BATCH, dt, shape_scalar(), NULL, (Loc){off}));
  while (--batch > 0) {
    Value *b2 = mk_tensor(l, ir_add_source(cur_graph(l), OP_BATCH, dt, shape_scalar(), NULL, (Loc){off}));
    bs = ew2(l, OP_MUL, bs, b2, off, NULL);
  }
  if (count != 1) bs = ew2(l, OP_MUL, bs, v_float(l, count), off, NULL);
  return minus != 0 ? ew2(l, OP_SUB, bs, v_float(l, minus), off, NULL) : bs;
}

Value *reduce(L *l, Op op, Value *x, Value *dim, bool keepdim, int32_t off, const char *gradfn) {
  Shape s = tshape(l, x);
  int64_t mask = dims_mask(l, dim, s.rank, off);
  if (s.rank == 0 || mask == 0) return x;
  if (op == OP_MEAN && (mask & (int64_t)s.symm)) {
    /* a mean over the batch: the sum divided by the run-time batch size times the rest */
    Value *sum = reduce(l, OP_SUM, x, dim, keepdim, off, NULL);
    Value *r = ew2(l, OP_DIV, sum, count_less(l, x, mask, 0, off), off, NULL);
    if (r->t.requires_grad) r->t.gradfn = gradfn;
    return r;
  }
  Attr at = {0};
  at.i[0] = mask;
  at.i[1] = keepdim;
  return op1(l, op, x, &at, off, gradfn);
}

BI_FN(sum) {
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
Value *maxmin(L *l, Value *self, Args *a, bool ismax) {
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
BI_FN(max) { return maxmin(l, self, a, true); }
BI_FN(min) { return maxmin(l, self, a, false); }

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
BI_FN(softmax) { return softmax_like(l, self, a, OP_SOFTMAX, "softmax"); }
BI_FN(log_softmax) { return softmax_like(l, self, a, OP_LOG_SOFTMAX, "log_softmax"); }

/* ---- comparisons by name, tests, and more elementwise math -------------------------------- */

/* torch.eq(x, y) and x.eq(y) & co: the operators' comparisons by name. */
static Value *cmp_builtin(L *l, Value *self, Args *a, const char *fname, int op) {
  Value *v[2];
  args_bind(l, fname, "input, other", self, a, v, 2);
  want_tensor(l, v[0], fname, a->off);
  if (!v[1]) lerr(l, a->off, "%s(): other must not be None", fname);
  return bi_compare(l, op, v[0], v[1], a->off);
}
B(eq) { return cmp_builtin(l, self, a, "eq", CMP_EQ); }
B(ne) { return cmp_builtin(l, self, a, "ne", CMP_NE); }
B(lt) { return cmp_builtin(l, self, a, "lt", CMP_LT); }
B(le) { return cmp_builtin(l, self, a, "le", CMP_LE); }
B(gt) { return cmp_builtin(l, self, a, "gt", CMP_GT); }
B(ge) { return cmp_builtin(l, self, a, "ge", CMP_GE); }

/* isnan: x != x; isinf: |x| == inf; isfinite: |x| < inf (false for NaN). */
static Value *float_test(L *l, Value *self, Args *a, const char *fname) {
  Value *v[1];
  args_bind(l, fname, "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], fname, a->off);
  /* integers are never NaN or infinite (and x != x on them is a compiler warning) */
  if (!dt_is_float(tdtype(l, x))) return filled(l, tshape(l, x), DT_BOOL, !strcmp(fname, "isfinite"), a->off);
  if (!strcmp(fname, "isnan")) return bi_compare(l, CMP_NE, x, x, a->off);
  Value *ax = bi_call(l, "abs", x, NULL, 0, a->off);
  return bi_compare(l, fname[2] == 'i' ? CMP_EQ : CMP_LT, ax, v_float(l, INFINITY), a->off);
}
B(isnan) { return float_test(l, self, a, "isnan"); }
B(isinf) { return float_test(l, self, a, "isinf"); }
B(isfinite) { return float_test(l, self, a, "isfinite"); }

/* any: some element is non-zero (NaN counts); all: none is zero. Over dim, or everything. */
static Value *any_all(L *l, Value *self, Args *a, bool any) {
  const char *fname = any ? "any" : "all";
  Value *v[3];
  args_bind(l, fname, "input, dim=None, keepdim=False", self, a, v, 3);
  Value *x = want_tensor(l, v[0], fname, a->off);
  Value *hit = bi_compare(l, any ? CMP_NE : CMP_EQ, x, v_int(l, 0), a->off);
  Value *n = reduce(l, OP_SUM, cast(l, hit, DT_I64, a->off), v[1], want_bool(l, v[2], a->off), a->off, NULL);
  return bi_compare(l, any ? CMP_GT : CMP_EQ, n, v_int(l, 0), a->off);
}
BI_FN(any) { return any_all(l, self, a, true); }
BI_FN(all) { return any_all(l, self, a, false); }

/* ceil, round (half to even), trunc: integers are already whole and come back as they are. */
static Value *rounding(L *l, Value *self, Args *a, const char *fname, Op op) {
  Value *v[1];
  args_bind(l, fname, "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], fname, a->off);
  if (!dt_is_float(tdtype(l, x))) return x;
  return op1(l, op, x, NULL, a->off, NULL);
}
B(ceil) { return rounding(l, self, a, "ceil", OP_CEIL); }
BI_FN(round) { return rounding(l, self, a, "round", OP_ROUND); }
B(trunc) { return rounding(l, self, a, "trunc", OP_TRUNC); }
B(fix) { return rounding(l, self, a, "fix", OP_TRUNC); }
B(sign) {
  Value *v[1];
  args_bind(l, "sign", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "sign", a->off);
  if (tdtype(l, x) == DT_BOOL) return x;
  return op1(l, OP_SIGN, x, NULL, a->off, NULL);
}
/* frac: x - trunc(x), as ATen computes it */
B(frac) {
  Value *v[1];
  args_bind(l, "frac", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "frac", a->off);
  if (!dt_is_float(tdtype(l, x))) lerr(l, a->off, "frac(): expected a floating point tensor");
  return ew2(l, OP_SUB, x, op1(l, OP_TRUNC, x, NULL, a->off, NULL), a->off, "FracBackward0");
}
B(reciprocal) {
  Value *v[1];
  args_bind(l, "reciprocal", "input", self, a, v, 1);
  return bi_binop(l, BIN_DIV, v_int(l, 1), want_tensor(l, v[0], "reciprocal", a->off), a->off);
}

/* masked_fill(mask, value): value where mask is true, x elsewhere, in x's dtype. */
B(masked_fill) {
  Value *v[3];
  args_bind(l, "masked_fill", "input, mask, value", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "masked_fill", a->off), *m = want_tensor(l, v[1], "masked_fill", a->off);
  if (tdtype(l, m) != DT_BOOL)
    lerr(l, a->off, "masked_fill only supports boolean masks, but got mask with dtype %s", dt_torch(tdtype(l, m)));
  if (!v[2]) lerr(l, a->off, "masked_fill(): value must not be None");
  return bi_select(l, m, to_tensor_dt(l, v[2], tdtype(l, x), a->off), x, a->off, "MaskedFillBackward0");
}

/* ---- variance, standard deviation, norms ------------------------------------------------- */

/* var(dim=None, unbiased=True, keepdim=False, correction=None): the mean of the squared
 * deviations, divided by N - correction (1 unless unbiased=False or correction says). */
static Value *variance(L *l, Value *self, Args *a, const char *fname, bool root) {
  Value *v[5];
  args_bind(l, fname, "input, dim=None, unbiased=True, keepdim=False, correction=None", self, a, v, 5);
  Value *x = want_tensor(l, v[0], fname, a->off), *dim = v[1];
  double corr = 1;
  if (dim && dim->k == V_BOOL) { /* var(input, unbiased) */
    corr = dim->i ? 1 : 0;
    dim = NULL;
  } else if (v[2] && !v_truthy(l, v[2], a->off)) {
    corr = 0;
  }
  if (v[4]) corr = want_num(l, v[4], "correction", a->off);
  if (!dt_is_float(tdtype(l, x))) lerr(l, a->off, "%s(): expected a floating point tensor", fname);
  bool keep = want_bool(l, v[3], a->off);
  Shape s = tshape(l, x);
  int64_t mask = dims_mask(l, dim, s.rank, a->off);
  if (s.rank == 0) mask = 0;
  Value *mean = bi_call(l, "mean", x, NULL, 0, a->off);
  if (dim) {
    Value *pos[2] = {dim, l->vtrue};
    mean = bi_call(l, "mean", x, pos, 2, a->off);
  }
  Value *d = bi_binop(l, BIN_SUB, x, mean, a->off);
  Value *ss = reduce(l, OP_SUM, bi_binop(l, BIN_MUL, d, d, a->off), dim, keep, a->off, NULL);
  if (s.rank == 0) ss = bi_binop(l, BIN_MUL, d, d, a->off);
  Value *r = bi_binop(l, BIN_DIV, ss, count_less(l, x, s.rank ? mask : 0, corr, a->off), a->off);
  if (root) r = bi_call(l, "sqrt", r, NULL, 0, a->off);
  if (r->t.requires_grad) r->t.gradfn = root ? "StdBackward0" : "VarBackward0";
  return r;
}
B(var) { return variance(l, self, a, "var", false); }
B(std) { return variance(l, self, a, "std", true); }

/* norm(p='fro', dim=None, keepdim=False): the 2-norm (p 2 or 'fro'), the 1-norm, the
 * largest magnitude (p inf), or (sum |x|^p)^(1/p). */
B(norm) {
  Value *v[5];
  args_bind(l, "norm", "input, p='fro', dim=None, keepdim=False, dtype=None", self, a, v, 5);
  Value *x = want_tensor(l, v[0], "norm", a->off);
  if (v[4]) x = cast(l, x, want_dtype(l, v[4], a->off), a->off);
  if (!dt_is_float(tdtype(l, x))) lerr(l, a->off, "norm(): expected a floating point tensor");
  double p = 2;
  if (v[1] && v[1]->k == V_STR) {
    if (strcmp(v[1]->s, "fro")) lerr(l, a->off, "norm(): p='%s' is not supported (use 'fro' or a number)", v[1]->s);
  } else if (v[1]) {
    p = want_num(l, v[1], "p", a->off);
  }
  bool keep = want_bool(l, v[3], a->off);
  Value *ax = bi_call(l, "abs", x, NULL, 0, a->off), *r;
  if (isinf(p)) {
    r = reduce(l, p > 0 ? OP_MAX : OP_MIN, ax, v[2], keep, a->off, NULL);
  } else if (p == 1) {
    r = reduce(l, OP_SUM, ax, v[2], keep, a->off, NULL);
  } else if (p == 2) {
    r = bi_call(l, "sqrt", reduce(l, OP_SUM, bi_binop(l, BIN_MUL, x, x, a->off), v[2], keep, a->off, NULL), NULL, 0, a->off);
  } else {
    if (p <= 0) lerr(l, a->off, "norm(): p must be positive in ttc, got %g", p);
    Value *sp = reduce(l, OP_SUM, bi_binop(l, BIN_POW, ax, v_float(l, p), a->off), v[2], keep, a->off, NULL);
    r = bi_binop(l, BIN_POW, sp, v_float(l, 1 / p), a->off);
  }
  if (r->t.requires_grad) r->t.gradfn = "NormBackward1";
  return r;
}

/* x.new_zeros(size) & co: the factory with x's dtype, unless the call names another. */
static Value *new_like(L *l, Value *self, Args *a, const char *fname, const char *factory_name) {
  Value *x = want_tensor(l, self, fname, a->off);
  Args b = *a;
  bool has = false;
  for (int k = 0; k < a->nkw; k++) has |= !strcmp(a->kwnames[k], "dtype");
  if (!has) {
    b.kwnames = arena_alloc(l->arena, sizeof(const char *) * (size_t)(a->nkw + 1));
    b.kw = arena_alloc(l->arena, sizeof(Value *) * (size_t)(a->nkw + 1));
    for (int k = 0; k < a->nkw; k++) b.kwnames[k] = a->kwnames[k], b.kw[k] = a->kw[k];
    Value *d = v_new(l, V_DTYPE);
    d->i = tdtype(l, x);
    b.kwnames[b.nkw] = "dtype";
    b.kw[b.nkw++] = d;
  }
  return bi_lookup(factory_name, BI_FUNC)->fn(l, NULL, &b);
}
B(new_zeros) { return new_like(l, self, a, "new_zeros", "zeros"); }
B(new_ones) { return new_like(l, self, a, "new_ones", "ones"); }
B(new_empty) { return new_like(l, self, a, "new_empty", "empty"); }
B(new_full) { return new_like(l, self, a, "new_full", "full"); }
B(new_tensor) { return new_like(l, self, a, "new_tensor", "tensor"); }

/* logsumexp(dim, keepdim=False): log(sum(exp(x - m))) + m with m the (detached) maximum,
 * an infinite maximum taken as 0, as ATen computes it; the gradient is softmax(x). */
B(logsumexp) {
  Value *v[3];
  args_bind(l, "logsumexp", "input, dim, keepdim=False", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "logsumexp", a->off);
  if (!dt_is_float(tdtype(l, x))) x = cast(l, x, DT_F32, a->off);
  bool keep = want_bool(l, v[2], a->off);
  Value *m = reduce(l, OP_MAX, x, v[1], true, a->off, NULL);
  int32_t in = tnode(l, m);
  m = mk_tensor(l, add_node(l, OP_DETACH, &in, 1, NULL, a->off));
  Value *inf = bi_compare(l, CMP_EQ, bi_call(l, "abs", m, NULL, 0, a->off), v_float(l, INFINITY), a->off);
  m = bi_select(l, inf, v_int(l, 0), m, a->off, NULL);
  Value *e = bi_call(l, "exp", bi_binop(l, BIN_SUB, x, m, a->off), NULL, 0, a->off);
  Value *s = bi_call(l, "log", reduce(l, OP_SUM, e, v[1], keep, a->off, NULL), NULL, 0, a->off);
  Value *mk = keep ? m : reduce(l, OP_SUM, m, v[1], false, a->off, NULL); /* drop the kept dims */
  Value *r = bi_binop(l, BIN_ADD, s, mk, a->off);
  if (r->t.requires_grad) r->t.gradfn = "LogsumexpBackward0";
  return r;
}

/* isclose: |a - b| <= atol + rtol * |b|, NaNs equal when equal_nan; allclose: all of it,
 * as a Python bool; equal: same shape and all elements equal. */
static Value *close_test(L *l, Value *self, Args *a, const char *fname) {
  Value *v[5];
  args_bind(l, fname, "input, other, rtol=1e-05, atol=1e-08, equal_nan=False", self, a, v, 5);
  Value *x = want_tensor(l, v[0], fname, a->off), *y = want_tensor(l, v[1], fname, a->off);
  double rtol = want_num(l, v[2], "rtol", a->off), atol = want_num(l, v[3], "atol", a->off);
  Value *tol = bi_binop(l, BIN_ADD, v_float(l, atol), bi_binop(l, BIN_MUL, v_float(l, rtol), bi_call(l, "abs", y, NULL, 0, a->off), a->off), a->off);
  Value *d = bi_call(l, "abs", bi_binop(l, BIN_SUB, x, y, a->off), NULL, 0, a->off);
  /* equal values first: infinities of one sign are close (their difference is NaN) */
  Value *c = bi_compare(l, CMP_LE, d, tol, a->off);
  Value *same = bi_compare(l, CMP_EQ, x, y, a->off);
  Value *c64 = cast(l, c, DT_I64, a->off);
  Value *r = bi_compare(l, CMP_GT, bi_binop(l, BIN_ADD, c64, cast(l, same, DT_I64, a->off), a->off), v_int(l, 0), a->off);
  if (v[4] && v_truthy(l, v[4], a->off) && dt_is_float(tdtype(l, x)) && dt_is_float(tdtype(l, y))) {
    Value *xnan = cast(l, bi_compare(l, CMP_NE, x, x, a->off), DT_I64, a->off);
    Value *nn = bi_binop(l, BIN_MUL, xnan, cast(l, bi_compare(l, CMP_NE, y, y, a->off), DT_I64, a->off), a->off);
    r = bi_compare(l, CMP_GT, bi_binop(l, BIN_ADD, cast(l, r, DT_I64, a->off), nn, a->off), v_int(l, 0), a->off);
  }
  return r;
}
B(isclose) { return close_test(l, self, a, "isclose"); }
B(allclose) {
  Value *r = close_test(l, self, a, "allclose");
  return tensor_item(l, any_all(l, r, &(Args){.off = a->off}, false), a->off);
}
B(equal) {
  Value *v[2];
  args_bind(l, "equal", "input, other", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "equal", a->off), *y = want_tensor(l, v[1], "equal", a->off);
  Shape sx = tshape(l, x), sy = tshape(l, y);
  if (!shape_eq(&sx, &sy)) return l->vfalse;
  Value *r = bi_compare(l, CMP_EQ, x, y, a->off);
  return tensor_item(l, any_all(l, r, &(Args){.off = a->off}, false), a->off);
}

/* ---- sorting ------------------------------------------------------------------------------ */

/* The positions that sort x along dim (a stable sort; bools and small ints as int64). */
static Value *argsort_of(L *l, Value *x, int64_t dim, bool desc, int32_t off, int *d_out) {
  Shape s = tshape(l, x);
  int d = normdim(l, dim, s.rank ? s.rank : 1, off);
  DType dt = tdtype(l, x);
  if (dt != DT_F32 && dt != DT_F64) x = cast(l, x, DT_I64, off);
  Attr at = {0};
  at.i[0] = d;
  at.i[1] = desc;
  int32_t in = tnode(l, x);
  Value *r = mk_tensor(l, add_node(l, OP_ARGSORT, &in, 1, &at, off));
  if (d_out) *d_out = d;
  return r;
}

B(argsort) {
  Value *v[4];
  args_bind(l, "argsort", "input, dim=-1, descending=False, stable=False", self, a, v, 4);
  return argsort_of(l, want_tensor(l, v[0], "argsort", a->off), want_int(l, v[1], "dim", a->off), want_bool(l, v[2], a->off), a->off, NULL);
}

/* (values, indices), printed as torch.return_types.<name>(values=..., indices=...) */
static Value *values_indices(L *l, const char *name, Value *vals, Value *idx) {
  Value *r = v_tuple(l, 2);
  r->s = name;
  r->items[0] = vals, r->items[1] = idx;
  return r;
}

B(sort) {
  Value *v[4];
  args_bind(l, "sort", "input, dim=-1, descending=False, stable=False", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "sort", a->off);
  int d;
  Value *idx = argsort_of(l, x, want_int(l, v[1], "dim", a->off), want_bool(l, v[2], a->off), a->off, &d);
  Value *pos[2] = {v_int(l, d), idx};
  Value *vals = bi_call(l, "gather", x, pos, 2, a->off);
  if (vals->t.requires_grad) vals->t.gradfn = "SortBackward0";
  return values_indices(l, "sort", vals, idx);
}

/* topk(k, dim=-1, largest=True, sorted=True): the first k of a sort along dim. */
B(topk) {
  Value *v[5];
  args_bind(l, "topk", "input, k, dim=-1, largest=True, sorted=True", self, a, v, 5);
  Value *x = want_tensor(l, v[0], "topk", a->off);
  Shape s = tshape(l, x);
  int64_t k = want_int(l, v[1], "k", a->off);
  int d;
  Value *idx = argsort_of(l, x, want_int(l, v[2], "dim", a->off), !v[3] || v_truthy(l, v[3], a->off), a->off, &d);
  int64_t len = s.rank ? s.d[d] : 1;
  if (k < 0 || k > len) lerr(l, a->off, "selected index k out of range");
  if (sym_at(&s, d)) lerr(l, a->off, "topk(): ttc cannot select along the batch dimension");
  if (s.rank && k < len) {
    IndexItem it[TT_MAX_RANK];
    for (int i = 0; i <= d; i++) {
      it[i].kind = IX_SLICE, it[i].lo = it[i].hi = it[i].st = NULL, it[i].off = a->off;
      if (i == d) it[i].hi = v_int(l, k);
    }
    idx = bi_index(l, idx, it, d + 1, true, a->off);
  }
  Value *pos[2] = {v_int(l, d), idx};
  Value *vals = bi_call(l, "gather", x, pos, 2, a->off);
  if (vals->t.requires_grad) vals->t.gradfn = "TopkBackward0";
  return values_indices(l, "topk", vals, idx);
}

/* cumsum(dim): running sums (bools and small ints summed as int64, as PyTorch). */
B(cumsum) {
  Value *v[3];
  args_bind(l, "cumsum", "input, dim, dtype=None", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "cumsum", a->off);
  Shape s = tshape(l, x);
  int d = normdim(l, want_int(l, v[1], "dim", a->off), s.rank ? s.rank : 1, a->off);
  DType dt = tdtype(l, x);
  if (v[2]) x = cast(l, x, want_dtype(l, v[2], a->off), a->off);
  else if (!dt_is_float(dt) && dt != DT_I64) x = cast(l, x, DT_I64, a->off);
  Attr at = {0};
  at.i[0] = d;
  return op1(l, OP_CUMSUM, x, &at, a->off, "CumsumBackward0");
}

/* F.normalize(p=2, dim=1, eps=1e-12): x / max(||x||_p, eps) along dim. */
B(normalize) {
  Value *v[4];
  args_bind(l, "normalize", "input, p=2.0, dim=1, eps=1e-12", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "normalize", a->off);
  Value *pos[4] = {v[1], v[2], l->vtrue};
  Value *n = bi_norm(l, x, &(Args){.pos = pos, .npos = 3, .off = a->off});
  Value *cpos[1] = {v[3]};
  Value *d = bi_clamp(l, n, &(Args){.pos = cpos, .npos = 1, .off = a->off});
  return bi_binop(l, BIN_DIV, x, d, a->off);
}

/* F.cosine_similarity(dim=1, eps=1e-8): each input divided by its norm (at least eps),
 * then the product summed over dim, as ATen 1.13 computes it. */
B(cosine_similarity) {
  Value *v[4];
  args_bind(l, "cosine_similarity", "x1, x2, dim=1, eps=1e-08", self, a, v, 4);
  Value *x[2] = {want_tensor(l, v[0], "cosine_similarity", a->off), want_tensor(l, v[1], "cosine_similarity", a->off)};
  for (int i = 0; i < 2; i++) {
    if (!dt_is_float(tdtype(l, x[i]))) x[i] = cast(l, x[i], DT_F32, a->off);
    Value *pos[3] = {v_int(l, 2), v[2], l->vtrue};
    Value *n = bi_norm(l, x[i], &(Args){.pos = pos, .npos = 3, .off = a->off});
    Value *cpos[1] = {v[3]};
    x[i] = bi_binop(l, BIN_DIV, x[i], bi_clamp(l, n, &(Args){.pos = cpos, .npos = 1, .off = a->off}), a->off);
  }
  return reduce(l, OP_SUM, bi_binop(l, BIN_MUL, x[0], x[1], a->off), v[2], false, a->off, NULL);
}

/* ---- small linear algebra and friends, composed as PyTorch defines them ------------------ */

/* r, shown with PyTorch's grad_fn name for the composed op */
static Value *named_grad(Value *r, const char *gradfn) {
  if (r->t.requires_grad) r->t.gradfn = gradfn;
  return r;
}

static Value *want_rank(L *l, Value *v, int rank, const char *fname, int32_t off) {
  Value *t = want_tensor(l, v, fname, off);
  if (tshape(l, t).rank != rank) lerr(l, off, "%s(): expected a %d-D tensor", fname, rank);
  return t;
}

B(dot) { /* 1-D inner product */
  Value *v[2];
  args_bind(l, "dot", "input, other", self, a, v, 2);
  Value *x = want_rank(l, v[0], 1, "dot", a->off), *y = want_rank(l, v[1], 1, "dot", a->off);
  return bi_binop(l, BIN_MATMUL, x, y, a->off);
}

B(outer) { /* x[:, None] * y[None, :] */
  Value *v[2];
  args_bind(l, "outer", "input, vec2", self, a, v, 2);
  Value *x = want_rank(l, v[0], 1, "outer", a->off), *y = want_rank(l, v[1], 1, "outer", a->off);
  Value *xc = bi_call(l, "unsqueeze", x, (Value *[]){v_int(l, 1)}, 1, a->off);
  return bi_binop(l, BIN_MUL, xc, y, a->off);
}

B(mv) {
  Value *v[2];
  args_bind(l, "mv", "input, vec", self, a, v, 2);
  Value *m = want_rank(l, v[0], 2, "mv", a->off);
  return bi_binop(l, BIN_MATMUL, m, want_rank(l, v[1], 1, "mv", a->off), a->off);
}

B(addmm) { /* beta * input + alpha * (mat1 @ mat2) */
  Value *v[5];
  args_bind(l, "addmm", "input, mat1, mat2, beta=1, alpha=1", self, a, v, 5);
  Value *m1 = want_rank(l, v[1], 2, "addmm", a->off);
  Value *p = bi_binop(l, BIN_MATMUL, m1, want_rank(l, v[2], 2, "addmm", a->off), a->off);
  Value *in = want_tensor(l, v[0], "addmm", a->off);
  if (!(v[4]->k == V_INT && v[4]->i == 1)) p = bi_binop(l, BIN_MUL, p, v[4], a->off);
  if (!(v[3]->k == V_INT && v[3]->i == 1)) in = bi_binop(l, BIN_MUL, in, v[3], a->off);
  return named_grad(bi_binop(l, BIN_ADD, in, p, a->off), "AddmmBackward0");
}

/* amax/amin(dim=(), keepdim=False): the extreme over dims (all when none given). */
static Value *amaxmin(L *l, Value *self, Args *a, bool ismax) {
  const char *fname = ismax ? "amax" : "amin";
  Value *v[3];
  args_bind(l, fname, "input, dim=None, keepdim=False", self, a, v, 3);
  Value *x = want_tensor(l, v[0], fname, a->off), *dim = v[1];
  if (dim && (dim->k == V_TUPLE || dim->k == V_LIST) && dim->n == 0) dim = NULL;
  return reduce(l, ismax ? OP_MAX : OP_MIN, x, dim, want_bool(l, v[2], a->off), a->off, ismax ? "AmaxBackward0" : "AminBackward0");
}
B(amax) { return amaxmin(l, self, a, true); }
B(amin) { return amaxmin(l, self, a, false); }

static Value *clamp_one(L *l, Value *self, Args *a, const char *fname, bool lo) {
  Value *v[2];
  args_bind(l, fname, lo ? "input, min" : "input, max", self, a, v, 2);
  Value *pos[1] = {v[1]};
  const char *kn[1] = {lo ? "min" : "max"};
  Args ca = {.pos = &v[0], .npos = 1, .kwnames = kn, .kw = pos, .nkw = 1, .off = a->off};
  return named_grad(bi_clamp(l, NULL, &ca), lo ? "ClampMinBackward0" : "ClampMaxBackward0");
}
B(clamp_min) { return clamp_one(l, self, a, "clamp_min", true); }
B(clamp_max) { return clamp_one(l, self, a, "clamp_max", false); }

/* log2 / log10 as log(x) / log(base); exp2 as 2 ** x */
static Value *log_base(L *l, Value *self, Args *a, const char *fname, double base) {
  Value *v[1];
  args_bind(l, fname, "input", self, a, v, 1);
  Value *lg = bi_call(l, "log", want_tensor(l, v[0], fname, a->off), NULL, 0, a->off);
  return named_grad(bi_binop(l, BIN_DIV, lg, v_float(l, log(base)), a->off), base == 2 ? "Log2Backward0" : "Log10Backward0");
}
B(log2) { return log_base(l, self, a, "log2", 2); }
B(log10) { return log_base(l, self, a, "log10", 10); }
B(exp2) {
  Value *v[1];
  args_bind(l, "exp2", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "exp2", a->off);
  if (!dt_is_float(tdtype(l, x))) x = cast(l, x, DT_F32, a->off);
  return named_grad(bi_binop(l, BIN_POW, v_float(l, 2.0), x, a->off), "Exp2Backward0");
}

/* tril/triu(diagonal=0): x where the column is <= (>=) row + diagonal, else 0, over the
 * last two dims. */
static Value *tri(L *l, Value *self, Args *a, const char *fname, bool lower) {
  Value *v[2];
  args_bind(l, fname, "input, diagonal=0", self, a, v, 2);
  Value *x = want_tensor(l, v[0], fname, a->off);
  Shape s = tshape(l, x);
  if (s.rank < 2) lerr(l, a->off, "%s: input tensor must have at least 2 dimensions", fname);
  int64_t R = s.d[s.rank - 2], C = s.d[s.rank - 1], k = want_int(l, v[1], "diagonal", a->off);
  Value *r = bi_call(l, "unsqueeze", bi_call(l, "arange", NULL, (Value *[]){v_int(l, R)}, 1, a->off), (Value *[]){v_int(l, 1)}, 1, a->off);
  Value *c = bi_call(l, "arange", NULL, (Value *[]){v_int(l, C)}, 1, a->off);
  Value *keep = bi_compare(l, lower ? CMP_LE : CMP_GE, c, bi_binop(l, BIN_ADD, r, v_int(l, k), a->off), a->off);
  return bi_select(l, keep, x, v_int(l, 0), a->off, lower ? "TrilBackward0" : "TriuBackward0");
}
B(tril) { return tri(l, self, a, "tril", true); }
B(triu) { return tri(l, self, a, "triu", false); }

/* diag: a 1-D tensor as the diagonal of a square matrix, or a matrix's main diagonal */
B(diag) {
  Value *v[2];
  args_bind(l, "diag", "input, diagonal=0", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "diag", a->off);
  Shape s = tshape(l, x);
  if (want_int(l, v[1], "diagonal", a->off) != 0) lerr(l, a->off, "diag(): ttc supports the main diagonal only");
  if (s.rank == 1) { /* where(eye, v, 0): +0 off the diagonal */
    Value *eye = bi_call(l, "eye", NULL, (Value *[]){v_int(l, s.d[0])}, 1, a->off);
    Value *row = bi_call(l, "unsqueeze", x, (Value *[]){v_int(l, 0)}, 1, a->off);
    return bi_select(l, bi_compare(l, CMP_NE, eye, v_int(l, 0), a->off), row, v_int(l, 0), a->off, "DiagBackward0");
  }
  if (s.rank != 2 || s.symm) lerr(l, a->off, "diag(): expected a 1-D or 2-D tensor");
  int64_t n = s.d[0] < s.d[1] ? s.d[0] : s.d[1];
  Value *idx = bi_call(l, "unsqueeze", bi_call(l, "arange", NULL, (Value *[]){v_int(l, n)}, 1, a->off), (Value *[]){v_int(l, 1)}, 1, a->off);
  Value *rows = bi_call(l, "index_select", x, (Value *[]){v_int(l, 0), bi_call(l, "squeeze", idx, (Value *[]){v_int(l, 1)}, 1, a->off)}, 2, a->off);
  Value *pos[2] = {v_int(l, 1), idx};
  return named_grad(bi_call(l, "squeeze", bi_call(l, "gather", rows, pos, 2, a->off), (Value *[]){v_int(l, 1)}, 1, a->off), "DiagBackward0");
}

B(trace) {
  Value *v[1];
  args_bind(l, "trace", "input", self, a, v, 1);
  Value *d = bi_call(l, "diag", want_rank(l, v[0], 2, "trace", a->off), NULL, 0, a->off);
  return reduce(l, OP_SUM, d, NULL, false, a->off, "TraceBackward0");
}

/* ---- products, medians and more reductions ------------------------------------------------ */

/* prod(dim=None, keepdim=False, dtype=None): the product over everything or one dim; bools
 * and small ints multiply as int64, as PyTorch. Its gradient is ATen's: result / x, with
 * zeros in the slice handled exactly (passes/autodiff.c, grad_prod). */
B(prod) {
  Value *v[4];
  args_bind(l, "prod", "input, dim=None, keepdim=False, dtype=None", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "prod", a->off);
  DType dt = tdtype(l, x);
  if (v[3]) x = cast(l, x, want_dtype(l, v[3], a->off), a->off);
  else if (!dt_is_float(dt) && dt != DT_I64) x = cast(l, x, DT_I64, a->off);
  if (v[1] && v[1]->k != V_INT) lerr(l, a->off, "prod(): dim must be an int, not %s", v_typename(v[1]));
  return reduce(l, OP_PROD, x, v[1], want_bool(l, v[2], a->off), a->off, v[1] ? "ProdBackward1" : "ProdBackward0");
}

/* median(): the lower median of all elements (the first NaN if any), a 0-d tensor whose
 * gradient is shared evenly by the elements equal to it (ATen's evenly_distribute_backward);
 * median(dim, keepdim=False): (values, indices) along dim, the index the one a stable sort
 * puts in the middle (runtime/sort.c, tt_median_index_*), the gradient going to it. */
B(median) {
  Value *v[3];
  args_bind(l, "median", "input, dim=None, keepdim=False", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "median", a->off);
  DType dt = tdtype(l, x);
  if (dt == DT_BOOL) lerr(l, a->off, "median(): \"median_cpu\" not implemented for 'Bool'");
  Value *xi = dt_is_float(dt) ? x : cast(l, x, DT_I64, a->off); /* the kernel's dtypes */
  Shape s = tshape(l, x);
  Attr at = {0};
  if (!v[1]) {
    if (shape_numel(&s) == 0 && !s.symm)
      lerr(l, a->off, "median() operation does not have an identity for empty input tensor");
    Value *idx = op1(l, OP_MEDIAN_INDEX, xi, &at, a->off, NULL); /* into the flattened x */
    Value *flat = bi_call(l, "reshape", x, (Value *[]){v_int(l, -1)}, 1, a->off);
    Value *one = bi_call(l, "reshape", idx, (Value *[]){v_int(l, 1)}, 1, a->off);
    Value *m = bi_call(l, "gather", flat, (Value *[]){v_int(l, 0), one}, 2, a->off);
    m = bi_call(l, "reshape", m, (Value *[]){v_tuple(l, 0)}, 1, a->off);
    if (!m->t.requires_grad) return m;
    /* max(where(x is m, x, -inf)): the value is m, and max's gradient rule shares the
     * gradient evenly among the elements equal to it, as ATen's median does */
    Value *md = bi_call(l, "detach", m, NULL, 0, a->off);
    Value *mask = bi_compare(l, CMP_EQ, x, md, a->off);
    Value *md_nan = bi_compare(l, CMP_NE, md, md, a->off);
    mask = bi_select(l, md_nan, bi_compare(l, CMP_NE, x, x, a->off), mask, a->off, NULL);
    Value *r = reduce(l, OP_MAX, bi_select(l, mask, x, v_float(l, -INFINITY), a->off, NULL), NULL, false, a->off, NULL);
    r->t.gradfn = "MedianBackward0";
    return r;
  }
  bool keep = want_bool(l, v[2], a->off);
  int d = normdim(l, want_int(l, v[1], "dim", a->off), s.rank, a->off);
  if (s.rank == 0) /* a 0-d tensor is its own median, at index 0 */
    return values_indices(l, "median", x, filled(l, s, DT_I64, 0, a->off));
  if (s.d[d] == 0 && !sym_at(&s, d))
    lerr(l, a->off, "median() cannot compute median for a dimension of size 0 because the operation does not have an identity");
  at.i[0] = 1LL << d;
  at.i[1] = 1;
  Value *idx = op1(l, OP_MEDIAN_INDEX, xi, &at, a->off, NULL);
  Value *vals = bi_call(l, "gather", x, (Value *[]){v_int(l, d), idx}, 2, a->off);
  if (!keep) {
    vals = bi_call(l, "squeeze", vals, (Value *[]){v_int(l, d)}, 1, a->off);
    idx = bi_call(l, "squeeze", idx, (Value *[]){v_int(l, d)}, 1, a->off);
  }
  if (vals->t.requires_grad) vals->t.gradfn = "MedianBackward1";
  return values_indices(l, "median", vals, idx);
}

/* ---- more creation: normal, logspace, as_tensor, bincount ---------------------------------- */

/* A fresh draw of N(mean, std) of shape s and dtype dt from generator gen (0: the default). */
static Value *normal_draw(L *l, Shape s, DType dt, double mean, double std, int gen, int32_t off) {
  if (!dt_is_float(dt)) lerr(l, off, "normal(): expected a floating point dtype, got %s", dt_torch(dt));
  if (std < 0) lerr(l, off, "normal expects std >= 0.0, but found std %g", std);
  Attr at = {0};
  at.f[0] = mean;
  at.f[1] = std;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  gen_use(l, gen, off);
  Value *r = mk_tensor(l, ir_add_source(g, OP_NORMAL, dt, s, &at, (Loc){off}));
  gen_done(l, gen, off);
  return r;
}

/* torch.normal(mean, std, size): numbers and a size draw as x.normal_(mean, std); with a
 * tensor mean or std the draw has their broadcast shape and is ATen's: N(0, std) + mean for
 * a number std, N(0, 1) * std + mean otherwise (gradients flow to mean and std). */
B(normal) {
  Value *v[7];
  args_bind(l, "normal", "mean, std=1.0, size=None, generator=None, dtype=None, requires_grad=False, device=None", self, a, v, 7);
  Value *mean = v[0], *std = v[1] ? v[1] : v_float(l, 1);
  if (!mean) lerr(l, a->off, "normal(): mean must not be None");
  int gen = gen_arg(l, v[3], "normal", a->off);
  if (v[6] && (v[6]->k != V_STR || strcmp(v[6]->s, "cpu"))) lerr(l, a->off, "normal(): ttc compiles for the CPU; device must be 'cpu'");
  bool tm = mean->k == V_TENSOR, ts = std->k == V_TENSOR;
  if (!tm && !ts) {
    if (!v[2]) lerr(l, a->off, "normal(): with a number mean and std, give a size: normal(mean, std, size)");
    Args sa = {.pos = &v[2], .npos = 1, .off = a->off};
    Shape s = size_args(l, &sa, 0, "normal");
    DType dt = v[4] ? want_dtype(l, v[4], a->off) : DT_F32;
    Value *r = normal_draw(l, s, dt, want_num(l, mean, "mean", a->off), want_num(l, std, "std", a->off), gen, a->off);
    return make_leaf(l, r, want_bool(l, v[5], a->off), a->off);
  }
  if (v[2]) lerr(l, a->off, "normal(): size is given only with a number mean and std");
  Value *ref = tm ? mean : std;
  DType dt = tdtype(l, ref);
  if (!dt_is_float(dt)) lerr(l, a->off, "normal(): expected a floating point tensor, got %s", dt_torch(dt));
  Shape s = tshape(l, ref);
  if (tm && ts) {
    Shape s1 = tshape(l, mean), s2 = tshape(l, std);
    if (!ir_broadcast(&s1, &s2, &s))
      lerr(l, a->off, "normal(): mean and std shapes do not broadcast");
  }
  Value *r;
  const char *gf;
  if (tm && !ts) {
    r = bi_binop(l, BIN_ADD, normal_draw(l, s, dt, 0, want_num(l, std, "std", a->off), gen, a->off), mean, a->off);
    gf = "NormalBackward1";
  } else {
    r = bi_binop(l, BIN_ADD, bi_binop(l, BIN_MUL, normal_draw(l, s, dt, 0, 1, gen, a->off), std, a->off), mean, a->off);
    gf = tm ? "NormalBackward3" : "NormalBackward2";
  }
  if (r->t.requires_grad) r->t.gradfn = gf;
  return r;
}

/* logspace(start, end, steps, base=10.0): base ** linspace(start, end, steps), computed as
 * ATen's CPU kernel does (the first half from start, the second from end, in double). */
B(logspace) {
  Value *v[6];
  args_bind(l, "logspace", "start, end, steps, base=10.0, dtype=None, requires_grad=False", self, a, v, 6);
  double s0 = want_num(l, v[0], "start", a->off), s1 = want_num(l, v[1], "end", a->off);
  double base = want_num(l, v[3], "base", a->off);
  int64_t n = want_int(l, v[2], "steps", a->off);
  if (n < 0 || n > (1 << 24)) lerr(l, a->off, "logspace(): bad number of steps %lld", (long long)n);
  DType dt = v[4] ? want_dtype(l, v[4], a->off) : DT_F32;
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n ? n : 1));
  if (n == 1) vals[0] = pow(base, s0);
  if (n > 1 && dt_is_float(dt)) {
    /* scalar_t start and end, a double step */
    double st = dt == DT_F32 ? d2f(s0) : s0, en = dt == DT_F32 ? d2f(s1) : s1;
    double step = (en - st) / (double)(n - 1);
    for (int64_t i = 0; i < n; i++)
      vals[i] = i < n / 2 ? pow(base, st + step * (double)i) : pow(base, en - step * (double)(n - i - 1));
  } else if (n > 1) { /* integral dtypes: float arithmetic on truncated ends, as ATen */
    float fb = (float)base, st = (float)f2i(l, trunc(s0), a->off), en = (float)f2i(l, trunc(s1), a->off);
    float step = (en - st) / (float)(n - 1);
    for (int64_t i = 0; i < n; i++)
      vals[i] = i < n / 2 ? powf(fb, st + step * (float)i) : powf(fb, en - step * (float)(n - i - 1));
  }
  Shape s = {.rank = 1, .d = {n}};
  Value *t = const_tensor(l, dt, s, vals, NULL, n, a->off);
  return make_leaf(l, t, want_bool(l, v[5], a->off), a->off);
}

/* as_tensor(data, dtype=None): a tensor stays itself (cast if dtype differs); other data
 * as tensor(data, dtype). */
B(as_tensor) {
  Value *v[3];
  args_bind(l, "as_tensor", "data, dtype=None, device=None", self, a, v, 3);
  if (v[2] && (v[2]->k != V_STR || strcmp(v[2]->s, "cpu"))) lerr(l, a->off, "as_tensor(): ttc compiles for the CPU; device must be 'cpu'");
  if (!v[0]) lerr(l, a->off, "as_tensor(): data must not be None");
  if (v[0]->k == V_TENSOR) return v[1] ? cast(l, v[0], want_dtype(l, v[1], a->off), a->off) : v[0];
  if (v[0]->k == V_INT || v[0]->k == V_FLOAT || v[0]->k == V_BOOL || v[0]->k == V_HOST) {
    DType dt = v[1] ? want_dtype(l, v[1], a->off) : v[0]->k == V_HOST ? (v[0]->hx->isfloat ? DT_F32 : v[0]->hx->isbool ? DT_BOOL : DT_I64) : scalar_dtype(v[0]);
    return to_tensor_dt(l, v[0], dt, a->off);
  }
  Value *pos[2] = {v[0], v[1]};
  return bi_tensor(l, NULL, &(Args){.pos = pos, .npos = v[1] ? 2 : 1, .off = a->off});
}

B(get_default_dtype) {
  args_bind(l, "get_default_dtype", "", self, a, NULL, 0);
  Value *d = v_new(l, V_DTYPE);
  d->i = DT_F32; /* ttc has no set_default_dtype */
  return d;
}

/* The values of t when they are known at compile time (fold.c): a constant, fill or arange in
 * the open graph, and what reshapes, slices, casts and elementwise ops make of them. n is t's
 * element count; vals gets them as doubles, ivals exactly for integer dtypes. */
static bool known_values(L *l, Value *t, double *vals, int64_t *ivals, int64_t n) {
  return fold_values(l, t, vals, ivals, n);
}

/* bincount(input, weights=None, minlength=0): counts (or summed weights) of each value of a
 * 1-D int64 tensor. The result's length is max(input) + 1 (at least minlength): known when
 * the input's values are; otherwise it is minlength, and a value at or past it stops the
 * program naming the line (one_hot's check), where PyTorch would make a longer result. */
B(bincount) {
  Value *v[3];
  args_bind(l, "bincount", "input, weights=None, minlength=0", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "bincount", a->off);
  Shape s = tshape(l, x);
  if (s.rank != 1 || dt_is_float(tdtype(l, x)) || tdtype(l, x) == DT_BOOL)
    lerr(l, a->off, "bincount only supports 1-d non-negative integral inputs.");
  if (s.symm) lerr(l, a->off, "bincount(): an input with a run-time batch dimension is not supported");
  int64_t len = want_int(l, v[2], "minlength", a->off), n = s.d[0];
  if (len < 0) lerr(l, a->off, "minlength should be >= 0");
  if (n > (1 << 20)) lerr(l, a->off, "bincount(): input too large for ttc (%lld elements)", (long long)n);
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n + 1));
  int64_t *iv = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(n + 1));
  if (known_values(l, x, vals, iv, n)) {
    for (int64_t i = 0; i < n; i++) {
      if (iv[i] < 0) lerr(l, a->off, "bincount only supports 1-d non-negative integral inputs.");
      if (iv[i] >= len) len = iv[i] + 1;
    }
  } else if (len == 0) {
    lerr(l, a->off, "bincount(): the result's length is the input's largest value + 1, known only when "
                    "the program runs; give minlength= (an upper bound of the values)");
  }
  if (len > (1 << 24) || (double)len * (double)n > (double)(1 << 26))
    lerr(l, a->off, "bincount(): %lld bins of %lld values is too large for ttc", (long long)len, (long long)n);
  DType dt = DT_I64;
  Value *w = NULL;
  if (v[1]) {
    w = want_tensor(l, v[1], "bincount", a->off);
    Shape ws = tshape(l, w);
    if (!shape_eq(&ws, &s)) lerr(l, a->off, "weights should be 1-d and have the same length as input");
    dt = tdtype(l, w) == DT_F32 ? DT_F32 : DT_F64;
    w = bi_call(l, "unsqueeze", cast(l, w, dt, a->off), (Value *[]){v_int(l, 1)}, 1, a->off);
  }
  Value *x64 = cast(l, x, DT_I64, a->off);
  if (n == 0) return filled(l, (Shape){.rank = 1, .d = {len}}, dt, 0, a->off);
  Attr at = {0};
  at.i[0] = len;
  at.i[1] = dt;
  Value *oh = op1(l, OP_ONE_HOT, x64, &at, a->off, NULL);
  if (w) oh = bi_binop(l, BIN_MUL, oh, w, a->off);
  return reduce(l, OP_SUM, oh, v_int(l, 0), false, a->off, NULL);
}

/* torch.broadcast_shapes(*shapes): the shape they broadcast to, as a torch.Size. */
B(broadcast_shapes) {
  UNUSED(self);
  if (a->nkw) lerr(l, a->off, "broadcast_shapes() got an unexpected keyword argument '%s'", a->kwnames[0]);
  Shape r = {.rank = 0};
  for (int i = 0; i < a->npos; i++) {
    Value *p = a->pos[i];
    Shape s = {.rank = 0};
    if (p->k == V_INT) s.rank = 1, s.d[0] = p->i;
    else if (p->k == V_LIST || p->k == V_TUPLE) {
      if (p->n > TT_MAX_RANK) lerr(l, a->off, "broadcast_shapes(): at most %d dimensions", TT_MAX_RANK);
      s.rank = p->n;
      for (int k = 0; k < p->n; k++) s.d[k] = want_int(l, p->items[k], "a size", a->off);
    } else
      lerr(l, a->off, "broadcast_shapes(): expected a shape (a tuple of ints), got %s", v_typename(p));
    for (int k = 0; k < s.rank; k++)
      if (s.d[k] < 0) lerr(l, a->off, "Trying to create tensor with negative dimension %lld", (long long)s.d[k]);
    Shape out;
    if (!ir_broadcast(&r, &s, &out)) {
      char b1[64], b2[64];
      lerr(l, a->off, "Shape mismatch: objects cannot be broadcast to a single shape (%s and %s)",
           shape_str(&r, b1, sizeof b1), shape_str(&s, b2, sizeof b2));
    }
    r = out;
  }
  return size_tuple(l, r);
}

/* ---- layout built from the layout ops: flip, the stacks, repeat_interleave ---------------- */

/* The int64 constant [v0, v1, ...] (an index). */
static Value *index_const(L *l, const int64_t *idx, int64_t n, int32_t off) {
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) vals[i] = (double)idx[i];
  return const_tensor(l, DT_I64, (Shape){.rank = 1, .d = {n}}, vals, idx, n, off);
}

/* A dims argument: an int, a list/tuple of ints, or (for a method) the ints themselves. */
static int64_t dims_arg(L *l, Value **items, int n, int rank, const char *fname, int32_t off) {
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) n = items[0]->n, items = items[0]->items;
  int64_t m = 0;
  for (int i = 0; i < n; i++) {
    int d = normdim(l, want_int(l, items[i], "dim", off), rank, off);
    if (m & (1LL << d)) lerr(l, off, "%s(): dim %d appears multiple times in the list of dims", fname, d);
    m |= 1LL << d;
  }
  return m;
}

/* flip(dims): each listed dim read backwards, an index_select with n-1, ..., 0. */
B(flip) {
  Value *x;
  int64_t mask;
  if (self) {
    x = want_tensor(l, self, "flip", a->off);
    if (a->nkw == 1 && !strcmp(a->kwnames[0], "dims") && a->npos == 0) mask = dims_arg(l, a->kw, 1, tshape(l, x).rank, "flip", a->off);
    else if (a->nkw) lerr(l, a->off, "flip() got an unexpected keyword argument '%s'", a->kwnames[0]);
    else mask = dims_arg(l, a->pos, a->npos, tshape(l, x).rank, "flip", a->off);
  } else {
    Value *v[2];
    args_bind(l, "flip", "input, dims", self, a, v, 2);
    x = want_tensor(l, v[0], "flip", a->off);
    mask = dims_arg(l, &v[1], 1, tshape(l, x).rank, "flip", a->off);
  }
  Shape s = tshape(l, x);
  Value *r = x;
  for (int d = 0; d < s.rank; d++) {
    if (!((mask >> d) & 1) || s.d[d] <= 1) continue;
    if (sym_at(&s, d)) lerr(l, a->off, "flip(): ttc cannot flip the run-time batch dimension");
    int64_t *idx = arena_alloc(l->arena, sizeof(int64_t) * (size_t)s.d[d]);
    for (int64_t i = 0; i < s.d[d]; i++) idx[i] = s.d[d] - 1 - i;
    r = bi_call(l, "index_select", r, (Value *[]){v_int(l, d), index_const(l, idx, s.d[d], a->off)}, 2, a->off);
  }
  if (r == x) r = bi_call(l, "clone", x, NULL, 0, a->off); /* a new tensor, as PyTorch's */
  if (r->t.requires_grad) r->t.gradfn = "FlipBackward0";
  return r;
}

/* x viewed with at least `rank` dims, as torch.atleast_1d/2d/3d place the new ones. */
static Value *atleast(L *l, Value *x, int rank, int32_t off) {
  Shape s = tshape(l, x);
  if (s.rank >= rank) return x;
  if (s.symm) lerr(l, off, "ttc cannot add dims around a run-time batch dimension here; use unsqueeze");
  Value *t = v_tuple(l, rank);
  int64_t d[3] = {1, 1, 1};
  if (s.rank == 1) d[1] = s.d[0];                /* [n] -> [1, n] or [1, n, 1] */
  if (s.rank == 2) d[0] = s.d[0], d[1] = s.d[1]; /* [m, n] -> [m, n, 1] */
  for (int i = 0; i < rank; i++) t->items[i] = v_int(l, d[i]);
  return bi_call(l, "reshape", x, &t, 1, off);
}

/* hstack, vstack (row_stack), dstack: cat after atleast_1d/2d/3d, along 1 (0 for 1-D
 * tensors), 0 and 2. */
static Value *stack_kind(L *l, Value *self, Args *a, const char *fname, int rank, int dim) {
  Value *v[1];
  args_bind(l, fname, "tensors", self, a, v, 1);
  Value *seq = v[0];
  if (!seq || (seq->k != V_LIST && seq->k != V_TUPLE))
    lerr(l, a->off, "%s(): expected a list or tuple of tensors, got %s", fname, seq ? v_typename(seq) : "None");
  if (seq->n == 0) lerr(l, a->off, "%s expects a non-empty TensorList", fname);
  Value *list = v_new(l, V_LIST);
  bool all1 = true;
  for (int i = 0; i < seq->n; i++) {
    Value *t = atleast(l, want_tensor(l, seq->items[i], fname, a->off), rank, a->off);
    all1 &= tshape(l, t).rank == 1;
    v_list_push(l, list, t);
  }
  return bi_call(l, "cat", NULL, (Value *[]){list, v_int(l, rank == 1 && all1 ? 0 : dim)}, 2, a->off);
}
B(hstack) { return stack_kind(l, self, a, "hstack", 1, 1); }
B(vstack) { return stack_kind(l, self, a, "vstack", 2, 0); }
B(dstack) { return stack_kind(l, self, a, "dstack", 3, 2); }

/* repeat_interleave(repeats, dim=None): each element (each slice along dim) repeated, an
 * index_select with 0, 0, 1, 1, ... as ATen computes it; repeats an int or a tensor whose
 * values are known at compile time. Without dim, over the flattened tensor. */
B(repeat_interleave) {
  Value *v[4];
  args_bind(l, "repeat_interleave", "input, repeats=None, dim=None, output_size=None", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "repeat_interleave", a->off);
  if (!v[1]) { /* repeat_interleave(repeats): the indices 0..n-1, each repeated */
    Shape rs = tshape(l, x);
    if (rs.rank != 1) lerr(l, a->off, "repeat_interleave(): repeats must be 0-dim or 1-dim tensor");
    v[1] = x;
    x = bi_call(l, "arange", NULL, (Value *[]){v_int(l, rs.d[0])}, 1, a->off);
  }
  if (!v[2]) x = bi_call(l, "reshape", x, (Value *[]){v_int(l, -1)}, 1, a->off);
  Shape s = tshape(l, x);
  int d = v[2] ? normdim(l, want_int(l, v[2], "dim", a->off), s.rank, a->off) : 0;
  if (s.rank == 0) x = bi_call(l, "reshape", x, (Value *[]){v_int(l, 1)}, 1, a->off), s = tshape(l, x);
  if (sym_at(&s, d)) lerr(l, a->off, "repeat_interleave(): ttc cannot repeat along the run-time batch dimension");
  int64_t n = s.d[d], total = 0;
  int64_t *reps = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(n + 1));
  if (v[1]->k == V_TENSOR) {
    Shape rs = tshape(l, v[1]);
    int64_t rn = shape_numel(&rs);
    if (rs.rank > 1 || rs.symm) lerr(l, a->off, "repeat_interleave(): repeats must be 0-dim or 1-dim tensor");
    if (rn != 1 && rn != n) lerr(l, a->off, "repeats must have the same size as input along dim");
    if (tdtype(l, v[1]) != DT_I64 && tdtype(l, v[1]) != DT_I32)
      lerr(l, a->off, "repeat_interleave(): repeats has to be Long or Int tensor");
    double *rv = arena_alloc(l->arena, sizeof(double) * (size_t)(rn + 1));
    int64_t *ri = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(rn + 1));
    if (!known_values(l, v[1], rv, ri, rn))
      lerr(l, a->off, "repeat_interleave(): the repeats tensor's values set the result's shape, so they "
                      "must be known at compile time (a constant made here, or an int)");
    for (int64_t i = 0; i < n; i++) reps[i] = ri[rn == 1 ? 0 : i];
  } else {
    int64_t r = want_int(l, v[1], "repeats", a->off);
    for (int64_t i = 0; i < n; i++) reps[i] = r;
  }
  for (int64_t i = 0; i < n; i++) {
    if (reps[i] < 0) lerr(l, a->off, "repeats can not be negative");
    total += reps[i];
    if (total > IR_MAX_NUMEL) lerr(l, a->off, "repeat_interleave(): result too large");
  }
  int64_t *idx = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(total + 1)), k = 0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < reps[i]; j++) idx[k++] = i;
  if (v[3] && want_int(l, v[3], "output_size", a->off) != total)
    lerr(l, a->off, "repeat_interleave(): output_size %lld differs from the repeats' sum %lld",
         (long long)want_int(l, v[3], "output_size", a->off), (long long)total);
  return bi_call(l, "index_select", x, (Value *[]){v_int(l, d), index_const(l, idx, total, a->off)}, 2, a->off);
}

/* nelement(): numel(). */
B(nelement) {
  Value *v[1];
  args_bind(l, "nelement", "input", self, a, v, 1);
  return bi_call(l, "numel", want_tensor(l, v[0], "nelement", a->off), NULL, 0, a->off);
}

/*
 * is_contiguous(): PyTorch's answer from the strides the tensor would have there. ttc
 * copies every permute, expand and slice, so the strides are followed back through the
 * open graph as PyTorch's would be: the views (permute, transpose, expand, slices,
 * reshapes that only add or drop 1s, detach) rearrange their input's; clone() (an identity
 * permute) and elementwise results keep the dim order of their (first same-shaped) input,
 * densely, as PyTorch's preserve format and TensorIterator do; anything else (a reduction, matmul, cat, contiguous(), a
 * tensor read from a program variable after a run-time loop) is contiguous.
 */
static void dense_strides(const Shape *s, const int64_t *order, int64_t *st) {
  int64_t z = 1;
  for (int k = s->rank - 1; k >= 0; k--) {
    st[order[k]] = z;
    z *= s->d[order[k]] ? s->d[order[k]] : 1;
  }
}

/* Dense strides in the dim order of strides `in` (largest first; ties keep dim order):
 * empty_like's preserve format. */
static void dense_like(const Shape *s, const int64_t *in, int64_t *st) {
  int64_t order[TT_MAX_RANK];
  for (int i = 0; i < s->rank; i++) order[i] = i;
  for (int i = 1; i < s->rank; i++) /* a stable insertion sort by stride, descending */
    for (int j = i; j > 0 && in[order[j]] > in[order[j - 1]]; j--) {
      int64_t t = order[j];
      order[j] = order[j - 1], order[j - 1] = t;
    }
  dense_strides(s, order, st);
}

static void view_strides(const Graph *g, int id, int64_t *st) {
  const Node *n = &g->nodes[id];
  const Shape *s = &n->shape;
  int64_t in[TT_MAX_RANK], order[TT_MAX_RANK];
  for (int i = 0; i < s->rank; i++) order[i] = i;
  switch (n->op) {
  case OP_DETACH: view_strides(g, n->in[0], st); return;
  case OP_PERMUTE: {
    bool ident = true;
    view_strides(g, n->in[0], in);
    for (int i = 0; i < s->rank; i++) st[i] = in[n->attr.ints[i]], ident &= n->attr.ints[i] == i;
    if (ident) dense_like(s, in, st); /* clone(): a dense copy in the same dim order */
    return;
  }
  case OP_EXPAND: {
    const Shape *xs = &g->nodes[n->in[0]].shape;
    view_strides(g, n->in[0], in);
    int off = s->rank - xs->rank;
    for (int i = 0; i < s->rank; i++) st[i] = i < off || (xs->d[i - off] == 1 && s->d[i] != 1) ? 0 : in[i - off];
    return;
  }
  case OP_SLICE:
    view_strides(g, n->in[0], in);
    for (int i = 0; i < s->rank; i++) st[i] = in[i] * n->attr.ints[3 * i + 2];
    return;
  case OP_RESHAPE: {
    const Shape *xs = &g->nodes[n->in[0]].shape;
    view_strides(g, n->in[0], in);
    if (shape_eq(xs, s)) { /* a view of the same shape */
      memcpy(st, in, sizeof(int64_t) * (size_t)s->rank);
      return;
    }
    /* unsqueeze/squeeze keep the strides of the dims that are not 1; other reshapes copy
     * a tensor that is not contiguous */
    int i, j = 0;
    for (i = 0; i < s->rank; i++) {
      if (s->d[i] == 1) {
        st[i] = 1;
        continue;
      }
      while (j < xs->rank && xs->d[j] == 1) j++;
      if (j == xs->rank || xs->d[j] != s->d[i]) break;
      st[i] = in[j++];
    }
    while (i == s->rank && j < xs->rank && xs->d[j] == 1) j++;
    if (i == s->rank && j == xs->rank) return;
    break;
  }
  default:
    if (ir_ops[n->op].flags & OPF_EW)
      for (int k = 0; k < n->nin; k++)
        if (shape_eq(&g->nodes[n->in[k]].shape, s)) {
          view_strides(g, n->in[k], in);
          dense_like(s, in, st);
          return;
        }
    break;
  }
  dense_strides(s, order, st);
}

B(is_contiguous) {
  Value *v[2];
  args_bind(l, "is_contiguous", "input, memory_format=None", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "is_contiguous", a->off);
  if (!l->g || x->t.graph != l->g->id) return l->vtrue;
  const Node *n = &l->g->nodes[x->t.node];
  int64_t st[TT_MAX_RANK];
  view_strides(l->g, x->t.node, st);
  if (shape_numel(&n->shape) == 0) return l->vtrue;
  int64_t z = 1;
  for (int i = n->shape.rank - 1; i >= 0; i--) {
    if (n->shape.d[i] == 1) continue;
    if (st[i] != z) return l->vfalse;
    z *= n->shape.d[i];
  }
  return l->vtrue;
}

/* contiguous(): itself when contiguous, else a dense copy (a cat of one tensor: a node
 * is_contiguous reads as contiguous, where clone() keeps the layout). */
B(contiguous) {
  Value *v[2];
  args_bind(l, "contiguous", "input, memory_format=None", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "contiguous", a->off);
  if (v_truthy(l, bi_is_contiguous(l, x, &(Args){.off = a->off}), a->off)) return x;
  Attr at = {0};
  int32_t in = tnode(l, x);
  return result(l, add_node(l, OP_CAT, &in, 1, &at, a->off), &x, 1, "CloneBackward0");
}

/* tolist(): nested Python lists of the elements; numbers known at compile time when the
 * values are (a constant), else run-time host numbers (each element's .item()). */
static Value *tolist_of(L *l, Value *flat, const double *vals, const int64_t *iv, DType dt, const Shape *s,
                        int dim, int64_t *pos, int32_t off) {
  if (dim == s->rank) {
    int64_t i = (*pos)++;
    if (vals) return dt_is_float(dt) ? v_float(l, vals[i]) : dt == DT_BOOL ? v_bool(l, iv[i] != 0) : v_int(l, iv[i]);
    IndexItem it = {.kind = IX_VALUE, .v = v_int(l, i), .off = off};
    return tensor_item(l, bi_index(l, flat, &it, 1, false, off), off);
  }
  Value *list = v_new(l, V_LIST);
  for (int64_t k = 0; k < s->d[dim]; k++) v_list_push(l, list, tolist_of(l, flat, vals, iv, dt, s, dim + 1, pos, off));
  return list;
}

B(tolist) {
  Value *v[1];
  args_bind(l, "tolist", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "tolist", a->off);
  Shape s = tshape(l, x);
  DType dt = tdtype(l, x);
  if (s.symm) lerr(l, a->off, "tolist(): the tensor's shape is known only when the program runs (a batch dimension)");
  int64_t n = shape_numel(&s), pos = 0;
  if (n > (1 << 16)) lerr(l, a->off, "tolist(): %lld elements are too many for ttc", (long long)n);
  double *vals = arena_alloc(l->arena, sizeof(double) * (size_t)(n + 1));
  int64_t *iv = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(n + 1));
  if (known_values(l, x, vals, iv, n)) return tolist_of(l, NULL, vals, iv, dt, &s, 0, &pos, a->off);
  if (n > 4096)
    lerr(l, a->off, "tolist(): %lld run-time values are too many for ttc (at most 4096 when the values are "
                    "known only when the program runs)", (long long)n);
  Value *flat = bi_call(l, "reshape", x, (Value *[]){v_int(l, -1)}, 1, a->off);
  return tolist_of(l, flat, NULL, NULL, dt, &s, 0, &pos, a->off);
}

/* ---- einsum -------------------------------------------------------------------------------- */

/* An operand under way: its tensor and each dim's label (0-51 the letters A-Z a-z, 52 on
 * the dims an ellipsis stands for, right-aligned across operands so they broadcast). */
typedef struct EinOp {
  Value *t;
  int lab[TT_MAX_RANK];
  int rank;
} EinOp;

enum { EIN_LETTERS = 52, EIN_LABELS = EIN_LETTERS + TT_MAX_RANK };

static int ein_letter(char c) {
  return c >= 'A' && c <= 'Z' ? c - 'A' : c >= 'a' && c <= 'z' ? c - 'a' + 26 : -1;
}

static Value *int_tuple(L *l, const int64_t *d, int n) {
  Value *t = v_tuple(l, n);
  for (int i = 0; i < n; i++) t->items[i] = v_int(l, d[i]);
  return t;
}

static Value *reshape_dims(L *l, Value *x, const int64_t *d, int n, int32_t off) {
  Shape s = tshape(l, x);
  Shape to = shape_make(n, d);
  if (shape_eq(&s, &to)) return x;
  return bi_call(l, "reshape", x, (Value *[]){int_tuple(l, d, n)}, 1, off);
}

/* Parses one term ("ij", "b...k") into the labels of its letters, and where among them the
 * ellipsis stands (-1: none). Returns the number of letters. */
static int ein_term(L *l, const char *p, const char *end, int *labs, int *ell_at, int32_t off) {
  int n = 0;
  *ell_at = -1;
  for (; p < end; p++) {
    if (*p == ' ') continue;
    if (*p == '.') {
      if (*ell_at >= 0 || end - p < 3 || p[1] != '.' || p[2] != '.')
        lerr(l, off, "einsum(): found '.' for operand that is not part of any ellipsis");
      *ell_at = n;
      p += 2;
      continue;
    }
    int c = ein_letter(*p);
    if (c < 0) lerr(l, off, "einsum(): invalid subscript '%c' in the equation string, subscripts must be in [a-zA-Z]", *p);
    if (n == TT_MAX_RANK) lerr(l, off, "einsum(): more than %d subscripts in a term", TT_MAX_RANK);
    labs[n++] = c;
  }
  return n;
}

/* Sums o's dims whose labels are set in drop; whether there were any. */
static bool ein_sum(L *l, EinOp *o, const bool *drop, int32_t off) {
  Value *dims = v_new(l, V_LIST);
  int k = 0;
  for (int i = 0; i < o->rank; i++) {
    if (drop[o->lab[i]]) v_list_push(l, dims, v_int(l, i));
    else o->lab[k++] = o->lab[i];
  }
  if (!dims->n) return false;
  o->t = reduce(l, OP_SUM, o->t, dims, false, off, NULL);
  o->rank = k;
  return true;
}

/* Repeated labels within an operand ("ii"): the diagonal, through a reshape of the two
 * dims moved last and a slice with step n + 1. */
static void ein_diagonal(L *l, EinOp *o, int32_t off) {
  for (int p = 0; p < o->rank; p++)
    for (int q = p + 1; q < o->rank; q++) {
      if (o->lab[p] != o->lab[q]) continue;
      Shape s = tshape(l, o->t);
      if (s.d[p] != s.d[q])
        lerr(l, off, "einsum(): subscript %c is repeated for operand but the sizes don't match, %lld != %lld",
             o->lab[p] < 26 ? 'A' + o->lab[p] : 'a' + o->lab[p] - 26, (long long)s.d[p], (long long)s.d[q]);
      int64_t perm[TT_MAX_RANK], d[TT_MAX_RANK], n = s.d[p];
      int lab[TT_MAX_RANK], k = 0;
      for (int i = 0; i < o->rank; i++)
        if (i != p && i != q) perm[k] = i, lab[k] = o->lab[i], d[k++] = s.d[i];
      perm[k] = p, perm[k + 1] = q;
      lab[k] = o->lab[p];
      d[k] = n * n;
      Value *t = permute_to(l, o->t, perm, o->rank, off, NULL);
      t = reshape_dims(l, t, d, k + 1, off);
      IndexItem it[TT_MAX_RANK];
      for (int i = 0; i <= k; i++) it[i] = (IndexItem){.kind = IX_SLICE, .off = off};
      it[k].st = v_int(l, n + 1);
      o->t = bi_index(l, t, it, k + 1, true, off);
      o->rank = k + 1;
      memcpy(o->lab, lab, sizeof lab);
      p = -1; /* start over: the labels moved */
      break;
    }
}

/* x with the dims in the order of labels `want` (each present in o), as a permuted copy. */
static Value *ein_order(L *l, EinOp *o, const int *want, int n, int32_t off) {
  int64_t perm[TT_MAX_RANK];
  for (int i = 0; i < n; i++)
    for (int j = 0; j < o->rank; j++)
      if (o->lab[j] == want[i]) perm[i] = j;
  return permute_to(l, o->t, perm, n, off, NULL);
}

/* a and b into one operand over the labels of both, contracting the shared ones that the
 * rest of the equation does not need (keep[]): a batched matmul when something is
 * contracted, else a broadcast product; *contracted says which. */
static EinOp ein_pair(L *l, EinOp a, EinOp b, const bool *keep, const int64_t *size, bool *contracted, int32_t off) {
  bool ina[EIN_LABELS] = {0}, inb[EIN_LABELS] = {0}, drop[EIN_LABELS] = {0};
  for (int i = 0; i < a.rank; i++) ina[a.lab[i]] = true;
  for (int i = 0; i < b.rank; i++) inb[b.lab[i]] = true;
  for (int c = 0; c < EIN_LABELS; c++) drop[c] = !keep[c] && (ina[c] != inb[c]);
  ein_sum(l, &a, drop, off); /* a label of one side that nothing else needs */
  ein_sum(l, &b, drop, off);
  int batch[TT_MAX_RANK], aonly[TT_MAX_RANK], bonly[TT_MAX_RANK], contr[TT_MAX_RANK];
  int nb = 0, na = 0, nn = 0, nk = 0;
  for (int i = 0; i < a.rank; i++) {
    int c = a.lab[i];
    if (!inb[c]) aonly[na++] = c;
    else if (keep[c]) batch[nb++] = c;
    else contr[nk++] = c;
  }
  for (int i = 0; i < b.rank; i++)
    if (!ina[b.lab[i]]) bonly[nn++] = b.lab[i];
  Shape as = tshape(l, a.t);
  for (int i = 0; i < nk; i++)
    if (as.symm && a.lab[sym_first(&as)] == contr[i])
      lerr(l, off, "einsum(): contracting two operands over the run-time batch dimension is not supported "
                   "by ttc's einsum; keep its letter in the output and sum the result over it");
  /* both sides at the labels' full sizes (a size-1 dim broadcasts) */
  for (EinOp *o = &a; o; o = o == &a ? &b : NULL) {
    Shape s = tshape(l, o->t);
    int64_t d[TT_MAX_RANK];
    bool grow = false;
    for (int i = 0; i < o->rank; i++) {
      d[i] = size[o->lab[i]];
      grow |= s.d[i] != d[i];
    }
    if (grow) o->t = bi_call(l, "expand", o->t, (Value *[]){int_tuple(l, d, o->rank)}, 1, off);
  }
  int lab[TT_MAX_RANK], nl = 0;
  for (int i = 0; i < nb; i++) lab[nl++] = batch[i];
  for (int i = 0; i < na; i++) lab[nl++] = aonly[i];
  for (int i = 0; i < nn; i++) lab[nl++] = bonly[i];
  if (nl > TT_MAX_RANK) lerr(l, off, "einsum(): the result of a pair would have more than %d dims", TT_MAX_RANK);
  int64_t M = 1, N = 1, K = 1, d[TT_MAX_RANK];
  int order[TT_MAX_RANK], k = 0;
  for (int i = 0; i < na; i++) M *= size[aonly[i]];
  for (int i = 0; i < nn; i++) N *= size[bonly[i]];
  for (int i = 0; i < nk; i++) K *= size[contr[i]];
  for (int i = 0; i < nb; i++) d[i] = size[batch[i]];
  EinOp r = {.rank = nl};
  memcpy(r.lab, lab, sizeof lab);
  *contracted = nk > 0;
  if (!nk) { /* a[batch, aonly, 1..] * b[batch, 1.., bonly] */
    for (int i = 0; i < nb; i++) order[k++] = batch[i];
    for (int i = 0; i < na; i++) order[k++] = aonly[i];
    Value *ta = ein_order(l, &a, order, k, off);
    k = 0;
    for (int i = 0; i < nb; i++) order[k++] = batch[i];
    for (int i = 0; i < nn; i++) order[k++] = bonly[i];
    Value *tb = ein_order(l, &b, order, k, off);
    int64_t da[TT_MAX_RANK], db[TT_MAX_RANK];
    for (int i = 0; i < nl; i++) {
      da[i] = i < nb + na ? size[lab[i]] : 1;
      db[i] = i >= nb && i < nb + na ? 1 : size[lab[i]];
    }
    Value *ra = reshape_dims(l, ta, da, nl, off);
    r.t = bi_binop(l, BIN_MUL, ra, reshape_dims(l, tb, db, nl, off), off);
    return r;
  }
  /* a[batch.., M, K] @ b[batch.., K, N], then the M and N dims apart again */
  for (int i = 0; i < nb; i++) order[k++] = batch[i];
  for (int i = 0; i < na; i++) order[k++] = aonly[i];
  for (int i = 0; i < nk; i++) order[k++] = contr[i];
  Value *ta = ein_order(l, &a, order, k, off);
  k = 0;
  for (int i = 0; i < nb; i++) order[k++] = batch[i];
  for (int i = 0; i < nk; i++) order[k++] = contr[i];
  for (int i = 0; i < nn; i++) order[k++] = bonly[i];
  Value *tb = ein_order(l, &b, order, k, off);
  d[nb] = M, d[nb + 1] = K;
  ta = reshape_dims(l, ta, d, nb + 2, off);
  d[nb] = K, d[nb + 1] = N;
  tb = reshape_dims(l, tb, d, nb + 2, off);
  Value *p = bi_binop(l, BIN_MATMUL, ta, tb, off);
  for (int i = 0; i < nl; i++) d[i] = size[lab[i]];
  r.t = reshape_dims(l, p, d, nl, off);
  return r;
}

/*
 * einsum(equation, *operands): any number of operands (or one list of them), letters and
 * an ellipsis, an explicit output ("ij,jk->ik") or the implicit one (the letters that
 * appear once, in alphabetical order, after the ellipsis dims). Written with the ops ttc
 * has: repeated letters within an operand take a diagonal, letters nothing else needs are
 * summed, and operands combine left to right as a batched matmul over the letters they
 * share (a broadcast product when they share none to contract), then one permute. A run-
 * time batch dimension works where the reshapes keep it first (reshape's rule, which
 * says so at the line otherwise): as a leading batch letter ('bhqd,bhkd->bhqk').
 */
B(einsum) {
  UNUSED(self);
  if (a->nkw) lerr(l, a->off, "einsum() got an unexpected keyword argument '%s'", a->kwnames[0]);
  if (a->npos < 1 || a->pos[0]->k != V_STR) lerr(l, a->off, "einsum(): the first argument must be the equation string");
  const char *eq = a->pos[0]->s;
  Value **ops = a->pos + 1;
  int nops = a->npos - 1;
  if (nops == 1 && (ops[0]->k == V_LIST || ops[0]->k == V_TUPLE)) nops = ops[0]->n, ops = ops[0]->items;
  if (nops < 1) lerr(l, a->off, "einsum(): must provide at least one operand");
  if (nops > 16) lerr(l, a->off, "einsum(): at most 16 operands in ttc");
  const char *arrow = strstr(eq, "->");
  const char *lhs_end = arrow ? arrow : eq + strlen(eq);
  EinOp op[16];
  int ell_dims = 0, count[EIN_LABELS] = {0};
  bool symlab[EIN_LABELS] = {0}; /* the label of a run-time batch dimension */
  bool any_ell = false;
  int64_t size[EIN_LABELS];
  for (int c = 0; c < EIN_LABELS; c++) size[c] = 1;
  const char *p = eq;
  for (int i = 0; i < nops; i++) {
    const char *e = p;
    while (e < lhs_end && *e != ',') e++;
    if (e == lhs_end && i < nops - 1)
      lerr(l, a->off, "einsum(): more operands were provided than specified in the equation");
    Value *t = want_tensor(l, ops[i], "einsum", a->off);
    Shape s = tshape(l, t);
    int labs[TT_MAX_RANK], ell;
    int n = ein_term(l, p, e, labs, &ell, a->off);
    int cover = s.rank - n;
    if (ell < 0 ? cover != 0 : cover < 0)
      lerr(l, a->off, "einsum(): the number of subscripts in the equation (%d) does not match the number of "
                      "dimensions (%d) for operand %d%s", n, s.rank, i, ell < 0 ? " and no ellipsis was given" : "");
    op[i].t = t;
    op[i].rank = s.rank;
    for (int k = 0, j = 0; k < s.rank; k++) {
      int c;
      if (ell >= 0 && k >= ell && k < ell + cover) c = EIN_LETTERS + TT_MAX_RANK - cover + (k - ell);
      else c = labs[j++];
      op[i].lab[k] = c;
      count[c]++;
      if (sym_at(&s, k)) symlab[c] = true;
      if (s.d[k] != 1 || sym_at(&s, k)) {
        if (size[c] != 1 && size[c] != s.d[k])
          lerr(l, a->off, "einsum(): operands do not broadcast with remapped shapes (subscript sizes %lld and %lld)",
               (long long)size[c], (long long)s.d[k]);
        size[c] = s.d[k];
      }
    }
    if (ell >= 0) any_ell = true, ell_dims = cover > ell_dims ? cover : ell_dims;
    p = e + (e < lhs_end);
  }
  if (p < lhs_end || (p == lhs_end && lhs_end > eq && lhs_end[-1] == ','))
    lerr(l, a->off, "einsum(): fewer operands were provided than specified in the equation");
  /* a batch dimension (from a DataLoader) is the same dim in every operand that has its
   * letter: broadcasting a size 1 to it, or a diagonal of it, is beyond the rewrite */
  for (int i = 0; i < nops; i++) {
    Shape s = tshape(l, op[i].t);
    for (int k = 0; k < op[i].rank; k++)
      if (symlab[op[i].lab[k]] && !sym_at(&s, k))
        lerr(l, a->off, "einsum(): operand %d has a size-%lld dim where another has the run-time batch "
                        "dimension; ttc's einsum does not broadcast to a batch", i, (long long)s.d[k]);
  }
  /* the output's labels */
  int out[TT_MAX_RANK], nout = 0;
  bool inout[EIN_LABELS] = {0};
  if (arrow) {
    int labs[TT_MAX_RANK], ell;
    int n = ein_term(l, arrow + 2, arrow + strlen(arrow), labs, &ell, a->off);
    for (int j = 0; j <= n; j++) {
      if (j == ell)
        for (int e = 0; e < ell_dims; e++) out[nout++] = EIN_LETTERS + TT_MAX_RANK - ell_dims + e;
      if (j == n) break;
      char name = (char)(labs[j] < 26 ? 'A' + labs[j] : 'a' + labs[j] - 26);
      if (!count[labs[j]])
        lerr(l, a->off, "einsum(): output subscript %c does not appear in the equation for any input operand", name);
      if (inout[labs[j]]) lerr(l, a->off, "einsum(): output subscript %c appears more than once in the output", name);
      if (nout == TT_MAX_RANK) lerr(l, a->off, "einsum(): more than %d output subscripts", TT_MAX_RANK);
      out[nout++] = labs[j];
      inout[labs[j]] = true;
    }
  } else {
    for (int e = 0; e < ell_dims && any_ell; e++) out[nout++] = EIN_LETTERS + TT_MAX_RANK - ell_dims + e;
    for (int c = 0; c < EIN_LETTERS; c++)
      if (count[c] == 1) {
        if (nout == TT_MAX_RANK) lerr(l, a->off, "einsum(): more than %d output subscripts", TT_MAX_RANK);
        out[nout++] = c;
      }
  }
  for (int i = 0; i < nout; i++) inout[out[i]] = true;
  /* each operand: diagonals, then the labels no other operand and not the output has */
  bool summed = false;
  for (int i = 0; i < nops; i++) {
    ein_diagonal(l, &op[i], a->off);
    bool drop[EIN_LABELS] = {0};
    for (int c = 0; c < EIN_LABELS; c++) {
      int elsewhere = 0;
      for (int j = 0; j < nops; j++)
        for (int k = 0; j != i && k < op[j].rank; k++) elsewhere += op[j].lab[k] == c;
      drop[c] = !inout[c] && !elsewhere;
    }
    summed |= ein_sum(l, &op[i], drop, a->off);
  }
  EinOp r = op[0];
  bool contracted = false;
  for (int i = 1; i < nops; i++) {
    bool keep[EIN_LABELS];
    for (int c = 0; c < EIN_LABELS; c++) {
      keep[c] = inout[c];
      for (int j = i + 1; j < nops; j++)
        for (int k = 0; k < op[j].rank; k++) keep[c] |= op[j].lab[k] == c;
    }
    r = ein_pair(l, r, op[i], keep, size, &contracted, a->off);
  }
  int64_t perm[TT_MAX_RANK];
  bool ident = true;
  for (int i = 0; i < nout; i++)
    for (int j = 0; j < r.rank; j++)
      if (r.lab[j] == out[i]) perm[i] = j, ident &= i == j;
  if (r.rank != nout) tt_internal_error(__FILE__, __LINE__, "einsum: labels left over");
  Value *res = permute_to(l, r.t, perm, nout, a->off, NULL);
  if (res->t.requires_grad && res != ops[0])
    res->t.gradfn = !ident || (nops == 1 && !summed) ? "PermuteBackward0"
                    : nops == 1                    ? "SumBackward1"
                    : contracted                   ? "ViewBackward0"
                                                   : "MulBackward0";
  return res;
}

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
#define M BI_METHOD
const Builtin tensor_builtins[] = {
  /* tensor creation */
  {"tensor", F, bi_tensor, 0},
  {"Tensor", F, bi_tensor, 0},
  {"torch.Tensor", F, bi_torch_Tensor, 0}, /* torch.Tensor, by name (builtins.c) */
  {"zeros", F, bi_zeros, 0},
  {"ones", F, bi_ones, 0},
  {"empty", F, bi_empty, 0},
  {"full", F, bi_full, 0},
  {"rand", F, bi_rand, 0},
  {"randn", F, bi_randn, 0},
  {"randint", F, bi_randint, 0},
  {"randperm", F, bi_randperm, 0},
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
  {"floor_divide", F | M, bi_floor_divide, 0},
  {"remainder", F | M, bi_remainder, 0},
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
  {"any", M, bi_any, 0},
  {"all", M, bi_all, 0},
  {"var", F | M, bi_var, 0},
  {"std", F | M, bi_std, 0},
  {"norm", F | M, bi_norm, 0},
  /* comparisons by name, tests */
  {"eq", F | M, bi_eq, 0},
  {"ne", F | M, bi_ne, 0},
  {"not_equal", F | M, bi_ne, 0},
  {"lt", F | M, bi_lt, 0},
  {"less", F | M, bi_lt, 0},
  {"le", F | M, bi_le, 0},
  {"less_equal", F | M, bi_le, 0},
  {"gt", F | M, bi_gt, 0},
  {"greater", F | M, bi_gt, 0},
  {"ge", F | M, bi_ge, 0},
  {"greater_equal", F | M, bi_ge, 0},
  {"isnan", F | M, bi_isnan, 0},
  {"isinf", F | M, bi_isinf, 0},
  {"isfinite", F | M, bi_isfinite, 0},
  /* more elementwise */
  {"ceil", F | M, bi_ceil, 0},
  {"round", M, bi_round, 0},
  {"trunc", F | M, bi_trunc, 0},
  {"fix", F | M, bi_fix, 0},
  {"sign", F | M, bi_sign, 0},
  {"frac", F | M, bi_frac, 0},
  {"reciprocal", F | M, bi_reciprocal, 0},
  {"log1p", F | M, bi_log1p, 0},
  {"expm1", F | M, bi_expm1, 0},
  {"masked_fill", F | M, bi_masked_fill, 0},
  {"logsumexp", F | M, bi_logsumexp, 0},
  {"isclose", F | M, bi_isclose, 0},
  {"allclose", F | M, bi_allclose, 0},
  {"equal", F | M, bi_equal, 0},
  {"normalize", F, bi_normalize, 0},
  {"cumsum", F | M, bi_cumsum, 0},
  {"argsort", F | M, bi_argsort, 0},
  {"sort", F | M, bi_sort, 0},
  {"topk", F | M, bi_topk, 0},
  {"dot", F | M, bi_dot, 0},
  {"outer", F | M, bi_outer, 0},
  {"ger", F | M, bi_outer, 0},
  {"mv", F | M, bi_mv, 0},
  {"addmm", F | M, bi_addmm, 0},
  {"amax", F | M, bi_amax, 0},
  {"amin", F | M, bi_amin, 0},
  {"clamp_min", F | M, bi_clamp_min, 0},
  {"clamp_max", F | M, bi_clamp_max, 0},
  {"log2", F | M, bi_log2, 0},
  {"log10", F | M, bi_log10, 0},
  {"exp2", F | M, bi_exp2, 0},
  {"tril", F | M, bi_tril, 0},
  {"triu", F | M, bi_triu, 0},
  {"diag", F | M, bi_diag, 0},
  {"trace", F | M, bi_trace, 0},
  {"cosine_similarity", F, bi_cosine_similarity, 0},
  {"new_zeros", M, bi_new_zeros, 0},
  {"new_ones", M, bi_new_ones, 0},
  {"new_empty", M, bi_new_empty, 0},
  {"new_full", M, bi_new_full, 0},
  {"new_tensor", M, bi_new_tensor, 0},
  /* products, medians, creation, layout built from layout ops, einsum */
  {"prod", F | M, bi_prod, 0},
  {"median", F | M, bi_median, 0},
  {"normal", F, bi_normal, 0},
  {"logspace", F, bi_logspace, 0},
  {"as_tensor", F, bi_as_tensor, 0},
  {"get_default_dtype", F, bi_get_default_dtype, 0},
  {"bincount", F | M, bi_bincount, 0},
  {"broadcast_shapes", F, bi_broadcast_shapes, 0},
  {"flip", F | M, bi_flip, 0},
  {"hstack", F, bi_hstack, 0},
  {"vstack", F, bi_vstack, 0},
  {"row_stack", F, bi_vstack, 0},
  {"dstack", F, bi_dstack, 0},
  {"repeat_interleave", F | M, bi_repeat_interleave, 0},
  {"nelement", M, bi_nelement, 0},
  {"is_contiguous", M, bi_is_contiguous, 0},
  {"contiguous", M, bi_contiguous, 0}, /* before tensor_layout.c's: a copy when not contiguous */
  {"tolist", M, bi_tolist, 0},
  {"einsum", F, bi_einsum, 0},
  {"Generator", F, bi_Generator, 0}, /* generator.c */
  /* torch.linalg (linalg.c): "linalg.NAME" is torch.linalg.NAME */
  {"linalg.inv", F, bi_linalg_inv, 0},
  {"linalg.solve", F, bi_linalg_solve, 0},
  {"linalg.det", F, bi_linalg_det, 0},
  {"linalg.lstsq", F, bi_linalg_lstsq, 0},
  {"linalg.norm", F, bi_linalg_norm, 0},
  {"linalg.vector_norm", F, bi_linalg_vector_norm, 0},
  {"linalg.matrix_norm", F, bi_linalg_matrix_norm, 0},
  {"inverse", F | M, bi_inverse, 0},
  {"det", F | M, bi_det, 0},
};
#undef F
#undef M
const int tensor_nbuiltins = (int)(sizeof tensor_builtins / sizeof tensor_builtins[0]);
