/*
 * masked.c — results whose size is known only when the program runs: x[mask],
 * torch.masked_select, nonzero (and torch.where(cond)), torch.unique; and the writes
 * through tensor indices (x[idx] = v, cm[t, p] += 1, index_put_, index_add_,
 * scatter_add_).
 *
 * Such a result is a tensor whose static shape is a bound: [N, rest...] with N the mask's
 * numel. Its rows are packed at the front (a stable argsort of the mask puts the selected
 * rows first, and a gather takes them), the rows past the run-time count are zero, and
 * the count is a 0-d int64 tensor computed in the same graph (the mask's sum). The value
 * lives in a Dyn: tnode and tvar refuse a tensor with one, so every consumer that does not
 * know about run-time sizes is a diagnostic at its line, and only the consumers here read
 * it: elementwise operators and methods between results of one mask (and numbers, or
 * tensors that broadcast over the trailing dims), the reductions sum, mean, any and all
 * (over the valid rows only), len, numel, shape and size, and print (the count is the
 * printed length). The gradient of x[mask] flows through the gather back to the selected
 * elements; the rows past the count are cut off by a where before anything reads them, so
 * no NaN from them reaches the gradient.
 *
 * Writes through tensor indices follow PyTorch's CPU index_put_: every index is checked;
 * with accumulate the values of repeated indices add up, without it the last write wins.
 */
#include "lower.h"

#include <string.h>

typedef struct Dyn {
  Value *buf;  /* [N, rest...]: the first count rows are the result, the others zero */
  Value *cnt;  /* 0-d int64: the run-time number of rows */
  int64_t key; /* results with one key have one count (one mask, one nonzero call) */
} Dyn;

static int64_t fresh_key;

#define DYN_WHAT "a tensor whose size is known only at run time (from x[mask], masked_select, nonzero or unique)"

_Noreturn void dyn_unsupported(L *l, const char *what, int32_t off) {
  lerr(l, off, "%s of " DYN_WHAT " is not supported by ttc; reduce it first (sum, mean, len) or use "
               "where/masked_fill",
       what);
}

static Dyn *dyn_of(Value *v) { return v && v->k == V_TENSOR ? v->t.dyn : NULL; }

/* A tensor holding d's data, with buf as its new buffer (of d's count). */
static Value *wrap(L *l, const Dyn *like, Value *buf, const char *gradfn) {
  Dyn *d = arena_alloc(l->arena, sizeof *d);
  d->buf = buf;
  d->cnt = like->cnt;
  d->key = like->key;
  Value *v = v_new(l, V_TENSOR);
  v->t.dyn = d;
  v->t.requires_grad = buf->t.requires_grad;
  v->t.gradfn = buf->t.requires_grad ? (gradfn ? gradfn : buf->t.gradfn) : NULL;
  return v;
}

static Value *shape_value(L *l, Shape s) {
  Value *t = v_tuple(l, s.rank);
  for (int i = 0; i < s.rank; i++) t->items[i] = v_int(l, s.d[i]);
  return t;
}

static Value *reshape(L *l, Value *x, Shape s, int32_t off) {
  Value *t = shape_value(l, s);
  return bi_call(l, "reshape", x, &t, 1, off);
}

static Value *expand(L *l, Value *x, Shape s, int32_t off) {
  Value *t = shape_value(l, s);
  return bi_call(l, "expand", x, &t, 1, off);
}

static Shape shape1(int64_t n) { return (Shape){.rank = 1, .d = {n}}; }

static Value *arange_n(L *l, int64_t n, int32_t off) {
  Value *a = v_int(l, n);
  return bi_call(l, "arange", NULL, &a, 1, off);
}

/* idx [N] as [N, 1, ...] broadcast to s (s.d[0] == N). */
static Value *rows_index(L *l, Value *idx, Shape s, int32_t off) {
  Shape r = s;
  for (int i = 1; i < r.rank; i++) r.d[i] = 1;
  return expand(l, reshape(l, idx, r, off), s, off);
}

static Value *gather0(L *l, Value *x, Value *idx, int32_t off, const char *gradfn) {
  Attr at = {0};
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, x);
  in[1] = tnode(l, idx);
  int id = add_node(l, OP_GATHER, in, 2, &at, off);
  return bi_result(l, id, (Value *[]){x}, 1, gradfn);
}

/* Zeros of shape s (dim 0) with the rows of v added at the rows idx names (checked). */
static Value *scatter0(L *l, Value *v, Value *idx, Shape s, int32_t off) {
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, v);
  in[1] = tnode(l, idx);
  return mk_tensor(l, add_node(l, OP_SCATTER_ADD, in, 2, &at, off));
}

static Value *argsort0(L *l, Value *x, int32_t off) {
  Attr at = {0};
  return op1(l, OP_ARGSORT, x, &at, off, NULL);
}

static Value *cumsum0(L *l, Value *x, int32_t off) {
  Attr at = {0};
  return op1(l, OP_CUMSUM, x, &at, off, NULL);
}

static Value *i64(L *l, Value *x, int32_t off) { return cast(l, x, DT_I64, off); }

/* rows [lo, hi) of a 1-D tensor */
static Value *slice0(L *l, Value *x, int64_t lo, int64_t hi, int32_t off) {
  IndexItem it = {.kind = IX_SLICE, .lo = v_int(l, lo), .hi = v_int(l, hi), .off = off};
  return bi_index(l, x, &it, 1, false, off);
}

/* Row j < count of the valid rows, as a bool [N, 1, ...] for broadcasting against buf. */
static Value *valid_rows(L *l, const Dyn *d, int32_t off) {
  Shape s = tshape(l, d->buf);
  Value *v = bi_compare(l, CMP_LT, arange_n(l, s.d[0], off), d->cnt, off);
  Shape r = s;
  for (int i = 1; i < r.rank; i++) r.d[i] = 1;
  return reshape(l, v, r, off);
}

/* The rows of src [N, ...] where f [N] (bool) is true, packed at the front: a result sized
 * at run time. */
static Value *compact(L *l, Value *src, Value *f, int64_t key, int32_t off, const char *gradfn) {
  Shape s = tshape(l, src);
  Value *mi = i64(l, f, off);
  Dyn tmp = {.cnt = bi_call(l, "sum", mi, NULL, 0, off), .key = key};
  /* a stable sort of 1 - f puts the selected rows first, in order */
  Value *order = argsort0(l, bi_binop(l, BIN_SUB, v_int(l, 1), mi, off), off);
  Value *g = gather0(l, src, rows_index(l, order, s, off), off, gradfn);
  Dyn probe = tmp;
  probe.buf = g;
  Value *buf = bi_select(l, valid_rows(l, &probe, off), g, v_int(l, 0), off, gradfn);
  return wrap(l, &tmp, buf, gradfn);
}

