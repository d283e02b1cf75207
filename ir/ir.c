/*
 * ir.c — the IR's basic types and the graph builder.
 *
 * Holds the op table expanded from ops.def, the dtype and shape helpers, the constructors
 * for programs, vars, statements and graphs, and ir_add: the one door through which a node
 * enters a graph. ir_add runs the op's shape rule before anything is appended, so a graph
 * with an inconsistent shape never exists; a mismatch comes back as a message the front end
 * turns into a diagnostic at the user's source line.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

/* ---- the op table ----------------------------------------------------------------- */

const OpInfo ir_ops[OP__COUNT] = {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) \
  [OP_##op] = {name, nin, flags, expr, gradfn, infix, sizeof(#grad) > 2},
#include "ir/ops.def"
#undef X
};

/* ---- dtypes ----------------------------------------------------------------------- */

/* Keep in sync with the DType enum in ir.h. */
static const struct {
  const char *name, *ctype, *torch;
  size_t size;
  bool is_float;
} dtypes[DT__COUNT] = {
  [DT_F32] = {"f32", "float", "torch.float32", 4, true},
  [DT_F64] = {"f64", "double", "torch.float64", 8, true},
  [DT_I64] = {"i64", "int64_t", "torch.int64", 8, false},
  [DT_I32] = {"i32", "int32_t", "torch.int32", 4, false},
  [DT_I8] = {"i8", "int8_t", "torch.int8", 1, false},
  [DT_BOOL] = {"bool", "_Bool", "torch.bool", 1, false},
};

static bool dt_ok(DType t) { return (unsigned)t < DT__COUNT; }

const char *dt_name(DType t) { return dt_ok(t) ? dtypes[t].name : "?"; }
const char *dt_ctype(DType t) { return dt_ok(t) ? dtypes[t].ctype : "?"; }
const char *dt_torch(DType t) { return dt_ok(t) ? dtypes[t].torch : "?"; }
size_t dt_size(DType t) { return dt_ok(t) ? dtypes[t].size : 0; }
bool dt_is_float(DType t) { return dt_ok(t) && dtypes[t].is_float; }

/* ---- shapes ----------------------------------------------------------------------- */

Shape shape_make(int rank, const int64_t *d) {
  Shape s;
  memset(&s, 0, sizeof s);
  TT_ASSERT(rank >= 0 && rank <= TT_MAX_RANK);
  s.rank = rank;
  for (int i = 0; i < rank; i++) s.d[i] = d[i];
  return s;
}

Shape shape_scalar(void) { return shape_make(0, NULL); }

/* Saturates at INT64_MAX instead of overflowing, so that callers' "too large" checks see
 * shapes like (1e8, 1000, 1e8) for what they are. An empty dimension still gives 0. */
int64_t shape_numel(const Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++)
    if (s->d[i] == 0) return 0;
  for (int i = 0; i < s->rank; i++) n = dim_mul(n, s->d[i]);
  return n;
}

bool shape_eq(const Shape *a, const Shape *b) {
  if (a->rank != b->rank || a->symm != b->symm) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i]) return false;
  return true;
}

char *shape_str(const Shape *s, char *buf, size_t n) {
  size_t k = 0;
  if (n == 0) return buf;
  buf[0] = '\0';
  /* snprintf reports the length it wanted; clamp so a short buffer truncates cleanly. */
#define PUT(...)                                              \
  do {                                                        \
    int w_ = snprintf(buf + k, n - k, __VA_ARGS__);           \
    if (w_ < 0) return buf;                                   \
    k = (size_t)w_ >= n - k ? n - 1 : k + (size_t)w_;         \
  } while (0)
  PUT("[");
  for (int i = 0; i < s->rank && i < TT_MAX_RANK; i++) {
    if (i) PUT(",");
    if (sym_at(s, i)) PUT("B:");
    PUT("%lld", (long long)s->d[i]);
  }
  PUT("]");
#undef PUT
  return buf;
}

