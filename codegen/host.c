/*
 * host.c — main(): the host program that sequences the graphs.
 *
 * Host scalars (a loop counter, a running loss, a learning rate) are file-scope int64_t or
 * double variables with Python's semantics spelled out: `/` is true division in double,
 * `//` and `%` floor through the runtime (which names the source line on a division by
 * zero), comparisons are ints. A `for` over range() keeps its own counter and evaluates the
 * stop once, as Python does, so assigning the loop variable in the body changes nothing.
 * A data loader is a `static TtLoader *` opened at the start of main(); each batch's size is
 * a file-scope int64_t that the graphs of its loop read as their symbolic extent B.
 *
 * Printing batches literal text: adjacent text, separators and line ends become one fputs.
 */
#include "codegen/codegen.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* PyTorch's default seed; tt_init seeds with it, so main only reseeds when it differs. */
#define TORCH_DEFAULT_SEED UINT64_C(67280421310721)

/* Literal text waiting to be written, so that adjacent text, separators and the end
 * become one fputs call. */
typedef struct TextRun {
  char *buf;
  size_t n, cap;
} TextRun;

static void run_add(TextRun *r, const char *s) {
  size_t m = strlen(s);
  if (r->n + m + 1 > r->cap) {
    r->cap = (r->n + m + 1) * 2;
    r->buf = xrealloc(r->buf, r->cap);
  }
  memcpy(r->buf + r->n, s, m + 1);
  r->n += m;
}

static void run_flush(Cg *cg, TextRun *r) {
  if (!r->n) return;
  for (int i = 0; i < cg->indent; i++) fputs("  ", cg->out);
  fputs("fputs(\"", cg->out);
  cg_put_text(cg->out, r->buf, false);
  fputs("\", stdout);\n", cg->out);
  r->n = 0;
  r->buf[0] = '\0';
}

/* s escaped for a C string literal, in the arena. */
static const char *escaped(Cg *cg, const char *s) {
  return cg_text(cg, s, false);
}

const char *cg_where(Cg *cg, Loc loc) {
  int line, col;
  ir_linecol(cg->p->src, loc.off, &line, &col);
  return escaped(cg, arena_printf(cg->arena, "%s:%d:%d", cg->srcname, line, col));
}

/* ---- host expressions ------------------------------------------------------------- */

/* e as a C expression of its own type (double or int64_t); arena-owned. */
static const char *hexpr(Cg *cg, const HostExpr *e, Loc loc);

/* e converted to double when the context is floating. */
static const char *as_double(Cg *cg, const HostExpr *e, Loc loc) {
  const char *s = hexpr(cg, e, loc);
  return e->isfloat ? s : arena_printf(cg->arena, "(double)%s", s);
}

/* e in the type the result wants: double if isfloat, else as is. */
static const char *as_type(Cg *cg, const HostExpr *e, bool isfloat, Loc loc) {
  return isfloat ? as_double(cg, e, loc) : hexpr(cg, e, loc);
}

static const char *hbin(Cg *cg, const HostExpr *e, Loc loc) {
  static const char *const sym[] = {[HB_ADD] = "+", [HB_SUB] = "-",  [HB_MUL] = "*", [HB_EQ] = "==",
                                    [HB_NE] = "!=", [HB_LT] = "<",   [HB_LE] = "<=", [HB_GT] = ">",
                                    [HB_GE] = ">=", [HB_AND] = "&&", [HB_OR] = "||"};
  bool fl = e->isfloat;
  Arena *A = cg->arena;
  switch (e->op) {
  case HB_ADD:
  case HB_SUB:
  case HB_MUL: {
    if (fl)
      return arena_printf(A, "(%s %s %s)", as_double(cg, e->a, loc), sym[e->op],
                          as_double(cg, e->b, loc));
    if (e->size) return arena_printf(A, "(%s %s %s)", hexpr(cg, e->a, loc), sym[e->op], hexpr(cg, e->b, loc));
    /* int64 overflow is undefined in C and a bigger int in Python: stop the program */
    CgHelper h = e->op == HB_ADD ? CG_H_ADD : e->op == HB_SUB ? CG_H_SUB : CG_H_MUL;
    return arena_printf(A, "%s(%s, %s, \"%s\")", cg_helper(cg, h), hexpr(cg, e->a, loc),
                        hexpr(cg, e->b, loc), cg_where(cg, loc));
  }
  case HB_DIV: /* Python's message for ints differs from the one for floats */
    return arena_printf(A, "%s(%s, %s, %d, \"%s\")", cg_helper(cg, CG_H_DIV),
                        as_double(cg, e->a, loc), as_double(cg, e->b, loc),
                        !e->a->isfloat && !e->b->isfloat, cg_where(cg, loc));
  case HB_FLOORDIV:
  case HB_MOD: {
    const char *fn = e->op == HB_FLOORDIV ? "floordiv" : "mod";
    return arena_printf(A, "tt_%s_%s(%s, %s, \"%s\")", fn, fl ? "f64" : "i64",
                        as_type(cg, e->a, fl, loc), as_type(cg, e->b, fl, loc), cg_where(cg, loc));
  }
  case HB_POW:
    if (fl)
      return arena_printf(A, "%s(%s, %s, \"%s\")", cg_helper(cg, CG_H_POWF),
                          as_double(cg, e->a, loc), as_double(cg, e->b, loc), cg_where(cg, loc));
    return arena_printf(A, "%s(%s, %s, \"%s\")", cg_helper(cg, CG_H_POW), hexpr(cg, e->a, loc),
                        hexpr(cg, e->b, loc), cg_where(cg, loc));
  case HB_ROUND: /* Python's round(x, n): an int stays as it is */
    if (!fl) return hexpr(cg, e->a, loc);
    return arena_printf(A, "tt_round_digits(%s, %s)", as_double(cg, e->a, loc),
                        as_type(cg, e->b, false, loc));
  case HB_MIN:
  case HB_MAX: {
    /* Python's min/max keep the first of equal values: b only when strictly better. */
    const char *a = as_type(cg, e->a, fl, loc), *b = as_type(cg, e->b, fl, loc);
    return arena_printf(A, "(%s %s %s ? %s : %s)", b, e->op == HB_MIN ? "<" : ">", a, b, a);
  }
  case HB_AND:
  case HB_OR:
    if (!e->isbool) { /* Python's and/or give an operand (the frontend gives both one type) */
      const char *a = as_type(cg, e->a, fl, loc), *b = as_type(cg, e->b, fl, loc);
      return arena_printf(A, "(%s ? %s : %s)", a, e->op == HB_AND ? b : a, e->op == HB_AND ? a : b);
    }
    /* fall through */
  default: {
    /* Comparisons and and/or: C's usual conversions compare an int with a float exactly as
     * Python does for values within 2^53. */
    const char *r =
        arena_printf(A, "(%s %s %s)", hexpr(cg, e->a, loc), sym[e->op], hexpr(cg, e->b, loc));
    return fl ? arena_printf(A, "(double)%s", r) : arena_printf(A, "(int64_t)%s", r);
  }
  }
}

