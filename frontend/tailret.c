/*
 * tailret.c — a function's returns under conditions, as one value assigned on every path.
 *
 * A run-time `if` lowers both branches and joins the names they assign (host.c), but a
 * `return` in a branch would leave the function on one path only, which the lowering of a
 * run-time branch cannot express. nanoGPT's learning-rate schedule is written that way:
 *
 *     def get_lr(it):
 *         if it < warmup_iters:
 *             return learning_rate * it / warmup_iters
 *         if it > lr_decay_iters:
 *             return min_lr
 *         ...
 *         return min_lr + coeff * (learning_rate - min_lr)
 *
 * So before a function with such a return runs, its body is rewritten into the equivalent
 * form in which every path ends by assigning one hidden name, and the function returns it:
 * a statement after an `if` whose branch returns moves into the branches that fall through
 * (an `if` without `else` gets one), code after a return is dropped, and the end of the
 * body returns None as Python's does. The rewrite is Python's semantics exactly, whatever
 * the conditions are (known at compile time or not); a return inside a loop or a `with`
 * is left alone (the lowering reports it where it is run-time).
 */
#include "lower.h"

#include <string.h>

/* The hidden name: not an identifier, so no program can read or assign it. */
const char *const TAILRET_NAME = "return value";

enum { TAILRET_BUDGET = 20000 }; /* statements the rewrite may make before it gives up */

typedef struct Rw {
  Arena *a;
  int made;
} Rw;

static bool has_return(const Ast *s) {
  if (!s) return false;
  switch (s->kind) {
  case AST_RETURN: return true;
  case AST_IF: return has_return(s->b) || has_return(s->c);
  case AST_FOR:
  case AST_WHILE:
  case AST_WITH: return has_return(s->c);
  case AST_BLOCK:
    for (int i = 0; i < s->nitems; i++)
      if (has_return(s->items[i])) return true;
    return false;
  default: return false; /* a nested def's returns are its own */
  }
}

/* The statements of a branch: a block's items, or the one statement (an elif's IF). */
static int stmts_of(const Ast *b, const Ast *const **out) {
  if (!b) {
    *out = NULL;
    return 0;
  }
  if (b->kind == AST_BLOCK) {
    *out = (const Ast *const *)b->items;
    return b->nitems;
  }
  *out = (const Ast *const *)&b->items; /* unused: callers pass single statements below */
  return -1;
}

static Ast *rewrite(Rw *w, const Ast *const *s, int n, const Ast *const *rest, int nrest, int32_t off);

/* The branch b followed by rest, rewritten; NULL when it cannot be. */
static Ast *branch(Rw *w, const Ast *b, const Ast *const *rest, int nrest, int32_t off) {
  const Ast *const *s;
  int n = stmts_of(b, &s);
  if (n < 0) { /* an elif: the one IF statement */
    const Ast *one[1] = {b};
    return rewrite(w, one, 1, rest, nrest, off);
  }
  return rewrite(w, s, n, rest, nrest, off);
}

/* s[0..n) then rest[0..nrest), as a block in which every path assigns TAILRET_NAME last;
 * the caller guarantees the statements end in a return (the body's implicit one). */
static Ast *rewrite(Rw *w, const Ast *const *s, int n, const Ast *const *rest, int nrest, int32_t off) {
  Ast *blk = ast_new(w->a, AST_BLOCK, n ? s[0]->off : off);
  for (int i = 0; i < n + nrest; i++) {
    const Ast *st = i < n ? s[i] : rest[i - n];
    if (++w->made > TAILRET_BUDGET) return NULL;
    if (st->kind == AST_RETURN) {
      Ast *name = ast_new(w->a, AST_NAME, st->off);
      name->str = TAILRET_NAME;
      Ast *as = ast_new(w->a, AST_ASSIGN, st->off);
      as->a = name;
      as->b = st->a ? (Ast *)st->a : ast_new(w->a, AST_NONE, st->off);
      ast_push(w->a, blk, as);
      return blk; /* what follows a return never runs */
    }
    if (!has_return(st)) {
      ast_push(w->a, blk, (Ast *)st);
      continue;
    }
    if (st->kind != AST_IF) return NULL; /* a return in a loop or a with */
    /* if c: B [else: E]; R  ->  if c: B; R else: E; R, each path then ends in a return */
    const Ast *const *after = i < n ? s + i + 1 : rest + (i - n) + 1;
    int nafter = i < n ? n - i - 1 : nrest - (i - n) - 1;
    /* statements left in s after this one come before rest: join them into one list */
    const Ast **tail = arena_alloc(w->a, sizeof *tail * (size_t)(n + nrest + 1));
    int nt = 0;
    for (int k = 0; k < nafter; k++) tail[nt++] = after[k];
    if (i < n)
      for (int k = 0; k < nrest; k++) tail[nt++] = rest[k];
    Ast *yes = branch(w, st->b, tail, nt, st->off);
    Ast *no = st->c ? branch(w, st->c, tail, nt, st->off) : rewrite(w, NULL, 0, tail, nt, st->off);
    if (!yes || !no) return NULL;
    Ast *ifs = ast_new(w->a, AST_IF, st->off);
    ifs->a = st->a;
    ifs->b = yes;
    ifs->c = no;
    ast_push(w->a, blk, ifs);
    return blk;
  }
  return blk;
}

const Ast *tailret_body(L *l, const Ast *body) {
  bool branchy = false; /* a return somewhere but at the end of the body */
  const Ast *const *s;
  int n = stmts_of(body, &s);
  if (n <= 0) return body;
  for (int i = 0; i < n; i++)
    if (has_return(s[i]) && !(i == n - 1 && s[i]->kind == AST_RETURN)) branchy = true;
  if (!branchy) return body;
  Rw w = {l->arena, 0};
  /* the body's end returns None, as Python's does */
  Ast *none = ast_new(l->arena, AST_RETURN, body->off);
  const Ast *end[1] = {none};
  Ast *r = rewrite(&w, s, n, end, 1, body->off);
  return r ? r : body;
}