/* ---- x[mask], masked_select, nonzero, where(cond), unique ------------------------------ */

/* Whether nodes a and b of g compute the same value: the same op, attributes and inputs (a
 * variable read with no store to it between the reads), no random draw. So pred[y == c] ==
 * y[y == c] meets row by row although y == c is evaluated twice. */
static bool same_value(const Graph *g, int a, int b, int depth) {
  if (a == b) return true;
  if (depth > 32) return false;
  const Node *x = &g->nodes[a], *y = &g->nodes[b];
  if (x->op != y->op || x->dtype != y->dtype || !shape_eq(&x->shape, &y->shape) || x->nin != y->nin ||
      (ir_ops[x->op].flags & (OPF_RNG | OPF_SINK)) || x->attr.var != y->attr.var || x->attr.nints != y->attr.nints ||
      memcmp(x->attr.f, y->attr.f, sizeof x->attr.f) || memcmp(x->attr.i, y->attr.i, sizeof x->attr.i) ||
      (x->attr.nints && memcmp(x->attr.ints, y->attr.ints, sizeof(int64_t) * (size_t)x->attr.nints)))
    return false;
  if (x->op == OP_CONST &&
      (!x->attr.data || !y->attr.data || memcmp(x->attr.data, y->attr.data, (size_t)shape_numel(&x->shape) * dt_size(x->dtype))))
    return false;
  if (x->op == OP_HOSTVAR || x->op == OP_BATCH) return false; /* host values may change between */
  if (x->op == OP_INPUT) {
    int lo = a < b ? a : b, hi = a < b ? b : a;
    for (int i = lo + 1; i < hi; i++)
      if (g->nodes[i].op == OP_STORE && g->nodes[i].attr.var == x->attr.var) return false;
    return true;
  }
  if (x->op != OP_INPUT && (ir_ops[x->op].flags & OPF_SOURCE) && x->op != OP_CONST && x->op != OP_FILL &&
      x->op != OP_ARANGE)
    return false;
  for (int i = 0; i < x->nin; i++)
    if (!same_value(g, x->in[i], y->in[i], depth + 1)) return false;
  return true;
}

/* The key of a mask: its node, or the first node before it that computes the same value. */
static int64_t mask_key(L *l, Value *mask) {
  Graph *g = cur_graph(l);
  int id = tnode(l, mask);
  for (int j = 0; j < id; j++)
    if (g->nodes[j].op == g->nodes[id].op && same_value(g, j, id, 0)) {
      id = j;
      break;
    }
  return ((int64_t)g->id << 32) + id + 1;
}

Value *dyn_select(L *l, Value *x, Value *mask, int32_t off) {
  Shape xs = tshape(l, x), ms = tshape(l, mask);
  if (xs.symm || ms.symm)
    lerr(l, off, "indexing with a bool mask on a tensor with a batch dimension is not supported by ttc");
  if (ms.rank > xs.rank) lerr(l, off, "too many indices for tensor of dimension %d", xs.rank);
  for (int i = 0; i < ms.rank; i++)
    if (ms.d[i] != xs.d[i])
      lerr(l, off, "The shape of the mask %s at index %d does not match the shape of the indexed tensor %s at index %d",
           shape_str(&ms, (char[64]){0}, 64), i, shape_str(&xs, (char[64]){0}, 64), i);
  int64_t n = shape_numel(&ms);
  Shape rs = {.rank = 1 + xs.rank - ms.rank, .d = {n}};
  for (int i = ms.rank; i < xs.rank; i++) rs.d[1 + i - ms.rank] = xs.d[i];
  Value *f = reshape(l, mask, shape1(n), off);
  /* one mask node, one count: pred[mask] == y[mask] meet row by row */
  int64_t key = mask_key(l, mask);
  return compact(l, reshape(l, x, rs, off), f, key, off, "IndexBackward0");
}

BI_FN(masked_select) {
  Value *v[2];
  args_bind(l, "masked_select", "input, mask", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "masked_select", a->off), *m = want_tensor(l, v[1], "masked_select", a->off);
  if (tdtype(l, m) != DT_BOOL)
    lerr(l, a->off, "masked_select: expected BoolTensor for mask, got %s", dt_torch(tdtype(l, m)));
  Shape xs = tshape(l, x), ms = tshape(l, m), s;
  if (xs.symm || ms.symm) lerr(l, a->off, "masked_select on a tensor with a batch dimension is not supported by ttc");
  if (!ir_broadcast(&xs, &ms, &s))
    lerr(l, a->off, "masked_select: the shapes of input %s and mask %s do not broadcast", shape_str(&xs, (char[64]){0}, 64),
         shape_str(&ms, (char[64]){0}, 64));
  if (!shape_eq(&xs, &s)) x = expand(l, x, s, a->off);
  if (!shape_eq(&ms, &s)) m = expand(l, m, s, a->off);
  int64_t n = shape_numel(&s);
  Value *flat_x = reshape(l, x, shape1(n), a->off);
  return compact(l, flat_x, reshape(l, m, shape1(n), a->off), --fresh_key, a->off, "MaskedSelectBackward0");
}

/* The coordinates of x's nonzero elements: [n, rank], or one [n] per dim (as_tuple). */
static Value *nonzero_of(L *l, Value *x, bool as_tuple, int32_t off) {
  Shape xs = tshape(l, x);
  if (xs.symm) lerr(l, off, "nonzero of a tensor with a batch dimension is not supported by ttc");
  if (xs.rank == 0) lerr(l, off, "nonzero of a 0-d tensor is not supported by ttc");
  int64_t n = shape_numel(&xs);
  Value *flat = arange_n(l, n, off);
  Value *cols = v_new(l, V_LIST);
  int64_t stride = n;
  for (int i = 0; i < xs.rank; i++) {
    stride = xs.d[i] ? stride / xs.d[i] : 0;
    Value *c = bi_binop(l, BIN_FLOORDIV, flat, v_int(l, stride ? stride : 1), off);
    v_list_push(l, cols, bi_binop(l, BIN_MOD, c, v_int(l, xs.d[i] ? xs.d[i] : 1), off));
  }
  Value *coords = bi_call(l, "stack", NULL, (Value *[]){cols, v_int(l, 1)}, 2, off);
  Value *f = reshape(l, bi_compare(l, CMP_NE, x, v_int(l, 0), off), shape1(n), off);
  Value *r = compact(l, coords, f, --fresh_key, off, NULL);
  if (!as_tuple) return r;
  Value *t = v_tuple(l, xs.rank);
  for (int i = 0; i < xs.rank; i++) {
    IndexItem it[2] = {{.kind = IX_SLICE, .off = off}, {.kind = IX_VALUE, .v = v_int(l, i), .off = off}};
    t->items[i] = wrap(l, r->t.dyn, bi_index(l, r->t.dyn->buf, it, 2, true, off), NULL);
  }
  return t;
}

