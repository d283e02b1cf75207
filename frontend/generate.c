/*
 * generate.c — sequences whose length is known only at run time (docs/EXTENTS.md).
 *
 * nanoGPT's generate() grows its token buffer by one position per iteration
 * (`idx = torch.cat((idx, idx_next), dim=1)`) and runs the model on its last block_size
 * positions (`idx[:, -block_size:]`). Lowered once as a C loop, such a loop needs three
 * things, all here:
 *
 *  - A growing tensor. Before the loop, the name becomes a buffer variable sized for every
 *    position the loop can add (its size now plus one per iteration), with a host variable
 *    counting the positions that hold values. torch.cat on it is an append (ST_APPEND):
 *    the new positions are copied in and the count grows; after the loop, which ran every
 *    iteration, the buffer is full and is an ordinary tensor again.
 *  - Windows. Reading the name, or slicing it along the growing dim, gives a window:
 *    (buffer, start, length) as host expressions, with a bound on the length. Slices of a
 *    window and `a if cond else b` of two windows of one buffer are windows again, so
 *    nanoGPT's crop is one window whose start and length the condition picks.
 *  - Run-time lengths in graphs. Where a graph first reads a window, the window's length
 *    becomes a run-time extent (an LD_EXTENT loader, set by ST_EXTENT before the graph) and
 *    its positions are copied out by a NARROW node into a tensor whose dim is symbolic,
 *    [1, B:64]. Everything the model computes from it carries that extent, as a data
 *    loader's batch does: x.size(1) is the extent, torch.arange(0, t) and
 *    mask[:, :, :t, :t] have it, an attention matrix is [1, 4, B:64, B:64], and
 *    logits[:, -1, :] reads the last valid position.
 *
 * What it does not do is said at the line: a loop that breaks or continues (the buffer's
 * final length would be known only at run time), two appends per iteration, appending
 * more than one position at a time.
 */
#include "lower.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Grow {
  int buf;             /* the buffer variable: dim `dim` has cap positions */
  int dim;
  int len;             /* host variable: the positions written so far */
  int64_t cap;
  const char *name;    /* the growing name, for messages */
  int appends;         /* appends lowered in the body (one per iteration is what cap is for) */
} Grow;

struct Win {
  Grow *g;
  HostExpr *start, *n; /* positions [start, start + n) of the buffer along g->dim */
  int64_t nbound;      /* the most positions n can be */
  bool full;           /* the whole buffer: start 0, n the count */
  int ld;              /* the LD_EXTENT loader holding n for graphs, once made; else -1 */
};

/* ---- host expressions ----------------------------------------------------------------- */

static HostExpr *hb(L *l, int op, HostExpr *a, HostExpr *b) {
  HostExpr *e = ir_hx(l->p, HX_BIN);
  e->op = op;
  e->a = a;
  e->b = b;
  e->isbool = op >= HB_EQ && op <= HB_GE;
  e->size = true; /* positions in a buffer: no overflow to check */
  return e;
}

static HostExpr *hvar_expr(L *l, int hv) {
  HostExpr *e = ir_hx(l->p, HX_VAR);
  e->hvar = hv;
  return e;
}

/* A fresh host int set to e (after the open graph), read as a variable: keeps the C of
 * a window's start and length short, one named step at a time. */
static HostExpr *named(L *l, HostExpr *e, const char *name, int32_t off) {
  if (e->kind == HX_INT || e->kind == HX_VAR) return e;
  int hv = ir_hvar_new(l->p, name, false);
  Stmt *st = emit_host_stmt(l, ST_ASSIGN, off);
  st->hvar = hv;
  st->expr = e;
  return hvar_expr(l, hv);
}

/* ---- finding the growing names --------------------------------------------------------- */

static bool is_cat_call(const Ast *e) {
  return e && e->kind == AST_CALL && e->a->kind == AST_ATTR &&
         (!strcmp(e->a->str, "cat") || !strcmp(e->a->str, "concat"));
}