/* A double expression as an int64_t: checked, since a cast of NaN, an infinity or a value
 * past int64 is undefined in C (and an error, or a bigger int, in Python). */
static const char *to_int(Cg *cg, const char *v, Loc loc) {
  return arena_printf(cg->arena, "%s(%s, \"%s\")", cg_helper(cg, CG_H_F2I), v, cg_where(cg, loc));
}

static const char *hun(Cg *cg, const HostExpr *e, Loc loc) {
  static const char *const fn[] = {
      [HU_COS] = "cos",   [HU_SIN] = "sin",     [HU_EXP] = "exp",  [HU_LOG] = "log",
      [HU_SQRT] = "sqrt", [HU_FLOOR] = "floor", [HU_CEIL] = "ceil"};
  Arena *A = cg->arena;
  bool fl = e->isfloat;
  const char *a = hexpr(cg, e->a, loc);
  switch (e->op) {
  case HU_NEG:
    if (fl) return arena_printf(A, "(-%s)", as_double(cg, e->a, loc));
    return arena_printf(A, "%s(%s, \"%s\")", cg_helper(cg, CG_H_NEG), a, cg_where(cg, loc));
  case HU_NOT:
    return arena_printf(A, "(int64_t)(!%s)", a);
  case HU_ABS:
    if (fl) return arena_printf(A, "fabs(%s)", as_double(cg, e->a, loc));
    return arena_printf(A, "%s(%s, \"%s\")", cg_helper(cg, CG_H_ABS), a, cg_where(cg, loc));
  case HU_TOINT: /* int(x) truncates toward zero */
    return e->a->isfloat ? to_int(cg, a, loc) : a;
  case HU_TOFLOAT:
    return as_double(cg, e->a, loc);
  case HU_ROUND: /* round(x): to nearest, ties to even (C's default rounding mode) */
    return e->a->isfloat ? to_int(cg, arena_printf(A, "nearbyint(%s)", a), loc) : a;
  case HU_FLOOR:
  case HU_CEIL: /* math.floor/ceil return an int */
    if (!e->a->isfloat) return a;
    if (fl) return arena_printf(A, "%s(%s)", fn[e->op], a);
    return to_int(cg, arena_printf(A, "%s(%s)", fn[e->op], a), loc);
  default: {
    const char *v = arena_printf(A, "%s(%s)", fn[e->op], as_double(cg, e->a, loc));
    return fl ? v : to_int(cg, v, loc);
  }
  }
}

static const char *hexpr(Cg *cg, const HostExpr *e, Loc loc) {
  Arena *A = cg->arena;
  switch (e->kind) {
  case HX_INT:
    if (e->i == INT64_MIN) return "INT64_MIN";
    return arena_printf(A, e->i < 0 ? "(%lld)" : "%lld", (long long)e->i);
  case HX_FLOAT: {
    const char *lit = cg_literal(cg, DT_F64, e->f);
    return lit[0] == '-' ? arena_printf(A, "(%s)", lit) : lit;
  }
  case HX_VAR: {
    const char *h = cg->hname[e->hvar];
    bool hf = cg->p->hvars[e->hvar].isfloat;
    if (hf == e->isfloat) return h;
    return e->isfloat ? arena_printf(A, "(double)%s", h) : to_int(cg, h, loc);
  }
  case HX_ITEM:
    return arena_printf(A, "(%s)%s[0]", e->isfloat ? "double" : "int64_t", cg->vname[e->var]);
  case HX_BIN:
    return hbin(cg, e, loc);
  case HX_UN:
    return hun(cg, e, loc);
  case HX_BATCH:
    return e->isfloat ? arena_printf(A, "(double)%s", cg->lbatch[e->loader])
                      : cg->lbatch[e->loader];
  case HX_LOADER_LEN:
  case HX_DATASET_LEN:
    return arena_printf(A, "%stt_loader_%slen(%s)", e->isfloat ? "(double)" : "",
                        e->kind == HX_LOADER_LEN ? "" : "dataset_", cg->lname[e->loader]);
  case HX_CLOCK: /* the runtime's monotonic clock, or C11's wall clock */
    if (e->i) return "tt_now()";
    return arena_printf(A, "%s()", cg_helper(cg, CG_H_WALL));
  case HX_LIST: /* only printed (print_host); as a value, its length */
  case HX_LIST_LEN:
    cg_helper(cg, CG_H_LIST);
    return arena_printf(A, "%s%s.n", e->isfloat ? "(double)" : "", cg->hname[e->hvar]);
  case HX_LIST_GET: /* the frontend types a read by the kinds the list holds (one kind) */
    cg_helper(cg, CG_H_LIST);
    return arena_printf(A, "ttc_list_get(&%s, %s, \"%s\").%s", cg->hname[e->hvar],
                        as_type(cg, e->a, false, loc), cg_where(cg, e->loc.off ? e->loc : loc),
                        e->isfloat ? "f" : "i");
  case HX_LIST_SUM:
    cg_helper(cg, CG_H_LIST);
    if (e->isfloat) return arena_printf(A, "ttc_list_sum_f(&%s)", cg->hname[e->hvar]);
    return arena_printf(A, "ttc_list_sum_i(&%s, \"%s\")", cg->hname[e->hvar],
                        cg_where(cg, e->loc.off ? e->loc : loc));
  case HX_LIST_MIN:
  case HX_LIST_MAX:
    cg_helper(cg, CG_H_LIST);
    return arena_printf(A, "ttc_list_best(&%s, %d, \"%s\").%s", cg->hname[e->hvar],
                        e->kind == HX_LIST_MAX, cg_where(cg, e->loc.off ? e->loc : loc),
                        e->isfloat ? "f" : "i");
  case HX_KEYPOS: {
    const StrTable *t = &cg->p->strtabs[e->i];
    return arena_printf(A, "%s(%s, %d, %d, %s, %d, \"%s\")", cg_helper(cg, CG_H_KEYPOS),
                        hexpr(cg, e->a, loc), e->a->isbool, t->n, t->keys ? cg->skeys[e->i] : "NULL",
                        (int)t->kind, cg_where(cg, e->loc.off ? e->loc : loc));
  }
  case HX_STRLEN:
    return arena_printf(A, "%s%s[%s]", e->isfloat ? "(double)" : "", cg->slen[e->i], hexpr(cg, e->a, loc));
  case HX_STR: /* only printed (print_host) */
    break;
  case HX_CALL:
    return arena_printf(A, "%s%s()", e->isfloat ? "(double)" : "", e->fn);
  }
  return "0";
}

