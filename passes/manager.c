/*
 * manager.c — the pass registry and the pipeline runner.
 *
 * A pipeline is a comma-separated list of pass names ("dce"), or an optimization level
 * mapped to one. After each pass on each graph the verifier runs, so a pass that breaks
 * an invariant is caught at the pass, not in the emitted C. --print-after=NAME prints the
 * whole program's IR after NAME ran on every graph (as LLVM's opt -print-after).
 */
#include "passes.h"

#include <string.h>

const PassInfo pass_registry[] = {
  {"autodiff", "reverse-mode autodiff: replace each backward() with the gradient graph", PASS_GRAPH,
   pass_autodiff, NULL},
  {"kvcache", "KV cache: a generation loop computes only its new positions, with K and V caches",
   PASS_PROGRAM, NULL, pass_kvcache},
  {"conv-im2col", "run float32 convolutions as im2col + GEMM instead of the direct loops",
   PASS_GRAPH, pass_conv_im2col, NULL},
  {"fuse", "kernel fusion: a weight gradient's matmul adds into .grad in its GEMM (matmul_acc)",
   PASS_GRAPH, pass_fuse, NULL},
  {"dce", "dead-code elimination: drop nodes nothing uses (random draws are kept)", PASS_GRAPH,
   pass_dce, NULL},
  {"prune", "pruning in the code: removed neurons leave the arrays; 80%+ zeros use a sparse kernel",
   PASS_PROGRAM, NULL, pass_prune},
  {"quantize", "int8 models hold only int8 weights: float weights nothing needs leave", PASS_PROGRAM, NULL, pass_quantize},
  {"memplan", "static memory planning: intermediates share one arena by lifetime (best fit)",
   PASS_PROGRAM, NULL, pass_memplan},
};
const int pass_count = (int)(sizeof pass_registry / sizeof pass_registry[0]);

const PassInfo *pass_lookup(const char *name) {
  for (int i = 0; i < pass_count; i++)
    if (!strcmp(pass_registry[i].name, name)) return &pass_registry[i];
  return NULL;
}

void pass_list(FILE *f) {
  fprintf(f, "passes (kind: graph passes run on each graph, program passes on the whole program):\n");
  for (int i = 0; i < pass_count; i++)
    fprintf(f, "  %-12s %-8s %s\n", pass_registry[i].name,
            pass_registry[i].kind == PASS_PROGRAM ? "program" : "graph", pass_registry[i].summary);
  fprintf(f, "default pipeline: -O0 %s; -O1 %s\n", pass_pipeline_for_level(0), pass_pipeline_for_level(1));
}

const char *pass_pipeline_for_level(int level) {
  /* autodiff is not an optimization: without it backward() computes nothing */
  return level <= 0 ? "autodiff" : "autodiff,kvcache,conv-im2col,dce,fuse,dce,memplan";
}

/* Calls fn(name) for each name in the list; stops at the first false. */
static bool each_name(const char *list, IrErr *err, bool (*fn)(const char *, void *), void *ctx) {
  const char *p = list;
  while (p && *p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char name[64];
    if (n == 0) {
      p = e ? e + 1 : NULL;
      continue;
    }
    if (n >= sizeof name) {
      snprintf(err->msg, sizeof err->msg, "unknown pass '%.*s'", 40, p);
      return false;
    }
    memcpy(name, p, n);
    name[n] = 0;
    if (!pass_lookup(name)) {
      snprintf(err->msg, sizeof err->msg, "unknown pass '%s' (see ttc --list-passes)", name);
      return false;
    }
    if (fn && !fn(name, ctx)) return false;
    p = e ? e + 1 : NULL;
  }
  return true;
}

bool pass_check_list(const char *list, IrErr *err) {
  return each_name(list, err, NULL, NULL);
}

/* A pass's failure as the driver shows it: at the user's line, or naming the pass. */
static void pass_failed(IrErr *err, const char *pass, const char *where, const IrErr *why) {
  err->off = why->off;
  if (why->off >= 0) /* the user's mistake, at their line: no internal names */
    snprintf(err->msg, sizeof err->msg, "%s", why->msg);
  else
    snprintf(err->msg, sizeof err->msg, "pass %s failed on %s: %.150s", pass, where, why->msg);
}

