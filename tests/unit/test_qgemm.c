/*
 * test_qgemm.c — the int8 GEMM and convolution (runtime/qgemm.c) against their naive twins.
 *
 * Integer arithmetic is exact, so the fast paths must equal the twins bit for bit. Shapes
 * cover the block edges (1, MR/NR +-1, K not a multiple of 4, KC +-1), both B layouts, both
 * A types, the extreme codes (where u8 x s8 tricks overflow or lose the correction),
 * leading dimensions larger than the rows, accumulate on and off, empty sizes, and B packed
 * per call or once ahead (tt_qpack_b). Guard
 * values around C check that nothing outside the M x N window is written.
 *
 * ctest runs this as the library was built (the portable kernel unless the build targets
 * VNNI); tests/quant.sh builds it again with -march=native, which runs the vpdpbusd kernel.
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

#define GUARD 0x5a5a5a5a

static uint64_t lcg_state = 88172645463325252ull;

static uint64_t lcg(void) {
  lcg_state = lcg_state * 6364136223846793005ull + 1442695040888963407ull;
  return lcg_state >> 33;
}

/* mode 0: uniform codes; 1: only the extremes (-128/127, 0/255); 2: all at the minimum */
static int code(bool is_unsigned, int mode) {
  int lo = is_unsigned ? 0 : -128, hi = is_unsigned ? 255 : 127;
  if (mode == 1)
    return lcg() % 2 ? lo : hi;
  if (mode == 2)
    return lo;
  return lo + (int)(lcg() % 256);
}

/* One case: the fast result equals the naive one, and the guards are intact. */
static bool check_case(int64_t M, int64_t N, int64_t K, bool tb, int64_t pad, bool accumulate,
                       bool a_unsigned, int32_t za, int mode) {
  int64_t lda = K + pad, ldb = (tb ? K : N) + pad, ldc = N + pad;
  int64_t brows = tb ? N : K;
  size_t asz = (size_t)(M * lda) + 1, bsz = (size_t)(brows * ldb) + 1;
  size_t csz = (size_t)(M * ldc) + 1;
  uint8_t *A = tt_alloc(asz);
  int8_t *B = tt_alloc(bsz);
  int32_t *C1 = tt_alloc(csz * sizeof(int32_t)), *C2 = tt_alloc(csz * sizeof(int32_t));
  for (size_t i = 0; i < asz; i++)
    A[i] = (uint8_t)code(a_unsigned, mode);
  for (size_t i = 0; i < bsz; i++)
    B[i] = (int8_t)code(false, mode);
  for (size_t i = 0; i < csz; i++)
    C1[i] = C2[i] = GUARD;
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++)
      C1[i * ldc + j] = C2[i * ldc + j] = (int32_t)(lcg() % 2001) - 1000;
  if (a_unsigned && lcg() % 2) { /* the pre-packed path, half of the unsigned cases */
    void *Bp = tt_alloc(tt_qpack_b_size(N, K) + 1);
    tt_qpack_b(N, K, B, ldb, tb, Bp);
    tt_gemm_u8s8_packed(M, N, K, A, lda, za, Bp, C1, ldc, accumulate);
    tt_gemm_u8s8_naive(M, N, K, A, lda, za, B, ldb, tb, C2, ldc, accumulate);
    tt_free(Bp);
  } else if (a_unsigned) {
    tt_gemm_u8s8(M, N, K, A, lda, za, B, ldb, tb, C1, ldc, accumulate);
    tt_gemm_u8s8_naive(M, N, K, A, lda, za, B, ldb, tb, C2, ldc, accumulate);
  } else {
    tt_gemm_s8s8(M, N, K, (int8_t *)A, lda, za, B, ldb, tb, C1, ldc, accumulate);
    tt_gemm_s8s8_naive(M, N, K, (int8_t *)A, lda, za, B, ldb, tb, C2, ldc, accumulate);
  }
  bool ok = true;
  for (size_t i = 0; i < csz && ok; i++) {
    int64_t r = (int64_t)i / ldc, c = (int64_t)i % ldc;
    if (!(r < M && c < N))
      ok = C1[i] == GUARD && C2[i] == GUARD;
    else
      ok = C1[i] == C2[i];
    if (!ok)
      print_error("M=%lld N=%lld K=%lld tb=%d pad=%lld acc=%d u8=%d za=%d mode=%d at (%lld,%lld):"
                  " %d vs naive %d\n",
                  (long long)M, (long long)N, (long long)K, tb, (long long)pad, accumulate,
                  a_unsigned, za, mode, (long long)r, (long long)c, C1[i], C2[i]);
  }
  tt_free(A);
  tt_free(B);
  tt_free(C1);
  tt_free(C2);
  return ok;
}

