/*
 * prune.c — the prune pass: structured pruning that shrinks the code.
 *
 * Purpose: after structured pruning of a Linear's output neurons has been made permanent
 *   (prune.remove() after prune.ln_structured(m, "weight", amount, n, dim=0), or the
 *   curriculum's structured_prune), the removed neurons disappear: their rows of the
 *   weight and the bias, the next Linear's input columns, and the checkpoint's entries.
 *   Every later graph computes with [K, in] / [K] / [out, K] arrays (K the neurons kept),
 *   so its loops and arrays are narrower (`ttc diff F --pass=prune`).
 * Requires: Var.prune_keep on the weight (set by the front end, which knows K at compile
 *   time: the pruning amount); which rows are kept is known only at run time.
 * Produces: at the point after which the layer's weights are never written again (the
 *   last statement writing the weight, the bias or the next weight), a graph that picks
 *   the K rows that are not all zero (a stable sort, so in index order), gathers the
 *   smaller weights into new variables (NAME_pruned) and folds what the dropped neurons
 *   still contribute into the next layer's bias: a dropped neuron's weight row is zero, so
 *   its output is the constant act(bias) (relu(b), tanh(b), ...), and next(x) gains
 *   W2[:, dropped] @ act(b1[dropped]). More than K rows alive there (training after
 *   remove() let pruned rows grow back) stops the program with an error naming the pass:
 *   never a different result. Later graphs read the new variables; later checkpoints
 *   (torch.save) save them. Inference results equal the unpruned-shape program's up to
 *   float rounding (the folded sum is added in another order).
 * Declines (--explain=prune says why) unless every later use of the weights is the
 *   pattern next(act(x @ W1^T + b1)) (Linear, elementwise one-input activations, Linear
 *   with a bias), nothing later writes W1, b1 or W2 (no training after the point: a pruned
 *   neuron would get gradients in PyTorch), no graph runs both before and after the point,
 *   and nothing later prints or otherwise reads them.
 *
 * Second part, unstructured pruning (the sparse Linear, docs/PRUNING.md):
 * Purpose: a Linear's product x @ W^T whose weight is proven mostly zeros, at few rows of x,
 *   computed by runtime/sparse.c's sparse kernel (the dense GEMM's bits) instead of the GEMM.
 * Requires: nothing from the front end: the pass bounds every value's nonzeros itself (the
 *   mask of l1/random_unstructured has exactly n - k ones, k the call's amount).
 * Produces: per weight (a variable, or a pruned module's orig * mask), the variables
 *   NAME_sparse_index and NAME_sparse_values, the graph NAME_sparse_pack that fills them
 *   and the host flag NAME_sparse_stale: 1 at the start and after every statement that
 *   writes the weight's variables, and `if (stale) { pack; stale = 0 }` before every
 *   statement that runs a graph with a sparse product. The product becomes sparse_linear
 *   where the proven density is at or below the measured crossover for its rows
 *   (sparse_max_density) and its graph does not write the weight; --explain=prune says,
 *   for every Linear of a graph that runs, which kernel and why, at its .tt line.
 */
#include "passes.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 8

typedef struct Layer {
  int w1, b1, w2, b2; /* vars */
  Op chain[MAX_CHAIN];
  Attr chain_attr[MAX_CHAIN];
  int nchain;         /* -1 until the first instance is matched */
} Layer;

static void explain(PassCtx *cx, const Program *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void explain(PassCtx *cx, const Program *p, const char *fmt, ...) {
  if (!cx || !cx->explain) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(cx->explain, "prune: %s: ", p->filename ? p->filename : "<input>");
  vfprintf(cx->explain, fmt, ap);
  fputc('\n', cx->explain);
  va_end(ap);
}

/* ---- what the statements run and write ------------------------------------------------ */

static void mark_graphs(const Stmt *s, int n, bool *runs) {
  for (int i = 0; i < n; i++) {
    if (s[i].kind == ST_GRAPH && s[i].graph >= 0) runs[s[i].graph] = true;
    mark_graphs(s[i].body, s[i].nbody, runs);
    mark_graphs(s[i].orelse, s[i].norelse, runs);
  }
}

static bool graph_writes(const Graph *g, int var) {
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if (n->op == OP_STORE && n->attr.var == var) return true;
    if (ir_ops[n->op].flags & OPF_OPTIM)
      for (int k = 0; k < n->attr.nints; k++)
        if (n->attr.ints[k] == var) return true;
  }
  return false;
}

static bool stmts_write(const Program *p, const Stmt *s, int n, int var) {
  for (int i = 0; i < n; i++) {
    if (s[i].kind == ST_GRAPH && s[i].graph >= 0 && graph_writes(p->graphs[s[i].graph], var)) return true;
    if (s[i].kind == ST_LOAD)
      for (int k = 0; k < s[i].nkeys; k++)
        if (s[i].vars[k] == var) return true;
    if (stmts_write(p, s[i].body, s[i].nbody, var) || stmts_write(p, s[i].orelse, s[i].norelse, var)) return true;
  }
  return false;
}

/* The last top-level statement that writes var, or -1. */
static int last_write(const Program *p, int var) {
  int at = -1;
  for (int i = 0; i < p->nstmts; i++)
    if (stmts_write(p, &p->stmts[i], 1, var)) at = i;
  return at;
}

/* Whether a host statement after the point reads var other than by saving it. */
static bool expr_reads(const HostExpr *e, int var) {
  if (!e) return false;
  if (e->kind == HX_ITEM && e->var == var) return true;
  return expr_reads(e->a, var) || expr_reads(e->b, var);
}

static bool stmts_read_host(const Stmt *s, int n, int var) {
  for (int i = 0; i < n; i++) {
    const Stmt *t = &s[i];
    if (expr_reads(t->expr, var) || expr_reads(t->expr2, var)) return true;
    if (t->kind == ST_PRINT || t->kind == ST_POSTFIX)
      for (int k = 0; k < t->nitems; k++)
        if (t->items[k].var == var || expr_reads(t->items[k].expr, var)) return true;
    if (t->kind == ST_CALL)
      for (int k = 0; k < t->nkeys; k++)
        if (t->vars[k] == var) return true;
    if (stmts_read_host(t->body, t->nbody, var) || stmts_read_host(t->orelse, t->norelse, var)) return true;
  }
  return false;
}

/* ---- the pattern next(act(x @ W1^T + b1)) --------------------------------------------- */

static int input_var(const Graph *g, int id) {
  const Node *n = &g->nodes[id];
  return n->op == OP_INPUT ? n->attr.var : -1;
}

/* The users of each node. */
typedef struct Users {
  int *start, *list;
} Users;

static Users users_of(const Graph *g) {
  Users u;
  u.start = calloc((size_t)g->n + 1, sizeof(int));
  int total = 0;
  for (int id = 0; id < g->n; id++) total += g->nodes[id].nin;
  u.list = malloc(sizeof(int) * (size_t)(total + 1));
  for (int id = 0; id < g->n; id++)
    for (int k = 0; k < g->nodes[id].nin; k++) u.start[g->nodes[id].in[k] + 1]++;
  for (int i = 0; i < g->n; i++) u.start[i + 1] += u.start[i];
  int *fill = calloc((size_t)g->n + 1, sizeof(int));
  for (int id = 0; id < g->n; id++)
    for (int k = 0; k < g->nodes[id].nin; k++) {
      int s = g->nodes[id].in[k];
      u.list[u.start[s] + fill[s]++] = id;
    }
  free(fill);
  return u;
}

