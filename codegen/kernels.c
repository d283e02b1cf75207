/*
 * kernels.c — matmul, reductions and softmax: the kernels that are more than one loop.
 *
 * Floating matmuls call the runtime's tiled GEMM, once when the batch folds into the rows
 * (the Linear case: [B,T,in] @ [in,out]) and otherwise once per batch entry with offsets
 * that give broadcast batch dims stride 0. Integer matmul is plain loops. Reductions keep
 * the result's dims outside and the reduced ones inside, accumulating float sums in
 * double (PyTorch sums pairwise; double accumulation stays within its rounding; long
 * contiguous rows in 16 independent lanes, so the adds vectorize), products likewise, and
 * propagating NaN through max/min as PyTorch does. Softmax subtracts the row max before
 * exponentiating (log-sum-exp), so large logits stay finite.
 */
#include "codegen/codegen.h"

#include <string.h>

/* "a + b" with "0" operands dropped; arena-owned. */
static const char *join(Cg *cg, const char *a, const char *b) {
  if (!strcmp(a, "0")) return b;
  if (!strcmp(b, "0")) return a;
  return arena_printf(cg->arena, "%s + %s", a, b);
}

/* buf, or buf + off when off is not "0". */
static const char *ptr_at(Cg *cg, const char *buf, const char *off) {
  return strcmp(off, "0") ? arena_printf(cg->arena, "%s + %s", buf, off) : buf;
}

static int64_t prod(const Shape *s, int lo, int hi) {
  int64_t p = 1;
  for (int i = lo; i < hi; i++) p *= s->d[i];
  return p;
}

/* ---- matmul ----------------------------------------------------------------------- */

/* Swaps the last two dims of s, with the symbolic marker: the logical operand of a matmul
 * input stored transposed. */
static void swap_last2(Shape *s) {
  int p = s->rank - 2, q = s->rank - 1;
  int64_t t = s->d[p];
  s->d[p] = s->d[q];
  s->d[q] = t;
  unsigned sp = s->symm >> p & 1u, sq = s->symm >> q & 1u;
  s->symm = (s->symm & ~(3u << p)) | sp << q | sq << p;
}

/* Dims [0, hi) of s with its symbolic marker. */
static Shape leading(const Shape *s, int hi) {
  Shape r = shape_make(hi > 0 ? hi : 0, s->d);
  r.symm = hi > 0 ? s->symm & ((1u << hi) - 1) : 0;
  return r;
}

/*
 * torch.matmul over bound-strided buffers. The symbolic batch dim may be a batch dim, the
 * rows M (X W^T), the contracted K (a weight gradient X^T G, stored in[0] transposed) or the
 * columns N; its extent is B in the GEMM call while every leading dimension stays its bound.
 */
