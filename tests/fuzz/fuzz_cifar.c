/*
 * fuzz_cifar.c — libFuzzer harness for the runtime's CIFAR-10 binary batch reader (plain
 * or gzip, through the decompression cache): tt_loader_cifar10, then one epoch.
 *
 * An input is:
 *   byte 0     flags: bits 0-1 how the batch file is written (0 plain, 1 the bytes as they
 *              are as a .gz, 2-3 gzipped by the harness); bit 2 train (the same bytes as
 *              data_batch_1..5.bin, else test_batch.bin); bit 3 shuffle; bit 7 no cache
 *              directory (an unlinked temporary instead)
 *   the rest   the file.
 * tests/fuzz/cifar/ holds the seeds (tests/fuzz/make_reader_seeds.py). A .gz batch has no
 * header to bound its decompression: gzip's ISIZE trailer is the claim, and a stream that
 * inflates past it must be an error. The rest as fuzz_idx.c.
 *
 *   build-fuzz/tests/fuzz_cifar -max_total_time=30 scratch-corpus tests/fuzz/cifar
 */
#include "tests/fuzz/reader_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return -1;
  unsigned flags = data[0];
  bool train = flags >> 2 & 1;
  for (int k = 1; k <= (train ? 5 : 1); k++) {
    char name[64];
    if (train)
      snprintf(name, sizeof name, "data_batch_%d.bin", k);
    else
      snprintf(name, sizeof name, "test_batch.bin");
    fz_write_data(name, data + 1, size - 1, flags & 3);
  }
  fz_use_cache(flags >> 7 & 1);

  TtLoader *volatile ld = NULL;
  int failed = setjmp(fz_back);
  if (!failed) {
    ld = tt_loader_cifar10(fz_dir, train, 2, flags >> 3 & 1, false);
    static float x[2 * 3072];
    static int64_t y[2];
    int64_t m;
    tt_loader_start(ld);
    while (tt_loader_next(ld, x, y, &m))
      for (int64_t i = 0; i < m; i++)
        if (y[i] < 0 || y[i] > 9 || !(x[i * 3072 + 3071] >= 0.0f && x[i * 3072 + 3071] <= 1.0f))
          fz_die("a loader yielded a value out of range", NULL);
  }
  tt_loader_free(ld);
  fz_after(failed);
  return 0;
}
