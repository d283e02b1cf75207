/*
 * qgemm.c — integer matrix multiplication and convolution for quantized programs:
 * C[M,N] (+)= (A[M,K] - za) @ op(B)[K,N] in exact int32 arithmetic, A of uint8 or int8
 * codes with a zero point (activations), B of int8 codes (symmetric weights, no zero point).
 *
 * The loop nest is gemm.c's (GotoBLAS/BLIS: pack a KC x NC panel of B, an MC x KC block of A,
 * run a MR x NR register block over them), with the packing shaped for the dot-product
 * instruction of AVX-512 VNNI, vpdpbusd: it multiplies 4 unsigned bytes of one operand by 4
 * signed bytes of the other and adds the four products to a 32-bit lane, 64 multiply-adds per
 * instruction. Packed A holds, for each row, 4 consecutive k as one 32-bit word (broadcast to
 * every lane); packed B holds, for each column, the same 4 k as the matching word of its lane:
 *
 *   pack_a[panel][k/4][r][k%4]   MR rows           (uint8 codes)
 *   pack_b[panel][k/4][c][k%4]   NR columns        (int8 codes)
 *
 * vpdpbusd wants the unsigned operand on A's side, so the arithmetic is done on unsigned
 * codes u = a ^ flip (flip = 0x80 for int8 A, which maps a to a + 128) and the zero point
 * moves with it, z = za (+ 128 for int8 A). Then
 *
 *   sum_k (a - za) b  =  sum_k u b  -  z * sum_k b
 *
 * and the second term, the correction, is z times B's column sum, computed while B is packed
 * and subtracted when the block is stored. Padding past K is zero in both operands.
 *
 * The products are exact and the sums are in int32, so every path (VNNI, the portable C
 * kernel, the naive twin, one thread or two) gives identical bits. vpdpbusd wraps rather than
 * saturates; the true result fits int32 when |u - z| * 128 * K does, i.e. for K <= 65536,
 * which the entry points check. The partial sums sum_k u b may wrap on the way (the
 * correction brings them back), so the portable kernel sums in uint32, where wrapping is
 * defined, as the instruction's lanes do.
 *
 * Without __AVX512VNNI__ the micro-kernel is plain C over the same packing; gcc 12 at
 * -O3 -march=native does not turn it into vpdpbusd (it widens the bytes and multiplies with
 * vpmulld), hence the intrinsics.
 *
 * The convolution is im2col as conv.c's, but transposed: one row per output pixel holding its
 * C*R*S patch, so that the activations are A (the unsigned side) and the weights [K, C*R*S]
 * are B transposed. Padding is the activations' zero point, the code of 0.0.
 */
#include "tt.h"

#include <math.h>
#include <string.h>

/* TT_QGEMM_PORTABLE: the plain C kernel even where VNNI is there (tests, benchmarks) */
#if defined(__AVX512VNNI__) && !defined(TT_QGEMM_PORTABLE)
#define QGEMM_VNNI 1
#include <immintrin.h>
#endif

/* Register block: MR rows x NR columns of int32 accumulators, 6 x 2 zmm registers. */
#define MR 6
#define NR 32
/* Cache blocks (bytes of codes): a MR x KC sliver of A (6 KiB) and a KC x NR sliver of B
 * (32 KiB) in L1/L2, the MC x KC block of A (72 KiB) in L2, the KC x NC panel of B (512 KiB)
 * in L2/L3. */
#define KC 1024
#define MC 72
#define NC 512
/* The largest K whose exact result fits int32 (see the header comment). */
#define QGEMM_MAX_K 65536

_Static_assert(MC % MR == 0, "MC must be a multiple of MR");
_Static_assert(NC % NR == 0, "NC must be a multiple of NR");
_Static_assert(KC % 4 == 0, "KC must be a multiple of 4");

static _Thread_local TT_ALIGN uint8_t pack_a[MC * KC];
static _Thread_local TT_ALIGN int8_t pack_b[KC * NC];
static _Thread_local TT_ALIGN int32_t colsum[NC];

