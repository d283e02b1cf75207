/*
 * layers.c — convolution, pooling, dropout and batch normalization (curriculum module 09),
 * as torch.nn.functional functions and torch.nn modules with PyTorch's arguments,
 * defaults and initialization.
 *
 * conv2d and the poolings are IR ops with their own kernels (runtime/conv.c); dropout and
 * batch norm are compositions of elementwise ops and reductions, so their gradients come
 * from the ops' rules. Dropout and BatchNorm2d read the module's training flag when
 * forward is traced: model.eval() before a test loop makes that loop's graph use the
 * running statistics and no dropout, as in PyTorch.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *ly_##name(L *l, Value *self, Args *a)

/* An int or an (h, w) pair: kernel_size=3, stride=(2, 1). */
static void pair(L *l, Value *v, int64_t *out, const char *what, int32_t off) {
  if (v && (v->k == V_TUPLE || v->k == V_LIST)) {
    if (v->n != 2) lerr(l, off, "%s must be an int or a pair of ints", what);
    out[0] = want_int(l, v->items[0], what, off);
    out[1] = want_int(l, v->items[1], what, off);
    return;
  }
  out[0] = out[1] = want_int(l, v, what, off);
}

static Value *tensor_arg(L *l, Value *v, const char *fname, int32_t off) {
  if (!v || v->k != V_TENSOR) lerr(l, off, "%s(): expected a Tensor, got %s", fname, v ? v_typename(v) : "None");
  return v;
}

/* 3-D (C, H, W) inputs are one image: PyTorch accepts them unbatched. */
static Value *batched(L *l, Value *x, bool *unbatched, const char *fname, int32_t off) {
  int rank = tn(l, x)->shape.rank;
  *unbatched = rank == 3;
  if (rank == 3) return bi_call(l, "unsqueeze", x, (Value *[]){v_int(l, 0)}, 1, off);
  if (rank != 4) lerr(l, off, "%s(): expected a 3-D or 4-D input [N, C, H, W], got %d-D", fname, rank);
  return x;
}

static Value *unbatch(L *l, Value *y, bool unbatched, int32_t off) {
  return unbatched ? bi_call(l, "squeeze", y, (Value *[]){v_int(l, 0)}, 1, off) : y;
}

/* ---- convolution ----------------------------------------------------------------------- */

static Value *conv(L *l, Value *x, Value *w, Value *b, Value *stride, Value *padding, int32_t off) {
  bool ub;
  x = batched(l, x, &ub, "conv2d", off);
  int64_t st[2], pd[2];
  pair(l, stride, st, "stride", off);
  const Shape ws = tn(l, w)->shape;
  if (padding && padding->k == V_STR) {
    if (!strcmp(padding->s, "valid")) pd[0] = pd[1] = 0;
    else if (!strcmp(padding->s, "same")) {
      if (st[0] != 1 || st[1] != 1) lerr(l, off, "padding='same' is not supported for strided convolutions");
      if (ws.rank != 4 || ws.d[2] % 2 == 0 || ws.d[3] % 2 == 0)
        lerr(l, off, "padding='same' with an even kernel is not supported by ttc");
      pd[0] = ws.d[2] / 2, pd[1] = ws.d[3] / 2;
    } else
      lerr(l, off, "Invalid padding string '%s'", padding->s);
  } else
    pair(l, padding, pd, "padding", off);
  int64_t ints[4] = {st[0], st[1], pd[0], pd[1]};
  Attr at = {0};
  at.ints = ints;
  at.nints = 4;
  int32_t in[3]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, x);
  in[1] = tnode(l, w);
  in[2] = b ? tnode(l, b) : -1;
  Value *ins[3] = {x, w, b};
  int id = add_node(l, OP_CONV2D, in, b ? 3 : 2, &at, off);
  return unbatch(l, bi_result(l, id, ins, b ? 3 : 2, NULL), ub, off);
}

B(conv2d) {
  Value *v[7];
  args_bind(l, "conv2d", "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1", self, a, v, 7);
  int64_t dl[2];
  pair(l, v[5], dl, "dilation", a->off);
  if (dl[0] != 1 || dl[1] != 1) lerr(l, a->off, "conv2d(): dilation is not supported by ttc");
  if (want_int(l, v[6], "groups", a->off) != 1) lerr(l, a->off, "conv2d(): groups is not supported by ttc");
  Value *x = tensor_arg(l, v[0], "conv2d", a->off), *w = tensor_arg(l, v[1], "conv2d", a->off);
  return conv(l, x, w, v[2] ? tensor_arg(l, v[2], "conv2d", a->off) : NULL, v[3], v[4], a->off);
}

