/*
 * transformer.c — torch.nn's MultiheadAttention, TransformerEncoderLayer and
 * TransformerEncoder, with PyTorch 1.13's arguments, parameter names and order, and
 * initialization drawn from the same random stream (MultiheadAttention: out_proj's Linear
 * draws first, then xavier_uniform_ of in_proj_weight; the biases become zeros).
 *
 * Forward is F.multi_head_attention_forward composed from existing ops (linear, chunk,
 * reshape, transpose, bmm, softmax, dropout), in its order, so the dropout masks are
 * PyTorch's for a seed and autodiff needs no new rule. TransformerEncoder deep-copies its
 * layer as PyTorch's _get_clones does: every copy starts from the layer's values.
 *
 * F.scaled_dot_product_attention, PyTorch 2's, is composed the same way.
 *
 * The module classes are rows of layers.c's table; print(model) is modules.c's.
 */
#include "lower.h"

#include <math.h>
#include <string.h>

static Value *new_module(L *l, const char *cls, Value **pos, int npos, const char **kn, Value **kv, int nk, int32_t off) {
  const Builtin *b = bi_lookup(cls, BI_CLASS);
  TT_ASSERT(b);
  Args a = {.pos = pos, .npos = npos, .kwnames = kn, .kw = kv, .nkw = nk, .off = off};
  return b->fn(l, NULL, &a);
}

static Value *call1(L *l, Value *m, Value *x, int32_t off) {
  Args a = {.pos = &x, .npos = 1, .off = off};
  return v_call(l, m, &a);
}

static Value *reshape(L *l, Value *x, const int64_t *d, int n, int32_t off) {
  Value *pos[4];
  for (int i = 0; i < n; i++) pos[i] = v_int(l, d[i]);
  return bi_call(l, "reshape", x, pos, n, off);
}

static Value *transpose(L *l, Value *x, int a, int b, int32_t off) {
  return bi_call(l, "transpose", x, (Value *[]){v_int(l, a), v_int(l, b)}, 2, off);
}

static Value *lin(L *l, Value *x, Value *w, Value *b, int32_t off) {
  Value *pos[3] = {x, w, b};
  return bi_call(l, "linear", NULL, pos, b ? 3 : 2, off);
}

static bool training_of(L *l, Value *m) {
  Value *t = attrs_get(&m->attrs, "training");
  return !t || v_truthy(l, t, 0);
}

static Value *opt_tensor(Value *v) { return v && v->k == V_TENSOR ? v : NULL; }

/* ---- MultiheadAttention ---------------------------------------------------------------- */

/* MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
 * add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None, dtype=None) */
