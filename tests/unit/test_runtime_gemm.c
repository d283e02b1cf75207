/*
 * test_runtime_gemm.c — the tiled GEMM against its naive twin, and the float64 GEMM
 * against a double-precision triple loop written here.
 *
 * Shapes cover the block edges (1, MR/NR +-1, KC +-1, MC +-1, NC +-1), all four transpose
 * combinations, leading dimensions larger than the rows, accumulate on and off, and empty
 * sizes. Guard values around C check that nothing outside the M x N window is written.
 *
 * ctest builds this file with the project's flags (no -march), so it checks the plain C
 * micro-kernel (MR 6, NR 16); tests/gemm_native.sh builds it again with the flags ttc
 * builds programs with (-O3 -march=native), which on an AVX-512 CPU checks the intrinsics
 * kernel (MR 12, NR 32). Products of at most 4 rows take their own path (no packing), tested
 * the same ways.
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

#define GUARD 12345.0f

static uint64_t lcg_state = 88172645463325252ull;

static uint64_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return lcg_state >> 33;
}

static int64_t pick(const int64_t *choices, int n) { return choices[lcg() % (uint64_t)n]; }

static float frand(void) { return (float)((double)(lcg() % 20001) / 10000.0 - 1.0); }

/* One case: returns true when the tiled result matches the naive one. */
static bool check_f32(int64_t M, int64_t N, int64_t K, bool ta, bool tb, int64_t pad,
                      bool accumulate) {
  int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  int64_t arows = ta ? K : M, brows = tb ? N : K;
  size_t asz = (size_t)(arows * lda) + 1, bsz = (size_t)(brows * ldb) + 1;
  size_t csz = (size_t)(M * ldc) + 1;
  float *A = tt_alloc(asz * sizeof(float)), *B = tt_alloc(bsz * sizeof(float));
  float *C1 = tt_alloc(csz * sizeof(float)), *C2 = tt_alloc(csz * sizeof(float));
  for (size_t i = 0; i < asz; i++)
    A[i] = frand();
  for (size_t i = 0; i < bsz; i++)
    B[i] = frand();
  for (size_t i = 0; i < csz; i++)
    C1[i] = C2[i] = GUARD;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++)
      C1[i * ldc + j] = C2[i * ldc + j] = frand();
  tt_gemm_f32(M, N, K, A, lda, ta, B, ldb, tb, C1, ldc, accumulate);
  tt_gemm_f32_naive(M, N, K, A, lda, ta, B, ldb, tb, C2, ldc, accumulate);
  bool ok = true;
  for (size_t i = 0; i < csz && ok; i++) {
    int64_t r = (int64_t)i / ldc, c = (int64_t)i % ldc;
    bool inside = r < M && c < N;
    if (!inside) {
      ok = C1[i] == GUARD;
    } else {
      /* |sum of K products of values in [-1, 1]| error bound for float summation */
      float tol = 1e-5f * (float)(K + 2);
      ok = fabsf(C1[i] - C2[i]) <= tol;
    }
    if (!ok)
      print_error("M=%lld N=%lld K=%lld ta=%d tb=%d pad=%lld acc=%d: [%zu] tiled %g naive %g\n",
                  (long long)M, (long long)N, (long long)K, ta, tb, (long long)pad, accumulate,
                  i, (double)C1[i], (double)C2[i]);
  }
  tt_free(A);
  tt_free(B);
  tt_free(C1);
  tt_free(C2);
  return ok;
}

static void test_gemm_tiled_matches_naive_random(void **state) {
  (void)state;
  static const int64_t sizes[] = {1,  2,  3,  5,  6,  7,  11, 12, 13, 15,
                                  16, 17, 31, 32, 33, 64, 73, 100, 145};
  int bad = 0;
  for (int t = 0; t < 300; t++) {
    int64_t M = pick(sizes, 19), N = pick(sizes, 19), K = pick(sizes, 19);
    bad += !check_f32(M, N, K, lcg() & 1, lcg() & 1, (int64_t)(lcg() % 3) * 5, lcg() & 1);
  }
  assert_int_equal(bad, 0);
}

