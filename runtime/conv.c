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
  if (*i1 < *i0)
    *i1 = *i0;
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
} ConvJob;

static void conv_images(const ConvJob *j, int64_t n0, int64_t n1, float *ws) {
  int64_t OH = out_dim(j->H, j->R, j->sh, j->ph), OW = out_dim(j->W, j->S, j->sw, j->pw);
  int64_t P = OH * OW, CRS = j->C * j->R * j->S, K = j->K;
  /* A 1x1 stride-1 unpadded convolution's cols are the image itself: skip the copy. */
  bool pointwise = j->R == 1 && j->S == 1 && j->sh == 1 && j->sw == 1 && j->ph == 0 &&
                   j->pw == 0;
  for (int64_t n = n0; n < n1; n++) {
    const float *cols = j->x + n * j->C * j->H * j->W;
    if (!pointwise) {
      tt_im2col_f32(cols, ws, j->C, j->H, j->W, j->R, j->S, j->sh, j->sw, j->ph, j->pw);
      cols = ws;
    }
    float *yn = j->y + n * K * P;
    /* The bias goes in first so that the GEMM accumulates onto it: no second pass. */
    if (j->b)
      for (int64_t k = 0; k < K; k++)
        for (int64_t p = 0; p < P; p++)
          yn[k * P + p] = j->b[k];
    tt_gemm_f32(K, P, CRS, j->w, CRS, false, cols, P, false, yn, P, j->b != NULL);
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

/* y [N, K, OH, OW] = conv2d(x [N, C, H, W], w [K, C, R, S]) + b [K]. */
void tt_conv2d_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                   int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                   int64_t sw, int64_t ph, int64_t pw, float *ws) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  if (OH * OW == 0 || N <= 0 || K <= 0 || C <= 0)
    return;
  ConvJob j = {.x = x, .w = w, .b = b, .y = y, .N = N, .C = C, .H = H, .W = W, .K = K,
               .R = R, .S = S, .sh = sh, .sw = sw, .ph = ph, .pw = pw};
  over_batch(&j, conv_part, ws);
}

/* dx [N, C, H, W] from dy [N, K, OH, OW]: cols = w^T @ dy_n, then col2im. */
void tt_conv2d_grad_input_f32(const float *dy, const float *w, float *dx, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                              int64_t sw, int64_t ph, int64_t pw, float *ws) {
  int64_t OH = out_dim(H, R, sh, ph), OW = out_dim(W, S, sw, pw);
  size_t nx = count4(N, C, H, W);
  if (nx)
    memset(dx, 0, nx * sizeof(float));
  if (OH * OW == 0 || nx == 0 || K <= 0)
    return;
  ConvJob j = {.dy = dy, .w = w, .dx = dx, .N = N, .C = C, .H = H, .W = W, .K = K,
               .R = R, .S = S, .sh = sh, .sw = sw, .ph = ph, .pw = pw};
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

/* dw [K, CRS] += dyn [K, P] . cols [CRS, P]^T */
static void add_dots(const float *dyn, const float *cols, float *dw, int64_t K, int64_t CRS,
                     int64_t P) {
  int64_t P16 = P / DOT_LANES * DOT_LANES;
  for (int64_t k = 0; k < K; k++) {
    const float *a = dyn + k * P;
    for (int64_t c = 0; c < CRS; c += 4) {
      int nb = CRS - c < 4 ? (int)(CRS - c) : 4;
      const float *b[4];
      for (int i = 0; i < 4; i++)
        b[i] = cols + (c + (i < nb ? i : 0)) * P; /* a short block repeats its first row */
      float acc[4][DOT_LANES] = {{0}};
      for (int64_t p = 0; p < P16; p += DOT_LANES)
        for (int l = 0; l < DOT_LANES; l++) {
          float av = a[p + l];
          acc[0][l] += av * b[0][p + l];
          acc[1][l] += av * b[1][p + l];
          acc[2][l] += av * b[2][p + l];
          acc[3][l] += av * b[3][p + l];
        }
      for (int i = 0; i < nb; i++) {
        for (int w = DOT_LANES; w > 1; w /= 2)
          for (int l = 0; l < w / 2; l++)
            acc[i][l] += acc[i][l + w / 2];
        float s = acc[i][0];
        for (int64_t p = P16; p < P; p++)
          s += a[p] * b[i][p];
        dw[k * CRS + c + i] += s;
      }
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
        for (int64_t ow = 0; ow < OW; ow++) {                                                \
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
        for (int64_t ow = 0; ow < OW; ow++) {                                                \
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
      PlaneJob j = {maxpool2x2_##SUF, x, NULL, y, H, W, OH, OW, planes};                     \
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
      PlaneJob j = {maxpool2x2_grad_##SUF, x, dy, dx, H, W, OH, OW, planes};                 \
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
