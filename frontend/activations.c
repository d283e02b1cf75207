/*
 * activations.c — the activation functions beyond relu/sigmoid/tanh/gelu (curriculum
 * module 02) and their torch.nn modules: leaky_relu, elu, silu, mish, hardtanh, relu6,
 * logsigmoid, softsign; LeakyReLU, ELU, SiLU, Mish, Hardtanh, ReLU6, LogSigmoid,
 * Softsign, Softplus.
 *
 * Each is composed from existing ops, in the order ATen computes it (so the values are
 * PyTorch's) and with the same gradient: a where() routes the gradient as ATen's backward
 * kernels do (hardtanh passes none at its bounds, clamp would pass it). `inplace=True`
 * rewrites the input as PyTorch does.
 */
#include "lower.h"

#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)

/* A float tensor argument (an integer one is PyTorch's error too). */
static Value *float_arg(L *l, Value *v, const char *fname, int32_t off) {
  Value *x = want_tensor(l, v, fname, off);
  if (!dt_is_float(tdtype(l, x))) lerr(l, off, "%s(): expected a floating point tensor, got %s", fname, dt_torch(tdtype(l, x)));
  return x;
}

/* The result, written into x when the call asked for inplace=True. */
static Value *done(L *l, Value *x, Value *r, Value *inplace, int32_t off) {
  if (inplace && v_truthy(l, inplace, off)) {
    tensor_inplace(l, x, r, off);
    return x;
  }
  return r;
}

static Value *scalar_of(L *l, Value *x, double v, int32_t off) {
  return to_tensor_dt(l, v_float(l, v), tdtype(l, x), off);
}

/* x > 0 ? x : x * negative_slope */
B(leaky_relu) {
  Value *v[3];
  args_bind(l, "leaky_relu", "input, negative_slope=0.01, inplace=False", self, a, v, 3);
  Value *x = float_arg(l, v[0], "leaky_relu", a->off);
  double s = want_num(l, v[1], "negative_slope", a->off);
  Value *neg = bi_binop(l, BIN_MUL, x, v_float(l, s), a->off);
  Value *r = bi_select(l, bi_compare(l, CMP_GT, x, v_int(l, 0), a->off), x, neg, a->off, "LeakyReluBackward0");
  return done(l, x, r, v[2], a->off);
}

/* x > 0 ? x : (exp(x) - 1) * alpha */
B(elu) {
  Value *v[3];
  args_bind(l, "elu", "input, alpha=1.0, inplace=False", self, a, v, 3);
  Value *x = float_arg(l, v[0], "elu", a->off);
  double al = want_num(l, v[1], "alpha", a->off);
  Value *e = bi_binop(l, BIN_SUB, bi_call(l, "exp", x, NULL, 0, a->off), v_int(l, 1), a->off);
  Value *neg = bi_binop(l, BIN_MUL, e, v_float(l, al), a->off);
  Value *r = bi_select(l, bi_compare(l, CMP_GT, x, v_int(l, 0), a->off), x, neg, a->off, "EluBackward0");
  return done(l, x, r, v[2], a->off);
}

/* x * sigmoid(x): the gradient sigmoid(x) (1 + x (1 - sigmoid(x))) stays finite for any x */
B(silu) {
  Value *v[2];
  args_bind(l, "silu", "input, inplace=False", self, a, v, 2);
  Value *x = float_arg(l, v[0], "silu", a->off);
  Value *r = bi_binop(l, BIN_MUL, x, bi_call(l, "sigmoid", x, NULL, 0, a->off), a->off);
  if (r->t.requires_grad) r->t.gradfn = "SiluBackward0";
  return done(l, x, r, v[1], a->off);
}

/* x * tanh(softplus(x)) */
B(mish) {
  Value *v[2];
  args_bind(l, "mish", "input, inplace=False", self, a, v, 2);
  Value *x = float_arg(l, v[0], "mish", a->off);
  Value *sp = op1(l, OP_SOFTPLUS, x, NULL, a->off, NULL);
  Value *r = bi_binop(l, BIN_MUL, x, bi_call(l, "tanh", sp, NULL, 0, a->off), a->off);
  if (r->t.requires_grad) r->t.gradfn = "MishBackward0";
  return done(l, x, r, v[1], a->off);
}

/* min_val where x <= min_val, max_val where x >= max_val, else x (NaN stays NaN); no
 * gradient at or beyond the bounds, as ATen's hardtanh_backward */
static Value *hardtanh_of(L *l, Value *x, double lo, double hi, int32_t off) {
  Value *lov = scalar_of(l, x, lo, off), *hiv = scalar_of(l, x, hi, off);
  Value *r = bi_select(l, bi_compare(l, CMP_GE, x, hiv, off), hiv, x, off, NULL);
  return bi_select(l, bi_compare(l, CMP_LE, x, lov, off), lov, r, off, "HardtanhBackward0");
}

B(hardtanh) {
  Value *v[4];
  args_bind(l, "hardtanh", "input, min_val=-1.0, max_val=1.0, inplace=False", self, a, v, 4);
  Value *x = float_arg(l, v[0], "hardtanh", a->off);
  double lo = want_num(l, v[1], "min_val", a->off), hi = want_num(l, v[2], "max_val", a->off);
  if (lo > hi) lerr(l, a->off, "hardtanh(): min_val cannot be greater than max_val");
  return done(l, x, hardtanh_of(l, x, lo, hi, a->off), v[3], a->off);
}

