/*
 * quant.c — quantized tensors: torch.quantize_per_tensor, torch.quantize_per_channel,
 * torch.dequantize and the quantized tensor's int_repr(), dequantize(), q_scale(),
 * q_zero_point(), q_per_channel_scales(), q_per_channel_zero_points(),
 * q_per_channel_axis(); and the curriculum's quantize_int8 / dequantize_int8 (TinyTorch
 * module 15). docs/QUANTIZATION.md says what each computes and why.
 *
 * A quantized tensor is a compile-time object (class "QTensor") holding its integer codes
 * as an ordinary tensor in the graph, its quantized dtype and its parameters. Its
 * arithmetic is PyTorch 1.13's CPU kernels' (aten/src/ATen/native/quantized/affine_quantizer_base.cpp),
 * checked against them on the same inputs (tests/exec/quant-*.tt):
 *
 *   quantize:   q = clamp(int64(zp + nearbyint(x * (1.0f / (float)scale))), qmin, qmax)
 *               in float32; a value whose int64 conversion is undefined (NaN, +-inf,
 *               |.| >= 2^63) gives qmin, as the x86 conversion PyTorch runs does
 *   dequantize: per tensor (float(q) - zp) * (float)scale in float32; per channel in
 *               float64, then rounded to float32
 *
 * torch.quint8 codes are uint8 in PyTorch; ttc has no uint8 dtype, so they are kept as
 * int32 and int_repr() of a quint8 tensor is a diagnostic (dequantize() works). Printing a
 * quantized tensor is a diagnostic too (print its int_repr() or dequantize()).
 */
#include "lower.h"

#include <math.h>
#include <string.h>

#define UNUSED(x) (void)(x)

typedef enum { QD_QINT8, QD_QUINT8, QD_QINT32 } QDType;

static const struct {
  const char *name; /* torch.NAME */
  int64_t qmin, qmax;
  DType codes; /* how ttc stores the codes */
  DType repr;  /* int_repr()'s dtype, or DT__COUNT where ttc has none (uint8) */
} qdtypes[] = {
    [QD_QINT8] = {"qint8", -128, 127, DT_I8, DT_I8},
    [QD_QUINT8] = {"quint8", 0, 255, DT_I32, DT__COUNT},
    [QD_QINT32] = {"qint32", INT32_MIN, INT32_MAX, DT_I32, DT_I32},
};

static Value *bi_qtensor_call(L *l, Value *self, Args *a) {
  UNUSED(self);
  lerr(l, a->off, "a quantized tensor is not callable");
}

/* The classes' rows: no flags, so no program name finds them; their fn answers a call. */
static const Builtin qtensor_class = {"quantized tensor", 0, bi_qtensor_call, 0};
static const Builtin qdtype_class = {"torch.dtype (quantized)", 0, bi_qtensor_call, 0};

static Value *qdtype_value(L *l, QDType q) {
  Value *cls = v_new(l, V_CLASS);
  cls->bi = &qdtype_class;
  cls->s = qdtype_class.name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = cls;
  attrs_set(l, &o->attrs, "__qdtype__", v_int(l, q));
  attrs_set(l, &o->attrs, "is_floating_point", l->vfalse);
  return o;
}

static bool is_qtensor(const Value *v) {
  return v && v->k == V_OBJECT && v->cls && v->cls->bi == &qtensor_class;
}

static QDType want_qdtype(L *l, Value *v, const char *fname, int32_t off) {
  if (!v || v->k != V_OBJECT || !v->cls || v->cls->bi != &qdtype_class)
    lerr(l, off, "%s(): dtype must be torch.qint8, torch.quint8 or torch.qint32, not %s", fname,
         v && v->k == V_DTYPE ? dt_torch((DType)v->i) : v ? v_typename(v) : "None");
  return (QDType)attrs_get(&v->attrs, "__qdtype__")->i;
}

static Value *want_qtensor(L *l, Value *v, const char *fname, int32_t off) {
  if (!is_qtensor(v))
    lerr(l, off, "%s(): expected a quantized tensor, got %s", fname, v ? v_typename(v) : "None");
  return v;
}

/* torch.qint8, torch.quint8, torch.qint32 (torch.X lookups, from builtins.c), else NULL. */
Value *quant_getattr(L *l, Value *ns, const char *name) {
  if (ns->k != V_NS || strcmp(ns->s, "torch")) return NULL;
  for (int q = 0; q < (int)(sizeof qdtypes / sizeof qdtypes[0]); q++)
    if (!strcmp(name, qdtypes[q].name)) return qdtype_value(l, (QDType)q);
  return NULL;
}

/* ---- quantize ------------------------------------------------------------------------- */

/* fn(x) for a one-argument builtin (torch.round, torch.abs: bi_call would find Python's). */
static Value *call1(L *l, BuiltinFn fn, Value *x, int32_t off) {
  Args a = {.pos = (Value *[]){x}, .npos = 1, .off = off};
  return fn(l, NULL, &a);
}

/* The codes of x (float32) with inv = 1/scale and zp (tensors or numbers broadcasting
 * against x, float32 and int64), PyTorch's quantize_val. */
static Value *quantize_codes(L *l, Value *x, Value *inv, Value *zp, QDType q, int32_t off) {
  Value *r = call1(l, bi_round, bi_binop(l, BIN_MUL, x, inv, off), off);
  r = bi_binop(l, BIN_ADD, r, to_tensor_dt(l, zp, DT_F32, off), off);
  /* int64(r) where defined; qmin's side otherwise (NaN fails the comparison) */
  Value *lim = v_float(l, 9223372036854775808.0);
  Value *ok = bi_compare(l, CMP_LT, call1(l, bi_abs, r, off), lim, off);
  r = bi_select(l, ok, r, v_float(l, -9223372036854775808.0), off, NULL);
  Value *i = cast(l, r, DT_I64, off);
  i = bi_call(l, "clamp", NULL,
              (Value *[]){i, v_int(l, qdtypes[q].qmin), v_int(l, qdtypes[q].qmax)}, 3, off);
  return cast(l, i, qdtypes[q].codes, off);
}

static Value *qtensor_new(L *l, Value *codes, QDType q) {
  Value *cls = v_new(l, V_CLASS);
  cls->bi = &qtensor_class;
  cls->s = qtensor_class.name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = cls;
  attrs_set(l, &o->attrs, "__codes__", codes);
  attrs_set(l, &o->attrs, "__qdtype__", v_int(l, q));
  attrs_set(l, &o->attrs, "dtype", qdtype_value(l, q));
  attrs_set(l, &o->attrs, "shape", size_tuple(l, tshape(l, codes)));
  attrs_set(l, &o->attrs, "is_quantized", l->vtrue);
  attrs_set(l, &o->attrs, "requires_grad", l->vfalse);
  return o;
}

static Value *float_input(L *l, Value *x, const char *fname, int32_t off) {
  x = want_tensor(l, x, fname, off);
  DType dt = tdtype(l, x);
  if (dt != DT_F32)
    lerr(l, off, "%s(): Quantize only works on Float Tensor, got %s", fname, dt_torch(dt));
  return x;
}

static void check_zero_point(L *l, int64_t zp, QDType q, const char *kernel, int32_t off) {
  if (zp < qdtypes[q].qmin)
    lerr(l, off, "%s zero_point %lld is below lower bound.", kernel, (long long)zp);
  if (zp > qdtypes[q].qmax)
    lerr(l, off, "%s zero_point %lld is above upper bound.", kernel, (long long)zp);
}