static void test_qgemm_block_edges(void **state) {
  (void)state;
  /* MR = 6, NR = 32, KC = 1024, MC = 72, NC = 512 */
  static const int64_t Ms[] = {1, 5, 6, 7, 13, 71, 72, 73};
  static const int64_t Ns[] = {1, 3, 31, 32, 33, 65};
  static const int64_t Ks[] = {1, 2, 3, 4, 5, 7, 64, 1023, 1025};
  for (size_t m = 0; m < sizeof Ms / sizeof *Ms; m++)
    for (size_t n = 0; n < sizeof Ns / sizeof *Ns; n++)
      for (size_t k = 0; k < sizeof Ks / sizeof *Ks; k++) {
        bool u8 = (m + n + k) % 2 == 0;
        int32_t za = u8 ? (int32_t)(lcg() % 256) : (int32_t)(lcg() % 256) - 128;
        assert_true(check_case(Ms[m], Ns[n], Ks[k], (m + k) % 2 == 0, (int64_t)(n % 3),
                               k % 2 == 1, u8, za, 0));
      }
}

static void test_qgemm_random_shapes(void **state) {
  (void)state;
  for (int t = 0; t < 60; t++) {
    int64_t M = 1 + (int64_t)(lcg() % 150), N = 1 + (int64_t)(lcg() % 600);
    int64_t K = 1 + (int64_t)(lcg() % 1500);
    bool u8 = lcg() % 2;
    int32_t za = u8 ? (int32_t)(lcg() % 256) : (int32_t)(lcg() % 256) - 128;
    assert_true(check_case(M, N, K, lcg() % 2, (int64_t)(lcg() % 4), lcg() % 2, u8, za, 0));
  }
}

/* The extremes: 255 * -128 products over the largest K, zero points at both ends. The
 * partial sums of the unsigned trick pass int32's range here; the result must not. */
static void test_qgemm_extreme_codes(void **state) {
  (void)state;
  assert_true(check_case(7, 33, 65536, true, 0, false, true, 0, 2));
  assert_true(check_case(7, 33, 65536, true, 0, false, true, 255, 1));
  assert_true(check_case(7, 33, 65536, false, 1, false, false, -128, 2));
  assert_true(check_case(7, 33, 4099, false, 0, true, false, 127, 1));
  assert_true(check_case(13, 40, 2053, true, 2, false, true, 128, 1));
  /* one row (a Linear at batch 1): the unpacked dot-product path, tails past 64 bytes */
  for (int t = 0; t < 4; t++) {
    assert_true(check_case(1, 37, 65536, true, 0, t % 2, true, t % 2 ? 255 : 0, 1));
    assert_true(check_case(1, 33, 4099, true, 3, t % 2, false, t % 2 ? -128 : 127, 1));
    assert_true(check_case(1, 5, 63 + t, true, 1, false, false, 9, 0));
  }
}

static void test_qgemm_empty_sizes(void **state) {
  (void)state;
  assert_true(check_case(0, 5, 7, false, 0, false, true, 3, 0));
  assert_true(check_case(5, 0, 7, true, 1, false, false, 3, 0)); /* ldc 1 */
  assert_true(check_case(5, 7, 0, false, 0, false, true, 3, 0)); /* zeroes C */
  assert_true(check_case(5, 7, 0, true, 0, true, false, 3, 0));  /* leaves C */
}

/* A K too large for int32 and a zero point outside the code range stop with a message. */
static jmp_buf fatal_jmp;
static char fatal_msg[256];
static void on_fatal(const char *msg) {
  snprintf(fatal_msg, sizeof fatal_msg, "%s", msg);
  longjmp(fatal_jmp, 1);
}

