/*
 * ir.h — the graph IR and the host program that sequences graphs.
 *
 * A compilation produces one Program: host statements (prints, graph calls, and later
 * loops and conditionals) plus a list of Graphs. A Graph is a straight-line dataflow
 * region: an array of Nodes in topological order, each with an op from ops.def, its
 * inputs by index, dtype, shape and source location. Values that live across graphs
 * (parameters, tensors printed or used by a later graph) are program Vars; a graph
 * reads a Var with OP_INPUT and writes one with OP_STORE.
 *
 * Sections: arena.c (allocation), ir.c (types, shapes, builder), shape.c (shape rules),
 * verify.c (verifier), print.c (text and Graphviz printers).
 */
#ifndef TT_IR_H
#define TT_IR_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Internal errors are not diagnostics: they name the ttc source line and abort. */
#define TT_ASSERT(c) ((c) ? (void)0 : tt_internal_error(__FILE__, __LINE__, #c))
#define tt_unreachable() tt_internal_error(__FILE__, __LINE__, "unreachable")
_Noreturn void tt_internal_error(const char *file, int line, const char *what);

/* ---- arena.c ---------------------------------------------------------------------- */

/* A bump allocator freed whole. Out of memory is a clean fatal error. */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
  ArenaBlock *head;
  size_t used_total; /* bytes handed out, for statistics */
} Arena;

Arena *arena_new(void);
void arena_free(Arena *a);
void *arena_alloc(Arena *a, size_t n);           /* zeroed, 16-byte aligned */
char *arena_strdup(Arena *a, const char *s);
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void *xmalloc(size_t n);                         /* malloc or a fatal "out of memory" */
void *xrealloc(void *p, size_t n);

/* ---- ir.c: dtypes and shapes ------------------------------------------------------ */

typedef enum {
  DT_F32,  /* float: the default floating type, as torch.float32 */
  DT_F64,  /* double: torch.float64 */
  DT_I64,  /* int64_t: the default integer type, as torch.int64 */
  DT_I32,  /* int32_t: int8 matmul accumulators */
  DT_I8,   /* int8_t: quantized weights */
  DT_BOOL, /* _Bool: comparison results */
  DT__COUNT
} DType;

const char *dt_name(DType t);  /* "f32" */
const char *dt_ctype(DType t); /* "float" */
const char *dt_torch(DType t); /* "torch.float32" */
size_t dt_size(DType t);
bool dt_is_float(DType t);

#define TT_MAX_RANK 8

/*
 * A static shape whose dims may be symbolic: when bit i of symm is set, d[i] is the
 * dimension's upper bound and its real extent is known only at run time. A graph has one
 * run-time extent (Graph.loader: the last, smaller batch of a data loader, or a sequence
 * length held by a host variable), so every symbolic dim of a graph has that same extent:
 * an attention matrix is [1,4,B:16,B:16]. Storage is sized and strided by the bounds.
 * Printed as B:64.
 */
typedef struct Shape {
  int rank;
  unsigned symm; /* bit i: dim i is symbolic */
  int64_t d[TT_MAX_RANK];
} Shape;

/* Whether dim i of s is symbolic (false for i out of range). */
static inline bool sym_at(const Shape *s, int i) {
  return i >= 0 && i < s->rank && (s->symm >> i & 1u);
}
/* The first symbolic dim of s, or -1. Code that handles one symbolic dim uses it after
 * checking sym_count(s) <= 1. */
static inline int sym_first(const Shape *s) { return s->symm ? __builtin_ctz(s->symm) : -1; }
static inline int sym_count(const Shape *s) { return __builtin_popcount(s->symm); }

Shape shape_make(int rank, const int64_t *d);
Shape shape_scalar(void);
/* With the symbolic dim at its bound; INT64_MAX when the product does not fit. */
int64_t shape_numel(const Shape *s);
/* The most elements one tensor may have: the factories' limit (zeros, arange, ...), and
 * ir_add refuses a node whose shape passes it, so every op that makes a shape (repeat,
 * expand, broadcasting, cat, matmul, ...) is held to it where the node is built. */
