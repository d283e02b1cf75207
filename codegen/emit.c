/*
 * emit.c — the translation unit: names, buffers, graph functions, main() and host code.
 *
 * Emission is two walks. The first names everything (graph functions, program vars,
 * file-scope constants, then each graph's buffers) in one deterministic order, so a name
 * depends only on the Program, never on pointers or hashes; a name that collides with a C
 * keyword, a libc or runtime name, or an identifier the kernels use for themselves gets a
 * suffix (int -> int_1). The second walk prints: header, vars, large constants, one
 * function per graph whose kernels come from the per-op emitters of ops.def's emit column,
 * and main(), which runs the host statements.
 */
#include "codegen/codegen.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- the emitter table ------------------------------------------------------------ */

typedef bool (*CgEmitFn)(Cg *cg, int id);

/* A new ops.def row without its emitter fails to compile here, which is the point. */
static const CgEmitFn emitters[OP__COUNT] = {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) [OP_##op] = emit,
#include "ir/ops.def"
#undef X
};

/* ---- output helpers --------------------------------------------------------------- */

void cg_line(Cg *cg, const char *fmt, ...) {
  for (int i = 0; i < cg->indent; i++) fputs("  ", cg->out);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(cg->out, fmt, ap);
  va_end(ap);
  fputc('\n', cg->out);
}

/*
 * The one way outside text (file names, paths, strings a program prints, format specs,
 * names shown in comments) reaches the emitted C. The result is inert in both places it
 * can go: inside a string literal it means exactly s, and inside a comment it can neither
 * end the comment nor continue it onto another line. So: no raw control byte or newline
 * (escape sequences; other bytes outside printable ASCII become 3-digit octal, so a
 * following digit is not swallowed), no "* /" or "/ *" pair (the slash or star as an octal
 * escape), no "??" (a trigraph under -std=c11), and in a string, quotes and backslashes
 * escaped. In a comment (comment: true) quotes and backslashes stay as they are, since
 * a backslash can only splice lines when a newline follows it, and none ever does.
 */
void cg_put_text(FILE *f, const char *s, bool comment) {
  unsigned char prev = 0;
  for (; *s; prev = (unsigned char)*s, s++) {
    unsigned char c = (unsigned char)*s, next = (unsigned char)s[1];
    if ((c == '\\' || c == '"') && !comment) {
      fputc('\\', f);
      fputc(c, f);
    } else if (c == '\n') {
      fputs("\\n", f);
    } else if (c == '\t') {
      fputs("\\t", f);
    } else if (c == '\r') {
      fputs("\\r", f);
    } else if (c == '?' && prev == '?') {
      fputs("\\?", f);
    } else if (c == '/' && (prev == '*' || next == '*')) {
      fputs("\\057", f); /* neither "* /" nor "/ *" ever forms */
    } else if (c < 0x20 || c >= 0x7f) {
      fprintf(f, "\\%03o", c);
    } else {
      fputc(c, f);
    }
  }
}

const char *cg_text(Cg *cg, const char *s, bool comment) {
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  if (!f) return "";
  cg_put_text(f, s ? s : "", comment);
  fclose(f);
  const char *r = arena_strdup(cg->arena, text ? text : "");
  free(text);
  return r;
}

const char *cg_fatal_call(Cg *cg, Loc loc, const char *msg, const char *args) {
  int line, col;
  ir_linecol(cg->p->src, loc.off, &line, &col);
  const char *where = cg_text(cg, arena_printf(cg->arena, "%s:%d", cg->srcname, line), false);
  return arena_printf(cg->arena, "tt_fatal(\"%%s: %s\", \"%s\"%s%s)", msg, where,
                      args && args[0] ? ", " : "", args ? args : "");
}

bool cg_fail(Cg *cg, const char *fmt, ...) {
  /* Keep the first error: later ones are usually its consequences. */
  if (cg->err && !cg->err->msg[0]) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cg->err->msg, sizeof cg->err->msg, fmt, ap);
    va_end(ap);
  }
  return false;
}

const Node *cg_node(const Cg *cg, int id) {
  return &cg->g->nodes[id];
}
const Node *cg_in(const Cg *cg, int id, int i) {
  return &cg->g->nodes[cg->g->nodes[id].in[i]];
}
const char *cg_buf(const Cg *cg, int id) {
  return cg->bufs[cg->gi][id];
}

/* Keep in sync with the DType enum (ir.h) and TtDType (runtime/tt.h). */
static const char *const ctypes[DT__COUNT] = {"float",   "double", "int64_t",
                                              "int32_t", "int8_t", "_Bool"};
static const char *const rt_dtypes[DT__COUNT] = {"TT_F32", "TT_F64", "TT_I64",
                                                 "TT_I32", "TT_I8",  "TT_BOOL"};

const char *cg_ctype(DType t) {
  return (unsigned)t < DT__COUNT ? ctypes[t] : "void";
}
const char *cg_rt_dtype(DType t) {
  return (unsigned)t < DT__COUNT ? rt_dtypes[t] : "TT_F32";
}

bool cg_check_inputs(Cg *cg, int id, int nin) {
  const Node *n = cg_node(cg, id);
  if (n->nin != nin || (nin > 0 && !n->in))
    return cg_fail(cg, "%s: node %%%d has %d inputs, expected %d", ir_ops[n->op].name, id, n->nin,
                   nin);
  return true;
}

/* ---- names ------------------------------------------------------------------------ */

struct CgNames {
  const CgNames *parent;
  const char **slot; /* open addressing; the hash only decides membership, never order */
  size_t cap, n;
};

static uint64_t hash_str(const char *s) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (; *s; s++) h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
  return h;
}

static bool names_has(const CgNames *ns, const char *s) {
  for (; ns; ns = ns->parent) {
    if (!ns->cap) continue;
    for (size_t i = hash_str(s) & (ns->cap - 1); ns->slot[i]; i = (i + 1) & (ns->cap - 1))
      if (!strcmp(ns->slot[i], s)) return true;
  }
  return false;
}

static void names_put(Arena *a, CgNames *ns, const char *s) {
  if (2 * (ns->n + 1) > ns->cap) {
    size_t cap = ns->cap ? 2 * ns->cap : 64;
    const char **slot = arena_alloc(a, cap * sizeof *slot);
    for (size_t k = 0; k < ns->cap; k++) {
      if (!ns->slot[k]) continue;
      size_t i = hash_str(ns->slot[k]) & (cap - 1);
      while (slot[i]) i = (i + 1) & (cap - 1);
      slot[i] = ns->slot[k];
    }
    ns->slot = slot;
    ns->cap = cap;
  }
  size_t i = hash_str(s) & (ns->cap - 1);
  while (ns->slot[i]) i = (i + 1) & (ns->cap - 1);
  ns->slot[i] = s;
  ns->n++;
}

