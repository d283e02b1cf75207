/*
 * modules.c — torch.nn's module classes (Module, Linear, the activation modules,
 * Identity, Flatten, Sequential, ModuleList) and Parameter, the methods every module has
 * (parameters(), named_parameters(), train(), eval(), zero_grad(), to()), and print(model).
 *
 * A module class is a BI_CLASS builtin: called with self == NULL it constructs a
 * V_OBJECT at compile time, whose parameters are program variables initialised as
 * PyTorch does; called with the object it traces forward. Convolution, pooling, dropout
 * and batch norm modules are in layers.c, the loss modules in autograd.c.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

#define result bi_result

/* ---- modules ----------------------------------------------------------------------- */

Value *bi_module_new(L *l, const char *cls) {
  const Builtin *b = bi_lookup(cls, BI_CLASS);
  TT_ASSERT(b);
  Value *c = v_new(l, V_CLASS);
  c->bi = b;
  c->s = b->name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = c;
  return o;
}

#define module_new bi_module_new
/* A parameter: a program variable initialised by the graph that created it. */
Value *bi_make_param(L *l, Value *t, const char *name, int32_t off) {
  const Node *n = tn(l, t);
  int var = ir_var_new(l->p, name, VAR_PARAM, n->dtype, n->shape);
  l->p->vars[var].requires_grad = true;
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *p = v_new(l, V_TENSOR);
  p->t = t->t;
  p->t.var = var;
  p->t.graph = -1; /* uses read the variable, where autodiff finds the parameter */
  remember_leaf(l, var, p);
  p->t.leaf = p->t.param = p->t.requires_grad = true;
  p->t.gradfn = NULL;
  return p;
}

#define make_param bi_make_param
Value *bi_uniform_param(L *l, Shape s, DType dt, double bound, const char *name, int32_t off) {
  Attr at = {0};
  at.f[0] = -bound;
  at.f[1] = bound;
  Graph *g = cur_graph(l);
  if (g->n == 0) g->loc.off = off;
  Value *t = mk_tensor(l, ir_add_source(g, OP_UNIFORM, dt, s, &at, (Loc){off}));
  return make_param(l, t, name, off);
}

#define uniform_param bi_uniform_param
B(Parameter) {
  Value *v[2];
  args_bind(l, "Parameter", "data, requires_grad=True", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "Parameter", a->off);
  Value *p = make_param(l, x, "param", a->off);
  p->t.requires_grad = want_bool(l, v[1], a->off);
  l->p->vars[p->t.var].requires_grad = p->t.requires_grad;
  return p;
}

/* x @ w^T (+ b) with w [out, in], as at::linear: the weight multiplied transposed in place,
 * PyTorch's grad_fn names (addmm for a matrix, a fused view for 3-D inputs, else an add). */
static Value *linear_apply(L *l, Value *x, Value *w, Value *b, const char *fname, int32_t off) {
  Shape xs = tshape(l, x), ws = tshape(l, w);
  if (xs.rank == 0 || xs.d[xs.rank - 1] != ws.d[1]) {
    char b1[64], b2[64];
    Shape wt = ws;
    wt.d[0] = ws.d[1], wt.d[1] = ws.d[0];
    lerr(l, off, "%s: input %s @ weight^T %s: inner dimensions %lld and %lld differ (in_features=%lld)", fname,
         shape_str(&xs, b1, sizeof b1), shape_str(&wt, b2, sizeof b2),
         (long long)(xs.rank ? xs.d[xs.rank - 1] : 0), (long long)ws.d[1], (long long)ws.d[1]);
  }
  Value *ops[3] = {x, w, b && b->k == V_TENSOR ? b : NULL};
  DType dt = tdtype(l, w);
  if (tdtype(l, x) != dt)
    lerr(l, off, "mat1 and mat2 must have the same dtype (input is %s, weight is %s)", dt_torch(tdtype(l, x)), dt_torch(dt));
  Attr at = {0};
  at.i[0] = 1; /* weight is [out, in]: multiply by its transpose */
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, x);
  in[1] = tnode(l, w);
  int id = add_node(l, OP_MATMUL, in, 2, &at, off);
  Value *y = result(l, id, ops, 2, xs.rank == 2 ? "MmBackward0" : "UnsafeViewBackward0");
  if (ops[2]) {
    int32_t in2[2]; /* one at a time: tnode may add an input node */
    in2[0] = tnode(l, y);
    in2[1] = tnode(l, ops[2]);
    int id2 = add_node(l, OP_ADD, in2, 2, NULL, off);
    y = result(l, id2, ops, 3, xs.rank == 2 ? "AddmmBackward0" : xs.rank == 3 ? "ViewBackward0" : "AddBackward0");
  } else if (xs.rank == 1 && y->t.requires_grad) {
    y->t.gradfn = "SqueezeBackward3"; /* PyTorch's mv of a 1-D input */
  }
  return y;
}

static Value *linear_forward(L *l, Value *m, Value *x, int32_t off) {
  Value *w = attrs_get(&m->attrs, "weight"), *b = attrs_get(&m->attrs, "bias");
  return linear_apply(l, want_tensor(l, x, "Linear", off), w, b, "Linear", off);
}

/* F.linear(input, weight, bias=None): a 2-D weight [out, in] (a 1-D one is a dot with each
 * row of input). */
B(linear) {
  Value *v[3];
  args_bind(l, "linear", "input, weight, bias=None", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "linear", a->off), *w = want_tensor(l, v[1], "linear", a->off);
  Value *b = v[2] ? want_tensor(l, v[2], "linear", a->off) : NULL;
  Shape ws = tshape(l, w);
  if (ws.rank == 1) {
    Value *r = bi_binop(l, BIN_MATMUL, x, w, a->off);
    return b ? bi_binop(l, BIN_ADD, r, b, a->off) : r;
  }
  if (ws.rank != 2) lerr(l, a->off, "linear(): weight must be 1-D or 2-D, got %d-D", ws.rank);
  return linear_apply(l, x, w, b, "linear", a->off);
}

