/*
 * quant_forward_bench.c — batch-1 inference of the two Fashion-MNIST models with the
 * runtime's float32 kernels and with its int8 kernels, side by side in one process: what
 * a quantized program's forward would run, before the quantize pass exists to emit it.
 *
 *   MLP  (models/mlp_fashion.tt): 784 -> 256 -> ReLU -> 10
 *   CNN  (models/cnn_fashion.tt): conv 1->32 3x3 p1, ReLU, maxpool 2; conv 32->64 3x3 p1,
 *        ReLU, maxpool 2; 3136 -> 128 -> ReLU -> 10
 *
 * float32: tt_gemm_f32 (weights [out, in], B transposed) and tt_conv2d_f32 (im2col), bias and
 * ReLU in a loop after each, tt_maxpool2d_f32 — the calls ttc's emitted C makes. At batch 1
 * the GEMM packs the whole weight matrix per call, so the MLP also runs a second float
 * baseline, "float32 gemv": a vectorized dot product per output, as a batch-1 kernel would.
 * int8: per-tensor uint8 activations (a fixed scale and zero point, as calibration would
 * give), per-output-channel symmetric int8 weights packed once (tt_qpack_b), int32
 * accumulation (tt_gemm_u8s8_packed, tt_conv2d_u8s8), a float epilogue (scale, bias, ReLU),
 * pooling in float, and requantization of the next layer's input (tt_quantize_f32_u8).
 * The weights are random (He-scaled); the logits' agreement is printed as a sanity check
 * (the accuracy of a trained, quantized model is the quantize pass's measurement).
 *
 * Each variant runs REPS forwards per round, the variants alternate, RUNS rounds after a
 * warm-up; printed: the median and [min-max] microseconds per forward and the ratio of the
 * medians. One thread (TT_THREADS=1 is set by the script): batch 1 is too small to split.
 *
 *   bench/quant_forward_bench.sh [RUNS]
 */
#define _POSIX_C_SOURCE 200809L
#include "tt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *fbuf(int64_t n) { return tt_alloc((size_t)n * sizeof(float)); }

/* A float Linear and its int8 twin. */
typedef struct Lin {
  int64_t in, out;
  float *w, *b;    /* [out, in], [out] */
  float *sw;       /* per-output-channel weight scales */
  int8_t *wq;      /* [out, in] codes */
  void *wp;        /* packed */
} Lin;

static void lin_init(Lin *L, int64_t in, int64_t out) {
  L->in = in, L->out = out;
  L->w = fbuf(in * out), L->b = fbuf(out), L->sw = fbuf(out);
  L->wq = tt_alloc((size_t)(in * out));
  tt_normal_f32(L->w, in * out, 0.0, sqrt(2.0 / (double)in));
  tt_uniform_f32(L->b, out, -0.1, 0.1);
  for (int64_t o = 0; o < out; o++) { /* symmetric per channel: max |w| -> 127 */
    float m = 0.0f;
    for (int64_t k = 0; k < in; k++) m = fmaxf(m, fabsf(L->w[o * in + k]));
    L->sw[o] = m > 0.0f ? m / 127.0f : 1.0f;
    tt_quantize_f32_s8(L->w + o * in, L->wq + o * in, in, 1.0f / L->sw[o], 0);
  }
  L->wp = tt_alloc(tt_qpack_b_size(out, in));
  tt_qpack_b(out, in, L->wq, in, true, L->wp);
}

static void lin_f32(const Lin *L, const float *x, float *y, bool relu) {
  tt_gemm_f32(1, L->out, L->in, x, L->in, false, L->w, L->in, true, y, L->out, false);
  for (int64_t o = 0; o < L->out; o++) {
    float v = y[o] + L->b[o];
    y[o] = relu && v < 0.0f ? 0.0f : v;
  }
}

/* The same Linear as a matrix-vector product written for batch 1: a dot product per output
 * that gcc vectorizes, no packing — a fairer float baseline than the GEMM at M = 1. */
