/*
 * sources.c — where a graph's values come from and where they go: program vars (input,
 * store), constants, fills, aranges and random draws.
 *
 * A constant is a `static const` array whose values are printed so that they read back
 * bit for bit (%.9g for float, %.17g for double, NAN and INFINITY by name); constants
 * larger than a screenful live at file scope so the graph function stays readable.
 * Random draws call the runtime's PyTorch-compatible generator each time the graph runs,
 * so a program draws the same numbers PyTorch would in the same order.
 */
#include "codegen/codegen.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- literals --------------------------------------------------------------------- */

/* A floating literal that reads back exactly, with the fewest digits that do (0.1f, not
 * 0.100000001f: %.9g and %.17g always round-trip, but a reader wants the short form);
 * "1" becomes "1.0" so the suffix applies. */
static const char *float_lit(Cg *cg, double v, bool single) {
  if (isnan(v)) return "NAN";
  if (isinf(v)) return v < 0 ? "-INFINITY" : "INFINITY";
  char b[48];
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(b, sizeof b, "%.*g", prec, v);
    if (single ? strtof(b, NULL) == (float)v : strtod(b, NULL) == v) break;
  }
  bool has_point = strpbrk(b, ".e") != NULL;
  return arena_printf(cg->arena, "%s%s%s", b, has_point ? "" : ".0", single ? "f" : "");
}

static const char *int_lit(Cg *cg, int64_t v, DType t) {
  /* The most negative value has no literal: its magnitude does not fit the type. */
  if (t == DT_I64 && v == INT64_MIN) return "INT64_MIN";
  if (t == DT_I32 && v == INT32_MIN) return "INT32_MIN";
  return arena_printf(cg->arena, "%lld", (long long)v);
}

const char *cg_literal(Cg *cg, DType t, double v) {
  switch (t) {
  case DT_F32:
    return float_lit(cg, (float)v, true);
  case DT_F64:
    return float_lit(cg, v, false);
  case DT_BOOL:
    return v != 0 ? "1" : "0";
  default:
    /* Out-of-range or NaN values have no integer meaning; 0 keeps the C well defined. */
    if (!(v >= -9.2e18 && v <= 9.2e18)) return "0";
    return int_lit(cg, (int64_t)v, t);
  }
}

/* Element i of a constant's data, as a literal. */
static const char *data_lit(Cg *cg, DType t, const void *data, int64_t i) {
  switch (t) {
  case DT_F32:
    return float_lit(cg, ((const float *)data)[i], true);
  case DT_F64:
    return float_lit(cg, ((const double *)data)[i], false);
  case DT_I64:
    return int_lit(cg, ((const int64_t *)data)[i], t);
  case DT_I32:
    return int_lit(cg, ((const int32_t *)data)[i], t);
  case DT_I8:
    return int_lit(cg, ((const int8_t *)data)[i], t);
  default:
    return ((const unsigned char *)data)[i] ? "1" : "0";
  }
}

/* ---- program vars ----------------------------------------------------------------- */

static bool matches_var(Cg *cg, int id, const Node *n, int var) {
  const Var *v = &cg->p->vars[var];
  (void)id;
  if (n->dtype != v->dtype || shape_numel(&n->shape) != shape_numel(&v->shape))
    return cg_fail(cg, "%s: var %s is %s[%lld elements], the node %s[%lld]", ir_ops[n->op].name,
                   cg->vname[var], dt_name(v->dtype), (long long)shape_numel(&v->shape),
                   dt_name(n->dtype), (long long)shape_numel(&n->shape));
  return true;
}

/* The var's buffer is the node's storage: nothing to emit. */
bool cg_input(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  return matches_var(cg, id, n, n->attr.var);
}

bool cg_store(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  if (!matches_var(cg, id, x, n->attr.var)) return false;
  const char *dst = cg->vname[n->attr.var], *src = cg_buf(cg, n->in[0]);
  if (!strcmp(dst, src)) { /* the storage plan computed it there (emit.c, plan_storage) */
    int line, col;
    ir_linecol(cg->p->src, n->loc.off, &line, &col);
    cg_line(cg, "/* %s:%d:%d  store into %s: computed there, nothing to copy */", cg->file, line, col, dst);
    return true;
  }
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "into %s", dst));
  if (shape_numel(&x->shape) == 0)
    cg_line(cg, "/* empty: nothing to copy */");
  else if (x->shape.symm == 1u) /* the valid rows only: B of them */
    cg_line(cg, "memcpy(%s, %s, (size_t)(%s) * sizeof *%s);", dst, src,
            cg_extent(cg, &x->shape, 0, x->shape.rank), dst);
  else /* static, or padded between runs: the whole buffer */
    cg_line(cg, "memcpy(%s, %s, %lld * sizeof *%s);", dst, src, (long long)shape_numel(&x->shape), dst);
  return true;
}

/* ---- constants -------------------------------------------------------------------- */