B(Conv2d) {
  if (self) {
    Value *v[1];
    args_bind(l, "Conv2d", "input", NULL, a, v, 1);
    Value *b = attrs_get(&self->attrs, "bias");
    return conv(l, tensor_arg(l, v[0], "Conv2d", a->off), attrs_get(&self->attrs, "weight"),
                b && b->k == V_TENSOR ? b : NULL, attrs_get(&self->attrs, "stride"),
                attrs_get(&self->attrs, "padding"), a->off);
  }
  Value *v[9];
  args_bind(l, "Conv2d", "in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros'",
            NULL, a, v, 9);
  int64_t cin = want_int(l, v[0], "in_channels", a->off), cout = want_int(l, v[1], "out_channels", a->off), k[2];
  pair(l, v[2], k, "kernel_size", a->off);
  if (cin < 1 || cout < 1 || k[0] < 1 || k[1] < 1 || (double)cin * (double)cout * (double)(k[0] * k[1]) > 1e9)
    lerr(l, a->off, "Conv2d(): invalid sizes");
  int64_t dl[2];
  pair(l, v[5], dl, "dilation", a->off);
  if (dl[0] != 1 || dl[1] != 1 || want_int(l, v[6], "groups", a->off) != 1)
    lerr(l, a->off, "Conv2d(): dilation and groups are not supported by ttc");
  if (v[8] && (v[8]->k != V_STR || strcmp(v[8]->s, "zeros")))
    lerr(l, a->off, "Conv2d(): only padding_mode='zeros' is supported");
  Value *m = bi_module_new(l, "Conv2d");
  attrs_set(l, &m->attrs, "in_channels", v_int(l, cin));
  attrs_set(l, &m->attrs, "out_channels", v_int(l, cout));
  attrs_set(l, &m->attrs, "stride", v[3]);
  attrs_set(l, &m->attrs, "padding", v[4] ? v[4] : v_int(l, 0));
  /* kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*R*S; the
   * bias uses the same bound; weight first, as PyTorch draws them */
  double bound = 1.0 / sqrt((double)(cin * k[0] * k[1]));
  attrs_set(l, &m->attrs, "weight",
            bi_uniform_param(l, (Shape){.rank = 4, .d = {cout, cin, k[0], k[1]}}, DT_F32, bound, "weight", a->off));
  if (!v[7] || v_truthy(l, v[7], a->off))
    attrs_set(l, &m->attrs, "bias", bi_uniform_param(l, (Shape){.rank = 1, .d = {cout}}, DT_F32, bound, "bias", a->off));
  else
    attrs_set(l, &m->attrs, "bias", l->none);
  return m;
}

/* ---- 1-D convolution: the 2-D one on [N, C, 1, L] ------------------------------------------ */

static Value *one_int(L *l, Value *v, const char *what, int32_t off) {
  if (v && (v->k == V_TUPLE || v->k == V_LIST)) {
    if (v->n != 1) lerr(l, off, "conv1d(): %s must be an int or a 1-tuple", what);
    v = v->items[0];
  }
  return v;
}

/* x [N, C, L] (or [C, L]) with w [K, C, k]: conv2d of x[:, :, None, :] with w[:, :, None, :],
 * stride (1, s), padding (0, p), and the height dimension dropped again. */
static Value *conv1d_of(L *l, Value *x, Value *w, Value *b, Value *stride, Value *padding, int32_t off) {
  Shape xs = tshape(l, x), ws = tshape(l, w);
  if ((xs.rank != 2 && xs.rank != 3) || ws.rank != 3)
    lerr(l, off, "conv1d(): expected input [N, C, L] or [C, L] and weight [K, C, k]");
  int cd = xs.rank - 2; /* the channel dim; the new height dim goes after it */
  Value *x4 = bi_call(l, "unsqueeze", x, (Value *[]){v_int(l, cd + 1)}, 1, off);
  Value *w4 = bi_call(l, "unsqueeze", w, (Value *[]){v_int(l, 2)}, 1, off);
  stride = one_int(l, stride, "stride", off);
  padding = one_int(l, padding, "padding", off);
  Value *st = v_tuple(l, 2), *pd = padding && padding->k == V_STR ? padding : v_tuple(l, 2);
  st->items[0] = v_int(l, 1), st->items[1] = stride ? stride : v_int(l, 1);
  if (pd != padding) pd->items[0] = v_int(l, 0), pd->items[1] = padding ? padding : v_int(l, 0);
  Value *y = conv(l, x4, w4, b, st, pd, off);
  Value *r = bi_call(l, "squeeze", y, (Value *[]){v_int(l, cd + 1)}, 1, off);
  if (r->t.requires_grad) r->t.gradfn = "ConvolutionBackward0";
  return r;
}

B(conv1d) {
  Value *v[7];
  args_bind(l, "conv1d", "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1", self, a, v, 7);
  if (want_int(l, one_int(l, v[5], "dilation", a->off), "dilation", a->off) != 1) lerr(l, a->off, "conv1d(): dilation is not supported by ttc");
  if (want_int(l, v[6], "groups", a->off) != 1) lerr(l, a->off, "conv1d(): groups is not supported by ttc");
  Value *x = tensor_arg(l, v[0], "conv1d", a->off), *w = tensor_arg(l, v[1], "conv1d", a->off);
  return conv1d_of(l, x, w, v[2] ? tensor_arg(l, v[2], "conv1d", a->off) : NULL, v[3], v[4], a->off);
}

B(Conv1d) {
  if (self) {
    Value *v[1];
    args_bind(l, "Conv1d", "input", NULL, a, v, 1);
    Value *b = attrs_get(&self->attrs, "bias");
    return conv1d_of(l, tensor_arg(l, v[0], "Conv1d", a->off), attrs_get(&self->attrs, "weight"),
                     b && b->k == V_TENSOR ? b : NULL, attrs_get(&self->attrs, "stride"),
                     attrs_get(&self->attrs, "padding"), a->off);
  }
  Value *v[9];
  args_bind(l, "Conv1d", "in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros'",
            NULL, a, v, 9);
  int64_t cin = want_int(l, v[0], "in_channels", a->off), cout = want_int(l, v[1], "out_channels", a->off);
  int64_t k = want_int(l, one_int(l, v[2], "kernel_size", a->off), "kernel_size", a->off);
  if (cin < 1 || cout < 1 || k < 1 || (double)cin * (double)cout * (double)k > 1e9) lerr(l, a->off, "Conv1d(): invalid sizes");
  if (want_int(l, one_int(l, v[5], "dilation", a->off), "dilation", a->off) != 1 || want_int(l, v[6], "groups", a->off) != 1)
    lerr(l, a->off, "Conv1d(): dilation and groups are not supported by ttc");
  if (v[8] && (v[8]->k != V_STR || strcmp(v[8]->s, "zeros"))) lerr(l, a->off, "Conv1d(): only padding_mode='zeros' is supported");
  Value *m = bi_module_new(l, "Conv1d");
  attrs_set(l, &m->attrs, "stride", v[3] ? one_int(l, v[3], "stride", a->off) : v_int(l, 1));
  attrs_set(l, &m->attrs, "padding", v[4] ? one_int(l, v[4], "padding", a->off) : v_int(l, 0));
  /* PyTorch's init, as Conv2d's: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = C*k */
  double bound = 1.0 / sqrt((double)(cin * k));
  attrs_set(l, &m->attrs, "weight", bi_uniform_param(l, (Shape){.rank = 3, .d = {cout, cin, k}}, DT_F32, bound, "weight", a->off));
  if (!v[7] || v_truthy(l, v[7], a->off))
    attrs_set(l, &m->attrs, "bias", bi_uniform_param(l, (Shape){.rank = 1, .d = {cout}}, DT_F32, bound, "bias", a->off));
  else
    attrs_set(l, &m->attrs, "bias", l->none);
  return m;
}