/* torch.quantize_per_tensor(input, scale, zero_point, dtype) */
static Value *bi_quantize_per_tensor(L *l, Value *self, Args *a) {
  Value *v[4];
  args_bind(l, "quantize_per_tensor", "input, scale, zero_point, dtype", self, a, v, 4);
  Value *x = float_input(l, v[0], "quantize_per_tensor", a->off);
  if (v[1] && (v[1]->k == V_TENSOR || v[1]->k == V_HOST))
    lerr(l, a->off, "quantize_per_tensor(): a scale known only at run time is not supported by "
                    "ttc; give a number");
  double scale = want_num(l, v[1], "scale", a->off);
  int64_t zp = want_int(l, v[2], "zero_point", a->off);
  QDType q = want_qdtype(l, v[3], "quantize_per_tensor", a->off);
  check_zero_point(l, zp, q, "quantize_tensor_per_tensor_affine", a->off);
  float inv = 1.0f / (float)scale; /* PyTorch's inv_scale, a float */
  Value *codes = quantize_codes(l, x, v_float(l, inv), v_int(l, zp), q, a->off);
  Value *o = qtensor_new(l, codes, q);
  attrs_set(l, &o->attrs, "__scale__", v_float(l, scale));
  attrs_set(l, &o->attrs, "__zp__", v_int(l, zp));
  return o;
}

/* [1, .., n, .., 1]: a per-channel vector shaped to broadcast along axis of a rank-r tensor */
static Value *along(L *l, Value *t, int axis, int rank, int64_t n, int32_t off) {
  Value *shape = v_tuple(l, rank);
  for (int d = 0; d < rank; d++) shape->items[d] = v_int(l, d == axis ? n : 1);
  return bi_call(l, "reshape", t, &shape, 1, off);
}

/* torch.quantize_per_channel(input, scales, zero_points, axis, dtype) */
static Value *bi_quantize_per_channel(L *l, Value *self, Args *a) {
  Value *v[5];
  const char *fn = "quantize_per_channel";
  args_bind(l, fn, "input, scales, zero_points, axis, dtype", self, a, v, 5);
  Value *x = float_input(l, v[0], fn, a->off);
  Value *scales = want_tensor(l, v[1], fn, a->off), *zps = want_tensor(l, v[2], fn, a->off);
  int64_t axis = want_int(l, v[3], "axis", a->off);
  QDType q = want_qdtype(l, v[4], fn, a->off);
  Shape s = tshape(l, x), ss = tshape(l, scales), zs = tshape(l, zps);
  if (ss.rank != 1 || zs.rank != 1)
    lerr(l, a->off, "%s(): scales and zero_points must be 1-D tensors", fn);
  if (ss.d[0] != zs.d[0])
    lerr(l, a->off, "number of elements in scales and zero_points must match");
  if (axis < 0 || axis >= s.rank)
    lerr(l, a->off, "Channel axis out of range in per channel affine quantization. Got: %lld, "
                    "expected: [0, %d)", (long long)axis, s.rank);
  if (s.d[axis] != ss.d[0])
    lerr(l, a->off, "length of scales must equal to channel");
  if (!dt_is_float(tdtype(l, scales)) || dt_is_float(tdtype(l, zps)))
    lerr(l, a->off, "%s(): scales must be a floating tensor and zero_points an integer one", fn);
  /* PyTorch checks each zero point; ttc needs them at compile time to do the same */
  int64_t n = ss.d[0];
  double *fz = arena_alloc(l->arena, (size_t)n * sizeof *fz);
  int64_t *iz = arena_alloc(l->arena, (size_t)n * sizeof *iz);
  if (!fold_values(l, zps, fz, iz, n))
    lerr(l, a->off, "%s(): zero_points known only at run time are not supported by ttc (it "
                    "checks their range at compile time, as PyTorch does at the call)", fn);
  for (int64_t c = 0; c < n; c++)
    check_zero_point(l, iz[c], q, "quantize_tensor_per_channel_affine", a->off);
  int ax = (int)axis;
  /* per channel, PyTorch holds scales in float64 and quantizes with 1.0f / (float)scale */
  Value *sd = cast(l, scales, DT_F64, a->off);
  Value *inv = bi_binop(l, BIN_DIV, v_float(l, 1.0), cast(l, sd, DT_F32, a->off), a->off);
  Value *zl = cast(l, zps, DT_I64, a->off);
  /* one node-making call per statement: C leaves the order of arguments open */
  Value *inv_a = along(l, inv, ax, s.rank, n, a->off);
  Value *zl_a = along(l, zl, ax, s.rank, n, a->off);
  Value *codes = quantize_codes(l, x, inv_a, zl_a, q, a->off);
  Value *o = qtensor_new(l, codes, q);
  attrs_set(l, &o->attrs, "__scales__", sd);
  attrs_set(l, &o->attrs, "__zps__", zl);
  attrs_set(l, &o->attrs, "__axis__", v_int(l, axis));
  return o;
}

/* ---- the quantized tensor's methods ----------------------------------------------------- */

static Value *dequantize(L *l, Value *qt, int32_t off) {
  Value *codes = attrs_get(&qt->attrs, "__codes__");
  Value *scale = attrs_get(&qt->attrs, "__scale__");
  if (scale) { /* float32: (float(q) - zp) * (float)scale */
    Value *d = bi_binop(l, BIN_SUB, cast(l, codes, DT_F32, off),
                        v_float(l, (double)(float)attrs_get(&qt->attrs, "__zp__")->i), off);
    return bi_binop(l, BIN_MUL, d, v_float(l, (double)(float)scale->f), off);
  }
  /* per channel: float64, rounded to float32 at the end */
  int rank = tshape(l, codes).rank, ax = (int)attrs_get(&qt->attrs, "__axis__")->i;
  Value *sd = attrs_get(&qt->attrs, "__scales__"), *zl = attrs_get(&qt->attrs, "__zps__");
  int64_t n = tshape(l, sd).d[0];
  Value *cd = cast(l, codes, DT_F64, off);
  Value *zd = along(l, cast(l, zl, DT_F64, off), ax, rank, n, off);
  Value *d = bi_binop(l, BIN_SUB, cd, zd, off);
  d = bi_binop(l, BIN_MUL, d, along(l, sd, ax, rank, n, off), off);
  return cast(l, d, DT_F32, off);
}

static Value *q_self(L *l, Value *self, Args *a, const char *name) {
  if (a->npos || a->nkw) lerr(l, a->off, "%s() takes no arguments", name);
  return want_qtensor(l, self, name, a->off);
}

static Value *bi_q_int_repr(L *l, Value *self, Args *a) {
  Value *qt = q_self(l, self, a, "int_repr");
  QDType q = (QDType)attrs_get(&qt->attrs, "__qdtype__")->i;
  if (qdtypes[q].repr == DT__COUNT)
    lerr(l, a->off, "int_repr() of a torch.quint8 tensor is a torch.uint8 tensor, a dtype ttc "
                    "does not have; use torch.qint8, or dequantize()");
  /* a copy: the codes stay the quantized tensor's */
  return bi_call(l, "clone", attrs_get(&qt->attrs, "__codes__"), NULL, 0, a->off);
}

static Value *bi_q_dequantize(L *l, Value *self, Args *a) {
  return dequantize(l, q_self(l, self, a, "dequantize"), a->off);
}

/* torch.dequantize(q) */
static Value *bi_dequantize(L *l, Value *self, Args *a) {
  Value *v[1];
  args_bind(l, "dequantize", "input", self, a, v, 1);
  return dequantize(l, want_qtensor(l, v[0], "dequantize", a->off), a->off);
}

static Value *per_tensor_attr(L *l, Value *self, Args *a, const char *name, const char *key) {
  Value *qt = q_self(l, self, a, name);
  Value *v = attrs_get(&qt->attrs, key);
  if (!v)
    lerr(l, a->off, "%s(): Expected quantizer to be PerTensorAffineQuantizer, the tensor is "
                    "quantized per channel", name);
  return v;
}

static Value *per_channel_attr(L *l, Value *self, Args *a, const char *name, const char *key) {
  Value *qt = q_self(l, self, a, name);
  Value *v = attrs_get(&qt->attrs, key);
  if (!v)
    lerr(l, a->off, "%s(): Expected quantizer to be PerChannelAffineQuantizer, the tensor is "
                    "quantized per tensor", name);
  return v;
}

