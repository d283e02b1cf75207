/*
 * rnn.c — torch.nn's recurrent modules: RNN (tanh or relu), LSTM and GRU over whole
 * sequences, and their cells RNNCell, LSTMCell and GRUCell, with PyTorch 1.13's arguments,
 * parameter names, shapes, order (parameters(), state_dict()) and initialization.
 *
 * A sequence's length is a compile-time shape, so the time loop is unrolled into the graph
 * from existing ops (linear, sigmoid, tanh, relu, chunk, stack, cat): autodiff needs no rule
 * of its own. The arithmetic follows ATen's CPU path (RNN.cpp) step by step, so the numbers
 * round as PyTorch's do: a layer's input projection is computed for every step at once,
 * then each step adds it to the hidden state's projection; the gates are chunked in
 * PyTorch's order (i, f, g, o for LSTM; r, z, n for GRU). A missing initial state is zeros,
 * whose projection is the hidden bias alone, so no zeros tensor (which would need the batch
 * size, symbolic under a DataLoader) is made.
 *
 * The module classes are rows of layers.c's table; print(model) is modules.c's.
 */
#include "lower.h"

#include <math.h>
#include <string.h>

typedef enum { RK_TANH, RK_RELU, RK_LSTM, RK_GRU } RnnKind;

static int ngates(RnnKind k) { return k == RK_LSTM ? 4 : k == RK_GRU ? 3 : 1; }

static const char *cls_of(RnnKind k, bool cell) {
  static const char *const seq[] = {"RNN", "RNN", "LSTM", "GRU"}, *const cells[] = {"RNNCell", "RNNCell", "LSTMCell", "GRUCell"};
  return cell ? cells[k] : seq[k];
}

/* ---- the traced arithmetic --------------------------------------------------------------- */

static Value *fn1(L *l, const char *name, Value *x, int32_t off) { return bi_call(l, name, NULL, &x, 1, off); }
static Value *add(L *l, Value *a, Value *b, int32_t off) { return bi_binop(l, BIN_ADD, a, b, off); }
static Value *mul(L *l, Value *a, Value *b, int32_t off) { return bi_binop(l, BIN_MUL, a, b, off); }
static Value *sub(L *l, Value *a, Value *b, int32_t off) { return bi_binop(l, BIN_SUB, a, b, off); }

/* x W^T + b (F.linear), b may be NULL */
static Value *lin(L *l, Value *x, Value *w, Value *b, int32_t off) {
  Value *pos[3] = {x, w, b};
  return bi_call(l, "linear", NULL, pos, b ? 3 : 2, off);
}

static Value *at(L *l, Value *x, int64_t i, int32_t off) {
  IndexItem it = {.kind = IX_VALUE, .v = v_int(l, i), .off = off};
  return bi_index(l, x, &it, 1, false, off);
}

static Value *chunk(L *l, Value *x, int n, int32_t off) {
  Value *pos[3] = {x, v_int(l, n), v_int(l, -1)};
  return bi_call(l, "chunk", NULL, pos, 3, off);
}

static Value *dim_op(L *l, const char *name, Value *x, int64_t d, int32_t off) {
  Value *pos[1] = {v_int(l, d)};
  return bi_call(l, name, x, pos, 1, off);
}

static Value *join(L *l, const char *name, Value **xs, int n, int64_t dim, int32_t off) {
  Value *list = v_new(l, V_LIST);
  for (int i = 0; i < n; i++) v_list_push(l, list, xs[i]);
  Value *pos[2] = {list, v_int(l, dim)};
  return bi_call(l, name, NULL, pos, 2, off);
}

/* PyTorch's grad_fn name for a result that requires grad */
static Value *named(Value *y, const char *gradfn) {
  if (y->k == V_TENSOR && y->t.requires_grad) y->t.gradfn = gradfn;
  return y;
}

/* One step of a cell, as ATen's cells compute it. gi is the input's projection
 * (x W_ih^T + b_ih); h and c the state, NULL for zeros (whose projection is b_hh, or zeros
 * without a bias). Returns h'; for LSTM *c_out is c'. */