/* A builtin module class: called with self == NULL it constructs, with self the object
 * it runs forward. */
B(Linear) {
  if (self) {
    Value *v[1];
    args_bind(l, "Linear.forward", "input", NULL, a, v, 1);
    return linear_forward(l, self, v[0], a->off);
  }
  Value *v[5];
  args_bind(l, "Linear", "in_features, out_features, bias=True, device=None, dtype=None", NULL, a, v, 5);
  DType pdt = v[4] ? want_dtype(l, v[4], a->off) : DT_F32;
  if (!dt_is_float(pdt)) lerr(l, a->off, "Linear(): dtype must be a floating point type");
  int64_t in = want_int(l, v[0], "in_features", a->off), out = want_int(l, v[1], "out_features", a->off);
  if (in < 0 || out < 0 || (double)in * (double)out > 1e9)
    lerr(l, a->off, "Linear(%lld, %lld): invalid size", (long long)in, (long long)out);
  Value *m = module_new(l, "Linear");
  attrs_set(l, &m->attrs, "in_features", v_int(l, in));
  attrs_set(l, &m->attrs, "out_features", v_int(l, out));
  /* kaiming_uniform_(a=sqrt(5)) is U(-1/sqrt(in), 1/sqrt(in)); the bias uses the same bound */
  double bound = in > 0 ? 1.0 / sqrt((double)in) : 0;
  attrs_set(l, &m->attrs, "weight", uniform_param(l, (Shape){.rank = 2, .d = {out, in}}, pdt, bound, "weight", a->off));
  if (want_bool(l, v[2], a->off))
    attrs_set(l, &m->attrs, "bias", uniform_param(l, (Shape){.rank = 1, .d = {out}}, pdt, bound, "bias", a->off));
  else
    attrs_set(l, &m->attrs, "bias", l->none);
  return m;
}

/* Activation modules: construct with their options, forward calls the function. */
static Value *act_module(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn, const char *sig) {
  if (self) {
    Value *v[1];
    args_bind(l, cls, "input", NULL, a, v, 1);
    Args fa = {0};
    Value *pos[1] = {v[0]};
    fa.pos = pos;
    fa.npos = 1;
    fa.off = a->off;
    Value *opt = attrs_get(&self->attrs, "__opt__");
    const char *kwn[1] = {sig};
    Value *kwv[1] = {opt};
    if (opt && sig) fa.kwnames = kwn, fa.kw = kwv, fa.nkw = 1;
    return fn(l, NULL, &fa);
  }
  Value *m = module_new(l, cls);
  if (sig) {
    Value *v[1];
    char full[64];
    snprintf(full, sizeof full, "%s=None", sig);
    args_bind(l, cls, full, NULL, a, v, 1);
    if (v[0]) attrs_set(l, &m->attrs, "__opt__", v[0]);
  } else if (a->npos || a->nkw) {
    Value *v[1];
    args_bind(l, cls, "inplace=False", NULL, a, v, 1);
    if (v[0]) attrs_set(l, &m->attrs, "inplace", v[0]);
  }
  return m;
}
B(ReLU) { return act_module(l, self, a, "ReLU", bi_relu, NULL); }
B(Sigmoid) { return act_module(l, self, a, "Sigmoid", bi_sigmoid, NULL); }
B(Tanh) { return act_module(l, self, a, "Tanh", bi_tanh, NULL); }
B(GELU) { return act_module(l, self, a, "GELU", bi_gelu, "approximate"); }
B(Softmax) { return act_module(l, self, a, "Softmax", bi_softmax, "dim"); }
B(LogSoftmax) { return act_module(l, self, a, "LogSoftmax", bi_log_softmax, "dim"); }

B(Identity) {
  if (self) return a->npos ? a->pos[0] : l->none;
  return module_new(l, "Identity");
}

B(Flatten) {
  if (self) {
    Value *v[1];
    args_bind(l, "Flatten", "input", NULL, a, v, 1);
    Value *pos[3] = {v[0], attrs_get(&self->attrs, "start_dim"), attrs_get(&self->attrs, "end_dim")};
    Args fa = {.pos = pos, .npos = 3, .off = a->off};
    return bi_flatten(l, NULL, &fa);
  }
  Value *v[2];
  args_bind(l, "Flatten", "start_dim=1, end_dim=-1", NULL, a, v, 2);
  Value *m = module_new(l, "Flatten");
  attrs_set(l, &m->attrs, "start_dim", v[0]);
  attrs_set(l, &m->attrs, "end_dim", v[1]);
  return m;
}

/* The attribute name of a container's item k when it is a named child (a Sequential built
 * from an OrderedDict holds its children both as attributes, for model.fc1 and
 * state_dict(), and in "__items__", for model[i], len() and iteration), or NULL. */
static const char *item_key(Value *m, int k) {
  Value *keys = attrs_get(&m->attrs, "__keys__"), *items = attrs_get(&m->attrs, "__items__");
  if (!keys || !items || k >= keys->n || k >= items->n) return NULL;
  return keys->items[k]->s;
}

bool bi_item_is_attr(const Value *m, const Value *item) {
  Value *keys = attrs_get(&m->attrs, "__keys__");
  for (int k = 0; keys && k < keys->n; k++)
    if (attrs_get(&m->attrs, keys->items[k]->s) == item) return true;
  return false;
}

