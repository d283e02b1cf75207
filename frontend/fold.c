/*
 * fold.c — the values of a tensor that is computed from constants alone, found at compile
 * time.
 *
 * A tensor made in the open graph from literals, zeros or arange by layout and elementwise
 * ops has values Python would know at that point, and a program may use one where ttc needs
 * a compile-time value: the truth of `n > 0` in a comprehension's `if`, `int(n)` as a dict's
 * value (`{itos[i]: int(n) for i, n in enumerate(N[stoi["o"]]) if n > 0}`, after a
 * compile-time loop of `N[a, b] += 1`). fold_values evaluates such a tensor's nodes here as
 * the emitted kernels would: float32 results rounded to float, integers wrapped to their
 * width, casts truncating. Only the ops below are folded, up to FOLD_MAX_ELEMS elements a
 * node and FOLD_MAX_WORK element operations in all; a tensor that reads a program variable, a
 * random draw or any other op is left to run time, as it was before.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FOLD_MAX_ELEMS (1 << 16)
#define FOLD_MAX_WORK  (1 << 25)

/* A node's values: doubles for floating dtypes, int64s for integers and bools. */
typedef struct Folded {
  bool done, ok;
  double *f;
  int64_t *i;
} Folded;

typedef struct Fold {
  const Graph *g;
  Folded *memo; /* per node id */
  int64_t work;
} Fold;

static bool fold_node(Fold *fd, int id, int depth);

/* x (an integer or a float value of the input) as the node's dtype; false when C's cast
 * would be undefined (NaN, an infinity, out of range) */
static bool to_dtype(DType dt, bool from_float, double f, int64_t i, double *of, int64_t *oi) {
  if (dt_is_float(dt)) {
    double x = from_float ? f : (double)i;
    *of = dt == DT_F32 ? (double)(float)x : x;
    return true;
  }
  if (dt == DT_BOOL) {
    *oi = from_float ? f != 0 : i != 0;
    return true;
  }
  if (from_float) {
    if (!isfinite(f) || fabs(f) >= 9.2e18) return false;
    i = (int64_t)trunc(f);
  }
  switch (dt) {
  case DT_I32:
    *oi = (int32_t)(uint32_t)(uint64_t)i;
    return true;
  case DT_I8:
    *oi = (int8_t)(uint8_t)(uint64_t)i;
    return true;
  case DT_I64:
    *oi = i;
    return true;
  default:
    return false;
  }
}

/* Element k of r, of dtype dt, from a value of the input (see to_dtype). */
static bool put(DType dt, Folded *r, int64_t k, bool from_float, double f, int64_t i) {
  double of = 0;
  int64_t oi = 0;
  if (!to_dtype(dt, from_float, f, i, &of, &oi)) return false;
  if (r->f)
    r->f[k] = of;
  else
    r->i[k] = oi;
  return true;
}

/* The flat index into an input of shape in for element k of out (in broadcasts to out). */
static int64_t bcast_index(const Shape *out, const Shape *in, int64_t k) {
  int64_t idx = 0, stride = 1;
  for (int d = out->rank - 1, e = in->rank - 1; d >= 0; d--, e--) {
    int64_t c = k % out->d[d];
    k /= out->d[d];
    if (e < 0) continue;
    if (in->d[e] != 1) idx += c * stride;
    stride *= in->d[e];
  }
  return idx;
}

static bool source(const Node *n, Folded *r, int64_t count) {
  DType dt = n->dtype;
  bool fl = dt_is_float(dt);
  for (int64_t k = 0; k < count; k++) {
    double x = 0;
    int64_t iv = 0;
    if (n->op == OP_CONST) {
      switch (dt) {
      case DT_F32:
        x = ((const float *)n->attr.data)[k];
        break;
      case DT_F64:
        x = ((const double *)n->attr.data)[k];
        break;
      case DT_I64:
        iv = ((const int64_t *)n->attr.data)[k];
        break;
      case DT_I32:
        iv = ((const int32_t *)n->attr.data)[k];
        break;
      case DT_I8:
        iv = ((const int8_t *)n->attr.data)[k];
        break;
      case DT_BOOL:
        iv = ((const bool *)n->attr.data)[k];
        break;
      default:
        return false;
      }
    } else if (n->op == OP_FILL) { /* an int64 fill holds its exact value in attr.i[0] */
      x = n->attr.f[0];
      if (!fl && !(dt == DT_I64 && n->attr.i[0]) && !to_dtype(dt, true, x, 0, &x, &iv))
        return false;
      if (dt == DT_I64 && n->attr.i[0]) iv = n->attr.i[0];
    } else { /* arange: exact ints in attr.i when set, else start + k*step in double */
      bool exact = !fl && (n->attr.i[0] || n->attr.i[1]);
      x = n->attr.f[0] + (double)k * n->attr.f[1];
      if (exact)
        iv = n->attr.i[0] + k * n->attr.i[1];
      else if (!fl && !to_dtype(dt, true, x, 0, &x, &iv))
        return false;
    }
    if (fl)
      r->f[k] = dt == DT_F32 ? (double)(float)x : x;
    else
      r->i[k] = dt == DT_BOOL ? iv != 0 : iv;
  }
  return true;
}