static bool emit_matmul(Cg *cg, int id, bool acc) {
  if (!cg_check_inputs(cg, id, acc ? 3 : 2)) return false;
  const Node *n = cg_node(cg, id);
  const Node *xa = cg_in(cg, id, 0), *xb = cg_in(cg, id, 1);
  bool tb = n->attr.i[0] != 0, ta = n->attr.i[1] != 0;
  Shape a = xa->shape, b = xb->shape;
  if (a.rank < 1 || b.rank < 1 || (tb && b.rank < 2) || (ta && a.rank < 2) ||
      (n->attr.i[0] != 0 && n->attr.i[0] != 1) || (n->attr.i[1] != 0 && n->attr.i[1] != 1))
    return cg_fail(cg, "matmul: unsupported operand ranks or transpose flag");
  if (xa->dtype != xb->dtype || xa->dtype != n->dtype)
    return cg_fail(cg, "matmul: operand dtypes differ");
  if (ta) swap_last2(&a); /* the logical operand: stored [.., K, M] */
  if (tb) swap_last2(&b); /* stored [.., N, K] */
  /* torch.matmul: a 1-D left operand is a row [1,K], a 1-D right one a column [K,1]. */
  int64_t M = a.rank == 1 ? 1 : a.d[a.rank - 2], K = a.d[a.rank - 1];
  int64_t N = b.rank == 1 ? 1 : b.d[b.rank - 1], Kb = b.rank == 1 ? b.d[0] : b.d[b.rank - 2];
  bool msym = a.rank > 1 && sym_at(&a, a.rank - 2), ksym = sym_at(&a, a.rank - 1);
  bool nsym = b.rank > 1 && sym_at(&b, b.rank - 1);
  bool kbsym = sym_at(&b, b.rank == 1 ? 0 : b.rank - 2);
  if (K != Kb || ksym != kbsym)
    return cg_fail(cg, "matmul: inner dimensions %lld and %lld differ", (long long)K,
                   (long long)Kb);
  Shape ba = leading(&a, a.rank - 2), bb = leading(&b, b.rank - 2);
  Shape batch;
  if (!ir_broadcast(&ba, &bb, &batch)) return cg_fail(cg, "matmul: batch dims do not broadcast");
  /* A run-time extent in the batch dims (a data loader's batch) is the only one; M, N and
   * K may share one (attention over a run-time sequence length: [T, d] @ [d, T]). */
  if (sym_count(&batch) > 1 || (batch.symm && (msym || nsym || ksym)))
    return cg_fail(cg, "matmul: a run-time extent in the batch dims and the matrices");
  int64_t nbatch = prod(&batch, 0, batch.rank);
  if (n->shape.rank != batch.rank + (a.rank > 1) + (b.rank > 1) ||
      prod(&n->shape, 0, n->shape.rank) != nbatch * M * N)
    return cg_fail(cg, "matmul: result shape does not match its operands");
  /* Leading dimensions of the stored matrices, at the bounds. */
  int64_t lda = ta ? M : K, ldb = b.rank == 1 ? 1 : (tb ? K : N);

  /* Batch strides in elements: a whole matrix per batch step, 0 along broadcast dims. */
  CgNest nest;
  cg_nest_init(&nest, &batch, 3, 0);
  cg_nest_broadcast(&nest, 0, &batch);
  cg_nest_broadcast(&nest, 1, &ba);
  cg_nest_broadcast(&nest, 2, &bb);
  for (int k = 0; k < nest.nd; k++) {
    nest.st[0][k] *= M * N;
    nest.st[1][k] *= M * K;
    nest.st[2][k] *= K * N;
  }
  /* The batch folds into M when b is one matrix for every batch entry and a's batches are
   * all distinct and contiguous rows: one GEMM of nbatch*M rows. Not when a is stored
   * transposed, nor when symbolic rows would leave padding between the batches. */
  bool fold = !ta && prod(&bb, 0, bb.rank) == 1 && prod(&ba, 0, ba.rank) == nbatch &&
              !(batch.symm & ~1u) && (!msym || nbatch == 1);
  const char *Ms = msym ? "B" : arena_printf(cg->arena, "%lld", (long long)M);
  int64_t rows_sm = msym ? 1 : 0; /* the rows' extent is B * rows_sm when symbolic */
  if (fold) {
    if (batch.symm & 1u) {
      rows_sm = nbatch / batch.d[0] * M;
      Ms = cg_extent(cg, &batch, 0, batch.rank);
      if (M != 1) Ms = arena_printf(cg->arena, "%s * %lld", Ms, (long long)M);
    } else if (nbatch != 1) {
      Ms = arena_printf(cg->arena, "%lld", (long long)(nbatch * M));
    }
    M *= nbatch;
    nest.nd = 0;
  }
  if (msym) cg->used_B = true;
  const char *Ns = nsym ? "B" : arena_printf(cg->arena, "%lld", (long long)N);
  const char *Ks = ksym ? "B" : arena_printf(cg->arena, "%lld", (long long)K);
  if (nsym || ksym) cg->used_B = true;
  cg_nest_merge(&nest);

  const char *desc = ta && tb ? "(A and B transposed)"
                     : ta     ? "(A transposed)"
                     : tb     ? "(B transposed)"
                              : NULL;
  cg_kernel_comment(cg, id, desc);
  const char *A = cg_buf(cg, n->in[0]), *Bm = cg_buf(cg, n->in[1]), *C = cg_buf(cg, id);
  if (M * N == 0) {
    cg_line(cg, "/* empty result: nothing to compute */");
    return true;
  }
  if (n->dtype == DT_F32 || n->dtype == DT_F64) {
    if (acc && strcmp(C, cg_buf(cg, n->in[2]))) /* not computed in its accumulator's place */
      cg_line(cg, "memcpy(%s, %s, %lld * sizeof *%s);", C, cg_buf(cg, n->in[2]),
              (long long)prod(&n->shape, 0, n->shape.rank), C);
    cg_nest_open(cg, &nest, false);
    cg_line(cg, "tt_gemm_%s(%s, %s, %s, %s, %lld, %s, %s, %lld, %s, %s, %lld, %s);",
            n->dtype == DT_F32 ? "f32" : "f64", Ms, Ns, Ks,
            ptr_at(cg, A, cg_nest_index(cg, &nest, 1)), (long long)lda, ta ? "true" : "false",
            ptr_at(cg, Bm, cg_nest_index(cg, &nest, 2)), (long long)ldb, tb ? "true" : "false",
            ptr_at(cg, C, cg_nest_index(cg, &nest, 0)), (long long)N, acc ? "true" : "false");
    cg_nest_close(cg, &nest, false);
    return true;
  }
  if (acc) return cg_fail(cg, "matmul_acc: not a float");
  /* Integer matmul: plain loops, accumulating in the result's type as PyTorch does. */
  const char *offc = cg_nest_index(cg, &nest, 0), *offa = cg_nest_index(cg, &nest, 1);
  const char *offb = cg_nest_index(cg, &nest, 2);
  Shape mn = shape_make(2, (int64_t[]){M, N});
  CgNest rows;
  cg_nest_init(&rows, &mn, 3, nest.nd);
  rows.sm[0] = rows_sm;
  rows.sm[1] = nsym ? 1 : 0;
  rows.st[0][0] = N, rows.st[0][1] = 1;
  rows.st[1][0] = ta ? 1 : K, rows.st[1][1] = 0;
  rows.st[2][0] = 0, rows.st[2][1] = tb ? K : (b.rank == 1 ? 0 : 1);
  cg_nest_merge(&rows);
  Shape ks = shape_make(1, (int64_t[]){K});
  CgNest inner;
  cg_nest_init(&inner, &ks, 2, nest.nd + rows.nd);
  inner.sm[0] = ksym ? 1 : 0;
  inner.st[0][0] = ta ? lda : 1;
  inner.st[1][0] = tb ? 1 : ldb;
  cg_nest_merge(&inner);
  cg_nest_open(cg, &nest, false);
  cg_nest_open(cg, &rows, true);
  /* integer products and sums wrap around as PyTorch's do: unsigned, where C defines it */
  bool fl = dt_is_float(n->dtype);
  cg_line(cg, "%s acc = 0;", fl ? cg_ctype(n->dtype) : "uint64_t");
  cg_nest_open(cg, &inner, false);
  cg_line(cg, fl ? "acc += %s[%s] * %s[%s];" : "acc += (uint64_t)%s[%s] * (uint64_t)%s[%s];", A,
          join(cg, join(cg, offa, cg_nest_index(cg, &rows, 1)), cg_nest_index(cg, &inner, 0)), Bm,
          join(cg, join(cg, offb, cg_nest_index(cg, &rows, 2)), cg_nest_index(cg, &inner, 1)));
  cg_nest_close(cg, &inner, false);
  cg_line(cg, "%s[%s] = %sacc;", C, join(cg, offc, cg_nest_index(cg, &rows, 0)),
          fl ? "" : arena_printf(cg->arena, "(%s)", cg_ctype(n->dtype)));
  cg_nest_close(cg, &rows, true);
  cg_nest_close(cg, &nest, false);
  return true;
}

