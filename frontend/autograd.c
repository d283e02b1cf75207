/*
 * autograd.c — backward() and .grad, zeroing gradients, the in-place tensor methods
 * (zero_, add_, copy_, uniform_, ...), and the losses of torch.nn.functional with their
 * module classes (MSELoss, CrossEntropyLoss, ...).
 *
 * backward() adds one OP_BACKWARD node naming the leaves the loss depends on; the
 * autodiff pass replaces it with the gradient graph. The losses are composed from
 * differentiable ops, so their gradients come from those ops' rules; they carry
 * PyTorch's grad_fn names.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

#define module_new bi_module_new

/* ---- autograd ------------------------------------------------------------------------ */

/* The leaves (variables that require grad) the loss depends on, walking the current
 * graph back from it; ops without a gradient rule and DETACH stop the walk. */
static int loss_leaves(L *l, int loss, int *vars, int max) {
  Graph *g = cur_graph(l);
  bool *seen = xmalloc((size_t)g->n + 1);
  memset(seen, 0, (size_t)g->n + 1);
  seen[loss] = true;
  int n = 0;
  for (int i = loss; i >= 0; i--) {
    if (!seen[i]) continue;
    const Node *nd = &g->nodes[i];
    if (nd->op == OP_INPUT) {
      const Var *v = &l->p->vars[nd->attr.var];
      if (v->requires_grad && v->kind == VAR_PARAM) {
        bool dup = false;
        for (int k = 0; k < n; k++) dup |= vars[k] == nd->attr.var;
        if (!dup && n < max) vars[n++] = nd->attr.var;
      }
      continue;
    }
    if (!ir_ops[nd->op].differentiable) continue;
    for (int k = 0; k < nd->nin; k++) seen[nd->in[k]] = true;
  }
  free(seen);
  /* in variable order, so the emitted code does not depend on the walk */
  for (int i = 1; i < n; i++)
    for (int k = i; k > 0 && vars[k - 1] > vars[k]; k--) {
      int t = vars[k];
      vars[k] = vars[k - 1];
      vars[k - 1] = t;
    }
  return n;
}

B(backward) {
  Value *v[5];
  args_bind(l, "backward", "input, gradient=None, retain_graph=None, create_graph=False, inputs=None", self, a, v, 5);
  Value *loss = want_tensor(l, v[0], "backward", a->off);
  if (v[3] && v_truthy(l, v[3], a->off)) lerr(l, a->off, "backward(create_graph=True) is not supported");
  if (v[4]) lerr(l, a->off, "backward(inputs=...) is not supported");
  if (!loss->t.requires_grad)
    lerr(l, a->off, "element 0 of tensors does not require grad and does not have a grad_fn");
  Shape ls = tshape(l, loss);
  Value *gradient = v[1];
  if (!gradient && shape_numel(&ls) != 1)
    lerr(l, a->off, "grad can be implicitly created only for scalar outputs");
  int32_t in[2] = {tnode(l, loss), -1};
  int nin = 1;
  if (gradient) {
    Value *gt = want_tensor(l, gradient, "backward", a->off);
    Shape gs = tshape(l, gt);
    if (!shape_eq(&gs, &ls)) {
      char b1[64], b2[64];
      lerr(l, a->off, "Mismatch in shape: grad_output[0] has a shape of %s and output[0] has a shape of %s",
           shape_str(&gs, b1, sizeof b1), shape_str(&ls, b2, sizeof b2));
    }
    in[1] = tnode(l, gt);
    nin = 2;
  }
  int vars[1024];
  int n = loss_leaves(l, in[0], vars, 1024);
  int64_t *pairs = arena_alloc(l->arena, sizeof(int64_t) * (size_t)(2 * n + 1));
  for (int k = 0; k < n; k++) {
    Value *leaf = vars[k] < l->nleaves ? l->leaves[vars[k]] : NULL;
    TT_ASSERT(leaf);
    pairs[2 * k] = vars[k];
    /* .grad exists: accumulate into it. Inside a run-time loop always: the buffer starts
     * at zero, and later iterations must add to what earlier ones left. */
    pairs[2 * k + 1] = leaf->t.grad != NULL || (l->loop_depth > 0 && !leaf->t.retain);
    leaf_grad(l, leaf)->t.graph = -1; /* read it again after this backward */
  }
  Attr at = {0};
  at.ints = pairs;
  at.nints = 2 * n;
  add_node(l, OP_BACKWARD, in, nin, &at, a->off);
  if (l->ddps) dist_after_backward(l, vars, n, a->off);
  return l->none;
}

/* x.retain_grad(): a non-leaf keeps its .grad. ttc adds a leaf filled with -0.0 to x here
 * (x + -0.0 is x bit for bit, -0.0 included) and lets every later use of x read the sum, so
 * the gradient reaching that leaf is x's gradient, and x.grad is the leaf's .grad: None
 * until a backward() reaches it, accumulated by the next backward() through the same x.
 * A use of x before retain_grad() would not pass through the leaf: a diagnostic. */
B(retain_grad) {
  Value *v[1];
  args_bind(l, "retain_grad", "self", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "retain_grad", a->off);
  if (!x->t.requires_grad) lerr(l, a->off, "can't retain_grad on Tensor that has requires_grad=False");
  if (x->t.leaf || x->t.retain) return l->none; /* a leaf keeps its .grad anyway */
  Graph *g = cur_graph(l);
  if (x->t.graph != g->id)
    lerr(l, a->off, "retain_grad() on a tensor computed before a run-time loop or if is not "
                    "supported; call it in the block that computes the tensor");
  for (int i = x->t.node + 1; i < g->n; i++)
    for (int k = 0; k < g->nodes[i].nin; k++)
      if (g->nodes[i].in[k] == x->t.node)
        lerr(l, a->off, "retain_grad() on a tensor that is already used by another operation is "
                        "not supported; call it right after computing the tensor");
  const Node *n = tn(l, x);
  Value *z = make_leaf(l, filled(l, n->shape, n->dtype, -0.0, a->off), true, a->off);
  z->t.retain = z;
  int32_t in[2] = {x->t.node, tnode(l, z)};
  x->t.node = add_node(l, OP_ADD, in, 2, NULL, a->off);
  x->t.var = -1;
  x->t.retain = z;
  return l->none;
}

