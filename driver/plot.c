/*
 * plot.c — `ttc plot METRICS -o CURVE.svg`: the training curves a program run with
 * --metrics wrote, as an SVG line chart written by hand (docs/METRICS.md).
 *
 * The file is runtime/metrics.c's CSV (a header naming the columns, then one row a line,
 * an empty field for a missing value) or JSON lines (one flat object a line, numbers or
 * null). The chart: the loss against the step on top (each step's loss thin, and a moving
 * average bold once there are enough steps to be noisy), epoch boundaries as faint
 * vertical lines, and below it, when the file has them, the accuracy (left axis) and the
 * learning rate (right axis) against the same steps. A file ttc cannot read is a message
 * naming it and its line, never a crash.
 */
#include "driver/driver.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading ------------------------------------------------------------------------- */

enum { C_STEP, C_EPOCH, C_LOSS, C_ACC, C_LR, C__N };
static const char *const col_name[C__N] = {"step", "epoch", "loss", "accuracy", "lr"};

typedef struct Series {
  double *v[C__N]; /* per row, NAN where the row has no value */
  int n, cap;
  bool has[C__N]; /* the column has at least one value */
} Series;

static _Noreturn void bad(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (line > 0) fprintf(stderr, "%s:%d: error: ", file, line);
  else fprintf(stderr, "%s: error: ", file);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static void add_row(Series *s, const double *row) {
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    for (int c = 0; c < C__N; c++) {
      s->v[c] = realloc(s->v[c], (size_t)s->cap * sizeof *s->v[c]);
      if (!s->v[c]) die("out of memory");
    }
  }
  for (int c = 0; c < C__N; c++) {
    /* a diverged run's nan or inf has no place on an axis: the point is left out */
    s->v[c][s->n] = isfinite(row[c]) ? row[c] : NAN;
    if (isfinite(row[c])) s->has[c] = true;
  }
  s->n++;
}

/* A number field, all of it; empty (or JSON's null) is NAN. False when malformed. */
static bool number(const char *b, const char *e, double *out) {
  while (b < e && isspace((unsigned char)*b)) b++;
  while (e > b && isspace((unsigned char)e[-1])) e--;
  if (b == e || (e - b == 4 && !strncmp(b, "null", 4))) {
    *out = NAN;
    return true;
  }
  char tmp[64];
  if (e - b >= (long)sizeof tmp) return false;
  memcpy(tmp, b, (size_t)(e - b));
  tmp[e - b] = 0;
  char *end;
  errno = 0;
  *out = strtod(tmp, &end);
  return *end == 0 && errno != ERANGE;
}

static int col_of(const char *b, const char *e) {
  for (int c = 0; c < C__N; c++)
    if ((size_t)(e - b) == strlen(col_name[c]) && !strncmp(b, col_name[c], (size_t)(e - b))) return c;
  return -1;
}

static void read_csv(const char *file, char *text, Series *s) {
  char *save = NULL, *line = strtok_r(text, "\n", &save);
  int lineno = 1, map[64], ncols = 0;
  if (!line) bad(file, 0, "empty file: no header line");
  line[strcspn(line, "\r")] = 0;
  for (char *b = line;; ncols++) {
    char *e = b + strcspn(b, ",");
    if (ncols == 64) bad(file, 1, "too many columns");
    map[ncols] = col_of(b, e);
    if (!*e) {
      ncols++;
      break;
    }
    b = e + 1;
  }
  bool have_step = false;
  for (int k = 0; k < ncols; k++) have_step |= map[k] == C_STEP;
  if (!have_step) bad(file, 1, "the header has no 'step' column (is this a --metrics file?)");
  while ((line = strtok_r(NULL, "\n", &save))) {
    lineno++; /* strtok_r skips empty lines: a blank line between rows counts as none */
    line[strcspn(line, "\r")] = 0;
    if (!*line) continue;
    double row[C__N];
    for (int c = 0; c < C__N; c++) row[c] = NAN;
    int k = 0;
    for (char *b = line;; k++) {
      char *e = b + strcspn(b, ",");
      if (k >= ncols) bad(file, lineno, "more fields than the header's %d", ncols);
      double v;
      if (!number(b, e, &v)) bad(file, lineno, "field %d (%s) is not a number", k + 1, map[k] >= 0 ? col_name[map[k]] : "unknown column");
      if (map[k] >= 0) row[map[k]] = v;
      if (!*e) break;
      b = e + 1;
    }
    if (k + 1 != ncols) bad(file, lineno, "%d fields, the header has %d", k + 1, ncols);
    if (isnan(row[C_STEP])) bad(file, lineno, "no step");
    add_row(s, row);
  }
}