/* An attribute that is also an item of the container: listed once, under its name. */
static bool attr_is_item(const Value *m, const Value *v) {
  Value *items = attrs_get(&m->attrs, "__items__");
  if (!attrs_get(&m->attrs, "__keys__")) return false;
  for (int k = 0; items && k < items->n; k++)
    if (items->items[k] == v) return true;
  return false;
}

/* A named Sequential whose child was replaced through one of its two homes (model.fc1 = ...
 * or model[0] = ...) has items ttc cannot keep in step: a diagnostic, not a stale module. */
static void check_named(L *l, Value *m, int32_t off) {
  Value *keys = attrs_get(&m->attrs, "__keys__"), *items = attrs_get(&m->attrs, "__items__");
  for (int k = 0; keys && k < keys->n; k++)
    if (k >= items->n || attrs_get(&m->attrs, keys->items[k]->s) != items->items[k])
      lerr(l, off, "Sequential: replacing the child '%s' of a Sequential built from an OrderedDict is not supported by ttc",
           keys->items[k]->s);
}

B(Sequential) {
  if (self) {
    check_named(l, self, a->off);
    Value *items = attrs_get(&self->attrs, "__items__");
    Value *v[1];
    args_bind(l, "Sequential", "input", NULL, a, v, 1);
    Value *x = v[0];
    for (int i = 0; i < items->n; i++) {
      Args fa = {.pos = &x, .npos = 1, .off = a->off};
      x = v_call(l, items->items[i], &fa);
    }
    return x;
  }
  Value *m = module_new(l, "Sequential");
  Value *items = v_new(l, V_LIST);
  if (a->nkw) lerr(l, a->off, "Sequential() takes no keyword arguments");
  Value *od = a->npos == 1 ? a->pos[0] : NULL;
  if (od && od->k == V_DICT && od->s && !strcmp(od->s, "OrderedDict")) {
    /* Sequential(OrderedDict([(name, module), ...])): named children, in the dict's order */
    Value *keys = v_new(l, V_LIST);
    for (int i = 0; i + 1 < od->n; i += 2) {
      Value *k = od->items[i], *mod = od->items[i + 1];
      if (k->k != V_STR) lerr(l, a->off, "module name should be a string. Got %s", v_typename(k));
      if (!*k->s) lerr(l, a->off, "module name can't be empty string \"\"");
      if (strchr(k->s, '.')) lerr(l, a->off, "module name can't contain \".\", got: %s", k->s);
      if (mod->k != V_OBJECT || !bi_is_module(mod)) lerr(l, a->off, "%s is not a Module subclass", v_typename(mod));
      if (attrs_get(&m->attrs, k->s) || k->s[0] == '_' || !strcmp(k->s, "training") || !strcmp(k->s, "forward"))
        lerr(l, a->off, "Sequential(): a child named '%s' is not supported by ttc", k->s);
      attrs_set(l, &m->attrs, k->s, mod);
      v_list_push(l, keys, k);
      v_list_push(l, items, mod);
    }
    attrs_set(l, &m->attrs, "__keys__", keys);
    attrs_set(l, &m->attrs, "__items__", items);
    return m;
  }
  for (int i = 0; i < a->npos; i++) {
    if (a->pos[i]->k != V_OBJECT) lerr(l, a->posoff ? a->posoff[i] : a->off, "Sequential(): %s is not a Module", v_typename(a->pos[i]));
    v_list_push(l, items, a->pos[i]);
  }
  attrs_set(l, &m->attrs, "__items__", items);
  return m;
}

B(ModuleList) {
  if (self) lerr(l, a->off, "ModuleList is not callable; iterate over it or index it");
  Value *v[1];
  args_bind(l, "ModuleList", "modules=None", NULL, a, v, 1);
  Value *m = module_new(l, "ModuleList");
  Value *items = v_new(l, V_LIST);
  if (v[0]) {
    if (v[0]->k != V_LIST && v[0]->k != V_TUPLE) lerr(l, a->off, "ModuleList(): expected a list of modules");
    for (int i = 0; i < v[0]->n; i++) v_list_push(l, items, v[0]->items[i]);
  }
  attrs_set(l, &m->attrs, "__items__", items);
  return m;
}

/* nn.ModuleDict: its children are attributes (md.wte, parameters(), state_dict() and
 * apply() see them as any module's, in insertion order), their names in "__dictkeys__" in
 * that order for md[key], len(), iteration (the keys) and keys()/values()/items(). */
Value *moduledict_keys(const Value *m) {
  if (m->k != V_OBJECT || !m->cls || !m->cls->bi || strcmp(m->cls->s, "ModuleDict")) return NULL;
  return attrs_get(&m->attrs, "__dictkeys__");
}

Value *moduledict_get(L *l, Value *m, Value *key, int32_t off) {
  Value *keys = moduledict_keys(m);
  if (key->k == V_STR)
    for (int i = 0; i < keys->n; i++)
      if (!strcmp(keys->items[i]->s, key->s)) return attrs_get(&m->attrs, key->s);
  lerr(l, off, "KeyError: %s", v_str_of(l, key, true, off));
}

static void moduledict_put(L *l, Value *m, Value *key, Value *mod, int32_t off) {
  if (key->k != V_STR) lerr(l, off, "module name should be a string. Got %s", v_typename(key));
  if (!*key->s) lerr(l, off, "module name can't be empty string \"\"");
  if (strchr(key->s, '.')) lerr(l, off, "module name can't contain \".\", got: %s", key->s);
  if (mod->k != V_OBJECT || !bi_is_module(mod)) lerr(l, off, "%s is not a Module subclass", v_typename(mod));
  Value *keys = attrs_get(&m->attrs, "__dictkeys__");
  bool known = false;
  for (int i = 0; i < keys->n; i++) known |= !strcmp(keys->items[i]->s, key->s);
  if (!known && (attrs_get(&m->attrs, key->s) || key->s[0] == '_' || !strcmp(key->s, "training") ||
                 !strcmp(key->s, "forward")))
    lerr(l, off, "ModuleDict: a child named '%s' is not supported by ttc", key->s);
  attrs_set(l, &m->attrs, key->s, mod);
  if (!known) v_list_push(l, keys, key);
}

