/*
 * sparse.c — y[M, N] = x[M, K] @ W[N, K]^T for a Linear whose weight is mostly zeros
 * (unstructured pruning of 80% or more, passes/prune.c), in a sliced ELLPACK layout
 * (SELL-16) built at run time from the dense weight.
 *
 * Why not plain CSR: one output row of CSR is one chain of dependent multiply-adds, and at
 * 4 cycles of latency per FMA a batch-1 product of 20K nonzeros would take 80K cycles, more
 * than the dense GEMM. SELL-16 puts 16 rows side by side: the t-th nonzero of each of the
 * 16 rows of a slice is stored contiguously (column index and value), so the inner loop
 *
 *     for r < 16: s[r] = fma(x[col[t][r]], val[t][r], s[r])
 *
 * is 16 independent chains, one gather and one vector FMA (gcc makes it two 8-wide gathers and FMAs). A row
 * shorter than the slice's longest is padded with entries that point at a column where
 * its weight is zero (value 0). Rows are sorted by their nonzeros (descending, ties by
 * index) before they are cut into slices, so the rows of a slice have similar lengths and
 * the padding stays small; the outputs are stored through that permutation.
 *
 * Same bits as the dense kernel: runtime/gemm.c sums each element of x @ W^T in blocks of
 * KC = 256 values of k, each block one chain of fused multiply-adds from zero in k order,
 * then added to the element (the first block stored). The sliced layout keeps each row's
 * nonzeros in k order and cuts them at the same block edges (segments), and the kernel
 * sums each segment the same way. Skipping a zero weight skips fma(x, 0, s) = x * 0 + s,
 * which is s for a finite x (a chain from +0 never holds -0 in round-to-nearest, so the sign
 * of a zero cannot differ either): the result is the dense kernel's bit for bit, for every
 * finite x. An x holding inf or NaN gives NaN in the dense kernel at every zero weight
 * (inf * 0), here only at a padding entry's column.
 *
 * The index (int32, TT_SPARSE_INDEX_LEN elements) holds a header, the row order, each
 * segment's start and every entry's column; the values (float) are a separate array that
 * tt_sparse_values_f32 gathers from W through the index. The pass sizes both at compile time
 * for the number of nonzeros it proved; more padded entries than that capacity (or a
 * different shape) leaves the index marked dense, and tt_sparse_linear_f32 then calls the
 * dense GEMM on W: never a different result, only the dense speed.
 *
 * When the index is rebuilt is the generated program's business (passes/prune.c): after any
 * statement that writes the weight it marks the index stale, and packs again before the
 * next product that needs it.
 */
#include "tt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* keep in sync with runtime/gemm.c's KC: the block of k summed as one chain */
#define KC TT_SPARSE_KC
#define S TT_SPARSE_LANES

#ifdef __FMA__
#define FMA(a, b, c) fmaf(a, b, c)
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#endif

/* header fields of the index */
enum { H_N, H_K, H_CAP, H_DENSE, H_NNZ, H_USED, H_NSLICE, H_NKB, H__N };

typedef struct View {
  int64_t N, K, nslice, nkb;
  int32_t *perm; /* [nslice * S]: the row of lane r of slice s, -1 past N */
  int32_t *seg;  /* [nslice * nkb + 1]: first entry of segment (s, kb); entries are S-wide */
  int32_t *col;  /* [cap]: each entry's column, S entries (one per lane) per step */
} View;

static View view(int32_t *idx, int64_t N, int64_t K) {
  View v;
  v.N = N, v.K = K;
  v.nslice = (N + S - 1) / S;
  v.nkb = (K + KC - 1) / KC;
  v.perm = idx + H__N;
  v.seg = v.perm + v.nslice * S;
  v.col = v.seg + v.nslice * v.nkb + 1;
  return v;
}

int64_t tt_sparse_index_len(int64_t N, int64_t K, int64_t cap) {
  return TT_SPARSE_INDEX_LEN(N, K, cap);
}

