/*
 * roofline.c — ttc roofline, and what ttc run --profile prints and draws (docs/ROOFLINE.md).
 *
 * ttc roofline builds a small program around runtime/roofline.c's tt_roofline_measure
 * with the compiler and flags programs are built with (so the FMA loop uses the vector
 * width emitted code gets), runs it, and keeps the numbers in <cache>/roofline, keyed by
 * the CPU's model name, the compiler and the flags; a --profile run reads them from there
 * (measuring first when they are missing or were taken for another key).
 *
 * ttc run --profile: the program writes each kernel's op, .tt line, calls, seconds and
 * ir_cost's FLOPs and bytes per call at exit ($TTC_PROFILE); ttc ranks the kernels by time
 * and sets each against the roof at its arithmetic intensity I = FLOPs / bytes:
 * attainable = min(peak, I x bandwidth), with the peak and the DRAM bandwidth of both
 * cores (the GEMM and the convolutions use both). The SVG draws the roofs on log-log axes
 * and every kernel that does arithmetic as a point (area ~ its time); kernels that only
 * move bytes have no place on a FLOP/s axis and are counted in the legend.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "driver/driver.h"

typedef struct Roof {
  double peak1, peak2, dram1, dram2, l2_1, l2_2; /* FLOP/s, bytes/s */
  char simd[32];
} Roof;

/* The cache's key: what the numbers depend on. */
static void roof_key(const Opts *o, char *key, size_t n) {
  char cpu[256] = "unknown CPU";
  FILE *f = fopen("/proc/cpuinfo", "r");
  char line[1024];
  while (f && fgets(line, sizeof line, f))
    if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
      const char *v = strchr(line, ':') + 1;
      while (*v == ' ' || *v == '\t') v++;
      snprintf(cpu, sizeof cpu, "%.*s", (int)strcspn(v, "\n"), v);
      break;
    }
  if (f) fclose(f);
  snprintf(key, n, "%s | %s %s", cpu, o->cc, o->cflags);
}

static void roof_path(char *path, size_t n) { snprintf(path, n, "%.4000s/roofline", cache_dir()); }

/* One "name value" line of the measurement or the cache. */
static void roof_field(Roof *r, const char *name, const char *val) {
  double v = strtod(val, NULL);
  if (!strcmp(name, "peak_flops_1")) r->peak1 = v;
  else if (!strcmp(name, "peak_flops_2")) r->peak2 = v;
  else if (!strcmp(name, "dram_bytes_1")) r->dram1 = v;
  else if (!strcmp(name, "dram_bytes_2")) r->dram2 = v;
  else if (!strcmp(name, "l2_bytes_1")) r->l2_1 = v;
  else if (!strcmp(name, "l2_bytes_2")) r->l2_2 = v;
  else if (!strcmp(name, "simd")) snprintf(r->simd, sizeof r->simd, "%.*s", (int)strcspn(val, "\n"), val);
}

static bool roof_valid(const Roof *r) {
  return r->peak1 > 0 && r->peak2 > 0 && r->dram1 > 0 && r->dram2 > 0 && r->l2_1 > 0 && r->l2_2 > 0 &&
         isfinite(r->peak2) && isfinite(r->dram2);
}

/* Parses "name value" lines into r; key: the cache's "key" line must equal it (NULL: none). */
static bool roof_parse(FILE *f, Roof *r, const char *key) {
  memset(r, 0, sizeof *r);
  char line[1200];
  bool keyed = key == NULL;
  while (fgets(line, sizeof line, f)) {
    char *sp = strchr(line, ' ');
    if (!sp) continue;
    *sp = 0;
    if (!strcmp(line, "key")) keyed = key && !strncmp(sp + 1, key, strlen(key)) && sp[1 + strlen(key)] == '\n';
    else roof_field(r, line, sp + 1);
  }
  return keyed && roof_valid(r);
}

