/*
 * cost.c — per-node FLOPs and bytes moved, from ops.def's cost column.
 *
 * These numbers go into the comment above each emitted kernel and into the profiler's
 * roofline estimate, so they count what a naive kernel does: every input read once, the
 * output written once, no reuse beyond registers. Broadcast inputs count at their own
 * (smaller) size, because that is what is actually loaded from memory.
 */
#include "ir/ir.h"

typedef Cost (*CostFn)(const Graph *g, const Node *n);

static double bytes_of(const Node *n) {
  return (double)shape_numel(&n->shape) * (double)dt_size(n->dtype);
}

/* The bytes a kernel reads: its inputs, or for a fused input (computed in this kernel's
 * loop, the fuse pass) the arrays that input reads in turn. */
static double bytes_in(const Graph *g, const Node *n) {
  double b = 0;
  for (int i = 0; i < n->nin; i++) {
    int k = n->in[i];
    if (k < 0 || k >= g->n) continue;
    b += g->nodes[k].fused ? bytes_in(g, &g->nodes[k]) : bytes_of(&g->nodes[k]);
  }
  return b;
}

static Cost cost_none(const Graph *g, const Node *n) {
  (void)g, (void)n;
  return (Cost){0, 0};
}

/* Sources that write every element once (fills, ranges, random draws). */
static Cost cost_fill(const Graph *g, const Node *n) {
  (void)g;
  return (Cost){0, bytes_of(n)};
}

/* Data movement: read the inputs, write the output (STORE writes what it reads). */
static Cost cost_copy(const Graph *g, const Node *n) {
  double in = bytes_in(g, n);
  return (Cost){0, in + (n->op == OP_STORE ? in : bytes_of(n))};
}

/* An optimizer update: a handful of operations per parameter element, reading and
 * writing the parameter and its state. */
static Cost cost_opt(const Graph *g, const Node *n) {
  const Node *prm = &g->nodes[n->in[0]];
  double numel = (double)shape_numel(&prm->shape);
  int states = n->nin - 4;
  return (Cost){numel * (n->op == OP_SGD_STEP ? 4 : 4 + 4 * states),
                numel * (double)dt_size(prm->dtype) * (2 + 2 * (1 + states))};
}

/* A multiply-add per output element per (input channel x kernel element). */
static Cost cost_conv2d(const Graph *g, const Node *n) {
  const Node *w = &g->nodes[n->in[1]]; /* the weight (dy for the weight gradient) */
  double per;
  if (n->op == OP_CONV2D || n->op == OP_QCONV2D) per = (double)(w->shape.d[1] * w->shape.d[2] * w->shape.d[3]);
  else if (n->op == OP_CONV2D_GRAD_INPUT) per = (double)(w->shape.d[0] * w->shape.d[2] * w->shape.d[3]);
  else {
    const Node *dy = &g->nodes[n->in[1]];
    return (Cost){2.0 * (double)shape_numel(&n->shape) * (double)(dy->shape.d[0] * dy->shape.d[2] * dy->shape.d[3]),
                  bytes_in(g, n) + bytes_of(n)};
  }
  return (Cost){2.0 * (double)shape_numel(&n->shape) * per, bytes_in(g, n) + bytes_of(n)};
}

/* One comparison or add per window element. */
static Cost cost_pool2d(const Graph *g, const Node *n) {
  return (Cost){(double)shape_numel(&n->shape) * (double)(n->attr.ints[0] * n->attr.ints[1]), bytes_in(g, n) + bytes_of(n)};
}

static Cost cost_ew(const Graph *g, const Node *n) {
  return (Cost){(double)shape_numel(&n->shape), bytes_in(g, n) + bytes_of(n)};
}

/* One combine per input element. */
static Cost cost_reduce(const Graph *g, const Node *n) {
  double flops = n->nin > 0 ? (double)shape_numel(&g->nodes[n->in[0]].shape) : 0;
  return (Cost){flops, bytes_in(g, n) + bytes_of(n)};
}

/* A multiply and an add per (output element, k): 2*M*N*K per batch. */
static Cost cost_matmul(const Graph *g, const Node *n) {
  const Shape *a = &g->nodes[n->in[0]].shape;
  /* the contracted dim: a's last, or its second to last when a is stored transposed */
  int kd = n->attr.i[1] && a->rank >= 2 ? a->rank - 2 : a->rank - 1;
  double k = a->rank > 0 ? (double)a->d[kd] : 0;
  return (Cost){2.0 * (double)shape_numel(&n->shape) * k, bytes_in(g, n) + bytes_of(n)};
}

/* The sparse Linear (passes/prune.c): two FLOPs per proven nonzero (attr.i[0]) per row of
 * x; x, the index's entries and values read once, y written. */
static Cost cost_sparse_linear(const Graph *g, const Node *n) {
  const Node *x = &g->nodes[n->in[0]];
  double rows = (double)shape_numel(&x->shape) / (double)x->shape.d[x->shape.rank - 1];
  double nz = (double)n->attr.i[0];
  return (Cost){2.0 * rows * nz, bytes_of(x) + 8.0 * nz + bytes_of(n)};
}

/* Packing a weight: every element read once, the index or values written. */
static Cost cost_sparse_pack(const Graph *g, const Node *n) {
  return (Cost){(double)shape_numel(&g->nodes[n->in[0]].shape), bytes_in(g, n) + bytes_of(n)};
}

/* The product, and one add per element. */
static Cost cost_matmul_acc(const Graph *g, const Node *n) {
  Cost c = cost_matmul(g, n);
  c.flops += (double)shape_numel(&n->shape);
  return c;
}

/* Max, subtract, exp, sum, divide (or log): about five operations per element. */
static Cost cost_softmax(const Graph *g, const Node *n) {
  return (Cost){5.0 * (double)shape_numel(&n->shape), bytes_in(g, n) + bytes_of(n)};
}

/* Attention of each new position over the cache: at most cap keys per query row (the
 * cache's capacity; a row at position t reads t + 1), QK^T and PV two FLOPs per element
 * each and the softmax about five per key; the caches read once per query row. */
static Cost cost_kv_attn(const Graph *g, const Node *n) {
  const Node *q = &g->nodes[n->in[0]], *kc = &g->nodes[n->in[4]], *vc = &g->nodes[n->in[5]];
  int r = q->shape.rank;
  double rows = (double)shape_numel(&q->shape) / (double)q->shape.d[r - 1];
  double cap = (double)kc->shape.d[r - 2], D = (double)q->shape.d[r - 1];
  double Dv = (double)vc->shape.d[r - 1];
  return (Cost){rows * cap * (2 * D + 2 * Dv + 5), rows * cap * (D + Dv) * 4 + bytes_of(n)};
}

static const CostFn cost_rules[OP__COUNT] = {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) [OP_##op] = cost,
#include "ir/ops.def"
#undef X
};

Cost ir_cost(const Graph *g, const Node *n) {
  if ((unsigned)n->op >= OP__COUNT || !cost_rules[n->op]) return (Cost){0, 0};
  Cost c = cost_rules[n->op](g, n);
  if (n->fused) c.bytes = 0; /* its loop's reads and writes are its user's */
  return c;
}
