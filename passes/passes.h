/*
 * passes.h — graph and program passes, and the pass manager.
 *
 * Every pass has the same shape (QBE's habit): it takes IR it must not modify and returns
 * new IR (or the same pointer if it changed nothing), keeping no global state, doing no
 * I/O but its trace. There are two kinds:
 *   - a graph pass sees one graph (and the program, read-only, for its variables) and
 *     returns a graph; the manager runs it over every graph (autodiff, dce, conv-im2col);
 *   - a program pass sees the whole program (graphs, variables, host statements) and
 *     returns a program: it clones its input (ir_program_clone) and edits the clone with
 *     the helpers of ir/program.c (add a variable, change a variable's dtype or shape with
 *     every shape downstream re-derived, insert host statements). Quantization, pruning,
 *     the KV cache and memory planning are program passes.
 * Each pass file opens with Purpose / Requires / Produces. The manager runs a named
 * pipeline, verifies the IR after each pass (the whole program after a program pass), and
 * can print the IR after any pass, as LLVM's opt does with -print-after. The recipe for a
 * new pass is in docs/ARCHITECTURE.md.
 *
 * Sections: manager.c (registry, pipelines), autodiff.c (reverse-mode differentiation),
 * dce.c (dead-code elimination), convalgo.c (the convolution kernel choice), fuse.c
 * (kernel fusion), memplan.c (static memory planning), prune.c (structured pruning that
 * shrinks the arrays), quantize.c (an int8 model's float weights leave the program).
 */
#ifndef TT_PASSES_H
#define TT_PASSES_H

#include "../ir/ir.h"

typedef struct PassCtx {
  const Program *p; /* the program (a graph pass: the one the graph belongs to) */
  IrErr err;        /* a pass that fails writes the reason here and returns NULL; err.off
                       >= 0 makes it a diagnostic at that source position */
  FILE *explain;    /* --explain=PASS: where this pass says what it did and did not do, one
                       line each, with the .tt position; NULL otherwise */
} PassCtx;

typedef enum PassKind { PASS_GRAPH, PASS_PROGRAM } PassKind;

typedef Graph *(*PassFn)(const Graph *in, PassCtx *cx);
typedef Program *(*ProgramPassFn)(const Program *in, PassCtx *cx);

typedef struct PassInfo {
  const char *name;
  const char *summary;
  PassKind kind;
  PassFn fn;            /* PASS_GRAPH */
  ProgramPassFn pfn;    /* PASS_PROGRAM */
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
  const char *explain;     /* pass name whose explanation goes to trace (--explain=), or NULL */
} PipelineOpts;

/*
 * Runs the comma-separated pass list over p and returns the resulting program: p itself
 * (its graphs replaced by the graph passes' results) or, after a program pass, the
 * program it returned (p is then freed). Every pass's result is verified. Unknown pass
 * names, pass failures and verifier failures return NULL with a message in err (p is
 * freed then too: the caller's pointer is dead either way).
 */
Program *pass_run_pipeline(Program *p, const char *list, const PipelineOpts *o, IrErr *err);
/* One pass of either kind over p, verified; the same ownership rules. For the pipeline
 * and for tests that run a pass of their own. */
Program *pass_apply(Program *p, const PassInfo *pi, IrErr *err);
/* The same, the pass explaining itself to explain (PassCtx.explain) when not NULL. */
Program *pass_apply_explained(Program *p, const PassInfo *pi, FILE *explain, IrErr *err);
/* The pipeline without the passes named in the comma-separated list `disabled` (which
 * must name registered passes: false with err otherwise), into out. */
bool pass_pipeline_without(const char *pipeline, const char *disabled, char *out, size_t n, IrErr *err);
/* Checks a pass list names only registered passes. */
bool pass_check_list(const char *list, IrErr *err);

/* ---- the passes (one file each) ---------------------------------------------------- */
Graph *pass_autodiff(const Graph *in, PassCtx *cx);
Graph *pass_dce(const Graph *in, PassCtx *cx);
Graph *pass_conv_im2col(const Graph *in, PassCtx *cx);
Graph *pass_fuse(const Graph *in, PassCtx *cx);
Program *pass_memplan(const Program *in, PassCtx *cx);

/* ---- prune.c ---------------------------------------------------------------------- */
/* prune: a structurally pruned Linear's removed neurons leave the weights, the biases and
 * the next Linear's columns, once the weights stop changing (inference after remove()). */
Program *pass_prune(const Program *in, PassCtx *cx);

/* ---- quantize.c ------------------------------------------------------------------- */
/* quantize: after quantize_model, the float weights (and their quantization) that nothing
 * the program prints or saves depends on any more leave the program (Var.removed). */
Program *pass_quantize(const Program *in, PassCtx *cx);

/* ---- kvcache.c ------------------------------------------------------------------- */
/* kvcache: a generation loop whose model treats positions independently except through
 * causal attention computes only the new positions each step, with K and V caches. */
Program *pass_kvcache(const Program *in, PassCtx *cx);
/* What compile prints: each rewritten loop's cache memory, one line each. */
void kvcache_report(const Program *p, FILE *f);

#endif
