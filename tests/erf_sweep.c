/*
 * erf_sweep.c — tt_erff (runtime/tt.h: the float erf of the exact GELU) against the exact
 * erf, every float of [0.25, 10] and every 61st below, and, when a file of PyTorch's values
 * is given, against torch.erf and F.gelu on the same points (tests/erf.sh writes it).
 *
 *   erf_sweep [TORCH_FILE]    exit status 0 when every check holds
 *
 * TORCH_FILE: n, then n float32 x, n torch.erf(x), n F.gelu(x) (little-endian, as numpy's
 * tofile). The exact values are libm's double erf rounded once; the ulp is that of the
 * float result (GELU's: of x). Negative x: erf is odd, which tt_erff keeps by construction (checked on the
 * torch points, which cover [-10, 10]).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tt.h"

static float from_bits(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static uint32_t bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* |y - exact| in ulps of the float nearest exact (the smallest subnormal at 0) */
static double ulps(float y, double exact) {
  float e = fabsf((float)exact);
  double ulp = (double)nextafterf(e, INFINITY) - (double)e;
  return fabs((double)y - exact) / ulp;
}

/* The sweep runs over blocks of N inputs, so the loop over tt_erff vectorizes as it does in
 * a generated program. */
#define N 4096

static int sweep(void) {
  static float xs[N], ys[N];
  uint32_t lo = bits(0.25f), hi = bits(10.0f);
  double worst = 0;
  float worst_x = 0;
  long n = 0, exact = 0;
  for (uint32_t b = 0; b <= hi;) {
    int m = 0;
    for (; m < N && b <= hi; m++, b += b < lo ? 61 : 1) xs[m] = from_bits(b);
    for (int i = 0; i < m; i++) ys[i] = tt_erff(xs[i]);
    for (int i = 0; i < m; i++) {
      double e = ulps(ys[i], erf((double)xs[i]));
      exact += ys[i] == (float)erf((double)xs[i]);
      n++;
      if (e > worst) worst = e, worst_x = xs[i];
    }
  }
  printf("tt_erff vs exact erf, %ld floats in [0, 10]: max %.3f ulp (x = %.9g), %.2f%% "
         "correctly rounded\n",
         n, worst, (double)worst_x, 100.0 * (double)exact / (double)n);
  /* one rounding per step with FMA; without it (-O2 on x86-64) each Horner step rounds twice */
#ifdef __FMA__
  const double limit = 1.0;
#else
  const double limit = 1.5;
#endif
  int bad = worst >= limit;
  /* the values a kernel must not get wrong */
  float nz = tt_erff(-0.0f);
  bad += !(nz == 0.0f && signbit(nz)) || tt_erff(0.0f) != 0.0f || signbit(tt_erff(0.0f));
  bad += tt_erff(INFINITY) != 1.0f || tt_erff(-INFINITY) != -1.0f || !isnan(tt_erff(NAN));
  bad += tt_erff(3.92f) != 1.0f || ulps(tt_erff(-1e-30f), erf(-1e-30)) >= limit;
  bad += ulps(tt_erff(1e-40f), erf((double)1e-40f)) >= limit; /* subnormal */
  if (bad) printf("FAIL: max error >= %.1f ulp, or a special value is wrong\n", limit);
  return bad;
}

static int against_torch(const char *path) {
  FILE *f = fopen(path, "rb");
  int64_t n = 0;
  if (!f || fread(&n, sizeof n, 1, f) != 1 || n <= 0 || n > 100000000) {
    printf("FAIL: cannot read %s\n", path);
    return 1;
  }
  float *x = malloc(sizeof(float) * (size_t)n * 3), *te = x + n, *tg = x + 2 * n;
  if (!x || fread(x, sizeof(float), (size_t)n * 3, f) != (size_t)n * 3) {
    printf("FAIL: %s is short\n", path);
    return 1;
  }
  fclose(f);
  float *ye = malloc(sizeof(float) * (size_t)n * 2), *yg = ye + n;
  /* the exact GELU's template (ir/ops.def) as codegen/ew.c emits it for float */
  for (int64_t i = 0; i < n; i++) ye[i] = tt_erff(x[i]);
  for (int64_t i = 0; i < n; i++)
    yg[i] = (float)0.5 * x[i] * (1 + tt_erff(x[i] * (float)0.70710678118654752440));
  double vs_torch = 0, torch_err = 0, g_ours = 0, g_torch = 0;
  long odd = 0;
  for (int64_t i = 0; i < n; i++) {
    double ex = erf((double)x[i]);
    /* ulps between the two floats, as the difference of their bit patterns (same sign) */
    double d = fabs((double)bits(fabsf(ye[i])) - (double)bits(fabsf(te[i])));
    if ((ye[i] < 0) != (te[i] < 0) && ye[i] != 0 && te[i] != 0) d = 1e9;
    if (d > vs_torch) vs_torch = d;
    double t = ulps(te[i], ex);
    if (t > torch_err) torch_err = t;
    odd += tt_erff(-x[i]) != -ye[i];
    /* GELU's error in ulps of x: x Phi(x) loses all relative accuracy where 1 + erf cancels
     * (x < -3), in any float implementation; against x's ulp both are comparable there */
    double gx = 0.5 * (double)x[i] * (1 + erf((double)x[i] * 0.70710678118654752440));
    double ux = (double)nextafterf(fabsf(x[i]), INFINITY) - (double)fabsf(x[i]);
    if (fabs(yg[i] - gx) / ux > g_ours) g_ours = fabs(yg[i] - gx) / ux;
    if (fabs(tg[i] - gx) / ux > g_torch) g_torch = fabs(tg[i] - gx) / ux;
  }
  printf("%lld points of [-10, 10]: tt_erff vs torch.erf max %.0f ulp (torch.erf vs exact "
         "%.3f ulp); GELU max error vs exact, in ulps of x: ttc %.2f, torch F.gelu %.2f\n",
         (long long)n, vs_torch, torch_err, g_ours, g_torch);
  int bad = vs_torch > 2 || odd != 0 || g_ours > g_torch;
  if (bad) printf("FAIL: more than 2 ulp from torch.erf, not odd, or GELU less accurate than torch's\n");
  free(x);
  free(ye);
  return bad;
}

int main(int argc, char **argv) {
  int bad = sweep();
  if (argc > 1) bad += against_torch(argv[1]);
  return bad != 0;
}
