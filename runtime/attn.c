/*
 * attn.c — attention of new positions over a KV cache, for the decode step the kvcache
 * pass makes of a generation loop (passes/kvcache.c, docs/KVCACHE.md).
 *
 * The model's own attention over a window of T positions is
 *   y = softmax(mask(q @ k^T * scale)) @ v,  mask: -inf above the diagonal,
 * which for row t reads keys and values 0..t only. With the keys and values of positions
 * 0..c-1 kept from earlier steps, the m new positions c..c+m-1 need their own q, k and v
 * rows only: k and v go into the caches, and row i attends to cache rows 0..c+i. The
 * arithmetic is the model's: each score a dot product of D floats in order, then the scale
 * as the model applied it, then softmax as codegen's kernel computes it (max, exp, a
 * double sum, times the float reciprocal), then the weighted sum of value rows in order.
 *
 * The K cache is stored transposed, [*, D, cap], so the scores of a row are one pass over
 * contiguous keys per element of q (the compiler vectorizes across keys); the V cache is
 * [*, cap, Dv], so the weighted sum is one pass over contiguous value rows.
 */
#include "tt.h"

#include <math.h>

void tt_kv_attention_f32(int64_t nb, int64_t m, int64_t mb, int64_t c, int64_t cap, int64_t D,
                         int64_t Dv, const float *q, const float *k, const float *v, float *kt,
                         float *vc, float *y, float scale, int mode, float *s, const char *where) {
  if (m < 0 || m > mb || c < 0 || c > cap - m)
    tt_fatal("%s: the KV cache holds %lld positions and %lld more do not fit its %lld", where,
             (long long)c, (long long)m, (long long)cap);
  for (int64_t b = 0; b < nb; b++) {
    float *K = kt + b * D * cap, *V = vc + b * cap * Dv;
    const float *qb = q + b * mb * D, *kb = k + b * mb * D, *vb = v + b * mb * Dv;
    float *yb = y + b * mb * Dv;
    for (int64_t i = 0; i < m; i++) {
      for (int64_t d = 0; d < D; d++)
        K[d * cap + c + i] = kb[i * D + d];
      for (int64_t e = 0; e < Dv; e++)
        V[(c + i) * Dv + e] = vb[i * Dv + e];
    }
    for (int64_t i = 0; i < m; i++) {
      const int64_t t = c + i + 1; /* keys 0..c+i */
      const float *qi = qb + i * D;
      for (int64_t j = 0; j < t; j++)
        s[j] = 0;
      for (int64_t d = 0; d < D; d++) {
        const float qd = qi[d], *Kd = K + d * cap;
        for (int64_t j = 0; j < t; j++)
          s[j] += qd * Kd[j];
      }
      if (mode == 1)
        for (int64_t j = 0; j < t; j++)
          s[j] = s[j] * scale;
      else if (mode == 2)
        for (int64_t j = 0; j < t; j++)
          s[j] = s[j] / scale;
      float rmax = -INFINITY;
      for (int64_t j = 0; j < t; j++)
        if (s[j] > rmax) rmax = s[j];
      double rsum = 0;
      for (int64_t j = 0; j < t; j++) {
        s[j] = expf(s[j] - rmax);
        rsum += s[j];
      }
      const float rinv = (float)1 / (float)rsum;
      float *yi = yb + i * Dv;
      for (int64_t e = 0; e < Dv; e++)
        yi[e] = 0;
      for (int64_t j = 0; j < t; j++) {
        const float p = s[j] * rinv, *Vj = V + j * Dv;
        for (int64_t e = 0; e < Dv; e++)
          yi[e] += p * Vj[e];
      }
    }
  }
}