/* A[i0.., k0..] as unsigned codes (a ^ flip), panels of MR rows, 4 k per row word. */
static void pack_a_block(int64_t mc, int64_t kc, const uint8_t *A, int64_t lda, uint8_t flip,
                         int64_t i0, int64_t k0, uint8_t *restrict dst) {
  int64_t kc4 = (kc + 3) / 4 * 4, kfull = kc / 4 * 4;
  uint32_t flip4 = 0x01010101u * flip;
  for (int64_t p = 0; p < mc; p += MR) {
    int64_t rows = mc - p < MR ? mc - p : MR;
    uint8_t *restrict d = dst + p * kc4;
    for (int64_t r = 0; r < MR; r++) {
      if (r >= rows) {
        for (int64_t k = 0; k < kc4; k += 4)
          memset(d + k * MR + r * 4, 0, 4);
        continue;
      }
      const uint8_t *src = A + (i0 + p + r) * lda + k0;
      for (int64_t k = 0; k < kfull; k += 4) {
        uint32_t w;
        memcpy(&w, src + k, 4);
        w ^= flip4;
        memcpy(d + k * MR + r * 4, &w, 4);
      }
      if (kfull < kc4) {
        uint8_t w[4] = {0, 0, 0, 0};
        for (int64_t k = kfull; k < kc; k++)
          w[k - kfull] = (uint8_t)(src[k] ^ flip);
        memcpy(d + kfull * MR + r * 4, w, 4);
      }
    }
  }
}

/* op(B)[k0.., j0..], panels of NR columns, 4 k per column word; sums[c] = sum_k op(B)[k][c].
 * Past kc and past nc: zeros. */
static void pack_b_block(int64_t kc, int64_t nc, const int8_t *B, int64_t ldb, bool transB,
                         int64_t k0, int64_t j0, int8_t *restrict dst, int32_t *restrict sums) {
  int64_t kc4 = (kc + 3) / 4 * 4, ncp = (nc + NR - 1) / NR * NR;
  for (int64_t p = 0; p < ncp; p += NR) {
    int8_t *restrict d = dst + p * kc4;
    memset(d, 0, (size_t)(kc4 * NR));
    int64_t cols = nc - p < NR ? nc - p : NR;
    if (transB) {
      for (int64_t c = 0; c < cols; c++) {
        const int8_t *src = B + (j0 + p + c) * ldb + k0;
        int32_t s = 0;
        for (int64_t k = 0; k < kc; k++)
          s += src[k];
        sums[p + c] = s;
        int64_t k = 0;
        for (; k + 4 <= kc; k += 4)
          memcpy(d + (k * NR + c * 4), src + k, 4);
        for (; k < kc; k++)
          d[k / 4 * 4 * NR + c * 4 + k % 4] = src[k];
      }
    } else {
      int32_t s[NR] = {0};
      for (int64_t k = 0; k < kc; k++) {
        const int8_t *src = B + (k0 + k) * ldb + j0 + p;
        int8_t *dk = d + k / 4 * 4 * NR + k % 4;
        for (int64_t c = 0; c < cols; c++) {
          dk[c * 4] = src[c];
          s[c] += src[c];
        }
      }
      for (int64_t c = 0; c < cols; c++)
        sums[p + c] = s[c];
    }
    for (int64_t c = cols; c < NR; c++)
      sums[p + c] = 0;
  }
}

/* C[mr, nr] (+)= a[kc4/4][MR][4]^T b[kc4/4][NR][4] - z * sums, clipped to mr x nr. ROWS is a
 * compile-time row count (MR, or 1 for a single row of A: a Linear at batch 1), so the
 * accumulators stay in registers and no work is spent on padding rows. */