static void test_qgemm_refuses_bad_arguments(void **state) {
  (void)state;
  uint8_t a[4] = {0};
  int8_t b[4] = {0};
  int32_t c[4];
  tt_set_fatal_hook(on_fatal);
  if (!setjmp(fatal_jmp)) {
    tt_gemm_u8s8(1, 1, 65537, a, 65537, 0, b, 65537, true, c, 1, false);
    fail_msg("no error for K = 65537");
  }
  assert_non_null(strstr(fatal_msg, "K=65537"));
  if (!setjmp(fatal_jmp)) {
    tt_gemm_u8s8(1, 1, 4, a, 4, 256, b, 4, true, c, 1, false);
    fail_msg("no error for zero point 256");
  }
  assert_non_null(strstr(fatal_msg, "zero point 256"));
  if (!setjmp(fatal_jmp)) {
    tt_gemm_s8s8(1, 1, 4, (int8_t *)a, 4, 128, b, 4, true, c, 1, false);
    fail_msg("no error for int8 zero point 128");
  }
  assert_non_null(strstr(fatal_msg, "zero point 128"));
  tt_set_fatal_hook(NULL);
}

/* The threaded split gives the same bits as one thread (it splits columns at NR). */
static void test_qgemm_threads_bit_identical(void **state) {
  (void)state;
  int64_t M = 100, N = 300, K = 700;
  uint8_t *A = tt_alloc((size_t)(M * K));
  int8_t *B = tt_alloc((size_t)(N * K));
  int32_t *C1 = tt_alloc((size_t)(M * N) * 4), *C2 = tt_alloc((size_t)(M * N) * 4);
  for (int64_t i = 0; i < M * K; i++)
    A[i] = (uint8_t)code(true, 0);
  for (int64_t i = 0; i < N * K; i++)
    B[i] = (int8_t)code(false, 0);
  tt_gemm_threads(2);
  tt_gemm_u8s8(M, N, K, A, K, 17, B, K, true, C1, N, false);
  tt_gemm_threads(1);
  tt_gemm_u8s8(M, N, K, A, K, 17, B, K, true, C2, N, false);
  tt_gemm_threads(2);
  assert_memory_equal(C1, C2, (size_t)(M * N) * 4);
  tt_free(A);
  tt_free(B);
  tt_free(C1);
  tt_free(C2);
}

/* im2row convolution against the direct loops: strides, paddings, odd sizes, 1x1 kernels,
 * and a zero point that the padding must carry (padding with 0 instead gives other sums). */
static bool check_conv(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                       int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int32_t xz) {
  int64_t OH = (H + 2 * ph - R) / sh + 1, OW = (W + 2 * pw - S) / sw + 1;
  size_t xn = (size_t)(N * C * H * W), wn = (size_t)(K * C * R * S), yn = (size_t)(N * K * OH * OW);
  uint8_t *x = tt_alloc(xn);
  int8_t *w = tt_alloc(wn);
  int32_t *y1 = tt_alloc(yn * 4), *y2 = tt_alloc(yn * 4);
  void *ws = tt_alloc(tt_conv2d_q8_workspace(C, H, W, K, R, S, sh, sw, ph, pw));
  for (size_t i = 0; i < xn; i++)
    x[i] = (uint8_t)code(true, 0);
  for (size_t i = 0; i < wn; i++)
    w[i] = (int8_t)code(false, 0);
  tt_conv2d_u8s8(x, xz, w, y1, N, C, H, W, K, R, S, sh, sw, ph, pw, ws);
  tt_conv2d_u8s8_naive(x, xz, w, y2, N, C, H, W, K, R, S, sh, sw, ph, pw);
  bool ok = memcmp(y1, y2, yn * 4) == 0;
  /* the int8 twin: the same bytes read as int8, with the zero point moved likewise */
  tt_conv2d_s8s8((const int8_t *)x, xz - 128, w, y1, N, C, H, W, K, R, S, sh, sw, ph, pw, ws);
  tt_conv2d_s8s8_naive((const int8_t *)x, xz - 128, w, y2, N, C, H, W, K, R, S, sh, sw, ph, pw);
  ok = ok && memcmp(y1, y2, yn * 4) == 0;
  if (!ok)
    print_error("conv N=%lld C=%lld H=%lld W=%lld K=%lld R=%lld S=%lld s=%lld,%lld p=%lld,%lld\n",
                (long long)N, (long long)C, (long long)H, (long long)W, (long long)K,
                (long long)R, (long long)S, (long long)sh, (long long)sw, (long long)ph,
                (long long)pw);
  tt_free(x);
  tt_free(w);
  tt_free(y1);
  tt_free(y2);
  tt_free(ws);
  return ok;
}