/*
 * Identifiers the emitted code cannot give to a buffer: C keywords, what <math.h>,
 * <string.h>, <stdio.h> and tt.h declare or the code calls, and the names kernels use for
 * their own loop variables and temporaries (i0..i9 are matched separately).
 */
/* clang-format off */
static const char *const reserved[] = {
  /* C11 keywords */
  "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
  "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
  "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
  "union", "unsigned", "void", "volatile", "while", "bool", "true", "false", "asm", "typeof",
  /* libc names the emitted code or its headers use */
  "main", "argc", "argv", "memcpy", "memset", "fputs", "fputc", "printf", "fprintf", "putchar",
  "stdout", "stderr", "stdin", "NULL", "NAN", "INFINITY", "HUGE_VAL", "EOF", "errno", "size_t",
  "int8_t", "int32_t", "int64_t", "uint64_t", "FILE", "abs", "labs", "exit", "assert",
  /* <math.h> (each also with an f and an l suffix) */
  "acos", "asin", "atan", "atan2", "cos", "sin", "tan", "acosh", "asinh", "atanh", "cosh",
  "sinh", "tanh", "exp", "exp2", "expm1", "log", "log10", "log1p", "log2", "logb", "pow", "sqrt",
  "cbrt", "hypot", "erf", "erfc", "tgamma", "lgamma", "ceil", "floor", "round", "trunc", "fabs",
  "fmod", "fmax", "fmin", "fma", "remainder", "remquo", "nan", "frexp", "ldexp", "modf",
  "scalbn", "scalbln", "ilogb", "nearbyint", "rint", "lrint", "llrint", "lround", "llround",
  "copysign", "nextafter", "nexttoward", "fdim", "isnan", "isinf", "isfinite", "signbit",
  "fpclassify", "isnormal", "j0", "j1", "jn", "y0", "y1", "yn", "gamma", "drem", "finite",
  "significand",
  /* kernel loop variables and temporaries */
  "i", "j", "k", "acc", "best", "besti", "rmax", "rsum", "v",
  /* the run-time batch size, and train.c's optimizer temporaries */
  "B", "neg_lr", "neg_step", "bc1", "bc2_sqrt", "bc2s", "wd_decay", "p_i", "g_i", "m_i", "v_i",
  "d_i", "b_i",
};
/* clang-format on */

static bool is_reserved(const char *s) {
  /* tt_ / TT_ belong to the runtime, ttc_ to the checked operations of checks.c; i<digits>
   * are loop variables, i<digits>_end the stops of host loops. */
  if (!strncmp(s, "tt_", 3) || !strncmp(s, "TT_", 3) || !strncmp(s, "ttc_", 4)) return true;
  if (s[0] == 'i' && s[1]) {
    const char *q = s + 1;
    while (*q >= '0' && *q <= '9') q++;
    if (!*q || (q > s + 1 && !strcmp(q, "_end"))) return true;
  }
  size_t n = strlen(s);
  for (size_t k = 0; k < sizeof reserved / sizeof *reserved; k++) {
    size_t m = strlen(reserved[k]);
    if (!strncmp(s, reserved[k], m) && (n == m || (n == m + 1 && (s[m] == 'f' || s[m] == 'l'))))
      return true;
  }
  return false;
}

/* A C identifier from a source name: "fc1.weight" -> "fc1_weight"; a leading digit or
 * underscore gets a "v" so the name is never a reserved identifier (_X, __x). */
static char *sanitize(Arena *a, const char *s) {
  size_t n = strlen(s);
  if (n > 64) n = 64; /* long enough to read, short enough for every compiler */
  char *r = arena_alloc(a, n + 2);
  size_t k = 0;
  if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) r[k++] = 'v';
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    r[k++] = ok ? c : '_';
  }
  r[k] = '\0';
  return r;
}

/* base, or base_1, base_2, ... : the first that is neither taken nor reserved. */
static const char *uniquify(Cg *cg, CgNames *ns, const char *base);
const char *cg_unique_name(Cg *cg, const char *base) { return uniquify(cg, cg->files, base); }

static const char *uniquify(Cg *cg, CgNames *ns, const char *base) {
  /* No suffix frees a name from the runtime's prefix; a leading letter does. */
  if (!strncmp(base, "tt_", 3) || !strncmp(base, "TT_", 3) || !strncmp(base, "ttc_", 4))
    base = arena_printf(cg->arena, "v%s", base);
  const char *s = base;
  for (int k = 1; is_reserved(s) || names_has(ns, s); k++)
    s = arena_printf(cg->arena, "%s_%d", base, k);
  names_put(cg->arena, ns, s);
  return s;
}

/* Constants larger than this go to file scope, out of the function a reader scans. */
#define CG_SMALL_CONST 64

/*
 * A graph of more nodes than this is emitted as parts: functions of about CG_PART_BYTES of
 * C each, called in order by the graph's function, sharing its buffers at file scope. The
 * C compiler's optimizer has passes that grow faster than linearly with a function's size
 * (gcc's PRE and load CSE): a transformer's training step as one 9,000-line function took
 * gcc -O3 24 s, in 11 parts 7.5 s. The parts are noinline, or gcc would rebuild the one
 * function. (A transformer's identical blocks deserve one function called per block with
 * its own weights; until then this bounds the compile time.)
 */
#define CG_SPLIT_NODES 400
#define CG_PART_BYTES 24000

static int64_t numel_of(const Shape *s) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) n *= s->d[i];
  return n;
}

/* Whether node id of g has storage of its own (a declared array), as opposed to a view of
 * a var or of another node, or no value at all (before plan_storage's choices). */
static bool owns_storage(const Node *n) {
  return n->op != OP_INPUT && !(ir_ops[n->op].flags & (OPF_SINK | OPF_VIEW));
}

CgLives cg_lives(const Cg *cg, int gi, int id) {
  return (CgLives)cg->lives[gi][id];
}

/*
 * The storage plan of graph g: where each node's value lives. One choice beyond the
 * obvious is the IR's (ir_store_into): a value whose only use is "store it into v" is
 * computed straight into v's array, and the STORE copies nothing. into[id] is that var,
 * or -1.
 */
