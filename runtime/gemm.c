/*
 * gemm.c — C[M,N] (+)= op(A)[M,K] @ op(B)[K,N] for the matmuls and linear layers of
 * generated programs, forward and backward (A^T B and A B^T).
 *
 * tt_gemm_f32 is the GotoBLAS/BLIS loop nest written in plain C11 so that gcc/clang
 * -O3 -march=native vectorize it:
 *
 *   for jc in N step NC:                      B panel of NC columns
 *     for pc in K step KC:                    pack op(B)[pc:pc+KC, jc:jc+NC] (stays in L2)
 *       for ic in M step MC:                  pack op(A)[ic:ic+MC, pc:pc+KC] (stays in L1/L2)
 *         for jr in NC step NR, ir in MC step MR:
 *           micro-kernel: a MR x NR block of C held in registers, rank-1 updates over KC
 *
 * Packing makes both operands contiguous in the order the micro-kernel reads them, and
 * absorbs the transposes and leading dimensions, so one kernel serves all four cases.
 * Edges are zero-padded in the packed panels; the kernel always computes a full block
 * with compile-time bounds and only the store is clipped. The packed panels live in
 * static thread-local buffers sized for the blocking: kernels do not allocate.
 *
 * tt_gemm_f32_naive is the reference the tests compare against; tt_gemm_f64 serves the
 * float64 programs (gradient checks), where simplicity matters more than speed.
 */
#include "tt.h"

#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdlib.h>
#include <unistd.h>

#include <string.h>

/* Register block: MR rows x NR columns of C.
 *
 * With AVX-512 (gcc/clang -march=native on such a CPU), the micro-kernel is written with
 * <immintrin.h>: 12 x 32 floats are 24 of the 32 zmm registers, and each k step is two
 * loads of b and twelve broadcasts of a, each feeding two FMAs. (gcc's own vectorization
 * of the plain kernel picks 256-bit vectors on these CPUs and spills half the block.)
 * Elsewhere the plain C kernel: 6 x 16 floats are 12 of 16 ymm registers with AVX2;
 * twelve independent accumulator chains cover the FMA latency. Both kernels add the k
 * products of one element in the same order, one fused multiply-add each, so which one
 * runs changes no result beyond that (and never the split between threads).
 * TT_GEMM_PORTABLE forces the plain kernel (the unit tests build both). */
#if defined(__AVX512F__) && !defined(TT_GEMM_PORTABLE)
#define TT_GEMM_AVX512 1
#include <immintrin.h>
#ifndef TT_GEMM_MR
#define TT_GEMM_MR 12
#endif
#define MR TT_GEMM_MR
#define NR 32
#else
#define MR 6
#ifndef TT_GEMM_NR
#define TT_GEMM_NR 16
#endif
#define NR TT_GEMM_NR
#endif
/* Cache blocks: a KC x NR sliver of B stays in L1 while the MR x KC slivers of A stream
 * past it; the MC x KC block of A and the KC x NC panel of B stay in L2. */
#ifndef TT_GEMM_KC
#define TT_GEMM_KC 256
#endif
#ifndef TT_GEMM_MC
#define TT_GEMM_MC 144
#endif
#define KC TT_GEMM_KC
#define MC TT_GEMM_MC
#define NC 512

/* ISO C mode turns off gcc's contraction of a * b + c, so the kernel asks for the fused
 * multiply-add by name where the target has one (it vectorizes to vfmadd); elsewhere
 * fmaf would be a slow library call, and the plain expression is the right one. */
#ifdef __FMA__
#include <math.h>
#define FMA(a, b, c) fmaf(a, b, c)
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#endif

_Static_assert(MC % MR == 0, "MC must be a multiple of MR");
_Static_assert(NC % NR == 0, "NC must be a multiple of NR");

static _Thread_local TT_ALIGN float pack_a[MC * KC];
static _Thread_local TT_ALIGN float pack_b[KC * NC];

#ifdef TT_GEMM_AVX512
/*
 * Packing a row-major operand into k-major panels is a transpose (A untransposed, and B
 * transposed: a Linear's x @ W^T). Element by element it stores one float per cycle at a
 * stride; 16 x 16 blocks transposed in registers move 16. Four butterfly stages, stage b
 * swapping bit b of the row index with bit b of the column index: for the rows i (bit b
 * clear) and i | 2^b, lo picks what row i keeps and hi what its partner gets.
 */
typedef struct Tr16 {
  __m512i lo[4], hi[4];
} Tr16;

static Tr16 tr16_make(void) {
  Tr16 t;
  for (int b = 0; b < 4; b++) {
    int bit = 1 << b;
    int32_t lo[16], hi[16];
    for (int j = 0; j < 16; j++) {
      lo[j] = (j & bit) ? 16 + (j ^ bit) : j;
      hi[j] = (j & bit) ? 16 + j : (j | bit);
    }
    t.lo[b] = _mm512_loadu_si512(lo);
    t.hi[b] = _mm512_loadu_si512(hi);
  }
  return t;
}