static void test_gemm_tiled_block_edges(void **state) {
  (void)state;
  int bad = 0;
  /* K across the KC block (256), M across MC (144), N across NC (512); 11, 12, 13 and
   * 31, 32, 33 straddle the register blocks of both kernels */
  static const int64_t shapes[][3] = {{64, 256, 784}, {784, 40, 64}, {73, 35, 257},
                                      {145, 513, 3}, {1, 1, 1}, {1, 600, 1}, {600, 1, 1},
                                      {7, 1, 300}, {64, 10, 256}, {13, 33, 255},
                                      {11, 31, 513}, {12, 32, 256}, {289, 1025, 17},
                                      {300, 96, 600}};
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    for (int tr = 0; tr < 4; tr++)
      bad += !check_f32(shapes[s][0], shapes[s][1], shapes[s][2], tr & 1, tr & 2, tr, tr == 3);
  assert_int_equal(bad, 0);
}

static void test_gemm_empty_sizes(void **state) {
  (void)state;
  float C[6] = {1, 2, 3, 4, 5, 6};
  float A[1] = {7}, B[1] = {8};
  /* K = 0: the product is zero; overwrite clears, accumulate keeps */
  tt_gemm_f32(2, 3, 0, A, 1, false, B, 3, false, C, 3, true);
  assert_true(C[0] == 1 && C[5] == 6);
  tt_gemm_f32(2, 3, 0, A, 1, false, B, 3, false, C, 3, false);
  for (int i = 0; i < 6; i++)
    assert_true(C[i] == 0.0f);
  /* M = 0 or N = 0: nothing is touched, not even with NULL pointers */
  tt_gemm_f32(0, 3, 4, NULL, 4, false, NULL, 3, false, NULL, 3, false);
  tt_gemm_f32(2, 0, 4, NULL, 4, false, NULL, 0, false, NULL, 0, false);
  tt_gemm_f64(0, 0, 0, NULL, 0, false, NULL, 0, false, NULL, 0, false);
  tt_gemm_f32_naive(0, 3, 4, NULL, 4, false, NULL, 3, false, NULL, 3, false);
}

/* The column split between two threads gives the same bits as one thread. */
static void test_gemm_threads_bit_identical(void **state) {
  (void)state;
  srand(7);
  for (int t = 0; t < 12; t++) {
    int M = 1 + rand() % 200, N = 64 + rand() % 700, K = 200 + rand() % 600;
    bool ta = rand() % 2, tb = rand() % 2, acc = rand() % 2;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
    float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *C2 = malloc(sizeof(float) * (size_t)(M * N));
    for (int i = 0; i < M * K; i++) A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < K * N; i++) B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (float)rand() / (float)RAND_MAX;
    tt_gemm_threads(1);
    tt_gemm_f32(M, N, K, A, ta ? M : K, ta, B, tb ? K : N, tb, C1, N, acc);
    tt_gemm_threads(2);
    tt_gemm_f32(M, N, K, A, ta ? M : K, ta, B, tb ? K : N, tb, C2, N, acc);
    assert_memory_equal(C1, C2, sizeof(float) * (size_t)(M * N));
    free(A), free(B), free(C1), free(C2);
  }
}

/* A narrow product (N < NR/2: computed as C^T = B^T A^T) gives the bits of the same
 * columns of a wide one (computed directly): the same FMAs in the same order. */
