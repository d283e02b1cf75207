/*
 * program.c — whole-program edits for program passes: a deep clone, a variable's type
 * changed with every shape downstream re-derived, and host statements inserted.
 *
 * A program pass (passes/passes.h) gets a const Program and returns a new one. It clones
 * the input with ir_program_clone, edits the clone with these helpers and the builder
 * (ir_var_new, ir_graph_new, ir_add), and the manager verifies the result; the input is
 * never touched, so a pass that gives up returns NULL and nothing is lost.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

static const char *dup_str(Arena *a, const char *s) {
  return s ? arena_strdup(a, s) : NULL;
}

static void *dup_mem(Arena *a, const void *src, size_t bytes) {
  if (!src || !bytes) return NULL;
  void *d = arena_alloc(a, bytes);
  memcpy(d, src, bytes);
  return d;
}

static HostExpr *dup_hexpr(Arena *a, const HostExpr *e) {
  if (!e) return NULL;
  HostExpr *c = arena_alloc(a, sizeof *c);
  *c = *e;
  c->a = dup_hexpr(a, e->a);
  c->b = dup_hexpr(a, e->b);
  c->fn = dup_str(a, e->fn);
  return c;
}

static PrintItem *dup_items(Arena *a, const PrintItem *items, int n) {
  if (!items || n <= 0) return NULL;
  PrintItem *c = arena_alloc(a, (size_t)n * sizeof *c);
  for (int i = 0; i < n; i++) {
    c[i] = items[i];
    c[i].text = dup_str(a, items[i].text);
    c[i].gradfn = dup_str(a, items[i].gradfn);
    c[i].spec = dup_str(a, items[i].spec);
    c[i].expr = dup_hexpr(a, items[i].expr);
    c[i].extent0 = dup_hexpr(a, items[i].extent0);
  }
  return c;
}

static Stmt *dup_stmts(Arena *a, const Stmt *list, int n, int *cap);

/* Every pointer of a statement is copied into a, so the clone owns all it refers to. */
static void dup_stmt(Arena *a, Stmt *d, const Stmt *s) {
  *d = *s;
  d->items = dup_items(a, s->items, s->nitems);
  d->sep = dup_str(a, s->sep);
  d->end = dup_str(a, s->end);
  d->expr = dup_hexpr(a, s->expr);
  d->expr2 = dup_hexpr(a, s->expr2);
  d->desc = dup_str(a, s->desc);
  d->body = dup_stmts(a, s->body, s->nbody, &d->capbody);
  d->orelse = dup_stmts(a, s->orelse, s->norelse, &d->capelse);
  d->path = dup_str(a, s->path);
  d->fn = dup_str(a, s->fn);
  d->args = NULL;
  if (s->args && s->nargs > 0) {
    d->args = arena_alloc(a, (size_t)s->nargs * sizeof *d->args);
    for (int k = 0; k < s->nargs; k++) d->args[k] = dup_hexpr(a, s->args[k]);
  }
  d->vars = dup_mem(a, s->vars, (size_t)(s->nkeys > 0 ? s->nkeys : 0) * sizeof *s->vars);
  d->pykinds = dup_mem(a, s->pykinds, (size_t)(s->nkeys > 0 ? s->nkeys : 0));
  d->keys = NULL;
  if (s->keys && s->nkeys > 0) {
    d->keys = arena_alloc(a, (size_t)s->nkeys * sizeof *d->keys);
    for (int k = 0; k < s->nkeys; k++) d->keys[k] = dup_str(a, s->keys[k]);
  }
}

/* A nested statement list, in a's memory (capacity = length: a push grows it). */
static Stmt *dup_stmts(Arena *a, const Stmt *list, int n, int *cap) {
  *cap = 0;
  if (!list || n <= 0) return NULL;
  Stmt *c = arena_alloc(a, (size_t)n * sizeof *c);
  for (int i = 0; i < n; i++) dup_stmt(a, &c[i], &list[i]);
  *cap = n;
  return c;
}

Program *ir_program_clone(const Program *p) {
  Program *c = ir_program_new(p->filename, p->src);
  Arena *a = c->arena;
  c->seed = p->seed;
  c->mpi = p->mpi; /* (the arenas and the graphs' plans are not copied: see Graph.mem_off) */
  for (int v = 0; v < p->nvars; v++) {
    const Var *s = &p->vars[v];
    int id = ir_var_new(c, s->name, s->kind, s->dtype, s->shape);
    Var *d = &c->vars[id];
    const char *name = d->name;
    *d = *s;
    d->name = name;
  }
  for (int gi = 0; gi < p->ngraphs; gi++) {
    c->graphs = xrealloc(c->graphs, (size_t)(gi + 1) * sizeof *c->graphs);
    c->graphs[gi] = ir_graph_clone(p->graphs[gi]);
  }
  c->ngraphs = c->capgraphs = p->ngraphs;
  for (int h = 0; h < p->nhvars; h++) {
    int id = ir_hvar_new(c, p->hvars[h].name, p->hvars[h].isfloat);
    c->hvars[id].list = p->hvars[h].list;
    c->hvars[id].kinds = p->hvars[h].kinds;
  }
  for (int l = 0; l < p->nloaders; l++) {
    Loader ld = p->loaders[l];
    ld.name = dup_str(a, ld.name);
    ld.root = dup_str(a, ld.root);
    ld.prefix = dup_str(a, ld.prefix);
    ir_loader_new(c, &ld);
  }
  for (int t = 0; t < p->nstrtabs; t++) ir_strtab_new(c, &p->strtabs[t]);
  if (p->nstmts > 0) {
    c->stmts = xmalloc((size_t)p->nstmts * sizeof *c->stmts);
    for (int i = 0; i < p->nstmts; i++) dup_stmt(a, &c->stmts[i], &p->stmts[i]);
  }
  c->nstmts = c->capstmts = p->nstmts;
  return c;
}

