/*
 * quantize.c — the quantize pass: a quantized model holds only its int8 weights.
 *
 * Purpose: quantize_model (frontend/quant.c) rewrites each Linear and Conv2d of a model into
 *   an int8 layer at the point of the call: the weights' int8 codes and per-channel scales
 *   go into program variables, and the layer's forward becomes OP_QLINEAR / OP_QCONV2D
 *   (the int8 kernels), with the input quantized at the layer's edge and the int32 result
 *   scaled back to float32. The float32 weights it started from are still variables of
 *   the program, written by the model's initialization. Where the program no longer needs
 *   their values, this pass removes them: their stores, the computations that only fed
 *   those stores, and the variables themselves. The typical case is a program that runs
 *   an int8 model saved earlier: `quantize_model(MLP())` then `load_state_dict(torch.load
 *   ("mlp_int8.ckpt"))` overwrites the codes and scales before anything reads them, so the
 *   random float32 initialization, and the quantization of it, reach nothing. Then the
 *   program's parameter data (--mem-report, ttc profile) is the int8 codes, the scales and
 *   the float32 biases: about 4x smaller than the float32 model's.
 * Requires: Var.quant on the variables quantize_model made or left behind (the codes and
 *   scales, the input scales, the calibration observers, the replaced float weights); the
 *   other variables are never touched.
 * Produces: the same program with the dead stores to marked variables dropped (and what
 *   only fed them: DCE within the graph; random draws stay, so later random numbers do not
 *   change), and each marked variable that nothing reads or writes any more marked
 *   Var.removed (declared nowhere, counted in no report). Every number the program prints
 *   or saves is unchanged: only values nothing reads are gone.
 * Liveness is a backward walk over the top-level statements: a top-level checkpoint load
 *   kills the variables it writes (a load writes every one or stops the program); a graph
 *   that runs once, at the top level, has its stores to dead marked variables dropped and
 *   makes live what its remaining computations read; everything inside loops and
 *   conditionals, and every variable a host statement, a loader, an optimizer step or a
 *   save reads, counts as read. Declines (--explain=quantize says which float32 weight is
 *   kept and the line that still reads it): calibration runs the float model, so a
 *   program that calibrates needs the float weights until then; a program that keeps the
 *   float model to compare with needs them throughout.
 */
#include "passes.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void explain(PassCtx *cx, const Program *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void explain(PassCtx *cx, const Program *p, const char *fmt, ...) {
  if (!cx || !cx->explain) return;
  va_list ap;
  va_start(ap, fmt);
  fprintf(cx->explain, "quantize: %s: ", p->filename ? p->filename : "<input>");
  vfprintf(cx->explain, fmt, ap);
  fputc('\n', cx->explain);
  va_end(ap);
}

static int line_of(const Program *p, Loc loc) {
  int line = 0, col = 0;
  if (p->src && loc.off >= 0) ir_linecol(p->src, loc.off, &line, &col);
  return line;
}

/* ---- what the host program reads -------------------------------------------------------- */

static void pin_expr(const HostExpr *e, bool *pinned, int nvars) {
  if (!e) return;
  if (e->kind == HX_ITEM && e->var >= 0 && e->var < nvars) pinned[e->var] = true;
  pin_expr(e->a, pinned, nvars);
  pin_expr(e->b, pinned, nvars);
}

/* Every variable a statement other than a graph call or a load reads (prints, .item(),
 * saves, runtime calls, appends), anywhere in the program. */
static void pin_stmts(const Stmt *s, int n, bool *pinned, int nvars) {
  for (int i = 0; i < n; i++) {
    const Stmt *t = &s[i];
    pin_expr(t->expr, pinned, nvars);
    pin_expr(t->expr2, pinned, nvars);
    for (int k = 0; k < t->nitems; k++) {
      if (t->items[k].var >= 0 && t->items[k].var < nvars) pinned[t->items[k].var] = true;
      pin_expr(t->items[k].expr, pinned, nvars);
      pin_expr(t->items[k].extent0, pinned, nvars);
    }
    for (int k = 0; k < t->nargs; k++) pin_expr(t->args[k], pinned, nvars);
    if (t->kind != ST_GRAPH && t->kind != ST_LOAD && t->vars)
      for (int k = 0; k < (t->kind == ST_APPEND ? 2 : t->nkeys); k++)
        if (t->vars[k] >= 0 && t->vars[k] < nvars) pinned[t->vars[k]] = true;
    pin_stmts(t->body, t->nbody, pinned, nvars);
    pin_stmts(t->orelse, t->norelse, pinned, nvars);
  }
}

