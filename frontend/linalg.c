/*
 * linalg.c — torch.linalg (inv, solve, det, lstsq, norm, vector_norm, matrix_norm) and
 * their older names (torch.inverse, torch.det, Tensor.inverse, Tensor.det).
 *
 * The solvers are ops of their own (ops.def's linalg rows, runtime/linalg.c), which have
 * no gradient rule. Where an input requires grad, the result is made differentiable by
 * adding a term that is exactly zero in value and has PyTorch's derivative: for X = inv(A),
 *   X - X (A - A') X            (A' = A.detach(), so A - A' is 0 and X is unchanged)
 * whose gradient with respect to A is -X^T G X^T, as LinalgInvExBackward0's. The solve,
 * det and lstsq terms below follow the same pattern. The norms are compositions of abs,
 * pow, sum and amax/amin, as ATen composes them, so their gradients come with them.
 *
 * The builtins are listed in tensor_ops.c's table under "linalg.NAME" (torch.linalg's
 * namespace, looked up by lower.c) and their torch names.
 */
#include "lower.h"

#include <math.h>
#include <string.h>


static Value *call1(L *l, const char *fn, Value *x, int32_t off) { return bi_call(l, fn, x, NULL, 0, off); }
static Value *call2(L *l, const char *fn, Value *x, Value *y, int32_t off) {
  return bi_call(l, fn, x, (Value *[]){y}, 1, off);
}
static Value *mm(L *l, Value *x, Value *y, int32_t off) { return bi_binop(l, BIN_MATMUL, x, y, off); }
static Value *sub(L *l, Value *x, Value *y, int32_t off) { return bi_binop(l, BIN_SUB, x, y, off); }
static Value *add(L *l, Value *x, Value *y, int32_t off) { return bi_binop(l, BIN_ADD, x, y, off); }
static Value *mT(L *l, Value *x, int32_t off) { return bi_getattr(l, x, "mT", off); }

static bool wants_grad(L *l, Value *x) { return x && x->k == V_TENSOR && x->t.requires_grad && !l->no_grad; }

/* The linalg op on detached inputs: a value with no autograd history. */
static Value *raw(L *l, Op op, Value *a, Value *b, int32_t off) {
  int32_t in[2] = {tnode(l, call1(l, "detach", a, off)), 0};
  if (b) in[1] = tnode(l, call1(l, "detach", b, off));
  return mk_tensor(l, add_node(l, op, in, b ? 2 : 1, NULL, off));
}

/* A is a floating [..., n, n] (or [m, n] for lstsq) tensor, as PyTorch checks it. */
static Value *want_matrix(L *l, Value *v, const char *fname, bool square, int32_t off) {
  Value *a = want_tensor(l, v, fname, off);
  DType dt = tdtype(l, a);
  Shape s = tshape(l, a);
  if (!dt_is_float(dt))
    lerr(l, off, "%s: Expected a floating point or complex tensor as input. Got %s", fname,
         dt == DT_I64 ? "Long" : dt == DT_I32 ? "Int" : dt == DT_I8 ? "Char" : "Bool");
  if (s.rank < 2)
    lerr(l, off, "%s: The input tensor A must have at least 2 dimensions.", fname);
  if (square && s.d[s.rank - 1] != s.d[s.rank - 2])
    lerr(l, off, "%s: A must be batches of square matrices, but they are %lld by %lld matrices", fname,
         (long long)s.d[s.rank - 2], (long long)s.d[s.rank - 1]);
  if (s.symm) lerr(l, off, "%s: a batch dimension known only at run time is not supported", fname);
  return a;
}

static const char *dtname(DType dt) { return dt == DT_F64 ? "Double" : dt == DT_F32 ? "Float" : "Long"; }

/* ---- inv ------------------------------------------------------------------------------ */

static Value *inv_of(L *l, Value *a, int32_t off) {
  Value *x = raw(l, OP_LINALG_INV, a, NULL, off);
  if (!wants_grad(l, a)) return x;
  Value *da = sub(l, a, call1(l, "detach", a, off), off);
  Value *r = sub(l, x, mm(l, mm(l, x, da, off), x, off), off);
  r->t.gradfn = "LinalgInvExBackward0";
  return r;
}

