/*
 * prune.c — torch.nn.utils.prune as PyTorch 1.13 defines it (l1_unstructured,
 * random_unstructured, ln_structured, global_unstructured, identity, custom_from_mask,
 * remove, is_pruned) and the curriculum's magnitude_prune / structured_prune.
 *
 * PyTorch's mechanism, reproduced: pruning parameter `weight` of a module makes the
 * Parameter `weight_orig` (the same object, so an optimizer made before still updates it),
 * registers a buffer `weight_mask`, and sets the plain attribute `weight = weight_orig *
 * weight_mask`, which a forward pre-hook recomputes before each call of the module. The
 * gradient reaching weight_orig is therefore masked, and fine-tuning keeps the pruned
 * entries at zero. named_parameters() and state_dict() list weight_orig (after the module's
 * other parameters) and weight_mask (a buffer), as PyTorch's do.
 *
 * Here: the module's attributes change at compile time; the masks are computed at run
 * time by graph ops (the weights are only known then): |w| or norms, torch.topk's choice
 * (OP_ARGSORT in its topk mode) and the inverse permutation of that order (each entry's
 * rank), so entry i is chosen when its rank is below k. `weight` lives in a program variable written by every forward (as PyTorch's
 * attribute, it holds the value of the last forward, or of the prune call). The module
 * keeps "__prune__": a list of (name, kept elements, structured dim, kept channels), -1
 * where a count is not known at compile time; a second pruning of the same tensor (PyTorch's
 * PruningContainer, which prunes among the entries or channels still unpruned) needs its
 * count, and is a diagnostic when it is not known.
 *
 * Ties: PyTorch's topk chooses with std::partial_sort / nth_element, whose choice among
 * equal values is libstdc++'s; OP_ARGSORT's topk mode (runtime/sort.c, tt_topk_order_*)
 * runs the same steps, so tied magnitudes (zeros, repeated values) give PyTorch's masks.
 */
#include "lower.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

/* A pruned tensor's record in the module's "__prune__" list: a tuple of these items. */
enum {
  PE_NAME,  /* V_STR: the tensor's name (weight) */
  PE_KEPT,  /* V_INT: the mask's ones, or -1 when not known at compile time */
  PE_SDIM,  /* V_INT: the dim of structured pruning, or -1 */
  PE_KCH,   /* V_INT: channels kept along PE_SDIM, or -1 */
  PE_WVAR,  /* V_INT: the program variable holding orig * mask (the attribute's value) */
  PE__N
};

/* The pruning methods (PyTorch's BasePruningMethod subclasses). */
typedef enum { PM_L1, PM_RANDOM, PM_LN, PM_IDENTITY, PM_CUSTOM } PMethod;

typedef struct Method {
  PMethod m;
  Value *amount; /* PM_L1, PM_RANDOM, PM_LN */
  double n;      /* PM_LN: the norm's p (INFINITY, -INFINITY, 1, 2, ...) */
  int64_t dim;   /* PM_LN */
  Value *mask;   /* PM_CUSTOM */
} Method;

static Value *entry_of(Value *m, const char *name) {
  Value *list = attrs_get(&m->attrs, "__prune__");
  for (int i = 0; list && i < list->n; i++)
    if (!strcmp(list->items[i]->items[PE_NAME]->s, name)) return list->items[i];
  return NULL;
}

static Shape shape1(int64_t n) { return shape_make(1, &n); }

static Value *v_list(L *l) { return v_new(l, V_LIST); }

static int64_t ent(Value *e, int k) { return e->items[k]->i; }
static void ent_set(L *l, Value *e, int k, int64_t v) { e->items[k] = v_int(l, v); }

/* Drops key from a's insertion order (PyTorch's `del module._parameters[name]`). */
static void attrs_remove(Attrs *a, const char *key) {
  for (int i = 0; i < a->n; i++)
    if (!strcmp(a->keys[i], key)) {
      memmove(a->keys + i, a->keys + i + 1, sizeof(char *) * (size_t)(a->n - i - 1));
      memmove(a->vals + i, a->vals + i + 1, sizeof(Value *) * (size_t)(a->n - i - 1));
      a->n--;
      return;
    }
}

static void want_module(L *l, Value *m, const char *fname, int32_t off) {
  if (!m || !bi_is_module(m)) lerr(l, off, "%s(): module must be an nn.Module, not %s", fname, m ? v_typename(m) : "None");
}

static const char *want_name(L *l, Value *v, const char *fname, int32_t off) {
  if (!v || v->k != V_STR) lerr(l, off, "%s(): name must be a string (the parameter's name, e.g. 'weight')", fname);
  return v->s;
}

/* PyTorch's _validate_pruning_amount_init. */
static void check_amount(L *l, Value *amount, int32_t off) {
  if (!amount || (amount->k != V_INT && amount->k != V_BOOL && amount->k != V_FLOAT))
    lerr(l, off, "Invalid type for amount: %s. Must be int or float.", amount ? v_str_of(l, amount, true, off) : "None");
  if (amount->k == V_FLOAT && isnan(amount->f)) lerr(l, off, "cannot convert float NaN to integer");
  if ((amount->k != V_FLOAT && amount->i < 0) || (amount->k == V_FLOAT && (amount->f > 1.0 || amount->f < 0.0)))
    lerr(l, off, "amount=%s should either be a float in the range [0, 1] or a non-negative integer",
         v_str_of(l, amount, false, off));
}

