/*
 * rewrite.c — use counts and the rule-driven rewrite walk (see ir.h).
 *
 * Every graph pass that rebuilds a graph is this walk with its own rules: DCE drops what
 * nothing live uses, autodiff replaces each backward() with its gradient nodes. The walk
 * owns the copying, the renumbering through the map and the uids (a copied node keeps
 * its uid, a new one gets a fresh uid), so no pass has its own copy loop to get wrong.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

void ir_use_counts(const Graph *g, int *uses) {
  memset(uses, 0, (size_t)g->n * sizeof *uses);
  for (int id = 0; id < g->n; id++)
    for (int k = 0; k < g->nodes[id].nin; k++) uses[g->nodes[id].in[k]]++;
}

static bool fail(IrErr *err, int32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool fail(IrErr *err, int32_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  err->off = off;
  return false;
}

/* One walk over in. *fired says whether any rule applied; NULL on failure. */
static Graph *walk(IrRewrite *rw, const IrRule *rules, int nrules, bool *fired, IrErr *err) {
  const Graph *in = rw->in;
  size_t n = (size_t)(in->n ? in->n : 1);
  int *uses = xmalloc(n * sizeof *uses);
  ir_use_counts(in, uses);
  rw->uses = uses;
  rw->map = xmalloc(n * sizeof *rw->map);
  rw->out = ir_graph_clone_empty(in);
  rw->err.msg[0] = '\0';
  rw->err.off = -1;
  *fired = false;
  bool ok = true;
  for (int id = 0; id < in->n && ok; id++) {
    const Node *nd = &in->nodes[id];
    int r = IR_KEEP;
    for (int k = 0; k < nrules && r == IR_KEEP; k++)
      if (rules[k].op < 0 || rules[k].op == (int)nd->op) r = rules[k].fn(rw, id);
    if (r == IR_FAIL) {
      ok = fail(err, rw->err.off, "%s", rw->err.msg[0] ? rw->err.msg : "a rewrite rule failed");
    } else if (r == IR_KEEP) {
      for (int k = 0; k < nd->nin && ok; k++)
        if (rw->map[nd->in[k]] < 0)
          ok = fail(err, -1, "%s: %%%d (%s) uses %%%d, which a rewrite rule dropped",
                    in->name ? in->name : "graph", (int)nd->uid, ir_ops[nd->op].name,
                    (int)in->nodes[nd->in[k]].uid);
      if (!ok) break;
      IrErr e;
      rw->map[id] = ir_copy_node(rw->out, in, id, rw->map, &e);
      if (rw->map[id] < 0) ok = fail(err, -1, "%s", e.msg);
    } else {
      if (r != IR_DROP && (r < 0 || r >= rw->out->n))
        ok = fail(err, -1, "a rewrite rule for %s returned node %d, not in the new graph",
                  ir_ops[nd->op].name, r);
      rw->map[id] = r;
      *fired = true;
    }
  }
  free(uses);
  free(rw->map);
  rw->uses = NULL;
  rw->map = NULL;
  Graph *out = rw->out;
  rw->out = NULL;
  if (!ok) {
    ir_graph_free(out);
    return NULL;
  }
  return out;
}

Graph *ir_rewrite(const Program *p, const Graph *in, const IrRule *rules, int nrules,
                  void (*begin)(IrRewrite *rw), void *ctx, IrErr *err) {
  err->msg[0] = '\0';
  err->off = -1;
  const Graph *cur = in;
  for (int round = 0; round < IR_REWRITE_MAX_ROUNDS; round++) {
    IrRewrite rw = {.p = p, .in = cur, .ctx = ctx};
    if (begin) begin(&rw);
    bool fired;
    Graph *next = walk(&rw, rules, nrules, &fired, err);
    if (!next) {
      if (cur != in) ir_graph_free((Graph *)cur);
      return NULL;
    }
    if (!fired) { /* a fixed point: the copy equals cur */
      ir_graph_free(next);
      return (Graph *)cur;
    }
    if (cur != in) ir_graph_free((Graph *)cur);
    cur = next;
  }
  if (cur != in) ir_graph_free((Graph *)cur);
  fail(err, -1, "%s: the rewrite rules reach no fixed point in %d rounds", in->name ? in->name : "graph",
       IR_REWRITE_MAX_ROUNDS);
  return NULL;
}
