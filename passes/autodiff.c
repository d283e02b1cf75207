/*
 * autodiff.c — reverse-mode automatic differentiation.
 *
 * Purpose:  replace each BACKWARD node (loss.backward()) with the gradient graph: the
 *           forward nodes are kept, and a reverse-topological walk from the loss applies
 *           each op's gradient rule (the ops.def grad column, defined below), summing the
 *           contributions where a value fans out (shared weights) and reducing broadcast
 *           dimensions. The gradients of the leaves (program variables that require
 *           grad) are stored into their .grad variables, added to what is there when the
 *           front end says the .grad already exists (PyTorch accumulates until zeroed).
 * Requires: a verified graph; BACKWARD's attr.ints lists (var, accumulate) pairs, one per
 *           leaf whose .grad the program can read.
 * Produces: a graph with no BACKWARD node; the new nodes carry the source location of the
 *           forward op whose gradient they compute (the seed and the .grad stores that of
 *           the backward() call) and Node.backward = true (for the NaN detective).
 *
 * "loss.backward() isn't magic; it is simply a graph walk." The walk knows no op: it
 * only calls rules. A rule receives the node and the gradient of its output, and adds
 * nodes computing each input's contribution.
 */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct Ad {
  const Graph *in;
  Graph *out;
  const Program *p;
  int32_t *map;  /* in id -> out id of the forward value */
  int32_t *grad; /* in id -> out id of its accumulated gradient, or -1 */
  bool *needs;   /* in id -> the value depends on a leaf that requires grad */
  Loc loc;       /* the backward() call */
} Ad;

typedef void (*GradFn)(Ad *ad, int id, int g);

/* ---- building gradient nodes -------------------------------------------------------- */

static int mk(Ad *ad, Op op, const int32_t *in, int nin, const Attr *attr) {
  IrErr err;
  Attr zero = {0};
  int id = ir_add(ad->out, op, in, nin, attr ? attr : &zero, ad->loc, &err);
  if (id < 0) tt_internal_error(__FILE__, __LINE__, err.msg); /* a rule built a bad node */
  ad->out->nodes[id].backward = true;
  return id;
}

static int op1(Ad *ad, Op op, int a) {
  int32_t in[1] = {a};
  return mk(ad, op, in, 1, NULL);
}

static int op2(Ad *ad, Op op, int a, int b) {
  int32_t in[2] = {a, b};
  return mk(ad, op, in, 2, NULL);
}

static const Node *on(Ad *ad, int outid) {
  return &ad->out->nodes[outid];
}

/* A 0-d constant of dtype dt. */
static int scalar(Ad *ad, double v, DType dt) {
  Attr a = {0};
  a.data = arena_alloc(ad->out->arena, 8);
  switch (dt) {
  case DT_F32: *(float *)a.data = (float)v; break;
  case DT_F64: *(double *)a.data = v; break;
  default: tt_unreachable();
  }
  int id = ir_add_source(ad->out, OP_CONST, dt, shape_scalar(), &a, ad->loc);
  ad->out->nodes[id].backward = true;
  return id;
}

static int fill(Ad *ad, double v, DType dt, Shape s) {
  if (s.symm) ad->out->loader = ad->in->loader;
  Attr a = {0};
  a.f[0] = v;
  int id = ir_add_source(ad->out, OP_FILL, dt, s, &a, ad->loc);
  ad->out->nodes[id].backward = true;
  return id;
}

static int reshape(Ad *ad, int x, const Shape *s) {
  if (shape_eq(&on(ad, x)->shape, s)) return x;
  Attr a = {0};
  a.ints = (int64_t *)s->d;
  a.nints = s->rank;
  int32_t in[1] = {x};
  return mk(ad, OP_RESHAPE, in, 1, &a);
}

static int cast(Ad *ad, int x, DType dt) {
  if (on(ad, x)->dtype == dt) return x;
  Attr a = {0};
  a.i[0] = dt;
  int32_t in[1] = {x};
  return mk(ad, OP_CAST, in, 1, &a);
}

static int mulc(Ad *ad, int x, double c) {
  return op2(ad, OP_MUL, x, scalar(ad, c, on(ad, x)->dtype));
}