static Value *bi_q_scale(L *l, Value *self, Args *a) {
  return per_tensor_attr(l, self, a, "q_scale", "__scale__");
}
static Value *bi_q_zero_point(L *l, Value *self, Args *a) {
  return per_tensor_attr(l, self, a, "q_zero_point", "__zp__");
}
static Value *bi_q_per_channel_scales(L *l, Value *self, Args *a) {
  Value *s = per_channel_attr(l, self, a, "q_per_channel_scales", "__scales__");
  return bi_call(l, "clone", s, NULL, 0, a->off);
}
static Value *bi_q_per_channel_zero_points(L *l, Value *self, Args *a) {
  Value *z = per_channel_attr(l, self, a, "q_per_channel_zero_points", "__zps__");
  return bi_call(l, "clone", z, NULL, 0, a->off);
}
static Value *bi_q_per_channel_axis(L *l, Value *self, Args *a) {
  return per_channel_attr(l, self, a, "q_per_channel_axis", "__axis__");
}

static const Builtin qtensor_methods[] = {
    {"int_repr", BI_METHOD, bi_q_int_repr, 0},
    {"dequantize", BI_METHOD, bi_q_dequantize, 0},
    {"q_scale", BI_METHOD, bi_q_scale, 0},
    {"q_zero_point", BI_METHOD, bi_q_zero_point, 0},
    {"q_per_channel_scales", BI_METHOD, bi_q_per_channel_scales, 0},
    {"q_per_channel_zero_points", BI_METHOD, bi_q_per_channel_zero_points, 0},
    {"q_per_channel_axis", BI_METHOD, bi_q_per_channel_axis, 0},
};

/* q.NAME for a quantized tensor q (from builtins.c's bi_getattr), else NULL. */
Value *quant_method(L *l, Value *obj, const char *name) {
  if (!is_qtensor(obj)) return NULL;
  for (size_t i = 0; i < sizeof qtensor_methods / sizeof qtensor_methods[0]; i++)
    if (!strcmp(name, qtensor_methods[i].name)) return bi_bind(l, &qtensor_methods[i], obj);
  return NULL;
}

/* ---- the curriculum's functions (TinyTorch module 15) ------------------------------------ */

/*
 * quantize_int8(t) -> (q, scale, zero_point): TinyTorch's asymmetric int8 quantization of a
 * whole tensor, as its NumPy code computes it:
 *
 *   min_val, max_val = float(t.min()), float(t.max())
 *   if abs(max_val - min_val) < 1e-8: return zeros (int8), 1.0, 0
 *   scale = (max_val - min_val) / 255                                   (float64)
 *   zero_point = int(clip(round(-128 - min_val / scale), -128, 127))    (half to even)
 *   q = clip(round(data / scale + zero_point), -128, 127).astype(int8)  (float32)
 *
 * q is an int8 tensor (not a quantized one), scale and zero_point Python numbers, known
 * when the program runs.
 */
static Value *bi_quantize_int8(L *l, Value *self, Args *a) {
  Value *v[1];
  args_bind(l, "quantize_int8", "tensor", self, a, v, 1);
  int32_t off = a->off;
  Value *x = want_tensor(l, v[0], "quantize_int8", off);
  if (!dt_is_float(tdtype(l, x)))
    lerr(l, off, "quantize_int8(): expected a floating tensor, got %s",
         dt_torch(tdtype(l, x)));
  x = cast(l, x, DT_F32, off); /* TinyTorch's data is float32 */
  Value *mn = cast(l, bi_call(l, "min", x, NULL, 0, off), DT_F64, off);
  Value *mx = cast(l, bi_call(l, "max", x, NULL, 0, off), DT_F64, off);
  Value *range = bi_binop(l, BIN_SUB, mx, mn, off);
  Value *flat = bi_compare(l, CMP_LT, call1(l, bi_abs, range, off),
                           v_float(l, 1e-8), off);
  Value *scale = bi_select(l, flat, v_float(l, 1.0), bi_binop(l, BIN_DIV, range, v_float(l, 255.0), off),
                           off, NULL);
  Value *zp = bi_binop(l, BIN_SUB, v_float(l, -128.0), bi_binop(l, BIN_DIV, mn, scale, off), off);
  zp = call1(l, bi_round, zp, off);
  zp = bi_call(l, "clamp", NULL, (Value *[]){zp, v_float(l, -128.0), v_float(l, 127.0)}, 3, off);
  zp = bi_select(l, flat, v_float(l, 0.0), zp, off, NULL);
  Value *zpi = cast(l, zp, DT_I64, off);
  /* float32 from here: NumPy's float32 array with Python scalars */
  Value *qf = bi_binop(l, BIN_DIV, x, cast(l, scale, DT_F32, off), off);
  qf = bi_binop(l, BIN_ADD, qf, cast(l, zpi, DT_F32, off), off);
  qf = call1(l, bi_round, qf, off);
  qf = bi_call(l, "clamp", NULL, (Value *[]){qf, v_float(l, -128.0), v_float(l, 127.0)}, 3, off);
  qf = bi_select(l, flat, v_float(l, 0.0), qf, off, NULL);
  Value *q = cast(l, qf, DT_I8, off);
  Value *r = v_tuple(l, 3);
  r->items[0] = q;
  r->items[1] = tensor_item(l, scale, off);
  r->items[2] = tensor_item(l, zpi, off);
  return r;
}

/* dequantize_int8(q, scale, zero_point) = (q.float32 - zero_point) * scale, in float32. */
static Value *bi_dequantize_int8(L *l, Value *self, Args *a) {
  Value *v[3];
  args_bind(l, "dequantize_int8", "q_tensor, scale, zero_point", self, a, v, 3);
  Value *q = want_tensor(l, v[0], "dequantize_int8", a->off);
  Value *d = bi_binop(l, BIN_SUB, cast(l, q, DT_F32, a->off), v[2], a->off);
  return bi_binop(l, BIN_MUL, d, v[1], a->off);
}


/* ---- QuantizedLinear and quantize_model (the curriculum's module 15) ---------------------- */

/*
 * QuantizedLinear(linear): the Linear's weight as int8 codes with one symmetric scale per
 * output row (max |w| / 127, zero point 0), computed where it is called (after training);
 * its forward quantizes the input per tensor to int8 with an asymmetric scale and zero point
 * from the batch's own min and max (widened to include 0, so 0.0 is exact: dynamic
 * quantization, as torch.ao.quantization.quantize_dynamic does for activations), runs one
 * int8 x int8 -> int32 product (OP_QLINEAR: tt_gemm_s8s8, VNNI), and scales back to float32
 * with the bias: y = acc * (scale_x * scale_w[n]) + bias[n]. docs/QUANTIZATION.md.
 */
static Value *bi_qlinear_forward(L *l, Value *self, Args *a);
static Value *bi_qconv_forward(L *l, Value *self, Args *a);
static const Builtin qlinear_class = {"QuantizedLinear", 0, bi_qlinear_forward, 0};
static const Builtin qconv_class = {"QuantizedConv2d", 0, bi_qconv_forward, 0};
static bool observe(L *l, Value *self, Value *x, int32_t off);
static void act_params(L *l, Value *self, Value *x, Value **scale_out, Value **zp_out,
                       int32_t off);
static Value *quantize_input(L *l, Value *self, Value *x, Value **scale_out, Value **zp_out,
                             int32_t off);

static Value *zero_f32(L *l, int32_t off) {
  return to_tensor_dt(l, v_float(l, 0.0), DT_F32, off);
}

/*
 * t's value in a new program variable of that kind, named name and marked Var.quant (the
 * quantize pass's cue): a quantized layer's codes and scales are parameters of the
 * quantized model, held from the point of the call (docs/QUANTIZATION.md). Returns the
 * variable's tensor, which later graphs read.
 */
static Value *hold(L *l, Value *t, const char *name, VarKind kind, int32_t off) {
  const Node *n = tn(l, t);
  int var = ir_var_new(l->p, name, kind, n->dtype, n->shape);
  l->p->vars[var].quant = true;
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *b = v_new(l, V_TENSOR);
  b->t.var = var;
  b->t.leaf = true;
  return b;
}

/* The layer's float32 bias as the quantized layer holds it: the Linear's (Conv2d's) own
 * bias variable when it is one (no copy), else a copy in a new parameter. None without. */
