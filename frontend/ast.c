/*
 * ast.c — AST constructors and the S-expression dump.
 *
 * Nodes live in the compilation's arena and are never freed one by one. Item lists grow
 * by doubling inside the arena: the abandoned arrays are garbage until the arena goes,
 * but a list of n items costs at most 2n slots in all, so building stays linear.
 *
 * The dump is the unit of the parser tests, so it is compact and stable: one top-level
 * statement per line, "_" for an absent child, floats in their shortest round-trip form.
 */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

Ast *ast_new(Arena *a, AstKind kind, int32_t off) {
  Ast *n = arena_alloc(a, sizeof *n);
  n->kind = kind;
  n->off = off;
  n->depth = 1;
  return n;
}

void ast_push(Arena *a, Ast *list, Ast *item) {
  int n = list->nitems;
  /* Capacity is implicit: the next power of two at or above nitems (minimum 4). */
  if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
    int cap = n == 0 ? 4 : 2 * n;
    Ast **items = arena_alloc(a, (size_t)cap * sizeof *items);
    if (n)
      memcpy(items, list->items, (size_t)n * sizeof *items);
    list->items = items;
  }
  list->items[list->nitems++] = item;
  if (item && item->depth + 1 > list->depth)
    list->depth = item->depth + 1;
}

/* Keep in sync with AstKind in frontend.h. */
const char *ast_kind_name(AstKind k) {
  static const char *const names[] = {
      [AST_INT] = "int",         [AST_FLOAT] = "float",
      [AST_STR] = "str",         [AST_BOOL] = "bool",
      [AST_NONE] = "none",       [AST_NAME] = "name",
      [AST_LIST] = "list",       [AST_TUPLE] = "tuple",
      [AST_ATTR] = "attr",       [AST_CALL] = "call",
      [AST_KWARG] = "kwarg",     [AST_INDEX] = "index",
      [AST_STARARG] = "stararg",
      [AST_SLICE] = "slice",     [AST_BINOP] = "binop",
      [AST_UNARY] = "unary",     [AST_COMPARE] = "compare",
      [AST_BOOLOP] = "boolop",   [AST_IFEXP] = "ifexp",
      [AST_ELLIPSIS] = "ellipsis", [AST_DICT] = "dict",
      [AST_COMP] = "comp",
      [AST_FSTRING] = "fstring", [AST_FORMAT] = "format",
      [AST_LAMBDA] = "lambda",   [AST_DICTCOMP] = "dictcomp",
      [AST_SET] = "set",         [AST_MODULE] = "module",
      [AST_EXPR] = "expr",       [AST_ASSIGN] = "assign",
      [AST_AUGASSIGN] = "augassign", [AST_RETURN] = "return",
      [AST_PASS] = "pass",       [AST_BREAK] = "break",
      [AST_CONTINUE] = "continue", [AST_IF] = "if",
      [AST_FOR] = "for",         [AST_WHILE] = "while",
      [AST_WITH] = "with",       [AST_DEF] = "def",
      [AST_CLASS] = "class",     [AST_BLOCK] = "block",
      [AST_IMPORT] = "import",   [AST_FROMIMPORT] = "fromimport",
      [AST_ASSERT] = "assert",
  };
  if ((unsigned)k < sizeof names / sizeof names[0] && names[k])
    return names[k];
  return "?";
}

/* ---- dump ---------------------------------------------------------------------------- */

static const char *op_name(const Ast *n) {
  static const char *const bin[] = {"+", "-", "*", "/", "//", "%", "**", "@"};
  static const char *const un[] = {"-", "+", "not"};
  static const char *const cmp[] = {"==", "!=", "<", "<=", ">", ">=", "is", "is-not", "in", "not-in"};
  static const char *const boolop[] = {"and", "or"};
  unsigned op = (unsigned)n->op;
  switch (n->kind) {
  case AST_BINOP:
  case AST_AUGASSIGN:
    return op < 8 ? bin[op] : "?";
  case AST_UNARY:
    return op < 3 ? un[op] : "?";
  case AST_COMPARE:
    return op < 10 ? cmp[op] : "?";
  case AST_BOOLOP:
    return op < 2 ? boolop[op] : "?";
  default:
    return "?";
  }
}

static void dump_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
    case '"': fputs("\\\"", f); break;
    case '\\': fputs("\\\\", f); break;
    case '\n': fputs("\\n", f); break;
    case '\t': fputs("\\t", f); break;
    case '\r': fputs("\\r", f); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        fprintf(f, "\\x%02x", *p);
      else
        fputc(*p, f);
    }
  }
  fputc('"', f);
}

/* The shortest %g form that reads back as the same double. */
static void dump_float(FILE *f, double v) {
  char buf[40];
  if (v == (double)(int64_t)v && v > -1e15 && v < 1e15) { /* 200, not 2e+02 */
    fprintf(f, "%.0f", v);
    return;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (strtod(buf, NULL) == v)
      break;
  }
  fputs(buf, f);
}