/* How many times each graph is called, and whether one call is inside a compound statement. */
static void count_runs(const Stmt *s, int n, int *runs, bool *nested, bool inside) {
  for (int i = 0; i < n; i++) {
    if (s[i].kind == ST_GRAPH && s[i].graph >= 0) {
      runs[s[i].graph]++;
      if (inside) nested[s[i].graph] = true;
    }
    count_runs(s[i].body, s[i].nbody, runs, nested, true);
    count_runs(s[i].orelse, s[i].norelse, runs, nested, true);
  }
}

/* Everything a compound statement's graphs read is live (loops and branches: no kills). */
static void read_all(const Program *p, const Stmt *s, int n, bool *live, Loc *where) {
  for (int i = 0; i < n; i++) {
    if (s[i].kind == ST_GRAPH && s[i].graph >= 0) {
      const Graph *g = p->graphs[s[i].graph];
      for (int id = 0; id < g->n; id++)
        if (g->nodes[id].op == OP_INPUT && !live[g->nodes[id].attr.var]) {
          live[g->nodes[id].attr.var] = true;
          where[g->nodes[id].attr.var] = g->nodes[id].loc;
        }
    }
    read_all(p, s[i].body, s[i].nbody, live, where);
    read_all(p, s[i].orelse, s[i].norelse, live, where);
  }
}

/* The nodes of g that reach an effect, the stores marked in dead[] not counting. */
static void live_nodes(const Graph *g, const bool *dead, bool *alive) {
  memset(alive, 0, (size_t)(g->n ? g->n : 1));
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *n = &g->nodes[i];
    if ((ir_ops[n->op].flags & (OPF_SINK | OPF_RNG | OPF_OPTIM)) && !dead[i]) alive[i] = true;
    if (alive[i])
      for (int k = 0; k < n->nin; k++) alive[n->in[k]] = true;
  }
}

/* ---- random draws that nothing uses ------------------------------------------------------ */

/*
 * A random draw whose value nothing uses any more (the float weight's initialization) is
 * dropped only where that changes no later random number: when the next thing in program
 * order that touches the generator reseeds it (torch.manual_seed) or nothing does. A draw
 * in a loop, a conditional or a shuffling loader's epoch counts as a draw.
 */
typedef struct RngEv {
  int graph, node; /* node -1: a compound statement's draws */
  bool seed;
} RngEv;

static void rng_events(const Program *p, const Stmt *s, int n, bool top, RngEv **ev, int *nev, int *cap) {
  for (int i = 0; i < n; i++) {
    const Stmt *t = &s[i];
    bool draws = false;
    if (t->kind == ST_GRAPH && t->graph >= 0) {
      const Graph *g = p->graphs[t->graph];
      for (int id = 0; id < g->n; id++) {
        if (!(ir_ops[g->nodes[id].op].flags & OPF_RNG)) continue;
        if (!top) {
          draws = true;
          continue;
        }
        if (*nev == *cap) *ev = realloc(*ev, sizeof **ev * (size_t)(*cap = *cap * 2 + 16));
        (*ev)[(*nev)++] = (RngEv){t->graph, id, g->nodes[id].op == OP_SEED};
      }
    }
    if (t->kind == ST_LOADER && t->loader >= 0 && p->loaders[t->loader].shuffle) draws = true;
    if (t->nbody || t->norelse) {
      int m = 0, c = 0;
      RngEv *inner = NULL;
      rng_events(p, t->body, t->nbody, false, &inner, &m, &c);
      rng_events(p, t->orelse, t->norelse, false, &inner, &m, &c);
      draws |= m > 0;
      free(inner);
    }
    if (draws && top) {
      if (*nev == *cap) *ev = realloc(*ev, sizeof **ev * (size_t)(*cap = *cap * 2 + 16));
      (*ev)[(*nev)++] = (RngEv){-1, -1, false};
    } else if (draws) {
      if (*nev == *cap) *ev = realloc(*ev, sizeof **ev * (size_t)(*cap = *cap * 2 + 16));
      (*ev)[(*nev)++] = (RngEv){-1, -1, false};
    }
  }
}