static void test_qconv_matches_naive(void **state) {
  (void)state;
  assert_true(check_conv(2, 1, 28, 28, 8, 3, 3, 1, 1, 1, 1, 0));
  assert_true(check_conv(1, 3, 7, 9, 5, 3, 2, 2, 1, 1, 0, 200));
  assert_true(check_conv(3, 16, 14, 14, 33, 3, 3, 1, 1, 1, 1, 77));
  assert_true(check_conv(1, 4, 5, 5, 6, 1, 1, 1, 1, 0, 0, 255));
  assert_true(check_conv(2, 2, 6, 5, 3, 5, 5, 3, 2, 2, 2, 128));
  assert_true(check_conv(1, 7, 11, 3, 40, 2, 3, 2, 3, 0, 1, 5));
}


/* The quantize kernels give PyTorch's codes: these are torch.quantize_per_tensor's on the same
 * inputs (scale 0.1, zero point 0; ties round half to even after the float32 product with
 * 1.0f / 0.1f; NaN, infinities and values past int64 give the lowest code). */
static void test_quantize_matches_pytorch(void **state) {
  (void)state;
  const float x[] = {0.05f, 0.15f, 0.25f, -0.05f, 0.35f, 2.5f, 0.5f, 1.5f,
                     NAN, INFINITY, -INFINITY, 1e20f, -1e20f, 12.7f, -12.8f, 12.75f, 12.85f};
  const int8_t want_s8[] = {0, 2, 2, 0, 4, 25, 5, 15, -128, -128, -128, -128, -128, 127, -128, 127, 127};
  enum { n = sizeof x / sizeof x[0] };
  int8_t s8[n];
  uint8_t u8[n];
  tt_quantize_f32_s8(x, s8, n, 1.0f / 0.1f, 0);
  assert_memory_equal(s8, want_s8, n);
  const uint8_t want_u8[] = {0, 2, 2, 0, 4, 25, 5, 15, 0, 0, 0, 0, 0, 127, 0, 128, 128};
  tt_quantize_f32_u8(x, u8, n, 1.0f / 0.1f, 0);
  assert_memory_equal(u8, want_u8, n);
  tt_quantize_f32_u8(x, u8, 8, 1.0f / 0.1f, 128); /* the zero point shifts the codes */
  for (int i = 0; i < 8; i++)
    assert_int_equal(u8[i], 128 + want_s8[i]);
}

static void test_qlinear_epilogue(void **state) {
  (void)state;
  const int32_t acc[6] = {100, -200, 0, 7, INT32_MAX, -3};
  const float sw[3] = {0.5f, 0.25f, 2.0f}, bias[3] = {1.0f, -1.0f, 0.5f};
  float y[6];
  tt_qlinear_epilogue(acc, y, 2, 3, 0.1f, sw, bias, false);
  for (int i = 0; i < 6; i++)
    assert_true(y[i] == (float)acc[i] * (0.1f * sw[i % 3]) + bias[i % 3]);
  tt_qlinear_epilogue(acc, y, 2, 3, 0.1f, sw, NULL, true);
  for (int i = 0; i < 6; i++) {
    float v = (float)acc[i] * (0.1f * sw[i % 3]);
    assert_true(y[i] == (v > 0 ? v : 0.0f));
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_qgemm_block_edges),
      cmocka_unit_test(test_qgemm_random_shapes),
      cmocka_unit_test(test_qgemm_extreme_codes),
      cmocka_unit_test(test_qgemm_empty_sizes),
      cmocka_unit_test(test_qgemm_refuses_bad_arguments),
      cmocka_unit_test(test_qgemm_threads_bit_identical),
      cmocka_unit_test(test_qconv_matches_naive),
      cmocka_unit_test(test_quantize_matches_pytorch),
      cmocka_unit_test(test_qlinear_epilogue),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
