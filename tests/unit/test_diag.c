/*
 * test_diag.c — the diagnostic format and source reading.
 *
 * Every check compares the whole printed text, caret line included: the format is what
 * users and the golden .err files see, so a stray space is a regression.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"

/* Runs one diagnostic at off over text and returns what was printed (static buffer). */
static const char *diag_text(const char *text, int32_t off, bool note, const char *msg,
                             int *nerrors) {
  static char out[4096];
  Source *s = source_from_string("m.tt", text);
  FILE *f = fmemopen(out, sizeof out, "w");
  Diag d = {.src = s, .out = f};
  if (note)
    diag_note(&d, off, "%s", msg);
  else
    diag_error(&d, off, "%s", msg);
  fclose(f);
  if (nerrors)
    *nerrors = d.nerrors;
  source_free(s);
  return out;
}

static void error_format(void **state) {
  int n = 0;
  assert_string_equal(diag_text("y = 1\n    x = foo(1\nz\n", 16, false, "expected ':'", &n),
                      "m.tt:2:11: error: expected ':'\n"
                      "    x = foo(1\n"
                      "          ^\n");
  assert_int_equal(n, 1);
}

static void note_does_not_count(void **state) {
  int n = 7;
  assert_string_equal(diag_text("(a\n", 0, true, "to match this '('", &n),
                      "m.tt:1:1: note: to match this '('\n"
                      "(a\n"
                      "^\n");
  assert_int_equal(n, 0);
}

static void tabs_line_up(void **state) {
  assert_string_equal(diag_text("\tx =\t$\n", 5, false, "invalid character '$'", NULL),
                      "m.tt:1:6: error: invalid character '$'\n"
                      "\tx =\t$\n"
                      "\t   \t^\n");
}

static void offset_at_eof(void **state) {
  /* no trailing newline: the caret goes one past the last character */
  assert_string_equal(diag_text("x = (1", 6, false, "m", NULL),
                      "m.tt:1:7: error: m\n"
                      "x = (1\n"
                      "      ^\n");
  /* after the last newline: an empty last line */
  assert_string_equal(diag_text("x = 1\n", 6, false, "m", NULL),
                      "m.tt:2:1: error: m\n"
                      "\n"
                      "^\n");
  /* an empty file, and offsets out of range clamp instead of crashing */
  assert_string_equal(diag_text("", 0, false, "m", NULL), "m.tt:1:1: error: m\n\n^\n");
  assert_string_equal(diag_text("ab", 99, false, "m", NULL), "m.tt:1:3: error: m\nab\n  ^\n");
  assert_string_equal(diag_text("ab", -5, false, "m", NULL), "m.tt:1:1: error: m\nab\n^\n");
}

static void crlf_lines(void **state) {
  const char *text = "a = 1\r\nb = $\r\nc\r\n";
  assert_string_equal(diag_text(text, 11, false, "m", NULL), "m.tt:2:5: error: m\nb = $\n    ^\n");
  /* the '\n' of a "\r\n" belongs to the line it ends */
  assert_string_equal(diag_text(text, 6, false, "m", NULL), "m.tt:1:6: error: m\na = 1\n     ^\n");
  /* a lone '\r' is a line break too, as in the lexer */
  assert_string_equal(diag_text("a\rb $", 4, false, "m", NULL), "m.tt:2:3: error: m\nb $\n  ^\n");
}

static void utf8_columns(void **state) {
  /* the column counts bytes, the caret counts characters */
  assert_string_equal(diag_text("s = \"é\" $\n", 9, false, "m", NULL),
                      "m.tt:1:10: error: m\n"
                      "s = \"é\" $\n"
                      "        ^\n");
}

static void control_bytes_hidden(void **state) {
  char text[] = "x = \x1b[31m\x01";
  assert_string_equal(diag_text(text, 4, false, "m", NULL),
                      "m.tt:1:5: error: m\n"
                      "x = ?[31m?\n"
                      "    ^\n");
}

static void long_line_window(void **state) {
  char *text = malloc(10001);
  memset(text, 'a', 10000);
  text[10000] = '\0';
  const char *out = diag_text(text, 5000, false, "m", NULL);
  assert_true(strncmp(out, "m.tt:1:5001: error: m\n", 22) == 0);
  /* a window of 160 bytes around the column, the caret in its middle */
  const char *src = strchr(out, '\n') + 1;
  const char *caret = strchr(src, '\n') + 1;
  assert_int_equal(strchr(src, '\n') - src, 160);
  assert_int_equal(strchr(caret, '^') - caret, 80);
  free(text);
}

static void from_string_and_free(void **state) {
  Source *s = source_from_string("a.tt", "x = 1\n");
  assert_string_equal(s->name, "a.tt");
  assert_int_equal(s->len, 6);
  assert_int_equal(s->text[6], '\0');
  source_free(s);
}

static void read_file(void **state) {
  char path[] = "/tmp/ttc_test_diag_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  static const char data[] = "x = 1\0y\n"; /* an embedded NUL keeps the full length */
  assert_int_equal(write(fd, data, sizeof data - 1), (ssize_t)(sizeof data - 1));
  close(fd);
  Source *s = source_read(path);
  assert_non_null(s);
  assert_int_equal(s->len, sizeof data - 1);
  assert_memory_equal(s->text, data, sizeof data);
  assert_string_equal(s->name, path);
  source_free(s);
  unlink(path);
}

static void read_errors(void **state) {
  /* messages go to stderr; what matters here is a NULL, not a crash */
  assert_null(source_read("/nonexistent/ttc/file.tt"));
  assert_null(source_read("/tmp"));
}

static void no_source(void **state) {
  char out[256];
  FILE *f = fmemopen(out, sizeof out, "w");
  Diag d = {.src = NULL, .out = f};
  diag_error(&d, 3, "no file: %d", 42);
  fclose(f);
  assert_string_equal(out, "ttc: error: no file: 42\n");
  assert_int_equal(d.nerrors, 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(error_format),       cmocka_unit_test(note_does_not_count),
      cmocka_unit_test(tabs_line_up),       cmocka_unit_test(offset_at_eof),
      cmocka_unit_test(crlf_lines),         cmocka_unit_test(utf8_columns),
      cmocka_unit_test(control_bytes_hidden), cmocka_unit_test(long_line_window),
      cmocka_unit_test(from_string_and_free), cmocka_unit_test(read_file),
      cmocka_unit_test(read_errors),        cmocka_unit_test(no_source),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