/* ---- pooling ------------------------------------------------------------------------------ */

static Value *pool(L *l, Op op, Value *x, Value *ks, Value *stride, Value *padding, int32_t off) {
  const char *fname = op == OP_MAXPOOL2D ? "max_pool2d" : "avg_pool2d";
  bool ub;
  x = batched(l, x, &ub, fname, off);
  int64_t k[2], st[2], pd[2];
  pair(l, ks, k, "kernel_size", off);
  if (stride && !((stride->k == V_LIST || stride->k == V_TUPLE) && stride->n == 0)) pair(l, stride, st, "stride", off);
  else st[0] = k[0], st[1] = k[1]; /* PyTorch: stride defaults to kernel_size */
  pair(l, padding, pd, "padding", off);
  int64_t ints[6] = {k[0], k[1], st[0], st[1], pd[0], pd[1]};
  Attr at = {0};
  at.ints = ints;
  at.nints = 6;
  int32_t in[1] = {tnode(l, x)};
  int id = add_node(l, op, in, 1, &at, off);
  return unbatch(l, bi_result(l, id, &x, 1, NULL), ub, off);
}

B(max_pool2d) {
  Value *v[7];
  args_bind(l, "max_pool2d", "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False", self, a, v, 7);
  if (want_int(l, v[4], "dilation", a->off) != 1) lerr(l, a->off, "max_pool2d(): dilation is not supported by ttc");
  if (v[5] && v_truthy(l, v[5], a->off)) lerr(l, a->off, "max_pool2d(): ceil_mode is not supported by ttc");
  if (v[6] && v_truthy(l, v[6], a->off)) lerr(l, a->off, "max_pool2d(): return_indices is not supported by ttc");
  return pool(l, OP_MAXPOOL2D, tensor_arg(l, v[0], "max_pool2d", a->off), v[1], v[2], v[3], a->off);
}

B(avg_pool2d) {
  Value *v[7];
  args_bind(l, "avg_pool2d", "input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None", self, a, v, 7);
  if (v[4] && v_truthy(l, v[4], a->off)) lerr(l, a->off, "avg_pool2d(): ceil_mode is not supported by ttc");
  if (v[5] && !v_truthy(l, v[5], a->off)) lerr(l, a->off, "avg_pool2d(): only count_include_pad=True is supported");
  if (v[6]) lerr(l, a->off, "avg_pool2d(): divisor_override is not supported by ttc");
  return pool(l, OP_AVGPOOL2D, tensor_arg(l, v[0], "avg_pool2d", a->off), v[1], v[2], v[3], a->off);
}

static Value *pool_module(L *l, Value *self, Args *a, const char *cls, Op op) {
  if (self) {
    Value *v[1];
    args_bind(l, cls, "input", NULL, a, v, 1);
    return pool(l, op, tensor_arg(l, v[0], cls, a->off), attrs_get(&self->attrs, "kernel_size"),
                attrs_get(&self->attrs, "stride"), attrs_get(&self->attrs, "padding"), a->off);
  }
  Value *v[3];
  args_bind(l, cls, "kernel_size, stride=None, padding=0", NULL, a, v, 3);
  Value *m = bi_module_new(l, cls);
  attrs_set(l, &m->attrs, "kernel_size", v[0]);
  attrs_set(l, &m->attrs, "stride", v[1] ? v[1] : v_tuple(l, 0));
  attrs_set(l, &m->attrs, "padding", v[2] ? v[2] : v_int(l, 0));
  return m;
}

B(MaxPool2d) { return pool_module(l, self, a, "MaxPool2d", OP_MAXPOOL2D); }
B(AvgPool2d) { return pool_module(l, self, a, "AvgPool2d", OP_AVGPOOL2D); }

/* adaptive_avg_pool2d(x, output_size): when the output divides the input (global pooling
 * to 1x1, 14x14 to 7x7) the windows are equal and it is avg_pool2d with kernel = stride =
 * input / output. PyTorch's uneven windows are not supported. */
