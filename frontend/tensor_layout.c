/*
 * tensor_layout.c — the torch functions that change how a tensor's elements are arranged
 * rather than what they are: reshape/view, flatten, (un)squeeze, permute, transpose,
 * expand, cat and stack; subscripts (x[i], x[a:b], x[..., None], and the indexing of
 * lists, dicts and strings); casts and copies (float(), to(), detach, clone); and the size
 * queries (size, dim, numel, item).
 *
 * The symbolic batch dimension stays first through a reshape, and its size is a run-time
 * value (batch_size_value).
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

#define result bi_result

/* ---- layout ------------------------------------------------------------------------ */

static Value *reshape_to(L *l, Value *x, Shape s, int32_t off, const char *gradfn) {
  Shape in = tshape(l, x);
  if (shape_eq(&in, &s)) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_RESHAPE, x, &at, off, gradfn);
}

/* "[5, -1]": a requested shape as PyTorch's error messages print it, -1 where inferred. */
static const char *requested_shape(const Shape *s, int infer, char *buf, size_t n) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < s->rank && k < n; i++) {
    int w = snprintf(buf + k, n - k, "%s%lld", i ? ", " : "[", (long long)(i == infer ? -1 : s->d[i]));
    k += w > 0 ? (size_t)w : 0;
  }
  if (k < n) snprintf(buf + k, n - k, "%s", s->rank ? "]" : "[]");
  return buf;
}

/* Size item i of a view or reshape into s: a number, -1 to infer (at most one), or (ext) a
 * run-time length x.size(d), which makes dim i symbolic; known multiplies the numbers. */
static void read_size(L *l, Value *item, int i, Shape *s, int *infer, int64_t *known, bool ext, int32_t off) {
  int ld = ext ? ext_of(l, item) : -1;
  if (ld >= 0) {
    s->d[i] = l->p->loaders[ld].batch;
    s->symm |= 1u << i;
    return;
  }
  int64_t d = want_int(l, item, "a dimension", off);
  if (d == -1) {
    if (*infer >= 0) lerr(l, off, "only one dimension can be inferred");
    *infer = i;
    return;
  }
  if (d < 0) lerr(l, off, "invalid shape dimension %lld", (long long)d);
  s->d[i] = d;
  *known = dim_mul(*known, d);
}

static Value *reshape_args(L *l, Value *x, Args *a, int first, const char *fname, const char *gradfn) {
  Shape in = tshape(l, x);
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (a->nkw == 1 && !strcmp(a->kwnames[0], "shape") && n == 0) items = &a->kw[0], n = 1;
  else if (a->nkw) lerr(l, a->off, "%s() got an unexpected keyword argument '%s'", fname, a->kwnames[0]);
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) {
    n = items[0]->n;
    items = items[0]->items;
  }
  if (n > TT_MAX_RANK) lerr(l, a->off, "%s(): at most %d dimensions", fname, TT_MAX_RANK);
  Shape s = {0};
  s.rank = n;
  int infer = -1;
  int64_t known = 1;
  if (in.symm & ~1u) {
    /* run-time lengths past the leading dim ([1, B:64, 128] in a generation loop): each
       stays a dim of its own, given by its size (x.view(b, t, nh, hs) with t = x.size(1));
       the static dims are regrouped as usual (the shape rule checks the layout) */
    int64_t per = 1;
    for (int i = 0; i < in.rank; i++)
      if (!sym_at(&in, i)) per = dim_mul(per, in.d[i]);
    for (int i = 0; i < n; i++) read_size(l, items[i], i, &s, &infer, &known, true, a->off);
    if (sym_count(&s) != sym_count(&in))
      lerr(l, a->off, "%s(): a dimension of a length known only at run time must stay a dimension of its own, "
                      "given as its size (x.size(d))", fname);
    if (infer >= 0) {
      if (known == 0 || per % known) lerr(l, a->off, "%s(): cannot infer a dimension", fname);
      s.d[infer] = per / known;
      known *= s.d[infer];
    }
    if (known != per) {
      char b1[64], b2[64];
      lerr(l, a->off, "shape '%s' is invalid for a tensor of shape %s", shape_str(&s, b1, sizeof b1),
           shape_str(&in, b2, sizeof b2));
    }
    return reshape_to(l, x, s, a->off, gradfn);
  }
  if (in.symm) {
    /* a batch [B, ...] keeps B first: x.view(-1, 784), x.view(x.size(0), -1) */
    if (in.symm != 1u || n == 0)
      lerr(l, a->off, "%s(): the batch dimension must stay the first dimension", fname);
    bool first_batch = items[0]->k == V_HOST || (items[0]->k == V_INT && (items[0]->i == -1 || items[0]->i == in.d[0]));
    if (!first_batch)
      lerr(l, a->off, "%s(): the first dimension of a batch must stay the batch (use -1 or x.size(0))", fname);
    Shape rest = in, out = {0};
    rest.symm = 0;
    rest.d[0] = 1;
    int64_t per = shape_numel(&rest), k2 = 1;
    int inf2 = -1;
    out.rank = n;
    out.symm = 1u;
    out.d[0] = in.d[0];
    for (int i = 1; i < n; i++) read_size(l, items[i], i, &out, &inf2, &k2, false, a->off);
    if (inf2 >= 0) {
      if (k2 == 0 || per % k2) lerr(l, a->off, "%s(): cannot infer a dimension: %lld elements per sample", fname, (long long)per);
      out.d[inf2] = per / k2;
      k2 *= out.d[inf2];
    }
    if (k2 != per) {
      char b1[64], b2[64];
      lerr(l, a->off, "shape '%s' is invalid for a batch of shape %s", shape_str(&out, b1, sizeof b1), shape_str(&in, b2, sizeof b2));
    }
    return reshape_to(l, x, out, a->off, gradfn);
  }
  for (int i = 0; i < n; i++) read_size(l, items[i], i, &s, &infer, &known, false, a->off);
  int64_t numel = shape_numel(&in);
  if (infer >= 0) {
    if (known == 0 || numel % known) {
      char b1[200];
      lerr(l, a->off, "shape '%s' is invalid for input of size %lld", requested_shape(&s, infer, b1, sizeof b1), (long long)numel);
    }
    s.d[infer] = numel / known;
  }
  if (shape_numel(&s) != numel) {
    char b1[200];
    lerr(l, a->off, "shape '%s' is invalid for input of size %lld", requested_shape(&s, infer, b1, sizeof b1), (long long)numel);
  }
  return reshape_to(l, x, s, a->off, gradfn);
}

B(reshape) {
  UNUSED(self);
  Value *x = self ? self : (a->npos ? a->pos[0] : NULL);
  return reshape_args(l, want_tensor(l, x, "reshape", a->off), a, self ? 0 : 1, "reshape", "ViewBackward0");
}
B(view) {
  if (!self) lerr(l, a->off, "view() is a tensor method: x.view(...)");
  if (a->npos == 1 && a->pos[0]->k == V_DTYPE) lerr(l, a->off, "view(dtype) is not supported");
  return reshape_args(l, self, a, 0, "view", "ViewBackward0");
}

BI_FN(flatten) {
  Value *v[3];
  args_bind(l, "flatten", "input, start_dim=0, end_dim=-1", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "flatten", a->off);
  Shape in = tshape(l, x);
  if (in.rank == 0) return reshape_to(l, x, (Shape){.rank = 1, .d = {1}}, a->off, "ViewBackward0");
  int s0 = normdim(l, want_int(l, v[1], "start_dim", a->off), in.rank, a->off);
  int s1 = normdim(l, want_int(l, v[2], "end_dim", a->off), in.rank, a->off);
  if (s0 > s1) lerr(l, a->off, "flatten() has invalid args: start_dim cannot come after end_dim");
  for (int i = s0; i <= s1 && s0 != s1; i++)
    if (sym_at(&in, i)) lerr(l, a->off, "flatten(): cannot merge the batch dimension with others (use flatten(1))");
  Shape s = {0};
  s.symm = s0 < 32 ? in.symm & ((1u << s0) - 1) : in.symm;
  for (int i = s1; i < in.rank; i++)
    if (sym_at(&in, i)) s.symm |= 1u << (i - (s1 - s0));
  for (int i = 0; i < s0; i++) s.d[s.rank++] = in.d[i];
  int64_t m = 1;
  for (int i = s0; i <= s1; i++) m *= in.d[i];
  s.d[s.rank++] = m;
  for (int i = s1 + 1; i < in.rank; i++) s.d[s.rank++] = in.d[i];
  return reshape_to(l, x, s, a->off, "ViewBackward0");
}

B(unsqueeze) {
  Value *v[2];
  args_bind(l, "unsqueeze", "input, dim", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "unsqueeze", a->off);
  Shape in = tshape(l, x);
  if (in.rank >= TT_MAX_RANK) lerr(l, a->off, "unsqueeze(): too many dimensions");
  int d = normdim(l, want_int(l, v[1], "dim", a->off), in.rank + 1, a->off);
  Shape s = in;
  s.rank = in.rank + 1;
  for (int i = in.rank; i > d; i--) s.d[i] = in.d[i - 1];
  s.d[d] = 1;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_RESHAPE, x, &at, a->off, "UnsqueezeBackward0");
}

B(squeeze) {
  Value *v[2];
  args_bind(l, "squeeze", "input, dim=None", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "squeeze", a->off);
  Shape in = tshape(l, x), s = {0};
  int64_t mask = v[1] ? dims_mask(l, v[1], in.rank, a->off) : -1;
  for (int i = 0; i < in.rank; i++)
    if (!(in.d[i] == 1 && (mask & (1LL << i)))) s.d[s.rank++] = in.d[i];
  if (s.rank == in.rank) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_RESHAPE, x, &at, a->off, v[1] ? "SqueezeBackward1" : "SqueezeBackward0");
}

Value *permute_to(L *l, Value *x, const int64_t *perm, int rank, int32_t off, const char *gradfn) {
  bool ident = true;
  for (int i = 0; i < rank; i++) ident &= perm[i] == i;
  if (ident) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), perm, rank);
  at.nints = rank;
  return op1(l, OP_PERMUTE, x, &at, off, gradfn);
}