bool cg_matmul(Cg *cg, int id) {
  return emit_matmul(cg, id, false);
}

/* in[2] + in[0] @ in[1]: the GEMM adds its product into the accumulator's values (in its
 * variable's array when the result is stored there, else copied first). */
bool cg_matmul_acc(Cg *cg, int id) {
  return emit_matmul(cg, id, true);
}

/* ---- reductions ------------------------------------------------------------------- */

/* The identity of max (lowest) or min (highest) for type t, as a C expression. */
static const char *extreme(DType t, bool lowest) {
  switch (t) {
  case DT_F32:
  case DT_F64:
    return lowest ? "-INFINITY" : "INFINITY";
  case DT_I64:
    return lowest ? "INT64_MIN" : "INT64_MAX";
  case DT_I32:
    return lowest ? "INT32_MIN" : "INT32_MAX";
  case DT_I8:
    return lowest ? "INT8_MIN" : "INT8_MAX";
  default:
    return lowest ? "0" : "1";
  }
}

/* A text for the comment: "dims=(0,2) keepdim". */
static const char *reduce_desc(Cg *cg, int64_t mask, int rank, bool keepdim) {
  const char *s = "dims=(";
  bool first = true;
  for (int i = 0; i < rank; i++)
    if ((mask >> i) & 1) {
      s = arena_printf(cg->arena, "%s%s%d", s, first ? "" : ",", i);
      first = false;
    }
  return arena_printf(cg->arena, "%s)%s", s, keepdim ? " keepdim" : "");
}