static Value *adaptive_avg(L *l, Value *x, Value *os, int32_t off) {
  Shape s = tshape(l, x);
  if (s.rank != 3 && s.rank != 4) lerr(l, off, "adaptive_avg_pool2d(): expected a 3-D or 4-D input");
  int64_t H = s.d[s.rank - 2], W = s.d[s.rank - 1], o[2];
  if (os && (os->k == V_TUPLE || os->k == V_LIST)) {
    if (os->n != 2) lerr(l, off, "adaptive_avg_pool2d(): output_size must be an int or a pair");
    o[0] = os->items[0]->k == V_NONE ? H : want_int(l, os->items[0], "output_size", off);
    o[1] = os->items[1]->k == V_NONE ? W : want_int(l, os->items[1], "output_size", off);
  } else {
    o[0] = o[1] = want_int(l, os, "output_size", off);
  }
  if (o[0] < 1 || o[1] < 1) lerr(l, off, "adaptive_avg_pool2d(): output_size must be positive");
  if (H % o[0] || W % o[1])
    lerr(l, off, "adaptive_avg_pool2d(): ttc supports output sizes that divide the input (%lldx%lld into %lldx%lld does not)",
         (long long)H, (long long)W, (long long)o[0], (long long)o[1]);
  Value *k = v_tuple(l, 2);
  k->items[0] = v_int(l, H / o[0]), k->items[1] = v_int(l, W / o[1]);
  Value *r = pool(l, OP_AVGPOOL2D, x, k, k, v_int(l, 0), off);
  if (r->t.requires_grad) r->t.gradfn = "AdaptiveAvgPool2DBackward0";
  return r;
}
B(adaptive_avg_pool2d) {
  Value *v[2];
  args_bind(l, "adaptive_avg_pool2d", "input, output_size", self, a, v, 2);
  return adaptive_avg(l, tensor_arg(l, v[0], "adaptive_avg_pool2d", a->off), v[1], a->off);
}
B(AdaptiveAvgPool2d) {
  if (self) {
    Value *v[1];
    args_bind(l, "AdaptiveAvgPool2d", "input", NULL, a, v, 1);
    return adaptive_avg(l, tensor_arg(l, v[0], "AdaptiveAvgPool2d", a->off), attrs_get(&self->attrs, "output_size"), a->off);
  }
  Value *v[1];
  args_bind(l, "AdaptiveAvgPool2d", "output_size", NULL, a, v, 1);
  Value *m = bi_module_new(l, "AdaptiveAvgPool2d");
  attrs_set(l, &m->attrs, "output_size", v[0]);
  return m;
}

/* ---- dropout ---------------------------------------------------------------------------- */

/* In training, each element is kept with probability 1 - p and scaled by 1 / (1 - p),
 * drawn as ATen's CPU dropout draws it (noise.bernoulli_(1 - p).div_(1 - p), then x * noise):
 * bernoulli_distribution<double> is a double uniform (53 bits of two 32-bit draws) < 1 - p,
 * per element in order, and the division is in the tensor's dtype. So the same seed keeps
 * the same elements as PyTorch, and the scaled values are PyTorch's to the last bit. */
static Value *dropout(L *l, Value *x, double p, bool training, bool feature, int32_t off) {
  if (p < 0 || p > 1) lerr(l, off, "dropout probability has to be between 0 and 1, but got %g", p);
  if (!training || p == 0) return x;
  /* copies: adding nodes may move the graph's node array */
  DType dt = tdtype(l, x);
  Shape shape = tshape(l, x);
  if (!dt_is_float(dt)) lerr(l, off, "dropout(): expected a floating point tensor");
  /* Dropout2d drops whole channels: one draw per (sample, channel), ATen's feature noise */
  if (feature) {
    if (shape.rank < 2) lerr(l, off, "dropout2d(): expected an input with a channel dimension");
    for (int i = 2; i < shape.rank; i++) shape.d[i] = 1;
  }
  if (p == 1) return bi_binop(l, BIN_MUL, x, v_float(l, 0.0), off);
  Attr at = {0};
  at.f[0] = 0;
  at.f[1] = 1;
  Graph *g = cur_graph(l);
  Value *u = mk_tensor(l, ir_add_source(g, OP_UNIFORM, DT_F64, shape, &at, (Loc){off}));
  Value *keep = bi_compare(l, CMP_LT, u, v_float(l, 1 - p), off);
  Value *mask = bi_call(l, dt == DT_F64 ? "double" : "float", keep, NULL, 0, off);
  Value *y = bi_binop(l, BIN_MUL, x, bi_binop(l, BIN_DIV, mask, v_float(l, 1 - p), off), off);
  if (y->t.requires_grad) y->t.gradfn = "MulBackward0";
  return y;
}

B(dropout) {
  Value *v[4];
  args_bind(l, "dropout", "input, p=0.5, training=True, inplace=False", self, a, v, 4);
  return dropout(l, tensor_arg(l, v[0], "dropout", a->off), want_num(l, v[1], "p", a->off),
                 v[2] ? v_truthy(l, v[2], a->off) : true, false, a->off);
}

B(dropout2d) {
  Value *v[4];
  args_bind(l, "dropout2d", "input, p=0.5, training=True, inplace=False", self, a, v, 4);
  return dropout(l, tensor_arg(l, v[0], "dropout2d", a->off), want_num(l, v[1], "p", a->off),
                 v[2] ? v_truthy(l, v[2], a->off) : true, true, a->off);
}

static bool training_of(L *l, Value *m) {
  Value *t = attrs_get(&m->attrs, "training");
  return !t || v_truthy(l, t, 0);
}

static Value *dropout_module(L *l, Value *self, Args *a, const char *cls, bool feature) {
  if (self) {
    Value *v[1];
    args_bind(l, cls, "input", NULL, a, v, 1);
    return dropout(l, tensor_arg(l, v[0], cls, a->off), attrs_get(&self->attrs, "p")->f,
                   training_of(l, self), feature, a->off);
  }
  Value *v[2];
  args_bind(l, cls, "p=0.5, inplace=False", NULL, a, v, 2);
  double p = want_num(l, v[0], "p", a->off);
  if (p < 0 || p > 1) lerr(l, a->off, "dropout probability has to be between 0 and 1, but got %g", p);
  Value *m = bi_module_new(l, cls);
  attrs_set(l, &m->attrs, "p", v_float(l, p));
  return m;
}
B(Dropout) { return dropout_module(l, self, a, "Dropout", false); }
B(Dropout2d) { return dropout_module(l, self, a, "Dropout2d", true); }

/* ---- batch normalization ------------------------------------------------------------------ */

/* A buffer (running statistics): a program variable filled once, not a parameter. c > 0:
 * c float elements; c == 0: an int64 scalar (num_batches_tracked). It is registered in the
 * module's "__buffers__" list, so state_dict() holds it after the parameters, as PyTorch's. */