/* r[j] becomes column j of the 16 x 16 block r[0..15]: lane i of r[j] is lane j of r[i]. */
static inline __attribute__((always_inline)) void transpose16_regs(const Tr16 *t, __m512 r[16]) {
#pragma GCC unroll 4
  for (int b = 0; b < 4; b++) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) {
      if (i & (1 << b)) continue;
      __m512 x = r[i], y = r[i | (1 << b)];
      r[i] = _mm512_permutex2var_ps(x, t->lo[b], y);
      r[i | (1 << b)] = _mm512_permutex2var_ps(x, t->hi[b], y);
    }
  }
}

/* dst + j * ldd, j < 16, gets column j of the 16 floats at src + i * ld for i < nrows (the
 * rest zero); the first lanes of each are stored. */
static inline __attribute__((always_inline)) void transpose16(const Tr16 *t, const float *src,
                                                              int64_t ld, const int nrows,
                                                              float *dst, int64_t ldd,
                                                              __mmask16 lanes) {
  __m512 r[16];
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++)
    r[i] = i < nrows ? _mm512_loadu_ps(src + i * ld) : _mm512_setzero_ps();
  transpose16_regs(t, r);
#pragma GCC unroll 16
  for (int j = 0; j < 16; j++)
    _mm512_mask_storeu_ps(dst + j * ldd, lanes, r[j]);
}
#endif

/* op(A)[i][k] for rows i0.., cols k0..: packed as panels of MR rows, k-major inside:
 * dst[panel][k][r]. Rows past mc are zero. */
static void pack_a_block(int64_t mc, int64_t kc, const float *A, int64_t lda, bool transA,
                         int64_t i0, int64_t k0, float *restrict dst) {
  for (int64_t p = 0; p < mc; p += MR) {
    int64_t rows = mc - p < MR ? mc - p : MR;
    float *restrict d = dst + p * kc;
#ifdef TT_GEMM_AVX512
    if (!transA && rows == MR) {
      Tr16 t = tr16_make();
      const float *src = A + (i0 + p) * lda + k0;
      int64_t k = 0;
      for (; k + 16 <= kc; k += 16)
        transpose16(&t, src + k, lda, MR, d + k * MR, MR, (__mmask16)((1u << MR) - 1));
      for (; k < kc; k++)
        for (int64_t r = 0; r < MR; r++)
          d[k * MR + r] = src[r * lda + k];
      continue;
    }
#endif
    if (!transA) {
      for (int64_t r = 0; r < rows; r++) {
        const float *src = A + (i0 + p + r) * lda + k0;
        for (int64_t k = 0; k < kc; k++)
          d[k * MR + r] = src[k];
      }
    } else {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = A + (k0 + k) * lda + i0 + p;
        for (int64_t r = 0; r < rows; r++)
          d[k * MR + r] = src[r];
      }
    }
    for (int64_t r = rows; r < MR; r++)
      for (int64_t k = 0; k < kc; k++)
        d[k * MR + r] = 0.0f;
  }
}

/* op(B)[k][j] for rows k0.., cols j0..: packed as panels of NR columns, k-major inside:
 * dst[panel][k][c]. Columns past nc are zero. */
static void pack_b_block(int64_t kc, int64_t nc, const float *B, int64_t ldb, bool transB,
                         int64_t k0, int64_t j0, float *restrict dst) {
  for (int64_t p = 0; p < nc; p += NR) {
    int64_t cols = nc - p < NR ? nc - p : NR;
    float *restrict d = dst + p * kc;
#ifdef TT_GEMM_AVX512
    if (transB && cols == NR) {
      Tr16 t = tr16_make();
      for (int h = 0; h < NR / 16; h++) {
        const float *src = B + (j0 + p + 16 * h) * ldb + k0;
        int64_t k = 0;
        for (; k + 16 <= kc; k += 16)
          transpose16(&t, src + k, ldb, 16, d + k * NR + 16 * h, NR, (__mmask16)0xFFFF);
        for (; k < kc; k++)
          for (int64_t c = 0; c < 16; c++)
            d[k * NR + 16 * h + c] = src[c * ldb + k];
      }
      continue;
    }
#endif
    if (!transB) {
      for (int64_t k = 0; k < kc; k++) {
        const float *src = B + (k0 + k) * ldb + j0 + p;
        int64_t c = 0;
        for (; c < cols; c++)
          d[k * NR + c] = src[c];
        for (; c < NR; c++)
          d[k * NR + c] = 0.0f;
      }
    } else {
      for (int64_t c = 0; c < cols; c++) {
        const float *src = B + (j0 + p + c) * ldb + k0;
        for (int64_t k = 0; k < kc; k++)
          d[k * NR + c] = src[k];
      }
      for (int64_t c = cols; c < NR; c++)
        for (int64_t k = 0; k < kc; k++)
          d[k * NR + c] = 0.0f;
    }
  }
}

#ifdef TT_GEMM_AVX512
_Static_assert(MR >= 8 && MR <= 16, "the AVX-512 kernel's row variants are 4, 8 and MR");

/* C[mr, nr] (+)= a[kc, MR]^T @ b[kc, NR] for the first R rows of the packed panel a: the
 * AVX-512 twin of the plain kernel below. acc[i][h] is row i, columns 16h..16h+15; R is a
 * constant where this is inlined, so the loops unroll and every accumulator is a register.
 * Only mr <= R rows and nr <= NR columns are stored, through masks: an edge block needs no
 * scratch, and a short one (the last 4 rows of a batch of 64) computes no padding rows.
 * Each element's arithmetic is the same whichever R computes it. */