#define IR_MAX_NUMEL (INT64_C(1) << 31)
/* a * b for dimension products, INT64_MAX when it does not fit (a, b >= 0). */
static inline int64_t dim_mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}
bool shape_eq(const Shape *a, const Shape *b);
/* "[3,2]" into buf; returns buf. */
char *shape_str(const Shape *s, char *buf, size_t n);

/* ---- ops.def ---------------------------------------------------------------------- */

typedef enum {
#define X(op, name, nin, flags, shape, cost, grad, emit, expr, gradfn, infix, attrs) OP_##op,
#include "ops.def"
#undef X
  OP__COUNT
} Op;

/* Op flags (ops.def column 4). */
enum {
  OPF_EW = 1 << 0,     /* elementwise: output shape is the broadcast of the inputs */
  OPF_SOURCE = 1 << 1, /* no tensor inputs: constants, fills, random draws */
  OPF_SINK = 1 << 2,   /* has an effect, no value: STORE, BACKWARD; never dead */
  OPF_VIEW = 1 << 3,   /* output may share the input's storage (reshape) */
  OPF_RNG = 1 << 4,    /* draws from the program's RNG: order matters, never CSE'd */
  OPF_CMP = 1 << 5,    /* elementwise comparison: output is bool */
  OPF_REDUCE = 1 << 6, /* reduces attr.dims */
  OPF_OPTIM = 1 << 7,  /* an optimizer step: rewrites the variables in attr.ints in place */
  OPF_INPLACE = 1 << 8, /* its kernel reads each input element before it writes the output
                           element at the same index, and nothing else: the output may be
                           one of its inputs' storage (codegen's storage plan) */
  OPF_FLOAT = 1 << 9,   /* integer inputs are computed in float32 (torch.exp of an int64
                           tensor is float32); other dtypes keep theirs */
};

typedef struct OpInfo {
  const char *name; /* as printed in the IR and in PyTorch where the names agree */
  int nin;          /* number of tensor inputs, -1 = variadic */
  unsigned flags;
  const char *expr;   /* elementwise C expression template, see codegen; NULL if not EW */
  const char *gradfn; /* PyTorch's grad_fn class name, for printing; NULL if none */
  const char *infix;  /* the operator between operands in a kernel comment ("+"), or NULL */
  bool differentiable; /* has a gradient rule (the ops.def grad column is not 0) */
} OpInfo;

extern const OpInfo ir_ops[OP__COUNT];

/* ---- ir.c: nodes, graphs, programs ------------------------------------------------- */

/*
 * Per-op attributes. Not a union: ops use a few of these fields each, documented in
 * the op's ops.def row ("attr:"). Unused fields are zero so printing and hashing are
 * deterministic.
 */
typedef struct Attr {
  double f[4];   /* FILL value; ARANGE start, step; UNIFORM lo, hi; NORMAL mean, std;
                    optimizer hyperparameters (see ops.def) */
  int64_t i[4];  /* dims bitmask (REDUCE), keepdim, dim, flags; see each op */
  int64_t *ints; /* PERMUTE order, SLICE start/stop/step triples, ...; arena-owned */
  int nints;
  void *data; /* CONST: numel elements of the node's dtype; arena-owned */
  int var;    /* INPUT, STORE: the program variable */
} Attr;

/* A source location: byte offset into the program's source text (line and column are
 * computed when printed). */
typedef struct Loc {
  int32_t off;
} Loc;

typedef struct Node {
  Op op;
  DType dtype;
  Shape shape;
  Loc loc;
  int nin;
  int32_t *in;      /* input node ids, all < this node's id; arena-owned */
  const char *name; /* source name ("h", "fc1_out") or NULL */
  Attr attr;
  bool backward; /* made by autodiff: the NaN detective reports it as backward */
  bool fused;    /* the fuse pass: an elementwise value computed inside the loop of its one
                    user (elementwise, of its shape), with no buffer of its own */
  int32_t uid;   /* stable id: unique in its graph, kept when a pass copies the node, fresh
                    (from Graph.next_uid) for a node a pass adds. The IR printer's %N and
                    the C buffer name tN are uids, so a pass that adds or removes nodes does
                    not rename the others (ttc diff shows only what it changed). */
} Node;

