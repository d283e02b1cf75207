/*
 * ew.c — loop nests, and the elementwise kernels built on them.
 *
 * Every copy-like or elementwise kernel is a loop nest over its output shape in which
 * each operand is addressed by its own strides (0 along a broadcast dim). Before emitting,
 * the nest drops extent-1 dims and fuses neighbouring dims that every operand walks
 * contiguously: [3,4] + [3,4] becomes one loop of 12, and [3,1] + [2] stays two loops with
 * a unit-stride inner one. Bounds are literals, so -O3 sees exact trip counts and
 * vectorizes the innermost loop; only a symbolic (batch) dim's bound is the variable B.
 *
 * An elementwise body comes from ops.def's expr template: $a $b $c are replaced by the
 * operand loads, $T by the result's C type and $f by the libm suffix ("f" for float).
 */
#include "codegen/codegen.h"

#include <string.h>

/* ---- loop nests ------------------------------------------------------------------- */

void cg_strides(const Shape *s, int64_t *st) {
  int64_t k = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    st[i] = k;
    k *= s->d[i];
  }
}

void cg_nest_init(CgNest *n, const Shape *s, int nops, int var0) {
  memset(n, 0, sizeof *n);
  n->nd = s->rank;
  n->nops = nops;
  n->var0 = var0;
  for (int k = 0; k < s->rank; k++) n->d[k] = s->d[k];
  for (int k = 0; k < s->rank; k++) n->sm[k] = sym_at(s, k);
}

const char *cg_nest_extent(Cg *cg, const CgNest *n, int k) {
  if (!n->sm[k]) return arena_printf(cg->arena, "%lld", (long long)n->d[k]);
  cg->used_B = true;
  return n->sm[k] == 1 ? "B" : arena_printf(cg->arena, "B * %lld", (long long)n->sm[k]);
}

const char *cg_extent(Cg *cg, const Shape *s, int lo, int hi) {
  int64_t p = 1;
  int nsym = 0;
  for (int i = lo; i < hi; i++) {
    if (sym_at(s, i))
      nsym++;
    else
      p *= s->d[i];
  }
  if (!nsym) return arena_printf(cg->arena, "%lld", (long long)p);
  cg->used_B = true;
  const char *r = p == 1 ? "B" : arena_printf(cg->arena, "B * %lld", (long long)p);
  while (--nsym > 0) r = arena_printf(cg->arena, "B * %s", r);
  return r;
}

void cg_nest_except(CgNest *n, const Shape *s, int dim, int64_t *st) {
  cg_strides(s, st);
  Shape kept = {.rank = 0};
  int64_t kst[TT_MAX_RANK];
  for (int i = 0; i < s->rank; i++) {
    if (i == dim) continue;
    if (sym_at(s, i)) kept.symm |= 1u << kept.rank;
    kst[kept.rank] = st[i];
    kept.d[kept.rank++] = s->d[i];
  }
  cg_nest_init(n, &kept, 1, 0);
  for (int k = 0; k < kept.rank; k++) n->st[0][k] = kst[k];
  cg_nest_merge(n);
}

void cg_nest_broadcast(CgNest *n, int op, const Shape *x) {
  int64_t st[TT_MAX_RANK];
  cg_strides(x, st);
  int off = n->nd - x->rank;
  for (int k = 0; k < n->nd; k++) {
    int xi = k - off;
    n->st[op][k] = (xi < 0 || (x->d[xi] == 1 && n->d[k] != 1)) ? 0 : st[xi];
  }
}

void cg_nest_merge(CgNest *n) {
  int nd = 0;
  for (int k = 0; k < n->nd; k++) {
    if (n->d[k] == 0) {
      /* Nothing to do at all: one empty loop says so. */
      n->nd = 1;
      n->d[0] = 0;
      n->sm[0] = 0;
      for (int o = 0; o < n->nops; o++) n->st[o][0] = 0;
      return;
    }
    /* Its index is always 0 (a symbolic dim of bound 1 has B == 1). */
    if (n->d[k] == 1) continue;
    n->d[nd] = n->d[k];
    n->sm[nd] = n->sm[k];
    for (int o = 0; o < n->nops; o++) n->st[o][nd] = n->st[o][k];
    nd++;
  }
  for (int k = nd; k < n->nd; k++) n->sm[k] = 0;
  n->nd = nd;
  /* Fuse k into k+1 when every operand steps over k exactly one full run of k+1, and k+1
   * runs to its bound (a symbolic k+1 stops short of it at run time). */
  for (int k = n->nd - 2; k >= 0; k--) {
    bool fuse = n->sm[k + 1] == 0;
    for (int o = 0; o < n->nops; o++)
      if (n->st[o][k] != n->st[o][k + 1] * n->d[k + 1]) fuse = false;
    if (!fuse) continue;
    n->d[k] *= n->d[k + 1];
    n->sm[k] *= n->d[k + 1];
    for (int o = 0; o < n->nops; o++) n->st[o][k] = n->st[o][k + 1];
    for (int j = k + 1; j < n->nd - 1; j++) {
      n->d[j] = n->d[j + 1];
      n->sm[j] = n->sm[j + 1];
      for (int o = 0; o < n->nops; o++) n->st[o][j] = n->st[o][j + 1];
    }
    n->nd--;
  }
}

