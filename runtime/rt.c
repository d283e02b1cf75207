/*
 * rt.c — process start-up, fatal errors, aligned allocation and opening input files for
 * generated programs.
 *
 * Generated code never checks a return value from the runtime: every failure ends here,
 * in tt_fatal, with a one-line message and exit status 1, so a missing file or an
 * exhausted heap is never a crash and never a silently wrong number. Tests and the
 * readers' fuzzers set a fatal hook instead, which gets the message and longjmps back:
 * that is why a reader frees what it holds before it calls tt_fatal.
 */
#include "tt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#ifdef _OPENMP
#include <omp.h>
#endif

/* PyTorch's default CPU seed (c10::detail::getNonDeterministicRandom is not used for the
 * CPU generator; default_rng_seed_val is this constant). */
#define TT_DEFAULT_SEED 67280421310721ull

static int tt_argc;
static char **tt_argv;

void tt_init(int argc, char **argv) {
  tt_argc = argc;
  tt_argv = argv;
  tt_manual_seed(TT_DEFAULT_SEED);
#ifdef _OPENMP
  /* libgomp's idle threads spin for about 300000 pauses (10-20 ms on a Xeon) before they
     sleep, and a parallel loop waits for all of them: on a machine whose cores are busy
     with other work, a spinning thread loses its core and each loop then waits for a time
     slice (a GPT training step went from 0.1 s to 1-3 s with two compilers running).
     libgomp reads GOMP_SPINCOUNT only when it is loaded, before main, so the program sets
     a short spin (about 0.1 ms; as fast on a quiet machine) and runs itself again, once.
     OMP_WAIT_POLICY or GOMP_SPINCOUNT set by the user are kept as they are. */
  if (!getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT") && argc > 0) {
    setenv("GOMP_SPINCOUNT", "3000", 1);
    execv("/proc/self/exe", argv); /* returns only if it failed: go on with the defaults */
  }
  /* TT_THREADS=1: the generated parallel loops (TT_PARALLEL_FOR) on one thread too */
  const char *e = getenv("TT_THREADS");
  if (e && atoi(e) == 1) omp_set_num_threads(1);
#endif
}

void tt_data_check(const unsigned char *begin, const unsigned char *end, uint64_t size,
                   uint64_t hash, const char *name) {
  if ((uint64_t)(end - begin) != size)
    tt_fatal("%s: the data file this program was compiled with has %llu bytes, not the %llu "
             "its C expects; compile the C with the data file ttc wrote beside it",
             name, (unsigned long long)(end - begin), (unsigned long long)size);
  uint64_t h = 1469598103934665603ULL;
  for (const unsigned char *p = begin; p < end; p++) h = (h ^ *p) * 1099511628211ULL;
  if (h != hash)
    tt_fatal("%s: the data file this program was compiled with is not the one its C was "
             "written with (its bytes differ); compile the C with the data file ttc wrote "
             "beside it", name);
}

static void (*fatal_hook)(const char *msg);

void tt_set_fatal_hook(void (*hook)(const char *msg)) { fatal_hook = hook; }

_Noreturn void tt_fatal(const char *fmt, ...) {
  va_list ap;
  if (fatal_hook) {
    char msg[8192];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fatal_hook(msg); /* longjmps; should it return, the error ends the program as usual */
  }
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

/* ---- input files ---------------------------------------------------------------------- */

/* What a file that is not a regular one is, for the message. */
static const char *not_regular(mode_t m) {
  if (S_ISDIR(m))
    return "Is a directory";
  if (S_ISFIFO(m))
    return "Is a FIFO, not a regular file";
  if (S_ISCHR(m))
    return "Is a character device, not a regular file";
  if (S_ISBLK(m))
    return "Is a block device, not a regular file";
  if (S_ISSOCK(m))
    return "Is a socket, not a regular file";
  return "Is not a regular file";
}

int tt_open_regular(const char *path, const char **why) {
  /* stat first, so that a device is not even opened (opening a tape rewinds it), and a
   * socket gets its own word rather than open's ENXIO. Then the open, with O_NONBLOCK: a
   * FIFO swapped in after the stat must not make it wait for a writer; fstat on the
   * descriptor is what decides. O_NOCTTY: a terminal never becomes the controlling one. */
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    *why = not_regular(st.st_mode);
    return -1;
  }
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    *why = strerror(errno);
    return -1;
  }
  if (fstat(fd, &st) != 0) {
    *why = strerror(errno);
    close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    *why = not_regular(st.st_mode);
    close(fd);
    return -1;
  }
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
    *why = strerror(errno);
    close(fd);
    return -1;
  }
  return fd;
}

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