/* The compile-time int of an AST (a literal, or minus one), else false. */
static bool ast_int(const Ast *e, int64_t *v) {
  if (!e) return false;
  if (e->kind == AST_INT) return *v = e->ival, true;
  if (e->kind == AST_UNARY && e->op == UN_NEG && e->a && e->a->kind == AST_INT) return *v = -e->a->ival, true;
  return false;
}

/* In `name = torch.cat((name, x), dim=d)`, d; false when st is not that statement. */
static bool cat_of(const Ast *st, const char *name, int64_t *dim) {
  if (!st || st->kind != AST_ASSIGN || st->a->kind != AST_NAME || strcmp(st->a->str, name) || !is_cat_call(st->b))
    return false;
  const Ast *call = st->b, *seq = NULL, *d = NULL;
  for (int i = 0; i < call->nitems; i++) {
    const Ast *arg = call->items[i];
    if (arg->kind == AST_KWARG) {
      if (!strcmp(arg->str, "dim")) d = arg->a;
      else if (!strcmp(arg->str, "tensors")) seq = arg->a;
    } else if (!seq) {
      seq = arg;
    } else if (!d) {
      d = arg;
    }
  }
  if (!seq || (seq->kind != AST_TUPLE && seq->kind != AST_LIST) || seq->nitems != 2 ||
      seq->items[0]->kind != AST_NAME || strcmp(seq->items[0]->str, name))
    return false;
  *dim = 0;
  return !d || ast_int(d, dim);
}

static void find_grown(const Ast *st, const char **names, int64_t *dims, int *n, int max) {
  if (!st || st->kind == AST_DEF || st->kind == AST_CLASS) return;
  if (st->kind == AST_ASSIGN && st->a->kind == AST_NAME) {
    int64_t d;
    if (cat_of(st, st->a->str, &d) && *n < max) {
      bool seen = false;
      for (int i = 0; i < *n; i++) seen |= !strcmp(names[i], st->a->str);
      if (!seen) names[*n] = st->a->str, dims[(*n)++] = d;
    }
  }
  find_grown(st->a, names, dims, n, max);
  find_grown(st->b, names, dims, n, max);
  find_grown(st->c, names, dims, n, max);
  for (int i = 0; i < st->nitems; i++) find_grown(st->items[i], names, dims, n, max);
}

/* Whether st may leave the loop body before its end: a break or continue of this loop
 * (an inner loop's are its own), or a return anywhere. */
static bool leaves_early(const Ast *st, bool inner) {
  if (!st || st->kind == AST_DEF || st->kind == AST_CLASS) return false;
  if (st->kind == AST_RETURN || (!inner && (st->kind == AST_BREAK || st->kind == AST_CONTINUE))) return true;
  bool in = inner || st->kind == AST_FOR || st->kind == AST_WHILE;
  if (leaves_early(st->a, in) || leaves_early(st->b, in) || leaves_early(st->c, in)) return true;
  for (int i = 0; i < st->nitems; i++)
    if (leaves_early(st->items[i], in)) return true;
  return false;
}

static Scope *scope_of(Scope *s, const char *name) {
  for (; s; s = s->parent)
    if (attrs_get(&s->vars, name)) return s;
  return NULL;
}

/* A name the loop body grows with torch.cat that can be a buffer: it holds a tensor of a
 * static shape now, and the body runs to its end every iteration. */
static int growable(L *l, Frame *f, const Ast *loop, const char **names, int64_t *dims, int max) {
  int n = 0;
  find_grown(loop->c, names, dims, &n, max);
  if (n == 0 || leaves_early(loop->c, false)) return 0;
  int k = 0;
  for (int i = 0; i < n; i++) {
    Scope *sc = scope_of(f->scope, names[i]);
    Value *v = sc ? attrs_get(&sc->vars, names[i]) : NULL;
    if (!v || v->k != V_TENSOR || v->t.dyn || v->t.win) continue;
    Shape s = tshape(l, v);
    int64_t d = dims[i] < 0 ? dims[i] + s.rank : dims[i];
    if (s.symm || d < 0 || d >= s.rank) continue;
    names[k] = names[i];
    dims[k++] = d;
  }
  return k;
}

bool grow_wanted(L *l, Frame *f, const Ast *loop) {
  const char *names[8];
  int64_t dims[8];
  return growable(l, f, loop, names, dims, 8) > 0;
}

