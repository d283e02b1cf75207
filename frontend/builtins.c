/*
 * builtins.c — the registry of the torch names a .tt program can use, and what all the
 * builtins share: argument binding, tensor results, dtype promotion, leaves.
 *
 * Each builtin follows PyTorch: same name, same argument names and defaults (the `sig`
 * column), same type promotion, same broadcasting. Functions that exist both as
 * torch.f(x, ...) and x.f(...) are one entry flagged BI_FUNC | BI_METHOD; the method
 * form binds the receiver to the first parameter. Module classes (Linear, Sequential, ...)
 * construct objects at compile time and trace their forward when called.
 *
 * The builtins live in one file per area, each ending with its table: tensor_ops.c
 * (creation, elementwise, reductions), tensor_layout.c (layout, indexing, casts),
 * modules.c (module classes), autograd.c (backward, in-place methods, losses), python.c
 * (Python's built-ins), training.c and layers.c. bi_lookup searches the tables in that
 * order, the order of the one table they were split from; bi_getattr finds attributes
 * (torch.float32, x.shape, model.parameters).
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

static void diag_warning(Diag *d, int32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void diag_warning(Diag *d, int32_t off, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  diag_verror(d, "warning", off, fmt, ap);
  va_end(ap);
}

/* ---- argument binding ------------------------------------------------------------- */

static Value *parse_default(L *l, const char *s) {
  if (!strcmp(s, "None")) return NULL;
  if (!strcmp(s, "True")) return l->vtrue;
  if (!strcmp(s, "False")) return l->vfalse;
  if (s[0] == '\'') return v_str(l, arena_strndup(l->arena, s + 1, strlen(s) - 2));
  if (strpbrk(s, ".e")) return v_float(l, strtod(s, NULL));
  return v_int(l, strtoll(s, NULL, 10));
}

void args_bind(L *l, const char *fname, const char *sig, Value *self, Args *a, Value **out,
               int nout) {
  char names[16][32];
  char defs[16][32];
  bool hasdef[16];
  int np = 0;
  for (const char *p = sig; *p && np < 16;) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    int k = 0;
    while (*p && *p != ',' && *p != '=' && k < 31) names[np][k++] = *p++;
    names[np][k] = 0;
    hasdef[np] = false;
    if (*p == '=') {
      p++;
      k = 0;
      while (*p && *p != ',' && k < 31) defs[np][k++] = *p++;
      defs[np][k] = 0;
      hasdef[np] = true;
    }
    np++;
  }
  TT_ASSERT(np <= nout);
  bool bound[16] = {0};
  int pi = 0;
  if (self) out[pi] = self, bound[pi++] = true;
  for (int i = 0; i < a->npos; i++, pi++) {
    if (pi >= np)
      lerr(l, a->off, "%s() takes %d positional arguments but %d were given", fname,
           np - (self ? 1 : 0), a->npos);
    out[pi] = a->pos[i];
    bound[pi] = true;
  }
  for (int k = 0; k < a->nkw; k++) {
    int j;
    for (j = 0; j < np; j++)
      if (!strcmp(names[j], a->kwnames[k])) break;
    /* PyTorch's argument parser takes keepdims (NumPy's name) for keepdim; torch.norm,
     * a Python function, does not */
    if (j == np && !strcmp(a->kwnames[k], "keepdims") && strcmp(fname, "norm"))
      for (j = 0; j < np; j++)
        if (!strcmp(names[j], "keepdim")) break;
    if (j == np) lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, a->kwnames[k]);
    if (bound[j]) lerr(l, a->off, "%s() got multiple values for argument '%s'", fname, names[j]);
    out[j] = a->kw[k];
    bound[j] = true;
  }
  for (int j = 0; j < np; j++) {
    if (bound[j]) {
      if (out[j]->k == V_NONE) out[j] = NULL;
      continue;
    }
    if (!hasdef[j]) lerr(l, a->off, "%s() missing required argument '%s'", fname, names[j]);
    out[j] = parse_default(l, defs[j]);
  }
}

int64_t want_int(L *l, Value *v, const char *what, int32_t off) {
  if (v && v->k == V_HOST)
    lerr(l, off, "%s must be known at compile time, but this value is only known when the "
                 "program runs", what);
  if (v && (v->k == V_INT || v->k == V_BOOL)) return v->i;
  lerr(l, off, "%s must be an int, not %s", what, v ? v_typename(v) : "None");
}