static Value *cell_step(L *l, RnnKind k, Value *gi, Value *h, Value *c, Value *w_hh, Value *b_hh, Value **c_out,
                        int32_t off) {
  Value *zero = v_float(l, 0.0);
  Value *gh = h ? lin(l, h, w_hh, b_hh, off) : b_hh ? b_hh : zero;
  switch (k) {
  case RK_TANH: return fn1(l, "tanh", add(l, gh, gi, off), off);
  case RK_RELU: return fn1(l, "relu", add(l, gh, gi, off), off);
  case RK_LSTM: {
    /* gates = linear_hh(hx) + linear_ih(x); cy = f * cx + i * g; hy = o * tanh(cy) */
    Value *g = chunk(l, add(l, gh, gi, off), 4, off);
    Value *ig = fn1(l, "sigmoid", g->items[0], off), *fg = fn1(l, "sigmoid", g->items[1], off);
    Value *cg = fn1(l, "tanh", g->items[2], off), *og = fn1(l, "sigmoid", g->items[3], off);
    Value *kept = mul(l, fg, c ? c : zero, off);
    Value *cy = add(l, kept, mul(l, ig, cg, off), off);
    *c_out = cy;
    return mul(l, og, fn1(l, "tanh", cy, off), off);
  }
  case RK_GRU: {
    /* r = sigmoid(gh_r + gi_r); z = sigmoid(gh_z + gi_z); n = tanh(gi_n + gh_n * r);
       hy = (hx - n) * z + n */
    Value *gic = chunk(l, gi, 3, off);
    Value *ghc = gh == zero ? NULL : chunk(l, gh, 3, off);
    Value *r = fn1(l, "sigmoid", add(l, ghc ? ghc->items[0] : zero, gic->items[0], off), off);
    Value *z = fn1(l, "sigmoid", add(l, ghc ? ghc->items[1] : zero, gic->items[1], off), off);
    Value *n = fn1(l, "tanh", add(l, gic->items[2], mul(l, ghc ? ghc->items[2] : zero, r, off), off), off);
    return add(l, mul(l, sub(l, h ? h : zero, n, off), z, off), n, off);
  }
  }
  tt_unreachable();
}

/* ---- construction ------------------------------------------------------------------------ */

static Value *param(L *l, Value *m, const char *name, int64_t d0, int64_t d1, DType dt, double bound, int32_t off) {
  Shape s = {.rank = d1 ? 2 : 1, .d = {d0, d1}};
  Value *p = bi_uniform_param(l, s, dt, bound, name, off);
  attrs_set(l, &m->attrs, name, p);
  return p;
}

static int64_t positive(L *l, Value *v, const char *what, int32_t off) {
  if (!v || v->k != V_INT) lerr(l, off, "%s should be of type int, got: %s", what, v ? v_typename(v) : "None");
  if (v->i <= 0) lerr(l, off, "%s must be greater than zero", what);
  if (v->i > 1000000) lerr(l, off, "%s=%lld is too large for ttc", what, (long long)v->i);
  return v->i;
}

static DType param_dtype(L *l, Value *dt, const char *cls, int32_t off) {
  DType pdt = dt ? want_dtype(l, dt, off) : DT_F32;
  if (!dt_is_float(pdt)) lerr(l, off, "%s(): dtype must be a floating point type", cls);
  return pdt;
}

static RnnKind nonlinearity(L *l, Value *v, int32_t off) {
  if (!v || v->k != V_STR || (strcmp(v->s, "tanh") && strcmp(v->s, "relu")))
    lerr(l, off, "Unknown nonlinearity '%s'", v && v->k == V_STR ? v->s : v ? v_str_of(l, v, false, off) : "None");
  return v->s[0] == 't' ? RK_TANH : RK_RELU;
}

/* RNN/LSTM/GRU(input_size, hidden_size, num_layers=1, [nonlinearity='tanh',] bias=True,
 * batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None).
 * Parameters per layer and direction: weight_ih_l{k}[_reverse], weight_hh_..., bias_ih_...,
 * bias_hh_..., all U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)) drawn in that order. */
