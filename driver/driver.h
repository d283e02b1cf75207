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
#include "runtime/tt.h"

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
  const char *profile; /* --profile[=SVG]: "" without a file; NULL: no kernel timers */
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

/* The directory of ttc's private cache ($TTC_CACHE_DIR, else $XDG_CACHE_HOME/ttc, else
 * ~/.cache/ttc), made if missing. */
const char *cache_dir(void);

/* ---- roofline.c: ttc roofline and --profile's report (docs/ROOFLINE.md) -------------- */

int cmd_roofline(const Opts *o);
/* Before a --profile run: sets $TTC_PROFILE (unless the user did) to where the program
 * writes its kernels' times, path. After it: the kernels ranked by time against the
 * roofline (stderr) and the SVG. */
void profile_begin(char path[4200]);
void profile_report(const Opts *o, const char *path);

/* ---- profile.c, bench.c ------------------------------------------------------------- */

int cmd_profile(const Opts *o, const Source *src);
int cmd_bench(const Opts *o);

/* One graph timed by profile's harness. */
typedef struct ProfileRun {
  int64_t batch;
  TtSummary s;  /* the calls' seconds */
  long rss_kib; /* the harness's peak resident set */
  bool ok;
} ProfileRun;
/* The graph ttc profile calls the forward (-1: none), its FLOPs at batch 1 and at its batch;
 * with loader >= 0, the graph of that loader's loop body that trains nothing with the most
 * FLOPs instead (the evaluation on a test set, wherever the program's heaviest inference is). */
int profile_forward(const Program *p, int loader, double *flops1, double *flops);
/* Graph g of p (c: its C, n bytes; d, info: as emitted) in profile's harness, timed at
 * batch with o's --runs and --warmup; only the variables g reads are filled, so the peak
 * RSS is an inference process's. */
ProfileRun profile_time_graph(const Opts *o, const Program *p, const char *c, size_t n, const DataOut *d,
                              const CgInfo *info, int g, int64_t batch);

/* ---- olympics.c: ttc olympics (docs/OLYMPICS.md) ------------------------------------ */

int cmd_olympics(const Opts *o);

/* ---- metrics.c, plot.c: training curves (docs/METRICS.md) --------------------------- */

/* Before the passes: stores of each backward()'s loss and each optimizer's learning rate
 * into variables, and what the codegen's hooks need (m's arrays malloc'd). */
bool metrics_instrument(Program *p, CgMetrics *m, IrErr *err);
void metrics_free(CgMetrics *m);
/* ttc plot FILE -o SVG */
int cmd_plot(const Opts *o);
/* plot.c's drawing, which olympics.c's Pareto plot shares */
typedef struct PlotAxis {
  double lo, hi, step; /* the range, widened to whole ticks */
} PlotAxis;
typedef struct PlotPanel {
  double x, y, w, h;     /* the plot area in SVG pixels */
  PlotAxis ax, ayl, ayr; /* x, left y, right y */
  bool xlog;             /* x values are log10: the x ticks are labelled 10^v */
} PlotPanel;
/* Ticks at 1, 2 or 5 times a power of ten, about `want` of them over [lo, hi]. */
PlotAxis plot_nice_axis(double lo, double hi, int want);
double plot_px(const PlotPanel *p, double x);
double plot_py(const PlotPanel *p, const PlotAxis *a, double y);
/* The panel's box, grid, ticks and axis labels (rlabel: a right axis, in rcolor). */
void plot_frame(FILE *f, const PlotPanel *p, const char *ylabel, const char *rlabel, const char *rcolor,
                bool xlabels);
/* Text safe in SVG. */
void plot_text(FILE *f, const char *s);

#endif
