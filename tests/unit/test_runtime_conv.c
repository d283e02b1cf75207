/*
 * test_runtime_conv.c — the convolution and pooling kernels of runtime/conv.c.
 *
 * Three kinds of evidence: PyTorch's own numbers (conv_ref.h, from tests/conv_ref.py) for
 * the naive and im2col convolutions and for pooling, NaN, -inf and ties included; the fast
 * im2col kernels against their naive twins over a few hundred random shapes (strides 1-3,
 * padding 0-2, non-square kernels, 1..5 channels, batches 1..3), with guard values after
 * every output and after the workspace; and the adjoint identity <im2col(x), g> =
 * <x, col2im(g)>, which pins col2im down independently of any convolution. Bad sizes must
 * not write out of bounds.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/tt.h"
#include "conv_ref.h"

#define GUARD 4242.0f
#define NGUARD 8 /* guard floats after every buffer */

static uint64_t lcg_state = 0x9e3779b97f4a7c15ull;

static uint64_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return lcg_state >> 33;
}

static int64_t irand(int64_t lo, int64_t hi) {
  return lo + (int64_t)(lcg() % (uint64_t)(hi - lo + 1));
}

static float frand(void) { return (float)((double)(lcg() % 20001) / 10000.0 - 1.0); }

/* A float buffer of n values plus guards; values random when fill. */
static float *fbuf(size_t n, bool fill) {
  float *p = tt_alloc((n + NGUARD) * sizeof(float));
  for (size_t i = 0; i < n; i++)
    p[i] = fill ? frand() : GUARD;
  for (size_t i = n; i < n + NGUARD; i++)
    p[i] = GUARD;
  return p;
}

static bool guards_ok(const float *p, size_t n) {
  for (size_t i = n; i < n + NGUARD; i++)
    if (p[i] != GUARD)
      return false;
  return true;
}

static double *to_f64(const float *p, size_t n) {
  double *d = tt_alloc((n ? n : 1) * sizeof(double));
  for (size_t i = 0; i < n; i++)
    d[i] = p[i];
  return d;
}

/* |a - b| within atol + rtol*|b|, NaN equal to NaN, infinities equal when equal. */
static bool close(double a, double b, double atol, double rtol) {
  if (isnan(a) || isnan(b))
    return isnan(a) && isnan(b);
  if (isinf(a) || isinf(b))
    return a == b;
  return fabs(a - b) <= atol + rtol * fabs(b);
}

static int64_t odim(int64_t in, int64_t k, int64_t s, int64_t p) {
  return (in + 2 * p - k) / s + 1;
}

/* Compares n floats with a double reference; prints the first difference. */
static bool same_f32(const char *what, const float *got, const double *want, size_t n,
                     double tol) {
  for (size_t i = 0; i < n; i++)
    if (!close(got[i], want[i], tol, tol)) {
      print_error("%s[%zu]: got %.9g, want %.9g\n", what, i, (double)got[i], want[i]);
      return false;
    }
  return true;
}

static bool same_f64(const char *what, const double *got, const double *want, size_t n,
                     double tol) {
  for (size_t i = 0; i < n; i++)
    if (!close(got[i], want[i], tol, tol)) {
      print_error("%s[%zu]: got %.17g, want %.17g\n", what, i, got[i], want[i]);
      return false;
    }
  return true;
}

/* ---- against PyTorch ------------------------------------------------------------------- */

