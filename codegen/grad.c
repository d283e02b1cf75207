/*
 * grad.c — emitters for the ops autodiff introduces: the BACKWARD marker (no code: the
 * autodiff pass replaces it), one_hot (the target mask of cross_entropy / nll_loss)
 * and slice_backward (the gradient of a slice: zeros with the slice written in); gather
 * and its gradient scatter_add; and manual_seed in the middle of a program.
 */
#include "codegen/codegen.h"

#include <string.h>

/* backward() before the autodiff pass: no code (the driver warns when a pipeline without
 * autodiff leaves one), so that `ttc diff --pass=autodiff` shows only what it adds. */
bool cg_backward(Cg *cg, int id) {
  (void)cg;
  (void)id;
  return true;
}

/* manual_seed() after random numbers were drawn: reseed here (the first one, before any
 * draw, is the program's seed and is set in main). */
bool cg_seed(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  int line, col;
  ir_linecol(cg->p->src, n->loc.off, &line, &col);
  cg_line(cg, "/* %s:%d:%d  manual_seed(%lld) */", cg->file, line, col, (long long)n->attr.i[0]);
  cg_line(cg, "tt_manual_seed(%lldULL);", (long long)n->attr.i[0]);
  return true;
}

bool cg_one_hot(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  int64_t classes = n->attr.i[0];
  if (x->dtype != DT_I64 || classes < 1) return cg_fail(cg, "one_hot: bad operands");
  /* One flat loop over the rows: a batch dim must lead so the valid rows are contiguous. */
  if (x->shape.symm & ~1u) return cg_fail(cg, "one_hot: the batch dimension must be leading");
  const char *nrows = cg_extent(cg, &x->shape, 0, x->shape.rank);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "classes=%lld", (long long)classes));
  const char *out = cg_buf(cg, id), *in = cg_buf(cg, n->in[0]);
  const char *ty = cg_ctype(n->dtype);
  cg_line(cg, "for (int64_t i = 0; i < %s; i++) {", nrows);
  cg->indent++;
  cg_line(cg, "int64_t k = %s[i];", in);
  cg_line(cg, "if (k < 0 || k >= %lld)", (long long)classes);
  cg_line(cg, "  %s;",
          cg_fatal_call(cg, n->loc,
                        arena_printf(cg->arena,
                                     "class index %%lld is out of bounds for %lld classes",
                                     (long long)classes),
                        "(long long)k"));
  cg_line(cg, "for (int64_t j = 0; j < %lld; j++)", (long long)classes);
  cg_line(cg, "  %s[i * %lld + j] = (%s)(j == k);", out, (long long)classes, ty);
  cg->indent--;
  cg_line(cg, "}");
  return true;
}

bool cg_slice_backward(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Shape *g = &cg_in(cg, id, 0)->shape;
  int rank = n->shape.rank;
  if (n->attr.nints != 4 * rank || g->rank != rank)
    return cg_fail(cg, "slice_backward: bad attributes");
  cg_kernel_comment(cg, id, NULL);
  const char *out = cg_buf(cg, id), *in = cg_buf(cg, n->in[0]);
  cg_line(cg, "for (int64_t i = 0; i < %lld; i++) %s[i] = 0;", (long long)shape_numel(&n->shape),
          out);
  int64_t ost[TT_MAX_RANK];
  cg_strides(&n->shape, ost);
  CgNest nest;
  cg_nest_init(&nest, g, 2, 0);
  cg_nest_broadcast(&nest, 1, g);
  for (int i = 0; i < rank; i++) {
    const int64_t *t = &n->attr.ints[3 * i];
    nest.st[0][i] = ost[i] * t[2];
    nest.base[0] += t[0] * ost[i];
  }
  if (shape_numel(g) == 0) return true;
  cg_nest_merge(&nest);
  cg_nest_open(cg, &nest, false);
  cg_line(cg, "%s[%s] = %s[%s];", out, cg_nest_index(cg, &nest, 0), in,
          cg_nest_index(cg, &nest, 1));
  cg_nest_close(cg, &nest, false);
  return true;
}

/*
 * gather and scatter_add walk the index tensor; x is addressed by its own strides along
 * the other dims and by the index value along dim. Indices are checked: one outside the
 * dim stops the program naming the .tt line, as PyTorch raises.
 */