static Value *rnn_new(L *l, RnnKind kind, Args *a) {
  const char *cls = cls_of(kind, false);
  Value *v[11] = {0};
  bool isrnn = kind == RK_TANH;
  /* RNN's nonlinearity is keyword-only (RNN.__init__ pops it from kwargs); RNN and GRU
     refuse a proj_size keyword of any value */
  Args b = *a;
  const char **kn = arena_alloc(l->arena, sizeof(char *) * (size_t)(a->nkw + 1));
  Value **kv = arena_alloc(l->arena, sizeof(Value *) * (size_t)(a->nkw + 1));
  b.kwnames = kn, b.kw = kv, b.nkw = 0;
  for (int i = 0; i < a->nkw; i++) {
    if (kind != RK_LSTM && !strcmp(a->kwnames[i], "proj_size"))
      lerr(l, a->off, "proj_size argument is only supported for LSTM, not RNN or GRU");
    if (isrnn && !strcmp(a->kwnames[i], "nonlinearity")) v[3] = a->kw[i];
    else kn[b.nkw] = a->kwnames[i], kv[b.nkw++] = a->kw[i];
  }
  Value *nl = v[3];
  args_bind(l, cls,
            "input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0, "
            "bidirectional=False, proj_size=0, device=None, dtype=None",
            NULL, &b, v, 10);
  memmove(v + 4, v + 3, 7 * sizeof v[0]);
  v[3] = isrnn ? nl ? nl : v_str(l, "tanh") : NULL;
  if (isrnn) kind = nonlinearity(l, v[3], a->off);
  Value *dropout = v[6], *proj = v[8];
  if (!dropout || !(dropout->k == V_INT || dropout->k == V_FLOAT) || want_num(l, dropout, "dropout", a->off) < 0 ||
      want_num(l, dropout, "dropout", a->off) > 1)
    lerr(l, a->off, "dropout should be a number in range [0, 1] representing the probability of an element being zeroed");
  int64_t in = positive(l, v[0], "input_size", a->off), hid = positive(l, v[1], "hidden_size", a->off);
  int64_t layers = positive(l, v[2], "num_layers", a->off);
  if (proj && !(proj->k == V_INT && proj->i == 0)) {
    if (kind != RK_LSTM) lerr(l, a->off, "proj_size argument is only supported for LSTM, not RNN or GRU");
    lerr(l, a->off, "LSTM(): proj_size is not supported by ttc yet");
  }
  if (v[9] && !(v[9]->k == V_STR && !strncmp(v[9]->s, "cpu", 3)) && v[9]->k != V_NONE)
    lerr(l, a->off, "%s(): ttc compiles for the CPU; only device='cpu' is supported", cls);
  DType dt = param_dtype(l, v[10], cls, a->off);
  bool bias = v_truthy(l, v[4], a->off), bidir = v_truthy(l, v[7], a->off);
  int dirs = bidir ? 2 : 1, g = ngates(kind);
  if ((double)layers * dirs * g * hid * (hid + in + hid * dirs) > 1e9) lerr(l, a->off, "%s(): sizes too large for ttc", cls);

  Value *m = bi_module_new(l, cls);
  attrs_set(l, &m->attrs, "mode", v_str(l, kind == RK_LSTM ? "LSTM" : kind == RK_GRU ? "GRU" : kind == RK_TANH ? "RNN_TANH" : "RNN_RELU"));
  attrs_set(l, &m->attrs, "input_size", v[0]);
  attrs_set(l, &m->attrs, "hidden_size", v[1]);
  attrs_set(l, &m->attrs, "num_layers", v[2]);
  if (isrnn) attrs_set(l, &m->attrs, "nonlinearity", v[3]);
  attrs_set(l, &m->attrs, "bias", v[4]);
  attrs_set(l, &m->attrs, "batch_first", v[5]);
  attrs_set(l, &m->attrs, "dropout", dropout);
  attrs_set(l, &m->attrs, "bidirectional", v[7]);
  attrs_set(l, &m->attrs, "proj_size", v_int(l, 0));
  double stdv = 1.0 / sqrt((double)hid);
  for (int64_t k = 0; k < layers; k++)
    for (int d = 0; d < dirs; d++) {
      const char *sfx = d ? "_reverse" : "";
      int64_t lin_in = k == 0 ? in : hid * dirs;
      param(l, m, arena_printf(l->arena, "weight_ih_l%lld%s", (long long)k, sfx), g * hid, lin_in, dt, stdv, a->off);
      param(l, m, arena_printf(l->arena, "weight_hh_l%lld%s", (long long)k, sfx), g * hid, hid, dt, stdv, a->off);
      if (bias) {
        param(l, m, arena_printf(l->arena, "bias_ih_l%lld%s", (long long)k, sfx), g * hid, 0, dt, stdv, a->off);
        param(l, m, arena_printf(l->arena, "bias_hh_l%lld%s", (long long)k, sfx), g * hid, 0, dt, stdv, a->off);
      }
    }
  return m;
}

