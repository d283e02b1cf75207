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
  if (s->rank < 0 || s->rank > TT_MAX_RANK || (s->rank < TT_MAX_RANK && s->symm >> s->rank)) return false;
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
  if (v->removed) return bad(err, g, id, "%s $%s: the variable was removed", ir_ops[n->op].name, v->name);
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
      if (n->shape.symm) return bad(err, g, id, "const: a constant cannot be symbolic");
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
  /* a fused value: elementwise, used once, by an elementwise op of its shape */
  int *uses = calloc((size_t)g->n + 1, sizeof *uses);
  if (!uses) return bad(err, g, -1, "out of memory");
  ir_use_counts(g, uses);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if (!n->fused) continue;
    int u = ir_fused_user(g, id);
    bool ok = (ir_ops[n->op].flags & OPF_EW) && ir_ops[n->op].expr && uses[id] == 1 && u > id &&
              (ir_ops[g->nodes[u].op].flags & OPF_EW) && ir_ops[g->nodes[u].op].expr &&
              shape_eq(&g->nodes[u].shape, &n->shape);
    if (!ok) {
      free(uses);
      return bad(err, g, id, "%s: fused, but not an elementwise value used once by an elementwise op of its shape",
                 ir_ops[n->op].name);
    }
  }
  free(uses);
  return true;
}

/* How deep host expressions and statement lists may nest: codegen recurses on both. */
#define IR_MAX_DEPTH 200

static bool verify_hexpr(const Program *p, const HostExpr *e, int depth, IrErr *err) {
  if (!e) return snprintf(err->msg, sizeof err->msg, "missing host expression"), false;
  if (depth > IR_MAX_DEPTH) return snprintf(err->msg, sizeof err->msg, "host expression nested too deeply"), false;
  switch (e->kind) {
  case HX_INT:
  case HX_FLOAT: return true;
  case HX_VAR:
    if (e->hvar < 0 || e->hvar >= p->nhvars)
      return snprintf(err->msg, sizeof err->msg, "host expression: host var %d out of range", e->hvar), false;
    return true;
  case HX_ITEM: /* any dtype: the element is read through a cast to int64_t or double */
    if (e->var < 0 || e->var >= p->nvars)
      return snprintf(err->msg, sizeof err->msg, "host expression: item of var %d out of range", e->var), false;
    if (shape_numel(&p->vars[e->var].shape) < 1)
      return snprintf(err->msg, sizeof err->msg, "host expression: .item() of $%s, which has no element",
                      p->vars[e->var].name), false;
    return true;
  case HX_BIN:
    if (e->op < HB_ADD || e->op > HB_ROUND) return snprintf(err->msg, sizeof err->msg, "host expression: bad operator"), false;
    return verify_hexpr(p, e->a, depth + 1, err) && verify_hexpr(p, e->b, depth + 1, err);
  case HX_UN:
    if (e->op < HU_NEG || e->op > HU_ROUND) return snprintf(err->msg, sizeof err->msg, "host expression: bad operator"), false;
    return verify_hexpr(p, e->a, depth + 1, err);
  case HX_BATCH:
  case HX_LOADER_LEN:
  case HX_DATASET_LEN:
    if (e->loader < 0 || e->loader >= p->nloaders)
      return snprintf(err->msg, sizeof err->msg, "host expression: loader %d out of range", e->loader), false;
    return true;
  case HX_CLOCK: return true;
  case HX_CALL:
    if (!e->fn) return snprintf(err->msg, sizeof err->msg, "host expression: a call without a function"), false;
    return true;
  case HX_LIST:
  case HX_LIST_LEN:
  case HX_LIST_GET:
  case HX_LIST_SUM:
  case HX_LIST_MIN:
  case HX_LIST_MAX:
    if (e->hvar < 0 || e->hvar >= p->nhvars || !p->hvars[e->hvar].list)
      return snprintf(err->msg, sizeof err->msg, "host expression: %d is not a run-time list", e->hvar), false;
    return e->kind != HX_LIST_GET || verify_hexpr(p, e->a, depth + 1, err);
  case HX_STR: /* verify_item takes it as a print item's value */
    return snprintf(err->msg, sizeof err->msg, "host expression: a string where a number is needed"), false;
  case HX_KEYPOS:
  case HX_STRLEN:
    if (e->i < 0 || e->i >= p->nstrtabs)
      return snprintf(err->msg, sizeof err->msg, "host expression: string table %lld out of range", (long long)e->i), false;
    if (!verify_hexpr(p, e->a, depth + 1, err)) return false;
    if (e->a->isfloat)
      return snprintf(err->msg, sizeof err->msg, "host expression: a float key in a string table"), false;
    return true;
  }
  return snprintf(err->msg, sizeof err->msg, "host expression of unknown kind %d", (int)e->kind), false;
}