BI_FN(nonzero) {
  Value *v[2];
  args_bind(l, "nonzero", "input, as_tuple=False", self, a, v, 2);
  return nonzero_of(l, want_tensor(l, v[0], "nonzero", a->off), want_bool(l, v[1], a->off), a->off);
}

Value *dyn_where1(L *l, Value *cond, int32_t off) {
  return nonzero_of(l, want_tensor(l, cond, "where", off), true, off);
}

BI_FN(unique) {
  Value *v[5];
  args_bind(l, "unique", "input, sorted=True, return_inverse=False, return_counts=False, dim=None", self, a, v, 5);
  Value *x = want_tensor(l, v[0], "unique", a->off);
  bool inverse = want_bool(l, v[2], a->off), counts = want_bool(l, v[3], a->off);
  if (!want_bool(l, v[1], a->off))
    lerr(l, a->off, "unique(sorted=False) is not supported by ttc (PyTorch's order then comes from a hash table)");
  if (v[4]) lerr(l, a->off, "unique with dim is not supported by ttc");
  Shape xs = tshape(l, x);
  DType dt = tdtype(l, x);
  if (xs.symm) lerr(l, a->off, "unique of a tensor with a batch dimension is not supported by ttc");
  if (dt_is_float(dt))
    lerr(l, a->off, "unique of a floating tensor is not supported by ttc (PyTorch 1.13 orders NaNs among the "
                    "numbers); use an integer tensor");
  int64_t n = shape_numel(&xs);
  if (n == 0) lerr(l, a->off, "unique of an empty tensor is not supported by ttc");
  Value *xf = reshape(l, x, shape1(n), a->off);
  Value *perm = argsort0(l, dt == DT_I64 ? xf : i64(l, xf, a->off), a->off); /* argsort: int64 */
  Value *s = gather0(l, xf, perm, a->off, NULL);
  /* f[i]: sorted element i starts a new value */
  Value *f = bi_call(l, "ones", NULL, (Value *[]){v_int(l, 1)}, 1, a->off);
  f = cast(l, f, DT_BOOL, a->off);
  if (n > 1) {
    Value *next = slice0(l, s, 1, n, a->off);
    Value *ne = bi_compare(l, CMP_NE, next, slice0(l, s, 0, n - 1, a->off), a->off);
    Value *list = v_new(l, V_LIST);
    v_list_push(l, list, f);
    v_list_push(l, list, ne);
    f = bi_call(l, "cat", NULL, &list, 1, a->off);
  }
  Value *u = compact(l, s, f, --fresh_key, a->off, NULL);
  if (!inverse && !counts) return u;
  Value *r = v_tuple(l, 1 + inverse + counts);
  r->items[0] = u;
  Value *pos = bi_binop(l, BIN_SUB, cumsum0(l, i64(l, f, a->off), a->off), v_int(l, 1), a->off);
  if (inverse) /* each element's value's place: pos scattered back through the sort */
    r->items[1] = reshape(l, scatter0(l, pos, perm, shape1(n), a->off), xs, a->off);
  if (counts) {
    Value *ones = bi_call(l, "ones", NULL, (Value *[]){v_int(l, n)}, 1, a->off);
    r->items[1 + inverse] = wrap(l, u->t.dyn, scatter0(l, i64(l, ones, a->off), pos, shape1(n), a->off), NULL);
  }
  return r;
}

/* ---- consumers ------------------------------------------------------------------------ */

/* v as an operand of an elementwise op beside the run-time-sized results of key *key: its
 * buffer, or a tensor that broadcasts over their trailing dims, or a number. */
static Value *operand(L *l, Value *v, int64_t *key, bool *any, int32_t off) {
  Dyn *d = dyn_of(v);
  if (d) {
    if (*any && *key != d->key)
      lerr(l, off, "an operation between two tensors whose sizes are known only at run time needs them to come "
                   "from one mask (x[m] and y[m]) in ttc");
    *key = d->key, *any = true;
    return d->buf;
  }
  return v;
}

/* A tensor operand that is not run-time sized must not reach the leading (run-time) dim. */
static void check_static(L *l, Value *v, int rank, int32_t off) {
  if (!v || v->k != V_TENSOR || v->t.dyn) return;
  Shape s = tshape(l, v);
  if (s.rank > rank || (s.rank == rank && s.d[0] != 1))
    lerr(l, off, "a tensor of shape %s cannot meet " DYN_WHAT " in ttc (its rows would have to match the "
                 "run-time count)",
         shape_str(&s, (char[64]){0}, 64));
}

static Value *finish_ew(L *l, Value *r, const Dyn *like, int rank, int32_t off) {
  if (r->k != V_TENSOR) tt_unreachable();
  Shape rs = tshape(l, r), bs = tshape(l, like->buf);
  if (rs.rank != rank || rs.d[0] != bs.d[0]) dyn_unsupported(l, "this operation", off);
  return wrap(l, like, r, NULL);
}

Value *dyn_binop(L *l, int op, bool cmp, Value *a, Value *b, int32_t off) {
  int64_t key = 0;
  bool any = false;
  Dyn *like = dyn_of(a) ? dyn_of(a) : dyn_of(b);
  Value *x = operand(l, a, &key, &any, off), *y = operand(l, b, &key, &any, off);
  int rank = tshape(l, like->buf).rank;
  check_static(l, a, rank, off);
  check_static(l, b, rank, off);
  if (cmp && op > CMP_GE) dyn_unsupported(l, "'in'", off);
  if (!cmp && op == BIN_MATMUL) dyn_unsupported(l, "matmul", off);
  Value *r = cmp ? bi_compare(l, op, x, y, off) : bi_binop(l, op, x, y, off);
  Value *out = finish_ew(l, r, like, rank, off);
  Dyn *d = out->t.dyn;
  if (any) d->key = key;
  return out;
}

Value *dyn_unop(L *l, int op, Value *a, int32_t off) {
  Dyn *d = dyn_of(a);
  Value *r = bi_unop(l, op, d->buf, off);
  return finish_ew(l, r, d, tshape(l, d->buf).rank, off);
}

/* where(valid rows, buf, fill): what a reduction reads. */
static Value *masked(L *l, const Dyn *d, Value *fill, int32_t off) {
  return bi_select(l, valid_rows(l, d, off), d->buf, fill, off, NULL);
}

