/*
 * conv_bench.c — milliseconds per call of the fast convolution kernels (the "im2col"
 * column: tt_conv2d_f32 and its gradients, which on AVX-512 run the direct stride-1
 * kernels for these layers, im2col + GEMM elsewhere) against the naive loops, on the
 * layers of the curriculum's MNIST CNN training step (batch 64, 3x3 kernels, padding 1):
 * conv1 1 -> 8 channels at 28x28, conv2 8 -> 16 at 14x14. Forward, input gradient and
 * weight gradient are timed separately, then summed as one step. Built as ttc builds the
 * runtime (ISO C: no contraction of a * b + c, which -std=gnu11 would allow), with
 * -fopenmp for the second core as ttc's default flags have it:
 *
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O3 -march=native -fno-math-errno -fno-trapping-math \
 *     -fopenmp -Iruntime bench/conv_bench.c runtime/[a-z]*.c -lm -lz -lcjson -lpthread
 */
#define _POSIX_C_SOURCE 200809L
#include "tt.h"

#include <stdlib.h>
#include <time.h>

typedef struct Layer {
  const char *name;
  int64_t N, C, H, W, K, R, S, sh, sw, ph, pw;
} Layer;

static const Layer layers[] = {
    {"conv1 64x1x28x28 -> 8, 3x3 p1", 64, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1},
    {"conv2 64x8x14x14 -> 16, 3x3 p1", 64, 8, 14, 14, 16, 3, 3, 1, 1, 1, 1},
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *randbuf(size_t n) {
  float *p = tt_alloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
  return p;
}

enum { FWD, DX, DW, NKIND };
static const char *const kind_names[NKIND] = {"forward", "grad_input", "grad_weight"};

/* Best of a few repetitions of one kernel, in milliseconds. */
static double time_kernel(const Layer *l, int kind, bool naive, const float *x, const float *w,
                          const float *b, float *y, const float *dy, float *dx, float *dw,
                          float *ws) {
  double best = 1e30;
  for (int rep = 0; rep < 20; rep++) {
    double t0 = now();
#define SIZES l->N, l->C, l->H, l->W, l->K, l->R, l->S, l->sh, l->sw, l->ph, l->pw
    if (kind == FWD && naive)
      tt_conv2d_naive_f32(x, w, b, y, SIZES);
    else if (kind == FWD)
      tt_conv2d_f32(x, w, b, y, SIZES, ws);
    else if (kind == DX && naive)
      tt_conv2d_grad_input_naive_f32(dy, w, dx, SIZES);
    else if (kind == DX)
      tt_conv2d_grad_input_f32(dy, w, dx, SIZES, ws);
    else if (naive)
      tt_conv2d_grad_weight_naive_f32(x, dy, dw, SIZES);
    else
      tt_conv2d_grad_weight_f32(x, dy, dw, SIZES, ws);
#undef SIZES
    double t = now() - t0;
    if (t < best)
      best = t;
  }
  return best * 1e3;
}

int main(void) {
  double step_fast = 0, step_naive = 0;
  for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
    const Layer *l = &layers[li];
    int64_t OH = (l->H + 2 * l->ph - l->R) / l->sh + 1, OW = (l->W + 2 * l->pw - l->S) / l->sw + 1;
    size_t nx = (size_t)(l->N * l->C * l->H * l->W), nw = (size_t)(l->K * l->C * l->R * l->S);
    size_t ny = (size_t)(l->N * l->K * OH * OW);
    size_t nws = tt_conv2d_workspace(l->C, l->H, l->W, l->R, l->S, l->sh, l->sw, l->ph, l->pw);
    float *x = randbuf(nx), *w = randbuf(nw), *b = randbuf((size_t)l->K), *dy = randbuf(ny);
    float *y = randbuf(ny), *dx = randbuf(nx), *dw = randbuf(nw), *ws = randbuf(nws);
    printf("%s (workspace %zu floats)\n", l->name, nws);
    for (int kind = 0; kind < NKIND; kind++) {
      double tn = time_kernel(l, kind, true, x, w, b, y, dy, dx, dw, ws);
      double tf = time_kernel(l, kind, false, x, w, b, y, dy, dx, dw, ws);
      double flops = 2.0 * (double)ny * (double)(l->C * l->R * l->S);
      printf("  %-12s naive %8.3f ms %6.2f GFLOP/s   im2col %8.3f ms %6.2f GFLOP/s   %5.1fx\n",
             kind_names[kind], tn, flops / tn * 1e-6, tf, flops / tf * 1e-6, tn / tf);
      /* the first layer's input gradient is not needed in training (x has no grad) */
      if (!(li == 0 && kind == DX))
        step_naive += tn, step_fast += tf;
    }
    tt_free(x), tt_free(w), tt_free(b), tt_free(dy), tt_free(y), tt_free(dx), tt_free(dw);
    tt_free(ws);
  }
  printf("training step (both layers, no conv1 grad_input): naive %.3f ms, im2col %.3f ms, "
         "%.1fx\n",
         step_naive, step_fast, step_naive / step_fast);

  /* The 2x2 max pooling after each convolution, forward and gradient. */
  for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
    const Layer *l = &layers[li];
    int64_t N = l->N, C = l->K, H = l->H, W = l->W;
    size_t nx = (size_t)(N * C * H * W), ny = nx / 4;
    float *x = randbuf(nx), *y = randbuf(ny), *dy = randbuf(ny), *dx = randbuf(nx);
    double best[2] = {1e30, 1e30};
    for (int rep = 0; rep < 50; rep++) {
      double t0 = now();
      tt_maxpool2d_f32(x, y, N, C, H, W, 2, 2, 2, 2, 0, 0);
      double t1 = now();
      tt_maxpool2d_grad_f32(x, dy, dx, N, C, H, W, 2, 2, 2, 2, 0, 0);
      double t2 = now();
      if (t1 - t0 < best[0]) best[0] = t1 - t0;
      if (t2 - t1 < best[1]) best[1] = t2 - t1;
    }
    double mb = (double)nx * 4 / 1e6;
    printf("maxpool2x2 %lldx%lldx%lldx%lld: forward %.3f ms (%.1f GB/s), grad %.3f ms (%.1f GB/s)\n",
           (long long)N, (long long)C, (long long)H, (long long)W, best[0] * 1e3,
           mb * 1.25 / best[0] * 1e-3, best[1] * 1e3, mb * 2.25 / best[1] * 1e-3);
    tt_free(x), tt_free(y), tt_free(dy), tt_free(dx);
  }
  return 0;
}