static Value *mha_new(L *l, Args *a) {
  Value *v[11];
  args_bind(l, "MultiheadAttention",
            "embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False, add_zero_attn=False, kdim=None, "
            "vdim=None, batch_first=False, device=None, dtype=None",
            NULL, a, v, 11);
  int32_t off = a->off;
  int64_t E = want_int(l, v[0], "embed_dim", off), H = want_int(l, v[1], "num_heads", off);
  if (E <= 0 || H <= 0) lerr(l, off, "embed_dim and num_heads must be greater than 0, got embed_dim=%lld and num_heads=%lld", (long long)E, (long long)H);
  if (E % H) lerr(l, off, "embed_dim must be divisible by num_heads");
  if (E > 65536) lerr(l, off, "MultiheadAttention(): embed_dim=%lld is too large for ttc", (long long)E);
  if (v_truthy(l, v[4], off)) lerr(l, off, "MultiheadAttention(): add_bias_kv is not supported by ttc yet");
  if (v_truthy(l, v[5], off)) lerr(l, off, "MultiheadAttention(): add_zero_attn is not supported by ttc yet");
  if ((v[6] && v[6]->k != V_NONE && want_int(l, v[6], "kdim", off) != E) || (v[7] && v[7]->k != V_NONE && want_int(l, v[7], "vdim", off) != E))
    lerr(l, off, "MultiheadAttention(): kdim and vdim other than embed_dim are not supported by ttc yet");
  double p = want_num(l, v[2], "dropout", off);
  if (p < 0 || p > 1) lerr(l, off, "dropout probability has to be between 0 and 1, but got %g", p);
  DType dt = v[10] ? want_dtype(l, v[10], off) : DT_F32;
  if (!dt_is_float(dt)) lerr(l, off, "MultiheadAttention(): dtype must be a floating point type");
  bool bias = v_truthy(l, v[3], off);
  Value *m = bi_module_new(l, "MultiheadAttention");
  attrs_set(l, &m->attrs, "embed_dim", v_int(l, E));
  attrs_set(l, &m->attrs, "num_heads", v_int(l, H));
  attrs_set(l, &m->attrs, "dropout", v_float(l, p));
  attrs_set(l, &m->attrs, "batch_first", v_bool(l, v_truthy(l, v[8], off)));
  attrs_set(l, &m->attrs, "head_dim", v_int(l, E / H));
  /* in_proj_weight and in_proj_bias are registered first (parameters() order), drawn after
     out_proj's Linear: placeholders now, replaced below */
  attrs_set(l, &m->attrs, "in_proj_weight", l->none);
  attrs_set(l, &m->attrs, "in_proj_bias", l->none);
  const char *kn[2] = {"bias", "dtype"};
  Value *kv[2] = {v_bool(l, bias), v[10] ? v[10] : l->none};
  Value *out = new_module(l, "Linear", (Value *[]){v_int(l, E), v_int(l, E)}, 2, kn, kv, v[10] ? 2 : 1, off);
  Value *cls = v_new(l, V_CLASS);
  cls->bi = bi_lookup("NonDynamicallyQuantizableLinear", BI_CLASS);
  cls->s = cls->bi->name;
  out->cls = cls;
  attrs_set(l, &m->attrs, "out_proj", out);
  /* xavier_uniform_: U(-a, a), a = sqrt(6 / (fan_in + fan_out)) of a [3E, E] weight */
  double bound = sqrt(6.0 / (double)(E + 3 * E));
  attrs_set(l, &m->attrs, "in_proj_weight",
            bi_uniform_param(l, (Shape){.rank = 2, .d = {3 * E, E}}, dt, bound, "in_proj_weight", off));
  if (bias) {
    Value *z = filled(l, (Shape){.rank = 1, .d = {3 * E}}, dt, 0.0, off);
    attrs_set(l, &m->attrs, "in_proj_bias", bi_make_param(l, z, "in_proj_bias", off));
    /* constant_(out_proj.bias, 0.): after its draw, as PyTorch */
    Value *ob = attrs_get(&out->attrs, "bias");
    bi_call(l, "constant_", NULL, (Value *[]){ob, v_float(l, 0.0)}, 2, off);
  }
  return m;
}

/* F.multi_head_attention_forward's computation for query [L, N, E], key and value [S, N, E]:
 * (output [L, N, E], weights [N, L, S] averaged over heads, or NULL). */