void cg_nest_open(Cg *cg, const CgNest *n, bool brace) {
  for (int k = 0; k < n->nd; k++) {
    int v = n->var0 + k;
    cg_line(cg, "for (int64_t i%d = 0; i%d < %s; i%d++)%s", v, v, cg_nest_extent(cg, n, k), v,
            brace && k == n->nd - 1 ? " {" : "");
    cg->indent++;
  }
  if (n->nd == 0 && brace) {
    cg_line(cg, "{");
    cg->indent++;
  }
}

/*
 * Loops over at least this many elements run on every core (TT_PARALLEL_FOR, runtime/tt.h):
 * below it, waking the other thread costs a noticeable part of the loop (about 20 us of work
 * at 64K floats against a few us to start and join a parallel loop).
 */
#define CG_PARALLEL_MIN 65536

void cg_nest_parallel(Cg *cg, const CgNest *n, int64_t inner) {
  if (n->nd == 0 || n->d[0] < 2) return;
  int64_t elems = inner; /* at the bounds: a run-time extent is at most its bound */
  for (int k = 0; k < n->nd; k++) elems *= n->d[k];
  if (elems >= CG_PARALLEL_MIN) cg_line(cg, "TT_PARALLEL_FOR");
}

void cg_nest_close(Cg *cg, const CgNest *n, bool brace) {
  if (brace) {
    cg->indent--;
    cg_line(cg, "}");
    if (n->nd > 0) cg->indent -= n->nd - 1;
  } else {
    cg->indent -= n->nd;
  }
}

const char *cg_index_add(Cg *cg, const char *base, int var, int64_t stride) {
  if (stride == 0) return base;
  const char *term = stride == 1 ? arena_printf(cg->arena, "i%d", var)
                                 : arena_printf(cg->arena, "i%d * %lld", var, (long long)stride);
  if (!strcmp(base, "0")) return term;
  return arena_printf(cg->arena, "%s + %s", base, term);
}

const char *cg_nest_index(Cg *cg, const CgNest *n, int op) {
  const char *s = "0";
  for (int k = 0; k < n->nd; k++) s = cg_index_add(cg, s, n->var0 + k, n->st[op][k]);
  if (n->base[op]) {
    if (!strcmp(s, "0")) return arena_printf(cg->arena, "%lld", (long long)n->base[op]);
    return arena_printf(cg->arena, "%s + %lld", s, (long long)n->base[op]);
  }
  return s;
}

/* ---- elementwise ------------------------------------------------------------------ */

/* Whether s starts with the NaN test "$x != $x" (x an operand letter). */
static bool nan_test(const char *s) {
  return s[0] == '$' && s[1] >= 'a' && s[1] <= 'c' && !strncmp(s + 2, " != $", 5) && s[7] == s[1];
}

/*
 * The template with $a $b $c, $T, $f and $w (the source position, a C string) replaced;
 * arena-owned. For integer operands (integral: true) the NaN test "$x != $x" of templates
 * like maximum's is dropped, with the "||" after it: it is always false there, and clang
 * rejects it under -Wall.
 */
static const char *subst(Cg *cg, const char *tmpl, const char *const *opnd, int nopnd,
                         const char *ty, const char *fsuf, const char *where, bool integral) {
  size_t len = 1;
  for (int pass = 0; pass < 2; pass++) {
    char *out = pass ? arena_alloc(cg->arena, len) : NULL;
    size_t k = 0;
    for (const char *s = tmpl; *s;) {
      const char *rep = NULL;
      size_t adv = 2;
      if (integral && nan_test(s)) {
        bool with_or = !strncmp(s + 8, " || ", 4);
        rep = with_or ? "" : "0";
        adv = with_or ? 12 : 8;
      } else if (s[0] == '$' && s[1] >= 'a' && s[1] < 'a' + nopnd) {
        rep = opnd[s[1] - 'a'];
      } else if (s[0] == '$' && s[1] == 'T') {
        rep = ty;
      } else if (s[0] == '$' && s[1] == 'f') {
        rep = fsuf;
      } else if (s[0] == '$' && s[1] == 'w') {
        rep = where;
      }
      if (rep) {
        size_t m = strlen(rep);
        if (pass) memcpy(out + k, rep, m);
        k += m;
        s += adv;
      } else {
        if (pass) out[k] = *s;
        k++;
        s++;
      }
    }
    if (pass) {
      out[k] = '\0';
      return out;
    }
    len = k + 1;
  }
  return "";
}

