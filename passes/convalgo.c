/*
 * convalgo.c — the choice of convolution kernel (the curriculum's module 09 lesson).
 *
 * Purpose:  run float32 convolutions (and their gradients) as im2col + one tiled GEMM per
 *           image instead of the direct 7-nested-loop kernel.
 * Requires: a verified graph.
 * Produces: the same graph with attr.i[0] = 1 on CONV2D, CONV2D_GRAD_INPUT and
 *           CONV2D_GRAD_WEIGHT nodes of dtype f32 (float64 programs, the gradient checks,
 *           keep the direct loops, which exist in double).
 *
 * It is in the default pipeline; `--conv=naive` (or a --passes list without it) leaves the
 * direct loops, and `ttc diff FILE --pass=conv-im2col` shows the difference in the C.
 */
#include "passes.h"

static bool is_conv(Op op) {
  return op == OP_CONV2D || op == OP_CONV2D_GRAD_INPUT || op == OP_CONV2D_GRAD_WEIGHT;
}

Graph *pass_conv_im2col(const Graph *in, PassCtx *cx) {
  (void)cx;
  bool any = false;
  for (int i = 0; i < in->n && !any; i++)
    any = is_conv(in->nodes[i].op) && in->nodes[i].dtype == DT_F32 && in->nodes[i].attr.i[0] == 0;
  if (!any) return (Graph *)in;
  Graph *out = ir_graph_clone(in);
  for (int i = 0; i < out->n; i++)
    if (is_conv(out->nodes[i].op) && out->nodes[i].dtype == DT_F32) out->nodes[i].attr.i[0] = 1;
  return out;
}