/* One flat JSON object a line: "key": number | null, keys without escapes. */
static void read_jsonl(const char *file, char *text, Series *s) {
  int lineno = 0;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    lineno++;
    char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (!*p) {
      line = next;
      continue;
    }
    if (*p++ != '{') bad(file, lineno, "expected a JSON object ('{')");
    double row[C__N];
    for (int c = 0; c < C__N; c++) row[c] = NAN;
    for (;;) {
      while (isspace((unsigned char)*p)) p++;
      if (*p == '}') break;
      if (*p != '"') bad(file, lineno, "expected a key in quotes");
      char *kb = ++p;
      while (*p && *p != '"' && *p != '\\') p++;
      if (*p != '"') bad(file, lineno, "unterminated key");
      int c = col_of(kb, p);
      p++;
      while (isspace((unsigned char)*p)) p++;
      if (*p++ != ':') bad(file, lineno, "expected ':' after a key");
      char *vb = p;
      while (*p && *p != ',' && *p != '}') p++;
      double v;
      if (!number(vb, p, &v)) bad(file, lineno, "a value is not a number or null");
      if (c >= 0) row[c] = v;
      if (*p == ',') p++;
      else if (*p != '}') bad(file, lineno, "unterminated object");
    }
    if (isnan(row[C_STEP])) bad(file, lineno, "no \"step\"");
    add_row(s, row);
    line = next;
  }
}

/* ---- drawing ------------------------------------------------------------------------- */

typedef PlotAxis Axis; /* driver.h: ttc olympics draws with these too */

/* Ticks at 1, 2 or 5 times a power of ten, about `want` of them over [lo, hi]. */
Axis plot_nice_axis(double lo, double hi, int want) {
  if (!(hi > lo)) {
    double pad = fabs(lo) > 0 ? fabs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  double raw = (hi - lo) / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
  double step = (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
  Axis a = {floor(lo / step + 1e-9) * step, ceil(hi / step - 1e-9) * step, step};
  return a;
}

static void tick_label(double v, double step, char *buf, size_t n) {
  v = round(v / step) * step;
  if (fabs(v) < step * 1e-6) v = 0;
  snprintf(buf, n, "%.6g", v);
}

/* Text safe in SVG. */
void plot_text(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", f);
    else if (*s == '>') fputs("&gt;", f);
    else if (*s == '&') fputs("&amp;", f);
    else if ((unsigned char)*s >= 0x20 || *s == '\t') fputc(*s, f);
  }
}

typedef PlotPanel Panel;

double plot_px(const Panel *p, double x) { return p->x + (x - p->ax.lo) / (p->ax.hi - p->ax.lo) * p->w; }
double plot_py(const Panel *p, const Axis *a, double y) {
  return p->y + p->h - (y - a->lo) / (a->hi - a->lo) * p->h;
}

void plot_frame(FILE *f, const Panel *p, const char *ylabel, const char *rlabel, const char *rcolor,
                  bool xlabels) {
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\" stroke=\"#888\"/>\n",
          p->x, p->y, p->w, p->h);
  char buf[64];
  for (double v = p->ax.lo; v <= p->ax.hi + p->ax.step * 1e-6; v += p->ax.step) {
    double x = plot_px(p, v);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", x, p->y, x, p->y + p->h);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", x, p->y + p->h, x,
            p->y + p->h + 5);
    if (!xlabels) continue;
    tick_label(v, p->ax.step, buf, sizeof buf);
    if (p->xlog) snprintf(buf, sizeof buf, "%.6g", pow(10, round(v / p->ax.step) * p->ax.step));
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, p->y + p->h + 19, buf);
  }
  for (double v = p->ayl.lo; v <= p->ayl.hi + p->ayl.step * 1e-6; v += p->ayl.step) {
    double y = plot_py(p, &p->ayl, v);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n", p->x, y, p->x + p->w, y);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", p->x - 5, y, p->x, y);
    tick_label(v, p->ayl.step, buf, sizeof buf);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", p->x - 8, y + 4, buf);
  }
  fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
          p->x - 58, p->y + p->h / 2, ylabel);
  if (!rlabel) return;
  for (double v = p->ayr.lo; v <= p->ayr.hi + p->ayr.step * 1e-6; v += p->ayr.step) {
    double y = plot_py(p, &p->ayr, v);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>\n", p->x + p->w, y,
            p->x + p->w + 5, y);
    tick_label(v, p->ayr.step, buf, sizeof buf);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>\n", p->x + p->w + 8, y + 4, rcolor, buf);
  }
  fprintf(f, "<text transform=\"translate(%.1f %.1f) rotate(90)\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n",
          p->x + p->w + 64, p->y + p->h / 2, rcolor, rlabel);
}