/* A condition without the outer parentheses hexpr puts around binary operations. */
static const char *cond(Cg *cg, const HostExpr *e, Loc loc) {
  const char *s = hexpr(cg, e, loc);
  if (e->kind == HX_BIN && !e->isfloat && e->op >= HB_EQ && !strncmp(s, "(int64_t)(", 10))
    return arena_printf(cg->arena, "%.*s", (int)strlen(s) - 11, s + 10);
  return s;
}
/* The loader whose batch size is var v's run-time extent: the loader that fills it, or the
 * loader of a graph that stores it; -1 if none. */
static int var_loader(const Cg *cg, int v) {
  const Program *p = cg->p;
  for (int l = 0; l < p->nloaders; l++)
    if (p->loaders[l].xvar == v || p->loaders[l].yvar == v) return l;
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    for (int id = 0; id < g->n; id++)
      if (g->nodes[id].op == OP_STORE && g->nodes[id].attr.var == v && g->loader >= 0)
        return g->loader < p->nloaders ? g->loader : -1;
  }
  return -1;
}

/* A host value written to the FILE * named f: Python's str() or format(v, spec). An int
 * without a spec is printed from its int64_t, every digit exact (tt_print_host takes a
 * double, which holds ints exactly only up to 2^53). */
static void print_host(Cg *cg, const PrintItem *it, const char *f, Loc loc) {
  const HostExpr *e = it->expr;
  if (e->kind == HX_LIST) {
    cg_helper(cg, CG_H_LIST);
    cg_line(cg, "ttc_list_print(%s, &%s);", f, cg->hname[e->hvar]);
    return;
  }
  if (e->kind == HX_STR) {
    cg_line(cg, "fputs(%s[%s], %s);", cg->sname[e->i], hexpr(cg, e->a, loc), f);
    return;
  }
  const char *v = hexpr(cg, e, loc);
  bool spec = it->spec && it->spec[0];
  if (!e->isfloat && !e->isbool && !spec) {
    cg_line(cg, "fprintf(%s, \"%%lld\", (long long)%s);", f, v);
    return;
  }
  cg_line(cg, "tt_print_host(%s, %s, %s, %s, %s);", f,
          e->isfloat ? v : arena_printf(cg->arena, "(double)%s", v), e->isfloat ? "false" : "true",
          e->isbool ? "true" : "false",
          spec ? arena_printf(cg->arena, "\"%s\"", escaped(cg, it->spec)) : "NULL");
}

/* Text and host values written to the FILE * named f (a tt_text_begin buffer). */
static void emit_items_to(Cg *cg, const PrintItem *items, int n, const char *f, Loc loc) {
  for (int k = 0; k < n; k++) {
    const PrintItem *it = &items[k];
    if (it->expr) {
      print_host(cg, it, f, loc);
    } else if (it->text && it->text[0]) {
      cg_line(cg, "fputs(\"%s\", %s);", escaped(cg, it->text), f);
    }
  }
}

static bool emit_print(Cg *cg, const Stmt *st, TextRun *run) {
  for (int k = 0; k < st->nitems; k++) {
    const PrintItem *it = &st->items[k];
    if (k && st->sep) run_add(run, st->sep);
    if (it->var < 0 && it->expr) {
      run_flush(cg, run);
      print_host(cg, it, "stdout", st->loc);
      continue;
    }
    if (it->var < 0) {
      run_add(run, it->text);
      continue;
    }
    run_flush(cg, run);
    const Var *v = &cg->p->vars[it->var];
    char dims[TT_MAX_RANK * 24 + 128] = "NULL";
    if (v->shape.rank > 0) {
      size_t q = (size_t)snprintf(dims, sizeof dims, "(const int64_t[]){");
      /* a run-time extent: in one dim, after dims of 1 only (a loader's last batch, a window
         of a generated sequence [1, T]), so that the valid elements are the buffer's first */
      int l = v->shape.symm ? var_loader(cg, it->var) : -1;
      bool prefix = sym_count(&v->shape) <= 1;
      for (int i = 0; prefix && i < sym_first(&v->shape); i++) prefix = v->shape.d[i] == 1;
      if (!prefix || (v->shape.symm && l < 0))
        return cg_fail(cg, "print: %s has a batch dimension that no data loader sizes",
                       cg->vname[it->var]);
      for (int i = 0; i < v->shape.rank; i++) {
        if (i == 0 && it->extent0) /* x[mask]: its run-time count, at most the bound */
          q += (size_t)snprintf(dims + q, sizeof dims - q, "%.200s", hexpr(cg, it->extent0, st->loc));
        else if (sym_at(&v->shape, i))
          q += (size_t)snprintf(dims + q, sizeof dims - q, "%s%.64s", i ? ", " : "", cg->lbatch[l]);
        else
          q += (size_t)snprintf(dims + q, sizeof dims - q, "%s%lld", i ? ", " : "",
                                (long long)v->shape.d[i]);
      }
      snprintf(dims + q, sizeof dims - q, "}");
    }
    char opts[256];
    if (!it->gradfn && !it->requires_grad && !it->param) {
      snprintf(opts, sizeof opts, "{0}");
    } else {
      size_t q = (size_t)snprintf(opts, sizeof opts, "{");
      const char *sep = "";
      if (it->gradfn) {
        /* grad_fn names are identifiers; anything else is dropped rather than escaped. */
        bool ok = it->gradfn[0] != '\0';
        for (const char *c = it->gradfn; *c; c++)
          if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                *c == '_'))
            ok = false;
        if (ok) {
          q += (size_t)snprintf(opts + q, sizeof opts - q, ".gradfn = \"%.100s\"", it->gradfn);
          sep = ", ";
        }
      }
      if (it->requires_grad) {
        q += (size_t)snprintf(opts + q, sizeof opts - q, "%s.requires_grad = true", sep);
        sep = ", ";
      }
      if (it->param) q += (size_t)snprintf(opts + q, sizeof opts - q, "%s.param = true", sep);
      if (q < sizeof opts) snprintf(opts + q, sizeof opts - q, "}");
      if (!strcmp(opts, "{}")) snprintf(opts, sizeof opts, "{0}");
    }
    cg_line(cg, "tt_print_tensor(stdout, %s, %s, %d, %s, &(TtPrintOpts)%s);", cg_rt_dtype(v->dtype),
            cg->vname[it->var], v->shape.rank, dims, opts);
  }
  if (st->end) run_add(run, st->end);
  return true;
}

