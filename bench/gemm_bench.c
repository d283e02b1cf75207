/*
 * gemm_bench.c — GFLOP/s of tt_gemm_f32 against OpenBLAS's cblas_sgemm, side by side in one
 * process, on square sizes 256-1024 in the three transpose variants a backward pass uses
 * (NN: forward x@W and dx = dy@W; NT: x@W^T, dx = dy@W^T; TN: dW = x^T@dy) and on the
 * shapes of the Fashion-MNIST MLP (batch 64, 784 -> 256 -> 10), and on products of one row
 * (batch-1 inference, a GPT's decode step: "1xNxK", K and N in 128, 384, 512, 784, as x @ W^T
 * (NT) and x @ W (NN)) and of a few rows (2 and 4).
 *
 *   bench/gemm_bench.sh [RUNS [FILTER]]   # builds this file with the flags ttc builds programs
 *                                         # with; FILTER: only shapes whose name contains it
 *
 * OpenBLAS is not linked: it is dlopen'ed ($OPENBLAS_LIB, else Debian's
 * libopenblas0-pthread, libopenblas.so.0), so the bench builds without it and says so when
 * it is missing (the ttc columns are still printed). Both libraries run on one thread
 * (TT_THREADS-style tt_gemm_threads(1), openblas_set_num_threads(1)), then on two.
 *
 * Method: per shape and library, one warm-up (repetitions doubled until a batch takes
 * >= 30 ms), then RUNS timed batches (default 7), alternating ttc and OpenBLAS batch by
 * batch so a noisy neighbour hits both; GFLOP/s of the median batch and the spread
 * (min-max) are printed, and ttc / OpenBLAS of the medians.
 */
#define _GNU_SOURCE
#include "tt.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct Shape {
  const char *name;
  int64_t M, N, K;
  bool ta, tb;
} Shape;

static Shape shapes[64] = {
    {"256 NN", 256, 256, 256, false, false},  {"256 NT", 256, 256, 256, false, true},
    {"256 TN", 256, 256, 256, true, false},   {"512 NN", 512, 512, 512, false, false},
    {"512 NT", 512, 512, 512, false, true},   {"512 TN", 512, 512, 512, true, false},
    {"768 NN", 768, 768, 768, false, false},  {"768 NT", 768, 768, 768, false, true},
    {"768 TN", 768, 768, 768, true, false},   {"1024 NN", 1024, 1024, 1024, false, false},
    {"1024 NT", 1024, 1024, 1024, false, true}, {"1024 TN", 1024, 1024, 1024, true, false},
    {"mlp fc1 64x256x784 NT", 64, 256, 784, false, true},
    {"mlp dW1 256x784x64 TN", 256, 784, 64, true, false},
    {"mlp dx1 64x784x256 NN", 64, 784, 256, false, false},
    {"mlp fc2 64x10x256 NT", 64, 10, 256, false, true},
};
static int nshapes = 16;

/* The rows-of-one shapes (and a few rows), after the fixed ones. */
static void add_small_shapes(void) {
  static const int64_t ext[] = {128, 384, 512, 784};
  static char names[48][32];
  int n = 0;
  for (int t = 0; t < 2; t++)
    for (int a = 0; a < 4; a++)
      for (int b = 0; b < 4; b++) {
        int64_t N = ext[a], K = ext[b];
        snprintf(names[n], sizeof names[n], "1x%lldx%lld %s", (long long)N, (long long)K,
                 t ? "NN" : "NT");
        shapes[nshapes++] = (Shape){names[n++], 1, N, K, false, t == 0};
      }
  static const int64_t few[][4] = {{2, 512, 784, 1}, {4, 512, 784, 1}, {2, 512, 784, 0},
                                   {4, 512, 784, 0}, {1, 4096, 1024, 1}, {1, 4096, 1024, 0}};
  for (size_t i = 0; i < sizeof few / sizeof few[0]; i++) {
    snprintf(names[n], sizeof names[n], "%lldx%lldx%lld %s", (long long)few[i][0],
             (long long)few[i][1], (long long)few[i][2], few[i][3] ? "NT" : "NN");
    shapes[nshapes++] = (Shape){names[n++], few[i][0], few[i][1], few[i][2], false, few[i][3]};
  }
}

/* cblas_sgemm's enums, spelled as numbers so no cblas.h is needed */
enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };
typedef void (*SgemmFn)(int, int, int, int, int, int, float, const float *, int, const float *,
                        int, float, float *, int);
