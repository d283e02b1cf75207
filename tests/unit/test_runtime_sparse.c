/*
 * test_runtime_sparse.c — the sparse Linear (runtime/sparse.c) against the dense GEMM.
 *
 * Weights of many shapes (slice edges 15/16/17 rows, KC block edges 255/256/257 columns,
 * the MLP's 256 x 784) and densities (all zero, 1%, 10%, 20%, 50%, all nonzero, a row or a
 * column of nonzeros only) are indexed and multiplied with 1 to 70 rows of x. The result
 * must be tt_gemm_f32's bits exactly (the same k order, the same KC blocks), the naive twin's
 * bits too, and within float rounding of the naive GEMM. An index with too little room is
 * marked dense and still gives the GEMM's result.
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

static uint64_t lcg_state = 88172645463325252ull;

static uint64_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return lcg_state >> 33;
}

static float frand(void) { return (float)((double)(lcg() % 20001) / 10000.0 - 1.0); }

/* pattern: 0 random with density dens, 1 only row 0, 2 only column 0 */
static float *make_w(int64_t N, int64_t K, double dens, int pattern) {
  float *W = malloc(sizeof(float) * (size_t)(N * K));
  for (int64_t i = 0; i < N; i++)
    for (int64_t k = 0; k < K; k++) {
      bool nz = pattern == 1 ? i == 0 : pattern == 2 ? k == 0 : (double)(lcg() % 100000) < dens * 100000.0;
      W[i * K + k] = nz ? frand() : 0.0f;
    }
  return W;
}

/* One case: false (with a message) when a result differs. cap < 0: room for every entry. */
static bool check(int64_t M, int64_t N, int64_t K, double dens, int pattern, int64_t cap) {
  float *W = make_w(N, K, dens, pattern);
  int64_t room = (N + 15) / 16 * 16 * K;
  if (cap < 0) cap = room;
  int64_t len = tt_sparse_index_len(N, K, cap);
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)len);
  float *vals = malloc(sizeof(float) * (size_t)(cap > 0 ? cap : 1));
  float *x = malloc(sizeof(float) * (size_t)(M * K));
  float *y1 = malloc(sizeof(float) * (size_t)(M * N)), *y2 = malloc(sizeof(float) * (size_t)(M * N));
  float *y3 = malloc(sizeof(float) * (size_t)(M * N)), *y4 = malloc(sizeof(float) * (size_t)(M * N));
  for (int64_t i = 0; i < M * K; i++) x[i] = frand();
  tt_sparse_index_f32(W, N, K, cap, idx, len);
  tt_sparse_values_f32(W, idx, vals);
  tt_sparse_linear_f32(M, N, K, x, W, idx, vals, y1);
  tt_sparse_linear_f32_naive(M, N, K, x, W, idx, vals, y2);
  tt_gemm_f32(M, N, K, x, K, false, W, K, true, y3, N, false);
  tt_gemm_f32_naive(M, N, K, x, K, false, W, K, true, y4, N, false);
  bool ok = true;
  for (int64_t i = 0; i < M * N && ok; i++) {
    ok = memcmp(&y1[i], &y3[i], sizeof(float)) == 0 && memcmp(&y2[i], &y3[i], sizeof(float)) == 0 &&
         fabsf(y1[i] - y4[i]) <= 1e-5f * (float)(K + 2);
    if (!ok)
      print_error("M=%lld N=%lld K=%lld dens=%g pattern=%d cap=%lld: [%lld] sparse %.9g naive %.9g gemm %.9g "
                  "gemm_naive %.9g\n", (long long)M, (long long)N, (long long)K, dens, pattern,
                  (long long)cap, (long long)i, (double)y1[i], (double)y2[i], (double)y3[i], (double)y4[i]);
  }
  free(W), free(idx), free(vals), free(x), free(y1), free(y2), free(y3), free(y4);
  return ok;
}

