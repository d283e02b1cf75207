/*
 * test_lexer.c — token streams (layout tokens included), literal values and lexer errors.
 *
 * A stream is written as the token names joined by spaces, with a NAME's text in
 * parentheses, so one string shows the whole tokenization; errors compare the full
 * message with its caret.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "parser.h"

static char err_buf[4096];

/* The token stream of text, or "ERR" if the lexer reported (the message is in err_buf). */
static const char *toks_n(const char *text, size_t len) {
  static char out[8192];
  /* A source with the exact bytes (NULs included) and the sentinel after them. */
  Source *b = malloc(sizeof *b + len + 1);
  char *copy = (char *)(b + 1);
  memcpy(copy, text, len);
  copy[len] = '\0';
  b->name = "m.tt";
  b->text = copy;
  b->len = len;
  b->base = 0; /* the main file: its text starts the offset space */
  b->next = NULL;
  Arena *a = arena_new();
  FILE *f = fmemopen(err_buf, sizeof err_buf, "w");
  Diag d = {.src = b, .out = f};
  Lexer *lx = lex_new(b, a, &d);
  size_t n = 0;
  out[0] = '\0';
  for (int i = 0; i < 1000; i++) {
    Token t = lex_next(lx);
    if (d.nerrors) {
      assert_int_equal(t.kind, TK_EOF);
      assert_int_equal(lex_next(lx).kind, TK_EOF); /* stays off after an error */
      snprintf(out, sizeof out, "ERR");
      break;
    }
    const char *name = t.kind == TK_EOF ? "EOF" : lex_token_name(t.kind);
    if (t.kind == TK_NAME)
      n += (size_t)snprintf(out + n, sizeof out - n, "%sNAME(%s)", n ? " " : "", t.str);
    else
      n += (size_t)snprintf(out + n, sizeof out - n, "%s%s", n ? " " : "", name);
    if (t.kind == TK_EOF)
      break;
  }
  fclose(f);
  arena_free(a);
  free(b);
  return out;
}

static const char *toks(const char *text) {
  return toks_n(text, strlen(text));
}

/* Lexes text, which must fail, and returns the diagnostic. */
static const char *lex_error(const char *text, size_t len) {
  assert_string_equal(toks_n(text, len), "ERR");
  return err_buf;
}

static void simple_line(void **state) {
  assert_string_equal(toks("x = f(a, b=1.5)\n"),
                      "NAME(x) '=' NAME(f) '(' NAME(a) ',' NAME(b) '=' FLOAT ')' NEWLINE EOF");
  assert_string_equal(toks("a.b[1:2] @ c ** -d // e % g\n"),
                      "NAME(a) '.' NAME(b) '[' INT ':' INT ']' '@' NAME(c) '**' '-' NAME(d) "
                      "'//' NAME(e) '%' NAME(g) NEWLINE EOF");
}

static void operators_longest_match(void **state) {
  assert_string_equal(toks("a += b -= c *= d /= e //= f %= g **= h @= i\n"),
                      "NAME(a) '+=' NAME(b) '-=' NAME(c) '*=' NAME(d) '/=' NAME(e) '//=' "
                      "NAME(f) '%=' NAME(g) '**=' NAME(h) '@=' NAME(i) NEWLINE EOF");
  assert_string_equal(toks("a == b != c < d <= e > f >= g -> ...\n"),
                      "NAME(a) '==' NAME(b) '!=' NAME(c) '<' NAME(d) '<=' NAME(e) '>' NAME(f) "
                      "'>=' NAME(g) '->' '...' NEWLINE EOF");
}

static void keywords(void **state) {
  assert_string_equal(toks("def class return if elif else for in while with as pass break\n"),
                      "'def' 'class' 'return' 'if' 'elif' 'else' 'for' 'in' 'while' 'with' "
                      "'as' 'pass' 'break' NEWLINE EOF");
  assert_string_equal(toks("continue and or not is None True False import from assert lambda\n"),
                      "'continue' 'and' 'or' 'not' 'is' 'None' 'True' 'False' 'import' 'from' "
                      "'assert' 'lambda' NEWLINE EOF");
  /* keywords are whole words only */
  assert_string_equal(toks("define iff None_ _if\n"),
                      "NAME(define) NAME(iff) NAME(None_) NAME(_if) NEWLINE EOF");
}