static void test_gemm_narrow_bits_of_wide(void **state) {
  (void)state;
  srand(11);
  for (int t = 0; t < 24; t++) {
    int M = 32 + rand() % 300, n = 1 + rand() % 7, K = 1 + rand() % 600, W = 40;
    bool ta = t & 1, tb = t & 2, acc = t & 4;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * W));
    float *Cn = malloc(sizeof(float) * (size_t)(M * n)), *Cw = malloc(sizeof(float) * (size_t)(M * W));
    for (int i = 0; i < M * K; i++) A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < K * W; i++) B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < M; i++)
      for (int j = 0; j < W; j++) Cw[i * W + j] = (float)rand() / (float)RAND_MAX;
    for (int i = 0; i < M; i++)
      for (int j = 0; j < n; j++) Cn[i * n + j] = Cw[i * W + j];
    /* op(B)'s first n columns: untransposed, B [K, W] with ldb W; transposed, B [W, K],
     * whose first n rows are op(B)'s first n columns */
    tt_gemm_f32(M, W, K, A, ta ? M : K, ta, B, tb ? K : W, tb, Cw, W, acc);
    tt_gemm_f32(M, n, K, A, ta ? M : K, ta, B, tb ? K : W, tb, Cn, n, acc);
    int bad = 0;
    for (int i = 0; i < M; i++)
      for (int j = 0; j < n; j++) bad += memcmp(&Cn[i * n + j], &Cw[i * W + j], sizeof(float)) != 0;
    if (bad) print_error("M=%d n=%d K=%d ta=%d tb=%d acc=%d: %d differ\n", M, n, K, ta, tb, acc, bad);
    assert_int_equal(bad, 0);
    free(A), free(B), free(Cn), free(Cw);
  }
}

/* Few rows (M <= 4: batch-1 inference, a decode step) take a path that reads op(B) in place:
 * odd sizes around its vector width (16) and column blocks, every transpose, padding,
 * accumulate. */
static void test_gemm_few_rows_matches_naive(void **state) {
  (void)state;
  static const int64_t sizes[] = {1, 2, 3, 7, 15, 16, 17, 31, 33, 63, 64, 65, 127, 128, 129,
                                  255, 257, 300, 511, 513, 784};
  int bad = 0;
  for (int t = 0; t < 400; t++) {
    int64_t M = 1 + (int64_t)(lcg() % 4), N = pick(sizes, 21), K = pick(sizes, 21);
    bad += !check_f32(M, N, K, lcg() & 1, lcg() & 1, (int64_t)(lcg() % 3) * 3, lcg() & 1);
  }
  assert_int_equal(bad, 0);
}

/* Few rows: the same bits as the same rows of a tiled product (the same fused multiply-adds
 * per KC block, in the same order), so batch-1 inference equals a row of a batch and a
 * kvcache decode step's rows equal full recompute's. */
static void test_gemm_few_rows_bits_of_tiled(void **state) {
  (void)state;
  srand(13);
  for (int t = 0; t < 48; t++) {
    int m = 1 + t % 4, Mw = 9, N = 1 + rand() % 300, K = 1 + rand() % 700;
    bool ta = t & 4, tb = t & 8, acc = t & 16;
    float *A = malloc(sizeof(float) * (size_t)(Mw * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
    float *Cw = malloc(sizeof(float) * (size_t)(Mw * N)), *Cs = malloc(sizeof(float) * (size_t)(m * N));
    for (int i = 0; i < Mw * K; i++) A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < K * N; i++) B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < Mw * N; i++) Cw[i] = (float)rand() / (float)RAND_MAX;
    memcpy(Cs, Cw, sizeof(float) * (size_t)(m * N));
    /* op(A)'s first m rows: A [Mw, K] untransposed; transposed, A [K, Mw] with lda Mw */
    tt_gemm_f32(Mw, N, K, A, ta ? Mw : K, ta, B, tb ? K : N, tb, Cw, N, acc);
    tt_gemm_f32(m, N, K, A, ta ? Mw : K, ta, B, tb ? K : N, tb, Cs, N, acc);
    int bad = 0;
    for (int i = 0; i < m * N; i++) bad += memcmp(&Cs[i], &Cw[i], sizeof(float)) != 0;
    if (bad) print_error("m=%d N=%d K=%d ta=%d tb=%d acc=%d: %d differ\n", m, N, K, ta, tb, acc, bad);
    assert_int_equal(bad, 0);
    free(A), free(B), free(Cw), free(Cs);
  }
}

