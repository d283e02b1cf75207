/*
 * olympics.c — ttc olympics DIR [-o OUT]: the curriculum's capstone (module 20), measured.
 * Every .tt program in DIR is an entry (or several: one per "# olympics: NAME OPTIONS"
 * line, the same program under other options); each is built, run (it trains itself and
 * prints its accuracy on the Fashion-MNIST test set), and its forward timed at batch 1 by
 * ttc profile's harness. The events rank the entries by the rules of docs/OLYMPICS.md; the
 * results are OUT/leaderboard.md, OUT/submissions/NAME.json and OUT/pareto.svg.
 *
 * Nothing is estimated: the accuracy is the program's own count over the 10,000 test
 * images (ttc checks that the program reads that file), the latency and the peak RSS are
 * measured by the harness, the sizes are the bytes of the weights as the program stores
 * them and of the binary ttc built.
 */
#define _DEFAULT_SOURCE /* fchdir, strdup, mkdtemp */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "driver/driver.h"
#include "passes/passes.h"

/* The rules (docs/OLYMPICS.md; keep in sync). */
#define WITHIN_PP 5.0   /* latency and memory events: accuracy at most this below the baseline's */
#define EXTREME_FLOOR 80.0 /* extreme event: the accuracy floor, percent */
#define MAX_ENTRIES 64

typedef struct Entry {
  char name[64];
  char file[1024];
  char opts[256];      /* the options after the name, as written */
  char pipeline[512];  /* the passes it was compiled with */
  char techniques[256]; /* "# techniques: ..." of the program, as written */
  bool ok;             /* built, ran, printed its accuracy, timed */
  char why[300];       /* when not ok */
  double acc;          /* percent on the test set */
  double run_s;        /* the program's whole run: training and evaluation */
  int64_t params, weight_bytes, binary_bytes;
  double flops1;       /* per sample, the forward at batch 1 */
  ProfileRun lat;
  double speedup, mem_ratio, size_ratio, err_ratio, score; /* against the baseline */
  bool pareto;
} Entry;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The entries of one program: its "# olympics: NAME OPTIONS" lines, or one entry named
 * after the file. */
static int entries_of(const char *path, Entry *e, int room) {
  size_t n;
  char *text = read_file(path, &n);
  if (!text) die("olympics: cannot read %s: %s", path, strerror(errno));
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  char tech[256] = "";
  int k = 0;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    const char *v;
    if (!strncmp(line, "# techniques:", 13)) {
      for (v = line + 13; *v == ' '; v++) {}
      snprintf(tech, sizeof tech, "%s", v);
    } else if (!strncmp(line, "# olympics:", 11)) {
      if (k == room) die("olympics: more than %d entries", MAX_ENTRIES);
      for (v = line + 11; *v == ' '; v++) {}
      int len = (int)strcspn(v, " \t");
      if (len == 0 || len >= (int)sizeof e[k].name) die("%s: '# olympics:' needs an entry name (at most 63 characters)", path);
      memset(&e[k], 0, sizeof e[k]);
      snprintf(e[k].name, sizeof e[k].name, "%.*s", len, v);
      for (v += len; *v == ' ' || *v == '\t'; v++) {}
      snprintf(e[k].opts, sizeof e[k].opts, "%s", v);
      snprintf(e[k].file, sizeof e[k].file, "%s", path);
      k++;
    }
    line = next;
  }
  free(text);
  if (k == 0) {
    if (room == 0) die("olympics: more than %d entries", MAX_ENTRIES);
    memset(&e[0], 0, sizeof e[0]);
    snprintf(e[0].name, sizeof e[0].name, "%.*s", (int)(strlen(base) - 3), base);
    snprintf(e[0].file, sizeof e[0].file, "%s", path);
    k = 1;
  }
  for (int i = 0; i < k; i++) snprintf(e[i].techniques, sizeof e[i].techniques, "%s", tech);
  return k;
}