B(ModuleDict) {
  if (self) lerr(l, a->off, "ModuleDict is not callable; index it with a key");
  Value *v[1];
  args_bind(l, "ModuleDict", "modules=None", NULL, a, v, 1);
  Value *m = module_new(l, "ModuleDict");
  attrs_set(l, &m->attrs, "__dictkeys__", v_new(l, V_LIST));
  Value *d = v[0];
  if (!d || d->k == V_NONE) return m;
  if (d->k == V_DICT) { /* a dict (or OrderedDict): its order, which is insertion order */
    for (int i = 0; i + 1 < d->n; i += 2) moduledict_put(l, m, d->items[i], d->items[i + 1], a->off);
  } else if (d->k == V_LIST || d->k == V_TUPLE) { /* an iterable of (key, module) pairs */
    for (int i = 0; i < d->n; i++) {
      Value *p = d->items[i];
      if ((p->k != V_LIST && p->k != V_TUPLE) || p->n != 2)
        lerr(l, a->off, "ModuleDict update sequence element #%d should be a pair of a name and a module", i);
      moduledict_put(l, m, p->items[0], p->items[1], a->off);
    }
  } else
    lerr(l, a->off, "ModuleDict(): expected a dict or a list of (name, module) pairs, not %s", v_typename(d));
  return m;
}

/* md.keys(), md.values(), md.items(): lists, in insertion order */
static Value *md_view(L *l, Value *self, Args *a, int which) {
  if (a->npos || a->nkw) lerr(l, a->off, "takes no arguments");
  Value *keys = moduledict_keys(self), *r = v_new(l, V_LIST);
  for (int i = 0; i < keys->n; i++) {
    Value *mod = attrs_get(&self->attrs, keys->items[i]->s);
    if (which == 0) v_list_push(l, r, keys->items[i]);
    else if (which == 1) v_list_push(l, r, mod);
    else {
      Value *t = v_tuple(l, 2);
      t->items[0] = keys->items[i];
      t->items[1] = mod;
      v_list_push(l, r, t);
    }
  }
  return r;
}
B(md_keys) { return md_view(l, self, a, 0); }
B(md_values) { return md_view(l, self, a, 1); }
B(md_items) { return md_view(l, self, a, 2); }
static const Builtin md_methods[] = {
  {"keys", BI_METHOD, bi_md_keys, 0},
  {"values", BI_METHOD, bi_md_values, 0},
  {"items", BI_METHOD, bi_md_items, 0},
};

const Builtin *moduledict_method(const Value *m, const char *name) {
  if (!moduledict_keys(m)) return NULL;
  for (size_t i = 0; i < sizeof md_methods / sizeof md_methods[0]; i++)
    if (!strcmp(md_methods[i].name, name)) return &md_methods[i];
  return NULL;
}

B(Module) {
  if (self) lerr(l, a->off, "Module has no forward");
  return module_new(l, "Module");
}

/* parameters() in PyTorch's order: own parameters, then sub-modules, recursively. */
void collect_params(L *l, Value *m, Value *out, const char *prefix, Value *names) {
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    if (v->k == V_TENSOR && v->t.param) {
      for (int k = 0; k < out->n; k++)
        if (out->items[k] == v) goto skip;
      v_list_push(l, out, v);
      if (names) v_list_push(l, names, v_str(l, *prefix ? arena_printf(l->arena, "%s.%s", prefix, m->attrs.keys[i]) : m->attrs.keys[i]));
    }
  skip:;
  }
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    const char *key = m->attrs.keys[i];
    if (v->k == V_OBJECT && !attr_is_item(m, v)) {
      collect_params(l, v, out, *prefix ? arena_printf(l->arena, "%s.%s", prefix, key) : key, names);
    } else if (v->k == V_LIST && !strcmp(key, "__items__")) {
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT) {
          const char *ik = item_key(m, k) ? item_key(m, k) : arena_printf(l->arena, "%d", k);
          collect_params(l, v->items[k], out, *prefix ? arena_printf(l->arena, "%s.%s", prefix, ik) : ik, names);
        }
    }
  }
}

BI_FN(parameters) {
  Value *out = v_new(l, V_LIST);
  UNUSED(a);
  collect_params(l, self, out, "", NULL);
  return out;
}

BI_FN(named_parameters) {
  Value *ps = v_new(l, V_LIST), *names = v_new(l, V_LIST), *out = v_new(l, V_LIST);
  UNUSED(a);
  collect_params(l, self, ps, "", names);
  for (int i = 0; i < ps->n; i++) {
    Value *t = v_tuple(l, 2);
    t->items[0] = names->items[i];
    t->items[1] = ps->items[i];
    v_list_push(l, out, t);
  }
  return out;
}

/* model.train() / model.eval(): the mode of the module and of all its sub-modules, read
 * when forward is traced (Dropout, BatchNorm2d) */