static void plan_storage(const Graph *g, const Program *p, bool split, unsigned char *lives,
                         int *into) {
  ir_store_into(p, g, into);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if (n->op == OP_INPUT) lives[id] = CG_VAR;
    else if (ir_ops[n->op].flags & OPF_VIEW) lives[id] = CG_VIEW;
    else if ((ir_ops[n->op].flags & OPF_SINK) || n->fused) lives[id] = CG_NONE; /* fused: in its user's loop */
    else if (n->op == OP_CONST && (split || numel_of(&n->shape) > CG_SMALL_CONST)) lives[id] = CG_FILESCOPE;
    else if (into[id] >= 0) lives[id] = CG_VAR;
    else lives[id] = CG_OWN;
  }
}

static void name_everything(Cg *cg) {
  const Program *p = cg->p;
  CgNames *file = arena_alloc(cg->arena, sizeof *file);
  cg->files = file;
  cg->gname = arena_alloc(cg->arena, (size_t)(p->ngraphs + 1) * sizeof *cg->gname);
  cg->vname = arena_alloc(cg->arena, (size_t)(p->nvars + 1) * sizeof *cg->vname);
  cg->bufs = arena_alloc(cg->arena, (size_t)(p->ngraphs + 1) * sizeof *cg->bufs);
  cg->lives = arena_alloc(cg->arena, (size_t)(p->ngraphs + 1) * sizeof *cg->lives);
  int **into = arena_alloc(cg->arena, (size_t)(p->ngraphs + 1) * sizeof *into);
  cg->split = arena_alloc(cg->arena, (size_t)(p->ngraphs + 1) * sizeof *cg->split);
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    const char *base = g->name && g->name[0] ? sanitize(cg->arena, g->name)
                                             : arena_printf(cg->arena, "graph%d", gi);
    cg->gname[gi] = uniquify(cg, file, base);
  }
  for (int v = 0; v < p->nvars; v++) {
    const char *nm = p->vars[v].name;
    const char *base = nm && nm[0] ? sanitize(cg->arena, nm) : arena_printf(cg->arena, "var%d", v);
    cg->vname[v] = uniquify(cg, file, base);
  }
  cg->hname = arena_alloc(cg->arena, (size_t)(p->nhvars + 1) * sizeof *cg->hname);
  for (int h = 0; h < p->nhvars; h++) {
    const char *nm = p->hvars[h].name;
    const char *base = nm && nm[0] ? sanitize(cg->arena, nm) : arena_printf(cg->arena, "h%d", h);
    cg->hname[h] = uniquify(cg, file, base);
  }
  cg->lname = arena_alloc(cg->arena, (size_t)(p->nloaders + 1) * sizeof *cg->lname);
  cg->lbatch = arena_alloc(cg->arena, (size_t)(p->nloaders + 1) * sizeof *cg->lbatch);
  for (int l = 0; l < p->nloaders; l++) {
    const char *nm = p->loaders[l].name;
    const char *base =
        nm && nm[0] ? sanitize(cg->arena, nm) : arena_printf(cg->arena, "loader%d", l);
    cg->lname[l] = uniquify(cg, file, base);
    cg->lbatch[l] = uniquify(cg, file, arena_printf(cg->arena, "%s_batch", cg->lname[l]));
  }
  for (int t = 0; t < DT__COUNT; t++)
    cg->arena_name[t] = p->arena_elems[t] > 0 ? uniquify(cg, file, arena_printf(cg->arena, "arena_%s", dt_name((DType)t))) : NULL;
  cg->sname = arena_alloc(cg->arena, (size_t)(p->nstrtabs + 1) * sizeof *cg->sname);
  cg->skeys = arena_alloc(cg->arena, (size_t)(p->nstrtabs + 1) * sizeof *cg->skeys);
  cg->slen = arena_alloc(cg->arena, (size_t)(p->nstrtabs + 1) * sizeof *cg->slen);
  for (int t = 0; t < p->nstrtabs; t++) {
    cg->sname[t] = uniquify(cg, file, arena_printf(cg->arena, "strs%d", t));
    cg->skeys[t] = uniquify(cg, file, arena_printf(cg->arena, "%s_keys", cg->sname[t]));
    cg->slen[t] = uniquify(cg, file, arena_printf(cg->arena, "%s_len", cg->sname[t]));
  }
  /* Node names: the source name or t<uid> (stable across passes, see Node.uid). Large constants live at file scope, prefixed with
   * their graph's name; the rest are unique within their function and never shadow a
   * file-scope name, so a kernel can always reach a var. */
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    cg->bufs[gi] = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof **cg->bufs);
    cg->lives[gi] = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof **cg->lives);
    into[gi] = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof **into);
    cg->split[gi] = g->n > CG_SPLIT_NODES;
    plan_storage(g, p, cg->split[gi], cg->lives[gi], into[gi]);
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      if (cg->lives[gi][id] != CG_FILESCOPE) continue;
      const char *local = n->name && n->name[0] ? sanitize(cg->arena, n->name)
                                                : arena_printf(cg->arena, "t%d", (int)n->uid);
      cg->bufs[gi][id] = uniquify(cg, file, arena_printf(cg->arena, "%s_%s", cg->gname[gi], local));
    }
  }
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    CgNames *local = arena_alloc(cg->arena, sizeof *local);
    local->parent = file;
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      CgLives lv = cg_lives(cg, gi, id);
      if (n->op == OP_INPUT) {
        cg->bufs[gi][id] = cg->vname[n->attr.var];
      } else if (lv == CG_VAR) { /* computed into the var its STORE names */
        cg->bufs[gi][id] = cg->vname[into[gi][id]];
      } else if (lv == CG_VIEW) {
        cg->bufs[gi][id] = cg->bufs[gi][n->in[0]];
      } else if (lv == CG_OWN) {
        const char *base = n->name && n->name[0] ? sanitize(cg->arena, n->name)
                                                 : arena_printf(cg->arena, "t%d", (int)n->uid);
        cg->bufs[gi][id] = uniquify(cg, cg->split[gi] ? file : local, base);
      }
    }
  }
}

/* ---- checks ----------------------------------------------------------------------- */

/* Tensors beyond this many elements are refused rather than declared as static arrays. */
#define CG_MAX_NUMEL (INT64_C(1) << 40)

static bool check_shape(Cg *cg, const Shape *s, const char *what) {
  int64_t n = 1;
  for (int i = 0; i < s->rank; i++) {
    if (s->d[i] > 0 && n > CG_MAX_NUMEL / s->d[i])
      return cg_fail(cg, "%s: tensor too large for a static buffer", what);
    n *= s->d[i];
  }
  return true;
}

/*
 * Every buffer is a static array, and with the default (small) code model a program's
 * static data must lie within 2 GiB of its code: past that the link fails with relocation
 * errors. So the sum is checked here, and a program that needs more is an error naming its
 * largest buffer's line, not a linker failure. (The runtime's own statics need a little.)
 */