/* The space-separated options of an entry, applied to o (kept: the options point into them). */
static char *apply_opts(Opts *o, const Entry *e) {
  char *buf = strdup(e->opts);
  if (!buf) die("out of memory");
  for (char *w = strtok(buf, " \t"); w; w = strtok(NULL, " \t"))
    if (!opt_one(o, w)) die("%s: entry %s: unknown option '%s'", e->file, e->name, w);
  return buf;
}

/* The loader of the Fashion-MNIST test set (the t10k files of a directory named for it),
 * or -1: a program that reads it prints its accuracy over those 10,000 images. */
static int test_loader(const Program *p) {
  for (int i = 0; i < p->nloaders; i++) {
    const Loader *ld = &p->loaders[i];
    if (ld->kind != LD_IDX || !ld->prefix || strcmp(ld->prefix, "t10k") || !ld->root) continue;
    char low[1024];
    size_t k = 0;
    for (; ld->root[k] && k + 1 < sizeof low; k++) low[k] = (char)tolower((unsigned char)ld->root[k]);
    low[k] = 0;
    if (strstr(low, "fashion")) return i;
  }
  return -1;
}

/* The last "test accuracy: X%" the program printed; false if none. */
static bool parse_accuracy(const char *log, double *acc) {
  bool found = false;
  for (const char *s = log; (s = strstr(s, "test accuracy:")); s++) {
    char *end;
    double v = strtod(s + 14, &end);
    if (end != s + 14 && *end == '%') {
      *acc = v;
      found = true;
    }
  }
  return found;
}

/* The bytes of what the forward reads besides its input: the variables of its graph
 * (parameters, buffers, an int8 copy of the weights, a pruning mask) that no loader fills,
 * as stored (4 bytes a float32, 1 an int8). The model as deployed, whatever the program
 * keeps beside it for training. */
static int64_t model_bytes(const Program *p, const Graph *g) {
  int64_t b = 0;
  for (int v = 0; v < p->nvars; v++) {
    bool batch = false, read = false;
    for (int i = 0; i < p->nloaders; i++) batch |= p->loaders[i].xvar == v || p->loaders[i].yvar == v;
    for (int i = 0; i < g->n && !read; i++) read = g->nodes[i].op == OP_INPUT && g->nodes[i].attr.var == v;
    if (read && !batch) b += shape_numel(&p->vars[v].shape) * (int64_t)dt_size(p->vars[v].dtype);
  }
  return b;
}

static void fail(Entry *e, const char *fmt, const char *arg) {
  snprintf(e->why, sizeof e->why, fmt, arg);
  fprintf(stderr, "ttc olympics: %s: %s\n", e->name, e->why);
}