static const char measure_c[] =
    "/* ttc roofline's measurement (runtime/roofline.c) */\n"
    "#include \"tt.h\"\n"
    "int main(int argc, char **argv) {\n"
    "  tt_init(argc, argv);\n"
    "  TtRoofline r;\n"
    "  tt_roofline_measure(&r);\n"
    "  printf(\"peak_flops_1 %.6e\\npeak_flops_2 %.6e\\n\", r.peak1, r.peak2);\n"
    "  printf(\"dram_bytes_1 %.6e\\ndram_bytes_2 %.6e\\n\", r.dram1, r.dram2);\n"
    "  printf(\"l2_bytes_1 %.6e\\nl2_bytes_2 %.6e\\nsimd %s\\n\", r.l2_1, r.l2_2, r.simd);\n"
    "  return 0;\n"
    "}\n";

/* Measures (a few seconds) and writes the cache. */
static void roof_measure(const Opts *o, Roof *r) {
  Cached c;
  char bin[4200];
  DataOut d = {.name = "model.data"};
  build_text(o, measure_c, sizeof measure_c - 1, &d, false, &c, bin);
  FILE *tmp = tmpfile();
  if (!tmp) die("roofline: cannot create a temporary file: %s", strerror(errno));
  char *argv[] = {bin, NULL};
  int st = wait_for(spawn(argv, c.fd, fileno(tmp), -1));
  cached_close(&c);
  if (st) die("roofline: the measurement program failed (status %d)", st);
  rewind(tmp);
  bool ok = roof_parse(tmp, r, NULL);
  fclose(tmp);
  if (!ok) die("roofline: the measurement program printed no usable numbers");
  char key[1400], path[4200], tpath[4300];
  roof_key(o, key, sizeof key);
  roof_path(path, sizeof path);
  snprintf(tpath, sizeof tpath, "%s.tmp%d", path, (int)getpid());
  FILE *f = fopen(tpath, "w");
  if (!f) die("roofline: cannot write %s: %s", tpath, strerror(errno));
  fprintf(f, "key %s\npeak_flops_1 %.6e\npeak_flops_2 %.6e\ndram_bytes_1 %.6e\ndram_bytes_2 %.6e\n"
             "l2_bytes_1 %.6e\nl2_bytes_2 %.6e\nsimd %s\n",
          key, r->peak1, r->peak2, r->dram1, r->dram2, r->l2_1, r->l2_2, r->simd);
  if (fclose(f) || rename(tpath, path)) {
    unlink(tpath);
    die("roofline: cannot write %s: %s", path, strerror(errno));
  }
}

/* The cached numbers for o's compiler and flags on this CPU, measured if there are none. */
static void roof_get(const Opts *o, Roof *r, bool *measured) {
  char key[1400], path[4200];
  roof_key(o, key, sizeof key);
  roof_path(path, sizeof path);
  FILE *f = fopen(path, "r");
  bool ok = f && roof_parse(f, r, key);
  if (f) fclose(f);
  *measured = !ok;
  if (!ok) {
    fprintf(stderr, "roofline: measuring this machine (once; cached in %s)\n", path);
    roof_measure(o, r);
  }
}

static void roof_print(FILE *f, const Roof *r) {
  fprintf(f, "                       1 thread      2 threads\n");
  fprintf(f, "peak (FMA, %-8s) %8.1f GFLOP/s %8.1f GFLOP/s\n", r->simd, r->peak1 * 1e-9, r->peak2 * 1e-9);
  fprintf(f, "DRAM (triad, 768 MiB) %8.1f GB/s    %8.1f GB/s\n", r->dram1 * 1e-9, r->dram2 * 1e-9);
  fprintf(f, "L2 (triad, 384 KiB)   %8.1f GB/s    %8.1f GB/s\n", r->l2_1 * 1e-9, r->l2_2 * 1e-9);
  fprintf(f, "ridge point (2 threads, DRAM): %.1f FLOP/B\n", fmax(r->peak2, r->peak1) / fmax(r->dram2, r->dram1));
  if (r->peak2 < r->peak1 || r->dram2 < r->dram1 || r->l2_2 < r->l2_1)
    fprintf(f, "note: two threads measured below one: the machine was busy (other processes on its "
               "cores); --profile uses the larger of the two, and `ttc roofline` on an idle machine "
               "measures again\n");
}