/* The .grad of a leaf, made (a program variable) if it has none yet. */
Value *leaf_grad(L *l, Value *leaf) {
  if (leaf->t.grad) return leaf->t.grad;
  int v = leaf->t.var;
  if (l->p->vars[v].grad < 0) {
    int gv = ir_var_new(l->p, "grad", VAR_GRAD, l->p->vars[v].dtype, l->p->vars[v].shape);
    l->p->vars[gv].grad_of = v;
    l->p->vars[v].grad = gv;
  }
  Value *gval = v_new(l, V_TENSOR);
  gval->t.var = l->p->vars[v].grad;
  gval->t.leaf = true;
  leaf->t.grad = gval;
  return gval;
}

/* Sets every existing .grad of the parameters to zero (PyTorch 1.13's
 * zero_grad(set_to_none=False), the version the tests compare against). Inside a run-time
 * loop every parameter's: the first iteration lowered has no .grad yet, the next ones do. */
void zero_param_grads(L *l, Value *params, int32_t off) {
  for (int i = 0; i < params->n; i++) {
    Value *p = params->items[i];
    if (p->k != V_TENSOR || p->t.var < 0) continue;
    if (!p->t.grad && l->loop_depth > 0 && p->t.requires_grad) leaf_grad(l, p);
    if (!p->t.grad) continue;
    Value *g = p->t.grad;
    const Var *gv = &l->p->vars[g->t.var];
    Value *z = filled(l, gv->shape, gv->dtype, 0, off);
    bool saved = l->no_grad;
    l->no_grad = true;
    tensor_inplace(l, g, z, off);
    l->no_grad = saved;
  }
}

/* zero_grad(set_to_none=True): .grad becomes None; the buffer is zeroed so that the next
 * backward, which may accumulate (inside a run-time loop it always does), starts from 0. */
void none_param_grads(L *l, Value *params, int32_t off) {
  zero_param_grads(l, params, off);
  if (l->loop_depth > 0) return;
  for (int i = 0; i < params->n; i++)
    if (params->items[i]->k == V_TENSOR) params->items[i]->t.grad = NULL;
}

/* In-place tensor methods: the new value computed out of place, then written back. */
static Value *inplace_result(L *l, Value *self, Value *nv, int32_t off) {
  tensor_inplace(l, self, nv, off);
  return self;
}
B(zero_) {
  want_tensor(l, self, "zero_", a->off);
  return inplace_result(l, self, filled(l, tshape(l, self), tdtype(l, self), 0, a->off), a->off);
}
B(fill_) {
  Value *v[2];
  args_bind(l, "fill_", "self, value", self, a, v, 2);
  return inplace_result(l, self, filled(l, tshape(l, self), tdtype(l, self), want_num(l, v[1], "value", a->off), a->off), a->off);
}
/* x.relu_(), x.clamp_(...) & co: the method of the same name without the underscore,
 * written back into x. */
