/*
 * roofline.c — the two numbers of a roofline, measured on this machine, and the per-kernel
 * timers of a program built with `ttc run|build --profile` (docs/ROOFLINE.md).
 *
 * Peak FLOP/s: a loop of fused multiply-adds on 16 independent accumulators (enough to
 * hide the FMA latency on two ports), as wide as the target allows: AVX-512 intrinsics
 * where the flags enable them (the GEMM's micro-kernel uses the same), else plain C that
 * the compiler vectorizes. Bandwidth: STREAM's triad a[i] = b[i] + s * c[i], over arrays
 * much larger than the caches (DRAM) and over arrays that fit in L2 (a cache ceiling).
 * Each is the best of several repetitions, on one thread and on both (tt_parallel2).
 * ttc roofline compiles this file with the flags programs are built with, so the peak is
 * the one emitted code can reach.
 *
 * The timers: every kernel of a profiled program is bracketed by tt_prof_begin and
 * tt_prof_end, which add its wall time and a call to its site in a table the C defines
 * (one TtProfSite per kernel, with its op, .tt line and ir_cost's FLOPs and bytes per
 * call). At exit the table goes to $TTC_PROFILE (or stderr) as tab-separated lines that
 * ttc turns into the ranked table and the SVG. Without --profile none of this is
 * compiled into the program.
 */
#include "tt.h"

#include <stdlib.h>
#include <string.h>

#ifdef __FMA__
#include <math.h>
#define FMA(a, b, c) fmaf(a, b, c)
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#endif
#if defined(__AVX512F__)
#include <immintrin.h>
#endif

/* ---- peak FLOP/s ------------------------------------------------------------------- */

#define CHAINS 16
static volatile float sink; /* keeps the loops' results alive */

/* 2 * CHAINS * lanes * iters FLOPs; returns that count. */
static double fma_loop(int64_t iters) {
#if defined(__AVX512F__)
  __m512 acc[CHAINS];
  const __m512 m = _mm512_set1_ps(0.999999f), a = _mm512_set1_ps(1e-6f);
#pragma GCC unroll 16
  for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
  for (int64_t it = 0; it < iters; it++) {
#pragma GCC unroll 16
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, a);
  }
  __m512 s = acc[0];
#pragma GCC unroll 16
  for (int i = 1; i < CHAINS; i++) s = _mm512_add_ps(s, acc[i]);
  sink = _mm512_reduce_add_ps(s);
  return 2.0 * CHAINS * 16 * (double)iters;
#else
  /* 8 lanes: a vector register of AVX; the compiler widens or narrows it as it can */
  float acc[CHAINS][8];
  for (int i = 0; i < CHAINS; i++)
    for (int l = 0; l < 8; l++) acc[i][l] = (float)(i + l);
  for (int64_t it = 0; it < iters; it++)
    for (int i = 0; i < CHAINS; i++)
      for (int l = 0; l < 8; l++) acc[i][l] = FMA(acc[i][l], 0.999999f, 1e-6f);
  float s = 0;
  for (int i = 0; i < CHAINS; i++)
    for (int l = 0; l < 8; l++) s += acc[i][l];
  sink = s;
  return 2.0 * CHAINS * 8 * (double)iters;
#endif
}

typedef struct PeakJob {
  int64_t iters;
  double flops[2], secs[2];
} PeakJob;

static void peak_part(void *arg, int part) {
  PeakJob *j = arg;
  double t0 = tt_now();
  j->flops[part] = fma_loop(j->iters);
  j->secs[part] = tt_now() - t0;
}

/* FLOP/s of the FMA loop on threads (1 or 2) threads, best of reps. */
static double peak(int threads, int reps) {
  PeakJob j = {.iters = 1000};
  /* about 50 ms a repetition on one thread */
  for (;;) {
    double t0 = tt_now();
    fma_loop(j.iters);
    if (tt_now() - t0 > 0.05 || j.iters > ((int64_t)1 << 40)) break;
    j.iters *= 2;
  }
  double best = 0;
  for (int r = 0; r < reps; r++) {
    double f;
    if (threads > 1 && tt_parallel2_available()) {
      double t0 = tt_now();
      tt_parallel2(peak_part, &j);
      f = (j.flops[0] + j.flops[1]) / (tt_now() - t0);
    } else {
      peak_part(&j, 0);
      f = j.flops[0] / j.secs[0];
    }
    if (f > best) best = f;
  }
  return best;
}

/* ---- bandwidth: STREAM triad ---------------------------------------------------------- */

typedef struct TriadJob {
  float *a;
  const float *b, *c;
  int64_t n, half;
  int inner; /* passes per call: each thread loops over its half, one hand-off for all */
} TriadJob;

static void triad_range(float *restrict a, const float *restrict b, const float *restrict c,
                        int64_t lo, int64_t hi) {
  const float s = 3.0f;
  for (int64_t i = lo; i < hi; i++) a[i] = b[i] + s * c[i];
}

static void triad_part(void *arg, int part) {
  TriadJob *j = arg;
  for (int k = 0; k < j->inner; k++)
    triad_range(j->a, j->b, j->c, part ? j->half : 0, part ? j->n : j->half);
}

/* Bytes/s of the triad over n floats per array (12 bytes an element: STREAM's count,
 * without the write-allocate read), best of reps passes of at least ~20 ms each. */