static Value *count_host(L *l, const Dyn *d, int32_t off) { return v_host(l, hx_of(l, d->cnt, off)); }

/* The static product of buf's dims after the first. */
static int64_t row_size(L *l, const Dyn *d) {
  Shape s = tshape(l, d->buf);
  int64_t p = 1;
  for (int i = 1; i < s.rank; i++) p *= s.d[i];
  return p;
}

/* sum / mean / any / all: over the valid rows only. */
static Value *reduction(L *l, const char *name, Value *self, Args *a) {
  bool mean = !strcmp(name, "mean"), sum = !strcmp(name, "sum"), any = !strcmp(name, "any");
  Value *v[4];
  args_bind(l, name, mean || sum ? "input, dim=None, keepdim=False, dtype=None" : "input, dim=None, keepdim=False",
            self, a, v, mean || sum ? 4 : 3);
  Dyn *d = dyn_of(v[0]);
  Shape bs = tshape(l, d->buf);
  DType dt = tdtype(l, d->buf);
  int64_t dims = dims_mask(l, v[1], bs.rank, a->off);
  bool keepdim = want_bool(l, v[2], a->off);
  if (mean && !dt_is_float(dt) && !(v[3] && dt_is_float(want_dtype(l, v[3], a->off))))
    bi_call(l, "mean", d->buf, NULL, 0, a->off); /* PyTorch's error for an integer mean */
  Value *m = masked(l, d, v_int(l, any ? 0 : sum || mean ? 0 : 1), a->off);
  Value *pos[2];
  const char *kwn[2];
  Value *kwv[2];
  int np = 0, nkw = 0;
  if (v[1]) pos[np++] = v[1], pos[np++] = v_bool(l, keepdim);
  else if (keepdim) kwn[nkw] = "keepdim", kwv[nkw++] = l->vtrue;
  if ((sum || mean) && v[3]) kwn[nkw] = "dtype", kwv[nkw++] = v[3];
  Args b = {.pos = pos, .npos = np, .kwnames = kwn, .kw = kwv, .nkw = nkw, .off = a->off};
  Value *r = sum || mean ? bi_sum(l, m, &b) : any ? bi_any(l, m, &b) : bi_all(l, m, &b);
  if (mean) {
    int64_t k = 1;
    for (int i = 1; i < bs.rank; i++)
      if (dims & (1LL << i)) k *= bs.d[i];
    Value *div = v_int(l, k);
    if (dims & 1) div = bi_binop(l, BIN_MUL, d->cnt, div, a->off);
    DType rt = tdtype(l, r);
    Value *q = bi_binop(l, BIN_DIV, r, div->k == V_TENSOR ? cast(l, div, rt, a->off) : div, a->off);
    if (tdtype(l, q) != rt) q = cast(l, q, rt, a->off);
    if (q->t.requires_grad) q->t.gradfn = "MeanBackward0";
    r = q;
  }
  if (sum && r->t.requires_grad) r->t.gradfn = v[1] ? "SumBackward1" : "SumBackward0";
  if (dims & 1) return r;
  return wrap(l, d, r, NULL); /* the rows stay: still sized at run time */
}

static Value *size_of(L *l, const Dyn *d, int32_t off) {
  Shape s = tshape(l, d->buf);
  Value *t = v_tuple(l, s.rank);
  t->s = "torch.Size";
  t->items[0] = count_host(l, d, off);
  for (int i = 1; i < s.rank; i++) t->items[i] = v_int(l, s.d[i]);
  return t;
}

/* x[mask].tolist(): a run-time list (host.c), made empty here and given each element below
 * the count, each read after the graph as its .item() (a 1-D result of at most 4096 rows). */
static Value *dyn_tolist(L *l, const Dyn *d, int32_t off) {
  Shape s = tshape(l, d->buf);
  if (s.rank != 1) dyn_unsupported(l, "a nested tolist() (more than one dimension)", off);
  if (s.d[0] > 4096)
    lerr(l, off, "tolist(): up to %lld run-time values are too many for ttc (at most 4096)", (long long)s.d[0]);
  int hv = ir_hvar_new(l->p, "list", false);
  l->p->hvars[hv].list = true;
  Stmt *init = emit_host_stmt(l, ST_LIST_INIT, off);
  init->hvar = hv;
  HostExpr *cnt = hx_of(l, d->cnt, off);
  for (int64_t i = 0; i < s.d[0]; i++) {
    IndexItem it = {.kind = IX_VALUE, .v = v_int(l, i), .off = off};
    Value *item = tensor_item(l, bi_index(l, d->buf, &it, 1, false, off), off);
    HostExpr *lt = ir_hx(l->p, HX_BIN);
    lt->op = HB_LT, lt->isbool = true, lt->a = hx_int(l, i), lt->b = cnt;
    Stmt *st = emit_host_stmt(l, ST_IF, off);
    st->expr = lt;
    Stmt *ap = ir_stmt_push(l->p, &st->body, &st->nbody, &st->capbody, ST_LIST_APPEND, (Loc){off});
    ap->hvar = hv;
    ap->expr = item->hx;
  }
  Value *r = v_new(l, V_RTLIST);
  r->i = hv;
  return r;
}

/* Builtins that work elementwise: applied to the buffer, the result keeps the count. */
static const char *const ew_names[] = {
  "float", "double", "long", "int", "bool", "to", "abs", "neg", "negative", "exp", "log", "sqrt", "rsqrt",
  "sigmoid", "tanh", "relu", "sin", "cos", "square", "floor", "ceil", "round", "trunc", "sign", "clone", "detach",
  "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "maximum", "minimum", "eq",
  "ne", "lt", "le", "gt", "ge", "clamp", "clip", "where", "log1p", "expm1", "type_as", "logical_not",
};