static Value *mha_compute(L *l, Value *m, Value *q, Value *k, Value *vv, Value *mask, bool need_weights, bool average,
                          int32_t off) {
  int64_t E = attrs_get(&m->attrs, "embed_dim")->i, H = attrs_get(&m->attrs, "num_heads")->i, hd = E / H;
  Shape qs = tshape(l, q), ks = tshape(l, k);
  int64_t Lq = qs.d[0], N = qs.d[1], S = ks.d[0];
  Value *w = attrs_get(&m->attrs, "in_proj_weight"), *b = opt_tensor(attrs_get(&m->attrs, "in_proj_bias"));
  Value *out_proj = attrs_get(&m->attrs, "out_proj");
  Value *Q, *K, *V;
  if (q == k && k == vv) {
    Value *pr = bi_call(l, "chunk", NULL, (Value *[]){lin(l, q, w, b, off), v_int(l, 3), v_int(l, -1)}, 3, off);
    Q = pr->items[0], K = pr->items[1], V = pr->items[2];
  } else {
    Value *ws = bi_call(l, "chunk", NULL, (Value *[]){w, v_int(l, 3)}, 2, off);
    Value *bs = b ? bi_call(l, "chunk", NULL, (Value *[]){b, v_int(l, 3)}, 2, off) : NULL;
    Q = lin(l, q, ws->items[0], bs ? bs->items[0] : NULL, off);
    K = lin(l, k, ws->items[1], bs ? bs->items[1] : NULL, off);
    V = lin(l, vv, ws->items[2], bs ? bs->items[2] : NULL, off);
  }
  /* [L, N, E] -> [N*H, L, hd] */
  Q = transpose(l, reshape(l, Q, (int64_t[]){Lq, N * H, hd}, 3, off), 0, 1, off);
  K = transpose(l, reshape(l, K, (int64_t[]){S, N * H, hd}, 3, off), 0, 1, off);
  V = transpose(l, reshape(l, V, (int64_t[]){S, N * H, hd}, 3, off), 0, 1, off);
  Value *qs_ = bi_binop(l, BIN_DIV, Q, v_float(l, sqrt((double)hd)), off);
  Value *att = bi_call(l, "bmm", NULL, (Value *[]){qs_, transpose(l, K, -2, -1, off)}, 2, off);
  if (mask) att = bi_binop(l, BIN_ADD, mask, att, off);
  att = bi_call(l, "softmax", NULL, (Value *[]){att, v_int(l, -1)}, 2, off);
  double p = attrs_get(&m->attrs, "dropout")->f;
  if (p > 0 && training_of(l, m)) att = bi_call(l, "dropout", NULL, (Value *[]){att, v_float(l, p), l->vtrue}, 3, off);
  Value *o = bi_call(l, "bmm", NULL, (Value *[]){att, V}, 2, off);
  o = reshape(l, transpose(l, o, 0, 1, off), (int64_t[]){Lq * N, E}, 2, off);
  o = call1(l, out_proj, o, off);
  o = reshape(l, o, (int64_t[]){Lq, N, E}, 3, off);
  Value *r = v_tuple(l, 2);
  r->items[0] = o;
  r->items[1] = l->none;
  if (need_weights) {
    Value *aw = reshape(l, att, (int64_t[]){N, H, Lq, S}, 4, off);
    if (average) {
      aw = bi_call(l, "sum", aw, (Value *[]){v_int(l, 1)}, 1, off);
      aw = bi_binop(l, BIN_DIV, aw, v_int(l, H), off);
    }
    r->items[1] = aw;
  }
  return r;
}

/* attn_mask [L, S] or [N*H, L, S]: a float mask is added, a bool one is -inf where True. */
static Value *attn_mask_of(L *l, Value *mask, int64_t Lq, int64_t S, int64_t NH, DType dt, int32_t off) {
  if (!mask || mask->k == V_NONE) return NULL;
  Value *t = want_tensor(l, mask, "MultiheadAttention", off);
  Shape s = tshape(l, t);
  DType mdt = tdtype(l, t);
  if (!dt_is_float(mdt) && mdt != DT_BOOL)
    lerr(l, off, "Only float, byte, and bool types are supported for attn_mask, not %s", dt_torch(mdt));
  if (s.rank == 2) {
    if (s.d[0] != Lq || s.d[1] != S)
      lerr(l, off, "The shape of the 2D attn_mask is torch.Size([%lld, %lld]), but should be (%lld, %lld).", (long long)s.d[0],
           (long long)s.d[1], (long long)Lq, (long long)S);
    t = bi_call(l, "unsqueeze", t, (Value *[]){v_int(l, 0)}, 1, off);
  } else if (s.rank == 3) {
    if (s.d[0] != NH || s.d[1] != Lq || s.d[2] != S || s.symm)
      lerr(l, off, "The shape of the 3D attn_mask is torch.Size([%lld, %lld, %lld]), but should be (%lld, %lld, %lld).",
           (long long)s.d[0], (long long)s.d[1], (long long)s.d[2], (long long)NH, (long long)Lq, (long long)S);
  } else
    lerr(l, off, "attn_mask's dimension %d is not supported", s.rank);
  if (mdt == DT_BOOL) {
    Value *z = filled(l, tshape(l, t), dt, 0.0, off);
    t = bi_call(l, "masked_fill", z, (Value *[]){t, v_float(l, -INFINITY)}, 2, off);
  }
  return t;
}

/* forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
 * average_attn_weights=True) -> (attn_output, attn_output_weights or None) */
static Value *mha_forward(L *l, Value *m, Value *q, Value *k, Value *v, Value *kpm, bool need_weights, Value *mask,
                          bool average, int32_t off) {
  if (kpm && kpm->k != V_NONE) lerr(l, off, "MultiheadAttention: key_padding_mask is not supported by ttc yet");
  q = want_tensor(l, q, "MultiheadAttention", off);
  bool same_kv = k == v, self_attn = q == k && same_kv;
  k = want_tensor(l, k, "MultiheadAttention", off), v = want_tensor(l, v, "MultiheadAttention", off);
  int64_t E = attrs_get(&m->attrs, "embed_dim")->i, H = attrs_get(&m->attrs, "num_heads")->i;
  bool bf = v_truthy(l, attrs_get(&m->attrs, "batch_first"), off);
  Shape qs = tshape(l, q), ks = tshape(l, k), vs = tshape(l, v);
  if (qs.rank != 2 && qs.rank != 3) lerr(l, off, "query should be unbatched 2D or batched 3D tensor but received %d-D query tensor", qs.rank);
  if (ks.rank != qs.rank || vs.rank != qs.rank)
    lerr(l, off, "For %s query, expected key and value to be %d-D but found %d-D and %d-D tensors respectively",
         qs.rank == 3 ? "batched (3-D)" : "unbatched (2-D)", qs.rank, ks.rank, vs.rank);
  if (qs.symm || ks.symm || vs.symm)
    lerr(l, off, "MultiheadAttention on a DataLoader's batch (a run-time size) is not supported by ttc yet");
  DType dt = tdtype(l, attrs_get(&m->attrs, "in_proj_weight"));
  if (tdtype(l, q) != dt || tdtype(l, k) != dt || tdtype(l, v) != dt)
    lerr(l, off, "MultiheadAttention: query, key and value must have the parameters' dtype %s", dt_torch(dt));
  bool batched = qs.rank == 3;
  if (batched && bf) {
    q = transpose(l, q, 1, 0, off);
    k = self_attn ? q : transpose(l, k, 1, 0, off);
    v = same_kv ? k : transpose(l, v, 1, 0, off);
  } else if (!batched) {
    q = bi_call(l, "unsqueeze", q, (Value *[]){v_int(l, 1)}, 1, off);
    k = self_attn ? q : bi_call(l, "unsqueeze", k, (Value *[]){v_int(l, 1)}, 1, off);
    v = same_kv ? k : bi_call(l, "unsqueeze", v, (Value *[]){v_int(l, 1)}, 1, off);
  }
  qs = tshape(l, q), ks = tshape(l, k), vs = tshape(l, v);
  if (qs.d[2] != E) lerr(l, off, "was expecting embedding dimension of %lld, but got %lld", (long long)E, (long long)qs.d[2]);
  if (ks.d[2] != E || vs.d[2] != E || ks.d[0] != vs.d[0] || ks.d[1] != qs.d[1] || vs.d[1] != qs.d[1])
    lerr(l, off, "key shape and value shape must match (S, N, %lld) for a query of batch %lld", (long long)E, (long long)qs.d[1]);
  Value *am = attn_mask_of(l, mask, qs.d[0], ks.d[0], qs.d[1] * H, dt, off);
  Value *r = mha_compute(l, m, q, k, v, am, need_weights, average, off);
  if (batched && bf) r->items[0] = transpose(l, r->items[0], 1, 0, off);
  else if (!batched) {
    r->items[0] = bi_call(l, "squeeze", r->items[0], (Value *[]){v_int(l, 1)}, 1, off);
    if (r->items[1]->k == V_TENSOR) r->items[1] = bi_call(l, "squeeze", r->items[1], (Value *[]){v_int(l, 0)}, 1, off);
  }
  return r;
}

