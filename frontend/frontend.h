/*
 * frontend.h — from .tt source text to the IR program.
 *
 * Sections: diag.c (clang-style diagnostics), lexer.re (re2c tokenizer with INDENT and
 * DEDENT), parser.y (Lemon grammar building the AST), ast.c (AST constructors and the
 * debug dump), lower.c (evaluates the AST: host values at compile time, tensors traced
 * into graphs).
 */
#ifndef TT_FRONTEND_H
#define TT_FRONTEND_H

#include "../ir/ir.h"

/* ---- diag.c ----------------------------------------------------------------------- */

typedef struct Source {
  const char *name; /* file name as given */
  const char *text; /* NUL-terminated; may contain other NULs (binary input), see len */
  size_t len;
  /* A module imported by the program (imports.c) shares the compilation's one offset space:
   * its text is the program's text so far, a newline, then the module's own bytes, which
   * start at base; the lexer starts there. 0 for the main file. */
  int32_t base;
  const struct Source *next; /* the next imported file, in the order they were read */
} Source;

/* Read a whole file; NULL and a message on stderr if it cannot be read. */
Source *source_read(const char *path);
Source *source_from_string(const char *name, const char *text);
void source_free(Source *s);

typedef struct Diag {
  const Source *src;
  FILE *out; /* where diagnostics go (stderr) */
  int nerrors;
  const Source *imported; /* the imported files (a chain through next), or NULL: an offset
                             at or past one's base is reported in that file */
} Diag;

/*
 * Prints "file:line:col: error: message", the source line, and a caret under the column.
 * Line and column are computed here from the byte offset.
 */
void diag_error(Diag *d, int32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, int32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_verror(Diag *d, const char *kind, int32_t off, const char *fmt, va_list ap);

/* ---- ast.c ------------------------------------------------------------------------ */

typedef enum {
  /* expressions */
  AST_INT,     /* ival */
  AST_FLOAT,   /* fval */
  AST_STR,     /* str: the decoded value (escapes applied) */
  AST_BOOL,    /* ival: 0 or 1 (False, True) */
  AST_NONE,    /* None */
  AST_NAME,    /* str */
  AST_LIST,    /* items */
  AST_TUPLE,   /* items (also bare "a, b" in assignments, returns and for targets) */
  AST_ATTR,    /* a.str */
  AST_CALL,    /* a(items...): items are expressions or AST_KWARG */
  AST_KWARG,   /* str=a, inside a call's items */
  AST_STARARG, /* *a (ival 1) or **a (ival 2), inside a call's items: unpacked */
  AST_INDEX,   /* a[b]: b is an expression, AST_SLICE, or AST_TUPLE of them */
  AST_SLICE,   /* a:b:c, each may be NULL */
  AST_BINOP,   /* a op b; op is one of the BIN_* below */
  AST_UNARY,   /* op a; op: UN_NEG, UN_POS, UN_NOT */
  AST_COMPARE, /* a op b; op: CMP_*; chains a < b < c are nested ANDs of compares */
  AST_BOOLOP,  /* a and b / a or b; op: BOOL_AND, BOOL_OR */
  AST_IFEXP,   /* b if a else c */
  AST_ELLIPSIS, /* ... (in indexing) */
  AST_DICT,    /* {k: v, ...}: items alternate key, value */
  AST_COMP,    /* [a for ... in ... if ...] (and generator expressions, as lists): items are
                  the clauses, AST_FOR (a target, b iterable) and AST_IF (a condition) */
  AST_FSTRING, /* f"..": items are AST_STR pieces and AST_FORMAT fields, in order */
  AST_FORMAT,  /* {a!r:spec} inside an f-string: a the expression, str the spec or NULL,
                  ival the conversion ('r', 's', 'a') or 0 */
  AST_LAMBDA,  /* lambda items: body; items are NAME or KWARG (default value) params as in a
                  DEF, c the body as an AST_RETURN (a lambda is called as a def is), str
                  "<lambda>" */
  AST_DICTCOMP, /* {k: v for ... if ...}: a is an AST_COMP whose element is the TUPLE (k, v) */
  AST_SET,     /* {x, y} or {x for ...}: a is the AST_LIST of its items or an AST_COMP */
  AST_MODULE,  /* str: a Python module that ttc implements (copy, collections); the parser turns
                  `import copy` into `copy = (module copy)` and `from copy import deepcopy`
                  into `deepcopy = (module copy).deepcopy` */

  /* statements */
  AST_EXPR,      /* a as a statement */
  AST_ASSIGN,    /* a = b; a is a NAME, ATTR, INDEX or TUPLE of them */
  AST_AUGASSIGN, /* a op= b; op is a BIN_* */
  AST_RETURN,    /* return a (a may be NULL) */
  AST_PASS,      /* pass */
  AST_BREAK,     /* break */
  AST_CONTINUE,  /* continue */
  AST_IF,        /* if a: b else: c (c is a BLOCK, another IF for elif, or NULL) */
  AST_FOR,       /* for a in b: c */
  AST_WHILE,     /* while a: c */
  AST_WITH,      /* with a [as b]: c */
  AST_DEF,       /* def str(items): c; items are NAME or KWARG (default value) params; a: its
                    decorator expression or NULL */
  AST_CLASS,     /* class str(a): c; a is the base (may be NULL) */
  AST_BLOCK,     /* items: statements */
  AST_IMPORT,    /* import str [as a]: str the dotted module, a a NAME alias or NULL */
  AST_FROMIMPORT,/* from str import items: each item a NAME (str) whose a is an alias NAME or NULL */
  AST_ASSERT,    /* assert a[, b] */
} AstKind;

enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_FLOORDIV, BIN_MOD, BIN_POW, BIN_MATMUL };
enum { UN_NEG, UN_POS, UN_NOT };
enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE, CMP_IS, CMP_ISNOT, CMP_IN, CMP_NOTIN };
enum { BOOL_AND, BOOL_OR };