static bool not_verified(IrErr *err, const char *pass, const IrErr *verr) {
  err->off = -1;
  snprintf(err->msg, sizeof err->msg, "internal error: the IR after pass %s does not verify: %.150s",
           pass, verr->msg);
  return false;
}

Program *pass_apply(Program *p, const PassInfo *pi, IrErr *err) {
  return pass_apply_explained(p, pi, NULL, err);
}

Program *pass_apply_explained(Program *p, const PassInfo *pi, FILE *explain, IrErr *err) {
  err->off = -1;
  if (pi->kind == PASS_PROGRAM) {
    PassCtx cx = {.p = p, .explain = explain};
    cx.err.off = -1;
    cx.err.msg[0] = '\0';
    Program *out = pi->pfn(p, &cx);
    if (!out) {
      pass_failed(err, pi->name, "the program", &cx.err);
      ir_program_free(p);
      return NULL;
    }
    if (out != p) ir_program_free(p);
    IrErr verr;
    if (!ir_verify_program(out, &verr)) {
      not_verified(err, pi->name, &verr);
      ir_program_free(out);
      return NULL;
    }
    return out;
  }
  for (int gi = 0; gi < p->ngraphs; gi++) {
    PassCtx cx = {.p = p, .explain = explain};
    cx.err.off = -1;
    cx.err.msg[0] = '\0';
    Graph *in = p->graphs[gi];
    Graph *out = pi->fn(in, &cx);
    if (!out) {
      pass_failed(err, pi->name, in->name, &cx.err);
      ir_program_free(p);
      return NULL;
    }
    if (out != in) {
      p->graphs[gi] = out;
      ir_graph_free(in);
    }
    IrErr verr;
    if (!ir_verify(p, out, &verr)) {
      not_verified(err, pi->name, &verr);
      ir_program_free(p);
      return NULL;
    }
  }
  return p;
}

typedef struct Run {
  Program *p;
  const PipelineOpts *o;
  IrErr *err;
} Run;

static bool run_one(const char *name, void *ctx) {
  Run *r = ctx;
  FILE *ex = r->o && r->o->explain && !strcmp(r->o->explain, name) ? (r->o->trace ? r->o->trace : stderr) : NULL;
  r->p = pass_apply_explained(r->p, pass_lookup(name), ex, r->err);
  if (!r->p) return false;
  if (r->o && (r->o->print_after_all || (r->o->print_after && !strcmp(r->o->print_after, name)))) {
    FILE *f = r->o->trace ? r->o->trace : stderr;
    fprintf(f, "; *** IR after %s ***\n", name);
    ir_print_program(f, r->p);
  }
  return true;
}

Program *pass_run_pipeline(Program *p, const char *list, const PipelineOpts *o, IrErr *err) {
  err->off = -1;
  if (!pass_check_list(list, err)) {
    ir_program_free(p);
    return NULL;
  }
  if (o && o->print_after && !pass_lookup(o->print_after)) {
    snprintf(err->msg, sizeof err->msg, "unknown pass '%s' in --print-after (see ttc --list-passes)", o->print_after);
    ir_program_free(p);
    return NULL;
  }
  Run r = {p, o, err};
  if (!each_name(list, err, run_one, &r)) return NULL; /* run_one freed the program */
  return r.p;
}

typedef struct Keep {
  const char *disabled;
  char *out;
  size_t n, len;
} Keep;

static bool named_in(const char *list, const char *name) {
  size_t k = strlen(name);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == k && !strncmp(p, name, k)) return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

static bool keep_one(const char *name, void *ctx) {
  Keep *k = ctx;
  if (named_in(k->disabled, name)) return true;
  size_t l = strlen(name);
  if (k->len + l + 2 > k->n) return true; /* cannot happen with the registry's names */
  if (k->len) k->out[k->len++] = ',';
  memcpy(k->out + k->len, name, l + 1);
  k->len += l;
  return true;
}

bool pass_pipeline_without(const char *pipeline, const char *disabled, char *out, size_t n, IrErr *err) {
  err->off = -1;
  if (!pass_check_list(disabled, err)) return false;
  if (n) out[0] = '\0';
  Keep k = {disabled, out, n, 0};
  return each_name(pipeline, err, keep_one, &k);
}