static Value *inplace_of(L *l, Value *self, Args *a, const char *name) {
  const Builtin *b = bi_lookup(name, BI_METHOD);
  TT_ASSERT(b);
  want_tensor(l, self, name, a->off);
  return inplace_result(l, self, b->fn(l, self, a), a->off);
}
#define INPLACE(name) \
  B(name##_) { return inplace_of(l, self, a, #name); }
INPLACE(relu)
INPLACE(clamp)
INPLACE(clip)
INPLACE(abs)
INPLACE(neg)
INPLACE(exp)
INPLACE(log)
INPLACE(sqrt)
INPLACE(rsqrt)
INPLACE(sigmoid)
INPLACE(tanh)
INPLACE(sin)
INPLACE(cos)
INPLACE(pow)
INPLACE(square)
INPLACE(reciprocal)
INPLACE(floor)
INPLACE(ceil)
INPLACE(round)
INPLACE(trunc)
INPLACE(sign)
INPLACE(frac)
INPLACE(log1p)
INPLACE(expm1)
INPLACE(masked_fill)
#undef INPLACE

B(add_) { return inplace_result(l, self, bi_add(l, self, a), a->off); }
B(sub_) { return inplace_result(l, self, bi_sub(l, self, a), a->off); }
B(mul_) { return inplace_result(l, self, bi_mul(l, self, a), a->off); }
B(div_) { return inplace_result(l, self, bi_div(l, self, a), a->off); }
B(copy_) {
  Value *v[2];
  args_bind(l, "copy_", "self, src", self, a, v, 2);
  Value *src = want_tensor(l, v[1], "copy_", a->off);
  Shape s = tshape(l, self);
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  Value *b = shape_eq(&s, &(Shape){0}) ? src : src;
  Shape ss = tshape(l, src);
  if (!shape_eq(&ss, &s)) b = op1(l, OP_EXPAND, src, &at, a->off, NULL);
  return inplace_result(l, self, b, a->off);
}
static Value *random_inplace(L *l, Value *self, Args *a, Op op, const char *fname, const char *sig) {
  Value *v[3];
  args_bind(l, fname, sig, self, a, v, 3);
  self = want_tensor(l, v[0], fname, a->off);
  DType dt = tdtype(l, self);
  if (!dt_is_float(dt)) lerr(l, a->off, "%s(): expected a floating point tensor", fname);
  Attr at = {0};
  at.f[0] = want_num(l, v[1], "a bound", a->off);
  at.f[1] = want_num(l, v[2], "a bound", a->off);
  Value *r = mk_tensor(l, ir_add_source(cur_graph(l), op, dt, tshape(l, self), &at, (Loc){a->off}));
  bool saved = l->no_grad;
  l->no_grad = true; /* nn.init draws without recording history */
  tensor_inplace(l, self, r, a->off);
  l->no_grad = saved;
  return self;
}
B(uniform_) { return random_inplace(l, self, a, OP_UNIFORM, "uniform_", "self, a=0.0, b=1.0"); }
B(normal_) { return random_inplace(l, self, a, OP_NORMAL, "normal_", "self, mean=0.0, std=1.0"); }

/* Whether the call at off is in the header of the `with` statement being lowered: the
 * statement's text starts with the keyword (lower.c sets stmt_off to each statement; a
 * with's body statements have their own). */
static bool in_with_header(L *l, int32_t off) {
  const char *t = l->src->text + l->stmt_off;
  return off > l->stmt_off && (size_t)l->stmt_off + 5 < l->src->len && !strncmp(t, "with", 4) &&
         (t[4] == ' ' || t[4] == '\t' || t[4] == '(');
}

/* torch.set_grad_enabled(mode): as a function, tracing from here on records history or not;
 * as `with torch.set_grad_enabled(False):`, the body runs as under no_grad (lower.c's with
 * restores the mode after it). The mode is the compiler's, so it cannot change inside a
 * run-time loop or branch (traced once), and `with` cannot turn grad back on. */
B(set_grad_enabled) {
  Value *v[1];
  args_bind(l, "set_grad_enabled", "mode", self, a, v, 1);
  if (v[0] && v[0]->k == V_HOST)
    lerr(l, a->off, "set_grad_enabled(): the mode must be known at compile time, but this value is only "
                    "known when the program runs");
  bool on = want_bool(l, v[0], a->off);
  if (in_with_header(l, a->off)) {
    if (on && l->no_grad)
      lerr(l, a->off, "'with torch.set_grad_enabled(True):' inside no_grad is not supported by ttc");
    if (on)
      lerr(l, a->off, "'with torch.set_grad_enabled(True):' is not supported by ttc (gradients are "
                      "already enabled here: drop the with)");
    return bi_call(l, "no_grad", NULL, NULL, 0, a->off);
  }
  if (on == !l->no_grad) return l->none;
  if (l->nregions > 1)
    lerr(l, a->off, "set_grad_enabled(): changing the grad mode inside a run-time loop or branch is not "
                    "supported (ttc traces the body once); use 'with torch.no_grad():'");
  l->no_grad = !on;
  return l->none;
}

B(is_grad_enabled) {
  args_bind(l, "is_grad_enabled", "", self, a, NULL, 0);
  return v_bool(l, !l->no_grad);
}

/* ---- losses (torch.nn.functional), composed from differentiable ops ----------------- */

static Value *reduce_loss(L *l, Value *per, Value *reduction, int32_t off, const char *gradfn) {
  const char *r = reduction && reduction->k == V_STR ? reduction->s : "mean";
  Value *out;
  if (!strcmp(r, "none")) out = per;
  else if (!strcmp(r, "sum")) out = reduce(l, OP_SUM, per, NULL, false, off, NULL);
  else if (!strcmp(r, "mean")) out = reduce(l, OP_MEAN, per, NULL, false, off, NULL);
  else lerr(l, off, "%s is not a valid value for reduction", r);
  if (out->t.requires_grad) out->t.gradfn = gradfn;
  return out;
}

static void same_shape(L *l, Value *x, Value *y, const char *fname, int32_t off) {
  Shape a = tshape(l, x), b = tshape(l, y);
  if (!shape_eq(&a, &b)) {
    char b1[64], b2[64];
    lerr(l, off, "%s: target size %s must be the same as input size %s", fname, shape_str(&b, b1, sizeof b1),
         shape_str(&a, b2, sizeof b2));
  }
}

B(mse_loss) {
  Value *v[3];
  args_bind(l, "mse_loss", "input, target, reduction='mean'", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "mse_loss", a->off), *y = want_tensor(l, v[1], "mse_loss", a->off);
  same_shape(l, x, y, "mse_loss", a->off);
  Value *d = bi_binop(l, BIN_SUB, x, y, a->off);
  return reduce_loss(l, bi_binop(l, BIN_MUL, d, d, a->off), v[2], a->off, "MseLossBackward0");
}

B(l1_loss) {
  Value *v[3];
  args_bind(l, "l1_loss", "input, target, reduction='mean'", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "l1_loss", a->off), *y = want_tensor(l, v[1], "l1_loss", a->off);
  same_shape(l, x, y, "l1_loss", a->off);
  Value *d = bi_binop(l, BIN_SUB, x, y, a->off);
  return reduce_loss(l, op1(l, OP_ABS, d, NULL, a->off, NULL), v[2], a->off, "MeanBackward0");
}

/* smooth_l1_loss (beta) and huber_loss (delta): quadratic below the threshold, linear
 * above, in ATen's order of operations (z = |x - y|). */
static Value *smooth_loss(L *l, Value *self, Args *a, const char *fname, bool huber) {
  Value *v[4];
  args_bind(l, fname, huber ? "input, target, reduction='mean', delta=1.0" : "input, target, reduction='mean', beta=1.0", self, a, v, 4);
  Value *x = want_tensor(l, v[0], fname, a->off), *y = want_tensor(l, v[1], fname, a->off);
  same_shape(l, x, y, fname, a->off);
  double t = want_num(l, v[3], huber ? "delta" : "beta", a->off);
  if (t < 0 || (huber && t == 0)) lerr(l, a->off, "%s does not support negative values for %s", fname, huber ? "delta" : "beta");
  Value *z = op1(l, OP_ABS, bi_binop(l, BIN_SUB, x, y, a->off), NULL, a->off, NULL);
  if (t == 0) return reduce_loss(l, z, v[2], a->off, "SmoothL1LossBackward0");
  Value *tv = to_tensor_dt(l, v_float(l, t), tdtype(l, z), a->off);
  Value *quad = bi_binop(l, BIN_MUL, bi_binop(l, BIN_MUL, v_float(l, 0.5), z, a->off), z, a->off);
  Value *half = bi_binop(l, BIN_MUL, v_float(l, 0.5), tv, a->off);
  Value *lin = bi_binop(l, BIN_SUB, z, half, a->off);
  if (huber) lin = bi_binop(l, BIN_MUL, tv, lin, a->off);
  else quad = bi_binop(l, BIN_DIV, quad, tv, a->off);
  Value *per = bi_select(l, bi_compare(l, CMP_LT, z, tv, a->off), quad, lin, a->off, NULL);
  return reduce_loss(l, per, v[2], a->off, huber ? "HuberLossBackward0" : "SmoothL1LossBackward0");
}
B(smooth_l1_loss) { return smooth_loss(l, self, a, "smooth_l1_loss", false); }
B(huber_loss) { return smooth_loss(l, self, a, "huber_loss", true); }

static Value *one_hot_f(L *l, Value *target, int64_t classes, DType dt, int32_t off) {
  Attr at = {0};
  at.i[0] = classes;
  at.i[1] = dt;
  return op1(l, OP_ONE_HOT, target, &at, off, NULL);
}

B(one_hot) {
  Value *v[2];
  args_bind(l, "one_hot", "input, num_classes=-1", self, a, v, 2);
  Value *t = want_tensor(l, v[0], "one_hot", a->off);
  if (tdtype(l, t) != DT_I64) lerr(l, a->off, "one_hot is only applicable to index tensor (int64)");
  int64_t c = want_int(l, v[1], "num_classes", a->off);
  if (c < 0) lerr(l, a->off, "one_hot(): num_classes must be given in ttc (the class count is part of the shape)");
  return one_hot_f(l, t, c, DT_I64, a->off);
}

/* The options of nll_loss and cross_entropy beyond the reduction. */
typedef struct ClassOpts {
  Value *weight;   /* [C] per-class weights, or NULL */
  Value *ignore;   /* ignore_index when given (its default, -100, is not applied: no class
                      index is negative, and one_hot of a target of -100 is a zero row) */
  double smoothing; /* cross_entropy's label_smoothing */
} ClassOpts;

/* Class scores [N, C, d1, ...] with targets [N, d1, ...] as rows: [N*d1*..., C] and
 * [N*d1*...], the layout the loss computes on (PyTorch's nll_loss_nd). */
static void flatten_classes(L *l, Value **logp, Value **target, const char *fname, int32_t off) {
  Shape xs = tshape(l, *logp), ts = tshape(l, *target);
  if (xs.rank < 3) return;
  bool ok = ts.rank == xs.rank - 1 && ts.d[0] == xs.d[0];
  for (int i = 2; ok && i < xs.rank; i++) ok = ts.d[i - 1] == xs.d[i];
  if (!ok) {
    char b1[64], b2[64];
    lerr(l, off, "%s(): expected target [N, d1, ...] for input [N, C, d1, ...]; got %s and %s", fname,
         shape_str(&xs, b1, sizeof b1), shape_str(&ts, b2, sizeof b2));
  }
  int64_t perm[TT_MAX_RANK];
  perm[0] = 0;
  for (int i = 1; i + 1 < xs.rank; i++) perm[i] = i + 1;
  perm[xs.rank - 1] = 1;
  Value *p = permute_to(l, *logp, perm, xs.rank, off, "PermuteBackward0");
  Value *rows = v_tuple(l, 2);
  rows->items[0] = v_int(l, -1), rows->items[1] = v_int(l, xs.d[1]);
  *logp = bi_call(l, "reshape", p, &rows, 1, off);
  Value *flat = v_int(l, -1);
  *target = bi_call(l, "reshape", *target, &flat, 1, off);
}

/* -w[t] * logp[t] per sample (w = 1 without weights), 0 where the target is ignore_index;
 * 'mean' divides the sum by the summed weights of the samples counted, as PyTorch. */
static Value *nll(L *l, Value *logp, Value *target, Value *reduction, const ClassOpts *o, int32_t off, const char *fname) {
  Shape xs0 = tshape(l, logp), ts0 = tshape(l, target);
  if (tdtype(l, target) != DT_I64)
    lerr(l, off, "%s(): expected class indices of type int64 as target, got %s", fname, dt_torch(tdtype(l, target)));
  flatten_classes(l, &logp, &target, fname, off);
  Shape xs = tshape(l, logp), ts = tshape(l, target);
  bool batched = xs.rank == 2;
  if (!(xs.rank == 2 && ts.rank == 1 && ts.d[0] == xs.d[0]) && !(xs.rank == 1 && ts.rank == 0)) {
    char b1[64], b2[64];
    lerr(l, off, "%s(): expected input [N, C] with target [N], or input [C] with a scalar target; got %s and %s",
         fname, shape_str(&xs, b1, sizeof b1), shape_str(&ts, b2, sizeof b2));
  }
  int64_t classes = xs.d[xs.rank - 1];
  DType dt = tdtype(l, logp);
  Value *valid = NULL, *t = target;
  if (o->ignore) { /* ignored targets become class 0 with a zero mask */
    valid = bi_compare(l, CMP_NE, target, o->ignore, off);
    t = bi_select(l, valid, target, v_int(l, 0), off, NULL);
  }
  Value *oh = one_hot_f(l, t, classes, dt, off);
  Value *dimv = v_int(l, batched ? 1 : 0);
  Value *wt = NULL; /* w[t] per sample */
  if (o->weight) {
    Shape ws = tshape(l, o->weight);
    if (ws.rank != 1 || ws.d[0] != classes)
      lerr(l, off, "%s(): weight tensor should be defined either for all %lld classes or no classes", fname, (long long)classes);
    wt = reduce(l, OP_SUM, bi_binop(l, BIN_MUL, oh, cast(l, o->weight, dt, off), off), dimv, false, off, NULL);
  }
  Value *per;
  if (valid) {
    /* the negated one-hot, all +0 on ignored samples: their loss and their gradient are
       +0, as PyTorch's (a product with a 0/1 mask would give -0 to negative terms) */
    Value *vr = valid;
    if (batched) {
      Value *sh = v_tuple(l, 2);
      sh->items[0] = v_int(l, -1), sh->items[1] = v_int(l, 1);
      vr = bi_call(l, "reshape", valid, &sh, 1, off);
    }
    Value *noh = bi_select(l, vr, bi_unop(l, UN_NEG, oh, off), v_int(l, 0), off, NULL);
    per = reduce(l, OP_SUM, bi_binop(l, BIN_MUL, logp, noh, off), dimv, false, off, NULL);
  } else {
    per = bi_unop(l, UN_NEG, reduce(l, OP_SUM, bi_binop(l, BIN_MUL, logp, oh, off), dimv, false, off, NULL), off);
  }
  if (wt) per = bi_binop(l, BIN_MUL, per, wt, off);
  if (valid) { /* the weights of the samples counted, for the mean */
    Value *vf = cast(l, valid, dt, off);
    wt = wt ? bi_binop(l, BIN_MUL, wt, vf, off) : vf;
  }
  const char *r = reduction && reduction->k == V_STR ? reduction->s : "mean";
  Value *out;
  if (!strcmp(r, "mean") && wt) { /* a weighted mean: by the weights of the counted samples */
    Value *num = reduce(l, OP_SUM, per, NULL, false, off, NULL);
    out = bi_binop(l, BIN_DIV, num, reduce(l, OP_SUM, wt, NULL, false, off, NULL), off);
  } else {
    out = reduce_loss(l, per, reduction, off, "NllLossBackward0");
  }
  if (!strcmp(r, "none") && xs0.rank >= 3) { /* back to [N, d1, ...] */
    Value *sh = v_tuple(l, ts0.rank);
    sh->items[0] = v_int(l, -1);
    for (int i = 1; i < ts0.rank; i++) sh->items[i] = v_int(l, ts0.d[i]);
    out = bi_call(l, "reshape", out, &sh, 1, off);
  }
  if (o->smoothing > 0) {
    /* PyTorch: (1 - e) * nll + e / C * (-sum_c w_c logp_c), the second term reduced like
       the first (ignored samples 0, a mean over the counted samples' weights) */
    Value *lp = logp;
    if (o->weight) lp = bi_binop(l, BIN_MUL, lp, cast(l, o->weight, dt, off), off);
    Value *sm = bi_unop(l, UN_NEG, reduce(l, OP_SUM, lp, dimv, false, off, NULL), off);
    if (valid) sm = bi_select(l, valid, sm, v_int(l, 0), off, NULL);
    Value *sr;
    if (!strcmp(r, "mean") && wt) {
      Value *num = reduce(l, OP_SUM, sm, NULL, false, off, NULL);
      sr = bi_binop(l, BIN_DIV, num, reduce(l, OP_SUM, wt, NULL, false, off, NULL), off);
    } else {
      sr = reduce_loss(l, sm, reduction, off, NULL);
    }
    if (!strcmp(r, "none") && xs0.rank >= 3) sr = bi_call(l, "reshape_as", sr, &out, 1, off);
    Value *kept = bi_binop(l, BIN_MUL, out, v_float(l, 1 - o->smoothing), off);
    out = bi_binop(l, BIN_ADD, kept, bi_binop(l, BIN_MUL, sr, v_float(l, o->smoothing / (double)classes), off), off);
  }
  if (out->t.requires_grad)
    out->t.gradfn = o->smoothing > 0 ? "AddBackward0"
                    : xs0.rank >= 3  ? (!strcmp(r, "none") ? "ViewBackward0" : "NllLoss2DBackward0")
                                     : "NllLossBackward0";
  return out;
}

static void class_opts(L *l, ClassOpts *o, Value *weight, Value *ignore, Value *smoothing, int32_t off) {
  o->weight = weight && weight->k != V_NONE ? want_tensor(l, weight, "weight", off) : NULL;
  o->ignore = NULL;
  if (ignore && !(ignore->k == V_INT && ignore->i == -100)) o->ignore = v_int(l, want_int(l, ignore, "ignore_index", off));
  o->smoothing = smoothing ? want_num(l, smoothing, "label_smoothing", off) : 0;
  if (o->smoothing < 0 || o->smoothing > 1) lerr(l, off, "label_smoothing must be between 0.0 and 1.0. Got: %g", o->smoothing);
}

B(nll_loss) {
  Value *v[5];
  args_bind(l, "nll_loss", "input, target, weight=None, ignore_index=-100, reduction='mean'", self, a, v, 5);
  ClassOpts o;
  class_opts(l, &o, v[2], v[3], NULL, a->off);
  return nll(l, want_tensor(l, v[0], "nll_loss", a->off), want_tensor(l, v[1], "nll_loss", a->off), v[4], &o, a->off, "nll_loss");
}

B(cross_entropy) {
  Value *v[6];
  args_bind(l, "cross_entropy", "input, target, weight=None, ignore_index=-100, reduction='mean', label_smoothing=0.0", self, a, v, 6);
  Value *x = want_tensor(l, v[0], "cross_entropy", a->off), *t = want_tensor(l, v[1], "cross_entropy", a->off);
  Shape xs = tshape(l, x);
  if (xs.rank < 1) lerr(l, a->off, "cross_entropy(): expected logits of shape [N, C], [C] or [N, C, d1, ...]");
  Value *dim = v_int(l, xs.rank == 1 ? 0 : 1);
  Value *pos[2] = {x, dim};
  Args la = {.pos = pos, .npos = 2, .off = a->off};
  Value *logp = bi_log_softmax(l, NULL, &la);
  ClassOpts o;
  class_opts(l, &o, v[2], v[3], v[5], a->off);
  if (dt_is_float(tdtype(l, t))) { /* class probabilities as targets */
    same_shape(l, x, t, "cross_entropy", a->off);
    if (o.weight || o.ignore || o.smoothing > 0 || xs.rank > 2)
      lerr(l, a->off, "cross_entropy(): with probabilities as targets ttc supports [N, C] inputs without weight, ignore_index or label_smoothing");
    Value *per = bi_unop(l, UN_NEG, reduce(l, OP_SUM, bi_binop(l, BIN_MUL, logp, t, a->off), dim, false, a->off, NULL), a->off);
    Value *r = reduce_loss(l, per, v[4], a->off, "DivBackward1");
    return r;
  }
  return nll(l, logp, t, v[4], &o, a->off, "cross_entropy");
}

B(binary_cross_entropy_with_logits) {
  Value *v[7];
  args_bind(l, "binary_cross_entropy_with_logits",
            "input, target, weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None", self, a, v, 7);
  Value *x = want_tensor(l, v[0], "binary_cross_entropy_with_logits", a->off);
  Value *y = want_tensor(l, v[1], "binary_cross_entropy_with_logits", a->off);
  same_shape(l, x, y, "binary_cross_entropy_with_logits", a->off);
  if (v[3] || v[4]) lerr(l, a->off, "binary_cross_entropy_with_logits(): size_average and reduce are deprecated; use reduction");
  Value *per;
  if (v[6] && v[6]->k != V_NONE) {
    /* ATen: (1 - y) x + (1 + (pos_weight - 1) y) softplus(-x) */
    Value *pw = want_tensor(l, v[6], "pos_weight", a->off);
    Value *lw = bi_binop(l, BIN_ADD, bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, pw, v_int(l, 1), a->off), y, a->off), v_int(l, 1), a->off);
    Value *spn = op1(l, OP_SOFTPLUS, bi_unop(l, UN_NEG, x, a->off), NULL, a->off, NULL);
    Value *neg_part = bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, v_int(l, 1), y, a->off), x, a->off);
    per = bi_binop(l, BIN_ADD, neg_part, bi_binop(l, BIN_MUL, lw, spn, a->off), a->off);
  } else {
    /* softplus(x) - x*y: no overflow for any x, and the gradient is sigmoid(x) - y */
    Value *sp = op1(l, OP_SOFTPLUS, x, NULL, a->off, NULL);
    per = bi_binop(l, BIN_SUB, sp, bi_binop(l, BIN_MUL, x, y, a->off), a->off);
  }
  if (v[2] && v[2]->k != V_NONE) per = bi_binop(l, BIN_MUL, per, want_tensor(l, v[2], "weight", a->off), a->off);
  return reduce_loss(l, per, v[5], a->off, "BinaryCrossEntropyWithLogitsBackward0");
}

