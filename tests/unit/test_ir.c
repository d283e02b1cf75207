/*
 * test_ir.c — the graph IR: arena, builder, every shape rule and its messages, the
 * verifier, cost, and both printers.
 *
 * Shape rules are checked against what PyTorch does for the same operands (the expected
 * shapes below were taken from torch); error messages are compared in full because the
 * front end shows them to users verbatim.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "ir/ir.h"

/* ---- helpers ---------------------------------------------------------------------- */

static const Loc L0 = {0};

/* A FILL source of the given dtype and dims (rank -1 terminated list is error-prone, so
 * pass the rank). */
static int src(Graph *g, DType dt, int rank, ...) {
  int64_t d[TT_MAX_RANK];
  va_list ap;
  va_start(ap, rank);
  for (int i = 0; i < rank; i++) d[i] = va_arg(ap, int64_t);
  va_end(ap);
  return ir_add_source(g, OP_FILL, dt, shape_make(rank, d), NULL, L0);
}

static const char *sh(const Graph *g, int id) {
  static char buf[4][96];
  static int k;
  char *b = buf[k++ & 3];
  return shape_str(&g->nodes[id].shape, b, 96);
}

typedef struct {
  Program *p;
  Graph *g;
  IrErr err;
} Fx;

static int setup(void **state) {
  Fx *fx = calloc(1, sizeof *fx);
  fx->p = ir_program_new("t.tt", "x = 1\n");
  fx->g = ir_graph_new(fx->p, L0);
  *state = fx;
  return 0;
}

static int teardown(void **state) {
  Fx *fx = *state;
  ir_program_free(fx->p);
  free(fx);
  return 0;
}

/* ir_add with attributes, for the rules that need them. */
static int add_attr(Fx *fx, Op op, int a, int64_t i0, int64_t i1) {
  Attr at;
  memset(&at, 0, sizeof at);
  at.i[0] = i0;
  at.i[1] = i1;
  int32_t in[1] = {a};
  return ir_add(fx->g, op, in, 1, &at, L0, &fx->err);
}

static int add_ints(Fx *fx, Op op, int a, const int64_t *v, int n) {
  Attr at;
  memset(&at, 0, sizeof at);
  at.ints = (int64_t *)v;
  at.nints = n;
  int32_t in[1] = {a};
  return ir_add(fx->g, op, in, 1, &at, L0, &fx->err);
}

static int matmul(Fx *fx, int a, int b, int transposed) {
  Attr at;
  memset(&at, 0, sizeof at);
  at.i[0] = transposed;
  int32_t in[2] = {a, b};
  return ir_add(fx->g, OP_MATMUL, in, 2, &at, L0, &fx->err);
}

/* ---- arena, dtypes, shapes -------------------------------------------------------- */

static void test_arena(void **state) {
  (void)state;
  Arena *a = arena_new();
  for (int i = 1; i < 100; i++) {
    unsigned char *p = arena_alloc(a, (size_t)i);
    assert_int_equal((uintptr_t)p % 16, 0);
    for (int k = 0; k < i; k++) assert_int_equal(p[k], 0);
    memset(p, 0xff, (size_t)i);
  }
  unsigned char *big = arena_alloc(a, 1 << 20);
  assert_int_equal((uintptr_t)big % 16, 0);
  assert_int_equal(big[(1 << 20) - 1], 0);
  unsigned char *after = arena_alloc(a, 8); /* still served after a big block */
  assert_int_equal(after[0], 0);
  assert_string_equal(arena_strdup(a, "abc"), "abc");
  assert_string_equal(arena_strndup(a, "abcdef", 2), "ab");
  assert_string_equal(arena_printf(a, "%s%d", "graph", 12), "graph12");
  char *longs = arena_printf(a, "%300s|", "x"); /* past the printf's stack buffer */
  assert_int_equal(strlen(longs), 301);
  assert_int_equal(longs[299], 'x');
  arena_free(a);
  arena_free(NULL);
}

