/*
 * shape.c — the shape rules: one function per distinct name in ops.def's shape column.
 *
 * A rule reads its node's inputs (already in the graph) and attributes, and fills the
 * node's dtype and shape, or writes a user-facing message and returns false. The rules are
 * PyTorch's: broadcasting, torch.matmul's rank rules, reductions with keepdim. Dtype
 * promotion is not done here — the front end inserts CASTs — so mismatched dtypes are
 * errors. The verifier re-runs these rules on copies of finished nodes, so a rule must
 * depend only on the node's inputs and attributes, never on the node's previous shape
 * (sources excepted: their shape is given).
 *
 * The one symbolic (batch) dimension flows through elementwise ops, reductions, matmul's
 * batch and row dims, permutes, and reshapes that keep it leading; anything whose meaning
 * would depend on its run-time extent (slicing it, expanding into it) is rejected.
 */
#include "ir/ir.h"

#include <string.h>

/* ---- helpers ---------------------------------------------------------------------- */

static bool fail(IrErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(IrErr *err, const char *fmt, ...) {
  if (!err) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return false;
}

static const Node *in(const Graph *g, const Node *n, int i) { return &g->nodes[n->in[i]]; }
static const char *opname(const Node *n) { return ir_ops[n->op].name; }

/* A shape as text in a small rotating buffer, so a message can show several shapes. */
typedef struct {
  char b[4][96];
  int k;
} ShapeBufs;
static const char *ss(ShapeBufs *sb, const Shape *s) {
  char *b = sb->b[sb->k++ & 3];
  return shape_str(s, b, sizeof sb->b[0]);
}

static bool valid_shape(const Shape *s) {
  if (s->rank < 0 || s->rank > TT_MAX_RANK || (s->rank < TT_MAX_RANK && s->symm >> s->rank)) return false;
  for (int i = 0; i < s->rank; i++)
    if (s->d[i] < 0) return false;
  return true;
}

/* Dims [lo, hi) of s, keeping the symbolic markers that fall inside. */
static Shape sub_shape(const Shape *s, int lo, int hi) {
  Shape r;
  memset(&r, 0, sizeof r);
  for (int i = lo; i < hi; i++) {
    if (sym_at(s, i)) r.symm |= 1u << r.rank;
    r.d[r.rank++] = s->d[i];
  }
  return r;
}

/* Append b's dims to a (ranks already checked). */
static void concat_shape(Shape *a, const Shape *b) {
  a->symm |= b->symm << a->rank;
  for (int i = 0; i < b->rank; i++) a->d[a->rank++] = b->d[i];
}

/* Broadcast with PyTorch's message on failure, naming the first offending output dim. */
static bool broadcast(const Node *n, const Shape *a, const Shape *b, Shape *out, IrErr *err) {
  if (ir_broadcast(a, b, out)) return true;
  ShapeBufs sb = {.k = 0};
  int r = a->rank > b->rank ? a->rank : b->rank;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
    bool sa = ia >= 0 && sym_at(a, ia), sb2 = ib >= 0 && sym_at(b, ib);
    if ((sa || sb2) && !(sa && sb2 && da == db) && (sa ? db : da) != 1)
      return fail(err,
                  "%s: shapes %s and %s cannot be broadcast: the batch dimension B:%lld at "
                  "dimension %d matches only itself or 1",
                  opname(n), ss(&sb, a), ss(&sb, b), (long long)(sa ? da : db), i);
    if (!sa && !sb2 && da != db && da != 1 && db != 1)
      return fail(err, "%s: shapes %s and %s cannot be broadcast: sizes %lld and %lld differ at "
                  "dimension %d", opname(n), ss(&sb, a), ss(&sb, b), (long long)da,
                  (long long)db, i);
  }
  return fail(err, "%s: shapes %s and %s cannot be broadcast: more than one batch dimension",
              opname(n), ss(&sb, a), ss(&sb, b));
}

static bool same_dtype(const Node *n, DType a, DType b, IrErr *err) {
  if (a == b) return true;
  return fail(err, "%s: operands have different dtypes %s and %s", opname(n), dt_name(a),
              dt_name(b));
}

/* ---- sources and sinks ------------------------------------------------------------ */

/* Sources carry the shape they were built with (ir_add_source); only check it. */
static bool shape_source(const Graph *g, Node *n, IrErr *err) {
  (void)g;
  if ((unsigned)n->dtype >= DT__COUNT) return fail(err, "%s: invalid dtype", opname(n));
  if (!valid_shape(&n->shape)) return fail(err, "%s: invalid shape", opname(n));
  return true;
}

/* STORE has no value; it is typed like its input so printers and passes can show it. */
static bool shape_sink(const Graph *g, Node *n, IrErr *err) {
  (void)err;
  n->dtype = in(g, n, 0)->dtype;
  n->shape = shape_scalar();
  return true;
}

/* ---- elementwise ------------------------------------------------------------------ */

static bool shape_ew(const Graph *g, Node *n, IrErr *err) {
  const Node *a = in(g, n, 0);
  Shape s = a->shape;
  for (int i = 1; i < n->nin; i++) {
    const Node *b = in(g, n, i);
    if (!same_dtype(n, a->dtype, b->dtype, err)) return false;
    Shape t;
    if (!broadcast(n, &s, &b->shape, &t, err)) return false;
    s = t;
  }
  if (n->op == OP_NEG && a->dtype == DT_BOOL)
    return fail(err, "neg: negation of a bool tensor is not supported, use logical_not");
  if (n->op == OP_SUB && a->dtype == DT_BOOL)
    return fail(err, "sub: subtraction of bool tensors is not supported");
  n->dtype = (ir_ops[n->op].flags & OPF_CMP) ? DT_BOOL : a->dtype;
  n->shape = s;
  return true;
}

/* Elementwise ops defined only on floating types; also softmax and log_softmax. */
static bool shape_ew_float(const Graph *g, Node *n, IrErr *err) {
  DType t = in(g, n, 0)->dtype;
  if (!dt_is_float(t))
    return fail(err, "%s: expected a floating-point tensor, got %s", opname(n), dt_name(t));
  if (!shape_ew(g, n, err)) return false;
  if (n->op == OP_SOFTMAX || n->op == OP_LOG_SOFTMAX) {
    /* The front end normalizes the dim; a scalar has the one dim 0, as in PyTorch. */
    int r = n->shape.rank ? n->shape.rank : 1;
    if (n->attr.i[0] < 0 || n->attr.i[0] >= r)
      return fail(err, "%s: dim %lld out of range for a tensor of rank %d", opname(n),
                  (long long)n->attr.i[0], n->shape.rank);
  }
  return true;
}