Value *dyn_call(L *l, Value *fn, Args *a) {
  Dyn *d = dyn_of(fn->self);
  for (int i = 0; !d && i < a->npos; i++) d = dyn_of(a->pos[i]);
  for (int i = 0; !d && i < a->nkw; i++) d = dyn_of(a->kw[i]);
  if (!d) return NULL;
  const char *name = fn->bi->name;
  if (!strcmp(name, "print") || !strcmp(name, "isinstance")) return NULL;
  Value *x = fn->self ? fn->self : a->npos ? a->pos[0] : NULL;
  bool first = dyn_of(x) != NULL; /* the receiver or first argument is the result */
  if (first && !strcmp(name, "len")) return count_host(l, dyn_of(x), a->off);
  if (first && (!strcmp(name, "numel") || !strcmp(name, "nelement"))) {
    Dyn *xd = dyn_of(x);
    return host_binop(l, BIN_MUL, count_host(l, xd, a->off), v_int(l, row_size(l, xd)), a->off);
  }
  if (first && !strcmp(name, "size") && fn->self) {
    Value *v[1];
    args_bind(l, "size", "dim=None", NULL, a, v, 1);
    Value *t = size_of(l, dyn_of(x), a->off);
    if (!v[0]) return t;
    return t->items[normdim(l, want_int(l, v[0], "dim", a->off), t->n, a->off)];
  }
  if (first && !strcmp(name, "tolist") && fn->self) {
    args_bind(l, "tolist", "", NULL, a, NULL, 0);
    return dyn_tolist(l, dyn_of(x), a->off);
  }
  if (first && !strcmp(name, "dim") && fn->self) return v_int(l, tshape(l, dyn_of(x)->buf).rank);
  if (first && (!strcmp(name, "mean") || !strcmp(name, "any") || !strcmp(name, "all") ||
                (!strcmp(name, "sum") && (fn->self || fn->bi->fn == bi_sum))))
    return reduction(l, name, fn->self, a);
  if (first && !strcmp(name, "sum")) { /* Python's sum(x): x's rows added, x.sum(0) */
    if (a->npos != 1 || a->nkw) dyn_unsupported(l, "sum() with a start value", a->off);
    Args b = {.pos = (Value *[]){v_int(l, 0)}, .npos = 1, .off = a->off};
    return reduction(l, "sum", x, &b);
  }
  bool ew = false;
  for (size_t i = 0; i < sizeof ew_names / sizeof ew_names[0]; i++) ew |= !strcmp(name, ew_names[i]);
  if (!ew) dyn_unsupported(l, arena_printf(l->arena, "%s()", name), a->off);
  /* elementwise: every run-time-sized argument from one mask, the others broadcasting */
  int64_t key = 0;
  bool any = false;
  int rank = tshape(l, d->buf).rank;
  Value *self = fn->self ? operand(l, fn->self, &key, &any, a->off) : NULL;
  Args b = *a;
  b.pos = arena_alloc(l->arena, sizeof(Value *) * (size_t)(a->npos + 1));
  b.kw = arena_alloc(l->arena, sizeof(Value *) * (size_t)(a->nkw + 1));
  for (int i = 0; i < a->npos; i++) b.pos[i] = operand(l, a->pos[i], &key, &any, a->off);
  for (int i = 0; i < a->nkw; i++) b.kw[i] = operand(l, a->kw[i], &key, &any, a->off);
  check_static(l, fn->self, rank, a->off); /* the arguments that are not sized at run time */
  for (int i = 0; i < a->npos; i++) check_static(l, a->pos[i], rank, a->off);
  for (int i = 0; i < a->nkw; i++) check_static(l, a->kw[i], rank, a->off);
  Value *r = fn->bi->fn(l, self, &b);
  if (r->k != V_TENSOR) dyn_unsupported(l, arena_printf(l->arena, "%s()", name), a->off);
  Dyn like = *d;
  like.key = key;
  return finish_ew(l, r, &like, rank, a->off);
}

Value *dyn_getattr(L *l, Value *obj, const char *name, int32_t off) {
  Dyn *d = dyn_of(obj);
  if (!strcmp(name, "shape")) return size_of(l, d, off);
  if (!strcmp(name, "ndim")) return v_int(l, tshape(l, d->buf).rank);
  if (!strcmp(name, "dtype")) {
    Value *r = v_new(l, V_DTYPE);
    r->i = tdtype(l, d->buf);
    return r;
  }
  if (!strcmp(name, "requires_grad")) return v_bool(l, obj->t.requires_grad);
  if (!strcmp(name, "is_leaf")) return v_bool(l, !obj->t.requires_grad);
  if (!strcmp(name, "grad_fn")) return obj->t.gradfn ? v_str(l, obj->t.gradfn) : l->none;
  if (!strcmp(name, "device")) return v_str(l, "cpu");
  const Builtin *b = bi_lookup(name, BI_METHOD);
  if (!b || (b->flags & BI_PROP)) dyn_unsupported(l, arena_printf(l->arena, "'.%s'", name), off);
  Value *r = v_new(l, V_BUILTIN);
  r->bi = b;
  r->self = obj;
  r->s = b->name;
  return r;
}

void dyn_print_item(L *l, Value *t, PrintItem *it, int32_t off) {
  Dyn *d = dyn_of(t);
  it->text = NULL;
  it->var = tvar(l, d->buf);
  it->extent0 = hx_of(l, d->cnt, off);
  it->gradfn = t->t.requires_grad ? t->t.gradfn : NULL;
  it->requires_grad = t->t.requires_grad && !it->gradfn;
}

/* ---- writes through masks and tensor indices -------------------------------------------- */

/* x[mask] = v where v is a result of x[mask] (or y[mask]) of the same mask: its rows go back
 * to the mask's positions. */
static void put_mask_dyn(L *l, Value *x, Value *mask, Dyn *d, int32_t off) {
  Shape xs = tshape(l, x), ms = tshape(l, mask);
  int64_t key = mask_key(l, mask);
  if (d->key != key)
    lerr(l, off, "x[mask] = v with a v sized at run time needs v to come from the same mask (x[m] = y[m] * 2) in ttc");
  int64_t n = shape_numel(&ms);
  Shape rs = {.rank = 1 + xs.rank - ms.rank, .d = {n}};
  for (int i = ms.rank; i < xs.rank; i++) rs.d[1 + i - ms.rank] = xs.d[i];
  Shape bs = tshape(l, d->buf);
  if (!shape_eq(&bs, &rs)) lerr(l, off, "shape mismatch: the value's rows do not match the indexed tensor's");
  Value *f = reshape(l, mask, shape1(n), off);
  Value *mi = i64(l, f, off);
  Value *pos = bi_select(l, f, bi_binop(l, BIN_SUB, cumsum0(l, mi, off), v_int(l, 1), off), v_int(l, 0), off, NULL);
  Value *buf = d->buf;
  if (tdtype(l, buf) != tdtype(l, x)) buf = cast(l, buf, tdtype(l, x), off);
  Value *g = gather0(l, buf, rows_index(l, pos, rs, off), off, NULL);
  Shape fr = rs;
  for (int i = 1; i < fr.rank; i++) fr.d[i] = 1;
  Value *fm = reshape(l, f, fr, off);
  Value *r = bi_select(l, fm, g, reshape(l, x, rs, off), off, "IndexPutBackward0");
  tensor_inplace(l, x, reshape(l, r, xs, off), off);
}