static void test_conv_vs_pytorch(void **state) {
  (void)state;
  for (size_t ci = 0; ci < sizeof ref_conv_cases / sizeof ref_conv_cases[0]; ci++) {
    const RefConvCase *t = &ref_conv_cases[ci];
    int64_t OH = odim(t->H, t->R, t->sh, t->ph), OW = odim(t->W, t->S, t->sw, t->pw);
    size_t nx = (size_t)(t->N * t->C * t->H * t->W), nw = (size_t)(t->K * t->C * t->R * t->S);
    size_t ny = (size_t)(t->N * t->K * OH * OW);
    size_t nws = tt_conv2d_workspace(t->C, t->H, t->W, t->R, t->S, t->sh, t->sw, t->ph, t->pw);
    assert_int_equal(nws, (size_t)(t->C * t->R * t->S * OH * OW));
    float *x = fbuf(nx, false), *w = fbuf(nw, false), *b = fbuf((size_t)t->K, false);
    float *dy = fbuf(ny, false), *y = fbuf(ny, false), *dx = fbuf(nx, false);
    float *dw = fbuf(nw, false), *ws = fbuf(nws, false);
    for (size_t i = 0; i < nx; i++)
      x[i] = (float)t->x[i];
    for (size_t i = 0; i < nw; i++)
      w[i] = (float)t->w[i];
    for (int64_t i = 0; t->b && i < t->K; i++)
      b[i] = (float)t->b[i];
    for (size_t i = 0; i < ny; i++)
      dy[i] = (float)t->dy[i];
    const float *bp = t->b ? b : NULL;
#define SIZES t->N, t->C, t->H, t->W, t->K, t->R, t->S, t->sh, t->sw, t->ph, t->pw
    /* the im2col kernels */
    tt_conv2d_f32(x, w, bp, y, SIZES, ws);
    assert_true(same_f32("y", y, t->y, ny, 1e-5));
    tt_conv2d_grad_input_f32(dy, w, dx, SIZES, ws);
    assert_true(same_f32("dx", dx, t->dx, nx, 1e-5));
    tt_conv2d_grad_weight_f32(x, dy, dw, SIZES, ws);
    assert_true(same_f32("dw", dw, t->dw, nw, 1e-5));
    assert_true(guards_ok(y, ny) && guards_ok(dx, nx) && guards_ok(dw, nw));
    assert_true(guards_ok(ws, nws));
    /* the naive float32 kernels */
    tt_conv2d_naive_f32(x, w, bp, y, SIZES);
    assert_true(same_f32("naive y", y, t->y, ny, 1e-5));
    tt_conv2d_grad_input_naive_f32(dy, w, dx, SIZES);
    assert_true(same_f32("naive dx", dx, t->dx, nx, 1e-5));
    tt_conv2d_grad_weight_naive_f32(x, dy, dw, SIZES);
    assert_true(same_f32("naive dw", dw, t->dw, nw, 1e-5));
    assert_true(guards_ok(y, ny) && guards_ok(dx, nx) && guards_ok(dw, nw));
    /* the naive float64 kernels: the inputs are exact, so only summation order differs */
    double *y64 = tt_alloc(ny * sizeof(double)), *dx64 = tt_alloc(nx * sizeof(double));
    double *dw64 = tt_alloc(nw * sizeof(double));
    tt_conv2d_naive_f64(t->x, t->w, t->b, y64, SIZES);
    assert_true(same_f64("f64 y", y64, t->y, ny, 1e-12));
    tt_conv2d_grad_input_naive_f64(t->dy, t->w, dx64, SIZES);
    assert_true(same_f64("f64 dx", dx64, t->dx, nx, 1e-12));
    tt_conv2d_grad_weight_naive_f64(t->x, t->dy, dw64, SIZES);
    assert_true(same_f64("f64 dw", dw64, t->dw, nw, 1e-12));
#undef SIZES
    tt_free(y64), tt_free(dx64), tt_free(dw64);
    tt_free(x), tt_free(w), tt_free(b), tt_free(dy), tt_free(y), tt_free(dx), tt_free(dw);
    tt_free(ws);
  }
}

static void test_pool_vs_pytorch(void **state) {
  (void)state;
  for (size_t ci = 0; ci < sizeof ref_pool_cases / sizeof ref_pool_cases[0]; ci++) {
    const RefPoolCase *t = &ref_pool_cases[ci];
    int64_t OH = odim(t->H, t->kh, t->sh, t->ph), OW = odim(t->W, t->kw, t->sw, t->pw);
    size_t nx = (size_t)(t->N * t->C * t->H * t->W), ny = (size_t)(t->N * t->C * OH * OW);
    float *x = fbuf(nx, false), *dy = fbuf(ny, false), *y = fbuf(ny, false);
    float *dx = fbuf(nx, false);
    double *y64 = tt_alloc(ny * sizeof(double)), *dx64 = tt_alloc(nx * sizeof(double));
    for (size_t i = 0; i < nx; i++)
      x[i] = (float)t->x[i];
    for (size_t i = 0; i < ny; i++)
      dy[i] = (float)t->dy[i];
#define SIZES t->N, t->C, t->H, t->W, t->kh, t->kw, t->sh, t->sw, t->ph, t->pw
    if (t->max) {
      /* a maximum is exact; its gradient is a sum of a few float32 values */
      tt_maxpool2d_f32(x, y, SIZES);
      assert_true(same_f32("max y", y, t->y, ny, 0));
      tt_maxpool2d_grad_f32(x, dy, dx, SIZES);
      assert_true(same_f32("max dx", dx, t->dx, nx, 1e-6));
      tt_maxpool2d_f64(t->x, y64, SIZES);
      assert_true(same_f64("max y f64", y64, t->y, ny, 0));
      tt_maxpool2d_grad_f64(t->x, t->dy, dx64, SIZES);
      assert_true(same_f64("max dx f64", dx64, t->dx, nx, 1e-15));
    } else {
      tt_avgpool2d_f32(x, y, SIZES);
      assert_true(same_f32("avg y", y, t->y, ny, 1e-6));
      tt_avgpool2d_grad_f32(dy, dx, SIZES);
      assert_true(same_f32("avg dx", dx, t->dx, nx, 1e-6));
      tt_avgpool2d_f64(t->x, y64, SIZES);
      assert_true(same_f64("avg y f64", y64, t->y, ny, 1e-14));
      tt_avgpool2d_grad_f64(t->dy, dx64, SIZES);
      assert_true(same_f64("avg dx f64", dx64, t->dx, nx, 1e-14));
    }
#undef SIZES
    assert_true(guards_ok(y, ny) && guards_ok(dx, nx));
    tt_free(x), tt_free(dy), tt_free(y), tt_free(dx), tt_free(y64), tt_free(dx64);
  }
}