/* whether row i goes after row j: a lower key (below), or the same and a higher index */
static bool after(int32_t i, int32_t j, const int64_t *cnt) {
  return cnt[i] != cnt[j] ? cnt[i] < cnt[j] : i > j;
}

/* insertion sort (qsort has no context argument in C11; n is a layer's width) */
static void sort_rows(int32_t *rows, int64_t n, const int64_t *cnt) {
  for (int64_t i = 1; i < n; i++) {
    int32_t r = rows[i];
    int64_t j = i;
    while (j > 0 && after(rows[j - 1], r, cnt)) {
      rows[j] = rows[j - 1];
      j--;
    }
    rows[j] = r;
  }
}

/* W [N, K]: the index of its nonzeros (see above); idx has len int32s, cap entries */
void tt_sparse_index_f32(const float *W, int64_t N, int64_t K, int64_t cap, int32_t *idx,
                         int64_t len) {
  if (N <= 0 || K <= 0 || K > INT32_MAX || N > INT32_MAX || len < TT_SPARSE_INDEX_LEN(N, K, cap))
    tt_fatal("tt_sparse_index_f32: an index of %lld int32s for a [%lld, %lld] weight with %lld entries",
             (long long)len, (long long)N, (long long)K, (long long)cap);
  View v = view(idx, N, K);
  idx[H_N] = (int32_t)N, idx[H_K] = (int32_t)K, idx[H_CAP] = (int32_t)cap;
  idx[H_NSLICE] = (int32_t)v.nslice, idx[H_NKB] = (int32_t)v.nkb;
  idx[H_DENSE] = 1, idx[H_USED] = 0, idx[H_NNZ] = 0;
  /* nonzeros per row and per (row, block) */
  int64_t *cnt = calloc((size_t)N * (size_t)(v.nkb + 1), sizeof(int64_t));
  if (!cnt) tt_fatal("tt_sparse_index_f32: out of memory");
  int64_t *bc = cnt + N, nnz = 0;
  for (int64_t i = 0; i < N; i++)
    for (int64_t kb = 0; kb < v.nkb; kb++) {
      int64_t c = 0, k1 = (kb + 1) * KC < K ? (kb + 1) * KC : K;
      for (int64_t k = kb * KC; k < k1; k++) c += W[i * K + k] != 0.0f;
      bc[i * v.nkb + kb] = c;
      cnt[i] += c;
      nnz += c;
    }
  idx[H_NNZ] = nnz > INT32_MAX ? INT32_MAX : (int32_t)nnz;
  /* Rows sorted by their largest block's count, then by their total: a slice pads each block
   * to its longest row there, and pruned layers' rows differ most in where their nonzeros
   * are (an MLP's first layer: which pixels), so the largest block groups them best (the
   * MLP at 80%: 1.36 padded entries per nonzero, by total alone 1.50; random masks 1.2) */
  int64_t *key = malloc(sizeof(int64_t) * (size_t)N);
  if (!key) tt_fatal("tt_sparse_index_f32: out of memory");
  for (int64_t i = 0; i < N; i++) {
    int64_t m = 0;
    for (int64_t kb = 0; kb < v.nkb; kb++) m = bc[i * v.nkb + kb] > m ? bc[i * v.nkb + kb] : m;
    key[i] = m * (K + 1) + cnt[i];
  }
  for (int64_t s = 0; s < v.nslice * S; s++) v.perm[s] = s < N ? (int32_t)s : -1;
  sort_rows(v.perm, N, key);
  free(key);
  /* segment lengths: the longest row of the slice in that block */
  int64_t used = 0;
  for (int64_t s = 0; s < v.nslice; s++)
    for (int64_t kb = 0; kb < v.nkb; kb++) {
      int64_t L = 0;
      for (int r = 0; r < S; r++) {
        int32_t row = v.perm[s * S + r];
        if (row >= 0 && bc[row * v.nkb + kb] > L) L = bc[row * v.nkb + kb];
      }
      v.seg[s * v.nkb + kb] = (int32_t)(used > INT32_MAX ? INT32_MAX : used);
      used += L * S;
    }
  if (used > cap) { /* more padded entries than the pass made room for: dense */
    free(cnt);
    return;
  }
  v.seg[v.nslice * v.nkb] = (int32_t)used;
  for (int64_t s = 0; s < v.nslice; s++)
    for (int64_t kb = 0; kb < v.nkb; kb++) {
      int32_t *c = v.col + v.seg[s * v.nkb + kb];
      int64_t L = (v.seg[s * v.nkb + kb + 1] - v.seg[s * v.nkb + kb]) / S;
      int64_t k0 = kb * KC, k1 = k0 + KC < K ? k0 + KC : K;
      for (int r = 0; r < S; r++) {
        int32_t row = v.perm[s * S + r];
        int64_t t = 0, pad = k0; /* padding: a column of this block where the row is zero */
        if (row >= 0) {
          const float *w = W + (int64_t)row * K;
          for (int64_t k = k0; k < k1; k++)
            if (w[k] != 0.0f) c[t++ * S + r] = (int32_t)k;
          for (int64_t k = k0; k < k1 && t < L; k++)
            if (w[k] == 0.0f) {
              pad = k;
              break;
            }
        }
        for (; t < L; t++) c[t * S + r] = (int32_t)pad;
      }
    }
  idx[H_USED] = (int32_t)used;
  idx[H_DENSE] = 0;
  free(cnt);
}