/* ARGMAX / ARGMIN: the first index of the extreme along one dim (or the flattened tensor),
 * a NaN counting as the maximum (and the minimum), as in PyTorch. The kept dims are a nest
 * (a symbolic one runs to B); the reduced dim is one loop, to B when it is the symbolic one. */
static bool emit_arg(Cg *cg, int id, const Shape *xs, int64_t mask) {
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  bool is_max = n->op == OP_ARGMAX;
  int dim = 0; /* MEDIAN_INDEX shares the walk: only the line's body differs */
  Shape v = *xs;
  if (mask == 0) { /* over the flattened tensor */
    if (xs->symm & ~1u)
      return cg_fail(cg, "%s: flattening a tensor whose batch dimension is not leading",
                     ir_ops[n->op].name);
    v = shape_make(1, (int64_t[]){prod(xs, 0, xs->rank)});
  } else {
    while (!((mask >> dim) & 1)) dim++;
  }
  int64_t vst[TT_MAX_RANK];
  cg_strides(&v, vst);
  Shape kept = {.rank = 0};
  int64_t kst[TT_MAX_RANK];
  for (int i = 0; i < v.rank; i++) {
    if (i == dim) continue;
    if (sym_at(&v, i)) kept.symm |= 1u << kept.rank;
    kst[kept.rank] = vst[i];
    kept.d[kept.rank++] = v.d[i];
  }
  int64_t R = v.d[dim];
  const char *Rs = mask == 0 ? cg_extent(cg, xs, 0, xs->rank) : cg_extent(cg, &v, dim, dim + 1);
  if (prod(&n->shape, 0, n->shape.rank) != prod(&kept, 0, kept.rank) || n->dtype != DT_I64)
    return cg_fail(cg, "%s: result shape does not match its operand", ir_ops[n->op].name);
  if (R == 0 && prod(&kept, 0, kept.rank) > 0)
    return cg_fail(cg, "%s: reduction over an empty dimension", ir_ops[n->op].name);
  CgNest nest;
  cg_nest_init(&nest, &kept, 2, 0);
  cg_nest_broadcast(&nest, 0, &kept);
  for (int k = 0; k < kept.rank; k++) nest.st[1][k] = kst[k];
  cg_nest_merge(&nest);
  int j = nest.nd;
  const char *xb = cg_buf(cg, n->in[0]), *base = cg_nest_index(cg, &nest, 1);
  const char *at = arena_printf(cg->arena, "%s[%s]", xb, cg_index_add(cg, base, j, vst[dim]));
  cg_kernel_comment(cg, id, mask ? reduce_desc(cg, mask, xs->rank, n->attr.i[1]) : "(flattened)");
  if (n->op == OP_MEDIAN_INDEX) { /* each line selected by the runtime, in a scratch array */
    const char *suf = x->dtype == DT_F32 ? "f32" : x->dtype == DT_F64 ? "f64" : x->dtype == DT_I64 ? "i64" : NULL;
    if (!suf) return cg_fail(cg, "median_index: unsupported dtype");
    cg_line(cg, "{");
    cg->indent++;
    cg_line(cg, "static int64_t scratch[%lld];", (long long)(R > 0 ? R : 1));
    cg_nest_open(cg, &nest, true);
    cg_line(cg, "%s[%s] = tt_median_index_%s(%s, %s, %lld, scratch);", cg_buf(cg, id),
            cg_nest_index(cg, &nest, 0), suf, ptr_at(cg, xb, base), Rs, (long long)vst[dim]);
    cg_nest_close(cg, &nest, true);
    cg->indent--;
    cg_line(cg, "}");
    return true;
  }
  cg_nest_open(cg, &nest, true);
  cg_line(cg, "%s best = %s[%s];", cg_ctype(x->dtype), xb, base);
  cg_line(cg, "int64_t besti = 0;");
  cg_line(cg, "for (int64_t i%d = 1; i%d < %s; i%d++) {", j, j, Rs, j);
  cg_line(cg, "  const %s v = %s;", cg_ctype(x->dtype), at);
  if (dt_is_float(x->dtype))
    cg_line(cg, "  if (v %s best || (v != v && best == best)) {", is_max ? ">" : "<");
  else
    cg_line(cg, "  if (v %s best) {", is_max ? ">" : "<");
  cg_line(cg, "    best = v;");
  cg_line(cg, "    besti = i%d;", j);
  cg_line(cg, "  }");
  cg_line(cg, "}");
  cg_line(cg, "%s[%s] = besti;", cg_buf(cg, id), cg_nest_index(cg, &nest, 0));
  cg_nest_close(cg, &nest, true);
  return true;
}

