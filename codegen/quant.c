/*
 * quant.c — the emitters of the int8 ops: QLINEAR, an int8 Linear's integer product, is one
 * call of the runtime's tt_gemm_s8s8 (runtime/qgemm.c: int8 x int8 -> exact int32, with the
 * activations' zero point folded in; AVX-512 VNNI's vpdpbusd where the program is compiled
 * for it). The float edges around it (quantizing the input, scaling the accumulators back)
 * are ordinary elementwise ops the front end builds (frontend/quant.c).
 */
#include "codegen/codegen.h"

/* out[*, N] = (x[*, K] - zp) @ w[N, K]^T: the leading dims fold into the GEMM's rows. */
bool cg_qlinear(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 3)) return false;
  const Node *n = cg_node(cg, id), *x = cg_in(cg, id, 0), *w = cg_in(cg, id, 1);
  int r = x->shape.rank;
  if (x->dtype != DT_I8 || w->dtype != DT_I8 || n->dtype != DT_I32 || w->shape.rank != 2 ||
      r < 1 || x->shape.d[r - 1] != w->shape.d[1])
    return cg_fail(cg, "qlinear: operands are not int8 codes [*, K] and weights [N, K]");
  /* the rows are contiguous up to the run-time extent only when it is the leading dim */
  if (x->shape.symm & ~1u)
    return cg_fail(cg, "qlinear: a run-time extent that is not the leading dimension");
  int64_t N = w->shape.d[0], K = w->shape.d[1];
  cg_kernel_comment(cg, id, "(int8 x int8 -> int32)");
  cg_line(cg, "tt_gemm_s8s8(%s, %lld, %lld, %s, %lld, (int32_t)%s[0], %s, %lld, true, %s, %lld, false);",
          cg_extent(cg, &x->shape, 0, r - 1), (long long)N, (long long)K, cg_buf(cg, n->in[0]),
          (long long)K, cg_buf(cg, n->in[2]), cg_buf(cg, n->in[1]), (long long)K, cg_buf(cg, id),
          (long long)N);
  return true;
}
