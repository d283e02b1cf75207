/*
 * conv.c — 2-D convolution and pooling for the CNNs of generated programs, forward and
 * backward, in PyTorch's NCHW layout (x [N, C, H, W], weight [K, C, R, S], y [N, K, OH, OW]).
 *
 * The fast convolution is im2col + GEMM, as Caffe did it: per image, the receptive field of
 * every output pixel is copied into a column of cols [C*R*S, OH*OW], and the convolution
 * becomes one tiled tt_gemm_f32, y_n [K, OH*OW] = w [K, C*R*S] @ cols. The gradients are the
 * same GEMM transposed: dx_n = col2im(w^T @ dy_n), dw += dy_n @ cols^T. col2im is im2col's
 * adjoint (it scatters and adds), which is why it ADDS into x. The caller passes the
 * workspace for cols (tt_conv2d_workspace floats), so kernels never allocate; generated code
 * shares one workspace between all convolutions.
 *
 * The naive kernels are the seven nested loops straight from the definition: the references
 * the tests hold the fast path to, the --conv=naive kernels, and (in float64) what gradient
 * checks run. Pooling is direct: a window is a handful of loads and the pass is memory bound.
 *
 * Bad sizes (a stride below 1, a kernel larger than the padded input, negative sizes) give
 * empty outputs and zeroed gradients instead of out-of-bounds accesses; the compiler
 * rejects them before they get here.
 */
#include "tt.h"

#include <stdlib.h>

#include <math.h>
#include <string.h>

/* Output extent along one axis: floor((in + 2*pad - k) / stride) + 1, or 0 when the sizes
 * make no valid window (C's / truncates toward zero, so a negative numerator needs the
 * guard, not just the division). */
static int64_t out_dim(int64_t in, int64_t k, int64_t stride, int64_t pad) {
  if (in < 0 || k <= 0 || stride <= 0 || pad < 0 || in + 2 * pad < k)
    return 0;
  return (in + 2 * pad - k) / stride + 1;
}

/* Elements of a tensor with these four sizes, 0 if any is negative. */
static size_t count4(int64_t a, int64_t b, int64_t c, int64_t d) {
  if (a < 0 || b < 0 || c < 0 || d < 0)
    return 0;
  return (size_t)a * (size_t)b * (size_t)c * (size_t)d;
}

/* The output columns [*lo, *hi) whose input column o*stride + off lies inside [0, in):
 * hoisting the padding test out of the inner loop lets it be a plain (vectorized) copy. */
static void valid_range(int64_t off, int64_t stride, int64_t in, int64_t out, int64_t *lo,
                        int64_t *hi) {
  /* smallest o with o*stride + off >= 0, and smallest o with o*stride + off >= in */
  int64_t a = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int64_t b = in - off <= 0 ? 0 : (in - off + stride - 1) / stride;
  if (a > out)
    a = out;
  if (b > out)
    b = out;
  if (b < a)
    b = a;
  *lo = a;
  *hi = b;
}

size_t tt_conv2d_workspace(int64_t C, int64_t H, int64_t W, int64_t R, int64_t S, int64_t sh,
                           int64_t sw, int64_t ph, int64_t pw) {
  return count4(C, R * S, out_dim(H, R, sh, ph), out_dim(W, S, sw, pw));
}

/* ---- im2col / col2im ------------------------------------------------------------------ */

/*
 * The "same" stride-1 case (2*pad == kernel - 1 along W, so OW == W; 3x3 with padding 1)
 * is the common one, and there a whole cols row (c, r, s) is the input plane shifted by
 * (r - ph) rows and (s - pw) columns: one long copy, then the entries whose column falls
 * in the padding (|s - pw| per output row) and the rows in the padding are zeroed. The
 * copy never reads outside the plane: its range is clipped, and what is clipped is
 * padding. Other shapes copy row by row.
 */
static bool same_rows(int64_t W, int64_t S, int64_t sw, int64_t pw, int64_t OW) {
  return sw == 1 && OW == W && 2 * pw == S - 1;
}

/* For row (r, s) of the flat same-stride-1 layout: the output range [*i0, *i1) to copy
 * (rows inside the image, clipped to the plane) and the source offset. */
static int64_t flat_range(int64_t H, int64_t W, int64_t OH, int64_t r, int64_t s, int64_t sh,
                          int64_t ph, int64_t pw, int64_t *i0, int64_t *i1) {
  int64_t lo, hi, shift = (r - ph) * W + (s - pw);
  valid_range(r - ph, sh, H, OH, &lo, &hi);
  *i0 = lo * W > -shift ? lo * W : -shift;
  *i1 = hi * W < H * W - shift ? hi * W : H * W - shift;
  if (*i1 <= *i0) /* nothing to copy: the whole row is padding (an image shorter than R) */
    *i0 = *i1 = 0;
  return shift;
}


/* x [C, H, W] -> cols [C*R*S, OH*OW]: row (c, r, s), column (oh, ow) holds
 * x[c, oh*sh - ph + r, ow*sw - pw + s], 0 in the padding. */
void tt_im2col_f32(const float *x, float *cols, int64_t C, int64_t H, int64_t W, int64_t R,
                   int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  if (OH == 0 || OW == 0 || C <= 0)
    return;
  if (same_rows(W, S, sw, pw, OW) && sh == 1) {
    for (int64_t c = 0; c < C; c++)
      for (int64_t r = 0; r < R; r++)
        for (int64_t s = 0; s < S; s++) {
          float *row = cols + ((c * R + r) * S + s) * OH * OW;
          int64_t i0, i1, shift = flat_range(H, W, OH, r, s, sh, ph, pw, &i0, &i1);
          memset(row, 0, (size_t)i0 * sizeof(float));
          memcpy(row + i0, x + c * H * W + i0 + shift, (size_t)(i1 - i0) * sizeof(float));
          memset(row + i1, 0, (size_t)(OH * OW - i1) * sizeof(float));
          /* the columns that fall in the padding: the first or the last |s - pw| */
          int64_t z0 = s < pw ? 0 : W - (s - pw), z1 = s < pw ? pw - s : W;
          for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = z0; ow < z1; ow++)
              row[oh * OW + ow] = 0;
        }
    return;
  }
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < R; r++)
      for (int64_t s = 0; s < S; s++) {
        float *row = cols + ((c * R + r) * S + s) * OH * OW;
        int64_t lo, hi;
        valid_range(s - pw, sw, W, OW, &lo, &hi);
        for (int64_t oh = 0; oh < OH; oh++) {
          float *restrict d = row + oh * OW;
          int64_t ih = oh * sh - ph + r;
          if (ih < 0 || ih >= H) {
            memset(d, 0, (size_t)OW * sizeof(float));
            continue;
          }
          const float *restrict xr = x + (c * H + ih) * W;
          memset(d, 0, (size_t)lo * sizeof(float));
          if (sw == 1) {
            memcpy(d + lo, xr + lo + s - pw, (size_t)(hi - lo) * sizeof(float));
          } else {
            for (int64_t ow = lo; ow < hi; ow++)
              d[ow] = xr[ow * sw + s - pw];
          }
          memset(d + hi, 0, (size_t)(OW - hi) * sizeof(float));
        }
      }
}

/* The adjoint of tt_im2col_f32: every column entry is added back to the input pixel it was
 * copied from (padding entries are dropped). Overlapping windows accumulate. */
void tt_col2im_f32(const float *cols, float *x, int64_t C, int64_t H, int64_t W, int64_t R,
                   int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  if (OH == 0 || OW == 0 || C <= 0)
    return;
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < R; r++)
      for (int64_t s = 0; s < S; s++) {
        const float *row = cols + ((c * R + r) * S + s) * OH * OW;
        int64_t lo, hi;
        valid_range(s - pw, sw, W, OW, &lo, &hi);
        for (int64_t oh = 0; oh < OH; oh++) {
          int64_t ih = oh * sh - ph + r;
          if (ih < 0 || ih >= H)
            continue;
          const float *restrict d = row + oh * OW;
          float *restrict xr = x + (c * H + ih) * W;
          for (int64_t ow = lo; ow < hi; ow++)
            xr[ow * sw + s - pw] += d[ow];
        }
      }
}

/* ---- direct convolution (AVX-512) ----------------------------------------------------- */

/*
 * With the few channels of small CNNs (1 -> 8 -> 16), im2col + GEMM spends more time
 * copying than multiplying: every image's cols are written by im2col, packed again by the
 * GEMM, and (for the input gradient) scattered back by col2im, for a contraction of only 9
 * or 72. For stride-1 convolutions whose contraction fits one GEMM K block, these kernels
 * compute the same numbers straight from a zero-padded copy of the image, with the pixels
 * of an output row in the vector lanes and a block of channels in registers.
 *
 * They are bit-identical to the im2col + GEMM path, by construction, not by tolerance:
 *  - forward: each output is one fused multiply-add chain from zero over (c, r, s) in
 *    order, padding contributing w * 0 as in the zero entries of cols, then b[k] + chain
 *    (the GEMM's k order, its single K block, and its bias epilogue);
 *  - input gradient: for each (r, s) the chain over k of w[k, c, r, s] * dy[k, ...] from
 *    zero (the GEMM's element of w^T dy), added in (r, s) order to a sum that starts at
 *    +0, and only where the output pixel exists (col2im drops the others; here a masked
 *    add skips them, so a NaN or an infinite weight reaches exactly the same pixels).
 * The unit tests compare them with tt_im2col_f32 + tt_gemm_f32 + tt_col2im_f32 bit for bit.
 */