/* PyTorch's _compute_nparams_toprune (round() is Python's, half to even) and
 * _validate_pruning_amount. */
static int64_t nparams_toprune(L *l, Value *amount, int64_t size, int32_t off) {
  if (amount->k != V_FLOAT) {
    if (amount->i > size)
      lerr(l, off, "amount=%lld should be smaller than the number of parameters to prune=%lld", (long long)amount->i,
           (long long)size);
    return amount->i;
  }
  return (int64_t)nearbyint(amount->f * (double)size);
}

static Value *reshape_to(L *l, Value *x, Shape s, int32_t off) {
  Value *t = v_tuple(l, s.rank);
  for (int i = 0; i < s.rank; i++) t->items[i] = v_int(l, s.d[i]);
  return bi_call(l, "reshape", x, &t, 1, off);
}

static Value *flat(L *l, Value *x, int32_t off) {
  Value *m1 = v_int(l, -1);
  return bi_call(l, "reshape", x, &m1, 1, off);
}

/* Each entry's position in the stable sort of the 1-D x (0 first), as int64. */
static Value *ranks(L *l, Value *x, bool descending, int32_t off) {
  Value *pos[3] = {x, v_int(l, 0), descending ? l->vtrue : l->vfalse};
  Value *order = bi_call(l, "argsort", NULL, pos, 3, off);
  Value *pos2[2] = {order, v_int(l, 0)};
  return bi_call(l, "argsort", NULL, pos2, 2, off); /* the inverse permutation */
}

static int64_t numel(Shape s) {
  int64_t n = 1;
  for (int i = 0; i < s.rank; i++) n *= s.d[i];
  return n;
}

/*
 * Which entries of the 1-D score [n] torch.topk(score[elig == 1], k, largest) chooses, as a
 * float flag [n] (1: chosen): ATen's selection, ties as libstdc++ leaves them (OP_ARGSORT's
 * topk mode), over the eligible entries packed in index order as PyTorch's boolean
 * indexing packs them (elig NULL: all n; else kept of them are eligible).
 */
static Value *topk_chosen(L *l, Value *score, Value *elig, int64_t kept, int64_t k, bool largest, DType dt,
                          int32_t off) {
  int64_t n = tshape(l, score).d[0];
  bool packed = elig && kept < n;
  Value *c = score, *eo = NULL;
  if (packed) {
    /* the eligible positions first, in index order (a stable sort of "not eligible") */
    eo = bi_call(l, "argsort", NULL, (Value *[]){cast(l, bi_compare(l, CMP_NE, elig, v_float(l, 1.0), off), DT_I64, off), v_int(l, 0)}, 2, off);
    IndexItem it = {.kind = IX_SLICE, .lo = v_int(l, 0), .hi = v_int(l, kept), .off = off};
    c = bi_index(l, bi_call(l, "gather", NULL, (Value *[]){score, v_int(l, 0), eo}, 3, off), &it, 1, false, off);
  }
  Attr at = {0};
  at.i[1] = largest;
  at.i[2] = k + 1;
  Value *order = op1(l, OP_ARGSORT, c, &at, off, NULL);
  Value *rank = bi_call(l, "argsort", NULL, (Value *[]){order, v_int(l, 0)}, 2, off); /* its inverse */
  Value *chosen = cast(l, bi_compare(l, CMP_LT, rank, v_int(l, k), off), dt, off);
  if (!packed) return chosen;
  Value *parts = v_list(l);
  v_list_push(l, parts, chosen);
  v_list_push(l, parts, filled(l, shape1(n - kept), dt, 0.0, off));
  Value *inv = bi_call(l, "argsort", NULL, (Value *[]){eo, v_int(l, 0)}, 2, off);
  return bi_call(l, "gather", NULL, (Value *[]){bi_call(l, "cat", NULL, &parts, 1, off), v_int(l, 0), inv}, 3, off);
}

/*
 * The unstructured mask of the entries of t (any shape; n of them), pruning k among the
 * kept ones of old (NULL: all kept; kept of them): L1 prunes the k smallest |t|, random
 * the k that draw the largest U[0, 1) numbers (drawn for the kept entries only, in order,
 * as PyTorch's rand_like(t[mask == 1]) is). The result has t's shape and dtype.
 */
