/*
 * host.c — run-time host values and host control flow.
 *
 * Most of a .tt program runs at compile time. What cannot — a training loop over a data
 * loader, an epoch counter, a running loss from loss.item(), an `if` on it — becomes the
 * host program: C loops and conditionals over host variables (int64_t or double) that
 * main() runs around the graphs. This file makes those: V_HOST values are host
 * expressions; a name bound to one owns a host variable, so `total += loss.item()` in a
 * loop updates it at run time; loops over loaders (always) and long top-level `range`
 * loops become C loops whose body is lowered once; an `if` on a run-time value becomes a
 * C `if` with both branches lowered.
 *
 * Values that live across iterations: numbers assigned in a loop body become host
 * variables before the loop; tensors assigned in the body become program variables that
 * the body writes back at its end, so the next iteration (and the code after the loop)
 * reads the new value.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- host expressions ---------------------------------------------------------------- */

Value *v_host(L *l, HostExpr *e) {
  Value *v = v_new(l, V_HOST);
  v->hx = e;
  return v;
}

HostExpr *hx_int(L *l, int64_t i) {
  HostExpr *e = ir_hx(l->p, HX_INT);
  e->i = i;
  return e;
}

HostExpr *hx_float(L *l, double f) {
  HostExpr *e = ir_hx(l->p, HX_FLOAT);
  e->f = f;
  e->isfloat = true;
  return e;
}

Value *tensor_item(L *l, Value *t, int32_t off) {
  const Node *n = tn(l, t);
  if (shape_numel(&n->shape) != 1 || n->shape.symm) {
    char b[64];
    lerr(l, off, "a Tensor with %s elements cannot be converted to a Python scalar",
         n->shape.symm ? "a batch of" : shape_str(&n->shape, b, sizeof b));
  }
  DType dt = n->dtype;
  /* a snapshot: the value at this point of the graph, read after the graph has run; named
   * after its source (loss.item() -> loss_item, (..).sum().item() -> sum_item) */
  const char *src = n->name && n->name[0] ? n->name : ir_ops[n->op].name;
  int var = ir_var_new(l->p, arena_printf(l->arena, "%s_item", src), VAR_VALUE, dt, n->shape);
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  HostExpr *e = ir_hx(l->p, HX_ITEM);
  e->var = var;
  e->isfloat = dt_is_float(dt);
  e->isbool = dt == DT_BOOL;
  return v_host(l, e);
}

HostExpr *hx_of(L *l, Value *v, int32_t off) {
  switch (v->k) {
  case V_INT: return hx_int(l, v->i);
  case V_BOOL: {
    HostExpr *e = hx_int(l, v->i);
    e->isbool = true;
    return e;
  }
  case V_FLOAT: return hx_float(l, v->f);
  case V_HOST: return v->hx;
  case V_TENSOR: return tensor_item(l, v, off)->hx;
  default: return NULL;
  }
}

static HostExpr *hx_bin(L *l, int op, HostExpr *a, HostExpr *b) {
  HostExpr *e = ir_hx(l->p, HX_BIN);
  e->op = op;
  e->a = a;
  e->b = b;
  bool f = a->isfloat || b->isfloat;
  switch (op) {
  case HB_DIV: e->isfloat = true; break;
  case HB_EQ: case HB_NE: case HB_LT: case HB_LE: case HB_GT: case HB_GE:
    e->isbool = true;
    break;
  case HB_AND: case HB_OR:
    e->isfloat = f;
    e->isbool = a->isbool && b->isbool;
    break;
  case HB_ROUND: e->isfloat = a->isfloat; break;
  default: e->isfloat = f; break;
  }
  return e;
}

static HostExpr *hx_un(L *l, int op, HostExpr *a) {
  HostExpr *e = ir_hx(l->p, HX_UN);
  e->op = op;
  e->a = a;
  switch (op) {
  case HU_NEG: case HU_ABS: e->isfloat = a->isfloat; break;
  case HU_NOT: e->isbool = true; break;
  case HU_FLOOR: case HU_CEIL: case HU_TOINT: case HU_ROUND: break;
  default: e->isfloat = true; break;
  }
  return e;
}

Value *host_binop(L *l, int op, Value *a, Value *b, int32_t off) {
  HostExpr *x = hx_of(l, a, off), *y = hx_of(l, b, off);
  if (!x || !y)
    lerr(l, off, "unsupported operand types for a run-time value: %s and %s", v_typename(a), v_typename(b));
  static const int map[] = {[BIN_ADD] = HB_ADD, [BIN_SUB] = HB_SUB, [BIN_MUL] = HB_MUL,
                            [BIN_DIV] = HB_DIV, [BIN_FLOORDIV] = HB_FLOORDIV, [BIN_MOD] = HB_MOD,
                            [BIN_POW] = HB_POW};
  if (op == BIN_MATMUL) lerr(l, off, "'@' needs tensors");
  return v_host(l, hx_bin(l, map[op], x, y));
}

Value *host_round(L *l, Value *x, int64_t ndigits, int32_t off) {
  HostExpr *e = hx_of(l, x, off);
  if (!e) lerr(l, off, "round(): expected a number, got %s", v_typename(x));
  return v_host(l, hx_bin(l, HB_ROUND, e, hx_int(l, ndigits)));
}

Value *host_compare(L *l, int op, Value *a, Value *b, int32_t off) {
  HostExpr *x = hx_of(l, a, off), *y = hx_of(l, b, off);
  if (!x || !y) lerr(l, off, "cannot compare a run-time value with a %s", v_typename(!x ? a : b));
  static const int map[] = {[CMP_EQ] = HB_EQ, [CMP_NE] = HB_NE, [CMP_LT] = HB_LT,
                            [CMP_LE] = HB_LE, [CMP_GT] = HB_GT, [CMP_GE] = HB_GE};
  if (op > CMP_GE) lerr(l, off, "this comparison is not supported on run-time values");
  return v_host(l, hx_bin(l, map[op], x, y));
}

Value *host_unop(L *l, int op, Value *a, int32_t off) {
  HostExpr *x = hx_of(l, a, off);
  if (!x) lerr(l, off, "bad operand type for a unary operator: %s", v_typename(a));
  if (op == UN_POS) return a;
  return v_host(l, hx_un(l, op == UN_NEG ? HU_NEG : HU_NOT, x));
}

Value *host_call1(L *l, int hu, Value *a, int32_t off) {
  HostExpr *x = hx_of(l, a, off);
  if (!x) lerr(l, off, "expected a number, got %s", v_typename(a));
  return v_host(l, hx_un(l, hu, x));
}

/* Whether e can be computed before the open graph runs: it reads no snapshot the graph
 * takes (x.item() of a variable the graph stores) and no host variable that a statement
 * pending after the graph assigns. */
static bool hx_before_graph(L *l, const HostExpr *e) {
  if (!e) return true;
  if (e->kind == HX_ITEM && l->g)
    for (int i = 0; i < l->g->n; i++)
      if (l->g->nodes[i].op == OP_STORE && l->g->nodes[i].attr.var == e->var) return false;
  if (e->kind == HX_VAR)
    for (int i = 0; i < l->npending; i++)
      if (l->pending[i].kind == ST_ASSIGN && l->pending[i].hvar == e->hvar) return false;
  return hx_before_graph(l, e->a) && hx_before_graph(l, e->b);
}

Value *host_to_tensor(L *l, Value *v, DType dt, int32_t off) {
  HostExpr *e = hx_of(l, v, off);
  TT_ASSERT(e);
  int hv;
  if (e->kind == HX_VAR) hv = e->hvar;
  else if (!l->capture && hx_before_graph(l, e)) {
    /* (i + 1) of a loop counter: computed before the graph, which reads it, so the graph
       is not split (a split would part a loss from its backward()) */
    hv = ir_hvar_new(l->p, "h", e->isfloat);
    Stmt *st = emit_stmt(l, ST_ASSIGN, off);
    st->hvar = hv;
    st->expr = e;
  } else
    hv = host_var_for(l, v, "h", off);
  /* the graph reads the variable: a pending statement that assigns it must run first */
  for (int i = 0; i < l->npending; i++)
    if (l->pending[i].kind == ST_ASSIGN && l->pending[i].hvar == hv) {
      if (l->capture)
        lerr(l, off, "a tensor computed from a run-time value under this if is not supported; "
                     "compute it before the if");
      end_graph(l);
      break;
    }
  Attr at = {0};
  at.var = hv;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  return mk_tensor(l, ir_add_source(g, OP_HOSTVAR, dt, shape_scalar(), &at, (Loc){off}));
}

/* ---- snapshots --------------------------------------------------------------------------- */

static bool reads_host_var(const HostExpr *e, int depth) {
  if (!e || depth > 256) return false;
  if (e->kind == HX_VAR) return true;
  return reads_host_var(e->a, depth + 1) || reads_host_var(e->b, depth + 1);
}