/* Elementwise ops defined only on integer types (floor_divide, remainder). */
static bool shape_ew_int(const Graph *g, Node *n, IrErr *err) {
  DType t = in(g, n, 0)->dtype;
  if (dt_is_float(t) || t == DT_BOOL)
    return fail(err, "%s: expected an integer tensor, got %s", opname(n), dt_name(t));
  return shape_ew(g, n, err);
}

static bool shape_cast(const Graph *g, Node *n, IrErr *err) {
  if (n->attr.i[0] < 0 || n->attr.i[0] >= DT__COUNT)
    return fail(err, "cast: invalid target dtype %lld", (long long)n->attr.i[0]);
  n->dtype = (DType)n->attr.i[0];
  n->shape = in(g, n, 0)->shape;
  return true;
}

static bool shape_where(const Graph *g, Node *n, IrErr *err) {
  const Node *c = in(g, n, 0), *a = in(g, n, 1), *b = in(g, n, 2);
  if (c->dtype != DT_BOOL)
    return fail(err, "where: expected condition to be a bool tensor, got %s", dt_name(c->dtype));
  if (!same_dtype(n, a->dtype, b->dtype, err)) return false;
  Shape s, t;
  if (!broadcast(n, &c->shape, &a->shape, &s, err)) return false;
  if (!broadcast(n, &s, &b->shape, &t, err)) return false;
  n->dtype = a->dtype;
  n->shape = t;
  return true;
}

/* ---- reductions ------------------------------------------------------------------- */

/* Reduce x over the dims in mask (checked against its rank), keepdim or not. */
static bool reduce_dims(const Node *n, const Shape *x, int64_t mask, int64_t keepdim, Shape *out,
                        IrErr *err) {
  if (keepdim != 0 && keepdim != 1)
    return fail(err, "%s: keepdim must be 0 or 1, got %lld", opname(n), (long long)keepdim);
  if (mask < 0 || (x->rank < 63 && (mask >> x->rank) != 0)) {
    int bad = 0;
    while (bad < 63 && (bad < x->rank || !((mask >> bad) & 1))) bad++;
    return fail(err, "%s: dim %d out of range for a tensor of rank %d", opname(n), bad, x->rank);
  }
  Shape r;
  memset(&r, 0, sizeof r);
  for (int i = 0; i < x->rank; i++) {
    if ((mask >> i) & 1) {
      /* Reducing the batch dim leaves a static result: the loop bound is a run-time value. */
      if (keepdim) r.d[r.rank++] = 1;
    } else {
      if (sym_at(x, i)) r.symm |= 1u << r.rank;
      r.d[r.rank++] = x->d[i];
    }
  }
  *out = r;
  return true;
}

static bool shape_reduce(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  /* A full reduction is the full mask; 0 means nothing to reduce, except on a scalar. */
  if (n->attr.i[0] == 0 && x->shape.rank > 0)
    return fail(err, "%s: no dims to reduce", opname(n));
  if ((n->op == OP_MAX || n->op == OP_MIN) && x->dtype == DT_BOOL)
    return fail(err, "%s: not supported for bool tensors", opname(n));
  if (!reduce_dims(n, &x->shape, n->attr.i[0], n->attr.i[1], &n->shape, err)) return false;
  /* torch.sum (and prod) of an integer or bool tensor accumulates and returns int64. */
  n->dtype = ((n->op == OP_SUM || n->op == OP_PROD) && !dt_is_float(x->dtype)) ? DT_I64 : x->dtype;
  return true;
}

static bool shape_reduce_float(const Graph *g, Node *n, IrErr *err) {
  DType t = in(g, n, 0)->dtype;
  if (!dt_is_float(t))
    return fail(err, "%s: expected a floating-point tensor, got %s", opname(n), dt_name(t));
  return shape_reduce(g, n, err);
}

static bool shape_argmax(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  int64_t mask = n->attr.i[0];
  if (x->dtype == DT_BOOL) return fail(err, "%s: not supported for bool tensors", opname(n));
  if (mask != 0 && (mask & (mask - 1)) != 0)
    return fail(err, "%s: expected at most one dim to reduce", opname(n));
  if (mask == 0) {
    /* Over the flattened tensor: the index is into the row-major order, the result 0-d. */
    if (n->attr.i[1] != 0)
      return fail(err, "%s: keepdim needs a dim", opname(n));
    if (shape_numel(&x->shape) == 0 && !x->shape.symm)
      return fail(err, "%s: expected a non-empty tensor", opname(n));
    n->shape = shape_scalar();
  } else if (!reduce_dims(n, &x->shape, mask, n->attr.i[1], &n->shape, err)) {
    return false;
  }
  n->dtype = DT_I64;
  return true;
}

/* ---- matmul ----------------------------------------------------------------------- */