/* Builds, runs and times one entry; work: the directory it runs in (its checkpoints). */
static void measure_entry(const Opts *base, Entry *e, int workfd, const char *logdir) {
  Opts o = *base;
  o.cmd = "olympics";
  o.file = e->file;
  o.out = NULL;
  o.runs = base->runs ? base->runs : 200;
  o.warmup = base->warmup ? base->warmup : 20;
  char *kept = apply_opts(&o, e);
  snprintf(e->pipeline, sizeof e->pipeline, "%s", pipeline_of(&o));
  fprintf(stderr, "ttc olympics: %s (%s%s%s)...\n", e->name, e->file, e->opts[0] ? " " : "", e->opts);
  Source *src = source_read(e->file);
  Program *p = src ? compile_program(&o, src, e->pipeline) : NULL;
  if (!p) {
    fail(e, "%s", "does not compile (the diagnostic above)");
    goto out_src;
  }
  if (p->mpi) {
    fail(e, "%s", "uses torch.distributed: an entry runs as one process");
    goto out_p;
  }
  int testld = test_loader(p);
  if (testld < 0) {
    fail(e, "%s", "does not read the Fashion-MNIST test set (FashionMNIST(train=False)): its accuracy would not be the event's");
    goto out_p;
  }
  CgInfo info = {0};
  DataOut d = {.name = "model.data"};
  size_t n;
  char *c = emit_to_string(&o, p, "c", &n, &d, &info);
  if (!c) {
    fail(e, "%s", "no C (the error above)");
    goto out_p;
  }
  for (int v = 0; v < p->nvars; v++)
    if (p->vars[v].kind == VAR_PARAM && !p->vars[v].removed) e->params += shape_numel(&p->vars[v].shape);
  Cached cached;
  char bin[4200];
  build_text(&o, c, n, &d, false, &cached, bin);
  struct stat st;
  e->binary_bytes = fstat(cached.fd, &st) ? 0 : (int64_t)st.st_size + (int64_t)d.n;

  /* the run: in the work directory, its output to the log */
  char logpath[4200];
  snprintf(logpath, sizeof logpath, "%.4000s/%.63s.log", logdir, e->name);
  int logfd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (logfd < 0) die("olympics: cannot write %s: %s", logpath, strerror(errno));
  int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (here < 0 || fchdir(workfd)) die("olympics: cannot enter the work directory: %s", strerror(errno));
  char *argv[] = {bin, NULL};
  double t0 = tt_now();
  int status = wait_for(spawn(argv, cached.fd, logfd, logfd));
  e->run_s = tt_now() - t0;
  if (fchdir(here)) die("olympics: cannot return to the directory: %s", strerror(errno));
  close(here);
  close(logfd);
  cached_close(&cached);
  size_t ln;
  char *log = read_file(logpath, &ln);
  if (status) {
    snprintf(e->why, sizeof e->why, "exited with status %d (its output: %.200s)", status, logpath);
    fprintf(stderr, "ttc olympics: %s: %s\n", e->name, e->why);
  } else if (!log || !parse_accuracy(log, &e->acc)) {
    fail(e, "printed no 'test accuracy: X%%' line (its output: %.200s)", logpath);
  } else {
    double fl;
    /* the forward timed: the body of the loop over the test set (the program may have
     * heavier inference elsewhere, a calibration pass, that is not what it deploys) */
    int fwd = profile_forward(p, testld, &e->flops1, &fl);
    if (fwd >= 0) e->weight_bytes = model_bytes(p, p->graphs[fwd]);
    if (fwd < 0) {
      fail(e, "%s", "has no forward to time (no graph in its loop over the test set)");
    } else {
      e->lat = profile_time_graph(&o, p, c, n, &d, &info, fwd, 1);
      if (!e->lat.ok) fail(e, "%s", "its forward's harness failed");
      else e->ok = true;
    }
  }
  free(log);
  free(c);
  free(d.buf);
  cg_info_free(&info);
out_p:
  ir_program_free(p);
out_src:
  if (src) source_free(src);
  free(kept);
}

/* ---- the events ------------------------------------------------------------------- */

typedef struct Event {
  const char *key, *title, *rule;
} Event;

enum { EV_LATENCY, EV_MEMORY, EV_ACCURACY, EV_ALL, EV_EXTREME, EV__N };
static const Event events[EV__N] = {
    {"latency", "Latency sprint",
     "lowest median latency of one forward at batch 1; accuracy at most 5 points below the baseline's"},
    {"memory", "Memory challenge",
     "lowest peak RSS of the batch-1 inference process; accuracy at most 5 points below the baseline's"},
    {"accuracy", "Accuracy contest", "highest accuracy on the 10,000 test images"},
    {"all_around", "All-around",
     "highest geometric mean of speedup, weight compression and error-rate reduction against the "
     "baseline; accuracy at most 5 points below the baseline's"},
    {"extreme", "Extreme push", "smallest weights (bytes as stored) with accuracy at least 80%"},
};

static double base_acc;

static bool qualifies(const Entry *e, int ev) {
  if (!e->ok) return false;
  if (ev == EV_ACCURACY) return true;
  if (ev == EV_EXTREME) return e->acc >= EXTREME_FLOOR;
  return e->acc >= base_acc - WITHIN_PP;
}