/* "static const float name[n] = {...};" wrapped at 100 columns. */
static bool const_def(Cg *cg, const Node *n, const char *name) {
  int64_t ne = shape_numel(&n->shape);
  if (ne > 0 && !n->attr.data) return cg_fail(cg, "const: no data");
  char sh[96];
  cg_line(cg, "static const %s %s[%lld] = { /* %s */", cg_ctype(n->dtype), name,
          (long long)(ne > 0 ? ne : 1), shape_str(&n->shape, sh, sizeof sh));
  int pad = 2 * (cg->indent + 1);
  char line[128];
  size_t k = 0;
  for (int64_t i = 0; i < ne; i++) {
    const char *lit = data_lit(cg, n->dtype, n->attr.data, i);
    size_t m = strlen(lit);
    if (k && pad + k + m + 2 > 100) {
      cg_line(cg, "  %s", line);
      k = 0;
    }
    k += (size_t)snprintf(line + k, sizeof line - k, "%s%s,", k ? " " : "", lit);
  }
  if (ne == 0) k = (size_t)snprintf(line, sizeof line, "0,");
  if (k) cg_line(cg, "  %s", line);
  cg_line(cg, "};");
  return true;
}

/* Appends n bytes to the data file, hashing them; false on a write error. */
static bool data_put(Cg *cg, const void *bytes, size_t n) {
  const unsigned char *b = bytes;
  for (size_t i = 0; i < n; i++) cg->data_hash = (cg->data_hash ^ b[i]) * 1099511628211ULL;
  cg->data_size += n;
  return fwrite(bytes, 1, n, cg->opt->data) == n;
}

/* A large constant kept in the data file (CgOptions.data): a pointer into the bytes the
 * assembler included, 64-aligned as the kernels' own arrays are. */
static bool const_in_data(Cg *cg, const Node *n, const char *name) {
  static const unsigned char zeros[64];
  if (!cg->data_size) cg->data_hash = 1469598103934665603ULL;
  size_t pad = (size_t)(-cg->data_size & 63);
  if (pad && !data_put(cg, zeros, pad)) return cg_fail(cg, "codegen: cannot write %s", cg->opt->data_name);
  uint64_t off = cg->data_size;
  size_t bytes = (size_t)shape_numel(&n->shape) * dt_size(n->dtype);
  if (!data_put(cg, n->attr.data, bytes)) return cg_fail(cg, "codegen: cannot write %s", cg->opt->data_name);
  char sh[96];
  cg_line(cg, "/* %s %s, %zu bytes at offset %llu of %s */", shape_str(&n->shape, sh, sizeof sh),
          dt_name(n->dtype), bytes, (unsigned long long)off, cg_text(cg, cg->opt->data_name, true));
  cg_line(cg, "static const %s *const %s = (const %s *)(tt_data + %llu);", cg_ctype(n->dtype), name,
          cg_ctype(n->dtype), (unsigned long long)off);
  return true;
}

bool cg_const_filescope(Cg *cg, const Graph *g, int id, const char *name) {
  const Node *n = &g->nodes[id];
  int line, col;
  ir_linecol(cg->p->src, n->loc.off, &line, &col);
  cg_line(cg, "/* %s:%d:%d  a constant of %s */", cg->file, line, col,
          n->name ? cg_text(cg, n->name, true) : "the program");
  bool big = (uint64_t)shape_numel(&n->shape) * dt_size(n->dtype) >= CG_DATA_MIN;
  if (cg->opt->data && big ? !const_in_data(cg, n, name) : !const_def(cg, n, name)) return false;
  fputc('\n', cg->out);
  return true;
}

bool cg_const(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  const char *name = cg_buf(cg, id);
  if (cg_lives(cg, cg->gi, id) != CG_FILESCOPE) {
    cg_kernel_comment(cg, id, NULL);
    if (!const_def(cg, n, name)) return false;
  }
  /* An unused static const is a warning under -Wall; dead nodes are DCE's business. */
  if (!cg->uses[id]) cg_line(cg, "(void)%s; /* never read */", name);
  return true;
}

/* ---- fills and random draws ------------------------------------------------------- */

/* A nest over the node's elements as one flat run. */
static void flat_nest(const Node *n, CgNest *nest) {
  Shape flat = shape_make(1, (int64_t[]){shape_numel(&n->shape)});
  cg_nest_init(nest, &flat, 1, 0);
  nest->st[0][0] = 1;
  cg_nest_merge(nest);
}

bool cg_fill(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  CgNest nest;
  flat_nest(n, &nest);
  /* An integer fill past 2^53 carries its exact value in attr.i[0] (f[0] is its rounding). */
  bool exact = n->dtype == DT_I64 && (double)n->attr.i[0] == n->attr.f[0];
  const char *v = exact ? int_lit(cg, n->attr.i[0], n->dtype) : cg_literal(cg, n->dtype, n->attr.f[0]);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "value=%s", v));
  cg_nest_open(cg, &nest, false);
  cg_line(cg, "%s[%s] = %s;", cg_buf(cg, id), cg_nest_index(cg, &nest, 0), v);
  cg_nest_close(cg, &nest, false);
  return true;
}