bool ir_broadcast(const Shape *a, const Shape *b, Shape *out) {
  Shape r;
  memset(&r, 0, sizeof r);
  r.rank = a->rank > b->rank ? a->rank : b->rank;
  if (r.rank > TT_MAX_RANK) return false;
  for (int i = 0; i < r.rank; i++) {
    /* Right-aligned: output dim i is dim i - (r.rank - x.rank) of x, if that exists. */
    int ia = i - (r.rank - a->rank), ib = i - (r.rank - b->rank);
    bool ha = ia >= 0, hb = ib >= 0;
    int64_t da = ha ? a->d[ia] : 1, db = hb ? b->d[ib] : 1;
    bool sa = ha && sym_at(a, ia), sb = hb && sym_at(b, ib);
    if (sa || sb) {
      /* A symbolic dim's run-time extent is unknown, so it only matches itself or 1. */
      if (sa && sb) {
        if (da != db) return false;
      } else if ((sa ? db : da) != 1) {
        return false;
      }
      r.symm |= 1u << i;
      r.d[i] = sa ? da : db;
      continue;
    }
    if (da == db || db == 1) r.d[i] = da;
    else if (da == 1) r.d[i] = db;
    else return false;
  }
  *out = r;
  return true;
}

/* ---- programs, vars, statements, graphs -------------------------------------------- */

/* Grow a heap array of elements of size sz so that it holds at least need. */
static void *grow(void *p, int *cap, int need, size_t sz) {
  if (need <= *cap) return p;
  int c = *cap ? *cap : 8;
  while (c < need) {
    if (c > (1 << 29)) tt_internal_error(__FILE__, __LINE__, "array too large");
    c *= 2;
  }
  p = xrealloc(p, (size_t)c * sz);
  memset((char *)p + (size_t)*cap * sz, 0, (size_t)(c - *cap) * sz);
  *cap = c;
  return p;
}

Program *ir_program_new(const char *filename, const char *src) {
  Program *p = xmalloc(sizeof *p);
  memset(p, 0, sizeof *p);
  p->arena = arena_new();
  p->filename = arena_strdup(p->arena, filename ? filename : "<input>");
  p->src = arena_strdup(p->arena, src ? src : "");
  /* PyTorch's default CPU generator seed (c10's default_rng_seed_val). */
  p->seed = 67280421310721ULL;
  return p;
}

void ir_program_free(Program *p) {
  if (!p) return;
  for (int i = 0; i < p->ngraphs; i++) ir_graph_free(p->graphs[i]);
  free(p->graphs);
  free(p->vars);
  free(p->stmts);
  free(p->hvars);
  free(p->loaders);
  free(p->strtabs);
  arena_free(p->arena);
  free(p);
}

int ir_var_new(Program *p, const char *name, VarKind kind, DType dt, Shape shape) {
  p->vars = grow(p->vars, &p->capvars, p->nvars + 1, sizeof *p->vars);
  Var *v = &p->vars[p->nvars];
  memset(v, 0, sizeof *v);
  v->name = arena_strdup(p->arena, name ? name : "");
  v->kind = kind;
  v->dtype = dt;
  v->shape = shape;
  v->requires_grad = false;
  v->grad = -1;
  v->grad_of = -1;
  v->state_of = -1;
  return p->nvars++;
}

static Graph *graph_alloc(int id, const char *name, Loc loc) {
  Graph *g = xmalloc(sizeof *g);
  memset(g, 0, sizeof *g);
  g->arena = arena_new();
  g->id = id;
  g->name = name ? arena_strdup(g->arena, name) : arena_printf(g->arena, "graph%d", id);
  g->loc = loc;
  g->loader = -1;
  return g;
}

Graph *ir_graph_new(Program *p, Loc loc) {
  p->graphs = grow(p->graphs, &p->capgraphs, p->ngraphs + 1, sizeof *p->graphs);
  Graph *g = graph_alloc(p->ngraphs, NULL, loc);
  p->graphs[p->ngraphs++] = g;
  return g;
}