static int nusers(const Users *u, int id) { return u->start[id + 1] - u->start[id]; }
static int user(const Users *u, int id, int k) { return u->list[u->start[id] + k]; }

/* A Linear's matmul: x @ W^T with W the INPUT at in[1]. */
static bool linear_mm(const Graph *g, int id, int wnode) {
  const Node *n = &g->nodes[id];
  return n->op == OP_MATMUL && n->nin == 2 && n->in[1] == wnode && n->attr.i[0] == 1 && n->attr.i[1] == 0;
}

/* x, or the end of the chain of detaches (no_grad's marks: views) that is x's only use. */
static int skip_detach(const Graph *g, const Users *u, int x) {
  while (nusers(u, x) == 1 && g->nodes[user(u, x, 0)].op == OP_DETACH) x = user(u, x, 0);
  return x;
}

/* The add of a bias INPUT to node x: the add's id, *bvar its variable; -1 if not that. */
static int bias_add(const Graph *g, const Users *u, int x, int *bvar, int *bnode) {
  x = skip_detach(g, u, x);
  if (nusers(u, x) != 1) return -1;
  int a = user(u, x, 0);
  const Node *n = &g->nodes[a];
  if (n->op != OP_ADD || n->nin != 2) return -1;
  int other = n->in[0] == x ? n->in[1] : n->in[0];
  int v = input_var(g, other);
  if (v < 0 || g->nodes[other].shape.rank != 1) return -1;
  *bvar = v;
  *bnode = other;
  return a;
}

/*
 * Matches every use of W1's INPUT node w in graph g as the pattern, filling L (the first
 * match sets it; later ones must agree) and counting the pattern's uses of each variable's
 * INPUT nodes in used[] (by node id). False with *why set when a use does not match.
 */
static bool match_graph(const Graph *g, const Users *u, int w, Layer *L, int *used, const char **why) {
  for (int k = 0; k < nusers(u, w); k++) {
    int mm = user(u, w, k);
    if (!linear_mm(g, mm, w)) return *why = "the weight is used other than as a Linear's x @ W^T", false;
    used[w]++;
    int b1 = -1, b1node = -1;
    int a = bias_add(g, u, mm, &b1, &b1node);
    if (a < 0) return *why = "the Linear's product is not followed by the add of its bias alone", false;
    if (L->b1 >= 0 && L->b1 != b1) return *why = "two different biases follow the weight", false;
    L->b1 = b1;
    used[b1node]++;
    /* the elementwise one-input ops between the bias and the next Linear */
    int cur = skip_detach(g, u, a), nchain = 0;
    Op chain[MAX_CHAIN];
    Attr cattr[MAX_CHAIN];
    for (; nusers(u, cur) == 1; cur = skip_detach(g, u, cur)) {
      const Node *n = &g->nodes[user(u, cur, 0)];
      if (!(ir_ops[n->op].flags & OPF_EW) || n->nin != 1 || n->op == OP_CAST || n->dtype != g->nodes[cur].dtype) break;
      if (nchain == MAX_CHAIN) return *why = "too many activation ops between the two Linears", false;
      chain[nchain] = n->op;
      cattr[nchain++] = n->attr;
      cur = user(u, cur, 0);
    }
    cur = skip_detach(g, u, cur);
    if (L->nchain >= 0 && (L->nchain != nchain || memcmp(L->chain, chain, sizeof(Op) * (size_t)nchain)))
      return *why = "the activations between the two Linears differ from one use to another", false;
    L->nchain = nchain;
    memcpy(L->chain, chain, sizeof(Op) * (size_t)nchain);
    memcpy(L->chain_attr, cattr, sizeof(Attr) * (size_t)nchain);
    if (nusers(u, cur) == 0) return *why = "the hidden activations are not used by a next Linear", false;
    for (int j = 0; j < nusers(u, cur); j++) {
      int m2 = user(u, cur, j);
      const Node *n2 = &g->nodes[m2];
      int w2 = n2->op == OP_MATMUL && n2->nin == 2 && n2->in[0] == cur ? input_var(g, n2->in[1]) : -1;
      if (w2 < 0 || !linear_mm(g, m2, n2->in[1]))
        return *why = "the hidden activations are used other than by the next Linear's x @ W^T", false;
      if (L->w2 >= 0 && L->w2 != w2) return *why = "the hidden activations feed two different Linears", false;
      L->w2 = w2;
      used[n2->in[1]]++;
      int b2 = -1, b2node = -1;
      int a2 = bias_add(g, u, m2, &b2, &b2node);
      if (a2 < 0) return *why = "the next Linear has no bias to take what the removed neurons still add", false;
      if (L->b2 >= 0 && L->b2 != b2) return *why = "the next Linear's bias differs from one use to another", false;
      L->b2 = b2;
      used[b2node]++;
    }
  }
  return true;
}

/* ---- the rewrite ------------------------------------------------------------------------- */

static int add_or_fail(Graph *g, Op op, const int32_t *in, int nin, const Attr *at, Loc loc, IrErr *err, bool *ok) {
  if (!*ok) return -1;
  int id = ir_add(g, op, in, nin, at, loc, err);
  if (id < 0) *ok = false;
  return id;
}

/* Rows [lo, hi) of a 1-D index tensor. */
static int slice1(Graph *g, int x, int64_t lo, int64_t hi, Loc loc, IrErr *err, bool *ok) {
  Attr at = {0};
  int64_t t[3] = {lo, hi, 1};
  at.ints = ir_ints(g, t, 3);
  at.nints = 3;
  return add_or_fail(g, OP_SLICE, (int32_t[]){x}, 1, &at, loc, err, ok);
}

static int reshape(Graph *g, int x, int rank, const int64_t *d, Loc loc, IrErr *err, bool *ok) {
  Attr at = {0};
  at.ints = ir_ints(g, d, rank);
  at.nints = rank;
  return add_or_fail(g, OP_RESHAPE, (int32_t[]){x}, 1, &at, loc, err, ok);
}

static int transpose2(Graph *g, int x, Loc loc, IrErr *err, bool *ok) {
  Attr at = {0};
  int64_t order[2] = {1, 0};
  at.ints = ir_ints(g, order, 2);
  at.nints = 2;
  return add_or_fail(g, OP_PERMUTE, (int32_t[]){x}, 1, &at, loc, err, ok);
}

static int store(Graph *g, int x, int var, Loc loc, IrErr *err, bool *ok) {
  Attr at = {0};
  at.var = var;
  return add_or_fail(g, OP_STORE, (int32_t[]){x}, 1, &at, loc, err, ok);
}

static int input(Graph *g, const Program *p, int var, Loc loc) {
  Attr at = {0};
  at.var = var;
  return ir_add_source(g, OP_INPUT, p->vars[var].dtype, p->vars[var].shape, &at, loc);
}