typedef struct Graph {
  Arena *arena; /* owns the nodes' in[], names, attribute arrays */
  Node *nodes;  /* growable; refer to nodes by index, never keep a Node * across ir_add */
  int n, cap;
  int32_t next_uid; /* the uid the next new node gets: above every uid in the graph */
  int id;           /* index in the program */
  const char *name; /* "graph0", or a name a pass gave it */
  Loc loc;          /* first statement of the region */
  int loader;       /* the loader whose current batch size is the run-time extent of this
                       graph's symbolic dimension, or -1 (no symbolic dimension) */
  int64_t *mem_off; /* the memplan pass's storage plan: each node's offset, in elements, in
                       the program's arena of its dtype (Program.arena_elems), -1 for a node that
                       owns no intermediate buffer; NULL when not planned. Malloc'd, owned by
                       the graph; clones drop it (a plan is valid only for the graph it was
                       made for, so memplan runs last) */
} Graph;

/* Program variables: tensors that outlive one graph. */
typedef enum {
  VAR_VALUE, /* a value computed by one graph and read by later statements */
  VAR_PARAM, /* a Module parameter (or a requires_grad leaf): persistent, has .grad */
  VAR_GRAD,  /* the .grad of another var (attr grad_of) */
  VAR_STATE, /* optimizer or running statistics state */
} VarKind;

typedef struct Var {
  const char *name; /* unique C identifier */
  VarKind kind;
  DType dtype;
  Shape shape;
  bool requires_grad;
  int grad;    /* var id of its .grad, or -1 */
  int grad_of; /* VAR_GRAD: the var it is the gradient of, else -1 */
  int state_of; /* VAR_STATE: the parameter it belongs to (its name is then a suffix, as
                   "exp_avg", until the front end names it "fc1_weight_exp_avg"), else -1 */
  int64_t prune_keep; /* a [out, in] weight whose structured pruning was made permanent
                         (prune.remove after ln_structured along dim 0, structured_prune):
                         the rows kept (the others are zero); 0 for any other var. The prune
                         pass removes the other rows (passes/prune.c) */
  bool quant;   /* made or left behind by quantize_model: a quantized layer's int8 codes and
                   scales, its calibration observers and input scale, the float weight it
                   replaced. The quantize pass may drop stores to it that nothing reads
                   (passes/quantize.c); other passes ignore the mark */
  bool removed; /* dropped by a pass (quantize): nothing reads or writes it any more, so it
                   is declared nowhere and counts in no memory report; its id stays, as node
                   uids do, so the other variables keep their ids and names */
} Var;

/*
 * ---- the host program -------------------------------------------------------------
 *
 * main() runs a structured list of statements: graph calls, prints, and host control
 * flow over scalars known only at run time (a loop counter, a running loss from
 * loss.item(), a learning rate from a scheduler). Those scalars are HostVars (int64_t or
 * double in C) and HostExprs over them.
 */
typedef struct HostVar {
  const char *name; /* unique C identifier */
  bool isfloat;     /* double, else int64_t (Python's float and int) */
  bool list;        /* a Python list of numbers that grows at run time (ST_LIST_*, HX_LIST*);
                       each element keeps its own kind (int, float or bool), as Python's */
  int kinds;        /* list: the kinds its elements can have, 1 int | 2 float | 4 bool */
} HostVar;