/* Elementwise ops over broadcast inputs, computed in double when an input is floating. */
static bool elementwise(Fold *fd, const Node *n, Folded *r, int64_t count) {
  const Graph *g = fd->g;
  const Node *in[3];
  for (int k = 0; k < n->nin; k++) in[k] = &g->nodes[n->in[k]];
  for (int64_t k = 0; k < count; k++) {
    double f[3] = {0};
    int64_t iv[3] = {0};
    bool fl = false;
    for (int a = 0; a < n->nin; a++) {
      int64_t at = bcast_index(&n->shape, &in[a]->shape, k);
      const Folded *v = &fd->memo[n->in[a]];
      bool af = dt_is_float(in[a]->dtype);
      if (af)
        f[a] = v->f[at], iv[a] = 0;
      else
        iv[a] = v->i[at], f[a] = (double)v->i[at];
      fl |= af && !(n->op == OP_WHERE && a == 0); /* where's condition is no operand */
    }
    if (n->op == OP_WHERE) {
      int s = iv[0] ? 1 : 2;
      if (!put(n->dtype, r, k, dt_is_float(in[s]->dtype), f[s], iv[s])) return false;
      continue;
    }
    if (n->op == OP_CAST || n->op == OP_NEG) {
      bool af = dt_is_float(in[0]->dtype);
      if (n->op == OP_NEG) f[0] = -f[0], iv[0] = (int64_t)(0 - (uint64_t)iv[0]);
      if (!put(n->dtype, r, k, af, f[0], iv[0])) return false;
      continue;
    }
    double x = 0;
    int64_t y = 0;
    bool cmp = true;
    switch (n->op) {
    case OP_ADD:
      x = f[0] + f[1], y = (int64_t)((uint64_t)iv[0] + (uint64_t)iv[1]), cmp = false;
      break;
    case OP_SUB:
      x = f[0] - f[1], y = (int64_t)((uint64_t)iv[0] - (uint64_t)iv[1]), cmp = false;
      break;
    case OP_MUL:
      x = f[0] * f[1], y = (int64_t)((uint64_t)iv[0] * (uint64_t)iv[1]), cmp = false;
      break;
    case OP_EQ:
      y = fl ? f[0] == f[1] : iv[0] == iv[1];
      break;
    case OP_NE:
      y = fl ? f[0] != f[1] : iv[0] != iv[1];
      break;
    case OP_LT:
      y = fl ? f[0] < f[1] : iv[0] < iv[1];
      break;
    case OP_LE:
      y = fl ? f[0] <= f[1] : iv[0] <= iv[1];
      break;
    case OP_GT:
      y = fl ? f[0] > f[1] : iv[0] > iv[1];
      break;
    case OP_GE:
      y = fl ? f[0] >= f[1] : iv[0] >= iv[1];
      break;
    default:
      return false;
    }
    if (cmp)
      r->i[k] = y;
    else if (!put(n->dtype, r, k, fl, x, y))
      return false;
  }
  return true;
}

/* slice (gather start + j*step per dim) and slice_backward (scatter into zeros). */
static bool slicing(Fold *fd, const Node *n, Folded *r, int64_t count) {
  const Node *x = &fd->g->nodes[n->in[0]];
  const Folded *v = &fd->memo[n->in[0]];
  bool back = n->op == OP_SLICE_BACKWARD;
  const Shape *small = back ? &x->shape : &n->shape, *big = back ? &n->shape : &x->shape;
  int rank = big->rank;
  if (small->rank != rank || n->attr.nints < 3 * rank) return false;
  bool fl = dt_is_float(n->dtype);
  if (back) {
    for (int64_t k = 0; k < count; k++)
      if (fl)
        r->f[k] = 0;
      else
        r->i[k] = 0;
  }
  int64_t ns = shape_numel(small);
  for (int64_t k = 0; k < ns; k++) {
    int64_t rest = k, at = 0, stride = 1;
    for (int d = rank - 1; d >= 0; d--) {
      int64_t c = rest % small->d[d];
      rest /= small->d[d];
      int64_t pos = n->attr.ints[3 * d] + c * n->attr.ints[3 * d + 2];
      if (pos < 0 || pos >= big->d[d]) return false;
      at += pos * stride;
      stride *= big->d[d];
    }
    int64_t from = back ? k : at, to = back ? at : k;
    if (fl)
      r->f[to] = v->f[from];
    else
      r->i[to] = v->i[from];
  }
  return true;
}