static inline __attribute__((always_inline)) void
kernel_rows(const int ROWS, int64_t kc4, const uint8_t *restrict a, const int8_t *restrict b,
            const int32_t *restrict sums, int32_t z, int32_t *restrict C, int64_t ldc, int64_t mr,
            int64_t nr, bool add, bool ct) {
  TT_ALIGN int32_t tile[MR * NR];
#ifdef QGEMM_VNNI
  __m512i acc[MR][2];
  for (int r = 0; r < ROWS; r++)
    acc[r][0] = acc[r][1] = _mm512_setzero_si512();
  for (int64_t k = 0; k < kc4; k += 4) {
    __m512i b0 = _mm512_load_si512((const void *)(b + k * NR));
    __m512i b1 = _mm512_load_si512((const void *)(b + k * NR + 64));
    const uint8_t *ak = a + k * MR;
    for (int r = 0; r < ROWS; r++) {
      int32_t w;
      memcpy(&w, ak + 4 * r, 4);
      __m512i av = _mm512_set1_epi32(w);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
      acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
    }
  }
  for (int r = 0; r < ROWS; r++) {
    _mm512_store_si512((void *)(tile + r * NR), acc[r][0]);
    _mm512_store_si512((void *)(tile + r * NR + 16), acc[r][1]);
  }
#else
  uint32_t acc[MR][NR];
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < NR; j++)
      acc[r][j] = 0;
  for (int64_t k = 0; k < kc4; k += 4) {
    const int8_t *restrict bk = b + k * NR;
    const uint8_t *restrict ak = a + k * MR;
    for (int r = 0; r < ROWS; r++)
      for (int j = 0; j < NR; j++) {
        int32_t dot = 0;
        for (int t = 0; t < 4; t++)
          dot += (int32_t)ak[r * 4 + t] * (int32_t)bk[j * 4 + t];
        acc[r][j] += (uint32_t)dot;
      }
  }
  for (int r = 0; r < ROWS; r++)
    for (int j = 0; j < NR; j++)
      tile[r * NR + j] = (int32_t)acc[r][j];
#endif
  if (ct) { /* C transposed: element (i, j) at C[j * ldc + i] (a convolution's NCHW) */
    for (int64_t j = 0; j < nr; j++)
      for (int64_t i = 0; i < mr; i++) {
        uint32_t v = (uint32_t)tile[i * NR + j] - (uint32_t)z * (uint32_t)sums[j];
        C[j * ldc + i] = (int32_t)(add ? (uint32_t)C[j * ldc + i] + v : v);
      }
    return;
  }
  for (int64_t i = 0; i < mr; i++) {
    int32_t *restrict c = C + i * ldc;
    const int32_t *restrict t = tile + i * NR;
    /* uint32: the partial sum may have wrapped; the corrected value fits int32 */
    if (add)
      for (int64_t j = 0; j < nr; j++)
        c[j] = (int32_t)((uint32_t)c[j] + (uint32_t)t[j] - (uint32_t)z * (uint32_t)sums[j]);
    else
      for (int64_t j = 0; j < nr; j++)
        c[j] = (int32_t)((uint32_t)t[j] - (uint32_t)z * (uint32_t)sums[j]);
  }
}

static void micro_kernel(int64_t kc4, const uint8_t *restrict a, const int8_t *restrict b,
                         const int32_t *restrict sums, int32_t z, int32_t *restrict C,
                         int64_t ldc, int64_t mr, int64_t nr, bool add, bool ct) {
  if (mr == 1)
    kernel_rows(1, kc4, a, b, sums, z, C, ldc, mr, nr, add, ct);
  else
    kernel_rows(MR, kc4, a, b, sums, z, C, ldc, mr, nr, add, ct);
}

/* Pre-packed B (tt_qpack_b): for each KC block of K in order, the panels of all N columns
 * (N rounded up to NR) as pack_b_block lays them out, then that block's column sums. */
static int64_t packed_block_bytes(int64_t N, int64_t kc) {
  int64_t np = (N + NR - 1) / NR * NR;
  return np * ((kc + 3) / 4 * 4) + np * (int64_t)sizeof(int32_t);
}

size_t tt_qpack_b_size(int64_t N, int64_t K) {
  size_t bytes = 0;
  for (int64_t pc = 0; pc < K; pc += KC)
    bytes += (size_t)packed_block_bytes(N, K - pc < KC ? K - pc : KC);
  return bytes;
}

void tt_qpack_b(int64_t N, int64_t K, const int8_t *B, int64_t ldb, bool transB, void *packed) {
  if (N < 0 || K < 0 || K > QGEMM_MAX_K || (N > 0 && K > 0 && (!B || ldb < (transB ? K : N))))
    tt_fatal("qpack_b: bad arguments (N=%lld K=%lld ldb=%lld)", (long long)N, (long long)K,
             (long long)ldb);
  int8_t *p = packed;
  int64_t np = (N + NR - 1) / NR * NR;
  for (int64_t pc = 0; pc < K; pc += KC) {
    int64_t kc = K - pc < KC ? K - pc : KC, kc4 = (kc + 3) / 4 * 4;
    pack_b_block(kc, N, B, ldb, transB, pc, 0, p, (int32_t *)(void *)(p + np * kc4));
    p += packed_block_bytes(N, kc);
  }
}

