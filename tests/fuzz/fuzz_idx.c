/*
 * fuzz_idx.c — libFuzzer harness for the runtime's IDX reader (MNIST-style label and image
 * files, plain or gzip, through the decompression cache): tt_loader_idx, then one epoch.
 *
 * An input is a small container for the two files:
 *   byte 0     flags: bits 0-1 how the labels file is written, bits 2-3 the images file
 *              (0 plain, 1 the bytes as they are as a .gz, 2-3 gzipped by the harness, so
 *              that mutations of the content get through gzip); bit 4 shuffle; bits 5-6
 *              batch size - 1; bit 7 no cache directory (an unlinked temporary instead)
 *   bytes 1-4  the labels file's length L, little-endian (cut to what is there)
 *   then       L bytes of labels file, and the rest is the images file.
 * tests/fuzz/idx/ holds the seeds (tests/fuzz/make_reader_seeds.py writes them). Whatever
 * the bytes, the reader must end in a loader or an error naming the file: a crash, a
 * sanitizer report, a leak (memory or descriptor), a temporary left in the cache, a
 * decompression past the header's claim (libFuzzer's -malloc_limit_mb and -rss_limit_mb
 * catch a big one) or a hang is a bug.
 *
 *   CC=clang cmake -S . -B build-fuzz -DTTC_FUZZ=ON && cmake --build build-fuzz --target fuzz_idx
 *   build-fuzz/tests/fuzz_idx -max_total_time=30 scratch-corpus tests/fuzz/idx
 */
#include "tests/fuzz/reader_harness.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc, (void)argv;
  fz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5)
    return -1; /* not a container: not worth keeping */
  unsigned flags = data[0];
  size_t l = (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 |
             (size_t)data[4] << 24;
  if (l > size - 5)
    l = size - 5;
  fz_write_data("train-labels-idx1-ubyte", data + 5, l, flags & 3);
  fz_write_data("train-images-idx3-ubyte", data + 5 + l, size - 5 - l, flags >> 2 & 3);
  fz_use_cache(flags >> 7 & 1);

  TtLoader *volatile ld = NULL;
  int failed = setjmp(fz_back);
  if (!failed) {
    ld = tt_loader_idx(fz_dir, "train", 1 + (flags >> 5 & 3), flags >> 4 & 1, false);
    static float x[4 * 784];
    static int64_t y[4];
    int64_t m;
    tt_loader_start(ld);
    while (tt_loader_next(ld, x, y, &m))
      for (int64_t i = 0; i < m; i++)
        if (y[i] < 0 || y[i] > 9 || !(x[i * 784] >= 0.0f && x[i * 784] <= 1.0f))
          fz_die("a loader yielded a value out of range", NULL);
  }
  tt_loader_free(ld); /* a loader whose reading failed is still the harness's to free */
  fz_after(failed);
  return 0;
}