static Value *unstructured_mask(L *l, PMethod m, Value *t, Value *old, int64_t kept, int64_t k, int32_t off) {
  Shape s = tshape(l, t);
  DType dt = tdtype(l, t);
  int64_t n = numel(s);
  if (k == 0) return old ? old : filled(l, s, dt, 1.0, off); /* PyTorch draws nothing then */
  Value *oldf = old ? flat(l, old, off) : NULL, *chosen;
  if (m == PM_L1) {
    chosen = topk_chosen(l, flat(l, bi_call(l, "abs", t, NULL, 0, off), off), oldf, kept, k, false, dt, off);
  } else {
    /* the draws are t[mask == 1]'s: already packed */
    Value *u = random_source(l, OP_UNIFORM, dt, shape1(kept), 0, off);
    chosen = topk_chosen(l, u, NULL, kept, k, true, dt, off);
    if (old && kept < n) {
      Value *eo = bi_call(l, "argsort", NULL, (Value *[]){cast(l, bi_compare(l, CMP_NE, oldf, v_float(l, 1.0), off), DT_I64, off), v_int(l, 0)}, 2, off);
      Value *parts = v_list(l);
      v_list_push(l, parts, chosen);
      v_list_push(l, parts, filled(l, shape1(n - kept), dt, 0.0, off));
      Value *inv = bi_call(l, "argsort", NULL, (Value *[]){eo, v_int(l, 0)}, 2, off);
      chosen = bi_call(l, "gather", NULL, (Value *[]){bi_call(l, "cat", NULL, &parts, 1, off), v_int(l, 0), inv}, 3, off);
    }
  }
  Value *keep = bi_binop(l, BIN_SUB, v_float(l, 1.0), chosen, off);
  if (old) keep = bi_binop(l, BIN_MUL, keep, oldf, off);
  return reshape_to(l, keep, s, off);
}

/* p-norm of |t| over every dim but d: [C] (torch.norm(t, p=n, dim=dims)). */
static Value *channel_norms(L *l, Value *t, double p, int d, int32_t off) {
  Shape s = tshape(l, t);
  Value *dims = v_tuple(l, s.rank - 1);
  for (int i = 0, j = 0; i < s.rank; i++)
    if (i != d) dims->items[j++] = v_int(l, i);
  Value *pv = isinf(p) ? v_float(l, p) : p == (double)(int64_t)p ? v_int(l, (int64_t)p) : v_float(l, p);
  Value *pos[3] = {t, pv, dims};
  return bi_call(l, "norm", NULL, pos, 3, off);
}

/*
 * LnStructured's mask: keep the kch - k channels along d (among the kch kept by old) with
 * the largest L_p norms (torch.topk's choice); old (or ones) multiplies it.
 */
static Value *structured_mask(L *l, Value *t, Value *old, double p, int d, int64_t kch, int64_t k, int32_t off) {
  Shape s = tshape(l, t);
  DType dt = tdtype(l, t);
  if (k == 0) return old ? old : filled(l, s, dt, 1.0, off);
  Value *norm = channel_norms(l, t, p, d, off), *elig = NULL;
  if (old && kch < s.d[d]) /* channels already pruned (their mask sums to 0) are left out */
    elig = cast(l, bi_compare(l, CMP_NE, channel_norms(l, old, 1, d, off), v_float(l, 0.0), off), dt, off);
  Value *keep = topk_chosen(l, norm, elig, kch, kch - k, true, dt, off);
  int64_t bd[TT_MAX_RANK];
  for (int i = 0; i < s.rank; i++) bd[i] = i == d ? s.d[d] : 1;
  Shape bs = shape_make(s.rank, bd);
  keep = reshape_to(l, keep, bs, off);
  Value *mask = bi_binop(l, BIN_MUL, keep, old ? old : filled(l, s, dt, 1.0, off), off);
  return mask;
}

/* name = orig * mask, stored into the entry's variable: what the forward pre-hook does. */
static void apply_mask(L *l, Value *m, Value *e, int32_t off) {
  const char *name = e->items[PE_NAME]->s;
  Value *orig = attrs_get(&m->attrs, arena_printf(l->arena, "%s_orig", name));
  Value *mask = attrs_get(&m->attrs, arena_printf(l->arena, "%s_mask", name));
  Value *w = bi_binop(l, BIN_MUL, orig, mask, off);
  int var = (int)ent(e, PE_WVAR);
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, w);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *t = v_new(l, V_TENSOR);
  t->t = w->t;
  t->t.var = var; /* read after this graph (the attribute after a loop): the variable */
  attrs_set(l, &m->attrs, name, t);
}

/* The forward pre-hooks of module m (lower.c calls this before each call of a module). */
void prune_before_forward(L *l, Value *m, int32_t off) {
  Value *list = attrs_get(&m->attrs, "__prune__");
  for (int i = 0; list && i < list->n; i++) apply_mask(l, m, list->items[i], off);
}

/* The path of module m from a global name, '_'-joined (model.fc1 is "fc1", a global module
 * its own name, as lower.c's name_params names parameters), or NULL when no global holds it. */
static bool find_path(L *l, Value *v, Value *m, const char *path, const char **out, int depth) {
  if (v == m) {
    *out = path;
    return true;
  }
  if (depth > 16 || v->k != V_OBJECT || !bi_is_module(v)) return false;
  for (int i = 0; i < v->attrs.n; i++) {
    Value *c = v->attrs.vals[i];
    const char *key = v->attrs.keys[i];
    if (c->k == V_OBJECT && find_path(l, c, m, arena_printf(l->arena, "%s_%s", path, key), out, depth + 1)) return true;
    if (c->k == V_LIST && !strcmp(key, "__items__"))
      for (int k = 0; k < c->n; k++)
        if (find_path(l, c->items[k], m, arena_printf(l->arena, "%s_%d", path, k), out, depth + 1)) return true;
  }
  return false;
}