BI_FN(linalg_inv) {
  Value *v[1];
  args_bind(l, "linalg.inv", "A", self, a, v, 1);
  return inv_of(l, want_matrix(l, v[0], "linalg.inv", true, a->off), a->off);
}

BI_FN(inverse) {
  Value *v[1];
  args_bind(l, "inverse", "input", self, a, v, 1);
  return inv_of(l, want_matrix(l, v[0], "linalg.inv", true, a->off), a->off);
}

/* ---- solve ---------------------------------------------------------------------------- */

BI_FN(linalg_solve) {
  Value *v[3];
  args_bind(l, "linalg.solve", "A, B, left=True", self, a, v, 3);
  if (!want_bool(l, v[2] ? v[2] : l->vtrue, a->off))
    lerr(l, a->off, "linalg.solve(): left=False is not supported by ttc; solve with A.mT and B.mT");
  Value *A = want_matrix(l, v[0], "linalg.solve", true, a->off);
  Value *B = want_tensor(l, v[1], "linalg.solve", a->off);
  if (tdtype(l, A) != tdtype(l, B))
    lerr(l, a->off, "linalg.solve: Expected A and B to have the same dtype, but found A of type %s and B of "
                    "type %s instead", dtname(tdtype(l, A)), dtname(tdtype(l, B)));
  Shape sa = tshape(l, A), sb = tshape(l, B);
  /* B is a vector (or a batch of them) when it has A's shape without the last dim */
  bool vec = sb.rank == 1 || (sb.rank == sa.rank - 1 && !memcmp(sb.d, sa.d, sizeof(int64_t) * (size_t)sb.rank));
  if (vec) B = call2(l, "unsqueeze", B, v_int(l, -1), a->off), sb = tshape(l, B);
  if (sb.rank != sa.rank || sb.d[sb.rank - 2] != sa.d[sa.rank - 2] || sb.symm)
    lerr(l, a->off, "linalg.solve: Incompatible shapes of A and B for the equation AX = B");
  for (int i = 0; i < sa.rank - 2; i++)
    if (sa.d[i] != sb.d[i])
      lerr(l, a->off, "linalg.solve(): A and B with different batch dimensions are not supported by ttc "
                      "(expand them to one batch shape)");
  Value *x = raw(l, OP_LINALG_SOLVE, A, B, a->off);
  if (wants_grad(l, A) || wants_grad(l, B)) {
    /* X + inv(A) ((B - B') - (A - A') X): gradients inv(A)^T G to B, -(that) X^T to A */
    Value *dA = sub(l, A, call1(l, "detach", A, a->off), a->off);
    Value *dB = sub(l, B, call1(l, "detach", B, a->off), a->off);
    Value *ia = raw(l, OP_LINALG_INV, A, NULL, a->off);
    x = add(l, x, mm(l, ia, sub(l, dB, mm(l, dA, x, a->off), a->off), a->off), a->off);
    x->t.gradfn = "LinalgSolveExBackward0";
  }
  if (vec) {
    const char *g = x->t.gradfn;
    x = call2(l, "squeeze", x, v_int(l, -1), a->off);
    if (g) x->t.gradfn = g;
  }
  return x;
}

/* ---- det ------------------------------------------------------------------------------ */

static Value *det_of(L *l, Value *A, int32_t off) {
  Value *d = raw(l, OP_LINALG_DET, A, NULL, off);
  if (!wants_grad(l, A)) return d;
  /* d + sum(d inv(A)^T (A - A')): the gradient G d inv(A)^T (a singular A, whose inverse
     does not exist, stops the program at run time) */
  Value *dA = sub(l, A, call1(l, "detach", A, off), off);
  Value *dd = call2(l, "unsqueeze", call2(l, "unsqueeze", d, v_int(l, -1), off), v_int(l, -1), off);
  Value *t = bi_binop(l, BIN_MUL, bi_binop(l, BIN_MUL, dd, mT(l, raw(l, OP_LINALG_INV, A, NULL, off), off), off), dA, off);
  Value *dims = v_tuple(l, 2);
  dims->items[0] = v_int(l, -2);
  dims->items[1] = v_int(l, -1);
  Value *r = add(l, d, call2(l, "sum", t, dims, off), off);
  r->t.gradfn = "LinalgDetBackward0";
  return r;
}