/* What kind of computation folds an op, FK_NONE for one fold.c leaves to run time. */
enum { FK_NONE, FK_SOURCE, FK_VIEW, FK_ELEMENTWISE, FK_SLICE };

static int fold_kind(Op op) {
  switch (op) {
  case OP_CONST:
  case OP_FILL:
  case OP_ARANGE:
    return FK_SOURCE;
  case OP_RESHAPE:
  case OP_DETACH:
    return FK_VIEW;
  case OP_EXPAND: /* broadcast, as a cast to the same dtype */
  case OP_CAST:
  case OP_NEG:
  case OP_WHERE:
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
  case OP_EQ:
  case OP_NE:
  case OP_LT:
  case OP_LE:
  case OP_GT:
  case OP_GE:
    return FK_ELEMENTWISE;
  case OP_SLICE:
  case OP_SLICE_BACKWARD:
    return FK_SLICE;
  default:
    return FK_NONE;
  }
}

static bool fold_node(Fold *fd, int id, int depth) {
  Folded *r = &fd->memo[id];
  if (r->done) return r->ok;
  r->done = true; /* a cycle cannot happen (topological order); this also ends a failed retry */
  const Node *n = &fd->g->nodes[id];
  int kind = fold_kind(n->op);
  if (depth > 10000 || n->shape.symm || kind == FK_NONE) return false;
  int64_t count = shape_numel(&n->shape);
  if (count > FOLD_MAX_ELEMS || (fd->work += count) > FOLD_MAX_WORK) return false;
  if (n->op == OP_CONST && !n->attr.data) return false;
  for (int k = 0; k < n->nin; k++)
    if (n->in[k] < 0 || n->in[k] >= id || !fold_node(fd, n->in[k], depth + 1)) return false;
  /* malloc'd, freed by fold_values: a program may fold a large tensor many times */
  if (dt_is_float(n->dtype))
    r->f = malloc(sizeof *r->f * (size_t)(count + 1));
  else
    r->i = malloc(sizeof *r->i * (size_t)(count + 1));
  if (!r->f && !r->i) return false;
  const Folded *in = n->nin ? &fd->memo[n->in[0]] : NULL;
  switch (kind) {
  case FK_SOURCE:
    r->ok = source(n, r, count);
    break;
  case FK_VIEW: /* the same elements in order, the dtype unchanged */
    if (n->dtype != fd->g->nodes[n->in[0]].dtype) return false;
    if (r->f)
      memcpy(r->f, in->f, sizeof *r->f * (size_t)count);
    else
      memcpy(r->i, in->i, sizeof *r->i * (size_t)count);
    r->ok = true;
    break;
  case FK_ELEMENTWISE: {
    Node tmp = *n;
    if (n->op == OP_EXPAND) tmp.op = OP_CAST;
    r->ok = elementwise(fd, &tmp, r, count);
    break;
  }
  default:
    r->ok = slicing(fd, n, r, count);
    break;
  }
  return r->ok;
}

bool fold_values(L *l, Value *t, double *f, int64_t *i, int64_t n) {
  if (t->k != V_TENSOR || t->t.dyn || !l->g || t->t.graph != l->g->id) return false;
  const Graph *g = l->g;
  if (t->t.node < 0 || t->t.node >= g->n || shape_numel(&g->nodes[t->t.node].shape) != n)
    return false;
  Fold fd = {.g = g};
  fd.memo = calloc((size_t)g->n + 1, sizeof *fd.memo);
  if (!fd.memo) return false;
  bool ok = fold_node(&fd, t->t.node, 0);
  if (ok) {
    const Folded *r = &fd.memo[t->t.node];
    bool fl = dt_is_float(g->nodes[t->t.node].dtype);
    for (int64_t k = 0; k < n; k++) {
      f[k] = fl ? r->f[k] : (double)r->i[k];
      i[k] = fl ? 0 : r->i[k];
    }
  }
  for (int k = 0; k < g->n; k++) {
    free(fd.memo[k].f);
    free(fd.memo[k].i);
  }
  free(fd.memo);
  return ok;
}

Value *fold_scalar(L *l, Value *t) {
  if (t->k != V_TENSOR || t->t.dyn || !l->g || t->t.graph != l->g->id) return NULL;
  const Node *n = &l->g->nodes[t->t.node];
  double f;
  int64_t i;
  if (shape_numel(&n->shape) != 1 || n->shape.symm || !fold_values(l, t, &f, &i, 1))
    return NULL;
  return dt_is_float(n->dtype) ? v_float(l, f)
         : n->dtype == DT_BOOL ? v_bool(l, i != 0)
                               : v_int(l, i);
}