BI_FN(MultiheadAttention) {
  if (!self) return mha_new(l, a);
  Value *v[7];
  args_bind(l, "MultiheadAttention.forward",
            "query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None, average_attn_weights=True", NULL, a,
            v, 7);
  return mha_forward(l, self, v[0], v[1], v[2], v[3], v_truthy(l, v[4], a->off), v[5], v_truthy(l, v[6], a->off), a->off);
}

/* ---- F.scaled_dot_product_attention ----------------------------------------------------- */

/*
 * scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
 * is_causal=False, scale=None) as PyTorch 2 documents it, for query [..., L, E], key
 * [..., S, E], value [..., S, Ev] (batch dims broadcast) -> [..., L, Ev]:
 *
 *   attn_bias = 0, or -inf where attn_mask (bool) is False / above the diagonal (is_causal),
 *               or the float attn_mask
 *   attn = softmax(query @ key.transpose(-2, -1) * scale + attn_bias, dim=-1)
 *   attn = dropout(attn, dropout_p, train=True)          (when dropout_p > 0)
 *   return attn @ value
 *
 * with scale 1/sqrt(E) by default. Composed from matmul, where, softmax and dropout, so
 * gradients need no rule of their own and dropout draws F.dropout's numbers. Like the
 * function, it applies dropout_p whatever the module's mode: callers pass
 * dropout_p=self.dropout if self.training else 0.
 */
BI_FN(scaled_dot_product_attention) {
  Value *v[7];
  args_bind(l, "scaled_dot_product_attention",
            "query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None", self,
            a, v, 7);
  const char *fn = "scaled_dot_product_attention";
  Value *q = want_tensor(l, v[0], fn, a->off), *k = want_tensor(l, v[1], fn, a->off);
  Value *val = want_tensor(l, v[2], fn, a->off);
  DType dt = tdtype(l, q);
  if (tdtype(l, k) != dt || tdtype(l, val) != dt)
    lerr(l, a->off,
         "Expected query, key, and value to have the same dtype, but got query.dtype: %s "
         "key.dtype: %s and value.dtype: %s instead.",
         dt_torch(dt), dt_torch(tdtype(l, k)), dt_torch(tdtype(l, val)));
  if (!dt_is_float(dt))
    lerr(l, a->off, "%s: query, key and value must be floating point, not %s", fn, dt_torch(dt));
  Shape qs = tshape(l, q), ks = tshape(l, k), vs = tshape(l, val);
  if (qs.rank < 2 || ks.rank < 2 || vs.rank < 2)
    lerr(l, a->off,
         "%s: query, key and value need at least 2 dimensions ([..., L, E]), got %d, %d and %d", fn,
         qs.rank, ks.rank, vs.rank);
  if ((qs.symm >> (qs.rank - 2)) || (ks.symm >> (ks.rank - 2)))
    lerr(l, a->off, "%s: the sequence and embedding sizes must be known at compile time", fn);
  int64_t Lq = qs.d[qs.rank - 2], S = ks.d[ks.rank - 2], E = qs.d[qs.rank - 1];
  if (ks.d[ks.rank - 1] != E)
    lerr(l, a->off, "%s: query's last dimension (%lld) and key's (%lld) must be equal", fn,
         (long long)E, (long long)ks.d[ks.rank - 1]);
  if (vs.d[vs.rank - 2] != S)
    lerr(l, a->off, "%s: key and value must have the same sequence length, got %lld and %lld", fn,
         (long long)S, (long long)vs.d[vs.rank - 2]);
  Value *mask = v[3] && v[3]->k != V_NONE ? want_tensor(l, v[3], fn, a->off) : NULL;
  double p = want_num(l, v[4], "dropout_p", a->off);
  bool causal = v_truthy(l, v[5], a->off);
  double scale =
      v[6] && v[6]->k != V_NONE ? want_num(l, v[6], "scale", a->off) : 1.0 / sqrt((double)E);
  if (causal && mask) /* PyTorch 2's check */
    lerr(l, a->off,
         "_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True");
  Value *att = bi_binop(l, BIN_MATMUL, q, transpose(l, k, -2, -1, a->off), a->off);
  att = bi_binop(l, BIN_MUL, att, v_float(l, scale), a->off);
  Value *bias = NULL, *keep = NULL;
  if (causal) { /* ones(L, S).tril(): key j takes part for query i when j <= i */
    Value *rows = bi_call(l, "arange", NULL, (Value *[]){v_int(l, Lq)}, 1, a->off);
    rows = bi_call(l, "unsqueeze", rows, (Value *[]){v_int(l, 1)}, 1, a->off);
    Value *cols = bi_call(l, "arange", NULL, (Value *[]){v_int(l, S)}, 1, a->off);
    keep = bi_compare(l, CMP_LE, cols, rows, a->off);
  } else if (mask && tdtype(l, mask) == DT_BOOL) {
    keep = mask; /* True: takes part */
  } else if (mask) {
    if (!dt_is_float(tdtype(l, mask)))
      lerr(l, a->off, "%s: attn_mask must be a bool or floating point tensor, not %s", fn,
           dt_torch(tdtype(l, mask)));
    bias = mask; /* added */
  }
  if (keep) { /* where(keep, 0, -inf) in the weights' dtype */
    Value *zero = filled(l, shape_scalar(), dt, 0.0, a->off);
    bias = bi_select(l, keep, zero, v_float(l, -INFINITY), a->off, NULL);
  }
  if (bias) {
    Shape as = tshape(l, att);
    Value *sum = bi_binop(l, BIN_ADD, att, bias, a->off); /* attn_weight += attn_bias, in place */
    Shape ss = tshape(l, sum);
    if (!shape_eq(&ss, &as)) {
      char b1[96], b2[96];
      Shape ms = tshape(l, mask ? mask : bias);
      lerr(l, a->off, "%s: attn_mask of shape %s does not broadcast to the attention weights' %s",
           fn, shape_str(&ms, b1, sizeof b1), shape_str(&as, b2, sizeof b2));
    }
    if (tdtype(l, sum) != dt) { /* the in-place add keeps the weights' dtype */
      Value *d = v_new(l, V_DTYPE);
      d->i = dt;
      sum = bi_call(l, "to", sum, &d, 1, a->off);
    }
    att = sum;
  }
  att = bi_call(l, "softmax", NULL, (Value *[]){att, v_int(l, -1)}, 2, a->off);
  if (p < 0 || p > 1)
    lerr(l, a->off, "dropout probability has to be between 0 and 1, but got %g", p);
  if (p > 0)
    att = bi_call(l, "dropout", NULL, (Value *[]){att, v_float(l, p), l->vtrue}, 3, a->off);
  return bi_binop(l, BIN_MATMUL, att, val, a->off);
}

