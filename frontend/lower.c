/*
 * lower.c — evaluate the AST into an IR Program.
 *
 * The .tt program is run here, at compile time, as Python would run it, with one
 * difference: tensor operations do not compute, they add nodes to the current graph
 * (the builtin files). Host values — numbers, strings, lists, modules, functions — are ordinary
 * compile-time values. A Module's __init__ runs here and builds the parameter tree;
 * forward is traced (inlined) where the module is called; loops over compile-time
 * ranges are unrolled; loops over data loaders become host loops (host.c). print()
 * becomes a host statement that runs after the current graph and reads a snapshot taken
 * where it was called, so printing never splits a graph.
 *
 * Every failure is a diagnostic at the offending source location followed by a longjmp
 * out of the evaluator; evaluation steps and call depth are bounded so no input can hang
 * or overflow the compiler.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_DEPTH = 64, MAX_NODES = 2000000 };
/* Enough for programs that unroll thousands of iterations (the finite-difference checks
 * use under 200,000), few enough that `while True: pass` stops within seconds. */
static const int64_t MAX_STEPS = 4000000;


static Value *eval(L *l, Scope *s, const Ast *e);
static Exit exec_block(L *l, Frame *f, const Ast *b);

/* ---- errors and values ------------------------------------------------------------- */

_Noreturn void lerr(L *l, int32_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(l->diag, "error", off, fmt, ap);
  va_end(ap);
  longjmp(l->fail, 1);
}

Value *v_new(L *l, VKind k) {
  Value *v = arena_alloc(l->arena, sizeof *v);
  v->k = k;
  v->t.graph = v->t.node = v->t.var = -1;
  v->region = l->region;
  return v;
}

Value *v_int(L *l, int64_t i) {
  Value *v = v_new(l, V_INT);
  v->i = i;
  return v;
}

Value *v_float(L *l, double f) {
  Value *v = v_new(l, V_FLOAT);
  v->f = f;
  return v;
}

Value *v_str(L *l, const char *s) {
  Value *v = v_new(l, V_STR);
  v->s = s;
  return v;
}

Value *v_bool(L *l, bool b) {
  return b ? l->vtrue : l->vfalse;
}

Value *v_tuple(L *l, int n) {
  Value *v = v_new(l, V_TUPLE);
  v->n = v->cap = n;
  v->items = arena_alloc(l->arena, sizeof(Value *) * (size_t)(n ? n : 1));
  return v;
}

void v_list_push(L *l, Value *list, Value *item) {
  if (list->n == list->cap) {
    int cap = list->cap ? list->cap * 2 : 8;
    Value **items = arena_alloc(l->arena, sizeof(Value *) * (size_t)cap);
    if (list->n) memcpy(items, list->items, sizeof(Value *) * (size_t)list->n);
    list->items = items;
    list->cap = cap;
  }
  list->items[list->n++] = item;
}

const char *v_typename(const Value *v) {
  switch (v->k) {
  case V_NONE: return "NoneType";
  case V_BOOL: return "bool";
  case V_INT: return "int";
  case V_FLOAT: return "float";
  case V_STR: return "str";
  case V_LIST: return "list";
  case V_TUPLE: return v->s && !strcmp(v->s, "torch.Size") ? "torch.Size" : "tuple";
  case V_DICT: return "dict";
  case V_TENSOR: return "Tensor";
  case V_DTYPE: return "torch.dtype";
  case V_FUNC: return "function";
  case V_CLASS: return "type";
  case V_OBJECT: return v->cls->s;
  case V_BUILTIN: return "builtin_function";
  case V_METHOD: return "method";
  case V_NS: return "module";
  case V_RANGE: return "range";
  case V_HOST: return v->hx->isbool ? "bool" : v->hx->isfloat ? "float" : "int";
  case V_FSTR: return "str";
  case V_RTLIST: return "list";
  }
  return "?";
}

void attrs_set(L *l, Attrs *a, const char *key, Value *v) {
  for (int i = 0; i < a->n; i++)
    if (!strcmp(a->keys[i], key)) {
      a->vals[i] = v;
      return;
    }
  if (a->n == a->cap) {
    int cap = a->cap ? a->cap * 2 : 8;
    const char **keys = arena_alloc(l->arena, sizeof(char *) * (size_t)cap);
    Value **vals = arena_alloc(l->arena, sizeof(Value *) * (size_t)cap);
    if (a->n) {
      memcpy(keys, a->keys, sizeof(char *) * (size_t)a->n);
      memcpy(vals, a->vals, sizeof(Value *) * (size_t)a->n);
    }
    a->keys = keys;
    a->vals = vals;
    a->cap = cap;
  }
  a->keys[a->n] = key;
  a->vals[a->n++] = v;
}

Value *attrs_get(const Attrs *a, const char *key) {
  for (int i = 0; i < a->n; i++)
    if (!strcmp(a->keys[i], key)) return a->vals[i];
  return NULL;
}

bool v_truthy(L *l, Value *v, int32_t off) {
  switch (v->k) {
  case V_NONE: return false;
  case V_BOOL:
  case V_INT: return v->i != 0;
  case V_FLOAT: return v->f != 0;
  case V_STR: return v->s[0] != 0;
  case V_FSTR: return fstr_truthy(l, v, off);
  case V_RTLIST: rtlist_unsupported(l, "its truth value", off);
  case V_LIST:
  case V_TUPLE:
  case V_DICT: return v->n != 0;
  case V_RANGE: return (v->i3 > 0) ? v->i < v->i2 : v->i > v->i2;
  case V_TENSOR: {
    Value *c = fold_scalar(l, v); /* made from constants: its value is known now */
    if (c) return v_truthy(l, c, off);
  }
  /* fall through */
  case V_HOST:
    lerr(l, off,
         "this value is only known when the program runs, and is used where ttc needs it at "
         "compile time (a shape, a size, a compile-time loop or condition)");
  default: return true;
  }
}

/* Python's str()/repr() for host values. */
static void buf_add(L *l, char **buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s);
  if (*len + n + 1 > *cap) {
    size_t c = (*cap ? *cap * 2 : 64);
    while (c < *len + n + 1) c *= 2;
    char *nb = arena_alloc(l->arena, c);
    if (*len) memcpy(nb, *buf, *len);
    *buf = nb;
    *cap = c;
  }
  memcpy(*buf + *len, s, n + 1);
  *len += n;
}

static const char *pyfloat(L *l, double f) {
  char tmp[64];
  if (isnan(f)) return "nan";
  if (isinf(f)) return f < 0 ? "-inf" : "inf";
  /* shortest round-trip digits, then Python's choice of notation */
  int prec;
  for (prec = 1; prec <= 17; prec++) {
    snprintf(tmp, sizeof tmp, "%.*e", prec - 1, f);
    if (strtod(tmp, NULL) == f) break;
  }
  /* tmp is d.ddde[+-]XX; digits and exponent */
  char digits[32];
  int nd = 0;
  const char *q = tmp;
  bool neg = false;
  if (*q == '-') neg = true, q++;
  for (; *q && *q != 'e'; q++)
    if (*q >= '0' && *q <= '9') digits[nd++] = *q;
  digits[nd] = 0;
  int exp = atoi(q + 1);
  while (nd > 1 && digits[nd - 1] == '0') digits[--nd] = 0;
  char out[64];
  int o = 0;
  if (neg) out[o++] = '-';
  if (exp < -4 || exp >= 16) {
    out[o++] = digits[0];
    if (nd > 1) {
      out[o++] = '.';
      for (int i = 1; i < nd; i++) out[o++] = digits[i];
    }
    o += snprintf(out + o, sizeof out - (size_t)o, "e%c%02d", exp < 0 ? '-' : '+', abs(exp));
  } else if (exp < 0) {
    out[o++] = '0';
    out[o++] = '.';
    for (int i = 0; i < -exp - 1; i++) out[o++] = '0';
    for (int i = 0; i < nd; i++) out[o++] = digits[i];
  } else {
    for (int i = 0; i <= exp; i++) out[o++] = i < nd ? digits[i] : '0';
    out[o++] = '.';
    if (nd > exp + 1)
      for (int i = exp + 1; i < nd; i++) out[o++] = digits[i];
    else
      out[o++] = '0';
  }
  out[o] = 0;
  return arena_strdup(l->arena, out);
}

static const char *str_repr(L *l, const char *s) {
  bool sq = strchr(s, '\'') && !strchr(s, '"');
  char *buf = NULL;
  size_t len = 0, cap = 0;
  buf_add(l, &buf, &len, &cap, sq ? "\"" : "'");
  for (const char *p = s; *p; p++) {
    char c[8] = {*p, 0};
    if (*p == '\\') strcpy(c, "\\\\");
    else if (*p == '\n') strcpy(c, "\\n");
    else if (*p == '\t') strcpy(c, "\\t");
    else if (*p == '\r') strcpy(c, "\\r");
    else if (*p == '\'' && !sq) strcpy(c, "\\'");
    else if ((unsigned char)*p < 32) snprintf(c, sizeof c, "\\x%02x", (unsigned char)*p);
    buf_add(l, &buf, &len, &cap, c);
  }
  buf_add(l, &buf, &len, &cap, sq ? "\"" : "'");
  return buf;
}