static Value *held_bias(L *l, Value *b, int32_t off) {
  if (!b || b->k != V_TENSOR) return l->none;
  if (b->t.var >= 0 && l->p->vars[b->t.var].dtype == DT_F32 && !b->t.dyn && !b->t.win) {
    l->p->vars[b->t.var].quant = true; /* the quantized model's now (the pass's cue) */
    Value *t = v_new(l, V_TENSOR);
    t->t.var = b->t.var;
    t->t.leaf = true;
    return t;
  }
  return hold(l, cast(l, bi_call(l, "detach", b, NULL, 0, off), DT_F32, off), "bias", VAR_PARAM, off);
}

/* The float weight's variable: marked, since the quantized layer no longer reads it (the
 * quantize pass drops it where nothing else needs its float32 values). */
static void mark_float_weight(L *l, Value *w) {
  if (w && w->k == V_TENSOR && w->t.var >= 0) l->p->vars[w->t.var].quant = true;
}

/* The buffers state_dict() lists for a quantized layer, in this order. */
static void set_buffers(L *l, Value *o, const char *const *names, int n) {
  Value *list = v_new(l, V_LIST);
  for (int i = 0; i < n; i++)
    if (attrs_get(&o->attrs, names[i])->k == V_TENSOR) v_list_push(l, list, v_str(l, names[i]));
  attrs_set(l, &o->attrs, "__buffers__", list);
}

static Value *qlinear_new(L *l, Value *lin, int32_t off) {
  Value *w0 = attrs_get(&lin->attrs, "weight"), *b = attrs_get(&lin->attrs, "bias");
  if (!w0 || w0->k != V_TENSOR) lerr(l, off, "QuantizedLinear(): the Linear has no weight");
  Value *w = cast(l, bi_call(l, "detach", w0, NULL, 0, off), DT_F32, off);
  Shape ws = tshape(l, w);
  if (ws.rank != 2) lerr(l, off, "QuantizedLinear(): the weight must be a matrix");
  /* one scale per output row: max |w| / 127 (1 for an all-zero row) */
  Value *amax = bi_call(l, "amax", call1(l, bi_abs, w, off), (Value *[]){v_int(l, 1)}, 1, off);
  Value *pos = bi_compare(l, CMP_GT, amax, v_float(l, 0.0), off);
  Value *sw = bi_select(l, pos, bi_binop(l, BIN_DIV, amax, v_float(l, 127.0), off),
                        v_float(l, 1.0), off, NULL);
  Value *inv = bi_binop(l, BIN_DIV, v_float(l, 1.0), sw, off);
  Value *wq = quantize_codes(l, w, along(l, inv, 0, 2, ws.d[0], off), v_int(l, 0), QD_QINT8, off);
  Value *cls = v_new(l, V_CLASS);
  cls->bi = &qlinear_class;
  cls->s = qlinear_class.name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = cls;
  /* held in program variables: the int8 codes [N, K], the scales [N], the float bias */
  attrs_set(l, &o->attrs, "weight", hold(l, wq, "qweight", VAR_PARAM, off));
  attrs_set(l, &o->attrs, "weight_scale", hold(l, sw, "wscale", VAR_PARAM, off));
  attrs_set(l, &o->attrs, "bias", held_bias(l, b, off));
  set_buffers(l, o, (const char *const[]){"weight", "weight_scale", "bias"}, 3);
  mark_float_weight(l, w0);
  attrs_set(l, &o->attrs, "in_features", v_int(l, ws.d[1]));
  attrs_set(l, &o->attrs, "out_features", v_int(l, ws.d[0]));
  attrs_set(l, &o->attrs, "__w__", w); /* the float weight, for calibration's forward */
  attrs_set(l, &o->attrs, "__float_var__", v_int(l, w0->t.var));
  return o;
}

/* A 0-d program variable (VAR_STATE, marked Var.quant) of dtype dt holding x: a running
 * min, max, sum or count of calibration, updated in place by each batch's graph. */
static Value *state_scalar_dt(L *l, const char *name, DType dt, double x, int32_t off) {
  Value *t = filled(l, shape_scalar(), dt, x, off);
  int var = ir_var_new(l->p, name, VAR_STATE, dt, shape_scalar());
  l->p->vars[var].quant = true;
  Attr at = {0};
  at.var = var;
  int32_t in = tnode(l, t);
  add_node(l, OP_STORE, &in, 1, &at, off);
  Value *b = v_new(l, V_TENSOR);
  b->t.var = var;
  b->t.leaf = true;
  return b;
}

static Value *state_scalar(L *l, const char *name, double x, int32_t off) {
  return state_scalar_dt(l, name, DT_F32, x, off);
}

static Value *bi_qlinear_forward(L *l, Value *self, Args *a) {
  Value *v[1];
  args_bind(l, "QuantizedLinear.forward", "input", NULL, a, v, 1);
  int32_t off = a->off;
  Value *x = want_tensor(l, v[0], "QuantizedLinear", off);
  if (tdtype(l, x) != DT_F32)
    lerr(l, off, "QuantizedLinear: expected a float32 input, got %s", dt_torch(tdtype(l, x)));
  Shape xs = tshape(l, x);
  int64_t K = attrs_get(&self->attrs, "in_features")->i;
  if (xs.rank < 1 || xs.d[xs.rank - 1] != K)
    lerr(l, off, "QuantizedLinear: the input's last dimension must be %lld", (long long)K);
  if (observe(l, self, x, off)) { /* calibration: in float, as the Linear computed */
    Value *y = bi_binop(l, BIN_MATMUL, x, bi_call(l, "t", attrs_get(&self->attrs, "__w__"), NULL, 0, off), off);
    Value *b = attrs_get(&self->attrs, "bias");
    return b->k == V_TENSOR ? bi_binop(l, BIN_ADD, y, b, off) : y;
  }
  Value *scale, *zp;
  Value *xq = quantize_input(l, self, x, &scale, &zp, off);
  int32_t in[3];
  in[0] = tnode(l, xq);
  in[1] = tnode(l, attrs_get(&self->attrs, "weight"));
  in[2] = tnode(l, zp);
  Value *acc = mk_tensor(l, add_node(l, OP_QLINEAR, in, 3, NULL, off));
  Value *accf = cast(l, acc, DT_F32, off); /* one node-making call per statement */
  Value *ssw = bi_binop(l, BIN_MUL, scale, attrs_get(&self->attrs, "weight_scale"), off);
  Value *y = bi_binop(l, BIN_MUL, accf, ssw, off);
  Value *b = attrs_get(&self->attrs, "bias");
  return b->k == V_TENSOR ? bi_binop(l, BIN_ADD, y, b, off) : y;
}

/* Calibrating: records x's range in the layer's observers and returns true. */
/* The number of elements of x (int64, 0-d), whatever its run-time batch. */
static Value *count_all(L *l, Value *x, int32_t off) {
  Value *ones = cast(l, bi_call(l, "ones_like", NULL, (Value *[]){x}, 1, off), DT_I64, off);
  return bi_call(l, "sum", ones, NULL, 0, off);
}

/* How many elements of x compare true against t (0-d float32), as a 0-d float64 (exact). */
static Value *count_cmp(L *l, Value *x, int op, Value *t, int32_t off) {
  Value *c = bi_compare(l, op, x, t, off);
  Value *n = bi_call(l, "sum", c, NULL, 0, off);
  return cast(l, n, DT_F64, off);
}

#define PCT_STEPS 24 /* bisection steps: the range / 2^24 */

/*
 * The percentile observer's estimate for one batch x: hi the least t (to the range / 2^24)
 * with at least p% of x at or below t, lo the greatest with at most (100 - p)% below it;
 * bisection in float32 from [min(x), max(x)], the counts exact (int64, compared in float64
 * with n * p / 100). tests/torch_ref.py computes the same steps.
 */
