/*
 * verify.c — the structural invariants of graphs and programs.
 *
 * Runs after every pass in tests and debug builds, so a pass that builds a bad graph is
 * caught at the pass, not three passes later in codegen. The strongest check is that each
 * node's dtype and shape are what its op's shape rule computes from its inputs: a pass that
 * edits nodes by hand cannot drift from the rules. Messages name the graph and node id.
 */
#include "ir/ir.h"

#include <string.h>

static bool bad(IrErr *err, const Graph *g, int id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool bad(IrErr *err, const Graph *g, int id, const char *fmt, ...) {
  if (!err) return false;
  int k = id >= 0 ? snprintf(err->msg, sizeof err->msg, "%s: %%%d: ", g->name ? g->name : "graph",
                             id)
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
  for (int i = 0; i < p->nstmts; i++) {
    const Stmt *s = &p->stmts[i];
    switch (s->kind) {
    case ST_GRAPH:
      if (s->graph < 0 || s->graph >= p->ngraphs)
        return bad(err, &pg, -1, "statement %d runs graph %d, out of range", i, s->graph);
      break;
    case ST_PRINT:
      if (s->nitems < 0 || (s->nitems > 0 && !s->items))
        return bad(err, &pg, -1, "statement %d: invalid print items", i);
      for (int k = 0; k < s->nitems; k++) {
        const PrintItem *it = &s->items[k];
        if (it->var >= p->nvars || (it->var < 0 && !it->text))
          return bad(err, &pg, -1, "statement %d: print item %d is neither text nor a var", i, k);
      }
      break;
    default:
      return bad(err, &pg, -1, "statement %d has unknown kind %d", i, (int)s->kind);
    }
  }
  return true;
}
