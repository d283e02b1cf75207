/*
 * bench.c — ttc bench: two programs (or one program under two sets of options) built,
 * then run alternately, A B A B ..., so that drift on the machine (a neighbour's load, the
 * clock's frequency) falls on both alike; each run is the whole program's wall time, its
 * output thrown away. The report: each one's mean ± std and the ratio of the means with
 * its 95% bootstrap interval (runtime/stats.c, a fixed seed), and "not significant" when
 * the interval holds 1 (docs/PROFILE.md).
 */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/driver.h"
#include "runtime/tt.h"

typedef struct Side {
  Opts o;
  const char *label;
  Cached c;
  char bin[4200];
  double *t;
} Side;

/* Applies the space-separated options in s to o. */
static void apply_opts(Opts *o, const char *s, const char *which) {
  if (!s) return;
  /* the options keep pointers into the words (--passes=LIST): the words live as long as
   * the program, in buffers kept reachable here */
  static char *kept[2];
  char *buf = strdup(s);
  if (!buf) die("out of memory");
  kept[kept[0] != NULL] = buf;
  for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
    if (!opt_one(o, w)) die("bench: %s: unknown option '%s'", which, w);
}

static bool build_side(Side *s) {
  Source *src = source_read(s->o.file);
  if (!src) return false;
  Program *p = compile_program(&s->o, src, pipeline_of(&s->o));
  if (!p) return false;
  DataOut d = {.name = "model.data"};
  size_t n;
  char *text = emit_to_string(&s->o, p, "c", &n, &d, NULL);
  bool mpi = p->mpi;
  ir_program_free(p);
  if (!text) return false;
  build_text(&s->o, text, n, &d, mpi, &s->c, s->bin);
  free(text);
  free(d.buf);
  source_free(src);
  return true;
}

/* One run's wall seconds; a failing run stops the bench. */
static double run_once(Side *s, int devnull) {
  char *argv[] = {s->bin, NULL};
  double t0 = tt_now();
  int st = wait_for(spawn(argv, s->c.fd, devnull, -1));
  double t = tt_now() - t0;
  if (st) die("bench: %s exited with status %d", s->label, st);
  return t;
}

int cmd_bench(const Opts *base) {
  Side s[2] = {{.o = *base}, {.o = *base}};
  s[0].o.a_opts = s[0].o.b_opts = s[1].o.a_opts = s[1].o.b_opts = NULL;
  if (base->file2) s[1].o.file = base->file2;
  apply_opts(&s[0].o, base->a_opts, "--a");
  apply_opts(&s[1].o, base->b_opts, "--b");
  static char la[600], lb[600];
  snprintf(la, sizeof la, "%s%s%s", s[0].o.file, base->a_opts ? " " : "", base->a_opts ? base->a_opts : "");
  snprintf(lb, sizeof lb, "%s%s%s", s[1].o.file, base->b_opts ? " " : "", base->b_opts ? base->b_opts : "");
  s[0].label = base->file2 || base->a_opts || base->b_opts ? la : "A";
  s[1].label = lb;
  if (!strcmp(la, lb)) s[0].label = "A", s[1].label = "B"; /* the same program twice */
  for (int k = 0; k < 2; k++)
    if (!build_side(&s[k])) return 1;
  int runs = base->runs > 0 ? base->runs : 30, warm = base->warmup ? base->warmup : 1;
  int devnull = open("/dev/null", O_WRONLY);
  if (devnull < 0) die("bench: cannot open /dev/null");
  for (int i = 0; i < warm; i++)
    for (int k = 0; k < 2; k++) run_once(&s[k], devnull);
  for (int k = 0; k < 2; k++) s[k].t = malloc((size_t)runs * sizeof(double));
  if (!s[0].t || !s[1].t) die("out of memory");
  for (int i = 0; i < runs; i++)
    for (int j = 0; j < 2; j++) { /* A B, then B A: neither always runs first */
      int k = i % 2 ? 1 - j : j;
      s[k].t[i] = run_once(&s[k], devnull);
    }
  close(devnull);
  TtSummary sa, sb;
  tt_stats_summary(s[0].t, runs, &sa);
  tt_stats_summary(s[1].t, runs, &sb);
  printf("A: %-50s %9.3f ms ± %.3f\n", s[0].label, sa.mean * 1e3, sa.std * 1e3);
  printf("B: %-50s %9.3f ms ± %.3f\n", s[1].label, sb.mean * 1e3, sb.std * 1e3);
  TtRatio r;
  tt_stats_ratio(s[0].t, runs, s[1].t, runs, 10000, 0x7474635f62656e63ULL, &r);
  const char *fast = "B", *slow = "A";
  double ratio = r.ratio, lo = r.lo, hi = r.hi;
  if (ratio < 1) fast = "A", slow = "B", ratio = 1 / r.ratio, lo = 1 / r.hi, hi = 1 / r.lo;
  printf("%s is %.2fx faster than %s (95%% CI %.2f-%.2f, %d runs each)%s\n", fast, ratio, slow, lo, hi,
         runs, r.significant ? "" : ": not significant (the interval holds 1)");
  for (int k = 0; k < 2; k++) {
    cached_close(&s[k].c);
    free(s[k].t);
  }
  return 0;
}