/* vals[e] = W[row of e][col[e]]: 0 at the padding (a zero of the row, or a missing row) */
void tt_sparse_values_f32(const float *W, const int32_t *idx, float *vals) {
  if (idx[H_DENSE]) return;
  int64_t N = idx[H_N], K = idx[H_K];
  View v = view((int32_t *)idx, N, K);
  for (int64_t s = 0; s < v.nslice; s++) {
    int64_t e0 = v.seg[s * v.nkb], e1 = v.seg[(s + 1) * v.nkb];
    for (int64_t e = e0; e < e1; e++) {
      int32_t row = v.perm[s * S + e % S];
      vals[e] = row >= 0 ? W[(int64_t)row * K + v.col[e]] : 0.0f;
    }
  }
}

/* One segment of one slice for R rows of x (R <= 4, a constant after inlining): s[m][r] =
 * the sum over the segment's entries of lane r, in order. The column and value of an entry
 * are loaded once for the R rows. */
static inline __attribute__((always_inline)) void segment(const int R, const float *restrict x,
                                                          int64_t K, const int32_t *restrict col,
                                                          const float *restrict val, int64_t L,
                                                          float s[4][S]) {
  for (int m = 0; m < R; m++)
    for (int r = 0; r < S; r++) s[m][r] = 0.0f;
  for (int64_t t = 0; t < L; t++)
    for (int m = 0; m < R; m++)
      for (int r = 0; r < S; r++)
        s[m][r] = FMA(x[m * K + col[t * S + r]], val[t * S + r], s[m][r]);
}

/* rows [m0, m0 + R) of y, slices [s0, s1), every block */
static inline __attribute__((always_inline)) void rows(const int R, int64_t m0, int64_t s0, int64_t s1,
                                                       int64_t N, int64_t K, const float *x, const View *v,
                                                       const float *vals, float *y) {
  for (int64_t s = s0; s < s1; s++) {
    const int32_t *perm = v->perm + s * S;
    for (int64_t kb = 0; kb < v->nkb; kb++) {
      int64_t e0 = v->seg[s * v->nkb + kb], L = (v->seg[s * v->nkb + kb + 1] - e0) / S;
      TT_ALIGN float acc[4][S];
      segment(R, x + m0 * K, K, v->col + e0, vals + e0, L, acc);
      for (int m = 0; m < R; m++) {
        float *ym = y + (m0 + m) * N;
        for (int r = 0; r < S; r++)
          if (perm[r] >= 0) ym[perm[r]] = kb == 0 ? acc[m][r] : ym[perm[r]] + acc[m][r];
      }
    }
  }
}