/* Builds the compaction graph; live is the scalar var that gets the number of live rows. */
static bool build_compact(Program *p, Graph *g, const Layer *L, const int nv[4], int live, int64_t keep, Loc loc, IrErr *err) {
  bool ok = true;
  const Var *W1 = &p->vars[L->w1], *W2 = &p->vars[L->w2];
  int64_t H = W1->shape.d[0], IN = W1->shape.d[1], OUT = W2->shape.d[0];
  int w1 = input(g, p, L->w1, loc);
  /* each row's sum of |w|: zero for a removed neuron */
  int ab = add_or_fail(g, OP_ABS, (int32_t[]){w1}, 1, NULL, loc, err, &ok);
  Attr red = {0};
  red.i[0] = 1 << 1;
  int rs = add_or_fail(g, OP_SUM, (int32_t[]){ab}, 1, &red, loc, err, &ok);
  Attr zero = {0};
  int z = ir_add_source(g, OP_FILL, W1->dtype, shape_scalar(), &zero, loc);
  int dead = add_or_fail(g, OP_EQ, (int32_t[]){rs, z}, 2, NULL, loc, err, &ok);
  Attr to64 = {0};
  to64.i[0] = DT_I64;
  int dead64 = add_or_fail(g, OP_CAST, (int32_t[]){dead}, 1, &to64, loc, err, &ok);
  /* the live rows first, in index order (a stable sort), then the dead ones */
  Attr srt = {0};
  int order = add_or_fail(g, OP_ARGSORT, (int32_t[]){dead64}, 1, &srt, loc, err, &ok);
  int kept = slice1(g, order, 0, keep, loc, err, &ok);
  int alive = add_or_fail(g, OP_GT, (int32_t[]){rs, z}, 2, NULL, loc, err, &ok);
  int alive64 = add_or_fail(g, OP_CAST, (int32_t[]){alive}, 1, &to64, loc, err, &ok);
  Attr all = {0};
  all.i[0] = 1;
  int nlive = add_or_fail(g, OP_SUM, (int32_t[]){alive64}, 1, &all, loc, err, &ok);
  store(g, nlive, live, loc, err, &ok);
  /* W1[kept], b1[kept], W2[:, kept] */
  int w1k = add_or_fail(g, OP_EMBEDDING, (int32_t[]){w1, kept}, 2, NULL, loc, err, &ok);
  store(g, w1k, nv[0], loc, err, &ok);
  int b1 = input(g, p, L->b1, loc);
  int b1c = reshape(g, b1, 2, (int64_t[]){H, 1}, loc, err, &ok);
  int b1k = add_or_fail(g, OP_EMBEDDING, (int32_t[]){b1c, kept}, 2, NULL, loc, err, &ok);
  store(g, reshape(g, b1k, 1, (int64_t[]){keep}, loc, err, &ok), nv[1], loc, err, &ok);
  int w2 = input(g, p, L->w2, loc);
  int w2t = transpose2(g, w2, loc, err, &ok);
  int w2k = add_or_fail(g, OP_EMBEDDING, (int32_t[]){w2t, kept}, 2, NULL, loc, err, &ok);
  store(g, transpose2(g, w2k, loc, err, &ok), nv[2], loc, err, &ok);
  /* b2 + W2[:, dropped] @ act(b1[dropped]) */
  int b2 = input(g, p, L->b2, loc);
  int b2n = b2;
  if (keep < H) {
    int drop = slice1(g, order, keep, H, loc, err, &ok);
    int b1d = add_or_fail(g, OP_EMBEDDING, (int32_t[]){b1c, drop}, 2, NULL, loc, err, &ok);
    int c = b1d; /* [H - K, 1]: the dropped neurons' constant outputs */
    for (int i = 0; i < L->nchain; i++) c = add_or_fail(g, L->chain[i], (int32_t[]){c}, 1, &L->chain_attr[i], loc, err, &ok);
    int w2d = add_or_fail(g, OP_EMBEDDING, (int32_t[]){w2t, drop}, 2, NULL, loc, err, &ok); /* [H - K, OUT] */
    int prod = add_or_fail(g, OP_MUL, (int32_t[]){w2d, c}, 2, NULL, loc, err, &ok);
    Attr r0 = {0};
    r0.i[0] = 1;
    int fold = add_or_fail(g, OP_SUM, (int32_t[]){prod}, 1, &r0, loc, err, &ok);
    b2n = add_or_fail(g, OP_ADD, (int32_t[]){b2, fold}, 2, NULL, loc, err, &ok);
  }
  store(g, b2n, nv[3], loc, err, &ok);
  (void)IN;
  (void)OUT;
  return ok;
}

static void replace_vars(const Stmt *s, int n, const int from[4], const int to[4]) {
  for (int i = 0; i < n; i++) {
    Stmt *t = (Stmt *)&s[i];
    if (t->kind == ST_SAVE)
      for (int k = 0; k < t->nkeys; k++)
        for (int j = 0; j < 4; j++)
          if (t->vars[k] == from[j]) t->vars[k] = to[j];
    replace_vars(t->body, t->nbody, from, to);
    replace_vars(t->orelse, t->norelse, from, to);
  }
}