/*
 * A float sum whose innermost reduced dim is contiguous and at least 4*SUM_LANES long runs
 * in SUM_LANES independent double accumulators, added in a fixed tree at the end. One
 * accumulator is a chain of dependent adds (4 cycles each, nothing to vectorize); lanes
 * are a vector add per SUM_LANES elements. The order is fixed by the code, not by the
 * machine, so the result is deterministic; in double it stays within float's rounding of
 * the exact sum, as the single chain did.
 */
#define SUM_LANES 16

static void emit_lane_sum(Cg *cg, const CgNest *outer, const CgNest *inner, const char *xb,
                          const char *xt) {
  CgNest head = *inner; /* the reduced dims outside the contiguous one */
  head.nd--;
  int v = inner->var0 + head.nd;
  int64_t D = inner->d[head.nd], D16 = D / SUM_LANES * SUM_LANES;
  const char *base = join(cg, cg_nest_index(cg, outer, 1), cg_nest_index(cg, &head, 0));
  const char *row = ptr_at(cg, xb, base);
  cg_line(cg, "double lane[%d] = {0};", SUM_LANES);
  if (head.nd > 0) cg_nest_open(cg, &head, true);
  cg_line(cg, "const %s *row = %s;", xt, row);
  cg_line(cg, "for (int64_t i%d = 0; i%d < %lld; i%d += %d)", v, v, (long long)D16, v, SUM_LANES);
  cg_line(cg, "  for (int l = 0; l < %d; l++)", SUM_LANES);
  cg_line(cg, "    lane[l] += row[i%d + l];", v);
  if (D16 < D) {
    cg_line(cg, "for (int64_t i%d = %lld; i%d < %lld; i%d++)", v, (long long)D16, v, (long long)D, v);
    cg_line(cg, "  acc += row[i%d];", v);
  }
  if (head.nd > 0) cg_nest_close(cg, &head, true);
  /* a fixed pairwise tree over the lanes */
  cg_line(cg, "for (int w = %d; w > 1; w /= 2)", SUM_LANES);
  cg_line(cg, "  for (int l = 0; l < w / 2; l++)");
  cg_line(cg, "    lane[l] += lane[l + w / 2];");
  cg_line(cg, "acc += lane[0];");
}

