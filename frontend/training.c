/*
 * training.c — the training side of torch: datasets and data loaders, optimizers,
 * learning-rate schedulers, gradient clipping, state_dict and checkpoints.
 *
 * Each follows PyTorch's names, arguments and defaults. Objects are compile-time values
 * that own program variables (a loader's batch buffers, an optimizer's moment buffers
 * and step count) and host variables (a learning rate); their methods add graph nodes
 * (opt.step() is one fused update per parameter) or host statements (sched.step()
 * recomputes the learning rate at run time, save() writes a checkpoint).
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define B(name) static Value *tb_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

Value *obj_new(L *l, const char *clsname) {
  const Builtin *b = bi_lookup(clsname, BI_CLASS);
  TT_ASSERT(b);
  Value *c = v_new(l, V_CLASS);
  c->bi = b;
  c->s = b->name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = c;
  return o;
}

bool is_class(const Value *v, const char *name) {
  return v && v->k == V_OBJECT && v->cls && v->cls->s && !strcmp(v->cls->s, name);
}

static const Node *node_of(L *l, Value *t) {
  return tn(l, t);
}

/* ---- transforms (torchvision.transforms) ---------------------------------------------- */

B(ToTensor) {
  UNUSED(a);
  if (self) lerr(l, a->off, "ToTensor is applied by the dataset, not called");
  return obj_new(l, "ToTensor");
}

B(Normalize) {
  if (self) lerr(l, a->off, "Normalize is applied by the dataset, not called");
  Value *v[2];
  args_bind(l, "Normalize", "mean, std", NULL, a, v, 2);
  Value *o = obj_new(l, "Normalize");
  attrs_set(l, &o->attrs, "mean", v[0]);
  attrs_set(l, &o->attrs, "std", v[1]);
  return o;
}

B(Compose) {
  if (self) lerr(l, a->off, "Compose is applied by the dataset, not called");
  Value *v[1];
  args_bind(l, "Compose", "transforms", NULL, a, v, 1);
  if (!v[0] || (v[0]->k != V_LIST && v[0]->k != V_TUPLE)) lerr(l, a->off, "Compose(): expected a list of transforms");
  Value *o = obj_new(l, "Compose");
  attrs_set(l, &o->attrs, "transforms", v[0]);
  return o;
}

/* The Normalize transforms of a transform, in order (ToTensor is what loaders do anyway). */
static void collect_normalize(L *l, Value *t, Value *out, int32_t off) {
  if (!t) return;
  if (is_class(t, "ToTensor")) return;
  if (is_class(t, "Normalize")) {
    v_list_push(l, out, t);
    return;
  }
  if (is_class(t, "Compose")) {
    Value *ts = attrs_get(&t->attrs, "transforms");
    for (int i = 0; i < ts->n; i++) collect_normalize(l, ts->items[i], out, off);
    return;
  }
  lerr(l, off, "transform %s is not supported (ToTensor, Normalize and Compose are)", v_typename(t));
}

/* ---- datasets ------------------------------------------------------------------------- */

static Value *idx_dataset(L *l, Args *a, const char *name, const char *default_root, int64_t ntrain,
                          int64_t ntest) {
  Value *v[5];
  args_bind(l, name, "root=None, train=True, transform=None, target_transform=None, download=False", NULL, a, v, 5);
  Value *d = obj_new(l, name);
  const char *root = v[0] ? (v[0]->k == V_STR ? v[0]->s : (lerr(l, a->off, "%s(): root must be a string", name), ""))
                          : default_root;
  if (!root) lerr(l, a->off, "%s(): root is required (the directory with the IDX files)", name);
  bool train = v[1] ? v_truthy(l, v[1], a->off) : true;
  if (v[3]) lerr(l, a->off, "%s(): target_transform is not supported", name);
  attrs_set(l, &d->attrs, "__kind__", v_int(l, LD_IDX));
  attrs_set(l, &d->attrs, "root", v_str(l, arena_strdup(l->p->arena, root)));
  attrs_set(l, &d->attrs, "train", v_bool(l, train));
  attrs_set(l, &d->attrs, "__len__", v_int(l, train ? ntrain : ntest));
  Value *norm = v_new(l, V_LIST);
  collect_normalize(l, v[2], norm, a->off);
  attrs_set(l, &d->attrs, "__normalize__", norm);
  return d;
}

B(FashionMNIST) {
  UNUSED(self);
  return idx_dataset(l, a, "FashionMNIST", "/usr/share/datasets/fashion-mnist", 60000, 10000);
}

B(MNIST) {
  UNUSED(self);
  return idx_dataset(l, a, "MNIST", NULL, 60000, 10000);
}

B(CIFAR10) {
  UNUSED(self);
  Value *v[5];
  args_bind(l, "CIFAR10", "root, train=True, transform=None, target_transform=None, download=False", NULL, a, v, 5);
  if (!v[0] || v[0]->k != V_STR) lerr(l, a->off, "CIFAR10(): root must be a string (the directory with the .bin files)");
  Value *d = obj_new(l, "CIFAR10");
  bool train = v[1] ? v_truthy(l, v[1], a->off) : true;
  attrs_set(l, &d->attrs, "__kind__", v_int(l, LD_CIFAR10));
  attrs_set(l, &d->attrs, "root", v_str(l, arena_strdup(l->p->arena, v[0]->s)));
  attrs_set(l, &d->attrs, "train", v_bool(l, train));
  attrs_set(l, &d->attrs, "__len__", v_int(l, train ? 50000 : 10000));
  Value *norm = v_new(l, V_LIST);
  collect_normalize(l, v[2], norm, a->off);
  attrs_set(l, &d->attrs, "__normalize__", norm);
  return d;
}

B(TensorDataset) {
  UNUSED(self);
  if (a->nkw) lerr(l, a->off, "TensorDataset() takes tensors only");
  if (a->npos < 1 || a->npos > 2) lerr(l, a->off, "TensorDataset(): ttc supports one or two tensors (inputs, targets)");
  int64_t n = -1;
  for (int i = 0; i < a->npos; i++) {
    if (a->pos[i]->k != V_TENSOR) lerr(l, a->off, "TensorDataset(): expected tensors, got %s", v_typename(a->pos[i]));
    const Node *nd = node_of(l, a->pos[i]);
    if (nd->shape.rank == 0 || nd->shape.symm) lerr(l, a->off, "TensorDataset(): tensors need a first (sample) dimension");
    if (n >= 0 && nd->shape.d[0] != n) lerr(l, a->off, "Size mismatch between tensors");
    n = nd->shape.d[0];
  }
  Value *d = obj_new(l, "TensorDataset");
  attrs_set(l, &d->attrs, "__kind__", v_int(l, LD_TENSORS));
  attrs_set(l, &d->attrs, "x", a->pos[0]);
  if (a->npos > 1) attrs_set(l, &d->attrs, "y", a->pos[1]);
  attrs_set(l, &d->attrs, "__len__", v_int(l, n));
  attrs_set(l, &d->attrs, "__normalize__", v_new(l, V_LIST));
  return d;
}

/* torch.utils.data.Dataset, the base class of a user's dataset: nothing of its own. */
B(Dataset) {
  if (self) lerr(l, a->off, "a Dataset is indexed, not called");
  return obj_new(l, "Dataset");
}

/*
 * A user's map-style Dataset (a class with __len__ and __getitem__) as a DataLoader sees
 * it. ttc compiles the common shape, whose __getitem__ returns rows of tensors the dataset
 * holds (return self.x[idx], self.y[idx]): __len__ is called (it must be known at compile
 * time), and __getitem__ once with a probe index, noting which tensors the returned rows
 * come from. The loader then gathers batches of those rows, as from a TensorDataset.
 * Anything else a __getitem__ computes per sample is a diagnostic: do it on the batch.
 */
static Value *user_dataset(L *l, Value *ds, int32_t off) {
  Value *getitem = user_method(l, ds, "__getitem__"), *lenm = user_method(l, ds, "__len__");
  if (!getitem || !lenm) lerr(l, off, "DataLoader(): a Dataset class needs __len__ and __getitem__ methods");
  Args none = {.off = off};
  int64_t n = want_int(l, v_call(l, lenm, &none), "the dataset's __len__()", off);
  Value *probe = v_int(l, 0);
  Value *pos[1] = {probe};
  Args ga = {.pos = pos, .npos = 1, .off = off};
  l->row_probe = probe;
  l->nrows = 0;
  Value *r = v_call(l, getitem, &ga);
  l->row_probe = NULL;
  Value *items[2];
  int k = 0;
  if (r && (r->k == V_TUPLE || r->k == V_LIST) && r->n >= 1 && r->n <= 2)
    for (int i = 0; i < r->n; i++) items[k++] = r->items[i];
  else if (r && r->k == V_TENSOR)
    items[k++] = r;
  else
    lerr(l, off, "DataLoader(): ttc compiles a Dataset whose __getitem__ returns one or two tensor rows (return self.x[idx], self.y[idx]), not a %s",
         r ? v_typename(r) : "None");
  Value *src[2];
  for (int i = 0; i < k; i++) {
    src[i] = NULL;
    for (int j = 0; j < l->nrows; j++)
      if (l->rows[j][0] == items[i]) src[i] = l->rows[j][1];
    if (!src[i])
      lerr(l, off, "DataLoader(): item %d of the Dataset's __getitem__ is not a row of a tensor it holds (self.x[idx]); ttc gathers rows into batches, so compute per-sample transforms on the batch instead", i);
    Shape s = tshape(l, src[i]);
    if (s.rank == 0 || s.symm || s.d[0] != n)
      lerr(l, off, "DataLoader(): the Dataset's __len__ is %lld, but item %d comes from a tensor of shape [%lld, ...]", (long long)n, i,
           (long long)(s.rank ? s.d[0] : 0));
  }
  Args ta = {.pos = src, .npos = k, .off = off};
  Value *d = tb_TensorDataset(l, NULL, &ta);
  attrs_set(l, &d->attrs, "__user__", ds);
  return d;
}