B(permute) {
  Value *x = self ? self : (a->npos ? a->pos[0] : NULL);
  x = want_tensor(l, x, "permute", a->off);
  int first = self ? 0 : 1;
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (a->nkw == 1 && !strcmp(a->kwnames[0], "dims") && n == 0) items = &a->kw[0], n = 1;
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) n = items[0]->n, items = items[0]->items;
  int rank = tshape(l, x).rank;
  if (n != rank) lerr(l, a->off, "permute(): number of dims don't match in permute (got %d for a %d-d tensor)", n, rank);
  int64_t perm[TT_MAX_RANK];
  int64_t seen = 0;
  for (int i = 0; i < n; i++) {
    perm[i] = normdim(l, want_int(l, items[i], "dim", a->off), rank, a->off);
    if (seen & (1LL << perm[i])) lerr(l, a->off, "permute(): repeated dim");
    seen |= 1LL << perm[i];
  }
  return permute_to(l, x, perm, rank, a->off, "PermuteBackward0");
}

B(transpose) {
  Value *v[3];
  args_bind(l, "transpose", "input, dim0, dim1", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "transpose", a->off);
  int rank = tshape(l, x).rank;
  int d0 = normdim(l, want_int(l, v[1], "dim0", a->off), rank, a->off);
  int d1 = normdim(l, want_int(l, v[2], "dim1", a->off), rank, a->off);
  int64_t perm[TT_MAX_RANK];
  for (int i = 0; i < rank; i++) perm[i] = i;
  perm[d0] = d1;
  perm[d1] = d0;
  if (rank == 0) return x;
  return permute_to(l, x, perm, rank, a->off, "TransposeBackward0");
}

B(t) {
  Value *v[1];
  args_bind(l, "t", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "t", a->off);
  int rank = tshape(l, x).rank;
  if (rank > 2) lerr(l, a->off, "t() expects a tensor with <= 2 dimensions, but self is %dD", rank);
  if (rank < 2) return x;
  int64_t perm[2] = {1, 0};
  return permute_to(l, x, perm, 2, a->off, "TBackward0");
}

B(expand) {
  Value *x = want_tensor(l, self ? self : (a->npos ? a->pos[0] : NULL), "expand", a->off);
  int first = self ? 0 : 1;
  int n = a->npos - first;
  Value **items = a->pos + first;
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) n = items[0]->n, items = items[0]->items;
  Shape in = tshape(l, x), s = {0};
  if (n < in.rank) lerr(l, a->off, "expand(): the number of sizes provided (%d) must be greater or equal to the number of dimensions in the tensor (%d)", n, in.rank);
  if (n > TT_MAX_RANK) lerr(l, a->off, "expand(): too many dimensions");
  s.rank = n;
  for (int i = 0; i < n; i++) {
    int64_t d = want_int(l, items[i], "size", a->off);
    int j = i - (n - in.rank);
    if (d == -1) {
      if (j < 0) lerr(l, a->off, "expand(): -1 is not allowed in a leading, non-existing dimension");
      d = in.d[j];
    }
    s.d[i] = d;
  }
  if (shape_eq(&in, &s)) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_EXPAND, x, &at, a->off, NULL);
}

static Value *cat_list(L *l, Value *list, int64_t dim, int32_t off, const char *fname, bool stack) {
  if (!list || (list->k != V_LIST && list->k != V_TUPLE))
    lerr(l, off, "%s(): expected a list or tuple of tensors", fname);
  if (list->n == 0) lerr(l, off, "%s(): expected a non-empty list of Tensors", fname);
  DType dt = DT_BOOL;
  for (int i = 0; i < list->n; i++) {
    want_tensor(l, list->items[i], fname, off);
    dt = i ? dmax(dt, tdtype(l, list->items[i])) : tdtype(l, list->items[i]);
  }
  int32_t *in = arena_alloc(l->arena, sizeof(int32_t) * (size_t)list->n);
  Value **ins = arena_alloc(l->arena, sizeof(Value *) * (size_t)list->n);
  Shape s0 = tshape(l, list->items[0]);
  int rank = stack ? s0.rank + 1 : s0.rank;
  int d = normdim(l, dim, rank, off);
  for (int i = 0; i < list->n; i++) {
    Value *x = cast(l, list->items[i], dt, off);
    if (stack) {
      Shape si = tshape(l, x);
      if (!shape_eq(&si, &s0)) {
        char b1[64], b2[64];
        lerr(l, off, "stack expects each tensor to be equal size, but got %s at entry 0 and %s at entry %d",
             shape_str(&s0, b1, sizeof b1), shape_str(&si, b2, sizeof b2), i);
      }
      Shape s = si;
      s.rank = si.rank + 1;
      for (int k = si.rank; k > d; k--) s.d[k] = si.d[k - 1];
      s.d[d] = 1;
      x = reshape_to(l, x, s, off, "UnsqueezeBackward0");
    }
    ins[i] = x;
    in[i] = tnode(l, x);
  }
  if (rank == 0) lerr(l, off, "zero-dimensional tensor cannot be concatenated");
  Attr at = {0};
  at.i[0] = d;
  int id = add_node(l, OP_CAT, in, list->n, &at, off);
  return result(l, id, ins, list->n, stack ? "StackBackward0" : "CatBackward0");
}

B(cat) {
  Value *v[2];
  args_bind(l, "cat", "tensors, dim=0", self, a, v, 2);
  if ((v[0]->k == V_TUPLE || v[0]->k == V_LIST) && v[0]->n > 0) { /* appending to a growing tensor */
    Value *r = win_cat(l, v[0]->items, v[0]->n, want_int(l, v[1], "dim", a->off), a->off);
    if (r) return r;
  }
  return cat_list(l, v[0], want_int(l, v[1], "dim", a->off), a->off, "cat", false);
}
B(stack) {
  Value *v[2];
  args_bind(l, "stack", "tensors, dim=0", self, a, v, 2);
  return cat_list(l, v[0], want_int(l, v[1], "dim", a->off), a->off, "stack", true);
}

/* ---- indexing ---------------------------------------------------------------------- */

static Value *host_index(L *l, Value *obj, Value *iv, int32_t off) {
  /* itos[i] of a run-time i; a 0-d integer tensor indexes a sequence as its int (__index__) */
  if (iv->k == V_TENSOR && obj->k != V_DICT && (obj->k == V_LIST || obj->k == V_TUPLE || obj->k == V_STR) &&
      !iv->t.dyn && tshape(l, iv).rank == 0 && !dt_is_float(tdtype(l, iv)) && tdtype(l, iv) != DT_BOOL)
    iv = tensor_item(l, iv, off);
  if (iv->k == V_HOST && (obj->k == V_DICT || obj->k == V_LIST || obj->k == V_TUPLE || obj->k == V_STR))
    return host_pick(l, obj, iv, off);
  if (obj->k == V_DICT) {
    for (int i = 0; i + 1 < obj->n; i += 2)
      if (host_eq(l, obj->items[i], iv, off)) return obj->items[i + 1];
    lerr(l, off, "KeyError: %s", v_str_of(l, iv, true, off));
  }
  if (obj->k == V_OBJECT && obj->cls && obj->cls->s && !strcmp(obj->cls->s, "Checkpoint"))
    return checkpoint_index(l, obj, iv, off);
  if (obj->k == V_OBJECT && moduledict_keys(obj)) return moduledict_get(l, obj, iv, off);
  if (obj->k == V_OBJECT) {
    Value *items = attrs_get(&obj->attrs, "__items__");
    if (!items) lerr(l, off, "'%s' object is not subscriptable", v_typename(obj));
    obj = items;
  }
  int64_t n = obj->k == V_STR ? str_codes(obj->s) : obj->n; /* a str indexes code points */
  if (iv->k != V_INT && iv->k != V_BOOL)
    lerr(l, off, "%s indices must be integers or slices, not %s", v_typename(obj), v_typename(iv));
  int64_t i = iv->i < 0 ? iv->i + n : iv->i;
  if (i < 0 || i >= n) lerr(l, off, "%s index out of range", v_typename(obj));
  if (obj->k == V_STR) {
    const char *p = obj->s + str_code_off(obj->s, i);
    return v_str(l, arena_strndup(l->arena, p, str_code_len(p)));
  }
  return obj->items[i];
}

/* Python's slice.indices(n) for step > 0 (PyTorch rejects negative steps). */
static void slice_bounds(L *l, Value *lo, Value *hi, Value *st, int64_t n, int64_t *s, int64_t *e,
                         int64_t *step, int32_t off, bool tensor) {
  *step = st ? want_int(l, st, "slice step", off) : 1;
  if (*step == 0) lerr(l, off, "slice step cannot be zero");
  if (*step < 0 && tensor) lerr(l, off, "step must be greater than zero");
  if (*step < 0) lerr(l, off, "negative slice steps are not supported");
  int64_t a = lo ? want_int(l, lo, "slice start", off) : 0;
  int64_t b = hi ? want_int(l, hi, "slice stop", off) : n;
  if (a < 0) a += n;
  if (b < 0) b += n;
  if (a < 0) a = 0;
  if (a > n) a = n;
  if (b < a) b = a;
  if (b > n) b = n;
  *s = a;
  *e = b;
}

static Value *take_rows(L *l, Value *x, Value *ix, int32_t off);
static Value *select_rows(L *l, Value *x, int d, Value *ix, int32_t off, const char *gradfn);