BI_FN(linalg_det) {
  Value *v[1];
  args_bind(l, "linalg.det", "A", self, a, v, 1);
  return det_of(l, want_matrix(l, v[0], "linalg.det", true, a->off), a->off);
}

BI_FN(det) {
  Value *v[1];
  args_bind(l, "det", "input", self, a, v, 1);
  return det_of(l, want_matrix(l, v[0], "linalg.det", true, a->off), a->off);
}

/* ---- lstsq ---------------------------------------------------------------------------- */

/*
 * torch.linalg.lstsq(A, B) with CPU's default driver gelsy: a named tuple (solution,
 * residuals, rank, singular_values), of which gelsy computes the solution and the rank
 * (residuals and singular_values are empty). ttc solves full-column-rank problems with
 * m >= n (another stops the program). Returned as an object with those four attributes;
 * unpacking or printing it whole is a diagnostic.
 */
BI_FN(linalg_lstsq) {
  Value *v[4];
  args_bind(l, "linalg.lstsq", "A, B, rcond=None, driver=None", self, a, v, 4);
  if (v[2]) lerr(l, a->off, "linalg.lstsq(): rcond= is not supported by ttc");
  if (v[3] && (v[3]->k != V_STR || strcmp(v[3]->s, "gelsy")))
    lerr(l, a->off, "linalg.lstsq(): only the CPU default driver 'gelsy' is supported by ttc");
  Value *A = want_matrix(l, v[0], "torch.linalg.lstsq", false, a->off);
  Value *B = want_tensor(l, v[1], "linalg.lstsq", a->off);
  if (tdtype(l, A) != tdtype(l, B))
    lerr(l, a->off, "torch.linalg.lstsq: Expected input and other to have the same dtype, but got input's "
                    "dtype %s and other's dtype %s", dtname(tdtype(l, A)), dtname(tdtype(l, B)));
  Shape sa = tshape(l, A);
  if (sa.rank != 2) lerr(l, a->off, "linalg.lstsq(): ttc supports one matrix A (2 dims), not a batch");
  if (sa.d[0] < sa.d[1])
    lerr(l, a->off, "linalg.lstsq(): an underdetermined system (A of %lld x %lld, fewer rows than columns) is "
                    "not supported by ttc", (long long)sa.d[0], (long long)sa.d[1]);
  bool vec = tshape(l, B).rank == 1;
  if (vec) B = call2(l, "unsqueeze", B, v_int(l, -1), a->off);
  Shape sb = tshape(l, B);
  if (sb.rank != 2 || sb.d[0] != sa.d[0] || sb.symm)
    lerr(l, a->off, "torch.linalg.lstsq: input.size(-2) should match other.size(-2)");
  Value *x = raw(l, OP_LINALG_LSTSQ, A, B, a->off);
  if (wants_grad(l, A) || wants_grad(l, B)) {
    /* the derivative of pinv(A) B for a full column rank A, with M = (A^T A)^-1, r = B - A X:
       dX = M dA^T r - M A^T dA X + M A^T dB */
    Value *Ad = call1(l, "detach", A, a->off), *Bd = call1(l, "detach", B, a->off);
    Value *dA = sub(l, A, Ad, a->off), *dB = sub(l, B, Bd, a->off);
    Value *M = raw(l, OP_LINALG_INV, mm(l, mT(l, Ad, a->off), Ad, a->off), NULL, a->off);
    Value *r = sub(l, Bd, mm(l, Ad, x, a->off), a->off);
    Value *t1 = mm(l, mT(l, dA, a->off), r, a->off);
    Value *adt = mT(l, Ad, a->off);
    Value *t2 = mm(l, adt, sub(l, dB, mm(l, dA, x, a->off), a->off), a->off);
    x = add(l, x, mm(l, M, add(l, t1, t2, a->off), a->off), a->off);
    x->t.gradfn = "LinalgLstsqBackward0";
  }
  if (vec) {
    const char *g = x->t.gradfn;
    x = call2(l, "squeeze", x, v_int(l, -1), a->off);
    if (g) x->t.gradfn = g;
  }
  DType dt = tdtype(l, A);
  Value *empty = filled(l, (Shape){.rank = 1, .d = {0}}, dt, 0, a->off);
  Value *rank = filled(l, (Shape){.rank = 0}, DT_I64, (double)sa.d[1], a->off);
  Value *cls = v_new(l, V_CLASS);
  cls->bi = bi_lookup("linalg.lstsq", BI_FUNC);
  cls->s = "torch.return_types.linalg_lstsq";
  Value *o = v_new(l, V_OBJECT);
  o->cls = cls;
  attrs_set(l, &o->attrs, "solution", x);
  attrs_set(l, &o->attrs, "residuals", empty);
  attrs_set(l, &o->attrs, "rank", rank);
  attrs_set(l, &o->attrs, "singular_values", empty);
  return o;
}