/* A print item's value: a number, or a string a run-time key selects (HX_STR). */
static bool verify_item(const Program *p, const HostExpr *e, IrErr *err) {
  if (!e || e->kind != HX_STR) return verify_hexpr(p, e, 0, err);
  HostExpr len = *e; /* the same table and position */
  len.kind = HX_STRLEN;
  return verify_hexpr(p, &len, 0, err);
}

/* Statements, recursively; loop_depth > 0 inside a loop (break/continue are legal). */
static bool verify_stmts(const Program *p, const Stmt *list, int n, int loop_depth, int depth, IrErr *err) {
  if (n < 0 || (n && !list)) return snprintf(err->msg, sizeof err->msg, "malformed statement list"), false;
  if (depth > IR_MAX_DEPTH) return snprintf(err->msg, sizeof err->msg, "statements nested too deeply"), false;
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
        if (it->expr && !verify_item(p, it->expr, err)) return false;
      }
      break;
    case ST_POSTFIX:
      for (int k = 0; k < s->nitems; k++)
        if (s->items[k].expr ? !verify_item(p, s->items[k].expr, err) : !s->items[k].text)
          return snprintf(err->msg, sizeof err->msg, "postfix item %d is neither text nor a host value", k), false;
      if (loop_depth == 0) return snprintf(err->msg, sizeof err->msg, "set_postfix outside a loop"), false;
      break;
    case ST_ASSIGN:
      if (s->hvar < 0 || s->hvar >= p->nhvars)
        return snprintf(err->msg, sizeof err->msg, "assignment to host var %d, out of range", s->hvar), false;
      if (!verify_hexpr(p, s->expr, 0, err)) return false;
      break;
    case ST_FOR:
      if (s->hvar < 0 || s->hvar >= p->nhvars || s->step == 0 || s->step == INT64_MIN)
        return snprintf(err->msg, sizeof err->msg, "for: bad counter or step"), false;
      if (!verify_hexpr(p, s->expr, 0, err) || !verify_hexpr(p, s->expr2, 0, err)) return false;
      if (s->expr->isfloat || s->expr2->isfloat || p->hvars[s->hvar].isfloat)
        return snprintf(err->msg, sizeof err->msg, "for: range() takes integers"), false;
      if (!verify_stmts(p, s->body, s->nbody, loop_depth + 1, depth + 1, err)) return false;
      break;
    case ST_LOADER:
      if (s->loader < 0 || s->loader >= p->nloaders)
        return snprintf(err->msg, sizeof err->msg, "loop over loader %d, out of range", s->loader), false;
      for (int k = 0; k < s->nitems; k++) /* a tqdm description's text and values */
        if (s->items[k].expr ? !verify_item(p, s->items[k].expr, err) : !s->items[k].text)
          return snprintf(err->msg, sizeof err->msg, "progress bar item %d is neither text nor a host value", k), false;
      if (!verify_stmts(p, s->body, s->nbody, loop_depth + 1, depth + 1, err)) return false;
      break;
    case ST_IF:
      if (!verify_hexpr(p, s->expr, 0, err)) return false;
      if (!verify_stmts(p, s->body, s->nbody, loop_depth, depth + 1, err)) return false;
      if (!verify_stmts(p, s->orelse, s->norelse, loop_depth, depth + 1, err)) return false;
      break;
    case ST_RAISE:
      if (!s->path) return snprintf(err->msg, sizeof err->msg, "raise without an error"), false;
      break;
    case ST_BREAK:
    case ST_CONTINUE:
      if (loop_depth == 0) return snprintf(err->msg, sizeof err->msg, "break or continue outside a loop"), false;
      break;
    case ST_SAVE:
    case ST_LOAD:
      if (!s->path || s->nkeys < 0 || (s->nkeys && (!s->vars || !s->keys)))
        return snprintf(err->msg, sizeof err->msg, "save/load without a path or variables"), false;
      for (int k = 0; k < s->nkeys; k++)
        if (s->vars[k] < 0 || s->vars[k] >= p->nvars || !s->keys[k])
          return snprintf(err->msg, sizeof err->msg, "save/load entry %d is malformed", k), false;
      break;
    case ST_EXTENT:
      if (s->loader < 0 || s->loader >= p->nloaders || p->loaders[s->loader].kind != LD_EXTENT)
        return snprintf(err->msg, sizeof err->msg, "extent statement on loader %d, not a run-time length", s->loader), false;
      if (!verify_hexpr(p, s->expr, 0, err)) return false;
      break;
    case ST_APPEND: {
      if (s->nkeys != 2 || !s->vars || s->vars[0] < 0 || s->vars[0] >= p->nvars || s->vars[1] < 0 ||
          s->vars[1] >= p->nvars || s->hvar < 0 || s->hvar >= p->nhvars || p->hvars[s->hvar].isfloat)
        return snprintf(err->msg, sizeof err->msg, "malformed append statement"), false;
      const Shape *d = &p->vars[s->vars[0]].shape, *x = &p->vars[s->vars[1]].shape;
      bool ok = d->rank == x->rank && !d->symm && !x->symm && s->step >= 0 && s->step < d->rank &&
                p->vars[s->vars[0]].dtype == p->vars[s->vars[1]].dtype;
      for (int k = 0; ok && k < d->rank; k++) ok = k == s->step ? x->d[k] <= d->d[k] : x->d[k] == d->d[k];
      if (!ok) return snprintf(err->msg, sizeof err->msg, "append: $%s does not fit $%s", p->vars[s->vars[1]].name, p->vars[s->vars[0]].name), false;
      break;
    }
    case ST_CALL:
      if (!s->fn || s->nargs < 0 || s->nkeys < 0 || (s->nkeys && !s->vars) || (s->nargs && !s->args) ||
          s->loader >= p->nloaders)
        return snprintf(err->msg, sizeof err->msg, "malformed call statement"), false;
      for (int k = 0; k < s->nargs; k++)
        if (!verify_hexpr(p, s->args[k], 0, err)) return false;
      for (int k = 0; k < s->nkeys; k++)
        if (s->vars[k] < 0 || s->vars[k] >= p->nvars || p->vars[s->vars[k]].shape.symm)
          return snprintf(err->msg, sizeof err->msg, "call statement: var %d out of range or batch-sized", k), false;
      break;
    case ST_LIST_INIT:
    case ST_LIST_APPEND:
      if (s->hvar < 0 || s->hvar >= p->nhvars || !p->hvars[s->hvar].list)
        return snprintf(err->msg, sizeof err->msg, "list statement on %d, not a run-time list", s->hvar), false;
      if (s->kind == ST_LIST_APPEND && !verify_hexpr(p, s->expr, 0, err)) return false;
      for (int k = 0; s->kind == ST_LIST_INIT && k < s->nitems; k++)
        if (!verify_hexpr(p, s->items[k].expr, 0, err)) return false;
      break;
    default: return snprintf(err->msg, sizeof err->msg, "statement of unknown kind %d", (int)s->kind), false;
    }
  }
  return true;
}