/* ---- statements ------------------------------------------------------------------- */

/* "/ * model.tt:7: for x, y in train: * /" above a control statement: the .tt line it came
 * from, so a reader finds the source of every loop and branch. */
static void src_comment(Cg *cg, Loc loc) {
  const char *src = cg->p->src;
  int line, col;
  ir_linecol(src, loc.off, &line, &col);
  char text[96] = "";
  bool cut = false;
  if (src && loc.off >= 0) {
    const char *b = src + loc.off - (col - 1), *e = b;
    while (*b == ' ' || *b == '\t') b++;
    while (*e && *e != '\n') e++;
    size_t k = 0;
    for (const char *c = b; c < e && k < sizeof text - 4; c++) text[k++] = *c == '\t' ? ' ' : *c;
    text[k] = '\0';
    cut = b + k < e;
    while (k && (text[k - 1] == ' ' || text[k - 1] == '\r')) text[--k] = '\0';
  }
  cg_line(cg, "/* %s:%d: %s%s */", cg->file, line, cg_text(cg, text, true), cut ? "..." : "");
}

static bool emit_stmts(Cg *cg, const Stmt *list, int n, TextRun *run, int depth);

static bool emit_block(Cg *cg, const Stmt *list, int n, TextRun *run, int depth) {
  cg->indent++;
  bool ok = emit_stmts(cg, list, n, run, depth);
  run_flush(cg, run);
  cg->indent--;
  return ok;
}

static void emit_ckpt(Cg *cg, const Stmt *st) {
  const char *fn = st->kind == ST_SAVE ? "tt_ckpt_save" : "tt_ckpt_load";
  const char *path = escaped(cg, st->path);
  if (!st->nkeys) {
    cg_line(cg, "%s(\"%s\", NULL, 0);", fn, path);
    return;
  }
  cg_line(cg, "%s(\"%s\", (const TtCkptEntry[]){", fn, path);
  for (int k = 0; k < st->nkeys; k++) {
    const Var *v = &cg->p->vars[st->vars[k]];
    const char *dims = "NULL";
    if (v->shape.rank > 0) {
      dims = "(const int64_t[]){";
      for (int i = 0; i < v->shape.rank; i++)
        dims = arena_printf(cg->arena, "%s%s%lld", dims, i ? ", " : "", (long long)v->shape.d[i]);
      dims = arena_printf(cg->arena, "%s}", dims);
    }
    /* a Python number's code follows the tensor dtypes' (runtime/ckpt.c) */
    const char *dt = st->pykinds && st->pykinds[k]
                         ? arena_printf(cg->arena, "(TtDType)%d /* a Python number */", 5 + st->pykinds[k])
                         : cg_rt_dtype(v->dtype);
    cg_line(cg, "    {\"%s\", %s, %d, %s, %s},", escaped(cg, st->keys[k]), dt,
            v->shape.rank, dims, cg->vname[st->vars[k]]);
  }
  cg_line(cg, "}, %d);", st->nkeys);
}

/* ---- training curves (--metrics) ------------------------------------------------------ */

/* After a graph call: its loss, and a row when it is a training step. The epoch is the pass
 * under way over the innermost enclosing loader, else the counter of the outermost
 * enclosing range() loop (a program that trains on one batch per iteration), else 0. */
static void metrics_after_graph(Cg *cg, int g) {
  const CgMetrics *m = cg->opt->metrics;
  if (g >= m->ngraphs) return;
  if (m->loss_var[g] >= 0) cg_line(cg, "tt_metrics_loss((double)%s[0]);", cg->vname[m->loss_var[g]]);
  if (!m->step[g]) return;
  const char *epoch = cg->m_loader >= 0
                          ? arena_printf(cg->arena, "tt_loader_epoch(%s)", cg->lname[cg->m_loader])
                      : cg->m_fors > 0 ? "i0"
                                       : "0";
  if (m->lr_var[g] >= 0)
    cg_line(cg, "tt_metrics_step(%s, true, %s[0]);", epoch, cg->vname[m->lr_var[g]]);
  else
    cg_line(cg, "tt_metrics_step(%s, false, 0.0);", epoch);
}

/* "acc" or "accuracy" as a word of the label, any case ("Test Acc@1", "train_acc", but
 * not "accumulated"). */
static bool has_acc(const char *s) {
  for (const char *p = s; *p; p++) {
    if ((p > s && isalpha((unsigned char)p[-1])) || strncasecmp(p, "acc", 3)) continue;
    if (!isalpha((unsigned char)p[3]) || (!strncasecmp(p, "accuracy", 8) && !isalpha((unsigned char)p[8])))
      return true;
  }
  return false;
}

/* The program's accuracy is the value its first print with "acc" in the label shows (the
 * label: the text since the previous value, as "test accuracy: " in f"test accuracy:
 * {a:.2f}%"); the value as the program computes it, a fraction or a percentage. Only the
 * first such print in the program has the hook, so one column holds one series. */
static const char *acc_value(Cg *cg, const Stmt *st, int k) {
  const PrintItem *it = &st->items[k];
  if (it->var < 0 && !it->expr) return NULL;
  if (it->var < 0) {
    HostExprKind kd = it->expr->kind;
    return kd != HX_LIST && kd != HX_STR ? as_double(cg, it->expr, st->loc) : NULL;
  }
  const Var *var = &cg->p->vars[it->var];
  if (shape_numel(&var->shape) == 1 && !var->shape.symm && !it->extent0 &&
      (var->dtype == DT_F32 || var->dtype == DT_F64 || var->dtype == DT_I64))
    return arena_printf(cg->arena, "(double)%s[0]", cg->vname[it->var]);
  return NULL;
}

