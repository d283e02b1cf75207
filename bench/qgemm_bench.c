/*
 * qgemm_bench.c — the int8 GEMM (runtime/qgemm.c) against ttc's float32 GEMM
 * (runtime/gemm.c) on the same shapes, side by side in one process: 512x512x512 (the
 * issue's yardstick) and the Linear layers of the Fashion-MNIST MLP at batch 1 and 64.
 *
 * For each shape and thread count the two kernels run alternately, RUNS rounds after one
 * warm-up round; a round times enough repetitions to take ~20 ms. Printed: the median and
 * [min-max] GOP/s (2*M*N*K per product, a multiply-add counted as two), and the ratio of the
 * medians. "int8" is tt_gemm_u8s8 with B transposed (a Linear: activations [M,K] of uint8
 * codes, weights [N,K] of int8 codes); "s8s8" is tt_gemm_s8s8 (int8 x int8, the same
 * kernel after the sign flip), "int8p" is tt_gemm_u8s8_packed on weights packed once ahead
 * (tt_qpack_b, as a program's constant weights can be), and "f32" is tt_gemm_f32 with B
 * transposed likewise (it packs B on every call).
 *
 *   bench/qgemm_bench.sh [RUNS]     (builds this with -O3 -march=native, as ttc build does)
 */
#define _POSIX_C_SOURCE 200809L
#include "tt.h"

#include <stdlib.h>
#include <time.h>

typedef struct Shape {
  const char *name;
  int64_t M, N, K;
} Shape;

static const Shape shapes[] = {
    {"square 512x512x512", 512, 512, 512},
    {"fc1 batch 64  64x256x784", 64, 256, 784},
    {"fc1 batch 1   1x256x784", 1, 256, 784},
    {"fc2 batch 64  64x10x256", 64, 10, 256},
    {"fc2 batch 1   1x10x256", 1, 10, 256},
};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct Bufs {
  const Shape *s;
  float *Af, *Bf, *Cf;
  uint8_t *Aq;
  int8_t *Bq;
  int32_t *Cq;
  void *Bp;
} Bufs;

static void run_kernel(const Bufs *b, int which) {
  const Shape *s = b->s;
  if (which == 0)
    tt_gemm_f32(s->M, s->N, s->K, b->Af, s->K, false, b->Bf, s->K, true, b->Cf, s->N, false);
  else if (which == 1)
    tt_gemm_u8s8(s->M, s->N, s->K, b->Aq, s->K, 3, b->Bq, s->K, true, b->Cq, s->N, false);
  else if (which == 3)
    tt_gemm_u8s8_packed(s->M, s->N, s->K, b->Aq, s->K, 3, b->Bp, b->Cq, s->N, false);
  else
    tt_gemm_s8s8(s->M, s->N, s->K, (const int8_t *)b->Aq, s->K, 3, b->Bq, s->K, true, b->Cq,
                 s->N, false);
}

static double time_round(const Bufs *b, int which, int reps) {
  double t0 = now();
  for (int r = 0; r < reps; r++)
    run_kernel(b, which);
  return (now() - t0) / reps;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, c = *(const double *)y;
  return (a > c) - (a < c);
}

int main(int argc, char **argv) {
  tt_init(argc, argv);
  int runs = argc > 1 ? atoi(argv[1]) : 11;
  if (runs < 1 || runs > 1000)
    tt_fatal("RUNS must be 1..1000");
  enum { K_ = 4 };
  static const char *names[K_] = {"f32", "int8", "s8s8", "int8p"};
  printf("%-26s %3s %-5s %22s %9s\n", "shape (M x N x K)", "thr", "kernel",
         "GOP/s median [min-max]", "vs f32");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const Shape *s = &shapes[i];
    Bufs b = {s, 0, 0, 0, 0, 0, 0, 0};
    b.Af = tt_alloc((size_t)(s->M * s->K) * sizeof(float));
    b.Bf = tt_alloc((size_t)(s->N * s->K) * sizeof(float));
    b.Cf = tt_alloc((size_t)(s->M * s->N) * sizeof(float));
    b.Aq = tt_alloc((size_t)(s->M * s->K));
    b.Bq = tt_alloc((size_t)(s->N * s->K));
    b.Cq = tt_alloc((size_t)(s->M * s->N) * sizeof(int32_t));
    tt_uniform_f32(b.Af, s->M * s->K, -1.0, 1.0);
    tt_uniform_f32(b.Bf, s->N * s->K, -1.0, 1.0);
    for (int64_t j = 0; j < s->M * s->K; j++)
      b.Aq[j] = (uint8_t)(b.Af[j] * 127.0f + 128.0f);
    for (int64_t j = 0; j < s->N * s->K; j++)
      b.Bq[j] = (int8_t)(b.Bf[j] * 127.0f);
    b.Bp = tt_alloc(tt_qpack_b_size(s->N, s->K));
    tt_qpack_b(s->N, s->K, b.Bq, s->K, true, b.Bp);
    double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
    for (int thr = 1; thr <= 2; thr++) {
      tt_gemm_threads(thr);
      int reps[K_];
      for (int k = 0; k < K_; k++) { /* calibrate (and warm up): ~20 ms a round */
        reps[k] = 1;
        while (time_round(&b, k, reps[k]) * reps[k] < 0.02)
          reps[k] *= 2;
      }
      double *t = calloc((size_t)(K_ * runs), sizeof(double));
      if (!t)
        tt_fatal("out of memory");
      for (int r = 0; r < runs; r++) /* alternate: a load spike hits every kernel alike */
        for (int k = 0; k < K_; k++)
          t[k * runs + r] = time_round(&b, k, reps[k]);
      double med[K_];
      for (int k = 0; k < K_; k++) {
        double *tk = t + k * runs;
        qsort(tk, (size_t)runs, sizeof(double), cmp_double);
        med[k] = tk[runs / 2];
        printf("%-26s %3d %-5s %8.1f [%6.1f-%6.1f]", k ? "" : s->name, thr, names[k],
               flop / med[k] * 1e-9, flop / tk[runs - 1] * 1e-9, flop / tk[0] * 1e-9);
        if (k)
          printf(" %8.2fx", med[0] / med[k]);
        printf("\n");
      }
      free(t);
    }
    tt_free(b.Af);
    tt_free(b.Bf);
    tt_free(b.Cf);
    tt_free(b.Aq);
    tt_free(b.Bq);
    tt_free(b.Cq);
    tt_free(b.Bp);
  }
  return 0;
}
