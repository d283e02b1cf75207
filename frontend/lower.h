/*
 * lower.h — internal to the lowering (lower.c, host.c, builtins.c and the files of
 * builtins it lists): compile-time values and the lowering context.
 *
 * The lowering is an evaluator of the AST. Host values (ints, floats, strings, lists,
 * modules, functions) are computed at compile time; tensor operations are traced into
 * the current graph. Host control flow (a run-time loop or if) ends the current graph;
 * tensors used after that travel through program variables (OP_STORE / OP_INPUT). Prints
 * and other host statements written inside a graph run after it (l->pending).
 */
#ifndef TT_LOWER_H
#define TT_LOWER_H

#include <setjmp.h>

#include "frontend.h"

typedef enum {
  V_NONE,
  V_BOOL,    /* i */
  V_INT,     /* i */
  V_FLOAT,   /* f */
  V_STR,     /* s */
  V_LIST,    /* items, n (mutable) */
  V_TUPLE,   /* items, n; s = "torch.Size" for shapes, "max" etc. for named tuples */
  V_DICT,    /* items: keys and values alternating, n pairs*2 */
  V_TENSOR,  /* t */
  V_DTYPE,   /* i: DType */
  V_FUNC,    /* def: ast, closure scope */
  V_CLASS,   /* user class: ast; or builtin module class: bi */
  V_OBJECT,  /* module instance: cls, attrs */
  V_BUILTIN, /* bi: builtin function; self: bound receiver or NULL */
  V_METHOD,  /* user method bound to self: fn (V_FUNC), self */
  V_NS,      /* namespace (torch, nn, F, math): s */
  V_RANGE,   /* range(start, stop, step): i, i2, i3 */
  V_HOST,    /* a host scalar known only at run time: hx (a loop counter, loss.item()) */
  V_FSTR,    /* a str holding run-time values (f"{loss.item():.3f}", str(lr)): items, n:
                text (V_STR) and pieces (V_TENSOR, V_HOST, or a "hfmt" tuple (V_HOST, spec))
                alternating, text first and last; print() prints it, + and join() extend it */
  V_RTLIST,  /* a list appended to in a run-time loop or branch: i = its host variable (a
                list of numbers when the program runs); items, n: what it held before */
} VKind;

typedef struct Value Value;
typedef struct Scope Scope;
typedef struct Builtin Builtin;

/* A traced tensor: where its current value lives. */
typedef struct Tensor {
  int graph;          /* graph holding node, or -1 if only in var */
  int node;           /* node id in that graph */
  int var;            /* program var holding its current value, or -1 */
  bool requires_grad; /* tracked as PyTorch does, for printing and autodiff */
  bool leaf;          /* created by the user (or a parameter), not computed */
  bool param;         /* an nn.Parameter: prints "Parameter containing:" */
  const char *gradfn; /* PyTorch's grad_fn name for computed tensors that require grad */
  Value *grad;        /* .grad, NULL until a backward() gives it one */
  Value *retain;      /* retain_grad() on a non-leaf: the -0.0 leaf added to it (whose .grad
                         is its .grad); on that leaf itself, the leaf */
  struct Win *win;    /* a window of a tensor growing in a run-time loop (generate.c): its
                         positions are read into a graph where it is used, else NULL */
  struct Dyn *dyn;    /* a result whose leading size is known only at run time (x[mask],
                         nonzero, unique: masked.c), else NULL; its data lives in dyn, and
                         tnode/tvar refuse it, so only masked.c's consumers read it */
} Tensor;

typedef struct Attrs {
  const char **keys;
  Value **vals;
  int n, cap;
} Attrs;

struct Value {
  VKind k;
  int64_t i, i2, i3;
  double f;
  const char *s;
  Value **items;
  int n, cap;
  Tensor t;
  const Ast *ast;      /* V_FUNC, V_CLASS */
  Scope *closure;      /* V_FUNC: defining scope (globals) */
  Value *cls;          /* V_OBJECT: its class */
  Attrs attrs;         /* V_OBJECT, V_CLASS: attributes in insertion order */
  const Builtin *bi;   /* V_BUILTIN, builtin V_CLASS */
  Value *self;         /* V_BUILTIN (bound), V_METHOD */
  Value *fn;           /* V_METHOD */
  HostExpr *hx;        /* V_HOST */
  int region;          /* the run-time region (loop body or branch) it was made in */
};

/* A call's arguments after evaluation. */
typedef struct Args {
  Value **pos;
  int npos;
  const char **kwnames;
  Value **kw;
  int nkw;
  int32_t off;          /* the call, for diagnostics */
  const int32_t *posoff; /* per positional argument, for diagnostics */
} Args;

typedef struct L L;
typedef Value *(*BuiltinFn)(L *l, Value *self, Args *a);

/* Statement outcomes. */
typedef enum { X_NEXT, X_RETURN, X_BREAK, X_CONTINUE } Exit;

typedef struct Frame {
  Scope *scope;
  Value *ret;
} Frame;