/* Negative when a ranks before b in the event; ties go to the higher accuracy, then the name. */
static int event_ev;
static int cmp_event(const void *pa, const void *pb) {
  const Entry *a = *(const Entry *const *)pa, *b = *(const Entry *const *)pb;
  double x = 0, y = 0;
  switch (event_ev) {
  case EV_LATENCY: x = a->lat.s.p50, y = b->lat.s.p50; break;
  case EV_MEMORY: x = (double)a->lat.rss_kib, y = (double)b->lat.rss_kib; break;
  case EV_ACCURACY: x = -a->acc, y = -b->acc; break;
  case EV_ALL: x = -a->score, y = -b->score; break;
  case EV_EXTREME: x = (double)a->weight_bytes, y = (double)b->weight_bytes; break;
  }
  if (x != y) return x < y ? -1 : 1;
  if (a->acc != b->acc) return a->acc > b->acc ? -1 : 1;
  return strcmp(a->name, b->name);
}

/* The qualifying entries of ev, best first, into r; their count. */
static int rank(Entry *e, int n, int ev, Entry **r) {
  int m = 0;
  for (int i = 0; i < n; i++)
    if (qualifies(&e[i], ev)) r[m++] = &e[i];
  event_ev = ev;
  qsort(r, (size_t)m, sizeof *r, cmp_event);
  return m;
}

static void metric_text(const Entry *e, int ev, char *buf, size_t n) {
  switch (ev) {
  case EV_LATENCY: snprintf(buf, n, "%.4f ms", e->lat.s.p50 * 1e3); break;
  case EV_MEMORY: snprintf(buf, n, "%.2f MiB", e->lat.rss_kib / 1024.0); break;
  case EV_ACCURACY: snprintf(buf, n, "%.2f%%", e->acc); break;
  case EV_ALL: snprintf(buf, n, "%.3f", e->score); break;
  case EV_EXTREME: snprintf(buf, n, "%.1f KiB", (double)e->weight_bytes / 1024); break;
  }
}

/* ---- the outputs ------------------------------------------------------------------ */

static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fprintf(f, "\\%c", *s);
    else if ((unsigned char)*s < 0x20) fprintf(f, "\\u%04x", *s);
    else fputc(*s, f);
  }
  fputc('"', f);
}

static void machine(char *buf, size_t n) {
  struct utsname u;
  if (uname(&u)) snprintf(buf, n, "unknown");
  else snprintf(buf, n, "%s %s %s, %ld CPUs online", u.sysname, u.release, u.machine, sysconf(_SC_NPROCESSORS_ONLN));
}

static void write_submission(const char *dir, const Entry *e, const Entry *base, const char *medals,
                             const Opts *o, const char *mach, const char *when) {
  char path[4200];
  snprintf(path, sizeof path, "%.4000s/%.63s.json", dir, e->name);
  FILE *f = fopen(path, "w");
  if (!f) die("olympics: cannot write %s: %s", path, strerror(errno));
  fputs("{\n  \"entry\": ", f);
  json_str(f, e->name);
  fputs(",\n  \"file\": ", f);
  json_str(f, e->file);
  fputs(",\n  \"options\": ", f);
  json_str(f, e->opts);
  fputs(",\n  \"pipeline\": ", f);
  json_str(f, e->pipeline);
  fputs(",\n  \"techniques\": ", f);
  json_str(f, e->techniques);
  fputs(",\n  \"dataset\": \"Fashion-MNIST test set (10000 images)\",\n  \"machine\": ", f);
  json_str(f, mach);
  fputs(",\n  \"cc\": ", f);
  json_str(f, o->cc);
  fputs(",\n  \"cflags\": ", f);
  json_str(f, o->cflags);
  fputs(",\n  \"date\": ", f);
  json_str(f, when);
  fprintf(f, ",\n  \"valid\": %s", e->ok ? "true" : "false");
  if (!e->ok) {
    fputs(",\n  \"error\": ", f);
    json_str(f, e->why);
    fputs("\n}\n", f);
  } else {
    const TtSummary *s = &e->lat.s;
    fprintf(f,
            ",\n  \"accuracy_percent\": %.2f,\n  \"latency_batch1_ms\": {\"p50\": %.6g, \"mean\": %.6g, \"std\": %.6g, "
            "\"ci95\": [%.6g, %.6g], \"p90\": %.6g, \"p99\": %.6g, \"runs\": %d},\n"
            "  \"peak_rss_bytes\": %lld,\n  \"weight_bytes\": %lld,\n  \"binary_bytes\": %lld,\n  \"parameters\": %lld,\n"
            "  \"flops_per_sample\": %.0f,\n  \"run_seconds\": %.3f,\n",
            e->acc, s->p50 * 1e3, s->mean * 1e3, s->std * 1e3, s->ci_lo * 1e3, s->ci_hi * 1e3, s->p90 * 1e3,
            s->p99 * 1e3, s->n, (long long)e->lat.rss_kib * 1024, (long long)e->weight_bytes,
            (long long)e->binary_bytes, (long long)e->params, e->flops1, e->run_s);
    fprintf(f,
            "  \"vs_baseline\": {\"baseline\": \"%s\", \"speedup\": %.4g, \"memory_reduction\": %.4g, "
            "\"compression\": %.4g, \"accuracy_delta_points\": %.2f, \"error_reduction\": %.4g},\n",
            base->name, e->speedup, e->mem_ratio, e->size_ratio, e->acc - base->acc, e->err_ratio);
    fprintf(f, "  \"all_around_score\": %.4g,\n  \"pareto_optimal\": %s,\n  \"medals\": [%s]\n}\n", e->score,
            e->pareto ? "true" : "false", medals);
  }
  if (fclose(f)) die("olympics: cannot write %s: %s", path, strerror(errno));
}