/* ---- TransformerEncoderLayer ---------------------------------------------------------- */

/* TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
 * activation=relu, layer_norm_eps=1e-05, batch_first=False, norm_first=False, device=None,
 * dtype=None): self_attn, linear1, dropout, linear2, norm1, norm2, dropout1, dropout2 */
static Value *enc_layer_new(L *l, Args *a) {
  Value *v[10];
  args_bind(l, "TransformerEncoderLayer",
            "d_model, nhead, dim_feedforward=2048, dropout=0.1, activation='relu', layer_norm_eps=1e-05, "
            "batch_first=False, norm_first=False, device=None, dtype=None",
            NULL, a, v, 10);
  int32_t off = a->off;
  Value *act = v[4];
  const char *actname = NULL;
  if (act->k == V_STR && (!strcmp(act->s, "relu") || !strcmp(act->s, "gelu"))) actname = act->s;
  else if (act->k == V_BUILTIN && act->bi && (!strcmp(act->bi->name, "relu") || !strcmp(act->bi->name, "gelu")) && !act->self)
    actname = act->bi->name;
  else if (act->k == V_STR)
    lerr(l, off, "activation should be relu/gelu, not %s", act->s);
  else
    lerr(l, off, "TransformerEncoderLayer(): activation must be 'relu', 'gelu', F.relu or F.gelu in ttc");
  Value *m = bi_module_new(l, "TransformerEncoderLayer");
  const char *kn[3] = {"dropout", "batch_first", "dtype"};
  Value *kv[3] = {v[3], v[6], v[9] ? v[9] : l->none};
  attrs_set(l, &m->attrs, "self_attn", new_module(l, "MultiheadAttention", (Value *[]){v[0], v[1]}, 2, kn, kv, v[9] ? 3 : 2, off));
  const char *dk[1] = {"dtype"};
  Value *dv[1] = {v[9]};
  int nd = v[9] ? 1 : 0;
  attrs_set(l, &m->attrs, "linear1", new_module(l, "Linear", (Value *[]){v[0], v[2]}, 2, dk, dv, nd, off));
  attrs_set(l, &m->attrs, "dropout", new_module(l, "Dropout", (Value *[]){v[3]}, 1, NULL, NULL, 0, off));
  attrs_set(l, &m->attrs, "linear2", new_module(l, "Linear", (Value *[]){v[2], v[0]}, 2, dk, dv, nd, off));
  attrs_set(l, &m->attrs, "norm_first", v_bool(l, v_truthy(l, v[7], off)));
  const char *ek[1] = {"eps"};
  Value *ev[1] = {v[5]};
  attrs_set(l, &m->attrs, "norm1", new_module(l, "LayerNorm", (Value *[]){v[0]}, 1, ek, ev, 1, off));
  attrs_set(l, &m->attrs, "norm2", new_module(l, "LayerNorm", (Value *[]){v[0]}, 1, ek, ev, 1, off));
  attrs_set(l, &m->attrs, "dropout1", new_module(l, "Dropout", (Value *[]){v[3]}, 1, NULL, NULL, 0, off));
  attrs_set(l, &m->attrs, "dropout2", new_module(l, "Dropout", (Value *[]){v[3]}, 1, NULL, NULL, 0, off));
  attrs_set(l, &m->attrs, "__activation__", v_str(l, actname));
  if (tdtype(l, attrs_get(&attrs_get(&m->attrs, "norm1")->attrs, "weight")) != tdtype(l, attrs_get(&attrs_get(&m->attrs, "linear1")->attrs, "weight")))
    lerr(l, off, "TransformerEncoderLayer(): only float32 parameters are supported by ttc (LayerNorm has no dtype)");
  return m;
}