#if defined(__AVX512F__) && !defined(TT_CONV_PORTABLE)
#define TT_CONV_DIRECT 1
#include <immintrin.h>

/* the GEMM's K block (runtime/gemm.c's KC): a longer contraction is two chains there */
#define DIRECT_MAX_CRS 256
#define DIRECT_SLACK 16 /* zero floats after the padded planes: a vector's masked-off lanes */

/* x [C, H, W] -> xp [C, H + 2*ph, W + 2*pw] with zeros around, then DIRECT_SLACK zeros. */
static void pad_planes(const float *x, float *xp, int64_t C, int64_t H, int64_t W, int64_t ph,
                       int64_t pw) {
  int64_t Hp = H + 2 * ph, Wp = W + 2 * pw;
  memset(xp, 0, ((size_t)(C * Hp * Wp) + DIRECT_SLACK) * sizeof(float));
  for (int64_t c = 0; c < C; c++)
    for (int64_t h = 0; h < H; h++)
      memcpy(xp + (c * Hp + h + ph) * Wp + pw, x + (c * H + h) * W, (size_t)W * sizeof(float));
}

/* The output vectors of a plane: row oh, lanes ow0 .. ow0+15 of OW, t = oh * nch + chunk. */
typedef struct Vecs {
  int64_t OW, nch;
} Vecs;

static inline void vec_at(const Vecs *v, int64_t t, int64_t *oh, int64_t *ow0, __mmask16 *m) {
  *oh = t / v->nch;
  *ow0 = (t % v->nch) * 16;
  int64_t n = v->OW - *ow0;
  *m = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

/* Forward, one image: y [K, OH, OW] for channels k0 .. k0+KB-1 and the PB output vectors
 * from t, from xp [C, Hp, Wp] (padded). */
static inline __attribute__((always_inline)) void direct_fwd_block(
    const int KB, const int PB, const float *xp, const float *w, const float *b, float *y,
    int64_t C, int64_t Hp, int64_t Wp, int64_t R, int64_t S, int64_t OH, const Vecs *vs,
    int64_t k0, int64_t t, bool relu) {
  int64_t off[4], dst[4];
  __mmask16 m[4];
  for (int v = 0; v < PB; v++) {
    int64_t oh, ow0;
    vec_at(vs, t + v, &oh, &ow0, &m[v]);
    off[v] = oh * Wp + ow0;
    dst[v] = oh * vs->OW + ow0;
  }
  int64_t CRS = C * R * S, P = OH * vs->OW;
  __m512 acc[8][4];
#pragma GCC unroll 8
  for (int i = 0; i < KB; i++)
#pragma GCC unroll 4
    for (int v = 0; v < PB; v++)
      acc[i][v] = _mm512_setzero_ps();
  const float *wk = w + k0 * CRS;
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < R; r++) {
      const float *xr = xp + (c * Hp + r) * Wp;
      for (int64_t s = 0; s < S; s++, wk++) {
        __m512 xv[4];
#pragma GCC unroll 4
        for (int v = 0; v < PB; v++)
          xv[v] = _mm512_loadu_ps(xr + off[v] + s);
#pragma GCC unroll 8
        for (int i = 0; i < KB; i++) {
          __m512 wv = _mm512_set1_ps(wk[i * CRS]);
#pragma GCC unroll 4
          for (int v = 0; v < PB; v++)
            acc[i][v] = _mm512_fmadd_ps(wv, xv[v], acc[i][v]);
        }
      }
    }
#pragma GCC unroll 8
  for (int i = 0; i < KB; i++) {
    float *yk = y + (k0 + i) * P;
#pragma GCC unroll 4
    for (int v = 0; v < PB; v++) {
      __m512 o = b ? _mm512_add_ps(_mm512_set1_ps(b[k0 + i]), acc[i][v]) : acc[i][v];
      if (relu) /* relu's "v < 0 ? 0 : v": NaN and -0 stay */
        o = _mm512_mask_mov_ps(o, _mm512_cmp_ps_mask(o, _mm512_setzero_ps(), _CMP_LT_OQ),
                               _mm512_setzero_ps());
      _mm512_mask_storeu_ps(yk + dst[v], m[v], o);
    }
  }
}

/* y_n [K, OH, OW] = conv(x_n) + b, stride 1, from the padded planes xp. */
static void direct_fwd_image(const float *xp, const float *w, const float *b, float *y, int64_t C,
                             int64_t Hp, int64_t Wp, int64_t K, int64_t R, int64_t S, bool relu) {
  int64_t OH = Hp - R + 1, OW = Wp - S + 1;
  Vecs vs = {OW, (OW + 15) / 16};
  int64_t V = OH * vs.nch;
  int64_t k0 = 0;
#define FWD_ROWS(KB)                                                                          \
  do {                                                                                        \
    int64_t t = 0;                                                                            \
    for (; t + 3 <= V; t += 3)                                                                \
      direct_fwd_block(KB, 3, xp, w, b, y, C, Hp, Wp, R, S, OH, &vs, k0, t, relu);            \
    if (V - t == 2)                                                                           \
      direct_fwd_block(KB, 2, xp, w, b, y, C, Hp, Wp, R, S, OH, &vs, k0, t, relu);            \
    else if (V - t == 1)                                                                      \
      direct_fwd_block(KB, 1, xp, w, b, y, C, Hp, Wp, R, S, OH, &vs, k0, t, relu);            \
  } while (0)
  for (; k0 + 8 <= K; k0 += 8)
    FWD_ROWS(8);
  for (; k0 + 4 <= K; k0 += 4)
    FWD_ROWS(4);
  for (; k0 < K; k0++)
    FWD_ROWS(1);
#undef FWD_ROWS
}

/* Input gradient, one image: dx [C, H, W] for channels c0 .. c0+CB-1 and the PB vectors
 * from t, from dyp [K, H + R - 1, W + S - 1] (dy with R-1-ph rows and S-1-pw columns of
 * zeros each side). Term (r, s) of pixel (h, w) is dy[h + ph - r, w + pw - s], at
 * dyp[h + R-1 - r, w + S-1 - s]. */
static inline __attribute__((always_inline)) void direct_dx_block(
    const int CB, const int PB, const float *dyp, const float *w, float *dx, int64_t C,
    int64_t H, int64_t K, int64_t R, int64_t S, int64_t ph, int64_t pw, int64_t OH, int64_t OW,
    const Vecs *vs, int64_t c0, int64_t t) {
  int64_t Hq = H + R - 1, Wq = vs->OW + S - 1; /* vs->OW is W here: dx's vectors */
  int64_t hh[4], ww[4];
  __mmask16 m[4];
  for (int v = 0; v < PB; v++)
    vec_at(vs, t + v, &hh[v], &ww[v], &m[v]);
  int64_t RS = R * S, CRS = C * RS, HW = H * vs->OW;
  __m512 acc[4][4];
#pragma GCC unroll 4
  for (int i = 0; i < CB; i++)
#pragma GCC unroll 4
    for (int v = 0; v < PB; v++)
      acc[i][v] = _mm512_setzero_ps();
  for (int64_t r = 0; r < R; r++)
    for (int64_t s = 0; s < S; s++) {
      /* the lanes whose output pixel (h + ph - r, w + pw - s) exists */
      __mmask16 mv[4];
      const float *src[4];
      for (int v = 0; v < PB; v++) {
        int64_t oh = hh[v] + ph - r, ow = ww[v] + pw - s;
        int64_t lo = ow < 0 ? -ow : 0, hi = OW - ow < 16 ? OW - ow : 16;
        uint32_t bits = oh >= 0 && oh < OH && lo < hi ? ((1u << hi) - 1) & ~((1u << lo) - 1) : 0;
        mv[v] = (__mmask16)(bits & m[v]);
        src[v] = dyp + (hh[v] + R - 1 - r) * Wq + ww[v] + S - 1 - s;
      }
      __m512 tv[4][4];
#pragma GCC unroll 4
      for (int i = 0; i < CB; i++)
#pragma GCC unroll 4
        for (int v = 0; v < PB; v++)
          tv[i][v] = _mm512_setzero_ps();
      const float *wk = w + c0 * RS + r * S + s;
      for (int64_t k = 0; k < K; k++) {
        __m512 dv[4];
#pragma GCC unroll 4
        for (int v = 0; v < PB; v++)
          dv[v] = _mm512_loadu_ps(src[v] + k * Hq * Wq);
#pragma GCC unroll 4
        for (int i = 0; i < CB; i++) {
          __m512 wv = _mm512_set1_ps(wk[k * CRS + i * RS]);
#pragma GCC unroll 4
          for (int v = 0; v < PB; v++)
            tv[i][v] = _mm512_fmadd_ps(wv, dv[v], tv[i][v]);
        }
      }
#pragma GCC unroll 4
      for (int i = 0; i < CB; i++)
#pragma GCC unroll 4
        for (int v = 0; v < PB; v++)
          acc[i][v] = _mm512_mask_add_ps(acc[i][v], mv[v], acc[i][v], tv[i][v]);
    }
#pragma GCC unroll 4
  for (int i = 0; i < CB; i++)
#pragma GCC unroll 4
    for (int v = 0; v < PB; v++)
      _mm512_mask_storeu_ps(dx + (c0 + i) * HW + hh[v] * vs->OW + ww[v], m[v], acc[i][v]);
}