static inline __attribute__((always_inline)) void kernel_rows(const int R, int64_t kc,
                                                              const float *restrict a,
                                                              const float *restrict b,
                                                              float *restrict C, int64_t ldc,
                                                              bool add, int64_t mr, int64_t nr) {
  __m512 acc[MR][2];
#pragma GCC unroll 16
  for (int i = 0; i < R; i++)
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; k++) {
    __m512 b0 = _mm512_load_ps(b + k * NR), b1 = _mm512_load_ps(b + k * NR + 16);
    const float *ak = a + k * MR;
#pragma GCC unroll 16
    for (int i = 0; i < R; i++) {
      __m512 ai = _mm512_set1_ps(ak[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
  }
  __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
  __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
#pragma GCC unroll 16
  for (int i = 0; i < R; i++) {
    if (i >= mr) break;
    float *c = C + i * ldc;
    if (add) {
      acc[i][0] = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, c), acc[i][0]);
      acc[i][1] = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, c + 16), acc[i][1]);
    }
    _mm512_mask_storeu_ps(c, m0, acc[i][0]);
    _mm512_mask_storeu_ps(c + 16, m1, acc[i][1]);
  }
}

static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b,
                         float *restrict C, int64_t ldc, bool add) {
  kernel_rows(MR, kc, a, b, C, ldc, add, MR, NR);
}

/* A partial block at the bottom or right edge: the fewest rows that cover it. */
static void edge_kernel(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict C, int64_t ldc, int64_t mr, int64_t nr, bool add) {
  if (mr <= 4)
    kernel_rows(4, kc, a, b, C, ldc, add, mr, nr);
  else if (mr <= 8)
    kernel_rows(8, kc, a, b, C, ldc, add, mr, nr);
  else
    kernel_rows(MR, kc, a, b, C, ldc, add, mr, nr);
}
#else
/* C[MR, NR] (+)= a[kc, MR]^T @ b[kc, NR]. The block of C is six row vectors of NR
 * floats that stay in registers for the whole k loop: every bound is a compile-time
 * constant and no accumulator is indexed by a runtime value (edges go through a scratch
 * block in the caller). One k step is six broadcast-FMAs of a row of b. */
static void micro_kernel(int64_t kc, const float *restrict a, const float *restrict b,
                         float *restrict C, int64_t ldc, bool add) {
  float c0[NR] = {0}, c1[NR] = {0}, c2[NR] = {0}, c3[NR] = {0}, c4[NR] = {0}, c5[NR] = {0};
  for (int64_t k = 0; k < kc; k++) {
    const float *restrict bk = b + k * NR;
    const float *restrict ak = a + k * MR;
    float a0 = ak[0], a1 = ak[1], a2 = ak[2], a3 = ak[3], a4 = ak[4], a5 = ak[5];
    for (int j = 0; j < NR; j++) {
      float bj = bk[j];
      c0[j] = FMA(a0, bj, c0[j]);
      c1[j] = FMA(a1, bj, c1[j]);
      c2[j] = FMA(a2, bj, c2[j]);
      c3[j] = FMA(a3, bj, c3[j]);
      c4[j] = FMA(a4, bj, c4[j]);
      c5[j] = FMA(a5, bj, c5[j]);
    }
  }
  const float *rows[MR] = {c0, c1, c2, c3, c4, c5};
  if (add) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++)
        C[i * ldc + j] += rows[i][j];
  } else {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++)
        C[i * ldc + j] = rows[i][j];
  }
}

/* A partial block at the bottom or right edge: computed whole into scratch, stored
 * clipped to mr x nr. */
static void edge_kernel(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict C, int64_t ldc, int64_t mr, int64_t nr, bool add) {
  TT_ALIGN float tile[MR * NR];
  micro_kernel(kc, a, b, tile, NR, false);
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++)
      C[i * ldc + j] = add ? C[i * ldc + j] + tile[i * NR + j] : tile[i * NR + j];
}
#endif

static void check_args(const char *name, int64_t M, int64_t N, int64_t K, const void *A,
                       int64_t lda, bool transA, const void *B, int64_t ldb, bool transB,
                       const void *C, int64_t ldc) {
  if (M < 0 || N < 0 || K < 0)
    tt_fatal("%s: negative size (M=%lld N=%lld K=%lld)", name, (long long)M, (long long)N,
             (long long)K);
  if (M == 0 || N == 0)
    return;
  if (ldc < N || !C)
    tt_fatal("%s: bad C (ldc=%lld, N=%lld)", name, (long long)ldc, (long long)N);
  if (K == 0)
    return;
  if (!A || lda < (transA ? M : K))
    tt_fatal("%s: bad A (lda=%lld)", name, (long long)lda);
  if (!B || ldb < (transB ? K : N))
    tt_fatal("%s: bad B (ldb=%lld)", name, (long long)ldb);
}