const char *v_str_of(L *l, Value *v, bool repr, int32_t off) {
  char tmp[64];
  switch (v->k) {
  case V_NONE: return "None";
  case V_BOOL: return v->i ? "True" : "False";
  case V_INT: snprintf(tmp, sizeof tmp, "%lld", (long long)v->i); return arena_strdup(l->arena, tmp);
  case V_FLOAT: return pyfloat(l, v->f);
  case V_STR: return repr ? str_repr(l, v->s) : v->s;
  case V_DTYPE: return dt_torch((DType)v->i);
  case V_LIST:
  case V_TUPLE: {
    bool size = v->k == V_TUPLE && v->s && !strcmp(v->s, "torch.Size");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    buf_add(l, &buf, &len, &cap, size ? "torch.Size([" : v->k == V_LIST ? "[" : "(");
    for (int i = 0; i < v->n; i++) {
      if (i) buf_add(l, &buf, &len, &cap, ", ");
      buf_add(l, &buf, &len, &cap, v_str_of(l, v->items[i], true, off));
    }
    if (v->k == V_TUPLE && v->n == 1 && !size) buf_add(l, &buf, &len, &cap, ",");
    buf_add(l, &buf, &len, &cap, size ? "])" : v->k == V_LIST ? "]" : ")");
    return buf;
  }
  case V_DICT: {
    char *buf = NULL;
    size_t len = 0, cap = 0;
    buf_add(l, &buf, &len, &cap, "{");
    for (int i = 0; i + 1 < v->n; i += 2) {
      if (i) buf_add(l, &buf, &len, &cap, ", ");
      buf_add(l, &buf, &len, &cap, v_str_of(l, v->items[i], true, off));
      buf_add(l, &buf, &len, &cap, ": ");
      buf_add(l, &buf, &len, &cap, v_str_of(l, v->items[i + 1], true, off));
    }
    buf_add(l, &buf, &len, &cap, "}");
    return buf;
  }
  case V_RANGE:
    if (v->i3 == 1)
      snprintf(tmp, sizeof tmp, "range(%lld, %lld)", (long long)v->i, (long long)v->i2);
    else
      snprintf(tmp, sizeof tmp, "range(%lld, %lld, %lld)", (long long)v->i, (long long)v->i2,
               (long long)v->i3);
    return arena_strdup(l->arena, tmp);
  case V_TENSOR:
    lerr(l, off, "a tensor cannot be formatted at compile time here; print it directly");
  case V_HOST:
    lerr(l, off, "a value known only at run time cannot be turned into a string at compile time; "
                 "print it directly or in an f-string");
  case V_FSTR: fstr_unsupported(l, "its use here", off);
  case V_RTLIST: rtlist_unsupported(l, "its use here (print it, or format it in an f-string)", off);
  case V_OBJECT: {
    const char *r = dataclass_repr(l, v, off);
    if (r) return r;
    r = bi_module_repr(l, v, off);
    if (r) return r;
    /* a built-in object PyTorch prints otherwise (an optimizer's param groups, a state
       dict's entries): say so rather than print something else */
    if (v->cls->bi && !strcmp(v->cls->s, "Checkpoint")) lerr(l, off, "%s", checkpoint_unknown(l, v));
    if (v->cls->bi) lerr(l, off, "printing a %s object is not supported", v->cls->s);
    return arena_printf(l->arena, "<__main__.%s object>", v->cls->s);
  }
  case V_CLASS: return arena_printf(l->arena, "<class '%s'>", v->s);
  case V_FUNC: return arena_printf(l->arena, "<function %s>", v->ast->str);
  case V_BUILTIN:
  case V_METHOD: return "<built-in function>";
  case V_NS: return v->closure ? module_repr(l, v, off) : arena_printf(l->arena, "<module '%s'>", v->s);
  }
  return "?";
}

/* ---- graphs ------------------------------------------------------------------------ */

Graph *cur_graph(L *l) {
  if (!l->g) l->g = ir_graph_new(l->p, (Loc){0});
  return l->g;
}

/*
 * Closes the open graph: it becomes a host statement that runs it, followed by the
 * prints that were written inside it. A print does not end a graph: it reads a snapshot
 * taken at its place in the graph, so printing never splits the forward from its
 * backward, and the prints still appear in program order.
 */
Stmt *emit_stmt(L *l, StmtKind kind, int32_t off) {
  if (l->blk) return ir_stmt_push(l->p, l->blk, l->blkn, l->blkcap, kind, (Loc){off});
  return ir_stmt_add(l->p, kind, (Loc){off});
}

Stmt *emit_host_stmt(L *l, StmtKind kind, int32_t off) {
  /* inside an if that runs after the graph (host.c), statements go to its branch */
  if (l->capture || !l->g || l->g->n == 0) return emit_stmt(l, kind, off);
  if (l->npending == l->cappending) {
    l->cappending = l->cappending ? l->cappending * 2 : 16;
    l->pending = xrealloc(l->pending, sizeof(Stmt) * (size_t)l->cappending);
  }
  Stmt *st = &l->pending[l->npending++];
  memset(st, 0, sizeof *st);
  st->kind = kind;
  st->loc = (Loc){off};
  st->graph = st->hvar = st->loader = -1;
  st->sep = " ";
  st->end = "\n";
  return st;
}

void end_graph(L *l) {
  TT_ASSERT(!l->capture || !l->g || l->g->n == 0);
  if (l->g && l->g->n > 0) {
    Stmt *st = emit_stmt(l, ST_GRAPH, l->g->loc.off);
    st->graph = l->g->id;
  }
  l->g = NULL;
  for (int i = 0; i < l->npending; i++) {
    Stmt *st = emit_stmt(l, l->pending[i].kind, l->pending[i].loc.off);
    *st = l->pending[i];
  }
  l->npending = 0;
}

int add_node(L *l, Op op, const int32_t *in, int nin, const Attr *attr, int32_t off) {
  Graph *g = cur_graph(l);
  if (g->n >= MAX_NODES) lerr(l, off, "the program is too large (more than %d graph nodes)", MAX_NODES);
  if (g->n == 0) g->loc.off = off;
  IrErr err;
  Attr zero = {0};
  int id = ir_add(g, op, in, nin, attr ? attr : &zero, (Loc){off}, &err);
  if (id < 0) lerr(l, off, "%s", err.msg);
  return id;
}

Value *mk_tensor(L *l, int node) {
  Value *v = v_new(l, V_TENSOR);
  v->t.graph = cur_graph(l)->id;
  v->t.node = node;
  return v;
}

/* Makes sure the tensor's current value is held by a program variable. */
int tvar(L *l, Value *t) {
  TT_ASSERT(t->k == V_TENSOR);
  if (t->t.dyn) dyn_unsupported(l, "this use", l->stmt_off);
  if (t->t.var >= 0) return t->t.var;
  if (t->t.win && t->t.graph < 0) win_tnode(l, t, l->stmt_off);
  Graph *g = l->p->graphs[t->t.graph];
  const Node *n = &g->nodes[t->t.node];
  const char *name = arena_strdup(l->p->arena, n->name ? n->name : "t");
  int var = ir_var_new(l->p, name, VAR_VALUE, n->dtype, n->shape);
  l->p->vars[var].requires_grad = t->t.requires_grad; /* autodiff refuses to cross graphs */
  if (n->shape.symm) set_var_loader(l, var, g->loader);
  Attr a = {0};
  a.var = var;
  IrErr err;
  int32_t in = t->t.node;
  if (ir_add(g, OP_STORE, &in, 1, &a, n->loc, &err) < 0) tt_internal_error(__FILE__, __LINE__, err.msg);
  t->t.var = var;
  return var;
}

int tnode(L *l, Value *t) {
  TT_ASSERT(t->k == V_TENSOR);
  if (t->t.dyn) dyn_unsupported(l, "this use", l->stmt_off);
  if (t->t.win) return win_tnode(l, t, l->stmt_off);
  Graph *g = cur_graph(l);
  if (t->t.graph == g->id) return t->t.node;
  int var = tvar(l, t);
  const Var *v = &l->p->vars[var];
  Attr a = {0};
  a.var = var;
  if (g->n == 0) g->loc.off = l->stmt_off;
  if (v->shape.symm) {
    int ld = var < l->nvar_loader ? l->var_loader[var] : -1;
    TT_ASSERT(ld >= 0);
    if (g->loader >= 0 && g->loader != ld)
      lerr(l, l->stmt_off, "tensors with batches from two different data loaders meet in one computation");
    g->loader = ld;
  }
  int id = ir_add_source(g, OP_INPUT, v->dtype, v->shape, &a, (Loc){l->stmt_off});
  t->t.graph = g->id;
  t->t.node = id;
  return id;
}

const Node *tn(L *l, Value *t) {
  int id = tnode(l, t);
  return &cur_graph(l)->nodes[id];
}

/*
 * x op= y and the x.op_(...) methods: the tensor changes in place, as in PyTorch, so
 * every name bound to it (and every view of a variable it lives in) sees the new value.
 */
void tensor_inplace(L *l, Value *old, Value *nv, int32_t off) {
  if (old->t.leaf && old->t.requires_grad && !l->no_grad)
    lerr(l, off, "a leaf Variable that requires grad is being used in an in-place operation "
                 "(wrap it in 'with no_grad():')");
  const Node *on = tn(l, old);
  DType odt = on->dtype;
  Shape osh = on->shape;
  const Node *nn = tn(l, nv);
  if (nn->dtype != odt) {
    bool ok = dt_is_float(odt) || (!dt_is_float(nn->dtype) && (odt != DT_BOOL || nn->dtype == DT_BOOL));
    if (!ok)
      lerr(l, off, "result type %s can't be cast to the desired output type %s", dt_torch(nn->dtype),
           dt_torch(odt));
    Attr a = {0};
    a.i[0] = odt;
    int32_t in = tnode(l, nv);
    nv = mk_tensor(l, add_node(l, OP_CAST, &in, 1, &a, off));
    nn = tn(l, nv);
  }
  if (!shape_eq(&nn->shape, &osh)) {
    char b1[64], b2[64];
    lerr(l, off, "output with shape %s doesn't match the broadcast shape %s", shape_str(&osh, b1, sizeof b1),
         shape_str(&nn->shape, b2, sizeof b2));
  }
  if (!old->t.leaf) old->t.gradfn = nv->t.gradfn, old->t.requires_grad = nv->t.requires_grad;
  if (old->t.var >= 0) {
    Attr a = {0};
    a.var = old->t.var;
    int32_t in = tnode(l, nv);
    add_node(l, OP_STORE, &in, 1, &a, off);
    old->t.graph = -1; /* read the variable again: other views of it see the same value */
  } else {
    old->t.graph = nv->t.graph;
    old->t.node = nv->t.node;
  }
}

/* ---- names ------------------------------------------------------------------------- */

static Value *scope_lookup(L *l, Scope *s, const char *name) {
  for (; s; s = s->parent) {
    Value *v = attrs_get(&s->vars, name);
    if (v) return v;
  }
  (void)l;
  return NULL;
}