static bool adv_item(const IndexItem *it) {
  return it->kind == IX_VALUE && (it->v->k == V_TENSOR || it->v->k == V_LIST || it->v->k == V_RANGE);
}

/* x[i0, i1, ...] = v (accumulate: +=, as index_put_(..., accumulate=True)) with tensor,
 * list, range or int indices on the leading dims, then full slices. */
static void put_indices(L *l, Value *x, IndexItem *items, int n, Value *v, bool accumulate, int32_t off) {
  Shape xs = tshape(l, x);
  DType dt = tdtype(l, x);
  if (xs.symm) lerr(l, off, "assignment by index into a tensor with a batch dimension is not supported");
  int k = 0;
  while (k < n && items[k].kind == IX_VALUE && items[k].v->k != V_NONE) k++;
  for (int i = k; i < n; i++)
    if (items[i].kind != IX_SLICE || items[i].lo || items[i].hi || items[i].st)
      lerr(l, items[i].off, "assignment through tensor indices is supported on adjacent dims between full slices "
                            "(x[i, j] = v, x[:, idx] = v); index the other dims first");
  if (k > xs.rank) lerr(l, off, "too many indices for tensor of dimension %d", xs.rank);
  /* the indices broadcast, checked per dim, combined over the leading dims flattened */
  Value *ix[TT_MAX_RANK];
  Shape is = shape_scalar();
  for (int i = 0; i < k; i++) {
    Value *iv = items[i].v;
    if (iv->k == V_RANGE) {
      Value *args[3] = {v_int(l, iv->i), v_int(l, iv->i2), v_int(l, iv->i3)};
      iv = bi_call(l, "arange", NULL, args, 3, items[i].off);
    } else if (iv->k != V_TENSOR)
      iv = bi_call(l, "tensor", NULL, &iv, 1, items[i].off);
    DType idt = tdtype(l, iv);
    if (idt == DT_BOOL) lerr(l, items[i].off, "a bool mask among other indices in an assignment is not supported by ttc");
    if (dt_is_float(idt)) lerr(l, items[i].off, "tensors used as indices must be long, int, byte or bool tensors");
    ix[i] = i64(l, iv, items[i].off);
    Shape s = tshape(l, ix[i]), o;
    if (s.symm) lerr(l, items[i].off, "an index with a batch dimension is not supported by ttc");
    if (!ir_broadcast(&is, &s, &o))
      lerr(l, items[i].off, "shape mismatch: indexing tensors could not be broadcast together");
    is = o;
  }
  int64_t total = 1, nk = shape_numel(&is), p = 1;
  for (int i = 0; i < k; i++) total *= xs.d[i];
  for (int i = k; i < xs.rank; i++) p *= xs.d[i];
  if (nk == 0) return;
  Value *flat = NULL;
  int64_t stride = total;
  for (int i = 0; i < k; i++) {
    stride /= xs.d[i];
    Value *idx = ix[i];
    Value *neg = bi_compare(l, CMP_LT, idx, v_int(l, 0), off);
    idx = bi_select(l, neg, bi_binop(l, BIN_ADD, idx, v_int(l, xs.d[i]), off), idx, off, NULL);
    /* an index outside its own dim must not land in another row: send it past the end,
       where the scatter's check stops the program */
    Value *bad = bi_compare(l, CMP_LT, idx, v_int(l, 0), off);
    Value *bad64 = i64(l, bad, off);
    bad = bi_binop(l, BIN_ADD, bad64, i64(l, bi_compare(l, CMP_GE, idx, v_int(l, xs.d[i]), off), off), off);
    Value *term = bi_binop(l, BIN_MUL, idx, v_int(l, stride), off);
    flat = flat ? bi_binop(l, BIN_ADD, flat, term, off) : term;
    flat = bi_select(l, bi_compare(l, CMP_GT, bad, v_int(l, 0), off), v_int(l, total), flat, off, NULL);
  }
  Shape fsh = tshape(l, flat);
  if (!shape_eq(&fsh, &is)) flat = expand(l, flat, is, off);
  flat = reshape(l, flat, shape1(nk), off);
  /* v broadcast to the indexed shape (is + the trailing dims), as rows [K, P] */
  if (v->k != V_TENSOR) v = to_tensor_dt(l, v, dt, off);
  if (v->t.requires_grad && !l->no_grad)
    lerr(l, off, "assigning a tensor that requires grad into another by index is not supported");
  if (tdtype(l, v) != dt) v = cast(l, v, dt, off);
  Shape ws = is;
  for (int i = k; i < xs.rank; i++) {
    if (ws.rank >= TT_MAX_RANK) lerr(l, off, "too many dimensions");
    ws.d[ws.rank++] = xs.d[i];
  }
  Shape vs = tshape(l, v), bo;
  if (!ir_broadcast(&vs, &ws, &bo) || !shape_eq(&bo, &ws))
    lerr(l, off, "shape mismatch: value tensor of shape %s cannot be broadcast to indexing result of shape %s",
         shape_str(&vs, (char[64]){0}, 64), shape_str(&ws, (char[64]){0}, 64));
  if (!shape_eq(&vs, &ws)) v = expand(l, v, ws, off);
  Shape rows = {.rank = 2, .d = {nk, p}}, xr = {.rank = 2, .d = {total, p}};
  Value *vr = reshape(l, v, rows, off), *xf = reshape(l, x, xr, off), *r;
  if (accumulate) {
    Value *vsrc = dt == DT_BOOL ? i64(l, vr, off) : vr;
    Value *add = scatter0(l, vsrc, rows_index(l, flat, rows, off), xr, off);
    Value *xsrc = dt == DT_BOOL ? i64(l, xf, off) : xf;
    r = bi_binop(l, BIN_ADD, xsrc, add, off);
    if (dt == DT_BOOL) r = cast(l, r, DT_BOOL, off);
  } else {
    /* the last write wins: of equal indices, the one a stable sort puts last */
    Value *perm = argsort0(l, flat, off);
    Value *fs = gather0(l, flat, perm, off, NULL);
    Value *last = bi_call(l, "ones", NULL, (Value *[]){v_int(l, 1)}, 1, off);
    if (nk > 1) {
      Value *list = v_new(l, V_LIST);
      Value *prev = slice0(l, fs, 0, nk - 1, off);
      v_list_push(l, list, i64(l, bi_compare(l, CMP_NE, prev, slice0(l, fs, 1, nk, off), off), off));
      v_list_push(l, list, i64(l, last, off));
      last = bi_call(l, "cat", NULL, &list, 1, off);
    } else
      last = i64(l, last, off);
    Value *islast = scatter0(l, last, perm, shape1(nk), off); /* back in index order */
    Value *is_last = bi_compare(l, CMP_GT, islast, v_int(l, 0), off);
    Value *who = bi_select(l, is_last, arange_n(l, nk, off), v_int(l, 0), off, NULL);
    Value *ones = i64(l, bi_call(l, "ones", NULL, (Value *[]){v_int(l, nk)}, 1, off), off);
    Value *hits = scatter0(l, ones, flat, shape1(total), off); /* checks every index */
    Value *winner = scatter0(l, who, flat, shape1(total), off);
    Value *placed = gather0(l, vr, rows_index(l, winner, xr, off), off, NULL);
    Shape hr = {.rank = 2, .d = {total, 1}};
    Value *written = reshape(l, bi_compare(l, CMP_GT, hits, v_int(l, 0), off), hr, off);
    r = bi_select(l, written, placed, xf, off, "IndexPutBackward0");
  }
  tensor_inplace(l, x, reshape(l, r, xs, off), off);
}