static Value *buffer(L *l, Value *m, int64_t c, double value, const char *name, int32_t off) {
  Shape s = {.rank = c ? 1 : 0, .d = {c}};
  Value *t = c ? bi_call(l, value == 0 ? "zeros" : "ones", NULL, (Value *[]){v_int(l, c)}, 1, off)
               : bi_call(l, "tensor", NULL, (Value *[]){v_int(l, 0)}, 1, off);
  Value *names = attrs_get(&m->attrs, "__buffers__");
  if (!names) {
    names = v_new(l, V_LIST);
    attrs_set(l, &m->attrs, "__buffers__", names);
  }
  v_list_push(l, names, v_str(l, name));
  const Node *n = tn(l, t);
  int var = ir_var_new(l->p, name, VAR_STATE, n->dtype, s);
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *b = v_new(l, V_TENSOR);
  b->t.var = var;
  b->t.leaf = true;
  return b;
}

static Value *channel_view(L *l, Value *t, int64_t c, int32_t off) {
  Value *shape = v_tuple(l, 4);
  shape->items[0] = v_int(l, 1);
  shape->items[1] = v_int(l, c);
  shape->items[2] = v_int(l, 1);
  shape->items[3] = v_int(l, 1);
  return bi_call(l, "reshape", t, &shape, 1, off);
}

B(BatchNorm2d) {
  if (!self) {
    Value *v[5];
    args_bind(l, "BatchNorm2d", "num_features, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True", NULL, a, v, 5);
    int64_t c = want_int(l, v[0], "num_features", a->off);
    if (c < 1) lerr(l, a->off, "BatchNorm2d(): num_features must be positive");
    if (v[3] && !v_truthy(l, v[3], a->off)) lerr(l, a->off, "BatchNorm2d(affine=False) is not supported by ttc");
    if (v[4] && !v_truthy(l, v[4], a->off)) lerr(l, a->off, "BatchNorm2d(track_running_stats=False) is not supported by ttc");
    Value *m = bi_module_new(l, "BatchNorm2d");
    attrs_set(l, &m->attrs, "num_features", v_int(l, c));
    attrs_set(l, &m->attrs, "eps", v_float(l, want_num(l, v[1], "eps", a->off)));
    attrs_set(l, &m->attrs, "momentum", v_float(l, want_num(l, v[2], "momentum", a->off)));
    attrs_set(l, &m->attrs, "weight", bi_make_param(l, bi_call(l, "ones", NULL, (Value *[]){v_int(l, c)}, 1, a->off), "weight", a->off));
    attrs_set(l, &m->attrs, "bias", bi_make_param(l, bi_call(l, "zeros", NULL, (Value *[]){v_int(l, c)}, 1, a->off), "bias", a->off));
    attrs_set(l, &m->attrs, "running_mean", buffer(l, m, c, 0, "running_mean", a->off));
    attrs_set(l, &m->attrs, "running_var", buffer(l, m, c, 1, "running_var", a->off));
    attrs_set(l, &m->attrs, "num_batches_tracked", buffer(l, m, 0, 0, "num_batches_tracked", a->off));
    return m;
  }
  Value *v[1];
  args_bind(l, "BatchNorm2d", "input", NULL, a, v, 1);
  Value *x = tensor_arg(l, v[0], "BatchNorm2d", a->off);
  const Shape xs = tn(l, x)->shape;
  int64_t c = attrs_get(&self->attrs, "num_features")->i;
  if (xs.rank != 4 || xs.d[1] != c)
    lerr(l, a->off, "BatchNorm2d(%lld): expected a 4-D input with %lld channels", (long long)c, (long long)c);
  double eps = attrs_get(&self->attrs, "eps")->f, mom = attrs_get(&self->attrs, "momentum")->f;
  Value *w = channel_view(l, attrs_get(&self->attrs, "weight"), c, a->off);
  Value *b = channel_view(l, attrs_get(&self->attrs, "bias"), c, a->off);
  Value *rm = attrs_get(&self->attrs, "running_mean"), *rv = attrs_get(&self->attrs, "running_var");
  Value *mean, *var;
  if (training_of(l, self)) {
    /* the batch's statistics over N, H, W (the variance biased, as the normalization uses) */
    Value *dims = v_tuple(l, 3);
    dims->items[0] = v_int(l, 0), dims->items[1] = v_int(l, 2), dims->items[2] = v_int(l, 3);
    Args ma = {.pos = (Value *[]){x, dims}, .npos = 2, .kwnames = (const char *[]){"keepdim"}, .kw = (Value *[]){l->vtrue}, .nkw = 1, .off = a->off};
    mean = bi_lookup("mean", BI_FUNC)->fn(l, NULL, &ma);
    Value *d = bi_binop(l, BIN_SUB, x, mean, a->off);
    Args va = {.pos = (Value *[]){bi_binop(l, BIN_MUL, d, d, a->off), dims}, .npos = 2, .kwnames = (const char *[]){"keepdim"}, .kw = (Value *[]){l->vtrue}, .nkw = 1, .off = a->off};
    var = bi_lookup("mean", BI_FUNC)->fn(l, NULL, &va);
    /* running statistics, without history: the unbiased variance, n = N*H*W */
    bool saved = l->no_grad;
    l->no_grad = true;
    /* n = N*H*W; a batch's N is known only at run time: the BATCH node, inside the graph
     * (a host value here would end the graph between the forward and its backward) */
    Value *n;
    if (xs.symm) {
      Graph *g = cur_graph(l);
      n = mk_tensor(l, ir_add_source(g, OP_BATCH, tn(l, x)->dtype, shape_scalar(), NULL, (Loc){a->off}));
      n = bi_binop(l, BIN_MUL, n, v_float(l, (double)(xs.d[2] * xs.d[3])), a->off);
    } else
      n = v_float(l, (double)(xs.d[0] * xs.d[2] * xs.d[3]));
    Value *unb = bi_binop(l, BIN_DIV, n, bi_binop(l, BIN_SUB, n, v_int(l, 1), a->off), a->off);
    Value *flat_m = bi_call(l, "reshape", mean, (Value *[]){v_int(l, c)}, 1, a->off);
    Value *flat_v = bi_binop(l, BIN_MUL, bi_call(l, "reshape", var, (Value *[]){v_int(l, c)}, 1, a->off), unb, a->off);
    /* one statement per node: C leaves the order of a call's arguments unspecified, and
       the nodes' order (and so their C names) must not depend on the compiler */
    Value *old_m = bi_binop(l, BIN_MUL, rm, v_float(l, 1 - mom), a->off);
    Value *new_m = bi_binop(l, BIN_MUL, flat_m, v_float(l, mom), a->off);
    tensor_inplace(l, rm, bi_binop(l, BIN_ADD, old_m, new_m, a->off), a->off);
    Value *old_v = bi_binop(l, BIN_MUL, rv, v_float(l, 1 - mom), a->off);
    Value *new_v = bi_binop(l, BIN_MUL, flat_v, v_float(l, mom), a->off);
    tensor_inplace(l, rv, bi_binop(l, BIN_ADD, old_v, new_v, a->off), a->off);
    Value *nbt = attrs_get(&self->attrs, "num_batches_tracked");
    tensor_inplace(l, nbt, bi_binop(l, BIN_ADD, nbt, v_int(l, 1), a->off), a->off);
    l->no_grad = saved;
  } else {
    mean = channel_view(l, rm, c, a->off);
    var = channel_view(l, rv, c, a->off);
  }
  Value *den = bi_call(l, "sqrt", NULL, (Value *[]){bi_binop(l, BIN_ADD, var, v_float(l, eps), a->off)}, 1, a->off);
  Value *y = bi_binop(l, BIN_ADD, bi_binop(l, BIN_MUL, bi_binop(l, BIN_DIV, bi_binop(l, BIN_SUB, x, mean, a->off), den, a->off), w, a->off), b, a->off);
  if (y->t.requires_grad) y->t.gradfn = "NativeBatchNormBackward0";
  return y;
}