/* One candidate: the weight var w1 of p (modified in place); false with *why when declined. */
static bool compact_layer(Program *p, int w1, PassCtx *cx, const char **why, bool *failed) {
  int64_t keep = p->vars[w1].prune_keep;
  Layer L = {.w1 = w1, .b1 = -1, .w2 = -1, .b2 = -1, .nchain = -1};
  if (p->vars[w1].shape.rank != 2 || keep <= 0 || keep > p->vars[w1].shape.d[0])
    return *why = "not a [out, in] weight with a kept count", false;
  bool *before = calloc((size_t)p->ngraphs + 1, 1), *after = calloc((size_t)p->ngraphs + 1, 1);
  int at = last_write(p, w1), prev = -2;
  bool ok = false;
  if (at < 0) {
    free(before);
    free(after);
    return *why = "nothing writes the weight", false;
  }
  for (int round = 0; round < 4 && at != prev; round++) {
    prev = at;
    memset(before, 0, (size_t)p->ngraphs + 1);
    memset(after, 0, (size_t)p->ngraphs + 1);
    mark_graphs(p->stmts, at + 1, before);
    mark_graphs(p->stmts + at + 1, p->nstmts - at - 1, after);
    L.b1 = L.w2 = L.b2 = -1;
    L.nchain = -1;
    ok = true;
    for (int gi = 0; gi < p->ngraphs && ok; gi++) {
      if (!after[gi]) continue;
      const Graph *g = p->graphs[gi];
      Users u = users_of(g);
      int *used = calloc((size_t)g->n + 1, sizeof(int));
      for (int id = 0; id < g->n && ok; id++)
        if (input_var(g, id) == w1) ok = match_graph(g, &u, id, &L, used, why);
      free(used);
      free(u.start);
      free(u.list);
    }
    if (!ok) break;
    if (L.w2 < 0) {
      ok = false;
      *why = "nothing after the point where the weight stops changing computes with it";
      break;
    }
    int lw = at;
    int vs[3] = {L.b1, L.w2, w1};
    for (int k = 0; k < 3; k++) {
      int x = last_write(p, vs[k]);
      if (x > lw) lw = x;
    }
    at = lw;
  }
  if (ok && at != prev) ok = false, *why = "the point after which the weights stop changing does not settle";
  /* every later read of W1, b1, W2, b2 must be the pattern's, in graphs that run only later */
  int vs[4] = {w1, L.b1, L.w2, L.b2};
  for (int gi = 0; gi < p->ngraphs && ok; gi++) {
    if (!after[gi]) continue;
    if (before[gi]) {
      ok = false, *why = "a graph that computes with the weights runs both before and after they stop changing";
      break;
    }
    const Graph *g = p->graphs[gi];
    Users u = users_of(g);
    int *used = calloc((size_t)g->n + 1, sizeof(int));
    Layer L2 = L;
    for (int id = 0; id < g->n && ok; id++)
      if (input_var(g, id) == w1) ok = match_graph(g, &u, id, &L2, used, why);
    for (int id = 0; id < g->n && ok; id++) {
      int v = input_var(g, id);
      for (int k = 0; k < 4 && ok; k++)
        if (v == vs[k] && used[id] != nusers(&u, id))
          ok = false, *why = "a later computation uses the weights or biases other than as the two Linears";
    }
    for (int k = 0; k < 4 && ok; k++)
      if (graph_writes(g, vs[k])) ok = false, *why = "the weights are written after the point";
    free(used);
    free(u.start);
    free(u.list);
  }
  for (int k = 0; k < 4 && ok; k++)
    if (stmts_read_host(p->stmts + at + 1, p->nstmts - at - 1, vs[k]))
      ok = false, *why = "a later statement prints or reads the weights";
  if (!ok) {
    free(before);
    free(after);
    return false;
  }
  /* the new variables and the graph that fills them, after statement `at` */
  int nv[4];
  static const char *const suffix = "_pruned";
  for (int k = 0; k < 4; k++) {
    const Var *v = &p->vars[vs[k]];
    Shape s = v->shape;
    if (k == 0 || k == 1) s.d[0] = keep;
    if (k == 2) s.d[1] = keep;
    char name[256];
    snprintf(name, sizeof name, "%s%s", v->name, suffix);
    nv[k] = ir_var_new(p, name, VAR_PARAM, v->dtype, s);
  }
  int live = ir_var_new(p, "pruned_live_rows", VAR_VALUE, DT_I64, shape_scalar());
  Loc loc = p->stmts[at].loc;
  Graph *g = ir_graph_new(p, loc);
  g->name = "prune_compact";
  if (!build_compact(p, g, &L, nv, live, keep, loc, &cx->err)) {
    *failed = true;
    free(before);
    free(after);
    return false;
  }
  Stmt *s = ir_stmt_insert(p, NULL, false, at + 1, ST_GRAPH, loc);
  s->graph = g->id;
  /* more live rows than kept: the program would compute something else, so it stops */
  Stmt *chk = ir_stmt_insert(p, NULL, false, at + 2, ST_IF, loc);
  HostExpr *e = ir_hx(p, HX_BIN), *item = ir_hx(p, HX_ITEM), *k = ir_hx(p, HX_INT);
  item->var = live;
  k->i = keep;
  e->op = HB_GT;
  e->a = item;
  e->b = k;
  chk->expr = e;
  Stmt *r = ir_stmt_push(p, &chk->body, &chk->nbody, &chk->capbody, ST_RAISE, loc);
  r->path = arena_printf(p->arena, "RuntimeError: the prune pass kept %lld rows of %s, but more are not zero "
                                   "(they changed after pruning); compile without --passes=...prune",
                         (long long)keep, p->vars[w1].name);
  /* later graphs and checkpoints use the smaller variables */
  for (int gi = 0; gi < p->ngraphs; gi++) {
    if (gi == g->id || !after[gi]) continue;
    Graph *lg = p->graphs[gi];
    for (int id = 0; id < lg->n; id++)
      if (lg->nodes[id].op == OP_INPUT)
        for (int j = 0; j < 4; j++)
          if (lg->nodes[id].attr.var == vs[j]) {
            lg->nodes[id].attr.var = nv[j];
            break;
          }
    if (!ir_graph_reinfer(p, lg, &cx->err)) { /* a shape the pattern did not foresee */
      *why = arena_printf(p->arena, "a later graph's shapes do not follow the narrower arrays (%s)", cx->err.msg);
      *failed = true;
      free(before);
      free(after);
      return false;
    }
  }
  replace_vars(p->stmts + at + 3, p->nstmts - at - 3, vs, nv);
  const Var *W1 = &p->vars[w1], *W2 = &p->vars[L.w2];
  explain(cx, p, "%s [%lld,%lld] -> [%lld,%lld], %s [%lld] -> [%lld], %s [%lld,%lld] -> [%lld,%lld] after top-level "
          "statement %d (%d activation op%s folded into %s)", W1->name, (long long)W1->shape.d[0],
          (long long)W1->shape.d[1], (long long)keep, (long long)W1->shape.d[1], p->vars[L.b1].name,
          (long long)W1->shape.d[0], (long long)keep, W2->name, (long long)W2->shape.d[0], (long long)W2->shape.d[1],
          (long long)W2->shape.d[0], (long long)keep, at, L.nchain, L.nchain == 1 ? "" : "s", p->vars[L.b2].name);
  free(before);
  free(after);
  return true;
}

/* ---- sparse Linears: unstructured pruning of 80% or more ---------------------------------- */

/*
 * What the pass can prove about zeros: for every node and, between statements, every
 * variable, bounds on its number of nonzero elements (lo, hi) and whether its values are
 * all 0 or 1 (a mask). A small abstract interpretation over the whole program: a graph's
 * nodes in order (an INPUT reads its variable's bounds, a STORE sets them, an optimizer step
 * or a checkpoint load knows nothing), loops to a fixed point, an if's branches joined.
 * What makes the bounds tight is torch.nn.utils.prune's mask (frontend/prune.c): each
 * entry's rank among the scores is a permutation of 0..n-1 (an argsort of an argsort), so
 * `rank < k` has exactly k ones, and `1 - that` exactly n - k: the amount of the prune call.
 * The weight then is `orig * mask` (at most n - k nonzeros), in the forward (a pruned
 * module) or stored into the parameter by prune.remove().
 */
typedef struct Nz {
  int64_t lo, hi; /* lo <= nonzero elements <= hi */
  bool bin;       /* every element is 0 or 1 */
} Nz;

static Nz nz_top(int64_t n) { return (Nz){0, n, false}; }
static Nz nz_join(Nz a, Nz b) {
  return (Nz){a.lo < b.lo ? a.lo : b.lo, a.hi > b.hi ? a.hi : b.hi, a.bin && b.bin};
}
static bool nz_eq(Nz a, Nz b) { return a.lo == b.lo && a.hi == b.hi && a.bin == b.bin; }
static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* x's bounds for a node of n elements that broadcasts it (n a multiple of x's elements) */
static Nz nz_bcast(Nz x, int64_t xn, int64_t n) {
  if (xn <= 0 || n % xn) return nz_top(n);
  return (Nz){x.lo * (n / xn), x.hi * (n / xn), x.bin};
}