/* ---- norms ---------------------------------------------------------------------------- */

/* The ord argument as a number; 'fro' and 'nuc' as strings are the caller's. */
static double want_ord(L *l, Value *v, const char *fname, int32_t off) {
  if (v->k == V_STR) lerr(l, off, "%s: ord='%s' is not supported here", fname, v->s);
  return want_num(l, v, "ord", off);
}

/* sum(|x|^ord)^(1/ord) over dim (None: all), as torch.norm builds it; ord 2, 1, inf, -inf
 * and any positive number. */
static Value *vnorm(L *l, Value *x, double ord, Value *dim, Value *keep, int32_t off, const char *fname) {
  if (ord <= 0 && !isinf(ord))
    lerr(l, off, "%s: ord=%g is not supported by ttc (use a positive ord or inf)", fname, ord);
  if (isinf(ord)) {
    Value *ax = call1(l, "abs", x, off);
    Value *r = dim ? bi_call(l, ord > 0 ? "amax" : "amin", ax, (Value *[]){dim, keep}, 2, off)
                   : call1(l, ord > 0 ? "amax" : "amin", ax, off);
    if (r->t.requires_grad) r->t.gradfn = "LinalgVectorNormBackward0";
    return r;
  }
  Value *r = bi_call(l, "norm", x, (Value *[]){v_float(l, ord), dim ? dim : l->none, keep}, 3, off);
  if (r->t.requires_grad) r->t.gradfn = "LinalgVectorNormBackward0";
  return r;
}

static Value *float_input(L *l, Value *v, Value *dtype, const char *fname, int32_t off) {
  Value *x = want_tensor(l, v, fname, off);
  if (dtype) x = cast(l, x, want_dtype(l, dtype, off), off);
  if (!dt_is_float(tdtype(l, x)))
    lerr(l, off, "%s: Expected a floating point or complex tensor as input. Got %s", fname, dtname(tdtype(l, x)));
  return x;
}

BI_FN(linalg_vector_norm) {
  Value *v[5];
  args_bind(l, "linalg.vector_norm", "x, ord=2, dim=None, keepdim=False, dtype=None", self, a, v, 5);
  Value *x = float_input(l, v[0], v[4], "linalg.vector_norm", a->off);
  double ord = v[1] ? want_ord(l, v[1], "linalg.vector_norm", a->off) : 2;
  return vnorm(l, x, ord, v[2], v[3] ? v[3] : l->vfalse, a->off, "linalg.vector_norm");
}