/* Accuracy against latency, log scale, each entry a dot, the Pareto front a stair. */
static void write_pareto(const char *path, Entry *e, int n, const Entry *base) {
  FILE *f = fopen(path, "w");
  if (!f) die("olympics: cannot write %s: %s", path, strerror(errno));
  double W = 960, H = 680;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n", W, H, W, H);
  fputs("<rect width=\"100%\" height=\"100%\" fill=\"#fafafa\"/>\n"
        "<text x=\"480\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">"
        "ttc Olympics: accuracy against latency (Fashion-MNIST, batch 1)</text>\n", f);
  double llo = INFINITY, lhi = -INFINITY, alo = INFINITY, ahi = -INFINITY;
  int m = 0;
  for (int i = 0; i < n; i++) {
    if (!e[i].ok) continue;
    double l = log10(e[i].lat.s.p50 * 1e3);
    llo = fmin(llo, l), lhi = fmax(lhi, l), alo = fmin(alo, e[i].acc), ahi = fmax(ahi, e[i].acc);
    m++;
  }
  PlotPanel p = {.x = 90, .y = 60, .w = W - 150, .h = H - 140, .xlog = true};
  if (!m) llo = -2, lhi = 0, alo = 0, ahi = 100;
  p.ax = (PlotAxis){floor(llo - 0.05), ceil(lhi + 0.05), 1};
  if (p.ax.hi - p.ax.lo < 1) p.ax.hi = p.ax.lo + 1;
  p.ayl = plot_nice_axis(alo - 0.5, ahi + 0.5, 6);
  plot_frame(f, &p, "test accuracy (%)", NULL, NULL, true);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">latency of one forward at batch 1, median (ms, log scale)</text>\n",
          p.x + p.w / 2, p.y + p.h + 40);
  /* the front: from the fastest, each entry more accurate than all faster ones */
  Entry *order[MAX_ENTRIES];
  int k = 0;
  for (int i = 0; i < n; i++)
    if (e[i].ok) order[k++] = &e[i];
  event_ev = EV_LATENCY;
  qsort(order, (size_t)k, sizeof *order, cmp_event);
  fputs("<polyline fill=\"none\" stroke=\"#2ca02c\" stroke-width=\"2\" stroke-dasharray=\"6 3\" points=\"", f);
  double best = -INFINITY;
  int pts = 0;
  for (int i = 0; i < k; i++) {
    if (order[i]->acc <= best) continue;
    double x = plot_px(&p, log10(order[i]->lat.s.p50 * 1e3));
    if (pts) fprintf(f, " %.1f,%.1f", x, plot_py(&p, &p.ayl, best));
    best = order[i]->acc;
    fprintf(f, "%s%.1f,%.1f", pts++ ? " " : "", x, plot_py(&p, &p.ayl, best));
    order[i]->pareto = true;
  }
  fputs("\"/>\n", f);
  if (base && base->ok) {
    double y = plot_py(&p, &p.ayl, base->acc - WITHIN_PP);
    if (y < p.y + p.h)
      fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#d62728\" stroke-dasharray=\"3 3\"/>\n"
                 "<text x=\"%.1f\" y=\"%.1f\" fill=\"#d62728\" font-size=\"11\">baseline - %.0f points</text>\n",
              p.x, y, p.x + p.w, y, p.x + 4, y - 4, WITHIN_PP);
  }
  /* the dots, then each label at the first of eight places around its dot that covers
   * no dot and no label placed before it (boxes estimated at 6.5 px a character) */
  double dx[MAX_ENTRIES], dy[MAX_ENTRIES], box[MAX_ENTRIES][4];
  for (int i = 0; i < k; i++) {
    const Entry *x = order[i];
    dx[i] = plot_px(&p, log10(x->lat.s.p50 * 1e3)), dy[i] = plot_py(&p, &p.ayl, x->acc);
    if (x != base) /* the baseline's dot last, over any it shares its place with */
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\"/>\n", dx[i], dy[i], x->pareto ? "#2ca02c" : "#1f77b4");
  }
  for (int i = 0; i < k; i++)
    if (order[i] == base) fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#d62728\"/>\n", dx[i], dy[i]);
  static const double place[8][2] = {{8, -6}, {8, 14}, {-1, -6}, {-1, 14}, {8, -20}, {8, 28}, {-1, -20}, {-1, 28}};
  for (int i = 0; i < k; i++) {
    double w = 6.5 * (double)strlen(order[i]->name), x0 = 0, y0 = 0;
    for (int c = 0; c < 8; c++) {
      x0 = place[c][0] < 0 ? dx[i] - 8 - w : dx[i] + place[c][0];
      y0 = dy[i] + place[c][1] - 10; /* the box's top; the text's baseline is 10 below */
      bool clear = x0 >= p.x && x0 + w <= p.x + p.w && y0 >= p.y && y0 + 12 <= p.y + p.h;
      for (int j = 0; j < k && clear; j++) /* dots */
        clear = !(dx[j] + 5 > x0 && dx[j] - 5 < x0 + w && dy[j] + 5 > y0 && dy[j] - 5 < y0 + 12);
      for (int j = 0; j < i && clear; j++) /* labels */
        clear = !(box[j][0] < x0 + w && x0 < box[j][2] && box[j][1] < y0 + 12 && y0 < box[j][3]);
      if (clear) break;
    }
    box[i][0] = x0, box[i][1] = y0, box[i][2] = x0 + w, box[i][3] = y0 + 12;
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">", x0, y0 + 10);
    plot_text(f, order[i]->name);
    fputs("</text>\n", f);
  }
  double ly = H - 18;
  fprintf(f, "<circle cx=\"100\" cy=\"%.1f\" r=\"5\" fill=\"#2ca02c\"/><text x=\"110\" y=\"%.1f\">Pareto-optimal "
             "(no entry is both faster and more accurate)</text>\n", ly - 4, ly);
  fprintf(f, "<circle cx=\"480\" cy=\"%.1f\" r=\"5\" fill=\"#1f77b4\"/><text x=\"490\" y=\"%.1f\">dominated</text>\n",
          ly - 4, ly);
  fprintf(f, "<circle cx=\"600\" cy=\"%.1f\" r=\"5\" fill=\"#d62728\"/><text x=\"610\" y=\"%.1f\">baseline</text>\n",
          ly - 4, ly);
  fputs("</svg>\n", f);
  if (fclose(f)) die("olympics: cannot write %s: %s", path, strerror(errno));
}