typedef struct Zeros {
  const Program *p;
  Nz **node;      /* per graph, per node: joined over every run (NULL: never run) */
  bool **perm;    /* per graph, per node: a permutation of 0..n-1 (1-D int) */
} Zeros;

/* a scalar constant or fill's value, or NAN */
static double scalar_of(const Node *n) {
  if (shape_numel(&n->shape) != 1) return NAN;
  if (n->op == OP_FILL) return n->attr.f[0];
  if (n->op != OP_CONST || !n->attr.data) return NAN;
  switch (n->dtype) {
  case DT_F32: return ((const float *)n->attr.data)[0];
  case DT_F64: return ((const double *)n->attr.data)[0];
  case DT_I64: return (double)((const int64_t *)n->attr.data)[0];
  case DT_I32: return ((const int32_t *)n->attr.data)[0];
  default: return NAN;
  }
}

static Nz const_nz(const Node *n) {
  int64_t len = shape_numel(&n->shape), nz = 0;
  bool bin = true;
  for (int64_t i = 0; i < len; i++) {
    double v;
    switch (n->dtype) {
    case DT_F32: v = ((const float *)n->attr.data)[i]; break;
    case DT_F64: v = ((const double *)n->attr.data)[i]; break;
    case DT_I64: v = (double)((const int64_t *)n->attr.data)[i]; break;
    case DT_I32: v = ((const int32_t *)n->attr.data)[i]; break;
    case DT_I8: v = ((const int8_t *)n->attr.data)[i]; break;
    default: v = ((const unsigned char *)n->attr.data)[i]; break;
    }
    nz += v != 0;
    bin &= v == 0 || v == 1;
  }
  return (Nz){nz, nz, bin};
}

/* One run of graph gi with the variables' bounds vs (updated by its stores). */
static void zeros_graph(Zeros *z, int gi, Nz *vs) {
  const Program *p = z->p;
  const Graph *g = p->graphs[gi];
  Nz *nd = malloc(sizeof(Nz) * (size_t)(g->n + 1));
  bool *perm = calloc((size_t)g->n + 1, 1);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    int64_t len = shape_numel(&n->shape);
    Nz r = nz_top(len);
    const Node *a = n->nin > 0 ? &g->nodes[n->in[0]] : NULL, *b = n->nin > 1 ? &g->nodes[n->in[1]] : NULL;
    Nz A = a ? nd[n->in[0]] : r, Bz = b ? nd[n->in[1]] : r;
    int64_t an = a ? shape_numel(&a->shape) : 0, bn = b ? shape_numel(&b->shape) : 0;
    if (a) A = nz_bcast(A, an, len);
    if (b) Bz = nz_bcast(Bz, bn, len);
    switch (n->op) {
    case OP_INPUT:
      if (n->attr.var >= 0 && n->attr.var < p->nvars && shape_numel(&p->vars[n->attr.var].shape) == len)
        r = vs[n->attr.var];
      break;
    case OP_STORE: /* a run-time extent writes only its first rows: the others stay */
      if (n->attr.var >= 0 && n->attr.var < p->nvars)
        vs[n->attr.var] = a->shape.symm ? nz_top(shape_numel(&p->vars[n->attr.var].shape)) : nd[n->in[0]];
      break;
    case OP_CONST:
      if (n->attr.data) r = const_nz(n);
      break;
    case OP_FILL: {
      double v = n->attr.f[0];
      r = v == 0 ? (Nz){0, 0, true} : (Nz){len, len, v == 1};
      break;
    }
    case OP_ARGSORT: /* the positions that order a 1-D tensor (either mode): each of 0..n-1 once */
      perm[id] = n->shape.rank == 1 && n->dtype == DT_I64;
      break;
    case OP_LT: case OP_LE: case OP_GT: case OP_GE: {
      r.bin = true;
      double k = scalar_of(b);
      if (perm[n->in[0]] && k == k && k == (double)(int64_t)k) { /* rank < k: exactly k ones */
        int64_t kk = (int64_t)k, c = n->op == OP_LT ? clamp64(kk, 0, len) : n->op == OP_LE ? clamp64(kk + 1, 0, len)
                                                   : n->op == OP_GE ? len - clamp64(kk, 0, len)
                                                                    : len - clamp64(kk + 1, 0, len);
        r = (Nz){c, c, true};
      }
      break;
    }
    case OP_EQ: case OP_NE:
      r.bin = true;
      break;
    case OP_CAST: /* a bool or 0/1 value keeps its count; other casts may round to zero */
      r = A.bin ? A : (Nz){0, A.hi, false};
      break;
    case OP_DETACH: case OP_RESHAPE: case OP_NEG: case OP_ABS: case OP_PERMUTE:
      r = A;
      if (n->op == OP_NEG) r.bin = A.hi == 0;
      break;
    case OP_RELU:
      r = (Nz){0, A.hi, A.bin};
      break;
    case OP_MUL: /* a zero factor makes a zero; two nonzero floats may underflow to one */
      r.hi = A.hi < Bz.hi ? A.hi : Bz.hi;
      r.bin = A.bin && Bz.bin;
      r.lo = r.bin && A.lo + Bz.lo - len > 0 ? A.lo + Bz.lo - len : 0;
      break;
    case OP_SUB: /* 1 - mask: its zeros and ones swapped */
      if (scalar_of(a) == 1 && Bz.bin) r = (Nz){len - Bz.hi, len - Bz.lo, true};
      else if (Bz.hi == 0) r = A;
      else r.hi = A.hi + Bz.hi < len ? A.hi + Bz.hi : len;
      break;
    case OP_ADD:
      r.hi = A.hi + Bz.hi < len ? A.hi + Bz.hi : len;
      break;
    default:
      if (ir_ops[n->op].flags & OPF_CMP) r.bin = true;
      if (ir_ops[n->op].flags & OPF_OPTIM)
        for (int k = 0; k < n->attr.nints; k++)
          if (n->attr.ints[k] >= 0 && n->attr.ints[k] < p->nvars)
            vs[n->attr.ints[k]] = nz_top(shape_numel(&p->vars[n->attr.ints[k]].shape));
      break;
    }
    nd[id] = r;
  }
  if (!z->node[gi]) {
    z->node[gi] = nd;
    z->perm[gi] = perm;
    return;
  }
  for (int id = 0; id < g->n; id++) {
    z->node[gi][id] = nz_join(z->node[gi][id], nd[id]);
    z->perm[gi][id] &= perm[id];
  }
  free(nd);
  free(perm);
}

static void top_var(const Program *p, Nz *vs, int v) {
  if (v >= 0 && v < p->nvars) vs[v] = nz_top(shape_numel(&p->vars[v].shape));
}

/* Whether a break or continue of this loop is among s (not inside a nested loop). */
static bool jumps(const Stmt *s, int n) {
  for (int i = 0; i < n; i++) {
    if (s[i].kind == ST_BREAK || s[i].kind == ST_CONTINUE) return true;
    if (s[i].kind == ST_IF && (jumps(s[i].body, s[i].nbody) || jumps(s[i].orelse, s[i].norelse))) return true;
  }
  return false;
}