/* K == 0: the product is zero; only an overwrite has work to do. */
#define ZERO_C(C, M, N, ldc)                                                                  \
  do {                                                                                        \
    for (int64_t i_ = 0; i_ < (M); i_++)                                                      \
      memset((C) + i_ * (ldc), 0, (size_t)(N) * sizeof *(C));                                 \
  } while (0)

/* A block of the product computed for C^T (see tt_gemm_f32's narrow case): the tile in
 * scratch, stored transposed. */
static void trans_store(int64_t kc, const float *restrict a, const float *restrict b,
                        float *restrict C, int64_t ldc, int64_t i0, int64_t j0, int64_t mr,
                        int64_t nr, bool add) {
  TT_ALIGN float tile[MR * NR];
  micro_kernel(kc, a, b, tile, NR, false);
  for (int64_t i = 0; i < mr; i++)
    for (int64_t j = 0; j < nr; j++) {
      float *d = C + (j0 + j) * ldc + i0 + i;
      *d = add ? *d + tile[i * NR + j] : tile[i * NR + j];
    }
}

/* C[:, j0:j1] of the product (with transC, C^T's: element (i, j) is stored at C[j][i]);
 * j0 is a multiple of NR, so the register tiles, and thus every element's arithmetic, are
 * exactly those of the whole product. */
static void gemm_cols(int64_t M, int64_t j0, int64_t j1, int64_t K, const float *A, int64_t lda,
                      bool transA, const float *B, int64_t ldb, bool transB, float *C,
                      int64_t ldc, bool accumulate, bool transC) {
  for (int64_t jc = j0; jc < j1; jc += NC) {
    int64_t nc = j1 - jc < NC ? j1 - jc : NC;
    for (int64_t pc = 0; pc < K; pc += KC) {
      int64_t kc = K - pc < KC ? K - pc : KC;
      bool add = accumulate || pc > 0; /* later K blocks add to the first one's result */
      pack_b_block(kc, nc, B, ldb, transB, pc, jc, pack_b);
      for (int64_t ic = 0; ic < M; ic += MC) {
        int64_t mc = M - ic < MC ? M - ic : MC;
        pack_a_block(mc, kc, A, lda, transA, ic, pc, pack_a);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          int64_t nr = nc - jr < NR ? nc - jr : NR;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            int64_t mr = mc - ir < MR ? mc - ir : MR;
            float *c = C + (ic + ir) * ldc + jc + jr;
            if (transC)
              trans_store(kc, pack_a + ir * kc, pack_b + jr * kc, C, ldc, ic + ir, jc + jr, mr, nr,
                          add);
            else if (mr == MR && nr == NR)
              micro_kernel(kc, pack_a + ir * kc, pack_b + jr * kc, c, ldc, add);
            else
              edge_kernel(kc, pack_a + ir * kc, pack_b + jr * kc, c, ldc, mr, nr, add);
          }
        }
      }
    }
  }
}

/*
 * A second core: tt_parallel2 runs part 0 of a job on the calling thread and part 1 on one
 * worker thread (started at the first call; TT_THREADS=1 or a single CPU keeps both parts
 * on the caller, one after the other). Callers split their work so that each output
 * element is computed by one part with the same arithmetic as without the split: results
 * do not depend on the thread count. A job's parts may call tt_gemm_f32; nested calls run
 * serially (in_part), so the one worker never waits on itself.
 */
static bool threads_off;  /* tt_gemm_threads(1): the worker (if any) stays idle */
static _Thread_local bool in_part;

void tt_gemm_threads(int n) {
  threads_off = n <= 1;
}

#ifdef _OPENMP
/*
 * Compiled with -fopenmp (a program built with ttc's default flags under gcc), the second
 * part runs on OpenMP's pool instead: the same threads as the generated C's parallel loops
 * (TT_PARALLEL_FOR), so a program has one pool, whose idle threads spin briefly where the
 * worker above would sleep and be woken. Two parts on two threads, as above, or both on
 * the caller if the pool gives it only one.
 */
static int omp_state; /* 0 not decided, 1 two threads, -1 one */

bool tt_parallel2_available(void) {
  if (omp_state == 0) {
    const char *e = getenv("TT_THREADS");
    omp_state = !(e && atoi(e) == 1) && sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 1 : -1;
  }
  return !in_part && !threads_off && omp_state > 0 && !omp_in_parallel();
}

void tt_parallel2(void (*fn)(void *, int), void *arg) {
  if (!tt_parallel2_available()) {
    bool was = in_part;
    in_part = true;
    fn(arg, 0);
    fn(arg, 1);
    in_part = was;
    return;
  }
#pragma omp parallel num_threads(2)
  {
    in_part = true;
    if (omp_get_num_threads() < 2) {
      fn(arg, 0);
      fn(arg, 1);
    } else {
      fn(arg, omp_get_thread_num());
    }
    in_part = false;
  }
}
#else
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static void (*job_fn)(void *, int);
static void *job_arg;
static bool job_posted, job_done;
static int worker_state; /* 0 not started, 1 running, -1 unavailable */

static void *worker_main(void *arg) {
  (void)arg;
  in_part = true;
  for (;;) {
    pthread_mutex_lock(&job_mu);
    while (!job_posted) pthread_cond_wait(&job_cv, &job_mu);
    void (*fn)(void *, int) = job_fn;
    void *fa = job_arg;
    job_posted = false;
    pthread_mutex_unlock(&job_mu);
    fn(fa, 1);
    pthread_mutex_lock(&job_mu);
    job_done = true;
    pthread_cond_signal(&done_cv);
    pthread_mutex_unlock(&job_mu);
  }
  return NULL;
}