/* Sum g over the dimensions that broadcasting added or stretched, to shape t. */
static int unbroadcast(Ad *ad, int g, const Shape *t) {
  const Shape *gs = &on(ad, g)->shape;
  if (shape_eq(gs, t)) return g;
  int off = gs->rank - t->rank;
  TT_ASSERT(off >= 0);
  int64_t mask = 0;
  for (int i = 0; i < gs->rank; i++)
    if (i < off || (t->d[i - off] == 1 && gs->d[i] != 1)) mask |= 1LL << i;
  int r = g;
  if (mask) {
    Attr a = {0};
    a.i[0] = mask;
    a.i[1] = 1;
    int32_t in[1] = {g};
    r = mk(ad, OP_SUM, in, 1, &a);
  }
  return reshape(ad, r, t);
}

/* Adds contribution c to the gradient of in-graph node x (if x needs one). */
static void acc_node(Ad *ad, int x, int c) {
  if (!ad->needs[x]) return;
  const Node *xn = &ad->in->nodes[x];
  c = cast(ad, c, xn->dtype);
  c = unbroadcast(ad, c, &xn->shape);
  ad->grad[x] = ad->grad[x] < 0 ? c : op2(ad, OP_ADD, ad->grad[x], c);
}

/* Input k of node id: its in-graph id, its forward value in out, whether it needs grad. */
#define IN(k) (ad->in->nodes[id].in[k])
#define X(k) (ad->map[IN(k)])
#define Y (ad->map[id])
#define NEEDS(k) (ad->needs[IN(k)])
#define ACC(k, c) acc_node(ad, IN(k), (c))
#define NODE (&ad->in->nodes[id])

/* ---- gradient rules: one per differentiable op (ops.def grad column) ---------------- */

/* No call here passes two arguments that both add nodes: C leaves the order of a call's
 * arguments (and of an initializer list's items) unspecified, so the nodes' order, and
 * with it the names in the C, would depend on the compiler that built ttc. */

static void grad_neg(Ad *ad, int id, int g) { ACC(0, op1(ad, OP_NEG, g)); }
static void grad_exp(Ad *ad, int id, int g) { ACC(0, op2(ad, OP_MUL, g, Y)); }
static void grad_log(Ad *ad, int id, int g) { ACC(0, op2(ad, OP_DIV, g, X(0))); }
static void grad_sqrt(Ad *ad, int id, int g) {
  ACC(0, op2(ad, OP_DIV, g, mulc(ad, Y, 2)));
}
static void grad_rsqrt(Ad *ad, int id, int g) {
  int y3 = op2(ad, OP_MUL, op2(ad, OP_MUL, Y, Y), Y);
  ACC(0, mulc(ad, op2(ad, OP_MUL, g, y3), -0.5));
}
static void grad_abs(Ad *ad, int id, int g) {
  DType dt = NODE->dtype;
  int zero = scalar(ad, 0, dt);
  int pos = cast(ad, op2(ad, OP_GT, X(0), zero), dt);
  int neg = cast(ad, op2(ad, OP_LT, X(0), zero), dt);
  int sgn = op2(ad, OP_SUB, pos, neg);
  ACC(0, op2(ad, OP_MUL, g, sgn));
}
static void grad_relu(Ad *ad, int id, int g) {
  int zero = scalar(ad, 0, NODE->dtype);
  int32_t in[3] = {op2(ad, OP_GT, Y, zero), g, zero};
  ACC(0, mk(ad, OP_WHERE, in, 3, NULL));
}
static void grad_sigmoid(Ad *ad, int id, int g) {
  int one_minus = op2(ad, OP_SUB, scalar(ad, 1, NODE->dtype), Y);
  ACC(0, op2(ad, OP_MUL, g, op2(ad, OP_MUL, Y, one_minus)));
}
static void grad_sin(Ad *ad, int id, int g) { ACC(0, op2(ad, OP_MUL, g, op1(ad, OP_COS, X(0)))); }
static void grad_cos(Ad *ad, int id, int g) {
  ACC(0, op1(ad, OP_NEG, op2(ad, OP_MUL, g, op1(ad, OP_SIN, X(0)))));
}
static void grad_tanh(Ad *ad, int id, int g) {
  int one = scalar(ad, 1, NODE->dtype);
  int d = op2(ad, OP_SUB, one, op2(ad, OP_MUL, Y, Y));
  ACC(0, op2(ad, OP_MUL, g, d));
}
/* floor, ceil, round, trunc and sign are flat almost everywhere: their gradient is zero,
 * as PyTorch's */