/* An advanced index item as an int64 tensor: a tensor, a list of ints, a range, an int. */
static Value *adv_tensor(L *l, IndexItem *it) {
  Value *v = it->v;
  if (v->k == V_RANGE) {
    Value *args[3] = {v_int(l, v->i), v_int(l, v->i2), v_int(l, v->i3)};
    v = bi_call(l, "arange", NULL, args, 3, it->off);
  } else if (v->k != V_TENSOR)
    v = bi_call(l, "tensor", NULL, &v, 1, it->off);
  DType dt = tdtype(l, v);
  if (dt == DT_BOOL)
    lerr(l, it->off, "indexing with a bool mask among other indices is not supported (its size is known only at run time)");
  if (dt_is_float(dt)) lerr(l, it->off, "tensors used as indices must be long, int, byte or bool tensors");
  if (dt != DT_I64) v = cast(l, v, DT_I64, it->off);
  return v;
}

static bool is_adv(const IndexItem *it) {
  return it->kind == IX_VALUE && (it->v->k == V_TENSOR || it->v->k == V_LIST || it->v->k == V_RANGE);
}

/* idx with negative entries counted from the end of a dim of size n. */
static Value *wrap_negative(L *l, Value *idx, int64_t n, int32_t off) {
  Value *neg = bi_compare(l, CMP_LT, idx, v_int(l, 0), off);
  return bi_select(l, neg, bi_binop(l, BIN_ADD, idx, v_int(l, n), off), idx, off, NULL);
}

/* x's elements along dim d at the indices idx (any shape): x.shape[:d] + idx.shape +
 * x.shape[d+1:], through index_select (indices checked when the program runs). */
static Value *take_along(L *l, Value *x, int d, Value *idx, int32_t off) {
  Shape xs = tshape(l, x), is = tshape(l, idx);
  if (xs.symm || is.symm) lerr(l, off, "tensor indices on a tensor with a batch dimension are not supported by ttc");
  if (xs.rank - 1 + is.rank > TT_MAX_RANK) lerr(l, off, "too many dimensions");
  Value *flat = reshape_to(l, wrap_negative(l, idx, xs.d[d], off), (Shape){.rank = 1, .d = {shape_numel(&is)}}, off, NULL);
  Value *r = select_rows(l, x, d, flat, off, "IndexBackward0");
  Shape out = {.rank = 0};
  for (int i = 0; i < d; i++) out.d[out.rank++] = xs.d[i];
  for (int i = 0; i < is.rank; i++) out.d[out.rank++] = is.d[i];
  for (int i = d + 1; i < xs.rank; i++) out.d[out.rank++] = xs.d[i];
  r = reshape_to(l, r, out, off, NULL);
  if (r->t.requires_grad) r->t.gradfn = "IndexBackward0";
  return r;
}

/* A host expression as c + sum(coef * var) over host variables and ints, so that the
 * length of x[i:i + bs] or x[i * 8:(i + 1) * 8] is seen to be constant. */
typedef struct Lin {
  int64_t c;
  int n;
  int var[8];
  int64_t coef[8];
} Lin;

static bool lin_add(Lin *r, const Lin *a, int64_t k) {
  if (__builtin_mul_overflow(a->c, k, &(int64_t){0})) return false;
  r->c += a->c * k;
  for (int i = 0; i < a->n; i++) {
    int j = 0;
    while (j < r->n && r->var[j] != a->var[i]) j++;
    if (j == r->n) {
      if (r->n == 8) return false;
      r->var[r->n] = a->var[i], r->coef[r->n++] = 0;
    }
    r->coef[j] += a->coef[i] * k;
  }
  return true;
}

static bool hx_linear(const HostExpr *e, Lin *out, int depth) {
  memset(out, 0, sizeof *out);
  if (!e || depth > 32 || e->isfloat) return false;
  if (e->kind == HX_INT) return out->c = e->i, true;
  if (e->kind == HX_VAR) return out->n = 1, out->var[0] = e->hvar, out->coef[0] = 1, true;
  if (e->kind != HX_BIN) return false;
  Lin a, b;
  if (!hx_linear(e->a, &a, depth + 1) || !hx_linear(e->b, &b, depth + 1)) return false;
  switch (e->op) {
  case HB_ADD: return lin_add(out, &a, 1) && lin_add(out, &b, 1);
  case HB_SUB: return lin_add(out, &a, 1) && lin_add(out, &b, -1);
  case HB_MUL:
    if (a.n == 0) return lin_add(out, &b, a.c);
    if (b.n == 0) return lin_add(out, &a, b.c);
    return false;
  default: return false;
  }
}

/* x[..., start:start + len*step:step, ...] at items[at], start a run-time value (a host
 * number or a 0-d integer tensor) and len known: the other items index as usual, then this
 * dim takes start + arange(len) * step along it. */
static Value *slice_at(L *l, Value *x, IndexItem *items, int n, int at, Value *start, int64_t len,
                       int64_t step, int32_t off) {
  IndexItem *it = &items[at];
  IndexItem *rest = arena_alloc(l->arena, sizeof(IndexItem) * (size_t)n);
  memcpy(rest, items, sizeof(IndexItem) * (size_t)n);
  rest[at] = (IndexItem){.kind = IX_SLICE, .off = it->off};
  int dd = 0, consumed = 0;
  Shape xs = tshape(l, x);
  for (int i = 0; i < n; i++)
    if (items[i].kind == IX_SLICE || (items[i].kind == IX_VALUE && items[i].v->k != V_NONE)) consumed++;
  for (int i = 0; i < at; i++) {
    if (items[i].kind == IX_ELLIPSIS) dd += xs.rank - consumed;
    else if (items[i].kind == IX_SLICE || items[i].v->k == V_NONE) dd++;
  }
  Value *y = bi_index(l, x, rest, n, true, off);
  Value *args[3] = {v_int(l, 0), v_int(l, len * step), v_int(l, step)};
  Value *idx = bi_binop(l, BIN_ADD, bi_call(l, "arange", NULL, args, 3, it->off), start, it->off);
  Value *r = take_along(l, y, dd, idx, off);
  if (r->t.requires_grad) r->t.gradfn = "SliceBackward0";
  return r;
}

/* x[start:stop] on one dim where start (and stop) are known only at run time but stop -
 * start is a constant: the elements start, start + 1, ... through index_select, so a slice
 * that would run past the end stops the program (its size would be known only then). */
static Value *runtime_slice(L *l, Value *x, IndexItem *items, int n, int at, int32_t off) {
  IndexItem *it = &items[at];
  int64_t step = it->st ? want_int(l, it->st, "slice step", it->off) : 1;
  if (step <= 0) lerr(l, it->off, "step must be greater than zero");
  HostExpr *lo = it->lo ? hx_of(l, it->lo, it->off) : NULL, *hi = it->hi ? hx_of(l, it->hi, it->off) : NULL;
  Lin a, b, d = {0};
  if (!lo || !hi || !hx_linear(lo, &a, 0) || !hx_linear(hi, &b, 0) || !lin_add(&d, &b, 1) || !lin_add(&d, &a, -1))
    lerr(l, it->off, "a slice whose bounds are known only at run time needs both, as start:start + n "
                     "with n known at compile time (its length is the tensor's size)");
  for (int i = 0; i < d.n; i++)
    if (d.coef[i]) lerr(l, it->off, "this slice's length (stop - start) is known only at run time; ttc needs it at compile time");
  if (d.c < 0) d.c = 0;
  int64_t len = (d.c + step - 1) / step;
  return slice_at(l, x, items, n, at, v_host(l, lo), len, step, off);
}

/* A 0-d integer tensor as base + c, base the node that a chain of additions of integer
 * constants starts from (the tensor's own node when there is none): d[i:i + n] with i an
 * element of a tensor has length n. */
static int32_t tensor_lin(L *l, Value *v, int64_t *c, int32_t off) {
  const Node *nd = tn(l, v);
  if (nd->shape.rank != 0 || nd->shape.symm || dt_is_float(nd->dtype) || nd->dtype == DT_BOOL)
    lerr(l, off, "only integer tensors of a single element can be converted to an index");
  int32_t id = tnode(l, v);
  *c = 0;
  const Graph *g = l->g;
  for (;;) {
    const Node *x = &g->nodes[id];
    if ((x->op != OP_ADD && x->op != OP_SUB) || x->nin != 2) return id;
    int k = -1;
    for (int j = x->op == OP_SUB ? 1 : 0; j < 2; j++) {
      const Node *y = &g->nodes[x->in[j]];
      if (y->op == OP_CONST && y->shape.rank == 0 && (y->dtype == DT_I64 || y->dtype == DT_I32)) k = j;
    }
    if (k < 0) return id;
    const Node *y = &g->nodes[x->in[k]];
    int64_t cv = y->dtype == DT_I64 ? *(const int64_t *)y->attr.data : *(const int32_t *)y->attr.data;
    *c += x->op == OP_SUB ? -cv : cv;
    id = x->in[1 - k];
  }
}

/* x[i:i + n] where i is a 0-d integer tensor (an element of a tensor of offsets, as
 * `for i in torch.randint(...)` gives): stop - start must be a constant, as above. */
static Value *tensor_slice(L *l, Value *x, IndexItem *items, int n, int at, int32_t off) {
  IndexItem *it = &items[at];
  int64_t step = it->st ? want_int(l, it->st, "slice step", it->off) : 1;
  if (step <= 0) lerr(l, it->off, "step must be greater than zero");
  if (!it->lo || !it->hi || it->lo->k != V_TENSOR || it->hi->k != V_TENSOR)
    lerr(l, it->off, "a slice whose bounds are tensors needs both, as start:start + n with n "
                     "known at compile time (its length is the tensor's size)");
  int64_t clo, chi;
  int32_t blo = tensor_lin(l, it->lo, &clo, it->off), bhi = tensor_lin(l, it->hi, &chi, it->off);
  if (blo != bhi)
    lerr(l, it->off, "this slice's length (stop - start) is known only at run time; ttc needs it at compile time");
  int64_t d = chi - clo < 0 ? 0 : chi - clo;
  Value *start = cast(l, it->lo, DT_I64, it->off);
  return slice_at(l, x, items, n, at, start, (d + step - 1) / step, step, off);
}