/* v as it is now, for a value kept for later (an f-string's piece, a list's item): a run-time
 * value that reads a host variable is copied into a fresh one here, since the name that owns
 * the variable may be assigned again before the value is used (`for i, c in enumerate(vals):
 * terms.append(f"{c:.2f}")` had printed the last c three times). Python evaluates it here. */
Value *host_snapshot(L *l, Value *v, int32_t off) {
  if (!v || v->k != V_HOST || !reads_host_var(v->hx, 0) || v->hx->kind == HX_LIST) return v;
  int hv = ir_hvar_new(l->p, "snap", v->hx->isfloat);
  Stmt *st = emit_host_stmt(l, ST_ASSIGN, off);
  st->hvar = hv;
  st->expr = v->hx;
  HostExpr *e = ir_hx(l->p, HX_VAR);
  e->hvar = hv;
  e->isfloat = v->hx->isfloat;
  e->isbool = v->hx->isbool;
  return v_host(l, e);
}

/* ---- host variables ------------------------------------------------------------------ */

int host_var_for(L *l, Value *init, const char *name, int32_t off) {
  HostExpr *e = hx_of(l, init, off);
  TT_ASSERT(e);
  int hv = ir_hvar_new(l->p, name, e->isfloat);
  Stmt *st = emit_host_stmt(l, ST_ASSIGN, off);
  st->hvar = hv;
  st->expr = e;
  return hv;
}

void host_assign(L *l, int hvar, Value *v, int32_t off) {
  HostExpr *e = hx_of(l, v, off);
  if (!e) lerr(l, off, "a %s cannot be assigned to a variable that holds a run-time number", v_typename(v));
  /* Python rebinds: an int variable that gets a float becomes a float variable */
  if (e->isfloat) l->p->hvars[hvar].isfloat = true;
  Stmt *st = emit_host_stmt(l, ST_ASSIGN, off);
  st->hvar = hvar;
  st->expr = e;
}

/* ---- final types ------------------------------------------------------------------------ */

/* The types of a host expression once the program is lowered: a read of a variable has
 * the variable's final type, and the rest follows as hx_bin and hx_un derive it. A loop
 * body reads its carried variables before it assigns them, so `total = 0; for ...: total
 * += loss.item()` read total as an int (and truncated it) until the assignment made the
 * variable a float; in Python the variable is a float from the second iteration on, and in
 * C it is one double. */
static void retype(const Program *p, HostExpr *e, int depth) {
  if (!e || depth > 256) return; /* codegen refuses deeper expressions anyway */
  retype(p, e->a, depth + 1);
  retype(p, e->b, depth + 1);
  switch (e->kind) {
  case HX_VAR:
    if (e->hvar >= 0 && e->hvar < p->nhvars) e->isfloat = p->hvars[e->hvar].isfloat;
    break;
  case HX_BIN:
    if (e->a && e->b && e->op != HB_DIV && e->op < HB_EQ) e->isfloat = e->a->isfloat || e->b->isfloat;
    if (e->a && e->b && (e->op == HB_AND || e->op == HB_OR)) e->isfloat = e->a->isfloat || e->b->isfloat;
    if (e->a && e->op == HB_ROUND) e->isfloat = e->a->isfloat;
    break;
  case HX_UN:
    if (e->a && (e->op == HU_NEG || e->op == HU_ABS)) e->isfloat = e->a->isfloat;
    break;
  default:
    break;
  }
}

static bool retype_stmts(const Program *p, Stmt *st, int n, int depth) {
  bool changed = false;
  if (depth > 100000) return false;
  for (int i = 0; i < n; i++) {
    Stmt *s = &st[i];
    retype(p, s->expr, 0);
    /* a variable assigned a float is a float (a snapshot of an accumulator that became one) */
    if (s->kind == ST_ASSIGN && s->expr && s->expr->isfloat && s->hvar >= 0 && s->hvar < p->nhvars &&
        !p->hvars[s->hvar].isfloat)
      p->hvars[s->hvar].isfloat = changed = true;
    retype(p, s->expr2, 0);
    for (int k = 0; k < s->nitems; k++) retype(p, s->items[k].expr, 0);
    changed |= retype_stmts(p, s->body, s->nbody, depth + 1);
    changed |= retype_stmts(p, s->orelse, s->norelse, depth + 1);
  }
  return changed;
}

void host_final_types(Program *p) {
  for (int round = 0; round < 16 && retype_stmts(p, p->stmts, p->nstmts, 0); round++) {
  }
}

/* ---- what a loop body assigns ---------------------------------------------------------- */

/* Names, in the compilation's arena (a diagnostic may longjmp out of the lowering). */
typedef struct Names {
  Arena *arena;
  const char **v;
  int n, cap;
} Names;

static void names_add(Names *ns, const char *s) {
  for (int i = 0; i < ns->n; i++)
    if (!strcmp(ns->v[i], s)) return;
  if (ns->n == ns->cap) {
    int cap = ns->cap ? ns->cap * 2 : 16;
    const char **nv = arena_alloc(ns->arena, sizeof(char *) * (size_t)cap);
    if (ns->n) memcpy(nv, ns->v, sizeof(char *) * (size_t)ns->n);
    ns->v = nv;
    ns->cap = cap;
  }
  ns->v[ns->n++] = s;
}

static void target_names(const Ast *t, Names *ns) {
  if (!t) return;
  if (t->kind == AST_NAME) names_add(ns, t->str);
  else if (t->kind == AST_TUPLE || t->kind == AST_LIST)
    for (int i = 0; i < t->nitems; i++) target_names(t->items[i], ns);
}

static void assigned_names(const Ast *st, Names *ns) {
  if (!st) return;
  switch (st->kind) {
  case AST_BLOCK:
    for (int i = 0; i < st->nitems; i++) assigned_names(st->items[i], ns);
    break;
  case AST_ASSIGN:
  case AST_AUGASSIGN: target_names(st->a, ns); break;
  case AST_FOR:
    /* a nested loop's target is bound afresh by every iteration of that loop: it is not a
     * value the enclosing loop carries (after the loops it is the last one bound) */
    assigned_names(st->c, ns);
    break;
  case AST_IF:
    assigned_names(st->b, ns);
    assigned_names(st->c, ns);
    break;
  case AST_WHILE:
  case AST_WITH:
    if (st->kind == AST_WITH) target_names(st->b, ns);
    assigned_names(st->c, ns);
    break;
  default: break;
  }
}

static bool contains(const Ast *st, bool (*pred)(const Ast *)) {
  if (!st) return false;
  if (pred(st)) return true;
  if (contains(st->a, pred) || contains(st->b, pred) || contains(st->c, pred)) return true;
  for (int i = 0; i < st->nitems; i++)
    if (contains(st->items[i], pred)) return true;
  return false;
}

static bool is_loop_or_training_call(const Ast *e) {
  if (e->kind == AST_FOR || e->kind == AST_WHILE) return true;
  if (e->kind == AST_CALL && e->a->kind == AST_ATTR)
    return !strcmp(e->a->str, "backward") || !strcmp(e->a->str, "step");
  return false;
}

static bool is_training_call(const Ast *e) {
  return e->kind == AST_CALL && e->a->kind == AST_ATTR &&
         (!strcmp(e->a->str, "backward") || !strcmp(e->a->str, "step"));
}

static bool is_return(const Ast *e) {
  return e->kind == AST_RETURN;
}

/*
 * A for loop becomes a C loop when it must (it iterates a data loader) or when unrolling
 * would be wasteful: a top-level `range` loop whose body holds another loop or a training
 * step (backward, step), or that runs more than 1000 times. Inside a function (a script's
 * main(), a train() helper) a `range` loop is a C loop only when it runs more than 16
 * times around a training step and holds no `return`: a manual mini-batch loop
 * (`for i in range(0, n, bs)`) unrolled hundreds of times made C that took minutes to
 * compile. Other loops are unrolled at compile time: that is what building a list of
 * layers, or indexing a tensor with the loop variable, needs.
 */
static Scope *binding(Scope *s, const char *name);
static bool reads(const Ast *e, const char *name);

/* Whether st calls a module by a name bound to one (`model(X, Y)`, `self(idx)`). */
static bool calls_module(L *l, Scope *s, const Ast *st) {
  if (!st || st->kind == AST_DEF || st->kind == AST_CLASS || st->kind == AST_LAMBDA) return false;
  if (st->kind == AST_CALL && st->a->kind == AST_NAME) {
    Scope *b = binding(s, st->a->str);
    Value *v = b ? attrs_get(&b->vars, st->a->str) : NULL;
    if (v && bi_is_module(v)) return true;
  }
  if (calls_module(l, s, st->a) || calls_module(l, s, st->b) || calls_module(l, s, st->c)) return true;
  for (int i = 0; i < st->nitems; i++)
    if (calls_module(l, s, st->items[i])) return true;
  return false;
}

/* Whether st assigns a name a value made from that name by torch.cat / torch.stack (a
 * tensor that grows every iteration: `idx = torch.cat((idx, idx_next), dim=1)`). */
