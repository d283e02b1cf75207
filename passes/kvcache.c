/*
 * kvcache.c — the KV cache as a program pass: generation with constant work per token,
 * derived from the model, exact (docs/KVCACHE.md).
 *
 * Purpose: nanoGPT's generate() runs the whole model on the whole window for every new
 *   token, O(T) work per token (O(T^2) for attention). When every op of the model treats
 *   positions independently except causal attention, the rows of earlier positions come
 *   out the same at every step, so only the new positions need computing, given the keys
 *   and values of the earlier ones. The pass proves that from the IR and gives the loop a
 *   second graph, the decode step, that runs on the new positions only, with persistent K
 *   and V caches per attention.
 * Requires: the front end's generation loops (frontend/generate.c, docs/EXTENTS.md): an
 *   ST_FOR whose body sets a run-time length (ST_EXTENT of an LD_EXTENT loader), runs a
 *   graph over a window of a token buffer (NARROW of the buffer's variable, its length the
 *   extent, its start a host int) and appends to that buffer (ST_APPEND).
 * Produces: for each such loop it can prove exact:
 *   - the decode graph: the model's graph with the window's start moved past the cached
 *     positions (start + c), position indices (arange over the window) offset by c, and
 *     each causal attention softmax(mask(q @ k^T * s)) @ v replaced by KV_ATTN over state
 *     variables kvcacheN_kL [*, D, cap] and kvcacheN_vL [*, cap, Dv];
 *   - a host int kvcacheN_len (c, the positions cached) set to 0 before the loop, and a
 *     check graph run before the loop that counts the entries of each mask buffer that are
 *     not causal (kvcacheN_bad): the mask is data (a registered buffer, or one a checkpoint
 *     loaded), so its values are checked where they are, once per loop;
 *   - in the loop, where the model ran: if the masks are causal, the window starts at the
 *     buffer's start (it has not begun to slide) and it holds positions the cache does not,
 *     the decode graph on the new positions (the extent is n - c; the first iteration is
 *     the prefill of the prompt), then c = n; else the model's own graph on the window, as
 *     without the pass, and c = 0. Once the buffer is longer than the block, the window
 *     slides, absolute positions shift, and every cached row is stale: each step is then a
 *     full recompute, exactly as without the pass.
 *   Loops it cannot prove are left alone; --explain=kvcache says why, at the op's line.
 *
 * Exactness: a node of the model's graph is row-wise when row t of its value (t, a
 * position of the window: the graph's symbolic dim) depends only on row t of its inputs:
 * elementwise ops, matmuls whose contraction is not over positions, reductions and
 * softmax over other dims, reshapes that keep a position's elements together, permutes,
 * slices that keep every position, embedding lookups. Positions themselves (arange over
 * the window) are offset, and the last position (logits[:, -1, :]) is the last new one.
 * The only op allowed to mix positions is attention whose mask is -inf exactly above the
 * diagonal, which for row t reads keys and values of rows 0..t: the cache holds exactly
 * those rows, computed by the same row-wise ops at an earlier step. Anything else that
 * reads several positions (a mean over positions, a matmul contracting over them, a
 * softmax over them, an unmasked attention, a random draw per position, a stored
 * all-positions value) makes the pass leave the loop alone.
 */
#include "passes.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* One causal attention of the model's graph: y = softmax(where(mask == 0, -inf,
 * (q @ k^T) [* or / scale])) @ v. */
typedef struct Att {
  int q, k, v, y;  /* node ids */
  int mask;        /* the mask buffer's variable */
  int zero;        /* the 0 the mask is compared with (a CONST or FILL node) */
  int mode;        /* 0 no scale, 1 times, 2 divided by */
  double scale;
} Att;

typedef struct Plan {
  const Program *p;
  const Graph *g;
  int buf;        /* the token buffer's variable */
  int win;        /* the window's NARROW */
  int at;         /* the host int holding the window's start */
  Att *att;
  int natt;
  char *consumed; /* nodes inside an attention (replaced by KV_ATTN) */
  char *arange;   /* aranges over positions, to offset */
  int *uses;      /* ir_use_counts */
  int bad;        /* the node that blocks the rewrite, or -1 */
  char why[320];
} Plan;

