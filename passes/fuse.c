/*
 * fuse.c — kernel fusion: a producer's work done in its consumer's kernel.
 *
 * Purpose:  fewer passes over memory and fewer buffers. Four rules so far:
 *           - a matmul whose only use is an add of a tensor of its exact shape
 *             (`w.grad = w.grad + X^T G`, the weight gradient accumulated into .grad)
 *             becomes one matmul_acc, a GEMM whose epilogue adds into the accumulator.
 *             The [out, in] temporary and its add loop disappear; with the result stored
 *             into the .grad variable, the GEMM writes there directly (ir_store_into);
 *           - relu(conv2d(...)) is one convolution with the ReLU as its epilogue after
 *             the bias (attr.i[1]; float32, im2col path);
 *           - the ReLU's gradient behind a max pooling's, where(x > 0, max_pool2d_grad(x,
 *             dy), 0) with x the ReLU's output, is the pooling gradient with the mask
 *             applied as it writes (attr.i[1]; float32);
 *           - an elementwise chain is one loop: an elementwise value used only by an
 *             elementwise op of its shape is marked fused (Node.fused) and computed inside
 *             its user's loop, one statement per op, into a local (`const float f7 = ...;`),
 *             so each op rounds as it did alone (no FMA contraction across ops: C11 does
 *             not contract across statements) and owns no buffer (memplan skips it).
 * Requires: autodiff done (it makes the adds; matmul_acc has no gradient rule).
 * Produces: the graph with matmul_acc nodes, conv2d nodes with a ReLU epilogue and masked
 *           max_pool2d_grad nodes (the nodes they replaced are left for dce) and fused flags.
 *
 * Exactness: the add computed acc + product, rounding the product first; the GEMM rounds
 * the product of one K block in registers and adds it to acc, which is the same number
 * when the contraction fits one block (K <= 256: the MLP's and CNN's batches) and differs
 * only in the order of the blocks' additions beyond. After zero_grad the accumulator holds
 * zeros: 0 + x is x, and -0.0 becomes +0.0, as PyTorch's accumulation gives.
 *
 * Not fused: an op whose value has several users (it is kept in memory once), a broadcast
 * producer (its loop is smaller than its user's), an op that can stop the program ($w:
 * integer division by zero), which would change which error comes first. Still to come
 * (issue 12): bias and activation as a matmul's epilogue, reductions (softmax, layer norm)
 * with their producers, and --explain=fuse.
 */
#include "passes.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The most arrays one fused loop reads (codegen's CG_MAX_OPS - 1). */
#define FUSE_MAX_LEAVES 7

/* A node as "op (line:col)" for explanations. */
static const char *where(const Program *p, const Node *n, char *buf, size_t len) {
  int line, col;
  ir_linecol(p ? p->src : NULL, n->loc.off, &line, &col);
  snprintf(buf, len, "%s (%d:%d)", ir_ops[n->op].name, line, col);
  return buf;
}

/* The rewrite's context: the pass's, and the round (the walk repeats to a fixed point; the
 * first round says what it did, and later ones would repeat its rejections). */
typedef struct Fuse {
  PassCtx *cx;
  int round;
} Fuse;

static void fuse_begin(IrRewrite *rw) {
  ((Fuse *)rw->ctx)->round++;
}

