/*
 * fuzz_frontend.c — libFuzzer harness for the front end.
 *
 * Each input is treated as a .tt file: it is lexed, parsed and lowered to the IR program.
 * Whatever the bytes, the front end must end in a program or a diagnostic; a crash, a
 * sanitizer report, a leak or a hang is a bug. A program that compiles is also put through
 * the verifier and the C emitter, because a front end that accepts a program must hand on
 * an IR the later stages can take: a verifier failure aborts, so the fuzzer reports it.
 *
 *   cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DTTC_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_frontend
 *   build-fuzz/tests/fuzz_frontend -max_total_time=60 tests/fuzz/corpus
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Opened once: diagnostics are formatted (that code is under test too) but not shown. */
static FILE *devnull(void) {
  static FILE *f;
  if (!f && !(f = fopen("/dev/null", "w"))) {
    perror("/dev/null");
    abort();
  }
  return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* The front end wants a NUL-terminated text; libFuzzer's buffer is not one. The Source
   * is built here rather than with source_from_string (which stops at the first NUL) so
   * that NUL bytes inside the input reach the lexer, as they do from source_read. */
  char *text = malloc(size + 1);
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';

  Source src = {.name = "fuzz.tt", .text = text, .len = size};
  Diag d = {.src = &src, .out = devnull(), .nerrors = 0};
  Program *p = frontend_compile(&src, &d);
  if (p) {
    IrErr err = {{0}, -1};
    if (!ir_verify_program(p, &err)) {
      fprintf(stderr, "verifier rejected the front end's program: %s\n", err.msg);
      abort();
    }
    CgOptions opt = {0};
    cg_emit_program(devnull(), p, &opt, &err); /* false is a clean refusal, not a bug */
    ir_program_free(p);
  } else if (d.nerrors == 0) {
    fprintf(stderr, "frontend_compile failed without a diagnostic\n");
    abort();
  }
  free(text);
  return 0;
}
