/*
 * codegen.h — the IR -> C emitter.
 *
 * cg_emit_program writes one C translation unit for a Program: a file-scope buffer per
 * program Var, one `static void` function per Graph (one kernel per node, in node order,
 * each preceded by a comment with its source line, shapes, FLOPs and bytes), and a main()
 * that runs the host statements. The output links against runtime/tt.h and is a product a
 * learner reads and diffs between passes, so it is deterministic: the same Program gives
 * the same bytes (names come from the source or from node ids, never from pointers).
 *
 * The rest of this header is the emitter's inside, shared by the .c files of codegen/; it is
 * not for use outside codegen/. Sections: emit.c (the translation unit, names, checks, graph
 * functions), checks.c (checked arithmetic the emitted C defines), host.c (main() and the host program), ew.c (loop nests and elementwise
 * kernels), kernels.c (matmul, reductions, softmax), layout.c (reshape, permute, expand,
 * slice, cat), grad.c (autodiff's ops), train.c (host values, the batch size, optimizer
 * steps), sources.c (input, const, fill, arange, random draws, store).
 */
#ifndef TT_CODEGEN_H
#define TT_CODEGEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ir/ir.h"

typedef struct CgOptions {
  bool detect_anomaly; /* check every float kernel's output for NaN/inf (the NaN detective) */
  /* Where large constants go (a corpus's token ids, a data set turned into a tensor).
   * With data set, a constant of CG_DATA_MIN bytes or more is written to it, not spelled
   * out in the C: the C names the file data_name (a name, no directory) in an .incbin the
   * assembler resolves when the C is compiled with -Wa,-I<the file's directory>, so the
   * binary carries the bytes and the C stays readable and quick to compile. With data
   * NULL every constant is written in the C (ttc compile to standard output, ttc diff). */
  FILE *data;
  const char *data_name;
  /* Where the static memory report goes (ttc compile --mem-report), or NULL. The same
   * report heads the C as a comment. */
  FILE *mem_report;
  /* Filled with what the caller needs to know of the C (ttc profile), or NULL. */
  struct CgInfo *info;
  /* Training curves (ttc run|build --metrics, docs/METRICS.md), or NULL: then the C is
   * exactly what it is without the option. */
  const struct CgMetrics *metrics;
  /* --profile (docs/ROOFLINE.md): a timer around every kernel and a table of the kernels'
   * costs (TtProfSite); false: the C is exactly what it is without the option. */
  bool profile;
} CgOptions;

/* What the training-curve hooks need of a program, per graph (arrays of ngraphs; the var
 * ids are the ones driver/metrics.c's metrics_instrument made before the passes, which
 * keep graph and var ids): the var a graph stores its backward()'s loss in and the var it
 * stores its first optimizer's learning rate in (-1: none), and whether a call of it is a
 * training step (it runs an optimizer; a backward() where no graph of the program does). */
typedef struct CgMetrics {
  const char *path; /* the file the binary writes when $TTC_METRICS is unset, or NULL */
  int ngraphs;
  int *loss_var, *lr_var;
  bool *step;
} CgMetrics;

/* What cg_emit_program tells its caller about the C it wrote: the numbers of the static
 * memory report (mem_print's, so ttc profile and --mem-report agree by construction), and
 * the C names a harness that calls the program's functions needs. Strings and arrays are
 * malloc'd: cg_info_free releases them. */
typedef struct CgInfo {
  int64_t params, grads, state, values; /* static bytes of the variables, by kind */
  int64_t intermediates, consts, workspace, total;
  int nvars, ngraphs, nloaders;
  char **vname;  /* each program var's C array */
  char **gname;  /* each graph's C function, `static void NAME(void)` */
  char **lbatch; /* each loader's current-batch variable: a graph's run-time batch extent */
} CgInfo;
void cg_info_free(CgInfo *info);

#define CG_DATA_MIN 65536

/* Writes the C program for p to out. False with err set when the program cannot be
 * emitted (symbolic dims, malformed nodes, a write error); out may then hold a prefix. */
bool cg_emit_program(FILE *out, const Program *p, const CgOptions *o, IrErr *err);

/* ==== inside the emitter ============================================================ */