double want_num(L *l, Value *v, const char *what, int32_t off) {
  if (v && v->k == V_HOST)
    lerr(l, off, "%s must be known at compile time, but this value is only known when the "
                 "program runs", what);
  if (v && (v->k == V_INT || v->k == V_BOOL)) return (double)v->i;
  if (v && v->k == V_FLOAT) return v->f;
  lerr(l, off, "%s must be a number, not %s", what, v ? v_typename(v) : "None");
}

bool want_bool(L *l, Value *v, int32_t off) {
  return v ? v_truthy(l, v, off) : false;
}

Value *want_tensor(L *l, Value *v, const char *fname, int32_t off) {
  if (!v || v->k != V_TENSOR)
    lerr(l, off, "%s(): expected a Tensor, got %s", fname, v ? v_typename(v) : "None");
  return v;
}

DType want_dtype(L *l, Value *v, int32_t off) {
  if (v->k != V_DTYPE) lerr(l, off, "expected a dtype such as torch.float32, got %s", v_typename(v));
  return (DType)v->i;
}

/* A float's integer value as an int64 (Python's ints are unbounded; ttc's are not). */
int64_t f2i(L *l, double x, int32_t off) {
  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
    lerr(l, off, "integer %g is too large (ttc's integers are 64-bit)", x);
  return (int64_t)x;
}

/* A double as a float, overflowing to an infinity as IEEE rounding does (a plain cast of
 * an out-of-range value is undefined in C). */
float d2f(double x) {
  if (x > 3.4028234663852886e38) return INFINITY;
  if (x < -3.4028234663852886e38) return -INFINITY;
  return (float)x;
}

/* ---- tensor results ---------------------------------------------------------------- */

Shape tshape(L *l, Value *t) {
  return tn(l, t)->shape;
}

DType tdtype(L *l, Value *t) {
  if (t->k == V_TENSOR && t->t.win) return win_dtype(l, t);
  return tn(l, t)->dtype;
}

/* A computed tensor: requires grad if an input does (outside no_grad), with PyTorch's
 * grad_fn name (the op's, unless the builtin says otherwise). */
Value *bi_result(L *l, int node, Value **ins, int nins, const char *gradfn) {
  Value *r = mk_tensor(l, node);
  bool rg = false;
  for (int i = 0; i < nins; i++) rg |= ins[i] && ins[i]->k == V_TENSOR && ins[i]->t.requires_grad;
  if (rg && !l->no_grad && dt_is_float(cur_graph(l)->nodes[node].dtype)) {
    r->t.requires_grad = true;
    r->t.gradfn = gradfn ? gradfn : ir_ops[cur_graph(l)->nodes[node].op].gradfn;
  } else if (rg && l->no_grad) {
    /* computed under no_grad: a later backward() must not flow through it */
    int32_t in = node;
    r->t.node = add_node(l, OP_DETACH, &in, 1, NULL, cur_graph(l)->nodes[node].loc.off);
  }
  return r;
}

#define result bi_result
Value *op1(L *l, Op op, Value *x, const Attr *attr, int32_t off, const char *gradfn) {
  int32_t in = tnode(l, x);
  int id = add_node(l, op, &in, 1, attr, off);
  return result(l, id, &x, 1, gradfn);
}

int normdim(L *l, int64_t d, int rank, int32_t off) {
  int r = rank ? rank : 1;
  if (d < -r || d >= r)
    lerr(l, off, "Dimension out of range (expected to be in range of [%d, %d], but got %lld)", -r,
         r - 1, (long long)d);
  return (int)(d < 0 ? d + r : d);
}

void remember_leaf(L *l, int var, Value *t) {
  if (var >= l->nleaves) {
    int n = var + 16;
    l->leaves = xrealloc(l->leaves, sizeof(Value *) * (size_t)n);
    for (int i = l->nleaves; i < n; i++) l->leaves[i] = NULL;
    l->nleaves = n;
  }
  l->leaves[var] = t;
}

/* A leaf that requires grad lives in a program variable from the start, so that its
 * .grad can accumulate across graphs. */
Value *make_leaf(L *l, Value *t, bool rg, int32_t off) {
  if (!rg) {
    t->t.leaf = true;
    return t;
  }
  DType dt = tdtype(l, t);
  if (!dt_is_float(dt)) lerr(l, off, "only Tensors of floating point dtype can require gradients");
  const Node *n = tn(l, t);
  int var = ir_var_new(l->p, "leaf", VAR_PARAM, n->dtype, n->shape);
  l->p->vars[var].requires_grad = true;
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  t->t.var = var;
  t->t.graph = -1; /* later uses read the variable: autodiff finds the leaf there */
  remember_leaf(l, var, t);
  t->t.leaf = true;
  t->t.requires_grad = true;
  return t;
}