/* ---- windows --------------------------------------------------------------------------- */

static Value *window(L *l, Grow *g, HostExpr *start, HostExpr *n, int64_t nbound, bool full) {
  Win *w = arena_alloc(l->arena, sizeof *w);
  *w = (Win){.g = g, .start = start, .n = n, .nbound = nbound, .full = full, .ld = -1};
  Value *v = v_new(l, V_TENSOR);
  v->t.graph = -1;
  v->t.var = -1;
  v->t.win = w;
  return v;
}

static Value *full_window(L *l, Grow *g) {
  return window(l, g, hx_int(l, 0), hvar_expr(l, g->len), g->cap, true);
}

Grow *grow_begin(L *l, Frame *f, const Ast *loop, int64_t trips, int *ngrow) {
  const char *names[8];
  int64_t dims[8];
  int n = growable(l, f, loop, names, dims, 8);
  Grow *gs = arena_alloc(l->arena, sizeof(Grow) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    Scope *sc = scope_of(f->scope, names[i]);
    Value *v = attrs_get(&sc->vars, names[i]);
    Shape s = tshape(l, v);
    Grow *g = &gs[i];
    int64_t cap;
    if (__builtin_add_overflow(trips, s.d[dims[i]], &cap) || /* one position per iteration */
        dim_mul(shape_numel(&s) / (s.d[dims[i]] ? s.d[dims[i]] : 1), cap) > IR_MAX_NUMEL)
      lerr(l, loop->off, "'%s' would grow past the largest tensor ttc makes in this loop", names[i]);
    Shape bs = s;
    bs.d[dims[i]] = cap;
    *g = (Grow){.dim = (int)dims[i], .cap = cap, .name = names[i]};
    g->buf = ir_var_new(l->p, names[i], VAR_VALUE, tdtype(l, v), bs);
    /* the buffer starts with the tensor's positions, appended as the loop appends */
    int src = tvar(l, v);
    g->len = host_var_for(l, v_int(l, 0), arena_printf(l->arena, "%s_len", names[i]), loop->off);
    Stmt *st = emit_host_stmt(l, ST_APPEND, loop->off);
    st->nkeys = 2;
    st->vars = arena_alloc(l->p->arena, 2 * sizeof *st->vars);
    st->vars[0] = g->buf;
    st->vars[1] = src;
    st->hvar = g->len;
    st->step = g->dim;
    attrs_set(l, &sc->vars, names[i], full_window(l, g));
  }
  *ngrow = n;
  return gs;
}

/* At the end of the body: each name must hold its whole buffer again (the last append's
 * result), since the next iteration starts from it. */
void grow_body_end(L *l, Frame *f, Grow *gs, int n, int32_t off) {
  for (int i = 0; i < n; i++) {
    Scope *sc = scope_of(f->scope, gs[i].name);
    Value *v = sc ? attrs_get(&sc->vars, gs[i].name) : NULL;
    if (!v || v->k != V_TENSOR || !v->t.win || v->t.win->g != &gs[i] || !v->t.win->full)
      lerr(l, off, "'%s' grows with torch.cat in this loop and ends the loop body holding something else; "
                   "ttc keeps a growing tensor in one buffer, so it must hold the result of its last torch.cat",
           gs[i].name);
    if (gs[i].appends != 1)
      lerr(l, off, "'%s' grows with torch.cat in this loop but not once in every iteration", gs[i].name);
  }
}

/* After the loop, which ran every iteration: the buffers are full, plain tensors again. */
void grow_end(L *l, Frame *f, Grow *gs, int n) {
  for (int i = 0; i < n; i++) {
    Scope *sc = scope_of(f->scope, gs[i].name);
    if (!sc) continue;
    Value *t = v_new(l, V_TENSOR);
    t->t.graph = -1;
    t->t.var = gs[i].buf;
    t->t.leaf = true;
    attrs_set(l, &sc->vars, gs[i].name, t);
  }
}

/* The window's length as a run-time extent (an LD_EXTENT loader), set by a statement
 * before the graph that reads it: made the first time it is needed. */