typedef enum {
  HX_INT,         /* i */
  HX_FLOAT,       /* f */
  HX_VAR,         /* hvar */
  HX_ITEM,        /* var: element 0 of a program tensor variable, as x.item() */
  HX_BIN,         /* a op b, op one of HB_* */
  HX_UN,          /* op a, op one of HU_* */
  HX_BATCH,       /* loader: the number of samples in its current batch */
  HX_LOADER_LEN,  /* loader: number of batches per epoch, len(loader) */
  HX_DATASET_LEN, /* loader: number of samples, len(loader.dataset) */
  HX_LIST,        /* hvar: the run-time list itself; only as a print item (its repr) */
  HX_LIST_LEN,    /* hvar: len(list) */
  HX_LIST_GET,    /* hvar: list[a], a negative a counting from the end; IndexError at loc */
  HX_LIST_SUM,    /* hvar: sum(list) */
  HX_LIST_MIN,    /* hvar: min(list); ValueError at loc when empty */
  HX_LIST_MAX,    /* hvar: max(list) */
  HX_CLOCK,       /* time.time() (i == 0: seconds since the epoch) or time.perf_counter() /
                     time.monotonic() (i == 1: a monotonic clock), as a float */
  HX_KEYPOS,      /* i: a string table (Program.strtabs); a: an int key or index: its
                     position in the table; KeyError / IndexError at loc, as Python's */
  HX_STR,         /* i: a string table; a: a position in it (HX_KEYPOS's); a string, so only
                     as a print item (itos[i] of a run-time i) */
  HX_STRLEN,      /* i: a string table; a: a position in it: len() of that string */
  HX_CALL,        /* fn: an int64_t from the runtime function fn(void), as tt_dist_rank() */
} HostExprKind;

/* Python semantics: DIV is true division (float), FLOORDIV and MOD floor; comparisons and
 * AND/OR give ints 0/1 (isbool set, printed True/False). */
enum { HB_ADD, HB_SUB, HB_MUL, HB_DIV, HB_FLOORDIV, HB_MOD, HB_POW, HB_MIN, HB_MAX,
       HB_EQ, HB_NE, HB_LT, HB_LE, HB_GT, HB_GE, HB_AND, HB_OR,
       HB_ROUND /* round(a, b): a rounded to b decimal digits (an int a stays as it is) */ };
enum { HU_NEG, HU_NOT, HU_COS, HU_SIN, HU_EXP, HU_LOG, HU_SQRT, HU_FLOOR, HU_CEIL, HU_ABS,
       HU_TOINT, HU_TOFLOAT, HU_ROUND /* round(a): to the nearest int, ties to even */ };

typedef struct HostExpr HostExpr;
struct HostExpr {
  HostExprKind kind;
  int op;       /* HB_* or HU_* */
  bool isfloat; /* the value's type: double, else int64_t */
  bool isbool;  /* an int that Python would print as True/False */
  bool size;    /* HB_ADD/SUB/MUL of positions in a buffer (generate.c): bounded by a
                   tensor's size, so plain C arithmetic, no overflow check */
  int64_t i;
  double f;
  int hvar, var, loader;
  HostExpr *a, *b;
  Loc loc; /* HX_LIST_GET, HX_LIST_MIN/MAX: where their errors point */
  const char *fn; /* HX_CALL */
};

/* Strings a run-time key selects: the values of a compile-time dict of int keys (itos[i]
 * with i known only at run time), or the items of a list, tuple or str. */
typedef enum {
  STRTAB_LIST,  /* indices 0..n-1, negative from the end; IndexError: list index ... */
  STRTAB_TUPLE, /* as a list; IndexError: tuple index out of range */
  STRTAB_STR,   /* a str's characters; IndexError: string index out of range */
  STRTAB_DICT,  /* keys[] (0..n-1 when NULL); KeyError: key */
} StrTabKind;

typedef struct StrTable {
  StrTabKind kind;
  int n;
  const int64_t *keys; /* STRTAB_DICT: its int keys in order, or NULL when they are 0..n-1 */
  const char **strs;   /* n strings, UTF-8 */
} StrTable;

/* One argument of print(): literal text formatted at compile time, a tensor, or a host
 * scalar known at run time. */
typedef struct PrintItem {
  const char *text; /* when var < 0 and expr == NULL */
  int var;
  const char *gradfn; /* PyTorch grad_fn name to show, or NULL */
  bool requires_grad; /* show ", requires_grad=True" */
  bool param;         /* prefix "Parameter containing:\n" */
  HostExpr *expr;     /* a host scalar: printed as Python's str(), or with spec */
  const char *spec;   /* Python format spec (".4f", "5d", ">8.2e", ".1%"), or NULL */
  HostExpr *extent0;  /* a tensor whose leading dim is sized at run time (x[mask]): that
                         size (var's dim 0 is its bound), or NULL */
} PrintItem;