static bool emit_gather_like(Cg *cg, int id, bool scatter) {
  if (!cg_check_inputs(cg, id, 2)) return false;
  const Node *n = cg_node(cg, id);
  const Node *ix = cg_in(cg, id, 1);
  const Shape *xs = scatter ? &n->shape : &cg_in(cg, id, 0)->shape;
  const Shape *is = &ix->shape;
  int dim = (int)n->attr.i[0], rank = is->rank;
  if (xs->rank != rank || dim < 0 || dim >= (rank ? rank : 1)) return cg_fail(cg, "gather: bad shapes");
  int64_t xst[TT_MAX_RANK];
  cg_strides(xs, xst);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "dim=%d", dim));
  const char *x = cg_buf(cg, scatter ? id : n->in[0]), *v = cg_buf(cg, scatter ? n->in[0] : id);
  if (scatter) {
    cg_line(cg, "for (int64_t i = 0; i < %lld; i++) %s[i] = 0;", (long long)shape_numel(xs), x);
  }
  if (rank == 0 || shape_numel(is) == 0) {
    if (rank == 0) cg_line(cg, scatter ? "%s[0] += %s[0];" : "%s[0] = %s[0];", scatter ? x : v, scatter ? v : x);
    return true;
  }
  /* operands: 0 the value side (out of gather, in of scatter), 1 the index, 2 x */
  CgNest nest;
  cg_nest_init(&nest, is, 3, 0);
  cg_nest_broadcast(&nest, 0, is);
  cg_nest_broadcast(&nest, 1, is);
  for (int i = 0; i < rank; i++) nest.st[2][i] = i == dim ? 0 : xst[i];
  cg_nest_merge(&nest);
  const char *bound = cg_extent(cg, xs, dim, dim + 1);
  cg_nest_open(cg, &nest, true);
  cg_line(cg, "const int64_t k = %s[%s];", cg_buf(cg, n->in[1]), cg_nest_index(cg, &nest, 1));
  cg_line(cg, "if (k < 0 || k >= %s)", bound);
  const char *msg = arena_printf(
      cg->arena, "index %%lld is out of bounds for dimension %d with size %%lld", dim);
  cg_line(cg, "  %s;",
          cg_fatal_call(cg, n->loc, msg,
                        arena_printf(cg->arena, "(long long)k, (long long)(%s)", bound)));
  const char *xi = arena_printf(cg->arena, "%s + k * %lld", cg_nest_index(cg, &nest, 2), (long long)xst[dim]);
  if (scatter)
    cg_line(cg, "%s[%s] += %s[%s];", x, xi, v, cg_nest_index(cg, &nest, 0));
  else
    cg_line(cg, "%s[%s] = %s[%s];", v, cg_nest_index(cg, &nest, 0), x, xi);
  cg_nest_close(cg, &nest, true);
  return true;
}

bool cg_gather(Cg *cg, int id) { return emit_gather_like(cg, id, false); }
bool cg_scatter_add(Cg *cg, int id) { return emit_gather_like(cg, id, true); }

/* embedding and its gradient: one row of D per index, copied out or added back. */
static bool emit_embedding_like(Cg *cg, int id, bool backward) {
  if (!cg_check_inputs(cg, id, 2)) return false;
  const Node *n = cg_node(cg, id);
  const Node *ix = cg_in(cg, id, 1);
  const Shape *ws = backward ? &n->shape : &cg_in(cg, id, 0)->shape;
  if (ws->rank != 2) return cg_fail(cg, "embedding: bad table shape");
  int64_t V = ws->d[0], D = ws->d[1];
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "%lld rows of %lld", (long long)V, (long long)D));
  const char *w = cg_buf(cg, backward ? id : n->in[0]), *rows = cg_buf(cg, backward ? n->in[0] : id);
  if (backward) cg_line(cg, "for (int64_t i = 0; i < %lld; i++) %s[i] = 0;", (long long)(V * D), w);
  CgNest nest = {0};
  if (ix->shape.symm & ~1u) {
    /* run-time extents past the leading dim ([1, T:64] tokens): the valid indices are not
     * a prefix of the buffer, so a nest walks them, and row i of the result is at the
     * index's own position (both are laid out by the bounds) */
    if (backward) return cg_fail(cg, "embedding: a gradient over a run-time length");
    cg_nest_init(&nest, &ix->shape, 1, 0);
    cg_strides(&ix->shape, nest.st[0]);
    cg_nest_merge(&nest);
    cg_nest_open(cg, &nest, true);
    cg_line(cg, "const int64_t i = %s;", cg_nest_index(cg, &nest, 0));
  } else {
    const char *count = cg_extent(cg, &ix->shape, 0, ix->shape.rank);
    cg_line(cg, "for (int64_t i = 0; i < %s; i++) {", count);
    cg->indent++;
  }
  cg_line(cg, "const int64_t k = %s[i];", cg_buf(cg, n->in[1]));
  cg_line(cg, "if (k < 0 || k >= %lld)", (long long)V);
  cg_line(cg, "  %s;",
          cg_fatal_call(cg, n->loc,
                        arena_printf(cg->arena,
                                     "index %%lld is out of range for an embedding of %lld rows",
                                     (long long)V),
                        "(long long)k"));
  cg_line(cg, "for (int64_t j = 0; j < %lld; j++)", (long long)D);
  if (backward)
    cg_line(cg, "  %s[k * %lld + j] += %s[i * %lld + j];", w, (long long)D, rows, (long long)D);
  else
    cg_line(cg, "  %s[i * %lld + j] = %s[k * %lld + j];", rows, (long long)D, w, (long long)D);
  if (ix->shape.symm & ~1u) {
    cg_nest_close(cg, &nest, true);
  } else {
    cg->indent--;
    cg_line(cg, "}");
  }
  return true;
}

bool cg_embedding(Cg *cg, int id) { return emit_embedding_like(cg, id, false); }
bool cg_embedding_backward(Cg *cg, int id) { return emit_embedding_like(cg, id, true); }