/* ---- constants and dtype promotion ------------------------------------------------ */

static int dcat(DType t) {
  return t == DT_BOOL ? 0 : dt_is_float(t) ? 2 : 1;
}

DType dmax(DType a, DType b) {
  if (dcat(a) != dcat(b)) return dcat(a) > dcat(b) ? a : b;
  return dt_size(a) >= dt_size(b) ? a : b;
}

DType scalar_dtype(const Value *v) {
  return v->k == V_FLOAT ? DT_F32 : v->k == V_BOOL ? DT_BOOL : DT_I64;
}

/* A 0-d constant tensor of dtype dt holding a host number. */
static Value *scalar_const(L *l, Value *v, DType dt, int32_t off) {
  double x = v->k == V_FLOAT ? v->f : (double)v->i;
  Graph *g = cur_graph(l);
  Attr at = {0};
  at.data = arena_alloc(g->arena, 8);
  switch (dt) {
  case DT_F32: *(float *)at.data = d2f(x); break;
  case DT_F64: *(double *)at.data = x; break;
  case DT_I64: *(int64_t *)at.data = v->k == V_FLOAT ? f2i(l, trunc(x), off) : v->i; break;
  case DT_I32: *(int32_t *)at.data = (int32_t)f2i(l, trunc(x), off); break;
  case DT_I8: *(int8_t *)at.data = (int8_t)f2i(l, trunc(x), off); break;
  case DT_BOOL: *(bool *)at.data = x != 0; break;
  default: tt_unreachable();
  }
  if (g->n == 0) g->loc.off = off;
  int id = ir_add_source(g, OP_CONST, dt, shape_scalar(), &at, (Loc){off});
  return mk_tensor(l, id);
}

/* Cast a tensor to dt (a no-op if it already is). */
Value *cast(L *l, Value *x, DType dt, int32_t off) {
  if (tdtype(l, x) == dt) return x;
  Attr at = {0};
  at.i[0] = dt;
  return op1(l, OP_CAST, x, &at, off, "ToCopyBackward0");
}

/* PyTorch's result_type over tensors and Python scalars: dimensioned tensors decide,
 * then zero-dim tensors if of a higher category, then scalars if of a higher category
 * (as the default dtype of that category). */
DType result_type(L *l, Value **v, int n, int32_t off) {
  int have[3] = {0};
  DType best[3] = {DT_BOOL, DT_BOOL, DT_BOOL};
  for (int i = 0; i < n; i++) {
    int cls;
    DType t;
    if (v[i]->k == V_TENSOR) {
      const Node *nd = tn(l, v[i]);
      cls = nd->shape.rank > 0 ? 0 : 1;
      t = nd->dtype;
    } else if (v[i]->k == V_INT || v[i]->k == V_FLOAT || v[i]->k == V_BOOL) {
      cls = 2;
      t = scalar_dtype(v[i]);
    } else if (v[i]->k == V_HOST) {
      cls = 2;
      t = v[i]->hx->isfloat ? DT_F32 : v[i]->hx->isbool ? DT_BOOL : DT_I64;
    } else
      lerr(l, off, "unsupported operand type: %s", v_typename(v[i]));
    best[cls] = have[cls] ? dmax(best[cls], t) : t;
    have[cls] = 1;
  }
  DType r = DT_BOOL;
  bool set = false;
  for (int c = 0; c < 3; c++) {
    if (!have[c]) continue;
    if (!set) r = best[c], set = true;
    else if (dcat(best[c]) > dcat(r)) r = c == 2 ? (dcat(best[c]) == 2 ? DT_F32 : DT_I64) : best[c];
  }
  return r;
}

Value *to_tensor_dt(L *l, Value *v, DType dt, int32_t off) {
  if (v->k == V_TENSOR) return cast(l, v, dt, off);
  if (v->k == V_HOST) return host_to_tensor(l, v, dt, off);
  return scalar_const(l, v, dt, off);
}

/* ---- the registry ------------------------------------------------------------------- */

/* Functions that are torch.X but whose plain name is Python's (sum, max, min, abs, round,
 * any, all): the torch namespace maps to the tensor versions. */