/* A polyline of the rows with both values; past two points per pixel column, each
 * column's first, lowest, highest and last point (the envelope survives, spikes too). */
static void line(FILE *f, const Panel *p, const Axis *ya, const double *x, const double *y, int n,
                 const char *color, double width, double opacity, bool stairs) {
  fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-opacity=\"%.2f\" "
             "stroke-linejoin=\"round\" points=\"", color, width, opacity);
  int cols = (int)p->w, count = 0, prev = 0;
  bool bin = n > 2 * cols;
  for (int i = 0; i < n;) {
    if (isnan(x[i]) || isnan(y[i])) {
      i++;
      continue;
    }
    if (!bin) {
      /* a learning rate holds from its step to the next: a stair, not a slope */
      if (stairs && count) fprintf(f, " %.1f,%.1f", plot_px(p, x[i]), plot_py(p, ya, y[prev]));
      fprintf(f, "%s%.1f,%.1f", count++ ? " " : "", plot_px(p, x[i]), plot_py(p, ya, y[i]));
      prev = i++;
      continue;
    }
    int col = (int)floor(plot_px(p, x[i]) - p->x);
    int first = i, last = i, lo = i, hi = i;
    for (; i < n && (isnan(x[i]) || isnan(y[i]) || (int)floor(plot_px(p, x[i]) - p->x) == col); i++) {
      if (isnan(x[i]) || isnan(y[i])) continue;
      last = i;
      if (y[i] < y[lo]) lo = i;
      if (y[i] > y[hi]) hi = i;
    }
    int pick[4] = {first, lo < hi ? lo : hi, lo < hi ? hi : lo, last};
    for (int k = 0; k < 4; k++)
      if (k == 0 || pick[k] != pick[k - 1])
        fprintf(f, "%s%.1f,%.1f", count++ ? " " : "", plot_px(p, x[pick[k]]), plot_py(p, ya, y[pick[k]]));
  }
  fputs("\"/>\n", f);
}

static void dots(FILE *f, const Panel *p, const Axis *ya, const double *x, const double *y, int n,
                 const char *color) {
  int m = 0;
  for (int i = 0; i < n; i++) m += !isnan(y[i]);
  if (m > 200) return; /* a line alone reads better than a smear of dots */
  for (int i = 0; i < n; i++)
    if (!isnan(x[i]) && !isnan(y[i]))
      fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", plot_px(p, x[i]), plot_py(p, ya, y[i]), color);
}

static void range_of(const double *v, int n, double *lo, double *hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int i = 0; i < n; i++)
    if (isfinite(v[i])) {
      if (v[i] < *lo) *lo = v[i];
      if (v[i] > *hi) *hi = v[i];
    }
}