typedef struct Ast Ast;
struct Ast {
  AstKind kind;
  int op;      /* BIN_*, UN_*, CMP_*, BOOL_* */
  int32_t off; /* byte offset of the construct's first (or operator) token */
  int64_t ival;
  double fval;
  const char *str;
  Ast *a, *b, *c;
  Ast **items;
  int nitems;
  int depth; /* 1 + the deepest child (set by ast_new/ast_push and the parser): the parser
                rejects expressions nested deeper than later recursive stages can take */
};

Ast *ast_new(Arena *a, AstKind kind, int32_t off);
void ast_push(Arena *a, Ast *list, Ast *item); /* append to list->items */
const char *ast_kind_name(AstKind k);
/* S-expression dump, one line per statement; the unit of the parser tests. */
void ast_dump(FILE *f, const Ast *n);

/* ---- lexer.re --------------------------------------------------------------------- */

/* Token kinds are Lemon's (TK_* in the generated parser.h). TK_EOF is 0. */
#define TK_EOF 0 /* Lemon's end of input; parser.h numbers the other tokens from 1 */
typedef struct Token {
  int kind;
  int32_t off; /* byte offset of the first character */
  int32_t len;
  int64_t ival;      /* TK_INT */
  double fval;       /* TK_FLOAT */
  const char *str;   /* TK_NAME, TK_STRING: arena copy (decoded for strings) */
} Token;

typedef struct Lexer Lexer;
/* Allocated in arena; diagnostics (bad character, bad indentation, unterminated string)
 * go to d and make lex_next return TK_EOF with d->nerrors > 0. */
Lexer *lex_new(const Source *src, Arena *a, Diag *d);
Token lex_next(Lexer *lx);
const char *lex_token_name(int kind); /* "'('", "NAME", "INDENT" for messages */

/* For the parser's f-strings: a lexer over src->text[start, end) that reads one expression
 * (no NEWLINE, INDENT or DEDENT; offsets stay those of the whole file, so diagnostics point
 * inside the f-string), and the string-escape decoder. lex_decode returns an arena copy of
 * text[0, n) with escapes applied (raw: only CRLF folded), or NULL after a diagnostic at
 * off + the offending byte. */
Lexer *lex_new_range(const Source *src, Arena *a, Diag *d, int32_t start, int32_t end);
char *lex_decode(Arena *a, Diag *d, const char *text, size_t n, int32_t off, bool raw);

/* ---- parser.y --------------------------------------------------------------------- */

/* Parses a whole file into an AST_BLOCK; NULL after a diagnostic. */
Ast *parse_program(const Source *src, Arena *a, Diag *d);

/* ---- lower.c ---------------------------------------------------------------------- */

/* Evaluates the program: NULL after a diagnostic. */
Program *lower_program(const Source *src, const Ast *root, Diag *d);

/* The whole front end: read, parse, lower. NULL after a diagnostic. */
Program *frontend_compile(const Source *src, Diag *d);

#endif