static void indent_dedent(void **state) {
  assert_string_equal(toks("if x:\n    y\n    if z:\n        w\nv\n"),
                      "'if' NAME(x) ':' NEWLINE INDENT NAME(y) NEWLINE 'if' NAME(z) ':' NEWLINE "
                      "INDENT NAME(w) NEWLINE DEDENT DEDENT NAME(v) NEWLINE EOF");
  /* at EOF without a trailing newline: NEWLINE, then every DEDENT, then EOF */
  assert_string_equal(toks("if x:\n  if y:\n    z"),
                      "'if' NAME(x) ':' NEWLINE INDENT 'if' NAME(y) ':' NEWLINE INDENT NAME(z) "
                      "NEWLINE DEDENT DEDENT EOF");
  /* a partial dedent to an open level */
  assert_string_equal(toks("a:\n  b:\n    c\n  d\n"),
                      "NAME(a) ':' NEWLINE INDENT NAME(b) ':' NEWLINE INDENT NAME(c) NEWLINE "
                      "DEDENT NAME(d) NEWLINE DEDENT EOF");
}

static void blank_and_comment_lines(void **state) {
  assert_string_equal(toks("\n\n# top\nif x:  # why\n\n      # deeper comment\n    y\n  \n\nz\n"),
                      "'if' NAME(x) ':' NEWLINE INDENT NAME(y) NEWLINE DEDENT NAME(z) NEWLINE EOF");
  assert_string_equal(toks(""), "EOF");
  assert_string_equal(toks("\n   \n# only a comment"), "EOF");
}

static void implicit_joining(void **state) {
  assert_string_equal(toks("x = (1,\n        2)\ny = [\n3\n]\n"),
                      "NAME(x) '=' '(' INT ',' INT ')' NEWLINE NAME(y) '=' '[' INT ']' NEWLINE EOF");
  assert_string_equal(toks("d = {1:\n  # comment inside\n 2}\n"),
                      "NAME(d) '=' '{' INT ':' INT '}' NEWLINE EOF");
}

static void backslash_continuation(void **state) {
  assert_string_equal(toks("x = 1 + \\\n    2\n"), "NAME(x) '=' INT '+' INT NEWLINE EOF");
  assert_string_equal(toks("x = 1 + \\\r\n    2\r\n"), "NAME(x) '=' INT '+' INT NEWLINE EOF");
}

static void crlf(void **state) {
  assert_string_equal(toks("if x:\r\n    y = 1\r\n\r\nz\r\n"),
                      "'if' NAME(x) ':' NEWLINE INDENT NAME(y) '=' INT NEWLINE DEDENT NAME(z) "
                      "NEWLINE EOF");
  /* a lone CR is a line break as well */
  assert_string_equal(toks("a\rb\r"), "NAME(a) NEWLINE NAME(b) NEWLINE EOF");
}

/* The first token of text. */
static Token first(Arena *a, const char *text) {
  static Source *s;
  if (s)
    source_free(s);
  s = source_from_string("m.tt", text);
  Diag d = {.src = s, .out = stderr};
  Token t = lex_next(lex_new(s, a, &d));
  assert_int_equal(d.nerrors, 0);
  return t;
}

static void numbers(void **state) {
  Arena *a = arena_new();
  assert_int_equal(first(a, "42").ival, 42);
  assert_int_equal(first(a, "1_000_000").ival, 1000000);
  assert_int_equal(first(a, "0x_Ff").ival, 255);
  assert_int_equal(first(a, "0b1010").ival, 10);
  assert_int_equal(first(a, "0o17").ival, 15);
  assert_int_equal(first(a, "0").ival, 0);
  assert_int_equal(first(a, "9223372036854775807").ival, INT64_MAX);
  assert_int_equal(first(a, "1.").kind, TK_FLOAT);
  assert_true(first(a, "1.").fval == 1.0);
  assert_true(first(a, ".5").fval == 0.5);
  assert_true(first(a, "1e-3").fval == 1e-3);
  assert_true(first(a, "1_000.5").fval == 1000.5);
  assert_true(first(a, "2.5E+2").fval == 250.0);
  Token t = first(a, "  123");
  assert_int_equal(t.kind, TK_INDENT); /* an indented first line: the parser says so */
  arena_free(a);
}

static void strings(void **state) {
  Arena *a = arena_new();
  assert_string_equal(first(a, "'a\\tb\\n\\\\\\'\\\"'").str, "a\tb\n\\'\"");
  assert_string_equal(first(a, "\"\\x41\\u00e9\\U0001F600\"").str, "A\xc3\xa9\xf0\x9f\x98\x80");
  assert_string_equal(first(a, "r'\\n\\d'").str, "\\n\\d");
  assert_string_equal(first(a, "'\\d'").str, "\\d"); /* unknown escapes keep the backslash */
  assert_string_equal(first(a, "\"\"\"doc\nstring \"quoted\" \\\nend\"\"\"").str,
                      "doc\nstring \"quoted\" end");
  assert_string_equal(first(a, "'''a\r\nb'''").str, "a\nb");
  assert_string_equal(first(a, "''").str, "");
  assert_string_equal(first(a, "u'caf\xc3\xa9'").str, "caf\xc3\xa9");
  Token f = first(a, "f'x={x!r:>4}\\n'");
  assert_int_equal(f.kind, TK_FSTRING);
  assert_string_equal(f.str, "x={x!r:>4}\\n"); /* raw: the parser splits and decodes it */
  assert_int_equal(f.ival, 2);
  assert_int_equal(first(a, "Rf'{x}'").kind, TK_FSTRING);
  assert_int_equal(first(a, "fR'{x}'").kind, TK_FSTRING);
  arena_free(a);
}