/*
 * Advanced indexing with tensors, lists or ranges among other indices, as PyTorch: one such
 * index (x[:, [1, 4]], x[0, idx]) takes elements along its dim, its shape in the dim's place;
 * several on the leading dims (log_probs[range(n), targets], cm[t, p]) are broadcast and
 * combined into one index over those dims flattened. Other layouts are a diagnostic.
 */
static Value *adv_index(L *l, Value *x, IndexItem *items, int n, int32_t off) {
  int nadv = 0, first = -1;
  for (int i = 0; i < n; i++)
    if (is_adv(&items[i])) nadv++, first = first < 0 ? i : first;
  Shape xs = tshape(l, x);
  if (nadv == 1) {
    /* the basic part first, a full slice in the advanced item's place; then along its dim */
    IndexItem *rest = arena_alloc(l->arena, sizeof(IndexItem) * (size_t)n);
    memcpy(rest, items, sizeof(IndexItem) * (size_t)n);
    rest[first] = (IndexItem){.kind = IX_SLICE, .off = items[first].off};
    Value *idx = adv_tensor(l, &items[first]);
    int d = 0, consumed = 0;
    for (int i = 0; i < n; i++)
      if (items[i].kind == IX_SLICE || (items[i].kind == IX_VALUE && items[i].v->k != V_NONE)) consumed++;
    for (int i = 0; i < first; i++) {
      if (items[i].kind == IX_ELLIPSIS) d += xs.rank - consumed;
      else if (items[i].kind == IX_SLICE || items[i].v->k == V_NONE) d++;
    }
    Value *y = bi_index(l, x, rest, n, true, off);
    return take_along(l, y, d, idx, off);
  }
  /* several: on the leading dims, ints and advanced items only, then slices that keep all */
  for (int i = 0; i < n; i++) {
    if (items[i].kind == IX_ELLIPSIS || (items[i].kind == IX_VALUE && items[i].v->k == V_NONE))
      lerr(l, items[i].off, "tensor indices combined with None or ... are not supported by ttc");
    if (items[i].kind == IX_SLICE) {
      for (int k = i + 1; k < n; k++)
        if (items[k].kind != IX_SLICE)
          lerr(l, items[k].off, "tensor indices after a slice are not supported by ttc (index the leading dims with them)");
      if (items[i].lo || items[i].hi || items[i].st)
        lerr(l, items[i].off, "a partial slice after tensor indices is not supported by ttc; slice first, then index");
    }
  }
  int k = 0;
  while (k < n && items[k].kind == IX_VALUE) k++;
  if (k > xs.rank) lerr(l, off, "too many indices for tensor of dimension %d", xs.rank);
  if (xs.symm & ((1u << k) - 1)) lerr(l, off, "tensor indices on the batch dimension are not supported by ttc");
  int64_t total = 1;
  for (int i = 0; i < k; i++) total *= xs.d[i];
  Value *flat = NULL, *oob = NULL;
  int64_t stride = total;
  for (int i = 0; i < k; i++) {
    stride /= xs.d[i];
    Value *idx = wrap_negative(l, adv_tensor(l, &items[i]), xs.d[i], items[i].off);
    Value *below = cast(l, bi_compare(l, CMP_LT, idx, v_int(l, 0), off), DT_I64, off);
    Value *bad = bi_binop(l, BIN_ADD, below, cast(l, bi_compare(l, CMP_GE, idx, v_int(l, xs.d[i]), off), DT_I64, off), off);
    oob = oob ? bi_binop(l, BIN_ADD, oob, bad, off) : bad;
    Value *term = bi_binop(l, BIN_MUL, idx, v_int(l, stride), off);
    flat = flat ? bi_binop(l, BIN_ADD, flat, term, off) : term;
  }
  /* an index outside its own dim must not land inside another row: make it fail the check */
  Value *any_oob = bi_compare(l, CMP_GT, oob, v_int(l, 0), off);
  flat = bi_select(l, any_oob, bi_binop(l, BIN_MUL, flat, v_int(l, 0), off), flat, off, NULL);
  Value *any_oob2 = bi_compare(l, CMP_GT, oob, v_int(l, 0), off);
  flat = bi_select(l, any_oob2, bi_binop(l, BIN_ADD, flat, v_int(l, total), off), flat, off, NULL);
  Shape fs = {.rank = 1 + xs.rank - k, .d = {total}};
  for (int i = k; i < xs.rank; i++) fs.d[1 + i - k] = xs.d[i];
  return take_along(l, reshape_to(l, x, fs, off, NULL), 0, flat, off);
}

Value *bi_index(L *l, Value *obj, IndexItem *items, int n, bool tuple, int32_t off) {
  if (l->row_probe && n == 1 && items[0].kind == IX_VALUE && items[0].v == l->row_probe && obj->k == V_TENSOR) {
    /* a Dataset's self.x[idx] under DataLoader's probe: a row, noted with its tensor */
    Value *probe = l->row_probe;
    l->row_probe = NULL;
    Value *r = bi_index(l, obj, items, n, tuple, off);
    l->row_probe = probe;
    if (l->nrows < 8) l->rows[l->nrows][0] = r, l->rows[l->nrows++][1] = obj;
    return r;
  }
  if (obj->k != V_TENSOR) {
    if (tuple) {
      Value *key = v_tuple(l, n);
      for (int i = 0; i < n; i++) {
        if (items[i].kind != IX_VALUE) lerr(l, items[i].off, "'%s' object cannot be sliced this way", v_typename(obj));
        key->items[i] = items[i].v;
      }
      return host_index(l, obj, key, off);
    }
    if (items[0].kind == IX_SLICE) {
      Value *src = obj;
      if (src->k == V_OBJECT) src = attrs_get(&src->attrs, "__items__");
      if (!src || (src->k != V_LIST && src->k != V_TUPLE && src->k != V_STR))
        lerr(l, off, "'%s' object cannot be sliced", v_typename(obj));
      int64_t len = src->k == V_STR ? str_codes(src->s) : src->n;
      int64_t s, e, st;
      slice_bounds(l, items[0].lo, items[0].hi, items[0].st, len, &s, &e, &st, off, false);
      if (src->k == V_STR) { /* by code point: bytes of UTF-8 text would split characters */
        size_t nb = strlen(src->s), o = 0, at = str_code_off(src->s, s);
        char *buf = arena_alloc(l->arena, nb + 1);
        for (int64_t i = s; i < e; i += st) {
          size_t k = str_code_len(src->s + at);
          memcpy(buf + o, src->s + at, k);
          o += k;
          for (int64_t j = 0; j < st && src->s[at]; j++) at += str_code_len(src->s + at);
        }
        buf[o] = 0;
        return v_str(l, buf);
      }
      Value *r = v_new(l, src->k);
      for (int64_t i = s; i < e; i += st) v_list_push(l, r, src->items[i]);
      if (obj->k == V_OBJECT) { /* ModuleList[a:b] is a ModuleList */
        Value *o2 = v_new(l, V_OBJECT);
        o2->cls = obj->cls;
        attrs_set(l, &o2->attrs, "__items__", r);
        return o2;
      }
      return r;
    }
    if (items[0].kind != IX_VALUE) lerr(l, off, "'%s' object cannot be indexed with '...'", v_typename(obj));
    return host_index(l, obj, items[0].v, off);
  }
  if (obj->t.win) { /* a window of a growing tensor: a window again, if it can be (generate.c) */
    Value *w = win_index(l, obj, items, n, off);
    if (w) return w;
  }
  obj = ext_index(l, obj, items, n, off); /* x[:, :T] and x[:, -1] along run-time lengths */
  if (n == 1 && items[0].kind == IX_VALUE && !tuple &&
      ((items[0].v->k == V_TENSOR && tdtype(l, items[0].v) == DT_I64) || items[0].v->k == V_LIST)) {
    /* x[idx] with an int64 tensor (or a list of ints): rows, as torch's advanced indexing */
    Value *ix = items[0].v;
    if (ix->k == V_LIST) ix = bi_call(l, "tensor", NULL, &ix, 1, items[0].off);
    if (tdtype(l, ix) == DT_BOOL) lerr(l, items[0].off, "indexing with a bool mask gives a shape known only at run time; ttc does not support it (use where or masked_fill)");
    if (tdtype(l, ix) != DT_I64) lerr(l, items[0].off, "tensors used as indices must be long, int, byte or bool tensors");
    return take_rows(l, obj, ix, items[0].off);
  }
  if (n == 1 && items[0].kind == IX_VALUE && items[0].v->k == V_TENSOR && !items[0].v->t.dyn &&
      tdtype(l, items[0].v) == DT_BOOL) /* x[mask]: its size is known at run time (masked.c) */
    return dyn_select(l, obj, items[0].v, items[0].off);
  for (int i = 0; i < n; i++)
    if (is_adv(&items[i])) return adv_index(l, obj, items, n, off);
  for (int i = 0; i < n; i++) /* X[i:i + bs] with i an element of a tensor */
    if (items[i].kind == IX_SLICE && ((items[i].lo && items[i].lo->k == V_TENSOR) || (items[i].hi && items[i].hi->k == V_TENSOR)))
      return tensor_slice(l, obj, items, n, i, off);
  for (int i = 0; i < n; i++) /* X[i:i + bs] in a run-time loop */
    if (items[i].kind == IX_SLICE && ((items[i].lo && items[i].lo->k == V_HOST) || (items[i].hi && items[i].hi->k == V_HOST)))
      return runtime_slice(l, obj, items, n, i, off);
  /* tensor indexing: ints select, slices narrow, None inserts, ... expands */
  Shape in = tshape(l, obj);
  int consumed = 0, ell = -1;
  for (int i = 0; i < n; i++) {
    if (items[i].kind == IX_ELLIPSIS) {
      if (ell >= 0) lerr(l, items[i].off, "an index can only have a single ellipsis ('...')");
      ell = i;
    } else if (!(items[i].kind == IX_VALUE && items[i].v->k == V_NONE))
      consumed++;
  }
  if (consumed > in.rank) lerr(l, off, "too many indices for tensor of dimension %d", in.rank);
  int64_t trip[TT_MAX_RANK * 3];
  Shape out = {0};
  bool need_slice = false, anyint = false;
  int dim = 0;
  for (int i = 0; i < n; i++) {
    IndexItem *it = &items[i];
    if (it->kind == IX_ELLIPSIS) {
      int skip = in.rank - consumed;
      for (int k = 0; k < skip; k++, dim++) {
        trip[dim * 3] = 0, trip[dim * 3 + 1] = in.d[dim], trip[dim * 3 + 2] = 1;
        if (out.rank >= TT_MAX_RANK) lerr(l, it->off, "too many dimensions");
        out.d[out.rank++] = in.d[dim];
      }
      continue;
    }
    if (it->kind == IX_VALUE && it->v->k == V_NONE) {
      if (out.rank >= TT_MAX_RANK) lerr(l, it->off, "too many dimensions");
      out.d[out.rank++] = 1;
      continue;
    }
    if (it->kind == IX_SLICE) {
      int64_t s, e, st;
      slice_bounds(l, it->lo, it->hi, it->st, in.d[dim], &s, &e, &st, it->off, true);
      trip[dim * 3] = s, trip[dim * 3 + 1] = e, trip[dim * 3 + 2] = st;
      int64_t len = e > s ? (e - s + st - 1) / st : 0;
      if (s != 0 || e != in.d[dim] || st != 1) need_slice = true;
      if (out.rank >= TT_MAX_RANK) lerr(l, it->off, "too many dimensions");
      out.d[out.rank++] = len;
      dim++;
      continue;
    }
    if (it->v->k == V_TENSOR)
      lerr(l, it->off, "tensors used as indices must be long (int64) tensors, got %s; ttc indexes one dimension with them (x[idx])",
           dt_torch(tdtype(l, it->v)));
    if (it->v->k == V_LIST)
      lerr(l, it->off, "a list index is supported alone (x[[0, 2]]), not among other indices");
    int64_t k = want_int(l, it->v, "an index", it->off);
    int64_t sz = in.d[dim];
    if (k < -sz || k >= sz)
      lerr(l, it->off, "index %lld is out of bounds for dimension %d with size %lld", (long long)k, dim,
           (long long)sz);
    if (k < 0) k += sz;
    trip[dim * 3] = k, trip[dim * 3 + 1] = k + 1, trip[dim * 3 + 2] = 1;
    need_slice = anyint = true;
    dim++;
  }
  for (; dim < in.rank; dim++) {
    trip[dim * 3] = 0, trip[dim * 3 + 1] = in.d[dim], trip[dim * 3 + 2] = 1;
    if (out.rank >= TT_MAX_RANK) lerr(l, off, "too many dimensions");
    out.d[out.rank++] = in.d[dim];
  }
  Value *x = obj;
  /* PyTorch applies the items in order; the last select, slice or unsqueeze names the
     result's grad_fn (x[0, :3] is SliceBackward0, x[:3, 0] SelectBackward0) */
  const char *gf = anyint ? "SelectBackward0" : "SliceBackward0";
  for (int i = n - 1, d = -1; i >= 0; i--) {
    if (items[i].kind == IX_ELLIPSIS) continue;
    if (items[i].kind == IX_SLICE) {
      /* PyTorch skips a slice whose explicit stop is the dim's size (x[0, :3] of [4, 3]) */
      if (d < 0) { /* the dim this slice indexes: count the dim-consuming items before it */
        d = 0;
        for (int k = 0; k < i; k++) {
          if (items[k].kind == IX_ELLIPSIS) { d += in.rank - consumed; continue; }
          if (items[k].kind == IX_SLICE || items[k].v->k != V_NONE) d++;
        }
      }
      IndexItem *it = &items[i];
      bool lo0 = !it->lo || (it->lo->k == V_INT && it->lo->i == 0);
      bool st1 = !it->st || (it->st->k == V_INT && it->st->i == 1);
      if (lo0 && st1 && it->hi && it->hi->k == V_INT && it->hi->i == in.d[d]) {
        d = -1;
        continue;
      }
      gf = "SliceBackward0";
    } else
      gf = items[i].v->k == V_NONE ? "UnsqueezeBackward0" : "SelectBackward0";
    break;
  }
  if (need_slice) {
    Attr at = {0};
    at.ints = ir_ints(cur_graph(l), trip, in.rank * 3);
    at.nints = in.rank * 3;
    x = op1(l, OP_SLICE, x, &at, off, gf);
  }
  Value *r = reshape_to(l, x, out, off, need_slice ? gf : "UnsqueezeBackward0");
  if (r != obj && r->t.requires_grad && !r->t.leaf) r->t.gradfn = gf;
  return r;
}