static const char *var_name(L *l, Value *m, const char *name) {
  for (int i = 0; i < l->globals->vars.n; i++) {
    Value *g = l->globals->vars.vals[i];
    const char *path;
    if (g->k != V_OBJECT || !bi_is_module(g)) continue;
    if (g == m) return arena_printf(l->arena, "%s_%s", l->globals->vars.keys[i], name);
    if (find_path(l, g, m, "", &path, 0)) return arena_printf(l->arena, "%s_%s", path + 1, name);
  }
  return name;
}

/* Where the mask goes: a buffer variable (new, or the one a previous pruning made). */
static void set_mask(L *l, Value *m, const char *name, Value *mask, bool first, int32_t off) {
  const char *key = arena_printf(l->arena, "%s_mask", name);
  Shape s = tshape(l, mask);
  int var;
  if (first) {
    var = ir_var_new(l->p, var_name(l, m, key), VAR_STATE, tdtype(l, mask), s);
    Value *names = attrs_get(&m->attrs, "__buffers__");
    if (!names) {
      names = v_list(l);
      attrs_set(l, &m->attrs, "__buffers__", names);
    }
    v_list_push(l, names, v_str(l, key));
  } else {
    var = attrs_get(&m->attrs, key)->t.var;
  }
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, mask);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *b = v_new(l, V_TENSOR);
  b->t.var = var;
  b->t.graph = -1;
  b->t.leaf = true;
  attrs_set(l, &m->attrs, key, b);
}

/* BasePruningMethod.apply: method me on tensor name of module m; imp is importance_scores
 * (NULL: the tensor itself). */
static void prune_apply(L *l, Value *m, const char *name, Method *me, Value *imp, const char *fname, int32_t off) {
  Value *e = entry_of(m, name);
  Value *orig, *old = NULL;
  const char *okey = arena_printf(l->arena, "%s_orig", name);
  if (e) {
    orig = attrs_get(&m->attrs, okey);
    old = attrs_get(&m->attrs, arena_printf(l->arena, "%s_mask", name));
  } else {
    orig = attrs_get(&m->attrs, name);
    if (!orig || orig->k == V_NONE)
      lerr(l, off, "%s(): module %s has no parameter or buffer with name '%s'", fname, v_typename(m), name);
    if (orig->k != V_TENSOR || !orig->t.param)
      lerr(l, off, "%s(): cannot assign '%s' to parameter '%s_orig' (torch.nn.Parameter or None required): only a "
                   "module's parameters can be pruned", fname, orig->k == V_TENSOR ? "torch.FloatTensor" : v_typename(orig), name);
  }
  Shape s = tshape(l, orig);
  if (imp) {
    imp = want_tensor(l, imp, fname, off);
    Shape is = tshape(l, imp);
    if (!shape_eq(&is, &s)) lerr(l, off, "importance_scores should have the same shape as parameter %s of %s", name, v_typename(m));
  } else {
    imp = orig;
  }
  int64_t n = numel(s);
  int64_t kept = e ? ent(e, PE_KEPT) : n, sdim = e ? ent(e, PE_SDIM) : -1, kch = e ? ent(e, PE_KCH) : -1;
  bool saved = l->no_grad;
  l->no_grad = true; /* masks carry no gradient */
  Value *mask;
  switch (me->m) {
  case PM_L1:
  case PM_RANDOM: {
    if (kept < 0)
      lerr(l, off, "%s(): '%s' was pruned before by a mask whose number of kept entries ttc cannot know at compile time "
                   "(a custom or global mask); PyTorch would prune among those entries", fname, name);
    int64_t k = nparams_toprune(l, me->amount, kept, off);
    mask = unstructured_mask(l, me->m, imp, old, kept, k, off);
    if (k > 0) kch = -1; /* a channel may have lost its last entries */
    kept -= k;
    break;
  }
  case PM_LN: {
    if (s.rank < 2)
      lerr(l, off, "Structured pruning can only be applied to multidimensional tensors. Found tensor of shape %s with %d dims",
           shape_str(&s, (char[64]){0}, 64), s.rank);
    if (me->dim < -s.rank || me->dim >= s.rank)
      lerr(l, off, "Invalid index %lld for tensor of size %s", (long long)me->dim, shape_str(&s, (char[64]){0}, 64));
    int d = (int)(me->dim < 0 ? me->dim + s.rank : me->dim);
    int64_t ch = s.d[d];
    if (!e || kept == n) kch = ch, sdim = d; /* nothing pruned yet: every channel kept */
    else if (sdim != d || kch < 0)
      lerr(l, off, "%s(): '%s' was pruned before in a way whose kept channels along dim %d ttc cannot know at compile "
                   "time (unstructured, custom, or along another dim); PyTorch would prune among the channels "
                   "that are not all zero", fname, name, d);
    int64_t k = nparams_toprune(l, me->amount, kch, off);
    mask = structured_mask(l, imp, old, me->n, d, kch, k, off);
    int64_t csize = n / (ch ? ch : 1);
    kept = kept == kch * csize ? (kch - k) * csize : -1;
    kch -= k;
    break;
  }
  case PM_IDENTITY: mask = old ? old : filled(l, s, tdtype(l, orig), 1.0, off); break;
  case PM_CUSTOM: {
    Value *cm = want_tensor(l, me->mask, fname, off);
    Shape cs = tshape(l, cm);
    if (!shape_eq(&cs, &s)) lerr(l, off, "%s(): mask of shape %s does not match '%s' of shape %s", fname,
                                 shape_str(&cs, (char[64]){0}, 64), name, shape_str(&s, (char[64]){0}, 64));
    cm = cast(l, cm, tdtype(l, orig), off);
    mask = old ? bi_binop(l, BIN_MUL, old, cm, off) : bi_binop(l, BIN_MUL, filled(l, s, tdtype(l, orig), 1.0, off), cm, off);
    kept = -1, kch = -1;
    break;
  }
  default: tt_unreachable();
  }
  l->no_grad = saved;
  if (!e) {
    /* register_parameter(name + "_orig"), del _parameters[name]: the order PyTorch lists them */
    attrs_remove(&m->attrs, name);
    attrs_set(l, &m->attrs, okey, orig);
    Value *list = attrs_get(&m->attrs, "__prune__");
    if (!list) {
      list = v_list(l);
      attrs_set(l, &m->attrs, "__prune__", list);
    }
    e = v_tuple(l, PE__N);
    e->items[PE_NAME] = v_str(l, name);
    int wvar = ir_var_new(l->p, var_name(l, m, name), VAR_VALUE, tdtype(l, orig), s);
    e->items[PE_WVAR] = v_int(l, wvar);
    v_list_push(l, list, e);
  }
  ent_set(l, e, PE_KEPT, kept);
  ent_set(l, e, PE_SDIM, sdim);
  ent_set(l, e, PE_KCH, kch);
  set_mask(l, m, name, mask, old == NULL, off);
  apply_mask(l, m, e, off);
}