static void metrics_accuracy(Cg *cg, const Stmt *st, TextRun *run) {
  bool label = false;
  for (int k = 0; k < st->nitems; k++) {
    const PrintItem *it = &st->items[k];
    if (it->var < 0 && !it->expr) {
      label |= it->text && has_acc(it->text);
      continue;
    }
    const char *v = acc_value(cg, st, k);
    if (label && v) {
      /* "Accuracy: {}/{}" (PyTorch's MNIST example): the fraction correct / total */
      const char *den = NULL, *after = k + 1 < st->nitems && st->items[k + 1].var < 0 &&
                                               !st->items[k + 1].expr ? st->items[k + 1].text : NULL;
      if (after && !strcmp(after, "/") && k + 2 < st->nitems)
        den = acc_value(cg, st, k + 2);
      else if (after && after[0] == '/' && isdigit((unsigned char)after[1])) /* a known total */
        den = arena_printf(cg->arena, "%.0f", strtod(after + 1, NULL));
      run_flush(cg, run);
      if (den) cg_line(cg, "tt_metrics_accuracy(%s / %s);", v, den);
      else cg_line(cg, "tt_metrics_accuracy(%s);", v);
      cg->m_acc = true;
      return;
    }
    label = false;
  }
}

static bool emit_stmts(Cg *cg, const Stmt *list, int n, TextRun *run, int depth) {
  const Program *p = cg->p;
  for (int s = 0; s < n; s++) {
    const Stmt *st = &list[s];
    if (st->kind != ST_PRINT) run_flush(cg, run);
    switch (st->kind) {
    case ST_GRAPH:
      if (cg->opt->profile) /* each call's time: a generation step's, position by position */
        cg_line(cg, "{ const double t_graph = tt_now(); %s(); tt_prof_graph(\"%s\", tt_now() - t_graph); }",
                cg->gname[st->graph], cg->gname[st->graph]);
      else
        cg_line(cg, "%s();", cg->gname[st->graph]);
      if (cg->opt->metrics) metrics_after_graph(cg, st->graph);
      break;
    case ST_PRINT:
      if (!emit_print(cg, st, run)) return false;
      if (cg->opt->metrics && !cg->m_acc) metrics_accuracy(cg, st, run);
      break;
    case ST_ASSIGN: {
      bool hf = p->hvars[st->hvar].isfloat;
      src_comment(cg, st->loc);
      const char *v = hf ? as_double(cg, st->expr, st->loc) : hexpr(cg, st->expr, st->loc);
      if (!hf && st->expr->isfloat) v = to_int(cg, v, st->loc);
      cg_line(cg, "%s = %s;", cg->hname[st->hvar], v);
      break;
    }
    case ST_FOR: {
      /* Python's range: the stop is evaluated once, and the counter is the loop's own. */
      src_comment(cg, st->loc);
      const char *start = hexpr(cg, st->expr, st->loc), *stop = hexpr(cg, st->expr2, st->loc);
      const char *inc = st->step == 1 ? arena_printf(cg->arena, "i%d++", depth)
                        : st->step == -1
                            ? arena_printf(cg->arena, "i%d--", depth)
                            : arena_printf(cg->arena, "i%d += %lld", depth, (long long)st->step);
      /* A step past +-1 can carry the counter beyond int64 after the last value (say
       * range(2**63 - 3, 2**63 - 1, 5)): saturate then, unless the stop is a constant far
       * enough from the edge. */
      int64_t past;
      if ((st->step > 1 || st->step < -1) &&
          (st->expr2->kind != HX_INT || __builtin_add_overflow(st->expr2->i, st->step, &past)))
        inc = arena_printf(cg->arena, "i%d = %s(i%d, %lld)", depth, cg_helper(cg, CG_H_STEP), depth,
                           (long long)st->step);
      const char *cmp = st->step > 0 ? "<" : ">";
      if (st->expr2->kind == HX_INT)
        cg_line(cg, "for (int64_t i%d = %s; i%d %s %s; %s) {", depth, start, depth, cmp, stop, inc);
      else
        cg_line(cg, "for (int64_t i%d = %s, i%d_end = %s; i%d %s i%d_end; %s) {", depth, start,
                depth, stop, depth, cmp, depth, inc);
      cg_line(cg, "  %s = i%d;", cg->hname[st->hvar], depth);
      cg->m_fors++;
      if (!emit_block(cg, st->body, st->nbody, run, depth + 1)) return false;
      cg->m_fors--;
      cg_line(cg, "}");
      break;
    }
    case ST_LOADER: {
      const Loader *ld = &p->loaders[st->loader];
      const char *L = cg->lname[st->loader];
      int outer_loader = cg->m_loader;
      cg->m_loader = st->loader;
      src_comment(cg, st->loc);
      if (!st->desc) {
        cg_line(cg, "tt_loader_start(%s);", L);
        cg_line(cg, "while (tt_loader_next(%s, %s, %s, &%s)) {", L, cg->vname[ld->xvar],
                ld->yvar >= 0 ? cg->vname[ld->yvar] : "NULL", cg->lbatch[st->loader]);
        if (!emit_block(cg, st->body, st->nbody, run, depth)) return false;
        cg_line(cg, "}");
        cg->m_loader = outer_loader;
        break;
      }
      /* tqdm(loader): the bar counts each finished iteration (continue included) */
      const char *saved = cg->bar;
      const char *bar = arena_printf(cg->arena, "bar%d", cg->nbars++);
      cg_line(cg, "{");
      cg->indent++;
      if (st->nitems > 0) {
        cg_line(cg, "FILE *desc = tt_text_begin();");
        emit_items_to(cg, st->items, st->nitems, "desc", st->loc);
        cg_line(cg, "TtProgress *%s = tt_progress_new(tt_text_end(desc), tt_loader_len(%s));", bar, L);
      } else {
        cg_line(cg, "TtProgress *%s = tt_progress_new(\"%s\", tt_loader_len(%s));", bar, escaped(cg, st->desc), L);
      }
      cg_line(cg, "tt_loader_start(%s);", L);
      cg_line(cg, "for (; tt_loader_next(%s, %s, %s, &%s); tt_progress_update(%s, 1)) {", L,
              cg->vname[ld->xvar], ld->yvar >= 0 ? cg->vname[ld->yvar] : "NULL", cg->lbatch[st->loader], bar);
      cg->bar = bar;
      if (!emit_block(cg, st->body, st->nbody, run, depth)) return false;
      cg->bar = saved;
      cg_line(cg, "}");
      cg_line(cg, "tt_progress_close(%s);", bar);
      cg->indent--;
      cg_line(cg, "}");
      cg->m_loader = outer_loader;
      break;
    }
    case ST_POSTFIX: {
      if (!cg->bar) break; /* set_postfix outside a tqdm loop shows nothing */
      cg_line(cg, "{");
      cg->indent++;
      cg_line(cg, "FILE *postfix = tt_text_begin();");
      emit_items_to(cg, st->items, st->nitems, "postfix", st->loc);
      cg_line(cg, "tt_progress_postfix(%s, tt_text_end(postfix));", cg->bar);
      cg->indent--;
      cg_line(cg, "}");
      break;
    }
    case ST_IF: {
      src_comment(cg, st->loc);
      cg_line(cg, "if (%s) {", cond(cg, st->expr, st->loc));
      if (!emit_block(cg, st->body, st->nbody, run, depth)) return false;
      /* elif chains stay flat: else if (...) { ... } */
      const Stmt *e = st;
      while (e->norelse == 1 && e->orelse[0].kind == ST_IF) {
        e = &e->orelse[0];
        cg_line(cg, "} else if (%s) {", cond(cg, e->expr, e->loc));
        if (!emit_block(cg, e->body, e->nbody, run, depth)) return false;
      }
      if (e->norelse > 0) {
        cg_line(cg, "} else {");
        if (!emit_block(cg, e->orelse, e->norelse, run, depth)) return false;
      }
      cg_line(cg, "}");
      break;
    }
    case ST_BREAK:
      cg_line(cg, "break;");
      break;
    case ST_CONTINUE:
      cg_line(cg, "continue;");
      break;
    case ST_RAISE: /* the message is an argument, never part of the format */
      src_comment(cg, st->loc);
      cg_line(cg, "%s;", cg_fatal_call(cg, st->loc, "%s", arena_printf(cg->arena, "\"%s\"", cg_text(cg, st->path, false))));
      break;
    case ST_SAVE:
    case ST_LOAD:
      src_comment(cg, st->loc);
      emit_ckpt(cg, st);
      break;
    case ST_EXTENT: { /* a graph's run-time length, checked against the bound its buffers have */
      const Loader *ld = &p->loaders[st->loader];
      src_comment(cg, st->loc);
      const char *x = cg->lbatch[st->loader];
      cg_line(cg, "%s = %s;", x, hexpr(cg, st->expr, st->loc));
      cg_line(cg, "if (%s < 0 || %s > %lld)", x, x, (long long)ld->batch);
      cg_line(cg, "  %s;", cg_fatal_call(cg, st->loc, "a run-time length of %lld is out of range (0 to %lld)",
                                          arena_printf(cg->arena, "(long long)%s, (long long)%lld", x, (long long)ld->batch)));
      break;
    }
    case ST_APPEND: { /* dst[.., len:len+k, ..] = src; len += k */
      const Var *d = &p->vars[st->vars[0]], *x = &p->vars[st->vars[1]];
      int dim = (int)st->step;
      int64_t outer = 1, inner = 1, cap = d->shape.d[dim], k = x->shape.d[dim];
      for (int i = 0; i < dim; i++) outer *= d->shape.d[i];
      for (int i = dim + 1; i < d->shape.rank; i++) inner *= d->shape.d[i];
      const char *D = cg->vname[st->vars[0]], *X = cg->vname[st->vars[1]], *len = cg->hname[st->hvar];
      src_comment(cg, st->loc);
      cg_line(cg, "/* %s grows by %lld along dim %d, to at most %lld */", D, (long long)k, dim, (long long)cap);
      cg_line(cg, "if (%s < 0 || %s > %lld)", len, len, (long long)(cap - k));
      cg_line(cg, "  %s;", cg_fatal_call(cg, st->loc, "torch.cat grows a tensor past the %lld it can hold here",
                                          arena_printf(cg->arena, "(long long)%lld", (long long)cap)));
      if (outer == 1)
        cg_line(cg, "memcpy(%s + %s * %lld, %s, %lld * sizeof *%s);", D, len, (long long)inner, X, (long long)(k * inner), D);
      else
        cg_line(cg, "for (int64_t r = 0; r < %lld; r++) memcpy(%s + (r * %lld + %s) * %lld, %s + r * %lld, %lld * sizeof *%s);",
                (long long)outer, D, (long long)cap, len, (long long)inner, X, (long long)(k * inner),
                (long long)(k * inner), D);
      cg_line(cg, "%s += %lld;", len, (long long)k);
      break;
    }
    case ST_CALL: { /* fn([loader,] args..., [n, (void *[]){vars}, (const int64_t[]){numels}]) */
      src_comment(cg, st->loc);
      const char *c = arena_printf(cg->arena, "%s(", st->fn);
      const char *sep = "";
      if (st->loader >= 0) c = arena_printf(cg->arena, "%s%s", c, cg->lname[st->loader]), sep = ", ";
      for (int k = 0; k < st->nargs; k++, sep = ", ")
        c = arena_printf(cg->arena, "%s%s%s", c, sep, hexpr(cg, st->args[k], st->loc));
      if (st->nkeys) {
        const char *ptrs = "", *counts = "";
        for (int k = 0; k < st->nkeys; k++) {
          const Var *v = &cg->p->vars[st->vars[k]];
          ptrs = arena_printf(cg->arena, "%s%s%s", ptrs, k ? ", " : "", cg->vname[st->vars[k]]);
          counts = arena_printf(cg->arena, "%s%s%lld", counts, k ? ", " : "", (long long)shape_numel(&v->shape));
        }
        c = arena_printf(cg->arena, "%s%s%d, (void *[]){%s}, (const int64_t[]){%s}", c, sep, st->nkeys, ptrs, counts);
      }
      cg_line(cg, "%s);", c);
      break;
    }
    case ST_LIST_INIT:
    case ST_LIST_APPEND: {
      const char *name = cg->hname[st->hvar];
      cg_helper(cg, CG_H_LIST);
      src_comment(cg, st->loc);
      if (st->kind == ST_LIST_INIT) cg_line(cg, "%s.n = 0;", name);
      int n1 = st->kind == ST_LIST_INIT ? st->nitems : 1;
      for (int k = 0; k < n1; k++) {
        const HostExpr *e = st->kind == ST_LIST_INIT ? st->items[k].expr : st->expr;
        if (e->isfloat)
          cg_line(cg, "ttc_list_push_f(&%s, %s);", name, hexpr(cg, e, st->loc));
        else
          cg_line(cg, "ttc_list_push_i(&%s, %s, %d);", name, hexpr(cg, e, st->loc), e->isbool);
      }
      break;
    }
    default:
      return cg_fail(cg, "statement of unknown kind %d", (int)st->kind);
    }
  }
  return true;
}