/* dx_n [C, H, W] (overwritten) from the padded dyp. */
static void direct_dx_image(const float *dyp, const float *w, float *dx, int64_t C, int64_t H,
                            int64_t W, int64_t K, int64_t R, int64_t S, int64_t ph, int64_t pw,
                            int64_t OH, int64_t OW) {
  Vecs vs = {W, (W + 15) / 16};
  int64_t V = H * vs.nch;
  int64_t c0 = 0;
#define DX_ROWS(CB)                                                                           \
  do {                                                                                        \
    int64_t t = 0;                                                                            \
    for (; t + 3 <= V; t += 3)                                                                \
      direct_dx_block(CB, 3, dyp, w, dx, C, H, K, R, S, ph, pw, OH, OW, &vs, c0, t);          \
    if (V - t == 2)                                                                           \
      direct_dx_block(CB, 2, dyp, w, dx, C, H, K, R, S, ph, pw, OH, OW, &vs, c0, t);          \
    else if (V - t == 1)                                                                      \
      direct_dx_block(CB, 1, dyp, w, dx, C, H, K, R, S, ph, pw, OH, OW, &vs, c0, t);          \
  } while (0)
  for (; c0 + 4 <= C; c0 += 4)
    DX_ROWS(4);
  for (; c0 < C; c0++)
    DX_ROWS(1);
#undef DX_ROWS
}

/* dyT [P, KV] = dy_n [K, P] transposed, 16 x 16 blocks at a time in registers (four
 * butterfly stages, stage b swapping bit b of the row and column indices); the lanes past
 * K are zero. */
static void transpose_to_lanes(const float *dy, float *dyT, int64_t K, int64_t P, int64_t KV) {
  __m512i lo[4], hi[4];
  for (int b = 0; b < 4; b++) {
    int bit = 1 << b;
    int32_t l[16], h[16];
    for (int j = 0; j < 16; j++) {
      l[j] = (j & bit) ? 16 + (j ^ bit) : j;
      h[j] = (j & bit) ? 16 + j : (j | bit);
    }
    lo[b] = _mm512_loadu_si512(l);
    hi[b] = _mm512_loadu_si512(h);
  }
  for (int64_t k0 = 0; k0 < KV; k0 += 16)
    for (int64_t p0 = 0; p0 < P; p0 += 16) {
      int64_t np = P - p0 < 16 ? P - p0 : 16;
      __mmask16 m = np >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << np) - 1);
      __m512 r[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++)
        r[i] = k0 + i < K ? _mm512_maskz_loadu_ps(m, dy + (k0 + i) * P + p0)
                          : _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int b = 0; b < 4; b++)
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) {
          if (i & (1 << b))
            continue;
          __m512 x = r[i], y = r[i | (1 << b)];
          r[i] = _mm512_permutex2var_ps(x, lo[b], y);
          r[i | (1 << b)] = _mm512_permutex2var_ps(x, hi[b], y);
        }
      for (int64_t j = 0; j < np; j++)
        _mm512_storeu_ps(dyT + (p0 + j) * KV + k0, r[j]);
    }
}

/* Weight gradient of a 3x3 stride-1 layer, one image's contribution for the channels
 * c0 .. c0+CC-1 of x and the output channels kv .. kv+15 (the vector lanes), over the
 * pixels [p0, p1) of one GEMM K block: dwT [C*9, KV] += the chain over p of
 * dyT [p, k] * x[c, oh + r, ow + s] (the GEMM's element of dy_n @ cols^T, as it adds it
 * to the accumulated gradient). dyT is dy_n transposed, its lanes past K zero. */
static inline __attribute__((always_inline)) void direct_dw_block(
    const int CC, const float *xp, const float *dyT, float *dwT, int64_t KV, int64_t plane,
    int64_t Wp, int64_t OW, int64_t c0, int64_t kv, int64_t p0, int64_t p1) {
  __m512 acc[3 * 9];
#pragma GCC unroll 27
  for (int i = 0; i < CC * 9; i++)
    acc[i] = _mm512_setzero_ps();
  int64_t oh = p0 / OW, ow = p0 % OW;
  for (int64_t p = p0; p < p1; p++) {
    __m512 d = _mm512_loadu_ps(dyT + p * KV + kv);
    const float *xs = xp + c0 * plane + oh * Wp + ow;
#pragma GCC unroll 3
    for (int cc = 0; cc < CC; cc++)
#pragma GCC unroll 3
      for (int r = 0; r < 3; r++)
#pragma GCC unroll 3
        for (int s = 0; s < 3; s++)
          acc[(cc * 3 + r) * 3 + s] = _mm512_fmadd_ps(
              d, _mm512_set1_ps(xs[cc * plane + r * Wp + s]), acc[(cc * 3 + r) * 3 + s]);
    if (++ow == OW)
      ow = 0, oh++;
  }
#pragma GCC unroll 27
  for (int i = 0; i < CC * 9; i++) {
    float *o = dwT + (c0 * 9 + i) * KV + kv;
    _mm512_storeu_ps(o, _mm512_add_ps(_mm512_loadu_ps(o), acc[i]));
  }
}

/* dwT [C*9, KV] += image n's weight gradient, 3x3 stride 1: xp padded [C, Hp, Wp], dyT
 * [P, KV]; the pixels in blocks of DIRECT_MAX_CRS, each block's chains added in turn. */
static void direct_dw_image(const float *xp, const float *dyT, float *dwT, int64_t C, int64_t KV,
                            int64_t Hp, int64_t Wp) {
  int64_t OH = Hp - 2, OW = Wp - 2, P = OH * OW, plane = Hp * Wp;
  for (int64_t p0 = 0; p0 < P; p0 += DIRECT_MAX_CRS) {
    int64_t p1 = P - p0 < DIRECT_MAX_CRS ? P : p0 + DIRECT_MAX_CRS;
    for (int64_t kv = 0; kv < KV; kv += 16) {
      int64_t c0 = 0;
      for (; c0 + 2 <= C; c0 += 2)
        direct_dw_block(2, xp, dyT, dwT, KV, plane, Wp, OW, c0, kv, p0, p1);
      for (; c0 < C; c0++)
        direct_dw_block(1, xp, dyT, dwT, KV, plane, Wp, OW, c0, kv, p0, p1);
    }
  }
}
#endif

/* Floats of workspace the direct weight gradient needs: the padded image, dy transposed
 * [P, KV] and the gradient transposed [C*9, KV], KV = K rounded up to 16 lanes. */
#ifdef TT_CONV_DIRECT
static size_t direct_dw_floats(int64_t C, int64_t H, int64_t W, int64_t K, int64_t ph,
                               int64_t pw, int64_t P) {
  int64_t KV = (K + 15) / 16 * 16;
  return (size_t)(C * (H + 2 * ph) * (W + 2 * pw) + 16 + P * KV + C * 9 * KV);
}
#endif

static bool direct_dw_ok(int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                         int64_t sh, int64_t sw, int64_t ph, int64_t pw, size_t ws) {
#ifdef TT_CONV_DIRECT
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  return R == 3 && S == 3 && sh == 1 && sw == 1 && OH * OW > 0 &&
         direct_dw_floats(C, H, W, K, ph, pw, OH * OW) <= ws;
#else
  (void)C, (void)H, (void)W, (void)K, (void)R, (void)S, (void)sh, (void)sw, (void)ph, (void)pw;
  (void)ws;
  return false;
#endif
}

/* Whether the direct kernels serve this convolution, whose im2col workspace is ws floats:
 * stride 1, one K block, padding at most kernel - 1, and the padded copy fits. */
static bool direct_fwd_ok(int64_t C, int64_t H, int64_t W, int64_t R, int64_t S, int64_t sh,
                          int64_t sw, int64_t ph, int64_t pw, size_t ws) {
#ifdef TT_CONV_DIRECT
  return sh == 1 && sw == 1 && C * R * S <= DIRECT_MAX_CRS &&
         (size_t)(C * (H + 2 * ph) * (W + 2 * pw) + DIRECT_SLACK) <= ws;
#else
  (void)C, (void)H, (void)W, (void)R, (void)S, (void)sh, (void)sw, (void)ph, (void)pw, (void)ws;
  return false;
#endif
}