static void explain(PassCtx *cx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void explain(PassCtx *cx, const char *fmt, ...) {
  if (!cx || !cx->explain) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(cx->explain, "kvcache: %s: ", cx->p && cx->p->filename ? cx->p->filename : "<input>");
  vfprintf(cx->explain, fmt, ap);
  fputc('\n', cx->explain);
  va_end(ap);
}

static int line_of(const Program *p, Loc loc) {
  int line, col;
  ir_linecol(p->src, loc.off, &line, &col);
  return line;
}

static const Node *nd(const Plan *pl, int id) { return &pl->g->nodes[id]; }

/* Records why the rewrite cannot be done (the first reason only). */
static bool block(Plan *pl, int id, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool block(Plan *pl, int id, const char *fmt, ...) {
  if (pl->bad >= 0 || pl->why[0]) return false;
  pl->bad = id;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pl->why, sizeof pl->why, fmt, ap);
  va_end(ap);
  return false;
}

/* The one node that uses id (counting slots), or -1. */
static int only_user(const Plan *pl, int id) {
  if (pl->uses[id] != 1) return -1;
  for (int u = id + 1; u < pl->g->n; u++)
    for (int k = 0; k < nd(pl, u)->nin; k++)
      if (nd(pl, u)->in[k] == id) return u;
  return -1;
}

/* The value of a one-element CONST or FILL node, as a double. */
static bool scalar_value(const Plan *pl, int id, double *v) {
  const Node *n = nd(pl, id);
  if (shape_numel(&n->shape) != 1 || n->shape.symm) return false;
  if (n->op == OP_FILL) {
    *v = n->attr.f[0];
    return true;
  }
  if (n->op != OP_CONST || !n->attr.data) return false;
  switch (n->dtype) {
  case DT_F32: *v = *(const float *)n->attr.data; return true;
  case DT_F64: *v = *(const double *)n->attr.data; return true;
  case DT_I64: *v = (double)*(const int64_t *)n->attr.data; return true;
  case DT_BOOL: *v = *(const unsigned char *)n->attr.data; return true;
  default: return false;
  }
}

/* Whether shape s is [lead, B, D] with the run-time extent at rank - 2 only. */
static bool rows_shape(const Shape *s) {
  return s->rank >= 2 && s->symm == 1u << (s->rank - 2);
}

/*
 * The mask operand of the attention's where: RESHAPEs and NARROWs of a variable that take
 * [:T, :T] of its last two dims (starts 0, lengths the extent), the variable's other dims
 * all 1. The chain's nodes are marked consumed; false when it is anything else.
 */
static bool match_mask(Plan *pl, int id, int *var) {
  const Graph *g = pl->g;
  int rows = 0, cols = 0, rank = -1;
  for (;;) {
    const Node *n = &g->nodes[id];
    if (n->op == OP_RESHAPE || n->op == OP_DETACH) {
      pl->consumed[id] = 1;
      id = n->in[0];
      continue;
    }
    if (n->op == OP_NARROW) {
      double s;
      const Node *x = &g->nodes[n->in[0]];
      if (!n->attr.i[2] || !scalar_value(pl, n->in[1], &s) || s != 0) return false;
      int r = x->shape.rank, d = (int)n->attr.i[0];
      if (d == r - 2) rows++;
      else if (d == r - 1) cols++;
      else return false;
      pl->consumed[id] = 1;
      id = n->in[0];
      continue;
    }
    if (n->op != OP_INPUT) return false;
    rank = n->shape.rank;
    *var = n->attr.var;
    break;
  }
  if (rows != 1 || cols != 1 || rank < 2) return false;
  const Shape *s = &pl->p->vars[*var].shape;
  for (int i = 0; i < s->rank - 2; i++)
    if (s->d[i] != 1) return false;
  return true;
}

/* An attention at softmax node sm, or false (with pl->why set when it is one the pass
 * cannot use). */
static bool match_attention(Plan *pl, int sm, Att *a) {
  const Node *P = nd(pl, sm);
  int r = P->shape.rank;
  int w = P->in[0];
  const Node *W = nd(pl, w);
  if (W->op != OP_WHERE || only_user(pl, w) != sm)
    return block(pl, sm, "softmax over positions at line %d is not masked (bidirectional attention sees later positions)",
                 line_of(pl->p, P->loc));
  double ninf, zero;
  int c = W->in[0], A = W->in[2];
  const Node *C = nd(pl, c);
  if (!scalar_value(pl, W->in[1], &ninf) || ninf != -__builtin_inf() || C->op != OP_EQ)
    return block(pl, w, "the attention mask at line %d is not masked_fill(mask == 0, -inf)", line_of(pl->p, W->loc));
  int zk = scalar_value(pl, C->in[1], &zero) && zero == 0 ? 1 : scalar_value(pl, C->in[0], &zero) && zero == 0 ? 0 : -1;
  if (zk < 0 || !match_mask(pl, C->in[1 - zk], &a->mask))
    return block(pl, c, "the attention mask at line %d is not [:T, :T] of a buffer (the pass checks a buffer's values)",
                 line_of(pl->p, C->loc));
  a->zero = C->in[zk];
  pl->consumed[c] = 1;
  /* the scale: (q @ k^T) * s, s * (q @ k^T) or (q @ k^T) / s */
  const Node *An = nd(pl, A);
  int S = A;
  a->mode = 0;
  a->scale = 1;
  if ((An->op == OP_MUL || An->op == OP_DIV) && only_user(pl, A) == w) {
    double s;
    if (scalar_value(pl, An->in[1], &s)) {
      S = An->in[0];
      a->mode = An->op == OP_MUL ? 1 : 2;
      a->scale = s;
    } else if (An->op == OP_MUL && scalar_value(pl, An->in[0], &s)) {
      S = An->in[1];
      a->mode = 1;
      a->scale = s;
    }
    if (a->mode) pl->consumed[A] = 1;
  }
  const Node *Sn = nd(pl, S);
  if (Sn->op != OP_MATMUL || Sn->attr.i[1] || only_user(pl, S) != (a->mode ? A : w) || Sn->dtype != DT_F32)
    return block(pl, S, "the attention scores at line %d are not q @ k.transpose(-2, -1) in float32", line_of(pl->p, Sn->loc));
  a->q = Sn->in[0];
  if (Sn->attr.i[0]) {
    a->k = Sn->in[1];
  } else {
    const Node *kt = nd(pl, Sn->in[1]);
    int kr = kt->shape.rank;
    bool swap = kt->op == OP_PERMUTE && kr == r && kt->attr.nints == kr;
    for (int i = 0; swap && i < kr; i++)
      swap = kt->attr.ints[i] == (i == kr - 2 ? kr - 1 : i == kr - 1 ? kr - 2 : i);
    if (!swap) return block(pl, S, "the keys of the attention at line %d are not k.transpose(-2, -1)", line_of(pl->p, Sn->loc));
    a->k = kt->in[0];
    if (only_user(pl, Sn->in[1]) == S) pl->consumed[Sn->in[1]] = 1;
  }
  a->y = only_user(pl, sm);
  const Node *Y = a->y >= 0 ? nd(pl, a->y) : NULL;
  if (!Y || Y->op != OP_MATMUL || Y->attr.i[0] || Y->attr.i[1] || Y->in[0] != sm)
    return block(pl, sm, "the attention weights at line %d are used other than as weights @ v", line_of(pl->p, P->loc));
  a->v = Y->in[1];
  const Shape *qs = &nd(pl, a->q)->shape, *ks = &nd(pl, a->k)->shape, *vs = &nd(pl, a->v)->shape;
  bool ok = rows_shape(qs) && rows_shape(ks) && rows_shape(vs) && ks->rank == r && qs->rank == r &&
            vs->rank == r && ks->d[r - 1] == qs->d[r - 1] && nd(pl, a->k)->dtype == DT_F32 &&
            nd(pl, a->v)->dtype == DT_F32;
  for (int i = 0; ok && i < r - 2; i++) ok = qs->d[i] == ks->d[i] && qs->d[i] == vs->d[i];
  if (!ok)
    return block(pl, S, "q, k and v of the attention at line %d are not float32 [*, T, D] of the same batch and heads",
                 line_of(pl->p, Sn->loc));
  pl->consumed[S] = 1;
  pl->consumed[w] = 1;
  pl->consumed[sm] = 1;
  return true;
}

/* The node at id is ok in the decode step (row t of it depends on row t of its inputs
 * only), or false with the reason recorded. */
static bool rowwise(Plan *pl, int id) {
  const Node *n = nd(pl, id);
  const Program *p = pl->p;
  const char *op = ir_ops[n->op].name;
  int line = line_of(p, n->loc);
  unsigned insym = 0;
  for (int k = 0; k < n->nin; k++) insym |= nd(pl, n->in[k])->shape.symm;
  for (int k = 0; k < n->nin; k++)
    if (pl->consumed[n->in[k]])
      return block(pl, id, "%s at line %d reads the attention's scores or weights (only weights @ v is cached)", op, line);
  if (ir_ops[n->op].flags & OPF_OPTIM || n->op == OP_BACKWARD)
    return block(pl, id, "%s at line %d: the loop trains", op, line);
  if (sym_count(&n->shape) > 1)
    return block(pl, id, "%s at line %d makes a [T, T] value that is not a causal attention's", op, line);
  if (!insym && !n->shape.symm) return true; /* does not see positions */
  if (ir_ops[n->op].flags & OPF_SOURCE) {
    if (ir_ops[n->op].flags & OPF_RNG)
      return block(pl, id, "%s at line %d draws random numbers for every position", op, line);
    if (n->op == OP_ARANGE) {
      double st = n->attr.f[1];
      if (n->dtype != DT_I64 || n->shape.rank != 1 || st != (double)(int64_t)st)
        return block(pl, id, "arange over positions at line %d is not int64", line);
      pl->arange[id] = 1;
    }
    return true;
  }
  if (ir_ops[n->op].flags & OPF_EW) {
    int s = sym_first(&n->shape);
    for (int k = 0; k < n->nin; k++) {
      const Shape *x = &nd(pl, n->in[k])->shape;
      if (x->symm && sym_first(x) + (n->shape.rank - x->rank) != s)
        return block(pl, id, "%s at line %d combines different positions", op, line);
    }
    return true;
  }
  switch (n->op) {
  case OP_MATMUL:
  case OP_MATMUL_ACC: {
    const Shape *a = &nd(pl, n->in[0])->shape, *b = &nd(pl, n->in[1])->shape;
    int ka = n->attr.i[1] && a->rank >= 2 ? a->rank - 2 : a->rank - 1;
    int kb = b->rank == 1 ? 0 : n->attr.i[0] ? b->rank - 1 : b->rank - 2;
    if (sym_at(a, ka) || sym_at(b, kb))
      return block(pl, id, "matmul at line %d sums over positions", line);
    return true;
  }
  case OP_QLINEAR:
  case OP_PERMUTE:
  case OP_EXPAND:
  case OP_DETACH:
  case OP_EMBEDDING:
    if (n->op == OP_EMBEDDING && nd(pl, n->in[0])->shape.symm)
      return block(pl, id, "embedding at line %d looks up a table of positions", line);
    return true;
  case OP_SUM: case OP_MEAN: case OP_MAX: case OP_MIN: case OP_ARGMAX: case OP_ARGMIN:
  case OP_PROD: {
    const Shape *x = &nd(pl, n->in[0])->shape;
    int64_t dims = n->attr.i[0] ? n->attr.i[0] : (int64_t)((1u << x->rank) - 1);
    if ((unsigned)dims & x->symm)
      return block(pl, id, "%s at line %d reduces over positions", op, line);
    return true;
  }
  case OP_SOFTMAX:
  case OP_LOG_SOFTMAX:
  case OP_CUMSUM:
    if (sym_at(&nd(pl, n->in[0])->shape, (int)n->attr.i[0]))
      return block(pl, id, "%s at line %d runs over positions", op, line);
    return true;
  case OP_CAT:
    if (sym_at(&n->shape, (int)n->attr.i[0]))
      return block(pl, id, "cat at line %d joins along positions", line);
    return true;
  case OP_RESHAPE: {
    const Shape *x = &nd(pl, n->in[0])->shape, *y = &n->shape;
    if (sym_count(x) == 1 && sym_count(y) == 1) {
      int sx = sym_first(x), sy = sym_first(y);
      int64_t bx = 1, by = 1, ax = 1, ay = 1;
      for (int i = 0; i < sx; i++) bx *= x->d[i];
      for (int i = 0; i < sy; i++) by *= y->d[i];
      for (int i = sx + 1; i < x->rank; i++) ax *= x->d[i];
      for (int i = sy + 1; i < y->rank; i++) ay *= y->d[i];
      if (bx == by && ax == ay) return true;
    }
    return block(pl, id, "reshape at line %d merges positions with other dims", line);
  }
  case OP_SLICE: {
    const Shape *x = &nd(pl, n->in[0])->shape;
    for (int i = 0; i < x->rank; i++)
      if (sym_at(x, i) && (n->attr.ints[3 * i] != 0 || n->attr.ints[3 * i + 1] < x->d[i] || n->attr.ints[3 * i + 2] != 1))
        return block(pl, id, "slice at line %d keeps only some positions", line);
    return true;
  }
  case OP_NARROW: {
    const Node *x = nd(pl, n->in[0]), *s = nd(pl, n->in[1]);
    int d = (int)n->attr.i[0];
    if (!sym_at(&x->shape, d) && !n->attr.i[2]) return true;
    /* the last position: x.narrow(d, T - 1, 1), as logits[:, -1, :] */
    double k;
    if (!n->attr.i[2] && n->attr.i[1] == 1 && s->op == OP_ADD &&
        ((nd(pl, s->in[0])->op == OP_BATCH && scalar_value(pl, s->in[1], &k)) ||
         (nd(pl, s->in[1])->op == OP_BATCH && scalar_value(pl, s->in[0], &k))) && k == -1)
      return true;
    return block(pl, id, "narrow at line %d picks positions other than the last", line);
  }
  case OP_STORE:
    return block(pl, id, "store at line %d keeps every position's value (only the last position's may leave the step)", line);
  default:
    return block(pl, id, "%s at line %d: the pass does not know how it treats positions", op, line);
  }
}

/* x.size(d) of the window (a BATCH node) may only pick the last position: every use is
 * T - 1 as the start of a narrow of length 1 (checked by rowwise). */
static bool batch_uses_ok(Plan *pl, int id) {
  for (int u = id + 1; u < pl->g->n; u++) {
    const Node *n = nd(pl, u);
    for (int k = 0; k < n->nin; k++) {
      if (n->in[k] != id) continue;
      double c;
      bool ok = n->op == OP_ADD && scalar_value(pl, n->in[1 - k], &c) && c == -1;
      for (int w = u + 1; ok && w < pl->g->n; w++)
        for (int j = 0; j < nd(pl, w)->nin; j++)
          if (nd(pl, w)->in[j] == u) ok = nd(pl, w)->op == OP_NARROW && j == 1 && !nd(pl, w)->attr.i[2];
      if (!ok)
        return block(pl, u, "the window's length (x.size()) is used as a number at line %d", line_of(pl->p, n->loc));
    }
  }
  return true;
}

/* Whether graph g of the loop can run on new positions only; fills pl. */
static bool analyze(Plan *pl) {
  const Graph *g = pl->g;
  pl->win = -1;
  for (int i = 0; i < g->n; i++) {
    const Node *n = nd(pl, i);
    if (n->op == OP_NARROW && n->attr.i[2] && nd(pl, n->in[0])->op == OP_INPUT &&
        nd(pl, n->in[0])->attr.var == pl->buf) {
      if (pl->win >= 0) return block(pl, i, "the model reads the token buffer twice (line %d)", line_of(pl->p, n->loc));
      if (nd(pl, n->in[1])->op != OP_HOSTVAR)
        return block(pl, i, "the window at line %d does not start at a host int", line_of(pl->p, n->loc));
      pl->win = i;
      pl->at = nd(pl, n->in[1])->attr.var;
    }
  }
  if (pl->win < 0) return false;
  if (sym_count(&nd(pl, pl->win)->shape) != 1) return block(pl, pl->win, "the window has no positions");
  for (int i = 0; i < g->n; i++) {
    const Node *n = nd(pl, i);
    if (n->op != OP_SOFTMAX || sym_count(&n->shape) != 2) continue;
    int r = n->shape.rank;
    if (n->attr.i[0] != r - 1 || !sym_at(&n->shape, r - 2) || !sym_at(&n->shape, r - 1)) continue;
    Att a;
    if (!match_attention(pl, i, &a)) return false;
    pl->att = realloc(pl->att, sizeof *pl->att * (size_t)(pl->natt + 1));
    pl->att[pl->natt++] = a;
  }
  for (int i = 0; i < g->n; i++) {
    if (pl->consumed[i] || i == pl->win) continue;
    bool isy = false;
    for (int a = 0; a < pl->natt; a++) isy |= pl->att[a].y == i;
    if (isy) continue;
    if (!rowwise(pl, i)) return false;
    if (nd(pl, i)->op == OP_BATCH && !batch_uses_ok(pl, i)) return false;
  }
  if (!pl->natt) return block(pl, pl->win, "the model has no causal attention to cache");
  return true;
}

/* ---- the host side ---------------------------------------------------------------- */

static HostExpr *hx_var(Program *p, int h) {
  HostExpr *e = ir_hx(p, HX_VAR);
  e->hvar = h;
  return e;
}
static HostExpr *hx_int(Program *p, int64_t i) {
  HostExpr *e = ir_hx(p, HX_INT);
  e->i = i;
  return e;
}
static HostExpr *hx_bin(Program *p, int op, HostExpr *a, HostExpr *b) {
  HostExpr *e = ir_hx(p, HX_BIN);
  e->op = op;
  e->a = a;
  e->b = b;
  e->isbool = op >= HB_EQ && op <= HB_OR;
  return e;
}

/* Whether a graph writes variable v (a store, an optimizer step). */
static bool graph_writes(const Graph *g, int v) {
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op == OP_STORE && n->attr.var == v) return true;
    if (ir_ops[n->op].flags & OPF_OPTIM)
      for (int k = 0; k < n->attr.nints; k++)
        if (n->attr.ints[k] == v) return true;
    if (n->op == OP_BACKWARD) return true;
  }
  return false;
}

