/*
 * parser.y — the .tt grammar (Lemon; compiled to gen/parser.c and gen/parser.h).
 *
 * Python's statement and expression grammar, restricted to what a model or training script
 * uses. Every action is one call into a p_* helper at the end of this file, which builds
 * AST nodes in the arena (SQLite's parse.y style). Expressions use layered nonterminals
 * where Python's grammar needs them (test > or > and > not > comparison) and Lemon
 * precedence for the arithmetic below comparisons.
 *
 * parse_program() pulls tokens from the lexer and pushes them into the parser in a plain
 * loop, stopping at the first diagnostic. %syntax_error names what was expected, computed
 * by replaying the parser tables for each terminal; %stack_overflow and a cap on the AST's
 * expression depth turn absurd nesting into an error instead of a crash in a later stage.
 *
 * f-strings: the lexer hands over the raw body; p_fstring splits it into literal pieces
 * and {fields} and parses each field's expression with a second parser (started with the
 * EXPR_MODE token) over a lexer on just that byte range, so offsets stay file offsets.
 */

%name lemon_parse
%token_prefix TK_
%token_type {Token}
%default_type {Ast *}
%extra_context {Parser *p}
%start_symbol program
/* Deep enough for 100 indentation levels and long operator chains; deeper input is
 * refused by %stack_overflow (the lexer caps brackets at 200, the parser the AST depth). */
%stack_size 2000

/* The token order, fixed here so that TK_* values do not move when rules are edited. */
%token NAME INT FLOAT STRING FSTRING NEWLINE INDENT DEDENT EXPR_MODE.
%token DEF CLASS RETURN IF ELIF ELSE FOR IN WHILE WITH AS PASS BREAK CONTINUE.
%token AND OR NOT IS NONE TRUE FALSE IMPORT FROM ASSERT.
%token LPAREN RPAREN LBRACKET RBRACKET LBRACE RBRACE COMMA COLON DOT SEMI ELLIPSIS ARROW.
%token PLUS MINUS STAR SLASH DSLASH PERCENT POW AT.
%token ASSIGN PLUSEQ MINUSEQ STAREQ SLASHEQ DSLASHEQ PERCENTEQ POWEQ ATEQ.
%token EQ NE LT LE GT GE.
%token DECOR.
%token LAMBDA.

/* Arithmetic precedence, loosest first (comparisons and boolean operators are layered
 * nonterminals below). UMINUS sits under POW so that -x**2 is -(x**2), as in Python. */
%left PLUS MINUS.
%left STAR SLASH DSLASH PERCENT AT.
%right UMINUS.
%right POW.

%include {
#include "frontend.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The parser context (%extra_context): one per parse, none global. */
typedef struct Parser {
  const Source *src;
  Arena *arena;
  Diag *d;
  Ast *result;   /* the program BLOCK, or the expression in EXPR_MODE */
  bool failed;   /* a diagnostic was printed: stop feeding tokens */
  Token tok;     /* the token being pushed, for %stack_overflow's position */
  int fdepth;    /* f-string nesting, since each level is a recursive parse */
  int nbrackets; /* open brackets among the pushed tokens, for "to match this '('" */
  char brackets[256];
  int32_t bracket_off[256];
} Parser;

typedef struct IfChain { /* if ... elif ...: the head and the IF whose else is still open */
  Ast *head, *tail;
} IfChain;

typedef struct CmpChain { /* a < b < c: the ANDed compares so far, and the last operand */
  Ast *result, *last;
} CmpChain;

struct yyParser;
static void p_syntax_error(struct yyParser *yp, int major, Token t);
static void p_overflow(Parser *p);

static Ast *p_leaf(Parser *p, AstKind k, Token t);
static Ast *p_node(Parser *p, AstKind k, int32_t off, Ast *a, Ast *b, Ast *c);
static Ast *p_list(Parser *p, AstKind k, int32_t off, Ast *first);
static Ast *p_push(Parser *p, Ast *list, Ast *item);
static Ast *p_reject(Parser *p, Token t, const char *msg);
static Token p_op(Token t, int op);

static Ast *p_binop(Parser *p, Token t, Ast *a, Ast *b);
static Ast *p_unary(Parser *p, Token t, int op, Ast *a);
static Ast *p_boolop(Parser *p, Token t, int op, Ast *a, Ast *b);
static CmpChain p_cmp_start(Ast *e);
static CmpChain p_cmp_add(Parser *p, CmpChain c, Token t, Ast *e);
static Ast *p_ifexp(Parser *p, Token t, Ast *cond, Ast *then, Ast *els);
static Ast *p_call(Parser *p, Token t, Ast *fn, Ast *args);
static Ast *p_kwarg(Parser *p, Token name, Ast *value);
static Ast *p_attr(Parser *p, Token t, Ast *obj, Token name);
static Ast *p_index(Parser *p, Token t, Ast *obj, Ast *sub);
static Ast *p_slice(Parser *p, Token t, Ast *lo, Ast *hi, Ast *step);
static Ast *p_paren(Parser *p, Token t, Ast *inner);
static Ast *p_comp(Parser *p, int32_t off, Ast *elem, Ast *clauses);
static Ast *p_comp_for(Parser *p, Ast *clauses, Token t, Ast *target, Ast *iter);
static Ast *p_comp_if(Parser *p, Ast *clauses, Token t, Ast *cond);
static Ast *p_bracketed(Parser *p, Token t, Ast *list);
static Ast *p_dict(Parser *p, Ast *dict, Ast *k, Ast *v);
static Ast *p_str(Parser *p, Token t);
static Ast *p_fstring(Parser *p, Token t);
static Ast *p_concat(Parser *p, Ast *a, Ast *b);
static Ast *p_lambda(Parser *p, Token t, Ast *params, Ast *body);
static Ast *p_set(Parser *p, Token t, Ast *inner);
static Ast *p_dictcomp(Parser *p, Token t, Ast *k, Ast *v, Ast *clauses);

static Ast *p_expr_stmt(Parser *p, Ast *e);
static Ast *p_targets(Parser *p, Ast *list, Ast *target, Token eq);
static Ast *p_assign(Parser *p, Ast *targets, Ast *value);
static Ast *p_annassign(Parser *p, Ast *target, Ast *value);
static Ast *p_augassign(Parser *p, Ast *target, Token t, Ast *value);
static Ast *p_return(Parser *p, Token t, Ast *value);
static Ast *p_import(Parser *p, Token t, Token module, Ast *alias);
static Ast *p_fromstar(Parser *p, Token t, Token module, Token star);
static Ast *p_fromimport(Parser *p, Token t, Token module, Ast *names);
static Ast *p_import_name(Parser *p, Token name, Ast *alias);
static Token p_dotted(Parser *p, Token a, Token b);
static Ast *p_assert(Parser *p, Token t, Ast *cond, Ast *msg);
static Ast *p_seq(Parser *p, Ast *a, Ast *b);
static Ast *p_as_block(Parser *p, Ast *s);
static Ast *p_block_add(Parser *p, Ast *block, Ast *s);
static IfChain p_if(Parser *p, Token t, Ast *cond, Ast *body);
static IfChain p_elif(Parser *p, IfChain c, Token t, Ast *cond, Ast *body);
static Ast *p_if_else(Parser *p, IfChain c, Ast *body);
static Ast *p_for(Parser *p, Token t, Ast *target, Ast *iter, Ast *body);
static Ast *p_while(Parser *p, Token t, Ast *cond, Ast *body);
static Ast *p_with(Parser *p, Token t, Ast *e, Ast *target, Ast *body);
static Ast *p_def(Parser *p, Token t, Token name, Ast *params, Ast *body);
static Ast *p_decorate(Parser *p, Token t, Ast *dec, Ast *def);
static Ast *p_param(Parser *p, Token name, Ast *dflt);
static Ast *p_class(Parser *p, Token t, Token name, Ast *base, Ast *body);
}