static bool grows_a_tensor(const Ast *st) {
  if (!st) return false;
  if (st->kind == AST_ASSIGN && st->a->kind == AST_NAME && st->b->kind == AST_CALL &&
      st->b->a->kind == AST_ATTR && (!strcmp(st->b->a->str, "cat") || !strcmp(st->b->a->str, "stack") ||
                                     !strcmp(st->b->a->str, "concat") || !strcmp(st->b->a->str, "hstack")) &&
      reads(st->b, st->a->str))
    return true;
  if (grows_a_tensor(st->a) || grows_a_tensor(st->b) || grows_a_tensor(st->c)) return true;
  for (int i = 0; i < st->nitems; i++)
    if (grows_a_tensor(st->items[i])) return true;
  return false;
}

/* Whether st indexes something other than a tensor with an expression reading name
 * (`xs[i]` of a list, `self.layers[i]`): that needs i at compile time. */
static bool indexes_container(Scope *s, const Ast *st, const char *name) {
  if (!st || st->kind == AST_DEF || st->kind == AST_CLASS) return false;
  if (st->kind == AST_INDEX && reads(st->b, name)) {
    Scope *b = st->a->kind == AST_NAME ? binding(s, st->a->str) : NULL;
    Value *v = b ? attrs_get(&b->vars, st->a->str) : NULL;
    if (!v || v->k != V_TENSOR) return true;
  }
  if (indexes_container(s, st->a, name) || indexes_container(s, st->b, name) || indexes_container(s, st->c, name))
    return true;
  for (int i = 0; i < st->nitems; i++)
    if (indexes_container(s, st->items[i], name)) return true;
  return false;
}

bool want_host_loop(L *l, Frame *f, const Ast *st, Value *iter) {
  if (iter->k == V_OBJECT && attrs_get(&iter->attrs, "__loader__")) return true;
  if (iter->k == V_LIST && iter->s && !strcmp(iter->s, "enumerate_loader")) return true;
  if (iter->k != V_RANGE) return false;
  /* A loop that grows a tensor with torch.cat and runs a model on it (a generation loop)
   * is a C loop over a buffer (generate.c) rather than one forward per iteration. */
  if (range_len(l, iter, st->off) > 16 && !contains(st->c, is_return) && calls_module(l, f->scope, st->c) &&
      grows_a_tensor(st->c) && grow_wanted(l, f, st))
    return true;
  if (l->depth > 0) {
    if (range_len(l, iter, st->off) <= 16 || contains(st->c, is_return)) return false;
    if (contains(st->c, is_training_call)) return true;
    /* An evaluation loop under no_grad (nanoGPT's estimate_loss: eval_iters forwards of the
     * model) would otherwise unroll a whole forward per iteration: gigabytes of buffers. A
     * loop whose tensors change shape from one iteration to the next (a generation loop
     * appending to its tokens) must still be unrolled. */
    return l->no_grad && !l->capture && calls_module(l, f->scope, st->c) && !grows_a_tensor(st->c) &&
           !(st->a->kind == AST_NAME && indexes_container(f->scope, st->c, st->a->str));
  }
  return range_len(l, iter, st->off) > 1000 || contains(st->c, is_loop_or_training_call);
}

/* Looks a name up in the scope chain; returns the scope that binds it. */
static Scope *binding(Scope *s, const char *name) {
  for (; s; s = s->parent)
    if (attrs_get(&s->vars, name)) return s;
  return NULL;
}

typedef struct Carried {
  const char *name;
  Scope *scope;
  Value *val; /* the tensor value reading the carried var */
  int var;
} Carried;

/* Before a host loop or if: numbers the body assigns become host variables, tensors it
 * assigns become program variables. Returns the carried tensors. */
/* Whether expression e mentions name. */
static bool reads(const Ast *e, const char *name) {
  if (!e) return false;
  if (e->kind == AST_NAME) return !strcmp(e->str, name);
  if (e->kind == AST_DEF || e->kind == AST_CLASS) return false;
  if (reads(e->a, name) || reads(e->b, name) || reads(e->c, name)) return true;
  for (int i = 0; i < e->nitems; i++)
    if (reads(e->items[i], name)) return true;
  return false;
}

static bool binds(const Ast *t, const char *name) {
  if (!t) return false;
  if (t->kind == AST_NAME) return !strcmp(t->str, name);
  if (t->kind == AST_TUPLE || t->kind == AST_LIST)
    for (int i = 0; i < t->nitems; i++)
      if (binds(t->items[i], name)) return true;
  return false;
}

/* In statement order: 1 if the body may read name's incoming value before assigning it,
 * 0 if it certainly assigns it first, -1 if this statement does neither. */
static int read_first(const Ast *st, const char *name) {
  if (!st) return -1;
  switch (st->kind) {
  case AST_BLOCK:
    for (int i = 0; i < st->nitems; i++) {
      int r = read_first(st->items[i], name);
      if (r >= 0) return r;
    }
    return -1;
  case AST_ASSIGN:
    if (reads(st->b, name)) return 1;
    if (binds(st->a, name)) return 0;
    return reads(st->a, name) ? 1 : -1; /* x[i] = ..., x.attr = ... use x */
  case AST_IF: {
    if (reads(st->a, name)) return 1;
    int r1 = read_first(st->b, name), r2 = read_first(st->c, name);
    if (r1 == 1 || r2 == 1) return 1;
    return r1 == 0 && r2 == 0 ? 0 : -1;
  }
  case AST_FOR:
    if (reads(st->b, name)) return 1;
    return read_first(st->c, name) == 1 ? 1 : -1; /* the body may not run */
  case AST_WHILE:
    if (reads(st->a, name)) return 1;
    return read_first(st->c, name) == 1 ? 1 : -1;
  case AST_WITH:
    if (reads(st->a, name)) return 1;
    return read_first(st->c, name);
  case AST_DEF:
  case AST_CLASS: return -1;
  default: return reads(st, name) ? 1 : -1; /* expressions, +=, return, assert, ... */
  }
}

/* Before a run-time loop or if, the names the body assigns that hold a value from before:
 * numbers become host variables and tensors program variables, so that the value a later
 * iteration (or the code after the if) reads is the one the program computed. In a loop,
 * a name the body always assigns before reading is the body's own and is not carried. */
static Carried *prepare_carried(L *l, Frame *f, const Ast *body, const Ast *body2, int *ncarried, int32_t off) {
  Names ns = {.arena = l->arena};
  assigned_names(body, &ns);
  assigned_names(body2, &ns);
  Carried *c = arena_alloc(l->arena, sizeof(Carried) * (size_t)(ns.n + 1));
  int nc = 0;
  bool loop = body2 == NULL && l->carry_loop;
  for (int i = 0; i < ns.n; i++) {
    Scope *sc = binding(f->scope, ns.v[i]);
    if (!sc) continue;
    /* a name the body always assigns before reading is the body's own; one it may leave
       alone (assigned only in a branch or an inner loop) keeps its value across iterations */
    if (loop && read_first(body, ns.v[i]) == 0) continue;
    Value *v = attrs_get(&sc->vars, ns.v[i]);
    if (v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL ||
        (v->k == V_HOST && !(v->hx->kind == HX_VAR && v->s && !strcmp(v->s, ns.v[i])))) {
      int hv = host_var_for(l, v, ns.v[i], off);
      HostExpr *e = ir_hx(l->p, HX_VAR);
      e->hvar = hv;
      e->isfloat = l->p->hvars[hv].isfloat;
      e->isbool = v->k == V_BOOL || (v->k == V_HOST && v->hx->isbool);
      Value *hvv = v_host(l, e);
      hvv->s = ns.v[i]; /* owned by this name */
      attrs_set(l, &sc->vars, ns.v[i], hvv);
    } else if (v->k == V_TENSOR && v->t.graph >= 0) {
      int var = tvar(l, v);
      Value *t = v_new(l, V_TENSOR);
      t->t = v->t;
      t->t.graph = -1;
      t->t.var = var;
      attrs_set(l, &sc->vars, ns.v[i], t);
      c[nc++] = (Carried){ns.v[i], sc, t, var};
    } else if ((v->k != V_TENSOR || v->t.dyn) && v->k != V_HOST) {
      /* a string, list, dict, tuple or None (or x[mask], sized at run time): watched (var
         -1), since the body is lowered once and cannot give such a name a new value per
         iteration or per branch */
      c[nc++] = (Carried){ns.v[i], sc, v, -1};
    }
  }
  *ncarried = nc;
  return c;
}

/* A watched name (a string, list, dict, tuple or None before a run-time loop or if) that
 * the body rebound: in a loop the next iteration would read the wrong value, an error; in
 * a branch, which value it has after the if is known only at run time: an error where it
 * is used. */