static bool full_slice(const IndexItem *it) { return it->kind == IX_SLICE && !it->lo && !it->hi && !it->st; }

/* x[:, ..., i0, i1, ...] = v: the tensor indices after s full slices. x's indexed dims are
 * moved first, v (broadcast to x[items]'s shape, x.shape[:s] + the indices' + the rest) is
 * moved alike, the rows are written, and x's dims go back. */
static void put_after_slices(L *l, Value *x, IndexItem *items, int n, int s, Value *v, int32_t off) {
  Shape xs = tshape(l, x);
  int k = 0;
  while (s + k < n && items[s + k].kind == IX_VALUE && items[s + k].v->k != V_NONE) k++;
  if (s + k > xs.rank) lerr(l, off, "too many indices for tensor of dimension %d", xs.rank);
  int64_t perm[TT_MAX_RANK], inv[TT_MAX_RANK];
  int q = 0;
  for (int i = s; i < s + k; i++) perm[q++] = i;
  for (int i = 0; i < s; i++) perm[q++] = i;
  for (int i = s + k; i < xs.rank; i++) perm[q++] = i;
  for (int i = 0; i < xs.rank; i++) inv[perm[i]] = i;
  /* v in x[items]'s shape, then its leading s dims moved after the indices' */
  Value *view = bi_index(l, x, items, n, true, off);
  Shape ws = tshape(l, view);
  if (v->k != V_TENSOR) v = to_tensor_dt(l, v, tdtype(l, x), off);
  Shape vs = tshape(l, v), bo;
  if (!ir_broadcast(&vs, &ws, &bo) || !shape_eq(&bo, &ws))
    lerr(l, off, "shape mismatch: value tensor of shape %s cannot be broadcast to indexing result of shape %s",
         shape_str(&vs, (char[64]){0}, 64), shape_str(&ws, (char[64]){0}, 64));
  if (!shape_eq(&vs, &ws)) v = expand(l, v, ws, off);
  int ni = ws.rank - (xs.rank - k); /* the indices' broadcast rank */
  int64_t vp[TT_MAX_RANK];
  q = 0;
  for (int i = s; i < s + ni; i++) vp[q++] = i;
  for (int i = 0; i < s; i++) vp[q++] = i;
  for (int i = s + ni; i < ws.rank; i++) vp[q++] = i;
  Value *vt = permute_to(l, v, vp, ws.rank, off, NULL);
  Value *xt = permute_to(l, x, perm, xs.rank, off, NULL);
  IndexItem *rest = arena_alloc(l->arena, sizeof(IndexItem) * (size_t)k);
  memcpy(rest, items + s, sizeof(IndexItem) * (size_t)k);
  put_indices(l, xt, rest, k, vt, false, off);
  tensor_inplace(l, x, permute_to(l, xt, inv, xs.rank, off, NULL), off);
}

bool dyn_index_put(L *l, Value *x, IndexItem *items, int n, Value *v, int32_t off) {
  /* an int known only at run time (`losses[k] = loss.item()` in a C loop) indexes as a 0-d
   * integer tensor does: PyTorch gives both the same meaning, and index_put_'s checks */
  for (int i = 0; i < n; i++)
    if (items[i].kind == IX_VALUE && items[i].v->k == V_HOST && !items[i].v->hx->isfloat)
      items[i].v = to_tensor_dt(l, items[i].v, DT_I64, items[i].off);
  Dyn *d = dyn_of(v);
  bool mask = n == 1 && items[0].kind == IX_VALUE && items[0].v->k == V_TENSOR && !items[0].v->t.dyn &&
              tdtype(l, items[0].v) == DT_BOOL;
  if (d) {
    if (!mask) dyn_unsupported(l, "assigning", off);
    if (v->t.requires_grad && !l->no_grad)
      lerr(l, off, "assigning a tensor that requires grad into another by index is not supported");
    put_mask_dyn(l, x, items[0].v, d, off);
    return true;
  }
  if (mask) return false;
  for (int i = 0; i < n; i++)
    if (adv_item(&items[i])) {
      int s = 0;
      while (s < n && full_slice(&items[s])) s++;
      bool ok = s < n && items[s].kind == IX_VALUE && items[s].v->k != V_NONE;
      int e = s;
      while (e < n && items[e].kind == IX_VALUE && items[e].v->k != V_NONE) e++;
      for (int j = e; j < n; j++) ok &= full_slice(&items[j]);
      if (s > 0 && ok && !dyn_of(v) && !(v->k == V_TENSOR && v->t.requires_grad && !l->no_grad))
        put_after_slices(l, x, items, n, s, v, off);
      else
        put_indices(l, x, items, n, v, false, off);
      return true;
    }
  return false;
}

/* ---- index_put_, index_add_, scatter_add_ ------------------------------------------------ */

static Value *index_put_impl(L *l, Value *self, Args *a, const char *fname, bool inplace) {
  Value *v[4];
  args_bind(l, fname, "input, indices, values, accumulate=False", self, a, v, 4);
  Value *x = want_tensor(l, v[0], fname, a->off);
  if (v[1]->k != V_TUPLE && v[1]->k != V_LIST)
    lerr(l, a->off, "%s(): indices must be a tuple of tensors", fname);
  int n = v[1]->n;
  IndexItem *items = arena_alloc(l->arena, sizeof(IndexItem) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    if (v[1]->items[i]->k != V_TENSOR) lerr(l, a->off, "%s(): indices must be a tuple of tensors", fname);
    items[i] = (IndexItem){.kind = IX_VALUE, .v = v[1]->items[i], .off = a->off};
  }
  if (!inplace) x = bi_call(l, "clone", x, NULL, 0, a->off);
  bool acc = want_bool(l, v[3], a->off);
  if (n == 1 && tdtype(l, items[0].v) == DT_BOOL) {
    if (acc) lerr(l, a->off, "%s with a bool mask and accumulate=True is not supported by ttc", fname);
    bi_index_put(l, x, items, n, v[2], a->off);
  } else
    put_indices(l, x, items, n, v[2], acc, a->off);
  return x;
}

