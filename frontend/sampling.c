/*
 * sampling.c — torch.multinomial, drawing PyTorch 1.13's numbers.
 *
 * ATen's CPU multinomial (aten/src/ATen/native/Distributions.cpp, multinomial_out) takes a
 * fast path in 1.13 when samples are drawn without replacement (the default): Gumbel-max
 * with exponentials, q = empty_like(p).exponential_(1), then argmax(p / q) (one sample) or
 * topk(p / q, n) (without replacement). Without MKL (Debian's build), exponential_ draws
 * each element in order as -1/lambda * log(1 - u), u the 53-bit double uniform of one
 * random64, computed in double and cast to p's dtype. That is rand(dtype=float64) followed
 * by ordinary ops, so the draw needs no op of its own, and the same seed gives the same
 * samples. With replacement (even one sample, in 1.13) it uses another kernel
 * (multinomial_with_replacement, aten/src/ATen/native/cpu/MultinomialKernel.cpp): per row,
 * the cumulative sums of p in p's own dtype, divided by their total, the last set to 1; then
 * per sample one uniform double u (the same 53-bit draw, rows outer, samples inner) and a
 * binary search for the first bucket whose cumulative value is not below u. The sums are
 * non-decreasing, so that bucket is the number of sums below u, which ordinary ops count.
 * The checks PyTorch makes on the values
 * (negative, inf or nan probabilities, a zero row) cannot be made at compile time: such
 * input gives a sample, not an error (docs/LANGUAGE.md, Known differences).
 */
#include "lower.h"

#include <string.h>

#define B(name) static Value *bi_##name(L *l, Value *self, Args *a)

B(multinomial) {
  Value *v[4];
  args_bind(l, "multinomial", "input, num_samples, replacement=False, generator=None", self, a, v, 4);
  Value *p = want_tensor(l, v[0], "multinomial", a->off);
  int64_t n = want_int(l, v[1], "num_samples", a->off);
  bool repl = want_bool(l, v[2], a->off);
  int gen = v[3] && v[3]->k != V_NONE ? gen_arg(l, v[3], "multinomial", a->off) : 0;
  Shape s = tshape(l, p);
  DType dt = tdtype(l, p);
  if (!dt_is_float(dt)) lerr(l, a->off, "multinomial only supports floating-point dtypes for input");
  if (s.rank != 1 && s.rank != 2) lerr(l, a->off, "prob_dist must be 1 or 2 dim");
  if (n <= 0) lerr(l, a->off, "cannot sample n_sample <= 0 samples");
  int64_t cats = s.d[s.rank - 1];
  if (!repl && n > cats) lerr(l, a->off, "cannot sample n_sample > prob_dist.size(-1) samples without replacement");
  if (sym_at(&s, s.rank - 1)) lerr(l, a->off, "multinomial(): ttc cannot sample along the batch dimension");
  if (repl) {
    Attr at = {0};
    at.i[0] = s.rank - 1;
    at.i[2] = 1; /* summed in p's dtype, as the kernel does, not in double as torch.cumsum */
    Value *cum = op1(l, OP_CUMSUM, p, &at, a->off, NULL);
    IndexItem last[2] = {{.kind = IX_ELLIPSIS, .off = a->off},
                         {.kind = IX_SLICE, .lo = v_int(l, -1), .off = a->off}};
    Value *total = bi_index(l, cum, last, 2, true, a->off);
    Value *cdf = bi_binop(l, BIN_DIV, cum, total, a->off);
    last[1] = (IndexItem){.kind = IX_VALUE, .v = v_int(l, -1), .off = a->off};
    bi_index_put(l, cdf, last, 2, v_float(l, 1.0), a->off);
    Shape us = s;
    us.d[us.rank - 1] = n; /* [rows, n] uniforms, rows outer */
    Value *u = random_source(l, OP_UNIFORM, DT_F64, us, gen, a->off);
    Value *cdf3 = bi_call(l, "unsqueeze", cdf, (Value *[]){v_int(l, -2)}, 1, a->off);
    Value *u3 = bi_call(l, "unsqueeze", u, (Value *[]){v_int(l, -1)}, 1, a->off);
    Value *below = bi_compare(l, CMP_LT, cdf3, u3, a->off);
    return bi_call(l, "sum", below, (Value *[]){v_int(l, -1)}, 1, a->off); /* the method */
  }
  /* q = empty_like(p).exponential_(1): u ~ U[0, 1) in double, -log(1 - u), as p's dtype */
  Value *u = random_source(l, OP_UNIFORM, DT_F64, s, gen, a->off);
  Value *e = bi_call(l, "log", bi_binop(l, BIN_SUB, v_float(l, 1.0), u, a->off), NULL, 0, a->off);
  Value *q = cast(l, bi_binop(l, BIN_MUL, v_float(l, -1.0), e, a->off), dt, a->off);
  Value *r = bi_binop(l, BIN_DIV, p, q, a->off);
  if (n == 1) {
    Value *args[3] = {r, v_int(l, -1), l->vtrue};
    return bi_call(l, "argmax", NULL, args, 3, a->off);
  }
  Value *args[2] = {r, v_int(l, n)};
  Value *tk = bi_call(l, "topk", NULL, args, 2, a->off);
  return tk->items[1];
}

#define F BI_FUNC
#define M BI_METHOD
const Builtin sampling_builtins[] = {
  {"multinomial", F | M, bi_multinomial, 0},
};
#undef F
#undef M
const int sampling_nbuiltins = (int)(sizeof sampling_builtins / sizeof sampling_builtins[0]);