static bool shape_matmul(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *y = in(g, n, 1);
  ShapeBufs sb = {.k = 0};
  Shape a = x->shape, b = y->shape;
  if ((n->attr.i[0] != 0 && n->attr.i[0] != 1) || (n->attr.i[1] != 0 && n->attr.i[1] != 1))
    return fail(err, "matmul: invalid transpose flag");
  if (n->attr.i[1]) { /* transA: the stored left operand is [.., K, M] */
    if (a.rank < 2)
      return fail(err, "matmul: a transposed operand needs rank >= 2, got %s", ss(&sb, &a));
    int p = a.rank - 2, q = a.rank - 1;
    int64_t t = a.d[p];
    a.d[p] = a.d[q];
    a.d[q] = t;
    unsigned sp = a.symm >> p & 1u, sq = a.symm >> q & 1u;
    a.symm = (a.symm & ~(3u << p)) | sp << q | sq << p;
  }
  if (n->attr.i[0]) {
    if (b.rank < 2)
      return fail(err, "matmul: a transposed operand needs rank >= 2, got %s", ss(&sb, &b));
    /* The logical operand is the stored one with its last two dims swapped. */
    int p = b.rank - 2, q = b.rank - 1;
    int64_t t = b.d[p];
    b.d[p] = b.d[q];
    b.d[q] = t;
    unsigned sp = b.symm >> p & 1u, sq = b.symm >> q & 1u;
    b.symm = (b.symm & ~(3u << p)) | sp << q | sq << p;
  }
  if (a.rank == 0 || b.rank == 0)
    return fail(err, "matmul: both arguments need to be at least 1D, but they are %dD and %dD",
                a.rank, b.rank);
  if (!same_dtype(n, x->dtype, y->dtype, err)) return false;
  if (!dt_is_float(x->dtype) && x->dtype != DT_I64)
    return fail(err, "matmul: expected a floating-point or int64 tensor, got %s",
                dt_name(x->dtype));
  /* torch.matmul: a 1-D left operand gets a leading 1, a 1-D right one a trailing 1,
   * and both are removed from the result. */
  Shape a2 = a, b2 = b;
  if (a.rank == 1) {
    a2 = sub_shape(&a, 0, 0);
    a2.d[a2.rank++] = 1;
    concat_shape(&a2, &a);
  }
  if (b.rank == 1) {
    b2 = b;
    b2.d[b2.rank++] = 1;
  }
  int ka = a2.rank - 1, kb = b2.rank - 2;
  bool syma = sym_at(&a2, ka), symb = sym_at(&b2, kb);
  if (a2.d[ka] != b2.d[kb] || syma != symb)
    return fail(err, "matmul: %s @ %s: inner dimensions %s%lld and %s%lld differ", ss(&sb, &a),
                ss(&sb, &b), syma ? "B:" : "", (long long)a2.d[ka], symb ? "B:" : "",
                (long long)b2.d[kb]);
  /* Contracting over the batch dimension (a weight gradient, X^T G) gives a static shape:
   * drop the marker from both operands' contracted dims. */
  if (syma) {
    a2.symm &= ~(1u << ka);
    b2.symm &= ~(1u << kb);
    a.symm &= ~(1u << (a.rank - 1));
    b.symm &= ~(1u << (b.rank == 1 ? 0 : b.rank - 2));
  }
  Shape ba = sub_shape(&a2, 0, a2.rank - 2), bb = sub_shape(&b2, 0, b2.rank - 2), out;
  if (!ir_broadcast(&ba, &bb, &out))
    return fail(err, "matmul: %s @ %s: batch dimensions %s and %s cannot be broadcast",
                ss(&sb, &a), ss(&sb, &b), ss(&sb, &ba), ss(&sb, &bb));
  Shape m = a.rank == 1 ? sub_shape(&a2, 0, 0) : sub_shape(&a2, a2.rank - 2, a2.rank - 1);
  Shape nn = b.rank == 1 ? sub_shape(&b2, 0, 0) : sub_shape(&b2, b2.rank - 1, b2.rank);
  concat_shape(&out, &m);
  concat_shape(&out, &nn);
  n->dtype = x->dtype;
  n->shape = out;
  return true;
}

/* in[2] + in[0] @ in[1]: the product's shape, which in[2] must have exactly. */
static bool shape_matmul_acc(const Graph *g, Node *n, IrErr *err) {
  if (!shape_matmul(g, n, err)) return false;
  const Node *c = in(g, n, 2);
  ShapeBufs sb = {.k = 0};
  if (c->dtype != n->dtype || !shape_eq(&c->shape, &n->shape) || !dt_is_float(n->dtype))
    return fail(err, "matmul_acc: the accumulator is %s%s, the product %s%s (a float of the same shape)",
                dt_name(c->dtype), ss(&sb, &c->shape), dt_name(n->dtype), ss(&sb, &n->shape));
  return true;
}

/* int8 codes [*, K] and weight codes [N, K] -> int32 [*, N]; the zero point a 0-d int64. */
static bool shape_qlinear(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *w = in(g, n, 1), *z = in(g, n, 2);
  ShapeBufs sb = {.k = 0};
  if (x->dtype != DT_I8 || w->dtype != DT_I8 || z->dtype != DT_I64 || z->shape.rank != 0)
    return fail(err, "qlinear: expected int8 codes, int8 weights and a 0-d int64 zero point, got %s, %s, %s",
                dt_name(x->dtype), dt_name(w->dtype), dt_name(z->dtype));
  if (x->shape.rank < 1 || w->shape.rank != 2 || w->shape.symm ||
      sym_at(&x->shape, x->shape.rank - 1) || x->shape.d[x->shape.rank - 1] != w->shape.d[1])
    return fail(err, "qlinear: codes %s and weights %s do not match", ss(&sb, &x->shape),
                ss(&sb, &w->shape));
  n->shape = x->shape;
  n->shape.d[n->shape.rank - 1] = w->shape.d[0];
  n->dtype = DT_I32;
  return true;
}

/* The sparse Linear's ops (passes/prune.c, runtime/sparse.c): a float32 weight [N, K], its
 * int32 index (length from runtime/tt.h's TT_SPARSE_INDEX_LEN, keep in sync) and values. */
static int64_t sparse_index_len(int64_t N, int64_t K, int64_t cap) {
  return 8 + (N + 15) / 16 * 16 + (N + 15) / 16 * ((K + 255) / 256) + 1 + cap;
}

static bool sparse_weight(const Node *w, const Node *n, IrErr *err) {
  ShapeBufs sb = {.k = 0};
  if (w->dtype != DT_F32 || w->shape.rank != 2 || w->shape.symm || n->attr.i[0] < 0)
    return fail(err, "%s: the weight is %s%s (float32 [N, K] expected), room %lld", opname(n),
                dt_name(w->dtype), ss(&sb, &w->shape), (long long)n->attr.i[0]);
  return true;
}

static bool shape_sparse_index(const Graph *g, Node *n, IrErr *err) {
  const Node *w = in(g, n, 0);
  if (!sparse_weight(w, n, err)) return false;
  n->dtype = DT_I32;
  n->shape = shape_make(1, (int64_t[]){sparse_index_len(w->shape.d[0], w->shape.d[1], n->attr.i[0])});
  return true;
}

static bool shape_sparse_values(const Graph *g, Node *n, IrErr *err) {
  const Node *w = in(g, n, 0), *ix = in(g, n, 1);
  if (!sparse_weight(w, n, err)) return false;
  if (ix->dtype != DT_I32 || ix->shape.rank != 1 ||
      ix->shape.d[0] != sparse_index_len(w->shape.d[0], w->shape.d[1], n->attr.i[0]))
    return fail(err, "sparse_values: the index does not fit the weight and the room");
  n->dtype = DT_F32;
  n->shape = shape_make(1, (int64_t[]){n->attr.i[0] > 0 ? n->attr.i[0] : 1});
  return true;
}

static bool shape_sparse_linear(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *w = in(g, n, 1), *ix = in(g, n, 2), *v = in(g, n, 3);
  ShapeBufs sb = {.k = 0};
  if (!sparse_weight(w, n, err)) return false;
  if (x->dtype != DT_F32 || x->shape.rank < 1 || sym_at(&x->shape, x->shape.rank - 1) ||
      x->shape.d[x->shape.rank - 1] != w->shape.d[1])
    return fail(err, "sparse_linear: x %s%s and the weight %s do not match", dt_name(x->dtype),
                ss(&sb, &x->shape), ss(&sb, &w->shape));
  if (ix->dtype != DT_I32 || ix->shape.rank != 1 || v->dtype != DT_F32 || v->shape.rank != 1 ||
      ix->shape.d[0] != sparse_index_len(w->shape.d[0], w->shape.d[1], v->shape.d[0]))
    return fail(err, "sparse_linear: the index and values do not fit the weight");
  n->dtype = DT_F32;
  n->shape = x->shape;
  n->shape.d[n->shape.rank - 1] = w->shape.d[0];
  return true;
}