bool cg_reduce(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  const Shape *xs = &x->shape;
  int64_t mask = n->attr.i[0];
  const char *opn = ir_ops[n->op].name;
  if (mask < 0 || (xs->rank < 63 && (mask >> xs->rank) != 0))
    return cg_fail(cg, "%s: reduced dims out of range", opn);
  if (n->op == OP_ARGMAX || n->op == OP_ARGMIN || n->op == OP_MEDIAN_INDEX) {
    if (mask & (mask - 1)) return cg_fail(cg, "%s: more than one reduced dim", opn);
    return emit_arg(cg, id, xs, mask);
  }
  if (x->dtype == DT_BOOL && n->op != OP_SUM) return cg_fail(cg, "%s: bool operand", opn);
  /* The kept dims outside (the result walks them contiguously), the reduced ones inside. */
  Shape kept = {.rank = 0}, red = {.rank = 0};
  int64_t xst[TT_MAX_RANK], kst[TT_MAX_RANK], rst[TT_MAX_RANK];
  cg_strides(xs, xst);
  for (int i = 0; i < xs->rank; i++) {
    Shape *to = ((mask >> i) & 1) ? &red : &kept;
    if (sym_at(xs, i)) to->symm |= 1u << to->rank;
    (to == &red ? rst : kst)[to->rank] = xst[i];
    to->d[to->rank++] = xs->d[i];
  }
  int64_t R = prod(&red, 0, red.rank);
  if (prod(&n->shape, 0, n->shape.rank) != prod(&kept, 0, kept.rank))
    return cg_fail(cg, "%s: result shape does not match its operand", opn);
  if (R == 0 && (n->op == OP_MAX || n->op == OP_MIN) && prod(&kept, 0, kept.rank) > 0)
    return cg_fail(cg, "%s: reduction over an empty dimension", opn);
  CgNest outer, inner;
  cg_nest_init(&outer, &kept, 2, 0);
  cg_nest_broadcast(&outer, 0, &kept);
  for (int k = 0; k < kept.rank; k++) outer.st[1][k] = kst[k];
  cg_nest_merge(&outer);
  cg_nest_init(&inner, &red, 1, outer.nd);
  for (int k = 0; k < red.rank; k++) inner.st[0][k] = rst[k];
  cg_nest_merge(&inner);

  const char *T = cg_ctype(n->dtype);
  bool fl = dt_is_float(n->dtype);
  const char *xi = join(cg, cg_nest_index(cg, &outer, 1), cg_nest_index(cg, &inner, 0));
  const char *at = arena_printf(cg->arena, "%s[%s]", cg_buf(cg, n->in[0]), xi);
  cg_kernel_comment(cg, id, reduce_desc(cg, mask, xs->rank, n->attr.i[1]));
  /* Column sums (the kept dims trailing and contiguous: a bias gradient over the rows of a
   * batch): a row at a time into one accumulator per column, so x is read as it lies rather
   * than a column at a time with a stride of a whole row. Each output adds the same values
   * in the same order as the loop below, so the result is the same to the bit. */
  int lowk = xs->rank, highr = -1;
  for (int i = 0; i < xs->rank; i++) {
    if ((mask >> i) & 1) highr = i;
    else if (lowk == xs->rank) lowk = i;
  }
  if ((n->op == OP_SUM || n->op == OP_MEAN) && fl && dt_is_float(x->dtype) && highr < lowk && outer.nd == 1 &&
      !outer.sm[0] && outer.st[1][0] == 1 && outer.d[0] >= 8 && inner.nd >= 1 && R >= 2 &&
      outer.d[0] <= 4096) {
    int64_t K = outer.d[0];
    const char *X = cg_buf(cg, n->in[0]);
    cg_line(cg, "{");
    cg->indent++;
    cg_line(cg, "double acc[%lld]; /* one per column (on the stack: at most 32 KiB) */", (long long)K);
    cg_line(cg, "for (int64_t i0 = 0; i0 < %lld; i0++) acc[i0] = 0;", (long long)K);
    cg_nest_open(cg, &inner, false);
    cg_line(cg, "for (int64_t i0 = 0; i0 < %lld; i0++) acc[i0] += %s[%s];", (long long)K, X,
            join(cg, cg_nest_index(cg, &inner, 0), "i0"));
    cg_nest_close(cg, &inner, false);
    const char *r = "acc[i0]";
    if (n->op == OP_MEAN)
      r = arena_printf(cg->arena, red.symm ? "acc[i0] / (double)(%s)" : "acc[i0] / %s", cg_extent(cg, &red, 0, red.rank));
    cg_line(cg, "for (int64_t i0 = 0; i0 < %lld; i0++) %s[i0] = (%s)(%s);", (long long)K, cg_buf(cg, id), T, r);
    cg->indent--;
    cg_line(cg, "}");
    return true;
  }
  cg_nest_open(cg, &outer, true);
  const char *result = "acc";
  if (n->op == OP_SUM || n->op == OP_MEAN) {
    /* integers wrap around as PyTorch's sums do: unsigned, where C defines it */
    cg_line(cg, "%s acc = 0;", fl ? "double" : "uint64_t");
    int last = inner.nd - 1;
    if (fl && last >= 0 && !inner.sm[last] && inner.st[0][last] == 1 &&
        inner.d[last] >= 4 * SUM_LANES) {
      emit_lane_sum(cg, &outer, &inner, cg_buf(cg, n->in[0]), cg_ctype(x->dtype));
    } else {
      cg_nest_open(cg, &inner, false);
      cg_line(cg, fl ? "acc += %s;" : "acc += (uint64_t)%s;", at);
      cg_nest_close(cg, &inner, false);
    }
    if (!fl) result = arena_printf(cg->arena, "(%s)acc", T);
    if (n->op == OP_MEAN) {
      const char *cnt = cg_extent(cg, &red, 0, red.rank);
      result = arena_printf(cg->arena, red.symm ? "acc / (double)(%s)" : "acc / %s", cnt);
    }
    if (n->dtype == DT_F32)
      result = arena_printf(cg->arena, n->op == OP_MEAN ? "(float)(%s)" : "(float)%s", result);
  } else if (n->op == OP_PROD) {
    /* integers wrap around as PyTorch's products do: unsigned, where C defines it */
    cg_line(cg, "%s acc = 1;", fl ? "double" : "uint64_t");
    cg_nest_open(cg, &inner, false);
    cg_line(cg, fl ? "acc *= %s;" : "acc *= (uint64_t)%s;", at);
    cg_nest_close(cg, &inner, false);
    result = arena_printf(cg->arena, "(%s)acc", T);
  } else {
    bool is_max = n->op == OP_MAX;
    if (n->op != OP_MIN && !is_max) return cg_fail(cg, "%s: not a reduction", opn);
    cg_line(cg, "%s acc = %s;", T, extreme(n->dtype, is_max));
    /* v != v: a NaN wins and then stays, since nothing compares greater than it. */
    cg_nest_open(cg, &inner, true);
    cg_line(cg, "const %s v = %s;", T, at);
    if (fl)
      cg_line(cg, "if (v %s acc || v != v) acc = v;", is_max ? ">" : "<");
    else
      cg_line(cg, "if (v %s acc) acc = v;", is_max ? ">" : "<");
    cg_nest_close(cg, &inner, true);
  }
  cg_line(cg, "%s[%s] = %s;", cg_buf(cg, id), cg_nest_index(cg, &outer, 0), result);
  cg_nest_close(cg, &outer, true);
  return true;
}