static void zeros_stmts(Zeros *z, const Stmt *s, int n, Nz *vs);

/* A loop's body, run any number of times: the bounds at its head joined to a fixed point. */
static void zeros_loop(Zeros *z, const Stmt *t, Nz *vs) {
  const Program *p = z->p;
  if (jumps(t->body, t->nbody)) /* a jump leaves mid-body: what the body writes is unknown */
    for (int v = 0; v < p->nvars; v++)
      if (stmts_write(p, t->body, t->nbody, v)) top_var(p, vs, v);
  Nz *w = malloc(sizeof(Nz) * (size_t)(p->nvars + 1));
  for (int round = 0;; round++) {
    memcpy(w, vs, sizeof(Nz) * (size_t)p->nvars);
    zeros_stmts(z, t->body, t->nbody, w);
    bool same = true;
    for (int v = 0; v < p->nvars; v++) {
      Nz j = nz_join(vs[v], w[v]);
      if (!nz_eq(j, vs[v])) {
        same = false;
        vs[v] = round < 3 ? j : nz_top(shape_numel(&p->vars[v].shape)); /* widen */
      }
    }
    if (same) break;
  }
  free(w);
}

static void zeros_stmts(Zeros *z, const Stmt *s, int n, Nz *vs) {
  const Program *p = z->p;
  for (int i = 0; i < n; i++) {
    const Stmt *t = &s[i];
    switch (t->kind) {
    case ST_GRAPH:
      if (t->graph >= 0) zeros_graph(z, t->graph, vs);
      break;
    case ST_LOAD: case ST_CALL:
      for (int k = 0; k < t->nkeys; k++) top_var(p, vs, t->vars[k]);
      break;
    case ST_APPEND:
      if (t->vars) top_var(p, vs, t->vars[0]);
      break;
    case ST_LOADER:
      if (t->loader >= 0) {
        top_var(p, vs, p->loaders[t->loader].xvar);
        top_var(p, vs, p->loaders[t->loader].yvar);
      }
      zeros_loop(z, t, vs);
      break;
    case ST_FOR:
      zeros_loop(z, t, vs);
      break;
    case ST_IF: {
      Nz *e = malloc(sizeof(Nz) * (size_t)(p->nvars + 1));
      memcpy(e, vs, sizeof(Nz) * (size_t)p->nvars);
      zeros_stmts(z, t->body, t->nbody, vs);
      zeros_stmts(z, t->orelse, t->norelse, e);
      for (int v = 0; v < p->nvars; v++) vs[v] = nz_join(vs[v], e[v]);
      free(e);
      break;
    }
    default:
      break;
    }
  }
}

/*
 * When the sparse kernel is faster than the dense GEMM, from bench/sparse_bench.c (W
 * [256, 784], one thread, the 2-core Xeon with AVX-512; docs/PRUNING.md): at one row of x it
 * wins below about 40% nonzeros, at 4 rows below 14%, at 16 below 10%, at 64 never above 5%
 * (the GEMM reuses each weight for every row; the gathers do not). The limits are set below
 * those crossovers: the padding of a skewed mask costs more than a random one's.
 */
static double sparse_max_density(int64_t rows) {
  return rows <= 1 ? 0.30 : rows <= 4 ? 0.10 : rows <= 16 ? 0.05 : 0.0;
}

/* One weight that gets a sparse kernel: its sources (the INPUT vars W is made of: W itself,
 * or orig and mask), and what the pass adds for it. */
typedef struct Packed {
  int src[2], nsrc;
  int64_t N, K, hi, cap;
  int wvar;             /* the var the names come from */
  int idx, vals, stale; /* vars, host var */
  int graph;            /* the pack graph */
  Loc loc;
} Packed;

/* W's sources: in[1] through detaches, an INPUT or a MUL of two INPUTs of W's shape. */
static int weight_sources(const Graph *g, int w, int src[2]) {
  while (g->nodes[w].op == OP_DETACH) w = g->nodes[w].in[0];
  const Node *n = &g->nodes[w];
  if (n->op == OP_INPUT) return src[0] = n->attr.var, 1;
  if (n->op != OP_MUL) return 0;
  for (int k = 0; k < 2; k++) {
    int a = n->in[k];
    while (g->nodes[a].op == OP_DETACH) a = g->nodes[a].in[0];
    if (g->nodes[a].op != OP_INPUT || !shape_eq(&g->nodes[a].shape, &n->shape)) return 0;
    src[k] = g->nodes[a].attr.var;
  }
  return 2;
}

typedef struct SparseCtx {
  const int32_t *uids; /* the matmuls to replace, by uid */
  const int *unit;     /* and their Packed */
  int n;
  const Packed *packs;
} SparseCtx;

static int rule_sparse(IrRewrite *rw, int id) {
  const SparseCtx *sc = rw->ctx;
  const Node *n = &rw->in->nodes[id];
  int k = 0;
  while (k < sc->n && sc->uids[k] != n->uid) k++;
  if (k == sc->n) return IR_KEEP;
  const Packed *u = &sc->packs[sc->unit[k]];
  const Program *p = rw->p;
  Attr ai = {0}, av = {0};
  ai.var = u->idx;
  av.var = u->vals;
  int xi = ir_add_source(rw->out, OP_INPUT, DT_I32, p->vars[u->idx].shape, &ai, n->loc);
  int vi = ir_add_source(rw->out, OP_INPUT, DT_F32, p->vars[u->vals].shape, &av, n->loc);
  Attr at = {0};
  at.i[0] = u->hi;
  int r = ir_add(rw->out, OP_SPARSE_LINEAR, (int32_t[]){rw->map[n->in[0]], rw->map[n->in[1]], xi, vi}, 4, &at, n->loc,
                 &rw->err);
  if (r < 0) return IR_FAIL;
  rw->out->nodes[r].name = n->name ? arena_strdup(rw->out->arena, n->name) : NULL;
  rw->out->nodes[r].backward = n->backward;
  return r;
}

static bool stmt_writes_srcs(const Program *p, const Stmt *t, const Packed *u) {
  for (int k = 0; k < u->nsrc; k++) {
    int v = u->src[k];
    if (t->kind == ST_GRAPH && t->graph >= 0 && graph_writes(p->graphs[t->graph], v)) return true;
    if (t->kind == ST_LOAD || t->kind == ST_CALL)
      for (int j = 0; j < t->nkeys; j++)
        if (t->vars[j] == v) return true;
    if (t->kind == ST_APPEND && t->vars && t->vars[0] == v) return true;
  }
  return false;
}

static Stmt *list_at(Program *p, Stmt *parent, bool orelse, int i) {
  return parent ? (orelse ? &parent->orelse[i] : &parent->body[i]) : &p->stmts[i];
}
static int list_len(const Program *p, const Stmt *parent, bool orelse) {
  return parent ? (orelse ? parent->norelse : parent->nbody) : p->nstmts;
}

