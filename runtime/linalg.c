/*
 * linalg.c — torch.linalg's dense solvers: inv, solve, det and lstsq.
 *
 * PyTorch calls LAPACK (getrf/getri, getrf/getrs, gelsy) in the tensor's precision. These
 * kernels factor in double whatever the tensor's type and round once at the end, so a
 * float32 result is the correctly rounded value of the exact one up to the conditioning of
 * the matrix, where LAPACK's float answer may differ from it in its last bits.
 *
 * Every matrix is contiguous and row-major, a batch of them back to back. Singular inputs
 * stop the program with PyTorch's message (where: the source position), except det, which
 * is 0 there as in PyTorch. The work arrays are small (n*n doubles) and allocated here:
 * an out-of-memory is a clean fatal error.
 */
#include "tt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static double *work(size_t n) {
  double *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) tt_fatal("out of memory in torch.linalg (%zu doubles)", n);
  return p;
}

/* The batch prefix of PyTorch's messages: "(Batch element 1): " for batched inputs. */
static const char *batch_note(char *buf, size_t cap, int64_t batch, int64_t b) {
  if (batch <= 1) return "";
  snprintf(buf, cap, "(Batch element %lld): ", (long long)b);
  return buf;
}

/*
 * LU with partial pivoting of a[n*n] in place (LAPACK getrf's: L unit lower, U upper, row
 * swaps in piv). Returns 0, or k + 1 for the first zero pivot U[k][k] (LAPACK's info); the
 * factorization goes on past it, as getrf's does. *sign: the permutation's sign.
 */
static int64_t lu(double *a, int64_t n, int64_t *piv, int *sign) {
  int64_t info = 0;
  *sign = 1;
  for (int64_t k = 0; k < n; k++) {
    int64_t p = k;
    for (int64_t i = k + 1; i < n; i++)
      if (fabs(a[i * n + k]) > fabs(a[p * n + k])) p = i;
    piv[k] = p;
    if (p != k) {
      for (int64_t j = 0; j < n; j++) {
        double t = a[k * n + j];
        a[k * n + j] = a[p * n + j];
        a[p * n + j] = t;
      }
      *sign = -*sign;
    }
    double d = a[k * n + k];
    if (d == 0) {
      if (!info) info = k + 1;
      continue;
    }
    for (int64_t i = k + 1; i < n; i++) {
      double f = a[i * n + k] / d;
      a[i * n + k] = f;
      for (int64_t j = k + 1; j < n; j++) a[i * n + j] -= f * a[k * n + j];
    }
  }
  return info;
}

/* x[n*k] := A^-1 x for the LU of A (from lu(), no zero pivot). */
static void lu_solve(const double *a, const int64_t *piv, int64_t n, double *x, int64_t k) {
  for (int64_t i = 0; i < n; i++)
    if (piv[i] != i)
      for (int64_t j = 0; j < k; j++) {
        double t = x[i * k + j];
        x[i * k + j] = x[piv[i] * k + j];
        x[piv[i] * k + j] = t;
      }
  for (int64_t i = 0; i < n; i++)
    for (int64_t r = 0; r < i; r++)
      for (int64_t j = 0; j < k; j++) x[i * k + j] -= a[i * n + r] * x[r * k + j];
  for (int64_t i = n - 1; i >= 0; i--) {
    for (int64_t r = i + 1; r < n; r++)
      for (int64_t j = 0; j < k; j++) x[i * k + j] -= a[i * n + r] * x[r * k + j];
    for (int64_t j = 0; j < k; j++) x[i * k + j] /= a[i * n + i];
  }
}