static void offsets(void **state) {
  Source *s = source_from_string("m.tt", "if x:\n  yy = 12\n");
  Arena *a = arena_new();
  Diag d = {.src = s, .out = stderr};
  Lexer *lx = lex_new(s, a, &d);
  static const int32_t want_off[] = {0, 3, 4, 5, 8, 8, 11, 13, 15, 16, 16};
  static const int32_t want_len[] = {2, 1, 1, 0, 0, 2, 1, 2, 0, 0, 0};
  for (int i = 0; i < 11; i++) {
    Token t = lex_next(lx);
    assert_int_equal(t.off, want_off[i]);
    assert_int_equal(t.len, want_len[i]);
  }
  arena_free(a);
  source_free(s);
}

static void token_names(void **state) {
  /* every token of the grammar has a name for messages (keep lex_token_name in sync) */
  for (int k = 1; k <= TK_GE; k++)
    assert_string_not_equal(lex_token_name(k), "token");
  assert_string_equal(lex_token_name(TK_LPAREN), "'('");
  assert_string_equal(lex_token_name(TK_NAME), "NAME");
  assert_string_equal(lex_token_name(TK_INDENT), "INDENT");
}

static void errors_layout(void **state) {
  assert_string_equal(lex_error("if x:\n\ty\n", 9),
                      "m.tt:2:1: error: tabs are not allowed for indentation; use spaces\n"
                      "\ty\n"
                      "^\n");
  assert_string_equal(lex_error("if x:\n    a\n  b\n", 15),
                      "m.tt:3:3: error: unindent does not match any outer indentation level\n"
                      "  b\n"
                      "  ^\n");
  assert_string_equal(lex_error("x = (1,\n2\n", 10),
                      "m.tt:1:5: error: '(' was never closed\n"
                      "x = (1,\n"
                      "    ^\n");
  assert_string_equal(lex_error("x = [1)\n", 8),
                      "m.tt:1:7: error: closing ')' does not match opening '['\n"
                      "x = [1)\n"
                      "      ^\n"
                      "m.tt:1:5: note: '[' opened here\n"
                      "x = [1)\n"
                      "    ^\n");
  assert_string_equal(lex_error("x)\n", 3), "m.tt:1:2: error: unmatched ')'\nx)\n ^\n");
  assert_string_equal(lex_error("x = 1 + \\ 2\n", 12),
                      "m.tt:1:9: error: unexpected character after line continuation character\n"
                      "x = 1 + \\ 2\n"
                      "        ^\n");
}

static void errors_bytes(void **state) {
  assert_string_equal(lex_error("x = 1\0 + 2\n", 11),
                      "m.tt:1:6: error: NUL byte in source\nx = 1? + 2\n     ^\n");
  assert_string_equal(lex_error("x = \xff\n", 6),
                      "m.tt:1:5: error: invalid UTF-8 byte 0xFF\nx = \xff\n    ^\n");
  assert_string_equal(lex_error("x = caf\xc3\xa9\n", 10),
                      "m.tt:1:8: error: non-ASCII character outside a string or comment\n"
                      "x = caf\xc3\xa9\n"
                      "       ^\n");
  assert_string_equal(lex_error("s = 'a\xc3('\n", 10),
                      "m.tt:1:7: error: invalid UTF-8 in string\ns = 'a\xc3('\n      ^\n");
  assert_string_equal(lex_error("x = 1 # \xe2\x82\n", 11),
                      "m.tt:1:9: error: invalid UTF-8 in comment\nx = 1 # \xe2\x82\n        ^\n");
  assert_string_equal(lex_error("x = ?\n", 6),
                      "m.tt:1:5: error: invalid character '?'\nx = ?\n    ^\n");
  assert_string_equal(lex_error("x = \x01\n", 6),
                      "m.tt:1:5: error: invalid character 0x01\nx = ?\n    ^\n");
}