static void grad_flat(Ad *ad, int id, int g) {
  (void)g;
  ACC(0, fill(ad, 0, NODE->dtype, NODE->shape));
}
static void grad_log1p(Ad *ad, int id, int g) {
  ACC(0, op2(ad, OP_DIV, g, op2(ad, OP_ADD, X(0), scalar(ad, 1, NODE->dtype))));
}
static void grad_expm1(Ad *ad, int id, int g) {
  ACC(0, op2(ad, OP_MUL, g, op2(ad, OP_ADD, Y, scalar(ad, 1, NODE->dtype))));
}
static void grad_softplus(Ad *ad, int id, int g) {
  ACC(0, op2(ad, OP_MUL, g, op1(ad, OP_SIGMOID, X(0))));
}
static void grad_erf(Ad *ad, int id, int g) {
  /* d/dx erf(x) = 2/sqrt(pi) exp(-x^2) */
  int e = op1(ad, OP_EXP, op1(ad, OP_NEG, op2(ad, OP_MUL, X(0), X(0))));
  ACC(0, op2(ad, OP_MUL, g, mulc(ad, e, 1.12837916709551257390)));
}
static void grad_gelu(Ad *ad, int id, int g) {
  /* Phi(x) + x phi(x), with Phi(x) = (1 + erf(x/sqrt2))/2, phi(x) = exp(-x^2/2)/sqrt(2 pi) */
  DType dt = NODE->dtype;
  int x = X(0);
  int one = scalar(ad, 1, dt);
  int cdf = mulc(ad, op2(ad, OP_ADD, one, op1(ad, OP_ERF, mulc(ad, x, 0.70710678118654752440))), 0.5);
  int pdf = mulc(ad, op1(ad, OP_EXP, mulc(ad, op2(ad, OP_MUL, x, x), -0.5)), 0.39894228040143267794);
  ACC(0, op2(ad, OP_MUL, g, op2(ad, OP_ADD, cdf, op2(ad, OP_MUL, x, pdf))));
}
static void grad_gelu_tanh(Ad *ad, int id, int g) {
  /* PyTorch's GeluBackward with approximate='tanh' */
  DType dt = NODE->dtype;
  const double beta = 0.79788456080286535588, kappa = 0.044715;
  int x = X(0);
  int x2 = op2(ad, OP_MUL, x, x);
  int inner = mulc(ad, op2(ad, OP_ADD, x, mulc(ad, op2(ad, OP_MUL, x2, x), kappa)), beta);
  int t = op1(ad, OP_TANH, inner);
  int one = scalar(ad, 1, dt);
  int left_d = mulc(ad, op2(ad, OP_ADD, one, t), 0.5);
  int sech2 = op2(ad, OP_SUB, one, op2(ad, OP_MUL, t, t));
  int inner_d = mulc(ad, op2(ad, OP_ADD, one, mulc(ad, x2, 3 * kappa)), beta);
  int half_x = mulc(ad, x, 0.5);
  int right_d = op2(ad, OP_MUL, half_x, op2(ad, OP_MUL, sech2, inner_d));
  ACC(0, op2(ad, OP_MUL, g, op2(ad, OP_ADD, left_d, right_d)));
}
static void grad_cast(Ad *ad, int id, int g) {
  if (dt_is_float(ad->in->nodes[IN(0)].dtype)) ACC(0, g);
}
static void grad_add(Ad *ad, int id, int g) {
  ACC(0, g);
  ACC(1, g);
}
static void grad_sub(Ad *ad, int id, int g) {
  ACC(0, g);
  if (NEEDS(1)) ACC(1, op1(ad, OP_NEG, g));
}
static void grad_mul(Ad *ad, int id, int g) {
  if (NEEDS(0)) ACC(0, op2(ad, OP_MUL, g, X(1)));
  if (NEEDS(1)) ACC(1, op2(ad, OP_MUL, g, X(0)));
}
static void grad_div(Ad *ad, int id, int g) {
  if (NEEDS(0)) ACC(0, op2(ad, OP_DIV, g, X(1)));
  if (NEEDS(1)) { /* -g * a / b^2 */
    int ga = op2(ad, OP_MUL, g, X(0));
    int b2 = op2(ad, OP_MUL, X(1), X(1));
    ACC(1, op1(ad, OP_NEG, op2(ad, OP_DIV, ga, b2)));
  }
}
static void grad_pow(Ad *ad, int id, int g) {
  DType dt = NODE->dtype;
  int zero = scalar(ad, 0, dt);
  if (NEEDS(0)) { /* g * b * a^(b-1), and 0 where b == 0 (PyTorch's pow_backward) */
    int bm1 = op2(ad, OP_SUB, X(1), scalar(ad, 1, dt));
    int d = op2(ad, OP_MUL, X(1), op2(ad, OP_POW, X(0), bm1));
    int32_t in[3] = {op2(ad, OP_EQ, X(1), zero), zero, op2(ad, OP_MUL, g, d)};
    ACC(0, mk(ad, OP_WHERE, in, 3, NULL));
  }
  if (NEEDS(1)) { /* g * a^b * log(a), and 0 where a == 0 and b >= 0 */
    int d = op2(ad, OP_MUL, g, op2(ad, OP_MUL, Y, op1(ad, OP_LOG, X(0))));
    int base0 = cast(ad, op2(ad, OP_EQ, X(0), zero), dt);
    int exp_ge0 = cast(ad, op2(ad, OP_GE, X(1), zero), dt);
    int cond = op2(ad, OP_MUL, base0, exp_ge0);
    int32_t in[3] = {op2(ad, OP_GT, cond, zero), zero, d};
    ACC(1, mk(ad, OP_WHERE, in, 3, NULL));
  }
}
/* maximum/minimum: the gradient goes to the larger (smaller) input, split on ties. */
static void minmax_grad(Ad *ad, int id, int g, Op wins) {
  DType dt = NODE->dtype;
  int zero = scalar(ad, 0, dt);
  int half = mulc(ad, g, 0.5);
  int eq = op2(ad, OP_EQ, X(0), X(1));
  int32_t tie_in[3] = {eq, half, zero};
  int tie = mk(ad, OP_WHERE, tie_in, 3, NULL);
  if (NEEDS(0)) {
    int32_t in[3] = {op2(ad, wins, X(0), X(1)), g, tie};
    ACC(0, mk(ad, OP_WHERE, in, 3, NULL));
  }
  if (NEEDS(1)) {
    int32_t in[3] = {op2(ad, wins, X(1), X(0)), g, tie};
    ACC(1, mk(ad, OP_WHERE, in, 3, NULL));
  }
}
static void grad_maximum(Ad *ad, int id, int g) { minmax_grad(ad, id, g, OP_GT); }
static void grad_minimum(Ad *ad, int id, int g) { minmax_grad(ad, id, g, OP_LT); }
static void grad_where(Ad *ad, int id, int g) {
  int zero = scalar(ad, 0, NODE->dtype);
  if (NEEDS(1)) {
    int32_t in[3] = {X(0), g, zero};
    ACC(1, mk(ad, OP_WHERE, in, 3, NULL));
  }
  if (NEEDS(2)) {
    int32_t in[3] = {X(0), zero, g};
    ACC(2, mk(ad, OP_WHERE, in, 3, NULL));
  }
}