/* out[batch][n][n] = inv(a[batch][n][n]); float32 when f64 is 0. */
static void inv_any(void *out, const void *in, int f64, int64_t batch, int64_t n, const char *where) {
  double *a = work((size_t)(n * n)), *x = work((size_t)(n * n));
  int64_t *piv = malloc((size_t)(n ? n : 1) * sizeof *piv);
  if (!piv) tt_fatal("out of memory in torch.linalg.inv");
  char note[64];
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t i = 0; i < n * n; i++)
      a[i] = f64 ? ((const double *)in)[b * n * n + i] : ((const float *)in)[b * n * n + i];
    int sign;
    int64_t info = lu(a, n, piv, &sign);
    if (info)
      tt_fatal("%s: linalg.inv: %sThe diagonal element %lld is zero, the inversion could not be "
               "completed because the input matrix is singular.",
               where, batch_note(note, sizeof note, batch, b), (long long)info);
    for (int64_t i = 0; i < n * n; i++) x[i] = (i / n == i % n);
    lu_solve(a, piv, n, x, n);
    for (int64_t i = 0; i < n * n; i++) {
      if (f64) ((double *)out)[b * n * n + i] = x[i];
      else ((float *)out)[b * n * n + i] = (float)x[i];
    }
  }
  free(a);
  free(x);
  free(piv);
}

void tt_linalg_inv_f32(float *out, const float *a, int64_t batch, int64_t n, const char *where) {
  inv_any(out, a, 0, batch, n, where);
}
void tt_linalg_inv_f64(double *out, const double *a, int64_t batch, int64_t n, const char *where) {
  inv_any(out, a, 1, batch, n, where);
}

/* out[batch][n][k] = solve(a[batch][n][n], rhs[batch][n][k]) */
static void solve_any(void *out, const void *in, const void *rhs, int f64, int64_t batch, int64_t n,
                      int64_t k, const char *where) {
  double *a = work((size_t)(n * n)), *x = work((size_t)(n * k));
  int64_t *piv = malloc((size_t)(n ? n : 1) * sizeof *piv);
  if (!piv) tt_fatal("out of memory in torch.linalg.solve");
  char note[64];
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t i = 0; i < n * n; i++)
      a[i] = f64 ? ((const double *)in)[b * n * n + i] : ((const float *)in)[b * n * n + i];
    for (int64_t i = 0; i < n * k; i++)
      x[i] = f64 ? ((const double *)rhs)[b * n * k + i] : ((const float *)rhs)[b * n * k + i];
    int sign;
    if (lu(a, n, piv, &sign))
      tt_fatal("%s: torch.linalg.solve: %sThe solver failed because the input matrix is singular.",
               where, batch_note(note, sizeof note, batch, b));
    lu_solve(a, piv, n, x, k);
    for (int64_t i = 0; i < n * k; i++) {
      if (f64) ((double *)out)[b * n * k + i] = x[i];
      else ((float *)out)[b * n * k + i] = (float)x[i];
    }
  }
  free(a);
  free(x);
  free(piv);
}

void tt_linalg_solve_f32(float *out, const float *a, const float *b, int64_t batch, int64_t n,
                         int64_t k, const char *where) {
  solve_any(out, a, b, 0, batch, n, k, where);
}
void tt_linalg_solve_f64(double *out, const double *a, const double *b, int64_t batch, int64_t n,
                         int64_t k, const char *where) {
  solve_any(out, a, b, 1, batch, n, k, where);
}

/* out[batch] = det(a[batch][n][n]): the product of U's diagonal with the pivots' sign. */
static void det_any(void *out, const void *in, int f64, int64_t batch, int64_t n) {
  double *a = work((size_t)(n * n));
  int64_t *piv = malloc((size_t)(n ? n : 1) * sizeof *piv);
  if (!piv) tt_fatal("out of memory in torch.linalg.det");
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t i = 0; i < n * n; i++)
      a[i] = f64 ? ((const double *)in)[b * n * n + i] : ((const float *)in)[b * n * n + i];
    int sign;
    lu(a, n, piv, &sign);
    double d = sign;
    for (int64_t i = 0; i < n; i++) d *= a[i * n + i];
    if (f64) ((double *)out)[b] = d;
    else ((float *)out)[b] = (float)d;
  }
  free(a);
  free(piv);
}