/* kl_div(input, target): target * (log(target) - input), 0 where target is 0 (xlogy), or
 * exp(target) * (target - input) for log targets; 'batchmean' divides the sum by N. */
B(kl_div) {
  Value *v[6];
  args_bind(l, "kl_div", "input, target, size_average=None, reduce=None, reduction='mean', log_target=False", self, a, v, 6);
  Value *x = want_tensor(l, v[0], "kl_div", a->off), *t = want_tensor(l, v[1], "kl_div", a->off);
  if (v[2] || v[3]) lerr(l, a->off, "kl_div(): size_average and reduce are deprecated; use reduction");
  Value *per;
  if (v[5] && v_truthy(l, v[5], a->off)) {
    Value *et = bi_call(l, "exp", t, NULL, 0, a->off);
    per = bi_binop(l, BIN_MUL, et, bi_binop(l, BIN_SUB, t, x, a->off), a->off);
  } else {
    Value *tl = bi_binop(l, BIN_MUL, t, bi_call(l, "log", t, NULL, 0, a->off), a->off);
    Value *xlogy = bi_select(l, bi_compare(l, CMP_EQ, t, v_int(l, 0), a->off), v_int(l, 0), tl, a->off, NULL);
    per = bi_binop(l, BIN_SUB, xlogy, bi_binop(l, BIN_MUL, t, x, a->off), a->off);
  }
  const char *r = v[4] && v[4]->k == V_STR ? v[4]->s : "mean";
  if (!strcmp(r, "batchmean")) {
    Shape s = tshape(l, x);
    Value *sum = reduce(l, OP_SUM, per, NULL, false, a->off, NULL);
    if (s.rank == 0) return sum;
    Value *n = (s.symm & 1u) ? dim_size(l, s, 0, a->off) : v_int(l, s.d[0]);
    if (n->k == V_HOST) n = host_to_tensor(l, n, tdtype(l, sum), a->off);
    return bi_binop(l, BIN_DIV, sum, n, a->off);
  }
  /* PyTorch 1.13's kl_div is composite: its grad_fn is the last op's */
  bool logt = v[5] && v_truthy(l, v[5], a->off);
  return reduce_loss(l, per, v[4], a->off, !strcmp(r, "sum") ? "SumBackward0" : !strcmp(r, "none") ? (logt ? "MulBackward0" : "SubBackward0") : "MeanBackward0");
}