static Value *lookup(L *l, Scope *s, const char *name, int32_t off) {
  Value *v = scope_lookup(l, s, name);
  if (v && v->k == V_TUPLE && v->s && !strcmp(v->s, "poison") && v->n == 1) lerr(l, off, "%s", v->items[0]->s);
  if (v && v->k == V_TUPLE && v->s && !strcmp(v->s, "poison"))
    lerr(l, off, "'%s' was given a different kind of value in one branch of an if on a run-time "
                 "value; after the if it could be either, so ttc cannot use it here", name);
  if (v) return v;
  /* builtins by the name's (AST-owned, stable) pointer: a loop evaluates one name many
   * times, and the table is searched once */
  size_t slot = ((uintptr_t)name >> 3) % (sizeof l->bcache / sizeof l->bcache[0]);
  const Builtin *b;
  if (l->bcache[slot].key == name) b = l->bcache[slot].b;
  else {
    b = bi_lookup(name, BI_FUNC | BI_CLASS);
    l->bcache[slot].key = name;
    l->bcache[slot].b = b;
  }
  if (b) {
    Value *bv = v_new(l, (b->flags & BI_CLASS) ? V_CLASS : V_BUILTIN);
    bv->bi = b;
    bv->s = b->name;
    return bv;
  }
  if (!strcmp(name, "__name__")) return v_str(l, "__main__");
  lerr(l, off, "name '%s' is not defined", name);
}

/* Give the traced node a source name, for the IR and the emitted C. */
static void name_tensor(L *l, Value *v, const char *name) {
  if (v->k != V_TENSOR) return;
  /* a leaf's variable is named after the first name it is bound to */
  if (v->t.var >= 0 && !strcmp(l->p->vars[v->t.var].name, "leaf"))
    l->p->vars[v->t.var].name = arena_strdup(l->p->arena, name);
  if (v->t.graph < 0) return;
  Graph *g = l->p->graphs[v->t.graph];
  Node *n = &g->nodes[v->t.node];
  if (!n->name && n->op != OP_INPUT) n->name = arena_strdup(g->arena, name);
}

/* ---- calls ------------------------------------------------------------------------- */

static Value *call_func(L *l, Value *fn, Value *self, Args *a) {
  const Ast *def = fn->ast;
  if (++l->depth > MAX_DEPTH)
    lerr(l, a->off, "calls nested too deeply (more than %d): is '%s' recursive?", MAX_DEPTH,
         def->str);
  Scope *sc = arena_alloc(l->arena, sizeof *sc);
  sc->parent = fn->closure;
  int np = def->nitems, pi = 0;
  bool *bound = arena_alloc(l->arena, (size_t)np + 1);
  if (self) {
    if (np == 0) lerr(l, a->off, "%s() takes no arguments, but is called as a method", def->str);
    attrs_set(l, &sc->vars, def->items[0]->str, self);
    bound[0] = true;
    pi = 1;
  }
  int first = pi;
  for (int i = 0; i < a->npos; i++, pi++) {
    if (pi >= np)
      lerr(l, a->off, "%s() takes %d positional arguments but %d were given", def->str,
           np - first, a->npos);
    attrs_set(l, &sc->vars, def->items[pi]->str, a->pos[i]);
    bound[pi] = true;
  }
  for (int k = 0; k < a->nkw; k++) {
    int j;
    for (j = 0; j < np; j++)
      if (!strcmp(def->items[j]->str, a->kwnames[k])) break;
    if (j == np) lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", def->str, a->kwnames[k]);
    if (bound[j]) lerr(l, a->off, "%s() got multiple values for argument '%s'", def->str, a->kwnames[k]);
    attrs_set(l, &sc->vars, def->items[j]->str, a->kw[k]);
    bound[j] = true;
  }
  for (int j = 0; j < np; j++) {
    if (bound[j]) continue;
    const Ast *p = def->items[j];
    if (p->kind != AST_KWARG)
      lerr(l, a->off, "%s() missing required argument '%s'", def->str, p->str);
    attrs_set(l, &sc->vars, p->str, eval(l, fn->closure, p->a));
  }
  Frame f = {sc, l->none};
  const Ast *body = tailret_body(l, def->c);
  exec_block(l, &f, body);
  if (body != def->c) {
    Value *r = attrs_get(&sc->vars, TAILRET_NAME);
    f.ret = r ? r : l->none;
  }
  l->depth--;
  return f.ret;
}

static Value *instantiate(L *l, Value *cls, Args *a) {
  Value *obj = v_new(l, V_OBJECT);
  obj->cls = cls;
  Value *init = attrs_get(&cls->attrs, "__init__");
  if (init && init->k == V_FUNC) call_func(l, init, obj, a);
  else if (dataclass_init(l, cls, obj, a)) {
  } else if (a->npos || a->nkw) lerr(l, a->off, "%s() takes no arguments", cls->s);
  return obj;
}

/* The user class a method is found on, walking base classes. */
Value *class_attr(Value *cls, const char *name) {
  for (; cls; cls = cls->self) {
    Value *v = attrs_get(&cls->attrs, name);
    if (v) return v;
  }
  return NULL;
}

Value *user_method(L *l, Value *obj, const char *name) {
  if (obj->k != V_OBJECT || !obj->cls || obj->cls->bi) return NULL;
  Value *m = class_attr(obj->cls, name);
  if (!m || m->k != V_FUNC) return NULL;
  Value *bm = v_new(l, V_METHOD);
  bm->fn = m;
  bm->self = obj;
  return bm;
}

Value *v_call(L *l, Value *fn, Args *a) {
  switch (fn->k) {
  case V_BUILTIN: {
    Value *r = dyn_call(l, fn, a); /* a result sized at run time among the arguments */
    return r ? r : fn->bi->fn(l, fn->self, a);
  }
  case V_FUNC:
  case V_METHOD: {
    Value *f = fn->k == V_FUNC ? fn : fn->fn;
    bool saved = l->no_grad;
    if (f->i == 1) l->no_grad = true; /* decorated with @torch.no_grad() */
    Value *r = call_func(l, f, fn->k == V_FUNC ? NULL : fn->self, a);
    l->no_grad = saved;
    return r;
  }
  case V_CLASS:
    if (fn->bi) return fn->bi->fn(l, NULL, a);
    return instantiate(l, fn, a);
  case V_OBJECT: {
    if (attrs_get(&fn->attrs, "__prune__")) prune_before_forward(l, fn, a->off); /* prune.c */
    if (fn->cls->bi) return fn->cls->bi->fn(l, fn, a);
    Value *fwd = class_attr(fn->cls, "forward");
    if (!fwd || fwd->k != V_FUNC) lerr(l, a->off, "'%s' object is not callable (it has no forward method)", fn->cls->s);
    return call_func(l, fwd, fn, a);
  }
  default: lerr(l, a->off, "'%s' object is not callable", v_typename(fn));
  }
}

/* The values a *x in a call unpacks: a list, a tuple, or a ModuleList's items. */
static Value *star_items(L *l, Value *v, int32_t off) {
  if (v->k == V_OBJECT && attrs_get(&v->attrs, "__items__")) v = attrs_get(&v->attrs, "__items__");
  if (v->k != V_LIST && v->k != V_TUPLE)
    lerr(l, off, "argument after * must be an iterable ttc can unpack (a list or tuple), not %s", v_typename(v));
  return v;
}

static Value *eval_call(L *l, Scope *s, const Ast *e) {
  Value *fn = eval(l, s, e->a);
  Args a = {0};
  a.off = e->off;
  /* the arguments evaluated in source order (their side effects, random draws included,
     happen as Python's), then *x and **d unpacked */
  Value **starv = arena_alloc(l->arena, sizeof(Value *) * (size_t)(e->nitems + 1));
  int npos = 0, nkw = 0;
  for (int i = 0; i < e->nitems; i++) {
    const Ast *it = e->items[i];
    starv[i] = eval(l, s, it->kind == AST_STARARG || it->kind == AST_KWARG ? it->a : it);
    if (it->kind == AST_STARARG) {
      if (it->ival == 1) npos += star_items(l, starv[i], it->off)->n;
      else if (starv[i]->k != V_DICT) lerr(l, it->off, "argument after ** must be a dict, not %s", v_typename(starv[i]));
      else nkw += starv[i]->n / 2;
    } else if (it->kind == AST_KWARG) {
      nkw++;
    } else {
      npos++;
    }
  }
  a.pos = arena_alloc(l->arena, sizeof(Value *) * (size_t)(npos + 1));
  a.kw = arena_alloc(l->arena, sizeof(Value *) * (size_t)(nkw + 1));
  a.kwnames = arena_alloc(l->arena, sizeof(char *) * (size_t)(nkw + 1));
  int32_t *po = arena_alloc(l->arena, sizeof(int32_t) * (size_t)(npos + 1));
  a.posoff = po;
  for (int i = 0; i < e->nitems; i++) {
    const Ast *it = e->items[i];
    if (it->kind == AST_KWARG || (it->kind == AST_STARARG && it->ival == 2)) {
      int n = it->kind == AST_KWARG ? 1 : starv[i]->n / 2;
      for (int j = 0; j < n; j++) {
        const char *name = it->kind == AST_KWARG ? it->str : NULL;
        Value *val;
        if (!name) {
          Value *key = starv[i]->items[2 * j];
          if (key->k != V_STR) lerr(l, it->off, "keywords must be strings");
          name = key->s;
          val = starv[i]->items[2 * j + 1];
        } else {
          val = starv[i];
        }
        for (int k = 0; k < a.nkw; k++)
          if (!strcmp(a.kwnames[k], name)) lerr(l, it->off, "keyword argument repeated: %s", name);
        a.kwnames[a.nkw] = name;
        a.kw[a.nkw++] = val;
      }
    } else if (it->kind == AST_STARARG) {
      Value *seq = star_items(l, starv[i], it->off);
      for (int j = 0; j < seq->n; j++) po[a.npos] = it->off, a.pos[a.npos++] = seq->items[j];
    } else {
      po[a.npos] = it->off; /* the parser has rejected positionals after keywords */
      a.pos[a.npos++] = starv[i];
    }
  }
  Value *r = v_call(l, fn, &a);
  /* self.fc1(x) names its result fc1_out */
  if (r && r->k == V_TENSOR && fn->k == V_OBJECT && e->a->kind == AST_ATTR)
    name_tensor(l, r, arena_printf(l->arena, "%s_out", e->a->str));
  return r ? r : l->none;
}

/* ---- expressions ------------------------------------------------------------------- */

static void step(L *l, int32_t off) {
  if (++l->steps > MAX_STEPS)
    lerr(l, off, "the program takes too long to evaluate at compile time (over %lld steps)",
         (long long)MAX_STEPS);
}

