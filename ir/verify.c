/*
 * verify.c — the structural invariants of graphs and programs.
 *
 * Runs after every pass in tests and debug builds, so a pass that builds a bad graph is
 * caught at the pass, not three passes later in codegen. The strongest check is that each
 * node's dtype and shape are what its op's shape rule computes from its inputs: a pass that
 * edits nodes by hand cannot drift from the rules. Messages name the graph and node id.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

static bool bad(IrErr *err, const Graph *g, int id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool bad(IrErr *err, const Graph *g, int id, const char *fmt, ...) {
  if (!err) return false;
  /* nodes by uid, as the IR printer shows them */
  int k = id >= 0 ? snprintf(err->msg, sizeof err->msg, "%s: %%%d: ", g->name ? g->name : "graph",
                             id < g->n && g->nodes ? (int)g->nodes[id].uid : id)
                  : snprintf(err->msg, sizeof err->msg, "%s: ", g->name ? g->name : "graph");
  if (k < 0 || (size_t)k >= sizeof err->msg) return false;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg + k, sizeof err->msg - (size_t)k, fmt, ap);
  va_end(ap);
  return false;
}

static bool shape_ok(const Shape *s) {
  if (s->rank < 0 || s->rank > TT_MAX_RANK || s->sym < -1 || s->sym >= s->rank) return false;
  for (int i = 0; i < s->rank; i++)
    if (s->d[i] < 0) return false;
  return true;
}

static bool check_var(const Program *p, const Graph *g, int id, const Node *n, IrErr *err) {
  if (!p) return true;
  if (n->attr.var < 0 || n->attr.var >= p->nvars)
    return bad(err, g, id, "%s: variable %d out of range (%d vars)", ir_ops[n->op].name,
               n->attr.var, p->nvars);
  const Var *v = &p->vars[n->attr.var];
  const Node *val = n->op == OP_STORE ? &g->nodes[n->in[0]] : n;
  if (val->dtype != v->dtype || !shape_eq(&val->shape, &v->shape)) {
    char a[96], b[96];
    return bad(err, g, id, "%s $%s: value is %s%s but the variable is %s%s", ir_ops[n->op].name,
               v->name, dt_name(val->dtype), shape_str(&val->shape, a, sizeof a),
               dt_name(v->dtype), shape_str(&v->shape, b, sizeof b));
  }
  return true;
}

bool ir_verify(const Program *p, const Graph *g, IrErr *err) {
  if (!g) {
    if (err) snprintf(err->msg, sizeof err->msg, "null graph");
    return false;
  }
  if (g->n < 0 || (g->n > 0 && !g->nodes) || g->n > g->cap)
    return bad(err, g, -1, "node array inconsistent (n=%d cap=%d)", g->n, g->cap);
  /* uids: unique and below next_uid, or the names in the C would collide */
  if (g->next_uid < g->n) return bad(err, g, -1, "next_uid %d below the node count %d", g->next_uid, g->n);
  unsigned char *seen = calloc((size_t)g->next_uid + 1, 1);
  if (!seen) return bad(err, g, -1, "out of memory");
  for (int id = 0; id < g->n; id++) {
    int32_t u = g->nodes[id].uid;
    bool ok = u >= 0 && u < g->next_uid && !seen[u];
    if (ok) seen[u] = 1;
    if (!ok) {
      free(seen);
      return bad(err, g, id, "uid %d is out of range or not unique", (int)u);
    }
  }
  free(seen);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if ((unsigned)n->op >= OP__COUNT) return bad(err, g, id, "op %d out of range", (int)n->op);
    const OpInfo *oi = &ir_ops[n->op];
    if (oi->nin >= 0 ? n->nin != oi->nin : n->nin < 1)
      return bad(err, g, id, "%s: has %d inputs, expected %d", oi->name, n->nin, oi->nin);
    if (n->nin > 0 && !n->in) return bad(err, g, id, "%s: missing input array", oi->name);
    for (int i = 0; i < n->nin; i++)
      if (n->in[i] < 0 || n->in[i] >= id)
        return bad(err, g, id, "%s: input %d is %%%d, not an earlier node", oi->name, i,
                   (int)n->in[i]);
    if ((unsigned)n->dtype >= DT__COUNT)
      return bad(err, g, id, "%s: dtype %d out of range", oi->name, (int)n->dtype);
    if (!shape_ok(&n->shape)) return bad(err, g, id, "%s: invalid shape", oi->name);
    if (n->attr.nints < 0 || (n->attr.nints > 0 && !n->attr.ints))
      return bad(err, g, id, "%s: invalid attribute array", oi->name);
    if (n->op == OP_CONST) {
      if (n->shape.sym >= 0) return bad(err, g, id, "const: a constant cannot be symbolic");
      if (shape_numel(&n->shape) > 0 && !n->attr.data)
        return bad(err, g, id, "const: no data for %lld elements",
                   (long long)shape_numel(&n->shape));
    }
    /* Re-run the rule on a copy; sources keep their given shape, so their rule only checks. */
    Node copy = *n;
    IrErr e;
    e.msg[0] = '\0';
    if (!(oi->flags & OPF_SOURCE)) {
      copy.dtype = DT_F32;
      copy.shape = shape_scalar();
    }
    if (!ir_shape_rules[n->op](g, &copy, &e)) return bad(err, g, id, "%s", e.msg);
    if (copy.dtype != n->dtype || !shape_eq(&copy.shape, &n->shape)) {
      char a[96], b[96];
      return bad(err, g, id, "%s: node is %s%s but its shape rule gives %s%s", oi->name,
                 dt_name(n->dtype), shape_str(&n->shape, a, sizeof a), dt_name(copy.dtype),
                 shape_str(&copy.shape, b, sizeof b));
    }
    if ((n->op == OP_INPUT || n->op == OP_STORE) && !check_var(p, g, id, n, err)) return false;
  }
  return true;
}