/* The reduced gradient, reshaped to keepdim form and broadcast back over the input. */
static int expand_reduced(Ad *ad, int id, int g) {
  const Node *n = NODE;
  const Shape *xs = &ad->in->nodes[IN(0)].shape;
  Shape keep = *xs;
  for (int i = 0; i < xs->rank; i++)
    if (n->attr.i[0] & (1LL << i)) keep.d[i] = 1;
  keep.symm = xs->symm & ~(unsigned)n->attr.i[0];
  int gk = reshape(ad, g, &keep);
  Attr a = {0};
  a.ints = (int64_t *)xs->d;
  a.nints = xs->rank;
  a.i[0] = sym_first(xs) + 1; /* autodiff runs on graphs of one batch dim */
  int32_t in[1] = {gk};
  return shape_eq(&keep, xs) ? gk : mk(ad, OP_EXPAND, in, 1, &a);
}
static void grad_sum(Ad *ad, int id, int g) { ACC(0, expand_reduced(ad, id, g)); }
static void grad_mean(Ad *ad, int id, int g) {
  const Shape *xs = &ad->in->nodes[IN(0)].shape;
  double count = 1;
  for (int i = 0; i < xs->rank; i++)
    if (NODE->attr.i[0] & (1LL << i)) count *= (double)xs->d[i];
  ACC(0, mulc(ad, expand_reduced(ad, id, g), 1.0 / count));
}
/* max/min over dims: the gradient is shared evenly by the elements equal to the result
 * (PyTorch's rule for a full reduction; for max(dim) PyTorch picks the first index, which
 * differs only on exact ties). */