static void test_dtypes_shapes(void **state) {
  (void)state;
  assert_string_equal(dt_name(DT_F32), "f32");
  assert_string_equal(dt_name(DT_BOOL), "bool");
  assert_string_equal(dt_ctype(DT_I64), "int64_t");
  assert_string_equal(dt_ctype(DT_BOOL), "_Bool");
  assert_string_equal(dt_torch(DT_F64), "torch.float64");
  assert_int_equal(dt_size(DT_I8), 1);
  assert_true(dt_is_float(DT_F64));
  assert_false(dt_is_float(DT_I32));
  char b[64];
  int64_t d[] = {3, 2};
  Shape s = shape_make(2, d);
  assert_string_equal(shape_str(&s, b, sizeof b), "[3,2]");
  Shape sc = shape_scalar();
  assert_string_equal(shape_str(&sc, b, sizeof b), "[]");
  assert_int_equal(shape_numel(&sc), 1);
  s.symm = 1u;
  s.d[0] = 64;
  assert_string_equal(shape_str(&s, b, sizeof b), "[B:64,2]");
  char tiny[4];
  assert_string_equal(shape_str(&s, tiny, sizeof tiny), "[B:"); /* truncates, terminated */
}

static void test_broadcast(void **state) {
  (void)state;
  char b[64];
  Shape x = shape_make(2, (int64_t[]){3, 1}), y = shape_make(1, (int64_t[]){2}), r;
  assert_true(ir_broadcast(&x, &y, &r));
  assert_string_equal(shape_str(&r, b, sizeof b), "[3,2]");
  Shape p = shape_make(2, (int64_t[]){3, 4}), q = shape_make(2, (int64_t[]){3, 5});
  assert_false(ir_broadcast(&p, &q, &r));
  /* symbolic: with itself or 1, not with its bound as a static size */
  Shape s = shape_make(2, (int64_t[]){64, 10});
  s.symm = 1u;
  Shape t = shape_make(1, (int64_t[]){10});
  assert_true(ir_broadcast(&s, &t, &r));
  assert_string_equal(shape_str(&r, b, sizeof b), "[B:64,10]");
  Shape u = shape_make(2, (int64_t[]){1, 10});
  assert_true(ir_broadcast(&u, &s, &r));
  assert_string_equal(shape_str(&r, b, sizeof b), "[B:64,10]");
  assert_true(ir_broadcast(&s, &s, &r));
  Shape st = shape_make(2, (int64_t[]){64, 10});
  assert_false(ir_broadcast(&s, &st, &r));
}

/* ---- the builder and elementwise rules -------------------------------------------- */

