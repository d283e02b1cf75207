/*
 * test_runtime_rng.c — the runtime's random streams against PyTorch's.
 *
 * tests/runtime_ref.py replays fixed call sequences under torch (rand, randn, uniform_,
 * normal_; float32 and float64; sizes either side of 16, where ATen switches normal
 * algorithms; interleaved calls, which exercise the cached Box-Muller half). We replay
 * them here and require bit equality: every value kept in the reference, and an FNV-1a
 * hash over the bytes of every value drawn.
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
#include "runtime_ref.h"

#define NELEMS(a) (sizeof(a) / sizeof((a)[0]))
#define KEEP 32

static uint64_t fnv1a(const void *p, size_t n) {
  const unsigned char *b = p;
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) {
    h ^= b[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

/* Returns the number of mismatching values in one step (hash mismatch counts as one). */
static int run_step(const RefRngSeq *seq, int si, const RefRngStep *st) {
  size_t esize = st->dt == TT_F32 ? sizeof(float) : sizeof(double);
  void *buf = tt_alloc((size_t)st->n * esize);
  if (st->dt == TT_F32) {
    if (st->kind == 0)
      tt_uniform_f32(buf, st->n, st->a, st->b);
    else
      tt_normal_f32(buf, st->n, st->a, st->b);
  } else {
    if (st->kind == 0)
      tt_uniform_f64(buf, st->n, st->a, st->b);
    else
      tt_normal_f64(buf, st->n, st->a, st->b);
  }
  int bad = 0;
  int64_t keep = st->n < KEEP ? st->n : KEEP;
  for (int64_t i = 0; i < 2 * keep; i++) {
    int64_t idx = i < keep ? i : st->n - keep + (i - keep);
    double want = i < keep ? st->head[i] : st->tail[i - keep];
    double got = st->dt == TT_F32 ? (double)((float *)buf)[idx] : ((double *)buf)[idx];
    if (got != want) {
      if (bad < 3)
        print_error("%s step %d (%s %s n=%lld) [%lld]: torch %.17g, tt %.17g\n", seq->name, si,
                    st->kind ? "normal" : "uniform", st->dt == TT_F32 ? "f32" : "f64",
                    (long long)st->n, (long long)idx, want, got);
      bad++;
    }
  }
  if (fnv1a(buf, (size_t)st->n * esize) != st->fnv) {
    print_error("%s step %d: hash of all %lld values differs\n", seq->name, si,
                (long long)st->n);
    bad++;
  }
  tt_free(buf);
  return bad;
}

static void test_rng_sequences_match_torch(void **state) {
  (void)state;
  int bad = 0;
  for (size_t s = 0; s < NELEMS(ref_rng_seqs); s++) {
    const RefRngSeq *seq = &ref_rng_seqs[s];
    if (seq->reseed)
      tt_manual_seed(seq->seed);
    else
      tt_init(0, NULL); /* the default seed, as at program start */
    for (int i = 0; i < seq->nsteps; i++)
      bad += run_step(seq, i, &seq->steps[i]);
  }
  assert_int_equal(bad, 0);
}

/* Reseeding must forget the cached normal, as torch.manual_seed does. */
static void test_rng_reseed_resets_normal_cache(void **state) {
  (void)state;
  double a[3], b[3];
  tt_manual_seed(5);
  tt_normal_f64(a, 3, 0.0, 1.0); /* leaves one half of a pair cached */
  tt_manual_seed(5);
  tt_normal_f64(b, 3, 0.0, 1.0);
  assert_memory_equal(a, b, sizeof a);
}

static void test_rng_zero_length(void **state) {
  (void)state;
  float f = 7.0f;
  tt_manual_seed(1);
  tt_uniform_f32(&f, 0, 0.0, 1.0);
  tt_normal_f32(&f, 0, 0.0, 1.0);
  assert_true(f == 7.0f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rng_sequences_match_torch),
      cmocka_unit_test(test_rng_reseed_resets_normal_cache),
      cmocka_unit_test(test_rng_zero_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