B(DataLoader) {
  if (self) lerr(l, a->off, "a DataLoader is iterated, not called");
  Value *v[8];
  args_bind(l, "DataLoader", "dataset, batch_size=1, shuffle=False, drop_last=False, num_workers=0, pin_memory=False, generator=None, sampler=None", NULL, a, v, 8);
  Value *sampler = v[7] && v[7]->k != V_NONE ? v[7] : NULL;
  if (sampler && v[2] && v_truthy(l, v[2], a->off))
    lerr(l, a->off, "sampler option is mutually exclusive with shuffle");
  /* PyTorch draws each epoch's seeds from the loader's generator; these draw from the
     default one, which would give other batches and later numbers */
  if (v[6] && v[6]->k != V_NONE)
    lerr(l, a->off, "DataLoader(): generator= is not supported by ttc yet (the epochs' seeds would come "
                    "from the default generator)");
  Value *ds = v[0], *user_ds = v[0];
  if (ds && ds->k == V_OBJECT && ds->cls && !ds->cls->bi) ds = user_dataset(l, ds, a->off);
  if (!ds || ds->k != V_OBJECT || !attrs_get(&ds->attrs, "__kind__"))
    lerr(l, a->off, "DataLoader(): expected a dataset (FashionMNIST, MNIST, CIFAR10, TensorDataset)");
  int64_t bs = want_int(l, v[1], "batch_size", a->off);
  if (bs < 1) lerr(l, a->off, "batch_size should be a positive integer value, but got batch_size=%lld", (long long)bs);
  Loader ld = {0};
  ld.kind = (LoaderKind)attrs_get(&ds->attrs, "__kind__")->i;
  ld.batch = bs;
  ld.shuffle = v[2] ? v_truthy(l, v[2], a->off) : false;
  ld.drop_last = v[3] ? v_truthy(l, v[3], a->off) : false;
  ld.srcx = ld.srcy = ld.yvar = -1;
  int64_t n = attrs_get(&ds->attrs, "__len__")->i;
  if (bs > n && ld.drop_last) lerr(l, a->off, "DataLoader(): drop_last with a batch larger than the dataset yields nothing");
  Shape xs = {0}, ys = {0};
  xs.symm = ys.symm = 1u;
  DType xdt = DT_F32, ydt = DT_I64;
  bool has_y = true;
  if (ld.kind == LD_TENSORS) {
    Value *x = attrs_get(&ds->attrs, "x"), *y = attrs_get(&ds->attrs, "y");
    const Node *xn = node_of(l, x);
    xs = xn->shape;
    xdt = xn->dtype;
    ld.srcx = tvar(l, x);
    if (y) {
      const Node *yn = node_of(l, y);
      ys = yn->shape;
      ydt = yn->dtype;
      ld.srcy = tvar(l, y);
    } else
      has_y = false;
    ld.n = n;
    xs.symm = 1u;
    ys.symm = 1u;
  } else {
    ld.root = attrs_get(&ds->attrs, "root")->s;
    bool train = attrs_get(&ds->attrs, "train")->i;
    if (ld.kind == LD_IDX) {
      ld.prefix = train ? "train" : "t10k";
      xs = (Shape){.rank = 4, .symm = 1u, .d = {0, 1, 28, 28}};
    } else {
      xs = (Shape){.rank = 4, .symm = 1u, .d = {0, 3, 32, 32}};
    }
    ys = (Shape){.rank = 1, .symm = 1u, .d = {0}};
  }
  xs.d[0] = bs;
  ys.d[0] = bs;
  int id = l->p->nloaders;
  char nm[32];
  snprintf(nm, sizeof nm, "loader%d", id);
  ld.name = arena_strdup(l->p->arena, nm);
  ld.xvar = ir_var_new(l->p, arena_printf(l->p->arena, "%s_x", nm), VAR_VALUE, xdt, xs);
  set_var_loader(l, ld.xvar, id);
  if (has_y) {
    ld.yvar = ir_var_new(l->p, arena_printf(l->p->arena, "%s_y", nm), VAR_VALUE, ydt, ys);
    set_var_loader(l, ld.yvar, id);
  }
  ir_loader_new(l->p, &ld);
  if (!attrs_get(&ds->attrs, "__loader_id__")) attrs_set(l, &ds->attrs, "__loader_id__", v_int(l, id));
  Value *o = obj_new(l, "DataLoader");
  attrs_set(l, &o->attrs, "__loader__", v_int(l, id));
  attrs_set(l, &o->attrs, "dataset", ds);
  attrs_set(l, &o->attrs, "batch_size", v_int(l, bs));
  int64_t nb = ld.drop_last ? n / bs : (n + bs - 1) / bs;
  attrs_set(l, &o->attrs, "__len__", v_int(l, nb));
  if (sampler) dist_loader_sampler(l, o, sampler, user_ds, id, a->off);
  return o;
}

Value *loader_batch(L *l, Value *loader, int32_t off) {
  /* a TensorDataset of one tensor yields [x] batches, as PyTorch's default collate */
  int id = (int)attrs_get(&loader->attrs, "__loader__")->i;
  const Loader *ld = &l->p->loaders[id];
  Value *x = v_new(l, V_TENSOR);
  x->t.var = ld->xvar;
  x->t.leaf = true;
  Value *ds = attrs_get(&loader->attrs, "dataset");
  Value *norm = attrs_get(&ds->attrs, "__normalize__");
  for (int i = 0; norm && i < norm->n; i++) {
    /* (x - mean) / std per channel, as transforms.Normalize */
    Value *mean = attrs_get(&norm->items[i]->attrs, "mean"), *std = attrs_get(&norm->items[i]->attrs, "std");
    int64_t c = node_of(l, x)->shape.d[1];
    Value *mv = bi_call(l, "tensor", NULL, &mean, 1, off), *sv = bi_call(l, "tensor", NULL, &std, 1, off);
    Shape ms = node_of(l, mv)->shape;
    if (ms.rank != 1 || (ms.d[0] != c && ms.d[0] != 1))
      lerr(l, off, "Normalize: mean and std need one value per channel (%lld)", (long long)c);
    Value *shape[3] = {v_int(l, ms.d[0]), v_int(l, 1), v_int(l, 1)};
    Value *tup = v_tuple(l, 3);
    memcpy(tup->items, shape, sizeof shape);
    mv = bi_call(l, "reshape", mv, &tup, 1, off);
    sv = bi_call(l, "reshape", sv, &tup, 1, off);
    x = bi_binop(l, BIN_DIV, bi_binop(l, BIN_SUB, x, mv, off), sv, off);
  }
  if (ld->yvar < 0) {
    Value *one = v_new(l, V_LIST);
    v_list_push(l, one, x);
    return one;
  }
  Value *y = v_new(l, V_TENSOR);
  y->t.var = ld->yvar;
  y->t.leaf = true;
  Value *t = v_tuple(l, 2);
  t->items[0] = x;
  t->items[1] = y;
  return t;
}

/* ---- optimizers ------------------------------------------------------------------------ */

/* The parameters an optimizer is given: a list (model.parameters()) of leaf tensors. */
static Value *param_list(L *l, Value *v, const char *name, int32_t off) {
  if (!v || (v->k != V_LIST && v->k != V_TUPLE)) lerr(l, off, "%s(): params must be a list of tensors (model.parameters())", name);
  if (v->n == 0) lerr(l, off, "optimizer got an empty parameter list");
  for (int i = 0; i < v->n; i++)
    if (v->items[i]->k == V_DICT)
      lerr(l, off, "%s(): parameter groups (a list of dicts with their own options) are not supported "
                   "by ttc yet; use one optimizer per group", name);
  for (int i = 0; i < v->n; i++) {
    Value *p = v->items[i];
    if (p->k != V_TENSOR || p->t.var < 0 || !p->t.leaf || !p->t.requires_grad)
      lerr(l, off, "%s(): can't optimize a non-leaf Tensor or one that does not require grad", name);
  }
  return v;
}

static int state_var(L *l, Value *p, const char *what) {
  const Var *pv = &l->p->vars[p->t.var];
  int v = ir_var_new(l->p, what, VAR_STATE, pv->dtype, pv->shape);
  l->p->vars[v].state_of = p->t.var; /* named after the parameter at the end */
  return v;
}

static Value *optim_new(L *l, const char *cls, Value *params, double lr, int32_t off) {
  Value *o = obj_new(l, cls);
  attrs_set(l, &o->attrs, "__optim__", l->vtrue);
  attrs_set(l, &o->attrs, "params", params);
  /* the learning rate is a host variable: schedulers change it at run time */
  int hv = host_var_for(l, v_float(l, lr), "lr", off);
  attrs_set(l, &o->attrs, "__lr__", v_int(l, hv));
  attrs_set(l, &o->attrs, "__base_lr__", v_float(l, lr));
  char lower[16];
  size_t n = 0;
  for (; cls[n] && n + 1 < sizeof lower; n++) lower[n] = (char)(cls[n] >= 'A' && cls[n] <= 'Z' ? cls[n] + 32 : cls[n]);
  lower[n] = '\0';
  if (!strcmp(lower, "adamw")) lower[4] = '\0'; /* Adam and AdamW share a name, as before */
  int step = ir_var_new(l->p, arena_printf(l->p->arena, "%s_step", lower), VAR_STATE, DT_I64, shape_scalar());
  attrs_set(l, &o->attrs, "__step__", v_int(l, step));
  return o;
}

/*
 * An optimizer's per-parameter state: k named buffers per parameter (PyTorch's state
 * names, as its state_dict() has them), some absent for these options (SGD without
 * momentum has no momentum_buffer). __state__ holds k var ids per parameter, -1 where
 * absent; __snames__ the k names. The step and the state_dict read them the same way for
 * every optimizer.
 */
static void optim_states(L *l, Value *o, Value *ps, const char *const *names, const bool *have, int k) {
  Value *st = v_new(l, V_LIST), *nm = v_new(l, V_LIST);
  for (int j = 0; j < k; j++) v_list_push(l, nm, v_str(l, names[j]));
  for (int i = 0; i < ps->n; i++)
    for (int j = 0; j < k; j++) v_list_push(l, st, v_int(l, have[j] ? state_var(l, ps->items[i], names[j]) : -1));
  attrs_set(l, &o->attrs, "__state__", st);
  attrs_set(l, &o->attrs, "__snames__", nm);
}

