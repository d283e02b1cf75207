/*
 * conv.c — convolution and pooling: calls into the runtime's kernels (runtime/conv.c).
 *
 * A CONV2D node marked by the conv-im2col pass calls the im2col + GEMM kernel with the
 * program's one shared workspace (declared at file scope, sized for the largest
 * convolution: kernels never allocate); unmarked ones, and float64 ones, call the direct
 * 7-nested-loop kernel. The batch extent is the literal N or, for a batch from a data
 * loader, the graph's run-time B.
 */
#include "codegen/codegen.h"

#include <string.h>

static const char *sfx(DType t) {
  return t == DT_F64 ? "f64" : "f32";
}

/* The sizes every kernel takes: N C H W, as C expressions. */
static const char *nchw(Cg *cg, const Shape *x) {
  return arena_printf(cg->arena, "%s, %lld, %lld, %lld", cg_extent(cg, x, 0, 1), (long long)x->d[1],
                      (long long)x->d[2], (long long)x->d[3]);
}

static bool im2col(const Node *n) {
  return n->attr.i[0] == 1 && n->dtype == DT_F32;
}

/* floats of workspace one im2col convolution needs (the runtime's tt_conv2d_workspace) */
static int64_t ws_of(const Graph *g, const Node *n) {
  const Shape *x, *w;
  int64_t R, S;
  if (n->op == OP_CONV2D) x = &g->nodes[n->in[0]].shape, w = &g->nodes[n->in[1]].shape, R = w->d[2], S = w->d[3];
  else if (n->op == OP_CONV2D_GRAD_WEIGHT) x = &g->nodes[n->in[0]].shape, R = n->attr.ints[4], S = n->attr.ints[5];
  else {
    x = &n->shape; /* the input gradient has x's shape */
    w = &g->nodes[n->in[1]].shape;
    R = w->d[2], S = w->d[3];
  }
  const int64_t *a = n->attr.ints;
  int64_t oh = (x->d[2] + 2 * a[2] - R) / a[0] + 1, ow = (x->d[3] + 2 * a[3] - S) / a[1] + 1;
  return x->d[1] * R * S * oh * ow;
}

int64_t cg_conv_workspace_floats(const Cg *cg) {
  int64_t most = 0;
  for (int gi = 0; gi < cg->p->ngraphs; gi++) {
    const Graph *g = cg->p->graphs[gi];
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      if ((n->op == OP_CONV2D || n->op == OP_CONV2D_GRAD_INPUT || n->op == OP_CONV2D_GRAD_WEIGHT) && im2col(n)) {
        int64_t w = ws_of(g, n);
        if (w > most) most = w;
      }
    }
  }
  return most;
}

/* Whether the program has a max_pool2d_grad with the ReLU mask (the fuse pass's rule). */
static bool has_fused(const Cg *cg, Op op) {
  for (int gi = 0; gi < cg->p->ngraphs; gi++) {
    const Graph *g = cg->p->graphs[gi];
    for (int id = 0; id < g->n; id++)
      if (g->nodes[id].op == op && g->nodes[id].attr.i[1]) return true;
  }
  return false;
}

void cg_conv_workspace(Cg *cg) {
  if (has_fused(cg, OP_CONV2D)) {
    /* runtime/conv.c's kernel, not yet declared in runtime/tt.h */
    cg_line(cg, "void tt_conv2d_relu_f32(const float *x, const float *w, const float *b, float *y, int64_t N, int64_t C,");
    cg_line(cg, "                        int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh, int64_t sw,");
    cg_line(cg, "                        int64_t ph, int64_t pw, float *ws);");
    fputc('\n', cg->out);
  }
  if (has_fused(cg, OP_MAXPOOL2D_GRAD)) {
    /* runtime/conv.c's kernel, not yet declared in runtime/tt.h */
    cg_line(cg, "void tt_maxpool2d_grad_relu_f32(const float *x, const float *dy, float *dx, int64_t N, int64_t C,");
    cg_line(cg, "                                int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw,");
    cg_line(cg, "                                int64_t ph, int64_t pw);");
    fputc('\n', cg->out);
  }
  int64_t most = cg_conv_workspace_floats(cg);
  if (!most) return;
  cg_line(cg, "/* the im2col workspace, shared by every convolution (one image's columns) */");
  cg_line(cg, "static TT_ALIGN float conv_workspace[%lld];", (long long)most);
  fputc('\n', cg->out);
}