int cmd_roofline(const Opts *o) {
  if (o->file) die("roofline: takes no input file");
  Roof r;
  roof_measure(o, &r);
  char path[4200];
  roof_path(path, sizeof path);
  printf("roofline of this machine (%s %s), cached in %s\n", o->cc, o->cflags, path);
  roof_print(stdout, &r);
  return 0;
}

/* ---- ttc run --profile ------------------------------------------------------------------ */

typedef struct Kernel {
  char op[64], name[128];
  int line;
  unsigned long long calls;
  double secs, flops, bytes; /* seconds; FLOPs and bytes per call */
} Kernel;

static bool prof_owned; /* ttc chose the file (and removes it); else the user's $TTC_PROFILE */

void profile_begin(char path[4200]) {
  const char *e = getenv("TTC_PROFILE");
  prof_owned = !(e && *e);
  if (!prof_owned) {
    snprintf(path, 4200, "%s", e);
  } else {
    snprintf(path, 4200, "%.4000s/profile-%d.tsv", cache_dir(), (int)getpid());
    if (setenv("TTC_PROFILE", path, 1)) die("cannot set TTC_PROFILE");
  }
  unlink(path); /* a file left from an earlier run is not this run's */
}

static int by_time(const void *a, const void *b) {
  const Kernel *x = a, *y = b;
  if (x->secs != y->secs) return x->secs < y->secs ? 1 : -1;
  return x->line - y->line;
}

/* The bandwidth that bounds a kernel: L2's when the bytes one call moves fit in one
 * core's L2 (they were written or read moments before, by the kernel before it), else
 * DRAM's. A roofline of DRAM alone puts every kernel of a small model far above its roof. */
static long l2_bytes(void) {
#ifdef _SC_LEVEL2_CACHE_SIZE
  long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (v > 0) return v;
#endif
  return 1L << 20;
}

static bool in_l2(const Kernel *k) { return k->bytes <= (double)l2_bytes(); }

/* Percent of the roof at the kernel's intensity: min(peak, I x bandwidth); a kernel that
 * does no arithmetic, of the bandwidth. */
static double pct_roof(const Roof *r, const Kernel *k) {
  if (k->secs <= 0) return 0;
  double bw = in_l2(k) ? r->l2_2 : r->dram2;
  if (k->flops <= 0) return 100.0 * k->bytes * (double)k->calls / k->secs / bw;
  double fs = k->flops * (double)k->calls / k->secs;
  return 100.0 * fs / (k->bytes > 0 ? fmin(r->peak2, k->flops / k->bytes * bw) : r->peak2);
}

static void svg_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if (*s == '"') fputs("&quot;", f);
    else fputc(*s, f);
  }
}

