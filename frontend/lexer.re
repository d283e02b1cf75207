/*
 * lexer.re — the .tt tokenizer (re2c 3.0; compiled to gen/lexer.c).
 *
 * The text is NUL-terminated and the NUL is the sentinel: the catch-all rules see it like
 * any other byte, and only a NUL at the very end is end of input (one anywhere else is an
 * error at its position). Tokens keep byte offsets; line and column are computed by diag.c
 * only when a message is printed.
 *
 * Layout follows Python: NEWLINE ends a logical line; at the start of each line the
 * indentation (spaces only: a tab there is an error, so nobody depends on a tab width) is
 * compared with a stack of open levels to emit INDENT or DEDENTs. Blank and comment-only
 * lines produce nothing, newlines inside () [] {} and after a backslash join lines, and
 * "\r\n" or a lone "\r" is a line break like "\n". At end of input come a NEWLINE if the
 * last line had tokens, a DEDENT per open level, then TK_EOF forever.
 *
 * Strings are scanned by hand (the quote forms, prefixes and triple quotes are easier in C)
 * and decoded here; f-strings are handed to the parser undecoded as TK_FSTRING, because
 * their {fields} are expressions that the parser parses with a lexer over just that range.
 */
#include "frontend.h"
#include "parser.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Python's own limits (too many nested parentheses / levels of indentation): deeper input
 * is refused with a message long before anything downstream could overflow its stack. */
#define MAX_BRACKETS 200
#define MAX_INDENTS 100

struct Lexer {
  const Source *src;
  Arena *arena;
  Diag *d;
  const unsigned char *base; /* offset 0 of the file */
  const unsigned char *cur;  /* next byte to scan */
  const unsigned char *lim;  /* the sentinel NUL: end of input */
  bool expr_mode;            /* an f-string field: no layout tokens */
  bool at_bol;               /* at the start of a logical line: measure indentation */
  bool line_has_tokens;      /* a token was returned since the last NEWLINE */
  bool failed;               /* a diagnostic was printed: TK_EOF from now on */
  int pending_dedents;
  int nindents;
  int indents[MAX_INDENTS + 1]; /* open indentation widths; [0] is 0 */
  int nbrackets;
  char brackets[MAX_BRACKETS];    /* the open bracket characters */
  int32_t bracket_off[MAX_BRACKETS];
};

static int32_t offset(const Lexer *lx, const unsigned char *p) {
  return (int32_t)(p - lx->base);
}

static Token make(const Lexer *lx, int kind, const unsigned char *start, const unsigned char *end) {
  Token t = {0};
  t.kind = kind;
  t.off = offset(lx, start);
  t.len = (int32_t)(end - start);
  return t;
}