static bool rebound_watched(L *l, Carried *c, int32_t off, bool in_if) {
  if (c->var >= 0) return false;
  Value *v = attrs_get(&c->scope->vars, c->name);
  if (v == c->val) return true;
  if (v && v->k == V_STR && c->val->k == V_STR && !strcmp(v->s, c->val->s)) return true;
  if (!in_if)
    lerr(l, off, "'%s' holds a %s before this run-time loop and is given a new value in it; ttc "
                 "lowers the body once, so it cannot change a %s from one iteration to the next "
                 "(numbers and tensors can; for a list, append to it)",
         c->name, v_typename(c->val), v_typename(c->val));
  Value *poison = v_tuple(l, 1);
  poison->s = "poison";
  poison->items[0] = v_str(l, arena_printf(l->arena, "'%s' is given a new value in a branch of an if on a "
                                                      "run-time value; after the if it could be either, "
                                                      "so ttc cannot use it here", c->name));
  attrs_set(l, &c->scope->vars, c->name, poison);
  return true;
}

/* At the end of the body: the carried names' new values go back into their variables. */
static void store_carried(L *l, Carried *c, int nc, int32_t off, bool in_if) {
  for (int i = 0; i < nc; i++) {
    if (rebound_watched(l, &c[i], off, in_if)) continue;
    Value *v = attrs_get(&c[i].scope->vars, c[i].name);
    if (v == c[i].val) continue;
    if (in_if && v) {
      /* a branch rebinding the name to something else (loss = loss.item()): the name cannot
       * be used after the if, where which branch ran is unknown; using it is an error */
      const Node *n = v->k == V_TENSOR ? tn(l, v) : NULL;
      const Var *var = &l->p->vars[c[i].var];
      if (!n || n->dtype != var->dtype || !shape_eq(&n->shape, &var->shape)) {
        Value *poison = v_tuple(l, 0);
        poison->s = "poison";
        attrs_set(l, &c[i].scope->vars, c[i].name, poison);
        continue;
      }
    }
    if (!v || v->k != V_TENSOR)
      lerr(l, off, "'%s' holds a tensor before the loop and a %s inside it; a value carried across "
                   "iterations must stay a tensor of one shape", c[i].name, v ? v_typename(v) : "nothing");
    const Var *var = &l->p->vars[c[i].var];
    const Node *n = tn(l, v);
    if (n->dtype != var->dtype || !shape_eq(&n->shape, &var->shape)) {
      char b1[64], b2[64];
      lerr(l, off, "'%s' changes from %s %s to %s %s in the loop; a tensor carried across iterations "
                   "keeps its shape and dtype", c[i].name, dt_torch(var->dtype), shape_str(&var->shape, b1, sizeof b1),
           dt_torch(n->dtype), shape_str(&n->shape, b2, sizeof b2));
    }
    Attr at = {0};
    at.var = c[i].var;
    int32_t in = tnode(l, v);
    add_node(l, OP_STORE, &in, 1, &at, off);
    attrs_set(l, &c[i].scope->vars, c[i].name, c[i].val);
  }
}

static void bind_target(L *l, Frame *f, const Ast *target, Value *v);

Exit lower_host_for(L *l, Frame *f, const Ast *st, Value *iter) {
  int nc, ngrow = 0;
  end_graph(l);
  /* names the body grows with torch.cat: buffers, before the carried names are chosen */
  Grow *grown = iter->k == V_RANGE ? grow_begin(l, f, st, range_len(l, iter, st->off), &ngrow) : NULL;
  l->carry_loop = true;
  Carried *carried = prepare_carried(l, f, st->c, NULL, &nc, st->off);
  l->carry_loop = false;
  end_graph(l);
  Stmt *body = NULL;
  int nbody = 0, capbody = 0;
  int saved_loader = l->loader, saved_unrolled = l->unrolled;
  l->loop_depth++;
  l->unrolled = 0; /* a break in this body leaves this loop */
  Value *loader = iter;
  Value *counter = NULL;
  if (iter->k == V_LIST && iter->s && !strcmp(iter->s, "enumerate_loader")) {
    loader = iter->items[0];
    counter = iter->items[1];
  }
  int kind, hv = -1, ld = -1;
  int cv = -1;
  Value *desc = NULL;
  if (counter) /* for i, (x, y) in enumerate(loader): i = start - 1 before, += 1 first */
    cv = host_var_for(l, host_binop(l, BIN_SUB, counter, v_int(l, 1), st->off), "i", st->off);
  end_graph(l);
  /* from here on, statements and graphs go into the body */
  Stmt **sb = l->blk;
  int *sn = l->blkn, *sc = l->blkcap;
  l->blk = &body;
  l->blkn = &nbody;
  l->blkcap = &capbody;
  region_enter(l, st->off);
  if (loader->k == V_RANGE) {
    kind = ST_FOR;
    if (st->a->kind != AST_NAME) lerr(l, st->a->off, "a range loop needs a single name as its target");
    hv = ir_hvar_new(l->p, st->a->str, false);
    HostExpr *e = ir_hx(l->p, HX_VAR);
    e->hvar = hv;
    /* the counter is the loop's: assigning the name in the body makes a new variable */
    bind_target(l, f, st->a, v_host(l, e));
  } else {
    kind = ST_LOADER;
    l->rng_drawn = true; /* every epoch draws its seeds from the program's generator */
    Value *bar = attrs_get(&loader->attrs, "__tqdm_of__");
    if (bar) {
      desc = attrs_get(&loader->attrs, "desc");
      loader = bar;
    }
    ld = (int)attrs_get(&loader->attrs, "__loader__")->i;
    l->loader = ld;
    Value *bind = NULL;
    if (counter) {
      HostExpr *e = ir_hx(l->p, HX_VAR);
      e->hvar = cv;
      Stmt *s0 = emit_stmt(l, ST_ASSIGN, st->off);
      s0->hvar = cv;
      HostExpr *add = ir_hx(l->p, HX_BIN);
      add->op = HB_ADD;
      add->a = e;
      add->b = hx_int(l, 1);
      s0->expr = add;
      bind = v_tuple(l, 2);
      bind->items[0] = v_host(l, e);
    }
    Value *batch = loader_batch(l, loader, st->off);
    if (bind) {
      bind->items[1] = batch;
      batch = bind;
    }
    bind_target(l, f, st->a, batch);
  }
  /* the body, lowered once; the carried tensors are written back at its end */
  Exit x = lower_block(l, f, st->c);
  if (x == X_RETURN) lerr(l, st->off, "'return' inside a run-time loop is not supported");
  grow_body_end(l, f, grown, ngrow, st->off);
  store_carried(l, carried, nc, st->off, false);
  end_graph(l);
  /* a break the body always reaches (`for x, y in loader: ...; break`): the rest of the
     body was not lowered, and the loop ends after this first iteration, as in Python */
  if (x == X_BREAK) emit_stmt(l, ST_BREAK, st->off);
  region_leave(l);
  l->blk = sb;
  l->blkn = sn;
  l->blkcap = sc;
  l->loop_depth--;
  l->unrolled = saved_unrolled;
  l->loader = saved_loader;
  grow_end(l, f, grown, ngrow);
  Stmt *s = emit_stmt(l, (StmtKind)kind, st->off);
  s->body = body;
  s->nbody = nbody;
  s->capbody = capbody;
  if (kind == ST_FOR) {
    s->hvar = hv;
    s->expr = hx_int(l, loader->i);
    s->expr2 = hx_int(l, loader->i2);
    s->step = loader->i3;
  } else {
    s->loader = ld;
    if (desc && desc->k == V_STR) s->desc = arena_strdup(l->p->arena, desc->s);
    else if (desc) { /* an f-string: text and run-time values */
      s->desc = "";
      s->items = arena_alloc(l->p->arena, sizeof(PrintItem) * (size_t)(desc->n + 1));
      for (int k = 0; k < desc->n; k++) {
        Value *pv = desc->items[k];
        PrintItem *it = &s->items[s->nitems++];
        it->var = -1;
        if (pv->k == V_STR) it->text = arena_strdup(l->p->arena, pv->s);
        else if (pv->k == V_TUPLE && pv->s && !strcmp(pv->s, "hfmt")) {
          it->expr = hx_of(l, pv->items[0], st->off);
          if (pv->items[1]->k == V_STR) it->spec = arena_strdup(l->p->arena, pv->items[1]->s);
        } else
          lerr(l, st->off, "tqdm(): desc may hold text and numbers, not a %s", v_typename(pv));
      }
    }
  }
  return X_NEXT;
}

/*
 * A name first bound inside a run-time if (in one branch or both) must hold, after the if,
 * what the branch that ran gave it: tensors through a program variable both branches write,
 * numbers through a host variable.
 */
typedef struct Joined {
  const char *name;
  int var, hvar; /* the program or host variable the branches write, or -1 */
} Joined;