/* ---- im2col kernels against the naive ones -------------------------------------------- */

/* One random shape: fast vs naive float32 for the forward pass and both gradients, and
 * naive float64 vs naive float32 (the two precisions agree). */
static void check_random_shape(void) {
  int64_t N = irand(1, 3), C = irand(1, 5), K = irand(1, 5);
  int64_t sh = irand(1, 3), sw = irand(1, 3), ph = irand(0, 2), pw = irand(0, 2);
  int64_t R = irand(1, 4), S = irand(1, 4);
  /* the input at least as large as the kernel once padded */
  int64_t H = irand(R - 2 * ph > 1 ? R - 2 * ph : 1, 11);
  int64_t W = irand(S - 2 * pw > 1 ? S - 2 * pw : 1, 11);
  if (lcg() % 8 == 0) /* some pointwise convolutions, which skip im2col */
    R = S = sh = sw = 1, ph = pw = 0;
  int64_t OH = odim(H, R, sh, ph), OW = odim(W, S, sw, pw);
  size_t nx = (size_t)(N * C * H * W), nw = (size_t)(K * C * R * S);
  size_t ny = (size_t)(N * K * OH * OW);
  size_t nws = tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw);
  float *x = fbuf(nx, true), *w = fbuf(nw, true), *b = fbuf((size_t)K, true);
  float *dy = fbuf(ny, true), *ws = fbuf(nws, false);
  float *y1 = fbuf(ny, false), *y2 = fbuf(ny, false), *dx1 = fbuf(nx, true);
  float *dx2 = fbuf(nx, true), *dw1 = fbuf(nw, true), *dw2 = fbuf(nw, true);
  bool bias = lcg() % 2;
  char what[160];
  snprintf(what, sizeof what, "N%lld C%lld H%lld W%lld K%lld R%lld S%lld s%lld,%lld p%lld,%lld",
           (long long)N, (long long)C, (long long)H, (long long)W, (long long)K, (long long)R,
           (long long)S, (long long)sh, (long long)sw, (long long)ph, (long long)pw);
#define SIZES N, C, H, W, K, R, S, sh, sw, ph, pw
  tt_conv2d_f32(x, w, bias ? b : NULL, y1, SIZES, ws);
  tt_conv2d_naive_f32(x, w, bias ? b : NULL, y2, SIZES);
  tt_conv2d_grad_input_f32(dy, w, dx1, SIZES, ws);
  tt_conv2d_grad_input_naive_f32(dy, w, dx2, SIZES);
  tt_conv2d_grad_weight_f32(x, dy, dw1, SIZES, ws);
  tt_conv2d_grad_weight_naive_f32(x, dy, dw2, SIZES);
  double *yr = to_f64(y2, ny), *dxr = to_f64(dx2, nx), *dwr = to_f64(dw2, nw);
  bool ok = same_f32(what, y1, yr, ny, 1e-5) && same_f32(what, dx1, dxr, nx, 1e-5) &&
       same_f32(what, dw1, dwr, nw, 1e-4);
  if (!ok)
    print_error("shape %s bias %d\n", what, bias);
  assert_true(ok);
  assert_true(guards_ok(y1, ny) && guards_ok(dx1, nx) && guards_ok(dw1, nw));
  assert_true(guards_ok(y2, ny) && guards_ok(dx2, nx) && guards_ok(dw2, nw));
  assert_true(guards_ok(ws, nws));
  /* float64 naive on the same inputs agrees with float32 */
  double *x64 = to_f64(x, nx), *w64 = to_f64(w, nw), *b64 = to_f64(b, (size_t)K);
  double *dy64 = to_f64(dy, ny);
  double *o64 = tt_alloc(ny * sizeof(double)), *ox64 = tt_alloc(nx * sizeof(double));
  double *ow64 = tt_alloc(nw * sizeof(double));
  tt_conv2d_naive_f64(x64, w64, bias ? b64 : NULL, o64, SIZES);
  tt_conv2d_grad_input_naive_f64(dy64, w64, ox64, SIZES);
  tt_conv2d_grad_weight_naive_f64(x64, dy64, ow64, SIZES);