static const char *window(Cg *cg, const int64_t *a) {
  return arena_printf(cg->arena, "%lld, %lld, %lld, %lld", (long long)a[0], (long long)a[1], (long long)a[2],
                      (long long)a[3]);
}

bool cg_conv2d(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0), *w = cg_in(cg, id, 1);
  bool relu = im2col(n) && n->attr.i[1];
  cg_kernel_comment(cg, id, relu ? "im2col + GEMM, then relu" : im2col(n) ? "im2col + GEMM" : "direct loops");
  const char *b = n->nin == 3 ? cg_buf(cg, n->in[2]) : "NULL";
  cg_line(cg, "tt_conv2d%s_%s(%s, %s, %s, %s, %s, %lld, %lld, %lld, %s%s);", relu ? "_relu" : im2col(n) ? "" : "_naive", sfx(n->dtype),
          cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]), b, cg_buf(cg, id), nchw(cg, &x->shape),
          (long long)w->shape.d[0], (long long)w->shape.d[2], (long long)w->shape.d[3], window(cg, n->attr.ints),
          im2col(n) ? ", conv_workspace" : "");
  return true;
}

bool cg_conv2d_grad_input(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  const Node *w = cg_in(cg, id, 1);
  cg_kernel_comment(cg, id, im2col(n) ? "GEMM + col2im" : "direct loops");
  cg_line(cg, "tt_conv2d_grad_input%s_%s(%s, %s, %s, %s, %lld, %lld, %lld, %s%s);", im2col(n) ? "" : "_naive",
          sfx(n->dtype), cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]), cg_buf(cg, id), nchw(cg, &n->shape),
          (long long)w->shape.d[0], (long long)w->shape.d[2], (long long)w->shape.d[3], window(cg, n->attr.ints),
          im2col(n) ? ", conv_workspace" : "");
  return true;
}

bool cg_conv2d_grad_weight(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  cg_kernel_comment(cg, id, im2col(n) ? "im2col + GEMM, summed over the batch" : "direct loops");
  cg_line(cg, "tt_conv2d_grad_weight%s_%s(%s, %s, %s, %s, %lld, %lld, %lld, %s%s);", im2col(n) ? "" : "_naive",
          sfx(n->dtype), cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]), cg_buf(cg, id), nchw(cg, &x->shape),
          (long long)n->shape.d[0], (long long)n->shape.d[2], (long long)n->shape.d[3], window(cg, n->attr.ints),
          im2col(n) ? ", conv_workspace" : "");
  return true;
}

static const char *pool_args(Cg *cg, const int64_t *a) {
  return arena_printf(cg->arena, "%lld, %lld, %lld, %lld, %lld, %lld", (long long)a[0], (long long)a[1],
                      (long long)a[2], (long long)a[3], (long long)a[4], (long long)a[5]);
}

bool cg_pool2d(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  cg_kernel_comment(cg, id, NULL);
  cg_line(cg, "tt_%s_%s(%s, %s, %s, %s);", n->op == OP_MAXPOOL2D ? "maxpool2d" : "avgpool2d", sfx(n->dtype),
          cg_buf(cg, n->in[0]), cg_buf(cg, id), nchw(cg, &x->shape), pool_args(cg, n->attr.ints));
  return true;
}

bool cg_pool2d_grad(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  cg_kernel_comment(cg, id, n->attr.i[1] ? "with the ReLU's gradient (kept where x > 0)" : NULL);
  if (n->op == OP_MAXPOOL2D_GRAD && n->attr.i[1])
    cg_line(cg, "tt_maxpool2d_grad_relu_f32(%s, %s, %s, %s, %s);",
            cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]), cg_buf(cg, id), nchw(cg, &n->shape), pool_args(cg, n->attr.ints));
  else if (n->op == OP_MAXPOOL2D_GRAD)
    cg_line(cg, "tt_maxpool2d_grad_%s(%s, %s, %s, %s, %s);", sfx(n->dtype), cg_buf(cg, n->in[0]),
            cg_buf(cg, n->in[1]), cg_buf(cg, id), nchw(cg, &n->shape), pool_args(cg, n->attr.ints));
  else
    cg_line(cg, "tt_avgpool2d_grad_%s(%s, %s, %s, %s);", sfx(n->dtype), cg_buf(cg, n->in[0]), cg_buf(cg, id),
            nchw(cg, &n->shape), pool_args(cg, n->attr.ints));
  return true;
}
