/*
 * test_runtime_stats.c — runtime/stats.c: a sample's summary against numbers worked by
 * hand, and ttc bench's significance rule on synthetic run times: two identical programs
 * are "not significant" in at least 19 of 20 trials (issue 14's done-when, with the
 * bootstrap's fixed seeds), and a real 3.4x difference is found, with 3.4 in its interval.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "runtime/tt.h"

/* [1,2,3,4,5]: mean 3; std sqrt(10/4) = 1.5811; p90 at position 0.9*4 = 3.6: 4.6; p99 at
 * 3.96: 4.96; the mean's interval 3 ± t(4) 2.776 * 1.5811 / sqrt(5) = 3 ± 1.963. */
static void summary_by_hand(void **state) {
  (void)state;
  double x[] = {5, 3, 1, 4, 2};
  TtSummary s;
  tt_stats_summary(x, 5, &s);
  assert_int_equal(s.n, 5);
  assert_true(fabs(s.mean - 3) < 1e-12);
  assert_true(fabs(s.std - sqrt(2.5)) < 1e-12);
  assert_true(fabs(s.p50 - 3) < 1e-12);
  assert_true(fabs(s.p90 - 4.6) < 1e-12);
  assert_true(fabs(s.p99 - 4.96) < 1e-12);
  assert_true(fabs(s.min - 1) < 1e-12 && fabs(s.max - 5) < 1e-12);
  assert_true(fabs(s.ci_lo - (3 - 2.776 * sqrt(2.5) / sqrt(5))) < 1e-9);
  assert_true(fabs(s.ci_hi - (3 + 2.776 * sqrt(2.5) / sqrt(5))) < 1e-9);
  tt_stats_summary(x, 1, &s); /* one run: no spread, no interval */
  assert_true(s.mean == 5 && s.std == 0 && s.ci_lo == 5 && s.ci_hi == 5);
}

static void t_quantiles(void **state) {
  (void)state;
  assert_true(fabs(tt_stats_t975(1) - 12.706) < 1e-9);
  assert_true(fabs(tt_stats_t975(29) - 2.045) < 1e-9);
  assert_true(fabs(tt_stats_t975(40) - 2.021) < 2e-3);
  assert_true(fabs(tt_stats_t975(120) - 1.980) < 2e-3);
}

static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 11;
}

/* A run time: 10 ms times a lognormal noise of 5%, and one run in ten 30% slow (a
 * neighbour on the machine) — the shape of the times ttc bench sees. */
static double run_time(uint64_t *s, double scale) {
  double u1 = ((double)lcg(s) + 1) / 9007199254740993.0, u2 = (double)lcg(s) / 9007199254740992.0;
  double z = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
  double t = 0.010 * scale * exp(0.05 * z);
  if (lcg(s) % 10 == 0) t *= 1.3;
  return t;
}

static void identical_not_significant(void **state) {
  (void)state;
  int quiet = 0;
  for (int trial = 0; trial < 20; trial++) {
    uint64_t s = 1000 + (uint64_t)trial;
    double a[30], b[30];
    for (int i = 0; i < 30; i++) { /* alternated, as ttc bench runs them */
      a[i] = run_time(&s, 1);
      b[i] = run_time(&s, 1);
    }
    TtRatio r;
    tt_stats_ratio(a, 30, b, 30, 2000, 42, &r);
    assert_true(r.lo <= r.ratio && r.ratio <= r.hi);
    quiet += !r.significant;
  }
  assert_true(quiet >= 19);
}

static void real_difference_found(void **state) {
  (void)state;
  uint64_t s = 7;
  double a[30], b[30];
  for (int i = 0; i < 30; i++) {
    a[i] = run_time(&s, 3.4);
    b[i] = run_time(&s, 1);
  }
  TtRatio r;
  tt_stats_ratio(a, 30, b, 30, 2000, 42, &r);
  assert_true(r.significant);
  assert_true(r.lo < 3.4 && 3.4 < r.hi);
  assert_true(r.hi - r.lo < 0.5);
  /* the same samples and seed: the same interval */
  TtRatio r2;
  tt_stats_ratio(a, 30, b, 30, 2000, 42, &r2);
  assert_true(r.lo == r2.lo && r.hi == r2.hi);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(summary_by_hand),
      cmocka_unit_test(t_quantiles),
      cmocka_unit_test(identical_not_significant),
      cmocka_unit_test(real_difference_found),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