static void lin_f32_gemv(const Lin *L, const float *restrict x, float *restrict y, bool relu) {
  for (int64_t o = 0; o < L->out; o++) {
    const float *restrict w = L->w + o * L->in;
    float acc[16] = {0};
    int64_t k = 0;
    for (; k + 16 <= L->in; k += 16)
      for (int t = 0; t < 16; t++) acc[t] += w[k + t] * x[k + t];
    float v = L->b[o];
    for (int t = 0; t < 16; t++) v += acc[t];
    for (; k < L->in; k++) v += w[k] * x[k];
    y[o] = relu && v < 0.0f ? 0.0f : v;
  }
}

/* A float Conv2d (3x3, padding 1) and its int8 twin. */
typedef struct Conv {
  int64_t C, K, H, W;
  float *w, *b, *sw;
  int8_t *wq;
} Conv;

static void conv_init(Conv *c, int64_t C, int64_t K, int64_t H, int64_t W) {
  c->C = C, c->K = K, c->H = H, c->W = W;
  int64_t n = K * C * 9;
  c->w = fbuf(n), c->b = fbuf(K), c->sw = fbuf(K);
  c->wq = tt_alloc((size_t)n);
  tt_normal_f32(c->w, n, 0.0, sqrt(2.0 / (double)(C * 9)));
  tt_uniform_f32(c->b, K, -0.1, 0.1);
  for (int64_t k = 0; k < K; k++) {
    float m = 0.0f;
    for (int64_t i = 0; i < C * 9; i++) m = fmaxf(m, fabsf(c->w[k * C * 9 + i]));
    c->sw[k] = m > 0.0f ? m / 127.0f : 1.0f;
    tt_quantize_f32_s8(c->w + k * C * 9, c->wq + k * C * 9, C * 9, 1.0f / c->sw[k], 0);
  }
}

typedef struct Net {
  Lin fc1, fc2, cfc1, cfc2;
  Conv c1, c2;
  float *x, *h, *h2, *y, *yq, *ws, *a1, *p1, *a2, *p2;
  uint8_t *xq, *hq;
  int32_t *acc;
  void *qws;
  float sx, sh, s3; /* activation scales (all after a ReLU: zero point 0) */
} Net;

static void mlp_f32(Net *n) {
  lin_f32(&n->fc1, n->x, n->h, true);
  lin_f32(&n->fc2, n->h, n->y, false);
}

/* The input's codes: x in [0, 1] (pixels / 255) with scale 1/255, zero point 0. */
static void mlp_q8(Net *n) {
  tt_quantize_f32_u8(n->x, n->xq, 784, 255.0f, 0);
  tt_gemm_u8s8_packed(1, 256, 784, n->xq, 784, 0, n->fc1.wp, n->acc, 256, false);
  tt_qlinear_epilogue(n->acc, n->h, 1, 256, 1.0f / 255.0f, n->fc1.sw, n->fc1.b, true);
  tt_quantize_f32_u8(n->h, n->hq, 256, 1.0f / n->sh, 0);
  tt_gemm_u8s8_packed(1, 10, 256, n->hq, 256, 0, n->fc2.wp, n->acc, 10, false);
  tt_qlinear_epilogue(n->acc, n->yq, 1, 10, n->sh, n->fc2.sw, n->fc2.b, false);
}

static void mlp_f32_gemv(Net *n) {
  lin_f32_gemv(&n->fc1, n->x, n->h, true);
  lin_f32_gemv(&n->fc2, n->h, n->y, false);
}

static void bias_relu_planes(float *y, const float *b, int64_t K, int64_t P) {
  for (int64_t k = 0; k < K; k++)
    for (int64_t p = 0; p < P; p++) {
      float v = y[k * P + p] + b[k];
      y[k * P + p] = v < 0.0f ? 0.0f : v;
    }
}