/* C[:, j0:j1] of the product; j0 is a multiple of NR. B is either packed here (Bp NULL) or
 * taken from Bp, the pre-packed whole of it. */
static void qgemm_cols(int64_t M, int64_t N, int64_t j0, int64_t j1, int64_t K,
                       const uint8_t *A, int64_t lda, uint8_t flip, int32_t z, const int8_t *B,
                       int64_t ldb, bool transB, const int8_t *Bp, int32_t *C, int64_t ldc,
                       bool accumulate, bool ct) {
  int64_t np = (N + NR - 1) / NR * NR;
  for (int64_t jc = j0; jc < j1; jc += NC) {
    int64_t nc = j1 - jc < NC ? j1 - jc : NC;
    const int8_t *blk = Bp;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC, kc4 = (kc + 3) / 4 * 4;
      bool add = accumulate || pc > 0;
      const int8_t *bpanel = pack_b;
      const int32_t *sums = colsum;
      if (Bp) {
        bpanel = blk + jc * kc4;
        sums = (const int32_t *)(const void *)(blk + np * kc4) + jc;
        blk += packed_block_bytes(N, kc);
      } else {
        pack_b_block(kc, nc, B, ldb, transB, pc, jc, pack_b, colsum);
      }
      for (int64_t ic = 0; ic < M; ic += MC) {
        int64_t mc = M - ic < MC ? M - ic : MC;
        pack_a_block(mc, kc, A, lda, flip, ic, pc, pack_a);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int64_t nr = nc - jr < NR ? nc - jr : NR;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t mr = mc - ir < MR ? mc - ir : MR;
            int64_t i0 = ic + ir, j0c = jc + jr;
            micro_kernel(kc4, pack_a + ir * kc4, bpanel + jr * kc4, sums + jr, z,
                         ct ? C + j0c * ldc + i0 : C + i0 * ldc + j0c, ldc, mr, nr, add, ct);
          }
        }
      }
    }
  }
}

static void check_args(const char *name, int64_t M, int64_t N, int64_t K, const void *A,
                       int64_t lda, int32_t za, int32_t zlo, int32_t zhi, const void *B,
                       int64_t ldb, bool transB, const void *C, int64_t ldc) {
  if (M < 0 || N < 0 || K < 0)
    tt_fatal("%s: negative size (M=%lld N=%lld K=%lld)", name, (long long)M, (long long)N,
             (long long)K);
  if (K > QGEMM_MAX_K)
    tt_fatal("%s: K=%lld is more than %d, where int32 sums of int8 products may overflow", name,
             (long long)K, QGEMM_MAX_K);
  if (za < zlo || za > zhi)
    tt_fatal("%s: zero point %d outside [%d, %d]", name, (int)za, (int)zlo, (int)zhi);
  if (M == 0 || N == 0)
    return;
  if (ldc < N || !C)
    tt_fatal("%s: bad C (ldc=%lld, N=%lld)", name, (long long)ldc, (long long)N);
  if (K == 0)
    return;
  if (!A || lda < K)
    tt_fatal("%s: bad A (lda=%lld)", name, (long long)lda);
  if (!B || ldb < (transB ? K : N))
    tt_fatal("%s: bad B (ldb=%lld)", name, (long long)ldb);
}

typedef struct QGemmJob {
  int64_t M, half, N, K, lda, ldb, ldc;
  const uint8_t *A;
  const int8_t *B, *Bp;
  int32_t *C;
  uint8_t flip;
  int32_t z;
  bool transB, accumulate, ct;
} QGemmJob;

static void qgemm_part(void *arg, int part) {
  const QGemmJob *j = arg;
  int64_t j0 = part ? j->half : 0, j1 = part ? j->N : j->half;
  qgemm_cols(j->M, j->N, j0, j1, j->K, j->A, j->lda, j->flip, j->z, j->B, j->ldb, j->transB,
             j->Bp, j->C, j->ldc, j->accumulate, j->ct);
}

/* One row of A against B stored [N, K] (a Linear at batch 1), without packing: per output,
 * the dot product of the row's unsigned codes with the weight row, and the weight row's sum
 * for the correction, 64 bytes at a time. Packing B would touch every weight once more than
 * the product does, which at M = 1 is most of the work. */