#define CG_MAX_STATIC_BYTES ((INT64_C(1) << 31) - (INT64_C(1) << 27))

static bool check_static_size(Cg *cg) {
  const Program *p = cg->p;
  int64_t total = 0, big = -1;
  Loc bigloc = {0};
  const char *bigwhat = "";
  for (int v = 0; v < p->nvars; v++) {
    if (p->vars[v].removed) continue;
    int64_t b = numel_of(&p->vars[v].shape) * (int64_t)dt_size(p->vars[v].dtype);
    total += b;
    if (b > big) big = b, bigwhat = "a program variable", bigloc.off = -1;
  }
  for (int t = 0; t < DT__COUNT; t++) /* memplan: the intermediates of every graph share them */
    total += p->arena_elems[t] * (int64_t)dt_size((DType)t);
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      if (!owns_storage(n)) continue;
      int64_t b = numel_of(&n->shape) * (int64_t)dt_size(n->dtype);
      if (g->mem_off && g->mem_off[id] >= 0) {
        if (b > big) big = b, bigwhat = ir_ops[n->op].name, bigloc = n->loc;
        continue; /* counted in the arena */
      }
      total += b;
      if (b > big) big = b, bigwhat = ir_ops[n->op].name, bigloc = n->loc;
    }
  }
  if (total <= CG_MAX_STATIC_BYTES) return true;
  int line = 0, col = 0;
  if (bigloc.off >= 0) ir_linecol(p->src, bigloc.off, &line, &col);
  const char *at = line ? arena_printf(cg->arena, "the %s at line %d", bigwhat, line) : bigwhat;
  return cg_fail(cg,
                 "the program's tensors need %.2f GiB of static storage, more than a C program's "
                 "static data can hold (about 2 GiB); the largest (%.2f GiB) is %s",
                 (double)total / (1 << 30), (double)big / (1 << 30), at);
}

/* What the verifier does not check: C's limits on static storage. The structure the
 * per-op emitters rely on is the verifier's (ir/verify.c), run first by cg_emit_program. */
static bool check_program(Cg *cg) {
  const Program *p = cg->p;
  for (int v = 0; v < p->nvars; v++)
    if (!check_shape(cg, &p->vars[v].shape, "var")) return false;
  for (int gi = 0; gi < p->ngraphs; gi++)
    for (int id = 0; id < p->graphs[gi]->n; id++) {
      const Node *n = &p->graphs[gi]->nodes[id];
      if (!check_shape(cg, &n->shape, ir_ops[n->op].name)) return false;
    }
  return check_static_size(cg);
}

/* ---- the static memory report ------------------------------------------------------ */

static void line_range(const Cg *cg, const Graph *g, int a, int b, int *lo, int *hi);

/* What the program's tensors take in static storage, by kind, in bytes: exactly the
 * arrays the C declares (variables by their kind, the memplan arena, buffers of graphs
 * without a plan, constants, the im2col workspace). */
typedef struct MemReport {
  int64_t var[4];    /* by VarKind: values, parameters, gradients, optimizer state */
  int64_t arena;     /* memplan's arena */
  int64_t own;       /* intermediates declared as arrays of their own (graphs not planned) */
  int64_t separate;  /* all intermediates as arrays of their own: what the arena replaces */
  int64_t consts, workspace, total;
} MemReport;

static MemReport mem_count(const Cg *cg) {
  const Program *p = cg->p;
  MemReport m = {{0}, 0, 0, 0, 0, 0, 0};
  for (int v = 0; v < p->nvars; v++) {
    int64_t ne = numel_of(&p->vars[v].shape);
    if (p->vars[v].removed) continue; /* declared nowhere (passes/quantize.c) */
    if ((unsigned)p->vars[v].kind < 4) m.var[p->vars[v].kind] += (ne > 0 ? ne : 1) * (int64_t)dt_size(p->vars[v].dtype);
  }
  for (int t = 0; t < DT__COUNT; t++)
    if (cg->arena_name[t]) m.arena += p->arena_elems[t] * (int64_t)dt_size((DType)t);
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      CgLives lv = cg_lives(cg, gi, id);
      int64_t ne = numel_of(&n->shape), b = (ne > 0 ? ne : 1) * (int64_t)dt_size(n->dtype);
      if (n->op == OP_CONST && (lv == CG_OWN || lv == CG_FILESCOPE)) {
        m.consts += ne * (int64_t)dt_size(n->dtype);
      } else if (lv == CG_OWN) {
        m.separate += b;
        if (!(g->mem_off && g->mem_off[id] >= 0 && cg->arena_name[n->dtype])) m.own += b;
      }
    }
  }
  m.workspace = cg_conv_workspace_floats(cg) * (int64_t)sizeof(float);
  m.total = m.var[0] + m.var[1] + m.var[2] + m.var[3] + m.arena + m.own + m.consts + m.workspace;
  return m;
}

static void mem_line(FILE *f, const char *pre, const char *what, int64_t b, const char *note) {
  fprintf(f, "%s%-17s %12lld  %9.2f MiB%s%s\n", pre, what, (long long)b, (double)b / (1 << 20),
          note ? "  " : "", note ? note : "");
}

/* The report, each line after pre (" * " inside the C's comment, "" on a terminal). */
static void mem_print(const Cg *cg, FILE *f, const char *pre) {
  MemReport m = mem_count(cg);
  fprintf(f, "%sstatic memory of %s, in bytes:\n", pre, cg->file);
  mem_line(f, pre, "parameters", m.var[VAR_PARAM], NULL);
  mem_line(f, pre, "gradients", m.var[VAR_GRAD], NULL);
  mem_line(f, pre, "optimizer state", m.var[VAR_STATE], "(and running statistics)");
  mem_line(f, pre, "values", m.var[VAR_VALUE], "(batches and tensors kept between statements)");
  if (cg->p->ngraphs && cg->p->graphs[0]->mem_off) {
    char note[96];
    snprintf(note, sizeof note, "(memplan's arena; %.2f MiB as separate arrays)", (double)m.separate / (1 << 20));
    mem_line(f, pre, "intermediates", m.arena + m.own, note);
  } else {
    mem_line(f, pre, "intermediates", m.own, "(each its own array: memplan did not run)");
  }
  mem_line(f, pre, "constants", m.consts, NULL);
  if (m.workspace) mem_line(f, pre, "conv workspace", m.workspace, "(im2col columns)");
  mem_line(f, pre, "total", m.total, NULL);
  /* each graph's intermediates: as separate arrays, and the arena bytes they reach */
  bool head = false;
  for (int gi = 0; gi < cg->p->ngraphs; gi++) {
    const Graph *g = cg->p->graphs[gi];
    int64_t sep = 0, peak = 0, top[DT__COUNT] = {0};
    for (int id = 0; id < g->n; id++) {
      const Node *n = &g->nodes[id];
      if (cg_lives(cg, gi, id) != CG_OWN || n->op == OP_CONST) continue;
      int64_t ne = numel_of(&n->shape), b = (ne > 0 ? ne : 1) * (int64_t)dt_size(n->dtype);
      sep += b;
      if (g->mem_off && g->mem_off[id] >= 0 && g->mem_off[id] + ne > top[n->dtype]) top[n->dtype] = g->mem_off[id] + ne;
    }
    for (int t = 0; t < DT__COUNT; t++) peak += top[t] * (int64_t)dt_size((DType)t);
    if (sep < (256 << 10) || !g->mem_off) continue; /* the big ones only */
    if (!head) fprintf(f, "%sgraphs with 256 KiB or more of intermediates (arrays -> arena):\n", pre);
    head = true;
    int lo, hi;
    line_range(cg, g, 0, g->n, &lo, &hi);
    fprintf(f, "%s  %-24s lines %d-%d: %9.2f MiB -> %.2f MiB\n", pre, cg->gname[gi], lo, hi,
            (double)sep / (1 << 20), (double)peak / (1 << 20));
  }
}