static void errors_literals(void **state) {
  assert_string_equal(lex_error("print(\"hi)\n", 11),
                      "m.tt:1:7: error: unterminated string (a newline needs \\n or a "
                      "triple-quoted string)\n"
                      "print(\"hi)\n"
                      "      ^\n");
  assert_string_equal(lex_error("x = '''abc\n\n", 12),
                      "m.tt:1:5: error: unterminated triple-quoted string\nx = '''abc\n    ^\n");
  assert_string_equal(lex_error("x = 'a\\x4g'\n", 12),
                      "m.tt:1:7: error: truncated \\x escape: expected 2 hex digits\n"
                      "x = 'a\\x4g'\n"
                      "      ^\n");
  assert_string_equal(lex_error("x = '\\x00'\n", 11),
                      "m.tt:1:6: error: a NUL character in a string is not supported\n"
                      "x = '\\x00'\n"
                      "     ^\n");
  assert_string_equal(lex_error("x = '\\ud800'\n", 13),
                      "m.tt:1:6: error: invalid Unicode code point in \\u escape\n"
                      "x = '\\ud800'\n"
                      "     ^\n");
  assert_string_equal(lex_error("x = b'abc'\n", 11),
                      "m.tt:1:5: error: bytes literals are not supported\nx = b'abc'\n    ^\n");
  assert_string_equal(lex_error("x = 1abc\n", 9),
                      "m.tt:1:5: error: invalid number literal\nx = 1abc\n    ^\n");
  assert_string_equal(toks_n("x = 0x\n", 7), "ERR");
  assert_string_equal(toks_n("x = 012\n", 8), "ERR");
  assert_string_equal(toks_n("x = 1__0\n", 9), "ERR");
  assert_string_equal(toks_n("x = 1.5j\n", 9), "ERR");
  assert_string_equal(lex_error("x = 9223372036854775808\n", 24),
                      "m.tt:1:5: error: integer literal too large for int64\n"
                      "x = 9223372036854775808\n"
                      "    ^\n");
  assert_string_equal(toks_n("x = 1e999\n", 10), "ERR");
}

static void errors_unsupported(void **state) {
  assert_string_equal(lex_error("del x[0]\n", 9),
                      "m.tt:1:1: error: 'del' is not supported in .tt programs\n"
                      "del x[0]\n"
                      "^\n");
  assert_string_equal(toks("f = lambda_ + lambdas\n"), "NAME(f) '=' NAME(lambda_) '+' NAME(lambdas) NEWLINE EOF");
  /* an @ starting a line is a decorator token (x @ y stays the matmul operator) */
  assert_string_equal(toks_n("@torch.no_grad\ndef f(): pass\n", 29),
                      "'@' (a decorator) NAME(torch) '.' NAME(no_grad) NEWLINE 'def' NAME(f) '(' ')' ':' 'pass' NEWLINE EOF");
  assert_string_equal(lex_error("x = a | b\n", 10),
                      "m.tt:1:7: error: bitwise operator '|' is not supported\nx = a | b\n      ^\n");
  assert_string_equal(toks_n("x <<= 1\n", 8), "ERR");
  assert_string_equal(toks_n("x = ~y\n", 7), "ERR");
  assert_string_equal(toks_n("raise E\n", 8), "ERR");
  assert_string_equal(toks_n("if (n := 1): pass\n", 18), "ERR");
}

static void nesting_limits(void **state) {
  char *deep = malloc(100010);
  memcpy(deep, "x = ", 4);
  memset(deep + 4, '(', 100000);
  assert_string_equal(toks_n(deep, 100004), "ERR");
  assert_non_null(strstr(err_buf, "m.tt:1:205: error: expression or block nested too deeply\n"));
  /* 101 levels of indentation, one space each */
  size_t n = 0;
  for (int i = 0; i <= 101; i++) {
    memset(deep + n, ' ', (size_t)i);
    n += (size_t)i;
    memcpy(deep + n, "a:\n", 3);
    n += 3;
  }
  assert_string_equal(toks_n(deep, n), "ERR");
  assert_non_null(strstr(err_buf, "error: expression or block nested too deeply\n"));
  free(deep);
}

static void binary_garbage(void **state) {
  /* a fixed pseudo-random byte soup: an error, never a crash or a hang */
  unsigned char buf[4096];
  uint32_t x = 12345;
  for (int round = 0; round < 50; round++) {
    for (size_t i = 0; i < sizeof buf; i++) {
      x = x * 1103515245u + 12345u;
      buf[i] = (unsigned char)(x >> 16);
    }
    toks_n((const char *)buf, sizeof buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(simple_line),      cmocka_unit_test(operators_longest_match),
      cmocka_unit_test(keywords),         cmocka_unit_test(indent_dedent),
      cmocka_unit_test(blank_and_comment_lines), cmocka_unit_test(implicit_joining),
      cmocka_unit_test(backslash_continuation), cmocka_unit_test(crlf),
      cmocka_unit_test(numbers),          cmocka_unit_test(strings),
      cmocka_unit_test(offsets),          cmocka_unit_test(token_names),
      cmocka_unit_test(errors_layout),    cmocka_unit_test(errors_bytes),
      cmocka_unit_test(errors_literals),  cmocka_unit_test(errors_unsupported),
      cmocka_unit_test(nesting_limits),   cmocka_unit_test(binary_garbage),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