/* The roofline as SVG: log10 axes, x = FLOP/B, y = GFLOP/s. */
static bool write_svg(const char *path, const char *prog, const Roof *r, const Kernel *k, int nk) {
  FILE *f = fopen(path, "w");
  if (!f) return false;
  const double W = 1000, H = 700, L = 90, R = 230, T = 60, B = 70;
  /* x from 1/64 FLOP/B to past the ridge and the kernels; y from the lowest kernel to the peak */
  double xlo = -2, xhi = ceil(log10(r->peak2 / r->dram2)) + 1, ylo = 0, yhi = ceil(log10(r->peak2 * 1e-9) + 0.3);
  int plotted = 0, bytes_only = 0;
  double tmax = 0;
  for (int i = 0; i < nk; i++) {
    if (!k[i].calls || k[i].secs <= 0) continue;
    if (k[i].flops <= 0 || k[i].bytes <= 0) {
      bytes_only++;
      continue;
    }
    double x = log10(k[i].flops / k[i].bytes), y = log10(k[i].flops * (double)k[i].calls / k[i].secs * 1e-9);
    xlo = fmin(xlo, floor(x)), xhi = fmax(xhi, ceil(x));
    ylo = fmin(ylo, floor(y)), yhi = fmax(yhi, ceil(y));
    tmax = fmax(tmax, k[i].secs);
  }
  ylo = fmax(ylo, yhi - 7);
#define PX(v) (L + ((v) - xlo) / (xhi - xlo) * (W - L - R))
#define PY(v) (H - B - ((v) - ylo) / (yhi - ylo) * (H - T - B))
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"sans-serif\" font-size=\"12\">\n", W, H, W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"%.0f\" y=\"28\" font-size=\"16\">Roofline: ", L);
  svg_text(f, prog);
  fprintf(f, " (%d kernels, ttc run --profile)</text>\n", nk);
  /* grid and ticks at each power of ten */
  for (double v = xlo; v <= xhi + 1e-9; v++) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#ddd\"/>\n", PX(v), T, PX(v), H - B);
    fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%g</text>\n", PX(v), H - B + 18, pow(10, v));
  }
  for (double v = ylo; v <= yhi + 1e-9; v++) {
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", L, PY(v), W - R, PY(v));
    fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", L - 6, PY(v) + 4, pow(10, v));
  }
  fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#333\"/>\n", L, T,
          W - L - R, H - T - B);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">arithmetic intensity (FLOP/B, ir_cost)</text>\n",
          (L + W - R) / 2, H - 25);
  fprintf(f, "<text transform=\"translate(24 %.0f) rotate(-90)\" text-anchor=\"middle\">GFLOP/s (measured)</text>\n",
          (T + H - B) / 2);
  /* roofs: min(peak, I x bw), drawn as polylines sampled on the log axis */
  struct {
    double peak, bw;
    const char *color, *dash, *label;
  } roofs[] = {{r->peak2, r->dram2, "#c0392b", "", "2 threads, DRAM"},
               {r->peak2, r->l2_2, "#e67e22", "6 4", "2 threads, L2"},
               {r->peak1, r->dram1, "#7f8c8d", "2 3", "1 thread, DRAM"}};
  for (size_t q = 0; q < sizeof roofs / sizeof *roofs; q++) {
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"%s\" points=\"",
            roofs[q].color, roofs[q].dash);
    for (int s = 0; s <= 200; s++) {
      double x = xlo + (xhi - xlo) * s / 200.0;
      double y = log10(fmin(roofs[q].peak, pow(10, x) * roofs[q].bw) * 1e-9);
      if (y < ylo || y > yhi) continue;
      fprintf(f, "%.1f,%.1f ", PX(x), PY(y));
    }
    fputs("\"/>\n", f);
    fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" stroke=\"%s\" stroke-width=\"2\" "
               "stroke-dasharray=\"%s\"/>\n",
            W - R + 15, T + 15 + 18.0 * (double)q, W - R + 45, T + 15 + 18.0 * (double)q, roofs[q].color, roofs[q].dash);
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n", W - R + 50, T + 19 + 18.0 * (double)q, roofs[q].label);
  }
  double lx = W - R + 15, ly = T + 85;
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">peak %.1f / %.1f GFLOP/s</text>\n", lx, ly, r->peak2 * 1e-9, r->peak1 * 1e-9);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">DRAM %.1f / %.1f GB/s</text>\n", lx, ly + 16, r->dram2 * 1e-9, r->dram1 * 1e-9);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">L2 %.1f / %.1f GB/s</text>\n", lx, ly + 32, r->l2_2 * 1e-9, r->l2_1 * 1e-9);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">(2 threads / 1 thread)</text>\n", lx, ly + 48);
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">circle area ~ kernel time</text>\n", lx, ly + 72);
  if (bytes_only)
    fprintf(f, "<text x=\"%.0f\" y=\"%.0f\">%d kernels only move bytes</text>\n<text x=\"%.0f\" y=\"%.0f\">"
               "(no FLOPs: not plotted)</text>\n", lx, ly + 90, bytes_only, lx, ly + 106);
  /* labels of the 8 slowest kernels, placed in rank order, each moved down past the ones
   * already placed that it would cover (kernels often share a point: a forward and its
   * gradient have the same intensity) */
  double lab_x[8], lab_y[8];
  for (int i = 0; i < 8 && i < nk; i++) {
    const Kernel *q = &k[i];
    lab_x[i] = lab_y[i] = -1;
    if (!q->calls || q->secs <= 0 || q->flops <= 0 || q->bytes <= 0) continue;
    double x = log10(q->flops / q->bytes), y = log10(q->flops * (double)q->calls / q->secs * 1e-9);
    double rad = 3 + 14 * sqrt(q->secs / tmax), lx0 = PX(x) + rad + 2, ly0 = PY(y) + 4;
    double w = 6.5 * (double)(strlen(q->op) + 8);
    for (int tries = 0; tries < 20; tries++) {
      bool clash = false;
      for (int j = 0; j < i; j++)
        if (lab_x[j] >= 0 && fabs(lab_y[j] - ly0) < 12 && lx0 < lab_x[j] + 6.5 * (double)(strlen(k[j].op) + 8) &&
            lab_x[j] < lx0 + w)
          clash = true;
      if (!clash) break;
      ly0 += 12;
    }
    lab_x[i] = lx0, lab_y[i] = ly0;
  }
  /* kernels, the slowest drawn last (on top) */
  for (int i = nk - 1; i >= 0; i--) {
    const Kernel *q = &k[i];
    if (!q->calls || q->secs <= 0 || q->flops <= 0 || q->bytes <= 0) continue;
    double x = log10(q->flops / q->bytes), y = log10(q->flops * (double)q->calls / q->secs * 1e-9);
    double rad = 3 + 14 * sqrt(q->secs / tmax);
    fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\" fill=\"#2e86c1\" fill-opacity=\"0.45\" stroke=\"#1b4f72\">"
               "<title>", PX(x), PY(y), rad);
    svg_text(f, q->op);
    fputc(' ', f);
    svg_text(f, q->name);
    fprintf(f, " line %d: %.3f ms, %.2f GFLOP/s, %.2f FLOP/B</title></circle>\n", q->line, q->secs * 1e3,
            q->flops * (double)q->calls / q->secs * 1e-9, q->flops / q->bytes);
    if (i < 8) {
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\">%d ", lab_x[i], lab_y[i], i + 1);
      svg_text(f, q->op);
      fprintf(f, " :%d</text>\n", q->line);
    }
    plotted++;
  }
  fputs("</svg>\n", f);