/* Whether statements s[0..n) write a variable the model's graph reads (the token buffer's
 * append aside) or reset the buffer's length. */
static bool body_writes(const Program *p, const Stmt *s, int n, const Plan *pl, int lenvar, int *where) {
  for (int i = 0; i < n; i++) {
    const Stmt *st = &s[i];
    *where = line_of(p, st->loc);
    for (int k = 0; k < pl->g->n; k++) {
      const Node *in = &pl->g->nodes[k];
      if (in->op != OP_INPUT) continue;
      int v = in->attr.var;
      if (st->kind == ST_GRAPH && st->graph >= 0 && graph_writes(p->graphs[st->graph], v)) return true;
      if ((st->kind == ST_LOAD || st->kind == ST_CALL) )
        for (int j = 0; j < st->nkeys; j++)
          if (st->vars && st->vars[j] == v) return true;
      if (st->kind == ST_LOADER && (p->loaders[st->loader].xvar == v || p->loaders[st->loader].yvar == v)) return true;
      if (st->kind == ST_APPEND && st->vars[0] == v && v != pl->buf) return true;
    }
    if (st->kind == ST_ASSIGN && st->hvar == lenvar) return true;
    if (body_writes(p, st->body, st->nbody, pl, lenvar, where)) return true;
    if (body_writes(p, st->orelse, st->norelse, pl, lenvar, where)) return true;
  }
  return false;
}