static void grad_minmax_reduce(Ad *ad, int id, int g) {
  const Node *x = &ad->in->nodes[IN(0)];
  DType dt = x->dtype;
  int yb = expand_reduced(ad, id, Y);
  int mask = cast(ad, op2(ad, OP_EQ, X(0), yb), dt);
  Attr a = {0};
  a.i[0] = NODE->attr.i[0];
  a.i[1] = 1;
  int32_t in[1] = {mask};
  int count = mk(ad, OP_SUM, in, 1, &a);
  int gb = expand_reduced(ad, id, g);
  ACC(0, op2(ad, OP_DIV, op2(ad, OP_MUL, gb, mask), count));
}
/* max/min over one dim (x.max(dim)): PyTorch sends the gradient to the index it returned,
 * the first maximum; a mask of arange(n) == argmax picks it. */
static void grad_minmax_dim(Ad *ad, int id, int g, Op arg) {
  const Node *n = NODE;
  const Node *x = &ad->in->nodes[IN(0)];
  int dim = 0;
  while (!(n->attr.i[0] & (1LL << dim))) dim++;
  Attr aa = {0};
  aa.i[0] = n->attr.i[0];
  aa.i[1] = 1;
  int32_t ain[1] = {X(0)};
  int idx = mk(ad, arg, ain, 1, &aa); /* [.., 1, ..] */
  Attr ra = {0};
  ra.f[0] = 0;
  ra.f[1] = 1;
  Shape rs = {.rank = 1, .d = {x->shape.d[dim]}};
  int r = ir_add_source(ad->out, OP_ARANGE, DT_I64, rs, &ra, ad->loc);
  ad->out->nodes[r].backward = true;
  Shape bs = {.rank = x->shape.rank};
  for (int i = 0; i < bs.rank; i++) bs.d[i] = i == dim ? x->shape.d[dim] : 1;
  int mask = cast(ad, op2(ad, OP_EQ, reshape(ad, r, &bs), idx), x->dtype);
  ACC(0, op2(ad, OP_MUL, expand_reduced(ad, id, g), mask));
}
static void grad_max(Ad *ad, int id, int g) {
  const Node *n = NODE;
  int64_t m = n->attr.i[0];
  if (m && !(m & (m - 1)) && ad->in->nodes[IN(0)].shape.rank > 1) grad_minmax_dim(ad, id, g, OP_ARGMAX);
  else grad_minmax_reduce(ad, id, g);
}
static void grad_min(Ad *ad, int id, int g) {
  const Node *n = NODE;
  int64_t m = n->attr.i[0];
  if (m && !(m & (m - 1)) && ad->in->nodes[IN(0)].shape.rank > 1) grad_minmax_dim(ad, id, g, OP_ARGMIN);
  else grad_minmax_reduce(ad, id, g);
}

/* prod over dims: each element's derivative is the product of the others in its slice,
 * as PyTorch's prod_backward: result / x where the slice has no zero; where it has one,
 * the product of the non-zeros at the zero and 0 elsewhere; 0 with two or more zeros. */
static void grad_prod(Ad *ad, int id, int g) {
  const Node *x = &ad->in->nodes[IN(0)];
  DType dt = x->dtype;
  int zero = scalar(ad, 0, dt), one = scalar(ad, 1, dt);
  Attr ka = {0}; /* the same reduction, keeping the dims: broadcasts against x */
  ka.i[0] = NODE->attr.i[0];
  ka.i[1] = 1;
  int isz = op2(ad, OP_EQ, X(0), zero);
  int32_t zin[1] = {cast(ad, isz, dt)};
  int nzero = mk(ad, OP_SUM, zin, 1, &ka);
  int32_t win[3] = {isz, one, X(0)};
  int32_t pin[1] = {mk(ad, OP_WHERE, win, 3, NULL)};
  int others = mk(ad, OP_PROD, pin, 1, &ka); /* the product of the non-zeros */
  int32_t at_zero[3] = {op2(ad, OP_EQ, nzero, one), others, zero};
  int32_t at_other[3] = {op2(ad, OP_EQ, nzero, zero), op2(ad, OP_DIV, expand_reduced(ad, id, Y), X(0)), zero};
  int wz = mk(ad, OP_WHERE, at_zero, 3, NULL);
  int wo = mk(ad, OP_WHERE, at_other, 3, NULL);
  int32_t d[3] = {isz, wz, wo};
  int ge = expand_reduced(ad, id, g);
  ACC(0, op2(ad, OP_MUL, ge, mk(ad, OP_WHERE, d, 3, NULL)));
}

static int matmul(Ad *ad, int a, int b, bool transa, bool transb) {
  Attr at = {0};
  at.i[0] = transb;
  at.i[1] = transa;
  int32_t in[2] = {a, b};
  return mk(ad, OP_MATMUL, in, 2, &at);
}