static void batch_percentiles(L *l, Value *x, double p, Value **lo_out, Value **hi_out, int32_t off) {
  Value *n = cast(l, count_all(l, x, off), DT_F64, off);
  Value *need = bi_binop(l, BIN_MUL, n, v_float(l, p / 100.0), off);
  Value *below = bi_binop(l, BIN_SUB, n, need, off); /* at most this many below lo */
  Value *mn = bi_call(l, "min", x, NULL, 0, off);
  Value *mx = bi_call(l, "max", x, NULL, 0, off);
  Value *a = mn, *b = mx;
  for (int k = 0; k < PCT_STEPS; k++) { /* hi */
    Value *sum = bi_binop(l, BIN_ADD, a, b, off);
    Value *mid = bi_binop(l, BIN_MUL, sum, v_float(l, 0.5), off);
    Value *c = count_cmp(l, x, CMP_LE, mid, off);
    Value *ok = bi_compare(l, CMP_GE, c, need, off);
    Value *nb = bi_select(l, ok, mid, b, off, NULL);
    a = bi_select(l, ok, a, mid, off, NULL);
    b = nb;
  }
  *hi_out = b;
  a = mn, b = mx;
  for (int k = 0; k < PCT_STEPS; k++) { /* lo */
    Value *sum = bi_binop(l, BIN_ADD, a, b, off);
    Value *mid = bi_binop(l, BIN_MUL, sum, v_float(l, 0.5), off);
    Value *c = count_cmp(l, x, CMP_LT, mid, off);
    Value *ok = bi_compare(l, CMP_LE, c, below, off);
    Value *na = bi_select(l, ok, mid, a, off, NULL);
    b = bi_select(l, ok, b, mid, off, NULL);
    a = na;
  }
  *lo_out = a;
}

/* Calibrating (__observing__ 1): records x's range in the layer's observers (min/max, and
 * with the percentile observer each batch's percentiles, summed); counting (2): how many of
 * x's values the calibrated range clips (their codes clamped at -128 or 127). Returns true
 * in both: the forward then computes in float, as the float model did. */
static bool observe(L *l, Value *self, Value *x, int32_t off) {
  Value *mode = attrs_get(&self->attrs, "__observing__");
  if (!mode || !mode->i) return false;
  if (mode->i == 2) {
    Value *scale, *zp;
    act_params(l, self, NULL, &scale, &zp, off);
    Value *inv = bi_binop(l, BIN_DIV, v_float(l, 1.0), scale, off);
    Value *r = call1(l, bi_round, bi_binop(l, BIN_MUL, x, inv, off), off);
    Value *zf = cast(l, zp, DT_F32, off);
    r = bi_binop(l, BIN_ADD, r, zf, off);
    Value *hi = count_cmp(l, r, CMP_GT, v_float(l, 127.0), off);
    Value *lo = count_cmp(l, r, CMP_LT, v_float(l, -128.0), off);
    Value *clipped = bi_binop(l, BIN_ADD, hi, lo, off);
    Value *nclip = attrs_get(&self->attrs, "__nclip__"), *nall = attrs_get(&self->attrs, "__nall__");
    tensor_inplace(l, nclip, bi_binop(l, BIN_ADD, nclip, clipped, off), off);
    Value *n = cast(l, count_all(l, x, off), DT_F64, off);
    tensor_inplace(l, nall, bi_binop(l, BIN_ADD, nall, n, off), off);
    return true;
  }
  Value *omin = attrs_get(&self->attrs, "__omin__"), *omax = attrs_get(&self->attrs, "__omax__");
  tensor_inplace(l, omin, bi_call(l, "minimum", NULL, (Value *[]){omin, bi_call(l, "min", x, NULL, 0, off)}, 2, off), off);
  tensor_inplace(l, omax, bi_call(l, "maximum", NULL, (Value *[]){omax, bi_call(l, "max", x, NULL, 0, off)}, 2, off), off);
  Value *pct = attrs_get(&self->attrs, "__percentile__");
  if (pct) {
    Value *lo, *hi;
    batch_percentiles(l, x, pct->f, &lo, &hi, off);
    Value *slo = attrs_get(&self->attrs, "__plo__"), *shi = attrs_get(&self->attrs, "__phi__");
    Value *pn = attrs_get(&self->attrs, "__pn__");
    tensor_inplace(l, slo, bi_binop(l, BIN_ADD, slo, lo, off), off);
    tensor_inplace(l, shi, bi_binop(l, BIN_ADD, shi, hi, off), off);
    tensor_inplace(l, pn, bi_binop(l, BIN_ADD, pn, v_float(l, 1.0), off), off);
  }
  return true;
}

/* x's int8 codes, with *scale (0-d float32) and *zp (0-d int64): from the calibrated range
 * (static) or from the batch's own (dynamic), widened to include 0 so that 0.0 is exact. */

static Value *quantize_input(L *l, Value *self, Value *x, Value **scale_out, Value **zp_out,
                             int32_t off) {
  act_params(l, self, x, scale_out, zp_out, off);
  Value *inv = bi_binop(l, BIN_DIV, v_float(l, 1.0), *scale_out, off);
  return quantize_codes(l, x, inv, *zp_out, QD_QINT8, off);
}

/* The input's scale and zero point: from the observers when calibrated, else from x. */
static void act_params(L *l, Value *self, Value *x, Value **scale_out, Value **zp_out,
                       int32_t off) {
  Value *held = attrs_get(&self->attrs, "input_scale");
  if (held && held->k == V_TENSOR) { /* static: computed once after calibration */
    *scale_out = held;
    *zp_out = attrs_get(&self->attrs, "input_zero_point");
    return;
  }
  Value *omin = attrs_get(&self->attrs, "__omin__"), *omax = attrs_get(&self->attrs, "__omax__");
  /* one node-making call per statement: C leaves the order of arguments open */
  Value *lo = omin ? omin : bi_call(l, "min", x, NULL, 0, off);
  Value *z0 = zero_f32(l, off);
  Value *mn = bi_call(l, "minimum", NULL, (Value *[]){lo, z0}, 2, off);
  Value *hi = omax ? omax : bi_call(l, "max", x, NULL, 0, off);
  Value *z1 = zero_f32(l, off);
  Value *mx = bi_call(l, "maximum", NULL, (Value *[]){hi, z1}, 2, off);
  Value *range = bi_binop(l, BIN_SUB, mx, mn, off);
  Value *pos = bi_compare(l, CMP_GT, range, v_float(l, 0.0), off);
  Value *sc = bi_binop(l, BIN_DIV, range, v_float(l, 255.0), off);
  Value *scale = bi_select(l, pos, sc, v_float(l, 1.0), off, NULL);
  Value *zp = bi_binop(l, BIN_SUB, v_float(l, -128.0), bi_binop(l, BIN_DIV, mn, scale, off), off);
  zp = call1(l, bi_round, zp, off);
  zp = cast(l, bi_call(l, "clamp", NULL, (Value *[]){zp, v_float(l, -128.0), v_float(l, 127.0)}, 3, off), DT_I64, off);
  *scale_out = scale;
  *zp_out = zp;
}

/* A Conv2d's stride or padding attribute (an int, a pair, 'valid' or 'same') as two ints. */
static void conv_pair(L *l, Value *v, int64_t *out, const int64_t *kernel, bool padding,
                      int32_t off) {
  if (!v || v->k == V_NONE) {
    out[0] = out[1] = padding ? 0 : 1;
  } else if (v->k == V_INT) {
    out[0] = out[1] = v->i;
  } else if ((v->k == V_TUPLE || v->k == V_LIST) && v->n == 2) {
    out[0] = want_int(l, v->items[0], padding ? "padding" : "stride", off);
    out[1] = want_int(l, v->items[1], padding ? "padding" : "stride", off);
  } else if (padding && v->k == V_STR && !strcmp(v->s, "valid")) {
    out[0] = out[1] = 0;
  } else if (padding && v->k == V_STR && !strcmp(v->s, "same") && kernel[0] % 2 && kernel[1] % 2) {
    out[0] = kernel[0] / 2, out[1] = kernel[1] / 2;
  } else {
    lerr(l, off, "QuantizedConv2d(): unsupported %s", padding ? "padding" : "stride");
  }
}