/*
 * Integer +, -, * and negation of int64 and int32 tensors wrap around, as PyTorch's do; in
 * C a signed overflow is undefined behaviour, so they are computed in the unsigned type
 * and converted back (gcc and clang define that conversion as two's complement). Smaller
 * integers are promoted to int by C and cannot overflow it. NULL: the op's own template.
 */
static const char *wrapping(Cg *cg, Op op, DType t) {
  if (t != DT_I64 && t != DT_I32) return NULL;
  const char *u = t == DT_I64 ? "uint64_t" : "uint32_t";
  switch (op) {
  case OP_ADD:
  case OP_SUB:
  case OP_MUL:
    return arena_printf(cg->arena, "($T)((%s)$a %s (%s)$b)", u,
                        op == OP_ADD ? "+" : op == OP_SUB ? "-" : "*", u);
  case OP_NEG:
    return arena_printf(cg->arena, "($T)(0 - (%s)$a)", u);
  case OP_ABS:
    return arena_printf(cg->arena, "($a < 0 ? ($T)(0 - (%s)$a) : $a)", u);
  default:
    return NULL;
  }
}

/*
 * Float erf (the exact GELU, its gradient, torch.erf) calls the runtime's tt_erff instead of
 * libm's erff: gcc vectorizes no loop with a call to erff in it, and the GELU loops of a GPT
 * training step spent 6% of its time there (runtime/tt.h says how accurate tt_erff is).
 * Float exp (torch.exp, the GELU's gradient) calls tt_expf for the same reason. The op
 * table keeps the libm spellings, which float64 programs still use. NULL: the op's own
 * template.
 */
static const char *vector_math(Cg *cg, Op op, DType t) {
  static const char *const libm[] = {"erf$f(", "exp$f("}, *const ours[] = {"tt_erff(", "tt_expf("};
  const char *tmpl = ir_ops[op].expr;
  if (t != DT_F32 || !tmpl) return NULL;
  bool any = false;
  for (int k = 0; k < 2; k++) {
    const char *at = strstr(tmpl, libm[k]), *out = "";
    if (!at) continue;
    for (; at; at = strstr(tmpl, libm[k])) {
      out = arena_printf(cg->arena, "%s%.*s%s", out, (int)(at - tmpl), tmpl, ours[k]);
      tmpl = at + strlen(libm[k]);
    }
    tmpl = arena_printf(cg->arena, "%s%s", out, tmpl);
    any = true;
  }
  return any ? tmpl : NULL;
}

/* The arrays a fused loop reads: node id's inputs, with each fused input replaced by its
 * own inputs, in order (depth first). */
static void ew_leaves(Cg *cg, int id, int *leaves, int *nl) {
  const Node *n = cg_node(cg, id);
  for (int i = 0; i < n->nin; i++) {
    const Node *x = cg_in(cg, id, i);
    if (x->fused)
      ew_leaves(cg, n->in[i], leaves, nl);
    else if (*nl < CG_MAX_OPS - 1)
      leaves[(*nl)++] = n->in[i];
    else
      (*nl)++; /* counted, to fail below */
  }
}

/* Node id's value in the loop: its expression over the leaves' loads (next is the next leaf
 * to read) and the fused inputs' locals, whose statements go to body first. */