static bool mentions_extent(const HostExpr *e, int loader) {
  if (!e) return false;
  if (e->kind == HX_BATCH && e->loader == loader) return true;
  return mentions_extent(e->a, loader) || mentions_extent(e->b, loader);
}

/* The line of an assignment in s[0..n) that gives host int h a value computed from the
 * run-time length of loader, or -1. */
static int assigned_from_extent(const Program *p, const Stmt *s, int n, int h, int loader) {
  for (int i = 0; i < n; i++) {
    if (s[i].kind == ST_ASSIGN && s[i].hvar == h && mentions_extent(s[i].expr, loader)) return line_of(p, s[i].loc);
    int r = assigned_from_extent(p, s[i].body, s[i].nbody, h, loader);
    if (r < 0) r = assigned_from_extent(p, s[i].orelse, s[i].norelse, h, loader);
    if (r >= 0) return r;
  }
  return -1;
}

/* The check graph: kvcacheN_bad = the number of entries of the masks that are not causal
 * (mask == 0 exactly above the diagonal). */
static int check_graph(Program *p, const Plan *pl, int nloop, Loc loc, IrErr *err) {
  Graph *cg = ir_graph_new(p, loc);
  cg->name = arena_printf(cg->arena, "kvcache%d_check", nloop);
  int total = -1;
  for (int a = 0; a < pl->natt; a++) {
    int mv = pl->att[a].mask;
    bool seen = false;
    for (int b = 0; b < a; b++) seen |= pl->att[b].mask == mv;
    if (seen) continue;
    const Var *V = &p->vars[mv];
    int r = V->shape.rank;
    int64_t R = V->shape.d[r - 2], C = V->shape.d[r - 1];
    const Node *z = &pl->g->nodes[pl->att[a].zero];
    int x = ir_add_source(cg, OP_INPUT, V->dtype, V->shape, &(Attr){.var = mv}, loc);
    Attr za = z->attr;
    if (za.data) {
      za.data = arena_alloc(cg->arena, dt_size(z->dtype));
      memcpy(za.data, z->attr.data, dt_size(z->dtype));
    }
    int zero = ir_add_source(cg, z->op, z->dtype, z->shape, &za, loc);
    int masked = ir_add2(cg, OP_EQ, x, zero, loc, err);
    int rows = ir_add_source(cg, OP_ARANGE, DT_I64, shape_make(1, (int64_t[]){R}), &(Attr){.f = {0, 1}}, loc);
    int rcol = ir_add(cg, OP_RESHAPE, (int32_t[]){rows}, 1, &(Attr){.ints = ir_ints(cg, (int64_t[]){R, 1}, 2), .nints = 2}, loc, err);
    int cols = ir_add_source(cg, OP_ARANGE, DT_I64, shape_make(1, (int64_t[]){C}), &(Attr){.f = {0, 1}}, loc);
    int upper = ir_add2(cg, OP_GT, cols, rcol, loc, err);
    int wrong = ir_add2(cg, OP_NE, masked, upper, loc, err);
    int n = ir_add(cg, OP_SUM, (int32_t[]){wrong}, 1, &(Attr){.i = {(1 << r) - 1, 0}}, loc, err);
    if (masked < 0 || rcol < 0 || upper < 0 || wrong < 0 || n < 0) return -1;
    total = total < 0 ? n : ir_add2(cg, OP_ADD, total, n, loc, err);
    if (total < 0) return -1;
  }
  int bad = ir_var_new(p, arena_printf(p->arena, "kvcache%d_bad", nloop), VAR_VALUE, DT_I64, shape_scalar());
  if (ir_add(cg, OP_STORE, (int32_t[]){total}, 1, &(Attr){.var = bad}, loc, err) < 0) return -1;
  return bad;
}