static bool direct_dx_ok(int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                         int64_t sw, int64_t ph, int64_t pw, size_t ws) {
#ifdef TT_CONV_DIRECT
  /* the GEMM w^T dy contracts over K, in one block up to KC */
  return sh == 1 && sw == 1 && K <= DIRECT_MAX_CRS && ph <= R - 1 && pw <= S - 1 &&
         (size_t)(K * (H + R - 1) * (W + S - 1) + DIRECT_SLACK) <= ws;
#else
  (void)H, (void)W, (void)K, (void)R, (void)S, (void)sh, (void)sw, (void)ph, (void)pw, (void)ws;
  return false;
#endif
}

/* ---- im2col + GEMM convolution -------------------------------------------------------- */

/*
 * The forward and input-gradient kernels are independent per image, so a batch is split
 * in two halves for tt_parallel2: the caller's half uses the workspace generated code
 * passes in, the worker's half a second one kept here (grown when needed, never freed).
 * Each image is computed exactly as without the split. If that workspace cannot be had,
 * or there is no worker, or the batch is a single image or small, the loop runs on one
 * thread.
 */
static float *worker_ws;
static size_t worker_ws_len;

static float *second_workspace(size_t n) {
  if (n > worker_ws_len) {
    float *p = realloc(worker_ws, n * sizeof(float));
    if (!p)
      return NULL;
    worker_ws = p;
    worker_ws_len = n;
  }
  return worker_ws;
}

typedef struct ConvJob {
  const float *x, *w, *b, *dy;
  float *y, *dx, *ws[2];
  int64_t N, C, H, W, K, R, S, sh, sw, ph, pw, half;
  bool direct; /* the direct kernels above serve it */
  bool relu;   /* the forward's output goes through relu (tt_conv2d_relu_f32) */
} ConvJob;

static void conv_images(const ConvJob *j, int64_t n0, int64_t n1, float *ws) {
  int64_t OH = out_dim(j->H, j->R, j->sh, j->ph), OW = out_dim(j->W, j->S, j->sw, j->pw);
  int64_t P = OH * OW, CRS = j->C * j->R * j->S, K = j->K;
  /* A 1x1 stride-1 unpadded convolution's cols are the image itself: skip the copy. */
  bool pointwise = j->R == 1 && j->S == 1 && j->sh == 1 && j->sw == 1 && j->ph == 0 &&
                   j->pw == 0;
  for (int64_t n = n0; n < n1; n++) {
    const float *cols = j->x + n * j->C * j->H * j->W;
    float *yn = j->y + n * K * P;
#ifdef TT_CONV_DIRECT
    if (j->direct) {
      pad_planes(cols, ws, j->C, j->H, j->W, j->ph, j->pw);
      direct_fwd_image(ws, j->w, j->b, yn, j->C, j->H + 2 * j->ph, j->W + 2 * j->pw, K, j->R,
                       j->S, j->relu);
      continue;
    }
#endif
    if (!pointwise) {
      tt_im2col_f32(cols, ws, j->C, j->H, j->W, j->R, j->S, j->sh, j->sw, j->ph, j->pw);
      cols = ws;
    }
    /* The bias goes in first so that the GEMM accumulates onto it: no second pass. */
    if (j->b)
      for (int64_t k = 0; k < K; k++)
        for (int64_t p = 0; p < P; p++)
          yn[k * P + p] = j->b[k];
    tt_gemm_f32(K, P, CRS, j->w, CRS, false, cols, P, false, yn, P, j->b != NULL);
    if (j->relu)
      for (int64_t i = 0; i < K * P; i++)
        yn[i] = yn[i] < 0 ? 0 : yn[i];
  }
}

static void grad_input_images(const ConvJob *j, int64_t n0, int64_t n1, float *ws) {
  int64_t OH = out_dim(j->H, j->R, j->sh, j->ph), OW = out_dim(j->W, j->S, j->sw, j->pw);
  int64_t P = OH * OW, CRS = j->C * j->R * j->S, K = j->K;
  bool pointwise = j->R == 1 && j->S == 1 && j->sh == 1 && j->sw == 1 && j->ph == 0 &&
                   j->pw == 0;
  for (int64_t n = n0; n < n1; n++) {
    float *dxn = j->dx + n * j->C * j->H * j->W;
    const float *dyn = j->dy + n * K * P;
#ifdef TT_CONV_DIRECT
    if (j->direct) {
      pad_planes(dyn, ws, K, OH, OW, j->R - 1 - j->ph, j->S - 1 - j->pw);
      direct_dx_image(ws, j->w, dxn, j->C, j->H, j->W, K, j->R, j->S, j->ph, j->pw, OH, OW);
      continue;
    }
#endif
    if (pointwise) {
      /* cols is the image itself, so the GEMM can write dx directly. */
      tt_gemm_f32(CRS, P, K, j->w, CRS, true, dyn, P, false, dxn, P, false);
      continue;
    }
    tt_gemm_f32(CRS, P, K, j->w, CRS, true, dyn, P, false, ws, P, false);
    tt_col2im_f32(ws, dxn, j->C, j->H, j->W, j->R, j->S, j->sh, j->sw, j->ph, j->pw);
  }
}

static void conv_part(void *arg, int part) {
  const ConvJob *j = arg;
  conv_images(j, part ? j->half : 0, part ? j->N : j->half, j->ws[part]);
}

static void grad_input_part(void *arg, int part) {
  const ConvJob *j = arg;
  grad_input_images(j, part ? j->half : 0, part ? j->N : j->half, j->ws[part]);
}

/* Runs part over the batch: in two halves on two threads when that is possible. */
static void over_batch(ConvJob *j, void (*part)(void *, int), float *ws) {
  size_t wn = tt_conv2d_workspace(j->C, j->H, j->W, j->R, j->S, j->sh, j->sw, j->ph, j->pw);
  j->ws[0] = ws;
  j->ws[1] = NULL;
  /* below about a MFLOP the hand-off costs more than the second core gives */
  double flops = 2.0 * (double)j->N * (double)j->K * (double)wn;
  if (j->N >= 2 && flops >= 1e6 && tt_parallel2_available())
    j->ws[1] = second_workspace(wn);
  if (j->ws[1]) {
    j->half = j->N / 2;
    tt_parallel2(part, j);
  } else {
    j->half = j->N;
    part(j, 0);
  }
}

static void conv2d(const float *x, const float *w, const float *b, float *y, int64_t N,
                   int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                   int64_t sw, int64_t ph, int64_t pw, float *ws, bool relu) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  if (OH * OW == 0 || N <= 0 || K <= 0 || C <= 0)
    return;
  ConvJob j = {.x = x, .w = w, .b = b, .y = y, .N = N, .C = C, .H = H, .W = W, .K = K,
               .R = R, .S = S, .sh = sh, .sw = sw, .ph = ph, .pw = pw, .relu = relu};
  j.direct = direct_fwd_ok(C, H, W, R, S, sh, sw, ph, pw,
                           tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw));
  over_batch(&j, conv_part, ws);
}

/* y [N, K, OH, OW] = conv2d(x [N, C, H, W], w [K, C, R, S]) + b [K]. */
void tt_conv2d_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                   int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                   int64_t sw, int64_t ph, int64_t pw, float *ws) {
  conv2d(x, w, b, y, N, C, H, W, K, R, S, sh, sw, ph, pw, ws, false);
}

/* y = relu(conv2d(x, w) + b): the fuse pass's bias + ReLU epilogue, applied to each output
 * as it is stored (the same "v < 0 ? 0 : v" as relu's loop, on the same values), so the
 * pre-activation never goes to memory. Generated code declares it itself (runtime/tt.h has
 * no line for it yet). */
void tt_conv2d_relu_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                        int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                        int64_t sh, int64_t sw, int64_t ph, int64_t pw, float *ws);
void tt_conv2d_relu_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                        int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                        int64_t sh, int64_t sw, int64_t ph, int64_t pw, float *ws) {
  conv2d(x, w, b, y, N, C, H, W, K, R, S, sh, sw, ph, pw, ws, true);
}

/* dx [N, C, H, W] from dy [N, K, OH, OW]: cols = w^T @ dy_n, then col2im. */
void tt_conv2d_grad_input_f32(const float *dy, const float *w, float *dx, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                              int64_t sw, int64_t ph, int64_t pw, float *ws) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  size_t nx = count4(N, C, H, W);
  ConvJob j = {.dy = dy, .w = w, .dx = dx, .N = N, .C = C, .H = H, .W = W, .K = K,
               .R = R, .S = S, .sh = sh, .sw = sw, .ph = ph, .pw = pw};
  /* the direct kernel writes every pixel; col2im adds into zeros */
  j.direct = OH * OW > 0 && K > 0 &&
             direct_dx_ok(H, W, K, R, S, sh, sw, ph, pw,
                          tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw));
  if (nx && !j.direct)
    memset(dx, 0, nx * sizeof(float));
  if (OH * OW == 0 || nx == 0 || K <= 0)
    return;
  over_batch(&j, grad_input_part, ws);
}