/* The checked operations the emitted C may define for itself (checks.c). */
typedef enum CgHelper {
  CG_H_ADD,       /* int64 + int64, overflow fatal */
  CG_H_SUB,       /* int64 - int64 */
  CG_H_MUL,       /* int64 * int64 */
  CG_H_NEG,       /* -int64 */
  CG_H_ABS,       /* abs(int64) */
  CG_H_POW,       /* int64 ** int64 (exponent >= 0) */
  CG_H_POWF,      /* double ** double, 0.0 ** negative fatal */
  CG_H_DIV,       /* true division, by zero fatal */
  CG_H_F2I,       /* int(double): NaN, infinities and values past int64 fatal */
  CG_H_STEP,      /* a range() counter's step, saturating */
  CG_H_FLOORDIV,  /* // of integer tensors, by zero fatal */
  CG_H_REMAINDER, /* % of integer tensors, by zero fatal */
  CG_H_LIST,      /* run-time Python lists of numbers (ttc_list): push, get, sum, min/max, print */
  CG_H_WALL,      /* time.time(): seconds since the epoch (C11 timespec_get) */
  CG_H_KEYPOS,    /* a run-time key's position in a string table: KeyError, IndexError */
  CG_H__COUNT
} CgHelper;

/* A set of C identifiers already taken in a scope; lookups fall through to parent. */
typedef struct CgNames CgNames;

/* Where a node's value lives: the one answer every emitter and declaration asks for
 * (cg_lives). Planned once per program, before any C is written (emit.c, plan_storage). */
typedef enum CgLives {
  CG_NONE,      /* no value: a sink (STORE, an optimizer step) */
  CG_OWN,       /* its own static array in its graph's function */
  CG_FILESCOPE, /* a large CONST, a static const array at file scope */
  CG_VIEW,      /* the storage of its input (a reshape, a detach) */
  CG_VAR,       /* a program variable's array: an INPUT, or a value whose one use is a
                   STORE into that variable, computed there directly (no copy) */
} CgLives;

/* The emitter's context: one per cg_emit_program call, no globals. */
typedef struct Cg {
  FILE *out;
  const Program *p;
  const CgOptions *opt;
  IrErr *err;
  Arena *arena;        /* names and scratch, freed at the end */
  const char *srcname; /* basename of p->filename, as it is */
  const char *file;    /* the same, made safe for comments (cg_text) */
  const char *arena_name[DT__COUNT]; /* memplan's arena of each dtype (Program.arena_elems), or NULL */
  const char *bar;     /* the innermost enclosing loop's progress bar variable, or NULL */
  int m_loader;        /* --metrics: the innermost enclosing loader, or -1 */
  int m_fors;          /* --metrics: the range() loops around the statement */
  bool m_acc;          /* --metrics: a print of the accuracy has its hook (host.c) */
  int nbars;           /* progress bars made so far, for their names */
  const char **vname;  /* C name of each program var */
  const char **gname;  /* C name of each graph's function */
  const char **hname;  /* C name of each host variable */
  const char **lname;  /* C name of each loader's TtLoader pointer */
  const char **lbatch; /* C name of each loader's current batch size */
  const char **sname;  /* C names of each string table's strings, dict keys and lengths */
  const char **skeys;
  const char **slen;
  const char ***bufs;  /* per graph, per node: the C name of its storage, or NULL */
  unsigned char **lives; /* per graph, per node: a CgLives */
  bool *split;         /* per graph: emitted as parts, its buffers at file scope (emit.c) */
  CgNames *files;      /* the names taken at file scope */
  const Graph *g;      /* the graph being emitted */
  int gi;              /* its index in p->graphs */
  int *uses;           /* per node of g: number of users */
  int indent;          /* in units of two spaces */
  bool used_B;         /* a kernel of the current graph read the run-time batch size B */
  uint64_t data_size;  /* bytes written to opt->data so far (each constant 64-aligned) */
  uint64_t data_hash;  /* their FNV-1a hash, which main() checks the linked bytes against */
  bool helpers[CG_H__COUNT]; /* the checked operations the program uses (checks.c) */
  struct CgOutlined *outl; /* the functions of repeated layers made so far (outline.c) */
  int noutl;
  FILE *prof;          /* --profile: the rows of the kernel table so far (emit.c), or NULL */
  int nprof;           /* and their number */
} Cg;

/* ---- emit.c ----------------------------------------------------------------------- */

/* A fresh name at file scope, base or base_2, ... */
const char *cg_unique_name(Cg *cg, const char *base);

/* Outside text (a file name, a path, a string the program prints, a name) as C: escaped
 * for the inside of a string literal, or (comment) for the inside of a comment. Every such
 * text reaches the emitted C through these, and never as part of a format string. */
void cg_put_text(FILE *f, const char *s, bool comment);
const char *cg_text(Cg *cg, const char *s, bool comment); /* arena-owned */
/* "tt_fatal(\"%s: MSG\", \"FILE:LINE\", ARGS)": a run-time error naming the source line,
 * whose position is an argument, never part of the format. msg is the emitter's own
 * printf format (never outside text) for args, a C argument list (may be NULL). */