static Value *getattr(L *l, Value *obj, const char *name, int32_t off) {
  switch (obj->k) {
  case V_FSTR: fstr_unsupported(l, arena_printf(l->arena, "its method %s()", name), off);
  case V_RTLIST:
    if (!strcmp(name, "append") || !strcmp(name, "extend")) {
      Value *bm = v_new(l, V_BUILTIN);
      bm->bi = py_method(V_LIST, name);
      bm->self = obj;
      return bm;
    }
    if (rtlist_fix(l, obj, off)) return getattr(l, obj, name, off);
    rtlist_unsupported(l, arena_printf(l->arena, "its method %s()", name), off);
  case V_OBJECT: {
    Value *v = attrs_get(&obj->attrs, name);
    if (v) return v;
    Value *m = class_attr(obj->cls, name);
    if (m) {
      if (m->k != V_FUNC) return m;
      Value *bm = v_new(l, V_METHOD);
      bm->fn = m;
      bm->self = obj;
      return bm;
    }
    Value *r = bi_getattr(l, obj, name, off);
    if (r && r->k == V_BUILTIN && !strcmp(name, "load_state_dict")) return state_dict_loader(l, obj, r);
    if (r) return r;
    break;
  }
  case V_CLASS: {
    Value *v = class_attr(obj, name);
    if (v) return v;
    break;
  }
  case V_NS: {
    if (obj->closure) return module_attr(l, obj, name, off); /* a module of the program */
    if (!strncmp(obj->s, "safetensors", 11)) return safetensors_getattr(l, obj, name, off);
    if (!strcmp(obj->s, "os") || !strcmp(obj->s, "os.path")) return os_getattr(l, obj, name, off);
    if (!strcmp(obj->s, "dataclasses")) return dataclass_getattr(l, name, off);
    /* torch.X, nn.X, F.X, math.X, torch.nn.functional.X: the builtin of that name */
    static const char *subs[][2] = {
      {"nn", "torch.nn"}, {"functional", "torch.nn.functional"}, {"optim", "torch.optim"},
      {"init", "torch.nn.init"}, {"utils", "torch.utils"}, {"data", "torch.utils.data"},
      {"transforms", "torchvision.transforms"}, {"datasets", "torchvision.datasets"},
      {"lr_scheduler", "torch.optim.lr_scheduler"}, {"autograd", "torch.autograd"},
      {"cuda", "torch.cuda"}, {"linalg", "torch.linalg"}, {"distributed", "torch.distributed"},
      {"parallel", "torch.nn.parallel"}, {"prune", "torch.nn.utils.prune"},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
      if (!strcmp(name, subs[i][0]) && strcmp(obj->s, "math")) {
        Value *ns = v_new(l, V_NS);
        ns->s = subs[i][1];
        return ns;
      }
    if (!strcmp(obj->s, "math")) {
      if (!strcmp(name, "pi")) return v_float(l, 3.14159265358979323846);
      if (!strcmp(name, "e")) return v_float(l, 2.71828182845904523536);
      if (!strcmp(name, "inf")) return v_float(l, INFINITY);
      if (!strcmp(name, "nan")) return v_float(l, NAN);
      const Builtin *b = bi_lookup(arena_printf(l->arena, "math.%s", name), BI_FUNC);
      if (b) {
        Value *bv = v_new(l, V_BUILTIN);
        bv->bi = b;
        return bv;
      }
      lerr(l, off, "module 'math' has no attribute '%s' in ttc", name);
    }
    if (!strcmp(obj->s, "torch.nn.utils.prune")) return prune_getattr(l, name, off);
    if (!strcmp(obj->s, "torch.linalg")) { /* linalg.c's builtins, listed as "linalg.NAME" */
      const Builtin *b = bi_lookup(arena_printf(l->arena, "linalg.%s", name), BI_FUNC);
      if (!b) lerr(l, off, "module 'torch.linalg' has no attribute '%s' (not supported by ttc)", name);
      Value *bv = v_new(l, V_BUILTIN);
      bv->bi = b;
      bv->s = b->name;
      return bv;
    }
    Value *r = bi_getattr(l, obj, name, off);
    if (r) return r;
    const Builtin *b = bi_lookup(name, BI_FUNC | BI_CLASS);
    if (b) {
      Value *bv = v_new(l, (b->flags & BI_CLASS) ? V_CLASS : V_BUILTIN);
      bv->bi = b;
      bv->s = b->name;
      return bv;
    }
    lerr(l, off, "module '%s' has no attribute '%s' (not supported by ttc)", obj->s, name);
  }
  default: {
    Value *r = bi_getattr(l, obj, name, off);
    if (r) return r;
  }
  }
  lerr(l, off, "'%s' object has no attribute '%s'", v_typename(obj), name);
}

Value *lower_getattr(L *l, Value *obj, const char *name, int32_t off) {
  return getattr(l, obj, name, off);
}

static Value *eval_list(L *l, Scope *s, const Ast *e, VKind k) {
  Value *v = v_new(l, k);
  for (int i = 0; i < e->nitems; i++) {
    Value *x = host_snapshot(l, eval(l, s, e->items[i]), e->items[i]->off);
    if (k == V_DICT && i % 2 == 1) { /* a repeated key keeps its first place, the last value */
      int j = 0;
      while (j + 1 < v->n && !host_eq(l, v->items[j], v->items[v->n - 1], e->items[i]->off)) j += 2;
      if (j + 1 < v->n) {
        v->n--;
        v->items[j + 1] = x;
        continue;
      }
    }
    v_list_push(l, v, x);
  }
  return v;
}

static Value *eval_fstring(L *l, Scope *s, const Ast *e);
static void assign(L *l, Scope *s, const Ast *target, Value *v);
static Value *iter_items(L *l, Value *v, int32_t off);

/* The clauses of a comprehension from clause k on, in their own scope (as Python 3). */
static void comp_clauses(L *l, Scope *s, const Ast *e, int k, Value *out) {
  if (k == e->nitems) {
    v_list_push(l, out, host_snapshot(l, eval(l, s, e->a), e->a->off));
    return;
  }
  const Ast *c = e->items[k];
  if (c->kind == AST_IF) {
    if (v_truthy(l, eval(l, s, c->a), c->a->off)) comp_clauses(l, s, e, k + 1, out);
    return;
  }
  Value *items = iter_items(l, eval(l, s, c->b), c->b->off);
  for (int i = 0; i < items->n; i++) {
    assign(l, s, c->a, items->items[i]);
    comp_clauses(l, s, e, k + 1, out);
  }
}

static Value *eval_opt(L *l, Scope *s, const Ast *e) {
  if (!e) return NULL;
  Value *v = eval(l, s, e);
  return v->k == V_NONE ? NULL : v;
}

/* The items of a subscript x[...], evaluated in order. */
static IndexItem *index_items(L *l, Scope *s, const Ast *ix, int *np, bool *tp) {
  bool tuple = ix->kind == AST_TUPLE;
  int n = tuple ? ix->nitems : 1;
  IndexItem *items = arena_alloc(l->arena, sizeof(IndexItem) * (size_t)(n ? n : 1));
  for (int i = 0; i < n; i++) {
    const Ast *it = tuple ? ix->items[i] : ix;
    items[i].off = it->off;
    if (it->kind == AST_SLICE) {
      items[i].kind = IX_SLICE;
      items[i].lo = eval_opt(l, s, it->a);
      items[i].hi = eval_opt(l, s, it->b);
      items[i].st = eval_opt(l, s, it->c);
    } else if (it->kind == AST_ELLIPSIS) {
      items[i].kind = IX_ELLIPSIS;
    } else {
      items[i].kind = IX_VALUE;
      items[i].v = eval(l, s, it);
    }
  }
  *np = n;
  *tp = tuple;
  return items;
}

static Value *eval_index(L *l, Scope *s, const Ast *e) {
  Value *obj = eval(l, s, e->a);
  int n;
  bool tuple;
  IndexItem *items = index_items(l, s, e->b, &n, &tuple);
  if (obj->k == V_RTLIST && (n != 1 || items[0].kind != IX_VALUE)) rtlist_fix(l, obj, e->off);
  if (obj->k == V_RTLIST) {
    if (n != 1 || items[0].kind != IX_VALUE) rtlist_unsupported(l, "slicing", e->off);
    return rtlist_get(l, obj, items[0].v, e->off);
  }
  Value *gi = user_method(l, obj, "__getitem__"); /* ds[i] of a user class */
  if (gi) {
    if (tuple || items[0].kind != IX_VALUE) lerr(l, e->off, "ttc passes one index to a class's __getitem__");
    Value *pos[1] = {items[0].v};
    Args ga = {.pos = pos, .npos = 1, .off = e->off};
    return v_call(l, gi, &ga);
  }
  return bi_index(l, obj, items, n, tuple, e->off);
}

/* Whether evaluating e has no effect but its value: names, constants, attributes,
 * subscripts and arithmetic of those (no call). */
static bool pure_expr(const Ast *e, int depth) {
  if (!e) return true;
  if (depth > 32) return false;
  switch (e->kind) {
  case AST_INT: case AST_FLOAT: case AST_STR: case AST_BOOL: case AST_NONE: case AST_NAME: case AST_ELLIPSIS:
    return true;
  case AST_ATTR: case AST_UNARY: return pure_expr(e->a, depth + 1);
  case AST_INDEX: case AST_BINOP: case AST_COMPARE: return pure_expr(e->a, depth + 1) && pure_expr(e->b, depth + 1);
  case AST_SLICE: return pure_expr(e->a, depth + 1) && pure_expr(e->b, depth + 1) && pure_expr(e->c, depth + 1);
  case AST_TUPLE:
    for (int i = 0; i < e->nitems; i++)
      if (!pure_expr(e->items[i], depth + 1)) return false;
    return true;
  default: return false;
  }
}

static Value *eval(L *l, Scope *s, const Ast *e) {
  step(l, e->off);
  switch (e->kind) {
  case AST_INT: return v_int(l, e->ival);
  case AST_FLOAT: return v_float(l, e->fval);
  case AST_STR: return v_str(l, arena_strdup(l->arena, e->str));
  case AST_BOOL: return v_bool(l, e->ival != 0);
  case AST_NONE: return l->none;
  case AST_NAME: return lookup(l, s, e->str, e->off);
  case AST_LIST: return eval_list(l, s, e, V_LIST);
  case AST_TUPLE: return eval_list(l, s, e, V_TUPLE);
  case AST_DICT: return eval_list(l, s, e, V_DICT);
  case AST_ATTR: return getattr(l, eval(l, s, e->a), e->str, e->off);
  case AST_CALL: return eval_call(l, s, e);
  case AST_INDEX: return eval_index(l, s, e);
  case AST_BINOP: {
    Value *a = eval(l, s, e->a), *b = eval(l, s, e->b);
    if (a->k == V_RTLIST) rtlist_fix(l, a, e->off);
    if (b->k == V_RTLIST) rtlist_fix(l, b, e->off);
    if (a->k == V_RTLIST || b->k == V_RTLIST) rtlist_unsupported(l, "this operator", e->off);
    if (a->k == V_FSTR || b->k == V_FSTR) {
      if (e->op != BIN_ADD) fstr_unsupported(l, "this operator", e->off);
      return fstr_concat(l, a, b, e->off);
    }
    return bi_binop(l, e->op, a, b, e->off);
  }
  case AST_UNARY: {
    Value *a = eval(l, s, e->a);
    if (e->op == UN_NOT && a->k == V_HOST) return host_unop(l, UN_NOT, a, e->off);
    if (e->op == UN_NOT) return v_bool(l, !v_truthy(l, a, e->off));
    return bi_unop(l, e->op, a, e->off);
  }
  case AST_COMPARE: {
    Value *a = eval(l, s, e->a), *b = eval(l, s, e->b);
    if (a->k == V_FSTR || b->k == V_FSTR) fstr_unsupported(l, "comparing it", e->off);
    if (b->k == V_RTLIST && (e->op == CMP_IN || e->op == CMP_NOTIN)) rtlist_fix(l, b, e->off);
    if (a->k == V_RTLIST || b->k == V_RTLIST) rtlist_unsupported(l, "comparing it", e->off);
    if (e->op == CMP_IN || e->op == CMP_NOTIN) { /* run-time numbers compared when it runs */
      Value *r = py_in_runtime(l, a, b, e->off);
      if (r) return e->op == CMP_IN ? r : host_unop(l, UN_NOT, r, e->off);
    }
    return bi_compare(l, e->op, a, b, e->off);
  }
  case AST_BOOLOP: {
    Value *a = eval(l, s, e->a);
    if (a->k == V_HOST) {
      Value *b = eval(l, s, e->b);
      HostExpr *x = hx_of(l, a, e->off), *y = hx_of(l, b, e->off);
      if (!y) lerr(l, e->b->off, "'and'/'or' of a run-time value with a %s", v_typename(b));
      /* Python gives one of the operands: its type must not depend on which */
      if ((x->isbool || y->isbool) ? !(x->isbool && y->isbool) : x->isfloat != y->isfloat)
        lerr(l, e->off, "'%s' of a run-time %s and a %s: which one it gives, and so its type, is "
                        "known only when the program runs",
             e->op == BOOL_AND ? "and" : "or", x->isbool ? "bool" : x->isfloat ? "float" : "int",
             y->isbool ? "bool" : y->isfloat ? "float" : "int");
      HostExpr *r = ir_hx(l->p, HX_BIN);
      r->op = e->op == BOOL_AND ? HB_AND : HB_OR;
      r->a = x, r->b = y;
      r->isbool = x->isbool && y->isbool;
      r->isfloat = x->isfloat || y->isfloat;
      return v_host(l, r);
    }
    bool t = v_truthy(l, a, e->a->off);
    if (e->op == BOOL_AND ? !t : t) return a;
    return eval(l, s, e->b);
  }
  case AST_IFEXP: {
    Value *c = eval(l, s, e->a);
    if (c->k == V_HOST && pure_expr(e->b, 0) && pure_expr(e->c, 0)) {
      /* a run-time condition choosing between two windows of a growing tensor (nanoGPT's
         `idx if idx.size(1) <= block_size else idx[:, -block_size:]`): one window whose start
         and length the condition picks (generate.c); reading both has no effect */
      Value *x = eval(l, s, e->b), *y = eval(l, s, e->c);
      Value *w = win_select(l, c->hx, x, y);
      if (w) return w;
    }
    return v_truthy(l, c, e->a->off) ? eval(l, s, e->b) : eval(l, s, e->c);
  }
  case AST_FSTRING: return eval_fstring(l, s, e);
  case AST_COMP: {
    Scope *cs = arena_alloc(l->arena, sizeof *cs);
    cs->parent = s;
    Value *out = v_new(l, V_LIST);
    comp_clauses(l, cs, e, 0, out);
    return out;
  }
  case AST_LAMBDA: return py_lambda(l, s, e);
  case AST_DICTCOMP: return py_dictcomp(l, s, e);
  case AST_SET: return py_set_display(l, s, e);
  case AST_MODULE: return py_module(l, e);
  case AST_ELLIPSIS: lerr(l, e->off, "'...' is only supported inside an index");
  case AST_SLICE: lerr(l, e->off, "a slice is only supported inside an index");
  case AST_KWARG: lerr(l, e->off, "unexpected keyword argument");
  default: lerr(l, e->off, "unsupported expression (%s)", ast_kind_name(e->kind));
  }
}

/* Python's format(value, spec) for host values: the common numeric specs. */
const char *format_spec(L *l, Value *v, const char *spec, int32_t off) {
  if (!spec || !*spec) return py_text(l, v, false, off);
  if (v->k == V_TENSOR) lerr(l, off, "a tensor cannot be formatted with ':%s' at compile time", spec);
  /* [[fill]align][sign][#][0][width][,][.precision][type] */
  const char *p = spec;
  char fill = ' ', align = 0, sign = '-';
  if (p[0] && p[1] && strchr("<>^=", p[1])) fill = p[0], align = p[1], p += 2;
  else if (*p && strchr("<>^=", *p)) align = *p++;
  if (*p && strchr("+- ", *p)) sign = *p++;
  bool zero = false;
  if (*p == '0') zero = true, p++;
  int width = 0, prec = -1;
  bool commas = false;
  while (*p >= '0' && *p <= '9')
    if ((width = width * 10 + (*p++ - '0')) > 400) lerr(l, off, "format width too large in '%s'", spec);
  if (*p == ',') p++, commas = true;
  if (*p == '.') {
    p++;
    prec = 0;
    while (*p >= '0' && *p <= '9')
      if ((prec = prec * 10 + (*p++ - '0')) > 100) lerr(l, off, "format precision too large in '%s'", spec);
  }
  char type = *p ? *p++ : 0;
  if (*p) lerr(l, off, "invalid format specifier '%s'", spec);
  char body[512];
  double x = v->k == V_FLOAT ? v->f : (double)v->i;
  bool num = v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL;
  if (type == 's' && v->k != V_STR)
    lerr(l, off, "ValueError: Unknown format code 's' for object of type '%s'", v_typename(v));
  if (type && type != 's' && !num) lerr(l, off, "format code '%c' needs a number, got %s", type, v_typename(v));
  const char *sg = sign == '+' ? "+" : sign == ' ' ? " " : "";
  switch (type) {
  case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': case '%': {
    if (type == '%') x *= 100;
    char f[16];
    snprintf(f, sizeof f, "%%%s.%d%c", sg, prec < 0 ? 6 : prec, type == '%' ? 'f' : type);
    snprintf(body, sizeof body - 1, f, x);
    if (type == '%') strcat(body, "%");
    break;
  }
  case 'd':
    if (v->k == V_FLOAT) lerr(l, off, "format code 'd' needs an int, got float");
    snprintf(body, sizeof body, sign == '+' ? "%+lld" : "%lld", (long long)v->i);
    break;
  case 'x': case 'X': case 'o': case 'b': {
    if (v->k == V_FLOAT) lerr(l, off, "format code '%c' needs an int, got float", type);
    uint64_t u = v->i < 0 ? (uint64_t)0 - (uint64_t)v->i : (uint64_t)v->i;
    char digits[80];
    int nd = 0;
    unsigned base = type == 'o' ? 8 : type == 'b' ? 2 : 16;
    do {
      unsigned d = (unsigned)(u % base);
      digits[nd++] = (char)(d < 10 ? '0' + d : (type == 'X' ? 'A' : 'a') + d - 10);
      u /= base;
    } while (u);
    int o = 0;
    if (v->i < 0) body[o++] = '-';
    else if (sign == '+') body[o++] = '+';
    while (nd) body[o++] = digits[--nd];
    body[o] = 0;
    break;
  }
  case 's':
  case 0: {
    const char *str = v_str_of(l, v, false, off);
    if (prec >= 0 && v->k == V_STR) /* a precision cuts a string: f"{name:.3}" */
      snprintf(body, sizeof body, "%.*s", prec, str);
    else if (prec >= 0 && v->k == V_FLOAT) {
      snprintf(body, sizeof body, "%.*g", prec, x);
    } else
      snprintf(body, sizeof body, "%s", str);
    break;
  }
  default: lerr(l, off, "format code '%c' is not supported", type);
  }
  if (commas) { /* group the integer part's digits by three */
    char tmp[600];
    const char *q = body;
    int o = 0;
    if (*q == '-' || *q == '+' || *q == ' ') tmp[o++] = *q++;
    int digits = 0;
    while (q[digits] >= '0' && q[digits] <= '9') digits++;
    for (int i = 0; i < digits; i++) {
      if (i && (digits - i) % 3 == 0) tmp[o++] = ',';
      tmp[o++] = q[i];
    }
    snprintf(tmp + o, sizeof tmp - (size_t)o, "%s", q + digits);
    snprintf(body, sizeof body, "%.500s", tmp);
  }
  int len = (int)strlen(body);
  if (width <= len) return arena_strdup(l->arena, body);
  if (!align) align = (num && v->k != V_STR) ? '>' : '<';
  if (zero && !align) align = '=', fill = '0';
  if (zero) fill = '0', align = align == '<' ? '<' : '=';
  int pad = width - len;
  char *out = arena_alloc(l->arena, (size_t)width + 1);
  int o = 0;
  if (align == '<') {
    memcpy(out, body, (size_t)len), o = len;
    while (o < width) out[o++] = fill;
  } else if (align == '^') {
    for (int i = 0; i < pad / 2; i++) out[o++] = fill;
    memcpy(out + o, body, (size_t)len), o += len;
    while (o < width) out[o++] = fill;
  } else if (align == '=' && (body[0] == '-' || body[0] == '+')) {
    out[o++] = body[0];
    for (int i = 0; i < pad; i++) out[o++] = fill;
    memcpy(out + o, body + 1, (size_t)len - 1), o += len - 1;
  } else {
    for (int i = 0; i < pad; i++) out[o++] = fill;
    memcpy(out + o, body, (size_t)len), o += len;
  }
  out[o] = 0;
  return out;
}