#undef SIZES
  assert_true(same_f32(what, y2, o64, ny, 1e-5) && same_f32(what, dx2, ox64, nx, 1e-5) &&
              same_f32(what, dw2, ow64, nw, 1e-4));
  tt_free(x64), tt_free(w64), tt_free(b64), tt_free(dy64), tt_free(o64), tt_free(ox64);
  tt_free(ow64), tt_free(yr), tt_free(dxr), tt_free(dwr);
  tt_free(x), tt_free(w), tt_free(b), tt_free(dy), tt_free(ws), tt_free(y1), tt_free(y2);
  tt_free(dx1), tt_free(dx2), tt_free(dw1), tt_free(dw2);
}

static void test_im2col_matches_naive(void **state) {
  (void)state;
  for (int i = 0; i < 400; i++)
    check_random_shape();
}

/* The direct stride-1 kernels (runtime/conv.c, AVX-512) give the bits of the im2col path
 * they replace: forward = im2col + GEMM with the bias preloaded, input gradient = GEMM
 * w^T dy + col2im into zeros, weight gradient = the GEMM dy cols^T accumulated image by
 * image over each half of the batch, the halves then added (layers past the dot products'
 * 256 weights). Shapes of all sorts, padding up to the kernel's, contractions past one GEMM
 * K block, images shorter than the kernel, NaN and infinite weights. */
static void test_direct_is_im2col_gemm(void **state) {
  (void)state;
  for (int t = 0; t < 400; t++) {
    int64_t N = irand(1, 4), C = irand(1, t % 5 == 0 ? 40 : 10), K = irand(1, 36);
    int64_t R = irand(1, 4), S = t % 3 ? R : irand(1, 4), ph = irand(0, 2), pw = irand(0, 2);
    if (t % 4 == 0)
      R = S = 3, ph = pw = 1;
    int64_t H = irand(1, 18), W = irand(1, 36);
    if (H + 2 * ph < R || W + 2 * pw < S)
      continue;
    int64_t OH = odim(H, R, 1, ph), OW = odim(W, S, 1, pw), P = OH * OW, CRS = C * R * S;
    size_t nx = (size_t)(N * C * H * W), nw = (size_t)(K * CRS), ny = (size_t)(N * K * P);
    size_t nws = tt_conv2d_workspace(C, H, W, R, S, 1, 1, ph, pw);
    float *x = fbuf(nx, true), *w = fbuf(nw, true), *b = fbuf((size_t)K, true);
    float *dy = fbuf(ny, true), *ws = fbuf(nws, false), *cols = fbuf(nws, false);
    if (t % 9 == 0)
      w[irand(0, (int64_t)nw - 1)] = t % 2 ? NAN : INFINITY;
    float *y1 = fbuf(ny, false), *y2 = fbuf(ny, false), *dx1 = fbuf(nx, false);
    float *dx2 = fbuf(nx, false), *dw1 = fbuf(nw, false), *dw2 = fbuf(nw, false);
    float *dwb = fbuf(nw, false);
    bool bias = t % 2;
#define SIZES N, C, H, W, K, R, S, 1, 1, ph, pw
    tt_conv2d_f32(x, w, bias ? b : NULL, y1, SIZES, ws);
    tt_conv2d_grad_input_f32(dy, w, dx1, SIZES, ws);
    tt_conv2d_grad_weight_f32(x, dy, dw1, SIZES, ws);
#undef SIZES
    memset(dx2, 0, nx * sizeof(float));
    memset(dw2, 0, nw * sizeof(float));
    memset(dwb, 0, nw * sizeof(float));
    int64_t half = N >= 2 ? N / 2 : N;
    for (int64_t n = 0; n < N; n++) {
      tt_im2col_f32(x + n * C * H * W, cols, C, H, W, R, S, 1, 1, ph, pw);
      float *yn = y2 + n * K * P;
      for (int64_t k = 0; k < K; k++)
        for (int64_t p = 0; p < P; p++)
          yn[k * P + p] = bias ? b[k] : 0;
      tt_gemm_f32(K, P, CRS, w, CRS, false, cols, P, false, yn, P, bias);
      tt_gemm_f32(K, CRS, P, dy + n * K * P, P, false, cols, P, true, n < half ? dw2 : dwb, CRS,
                  true);
      tt_gemm_f32(CRS, P, K, w, CRS, true, dy + n * K * P, P, false, cols, P, false);
      tt_col2im_f32(cols, dx2 + n * C * H * W, C, H, W, R, S, 1, 1, ph, pw);
    }
    for (size_t i = 0; i < nw; i++)
      dw2[i] += dwb[i];
    assert_memory_equal(y1, y2, ny * sizeof(float));
    assert_memory_equal(dx1, dx2, nx * sizeof(float));
    if (K * CRS > 256) /* smaller layers take the 16-lane dot products */
      assert_memory_equal(dw1, dw2, nw * sizeof(float));
    assert_true(guards_ok(y1, ny) && guards_ok(dx1, nx) && guards_ok(dw1, nw));
    assert_true(guards_ok(ws, nws) && guards_ok(cols, nws));
    tt_free(x), tt_free(w), tt_free(b), tt_free(dy), tt_free(ws), tt_free(cols);
    tt_free(y1), tt_free(y2), tt_free(dx1), tt_free(dx2), tt_free(dw1), tt_free(dw2);
    tt_free(dwb);
  }
}