/* Reports at p and turns the lexer off: callers see TK_EOF with d->nerrors raised. */
static Token fail(Lexer *lx, const unsigned char *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static Token fail(Lexer *lx, const unsigned char *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(lx->d, "error", offset(lx, p), fmt, ap);
  va_end(ap);
  lx->failed = true;
  lx->cur = lx->lim;
  return make(lx, TK_EOF, lx->lim, lx->lim);
}

static Lexer *lexer_make(const Source *src, Arena *a, Diag *d, int32_t start, int32_t end,
                         bool expr_mode) {
  Lexer *lx = arena_alloc(a, sizeof *lx);
  lx->src = src;
  lx->arena = a;
  lx->d = d;
  if (expr_mode) {
    /* A NUL-terminated copy of the range, addressed so that offsets stay file offsets. */
    size_t n = (size_t)(end - start);
    unsigned char *copy = arena_alloc(a, n + 1);
    memcpy(copy, src->text + start, n);
    lx->base = copy - start;
    lx->cur = copy;
    lx->lim = copy + n;
  } else {
    lx->base = (const unsigned char *)src->text;
    lx->cur = lx->base + start;
    lx->lim = lx->base + src->len;
  }
  lx->expr_mode = expr_mode;
  lx->at_bol = !expr_mode;
  return lx;
}

Lexer *lex_new(const Source *src, Arena *a, Diag *d) {
  /* a UTF-8 byte order mark at the start is skipped, as Python does; an imported file's
   * own text starts at its base (frontend.h) */
  int32_t start = src->base;
  if (src->len >= (size_t)start + 3 && !memcmp(src->text + start, "\xEF\xBB\xBF", 3)) start += 3;
  return lexer_make(src, a, d, start, (int32_t)src->len, false);
}

Lexer *lex_new_range(const Source *src, Arena *a, Diag *d, int32_t start, int32_t end) {
  return lexer_make(src, a, d, start, end, true);
}

/* ---- UTF-8 and escapes ---------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (which is < lim), or 0 if it is not one. */
static int utf8_len(const unsigned char *p, const unsigned char *lim) {
  unsigned c = p[0];
  int n;
  unsigned min;
  if (c < 0x80)
    return 1;
  if (c >= 0xc2 && c <= 0xdf)
    n = 2, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef)
    n = 3, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4)
    n = 4, min = 0x10000;
  else
    return 0;
  if (lim - p < n)
    return 0;
  unsigned cp = c & (0x7f >> n);
  for (int i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

static char *put_utf8(char *o, unsigned cp) {
  if (cp < 0x80) {
    *o++ = (char)cp;
  } else if (cp < 0x800) {
    *o++ = (char)(0xc0 | cp >> 6);
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    *o++ = (char)(0xe0 | cp >> 12);
    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  } else {
    *o++ = (char)(0xf0 | cp >> 18);
    *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
    *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
    *o++ = (char)(0x80 | (cp & 0x3f));
  }
  return o;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Every escape is at least as long as its UTF-8 encoding, so n + 1 bytes always suffice.
 * Unknown escapes keep their backslash, as Python does. */
char *lex_decode(Arena *a, Diag *d, const char *text, size_t n, int32_t off, bool raw) {
  char *out = arena_alloc(a, n + 1), *o = out;
  for (size_t i = 0; i < n;) {
    char c = text[i];
    if (c == '\r') { /* line breaks inside triple-quoted strings read as "\n" */
      *o++ = '\n';
      i += i + 1 < n && text[i + 1] == '\n' ? 2 : 1;
      continue;
    }
    if (c != '\\' || raw || i + 1 >= n) {
      *o++ = c;
      i++;
      continue;
    }
    char e = text[i + 1];
    int digits = 0;
    switch (e) {
    case '\n': i += 2; continue; /* backslash-newline joins the lines */
    case '\r': i += i + 2 < n && text[i + 2] == '\n' ? 3 : 2; continue;
    case 'n': *o++ = '\n'; break;
    case 't': *o++ = '\t'; break;
    case 'r': *o++ = '\r'; break;
    case 'a': *o++ = '\a'; break;
    case 'b': *o++ = '\b'; break;
    case 'f': *o++ = '\f'; break;
    case 'v': *o++ = '\v'; break;
    case '\\': *o++ = '\\'; break;
    case '\'': *o++ = '\''; break;
    case '"': *o++ = '"'; break;
    case 'x': digits = 2; break;
    case 'u': digits = 4; break;
    case 'U': digits = 8; break;
    default: *o++ = '\\'; *o++ = e; break;
    }
    if (digits) {
      unsigned long cp = 0;
      for (int k = 0; k < digits; k++) {
        int h = i + 2 + (size_t)k < n ? hexval(text[i + 2 + k]) : -1;
        if (h < 0) {
          diag_error(d, off + (int32_t)i, "truncated \\%c escape: expected %d hex digits", e,
                     digits);
          return NULL;
        }
        cp = cp << 4 | (unsigned)h;
      }
      if (cp == 0) {
        diag_error(d, off + (int32_t)i, "a NUL character in a string is not supported");
        return NULL;
      }
      if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        diag_error(d, off + (int32_t)i, "invalid Unicode code point in \\%c escape", e);
        return NULL;
      }
      o = put_utf8(o, (unsigned)cp);
      i += 2 + (size_t)digits;
    } else {
      i += 2;
    }
  }
  *o = '\0';
  return out;
}

/* ---- strings -------------------------------------------------------------------------- */

/* tok is the first byte of the prefix, q the opening quote. Returns TK_STRING (decoded) or
 * TK_FSTRING (str: the raw body; ival: the body's offset). */
static Token scan_string(Lexer *lx, const unsigned char *tok, const unsigned char *q) {
  bool raw = false, fmt = false;
  for (const unsigned char *p = tok; p < q; p++) {
    raw |= *p == 'r' || *p == 'R';
    fmt |= *p == 'f' || *p == 'F';
  }
  unsigned char quote = *q;
  bool triple = q[1] == quote && q[2] == quote;
  const unsigned char *body = q + (triple ? 3 : 1), *p = body;
  for (;;) {
    unsigned char c = *p;
    if (c == '\0') {
      if (p == lx->lim)
        return fail(lx, tok, triple ? "unterminated triple-quoted string" : "unterminated string");
      return fail(lx, p, "NUL byte in source");
    }
    if (c == quote) {
      if (!triple)
        break;
      if (p[1] == quote && p[2] == quote)
        break;
      p++;
    } else if (c == '\\') {
      p++;
      if (*p == '\r' || *p == '\n' || *p == quote || *p == '\\')
        p += *p == '\r' && p[1] == '\n' ? 2 : 1;
    } else if ((c == '\n' || c == '\r') && !triple) {
      return fail(lx, tok, "unterminated string (a newline needs \\n or a triple-quoted string)");
    } else if (c >= 0x80) {
      int n = utf8_len(p, lx->lim);
      if (!n)
        return fail(lx, p, "invalid UTF-8 in string");
      p += n;
    } else {
      p++;
    }
  }
  const unsigned char *end = p + (triple ? 3 : 1);
  Token t = make(lx, fmt ? TK_FSTRING : TK_STRING, tok, end);
  size_t n = (size_t)(p - body);
  if (fmt) {
    t.str = arena_strndup(lx->arena, (const char *)body, n);
    t.ival = offset(lx, body);
  } else {
    t.str = lex_decode(lx->arena, lx->d, (const char *)body, n, offset(lx, body), raw);
    if (!t.str) { /* lex_decode has reported */
      lx->failed = true;
      lx->cur = lx->lim;
      return make(lx, TK_EOF, lx->lim, lx->lim);
    }
  }
  lx->cur = end;
  return t;
}

/* ---- numbers -------------------------------------------------------------------------- */

static Token number(Lexer *lx, const unsigned char *tok, const unsigned char *end, bool is_float) {
  /* "1abc", "0x", "01", "1_": Python's "invalid decimal literal". */
  unsigned char next = *end;
  if ((next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') || next == '_' ||
      (next >= '0' && next <= '9'))
    return fail(lx, tok, "invalid number literal");
  char small[64], *buf = small;
  size_t n = (size_t)(end - tok);
  if (n >= sizeof small)
    buf = arena_alloc(lx->arena, n + 1);
  size_t k = 0;
  for (const unsigned char *p = tok; p < end; p++)
    if (*p != '_')
      buf[k++] = (char)*p;
  buf[k] = '\0';
  Token t = make(lx, is_float ? TK_FLOAT : TK_INT, tok, end);
  lx->cur = end;
  errno = 0;
  if (is_float) {
    t.fval = strtod(buf, NULL);
    if (errno == ERANGE && (t.fval > 1 || t.fval < -1))
      return fail(lx, tok, "float literal out of range");
    return t;
  }
  int radix = 10;
  const char *digits = buf;
  if (buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
    radix = 16, digits += 2;
  else if (buf[0] == '0' && (buf[1] == 'b' || buf[1] == 'B'))
    radix = 2, digits += 2;
  else if (buf[0] == '0' && (buf[1] == 'o' || buf[1] == 'O'))
    radix = 8, digits += 2;
  unsigned long long v = strtoull(digits, NULL, radix);
  if (errno == ERANGE || v > INT64_MAX)
    return fail(lx, tok, "integer literal too large for int64");
  t.ival = (int64_t)v;
  return t;
}

/* ---- layout --------------------------------------------------------------------------- */

/* At the start of a line: skip blank and comment-only lines, then compare the indentation
 * with the open levels. Returns INDENT or DEDENT, or 0 if the level is unchanged. */
static int indentation(Lexer *lx, Token *err) {
  const unsigned char *p;
  int col;
  for (;;) {
    p = lx->cur;
    col = 0;
    while (*p == ' ' || *p == '\f')
      col = *p++ == '\f' ? 0 : col + 1; /* a form feed resets the column, as in Python */
    if (*p == '\t') {
      *err = fail(lx, p, "tabs are not allowed for indentation; use spaces");
      return -1;
    }
    if (*p == '#') {
      while (*p != '\n' && *p != '\r' && *p != '\0') {
        int n = *p < 0x80 ? 1 : utf8_len(p, lx->lim);
        if (!n) {
          *err = fail(lx, p, "invalid UTF-8 in comment");
          return -1;
        }
        p += n;
      }
    }
    if (*p == '\n' || *p == '\r') {
      lx->cur = p + (p[0] == '\r' && p[1] == '\n' ? 2 : 1);
      continue;
    }
    break;
  }
  lx->cur = p;
  lx->at_bol = false;
  if (*p == '\0' && p == lx->lim)
    return 0; /* end of input: the EOF rule closes the levels */
  int top = lx->indents[lx->nindents];
  if (col > top) {
    if (lx->nindents == MAX_INDENTS) {
      *err = fail(lx, p, "expression or block nested too deeply");
      return -1;
    }
    lx->indents[++lx->nindents] = col;
    return TK_INDENT;
  }
  if (col == top)
    return 0;
  int n = 0;
  while (lx->nindents > 0 && lx->indents[lx->nindents] > col) {
    lx->nindents--;
    n++;
  }
  if (lx->indents[lx->nindents] != col) {
    *err = fail(lx, p, "unindent does not match any outer indentation level");
    return -1;
  }
  lx->pending_dedents = n - 1;
  return TK_DEDENT;
}

static const char *closer(char open) {
  return open == '(' ? ")" : open == '[' ? "]" : "}";
}

static Token open_bracket(Lexer *lx, int kind, const unsigned char *tok) {
  if (lx->nbrackets == MAX_BRACKETS)
    return fail(lx, tok, "expression or block nested too deeply");
  lx->brackets[lx->nbrackets] = (char)*tok;
  lx->bracket_off[lx->nbrackets++] = offset(lx, tok);
  return make(lx, kind, tok, tok + 1);
}

static Token close_bracket(Lexer *lx, int kind, const unsigned char *tok) {
  if (lx->nbrackets == 0)
    return fail(lx, tok, "unmatched '%c'", *tok);
  char open = lx->brackets[lx->nbrackets - 1];
  if (*closer(open) != (char)*tok) {
    Token t = fail(lx, tok, "closing '%c' does not match opening '%c'", *tok, open);
    diag_note(lx->d, lx->bracket_off[lx->nbrackets - 1], "'%c' opened here", open);
    return t;
  }
  lx->nbrackets--;
  return make(lx, kind, tok, tok + 1);
}

static Token end_of_input(Lexer *lx, const unsigned char *tok) {
  lx->cur = tok;
  if (lx->nbrackets > 0) {
    int i = lx->nbrackets - 1;
    const unsigned char *at = lx->base + lx->bracket_off[i];
    return fail(lx, at, "'%c' was never closed", lx->brackets[i]);
  }
  if (!lx->expr_mode && lx->line_has_tokens) {
    lx->line_has_tokens = false;
    return make(lx, TK_NEWLINE, tok, tok);
  }
  if (lx->nindents > 0) {
    lx->pending_dedents = lx->nindents - 1;
    lx->nindents = 0;
    return make(lx, TK_DEDENT, tok, tok);
  }
  return make(lx, TK_EOF, tok, tok);
}

static Token unsupported_keyword(Lexer *lx, const unsigned char *tok, const unsigned char *end) {
  return fail(lx, tok, "'%.*s' is not supported in .tt programs", (int)(end - tok),
              (const char *)tok);
}

/* ---- the scanner ---------------------------------------------------------------------- */

/*!re2c
  re2c:define:YYCTYPE = "unsigned char";
  re2c:define:YYCURSOR = p;
  re2c:define:YYMARKER = marker;
  re2c:yyfill:enable = 0;

  digits   = [0-9] ("_"? [0-9])*;
  exponent = [eE] [+-]? digits;
  ident    = [a-zA-Z_] [a-zA-Z0-9_]*;
  spfx     = [rRfFuU] | [rR][fF] | [fF][rR];
  bpfx     = [bB] | [bB][rR] | [rR][bB];
*/

static Token scan(Lexer *lx) {
  const unsigned char *p, *marker, *tok;
  (void)marker;
  for (;;) {
    tok = p = lx->cur;
    /*!re2c
      [ \t\f]+ { lx->cur = p; continue; }
      "#" [^\n\r\x00]* {
        for (const unsigned char *c = tok; c < p;) {
          int n = utf8_len(c, p);
          if (!n)
            return fail(lx, c, "invalid UTF-8 in comment");
          c += n;
        }
        lx->cur = p;
        continue;
      }
      "\\" ("\r\n" | "\n" | "\r") { lx->cur = p; continue; }
      "\\" "\x00" { return fail(lx, tok, "unexpected end of file after line continuation"); }
      "\\" { return fail(lx, tok, "unexpected character after line continuation character"); }
      "\r\n" | "\n" | "\r" {
        lx->cur = p;
        if (lx->nbrackets > 0 || lx->expr_mode)
          continue;
        lx->at_bol = true;
        lx->line_has_tokens = false;
        return make(lx, TK_NEWLINE, tok, tok);
      }
      "\x00" {
        if (tok == lx->lim)
          return end_of_input(lx, tok);
        return fail(lx, tok, "NUL byte in source");
      }

      "def"      { lx->cur = p; return make(lx, TK_DEF, tok, p); }
      "class"    { lx->cur = p; return make(lx, TK_CLASS, tok, p); }
      "return"   { lx->cur = p; return make(lx, TK_RETURN, tok, p); }
      "if"       { lx->cur = p; return make(lx, TK_IF, tok, p); }
      "elif"     { lx->cur = p; return make(lx, TK_ELIF, tok, p); }
      "else"     { lx->cur = p; return make(lx, TK_ELSE, tok, p); }
      "for"      { lx->cur = p; return make(lx, TK_FOR, tok, p); }
      "in"       { lx->cur = p; return make(lx, TK_IN, tok, p); }
      "while"    { lx->cur = p; return make(lx, TK_WHILE, tok, p); }
      "with"     { lx->cur = p; return make(lx, TK_WITH, tok, p); }
      "as"       { lx->cur = p; return make(lx, TK_AS, tok, p); }
      "pass"     { lx->cur = p; return make(lx, TK_PASS, tok, p); }
      "break"    { lx->cur = p; return make(lx, TK_BREAK, tok, p); }
      "continue" { lx->cur = p; return make(lx, TK_CONTINUE, tok, p); }
      "and"      { lx->cur = p; return make(lx, TK_AND, tok, p); }
      "or"       { lx->cur = p; return make(lx, TK_OR, tok, p); }
      "not"      { lx->cur = p; return make(lx, TK_NOT, tok, p); }
      "is"       { lx->cur = p; return make(lx, TK_IS, tok, p); }
      "None"     { lx->cur = p; return make(lx, TK_NONE, tok, p); }
      "True"     { lx->cur = p; return make(lx, TK_TRUE, tok, p); }
      "False"    { lx->cur = p; return make(lx, TK_FALSE, tok, p); }
      "import"   { lx->cur = p; return make(lx, TK_IMPORT, tok, p); }
      "from"     { lx->cur = p; return make(lx, TK_FROM, tok, p); }
      "assert"   { lx->cur = p; return make(lx, TK_ASSERT, tok, p); }
      "lambda"   { lx->cur = p; return make(lx, TK_LAMBDA, tok, p); }
      "yield" | "raise" | "try" | "except" | "finally" | "del" | "global"
        | "nonlocal" | "async" | "await" {
        return unsupported_keyword(lx, tok, p);
      }

      ident {
        Token t = make(lx, TK_NAME, tok, p);
        t.str = arena_strndup(lx->arena, (const char *)tok, (size_t)(p - tok));
        lx->cur = p;
        return t;
      }

      spfx? ["'] { return scan_string(lx, tok, p - 1); }
      bpfx ["'] { return fail(lx, tok, "bytes literals are not supported"); }

      "0" [xX] ("_"? [0-9a-fA-F])+ { return number(lx, tok, p, false); }
      "0" [bB] ("_"? [01])+        { return number(lx, tok, p, false); }
      "0" [oO] ("_"? [0-7])+       { return number(lx, tok, p, false); }
      [1-9] ("_"? [0-9])* | "0" ("_"? "0")* { return number(lx, tok, p, false); }
      digits "." digits? exponent? | "." digits exponent? | digits exponent {
        return number(lx, tok, p, true);
      }

      "(" { lx->cur = p; return open_bracket(lx, TK_LPAREN, tok); }
      "[" { lx->cur = p; return open_bracket(lx, TK_LBRACKET, tok); }
      "{" { lx->cur = p; return open_bracket(lx, TK_LBRACE, tok); }
      ")" { lx->cur = p; return close_bracket(lx, TK_RPAREN, tok); }
      "]" { lx->cur = p; return close_bracket(lx, TK_RBRACKET, tok); }
      "}" { lx->cur = p; return close_bracket(lx, TK_RBRACE, tok); }

      ","   { lx->cur = p; return make(lx, TK_COMMA, tok, p); }
      ":"   { lx->cur = p; return make(lx, TK_COLON, tok, p); }
      "."   { lx->cur = p; return make(lx, TK_DOT, tok, p); }
      ";"   { lx->cur = p; return make(lx, TK_SEMI, tok, p); }
      "..." { lx->cur = p; return make(lx, TK_ELLIPSIS, tok, p); }
      "->"  { lx->cur = p; return make(lx, TK_ARROW, tok, p); }
      "+"   { lx->cur = p; return make(lx, TK_PLUS, tok, p); }
      "-"   { lx->cur = p; return make(lx, TK_MINUS, tok, p); }
      "*"   { lx->cur = p; return make(lx, TK_STAR, tok, p); }
      "/"   { lx->cur = p; return make(lx, TK_SLASH, tok, p); }
      "//"  { lx->cur = p; return make(lx, TK_DSLASH, tok, p); }
      "%"   { lx->cur = p; return make(lx, TK_PERCENT, tok, p); }
      "**"  { lx->cur = p; return make(lx, TK_POW, tok, p); }
      "@"   {
        lx->cur = p;
        if (!lx->line_has_tokens && !lx->expr_mode)
          return make(lx, TK_DECOR, tok, p); /* @ starting a line: a decorator */
        return make(lx, TK_AT, tok, p);
      }
      "="   { lx->cur = p; return make(lx, TK_ASSIGN, tok, p); }
      "+="  { lx->cur = p; return make(lx, TK_PLUSEQ, tok, p); }
      "-="  { lx->cur = p; return make(lx, TK_MINUSEQ, tok, p); }
      "*="  { lx->cur = p; return make(lx, TK_STAREQ, tok, p); }
      "/="  { lx->cur = p; return make(lx, TK_SLASHEQ, tok, p); }
      "//=" { lx->cur = p; return make(lx, TK_DSLASHEQ, tok, p); }
      "%="  { lx->cur = p; return make(lx, TK_PERCENTEQ, tok, p); }
      "**=" { lx->cur = p; return make(lx, TK_POWEQ, tok, p); }
      "@="  { lx->cur = p; return make(lx, TK_ATEQ, tok, p); }
      "=="  { lx->cur = p; return make(lx, TK_EQ, tok, p); }
      "!="  { lx->cur = p; return make(lx, TK_NE, tok, p); }
      "<"   { lx->cur = p; return make(lx, TK_LT, tok, p); }
      "<="  { lx->cur = p; return make(lx, TK_LE, tok, p); }
      ">"   { lx->cur = p; return make(lx, TK_GT, tok, p); }
      ">="  { lx->cur = p; return make(lx, TK_GE, tok, p); }

      "|" | "&" | "^" | "~" | "<<" | ">>" | "|=" | "&=" | "^=" | "<<=" | ">>=" {
        return fail(lx, tok, "bitwise operator '%.*s' is not supported", (int)(p - tok),
                    (const char *)tok);
      }
      ":=" { return fail(lx, tok, "assignment expressions (':=') are not supported"); }

      [\x80-\xff] {
        if (utf8_len(tok, lx->lim))
          return fail(lx, tok, "non-ASCII character outside a string or comment");
        return fail(lx, tok, "invalid UTF-8 byte 0x%02X", *tok);
      }
      * {
        if (*tok >= 0x20 && *tok < 0x7f)
          return fail(lx, tok, "invalid character '%c'", *tok);
        return fail(lx, tok, "invalid character 0x%02X", *tok);
      }
    */
  }
}

Token lex_next(Lexer *lx) {
  if (lx->failed)
    return make(lx, TK_EOF, lx->lim, lx->lim);
  if (lx->pending_dedents > 0) {
    lx->pending_dedents--;
    return make(lx, TK_DEDENT, lx->cur, lx->cur);
  }
  if (lx->at_bol) {
    Token err;
    int kind = indentation(lx, &err);
    if (kind < 0)
      return err;
    if (kind)
      return make(lx, kind, lx->cur, lx->cur);
  }
  Token t = scan(lx);
  if (t.kind != TK_NEWLINE && t.kind != TK_EOF && t.kind != TK_DEDENT)
    lx->line_has_tokens = true;
  return t;
}

/* Keep in sync with the tokens of parser.y: a token missing here fails to compile only if
 * it is misspelled, so the parser tests also check that every token has a name. */
const char *lex_token_name(int kind) {
  switch (kind) {
  case TK_EOF: return "end of file";
  case TK_NAME: return "NAME";
  case TK_INT: return "INT";
  case TK_FLOAT: return "FLOAT";
  case TK_STRING: return "STRING";
  case TK_FSTRING: return "FSTRING";
  case TK_NEWLINE: return "NEWLINE";
  case TK_INDENT: return "INDENT";
  case TK_DEDENT: return "DEDENT";
  case TK_EXPR_MODE: return "EXPR_MODE";
  case TK_DEF: return "'def'";
  case TK_CLASS: return "'class'";
  case TK_RETURN: return "'return'";
  case TK_IF: return "'if'";
  case TK_ELIF: return "'elif'";
  case TK_ELSE: return "'else'";
  case TK_FOR: return "'for'";
  case TK_IN: return "'in'";
  case TK_WHILE: return "'while'";
  case TK_WITH: return "'with'";
  case TK_AS: return "'as'";
  case TK_PASS: return "'pass'";
  case TK_BREAK: return "'break'";
  case TK_CONTINUE: return "'continue'";
  case TK_AND: return "'and'";
  case TK_OR: return "'or'";
  case TK_NOT: return "'not'";
  case TK_IS: return "'is'";
  case TK_NONE: return "'None'";
  case TK_TRUE: return "'True'";
  case TK_FALSE: return "'False'";
  case TK_IMPORT: return "'import'";
  case TK_FROM: return "'from'";
  case TK_ASSERT: return "'assert'";
  case TK_LPAREN: return "'('";
  case TK_RPAREN: return "')'";
  case TK_LBRACKET: return "'['";
  case TK_RBRACKET: return "']'";
  case TK_LBRACE: return "'{'";
  case TK_RBRACE: return "'}'";
  case TK_COMMA: return "','";
  case TK_COLON: return "':'";
  case TK_DOT: return "'.'";
  case TK_SEMI: return "';'";
  case TK_ELLIPSIS: return "'...'";
  case TK_ARROW: return "'->'";
  case TK_PLUS: return "'+'";
  case TK_MINUS: return "'-'";
  case TK_STAR: return "'*'";
  case TK_SLASH: return "'/'";
  case TK_DSLASH: return "'//'";
  case TK_PERCENT: return "'%'";
  case TK_POW: return "'**'";
  case TK_AT: return "'@'";
  case TK_DECOR: return "'@' (a decorator)";
  case TK_LAMBDA: return "'lambda'";
  case TK_ASSIGN: return "'='";
  case TK_PLUSEQ: return "'+='";
  case TK_MINUSEQ: return "'-='";
  case TK_STAREQ: return "'*='";
  case TK_SLASHEQ: return "'/='";
  case TK_DSLASHEQ: return "'//='";
  case TK_PERCENTEQ: return "'%='";
  case TK_POWEQ: return "'**='";
  case TK_ATEQ: return "'@='";
  case TK_EQ: return "'=='";
  case TK_NE: return "'!='";
  case TK_LT: return "'<'";
  case TK_LE: return "'<='";
  case TK_GT: return "'>'";
  case TK_GE: return "'>='";
  default: return "token";
  }
}