BI_FN(index_put_) { return index_put_impl(l, self, a, "index_put_", true); }
BI_FN(index_put_copy) { return index_put_impl(l, self, a, "index_put", false); }

/* x.index_add_(dim, index, source, alpha=1): source's slices along dim added at index. */
static Value *index_add_impl(L *l, Value *self, Args *a, const char *fname, bool inplace) {
  Value *v[5];
  args_bind(l, fname, "input, dim, index, source, alpha=1", self, a, v, 5);
  Value *x = want_tensor(l, v[0], fname, a->off), *src = want_tensor(l, v[3], fname, a->off);
  Value *idx = want_tensor(l, v[2], fname, a->off);
  Shape xs = tshape(l, x), ss = tshape(l, src), is = tshape(l, idx);
  int d = normdim(l, want_int(l, v[1], "dim", a->off), xs.rank ? xs.rank : 1, a->off);
  if (is.rank > 1) lerr(l, a->off, "%s(): Index is supposed to be a vector", fname);
  if (dt_is_float(tdtype(l, idx))) lerr(l, a->off, "%s(): Expected dtype int64 for index", fname);
  if (ss.rank != xs.rank) lerr(l, a->off, "%s(): source and self must have the same number of dimensions", fname);
  for (int i = 0; i < xs.rank; i++)
    if (i == d ? ss.d[i] != shape_numel(&is) : ss.d[i] != xs.d[i])
      lerr(l, a->off, "%s(): source %s does not match self %s with %lld indices along dim %d", fname,
           shape_str(&ss, (char[64]){0}, 64), shape_str(&xs, (char[64]){0}, 64), (long long)shape_numel(&is), d);
  if (v[4] && !(v[4]->k == V_INT && v[4]->i == 1)) src = bi_binop(l, BIN_MUL, src, v[4], a->off);
  if (!inplace) x = bi_call(l, "clone", x, NULL, 0, a->off);
  int64_t perm[TT_MAX_RANK];
  perm[0] = d;
  for (int i = 0, k = 1; i < xs.rank; i++)
    if (i != d) perm[k++] = i;
  Value *xt = d ? permute_to(l, x, perm, xs.rank, a->off, NULL) : bi_call(l, "clone", x, NULL, 0, a->off);
  Value *st = d ? permute_to(l, src, perm, xs.rank, a->off, NULL) : src;
  IndexItem it = {.kind = IX_VALUE, .v = is.rank ? idx : reshape(l, idx, shape1(1), a->off), .off = a->off};
  put_indices(l, xt, &it, 1, st, true, a->off);
  int64_t inv[TT_MAX_RANK];
  for (int i = 0; i < xs.rank; i++) inv[perm[i]] = i;
  Value *back = d ? permute_to(l, xt, inv, xs.rank, a->off, NULL) : xt;
  tensor_inplace(l, x, back, a->off);
  return x;
}

BI_FN(index_add_) { return index_add_impl(l, self, a, "index_add_", true); }
BI_FN(index_add) { return index_add_impl(l, self, a, "index_add", false); }

/* x.scatter_add_(dim, index, src): src[i][j] added at x[index[i][j]][j] (dim 0), ... */
static Value *scatter_add_impl(L *l, Value *self, Args *a, const char *fname, bool inplace) {
  Value *v[4];
  args_bind(l, fname, "input, dim, index, src", self, a, v, 4);
  Value *x = want_tensor(l, v[0], fname, a->off), *idx = want_tensor(l, v[2], fname, a->off);
  Value *src = want_tensor(l, v[3], fname, a->off);
  Shape xs = tshape(l, x), is = tshape(l, idx), ss = tshape(l, src);
  int d = normdim(l, want_int(l, v[1], "dim", a->off), xs.rank ? xs.rank : 1, a->off);
  if (tdtype(l, idx) != DT_I64) lerr(l, a->off, "%s(): Expected dtype int64 for index", fname);
  if (xs.symm || is.symm || ss.symm) lerr(l, a->off, "%s on a batch dimension is not supported by ttc", fname);
  if (is.rank != xs.rank || ss.rank != xs.rank)
    lerr(l, a->off, "%s(): Index tensor must have the same number of dimensions as self tensor", fname);
  for (int i = 0; i < xs.rank; i++)
    if (is.d[i] > ss.d[i] || (i != d && is.d[i] > xs.d[i]))
      lerr(l, a->off, "%s(): Size does not match at dimension %d: index %s, self %s, src %s", fname, i,
           shape_str(&is, (char[64]){0}, 64), shape_str(&xs, (char[64]){0}, 64), shape_str(&ss, (char[64]){0}, 64));
  if (!shape_eq(&is, &ss)) { /* the part of src the index covers */
    IndexItem it[TT_MAX_RANK];
    for (int i = 0; i < xs.rank; i++)
      it[i] = (IndexItem){.kind = IX_SLICE, .lo = v_int(l, 0), .hi = v_int(l, is.d[i]), .off = a->off};
    src = bi_index(l, src, it, xs.rank, true, a->off);
  }
  DType dt = tdtype(l, x);
  if (src->t.requires_grad && !l->no_grad) lerr(l, a->off, "%s() with a src that requires grad is not supported by ttc", fname);
  if (tdtype(l, src) != dt) src = cast(l, src, dt, a->off);
  Attr at = {0};
  at.i[0] = d;
  at.ints = ir_ints(cur_graph(l), xs.d, xs.rank);
  at.nints = xs.rank;
  Value *sv = dt == DT_BOOL ? i64(l, src, a->off) : src;
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, sv);
  in[1] = tnode(l, idx);
  Value *add = mk_tensor(l, add_node(l, OP_SCATTER_ADD, in, 2, &at, a->off));
  Value *r = bi_binop(l, BIN_ADD, dt == DT_BOOL ? i64(l, x, a->off) : x, add, a->off);
  if (dt == DT_BOOL) r = cast(l, r, DT_BOOL, a->off);
  if (r->t.requires_grad) r->t.gradfn = "ScatterAddBackward0";
  if (!inplace) return r;
  tensor_inplace(l, x, r, a->off);
  return x;
}

BI_FN(scatter_add_) { return scatter_add_impl(l, self, a, "scatter_add_", true); }
BI_FN(scatter_add) { return scatter_add_impl(l, self, a, "scatter_add", false); }