%syntax_error { p_syntax_error(yypParser, yymajor, TOKEN); }
%stack_overflow { p_overflow(p); }

/* ==== program ========================================================================= */

program ::= file_input.
program ::= EXPR_MODE testlist(A).                    { p->result = A; }

file_input ::= .                                      { p->result = p_block_add(p, NULL, NULL); }
file_input ::= stmts(A).                              { p->result = A; }

stmts(A) ::= stmt(B).                                 { A = p_block_add(p, NULL, B); }
stmts(A) ::= stmts(B) stmt(C).                        { A = p_block_add(p, B, C); }

stmt(A) ::= simple_stmts(A) NEWLINE.
stmt(A) ::= simple_stmts(A) SEMI NEWLINE.
stmt(A) ::= compound_stmt(A).

/* a; b; c on one line: a single statement, or a BLOCK fragment that stmts flattens */
simple_stmts(A) ::= small_stmt(A).
simple_stmts(A) ::= simple_stmts(B) SEMI small_stmt(C). { A = p_seq(p, B, C); }

/* the body after a ':' — on the same line, or an indented block */
suite(A) ::= simple_stmts(B) NEWLINE.                 { A = p_as_block(p, B); }
suite(A) ::= simple_stmts(B) SEMI NEWLINE.            { A = p_as_block(p, B); }
suite(A) ::= NEWLINE INDENT stmts(B) DEDENT.                 { A = B; }

/* ==== simple statements =============================================================== */

small_stmt(A) ::= testlist(B).                        { A = p_expr_stmt(p, B); }
small_stmt(A) ::= assign_lhs(B) testlist(C).          { A = p_assign(p, B, C); }
small_stmt(A) ::= testlist(B) augop(T) testlist(C).   { A = p_augassign(p, B, T, C); }
/* x: int = 3 assigns as x = 3 does; x: int alone binds nothing (a @dataclass field) */
small_stmt(A) ::= testlist(B) COLON test ASSIGN testlist(C). { A = p_annassign(p, B, C); }
small_stmt(A) ::= testlist(B) COLON test.             { A = p_annassign(p, B, NULL); }
small_stmt(A) ::= PASS(T).                            { A = p_leaf(p, AST_PASS, T); }
small_stmt(A) ::= BREAK(T).                           { A = p_leaf(p, AST_BREAK, T); }
small_stmt(A) ::= CONTINUE(T).                        { A = p_leaf(p, AST_CONTINUE, T); }
small_stmt(A) ::= RETURN(T).                          { A = p_return(p, T, NULL); }
small_stmt(A) ::= RETURN(T) testlist(B).              { A = p_return(p, T, B); }
small_stmt(A) ::= ASSERT(T) test(B).                  { A = p_assert(p, T, B, NULL); }
small_stmt(A) ::= ASSERT(T) test(B) COMMA test(C).    { A = p_assert(p, T, B, C); }

/* t1 = t2 = value: the targets in order */
assign_lhs(A) ::= testlist(B) ASSIGN(T).              { A = p_targets(p, NULL, B, T); }
assign_lhs(A) ::= assign_lhs(B) testlist(C) ASSIGN(T). { A = p_targets(p, B, C, T); }

%type augop {Token}
augop(A) ::= PLUSEQ(T).                               { A = p_op(T, BIN_ADD); }
augop(A) ::= MINUSEQ(T).                              { A = p_op(T, BIN_SUB); }
augop(A) ::= STAREQ(T).                               { A = p_op(T, BIN_MUL); }
augop(A) ::= SLASHEQ(T).                              { A = p_op(T, BIN_DIV); }
augop(A) ::= DSLASHEQ(T).                             { A = p_op(T, BIN_FLOORDIV); }
augop(A) ::= PERCENTEQ(T).                            { A = p_op(T, BIN_MOD); }
augop(A) ::= POWEQ(T).                                { A = p_op(T, BIN_POW); }
augop(A) ::= ATEQ(T).                                 { A = p_op(T, BIN_MATMUL); }

/* ---- imports ------------------------------------------------------------------------ */

small_stmt(A) ::= IMPORT(T) dotted_name(M).           { A = p_import(p, T, M, NULL); }
small_stmt(A) ::= IMPORT(T) dotted_name(M) AS NAME(N). { A = p_import(p, T, M, p_leaf(p, AST_NAME, N)); }
small_stmt(A) ::= FROM(T) dotted_name(M) IMPORT import_names(L).
                                                      { A = p_fromimport(p, T, M, L); }
small_stmt(A) ::= FROM(T) dotted_name(M) IMPORT LPAREN import_names(L) RPAREN.
                                                      { A = p_fromimport(p, T, M, L); }
small_stmt(A) ::= FROM(T) dotted_name(M) IMPORT LPAREN import_names(L) COMMA RPAREN.
                                                      { A = p_fromimport(p, T, M, L); }
small_stmt(A) ::= FROM(T) dotted_name(M) IMPORT STAR(S). { A = p_fromstar(p, T, M, S); }

%type dotted_name {Token}
dotted_name(A) ::= NAME(A).
dotted_name(A) ::= dotted_name(B) DOT NAME(C).        { A = p_dotted(p, B, C); }

import_names(A) ::= import_name(B).                   { A = p_list(p, AST_TUPLE, B->off, B); }
import_names(A) ::= import_names(B) COMMA import_name(C). { A = p_push(p, B, C); }

import_name(A) ::= NAME(N).                           { A = p_import_name(p, N, NULL); }
import_name(A) ::= NAME(N) AS NAME(M).                { A = p_import_name(p, N, p_leaf(p, AST_NAME, M)); }

/* ==== compound statements ============================================================= */

%type if_chain {IfChain}
compound_stmt(A) ::= if_chain(B).                     { A = B.head; }
compound_stmt(A) ::= if_chain(B) ELSE COLON suite(C). { A = p_if_else(p, B, C); }
if_chain(A) ::= IF(T) test(B) COLON suite(C).         { A = p_if(p, T, B, C); }
if_chain(A) ::= if_chain(B) ELIF(T) test(C) COLON suite(D). { A = p_elif(p, B, T, C, D); }

compound_stmt(A) ::= FOR(T) exprlist(B) IN testlist(C) COLON suite(D).
                                                      { A = p_for(p, T, B, C, D); }
compound_stmt(A) ::= FOR exprlist IN testlist COLON suite ELSE(T) COLON suite.
                                                      { A = p_reject(p, T, "'for ... else' is not supported"); }
compound_stmt(A) ::= WHILE(T) test(B) COLON suite(C). { A = p_while(p, T, B, C); }
compound_stmt(A) ::= WHILE test COLON suite ELSE(T) COLON suite.
                                                      { A = p_reject(p, T, "'while ... else' is not supported"); }
compound_stmt(A) ::= WITH(T) test(B) COLON suite(C).  { A = p_with(p, T, B, NULL, C); }
compound_stmt(A) ::= WITH(T) test(B) AS expr(C) COLON suite(D). { A = p_with(p, T, B, C, D); }

/* ---- def and class ------------------------------------------------------------------ */

compound_stmt(A) ::= DEF(T) NAME(N) LPAREN params(B) RPAREN return_annot COLON suite(C).
                                                      { A = p_def(p, T, N, B, C); }