/* The fuse pass's fused kernels (runtime/conv.c declares them; runtime/tt.h does not yet):
 * conv2d with the ReLU as its epilogue is relu(conv2d) bit for bit, NaN and -0 included,
 * and the masked pooling gradient is where(x > 0, max_pool2d_grad(x, dy), 0). */
void tt_conv2d_relu_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                        int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                        int64_t sh, int64_t sw, int64_t ph, int64_t pw, float *ws);
void tt_maxpool2d_grad_relu_f32(const float *x, const float *dy, float *dx, int64_t N,
                                int64_t C, int64_t H, int64_t W, int64_t kh, int64_t kw,
                                int64_t sh, int64_t sw, int64_t ph, int64_t pw);

static void test_fused_relu_kernels(void **state) {
  (void)state;
  for (int t = 0; t < 200; t++) {
    int64_t N = irand(1, 5), C = irand(1, 9), K = irand(1, 20), R = irand(1, 3), S = R;
    int64_t sh = irand(1, 2), sw = sh, ph = irand(0, R - 1), pw = ph;
    int64_t H = irand(R, 20), W = irand(S, 30);
    int64_t OH = odim(H, R, sh, ph), OW = odim(W, S, sw, pw);
    size_t nx = (size_t)(N * C * H * W), nw = (size_t)(K * C * R * S);
    size_t ny = (size_t)(N * K * OH * OW);
    size_t nws = tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw);
    float *x = fbuf(nx, true), *w = fbuf(nw, true), *b = fbuf((size_t)K, true);
    float *ws = fbuf(nws, false), *y1 = fbuf(ny, false), *y2 = fbuf(ny, false);
    if (t % 5 == 0)
      x[irand(0, (int64_t)nx - 1)] = NAN;
    if (t % 7 == 0) /* outputs of -0: zero weights and bias */
      for (size_t i = 0; i < nw; i++)
        w[i] = t % 2 ? -0.0f : 0.0f, b[i % (size_t)K] = -0.0f;
#define SIZES N, C, H, W, K, R, S, sh, sw, ph, pw
    tt_conv2d_relu_f32(x, w, t % 3 ? b : NULL, y1, SIZES, ws);
    tt_conv2d_f32(x, w, t % 3 ? b : NULL, y2, SIZES, ws);
#undef SIZES
    for (size_t i = 0; i < ny; i++)
      y2[i] = y2[i] < 0 ? 0 : y2[i];
    assert_memory_equal(y1, y2, ny * sizeof(float));
    assert_true(guards_ok(y1, ny) && guards_ok(ws, nws));
    tt_free(x), tt_free(w), tt_free(b), tt_free(ws), tt_free(y1), tt_free(y2);
  }
  for (int t = 0; t < 200; t++) {
    int64_t N = irand(1, 3), C = irand(1, 6), H = irand(2, 33), W = irand(2, 40);
    int64_t k = t % 4 ? 2 : 3, s = t % 4 ? 2 : irand(1, 3);
    int64_t OH = odim(H, k, s, 0), OW = odim(W, k, s, 0);
    size_t nx = (size_t)(N * C * H * W), ny = (size_t)(N * C * OH * OW);
    float *x = fbuf(nx, true), *dy = fbuf(ny, true), *d1 = fbuf(nx, false), *d2 = fbuf(nx, false);
    for (size_t i = 0; i < nx; i += 5)
      x[i] = i % 3 ? 0.0f : x[i] < 0 ? -x[i] : x[i]; /* ties and zeros, as after a relu */
    if (t % 6 == 0)
      x[irand(0, (int64_t)nx - 1)] = NAN;
    tt_maxpool2d_grad_relu_f32(x, dy, d1, N, C, H, W, k, k, s, s, 0, 0);
    tt_maxpool2d_grad_f32(x, dy, d2, N, C, H, W, k, k, s, s, 0, 0);
    for (size_t i = 0; i < nx; i++)
      d2[i] = x[i] > 0 ? d2[i] : 0;
    assert_memory_equal(d1, d2, nx * sizeof(float));
    assert_true(guards_ok(d1, nx));
    tt_free(x), tt_free(dy), tt_free(d1), tt_free(d2);
  }
}