enum {
  BI_FUNC = 1,   /* callable as a function: relu(x), torch.relu(x) */
  BI_METHOD = 2, /* callable as a tensor method: x.relu() */
  BI_CLASS = 4,  /* a module class: Linear(...) */
  BI_PROP = 8,   /* a tensor property: x.shape, x.T */
};

struct Builtin {
  const char *name;
  unsigned flags;
  BuiltinFn fn;
  const char *sig; /* argument names and defaults, e.g. "input, dim=None, keepdim=False" */
};

struct Scope {
  Scope *parent;
  Attrs vars;
};

struct L {
  Arena *arena;
  const Source *src;
  Diag *diag;
  Program *p;
  Graph *g;   /* the open graph, or NULL between graphs */
  jmp_buf fail;
  Scope *globals;
  int depth;        /* call depth, bounded */
  int64_t steps;    /* evaluation steps, bounded so no program hangs the compiler */
  bool no_grad;     /* inside `with no_grad():` */
  Value *none, *vtrue, *vfalse;
  struct {
    const char *key;
    const Builtin *b;
  } bcache[256]; /* builtins looked up by name pointer (lower.c lookup) */
  Stmt **blk;       /* the statement list being filled (NULL: the program's top level) */
  int *blkn, *blkcap;
  int loop_depth;   /* host loops being lowered */
  int ngenerators;  /* torch.Generator() objects made so far (generator.c numbers them 1..) */
  int unrolled;     /* compile-time loops entered since the innermost host loop */
  /* Run-time regions: the bodies of host loops and the branches of host ifs, innermost
   * last; [0] is the top level. A container made in one region and changed in an inner
   * one changes at run time, once per iteration (host.c, "run-time lists"). */
  struct Region {
    int serial;
    Stmt **blk;       /* the statement list it fills (NULL: the top level) */
    int *blkn, *blkcap;
  } regions[64];
  int nregions, region, nserial;
  struct ListRead {   /* typed reads of run-time lists, checked once every append is known */
    HostExpr *e;
    int kinds;        /* the element kinds when it was read */
    bool sum;
  } *lreads;
  int nlreads, caplreads;
  bool rng_drawn;
  bool carry_loop;
  int capture;      /* lowering the branches of an if that runs after the graph */  /* prepare_carried is preparing a loop (not an if) */   /* a loader loop ran before: manual_seed() can no longer be the start seed */
  int loader;       /* the innermost loader loop's loader, or -1 */
  int *var_loader;  /* var id -> the loader whose batch is its symbolic dim, or -1 */
  int nvar_loader;
  Value **leaves;   /* var id -> the leaf tensor (parameter) living in it, for .grad */
  int nleaves;
  Stmt *pending;    /* prints inside the open graph, emitted after it */
  int npending, cappending;
  int32_t stmt_off; /* the statement being evaluated: the location of graph inputs */
  /* DataLoader over a user Dataset: the index passed to __getitem__ to see what it
   * returns, and the rows x[probe] it produced, with the tensors they are rows of */
  Value *saves;     /* save() calls so far: (path, bare tensor?, [key, tensor, ...]) */
  Value *row_probe;
  Value *rows[8][2];
  int nrows;
  struct Imports *imports; /* the program's own modules (imports.c), NULL until one is used */
  Value *st_saves;         /* safetensors files saved so far: (path, StFile) (safetensors.c) */
  struct TokCache *tokcache; /* lookup tables built from tokenizers' attributes (tokenizers.c) */
  Value *ddps;               /* DistributedDataParallel wrappers made so far (distributed.c) */
};