/* RNNCell/LSTMCell/GRUCell(input_size, hidden_size, bias=True, [nonlinearity='tanh',]
 * device=None, dtype=None): weight_ih, weight_hh, bias_ih, bias_hh. */
static Value *cell_new(L *l, RnnKind kind, Args *a) {
  const char *cls = cls_of(kind, true);
  Value *v[6];
  if (kind == RK_TANH) {
    args_bind(l, cls, "input_size, hidden_size, bias=True, nonlinearity='tanh', device=None, dtype=None", NULL, a, v, 6);
    kind = nonlinearity(l, v[3], a->off);
  } else {
    args_bind(l, cls, "input_size, hidden_size, bias=True, device=None, dtype=None", NULL, a, v, 5);
    memmove(v + 4, v + 3, 2 * sizeof v[0]);
    v[3] = NULL;
  }
  int64_t in = positive(l, v[0], "input_size", a->off), hid = positive(l, v[1], "hidden_size", a->off);
  DType dt = param_dtype(l, v[5], cls, a->off);
  if (v[4] && !(v[4]->k == V_STR && !strncmp(v[4]->s, "cpu", 3)) && v[4]->k != V_NONE)
    lerr(l, a->off, "%s(): ttc compiles for the CPU; only device='cpu' is supported", cls);
  int g = ngates(kind);
  if ((double)g * hid * (hid + in) > 1e9) lerr(l, a->off, "%s(): sizes too large for ttc", cls);
  Value *m = bi_module_new(l, cls);
  attrs_set(l, &m->attrs, "input_size", v[0]);
  attrs_set(l, &m->attrs, "hidden_size", v[1]);
  attrs_set(l, &m->attrs, "bias", v[2]);
  if (v[3]) attrs_set(l, &m->attrs, "nonlinearity", v[3]);
  double stdv = 1.0 / sqrt((double)hid);
  param(l, m, "weight_ih", g * hid, in, dt, stdv, a->off);
  param(l, m, "weight_hh", g * hid, hid, dt, stdv, a->off);
  if (v_truthy(l, v[2], a->off)) {
    param(l, m, "bias_ih", g * hid, 0, dt, stdv, a->off);
    param(l, m, "bias_hh", g * hid, 0, dt, stdv, a->off);
  }
  return m;
}

/* ---- forward ------------------------------------------------------------------------------ */

static RnnKind kind_of(L *l, Value *m) {
  (void)l;
  const char *mode = attrs_get(&m->attrs, "mode") ? attrs_get(&m->attrs, "mode")->s : NULL;
  if (mode) return !strcmp(mode, "LSTM") ? RK_LSTM : !strcmp(mode, "GRU") ? RK_GRU : !strcmp(mode, "RNN_TANH") ? RK_TANH : RK_RELU;
  const char *cls = m->cls->bi->name;
  if (!strcmp(cls, "LSTMCell")) return RK_LSTM;
  if (!strcmp(cls, "GRUCell")) return RK_GRU;
  Value *nl = attrs_get(&m->attrs, "nonlinearity");
  return nl && nl->k == V_STR && !strcmp(nl->s, "relu") ? RK_RELU : RK_TANH;
}