/* Marks in dead[g] the random draws of the graphs with dropped stores that nothing uses and
 * whose removal changes no later random number. */
static void drop_draws(const Program *p, bool **dead, const int *runs, const bool *nested) {
  int nev = 0, cap = 0;
  RngEv *ev = NULL;
  rng_events(p, p->stmts, p->nstmts, true, &ev, &nev, &cap);
  bool next_reseeds = true; /* nothing after the last event */
  for (int k = nev - 1; k >= 0; k--) {
    const RngEv *e = &ev[k];
    bool drop = false;
    if (e->graph >= 0 && dead[e->graph] && runs[e->graph] == 1 && !nested[e->graph] && !e->seed && next_reseeds) {
      const Graph *g = p->graphs[e->graph];
      /* used by nothing that stays: no live user (stores dropped, their feeders dead) */
      bool *alive = calloc((size_t)g->n + 1, 1);
      for (int i = g->n - 1; i >= 0; i--) {
        const Node *n = &g->nodes[i];
        if ((ir_ops[n->op].flags & (OPF_SINK | OPF_OPTIM)) && !dead[e->graph][i]) alive[i] = true;
        if ((ir_ops[n->op].flags & OPF_RNG) && !dead[e->graph][i] && i != e->node) alive[i] = true;
        if (alive[i])
          for (int j = 0; j < n->nin; j++) alive[n->in[j]] = true;
      }
      drop = !alive[e->node];
      free(alive);
    }
    if (drop) dead[e->graph][e->node] = true;
    else next_reseeds = e->seed;
  }
  free(ev);
}

/* ---- the rewrite ------------------------------------------------------------------------ */

/* The rewrite's rounds: the first drops what the liveness walk found (gone, by the input
 * graph's node ids); the rewrite then repeats until nothing fires, so later rounds drop
 * nothing. */
typedef struct Drop {
  const Graph *first;
  const bool *gone;
  bool *cur;
} Drop;

static void drop_begin(IrRewrite *rw) {
  Drop *d = rw->ctx;
  free(d->cur);
  d->cur = calloc((size_t)rw->in->n + 1, 1);
  if (rw->in == d->first) memcpy(d->cur, d->gone, (size_t)rw->in->n);
}

static int drop_rule(IrRewrite *rw, int id) {
  const Drop *d = rw->ctx;
  return d->cur[id] ? IR_DROP : IR_KEEP;
}

/* g without its dead stores and dropped draws, and without what fed only them (the
 * nodes no remaining effect reaches, as DCE finds them); NULL on failure. */
static Graph *drop_stores(const Program *p, const Graph *g, const bool *dead, PassCtx *cx) {
  static const IrRule rules[] = {{-1, drop_rule}};
  bool *gone = calloc((size_t)g->n + 1, 1);
  for (int i = g->n - 1; i >= 0; i--) {
    const Node *n = &g->nodes[i];
    if ((ir_ops[n->op].flags & (OPF_SINK | OPF_RNG | OPF_OPTIM)) && !dead[i]) gone[i] = true; /* (alive) */
    if (gone[i])
      for (int k = 0; k < n->nin; k++) gone[n->in[k]] = true;
  }
  for (int i = 0; i < g->n; i++) gone[i] = !gone[i];
  Drop d = {g, gone, NULL};
  Graph *out = ir_rewrite(p, g, rules, 1, drop_begin, &d, &cx->err);
  free(d.cur);
  free(gone);
  return out;
}

