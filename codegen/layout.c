/*
 * layout.c — reshape, permute, expand, slice and cat: ops that only move elements.
 *
 * Reshape is a view: its node reuses its input's buffer name and emits no code. The rest
 * are copy loops over the result's shape, the source addressed by strides that say what
 * the op means: permuted strides for permute, 0 along broadcast dims for expand, strides
 * times steps plus a start offset for slice, and for cat one copy per input into its
 * window of the result. The loop nest fuses whatever is contiguous, so a slice of whole
 * rows or a cat along dim 0 becomes one flat loop that the C compiler turns into memcpy.
 */
#include "codegen/codegen.h"

/* The one statement of a copy kernel: dst[index 0] = src[index 1] over the nest. */
static void copy_loop(Cg *cg, CgNest *nest, const char *dst, const char *src) {
  cg_nest_merge(nest);
  cg_nest_open(cg, nest, false);
  cg_line(cg, "%s[%s] = %s[%s];", dst, cg_nest_index(cg, nest, 0), src, cg_nest_index(cg, nest, 1));
  cg_nest_close(cg, nest, false);
}

static bool same_type_as_input(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (n->dtype != cg_in(cg, id, 0)->dtype)
    return cg_fail(cg, "%s: dtype differs from its input", ir_ops[n->op].name);
  return true;
}

bool cg_reshape(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1) || !same_type_as_input(cg, id)) return false;
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  if (shape_numel(&n->shape) != shape_numel(&x->shape))
    return cg_fail(cg, "reshape: element count differs from its input");
  /* No kernel: say so, so the reader sees why the name below is the input's. */
  int line, col;
  ir_linecol(cg->p->src, n->loc.off, &line, &col);
  char a[96], b[96];
  /* (detach is the same kernel: none; the comment names the op the program wrote) */
  cg_line(cg, "/* %s:%d:%d  %s%s%s %s -> %s: a view of %s, no copy */", cg->file, line, col,
          n->name ? cg_text(cg, n->name, true) : "", n->name ? " = " : "", ir_ops[n->op].name,
          shape_str(&x->shape, a, sizeof a),
          shape_str(&n->shape, b, sizeof b), cg_buf(cg, id));
  return true;
}

bool cg_permute(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1) || !same_type_as_input(cg, id)) return false;
  const Node *n = cg_node(cg, id);
  const Shape *x = &cg_in(cg, id, 0)->shape;
  if (n->attr.nints != x->rank || n->shape.rank != x->rank)
    return cg_fail(cg, "permute: order has %d dims for a tensor of rank %d", n->attr.nints,
                   x->rank);
  int64_t xst[TT_MAX_RANK];
  cg_strides(x, xst);
  bool seen[TT_MAX_RANK] = {false};
  CgNest nest;
  cg_nest_init(&nest, &n->shape, 2, 0);
  cg_nest_broadcast(&nest, 0, &n->shape);
  for (int i = 0; i < x->rank; i++) {
    int64_t k = n->attr.ints[i];
    if (k < 0 || k >= x->rank || seen[k] || n->shape.d[i] != x->d[k])
      return cg_fail(cg, "permute: invalid order");
    seen[k] = true;
    nest.st[1][i] = xst[k];
  }
  const char *order = "order=(";
  for (int i = 0; i < x->rank; i++)
    order = arena_printf(cg->arena, "%s%s%lld", order, i ? "," : "", (long long)n->attr.ints[i]);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "%s)", order));
  copy_loop(cg, &nest, cg_buf(cg, id), cg_buf(cg, n->in[0]));
  return true;
}

bool cg_expand(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1) || !same_type_as_input(cg, id)) return false;
  const Node *n = cg_node(cg, id);
  const Shape *x = &cg_in(cg, id, 0)->shape;
  int off = n->shape.rank - x->rank;
  if (off < 0) return cg_fail(cg, "expand: target has fewer dims than its input");
  for (int i = 0; i < x->rank; i++)
    if (x->d[i] != 1 && x->d[i] != n->shape.d[off + i])
      return cg_fail(cg, "expand: input does not broadcast to the target");
  CgNest nest;
  cg_nest_init(&nest, &n->shape, 2, 0);
  cg_nest_broadcast(&nest, 0, &n->shape);
  cg_nest_broadcast(&nest, 1, x);
  cg_kernel_comment(cg, id, NULL);
  copy_loop(cg, &nest, cg_buf(cg, id), cg_buf(cg, n->in[0]));
  return true;
}