static void cnn_f32(Net *n) {
  tt_conv2d_f32(n->x, n->c1.w, n->c1.b, n->a1, 1, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, n->ws);
  bias_relu_planes(n->a1, (const float[32]){0}, 32, 784); /* bias is in the conv: ReLU only */
  tt_maxpool2d_f32(n->a1, n->p1, 1, 32, 28, 28, 2, 2, 2, 2, 0, 0);
  tt_conv2d_f32(n->p1, n->c2.w, n->c2.b, n->a2, 1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, n->ws);
  bias_relu_planes(n->a2, (const float[64]){0}, 64, 196);
  tt_maxpool2d_f32(n->a2, n->p2, 1, 64, 14, 14, 2, 2, 2, 2, 0, 0);
  lin_f32(&n->cfc1, n->p2, n->h, true);
  lin_f32(&n->cfc2, n->h, n->y, false);
}

/* int32 planes [K, P] -> float with per-channel scales, bias and ReLU */
static void conv_epilogue(const int32_t *acc, float *y, int64_t K, int64_t P, float sx,
                          const float *sw, const float *b) {
  for (int64_t k = 0; k < K; k++) {
    float s = sx * sw[k];
    for (int64_t p = 0; p < P; p++) {
      float v = (float)acc[k * P + p] * s + b[k];
      y[k * P + p] = v < 0.0f ? 0.0f : v;
    }
  }
}

static void cnn_q8(Net *n) {
  tt_quantize_f32_u8(n->x, n->xq, 784, 255.0f, 0);
  tt_conv2d_u8s8(n->xq, 0, n->c1.wq, n->acc, 1, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, n->qws);
  conv_epilogue(n->acc, n->a1, 32, 784, 1.0f / 255.0f, n->c1.sw, n->c1.b);
  tt_maxpool2d_f32(n->a1, n->p1, 1, 32, 28, 28, 2, 2, 2, 2, 0, 0);
  tt_quantize_f32_u8(n->p1, n->hq, 32 * 196, 1.0f / n->sx, 0);
  tt_conv2d_u8s8(n->hq, 0, n->c2.wq, n->acc, 1, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, n->qws);
  conv_epilogue(n->acc, n->a2, 64, 196, n->sx, n->c2.sw, n->c2.b);
  tt_maxpool2d_f32(n->a2, n->p2, 1, 64, 14, 14, 2, 2, 2, 2, 0, 0);
  tt_quantize_f32_u8(n->p2, n->hq, 3136, 1.0f / n->sh, 0);
  tt_gemm_u8s8_packed(1, 128, 3136, n->hq, 3136, 0, n->cfc1.wp, n->acc, 128, false);
  tt_qlinear_epilogue(n->acc, n->h, 1, 128, n->sh, n->cfc1.sw, n->cfc1.b, true);
  tt_quantize_f32_u8(n->h, n->hq, 128, 1.0f / n->s3, 0);
  tt_gemm_u8s8_packed(1, 10, 128, n->hq, 128, 0, n->cfc2.wp, n->acc, 10, false);
  tt_qlinear_epilogue(n->acc, n->yq, 1, 10, n->s3, n->cfc2.sw, n->cfc2.b, false);
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, c = *(const double *)y;
  return (a > c) - (a < c);
}