static void gemv_rows(int64_t N, int64_t K, const uint8_t *a, uint8_t flip, int32_t z,
                      const int8_t *B, int64_t ldb, int32_t *c, bool accumulate) {
  for (int64_t j = 0; j < N; j++) {
    const int8_t *w = B + j * ldb;
    uint32_t dot = 0;
    int32_t sum = 0;
    int64_t k = 0;
#ifdef QGEMM_VNNI
    __m512i d = _mm512_setzero_si512(), sm = _mm512_setzero_si512();
    const __m512i ones = _mm512_set1_epi8(1), fl = _mm512_set1_epi8((char)flip);
    for (; k + 64 <= K; k += 64) {
      __m512i av = _mm512_xor_si512(_mm512_loadu_si512((const void *)(a + k)), fl);
      __m512i wv = _mm512_loadu_si512((const void *)(w + k));
      d = _mm512_dpbusd_epi32(d, av, wv);
      sm = _mm512_dpbusd_epi32(sm, ones, wv);
    }
    dot = (uint32_t)_mm512_reduce_add_epi32(d);
    sum = _mm512_reduce_add_epi32(sm);
#endif
    for (; k < K; k++) {
      dot += (uint32_t)((int32_t)(uint8_t)(a[k] ^ flip) * (int32_t)w[k]);
      sum += w[k];
    }
    uint32_t v = dot - (uint32_t)z * (uint32_t)sum;
    c[j] = (int32_t)(accumulate ? (uint32_t)c[j] + v : v);
  }
}

static void qgemm(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda, uint8_t flip,
                  int32_t z, const int8_t *B, int64_t ldb, bool transB, const int8_t *Bp,
                  int32_t *C, int64_t ldc, bool accumulate, bool ct) {
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < (ct ? N : M); i++)
        memset(C + i * ldc, 0, (size_t)(ct ? M : N) * sizeof *C);
    return;
  }
  if (M == 1 && transB && !Bp && !ct) {
    gemv_rows(N, K, A, flip, z, B, ldb, C, accumulate);
    return;
  }
  /* a second thread from about 8 M multiply-adds (int8 runs ~4x the float rate) */
  if ((double)M * (double)N * (double)K >= 8e6 && N >= 2 * NR && tt_parallel2_available()) {
    QGemmJob job = {M, (N / 2 + NR - 1) / NR * NR, N, K, lda, ldb, ldc, A, B, Bp, C,
                    flip, z, transB, accumulate, ct};
    tt_parallel2(qgemm_part, &job);
    return;
  }
  qgemm_cols(M, N, 0, N, K, A, lda, flip, z, B, ldb, transB, Bp, C, ldc, accumulate, ct);
}

void tt_gemm_u8s8(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda, int32_t za,
                  const int8_t *B, int64_t ldb, bool transB, int32_t *C, int64_t ldc,
                  bool accumulate) {
  check_args("gemm_u8s8", M, N, K, A, lda, za, 0, 255, B, ldb, transB, C, ldc);
  qgemm(M, N, K, A, lda, 0, za, B, ldb, transB, NULL, C, ldc, accumulate, false);
}

void tt_gemm_u8s8_packed(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda,
                         int32_t za, const void *Bp, int32_t *C, int64_t ldc, bool accumulate) {
  check_args("gemm_u8s8_packed", M, N, K, A, lda, za, 0, 255, Bp, K, true, C, ldc);
  if ((uintptr_t)Bp % 64)
    tt_fatal("gemm_u8s8_packed: packed B is not 64-byte aligned");
  qgemm(M, N, K, A, lda, 0, za, NULL, 0, false, Bp, C, ldc, accumulate, false);
}

void tt_gemm_s8s8(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, int32_t za,
                  const int8_t *B, int64_t ldb, bool transB, int32_t *C, int64_t ldc,
                  bool accumulate) {
  check_args("gemm_s8s8", M, N, K, A, lda, za, -128, 127, B, ldb, transB, C, ldc);
  /* int8 a as the unsigned code a + 128 (its bits with the sign flipped); z moves with it */
  qgemm(M, N, K, (const uint8_t *)A, lda, 0x80, za + 128, B, ldb, transB, NULL, C, ldc,
        accumulate, false);
}