B(binary_cross_entropy) {
  Value *v[3];
  args_bind(l, "binary_cross_entropy", "input, target, reduction='mean'", self, a, v, 3);
  Value *p = want_tensor(l, v[0], "binary_cross_entropy", a->off);
  Value *y = want_tensor(l, v[1], "binary_cross_entropy", a->off);
  same_shape(l, p, y, "binary_cross_entropy", a->off);
  /* PyTorch clamps the logs at -100 */
  Value *lp = ew2(l, OP_MAXIMUM, op1(l, OP_LOG, p, NULL, a->off, NULL), v_float(l, -100), a->off, NULL);
  Value *lq = ew2(l, OP_MAXIMUM, op1(l, OP_LOG, bi_binop(l, BIN_SUB, v_int(l, 1), p, a->off), NULL, a->off, NULL), v_float(l, -100), a->off, NULL);
  Value *pos_part = bi_binop(l, BIN_MUL, y, lp, a->off);
  Value *neg_part = bi_binop(l, BIN_MUL, bi_binop(l, BIN_SUB, v_int(l, 1), y, a->off), lq, a->off);
  Value *per = bi_unop(l, UN_NEG, bi_binop(l, BIN_ADD, pos_part, neg_part, a->off), a->off);
  return reduce_loss(l, per, v[2], a->off, "BinaryCrossEntropyBackward0");
}