/* BatchNorm1d: BatchNorm2d's statistics on [N, C] or [N, C, L] seen as [N, C, L, 1]. */
B(BatchNorm1d) {
  if (!self) {
    Value *m = ly_BatchNorm2d(l, NULL, a);
    m->cls = bi_module_new(l, "BatchNorm1d")->cls;
    return m;
  }
  Value *v[1];
  args_bind(l, "BatchNorm1d", "input", NULL, a, v, 1);
  Value *x = tensor_arg(l, v[0], "BatchNorm1d", a->off);
  Shape s = tshape(l, x);
  int64_t c = attrs_get(&self->attrs, "num_features")->i;
  if ((s.rank != 2 && s.rank != 3) || s.d[1] != c)
    lerr(l, a->off, "BatchNorm1d(%lld): expected a 2-D or 3-D input with %lld channels", (long long)c, (long long)c);
  Value *shape = v_tuple(l, 4), *back = v_tuple(l, s.rank);
  shape->items[0] = v_int(l, -1), shape->items[1] = v_int(l, c);
  shape->items[2] = v_int(l, s.rank == 3 ? s.d[2] : 1), shape->items[3] = v_int(l, 1);
  back->items[0] = v_int(l, -1), back->items[1] = v_int(l, c);
  if (s.rank == 3) back->items[2] = v_int(l, s.d[2]);
  Value *x4 = bi_call(l, "reshape", x, &shape, 1, a->off);
  Args ba = {.pos = &x4, .npos = 1, .off = a->off};
  Value *y = bi_call(l, "reshape", ly_BatchNorm2d(l, self, &ba), &back, 1, a->off);
  if (y->t.requires_grad) y->t.gradfn = "NativeBatchNormBackward0";
  return y;
}

/* ---- layer normalization ------------------------------------------------------------------ */

/* (x - mean) / sqrt(var + eps) over the last dims (normalized_shape), the variance biased,
 * then * weight + bias, in ATen's order of operations (its float statistics may still
 * differ from these double-accumulated ones in the last bit). */
static Value *layer_norm(L *l, Value *x, Value *ns, Value *w, Value *b, double eps, int32_t off) {
  Shape s = tshape(l, x);
  int64_t d[TT_MAX_RANK];
  int k = 0;
  if (ns && (ns->k == V_TUPLE || ns->k == V_LIST)) {
    for (int i = 0; i < ns->n && k < TT_MAX_RANK; i++) d[k++] = want_int(l, ns->items[i], "normalized_shape", off);
  } else {
    d[k++] = want_int(l, ns, "normalized_shape", off);
  }
  bool ok = k >= 1 && k <= s.rank;
  for (int i = 0; ok && i < k; i++) ok = s.d[s.rank - k + i] == d[i] && !sym_at(&s, s.rank - k + i);
  if (!ok) lerr(l, off, "layer_norm(): normalized_shape must be the input's last dimensions");
  Value *dims = v_tuple(l, k);
  for (int i = 0; i < k; i++) dims->items[i] = v_int(l, i - k);
  Value *mean = reduce(l, OP_MEAN, x, dims, true, off, NULL);
  Value *dx = bi_binop(l, BIN_SUB, x, mean, off);
  Value *var = reduce(l, OP_MEAN, bi_binop(l, BIN_MUL, dx, dx, off), dims, true, off, NULL);
  Value *rstd = bi_call(l, "rsqrt", bi_binop(l, BIN_ADD, var, v_float(l, eps), off), NULL, 0, off);
  /* ATen's order: x * rstd + (-rstd * mean) */
  Value *shift = bi_binop(l, BIN_MUL, bi_unop(l, UN_NEG, rstd, off), mean, off);
  Value *y = bi_binop(l, BIN_ADD, bi_binop(l, BIN_MUL, x, rstd, off), shift, off);
  if (w && w->k == V_TENSOR) y = bi_binop(l, BIN_MUL, y, w, off);
  if (b && b->k == V_TENSOR) y = bi_binop(l, BIN_ADD, y, b, off);
  if (y->t.requires_grad) y->t.gradfn = "NativeLayerNormBackward0";
  return y;
}