/* ---- layout ----------------------------------------------------------------------- */

/* The node's attr.ints as a shape (a target shape), or false if it is not one. */
static bool ints_shape(const Node *n, Shape *s, IrErr *err) {
  if (n->attr.nints < 0 || n->attr.nints > TT_MAX_RANK)
    return fail(err, "%s: target rank %d out of range", opname(n), n->attr.nints);
  memset(s, 0, sizeof *s);
  s->rank = n->attr.nints;
  for (int i = 0; i < s->rank; i++) {
    if (n->attr.ints[i] < 0)
      return fail(err, "%s: invalid size %lld", opname(n), (long long)n->attr.ints[i]);
    s->d[i] = n->attr.ints[i];
  }
  return true;
}

static bool shape_reshape(const Graph *g, Node *n, IrErr *err) {
  const Shape *x = &in(g, n, 0)->shape;
  ShapeBufs sb = {.k = 0};
  Shape t;
  if (!ints_shape(n, &t, err)) return false;
  if (shape_numel(x) != shape_numel(&t))
    return fail(err, "reshape: cannot view %s (%lld elements) as %s (%lld elements)", ss(&sb, x),
                (long long)shape_numel(x), ss(&sb, &t), (long long)shape_numel(&t));
  /* Storage is laid out by the bounds, so a symbolic dim survives a reshape only as a dim
   * of the same size after the same number of elements: then every element keeps its
   * offset, and the reshape only renames dims. */
  for (int i = 0; i < x->rank; i++) {
    if (!sym_at(x, i)) continue;
    int64_t before = 1;
    for (int k = 0; k < i; k++) before = dim_mul(before, x->d[k]);
    int j = 0;
    int64_t tb = 1;
    while (j < t.rank && (tb < before || (tb == before && t.d[j] == 1 && x->d[i] != 1))) tb = dim_mul(tb, t.d[j++]);
    if (j == t.rank || tb != before || t.d[j] != x->d[i])
      return fail(err, "reshape: cannot view %s as %s: the batch dimension %d must stay a "
                  "dimension of its own", ss(&sb, x), ss(&sb, &t), i);
    t.symm |= 1u << j;
  }
  n->dtype = in(g, n, 0)->dtype;
  n->shape = t;
  return true;
}

static bool shape_permute(const Graph *g, Node *n, IrErr *err) {
  const Shape *x = &in(g, n, 0)->shape;
  if (n->attr.nints != x->rank)
    return fail(err, "permute: expected %d dims in the order, got %d", x->rank, n->attr.nints);
  Shape r;
  memset(&r, 0, sizeof r);
  r.rank = x->rank;
  bool seen[TT_MAX_RANK] = {false};
  for (int i = 0; i < x->rank; i++) {
    int64_t k = n->attr.ints[i];
    if (k < 0 || k >= x->rank)
      return fail(err, "permute: dim %lld out of range for a tensor of rank %d", (long long)k,
                  x->rank);
    if (seen[k]) return fail(err, "permute: dim %lld appears more than once", (long long)k);
    seen[k] = true;
    r.d[i] = x->d[k];
    if (sym_at(x, (int)k)) r.symm |= 1u << i;
  }
  n->dtype = in(g, n, 0)->dtype;
  n->shape = r;
  return true;
}

static bool shape_expand(const Graph *g, Node *n, IrErr *err) {
  const Shape *x = &in(g, n, 0)->shape;
  ShapeBufs sb = {.k = 0};
  Shape t;
  if (!ints_shape(n, &t, err)) return false;
  if (t.rank < x->rank)
    return fail(err, "expand: cannot expand %s to %s: the target has fewer dimensions",
                ss(&sb, x), ss(&sb, &t));
  int off = t.rank - x->rank;
  /* attr.i[0] = 1 + the target's symbolic dim (a gradient broadcast back over a batch) */
  if (n->attr.i[0] > 0) {
    int sd = (int)n->attr.i[0] - 1;
    int xi = sd - off;
    if (sd >= t.rank || (x->symm && !sym_at(x, xi)))
      return fail(err, "expand: invalid batch dimension %d for %s", sd, ss(&sb, &t));
    if (xi >= 0 && !x->symm && x->d[xi] != 1)
      return fail(err, "expand: only a size-1 dimension can be expanded to the batch");
    t.symm |= 1u << sd;
  }
  for (int i = 0; i < x->rank; i++) {
    int64_t d = x->d[i], want = t.d[off + i];
    if (sym_at(x, i)) {
      if (want != d)
        return fail(err, "expand: cannot expand %s to %s: the batch dimension must keep its size",
                    ss(&sb, x), ss(&sb, &t));
      t.symm |= 1u << (off + i);
    } else if (d != want && d != 1) {
      return fail(err, "expand: cannot expand %s to %s: size %lld at dimension %d must be 1 or "
                  "%lld", ss(&sb, x), ss(&sb, &t), (long long)d, i, (long long)want);
    }
  }
  n->dtype = in(g, n, 0)->dtype;
  n->shape = t;
  return true;
}

static bool shape_slice(const Graph *g, Node *n, IrErr *err) {
  const Shape *x = &in(g, n, 0)->shape;
  if (n->attr.nints != 3 * x->rank)
    return fail(err, "slice: expected %d (start, stop, step) values, got %d", 3 * x->rank,
                n->attr.nints);
  Shape r = *x;
  for (int i = 0; i < x->rank; i++) {
    int64_t start = n->attr.ints[3 * i], stop = n->attr.ints[3 * i + 1];
    int64_t step = n->attr.ints[3 * i + 2];
    if (step < 1) return fail(err, "slice: step must be positive, got %lld", (long long)step);
    if (start < 0 || start > stop || stop > x->d[i])
      return fail(err, "slice: range %lld:%lld out of bounds for dimension %d of size %lld",
                  (long long)start, (long long)stop, i, (long long)x->d[i]);
    if (sym_at(x, i) && (start != 0 || stop != x->d[i] || step != 1))
      return fail(err, "slice: cannot slice the batch dimension (dimension %d)", i);
    r.d[i] = (stop - start + step - 1) / step;
  }
  n->dtype = in(g, n, 0)->dtype;
  n->shape = r;
  return true;
}