/*
 * x[index] = v, and x[index] op= v: PyTorch's copy into a view, or index_put_ for a bool
 * mask. The new value of x is where(mask, v placed at the indexed positions, x), and x
 * changes in place (tensor_inplace), so every name bound to it sees the change. Basic
 * indices (ints, slices with steps, None, ...) and a bool mask with a scalar are
 * supported; tensor and list indices are a diagnostic.
 */
void bi_index_put(L *l, Value *x, IndexItem *items, int n, Value *v, int32_t off) {
  if (dyn_index_put(l, x, items, n, v, off)) return; /* run-time sizes, tensor indices */
  Shape in = tshape(l, x);
  DType dt = tdtype(l, x);
  if (in.symm) lerr(l, off, "assignment by index into a tensor with a batch dimension is not supported");
  if (v->k == V_HOST) v = to_tensor_dt(l, v, dt, off); /* losses[k] = loss.item() */
  else if (v->k != V_TENSOR) v = bi_call(l, "tensor", NULL, &v, 1, off);
  if (v->t.requires_grad && !l->no_grad)
    lerr(l, off, "assigning a tensor that requires grad into another by index is not supported");
  if (tdtype(l, v) != dt) v = cast(l, v, dt, off);
  if (n == 1 && items[0].kind == IX_VALUE && items[0].v->k == V_TENSOR && tdtype(l, items[0].v) == DT_BOOL) {
    /* x[mask] = v: a scalar (or one-element) v where the mask is true */
    Value *mask = items[0].v;
    Shape ms = tshape(l, mask);
    if (ms.rank > in.rank) lerr(l, items[0].off, "too many indices for tensor of dimension %d", in.rank);
    for (int i = 0; i < ms.rank; i++)
      if (ms.d[i] != in.d[i])
        lerr(l, items[0].off, "The shape of the mask %s at index %d does not match the shape of the indexed tensor",
             shape_str(&ms, (char[64]){0}, 64), i);
    Shape vs = tshape(l, v);
    if (shape_numel(&vs) != 1)
      lerr(l, off, "x[mask] = v with a v of several elements is not supported (its count depends on "
                   "the mask at run time); assign a number, or use torch.where");
    if (ms.rank < in.rank) { /* the mask covers leading dims: one value per trailing block */
      Shape m2 = ms;
      for (int i = ms.rank; i < in.rank; i++) m2.d[m2.rank++] = 1;
      mask = reshape_to(l, mask, m2, off, NULL);
    }
    Value *scalar = reshape_to(l, v, shape_scalar(), off, NULL);
    Value *r = bi_select(l, mask, scalar, x, off, "IndexPutBackward0");
    tensor_inplace(l, x, r, off);
    return;
  }
  for (int i = 0; i < n; i++)
    if (items[i].kind == IX_VALUE && (items[i].v->k == V_TENSOR || items[i].v->k == V_LIST || items[i].v->k == V_RANGE))
      lerr(l, items[i].off, "assignment through a tensor or list index (index_put_) is not supported; "
                            "index with ints and slices, or use scatter/where");
  /* the view x[items]: one slice triple per dim of x (an int is k:k+1) */
  int64_t trip[TT_MAX_RANK * 3];
  Shape sl = {.rank = in.rank};
  int consumed = 0, dim = 0;
  for (int i = 0; i < n; i++)
    if (items[i].kind == IX_SLICE || (items[i].kind == IX_VALUE && items[i].v->k != V_NONE)) consumed++;
  if (consumed > in.rank) lerr(l, off, "too many indices for tensor of dimension %d", in.rank);
  for (int i = 0; i < n; i++) {
    IndexItem *it = &items[i];
    if (it->kind == IX_ELLIPSIS) {
      for (int k = 0; k < in.rank - consumed; k++, dim++)
        trip[dim * 3] = 0, trip[dim * 3 + 1] = in.d[dim], trip[dim * 3 + 2] = 1, sl.d[dim] = in.d[dim];
      continue;
    }
    if (it->kind == IX_VALUE && it->v->k == V_NONE) continue;
    if (it->kind == IX_SLICE) {
      int64_t s, e, st;
      slice_bounds(l, it->lo, it->hi, it->st, in.d[dim], &s, &e, &st, it->off, true);
      trip[dim * 3] = s, trip[dim * 3 + 1] = e > s ? e : s, trip[dim * 3 + 2] = st;
      sl.d[dim] = e > s ? (e - s + st - 1) / st : 0;
      dim++;
      continue;
    }
    int64_t k = want_int(l, it->v, "an index", it->off);
    if (k < -in.d[dim] || k >= in.d[dim])
      lerr(l, it->off, "index %lld is out of bounds for dimension %d with size %lld", (long long)k, dim,
           (long long)in.d[dim]);
    if (k < 0) k += in.d[dim];
    trip[dim * 3] = k, trip[dim * 3 + 1] = k + 1, trip[dim * 3 + 2] = 1, sl.d[dim] = 1;
    dim++;
  }
  for (; dim < in.rank; dim++) trip[dim * 3] = 0, trip[dim * 3 + 1] = in.d[dim], trip[dim * 3 + 2] = 1, sl.d[dim] = in.d[dim];
  /* v broadcast to the view's shape (x[items]'s), then laid out as the slice */
  Value *view = bi_index(l, x, items, n, n > 1, off);
  Shape vw = tshape(l, view), vs = tshape(l, v);
  Value *vb = v;
  if (!shape_eq(&vs, &vw)) {
    Value *dims = v_tuple(l, vw.rank);
    for (int i = 0; i < vw.rank; i++) dims->items[i] = v_int(l, vw.d[i]);
    vb = bi_call(l, "expand", v, &dims, 1, off);
  }
  vb = reshape_to(l, vb, sl, off, NULL);
  if (shape_eq(&sl, &in)) { /* the whole tensor */
    tensor_inplace(l, x, vb, off);
    return;
  }
  int64_t at4[TT_MAX_RANK * 4];
  for (int i = 0; i < in.rank * 3; i++) at4[i] = trip[i];
  for (int i = 0; i < in.rank; i++) at4[in.rank * 3 + i] = in.d[i];
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), at4, in.rank * 4);
  at.nints = in.rank * 4;
  Value *placed = op1(l, OP_SLICE_BACKWARD, vb, &at, off, NULL);
  Value *ones = bi_call(l, "ones", NULL, (Value *[]){size_tuple(l, sl)}, 1, off);
  ones = cast(l, ones, DT_BOOL, off);
  Value *mask = op1(l, OP_SLICE_BACKWARD, ones, &at, off, NULL);
  Value *r = bi_select(l, mask, placed, x, off, "CopySlices");
  tensor_inplace(l, x, r, off);
}

