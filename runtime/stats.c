/*
 * stats.c — the statistics of measurement: a sample's summary (mean ± std, percentiles,
 * the 95% confidence interval of the mean) and the ratio of two samples' means with its
 * bootstrap confidence interval. ttc profile and ttc bench report these (docs/PROFILE.md);
 * a program could call them too, which is why they live in the runtime.
 *
 * Deterministic: the bootstrap draws from its own splitmix64 stream, seeded by the caller,
 * never from the program's RNG, so a program's random numbers do not depend on whether it
 * was measured, and the same samples and seed give the same interval.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tt.h"

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile of sorted x[0..n) by linear interpolation (numpy's default). */
static double quantile(const double *x, int n, double q) {
  double pos = q * (n - 1);
  int i = (int)pos;
  if (i >= n - 1) return x[n - 1];
  return x[i] + (pos - i) * (x[i + 1] - x[i]);
}

/* Student's t 0.975 quantile for df degrees of freedom: the table to 30, then the
 * expansion t = z + (z^3+z)/(4 df) + (5z^5+16z^3+3z)/(96 df^2), good to 1e-3 there. */
double tt_stats_t975(int df) {
  static const double t[31] = {0,      12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                               2.306,  2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                               2.120,  2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                               2.064,  2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return NAN;
  if (df <= 30) return t[df];
  double z = 1.959964, d = df;
  return z + (z * z * z + z) / (4 * d) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * d * d);
}

void tt_stats_summary(const double *x, int n, TtSummary *s) {
  memset(s, 0, sizeof *s);
  s->n = n;
  if (n <= 0) return;
  double *v = malloc((size_t)n * sizeof *v);
  if (!v) tt_fatal("out of memory");
  memcpy(v, x, (size_t)n * sizeof *v);
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double sum = 0;
  for (int i = 0; i < n; i++) sum += v[i];
  s->mean = sum / n;
  double ss = 0;
  for (int i = 0; i < n; i++) ss += (v[i] - s->mean) * (v[i] - s->mean);
  s->std = n > 1 ? sqrt(ss / (n - 1)) : 0;
  s->min = v[0];
  s->max = v[n - 1];
  s->p50 = quantile(v, n, 0.50);
  s->p90 = quantile(v, n, 0.90);
  s->p99 = quantile(v, n, 0.99);
  double half = n > 1 ? tt_stats_t975(n - 1) * s->std / sqrt((double)n) : 0;
  s->ci_lo = s->mean - half;
  s->ci_hi = s->mean + half;
  free(v);
}

static uint64_t splitmix64(uint64_t *st) {
  uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/* The mean of n draws with replacement from x. */
static double resample_mean(const double *x, int n, uint64_t *st) {
  double sum = 0;
  for (int i = 0; i < n; i++) sum += x[splitmix64(st) % (uint64_t)n];
  return sum / n;
}

/* mean(a) / mean(b) (how many times longer a takes than b: b's speedup over a), and its
 * 95% percentile-bootstrap interval: both samples resampled independently, `resamples`
 * times. Significant when the interval excludes 1. */
void tt_stats_ratio(const double *a, int na, const double *b, int nb, int resamples, uint64_t seed,
                    TtRatio *r) {
  memset(r, 0, sizeof *r);
  if (na <= 0 || nb <= 0) return;
  double sa = 0, sb = 0;
  for (int i = 0; i < na; i++) sa += a[i];
  for (int i = 0; i < nb; i++) sb += b[i];
  r->ratio = (sa / na) / (sb / nb);
  if (resamples < 2) resamples = 2;
  double *rs = malloc((size_t)resamples * sizeof *rs);
  if (!rs) tt_fatal("out of memory");
  uint64_t st = seed;
  for (int k = 0; k < resamples; k++) {
    double ma = resample_mean(a, na, &st);
    rs[k] = ma / resample_mean(b, nb, &st);
  }
  qsort(rs, (size_t)resamples, sizeof *rs, cmp_double);
  r->lo = quantile(rs, resamples, 0.025);
  r->hi = quantile(rs, resamples, 0.975);
  r->significant = r->lo > 1 || r->hi < 1;
  free(rs);
}