static void set_stale(Program *p, Stmt *s, int hvar, int64_t v) {
  s->hvar = hvar;
  s->expr = ir_hx(p, HX_INT);
  s->expr->i = v;
}

/* Around every statement of a list (and the lists inside): the index marked stale after a
 * statement that writes the weight's sources, and packed again, if stale, before a
 * statement that runs a graph with a sparse product. */
static void place(Program *p, Stmt *parent, bool orelse, const Packed *u, const bool *uses) {
  for (int i = 0; i < list_len(p, parent, orelse); i++) {
    Stmt *t = list_at(p, parent, orelse, i);
    if (t->nbody) place(p, t, false, u, uses);
    t = list_at(p, parent, orelse, i);
    if (t->norelse) place(p, t, true, u, uses);
    t = list_at(p, parent, orelse, i);
    bool w = stmt_writes_srcs(p, t, u);
    Loc loc = t->loc;
    if (t->kind == ST_GRAPH && t->graph >= 0 && uses[t->graph]) {
      Stmt *c = ir_stmt_insert(p, parent, orelse, i, ST_IF, loc);
      HostExpr *e = ir_hx(p, HX_VAR);
      e->hvar = u->stale;
      c->expr = e;
      Stmt *g = ir_stmt_push(p, &c->body, &c->nbody, &c->capbody, ST_GRAPH, loc);
      g->graph = u->graph;
      set_stale(p, ir_stmt_push(p, &c->body, &c->nbody, &c->capbody, ST_ASSIGN, loc), u->stale, 0);
      i++;
    }
    if (w) {
      set_stale(p, ir_stmt_insert(p, parent, orelse, i + 1, ST_ASSIGN, loc), u->stale, 1);
      i++;
    }
  }
}

/* "base", or "base_2", ... where a var or host var has that name already */
static const char *fresh_name(Program *p, const char *base) {
  for (int k = 1;; k++) {
    const char *name = k == 1 ? base : arena_printf(p->arena, "%s_%d", base, k);
    bool taken = false;
    for (int v = 0; v < p->nvars && !taken; v++) taken = !strcmp(p->vars[v].name, name);
    for (int h = 0; h < p->nhvars && !taken; h++) taken = !strcmp(p->hvars[h].name, name);
    for (int g = 0; g < p->ngraphs && !taken; g++) taken = p->graphs[g]->name && !strcmp(p->graphs[g]->name, name);
    if (!taken) return name;
  }
}