static const Builtin torch_overrides[] = {
  {"sum", BI_FUNC, bi_sum, 0},
  {"max", BI_FUNC, bi_max, 0},
  {"min", BI_FUNC, bi_min, 0},
  {"abs", BI_FUNC, bi_abs, 0},
  {"round", BI_FUNC, bi_round, 0},
  {"any", BI_FUNC, bi_any, 0},
  {"all", BI_FUNC, bi_all, 0},
};

/* The tables of builtins, searched in this order: the first row whose name and flags
 * match wins. Some names have two rows (the method x.abs(), Python's abs()); the tensor
 * tables come first. */
static const struct {
  const Builtin *tab;
  const int *n;
} tables[] = {
  {tensor_builtins, &tensor_nbuiltins}, {layout_builtins, &layout_nbuiltins},
  {module_builtins, &module_nbuiltins}, {grad_builtins, &grad_nbuiltins},
  {py_builtins, &py_nbuiltins},         {train_builtins, &train_nbuiltins},
  {layer_builtins, &layer_nbuiltins},   {act_builtins, &act_nbuiltins},
  {sampling_builtins, &sampling_nbuiltins}, {tok_builtins, &tok_nbuiltins},
  {file_builtins, &file_nbuiltins},     {dist_builtins, &dist_nbuiltins},
  {prune_builtins, &prune_nbuiltins},
  {profiler_builtins, &profiler_nbuiltins},
  {quant_builtins, &quant_nbuiltins},
};

const Builtin *bi_lookup(const char *name, unsigned flags) {
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
    for (int i = 0; i < *tables[t].n; i++)
      if ((tables[t].tab[i].flags & flags) && !strcmp(tables[t].tab[i].name, name))
        return &tables[t].tab[i];
  return NULL;
}

Value *bi_call(L *l, const char *name, Value *self, Value **pos, int npos, int32_t off) {
  const Builtin *b = bi_lookup(name, self ? BI_METHOD : BI_FUNC);
  TT_ASSERT(b);
  Args a = {.pos = pos, .npos = npos, .off = off};
  return b->fn(l, self, &a);
}

static const struct {
  const char *name;
  DType dt;
} dtypes[] = {
  {"float32", DT_F32}, {"float", DT_F32}, {"float64", DT_F64}, {"double", DT_F64},
  {"int64", DT_I64},   {"long", DT_I64},  {"int32", DT_I32},   {"int", DT_I32},
  {"int8", DT_I8},     {"bool", DT_BOOL},
};

B(noop) {
  UNUSED(self);
  UNUSED(a);
  return l->none;
}
static const Builtin bi_super_init = {"__init__", BI_FUNC, bi_noop, 0};
/* ttc compiles for the CPU: no CUDA device is ever available */
static Value *bi_false_(L *l, Value *self, Args *a) {
  UNUSED(self);
  UNUSED(a);
  return l->vfalse;
}
static Value *bi_int_zero(L *l, Value *self, Args *a) {
  UNUSED(self);
  UNUSED(a);
  return v_int(l, 0);
}
static const Builtin bi_cuda_available = {"is_available", BI_FUNC, bi_false_, 0};
static const Builtin bi_cuda_device_count = {"device_count", BI_FUNC, bi_int_zero, 0};
enum { MM_parameters, MM_named_parameters, MM_train, MM_eval, MM_zero_grad, MM_to, MM_children,
       MM_named_children, MM_modules, MM_named_modules, MM_apply, MM_requires_grad_,
       MM_register_buffer, MM_buffers, MM_named_buffers, MM__COUNT };
static const Builtin module_methods[] = {
  [MM_parameters] = {"parameters", BI_METHOD, bi_parameters, 0},
  [MM_named_parameters] = {"named_parameters", BI_METHOD, bi_named_parameters, 0},
  [MM_train] = {"train", BI_METHOD, bi_train_mode, 0},
  [MM_eval] = {"eval", BI_METHOD, bi_eval_mode, 0},
  [MM_zero_grad] = {"zero_grad", BI_METHOD, bi_module_zero_grad, 0},
  [MM_to] = {"to", BI_METHOD, bi_module_to, 0},
  [MM_children] = {"children", BI_METHOD, bi_module_children, 0},
  [MM_named_children] = {"named_children", BI_METHOD, bi_module_named_children, 0},
  [MM_modules] = {"modules", BI_METHOD, bi_module_modules, 0},
  [MM_named_modules] = {"named_modules", BI_METHOD, bi_module_named_modules, 0},
  [MM_apply] = {"apply", BI_METHOD, bi_module_apply, 0},
  [MM_requires_grad_] = {"requires_grad_", BI_METHOD, bi_module_requires_grad_, 0},
  [MM_register_buffer] = {"register_buffer", BI_METHOD, bi_module_register_buffer, 0},
  [MM_buffers] = {"buffers", BI_METHOD, bi_module_buffers, 0},
  [MM_named_buffers] = {"named_buffers", BI_METHOD, bi_module_named_buffers, 0},
};