/* A batch split over two threads gives the same bits as one thread, workspaces included:
 * the worker's half uses its own workspace, so the halves cannot trample each other. */
static void test_threads_bit_identical(void **state) {
  (void)state;
  for (int t = 0; t < 60; t++) {
    int64_t N = irand(1, 9), C = irand(1, 6), K = irand(1, 40), R = irand(1, 3), S = R;
    int64_t H = irand(R, 20), W = irand(S, 20), sh = irand(1, 2), sw = sh, ph = irand(0, 1);
    int64_t pw = ph;
    int64_t OH = odim(H, R, sh, ph), OW = odim(W, S, sw, pw);
    size_t nx = (size_t)(N * C * H * W), nw = (size_t)(K * C * R * S);
    size_t ny = (size_t)(N * K * OH * OW);
    size_t nws = tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw);
    float *x = fbuf(nx, true), *w = fbuf(nw, true), *b = fbuf((size_t)K, true);
    float *dy = fbuf(ny, true), *ws = fbuf(nws, false);
    float *y[2], *dx[2], *dw[2];
    for (int th = 0; th < 2; th++) {
      y[th] = fbuf(ny, false), dx[th] = fbuf(nx, false), dw[th] = fbuf(nw, false);
      tt_gemm_threads(th + 1);
#define SIZES N, C, H, W, K, R, S, sh, sw, ph, pw
      tt_conv2d_f32(x, w, b, y[th], SIZES, ws);
      tt_conv2d_grad_input_f32(dy, w, dx[th], SIZES, ws);
      tt_conv2d_grad_weight_f32(x, dy, dw[th], SIZES, ws);
#undef SIZES
    }
    assert_memory_equal(y[0], y[1], ny * sizeof(float));
    assert_memory_equal(dx[0], dx[1], nx * sizeof(float));
    assert_memory_equal(dw[0], dw[1], nw * sizeof(float));
    assert_true(guards_ok(ws, nws));
    tt_free(x), tt_free(w), tt_free(b), tt_free(dy), tt_free(ws);
    for (int th = 0; th < 2; th++)
      tt_free(y[th]), tt_free(dx[th]), tt_free(dw[th]);
  }
}

/* 2x2 max pooling, big enough to be split over two threads, odd sizes included: the same
 * bits on one and two threads; each dy lands on one pixel of its window, and an odd last
 * row or column (in no window) gets 0. */
static void test_pool_threads(void **state) {
  (void)state;
  for (int t = 0; t < 4; t++) {
    int64_t N = 16, C = 8, H = 28 - (t & 1), W = 28 - (t >> 1), OH = H / 2, OW = W / 2;
    size_t nx = (size_t)(N * C * H * W), ny = (size_t)(N * C * OH * OW);
    float *x = fbuf(nx, true), *dy = fbuf(ny, true), *y[2], *dx[2];
    for (int th = 0; th < 2; th++) {
      y[th] = fbuf(ny, false), dx[th] = fbuf(nx, false);
      tt_gemm_threads(th + 1);
      tt_maxpool2d_f32(x, y[th], N, C, H, W, 2, 2, 2, 2, 0, 0);
      tt_maxpool2d_grad_f32(x, dy, dx[th], N, C, H, W, 2, 2, 2, 2, 0, 0);
      assert_true(guards_ok(y[th], ny) && guards_ok(dx[th], nx));
    }
    assert_memory_equal(y[0], y[1], ny * sizeof(float));
    assert_memory_equal(dx[0], dx[1], nx * sizeof(float));
    for (int64_t p = 0; p < N * C; p++)
      for (int64_t i = 0; i < H; i++)
        for (int64_t j = 0; j < W; j++) {
          float d = dx[1][(p * H + i) * W + j];
          if (i >= 2 * OH || j >= 2 * OW)
            assert_true(d == 0.0f);
          else if (d != 0.0f)
            assert_true(d == dy[(p * OH + i / 2) * OW + j / 2] &&
                        x[(p * H + i) * W + j] == y[1][(p * OH + i / 2) * OW + j / 2]);
        }
    tt_free(x), tt_free(dy);
    for (int th = 0; th < 2; th++)
      tt_free(y[th]), tt_free(dx[th]);
  }
}