static void set_training(L *l, Value *m, bool on) {
  attrs_set(l, &m->attrs, "training", v_bool(l, on));
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    if (v->k == V_OBJECT && !attrs_get(&v->attrs, "__optim__")) set_training(l, v, on);
    if (v->k == V_LIST && !strcmp(m->attrs.keys[i], "__items__"))
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT) set_training(l, v->items[k], on);
  }
}
BI_FN(train_mode) {
  Value *v[2];
  args_bind(l, "train", "self, mode=True", self, a, v, 2);
  set_training(l, self, v[1] ? v_truthy(l, v[1], a->off) : true);
  return self;
}
BI_FN(eval_mode) {
  UNUSED(a);
  set_training(l, self, false);
  return self;
}

BI_FN(module_zero_grad) {
  Value *v[2];
  args_bind(l, "zero_grad", "self, set_to_none=False", self, a, v, 2);
  Value *ps = v_new(l, V_LIST);
  collect_params(l, self, ps, "", NULL);
  if (v[1] && v_truthy(l, v[1], a->off)) none_param_grads(l, ps, a->off);
  else zero_param_grads(l, ps, a->off);
  return l->none;
}

/* A module's forward that is a function with the module's options: fn(pos..., name=value
 * for each of names the module holds as an attribute). */
Value *bi_call_with_opts(L *l, BuiltinFn fn, Value **pos, int npos, Value *m, const char *const *names, int n,
                         int32_t off) {
  const char *kn[8];
  Value *kv[8];
  int nk = 0;
  for (int i = 0; i < n && nk < 8; i++) {
    Value *o = attrs_get(&m->attrs, names[i]);
    if (o) kn[nk] = names[i], kv[nk++] = o;
  }
  Args fa = {.pos = pos, .npos = npos, .off = off, .kwnames = kn, .kw = kv, .nkw = nk};
  return fn(l, NULL, &fa);
}

/* ---- the module tree: children(), modules(), apply(), requires_grad_() ------------------ */


/* The direct sub-modules in PyTorch's registration order (a Sequential's or ModuleList's
 * items, named "0", "1", ..., then attributes), pushed with their names. */
static void children_of(L *l, Value *m, Value *names, Value *mods) {
  Value *items = attrs_get(&m->attrs, "__items__");
  for (int i = 0; items && i < items->n; i++)
    if (bi_is_module(items->items[i])) {
      v_list_push(l, names, v_str(l, item_key(m, i) ? item_key(m, i) : arena_printf(l->arena, "%d", i)));
      v_list_push(l, mods, items->items[i]);
    }
  for (int i = 0; i < m->attrs.n; i++)
    if (bi_is_module(m->attrs.vals[i]) && !attr_is_item(m, m->attrs.vals[i])) {
      v_list_push(l, names, v_str(l, m->attrs.keys[i]));
      v_list_push(l, mods, m->attrs.vals[i]);
    }
}

/* self and every sub-module, depth first, each once (PyTorch's named_modules). */
static void walk_modules(L *l, Value *m, const char *prefix, Value *names, Value *mods, int depth) {
  if (depth > 200) lerr(l, 0, "modules(): the module tree is too deep");
  for (int i = 0; i < mods->n; i++)
    if (mods->items[i] == m) return;
  v_list_push(l, names, v_str(l, prefix));
  v_list_push(l, mods, m);
  Value *cn = v_new(l, V_LIST), *cm = v_new(l, V_LIST);
  children_of(l, m, cn, cm);
  for (int i = 0; i < cm->n; i++)
    walk_modules(l, cm->items[i], *prefix ? arena_printf(l->arena, "%s.%s", prefix, cn->items[i]->s) : cn->items[i]->s,
                 names, mods, depth + 1);
}

static Value *pairs(L *l, Value *names, Value *mods) {
  Value *out = v_new(l, V_LIST);
  for (int i = 0; i < mods->n; i++) {
    Value *t = v_tuple(l, 2);
    t->items[0] = names->items[i], t->items[1] = mods->items[i];
    v_list_push(l, out, t);
  }
  return out;
}

BI_FN(module_children) {
  UNUSED(a);
  Value *names = v_new(l, V_LIST), *mods = v_new(l, V_LIST);
  children_of(l, self, names, mods);
  return mods;
}
BI_FN(module_named_children) {
  UNUSED(a);
  Value *names = v_new(l, V_LIST), *mods = v_new(l, V_LIST);
  children_of(l, self, names, mods);
  return pairs(l, names, mods);
}
BI_FN(module_modules) {
  UNUSED(a);
  Value *names = v_new(l, V_LIST), *mods = v_new(l, V_LIST);
  walk_modules(l, self, "", names, mods, 0);
  return mods;
}
BI_FN(module_named_modules) {
  UNUSED(a);
  Value *names = v_new(l, V_LIST), *mods = v_new(l, V_LIST);
  walk_modules(l, self, "", names, mods, 0);
  return pairs(l, names, mods);
}

/* apply(fn): fn on every sub-module, then on self (PyTorch's post-order); returns self */
static void apply_to(L *l, Value *m, Value *fn, int32_t off, int depth) {
  if (depth > 200) lerr(l, off, "apply(): the module tree is too deep");
  Value *names = v_new(l, V_LIST), *mods = v_new(l, V_LIST);
  children_of(l, m, names, mods);
  for (int i = 0; i < mods->n; i++) apply_to(l, mods->items[i], fn, off, depth + 1);
  Value *pos[1] = {m};
  Args fa = {.pos = pos, .npos = 1, .off = off};
  v_call(l, fn, &fa);
}
BI_FN(module_apply) {
  Value *v[2];
  args_bind(l, "apply", "self, fn", self, a, v, 2);
  apply_to(l, self, v[1], a->off, 0);
  return self;
}