_Noreturn void fstr_unsupported(L *l, const char *what, int32_t off) {
  lerr(l, off, "this string holds values known only at run time: it can be printed, joined, "
               "concatenated with + and put in f-strings, but %s is not supported", what);
}

Value *fstr_concat(L *l, Value *a, Value *b, int32_t off) {
  if ((a->k != V_STR && a->k != V_FSTR) || (b->k != V_STR && b->k != V_FSTR))
    lerr(l, off, "can only concatenate str (not \"%s\") to str", v_typename(a->k == V_STR || a->k == V_FSTR ? b : a));
  if (a->k == V_STR && b->k == V_STR) return v_str(l, arena_printf(l->arena, "%s%s", a->s, b->s));
  Value *r = v_new(l, V_FSTR);
  Value *one[1];
  Value **ai = a->k == V_FSTR ? a->items : (one[0] = a, one), **bi;
  int an = a->k == V_FSTR ? a->n : 1;
  Value *two[1];
  bi = b->k == V_FSTR ? b->items : (two[0] = b, two);
  int bn = b->k == V_FSTR ? b->n : 1;
  for (int i = 0; i < an - 1; i++) v_list_push(l, r, ai[i]);
  v_list_push(l, r, v_str(l, arena_printf(l->arena, "%s%s", ai[an - 1]->s, bi[0]->s)));
  for (int i = 1; i < bn; i++) v_list_push(l, r, bi[i]);
  return r;
}