/* ---- main() ----------------------------------------------------------------------- */

/* Marks the loaders some statement loops over. */
static void mark_loops(const Stmt *list, int n, bool *looped) {
  for (int s = 0; s < n; s++) {
    const Stmt *st = &list[s];
    if (st->kind == ST_LOADER) looped[st->loader] = true;
    if (st->kind == ST_FOR || st->kind == ST_LOADER || st->kind == ST_IF) mark_loops(st->body, st->nbody, looped);
    if (st->kind == ST_IF) mark_loops(st->orelse, st->norelse, looped);
  }
}

/* Marks the graphs called and the vars named by host statements. */
static void mark_used(const Stmt *list, int n, bool *called, bool *used) {
  for (int s = 0; s < n; s++) {
    const Stmt *st = &list[s];
    if (st->kind == ST_GRAPH) called[st->graph] = true;
    for (int k = 0; st->kind == ST_PRINT && k < st->nitems; k++)
      if (st->items[k].var >= 0) used[st->items[k].var] = true;
    for (int k = 0; (st->kind == ST_SAVE || st->kind == ST_LOAD || st->kind == ST_CALL || st->kind == ST_APPEND) &&
                    k < st->nkeys; k++)
      used[st->vars[k]] = true;
    if (st->kind == ST_FOR || st->kind == ST_LOADER || st->kind == ST_IF)
      mark_used(st->body, st->nbody, called, used);
    if (st->kind == ST_IF) mark_used(st->orelse, st->norelse, called, used);
  }
}