/* requires_grad_(requires_grad=True): every parameter's flag (freezing a model) */
BI_FN(module_requires_grad_) {
  Value *v[2];
  args_bind(l, "requires_grad_", "self, requires_grad=True", self, a, v, 2);
  Value *ps = v_new(l, V_LIST);
  collect_params(l, self, ps, "", NULL);
  Value *flag = v[1] ? v[1] : l->vtrue;
  for (int i = 0; i < ps->n; i++) bi_call(l, "requires_grad_", ps->items[i], &flag, 1, a->off);
  return self;
}

/* self.register_buffer(name, tensor, persistent=True): a tensor the module owns but does
 * not train (a causal mask, running statistics), in a program variable that keeps its
 * value across graphs. Buffers are listed in "__buffers__" in registration order (BatchNorm's
 * too, frontend/layers.c); a non-persistent one also in "__nonpersistent__", which
 * state_dict() leaves out, as PyTorch's. */
BI_FN(module_register_buffer) {
  Value *v[4];
  args_bind(l, "register_buffer", "self, name, tensor, persistent=True", self, a, v, 4);
  if (!v[1] || v[1]->k != V_STR) lerr(l, a->off, "buffer name should be a string");
  const char *name = v[1]->s;
  if (!*name || strchr(name, '.')) lerr(l, a->off, "buffer name can't be empty or contain \".\"");
  Value *cur = attrs_get(&self->attrs, name);
  if (cur && !(cur->k == V_TENSOR && !cur->t.param)) lerr(l, a->off, "attribute '%s' already exists", name);
  Value *names = attrs_get(&self->attrs, "__buffers__");
  if (!names) {
    names = v_new(l, V_LIST);
    attrs_set(l, &self->attrs, "__buffers__", names);
  }
  bool known = false;
  for (int i = 0; i < names->n; i++) known |= !strcmp(names->items[i]->s, name);
  if (!known) v_list_push(l, names, v_str(l, name));
  if (v[3] && !v_truthy(l, v[3], a->off)) {
    Value *np = attrs_get(&self->attrs, "__nonpersistent__");
    if (!np) {
      np = v_new(l, V_LIST);
      attrs_set(l, &self->attrs, "__nonpersistent__", np);
    }
    v_list_push(l, np, v_str(l, name));
  }
  if (!v[2] || v[2]->k == V_NONE) {
    attrs_set(l, &self->attrs, name, l->none);
    return l->none;
  }
  Value *t = want_tensor(l, v[2], "register_buffer", a->off);
  const Node *n = tn(l, t);
  if (n->shape.symm) lerr(l, a->off, "register_buffer(): a tensor with a batch dimension cannot be a buffer");
  int var = ir_var_new(l->p, name, VAR_STATE, n->dtype, n->shape);
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, a->off);
  Value *b = v_new(l, V_TENSOR);
  b->t.var = var;
  b->t.leaf = true;
  attrs_set(l, &self->attrs, name, b);
  return l->none;
}

/* named_buffers() in PyTorch's order: a module's own, then its children's, recursively. */
static void collect_buffers(L *l, Value *m, const char *prefix, Value *out, bool named) {
  Value *names = attrs_get(&m->attrs, "__buffers__");
  for (int i = 0; names && i < names->n; i++) {
    Value *b = attrs_get(&m->attrs, names->items[i]->s);
    if (!b || b->k != V_TENSOR) continue;
    if (!named) {
      v_list_push(l, out, b);
      continue;
    }
    Value *t = v_tuple(l, 2);
    t->items[0] = v_str(l, *prefix ? arena_printf(l->arena, "%s.%s", prefix, names->items[i]->s) : names->items[i]->s);
    t->items[1] = b;
    v_list_push(l, out, t);
  }
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    const char *key = m->attrs.keys[i];
    if (v->k == V_OBJECT && !attrs_get(&v->attrs, "__optim__") && !attr_is_item(m, v))
      collect_buffers(l, v, *prefix ? arena_printf(l->arena, "%s.%s", prefix, key) : key, out, named);
    else if (v->k == V_LIST && !strcmp(key, "__items__"))
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT) {
          const char *ik = item_key(m, k) ? item_key(m, k) : arena_printf(l->arena, "%d", k);
          collect_buffers(l, v->items[k], *prefix ? arena_printf(l->arena, "%s.%s", prefix, ik) : ik, out, named);
        }
  }
}

BI_FN(module_buffers) {
  UNUSED(a);
  Value *out = v_new(l, V_LIST);
  collect_buffers(l, self, "", out, false);
  return out;
}

BI_FN(module_named_buffers) {
  UNUSED(a);
  Value *out = v_new(l, V_LIST);
  collect_buffers(l, self, "", out, true);
  return out;
}

/* model.to(device) / model.cpu(): the CPU is where the module already is */
BI_FN(module_to) {
  for (int i = 0; i < a->npos; i++)
    if (!(a->pos[i]->k == V_STR && !strncmp(a->pos[i]->s, "cpu", 3)))
      lerr(l, a->off, "Module.to(): ttc compiles for the CPU; only 'cpu' is supported");
  return self;
}

/* ---- print(model): PyTorch's module repr ------------------------------------------------ */

bool bi_is_module(const Value *v) {
  static const char *const mods[] = {"Module", "Linear", "ReLU", "Sigmoid", "Tanh", "GELU", "Softmax",
                                     "LogSoftmax", "Identity", "Flatten", "Sequential", "ModuleList", "ModuleDict",
                                     "Conv2d", "MaxPool2d", "AvgPool2d", "Dropout", "BatchNorm2d",
                                     "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss",
                                     "BCEWithLogitsLoss", "BCELoss", "LeakyReLU", "ELU", "SiLU",
                                     "Mish", "Hardtanh", "ReLU6", "LogSigmoid", "Softsign",
                                     "Softplus", "SmoothL1Loss", "HuberLoss", "BatchNorm1d",
                                     "Dropout2d", "AdaptiveAvgPool2d", "LayerNorm", "KLDivLoss", "Conv1d", "Embedding",
                                     "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell",
                                     "MultiheadAttention", "NonDynamicallyQuantizableLinear",
                                     "TransformerEncoderLayer", "TransformerEncoder"};
  if (v->k != V_OBJECT || !v->cls) return false;
  if (!v->cls->bi) return true; /* a user class */
  for (size_t i = 0; i < sizeof mods / sizeof mods[0]; i++)
    if (!strcmp(v->cls->bi->name, mods[i])) return true;
  return false;
}