void tt_gemm_u8s8_naive(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda,
                        int32_t za, const int8_t *B, int64_t ldb, bool transB, int32_t *C,
                        int64_t ldc, bool accumulate) {
  check_args("gemm_u8s8_naive", M, N, K, A, lda, za, 0, 255, B, ldb, transB, C, ldc);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += ((int64_t)A[i * lda + k] - za) * (transB ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = (int32_t)(accumulate ? C[i * ldc + j] + acc : acc);
    }
}

void tt_gemm_s8s8_naive(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
                        int32_t za, const int8_t *B, int64_t ldb, bool transB, int32_t *C,
                        int64_t ldc, bool accumulate) {
  check_args("gemm_s8s8_naive", M, N, K, A, lda, za, -128, 127, B, ldb, transB, C, ldc);
  for (int64_t i = 0; i < M; i++)
    for (int64_t j = 0; j < N; j++) {
      int64_t acc = 0;
      for (int64_t k = 0; k < K; k++)
        acc += ((int64_t)A[i * lda + k] - za) * (transB ? B[j * ldb + k] : B[k * ldb + j]);
      C[i * ldc + j] = (int32_t)(accumulate ? C[i * ldc + j] + acc : acc);
    }
}

/* ---- convolution ----------------------------------------------------------------------- */

static int64_t out_extent(int64_t H, int64_t R, int64_t s, int64_t p) {
  return (H + 2 * p - R) / s + 1;
}

static void check_conv(const char *name, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                       int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw, int32_t xz) {
  if (C <= 0 || K <= 0 || R <= 0 || S <= 0 || sh <= 0 || sw <= 0 || ph < 0 || pw < 0 ||
      H + 2 * ph < R || W + 2 * pw < S)
    tt_fatal("%s: bad shape (C=%lld H=%lld W=%lld K=%lld R=%lld S=%lld)", name, (long long)C,
             (long long)H, (long long)W, (long long)K, (long long)R, (long long)S);
  if (C * R * S > QGEMM_MAX_K)
    tt_fatal("%s: C*R*S=%lld is more than %d", name, (long long)(C * R * S), QGEMM_MAX_K);
  if (xz < 0 || xz > 255)
    tt_fatal("%s: zero point %d outside [0, 255]", name, (int)xz);
}

size_t tt_conv2d_q8_workspace(int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                              int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  int64_t P = out_extent(H, R, sh, ph) * out_extent(W, S, sw, pw);
  /* int32 accumulators first (alignment), then the patches */
  return (size_t)(P * K) * sizeof(int32_t) + (size_t)(P * C * R * S);
}

/* im2row of codes x ^ flip, padding pad (the zero point's code after the flip). Per output
 * pixel, the columns of the kernel window that fall inside the image are worked out once,
 * so the copy of each kernel row is branch-free. */
static void im2row(const uint8_t *x, uint8_t *rows, uint8_t flip, uint8_t pad, int64_t C,
                   int64_t H, int64_t W, int64_t R, int64_t S, int64_t sh, int64_t sw, int64_t ph,
                   int64_t pw) {
  int64_t OH = out_extent(H, R, sh, ph), OW = out_extent(W, S, sw, pw), CRS = C * R * S;
  for (int64_t oh = 0; oh < OH; oh++)
    for (int64_t ow = 0; ow < OW; ow++) {
      uint8_t *restrict d = rows + (oh * OW + ow) * CRS;
      int64_t w0 = ow * sw - pw;
      int64_t slo = w0 < 0 ? -w0 : 0, shi = W - w0 < S ? W - w0 : S;
      if (shi < slo) shi = slo;
      for (int64_t c = 0; c < C; c++)
        for (int64_t r = 0; r < R; r++, d += S) {
          int64_t h = oh * sh - ph + r;
          if (h < 0 || h >= H) {
            memset(d, pad, (size_t)S);
            continue;
          }
          const uint8_t *restrict src = x + (c * H + h) * W; /* the image row */
          for (int64_t s = 0; s < slo; s++) d[s] = pad;
          for (int64_t s = slo; s < shi; s++) d[s] = (uint8_t)(src[w0 + s] ^ flip);
          for (int64_t s = shi; s < S; s++) d[s] = pad;
        }
    }
}

void tt_im2row_u8(const uint8_t *x, uint8_t *rows, int32_t xz, int64_t C, int64_t H, int64_t W,
                  int64_t R, int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  im2row(x, rows, 0, (uint8_t)xz, C, H, W, R, S, sh, sw, ph, pw);
}