bool cg_slice(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1) || !same_type_as_input(cg, id)) return false;
  const Node *n = cg_node(cg, id);
  const Shape *x = &cg_in(cg, id, 0)->shape;
  if (n->attr.nints != 3 * x->rank || n->shape.rank != x->rank)
    return cg_fail(cg, "slice: expected %d (start, stop, step) values", 3 * x->rank);
  int64_t xst[TT_MAX_RANK];
  cg_strides(x, xst);
  CgNest nest;
  cg_nest_init(&nest, &n->shape, 2, 0);
  cg_nest_broadcast(&nest, 0, &n->shape);
  const char *desc = "[";
  for (int i = 0; i < x->rank; i++) {
    const int64_t *t = &n->attr.ints[3 * i];
    if (t[0] < 0 || t[2] < 1 || t[0] > t[1] || t[1] > x->d[i] ||
        n->shape.d[i] != (t[1] - t[0] + t[2] - 1) / t[2])
      return cg_fail(cg, "slice: invalid range for dimension %d", i);
    nest.st[1][i] = xst[i] * t[2];
    nest.base[1] += t[0] * xst[i];
    desc = arena_printf(cg->arena, "%s%s%lld:%lld%s", desc, i ? ", " : "", (long long)t[0],
                        (long long)t[1],
                        t[2] != 1 ? arena_printf(cg->arena, ":%lld", (long long)t[2]) : "");
  }
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "%s]", desc));
  if (shape_numel(&n->shape) == 0) nest.base[1] = 0; /* no element is read */
  copy_loop(cg, &nest, cg_buf(cg, id), cg_buf(cg, n->in[0]));
  return true;
}

/* x.narrow(dim, s, len) for a start s read at run time (and a length that may be the
 * graph's extent B): a copy whose source index is offset by s along dim, after a check
 * that the window lies inside x's extent there. */
bool cg_narrow(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 2) || !same_type_as_input(cg, id)) return false;
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  int dim = (int)n->attr.i[0];
  bool ext = n->attr.i[2] != 0;
  int64_t xst[TT_MAX_RANK];
  cg_strides(&x->shape, xst);
  CgNest nest;
  cg_nest_init(&nest, &n->shape, 2, 0);
  cg_nest_broadcast(&nest, 0, &n->shape);
  for (int i = 0; i < x->shape.rank; i++) nest.st[1][i] = xst[i];
  const char *len = ext ? "B" : arena_printf(cg->arena, "%lld", (long long)n->attr.i[1]);
  const char *have = sym_at(&x->shape, dim) ? "B" : arena_printf(cg->arena, "%lld", (long long)x->shape.d[dim]);
  if (ext || sym_at(&x->shape, dim)) cg->used_B = true;
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "dim=%d, length %s%s", dim, ext ? "B <= " : "",
                                         ext ? arena_printf(cg->arena, "%lld", (long long)n->attr.i[1]) : len));
  cg_line(cg, "{");
  cg->indent++;
  cg_line(cg, "const int64_t s = %s[0];", cg_buf(cg, n->in[1]));
  cg_line(cg, "if (s < 0 || %s > %s - s)", len, have);
  cg_line(cg, "  tt_fatal(\"%%s: narrow: start %%lld and length %%lld are out of range for a dimension of size %%lld\",");
  cg_line(cg, "           \"%s\", (long long)s, (long long)(%s), (long long)(%s));", cg_where(cg, n->loc), len, have);
  if (shape_numel(&n->shape) > 0) {
    cg_nest_merge(&nest);
    cg_nest_open(cg, &nest, false);
    cg_line(cg, "%s[%s] = %s[s * %lld + %s];", cg_buf(cg, id), cg_nest_index(cg, &nest, 0),
            cg_buf(cg, n->in[0]), (long long)xst[dim], cg_nest_index(cg, &nest, 1));
    cg_nest_close(cg, &nest, false);
  }
  cg->indent--;
  cg_line(cg, "}");
  return true;
}

bool cg_cat(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (n->nin < 1 || !n->in) return cg_fail(cg, "cat: no inputs");
  int64_t dim = n->attr.i[0];
  int rank = n->shape.rank;
  if (dim < 0 || dim >= rank) return cg_fail(cg, "cat: dim out of range");
  int64_t ost[TT_MAX_RANK], at = 0;
  cg_strides(&n->shape, ost);
  for (int k = 0; k < n->nin; k++) {
    const Node *x = cg_in(cg, id, k);
    bool ok = x->dtype == n->dtype && x->shape.rank == rank;
    for (int i = 0; ok && i < rank; i++)
      if (i != dim && x->shape.d[i] != n->shape.d[i]) ok = false;
    if (!ok) return cg_fail(cg, "cat: input %d does not fit the result", k);
    at += x->shape.d[dim];
  }
  if (at != n->shape.d[dim]) return cg_fail(cg, "cat: inputs do not fill the result");
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "dim=%lld", (long long)dim));
  at = 0;
  for (int k = 0; k < n->nin; k++) {
    const Node *x = cg_in(cg, id, k);
    CgNest nest;
    cg_nest_init(&nest, &x->shape, 2, 0);
    for (int i = 0; i < rank; i++) nest.st[0][i] = ost[i];
    cg_nest_broadcast(&nest, 1, &x->shape);
    nest.base[0] = shape_numel(&x->shape) ? at * ost[dim] : 0;
    copy_loop(cg, &nest, cg_buf(cg, id), cg_buf(cg, n->in[k]));
    at += x->shape.d[dim];
  }
  return true;
}