static Value *bound(L *l, const Builtin *b, Value *self) {
  Value *v = v_new(l, V_BUILTIN);
  v->bi = b;
  v->self = self;
  v->s = b->name;
  return v;
}

Value *bi_bind(L *l, const Builtin *b, Value *self) {
  return bound(l, b, self);
}

Value *bi_getattr(L *l, Value *obj, const char *name, int32_t off) {
  Value *qv = obj->k == V_NS ? quant_getattr(l, obj, name) : quant_method(l, obj, name);
  if (qv) return qv; /* torch.qint8, q.int_repr (quant.c) */
  if (obj->k == V_NS || obj->k == V_OBJECT) { /* torch.distributed.ReduceOp, sampler.set_epoch */
    Value *dv = dist_getattr(l, obj, name);
    if (dv) return dv;
  }
  if (obj->k == V_NS) {
    if (!strcmp(obj->s, "torch") || !strcmp(obj->s, "torch.nn.functional")) {
      for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(obj->s, "torch") && !strcmp(dtypes[i].name, name)) {
          Value *d = v_new(l, V_DTYPE);
          d->i = dtypes[i].dt;
          return d;
        }
      for (size_t i = 0; i < sizeof torch_overrides / sizeof torch_overrides[0]; i++)
        if (!strcmp(torch_overrides[i].name, name)) return bound(l, &torch_overrides[i], NULL);
    }
    if (!strcmp(obj->s, "torch") && !strcmp(name, "Tensor")) /* the float constructor */
      return bound(l, bi_lookup("torch.Tensor", BI_FUNC), NULL);
    if (!strcmp(name, "Tensor") || !strcmp(name, "tensor")) return bound(l, bi_lookup(name, BI_FUNC), NULL);
    if (!strcmp(obj->s, "torch.cuda") && !strcmp(name, "is_available")) return bound(l, &bi_cuda_available, NULL);
    if (!strcmp(obj->s, "torch.cuda") && !strcmp(name, "device_count")) return bound(l, &bi_cuda_device_count, NULL);
    /* A function row wins over a method-only row of the same name found first:
     * nn.init.normal_(w) is the init function, not Tensor.normal_ with no tensor. */
    if (bi_lookup(name, BI_FUNC)) return NULL; /* the caller resolves plain functions */
    const Builtin *b = bi_lookup(name, BI_METHOD);
    if (b) return bound(l, b, NULL);            /* torch.sum-like method-only names */
    return NULL;
  }
  if (obj->k == V_LIST || obj->k == V_DICT || obj->k == V_STR) {
    const Builtin *m = py_method(obj->k, name);
    return m ? bound(l, m, obj) : NULL;
  }
  if (obj->k == V_TUPLE && obj->s) {
    if (!strcmp(obj->s, "super") && !strcmp(name, "__init__")) return bound(l, &bi_super_init, NULL);
    if (!strcmp(obj->s, "max") || !strcmp(obj->s, "min") || !strcmp(obj->s, "sort") || !strcmp(obj->s, "topk") ||
        !strcmp(obj->s, "median")) {
      if (!strcmp(name, "values")) return obj->items[0];
      if (!strcmp(name, "indices")) return obj->items[1];
    }
    return NULL;
  }
  if (obj->k == V_OBJECT && attrs_get(&obj->attrs, "__items__") && (!strcmp(name, "append") || !strcmp(name, "extend")))
    return bound(l, py_method(V_LIST, name), attrs_get(&obj->attrs, "__items__"));
  if (obj->k == V_OBJECT && moduledict_method(obj, name)) return bound(l, moduledict_method(obj, name), obj);
  if (obj->k == V_OBJECT) {
    Value *tk = tok_getattr(l, obj, name);
    if (tk) return tk;
    Value *fm = file_getattr(l, obj, name);
    if (fm) return fm;
    Value *tv = train_getattr(l, obj, name);
    if (tv) return tv;
    Value *pv = profiler_getattr(l, obj, name); /* profiler.c */
    if (pv) return pv;
    Value *len = attrs_get(&obj->attrs, "__len__");
    if (len && !strcmp(name, "dataset")) return attrs_get(&obj->attrs, "dataset");
    if (len && !strcmp(name, "batch_size")) return attrs_get(&obj->attrs, "batch_size");
    if (!strcmp(name, "parameters")) return bound(l, &module_methods[MM_parameters], obj);
    if (!strcmp(name, "named_parameters")) return bound(l, &module_methods[MM_named_parameters], obj);
    if (!strcmp(name, "train")) return bound(l, &module_methods[MM_train], obj);
    if (!strcmp(name, "eval")) return bound(l, &module_methods[MM_eval], obj);
    if (!strcmp(name, "zero_grad")) return bound(l, &module_methods[MM_zero_grad], obj);
    if (!strcmp(name, "to") || !strcmp(name, "cpu")) return bound(l, &module_methods[MM_to], obj);
    for (int m = MM_children; m < MM__COUNT; m++)
      if (!strcmp(name, module_methods[m].name)) return bound(l, &module_methods[m], obj);
    if (!strcmp(name, "training")) return attrs_get(&obj->attrs, "training") ? attrs_get(&obj->attrs, "training") : l->vtrue;
    if (!strcmp(name, "forward") && obj->cls->bi) return bound(l, obj->cls->bi, obj);
    return NULL;
  }
  if (obj->k != V_TENSOR) return NULL;
  if (obj->t.dyn) return dyn_getattr(l, obj, name, off); /* x[mask]'s, in masked.c */
  if (obj->t.win && !strcmp(name, "shape")) return win_size(l, obj, -1); /* generate.c */
  if (obj->t.win && !strcmp(name, "ndim")) return v_int(l, win_rank(l, obj));
  Shape s = tshape(l, obj);
  if (!strcmp(name, "shape")) return size_tuple(l, s);
  if (!strcmp(name, "ndim")) return v_int(l, s.rank);
  if (!strcmp(name, "dtype")) {
    Value *d = v_new(l, V_DTYPE);
    d->i = tdtype(l, obj);
    return d;
  }
  if (!strcmp(name, "T") || !strcmp(name, "mT")) {
    int64_t perm[TT_MAX_RANK];
    for (int i = 0; i < s.rank; i++) perm[i] = name[0] == 'm' ? i : s.rank - 1 - i;
    if (name[0] == 'm') {
      if (s.rank < 2) lerr(l, off, "tensor.mT is only supported on matrices or batches of matrices");
      perm[s.rank - 1] = s.rank - 2, perm[s.rank - 2] = s.rank - 1;
    }
    return s.rank < 2 ? obj : permute_to(l, obj, perm, s.rank, off, name[0] == 'm' ? "TransposeBackward0" : "PermuteBackward0");
  }
  if (!strcmp(name, "requires_grad")) return v_bool(l, obj->t.requires_grad);
  if (!strcmp(name, "is_leaf")) return v_bool(l, obj->t.leaf || !obj->t.requires_grad);
  if (!strcmp(name, "data")) {
    /* the same storage without the autograd history: in-place changes write the variable */
    int32_t in = tnode(l, obj);
    Value *r = mk_tensor(l, add_node(l, OP_DETACH, &in, 1, NULL, off));
    r->t.var = obj->t.var;
    r->t.leaf = true;
    return r;
  }
  if (!strcmp(name, "grad")) {
    if (obj->t.grad) return obj->t.grad;
    if (obj->t.retain) return obj->t.retain->t.grad ? obj->t.retain->t.grad : l->none;
    if (obj->t.requires_grad && !obj->t.leaf)
      diag_warning(l->diag, off,
                   "the .grad attribute of a tensor that is not a leaf is being accessed; it is "
                   "None (call .retain_grad() on it in PyTorch, or use a leaf)");
    return l->none;
  }
  if (!strcmp(name, "grad_fn")) return obj->t.gradfn ? v_str(l, obj->t.gradfn) : l->none;
  if (!strcmp(name, "device")) return v_str(l, "cpu");
  const Builtin *b = bi_lookup(name, BI_METHOD);
  if (b) return bound(l, b, obj);
  return NULL;
}

void lower_init_builtins(L *l) {
  static const char *ns[] = {"torch", "nn", "F", "optim", "math"};
  static const char *full[] = {"torch", "torch.nn", "torch.nn.functional", "torch.optim", "math"};
  for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
    Value *v = v_new(l, V_NS);
    v->s = full[i];
    attrs_set(l, &l->globals->vars, ns[i], v);
  }
}