/*
 * The weight gradient is a reduction over the batch and the output pixels: each weight
 * (k, c, r, s) is one dot product of length OH*OW per image, dy_n[k, :] . cols[(c,r,s), :].
 * With the few channels of small CNNs both sides of that product are tiny (8 x 9 for a
 * first layer) while the dot is long (784), a shape where a GEMM's register tiles are
 * mostly padding; so up to DOT_MAX_WEIGHTS weights the dots are computed directly, four
 * weights at a time, in 16 float lanes per dot that the compiler vectorizes, and each
 * image's dot is added to the gradient in image order. Larger layers are a GEMM per image
 * (conv bench: conv1 8x9 weights 0.58 -> 0.17 ms by dots; conv2 16x72 is faster by GEMM).
 *
 * The batch is split in two halves, each summed into its own buffer (the second half into
 * one kept here), and the halves are added at the end: always, so one thread and two give
 * the same bits. The worker takes the second half when there is one.
 */
#define DOT_LANES 16
#define DOT_MAX_WEIGHTS 256

/* dw [k0 .. k0+KB-1, c .. c+NB-1] += the dots of those rows of dyn [K, P] and cols [CRS, P]:
 * KB x NB dots at once, so each vector of dy and of cols loaded serves several (the loads
 * were the bound with one row of dy). Each dot is still its own 16 lanes summed in p order,
 * halved lane by lane, then the tail: the same sums whatever the blocking. Rows past the
 * layer (nk, nb short) repeat the block's first row and are not stored. */
static inline __attribute__((always_inline)) void dots_block(const int KB, const int NB,
                                                             const float *dyn,
                                                             const float *cols, float *dw,
                                                             int64_t CRS, int64_t P, int64_t k0,
                                                             int nk, int64_t c, int nb) {
  int64_t P16 = P / DOT_LANES * DOT_LANES;
  const float *a[2], *b[4];
  for (int i = 0; i < KB; i++)
    a[i] = dyn + (k0 + (i < nk ? i : 0)) * P;
  for (int i = 0; i < NB; i++)
    b[i] = cols + (c + (i < nb ? i : 0)) * P;
  float acc[2][4][DOT_LANES] = {{{0}}};
  for (int64_t p = 0; p < P16; p += DOT_LANES)
    for (int l = 0; l < DOT_LANES; l++)
#pragma GCC unroll 2
      for (int kk = 0; kk < KB; kk++) {
        float av = a[kk][p + l];
#pragma GCC unroll 4
        for (int i = 0; i < NB; i++)
          acc[kk][i][l] += av * b[i][p + l];
      }
  for (int kk = 0; kk < nk; kk++)
    for (int i = 0; i < nb; i++) {
      for (int w = DOT_LANES; w > 1; w /= 2)
        for (int l = 0; l < w / 2; l++)
          acc[kk][i][l] += acc[kk][i][l + w / 2];
      float s = acc[kk][i][0];
      for (int64_t p = P16; p < P; p++)
        s += a[kk][p] * b[i][p];
      dw[(k0 + kk) * CRS + c + i] += s;
    }
}

/* dw [K, CRS] += dyn [K, P] . cols [CRS, P]^T: two rows of dy by three or four of cols. */
static void add_dots(const float *dyn, const float *cols, float *dw, int64_t K, int64_t CRS,
                     int64_t P) {
  /* blocks of 3 when they divide the rows and 4 do not (a 3x3 layer's 9) */
  bool by3 = CRS % 3 == 0 && CRS % 4 != 0;
  for (int64_t k = 0; k < K; k += 2) {
    int nk = K - k < 2 ? 1 : 2;
    for (int64_t c = 0; c < CRS; c += by3 ? 3 : 4) {
      int nb = (int)(CRS - c < (by3 ? 3 : 4) ? CRS - c : (by3 ? 3 : 4));
      if (by3)
        dots_block(2, 3, dyn, cols, dw, CRS, P, k, nk, c, nb);
      else
        dots_block(2, 4, dyn, cols, dw, CRS, P, k, nk, c, nb);
    }
  }
}

static float *worker_dw;
static size_t worker_dw_len;

static void grad_weight_images(const ConvJob *j, int64_t n0, int64_t n1, float *ws, float *dw) {
  int64_t OH = out_dim(j->H, j->R, j->sh, j->ph), OW = out_dim(j->W, j->S, j->sw, j->pw);
  int64_t P = OH * OW, CRS = j->C * j->R * j->S, K = j->K;
  bool pointwise = j->R == 1 && j->S == 1 && j->sh == 1 && j->sw == 1 && j->ph == 0 &&
                   j->pw == 0;
#ifdef TT_CONV_DIRECT
  if (j->direct) {
    /* the workspace: the padded image, dy_n transposed, the gradient transposed */
    int64_t C = j->C, Hp = j->H + 2 * j->ph, Wp = j->W + 2 * j->pw, KV = (K + 15) / 16 * 16;
    float *xp = ws, *dyT = xp + C * Hp * Wp + DIRECT_SLACK, *dwT = dyT + P * KV;
    memset(dwT, 0, (size_t)(CRS * KV) * sizeof(float));
    for (int64_t n = n0; n < n1; n++) {
      pad_planes(j->x + n * C * j->H * j->W, xp, C, j->H, j->W, j->ph, j->pw);
      const float *dyn = j->dy + n * K * P;
      transpose_to_lanes(dyn, dyT, K, P, KV);
      direct_dw_image(xp, dyT, dwT, C, KV, Hp, Wp);
    }
    /* dw is zero here (each half starts from zero): the sums are moved, not added */
    for (int64_t k = 0; k < K; k++)
      for (int64_t i = 0; i < CRS; i++)
        dw[k * CRS + i] = dwT[i * KV + k];
    return;
  }
#endif
  for (int64_t n = n0; n < n1; n++) {
    const float *cols = j->x + n * j->C * j->H * j->W;
    if (!pointwise) {
      tt_im2col_f32(cols, ws, j->C, j->H, j->W, j->R, j->S, j->sh, j->sw, j->ph, j->pw);
      cols = ws;
    }
    if (K * CRS <= DOT_MAX_WEIGHTS)
      add_dots(j->dy + n * K * P, cols, dw, K, CRS, P);
    else
      tt_gemm_f32(K, CRS, P, j->dy + n * K * P, P, false, cols, P, true, dw, CRS, true);
  }
}

static void grad_weight_part(void *arg, int part) {
  const ConvJob *j = arg;
  grad_weight_images(j, part ? j->half : 0, part ? j->N : j->half, j->ws[part],
                     part ? worker_dw : j->dx);
}

/* dw [K, C, R, S] = sum over n of dy_n [K, OH*OW] . im2col(x_n)^T. */
void tt_conv2d_grad_weight_f32(const float *x, const float *dy, float *dw, int64_t N, int64_t C,
                               int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                               int64_t sw, int64_t ph, int64_t pw, float *ws) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  size_t nw = count4(K, C, R, S);
  if (nw)
    memset(dw, 0, nw * sizeof(float));
  if (OH * OW == 0 || nw == 0 || N <= 0)
    return;
  ConvJob j = {.x = x, .dy = dy, .dx = dw, .N = N, .C = C, .H = H, .W = W, .K = K,
               .R = R, .S = S, .sh = sh, .sw = sw, .ph = ph, .pw = pw, .half = N / 2};
  /* the dot products serve small layers; the direct kernel replaces the GEMM */
  j.direct = K * C * R * S > DOT_MAX_WEIGHTS &&
             direct_dw_ok(C, H, W, K, R, S, sh, sw, ph, pw,
                          tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw));
  j.ws[0] = ws;
  j.ws[1] = NULL;
  if (nw > worker_dw_len) {
    float *p = realloc(worker_dw, nw * sizeof(float));
    if (p) {
      worker_dw = p;
      worker_dw_len = nw;
    }
  }
  size_t wn = tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw);
  double flops = 2.0 * (double)N * (double)K * (double)wn;
  bool two = N >= 2 && flops >= 1e6 && tt_parallel2_available();
  if (N < 2 || nw > worker_dw_len) {
    /* one image, or no memory for the second half's sum: the whole batch in order */
    j.half = N;
    grad_weight_part(&j, 0);
    return;
  }
  memset(worker_dw, 0, nw * sizeof(float));
  if (two && (j.ws[1] = second_workspace(wn)) != NULL) {
    tt_parallel2(grad_weight_part, &j);
  } else {
    grad_weight_part(&j, 0);
    j.ws[1] = ws;
    grad_weight_part(&j, 1);
  }
  for (size_t i = 0; i < nw; i++)
    dw[i] += worker_dw[i];
}

/* ---- naive convolution ---------------------------------------------------------------- */

/*
 * The naive kernels exist in float32 and float64 with one body each: written once as a
 * macro over the element type, so the two precisions cannot drift apart.
 */