/* ---- the functions of torch.nn.utils.prune ------------------------------------------- */

B(l1_unstructured) {
  Value *v[4];
  args_bind(l, "l1_unstructured", "module, name, amount, importance_scores=None", self, a, v, 4);
  want_module(l, v[0], "l1_unstructured", a->off);
  check_amount(l, v[2], a->off);
  Method me = {.m = PM_L1, .amount = v[2]};
  prune_apply(l, v[0], want_name(l, v[1], "l1_unstructured", a->off), &me, v[3], "l1_unstructured", a->off);
  return v[0];
}

B(random_unstructured) {
  Value *v[3];
  args_bind(l, "random_unstructured", "module, name, amount", self, a, v, 3);
  want_module(l, v[0], "random_unstructured", a->off);
  check_amount(l, v[2], a->off);
  Method me = {.m = PM_RANDOM, .amount = v[2]};
  prune_apply(l, v[0], want_name(l, v[1], "random_unstructured", a->off), &me, NULL, "random_unstructured", a->off);
  return v[0];
}

B(ln_structured) {
  Value *v[6];
  args_bind(l, "ln_structured", "module, name, amount, n, dim, importance_scores=None", self, a, v, 6);
  want_module(l, v[0], "ln_structured", a->off);
  check_amount(l, v[2], a->off);
  Method me = {.m = PM_LN, .amount = v[2]};
  if (v[3] && v[3]->k == V_STR) {
    if (strcmp(v[3]->s, "fro")) lerr(l, a->off, "ln_structured(): n='%s' is not supported by ttc (use a number or 'fro')", v[3]->s);
    me.n = 2;
  } else {
    me.n = want_num(l, v[3], "n", a->off);
    if (isnan(me.n) || (!isinf(me.n) && me.n <= 0)) lerr(l, a->off, "ln_structured(): ttc supports n > 0 or inf, got %g", me.n);
    if (isinf(me.n) && me.n < 0) lerr(l, a->off, "ln_structured(): n=-inf is not supported by ttc");
  }
  me.dim = want_int(l, v[4], "dim", a->off);
  prune_apply(l, v[0], want_name(l, v[1], "ln_structured", a->off), &me, v[5], "ln_structured", a->off);
  return v[0];
}

B(identity) {
  Value *v[2];
  args_bind(l, "identity", "module, name", self, a, v, 2);
  want_module(l, v[0], "identity", a->off);
  Method me = {.m = PM_IDENTITY};
  prune_apply(l, v[0], want_name(l, v[1], "identity", a->off), &me, NULL, "identity", a->off);
  return v[0];
}

B(custom_from_mask) {
  Value *v[3];
  args_bind(l, "custom_from_mask", "module, name, mask", self, a, v, 3);
  want_module(l, v[0], "custom_from_mask", a->off);
  Method me = {.m = PM_CUSTOM, .mask = v[2]};
  prune_apply(l, v[0], want_name(l, v[1], "custom_from_mask", a->off), &me, NULL, "custom_from_mask", a->off);
  return v[0];
}

/* The method classes, as global_unstructured's pruning_method: only names to compare. */
B(L1Unstructured) {
  UNUSED(self);
  lerr(l, a->off, "prune.L1Unstructured objects are not supported by ttc; pass the class to global_unstructured() "
                  "or call prune.l1_unstructured()");
}
B(RandomUnstructured) {
  UNUSED(self);
  lerr(l, a->off, "prune.RandomUnstructured objects are not supported by ttc; pass the class to global_unstructured() "
                  "or call prune.random_unstructured()");
}

/* global_unstructured(parameters, pruning_method, importance_scores=None, amount=...):
 * one mask over every (module, name)'s entries, concatenated in order, then each tensor's
 * slice applied as custom_from_mask. */