/* An f-string of host values is a string; one with tensors or run-time numbers is a
 * V_FSTR of pieces that print() prints in order. */
static Value *eval_fstring(L *l, Scope *s, const Ast *e) {
  Value *parts = v_new(l, V_FSTR);
  char *buf = NULL;
  size_t len = 0, cap = 0;
  buf_add(l, &buf, &len, &cap, "");
  for (int i = 0; i < e->nitems; i++) {
    const Ast *it = e->items[i];
    if (it->kind == AST_STR) {
      buf_add(l, &buf, &len, &cap, it->str ? it->str : "");
      continue;
    }
    Value *v = eval(l, s, it->a);
    /* a 0-d tensor formats its value (Tensor.__format__: f"{acc:.2%}", f"{loss}"); others
     * take a spec only if they have one element */
    if (v->k == V_TENSOR && it->ival != 'r' && (tn(l, v)->shape.rank == 0 || (it->str && it->str[0])))
      v = tensor_item(l, v, it->off);
    if (v->k == V_RTLIST) {
      if ((it->str && it->str[0]) || it->ival == 'r') rtlist_unsupported(l, "a format spec or !r", it->off);
      v = v_host(l, rtlist_expr(l, v));
    }
    if (v->k == V_HOST) {
      Value *hf = v_tuple(l, 2);
      hf->s = "hfmt";
      hf->items[0] = host_snapshot(l, v, it->off);
      hf->items[1] = it->str ? v_str(l, arena_strdup(l->arena, it->str)) : l->none;
      v_list_push(l, parts, v_str(l, buf));
      v_list_push(l, parts, hf);
      buf = NULL, len = cap = 0;
      buf_add(l, &buf, &len, &cap, "");
      continue;
    }
    if (v->k == V_FSTR) { /* f"[{s}]" of a run-time string: its pieces, in place */
      if ((it->str && it->str[0]) || it->ival == 'r') fstr_unsupported(l, "a format spec or !r", it->off);
      buf_add(l, &buf, &len, &cap, v->items[0]->s);
      for (int k = 1; k < v->n; k += 2) {
        v_list_push(l, parts, v_str(l, buf));
        v_list_push(l, parts, v->items[k]);
        buf = NULL, len = cap = 0;
        buf_add(l, &buf, &len, &cap, v->items[k + 1]->s);
      }
      continue;
    }
    if (v->k == V_TENSOR && !it->str && it->ival != 'r') {
      v_list_push(l, parts, v_str(l, buf));
      v_list_push(l, parts, v);
      buf = NULL, len = cap = 0;
      buf_add(l, &buf, &len, &cap, "");
      continue;
    }
    const char *txt = it->ival == 'r' ? py_text(l, v, true, it->off)
                                      : format_spec(l, v, it->str, it->off);
    buf_add(l, &buf, &len, &cap, txt);
  }
  if (parts->n == 0) return v_str(l, buf);
  v_list_push(l, parts, v_str(l, buf));
  return parts;
}

/* ---- statements -------------------------------------------------------------------- */

static void unpack(L *l, Scope *s, const Ast *target, Value *v) {
  Value *seq = v;
  if (v->k == V_RANGE) {
    seq = v_new(l, V_LIST);
    for (int64_t i = v->i; v->i3 > 0 ? i < v->i2 : i > v->i2; i += v->i3) v_list_push(l, seq, v_int(l, i));
  }
  if (seq->k != V_LIST && seq->k != V_TUPLE)
    lerr(l, target->off, "cannot unpack a %s into %d names", v_typename(v), target->nitems);
  if (seq->n != target->nitems)
    lerr(l, target->off, "cannot unpack %d values into %d names", seq->n, target->nitems);
  for (int i = 0; i < seq->n; i++) assign(l, s, target->items[i], seq->items[i]);
}

static void assign(L *l, Scope *s, const Ast *target, Value *v) {
  switch (target->kind) {
  case AST_NAME: {
    /* A name that owns a host variable keeps it: the assignment happens at run time. */
    Value *cur = attrs_get(&s->vars, target->str);
    bool owned = cur && cur->k == V_HOST && cur->hx->kind == HX_VAR && cur->s && !strcmp(cur->s, target->str);
    if (owned && (v->k == V_HOST || v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL)) {
      if (v != cur) host_assign(l, cur->hx->hvar, v, target->off);
      return;
    }
    bool extent = v->k == V_HOST && v->hx->kind == HX_BATCH && l->p->loaders[v->hx->loader].kind == LD_EXTENT;
    if (v->k == V_HOST && !extent && !(v->hx->kind == HX_VAR && v->s && !strcmp(v->s, target->str))) {
      /* a run-time value is read where it is bound, as Python does (a sequence length stays
         itself: set once before the graphs that read it, it sizes their dims, generate.c) */
      int hv = host_var_for(l, v, target->str, target->off);
      HostExpr *e = ir_hx(l->p, HX_VAR);
      e->hvar = hv;
      e->isfloat = l->p->hvars[hv].isfloat;
      e->isbool = v->hx->isbool;
      v = v_host(l, e);
      v->s = target->str;
    }
    attrs_set(l, &s->vars, target->str, v);
    name_tensor(l, v, target->str);
    return;
  }
  case AST_TUPLE:
  case AST_LIST: unpack(l, s, target, v); return;
  case AST_ATTR: {
    Value *obj = eval(l, s, target->a);
    if (obj->k == V_OBJECT || obj->k == V_CLASS) {
      attrs_set(l, &obj->attrs, target->str, v);
      return;
    }
    if (obj->k == V_NS && obj->closure) { /* model.X = v: a module of the program */
      attrs_set(l, &obj->closure->vars, target->str, v);
      return;
    }
    if (obj->k == V_TENSOR && !strcmp(target->str, "requires_grad")) {
      Args ra = {.pos = &v, .npos = 1, .off = target->off};
      bi_lookup("requires_grad_", BI_METHOD)->fn(l, obj, &ra); /* the same as requires_grad_() */
      return;
    }
    if (obj->k == V_TENSOR && !strcmp(target->str, "grad") && obj->t.var >= 0 && obj->t.leaf) {
      /* x.grad = None: no .grad (its buffer zeroed, so a later backward starts from 0);
       * x.grad = tensor: the gradient is set to that value */
      Value *one = v_new(l, V_LIST);
      v_list_push(l, one, obj);
      if (v->k == V_NONE) {
        none_param_grads(l, one, target->off);
        return;
      }
      if (v->k == V_TENSOR) {
        Value *g = leaf_grad(l, obj);
        bool saved = l->no_grad;
        l->no_grad = true;
        tensor_inplace(l, g, v, target->off);
        l->no_grad = saved;
        return;
      }
      lerr(l, target->off, "assigned grad expected to be a Tensor or None but got %s", v_typename(v));
    }
    lerr(l, target->off, "cannot set attribute '%s' of a %s", target->str, v_typename(obj));
  }
  case AST_INDEX: {
    Value *obj = eval(l, s, target->a);
    if (obj->k == V_TENSOR) { /* x[i, 1:3] = v */
      int n;
      bool tuple;
      IndexItem *items = index_items(l, s, target->b, &n, &tuple);
      bi_index_put(l, obj, items, n, v, target->off);
      return;
    }
    if (obj->k == V_RTLIST) rtlist_unsupported(l, "assigning to an element", target->off);
    v = host_snapshot(l, v, target->off); /* d[k] = x keeps x's value now */
    if ((obj->k == V_LIST || (obj->k == V_DICT && !(obj->s && !strcmp(obj->s, "param_group")))) &&
        outer_container(l, obj))
      outer_mutation(l, obj, "assigning to an element", target->off);
    if (obj->k == V_LIST) {
      Value *iv = eval(l, s, target->b);
      if (iv->k != V_INT) lerr(l, target->b->off, "list indices must be integers");
      int64_t i = iv->i < 0 ? iv->i + obj->n : iv->i;
      if (i < 0 || i >= obj->n) lerr(l, target->b->off, "list assignment index out of range");
      obj->items[i] = v;
      return;
    }
    if (obj->k == V_DICT) {
      Value *key = eval(l, s, target->b);
      if (obj->s && !strcmp(obj->s, "param_group")) { /* opt.param_groups[0]['lr'] = x */
        if (key->k != V_STR || strcmp(key->s, "lr"))
          lerr(l, target->b->off, "ttc can change a param group's 'lr' only");
        train_set_lr(l, obj->self, v, target->off);
      }
      for (int i = 0; i + 1 < obj->n; i += 2)
        if (bi_compare(l, CMP_EQ, obj->items[i], key, target->off) == l->vtrue) {
          obj->items[i + 1] = v;
          return;
        }
      v_list_push(l, obj, key);
      v_list_push(l, obj, v);
      return;
    }
    lerr(l, target->off, "assignment into a %s by index is not supported yet", v_typename(obj));
  }
  default: lerr(l, target->off, "cannot assign to this expression");
  }
}