/* One legend entry: a short stroke and its text, at (x, y). */
static double legend(FILE *f, double x, double y, const char *color, double width, const char *text) {
  fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"%.1f\"/>\n",
          x, y - 4, x + 22, y - 4, color, width);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 28, y);
  plot_text(f, text);
  fputs("</text>\n", f);
  return x + 28 + 7.0 * (double)strlen(text) + 24;
}

static const char *const BLUE = "#1f77b4", *const GREEN = "#2ca02c", *const RED = "#d62728";

static void draw(FILE *f, const char *title, const Series *s) {
  const double *step = s->v[C_STEP];
  bool second = s->has[C_ACC] || s->has[C_LR];
  double W = 960, top = 64, h1 = 300, h2 = 190, gap = 56;
  double H = top + h1 + 44 + (second ? gap + h2 : 0) + 40;
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
             "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\">\n", W, H, W, H);
  fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"#fafafa\"/>\n");
  fputs("<text x=\"480\" y=\"28\" text-anchor=\"middle\" font-size=\"17\" font-weight=\"bold\">", f);
  plot_text(f, title);
  fputs("</text>\n", f);

  double slo, shi;
  range_of(step, s->n, &slo, &shi);
  Panel p1 = {.x = 90, .y = top, .w = W - 190, .h = h1};
  p1.ax = plot_nice_axis(slo < 0 ? slo : 0, shi, 8);
  double llo, lhi;
  range_of(s->v[C_LOSS], s->n, &llo, &lhi);
  if (!s->has[C_LOSS]) llo = 0, lhi = 1;
  p1.ayl = plot_nice_axis(llo > 0 && llo < 0.25 * lhi ? 0 : llo, lhi, 6);
  plot_frame(f, &p1, "loss", NULL, NULL, true);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", p1.x + p1.w / 2, p1.y + p1.h + 36);

  /* epoch boundaries: the first step of each epoch after the first */
  int nep = 0;
  for (int i = 1; i < s->n; i++)
    if (!isnan(s->v[C_EPOCH][i]) && s->v[C_EPOCH][i] != s->v[C_EPOCH][i - 1] && !isnan(s->v[C_LOSS][i])) nep++;
  if (nep > 0 && nep <= 60)
    for (int i = 1; i < s->n; i++)
      if (!isnan(s->v[C_EPOCH][i]) && s->v[C_EPOCH][i] != s->v[C_EPOCH][i - 1] && !isnan(s->v[C_LOSS][i])) {
        double x = plot_px(&p1, step[i] - 0.5);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#bbb\" stroke-dasharray=\"4 3\"/>\n",
                x, p1.y, x, p1.y + p1.h);
        if (nep <= 12)
          fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#999\" font-size=\"10\">epoch %.0f</text>\n", x + 3,
                  p1.y + 12, s->v[C_EPOCH][i]);
      }

  /* the loss, and its trailing mean over `win` steps when the curve is long enough to be noisy */
  int nloss = 0;
  for (int i = 0; i < s->n; i++) nloss += !isnan(s->v[C_LOSS][i]);
  int win = nloss >= 60 ? nloss / 30 : 0;
  double lx = p1.x + 10, ly = p1.y - 12;
  if (s->has[C_LOSS]) {
    line(f, &p1, &p1.ayl, step, s->v[C_LOSS], s->n, BLUE, win ? 1.0 : 2.0, win ? 0.35 : 1.0, false);
    lx = legend(f, lx, ly, BLUE, win ? 1.0 : 2.0, win ? "loss (each step)" : "loss");
  }
  if (win) {
    double *avg = malloc((size_t)s->n * sizeof *avg), sum = 0;
    int *idx = malloc((size_t)nloss * sizeof *idx), m = 0;
    if (!avg || !idx) die("out of memory");
    for (int i = 0; i < s->n; i++) {
      avg[i] = NAN;
      if (isnan(s->v[C_LOSS][i])) continue;
      idx[m++] = i;
      sum += s->v[C_LOSS][i];
      if (m > win) sum -= s->v[C_LOSS][idx[m - 1 - win]];
      if (m >= win) avg[i] = sum / win;
    }
    line(f, &p1, &p1.ayl, step, avg, s->n, BLUE, 2.2, 1.0, false);
    char txt[64];
    snprintf(txt, sizeof txt, "loss (mean of %d steps)", win);
    legend(f, lx, ly, BLUE, 2.2, txt);
    free(avg);
    free(idx);
  }
  if (!s->has[C_LOSS])
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#999\">no loss recorded</text>\n",
            p1.x + p1.w / 2, p1.y + p1.h / 2);

  if (!second) {
    fputs("</svg>\n", f);
    return;
  }
  Panel p2 = p1;
  p2.y = top + h1 + 44 + gap;
  p2.h = h2;
  double alo = 0, ahi = 1, rlo = 0, rhi = 1;
  if (s->has[C_ACC]) range_of(s->v[C_ACC], s->n, &alo, &ahi);
  if (s->has[C_LR]) range_of(s->v[C_LR], s->n, &rlo, &rhi);
  /* the accuracy from 0 unless it sits high (a percentage from 90 up shows its changes) */
  p2.ayl = s->has[C_ACC] ? plot_nice_axis(alo > 0 && alo < 0.5 * ahi ? 0 : alo, ahi, 4) : plot_nice_axis(rlo > 0 && rlo < 0.5 * rhi ? 0 : rlo, rhi, 4);
  p2.ayr = plot_nice_axis(rlo > 0 && rlo < 0.5 * rhi ? 0 : rlo, rhi, 4);
  bool both = s->has[C_ACC] && s->has[C_LR];
  plot_frame(f, &p2, s->has[C_ACC] ? "accuracy" : "learning rate", both ? "learning rate" : NULL, RED, true);
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">step</text>\n", p2.x + p2.w / 2, p2.y + p2.h + 36);
  lx = p2.x + 10;
  ly = p2.y - 12;
  if (s->has[C_ACC]) {
    line(f, &p2, &p2.ayl, step, s->v[C_ACC], s->n, GREEN, 2.0, 1.0, false);
    dots(f, &p2, &p2.ayl, step, s->v[C_ACC], s->n, GREEN);
    lx = legend(f, lx, ly, GREEN, 2.0, "accuracy (as the program prints it)");
  }
  if (s->has[C_LR]) {
    line(f, &p2, both ? &p2.ayr : &p2.ayl, step, s->v[C_LR], s->n, RED, 1.6, 1.0, true);
    legend(f, lx, ly, RED, 1.6, both ? "learning rate (right axis)" : "learning rate");
  }
  fputs("</svg>\n", f);
}