/* The 2x2 fast path's first-maximum rule, written out (ATen's: a value replaces the
 * running maximum when it is greater or NaN), bit for bit on windows drawn from a small
 * set of values so that ties, -0 against +0, infinities and NaNs meet in every shape. */
static void test_pool2x2_exact_rule(void **state) {
  (void)state;
  const float vals[] = {-INFINITY, -1.0f, -0.0f, 0.0f, 1.0f, 2.0f, INFINITY, NAN};
  srand(7);
  for (int t = 0; t < 4; t++) {
    int64_t N = 3, C = 5, H = 16 + (t & 1), W = 30 + (t >> 1), OH = H / 2, OW = W / 2;
    size_t nx = (size_t)(N * C * H * W), ny = (size_t)(N * C * OH * OW);
    float *x = fbuf(nx, false), *dy = fbuf(ny, true), *y = fbuf(ny, false);
    float *dx = fbuf(nx, false), *ry = fbuf(ny, false), *rdx = fbuf(nx, false);
    /* most windows finite (the vector path), some with a NaN or infs (the exact redo) */
    for (size_t i = 0; i < nx; i++)
      x[i] = vals[rand() % (rand() % 8 ? 6 : 8)];
    memset(rdx, 0, nx * sizeof(float));
    for (int64_t p = 0; p < N * C; p++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t at = (p * H + 2 * oh) * W + 2 * ow, best = at;
          const int64_t win[4] = {at, at + 1, at + W, at + W + 1};
          for (int k = 1; k < 4; k++)
            if (x[win[k]] > x[best] || isnan(x[win[k]]))
              best = win[k];
          ry[(p * OH + oh) * OW + ow] = x[best];
          rdx[best] = dy[(p * OH + oh) * OW + ow];
        }
    tt_maxpool2d_f32(x, y, N, C, H, W, 2, 2, 2, 2, 0, 0);
    tt_maxpool2d_grad_f32(x, dy, dx, N, C, H, W, 2, 2, 2, 2, 0, 0);
    assert_memory_equal(y, ry, ny * sizeof(float));
    assert_memory_equal(dx, rdx, nx * sizeof(float));
    tt_free(x), tt_free(dy), tt_free(y), tt_free(dx), tt_free(ry), tt_free(rdx);
  }
}

/* <im2col(x), g> = <x, col2im(g)> for random x and g: col2im is exactly im2col's adjoint,
 * which is what makes the input gradient right. */
static void test_col2im_is_adjoint(void **state) {
  (void)state;
  for (int i = 0; i < 200; i++) {
    int64_t C = irand(1, 4), sh = irand(1, 3), sw = irand(1, 3), ph = irand(0, 2);
    int64_t pw = irand(0, 2), R = irand(1, 5), S = irand(1, 5);
    int64_t H = irand(R - 2 * ph > 1 ? R - 2 * ph : 1, 12);
    int64_t W = irand(S - 2 * pw > 1 ? S - 2 * pw : 1, 12);
    size_t nx = (size_t)(C * H * W), nc = tt_conv2d_workspace(C, H, W, R, S, sh, sw, ph, pw);
    float *x = fbuf(nx, true), *g = fbuf(nc, true), *cols = fbuf(nc, false);
    float *back = fbuf(nx, false);
    memset(back, 0, nx * sizeof(float));
    tt_im2col_f32(x, cols, C, H, W, R, S, sh, sw, ph, pw);
    tt_col2im_f32(g, back, C, H, W, R, S, sh, sw, ph, pw);
    double lhs = 0, rhs = 0, mag = 0;
    for (size_t j = 0; j < nc; j++)
      lhs += (double)cols[j] * g[j], mag += fabs((double)cols[j] * g[j]);
    for (size_t j = 0; j < nx; j++)
      rhs += (double)x[j] * back[j];
    assert_true(fabs(lhs - rhs) <= 1e-5 * (mag + 1));
    assert_true(guards_ok(cols, nc) && guards_ok(back, nx));
    tt_free(x), tt_free(g), tt_free(cols), tt_free(back);
  }
}