B(SGD) {
  if (self) lerr(l, a->off, "an optimizer is not callable; use opt.step()");
  Value *v[6];
  args_bind(l, "SGD", "params, lr, momentum=0, dampening=0, weight_decay=0, nesterov=False", NULL, a, v, 6);
  Value *ps = param_list(l, v[0], "SGD", a->off);
  double lr = want_num(l, v[1], "lr", a->off), mom = want_num(l, v[2], "momentum", a->off);
  double damp = want_num(l, v[3], "dampening", a->off), wd = want_num(l, v[4], "weight_decay", a->off);
  bool nest = v[5] && v_truthy(l, v[5], a->off);
  if (lr < 0) lerr(l, a->off, "Invalid learning rate: %g", lr);
  if (mom < 0) lerr(l, a->off, "Invalid momentum value: %g", mom);
  if (wd < 0) lerr(l, a->off, "Invalid weight_decay value: %g", wd);
  if (nest && (mom <= 0 || damp != 0)) lerr(l, a->off, "Nesterov momentum requires a momentum and zero dampening");
  Value *o = optim_new(l, "SGD", ps, lr, a->off);
  attrs_set(l, &o->attrs, "momentum", v_float(l, mom));
  attrs_set(l, &o->attrs, "dampening", v_float(l, damp));
  attrs_set(l, &o->attrs, "weight_decay", v_float(l, wd));
  attrs_set(l, &o->attrs, "nesterov", v_bool(l, nest));
  optim_states(l, o, ps, (const char *[]){"momentum_buffer"}, (bool[]){mom != 0}, 1);
  return o;
}

static Value *adam_new(L *l, Args *a, const char *cls, bool adamw) {
  Value *v[6];
  args_bind(l, cls, adamw ? "params, lr=0.001, betas=None, eps=1e-08, weight_decay=0.01, amsgrad=False"
                          : "params, lr=0.001, betas=None, eps=1e-08, weight_decay=0, amsgrad=False",
            NULL, a, v, 6);
  Value *ps = param_list(l, v[0], cls, a->off);
  double lr = want_num(l, v[1], "lr", a->off), b1 = 0.9, b2 = 0.999;
  if (v[2]) {
    if ((v[2]->k != V_TUPLE && v[2]->k != V_LIST) || v[2]->n != 2) lerr(l, a->off, "betas must be a pair");
    b1 = want_num(l, v[2]->items[0], "beta1", a->off);
    b2 = want_num(l, v[2]->items[1], "beta2", a->off);
  }
  double eps = want_num(l, v[3], "eps", a->off), wd = want_num(l, v[4], "weight_decay", a->off);
  if (v[5] && v_truthy(l, v[5], a->off)) lerr(l, a->off, "%s(amsgrad=True) is not supported", cls);
  if (lr < 0) lerr(l, a->off, "Invalid learning rate: %g", lr);
  if (eps < 0) lerr(l, a->off, "Invalid epsilon value: %g", eps);
  if (b1 < 0 || b1 >= 1) lerr(l, a->off, "Invalid beta parameter at index 0: %g", b1);
  if (b2 < 0 || b2 >= 1) lerr(l, a->off, "Invalid beta parameter at index 1: %g", b2);
  if (wd < 0) lerr(l, a->off, "Invalid weight_decay value: %g", wd);
  Value *o = optim_new(l, cls, ps, lr, a->off);
  attrs_set(l, &o->attrs, "beta1", v_float(l, b1));
  attrs_set(l, &o->attrs, "beta2", v_float(l, b2));
  attrs_set(l, &o->attrs, "eps", v_float(l, eps));
  attrs_set(l, &o->attrs, "weight_decay", v_float(l, wd));
  attrs_set(l, &o->attrs, "adamw", v_bool(l, adamw));
  optim_states(l, o, ps, (const char *[]){"exp_avg", "exp_avg_sq"}, (bool[]){true, true}, 2);
  return o;
}

B(Adam) {
  if (self) lerr(l, a->off, "an optimizer is not callable; use opt.step()");
  return adam_new(l, a, "Adam", false);
}

B(AdamW) {
  if (self) lerr(l, a->off, "an optimizer is not callable; use opt.step()");
  return adam_new(l, a, "AdamW", true);
}

/* The options every optimizer checks as PyTorch does. */
static void check_lr_wd(L *l, double lr, double eps, double wd, int32_t off) {
  if (lr < 0) lerr(l, off, "Invalid learning rate: %g", lr);
  if (eps < 0) lerr(l, off, "Invalid epsilon value: %g", eps);
  if (wd < 0) lerr(l, off, "Invalid weight_decay value: %g", wd);
}

B(RMSprop) {
  if (self) lerr(l, a->off, "an optimizer is not callable; use opt.step()");
  Value *v[7];
  args_bind(l, "RMSprop", "params, lr=0.01, alpha=0.99, eps=1e-08, weight_decay=0, momentum=0, centered=False", NULL, a, v, 7);
  Value *ps = param_list(l, v[0], "RMSprop", a->off);
  double lr = want_num(l, v[1], "lr", a->off), alpha = want_num(l, v[2], "alpha", a->off);
  double eps = want_num(l, v[3], "eps", a->off), wd = want_num(l, v[4], "weight_decay", a->off);
  double mom = want_num(l, v[5], "momentum", a->off);
  bool centered = want_bool(l, v[6], a->off);
  check_lr_wd(l, lr, eps, wd, a->off);
  if (mom < 0) lerr(l, a->off, "Invalid momentum value: %g", mom);
  if (alpha < 0) lerr(l, a->off, "Invalid alpha value: %g", alpha);
  Value *o = optim_new(l, "RMSprop", ps, lr, a->off);
  attrs_set(l, &o->attrs, "alpha", v_float(l, alpha));
  attrs_set(l, &o->attrs, "eps", v_float(l, eps));
  attrs_set(l, &o->attrs, "weight_decay", v_float(l, wd));
  attrs_set(l, &o->attrs, "momentum", v_float(l, mom));
  attrs_set(l, &o->attrs, "centered", v_bool(l, centered));
  optim_states(l, o, ps, (const char *[]){"square_avg", "momentum_buffer", "grad_avg"},
               (bool[]){true, mom > 0, centered}, 3);
  return o;
}

B(Adagrad) {
  if (self) lerr(l, a->off, "an optimizer is not callable; use opt.step()");
  Value *v[6];
  args_bind(l, "Adagrad", "params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10", NULL, a, v, 6);
  Value *ps = param_list(l, v[0], "Adagrad", a->off);
  double lr = want_num(l, v[1], "lr", a->off), decay = want_num(l, v[2], "lr_decay", a->off);
  double wd = want_num(l, v[3], "weight_decay", a->off), init = want_num(l, v[4], "initial_accumulator_value", a->off);
  double eps = want_num(l, v[5], "eps", a->off);
  check_lr_wd(l, lr, eps, wd, a->off);
  if (decay < 0) lerr(l, a->off, "Invalid lr_decay value: %g", decay);
  if (init < 0) lerr(l, a->off, "Invalid initial_accumulator_value value: %g", init);
  Value *o = optim_new(l, "Adagrad", ps, lr, a->off);
  attrs_set(l, &o->attrs, "lr_decay", v_float(l, decay));
  attrs_set(l, &o->attrs, "eps", v_float(l, eps));
  attrs_set(l, &o->attrs, "weight_decay", v_float(l, wd));
  optim_states(l, o, ps, (const char *[]){"sum"}, (bool[]){true}, 1);
  /* state['sum'] = torch.full_like(p, initial_accumulator_value): state starts at 0 */
  Value *st = attrs_get(&o->attrs, "__state__");
  for (int i = 0; init != 0 && i < ps->n; i++) {
    Value *p = ps->items[i];
    Value *f = filled(l, tshape(l, p), tdtype(l, p), init, a->off);
    Attr sa = {0};
    sa.var = (int)st->items[i]->i;
    int32_t in = tnode(l, f);
    add_node(l, OP_STORE, &in, 1, &sa, a->off);
  }
  return o;
}

B(Adadelta) {
  if (self) lerr(l, a->off, "an optimizer is not callable; use opt.step()");
  Value *v[5];
  args_bind(l, "Adadelta", "params, lr=1.0, rho=0.9, eps=1e-06, weight_decay=0", NULL, a, v, 5);
  Value *ps = param_list(l, v[0], "Adadelta", a->off);
  double lr = want_num(l, v[1], "lr", a->off), rho = want_num(l, v[2], "rho", a->off);
  double eps = want_num(l, v[3], "eps", a->off), wd = want_num(l, v[4], "weight_decay", a->off);
  check_lr_wd(l, lr, eps, wd, a->off);
  if (rho < 0 || rho > 1) lerr(l, a->off, "Invalid rho value: %g", rho);
  Value *o = optim_new(l, "Adadelta", ps, lr, a->off);
  attrs_set(l, &o->attrs, "rho", v_float(l, rho));
  attrs_set(l, &o->attrs, "eps", v_float(l, eps));
  attrs_set(l, &o->attrs, "weight_decay", v_float(l, wd));
  optim_states(l, o, ps, (const char *[]){"square_avg", "acc_delta"}, (bool[]){true, true}, 2);
  return o;
}

static int input_of_var(L *l, int var, int32_t off) {
  Value *t = v_new(l, V_TENSOR);
  t->t.var = var;
  return tnode(l, t);
  (void)off;
}

static Value *lr_value(L *l, Value *opt) {
  HostExpr *e = ir_hx(l->p, HX_VAR);
  e->hvar = (int)attrs_get(&opt->attrs, "__lr__")->i;
  e->isfloat = true;
  return v_host(l, e);
}