#define DEFINE_CONV_NAIVE(T, SUF)                                                             \
  /* y [N, K, OH, OW]: one dot product of length C*R*S per output, padding skipped. */       \
  void tt_conv2d_naive_##SUF(const T *x, const T *w, const T *b, T *y, int64_t N, int64_t C, \
                             int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,          \
                             int64_t sh, int64_t sw, int64_t ph, int64_t pw) {               \
    int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);                          \
    for (int64_t n = 0; n < N; n++)                                                          \
      for (int64_t k = 0; k < K; k++)                                                        \
        for (int64_t oh = 0; oh < OH; oh++)                                                  \
          for (int64_t ow = 0; ow < OW; ow++) {                                              \
            T acc = b ? b[k] : (T)0;                                                         \
            for (int64_t c = 0; c < C; c++)                                                  \
              for (int64_t r = 0; r < R; r++) {                                              \
                int64_t ih = oh * sh - ph + r;                                               \
                if (ih < 0 || ih >= H)                                                       \
                  continue;                                                                  \
                for (int64_t s = 0; s < S; s++) {                                            \
                  int64_t iw = ow * sw - pw + s;                                             \
                  if (iw < 0 || iw >= W)                                                     \
                    continue;                                                                \
                  acc += x[((n * C + c) * H + ih) * W + iw] * w[((k * C + c) * R + r) * S + s]; \
                }                                                                            \
              }                                                                              \
            y[((n * K + k) * OH + oh) * OW + ow] = acc;                                      \
          }                                                                                  \
  }                                                                                          \
                                                                                             \
  /* dx [N, C, H, W]: every output's gradient scattered back through its window. */          \
  void tt_conv2d_grad_input_naive_##SUF(const T *dy, const T *w, T *dx, int64_t N, int64_t C, \
                                        int64_t H, int64_t W, int64_t K, int64_t R,          \
                                        int64_t S, int64_t sh, int64_t sw, int64_t ph,       \
                                        int64_t pw) {                                        \
    int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);                          \
    size_t nx = count4(N, C, H, W);                                                          \
    for (size_t i = 0; i < nx; i++)                                                          \
      dx[i] = 0;                                                                             \
    for (int64_t n = 0; n < N; n++)                                                          \
      for (int64_t k = 0; k < K; k++)                                                        \
        for (int64_t oh = 0; oh < OH; oh++)                                                  \
          for (int64_t ow = 0; ow < OW; ow++) {                                              \
            T g = dy[((n * K + k) * OH + oh) * OW + ow];                                     \
            for (int64_t c = 0; c < C; c++)                                                  \
              for (int64_t r = 0; r < R; r++) {                                              \
                int64_t ih = oh * sh - ph + r;                                               \
                if (ih < 0 || ih >= H)                                                       \
                  continue;                                                                  \
                for (int64_t s = 0; s < S; s++) {                                            \
                  int64_t iw = ow * sw - pw + s;                                             \
                  if (iw < 0 || iw >= W)                                                     \
                    continue;                                                                \
                  dx[((n * C + c) * H + ih) * W + iw] += g * w[((k * C + c) * R + r) * S + s]; \
                }                                                                            \
              }                                                                              \
          }                                                                                  \
  }                                                                                          \
                                                                                             \
  /* dw [K, C, R, S]: input times output gradient, summed over the batch and the pixels. */  \
  void tt_conv2d_grad_weight_naive_##SUF(const T *x, const T *dy, T *dw, int64_t N,          \
                                         int64_t C, int64_t H, int64_t W, int64_t K,         \
                                         int64_t R, int64_t S, int64_t sh, int64_t sw,       \
                                         int64_t ph, int64_t pw) {                           \
    int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);                          \
    size_t nw = count4(K, C, R, S);                                                          \
    for (size_t i = 0; i < nw; i++)                                                          \
      dw[i] = 0;                                                                             \
    for (int64_t n = 0; n < N; n++)                                                          \
      for (int64_t k = 0; k < K; k++)                                                        \
        for (int64_t oh = 0; oh < OH; oh++)                                                  \
          for (int64_t ow = 0; ow < OW; ow++) {                                              \
            T g = dy[((n * K + k) * OH + oh) * OW + ow];                                     \
            for (int64_t c = 0; c < C; c++)                                                  \
              for (int64_t r = 0; r < R; r++) {                                              \
                int64_t ih = oh * sh - ph + r;                                               \
                if (ih < 0 || ih >= H)                                                       \
                  continue;                                                                  \
                for (int64_t s = 0; s < S; s++) {                                            \
                  int64_t iw = ow * sw - pw + s;                                             \
                  if (iw < 0 || iw >= W)                                                     \
                    continue;                                                                \
                  dw[((k * C + c) * R + r) * S + s] += g * x[((n * C + c) * H + ih) * W + iw]; \
                }                                                                            \
              }                                                                              \
          }                                                                                  \
  }

DEFINE_CONV_NAIVE(float, f32)
DEFINE_CONV_NAIVE(double, f64)

/* ---- pooling -------------------------------------------------------------------------- */

/*
 * Max pooling follows ATen's CPU kernel: the running maximum starts at -inf with the index
 * of the window's first in-bounds pixel, and a value replaces it when it is greater or NaN.
 * So ties go to the first maximum, a NaN wins (the last NaN of the window, as in ATen), and
 * a window of -infs sends its gradient to its first pixel. The backward pass recomputes
 * that choice from x instead of storing indices, and adds, since windows may overlap.
 * Average pooling divides by kh*kw (count_include_pad=True; with ceil_mode=False no window
 * reaches past the padding, so that is also PyTorch's divisor).
 */
/* Planes [p0, p1) of a pooling kernel; run_planes splits big ones over two threads (each
 * plane is computed exactly as on one thread, so the bits do not change). */
typedef struct PlaneJob PlaneJob;
struct PlaneJob {
  void (*body)(const PlaneJob *, size_t p0, size_t p1);
  const void *x, *dy;
  void *y;
  int64_t H, W, OH, OW;
  size_t planes;
  bool relu; /* the gradient is kept only where x > 0 (tt_maxpool2d_grad_relu_f32) */
};

static void plane_part(void *arg, int part) {
  const PlaneJob *j = arg;
  size_t half = j->planes / 2;
  if (part)
    j->body(j, half, j->planes);
  else
    j->body(j, 0, half);
}

static void run_planes(PlaneJob *j) {
  /* below about 32K pixels the hand-off costs more than the second core gives */
  if (j->planes >= 2 && (double)j->planes * (double)j->H * (double)j->W >= 32768 &&
      tt_parallel2_available())
    tt_parallel2(plane_part, j);
  else
    j->body(j, 0, j->planes);
}

/*
 * The 2x2 pooling rows with AVX-512: 16 windows at a time, the even and odd columns of the
 * two input rows pulled apart by permutes (a window row of the CNNs' 14 or 7 windows is
 * too short for gcc's vector loop, and scalar code spent a dozen instructions a window).
 * The same operations, lane by lane, as the scalar loops below: vmaxps(v, m) is
 * "v > m ? v : m", the compares are ordered, a gradient not taken is +0, and the NaN test
 * is the same sum; a row with a NaN is then redone by the exact rule as before. They
 * return how many windows they did (all of them; the float64 twins do none).
 */
#ifdef TT_CONV_DIRECT
typedef struct Quad {
  __m512 a, b, c, d; /* each window's top-left, top-right, bottom-left, bottom-right */
  __mmask16 lo, hi;  /* the lanes of the two input vectors of one row */
} Quad;

static const int32_t even_odd[2][16] = {
    {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30},
    {1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}};
static const int32_t interleave[2][16] = {
    {0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23},
    {8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31}};

static inline Quad quad_load(const float *r0, const float *r1, int64_t n) {
  Quad q;
  int64_t n2 = 2 * n;
  q.lo = n2 >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n2) - 1);
  q.hi = n2 >= 32 ? (__mmask16)0xFFFF : n2 > 16 ? (__mmask16)((1u << (n2 - 16)) - 1) : 0;
  __m512i ev = _mm512_loadu_si512(even_odd[0]), od = _mm512_loadu_si512(even_odd[1]);
  __m512 x0 = _mm512_maskz_loadu_ps(q.lo, r0), x1 = _mm512_maskz_loadu_ps(q.hi, r0 + 16);
  q.a = _mm512_permutex2var_ps(x0, ev, x1);
  q.b = _mm512_permutex2var_ps(x0, od, x1);
  x0 = _mm512_maskz_loadu_ps(q.lo, r1), x1 = _mm512_maskz_loadu_ps(q.hi, r1 + 16);
  q.c = _mm512_permutex2var_ps(x0, ev, x1);
  q.d = _mm512_permutex2var_ps(x0, od, x1);
  return q;
}

static inline __m512 quad_max(const Quad *q) {
  __m512 m = _mm512_max_ps(q->b, q->a);
  m = _mm512_max_ps(q->c, m);
  return _mm512_max_ps(q->d, m);
}

static inline __mmask16 quad_nan(const Quad *q) {
  __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(q->a, q->b), q->c), q->d);
  return _mm512_cmp_ps_mask(s, s, _CMP_UNORD_Q);
}

static inline __mmask16 lanes(int64_t n) {
  return n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
}

static inline int64_t pool_row_f32(const float *r0, const float *r1, float *yr, int64_t OW,
                                   int *nan) {
  __mmask16 bad = 0;
  for (int64_t ow = 0; ow < OW; ow += 16) {
    Quad q = quad_load(r0 + 2 * ow, r1 + 2 * ow, OW - ow);
    _mm512_mask_storeu_ps(yr + ow, lanes(OW - ow), quad_max(&q));
    bad |= quad_nan(&q);
  }
  *nan |= bad != 0;
  return OW;
}

