/*
 * sort.c — argsort of one line of a tensor, for torch.sort / argsort / topk in generated
 * programs, and the selection of a line's median (torch.median).
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

/*
 * The lower median of one line, as an index: ATen's median(dim) runs std::nth_element over
 * the positions 0..n-1 ordered by value and, among equal values, by position, a total
 * order, so the index is the one a stable sort puts at (n-1)/2 whatever the selection does.
 * The selection below is libstdc++'s introselect (median-of-three pivot, unguarded
 * partition, a heap select past 2*log2(n) rounds, insertion sort of the last few), linear
 * on average and never quadratic. A NaN is the median, the first one, as ATen checks
 * before selecting. scratch holds n positions.
 */
#define MED_LESS(i, j) (x[(i) * st] < x[(j) * st] || (x[(i) * st] == x[(j) * st] && (i) < (j)))

#define DEFINE_MEDIAN(T, SUF, ISNAN)                                                          \
  static void med_adjust_heap_##SUF(const T *x, int64_t st, int64_t *a, int64_t hole,         \
                                    int64_t len, int64_t value) {                             \
    const int64_t top = hole;                                                                 \
    int64_t child = hole;                                                                     \
    while (child < (len - 1) / 2) {                                                           \
      child = 2 * (child + 1);                                                                \
      if (MED_LESS(a[child], a[child - 1])) child--;                                          \
      a[hole] = a[child];                                                                     \
      hole = child;                                                                           \
    }                                                                                         \
    if ((len & 1) == 0 && child == (len - 2) / 2) {                                           \
      child = 2 * (child + 1);                                                                \
      a[hole] = a[child - 1];                                                                 \
      hole = child - 1;                                                                       \
    }                                                                                         \
    int64_t parent = (hole - 1) / 2; /* __push_heap */                                       \
    while (hole > top && MED_LESS(a[parent], value)) {                                        \
      a[hole] = a[parent];                                                                    \
      hole = parent;                                                                          \
      parent = (hole - 1) / 2;                                                                \
    }                                                                                         \
    a[hole] = value;                                                                          \
  }                                                                                           \
  /* __heap_select(first, middle, last), then the swap __introselect makes after it */       \
  static void med_heap_select_##SUF(const T *x, int64_t st, int64_t *a, int64_t mid,          \
                                    int64_t n) {                                              \
    if (mid >= 2)                                                                             \
      for (int64_t parent = (mid - 2) / 2;; parent--) {                                       \
        med_adjust_heap_##SUF(x, st, a, parent, mid, a[parent]);                              \
        if (parent == 0) break;                                                               \
      }                                                                                       \
    for (int64_t i = mid; i < n; i++)                                                         \
      if (MED_LESS(a[i], a[0])) { /* __pop_heap(first, middle, i) */                          \
        int64_t value = a[i];                                                                 \
        a[i] = a[0];                                                                          \
        med_adjust_heap_##SUF(x, st, a, 0, mid, value);                                       \
      }                                                                                       \
  }                                                                                           \
  int64_t tt_median_index_##SUF(const T *x, int64_t n, int64_t st, int64_t *a) {              \
    for (int64_t i = 0; i < n; i++)                                                           \
      if (ISNAN(x[i * st])) return i;                                                         \
    for (int64_t i = 0; i < n; i++)                                                           \
      a[i] = i;                                                                               \
    int64_t k = (n - 1) / 2, lo = 0, hi = n;                                                  \
    if (n <= 0) return 0;                                                                     \
    int depth = 0;                                                                            \
    for (int64_t m = n; m > 1; m >>= 1)                                                       \
      depth++;                                                                                \
    depth *= 2; /* std::__lg(n) * 2 */                                                        \
    while (hi - lo > 3) {                                                                     \
      if (depth == 0) {                                                                       \
        med_heap_select_##SUF(x, st, a + lo, k - lo + 1, hi - lo);                            \
        int64_t t = a[lo];                                                                    \
        a[lo] = a[k];                                                                         \
        a[k] = t;                                                                             \
        return a[k];                                                                          \
      }                                                                                       \
      depth--;                                                                                \
      /* __move_median_to_first(lo, lo + 1, mid, hi - 1) */                                   \
      int64_t mid = lo + (hi - lo) / 2, p, t;                                                 \
      int64_t pa = lo + 1, pb = mid, pc = hi - 1;                                             \
      if (MED_LESS(a[pa], a[pb])) {                                                           \
        if (MED_LESS(a[pb], a[pc])) p = pb;                                                   \
        else if (MED_LESS(a[pa], a[pc])) p = pc;                                              \
        else p = pa;                                                                          \
      } else if (MED_LESS(a[pa], a[pc])) p = pa;                                              \
      else if (MED_LESS(a[pb], a[pc])) p = pc;                                                \
      else p = pb;                                                                            \
      t = a[lo], a[lo] = a[p], a[p] = t;                                                      \
      /* __unguarded_partition(lo + 1, hi, pivot lo) */                                       \
      int64_t f = lo + 1, l = hi;                                                             \
      for (;;) {                                                                              \
        while (MED_LESS(a[f], a[lo])) f++;                                                    \
        l--;                                                                                  \
        while (MED_LESS(a[lo], a[l])) l--;                                                    \
        if (!(f < l)) break;                                                                  \
        t = a[f], a[f] = a[l], a[l] = t;                                                      \
        f++;                                                                                  \
      }                                                                                       \
      if (f <= k) lo = f;                                                                     \
      else hi = f;                                                                            \
    }                                                                                         \
    /* __insertion_sort(lo, hi) */                                                            \
    for (int64_t i = lo + 1; i < hi; i++) {                                                   \
      int64_t v = a[i];                                                                       \
      if (MED_LESS(v, a[lo])) {                                                               \
        for (int64_t j = i; j > lo; j--)                                                      \
          a[j] = a[j - 1];                                                                    \
        a[lo] = v;                                                                            \
      } else {                                                                                \
        int64_t j = i;                                                                        \
        while (MED_LESS(v, a[j - 1])) {                                                       \
          a[j] = a[j - 1];                                                                    \
          j--;                                                                                \
        }                                                                                     \
        a[j] = v;                                                                             \
      }                                                                                       \
    }                                                                                         \
    return a[k];                                                                              \
  }

