/*
 * fuzz_safetensors.c — libFuzzer harness for the runtime's safetensors reader (tt_st_load,
 * runtime/safetensors.c).
 *
 * An input is a safetensors file, loaded as a small program's tensors (x: F32 [2, 3], n: I64
 * [2], m: BOOL [3]), as load_file compiled against tests/fuzz/safetensors/good would read
 * it. Whatever the bytes, a load must end in the tensors or an error naming the file, with
 * nothing leaked; a load that fails must not have written the program's tensors.
 *
 *   build-fuzz/tests/fuzz_safetensors -max_total_time=30 scratch-corpus tests/fuzz/safetensors
 */
#include "tests/fuzz/reader_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_init();
  return 0;
}

static float x[2][3];
static int64_t nn[2];
static unsigned char m[3];
static const int64_t x_shape[2] = {2, 3}, n_shape[1] = {2}, m_shape[1] = {3};
static const TtCkptEntry state[] = {
    {"x", TT_F32, 2, x_shape, x}, {"n", TT_I64, 1, n_shape, nn}, {"m", TT_BOOL, 1, m_shape, m}};

static bool poisoned(const void *p, size_t n) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != 0xa5)
      return false;
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_write("w.safetensors", data, size);
  char path[600];
  snprintf(path, sizeof path, "\1\1%s/w.safetensors", fz_dir); /* the tag of a load (tt.h) */
  memset(x, 0xa5, sizeof x), memset(nn, 0xa5, sizeof nn), memset(m, 0xa5, sizeof m);
  int failed = setjmp(fz_back);
  if (!failed)
    tt_ckpt_load(path, state, 3);
  else if (!poisoned(x, sizeof x) || !poisoned(nn, sizeof nn) || !poisoned(m, sizeof m))
    fz_die("a failed load wrote the program's tensors", fz_msg);
  else if (!strstr(fz_msg, "w.safetensors"))
    fz_die("an error that does not name the file", fz_msg);
  fz_after(failed);
  return 0;
}