static char **dup_names(const char **names, int n) {
  char **v = xmalloc((size_t)(n + 1) * sizeof *v);
  for (int i = 0; i < n; i++) {
    size_t len = strlen(names[i]) + 1;
    v[i] = memcpy(xmalloc(len), names[i], len);
  }
  v[n] = NULL;
  return v;
}

/* CgOptions.info: the report's numbers and the names, for ttc profile. */
static void fill_info(const Cg *cg, CgInfo *info) {
  MemReport m = mem_count(cg);
  const Program *p = cg->p;
  *info = (CgInfo){.params = m.var[VAR_PARAM], .grads = m.var[VAR_GRAD], .state = m.var[VAR_STATE],
                   .values = m.var[VAR_VALUE], .intermediates = m.arena + m.own,
                   .consts = m.consts, .workspace = m.workspace, .total = m.total,
                   .nvars = p->nvars, .ngraphs = p->ngraphs, .nloaders = p->nloaders};
  info->vname = dup_names(cg->vname, p->nvars);
  info->gname = dup_names(cg->gname, p->ngraphs);
  info->lbatch = dup_names(cg->lbatch, p->nloaders);
}

void cg_info_free(CgInfo *info) {
  char **lists[] = {info->vname, info->gname, info->lbatch};
  for (int k = 0; k < 3; k++) {
    for (char **s = lists[k]; s && *s; s++) free(*s);
    free(lists[k]);
  }
  *info = (CgInfo){0};
}

static const char *basename_of(const char *path) {
  if (!path || !path[0]) return "<input>";
  const char *b = strrchr(path, '/');
  return b && b[1] ? b + 1 : path;
}

/* The symbol a reader expects between a binary op's operand shapes (ops.def's infix
 * column), else ",". */
static const char *infix(Op op) {
  return ir_ops[op].infix ? ir_ops[op].infix : ",";
}

/* A bounded string builder for one comment line. */
typedef struct Text {
  char b[512];
  size_t n;
} Text;