static bool worker_ready(void) {
  if (worker_state == 0) {
    const char *e = getenv("TT_THREADS");
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    worker_state = -1;
    if (!(e && atoi(e) == 1) && cpus >= 2) {
      pthread_t t;
      pthread_attr_t at;
      pthread_attr_init(&at);
      pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
      if (pthread_create(&t, &at, worker_main, NULL) == 0) worker_state = 1;
      pthread_attr_destroy(&at);
    }
  }
  return worker_state == 1;
}

bool tt_parallel2_available(void) {
  return !in_part && !threads_off && worker_ready();
}

void tt_parallel2(void (*fn)(void *, int), void *arg) {
  if (!tt_parallel2_available()) {
    bool was = in_part;
    in_part = true;
    fn(arg, 0);
    fn(arg, 1);
    in_part = was;
    return;
  }
  pthread_mutex_lock(&job_mu);
  job_fn = fn;
  job_arg = arg;
  job_posted = true;
  job_done = false;
  pthread_cond_signal(&job_cv);
  pthread_mutex_unlock(&job_mu);
  in_part = true;
  fn(arg, 0);
  in_part = false;
  pthread_mutex_lock(&job_mu);
  while (!job_done) pthread_cond_wait(&done_cv, &job_mu);
  pthread_mutex_unlock(&job_mu);
}
#endif

/*
 * Few rows of C (M <= SMALL_M): batch-1 inference, a GPT's per-token decode step. Packing
 * costs as much as the product itself here (every element of op(B) is packed once and used
 * only M times), so op(B) is read where it lies, 16 columns at a time, and never packed.
 *
 * Each element gets the tiled kernel's arithmetic: the products of one KC block of k in
 * one fused multiply-add chain from zero, in k order, then added to C (or stored, for the
 * first block without accumulate). So a product of few rows gives the bits of the same
 * rows of a larger one, which the kvcache pass relies on (docs/KVCACHE.md: a decode step's
 * rows are full recompute's rows), and batch-1 inference equals a row of a batch.
 * Dot products summed across vector lanes would do x @ W^T at one row about 2x faster
 * (measured: 50 against 23 GFLOP/s at 1x512x784 on AVX-512; the MLP's batch-1 forward 6.7
 * against 19 us), but round differently: they broke that equality and the last printed
 * digit of a PyTorch parity test (tests/train/resume-straight.tt), so they are not used.
 *
 *   op(B) j-contiguous (x @ W, and A^T B): C rows are sums of rows of op(B) scaled by
 *     op(A)'s scalars, 16 columns per vector (sum_rows).
 *   op(B) k-contiguous (transB, a Linear's x @ W^T): 16 rows of B are transposed 16 x 16
 *     at a time, in registers with AVX-512 (the packing's transpose16 without its store),
 *     through a 16-column scratch panel in L1 otherwise, and then summed as above
 *     (sum_rows_t).
 *
 * An element's arithmetic depends on neither the column blocking nor the split between
 * the two threads, so results do not depend on the thread count.
 */
#define SMALL_M 4
#ifndef SMALL_PAR_MIN
#define SMALL_PAR_MIN (1 << 20) /* elements of op(B) worth the second thread */
#endif

/* op(A)[r][k] */
#define A_AT(A, lda, ta, r, k) ((ta) ? (A)[(k) * (lda) + (r)] : (A)[(r) * (lda) + (k)])

#ifdef TT_GEMM_AVX512
/* C[0:R, j0:j0+nc] = (add ? C : 0) + op(A)[0:R, k0:k1] @ B[k0:k1, j0:j0+nc], nc <= 16 JV,
 * k1 - k0 <= KC (B rows j-contiguous) */