/* Vars read by .item() in host expressions. */
static void mark_items(const HostExpr *e, bool *used) {
  for (; e; e = e->b) {
    if (e->kind == HX_ITEM) used[e->var] = true;
    if (e->kind != HX_BIN && e->kind != HX_UN && e->kind != HX_LIST_GET && e->kind != HX_KEYPOS &&
        e->kind != HX_STR && e->kind != HX_STRLEN)
      return;
    mark_items(e->a, used);
    if (e->kind != HX_BIN) return;
  }
}

static void mark_items_stmts(const Stmt *list, int n, bool *used) {
  for (int s = 0; s < n; s++) {
    const Stmt *st = &list[s];
    mark_items(st->expr, used);
    if (st->kind == ST_FOR) mark_items(st->expr2, used);
    for (int k = 0; st->kind == ST_CALL && k < st->nargs; k++) mark_items(st->args[k], used);
    for (int k = 0; (st->kind == ST_PRINT || st->kind == ST_LIST_INIT) && k < st->nitems; k++)
      if (st->items[k].var < 0) mark_items(st->items[k].expr, used);
    mark_items_stmts(st->body, st->nbody, used);
    mark_items_stmts(st->orelse, st->norelse, used);
  }
}

/* A string table: its strings, a dict's keys (unless 0..n-1) and each string's len(), the
 * number of its code points. Maybe unused: a program may read only some of them. */
static void emit_strtab(Cg *cg, int t) {
  const StrTable *tab = &cg->p->strtabs[t];
  static const char *const kinds[] = {"list", "tuple", "str", "dict"};
  cg_line(cg, "/* the %d strings of a %s that run-time keys select */", tab->n, kinds[tab->kind]);
  cg_line(cg, "static TT_MAYBE_UNUSED const char *const %s[%d] = {", cg->sname[t], tab->n > 0 ? tab->n : 1);
  for (int i = 0; i < tab->n; i++) cg_line(cg, "  \"%s\",", escaped(cg, tab->strs[i]));
  if (tab->n == 0) cg_line(cg, "  \"\", /* none: every key is an error */");
  cg_line(cg, "};");
  if (tab->keys) {
    cg_line(cg, "static TT_MAYBE_UNUSED const int64_t %s[%d] = {", cg->skeys[t], tab->n > 0 ? tab->n : 1);
    for (int i = 0; i < tab->n; i += 8) {
      char buf[512];
      size_t q = 0;
      for (int k = i; k < tab->n && k < i + 8; k++)
        q += (size_t)snprintf(buf + q, sizeof buf - q, "%s%lld,", k > i ? " " : "", (long long)tab->keys[k]);
      cg_line(cg, "  %s", buf);
    }
    cg_line(cg, "};");
  }
  cg_line(cg, "static TT_MAYBE_UNUSED const int64_t %s[%d] = {", cg->slen[t], tab->n > 0 ? tab->n : 1);
  for (int i = 0; i < tab->n; i += 16) {
    char buf[512];
    size_t q = 0;
    for (int k = i; k < tab->n && k < i + 16; k++) {
      int64_t len = 0;
      for (const unsigned char *c = (const unsigned char *)tab->strs[k]; *c; c++) len += (*c & 0xC0) != 0x80;
      q += (size_t)snprintf(buf + q, sizeof buf - q, "%s%lld,", k > i ? " " : "", (long long)len);
    }
    cg_line(cg, "  %s", buf);
  }
  if (tab->n == 0) cg_line(cg, "  0,");
  cg_line(cg, "};");
}

void cg_emit_host_decls(Cg *cg) {
  const Program *p = cg->p;
  for (int h = 0; h < p->nhvars; h++)
    if (p->hvars[h].list)
      cg_line(cg, "static ttc_list %s; /* host list */", cg->hname[h]);
    else
      cg_line(cg, "static %s %s; /* host %s */", p->hvars[h].isfloat ? "double" : "int64_t",
              cg->hname[h], p->hvars[h].isfloat ? "float" : "int");
  for (int t = 0; t < p->nstrtabs; t++) emit_strtab(cg, t);
  for (int l = 0; l < p->nloaders; l++) {
    if (p->loaders[l].kind == LD_EXTENT) {
      cg_line(cg, "static int64_t %s; /* a run-time length, at most %lld */", cg->lbatch[l],
              (long long)p->loaders[l].batch);
      continue;
    }
    cg_line(cg, "static TtLoader *%s;", cg->lname[l]);
    cg_line(cg, "static int64_t %s; /* samples in %s's current batch */", cg->lbatch[l],
            cg->lname[l]);
  }
  if (p->nhvars || p->nloaders || p->nstrtabs) fputc('\n', cg->out);
}

