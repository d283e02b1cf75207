/*
 * test_runtime_print.c — tt_print_tensor and tt_pyfloat_repr against PyTorch's own text.
 *
 * The cases and the expected text come from tests/runtime_ref.py (run under torch and
 * checked in as runtime_ref.h); every case must match byte for byte.
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

/* Prints one case into a string (open_memstream), in the case's own dtype. */
static char *print_case(const RefPrintCase *c) {
  int64_t numel = 1;
  for (int d = 0; d < c->rank; d++)
    numel *= c->shape[d];
  size_t esize = c->dt == TT_F32 ? 4 : c->dt == TT_F64 ? 8 : c->dt == TT_I64 ? 8
               : c->dt == TT_I32 ? 4 : 1;
  void *data = tt_alloc((size_t)numel * esize);
  for (int64_t i = 0; i < numel; i++) {
    switch (c->dt) {
    case TT_F32: ((float *)data)[i] = (float)c->fvals[i]; break;
    case TT_F64: ((double *)data)[i] = c->fvals[i]; break;
    case TT_I64: ((int64_t *)data)[i] = c->ivals[i]; break;
    case TT_I32: ((int32_t *)data)[i] = (int32_t)c->ivals[i]; break;
    case TT_I8: ((int8_t *)data)[i] = (int8_t)c->ivals[i]; break;
    case TT_BOOL: ((bool *)data)[i] = c->ivals[i] != 0; break;
    }
  }
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  TtPrintOpts opts = {.gradfn = c->gradfn, .requires_grad = c->requires_grad != 0,
                      .param = c->param != 0};
  tt_print_tensor(f, c->dt, data, c->rank, c->shape, &opts);
  fclose(f);
  tt_free(data);
  return text;
}

/* The expected text is stored as lines (C90 limits string literals' length). */
static char *join_lines(const char *const *lines) {
  size_t n = 0;
  for (const char *const *l = lines; *l; l++)
    n += strlen(*l) + 1;
  char *s = malloc(n + 1);
  assert_non_null(s);
  s[0] = '\0';
  for (const char *const *l = lines; *l; l++) {
    if (l != lines)
      strcat(s, "\n");
    strcat(s, *l);
  }
  return s;
}

static void test_print_matches_torch(void **state) {
  (void)state;
  int failures = 0;
  for (size_t k = 0; k < NELEMS(ref_print_cases); k++) {
    char *got = print_case(&ref_print_cases[k]);
    char *want = join_lines(ref_print_cases[k].expect);
    if (strcmp(got, want) != 0) {
      if (failures < 5)
        print_error("case %zu:\n--- torch\n%s\n--- tt\n%s\n", k, want, got);
      failures++;
    }
    free(want);
    free(got);
  }
  if (failures)
    print_error("%d of %zu cases differ\n", failures, NELEMS(ref_print_cases));
  assert_int_equal(failures, 0);
}

static void test_print_no_opts(void **state) {
  (void)state;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  float v[] = {1.0f, 2.5f};
  int64_t shape[] = {2};
  tt_print_tensor(f, TT_F32, v, 1, shape, NULL);
  fclose(f);
  assert_string_equal(text, "tensor([1.0000, 2.5000])");
  free(text);
}

static void test_pyfloat_repr_matches_python(void **state) {
  (void)state;
  int failures = 0;
  char buf[64];
  for (size_t k = 0; k < NELEMS(ref_repr_cases); k++) {
    tt_pyfloat_repr(ref_repr_cases[k].v, buf, sizeof buf);
    if (strcmp(buf, ref_repr_cases[k].expect) != 0) {
      if (failures < 10)
        print_error("repr(%a): python %s, tt %s\n", ref_repr_cases[k].v,
                    ref_repr_cases[k].expect, buf);
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

static void test_pyfloat_repr_small_buffer(void **state) {
  (void)state;
  char buf[4];
  tt_pyfloat_repr(0.125, buf, sizeof buf);
  assert_string_equal(buf, "0.1"); /* truncated, still terminated */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_print_matches_torch),
      cmocka_unit_test(test_print_no_opts),
      cmocka_unit_test(test_pyfloat_repr_matches_python),
      cmocka_unit_test(test_pyfloat_repr_small_buffer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