static void text_add(Text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_add(Text *t, const char *fmt, ...) {
  if (t->n >= sizeof t->b - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(t->b + t->n, sizeof t->b - t->n, fmt, ap);
  va_end(ap);
  if (k > 0) t->n += (size_t)k < sizeof t->b - t->n ? (size_t)k : sizeof t->b - 1 - t->n;
}

void cg_kernel_comment(Cg *cg, int id, const char *extra) {
  const Node *n = cg_node(cg, id);
  int line, col;
  ir_linecol(cg->p->src, n->loc.off, &line, &col);
  Text t = {.n = 0};
  char sh[96];
  text_add(&t, "%s:%d:%d  ", cg->file, line, col);
  /* a node with a value names its buffer and shape; a sink or an optimizer step (which
   * rewrites the variables it lists) has none */
  bool value = n->op != OP_STORE && cg_buf(cg, id) != NULL;
  if (value) text_add(&t, "%s = ", cg_buf(cg, id));
  text_add(&t, "%s", ir_ops[n->op].name);
  for (int i = 0; i < n->nin; i++) {
    const char *sym = infix(n->op);
    shape_str(&cg_in(cg, id, i)->shape, sh, sizeof sh);
    if (!i)
      text_add(&t, " %s", sh);
    else if (!strcmp(sym, ","))
      text_add(&t, ", %s", sh);
    else
      text_add(&t, " %s %s", sym, sh);
  }
  if (extra && extra[0]) text_add(&t, " %s", extra);
  if (value) text_add(&t, " -> %s", shape_str(&n->shape, sh, sizeof sh));
  Cost c = ir_cost(cg->g, n);
  /* Constants and views cost nothing at run time; copies move bytes but do no math. */
  if (n->fused) /* its memory traffic is the loop's, on the line of the op that runs it */
    text_add(&t, "   %.0f FLOPs", c.flops);
  else if (c.flops > 0 || c.bytes > 0)
    text_add(&t, "   %.0f FLOPs, %.0f B", c.flops, c.bytes);
  if (c.flops > 0 && c.bytes > 0) text_add(&t, ", %.2f FLOP/B", c.flops / c.bytes);
  cg_line(cg, "/* %s */", t.b);
}

/* ---- graph functions -------------------------------------------------------------- */

static void buffer_decls(Cg *cg) {
  const Graph *g = cg->g;
  char sh[96];
  bool any = false;
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if (cg_lives(cg, cg->gi, id) != CG_OWN || n->op == OP_CONST) continue;
    int64_t ne = numel_of(&n->shape);
    if (g->mem_off && g->mem_off[id] >= 0 && cg->arena_name[n->dtype]) {
      /* memplan: a place in the arena, shared with buffers not alive at the same time */
      cg_line(cg, "%s%s *const %s = %s + %lld; /* %s, elements %lld..%lld */", cg->split[cg->gi] ? "static " : "",
              cg_ctype(n->dtype), cg_buf(cg, id), cg->arena_name[n->dtype], (long long)g->mem_off[id],
              shape_str(&n->shape, sh, sizeof sh), (long long)g->mem_off[id],
              (long long)(g->mem_off[id] + (ne > 0 ? ne : 1)));
    } else {
      cg_line(cg, "static TT_ALIGN %s %s[%lld]; /* %s */", cg_ctype(n->dtype), cg_buf(cg, id),
              (long long)(ne > 0 ? ne : 1), shape_str(&n->shape, sh, sizeof sh));
    }
    any = true;
  }
  if (any) fputc('\n', cg->out);
}

/*
 * The NaN detective (--detect-anomaly): after a kernel that computes a float value, stop
 * the program at the first NaN or infinity with the op and its source position. Views and
 * sinks compute nothing; an input, a constant or a fill is a value the user wrote (a -inf
 * attention mask is deliberate), not one a kernel computed. A symbolic dim not leading
 * leaves padding between valid runs, so those are checked one run at a time.
 */
static void check_finite(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  CgLives lv = cg_lives(cg, cg->gi, id);
  if ((lv != CG_OWN && lv != CG_VAR) || n->op == OP_INPUT || !dt_is_float(n->dtype) ||
      n->op == OP_CONST || n->op == OP_FILL ||
      numel_of(&n->shape) == 0)
    return;
  const Shape *s = &n->shape;
  const char *fn = n->dtype == DT_F32 ? "tt_check_finite_f32" : "tt_check_finite_f64";
  const char *opn = ir_ops[n->op].name, *bw = n->backward ? "true" : "false";
  const char *where = cg_where(cg, n->loc);
  int sd = sym_first(s);
  if (sym_count(s) > 1) { /* several run-time dims: each valid element, by its index */
    cg_line(cg, "/* checked where its values are read */");
    return;
  }
  if (sd <= 0) {
    cg_line(cg, "%s(%s, %s, \"%s\", %s, \"%s\");", fn, cg_buf(cg, id), cg_extent(cg, s, 0, s->rank),
            opn, bw, where);
    return;
  }
  int64_t outer = 1, run = 1;
  for (int i = 0; i < sd; i++) outer *= s->d[i];
  for (int i = sd; i < s->rank; i++) run *= s->d[i];
  cg_line(cg, "for (int64_t i = 0; i < %lld; i++)", (long long)outer);
  cg_line(cg, "  %s(%s + i * %lld, %s, \"%s\", %s, \"%s\");", fn, cg_buf(cg, id), (long long)run,
          cg_extent(cg, s, sd, s->rank), opn, bw, where);
}

/*
 * --profile (docs/ROOFLINE.md): a kernel that costs something, is not computed inside
 * another's loop and emits code (a store the storage plan made free emits only its
 * comment) gets a site in the program's table tt_prof_sites (its op, buffer, .tt line, and
 * ir_cost's FLOPs per call, with those of the ops fused into its loop, and its bytes, the
 * loop's) and a timer around its code.
 */
static double fused_flops(const Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  double f = ir_cost(cg->g, n).flops;
  for (int i = 0; i < n->nin; i++)
    if (cg_in(cg, id, i)->fused) f += fused_flops(cg, n->in[i]);
  return f;
}

static bool prof_candidate(const Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  Cost c = ir_cost(cg->g, n);
  return cg->prof && !n->fused && (c.flops > 0 || c.bytes > 0);
}

/* Whether emitted C text has a line that is not a comment. */
static bool has_code(const char *s) {
  while (*s) {
    while (*s == ' ') s++;
    if (*s && *s != '\n' && strncmp(s, "/*", 2)) return true;
    s = strchr(s, '\n');
    if (!s) break;
    s++;
  }
  return false;
}

static int prof_site(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  Cost c = ir_cost(cg->g, n);
  int line, col;
  ir_linecol(cg->p->src, n->loc.off, &line, &col);
  const char *name = n->op != OP_STORE && cg_buf(cg, id) ? cg_buf(cg, id) : "";
  fprintf(cg->prof, "  {\"%s\", \"", ir_ops[n->op].name);
  cg_put_text(cg->prof, name, false);
  fprintf(cg->prof, "\", %d, %.17g, %.17g, 0, 0},\n", line, fused_flops(cg, id), c.bytes);
  return cg->nprof++;
}

/* The kernel of node id of the current graph, with its checks. */
static bool emit_node(Cg *cg, int id) {
  const Node *n = &cg->g->nodes[id];
  FILE *out = cg->out;
  char *text = NULL; /* --profile: the kernel's C, to see whether it has any */
  size_t tlen = 0;
  if (prof_candidate(cg, id) && !(cg->out = open_memstream(&text, &tlen))) {
    cg->out = out;
    return cg_fail(cg, "codegen: out of memory");
  }
  bool ok = emitters[n->op](cg, id);
  if (cg->out != out) {
    if (fclose(cg->out) != 0) ok = cg_fail(cg, "codegen: out of memory");
    cg->out = out;
    bool timed = ok && has_code(text);
    if (timed) cg_line(cg, "tt_prof_begin(tt_prof_sites, TT_PROF_N);");
    if (ok) fwrite(text, 1, tlen, out);
    if (timed) cg_line(cg, "tt_prof_end(&tt_prof_sites[%d]);", prof_site(cg, id));
    free(text);
  }
  if (!ok) {
    if (cg->err && !cg->err->msg[0]) cg_fail(cg, "%s: cannot emit node %%%d", ir_ops[n->op].name, id);
    /* the first failure's node names the line (the driver prints file:line:col) */
    if (cg->err && cg->err->off < 0 && n->loc.off >= 0) cg->err->off = n->loc.off;
    return false;
  }
  if (cg->opt->detect_anomaly) check_finite(cg, id);
  /* Dead values are the DCE pass's business; without it the C must still compile. */
  if (cg_lives(cg, cg->gi, id) == CG_OWN && n->op != OP_CONST && !cg->uses[id])
    cg_line(cg, "(void)%s; /* never read */", cg_buf(cg, id));
  return true;
}

/* Source lines lo-hi of nodes [a, b) of g (g's own line when the range is empty). */
static void line_range(const Cg *cg, const Graph *g, int a, int b, int *lo, int *hi) {
  int col;
  *lo = *hi = 0;
  for (int id = a; id < b; id++) {
    int line;
    ir_linecol(cg->p->src, g->nodes[id].loc.off, &line, &col);
    if (!*lo || line < *lo) *lo = line;
    if (line > *hi) *hi = line;
  }
  if (!*lo) {
    ir_linecol(cg->p->src, g->loc.off, lo, &col);
    *hi = *lo;
  }
}

static void lines_comment(Cg *cg, FILE *out, const char *what, int lo, int hi, const char *after) {
  if (lo == hi)
    fprintf(out, "/* %s%s line %d%s */\n", what, cg->file, lo, after);
  else
    fprintf(out, "/* %s%s lines %d-%d%s */\n", what, cg->file, lo, hi, after);
}

/* The C of every node of the current graph, at indent 1 (nt[id], malloc'd), with whether
 * it reads the run-time extent B (usesB[id]); then the functions of its repeated layers
 * (outline.c), defined now, before the graph's function, and the calls replacing them. */
typedef struct {
  char **nt;
  bool *usesB;
  const char **calls;
  int *skip;
} GraphText;

static bool render_graph(Cg *cg, GraphText *gt) {
  const Graph *g = cg->g;
  FILE *out = cg->out;
  gt->nt = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *gt->nt);
  gt->usesB = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *gt->usesB);
  gt->calls = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *gt->calls);
  gt->skip = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *gt->skip);
  bool ok = true;
  for (int id = 0; ok && id < g->n; id++) {
    size_t len = 0;
    cg->out = open_memstream(&gt->nt[id], &len);
    if (!cg->out) {
      cg->out = out;
      return cg_fail(cg, "codegen: out of memory");
    }
    cg->indent = 1;
    cg->used_B = false;
    ok = emit_node(cg, id);
    gt->usesB[id] = cg->used_B;
    if (fclose(cg->out) != 0) ok = cg_fail(cg, "codegen: out of memory");
    cg->out = out;
  }
  cg->indent = 0;
  if (ok) ok = cg_outline(cg, gt->nt, gt->calls, gt->skip);
  if (!ok)
    for (int id = 0; id < g->n; id++) free(gt->nt[id]);
  return ok;
}