static int win_extent(L *l, Win *w, int32_t off) {
  if (w->ld >= 0) return w->ld;
  if (l->capture)
    lerr(l, off, "the length of a window of '%s' read first under an if on a run-time value; read it "
                 "before the if", w->g->name);
  end_graph(l);
  Loader ld = {.kind = LD_EXTENT, .batch = w->nbound, .xvar = -1, .yvar = -1, .srcx = -1, .srcy = -1};
  w->ld = l->p->nloaders;
  ld.name = arena_printf(l->p->arena, "%s_T%d", w->g->name, w->ld);
  ir_loader_new(l->p, &ld);
  Stmt *st = emit_stmt(l, ST_EXTENT, off);
  st->loader = w->ld;
  st->expr = w->n;
  return w->ld;
}

/* The window's positions in the open graph: a NARROW of the buffer, of the window's
 * run-time length (a graph extent set just before the graph) or of a static one. */
int win_tnode(L *l, Value *t, int32_t off) {
  Win *w = t->t.win;
  if (l->g && t->t.graph == l->g->id) return t->t.node;
  bool ext = w->n->kind != HX_INT;
  if (ext) win_extent(l, w, off);
  Value *s = host_to_tensor(l, v_host(l, w->start), DT_I64, off);
  int32_t sn = tnode(l, s);
  Graph *g = cur_graph(l);
  if (ext && g->loader >= 0 && g->loader != w->ld) {
    /* another run-time length in this graph: the window starts the next one */
    end_graph(l);
    s = host_to_tensor(l, v_host(l, w->start), DT_I64, off);
    sn = tnode(l, s);
    g = cur_graph(l);
  }
  if (ext) g->loader = w->ld;
  Value *b = v_new(l, V_TENSOR);
  b->t.graph = -1;
  b->t.var = w->g->buf;
  int32_t bn = tnode(l, b);
  Attr at = {0};
  at.i[0] = w->g->dim;
  at.i[1] = ext ? w->nbound : w->n->i;
  at.i[2] = ext;
  int32_t in[2] = {bn, sn};
  int id = add_node(l, OP_NARROW, in, 2, &at, off);
  t->t.graph = g->id;
  t->t.node = id;
  return id;
}

DType win_dtype(L *l, const Value *t) { return l->p->vars[t->t.win->g->buf].dtype; }

/* x.size(d) (d >= 0) or x.shape (d < 0) of a window: its length is the run-time one. */
Value *win_size(L *l, Value *t, int d) {
  Win *w = t->t.win;
  const Shape *s = &l->p->vars[w->g->buf].shape;
  if (d >= 0 && d != w->g->dim) return v_int(l, s->d[d]);
  if (d >= 0) {
    /* the run-time length, as the extent of the graphs that read the window: the model's
       t = idx.size(1) then sizes its positions and masks (arange(0, t), mask[:, :, :t, :t]) */
    if (w->n->kind == HX_INT) return v_int(l, w->n->i);
    HostExpr *e = ir_hx(l->p, HX_BATCH);
    e->loader = win_extent(l, w, l->stmt_off);
    return v_host(l, e);
  }
  Value *r = v_tuple(l, s->rank);
  r->s = "torch.Size";
  for (int i = 0; i < s->rank; i++) r->items[i] = win_size(l, t, i);
  return r;
}

int win_rank(L *l, const Value *t) { return l->p->vars[t->t.win->g->buf].shape.rank; }

/* Python's slice bound b (NULL: the default) for a length n, clamped to [0, n]. */
static HostExpr *bound_expr(L *l, const Value *b, HostExpr *n, bool stop) {
  if (!b || b->k == V_NONE) return stop ? n : hx_int(l, 0);
  if (b->i < 0) return hb(l, HB_MAX, hb(l, HB_ADD, n, hx_int(l, b->i)), hx_int(l, 0));
  return hb(l, HB_MIN, hx_int(l, b->i), n);
}

/* A window indexed with full slices and one slice of compile-time ints along the growing
 * dim: a window again. NULL for any other index (the caller reads the window as a
 * tensor of a run-time length and indexes that). */