B(optim_step) {
  Value *v[2];
  args_bind(l, "step", "self, closure=None", self, a, v, 2);
  if (v[1]) lerr(l, a->off, "step(closure) is not supported");
  Value *o = self;
  Value *ps = attrs_get(&o->attrs, "params"), *st = attrs_get(&o->attrs, "__state__");
  Value *lr = host_to_tensor(l, lr_value(l, o), DT_F64, a->off);
  /* the step count lives in the graph: step += 1, then the updates read it */
  int stepvar = (int)attrs_get(&o->attrs, "__step__")->i;
  int32_t sin = input_of_var(l, stepvar, a->off);
  Value *one = bi_call(l, "tensor", NULL, (Value *[]){v_int(l, 1)}, 1, a->off);
  int32_t add_in[2] = {sin, tnode(l, one)};
  int step = add_node(l, OP_ADD, add_in, 2, NULL, a->off);
  Attr sa = {0};
  sa.var = stepvar;
  int32_t store_in = step;
  add_node(l, OP_STORE, &store_in, 1, &sa, a->off);
  const char *cls = o->cls->s;
  int k = attrs_get(&o->attrs, "__snames__")->n;
  bool sgd = !strcmp(cls, "SGD");
  Op op = sgd ? OP_SGD_STEP : !strcmp(cls, "RMSprop") ? OP_RMSPROP_STEP : !strcmp(cls, "Adagrad") ? OP_ADAGRAD_STEP
        : !strcmp(cls, "Adadelta") ? OP_ADADELTA_STEP : OP_ADAM_STEP;
  bool saved = l->no_grad;
  l->no_grad = true;
  for (int i = 0; i < ps->n; i++) {
    Value *p = ps->items[i];
    if (!p->t.grad) continue; /* PyTorch skips parameters without a .grad */
    Attr at = {0};
    int32_t in[8];
    int64_t vars[4];
    int nin = 0, nv = 0;
    in[nin++] = tnode(l, p);
    in[nin++] = tnode(l, p->t.grad);
    vars[nv++] = p->t.var;
    if (sgd) in[nin++] = tnode(l, lr), in[nin++] = step; /* SGD: lr and step before its buffer */
    for (int j = 0; j < k; j++) {
      int sv = (int)st->items[i * k + j]->i;
      if (sv < 0) continue;
      in[nin++] = input_of_var(l, sv, a->off);
      vars[nv++] = sv;
    }
    if (!sgd) in[nin++] = tnode(l, lr), in[nin++] = step;
    at.ints = vars;
    at.nints = nv;
    switch (op) {
    case OP_SGD_STEP:
      at.f[0] = attrs_get(&o->attrs, "momentum")->f;
      at.f[1] = attrs_get(&o->attrs, "dampening")->f;
      at.f[2] = attrs_get(&o->attrs, "weight_decay")->f;
      at.i[0] = attrs_get(&o->attrs, "nesterov")->i;
      break;
    case OP_ADAM_STEP:
      at.f[0] = attrs_get(&o->attrs, "beta1")->f;
      at.f[1] = attrs_get(&o->attrs, "beta2")->f;
      at.f[2] = attrs_get(&o->attrs, "eps")->f;
      at.f[3] = attrs_get(&o->attrs, "weight_decay")->f;
      at.i[0] = attrs_get(&o->attrs, "adamw")->i;
      break;
    case OP_RMSPROP_STEP:
      at.f[0] = attrs_get(&o->attrs, "alpha")->f;
      at.f[1] = attrs_get(&o->attrs, "eps")->f;
      at.f[2] = attrs_get(&o->attrs, "weight_decay")->f;
      at.f[3] = attrs_get(&o->attrs, "momentum")->f;
      at.i[0] = attrs_get(&o->attrs, "centered")->i;
      break;
    case OP_ADAGRAD_STEP:
      at.f[0] = attrs_get(&o->attrs, "lr_decay")->f;
      at.f[1] = attrs_get(&o->attrs, "eps")->f;
      at.f[2] = attrs_get(&o->attrs, "weight_decay")->f;
      break;
    default: /* OP_ADADELTA_STEP */
      at.f[0] = attrs_get(&o->attrs, "rho")->f;
      at.f[1] = attrs_get(&o->attrs, "eps")->f;
      at.f[2] = attrs_get(&o->attrs, "weight_decay")->f;
      break;
    }
    add_node(l, op, in, nin, &at, a->off);
    p->t.graph = -1; /* the parameter changed in place: read its variable again */
  }
  l->no_grad = saved;
  return l->none;
}

B(optim_zero_grad) {
  Value *v[2];
  args_bind(l, "zero_grad", "self, set_to_none=False", self, a, v, 2);
  if (v[1] && v_truthy(l, v[1], a->off)) none_param_grads(l, attrs_get(&self->attrs, "params"), a->off);
  else zero_param_grads(l, attrs_get(&self->attrs, "params"), a->off);
  return l->none;
}

/* ---- learning-rate schedulers ------------------------------------------------------------ */

static Value *sched_new(L *l, const char *cls, Value *opt, int32_t off) {
  if (!opt || opt->k != V_OBJECT || !attrs_get(&opt->attrs, "__optim__"))
    lerr(l, off, "%s(): expected an optimizer", cls);
  Value *s = obj_new(l, cls);
  attrs_set(l, &s->attrs, "__sched__", l->vtrue);
  attrs_set(l, &s->attrs, "optimizer", opt);
  int hv = host_var_for(l, v_int(l, 0), "last_epoch", off);
  attrs_set(l, &s->attrs, "__epoch__", v_int(l, hv));
  return s;
}

/* The learning rate at epoch e (a host expression), closed form of PyTorch's rule. */
static Value *sched_lr(L *l, Value *s, Value *e, int32_t off) {
  Value *opt = attrs_get(&s->attrs, "optimizer");
  Value *base = attrs_get(&opt->attrs, "__base_lr__");
  const char *k = s->cls->s;
  if (!strcmp(k, "CosineAnnealingLR")) {
    Value *tmax = attrs_get(&s->attrs, "T_max"), *emin = attrs_get(&s->attrs, "eta_min");
    /* eta_min + (base - eta_min) * (1 + cos(pi * e / T_max)) / 2 */
    Value *ang = bi_binop(l, BIN_DIV, bi_binop(l, BIN_MUL, v_float(l, 3.14159265358979323846), e, off), tmax, off);
    Value *c = host_call1(l, HU_COS, ang, off);
    Value *f = bi_binop(l, BIN_DIV, bi_binop(l, BIN_ADD, v_float(l, 1), c, off), v_float(l, 2), off);
    return bi_binop(l, BIN_ADD, emin, bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, base, emin, off), f, off), off);
  }
  if (!strcmp(k, "StepLR")) {
    Value *ss = attrs_get(&s->attrs, "step_size"), *g = attrs_get(&s->attrs, "gamma");
    return bi_binop(l, BIN_MUL, base, bi_binop(l, BIN_POW, g, bi_binop(l, BIN_FLOORDIV, e, ss, off), off), off);
  }
  if (!strcmp(k, "ExponentialLR")) {
    Value *g = attrs_get(&s->attrs, "gamma");
    return bi_binop(l, BIN_MUL, base, bi_binop(l, BIN_POW, g, e, off), off);
  }
  if (!strcmp(k, "MultiStepLR")) { /* base * gamma ** (milestones passed) */
    Value *ms = attrs_get(&s->attrs, "milestones"), *g = attrs_get(&s->attrs, "gamma"), *count = v_int(l, 0);
    for (int i = 0; i < ms->n; i++)
      count = bi_binop(l, BIN_ADD, count, bi_compare(l, CMP_GE, e, ms->items[i], off), off);
    return bi_binop(l, BIN_MUL, base, bi_binop(l, BIN_POW, g, count, off), off);
  }
  if (!strcmp(k, "LambdaLR")) { /* base * lr_lambda(epoch): the function traced on the epoch */
    Value *f = attrs_get(&s->attrs, "lr_lambda");
    Value *r = v_call(l, f, &(Args){.pos = &e, .npos = 1, .off = off});
    if (r->k != V_INT && r->k != V_FLOAT && r->k != V_BOOL && r->k != V_HOST)
      lerr(l, off, "LambdaLR(): lr_lambda must return a number, got %s", v_typename(r));
    return bi_binop(l, BIN_MUL, base, r, off);
  }
  if (!strcmp(k, "CosineAnnealingWarmRestarts")) { /* T_mult 1: the cosine restarts every T_0 */
    Value *t0 = attrs_get(&s->attrs, "T_0"), *emin = attrs_get(&s->attrs, "eta_min");
    Value *tcur = bi_binop(l, BIN_MOD, e, t0, off);
    Value *ang = bi_binop(l, BIN_DIV, bi_binop(l, BIN_MUL, v_float(l, 3.14159265358979323846), tcur, off), t0, off);
    Value *c = host_call1(l, HU_COS, ang, off);
    Value *fr = bi_binop(l, BIN_DIV, bi_binop(l, BIN_ADD, v_float(l, 1), c, off), v_float(l, 2), off);
    return bi_binop(l, BIN_ADD, emin, bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, base, emin, off), fr, off), off);
  }
  /* LinearLR: base * (start + (end - start) * min(e, total) / total) */
  Value *sf = attrs_get(&s->attrs, "start_factor"), *ef = attrs_get(&s->attrs, "end_factor");
  Value *tot = attrs_get(&s->attrs, "total_iters");
  Value *pos[2] = {e, tot};
  Value *m = bi_call(l, "min", NULL, pos, 2, off);
  Value *frac = bi_binop(l, BIN_DIV, m, tot, off);
  Value *fac = bi_binop(l, BIN_ADD, sf, bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, ef, sf, off), frac, off), off);
  return bi_binop(l, BIN_MUL, base, fac, off);
}

static Value *epoch_value(L *l, Value *s) {
  HostExpr *e = ir_hx(l->p, HX_VAR);
  e->hvar = (int)attrs_get(&s->attrs, "__epoch__")->i;
  return v_host(l, e);
}

/* A scheduler's length (T_max, step_size, total_iters): a number checked here, or a host
 * value such as epochs * len(loader), known only when the program runs and used as it is
 * (the rate is a host expression anyway; PyTorch does not check these either). */