/* Few rows with a large op(B) split between the two threads: the bits of one thread. */
static void test_gemm_few_rows_threads_bit_identical(void **state) {
  (void)state;
  srand(17);
  for (int t = 0; t < 8; t++) {
    int M = 1 + t % 4, N = 1000 + rand() % 1200, K = 1100 + rand() % 400;
    bool ta = t & 1, tb = t & 2, acc = t & 4;
    float *A = malloc(sizeof(float) * (size_t)(M * K)), *B = malloc(sizeof(float) * (size_t)(K * N));
    float *C1 = malloc(sizeof(float) * (size_t)(M * N)), *C2 = malloc(sizeof(float) * (size_t)(M * N));
    for (int i = 0; i < M * K; i++) A[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < K * N; i++) B[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (int i = 0; i < M * N; i++) C1[i] = C2[i] = (float)rand() / (float)RAND_MAX;
    tt_gemm_threads(1);
    tt_gemm_f32(M, N, K, A, ta ? M : K, ta, B, tb ? K : N, tb, C1, N, acc);
    tt_gemm_threads(2);
    tt_gemm_f32(M, N, K, A, ta ? M : K, ta, B, tb ? K : N, tb, C2, N, acc);
    assert_memory_equal(C1, C2, sizeof(float) * (size_t)(M * N));
    free(A), free(B), free(C1), free(C2);
  }
}

static void test_gemm_f64(void **state) {
  (void)state;
  int bad = 0;
  for (int t = 0; t < 60; t++) {
    int64_t M = 1 + (int64_t)(lcg() % 20), N = 1 + (int64_t)(lcg() % 20);
    int64_t K = (int64_t)(lcg() % 20);
    bool ta = lcg() & 1, tb = lcg() & 1, acc = lcg() & 1;
    int64_t pad = (int64_t)(lcg() % 3);
    int64_t lda = (ta ? M : K) + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
    double *A = tt_alloc((size_t)((ta ? K : M) * lda + 1) * sizeof(double));
    double *B = tt_alloc((size_t)((tb ? N : K) * ldb + 1) * sizeof(double));
    double *C = tt_alloc((size_t)(M * ldc) * sizeof(double));
    double *R = tt_alloc((size_t)(M * ldc) * sizeof(double));
    for (int64_t i = 0; i < (ta ? K : M) * lda; i++)
      A[i] = frand();
    for (int64_t i = 0; i < (tb ? N : K) * ldb; i++)
      B[i] = frand();
    for (int64_t i = 0; i < M * ldc; i++)
      C[i] = R[i] = frand();
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double s = 0.0;
        for (int64_t k = 0; k < K; k++)
          s += (ta ? A[k * lda + i] : A[i * lda + k]) * (tb ? B[j * ldb + k] : B[k * ldb + j]);
        R[i * ldc + j] = acc ? R[i * ldc + j] + s : s;
      }
    tt_gemm_f64(M, N, K, A, lda, ta, B, ldb, tb, C, ldc, acc);
    for (int64_t i = 0; i < M * ldc; i++)
      if (fabs(C[i] - R[i]) > 1e-12 * (double)(K + 2))
        bad++;
    tt_free(A);
    tt_free(B);
    tt_free(C);
    tt_free(R);
  }
  assert_int_equal(bad, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_gemm_tiled_matches_naive_random),
      cmocka_unit_test(test_gemm_tiled_block_edges),
      cmocka_unit_test(test_gemm_empty_sizes),
      cmocka_unit_test(test_gemm_f64),
      cmocka_unit_test(test_gemm_threads_bit_identical),
      cmocka_unit_test(test_gemm_narrow_bits_of_wide),
      cmocka_unit_test(test_gemm_few_rows_matches_naive),
      cmocka_unit_test(test_gemm_few_rows_bits_of_tiled),
      cmocka_unit_test(test_gemm_few_rows_threads_bit_identical),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
