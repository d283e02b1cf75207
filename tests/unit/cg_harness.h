/*
 * cg_harness.h — the build-and-run harness that test_codegen.c and test_codegen_host.c
 * share: the runtime compiled once per test binary into a temporary directory, then each
 * emitted program compiled with gcc and clang under -Wall -Wextra -Wshadow -Werror, linked
 * with it and run. If the runtime does not build, programs are still compiled (-c) and the
 * test is skipped. The repository root comes from $TTC_SOURCE_DIR or from the including
 * file's path (its suffix under the root is given to cg_setup).
 *
 * Included once per test file (static state), after cmocka.h, codegen.h and ir.h.
 */
#ifndef TTC_TESTS_CG_HARNESS_H
#define TTC_TESTS_CG_HARNESS_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static char tmpdir[256];
static char rtdir[600];
static bool have_runtime, have_clang;
static int nprog;

static int run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run_cmd(const char *fmt, ...) {
  char cmd[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  return system(cmd);
}

/* file: the including test's __FILE__; suffix: its path under the repository root. */
static int cg_setup(const char *file, const char *suffix) {
  const char *root = getenv("TTC_SOURCE_DIR");
  char buf[512];
  if (!root) {
    snprintf(buf, sizeof buf, "%s", file);
    size_t n = strlen(buf), m = strlen(suffix);
    if (n >= m && !strcmp(buf + n - m, suffix))
      buf[n - m] = '\0';
    else
      snprintf(buf, sizeof buf, ".");
    if (!buf[0]) snprintf(buf, sizeof buf, ".");
    root = buf;
  }
  snprintf(rtdir, sizeof rtdir, "%s/runtime", root);
  snprintf(tmpdir, sizeof tmpdir, "/tmp/ttc_codegen_XXXXXX");
  if (!mkdtemp(tmpdir)) return -1;
  /* The runtime, once: every test links its program against these objects. */
  have_runtime = run_cmd("cd %s && for f in '%s'/*.c; do cc -std=c11 -O1 -D_POSIX_C_SOURCE=200809L "
                         "-I'%s' -c \"$f\" -o rt_$(basename \"$f\" .c).o 2>/dev/null || exit 1; "
                         "done",
                         tmpdir, rtdir, rtdir) == 0;
  if (!have_runtime) fprintf(stderr, "note: runtime does not build; comparisons skipped\n");
  have_clang = run_cmd("command -v clang >/dev/null") == 0;
  return 0;
}

static int cg_teardown(void **state) {
  (void)state;
  if (!getenv("TTC_KEEP_TMP")) run_cmd("rm -rf '%s'", tmpdir);
  return 0;
}

/* The emitted C of p (options o, may be NULL), as a malloc'd string; NULL with err set on
 * failure. */
static char *emit_opts(const Program *p, const CgOptions *o, IrErr *err) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  assert_non_null(f);
  bool ok = cg_emit_program(f, p, o, err);
  fclose(f);
  if (!ok) {
    free(text);
    return NULL;
  }
  return text;
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return strdup("");
  size_t cap = 4096, n = 0, k;
  char *s = malloc(cap);
  while ((k = fread(s + n, 1, cap - n - 1, f)) > 0) {
    n += k;
    if (cap - n < 2) s = realloc(s, cap *= 2);
  }
  s[n] = '\0';
  fclose(f);
  return s;
}

typedef struct Run {
  char *out, *err;
  int status;
} Run;

/* Emits p, compiles it with gcc and clang (-Werror; the driver may use either, and they
 * warn about different things), runs it; skips when the runtime does not build. */
static Run cg_build_and_run(const Program *p, const CgOptions *o) {
  IrErr err = {{0}, -1};
  char *c = emit_opts(p, o, &err);
  if (!c) fail_msg("codegen failed: %s", err.msg);
  int k = nprog++;
  char path[600];
  snprintf(path, sizeof path, "%s/prog%d.c", tmpdir, k);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(c, f);
  fclose(f);
  free(c);
  const char *flags = "-std=c11 -O1 -Wall -Wextra -Wshadow -Werror";
  if (have_clang &&
      run_cmd("clang %s -O3 -march=native -I'%s' -c '%s' -o /dev/null", flags, rtdir, path) != 0)
    fail_msg("emitted C does not compile warning-free with clang: %s", path);
  if (!have_runtime) {
    if (run_cmd("cc %s -I'%s' -c '%s' -o /dev/null", flags, rtdir, path) != 0)
      fail_msg("emitted C does not compile: %s", path);
    skip();
  }
  if (run_cmd("cc %s -I'%s' '%s' '%s'/rt_*.o -lz -lcjson -lm -o '%s/prog%d'", flags, rtdir, path, tmpdir,
              tmpdir, k) != 0)
    fail_msg("emitted C does not compile: %s", path);
  int rc = run_cmd("cd '%s' && ./prog%d >out%d.txt 2>err%d.txt", tmpdir, k, k, k);
  Run r = {.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1};
  char o1[700], e1[700];
  snprintf(o1, sizeof o1, "%s/out%d.txt", tmpdir, k);
  snprintf(e1, sizeof e1, "%s/err%d.txt", tmpdir, k);
  r.out = slurp(o1);
  r.err = slurp(e1);
  return r;
}

__attribute__((unused)) static void run_free(Run *r) {
  free(r->out);
  free(r->err);
}

#endif