/* An int or pair attribute as PyTorch shows it: 2, or (1, 1) when pair is asked for. */
static const char *pair_repr(L *l, Value *v, bool pair, int32_t off) {
  if (v && (v->k == V_TUPLE || v->k == V_LIST) && v->n == 2)
    return arena_printf(l->arena, "(%s, %s)", v_str_of(l, v->items[0], true, off), v_str_of(l, v->items[1], true, off));
  const char *x = v ? v_str_of(l, v, true, off) : "None";
  return pair ? arena_printf(l->arena, "(%s, %s)", x, x) : x;
}

static const char *extra_repr(L *l, Value *m, int32_t off) {
  const char *k = m->cls->bi ? m->cls->bi->name : "";
  Attrs *a = &m->attrs;
  const char *rnn = m->cls->bi ? rnn_extra_repr(l, m, off) : NULL;
  if (rnn) return rnn;
  if (!strcmp(k, "Linear") || !strcmp(k, "NonDynamicallyQuantizableLinear"))
    return arena_printf(l->arena, "in_features=%lld, out_features=%lld, bias=%s", (long long)attrs_get(a, "in_features")->i,
                        (long long)attrs_get(a, "out_features")->i, attrs_get(a, "bias")->k == V_TENSOR ? "True" : "False");
  if (!strcmp(k, "Conv2d")) {
    const Shape ws = tn(l, attrs_get(a, "weight"))->shape;
    Value *pad = attrs_get(a, "padding");
    bool nopad = pad->k == V_INT && pad->i == 0;
    return arena_printf(l->arena, "%lld, %lld, kernel_size=(%lld, %lld), stride=%s%s%s", (long long)ws.d[1], (long long)ws.d[0],
                        (long long)ws.d[2], (long long)ws.d[3], pair_repr(l, attrs_get(a, "stride"), true, off),
                        nopad ? "" : arena_printf(l->arena, ", padding=%s", pad->k == V_STR ? v_str_of(l, pad, false, off) : pair_repr(l, pad, true, off)),
                        attrs_get(a, "bias")->k == V_TENSOR ? "" : ", bias=False");
  }
  if (!strcmp(k, "Embedding")) {
    Value *p = attrs_get(a, "padding_idx");
    return arena_printf(l->arena, "%lld, %lld%s", (long long)attrs_get(a, "num_embeddings")->i, (long long)attrs_get(a, "embedding_dim")->i,
                        p ? arena_printf(l->arena, ", padding_idx=%lld", (long long)p->i) : "");
  }
  if (!strcmp(k, "Conv1d")) {
    const Shape ws = tn(l, attrs_get(a, "weight"))->shape;
    Value *pad = attrs_get(a, "padding");
    bool nopad = pad->k == V_INT && pad->i == 0;
    return arena_printf(l->arena, "%lld, %lld, kernel_size=(%lld,), stride=(%s,)%s%s", (long long)ws.d[1], (long long)ws.d[0],
                        (long long)ws.d[2], v_str_of(l, attrs_get(a, "stride"), true, off),
                        nopad ? "" : pad->k == V_STR ? arena_printf(l->arena, ", padding=%s", v_str_of(l, pad, false, off))
                                                     : arena_printf(l->arena, ", padding=(%s,)", v_str_of(l, pad, true, off)),
                        attrs_get(a, "bias")->k == V_TENSOR ? "" : ", bias=False");
  }
  if (!strcmp(k, "MaxPool2d") || !strcmp(k, "AvgPool2d")) {
    Value *ks = attrs_get(a, "kernel_size"), *st = attrs_get(a, "stride");
    if (st && (st->k == V_TUPLE || st->k == V_LIST) && st->n == 0) st = ks;
    return arena_printf(l->arena, "kernel_size=%s, stride=%s, padding=%s%s", pair_repr(l, ks, false, off), pair_repr(l, st, false, off),
                        pair_repr(l, attrs_get(a, "padding"), false, off), k[0] == 'M' ? ", dilation=1, ceil_mode=False" : "");
  }
  if (!strcmp(k, "Flatten"))
    return arena_printf(l->arena, "start_dim=%s, end_dim=%s", v_str_of(l, attrs_get(a, "start_dim"), true, off),
                        v_str_of(l, attrs_get(a, "end_dim"), true, off));
  if (!strcmp(k, "Dropout") || !strcmp(k, "Dropout2d"))
    return arena_printf(l->arena, "p=%s, inplace=False", v_str_of(l, attrs_get(a, "p"), true, off));
  if (!strcmp(k, "AdaptiveAvgPool2d"))
    return arena_printf(l->arena, "output_size=%s", v_str_of(l, attrs_get(a, "output_size"), true, off));
  if (!strcmp(k, "LayerNorm"))
    return arena_printf(l->arena, "%s, eps=%s, elementwise_affine=%s", v_str_of(l, attrs_get(a, "normalized_shape"), true, off),
                        v_str_of(l, attrs_get(a, "eps"), true, off), attrs_get(a, "elementwise_affine")->i ? "True" : "False");
  if (!strcmp(k, "BatchNorm2d") || !strcmp(k, "BatchNorm1d"))
    return arena_printf(l->arena, "%lld, eps=%s, momentum=%s, affine=True, track_running_stats=True",
                        (long long)attrs_get(a, "num_features")->i, v_str_of(l, attrs_get(a, "eps"), true, off),
                        v_str_of(l, attrs_get(a, "momentum"), true, off));
  if (!strcmp(k, "Softmax") || !strcmp(k, "LogSoftmax")) {
    Value *d = attrs_get(a, "__opt__");
    return arena_printf(l->arena, "dim=%s", d ? v_str_of(l, d, true, off) : "None");
  }
  /* the activations of activations.c: their options by name, PyTorch's defaults when not
     given; inplace shows only when set */
  Value *inpl = attrs_get(a, "inplace");
  const char *ip = inpl && v_truthy(l, inpl, off) ? "inplace=True" : "";
  if (!strcmp(k, "ReLU") || !strcmp(k, "SiLU") || !strcmp(k, "Mish") || !strcmp(k, "ReLU6")) return ip;
  if (!strcmp(k, "LeakyReLU") || !strcmp(k, "ELU")) {
    bool leaky = k[0] == 'L';
    Value *o = attrs_get(a, leaky ? "negative_slope" : "alpha");
    return arena_printf(l->arena, "%s=%s%s%s", leaky ? "negative_slope" : "alpha",
                        o ? v_str_of(l, o, true, off) : leaky ? "0.01" : "1.0", *ip ? ", " : "", ip);
  }
  if (!strcmp(k, "Hardtanh")) {
    Value *lo = attrs_get(a, "min_val"), *hi = attrs_get(a, "max_val");
    return arena_printf(l->arena, "min_val=%s, max_val=%s%s%s", lo ? v_str_of(l, lo, true, off) : "-1.0",
                        hi ? v_str_of(l, hi, true, off) : "1.0", *ip ? ", " : "", ip);
  }
  if (!strcmp(k, "Softplus")) {
    Value *b = attrs_get(a, "beta"), *t = attrs_get(a, "threshold");
    return arena_printf(l->arena, "beta=%s, threshold=%s", b ? v_str_of(l, b, true, off) : "1",
                        t ? v_str_of(l, t, true, off) : "20");
  }
  if (!strcmp(k, "GELU")) {
    Value *ap = attrs_get(a, "__opt__");
    return arena_printf(l->arena, "approximate=%s", ap ? v_str_of(l, ap, true, off) : "'none'");
  }
  return "";
}