static Value *tensor_or_none(L *l, Value *m, const char *name) {
  Value *p = attrs_get(&m->attrs, name);
  if (!p || p->k == V_NONE) return NULL;
  if (p->k != V_TENSOR) lerr(l, 0, "%s is not a tensor", name);
  return p;
}

static const char *dims_str(L *l, const int64_t *d, int n) {
  char *s = arena_printf(l->arena, "[");
  for (int i = 0; i < n; i++) s = arena_printf(l->arena, "%s%s%lld", s, i ? ", " : "", (long long)d[i]);
  return arena_printf(l->arena, "%s]", s);
}

/* An initial state given as hx (or hx[0], hx[1]): its shape must be (layers*dirs, B, H). */
static Value *state_arg(L *l, Value *h, const char *cls, const char *which, bool unbatched, int64_t ld, Shape xs,
                        int64_t hid, DType dt, int32_t off) {
  Value *t = want_tensor(l, h, cls, off);
  Shape s = tshape(l, t);
  if (unbatched && s.rank != 2) lerr(l, off, "For unbatched 2-D input, hx should also be 2-D but got %d-D tensor", s.rank);
  if (!unbatched && s.rank != 3) lerr(l, off, "For batched 3-D input, hx should also be 3-D but got %d-D tensor", s.rank);
  if (unbatched) t = dim_op(l, "unsqueeze", t, 1, off), s = tshape(l, t);
  if (s.d[0] != ld || s.d[1] != xs.d[1] || s.d[2] != hid || (s.symm) != (xs.symm)) {
    int64_t want[3] = {ld, xs.d[1], hid};
    lerr(l, off, "Expected %s size (%lld, %lld, %lld), got %s", which, (long long)want[0], (long long)want[1],
         (long long)want[2], dims_str(l, s.d, 3));
  }
  if (tdtype(l, t) != dt)
    lerr(l, off, "%s: expected %s to have dtype %s, got %s", cls, which, dt_torch(dt), dt_torch(tdtype(l, t)));
  return t;
}

static bool training_of(L *l, Value *m) {
  Value *t = attrs_get(&m->attrs, "training");
  return !t || v_truthy(l, t, 0);
}