static void join_branch(L *l, Frame *f, Names *fresh, Joined *j, int32_t off) {
  for (int i = 0; i < fresh->n; i++) {
    Value *v = attrs_get(&f->scope->vars, fresh->v[i]);
    if (!v) continue;
    if (v->k == V_TENSOR) {
      if (j[i].hvar >= 0) lerr(l, off, "'%s' is a number in one branch and a tensor in the other", fresh->v[i]);
      if (j[i].var < 0) j[i].var = tvar(l, v);
      else {
        const Var *var = &l->p->vars[j[i].var];
        const Node *n = tn(l, v);
        if (n->dtype != var->dtype || !shape_eq(&n->shape, &var->shape))
          lerr(l, off, "'%s' gets tensors of different shapes or dtypes in the two branches", fresh->v[i]);
        Attr at = {0};
        at.var = j[i].var;
        int32_t in = tnode(l, v);
        add_node(l, OP_STORE, &in, 1, &at, off);
      }
    } else if (hx_of(l, v, off) && v->k != V_TENSOR) {
      if (j[i].var >= 0) lerr(l, off, "'%s' is a tensor in one branch and a number in the other", fresh->v[i]);
      if (j[i].hvar < 0) j[i].hvar = host_var_for(l, v, fresh->v[i], off);
      else host_assign(l, j[i].hvar, v, off);
    }
    attrs_set(l, &f->scope->vars, fresh->v[i], NULL);
  }
}

static Scope *binding(Scope *s, const char *name);

/* A name first bound in a branch to something other than a number or a tensor (a dict, a
 * string): which value it has after the if is known only at run time, so using it there is
 * an error (it had been left unbound in the scope, and ttc crashed). */
static void poison_fresh(L *l, Frame *f, const char *name) {
  Value *poison = v_tuple(l, 1);
  poison->s = "poison";
  poison->items[0] = v_str(l, arena_printf(l->arena, "'%s' is given a value in a branch of an if on a run-time "
                                                      "value; after the if it may or may not have it, so ttc "
                                                      "cannot use it here", name));
  attrs_set(l, &f->scope->vars, name, poison);
}

/* ---- ifs that only do host work ------------------------------------------------------- */

/* Calls with effects on tensors, the generator or files: an if doing these must split the
 * graph, so that they happen only when the condition holds. */
static bool effectful_call(const Ast *e) {
  static const char *const names[] = {"backward", "step", "zero_grad", "save", "load",
                                      "load_state_dict", "manual_seed", "rand", "randn",
                                      "randint", "rand_like", "randn_like", "dropout",
                                      "Dropout", "train", "eval", "clip_grad_norm_",
                                      "clip_grad_value_"};
  const Ast *fn = e->a;
  const char *nm = fn->kind == AST_NAME || fn->kind == AST_ATTR ? fn->str : NULL;
  if (!nm) return false;
  size_t n = strlen(nm);
  if (n > 1 && nm[n - 1] == '_') return true; /* in-place tensor methods */
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(nm, names[i])) return true;
  return false;
}

static bool host_only_expr(const Ast *e) {
  if (!e) return true;
  if (e->kind == AST_CALL && effectful_call(e)) return false;
  if (e->kind == AST_COMP || e->kind == AST_DEF || e->kind == AST_CLASS) return false;
  if (!host_only_expr(e->a) || !host_only_expr(e->b) || !host_only_expr(e->c)) return false;
  for (int i = 0; i < e->nitems; i++)
    if (!host_only_expr(e->items[i])) return false;
  return true;
}

static bool host_target(Frame *f, const Ast *t) {
  if (t->kind == AST_TUPLE || t->kind == AST_LIST) {
    for (int i = 0; i < t->nitems; i++)
      if (!host_target(f, t->items[i])) return false;
    return true;
  }
  if (t->kind != AST_NAME) return false;
  Scope *sc = binding(f->scope, t->str);
  Value *v = sc ? attrs_get(&sc->vars, t->str) : NULL;
  return !v || v->k != V_TENSOR;
}

/* A value that is no tensor and holds none: a number, a string, a run-time scalar. */
static bool host_valued(const Value *v) {
  if (!v) return false;
  switch (v->k) {
  case V_INT: case V_FLOAT: case V_BOOL: case V_HOST: case V_STR: case V_NONE: return true;
  case V_LIST: case V_TUPLE:
    for (int i = 0; i < v->n; i++)
      if (!host_valued(v->items[i])) return false;
    return true;
  default: return false;
  }
}

/* Whether e computes a host value (a number, a string) and no tensor, judged from what
 * its names are bound to now: `best = loss.item()` and `acc = 100 * correct / total` of
 * numbers are; `y = x * 2` of a tensor x is not. Unsure is no: the if then ends the graph
 * and lowers its branches as graphs of their own, which is always right. */
static bool host_value_expr(Frame *f, const Names *earlier, const Ast *e) {
  static const char *const fns[] = {"int", "float", "round", "abs", "min", "max", "len",
                                    "str", "bool"};
  if (!e) return true;
  switch (e->kind) {
  case AST_INT: case AST_FLOAT: case AST_STR: case AST_BOOL: case AST_NONE: return true;
  case AST_NAME: {
    for (int i = 0; i < earlier->n; i++)
      if (!strcmp(earlier->v[i], e->str)) return true;
    Scope *sc = binding(f->scope, e->str);
    return sc && host_valued(attrs_get(&sc->vars, e->str));
  }
  case AST_ATTR: /* math.pi */
    if (e->a->kind == AST_NAME) {
      Scope *sc = binding(f->scope, e->a->str);
      Value *v = sc ? attrs_get(&sc->vars, e->a->str) : NULL;
      return v && v->k == V_NS && !strcmp(v->s, "math");
    }
    return false;
  case AST_CALL:
    for (int i = 0; i < e->nitems; i++)
      if (e->items[i]->kind == AST_KWARG || e->items[i]->kind == AST_STARARG) return false;
    if (e->a->kind == AST_ATTR && !strcmp(e->a->str, "item") && e->nitems == 0) return true;
    if (e->a->kind == AST_ATTR && !host_value_expr(f, earlier, e->a)) return false; /* math.cos(...) */
    if (e->a->kind == AST_NAME) {
      bool known = false;
      for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++)
        if (!strcmp(e->a->str, fns[i])) known = true;
      Scope *sc = binding(f->scope, e->a->str);
      if (!known || sc) return false; /* not one of these, or a name the program rebound */
    } else if (e->a->kind != AST_ATTR)
      return false;
    for (int i = 0; i < e->nitems; i++)
      if (!host_value_expr(f, earlier, e->items[i])) return false;
    return true;
  case AST_BINOP: case AST_UNARY: case AST_COMPARE: case AST_BOOLOP: case AST_IFEXP:
  case AST_TUPLE: case AST_LIST: case AST_FSTRING: case AST_FORMAT:
    if (!host_value_expr(f, earlier, e->a) || !host_value_expr(f, earlier, e->b) || !host_value_expr(f, earlier, e->c)) return false;
    for (int i = 0; i < e->nitems; i++)
      if (!host_value_expr(f, earlier, e->items[i])) return false;
    return true;
  default: return false;
  }
}

/* Whether a branch only prints and computes host values (loss.item(), counters): it can
 * then run after the graph it is written in, instead of splitting that graph (which would
 * separate a loss from its backward()). A tensor it assigned would be computed in the
 * graph whether the condition holds or not, so an assignment must be of a host value. */
static bool host_only_in(Frame *f, const Ast *st, Names *earlier) {
  if (!st) return true;
  switch (st->kind) {
  case AST_BLOCK:
    for (int i = 0; i < st->nitems; i++)
      if (!host_only_in(f, st->items[i], earlier)) return false;
    return true;
  case AST_PASS: return true;
  case AST_EXPR: return host_only_expr(st->a);
  case AST_ASSIGN:
  case AST_AUGASSIGN:
    if (!host_target(f, st->a) || !host_only_expr(st->b) || !host_value_expr(f, earlier, st->b))
      return false;
    if (st->kind == AST_ASSIGN && st->a->kind == AST_NAME) names_add(earlier, st->a->str);
    return true;
  case AST_IF: {
    /* a name either branch assigns counts as assigned after it (one that only one branch
       assigns is joined or poisoned by the lowering, never read as a tensor) */
    Names a = *earlier, b = *earlier;
    a.v = b.v = NULL, a.n = b.n = a.cap = b.cap = 0;
    for (int i = 0; i < earlier->n; i++) names_add(&a, earlier->v[i]), names_add(&b, earlier->v[i]);
    if (!host_only_expr(st->a) || !host_only_in(f, st->b, &a) || !host_only_in(f, st->c, &b)) return false;
    int n0 = earlier->n;
    for (int i = n0; i < a.n; i++) names_add(earlier, a.v[i]);
    for (int i = n0; i < b.n; i++) names_add(earlier, b.v[i]);
    return true;
  }
  case AST_ASSERT: /* a run-time assert, or its raise */
    return st->ival == 1 || (host_only_expr(st->a) && host_only_expr(st->b) && host_value_expr(f, earlier, st->a));
  default: return false;
  }
}

static bool host_only(L *l, Frame *f, const Ast *st) {
  Names earlier = {.arena = l->arena};
  return host_only_in(f, st, &earlier);
}

