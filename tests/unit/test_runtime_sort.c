/*
 * test_runtime_sort.c — runtime/sort.c's argsort against a plain insertion sort (stable by
 * construction) on random lines with many ties, NaNs and infinities, every length from 0
 * to 300, both directions, contiguous and strided.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "runtime/tt.h"

/* a sorts strictly before b (NaN largest) */
static int before(double a, double b, int desc) {
  if (desc) return a > b || (isnan(a) && !isnan(b));
  return a < b || (isnan(b) && !isnan(a));
}

static void reference(const double *x, int64_t n, int desc, int64_t *out) {
  for (int64_t i = 0; i < n; i++) {
    int64_t j = i;
    while (j > 0 && before(x[i], x[out[j - 1]], desc)) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = i;
  }
}

static void test_argsort_matches_insertion_sort(void **state) {
  (void)state;
  static const double vals[] = {-2, -1, 0, 1, 1.5, 2, INFINITY, -INFINITY, NAN};
  srand(11);
  for (int64_t n = 0; n <= 300; n++)
    for (int desc = 0; desc < 2; desc++)
      for (int64_t st = 1; st <= 3; st += 2) {
        double xd[300 * 3];
        float xf[300 * 3];
        int64_t xi[300 * 3], want[300], got[300 * 3], scratch[300];
        for (int64_t i = 0; i < n * st; i++) {
          xd[i] = vals[rand() % (rand() % 4 ? 7 : 9)];
          xf[i] = (float)xd[i];
          xi[i] = isfinite(xd[i]) ? (int64_t)(xd[i] * 2) : 0;
        }
        double line[300];
        for (int64_t i = 0; i < n; i++) line[i] = xd[i * st];
        reference(line, n, desc, want);
        tt_argsort_f64(xd, n, st, got, desc, scratch);
        for (int64_t i = 0; i < n; i++) assert_int_equal(got[i * st], want[i]);
        tt_argsort_f32(xf, n, st, got, desc, scratch);
        for (int64_t i = 0; i < n; i++) assert_int_equal(got[i * st], want[i]);
        for (int64_t i = 0; i < n; i++) line[i] = (double)xi[i * st];
        reference(line, n, desc, want);
        tt_argsort_i64(xi, n, st, got, desc, scratch);
        for (int64_t i = 0; i < n; i++) assert_int_equal(got[i * st], want[i]);
      }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_argsort_matches_insertion_sort)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