/* The int8 Conv2d: weights per output channel as QuantizedLinear's rows, activations as its. */
static Value *qconv_new(L *l, Value *conv, int32_t off) {
  Value *w0 = attrs_get(&conv->attrs, "weight"), *b = attrs_get(&conv->attrs, "bias");
  if (!w0 || w0->k != V_TENSOR) lerr(l, off, "QuantizedConv2d(): the Conv2d has no weight");
  Value *w = cast(l, bi_call(l, "detach", w0, NULL, 0, off), DT_F32, off);
  Shape ws = tshape(l, w);
  if (ws.rank != 4) lerr(l, off, "QuantizedConv2d(): the weight must be [K, C, R, S]");
  int64_t st[2], pd[2];
  conv_pair(l, attrs_get(&conv->attrs, "stride"), st, ws.d + 2, false, off);
  conv_pair(l, attrs_get(&conv->attrs, "padding"), pd, ws.d + 2, true, off);
  Value *dims = v_tuple(l, 3);
  dims->items[0] = v_int(l, 1), dims->items[1] = v_int(l, 2), dims->items[2] = v_int(l, 3);
  Value *amax = bi_call(l, "amax", call1(l, bi_abs, w, off), (Value *[]){dims}, 1, off);
  Value *pos = bi_compare(l, CMP_GT, amax, v_float(l, 0.0), off);
  Value *sw = bi_select(l, pos, bi_binop(l, BIN_DIV, amax, v_float(l, 127.0), off),
                        v_float(l, 1.0), off, NULL);
  Value *inv = bi_binop(l, BIN_DIV, v_float(l, 1.0), sw, off);
  Value *wq = quantize_codes(l, w, along(l, inv, 0, 4, ws.d[0], off), v_int(l, 0), QD_QINT8, off);
  Value *cls = v_new(l, V_CLASS);
  cls->bi = &qconv_class;
  cls->s = qconv_class.name;
  Value *o = v_new(l, V_OBJECT);
  o->cls = cls;
  /* held in program variables: the int8 codes [K, C, R, S], the scales [K], the float bias */
  attrs_set(l, &o->attrs, "weight", hold(l, wq, "qweight", VAR_PARAM, off));
  attrs_set(l, &o->attrs, "weight_scale", hold(l, sw, "wscale", VAR_PARAM, off));
  attrs_set(l, &o->attrs, "bias", held_bias(l, b, off));
  set_buffers(l, o, (const char *const[]){"weight", "weight_scale", "bias"}, 3);
  mark_float_weight(l, w0);
  attrs_set(l, &o->attrs, "__w__", w);
  attrs_set(l, &o->attrs, "__float_var__", v_int(l, w0->t.var));
  Value *stv = v_tuple(l, 2), *pdv = v_tuple(l, 2);
  stv->items[0] = v_int(l, st[0]), stv->items[1] = v_int(l, st[1]);
  pdv->items[0] = v_int(l, pd[0]), pdv->items[1] = v_int(l, pd[1]);
  attrs_set(l, &o->attrs, "stride", stv);
  attrs_set(l, &o->attrs, "padding", pdv);
  attrs_set(l, &o->attrs, "in_channels", v_int(l, ws.d[1]));
  attrs_set(l, &o->attrs, "out_channels", v_int(l, ws.d[0]));
  return o;
}

static Value *bi_qconv_forward(L *l, Value *self, Args *a) {
  Value *v[1];
  args_bind(l, "QuantizedConv2d.forward", "input", NULL, a, v, 1);
  int32_t off = a->off;
  Value *x = want_tensor(l, v[0], "QuantizedConv2d", off);
  Shape xs = tshape(l, x);
  if (tdtype(l, x) != DT_F32 || xs.rank != 4 || xs.d[1] != attrs_get(&self->attrs, "in_channels")->i)
    lerr(l, off, "QuantizedConv2d: expected a float32 input [N, %lld, H, W]",
         (long long)attrs_get(&self->attrs, "in_channels")->i);
  Value *stv = attrs_get(&self->attrs, "stride"), *pdv = attrs_get(&self->attrs, "padding");
  if (observe(l, self, x, off)) { /* calibration: in float, as the Conv2d computed */
    Value *b = attrs_get(&self->attrs, "bias");
    Value *pos[3] = {x, attrs_get(&self->attrs, "__w__"), b};
    Args ca = {.pos = pos, .npos = b->k == V_TENSOR ? 3 : 2, .off = off,
               .kwnames = (const char *[]){"stride", "padding"}, .kw = (Value *[]){stv, pdv}, .nkw = 2};
    return bi_lookup("conv2d", BI_FUNC)->fn(l, NULL, &ca);
  }
  Value *scale, *zp;
  Value *xq = quantize_input(l, self, x, &scale, &zp, off);
  int64_t ints[4] = {stv->items[0]->i, stv->items[1]->i, pdv->items[0]->i, pdv->items[1]->i};
  Attr at = {0};
  at.ints = ints;
  at.nints = 4;
  int32_t in[3];
  in[0] = tnode(l, xq);
  in[1] = tnode(l, attrs_get(&self->attrs, "weight"));
  in[2] = tnode(l, zp);
  Value *acc = mk_tensor(l, add_node(l, OP_QCONV2D, in, 3, &at, off));
  Value *accf = cast(l, acc, DT_F32, off); /* one node-making call per statement */
  int64_t K = attrs_get(&self->attrs, "out_channels")->i;
  Value *sw4 = along(l, attrs_get(&self->attrs, "weight_scale"), 1, 4, K, off);
  Value *ssw = bi_binop(l, BIN_MUL, scale, sw4, off);
  Value *y = bi_binop(l, BIN_MUL, accf, ssw, off);
  Value *b = attrs_get(&self->attrs, "bias");
  if (b->k != V_TENSOR) return y;
  Value *b4 = along(l, b, 1, 4, K, off);
  return bi_binop(l, BIN_ADD, y, b4, off);
}

/* QuantizedLinear(linear) */
static Value *bi_QuantizedLinear(L *l, Value *self, Args *a) {
  Value *v[1];
  args_bind(l, "QuantizedLinear", "linear", self, a, v, 1);
  if (!is_class(v[0], "Linear"))
    lerr(l, a->off, "QuantizedLinear(): expected an nn.Linear, got %s", v[0] ? v_typename(v[0]) : "None");
  return qlinear_new(l, v[0], a->off);
}

/* A quantized layer's variables named after its path in the model (fc1_qweight: the int8
 * codes, fc1_wscale, fc1_bias, fc1_xscale, fc1_xzero; the float weight it replaced
 * fc1_weight), so the C and the memory reports read; finish_names makes them unique across
 * models (and name_params names a bias a float model still holds after that model's path). */
static void name_vars(L *l, Value *q) {
  const char *path = attrs_get(&q->attrs, "__qname__")->s;
  static const char *const keys[] = {"weight", "weight_scale", "bias", "input_scale", "input_zero_point"};
  /* one word after the layer's path, so ttc profile's table (names less their last _part)
     groups them by layer */
  static const char *const suffix[] = {"qweight", "wscale", "bias", "xscale", "xzero"};
  for (int k = 0; k < 5; k++) {
    Value *t = attrs_get(&q->attrs, keys[k]);
    if (t && t->k == V_TENSOR && t->t.var >= 0)
      l->p->vars[t->t.var].name = arena_printf(l->p->arena, "%s_%s", path, suffix[k]);
  }
  Value *fv = attrs_get(&q->attrs, "__float_var__");
  if (fv && fv->i >= 0) l->p->vars[fv->i].name = arena_printf(l->p->arena, "%s_weight", path);
}

/* After calibration: each layer's input scale and zero point, computed once from its
 * observers into two variables (state_dict()'s input_scale and input_zero_point), which
 * every later forward reads. */
static void hold_input_params(L *l, Value *q, int32_t off) {
  Value *scale, *zp;
  act_params(l, q, NULL, &scale, &zp, off);
  attrs_set(l, &q->attrs, "input_scale", hold(l, scale, "input_scale", VAR_STATE, off));
  attrs_set(l, &q->attrs, "input_zero_point", hold(l, zp, "input_zero_point", VAR_STATE, off));
  set_buffers(l, q, (const char *const[]){"weight", "weight_scale", "bias", "input_scale", "input_zero_point"}, 5);
  name_vars(l, q);
}