static void open_loader(Cg *cg, int l) {
  const Loader *ld = &cg->p->loaders[l];
  const char *L = cg->lname[l], *sh = ld->shuffle ? "true" : "false";
  const char *dl = ld->drop_last ? "true" : "false";
  switch (ld->kind) {
  case LD_IDX:
    cg_line(cg, "%s = tt_loader_idx(\"%s\", \"%s\", %lld, %s, %s);", L, escaped(cg, ld->root),
            escaped(cg, ld->prefix), (long long)ld->batch, sh, dl);
    break;
  case LD_CIFAR10: {
    /* Loader.prefix says which split: "test" (or "t10k") is the test batch. */
    bool train = !ld->prefix || (strcmp(ld->prefix, "test") && strcmp(ld->prefix, "t10k"));
    cg_line(cg, "%s = tt_loader_cifar10(\"%s\", %s, %lld, %s, %s);", L, escaped(cg, ld->root),
            train ? "true" : "false", (long long)ld->batch, sh, dl);
    break;
  }
  case LD_EXTENT: break; /* no data */
  case LD_TENSORS: {
    const Var *x = &cg->p->vars[ld->srcx];
    int64_t xrow = ld->n ? shape_numel(&x->shape) / ld->n : 0;
    const char *y = "NULL", *yrow = "0";
    if (ld->srcy >= 0) {
      const Var *yv = &cg->p->vars[ld->srcy];
      y = cg->vname[ld->srcy];
      yrow = arena_printf(cg->arena, "%lld * sizeof *%s",
                          (long long)(ld->n ? shape_numel(&yv->shape) / ld->n : 0), y);
    }
    cg_line(cg, "%s = tt_loader_tensors(%s, %lld * sizeof *%s, %s, %s, %lld, %lld, %s, %s);", L,
            cg->vname[ld->srcx], (long long)xrow, cg->vname[ld->srcx], y, yrow, (long long)ld->n,
            (long long)ld->batch, sh, dl);
    break;
  }
  }
}

bool cg_emit_main(Cg *cg) {
  const Program *p = cg->p;
  fputs("int main(int argc, char **argv) {\n", cg->out);
  cg->indent = 1;
  cg_line(cg, "tt_init(argc, argv);");
  cg->m_loader = -1;
  if (cg->opt->metrics)
    cg_line(cg, "tt_metrics_open(%s);",
            cg->opt->metrics->path
                ? arena_printf(cg->arena, "\"%s\"", escaped(cg, cg->opt->metrics->path))
                : "NULL");
  if (cg->data_size)
    cg_line(cg, "tt_data_check(tt_data, tt_data_end, %llu, 0x%016llxULL, \"%s\");",
            (unsigned long long)cg->data_size, (unsigned long long)cg->data_hash,
            cg_text(cg, cg->opt->data_name, false));
  if (p->seed != TORCH_DEFAULT_SEED)
    cg_line(cg, "tt_manual_seed(%llu%s);", (unsigned long long)p->seed,
            p->seed > (uint64_t)INT64_MAX ? "u" : "");
  /* Graphs and vars nothing refers to would be unused statics, which -Wall rejects. */
  bool *called = arena_alloc(cg->arena, (size_t)(p->ngraphs + 1) * sizeof *called);
  bool *used = arena_alloc(cg->arena, (size_t)(p->nvars + 1) * sizeof *used);
  mark_used(p->stmts, p->nstmts, called, used);
  mark_items_stmts(p->stmts, p->nstmts, used);
  bool *looped = arena_alloc(cg->arena, (size_t)(p->nloaders + 1) * sizeof *looped);
  mark_loops(p->stmts, p->nstmts, looped);
  for (int l = 0; l < p->nloaders; l++) {
    const Loader *ld = &p->loaders[l];
    /* a loader nothing loops over still opens its files, but its buffers are unused */
    if (looped[l]) used[ld->xvar] = true;
    if (looped[l] && ld->yvar >= 0) used[ld->yvar] = true;
    if (ld->kind == LD_TENSORS) {
      used[ld->srcx] = true;
      if (ld->srcy >= 0) used[ld->srcy] = true;
    }
  }
  for (int gi = 0; gi < p->ngraphs; gi++)
    for (int id = 0; id < p->graphs[gi]->n; id++) {
      const Node *n = &p->graphs[gi]->nodes[id];
      if (n->op == OP_INPUT || n->op == OP_STORE) used[n->attr.var] = true;
      if (ir_ops[n->op].flags & OPF_OPTIM)
        for (int k = 0; k < n->attr.nints; k++) used[n->attr.ints[k]] = true;
    }
  for (int gi = 0; gi < p->ngraphs; gi++)
    if (!called[gi]) cg_line(cg, "(void)%s; /* not called by the program */", cg->gname[gi]);
  for (int l = 0; l < p->nloaders; l++)
    if (!looped[l] && p->loaders[l].kind != LD_EXTENT)
      cg_line(cg, "(void)%s; /* no loop runs over %s */", cg->lbatch[l], cg->lname[l]);
  for (int v = 0; v < p->nvars; v++)
    if (!used[v] && p->vars[v].kind != VAR_GRAD && !p->vars[v].removed)
      cg_line(cg, "(void)%s; /* not used by the program */", cg->vname[v]);
  for (int l = 0; l < p->nloaders; l++)
    if (p->loaders[l].kind != LD_EXTENT) open_loader(cg, l);
  TextRun run = {0};
  run_add(&run, "");
  bool ok = emit_stmts(cg, p->stmts, p->nstmts, &run, 0);
  run_flush(cg, &run);
  free(run.buf);
  if (!ok) return false;
  for (int l = 0; l < p->nloaders; l++)
    if (p->loaders[l].kind != LD_EXTENT) cg_line(cg, "tt_loader_free(%s);", cg->lname[l]);
  cg_line(cg, "return 0;");
  cg->indent = 0;
  fputs("}\n", cg->out);
  return true;
}