/* ---- casts, copies, properties ------------------------------------------------------ */

static Value *to_dtype(L *l, Value *self, Args *a, const char *fname, DType dt) {
  Value *v[1];
  args_bind(l, fname, "input", self, a, v, 1);
  return cast(l, want_tensor(l, v[0], fname, a->off), dt, a->off);
}
B(float) { return to_dtype(l, self, a, "float", DT_F32); }
B(double) { return to_dtype(l, self, a, "double", DT_F64); }
B(long) { return to_dtype(l, self, a, "long", DT_I64); }
B(int) { return to_dtype(l, self, a, "int", DT_I32); }
B(bool) { return to_dtype(l, self, a, "bool", DT_BOOL); }

B(to) {
  Value *x = want_tensor(l, self, "to", a->off);
  for (int i = 0; i < a->npos; i++) {
    if (a->pos[i]->k == V_DTYPE) x = cast(l, x, (DType)a->pos[i]->i, a->off);
    else if (a->pos[i]->k == V_STR && !strcmp(a->pos[i]->s, "cpu")) continue;
    else lerr(l, a->off, "to(): expected a dtype or 'cpu'");
  }
  for (int k = 0; k < a->nkw; k++) {
    if (!strcmp(a->kwnames[k], "dtype")) x = cast(l, x, want_dtype(l, a->kw[k], a->off), a->off);
    else if (strcmp(a->kwnames[k], "device")) lerr(l, a->off, "to() got an unexpected keyword argument '%s'", a->kwnames[k]);
  }
  return x;
}

B(detach) {
  Value *v[1];
  args_bind(l, "detach", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "detach", a->off);
  int32_t in = tnode(l, x);
  Value *r = mk_tensor(l, add_node(l, OP_DETACH, &in, 1, NULL, a->off));
  r->t.leaf = true;
  return r;
}

B(clone) {
  Value *v[1];
  args_bind(l, "clone", "input", self, a, v, 1);
  Value *x = want_tensor(l, v[0], "clone", a->off);
  /* a copy: an identity permute, a copy loop (a reshape is a view in the emitted C, so a
     clone of .grad would change when zero_grad() later wrote the gradient) */
  Shape s = tshape(l, x);
  int64_t order[TT_MAX_RANK];
  for (int i = 0; i < s.rank; i++) order[i] = i;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), order, s.rank);
  at.nints = s.rank;
  int32_t in = tnode(l, x);
  int id = add_node(l, OP_PERMUTE, &in, 1, &at, a->off);
  return result(l, id, &x, 1, "CloneBackward0");
}

B(contiguous) {
  UNUSED(l);
  UNUSED(a);
  return self;
}

B(requires_grad_) {
  Value *v[2];
  args_bind(l, "requires_grad_", "input, requires_grad=True", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "requires_grad_", a->off);
  bool rg = want_bool(l, v[1], a->off);
  /* As PyTorch's is_leaf: a tensor without grad history is a leaf, however it was
     computed (torch.arange(4.).reshape(2, 2), torch.ones(3) * 2). */
  bool leaf = x->t.leaf || !x->t.requires_grad;
  if (!leaf && !rg) lerr(l, a->off, "you can only change requires_grad flags of leaf variables");
  if (rg && !x->t.requires_grad) make_leaf(l, x, true, a->off);
  x->t.requires_grad = rg;
  /* a parameter's flag is its variable's too: backward() calls after this one leave a
     frozen parameter without a gradient (earlier ones were already traced) */
  if (x->t.leaf && x->t.var >= 0 && l->p->vars[x->t.var].kind == VAR_PARAM) l->p->vars[x->t.var].requires_grad = rg;
  return x;
}

/* The run-time extent of the current graph's batch dimension, as a host value. */
static Value *batch_size_value(L *l, int32_t off) {
  int ld = cur_graph(l)->loader >= 0 ? cur_graph(l)->loader : l->loader;
  if (ld < 0) lerr(l, off, "the size of the batch dimension is only known inside the loop over its loader");
  HostExpr *e = ir_hx(l->p, HX_BATCH);
  e->loader = ld;
  return v_host(l, e);
}

Value *dim_size(L *l, Shape s, int i, int32_t off) {
  return sym_at(&s, i) ? batch_size_value(l, off) : v_int(l, s.d[i]);
}

Value *size_tuple(L *l, Shape s) {
  Value *t = v_tuple(l, s.rank);
  t->s = "torch.Size";
  for (int i = 0; i < s.rank; i++) t->items[i] = dim_size(l, s, i, 0);
  return t;
}

B(size) {
  Value *v[2];
  args_bind(l, "size", "input, dim=None", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "size", a->off);
  if (x->t.win) /* a window of a growing tensor (generate.c) */
    return win_size(l, x, v[1] ? normdim(l, want_int(l, v[1], "dim", a->off), win_rank(l, x), a->off) : -1);
  Shape s = tshape(l, x);
  if (!v[1]) return size_tuple(l, s);
  return dim_size(l, s, normdim(l, want_int(l, v[1], "dim", a->off), s.rank, a->off), a->off);
}
B(dim) {
  Value *v[1];
  args_bind(l, "dim", "input", self, a, v, 1);
  return v_int(l, tshape(l, want_tensor(l, v[0], "dim", a->off)).rank);
}
B(numel) {
  Value *v[1];
  args_bind(l, "numel", "input", self, a, v, 1);
  Shape s = tshape(l, want_tensor(l, v[0], "numel", a->off));
  return v_int(l, shape_numel(&s));
}
B(item) {
  Value *v[1];
  args_bind(l, "item", "input", self, a, v, 1);
  return tensor_item(l, want_tensor(l, v[0], "item", a->off), a->off);
}

/* ---- shapes and dtypes of another tensor --------------------------------------------------- */

/* x.view_as(o) / x.reshape_as(o): x in o's shape (o's batch dimension included). */
static Value *shape_as(L *l, Value *self, Args *a, const char *fname) {
  Value *v[2];
  args_bind(l, fname, "input, other", self, a, v, 2);
  Value *x = want_tensor(l, v[0], fname, a->off), *o = want_tensor(l, v[1], fname, a->off);
  Shape in = tshape(l, x), s = tshape(l, o);
  if ((in.symm) != (s.symm) || shape_numel(&in) != shape_numel(&s)) {
    char b1[64], b2[64];
    lerr(l, a->off, "shape '%s' is invalid for input of size %s", shape_str(&s, b1, sizeof b1), shape_str(&in, b2, sizeof b2));
  }
  return reshape_to(l, x, s, a->off, "ViewBackward0");
}
B(view_as) { return shape_as(l, self, a, "view_as"); }
B(reshape_as) { return shape_as(l, self, a, "reshape_as"); }

/* x.expand_as(o): x broadcast to o's shape. */
B(expand_as) {
  Value *v[2];
  args_bind(l, "expand_as", "input, other", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "expand_as", a->off), *o = want_tensor(l, v[1], "expand_as", a->off);
  Shape in = tshape(l, x), s = tshape(l, o);
  if (shape_eq(&in, &s)) return x;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), s.d, s.rank);
  at.nints = s.rank;
  return op1(l, OP_EXPAND, x, &at, a->off, NULL);
}

/* x.type_as(o): x in o's dtype. x.type(dtype): the same with a dtype. */
B(type_as) {
  Value *v[2];
  args_bind(l, "type_as", "input, other", self, a, v, 2);
  return cast(l, want_tensor(l, v[0], "type_as", a->off), tdtype(l, want_tensor(l, v[1], "type_as", a->off)), a->off);
}
B(type) {
  Value *v[2];
  args_bind(l, "type", "input, dtype=None", self, a, v, 2);
  Value *x = want_tensor(l, v[0], "type", a->off);
  if (!v[1]) lerr(l, a->off, "type() without a dtype returns a type name string, which ttc does not support");
  return cast(l, x, want_dtype(l, v[1], a->off), a->off);
}

/* ---- pieces along a dim ----------------------------------------------------------------- */

/* x[..., s:e, ...] along dim d (a static dimension). */
static Value *slice_along(L *l, Value *x, int d, int64_t s, int64_t e, int32_t off) {
  Shape in = tshape(l, x);
  if (s == 0 && e == in.d[d]) return x;
  int64_t trip[TT_MAX_RANK * 3];
  for (int i = 0; i < in.rank; i++) trip[i * 3] = 0, trip[i * 3 + 1] = in.d[i], trip[i * 3 + 2] = 1;
  trip[d * 3] = s, trip[d * 3 + 1] = e;
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), trip, in.rank * 3);
  at.nints = in.rank * 3;
  return op1(l, OP_SLICE, x, &at, off, "SplitBackward0");
}

