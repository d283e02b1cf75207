/*
 * gemm_bench.c — GFLOP/s of tt_gemm_f32 (tiled) and tt_gemm_f32_naive on the shapes an
 * MLP on Fashion-MNIST runs (batch 64, 784 -> 256 -> 10), forward and backward.
 * Compare with bench/gemm_bench.py (torch.mm, one thread) on the same machine.
 *
 *   cc -std=c11 -O3 -march=native -Iruntime bench/gemm_bench.c runtime/[a-z]*.c -lm
 */
#define _POSIX_C_SOURCE 200809L
#include "tt.h"

#include <stdlib.h>
#include <time.h>

typedef struct Shape {
  const char *name;
  int64_t M, N, K;
  bool ta, tb;
} Shape;

static const Shape shapes[] = {
    {"fc1 x@W^T  64x256x784 NT", 64, 256, 784, false, true},
    {"           64x256x784 NN", 64, 256, 784, false, false},
    {"fc1 dW     784x256x64 TN", 784, 256, 64, true, false},
    {"fc1 dW^T   256x784x64 TN", 256, 784, 64, true, false},
    {"fc1 dx     64x784x256 NN", 64, 784, 256, false, false},
    {"fc2 x@W^T  64x10x256  NT", 64, 10, 256, false, true},
    {"           64x10x256  NN", 64, 10, 256, false, false},
    {"fc2 dW     10x256x64  TN", 10, 256, 64, true, false},
    {"fc2 dx     64x256x10  NN", 64, 256, 10, false, false},
    {"square     512x512x512 NN", 512, 512, 512, false, false},
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef void (*GemmFn)(int64_t, int64_t, int64_t, const float *, int64_t, bool, const float *,
                       int64_t, bool, float *, int64_t, bool);

/* Best of 5 runs of enough repetitions to take ~40 ms. */
static double gflops(GemmFn fn, const Shape *s, const float *A, const float *B, float *C) {
  int64_t lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N;
  double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
  int reps = 1;
  for (;;) {
    double t0 = now();
    for (int r = 0; r < reps; r++)
      fn(s->M, s->N, s->K, A, lda, s->ta, B, ldb, s->tb, C, s->N, false);
    if (now() - t0 > 0.04)
      break;
    reps *= 2;
  }
  double best = 1e30;
  for (int t = 0; t < 5; t++) {
    double t0 = now();
    for (int r = 0; r < reps; r++)
      fn(s->M, s->N, s->K, A, lda, s->ta, B, ldb, s->tb, C, s->N, false);
    double dt = (now() - t0) / reps;
    if (dt < best)
      best = dt;
  }
  return flop / best * 1e-9;
}

int main(int argc, char **argv) {
  tt_init(argc, argv);
  printf("%-28s %10s %10s %8s\n", "shape (M x N x K)", "tiled", "naive", "speedup");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const Shape *s = &shapes[i];
    float *A = tt_alloc((size_t)(s->M * s->K) * sizeof(float));
    float *B = tt_alloc((size_t)(s->K * s->N) * sizeof(float));
    float *C = tt_alloc((size_t)(s->M * s->N) * sizeof(float));
    tt_uniform_f32(A, s->M * s->K, -1.0, 1.0);
    tt_uniform_f32(B, s->K * s->N, -1.0, 1.0);
    double fast = gflops(tt_gemm_f32, s, A, B, C);
    double slow = gflops(tt_gemm_f32_naive, s, A, B, C);
    printf("%-28s %10.1f %10.1f %7.1fx   GFLOP/s\n", s->name, fast, slow, fast / slow);
    tt_free(A);
    tt_free(B);
    tt_free(C);
  }
  return 0;
}