B(global_unstructured) {
  Value *v[4];
  args_bind(l, "global_unstructured", "parameters, pruning_method, importance_scores=None, amount", self, a, v, 4);
  Value *ps = v[0];
  if (ps->k != V_LIST && ps->k != V_TUPLE) lerr(l, a->off, "global_unstructured(): parameters is not an Iterable");
  if (!v[1] || v[1]->k != V_BUILTIN ||
      (strcmp(v[1]->bi->name, "prune.L1Unstructured") && strcmp(v[1]->bi->name, "prune.RandomUnstructured")))
    lerr(l, a->off, "global_unstructured(): ttc supports pruning_method=prune.L1Unstructured or prune.RandomUnstructured");
  PMethod pm = !strcmp(v[1]->bi->name, "prune.L1Unstructured") ? PM_L1 : PM_RANDOM;
  if (v[2] && !(v[2]->k == V_DICT && v[2]->n == 0))
    lerr(l, a->off, "global_unstructured(): importance_scores is not supported by ttc");
  check_amount(l, v[3], a->off);
  if (ps->n == 0) lerr(l, a->off, "global_unstructured(): parameters is empty");
  Value *scores = v_list(l), *masks = v_list(l);
  int64_t total = 0, kept = 0;
  bool any_old = false;
  DType dt = DT_F32;
  for (int i = 0; i < ps->n; i++) {
    Value *p = ps->items[i];
    if ((p->k != V_TUPLE && p->k != V_LIST) || p->n != 2)
      lerr(l, a->off, "global_unstructured(): each item of parameters must be a (module, name) tuple");
    want_module(l, p->items[0], "global_unstructured", a->off);
    const char *name = want_name(l, p->items[1], "global_unstructured", a->off);
    Value *t = attrs_get(&p->items[0]->attrs, name);
    if (!t || t->k != V_TENSOR) lerr(l, a->off, "global_unstructured(): module %s has no tensor '%s'", v_typename(p->items[0]), name);
    Value *e = entry_of(p->items[0], name);
    Shape s = tshape(l, t);
    dt = tdtype(l, t);
    v_list_push(l, scores, flat(l, t, a->off));
    if (e) {
      if (ent(e, PE_KEPT) < 0)
        lerr(l, a->off, "global_unstructured(): '%s' was pruned before by a mask whose number of kept entries ttc "
                        "cannot know at compile time", name);
      kept += ent(e, PE_KEPT);
      any_old = true;
      v_list_push(l, masks, flat(l, attrs_get(&p->items[0]->attrs, arena_printf(l->arena, "%s_mask", name)), a->off));
    } else {
      kept += numel(s);
      v_list_push(l, masks, filled(l, shape1(numel(s)), dt, 1.0, a->off));
    }
    total += numel(s);
  }
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *all = bi_call(l, "cat", NULL, &scores, 1, a->off);
  Value *old = any_old ? bi_call(l, "cat", NULL, &masks, 1, a->off) : NULL;
  int64_t k = nparams_toprune(l, v[3], kept, a->off);
  Value *mask = unstructured_mask(l, pm, all, old, kept, k, a->off);
  l->no_grad = saved;
  int64_t at = 0;
  for (int i = 0; i < ps->n; i++) {
    Value *p = ps->items[i];
    const char *name = p->items[1]->s;
    Shape s = tshape(l, attrs_get(&p->items[0]->attrs, name));
    IndexItem it = {.kind = IX_SLICE, .lo = v_int(l, at), .hi = v_int(l, at + numel(s)), .off = a->off};
    Value *pm_mask = reshape_to(l, bi_index(l, mask, &it, 1, false, a->off), s, a->off);
    Method me = {.m = PM_CUSTOM, .mask = pm_mask};
    prune_apply(l, p->items[0], name, &me, NULL, "global_unstructured", a->off);
    at += numel(s);
  }
  (void)total;
  return l->none;
}

/* remove(module, name): the pruning made permanent. PyTorch 1.13 computes orig * mask,
 * gives it to the Parameter weight_orig (orig.data = weight.data), deletes weight_orig and
 * weight_mask and makes that same Parameter the module's `weight` again (last in order). */