/* The decode graph: g on the new positions, with the caches. */
static Graph *decode_graph(Program *p, const Plan *pl, int nloop, int hc, int loader, IrErr *err) {
  const Graph *g = pl->g;
  Graph *ng = ir_graph_new(p, g->loc);
  ng->next_uid = g->next_uid;
  ng->name = arena_printf(ng->arena, "%s_kvcache", g->name);
  ng->loader = loader;
  int32_t *map = malloc(sizeof *map * (size_t)g->n);
  Loc l0 = nd(pl, pl->win)->loc;
  int c = ir_add_source(ng, OP_HOSTVAR, DT_I64, shape_scalar(), &(Attr){.var = hc}, l0);
  ng->nodes[c].name = "cached";
  bool ok = c >= 0;
  for (int i = 0; ok && i < g->n; i++) {
    const Node *n = nd(pl, i);
    map[i] = -1;
    int att = -1;
    for (int a = 0; a < pl->natt; a++)
      if (pl->att[a].y == i) att = a;
    if (i == pl->win) { /* the window starts past the cached positions */
      int s = ir_add2(ng, OP_ADD, map[n->in[1]], c, n->loc, err);
      Attr a = n->attr;
      map[i] = s < 0 ? -1 : ir_add(ng, OP_NARROW, (int32_t[]){map[n->in[0]], s}, 2, &a, n->loc, err);
      if (map[i] >= 0 && n->name) ng->nodes[map[i]].name = arena_strdup(ng->arena, n->name);
    } else if (pl->arange[i]) { /* positions c, c+1, ... */
      int r = ir_copy_node(ng, g, i, map, err), off = c;
      int64_t step = (int64_t)n->attr.f[1];
      if (r >= 0 && step != 1) {
        int k = ir_add_source(ng, OP_FILL, DT_I64, shape_scalar(), &(Attr){.f = {(double)step}}, n->loc);
        off = ir_add2(ng, OP_MUL, c, k, n->loc, err);
      }
      map[i] = r < 0 || off < 0 ? -1 : ir_add2(ng, OP_ADD, r, off, n->loc, err);
      if (map[i] >= 0 && n->name) ng->nodes[map[i]].name = arena_strdup(ng->arena, n->name);
    } else if (att >= 0) {
      const Att *a = &pl->att[att];
      const Node *q = nd(pl, a->q), *v = nd(pl, a->v);
      int r = q->shape.rank;
      int64_t cap = q->shape.d[r - 2];
      Shape ks = q->shape, vs = v->shape;
      ks.symm = vs.symm = 0;
      ks.d[r - 2] = q->shape.d[r - 1];
      ks.d[r - 1] = cap;
      vs.d[r - 2] = cap;
      int kv = ir_var_new(p, arena_printf(p->arena, "kvcache%d_k%d", nloop, att), VAR_STATE, DT_F32, ks);
      int vv = ir_var_new(p, arena_printf(p->arena, "kvcache%d_v%d", nloop, att), VAR_STATE, DT_F32, vs);
      int ik = ir_add_source(ng, OP_INPUT, DT_F32, ks, &(Attr){.var = kv}, n->loc);
      int iv = ir_add_source(ng, OP_INPUT, DT_F32, vs, &(Attr){.var = vv}, n->loc);
      Attr at = {.f = {a->scale}, .i = {a->mode}};
      map[i] = ir_add(ng, OP_KV_ATTN, (int32_t[]){map[a->q], map[a->k], map[a->v], c, ik, iv}, 6, &at, n->loc, err);
      if (map[i] >= 0 && n->name) ng->nodes[map[i]].name = arena_strdup(ng->arena, n->name);
    } else if (!pl->consumed[i]) {
      map[i] = ir_copy_node(ng, g, i, map, err);
    } else {
      continue;
    }
    ok = map[i] >= 0;
  }
  free(map);
  return ok ? ng : NULL;
}