const char *cg_fatal_call(Cg *cg, Loc loc, const char *msg, const char *args);
/* One line of C at the current indent. */
void cg_line(Cg *cg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records an error for the caller of cg_emit_program; returns false. */
bool cg_fail(Cg *cg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The C name of node id's storage in the current graph. */
const char *cg_buf(const Cg *cg, int id);
/* Where node id of graph gi keeps its value. */
CgLives cg_lives(const Cg *cg, int gi, int id);
/* The node, and its input i, in the current graph. */
const Node *cg_node(const Cg *cg, int id);
const Node *cg_in(const Cg *cg, int id, int i);
/* C type of a dtype in emitted code ("float", "_Bool"), and the runtime's TT_ name. */
const char *cg_ctype(DType t);
const char *cg_rt_dtype(DType t);
/* The comment line above a kernel: source position, op, shapes, FLOPs, bytes, intensity.
 * extra (may be NULL) is shown after the input shapes, e.g. "dim=1". */
void cg_kernel_comment(Cg *cg, int id, const char *extra);
/* Checks that the node's inputs are the op's arity and exist; false with an error. */
bool cg_check_inputs(Cg *cg, int id, int nin);

/* ---- checks.c: checked operations the emitted C defines ---------------------------- */

/* The C name of helper h, which the program now uses. */
const char *cg_helper(Cg *cg, CgHelper h);
/* The definitions of the helpers used, before the first function. */
void cg_emit_helpers(Cg *cg);

/* ---- host.c: main() and the host program ---------------------------------------- */

/* File-scope host variables, loaders and their batch sizes. */
void cg_emit_host_decls(Cg *cg);
/* main(): loaders opened, the statements, loaders closed. */
bool cg_emit_main(Cg *cg);
/* "file:line:col" of a source offset, as the inside of a C string literal; arena-owned. */
const char *cg_where(Cg *cg, Loc loc);

/* ---- ew.c: loop nests ------------------------------------------------------------- */

#define CG_MAX_OPS 8

/*
 * A loop nest over an iteration shape, with up to CG_MAX_OPS operands, each addressed as
 * base + sum(i_k * st[op][k]). Merging drops extent-1 dims and fuses neighbours that every
 * operand walks contiguously, so the innermost loop is as long as it can be.
 *
 * Symbolic dims: buffers are laid out with every dim at its bound (static strides stay
 * literals), and a loop over a symbolic dim runs to the graph's run-time batch size B. A
 * nest dim with sm[k] != 0 has extent B * sm[k] (bound d[k]); merging fuses it with the
 * static dims inside it, never with a symbolic dim inside (that would walk the padding).
 */
typedef struct CgNest {
  int nd, nops;
  int64_t d[TT_MAX_RANK];
  int64_t sm[TT_MAX_RANK]; /* 0: static extent d[k]; else run-time extent B * sm[k] */
  int64_t st[CG_MAX_OPS][TT_MAX_RANK];
  int64_t base[CG_MAX_OPS];
  int var0; /* loop variables are i<var0>, i<var0+1>, ... */
} CgNest;

/* A one-operand nest over every dim of s but dim, addressed with s's row-major strides
 * (returned in st), merged: the outer loops of a kernel that walks dim itself (softmax,
 * cumsum, argsort). Its loop variables are i0.. and i<nest->nd> is free for dim. */
void cg_nest_except(CgNest *n, const Shape *s, int dim, int64_t *st);
/* A nest over shape s, all strides zero; set st[op][] with cg_nest_strides or by hand. */
void cg_nest_init(CgNest *n, const Shape *s, int nops, int var0);
/* Row-major strides of shape x broadcast (right-aligned) to the nest's shape: 0 where x
 * has extent 1 or lacks the dim. */
void cg_nest_broadcast(CgNest *n, int op, const Shape *x);
void cg_nest_merge(CgNest *n);
/* Opens the loops (brace: end the innermost header with " {"); close with cg_nest_close. */
void cg_nest_open(Cg *cg, const CgNest *n, bool brace);
/* "TT_PARALLEL_FOR" before a nest whose iterations are independent, when it is large
 * enough to be worth a second thread (codegen/ew.c); each iteration of its innermost loop
 * handles inner elements (a softmax row's length; 1 for elementwise). */
void cg_nest_parallel(Cg *cg, const CgNest *n, int64_t inner);
void cg_nest_close(Cg *cg, const CgNest *n, bool brace);
/* The index expression of operand op, e.g. "i0 * 6 + i1" or "0". */
const char *cg_nest_index(Cg *cg, const CgNest *n, int op);
/* "a + i3 * 4" with the zero cases simplified; arena-owned. */
const char *cg_index_add(Cg *cg, const char *base, int var, int64_t stride);
/* Row-major strides of s into st (symbolic dims at their bound). */
void cg_strides(const Shape *s, int64_t *st);
/* The run-time number of elements in dims [lo, hi) of s as a C expression: a literal, or
 * "B" / "B * 12" when the symbolic dim is among them. Marks B as used. */
const char *cg_extent(Cg *cg, const Shape *s, int lo, int hi);
/* The loop bound of nest dim k as a C expression. Marks B as used when symbolic. */
const char *cg_nest_extent(Cg *cg, const CgNest *n, int k);

bool cg_ew(Cg *cg, int id);

/* ---- kernels.c -------------------------------------------------------------------- */

bool cg_matmul(Cg *cg, int id);
bool cg_qlinear(Cg *cg, int id); /* quant.c */
bool cg_qconv2d(Cg *cg, int id);  /* quant.c */
bool cg_sparse_index(Cg *cg, int id);  /* sparse.c */
bool cg_sparse_values(Cg *cg, int id); /* sparse.c */
bool cg_sparse_linear(Cg *cg, int id); /* sparse.c */
bool cg_matmul_acc(Cg *cg, int id);
bool cg_reduce(Cg *cg, int id);
bool cg_softmax(Cg *cg, int id);
bool cg_kv_attn(Cg *cg, int id); /* attn.c */

/* ---- outline.c: one function per repeated layer ------------------------------------ */

typedef struct CgOutlined CgOutlined;
/* nt[id]: the C of each node of the current graph. Finds runs of nodes that repeat back
 * to back with the same C (a ModuleList of identical blocks), defines one function for
 * each on cg->out (or finds the one an earlier graph defined), and sets, at the first node
 * of each copy, calls[id] to the line that calls it and skip[id] to the copy's length
 * (calls[id] NULL and skip[id] 1 elsewhere). */
bool cg_outline(Cg *cg, char **nt, const char **calls, int *skip);
void cg_outline_free(Cg *cg);

/* ---- layout.c --------------------------------------------------------------------- */

bool cg_reshape(Cg *cg, int id);
bool cg_permute(Cg *cg, int id);
bool cg_expand(Cg *cg, int id);
bool cg_slice(Cg *cg, int id);
bool cg_narrow(Cg *cg, int id);
bool cg_cat(Cg *cg, int id);

/* ---- conv.c ------------------------------------------------------------------------ */

bool cg_conv2d(Cg *cg, int id);
bool cg_conv2d_grad_input(Cg *cg, int id);
bool cg_conv2d_grad_weight(Cg *cg, int id);
bool cg_pool2d(Cg *cg, int id);
bool cg_pool2d_grad(Cg *cg, int id);
/* The shared im2col workspace's file-scope declaration, when the program needs one. */
void cg_conv_workspace(Cg *cg);
/* Its size in floats (0: none). */
int64_t cg_conv_workspace_floats(const Cg *cg);

/* ---- grad.c ------------------------------------------------------------------------ */

bool cg_backward(Cg *cg, int id);
bool cg_seed(Cg *cg, int id);
bool cg_gen_seed(Cg *cg, int id); /* kernels.c: torch.Generator objects */
bool cg_gen_use(Cg *cg, int id);
bool cg_linalg(Cg *cg, int id);   /* kernels.c: torch.linalg */
bool cg_one_hot(Cg *cg, int id);
bool cg_slice_backward(Cg *cg, int id);
bool cg_gather(Cg *cg, int id);
bool cg_scatter_add(Cg *cg, int id);
bool cg_embedding(Cg *cg, int id);
bool cg_cumsum(Cg *cg, int id);
bool cg_argsort(Cg *cg, int id);
bool cg_embedding_backward(Cg *cg, int id);

/* ---- train.c: host values, the batch size, optimizer steps --------------------------- */

bool cg_hostvar(Cg *cg, int id);
bool cg_batch(Cg *cg, int id);
bool cg_sgd_step(Cg *cg, int id);
bool cg_adam_step(Cg *cg, int id);
bool cg_rmsprop_step(Cg *cg, int id);
bool cg_adagrad_step(Cg *cg, int id);
bool cg_adadelta_step(Cg *cg, int id);

/* ---- sources.c -------------------------------------------------------------------- */

bool cg_input(Cg *cg, int id);
bool cg_const(Cg *cg, int id);
bool cg_fill(Cg *cg, int id);
bool cg_arange(Cg *cg, int id);
bool cg_uniform(Cg *cg, int id);
bool cg_normal(Cg *cg, int id);
bool cg_randint(Cg *cg, int id);
bool cg_randperm(Cg *cg, int id);
bool cg_store(Cg *cg, int id);
/* A large CONST's file-scope definition (emitted before the graph functions). */
bool cg_const_filescope(Cg *cg, const Graph *g, int id, const char *name);
/* A C literal of type t for value v ("1.5f", "NAN", "-INFINITY", "3"); arena-owned. */
const char *cg_literal(Cg *cg, DType t, double v);

#endif