static Value *sched_len(L *l, Value *v, const char *cls, const char *what, bool integral, int32_t off) {
  if (v && v->k == V_HOST) return v;
  double n = integral ? (double)want_int(l, v, what, off) : want_num(l, v, what, off);
  if (n <= 0) lerr(l, off, "%s(): %s must be positive", cls, what);
  return integral ? v_int(l, (int64_t)n) : v_float(l, n);
}

B(CosineAnnealingLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *v[3];
  args_bind(l, "CosineAnnealingLR", "optimizer, T_max, eta_min=0", NULL, a, v, 3);
  Value *s = sched_new(l, "CosineAnnealingLR", v[0], a->off);
  attrs_set(l, &s->attrs, "T_max", sched_len(l, v[1], "CosineAnnealingLR", "T_max", false, a->off));
  attrs_set(l, &s->attrs, "eta_min", v_float(l, want_num(l, v[2], "eta_min", a->off)));
  return s;
}

B(StepLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *v[3];
  args_bind(l, "StepLR", "optimizer, step_size, gamma=0.1", NULL, a, v, 3);
  Value *s = sched_new(l, "StepLR", v[0], a->off);
  attrs_set(l, &s->attrs, "step_size", sched_len(l, v[1], "StepLR", "step_size", true, a->off));
  attrs_set(l, &s->attrs, "gamma", v_float(l, want_num(l, v[2], "gamma", a->off)));
  return s;
}

B(ExponentialLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *v[2];
  args_bind(l, "ExponentialLR", "optimizer, gamma", NULL, a, v, 2);
  Value *s = sched_new(l, "ExponentialLR", v[0], a->off);
  attrs_set(l, &s->attrs, "gamma", v_float(l, want_num(l, v[1], "gamma", a->off)));
  return s;
}

B(LinearLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *v[4];
  args_bind(l, "LinearLR", "optimizer, start_factor=0.3333333333333333, end_factor=1.0, total_iters=5", NULL, a, v, 4);
  Value *s = sched_new(l, "LinearLR", v[0], a->off);
  double sf = want_num(l, v[1], "start_factor", a->off), ef = want_num(l, v[2], "end_factor", a->off);
  if (sf <= 0 || sf > 1) lerr(l, a->off, "Starting multiplicative factor expected to be greater than 0 and less or equal to 1.");
  attrs_set(l, &s->attrs, "start_factor", v_float(l, sf));
  attrs_set(l, &s->attrs, "end_factor", v_float(l, ef));
  attrs_set(l, &s->attrs, "total_iters", sched_len(l, v[3], "LinearLR", "total_iters", true, a->off));
  /* like PyTorch, the scheduler sets the first learning rate when it is made */
  Value *opt = attrs_get(&s->attrs, "optimizer");
  host_assign(l, (int)attrs_get(&opt->attrs, "__lr__")->i, sched_lr(l, s, v_int(l, 0), a->off), a->off);
  return s;
}

/* MultiStepLR(optimizer, milestones, gamma=0.1) */
B(MultiStepLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *v[3];
  args_bind(l, "MultiStepLR", "optimizer, milestones, gamma=0.1", NULL, a, v, 3);
  Value *s = sched_new(l, "MultiStepLR", v[0], a->off);
  if (!v[1] || (v[1]->k != V_LIST && v[1]->k != V_TUPLE)) lerr(l, a->off, "MultiStepLR(): milestones must be a list of ints");
  for (int i = 0; i < v[1]->n; i++) want_int(l, v[1]->items[i], "milestone", a->off);
  attrs_set(l, &s->attrs, "milestones", v[1]);
  attrs_set(l, &s->attrs, "gamma", v_float(l, want_num(l, v[2], "gamma", a->off)));
  return s;
}

/* LambdaLR / MultiplicativeLR(optimizer, lr_lambda): a function of the epoch (a def or a
 * lambda), called on the run-time epoch, so its body must be arithmetic on it. */
static Value *lambda_sched(L *l, Args *a, const char *cls) {
  Value *v[2];
  args_bind(l, cls, "optimizer, lr_lambda", NULL, a, v, 2);
  Value *s = sched_new(l, cls, v[0], a->off);
  Value *f = v[1];
  if (f && (f->k == V_LIST || f->k == V_TUPLE)) { /* one per param group: ttc has one */
    if (f->n != 1) lerr(l, a->off, "%s(): expected 1 lr_lambda, but got %d", cls, f->n);
    f = f->items[0];
  }
  if (!f || (f->k != V_FUNC && f->k != V_METHOD && f->k != V_BUILTIN)) lerr(l, a->off, "%s(): lr_lambda must be a function", cls);
  attrs_set(l, &s->attrs, "lr_lambda", f);
  return s;
}

B(LambdaLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *s = lambda_sched(l, a, "LambdaLR");
  /* like PyTorch, the scheduler sets the first learning rate when it is made */
  Value *opt = attrs_get(&s->attrs, "optimizer");
  host_assign(l, (int)attrs_get(&opt->attrs, "__lr__")->i, sched_lr(l, s, v_int(l, 0), a->off), a->off);
  return s;
}

B(MultiplicativeLR) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  return lambda_sched(l, a, "MultiplicativeLR");
}

B(CosineAnnealingWarmRestarts) {
  if (self) lerr(l, a->off, "a scheduler is not callable; use sched.step()");
  Value *v[4];
  args_bind(l, "CosineAnnealingWarmRestarts", "optimizer, T_0, T_mult=1, eta_min=0", NULL, a, v, 4);
  Value *s = sched_new(l, "CosineAnnealingWarmRestarts", v[0], a->off);
  int64_t t0 = want_int(l, v[1], "T_0", a->off), tm = v[2] ? want_int(l, v[2], "T_mult", a->off) : 1;
  if (t0 <= 0) lerr(l, a->off, "Expected positive integer T_0, but got %lld", (long long)t0);
  if (tm < 1) lerr(l, a->off, "Expected integer T_mult >= 1, but got %lld", (long long)tm);
  if (tm != 1) lerr(l, a->off, "CosineAnnealingWarmRestarts(T_mult=%lld) is not supported by ttc (T_mult=1 is)", (long long)tm);
  attrs_set(l, &s->attrs, "T_0", v_int(l, t0));
  attrs_set(l, &s->attrs, "eta_min", v_float(l, want_num(l, v[3], "eta_min", a->off)));
  return s;
}

B(sched_step) {
  Value *v[2];
  args_bind(l, "step", "self, epoch=None", self, a, v, 2);
  if (v[1]) lerr(l, a->off, "scheduler.step(epoch) is deprecated in PyTorch and not supported");
  Value *e = epoch_value(l, self);
  Value *next = bi_binop(l, BIN_ADD, e, v_int(l, 1), a->off);
  host_assign(l, e->hx->hvar, next, a->off);
  Value *opt = attrs_get(&self->attrs, "optimizer");
  if (!strcmp(self->cls->s, "MultiplicativeLR")) { /* chained: lr *= lr_lambda(epoch) */
    Value *f = attrs_get(&self->attrs, "lr_lambda"), *ep = epoch_value(l, self);
    Value *r = v_call(l, f, &(Args){.pos = &ep, .npos = 1, .off = a->off});
    host_assign(l, (int)attrs_get(&opt->attrs, "__lr__")->i, bi_binop(l, BIN_MUL, lr_value(l, opt), r, a->off), a->off);
    return l->none;
  }
  host_assign(l, (int)attrs_get(&opt->attrs, "__lr__")->i, sched_lr(l, self, epoch_value(l, self), a->off), a->off);
  return l->none;
}

B(get_last_lr) {
  UNUSED(a);
  Value *r = v_new(l, V_LIST);
  v_list_push(l, r, lr_value(l, attrs_get(&self->attrs, "optimizer")));
  return r;
}

/* ---- gradient clipping (torch.nn.utils) -------------------------------------------------- */

static Value *grads_of(L *l, Value *params, const char *fname, int32_t off) {
  if (params && params->k == V_TENSOR) {
    Value *one = v_new(l, V_LIST);
    v_list_push(l, one, params);
    params = one;
  }
  if (!params || (params->k != V_LIST && params->k != V_TUPLE)) lerr(l, off, "%s(): expected parameters", fname);
  Value *gs = v_new(l, V_LIST);
  for (int i = 0; i < params->n; i++) {
    Value *p = params->items[i];
    if (p->k != V_TENSOR) lerr(l, off, "%s(): expected tensors", fname);
    if (p->t.grad) v_list_push(l, gs, p->t.grad);
  }
  return gs;
}

B(clip_grad_norm_) {
  Value *v[4];
  args_bind(l, "clip_grad_norm_", "parameters, max_norm, norm_type=2.0, error_if_nonfinite=False", self, a, v, 4);
  double max_norm = want_num(l, v[1], "max_norm", a->off);
  if (want_num(l, v[2], "norm_type", a->off) != 2.0) lerr(l, a->off, "clip_grad_norm_(): only norm_type=2 is supported");
  Value *gs = grads_of(l, v[0], "clip_grad_norm_", a->off);
  bool saved = l->no_grad;
  l->no_grad = true;
  if (gs->n == 0) {
    l->no_grad = saved;
    return bi_call(l, "tensor", NULL, (Value *[]){v_float(l, 0)}, 1, a->off);
  }
  /* total = ||(||g_1||, ..., ||g_n||)||, as torch.nn.utils.clip_grad_norm_ */
  Value *norms = v_new(l, V_LIST);
  for (int i = 0; i < gs->n; i++) {
    Value *g = gs->items[i];
    Value *sq = bi_binop(l, BIN_MUL, g, g, a->off);
    Value *s = bi_call(l, "sum", sq, NULL, 0, a->off);
    v_list_push(l, norms, bi_call(l, "sqrt", NULL, &s, 1, a->off));
  }
  Value *st = bi_call(l, "stack", NULL, &norms, 1, a->off);
  Value *total = bi_call(l, "sqrt", NULL, (Value *[]){bi_call(l, "sum", bi_binop(l, BIN_MUL, st, st, a->off), NULL, 0, a->off)}, 1, a->off);
  Value *coef = bi_binop(l, BIN_DIV, v_float(l, max_norm), bi_binop(l, BIN_ADD, total, v_float(l, 1e-6), a->off), a->off);
  Args ca = {.pos = (Value *[]){coef}, .npos = 1, .kwnames = (const char *[]){"max"}, .kw = (Value *[]){v_float(l, 1.0)}, .nkw = 1, .off = a->off};
  Value *clamped = bi_lookup("clamp", BI_FUNC)->fn(l, NULL, &ca);
  for (int i = 0; i < gs->n; i++) {
    Value *g = gs->items[i];
    tensor_inplace(l, g, bi_binop(l, BIN_MUL, g, clamped, a->off), a->off);
  }
  l->no_grad = saved;
  return total;
}