static bool verify_hexpr(const Program *p, const HostExpr *e, IrErr *err) {
  if (!e) return snprintf(err->msg, sizeof err->msg, "missing host expression"), false;
  switch (e->kind) {
  case HX_INT:
  case HX_FLOAT: return true;
  case HX_VAR:
    if (e->hvar < 0 || e->hvar >= p->nhvars)
      return snprintf(err->msg, sizeof err->msg, "host expression: host var %d out of range", e->hvar), false;
    return true;
  case HX_ITEM:
    if (e->var < 0 || e->var >= p->nvars)
      return snprintf(err->msg, sizeof err->msg, "host expression: item of var %d out of range", e->var), false;
    return true;
  case HX_BIN: return verify_hexpr(p, e->a, err) && verify_hexpr(p, e->b, err);
  case HX_UN: return verify_hexpr(p, e->a, err);
  case HX_BATCH:
  case HX_LOADER_LEN:
  case HX_DATASET_LEN:
    if (e->loader < 0 || e->loader >= p->nloaders)
      return snprintf(err->msg, sizeof err->msg, "host expression: loader %d out of range", e->loader), false;
    return true;
  case HX_CLOCK: return true;
  case HX_LIST:
  case HX_LIST_LEN:
  case HX_LIST_GET:
  case HX_LIST_SUM:
  case HX_LIST_MIN:
  case HX_LIST_MAX:
    if (e->hvar < 0 || e->hvar >= p->nhvars || !p->hvars[e->hvar].list)
      return snprintf(err->msg, sizeof err->msg, "host expression: %d is not a run-time list", e->hvar), false;
    return e->kind != HX_LIST_GET || verify_hexpr(p, e->a, err);
  }
  return snprintf(err->msg, sizeof err->msg, "host expression of unknown kind %d", (int)e->kind), false;
}