/* Where a data loader's batches come from. */
typedef enum {
  LD_IDX,     /* MNIST / Fashion-MNIST: images-idx3 and labels-idx1 files, gzip or not */
  LD_CIFAR10, /* CIFAR-10 binary batches (data_batch_1..5.bin, test_batch.bin) */
  LD_TENSORS, /* TensorDataset: rows of program tensor variables */
  LD_EXTENT,  /* no data: a run-time length the program computes (a window of a token
                 buffer in a generation loop), set by ST_EXTENT; batch is its bound. The
                 graphs it sizes are those whose symbolic dims have that length. */
} LoaderKind;

typedef struct Loader {
  LoaderKind kind;
  const char *name;   /* for messages and the emitted C */
  const char *root;   /* LD_IDX, LD_CIFAR10: the directory of the files */
  const char *prefix; /* LD_IDX: "train" or "t10k" */
  int64_t batch;      /* batch_size: the bound of the symbolic dimension */
  bool shuffle, drop_last;
  int xvar, yvar;     /* receive each batch: shapes [B:batch, ...] (yvar may be -1) */
  int srcx, srcy;     /* LD_TENSORS: the dataset's tensors, [N, ...] (srcy may be -1) */
  int64_t n;          /* LD_TENSORS: number of samples (N) */
} Loader;

typedef enum {
  ST_GRAPH,    /* run graphs[graph] */
  ST_PRINT,    /* print items, separated by sep, ended by end */
  ST_ASSIGN,   /* hvar = expr */
  ST_FOR,      /* for (hvar = expr; hvar < expr2; hvar += step) body   (step > 0; or > for step < 0) */
  ST_LOADER,   /* for each batch of loader: its xvar/yvar hold the batch; body */
  ST_IF,       /* if (expr) body else orelse */
  ST_BREAK,    /* leave the innermost ST_FOR / ST_LOADER */
  ST_CONTINUE, /* next iteration of the innermost ST_FOR / ST_LOADER */
  ST_SAVE,     /* write vars[] under keys[] to the checkpoint file path, atomically */
  ST_LOAD,     /* read vars[] from the checkpoint at path, checking names, dtypes, shapes */
  ST_POSTFIX,  /* tqdm's set_postfix: items (as ST_PRINT's) shown after the innermost
                  enclosing ST_LOADER's progress bar */
  ST_LIST_INIT,   /* run-time list hvar = [items[].expr ...] (where the list was made) */
  ST_LIST_APPEND, /* run-time list hvar .append(expr) */
  ST_RAISE,       /* stop the program with the error path (a failed run-time assert:
                     "AssertionError: its message"), naming the statement's line */
  ST_EXTENT,      /* loader (an LD_EXTENT)'s length = expr, checked against its bound */
  ST_APPEND,      /* torch.cat((buf, x), dim) on a buffer growing in a loop: vars[1]'s
                     columns along dim step (vars[1]'s size there) written into vars[0] at
                     position hvar, then hvar += that size; past vars[0]'s size there, the
                     program stops naming the line */
  ST_CALL,        /* call the runtime function fn: fn([loader's handle,] args[]...
                     [, nkeys, (void *[]){vars[]}, (const int64_t[]){their numels}]); a
                     library the program uses, as MPI (frontend/distributed.c) */
} StmtKind;