Value *win_index(L *l, Value *t, IndexItem *items, int n, int32_t off) {
  Win *w = t->t.win;
  int dim = w->g->dim;
  (void)off;
  if (n > win_rank(l, t)) return NULL;
  const IndexItem *sl = NULL;
  for (int i = 0; i < n; i++) {
    const IndexItem *it = &items[i];
    bool fullslice = it->kind == IX_SLICE && (!it->lo || it->lo->k == V_NONE) && (!it->hi || it->hi->k == V_NONE) &&
                     (!it->st || it->st->k == V_NONE);
    if (i != dim) {
      if (!fullslice) return NULL;
      continue;
    }
    if (it->kind != IX_SLICE || (it->st && it->st->k != V_NONE && !(it->st->k == V_INT && it->st->i == 1)) ||
        (it->lo && it->lo->k != V_NONE && it->lo->k != V_INT) || (it->hi && it->hi->k != V_NONE && it->hi->k != V_INT))
      return NULL;
    sl = it;
  }
  if (!sl) return t; /* idx[:, :] */
  const Value *lo = sl->lo && sl->lo->k == V_INT ? sl->lo : NULL, *hi = sl->hi && sl->hi->k == V_INT ? sl->hi : NULL;
  HostExpr *a, *len;
  const char *nm = w->g->name;
  if (lo && lo->i < 0 && !hi) { /* x[:, -k:], the crop: the last min(n, k) positions */
    len = named(l, hb(l, HB_MIN, w->n, hx_int(l, -lo->i)), arena_printf(l->arena, "%s_n", nm), sl->off);
    a = hb(l, HB_SUB, w->n, len);
  } else {
    a = named(l, bound_expr(l, lo, w->n, false), arena_printf(l->arena, "%s_from", nm), sl->off);
    HostExpr *b = bound_expr(l, hi, w->n, true);
    len = named(l, hb(l, HB_MAX, hb(l, HB_SUB, b, a), hx_int(l, 0)), arena_printf(l->arena, "%s_n", nm), sl->off);
  }
  /* the most positions it can hold */
  int64_t nb = w->nbound, l0 = lo ? lo->i : 0;
  if (lo && l0 < 0 && (!hi || hi->i <= 0)) nb = -l0 - (hi ? -hi->i : 0);
  else if (l0 >= 0 && hi && hi->i >= 0) nb = hi->i - l0;
  else if (l0 >= 0) nb = w->nbound - l0;
  if (nb > w->nbound) nb = w->nbound;
  if (nb < 1) lerr(l, sl->off, "this slice of '%s' is always empty; ttc does not make tensors of no positions here",
                   w->g->name);
  HostExpr *start = w->start->kind == HX_INT && w->start->i == 0 ? a : hb(l, HB_ADD, w->start, a);
  return window(l, w->g, named(l, start, arena_printf(l->arena, "%s_at", nm), sl->off), len, nb, false);
}

/* `a if cond else b` with a run-time cond: for two windows of one buffer, one window whose
 * start and length cond picks; NULL for anything else. */
/* Whether e is w's length: its expression, or the extent it was given (x.size(1)). */
static bool is_len(const Win *w, const HostExpr *e) {
  if (e == w->n) return true;
  if (e->kind == HX_BATCH && w->ld >= 0 && e->loader == w->ld) return true;
  return e->kind == HX_VAR && w->n->kind == HX_VAR && e->hvar == w->n->hvar;
}

/* The most positions w has where cond is (or is not, when taken is false) true: a bound
 * that cond `len <= K` (or <, >, >=) on w's own length sets, else w's own. */
static int64_t bound_under(const Win *w, const HostExpr *cond, bool taken) {
  int64_t nb = w->nbound, k;
  if (!cond || cond->kind != HX_BIN || !cond->a || !cond->b || cond->b->kind != HX_INT || !is_len(w, cond->a))
    return nb;
  k = cond->b->i;
  int op = cond->op;
  if (!taken) op = op == HB_LE ? HB_GT : op == HB_LT ? HB_GE : op == HB_GT ? HB_LE : op == HB_GE ? HB_LT : -1;
  if (op == HB_LE && k < nb) nb = k;
  if (op == HB_LT && k - 1 < nb) nb = k - 1;
  return nb < 1 ? 1 : nb;
}