#undef PX
#undef PY
  return fclose(f) == 0 && plotted >= 0;
}

void profile_report(const Opts *o, const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "ttc: --profile: the program wrote no kernel times (%s: %s)\n", path, strerror(errno));
    return;
  }
  double total = 0;
  int nk = 0, cap = 64;
  Kernel *k = malloc((size_t)cap * sizeof *k);
  if (!k) die("out of memory");
  char line[1024];
  char graphs[16][512]; /* "# graph" lines: a graph's time per call by eighth of its calls */
  int ng = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "# graph\t", 8)) {
      if (ng < 16) snprintf(graphs[ng++], sizeof graphs[0], "%.500s", line + 8);
      continue;
    }
    if (line[0] == '#') {
      const char *t = strstr(line, "total_s\t");
      if (t) total = strtod(t + 8, NULL);
      continue;
    }
    if (nk == cap && !(k = realloc(k, (size_t)(cap *= 2) * sizeof *k))) die("out of memory");
    Kernel *q = &k[nk];
    memset(q, 0, sizeof *q);
    /* op, name (may be empty), line, calls, seconds, FLOPs and bytes per call, tab-separated
     * (split by hand: scanf's \t would match both tabs around an empty name) */
    char *fld[7];
    int nf = 0;
    for (char *p = line; nf < 7;) {
      fld[nf++] = p;
      p = strchr(p, '\t');
      if (!p) break;
      *p++ = 0;
    }
    if (nf != 7) continue;
    fld[6][strcspn(fld[6], "\n")] = 0;
    snprintf(q->op, sizeof q->op, "%.63s", fld[0]);
    snprintf(q->name, sizeof q->name, "%.127s", fld[1]);
    q->line = atoi(fld[2]);
    q->calls = strtoull(fld[3], NULL, 10);
    q->secs = strtod(fld[4], NULL);
    q->flops = strtod(fld[5], NULL);
    q->bytes = strtod(fld[6], NULL);
    nk++;
  }
  fclose(f);
  if (prof_owned) unlink(path);
  Roof r;
  bool measured;
  roof_get(o, &r, &measured);
  /* two threads can do at least what one does: a lower number is a busy machine's */
  r.peak2 = fmax(r.peak2, r.peak1);
  r.dram2 = fmax(r.dram2, r.dram1);
  r.l2_2 = fmax(r.l2_2, r.l2_1);
  qsort(k, (size_t)nk, sizeof *k, by_time);
  double ksum = 0;
  int ran = 0;
  for (int i = 0; i < nk; i++) {
    ksum += k[i].secs;
    ran += k[i].calls > 0;
  }
  const char *base = strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file;
  fprintf(stderr, "\nprofile of %s: %d kernels (%d ran), %.3f ms in kernels of %.3f ms (%.0f%%; the rest is "
                  "the host: data loading, printing)\n",
          base, nk, ran, ksum * 1e3, total * 1e3, total > 0 ? 100 * ksum / total : 0);
  fprintf(stderr, "roof: %.1f GFLOP/s peak; %.1f GB/s DRAM, %.1f GB/s L2 for kernels moving at most %ld KiB a call "
                  "(2 threads, %s; ttc roofline)\n\n",
          r.peak2 * 1e-9, r.dram2 * 1e-9, r.l2_2 * 1e-9, l2_bytes() / 1024, r.simd);
  fprintf(stderr, "%4s  %-34s %6s %8s %10s %6s %9s %8s %8s %7s %4s\n", "rank", "kernel", "line", "calls", "time ms",
          "%time", "GFLOP/s", "GB/s", "FLOP/B", "%roof", "roof");
  int shown = 0;
  for (int i = 0; i < nk && shown < 40; i++) {
    const Kernel *q = &k[i];
    if (!q->calls) continue;
    char kname[200], fb[32];
    snprintf(kname, sizeof kname, "%s%s%s", q->op, q->name[0] ? " " : "", q->name);
    double t = q->secs > 0 ? q->secs : 1e-30, n = (double)q->calls;
    if (q->flops > 0 && q->bytes > 0)
      snprintf(fb, sizeof fb, "%.2f", q->flops / q->bytes);
    else
      snprintf(fb, sizeof fb, "-");
    fprintf(stderr, "%4d  %-34.34s %6d %8llu %10.3f %6.1f %9.2f %8.2f %8s %7.1f %4s\n", ++shown, kname, q->line,
            q->calls, q->secs * 1e3, ksum > 0 ? 100 * q->secs / ksum : 0, q->flops * n / t * 1e-9,
            q->bytes * n / t * 1e-9, fb, pct_roof(&r, q), in_l2(q) ? "L2" : "DRAM");
  }
  if (ran > shown) {
    double rest = 0;
    for (int i = shown; i < nk; i++) rest += k[i].secs;
    fprintf(stderr, "      ... %d more kernels, %.3f ms (%.1f%%)\n", ran - shown, rest * 1e3,
            ksum > 0 ? 100 * rest / ksum : 0);
  }
  if (ng) {
    fprintf(stderr, "\ngraphs called 8 times or more: ms per call in each eighth of their calls, in order\n"
                    "(a generation step by position: flat with the kvcache pass, growing without)\n");
    for (int g = 0; g < ng; g++) {
      char *fld[10];
      int nf = 0;
      for (char *p = graphs[g]; nf < 10;) {
        fld[nf++] = p;
        p = strchr(p, '\t');
        if (!p) break;
        *p++ = 0;
      }
      if (nf != 10) continue;
      fprintf(stderr, "  %-28.28s %7s calls:", fld[0], fld[1]);
      for (int b = 2; b < 10; b++) fprintf(stderr, " %8.3f", strtod(fld[b], NULL) * 1e3);
      fputc('\n', stderr);
    }
  }
  char svg[4200];
  if (o->profile && *o->profile) {
    snprintf(svg, sizeof svg, "%s", o->profile);
  } else {
    snprintf(svg, sizeof svg, "%.4000s", base);
    char *dot = strrchr(svg, '.');
    if (dot && !strcmp(dot, ".tt")) *dot = 0;
    strcat(svg, ".roofline.svg");
  }
  if (write_svg(svg, base, &r, k, nk))
    fprintf(stderr, "\nroofline: %s\n", svg);
  else
    fprintf(stderr, "ttc: --profile: cannot write %s: %s\n", svg, strerror(errno));
  free(k);
}