static double triad(int64_t n, int threads, int reps) {
  float *a = tt_alloc((size_t)n * sizeof(float)), *b = tt_alloc((size_t)n * sizeof(float));
  float *c = tt_alloc((size_t)n * sizeof(float));
  for (int64_t i = 0; i < n; i++) {
    b[i] = (float)(i & 1023);
    c[i] = 1.0f;
  }
  TriadJob j = {a, b, c, n, n / 2 / 16 * 16, 1};
  bool two = threads > 1 && tt_parallel2_available();
  int inner = 1;
  for (;;) { /* passes per timing, so a small array's timing is not all clock */
    double t0 = tt_now();
    for (int k = 0; k < inner; k++) triad_range(a, b, c, 0, n);
    if (tt_now() - t0 > 0.02 || inner > (1 << 20)) break;
    inner *= 2;
  }
  double best = 0;
  for (int r = 0; r < reps; r++) {
    double t0 = tt_now();
    j.inner = inner;
    if (two) {
      tt_parallel2(triad_part, &j);
    } else {
      for (int k = 0; k < inner; k++) triad_range(a, b, c, 0, n);
    }
    double bw = 12.0 * (double)n * inner / (tt_now() - t0);
    if (bw > best) best = bw;
  }
  sink = a[n / 3];
  tt_free(a);
  tt_free(b);
  tt_free(c);
  return best;
}

void tt_roofline_measure(TtRoofline *r) {
  memset(r, 0, sizeof *r);
  r->peak1 = peak(1, 5);
  r->peak2 = peak(2, 5);
  /* 3 x 256 MiB: past any L3 a cloud machine reports; 3 x 128 KiB: inside a 2 MiB L2 */
  int64_t big = (int64_t)1 << 26, small = (int64_t)1 << 15;
  r->dram1 = triad(big, 1, 3);
  r->dram2 = triad(big, 2, 3);
  r->l2_1 = triad(small, 1, 9);
  r->l2_2 = triad(small, 2, 9);
#if defined(__AVX512F__)
  r->simd = "AVX-512";
#elif defined(__AVX2__)
  r->simd = "AVX2";
#elif defined(__AVX__)
  r->simd = "AVX";
#else
  r->simd = "the compiler's";
#endif
}

/* ---- per-kernel timers (--profile) ---------------------------------------------------- */

static TtProfSite *prof_sites;
static int prof_n;
static double prof_t0, prof_start;

/* tt_prof_graph's record: every call's time, in order (a profiled run only) */
typedef struct ProfGraph {
  const char *name;
  double *secs;
  int64_t n, cap;
} ProfGraph;
static ProfGraph *prof_graphs;
static int prof_ngraphs;
static void prof_register(void);

static void prof_dump(void) {
  double total = tt_now() - prof_start;
  const char *path = getenv("TTC_PROFILE");
  FILE *f = path && *path ? fopen(path, "w") : stderr;
  if (!f) {
    fprintf(stderr, "error: --profile: cannot write %s\n", path);
    return;
  }
  fprintf(f, "# ttc profile 1\ttotal_s\t%.9f\n", total);
  fputs("# op\tname\tline\tcalls\tseconds\tflops_per_call\tbytes_per_call\n", f);
  for (int i = 0; i < prof_n; i++) {
    const TtProfSite *s = &prof_sites[i];
    fprintf(f, "%s\t%s\t%d\t%llu\t%.9f\t%.17g\t%.17g\n", s->op, s->name, s->line,
            (unsigned long long)s->calls, s->seconds, s->flops, s->bytes);
  }
  for (int g = 0; g < prof_ngraphs; g++) {
    const ProfGraph *pg = &prof_graphs[g];
    if (pg->n < 8) continue;
    fprintf(f, "# graph\t%s\t%lld", pg->name, (long long)pg->n);
    for (int b = 0; b < 8; b++) {
      int64_t lo = pg->n * b / 8, hi = pg->n * (b + 1) / 8;
      double sum = 0;
      for (int64_t i = lo; i < hi; i++) sum += pg->secs[i];
      fprintf(f, "\t%.9f", sum / (double)(hi - lo));
    }
    fputc('\n', f);
  }
  if (f != stderr) fclose(f);
}

static void prof_register(void) {
  static bool done;
  if (!done) {
    done = true;
    prof_start = tt_now();
    atexit(prof_dump);
  }
}

void tt_prof_graph(const char *name, double seconds) {
  int g = 0;
  while (g < prof_ngraphs && strcmp(prof_graphs[g].name, name)) g++;
  if (g == prof_ngraphs) {
    ProfGraph *ng = realloc(prof_graphs, sizeof *ng * (size_t)(prof_ngraphs + 1));
    if (!ng) return; /* a profile without this graph's calls rather than a failed program */
    prof_graphs = ng;
    prof_graphs[prof_ngraphs++] = (ProfGraph){.name = name};
  }
  ProfGraph *pg = &prof_graphs[g];
  if (pg->n == pg->cap) {
    int64_t cap = pg->cap ? 2 * pg->cap : 256;
    double *s = realloc(pg->secs, sizeof *s * (size_t)cap);
    if (!s) return;
    pg->secs = s;
    pg->cap = cap;
  }
  pg->secs[pg->n++] = seconds;
  prof_register();
}

void tt_prof_begin(TtProfSite *sites, int n) {
  if (!prof_sites) {
    prof_sites = sites;
    prof_n = n;
    prof_register();
  }
  prof_t0 = tt_now();
}

void tt_prof_end(TtProfSite *site) {
  site->seconds += tt_now() - prof_t0;
  site->calls++;
}