/* Indents every line but the first by two spaces (PyTorch's _addindent). */
static const char *add_indent(L *l, const char *s) {
  size_t n = 0;
  for (const char *c = s; *c; c++) n += *c == '\n' ? 3 : 1;
  char *o = arena_alloc(l->arena, n + 1), *q = o;
  for (const char *c = s; *c; c++) {
    *q++ = *c;
    if (*c == '\n') *q++ = ' ', *q++ = ' ';
  }
  *q = 0;
  return o;
}

const char *bi_module_repr(L *l, Value *m, int32_t off) {
  if (!bi_is_module(m)) return NULL;
  const char *name = m->cls->bi ? m->cls->bi->name : m->cls->s;
  char *buf = arena_printf(l->arena, "%s(%s", name, extra_repr(l, m, off));
  bool children = false;
  Value *items = attrs_get(&m->attrs, "__items__");
  check_named(l, m, off);
  for (int i = 0; items && i < items->n; i++)
    if (bi_is_module(items->items[i])) {
      const char *ik = item_key(m, i) ? item_key(m, i) : arena_printf(l->arena, "%d", i);
      buf = arena_printf(l->arena, "%s\n  (%s): %s", buf, ik, add_indent(l, bi_module_repr(l, items->items[i], off)));
      children = true;
    }
  for (int i = 0; i < m->attrs.n; i++)
    if (bi_is_module(m->attrs.vals[i]) && !attr_is_item(m, m->attrs.vals[i])) {
      buf = arena_printf(l->arena, "%s\n  (%s): %s", buf, m->attrs.keys[i], add_indent(l, bi_module_repr(l, m->attrs.vals[i], off)));
      children = true;
    }
  return arena_printf(l->arena, "%s%s)", buf, children ? "\n" : "");
}

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
const Builtin module_builtins[] = {
  /* modules */
  {"Module", BI_CLASS, bi_Module, 0},
  {"Linear", BI_CLASS, bi_Linear, 0},
  /* MultiheadAttention's out_proj (frontend/transformer.c): a Linear under PyTorch's name */
  {"NonDynamicallyQuantizableLinear", BI_CLASS, bi_Linear, 0},
  {"linear", BI_FUNC, bi_linear, 0},
  {"ReLU", BI_CLASS, bi_ReLU, 0},
  {"Sigmoid", BI_CLASS, bi_Sigmoid, 0},
  {"Tanh", BI_CLASS, bi_Tanh, 0},
  {"GELU", BI_CLASS, bi_GELU, 0},
  {"Softmax", BI_CLASS, bi_Softmax, 0},
  {"LogSoftmax", BI_CLASS, bi_LogSoftmax, 0},
  {"Identity", BI_CLASS, bi_Identity, 0},
  {"Flatten", BI_CLASS, bi_Flatten, 0},
  {"Sequential", BI_CLASS, bi_Sequential, 0},
  {"ModuleList", BI_CLASS, bi_ModuleList, 0},
  {"ModuleDict", BI_CLASS, bi_ModuleDict, 0},
  {"Parameter", F, bi_Parameter, 0},
};
#undef F
const int module_nbuiltins = (int)(sizeof module_builtins / sizeof module_builtins[0]);