/* col2im adds into x rather than overwriting it (the caller zeroes). */
static void test_col2im_accumulates(void **state) {
  (void)state;
  /* 1 channel, 3x3 input, 2x2 kernel, stride 1: the centre pixel is in all 4 windows */
  float cols[4 * 4], x[9];
  for (int i = 0; i < 16; i++)
    cols[i] = 1;
  for (int i = 0; i < 9; i++)
    x[i] = 10;
  tt_col2im_f32(cols, x, 1, 3, 3, 2, 2, 1, 1, 0, 0);
  const float want[9] = {11, 12, 11, 12, 14, 12, 11, 12, 11};
  for (int i = 0; i < 9; i++)
    assert_true(x[i] == want[i]);
}

/* ---- bad sizes -------------------------------------------------------------------------- */

/* A zero stride, a kernel larger than the padded input, or negative sizes write nothing out
 * of bounds: forward outputs stay untouched, gradients are zeroed, the workspace is 0. */
static void test_bad_sizes(void **state) {
  (void)state;
  const int64_t bad[][11] = {
      /* N C H W K R S sh sw ph pw */
      {1, 1, 4, 4, 1, 3, 3, 0, 1, 0, 0}, {1, 1, 4, 4, 1, 3, 3, 1, -1, 0, 0},
      {1, 1, 2, 2, 1, 5, 1, 1, 1, 1, 0}, {1, 1, 4, 4, 1, 3, 3, 1, 1, -1, 0},
      {1, 1, 4, 4, 1, 0, 3, 1, 1, 0, 0},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    const int64_t *s = bad[i];
    float x[16], w[16], y[16], dx[16], dw[16], ws[16];
    for (int j = 0; j < 16; j++)
      x[j] = w[j] = 1, y[j] = dx[j] = dw[j] = ws[j] = GUARD;
    assert_int_equal(tt_conv2d_workspace(s[1], s[2], s[3], s[5], s[6], s[7], s[8], s[9], s[10]),
                     0);
#define SIZES s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9], s[10]
    tt_conv2d_f32(x, w, NULL, y, SIZES, ws);
    tt_conv2d_naive_f32(x, w, NULL, y, SIZES);
    tt_conv2d_grad_input_f32(x, w, dx, SIZES, ws);
    tt_conv2d_grad_weight_f32(x, x, dw, SIZES, ws);
#undef SIZES
    tt_maxpool2d_f32(x, y, s[0], s[1], s[2], s[3], s[5], s[6], s[7], s[8], s[9], s[10]);
    tt_avgpool2d_f32(x, y, s[0], s[1], s[2], s[3], s[5], s[6], s[7], s[8], s[9], s[10]);
    int64_t nx = s[0] * s[1] * s[2] * s[3];
    for (int64_t j = 0; j < 16; j++) {
      assert_true(y[j] == GUARD && ws[j] == GUARD);
      assert_true(dx[j] == (j < nx ? 0.0f : GUARD)); /* the gradient is zeroed, no more */
    }
  }
  /* pooling windows entirely in the padding (pad > kernel/2, which PyTorch rejects): -inf
   * out, no gradient, nothing written outside the 2x2 input */
  float px[4 + NGUARD] = {1, 2, 3, 4}, py[36], pdx[4 + NGUARD], pdy[36];
  for (int j = 0; j < 36; j++)
    pdy[j] = 1;
  for (int j = 4; j < 4 + NGUARD; j++)
    px[j] = pdx[j] = GUARD;
  tt_maxpool2d_f32(px, py, 1, 1, 2, 2, 1, 1, 1, 1, 2, 2); /* OH = OW = 6 */
  assert_true(isinf(py[0]) && py[0] < 0 && py[2 * 6 + 2] == 1 && py[3 * 6 + 3] == 4);
  tt_maxpool2d_grad_f32(px, pdy, pdx, 1, 1, 2, 2, 1, 1, 4, 4, 2, 2); /* OH = OW = 2 */
  for (int j = 0; j < 4; j++)
    assert_true(pdx[j] == 0);
  assert_true(guards_ok(pdx, 4));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_conv_vs_pytorch),      cmocka_unit_test(test_pool_vs_pytorch),
      cmocka_unit_test(test_im2col_matches_naive), cmocka_unit_test(test_col2im_is_adjoint),
      cmocka_unit_test(test_col2im_accumulates),   cmocka_unit_test(test_bad_sizes),
      cmocka_unit_test(test_threads_bit_identical), cmocka_unit_test(test_pool_threads),
      cmocka_unit_test(test_pool2x2_exact_rule),   cmocka_unit_test(test_direct_is_im2col_gemm),
      cmocka_unit_test(test_fused_relu_kernels),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