static const char *shape_text(const Shape *s, char *buf, size_t n) {
  size_t o = 0;
  o += (size_t)snprintf(buf + o, n - o, "[");
  for (int d = 0; d < s->rank && o < n; d++)
    o += (size_t)snprintf(buf + o, n - o, "%s%lld", d ? "," : "", (long long)s->d[d]);
  if (o < n) snprintf(buf + o, n - o, "]");
  return buf;
}

Program *pass_quantize(const Program *in, PassCtx *cx) {
  bool any = false;
  for (int v = 0; v < in->nvars; v++) any |= in->vars[v].quant && !in->vars[v].removed;
  if (!any) return (Program *)in;
  int nv = in->nvars, ng = in->ngraphs;
  bool *pinned = calloc((size_t)nv + 1, 1), *live = calloc((size_t)nv + 1, 1);
  Loc *where = calloc((size_t)nv + 1, sizeof(Loc));
  int *runs = calloc((size_t)ng + 1, sizeof(int));
  bool *nested = calloc((size_t)ng + 1, 1);
  bool **dead = calloc((size_t)ng + 1, sizeof(bool *));
  for (int v = 0; v < nv; v++) where[v].off = -1;
  pin_stmts(in->stmts, in->nstmts, pinned, nv);
  for (int l = 0; l < in->nloaders; l++) {
    const Loader *ld = &in->loaders[l];
    int lv[4] = {ld->xvar, ld->yvar, ld->srcx, ld->srcy};
    for (int k = 0; k < 4; k++)
      if (lv[k] >= 0 && lv[k] < nv) pinned[lv[k]] = true;
  }
  for (int gi = 0; gi < ng; gi++) {
    const Graph *g = in->graphs[gi];
    for (int id = 0; id < g->n; id++)
      if (ir_ops[g->nodes[id].op].flags & OPF_OPTIM)
        for (int k = 0; k < g->nodes[id].attr.nints; k++)
          if (g->nodes[id].attr.ints[k] >= 0 && g->nodes[id].attr.ints[k] < nv) pinned[g->nodes[id].attr.ints[k]] = true;
  }
  count_runs(in->stmts, in->nstmts, runs, nested, false);

  /* backward over the top-level statements */
  bool changed = false;
  for (int i = in->nstmts - 1; i >= 0; i--) {
    const Stmt *s = &in->stmts[i];
    if (s->kind == ST_LOAD) {
      for (int k = 0; k < s->nkeys; k++)
        if (s->vars[k] >= 0 && s->vars[k] < nv) live[s->vars[k]] = false;
      continue;
    }
    if (s->kind != ST_GRAPH || s->graph < 0 || runs[s->graph] != 1 || nested[s->graph]) {
      read_all(in, s, 1, live, where);
      continue;
    }
    const Graph *g = in->graphs[s->graph];
    bool *d = calloc((size_t)g->n + 1, 1), *alive = calloc((size_t)g->n + 1, 1);
    bool some = false;
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      int v = n->attr.var;
      if (n->op == OP_STORE && in->vars[v].quant && !pinned[v] && !live[v]) d[id] = true;
    }
    /* a store the same graph reads back later (a live input of the variable after it) is
       needed after all; keeping one can make others needed, so until nothing changes */
    for (bool again = true; again;) {
      again = false;
      live_nodes(g, d, alive);
      for (int id = 0; id < g->n; id++) {
        if (!d[id]) continue;
        for (int j = id + 1; j < g->n && d[id]; j++)
          if (alive[j] && g->nodes[j].op == OP_INPUT && g->nodes[j].attr.var == g->nodes[id].attr.var)
            d[id] = false, again = true;
      }
    }
    for (int id = 0; id < g->n; id++) some |= d[id];
    for (int id = 0; id < g->n; id++)
      if (alive[id] && g->nodes[id].op == OP_INPUT && !live[g->nodes[id].attr.var]) {
        live[g->nodes[id].attr.var] = true;
        where[g->nodes[id].attr.var] = g->nodes[id].loc;
      }
    free(alive);
    if (some) {
      dead[s->graph] = d;
      changed = true;
    } else {
      free(d);
    }
  }
  /* the float weights a quantized layer replaced that stay, and the line that needs them */
  for (int v = 0; v < nv; v++) {
    const Var *var = &in->vars[v];
    if (!var->quant || var->kind != VAR_PARAM || var->dtype == DT_I8 || var->shape.rank < 2) continue;
    bool read = false;
    for (int gi = 0; gi < ng && !read; gi++) {
      const Graph *g = in->graphs[gi];
      for (int id = 0; id < g->n && !read; id++)
        read = g->nodes[id].op == OP_INPUT && g->nodes[id].attr.var == v;
    }
    if (pinned[v])
      explain(cx, in, "%s: kept: a statement of the program prints, saves or reads it", var->name);
    else if (where[v].off >= 0 || (read && !changed))
      explain(cx, in, "%s: kept: its float32 values are read at line %d (calibration, training, or a float "
              "model that shares it)", var->name, line_of(in, where[v]));
  }
  if (!changed) {
    free(pinned), free(live), free(where), free(runs), free(nested), free(dead);
    return (Program *)in;
  }

  drop_draws(in, dead, runs, nested);
  Program *p = ir_program_clone(in);
  for (int gi = 0; gi < ng; gi++) {
    if (!dead[gi]) continue;
    Graph *out = drop_stores(p, p->graphs[gi], dead[gi], cx);
    if (!out) {
      ir_program_free(p);
      p = NULL;
      break;
    }
    if (out != p->graphs[gi]) {
      ir_graph_free(p->graphs[gi]);
      p->graphs[gi] = out;
    }
  }
  if (p) {
    /* marked variables nothing reads or writes any more (a load still writing one keeps it:
       the file holds its entry) */
    bool *used = calloc((size_t)nv + 1, 1);
    for (int gi = 0; gi < p->ngraphs; gi++) {
      const Graph *g = p->graphs[gi];
      for (int id = 0; id < g->n; id++)
        if (g->nodes[id].op == OP_INPUT || g->nodes[id].op == OP_STORE) used[g->nodes[id].attr.var] = true;
    }
    int64_t freed = 0;
    for (int v = 0; v < nv; v++) {
      Var *var = &p->vars[v];
      if (!var->quant || var->removed || used[v] || pinned[v]) continue;
      bool loaded = false;
      for (int i = 0; i < p->nstmts && !loaded; i++)
        if (p->stmts[i].kind == ST_LOAD)
          for (int k = 0; k < p->stmts[i].nkeys; k++) loaded |= p->stmts[i].vars[k] == v;
      if (loaded) continue;
      var->removed = true;
      int64_t bytes = shape_numel(&var->shape) * (int64_t)dt_size(var->dtype);
      freed += bytes;
      char sh[96];
      explain(cx, p, "%s %s %s: removed (%lld bytes): nothing the program prints or saves depends on it",
              var->name, shape_text(&var->shape, sh, sizeof sh), dt_name(var->dtype), (long long)bytes);
    }
    for (int gi = 0; gi < ng; gi++)
      if (dead[gi]) {
        int ns = 0, nr = 0;
        for (int id = 0; id < in->graphs[gi]->n; id++) {
          ns += dead[gi][id] && in->graphs[gi]->nodes[id].op == OP_STORE;
          nr += dead[gi][id] && in->graphs[gi]->nodes[id].op != OP_STORE;
        }
        explain(cx, p, "%s (line %d): %d store%s nothing reads dropped, with what computed only them", in->graphs[gi]->name,
                line_of(p, in->graphs[gi]->loc), ns, ns == 1 ? "" : "s");
        if (nr)
          explain(cx, p, "%s (line %d): %d node%s of random draws nothing uses dropped (the generator is reseeded "
                  "before its next draw, or draws no more)", in->graphs[gi]->name, line_of(p, in->graphs[gi]->loc), nr,
                  nr == 1 ? "" : "s");
      }
    explain(cx, p, "%lld bytes of variables removed", (long long)freed);
    free(used);
  }
  for (int gi = 0; gi < ng; gi++) free(dead[gi]);
  free(pinned), free(live), free(where), free(runs), free(nested), free(dead);
  return p;
}