/* Nodes [id, ...) of the graph's text onto out until stop (a byte count of out, or -1 for
 * all): each node's C, or the call standing for a copy of a repeated layer. Returns the
 * node after the last written; *usesB tells whether any of it reads B. */
static int write_nodes(Cg *cg, const GraphText *gt, int id, FILE *out, long stop, bool *usesB) {
  const Graph *g = cg->g;
  while (id < g->n && (stop < 0 || ftell(out) < stop)) {
    if (gt->calls[id]) {
      fputs(gt->calls[id], out);
      for (int k = id; k < id + gt->skip[id]; k++) *usesB |= gt->usesB[k];
      id += gt->skip[id];
    } else {
      fputs(gt->nt[id], out);
      *usesB |= gt->usesB[id];
      id++;
    }
  }
  return id;
}

static void free_text(const Cg *cg, GraphText *gt) {
  for (int id = 0; id < cg->g->n; id++) free(gt->nt[id]);
}

/* A split graph (CG_SPLIT_NODES): its buffers at file scope, its kernels in parts of about
 * CG_PART_BYTES, and its function calling them in order. */
static bool emit_graph_parts(Cg *cg, int gi) {
  const Graph *g = cg->g;
  FILE *out = cg->out;
  fprintf(out, "/* %s's buffers, shared by its parts */\n", cg->gname[gi]);
  cg->indent = 0;
  buffer_decls(cg);
  GraphText gt;
  if (!render_graph(cg, &gt)) return false;
  const char **part = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *part);
  int nparts = 0;
  for (int id = 0; id < g->n;) {
    char *body = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&body, &blen);
    if (!f) {
      free_text(cg, &gt);
      return cg_fail(cg, "codegen: out of memory");
    }
    bool usesB = false;
    int first = id;
    id = write_nodes(cg, &gt, id, f, CG_PART_BYTES, &usesB);
    if (g->loader >= 0 && !usesB) fputs("  (void)B; /* no kernel here depends on it */\n", f);
    bool ok = fclose(f) == 0;
    if (!ok) {
      free(body);
      free_text(cg, &gt);
      return cg_fail(cg, "codegen: out of memory");
    }
    part[nparts] = uniquify(cg, cg->files, arena_printf(cg->arena, "%s_part%d", cg->gname[gi], nparts + 1));
    int lo, hi;
    line_range(cg, g, first, id, &lo, &hi);
    lines_comment(cg, out, arena_printf(cg->arena, "%s, part %d: ", cg->gname[gi], nparts + 1), lo, hi, "");
    fprintf(out, "static TT_NOINLINE void %s(void) {\n", part[nparts++]);
    if (g->loader >= 0)
      fprintf(out, "  const int64_t B = %s; /* the batch size: extent of every B:... dim */\n",
              cg->lbatch[g->loader]);
    fwrite(body, 1, blen, out);
    fputs("}\n\n", out);
    free(body);
  }
  free_text(cg, &gt);
  int lo, hi;
  line_range(cg, g, 0, g->n, &lo, &hi);
  lines_comment(cg, out, "", lo, hi, arena_printf(cg->arena, ", in %d parts", nparts));
  fprintf(out, "static void %s(void) {\n", cg->gname[gi]);
  for (int k = 0; k < nparts; k++) fprintf(out, "  %s();\n", part[k]);
  fputs("}\n\n", out);
  return true;
}

static bool emit_graph(Cg *cg, int gi) {
  const Graph *g = cg->p->graphs[gi];
  cg->g = g;
  cg->gi = gi;
  cg->uses = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *cg->uses);
  /* Reads of each node's storage: a reshape reads nothing itself, its readers read the
   * storage underneath. A buffer written and never read is "set but not used" to gcc. */
  int *root = arena_alloc(cg->arena, (size_t)(g->n + 1) * sizeof *root);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    root[id] = n->op == OP_RESHAPE ? root[n->in[0]] : id;
    for (int k = 0; k < n->nin && n->op != OP_RESHAPE; k++) cg->uses[root[n->in[k]]]++;
  }
  if (cg->split[gi]) return emit_graph_parts(cg, gi);
  GraphText gt;
  if (!render_graph(cg, &gt)) return false;
  int lo, hi;
  line_range(cg, g, 0, g->n, &lo, &hi);
  lines_comment(cg, cg->out, "", lo, hi, "");
  fprintf(cg->out, "static void %s(void) {\n", cg->gname[gi]);
  cg->indent = 1;
  if (g->loader >= 0)
    cg_line(cg, "const int64_t B = %s; /* the batch size: extent of every B:... dim */",
            cg->lbatch[g->loader]);
  buffer_decls(cg);
  bool usesB = false;
  write_nodes(cg, &gt, 0, cg->out, -1, &usesB);
  free_text(cg, &gt);
  if (g->loader >= 0 && !usesB) cg_line(cg, "(void)B; /* no kernel here depends on it */");
  cg->indent = 0;
  fputs("}\n\n", cg->out);
  return true;
}

/* ---- the translation unit --------------------------------------------------------- */