/* ord 'fro', 1, -1, inf, -inf over the two dims (ATen's compositions). */
static Value *mnorm(L *l, Value *x, Value *ord, Value *dim, Value *keep, int32_t off, const char *fname) {
  int64_t d0 = -2, d1 = -1;
  if (dim) {
    if ((dim->k != V_TUPLE && dim->k != V_LIST) || dim->n != 2)
      lerr(l, off, "%s: dim must be a 2-tuple. Got %s", fname, v_typename(dim));
    d0 = want_int(l, dim->items[0], "dim", off), d1 = want_int(l, dim->items[1], "dim", off);
  }
  int rank = tshape(l, x).rank;
  if (rank < 2) lerr(l, off, "%s: The input tensor A must have at least 2 dimensions.", fname);
  int n0 = normdim(l, d0, rank, off), n1 = normdim(l, d1, rank, off);
  if (n0 == n1) lerr(l, off, "%s: dims must be different. Got (%lld, %lld)", fname, (long long)d0, (long long)d1);
  bool kd = want_bool(l, keep, off);
  if (ord->k == V_STR) {
    if (strcmp(ord->s, "fro"))
      lerr(l, off, "%s: ord='%s' is not supported by ttc (it needs singular values)", fname, ord->s);
    Value *dims = v_tuple(l, 2);
    dims->items[0] = v_int(l, n0);
    dims->items[1] = v_int(l, n1);
    return vnorm(l, x, 2, dims, keep, off, fname);
  }
  double o = want_num(l, ord, "ord", off);
  if (o != 1 && o != -1 && !isinf(o))
    lerr(l, off, "%s: ord=%g is not supported by ttc (1, -1, inf, -inf or 'fro'; 2, -2 and 'nuc' need "
                 "singular values)", fname, o);
  /* ord +-1: max/min over columns of the column sums; +-inf: over rows of the row sums */
  int sum_dim = fabs(o) == 1 ? n0 : n1, red_dim = fabs(o) == 1 ? n1 : n0;
  Value *s = bi_call(l, "sum", call1(l, "abs", x, off), (Value *[]){v_int(l, sum_dim), l->vtrue}, 2, off);
  Value *r = bi_call(l, o > 0 ? "amax" : "amin", s, (Value *[]){v_int(l, red_dim), l->vtrue}, 2, off);
  if (!kd) {
    int hi = n0 > n1 ? n0 : n1, lo = n0 > n1 ? n1 : n0;
    r = call2(l, "squeeze", call2(l, "squeeze", r, v_int(l, hi), off), v_int(l, lo), off);
    if (r->t.requires_grad) r->t.gradfn = o > 0 ? "AmaxBackward0" : "AminBackward0";
  }
  return r;
}

BI_FN(linalg_matrix_norm) {
  Value *v[5];
  args_bind(l, "linalg.matrix_norm", "A, ord='fro', dim=None, keepdim=False, dtype=None", self, a, v, 5);
  Value *x = float_input(l, v[0], v[4], "linalg.matrix_norm", a->off);
  return mnorm(l, x, v[1] ? v[1] : v_str(l, "fro"), v[2], v[3] ? v[3] : l->vfalse, a->off, "linalg.matrix_norm");
}

/* torch.linalg.norm: ord None is the 2-norm of the flattened input (or over dim); a 2-tuple
 * dim, or an ord with a 2-D input and no dim, is a matrix norm; otherwise a vector norm. */
BI_FN(linalg_norm) {
  Value *v[5];
  args_bind(l, "linalg.norm", "A, ord=None, dim=None, keepdim=False, dtype=None", self, a, v, 5);
  Value *x = float_input(l, v[0], v[4], "linalg.norm", a->off);
  Value *keep = v[3] ? v[3] : l->vfalse;
  Value *dim = v[2];
  int rank = tshape(l, x).rank;
  bool dim2 = dim && (dim->k == V_TUPLE || dim->k == V_LIST) && dim->n == 2;
  if (dim && (dim->k == V_TUPLE || dim->k == V_LIST) && dim->n != 2 && dim->n != 1)
    lerr(l, a->off, "linalg.norm: If dim is specified, it must be of length 1 or 2. Got %s", v_typename(dim));
  if (!v[1]) {
    if (dim2) return mnorm(l, x, v_str(l, "fro"), dim, keep, a->off, "linalg.norm");
    return vnorm(l, x, 2, dim, keep, a->off, "linalg.norm");
  }
  if (dim2 || (!dim && rank == 2)) return mnorm(l, x, v[1], dim, keep, a->off, "linalg.norm");
  if (!dim && rank != 1)
    lerr(l, a->off, "linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got %dD.", rank);
  return vnorm(l, x, want_ord(l, v[1], "linalg.norm", a->off), dim, keep, a->off, "linalg.norm");
}