/* ---- softmax ---------------------------------------------------------------------- */

bool cg_softmax(Cg *cg, int id) {
  if (!cg_check_inputs(cg, id, 1)) return false;
  const Node *n = cg_node(cg, id);
  const Node *x = cg_in(cg, id, 0);
  const char *opn = ir_ops[n->op].name;
  int rank = x->shape.rank;
  int64_t dim = n->attr.i[0];
  if (!dt_is_float(n->dtype) || n->dtype != x->dtype) return cg_fail(cg, "%s: not a float", opn);
  if (dim < 0 || dim >= (rank ? rank : 1)) return cg_fail(cg, "%s: dim out of range", opn);
  if (!shape_eq(&n->shape, &x->shape)) return cg_fail(cg, "%s: shape differs from input", opn);
  Shape v = rank ? x->shape : shape_make(1, (int64_t[]){1});
  /* One row per element of the other dims (a nest, symbolic dims to B); the row walks dim. */
  int64_t vst[TT_MAX_RANK];
  CgNest nest;
  cg_nest_except(&nest, &v, (int)dim, vst);
  int j = nest.nd;
  const char *idx = cg_index_add(cg, cg_nest_index(cg, &nest, 0), j, vst[dim]);
  const char *X = arena_printf(cg->arena, "%s[%s]", cg_buf(cg, n->in[0]), idx);
  const char *Y = arena_printf(cg->arena, "%s[%s]", cg_buf(cg, id), idx);
  const char *T = cg_ctype(n->dtype), *f = n->dtype == DT_F32 ? "f" : "";
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "dim=%lld", (long long)dim));
  if (prod(&v, 0, v.rank) == 0) {
    cg_line(cg, "/* empty: nothing to compute */");
    return true;
  }
  const char *loop = arena_printf(cg->arena, "for (int64_t i%d = 0; i%d < %s; i%d++)", j, j,
                                  cg_extent(cg, &v, (int)dim, (int)dim + 1), j);
  cg_nest_parallel(cg, &nest, v.d[dim]); /* rows are independent */
  cg_nest_open(cg, &nest, true);
  /* float rows of consecutive elements (softmax over the last dim): the maximum and the sum
     by the runtime's lane-parallel helpers (runtime/tt.h says why), the exponentials in a
     loop of their own, which vectorizes (tt_expf); log_softmax keeps them in its output
     until it overwrites them */
  bool rows = n->dtype == DT_F32 && vst[dim] == 1;
  const char *row = cg_nest_index(cg, &nest, 0), *ext = cg_extent(cg, &v, (int)dim, (int)dim + 1);
  if (rows) {
    cg_line(cg, "float rmax = tt_row_max_f32(%s, %s);", ptr_at(cg, cg_buf(cg, n->in[0]), row), ext);
  } else {
    cg_line(cg, "%s rmax = -INFINITY;", T);
    cg_line(cg, "%s", loop);
    cg_line(cg, "  if (%s > rmax) rmax = %s;", X, X);
  }
  cg_line(cg, "double rsum = 0;");
  if (n->dtype == DT_F32) {
    cg_line(cg, "%s", loop);
    cg_line(cg, "  %s = tt_expf(%s - rmax);", Y, X);
    if (rows) {
      cg_line(cg, "rsum = tt_row_sum_f32(%s, %s);", ptr_at(cg, cg_buf(cg, id), row), ext);
    } else {
      cg_line(cg, "%s", loop);
      cg_line(cg, "  rsum += %s;", Y);
    }
  }
  if (n->op == OP_SOFTMAX) {
    if (n->dtype != DT_F32) {
      cg_line(cg, "%s {", loop);
      cg_line(cg, "  %s = exp%s(%s - rmax);", Y, f, X);
      cg_line(cg, "  rsum += %s;", Y);
      cg_line(cg, "}");
    }
    /* times the reciprocal of the sum in the tensor's type, as ATen's softmax kernel does:
       a division rounds differently (a row summing to 0.99999988 in PyTorch printed as 1.) */
    cg_line(cg, "%s rinv = (%s)1 / (%s)rsum;", T, T, T);
    cg_line(cg, "%s", loop);
    cg_line(cg, "  %s = %s * rinv;", Y, Y);
  } else {
    if (n->dtype != DT_F32) {
      cg_line(cg, "%s", loop);
      cg_line(cg, "  rsum += exp%s(%s - rmax);", f, X);
    }
    cg_line(cg, "rsum = log(rsum);");
    cg_line(cg, "%s", loop);
    cg_line(cg, "  %s = (%s)(%s - rmax - rsum);", Y, T, X);
  }
  cg_nest_close(cg, &nest, true);
  return true;
}