static bool shape_narrow(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *s = in(g, n, 1);
  ShapeBufs sb = {.k = 0};
  int64_t dim = n->attr.i[0], len = n->attr.i[1], ext = n->attr.i[2];
  if (s->dtype != DT_I64 || s->shape.rank != 0)
    return fail(err, "narrow: the start must be a 0-d int64 tensor, got %s%s", dt_name(s->dtype), ss(&sb, &s->shape));
  if (dim < 0 || dim >= x->shape.rank)
    return fail(err, "narrow: dim %lld out of range for %s", (long long)dim, ss(&sb, &x->shape));
  if (len < 0 || len > x->shape.d[dim] || (ext != 0 && ext != 1))
    return fail(err, "narrow: length %lld out of range for dimension %lld of %s", (long long)len, (long long)dim,
                ss(&sb, &x->shape));
  n->dtype = x->dtype;
  n->shape = x->shape;
  n->shape.d[dim] = len;
  n->shape.symm = (x->shape.symm & ~(1u << dim)) | (unsigned)ext << dim;
  return true;
}

static bool shape_cat(const Graph *g, Node *n, IrErr *err) {
  const Node *a = in(g, n, 0);
  ShapeBufs sb = {.k = 0};
  int rank = a->shape.rank;
  int64_t dim = n->attr.i[0];
  if (rank == 0) return fail(err, "cat: zero-dimensional tensor cannot be concatenated");
  if (dim < 0 || dim >= rank)
    return fail(err, "cat: dim %lld out of range for a tensor of rank %d", (long long)dim, rank);
  if (sym_at(&a->shape, (int)dim))
    return fail(err, "cat: cannot concatenate along the batch dimension");
  Shape r = a->shape;
  for (int i = 1; i < n->nin; i++) {
    const Node *b = in(g, n, i);
    if (!same_dtype(n, a->dtype, b->dtype, err)) return false;
    bool ok = b->shape.rank == rank && b->shape.symm == a->shape.symm;
    for (int k = 0; ok && k < rank; k++)
      if (k != dim && b->shape.d[k] != a->shape.d[k]) ok = false;
    if (!ok)
      return fail(err, "cat: shapes %s and %s differ outside dimension %lld", ss(&sb, &a->shape),
                  ss(&sb, &b->shape), (long long)dim);
    r.d[dim] += b->shape.d[dim];
  }
  n->dtype = a->dtype;
  n->shape = r;
  return true;
}

/* ---- autodiff's ops ---------------------------------------------------------------- */

/* BACKWARD: a sink; the gradient, when given, has the loss's shape and a float dtype. */
static bool shape_backward(const Graph *g, Node *n, IrErr *err) {
  const Node *loss = in(g, n, 0);
  ShapeBufs sb = {.k = 0};
  if (n->nin > 2) return fail(err, "backward: expected the loss and at most one gradient");
  if (!dt_is_float(loss->dtype)) return fail(err, "backward: the loss must be a floating-point tensor");
  if (n->nin == 2 && !shape_eq(&in(g, n, 1)->shape, &loss->shape))
    return fail(err, "backward: gradient shape %s differs from the output's %s", ss(&sb, &in(g, n, 1)->shape),
                ss(&sb, &loss->shape));
  if (n->attr.nints % 2) return fail(err, "backward: attr.ints must hold (var, accumulate) pairs");
  n->dtype = loss->dtype;
  n->shape = shape_scalar();
  return true;
}

/* SEED: an effect with no value. */
static bool shape_seed(const Graph *g, Node *n, IrErr *err) {
  (void)g, (void)err;
  n->dtype = DT_I64;
  n->shape = shape_scalar();
  return true;
}

/* DETACH: the input's type and shape. */
static bool shape_same(const Graph *g, Node *n, IrErr *err) {
  (void)err;
  n->dtype = in(g, n, 0)->dtype;
  n->shape = in(g, n, 0)->shape;
  return true;
}

static bool shape_cumsum(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  if (x->dtype == DT_BOOL) return fail(err, "cumsum: a bool operand (cast it first)");
  if (n->attr.i[0] < 0 || n->attr.i[0] >= (x->shape.rank ? x->shape.rank : 1)) return fail(err, "cumsum: dim out of range");
  n->dtype = x->dtype;
  n->shape = x->shape;
  return true;
}

static bool shape_argsort(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  if (x->dtype != DT_F32 && x->dtype != DT_F64 && x->dtype != DT_I64)
    return fail(err, "argsort: float32, float64 or int64 values, got %s", dt_name(x->dtype));
  if (n->attr.i[0] < 0 || n->attr.i[0] >= (x->shape.rank ? x->shape.rank : 1)) return fail(err, "argsort: dim out of range");
  n->dtype = DT_I64;
  n->shape = x->shape;
  return true;
}

static bool shape_one_hot(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  if (x->dtype != DT_I64) return fail(err, "one_hot: expected an int64 index tensor, got %s", dt_name(x->dtype));
  if (n->attr.i[0] < 1) return fail(err, "one_hot: the class count must be positive");
  if ((unsigned)n->attr.i[1] >= DT__COUNT) return fail(err, "one_hot: invalid output dtype");
  if (x->shape.rank >= TT_MAX_RANK) return fail(err, "one_hot: too many dimensions");
  n->dtype = (DType)n->attr.i[1];
  n->shape = x->shape;
  n->shape.d[n->shape.rank++] = n->attr.i[0];
  return true;
}

/* GATHER: int64 indices of x's rank, no larger than x along the other dims (torch.gather);
 * the output has the indices' shape and x's dtype. */
static bool shape_gather(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *ix = in(g, n, 1);
  ShapeBufs sb = {.k = 0};
  int64_t dim = n->attr.i[0];
  if (ix->dtype != DT_I64) return fail(err, "gather: expected an int64 index tensor, got %s", dt_name(ix->dtype));
  if (ix->shape.rank != x->shape.rank || dim < 0 || dim >= (x->shape.rank ? x->shape.rank : 1))
    return fail(err, "gather: index %s and input %s need the same rank, dim in range", ss(&sb, &ix->shape), ss(&sb, &x->shape));
  for (int i = 0; i < x->shape.rank; i++) {
    bool xs = sym_at(&x->shape, i), is = sym_at(&ix->shape, i);
    if (i != dim && (is && !xs)) return fail(err, "gather: the index has a batch dimension the input lacks");
    if (i != dim && !is && ix->shape.d[i] > x->shape.d[i])
      return fail(err, "gather: index %s is larger than input %s outside dim %lld", ss(&sb, &ix->shape), ss(&sb, &x->shape), (long long)dim);
    if (i != dim && xs && !is && ix->shape.d[i] != 1)
      return fail(err, "gather: along the batch dimension the index must be the batch, or 1");
  }
  n->dtype = x->dtype;
  n->shape = ix->shape;
  return true;
}