typedef struct Walk {
  Program *p;
  PassCtx *cx;
  int nloops; /* loops rewritten */
  bool failed;
} Walk;

/* Rewrites the loop list[i] (an ST_FOR) when it is a generation loop the pass can prove;
 * returns the number of statements inserted before it. */
static int rewrite_loop(Walk *w, Stmt *parent, bool orelse, Stmt *list, int i) {
  Program *p = w->p;
  Stmt *loop = &list[i];
  int j = -1, app = -1;
  for (int k = 0; k < loop->nbody; k++)
    if (loop->body[k].kind == ST_APPEND) app = k;
  /* the model: ST_EXTENT of its window's length, host assignments (x.size(1) held in a
     host int), the graph that reads the window: body[j..jg] */
  int jg = -1;
  bool attn = false; /* the candidate has a [T, T] value: the model, not a read of the tokens */
  for (int k = 0; app >= 0 && !attn && k + 1 < loop->nbody; k++) {
    if (loop->body[k].kind != ST_EXTENT) continue;
    int e = k + 1;
    while (e < loop->nbody && loop->body[e].kind == ST_ASSIGN) e++;
    const Stmt *gs = e < loop->nbody ? &loop->body[e] : NULL;
    if (gs && gs->kind == ST_GRAPH && gs->graph >= 0 && p->graphs[gs->graph]->loader == loop->body[k].loader) {
      const Graph *g = p->graphs[gs->graph];
      bool win = false;
      for (int n = 0; n < g->n; n++) {
        win |= g->nodes[n].op == OP_NARROW && g->nodes[n].attr.i[2] && g->nodes[g->nodes[n].in[0]].op == OP_INPUT &&
               g->nodes[g->nodes[n].in[0]].attr.var == loop->body[app].vars[0];
        attn |= sym_count(&g->nodes[n].shape) == 2;
      }
      if (win) j = k, jg = e;
      else attn = false;
    }
  }
  if (j < 0) return 0;
  int gi = loop->body[jg].graph;
  Plan pl = {.p = p, .g = p->graphs[gi], .buf = loop->body[app].vars[0], .bad = -1};
  pl.consumed = calloc((size_t)pl.g->n, 1);
  pl.arange = calloc((size_t)pl.g->n, 1);
  pl.uses = calloc((size_t)pl.g->n, sizeof *pl.uses);
  ir_use_counts(pl.g, pl.uses);
  int lline = line_of(p, loop->loc), where = 0;
  int inserted = 0;
  int sized = -1; /* a host int of the window's length that the model reads */
  for (int k = 0; k < pl.g->n && sized < 0; k++)
    if (pl.g->nodes[k].op == OP_HOSTVAR && pl.g->nodes[k].attr.var != pl.at)
      sized = assigned_from_extent(p, loop->body, loop->nbody, pl.g->nodes[k].attr.var, loop->body[j].loader);
  bool ok = analyze(&pl);
  if (ok && sized >= 0) ok = block(&pl, -1, "the window's length (x.size()) is used as a number at line %d", sized);
  if (!ok) {
    explain(w->cx, "the generation loop at line %d (%s): left as full recompute: %s", lline, pl.g->name,
            pl.why[0] ? pl.why : "no window of the token buffer");
  } else if (body_writes(p, loop->body, loop->nbody, &pl, loop->body[app].hvar, &where)) {
    explain(w->cx, "the generation loop at line %d (%s): left as full recompute: the statement at line %d changes "
            "what the model reads (its weights, its buffers, or the tokens already cached)", lline, pl.g->name, where);
  } else {
    int nl = w->nloops;
    Loc loc = loop->loc;
    int hc = ir_hvar_new(p, arena_printf(p->arena, "kvcache%d_len", nl), false);
    int hok = ir_hvar_new(p, arena_printf(p->arena, "kvcache%d_ok", nl), false);
    const Loader *ld = &p->loaders[loop->body[j].loader];
    Loader nld = *ld;
    nld.name = arena_printf(p->arena, "kvcache%d_new", nl);
    int L2 = ir_loader_new(p, &nld);
    IrErr err = {.off = -1};
    Graph *dg = decode_graph(p, &pl, nl, hc, L2, &err);
    int bad = dg ? check_graph(p, &pl, nl, loc, &err) : -1;
    if (!dg || bad < 0) {
      w->cx->err = err;
      w->failed = true;
      free(pl.consumed), free(pl.arange), free(pl.uses), free(pl.att);
      return 0;
    }
    int cgi = p->ngraphs - 1, dgi = dg->id;
    /* the loop body: the model's two statements become the choice */
    Stmt ext = loop->body[j];
    HostExpr *n = ext.expr;
    HostExpr *cond = hx_bin(p, HB_AND, hx_bin(p, HB_AND, hx_bin(p, HB_NE, hx_var(p, hok), hx_int(p, 0)),
                                                   hx_bin(p, HB_EQ, hx_var(p, pl.at), hx_int(p, 0))),
                            hx_bin(p, HB_GT, n, hx_var(p, hc)));
    Stmt *nb = NULL;
    int nn = 0, capn = 0;
    for (int k = 0; k < loop->nbody; k++) {
      if (k > j && k <= jg) continue;
      if (k != j) {
        Stmt *s = ir_stmt_push(p, &nb, &nn, &capn, loop->body[k].kind, loop->body[k].loc);
        *s = loop->body[k];
        continue;
      }
      Stmt *s = ir_stmt_push(p, &nb, &nn, &capn, ST_IF, ext.loc);
      s->expr = cond;
      /* then: the window's length as before (host ints may read it), the new positions'
         count, the assignments, the decode step; else: the statements as they were */
      Stmt *t = ir_stmt_push(p, &s->body, &s->nbody, &s->capbody, ST_EXTENT, ext.loc);
      *t = ext;
      t = ir_stmt_push(p, &s->body, &s->nbody, &s->capbody, ST_EXTENT, ext.loc);
      t->loader = L2;
      t->expr = hx_bin(p, HB_SUB, n, hx_var(p, hc));
      t->expr->size = true;
      for (int a = j + 1; a < jg; a++) {
        t = ir_stmt_push(p, &s->body, &s->nbody, &s->capbody, ST_ASSIGN, loop->body[a].loc);
        *t = loop->body[a];
      }
      t = ir_stmt_push(p, &s->body, &s->nbody, &s->capbody, ST_GRAPH, loop->body[jg].loc);
      t->graph = dgi;
      t = ir_stmt_push(p, &s->body, &s->nbody, &s->capbody, ST_ASSIGN, ext.loc);
      t->hvar = hc;
      t->expr = n;
      for (int a = j; a <= jg; a++) {
        t = ir_stmt_push(p, &s->orelse, &s->norelse, &s->capelse, loop->body[a].kind, loop->body[a].loc);
        *t = loop->body[a];
      }
      t = ir_stmt_push(p, &s->orelse, &s->norelse, &s->capelse, ST_ASSIGN, ext.loc);
      t->hvar = hc;
      t->expr = hx_int(p, 0);
    }
    loop->body = nb;
    loop->nbody = nn;
    loop->capbody = capn;
    /* before the loop: an empty cache, and the masks checked (list[i] moves on each insert) */
    Stmt *s = ir_stmt_insert(p, parent, orelse, i, ST_ASSIGN, loc);
    s->hvar = hc;
    s->expr = hx_int(p, 0);
    s = ir_stmt_insert(p, parent, orelse, i + 1, ST_GRAPH, loc);
    s->graph = cgi;
    s = ir_stmt_insert(p, parent, orelse, i + 2, ST_ASSIGN, loc);
    s->hvar = hok;
    HostExpr *item = ir_hx(p, HX_ITEM);
    item->var = bad;
    s->expr = hx_bin(p, HB_EQ, item, hx_int(p, 0));
    inserted = 3;
    int64_t bytes = 0;
    for (int a = 0; a < pl.natt; a++) {
      const Node *q = nd(&pl, pl.att[a].q), *v = nd(&pl, pl.att[a].v);
      bytes += 4 * (shape_numel(&q->shape) + shape_numel(&v->shape));
    }
    explain(w->cx, "the generation loop at line %d (%s): prefill and decode in %s with K and V caches for %d causal "
            "attention%s (%lld KiB); each step computes only the new positions while the window starts at the "
            "buffer's start, and recomputes the window once it slides; the masks (%s%s) are checked causal "
            "when the loop starts, else every step recomputes", lline, pl.g->name, dg->name, pl.natt,
            pl.natt == 1 ? "" : "s", (long long)(bytes / 1024), p->vars[pl.att[0].mask].name,
            pl.natt > 1 ? ", ..." : "");
    w->nloops++;
  }
  free(pl.consumed), free(pl.arange), free(pl.uses), free(pl.att);
  return inserted;
}