Exit lower_host_if(L *l, Frame *f, const Ast *st, HostExpr *cond) {
  int nc;
  if (l->g && l->g->n > 0 && host_only(l, f, st->b) && host_only(l, f, st->c)) {
    /* run after the graph: its .item() snapshots are taken in the graph, unconditionally */
    const Ast *orelse = st->c;
    Names all = {.arena = l->arena}, fresh = {.arena = l->arena};
    assigned_names(st->b, &all);
    assigned_names(orelse, &all);
    for (int i = 0; i < all.n; i++)
      if (!binding(f->scope, all.v[i])) names_add(&fresh, all.v[i]);
    Joined *joined = arena_alloc(l->arena, sizeof(Joined) * (size_t)(fresh.n + 1));
    for (int i = 0; i < fresh.n; i++) joined[i] = (Joined){fresh.v[i], -1, -1};
    /* numbers only: no tensor targets; strings and the like are watched */
    Carried *watched = prepare_carried(l, f, st->b, orelse, &nc, st->off);
    Stmt *body = NULL, *els = NULL;
    int nbody = 0, capbody = 0, nels = 0, capels = 0;
    Stmt **sb = l->blk;
    int *sn = l->blkn, *sc = l->blkcap;
    l->capture++;
    l->blk = &body, l->blkn = &nbody, l->blkcap = &capbody;
    region_enter(l, st->off);
    lower_block(l, f, st->b);
    region_leave(l);
    join_branch(l, f, &fresh, joined, st->off);
    if (orelse) {
      l->blk = &els, l->blkn = &nels, l->blkcap = &capels;
      region_enter(l, st->off);
      lower_block(l, f, orelse);
      region_leave(l);
      join_branch(l, f, &fresh, joined, st->off);
    }
    l->capture--;
    l->blk = sb, l->blkn = sn, l->blkcap = sc;
    for (int i = 0; i < nc; i++) rebound_watched(l, &watched[i], st->off, true);
    Stmt *s = emit_host_stmt(l, ST_IF, st->off);
    s->expr = cond;
    s->body = body, s->nbody = nbody, s->capbody = capbody;
    s->orelse = els, s->norelse = nels, s->capelse = capels;
    for (int i = 0; i < fresh.n; i++)
      if (joined[i].hvar >= 0) {
        HostExpr *e = ir_hx(l->p, HX_VAR);
        e->hvar = joined[i].hvar;
        e->isfloat = l->p->hvars[e->hvar].isfloat;
        Value *hv = v_host(l, e);
        hv->s = fresh.v[i];
        attrs_set(l, &f->scope->vars, fresh.v[i], hv);
      } else if (joined[i].var >= 0) {
        Value *t = v_new(l, V_TENSOR);
        t->t.var = joined[i].var;
        t->t.leaf = true;
        attrs_set(l, &f->scope->vars, fresh.v[i], t);
      } else
        poison_fresh(l, f, fresh.v[i]);
    return X_NEXT;
  }
  if (l->capture) /* a function called in a branch that runs after the graph */
    lerr(l, st->off, "this if on a value known only at run time computes tensors, and runs inside "
                     "a run-time branch that ttc lowers as host code after the graph (in a function "
                     "called there); compute it before that branch");
  end_graph(l);
  const Ast *orelse = st->c;
  Names all = {.arena = l->arena}, fresh = {.arena = l->arena};
  assigned_names(st->b, &all);
  assigned_names(orelse, &all);
  for (int i = 0; i < all.n; i++)
    if (!binding(f->scope, all.v[i])) names_add(&fresh, all.v[i]);
  Joined *joined = arena_alloc(l->arena, sizeof(Joined) * (size_t)(fresh.n + 1));
  for (int i = 0; i < fresh.n; i++) joined[i] = (Joined){fresh.v[i], -1, -1};
  Carried *carried = prepare_carried(l, f, st->b, orelse, &nc, st->off);
  end_graph(l);
  Stmt *body = NULL, *els = NULL;
  int nbody = 0, capbody = 0, nels = 0, capels = 0;
  Stmt **sb = l->blk;
  int *sn = l->blkn, *sc = l->blkcap;
  l->blk = &body;
  l->blkn = &nbody;
  l->blkcap = &capbody;
  region_enter(l, st->off);
  Exit x1 = lower_block(l, f, st->b);
  region_leave(l);
  join_branch(l, f, &fresh, joined, st->off);
  if (x1 == X_BREAK || x1 == X_CONTINUE) {
    store_carried(l, carried, nc, st->off, true);
    end_graph(l);
    emit_stmt(l, x1 == X_BREAK ? ST_BREAK : ST_CONTINUE, st->off);
  } else {
    store_carried(l, carried, nc, st->off, true);
    end_graph(l);
  }
  Exit x2 = X_NEXT;
  if (orelse) {
    l->blk = &els;
    l->blkn = &nels;
    l->blkcap = &capels;
    region_enter(l, st->off);
    x2 = lower_block(l, f, orelse);
    region_leave(l);
    join_branch(l, f, &fresh, joined, st->off);
    store_carried(l, carried, nc, st->off, true);
    end_graph(l);
    if (x2 == X_BREAK || x2 == X_CONTINUE) emit_stmt(l, x2 == X_BREAK ? ST_BREAK : ST_CONTINUE, st->off);
  }
  l->blk = sb;
  l->blkn = sn;
  l->blkcap = sc;
  if (x1 == X_RETURN || x2 == X_RETURN) lerr(l, st->off, "'return' under a run-time condition is not supported");
  if ((x1 == X_BREAK || x1 == X_CONTINUE || x2 == X_BREAK || x2 == X_CONTINUE) && l->unrolled)
    lerr(l, st->off, "'%s' under a run-time condition in a loop that ttc unrolls at compile time is "
                     "not supported (a loop over a range becomes a run-time loop when its body trains, "
                     "or when it runs over 1000 times)",
         x1 == X_BREAK || x2 == X_BREAK ? "break" : "continue");
  for (int i = 0; i < fresh.n; i++) {
    if (joined[i].var >= 0) {
      Value *t = v_new(l, V_TENSOR);
      t->t.var = joined[i].var;
      t->t.leaf = true;
      attrs_set(l, &f->scope->vars, fresh.v[i], t);
    } else if (joined[i].hvar >= 0) {
      HostExpr *e = ir_hx(l->p, HX_VAR);
      e->hvar = joined[i].hvar;
      e->isfloat = l->p->hvars[e->hvar].isfloat;
      Value *hv = v_host(l, e);
      hv->s = fresh.v[i];
      attrs_set(l, &f->scope->vars, fresh.v[i], hv);
    } else
      poison_fresh(l, f, fresh.v[i]);
  }

  Stmt *s = emit_stmt(l, ST_IF, st->off);
  s->expr = cond;
  s->body = body;
  s->nbody = nbody;
  s->capbody = capbody;
  s->orelse = els;
  s->norelse = nels;
  s->capelse = capels;
  return X_NEXT;
}

/* Binding a loop target: names, and tuples unpacked. */
static void bind_target(L *l, Frame *f, const Ast *target, Value *v) {
  if (target->kind == AST_NAME) {
    attrs_set(l, &f->scope->vars, target->str, v);
    return;
  }
  if ((target->kind == AST_TUPLE || target->kind == AST_LIST) && (v->k == V_TUPLE || v->k == V_LIST) &&
      v->n == target->nitems) {
    for (int i = 0; i < v->n; i++) bind_target(l, f, target->items[i], v->items[i]);
    return;
  }
  lerr(l, target->off, "cannot unpack the loop's value into this target");
}

void set_var_loader(L *l, int var, int loader) {
  if (var >= l->nvar_loader) {
    int n = var + 64;
    l->var_loader = xrealloc(l->var_loader, sizeof(int) * (size_t)n);
    for (int i = l->nvar_loader; i < n; i++) l->var_loader[i] = -1;
    l->nvar_loader = n;
  }
  l->var_loader[var] = loader;
}

/* ---- run-time lists -------------------------------------------------------------------
 *
 * A host loop's body is lowered once, so `hist.append(loss.item())` on a list made before
 * the loop would append once, at compile time, and the list would end with one value where
 * Python has one per iteration. Such a list becomes a run-time list (V_RTLIST): a host
 * variable holding a growable array of numbers in the emitted C, set (ST_LIST_INIT) where
 * the list was made, appended to (ST_LIST_APPEND) where the program appends. It can be
 * printed, measured with len(), indexed, summed and given to min()/max(); anything else
 * (iteration, slicing, other methods) is a diagnostic, as is any other change to an outer
 * container inside a run-time loop or branch — never a value that differs from Python's.
 */

void region_enter(L *l, int32_t off) {
  if (l->nregions == (int)(sizeof l->regions / sizeof l->regions[0]))
    lerr(l, off, "run-time loops and branches are nested too deeply");
  struct Region *r = &l->regions[l->nregions++];
  r->serial = ++l->nserial;
  r->blk = l->blk;
  r->blkn = l->blkn;
  r->blkcap = l->blkcap;
  l->region = r->serial;
}