static const char *ew_value(Cg *cg, int id, const CgNest *nest, int *next, char **body, int *nlocal) {
  const Node *n = cg_node(cg, id);
  const OpInfo *oi = &ir_ops[n->op];
  const char *opnd[CG_MAX_OPS];
  for (int i = 0; i < n->nin && i < CG_MAX_OPS; i++) {
    const Node *x = cg_in(cg, id, i);
    const char *v;
    if (x->fused) {
      v = ew_value(cg, n->in[i], nest, next, body, nlocal);
    } else {
      /* A where's bool mask is read through unsigned char (C lets any object be): gcc 12
       * does not vectorize a select on a _Bool load and emits a branch per element, which a
       * relu mask mispredicts half the time; on bytes it is a vector blend. */
      bool bytes = n->op == OP_WHERE && i == 0 && x->dtype == DT_BOOL;
      int k = ++*next; /* nest operand k: leaf k-1 */
      v = arena_printf(cg->arena, bytes ? "((const unsigned char *)%s)[%s]" : "%s[%s]", cg_buf(cg, n->in[i]),
                       cg_nest_index(cg, nest, k));
    }
    /* Inputs of the result's type, except a cast's source and a where's condition; the
     * front end inserts casts, so this only guards against a surprising integer divide. */
    bool as_is = n->op == OP_CAST || (oi->flags & OPF_CMP) || (n->op == OP_WHERE && i == 0) ||
                 x->dtype == n->dtype;
    opnd[i] = as_is ? v : arena_printf(cg->arena, "((%s)%s)", cg_ctype(n->dtype), v);
  }
  DType opt = cg_in(cg, id, n->nin - 1)->dtype; /* the value operands' type */
  if (n->op == OP_FLOORDIV) cg_helper(cg, CG_H_FLOORDIV);
  if (n->op == OP_REMAINDER) cg_helper(cg, CG_H_REMAINDER);
  const char *where = strstr(oi->expr, "$w") ? arena_printf(cg->arena, "\"%s\"", cg_where(cg, n->loc)) : "";
  const char *tmpl = wrapping(cg, n->op, n->dtype);
  if (!tmpl) tmpl = vector_math(cg, n->op, n->dtype);
  const char *expr = subst(cg, tmpl ? tmpl : oi->expr, opnd, n->nin, cg_ctype(n->dtype),
                           n->dtype == DT_F32 ? "f" : "", where, !dt_is_float(opt));
  if (!n->fused) return expr;
  /* a fused value: one statement of its own, so it rounds as its own kernel did */
  const char *local = arena_printf(cg->arena, "f%d", (int)n->uid);
  *body = arena_printf(cg->arena, "%s%s%s %s = %s; /* %s */", *body, **body ? "\n" : "",
                       n->dtype == DT_BOOL ? "const _Bool" : arena_printf(cg->arena, "const %s", cg_ctype(n->dtype)),
                       local, expr, oi->name);
  ++*nlocal;
  return local;
}

bool cg_ew(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  const OpInfo *oi = &ir_ops[n->op];
  if (!oi->expr || oi->nin < 1 || oi->nin > CG_MAX_OPS - 1)
    return cg_fail(cg, "%s: no elementwise expression", oi->name);
  if (!cg_check_inputs(cg, id, oi->nin)) return false;
  if (n->fused) { /* computed in its user's loop */
    cg_kernel_comment(cg, id, arena_printf(cg->arena, "fused into the loop below"));
    return true;
  }
  int leaves[CG_MAX_OPS], nl = 0;
  ew_leaves(cg, id, leaves, &nl);
  if (nl > CG_MAX_OPS - 1) return cg_fail(cg, "%s: a fused loop reads %d arrays, more than %d", oi->name, nl, CG_MAX_OPS - 1);
  CgNest nest;
  cg_nest_init(&nest, &n->shape, nl + 1, 0);
  cg_nest_broadcast(&nest, 0, &n->shape);
  for (int i = 0; i < nl; i++) {
    const Shape *x = &cg->g->nodes[leaves[i]].shape;
    bool ok = x->rank <= n->shape.rank;
    for (int k = 0; ok && k < x->rank; k++) {
      int64_t want = n->shape.d[n->shape.rank - x->rank + k];
      if (x->d[k] != want && x->d[k] != 1) ok = false;
    }
    if (!ok) return cg_fail(cg, "%s: operand %d does not broadcast to the result", oi->name, i);
    cg_nest_broadcast(&nest, i + 1, x);
  }
  cg_nest_merge(&nest);
  int next = 0, nlocal = 0;
  char *body = "";
  const char *expr = ew_value(cg, id, &nest, &next, &body, &nlocal);
  const char *extra = n->op == OP_CAST ? arena_printf(cg->arena, "to %s", dt_name(n->dtype)) : NULL;
  if (nlocal) extra = arena_printf(cg->arena, "%s%swith %d fused op%s", extra ? extra : "", extra ? ", " : "",
                                   nlocal, nlocal > 1 ? "s" : "");
  cg_kernel_comment(cg, id, extra);
  /* a loop that can stop the program (an integer division by zero names its line in a
     string) stays on one thread, so that it stops once, at the first bad element */
  if (!strchr(expr, '"') && !strchr(body, '"')) cg_nest_parallel(cg, &nest, 1);
  cg_nest_open(cg, &nest, nlocal > 0);
  for (char *line = body; nlocal && *line;) {
    char *e = strchr(line, '\n');
    cg_line(cg, "%.*s", e ? (int)(e - line) : (int)strlen(line), line);
    line = e ? e + 1 : line + strlen(line);
  }
  cg_line(cg, "%s[%s] = %s;", cg_buf(cg, id), cg_nest_index(cg, &nest, 0), expr);
  cg_nest_close(cg, &nest, nlocal > 0);
  return true;
}