B(remove) {
  Value *v[2];
  args_bind(l, "remove", "module, name", self, a, v, 2);
  want_module(l, v[0], "remove", a->off);
  Value *m = v[0];
  const char *name = want_name(l, v[1], "remove", a->off);
  Value *list = attrs_get(&m->attrs, "__prune__");
  int at = -1;
  for (int i = 0; list && i < list->n; i++)
    if (!strcmp(list->items[i]->items[PE_NAME]->s, name)) at = i;
  if (at < 0)
    lerr(l, a->off, "Parameter '%s' of module %s has to be pruned before pruning can be removed", name, v_typename(m));
  const char *okey = arena_printf(l->arena, "%s_orig", name), *mkey = arena_printf(l->arena, "%s_mask", name);
  Value *orig = attrs_get(&m->attrs, okey), *mask = attrs_get(&m->attrs, mkey);
  Value *e = list->items[at];
  Shape s = tshape(l, orig);
  if (ent(e, PE_SDIM) == 0 && ent(e, PE_KCH) >= 0 && ent(e, PE_KCH) < s.d[0] && s.rank == 2 && orig->t.var >= 0)
    l->p->vars[orig->t.var].prune_keep = ent(e, PE_KCH); /* whole rows gone: the prune pass's cue */
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *w = bi_binop(l, BIN_MUL, orig, mask, a->off);
  Attr st = {0};
  st.var = orig->t.var;
  int32_t in = tnode(l, w);
  add_node(l, OP_STORE, &in, 1, &st, a->off);
  l->no_grad = saved;
  orig->t.graph = -1; /* read the variable again */
  attrs_remove(&m->attrs, name);
  attrs_remove(&m->attrs, okey);
  attrs_remove(&m->attrs, mkey);
  Value *bufs = attrs_get(&m->attrs, "__buffers__");
  for (int i = 0; bufs && i < bufs->n; i++)
    if (!strcmp(bufs->items[i]->s, mkey)) {
      memmove(bufs->items + i, bufs->items + i + 1, sizeof(Value *) * (size_t)(bufs->n - i - 1));
      bufs->n--;
      break;
    }
  memmove(list->items + at, list->items + at + 1, sizeof(Value *) * (size_t)(list->n - at - 1));
  list->n--;
  attrs_set(l, &m->attrs, name, orig);
  return m;
}

/* is_pruned(module): whether module or one of its sub-modules has a pruning hook. */
static bool any_pruned(Value *m, int depth) {
  if (depth > 64) return false;
  Value *list = attrs_get(&m->attrs, "__prune__");
  if (list && list->n) return true;
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    if (v->k == V_OBJECT && bi_is_module(v) && any_pruned(v, depth + 1)) return true;
    if (v->k == V_LIST && !strcmp(m->attrs.keys[i], "__items__"))
      for (int k = 0; k < v->n; k++)
        if (v->items[k]->k == V_OBJECT && any_pruned(v->items[k], depth + 1)) return true;
  }
  return false;
}

B(is_pruned) {
  Value *v[1];
  args_bind(l, "is_pruned", "module", self, a, v, 1);
  want_module(l, v[0], "is_pruned", a->off);
  return any_pruned(v[0], 0) ? l->vtrue : l->vfalse;
}

/* ---- the curriculum's compression functions (module 16) ------------------------------- */

/* The Linear modules of m, in modules() order. */
static void linears(L *l, Value *m, Value *out, int depth) {
  if (depth > 64 || m->k != V_OBJECT) return;
  if (m->cls && m->cls->bi && !strcmp(m->cls->s, "Linear")) {
    for (int i = 0; i < out->n; i++)
      if (out->items[i] == m) return;
    v_list_push(l, out, m);
  }
  for (int i = 0; i < m->attrs.n; i++) {
    Value *v = m->attrs.vals[i];
    if (v->k == V_OBJECT && bi_is_module(v)) linears(l, v, out, depth + 1);
    else if (v->k == V_LIST && !strcmp(m->attrs.keys[i], "__items__"))
      for (int k = 0; k < v->n; k++) linears(l, v->items[k], out, depth + 1);
  }
}

/* p.data = p.data * keep (zero: p[keep == 0] = 0, a +0.0 where p was negative), under
 * no_grad (the parameter's variable is rewritten). */
static void scale_param(L *l, Value *p, Value *keep, bool zero, int32_t off) {
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *nv = zero ? bi_select(l, bi_compare(l, CMP_NE, keep, v_float(l, 0.0), off), p, v_float(l, 0.0), off, NULL)
                   : bi_binop(l, BIN_MUL, p, keep, off);
  tensor_inplace(l, p, nv, off);
  l->no_grad = saved;
}

/*
 * magnitude_prune(model, sparsity=0.9): TinyTorch's global magnitude pruning. The
 * threshold is the sparsity-quantile of |w| over every parameter of two or more dims
 * (np.percentile's linear interpolation, computed as torch.quantile does), and each such
 * parameter keeps the entries with |w| >= threshold; biases are untouched. The zeros are
 * written into the weights (no mask is kept: training may regrow them, as TinyTorch's).
 */