Value *win_select(L *l, HostExpr *cond, Value *a, Value *b) {
  if (a->k != V_TENSOR || b->k != V_TENSOR || !a->t.win || !b->t.win || a->t.win->g != b->t.win->g) return NULL;
  Win *x = a->t.win, *y = b->t.win;
  /* `idx if idx.size(1) <= block_size else idx[:, -block_size:]`: the whole buffer is
     chosen only while it is no longer than block_size, so the window holds at most that */
  int64_t bx = bound_under(x, cond, true), by = bound_under(y, cond, false);
  /* if (cond) { at = x.start; n = x.n; } else { at = y.start; n = y.n; } */
  int32_t off = l->stmt_off;
  const char *nm = x->g->name;
  int hs = ir_hvar_new(l->p, arena_printf(l->arena, "%s_at", nm), false);
  int hn = ir_hvar_new(l->p, arena_printf(l->arena, "%s_n", nm), false);
  Stmt *st = emit_host_stmt(l, ST_IF, off);
  st->expr = cond;
  for (int br = 0; br < 2; br++) {
    Win *w = br ? y : x;
    Stmt **blk = br ? &st->orelse : &st->body;
    int *nb = br ? &st->norelse : &st->nbody, *cap = br ? &st->capelse : &st->capbody;
    Stmt *s1 = ir_stmt_push(l->p, blk, nb, cap, ST_ASSIGN, (Loc){off});
    s1->hvar = hs;
    s1->expr = w->start;
    Stmt *s2 = ir_stmt_push(l->p, blk, nb, cap, ST_ASSIGN, (Loc){off});
    s2->hvar = hn;
    s2->expr = w->n;
  }
  return window(l, x->g, hvar_expr(l, hs), hvar_expr(l, hn), bx > by ? bx : by, false);
}

/* torch.cat((buf, x), dim) with buf the whole growing buffer: x's positions appended. NULL
 * when the first tensor is no window. */
Value *win_cat(L *l, Value **ts, int n, int64_t dim, int32_t off) {
  if (n < 1 || ts[0]->k != V_TENSOR || !ts[0]->t.win) return NULL;
  Win *w = ts[0]->t.win;
  Grow *g = w->g;
  int rank = win_rank(l, ts[0]);
  if (dim < 0) dim += rank;
  if (n != 2 || !w->full || dim != g->dim)
    lerr(l, off, "torch.cat of the growing '%s' must append one tensor to all of it along dim %d "
                 "(torch.cat((%s, x), dim=%d)) for ttc to keep it in one buffer", g->name, g->dim, g->name, g->dim);
  Value *x = want_tensor(l, ts[1], "cat", off);
  if (x->t.win) lerr(l, off, "appending a window of a growing tensor to it is not supported by ttc");
  const Var *bv = &l->p->vars[g->buf];
  Shape xs = tshape(l, x);
  bool ok = xs.rank == rank && !xs.symm;
  for (int i = 0; ok && i < rank; i++) ok = i == g->dim || xs.d[i] == bv->shape.d[i];
  if (!ok) {
    char b1[64], b2[64];
    lerr(l, off, "torch.cat(): %s %s cannot be appended to '%s' %s along dim %d", dt_torch(tdtype(l, x)),
         shape_str(&xs, b1, sizeof b1), g->name, shape_str(&bv->shape, b2, sizeof b2), g->dim);
  }
  if (xs.d[g->dim] != 1)
    lerr(l, off, "'%s' grows by %lld positions here; ttc's generation loops append one position per "
                 "iteration", g->name, (long long)xs.d[g->dim]);
  if (tdtype(l, x) != bv->dtype) x = cast(l, x, bv->dtype, off);
  g->appends++;
  int src = tvar(l, x);
  Stmt *st = emit_host_stmt(l, ST_APPEND, off);
  st->nkeys = 2;
  st->vars = arena_alloc(l->p->arena, 2 * sizeof *st->vars);
  st->vars[0] = g->buf;
  st->vars[1] = src;
  st->hvar = g->len;
  st->step = g->dim;
  return full_window(l, g);
}

