/*
 * print.c — the IR's text form and its Graphviz picture.
 *
 * The text form is what golden tests check in and what --print-after shows, so it is
 * stable: node order, fixed number formats (%.9g round-trips a float), no pointers, no
 * hash order. One line per node:
 *
 *   %2:f32[3,2] = add %0, %1  @3:5  # y
 *
 * id, dtype and shape; the op and its operands; the op's attributes (printed by a small
 * per-op function); the source line:column; and the source name when there is one.
 */
#include "ir/ir.h"

#include <string.h>

static const char *var_name(const Program *p, int v) {
  if (p && v >= 0 && v < p->nvars) return p->vars[v].name;
  return "?";
}

static void print_ints(FILE *f, const int64_t *v, int n) {
  fputc('[', f);
  for (int i = 0; i < n; i++) fprintf(f, "%s%lld", i ? "," : "", (long long)v[i]);
  fputc(']', f);
}

static void print_dims(FILE *f, int64_t mask) {
  fputc('[', f);
  for (int i = 0, first = 1; i < 63; i++)
    if ((mask >> i) & 1) {
      fprintf(f, "%s%d", first ? "" : ",", i);
      first = 0;
    }
  fputc(']', f);
}

/* One element of a CONST's data, in the node's dtype. */
static void print_value(FILE *f, DType t, const void *data, int64_t i) {
  switch (t) {
  case DT_F32: fprintf(f, "%.9g", (double)((const float *)data)[i]); break;
  case DT_F64: fprintf(f, "%.17g", ((const double *)data)[i]); break;
  case DT_I64: fprintf(f, "%lld", (long long)((const int64_t *)data)[i]); break;
  case DT_I32: fprintf(f, "%d", (int)((const int32_t *)data)[i]); break;
  case DT_I8: fprintf(f, "%d", (int)((const int8_t *)data)[i]); break;
  case DT_BOOL: fputs(((const _Bool *)data)[i] ? "true" : "false", f); break;
  default: fputs("?", f); break;
  }
}

static void print_const(FILE *f, const Node *n) {
  int64_t numel = shape_numel(&n->shape);
  fputs(" [", f);
  if (n->attr.data) {
    for (int64_t i = 0; i < numel && i < 8; i++) {
      if (i) fputs(", ", f);
      print_value(f, n->dtype, n->attr.data, i);
    }
    if (numel > 8) fprintf(f, ", ... %lld values", (long long)numel);
  }
  fputc(']', f);
}

/* Attributes no per-op printer claims: whatever is non-zero, so nothing is hidden. */
static void print_attr_generic(FILE *f, const Node *n) {
  const Attr *a = &n->attr;
  for (int i = 0; i < 4; i++)
    if (a->i[i]) fprintf(f, " i%d=%lld", i, (long long)a->i[i]);
  for (int i = 0; i < 2; i++)
    if (a->f[i] != 0) fprintf(f, " f%d=%.9g", i, a->f[i]);
  if (a->nints) {
    fputs(" ints=", f);
    print_ints(f, a->ints, a->nints);
  }
}

/* Operands by uid: the numbers a pass does not change (see Node.uid). */
static void print_operands(FILE *f, const Graph *g, const Node *n) {
  for (int i = 0; i < n->nin; i++) {
    int k = n->in[i];
    fprintf(f, "%s%%%d", i ? ", " : " ", k >= 0 && k < g->n ? (int)g->nodes[k].uid : k);
  }
}

/* ---- attribute printers: ops.def's attrs column ---------------------------------- */

typedef void AttrPrinter(FILE *f, const Program *p, const Node *n);