/* The tuple of pieces of the given sizes along dim (split, chunk, tensor_split's cousins). */
static Value *pieces(L *l, Value *x, int64_t dim, const int64_t *sizes, int n, int32_t off) {
  Shape s = tshape(l, x);
  int d = normdim(l, dim, s.rank ? s.rank : 1, off);
  if (s.rank == 0) lerr(l, off, "split(): a 0-d tensor has no dimension to split");
  if (sym_at(&s, d)) lerr(l, off, "split(): ttc cannot split the batch dimension, whose size is known only at run time");
  Value *t = v_tuple(l, n);
  int64_t at = 0;
  for (int i = 0; i < n; i++) {
    t->items[i] = slice_along(l, x, d, at, at + sizes[i], off);
    at += sizes[i];
  }
  return t;
}

B(split) {
  Value *v[3];
  args_bind(l, "split", "input, split_size_or_sections, dim=0", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "split", a->off), *ss = v[1];
  Shape s = tshape(l, x);
  int64_t dim = want_int(l, v[2], "dim", a->off);
  int d = normdim(l, dim, s.rank ? s.rank : 1, a->off);
  int64_t len = s.rank ? s.d[d] : 0;
  int64_t sizes[1024];
  int n = 0;
  if (ss && (ss->k == V_LIST || ss->k == V_TUPLE)) {
    int64_t tot = 0;
    if (ss->n > 1024) lerr(l, a->off, "split(): too many sections");
    for (int i = 0; i < ss->n; i++) {
      sizes[n] = want_int(l, ss->items[i], "a section size", a->off);
      if (sizes[n] < 0) lerr(l, a->off, "split(): section sizes must be non-negative");
      tot += sizes[n++];
    }
    if (tot != len)
      lerr(l, a->off, "split_with_sizes expects split_sizes to sum exactly to %lld (input tensor's size at dimension %d), but got split_sizes=%s",
           (long long)len, d, v_str_of(l, ss, true, a->off));
  } else {
    int64_t k = want_int(l, ss, "split_size", a->off);
    if (k <= 0) lerr(l, a->off, "split(): split_size must be positive, got %lld", (long long)k);
    for (int64_t at = 0; at < len || n == 0; at += k) {
      if (n == 1024) lerr(l, a->off, "split(): more than 1024 pieces");
      sizes[n++] = len - at < k ? len - at : k;
      if (len == 0) break;
    }
  }
  return pieces(l, x, dim, sizes, n, a->off);
}

B(chunk) {
  Value *v[3];
  args_bind(l, "chunk", "input, chunks, dim=0", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "chunk", a->off);
  Shape s = tshape(l, x);
  int64_t c = want_int(l, v[1], "chunks", a->off), dim = want_int(l, v[2], "dim", a->off);
  if (c <= 0) lerr(l, a->off, "chunk expects `chunks` to be greater than 0, got: %lld", (long long)c);
  int d = normdim(l, dim, s.rank ? s.rank : 1, a->off);
  int64_t len = s.rank ? s.d[d] : 0, k = (len + c - 1) / c;
  int64_t sizes[1024];
  int n = 0;
  if (k == 0) sizes[n++] = 0;
  for (int64_t at = 0; k > 0 && at < len; at += k) {
    if (n == 1024) lerr(l, a->off, "chunk(): more than 1024 pieces");
    sizes[n++] = len - at < k ? len - at : k;
  }
  return pieces(l, x, dim, sizes, n, a->off);
}

/* x.repeat(*sizes): x viewed as [1, d0, 1, d1, ...] expanded to [r0, d0, r1, d1, ...] and
 * merged; tile pads the sizes with leading 1s instead. */
static Value *repeat_impl(L *l, Value *x, Value **items, int n, bool tile, int32_t off) {
  Shape in = tshape(l, x);
  if (n == 1 && (items[0]->k == V_LIST || items[0]->k == V_TUPLE)) n = items[0]->n, items = items[0]->items;
  int64_t r[TT_MAX_RANK];
  if (n > TT_MAX_RANK || (2 * (n > in.rank ? n : in.rank)) > TT_MAX_RANK) lerr(l, off, "repeat(): too many dimensions for ttc");
  if (!tile && n < in.rank)
    lerr(l, off, "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  int rank = n > in.rank ? n : in.rank;
  for (int i = 0; i < rank; i++) {
    int k = i - (rank - n);
    r[i] = k >= 0 ? want_int(l, items[k], "a repeat count", off) : 1;
    if (r[i] < 0) lerr(l, off, "Trying to create tensor with negative dimension %lld", (long long)r[i]);
  }
  if (in.symm) lerr(l, off, "repeat(): ttc cannot repeat a tensor with a run-time batch dimension");
  Shape v1 = {.rank = 2 * rank}, big = {.rank = 2 * rank}, out = {.rank = rank};
  for (int i = 0; i < rank; i++) {
    int k = i - (rank - in.rank);
    int64_t d = k >= 0 ? in.d[k] : 1;
    v1.d[2 * i] = 1, v1.d[2 * i + 1] = d;
    big.d[2 * i] = r[i], big.d[2 * i + 1] = d;
    out.d[i] = r[i] * d;
  }
  Value *y = reshape_to(l, x, v1, off, "ViewBackward0");
  Attr at = {0};
  at.ints = ir_ints(cur_graph(l), big.d, big.rank);
  at.nints = big.rank;
  if (!shape_eq(&v1, &big)) y = op1(l, OP_EXPAND, y, &at, off, NULL);
  Value *res = reshape_to(l, y, out, off, "RepeatBackward0");
  if (res->t.requires_grad) res->t.gradfn = "RepeatBackward0";
  return res;
}
B(repeat) {
  Value *x = want_tensor(l, self, "repeat", a->off);
  if (a->nkw) lerr(l, a->off, "repeat() takes no keyword arguments");
  return repeat_impl(l, x, a->pos, a->npos, false, a->off);
}
B(tile) {
  Value *x = want_tensor(l, self ? self : (a->npos ? a->pos[0] : NULL), "tile", a->off);
  int first = self ? 0 : 1;
  if (a->nkw == 1 && !strcmp(a->kwnames[0], "dims")) return repeat_impl(l, x, a->kw, 1, true, a->off);
  return repeat_impl(l, x, a->pos + first, a->npos - first, true, a->off);
}

/* F.pad(input, pad, mode='constant', value=0): pad = (left, right) for the last dim, then
 * (top, bottom) for the one before, ...; the input between blocks of value (a cat). */
B(pad) {
  Value *v[4];
  args_bind(l, "pad", "input, pad, mode='constant', value=None", self, a, v, 4);
  Value *x = want_tensor(l, v[0], "pad", a->off), *p = v[1];
  if (v[2] && (v[2]->k != V_STR || strcmp(v[2]->s, "constant")))
    lerr(l, a->off, "pad(): ttc supports mode='constant' only");
  if (!p || (p->k != V_TUPLE && p->k != V_LIST) || p->n % 2) lerr(l, a->off, "Padding length must be divisible by 2");
  Shape s = tshape(l, x);
  if (p->n / 2 > s.rank) lerr(l, a->off, "Padding length too large");
  double value = v[3] && v[3]->k != V_NONE ? want_num(l, v[3], "value", a->off) : 0;
  for (int i = 0; i < p->n / 2; i++) {
    int d = s.rank - 1 - i;
    int64_t lo = want_int(l, p->items[2 * i], "pad", a->off), hi = want_int(l, p->items[2 * i + 1], "pad", a->off);
    if (lo < 0 || hi < 0) lerr(l, a->off, "pad(): negative padding (cropping) is not supported by ttc");
    if (lo == 0 && hi == 0) continue;
    if (sym_at(&s, d)) lerr(l, a->off, "pad(): ttc cannot pad the batch dimension");
    Value *parts = v_new(l, V_LIST);
    Shape bs = tshape(l, x);
    if (lo) bs.d[d] = lo, v_list_push(l, parts, filled(l, bs, tdtype(l, x), value, a->off));
    v_list_push(l, parts, x);
    if (hi) bs.d[d] = hi, v_list_push(l, parts, filled(l, bs, tdtype(l, x), value, a->off));
    x = cat_list(l, parts, d, a->off, "pad", false);
  }
  if (x->t.requires_grad) x->t.gradfn = "ConstantPadNdBackward0";
  return x;
}

/* ---- gather, index_select, embedding ------------------------------------------------------ */

static Value *gather_node(L *l, Value *x, int64_t dim, Value *idx, int32_t off, const char *gradfn) {
  Attr at = {0};
  at.i[0] = dim;
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, x);
  in[1] = tnode(l, idx);
  Value *ins[2] = {x, NULL};
  return bi_result(l, add_node(l, OP_GATHER, in, 2, &at, off), ins, 1, gradfn);
}

static Value *index_arg(L *l, Value *v, const char *fname, int32_t off) {
  Value *t = want_tensor(l, v, fname, off);
  if (tdtype(l, t) != DT_I64) lerr(l, off, "%s(): expected an int64 index tensor, got %s", fname, dt_torch(tdtype(l, t)));
  return t;
}

B(gather) {
  Value *v[3];
  args_bind(l, "gather", "input, dim, index", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "gather", a->off), *ix = index_arg(l, v[2], "gather", a->off);
  Shape xs = tshape(l, x), is = tshape(l, ix);
  int d = normdim(l, want_int(l, v[1], "dim", a->off), xs.rank ? xs.rank : 1, a->off);
  if (is.rank != xs.rank) lerr(l, a->off, "Index tensor must have the same number of dimensions as input tensor");
  for (int i = 0; i < xs.rank; i++)
    if (i != d && !sym_at(&is, i) && is.d[i] > xs.d[i])
      lerr(l, a->off, "Size does not match at dimension %d expected index %s to be smaller than self apart from dimension %d",
           i, v_str_of(l, size_tuple(l, is), false, a->off), d);
  return gather_node(l, x, d, ix, a->off, "GatherBackward0");
}

/* index_select(dim, idx): idx [n] viewed as [1, .., n, .., 1] and broadcast to x's other
 * dims, then gathered. */