/* Elements per row of var v when its leading dim holds rows (a batch or a dataset). */
static bool row_of(const Program *p, const Loader *ld, int v, int64_t rows, int64_t *row, IrErr *err) {
  const Shape *s = &p->vars[v].shape;
  if (s->rank < 1 || s->d[0] != rows || (s->symm & ~1u))
    return snprintf(err->msg, sizeof err->msg, "loader %s: $%s must have %lld rows in its leading dimension",
                    ld->name ? ld->name : "?", p->vars[v].name, (long long)rows), false;
  *row = rows ? shape_numel(s) / rows : 0;
  return true;
}

/* A loader's variables have the rows and dtypes its kind fills (the runtime copies raw rows). */
static bool verify_loader(const Program *p, const Loader *ld, IrErr *err) {
  const char *nm = ld->name ? ld->name : "?";
  if (ld->kind == LD_EXTENT) {
    if (ld->xvar != -1 || ld->yvar != -1 || ld->batch < 1)
      return snprintf(err->msg, sizeof err->msg, "run-time length %s: no variables, a positive bound", nm), false;
    return true;
  }
  if (ld->xvar < 0 || ld->xvar >= p->nvars || ld->yvar < -1 || ld->yvar >= p->nvars || ld->batch < 1)
    return snprintf(err->msg, sizeof err->msg, "loader %s: invalid variables or batch size", nm), false;
  int64_t xrow = 0, yrow = 0;
  if (!row_of(p, ld, ld->xvar, ld->batch, &xrow, err)) return false;
  if (ld->yvar >= 0 && !row_of(p, ld, ld->yvar, ld->batch, &yrow, err)) return false;
  const Var *x = &p->vars[ld->xvar], *y = ld->yvar >= 0 ? &p->vars[ld->yvar] : NULL;
  if (ld->kind == LD_IDX || ld->kind == LD_CIFAR10) {
    int64_t want = ld->kind == LD_IDX ? 28 * 28 : 3 * 32 * 32;
    if (!ld->root) return snprintf(err->msg, sizeof err->msg, "loader %s: no dataset directory", nm), false;
    if (ld->kind == LD_IDX && !ld->prefix) return snprintf(err->msg, sizeof err->msg, "loader %s: no file prefix", nm), false;
    if (x->dtype != DT_F32 || xrow != want || (y && (y->dtype != DT_I64 || yrow != 1)))
      return snprintf(err->msg, sizeof err->msg, "loader %s: images are float32 rows of %lld values, labels int64",
                      nm, (long long)want), false;
  } else if (ld->kind == LD_TENSORS) {
    if (ld->srcx < 0 || ld->srcx >= p->nvars || ld->srcy < -1 || ld->srcy >= p->nvars ||
        (ld->srcy >= 0) != (ld->yvar >= 0) || ld->n < 0)
      return snprintf(err->msg, sizeof err->msg, "loader %s: invalid dataset tensors", nm), false;
    int64_t sxrow = 0, syrow = 0;
    if (!row_of(p, ld, ld->srcx, ld->n, &sxrow, err)) return false;
    if (ld->srcy >= 0 && !row_of(p, ld, ld->srcy, ld->n, &syrow, err)) return false;
    if (p->vars[ld->srcx].shape.symm || (ld->srcy >= 0 && p->vars[ld->srcy].shape.symm))
      return snprintf(err->msg, sizeof err->msg, "loader %s: a dataset tensor cannot have a batch dimension", nm), false;
    if (sxrow != xrow || p->vars[ld->srcx].dtype != x->dtype ||
        (y && (syrow != yrow || p->vars[ld->srcy].dtype != y->dtype)))
      return snprintf(err->msg, sizeof err->msg, "loader %s: dataset rows and batch rows differ in size or dtype", nm), false;
  } else {
    return snprintf(err->msg, sizeof err->msg, "loader %s: unknown kind %d", nm, (int)ld->kind), false;
  }
  return true;
}