B(floor) {
  Value *v[1];
  args_bind(l, "floor", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "floor", a->off);
  if (!dt_is_float(tdtype(l, x))) return x;
  return op1(l, OP_FLOOR, x, NULL, a->off, NULL);
}

BI_FN(softplus) {
  Value *v[3];
  args_bind(l, "softplus", "input, beta=1, threshold=20", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "softplus", a->off);
  double beta = want_num(l, v[1], "beta", a->off);
  if (beta == 1) return op1(l, OP_SOFTPLUS, x, NULL, a->off, NULL);
  Value *bx = bi_binop(l, BIN_MUL, x, v_float(l, beta), a->off);
  return bi_binop(l, BIN_DIV, op1(l, OP_SOFTPLUS, bx, NULL, a->off, NULL), v_float(l, beta), a->off);
}

B(erf) {
  Value *v[1];
  args_bind(l, "erf", "input", self, a, v, 1);
  return op1(l, OP_ERF, want_tensor(l, v[0], "erf", a->off), NULL, a->off, NULL);
}

/* Loss modules: the options at construction, the function at the call. */
/* A loss module's forward: the function on (input, target) with the module's options. */
static Value *loss_forward(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn, const char *const *names, int n) {
  Value *v[2];
  args_bind(l, cls, "input, target", NULL, a, v, 2);
  return bi_call_with_opts(l, fn, v, 2, self, names, n, a->off);
}