typedef struct Stmt Stmt;
struct Stmt {
  StmtKind kind;
  Loc loc;
  int graph;        /* ST_GRAPH */
  PrintItem *items; /* ST_PRINT */
  int nitems;
  const char *sep, *end; /* ST_PRINT */
  int hvar;              /* ST_ASSIGN, ST_FOR */
  HostExpr *expr, *expr2; /* ST_ASSIGN value; ST_FOR start, stop; ST_IF condition */
  int64_t step;           /* ST_FOR */
  int loader;             /* ST_LOADER */
  const char *desc;       /* ST_LOADER: when non-NULL, show a tqdm progress bar described
                             by desc, or by items[] (text and host values, as ST_PRINT's)
                             when nitems > 0 */
  Stmt *body;             /* ST_FOR, ST_LOADER, ST_IF (then) */
  int nbody, capbody;
  Stmt *orelse;           /* ST_IF */
  int norelse, capelse;
  const char *path;       /* ST_SAVE, ST_LOAD; ST_RAISE: the error, as Python names it */
  int *vars;              /* ST_SAVE, ST_LOAD */
  const char **keys;      /* ST_SAVE, ST_LOAD: state_dict keys ("fc1.weight") */
  unsigned char *pykinds; /* ST_SAVE, ST_LOAD, or NULL: per key, 0 a tensor, or a Python
                             number held in a 0-d var: 1 int (i64), 2 float (f64), 3 bool */
  int nkeys;              /* ST_SAVE, ST_LOAD; ST_CALL: vars[] (0: none passed) */
  const char *fn;         /* ST_CALL: the runtime function; loader >= 0 passes its handle */
  HostExpr **args;        /* ST_CALL: host values passed before the vars */
  int nargs;
};

typedef struct Program {
  Arena *arena;
  const char *filename; /* as given on the command line */
  const char *src;      /* the source text, NUL-terminated */
  Var *vars;
  int nvars, capvars;
  Graph **graphs;
  int ngraphs, capgraphs;
  Stmt *stmts; /* the top-level statements; nested ones hang off their Stmt */
  int nstmts, capstmts;
  HostVar *hvars;
  int nhvars, caphvars;
  Loader *loaders;
  int nloaders, caploaders;
  StrTable *strtabs; /* HX_KEYPOS, HX_STR, HX_STRLEN */
  int nstrtabs, capstrtabs;
  uint64_t seed; /* initial RNG seed (PyTorch's default unless manual_seed was called) */
  bool mpi;      /* torch.distributed: `ttc build` links runtime/mpi/ and MPI's library */
  int64_t arena_elems[DT__COUNT]; /* memplan: the elements of the arena of each dtype that every
                               graph's intermediates share (graphs run one at a time); all 0
                               when not planned */
} Program;

Program *ir_program_new(const char *filename, const char *src);
void ir_program_free(Program *p);
int ir_var_new(Program *p, const char *name, VarKind kind, DType dt, Shape shape);
Graph *ir_graph_new(Program *p, Loc loc);
Stmt *ir_stmt_add(Program *p, StmtKind kind, Loc loc);
/* Appends to a nested list (a Stmt's body or orelse), growing it in p's arena. The
 * returned pointer is valid until the next push onto the same list. */
Stmt *ir_stmt_push(Program *p, Stmt **list, int *n, int *cap, StmtKind kind, Loc loc);
int ir_hvar_new(Program *p, const char *name, bool isfloat);
int ir_loader_new(Program *p, const Loader *ld);
/* A string table equal to t (copied into p's arena), or the id of an equal one already there. */
int ir_strtab_new(Program *p, const StrTable *t);
HostExpr *ir_hx(Program *p, HostExprKind kind); /* zeroed, in p's arena */
/* A fresh graph with the same id/name/loc and no nodes, for passes that rebuild. */
Graph *ir_graph_clone_empty(const Graph *g);
Graph *ir_graph_clone(const Graph *g);
void ir_graph_free(Graph *g);

/*
 * Buffer lifetimes for storage planning (memplan) and its check (the verifier). A node
 * owns an intermediate buffer unless it is an INPUT (a variable's array), a view (its
 * input's storage), a sink, a CONST or computed into a variable (ir_store_into). A node
 * that owns one lives from itself to last[id], the last node that reads its storage,
 * directly or through views (itself when nothing does); elems[id] is its size in elements
 * at the bounds, or -1 when it owns nothing. An elementwise kernel marked in place
 * (OPF_INPLACE) whose input of the same shape and dtype dies at it may write over that
 * input: share[id] is then that input's node (the two are one buffer), else id. Arrays of
 * g->n entries.
 */