/* forward(input, hx=None) of RNN, LSTM, GRU: (output, h_n), or (output, (h_n, c_n)). */
static Value *rnn_forward(L *l, Value *m, Args *a) {
  RnnKind kind = kind_of(l, m);
  const char *cls = m->cls->bi->name;
  Value *v[2];
  args_bind(l, cls, "input, hx=None", NULL, a, v, 2);
  int32_t off = a->off;
  Value *x = want_tensor(l, v[0], cls, off);
  int64_t in = attrs_get(&m->attrs, "input_size")->i, hid = attrs_get(&m->attrs, "hidden_size")->i;
  int64_t layers = attrs_get(&m->attrs, "num_layers")->i;
  int dirs = v_truthy(l, attrs_get(&m->attrs, "bidirectional"), off) ? 2 : 1;
  bool bf = v_truthy(l, attrs_get(&m->attrs, "batch_first"), off);
  double p = want_num(l, attrs_get(&m->attrs, "dropout"), "dropout", off);
  Shape xs = tshape(l, x);
  if (xs.rank != 2 && xs.rank != 3) lerr(l, off, "%s: Expected input to be 2-D or 3-D but received %d-D tensor", cls, xs.rank);
  bool unbatched = xs.rank == 2;
  DType dt = tdtype(l, attrs_get(&m->attrs, "weight_ih_l0"));
  if (tdtype(l, x) != dt)
    lerr(l, off, "%s: input must have the type %s of the module's parameters, got %s", cls, dt_torch(dt), dt_torch(tdtype(l, x)));
  if (xs.d[xs.rank - 1] != in)
    lerr(l, off, "input.size(-1) must be equal to input_size. Expected %lld, got %lld", (long long)in, (long long)xs.d[xs.rank - 1]);
  if (unbatched) x = dim_op(l, "unsqueeze", x, 1, off);
  else if (bf) x = bi_call(l, "transpose", x, (Value *[]){v_int(l, 0), v_int(l, 1)}, 2, off);
  xs = tshape(l, x);
  if ((xs.symm & 1u)) lerr(l, off, "%s: the sequence length cannot be a run-time (batch) dimension", cls);
  int64_t T = xs.d[0], ld = layers * dirs;
  if (T == 0) lerr(l, off, "%s: the input sequence is empty", cls);
  if (T > 4096) lerr(l, off, "%s: sequences longer than 4096 steps are not supported by ttc (it unrolls them)", cls);

  Value *h0 = NULL, *c0 = NULL;
  if (v[1] && v[1]->k != V_NONE) {
    if (kind == RK_LSTM) {
      if ((v[1]->k != V_TUPLE && v[1]->k != V_LIST) || v[1]->n != 2)
        lerr(l, off, "LSTM: hx must be a tuple (h_0, c_0)");
      h0 = state_arg(l, v[1]->items[0], cls, "hidden[0]", unbatched, ld, xs, hid, dt, off);
      c0 = state_arg(l, v[1]->items[1], cls, "hidden[1]", unbatched, ld, xs, hid, dt, off);
    } else {
      if (v[1]->k != V_TENSOR) lerr(l, off, "%s: hx must be a Tensor, got %s", cls, v_typename(v[1]));
      h0 = state_arg(l, v[1], cls, "hidden", unbatched, ld, xs, hid, dt, off);
    }
  }

  Value **hn = arena_alloc(l->arena, sizeof(Value *) * (size_t)ld), **cn = arena_alloc(l->arena, sizeof(Value *) * (size_t)ld);
  Value **steps = arena_alloc(l->arena, sizeof(Value *) * (size_t)T);
  Value *layer_in = x;
  for (int64_t k = 0; k < layers; k++) {
    Value *outs[2];
    for (int d = 0; d < dirs; d++) {
      const char *sfx = d ? "_reverse" : "";
      Value *w_ih = tensor_or_none(l, m, arena_printf(l->arena, "weight_ih_l%lld%s", (long long)k, sfx));
      Value *w_hh = tensor_or_none(l, m, arena_printf(l->arena, "weight_hh_l%lld%s", (long long)k, sfx));
      Value *b_ih = tensor_or_none(l, m, arena_printf(l->arena, "bias_ih_l%lld%s", (long long)k, sfx));
      Value *b_hh = tensor_or_none(l, m, arena_printf(l->arena, "bias_hh_l%lld%s", (long long)k, sfx));
      if (!w_ih || !w_hh) lerr(l, off, "%s: weight_ih_l%lld%s is missing", cls, (long long)k, sfx);
      Value *xw = lin(l, layer_in, w_ih, b_ih, off); /* [T, B, G*H], every step at once */
      int64_t idx = k * dirs + d;
      Value *h = h0 ? at(l, h0, idx, off) : NULL, *c = c0 ? at(l, c0, idx, off) : NULL;
      for (int64_t s = 0; s < T; s++) {
        int64_t t = d ? T - 1 - s : s;
        Value *cy = NULL;
        h = cell_step(l, kind, at(l, xw, t, off), h, c, w_hh, b_hh, &cy, off);
        c = cy;
        steps[t] = h;
      }
      outs[d] = join(l, "stack", steps, (int)T, 0, off);
      hn[idx] = h, cn[idx] = c;
    }
    layer_in = dirs == 2 ? join(l, "cat", outs, 2, -1, off) : outs[0];
    if (p > 0 && k < layers - 1 && training_of(l, m)) {
      Value *pos[3] = {layer_in, v_float(l, p), l->vtrue};
      layer_in = bi_call(l, "dropout", NULL, pos, 3, off);
    }
  }
  Value *out = layer_in;
  Value *h_n = join(l, "stack", hn, (int)ld, 0, off), *c_n = kind == RK_LSTM ? join(l, "stack", cn, (int)ld, 0, off) : NULL;
  if (unbatched) {
    out = dim_op(l, "squeeze", out, 1, off);
    h_n = dim_op(l, "squeeze", h_n, 1, off);
    if (c_n) c_n = dim_op(l, "squeeze", c_n, 1, off);
  } else if (bf) {
    out = named(bi_call(l, "transpose", out, (Value *[]){v_int(l, 0), v_int(l, 1)}, 2, off),
                kind == RK_LSTM ? "TransposeBackward0" : "TransposeBackward1");
  }
  Value *r = v_tuple(l, 2);
  r->items[0] = out;
  if (c_n) {
    Value *hc = v_tuple(l, 2);
    hc->items[0] = h_n, hc->items[1] = c_n;
    r->items[1] = hc;
  } else
    r->items[1] = h_n;
  return r;
}

