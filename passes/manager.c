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
  {"autodiff", "reverse-mode autodiff: replace each backward() with the gradient graph", pass_autodiff},
  {"conv-im2col", "run float32 convolutions as im2col + GEMM instead of the direct loops", pass_conv_im2col},
  {"dce", "dead-code elimination: drop nodes nothing uses (random draws are kept)", pass_dce},
};
const int pass_count = (int)(sizeof pass_registry / sizeof pass_registry[0]);

const PassInfo *pass_lookup(const char *name) {
  for (int i = 0; i < pass_count; i++)
    if (!strcmp(pass_registry[i].name, name)) return &pass_registry[i];
  return NULL;
}

void pass_list(FILE *f) {
  for (int i = 0; i < pass_count; i++)
    fprintf(f, "  %-10s %s\n", pass_registry[i].name, pass_registry[i].summary);
}

const char *pass_pipeline_for_level(int level) {
  /* autodiff is not an optimization: without it backward() computes nothing */
  return level <= 0 ? "autodiff" : "autodiff,conv-im2col,dce";
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

typedef struct Run {
  Program *p;
  const PipelineOpts *o;
  IrErr *err;
} Run;

static bool run_one(const char *name, void *ctx) {
  Run *r = ctx;
  const PassInfo *pi = pass_lookup(name);
  for (int gi = 0; gi < r->p->ngraphs; gi++) {
    PassCtx cx = {.p = r->p};
    cx.err.off = -1;
    Graph *in = r->p->graphs[gi];
    Graph *out = pi->fn(in, &cx);
    if (!out) {
      r->err->off = cx.err.off;
      if (cx.err.off >= 0) /* the user's mistake, at their line: no internal names */
        snprintf(r->err->msg, sizeof r->err->msg, "%s", cx.err.msg);
      else
        snprintf(r->err->msg, sizeof r->err->msg, "pass %s failed on %s: %.150s", name, in->name, cx.err.msg);
      return false;
    }
    if (out != in) {
      r->p->graphs[gi] = out;
      ir_graph_free(in);
    }
    IrErr verr;
    if (!ir_verify(r->p, out, &verr)) {
      snprintf(r->err->msg, sizeof r->err->msg, "internal error: the IR after pass %s does not verify: %.150s",
               name, verr.msg);
      return false;
    }
  }
  if (r->o && (r->o->print_after_all || (r->o->print_after && !strcmp(r->o->print_after, name)))) {
    FILE *f = r->o->trace ? r->o->trace : stderr;
    fprintf(f, "; *** IR after %s ***\n", name);
    ir_print_program(f, r->p);
  }
  return true;
}

bool pass_run_pipeline(Program *p, const char *list, const PipelineOpts *o, IrErr *err) {
  err->off = -1;
  if (!pass_check_list(list, err)) return false;
  if (o && o->print_after && !pass_lookup(o->print_after)) {
    snprintf(err->msg, sizeof err->msg, "unknown pass '%s' in --print-after (see ttc --list-passes)", o->print_after);
    return false;
  }
  Run r = {p, o, err};
  return each_name(list, err, run_one, &r);
}