static void explain(PassCtx *cx, const Graph *g, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void explain(PassCtx *cx, const Graph *g, const char *fmt, ...) {
  if (!cx || !cx->explain) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(cx->explain, "fuse: %s: %s: ", cx->p && cx->p->filename ? cx->p->filename : "<input>", g->name);
  vfprintf(cx->explain, fmt, ap);
  fputc('\n', cx->explain);
  va_end(ap);
}

/* The add's operand that is a matmul used only by the add, of the add's shape and dtype. */
static int fusable_matmul(IrRewrite *rw, const Node *add, int k) {
  const Graph *g = rw->in;
  int m = add->in[k];
  const Node *mm = &g->nodes[m];
  const Node *other = &g->nodes[add->in[1 - k]];
  if (mm->op != OP_MATMUL || rw->uses[m] != 1 || !dt_is_float(mm->dtype)) return -1;
  if (mm->dtype != add->dtype || other->dtype != add->dtype) return -1;
  if (!shape_eq(&mm->shape, &add->shape) || !shape_eq(&other->shape, &add->shape)) return -1;
  return m;
}

static int matmul_add_rule(IrRewrite *rw, int id) {
  const Node *add = &rw->in->nodes[id];
  for (int k = 0; k < 2; k++) {
    int m = fusable_matmul(rw, add, k);
    if (m < 0) continue;
    const Node *mm = &rw->in->nodes[m];
    /* the sum is commutative in IEEE arithmetic: acc + product either way round */
    int32_t ins[3] = {rw->map[mm->in[0]], rw->map[mm->in[1]], rw->map[add->in[1 - k]]};
    Attr at = mm->attr;
    int r = ir_add(rw->out, OP_MATMUL_ACC, ins, 3, &at, add->loc, &rw->err);
    if (r < 0) return IR_FAIL;
    Node *nr = &rw->out->nodes[r];
    nr->name = add->name ? arena_strdup(rw->out->arena, add->name) : NULL;
    nr->backward = add->backward;
    char b1[64], b2[64];
    explain(((Fuse *)rw->ctx)->cx, rw->in, "group: %s + %s -> matmul_acc (a GEMM that adds into its accumulator)",
            where(rw->p, mm, b1, sizeof b1), where(rw->p, add, b2, sizeof b2));
    return r;
  }
  for (int k = 0; k < 2; k++) { /* say why a matmul feeding this add was left alone */
    const Node *mm = &rw->in->nodes[add->in[k]];
    if (mm->op != OP_MATMUL) continue;
    char b1[64], b2[64];
    const char *why = rw->uses[add->in[k]] != 1 ? "the product has other users"
                      : !dt_is_float(mm->dtype)  ? "an integer product"
                                                 : "the add broadcasts its other operand (a bias epilogue is not done yet)";
    if (((Fuse *)rw->ctx)->round == 1)
      explain(((Fuse *)rw->ctx)->cx, rw->in, "rejected: %s + %s: %s", where(rw->p, mm, b1, sizeof b1), where(rw->p, add, b2, sizeof b2), why);
  }
  return IR_KEEP;
}

/* A float32 constant holding +0.0 (every element, of any shape: a broadcast scalar). */
static bool is_pos_zero(const Graph *g, int id) {
  const Node *n = &g->nodes[id];
  if (n->op != OP_CONST || n->dtype != DT_F32 || !n->attr.data) return false;
  int64_t cnt = shape_numel(&n->shape);
  for (int64_t i = 0; i < cnt; i++) {
    uint32_t bits;
    memcpy(&bits, (const char *)n->attr.data + i * 4, 4);
    if (bits) return false;
  }
  return true;
}

/* where(x > 0, max_pool2d_grad(x, dy), 0): the gradient of max_pool2d(relu(...)) through
 * the ReLU, x being the ReLU's output. The pooling gradient applies the mask as it writes
 * dx (attr.i[1] = 1: tt_maxpool2d_grad_relu_f32): the same values, one pass over dx
 * instead of two, and no buffer for the unmasked gradient. */
static int where_pool_rule(IrRewrite *rw, int id) {
  const Graph *g = rw->in;
  const Node *wn = &g->nodes[id];
  const Node *gt = &g->nodes[wn->in[0]], *pg = &g->nodes[wn->in[1]];
  if (wn->dtype != DT_F32 || gt->op != OP_GT || pg->op != OP_MAXPOOL2D_GRAD || pg->attr.i[1]) return IR_KEEP;
  if (pg->dtype != DT_F32 || !shape_eq(&pg->shape, &wn->shape) || gt->in[0] != pg->in[0]) return IR_KEEP;
  if (!is_pos_zero(g, gt->in[1]) || !is_pos_zero(g, wn->in[2])) return IR_KEEP;
  char b1[64], b2[64];
  if (rw->uses[wn->in[0]] != 1 || rw->uses[wn->in[1]] != 1) {
    if (((Fuse *)rw->ctx)->round == 1)
      explain(((Fuse *)rw->ctx)->cx, g, "rejected: %s into %s: the pooling gradient or the mask has other users",
              where(rw->p, pg, b1, sizeof b1), where(rw->p, wn, b2, sizeof b2));
    return IR_KEEP;
  }
  int32_t ins[2] = {rw->map[pg->in[0]], rw->map[pg->in[1]]};
  Attr at = pg->attr;
  at.i[1] = 1;
  int r = ir_add(rw->out, OP_MAXPOOL2D_GRAD, ins, 2, &at, wn->loc, &rw->err);
  if (r < 0) return IR_FAIL;
  Node *nr = &rw->out->nodes[r];
  nr->name = wn->name ? arena_strdup(rw->out->arena, wn->name) : NULL;
  nr->backward = wn->backward;
  explain(((Fuse *)rw->ctx)->cx, g, "group: %s + %s -> max_pool2d_grad with the ReLU mask (one pass over dx)",
          where(rw->p, pg, b1, sizeof b1), where(rw->p, wn, b2, sizeof b2));
  return r;
}

/* relu(conv2d(x, w, b)), the convolution used only by the relu: the ReLU becomes the
 * epilogue of the im2col-path convolution (attr.i[1] = 1: tt_conv2d_relu_f32), applied to
 * each output as it is stored, after the bias: the same values, and the pre-activation
 * never goes to memory. The direct-loop convolution (--conv=naive, float64) keeps its
 * relu. */
static int conv_relu_rule(IrRewrite *rw, int id) {
  const Graph *g = rw->in;
  const Node *rn = &g->nodes[id];
  const Node *cv = &g->nodes[rn->in[0]];
  if (cv->op != OP_CONV2D || cv->dtype != DT_F32 || rn->dtype != DT_F32 || cv->attr.i[0] != 1 || cv->attr.i[1])
    return IR_KEEP;
  char b1[64], b2[64];
  if (rw->uses[rn->in[0]] != 1) {
    if (((Fuse *)rw->ctx)->round == 1)
      explain(((Fuse *)rw->ctx)->cx, g, "rejected: %s into %s: the convolution's output has other users",
              where(rw->p, cv, b1, sizeof b1), where(rw->p, rn, b2, sizeof b2));
    return IR_KEEP;
  }
  int32_t ins[3];
  for (int i = 0; i < cv->nin; i++) ins[i] = rw->map[cv->in[i]];
  Attr at = cv->attr;
  at.i[1] = 1;
  int r = ir_add(rw->out, OP_CONV2D, ins, cv->nin, &at, rn->loc, &rw->err);
  if (r < 0) return IR_FAIL;
  Node *nr = &rw->out->nodes[r];
  nr->name = rn->name ? arena_strdup(rw->out->arena, rn->name) : NULL;
  nr->backward = rn->backward;
  explain(((Fuse *)rw->ctx)->cx, g, "group: %s + %s -> conv2d with a bias + ReLU epilogue",
          where(rw->p, cv, b1, sizeof b1), where(rw->p, rn, b2, sizeof b2));
  return r;
}

/* Elementwise chains: each elementwise value used once, by an elementwise op of its shape,
 * is computed in its user's loop (Node.fused), as long as the loop reads at most
 * FUSE_MAX_LEAVES arrays. */
static void mark_ew_chains(Graph *g, PassCtx *cx) {
  int *uses = xmalloc(sizeof(int) * (size_t)(g->n + 1)), *leaves = xmalloc(sizeof(int) * (size_t)(g->n + 1));
  ir_use_counts(g, uses);
  for (int u = 0; u < g->n; u++) {
    Node *un = &g->nodes[u];
    leaves[u] = un->nin;
    if (!(ir_ops[un->op].flags & OPF_EW) || !ir_ops[un->op].expr) continue;
    int nf = 0;
    char b1[64], b2[64];
    for (int i = 0; i < un->nin; i++) {
      int p = un->in[i];
      const Node *pn = &g->nodes[p];
      if (!(ir_ops[pn->op].flags & OPF_EW) || !ir_ops[pn->op].expr || pn->fused) continue;
      const char *why = NULL;
      if (uses[p] != 1) why = "its value has other users (it stays in memory once)";
      else if (!shape_eq(&pn->shape, &un->shape)) why = "it is broadcast into its user (a smaller loop)";
      else if (strstr(ir_ops[pn->op].expr, "$w")) why = "it can stop the program (the first error must stay first)";
      else if (leaves[u] - 1 + leaves[p] > FUSE_MAX_LEAVES) why = "the loop would read more than 7 arrays";
      if (why) {
        explain(cx, g, "rejected: %s into %s: %s", where(cx->p, pn, b1, sizeof b1), where(cx->p, un, b2, sizeof b2), why);
        continue;
      }
      g->nodes[p].fused = true;
      leaves[u] += leaves[p] - 1;
      nf++;
    }
    if (nf) explain(cx, g, "group: the loop of %s computes %d more op%s, reading %d array%s", where(cx->p, un, b1, sizeof b1),
                    nf, nf > 1 ? "s" : "", leaves[u], leaves[u] > 1 ? "s" : "");
  }
  free(uses);
  free(leaves);
}

Graph *pass_fuse(const Graph *in, PassCtx *cx) {
  static const IrRule rules[] = {{OP_ADD, matmul_add_rule}, {OP_WHERE, where_pool_rule}, {OP_RELU, conv_relu_rule}};
  Fuse f = {cx, 0};
  Graph *g = ir_rewrite(cx->p, in, rules, 3, fuse_begin, &f, &cx->err);
  if (!g) return NULL;
  if (g == in) g = ir_graph_clone(in);
  mark_ew_chains(g, cx);
  return g;
}