/* A cell's state argument: [B, H] (or [H] for an unbatched input). */
static Value *cell_state(L *l, Value *h, const char *cls, int n, bool unbatched, Shape xs, int64_t hid, DType dt,
                         int32_t off) {
  Value *t = want_tensor(l, h, cls, off);
  Shape s = tshape(l, t);
  if (s.rank != (unbatched ? 1 : 2))
    lerr(l, off, "%s: Expected hidden to be %d-D for %s input, got %d-D", cls, unbatched ? 1 : 2,
         unbatched ? "1-D (unbatched)" : "2-D (batched)", s.rank);
  if (unbatched) t = dim_op(l, "unsqueeze", t, 0, off), s = tshape(l, t);
  if (s.d[0] != xs.d[0] || (s.symm) != (xs.symm))
    lerr(l, off, "Input batch size %lld doesn't match hidden%d batch size %lld", (long long)xs.d[0], n, (long long)s.d[0]);
  if (s.d[1] != hid) lerr(l, off, "hidden%d has inconsistent hidden_size: got %lld, expected %lld", n, (long long)s.d[1], (long long)hid);
  if (tdtype(l, t) != dt) lerr(l, off, "%s: expected hidden%d to have dtype %s, got %s", cls, n, dt_torch(dt), dt_torch(tdtype(l, t)));
  return t;
}

/* forward(input, hx=None) of the cells: h', or (h', c') for LSTMCell. */
static Value *cell_forward(L *l, Value *m, Args *a) {
  RnnKind kind = kind_of(l, m);
  const char *cls = m->cls->bi->name;
  Value *v[2];
  args_bind(l, cls, "input, hx=None", NULL, a, v, 2);
  int32_t off = a->off;
  Value *x = want_tensor(l, v[0], cls, off);
  int64_t in = attrs_get(&m->attrs, "input_size")->i, hid = attrs_get(&m->attrs, "hidden_size")->i;
  Shape xs = tshape(l, x);
  if (xs.rank != 1 && xs.rank != 2) lerr(l, off, "%s: Expected input to be 1-D or 2-D but received %d-D tensor", cls, xs.rank);
  bool unbatched = xs.rank == 1;
  Value *w_ih = tensor_or_none(l, m, "weight_ih"), *w_hh = tensor_or_none(l, m, "weight_hh");
  Value *b_ih = tensor_or_none(l, m, "bias_ih"), *b_hh = tensor_or_none(l, m, "bias_hh");
  DType dt = tdtype(l, w_ih);
  if (tdtype(l, x) != dt)
    lerr(l, off, "%s: input must have the type %s of the module's parameters, got %s", cls, dt_torch(dt), dt_torch(tdtype(l, x)));
  if (xs.d[xs.rank - 1] != in)
    lerr(l, off, "input has inconsistent input_size: got %lld expected %lld", (long long)xs.d[xs.rank - 1], (long long)in);
  if (unbatched) x = dim_op(l, "unsqueeze", x, 0, off), xs = tshape(l, x);
  Value *h = NULL, *c = NULL;
  if (v[1] && v[1]->k != V_NONE) {
    if (kind == RK_LSTM) {
      if ((v[1]->k != V_TUPLE && v[1]->k != V_LIST) || v[1]->n != 2) lerr(l, off, "LSTMCell: hx must be a tuple (h_0, c_0)");
      h = cell_state(l, v[1]->items[0], cls, 0, unbatched, xs, hid, dt, off);
      c = cell_state(l, v[1]->items[1], cls, 1, unbatched, xs, hid, dt, off);
    } else
      h = cell_state(l, v[1], cls, 0, unbatched, xs, hid, dt, off);
  }
  Value *cy = NULL;
  Value *hy = cell_step(l, kind, lin(l, x, w_ih, b_ih, off), h, c, w_hh, b_hh, &cy, off);
  if (unbatched) {
    hy = dim_op(l, "squeeze", hy, 0, off);
    if (cy) cy = dim_op(l, "squeeze", cy, 0, off);
  }
  if (kind != RK_LSTM) return hy;
  Value *r = v_tuple(l, 2);
  r->items[0] = hy, r->items[1] = cy;
  return r;
}