Stmt *ir_stmt_add(Program *p, StmtKind kind, Loc loc) {
  p->stmts = grow(p->stmts, &p->capstmts, p->nstmts + 1, sizeof *p->stmts);
  Stmt *s = &p->stmts[p->nstmts++];
  memset(s, 0, sizeof *s);
  s->kind = kind;
  s->loc = loc;
  s->graph = -1;
  s->hvar = -1;
  s->loader = -1;
  s->sep = " "; /* Python's print() defaults */
  s->end = "\n";
  return s;
}

Graph *ir_graph_clone_empty(const Graph *g) {
  Graph *c = graph_alloc(g->id, g->name, g->loc);
  c->loader = g->loader;
  c->next_uid = g->next_uid;
  return c;
}

Graph *ir_graph_clone(const Graph *g) {
  Graph *c = ir_graph_clone_empty(g);
  c->nodes = grow(c->nodes, &c->cap, g->n, sizeof *c->nodes);
  for (int i = 0; i < g->n; i++) {
    const Node *s = &g->nodes[i];
    Node *d = &c->nodes[i];
    *d = *s;
    d->in = NULL;
    if (s->nin > 0) {
      d->in = arena_alloc(c->arena, (size_t)s->nin * sizeof *d->in);
      memcpy(d->in, s->in, (size_t)s->nin * sizeof *d->in);
    }
    d->name = s->name ? arena_strdup(c->arena, s->name) : NULL;
    d->attr.ints = s->attr.nints > 0 ? ir_ints(c, s->attr.ints, s->attr.nints) : NULL;
    if (s->attr.data) {
      size_t bytes = (size_t)shape_numel(&s->shape) * dt_size(s->dtype);
      d->attr.data = arena_alloc(c->arena, bytes);
      memcpy(d->attr.data, s->attr.data, bytes);
    }
  }
  c->n = g->n;
  c->next_uid = g->next_uid;
  return c;
}

/* The var that node id's storage is, through views (an INPUT of it), or -1. */
static int var_root(const Graph *g, int id) {
  while (ir_ops[g->nodes[id].op].flags & OPF_VIEW) id = g->nodes[id].in[0];
  return g->nodes[id].op == OP_INPUT ? g->nodes[id].attr.var : -1;
}

/* Whether node k reads or writes var v's array. */
static bool touches_var(const Graph *g, int k, int v) {
  const Node *n = &g->nodes[k];
  for (int i = 0; i < n->nin; i++)
    if (var_root(g, n->in[i]) == v) return true;
  if (ir_ops[n->op].flags & OPF_OPTIM)
    for (int i = 0; i < n->attr.nints; i++)
      if (n->attr.ints[i] == v) return true;
  return n->op == OP_STORE && n->attr.var == v;
}

static bool owns_buffer(const Node *n) {
  return n->op != OP_INPUT && n->op != OP_CONST && !n->fused && !(ir_ops[n->op].flags & (OPF_VIEW | OPF_SINK));
}

int ir_fused_user(const Graph *g, int id) {
  for (int k = id + 1; k < g->n; k++)
    for (int i = 0; i < g->nodes[k].nin; i++)
      if (g->nodes[k].in[i] == id) return k;
  return -1;
}

void ir_store_into(const Program *p, const Graph *g, int *into) {
  int *users = calloc((size_t)g->n + 1, sizeof *users);
  if (!users) abort();
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    into[id] = -1;
    for (int i = 0; i < n->nin; i++) users[n->in[i]]++;
  }
  for (int s = 0; s < g->n; s++) {
    const Node *st = &g->nodes[s];
    if (st->op != OP_STORE || st->attr.var < 0 || st->attr.var >= p->nvars) continue;
    int v = st->attr.var, id = st->in[0];
    while ((ir_ops[g->nodes[id].op].flags & OPF_VIEW) && users[id] == 1) id = g->nodes[id].in[0];
    const Node *x = &g->nodes[id];
    const Var *var = &p->vars[v];
    if (users[id] != 1 || !owns_buffer(x) || x->dtype != var->dtype ||
        shape_numel(&x->shape) != shape_numel(&var->shape))
      continue;
    /* a run-time extent: the same layout only when the shapes agree */
    if ((x->shape.symm || var->shape.symm) && !shape_eq(&x->shape, &var->shape)) continue;
    bool ok = true;
    for (int i = 0; ok && i < x->nin; i++)
      if (var_root(g, x->in[i]) == v)
        ok = (ir_ops[x->op].flags & OPF_INPLACE) && shape_numel(&g->nodes[x->in[i]].shape) == shape_numel(&x->shape) &&
             (x->op != OP_MATMUL_ACC || i == 2); /* a GEMM reads its operands while it writes */
    for (int k = id + 1; ok && k < s; k++) ok = !touches_var(g, k, v);
    if (ok) into[id] = v;
  }
  free(users);
}