bool cg_arange(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  double start = n->attr.f[0], step = n->attr.f[1];
  if (!isfinite(start) || !isfinite(step))
    return cg_fail(cg, "arange: start and step must be finite");
  CgNest nest;
  flat_nest(n, &nest);
  const char *s0 = float_lit(cg, start, false), *st = float_lit(cg, step, false);
  /* Integers exactly, when the front end carried them (attr.i; f holds their roundings). */
  if (!dt_is_float(n->dtype) && (double)n->attr.i[0] == start && (double)n->attr.i[1] == step &&
      n->attr.i[1] != 0) {
    s0 = int_lit(cg, n->attr.i[0], DT_I64);
    st = int_lit(cg, n->attr.i[1], DT_I64);
    cg_kernel_comment(cg, id, arena_printf(cg->arena, "start=%s step=%s", s0, st));
    cg_nest_open(cg, &nest, false);
    const char *v = !nest.nd ? s0
                    : arena_printf(cg->arena, "%s%s%s%s", n->attr.i[0] ? s0 : "",
                                   n->attr.i[0] ? " + " : "", "i0",
                                   n->attr.i[1] == 1 ? "" : arena_printf(cg->arena, " * %s", st));
    cg_line(cg, "%s[%s] = (%s)(%s);", cg_buf(cg, id), cg_nest_index(cg, &nest, 0),
            cg_ctype(n->dtype), v);
    cg_nest_close(cg, &nest, false);
    return true;
  }
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "start=%s step=%s", s0, st));
  cg_nest_open(cg, &nest, false);
  /* In double, then rounded once, as PyTorch computes it. */
  const char *v = nest.nd ? arena_printf(cg->arena, "%s + (double)i0 * %s", s0, st) : s0;
  cg_line(cg, "%s[%s] = (%s)(%s);", cg_buf(cg, id), cg_nest_index(cg, &nest, 0), cg_ctype(n->dtype),
          v);
  cg_nest_close(cg, &nest, false);
  return true;
}

static bool random_draw(Cg *cg, int id, const char *fn, const char *p0, const char *p1) {
  const Node *n = cg_node(cg, id);
  if (n->dtype != DT_F32 && n->dtype != DT_F64)
    return cg_fail(cg, "%s: only float32 and float64 tensors can be drawn", ir_ops[n->op].name);
  double a = n->attr.f[0], b = n->attr.f[1];
  if (!isfinite(a) || !isfinite(b)) return cg_fail(cg, "%s: parameters must be finite", fn);
  const char *la = float_lit(cg, a, false), *lb = float_lit(cg, b, false);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "%s=%s %s=%s", p0, la, p1, lb));
  /* Draw exactly the valid elements, so the stream stays PyTorch's for a partial batch. */
  if (n->shape.symm & ~1u)
    return cg_fail(cg, "%s: drawing a tensor whose batch dimension is not leading", fn);
  cg_line(cg, "tt_%s_%s(%s, %s, %s, %s);", fn, n->dtype == DT_F32 ? "f32" : "f64", cg_buf(cg, id),
          cg_extent(cg, &n->shape, 0, n->shape.rank), la, lb);
  return true;
}

bool cg_uniform(Cg *cg, int id) {
  return random_draw(cg, id, "uniform", "lo", "hi");
}
bool cg_normal(Cg *cg, int id) {
  return random_draw(cg, id, "normal", "mean", "std");
}

/* torch.randint: int64 draws in [lo, hi), PyTorch's stream (tt_randint_i64). */
bool cg_randperm(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (n->dtype != DT_I64 || n->shape.rank != 1 || n->shape.symm)
    return cg_fail(cg, "randperm: a 1-D int64 tensor of a static size");
  cg_kernel_comment(cg, id, NULL);
  cg_line(cg, "tt_randperm_i64(%s, %lld);", cg_buf(cg, id), (long long)n->shape.d[0]);
  return true;
}

bool cg_randint(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (n->dtype != DT_I64) return cg_fail(cg, "randint: only int64 tensors are drawn");
  int64_t lo = (int64_t)n->attr.i[0], hi = (int64_t)n->attr.i[1];
  if (hi <= lo) return cg_fail(cg, "randint: empty range [%lld, %lld)", (long long)lo, (long long)hi);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "low=%lld high=%lld", (long long)lo, (long long)hi));
  if (n->shape.symm & ~1u) return cg_fail(cg, "randint: a batch dimension that is not leading");
  cg_line(cg, "tt_randint_i64(%s, %s, %lld, %lld);", cg_buf(cg, id), cg_extent(cg, &n->shape, 0, n->shape.rank),
          (long long)lo, (long long)hi);
  return true;
}