static void pr_const(FILE *f, const Program *p, const Node *n) {
  (void)p;
  print_const(f, n);
}
static void pr_input(FILE *f, const Program *p, const Node *n) {
  fprintf(f, " $%s", var_name(p, n->attr.var));
}
static void pr_none(FILE *f, const Program *p, const Node *n) { /* e.g. cast: the dtype is the node's */
  (void)f, (void)p, (void)n;
}
static void pr_fill(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fprintf(f, " value=%.9g", n->attr.f[0]);
}
static void pr_arange(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fprintf(f, " start=%.9g step=%.9g", n->attr.f[0], n->attr.f[1]);
}
static void pr_uniform(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fprintf(f, " lo=%.9g hi=%.9g", n->attr.f[0], n->attr.f[1]);
}
static void pr_normal(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fprintf(f, " mean=%.9g std=%.9g", n->attr.f[0], n->attr.f[1]);
}
static void pr_reduce(FILE *f, const Program *p, const Node *n) { /* i[0] dims mask, i[1] keepdim */
  (void)p;
  fputs(" dims=", f);
  if (n->attr.i[0] == 0 && (n->op == OP_ARGMAX || n->op == OP_ARGMIN)) fputs("all", f);
  else print_dims(f, n->attr.i[0]);
  fprintf(f, " keepdim=%lld", (long long)n->attr.i[1]);
}
static void pr_matmul(FILE *f, const Program *p, const Node *n) {
  (void)p;
  if (n->attr.i[1]) fputs(" transpose_a=1", f);
  if (n->attr.i[0]) fputs(" transpose_b=1", f);
}
static void pr_shape(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fputs(" shape=", f);
  print_ints(f, n->attr.ints, n->attr.nints);
}
static void pr_permute(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fputs(" dims=", f);
  print_ints(f, n->attr.ints, n->attr.nints);
}
static void pr_slice(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fputs(" slices=[", f);
  for (int i = 0; i + 2 < n->attr.nints; i += 3)
    fprintf(f, "%s%lld:%lld:%lld", i ? "," : "", (long long)n->attr.ints[i], (long long)n->attr.ints[i + 1],
            (long long)n->attr.ints[i + 2]);
  fputc(']', f);
}
static void pr_dim(FILE *f, const Program *p, const Node *n) {
  (void)p;
  fprintf(f, " dim=%lld", (long long)n->attr.i[0]);
}

static void pr_kv_attn(FILE *f, const Program *p, const Node *n) {
  (void)p;
  if (n->attr.i[0]) fprintf(f, " scale=%s%.9g", n->attr.i[0] == 2 ? "1/" : "", n->attr.f[0]);
  fputs(" causal", f);
}

static AttrPrinter *const attr_printers[OP__COUNT] = {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) [OP_##op] = attrs,
#include "ir/ops.def"
#undef X
};

static void print_node(FILE *f, const Program *p, const Graph *g, const Node *n) {
  char sb[128];
  const Attr *a = &n->attr;
  const char *name = (unsigned)n->op < OP__COUNT ? ir_ops[n->op].name : "?";
  if (n->op == OP_STORE) {
    fprintf(f, "  store $%s,", var_name(p, a->var));
    print_operands(f, g, n);
  } else {
    fprintf(f, "  %%%d:%s%s = %s", (int)n->uid, dt_name(n->dtype), shape_str(&n->shape, sb, sizeof sb),
            name);
    print_operands(f, g, n);
    if ((unsigned)n->op < OP__COUNT && attr_printers[n->op]) attr_printers[n->op](f, p, n);
    else if ((unsigned)n->op >= OP__COUNT || !(ir_ops[n->op].flags & OPF_EW) || a->nints || a->i[0] ||
             a->i[1] || a->i[2] || a->i[3] || a->f[0] != 0 || a->f[1] != 0)
      print_attr_generic(f, n);
  }
  if (n->fused) fputs(" fused", f); /* computed in its user's loop (the fuse pass) */
  int line, col;
  ir_linecol(p ? p->src : NULL, n->loc.off, &line, &col);
  fprintf(f, "  @%d:%d", line, col);
  if (n->name) fprintf(f, "  # %s", n->name);
  fputc('\n', f);
}

