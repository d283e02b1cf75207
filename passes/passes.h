/*
 * passes.h — graph passes and the pass manager.
 *
 * Every pass has the same shape (QBE's habit): it takes a graph it must not modify and
 * returns a new graph (or the same pointer if it changed nothing), touching only that
 * graph, keeping no global state, doing no I/O but its trace. Each pass file opens with
 * Purpose / Requires / Produces. The manager runs a named pipeline over every graph of a
 * program, runs the verifier after each pass, and can print the IR after any pass, as
 * LLVM's opt does with -print-after.
 *
 * Sections: manager.c (registry, pipelines), autodiff.c (reverse-mode differentiation),
 * dce.c (dead-code elimination), convalgo.c (the convolution kernel choice).
 */
#ifndef TT_PASSES_H
#define TT_PASSES_H

#include "../ir/ir.h"

typedef struct PassCtx {
  const Program *p; /* the program the graph belongs to (vars, source) */
  IrErr err;        /* a pass that fails writes the reason here and returns NULL */
} PassCtx;

typedef Graph *(*PassFn)(const Graph *in, PassCtx *cx);

typedef struct PassInfo {
  const char *name;
  const char *summary;
  PassFn fn;
} PassInfo;

/* ---- manager.c -------------------------------------------------------------------- */

/* The registered passes, in pipeline order (keep in sync with nothing: this is the list). */
extern const PassInfo pass_registry[];
extern const int pass_count;
const PassInfo *pass_lookup(const char *name);
void pass_list(FILE *f);

/* The default pipeline for an optimization level ("" for -O0). */
const char *pass_pipeline_for_level(int level);

typedef struct PipelineOpts {
  const char *print_after; /* pass name, or NULL */
  bool print_after_all;
  FILE *trace;             /* where IR dumps go (stderr) */
} PipelineOpts;

/*
 * Runs the comma-separated pass list over every graph of p, replacing each graph with
 * the pass's result and verifying it. Unknown pass names, pass failures and verifier
 * failures return false with a message in err.
 */
bool pass_run_pipeline(Program *p, const char *list, const PipelineOpts *o, IrErr *err);
/* Checks a pass list names only registered passes. */
bool pass_check_list(const char *list, IrErr *err);

/* ---- the passes (one file each) ---------------------------------------------------- */
Graph *pass_autodiff(const Graph *in, PassCtx *cx);
Graph *pass_dce(const Graph *in, PassCtx *cx);
Graph *pass_conv_im2col(const Graph *in, PassCtx *cx);

#endif