void region_leave(L *l) {
  TT_ASSERT(l->nregions > 1);
  l->nregions--;
  l->region = l->regions[l->nregions - 1].serial;
}

bool outer_container(L *l, const Value *v) {
  return v->k == V_RTLIST || (l->nregions > 1 && v->region != l->region);
}

_Noreturn void outer_mutation(L *l, const Value *v, const char *what, int32_t off) {
  lerr(l, off, "%s on a %s made outside this run-time %s is not supported: the body runs "
               "many times but ttc lowers it once (only append() and extend() of numbers to "
               "a list are run-time operations)",
       what, v_typename(v), l->loop_depth ? "loop" : "branch");
}

_Noreturn void rtlist_unsupported(L *l, const char *what, int32_t off) {
  lerr(l, off, "this list is filled while the program runs, to a length known only then (after "
               "a loop with a break, a continue or an if around its append(), or inside that "
               "loop): it supports append(), extend(), len(), indexing, sum(), min(), max() and "
               "print(), but not %s", what);
}

/* The kind of a number as a run-time list element: 1 int, 2 float, 4 bool. */
static int elem_kind(const HostExpr *e) {
  return e->isbool ? 4 : e->isfloat ? 2 : 1;
}

static HostExpr *elem_expr(L *l, Value *x, int32_t off) {
  if (x->k == V_TENSOR)
    lerr(l, off, "appending a tensor to a list in a run-time loop is not supported; append "
                 "t.item() for a number, or collect tensors with torch.cat/torch.stack");
  HostExpr *e = x->k == V_INT || x->k == V_FLOAT || x->k == V_BOOL || x->k == V_HOST ? hx_of(l, x, off) : NULL;
  if (!e) lerr(l, off, "a list filled in a run-time loop holds numbers; a %s cannot be added to it", v_typename(x));
  return e;
}

/* list as a run-time list: its host variable, set to its current items where it was made. */
static int rtlist_of(L *l, Value *list, int32_t off) {
  if (list->k == V_RTLIST) return (int)list->i;
  int r = l->nregions - 1;
  while (r >= 0 && l->regions[r].serial != list->region) r--;
  if (r < 0)
    lerr(l, off, "this list was made in a run-time loop or branch that has ended; changing it "
                 "here is not supported");
  HostExpr **init = arena_alloc(l->arena, sizeof(HostExpr *) * (size_t)(list->n + 1));
  for (int i = 0; i < list->n; i++) init[i] = elem_expr(l, list->items[i], off);
  int hv = ir_hvar_new(l->p, "list", false);
  l->p->hvars[hv].list = true;
  struct Region *rg = &l->regions[r];
  Stmt *st = rg->blk ? ir_stmt_push(l->p, rg->blk, rg->blkn, rg->blkcap, ST_LIST_INIT, (Loc){off})
                     : ir_stmt_add(l->p, ST_LIST_INIT, (Loc){off});
  st->hvar = hv;
  st->items = arena_alloc(l->p->arena, sizeof(PrintItem) * (size_t)(list->n + 1));
  for (int i = 0; i < list->n; i++) st->items[st->nitems++] = (PrintItem){.var = -1, .expr = init[i]};
  list->k = V_RTLIST; /* in place: every name and container holding it sees the change */
  list->i = hv;
  return hv;
}

void rtlist_append(L *l, Value *list, Value *x, int32_t off) {
  HostExpr *e = elem_expr(l, x, off);
  int hv = rtlist_of(l, list, off);
  Stmt *st = emit_host_stmt(l, ST_LIST_APPEND, off);
  st->hvar = hv;
  st->expr = e;
}

static HostExpr *list_hx(L *l, Value *list, HostExprKind kind, int32_t off) {
  HostExpr *e = ir_hx(l->p, kind);
  e->hvar = rtlist_of(l, list, off);
  e->loc = (Loc){off};
  return e;
}

Value *rtlist_len(L *l, Value *list, int32_t off) {
  return v_host(l, list_hx(l, list, HX_LIST_LEN, off));
}

/* The element type a read gives: the kinds appended so far, checked again once the
 * program is lowered (rtlist_check_types), when every append is known. */
static void typed_read(L *l, HostExpr *e, bool sum) {
  HostVar *hv = &l->p->hvars[e->hvar];
  e->isfloat = (hv->kinds & 2) != 0;
  e->isbool = !sum && hv->kinds == 4;
  if (l->nlreads == l->caplreads) {
    l->caplreads = l->caplreads ? 2 * l->caplreads : 16;
    l->lreads = xrealloc(l->lreads, sizeof *l->lreads * (size_t)l->caplreads);
  }
  l->lreads[l->nlreads++] = (struct ListRead){e, hv->kinds, sum};
}

Value *rtlist_get(L *l, Value *list, Value *index, int32_t off) {
  HostExpr *i = index->k == V_INT || index->k == V_BOOL || index->k == V_HOST ? hx_of(l, index, off) : NULL;
  if (!i || i->isfloat) lerr(l, off, "list indices must be integers, not %s", v_typename(index));
  HostExpr *e = list_hx(l, list, HX_LIST_GET, off);
  e->a = i;
  typed_read(l, e, false);
  return v_host(l, e);
}

Value *rtlist_reduce(L *l, Value *list, int kind, int32_t off) {
  HostExpr *e = list_hx(l, list, (HostExprKind)kind, off);
  typed_read(l, e, kind == HX_LIST_SUM);
  return v_host(l, e);
}

HostExpr *hx_runtime_error(L *l, int32_t off) {
  int hv = ir_hvar_new(l->p, "empty", false);
  l->p->hvars[hv].list = true;
  Stmt *st = emit_host_stmt(l, ST_LIST_INIT, off);
  st->hvar = hv;
  HostExpr *e = ir_hx(l->p, HX_LIST_GET);
  e->hvar = hv;
  e->loc = (Loc){off};
  e->a = hx_int(l, 0);
  return e;
}

HostExpr *rtlist_expr(L *l, Value *list) {
  return list_hx(l, list, HX_LIST, 0);
}

/* ---- run-time lists of a length known at compile time ----------------------------------
 *
 * A list made before a run-time loop over a range of compile-time bounds, appended to once
 * per iteration with no break, continue or run-time if in the way, has a length known when
 * ttc compiles: after the loop it becomes a compile-time list again, whose items read the
 * run-time list (hist[i]). Everything Python does with a list (iteration, slicing, zip,
 * enumerate, comprehensions) then works on it, each item a run-time number.
 */

/* Whether st (a statement list of n) appends to run-time list hv anywhere inside. */
static bool appends_to(const Stmt *st, int n, int hv) {
  for (int i = 0; i < n; i++) {
    if (st[i].kind == ST_LIST_APPEND && st[i].hvar == hv) return true;
    if (appends_to(st[i].body, st[i].nbody, hv) || appends_to(st[i].orelse, st[i].norelse, hv)) return true;
  }
  return false;
}

/* Whether a break or continue in st leaves (or skips the rest of) the loop st belongs to. */
static bool leaves_loop(const Stmt *st, int n) {
  for (int i = 0; i < n; i++) {
    if (st[i].kind == ST_BREAK || st[i].kind == ST_CONTINUE) return true;
    if (st[i].kind == ST_FOR || st[i].kind == ST_LOADER) continue; /* theirs */
    if (leaves_loop(st[i].body, st[i].nbody) || leaves_loop(st[i].orelse, st[i].norelse)) return true;
  }
  return false;
}

/* How many items statements st[0..n) append to hv when they run, or -1 if that is known
 * only at run time. */
static int64_t appended(const Stmt *st, int n, int hv) {
  int64_t total = 0;
  for (int i = 0; i < n; i++) {
    const Stmt *s = &st[i];
    if (s->kind == ST_LIST_INIT && s->hvar == hv) return -1; /* made again */
    if (s->kind == ST_LIST_APPEND && s->hvar == hv) {
      total++;
      continue;
    }
    if (!appends_to(s->body, s->nbody, hv) && !appends_to(s->orelse, s->norelse, hv)) continue;
    if (s->kind != ST_FOR || !s->expr || !s->expr2 || s->expr->kind != HX_INT ||
        s->expr2->kind != HX_INT || s->step == 0 || leaves_loop(s->body, s->nbody))
      return -1;
    int64_t lo = s->expr->i, hi = s->expr2->i, trips = 0;
    if (s->step > 0 && hi > lo) trips = (hi - lo + s->step - 1) / s->step;
    if (s->step < 0 && lo > hi) trips = (lo - hi - s->step - 1) / -s->step;
    int64_t each = appended(s->body, s->nbody, hv);
    if (each < 0 || (each && trips > 1000000 / each)) return -1;
    total += trips * each;
  }
  return total;
}