static void mkdir_p(const char *dir) {
  if (mkdir(dir, 0755) && errno != EEXIST) die("olympics: cannot create %s: %s", dir, strerror(errno));
}

int cmd_olympics(const Opts *o) {
  const char *dir = o->file, *out = o->out ? o->out : "olympics";
  if (o->runs < 0) die("olympics: --runs=0 would time nothing; every entry's latency is measured");
  DIR *dp = opendir(dir);
  if (!dp) die("olympics: cannot open the directory of entries %s: %s", dir, strerror(errno));
  char *files[MAX_ENTRIES];
  int nf = 0;
  for (struct dirent *de; (de = readdir(dp));) {
    size_t l = strlen(de->d_name);
    if (l < 4 || strcmp(de->d_name + l - 3, ".tt") || de->d_name[0] == '.') continue;
    if (nf == MAX_ENTRIES) die("olympics: more than %d programs in %s", MAX_ENTRIES, dir);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    files[nf++] = strdup(path);
  }
  closedir(dp);
  if (!nf) die("olympics: %s holds no .tt entries", dir);
  qsort(files, (size_t)nf, sizeof *files, cmp_str);
  static Entry e[MAX_ENTRIES];
  int n = 0;
  for (int i = 0; i < nf; i++) {
    n += entries_of(files[i], e + n, MAX_ENTRIES - n);
    free(files[i]);
  }
  Entry *base = NULL;
  for (int i = 0; i < n; i++) {
    for (int j = 0; j < i; j++)
      if (!strcmp(e[i].name, e[j].name)) die("olympics: two entries are named %s (%s, %s)", e[i].name, e[j].file, e[i].file);
    if (!strcmp(e[i].name, "baseline")) base = &e[i];
  }
  if (!base) die("olympics: %s has no entry named 'baseline' (baseline.tt, or '# olympics: baseline')", dir);

  char sub[4200], work[4200], logs[4200];
  mkdir_p(out);
  snprintf(sub, sizeof sub, "%s/submissions", out);
  snprintf(work, sizeof work, "%s/work", out);
  snprintf(logs, sizeof logs, "%s/logs", out);
  mkdir_p(sub);
  mkdir_p(work);
  mkdir_p(logs);
  /* the entries run in work/ (their checkpoints); one left from an earlier run is removed,
   * so each entry trains as from a clean start */
  DIR *wd = opendir(work);
  if (!wd) die("olympics: cannot open %s: %s", work, strerror(errno));
  for (struct dirent *de; (de = readdir(wd));) {
    if (de->d_name[0] == '.') continue;
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", work, de->d_name);
    struct stat st;
    if (!lstat(path, &st) && S_ISREG(st.st_mode)) unlink(path);
  }
  closedir(wd);
  int workfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (workfd < 0) die("olympics: cannot open %s: %s", work, strerror(errno));

  double t0 = tt_now();
  for (int i = 0; i < n; i++) measure_entry(o, &e[i], workfd, logs);
  close(workfd);
  if (!base->ok) die("olympics: the baseline failed (%s): nothing to compare with", base->why);
  base_acc = base->acc;
  for (int i = 0; i < n; i++) {
    if (!e[i].ok) continue;
    e[i].speedup = base->lat.s.p50 / e[i].lat.s.p50;
    e[i].mem_ratio = (double)base->lat.rss_kib / (double)e[i].lat.rss_kib;
    e[i].size_ratio = (double)base->weight_bytes / (double)(e[i].weight_bytes ? e[i].weight_bytes : 1);
    e[i].err_ratio = (100 - base->acc) / fmax(100 - e[i].acc, 0.01);
    e[i].score = cbrt(e[i].speedup * e[i].size_ratio * e[i].err_ratio);
  }

  char plot[4200];
  snprintf(plot, sizeof plot, "%s/pareto.svg", out);
  write_pareto(plot, e, n, base); /* marks the Pareto-optimal entries */

  /* the medals of each entry, for its submission */
  static char medals[MAX_ENTRIES][400];
  static const char *const medal[3] = {"gold", "silver", "bronze"};
  Entry *r[EV__N][MAX_ENTRIES];
  int nr[EV__N];
  for (int ev = 0; ev < EV__N; ev++) {
    nr[ev] = rank(e, n, ev, r[ev]);
    for (int k = 0; k < nr[ev] && k < 3; k++) {
      int i = (int)(r[ev][k] - e);
      size_t len = strlen(medals[i]);
      snprintf(medals[i] + len, sizeof medals[i] - len, "%s\"%s: %s\"", len ? ", " : "", events[ev].key, medal[k]);
    }
  }
  char mach[300], when[64];
  machine(mach, sizeof mach);
  time_t now = time(NULL);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
  for (int i = 0; i < n; i++) write_submission(sub, &e[i], base, medals[i], o, mach, when);

  /* the leaderboard */
  char board[4200];
  snprintf(board, sizeof board, "%s/leaderboard.md", out);
  char *mem = NULL;
  size_t memn = 0;
  FILE *f = open_memstream(&mem, &memn);
  if (!f) die("out of memory");
  fprintf(f, "# ttc Olympics: Fashion-MNIST\n\n");
  fprintf(f, "%s; %s; `%s %s`. Entries from `%s`, rules in docs/OLYMPICS.md. "
             "Accuracy: the program's own count over the 10,000 test images after it trains; latency: one forward "
             "at batch 1 in `ttc profile`'s harness, %d runs after %d warm-up, median; memory: that process's peak RSS.\n\n",
          when, mach, o->cc, o->cflags, dir, o->runs ? o->runs : 200, o->warmup ? o->warmup : 20);
  fprintf(f, "## Events\n\n| event | rule | gold | silver | bronze |\n|---|---|---|---|---|\n");
  for (int ev = 0; ev < EV__N; ev++) {
    fprintf(f, "| %s | %s |", events[ev].title, events[ev].rule);
    for (int k = 0; k < 3; k++) {
      if (k < nr[ev]) {
        char mt[64];
        metric_text(r[ev][k], ev, mt, sizeof mt);
        fprintf(f, " %s (%s) |", r[ev][k]->name, mt);
      } else {
        fputs(" - |", f);
      }
    }
    fputc('\n', f);
  }
  fprintf(f, "\n## Entries\n\n| entry | options | accuracy | latency p50 (ms) | mean ± std (ms) | peak RSS (MiB) | "
             "weights (KiB) | binary (KiB) | parameters | FLOPs/sample | run (s) | speedup | all-around | Pareto |\n"
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|\n");
  Entry *all[MAX_ENTRIES];
  int na = rank(e, n, EV_ACCURACY, all);
  for (int i = 0; i < na; i++) {
    const Entry *x = all[i];
    fprintf(f, "| %s | %s | %.2f%% | %.4f | %.4f ± %.4f | %.2f | %.1f | %.1f | %lld | %.0f | %.1f | %.2fx | %.3f | %s |\n",
            x->name, x->opts[0] ? x->opts : "-O1", x->acc, x->lat.s.p50 * 1e3, x->lat.s.mean * 1e3, x->lat.s.std * 1e3,
            x->lat.rss_kib / 1024.0, (double)x->weight_bytes / 1024, (double)x->binary_bytes / 1024, (long long)x->params,
            x->flops1, x->run_s, x->speedup, x->score, x->pareto ? "yes" : "");
  }
  for (int i = 0; i < n; i++)
    if (!e[i].ok) fprintf(f, "| %s | %s | failed: %s |||||||||||\n", e[i].name, e[i].opts, e[i].why);
  fprintf(f, "\nWhole run: %.0f s. Submissions: `submissions/*.json`; plot: `pareto.svg`; each program's output: `logs/`.\n",
          tt_now() - t0);
  if (fclose(f)) die("out of memory");
  FILE *bf = fopen(board, "w");
  if (!bf || fwrite(mem, 1, memn, bf) != memn || fclose(bf)) die("olympics: cannot write %s: %s", board, strerror(errno));
  fwrite(mem, 1, memn, stdout);
  free(mem);
  int failed = 0;
  for (int i = 0; i < n; i++) failed += !e[i].ok;
  if (failed) fprintf(stderr, "ttc olympics: %d of %d entries failed\n", failed, n);
  return failed ? 1 : 0;
}
