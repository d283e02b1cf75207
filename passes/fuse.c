/*
 * fuse.c — kernel fusion: a producer's work done in its consumer's kernel.
 *
 * Purpose:  fewer passes over memory and fewer buffers. Two rules so far:
 *           - a matmul whose only use is an add of a tensor of its exact shape
 *             (`w.grad = w.grad + X^T G`, the weight gradient accumulated into .grad)
 *             becomes one matmul_acc, a GEMM whose epilogue adds into the accumulator.
 *             The [out, in] temporary and its add loop disappear; with the result stored
 *             into the .grad variable, the GEMM writes there directly (ir_store_into);
 *           - an elementwise chain is one loop: an elementwise value used only by an
 *             elementwise op of its shape is marked fused (Node.fused) and computed inside
 *             its user's loop, one statement per op, into a local (`const float f7 = ...;`),
 *             so each op rounds as it did alone (no FMA contraction across ops: C11 does
 *             not contract across statements) and owns no buffer (memplan skips it).
 * Requires: autodiff done (it makes the adds; matmul_acc has no gradient rule).
 * Produces: the graph with matmul_acc nodes (the matmul it replaced is left for dce) and
 *           fused flags.
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
 * (issue 12): bias and activation as a GEMM epilogue, reductions (softmax, layer norm)
 * with their producers, and --explain=fuse.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* The most arrays one fused loop reads (codegen's CG_MAX_OPS - 1). */
#define FUSE_MAX_LEAVES 7

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
    return r;
  }
  return IR_KEEP;
}

/* Whether elementwise node p can be computed inside the loop of u, its one user. */
static bool ew_fusable(const Graph *g, const int *uses, int p, int u) {
  const Node *pn = &g->nodes[p], *un = &g->nodes[u];
  const char *pe = ir_ops[pn->op].expr;
  return (ir_ops[pn->op].flags & OPF_EW) && pe && !strstr(pe, "$w") && uses[p] == 1 &&
         (ir_ops[un->op].flags & OPF_EW) && ir_ops[un->op].expr && shape_eq(&pn->shape, &un->shape);
}

/* Elementwise chains: each elementwise value used once, by an elementwise op of its shape,
 * is computed in its user's loop (Node.fused), as long as the loop reads at most
 * FUSE_MAX_LEAVES arrays. */
static void mark_ew_chains(Graph *g) {
  int *uses = xmalloc(sizeof(int) * (size_t)(g->n + 1)), *leaves = xmalloc(sizeof(int) * (size_t)(g->n + 1));
  ir_use_counts(g, uses);
  for (int u = 0; u < g->n; u++) {
    Node *un = &g->nodes[u];
    leaves[u] = un->nin;
    if (!(ir_ops[un->op].flags & OPF_EW) || !ir_ops[un->op].expr) continue;
    for (int i = 0; i < un->nin; i++) {
      int p = un->in[i];
      if (!ew_fusable(g, uses, p, u) || leaves[u] - 1 + leaves[p] > FUSE_MAX_LEAVES) continue;
      g->nodes[p].fused = true;
      leaves[u] += leaves[p] - 1;
    }
  }
  free(uses);
  free(leaves);
}

Graph *pass_fuse(const Graph *in, PassCtx *cx) {
  static const IrRule rules[] = {{OP_ADD, matmul_add_rule}};
  Graph *g = ir_rewrite(cx->p, in, rules, 1, NULL, NULL, &cx->err);
  if (!g) return NULL;
  if (g == in) g = ir_graph_clone(in);
  mark_ew_chains(g);
  return g;
}