/* A storage plan (memplan): every planned buffer lies in its dtype's arena, aligned, and no
 * two buffers alive at the same time share an element (an in-place result is its input's
 * buffer: ir_lifetimes' share). */
static bool verify_plan(const Program *p, const Graph *g, IrErr *err) {
  if (!g->mem_off) return true;
  int n = g->n;
  int *last = malloc(sizeof(int) * (size_t)(n + 1)), *share = malloc(sizeof(int) * (size_t)(n + 1));
  int64_t *elems = malloc(sizeof(int64_t) * (size_t)(n + 1));
  if (!last || !share || !elems) abort();
  ir_lifetimes(p, g, last, elems, share);
  for (int id = 0; id < n; id++) /* a buffer lives until its last node's last reader */
    if (share[id] != id && last[id] > last[share[id]]) last[share[id]] = last[id];
  bool ok = true;
  for (int a = 0; ok && a < n; a++) {
    int64_t oa = g->mem_off[a];
    DType dt = g->nodes[a].dtype;
    if (oa < 0) {
      if (elems[a] >= 0) ok = bad(err, g, a, "memplan: a buffer without a place in the arena");
      continue;
    }
    if (elems[a] < 0) ok = bad(err, g, a, "memplan: a place in the arena for a node that owns no buffer");
    else if (share[a] != a && g->mem_off[share[a]] != oa)
      ok = bad(err, g, a, "memplan: an in-place result away from its input's buffer");
    else if ((oa * (int64_t)dt_size(dt)) % 64 || oa + elems[a] > p->arena_elems[dt])
      ok = bad(err, g, a, "memplan: offset %lld (+%lld elements) outside the %lld-element %s arena or unaligned",
               (long long)oa, (long long)elems[a], (long long)p->arena_elems[dt], dt_name(dt));
    if (share[a] != a) continue; /* checked as its buffer's owner */
    for (int b = a + 1; ok && b <= last[a] && b < n; b++) /* b starts while a is alive */
      if (share[b] == b && g->mem_off[b] >= 0 && elems[b] >= 0 && g->nodes[b].dtype == dt &&
          g->mem_off[b] < oa + elems[a] && oa < g->mem_off[b] + elems[b])
        ok = bad(err, g, b, "memplan: shares elements with %%%d, which is still alive", (int)g->nodes[a].uid);
  }
  free(last);
  free(share);
  free(elems);
  return ok;
}

