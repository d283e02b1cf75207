/*
 * progress.c — a progress bar that looks like tqdm's, for training loops.
 *
 * On a terminal the bar is redrawn in place ("\r") at most ten times a second and once
 * more at close; into a file or a pipe (CI logs) it writes one plain line per tenth of
 * the total instead, so logs stay readable. The clock and the output are injectable
 * (tt_progress_new_on) so that tests can check the exact text.
 */
#include "tt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BAR_CELLS 10
#define MIN_INTERVAL 0.1 /* seconds between redraws on a terminal, as tqdm's mininterval */

struct TtProgress {
  char desc[128], postfix[128];
  int64_t total, n, last_n;
  FILE *out;
  bool tty;
  double (*now)(void);
  double start, last_draw;
  int next_tenth; /* non-terminal: the next tenth of total that prints a line */
  size_t last_len; /* terminal: the length of the line on screen, to blank its tail */
};

char *tt_fmt_interval(double seconds, char *buf, size_t n) {
  if (!(seconds >= 0) || seconds > 1e9)
    seconds = 0;
  long long t = (long long)seconds; /* tqdm truncates */
  long long h = t / 3600, m = t / 60 % 60, s = t % 60;
  if (h)
    snprintf(buf, n, "%lld:%02lld:%02lld", h, m, s);
  else
    snprintf(buf, n, "%02lld:%02lld", m, s);
  return buf;
}

char *tt_fmt_rate(double per_second, char *buf, size_t n) {
  if (!(per_second > 0) || isinf(per_second))
    snprintf(buf, n, "?it/s");
  else if (per_second < 1)
    snprintf(buf, n, "%.2fs/it", 1.0 / per_second); /* slow loops read better inverted */
  else
    snprintf(buf, n, "%.2fit/s", per_second);
  return buf;
}

TtProgress *tt_progress_new_on(const char *desc, int64_t total, FILE *out, bool tty,
                               double (*now)(void)) {
  TtProgress *p = calloc(1, sizeof *p);
  if (!p)
    tt_fatal("out of memory (a progress bar)");
  snprintf(p->desc, sizeof p->desc, "%s", desc ? desc : "");
  p->total = total;
  p->out = out;
  p->tty = tty;
  p->now = now ? now : tt_now;
  p->start = p->now();
  p->last_draw = p->start;
  p->next_tenth = 1;
  p->last_n = -1;
  return p;
}

TtProgress *tt_progress_new(const char *desc, int64_t total) {
  TtProgress *p = tt_progress_new_on(desc, total, stderr, isatty(fileno(stderr)), tt_now);
  if (p->tty)
    tt_progress_update(p, 0); /* tqdm shows the empty bar at once */
  return p;
}

/* "{desc}: " and the counts and times shared by both styles, into buf. */
static void render(TtProgress *p, double t, char *buf, size_t size) {
  char el[32], rem[32], rate[32], pre[160];
  double elapsed = t - p->start;
  double r = elapsed > 0 ? (double)p->n / elapsed : 0;
  tt_fmt_interval(elapsed, el, sizeof el);
  if (r > 0 && p->total > 0)
    tt_fmt_interval((double)(p->total - p->n) / r, rem, sizeof rem);
  else
    snprintf(rem, sizeof rem, "?");
  tt_fmt_rate(r, rate, sizeof rate);
  snprintf(pre, sizeof pre, "%s%s", p->desc, p->desc[0] ? ": " : "");
  const char *sep = p->postfix[0] ? ", " : "";
  if (p->total <= 0) { /* no total: tqdm's "123it [00:01, 99.00it/s]" */
    snprintf(buf, size, "%s%lldit [%s, %s%s%s]", pre, (long long)p->n, el, rate, sep,
             p->postfix);
    return;
  }
  int pct = (int)(100.0 * (double)p->n / (double)p->total);
  if (!p->tty) {
    snprintf(buf, size, "%s%d%% %lld/%lld [%s<%s, %s%s%s]", pre, pct, (long long)p->n,
             (long long)p->total, el, rem, rate, sep, p->postfix);
    return;
  }
  /* the bar: full cells, then one cell in eighths, then blanks (tqdm's UTF-8 charset) */
  static const char *const eighths[8] = {" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉"};
  double frac = (double)p->n / (double)p->total;
  if (frac > 1)
    frac = 1;
  int units = (int)(frac * BAR_CELLS * 8);
  int full = units / 8, part = units % 8;
  char bar[BAR_CELLS * 3 + 1] = "";
  size_t o = 0;
  for (int i = 0; i < full; i++)
    o += (size_t)snprintf(bar + o, sizeof bar - o, "█");
  if (full < BAR_CELLS) {
    o += (size_t)snprintf(bar + o, sizeof bar - o, "%s", eighths[part]);
    for (int i = full + 1; i < BAR_CELLS; i++)
      o += (size_t)snprintf(bar + o, sizeof bar - o, " ");
  }
  snprintf(buf, size, "%s%3d%%|%s| %lld/%lld [%s<%s, %s%s%s]", pre, pct, bar,
           (long long)p->n, (long long)p->total, el, rem, rate, sep, p->postfix);
}

static void draw(TtProgress *p, double t) {
  char line[512];
  render(p, t, line, sizeof line);
  if (p->tty) {
    size_t len = strlen(line);
    fprintf(p->out, "\r%s", line);
    for (size_t i = len; i < p->last_len; i++) /* blank what a longer line left */
      fputc(' ', p->out);
    p->last_len = len;
  } else {
    fprintf(p->out, "%s\n", line);
  }
  fflush(p->out);
  p->last_draw = t;
  p->last_n = p->n;
}

void tt_progress_update(TtProgress *p, int64_t n) {
  if (!p)
    return;
  p->n += n;
  double t = p->now();
  if (p->tty) {
    if (t - p->last_draw >= MIN_INTERVAL || p->last_n < 0 || (p->total > 0 && p->n >= p->total))
      draw(p, t);
    return;
  }
  if (p->total <= 0 || p->n * 10 < (int64_t)p->next_tenth * p->total)
    return;
  draw(p, t);
  /* one line however many tenths this update crossed */
  p->next_tenth = (int)(p->n * 10 / p->total) + 1;
}

void tt_progress_postfix(TtProgress *p, const char *text) {
  if (p)
    snprintf(p->postfix, sizeof p->postfix, "%s", text ? text : "");
}

void tt_progress_close(TtProgress *p) {
  if (!p)
    return;
  double t = p->now();
  if (p->tty) {
    draw(p, t);
    fputc('\n', p->out);
    fflush(p->out);
  } else if (p->last_n != p->n) {
    draw(p, t); /* where it stopped, if the last line did not say so already */
  }
  free(p);
}

/* ---- scratch text for descriptions and postfixes ------------------------------------- */

static char *text_buf;
static size_t text_len;

FILE *tt_text_begin(void) {
  free(text_buf);
  text_buf = NULL;
  text_len = 0;
  FILE *f = open_memstream(&text_buf, &text_len);
  if (!f) tt_fatal("out of memory");
  return f;
}

const char *tt_text_end(FILE *f) {
  if (fclose(f) != 0 || !text_buf) tt_fatal("out of memory");
  return text_buf;
}