void ir_lifetimes(const Program *p, const Graph *g, int *last, int64_t *elems, int *share);
/*
 * Values computed straight into a variable: a value x whose only use is "store x into v"
 * (directly, or through views used only by that store) is computed into v's array, and
 * the STORE copies nothing: `w_grad = w_grad + g` is one loop instead of a loop and a
 * memcpy of the whole gradient. It is safe when no node after x and before the STORE
 * reads or writes v (v holds the new value early, and nobody looks), and when x reads v
 * only as an elementwise kernel marked in place (OPF_INPLACE): it reads v[i] and then
 * writes v[i], which holds when that input has x's element count. into[id] is the var, or
 * -1 (g->n entries). Such a value owns no buffer (ir_lifetimes, codegen's storage plan).
 */
void ir_store_into(const Program *p, const Graph *g, int *into);
/* The node that uses node id (the first, for a fused node its only one), or -1. */
int ir_fused_user(const Graph *g, int id);

/* 1-based line and column of a source offset. */
void ir_linecol(const char *src, int32_t off, int *line, int *col);

/*
 * The builder. ir_add computes the node's shape and dtype with its op's shape rule; on
 * a mismatch it adds nothing, returns -1 and writes a user-facing message into err
 * (e.g. "matmul: [1,2] @ [1,2]: inner dimensions 2 and 1 differ"). The node's attr is
 * copied; arrays it points to must be arena-owned by g (use ir_ints).
 */
typedef struct IrErr {
  char msg[256];
  int32_t off; /* a pass's failure at a source position (a backward() call), or -1: then the
                  driver prints it as file:line:col: error: msg, as a diagnostic */
} IrErr;

int ir_add(Graph *g, Op op, const int32_t *in, int nin, const Attr *attr, Loc loc, IrErr *err);
/* Shorthands; all return the node id or -1 with err set. */
int ir_add1(Graph *g, Op op, int a, Loc loc, IrErr *err);
int ir_add2(Graph *g, Op op, int a, int b, Loc loc, IrErr *err);
/* Source nodes whose shape/dtype are given rather than computed (CONST, INPUT, FILL, ...). */
int ir_add_source(Graph *g, Op op, DType dt, Shape sh, const Attr *attr, Loc loc);
int64_t *ir_ints(Graph *g, const int64_t *v, int n); /* copy into g's arena */
/* Append a copy of in's node id to out (attributes, data and name copied into out's
 * arena), its inputs renumbered through map (NULL: unchanged), keeping its uid. For
 * passes; out must come from ir_graph_clone_empty(in) (which carries next_uid over), so a
 * kept uid never meets a fresh one. */
int ir_copy_node(Graph *out, const Graph *in, int id, const int32_t *map, IrErr *err);

/* ---- program.c: whole-program edits, for program passes -------------------------- */

/* A deep copy: the clone shares no memory with p. */
Program *ir_program_clone(const Program *p);
/* Re-derives every node's dtype and shape in order: INPUT nodes from their variable, the
 * rest from their op's shape rule (sources keep theirs). False with err naming the first
 * node whose rule fails. */
bool ir_graph_reinfer(const Program *p, Graph *g, IrErr *err);
/* Gives var a new dtype and shape and re-derives every graph that reads it. What stores
 * into the var must then produce the new type: the verifier checks that. */
bool ir_var_retype(Program *p, int var, DType dt, Shape shape, IrErr *err);
/* Inserts a fresh statement at index `at` of the top-level list (parent NULL) or of
 * parent's body (orelse false) or else-branch; returns it (valid until the next insert
 * or push onto the same list). */
Stmt *ir_stmt_insert(Program *p, Stmt *parent, bool orelse, int at, StmtKind kind, Loc loc);

/* Names each graph for its role, as its C function is called: train_step (an optimizer
 * step), backward_step (a backward() without one), eval_step (a data-loader loop's body
 * without either), init (stores parameters or state and reads no variable), else
 * forward; numbered train_step_1, train_step_2, ... where a role repeats. The front end
 * calls it once, so a pass never renames a function. */