/* @decorator on its own line before a def or class; lowering knows @torch.no_grad() and
   @dataclass */
compound_stmt(A) ::= DECOR(T) test(D) NEWLINE compound_stmt(B). { A = p_decorate(p, T, D, B); }
compound_stmt(A) ::= CLASS(T) NAME(N) COLON suite(C). { A = p_class(p, T, N, NULL, C); }
compound_stmt(A) ::= CLASS(T) NAME(N) LPAREN RPAREN COLON suite(C). { A = p_class(p, T, N, NULL, C); }
compound_stmt(A) ::= CLASS(T) NAME(N) LPAREN test(B) RPAREN COLON suite(C).
                                                      { A = p_class(p, T, N, B, C); }

params(A) ::= .                                       { A = p_list(p, AST_TUPLE, 0, NULL); }
params(A) ::= param_list(A).
params(A) ::= param_list(A) COMMA.
param_list(A) ::= param(B).                           { A = p_list(p, AST_TUPLE, B->off, B); }
param_list(A) ::= param_list(B) COMMA param(C).       { A = p_push(p, B, C); }

/* annotations (x: Tensor, -> Tensor) are accepted and ignored, as Python ignores them */
param(A) ::= NAME(N) annot.                           { A = p_param(p, N, NULL); }
param(A) ::= NAME(N) annot ASSIGN test(B).            { A = p_param(p, N, B); }
param(A) ::= STAR(T) NAME.                            { A = p_reject(p, T, "'*args' parameters are not supported"); }
param(A) ::= STAR(T).                                 { A = p_reject(p, T, "keyword-only parameters ('*') are not supported"); }
param(A) ::= POW(T) NAME.                             { A = p_reject(p, T, "'**kwargs' parameters are not supported"); }
annot ::= .
annot ::= COLON test.
return_annot ::= .
return_annot ::= ARROW test.

/* ==== expressions ===================================================================== */

/* a, b, c — a TUPLE as soon as there is a comma */
testlist(A) ::= test(A).
testlist(A) ::= test_head(A).
testlist(A) ::= test_head(B) test(C).                 { A = p_push(p, B, C); }
test_head(A) ::= test(B) COMMA.                       { A = p_list(p, AST_TUPLE, B->off, B); }
test_head(A) ::= test_head(B) test(C) COMMA.          { A = p_push(p, B, C); }

/* for targets: like testlist, but without comparisons, so that 'in' ends them */
exprlist(A) ::= expr(A).
exprlist(A) ::= expr_head(A).
exprlist(A) ::= expr_head(B) expr(C).                 { A = p_push(p, B, C); }
expr_head(A) ::= expr(B) COMMA.                       { A = p_list(p, AST_TUPLE, B->off, B); }
expr_head(A) ::= expr_head(B) expr(C) COMMA.          { A = p_push(p, B, C); }

/* ---- boolean and comparison layers -------------------------------------------------- */

test(A) ::= or_test(A).
test(A) ::= or_test(B) IF(T) or_test(C) ELSE test(D). { A = p_ifexp(p, T, C, B, D); }

/* lambda x, y=1: body — parameters take defaults but not annotations (':' ends them) */
test(A) ::= LAMBDA(T) COLON test(B).                  { A = p_lambda(p, T, NULL, B); }
test(A) ::= LAMBDA(T) lparams(P) COLON test(B).       { A = p_lambda(p, T, P, B); }
lparams(A) ::= lparam_list(A).
lparams(A) ::= lparam_list(A) COMMA.
lparam_list(A) ::= lparam(B).                         { A = p_list(p, AST_TUPLE, B->off, B); }
lparam_list(A) ::= lparam_list(B) COMMA lparam(C).    { A = p_push(p, B, C); }
lparam(A) ::= NAME(N).                                { A = p_param(p, N, NULL); }
lparam(A) ::= NAME(N) ASSIGN test(B).                 { A = p_param(p, N, B); }
lparam(A) ::= STAR(T) NAME.                           { A = p_reject(p, T, "'*args' parameters are not supported"); }
lparam(A) ::= STAR(T).                                { A = p_reject(p, T, "keyword-only parameters ('*') are not supported"); }
lparam(A) ::= POW(T) NAME.                            { A = p_reject(p, T, "'**kwargs' parameters are not supported"); }

or_test(A) ::= and_test(A).
or_test(A) ::= or_test(B) OR(T) and_test(C).          { A = p_boolop(p, T, BOOL_OR, B, C); }
and_test(A) ::= not_test(A).
and_test(A) ::= and_test(B) AND(T) not_test(C).       { A = p_boolop(p, T, BOOL_AND, B, C); }
not_test(A) ::= comparison(B).                        { A = B.result; }
not_test(A) ::= NOT(T) not_test(B).                   { A = p_unary(p, T, UN_NOT, B); }

%type comparison {CmpChain}
comparison(A) ::= expr(B).                            { A = p_cmp_start(B); }
comparison(A) ::= comparison(B) compop(T) expr(C).    { A = p_cmp_add(p, B, T, C); }

%type compop {Token}
compop(A) ::= EQ(T).                                  { A = p_op(T, CMP_EQ); }
compop(A) ::= NE(T).                                  { A = p_op(T, CMP_NE); }
compop(A) ::= LT(T).                                  { A = p_op(T, CMP_LT); }
compop(A) ::= LE(T).                                  { A = p_op(T, CMP_LE); }
compop(A) ::= GT(T).                                  { A = p_op(T, CMP_GT); }
compop(A) ::= GE(T).                                  { A = p_op(T, CMP_GE); }
compop(A) ::= IS(T).                                  { A = p_op(T, CMP_IS); }
compop(A) ::= IS(T) NOT.                              { A = p_op(T, CMP_ISNOT); }
compop(A) ::= IN(T).                                  { A = p_op(T, CMP_IN); }
compop(A) ::= NOT(T) IN.                              { A = p_op(T, CMP_NOTIN); }

/* ---- arithmetic (precedence above) -------------------------------------------------- */

expr(A) ::= expr(B) PLUS(T) expr(C).                  { A = p_binop(p, p_op(T, BIN_ADD), B, C); }
expr(A) ::= expr(B) MINUS(T) expr(C).                 { A = p_binop(p, p_op(T, BIN_SUB), B, C); }
expr(A) ::= expr(B) STAR(T) expr(C).                  { A = p_binop(p, p_op(T, BIN_MUL), B, C); }
expr(A) ::= expr(B) SLASH(T) expr(C).                 { A = p_binop(p, p_op(T, BIN_DIV), B, C); }
expr(A) ::= expr(B) DSLASH(T) expr(C).                { A = p_binop(p, p_op(T, BIN_FLOORDIV), B, C); }
expr(A) ::= expr(B) PERCENT(T) expr(C).               { A = p_binop(p, p_op(T, BIN_MOD), B, C); }
expr(A) ::= expr(B) AT(T) expr(C).                    { A = p_binop(p, p_op(T, BIN_MATMUL), B, C); }
expr(A) ::= expr(B) POW(T) expr(C).                   { A = p_binop(p, p_op(T, BIN_POW), B, C); }
expr(A) ::= MINUS(T) expr(B). [UMINUS]                { A = p_unary(p, T, UN_NEG, B); }
expr(A) ::= PLUS(T) expr(B). [UMINUS]                 { A = p_unary(p, T, UN_POS, B); }
expr(A) ::= primary(A).

/* ---- calls, attributes, subscripts -------------------------------------------------- */