/* torch.matmul: promote 1-D operands to matrices, then dA = g B^T and dB = A^T g, summed
 * over broadcast batch dims. With transB (Linear's [out, in] weight) the stored B is
 * already B^T, and its gradient is g^T A. A transposed input of the forward matmul itself
 * is not produced by the front end; the rule refuses it rather than guess. */
static void grad_matmul(Ad *ad, int id, int g) {
  const Node *an = &ad->in->nodes[IN(0)], *bn = &ad->in->nodes[IN(1)];
  bool tb = NODE->attr.i[0] != 0;
  TT_ASSERT(NODE->attr.i[1] == 0);
  Shape as = an->shape, bs = bn->shape;
  if (as.rank == 1) as = (Shape){.rank = 2, .d = {1, an->shape.d[0]}};
  if (bs.rank == 1) bs = (Shape){.rank = 2, .d = {bn->shape.d[0], 1}};
  int a2 = reshape(ad, X(0), &as), b2 = reshape(ad, X(1), &bs);
  /* the output with both operands as matrices: batch, M, N */
  Shape abatch = as, bbatch = bs, batch;
  abatch.rank -= 2;
  bbatch.rank -= 2;
  bool ok = ir_broadcast(&abatch, &bbatch, &batch);
  TT_ASSERT(ok);
  Shape os = batch;
  os.d[os.rank++] = as.d[as.rank - 2];
  os.d[os.rank++] = tb ? bs.d[bs.rank - 2] : bs.d[bs.rank - 1];
  int g2 = reshape(ad, g, &os);
  if (NEEDS(0)) {
    int da = matmul(ad, g2, b2, false, !tb);
    ACC(0, reshape(ad, unbroadcast(ad, da, &as), &an->shape));
  }
  if (NEEDS(1)) {
    /* A^T g (or g^T A): a transposed-operand matmul, no copy; over a batch dimension it
     * is the sum over the batch */
    int db = tb ? matmul(ad, g2, a2, true, false) : matmul(ad, a2, g2, true, false);
    ACC(1, reshape(ad, unbroadcast(ad, db, &bs), &bn->shape));
  }
}

/* conv2d: the input gradient is the transposed convolution of g, the weight gradient the
 * correlation of x with g summed over the batch, the bias gradient g summed over N, H, W. */
static void grad_conv2d(Ad *ad, int id, int g) {
  const Node *n = NODE;
  const Node *x = &ad->in->nodes[IN(0)], *w = &ad->in->nodes[IN(1)];
  int64_t ints[6];
  memcpy(ints, n->attr.ints, sizeof(int64_t) * 4);
  Attr a = {0};
  a.ints = ints;
  a.nints = 6;
  a.i[0] = n->attr.i[0];
  if (NEEDS(0)) {
    ints[4] = x->shape.d[2], ints[5] = x->shape.d[3];
    int32_t in[2] = {g, X(1)};
    ACC(0, mk(ad, OP_CONV2D_GRAD_INPUT, in, 2, &a));
  }
  if (NEEDS(1)) {
    ints[4] = w->shape.d[2], ints[5] = w->shape.d[3];
    int32_t in[2] = {X(0), g};
    ACC(1, mk(ad, OP_CONV2D_GRAD_WEIGHT, in, 2, &a));
  }
  if (n->nin == 3 && NEEDS(2)) {
    Attr sa = {0};
    sa.i[0] = 1 | 4 | 8; /* N, H, W */
    int32_t in[1] = {g};
    ACC(2, mk(ad, OP_SUM, in, 1, &sa));
  }
}
static void grad_maxpool2d(Ad *ad, int id, int g) {
  Attr a = NODE->attr;
  int32_t in[2] = {X(0), g};
  ACC(0, mk(ad, OP_MAXPOOL2D_GRAD, in, 2, &a));
}
static void grad_avgpool2d(Ad *ad, int id, int g) {
  const Node *x = &ad->in->nodes[IN(0)];
  int64_t ints[8];
  memcpy(ints, NODE->attr.ints, sizeof(int64_t) * 6);
  ints[6] = x->shape.d[2], ints[7] = x->shape.d[3];
  Attr a = {0};
  a.ints = ints;
  a.nints = 8;
  int32_t in[1] = {g};
  ACC(0, mk(ad, OP_AVGPOOL2D_GRAD, in, 1, &a));
}