/* len(range(...)), without the overflow of stop - start in int64; past int64 it is
 * Python's OverflowError. */
int64_t range_len(L *l, const Value *r, int32_t off) {
  int64_t lo = r->i3 > 0 ? r->i : r->i2, hi = r->i3 > 0 ? r->i2 : r->i;
  if (hi <= lo) return 0;
  uint64_t d = (uint64_t)hi - (uint64_t)lo; /* exact: below 2^64 */
  uint64_t s = r->i3 > 0 ? (uint64_t)r->i3 : (uint64_t)0 - (uint64_t)r->i3;
  uint64_t n = d / s + (d % s != 0);
  if (n > (uint64_t)INT64_MAX) lerr(l, off, "OverflowError: Python int too large to convert to C ssize_t");
  return (int64_t)n;
}

/* The values a compile-time for loop runs over. */
static Value *iter_items(L *l, Value *v, int32_t off) {
  if (v->k == V_LIST && v->s && !strcmp(v->s, "enumerate_loader"))
    lerr(l, off, "a data loader can only be looped over by a for statement at run time");
  if (v->k == V_RTLIST && !rtlist_fix(l, v, off)) rtlist_unsupported(l, "iterating over it", off);
  if (v->k == V_FSTR) fstr_unsupported(l, "iterating over it", off);
  switch (v->k) {
  case V_LIST:
  case V_TUPLE: return v;
  case V_RANGE: {
    Value *r = v_new(l, V_LIST);
    int64_t n = range_len(l, v, off);
    if (n > 1000000)
      lerr(l, off, "a loop of %lld iterations is too long to unroll at compile time (inside a "
                   "function, loops are unrolled; move it to the top level of the script)", (long long)n);
    for (int64_t i = v->i; v->i3 > 0 ? i < v->i2 : i > v->i2; i += v->i3) v_list_push(l, r, v_int(l, i));
    return r;
  }
  case V_STR: {
    Value *r = v_new(l, V_LIST);
    for (const char *p = v->s; *p; p += str_code_len(p)) /* one str per code point */
      v_list_push(l, r, v_str(l, arena_strndup(l->arena, p, str_code_len(p))));
    return r;
  }
  case V_DICT: {
    Value *r = v_new(l, V_LIST);
    for (int i = 0; i + 1 < v->n; i += 2) v_list_push(l, r, v->items[i]);
    return r;
  }
  case V_OBJECT: {
    if (moduledict_keys(v)) { /* its keys */
      Value *r = v_new(l, V_LIST);
      for (int i = 0; i < moduledict_keys(v)->n; i++) v_list_push(l, r, moduledict_keys(v)->items[i]);
      return r;
    }
    Value *items = attrs_get(&v->attrs, "__items__"); /* ModuleList, Sequential */
    if (items) return items;
    break;
  }
  case V_TENSOR: {
    const Node *n = tn(l, v);
    if (n->shape.rank == 0) lerr(l, off, "iteration over a 0-d tensor");
    Value *r = v_new(l, V_LIST);
    int64_t d0 = n->shape.d[0];
    for (int64_t i = 0; i < d0; i++) {
      IndexItem it = {.kind = IX_VALUE, .v = v_int(l, i), .off = off};
      v_list_push(l, r, bi_index(l, v, &it, 1, false, off));
    }
    return r;
  }
  default: break;
  }
  lerr(l, off, "'%s' object is not iterable", v_typename(v));
}

static Exit exec(L *l, Frame *f, const Ast *st);

static Exit exec_block(L *l, Frame *f, const Ast *b) {
  if (b->kind != AST_BLOCK) return exec(l, f, b);
  for (int i = 0; i < b->nitems; i++) {
    Exit x = exec(l, f, b->items[i]);
    if (x != X_NEXT) return x;
  }
  return X_NEXT;
}

Exit lower_block(L *l, Frame *f, const Ast *b) {
  return exec_block(l, f, b);
}

static Value *module_ns(L *l, const char *mod, int32_t off) {
  static const char *known[] = {"torch", "torch.nn", "torch.nn.functional", "torch.optim",
                                "torch.nn.init", "torch.utils", "torch.utils.data", "math",
                                "tinytorch", "torchvision", "torchvision.datasets", "torchvision.transforms", "tqdm", "tqdm.auto", "time", "torch.autograd",
                                "torch.optim.lr_scheduler", "safetensors", "safetensors.torch",
                                "os", "os.path", "dataclasses", "torch.distributed",
                                "torch.nn.parallel", "torch.utils.data.distributed",
                                "torch.nn.utils", "torch.nn.utils.prune"};
  for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
    if (!strcmp(mod, known[i]) || (!strncmp(mod, "tinytorch.", 10))) {
      Value *ns = v_new(l, V_NS);
      ns->s = !strncmp(mod, "tinytorch", 9) ? "torch" : arena_strdup(l->arena, mod);
      return ns;
    }
  if (!import_known_elsewhere(mod)) lerr(l, off, "No module named '%s'", mod);
  lerr(l, off, "module '%s' is not available in ttc (supported: torch, torch.nn, "
               "torch.nn.functional, torch.optim, math, tinytorch)", mod);
}

