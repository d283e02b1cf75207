/*
 * test_runtime_progress.c — the progress bar's text, with a fake clock: tqdm's time and
 * rate formats, the plain one-line-per-tenth style used when stderr is not a terminal,
 * and the in-place bar with its eighth-cell blocks and throttled redraws.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/tt.h"

static double fake_time;
static double fake_now(void) { return fake_time; }

static void test_interval_and_rate(void **state) {
  (void)state;
  char b[32];
  assert_string_equal(tt_fmt_interval(0, b, sizeof b), "00:00");
  assert_string_equal(tt_fmt_interval(9.99, b, sizeof b), "00:09");
  assert_string_equal(tt_fmt_interval(65, b, sizeof b), "01:05");
  assert_string_equal(tt_fmt_interval(3599, b, sizeof b), "59:59");
  assert_string_equal(tt_fmt_interval(3723, b, sizeof b), "1:02:03");
  assert_string_equal(tt_fmt_interval(-1, b, sizeof b), "00:00");
  assert_string_equal(tt_fmt_rate(94.1234, b, sizeof b), "94.12it/s");
  assert_string_equal(tt_fmt_rate(0.4, b, sizeof b), "2.50s/it");
  assert_string_equal(tt_fmt_rate(0, b, sizeof b), "?it/s");
}

/* Runs 938 steps of 10 ms (94 steps a second) and returns what the bar wrote. */
static char *run_bar(bool tty, int64_t total, int64_t steps, const char *postfix) {
  char *s = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&s, &n);
  fake_time = 100.0;
  TtProgress *p = tt_progress_new_on("train", total, f, tty, fake_now);
  for (int64_t i = 0; i < steps; i++) {
    fake_time += 0.010625; /* exact in binary: 1/94.117... s */
    if (postfix)
      tt_progress_postfix(p, postfix);
    tt_progress_update(p, 1);
  }
  tt_progress_close(p);
  fclose(f);
  return s;
}

static void test_plain_lines(void **state) {
  (void)state;
  char *s = run_bar(false, 938, 938, "loss=0.512");
  const char *want = "train: 10% 94/938 [00:00<00:08, 94.12it/s, loss=0.512]\n"
                     "train: 20% 188/938 [00:01<00:07, 94.12it/s, loss=0.512]\n"
                     "train: 30% 282/938 [00:02<00:06, 94.12it/s, loss=0.512]\n"
                     "train: 40% 376/938 [00:03<00:05, 94.12it/s, loss=0.512]\n"
                     "train: 50% 469/938 [00:04<00:04, 94.12it/s, loss=0.512]\n"
                     "train: 60% 563/938 [00:05<00:03, 94.12it/s, loss=0.512]\n"
                     "train: 70% 657/938 [00:06<00:02, 94.12it/s, loss=0.512]\n"
                     "train: 80% 751/938 [00:07<00:01, 94.12it/s, loss=0.512]\n"
                     "train: 90% 845/938 [00:08<00:00, 94.12it/s, loss=0.512]\n"
                     "train: 100% 938/938 [00:09<00:00, 94.12it/s, loss=0.512]\n";
  assert_string_equal(s, want);
  free(s);
  /* stopped early: the last line says where */
  s = run_bar(false, 938, 100, NULL);
  assert_string_equal(s, "train: 10% 94/938 [00:00<00:08, 94.12it/s]\n"
                         "train: 10% 100/938 [00:01<00:08, 94.12it/s]\n");
  free(s);
  /* no total */
  s = run_bar(false, 0, 5, NULL);
  assert_string_equal(s, "train: 5it [00:00, 94.12it/s]\n");
  free(s);
}

static void test_tty_bar(void **state) {
  (void)state;
  char *s = run_bar(true, 20, 20, NULL);
  /* the first update draws; then every 0.1 s (10 updates); then at the end and at close */
  const char *first = "\rtrain:   5%|▌         | 1/20 [00:00<00:00, 94.12it/s]";
  assert_memory_equal(s, first, strlen(first));
  assert_non_null(strstr(s, "\rtrain:  55%|█████▌    | 11/20 [00:00<00:00, 94.12it/s]"));
  assert_non_null(strstr(s, "\rtrain: 100%|██████████| 20/20 [00:00<00:00, 94.12it/s]\n"));
  int redraws = 0;
  for (const char *c = s; *c; c++)
    redraws += *c == '\r';
  assert_true(redraws >= 3 && redraws <= 5);
  free(s);
  /* eighths: 3/8 of a cell is charset[3], as in tqdm's " ▏▎▍▌▋▊▉█" */
  s = run_bar(true, 80, 3, NULL);
  assert_non_null(strstr(s, "|▍         | 3/80"));
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_interval_and_rate),
      cmocka_unit_test(test_plain_lines),
      cmocka_unit_test(test_tty_bar),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