static void grad_reshape(Ad *ad, int id, int g) {
  ACC(0, reshape(ad, g, &ad->in->nodes[IN(0)].shape));
}
static void grad_permute(Ad *ad, int id, int g) {
  const Node *n = NODE;
  int64_t inv[TT_MAX_RANK];
  for (int i = 0; i < n->attr.nints; i++) inv[n->attr.ints[i]] = i;
  Attr a = {0};
  a.ints = inv;
  a.nints = n->attr.nints;
  int32_t in[1] = {g};
  ACC(0, mk(ad, OP_PERMUTE, in, 1, &a));
}
static void grad_expand(Ad *ad, int id, int g) { ACC(0, g); /* acc_node unbroadcasts */ }
static void grad_slice(Ad *ad, int id, int g) {
  const Node *n = NODE;
  const Shape *xs = &ad->in->nodes[IN(0)].shape;
  int64_t ints[TT_MAX_RANK * 4];
  memcpy(ints, n->attr.ints, sizeof(int64_t) * (size_t)xs->rank * 3);
  for (int i = 0; i < xs->rank; i++) ints[xs->rank * 3 + i] = xs->d[i];
  Attr a = {0};
  a.ints = ints;
  a.nints = xs->rank * 4;
  int32_t in[1] = {g};
  ACC(0, mk(ad, OP_SLICE_BACKWARD, in, 1, &a));
}
/* gather's gradient adds each output's gradient back at the element it was read from */
static void grad_gather(Ad *ad, int id, int g) {
  const Shape *xs = &ad->in->nodes[IN(0)].shape;
  Attr a = {0};
  a.i[0] = NODE->attr.i[0];
  a.i[1] = sym_first(xs) + 1;
  a.ints = (int64_t *)xs->d;
  a.nints = xs->rank;
  int32_t in[2] = {g, X(1)};
  ACC(0, mk(ad, OP_SCATTER_ADD, in, 2, &a));
}
static void grad_embedding(Ad *ad, int id, int g) {
  const Shape *ws = &ad->in->nodes[IN(0)].shape;
  Attr a = {0};
  a.ints = (int64_t *)ws->d;
  a.nints = 2;
  int32_t in[2] = {g, X(1)};
  ACC(0, mk(ad, OP_EMBEDDING_BACKWARD, in, 2, &a));
}
/* the gradient of a running sum is the running sum of the gradient, from the other end */
static void grad_cumsum(Ad *ad, int id, int g) {
  Attr a = {0};
  a.i[0] = NODE->attr.i[0];
  a.i[1] = !NODE->attr.i[1];
  int32_t in[1] = {g};
  ACC(0, mk(ad, OP_CUMSUM, in, 1, &a));
}
static void grad_cat(Ad *ad, int id, int g) {
  const Node *n = NODE;
  int dim = (int)n->attr.i[0];
  int64_t off = 0;
  for (int k = 0; k < n->nin; k++) {
    const Shape *ks = &ad->in->nodes[n->in[k]].shape;
    if (ad->needs[n->in[k]]) {
      int64_t trip[TT_MAX_RANK * 3];
      for (int i = 0; i < ks->rank; i++) {
        trip[i * 3] = i == dim ? off : 0;
        trip[i * 3 + 1] = i == dim ? off + ks->d[i] : ks->d[i];
        trip[i * 3 + 2] = 1;
      }
      Attr a = {0};
      a.ints = trip;
      a.nints = ks->rank * 3;
      int32_t in[1] = {g};
      acc_node(ad, n->in[k], mk(ad, OP_SLICE, in, 1, &a));
    }
    off += ks->d[dim];
  }
}
static int sum_dim_keep(Ad *ad, int x, int dim) {
  Attr a = {0};
  a.i[0] = 1LL << dim;
  a.i[1] = 1;
  int32_t in[1] = {x};
  return mk(ad, OP_SUM, in, 1, &a);
}
static void grad_softmax(Ad *ad, int id, int g) {
  int dim = (int)NODE->attr.i[0];
  int s = sum_dim_keep(ad, op2(ad, OP_MUL, g, Y), dim);
  ACC(0, op2(ad, OP_MUL, Y, op2(ad, OP_SUB, g, s)));
}
static void grad_log_softmax(Ad *ad, int id, int g) {
  int dim = (int)NODE->attr.i[0];
  int s = sum_dim_keep(ad, g, dim);
  ACC(0, op2(ad, OP_SUB, g, op2(ad, OP_MUL, op1(ad, OP_EXP, Y), s)));
}

#undef X
#undef Y
static const GradFn rules[OP__COUNT] = {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) [OP_##op] = grad,
#include "../ir/ops.def"
#undef X
};