void tt_linalg_det_f32(float *out, const float *a, int64_t batch, int64_t n) { det_any(out, a, 0, batch, n); }
void tt_linalg_det_f64(double *out, const double *a, int64_t batch, int64_t n) { det_any(out, a, 1, batch, n); }

/*
 * out[n][k]: the least-squares solution of a[m][n] x = rhs[m][k] for m >= n, by Householder
 * QR. PyTorch's gelsy gives the same solution when A has full column rank; a rank it finds
 * smaller than n (R's diagonal below rcond = eps(type) * max(m, n) times its largest) gives
 * a minimum-norm solution this kernel does not compute, so it stops the program.
 */
static void lstsq_any(void *out, const void *in, const void *rhs, int f64, int64_t m, int64_t n,
                      int64_t k, const char *where) {
  double *a = work((size_t)(m * n)), *x = work((size_t)(m * k)), *v = work((size_t)m);
  for (int64_t i = 0; i < m * n; i++) a[i] = f64 ? ((const double *)in)[i] : ((const float *)in)[i];
  for (int64_t i = 0; i < m * k; i++) x[i] = f64 ? ((const double *)rhs)[i] : ((const float *)rhs)[i];
  double rmax = 0;
  for (int64_t c = 0; c < n; c++) {
    double norm = 0;
    for (int64_t i = c; i < m; i++) norm += a[i * n + c] * a[i * n + c];
    norm = sqrt(norm);
    double alpha = a[c * n + c] > 0 ? -norm : norm;
    for (int64_t i = c; i < m; i++) v[i] = a[i * n + c];
    v[c] -= alpha;
    double vv = 0;
    for (int64_t i = c; i < m; i++) vv += v[i] * v[i];
    if (vv > 0) { /* H = I - 2 v v^T / (v^T v), applied to A's remaining columns and to rhs */
      for (int64_t j = c; j < n; j++) {
        double s = 0;
        for (int64_t i = c; i < m; i++) s += v[i] * a[i * n + j];
        s = 2 * s / vv;
        for (int64_t i = c; i < m; i++) a[i * n + j] -= s * v[i];
      }
      for (int64_t j = 0; j < k; j++) {
        double s = 0;
        for (int64_t i = c; i < m; i++) s += v[i] * x[i * k + j];
        s = 2 * s / vv;
        for (int64_t i = c; i < m; i++) x[i * k + j] -= s * v[i];
      }
    }
    if (fabs(a[c * n + c]) > rmax) rmax = fabs(a[c * n + c]);
  }
  double rcond = (f64 ? 2.220446049250313e-16 : 1.1920928955078125e-07) * (double)(m > n ? m : n);
  for (int64_t c = 0; c < n; c++)
    if (!(fabs(a[c * n + c]) > rcond * rmax))
      tt_fatal("%s: torch.linalg.lstsq: the matrix does not have full column rank; ttc solves "
               "only full-rank least-squares problems",
               where);
  for (int64_t i = n - 1; i >= 0; i--) {
    for (int64_t r = i + 1; r < n; r++)
      for (int64_t j = 0; j < k; j++) x[i * k + j] -= a[i * n + r] * x[r * k + j];
    for (int64_t j = 0; j < k; j++) x[i * k + j] /= a[i * n + i];
  }
  for (int64_t i = 0; i < n * k; i++) {
    if (f64) ((double *)out)[i] = x[i];
    else ((float *)out)[i] = (float)x[i];
  }
  free(a);
  free(x);
  free(v);
}

void tt_linalg_lstsq_f32(float *out, const float *a, const float *b, int64_t m, int64_t n, int64_t k,
                         const char *where) {
  lstsq_any(out, a, b, 0, m, n, k, where);
}
void tt_linalg_lstsq_f64(double *out, const double *a, const double *b, int64_t m, int64_t n, int64_t k,
                         const char *where) {
  lstsq_any(out, a, b, 1, m, n, k, where);
}