#define MED_ISNAN_F(v) isnan(v)
#define MED_ISNAN_I(v) 0
DEFINE_MEDIAN(float, f32, MED_ISNAN_F)
DEFINE_MEDIAN(double, f64, MED_ISNAN_F)
DEFINE_MEDIAN(int64_t, i64, MED_ISNAN_I)

/*
 * torch.topk's choice of k positions, as ATen 1.13's CPU kernel (TopKImpl.h) makes it: the
 * pairs (x[j], j) in order, compared by value alone (NaN above every number), then
 * std::partial_sort of the first k when k * 64 <= n, else std::nth_element at k - 1. Which
 * of several equal values end up among the k is what libstdc++'s algorithms leave there
 * (make_heap / pop_heap for partial_sort, introselect for nth_element), so it is reproduced
 * step by step: a stable sort would take the lower indices and differ (torch.nn.utils.prune
 * masks of tied weights). out[0..k) (stride st) get the chosen positions (partial_sort's in
 * sorted order, nth_element's in the order it leaves them), out[k..n) the others in the
 * order the algorithm leaves them. scratch holds n positions.
 */
#define TK_LESS(i, j) (largest ? ((isnan(x[(i) * st]) && !isnan(x[(j) * st])) || x[(i) * st] > x[(j) * st]) \
                               : ((!isnan(x[(i) * st]) && isnan(x[(j) * st])) || x[(i) * st] < x[(j) * st]))