/* Replaces every Linear below module m (attributes and ModuleList/Sequential items) by its
 * QuantizedLinear; returns how many. */
static Value *quantized(L *l, Value *c, const char *name, int32_t off) {
  Value *q = is_class(c, "Linear") ? qlinear_new(l, c, off) : qconv_new(l, c, off);
  attrs_set(l, &q->attrs, "__qname__", v_str(l, name));
  name_vars(l, q);
  return q;
}

static const char *child_name(L *l, const char *prefix, const char *key) {
  return prefix[0] ? arena_printf(l->arena, "%s.%s", prefix, key) : key;
}

static int quantize_children(L *l, Value *m, const char *prefix, int depth, int32_t off) {
  if (depth > 64) return 0;
  int n = 0;
  for (int i = 0; i < m->attrs.n; i++) {
    Value *c = m->attrs.vals[i];
    const char *key = m->attrs.keys[i];
    if (is_class(c, "Linear") || is_class(c, "Conv2d")) {
      m->attrs.vals[i] = quantized(l, c, child_name(l, prefix, key), off);
      n++;
    } else if (c && c->k == V_OBJECT && c != m && bi_is_module(c)) {
      n += quantize_children(l, c, child_name(l, prefix, key), depth + 1, off);
    } else if (c && c->k == V_LIST && !strcmp(key, "__items__")) {
      for (int k = 0; k < c->n; k++) {
        const char *ik = child_name(l, prefix, arena_printf(l->arena, "%d", k));
        if (is_class(c->items[k], "Linear") || is_class(c->items[k], "Conv2d")) {
          Value *q = quantized(l, c->items[k], ik, off);
          for (int j = 0; j < m->attrs.n; j++) /* Sequential(OrderedDict): also an attribute */
            if (m->attrs.vals[j] == c->items[k]) m->attrs.vals[j] = q;
          c->items[k] = q;
          n++;
        } else if (c->items[k] && c->items[k]->k == V_OBJECT && bi_is_module(c->items[k])) {
          n += quantize_children(l, c->items[k], ik, depth + 1, off);
        }
      }
    }
  }
  return n;
}

/* Every QuantizedLinear below m, into out (a V_LIST). */
static void collect_qlinears(L *l, Value *m, Value *out, int depth) {
  if (depth > 64) return;
  for (int i = 0; i < m->attrs.n; i++) {
    Value *c = m->attrs.vals[i];
    if (c && c->k == V_OBJECT && c->cls && (c->cls->bi == &qlinear_class || c->cls->bi == &qconv_class)) {
      bool seen = false;
      for (int k = 0; k < out->n; k++) seen |= out->items[k] == c;
      if (!seen) v_list_push(l, out, c);
    } else if (c && c->k == V_OBJECT && c != m && bi_is_module(c)) {
      collect_qlinears(l, c, out, depth + 1);
    } else if (c && c->k == V_LIST && !strcmp(m->attrs.keys[i], "__items__")) {
      for (int k = 0; k < c->n; k++)
        if (c->items[k] && c->items[k]->k == V_OBJECT) {
          Value *wrap = v_new(l, V_OBJECT); /* walk the item as a one-attribute module */
          wrap->cls = m->cls;
          attrs_set(l, &wrap->attrs, "item", c->items[k]);
          collect_qlinears(l, wrap, out, depth + 1);
        }
    }
  }
}

/* __q_cal(batch): the model's forward on the batch (its first item when the loader yields
 * tuples), observing; bound to the model. */
static Value *bi_quant_calibrate_step(L *l, Value *self, Args *a) {
  Value *b = a->npos ? a->pos[0] : NULL;
  if (b && (b->k == V_TUPLE || b->k == V_LIST) && b->n > 0) b = b->items[0];
  if (!b || b->k != V_TENSOR)
    lerr(l, a->off, "quantize_model(): calibration_data must yield tensors or tuples whose first "
                    "item is the model's input, got %s", b ? v_typename(b) : "None");
  Args ma = {.pos = (Value *[]){b}, .npos = 1, .off = a->off};
  v_call(l, self, &ma);
  return l->none;
}
static const Builtin calibrate_step = {"quantize_model calibration", BI_FUNC, bi_quant_calibrate_step, 0};

static Ast *name_ast(L *l, const char *name, int32_t off) {
  Ast *n = ast_new(l->arena, AST_NAME, off);
  n->str = name;
  return n;
}

/* Runs the model over calibration_data (its first num_batches batches) at run time, as the
 * program's own loop would: `for __q_i, __q_b in enumerate(data): if __q_i == n: break;
 * __q_cal(__q_b)`, lowered as a host loop with every diagnostic at the call. */
static void calibrate(L *l, Value *model, Value *data, int64_t nb, int32_t off) {
  Scope *sc = arena_alloc(l->arena, sizeof *sc);
  sc->parent = l->globals;
  attrs_set(l, &sc->vars, "__q_data", data);
  attrs_set(l, &sc->vars, "__q_cal", bi_bind(l, &calibrate_step, model));
  Ast *loop = ast_new(l->arena, AST_FOR, off);
  Ast *body = ast_new(l->arena, AST_BLOCK, off);
  Ast *call = ast_new(l->arena, AST_CALL, off);
  call->a = name_ast(l, "__q_cal", off);
  ast_push(l->arena, call, name_ast(l, "__q_b", off));
  if (nb >= 0) {
    loop->a = ast_new(l->arena, AST_TUPLE, off);
    ast_push(l->arena, loop->a, name_ast(l, "__q_i", off));
    ast_push(l->arena, loop->a, name_ast(l, "__q_b", off));
    loop->b = ast_new(l->arena, AST_CALL, off);
    loop->b->a = name_ast(l, "enumerate", off);
    ast_push(l->arena, loop->b, name_ast(l, "__q_data", off));
    Ast *cond = ast_new(l->arena, AST_COMPARE, off);
    cond->op = CMP_EQ;
    cond->a = name_ast(l, "__q_i", off);
    cond->b = ast_new(l->arena, AST_INT, off);
    cond->b->ival = nb;
    Ast *iff = ast_new(l->arena, AST_IF, off);
    iff->a = cond;
    iff->b = ast_new(l->arena, AST_BLOCK, off);
    ast_push(l->arena, iff->b, ast_new(l->arena, AST_BREAK, off));
    ast_push(l->arena, body, iff);
  } else {
    loop->a = name_ast(l, "__q_b", off);
    loop->b = name_ast(l, "__q_data", off);
  }
  Ast *st = ast_new(l->arena, AST_EXPR, off);
  st->a = call;
  ast_push(l->arena, body, st);
  loop->c = body;
  Ast *blk = ast_new(l->arena, AST_BLOCK, off);
  ast_push(l->arena, blk, loop);
  Frame fr = {sc, NULL};
  bool saved = l->no_grad;
  l->no_grad = true;
  lower_block(l, &fr, blk);
  l->no_grad = saved;
}

/* report=True: one line per layer when the program runs, after calibration: its name, the
 * input's scale and zero point (static ones; "dynamic" without calibration) and the
 * weight's SQNR, 10 log10(sum w^2 / sum (w - dequantized w)^2) in dB (float64 sums). */
