/*
 * reader_harness.h — what the runtime readers' libFuzzer harnesses (fuzz_idx.c,
 * fuzz_cifar.c, fuzz_ckpt.c) share: a scratch directory for the files an input becomes,
 * the fatal hook that brings an error back to the harness, and the checks made after every
 * input.
 *
 * The runtime reports a bad file through tt_fatal, which exits in a generated program. Here
 * tt_set_fatal_hook makes it longjmp back to the harness instead, so one process can try
 * millions of files. A reader must free what it holds before tt_fatal; the harness checks
 * that it did: LeakSanitizer sees any leaked memory, and after every input a descriptor
 * probe sees any leaked file descriptor, and the cache directory must hold no temporary.
 * Every error message must name the file it is about (it contains the scratch directory).
 * TTC_FUZZ_VERBOSE=1 in the environment prints each input's outcome (to review seeds).
 *
 * Only the harnesses include this file (its functions are static inline: not every harness
 * uses every one).
 */
#ifndef TTC_READER_HARNESS_H
#define TTC_READER_HARNESS_H

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "runtime/tt.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fz_dir[256];       /* the scratch directory: the files of one input */
static char fz_cache[300];     /* the decompression cache, emptied after every input */
static int fz_fd_probe = -1;   /* the lowest free descriptor, when nothing is open */
static jmp_buf fz_back;        /* where a fatal error returns to */
static char fz_msg[8192];      /* its message */

static inline void fz_on_fatal(const char *msg) {
  snprintf(fz_msg, sizeof fz_msg, "%s", msg);
  longjmp(fz_back, 1);
}

static inline void fz_die(const char *what, const char *detail) {
  fprintf(stderr, "reader harness: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  abort();
}

/* Removes every file in dir (not recursing: the harness makes no subdirectories there but
 * the cache). With check, a leftover temporary (".tmp" in the name) is a bug. */
static inline void fz_empty_dir(const char *dir, int check) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *e;
  char p[1200];
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
      continue;
    if (check && strstr(e->d_name, ".tmp"))
      fz_die("a temporary was left in the cache", e->d_name);
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    unlink(p);
  }
  closedir(d);
}

static inline void fz_cleanup(void) {
  fz_empty_dir(fz_cache, 0);
  rmdir(fz_cache);
  fz_empty_dir(fz_dir, 0);
  rmdir(fz_dir);
}

static inline void fz_init(void) {
  const char *t = getenv("TMPDIR");
  snprintf(fz_dir, sizeof fz_dir, "%s/ttc-fuzz-XXXXXX", t && *t ? t : "/tmp");
  if (!mkdtemp(fz_dir))
    fz_die("cannot make a scratch directory", fz_dir);
  snprintf(fz_cache, sizeof fz_cache, "%s/cache", fz_dir);
  atexit(fz_cleanup);
  tt_set_fatal_hook(fz_on_fatal);
  fz_fd_probe = open("/dev/null", O_RDONLY);
  close(fz_fd_probe);
}

/* The cache to use for this input: the scratch one, or (nocache) none, so that the
 * decompression goes to an unlinked temporary file. */
static inline void fz_use_cache(int nocache) {
  setenv("TTC_DATA_CACHE", nocache ? "/proc/ttc-fuzz/no/such/dir" : fz_cache, 1);
}

static inline void fz_write(const char *name, const void *data, size_t n) {
  char p[600];
  snprintf(p, sizeof p, "%s/%s", fz_dir, name);
  FILE *f = fopen(p, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0)
    fz_die("cannot write", p);
}

/* data as a gzip stream (malloc'd, *out_n bytes). */
static inline unsigned char *fz_gzip(const unsigned char *data, size_t n, size_t *out_n) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    fz_die("deflateInit2", NULL);
  size_t cap = deflateBound(&z, (uLong)n) + 64;
  unsigned char *out = malloc(cap);
  if (!out)
    fz_die("out of memory", NULL);
  z.next_in = (unsigned char *)data;
  z.avail_in = (uInt)n;
  z.next_out = out;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    fz_die("deflate", NULL);
  *out_n = cap - z.avail_out;
  deflateEnd(&z);
  return out;
}

/* Writes one data file as an input asks: enc 0 plain (name), 1 the bytes as they are under
 * name.gz (the fuzzer's own gzip stream), 2 and 3 gzipped here, under name.gz. */
static inline void fz_write_data(const char *name, const unsigned char *data, size_t n, int enc) {
  char gz[300];
  snprintf(gz, sizeof gz, "%s.gz", name);
  if (enc == 0)
    fz_write(name, data, n);
  else if (enc == 1)
    fz_write(gz, data, n);
  else {
    size_t zn;
    unsigned char *z = fz_gzip(data, n, &zn);
    fz_write(gz, z, zn);
    free(z);
  }
}

/* After every input: no descriptor leaked, no temporary left, a message names its file. */
static inline void fz_after(int failed) {
  int fd = open("/dev/null", O_RDONLY);
  close(fd);
  if (fd != fz_fd_probe)
    fz_die("a file descriptor leaked", failed ? fz_msg : "(no error)");
  if (failed && !strstr(fz_msg, fz_dir))
    fz_die("an error message does not name the file", fz_msg);
  if (getenv("TTC_FUZZ_VERBOSE"))
    fprintf(stderr, "outcome: %s\n", failed ? fz_msg + strlen(fz_dir) + 1 : "ok");
  fz_empty_dir(fz_cache, 1);
  fz_empty_dir(fz_dir, 0);
}

#endif