B(clip_grad_value_) {
  Value *v[2];
  args_bind(l, "clip_grad_value_", "parameters, clip_value", self, a, v, 2);
  double cv = want_num(l, v[1], "clip_value", a->off);
  Value *gs = grads_of(l, v[0], "clip_grad_value_", a->off);
  bool saved = l->no_grad;
  l->no_grad = true;
  for (int i = 0; i < gs->n; i++) {
    Value *g = gs->items[i];
    Args ca = {.pos = (Value *[]){g}, .npos = 1, .kwnames = (const char *[]){"min", "max"},
               .kw = (Value *[]){v_float(l, -cv), v_float(l, cv)}, .nkw = 2, .off = a->off};
    tensor_inplace(l, g, bi_lookup("clamp", BI_FUNC)->fn(l, NULL, &ca), a->off);
  }
  l->no_grad = saved;
  return l->none;
}

/* ---- state_dict and checkpoints ----------------------------------------------------------- */

/* A state dict is a V_DICT of key -> tensor, in PyTorch's order. */
/* PyTorch's state_dict order: a module's parameters, then its persistent buffers
 * ("__buffers__", e.g. BatchNorm's running statistics), then each child's, recursively.
 * The tensors are held without autograd (PyTorch detaches them). */
static void state_entries(L *l, Value *m, const char *prefix, Value *d) {
  Value *bufs = attrs_get(&m->attrs, "__buffers__"), *np = attrs_get(&m->attrs, "__nonpersistent__");
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < (pass == 0 ? m->attrs.n : bufs ? bufs->n : 0); i++) {
      /* parameters in attribute order, then persistent buffers in registration order */
      const char *key = pass == 0 ? m->attrs.keys[i] : bufs->items[i]->s;
      Value *v = pass == 0 ? m->attrs.vals[i] : attrs_get(&m->attrs, key);
      bool want = v && v->k == V_TENSOR && (pass == 1 || v->t.param);
      for (int b = 0; pass == 1 && np && b < np->n; b++) want &= strcmp(np->items[b]->s, key) != 0;
      if (!want) continue;
      v_list_push(l, d, v_str(l, *prefix ? arena_printf(l->arena, "%s.%s", prefix, key) : key));
      Value *t = v_new(l, V_TENSOR);
      t->t = v->t;
      t->t.param = t->t.requires_grad = false;
      t->t.gradfn = NULL;
      t->t.grad = NULL;
      v_list_push(l, d, t);
    }
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    const char *key = m->attrs.keys[i];
    if (v->k == V_OBJECT)
      state_entries(l, v, *prefix ? arena_printf(l->arena, "%s.%s", prefix, key) : key, d);
    else if (v->k == V_LIST && !strcmp(key, "__items__"))
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT && !bi_item_is_attr(m, v->items[k])) /* named: above */
          state_entries(l, v->items[k], *prefix ? arena_printf(l->arena, "%s.%d", prefix, k) : arena_printf(l->arena, "%d", k), d);
  }
}

static Value *module_state_dict(L *l, Value *m) {
  Value *d = v_new(l, V_DICT);
  state_entries(l, m, "", d);
  return d;
}

static Value *var_tensor(L *l, int var) {
  Value *t = v_new(l, V_TENSOR);
  t->t.var = var;
  t->t.leaf = true;
  return t;
}

static Value *optim_state_dict(L *l, Value *o) {
  Value *d = v_new(l, V_DICT);
  Value *ps = attrs_get(&o->attrs, "params"), *st = attrs_get(&o->attrs, "__state__");
  Value *names = attrs_get(&o->attrs, "__snames__");
  for (int i = 0; i < ps->n; i++)
    for (int j = 0; j < names->n; j++) {
      int sv = (int)st->items[i * names->n + j]->i;
      if (sv < 0) continue;
      v_list_push(l, d, v_str(l, arena_printf(l->arena, "state.%d.%s", i, names->items[j]->s)));
      v_list_push(l, d, var_tensor(l, sv));
    }
  v_list_push(l, d, v_str(l, "state.step"));
  v_list_push(l, d, var_tensor(l, (int)attrs_get(&o->attrs, "__step__")->i));
  return d;
}

B(state_dict) {
  UNUSED(a);
  if (attrs_get(&self->attrs, "__optim__")) return optim_state_dict(l, self);
  return module_state_dict(l, self);
}

/* A Python number saved with the tensors ({"epoch": epoch}) travels as a 0-d tensor of
 * its type, marked in the Value's i3 with its kind (Stmt.pykinds: 1 int, 2 float, 3 bool),
 * so that torch.load gives a number back. */
static Value *number_entry(L *l, Value *v, int32_t off) {
  HostExpr *e = hx_of(l, v, off);
  int kind = e->isbool ? 3 : e->isfloat ? 2 : 1;
  Value *t = host_to_tensor(l, v, kind == 3 ? DT_BOOL : kind == 2 ? DT_F64 : DT_I64, off);
  t->i3 = kind;
  return t;
}

/* Flattens nested dicts of tensors and numbers into (key, var) pairs: {"model": sd} ->
 * "model.fc1.weight". */
static void flatten_dict(L *l, Value *d, const char *prefix, Value *keys, Value *vals, int32_t off) {
  for (int i = 0; i + 1 < d->n; i += 2) {
    Value *k = d->items[i], *v = d->items[i + 1];
    if (k->k != V_STR) lerr(l, off, "save(): dictionary keys must be strings");
    const char *key = *prefix ? arena_printf(l->arena, "%s.%s", prefix, k->s) : k->s;
    if (v->k == V_DICT) flatten_dict(l, v, key, keys, vals, off);
    else if (v->k == V_TENSOR || v->k == V_INT || v->k == V_FLOAT || v->k == V_BOOL || v->k == V_HOST) {
      v_list_push(l, keys, v_str(l, key));
      v_list_push(l, vals, v->k == V_TENSOR ? v : number_entry(l, v, off));
    } else
      lerr(l, off, "save(): '%s' is a %s; ttc checkpoints hold tensors, numbers and dicts of them", key,
           v_typename(v));
  }
}

static Stmt *ckpt_stmt(L *l, StmtKind kind, const char *path, Value *keys, Value *vals, int32_t off) {
  /* the graph before must have run, and the one after must see what a load wrote */
  end_graph(l);
  Stmt *st = emit_stmt(l, kind, off);
  st->path = arena_strdup(l->p->arena, path);
  st->nkeys = keys->n;
  st->keys = arena_alloc(l->p->arena, sizeof(char *) * (size_t)(keys->n + 1));
  st->vars = arena_alloc(l->p->arena, sizeof(int) * (size_t)(keys->n + 1));
  for (int i = 0; i < keys->n; i++) {
    st->keys[i] = arena_strdup(l->p->arena, keys->items[i]->s);
    st->vars[i] = vals->items[i]->t.var;
    if (vals->items[i]->i3) {
      if (!st->pykinds) st->pykinds = arena_alloc(l->p->arena, (size_t)keys->n + 1);
      st->pykinds[i] = (unsigned char)vals->items[i]->i3;
    }
  }
  return st;
}

B(save) {
  Value *v[2];
  args_bind(l, "save", "obj, f", self, a, v, 2);
  if (!v[1] || v[1]->k != V_STR) lerr(l, a->off, "save(): the file must be a path string");
  if (!v[0] || (v[0]->k != V_DICT && v[0]->k != V_TENSOR)) lerr(l, a->off, "save(): expected a state_dict (or a dict of them)");
  Value *keys = v_new(l, V_LIST), *vals = v_new(l, V_LIST);
  if (v[0]->k == V_TENSOR) {
    v_list_push(l, keys, v_str(l, "tensor"));
    v_list_push(l, vals, v[0]);
  } else
    flatten_dict(l, v[0], "", keys, vals, a->off);
  for (int i = 0; i < vals->n; i++) tvar(l, vals->items[i]);
  ckpt_stmt(l, ST_SAVE, v[1]->s, keys, vals, a->off);
  /* what the file holds from here on, for torch.load(path)[key] and torch.load of a bare
     tensor later in the program */
  Value *rec = v_tuple(l, 3);
  rec->items[0] = v[1];
  rec->items[1] = v_bool(l, v[0]->k == V_TENSOR);
  rec->items[2] = v_new(l, V_LIST);
  for (int i = 0; i < keys->n; i++) {
    v_list_push(l, rec->items[2], keys->items[i]);
    v_list_push(l, rec->items[2], vals->items[i]);
  }
  if (!l->saves) l->saves = v_new(l, V_LIST);
  v_list_push(l, l->saves, rec);
  return l->none;
}

/*
 * What a checkpoint file holds, known at compile time, so that an entry read by its full
 * key (torch.load(path)["fc.bias"]) or a bare tensor (torch.save(t, path)) can be a tensor
 * of known dtype and shape. Two sources: the last save() to the same path earlier in the
 * program, else the file itself as it is when ttc compiles (its header and entry headers;
 * the run-time load checks every dtype and shape again). Unknown: NULL.
 */
typedef struct CkptEntries {
  int n;
  bool bare;            /* a tensor saved on its own, not a dict */
  const char **keys;
  DType *dtypes;
  Shape *shapes;
  unsigned char *pykinds; /* 0 a tensor, else a Python number (Stmt.pykinds) */
  bool *rg;               /* saved by this program from a tensor that required grad: it loads
                             as a leaf that does, as PyTorch's pickled tensors do (NULL: none) */
} CkptEntries;

static bool read_u32(FILE *f, uint32_t *x) {
  unsigned char b[4];
  if (fread(b, 1, 4, f) != 4) return false;
  *x = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
  return true;
}