static Value *enc_layer_forward(L *l, Value *m, Value *src, Value *mask, Value *kpm, int32_t off) {
  Value *sa = attrs_get(&m->attrs, "self_attn");
  bool nf = v_truthy(l, attrs_get(&m->attrs, "norm_first"), off);
  const char *act = attrs_get(&m->attrs, "__activation__")->s;
  Value *x = want_tensor(l, src, "TransformerEncoderLayer", off);
  /* _sa_block(x) = dropout1(self_attn(x, x, x, need_weights=False)[0]);
     _ff_block(x) = dropout2(linear2(dropout(activation(linear1(x))))) */
  for (int blk = 0; blk < 2; blk++) {
    Value *norm = attrs_get(&m->attrs, blk ? "norm2" : "norm1");
    Value *in = nf ? call1(l, norm, x, off) : x, *y;
    if (blk == 0) {
      y = mha_forward(l, sa, in, in, in, kpm, false, mask, true, off)->items[0];
      y = call1(l, attrs_get(&m->attrs, "dropout1"), y, off);
    } else {
      y = call1(l, attrs_get(&m->attrs, "linear1"), in, off);
      y = bi_call(l, act, NULL, &y, 1, off);
      y = call1(l, attrs_get(&m->attrs, "dropout"), y, off);
      y = call1(l, attrs_get(&m->attrs, "linear2"), y, off);
      y = call1(l, attrs_get(&m->attrs, "dropout2"), y, off);
    }
    x = nf ? bi_binop(l, BIN_ADD, x, y, off) : call1(l, norm, bi_binop(l, BIN_ADD, x, y, off), off);
  }
  return x;
}

BI_FN(TransformerEncoderLayer) {
  if (!self) return enc_layer_new(l, a);
  Value *v[3];
  args_bind(l, "TransformerEncoderLayer.forward", "src, src_mask=None, src_key_padding_mask=None", NULL, a, v, 3);
  return enc_layer_forward(l, self, v[0], v[1], v[2], a->off);
}