static Value *loss_module(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn) {
  if (self) return loss_forward(l, self, a, cls, fn, (const char *const[]){"reduction"}, 1);
  Value *v[1];
  args_bind(l, cls, "reduction='mean'", NULL, a, v, 1);
  Value *m = module_new(l, cls);
  attrs_set(l, &m->attrs, "reduction", v[0]);
  return m;
}
B(MSELoss) { return loss_module(l, self, a, "MSELoss", bi_mse_loss); }
B(L1Loss) { return loss_module(l, self, a, "L1Loss", bi_l1_loss); }
/* CrossEntropyLoss / NLLLoss: weight, ignore_index (and label_smoothing) kept for forward. */
static Value *class_loss_module(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn, bool ce) {
  static const char *const names[] = {"weight", "ignore_index", "reduction", "label_smoothing"};
  if (self) return loss_forward(l, self, a, cls, fn, names, ce ? 4 : 3);
  Value *v[6];
  args_bind(l, cls, ce ? "weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean', label_smoothing=0.0"
                       : "weight=None, size_average=None, ignore_index=-100, reduce=None, reduction='mean'", NULL, a, v, ce ? 6 : 5);
  if (v[1] || v[3]) lerr(l, a->off, "%s(): size_average and reduce are deprecated; use reduction", cls);
  Value *m = bi_module_new(l, cls);
  if (v[0]) attrs_set(l, &m->attrs, "weight", v[0]);
  attrs_set(l, &m->attrs, "ignore_index", v[2]);
  attrs_set(l, &m->attrs, "reduction", v[4]);
  if (ce) attrs_set(l, &m->attrs, "label_smoothing", v[5]);
  return m;
}
B(CrossEntropyLoss) { return class_loss_module(l, self, a, "CrossEntropyLoss", bi_cross_entropy, true); }
B(NLLLoss) { return class_loss_module(l, self, a, "NLLLoss", bi_nll_loss, false); }
/* BCEWithLogitsLoss(weight=None, reduction='mean', pos_weight=None) */
B(BCEWithLogitsLoss) {
  static const char *const names[] = {"weight", "reduction", "pos_weight"};
  if (self) return loss_forward(l, self, a, "BCEWithLogitsLoss", bi_binary_cross_entropy_with_logits, names, 3);
  Value *v[5];
  args_bind(l, "BCEWithLogitsLoss", "weight=None, size_average=None, reduce=None, reduction='mean', pos_weight=None", NULL, a, v, 5);
  if (v[1] || v[2]) lerr(l, a->off, "BCEWithLogitsLoss(): size_average and reduce are deprecated; use reduction");
  Value *m = bi_module_new(l, "BCEWithLogitsLoss");
  if (v[0]) attrs_set(l, &m->attrs, "weight", v[0]);
  attrs_set(l, &m->attrs, "reduction", v[3]);
  if (v[4]) attrs_set(l, &m->attrs, "pos_weight", v[4]);
  return m;
}
B(KLDivLoss) { return loss_module(l, self, a, "KLDivLoss", bi_kl_div); }
B(BCELoss) { return loss_module(l, self, a, "BCELoss", bi_binary_cross_entropy); }