/* EMBEDDING: rows of a [V, D] table at int64 indices of any shape: [*, D]. */
static bool shape_embedding(const Graph *g, Node *n, IrErr *err) {
  const Node *w = in(g, n, 0), *ix = in(g, n, 1);
  ShapeBufs sb = {.k = 0};
  if (w->shape.rank != 2 || w->shape.symm) return fail(err, "embedding: the table must be [V, D], got %s", ss(&sb, &w->shape));
  if (ix->dtype != DT_I64) return fail(err, "embedding: expected int64 indices, got %s", dt_name(ix->dtype));
  if (ix->shape.rank >= TT_MAX_RANK) return fail(err, "embedding: too many dimensions");
  n->dtype = w->dtype;
  n->shape = ix->shape;
  n->shape.d[n->shape.rank++] = w->shape.d[1];
  return true;
}

/* EMBEDDING_BACKWARD: [*, D] rows at indices [*] added into zeros [V, D] (attr.ints). */
static bool shape_embedding_backward(const Graph *g, Node *n, IrErr *err) {
  const Node *gr = in(g, n, 0), *ix = in(g, n, 1);
  if (n->attr.nints != 2 || ix->dtype != DT_I64 || gr->shape.rank != ix->shape.rank + 1 ||
      gr->shape.d[gr->shape.rank - 1] != n->attr.ints[1])
    return fail(err, "embedding_backward: bad operands");
  n->dtype = gr->dtype;
  n->shape = (Shape){.rank = 2, .d = {n->attr.ints[0], n->attr.ints[1]}};
  return true;
}

/* SCATTER_ADD: in[0] (the gathered shape) added into zeros of shape attr.ints. */
static bool shape_scatter_add(const Graph *g, Node *n, IrErr *err) {
  const Node *gr = in(g, n, 0), *ix = in(g, n, 1);
  ShapeBufs sb = {.k = 0};
  if (ix->dtype != DT_I64 || !shape_eq(&gr->shape, &ix->shape))
    return fail(err, "scatter_add: values %s and int64 indices %s must have one shape", ss(&sb, &gr->shape), ss(&sb, &ix->shape));
  int rank = n->attr.nints;
  if (rank != ix->shape.rank || n->attr.i[0] < 0 || n->attr.i[0] >= (rank ? rank : 1) || n->attr.i[1] < 0 || n->attr.i[1] > rank)
    return fail(err, "scatter_add: bad attributes");
  Shape out = {.rank = rank, .symm = n->attr.i[1] > 0 ? 1u << (n->attr.i[1] - 1) : 0};
  for (int i = 0; i < rank; i++) out.d[i] = n->attr.ints[i];
  n->dtype = gr->dtype;
  n->shape = out;
  return true;
}

/* SLICE_BACKWARD: the output is the sliced tensor's shape (the last rank ints); in[0] must
 * be the shape of that slice. */
static bool shape_slice_backward(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  int rank = x->shape.rank;
  ShapeBufs sb = {.k = 0};
  if (n->attr.nints != 4 * rank)
    return fail(err, "slice_backward: expected %d attribute values, got %d", 4 * rank, n->attr.nints);
  Shape out = {.rank = rank, .symm = x->shape.symm};
  for (int i = 0; i < rank; i++) {
    int64_t start = n->attr.ints[3 * i], stop = n->attr.ints[3 * i + 1], step = n->attr.ints[3 * i + 2];
    out.d[i] = n->attr.ints[3 * rank + i];
    if (step < 1 || start < 0 || start > stop || stop > out.d[i] ||
        (stop - start + step - 1) / step != x->shape.d[i])
      return fail(err, "slice_backward: %s is not a slice of %s", ss(&sb, &x->shape), ss(&sb, &out));
  }
  n->dtype = x->dtype;
  n->shape = out;
  return true;
}

/* The optimizer steps: a sink over parameter-shaped float operands (the parameter, its
 * gradient, its state) and the 0-d lr (f64) and step (i64). SGD has them after the
 * gradient (param, grad, lr, step[, momentum buffer]); the others last. */
static bool shape_opt(const Graph *g, Node *n, IrErr *err) {
  int lo = 4, hi = 4; /* the inputs each optimizer may have */
  switch (n->op) {
  case OP_SGD_STEP: hi = 5; break;
  case OP_ADAM_STEP: case OP_ADADELTA_STEP: lo = hi = 6; break;
  case OP_ADAGRAD_STEP: lo = hi = 5; break;
  case OP_RMSPROP_STEP: lo = 5, hi = 7; break;
  default: return fail(err, "%s: not an optimizer step", opname(n));
  }
  if (n->nin < lo || n->nin > hi)
    return fail(err, "%s: expected %d to %d inputs, got %d", opname(n), lo, hi, n->nin);
  const Node *prm = in(g, n, 0);
  if (!dt_is_float(prm->dtype)) return fail(err, "%s: parameters must be floating point", opname(n));
  bool sgd = n->op == OP_SGD_STEP;
  int lr = sgd ? 2 : n->nin - 2, step = lr + 1;
  for (int i = 0; i < n->nin; i++) {
    if (i == lr || i == step) continue;
    const Node *x = in(g, n, i);
    if (x->dtype != prm->dtype || !shape_eq(&x->shape, &prm->shape))
      return fail(err, "%s: operand %d does not match the parameter's dtype and shape", opname(n), i);
  }
  if (in(g, n, lr)->dtype != DT_F64 || in(g, n, lr)->shape.rank != 0)
    return fail(err, "%s: the learning rate must be a 0-d f64", opname(n));
  if (in(g, n, step)->dtype != DT_I64 || in(g, n, step)->shape.rank != 0)
    return fail(err, "%s: the step must be a 0-d i64", opname(n));
  int nvars = n->nin - 3; /* the parameter and its states */
  if (n->attr.nints != nvars) return fail(err, "%s: expected %d variables in attr.ints", opname(n), nvars);
  n->dtype = prm->dtype;
  n->shape = shape_scalar();
  return true;
}

/* ---- convolution and pooling ------------------------------------------------------- */

static int64_t conv_out(int64_t n, int64_t k, int64_t s, int64_t p) {
  return (n + 2 * p - k) / s + 1;
}

/* A 4-D float image batch whose batch dimension, if symbolic, is the first. */
static bool image(const Node *n, const Node *x, IrErr *err) {
  ShapeBufs sb = {.k = 0};
  if (x->shape.rank != 4)
    return fail(err, "%s: expected a 4-D input [N, C, H, W], got %s", opname(n), ss(&sb, &x->shape));
  if (x->shape.symm & ~1u) return fail(err, "%s: the batch dimension must be the first", opname(n));
  if (!dt_is_float(x->dtype)) return fail(err, "%s: expected a floating-point tensor", opname(n));
  return true;
}