/* ---- TransformerEncoder ------------------------------------------------------------------ */

/* copy.deepcopy of a module: every parameter a new one holding the same values. */
static Value *deep_copy(L *l, Value *m, int depth, int32_t off) {
  if (depth > 50) lerr(l, off, "TransformerEncoder: the layer is nested too deeply to copy");
  Value *c = v_new(l, V_OBJECT);
  c->cls = m->cls;
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    const char *key = m->attrs.keys[i];
    if (v->k == V_TENSOR) {
      if (!v->t.param) lerr(l, off, "TransformerEncoder: copying a layer that holds a buffer ('%s') is not supported by ttc", key);
      Value *p = bi_make_param(l, v, key, off);
      p->t.requires_grad = v->t.requires_grad;
      l->p->vars[p->t.var].requires_grad = v->t.requires_grad;
      v = p;
    } else if (v->k == V_OBJECT && bi_is_module(v)) {
      v = deep_copy(l, v, depth + 1, off);
    } else if (v->k == V_LIST && !strcmp(key, "__items__")) {
      Value *items = v_new(l, V_LIST);
      for (int k = 0; k < v->n; k++)
        v_list_push(l, items, v->items[k]->k == V_OBJECT ? deep_copy(l, v->items[k], depth + 1, off) : v->items[k]);
      v = items;
    } else if (v->k == V_OBJECT) {
      lerr(l, off, "TransformerEncoder: copying a layer that holds a %s ('%s') is not supported by ttc", v_typename(v), key);
    }
    attrs_set(l, &c->attrs, key, v);
  }
  return c;
}

BI_FN(TransformerEncoder) {
  if (self) {
    Value *v[3];
    args_bind(l, "TransformerEncoder.forward", "src, mask=None, src_key_padding_mask=None", NULL, a, v, 3);
    Value *layers = attrs_get(&attrs_get(&self->attrs, "layers")->attrs, "__items__"), *norm = attrs_get(&self->attrs, "norm");
    Value *x = v[0];
    for (int i = 0; i < layers->n; i++) {
      Value *mod = layers->items[i];
      const char *kn[2] = {"src_mask", "src_key_padding_mask"};
      Value *kv[2] = {v[1] ? v[1] : l->none, v[2] ? v[2] : l->none};
      Args fa = {.pos = &x, .npos = 1, .kwnames = kn, .kw = kv, .nkw = 2, .off = a->off};
      x = v_call(l, mod, &fa);
    }
    if (norm && norm->k != V_NONE) x = call1(l, norm, x, a->off);
    return x;
  }
  Value *v[4];
  args_bind(l, "TransformerEncoder", "encoder_layer, num_layers, norm=None, enable_nested_tensor=True", NULL, a, v, 4);
  if (v[0]->k != V_OBJECT || !bi_is_module(v[0])) lerr(l, a->off, "TransformerEncoder(): encoder_layer must be a Module");
  int64_t n = want_int(l, v[1], "num_layers", a->off);
  if (n < 0 || n > 1000) lerr(l, a->off, "TransformerEncoder(): num_layers=%lld is not supported", (long long)n);
  Value *list = v_new(l, V_LIST);
  for (int64_t i = 0; i < n; i++) v_list_push(l, list, deep_copy(l, v[0], 0, a->off));
  Value *m = bi_module_new(l, "TransformerEncoder");
  attrs_set(l, &m->attrs, "layers", new_module(l, "ModuleList", (Value *[]){list}, 1, NULL, NULL, 0, a->off));
  attrs_set(l, &m->attrs, "num_layers", v_int(l, n));
  if (v[2] && v[2]->k != V_NONE && !(v[2]->k == V_OBJECT && bi_is_module(v[2])))
    lerr(l, a->off, "TransformerEncoder(): norm must be a Module or None");
  attrs_set(l, &m->attrs, "norm", v[2] ? v[2] : l->none);
  attrs_set(l, &m->attrs, "enable_nested_tensor", v[3]);
  return m;
}