static inline __attribute__((always_inline)) void sum_rows(const int R, const int JV, int64_t k0,
                                                           int64_t k1, const float *A,
                                                           int64_t lda, bool ta, const float *B,
                                                           int64_t ldb, int64_t j0, int64_t nc,
                                                           float *C, int64_t ldc, bool add) {
  __mmask16 m[8];
#pragma GCC unroll 8
  for (int v = 0; v < JV; v++) {
    int64_t n = nc - 16 * v;
    m[v] = n >= 16 ? (__mmask16)0xFFFF : n > 0 ? (__mmask16)((1u << n) - 1) : 0;
  }
  __m512 s[SMALL_M][8];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < JV; v++) s[r][v] = _mm512_setzero_ps();
  for (int64_t k = k0; k < k1; k++) {
    const float *bk = B + k * ldb + j0;
    __m512 bv[8];
#pragma GCC unroll 8
    for (int v = 0; v < JV; v++) bv[v] = _mm512_maskz_loadu_ps(m[v], bk + 16 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; r++) {
      __m512 ar = _mm512_set1_ps(A_AT(A, lda, ta, r, k));
#pragma GCC unroll 8
      for (int v = 0; v < JV; v++) s[r][v] = _mm512_fmadd_ps(ar, bv[v], s[r][v]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 8
    for (int v = 0; v < JV; v++) {
      float *c = C + r * ldc + j0 + 16 * v;
      if (add) s[r][v] = _mm512_add_ps(_mm512_maskz_loadu_ps(m[v], c), s[r][v]);
      _mm512_mask_storeu_ps(c, m[v], s[r][v]);
    }
}

/* w[q], q < 4: lane i is src[i * ld + q], i < 16. Each row's 4 floats are one 128-bit load
 * placed in lane group i / 4, so only the 4 x 4 transposes inside the 128-bit groups are
 * shuffles: 8 per 4 vectors, where transpose16_regs takes 16 (the shuffle port is what
 * bounds this loop). */
static inline __attribute__((always_inline)) void transpose4x16(const float *src, int64_t ld,
                                                                __m512 w[4]) {
  __m512 x[4]; /* x[c], lane group g, position q: src[(4 g + c) * ld + q] */
#pragma GCC unroll 4
  for (int c = 0; c < 4; c++) {
    const float *p = src + c * ld;
    __m512 v = _mm512_castps128_ps512(_mm_loadu_ps(p));
    v = _mm512_insertf32x4(v, _mm_loadu_ps(p + 4 * ld), 1);
    v = _mm512_insertf32x4(v, _mm_loadu_ps(p + 8 * ld), 2);
    x[c] = _mm512_insertf32x4(v, _mm_loadu_ps(p + 12 * ld), 3);
  }
  __m512 t0 = _mm512_unpacklo_ps(x[0], x[1]), t1 = _mm512_unpackhi_ps(x[0], x[1]);
  __m512 t2 = _mm512_unpacklo_ps(x[2], x[3]), t3 = _mm512_unpackhi_ps(x[2], x[3]);
  w[0] = _mm512_shuffle_ps(t0, t2, 0x44);
  w[1] = _mm512_shuffle_ps(t0, t2, 0xEE);
  w[2] = _mm512_shuffle_ps(t1, t3, 0x44);
  w[3] = _mm512_shuffle_ps(t1, t3, 0xEE);
}

/* The same for B rows k-contiguous: C[0:R, j0:j0+nc] = (add ? C : 0) + op(A)[0:R, k0:k1] @
 * B[j0:j0+nc, k0:k1]^T, nc <= 16 JV. Each k step of 16 loads 16 rows of B per 16 columns
 * and transposes them (rows past nc are zero, k past k1 is not loaded). */
static inline __attribute__((always_inline)) void sum_rows_t(const int R, const int JV,
                                                             const Tr16 *t, int64_t k0, int64_t k1,
                                                             const float *A, int64_t lda, bool ta,
                                                             const float *B, int64_t ldb,
                                                             int64_t j0, int64_t nc, float *C,
                                                             int64_t ldc, bool add) {
  __m512 s[SMALL_M][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < JV; v++) s[r][v] = _mm512_setzero_ps();
  for (int64_t k = k0; k < k1; k += 16) {
    int64_t kk = k1 - k < 16 ? k1 - k : 16;
    __mmask16 km = kk == 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << kk) - 1);
#pragma GCC unroll 2
    for (int v = 0; v < JV; v++) {
      __m512 w[16];
      const float *src = B + (j0 + 16 * v) * ldb + k;
      int64_t rows = nc - 16 * v;
      if (kk == 16 && rows >= 16) { /* a whole block: 4 k at a time, from 128-bit loads */
#pragma GCC unroll 4
        for (int g = 0; g < 4; g++) {
          transpose4x16(src + 4 * g, ldb, w);
#pragma GCC unroll 4
          for (int q = 0; q < 4; q++)
#pragma GCC unroll 8
            for (int r = 0; r < R; r++)
              s[r][v] = _mm512_fmadd_ps(_mm512_set1_ps(A_AT(A, lda, ta, r, k + 4 * g + q)), w[q],
                                        s[r][v]);
        }
        continue;
      }
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++)
        w[i] = i < rows ? _mm512_maskz_loadu_ps(km, src + i * ldb) : _mm512_setzero_ps();
      transpose16_regs(t, w); /* w[q]: lane i is B[j0 + 16 v + i][k + q] */
      if (kk == 16) {
#pragma GCC unroll 16
        for (int q = 0; q < 16; q++)
#pragma GCC unroll 8
          for (int r = 0; r < R; r++)
            s[r][v] = _mm512_fmadd_ps(_mm512_set1_ps(A_AT(A, lda, ta, r, k + q)), w[q], s[r][v]);
      } else {
        for (int q = 0; q < kk; q++)
#pragma GCC unroll 8
          for (int r = 0; r < R; r++)
            s[r][v] = _mm512_fmadd_ps(_mm512_set1_ps(A_AT(A, lda, ta, r, k + q)), w[q], s[r][v]);
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; r++)
#pragma GCC unroll 2
    for (int v = 0; v < JV; v++) {
      int64_t n = nc - 16 * v;
      __mmask16 m = n >= 16 ? (__mmask16)0xFFFF : n > 0 ? (__mmask16)((1u << n) - 1) : 0;
      float *c = C + r * ldc + j0 + 16 * v;
      if (add) s[r][v] = _mm512_add_ps(_mm512_maskz_loadu_ps(m, c), s[r][v]);
      _mm512_mask_storeu_ps(c, m, s[r][v]);
    }
}
/* columns per call: 128 or 64 of row sums; 32 or 16 transposed (two or more independent
 * chains to cover the FMA latency) */
#define SUM_JV(R) ((R) <= 2 ? 8 : 4)
#define SUMT_JV(R) ((R) <= 2 ? 2 : 1)
#define TR16_SETUP Tr16 tr = tr16_make()
#define TR16_ARG &tr
#else
static inline __attribute__((always_inline)) void sum_rows(const int R, const int JV, int64_t k0,
                                                           int64_t k1, const float *A,
                                                           int64_t lda, bool ta, const float *B,
                                                           int64_t ldb, int64_t j0, int64_t nc,
                                                           float *C, int64_t ldc, bool add) {
  enum { W = 32 };
  float s[SMALL_M][W] = {{0}};
  if (nc == 16 * JV) { /* a whole block: compile-time bounds, so the j loops vectorize */
    for (int64_t k = k0; k < k1; k++) {
      const float *restrict bk = B + k * ldb + j0;
      for (int r = 0; r < R; r++) {
        float ar = A_AT(A, lda, ta, r, k);
        for (int j = 0; j < 16 * JV; j++) s[r][j] = FMA(ar, bk[j], s[r][j]);
      }
    }
  } else {
    for (int64_t k = k0; k < k1; k++) {
      const float *restrict bk = B + k * ldb + j0;
      for (int r = 0; r < R; r++) {
        float ar = A_AT(A, lda, ta, r, k);
        for (int64_t j = 0; j < nc; j++) s[r][j] = FMA(ar, bk[j], s[r][j]);
      }
    }
  }
  for (int r = 0; r < R; r++)
    for (int64_t j = 0; j < nc; j++) {
      float *c = C + r * ldc + j0 + j;
      *c = add ? *c + s[r][j] : s[r][j];
    }
}

/* B rows k-contiguous: B[j0:j0+nc, k0:k1] transposed into a 16-column panel (in L1), then
 * summed as above. */
static inline __attribute__((always_inline)) void sum_rows_t(const int R, const int JV,
                                                             const void *t, int64_t k0, int64_t k1,
                                                             const float *A, int64_t lda, bool ta,
                                                             const float *B, int64_t ldb,
                                                             int64_t j0, int64_t nc, float *C,
                                                             int64_t ldc, bool add) {
  (void)t;
  TT_ALIGN float panel[KC * 16];
  for (int64_t j = 0; j < 16 * JV && j < nc; j++)
    for (int64_t k = k0; k < k1; k++) panel[(k - k0) * 16 + j] = B[(j0 + j) * ldb + k];
  for (int64_t j = nc; j < 16 * JV; j++)
    for (int64_t k = k0; k < k1; k++) panel[(k - k0) * 16 + j] = 0.0f;
  sum_rows(R, JV, 0, k1 - k0, A + (ta ? k0 * lda : k0), lda, ta, panel, 16, 0, nc, C + j0, ldc,
           add);
}
#define SUM_JV(R) ((R) <= 2 ? 2 : 1)
#define SUMT_JV(R) 1
#define TR16_SETUP const void *tr = NULL
#define TR16_ARG tr
#endif

/* One instance per row count, so R and the blocking are constants in the kernels above.
 * KC rows of op(B) at a time across all the columns: fewer pages at once. */
#define SMALL_ROWS(R)                                                                        \
  static void small_rows_##R(int64_t K, const float *A, int64_t lda, bool ta, const float *B, \
                             int64_t ldb, bool tb, int64_t j0, int64_t j1, float *C,         \
                             int64_t ldc, bool accumulate) {                                 \
    TR16_SETUP;                                                                              \
    for (int64_t pc = 0; pc < K; pc += KC) {                                                 \
      int64_t k1 = K - pc < KC ? K : pc + KC;                                                \
      bool add = accumulate || pc > 0;                                                       \
      if (tb)                                                                                \
        for (int64_t j = j0; j < j1; j += 16 * SUMT_JV(R))                                   \
          sum_rows_t(R, SUMT_JV(R), TR16_ARG, pc, k1, A, lda, ta, B, ldb, j,                 \
                     j1 - j < 16 * SUMT_JV(R) ? j1 - j : 16 * SUMT_JV(R), C, ldc, add);      \
      else                                                                                   \
        for (int64_t j = j0; j < j1; j += 16 * SUM_JV(R))                                    \
          sum_rows(R, SUM_JV(R), pc, k1, A, lda, ta, B, ldb, j,                              \
                   j1 - j < 16 * SUM_JV(R) ? j1 - j : 16 * SUM_JV(R), C, ldc, add);          \
    }                                                                                        \
  }
