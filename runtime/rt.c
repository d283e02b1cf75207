/*
 * rt.c — process start-up, fatal errors and aligned allocation for generated programs.
 *
 * Generated code never checks a return value from the runtime: every failure ends here,
 * in tt_fatal, with a one-line message and exit status 1, so a missing file or an
 * exhausted heap is never a crash and never a silently wrong number.
 */
#include "tt.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* PyTorch's default CPU seed (c10::detail::getNonDeterministicRandom is not used for the
 * CPU generator; default_rng_seed_val is this constant). */
#define TT_DEFAULT_SEED 67280421310721ull

static int tt_argc;
static char **tt_argv;

void tt_init(int argc, char **argv) {
  tt_argc = argc;
  tt_argv = argv;
  tt_manual_seed(TT_DEFAULT_SEED);
}

_Noreturn void tt_fatal(const char *fmt, ...) {
  va_list ap;
  fflush(stdout); /* what the program printed so far comes before the error */
  fputs("error: ", stderr);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

void *tt_alloc(size_t bytes) {
  /* aligned_alloc wants a size that is a multiple of the alignment; round up, and
   * allocate at least one line so that a zero-element tensor still has a valid pointer. */
  size_t rounded = (bytes + 63u) & ~(size_t)63u;
  if (rounded < bytes)
    tt_fatal("out of memory (allocating %zu bytes)", bytes);
  if (rounded == 0)
    rounded = 64;
  void *p = aligned_alloc(64, rounded);
  if (!p)
    tt_fatal("out of memory (allocating %zu bytes)", bytes);
  memset(p, 0, rounded);
  return p;
}

void tt_free(void *p) { free(p); }

/* ---- timing and checks ---------------------------------------------------------------- */

double tt_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The first non-finite value decides the word, as a user reading the message would look
 * for the first bad element; -inf and +inf are both "inf" (the contract in tt.h). */
static _Noreturn void anomaly(bool nan, const char *op, bool backward, const char *where) {
  tt_fatal("anomaly detected: %s in the output of %s (%s) at %s", nan ? "NaN" : "inf",
           op ? op : "?", backward ? "backward" : "forward", where ? where : "?");
}

void tt_check_finite_f32(const float *x, int64_t n, const char *op, bool backward,
                         const char *where) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      anomaly(isnan(x[i]), op, backward, where);
}

void tt_check_finite_f64(const double *x, int64_t n, const char *op, bool backward,
                         const char *where) {
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i]))
      anomaly(isnan(x[i]), op, backward, where);
}
