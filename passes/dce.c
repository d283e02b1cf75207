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

Graph *pass_dce(const Graph *in, PassCtx *cx) {
  (void)cx;
  bool *live = xmalloc((size_t)(in->n ? in->n : 1));
  memset(live, 0, (size_t)(in->n ? in->n : 1));
  int nlive = 0;
  for (int i = in->n - 1; i >= 0; i--) {
    const Node *n = &in->nodes[i];
    if (ir_ops[n->op].flags & (OPF_SINK | OPF_RNG)) live[i] = true;
    if (!live[i]) continue;
    nlive++;
    for (int k = 0; k < n->nin; k++) live[n->in[k]] = true;
  }
  if (nlive == in->n) {
    free(live);
    return (Graph *)in;
  }
  Graph *out = ir_graph_clone_empty(in);
  int32_t *map = xmalloc(sizeof(int32_t) * (size_t)(in->n ? in->n : 1));
  for (int i = 0; i < in->n; i++) {
    map[i] = -1;
    if (!live[i]) continue;
    IrErr err;
    int id = ir_copy_node(out, in, i, map, &err);
    TT_ASSERT(id >= 0);
    map[i] = id;
  }
  free(map);
  free(live);
  return out;
}