/* ---- run-time lengths inside a graph ---------------------------------------------------- */

/* The loader whose extent v is (x.size(d) of a symbolic dim), or -1. */
int ext_of(L *l, const Value *v) {
  if (!v || v->k != V_HOST || v->hx->kind != HX_BATCH) return -1;
  int ld = v->hx->loader;
  return ld >= 0 && ld < l->p->nloaders ? ld : -1;
}

/* The open graph runs with extent ld's length: its symbolic dims have it. */
void ext_use(L *l, int ld, int32_t off) {
  Graph *g = cur_graph(l);
  if (g->loader >= 0 && g->loader != ld)
    lerr(l, off, "two lengths known only at run time meet in one computation; ttc gives each "
                 "computation one (a data loader's batch or a sequence length)");
  g->loader = ld;
}

static Value *narrow(L *l, Value *x, int dim, Value *start, int64_t len, bool ext, int32_t off) {
  int32_t s = tnode(l, start);
  int32_t in[2] = {tnode(l, x), s};
  Attr at = {0};
  at.i[0] = dim;
  at.i[1] = len;
  at.i[2] = ext;
  return mk_tensor(l, add_node(l, OP_NARROW, in, 2, &at, off));
}

/* x[..., :t, ...] with t a run-time extent, and x[..., -1, ...] (any int) along a dim of
 * a run-time extent, before the rest of the indexing: narrows, after which those items
 * are plain (a full slice, an index 0). Only without None and Ellipsis items, where item
 * i is dim i. Returns x, narrowed. */
Value *ext_index(L *l, Value *x, IndexItem *items, int n, int32_t off) {
  (void)off;
  if (x->t.dyn) return x;
  for (int i = 0; i < n; i++)
    if (items[i].kind == IX_ELLIPSIS || (items[i].kind == IX_VALUE && items[i].v->k == V_NONE)) return x;
  for (int i = 0; i < n; i++) {
    IndexItem *it = &items[i];
    if (it->kind == IX_SLICE && it->hi && ext_of(l, it->hi) >= 0 &&
        (!it->lo || it->lo->k == V_NONE || (it->lo->k == V_INT && it->lo->i == 0)) &&
        (!it->st || it->st->k == V_NONE || (it->st->k == V_INT && it->st->i == 1))) {
      int ld = ext_of(l, it->hi);
      int64_t bound = l->p->loaders[ld].batch;
      Shape s = tshape(l, x);
      if (i >= s.rank) return x;
      if (sym_at(&s, i)) {
        if (s.d[i] != bound || (l->g && l->g->loader != ld))
          lerr(l, it->off, "slicing a dimension of one run-time length to another is not supported by ttc");
      } else {
        if (s.d[i] < bound)
          lerr(l, it->off, "this slice's run-time stop can be up to %lld, past the dimension's %lld; ttc needs "
                           "the dimension to hold it", (long long)bound, (long long)s.d[i]);
        ext_use(l, ld, it->off);
        Value *z = filled(l, shape_scalar(), DT_I64, 0, it->off);
        x = narrow(l, x, i, z, bound, true, it->off);
      }
      it->lo = it->hi = it->st = NULL;
    } else if (it->kind == IX_VALUE && it->v->k == V_INT) {
      Shape s = tshape(l, x);
      if (i >= s.rank || !sym_at(&s, i)) continue;
      /* position k of a run-time length B, counted from the end for k < 0: B + k */
      Value *st;
      if (it->v->i < 0) {
        Value *bs = mk_tensor(l, ir_add_source(cur_graph(l), OP_BATCH, DT_I64, shape_scalar(), NULL, (Loc){it->off}));
        st = ew2(l, OP_ADD, bs, v_int(l, it->v->i), it->off, NULL);
      } else {
        st = filled(l, shape_scalar(), DT_I64, (double)it->v->i, it->off);
      }
      x = narrow(l, x, i, st, 1, false, it->off);
      it->v = v_int(l, 0);
    }
  }
  return x;
}