static void test_builder_errors(void **state) {
  Fx *fx = *state;
  int a = src(fx->g, DT_F32, 1, (int64_t)3);
  assert_int_equal(ir_add(fx->g, OP_ADD, (int32_t[]){a}, 1, NULL, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "add: expected 2 inputs, got 1");
  assert_int_equal(ir_add2(fx->g, OP_ADD, a, 7, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "add: input 1 refers to node 7, not in the graph");
  assert_int_equal(ir_add(fx->g, OP_CAT, NULL, 0, NULL, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "cat: expected at least 1 input, got 0");
  assert_int_equal(ir_add(fx->g, (Op)999, NULL, 0, NULL, L0, &fx->err), -1);
  assert_int_equal(fx->g->n, 1); /* failures append nothing */
  int b = ir_add2(fx->g, OP_ADD, a, a, L0, &fx->err);
  assert_int_equal(b, 1);
  assert_int_equal(fx->g->nodes[b].in[0], a);
}

static void test_ew(void **state) {
  Fx *fx = *state;
  Graph *g = fx->g;
  int a = src(g, DT_F32, 2, (int64_t)3, (int64_t)1), b = src(g, DT_F32, 1, (int64_t)2);
  int c = ir_add2(g, OP_ADD, a, b, L0, &fx->err);
  assert_true(c >= 0);
  assert_string_equal(sh(g, c), "[3,2]");
  assert_int_equal(g->nodes[c].dtype, DT_F32);
  int p = src(g, DT_F32, 2, (int64_t)3, (int64_t)4), q = src(g, DT_F32, 2, (int64_t)3, (int64_t)5);
  assert_int_equal(ir_add2(g, OP_ADD, p, q, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "add: shapes [3,4] and [3,5] cannot be broadcast: sizes 4 "
                                   "and 5 differ at dimension 1");
  int i = src(g, DT_I64, 1, (int64_t)4);
  assert_int_equal(ir_add1(g, OP_EXP, i, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "exp: expected a floating-point tensor, got i64");
  assert_int_equal(ir_add2(g, OP_MUL, a, i, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "mul: operands have different dtypes f32 and i64");
  int lt = ir_add2(g, OP_LT, a, b, L0, &fx->err);
  assert_int_equal(g->nodes[lt].dtype, DT_BOOL);
  assert_string_equal(sh(g, lt), "[3,2]");
  int w = ir_add(g, OP_WHERE, (int32_t[]){lt, a, b}, 3, NULL, L0, &fx->err);
  assert_true(w >= 0);
  assert_string_equal(sh(g, w), "[3,2]");
  assert_int_equal(g->nodes[w].dtype, DT_F32);
  assert_int_equal(ir_add(g, OP_WHERE, (int32_t[]){a, a, b}, 3, NULL, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "where: expected condition to be a bool tensor, got f32");
  int ca = add_attr(fx, OP_CAST, i, DT_F64, 0);
  assert_int_equal(g->nodes[ca].dtype, DT_F64);
  assert_string_equal(sh(g, ca), "[4]");
  assert_int_equal(add_attr(fx, OP_CAST, i, 99, 0), -1);
  int sm = add_attr(fx, OP_SOFTMAX, a, 1, 0);
  assert_string_equal(sh(g, sm), "[3,1]");
  assert_int_equal(add_attr(fx, OP_SOFTMAX, a, 2, 0), -1);
  assert_string_equal(fx->err.msg, "softmax: dim 2 out of range for a tensor of rank 2");
  /* the batch dim broadcasts only with itself or 1 */
  Shape bs = shape_make(2, (int64_t[]){64, 10});
  bs.symm = 1u;
  int x = ir_add_source(g, OP_FILL, DT_F32, bs, NULL, L0);
  int y = src(g, DT_F32, 2, (int64_t)64, (int64_t)10);
  assert_int_equal(ir_add2(g, OP_ADD, x, y, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "add: shapes [B:64,10] and [64,10] cannot be broadcast: the "
                                   "batch dimension B:64 at dimension 0 matches only itself or 1");
  int z = ir_add1(g, OP_RELU, x, L0, &fx->err);
  assert_string_equal(sh(g, z), "[B:64,10]");
}

/* ---- matmul ------------------------------------------------------------------------ */

static void test_matmul(void **state) {
  Fx *fx = *state;
  Graph *g = fx->g;
  int v3 = src(g, DT_F32, 1, (int64_t)3), w3 = src(g, DT_F32, 1, (int64_t)3);
  int m34 = src(g, DT_F32, 2, (int64_t)3, (int64_t)4), m45 = src(g, DT_F32, 2, (int64_t)4,
                                                                  (int64_t)5);
  int b234 = src(g, DT_F32, 3, (int64_t)2, (int64_t)3, (int64_t)4);
  int r;
  r = matmul(fx, v3, w3, 0);
  assert_string_equal(sh(g, r), "[]");
  r = matmul(fx, m34, m45, 0);
  assert_string_equal(sh(g, r), "[3,5]");
  r = matmul(fx, v3, m34, 0); /* 1-D @ 2-D: [3] @ [3,4] -> [4] */
  assert_string_equal(sh(g, r), "[4]");
  int v4 = src(g, DT_F32, 1, (int64_t)4);
  r = matmul(fx, m34, v4, 0); /* 2-D @ 1-D -> [3] */
  assert_string_equal(sh(g, r), "[3]");
  r = matmul(fx, b234, m45, 0);
  assert_string_equal(sh(g, r), "[2,3,5]");
  r = matmul(fx, v3, b234, 0); /* [3] @ [2,3,4] -> [2,4] */
  assert_string_equal(sh(g, r), "[2,4]");
  r = matmul(fx, b234, v4, 0); /* [2,3,4] @ [4] -> [2,3] */
  assert_string_equal(sh(g, r), "[2,3]");
  int a2134 = src(g, DT_F32, 4, (int64_t)2, (int64_t)1, (int64_t)3, (int64_t)4);
  int b546 = src(g, DT_F32, 3, (int64_t)5, (int64_t)4, (int64_t)6);
  r = matmul(fx, a2134, b546, 0);
  assert_string_equal(sh(g, r), "[2,5,3,6]");
  int b536 = src(g, DT_F32, 3, (int64_t)5, (int64_t)3, (int64_t)6);
  assert_int_equal(matmul(fx, b234, b536, 0), -1);
  /* Linear: x [64,784] @ weight [256,784] stored transposed */
  int x = src(g, DT_F32, 2, (int64_t)64, (int64_t)784);
  int wt = src(g, DT_F32, 2, (int64_t)256, (int64_t)784);
  r = matmul(fx, x, wt, 1);
  assert_string_equal(sh(g, r), "[64,256]");
  assert_int_equal(matmul(fx, x, wt, 0), -1);
  assert_string_equal(fx->err.msg, "matmul: [64,784] @ [256,784]: inner dimensions 784 and 256 "
                                   "differ");
  assert_int_equal(matmul(fx, x, v3, 1), -1);
  int a12 = src(g, DT_F32, 2, (int64_t)1, (int64_t)2), b12 = src(g, DT_F32, 2, (int64_t)1,
                                                                 (int64_t)2);
  assert_int_equal(matmul(fx, a12, b12, 0), -1);
  assert_string_equal(fx->err.msg, "matmul: [1,2] @ [1,2]: inner dimensions 2 and 1 differ");
  int s = src(g, DT_F32, 0);
  assert_int_equal(matmul(fx, s, v3, 0), -1);
  int i3 = src(g, DT_I64, 1, (int64_t)3);
  assert_int_equal(matmul(fx, v3, i3, 0), -1);
  assert_int_equal(g->nodes[matmul(fx, i3, i3, 0)].dtype, DT_I64);
  /* the batch dim flows through the rows */
  Shape bs = shape_make(2, (int64_t[]){64, 784});
  bs.symm = 1u;
  int xb = ir_add_source(g, OP_FILL, DT_F32, bs, NULL, L0);
  r = matmul(fx, xb, wt, 1);
  assert_string_equal(sh(g, r), "[B:64,256]");
}

/* ---- reductions -------------------------------------------------------------------- */

static void test_reduce(void **state) {
  Fx *fx = *state;
  Graph *g = fx->g;
  int a = src(g, DT_F32, 2, (int64_t)3, (int64_t)4);
  int r = add_attr(fx, OP_SUM, a, 2, 0);
  assert_string_equal(sh(g, r), "[3]");
  r = add_attr(fx, OP_SUM, a, 2, 1);
  assert_string_equal(sh(g, r), "[3,1]");
  r = add_attr(fx, OP_MEAN, a, 3, 0);
  assert_string_equal(sh(g, r), "[]");
  r = add_attr(fx, OP_MAX, a, 3, 1);
  assert_string_equal(sh(g, r), "[1,1]");
  assert_int_equal(add_attr(fx, OP_SUM, a, 0, 0), -1);
  assert_string_equal(fx->err.msg, "sum: no dims to reduce");
  assert_int_equal(add_attr(fx, OP_SUM, a, 4, 0), -1);
  assert_string_equal(fx->err.msg, "sum: dim 2 out of range for a tensor of rank 2");
  int i = src(g, DT_I64, 1, (int64_t)5);
  assert_int_equal(add_attr(fx, OP_MEAN, i, 1, 0), -1);
  assert_string_equal(fx->err.msg, "mean: expected a floating-point tensor, got i64");
  int bl = src(g, DT_BOOL, 1, (int64_t)5);
  assert_int_equal(g->nodes[add_attr(fx, OP_SUM, bl, 1, 0)].dtype, DT_I64);
  r = add_attr(fx, OP_ARGMAX, a, 2, 0);
  assert_string_equal(sh(g, r), "[3]");
  assert_int_equal(g->nodes[r].dtype, DT_I64);
  r = add_attr(fx, OP_ARGMIN, a, 1, 1);
  assert_string_equal(sh(g, r), "[1,4]");
  r = add_attr(fx, OP_ARGMAX, a, 0, 0);
  assert_string_equal(sh(g, r), "[]");
  assert_int_equal(add_attr(fx, OP_ARGMAX, a, 3, 0), -1);
  assert_int_equal(add_attr(fx, OP_ARGMAX, a, 0, 1), -1);
  /* reducing the batch dim leaves a static shape; keeping it keeps it symbolic */
  Shape bs = shape_make(2, (int64_t[]){64, 10});
  bs.symm = 1u;
  int x = ir_add_source(g, OP_FILL, DT_F32, bs, NULL, L0);
  assert_string_equal(sh(g, add_attr(fx, OP_SUM, x, 1, 0)), "[10]");
  assert_string_equal(sh(g, add_attr(fx, OP_SUM, x, 2, 1)), "[B:64,1]");
}

/* ---- layout ------------------------------------------------------------------------ */

static void test_layout(void **state) {
  Fx *fx = *state;
  Graph *g = fx->g;
  int a = src(g, DT_F32, 2, (int64_t)2, (int64_t)3);
  int r = add_ints(fx, OP_RESHAPE, a, (int64_t[]){3, 2}, 2);
  assert_string_equal(sh(g, r), "[3,2]");
  r = add_ints(fx, OP_RESHAPE, a, (int64_t[]){6}, 1);
  assert_string_equal(sh(g, r), "[6]");
  assert_int_equal(add_ints(fx, OP_RESHAPE, a, (int64_t[]){4}, 1), -1);
  assert_string_equal(fx->err.msg, "reshape: cannot view [2,3] (6 elements) as [4] (4 elements)");
  Shape bs = shape_make(3, (int64_t[]){64, 28, 28});
  bs.symm = 1u;
  int x = ir_add_source(g, OP_FILL, DT_F32, bs, NULL, L0);
  r = add_ints(fx, OP_RESHAPE, x, (int64_t[]){64, 784}, 2); /* flatten(1) */
  assert_string_equal(sh(g, r), "[B:64,784]");
  assert_int_equal(add_ints(fx, OP_RESHAPE, x, (int64_t[]){784, 64}, 2), -1);

  r = add_ints(fx, OP_PERMUTE, a, (int64_t[]){1, 0}, 2);
  assert_string_equal(sh(g, r), "[3,2]");
  assert_int_equal(add_ints(fx, OP_PERMUTE, a, (int64_t[]){0, 0}, 2), -1);
  assert_string_equal(fx->err.msg, "permute: dim 0 appears more than once");
  assert_int_equal(add_ints(fx, OP_PERMUTE, a, (int64_t[]){0}, 1), -1);
  r = add_ints(fx, OP_PERMUTE, x, (int64_t[]){1, 2, 0}, 3);
  assert_string_equal(sh(g, r), "[28,28,B:64]");

  int c = src(g, DT_F32, 2, (int64_t)3, (int64_t)1);
  r = add_ints(fx, OP_EXPAND, c, (int64_t[]){2, 3, 4}, 3);
  assert_string_equal(sh(g, r), "[2,3,4]");
  assert_int_equal(add_ints(fx, OP_EXPAND, a, (int64_t[]){2, 4}, 2), -1);
  assert_string_equal(fx->err.msg, "expand: cannot expand [2,3] to [2,4]: size 3 at dimension 1 "
                                   "must be 1 or 4");
  assert_int_equal(add_ints(fx, OP_EXPAND, a, (int64_t[]){3}, 1), -1);

  int t = src(g, DT_F32, 2, (int64_t)10, (int64_t)7);
  r = add_ints(fx, OP_SLICE, t, (int64_t[]){1, 10, 3, 0, 7, 1}, 6);
  assert_string_equal(sh(g, r), "[3,7]");
  r = add_ints(fx, OP_SLICE, t, (int64_t[]){4, 4, 1, 0, 7, 2}, 6);
  assert_string_equal(sh(g, r), "[0,4]");
  assert_int_equal(add_ints(fx, OP_SLICE, t, (int64_t[]){0, 11, 1, 0, 7, 1}, 6), -1);
  assert_int_equal(add_ints(fx, OP_SLICE, t, (int64_t[]){0, 10, 0, 0, 7, 1}, 6), -1);
  assert_int_equal(add_ints(fx, OP_SLICE, t, (int64_t[]){0, 10, 1}, 3), -1);

  int u = src(g, DT_F32, 2, (int64_t)10, (int64_t)2);
  Attr at;
  memset(&at, 0, sizeof at);
  at.i[0] = 1;
  r = ir_add(g, OP_CAT, (int32_t[]){t, u, t}, 3, &at, L0, &fx->err);
  assert_string_equal(sh(g, r), "[10,16]");
  at.i[0] = 0;
  assert_int_equal(ir_add(g, OP_CAT, (int32_t[]){t, u}, 2, &at, L0, &fx->err), -1);
  assert_string_equal(fx->err.msg, "cat: shapes [10,7] and [10,2] differ outside dimension 0");
  r = ir_add(g, OP_CAT, (int32_t[]){t}, 1, &at, L0, &fx->err);
  assert_string_equal(sh(g, r), "[10,7]");
  at.i[0] = 2;
  assert_int_equal(ir_add(g, OP_CAT, (int32_t[]){t, u}, 2, &at, L0, &fx->err), -1);
}

/* ---- verifier ---------------------------------------------------------------------- */

static void test_verify(void **state) {
  Fx *fx = *state;
  Program *p = fx->p;
  Graph *g = fx->g;
  int v = ir_var_new(p, "x", VAR_VALUE, DT_F32, shape_make(2, (int64_t[]){3, 2}));
  int a = src(g, DT_F32, 2, (int64_t)3, (int64_t)1), b = src(g, DT_F32, 1, (int64_t)2);
  int c = ir_add2(g, OP_ADD, a, b, L0, &fx->err);
  Attr st;
  memset(&st, 0, sizeof st);
  st.var = v;
  assert_true(ir_add(g, OP_STORE, (int32_t[]){c}, 1, &st, L0, &fx->err) >= 0);
  Stmt *s = ir_stmt_add(p, ST_GRAPH, L0);
  s->graph = 0;
  assert_true(ir_verify_program(p, &fx->err));

  /* a hand-edited shape that the rule would not produce */
  g->nodes[c].shape.d[1] = 3;
  assert_false(ir_verify(p, g, &fx->err));
  assert_string_equal(fx->err.msg, "graph0: %2: add: node is f32[3,3] but its shape rule gives "
                                   "f32[3,2]");
  g->nodes[c].shape.d[1] = 2;
  /* an input that refers forward */
  g->nodes[c].in[1] = 3;
  assert_false(ir_verify(p, g, &fx->err));
  assert_string_equal(fx->err.msg, "graph0: %2: add: input 1 is %3, not an earlier node");
  g->nodes[c].in[1] = b;
  /* a store whose var does not match */
  p->vars[v].shape.d[0] = 4;
  assert_false(ir_verify(p, g, &fx->err));
  assert_string_equal(fx->err.msg, "graph0: %3: store $x: value is f32[3,2] but the variable is "
                                   "f32[4,2]");
  p->vars[v].shape.d[0] = 3;
  g->nodes[3].attr.var = 5;
  assert_false(ir_verify(p, g, &fx->err));
  g->nodes[3].attr.var = v;
  /* arity */
  g->nodes[c].nin = 1;
  assert_false(ir_verify(p, g, &fx->err));
  g->nodes[c].nin = 2;
  /* a const without data */
  ir_add_source(g, OP_CONST, DT_F32, shape_make(1, (int64_t[]){2}), NULL, L0);
  assert_false(ir_verify(p, g, &fx->err));
  assert_string_equal(fx->err.msg, "graph0: %4: const: no data for 2 elements");
  g->n--;
  assert_true(ir_verify(p, g, &fx->err));
  /* statements */
  s = ir_stmt_add(p, ST_GRAPH, L0);
  s->graph = 3;
  assert_false(ir_verify_program(p, &fx->err));
  s->graph = 0;
  s = ir_stmt_add(p, ST_PRINT, L0);
  PrintItem it = {.text = NULL, .var = 9};
  s->items = &it;
  s->nitems = 1;
  assert_false(ir_verify_program(p, &fx->err));
  it.var = v;
  assert_true(ir_verify_program(p, &fx->err));

  /* a clone verifies and frees independently */
  Graph *cl = ir_graph_clone(g);
  assert_int_equal(cl->n, g->n);
  assert_true(ir_verify(p, cl, &fx->err));
  assert_string_equal(cl->name, "graph0");
  ir_graph_free(cl);
  Graph *e = ir_graph_clone_empty(g);
  assert_int_equal(e->n, 0);
  ir_graph_free(e);
}

/* ---- cost ------------------------------------------------------------------------- */

static void test_cost(void **state) {
  Fx *fx = *state;
  Graph *g = fx->g;
  int a = src(g, DT_F32, 2, (int64_t)8, (int64_t)16), w = src(g, DT_F32, 2, (int64_t)32,
                                                                (int64_t)16);
  int m = matmul(fx, a, w, 1);
  Cost c = ir_cost(g, &g->nodes[m]);
  assert_true(c.flops == 2.0 * 8 * 32 * 16);
  assert_true(c.bytes == 4.0 * (8 * 16 + 32 * 16 + 8 * 32));
  int r = ir_add1(g, OP_RELU, m, L0, &fx->err);
  c = ir_cost(g, &g->nodes[r]);
  assert_true(c.flops == 256 && c.bytes == 2 * 4 * 256);
  int s = add_attr(fx, OP_SUM, m, 2, 0);
  c = ir_cost(g, &g->nodes[s]);
  assert_true(c.flops == 256 && c.bytes == 4.0 * (256 + 8));
  c = ir_cost(g, &g->nodes[a]);
  assert_true(c.flops == 0 && c.bytes == 4.0 * 128);
}

/* ---- printers ---------------------------------------------------------------------- */

static const char *SRC = "a = tensor([[1.], [2.], [3.]])\n"
                         "b = ones(2)\n"
                         "y = a + b\n"
                         "s = y.sum(1)\n"
                         "print(\"y:\", y)\n";

static Loc at(int line, int col) {
  int32_t off = 0;
  for (int l = 1; l < line; off++)
    if (SRC[off] == '\n') l++;
  return (Loc){off + col - 1};
}

static char *capture(void (*fn)(FILE *, const Program *), const Program *p) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fn(f, p);
  fclose(f);
  return buf;
}

static Program *sample(void) {
  Program *p = ir_program_new("t.tt", SRC);
  IrErr err;
  int vb = ir_var_new(p, "b", VAR_VALUE, DT_F32, shape_make(1, (int64_t[]){2}));
  int vy = ir_var_new(p, "y", VAR_VALUE, DT_F32, shape_make(2, (int64_t[]){3, 2}));
  int vw = ir_var_new(p, "fc1_weight", VAR_PARAM, DT_F32, shape_make(2, (int64_t[]){256, 784}));
  int vg = ir_var_new(p, "fc1_weight_grad", VAR_GRAD, DT_F32,
                      shape_make(2, (int64_t[]){256, 784}));
  p->vars[vw].grad = vg;
  p->vars[vw].requires_grad = true;
  p->vars[vg].grad_of = vw;
  Graph *g = ir_graph_new(p, at(3, 1));
  Attr ca;
  memset(&ca, 0, sizeof ca);
  float *data = arena_alloc(g->arena, 3 * sizeof *data);
  data[0] = 1, data[1] = 2, data[2] = 3;
  ca.data = data;
  int a = ir_add_source(g, OP_CONST, DT_F32, shape_make(2, (int64_t[]){3, 1}), &ca, at(1, 5));
  g->nodes[a].name = "a";
  Attr ia;
  memset(&ia, 0, sizeof ia);
  ia.var = vb;
  int b = ir_add_source(g, OP_INPUT, DT_F32, shape_make(1, (int64_t[]){2}), &ia, at(2, 1));
  int y = ir_add2(g, OP_ADD, a, b, at(3, 5), &err);
  g->nodes[y].name = "y";
  Attr ra;
  memset(&ra, 0, sizeof ra);
  ra.i[0] = 2;
  ir_add(g, OP_SUM, (int32_t[]){y}, 1, &ra, at(4, 5), &err);
  Attr sa;
  memset(&sa, 0, sizeof sa);
  sa.var = vy;
  ir_add(g, OP_STORE, (int32_t[]){y}, 1, &sa, at(5, 1), &err);
  Stmt *s = ir_stmt_add(p, ST_GRAPH, at(3, 1));
  s->graph = g->id;
  s = ir_stmt_add(p, ST_PRINT, at(5, 1));
  PrintItem *items = arena_alloc(p->arena, 2 * sizeof *items);
  items[0] = (PrintItem){.text = "y:", .var = -1};
  items[1] = (PrintItem){.var = vy};
  s->items = items;
  s->nitems = 2;
  return p;
}

static void print_graph0(FILE *f, const Program *p) { ir_print_graph(f, p, p->graphs[0]); }

static void test_print(void **state) {
  (void)state;
  Program *p = sample();
  IrErr err;
  assert_true(ir_verify_program(p, &err));
  char *s = capture(print_graph0, p);
  assert_string_equal(s, "graph0 @3:1 {\n"
                         "  %0:f32[3,1] = const [1, 2, 3]  @1:5  # a\n"
                         "  %1:f32[2] = input $b  @2:1\n"
                         "  %2:f32[3,2] = add %0, %1  @3:5  # y\n"
                         "  %3:f32[3] = sum %2 dims=[1] keepdim=0  @4:5\n"
                         "  store $y, %2  @5:1\n"
                         "}\n");
  free(s);
  s = capture(ir_print_program, p);
  assert_string_equal(s, "var $b: f32[2] value\n"
                         "var $y: f32[3,2] value\n"
                         "var $fc1_weight: f32[256,784] param requires_grad "
                         "grad=$fc1_weight_grad\n"
                         "var $fc1_weight_grad: f32[256,784] grad grad_of=$fc1_weight\n"
                         "call graph0  @3:1\n"
                         "print \"y:\", $y sep=\" \" end=\"\\n\"  @5:1\n"
                         "graph0 @3:1 {\n"
                         "  %0:f32[3,1] = const [1, 2, 3]  @1:5  # a\n"
                         "  %1:f32[2] = input $b  @2:1\n"
                         "  %2:f32[3,2] = add %0, %1  @3:5  # y\n"
                         "  %3:f32[3] = sum %2 dims=[1] keepdim=0  @4:5\n"
                         "  store $y, %2  @5:1\n"
                         "}\n");
  free(s);
  s = capture(ir_print_dot, p);
  assert_non_null(strstr(s, "digraph ttc {"));
  assert_non_null(strstr(s, "g0n2 [label=\"add\\nf32[3,2]\\ny\"];"));
  assert_non_null(strstr(s, "g0n0 [label=\"const\\nf32[3,1]\\na\"];"));
  assert_non_null(strstr(s, "v0 [shape=ellipse, label=\"$b\"];"));
  assert_non_null(strstr(s, "v0 -> g0n1;"));
  assert_non_null(strstr(s, "g0n4 -> v1;"));
  assert_non_null(strstr(s, "g0n0 -> g0n2;"));
  free(s);
  ir_program_free(p);
}

static void test_print_const_and_attrs(void **state) {
  Fx *fx = *state;
  Graph *g = fx->g;
  Attr ca;
  memset(&ca, 0, sizeof ca);
  int64_t *d = arena_alloc(g->arena, 10 * sizeof *d);
  for (int i = 0; i < 10; i++) d[i] = i;
  ca.data = d;
  int c = ir_add_source(g, OP_CONST, DT_I64, shape_make(1, (int64_t[]){10}), &ca, L0);
  int f = src(g, DT_F32, 2, (int64_t)4, (int64_t)6);
  add_ints(fx, OP_SLICE, f, (int64_t[]){0, 4, 2, 1, 6, 1}, 6);
  add_ints(fx, OP_PERMUTE, f, (int64_t[]){1, 0}, 2);
  matmul(fx, f, f, 1);
  add_attr(fx, OP_ARGMAX, f, 0, 0);
  add_attr(fx, OP_CAST, c, DT_F32, 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *o = open_memstream(&buf, &len);
  ir_print_graph(o, fx->p, g);
  fclose(o);
  assert_string_equal(buf, "graph0 @1:1 {\n"
                           "  %0:i64[10] = const [0, 1, 2, 3, 4, 5, 6, 7, ... 10 values]  @1:1\n"
                           "  %1:f32[4,6] = fill value=0  @1:1\n"
                           "  %2:f32[2,5] = slice %1 slices=[0:4:2,1:6:1]  @1:1\n"
                           "  %3:f32[6,4] = permute %1 dims=[1,0]  @1:1\n"
                           "  %4:f32[4,4] = matmul %1, %1 transpose_b=1  @1:1\n"
                           "  %5:i64[] = argmax %1 dims=all keepdim=0  @1:1\n"
                           "  %6:f32[10] = cast %0  @1:1\n"
                           "}\n");
  free(buf);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_arena),
    cmocka_unit_test(test_dtypes_shapes),
    cmocka_unit_test(test_broadcast),
    cmocka_unit_test_setup_teardown(test_builder_errors, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ew, setup, teardown),
    cmocka_unit_test_setup_teardown(test_matmul, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reduce, setup, teardown),
    cmocka_unit_test_setup_teardown(test_layout, setup, teardown),
    cmocka_unit_test_setup_teardown(test_verify, setup, teardown),
    cmocka_unit_test_setup_teardown(test_cost, setup, teardown),
    cmocka_unit_test(test_print),
    cmocka_unit_test_setup_teardown(test_print_const_and_attrs, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