static bool window(const Node *n, const int64_t *a, int64_t h, int64_t w, int64_t kh, int64_t kw, IrErr *err) {
  if (a[0] < 1 || a[1] < 1 || a[2] < 0 || a[3] < 0)
    return fail(err, "%s: stride must be positive and padding non-negative", opname(n));
  if (h + 2 * a[2] < kh || w + 2 * a[3] < kw)
    return fail(err, "%s: the kernel (%lldx%lld) is larger than the padded input (%lldx%lld)", opname(n),
                (long long)kh, (long long)kw, (long long)(h + 2 * a[2]), (long long)(w + 2 * a[3]));
  return true;
}

static bool shape_conv2d(const Graph *g, Node *n, IrErr *err) {
  ShapeBufs sb = {.k = 0};
  if (n->nin != 2 && n->nin != 3) return fail(err, "conv2d: expected input, weight and an optional bias");
  const Node *x = in(g, n, 0), *w = in(g, n, 1);
  if (!image(n, x, err)) return false;
  if (n->attr.nints != 4) return fail(err, "conv2d: expected stride and padding");
  if (w->shape.rank != 4 || w->shape.symm)
    return fail(err, "conv2d: expected a 4-D weight [K, C, R, S], got %s", ss(&sb, &w->shape));
  if (!same_dtype(n, x->dtype, w->dtype, err)) return false;
  if (w->shape.d[1] != x->shape.d[1])
    return fail(err, "conv2d: input %s has %lld channels, but the weight %s expects %lld", ss(&sb, &x->shape),
                (long long)x->shape.d[1], ss(&sb, &w->shape), (long long)w->shape.d[1]);
  if (n->nin == 3) {
    const Node *b = in(g, n, 2);
    if (b->shape.rank != 1 || b->shape.d[0] != w->shape.d[0] || b->dtype != x->dtype)
      return fail(err, "conv2d: the bias must be [%lld], got %s", (long long)w->shape.d[0], ss(&sb, &b->shape));
  }
  const int64_t *a = n->attr.ints;
  if (!window(n, a, x->shape.d[2], x->shape.d[3], w->shape.d[2], w->shape.d[3], err)) return false;
  Shape o = x->shape;
  o.d[1] = w->shape.d[0];
  o.d[2] = conv_out(x->shape.d[2], w->shape.d[2], a[0], a[2]);
  o.d[3] = conv_out(x->shape.d[3], w->shape.d[3], a[1], a[3]);
  n->dtype = x->dtype;
  n->shape = o;
  return true;
}

/* CONV2D's shape rule on int8 codes and weights, with a 0-d int64 zero point as in[2]. */
static bool shape_qconv2d(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *w = in(g, n, 1), *z = in(g, n, 2);
  ShapeBufs sb = {.k = 0};
  if (x->dtype != DT_I8 || w->dtype != DT_I8 || z->dtype != DT_I64 || z->shape.rank != 0)
    return fail(err, "qconv2d: expected int8 codes, int8 weights and a 0-d int64 zero point");
  if (x->shape.rank != 4 || (x->shape.symm & ~1u) || w->shape.rank != 4 || w->shape.symm ||
      w->shape.d[1] != x->shape.d[1] || n->attr.nints != 4)
    return fail(err, "qconv2d: codes %s and weights %s do not match", ss(&sb, &x->shape),
                ss(&sb, &w->shape));
  const int64_t *a = n->attr.ints;
  if (!window(n, a, x->shape.d[2], x->shape.d[3], w->shape.d[2], w->shape.d[3], err)) return false;
  Shape o = x->shape;
  o.d[1] = w->shape.d[0];
  o.d[2] = conv_out(x->shape.d[2], w->shape.d[2], a[0], a[2]);
  o.d[3] = conv_out(x->shape.d[3], w->shape.d[3], a[1], a[3]);
  n->dtype = DT_I32;
  n->shape = o;
  return true;
}

static bool shape_conv2d_grad_input(const Graph *g, Node *n, IrErr *err) {
  const Node *dy = in(g, n, 0), *w = in(g, n, 1);
  if (!image(n, dy, err) || n->attr.nints != 6 || w->shape.rank != 4) return fail(err, "conv2d_grad_input: bad operands");
  const int64_t *a = n->attr.ints;
  Shape o = dy->shape;
  o.d[1] = w->shape.d[1];
  o.d[2] = a[4];
  o.d[3] = a[5];
  if (dy->shape.d[1] != w->shape.d[0] || conv_out(a[4], w->shape.d[2], a[0], a[2]) != dy->shape.d[2] ||
      conv_out(a[5], w->shape.d[3], a[1], a[3]) != dy->shape.d[3])
    return fail(err, "conv2d_grad_input: the gradient's shape does not match the convolution");
  n->dtype = dy->dtype;
  n->shape = o;
  return true;
}

static bool shape_conv2d_grad_weight(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0), *dy = in(g, n, 1);
  if (!image(n, x, err) || !image(n, dy, err) || n->attr.nints != 6) return fail(err, "conv2d_grad_weight: bad operands");
  const int64_t *a = n->attr.ints;
  if (dy->shape.d[0] != x->shape.d[0] || dy->shape.symm != x->shape.symm ||
      conv_out(x->shape.d[2], a[4], a[0], a[2]) != dy->shape.d[2] || conv_out(x->shape.d[3], a[5], a[1], a[3]) != dy->shape.d[3])
    return fail(err, "conv2d_grad_weight: the gradient's shape does not match the convolution");
  n->dtype = x->dtype;
  n->shape = (Shape){.rank = 4, .d = {dy->shape.d[1], x->shape.d[1], a[4], a[5]}};
  return true;
}

static bool shape_pool2d(const Graph *g, Node *n, IrErr *err) {
  const Node *x = in(g, n, 0);
  if (!image(n, x, err)) return false;
  if (n->attr.nints != 6) return fail(err, "%s: expected kernel, stride and padding", opname(n));
  const int64_t *a = n->attr.ints;
  if (a[0] < 1 || a[1] < 1) return fail(err, "%s: the kernel size must be positive", opname(n));
  if (a[4] * 2 > a[0] || a[5] * 2 > a[1])
    return fail(err, "%s: pad should be at most half of effective kernel size", opname(n));
  if (!window(n, a + 2, x->shape.d[2], x->shape.d[3], a[0], a[1], err)) return false;
  Shape o = x->shape;
  o.d[2] = conv_out(x->shape.d[2], a[0], a[2], a[4]);
  o.d[3] = conv_out(x->shape.d[3], a[1], a[3], a[5]);
  n->dtype = x->dtype;
  n->shape = o;
  return true;
}