/* ---- torch.Generator objects and torch.linalg ------------------------------------- */

/* g.manual_seed(s) of the program's generator number attr.i[0]. */
bool cg_gen_seed(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "generator %lld", (long long)n->attr.i[0]));
  cg_line(cg, "tt_generator_seed(%d, %lluULL);", (int)n->attr.i[0], (unsigned long long)n->attr.i[1]);
  return true;
}

/* The draws that follow come from generator attr.i[0] (0: the default one). */
bool cg_gen_use(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  cg_line(cg, "tt_generator_use(%d);", (int)n->attr.i[0]);
  return true;
}

/* One runtime call over the batch of contiguous matrices (runtime/linalg.c). */
bool cg_linalg(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  bool two = n->op == OP_LINALG_SOLVE || n->op == OP_LINALG_LSTSQ;
  if (!cg_check_inputs(cg, id, two ? 2 : 1)) return false;
  const Node *a = cg_in(cg, id, 0);
  if (!dt_is_float(n->dtype) || a->shape.rank < 2 || a->shape.symm)
    return cg_fail(cg, "%s: bad operands", ir_ops[n->op].name);
  const char *sfx = n->dtype == DT_F32 ? "f32" : "f64";
  int r = a->shape.rank;
  int64_t batch = prod(&a->shape, 0, r - 2), rows = a->shape.d[r - 2], cols = a->shape.d[r - 1];
  const char *out = cg_buf(cg, id), *A = cg_buf(cg, n->in[0]), *where = cg_where(cg, n->loc);
  cg_kernel_comment(cg, id, NULL);
  switch (n->op) {
  case OP_LINALG_INV:
    cg_line(cg, "tt_linalg_inv_%s(%s, %s, %lld, %lld, \"%s\");", sfx, out, A, (long long)batch,
            (long long)rows, where);
    break;
  case OP_LINALG_DET:
    cg_line(cg, "tt_linalg_det_%s(%s, %s, %lld, %lld);", sfx, out, A, (long long)batch, (long long)rows);
    break;
  case OP_LINALG_SOLVE:
    cg_line(cg, "tt_linalg_solve_%s(%s, %s, %s, %lld, %lld, %lld, \"%s\");", sfx, out, A,
            cg_buf(cg, n->in[1]), (long long)batch, (long long)rows,
            (long long)cg_in(cg, id, 1)->shape.d[r - 1], where);
    break;
  case OP_LINALG_LSTSQ:
    cg_line(cg, "tt_linalg_lstsq_%s(%s, %s, %s, %lld, %lld, %lld, \"%s\");", sfx, out, A,
            cg_buf(cg, n->in[1]), (long long)rows, (long long)cols,
            (long long)cg_in(cg, id, 1)->shape.d[r - 1], where);
    break;
  default: return cg_fail(cg, "%s: not a linalg op", ir_ops[n->op].name);
  }
  return true;
}