bool ir_graph_reinfer(const Program *p, Graph *g, IrErr *err) {
  for (int id = 0; id < g->n; id++) {
    Node *n = &g->nodes[id];
    if (n->op == OP_INPUT && n->attr.var >= 0 && n->attr.var < p->nvars) {
      n->dtype = p->vars[n->attr.var].dtype;
      n->shape = p->vars[n->attr.var].shape;
      continue;
    }
    if (ir_ops[n->op].flags & OPF_SOURCE) continue; /* their shape is given, not derived */
    Node c = *n;
    err->msg[0] = '\0';
    if (!ir_shape_rules[n->op](g, &c, err)) {
      if (!err->msg[0]) snprintf(err->msg, sizeof err->msg, "%s: invalid operands", ir_ops[n->op].name);
      int k = (int)strlen(err->msg);
      snprintf(err->msg + k, sizeof err->msg - (size_t)k, " (node %%%d of %s)", (int)n->uid,
               g->name ? g->name : "graph");
      return false;
    }
    n->dtype = c.dtype;
    n->shape = c.shape;
  }
  return true;
}

bool ir_var_retype(Program *p, int var, DType dt, Shape shape, IrErr *err) {
  TT_ASSERT(var >= 0 && var < p->nvars);
  p->vars[var].dtype = dt;
  p->vars[var].shape = shape;
  for (int gi = 0; gi < p->ngraphs; gi++) {
    Graph *g = p->graphs[gi];
    bool reads = false;
    for (int id = 0; id < g->n && !reads; id++)
      reads = g->nodes[id].op == OP_INPUT && g->nodes[id].attr.var == var;
    if (reads && !ir_graph_reinfer(p, g, err)) return false;
  }
  return true;
}

Stmt *ir_stmt_insert(Program *p, Stmt *parent, bool orelse, int at, StmtKind kind, Loc loc) {
  Stmt **list;
  int *n, *cap;
  if (!parent) {
    /* the top level lives in malloc'd memory (ir_program_free frees it) */
    TT_ASSERT(at >= 0 && at <= p->nstmts);
    if (p->nstmts == p->capstmts) {
      p->capstmts = p->capstmts ? 2 * p->capstmts : 8;
      p->stmts = xrealloc(p->stmts, (size_t)p->capstmts * sizeof *p->stmts);
    }
    list = &p->stmts;
    n = &p->nstmts;
  } else {
    list = orelse ? &parent->orelse : &parent->body;
    n = orelse ? &parent->norelse : &parent->nbody;
    cap = orelse ? &parent->capelse : &parent->capbody;
    TT_ASSERT(at >= 0 && at <= *n);
    /* push at the end (growing in the arena), then rotate it into place */
    ir_stmt_push(p, list, n, cap, kind, loc);
    (*n)--;
  }
  Stmt *l = *list;
  memmove(&l[at + 1], &l[at], (size_t)(*n - at) * sizeof *l);
  (*n)++;
  Stmt *s = &l[at];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->loc = loc;
  s->graph = -1;
  s->hvar = -1;
  s->loader = -1;
  s->sep = " ";
  s->end = "\n";
  return s;
}

/* The role of a graph, from what it does: its C function's name. */
static const char *graph_role(const Program *p, const Graph *g) {
  bool optim = false, backward = false, param_store = false, reads = false;
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    optim |= (ir_ops[n->op].flags & OPF_OPTIM) != 0;
    backward |= n->op == OP_BACKWARD;
    reads |= n->op == OP_INPUT;
    if (n->op == OP_STORE && n->attr.var >= 0 && n->attr.var < p->nvars)
      param_store |= p->vars[n->attr.var].kind == VAR_PARAM || p->vars[n->attr.var].kind == VAR_STATE;
  }
  if (optim) return "train_step";
  if (backward) return "backward_step";
  if (g->loader >= 0) return "eval_step";
  if (param_store && !reads) return "init";
  return "forward";
}

void ir_name_graphs(Program *p) {
  for (int gi = 0; gi < p->ngraphs; gi++) {
    Graph *g = p->graphs[gi];
    const char *role = graph_role(p, g);
    int same = 0, total = 0;
    for (int k = 0; k < p->ngraphs; k++)
      if (!strcmp(graph_role(p, p->graphs[k]), role)) {
        total++;
        if (k < gi) same++;
      }
    g->name = total == 1 ? arena_strdup(g->arena, role) : arena_printf(g->arena, "%s_%d", role, same + 1);
  }
}