int cmd_plot(const Opts *o) {
  if (!o->out) die("plot: -o FILE.svg is required");
  size_t n;
  char *text = read_file(o->file, &n);
  if (!text) bad(o->file, 0, "cannot read: %s", strerror(errno));
  if (memchr(text, 0, n)) bad(o->file, 0, "not a text file (it holds a NUL byte)");
  size_t len = strlen(o->file);
  bool json = (len > 6 && !strcmp(o->file + len - 6, ".jsonl")) || (len > 5 && !strcmp(o->file + len - 5, ".json"));
  Series s = {0};
  if (json) read_jsonl(o->file, text, &s);
  else read_csv(o->file, text, &s);
  free(text);
  if (s.n == 0) bad(o->file, 0, "no rows to plot");
  const char *base = strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file;
  double smax = 0;
  for (int i = 0; i < s.n; i++)
    if (s.v[C_STEP][i] > smax) smax = s.v[C_STEP][i];
  char title[300];
  snprintf(title, sizeof title, "Training curves: %.200s (%.0f steps)", base, smax);
  FILE *f = strcmp(o->out, "-") ? fopen(o->out, "w") : stdout;
  if (!f) die("%s: cannot write: %s", o->out, strerror(errno));
  draw(f, title, &s);
  if (ferror(f) || (f != stdout && fclose(f))) die("%s: cannot write: %s", o->out, strerror(errno));
  for (int c = 0; c < C__N; c++) free(s.v[c]);
  return 0;
}