static void emit_vars(Cg *cg) {
  static const char *const kinds[] = {"value", "parameter", "gradient", "state"};
  char sh[96];
  for (int v = 0; v < cg->p->nvars; v++) {
    const Var *var = &cg->p->vars[v];
    if (var->removed) continue; /* a pass dropped it: nothing reads or writes it */
    int64_t ne = numel_of(&var->shape);
    const char *kind = (unsigned)var->kind < 4 ? kinds[var->kind] : "var";
    if (var->kind == VAR_GRAD && var->grad_of >= 0 && var->grad_of < cg->p->nvars)
      kind = arena_printf(cg->arena, "gradient of %s", cg->vname[var->grad_of]);
    /* a .grad is declared maybe-unused rather than (void)-ed in main when nothing writes
     * it, so that running autodiff or not changes no line of the declarations */
    cg_line(cg, "static TT_ALIGN %s%s %s[%lld]; /* %s %s */",
            var->kind == VAR_GRAD ? "TT_MAYBE_UNUSED " : "", cg_ctype(var->dtype), cg->vname[v],
            (long long)(ne > 0 ? ne : 1), shape_str(&var->shape, sh, sizeof sh), kind);
  }
  if (cg->p->nvars) fputc('\n', cg->out);
  bool arenas = false;
  for (int t = 0; t < DT__COUNT; t++)
    if (cg->arena_name[t]) {
      if (!arenas)
        cg_line(cg, "/* memplan: the intermediate values of every graph, one arena per type, each value at an\n"
                    " * offset where no value alive at the same time is (graphs run one at a time) */");
      arenas = true;
      cg_line(cg, "static TT_ALIGN %s %s[%lld];", cg_ctype((DType)t), cg->arena_name[t], (long long)cg->p->arena_elems[t]);
    }
  if (arenas) fputc('\n', cg->out);
  cg_emit_host_decls(cg);
}

/* The data file's bytes (CgOptions.data), included by the assembler: a translation unit
 * that stays readable however large the program's constants are. The labels are local to
 * this file's object, so two programs linked together do not clash. */
static void emit_incbin(Cg *cg, FILE *out) {
  const char *nm = cg_text(cg, cg->opt->data_name, true);
  fprintf(out,
          "/*\n"
          " * The program's large constants (%llu bytes) are not spelled out in this file: they are\n"
          " * the bytes of %s, which the assembler includes here. Compile with\n"
          " * -Wa,-I<the directory of %s> (ttc build does); main() checks the bytes are its.\n"
          " */\n",
          (unsigned long long)cg->data_size, nm, nm);
  fprintf(out, "__asm__(\".section .rodata\\n\\t.balign 64\\ntt_data:\\n\\t.incbin \\\"%s\\\"\\n"
               "tt_data_end:\\n\\t.previous\");\n",
          cg->opt->data_name);
  fputs("extern const unsigned char tt_data[], tt_data_end[];\n\n", out);
}

/* A data file name the C and the assembler both take as it is in a string literal. */
static bool data_name_ok(const char *s) {
  if (!s || !*s) return false;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && !strchr("._+-", *s)) return false;
  return true;
}

bool cg_emit_program(FILE *out, const Program *p, const CgOptions *o, IrErr *err) {
  CgOptions defaults = {.detect_anomaly = false};
  IrErr scratch;
  if (!err) err = &scratch;
  err->msg[0] = '\0';
  err->off = -1;
  if (!out || !p) {
    snprintf(err->msg, sizeof err->msg, "codegen: no program or no output");
    return false;
  }
  /* codegen trusts the verifier: every structural fact an emitter relies on is its check */
  if (!ir_verify_program(p, err)) return false;
  if (o && o->data && !data_name_ok(o->data_name)) {
    snprintf(err->msg, sizeof err->msg,
             "codegen: the data file's name must be letters, digits and ._+- only");
    return false;
  }
  Cg cg = {.out = out, .p = p, .opt = o ? o : &defaults, .err = err};
  cg.arena = arena_new();
  cg.srcname = basename_of(p->filename);
  cg.file = cg_text(&cg, cg.srcname, true);
  bool ok = check_program(&cg);
  if (ok) {
    name_everything(&cg);
    /* The body goes to memory first: the checked operations it uses are defined above it. */
    char *body = NULL;
    size_t blen = 0;
    cg.out = open_memstream(&body, &blen);
    char *prof = NULL; /* --profile: the rows of tt_prof_sites */
    size_t plen = 0;
    if (cg.out && cg.opt->profile && !(cg.prof = open_memstream(&prof, &plen))) {
      fclose(cg.out);
      cg.out = NULL;
    }
    if (!cg.out) {
      cg.out = out;
      ok = cg_fail(&cg, "codegen: out of memory");
    } else {
      emit_vars(&cg);
      cg_conv_workspace(&cg);
      for (int gi = 0; ok && gi < p->ngraphs; gi++)
        for (int id = 0; ok && id < p->graphs[gi]->n; id++)
          if (cg_lives(&cg, gi, id) == CG_FILESCOPE)
            ok = cg_const_filescope(&cg, p->graphs[gi], id, cg.bufs[gi][id]);
      for (int gi = 0; ok && gi < p->ngraphs; gi++) ok = emit_graph(&cg, gi);
      if (ok) ok = cg_emit_main(&cg);
      if (fclose(cg.out) != 0) ok = cg_fail(&cg, "codegen: out of memory");
      if (cg.prof && fclose(cg.prof) != 0) ok = cg_fail(&cg, "codegen: out of memory");
      cg.out = out;
      if (ok) {
        fprintf(out, "/* generated by ttc from %s — do not edit\n *\n", cg.file);
        mem_print(&cg, out, " * ");
        fputs(" */\n", out);
        if (cg.opt->mem_report) mem_print(&cg, cg.opt->mem_report, "");
        if (cg.opt->info) fill_info(&cg, cg.opt->info);
        fputs("#include <math.h>\n#include <string.h>\n\n#include \"tt.h\"\n\n", out);
        if (cg.data_size) emit_incbin(&cg, out);
        cg_emit_helpers(&cg);
        if (cg.nprof) {
          fprintf(out, "/* --profile: each kernel's op, buffer, .tt line, FLOPs and bytes per call, and its\n"
                       " * calls and seconds so far, written out at exit (runtime/roofline.c) */\n"
                       "enum { TT_PROF_N = %d };\nstatic TtProfSite tt_prof_sites[TT_PROF_N] = {\n", cg.nprof);
          fwrite(prof, 1, plen, out);
          fputs("};\n\n", out);
        }
        fwrite(body, 1, blen, out);
      }
      free(prof);
      free(body);
    }
  }
  if (ok && (fflush(out) != 0 || ferror(out))) ok = cg_fail(&cg, "codegen: write error");
  if (!ok && !err->msg[0]) snprintf(err->msg, sizeof err->msg, "codegen failed");
  cg_outline_free(&cg);
  arena_free(cg.arena);
  return ok;
}