/* Both activation types: x's codes ^ flip are unsigned with zero point z. */
static void conv_q8(const uint8_t *x, uint8_t flip, int32_t z, const int8_t *w, int32_t *y,
                    int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                    int64_t sh, int64_t sw, int64_t ph, int64_t pw, void *ws) {
  int64_t OH = out_extent(H, R, sh, ph), OW = out_extent(W, S, sw, pw), P = OH * OW;
  int64_t CRS = C * R * S;
  int32_t *acc = ws;
  uint8_t *rows = (uint8_t *)(acc + P * K);
  for (int64_t n = 0; n < N; n++) {
    im2row(x + n * C * H * W, rows, flip, (uint8_t)z, C, H, W, R, S, sh, sw, ph, pw);
    /* y[K, P] = ((rows[P, CRS] - z) @ w[K, CRS]^T)^T: the GEMM stores its tiles transposed,
     * straight into NCHW */
    qgemm(P, K, CRS, rows, CRS, 0, z, w, CRS, true, NULL, y + n * K * P, P, false, true);
  }
}

void tt_conv2d_u8s8(const uint8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                    int64_t sw, int64_t ph, int64_t pw, void *ws) {
  check_conv("conv2d_u8s8", C, H, W, K, R, S, sh, sw, ph, pw, xz);
  conv_q8(x, 0, xz, w, y, N, C, H, W, K, R, S, sh, sw, ph, pw, ws);
}

/* One image's int8 codes as columns: cols[C*R*S, OH*OW], padding xz (the code of 0.0).
 * Each (c, r, s) row is runs of OW codes, contiguous in x for stride 1. */
static void im2col_s8(const int8_t *x, int8_t *cols, int8_t xz, int64_t C, int64_t H, int64_t W,
                      int64_t R, int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  int64_t OH = out_extent(H, R, sh, ph), OW = out_extent(W, S, sw, pw);
  for (int64_t c = 0; c < C; c++)
    for (int64_t r = 0; r < R; r++)
      for (int64_t s = 0; s < S; s++) {
        int8_t *restrict d = cols + ((c * R + r) * S + s) * OH * OW;
        /* the outputs whose input column is inside the image: ow in [lo, hi) */
        int64_t lo = 0, hi = OW;
        while (lo < OW && lo * sw - pw + s < 0) lo++;
        while (hi > lo && (hi - 1) * sw - pw + s >= W) hi--;
        for (int64_t oh = 0; oh < OH; oh++, d += OW) {
          int64_t h = oh * sh - ph + r;
          if (h < 0 || h >= H) {
            memset(d, (unsigned char)xz, (size_t)OW);
            continue;
          }
          const int8_t *restrict src = x + (c * H + h) * W;
          for (int64_t ow = 0; ow < lo; ow++) d[ow] = xz;
          if (sw == 1)
            memcpy(d + lo, src + lo - pw + s, (size_t)(hi - lo));
          else
            for (int64_t ow = lo; ow < hi; ow++) d[ow] = src[ow * sw - pw + s];
          for (int64_t ow = hi; ow < OW; ow++) d[ow] = xz;
        }
      }
}

/* int8 activations can be the GEMM's signed operand, so this one needs no im2row: per image,
 * y[K, P] = W[K, CRS] @ (cols[CRS, P] - xz) with the weights as the unsigned side (w + 128,
 * corrected by 128 times the columns' sums, as any int8 A), and xz's share, xz * sum_k w,
 * taken off each output channel after. The result lands in NCHW directly. */
void tt_conv2d_s8s8(const int8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                    int64_t sw, int64_t ph, int64_t pw, void *ws) {
  check_conv("conv2d_s8s8", C, H, W, K, R, S, sh, sw, ph, pw, xz + 128);
  int64_t P = out_extent(H, R, sh, ph) * out_extent(W, S, sw, pw), CRS = C * R * S;
  int8_t *cols = ws; /* P * CRS bytes: within tt_conv2d_q8_workspace's */
  for (int64_t n = 0; n < N; n++) {
    int32_t *restrict yn = y + n * K * P;
    im2col_s8(x + n * C * H * W, cols, (int8_t)xz, C, H, W, R, S, sh, sw, ph, pw);
    qgemm(K, P, CRS, (const uint8_t *)w, CRS, 0x80, 128, cols, P, false, NULL, yn, P, false, false);
    for (int64_t k = 0; k < K; k++) {
      int32_t sum = 0;
      for (int64_t i = 0; i < CRS; i++) sum += w[k * CRS + i];
      uint32_t corr = (uint32_t)xz * (uint32_t)sum;
      for (int64_t p = 0; p < P; p++) yn[k * P + p] = (int32_t)((uint32_t)yn[k * P + p] - corr);
    }
  }
}