/* cumsum: the dims other than dim are a nest; dim is one loop carrying the running sum
 * (double for floats, as ATen's acc_type; the element type when attr.i[2] is set, as
 * multinomial's cumulative distribution sums), forwards or from the end. */
bool cg_cumsum(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Shape *s = &n->shape;
  int dim = (int)n->attr.i[0], rank = s->rank;
  bool rev = n->attr.i[1] != 0;
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "dim=%d%s", dim, rev ? " from the end" : ""));
  const char *y = cg_buf(cg, id), *x = cg_buf(cg, n->in[0]);
  const char *T = cg_ctype(n->dtype);
  const char *acc_t = !dt_is_float(n->dtype) ? "int64_t" : n->attr.i[2] ? T : "double";
  if (rank == 0) {
    cg_line(cg, "%s[0] = %s[0];", y, x);
    return true;
  }
  if (shape_numel(s) == 0) return true;
  int64_t st[TT_MAX_RANK];
  CgNest nest;
  cg_nest_except(&nest, s, dim, st);
  int v = nest.nd;
  const char *D = cg_extent(cg, s, dim, dim + 1);
  const char *at = cg_index_add(cg, cg_nest_index(cg, &nest, 0), v, st[dim]);
  cg_nest_open(cg, &nest, true);
  cg_line(cg, "%s acc = 0;", acc_t);
  if (rev)
    cg_line(cg, "for (int64_t i%d = %s - 1; i%d >= 0; i%d--) {", v, D, v, v);
  else
    cg_line(cg, "for (int64_t i%d = 0; i%d < %s; i%d++) {", v, v, D, v);
  cg_line(cg, "  acc += %s[%s];", x, at);
  cg_line(cg, "  %s[%s] = (%s)acc;", y, at, T);
  cg_line(cg, "}");
  cg_nest_close(cg, &nest, true);
  return true;
}

/* argsort: each line along dim sorted by the runtime (tt_argsort_*), with a scratch array
 * of the line's length declared here. */
bool cg_argsort(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Node *xn = cg_in(cg, id, 0);
  const Shape *s = &n->shape;
  int dim = (int)n->attr.i[0], rank = s->rank;
  bool desc = n->attr.i[1] != 0;
  const char *suf = xn->dtype == DT_F32 ? "f32" : xn->dtype == DT_F64 ? "f64" : xn->dtype == DT_I64 ? "i64" : NULL;
  if (!suf || (n->attr.i[2] > 0 && xn->dtype == DT_I64)) return cg_fail(cg, "argsort: unsupported dtype");
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "dim=%d%s", dim, desc ? " descending" : ""));
  const char *y = cg_buf(cg, id), *x = cg_buf(cg, n->in[0]);
  if (rank == 0) {
    cg_line(cg, "%s[0] = 0;", y);
    return true;
  }
  if (shape_numel(s) == 0) return true;
  int64_t st[TT_MAX_RANK];
  CgNest nest;
  cg_nest_except(&nest, s, dim, st);
  cg_line(cg, "{");
  cg->indent++;
  cg_line(cg, "static int64_t scratch[%lld];", (long long)s->d[dim]);
  cg_nest_open(cg, &nest, true);
  const char *base = cg_nest_index(cg, &nest, 0);
  if (n->attr.i[2] > 0) /* torch.topk's choice of k = attr.i[2] - 1 first (prune's masks) */
    cg_line(cg, "tt_topk_order_%s(%s + %s, %s, %lld, %s + %s, %d, %lld, scratch);", suf, x, base,
            cg_extent(cg, s, dim, dim + 1), (long long)st[dim], y, base, desc ? 1 : 0, (long long)(n->attr.i[2] - 1));
  else
    cg_line(cg, "tt_argsort_%s(%s + %s, %s, %lld, %s + %s, %d, scratch);", suf, x, base,
            cg_extent(cg, s, dim, dim + 1), (long long)st[dim], y, base, desc ? 1 : 0);
  cg_nest_close(cg, &nest, true);
  cg->indent--;
  cg_line(cg, "}");
  return true;
}
