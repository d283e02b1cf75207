/*
 * sparse.c — the emitters of the sparse Linear's ops (passes/prune.c chooses them,
 * runtime/sparse.c runs them): SPARSE_INDEX and SPARSE_VALUES pack a weight that is mostly
 * zeros into a sliced ELLPACK index and its values (in the small graph the pass runs when
 * the weight has changed), and SPARSE_LINEAR is x @ W^T from them, one call of
 * tt_sparse_linear_f32 with the same bits as the GEMM it replaces.
 */
#include "codegen/codegen.h"

static bool weight_ok(Cg *cg, const Node *n, const Node *w) {
  if (w->dtype != DT_F32 || w->shape.rank != 2 || w->shape.symm)
    return cg_fail(cg, "%s: the weight is not a float32 [N, K]", ir_ops[n->op].name);
  return true;
}

/* idx = the index of W's nonzeros, room for attr.i[0] entries */
bool cg_sparse_index(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id), *w = cg_in(cg, id, 0);
  if (!weight_ok(cg, n, w)) return false;
  cg_kernel_comment(cg, id, "(the weight's nonzeros, sliced ELLPACK)");
  cg_line(cg, "tt_sparse_index_f32(%s, %lld, %lld, %lld, %s, %lld);", cg_buf(cg, n->in[0]),
          (long long)w->shape.d[0], (long long)w->shape.d[1], (long long)n->attr.i[0], cg_buf(cg, id),
          (long long)n->shape.d[0]);
  return true;
}

/* vals = W's values in the index's order */
bool cg_sparse_values(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 2)) return false;
  const Node *n = cg_node(cg, id), *w = cg_in(cg, id, 0);
  if (!weight_ok(cg, n, w)) return false;
  cg_kernel_comment(cg, id, "(gathered through the index)");
  cg_line(cg, "tt_sparse_values_f32(%s, %s, %s);", cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]),
          cg_buf(cg, id));
  return true;
}

/* y[*, N] = x[*, K] @ W[N, K]^T: the leading dims fold into the rows */
bool cg_sparse_linear(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 4)) return false;
  const Node *n = cg_node(cg, id), *x = cg_in(cg, id, 0), *w = cg_in(cg, id, 1);
  if (!weight_ok(cg, n, w)) return false;
  int r = x->shape.rank;
  if (x->dtype != DT_F32 || r < 1 || x->shape.d[r - 1] != w->shape.d[1])
    return cg_fail(cg, "sparse_linear: x is not a float32 [*, K]");
  /* the rows are contiguous up to the run-time extent only when it is the leading dim */
  if (x->shape.symm & ~1u)
    return cg_fail(cg, "sparse_linear: a run-time extent that is not the leading dimension");
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "(B transposed; sparse: at most %lld nonzeros)",
                                         (long long)n->attr.i[0]));
  cg_line(cg, "tt_sparse_linear_f32(%s, %lld, %lld, %s, %s, %s, %s, %s);",
          r > 1 ? cg_extent(cg, &x->shape, 0, r - 1) : "1", (long long)w->shape.d[0],
          (long long)w->shape.d[1], cg_buf(cg, n->in[0]), cg_buf(cg, n->in[1]), cg_buf(cg, n->in[2]),
          cg_buf(cg, n->in[3]), cg_buf(cg, id));
  return true;
}