SMALL_ROWS(1)
SMALL_ROWS(2)
SMALL_ROWS(3)
SMALL_ROWS(4)

typedef struct SmallJob {
  int64_t M, half, N, K, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  bool transA, transB, accumulate;
} SmallJob;

static void small_cols(const SmallJob *j, int64_t j0, int64_t j1) {
  void (*f)(int64_t, const float *, int64_t, bool, const float *, int64_t, bool, int64_t, int64_t,
            float *, int64_t, bool) =
      j->M == 1 ? small_rows_1 : j->M == 2 ? small_rows_2 : j->M == 3 ? small_rows_3 : small_rows_4;
  f(j->K, j->A, j->lda, j->transA, j->B, j->ldb, j->transB, j0, j1, j->C, j->ldc, j->accumulate);
}

static void small_part(void *arg, int part) {
  const SmallJob *j = arg;
  small_cols(j, part ? j->half : 0, part ? j->N : j->half);
}

/* The few-rows product, or false when it has too many rows (the caller tiles). */
static bool gemm_small(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                       const float *B, int64_t ldb, bool transB, float *C, int64_t ldc,
                       bool accumulate) {
  if (M > SMALL_M) return false;
  /* Halves at a multiple of 128 columns; worth the second thread only for a large op(B)
   * (the hand-over costs microseconds, a small product takes a few). */
  SmallJob job = {M, (N / 2 + 127) / 128 * 128, N, K, lda, ldb, ldc, A, B, C,
                  transA, transB, accumulate};
  if ((double)N * (double)K >= SMALL_PAR_MIN && N >= 256 && tt_parallel2_available())
    tt_parallel2(small_part, &job);
  else
    small_cols(&job, 0, N);
  return true;
}