static void run_pair(const char *name, const char *fname, Net *n, void (*f32)(Net *),
                     void (*q8)(Net *), int runs) {
  enum { REPS = 200 };
  double *t = calloc((size_t)(2 * runs), sizeof(double));
  if (!t) tt_fatal("out of memory");
  for (int r = -1; r < runs; r++) /* round -1: the warm-up */
    for (int v = 0; v < 2; v++) {
      double t0 = now();
      for (int i = 0; i < REPS; i++) (v ? q8 : f32)(n);
      if (r >= 0) t[v * runs + r] = (now() - t0) / REPS * 1e6;
    }
  double med[2];
  for (int v = 0; v < 2; v++) {
    double *tv = t + v * runs;
    qsort(tv, (size_t)runs, sizeof(double), cmp_double);
    med[v] = tv[runs / 2];
    printf("%-4s %-13s %9.1f us [%7.1f-%7.1f]", v ? "" : name, v ? "int8" : fname, med[v], tv[0],
           tv[runs - 1]);
    if (v) printf("   %.2fx", med[0] / med[1]);
    printf("\n");
  }
  /* sanity: the int8 logits track the float ones */
  double dmax = 0.0, ymax = 0.0;
  for (int j = 0; j < 10; j++) {
    dmax = fmax(dmax, fabs((double)n->y[j] - (double)n->yq[j]));
    ymax = fmax(ymax, fabs((double)n->y[j]));
  }
  printf("     logits: max |float - int8| = %.4f (max |float| %.4f)\n", dmax, ymax);
  free(t);
}

int main(int argc, char **argv) {
  tt_init(argc, argv);
  int runs = argc > 1 ? atoi(argv[1]) : 21;
  if (runs < 1 || runs > 10000) tt_fatal("RUNS must be 1..10000");
  tt_manual_seed(0);
  Net n;
  memset(&n, 0, sizeof n);
  lin_init(&n.fc1, 784, 256);
  lin_init(&n.fc2, 256, 10);
  lin_init(&n.cfc1, 3136, 128);
  lin_init(&n.cfc2, 128, 10);
  conv_init(&n.c1, 1, 32, 28, 28);
  conv_init(&n.c2, 32, 64, 14, 14);
  n.x = fbuf(784), n.h = fbuf(256), n.y = fbuf(10), n.yq = fbuf(10);
  n.a1 = fbuf(32 * 784), n.p1 = fbuf(32 * 196), n.a2 = fbuf(64 * 196), n.p2 = fbuf(3136);
  n.ws = fbuf((int64_t)tt_conv2d_workspace(32, 14, 14, 3, 3, 1, 1, 1, 1) +
              (int64_t)tt_conv2d_workspace(1, 28, 28, 3, 3, 1, 1, 1, 1));
  n.xq = tt_alloc(784), n.hq = tt_alloc(32 * 196 + 3136);
  n.acc = tt_alloc(32 * 784 * sizeof(int32_t));
  size_t w1 = tt_conv2d_q8_workspace(1, 28, 28, 32, 3, 3, 1, 1, 1, 1);
  size_t w2 = tt_conv2d_q8_workspace(32, 14, 14, 64, 3, 3, 1, 1, 1, 1);
  n.qws = tt_alloc(w1 > w2 ? w1 : w2);
  tt_uniform_f32(n.x, 784, 0.0, 1.0);
  /* activation scales as min/max calibration would set them on this input */
  mlp_f32(&n);
  float hmax = 0.0f;
  for (int j = 0; j < 256; j++) hmax = fmaxf(hmax, n.h[j]);
  n.sh = hmax / 255.0f;
  cnn_f32(&n);
  float pmax = 0.0f, fmax_ = 0.0f, h3 = 0.0f;
  for (int j = 0; j < 32 * 196; j++) pmax = fmaxf(pmax, n.p1[j]);
  for (int j = 0; j < 3136; j++) fmax_ = fmaxf(fmax_, n.p2[j]);
  for (int j = 0; j < 128; j++) h3 = fmaxf(h3, n.h[j]);
  n.sx = pmax / 255.0f;
  n.s3 = h3 / 255.0f;
  printf("batch-1 forward, median [min-max] of %d rounds of 200, one thread\n", runs);
  run_pair("MLP", "float32", &n, mlp_f32, mlp_q8, runs);
  run_pair("MLP", "float32 gemv", &n, mlp_f32_gemv, mlp_q8, runs);
  n.sh = fmax_ / 255.0f;
  run_pair("CNN", "float32", &n, cnn_f32, cnn_q8, runs);
  return 0;
}