static void test_sparse_matches_gemm_bits(void **state) {
  (void)state;
  static const int64_t Ns[] = {1, 10, 15, 16, 17, 33, 256};
  static const int64_t Ks[] = {1, 7, 255, 256, 257, 784};
  static const int64_t Ms[] = {1, 2, 4, 5, 64};
  static const double dens[] = {0.0, 0.01, 0.1, 0.2, 0.5, 1.0};
  int bad = 0;
  for (size_t n = 0; n < sizeof Ns / sizeof Ns[0]; n++)
    for (size_t k = 0; k < sizeof Ks / sizeof Ks[0]; k++)
      for (size_t d = 0; d < sizeof dens / sizeof dens[0]; d++) {
        int64_t M = Ms[(n + k + d) % (sizeof Ms / sizeof Ms[0])];
        bad += !check(M, Ns[n], Ks[k], dens[d], 0, -1);
      }
  assert_int_equal(bad, 0);
}

static void test_sparse_skewed_rows(void **state) {
  (void)state;
  int bad = 0;
  for (int pattern = 1; pattern <= 2; pattern++) {
    bad += !check(3, 40, 600, 0, pattern, -1);
    bad += !check(1, 17, 257, 0, pattern, -1);
  }
  assert_int_equal(bad, 0);
}

/* too little room: the index says dense, and the product is the GEMM's */
static void test_sparse_over_capacity_is_dense(void **state) {
  (void)state;
  float *W = make_w(33, 300, 0.5, 0);
  int64_t cap = 100, len = tt_sparse_index_len(33, 300, cap);
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)len);
  tt_sparse_index_f32(W, 33, 300, cap, idx, len);
  assert_int_equal(idx[3], 1); /* H_DENSE */
  free(W), free(idx);
  assert_true(check(4, 33, 300, 0.5, 0, 100));
  assert_true(check(2, 256, 784, 0.1, 0, 256 * 784 / 10)); /* room for the nonzeros, not the padding */
}

/* whether W [N, K] at density dens gets a sparse index within cap entries */
static bool fits(int64_t N, int64_t K, double dens, int64_t cap) {
  float *W = make_w(N, K, dens, 0);
  int64_t len = tt_sparse_index_len(N, K, cap);
  int32_t *idx = malloc(sizeof(int32_t) * (size_t)len);
  tt_sparse_index_f32(W, N, K, cap, idx, len);
  bool sparse = idx[3] == 0; /* H_DENSE */
  free(W), free(idx);
  return sparse;
}

/* the MLP's first layer at 80% and 90% zeros with the room the prune pass gives it */
static void test_sparse_mlp_layer(void **state) {
  (void)state;
  assert_true(fits(256, 784, 0.2, 256 * 784 / 5 * 3 / 2));
  assert_true(fits(256, 784, 0.1, 256 * 784 / 10 * 3 / 2));
  assert_true(check(1, 256, 784, 0.2, 0, 256 * 784 / 5 * 3 / 2));
  assert_true(check(1, 256, 784, 0.1, 0, 256 * 784 / 10 * 3 / 2));
  assert_true(check(64, 256, 784, 0.1, 0, 256 * 784 / 10 * 3 / 2));
}

/* one thread or two (slices split between them): the same bits */
static void test_sparse_threads_same_bits(void **state) {
  (void)state;
  int bad = 0;
  for (int threads = 1; threads <= 2; threads++) {
    tt_gemm_threads(threads);
    bad += !check(64, 256, 784, 0.1, 0, -1);
    bad += !check(3, 1024, 1100, 0.2, 0, -1); /* the few-row split: 1M weights */
  }
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sparse_matches_gemm_bits),
      cmocka_unit_test(test_sparse_skewed_rows),
      cmocka_unit_test(test_sparse_over_capacity_is_dense),
      cmocka_unit_test(test_sparse_mlp_layer),
      cmocka_unit_test(test_sparse_threads_same_bits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