/* SmoothL1Loss(reduction, beta) and HuberLoss(reduction, delta): a second option. */
static Value *smooth_module(L *l, Value *self, Args *a, const char *cls, bool huber) {
  const char *opt = huber ? "delta" : "beta";
  if (self)
    return loss_forward(l, self, a, cls, huber ? bi_huber_loss : bi_smooth_l1_loss, (const char *const[]){"reduction", opt}, 2);
  Value *v[2];
  args_bind(l, cls, huber ? "reduction='mean', delta=1.0" : "reduction='mean', beta=1.0", NULL, a, v, 2);
  Value *m = bi_module_new(l, cls);
  attrs_set(l, &m->attrs, "reduction", v[0]);
  attrs_set(l, &m->attrs, opt, v[1]);
  return m;
}
B(SmoothL1Loss) { return smooth_module(l, self, a, "SmoothL1Loss", false); }
B(HuberLoss) { return smooth_module(l, self, a, "HuberLoss", true); }

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
#define M BI_METHOD
const Builtin grad_builtins[] = {
  /* autograd */
  {"backward", M, bi_backward, 0},
  {"zero_", M, bi_zero_, 0},
  {"fill_", M, bi_fill_, 0},
  {"add_", M, bi_add_, 0},
  {"sub_", M, bi_sub_, 0},
  {"mul_", M, bi_mul_, 0},
  {"div_", M, bi_div_, 0},
  {"copy_", M, bi_copy_, 0},
  {"relu_", M, bi_relu_, 0},
  {"clamp_", M, bi_clamp_, 0},
  {"clip_", M, bi_clip_, 0},
  {"abs_", M, bi_abs_, 0},
  {"neg_", M, bi_neg_, 0},
  {"exp_", M, bi_exp_, 0},
  {"log_", M, bi_log_, 0},
  {"sqrt_", M, bi_sqrt_, 0},
  {"rsqrt_", M, bi_rsqrt_, 0},
  {"sigmoid_", M, bi_sigmoid_, 0},
  {"tanh_", M, bi_tanh_, 0},
  {"sin_", M, bi_sin_, 0},
  {"cos_", M, bi_cos_, 0},
  {"pow_", M, bi_pow_, 0},
  {"square_", M, bi_square_, 0},
  {"reciprocal_", M, bi_reciprocal_, 0},
  {"floor_", M, bi_floor_, 0},
  {"ceil_", M, bi_ceil_, 0},
  {"round_", M, bi_round_, 0},
  {"trunc_", M, bi_trunc_, 0},
  {"sign_", M, bi_sign_, 0},
  {"frac_", M, bi_frac_, 0},
  {"log1p_", M, bi_log1p_, 0},
  {"expm1_", M, bi_expm1_, 0},
  {"masked_fill_", M, bi_masked_fill_, 0},
  {"retain_grad", M, bi_retain_grad, 0},
  {"uniform_", M, bi_uniform_, 0},
  {"normal_", M, bi_normal_, 0},
  {"set_grad_enabled", F, bi_set_grad_enabled, 0},
  {"is_grad_enabled", F, bi_is_grad_enabled, 0},
  {"erf", F | M, bi_erf, 0},
  {"softplus", F, bi_softplus, 0},
  {"floor", F | M, bi_floor, 0},
  /* losses */
  {"mse_loss", F, bi_mse_loss, 0},
  {"smooth_l1_loss", F, bi_smooth_l1_loss, 0},
  {"huber_loss", F, bi_huber_loss, 0},
  {"kl_div", F, bi_kl_div, 0},
  {"l1_loss", F, bi_l1_loss, 0},
  {"nll_loss", F, bi_nll_loss, 0},
  {"cross_entropy", F, bi_cross_entropy, 0},
  {"binary_cross_entropy_with_logits", F, bi_binary_cross_entropy_with_logits, 0},
  {"binary_cross_entropy", F, bi_binary_cross_entropy, 0},
  {"one_hot", F, bi_one_hot, 0},
  {"MSELoss", BI_CLASS, bi_MSELoss, 0},
  {"L1Loss", BI_CLASS, bi_L1Loss, 0},
  {"CrossEntropyLoss", BI_CLASS, bi_CrossEntropyLoss, 0},
  {"NLLLoss", BI_CLASS, bi_NLLLoss, 0},
  {"BCEWithLogitsLoss", BI_CLASS, bi_BCEWithLogitsLoss, 0},
  {"BCELoss", BI_CLASS, bi_BCELoss, 0},
  {"KLDivLoss", BI_CLASS, bi_KLDivLoss, 0},
  {"SmoothL1Loss", BI_CLASS, bi_SmoothL1Loss, 0},
  {"HuberLoss", BI_CLASS, bi_HuberLoss, 0},
};
#undef F
#undef M
const int grad_nbuiltins = (int)(sizeof grad_builtins / sizeof grad_builtins[0]);