static SgemmFn cblas_sgemm;
static void (*ob_set_threads)(int);

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static bool load_openblas(void) {
  const char *cands[] = {getenv("OPENBLAS_LIB"), "libopenblas.so.0",
                         "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
                         "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0"};
  for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
    if (!cands[i] || !*cands[i]) continue;
    void *h = dlopen(cands[i], RTLD_NOW | RTLD_LOCAL);
    if (!h) continue;
    cblas_sgemm = (SgemmFn)dlsym(h, "cblas_sgemm");
    ob_set_threads = (void (*)(int))dlsym(h, "openblas_set_num_threads");
    if (cblas_sgemm && ob_set_threads) {
      printf("OpenBLAS: %s\n", cands[i]);
      return true;
    }
    dlclose(h);
  }
  printf("OpenBLAS: not found (apt-get install libopenblas0-pthread, or set OPENBLAS_LIB)\n");
  return false;
}

typedef struct Case {
  const Shape *s;
  const float *A, *B;
  float *C;
  int64_t lda, ldb;
} Case;

static void run_tt(const Case *c) {
  const Shape *s = c->s;
  tt_gemm_f32(s->M, s->N, s->K, c->A, c->lda, s->ta, c->B, c->ldb, s->tb, c->C, s->N, false);
}

static void run_ob(const Case *c) {
  const Shape *s = c->s;
  cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans, s->tb ? CblasTrans : CblasNoTrans,
              (int)s->M, (int)s->N, (int)s->K, 1.0f, c->A, (int)c->lda, c->B, (int)c->ldb, 0.0f,
              c->C, (int)s->N);
}

static int reps_for(void (*fn)(const Case *), const Case *c) {
  int reps = 1;
  for (;;) {
    double t0 = now();
    for (int r = 0; r < reps; r++) fn(c);
    if (now() - t0 > 0.03) return reps;
    reps *= 2;
  }
}

static double batch(void (*fn)(const Case *), const Case *c, int reps) {
  double t0 = now();
  for (int r = 0; r < reps; r++) fn(c);
  return (now() - t0) / reps;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

#define MAX_RUNS 64

/* GFLOP/s of the median, slowest and fastest of n batch times */
static void summarize(double *t, int n, double flop, double out[3]) {
  qsort(t, (size_t)n, sizeof *t, cmp_double);
  out[0] = flop / t[n / 2] * 1e-9;
  out[1] = flop / t[n - 1] * 1e-9;
  out[2] = flop / t[0] * 1e-9;
}

int main(int argc, char **argv) {
  int runs = argc > 1 ? atoi(argv[1]) : 7;
  const char *filter = argc > 2 ? argv[2] : "";
  if (runs < 1 || runs > MAX_RUNS) runs = 7;
  tt_init(1, argv);
  add_small_shapes();
  bool ob = load_openblas();
  printf("%d timed batches per cell after a warm-up; GFLOP/s of the median [min-max]\n\n",
         runs);
  for (int threads = 1; threads <= 2; threads++) {
    tt_gemm_threads(threads);
    if (ob) ob_set_threads(threads);
    printf("%d thread%s\n%-24s %24s %24s %8s\n", threads, threads > 1 ? "s" : "", "shape",
           "ttc", "OpenBLAS", "ttc/OB");
    for (int i = 0; i < nshapes; i++) {
      const Shape *s = &shapes[i];
      if (!strstr(s->name, filter)) continue;
      float *A = tt_alloc((size_t)(s->M * s->K) * sizeof(float));
      float *B = tt_alloc((size_t)(s->K * s->N) * sizeof(float));
      float *C = tt_alloc((size_t)(s->M * s->N) * sizeof(float));
      tt_uniform_f32(A, s->M * s->K, -1.0, 1.0);
      tt_uniform_f32(B, s->K * s->N, -1.0, 1.0);
      Case c = {s, A, B, C, s->ta ? s->M : s->K, s->tb ? s->K : s->N};
      double flop = 2.0 * (double)s->M * (double)s->N * (double)s->K;
      double tt_t[MAX_RUNS], ob_t[MAX_RUNS], tt_g[3], ob_g[3] = {0, 0, 0};
      int tt_reps = reps_for(run_tt, &c), ob_reps = ob ? reps_for(run_ob, &c) : 0;
      for (int r = 0; r < runs; r++) {
        tt_t[r] = batch(run_tt, &c, tt_reps);
        if (ob) ob_t[r] = batch(run_ob, &c, ob_reps);
      }
      summarize(tt_t, runs, flop, tt_g);
      if (ob) summarize(ob_t, runs, flop, ob_g);
      char a[64], b[64];
      snprintf(a, sizeof a, "%.1f [%.1f-%.1f]", tt_g[0], tt_g[1], tt_g[2]);
      snprintf(b, sizeof b, "%.1f [%.1f-%.1f]", ob_g[0], ob_g[1], ob_g[2]);
      if (ob)
        printf("%-24s %24s %24s %7.0f%%\n", s->name, a, b, 100.0 * tt_g[0] / ob_g[0]);
      else
        printf("%-24s %24s %24s %8s\n", s->name, a, "-", "-");
      fflush(stdout);
      tt_free(A);
      tt_free(B);
      tt_free(C);
    }
    printf("\n");
  }
  return 0;
}