primary(A) ::= atom(A).
primary(A) ::= primary(B) LPAREN(T) args(C) RPAREN.   { A = p_call(p, T, B, C); }
primary(A) ::= primary(B) DOT(T) NAME(N).             { A = p_attr(p, T, B, N); }
primary(A) ::= primary(B) LBRACKET(T) subscripts(C) RBRACKET. { A = p_index(p, T, B, C); }

args(A) ::= .                                         { A = p_list(p, AST_TUPLE, 0, NULL); }
args(A) ::= arglist(A).
args(A) ::= arglist(A) COMMA.
arglist(A) ::= arg(B).                                { A = p_list(p, AST_TUPLE, B->off, B); }
arglist(A) ::= arglist(B) COMMA arg(C).               { A = p_push(p, B, C); }
arg(A) ::= test(A).
arg(A) ::= NAME(N) ASSIGN test(B).                    { A = p_kwarg(p, N, B); }
arg(A) ::= test(E) comp_for(F).                       { A = p_comp(p, E->off, E, F); }
arg(A) ::= STAR(T) test(B).                           { A = p_node(p, AST_STARARG, T.off, B, NULL, NULL); A->ival = 1; }
arg(A) ::= POW(T) test(B).                            { A = p_node(p, AST_STARARG, T.off, B, NULL, NULL); A->ival = 2; }

/* x[i], x[a:b:c], x[:, 0], x[..., None] */
subscripts(A) ::= subscript(A).
subscripts(A) ::= sub_head(A).
subscripts(A) ::= sub_head(B) subscript(C).           { A = p_push(p, B, C); }
sub_head(A) ::= subscript(B) COMMA.                   { A = p_list(p, AST_TUPLE, B->off, B); }
sub_head(A) ::= sub_head(B) subscript(C) COMMA.       { A = p_push(p, B, C); }
subscript(A) ::= test(A).
subscript(A) ::= opt_test(B) COLON(T) opt_test(C).    { A = p_slice(p, T, B, C, NULL); }
subscript(A) ::= opt_test(B) COLON(T) opt_test(C) COLON opt_test(D). { A = p_slice(p, T, B, C, D); }
opt_test(A) ::= .                                     { A = NULL; }
opt_test(A) ::= test(A).

/* ---- atoms -------------------------------------------------------------------------- */

atom(A) ::= NAME(T).                                  { A = p_leaf(p, AST_NAME, T); }
atom(A) ::= INT(T).                                   { A = p_leaf(p, AST_INT, T); }
atom(A) ::= FLOAT(T).                                 { A = p_leaf(p, AST_FLOAT, T); }
atom(A) ::= NONE(T).                                  { A = p_leaf(p, AST_NONE, T); }
atom(A) ::= TRUE(T).                                  { A = p_leaf(p, AST_BOOL, T); }
atom(A) ::= FALSE(T).                                 { A = p_leaf(p, AST_BOOL, T); }
atom(A) ::= ELLIPSIS(T).                              { A = p_leaf(p, AST_ELLIPSIS, T); }
atom(A) ::= strings(A).

/* (), (x), (a,), (a, b) */
atom(A) ::= LPAREN(T) RPAREN.                         { A = p_paren(p, T, NULL); }
atom(A) ::= LPAREN(T) testlist(B) RPAREN.             { A = p_paren(p, T, B); }
atom(A) ::= LPAREN(T) test(E) comp_for(F) RPAREN.     { A = p_comp(p, T.off, E, F); }

/* [a, b] */
atom(A) ::= LBRACKET(T) RBRACKET.                     { A = p_bracketed(p, T, p_list(p, AST_LIST, T.off, NULL)); }
atom(A) ::= LBRACKET(T) list_items(B) RBRACKET.       { A = p_bracketed(p, T, B); }
atom(A) ::= LBRACKET(T) list_items(B) COMMA RBRACKET. { A = p_bracketed(p, T, B); }
atom(A) ::= LBRACKET(T) test(E) comp_for(F) RBRACKET. { A = p_comp(p, T.off, E, F); }

/* comprehensions: [e for t in it if c ...]; generator expressions evaluate to lists */
comp_for(A) ::= FOR(T) exprlist(B) IN or_test(C).     { A = p_comp_for(p, NULL, T, B, C); }
comp_for(A) ::= comp_for(B) FOR(T) exprlist(C) IN or_test(D). { A = p_comp_for(p, B, T, C, D); }
comp_for(A) ::= comp_for(B) IF(T) or_test(C).         { A = p_comp_if(p, B, T, C); }
list_items(A) ::= test(B).                            { A = p_list(p, AST_LIST, B->off, B); }
list_items(A) ::= list_items(B) COMMA test(C).        { A = p_push(p, B, C); }

/* {k: v}, {k: v for ...}; sets {a, b}, {e for ...} ({} is a dict) */
atom(A) ::= LBRACE(T) RBRACE.                         { A = p_bracketed(p, T, p_list(p, AST_DICT, T.off, NULL)); }
atom(A) ::= LBRACE(T) dict_items(B) RBRACE.           { A = p_bracketed(p, T, B); }
atom(A) ::= LBRACE(T) dict_items(B) COMMA RBRACE.     { A = p_bracketed(p, T, B); }
atom(A) ::= LBRACE(T) test(K) COLON test(V) comp_for(F) RBRACE. { A = p_dictcomp(p, T, K, V, F); }
atom(A) ::= LBRACE(T) list_items(B) RBRACE.           { A = p_set(p, T, B); }
atom(A) ::= LBRACE(T) list_items(B) COMMA RBRACE.     { A = p_set(p, T, B); }
atom(A) ::= LBRACE(T) test(E) comp_for(F) RBRACE.     { A = p_set(p, T, p_comp(p, T.off, E, F)); }
dict_items(A) ::= test(K) COLON test(V).              { A = p_dict(p, NULL, K, V); }
dict_items(A) ::= dict_items(B) COMMA test(K) COLON test(V). { A = p_dict(p, B, K, V); }

/* adjacent literals concatenate: "a" "b", "x=" f"{x}" */
strings(A) ::= STRING(T).                             { A = p_str(p, T); }
strings(A) ::= FSTRING(T).                            { A = p_fstring(p, T); }
strings(A) ::= strings(B) STRING(T).                  { A = p_concat(p, B, p_str(p, T)); }
strings(A) ::= strings(B) FSTRING(T).                 { A = p_concat(p, B, p_fstring(p, T)); }