B(relu6) {
  Value *v[2];
  args_bind(l, "relu6", "input, inplace=False", self, a, v, 2);
  Value *x = float_arg(l, v[0], "relu6", a->off);
  return done(l, x, hardtanh_of(l, x, 0, 6, a->off), v[1], a->off);
}

/* -softplus(-x) = min(x, 0) - log1p(exp(-|x|)), ATen's stable form */
B(logsigmoid) {
  Value *v[1];
  args_bind(l, "logsigmoid", "input", self, a, v, 1);
  Value *x = float_arg(l, v[0], "logsigmoid", a->off);
  Value *sp = op1(l, OP_SOFTPLUS, bi_unop(l, UN_NEG, x, a->off), NULL, a->off, NULL);
  Value *r = bi_unop(l, UN_NEG, sp, a->off);
  if (r->t.requires_grad) r->t.gradfn = "LogSigmoidBackward0";
  return r;
}

/* x / (1 + |x|) */
B(softsign) {
  Value *v[1];
  args_bind(l, "softsign", "input", self, a, v, 1);
  Value *x = float_arg(l, v[0], "softsign", a->off);
  Value *d = bi_binop(l, BIN_ADD, v_int(l, 1), bi_call(l, "abs", x, NULL, 0, a->off), a->off);
  return bi_binop(l, BIN_DIV, x, d, a->off);
}

/* ---- the modules ------------------------------------------------------------------------ */

/*
 * A module built with the function's options (sig, without the input), which its forward
 * passes back by name: LeakyReLU(0.2) stores negative_slope=0.2 and calls
 * leaky_relu(x, negative_slope=0.2). The options are attributes under their PyTorch names,
 * which print(model) shows.
 */
#define MAX_OPTS 4
static Value *act_class(L *l, Value *self, Args *a, const char *cls, BuiltinFn fn, const char *sig) {
  const char *names[MAX_OPTS];
  int n = 0;
  char *s = arena_printf(l->arena, "%s", sig);
  for (char *p = s; *p && n < MAX_OPTS;) {
    names[n++] = p;
    char *eq = strchr(p, '='), *comma = strchr(p, ',');
    if (eq) *eq = '\0';
    if (!comma) break;
    p = comma + 1;
    while (*p == ' ') p++;
  }
  if (self) {
    Value *v[1];
    args_bind(l, cls, "input", NULL, a, v, 1);
    return bi_call_with_opts(l, fn, v, 1, self, names, n, a->off);
  }
  Value *v[MAX_OPTS] = {0};
  args_bind(l, cls, sig, NULL, a, v, n);
  Value *m = bi_module_new(l, cls);
  for (int i = 0; i < n; i++)
    if (v[i]) attrs_set(l, &m->attrs, names[i], v[i]);
  return m;
}

B(LeakyReLU) { return act_class(l, self, a, "LeakyReLU", bi_leaky_relu, "negative_slope=0.01, inplace=False"); }
B(ELU) { return act_class(l, self, a, "ELU", bi_elu, "alpha=1.0, inplace=False"); }
B(SiLU) { return act_class(l, self, a, "SiLU", bi_silu, "inplace=False"); }
B(Mish) { return act_class(l, self, a, "Mish", bi_mish, "inplace=False"); }
B(Hardtanh) { return act_class(l, self, a, "Hardtanh", bi_hardtanh, "min_val=-1.0, max_val=1.0, inplace=False"); }
B(ReLU6) { return act_class(l, self, a, "ReLU6", bi_relu6, "inplace=False"); }
B(LogSigmoid) { return act_class(l, self, a, "LogSigmoid", bi_logsigmoid, ""); }
B(Softsign) { return act_class(l, self, a, "Softsign", bi_softsign, ""); }
B(Softplus) { return act_class(l, self, a, "Softplus", bi_softplus, "beta=1, threshold=20"); }

/* ---- the table ---------------------------------------------------------------------- */

#define F BI_FUNC
const Builtin act_builtins[] = {
  {"leaky_relu", F, bi_leaky_relu, 0},
  {"elu", F, bi_elu, 0},
  {"silu", F, bi_silu, 0},
  {"mish", F, bi_mish, 0},
  {"hardtanh", F, bi_hardtanh, 0},
  {"relu6", F, bi_relu6, 0},
  {"logsigmoid", F, bi_logsigmoid, 0},
  {"softsign", F, bi_softsign, 0},
  {"LeakyReLU", BI_CLASS, bi_LeakyReLU, 0},
  {"ELU", BI_CLASS, bi_ELU, 0},
  {"SiLU", BI_CLASS, bi_SiLU, 0},
  {"Mish", BI_CLASS, bi_Mish, 0},
  {"Hardtanh", BI_CLASS, bi_Hardtanh, 0},
  {"ReLU6", BI_CLASS, bi_ReLU6, 0},
  {"LogSigmoid", BI_CLASS, bi_LogSigmoid, 0},
  {"Softsign", BI_CLASS, bi_Softsign, 0},
  {"Softplus", BI_CLASS, bi_Softplus, 0},
};
#undef F
const int act_nbuiltins = (int)(sizeof act_builtins / sizeof act_builtins[0]);