/* Statements, recursively; loop_depth > 0 inside a loop (break/continue are legal). */
static bool verify_stmts(const Program *p, const Stmt *list, int n, int loop_depth, IrErr *err) {
  for (int i = 0; i < n; i++) {
    const Stmt *s = &list[i];
    switch (s->kind) {
    case ST_GRAPH:
      if (s->graph < 0 || s->graph >= p->ngraphs)
        return snprintf(err->msg, sizeof err->msg, "statement runs graph %d, out of range", s->graph), false;
      break;
    case ST_PRINT:
      if (s->nitems < 0 || (s->nitems > 0 && !s->items))
        return snprintf(err->msg, sizeof err->msg, "invalid print items"), false;
      for (int k = 0; k < s->nitems; k++) {
        const PrintItem *it = &s->items[k];
        if (it->var >= p->nvars || (it->var < 0 && !it->text && !it->expr))
          return snprintf(err->msg, sizeof err->msg, "print item %d is neither text, a var nor a host value", k), false;
        if (it->expr && !verify_hexpr(p, it->expr, err)) return false;
      }
      break;
    case ST_POSTFIX:
      for (int k = 0; k < s->nitems; k++)
        if (s->items[k].expr ? !verify_hexpr(p, s->items[k].expr, err) : !s->items[k].text)
          return snprintf(err->msg, sizeof err->msg, "postfix item %d is neither text nor a host value", k), false;
      if (loop_depth == 0) return snprintf(err->msg, sizeof err->msg, "set_postfix outside a loop"), false;
      break;
    case ST_ASSIGN:
      if (s->hvar < 0 || s->hvar >= p->nhvars)
        return snprintf(err->msg, sizeof err->msg, "assignment to host var %d, out of range", s->hvar), false;
      if (!verify_hexpr(p, s->expr, err)) return false;
      break;
    case ST_FOR:
      if (s->hvar < 0 || s->hvar >= p->nhvars || s->step == 0)
        return snprintf(err->msg, sizeof err->msg, "for: bad counter or zero step"), false;
      if (!verify_hexpr(p, s->expr, err) || !verify_hexpr(p, s->expr2, err)) return false;
      if (!verify_stmts(p, s->body, s->nbody, loop_depth + 1, err)) return false;
      break;
    case ST_LOADER:
      if (s->loader < 0 || s->loader >= p->nloaders)
        return snprintf(err->msg, sizeof err->msg, "loop over loader %d, out of range", s->loader), false;
      if (!verify_stmts(p, s->body, s->nbody, loop_depth + 1, err)) return false;
      break;
    case ST_IF:
      if (!verify_hexpr(p, s->expr, err)) return false;
      if (!verify_stmts(p, s->body, s->nbody, loop_depth, err)) return false;
      if (!verify_stmts(p, s->orelse, s->norelse, loop_depth, err)) return false;
      break;
    case ST_BREAK:
    case ST_CONTINUE:
      if (loop_depth == 0) return snprintf(err->msg, sizeof err->msg, "break/continue outside a loop"), false;
      break;
    case ST_SAVE:
    case ST_LOAD:
      if (!s->path || s->nkeys < 0 || (s->nkeys && (!s->vars || !s->keys)))
        return snprintf(err->msg, sizeof err->msg, "save/load without a path or variables"), false;
      for (int k = 0; k < s->nkeys; k++)
        if (s->vars[k] < 0 || s->vars[k] >= p->nvars)
          return snprintf(err->msg, sizeof err->msg, "save/load of var %d, out of range", s->vars[k]), false;
      break;
    case ST_LIST_INIT:
    case ST_LIST_APPEND:
      if (s->hvar < 0 || s->hvar >= p->nhvars || !p->hvars[s->hvar].list)
        return snprintf(err->msg, sizeof err->msg, "list statement on %d, not a run-time list", s->hvar), false;
      if (s->kind == ST_LIST_APPEND && !verify_hexpr(p, s->expr, err)) return false;
      for (int k = 0; s->kind == ST_LIST_INIT && k < s->nitems; k++)
        if (!verify_hexpr(p, s->items[k].expr, err)) return false;
      break;
    default: return snprintf(err->msg, sizeof err->msg, "statement of unknown kind %d", (int)s->kind), false;
    }
  }
  return true;
}

bool ir_verify_program(const Program *p, IrErr *err) {
  Graph pg;
  memset(&pg, 0, sizeof pg);
  pg.name = "program";
  if (!p) return bad(err, &pg, -1, "null program");
  for (int i = 0; i < p->nvars; i++) {
    const Var *v = &p->vars[i];
    if (!v->name || !v->name[0]) return bad(err, &pg, -1, "var %d has no name", i);
    if ((unsigned)v->dtype >= DT__COUNT || !shape_ok(&v->shape))
      return bad(err, &pg, -1, "var $%s has an invalid type", v->name);
    if (v->grad < -1 || v->grad >= p->nvars || v->grad_of < -1 || v->grad_of >= p->nvars)
      return bad(err, &pg, -1, "var $%s: grad link out of range", v->name);
    if (v->kind == VAR_GRAD && v->grad_of < 0)
      return bad(err, &pg, -1, "var $%s: a grad var without grad_of", v->name);
  }
  for (int i = 0; i < p->ngraphs; i++) {
    const Graph *g = p->graphs[i];
    if (!g) return bad(err, &pg, -1, "graph %d is missing", i);
    if (g->id != i) return bad(err, &pg, -1, "graph %d has id %d", i, g->id);
    if (!ir_verify(p, g, err)) return false;
  }
  for (int i = 0; i < p->nloaders; i++) {
    const Loader *ld = &p->loaders[i];
    if (ld->xvar < 0 || ld->xvar >= p->nvars || ld->yvar < -1 || ld->yvar >= p->nvars || ld->batch < 1)
      return bad(err, &pg, -1, "loader %d: invalid variables or batch size", i);
  }
  if (!verify_stmts(p, p->stmts, p->nstmts, 0, err)) return false;
  return true;
}