static bool shape_pool2d_grad(const Graph *g, Node *n, IrErr *err) {
  if (n->op == OP_MAXPOOL2D_GRAD) {
    const Node *x = in(g, n, 0);
    if (!image(n, x, err) || n->attr.nints != 6) return fail(err, "max_pool2d_grad: bad operands");
    n->dtype = x->dtype;
    n->shape = x->shape;
    return true;
  }
  const Node *dy = in(g, n, 0);
  if (!image(n, dy, err) || n->attr.nints != 8) return fail(err, "avg_pool2d_grad: bad operands");
  Shape o = dy->shape;
  o.d[2] = n->attr.ints[6];
  o.d[3] = n->attr.ints[7];
  n->dtype = dy->dtype;
  n->shape = o;
  return true;
}

/* ---- torch.Generator objects and torch.linalg (ops.def's last rows) ----------------- */

/* GEN_SEED, GEN_USE: sinks with no value, typed as manual_seed's. */
static bool shape_gen(const Graph *g, Node *n, IrErr *err) {
  (void)g;
  int64_t lo = n->op == OP_GEN_USE ? 0 : 1; /* GEN_USE 0 returns to the default generator */
  if (n->attr.i[0] < lo || n->attr.i[0] >= 64) return fail(err, "%s: bad generator %lld", opname(n), (long long)n->attr.i[0]);
  n->dtype = DT_I64;
  n->shape = shape_scalar();
  return true;
}

/* linalg_inv, linalg_det: in[0] [..., n, n]; linalg_solve: in[0] [..., n, n] and in[1]
 * [..., n, k] with the same batch dims; linalg_lstsq: in[0] [m, n] and in[1] [m, k], m >= n.
 * Floating, static shapes. */
static bool shape_linalg(const Graph *g, Node *n, IrErr *err) {
  const Node *a = in(g, n, 0);
  const Shape *s = &a->shape;
  if (!dt_is_float(a->dtype)) return fail(err, "%s: expected a floating-point tensor, got %s", opname(n), dt_name(a->dtype));
  if (s->rank < 2) return fail(err, "%s: expected a tensor of at least 2 dims", opname(n));
  if (s->symm) return fail(err, "%s: a symbolic (batch) dimension is not supported", opname(n));
  int r = s->rank;
  if (n->op != OP_LINALG_LSTSQ && s->d[r - 1] != s->d[r - 2])
    return fail(err, "%s: A must be batches of square matrices, but they are %lld by %lld matrices",
                opname(n), (long long)s->d[r - 2], (long long)s->d[r - 1]);
  n->dtype = a->dtype;
  n->shape = *s;
  if (n->op == OP_LINALG_DET) {
    n->shape.rank = r - 2;
    return true;
  }
  if (n->op == OP_LINALG_INV) return true;
  const Node *b = in(g, n, 1);
  if (!same_dtype(n, a->dtype, b->dtype, err)) return false;
  if (b->shape.rank != r || b->shape.symm || b->shape.d[r - 2] != s->d[r - 2])
    return fail(err, "%s: incompatible shapes of A and B", opname(n));
  for (int i = 0; i < r - 2; i++)
    if (b->shape.d[i] != s->d[i]) return fail(err, "%s: incompatible batch shapes of A and B", opname(n));
  if (n->op == OP_LINALG_LSTSQ) {
    if (r != 2 || s->d[0] < s->d[1]) return fail(err, "%s: expected A of m x n with m >= n", opname(n));
    n->shape.d[0] = s->d[1];
  }
  n->shape.d[r - 1] = b->shape.d[r - 1];
  return true;
}

/* KV_ATTN (passes/kvcache.c): q, k, v [*, m, D|Dv] with the new positions m symbolic and
 * the same static leading dims, c a 0-d int64, caches [*, D, cap] (K, transposed) and [*, cap, Dv]; the result is
 * [*, m, Dv] in q's dtype (float32). */
static bool shape_kv_attn(const Graph *g, Node *n, IrErr *err) {
  const Node *q = in(g, n, 0), *k = in(g, n, 1), *v = in(g, n, 2), *c = in(g, n, 3);
  const Node *kc = in(g, n, 4), *vc = in(g, n, 5);
  ShapeBufs sb = {.k = 0};
  int r = q->shape.rank;
  if (q->dtype != DT_F32 || k->dtype != DT_F32 || v->dtype != DT_F32 || kc->dtype != DT_F32 ||
      vc->dtype != DT_F32 || c->dtype != DT_I64 || c->shape.rank != 0)
    return fail(err, "kv_attention: expected float32 q, k, v and caches and a 0-d int64 count");
  if (r < 2 || k->shape.rank != r || v->shape.rank != r || kc->shape.rank != r ||
      vc->shape.rank != r || q->shape.symm != 1u << (r - 2) || k->shape.symm != q->shape.symm ||
      v->shape.symm != q->shape.symm || kc->shape.symm || vc->shape.symm)
    return fail(err, "kv_attention: q %s, k %s, v %s: expected [*, B, D] with B the run-time extent",
                ss(&sb, &q->shape), ss(&sb, &k->shape), ss(&sb, &v->shape));
  for (int i = 0; i < r - 2; i++)
    if (k->shape.d[i] != q->shape.d[i] || v->shape.d[i] != q->shape.d[i] ||
        kc->shape.d[i] != q->shape.d[i] || vc->shape.d[i] != q->shape.d[i])
      return fail(err, "kv_attention: leading dims of q %s, k %s, v %s and the caches differ",
                  ss(&sb, &q->shape), ss(&sb, &k->shape), ss(&sb, &v->shape));
  /* the K cache is stored transposed: [*, D, cap] */
  if (k->shape.d[r - 2] != q->shape.d[r - 2] || v->shape.d[r - 2] != q->shape.d[r - 2] ||
      k->shape.d[r - 1] != q->shape.d[r - 1] || kc->shape.d[r - 2] != k->shape.d[r - 1] ||
      vc->shape.d[r - 1] != v->shape.d[r - 1] || kc->shape.d[r - 1] < q->shape.d[r - 2] ||
      vc->shape.d[r - 2] != kc->shape.d[r - 1])
    return fail(err, "kv_attention: q %s, k %s, v %s do not fit the caches %s and %s", ss(&sb, &q->shape),
                ss(&sb, &k->shape), ss(&sb, &v->shape), ss(&sb, &kc->shape), ss(&sb, &vc->shape));
  n->dtype = DT_F32;
  n->shape = q->shape;
  n->shape.d[r - 1] = v->shape.d[r - 1];
  return true;
}

/* ---- the table -------------------------------------------------------------------- */

const ShapeFn ir_shape_rules[OP__COUNT] = {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) [OP_##op] = shape,
#include "ir/ops.def"
#undef X
};