static Value *select_rows(L *l, Value *x, int d, Value *ix, int32_t off, const char *gradfn) {
  Shape xs = tshape(l, x), is = tshape(l, ix);
  if (is.rank != 1 || is.symm) lerr(l, off, "index_select(): the index must be a 1-D tensor (of a static size)");
  Shape v1 = {.rank = xs.rank}, tgt = xs;
  for (int i = 0; i < xs.rank; i++) v1.d[i] = i == d ? is.d[0] : 1;
  tgt.d[d] = is.d[0];
  tgt.symm &= ~(1u << d);
  Value *iv = reshape_to(l, ix, v1, off, NULL);
  if (!shape_eq(&v1, &tgt)) {
    Attr at = {0};
    at.ints = ir_ints(cur_graph(l), tgt.d, tgt.rank);
    at.nints = tgt.rank;
    at.i[0] = sym_first(&tgt) + 1;
    iv = op1(l, OP_EXPAND, iv, &at, off, NULL);
  }
  return gather_node(l, x, d, iv, off, gradfn);
}

B(index_select) {
  Value *v[3];
  args_bind(l, "index_select", "input, dim, index", self, a, v, 3);
  Value *x = want_tensor(l, v[0], "index_select", a->off), *ix = index_arg(l, v[2], "index_select", a->off);
  Shape xs = tshape(l, x);
  if (xs.rank == 0) lerr(l, a->off, "index_select(): a 0-d tensor has no dimension to select from");
  int d = normdim(l, want_int(l, v[1], "dim", a->off), xs.rank, a->off);
  return select_rows(l, x, d, ix, a->off, "IndexSelectBackward0");
}

/* x[idx] with an int64 tensor idx of any shape: rows of x (negative indices count from the
 * end), in idx's shape followed by x's other dims. */
static Value *take_rows(L *l, Value *x, Value *ix, int32_t off) {
  Shape xs = tshape(l, x), is = tshape(l, ix);
  if (xs.rank == 0) lerr(l, off, "invalid index of a 0-dim tensor");
  if ((xs.symm & 1u)) lerr(l, off, "indexing the batch dimension with a tensor is not supported by ttc");
  if (is.symm) lerr(l, off, "an index tensor with a batch dimension is not supported by ttc yet");
  Value *flat = reshape_to(l, ix, (Shape){.rank = 1, .d = {shape_numel(&is)}}, off, NULL);
  Value *neg = bi_compare(l, CMP_LT, flat, v_int(l, 0), off);
  Value *wrapped = bi_binop(l, BIN_ADD, flat, v_int(l, xs.d[0]), off);
  flat = bi_select(l, neg, wrapped, flat, off, NULL);
  Value *rows = select_rows(l, x, 0, flat, off, "IndexBackward0");
  Shape out = {.rank = is.rank + xs.rank - 1};
  if (out.rank > TT_MAX_RANK) lerr(l, off, "too many dimensions");
  for (int i = 0; i < is.rank; i++) out.d[i] = is.d[i];
  for (int i = 1; i < xs.rank; i++) out.d[is.rank + i - 1] = xs.d[i];
  Value *r = reshape_to(l, rows, out, off, NULL);
  if (r->t.requires_grad) r->t.gradfn = "IndexBackward0";
  return r;
}

/* F.embedding(input, weight, padding_idx=None): the rows of weight, in input's shape
 * followed by the embedding dim; padding_idx's rows get no gradient (they are masked). */
static Value *embedding_of(L *l, Value *ix, Value *w, Value *pad, int32_t off) {
  Shape ws = tshape(l, w), is = tshape(l, ix);
  if (ws.rank != 2) lerr(l, off, "embedding(): the weight must be 2-D [num_embeddings, embedding_dim]");
  if (tdtype(l, ix) != DT_I64) lerr(l, off, "embedding(): expected an int64 index tensor, got %s", dt_torch(tdtype(l, ix)));
  if (is.rank + 1 > TT_MAX_RANK) lerr(l, off, "too many dimensions");
  int32_t in[2]; /* one at a time: tnode may add an input node */
  in[0] = tnode(l, w);
  in[1] = tnode(l, ix);
  Value *ins[2] = {w, NULL};
  Value *rows = bi_result(l, add_node(l, OP_EMBEDDING, in, 2, NULL, off), ins, 1, "EmbeddingBackward0");
  if (pad && pad->k != V_NONE) {
    /* padding_idx's rows read as +0 and take no gradient */
    Value *keep = bi_call(l, "unsqueeze", bi_compare(l, CMP_NE, ix, pad, off), (Value *[]){v_int(l, -1)}, 1, off);
    rows = bi_select(l, keep, rows, v_int(l, 0), off, "EmbeddingBackward0");
  }
  return rows;
}

B(embedding) {
  Value *v[3];
  args_bind(l, "embedding", "input, weight, padding_idx=None", self, a, v, 3);
  return embedding_of(l, want_tensor(l, v[0], "embedding", a->off), want_tensor(l, v[1], "embedding", a->off), v[2], a->off);
}

B(Embedding) {
  if (self) {
    Value *v[1];
    args_bind(l, "Embedding", "input", NULL, a, v, 1);
    return embedding_of(l, want_tensor(l, v[0], "Embedding", a->off), attrs_get(&self->attrs, "weight"),
                        attrs_get(&self->attrs, "padding_idx"), a->off);
  }
  Value *v[3];
  args_bind(l, "Embedding", "num_embeddings, embedding_dim, padding_idx=None", NULL, a, v, 3);
  int64_t n = want_int(l, v[0], "num_embeddings", a->off), dim = want_int(l, v[1], "embedding_dim", a->off);
  if (n < 1 || dim < 1 || (double)n * (double)dim > 1e9) lerr(l, a->off, "Embedding(): invalid sizes");
  Value *m = bi_module_new(l, "Embedding");
  attrs_set(l, &m->attrs, "num_embeddings", v_int(l, n));
  attrs_set(l, &m->attrs, "embedding_dim", v_int(l, dim));
  /* init.normal_(weight), then the padding row zeroed, as PyTorch */
  Value *w = bi_call(l, "randn", NULL, (Value *[]){v_int(l, n), v_int(l, dim)}, 2, a->off);
  if (v[2] && v[2]->k != V_NONE) {
    int64_t p = want_int(l, v[2], "padding_idx", a->off);
    if (p < -n || p >= n) lerr(l, a->off, "Padding_idx must be within num_embeddings");
    if (p < 0) p += n;
    attrs_set(l, &m->attrs, "padding_idx", v_int(l, p));
    Value *rowmask = bi_compare(l, CMP_NE, bi_call(l, "arange", NULL, (Value *[]){v_int(l, n)}, 1, a->off), v_int(l, p), a->off);
    Value *sh = v_tuple(l, 2);
    sh->items[0] = v_int(l, n), sh->items[1] = v_int(l, 1);
    w = bi_select(l, bi_call(l, "reshape", rowmask, &sh, 1, a->off), w, v_int(l, 0), a->off, NULL); /* +0 rows, as fill_(0) */
  }
  attrs_set(l, &m->attrs, "weight", bi_make_param(l, w, "weight", a->off));
  return m;
}

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
#define M BI_METHOD
const Builtin layout_builtins[] = {
  /* layout */
  {"reshape", F | M, bi_reshape, 0},
  {"view", M, bi_view, 0},
  {"flatten", F | M, bi_flatten, 0},
  {"unsqueeze", F | M, bi_unsqueeze, 0},
  {"squeeze", F | M, bi_squeeze, 0},
  {"permute", F | M, bi_permute, 0},
  {"transpose", F | M, bi_transpose, 0},
  {"swapaxes", F | M, bi_transpose, 0},
  {"t", F | M, bi_t, 0},
  {"expand", M, bi_expand, 0},
  {"cat", F, bi_cat, 0},
  {"concat", F, bi_cat, 0},
  {"concatenate", F, bi_cat, 0},
  {"stack", F, bi_stack, 0},
  /* casts and copies */
  {"float", M, bi_float, 0},
  {"double", M, bi_double, 0},
  {"long", M, bi_long, 0},
  {"int", M, bi_int, 0},
  {"bool", M, bi_bool, 0},
  {"to", M, bi_to, 0},
  {"detach", F | M, bi_detach, 0},
  {"clone", F | M, bi_clone, 0},
  {"contiguous", M, bi_contiguous, 0},
  {"requires_grad_", M, bi_requires_grad_, 0},
  {"size", M, bi_size, 0},
  {"dim", M, bi_dim, 0},
  {"numel", F | M, bi_numel, 0},
  {"item", M, bi_item, 0},
  {"view_as", M, bi_view_as, 0},
  {"reshape_as", M, bi_reshape_as, 0},
  {"expand_as", M, bi_expand_as, 0},
  {"type_as", M, bi_type_as, 0},
  {"type", M, bi_type, 0},
  {"split", F | M, bi_split, 0},
  {"chunk", F | M, bi_chunk, 0},
  {"repeat", M, bi_repeat, 0},
  {"tile", F | M, bi_tile, 0},
  {"pad", F, bi_pad, 0},
  {"gather", F | M, bi_gather, 0},
  {"nonzero", F | M, bi_nonzero, 0},          /* masked.c: sizes known at run time */
  {"masked_select", F | M, bi_masked_select, 0},
  {"unique", F | M, bi_unique, 0},
  {"index_put_", M, bi_index_put_, 0},
  {"index_put", F | M, bi_index_put_copy, 0},
  {"index_add_", M, bi_index_add_, 0},
  {"index_add", F | M, bi_index_add, 0},
  {"scatter_add_", M, bi_scatter_add_, 0},
  {"scatter_add", F | M, bi_scatter_add, 0},
  {"index_select", F | M, bi_index_select, 0},
  {"embedding", F, bi_embedding, 0},
  {"Embedding", BI_CLASS, bi_Embedding, 0},
};
#undef F
#undef M
const int layout_nbuiltins = (int)(sizeof layout_builtins / sizeof layout_builtins[0]);