/* A line of --explain=prune about the product at loc: "prune: F.tt:LINE:COL: ..." */
static void explain_at(PassCtx *cx, const Program *p, Loc loc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void explain_at(PassCtx *cx, const Program *p, Loc loc, const char *fmt, ...) {
  if (!cx || !cx->explain) return;
  int line, col;
  ir_linecol(p->src, loc.off, &line, &col);
  va_list ap;
  va_start(ap, fmt);
  fprintf(cx->explain, "prune: %s:%d:%d: ", p->filename ? p->filename : "<input>", line, col);
  vfprintf(cx->explain, fmt, ap);
  fputc('\n', cx->explain);
  va_end(ap);
}

static const char *shape_text(const Shape *s, char *buf, size_t len) {
  size_t o = (size_t)snprintf(buf, len, "[");
  for (int i = 0; i < s->rank && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, "%s%s%lld", i ? "," : "", (s->symm >> i & 1u) ? "B:" : "",
                          (long long)s->d[i]);
  if (o < len) snprintf(buf + o, len - o, "]");
  return buf;
}

/* Every Linear (x @ W^T) of a graph that runs: sparse where the weight is proven sparse
 * enough for its rows, else dense, each said under --explain=prune. p is modified. */
static bool sparse_linears(Program *p, PassCtx *cx, bool *changed) {
  Zeros z = {p, calloc((size_t)p->ngraphs + 1, sizeof(Nz *)), calloc((size_t)p->ngraphs + 1, sizeof(bool *))};
  Nz *vs = malloc(sizeof(Nz) * (size_t)(p->nvars + 1));
  for (int v = 0; v < p->nvars; v++) vs[v] = nz_top(shape_numel(&p->vars[v].shape));
  zeros_stmts(&z, p->stmts, p->nstmts, vs);
  free(vs);
  Packed *packs = NULL;
  int npacks = 0, nsel = 0, ngr = p->ngraphs;
  int32_t *uids = NULL;
  int *unit = NULL, *ugraph = NULL;
  for (int gi = 0; gi < ngr; gi++) {
    const Graph *g = p->graphs[gi];
    if (!z.node[gi]) continue;
    bool has_backward = false;
    for (int id = 0; id < g->n; id++) has_backward |= g->nodes[id].op == OP_BACKWARD;
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      if (n->op != OP_MATMUL || n->attr.i[0] != 1 || n->attr.i[1] != 0 || n->dtype != DT_F32) continue;
      const Node *x = &g->nodes[n->in[0]], *w = &g->nodes[n->in[1]];
      if (w->shape.rank != 2 || w->shape.symm || x->shape.rank < 1 || (x->shape.symm & ~1u)) continue;
      int src[2], ns = weight_sources(g, n->in[1], src);
      int64_t N = w->shape.d[0], K = w->shape.d[1], total = N * K, rows = shape_numel(&x->shape) / K;
      Nz wz = z.node[gi][n->in[1]];
      char ws[64], xs[64];
      /* named after its variable, or the factor of orig * mask that is not the mask */
      const char *wname = ns == 0 ? "the weight"
                                  : p->vars[ns == 2 && strstr(p->vars[src[0]].name, "_mask") ? src[1] : src[0]].name;
      double dens = total ? (double)wz.hi / (double)total : 1.0, lim = sparse_max_density(rows);
      const char *why = NULL;
      if (ns == 0) why = "the weight is not a variable or a pruned module's orig * mask";
      else if (has_backward) why = "autodiff has not run yet (the sparse product has no gradient)";
      else if (wz.hi >= total) why = "no zeros proven (unstructured pruning's amount is what proves them)";
      else if (dens > lim && lim == 0)
        why = arena_printf(p->arena, "at most %.1f%% of it is nonzero, but at %lld rows of x the dense GEMM is "
                           "faster (the sparse kernel only wins at 16 rows or fewer; docs/PRUNING.md)", 100 * dens,
                           (long long)rows);
      else if (dens > lim)
        why = arena_printf(p->arena, "at most %.1f%% of it is nonzero, and at %lld row%s of x the sparse kernel is "
                           "faster only at or below %.0f%% (docs/PRUNING.md)", 100 * dens, (long long)rows,
                           rows == 1 ? "" : "s", 100 * lim);
      for (int k = 0; k < ns && !why; k++) {
        if (graph_writes(g, src[k]))
          why = "the graph that multiplies by the weight also writes it (a training step): packing it on every "
                "run would cost more than the sparse product saves";
        for (int l = 0; l < p->nloaders && !why; l++)
          if (p->loaders[l].xvar == src[k] || p->loaders[l].yvar == src[k]) why = "the weight is a loader's batch";
      }
      if (why) {
        explain_at(cx, p, n->loc, "in %s: %s %s @ x %s: dense: %s", g->name, wname,
                   shape_text(&w->shape, ws, sizeof ws), shape_text(&x->shape, xs, sizeof xs), why);
        continue;
      }
      int u = 0;
      while (u < npacks &&
             !(packs[u].nsrc == ns && packs[u].src[0] == src[0] && (ns == 1 || packs[u].src[1] == src[1])))
        u++;
      if (u == npacks) {
        packs = realloc(packs, sizeof(Packed) * (size_t)(npacks + 1));
        Packed *pk = &packs[npacks++];
        memset(pk, 0, sizeof *pk);
        pk->nsrc = ns, pk->src[0] = src[0], pk->src[1] = ns == 2 ? src[1] : -1;
        pk->N = N, pk->K = K, pk->loc = n->loc;
        pk->wvar = ns == 1 ? src[0] : src[strstr(p->vars[src[0]].name, "_mask") ? 1 : 0];
      }
      if (wz.hi > packs[u].hi) packs[u].hi = wz.hi;
      uids = realloc(uids, sizeof(int32_t) * (size_t)(nsel + 1));
      unit = realloc(unit, sizeof(int) * (size_t)(nsel + 1));
      ugraph = realloc(ugraph, sizeof(int) * (size_t)(nsel + 1));
      uids[nsel] = n->uid, unit[nsel] = u, ugraph[nsel++] = gi;
      explain_at(cx, p, n->loc, "in %s: %s %s @ x %s: sparse kernel (sliced ELLPACK): at most %lld of %lld "
                 "weights (%.1f%%) are nonzero, proven from the pruning mask; at %lld row%s of x it is faster up to "
                 "%.0f%%; packed again after any statement that writes the weight", g->name, wname,
                 shape_text(&w->shape, ws, sizeof ws),
              shape_text(&x->shape, xs, sizeof xs), (long long)wz.hi, (long long)total, 100 * dens, (long long)rows,
              rows == 1 ? "" : "s", 100 * lim);
    }
  }
  bool ok = true;
  /* the index, values and stale flag of each weight, and the graph that packs them */
  for (int u = 0; u < npacks && ok; u++) {
    Packed *pk = &packs[u];
    int64_t nslice = (pk->N + 15) / 16, nkb = (pk->K + 255) / 256, room = nslice * 16 * pk->K;
    pk->cap = 2 * pk->hi + 16 * nslice * nkb; /* the padding of a skewed mask; past it: dense */
    if (pk->cap > room) pk->cap = room;
    if (pk->cap < 1) pk->cap = 1;
    const char *base = p->vars[pk->wvar].name;
    int64_t len = 8 + nslice * 16 + nslice * nkb + 1 + pk->cap; /* runtime/tt.h's TT_SPARSE_INDEX_LEN */
    pk->idx = ir_var_new(p, fresh_name(p, arena_printf(p->arena, "%s_sparse_index", base)), VAR_VALUE, DT_I32,
                         shape_make(1, &len));
    pk->vals = ir_var_new(p, fresh_name(p, arena_printf(p->arena, "%s_sparse_values", base)), VAR_VALUE, DT_F32,
                          shape_make(1, &pk->cap));
    pk->stale = ir_hvar_new(p, fresh_name(p, arena_printf(p->arena, "%s_sparse_stale", base)), false);
    const char *gname = fresh_name(p, arena_printf(p->arena, "%s_sparse_pack", base));
    Graph *g = ir_graph_new(p, pk->loc);
    g->name = gname;
    pk->graph = g->id;
    int w = input(g, p, pk->src[0], pk->loc);
    if (pk->nsrc == 2) {
      int m = input(g, p, pk->src[1], pk->loc);
      w = add_or_fail(g, OP_MUL, (int32_t[]){w, m}, 2, NULL, pk->loc, &cx->err, &ok);
    }
    Attr at = {0};
    at.i[0] = pk->cap;
    int ix = add_or_fail(g, OP_SPARSE_INDEX, (int32_t[]){w}, 1, &at, pk->loc, &cx->err, &ok);
    store(g, ix, pk->idx, pk->loc, &cx->err, &ok);
    /* the values read the index back from its variable: it is built there, with no copy */
    int ixv = input(g, p, pk->idx, pk->loc);
    int vx = add_or_fail(g, OP_SPARSE_VALUES, (int32_t[]){w, ixv}, 2, &at, pk->loc, &cx->err, &ok);
    store(g, vx, pk->vals, pk->loc, &cx->err, &ok);
  }
  /* the products */
  for (int gi = 0; gi < ngr && ok; gi++) {
    int k0 = nsel;
    for (int k = 0; k < nsel; k++)
      if (ugraph[k] == gi && k < k0) k0 = k;
    if (k0 == nsel) continue;
    SparseCtx sc = {uids, unit, nsel, packs};
    Graph *ng = ir_rewrite(p, p->graphs[gi], (IrRule[]){{OP_MATMUL, rule_sparse}}, 1, NULL, &sc, &cx->err);
    if (!ng) {
      ok = false;
      break;
    }
    if (ng != p->graphs[gi]) {
      ir_graph_free(p->graphs[gi]);
      p->graphs[gi] = ng;
    }
  }
  /* stale from the start; marked after each write, packed before each use */
  for (int u = 0; u < npacks && ok; u++) {
    bool *uses = calloc((size_t)p->ngraphs + 1, 1);
    for (int k = 0; k < nsel; k++)
      if (unit[k] == u) uses[ugraph[k]] = true;
    place(p, NULL, false, &packs[u], uses);
    set_stale(p, ir_stmt_insert(p, NULL, false, 0, ST_ASSIGN, packs[u].loc), packs[u].stale, 1);
    free(uses);
    *changed = true;
  }
  for (int gi = 0; gi < ngr; gi++) {
    free(z.node[gi]);
    free(z.perm[gi]);
  }
  free(z.node);
  free(z.perm);
  free(packs);
  free(uids);
  free(unit);
  free(ugraph);
  return ok;
}

Program *pass_prune(const Program *in, PassCtx *cx) {
  Program *p = ir_program_clone(in);
  bool changed = false;
  int nv0 = p->nvars;
  for (int v = 0; v < nv0; v++) {
    if (p->vars[v].prune_keep <= 0) continue;
    const char *why = "";
    bool failed = false;
    cx->err.msg[0] = '\0';
    if (compact_layer(p, v, cx, &why, &failed)) {
      changed = true;
    } else if (failed && !*why) {
      ir_program_free(p);
      return NULL;
    } else if (failed) {
      /* the clone is half rewritten: keep the whole program as it was */
      explain(cx, in, "%s: kept as it is (and every layer with it): %s", in->vars[v].name, why);
      cx->err.msg[0] = '\0';
      ir_program_free(p);
      p = ir_program_clone(in);
      changed = false;
      break;
    } else {
      explain(cx, p, "%s: kept as it is: %s", p->vars[v].name, why);
    }
  }
  cx->err.msg[0] = '\0';
  if (!sparse_linears(p, cx, &changed)) {
    ir_program_free(p);
    return NULL;
  }
  if (!changed) {
    ir_program_free(p);
    return (Program *)in;
  }
  return p;
}