void ir_print_graph(FILE *f, const Program *p, const Graph *g) {
  int line, col;
  ir_linecol(p ? p->src : NULL, g->loc.off, &line, &col);
  fprintf(f, "%s @%d:%d {\n", g->name ? g->name : "graph", line, col);
  for (int i = 0; i < g->n; i++) print_node(f, p, g, &g->nodes[i]);
  fputs("}\n", f);
}

/* A C-style quoted string, so printed text with newlines stays on one line. */
static void print_quoted(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c == '\n') fputs("\\n", f);
    else if (c == '\t') fputs("\\t", f);
    else if (c < 0x20 || c == 0x7f) fprintf(f, "\\x%02x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

static const char *var_kind_name(VarKind k) {
  switch (k) {
  case VAR_VALUE: return "value";
  case VAR_PARAM: return "param";
  case VAR_GRAD: return "grad";
  case VAR_STATE: return "state";
  }
  return "?";
}

/* A host expression in C-like infix, fully parenthesized. */
void ir_print_hexpr(FILE *f, const Program *p, const HostExpr *e) {
  static const char *bin[] = {"+", "-", "*", "/", "//", "%", "**", "min", "max",
                              "==", "!=", "<", "<=", ">", ">=", "and", "or", "round"};
  static const char *un[] = {"-", "not ", "cos", "sin", "exp", "log", "sqrt", "floor", "ceil",
                             "abs", "int", "float", "round"};
  if (!e) {
    fputs("?", f);
    return;
  }
  switch (e->kind) {
  case HX_INT: fprintf(f, "%lld", (long long)e->i); break;
  case HX_FLOAT: fprintf(f, "%.17g", e->f); break;
  case HX_VAR:
    fprintf(f, "%%%s", e->hvar >= 0 && e->hvar < p->nhvars ? p->hvars[e->hvar].name : "?");
    break;
  case HX_ITEM: fprintf(f, "item($%s)", var_name(p, e->var)); break;
  case HX_BIN:
    if (e->op == HB_MIN || e->op == HB_MAX || e->op == HB_ROUND) {
      fprintf(f, "%s(", bin[e->op]);
      ir_print_hexpr(f, p, e->a);
      fputs(", ", f);
      ir_print_hexpr(f, p, e->b);
      fputc(')', f);
    } else {
      fputc('(', f);
      ir_print_hexpr(f, p, e->a);
      fprintf(f, " %s ", (unsigned)e->op < sizeof bin / sizeof *bin ? bin[e->op] : "?");
      ir_print_hexpr(f, p, e->b);
      fputc(')', f);
    }
    break;
  case HX_UN:
    fprintf(f, "%s(", (unsigned)e->op < sizeof un / sizeof *un ? un[e->op] : "?");
    ir_print_hexpr(f, p, e->a);
    fputc(')', f);
    break;
  case HX_BATCH: fprintf(f, "batch(%d)", e->loader); break;
  case HX_LOADER_LEN: fprintf(f, "len_loader(%d)", e->loader); break;
  case HX_DATASET_LEN: fprintf(f, "len_dataset(%d)", e->loader); break;
  case HX_CLOCK: fputs(e->i ? "perf_counter()" : "time()", f); break;
  case HX_CALL: fprintf(f, "%s()", e->fn ? e->fn : "?"); break;
  case HX_LIST:
  case HX_LIST_LEN:
  case HX_LIST_GET:
  case HX_LIST_SUM:
  case HX_LIST_MIN:
  case HX_LIST_MAX: {
    static const char *fn[] = {"", "len", "get", "sum", "min", "max"};
    const char *name = e->hvar >= 0 && e->hvar < p->nhvars ? p->hvars[e->hvar].name : "?";
    if (e->kind == HX_LIST) {
      fprintf(f, "%%%s", name);
      break;
    }
    fprintf(f, "%s(%%%s", fn[e->kind - HX_LIST], name);
    if (e->kind == HX_LIST_GET) {
      fputs(", ", f);
      ir_print_hexpr(f, p, e->a);
    }
    fputc(')', f);
    break;
  }
  case HX_KEYPOS:
  case HX_STR:
  case HX_STRLEN:
    fprintf(f, "%s(strtab%lld, ", e->kind == HX_KEYPOS ? "keypos" : e->kind == HX_STR ? "str" : "strlen",
            (long long)e->i);
    ir_print_hexpr(f, p, e->a);
    fputc(')', f);
    break;
  }
}

/* A string table, its first entries with their keys: strtab0: dict[65] {0: "\n", ...}. */
static void print_strtab(FILE *f, int id, const StrTable *t) {
  static const char *kinds[] = {"list", "tuple", "str", "dict"};
  fprintf(f, "strtab%d: %s[%d] {", id, kinds[t->kind], t->n);
  for (int i = 0; i < t->n && i < 8; i++) {
    fprintf(f, "%s%lld: \"", i ? ", " : "", (long long)(t->keys ? t->keys[i] : i));
    for (const char *c = t->strs[i]; *c; c++)
      if (*c == '\n') fputs("\\n", f);
      else if (*c == '"' || *c == '\\') fprintf(f, "\\%c", *c);
      else fputc(*c, f);
    fputc('"', f);
  }
  fputs(t->n > 8 ? ", ...}\n" : "}\n", f);
}

static void print_stmts(FILE *f, const Program *p, const Stmt *list, int n, int depth) {
  for (int i = 0; i < n; i++) {
    const Stmt *s = &list[i];
    int line, col;
    ir_linecol(p->src, s->loc.off, &line, &col);
    fprintf(f, "%*s", depth * 2, "");
    switch (s->kind) {
    case ST_GRAPH:
      fprintf(f, "call %s",
              s->graph >= 0 && s->graph < p->ngraphs && p->graphs[s->graph]
                  ? p->graphs[s->graph]->name
                  : "?");
      break;
    case ST_PRINT:
      fputs("print", f);
      for (int k = 0; k < s->nitems; k++) {
        const PrintItem *it = &s->items[k];
        fputs(k ? ", " : " ", f);
        if (it->var >= 0) {
          fprintf(f, "$%s", var_name(p, it->var));
          if (it->param) fputs(" param", f);
          if (it->requires_grad) fputs(" requires_grad", f);
          if (it->gradfn) fprintf(f, " grad_fn=%s", it->gradfn);
        } else if (it->expr) {
          ir_print_hexpr(f, p, it->expr);
          if (it->spec) fprintf(f, ":%s", it->spec);
        } else {
          print_quoted(f, it->text);
        }
      }
      fputs(" sep=", f);
      print_quoted(f, s->sep ? s->sep : " ");
      fputs(" end=", f);
      print_quoted(f, s->end ? s->end : "\n");
      break;
    case ST_ASSIGN:
      fprintf(f, "%%%s = ", s->hvar >= 0 && s->hvar < p->nhvars ? p->hvars[s->hvar].name : "?");
      ir_print_hexpr(f, p, s->expr);
      break;
    case ST_FOR:
      fprintf(f, "for %%%s in range(", s->hvar >= 0 && s->hvar < p->nhvars ? p->hvars[s->hvar].name : "?");
      ir_print_hexpr(f, p, s->expr);
      fputs(", ", f);
      ir_print_hexpr(f, p, s->expr2);
      fprintf(f, ", %lld)", (long long)s->step);
      break;
    case ST_LOADER:
      fprintf(f, "for batch in %s",
              s->loader >= 0 && s->loader < p->nloaders && p->loaders[s->loader].name ? p->loaders[s->loader].name : "?");
      if (s->desc) fprintf(f, " progress=\"%s\"", s->desc);
      break;
    case ST_POSTFIX:
      fputs("postfix", f);
      for (int k = 0; k < s->nitems; k++) {
        const PrintItem *it = &s->items[k];
        fputs(k ? ", " : " ", f);
        if (it->expr) {
          ir_print_hexpr(f, p, it->expr);
          if (it->spec) fprintf(f, ":%s", it->spec);
        } else print_quoted(f, it->text ? it->text : "");
      }
      break;
    case ST_IF:
      fputs("if ", f);
      ir_print_hexpr(f, p, s->expr);
      break;
    case ST_BREAK: fputs("break", f); break;
    case ST_CONTINUE: fputs("continue", f); break;
    case ST_RAISE:
      fputs("raise ", f);
      print_quoted(f, s->path ? s->path : "");
      break;
    case ST_SAVE:
    case ST_LOAD:
      fprintf(f, "%s \"%s\"", s->kind == ST_SAVE ? "save" : "load", s->path ? s->path : "");
      for (int k = 0; k < s->nkeys; k++) fprintf(f, " %s=$%s", s->keys[k], var_name(p, s->vars[k]));
      break;
    case ST_LIST_INIT:
      fprintf(f, "%%%s = [", s->hvar >= 0 && s->hvar < p->nhvars ? p->hvars[s->hvar].name : "?");
      for (int k = 0; k < s->nitems; k++) {
        if (k) fputs(", ", f);
        ir_print_hexpr(f, p, s->items[k].expr);
      }
      fputc(']', f);
      break;
    case ST_CALL:
      fprintf(f, "call %s(", s->fn ? s->fn : "?");
      if (s->loader >= 0) fprintf(f, "loader%d%s", s->loader, s->nargs + s->nkeys ? ", " : "");
      for (int k = 0; k < s->nargs; k++) {
        if (k) fputs(", ", f);
        ir_print_hexpr(f, p, s->args[k]);
      }
      for (int k = 0; k < s->nkeys; k++) fprintf(f, "%s$%s", k || s->nargs ? ", " : "", var_name(p, s->vars[k]));
      fputc(')', f);
      break;
    case ST_EXTENT:
      fprintf(f, "extent loader%d = ", s->loader);
      ir_print_hexpr(f, p, s->expr);
      break;
    case ST_APPEND:
      fprintf(f, "append $%s[%%%s, dim %lld] = $%s", var_name(p, s->vars[0]),
              s->hvar >= 0 && s->hvar < p->nhvars ? p->hvars[s->hvar].name : "?", (long long)s->step,
              var_name(p, s->vars[1]));
      break;
    case ST_LIST_APPEND:
      fprintf(f, "%%%s.append(", s->hvar >= 0 && s->hvar < p->nhvars ? p->hvars[s->hvar].name : "?");
      ir_print_hexpr(f, p, s->expr);
      fputc(')', f);
      break;
    default: fprintf(f, "stmt%d", (int)s->kind); break;
    }
    fprintf(f, "  @%d:%d\n", line, col);
    if (s->kind == ST_FOR || s->kind == ST_LOADER || s->kind == ST_IF) {
      print_stmts(f, p, s->body, s->nbody, depth + 1);
      if (s->kind == ST_IF && s->norelse) {
        fprintf(f, "%*selse\n", depth * 2, "");
        print_stmts(f, p, s->orelse, s->norelse, depth + 1);
      }
    }
  }
}

void ir_print_program(FILE *f, const Program *p) {
  char sb[128];
  for (int i = 0; i < p->nvars; i++) {
    const Var *v = &p->vars[i];
    fprintf(f, "var $%s: %s%s %s", v->name, dt_name(v->dtype),
            shape_str(&v->shape, sb, sizeof sb), var_kind_name(v->kind));
    if (v->requires_grad) fputs(" requires_grad", f);
    if (v->grad >= 0) fprintf(f, " grad=$%s", var_name(p, v->grad));
    if (v->grad_of >= 0) fprintf(f, " grad_of=$%s", var_name(p, v->grad_of));
    if (v->removed) fputs(" removed", f); /* by a pass (quantize): declared nowhere */
    fputc('\n', f);
  }
  for (int i = 0; i < p->nhvars; i++)
    fprintf(f, "host %%%s: %s\n", p->hvars[i].name, p->hvars[i].isfloat ? "float" : "int");
  for (int i = 0; i < p->nloaders; i++) {
    const Loader *ld = &p->loaders[i];
    static const char *kinds[] = {"idx", "cifar10", "tensors", "extent"};
    fprintf(f, "loader %s: %s", ld->name ? ld->name : "?", kinds[ld->kind]);
    if (ld->root) fprintf(f, " root=\"%s\"", ld->root);
    if (ld->prefix) fprintf(f, " prefix=%s", ld->prefix);
    if (ld->kind == LD_TENSORS) fprintf(f, " n=%lld", (long long)ld->n);
    fprintf(f, " batch=%lld shuffle=%d drop_last=%d", (long long)ld->batch, ld->shuffle, ld->drop_last);
    if (ld->xvar >= 0) fprintf(f, " x=$%s", var_name(p, ld->xvar));
    if (ld->yvar >= 0) fprintf(f, " y=$%s", var_name(p, ld->yvar));
    fputc('\n', f);
  }
  for (int i = 0; i < p->nstrtabs; i++) print_strtab(f, i, &p->strtabs[i]);
  print_stmts(f, p, p->stmts, p->nstmts, 0);
  for (int i = 0; i < p->ngraphs; i++)
    if (p->graphs[i]) ir_print_graph(f, p, p->graphs[i]);
}

/* ---- Graphviz ----------------------------------------------------------------------- */

/* Text inside a double-quoted dot label: escape what dot would interpret. */
static void dot_text(FILE *f, const char *s) {
  for (; s && *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    if (*s == '\n') fputs("\\n", f);
    else fputc(*s, f);
  }
}

void ir_print_dot(FILE *f, const Program *p) {
  char sb[128];
  fputs("digraph ttc {\n", f);
  fputs("  node [shape=box, fontname=\"monospace\"];\n", f);
  for (int v = 0; v < p->nvars; v++) {
    fprintf(f, "  v%d [shape=ellipse, label=\"$", v);
    dot_text(f, p->vars[v].name);
    fputs("\"];\n", f);
  }
  for (int gi = 0; gi < p->ngraphs; gi++) {
    const Graph *g = p->graphs[gi];
    if (!g) continue;
    fprintf(f, "  subgraph cluster_g%d {\n    label=\"", gi);
    dot_text(f, g->name);
    fputs("\";\n", f);
    for (int i = 0; i < g->n; i++) {
      const Node *n = &g->nodes[i];
      const char *op = (unsigned)n->op < OP__COUNT ? ir_ops[n->op].name : "?";
      fprintf(f, "    g%dn%d [label=\"%s\\n%s%s", gi, i, op, dt_name(n->dtype),
              shape_str(&n->shape, sb, sizeof sb));
      if (n->name) {
        fputs("\\n", f);
        dot_text(f, n->name);
      }
      fputs("\"];\n", f);
    }
    fputs("  }\n", f);
    for (int i = 0; i < g->n; i++) {
      const Node *n = &g->nodes[i];
      for (int k = 0; k < n->nin; k++) fprintf(f, "  g%dn%d -> g%dn%d;\n", gi, n->in[k], gi, i);
      if (n->op == OP_INPUT && n->attr.var >= 0 && n->attr.var < p->nvars)
        fprintf(f, "  v%d -> g%dn%d;\n", n->attr.var, gi, i);
      if (n->op == OP_STORE && n->attr.var >= 0 && n->attr.var < p->nvars)
        fprintf(f, "  g%dn%d -> v%d;\n", gi, i, n->attr.var);
    }
  }
  fputs("}\n", f);
}