%code {

/* ==== helpers ========================================================================= */

/* A nesting depth that recursive walks over the AST (the dump, lowering) can always take. */
#define MAX_EXPR_DEPTH 1000

static void p_error(Parser *p, int32_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void p_error(Parser *p, int32_t off, const char *fmt, ...) {
  if (p->failed)
    return; /* one error per parse: later ones are usually consequences */
  va_list ap;
  va_start(ap, fmt);
  diag_verror(p->d, "error", off, fmt, ap);
  va_end(ap);
  p->failed = true;
}

static void p_check_depth(Parser *p, const Ast *n) {
  if (n->kind < AST_EXPR && n->depth > MAX_EXPR_DEPTH)
    p_error(p, n->off, "expression or block nested too deeply");
}

static void p_overflow(Parser *p) {
  p_error(p, p->tok.off, "expression or block nested too deeply");
}

static Ast *p_leaf(Parser *p, AstKind k, Token t) {
  Ast *n = ast_new(p->arena, k, t.off);
  n->ival = k == AST_BOOL ? t.kind == TK_TRUE : t.ival;
  n->fval = t.fval;
  n->str = t.str;
  return n;
}

static int max3(int a, int b, int c) {
  return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

static Ast *p_node(Parser *p, AstKind k, int32_t off, Ast *a, Ast *b, Ast *c) {
  Ast *n = ast_new(p->arena, k, off);
  n->a = a;
  n->b = b;
  n->c = c;
  n->depth = 1 + max3(a ? a->depth : 0, b ? b->depth : 0, c ? c->depth : 0);
  p_check_depth(p, n);
  return n;
}

static Ast *p_list(Parser *p, AstKind k, int32_t off, Ast *first) {
  Ast *n = ast_new(p->arena, k, off);
  if (first)
    ast_push(p->arena, n, first);
  return n;
}

static Ast *p_push(Parser *p, Ast *list, Ast *item) {
  ast_push(p->arena, list, item);
  p_check_depth(p, list);
  return list;
}

/* For constructs we recognize but do not support: a clear message, and a harmless node so
 * that reductions still pending in this push do not meet a NULL. */
static Ast *p_reject(Parser *p, Token t, const char *msg) {
  p_error(p, t.off, "%s", msg);
  return ast_new(p->arena, AST_NONE, t.off);
}

static Token p_op(Token t, int op) {
  t.ival = op;
  return t;
}

/* ---- expressions --------------------------------------------------------------------- */

static Ast *p_binop(Parser *p, Token t, Ast *a, Ast *b) {
  Ast *n = p_node(p, AST_BINOP, t.off, a, b, NULL);
  n->op = (int)t.ival;
  return n;
}

static Ast *p_unary(Parser *p, Token t, int op, Ast *a) {
  Ast *n = p_node(p, AST_UNARY, t.off, a, NULL, NULL);
  n->op = op;
  return n;
}

static Ast *p_boolop(Parser *p, Token t, int op, Ast *a, Ast *b) {
  Ast *n = p_node(p, AST_BOOLOP, t.off, a, b, NULL);
  n->op = op;
  return n;
}

static CmpChain p_cmp_start(Ast *e) {
  CmpChain c = {e, e};
  return c;
}

/* a < b < c is (and (< a b) (< b c)): b is shared by both compares, evaluated once per use. */
static CmpChain p_cmp_add(Parser *p, CmpChain c, Token t, Ast *e) {
  Ast *cmp = p_node(p, AST_COMPARE, t.off, c.last, e, NULL);
  cmp->op = (int)t.ival;
  if (c.result == c.last)
    c.result = cmp;
  else
    c.result = p_boolop(p, t, BOOL_AND, c.result, cmp);
  c.last = e;
  return c;
}

static Ast *p_ifexp(Parser *p, Token t, Ast *cond, Ast *then, Ast *els) {
  return p_node(p, AST_IFEXP, t.off, cond, then, els);
}

static Ast *p_call(Parser *p, Token t, Ast *fn, Ast *args) {
  Ast *n = p_node(p, AST_CALL, fn->off, fn, NULL, NULL);
  bool kw = false;
  for (int i = 0; i < args->nitems; i++) {
    Ast *arg = args->items[i];
    if (arg->kind == AST_KWARG) {
      for (int j = 0; j < i; j++)
        if (args->items[j]->kind == AST_KWARG && strcmp(args->items[j]->str, arg->str) == 0)
          p_error(p, arg->off, "keyword argument '%s' repeated", arg->str);
      kw = true;
    } else if (arg->kind == AST_STARARG) {
      /* Python allows *a after keywords; **d makes what follows keyword-only */
      if (arg->ival == 2) kw = true;
    } else if (kw) {
      p_error(p, arg->off, "positional argument follows keyword argument");
    }
    p_push(p, n, arg);
  }
  (void)t;
  return n;
}

static Ast *p_kwarg(Parser *p, Token name, Ast *value) {
  Ast *n = p_node(p, AST_KWARG, name.off, value, NULL, NULL);
  n->str = name.str;
  return n;
}

static Ast *p_attr(Parser *p, Token t, Ast *obj, Token name) {
  Ast *n = p_node(p, AST_ATTR, t.off, obj, NULL, NULL);
  n->str = name.str;
  return n;
}

static Ast *p_index(Parser *p, Token t, Ast *obj, Ast *sub) {
  return p_node(p, AST_INDEX, t.off, obj, sub, NULL);
}

static Ast *p_slice(Parser *p, Token t, Ast *lo, Ast *hi, Ast *step) {
  return p_node(p, AST_SLICE, lo ? lo->off : t.off, lo, hi, step);
}

/* AST_COMP: a the element, items the clauses in order (AST_FOR with a target, b iterable;
 * AST_IF with a condition). */
static Ast *p_comp(Parser *p, int32_t off, Ast *elem, Ast *clauses) {
  clauses->kind = AST_COMP;
  clauses->off = off;
  clauses->a = elem;
  (void)p;
  return clauses;
}

static Ast *p_comp_for(Parser *p, Ast *clauses, Token t, Ast *target, Ast *iter) {
  Ast *c = p_node(p, AST_FOR, t.off, target, iter, NULL);
  if (!clauses) return p_list(p, AST_COMP, t.off, c);
  return p_push(p, clauses, c);
}

static Ast *p_comp_if(Parser *p, Ast *clauses, Token t, Ast *cond) {
  return p_push(p, clauses, p_node(p, AST_IF, t.off, cond, NULL, NULL));
}

static Ast *p_paren(Parser *p, Token t, Ast *inner) {
  if (!inner)
    return p_list(p, AST_TUPLE, t.off, NULL);
  if (inner->kind == AST_TUPLE)
    inner->off = t.off;
  return inner;
}

static Ast *p_bracketed(Parser *p, Token t, Ast *list) {
  (void)p;
  list->off = t.off;
  return list;
}

static Ast *p_dict(Parser *p, Ast *dict, Ast *k, Ast *v) {
  if (!dict)
    dict = p_list(p, AST_DICT, k->off, NULL);
  p_push(p, dict, k);
  return p_push(p, dict, v);
}

/* {k: v for ...}: the dict of the comprehension [(k, v) for ...], which evaluates k before
 * v as Python 3.8 does. */
static Ast *p_dictcomp(Parser *p, Token t, Ast *k, Ast *v, Ast *clauses) {
  Ast *pair = p_list(p, AST_TUPLE, k->off, k);
  p_push(p, pair, v);
  return p_node(p, AST_DICTCOMP, t.off, p_comp(p, t.off, pair, clauses), NULL, NULL);
}

static Ast *p_set(Parser *p, Token t, Ast *inner) {
  return p_node(p, AST_SET, t.off, inner, NULL, NULL);
}

static void p_params(Parser *p, Ast *fn, Ast *params);

/* The body is kept as a RETURN, so that lowering calls a lambda as it calls a def. */
static Ast *p_lambda(Parser *p, Token t, Ast *params, Ast *body) {
  Ast *ret = p_node(p, AST_RETURN, body->off, body, NULL, NULL);
  Ast *n = p_node(p, AST_LAMBDA, t.off, NULL, NULL, ret);
  n->str = "<lambda>";
  if (params)
    p_params(p, n, params);
  return n;
}

/* ---- strings ------------------------------------------------------------------------- */

static Ast *p_str(Parser *p, Token t) {
  Ast *n = ast_new(p->arena, AST_STR, t.off);
  n->str = t.str;
  return n;
}

static Ast *run(Parser *p, Lexer *lx, bool expr_mode);

/* Parses src->text[start, end) as one expression (an f-string field). */
static Ast *p_subparse(Parser *p, int32_t start, int32_t end) {
  if (p->fdepth >= 4) {
    p_error(p, start, "f-strings nested too deeply");
    return NULL;
  }
  Parser sub = {.src = p->src, .arena = p->arena, .d = p->d, .fdepth = p->fdepth + 1};
  Ast *e = run(&sub, lex_new_range(p->src, p->arena, p->d, start, end), true);
  if (!e)
    p->failed = true;
  return e;
}

/* Appends the decoded literal text body[from, to) to the f-string's pieces. */
static bool fstring_piece(Parser *p, Ast *fs, const char *body, int32_t base, int32_t from,
                          int32_t to, bool raw) {
  if (from >= to)
    return true;
  char *s = lex_decode(p->arena, p->d, body + from, (size_t)(to - from), base + from, raw);
  if (!s) {
    p->failed = true;
    return false;
  }
  p_concat(p, fs, p_str(p, (Token){.off = base + from, .str = s}));
  return true;
}

/*
 * f"..{expr!r:spec}..": literal pieces (with {{ and }} as braces) become STR items, fields
 * become FORMAT items. A field's expression ends at the first '!', ':' or '}' outside
 * brackets and quotes, as in Python before 3.12.
 */
static Ast *p_fstring(Parser *p, Token t) {
  Ast *fs = ast_new(p->arena, AST_FSTRING, t.off);
  const char *s = t.str;
  int32_t base = (int32_t)t.ival, n = (int32_t)strlen(s);
  bool raw = false;
  for (int32_t i = t.off; i < base && !raw; i++)
    raw = p->src->text[i] == 'r' || p->src->text[i] == 'R';
  int32_t lit = 0; /* start of the pending literal piece */
  for (int32_t i = 0; i < n && !p->failed;) {
    char c = s[i];
    if (c == '\\' && !raw) {
      i += 2;
    } else if (c == '}') {
      if (s[i + 1] != '}') {
        p_error(p, base + i, "single '}' is not allowed in an f-string; write '}}'");
        break;
      }
      fstring_piece(p, fs, s, base, lit, i + 1, raw);
      lit = i += 2;
    } else if (c == '{' && s[i + 1] == '{') {
      fstring_piece(p, fs, s, base, lit, i + 1, raw);
      lit = i += 2;
    } else if (c == '{') {
      if (!fstring_piece(p, fs, s, base, lit, i, raw))
        break;
      int32_t j = i + 1, depth = 0;
      char quote = 0;
      for (; j < n; j++) {
        char ch = s[j];
        if (quote) {
          if (ch == quote)
            quote = 0;
        } else if (ch == '\'' || ch == '"') {
          quote = ch;
        } else if (ch == '(' || ch == '[' || ch == '{') {
          depth++;
        } else if (ch == ')' || ch == ']' || ch == '}') {
          if (depth == 0)
            break;
          depth--;
        } else if (depth == 0 && (ch == ':' || (ch == '!' && s[j + 1] != '='))) {
          break;
        }
      }
      Ast *e = p_subparse(p, base + i + 1, base + j);
      if (!e)
        break;
      Ast *field = p_node(p, AST_FORMAT, base + i, e, NULL, NULL);
      if (s[j] == '!') {
        char conv = s[j + 1];
        if (conv != 'r' && conv != 's' && conv != 'a') {
          p_error(p, base + j + 1, "f-string conversion must be !r, !s or !a");
          break;
        }
        field->ival = conv;
        j += 2;
      }
      if (s[j] == ':') {
        int32_t k = j + 1;
        while (k < n && s[k] != '}' && s[k] != '{')
          k++;
        if (s[k] == '{') {
          p_error(p, base + k, "nested fields in an f-string format spec are not supported");
          break;
        }
        field->str = arena_strndup(p->arena, s + j + 1, (size_t)(k - j - 1));
        j = k;
      }
      if (s[j] != '}') {
        p_error(p, base + j, "expected '}' to close the f-string field");
        diag_note(p->d, base + i, "to match this '{'");
        break;
      }
      p_push(p, fs, field);
      lit = i = j + 1;
    } else {
      i++;
    }
  }
  if (!p->failed)
    fstring_piece(p, fs, s, base, lit, n, raw);
  return fs;
}

/* Adjacent literals: STR + STR stays a STR; anything with an f-string becomes an FSTRING,
 * with neighbouring literal pieces merged. */
static Ast *p_concat(Parser *p, Ast *a, Ast *b) {
  if (a->kind == AST_STR && b->kind == AST_STR) {
    a->str = arena_printf(p->arena, "%s%s", a->str, b->str);
    return a;
  }
  if (a->kind == AST_STR) {
    Ast *fs = ast_new(p->arena, AST_FSTRING, a->off);
    p_push(p, fs, a);
    a = fs;
  }
  int nb = b->kind == AST_FSTRING ? b->nitems : 1;
  for (int i = 0; i < nb; i++) {
    Ast *it = b->kind == AST_FSTRING ? b->items[i] : b;
    Ast *last = a->nitems ? a->items[a->nitems - 1] : NULL;
    if (last && last->kind == AST_STR && it->kind == AST_STR) {
      Ast *merged = ast_new(p->arena, AST_STR, last->off);
      merged->str = arena_printf(p->arena, "%s%s", last->str, it->str);
      a->items[a->nitems - 1] = merged;
    } else {
      p_push(p, a, it);
    }
  }
  return a;
}

/* ---- statements ---------------------------------------------------------------------- */

/* What is wrong with e as an assignment target, or NULL if it is one. */
static const char *bad_target(const Ast *e, bool aug) {
  switch (e->kind) {
  case AST_NAME:
  case AST_ATTR:
  case AST_INDEX:
    return NULL;
  case AST_TUPLE:
  case AST_LIST:
    if (aug)
      return "a tuple or list";
    for (int i = 0; i < e->nitems; i++) {
      const char *why = bad_target(e->items[i], false);
      if (why)
        return why;
    }
    return e->nitems ? NULL : "an empty tuple";
  case AST_CALL:
    return "a function call";
  case AST_INT:
  case AST_FLOAT:
  case AST_STR:
  case AST_BOOL:
  case AST_NONE:
  case AST_FSTRING:
  case AST_ELLIPSIS:
  case AST_DICT:
  case AST_SET:
    return "a literal";
  case AST_LAMBDA:
    return "a lambda";
  default:
    return "an expression";
  }
}

static bool check_target(Parser *p, const Ast *e, bool aug) {
  const char *why = bad_target(e, aug);
  if (!why)
    return true;
  const Ast *at = e;
  if (e->kind == AST_TUPLE || e->kind == AST_LIST)
    for (int i = 0; i < e->nitems; i++)
      if (bad_target(e->items[i], aug)) {
        at = e->items[i];
        break;
      }
  p_error(p, at->off, "cannot assign to %s", why);
  return false;
}

static Ast *p_expr_stmt(Parser *p, Ast *e) {
  return p_node(p, AST_EXPR, e->off, e, NULL, NULL);
}

static Ast *p_targets(Parser *p, Ast *list, Ast *target, Token eq) {
  check_target(p, target, false);
  if (!list)
    list = p_list(p, AST_BLOCK, eq.off, NULL);
  ast_push(p->arena, list, target);
  return list;
}

/* t = v is one ASSIGN. t1 = t2 = v assigns v to t1 first, then t1 to t2: the same object in
 * both, as in Python, without evaluating v twice. */
static Ast *p_assign(Parser *p, Ast *targets, Ast *value) {
  Ast *first = p_node(p, AST_ASSIGN, targets->off, targets->items[0], value, NULL);
  if (targets->nitems == 1)
    return first;
  Ast *frag = p_list(p, AST_BLOCK, targets->off, first);
  for (int i = 1; i < targets->nitems; i++)
    ast_push(p->arena, frag,
             p_node(p, AST_ASSIGN, targets->off, targets->items[i], targets->items[0], NULL));
  return frag;
}

/* An annotated assignment: one target, as Python requires. ival 1 marks it annotated (a
 * @dataclass field when it names a plain name in a class body); without a value it is an
 * AST_PASS whose a is the target, which binds nothing. */
static Ast *p_annassign(Parser *p, Ast *target, Ast *value) {
  if (target->kind == AST_TUPLE || target->kind == AST_LIST)
    p_error(p, target->off, "only single target (not %s) can be annotated",
            target->kind == AST_TUPLE ? "tuple" : "list");
  else
    check_target(p, target, false);
  Ast *n = value ? p_node(p, AST_ASSIGN, target->off, target, value, NULL)
                 : p_node(p, AST_PASS, target->off, target, NULL, NULL);
  n->ival = 1;
  return n;
}

static Ast *p_augassign(Parser *p, Ast *target, Token t, Ast *value) {
  const char *why = bad_target(target, true);
  if (why)
    p_error(p, target->off, "cannot use augmented assignment ('%.*s') on %s", t.len,
            p->src->text + t.off, why);
  Ast *n = p_node(p, AST_AUGASSIGN, t.off, target, value, NULL);
  n->op = (int)t.ival;
  return n;
}

static Ast *p_return(Parser *p, Token t, Ast *value) {
  return p_node(p, AST_RETURN, t.off, value, NULL, NULL);
}

/* Python's own modules that ttc implements (python.c), imported as values: `import copy` is
 * `copy = (module copy)`. The torch modules stay IMPORTs, which lowering resolves. */
static Ast *p_module(Parser *p, Token t, Token module) {
  static const char *const own[] = {"copy", "collections"};
  for (size_t i = 0; i < sizeof own / sizeof own[0]; i++)
    if (strcmp(module.str, own[i]) == 0) {
      Ast *m = ast_new(p->arena, AST_MODULE, t.off);
      m->str = module.str;
      return m;
    }
  return NULL;
}

static Ast *p_bind(Parser *p, int32_t off, const char *name, Ast *value) {
  Ast *target = ast_new(p->arena, AST_NAME, off);
  target->str = name;
  return p_node(p, AST_ASSIGN, off, target, value, NULL);
}

static Ast *p_import(Parser *p, Token t, Token module, Ast *alias) {
  Ast *m = p_module(p, t, module);
  if (m)
    return p_bind(p, alias ? alias->off : module.off, alias ? alias->str : module.str, m);
  Ast *n = p_node(p, AST_IMPORT, t.off, alias, NULL, NULL);
  n->str = module.str;
  return n;
}

static Ast *p_fromimport(Parser *p, Token t, Token module, Ast *names) {
  Ast *m = p_module(p, t, module);
  if (m) { /* a BLOCK fragment: name = (module m).name, one per name */
    Ast *frag = p_list(p, AST_BLOCK, t.off, NULL);
    for (int i = 0; i < names->nitems; i++) {
      Ast *it = names->items[i];
      Ast *attr = p_node(p, AST_ATTR, it->off, m, NULL, NULL);
      attr->str = it->str;
      ast_push(p->arena, frag, p_bind(p, it->off, it->a ? it->a->str : it->str, attr));
    }
    return frag;
  }
  Ast *n = ast_new(p->arena, AST_FROMIMPORT, t.off);
  n->str = module.str;
  for (int i = 0; i < names->nitems; i++)
    ast_push(p->arena, n, names->items[i]);
  return n;
}

/* from m import *: a FROMIMPORT without items, ival 1; lowering binds the module's public
 * names (imports.c), or says why it cannot for a module ttc implements. */
static Ast *p_fromstar(Parser *p, Token t, Token module, Token star) {
  Ast *n = ast_new(p->arena, AST_FROMIMPORT, t.off);
  n->str = module.str;
  n->ival = 1;
  n->b = ast_new(p->arena, AST_NAME, star.off); /* where the '*' is, for diagnostics */
  n->b->str = "*";
  return n;
}

static Ast *p_import_name(Parser *p, Token name, Ast *alias) {
  Ast *n = p_node(p, AST_NAME, name.off, alias, NULL, NULL);
  n->str = name.str;
  return n;
}

static Token p_dotted(Parser *p, Token a, Token b) {
  a.str = arena_printf(p->arena, "%s.%s", a.str, b.str);
  return a;
}

static Ast *p_assert(Parser *p, Token t, Ast *cond, Ast *msg) {
  return p_node(p, AST_ASSERT, t.off, cond, msg, NULL);
}

static void add_stmts(Parser *p, Ast *block, Ast *s) {
  if (s->kind == AST_BLOCK)
    for (int i = 0; i < s->nitems; i++)
      ast_push(p->arena, block, s->items[i]);
  else
    ast_push(p->arena, block, s);
}

/* Statements reach here either alone or as BLOCK fragments from "a; b" and "a = b = c". */
static Ast *p_seq(Parser *p, Ast *a, Ast *b) {
  Ast *frag = p_list(p, AST_BLOCK, a->off, NULL);
  add_stmts(p, frag, a);
  add_stmts(p, frag, b);
  return frag;
}

static Ast *p_as_block(Parser *p, Ast *s) {
  Ast *block = p_list(p, AST_BLOCK, s->off, NULL);
  add_stmts(p, block, s);
  return block;
}

static Ast *p_block_add(Parser *p, Ast *block, Ast *s) {
  if (!block)
    block = p_list(p, AST_BLOCK, s ? s->off : 0, NULL);
  if (s)
    add_stmts(p, block, s);
  return block;
}

static IfChain p_if(Parser *p, Token t, Ast *cond, Ast *body) {
  Ast *n = p_node(p, AST_IF, t.off, cond, body, NULL);
  IfChain c = {n, n};
  return c;
}

/* elif chains are built left to right (no parser stack per elif) by keeping the tail. */
static IfChain p_elif(Parser *p, IfChain c, Token t, Ast *cond, Ast *body) {
  Ast *n = p_node(p, AST_IF, t.off, cond, body, NULL);
  c.tail->c = n;
  c.tail = n;
  return c;
}

static Ast *p_if_else(Parser *p, IfChain c, Ast *body) {
  (void)p;
  c.tail->c = body;
  return c.head;
}

static Ast *p_for(Parser *p, Token t, Ast *target, Ast *iter, Ast *body) {
  check_target(p, target, false);
  return p_node(p, AST_FOR, t.off, target, iter, body);
}

static Ast *p_while(Parser *p, Token t, Ast *cond, Ast *body) {
  return p_node(p, AST_WHILE, t.off, cond, NULL, body);
}

static Ast *p_with(Parser *p, Token t, Ast *e, Ast *target, Ast *body) {
  if (target)
    check_target(p, target, false);
  return p_node(p, AST_WITH, t.off, e, target, body);
}

static Ast *p_param(Parser *p, Token name, Ast *dflt) {
  if (!dflt)
    return p_leaf(p, AST_NAME, name);
  return p_kwarg(p, name, dflt);
}

/* One decorator, kept in the def's a or the class's b (lowering checks which it is). */
static Ast *p_decorate(Parser *p, Token t, Ast *dec, Ast *def) {
  if (def->kind == AST_CLASS) {
    if (def->b) return p_reject(p, t, "ttc supports one decorator per class");
    def->b = dec;
    return def;
  }
  if (def->kind != AST_DEF) return p_reject(p, t, "decorators are supported on functions and classes only");
  if (def->a) return p_reject(p, t, "ttc supports one decorator per function");
  def->a = dec;
  return def;
}

/* The parameters of a def or lambda, checked as Python checks them. */
static void p_params(Parser *p, Ast *fn, Ast *params) {
  bool dflt = false;
  for (int i = 0; i < params->nitems; i++) {
    Ast *prm = params->items[i];
    for (int j = 0; j < i; j++)
      if (prm->kind != AST_NONE && strcmp(params->items[j]->str, prm->str) == 0)
        p_error(p, prm->off, "duplicate parameter '%s'", prm->str);
    if (prm->kind == AST_KWARG)
      dflt = true;
    else if (dflt)
      p_error(p, prm->off, "parameter without a default follows one with a default");
    ast_push(p->arena, fn, prm);
  }
  p_check_depth(p, fn);
}

static Ast *p_def(Parser *p, Token t, Token name, Ast *params, Ast *body) {
  Ast *n = p_node(p, AST_DEF, t.off, NULL, NULL, body);
  n->str = name.str;
  p_params(p, n, params);
  return n;
}

static Ast *p_class(Parser *p, Token t, Token name, Ast *base, Ast *body) {
  Ast *n = p_node(p, AST_CLASS, t.off, base, NULL, body);
  n->str = name.str;
  return n;
}

/* ==== syntax errors =================================================================== */

/* Would the parser, in its current state, shift tok (after any reductions)? Replays the
 * tables on a scratch copy of the top of the stack; the real stack is not touched. */
static bool accepts(yyParser *yp, int tok) {
  enum { SCRATCH = 64 };
  YYACTIONTYPE over[SCRATCH];
  int nover = 0;
  yyStackEntry *base = yp->yytos;
  YYACTIONTYPE state = base->stateno;
  for (int guard = 0; guard < 10000; guard++) {
    YYACTIONTYPE act = yy_find_shift_action((YYCODETYPE)tok, state);
    if (act <= YY_MAX_SHIFTREDUCE || act == YY_ACCEPT_ACTION)
      return true;
    if (act < YY_MIN_REDUCE)
      return false; /* error */
    int rule = act - YY_MIN_REDUCE;
    int pop = -yyRuleInfoNRhs[rule];
    if (pop <= nover) {
      nover -= pop;
    } else {
      base -= pop - nover;
      nover = 0;
      if (base < yp->yystack)
        return false;
    }
    if (nover == SCRATCH)
      return true; /* deeper than any real reduction chain: assume yes */
    YYACTIONTYPE below = nover ? over[nover - 1] : base->stateno;
    state = yy_find_reduce_action(below, yyRuleInfoLhs[rule]);
    over[nover++] = state;
  }
  return false;
}

static const char *describe_expected(int tok) {
  switch (tok) {
  case TK_NAME: return "a name";
  case TK_INT: return "a number";
  case TK_STRING: return "a string";
  case TK_NEWLINE: return "end of line";
  case TK_DEDENT: return "end of block";
  default: return lex_token_name(tok);
  }
}

static const char *describe_found(Parser *p, int tok, Token t) {
  switch (tok) {
  case TK_NAME: return arena_printf(p->arena, "name '%s'", t.str);
  case TK_INT:
  case TK_FLOAT: return "number";
  case TK_STRING:
  case TK_FSTRING: return "string";
  case TK_NEWLINE: return "end of line";
  case TK_INDENT: return "indent";
  case TK_DEDENT: return "dedent";
  default: return lex_token_name(tok);
  }
}

static int closer_token(char open) {
  return open == '(' ? TK_RPAREN : open == '[' ? TK_RBRACKET : TK_RBRACE;
}

static void p_syntax_error(yyParser *yp, int major, Token t) {
  Parser *p = yp->p;
  if (p->failed)
    return;
  int expected[YYNTOKEN], n = 0;
  bool want[YYNTOKEN];
  for (int tok = 0; tok < YYNTOKEN; tok++) {
    want[tok] = tok != TK_EXPR_MODE && accepts(yp, tok);
    if (want[tok])
      expected[n++] = tok;
  }
  int close = 0;
  if (p->nbrackets > 0 && p->nbrackets <= 256)
    close = closer_token(p->brackets[p->nbrackets - 1]);
  const char *msg;
  if (want[TK_INDENT]) {
    msg = "expected an indented block";
  } else if (major == TK_INDENT) {
    msg = "unexpected indent";
  } else if (want[TK_PASS]) { /* at the start of a statement: nothing narrower to say */
    msg = arena_printf(p->arena, "unexpected %s", describe_found(p, major, t));
  } else if (want[TK_NAME] && want[TK_INT]) {
    msg = close && want[close]
              ? arena_printf(p->arena, "expected an expression or %s", lex_token_name(close))
              : "expected an expression";
  } else {
    /* ';' and end of file are never what the user meant to write next */
    int shown[4], k = 0;
    for (int i = 0; i < n && k <= 3; i++) {
      int tok = expected[i];
      if ((tok == TK_SEMI || tok == TK_EOF) && want[TK_NEWLINE])
        continue;
      if (tok == TK_EOF)
        continue; /* "expected end of file" reads as nonsense: say what was unexpected */
      shown[k++] = tok;
    }
    if (k == 0 || k > 3) {
      msg = arena_printf(p->arena, "unexpected %s", describe_found(p, major, t));
    } else {
      msg = arena_printf(p->arena, "expected %s%s%s%s%s", describe_expected(shown[0]),
                         k == 3 ? ", " : k == 2 ? " or " : "",
                         k > 1 ? describe_expected(shown[1]) : "", k == 3 ? " or " : "",
                         k == 3 ? describe_expected(shown[2]) : "");
    }
  }
  p_error(p, t.off, "%s", msg);
  if (close && want[close] && major != close)
    diag_note(p->d, p->bracket_off[p->nbrackets - 1], "to match this '%c'",
              p->brackets[p->nbrackets - 1]);
}

/* ==== the driver loop ================================================================= */

static void track_brackets(Parser *p, const Token *t) {
  switch (t->kind) {
  case TK_LPAREN:
  case TK_LBRACKET:
  case TK_LBRACE:
    if (p->nbrackets < 256) {
      p->brackets[p->nbrackets] = p->src->text[t->off];
      p->bracket_off[p->nbrackets] = t->off;
    }
    p->nbrackets++;
    break;
  case TK_RPAREN:
  case TK_RBRACKET:
  case TK_RBRACE:
    if (p->nbrackets > 0)
      p->nbrackets--;
    break;
  default:
    break;
  }
}

static Ast *run(Parser *p, Lexer *lx, bool expr_mode) {
  void *lp = lemon_parseAlloc(xmalloc, p);
  if (expr_mode) {
    Token start = {.kind = TK_EXPR_MODE};
    lemon_parse(lp, TK_EXPR_MODE, start);
  }
  for (;;) {
    int before = p->d->nerrors;
    Token t = lex_next(lx);
    if (p->d->nerrors > before) {
      p->failed = true;
      break;
    }
    p->tok = t;
    track_brackets(p, &t);
    lemon_parse(lp, t.kind, t);
    if (p->failed || t.kind == TK_EOF)
      break;
  }
  lemon_parseFree(lp, free);
  return p->failed ? NULL : p->result;
}

Ast *parse_program(const Source *src, Arena *a, Diag *d) {
  Parser p = {.src = src, .arena = a, .d = d};
  return run(&p, lex_new(src, a, d), false);
}

}