B(layer_norm) {
  Value *v[5];
  args_bind(l, "layer_norm", "input, normalized_shape, weight=None, bias=None, eps=1e-05", self, a, v, 5);
  Value *x = tensor_arg(l, v[0], "layer_norm", a->off);
  if (!dt_is_float(tdtype(l, x))) lerr(l, a->off, "layer_norm(): expected a floating point tensor");
  return layer_norm(l, x, v[1], v[2], v[3], want_num(l, v[4], "eps", a->off), a->off);
}

B(LayerNorm) {
  if (self) {
    Value *v[1];
    args_bind(l, "LayerNorm", "input", NULL, a, v, 1);
    Value *x = tensor_arg(l, v[0], "LayerNorm", a->off);
    return layer_norm(l, x, attrs_get(&self->attrs, "normalized_shape"), attrs_get(&self->attrs, "weight"),
                      attrs_get(&self->attrs, "bias"), attrs_get(&self->attrs, "eps")->f, a->off);
  }
  Value *v[3];
  args_bind(l, "LayerNorm", "normalized_shape, eps=1e-05, elementwise_affine=True", NULL, a, v, 3);
  Value *ns = v[0];
  if (ns && ns->k != V_TUPLE && ns->k != V_LIST) {
    ns = v_tuple(l, 1);
    ns->items[0] = v[0];
  }
  if (!ns || ns->n < 1 || ns->n > TT_MAX_RANK) lerr(l, a->off, "LayerNorm(): expected a normalized_shape");
  Value *t = v_tuple(l, ns->n);
  for (int i = 0; i < ns->n; i++) {
    t->items[i] = v_int(l, want_int(l, ns->items[i], "normalized_shape", a->off));
    if (t->items[i]->i < 1) lerr(l, a->off, "LayerNorm(): normalized_shape must be positive");
  }
  Value *m = bi_module_new(l, "LayerNorm");
  attrs_set(l, &m->attrs, "normalized_shape", t);
  attrs_set(l, &m->attrs, "eps", v_float(l, want_num(l, v[1], "eps", a->off)));
  bool affine = !v[2] || v_truthy(l, v[2], a->off);
  attrs_set(l, &m->attrs, "elementwise_affine", v_bool(l, affine));
  if (affine) {
    attrs_set(l, &m->attrs, "weight", bi_make_param(l, bi_call(l, "ones", NULL, &t, 1, a->off), "weight", a->off));
    attrs_set(l, &m->attrs, "bias", bi_make_param(l, bi_call(l, "zeros", NULL, &t, 1, a->off), "bias", a->off));
  }
  return m;
}

/* ---- torch.nn.init: in place, drawing from the program's generator as PyTorch does -------- */

static void fans(L *l, Value *w, double *fan_in, double *fan_out, int32_t off) {
  const Shape s = tn(l, w)->shape;
  if (s.rank < 2) lerr(l, off, "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions");
  double field = 1;
  for (int i = 2; i < s.rank; i++) field *= (double)s.d[i];
  *fan_in = (double)s.d[1] * field;
  *fan_out = (double)s.d[0] * field;
}

static double gain_of(L *l, Value *nonlin, double a, int32_t off) {
  const char *n = nonlin && nonlin->k == V_STR ? nonlin->s : "leaky_relu";
  if (!strcmp(n, "linear") || !strcmp(n, "sigmoid") || !strncmp(n, "conv", 4)) return 1;
  if (!strcmp(n, "tanh")) return 5.0 / 3;
  if (!strcmp(n, "relu")) return sqrt(2.0);
  if (!strcmp(n, "leaky_relu")) return sqrt(2.0 / (1 + a * a));
  if (!strcmp(n, "selu")) return 3.0 / 4;
  lerr(l, off, "Unsupported nonlinearity %s", n);
}

static Value *init_draw(L *l, Value *w, const char *method, double p0, double p1, int32_t off) {
  return bi_call(l, method, w, (Value *[]){v_float(l, p0), v_float(l, p1)}, 2, off);
}