bool rtlist_fix(L *l, Value *list, int32_t off) {
  if (list->k != V_RTLIST) return list->k == V_LIST;
  int hv = (int)list->i;
  for (int i = 0; i < l->npending; i++)
    if (l->pending[i].kind == ST_LIST_APPEND && l->pending[i].hvar == hv) return false;
  const Stmt *blk = l->blk ? *l->blk : l->p->stmts;
  int n = l->blk ? *l->blkn : l->p->nstmts, at = -1;
  for (int i = 0; i < n && at < 0; i++)
    if (blk[i].kind == ST_LIST_INIT && blk[i].hvar == hv) at = i;
  if (at < 0) return false; /* made outside the loop or branch being lowered */
  int64_t count = appended(blk + at + 1, n - at - 1, hv);
  if (count < 0 || count + blk[at].nitems > 100000) return false;
  count += blk[at].nitems;
  Value **items = arena_alloc(l->arena, sizeof(Value *) * (size_t)(count + 1));
  for (int64_t i = 0; i < count; i++) items[i] = rtlist_get(l, list, v_int(l, i), off);
  list->k = V_LIST; /* in place, as rtlist_of made it a run-time list */
  list->items = items;
  list->n = list->cap = (int)count;
  return true;
}

static void list_kinds(Program *p, Stmt *st, int n) {
  for (int i = 0; i < n; i++) {
    Stmt *s = &st[i];
    if (s->kind == ST_LIST_APPEND) p->hvars[s->hvar].kinds |= elem_kind(s->expr);
    if (s->kind == ST_LIST_INIT)
      for (int k = 0; k < s->nitems; k++) p->hvars[s->hvar].kinds |= elem_kind(s->items[k].expr);
    list_kinds(p, s->body, s->nbody);
    list_kinds(p, s->orelse, s->norelse);
  }
}

void rtlist_check_types(L *l) {
  Program *p = l->p;
  for (int i = 0; i < p->nhvars; i++) p->hvars[i].kinds = 0;
  list_kinds(p, p->stmts, p->nstmts);
  for (int i = 0; i < l->nlreads; i++) {
    struct ListRead *r = &l->lreads[i];
    int final = p->hvars[r->e->hvar].kinds;
    bool mixed = final != 1 && final != 2 && final != 4 && final != 0;
    if (r->sum) mixed = (final & 2) && (final & 5); /* sum() of ints and floats is a float */
    if (mixed || (final != r->kinds && r->kinds != 0 && !r->sum))
      lerr(l, r->e->loc.off, "this list holds both %s when the program runs; ttc reads its elements "
                             "with one type (keep it to one kind of number)",
           (final & 2) ? "floats and ints" : "ints and bools");
    if (r->kinds == 0 || final != r->kinds) { /* read before the first append: its type now */
      r->e->isfloat = (final & 2) != 0;
      r->e->isbool = !r->sum && final == 4;
    }
  }
}

/* ---- strings selected at run time ------------------------------------------------------
 *
 * itos[i] where itos is a compile-time dict of int keys, or a list, tuple or str of
 * strings, and i is known only when the program runs (decode(model.generate(...)[0]
 * .tolist())): a run-time string (V_FSTR) whose one piece prints the selected string. The
 * key is looked up where Python looks it up, so a missing one stops the program there with
 * Python's KeyError or IndexError, printed or not; the piece prints from the position kept.
 */

static int64_t utf8_len(const char *s) {
  int64_t n = 0;
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) n += (*c & 0xC0) != 0x80;
  return n;
}

/* The strings obj's run-time keys can select, as a table. */
static StrTable pick_table(L *l, Value *obj, int32_t off) {
  StrTable t = {0};
  int n = obj->k == V_STR ? (int)strlen(obj->s) : obj->k == V_DICT ? obj->n / 2 : obj->n;
  const char **strs = arena_alloc(l->arena, sizeof *strs * (size_t)(n + 1));
  int64_t *keys = arena_alloc(l->arena, sizeof *keys * (size_t)(n + 1));
  bool dense = true;
  if (obj->k == V_STR) { /* its characters: code points, as Python indexes a str */
    t.kind = STRTAB_STR;
    for (const char *c = obj->s; *c; t.n++) {
      const char *e = c + 1;
      while ((*e & 0xC0) == 0x80) e++;
      strs[t.n] = arena_strndup(l->arena, c, (size_t)(e - c));
      c = e;
    }
  } else if (obj->k == V_LIST || obj->k == V_TUPLE) {
    t.kind = obj->k == V_LIST ? STRTAB_LIST : STRTAB_TUPLE;
    for (int i = 0; i < obj->n; i++) {
      if (obj->items[i]->k != V_STR)
        lerr(l, off,
             "an index known only at run time selects a string from a %s of strings, but item %d "
             "is of type '%s'",
             v_typename(obj), i, v_typename(obj->items[i]));
      strs[t.n++] = obj->items[i]->s;
    }
  } else {
    t.kind = STRTAB_DICT;
    for (int i = 0; i + 1 < obj->n; i += 2) {
      Value *k = obj->items[i], *v = obj->items[i + 1];
      int64_t key;
      if (k->k == V_INT || k->k == V_BOOL)
        key = k->i;
      else if (k->k == V_FLOAT && k->f == floor(k->f) && fabs(k->f) < 9e18)
        key = (int64_t)k->f; /* 1.0 == 1 */
      else
        continue; /* a str or tuple key never equals an int */
      if (v->k != V_STR)
        lerr(l, off,
             "a key known only at run time selects a string from a dict of strings, but the value "
             "of key %s is of type '%s'",
             v_str_of(l, k, true, off), v_typename(v));
      dense &= key == t.n;
      keys[t.n] = key;
      strs[t.n++] = v->s;
    }
  }
  t.strs = strs;
  t.keys = t.kind == STRTAB_DICT && !dense ? keys : NULL;
  return t;
}

Value *host_pick(L *l, Value *obj, Value *key, int32_t off) {
  HostExpr *k = hx_of(l, key, off);
  TT_ASSERT(k);
  if (k->isfloat && obj->k != V_DICT)
    lerr(l, off, "%s indices must be integers or slices, not float",
         obj->k == V_STR ? "string" : v_typename(obj));
  if (k->isfloat)
    lerr(l, off, "a float known only at run time as a dict key is not supported (use an int)");
  StrTable t = pick_table(l, obj, off);
  HostExpr *pos = ir_hx(l->p, HX_KEYPOS);
  pos->i = ir_strtab_new(l->p, &t);
  pos->a = k;
  pos->loc = (Loc){off};
  int hv = ir_hvar_new(l->p, "key", false); /* the lookup, and its error, happen here */
  Stmt *st = emit_host_stmt(l, ST_ASSIGN, off);
  st->hvar = hv;
  st->expr = pos;
  HostExpr *at = ir_hx(l->p, HX_VAR);
  at->hvar = hv;
  HostExpr *s = ir_hx(l->p, HX_STR);
  s->i = pos->i;
  s->a = at;
  Value *piece = v_tuple(l, 2); /* printed as an f-string's run-time piece */
  piece->s = "hfmt";
  piece->items[0] = v_host(l, s);
  piece->items[1] = l->none;
  Value *r = v_new(l, V_FSTR);
  v_list_push(l, r, v_str(l, ""));
  v_list_push(l, r, piece);
  v_list_push(l, r, v_str(l, ""));
  return r;
}

bool fstr_truthy(L *l, Value *s, int32_t off) {
  for (int i = 0; i < s->n; i++) {
    Value *pv = s->items[i];
    if (pv->k == V_STR) {
      if (pv->s[0]) return true;
      continue;
    }
    HostExpr *e = pv->k == V_TUPLE && pv->items[0]->k == V_HOST ? pv->items[0]->hx : NULL;
    if (!e || e->kind != HX_STR) return true; /* a number's text is never empty */
    const StrTable *t = &l->p->strtabs[e->i];
    bool empty = false;
    for (int k = 0; k < t->n; k++) empty |= !t->strs[k][0];
    if (!empty) return true;
  }
  lerr(l, off, "whether this string is empty is known only when the program runs (a string it "
               "selects at run time may be empty)");
}

Value *fstr_len(L *l, Value *s, int32_t off) {
  int64_t text = 0;
  HostExpr *n = NULL;
  for (int i = 0; i < s->n; i++) {
    Value *pv = s->items[i];
    if (pv->k == V_STR) {
      text += utf8_len(pv->s);
      continue;
    }
    HostExpr *e = pv->k == V_TUPLE && pv->items[0]->k == V_HOST ? pv->items[0]->hx : NULL;
    if (!e || e->kind != HX_STR)
      fstr_unsupported(l, "len() of one that holds formatted numbers", off);
    HostExpr *len = ir_hx(l->p, HX_STRLEN);
    len->i = e->i;
    len->a = e->a;
    n = n ? hx_bin(l, HB_ADD, n, len) : len;
  }
  if (!n) return v_int(l, text);
  return v_host(l, text ? hx_bin(l, HB_ADD, n, hx_int(l, text)) : n);
}