static Exit exec(L *l, Frame *f, const Ast *st) {
  Scope *s = f->scope;
  step(l, st->off);
  if (st->kind != AST_BLOCK) l->stmt_off = st->off;
  switch (st->kind) {
  case AST_EXPR: eval(l, s, st->a); return X_NEXT;
  case AST_ASSIGN: {
    Value *v = eval(l, s, st->b);
    assign(l, s, st->a, v);
    return X_NEXT;
  }
  case AST_AUGASSIGN: {
    if (st->a->kind == AST_INDEX) { /* x[i] += v: the subscript is evaluated once */
      Value *obj = eval(l, s, st->a->a);
      if (obj->k == V_TENSOR) {
        int n;
        bool tuple;
        IndexItem *items = index_items(l, s, st->a->b, &n, &tuple);
        Value *cur = bi_index(l, obj, items, n, tuple, st->off);
        Value *rhs = eval(l, s, st->b);
        bi_index_put(l, obj, items, n, bi_binop(l, st->op, cur, rhs, st->off), st->off);
        return X_NEXT;
      }
    }
    Value *old = eval(l, s, st->a);
    Value *rhs = eval(l, s, st->b);
    Value *nv;
    if ((old->k == V_LIST || old->k == V_RTLIST) && st->op == BIN_ADD && outer_container(l, old)) {
      /* hist += [x]: extends the list in place, as list.__iadd__ does */
      Value *seq = rhs->k == V_LIST || rhs->k == V_TUPLE ? rhs : NULL;
      if (!seq) rtlist_unsupported(l, arena_printf(l->arena, "+= of a %s", v_typename(rhs)), st->off);
      for (int i = 0; i < seq->n; i++) rtlist_append(l, old, seq->items[i], st->off);
      return X_NEXT;
    }
    if (old->k == V_RTLIST || rhs->k == V_RTLIST) rtlist_unsupported(l, "this operator", st->off);
    if (old->k == V_FSTR || rhs->k == V_FSTR) {
      if (st->op != BIN_ADD) fstr_unsupported(l, "this operator", st->off);
      nv = fstr_concat(l, old, rhs, st->off);
    } else
      nv = bi_binop(l, st->op, old, rhs, st->off);
    if (old->k == V_TENSOR) {
      tensor_inplace(l, old, nv, st->off);
      return X_NEXT;
    }
    assign(l, s, st->a, nv);
    return X_NEXT;
  }
  case AST_RETURN:
    f->ret = st->a ? eval(l, s, st->a) : l->none;
    return X_RETURN;
  case AST_PASS: return X_NEXT;
  case AST_BREAK: return X_BREAK;
  case AST_CONTINUE: return X_CONTINUE;
  case AST_IF: {
    Value *c = eval(l, s, st->a);
    if (c->k == V_HOST || c->k == V_TENSOR) return lower_host_if(l, f, st, hx_of(l, c, st->a->off));
    if (v_truthy(l, c, st->a->off)) return exec_block(l, f, st->b);
    if (st->c) return exec_block(l, f, st->c);
    return X_NEXT;
  }
  case AST_WHILE:
    while (v_truthy(l, eval(l, s, st->a), st->a->off)) {
      Exit x = exec_block(l, f, st->c);
      if (x == X_BREAK) break;
      if (x == X_RETURN) return x;
    }
    return X_NEXT;
  case AST_FOR: {
    Value *it = eval(l, s, st->b);
    if (want_host_loop(l, f, st, it)) return lower_host_for(l, f, st, it);
    Value *items = iter_items(l, it, st->b->off);
    int n = items->n;
    l->unrolled++; /* a run-time break in it could not leave it (host.c) */
    for (int i = 0; i < n && i < items->n; i++) {
      assign(l, s, st->a, items->items[i]);
      Exit x = exec_block(l, f, st->c);
      if (x == X_BREAK) break;
      if (x == X_RETURN) {
        l->unrolled--;
        return x;
      }
    }
    l->unrolled--;
    return X_NEXT;
  }
  case AST_WITH: {
    Value *ctx = eval(l, s, st->a);
    if (file_is(ctx)) { /* with open(path) as f: the file is closed after the body */
      if (st->b) assign(l, s, st->b, ctx);
      Exit x = exec_block(l, f, st->c);
      attrs_set(l, &ctx->attrs, "closed", l->vtrue);
      return x;
    }
    if (!(ctx->k == V_TUPLE && ctx->s && !strcmp(ctx->s, "no_grad")))
      lerr(l, st->a->off, "only 'with no_grad():' and 'with open(...) as f:' are supported");
    bool saved = l->no_grad;
    l->no_grad = true;
    Exit x = exec_block(l, f, st->c);
    l->no_grad = saved;
    return x;
  }
  case AST_DEF: {
    Value *fn = v_new(l, V_FUNC);
    fn->ast = st;
    fn->closure = s;
    fn->s = st->str;
    if (st->a) { /* @torch.no_grad() (or @torch.inference_mode()): the body runs without grad */
      Value *d = eval(l, s, st->a);
      if (!(d->k == V_TUPLE && d->s && !strcmp(d->s, "no_grad")))
        lerr(l, st->a->off, "ttc supports the decorator @torch.no_grad() only");
      fn->i = 1;
    }
    attrs_set(l, &s->vars, st->str, fn);
    return X_NEXT;
  }
  case AST_CLASS: {
    Value *cls = v_new(l, V_CLASS);
    cls->s = st->str;
    cls->ast = st;
    if (st->a) {
      Value *base = eval(l, s, st->a);
      if (base->k != V_CLASS) lerr(l, st->a->off, "a class can only derive from a class");
      if (!base->bi) cls->self = base; /* user base class: methods are inherited */
      else if (strcmp(base->bi->name, "Module") && strcmp(base->bi->name, "Dataset"))
        lerr(l, st->a->off, "deriving from '%s' is not supported; derive from Module or Dataset", base->bi->name);
      else /* Module or Dataset, for hasattr() (hasattr.c) */
        attrs_set(l, &cls->attrs, "__builtin_base__", base);
    }
    Scope *cs = arena_alloc(l->arena, sizeof *cs);
    cs->parent = s;
    Frame cf = {cs, l->none};
    exec_block(l, &cf, st->c);
    for (int i = 0; i < cs->vars.n; i++) {
      Value *m = cs->vars.vals[i];
      if (m->k == V_FUNC) m->closure = s;
      attrs_set(l, &cls->attrs, cs->vars.keys[i], m);
    }
    if (st->b) cls = dataclass_apply(l, eval(l, s, st->b), cls, st); /* @dataclass */
    attrs_set(l, &s->vars, st->str, cls);
    return X_NEXT;
  }
  case AST_IMPORT: {
    if (import_stmt(l, s, st)) return X_NEXT; /* a module of the program (imports.c) */
    Value *ns = module_ns(l, st->str, st->off);
    if (st->a) attrs_set(l, &s->vars, st->a->str, ns);
    else {
      /* import torch.nn binds torch */
      const char *dot = strchr(st->str, '.');
      attrs_set(l, &s->vars, dot ? arena_strndup(l->arena, st->str, (size_t)(dot - st->str)) : st->str,
                dot ? module_ns(l, arena_strndup(l->arena, st->str, (size_t)(dot - st->str)), st->off) : ns);
    }
    return X_NEXT;
  }
  case AST_FROMIMPORT: {
    if (!strcmp(st->str, "__future__")) { /* all of them are Python 3's behaviour already */
      static const char *features[] = {"annotations", "print_function", "division", "absolute_import",
                                       "unicode_literals", "generator_stop", "nested_scopes", "generators",
                                       "with_statement"};
      for (int i = 0; i < st->nitems; i++) {
        size_t k = 0;
        while (k < sizeof features / sizeof *features && strcmp(features[k], st->items[i]->str)) k++;
        if (k == sizeof features / sizeof *features)
          lerr(l, st->items[i]->off, "future feature %s is not defined", st->items[i]->str);
      }
      return X_NEXT;
    }
    if (import_stmt(l, s, st)) return X_NEXT; /* a module of the program (imports.c) */
    if (st->ival) {
      module_ns(l, st->str, st->off);
      lerr(l, st->b->off, "'from %s import *' is not supported; name what you import", st->str);
    }
    Value *ns = module_ns(l, st->str, st->off);
    for (int i = 0; i < st->nitems; i++) {
      const Ast *it = st->items[i];
      Value *v = getattr(l, ns, it->str, it->off);
      attrs_set(l, &s->vars, it->a ? it->a->str : it->str, v);
    }
    return X_NEXT;
  }
  case AST_ASSERT: {
    if (st->ival == 1) { /* the raise of a run-time assert (below), under its if */
      Stmt *r = emit_host_stmt(l, ST_RAISE, st->off);
      r->path = st->str;
      return X_NEXT;
    }
    Value *c = eval(l, s, st->a);
    if (c->k == V_HOST || c->k == V_TENSOR) {
      /* known only when the program runs: `if not c: raise AssertionError(msg)` */
      const char *msg = "AssertionError";
      if (st->b) {
        Value *m = eval(l, s, st->b);
        if (m->k != V_STR)
          lerr(l, st->b->off, "the message of an assert whose condition is known only at run time "
                              "must be a string known at compile time");
        msg = arena_printf(l->arena, "AssertionError: %s", m->s);
      }
      Ast *raise = ast_new(l->arena, AST_ASSERT, st->off);
      raise->ival = 1;
      raise->str = msg;
      Ast *body = ast_new(l->arena, AST_BLOCK, st->off);
      ast_push(l->arena, body, raise);
      Ast *neg = ast_new(l->arena, AST_UNARY, st->a->off);
      neg->op = UN_NOT;
      neg->a = st->a;
      Ast *ifs = ast_new(l->arena, AST_IF, st->off);
      ifs->a = neg;
      ifs->b = body;
      return lower_host_if(l, f, ifs, hx_of(l, host_call1(l, HU_NOT, c, st->a->off), st->a->off));
    }
    if (!v_truthy(l, c, st->a->off)) {
      if (st->b) lerr(l, st->off, "assertion failed: %s", v_str_of(l, eval(l, s, st->b), false, st->b->off));
      lerr(l, st->off, "assertion failed");
    }
    return X_NEXT;
  }
  case AST_BLOCK: return exec_block(l, f, st);
  default: lerr(l, st->off, "unsupported statement (%s)", ast_kind_name(st->kind));
  }
}

/* ---- entry points -------------------------------------------------------------------- */

/* Parameters are named after their path from a global name: model.fc1.weight is
 * fc1_weight (the global's name is kept for a module's own parameters: layer_weight);
 * gradients and optimizer state after their parameter. */
static void name_params(L *l) {
  Program *p = l->p;
  bool *named = xmalloc((size_t)p->nvars + 1);
  memset(named, 0, (size_t)p->nvars + 1);
  for (int i = 0; i < l->globals->vars.n; i++) {
    Value *m = l->globals->vars.vals[i];
    if (m->k != V_OBJECT || attrs_get(&m->attrs, "__optim__") || attrs_get(&m->attrs, "__sched__")) continue;
    Value *ps = v_new(l, V_LIST), *names = v_new(l, V_LIST);
    collect_params(l, m, ps, "", names);
    for (int k = 0; k < ps->n; k++) {
      int var = ps->items[k]->t.var;
      if (var < 0 || named[var]) continue;
      const char *path = names->items[k]->s;
      bool bare = !strchr(path, '.') || (path[0] >= '0' && path[0] <= '9'); /* layer_weight, model_0_weight */
      const char *full = bare ? arena_printf(p->arena, "%s.%s", l->globals->vars.keys[i], path) : path;
      char *nm = arena_strdup(p->arena, full);
      for (char *c = nm; *c; c++)
        if (*c == '.') *c = '_';
      p->vars[var].name = nm;
      named[var] = true;
    }
  }
  free(named);
  for (int i = 0; i < p->nvars; i++) {
    Var *v = &p->vars[i];
    if (v->kind == VAR_GRAD && v->grad_of >= 0) v->name = arena_printf(p->arena, "%s_grad", p->vars[v->grad_of].name);
    if (v->kind == VAR_STATE && v->state_of >= 0)
      v->name = arena_printf(p->arena, "%s_%s", p->vars[v->state_of].name, v->name);
  }
}

/* Var names must be unique C identifiers; source names are kept where possible. */
static void finish_names(Program *p) {
  for (int i = 0; i < p->nvars; i++) {
    Var *v = &p->vars[i];
    char base[128];
    size_t o = 0;
    for (const char *c = v->name; *c && o < sizeof base - 8; c++)
      base[o++] = ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9'))
                      ? *c
                      : '_';
    base[o] = 0;
    if (o == 0 || (base[0] >= '0' && base[0] <= '9')) {
      memmove(base + 1, base, o + 1);
      base[0] = 'v';
    }
    const char *name = arena_strdup(p->arena, base);
    for (int k = 1;; k++) {
      bool clash = false;
      for (int j = 0; j < i && !clash; j++) clash = !strcmp(p->vars[j].name, name);
      if (!clash) break;
      name = arena_printf(p->arena, "%s_%d", base, k);
    }
    v->name = name;
  }
}

Program *lower_program(const Source *src, const Ast *root, Diag *d) {
  L *l = xmalloc(sizeof *l);
  memset(l, 0, sizeof *l);
  l->src = src;
  l->diag = d;
  l->p = ir_program_new(src->name, src->text);
  l->arena = l->p->arena;
  l->none = v_new(l, V_NONE);
  l->vtrue = v_new(l, V_BOOL);
  l->vtrue->i = 1;
  l->vfalse = v_new(l, V_BOOL);
  l->globals = arena_alloc(l->arena, sizeof(Scope));
  l->loader = -1;
  l->nregions = 1; /* the top level: regions[0] is all zeros */
  Program *p = l->p;
  if (setjmp(l->fail)) {
    d->imported = NULL; /* imported files live in the program's arena */
    ir_program_free(p);
    free(l->pending);
    free(l->var_loader);
    free(l->leaves);
    free(l->lreads);
    tok_free(l);
    free(l);
    return NULL;
  }
  lower_init_builtins(l);
  l->pending = NULL;
  Frame f = {l->globals, l->none};
  Exit x = exec_block(l, &f, root);
  if (x == X_RETURN) lerr(l, 0, "'return' outside a function");
  end_graph(l);
  name_params(l);
  finish_names(p);
  ir_name_graphs(p);
  host_final_types(p);
  rtlist_check_types(l);
  host_final_types(p); /* again: expressions over list reads take their final types */
  free(l->lreads);
  free(l->pending);
  free(l->var_loader);
  free(l->leaves);
  tok_free(l);
  free(l);
  return p;
}

Program *frontend_compile(const Source *src, Diag *d) {
  Arena *a = arena_new();
  Ast *root = parse_program(src, a, d);
  Program *p = root ? lower_program(src, root, d) : NULL;
  arena_free(a);
  return p;
}