#define DEFINE_TOPK(T, SUF)                                                                     \
  static void tk_adjust_heap_##SUF(const T *x, int64_t st, int largest, int64_t *a,             \
                                   int64_t hole, int64_t len, int64_t value) {                  \
    const int64_t top = hole;                                                                   \
    int64_t child = hole;                                                                       \
    while (child < (len - 1) / 2) {                                                             \
      child = 2 * (child + 1);                                                                  \
      if (TK_LESS(a[child], a[child - 1])) child--;                                             \
      a[hole] = a[child];                                                                       \
      hole = child;                                                                             \
    }                                                                                           \
    if ((len & 1) == 0 && child == (len - 2) / 2) {                                             \
      child = 2 * (child + 1);                                                                  \
      a[hole] = a[child - 1];                                                                   \
      hole = child - 1;                                                                         \
    }                                                                                           \
    int64_t parent = (hole - 1) / 2; /* __push_heap */                                         \
    while (hole > top && TK_LESS(a[parent], value)) {                                           \
      a[hole] = a[parent];                                                                      \
      hole = parent;                                                                            \
      parent = (hole - 1) / 2;                                                                  \
    }                                                                                           \
    a[hole] = value;                                                                            \
  }                                                                                             \
  /* std::__heap_select(a, a + mid, a + n) */                                                  \
  static void tk_heap_select_##SUF(const T *x, int64_t st, int largest, int64_t *a,             \
                                   int64_t mid, int64_t n) {                                    \
    if (mid >= 2)                                                                               \
      for (int64_t parent = (mid - 2) / 2;; parent--) {                                         \
        tk_adjust_heap_##SUF(x, st, largest, a, parent, mid, a[parent]);                        \
        if (parent == 0) break;                                                                 \
      }                                                                                         \
    for (int64_t i = mid; i < n; i++)                                                           \
      if (TK_LESS(a[i], a[0])) { /* __pop_heap(a, a + mid, a + i) */                            \
        int64_t value = a[i];                                                                   \
        a[i] = a[0];                                                                            \
        tk_adjust_heap_##SUF(x, st, largest, a, 0, mid, value);                                 \
      }                                                                                         \
  }                                                                                             \
  void tt_topk_order_##SUF(const T *x, int64_t n, int64_t st, int64_t *out, int largest,        \
                           int64_t k, int64_t *a) {                                             \
    for (int64_t i = 0; i < n; i++)                                                             \
      a[i] = i;                                                                                 \
    if (k > 0 && k <= n && k * 64 <= n) {                                                       \
      /* std::partial_sort: __heap_select, then __sort_heap of the first k */                  \
      tk_heap_select_##SUF(x, st, largest, a, k, n);                                            \
      for (int64_t last = k; last > 1; last--) {                                                \
        int64_t value = a[last - 1];                                                            \
        a[last - 1] = a[0];                                                                     \
        tk_adjust_heap_##SUF(x, st, largest, a, 0, last - 1, value);                            \
      }                                                                                         \
    } else if (k > 0 && k <= n) {                                                               \
      /* std::nth_element(a, a + k - 1, a + n): __introselect */                               \
      int64_t nth = k - 1, lo = 0, hi = n;                                                      \
      int depth = 0;                                                                            \
      for (int64_t m = n; m > 1; m >>= 1)                                                       \
        depth++;                                                                                \
      depth *= 2; /* std::__lg(n) * 2 */                                                       \
      bool done = false;                                                                        \
      while (hi - lo > 3) {                                                                     \
        if (depth == 0) {                                                                       \
          tk_heap_select_##SUF(x, st, largest, a + lo, nth - lo + 1, hi - lo);                  \
          int64_t t = a[lo];                                                                    \
          a[lo] = a[nth];                                                                       \
          a[nth] = t;                                                                           \
          done = true;                                                                          \
          break;                                                                                \
        }                                                                                       \
        depth--;                                                                                \
        /* __unguarded_partition_pivot: __move_median_to_first(lo, lo + 1, mid, hi - 1) */    \
        int64_t mid = lo + (hi - lo) / 2, p, t;                                                 \
        int64_t pa = lo + 1, pb = mid, pc = hi - 1;                                             \
        if (TK_LESS(a[pa], a[pb])) {                                                            \
          if (TK_LESS(a[pb], a[pc])) p = pb;                                                    \
          else if (TK_LESS(a[pa], a[pc])) p = pc;                                               \
          else p = pa;                                                                          \
        } else if (TK_LESS(a[pa], a[pc])) p = pa;                                               \
        else if (TK_LESS(a[pb], a[pc])) p = pc;                                                 \
        else p = pb;                                                                            \
        t = a[lo], a[lo] = a[p], a[p] = t;                                                      \
        int64_t f = lo + 1, l = hi; /* __unguarded_partition(lo + 1, hi, lo) */                 \
        for (;;) {                                                                              \
          while (TK_LESS(a[f], a[lo])) f++;                                                     \
          l--;                                                                                  \
          while (TK_LESS(a[lo], a[l])) l--;                                                     \
          if (!(f < l)) break;                                                                  \
          t = a[f], a[f] = a[l], a[l] = t;                                                      \
          f++;                                                                                  \
        }                                                                                       \
        if (f <= nth) lo = f;                                                                   \
        else hi = f;                                                                            \
      }                                                                                         \
      if (!done) /* __insertion_sort(lo, hi) */                                                 \
        for (int64_t i = lo + 1; i < hi; i++) {                                                 \
          int64_t v = a[i];                                                                     \
          if (TK_LESS(v, a[lo])) {                                                              \
            for (int64_t j = i; j > lo; j--)                                                    \
              a[j] = a[j - 1];                                                                  \
            a[lo] = v;                                                                          \
          } else {                                                                              \
            int64_t j = i;                                                                      \
            while (TK_LESS(v, a[j - 1])) {                                                      \
              a[j] = a[j - 1];                                                                  \
              j--;                                                                              \
            }                                                                                   \
            a[j] = v;                                                                           \
          }                                                                                     \
        }                                                                                       \
    }                                                                                           \
    for (int64_t i = 0; i < n; i++)                                                             \
      out[i * st] = a[i];                                                                       \
  }

DEFINE_TOPK(float, f32)
DEFINE_TOPK(double, f64)