/* ---- lower.c ---------------------------------------------------------------------- */
_Noreturn void lerr(L *l, int32_t off, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
Value *v_new(L *l, VKind k);
Value *v_int(L *l, int64_t i);
Value *v_float(L *l, double f);
Value *v_str(L *l, const char *s);
Value *v_bool(L *l, bool b);
Value *v_tuple(L *l, int n);
void v_list_push(L *l, Value *list, Value *item);
const char *v_typename(const Value *v);
bool v_truthy(L *l, Value *v, int32_t off);
Value *v_call(L *l, Value *fn, Args *a);
/* obj.name as the program's obj.name evaluates it; a missing one is a diagnostic. */
Value *lower_getattr(L *l, Value *obj, const char *name, int32_t off);
/* name in the attributes of class cls or of a base class, or NULL. */
Value *class_attr(Value *cls, const char *name);
/* obj.name bound to obj when it is a method of obj's user class, else NULL. */
Value *user_method(L *l, Value *obj, const char *name);
void attrs_set(L *l, Attrs *a, const char *key, Value *v);
Value *attrs_get(const Attrs *a, const char *key);
/* Python's str() and repr() of a host value (tensors are rejected). */
const char *v_str_of(L *l, Value *v, bool repr, int32_t off);
int64_t range_len(L *l, const Value *r, int32_t off);
/* a + b for strings of which one or both hold run-time values (V_FSTR). */
Value *fstr_concat(L *l, Value *a, Value *b, int32_t off);
/* The error for a V_FSTR used where its text is needed at compile time. */
_Noreturn void fstr_unsupported(L *l, const char *what, int32_t off);
/* Python's format(v, spec) for a compile-time value. */
const char *format_spec(L *l, Value *v, const char *spec, int32_t off);

/* Graph building. */
Graph *cur_graph(L *l);
void end_graph(L *l);
int tnode(L *l, Value *t);          /* the tensor's node in the current graph */
int tvar(L *l, Value *t);           /* make sure the tensor's value is in a program var */
Value *mk_tensor(L *l, int node);   /* a new computed tensor value for node in cur graph */
const Node *tn(L *l, Value *t);     /* its node (valid until the next ir_add) */
int add_node(L *l, Op op, const int32_t *in, int nin, const Attr *attr, int32_t off);
void tensor_inplace(L *l, Value *old, Value *nv, int32_t off);

/* Statements: appended to the current block, after the open graph's pending prints. */
Stmt *emit_stmt(L *l, StmtKind kind, int32_t off);
/* A host-side statement that must run after the open graph (it may read its values). */
Stmt *emit_host_stmt(L *l, StmtKind kind, int32_t off);
Exit lower_block(L *l, Frame *f, const Ast *b);

/* ---- imports.c: the program's own modules ------------------------------------------- */
/* Whether the dotted module's first name is a file or folder in the main file's folder. */
bool import_is_local(L *l, const char *name);
/* import / from-import statement st of a local module: runs it once, binds the names in s;
 * false (nothing done) when the module is not local. */
bool import_stmt(L *l, Scope *s, const Ast *st);
Value *module_attr(L *l, Value *mod, const char *name, int32_t off); /* mod.name */
const char *module_repr(L *l, Value *mod, int32_t off);           /* print(mod) */
/* A module Python has (standard library, common packages) that ttc does not implement. */
bool import_known_elsewhere(const char *name);

/* ---- safetensors.c: safetensors.torch ------------------------------------------------ */
/* safetensors.X and safetensors.torch.X (ns is the module namespace named so). */
Value *safetensors_getattr(L *l, Value *ns, const char *name, int32_t off);
/* module.load_state_dict, bound: takes a dict of tensors too (orig: the original method). */
Value *state_dict_loader(L *l, Value *obj, Value *orig);

/* ---- pyos.c: os.path's pure functions ---------------------------------------------- */
/* os.X and os.path.X (ns is the module namespace named so). */
Value *os_getattr(L *l, Value *ns, const char *name, int32_t off);

/* ---- host.c: run-time host values and control flow ---------------------------------- */
Value *v_host(L *l, HostExpr *e);
HostExpr *hx_int(L *l, int64_t i);
HostExpr *hx_float(L *l, double f);
/* The value as a host expression: numbers, bools, V_HOST, and one-element tensors (their
 * .item()). NULL if it is none of these. */
HostExpr *hx_of(L *l, Value *v, int32_t off);
Value *host_binop(L *l, int op, Value *a, Value *b, int32_t off);
Value *host_compare(L *l, int op, Value *a, Value *b, int32_t off);
Value *host_round(L *l, Value *x, int64_t ndigits, int32_t off); /* Python's round(x, n) */
Value *host_unop(L *l, int op, Value *a, int32_t off);
Value *host_call1(L *l, int hu, Value *a, int32_t off); /* math functions, int(), float() */
Value *tensor_item(L *l, Value *t, int32_t off);
/* A 0-d tensor in the current graph holding a host value. */
Value *host_to_tensor(L *l, Value *v, DType dt, int32_t off);
/* A run-time value kept for later (an f-string piece, a container's item), copied now. */
Value *host_snapshot(L *l, Value *v, int32_t off);
/* Run-time regions and lists. */
void region_enter(L *l, int32_t off);
void region_leave(L *l);
/* Whether container v was made outside the run-time region being lowered. */
bool outer_container(L *l, const Value *v);
/* The mutation of an outer container that only a run-time list could hold: a diagnostic. */
_Noreturn void outer_mutation(L *l, const Value *v, const char *what, int32_t off);
void rtlist_append(L *l, Value *list, Value *x, int32_t off);
Value *rtlist_len(L *l, Value *list, int32_t off);
Value *rtlist_get(L *l, Value *list, Value *index, int32_t off);
Value *rtlist_reduce(L *l, Value *list, int kind, int32_t off); /* HX_LIST_SUM/MIN/MAX */
/* A run-time list whose length is known at compile time (filled by a loop over a constant
 * range, after it) becomes a compile-time list of run-time items, in place: true if so. */
bool rtlist_fix(L *l, Value *list, int32_t off);
/* An int that stops the program when it is computed (reading an empty run-time list): the
 * failing arm of a run-time choice, put behind || so that it is computed only then. */
HostExpr *hx_runtime_error(L *l, int32_t off);
/* The list as a print item (and an f-string piece). */
HostExpr *rtlist_expr(L *l, Value *list);
void rtlist_check_types(L *l); /* after lowering: typed reads of lists of mixed kinds */
_Noreturn void rtlist_unsupported(L *l, const char *what, int32_t off);
int host_var_for(L *l, Value *init, const char *name, int32_t off); /* a fresh hvar = init */
void host_assign(L *l, int hvar, Value *v, int32_t off);
Exit lower_host_for(L *l, Frame *f, const Ast *st, Value *iter);
Exit lower_host_if(L *l, Frame *f, const Ast *st, HostExpr *cond);
bool want_host_loop(L *l, Frame *f, const Ast *st, Value *iter);
void set_var_loader(L *l, int var, int loader);
/* After lowering: every read of a host variable takes the variable's final type. */
void host_final_types(Program *p);
/* obj[key], obj a compile-time dict of int keys or a list, tuple or str of strings and key
 * a run-time int: a run-time string (V_FSTR) of the one it selects, looked up here. */
Value *host_pick(L *l, Value *obj, Value *key, int32_t off);
/* len() of a run-time string of text and selected strings (host_pick's). */
Value *fstr_len(L *l, Value *s, int32_t off);
/* bool() of a run-time string: true when some piece cannot be empty, else a diagnostic. */
bool fstr_truthy(L *l, Value *s, int32_t off);

/* ---- builtins.c: the registry, argument binding, what every builtin shares ------------ */
/* A builtin's function: BI_FN(add) is bi_add. Each file defines its builtins static and
 * lists them in its table; the few that another file calls directly are declared in that
 * file's section below. */
#define BI_FN(name) Value *bi_##name(L *l, Value *self, Args *a)
const Builtin *bi_lookup(const char *name, unsigned flags);
/* Calls builtin name (a method when self is given) with positional arguments. */
Value *bi_call(L *l, const char *name, Value *self, Value **pos, int npos, int32_t off);
Value *bi_getattr(L *l, Value *obj, const char *name, int32_t off); /* tensors, dtypes */
Value *bi_bind(L *l, const Builtin *b, Value *self); /* b as a method of self, or unbound */
void lower_init_builtins(L *l);
/* Parse a call's arguments against a signature; out[i] is NULL for a missing optional
 * argument whose default is None. */
void args_bind(L *l, const char *fname, const char *sig, Value *self, Args *a, Value **out,
               int nout);
/* A compile-time int (or number) argument, or a diagnostic naming what it is for. */
int64_t want_int(L *l, Value *v, const char *what, int32_t off);
double want_num(L *l, Value *v, const char *what, int32_t off);
bool want_bool(L *l, Value *v, int32_t off); /* None is False */
Value *want_tensor(L *l, Value *v, const char *fname, int32_t off);
DType want_dtype(L *l, Value *v, int32_t off);
int64_t f2i(L *l, double x, int32_t off); /* a float's integer value, or a diagnostic */
float d2f(double x);                       /* out-of-range values become infinities */
Shape tshape(L *l, Value *t);
DType tdtype(L *l, Value *t);
/* The traced result of node (requires grad as its inputs do, PyTorch's grad_fn name). */
Value *bi_result(L *l, int node, Value **ins, int nins, const char *gradfn);
/* The traced result of a one-input op on x. */
Value *op1(L *l, Op op, Value *x, const Attr *attr, int32_t off, const char *gradfn);
int normdim(L *l, int64_t d, int rank, int32_t off); /* d in [-rank, rank) as an index */
void remember_leaf(L *l, int var, Value *t); /* var holds leaf t, for its .grad */
/* t as a leaf; requiring grad, it moves into a program variable. */
Value *make_leaf(L *l, Value *t, bool rg, int32_t off);
DType dmax(DType a, DType b);       /* the wider of two dtypes, by category then size */
DType scalar_dtype(const Value *v); /* a Python number's tensor dtype */
Value *cast(L *l, Value *x, DType dt, int32_t off);
/* PyTorch's result_type over tensors and Python scalars. */
DType result_type(L *l, Value **v, int n, int32_t off);
/* v (a tensor, a Python number or a host value) as a tensor of dtype dt. */
Value *to_tensor_dt(L *l, Value *v, DType dt, int32_t off);

/* ---- tensor_ops.c: creation, elementwise, reductions ---------------------------------- */
extern const Builtin tensor_builtins[];
extern const int tensor_nbuiltins;
Value *bi_binop(L *l, int op, Value *a, Value *b, int32_t off);
Value *bi_unop(L *l, int op, Value *a, int32_t off);
Value *bi_compare(L *l, int op, Value *a, Value *b, int32_t off);
bool host_eq(L *l, Value *a, Value *b, int32_t off); /* Python's == on compile-time values */
Value *filled(L *l, Shape s, DType dt, double x, int32_t off); /* every element x */
Value *ew2(L *l, Op op, Value *x, Value *y, int32_t off, const char *gradfn);
/* where(c, x, y), traced; a number on one side takes the other side's dtype */
Value *bi_select(L *l, Value *c, Value *x, Value *y, int32_t off, const char *gradfn);
/* The dims bitmask for dim=None (all), an int, or a tuple/list of ints. */
int64_t dims_mask(L *l, Value *dim, int rank, int32_t off);
Value *reduce(L *l, Op op, Value *x, Value *dim, bool keepdim, int32_t off, const char *gradfn);
Value *maxmin(L *l, Value *self, Args *a, bool ismax); /* torch.max / torch.min */
/* Called directly by the activation modules, the in-place methods, torch.sum & co. and
 * Python's abs() and sum(). */
BI_FN(add);
BI_FN(sub);
BI_FN(mul);
BI_FN(div);
BI_FN(abs);
BI_FN(relu);
BI_FN(sigmoid);
BI_FN(tanh);
BI_FN(gelu);
BI_FN(sum);
BI_FN(max);
BI_FN(min);
BI_FN(softmax);
BI_FN(log_softmax);
BI_FN(round); /* torch.round; round() is Python's */
BI_FN(any);   /* torch.any, torch.all */
BI_FN(all);

/* ---- linalg.c: torch.linalg (listed in tensor_ops.c's table) --------------------------- */
BI_FN(linalg_inv);
BI_FN(inverse);
BI_FN(linalg_solve);
BI_FN(linalg_det);
BI_FN(det);
BI_FN(linalg_lstsq);
BI_FN(linalg_vector_norm);
BI_FN(linalg_matrix_norm);
BI_FN(linalg_norm);

/* ---- generator.c: torch.Generator objects (listed in tensor_ops.c's table) ------------- */
BI_FN(Generator);
/* The number of generator= argument g of draw fname (0 for None: the default generator). */
int gen_arg(L *l, Value *g, const char *fname, int32_t off);
/* Around a draw from generator gen (nothing for 0): switch to it, and back to the default. */
void gen_use(L *l, int gen, int32_t off);
void gen_done(L *l, int gen, int32_t off);
/* uniform U[0, 1) (OP_UNIFORM) or standard normal (OP_NORMAL) draws of shape s from
 * generator gen (0: the default one), in the open graph */
Value *random_source(L *l, Op op, DType dt, Shape s, int gen, int32_t off);

/* ---- tensor_layout.c: layout, indexing, casts, sizes ---------------------------------- */
extern const Builtin layout_builtins[];
extern const int layout_nbuiltins;
/* One item of a subscript: x[value], x[lo:hi:st], x[...]; a None value inserts a dim. */
typedef struct IndexItem {
  enum { IX_VALUE, IX_SLICE, IX_ELLIPSIS } kind;
  Value *v, *lo, *hi, *st; /* lo/hi/st NULL when absent */
  int32_t off;
} IndexItem;
Value *bi_index(L *l, Value *obj, IndexItem *items, int n, bool tuple, int32_t off);
void bi_index_put(L *l, Value *x, IndexItem *items, int n, Value *v, int32_t off);
Value *permute_to(L *l, Value *x, const int64_t *perm, int rank, int32_t off, const char *gradfn);
Value *dim_size(L *l, Shape s, int i, int32_t off); /* a host value for the batch dim */
Value *size_tuple(L *l, Shape s);                   /* x.shape, a torch.Size */
BI_FN(flatten);                                     /* for nn.Flatten */

/* ---- modules.c: module classes, module methods, print(model) -------------------------- */
extern const Builtin module_builtins[];
extern const int module_nbuiltins;
Value *bi_module_new(L *l, const char *cls);
Value *bi_make_param(L *l, Value *t, const char *name, int32_t off);
Value *bi_uniform_param(L *l, Shape s, DType dt, double bound, const char *name, int32_t off);
void collect_params(L *l, Value *m, Value *out, const char *prefix, Value *names);
/* print(model): PyTorch's repr of a module, or NULL for other objects. */
const char *bi_module_repr(L *l, Value *m, int32_t off);
/* Python str semantics over UTF-8 bytes (python.c): the number of code points, the byte
 * offset of code point k, the byte length of the code point at s (0 at the end). */
int64_t str_codes(const char *s);
size_t str_code_off(const char *s, int64_t k);
size_t str_code_len(const char *s);
/* training.c: an instance of builtin class clsname (an optimizer, a loader); whether v is
 * an instance of the class named name. */
Value *obj_new(L *l, const char *clsname);
bool is_class(const Value *v, const char *name);
bool bi_is_module(const Value *v); /* a torch.nn module (builtin or a user class) */
/* Whether item is also a named attribute of m (Sequential(OrderedDict(...))'s children are
 * both), so that walks over attributes and "__items__" list it once. */
bool bi_item_is_attr(const Value *m, const Value *item);
/* nn.ModuleDict: its keys (a V_LIST of V_STR, insertion order), or NULL for another value */
Value *moduledict_keys(const Value *m);
Value *moduledict_get(L *l, Value *m, Value *key, int32_t off); /* md[key] */
const Builtin *moduledict_method(const Value *m, const char *name); /* keys/values/items */
Value *bi_call_with_opts(L *l, BuiltinFn fn, Value **pos, int npos, Value *m, const char *const *names, int n,
                         int32_t off);
/* The methods every module has, for bi_getattr: parameters(), named_parameters(),
 * train(), eval(), zero_grad(), to(). */
BI_FN(parameters);
BI_FN(named_parameters);
BI_FN(train_mode);
BI_FN(eval_mode);
BI_FN(module_zero_grad);
BI_FN(module_to);
BI_FN(module_children); /* children(), named_children(), modules(), named_modules() */
BI_FN(module_named_children);
BI_FN(module_modules);
BI_FN(module_named_modules);
BI_FN(module_apply);
BI_FN(module_requires_grad_);
BI_FN(module_register_buffer);
BI_FN(module_buffers);
BI_FN(module_named_buffers);

/* ---- autograd.c: backward, gradients, in-place methods, losses ------------------------ */
extern const Builtin grad_builtins[];
extern const int grad_nbuiltins;
Value *leaf_grad(L *l, Value *leaf);
BI_FN(softplus); /* for nn.Softplus */
void zero_param_grads(L *l, Value *params, int32_t off);
void none_param_grads(L *l, Value *params, int32_t off);

/* ---- python.c: Python's built-ins, methods of lists, dicts and strings ---------------- */
extern const Builtin py_builtins[];
extern const int py_nbuiltins;
void lower_print(L *l, Args *a);
/* The method called name of a list, dict or str (by its kind k), or NULL. */
const Builtin *py_method(VKind k, const char *name);
/* x in seq where x or an item of list or tuple seq is a run-time number: a run-time bool;
 * NULL when nothing in it is run-time. */
Value *py_in_runtime(L *l, Value *x, Value *seq, int32_t off);

/* ---- generate.c: sequences of run-time length (a generation loop's token buffer) -------- */
typedef struct Grow Grow;
typedef struct Win Win;
/* Whether the range loop `loop` grows a name with torch.cat in a way generate.c keeps in
 * one buffer (then it can be a C loop). */
bool grow_wanted(L *l, Frame *f, const Ast *loop);
/* Before the body of such a loop of trips iterations: the names become buffers. */
Grow *grow_begin(L *l, Frame *f, const Ast *loop, int64_t trips, int *ngrow);
void grow_body_end(L *l, Frame *f, Grow *gs, int n, int32_t off); /* checks the body's end */
void grow_end(L *l, Frame *f, Grow *gs, int n);                    /* after the loop */
int win_tnode(L *l, Value *t, int32_t off);  /* a window's positions in the open graph */
DType win_dtype(L *l, const Value *t);
Value *win_size(L *l, Value *t, int d);      /* x.size(d), or x.shape for d < 0 */
int win_rank(L *l, const Value *t);
Value *win_index(L *l, Value *t, IndexItem *items, int n, int32_t off); /* or NULL */
Value *win_select(L *l, HostExpr *cond, Value *a, Value *b);            /* or NULL */
Value *win_cat(L *l, Value **ts, int n, int64_t dim, int32_t off);      /* or NULL */
/* The extent (an LD_EXTENT or a loader) whose length run-time int v is, or -1. */
int ext_of(L *l, const Value *v);
void ext_use(L *l, int ld, int32_t off); /* the open graph's symbolic dims have ld's length */
/* x's items that slice to a run-time length or index a run-time-length dim, done first. */
Value *ext_index(L *l, Value *x, IndexItem *items, int n, int32_t off);

/* ---- masked.c: results sized at run time (x[mask], masked_select, nonzero, unique) ------- */
/* x[mask] with a bool mask of x's leading dims. */
Value *dyn_select(L *l, Value *x, Value *mask, int32_t off);
/* A call of a builtin with such a result as receiver or argument: the result, or NULL when
 * none is involved (or the builtin takes it as it is, as print does). */
Value *dyn_call(L *l, Value *fn, Args *a);
Value *dyn_getattr(L *l, Value *obj, const char *name, int32_t off);
/* Operators with such an operand (cmp: a comparison CMP_*, else a BIN_* or UN_*). */
Value *dyn_binop(L *l, int op, bool cmp, Value *a, Value *b, int32_t off);
Value *dyn_unop(L *l, int op, Value *a, int32_t off);
/* The print item of such a result: its buffer and its run-time count. */
void dyn_print_item(L *l, Value *t, PrintItem *it, int32_t off);
/* x[items] = v where v or the index needs masked.c (a mask with a run-time-sized v, tensor
 * or list indices); false when the plain path applies. */
bool dyn_index_put(L *l, Value *x, IndexItem *items, int n, Value *v, int32_t off);
/* The diagnostic for a use of such a result that ttc does not support. */
_Noreturn void dyn_unsupported(L *l, const char *what, int32_t off);
Value *dyn_where1(L *l, Value *cond, int32_t off); /* torch.where(cond) */
BI_FN(nonzero);
BI_FN(masked_select);
BI_FN(unique);
BI_FN(index_put_);
BI_FN(index_put_copy); /* torch.index_put, out of place */
BI_FN(index_add_);
BI_FN(index_add);
BI_FN(scatter_add_);
BI_FN(scatter_add);

/* ---- activations.c: more activation functions and their modules ---------------------- */
extern const Builtin act_builtins[];
extern const int act_nbuiltins;

/* ---- layers.c: convolution, pooling, dropout, batch norm ------------------------------ */
extern const Builtin layer_builtins[];
extern const int layer_nbuiltins;

/* ---- rnn.c: RNN, LSTM, GRU and their cells (rows of layers.c's table) ---------------- */
BI_FN(RNN);
BI_FN(LSTM);
BI_FN(GRU);
BI_FN(RNNCell);
BI_FN(LSTMCell);
BI_FN(GRUCell);
/* print(model)'s extra_repr of these modules, or NULL for other modules. */
const char *rnn_extra_repr(L *l, Value *m, int32_t off);

/* ---- transformer.c: MultiheadAttention, TransformerEncoder(Layer), F.sdpa (layers.c's) ---- */
BI_FN(MultiheadAttention);
BI_FN(TransformerEncoderLayer);
BI_FN(TransformerEncoder);
BI_FN(scaled_dot_product_attention);

/* ---- training.c: data, optimizers, schedulers, checkpoints --------------------------- */
extern const Builtin train_builtins[];
extern const int train_nbuiltins;
/* The batch a loop over a loader binds: its variables, with the dataset's transform. */
Value *loader_batch(L *l, Value *loader, int32_t off);
Value *train_getattr(L *l, Value *obj, const char *name);

/* ---- distributed.c: torch.distributed over MPI, DistributedSampler, DDP ------------------ */
extern const Builtin dist_builtins[];
extern const int dist_nbuiltins;
Value *dist_getattr(L *l, Value *obj, const char *name);
/* DataLoader(..., sampler=s): loader (the DataLoader object, id its Loader) yields the rank's
 * share; user_ds is the dataset as the program gave it. */
void dist_loader_sampler(L *l, Value *loader, Value *sampler, Value *user_ds, int id, int32_t off);
/* After backward() gave gradients to the leaves vars[0..n): DDP's averaging. */
void dist_after_backward(L *l, const int *vars, int n, int32_t off);
/* opt.param_groups[i]['lr'] = lr: the optimizer's learning rate from here on */
void train_set_lr(L *l, Value *opt, Value *lr, int32_t off);
Value *checkpoint_index(L *l, Value *c, Value *key, int32_t off);
const char *checkpoint_unknown(L *l, Value *c);

/* ---- python.c: the evaluator's cases for lambdas, dict and set displays, modules -------- */
Value *py_lambda(L *l, Scope *s, const Ast *e);      /* AST_LAMBDA: a function value */
Value *py_dictcomp(L *l, Scope *s, const Ast *e);    /* AST_DICTCOMP */
Value *py_set_display(L *l, Scope *s, const Ast *e); /* AST_SET */
Value *py_module(L *l, const Ast *e);                /* AST_MODULE: copy, collections */
/* a == b where one is a set (a list with s "set" in CPython's order): equal as sets, for
 * host_eq, which compares lists item by item */
bool py_set_eq(L *l, Value *a, Value *b, int32_t off);
/* str()/repr() with sets and OrderedDicts (anywhere inside) printed as Python prints them. */
const char *py_text(L *l, Value *v, bool repr, int32_t off);

/* ---- sampling.c: torch.multinomial --------------------------------------------------- */
extern const Builtin sampling_builtins[];
extern const int sampling_nbuiltins;

/* ---- text.c: UTF-8, Python's whitespace, string sets, maps of 64-bit keys ------------- */
size_t utf8_end(const char *s, size_t i, size_t n); /* the end of the code point at s[i] */
uint32_t utf8_cp(const char *s, size_t i, size_t j); /* the code point s[i..j) */
int64_t utf8_count(const char *s);                   /* Python's len() of s */
bool py_isspace(uint32_t u);                         /* str.isspace() of one code point */
size_t text_skip_space(const char *s, size_t i, size_t n); /* past the whitespace at s[i] */
size_t text_skip_word(const char *s, size_t i, size_t n);  /* past the rest at s[i] */
typedef struct TextBuf { /* malloc'd bytes, NUL-terminated once any are added */
  char *p;
  size_t n, cap;
} TextBuf;
void textbuf_add(TextBuf *b, const char *s, size_t n);
typedef struct Strset { /* strings numbered 0, 1, ... in the order they are added */
  TextBuf bytes;  /* the strings back to back, each followed by a NUL */
  size_t *at;     /* id -> offset in bytes */
  uint32_t *len;  /* id -> length */
  uint64_t *hash; /* id -> hash */
  int n, cap;
  int32_t *slot;  /* open addressing over ids, -1 when empty */
  size_t nslot;   /* a power of two, over twice n */
  TextBuf tmp;    /* where a concatenation is built before it is added */
} Strset;
int strset_id(Strset *t, const char *s, size_t n); /* s's id, added if new (s not in t) */
int strset_id2(Strset *t, const char *a, size_t na, const char *b, size_t nb); /* a + b's */
int strset_find(const Strset *t, const char *s, size_t n); /* s's id, or -1 */
const char *strset_str(const Strset *t, int id);
void strset_free(Strset *t);
typedef struct U64Map { /* 64-bit keys to int32 values, malloc'd */
  uint64_t *key;
  int32_t *val; /* INT32_MIN: a free slot */
  size_t n, cap;
} U64Map;
int32_t *u64map_ref(U64Map *m, uint64_t k);     /* k's value, added as 0 if absent */
int32_t u64map_get(const U64Map *m, uint64_t k); /* k's value, or -1 */
void u64map_free(U64Map *m);

/* ---- tokenizers.c: TinyTorch's CharTokenizer and BPETokenizer (curriculum module 10) --- */
extern const Builtin tok_builtins[];
extern const int tok_nbuiltins;
/* A tokenizer's method name, bound to obj; NULL when obj is no tokenizer or has no such. */
Value *tok_getattr(L *l, Value *obj, const char *name);
void tok_free(L *l); /* when lowering ends: the tables kept for the tokenizers' methods */

/* ---- pyfile.c: open() for reading text at compile time ------------------------------- */
extern const Builtin file_builtins[];
extern const int file_nbuiltins;
bool file_is(const Value *v);                           /* an object open() made */
Value *file_getattr(L *l, Value *obj, const char *name); /* its methods; NULL for others */

/* ---- profiler.c: the curriculum's Profiler (count_parameters, count_flops, measure_memory) -- */
extern const Builtin profiler_builtins[];
extern const int profiler_nbuiltins;
/* A Profiler's method name bound to obj; NULL when obj is no Profiler or has no such. */
Value *profiler_getattr(L *l, Value *obj, const char *name);

/* ---- quant.c: quantized tensors (torch.quantize_per_tensor & co., quantize_int8) ------- */
extern const Builtin quant_builtins[];
extern const int quant_nbuiltins;
/* torch.qint8, torch.quint8, torch.qint32 for ns torch, else NULL. */
Value *quant_getattr(L *l, Value *ns, const char *name);
/* A quantized tensor's method name bound to it, else NULL. */
Value *quant_method(L *l, Value *obj, const char *name);

/* ---- fold.c: values of tensors computed from constants alone ------------------------- */
/* t's n elements (as doubles, and exactly as int64s for integer dtypes) when t is made in the
 * open graph from constants by ops fold.c knows; false otherwise (they are known at run time). */
bool fold_values(L *l, Value *t, double *f, int64_t *i, int64_t n);
/* A one-element tensor's value as a Python number (or bool) when fold_values knows it, else NULL. */
Value *fold_scalar(L *l, Value *t);

/* ---- hasattr.c, pynames.c: hasattr() and getattr() ----------------------------------- */
BI_FN(py_hasattr);
BI_FN(py_getattr);
/* Whether dir() of type's objects lists name, as Python 3 and PyTorch 1.13 give it ("torch",
 * "Tensor", "int", "nn.Linear", ...: pynames.c's tables); -1 when there is no such table. */
int pynames_has(const char *type, const char *name);
typedef struct PyNames {
  const char *type;         /* "torch", "Tensor", "nn.Linear", ..., "everyone" */
  const char *const *names; /* sorted by strcmp; object's own attributes ("everyone") left out */
  size_t n;
  const char *parent;       /* a table whose names these objects have too, or NULL */
} PyNames;
extern const PyNames pynames[];
extern const int npynames;

/* ---- dataclass.c: dataclasses.dataclass ------------------------------------------------ */
Value *dataclass_getattr(L *l, const char *name, int32_t off); /* dataclasses.NAME */
/* @dataclass (dec, evaluated) on class cls made by st: records its fields */
Value *dataclass_apply(L *l, Value *dec, Value *cls, const Ast *st);
/* obj = cls(args) for a dataclass without its own __init__: binds the fields; false when
 * cls is no dataclass */
bool dataclass_init(L *l, Value *cls, Value *obj, Args *a);
/* The generated __repr__'s text, or NULL when obj is no dataclass instance */
const char *dataclass_repr(L *l, Value *obj, int32_t off);
/* a == b by the generated __eq__ (1 or 0), or -1 when a is no dataclass instance */
int dataclass_eq(L *l, Value *a, Value *b, int32_t off);

/* ---- prune.c: torch.nn.utils.prune, magnitude_prune, structured_prune ------------------ */
extern const Builtin prune_builtins[];
extern const int prune_nbuiltins;
/* The forward pre-hooks of pruned module m: each pruned tensor recomputed as orig * mask. */
void prune_before_forward(L *l, Value *m, int32_t off);
Value *prune_getattr(L *l, const char *name, int32_t off); /* torch.nn.utils.prune.NAME */

/* ---- tailret.c ------------------------------------------------------------------- */
/* A function body whose returns sit under conditions, rewritten so every path assigns
 * TAILRET_NAME last (the function's value); the body itself when it needs no rewrite or
 * has a return in a loop. */
extern const char *const TAILRET_NAME;
const Ast *tailret_body(L *l, const Ast *body);

#endif