void ir_name_graphs(Program *p);

/* ---- rewrite.c: use counts and the rule-driven rewrite walk ------------------------- */

/* uses[i] = the number of input slots that name node i (a node used twice by one user
 * counts twice). uses must hold g->n ints. */
void ir_use_counts(const Graph *g, int *uses);

/*
 * The rewrite walk (tinygrad's graph_rewrite is the model): a list of rules, each an op
 * (or -1 for every op) and a function. The walk copies the graph node by node into a new
 * one; for each node, the first rule of its op that fires decides what the node becomes:
 *   IR_KEEP  the rule does not apply (the next rule is tried; with none, the node is copied),
 *   IR_DROP  the node goes away (nothing kept may use it: the verifier checks),
 *   IR_FAIL  the rewrite fails (the rule wrote rw->err),
 *   an id    of a node in rw->out that stands for it from now on: built by the rule with
 *            ir_add on rw->out, inputs mapped through rw->map (or an earlier node).
 * When any rule fired, the walk runs again over the result, until none fires (a fixed
 * point, at most IR_REWRITE_MAX_ROUNDS rounds). begin, when set, runs before each round
 * (a rule set that needs an analysis of the graph it walks computes it there).
 */
enum { IR_KEEP = -2, IR_DROP = -1, IR_FAIL = -3 };
#define IR_REWRITE_MAX_ROUNDS 64

typedef struct IrRewrite {
  const Program *p;  /* the program, for var types (may be NULL) */
  const Graph *in;   /* the graph this round walks */
  Graph *out;        /* the graph it builds */
  int32_t *map;      /* in id -> out id, for the nodes walked so far (-1: dropped) */
  const int *uses;   /* ir_use_counts of in */
  void *ctx;         /* the rule set's own state */
  IrErr err;         /* a failing rule's message; err.off its source position or -1 */
} IrRewrite;

typedef int (*IrRuleFn)(IrRewrite *rw, int id);
typedef struct IrRule {
  int op; /* an Op, or -1: every op */
  IrRuleFn fn;
} IrRule;

/* Returns the rewritten graph, in itself when no rule fired, or NULL when a rule failed
 * (err set, off = its source position or -1). in is not modified. */
Graph *ir_rewrite(const Program *p, const Graph *in, const IrRule *rules, int nrules,
                  void (*begin)(IrRewrite *rw), void *ctx, IrErr *err);

/* Broadcast two shapes as PyTorch does; false if incompatible. */
bool ir_broadcast(const Shape *a, const Shape *b, Shape *out);

/* ---- shape.c ---------------------------------------------------------------------- */

/* One shape rule per op (ops.def column 5): fill n->shape and n->dtype from its inputs
 * and attributes, or return false with err set. */
typedef bool (*ShapeFn)(const Graph *g, Node *n, IrErr *err);
extern const ShapeFn ir_shape_rules[OP__COUNT];

/* ---- cost ------------------------------------------------------------------------- */

typedef struct Cost {
  double flops;
  double bytes; /* bytes read + written, assuming no reuse beyond registers */
} Cost;
Cost ir_cost(const Graph *g, const Node *n);

/* ---- verify.c --------------------------------------------------------------------- */

/* Check the structural invariants (inputs before users, arity, shapes reproducible by
 * the shape rules, var ids in range). Returns true if valid; else writes the first
 * problem to err. */
bool ir_verify(const Program *p, const Graph *g, IrErr *err);
bool ir_verify_program(const Program *p, IrErr *err);

/* ---- print.c ---------------------------------------------------------------------- */

/* Stable text form, one node per line:
 *   %3:f32[3,2] = add %1, %2  @4:5  # y */
void ir_print_graph(FILE *f, const Program *p, const Graph *g);
void ir_print_program(FILE *f, const Program *p);
void ir_print_dot(FILE *f, const Program *p);
void ir_print_hexpr(FILE *f, const Program *p, const HostExpr *e);

#endif