static inline int64_t pool_grad_row_f32(const float *r0, const float *r1, const float *g,
                                        float *d0, float *d1, int64_t OW, int *nan) {
  __mmask16 bad = 0;
  __m512i il = _mm512_loadu_si512(interleave[0]), ih = _mm512_loadu_si512(interleave[1]);
  for (int64_t ow = 0; ow < OW; ow += 16) {
    Quad q = quad_load(r0 + 2 * ow, r1 + 2 * ow, OW - ow);
    __m512 m = quad_max(&q), gv = _mm512_maskz_loadu_ps(lanes(OW - ow), g + ow);
    __mmask16 ea = _mm512_cmp_ps_mask(q.a, m, _CMP_EQ_OQ);
    __mmask16 eb = _mm512_cmp_ps_mask(q.b, m, _CMP_EQ_OQ);
    __mmask16 ec = _mm512_cmp_ps_mask(q.c, m, _CMP_EQ_OQ);
    __mmask16 na = (__mmask16)~ea, nab = (__mmask16)(na & ~eb);
    __m512 ga = _mm512_maskz_mov_ps(ea, gv), gb = _mm512_maskz_mov_ps(na & eb, gv);
    __m512 gc = _mm512_maskz_mov_ps(nab & ec, gv);
    __m512 gd = _mm512_maskz_mov_ps((__mmask16)(nab & ~ec), gv);
    _mm512_mask_storeu_ps(d0 + 2 * ow, q.lo, _mm512_permutex2var_ps(ga, il, gb));
    _mm512_mask_storeu_ps(d0 + 2 * ow + 16, q.hi, _mm512_permutex2var_ps(ga, ih, gb));
    _mm512_mask_storeu_ps(d1 + 2 * ow, q.lo, _mm512_permutex2var_ps(gc, il, gd));
    _mm512_mask_storeu_ps(d1 + 2 * ow + 16, q.hi, _mm512_permutex2var_ps(gc, ih, gd));
    bad |= quad_nan(&q);
  }
  *nan |= bad != 0;
  return OW;
}
#else
static inline int64_t pool_row_f32(const float *r0, const float *r1, float *yr, int64_t OW,
                                   int *nan) {
  (void)r0, (void)r1, (void)yr, (void)OW, (void)nan;
  return 0;
}

static inline int64_t pool_grad_row_f32(const float *r0, const float *r1, const float *g,
                                        float *d0, float *d1, int64_t OW, int *nan) {
  (void)r0, (void)r1, (void)g, (void)d0, (void)d1, (void)OW, (void)nan;
  return 0;
}
#endif

static inline int64_t pool_row_f64(const double *r0, const double *r1, double *yr, int64_t OW,
                                   int *nan) {
  (void)r0, (void)r1, (void)yr, (void)OW, (void)nan;
  return 0;
}

static inline int64_t pool_grad_row_f64(const double *r0, const double *r1, const double *g,
                                        double *d0, double *d1, int64_t OW, int *nan) {
  (void)r0, (void)r1, (void)g, (void)d0, (void)d1, (void)OW, (void)nan;
  return 0;
}