void tt_conv2d_s8s8_naive(const int8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  check_conv("conv2d_s8s8_naive", C, H, W, K, R, S, sh, sw, ph, pw, xz + 128);
  int64_t OH = out_extent(H, R, sh, ph), OW = out_extent(W, S, sw, pw);
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t acc = 0;
          for (int64_t c = 0; c < C; c++)
            for (int64_t r = 0; r < R; r++)
              for (int64_t s = 0; s < S; s++) {
                int64_t h = oh * sh - ph + r, ww = ow * sw - pw + s;
                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                acc += ((int64_t)x[((n * C + c) * H + h) * W + ww] - xz) *
                       w[((k * C + c) * R + r) * S + s];
              }
          y[((n * K + k) * OH + oh) * OW + ow] = (int32_t)acc;
        }
}

void tt_conv2d_u8s8_naive(const uint8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw) {
  check_conv("conv2d_u8s8_naive", C, H, W, K, R, S, sh, sw, ph, pw, xz);
  int64_t OH = out_extent(H, R, sh, ph), OW = out_extent(W, S, sw, pw);
  for (int64_t n = 0; n < N; n++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t oh = 0; oh < OH; oh++)
        for (int64_t ow = 0; ow < OW; ow++) {
          int64_t acc = 0;
          for (int64_t c = 0; c < C; c++)
            for (int64_t r = 0; r < R; r++)
              for (int64_t s = 0; s < S; s++) {
                int64_t h = oh * sh - ph + r, ww = ow * sw - pw + s;
                if (h < 0 || h >= H || ww < 0 || ww >= W)
                  continue; /* padding is the code of 0.0: (xz - xz) * w adds nothing */
                acc += ((int64_t)x[((n * C + c) * H + h) * W + ww] - xz) *
                       w[((k * C + c) * R + r) * S + s];
              }
          y[((n * K + k) * OH + oh) * OW + ow] = (int32_t)acc;
        }
}

/* ---- quantize and dequantize (the edges of an int8 layer) -------------------------------- */

/* PyTorch's quantize_val: zp + nearbyint(x * inv_scale) in float32, converted to int64 (a
 * NaN, an infinity or a value past int64 converts to INT64_MIN there, the x86 result of an
 * undefined conversion, so it lands on qmin), then clamped. */
static inline int64_t quantize_one(float x, float inv_scale, int32_t zp) {
  float r = (float)zp + nearbyintf(x * inv_scale);
  return fabsf(r) < 9223372036854775808.0f ? (int64_t)r : INT64_MIN;
}

void tt_quantize_f32_u8(const float *restrict x, uint8_t *restrict q, int64_t n, float inv_scale,
                        int32_t zp) {
  for (int64_t i = 0; i < n; i++) {
    int64_t v = quantize_one(x[i], inv_scale, zp);
    q[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
  }
}

void tt_quantize_f32_s8(const float *restrict x, int8_t *restrict q, int64_t n, float inv_scale,
                        int32_t zp) {
  for (int64_t i = 0; i < n; i++) {
    int64_t v = quantize_one(x[i], inv_scale, zp);
    q[i] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
  }
}

void tt_qlinear_epilogue(const int32_t *restrict acc, float *restrict y, int64_t M, int64_t N,
                         float sx, const float *restrict sw, const float *restrict bias,
                         bool relu) {
  for (int64_t i = 0; i < M; i++) {
    const int32_t *restrict a = acc + i * N;
    float *restrict yi = y + i * N;
    for (int64_t j = 0; j < N; j++) {
      float v = (float)a[j] * (sx * sw[j]) + (bias ? bias[j] : 0.0f);
      yi[j] = relu && !(v > 0.0f) && v == v ? 0.0f : v;
    }
  }
}