static bool read_u64(FILE *f, uint64_t *x) {
  uint32_t lo, hi;
  if (!read_u32(f, &lo) || !read_u32(f, &hi)) return false;
  *x = (uint64_t)hi << 32 | lo;
  return true;
}

/* The entry headers of a ttc checkpoint (docs/CHECKPOINT.md); NULL if the file does not
 * exist or cannot be read as one. */
static CkptEntries *ckpt_file_entries(L *l, const char *path, int32_t off) {
  UNUSED(off);
  /* O_NONBLOCK and a regular-file check: a FIFO in the file's place cannot hang ttc */
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat sb;
  if (fd < 0) return NULL;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return NULL;
  }
  FILE *f = fdopen(fd, "rb");
  if (!f) {
    close(fd);
    return NULL;
  }
  char magic[6];
  uint32_t version = 0, count = 0;
  uint64_t size = 0;
  const char *why = NULL;
  CkptEntries *ce = arena_alloc(l->arena, sizeof *ce);
  if (fread(magic, 1, 6, f) != 6 || memcmp(magic, "TTCKPT", 6)) why = "not a ttc checkpoint (bad magic)";
  else if (!read_u32(f, &version) || version != 1) why = "checkpoint format version is not supported";
  else if (!read_u64(f, &size) || !read_u32(f, &count) || size != (uint64_t)sb.st_size || count > 1000000)
    why = "checkpoint is truncated or corrupted";
  else {
    ce->keys = arena_alloc(l->arena, sizeof(char *) * (count + 1));
    ce->dtypes = arena_alloc(l->arena, sizeof(DType) * (count + 1));
    ce->shapes = arena_alloc(l->arena, sizeof(Shape) * (count + 1));
    ce->pykinds = arena_alloc(l->arena, count + 1);
    for (uint32_t i = 0; i < count && !why; i++) {
      uint32_t klen, dt, rank;
      uint64_t bytes;
      if (!read_u32(f, &klen) || klen > 4096) { why = "checkpoint is corrupted (a key is too long)"; break; }
      char *k = arena_alloc(l->arena, klen + 1);
      if (fread(k, 1, klen, f) != klen || !read_u32(f, &dt) || !read_u32(f, &rank) || dt > 8 ||
          rank > TT_MAX_RANK || (dt > 5 && rank != 0)) {
        why = "checkpoint is corrupted or has a tensor ttc cannot hold";
        break;
      }
      k[klen] = 0;
      Shape sh = shape_scalar();
      sh.rank = (int)rank;
      for (uint32_t d = 0; d < rank && !why; d++) {
        uint64_t x;
        if (!read_u64(f, &x) || x > (uint64_t)INT64_MAX) why = "checkpoint is corrupted (bad dimension)";
        else sh.d[d] = (int64_t)x;
      }
      if (why || !read_u64(f, &bytes) || bytes > (uint64_t)sb.st_size || fseek(f, (long)bytes, SEEK_CUR)) {
        why = why ? why : "checkpoint is truncated or corrupted";
        break;
      }
      ce->keys[i] = k;
      /* codes 6-8: a Python int, float or bool, held as a 0-d int64, float64 or bool */
      ce->pykinds[i] = dt > 5 ? (unsigned char)(dt - 5) : 0;
      ce->dtypes[i] = dt == 6 ? DT_I64 : dt == 7 ? DT_F64 : dt == 8 ? DT_BOOL : (DType)dt;
      ce->shapes[i] = sh;
      ce->n++;
    }
  }
  fclose(f);
  /* a damaged file is the run-time load's to report, with its exact message */
  if (why) return NULL;
  /* torch.save(t, path) stores one entry named "tensor" (docs/CHECKPOINT.md) */
  ce->bare = ce->n == 1 && !strcmp(ce->keys[0], "tensor");
  return ce;
}

static CkptEntries *ckpt_entries(L *l, const char *path, int32_t off) {
  for (int r = l->saves ? l->saves->n - 1 : -1; r >= 0; r--) {
    Value *rec = l->saves->items[r];
    if (strcmp(rec->items[0]->s, path)) continue;
    Value *kv = rec->items[2];
    CkptEntries *ce = arena_alloc(l->arena, sizeof *ce);
    ce->n = kv->n / 2;
    ce->bare = rec->items[1]->i;
    ce->keys = arena_alloc(l->arena, sizeof(char *) * (size_t)(ce->n + 1));
    ce->dtypes = arena_alloc(l->arena, sizeof(DType) * (size_t)(ce->n + 1));
    ce->shapes = arena_alloc(l->arena, sizeof(Shape) * (size_t)(ce->n + 1));
    ce->pykinds = arena_alloc(l->arena, (size_t)ce->n + 1);
    ce->rg = arena_alloc(l->arena, sizeof(bool) * (size_t)(ce->n + 1));
    for (int i = 0; i < ce->n; i++) {
      const Var *v = &l->p->vars[kv->items[2 * i + 1]->t.var];
      ce->pykinds[i] = (unsigned char)kv->items[2 * i + 1]->i3;
      ce->rg[i] = kv->items[2 * i + 1]->t.requires_grad && dt_is_float(v->dtype);
      ce->keys[i] = kv->items[2 * i]->s;
      ce->dtypes[i] = v->dtype;
      ce->shapes[i] = v->shape;
    }
    return ce;
  }
  return ckpt_file_entries(l, path, off);
}

/* Reads every entry of the file into fresh variables, once, as torch.load does; returns
 * a dict from key to tensor. */
static Value *ckpt_materialize(L *l, Value *root, const CkptEntries *ce, int32_t off) {
  Value *d = attrs_get(&root->attrs, "__loaded__");
  if (d) return d;
  d = v_new(l, V_DICT);
  Value *keys = v_new(l, V_LIST), *vals = v_new(l, V_LIST);
  for (int i = 0; i < ce->n; i++) {
    Shape sh = ce->shapes[i];
    if (sh.symm) lerr(l, off, "torch.load(): entry '%s' has a batch dimension", ce->keys[i]);
    int var = ir_var_new(l->p, "loaded", VAR_VALUE, ce->dtypes[i], sh);
    Value *t = var_tensor(l, var);
    t->i3 = ce->pykinds[i];
    v_list_push(l, keys, v_str(l, ce->keys[i]));
    v_list_push(l, vals, t);
  }
  ckpt_stmt(l, ST_LOAD, attrs_get(&root->attrs, "path")->s, keys, vals, off);
  for (int i = 0; i < vals->n; i++) {
    Value *t = vals->items[i];
    t->t.graph = -1;
    v_list_push(l, d, keys->items[i]);
    if (ce->rg && ce->rg[i]) make_leaf(l, t, true, off);
    v_list_push(l, d, t->i3 ? tensor_item(l, t, off) : t); /* a number comes back a number */
  }
  attrs_set(l, &root->attrs, "__loaded__", d);
  return d;
}

B(load) {
  Value *v[2];
  args_bind(l, "load", "f, map_location=None", self, a, v, 2);
  if (!v[0] || v[0]->k != V_STR) lerr(l, a->off, "load(): the file must be a path string");
  Value *c = obj_new(l, "Checkpoint");
  attrs_set(l, &c->attrs, "path", v[0]);
  attrs_set(l, &c->attrs, "prefix", v_str(l, ""));
  CkptEntries *ce = ckpt_entries(l, v[0]->s, a->off);
  if (ce && ce->bare) return ckpt_materialize(l, c, ce, a->off)->items[1];
  return c;
}

B(load_state_dict) {
  Value *v[3];
  args_bind(l, "load_state_dict", "self, state_dict, strict=True", self, a, v, 3);
  Value *c = v[1];
  if (!is_class(c, "Checkpoint")) lerr(l, a->off, "load_state_dict(): expected torch.load(path) (or an entry of it)");
  const char *prefix = attrs_get(&c->attrs, "prefix")->s;
  Value *sd = attrs_get(&self->attrs, "__optim__") ? optim_state_dict(l, self) : module_state_dict(l, self);
  Value *keys = v_new(l, V_LIST), *vals = v_new(l, V_LIST);
  flatten_dict(l, sd, prefix, keys, vals, a->off);
  for (int i = 0; i < vals->n; i++)
    if (vals->items[i]->t.var < 0) tvar(l, vals->items[i]);
  ckpt_stmt(l, ST_LOAD, attrs_get(&c->attrs, "path")->s, keys, vals, a->off);
  for (int i = 0; i < vals->n; i++) vals->items[i]->t.graph = -1; /* read what was loaded */
  return l->none;
}

/* Why a torch.load() result (or an entry of it) is not a value here. */
const char *checkpoint_unknown(L *l, Value *c) {
  const char *path = attrs_get(&c->attrs, "path")->s, *prefix = attrs_get(&c->attrs, "prefix")->s;
  if (ckpt_entries(l, path, 0))
    return arena_printf(l->arena, "a whole checkpoint (or a part of one) cannot be printed or used as a value "
                        "here; index its entries by their full keys");
  return arena_printf(l->arena,
                      "the entries of checkpoint '%s'%s%s%s are not known at compile time: ttc reads "
                      "torch.load(path)[key] as a tensor when the program saved that path earlier, or "
                      "when a ttc checkpoint is there as it compiles; load_state_dict() takes it as it is",
                      path, *prefix ? " (under '" : "", prefix, *prefix ? "')" : "");
}