static void dump(FILE *f, const Ast *n);

static void dump_child(FILE *f, const Ast *n) {
  fputc(' ', f);
  if (n)
    dump(f, n);
  else
    fputc('_', f);
}

static void dump_items(FILE *f, const Ast *n) {
  for (int i = 0; i < n->nitems; i++)
    dump_child(f, n->items[i]);
}

static void dump(FILE *f, const Ast *n) {
  fprintf(f, "(%s", ast_kind_name(n->kind));
  switch (n->kind) {
  case AST_INT:
    fprintf(f, " %lld", (long long)n->ival);
    break;
  case AST_FLOAT:
    fputc(' ', f);
    dump_float(f, n->fval);
    break;
  case AST_STR:
    fputc(' ', f);
    dump_str(f, n->str);
    break;
  case AST_BOOL:
    fprintf(f, " %d", n->ival != 0);
    break;
  case AST_NAME:
    fprintf(f, " %s", n->str);
    break;
  case AST_ATTR:
    dump_child(f, n->a);
    fprintf(f, " %s", n->str);
    break;
  case AST_KWARG:
    fprintf(f, " %s", n->str);
    dump_child(f, n->a);
    break;
  case AST_STARARG:
    fprintf(f, " %s", n->ival == 2 ? "**" : "*");
    dump_child(f, n->a);
    break;
  case AST_CALL:
  case AST_INDEX:
    dump_child(f, n->a);
    if (n->kind == AST_INDEX)
      dump_child(f, n->b);
    else
      dump_items(f, n);
    break;
  case AST_BINOP:
  case AST_COMPARE:
  case AST_BOOLOP:
  case AST_AUGASSIGN:
    fprintf(f, " %s", op_name(n));
    dump_child(f, n->a);
    dump_child(f, n->b);
    break;
  case AST_UNARY:
    fprintf(f, " %s", op_name(n));
    dump_child(f, n->a);
    break;
  case AST_FORMAT:
    dump_child(f, n->a);
    if (n->ival)
      fprintf(f, " !%c", (char)n->ival);
    else
      fputs(" _", f);
    fputc(' ', f);
    if (n->str)
      dump_str(f, n->str);
    else
      fputc('_', f);
    break;
  case AST_DEF:
  case AST_LAMBDA: /* a lambda shows its body's expression, not the RETURN around it */
    if (n->kind == AST_DEF)
      fprintf(f, " %s", n->str);
    fputs(" (", f);
    for (int i = 0; i < n->nitems; i++) {
      if (i)
        fputc(' ', f);
      dump(f, n->items[i]);
    }
    fputc(')', f);
    dump_child(f, n->kind == AST_DEF ? n->c : n->c->a);
    break;
  case AST_DICTCOMP:
  case AST_SET:
    dump_child(f, n->a);
    break;
  case AST_MODULE:
    fprintf(f, " %s", n->str);
    break;
  case AST_CLASS:
    fprintf(f, " %s", n->str);
    dump_child(f, n->a);
    dump_child(f, n->c);
    break;
  case AST_IMPORT:
    fprintf(f, " %s", n->str);
    if (n->a)
      dump_child(f, n->a);
    break;
  case AST_FROMIMPORT:
    fprintf(f, " %s", n->str);
    for (int i = 0; i < n->nitems; i++) {
      const Ast *it = n->items[i];
      if (it->a)
        fprintf(f, " (%s %s)", it->str, it->a->str);
      else
        fprintf(f, " %s", it->str);
    }
    if (n->ival)
      fprintf(f, " *");
    break;
  case AST_FOR:
  case AST_IF:
  case AST_WITH:
  case AST_SLICE:
  case AST_IFEXP:
    /* IF drops an absent else so that the common case reads cleanly. */
    dump_child(f, n->a);
    dump_child(f, n->b);
    if (n->c || n->kind != AST_IF)
      dump_child(f, n->c);
    break;
  case AST_WHILE:
    dump_child(f, n->a);
    dump_child(f, n->c);
    break;
  case AST_COMP: /* the element, then the clauses */
    dump_child(f, n->a);
    dump_items(f, n);
    break;
  case AST_RETURN:
  case AST_EXPR:
  case AST_ASSERT:
  case AST_ASSIGN:
    if (n->a)
      dump_child(f, n->a);
    if (n->b)
      dump_child(f, n->b);
    break;
  default: /* LIST TUPLE DICT FSTRING BLOCK; NONE ELLIPSIS PASS BREAK CONTINUE have none */
    dump_items(f, n);
    break;
  }
  fputc(')', f);
}

void ast_dump(FILE *f, const Ast *n) {
  if (!n) {
    fputs("_\n", f);
    return;
  }
  if (n->kind != AST_BLOCK) {
    dump(f, n);
    fputc('\n', f);
    return;
  }
  for (int i = 0; i < n->nitems; i++) {
    dump(f, n->items[i]);
    fputc('\n', f);
  }
}