void ir_lifetimes(const Program *p, const Graph *g, int *last, int64_t *elems, int *share) {
  int *into = xmalloc(sizeof(int) * (size_t)(g->n + 1));
  int *root = xmalloc(sizeof(int) * (size_t)(g->n + 1));
  ir_store_into(p, g, into);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    int64_t ne = shape_numel(&n->shape);
    elems[id] = owns_buffer(n) && into[id] < 0 ? (ne > 0 ? ne : 1) : -1;
    last[id] = id;
    share[id] = id;
  }
  /* a fused value's inputs are read when the loop of its user runs */
  int *at = xmalloc(sizeof(int) * (size_t)(g->n + 1));
  for (int id = g->n - 1; id >= 0; id--) {
    int u = g->nodes[id].fused ? ir_fused_user(g, id) : -1;
    at[id] = u > id ? at[u] : id;
  }
  /* a read through a chain of views is a read of the storage at its root */
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    root[id] = (ir_ops[n->op].flags & OPF_VIEW) && n->nin > 0 ? root[n->in[0]] : id;
    if (ir_ops[n->op].flags & OPF_VIEW) continue;
    for (int i = 0; i < n->nin; i++)
      if (at[id] > last[root[n->in[i]]]) last[root[n->in[i]]] = at[id];
  }
  free(at);
  /* in place: y = f(x, ...) elementwise, x of y's shape and dtype, read last by y */
  bool *taken = calloc((size_t)g->n + 1, sizeof *taken);
  if (!taken) abort();
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if (elems[id] < 0 || !(ir_ops[n->op].flags & OPF_EW) || !(ir_ops[n->op].flags & OPF_INPLACE)) continue;
    for (int i = 0; i < n->nin; i++) {
      int x = root[n->in[i]];
      const Node *in = &g->nodes[n->in[i]];
      if (elems[x] >= 0 && !taken[x] && last[x] == id && in->dtype == n->dtype &&
          g->nodes[x].dtype == n->dtype && shape_eq(&in->shape, &n->shape) && elems[x] == elems[id]) {
        share[id] = x;
        taken[x] = true; /* its buffer goes on as id's */
        break;
      }
    }
  }
  /* a chain y <- x <- w is one buffer: point each at the first */
  for (int id = 0; id < g->n; id++)
    if (share[id] != id) share[id] = share[share[id]];
  free(taken);
  free(root);
  free(into);
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  free(g->mem_off);
  free(g->nodes);
  arena_free(g->arena);
  free(g);
}

void ir_linecol(const char *src, int32_t off, int *line, int *col) {
  int l = 1, c = 1;
  if (src) {
    for (int32_t i = 0; i < off && src[i]; i++) {
      if (src[i] == '\n') {
        l++;
        c = 1;
      } else {
        c++;
      }
    }
  }
  *line = l;
  *col = c;
}

/* ---- the builder ------------------------------------------------------------------ */