bool ir_verify_program(const Program *p, IrErr *err) {
  Graph pg;
  memset(&pg, 0, sizeof pg);
  pg.name = "program";
  if (!p) return bad(err, &pg, -1, "null program");
  if (p->nvars < 0 || p->ngraphs < 0 || p->nstmts < 0 || p->nhvars < 0 || p->nloaders < 0 ||
      (p->nvars && !p->vars) || (p->ngraphs && !p->graphs) || (p->nstmts && !p->stmts) ||
      (p->nhvars && !p->hvars) || (p->nloaders && !p->loaders))
    return bad(err, &pg, -1, "malformed program");
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
    if (!verify_plan(p, g, err)) return false;
    /* a batch dimension is sized by the loader the graph runs under */
    if (g->loader < -1 || g->loader >= p->nloaders)
      return bad(err, &pg, -1, "graph %d: loader %d out of range", i, g->loader);
    bool sym = false;
    for (int id = 0; id < g->n; id++) sym |= g->nodes[id].shape.symm || g->nodes[id].op == OP_BATCH;
    if (sym && g->loader < 0)
      return snprintf(err->msg, sizeof err->msg, "graph %d has a batch dimension but no data loader to size it", i), false;
  }
  for (int i = 0; i < p->nloaders; i++)
    if (!verify_loader(p, &p->loaders[i], err)) return false;
  if (!verify_stmts(p, p->stmts, p->nstmts, 0, 0, err)) return false;
  return true;
}
