/*
 * sparse_bench.c — where the sparse Linear (runtime/sparse.c) beats the dense GEMM: y[M, N]
 * = x[M, K] @ W[N, K]^T with W random at each density, tt_sparse_linear_f32 against
 * tt_gemm_f32 (the call a dense Linear makes), interleaved, the median of RUNS batches of
 * calls each after a warm-up. Prints the ratio dense / sparse per density and batch: the
 * prune pass's crossover (passes/prune.c, SPARSE_MAX_DENSITY) comes from this table.
 * bench/sparse_mlp.sh runs it (bench/sparse_bench.sh builds it alone).
 *
 *   sparse_bench [RUNS [N K]]     (default 9, 256 784: the Fashion-MNIST MLP's first layer)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tt.h"

static uint64_t st = 88172645463325252ull;
static double urand(void) {
  st = st * 6364136223846793005ull + 1442695040888963407ull;
  return (double)(st >> 11) / 9007199254740992.0;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 9;
  int64_t N = argc > 3 ? atoll(argv[2]) : 256, K = argc > 3 ? atoll(argv[3]) : 784;
  static const double dens[] = {0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5};
  static const int64_t Ms[] = {1, 4, 16, 64};
  float *W = malloc(sizeof(float) * (size_t)(N * K)), *x = malloc(sizeof(float) * (size_t)(64 * K));
  float *y = malloc(sizeof(float) * (size_t)(64 * N));
  for (int64_t i = 0; i < 64 * K; i++) x[i] = (float)urand();
  int64_t cap = (N + 15) / 16 * 16 * K, len = tt_sparse_index_len(N, K, cap);
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)len);
  float *vals = malloc(sizeof(float) * (size_t)cap);
  double *td = malloc(sizeof(double) * (size_t)runs), *ts = malloc(sizeof(double) * (size_t)runs);
  printf("W [%lld, %lld]; us per call, median of %d (min-max); ratio = dense / sparse\n", (long long)N,
         (long long)K, runs);
  printf("%8s %4s %22s %22s %7s %8s\n", "nonzero", "M", "dense", "sparse", "ratio", "padding");
  for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++) {
    for (int64_t i = 0; i < N * K; i++) W[i] = urand() < dens[d] ? (float)urand() - 0.5f : 0.0f;
    double t0 = now();
    tt_sparse_index_f32(W, N, K, cap, idx, len);
    tt_sparse_values_f32(W, idx, vals);
    double tpack = now() - t0;
    for (size_t mi = 0; mi < sizeof Ms / sizeof Ms[0]; mi++) {
      int64_t M = Ms[mi];
      int reps = (int)(2e5 / (double)(M * N * K / 1000 + 1)) + 1;
      for (int r = -1; r < runs; r++) { /* r = -1: warm-up */
        double a = now();
        for (int k = 0; k < reps; k++) tt_gemm_f32(M, N, K, x, K, false, W, K, true, y, N, false);
        double b = now();
        for (int k = 0; k < reps; k++) tt_sparse_linear_f32(M, N, K, x, W, idx, vals, y);
        double c = now();
        if (r >= 0) td[r] = 1e6 * (b - a) / reps, ts[r] = 1e6 * (c - b) / reps;
      }
      qsort(td, (size_t)runs, sizeof(double), cmpd);
      qsort(ts, (size_t)runs, sizeof(double), cmpd);
      printf("%7.0f%% %4lld %9.2f (%5.2f-%5.2f) %9.2f (%5.2f-%5.2f) %6.2fx %7.2fx\n", 100 * dens[d],
             (long long)M, td[runs / 2], td[0], td[runs - 1], ts[runs / 2], ts[0], ts[runs - 1],
             td[runs / 2] / ts[runs / 2], idx[5] / (double)(idx[4] ? idx[4] : 1));
    }
    printf("         pack (index + values, once per change of the weight): %.1f us\n", 1e6 * tpack);
  }
  return 0;
}