/* ckpt["model"]: the entries under that prefix. */
Value *checkpoint_index(L *l, Value *c, Value *key, int32_t off) {
  if (key->k != V_STR) lerr(l, off, "checkpoint keys are strings");
  const char *p = attrs_get(&c->attrs, "prefix")->s;
  const char *full = *p ? arena_printf(l->arena, "%s.%s", p, key->s) : key->s;
  Value *root = attrs_get(&c->attrs, "__root__"); /* where the loaded entries are kept */
  if (!root) root = c;
  CkptEntries *ce = ckpt_entries(l, attrs_get(&c->attrs, "path")->s, off);
  if (ce) {
    /* an entry: its tensor; a prefix of entries ("model" of "model.fc.weight"): a
       sub-checkpoint for load_state_dict; else PyTorch's KeyError */
    size_t n = strlen(full);
    bool prefix = false;
    for (int i = 0; i < ce->n; i++) {
      if (!strcmp(ce->keys[i], full)) {
        Value *d = ckpt_materialize(l, root, ce, off);
        return d->items[2 * i + 1];
      }
      if (!strncmp(ce->keys[i], full, n) && ce->keys[i][n] == '.') prefix = true;
    }
    if (!prefix) lerr(l, off, "KeyError: '%s' (%s holds no such entry)", full, attrs_get(&c->attrs, "path")->s);
  }
  Value *r = obj_new(l, "Checkpoint");
  attrs_set(l, &r->attrs, "path", attrs_get(&c->attrs, "path"));
  attrs_set(l, &r->attrs, "prefix", v_str(l, full));
  attrs_set(l, &r->attrs, "__root__", root);
  return r;
}

/* tqdm(loader): a loop over it shows a progress bar (tqdm's look, on stderr). */
B(tqdm) {
  if (self) lerr(l, a->off, "a tqdm bar is iterated, not called");
  Value *v[4];
  args_bind(l, "tqdm", "iterable=None, desc=None, total=None, leave=True", NULL, a, v, 4);
  if (!v[0]) lerr(l, a->off, "tqdm(): an iterable is required");
  if (!(v[0]->k == V_OBJECT && attrs_get(&v[0]->attrs, "__loader__"))) return v[0]; /* no bar */
  Value *o = obj_new(l, "tqdm");
  attrs_set(l, &o->attrs, "__tqdm_of__", v[0]);
  attrs_set(l, &o->attrs, "__loader__", attrs_get(&v[0]->attrs, "__loader__"));
  attrs_set(l, &o->attrs, "dataset", attrs_get(&v[0]->attrs, "dataset"));
  attrs_set(l, &o->attrs, "__len__", attrs_get(&v[0]->attrs, "__len__"));
  if (v[1] && v[1]->k != V_STR && v[1]->k != V_FSTR)
    lerr(l, a->off, "tqdm(): desc must be a string");
  attrs_set(l, &o->attrs, "desc", v[1] ? v[1] : v_str(l, ""));
  return o;
}

/* bar.set_postfix(loss=0.51, acc=...): "loss=0.51, acc=..." after the bar, numbers as
 * tqdm formats them ({:.3g}). */
B(set_postfix) {
  if (a->npos) lerr(l, a->off, "set_postfix(): pass the values as keyword arguments");
  PrintItem *items = arena_alloc(l->p->arena, sizeof(PrintItem) * (size_t)(2 * a->nkw + 1));
  int n = 0;
  for (int k = 0; k < a->nkw; k++) {
    items[n++] = (PrintItem){.text = arena_printf(l->p->arena, "%s%s=", k ? ", " : "", a->kwnames[k]), .var = -1};
    Value *v = a->kw[k];
    if (v->k == V_STR) {
      items[n++] = (PrintItem){.text = arena_strdup(l->p->arena, v->s), .var = -1};
      continue;
    }
    HostExpr *e = hx_of(l, v, a->off);
    if (!e) lerr(l, a->off, "set_postfix(): %s is not a number or a string", a->kwnames[k]);
    items[n++] = (PrintItem){.var = -1, .expr = e, .spec = e->isfloat ? ".3g" : NULL};
  }
  (void)self;
  Stmt *st = emit_host_stmt(l, ST_POSTFIX, a->off);
  st->items = items;
  st->nitems = n;
  return l->none;
}

B(Checkpoint) {
  UNUSED(self);
  lerr(l, a->off, "use torch.load(path)");
}

/* time.time(), time.perf_counter(), time.monotonic(): read when the program runs. */
static Value *clock_value(L *l, Value *self, Args *a, const char *name, int64_t monotonic) {
  UNUSED(self);
  if (a->npos || a->nkw) lerr(l, a->off, "%s() takes no arguments", name);
  HostExpr *e = ir_hx(l->p, HX_CLOCK);
  e->i = monotonic;
  e->isfloat = true;
  return v_host(l, e);
}
B(time) { return clock_value(l, self, a, "time", 0); }
B(perf_counter) { return clock_value(l, self, a, "perf_counter", 1); }
B(monotonic) { return clock_value(l, self, a, "monotonic", 1); }

/* ---- the table --------------------------------------------------------------------------- */

const Builtin train_builtins[] = {
  {"ToTensor", BI_CLASS, tb_ToTensor, 0},
  {"Normalize", BI_CLASS, tb_Normalize, 0},
  {"Compose", BI_CLASS, tb_Compose, 0},
  {"FashionMNIST", BI_CLASS, tb_FashionMNIST, 0},
  {"MNIST", BI_CLASS, tb_MNIST, 0},
  {"CIFAR10", BI_CLASS, tb_CIFAR10, 0},
  {"TensorDataset", BI_CLASS, tb_TensorDataset, 0},
  {"Dataset", BI_CLASS, tb_Dataset, 0},
  {"DataLoader", BI_CLASS, tb_DataLoader, 0},
  {"SGD", BI_CLASS, tb_SGD, 0},
  {"Adam", BI_CLASS, tb_Adam, 0},
  {"AdamW", BI_CLASS, tb_AdamW, 0},
  {"RMSprop", BI_CLASS, tb_RMSprop, 0},
  {"Adagrad", BI_CLASS, tb_Adagrad, 0},
  {"Adadelta", BI_CLASS, tb_Adadelta, 0},
  {"CosineAnnealingLR", BI_CLASS, tb_CosineAnnealingLR, 0},
  {"StepLR", BI_CLASS, tb_StepLR, 0},
  {"ExponentialLR", BI_CLASS, tb_ExponentialLR, 0},
  {"LinearLR", BI_CLASS, tb_LinearLR, 0},
  {"MultiStepLR", BI_CLASS, tb_MultiStepLR, 0},
  {"LambdaLR", BI_CLASS, tb_LambdaLR, 0},
  {"MultiplicativeLR", BI_CLASS, tb_MultiplicativeLR, 0},
  {"CosineAnnealingWarmRestarts", BI_CLASS, tb_CosineAnnealingWarmRestarts, 0},
  {"Checkpoint", BI_CLASS, tb_Checkpoint, 0},
  {"time", BI_FUNC, tb_time, 0},
  {"perf_counter", BI_FUNC, tb_perf_counter, 0},
  {"monotonic", BI_FUNC, tb_monotonic, 0},
  {"tqdm", BI_CLASS, tb_tqdm, 0},
  {"clip_grad_norm_", BI_FUNC, tb_clip_grad_norm_, 0},
  {"clip_grad_value_", BI_FUNC, tb_clip_grad_value_, 0},
  {"save", BI_FUNC, tb_save, 0},
  {"load", BI_FUNC, tb_load, 0},
  /* methods, found through train_getattr */
  {"step", 0, tb_optim_step, 0},
  {"zero_grad", 0, tb_optim_zero_grad, 0},
  {"step", 0, tb_sched_step, 0},
  {"get_last_lr", 0, tb_get_last_lr, 0},
  {"state_dict", 0, tb_state_dict, 0},
  {"load_state_dict", 0, tb_load_state_dict, 0},
  {"set_postfix", 0, tb_set_postfix, 0},
};
const int train_nbuiltins = (int)(sizeof train_builtins / sizeof train_builtins[0]);

static Value *method(L *l, BuiltinFn fn, Value *self) {
  for (int i = 0; i < train_nbuiltins; i++)
    if (train_builtins[i].fn == fn) {
      Value *v = v_new(l, V_BUILTIN);
      v->bi = &train_builtins[i];
      v->self = self;
      v->s = train_builtins[i].name;
      return v;
    }
  tt_unreachable();
}

void train_set_lr(L *l, Value *opt, Value *lr, int32_t off) {
  host_assign(l, (int)attrs_get(&opt->attrs, "__lr__")->i, lr, off);
}

/* Methods and attributes of the objects above (NULL if obj has no such one). */
Value *train_getattr(L *l, Value *obj, const char *name) {
  if (attrs_get(&obj->attrs, "__optim__")) {
    if (!strcmp(name, "step")) return method(l, tb_optim_step, obj);
    if (!strcmp(name, "zero_grad")) return method(l, tb_optim_zero_grad, obj);
    if (!strcmp(name, "state_dict")) return method(l, tb_state_dict, obj);
    if (!strcmp(name, "load_state_dict")) return method(l, tb_load_state_dict, obj);
    if (!strcmp(name, "param_groups")) {
      Value *g = v_new(l, V_DICT);
      g->s = "param_group"; /* g['lr'] = x sets the optimizer's rate (train_set_lr) */
      g->self = obj;
      v_list_push(l, g, v_str(l, "lr"));
      v_list_push(l, g, lr_value(l, obj));
      v_list_push(l, g, v_str(l, "params"));
      v_list_push(l, g, attrs_get(&obj->attrs, "params"));
      Value *r = v_new(l, V_LIST);
      v_list_push(l, r, g);
      return r;
    }
    return NULL;
  }
  if (attrs_get(&obj->attrs, "__sched__")) {
    if (!strcmp(name, "step")) return method(l, tb_sched_step, obj);
    if (!strcmp(name, "get_last_lr")) return method(l, tb_get_last_lr, obj);
    if (!strcmp(name, "optimizer")) return attrs_get(&obj->attrs, "optimizer");
    if (!strcmp(name, "last_epoch")) return epoch_value(l, obj);
    return NULL;
  }
  if (attrs_get(&obj->attrs, "__tqdm_of__")) {
    if (!strcmp(name, "set_postfix")) return method(l, tb_set_postfix, obj);
    return NULL;
  }
  if (attrs_get(&obj->attrs, "__loader__") || attrs_get(&obj->attrs, "__kind__") || is_class(obj, "Checkpoint"))
    return NULL;
  if (!strcmp(name, "state_dict")) return method(l, tb_state_dict, obj);
  if (!strcmp(name, "load_state_dict")) return method(l, tb_load_state_dict, obj);
  return NULL;
}