B(init_uniform_) {
  Value *v[3];
  args_bind(l, "uniform_", "tensor, a=0.0, b=1.0", self, a, v, 3);
  return init_draw(l, tensor_arg(l, v[0], "uniform_", a->off), "uniform_", want_num(l, v[1], "a", a->off), want_num(l, v[2], "b", a->off), a->off);
}
B(init_normal_) {
  Value *v[3];
  args_bind(l, "normal_", "tensor, mean=0.0, std=1.0", self, a, v, 3);
  return init_draw(l, tensor_arg(l, v[0], "normal_", a->off), "normal_", want_num(l, v[1], "mean", a->off), want_num(l, v[2], "std", a->off), a->off);
}
/* nn.init works without recording history (PyTorch runs it under no_grad) */
static Value *fill_no_grad(L *l, Value *t, Value *value, int32_t off) {
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *r = value ? bi_call(l, "fill_", t, &value, 1, off) : bi_call(l, "zero_", t, NULL, 0, off);
  l->no_grad = saved;
  return r;
}
B(init_constant_) {
  Value *v[2];
  args_bind(l, "constant_", "tensor, val", self, a, v, 2);
  return fill_no_grad(l, tensor_arg(l, v[0], "constant_", a->off), v[1], a->off);
}
B(init_zeros_) {
  Value *v[1];
  args_bind(l, "zeros_", "tensor", self, a, v, 1);
  return fill_no_grad(l, tensor_arg(l, v[0], "zeros_", a->off), NULL, a->off);
}
B(init_ones_) {
  Value *v[1];
  args_bind(l, "ones_", "tensor", self, a, v, 1);
  return fill_no_grad(l, tensor_arg(l, v[0], "ones_", a->off), v_float(l, 1), a->off);
}
B(init_xavier_uniform_) {
  Value *v[2];
  args_bind(l, "xavier_uniform_", "tensor, gain=1.0", self, a, v, 2);
  double fi, fo;
  fans(l, tensor_arg(l, v[0], "xavier_uniform_", a->off), &fi, &fo, a->off);
  double b = want_num(l, v[1], "gain", a->off) * sqrt(6.0 / (fi + fo));
  return init_draw(l, v[0], "uniform_", -b, b, a->off);
}
B(init_xavier_normal_) {
  Value *v[2];
  args_bind(l, "xavier_normal_", "tensor, gain=1.0", self, a, v, 2);
  double fi, fo;
  fans(l, tensor_arg(l, v[0], "xavier_normal_", a->off), &fi, &fo, a->off);
  return init_draw(l, v[0], "normal_", 0, want_num(l, v[1], "gain", a->off) * sqrt(2.0 / (fi + fo)), a->off);
}
static Value *kaiming(L *l, Value *self, Args *a, const char *fname, bool normal) {
  Value *v[4];
  args_bind(l, fname, "tensor, a=0, mode='fan_in', nonlinearity='leaky_relu'", self, a, v, 4);
  double fi, fo;
  fans(l, tensor_arg(l, v[0], fname, a->off), &fi, &fo, a->off);
  const char *mode = v[2] && v[2]->k == V_STR ? v[2]->s : "fan_in";
  if (strcmp(mode, "fan_in") && strcmp(mode, "fan_out")) lerr(l, a->off, "Mode %s not supported, please use one of fan_in, fan_out", mode);
  double fan = !strcmp(mode, "fan_in") ? fi : fo;
  double std = gain_of(l, v[3], want_num(l, v[1], "a", a->off), a->off) / sqrt(fan);
  if (normal) return init_draw(l, v[0], "normal_", 0, std, a->off);
  return init_draw(l, v[0], "uniform_", -sqrt(3.0) * std, sqrt(3.0) * std, a->off);
}
B(init_kaiming_uniform_) { return kaiming(l, self, a, "kaiming_uniform_", false); }
B(init_kaiming_normal_) { return kaiming(l, self, a, "kaiming_normal_", true); }

const Builtin layer_builtins[] = {
  {"uniform_", BI_FUNC, ly_init_uniform_, 0},
  {"normal_", BI_FUNC, ly_init_normal_, 0},
  {"constant_", BI_FUNC, ly_init_constant_, 0},
  {"zeros_", BI_FUNC, ly_init_zeros_, 0},
  {"ones_", BI_FUNC, ly_init_ones_, 0},
  {"xavier_uniform_", BI_FUNC, ly_init_xavier_uniform_, 0},
  {"xavier_normal_", BI_FUNC, ly_init_xavier_normal_, 0},
  {"kaiming_uniform_", BI_FUNC, ly_init_kaiming_uniform_, 0},
  {"kaiming_normal_", BI_FUNC, ly_init_kaiming_normal_, 0},
  {"conv2d", BI_FUNC, ly_conv2d, 0},
  {"conv1d", BI_FUNC, ly_conv1d, 0},
  {"max_pool2d", BI_FUNC, ly_max_pool2d, 0},
  {"avg_pool2d", BI_FUNC, ly_avg_pool2d, 0},
  {"dropout", BI_FUNC, ly_dropout, 0},
  {"dropout2d", BI_FUNC, ly_dropout2d, 0},
  {"adaptive_avg_pool2d", BI_FUNC, ly_adaptive_avg_pool2d, 0},
  {"layer_norm", BI_FUNC, ly_layer_norm, 0},
  {"Conv2d", BI_CLASS, ly_Conv2d, 0},
  {"Conv1d", BI_CLASS, ly_Conv1d, 0},
  {"MaxPool2d", BI_CLASS, ly_MaxPool2d, 0},
  {"AvgPool2d", BI_CLASS, ly_AvgPool2d, 0},
  {"Dropout", BI_CLASS, ly_Dropout, 0},
  {"BatchNorm2d", BI_CLASS, ly_BatchNorm2d, 0},
  {"BatchNorm1d", BI_CLASS, ly_BatchNorm1d, 0},
  {"Dropout2d", BI_CLASS, ly_Dropout2d, 0},
  {"AdaptiveAvgPool2d", BI_CLASS, ly_AdaptiveAvgPool2d, 0},
  {"LayerNorm", BI_CLASS, ly_LayerNorm, 0},
  /* frontend/rnn.c */
  {"RNN", BI_CLASS, bi_RNN, 0},
  {"LSTM", BI_CLASS, bi_LSTM, 0},
  {"GRU", BI_CLASS, bi_GRU, 0},
  {"RNNCell", BI_CLASS, bi_RNNCell, 0},
  {"LSTMCell", BI_CLASS, bi_LSTMCell, 0},
  {"GRUCell", BI_CLASS, bi_GRUCell, 0},
  /* frontend/transformer.c */
  {"MultiheadAttention", BI_CLASS, bi_MultiheadAttention, 0},
  {"TransformerEncoderLayer", BI_CLASS, bi_TransformerEncoderLayer, 0},
  {"TransformerEncoder", BI_CLASS, bi_TransformerEncoder, 0},
  {"scaled_dot_product_attention", BI_FUNC, bi_scaled_dot_product_attention, 0},
};
const int layer_nbuiltins = (int)(sizeof layer_builtins / sizeof layer_builtins[0]);