B(magnitude_prune) {
  Value *v[2];
  args_bind(l, "magnitude_prune", "model, sparsity=0.9", self, a, v, 2);
  want_module(l, v[0], "magnitude_prune", a->off);
  double sp = v[1] ? want_num(l, v[1], "sparsity", a->off) : 0.9;
  if (!(sp >= 0 && sp <= 1)) lerr(l, a->off, "magnitude_prune(): sparsity must be in [0, 1], got %g", sp);
  Value *ps = v_list(l), *ws = v_list(l), *flats = v_list(l);
  collect_params(l, v[0], ps, "", NULL);
  for (int i = 0; i < ps->n; i++)
    if (tshape(l, ps->items[i]).rank > 1) {
      v_list_push(l, ws, ps->items[i]);
      v_list_push(l, flats, flat(l, ps->items[i], a->off));
    }
  if (!ws->n) return v[0];
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *mag = bi_call(l, "abs", bi_call(l, "cat", NULL, &flats, 1, a->off), NULL, 0, a->off);
  int64_t n = tshape(l, mag).d[0];
  /* torch.quantile's linear interpolation, in float32 as it computes it: the rank
   * q * (n - 1), the values below and above it, and lerp's two-sided formula */
  float q = (float)sp * (float)(n - 1);
  int64_t lo = (int64_t)q, hi = lo + 1 < n ? lo + 1 : lo;
  float wgt = q - (float)lo;
  Value *sorted = bi_call(l, "sort", mag, NULL, 0, a->off)->items[0];
  IndexItem ia = {.kind = IX_VALUE, .v = v_int(l, lo), .off = a->off};
  IndexItem ib = {.kind = IX_VALUE, .v = v_int(l, hi), .off = a->off};
  Value *va = bi_index(l, sorted, &ia, 1, false, a->off), *vb = bi_index(l, sorted, &ib, 1, false, a->off);
  Value *diff = bi_binop(l, BIN_SUB, vb, va, a->off);
  Value *thr = wgt < 0.5f ? bi_binop(l, BIN_ADD, va, bi_binop(l, BIN_MUL, diff, v_float(l, wgt), a->off), a->off)
                          : bi_binop(l, BIN_SUB, vb, bi_binop(l, BIN_MUL, diff, v_float(l, 1.0f - wgt), a->off), a->off);
  l->no_grad = saved;
  for (int i = 0; i < ws->n; i++) {
    Value *w = ws->items[i];
    l->no_grad = true;
    Value *keep = cast(l, bi_compare(l, CMP_GE, bi_call(l, "abs", w, NULL, 0, a->off), thr, a->off), tdtype(l, w), a->off);
    l->no_grad = saved;
    scale_param(l, w, keep, false, a->off);
  }
  return v[0];
}

/*
 * structured_prune(model, prune_ratio=0.5): TinyTorch's structured pruning, in PyTorch's
 * layout (weight [out, in]): in each Linear whose outputs are hidden neurons (every Linear
 * but the model's last, whose outputs are the predictions), the int(out * prune_ratio)
 * output neurons with the smallest L2 norm of their weight row get a zero row and a zero
 * bias. TinyTorch prunes every Linear it finds in model.layers; ttc leaves the output
 * layer alone, since removing classes is never what structured pruning means
 * (docs/PRUNING.md).
 */
B(structured_prune) {
  Value *v[2];
  args_bind(l, "structured_prune", "model, prune_ratio=0.5", self, a, v, 2);
  want_module(l, v[0], "structured_prune", a->off);
  double ratio = v[1] ? want_num(l, v[1], "prune_ratio", a->off) : 0.5;
  if (!(ratio >= 0 && ratio <= 1)) lerr(l, a->off, "structured_prune(): prune_ratio must be in [0, 1], got %g", ratio);
  Value *lin = v_list(l);
  linears(l, v[0], lin, 0);
  bool saved = l->no_grad;
  for (int i = 0; i + 1 < lin->n; i++) {
    Value *m = lin->items[i];
    Value *w = attrs_get(&m->attrs, "weight"), *b = attrs_get(&m->attrs, "bias");
    if (!w || w->k != V_TENSOR) continue;
    Shape s = tshape(l, w);
    int64_t k = (int64_t)((double)s.d[0] * ratio);
    if (k <= 0) continue;
    l->no_grad = true;
    Value *r = ranks(l, channel_norms(l, w, 2, 0, a->off), false, a->off);
    Value *keep = cast(l, bi_compare(l, CMP_GE, r, v_int(l, k), a->off), tdtype(l, w), a->off);
    Value *keep2 = reshape_to(l, keep, shape_make(2, (int64_t[]){s.d[0], 1}), a->off);
    l->no_grad = saved;
    scale_param(l, w, keep2, true, a->off);
    if (w->t.var >= 0) l->p->vars[w->t.var].prune_keep = s.d[0] - k; /* the prune pass's cue */
    if (b && b->k == V_TENSOR) scale_param(l, b, keep, true, a->off);
  }
  return v[0];
}

#define F BI_FUNC
const Builtin prune_builtins[] = {
  {"prune.l1_unstructured", F, bi_l1_unstructured, 0},
  {"prune.random_unstructured", F, bi_random_unstructured, 0},
  {"prune.ln_structured", F, bi_ln_structured, 0},
  {"prune.global_unstructured", F, bi_global_unstructured, 0},
  {"prune.identity", F, bi_identity, 0},
  {"prune.custom_from_mask", F, bi_custom_from_mask, 0},
  {"prune.remove", F, bi_remove, 0},
  {"prune.is_pruned", F, bi_is_pruned, 0},
  {"prune.L1Unstructured", F, bi_L1Unstructured, 0},
  {"prune.RandomUnstructured", F, bi_RandomUnstructured, 0},
  {"magnitude_prune", F, bi_magnitude_prune, 0},
  {"structured_prune", F, bi_structured_prune, 0},
};
#undef F
const int prune_nbuiltins = (int)(sizeof prune_builtins / sizeof prune_builtins[0]);

/* prune.NAME for the namespace torch.nn.utils.prune (lower.c's getattr). */
Value *prune_getattr(L *l, const char *name, int32_t off) {
  const Builtin *b = bi_lookup(arena_printf(l->arena, "prune.%s", name), BI_FUNC);
  if (!b) lerr(l, off, "module 'torch.nn.utils.prune' has no attribute '%s' (not supported by ttc)", name);
  Value *bv = v_new(l, V_BUILTIN);
  bv->bi = b;
  bv->s = b->name;
  return bv;
}
