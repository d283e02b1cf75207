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

/* y[N, K, OH, OW] = conv2d(x - zp, w) in int32: tt_conv2d_s8s8 with a workspace of its own
 * (the int32 block and the patches of one image), sized here at compile time. */
bool cg_qconv2d(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 3)) return false;
  const Node *n = cg_node(cg, id), *x = cg_in(cg, id, 0), *w = cg_in(cg, id, 1);
  if (x->dtype != DT_I8 || w->dtype != DT_I8 || n->dtype != DT_I32 || x->shape.rank != 4 ||
      w->shape.rank != 4 || n->attr.nints != 4 || (x->shape.symm & ~1u))
    return cg_fail(cg, "qconv2d: operands are not int8 images [N, C, H, W] and weights [K, C, R, S]");
  const int64_t *a = n->attr.ints;
  int64_t P = n->shape.d[2] * n->shape.d[3], K = w->shape.d[0];
  int64_t CRS = w->shape.d[1] * w->shape.d[2] * w->shape.d[3];
  int64_t bytes = P * K * 4 + P * CRS; /* tt_conv2d_q8_workspace's */
  cg_kernel_comment(cg, id, "(int8 x int8 -> int32, im2row + int8 GEMM)");
  cg_line(cg, "{");
  cg_line(cg, "  static TT_ALIGN unsigned char qconv_ws[%lld];", (long long)bytes);
  cg_line(cg, "  tt_conv2d_s8s8(%s, (int32_t)%s[0], %s, %s, %s, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, %lld, qconv_ws);",
          cg_buf(cg, n->in[0]), cg_buf(cg, n->in[2]), cg_buf(cg, n->in[1]), cg_buf(cg, id),
          cg_extent(cg, &x->shape, 0, 1), (long long)x->shape.d[1], (long long)x->shape.d[2],
          (long long)x->shape.d[3], (long long)K, (long long)w->shape.d[2], (long long)w->shape.d[3],
          (long long)a[0], (long long)a[1], (long long)a[2], (long long)a[3]);
  cg_line(cg, "}");
  return true;
}