/* ---- the classes (rows of layers.c's table) ---------------------------------------------- */

BI_FN(RNN) { return self ? rnn_forward(l, self, a) : rnn_new(l, RK_TANH, a); }
BI_FN(LSTM) { return self ? rnn_forward(l, self, a) : rnn_new(l, RK_LSTM, a); }
BI_FN(GRU) { return self ? rnn_forward(l, self, a) : rnn_new(l, RK_GRU, a); }
BI_FN(RNNCell) { return self ? cell_forward(l, self, a) : cell_new(l, RK_TANH, a); }
BI_FN(LSTMCell) { return self ? cell_forward(l, self, a) : cell_new(l, RK_LSTM, a); }
BI_FN(GRUCell) { return self ? cell_forward(l, self, a) : cell_new(l, RK_GRU, a); }

/* PyTorch's extra_repr of these modules, for print(model). */
const char *rnn_extra_repr(L *l, Value *m, int32_t off) {
  const char *k = m->cls->bi->name;
  Attrs *a = &m->attrs;
  bool cell = strstr(k, "Cell") != NULL;
  if (!cell && strcmp(k, "RNN") && strcmp(k, "LSTM") && strcmp(k, "GRU")) return NULL;
  char *s = arena_printf(l->arena, "%s, %s", v_str_of(l, attrs_get(a, "input_size"), false, off),
                         v_str_of(l, attrs_get(a, "hidden_size"), false, off));
  Value *bias = attrs_get(a, "bias");
  if (cell) {
    if (!(bias->k == V_BOOL && bias->i)) s = arena_printf(l->arena, "%s, bias=%s", s, v_str_of(l, bias, false, off));
    Value *nl = attrs_get(a, "nonlinearity");
    if (nl && nl->k == V_STR && strcmp(nl->s, "tanh")) s = arena_printf(l->arena, "%s, nonlinearity=%s", s, nl->s);
    return s;
  }
  Value *nl = attrs_get(a, "num_layers"), *bf = attrs_get(a, "batch_first"), *dp = attrs_get(a, "dropout"),
        *bd = attrs_get(a, "bidirectional");
  if (nl->i != 1) s = arena_printf(l->arena, "%s, num_layers=%s", s, v_str_of(l, nl, false, off));
  if (!(bias->k == V_BOOL && bias->i)) s = arena_printf(l->arena, "%s, bias=%s", s, v_str_of(l, bias, false, off));
  if (!(bf->k == V_BOOL && !bf->i)) s = arena_printf(l->arena, "%s, batch_first=%s", s, v_str_of(l, bf, false, off));
  if (want_num(l, dp, "dropout", off) != 0) s = arena_printf(l->arena, "%s, dropout=%s", s, v_str_of(l, dp, false, off));
  if (!(bd->k == V_BOOL && !bd->i)) s = arena_printf(l->arena, "%s, bidirectional=%s", s, v_str_of(l, bd, false, off));
  return s;
}