typedef struct Job {
  int64_t M, N, K, half;
  const float *x, *vals;
  float *y;
  const View *v;
} Job;

/* slices [s0, s1) for every row of x */
static void slices(const Job *j, int64_t s0, int64_t s1) {
  int64_t m = 0;
  for (; m + 4 <= j->M; m += 4) rows(4, m, s0, s1, j->N, j->K, j->x, j->v, j->vals, j->y);
  switch (j->M - m) {
  case 3: rows(3, m, s0, s1, j->N, j->K, j->x, j->v, j->vals, j->y); break;
  case 2: rows(2, m, s0, s1, j->N, j->K, j->x, j->v, j->vals, j->y); break;
  case 1: rows(1, m, s0, s1, j->N, j->K, j->x, j->v, j->vals, j->y); break;
  default: break;
  }
}

static void part(void *arg, int p) {
  const Job *j = arg;
  slices(j, p ? j->half : 0, p ? j->v->nslice : j->half);
}

/* The second thread where the dense GEMM would take it (runtime/gemm.c: from 1M weights and
 * 256 outputs at up to 4 rows, from 2 MFLOP beyond), so that both kernels run on as many
 * threads and the pass's crossovers, measured on one, hold. Each thread computes whole
 * slices: the result does not depend on the split. */
static bool two_threads(int64_t M, int64_t N, int64_t K) {
  if (M <= 4) return (double)N * (double)K >= (double)(1 << 20) && N >= 256;
  return (double)M * (double)N * (double)K >= 2e6;
}

/* y[M, N] = x[M, K] @ W[N, K]^T through the index (W itself when the index is dense) */
void tt_sparse_linear_f32(int64_t M, int64_t N, int64_t K, const float *x, const float *W,
                          const int32_t *idx, const float *vals, float *y) {
  if (M <= 0) return;
  if (idx[H_DENSE] || idx[H_N] != N || idx[H_K] != K) {
    tt_gemm_f32(M, N, K, x, K, false, W, K, true, y, N, false);
    return;
  }
  View v = view((int32_t *)idx, N, K);
  Job j = {M, N, K, v.nslice / 2, x, vals, y, &v};
  if (two_threads(M, N, K) && v.nslice >= 2 && tt_parallel2_available())
    tt_parallel2(part, &j);
  else
    slices(&j, 0, v.nslice);
}

/* The reference: the same index walked one row at a time, scalar. */
void tt_sparse_linear_f32_naive(int64_t M, int64_t N, int64_t K, const float *x, const float *W,
                                const int32_t *idx, const float *vals, float *y) {
  if (idx[H_DENSE] || idx[H_N] != N || idx[H_K] != K) { /* as the fast one: the GEMM's bits */
    tt_gemm_f32(M, N, K, x, K, false, W, K, true, y, N, false);
    return;
  }
  View v = view((int32_t *)idx, N, K);
  for (int64_t m = 0; m < M; m++)
    for (int64_t s = 0; s < v.nslice; s++)
      for (int r = 0; r < S; r++) {
        int32_t row = v.perm[s * S + r];
        if (row < 0) continue;
        float out = 0.0f;
        for (int64_t kb = 0; kb < v.nkb; kb++) {
          float acc = 0.0f;
          for (int64_t e = v.seg[s * v.nkb + kb] + r; e < v.seg[s * v.nkb + kb + 1]; e += S)
            acc = FMA(x[m * K + v.col[e]], vals[e], acc);
          out = kb == 0 ? acc : out + acc;
        }
        y[m * N + row] = out;
      }
}
