/*
 * metrics.c — training curves: what a program compiled with `ttc run|build --metrics`
 * records after each training step (docs/METRICS.md).
 *
 * The generated C calls tt_metrics_open once after tt_init, tt_metrics_loss after each
 * graph that ran a backward() (with that loss), tt_metrics_step after each graph that ran
 * an optimizer step, and tt_metrics_value where the program prints its accuracy. A step
 * writes one row: its number (1, 2, ...), its epoch, the mean of the losses recorded since
 * the previous step (one, unless the program accumulates gradients over several backward
 * calls), the optimizer's learning rate and the seconds since the program started. An
 * accuracy writes its own row (the loss empty), at the step count and epoch of the last
 * step. The file is CSV, or JSON lines when its name ends in .jsonl or .json; $TTC_METRICS
 * names it, else the path the C was built with; without either nothing is written.
 *
 * Rows are flushed as they are written, so a curve can be plotted while the program runs
 * and a killed run keeps its rows. A failed write is fatal: a curve silently cut short
 * would look like a finished one.
 */
#include "tt.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static struct {
  FILE *f;
  const char *path;
  bool json;
  double t0;
  int64_t step, epoch;
  double loss_sum;
  int nloss;
} M;

static void put_num(double v) {
  /* %.9g keeps a float32 loss exactly; a diverged run's NaN or inf is written as nan or
   * inf in the CSV and as null in JSON, which has no NaN (the plot leaves it out) */
  if (!isfinite(v) && M.json) fputs("null", M.f);
  else fprintf(M.f, "%.9g", v);
}

static void finish_row(void) {
  if (fflush(M.f) || ferror(M.f)) tt_fatal("%s: cannot write the metrics: %s", M.path, strerror(errno));
}

void tt_metrics_open(const char *default_path) {
  const char *env = getenv("TTC_METRICS");
  const char *path = env && *env ? env : default_path;
  M.t0 = tt_now();
  if (!path || !*path) return;
  M.path = path;
  size_t n = strlen(path);
  M.json = (n > 6 && !strcmp(path + n - 6, ".jsonl")) || (n > 5 && !strcmp(path + n - 5, ".json"));
  M.f = fopen(path, "w");
  if (!M.f) tt_fatal("%s: cannot write the metrics: %s", path, strerror(errno));
  if (!M.json) fputs("step,epoch,loss,accuracy,lr,time\n", M.f);
  finish_row();
}

void tt_metrics_loss(double loss) {
  M.loss_sum += loss;
  M.nloss++;
}

/* One row; a column whose bit is not in `has` (1 loss, 2 accuracy, 4 lr) is empty (CSV)
 * or left out (JSON lines). */
static void row(int has, double loss, double acc, double lr) {
  double t = tt_now() - M.t0;
  if (M.json) {
    fprintf(M.f, "{\"step\": %lld, \"epoch\": %lld", (long long)M.step, (long long)M.epoch);
    if (has & 1) {
      fputs(", \"loss\": ", M.f);
      put_num(loss);
    }
    if (has & 2) {
      fputs(", \"accuracy\": ", M.f);
      put_num(acc);
    }
    if (has & 4) {
      fputs(", \"lr\": ", M.f);
      put_num(lr);
    }
    fprintf(M.f, ", \"time\": %.6f}\n", t);
  } else {
    fprintf(M.f, "%lld,%lld,", (long long)M.step, (long long)M.epoch);
    if (has & 1) put_num(loss);
    fputc(',', M.f);
    if (has & 2) put_num(acc);
    fputc(',', M.f);
    if (has & 4) put_num(lr);
    fprintf(M.f, ",%.6f\n", t);
  }
  finish_row();
}

void tt_metrics_step(int64_t epoch, bool has_lr, double lr) {
  int has = (M.nloss ? 1 : 0) | (has_lr ? 4 : 0);
  double loss = M.nloss ? M.loss_sum / M.nloss : 0;
  M.loss_sum = 0;
  M.nloss = 0;
  M.step++;
  M.epoch = epoch;
  if (M.f) row(has, loss, 0, lr);
}

void tt_metrics_accuracy(double acc) {
  if (M.f) row(2, 0, acc, 0);
}
