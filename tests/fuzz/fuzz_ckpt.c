/*
 * fuzz_ckpt.c — libFuzzer harness for the runtime's checkpoint reader (tt_ckpt_load,
 * docs/CHECKPOINT.md).
 *
 * An input is a checkpoint file, loaded as a small program's state (the unit test's five
 * tensors). A mutated file almost always fails its CRC-32, so each input is loaded a second
 * time with its size field and CRC made to agree with its bytes, which takes the mutation
 * into the entry table and the match with the program's tensors; that copy is also loaded
 * as a model under a "model." prefix, which exercises the strict-prefix rule. tests/fuzz/ckpt/
 * holds the seeds (tests/fuzz/make_reader_seeds.py). Whatever the bytes, a load must end in
 * the tensors or an error naming the file, with nothing leaked; a load that fails must not
 * have written the program's tensors.
 *
 *   build-fuzz/tests/fuzz_ckpt -max_total_time=30 scratch-corpus tests/fuzz/ckpt
 */
#include "tests/fuzz/reader_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_init();
  return 0;
}

/* Keep in sync with make_reader_seeds.py's STATE_A and STATE_B. */
static float w[2][3], bias[2], mw[2][2], mb[2];
static int64_t step;
static double lr;
static unsigned char mask[4];
static const int64_t w_shape[2] = {2, 3}, b_shape[1] = {2}, m_shape[1] = {4}, mw_shape[2] = {2, 2};

static const TtCkptEntry state_a[] = {
    {"fc.weight", TT_F32, 2, w_shape, w}, {"fc.bias", TT_F32, 1, b_shape, bias},
    {"opt.step", TT_I64, 0, NULL, &step}, {"lr", TT_F64, 0, NULL, &lr},
    {"mask", TT_BOOL, 1, m_shape, mask},
};
static const TtCkptEntry state_b[] = {
    {"model.0.weight", TT_F32, 2, mw_shape, mw},
    {"model.0.bias", TT_F32, 1, b_shape, mb},
};

/* A byte pattern no valid checkpoint value is compared against: a failed load must leave it. */
static void poison(void) {
  memset(w, 0xa5, sizeof w), memset(bias, 0xa5, sizeof bias), memset(mw, 0xa5, sizeof mw);
  memset(mb, 0xa5, sizeof mb), memset(&step, 0xa5, sizeof step), memset(&lr, 0xa5, sizeof lr);
  memset(mask, 0xa5, sizeof mask);
}

static bool poisoned(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0xa5)
      return false;
  return true;
}

static void load(const unsigned char *data, size_t size, const TtCkptEntry *e, int n) {
  fz_write("x.ckpt", data, size);
  char path[600];
  snprintf(path, sizeof path, "%s/x.ckpt", fz_dir);
  poison();
  int failed = setjmp(fz_back);
  if (!failed)
    tt_ckpt_load(path, e, n);
  else if (!poisoned(w, sizeof w) || !poisoned(bias, sizeof bias) || !poisoned(mw, sizeof mw) ||
           !poisoned(mb, sizeof mb) || !poisoned(&step, sizeof step) ||
           !poisoned(&lr, sizeof lr) || !poisoned(mask, sizeof mask))
    fz_die("a failed load wrote the program's tensors", fz_msg);
  fz_after(failed);
}

static void put_le(unsigned char *b, uint64_t v, int k) {
  for (int i = 0; i < k; i++)
    b[i] = (unsigned char)(v >> (8 * i));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  load(data, size, state_a, 5);
  if (size < 26 || size > (1u << 20))
    return 0;
  unsigned char *fixed = malloc(size);
  if (!fixed)
    return 0;
  memcpy(fixed, data, size);
  put_le(fixed + 10, size, 8);
  put_le(fixed + size - 4, crc32(crc32(0, Z_NULL, 0), fixed, (uInt)(size - 4)), 4);
  load(fixed, size, state_a, 5);
  load(fixed, size, state_b, 2);
  free(fixed);
  return 0;
}
