/*
 * sort.c — argsort of one line of a tensor, for torch.sort / argsort / topk in generated
 * programs.
 *
 * A bottom-up merge sort of positions: stable (equal values keep their order, which is
 * what PyTorch's stable=True gives and what its default sort gives in practice), O(n log n)
 * with no recursion, and no allocation (the caller passes the scratch). NaN is greater than
 * every number, as PyTorch orders it, so it goes last ascending and first descending.
 * Strided lines (a dim that is not the last) are read and written in place.
 */
#include "tt.h"

#include <math.h>

/* Whether a sorts strictly before b. */
#define BEFORE_F(a, b, desc) ((desc) ? ((a) > (b) || (isnan(a) && !isnan(b))) : ((a) < (b) || (isnan(b) && !isnan(a))))
#define BEFORE_I(a, b, desc) ((desc) ? (a) > (b) : (a) < (b))

#define DEFINE_ARGSORT(T, SUF, BEFORE)                                                      \
  void tt_argsort_##SUF(const T *x, int64_t n, int64_t st, int64_t *out, int desc,          \
                        int64_t *scratch) {                                                  \
    /* positions live in out (strided) and scratch (contiguous), alternating each pass */  \
    int64_t *a = scratch;                                                                    \
    for (int64_t i = 0; i < n; i++)                                                          \
      a[i] = i;                                                                              \
    /* sort into scratch-sized runs by merging; the final pass writes out */               \
    for (int64_t w = 1; w < n; w *= 2) {                                                     \
      for (int64_t lo = 0; lo < n; lo += 2 * w) {                                            \
        int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;         \
        int64_t i = lo, j = mid, k = lo;                                                     \
        /* merge a[lo, mid) and a[mid, hi) into out (strided), then copy back */            \
        while (i < mid && j < hi) {                                                          \
          T vi = x[a[i] * st], vj = x[a[j] * st];                                            \
          out[(k++) * st] = BEFORE(vj, vi, desc) ? a[j++] : a[i++];                          \
        }                                                                                    \
        while (i < mid)                                                                      \
          out[(k++) * st] = a[i++];                                                          \
        while (j < hi)                                                                       \
          out[(k++) * st] = a[j++];                                                          \
        for (int64_t m = lo; m < hi; m++)                                                    \
          a[m] = out[m * st];                                                                \
      }                                                                                      \
    }                                                                                        \
    for (int64_t i = 0; i < n; i++)                                                          \
      out[i * st] = a[i];                                                                    \
  }

#define BEFORE_FLOAT(a, b, desc) BEFORE_F(a, b, desc)
DEFINE_ARGSORT(float, f32, BEFORE_FLOAT)
DEFINE_ARGSORT(double, f64, BEFORE_FLOAT)
DEFINE_ARGSORT(int64_t, i64, BEFORE_I)
