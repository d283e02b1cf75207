/*
 * dce.c — dead-code elimination.
 *
 * Purpose:  drop nodes whose values nothing uses.
 * Requires: a verified graph.
 * Produces: the same graph without dead nodes; node order and names are kept, so the
 *           emitted C differs only by the removed kernels.
 *
 * Sinks (STORE, BACKWARD) are live. Random draws (OPF_RNG) are live too even when
 * unused: removing one would shift every later random number, and a program's numbers
 * must not depend on the optimization level.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Liveness of the graph this round walks, from its sinks and random draws back. */
static void dce_begin(IrRewrite *rw) {
  const Graph *g = rw->in;
  bool *live = rw->ctx;
  memset(live, 0, (size_t)(g->n ? g->n : 1));
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *n = &g->nodes[i];
    if (ir_ops[n->op].flags & (OPF_SINK | OPF_RNG)) live[i] = true;
    if (live[i])
      for (int k = 0; k < n->nin; k++) live[n->in[k]] = true;
  }
}

static int dce_rule(IrRewrite *rw, int id) {
  const bool *live = rw->ctx;
  return live[id] ? IR_KEEP : IR_DROP;
}

Graph *pass_dce(const Graph *in, PassCtx *cx) {
  static const IrRule rules[] = {{-1, dce_rule}};
  bool *live = xmalloc((size_t)(in->n ? in->n : 1));
  Graph *out = ir_rewrite(cx->p, in, rules, 1, dce_begin, live, &cx->err);
  free(live);
  return out;
}