#define DEFINE_POOL(T, U, SUF, ISNAN)                                                           \
  /* The flat index in the [H, W] plane of window (oh, ow)'s maximum. */                     \
  static int64_t argmax_##SUF(const T *xp, int64_t H, int64_t W, int64_t oh, int64_t ow,    \
                              int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,    \
                              int64_t pw, T *maxv) {                                         \
    int64_t h0 = oh * sh - ph, w0 = ow * sw - pw;                                            \
    int64_t h1 = h0 + kh < H ? h0 + kh : H, w1 = w0 + kw < W ? w0 + kw : W;                  \
    h0 = h0 > 0 ? h0 : 0;                                                                    \
    w0 = w0 > 0 ? w0 : 0;                                                                    \
    T best = (T)-INFINITY;                                                                   \
    if (h0 >= h1 || w0 >= w1) { /* all padding: only when pad > kernel / 2, bad input */     \
      *maxv = best;                                                                          \
      return -1;                                                                             \
    }                                                                                        \
    int64_t at = h0 * W + w0;                                                                \
    for (int64_t ih = h0; ih < h1; ih++)                                                     \
      for (int64_t iw = w0; iw < w1; iw++) {                                                 \
        T v = xp[ih * W + iw];                                                               \
        if (v > best || ISNAN(v)) {                                                          \
          best = v;                                                                          \
          at = ih * W + iw;                                                                  \
        }                                                                                    \
      }                                                                                      \
    *maxv = best;                                                                            \
    return at;                                                                               \
  }                                                                                          \
                                                                                             \
  /* The 2x2 stride-2 pooling of the CNNs, planes [p0, p1): the same choice as argmax above  \
     without its bounds work, in loops the compiler vectorizes. The NaN rule is taken out    \
     of the running maximum: "v > m ? v : m" alone is a vector max, while the combined       \
     "v > m || v != v" made gcc branch on every compare, half of them mispredicted on real   \
     activations. Each row notes whether a window held a NaN (or infs of both signs: a sum   \
     is the cheap test) and such a row is redone by the exact rule, window_nan. */           \
  static T window_nan_##SUF(T a, T b, T c, T d, int *at) {                                   \
    T m = a, v[3] = {b, c, d};                                                               \
    *at = 0;                                                                                 \
    for (int k = 0; k < 3; k++)                                                              \
      if (v[k] > m || ISNAN(v[k])) {                                                         \
        m = v[k];                                                                            \
        *at = k + 1;                                                                         \
      }                                                                                      \
    return m;                                                                                \
  }                                                                                          \
                                                                                             \
  static void maxpool2x2_##SUF(const PlaneJob *j, size_t p0, size_t p1) {                    \
    const T *x = j->x;                                                                       \
    T *y = j->y;                                                                             \
    int64_t H = j->H, W = j->W, OH = j->OH, OW = j->OW;                                      \
    for (size_t p = p0; p < p1; p++)                                                         \
      for (int64_t oh = 0; oh < OH; oh++) {                                                  \
        const T *r0 = x + ((int64_t)p * H + 2 * oh) * W, *r1 = r0 + W;                       \
        T *yr = y + ((int64_t)p * OH + oh) * OW;                                             \
        int nan = 0;                                                                         \
        for (int64_t ow = pool_row_##SUF(r0, r1, yr, OW, &nan); ow < OW; ow++) {             \
          T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1], m = a;   \
          m = b > m ? b : m;                                                                 \
          m = c > m ? c : m;                                                                 \
          m = d > m ? d : m;                                                                 \
          yr[ow] = m;                                                                        \
          nan |= ISNAN(a + b + c + d);                                                       \
        }                                                                                    \
        if (nan) {                                                                           \
          int at;                                                                            \
          for (int64_t ow = 0; ow < OW; ow++)                                                \
            yr[ow] = window_nan_##SUF(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], &at);\
        }                                                                                    \
      }                                                                                      \
  }                                                                                          \
                                                                                             \
  /* Its gradient: 2x2 windows do not overlap, so each dy goes to its window's first         \
     maximum, the first pixel equal to the maximum, and the other three pixels get 0. An     \
     odd last row or column is in no window and is zeroed first; otherwise every dx is       \
     written once. */                                                                        \
  /* v if c else +0, as bits: a float select on a compare here became a branch per pixel     \
     in gcc's scalar code (the rows are too short for its vector loop to run). */            \
  static inline T keep_##SUF(T v, int c) {                                                   \
    U u;                                                                                     \
    memcpy(&u, &v, sizeof u);                                                                \
    u &= -(U)c;                                                                              \
    memcpy(&v, &u, sizeof v);                                                                \
    return v;                                                                                \
  }                                                                                          \
                                                                                             \
  static void maxpool2x2_grad_##SUF(const PlaneJob *j, size_t p0, size_t p1) {               \
    const T *x = j->x, *dy = j->dy;                                                          \
    T *dx = j->y;                                                                            \
    int64_t H = j->H, W = j->W, OH = j->OH, OW = j->OW;                                      \
    for (size_t p = p0; p < p1; p++) {                                                       \
      if (H != 2 * OH || W != 2 * OW)                                                        \
        for (int64_t i = 0; i < H * W; i++)                                                  \
          dx[(int64_t)p * H * W + i] = 0;                                                    \
      for (int64_t oh = 0; oh < OH; oh++) {                                                  \
        const T *r0 = x + ((int64_t)p * H + 2 * oh) * W, *r1 = r0 + W;                       \
        T *d0 = dx + ((int64_t)p * H + 2 * oh) * W, *d1 = d0 + W;                            \
        const T *g = dy + ((int64_t)p * OH + oh) * OW;                                       \
        int nan = 0;                                                                         \
        for (int64_t ow = pool_grad_row_##SUF(r0, r1, g, d0, d1, OW, &nan); ow < OW; ow++) { \
          T a = r0[2 * ow], b = r0[2 * ow + 1], c = r1[2 * ow], d = r1[2 * ow + 1], m = a;   \
          m = b > m ? b : m;                                                                 \
          m = c > m ? c : m;                                                                 \
          m = d > m ? d : m;                                                                 \
          int ea = a == m, eb = b == m, ec = c == m;                                         \
          T gv = g[ow];                                                                      \
          d0[2 * ow] = keep_##SUF(gv, ea);                                                   \
          d0[2 * ow + 1] = keep_##SUF(gv, (!ea) & eb);                                         \
          d1[2 * ow] = keep_##SUF(gv, (!ea) & (!eb) & ec);                                       \
          d1[2 * ow + 1] = keep_##SUF(gv, (!ea) & (!eb) & (!ec));                                  \
          nan |= ISNAN(a + b + c + d);                                                       \
        }                                                                                    \
        if (nan)                                                                             \
          for (int64_t ow = 0; ow < OW; ow++) {                                              \
            int at;                                                                          \
            window_nan_##SUF(r0[2 * ow], r0[2 * ow + 1], r1[2 * ow], r1[2 * ow + 1], &at);   \
            d0[2 * ow] = at == 0 ? g[ow] : 0;                                                \
            d0[2 * ow + 1] = at == 1 ? g[ow] : 0;                                            \
            d1[2 * ow] = at == 2 ? g[ow] : 0;                                                \
            d1[2 * ow + 1] = at == 3 ? g[ow] : 0;                                            \
          }                                                                                  \
        if (j->relu)                                                                         \
          for (int64_t i = 0; i < 2 * OW; i++) {                                             \
            d0[i] = r0[i] > 0 ? d0[i] : 0;                                                   \
            d1[i] = r1[i] > 0 ? d1[i] : 0;                                                   \
          }                                                                                  \
      }                                                                                      \
    }                                                                                        \
  }                                                                                          \
                                                                                             \
  /* y [N, C, OH, OW] = the maximum of each window of x [N, C, H, W]. */                     \
  void tt_maxpool2d_##SUF(const T *x, T *y, int64_t N, int64_t C, int64_t H, int64_t W,      \
                          int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,        \
                          int64_t pw) {                                                      \
    int64_t OH = out_dim(H, kh, sh, ph), OW = out_dim(W, kw, sw, pw);                        \
    size_t planes = count4(N, C, 1, 1);                                                      \
    if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && OH > 0 && OW > 0) {\
      PlaneJob j = {maxpool2x2_##SUF, x, NULL, y, H, W, OH, OW, planes, false};              \
      run_planes(&j);                                                                        \
      return;                                                                                \
    }                                                                                        \
    for (size_t p = 0; p < planes; p++)                                                      \
      for (int64_t oh = 0; oh < OH; oh++)                                                    \
        for (int64_t ow = 0; ow < OW; ow++)                                                  \
          argmax_##SUF(x + (int64_t)p * H * W, H, W, oh, ow, kh, kw, sh, sw, ph, pw,         \
                       &y[((int64_t)p * OH + oh) * OW + ow]);                                \
  }                                                                                          \
                                                                                             \
  /* dx [N, C, H, W] (overwritten): each dy goes to its window's maximum. */                 \
  void tt_maxpool2d_grad_##SUF(const T *x, const T *dy, T *dx, int64_t N, int64_t C,         \
                               int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh,     \
                               int64_t sw, int64_t ph, int64_t pw) {                         \
    int64_t OH = out_dim(H, kh, sh, ph), OW = out_dim(W, kw, sw, pw);                        \
    size_t planes = count4(N, C, 1, 1), nx = count4(N, C, H, W);                             \
    if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && OH > 0 && OW > 0) {\
      PlaneJob j = {maxpool2x2_grad_##SUF, x, dy, dx, H, W, OH, OW, planes, false};          \
      run_planes(&j);                                                                        \
      return;                                                                                \
    }                                                                                        \
    for (size_t i = 0; i < nx; i++)                                                          \
      dx[i] = 0;                                                                             \
    for (size_t p = 0; p < planes; p++)                                                      \
      for (int64_t oh = 0; oh < OH; oh++)                                                    \
        for (int64_t ow = 0; ow < OW; ow++) {                                                \
          T m;                                                                               \
          int64_t at =                                                                       \
              argmax_##SUF(x + (int64_t)p * H * W, H, W, oh, ow, kh, kw, sh, sw, ph, pw, &m);\
          if (at >= 0)                                                                       \
            dx[(int64_t)p * H * W + at] += dy[((int64_t)p * OH + oh) * OW + ow];             \
        }                                                                                    \
  }                                                                                          \
                                                                                             \
  /* y [N, C, OH, OW] = the sum of each window of x (padding counts as 0) / (kh*kw). */      \
  void tt_avgpool2d_##SUF(const T *x, T *y, int64_t N, int64_t C, int64_t H, int64_t W,      \
                          int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,        \
                          int64_t pw) {                                                      \
    int64_t OH = out_dim(H, kh, sh, ph), OW = out_dim(W, kw, sw, pw);                        \
    size_t planes = count4(N, C, 1, 1);                                                      \
    for (size_t p = 0; p < planes; p++) {                                                    \
      const T *xp = x + (int64_t)p * H * W;                                                  \
      for (int64_t oh = 0; oh < OH; oh++)                                                    \
        for (int64_t ow = 0; ow < OW; ow++) {                                                \
          int64_t h0 = oh * sh - ph, w0 = ow * sw - pw;                                      \
          int64_t h1 = h0 + kh < H ? h0 + kh : H, w1 = w0 + kw < W ? w0 + kw : W;            \
          T acc = 0;                                                                         \
          for (int64_t ih = h0 > 0 ? h0 : 0; ih < h1; ih++)                                  \
            for (int64_t iw = w0 > 0 ? w0 : 0; iw < w1; iw++)                                \
              acc += xp[ih * W + iw];                                                        \
          y[((int64_t)p * OH + oh) * OW + ow] = acc / (T)(kh * kw);                          \
        }                                                                                    \
    }                                                                                        \
  }                                                                                          \
                                                                                             \
  /* dx [N, C, H, W] (overwritten): each dy / (kh*kw) spread over its window. */             \
  void tt_avgpool2d_grad_##SUF(const T *dy, T *dx, int64_t N, int64_t C, int64_t H,          \
                               int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw,    \
                               int64_t ph, int64_t pw) {                                     \
    int64_t OH = out_dim(H, kh, sh, ph), OW = out_dim(W, kw, sw, pw);                        \
    size_t planes = count4(N, C, 1, 1), nx = count4(N, C, H, W);                             \
    for (size_t i = 0; i < nx; i++)                                                          \
      dx[i] = 0;                                                                             \
    for (size_t p = 0; p < planes; p++) {                                                    \
      T *dxp = dx + (int64_t)p * H * W;                                                      \
      for (int64_t oh = 0; oh < OH; oh++)                                                    \
        for (int64_t ow = 0; ow < OW; ow++) {                                                \
          int64_t h0 = oh * sh - ph, w0 = ow * sw - pw;                                      \
          int64_t h1 = h0 + kh < H ? h0 + kh : H, w1 = w0 + kw < W ? w0 + kw : W;            \
          T g = dy[((int64_t)p * OH + oh) * OW + ow] / (T)(kh * kw);                         \
          for (int64_t ih = h0 > 0 ? h0 : 0; ih < h1; ih++)                                  \
            for (int64_t iw = w0 > 0 ? w0 : 0; iw < w1; iw++)                                \
              dxp[ih * W + iw] += g;                                                         \
        }                                                                                    \
    }                                                                                        \
  }

DEFINE_POOL(float, uint32_t, f32, isnan)
DEFINE_POOL(double, uint64_t, f64, isnan)

/*
 * dx = where(x > 0, max_pool2d_grad(x, dy), 0): the pooling gradient of a ReLU's output
 * with the ReLU's own gradient applied (the fuse pass's pool-ReLU rule; x is the ReLU's
 * output, so x > 0 is its mask). The same values as the two kernels one after the other,
 * +0 where x <= 0 or x is NaN, in one pass over dx instead of two. Generated code declares
 * it itself (runtime/tt.h has no line for it yet).
 */
void tt_maxpool2d_grad_relu_f32(const float *x, const float *dy, float *dx, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_maxpool2d_grad_relu_f32(const float *x, const float *dy, float *dx, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  int64_t OH = out_dim(H, kh, sh, ph), OW = out_dim(W, kw, sw, pw);
  size_t planes = count4(N, C, 1, 1), nx = count4(N, C, H, W);
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && OH > 0 && OW > 0) {
    PlaneJob j = {maxpool2x2_grad_f32, x, dy, dx, H, W, OH, OW, planes, true};
    run_planes(&j);
    return;
  }
  tt_maxpool2d_grad_f32(x, dy, dx, N, C, H, W, kh, kw, sh, sw, ph, pw);
  for (size_t i = 0; i < nx; i++)
    dx[i] = x[i] > 0 ? dx[i] : 0;
}