static bool fail(IrErr *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(IrErr *err, const char *fmt, ...) {
  if (!err) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return false;
}

int64_t *ir_ints(Graph *g, const int64_t *v, int n) {
  if (n <= 0) return NULL;
  int64_t *d = arena_alloc(g->arena, (size_t)n * sizeof *d);
  memcpy(d, v, (size_t)n * sizeof *d);
  return d;
}

/* Append a finished node with a fresh uid; the Node * of earlier nodes is invalid
 * afterwards. */
static int append(Graph *g, const Node *n) {
  g->nodes = grow(g->nodes, &g->cap, g->n + 1, sizeof *g->nodes);
  g->nodes[g->n] = *n;
  g->nodes[g->n].uid = g->next_uid++;
  return g->n++;
}

int ir_add(Graph *g, Op op, const int32_t *in, int nin, const Attr *attr, Loc loc, IrErr *err) {
  if ((unsigned)op >= OP__COUNT) return fail(err, "internal: op %d out of range", (int)op), -1;
  const OpInfo *oi = &ir_ops[op];
  if (oi->nin < 0 && nin < 1)
    return fail(err, "%s: expected at least 1 input, got %d", oi->name, nin), -1;
  if (oi->nin >= 0 && nin != oi->nin)
    return fail(err, "%s: expected %d inputs, got %d", oi->name, oi->nin, nin), -1;
  if (nin > 0 && !in) return fail(err, "%s: missing inputs", oi->name), -1;
  for (int i = 0; i < nin; i++)
    if (in[i] < 0 || in[i] >= g->n)
      return fail(err, "%s: input %d refers to node %d, not in the graph", oi->name, i, (int)in[i]),
             -1;
  Node n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.loc = loc;
  n.nin = nin;
  if (attr) n.attr = *attr;
  if (nin > 0) {
    n.in = arena_alloc(g->arena, (size_t)nin * sizeof *n.in);
    memcpy(n.in, in, (size_t)nin * sizeof *n.in);
  }
  /* Copy the attribute array too: cheap, and it means a caller's stack array is safe. */
  if (n.attr.nints < 0) return fail(err, "%s: negative attribute count", oi->name), -1;
  if (n.attr.nints && !n.attr.ints) return fail(err, "%s: missing attribute array", oi->name), -1;
  n.attr.ints = n.attr.nints ? ir_ints(g, n.attr.ints, n.attr.nints) : NULL;
  if (err) err->msg[0] = '\0';
  if (!ir_shape_rules[op](g, &n, err)) {
    if (err && !err->msg[0]) fail(err, "%s: invalid operands", oi->name);
    return -1;
  }
  if (shape_numel(&n.shape) > IR_MAX_NUMEL) {
    char sb[96];
    return fail(err, "%s: a result of shape %s is too large (ttc allows at most 2^31 elements in "
                "a tensor)", oi->name, shape_str(&n.shape, sb, sizeof sb)), -1;
  }
  return append(g, &n);
}

int ir_add1(Graph *g, Op op, int a, Loc loc, IrErr *err) {
  int32_t in[1] = {a};
  return ir_add(g, op, in, 1, NULL, loc, err);
}

int ir_add2(Graph *g, Op op, int a, int b, Loc loc, IrErr *err) {
  int32_t in[2] = {a, b};
  return ir_add(g, op, in, 2, NULL, loc, err);
}

int ir_add_source(Graph *g, Op op, DType dt, Shape sh, const Attr *attr, Loc loc) {
  TT_ASSERT((unsigned)op < OP__COUNT && (ir_ops[op].flags & OPF_SOURCE));
  TT_ASSERT(dt_ok(dt) && sh.rank >= 0 && sh.rank <= TT_MAX_RANK);
  TT_ASSERT(sh.rank == TT_MAX_RANK || sh.symm >> sh.rank == 0);
  Node n;
  memset(&n, 0, sizeof n);
  n.op = op;
  n.dtype = dt;
  n.shape = sh;
  n.loc = loc;
  if (attr) n.attr = *attr;
  TT_ASSERT(n.attr.nints >= 0 && (n.attr.nints == 0 || n.attr.ints));
  n.attr.ints = n.attr.nints ? ir_ints(g, n.attr.ints, n.attr.nints) : NULL;
  return append(g, &n);
}

int ir_copy_node(Graph *out, const Graph *in, int id, const int32_t *map, IrErr *err) {
  const Node *n = &in->nodes[id];
  int32_t small[16];
  int32_t *ins = n->nin <= 16 ? small : xmalloc(sizeof(int32_t) * (size_t)n->nin);
  for (int k = 0; k < n->nin; k++) ins[k] = map ? map[n->in[k]] : n->in[k];
  Attr a = n->attr;
  if (a.data) {
    size_t bytes = (size_t)shape_numel(&n->shape) * dt_size(n->dtype);
    a.data = arena_alloc(out->arena, bytes ? bytes : 1);
    memcpy(a.data, n->attr.data, bytes);
  }
  int r;
  if (ir_ops[n->op].flags & OPF_SOURCE)
    r = ir_add_source(out, n->op, n->dtype, n->shape, &a, n->loc);
  else
    r = ir_add(out, n->op, ins, n->nin, &a, n->loc, err);
  if (ins != small) free(ins);
  if (r < 0) return r;
  if (n->name) out->nodes[r].name = arena_strdup(out->arena, n->name);
  out->nodes[r].backward = n->backward;
  out->nodes[r].fused = n->fused;
  /* the copy keeps its uid: the fresh one append() took is given back */
  out->nodes[r].uid = n->uid;
  out->next_uid--;
  if (out->next_uid <= n->uid) out->next_uid = n->uid + 1;
  return r;
}

Stmt *ir_stmt_push(Program *p, Stmt **list, int *n, int *cap, StmtKind kind, Loc loc) {
  if (*n == *cap) {
    int c = *cap ? *cap * 2 : 8;
    Stmt *nl = arena_alloc(p->arena, sizeof(Stmt) * (size_t)c);
    if (*n) memcpy(nl, *list, sizeof(Stmt) * (size_t)*n);
    *list = nl;
    *cap = c;
  }
  Stmt *s = &(*list)[(*n)++];
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

int ir_hvar_new(Program *p, const char *name, bool isfloat) {
  p->hvars = grow(p->hvars, &p->caphvars, p->nhvars + 1, sizeof *p->hvars);
  HostVar *h = &p->hvars[p->nhvars];
  h->name = arena_strdup(p->arena, name ? name : "h");
  h->isfloat = isfloat;
  return p->nhvars++;
}

int ir_loader_new(Program *p, const Loader *ld) {
  p->loaders = grow(p->loaders, &p->caploaders, p->nloaders + 1, sizeof *p->loaders);
  p->loaders[p->nloaders] = *ld;
  return p->nloaders++;
}

static bool strtab_eq(const StrTable *a, const StrTable *b) {
  if (a->kind != b->kind || a->n != b->n || !a->keys != !b->keys) return false;
  for (int i = 0; i < a->n; i++)
    if ((a->keys && a->keys[i] != b->keys[i]) || strcmp(a->strs[i], b->strs[i])) return false;
  return true;
}

int ir_strtab_new(Program *p, const StrTable *t) {
  for (int i = 0; i < p->nstrtabs; i++)
    if (strtab_eq(&p->strtabs[i], t)) return i;
  p->strtabs = grow(p->strtabs, &p->capstrtabs, p->nstrtabs + 1, sizeof *p->strtabs);
  StrTable *d = &p->strtabs[p->nstrtabs];
  *d = *t;
  d->strs = arena_alloc(p->arena, sizeof *d->strs * (size_t)(t->n + 1));
  for (int i = 0; i < t->n; i++) d->strs[i] = arena_strdup(p->arena, t->strs[i]);
  if (t->keys) {
    int64_t *k = arena_alloc(p->arena, sizeof *k * (size_t)(t->n + 1));
    memcpy(k, t->keys, sizeof *k * (size_t)t->n);
    d->keys = k;
  }
  return p->nstrtabs++;
}

HostExpr *ir_hx(Program *p, HostExprKind kind) {
  HostExpr *e = arena_alloc(p->arena, sizeof *e);
  e->kind = kind;
  e->hvar = e->var = e->loader = -1;
  return e;
}