/* ---- the walk ------------------------------------------------------------------------ */

static bool leaf_needs_grad(const Program *p, const Node *n) {
  return n->op == OP_INPUT && p->vars[n->attr.var].requires_grad;
}

/* Emits the gradient graph for BACKWARD node b (all of whose ancestors are in out). */
static bool emit_backward(Ad *ad, int b, IrErr *err) {
  const Graph *in = ad->in;
  const Node *bn = &in->nodes[b];
  ad->loc = bn->loc;
  for (int i = 0; i < b; i++) {
    const Node *n = &in->nodes[i];
    ad->grad[i] = -1;
    ad->needs[i] = leaf_needs_grad(ad->p, n);
    if (!ad->needs[i] && rules[n->op] && dt_is_float(n->dtype))
      for (int k = 0; k < n->nin; k++) ad->needs[i] |= ad->needs[n->in[k]];
  }
  int loss = bn->in[0];
  if (!ad->needs[loss]) {
    snprintf(err->msg, sizeof err->msg, "backward(): the loss does not depend on a tensor that requires grad");
    err->off = bn->loc.off;
    return false;
  }
  const Node *ln = &in->nodes[loss];
  ad->grad[loss] = bn->nin > 1 ? cast(ad, ad->map[bn->in[1]], ln->dtype) : fill(ad, 1, ln->dtype, ln->shape);
  for (int i = loss; i >= 0; i--) {
    if (ad->grad[i] < 0 || !ad->needs[i]) continue;
    const Node *n = &in->nodes[i];
    if (n->op == OP_INPUT) {
      const Var *v = &ad->p->vars[n->attr.var];
      if (v->kind == VAR_VALUE) {
        snprintf(err->msg, sizeof err->msg,
                 "backward() needs the gradient of '%s', which an earlier graph computed; "
                 "compute the loss and call backward() in the same straight-line block",
                 v->name);
        err->off = bn->loc.off;
        return false;
      }
      continue;
    }
    /* the gradient's nodes carry the forward op's line: the C comments and the NaN
     * detective point at the operation whose derivative they compute */
    ad->loc = n->loc;
    rules[n->op](ad, i, ad->grad[i]);
  }
  ad->loc = bn->loc;
  /* Store the leaves' gradients: .grad = g, or .grad += g when it already exists. */
  for (int k = 0; k + 1 < bn->attr.nints; k += 2) {
    int var = (int)bn->attr.ints[k];
    bool accumulate = bn->attr.ints[k + 1] != 0;
    const Var *v = &ad->p->vars[var];
    TT_ASSERT(v->grad >= 0);
    const Var *gv = &ad->p->vars[v->grad];
    int total = -1;
    for (int i = 0; i < b; i++) {
      const Node *n = &in->nodes[i];
      if (n->op == OP_INPUT && n->attr.var == var && ad->grad[i] >= 0)
        total = total < 0 ? ad->grad[i] : op2(ad, OP_ADD, total, ad->grad[i]);
    }
    if (total < 0) total = fill(ad, 0, gv->dtype, gv->shape); /* not on the loss's path */
    if (accumulate) {
      Attr a = {0};
      a.var = v->grad;
      int old = ir_add_source(ad->out, OP_INPUT, gv->dtype, gv->shape, &a, ad->loc);
      ad->out->nodes[old].backward = true;
      total = op2(ad, OP_ADD, old, total);
    }
    Attr a = {0};
    a.var = v->grad;
    int32_t sin[1] = {total};
    mk(ad, OP_STORE, sin, 1, &a);
  }
  return true;
}

/* The one rule: a backward() becomes its gradient nodes, and goes away. */
static int backward_rule(IrRewrite *rw, int id) {
  Ad *ad = rw->ctx;
  ad->in = rw->in;
  ad->out = rw->out;
  ad->map = rw->map;
  return emit_backward(ad, id, &rw->err) ? IR_DROP : IR_FAIL;
}

Graph *pass_autodiff(const Graph *in, PassCtx *cx) {
  static const IrRule rewrite[] = {{OP_BACKWARD, backward_rule}};
  Ad ad = {.p = cx->p};
  size_t n = (size_t)(in->n ? in->n : 1);
  ad.grad = xmalloc(sizeof(int32_t) * n);
  ad.needs = xmalloc(n);
  Graph *out = ir_rewrite(cx->p, in, rewrite, 1, NULL, &ad, &cx->err);
  free(ad.grad);
  free(ad.needs);
  return out;
}
