/*
 * driver.h — what the ttc command's files share: the options, and main.c's compiling,
 * building and running, which profile.c (ttc profile) and bench.c (ttc bench) call.
 */
#ifndef TTC_DRIVER_H
#define TTC_DRIVER_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"

typedef struct Opts {
  const char *cmd;
  const char *file;
  const char *file2; /* bench: the second program (NULL: the first, with --a and --b) */
  const char *out;
  const char *emit;
  const char *passes; /* NULL: the level's pipeline */
  int level;
  const char *print_after;
  bool print_after_all;
  const char *cc;
  const char *cflags;
  const char *pass; /* diff */
  const char *from, *to; /* diff: two pipeline points */
  bool detect_anomaly;
  bool mem_report; /* --mem-report: the static memory by kind (codegen: mem_print) */
  const char *explain; /* --explain=PASS: what the pass did and did not do, on stderr */
  char disabled[512]; /* --disable-pass=NAME (repeatable; --conv=naive is conv-im2col):
                         comma-separated passes left out of the pipeline */
  bool json;          /* profile: JSON on stdout instead of the table */
  int runs, warmup;   /* profile, bench: measured and warm-up runs (0: the command's default) */
  const char *a_opts, *b_opts; /* bench: options of each side, space-separated */
  const char *metrics; /* --metrics[=FILE]: "" without a file; NULL: no training curves */
  CgMetrics *cgm;      /* with --metrics: filled by compile_program (metrics_instrument) */
  char **args;      /* run: arguments after -- */
  int nargs;
} Opts;

/* The data file a program's large constants go to (CgOptions.data): name is what the C
 * calls it, buf/n its bytes once emitted (n == 0: the program has none, write no file). */
typedef struct DataOut {
  const char *name;
  char *buf;
  size_t n;
} DataOut;

/* A file of the cache, checked against its checksum and open. */
typedef struct Cached {
  int fd;
  char *data;
  size_t n;
} Cached;

/* ---- main.c ---------------------------------------------------------------------- */

_Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool opt_one(Opts *o, const char *a);
const char *pipeline_of(const Opts *o);
/* Front end and passes; NULL after a diagnostic (already printed). */
Program *compile_program(const Opts *o, const Source *src, const char *pipeline);
/* The C (what: "c", "ir", "dot") in memory; info: filled as CgOptions.info, or NULL. */
char *emit_to_string(const Opts *o, Program *p, const char *what, size_t *len, DataOut *d,
                     CgInfo *info);
void build_text(const Opts *o, const char *text, size_t n, const DataOut *d, bool mpi, Cached *c,
                char bin[4200]);
void cached_close(Cached *c);
char *read_file(const char *path, size_t *len);
/* Starts argv[0] from exec_fd (the checked binary); out_fd/err_fd: -1 to inherit. */
pid_t spawn(char **argv, int exec_fd, int out_fd, int err_fd);
int wait_for(pid_t pid);

/* ---- profile.c, bench.c ------------------------------------------------------------- */

int cmd_profile(const Opts *o, const Source *src);
int cmd_bench(const Opts *o);

/* ---- metrics.c, plot.c: training curves (docs/METRICS.md) --------------------------- */

/* Before the passes: stores of each backward()'s loss and each optimizer's learning rate
 * into variables, and what the codegen's hooks need (m's arrays malloc'd). */
bool metrics_instrument(Program *p, CgMetrics *m, IrErr *err);
void metrics_free(CgMetrics *m);
/* ttc plot FILE -o SVG */
int cmd_plot(const Opts *o);

#endif
