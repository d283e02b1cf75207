/*
 * tt.h — the runtime that programs emitted by ttc link against.
 *
 * Small and boring on purpose: printing in PyTorch's format, PyTorch's random number
 * stream, matrix multiplication (a naive reference and a tiled version), aligned
 * allocation and fatal errors. Kernels do not allocate.
 *
 * Sections: rt.c (init, errors, allocation), print.c (PyTorch tensor format and
 * Python float repr), rng.c (mt19937 as PyTorch's CPU generator), gemm.c (matmul).
 */
#ifndef TT_RUNTIME_H
#define TT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TT_ALIGN _Alignas(64)

/* ---- rt.c ----------------------------------------------------------------------- */

/* Element types, same order as the compiler's DType. */
typedef enum { TT_F32, TT_F64, TT_I64, TT_I32, TT_I8, TT_BOOL } TtDType;

/* Called first by every generated main: keeps argv for the program, seeds the RNG with
 * PyTorch's default seed (67280421310721). */
void tt_init(int argc, char **argv);
/* Prints "error: ..." to stderr and exits with status 1. */
_Noreturn void tt_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* 64-byte aligned, zeroed; fatal on out of memory. Freed with tt_free. */
void *tt_alloc(size_t bytes);
void tt_free(void *p);

/* ---- print.c --------------------------------------------------------------------- */

typedef struct TtPrintOpts {
  const char *gradfn; /* ", grad_fn=<AddBackward0>" when non-NULL */
  bool requires_grad; /* ", requires_grad=True" (leaves only, no grad_fn) */
  bool param;         /* "Parameter containing:\n" first */
} TtPrintOpts;

/*
 * Writes the tensor exactly as print(t) does in PyTorch (torch._tensor_str, default
 * print options: precision 4, threshold 1000, edgeitems 3, linewidth 80), without a
 * trailing newline. shape has rank entries (rank 0 is a scalar).
 */
void tt_print_tensor(FILE *f, TtDType dt, const void *data, int rank, const int64_t *shape,
                     const TtPrintOpts *opts);
/* Python's repr(float): the shortest string that round-trips ("0.1", "1e-05", "inf"). */
char *tt_pyfloat_repr(double v, char *buf, size_t n);

/* ---- rng.c ------------------------------------------------------------------------- */

/* PyTorch's CPU generator: mt19937 seeded as torch.manual_seed(seed) seeds it. */
void tt_manual_seed(uint64_t seed);
/* torch.rand / Tensor.uniform_(lo, hi) on a contiguous tensor of n elements: the same
 * numbers PyTorch draws for the same seed and call sequence. */
void tt_uniform_f32(float *out, int64_t n, double lo, double hi);
void tt_uniform_f64(double *out, int64_t n, double lo, double hi);
/* torch.randn / Tensor.normal_(mean, std), the same numbers as PyTorch. */
void tt_normal_f32(float *out, int64_t n, double mean, double std);
void tt_normal_f64(double *out, int64_t n, double mean, double std);

/* ---- gemm.c ------------------------------------------------------------------------ */

/*
 * C[M,N] (+)= op(A)[M,K] @ op(B)[K,N], row-major with leading dimensions lda, ldb, ldc.
 * op(A) = A, or A^T when transA (A is then stored [K,M]); likewise B. accumulate: add to
 * C instead of overwriting it. The tiled version is the one generated code calls; the
 * naive one is its reference, kept next to it and tested against it.
 */
void tt_gemm_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                 const float *B, int64_t ldb, bool transB, float *C, int64_t ldc, bool accumulate);
void tt_gemm_f32_naive(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                       const float *B, int64_t ldb, bool transB, float *C, int64_t ldc,
                       bool accumulate);
void tt_gemm_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, bool transA,
                 const double *B, int64_t ldb, bool transB, double *C, int64_t ldc,
                 bool accumulate);

#endif