static void report(L *l, Value *qs, bool calibrated, int32_t off) {
  for (int k = 0; k < qs->n; k++) {
    Value *q = qs->items[k];
    Value *w = attrs_get(&q->attrs, "__w__");
    Shape ws = tshape(l, w);
    Value *wqf = cast(l, attrs_get(&q->attrs, "weight"), DT_F32, off);
    Value *sww = along(l, attrs_get(&q->attrs, "weight_scale"), 0, ws.rank, ws.d[0], off);
    Value *deq = bi_binop(l, BIN_MUL, wqf, sww, off);
    Value *wd = cast(l, w, DT_F64, off), *ed = cast(l, bi_binop(l, BIN_SUB, w, deq, off), DT_F64, off);
    Value *sig = bi_call(l, "sum", bi_binop(l, BIN_MUL, wd, wd, off), NULL, 0, off);
    Value *err = bi_call(l, "sum", bi_binop(l, BIN_MUL, ed, ed, off), NULL, 0, off);
    Value *ratio = bi_binop(l, BIN_DIV, sig, err, off);
    Value *db = bi_binop(l, BIN_MUL, bi_call(l, "log10", ratio, NULL, 0, off), v_float(l, 10.0), off);
    Value *items[10];
    int n = 0;
    items[n++] = v_str(l, "quantize_model:");
    items[n++] = attrs_get(&q->attrs, "__qname__");
    if (calibrated) {
      Value *scale, *zp;
      act_params(l, q, NULL, &scale, &zp, off);
      items[n++] = v_str(l, "input scale");
      items[n++] = host_round(l, tensor_item(l, scale, off), 6, off);
      items[n++] = v_str(l, "zero point");
      items[n++] = tensor_item(l, zp, off);
      Value *rate = bi_binop(l, BIN_DIV, attrs_get(&q->attrs, "__nclip__"), attrs_get(&q->attrs, "__nall__"), off);
      items[n++] = v_str(l, "clipping rate");
      items[n++] = host_round(l, tensor_item(l, rate, off), 6, off);
    } else {
      items[n++] = v_str(l, "input dynamic");
    }
    items[n++] = v_str(l, "weight SQNR dB");
    items[n++] = host_round(l, tensor_item(l, db, off), 2, off);
    bi_call(l, "print", NULL, items, n, off);
  }
}

/* quantize_model(model, calibration_data=None, num_batches=None): every Linear and Conv2d of
 * the model becomes a QuantizedLinear or QuantizedConv2d, in place; returns the model. With calibration_data (a loader
 * or a list of batches the model's forward takes as they are), the activations' scales are
 * static: the min and max each layer's input reaches over the first num_batches batches
 * (all of them by default), run through the float model at this point of the program. */
static Value *bi_quantize_model(L *l, Value *self, Args *a) {
  Value *v[6];
  args_bind(l, "quantize_model",
            "model, calibration_data=None, num_batches=None, report=False, observer='minmax', percentile=99.99",
            self, a, v, 6);
  bool rep = v[3] && want_bool(l, v[3], a->off);
  if (!v[0] || v[0]->k != V_OBJECT || !bi_is_module(v[0]))
    lerr(l, a->off, "quantize_model(): expected a module, got %s", v[0] ? v_typename(v[0]) : "None");
  if (is_class(v[0], "Linear"))
    lerr(l, a->off, "quantize_model(): pass the model holding the Linear, or use QuantizedLinear(linear)");
  bool pct = false;
  if (v[4] && v[4]->k != V_NONE) {
    if (v[4]->k != V_STR || (strcmp(v[4]->s, "minmax") && strcmp(v[4]->s, "percentile")))
      lerr(l, a->off, "quantize_model(): observer must be 'minmax' or 'percentile'");
    pct = !strcmp(v[4]->s, "percentile");
  }
  double p = v[5] && v[5]->k != V_NONE ? want_num(l, v[5], "percentile", a->off) : 99.99;
  if (!(p > 50.0 && p <= 100.0)) lerr(l, a->off, "quantize_model(): percentile must be in (50, 100], got %g", p);
  if (pct && (!v[1] || v[1]->k == V_NONE))
    lerr(l, a->off, "quantize_model(): observer='percentile' needs calibration_data");
  if (quantize_children(l, v[0], "", 0, a->off) == 0)
    lerr(l, a->off, "quantize_model(): the model has no Linear or Conv2d layer to quantize");
  if (!v[1] || v[1]->k == V_NONE) {
    if (v[2] && v[2]->k != V_NONE)
      lerr(l, a->off, "quantize_model(): num_batches without calibration_data");
    if (rep) {
      Value *qs = v_new(l, V_LIST);
      collect_qlinears(l, v[0], qs, 0);
      report(l, qs, false, a->off);
    }
    return v[0];
  }
  int64_t nb = -1;
  if (v[2] && v[2]->k != V_NONE) {
    nb = want_int(l, v[2], "num_batches", a->off);
    if (nb < 1) lerr(l, a->off, "quantize_model(): num_batches must be at least 1");
  }
  Value *qs = v_new(l, V_LIST);
  collect_qlinears(l, v[0], qs, 0);
  for (int k = 0; k < qs->n; k++) {
    Value *q = qs->items[k];
    /* the observers, named after the layer (fc1_xmin, ...) */
    const char *path = attrs_get(&q->attrs, "__qname__")->s;
    const char *nmin = arena_printf(l->arena, "%s_xmin", path), *nmax = arena_printf(l->arena, "%s_xmax", path);
    attrs_set(l, &q->attrs, "__omin__", state_scalar(l, nmin, INFINITY, a->off));
    attrs_set(l, &q->attrs, "__omax__", state_scalar(l, nmax, -INFINITY, a->off));
    if (pct) {
      attrs_set(l, &q->attrs, "__percentile__", v_float(l, p));
      attrs_set(l, &q->attrs, "__plo__", state_scalar(l, arena_printf(l->arena, "%s_xplo", path), 0.0, a->off));
      attrs_set(l, &q->attrs, "__phi__", state_scalar(l, arena_printf(l->arena, "%s_xphi", path), 0.0, a->off));
      attrs_set(l, &q->attrs, "__pn__", state_scalar(l, arena_printf(l->arena, "%s_xbatches", path), 0.0, a->off));
    }
    attrs_set(l, &q->attrs, "__observing__", v_int(l, 1));
  }
  calibrate(l, v[0], v[1], nb, a->off);
  for (int k = 0; k < qs->n; k++) {
    Value *q = qs->items[k];
    attrs_get(&q->attrs, "__observing__")->i = 0;
    if (pct) { /* the range: the batches' percentiles, averaged */
      Value *pn = attrs_get(&q->attrs, "__pn__");
      Value *lo = bi_binop(l, BIN_DIV, attrs_get(&q->attrs, "__plo__"), pn, a->off);
      Value *hi = bi_binop(l, BIN_DIV, attrs_get(&q->attrs, "__phi__"), pn, a->off);
      attrs_set(l, &q->attrs, "__omin__", lo);
      attrs_set(l, &q->attrs, "__omax__", hi);
    }
    hold_input_params(l, q, a->off);
  }
  if (rep) { /* the clipping rate: the calibration batches again, counting */
    for (int k = 0; k < qs->n; k++) {
      Value *q = qs->items[k];
      const char *path = attrs_get(&q->attrs, "__qname__")->s;
      attrs_set(l, &q->attrs, "__nclip__", state_scalar_dt(l, arena_printf(l->arena, "%s_xclipped", path), DT_F64, 0.0, a->off));
      attrs_set(l, &q->attrs, "__nall__", state_scalar_dt(l, arena_printf(l->arena, "%s_xseen", path), DT_F64, 0.0, a->off));
      attrs_get(&q->attrs, "__observing__")->i = 2;
    }
    calibrate(l, v[0], v[1], nb, a->off);
    for (int k = 0; k < qs->n; k++) attrs_get(&qs->items[k]->attrs, "__observing__")->i = 0;
    report(l, qs, true, a->off);
  }
  return v[0];
}

const Builtin quant_builtins[] = {
    {"quantize_per_tensor", BI_FUNC, bi_quantize_per_tensor, 0},
    {"quantize_per_channel", BI_FUNC, bi_quantize_per_channel, 0},
    {"dequantize", BI_FUNC, bi_dequantize, 0},
    {"quantize_int8", BI_FUNC, bi_quantize_int8, 0},
    {"dequantize_int8", BI_FUNC, bi_dequantize_int8, 0},
    {"QuantizedLinear", BI_FUNC, bi_QuantizedLinear, 0},
    {"quantize_model", BI_FUNC, bi_quantize_model, 0},
};
const int quant_nbuiltins = sizeof quant_builtins / sizeof quant_builtins[0];