typedef struct GemmJob {
  int64_t M, half, N, K, lda, ldb, ldc;
  const float *A, *B;
  float *C;
  bool transA, transB, accumulate, transC;
} GemmJob;

static void gemm_part(void *arg, int part) {
  const GemmJob *j = arg;
  int64_t j0 = part ? j->half : 0, j1 = part ? j->N : j->half;
  gemm_cols(j->M, j0, j1, j->K, j->A, j->lda, j->transA, j->B, j->ldb, j->transB, j->C, j->ldc,
            j->accumulate, j->transC);
}

void tt_gemm_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                 const float *B, int64_t ldb, bool transB, float *C, int64_t ldc,
                 bool accumulate) {
  check_args("gemm", M, N, K, A, lda, transA, B, ldb, transB, C, ldc);
  if (M == 0 || N == 0)
    return;
  if (K == 0) {
    if (!accumulate)
      ZERO_C(C, M, N, ldc);
    return;
  }
  if (gemm_small(M, N, K, A, lda, transA, B, ldb, transB, C, ldc, accumulate))
    return;
  /* A narrow product (a classifier's 10 outputs) would fill its NR-wide register tiles
   * with padding: C^T = op(B)^T op(A)^T puts the long side in the tiles' columns. Each
   * element is still the same fused multiply-adds in the same order (only which operand is
   * broadcast changes), so the results are those of the direct product. */
  bool transC = N < NR / 2 && M >= NR;
  if (transC) {
    int64_t t = M;
    M = N, N = t;
    const float *tp = A;
    A = B, B = tp;
    t = lda, lda = ldb, ldb = t;
    bool tb = transA;
    transA = !transB, transB = !tb;
  }
  /* worth a second thread: about 4 MFLOP and at least two register tiles of columns */
  if ((double)M * (double)N * (double)K >= 2e6 && N >= 2 * NR && tt_parallel2_available()) {
    GemmJob job = {M, (N / 2 + NR - 1) / NR * NR, N, K, lda, ldb, ldc, A, B, C,
                   transA, transB, accumulate, transC};
    tt_parallel2(gemm_part, &job);
    return;
  }
  gemm_cols(M, 0, N, K, A, lda, transA, B, ldb, transB, C, ldc, accumulate, transC);
}

void tt_gemm_f32_naive(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                       const float *B, int64_t ldb, bool transB, float *C, int64_t ldc,
                       bool accumulate) {
  check_args("gemm_naive", M, N, K, A, lda, transA, B, ldb, transB, C, ldc);
  for (int64_t i = 0; i < M; i++) {
    for (int64_t j = 0; j < N; j++) {
      float acc = 0.0f;
      for (int64_t k = 0; k < K; k++) {
        float a = transA ? A[k * lda + i] : A[i * lda + k];
        float b = transB ? B[j * ldb + k] : B[k * ldb + j];
        acc += a * b;
      }
      C[i * ldc + j] = accumulate ? C[i * ldc + j] + acc : acc;
    }
  }
}

void tt_gemm_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, bool transA,
                 const double *B, int64_t ldb, bool transB, double *C, int64_t ldc,
                 bool accumulate) {
  check_args("gemm_f64", M, N, K, A, lda, transA, B, ldb, transB, C, ldc);
  /* i-k-j order: the inner loop runs along rows of C and (untransposed) B. */
  for (int64_t i = 0; i < M; i++) {
    double *restrict c = C + i * ldc;
    if (!accumulate)
      for (int64_t j = 0; j < N; j++)
        c[j] = 0.0;
    for (int64_t k = 0; k < K; k++) {
      double a = transA ? A[k * lda + i] : A[i * lda + k];
      if (transB)
        for (int64_t j = 0; j < N; j++)
          c[j] += a * B[j * ldb + k];
      else
        for (int64_t j = 0; j < N; j++)
          c[j] += a * B[k * ldb + j];
    }
  }
}