static void walk(Walk *w, Stmt *parent, bool orelse, Stmt **list, int *n) {
  for (int i = 0; i < *n && !w->failed; i++) {
    Stmt *s = &(*list)[i];
    if (s->kind == ST_FOR) {
      int k = rewrite_loop(w, parent, orelse, *list, i);
      if (w->failed) return;
      i += k;
      s = &(*list)[i];
    }
    walk(w, s, false, &s->body, &s->nbody);
    walk(w, s, true, &s->orelse, &s->norelse);
  }
}

Program *pass_kvcache(const Program *in, PassCtx *cx) {
  bool any = false;
  for (int l = 0; l < in->nloaders; l++) any |= in->loaders[l].kind == LD_EXTENT;
  if (!any) return (Program *)in;
  Program *p = ir_program_clone(in);
  Walk w = {.p = p, .cx = cx};
  walk(&w, NULL, false, &p->stmts, &p->nstmts);
  if (w.failed) {
    ir_program_free(p);
    return NULL;
  }
  if (!w.nloops) {
    ir_program_free(p);
    return (Program *)in;
  }
  return p;
}

void kvcache_report(const Program *p, FILE *f) {
  for (int l = 0;; l++) {
    int64_t bytes = 0, nat = 0, lead = 0, D = 0, cap = 0;
    for (int v = 0; v < p->nvars; v++) {
      const Var *V = &p->vars[v];
      int loop, a;
      char kind;
      if (sscanf(V->name, "kvcache%d_%c%d", &loop, &kind, &a) != 3 || loop != l || (kind != 'k' && kind != 'v'))
        continue;
      bytes += shape_numel(&V->shape) * (int64_t)dt_size(V->dtype);
      if (kind == 'k') {
        int r = V->shape.rank;
        nat++;
        lead = shape_numel(&V->shape) / (V->shape.d[r - 2] * V->shape.d[r - 1]);
        D = V->shape.d[r - 2];
        cap = V->shape.d[r - 1];
      }
    }
    if (!nat) break;
    fprintf(f, "kvcache: generation loop %d: K and V caches: 2 x %lld attentions x %lld (batch x heads) x %lld positions x %lld x 4 B = %lld KiB\n",
            l, (long long)nat, (long long)lead, (long long)cap, (long long)D, (long long)(bytes / 1024));
  }
}
