/*
 * test_codegen.c — execution tests of the C emitter.
 *
 * Each test builds a small Program by hand with the IR builder, emits C, compiles it with
 * `cc -std=c11 -Wall -Wextra -Werror` against the runtime, runs it and compares what it
 * prints with what PyTorch printed for the same computation (the expected strings were
 * obtained from /usr/bin/python3 with torch; the script is in each test's comment). The
 * runtime is compiled once per run into a temporary directory; if it does not build yet,
 * the tests still check that the emitted C compiles (-c) and skip the comparison.
 *
 * The repository root comes from $TTC_SOURCE_DIR or from this file's path.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "codegen/codegen.h"
#include "ir/ir.h"

/* ---- the harness: cg_harness.h ---------------------------------------------------- */

#include "cg_harness.h"

static int setup_all(void **state) {
  (void)state;
  return cg_setup(__FILE__, "tests/unit/test_codegen.c");
}

static char *emit(const Program *p, IrErr *err) {
  return emit_opts(p, NULL, err);
}

/* Emits p, compiles and runs it; returns its stdout (the program must exit 0). */
static char *build_and_run(const Program *p) {
  Run r = cg_build_and_run(p, NULL);
  if (r.status != 0) fail_msg("program exited with status %d: %s", r.status, r.err);
  free(r.err);
  return r.out;
}

/* ---- building programs ------------------------------------------------------------ */

static const char *SRC = "x = Tensor([[1.], [2.], [3.]])\n"
                         "y = x + Tensor([10., 20.])\n"
                         "print(y)\n";

typedef struct TB {
  Program *p;
  Graph *g;
  int outs[64]; /* vars to print after the graph */
  int nouts;
} TB;

static TB tb_new(void) {
  TB t = {0};
  t.p = ir_program_new("models/test.tt", SRC);
  t.g = ir_graph_new(t.p, (Loc){0});
  return t;
}

static Shape shp(int rank, const int64_t *d) {
  return shape_make(rank, d);
}
#define SHAPE(...)                                                                                 \
  shp((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

/* A constant of dtype dt; values v[i] (or i * scale + offset when v is NULL). */
static int tb_const(TB *t, DType dt, Shape s, const double *v, double scale, double offset) {
  int64_t n = shape_numel(&s);
  void *data = arena_alloc(t->g->arena, (size_t)(n ? n : 1) * dt_size(dt));
  for (int64_t i = 0; i < n; i++) {
    double x = v ? v[i] : (double)i * scale + offset;
    switch (dt) {
    case DT_F32:
      ((float *)data)[i] = (float)x;
      break;
    case DT_F64:
      ((double *)data)[i] = x;
      break;
    case DT_I64:
      ((int64_t *)data)[i] = (int64_t)x;
      break;
    case DT_I32:
      ((int32_t *)data)[i] = (int32_t)x;
      break;
    case DT_I8:
      ((int8_t *)data)[i] = (int8_t)x;
      break;
    default:
      ((unsigned char *)data)[i] = x != 0;
      break;
    }
  }
  Attr a = {.data = data};
  return ir_add_source(t->g, OP_CONST, dt, s, &a, (Loc){0});
}

static int tb_op(TB *t, Op op, const int32_t *in, int nin, const Attr *a) {
  IrErr err = {{0}, -1};
  int id = ir_add(t->g, op, in, nin, a, (Loc){31}, &err);
  if (id < 0) fail_msg("ir_add %s: %s", ir_ops[op].name, err.msg);
  return id;
}
static int tb_1(TB *t, Op op, int a, const Attr *at) {
  return tb_op(t, op, (int32_t[]){a}, 1, at);
}
static int tb_2(TB *t, Op op, int a, int b, const Attr *at) {
  return tb_op(t, op, (int32_t[]){a, b}, 2, at);
}

/* Stores node id into a fresh var, printed after the graph runs. */
static int tb_out(TB *t, int id) {
  const Node *n = &t->g->nodes[id];
  char name[32];
  snprintf(name, sizeof name, "out%d", t->nouts);
  int v = ir_var_new(t->p, name, VAR_VALUE, n->dtype, n->shape);
  Attr a = {.var = v};
  tb_op(t, OP_STORE, (int32_t[]){id}, 1, &a);
  assert_true(t->nouts < 64);
  t->outs[t->nouts++] = v;
  return v;
}

/* The graph call, then one print per output, each ending in a newline. */
static void tb_finish(TB *t) {
  Stmt *s = ir_stmt_add(t->p, ST_GRAPH, (Loc){0});
  s->graph = t->g->id;
  for (int k = 0; k < t->nouts; k++) {
    s = ir_stmt_add(t->p, ST_PRINT, (Loc){0});
    PrintItem *it = arena_alloc(t->p->arena, sizeof *it);
    it->var = t->outs[k];
    s->items = it;
    s->nitems = 1;
    s->sep = " ";
    s->end = "\n";
  }
}

static void check_run(TB *t, const char *expected) {
  tb_finish(t);
  char *out = build_and_run(t->p);
  assert_string_equal(out, expected);
  free(out);
  ir_program_free(t->p);
}

/* ---- elementwise ------------------------------------------------------------------ */

/* torch.tensor([[1.],[2.],[3.]]) + torch.tensor([10.,20.]) */
static void test_ew_broadcast_add(void **state) {
  (void)state;
  TB t = tb_new();
  int a = tb_const(&t, DT_F32, SHAPE(3, 1), NULL, 1, 1);
  int b = tb_const(&t, DT_F32, SHAPE(2), (double[]){10, 20}, 0, 0);
  int y = tb_2(&t, OP_ADD, a, b, NULL);
  t.g->nodes[y].name = "y";
  tb_out(&t, y);
  /* The kernel comment names the source position, op, shapes and cost. */
  tb_finish(&t);
  IrErr err = {{0}, -1};
  char *c = emit(t.p, &err);
  assert_non_null(c);
  /* (y is stored into the output var, so it is computed there and named for it) */
  assert_non_null(strstr(c, " = add [3,1] + [2] -> [3,2]   6 FLOPs"));
  assert_non_null(strstr(c, "generated by ttc from test.tt"));
  free(c);
  char *out = build_and_run(t.p);
  assert_string_equal(out, "tensor([[11., 21.],\n        [12., 22.],\n        [13., 23.]])\n");
  free(out);
  ir_program_free(t.p);
}

/* u = torch.tensor([-1.5, -0.25, 0.5, 2.0]); exp, sigmoid, tanh, relu, gelu, neg, abs */
static void test_ew_unary(void **state) {
  (void)state;
  TB t = tb_new();
  int u = tb_const(&t, DT_F32, SHAPE(4), (double[]){-1.5, -0.25, 0.5, 2.0}, 0, 0);
  Op ops[] = {OP_EXP, OP_SIGMOID, OP_TANH, OP_RELU, OP_GELU, OP_NEG, OP_ABS};
  for (size_t k = 0; k < sizeof ops / sizeof *ops; k++) tb_out(&t, tb_1(&t, ops[k], u, NULL));
  check_run(&t, "tensor([0.2231, 0.7788, 1.6487, 7.3891])\n"
                "tensor([0.1824, 0.4378, 0.6225, 0.8808])\n"
                "tensor([-0.9051, -0.2449,  0.4621,  0.9640])\n"
                "tensor([0.0000, 0.0000, 0.5000, 2.0000])\n"
                "tensor([-0.1002, -0.1003,  0.3457,  1.9545])\n"
                "tensor([ 1.5000,  0.2500, -0.5000, -2.0000])\n"
                "tensor([1.5000, 0.2500, 0.5000, 2.0000])\n");
}

/* torch.tensor([1.7, -2.3]).to(torch.int64); torch.maximum with NaNs */
static void test_ew_cast_and_maximum_nan(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2), (double[]){1.7, -2.3}, 0, 0);
  tb_out(&t, tb_1(&t, OP_CAST, x, &(Attr){.i = {DT_I64}}));
  int a = tb_const(&t, DT_F32, SHAPE(3), (double[]){1, NAN, 3}, 0, 0);
  int b = tb_const(&t, DT_F32, SHAPE(3), (double[]){2, 0, NAN}, 0, 0);
  tb_out(&t, tb_2(&t, OP_MAXIMUM, a, b, NULL));
  int ia = tb_const(&t, DT_I64, SHAPE(3), (double[]){1, 5, 3}, 0, 0);
  int ib = tb_const(&t, DT_I64, SHAPE(3), (double[]){4, 2, 3}, 0, 0);
  tb_out(&t, tb_2(&t, OP_MAXIMUM, ia, ib, NULL));
  check_run(&t, "tensor([ 1, -2])\ntensor([2., nan, nan])\ntensor([4, 5, 3])\n");
}

/* c = torch.tensor([[1.,5.],[3.,2.]]); d = torch.tensor([2.,2.])
 * c > d; torch.where(c > d, c, d * 10); c == d */
static void test_ew_where_and_comparisons(void **state) {
  (void)state;
  TB t = tb_new();
  int c = tb_const(&t, DT_F32, SHAPE(2, 2), (double[]){1, 5, 3, 2}, 0, 0);
  int d = tb_const(&t, DT_F32, SHAPE(2), (double[]){2, 2}, 0, 0);
  int ten = tb_const(&t, DT_F32, shape_scalar(), (double[]){10}, 0, 0);
  int gt = tb_2(&t, OP_GT, c, d, NULL);
  tb_out(&t, gt);
  int d10 = tb_2(&t, OP_MUL, d, ten, NULL);
  tb_out(&t, tb_op(&t, OP_WHERE, (int32_t[]){gt, c, d10}, 3, NULL));
  tb_out(&t, tb_2(&t, OP_EQ, c, d, NULL));
  check_run(&t, "tensor([[False,  True],\n        [ True, False]])\n"
                "tensor([[20.,  5.],\n        [ 3., 20.]])\n"
                "tensor([[False, False],\n        [False,  True]])\n");
}

/* ---- matmul ----------------------------------------------------------------------- */

/* torch.arange(6.).reshape(2,3) @ (torch.arange(12.).reshape(3,4) * 0.5) */
static void test_matmul_2d(void **state) {
  (void)state;
  TB t = tb_new();
  int a = tb_const(&t, DT_F32, SHAPE(2, 3), NULL, 1, 0);
  int b = tb_const(&t, DT_F32, SHAPE(3, 4), NULL, 0.5, 0);
  tb_out(&t, tb_2(&t, OP_MATMUL, a, b, NULL));
  check_run(&t, "tensor([[10.0000, 11.5000, 13.0000, 14.5000],\n"
                "        [28.0000, 34.0000, 40.0000, 46.0000]])\n");
}

/* X = torch.arange(12.).reshape(2,2,3); X @ torch.arange(6.).reshape(3,2) (folds into M);
 * X @ (torch.arange(12.).reshape(2,3,2) - 3) (one GEMM per batch) */
static void test_matmul_batched(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 2, 3), NULL, 1, 0);
  int w = tb_const(&t, DT_F32, SHAPE(3, 2), NULL, 1, 0);
  int w2 = tb_const(&t, DT_F32, SHAPE(2, 3, 2), NULL, 1, -3);
  tb_out(&t, tb_2(&t, OP_MATMUL, x, w, NULL));
  tb_out(&t, tb_2(&t, OP_MATMUL, x, w2, NULL));
  check_run(&t, "tensor([[[10., 13.],\n         [28., 40.]],\n\n"
                "        [[46., 67.],\n         [64., 94.]]])\n"
                "tensor([[[  1.,   4.],\n         [ -8.,   4.]],\n\n"
                "        [[109., 130.],\n         [154., 184.]]])\n");
}

/* torch.arange(12.).reshape(2,1,2,3) @ torch.arange(18.).reshape(3,3,2): batch [2,1]x[3] */
static void test_matmul_broadcast_batch(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 1, 2, 3), NULL, 1, 0);
  int w = tb_const(&t, DT_F32, SHAPE(3, 3, 2), NULL, 1, 0);
  tb_out(&t, tb_2(&t, OP_MATMUL, x, w, NULL));
  check_run(&t, "tensor([[[[ 10.,  13.],\n          [ 28.,  40.]],\n\n"
                "         [[ 28.,  31.],\n          [100., 112.]],\n\n"
                "         [[ 46.,  49.],\n          [172., 184.]]],\n\n\n"
                "        [[[ 46.,  67.],\n          [ 64.,  94.]],\n\n"
                "         [[172., 193.],\n          [244., 274.]],\n\n"
                "         [[298., 319.],\n          [424., 454.]]]])\n");
}

/* v = torch.tensor([1.,2.,3.]); v @ torch.arange(6.).reshape(3,2);
 * torch.arange(6.).reshape(2,3) @ v; v @ v */
static void test_matmul_1d(void **state) {
  (void)state;
  TB t = tb_new();
  int v = tb_const(&t, DT_F32, SHAPE(3), NULL, 1, 1);
  int m = tb_const(&t, DT_F32, SHAPE(3, 2), NULL, 1, 0);
  int m2 = tb_const(&t, DT_F32, SHAPE(2, 3), NULL, 1, 0);
  tb_out(&t, tb_2(&t, OP_MATMUL, v, m, NULL));
  tb_out(&t, tb_2(&t, OP_MATMUL, m2, v, NULL));
  tb_out(&t, tb_2(&t, OP_MATMUL, v, v, NULL));
  check_run(&t, "tensor([16., 22.])\ntensor([ 8., 26.])\ntensor(14.)\n");
}

/* x = torch.arange(6.).reshape(2,3); W = torch.arange(12.).reshape(4,3) - 5; x @ W.t() */
static void test_matmul_transposed_b(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 3), NULL, 1, 0);
  int w = tb_const(&t, DT_F32, SHAPE(4, 3), NULL, 1, -5);
  tb_out(&t, tb_2(&t, OP_MATMUL, x, w, &(Attr){.i = {1}}));
  check_run(&t, "tensor([[-10.,  -1.,   8.,  17.],\n        [-46., -10.,  26.,  62.]])\n");
}

/* torch.arange(6).reshape(2,3) @ torch.arange(6).reshape(3,2): int64, plain loops */
static void test_matmul_int64(void **state) {
  (void)state;
  TB t = tb_new();
  int a = tb_const(&t, DT_I64, SHAPE(2, 3), NULL, 1, 0);
  int b = tb_const(&t, DT_I64, SHAPE(3, 2), NULL, 1, 0);
  tb_out(&t, tb_2(&t, OP_MATMUL, a, b, NULL));
  check_run(&t, "tensor([[10, 13],\n        [28, 40]])\n");
}

/* ---- reductions ------------------------------------------------------------------- */

/* t = torch.arange(24.).reshape(2,3,4) * 0.25 - 2
 * t.sum(1); t.mean((0,2), keepdim=True); t.max(2).values; t.sum(); t.amin(0) */
static void test_reduce_dims_keepdim(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 3, 4), NULL, 0.25, -2);
  tb_out(&t, tb_1(&t, OP_SUM, x, &(Attr){.i = {2, 0}}));
  tb_out(&t, tb_1(&t, OP_MEAN, x, &(Attr){.i = {5, 1}}));
  tb_out(&t, tb_1(&t, OP_MAX, x, &(Attr){.i = {4, 0}}));
  tb_out(&t, tb_1(&t, OP_SUM, x, &(Attr){.i = {7, 0}}));
  tb_out(&t, tb_1(&t, OP_MIN, x, &(Attr){.i = {1, 0}}));
  check_run(&t, "tensor([[-3.0000, -2.2500, -1.5000, -0.7500],\n"
                "        [ 6.0000,  6.7500,  7.5000,  8.2500]])\n"
                "tensor([[[-0.1250],\n         [ 0.8750],\n         [ 1.8750]]])\n"
                "tensor([[-1.2500, -0.2500,  0.7500],\n        [ 1.7500,  2.7500,  3.7500]])\n"
                "tensor(21.)\n"
                "tensor([[-2.0000, -1.7500, -1.5000, -1.2500],\n"
                "        [-1.0000, -0.7500, -0.5000, -0.2500],\n"
                "        [ 0.0000,  0.2500,  0.5000,  0.7500]])\n");
}

/* n = torch.tensor([[1., nan, 3.],[4.,5.,-1.]]); n.amax(1), n.argmax(1), n.argmin(1);
 * torch.tensor([1,5,3]).amax(), .sum(); torch.tensor([True,False,True]).sum() */
static void test_reduce_nan_and_integers(void **state) {
  (void)state;
  TB t = tb_new();
  int n = tb_const(&t, DT_F32, SHAPE(2, 3), (double[]){1, NAN, 3, 4, 5, -1}, 0, 0);
  tb_out(&t, tb_1(&t, OP_MAX, n, &(Attr){.i = {2, 0}}));
  tb_out(&t, tb_1(&t, OP_ARGMAX, n, &(Attr){.i = {2, 0}}));
  tb_out(&t, tb_1(&t, OP_ARGMIN, n, &(Attr){.i = {2, 0}}));
  int k = tb_const(&t, DT_I64, SHAPE(3), (double[]){1, 5, 3}, 0, 0);
  tb_out(&t, tb_1(&t, OP_MAX, k, &(Attr){.i = {1, 0}}));
  tb_out(&t, tb_1(&t, OP_SUM, k, &(Attr){.i = {1, 0}}));
  int bo = tb_const(&t, DT_BOOL, SHAPE(3), (double[]){1, 0, 1}, 0, 0);
  tb_out(&t, tb_1(&t, OP_SUM, bo, &(Attr){.i = {1, 0}}));
  check_run(&t, "tensor([nan, 5.])\ntensor([1, 1])\ntensor([1, 2])\n"
                "tensor(5)\ntensor(9)\ntensor(2)\n");
}

/* q = torch.tensor([[3., 7., 7., 1.],[9., 2., 9., 0.]]); q.argmax(1), q.argmax(), q.argmin(0) */
static void test_reduce_argmax_first_index(void **state) {
  (void)state;
  TB t = tb_new();
  int q = tb_const(&t, DT_F32, SHAPE(2, 4), (double[]){3, 7, 7, 1, 9, 2, 9, 0}, 0, 0);
  tb_out(&t, tb_1(&t, OP_ARGMAX, q, &(Attr){.i = {2, 0}}));
  tb_out(&t, tb_1(&t, OP_ARGMAX, q, &(Attr){.i = {0, 0}}));
  tb_out(&t, tb_1(&t, OP_ARGMIN, q, &(Attr){.i = {1, 0}}));
  check_run(&t, "tensor([1, 0])\ntensor(4)\ntensor([0, 1, 0, 1])\n");
}

/* torch.arange(100.).sum(): a constant this large lives at file scope */
static void test_const_large_at_file_scope(void **state) {
  (void)state;
  TB t = tb_new();
  int c = tb_const(&t, DT_F32, SHAPE(100), NULL, 1, 0);
  t.g->nodes[c].name = "big";
  tb_out(&t, tb_1(&t, OP_SUM, c, &(Attr){.i = {1, 0}}));
  tb_finish(&t);
  IrErr err = {{0}, -1};
  char *src = emit(t.p, &err);
  assert_non_null(src);
  char *at = strstr(src, "static const float graph0_big[100]");
  assert_non_null(at);
  assert_true(at < strstr(src, "static void graph0(void)"));
  free(src);
  char *out = build_and_run(t.p);
  assert_string_equal(out, "tensor(4950.)\n");
  free(out);
  ir_program_free(t.p);
}

/* ---- softmax ---------------------------------------------------------------------- */

/* s = torch.tensor([[1000.,1001.,1002.]]); torch.softmax(s,1); torch.log_softmax(s,1);
 * torch.softmax(torch.arange(6.).reshape(2,3), 0) */
static void test_softmax_large_logits(void **state) {
  (void)state;
  TB t = tb_new();
  int s = tb_const(&t, DT_F32, SHAPE(1, 3), (double[]){1000, 1001, 1002}, 0, 0);
  tb_out(&t, tb_1(&t, OP_SOFTMAX, s, &(Attr){.i = {1}}));
  tb_out(&t, tb_1(&t, OP_LOG_SOFTMAX, s, &(Attr){.i = {1}}));
  int a = tb_const(&t, DT_F32, SHAPE(2, 3), NULL, 1, 0);
  tb_out(&t, tb_1(&t, OP_SOFTMAX, a, &(Attr){.i = {0}}));
  check_run(&t, "tensor([[0.0900, 0.2447, 0.6652]])\n"
                "tensor([[-2.4076, -1.4076, -0.4076]])\n"
                "tensor([[0.0474, 0.0474, 0.0474],\n        [0.9526, 0.9526, 0.9526]])\n");
}

/* ---- layout ----------------------------------------------------------------------- */

/* (torch.arange(24.).reshape(2,3,4) * 0.25 - 2).permute(2,0,1) */
static void test_layout_permute(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 3, 4), NULL, 0.25, -2);
  tb_out(&t, tb_1(&t, OP_PERMUTE, x, &(Attr){.ints = (int64_t[]){2, 0, 1}, .nints = 3}));
  check_run(&t, "tensor([[[-2.0000, -1.0000,  0.0000],\n         [ 1.0000,  2.0000,  3.0000]],\n\n"
                "        [[-1.7500, -0.7500,  0.2500],\n         [ 1.2500,  2.2500,  3.2500]],\n\n"
                "        [[-1.5000, -0.5000,  0.5000],\n         [ 1.5000,  2.5000,  3.5000]],\n\n"
                "        [[-1.2500, -0.2500,  0.7500],\n         [ 1.7500,  2.7500,  3.7500]]])\n");
}

/* torch.arange(20.).reshape(4,5)[1:4:2, 0:5:2], reached through a reshape view */
static void test_layout_slice_of_reshape(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(20), NULL, 1, 0);
  int r = tb_1(&t, OP_RESHAPE, x, &(Attr){.ints = (int64_t[]){4, 5}, .nints = 2});
  t.g->nodes[r].name = "r";
  int64_t tr[] = {1, 4, 2, 0, 5, 2};
  tb_out(&t, tb_1(&t, OP_SLICE, r, &(Attr){.ints = tr, .nints = 6}));
  check_run(&t, "tensor([[ 5.,  7.,  9.],\n        [15., 17., 19.]])\n");
}

/* torch.cat([torch.ones(2,2), torch.zeros(2,3)], 1); torch.cat([torch.ones(1,2),
 * torch.zeros(2,2)], 0); torch.tensor([1.,2.,3.]).expand(2,3); torch.arange(0, 2.5, 0.5) */
static void test_layout_cat_expand_fill_arange(void **state) {
  (void)state;
  TB t = tb_new();
  int o = ir_add_source(t.g, OP_FILL, DT_F32, SHAPE(2, 2), &(Attr){.f = {1}}, (Loc){0});
  int z = ir_add_source(t.g, OP_FILL, DT_F32, SHAPE(2, 3), &(Attr){.f = {0}}, (Loc){0});
  tb_out(&t, tb_op(&t, OP_CAT, (int32_t[]){o, z}, 2, &(Attr){.i = {1}}));
  int o1 = ir_add_source(t.g, OP_FILL, DT_F32, SHAPE(1, 2), &(Attr){.f = {1}}, (Loc){0});
  int z2 = ir_add_source(t.g, OP_FILL, DT_F32, SHAPE(2, 2), &(Attr){.f = {0}}, (Loc){0});
  tb_out(&t, tb_op(&t, OP_CAT, (int32_t[]){o1, z2}, 2, &(Attr){.i = {0}}));
  int v = tb_const(&t, DT_F32, SHAPE(3), NULL, 1, 1);
  tb_out(&t, tb_1(&t, OP_EXPAND, v, &(Attr){.ints = (int64_t[]){2, 3}, .nints = 2}));
  tb_out(&t, ir_add_source(t.g, OP_ARANGE, DT_F32, SHAPE(5), &(Attr){.f = {0, 0.5}}, (Loc){0}));
  check_run(&t, "tensor([[1., 1., 0., 0., 0.],\n        [1., 1., 0., 0., 0.]])\n"
                "tensor([[1., 1.],\n        [0., 0.],\n        [0., 0.]])\n"
                "tensor([[1., 2., 3.],\n        [1., 2., 3.]])\n"
                "tensor([0.0000, 0.5000, 1.0000, 1.5000, 2.0000])\n");
}

/* ---- sources, host statements ----------------------------------------------------- */

/* torch.manual_seed(0); torch.rand(3) */
static void test_uniform_after_manual_seed(void **state) {
  (void)state;
  TB t = tb_new();
  t.p->seed = 0;
  tb_out(&t, ir_add_source(t.g, OP_UNIFORM, DT_F32, SHAPE(3), &(Attr){.f = {0, 1}}, (Loc){0}));
  check_run(&t, "tensor([0.4963, 0.7682, 0.0885])\n");
}

/* print("x =", torch.tensor([[1.,2.]], requires_grad=True), "done", sep=" ", end="!\n");
 * print(torch.nn.Parameter(torch.tensor([1.,2.]))) */
static void test_print_items_and_options(void **state) {
  (void)state;
  TB t = tb_new();
  int v = tb_out(&t, tb_const(&t, DT_F32, SHAPE(1, 2), NULL, 1, 1));
  int w = tb_out(&t, tb_const(&t, DT_F32, SHAPE(2), NULL, 1, 1));
  t.nouts = 0; /* printed by hand below */
  tb_finish(&t);
  Stmt *s = ir_stmt_add(t.p, ST_PRINT, (Loc){0});
  PrintItem *it = arena_alloc(t.p->arena, 3 * sizeof *it);
  it[0] = (PrintItem){.text = "x =", .var = -1};
  it[1] = (PrintItem){.var = v, .requires_grad = true};
  it[2] = (PrintItem){.text = "done \"quoted\" ?\?=", .var = -1};
  s->items = it, s->nitems = 3, s->sep = " ", s->end = "!\n";
  s = ir_stmt_add(t.p, ST_PRINT, (Loc){0});
  it = arena_alloc(t.p->arena, sizeof *it);
  it[0] = (PrintItem){.var = w, .requires_grad = true, .param = true};
  s->items = it, s->nitems = 1, s->sep = " ", s->end = "\n";
  char *out = build_and_run(t.p);
  assert_string_equal(out, "x = tensor([[1., 2.]], requires_grad=True) done \"quoted\" ?\?=!\n"
                           "Parameter containing:\ntensor([1., 2.], requires_grad=True)\n");
  free(out);
  ir_program_free(t.p);
}

/* Source names become C names: sanitized, and suffixed where they would collide with a
 * keyword, a libc or runtime name, a loop variable, a var or each other. */
static void test_names_sanitized_and_unique(void **state) {
  (void)state;
  TB t = tb_new();
  int a = tb_const(&t, DT_F32, SHAPE(2), NULL, 1, 1);
  t.g->nodes[a].name = "int";
  int b = tb_2(&t, OP_ADD, a, a, NULL);
  t.g->nodes[b].name = "exp";
  int c = tb_1(&t, OP_EXP, b, NULL);
  t.g->nodes[c].name = "fc1.out";
  int d = tb_2(&t, OP_MUL, c, a, NULL);
  t.g->nodes[d].name = "fc1.out";
  int e = tb_2(&t, OP_SUB, d, a, NULL);
  t.g->nodes[e].name = "i0";
  int f = tb_2(&t, OP_ADD, e, a, NULL);
  t.g->nodes[f].name = "out0"; /* the var's name */
  int v = tb_out(&t, f);
  t.p->vars[v].name = "main";
  int r = tb_out(&t, a);
  t.p->vars[r].name = "tt_init";
  t.nouts = 1;
  tb_finish(&t);
  IrErr err = {{0}, -1};
  char *src = emit(t.p, &err);
  assert_non_null(src);
  assert_non_null(strstr(src, "static TT_ALIGN float main_1[2];"));
  assert_non_null(strstr(src, "static TT_ALIGN float vtt_init[2];"));
  assert_non_null(strstr(src, "static const float int_1[2]"));
  assert_non_null(strstr(src, "static TT_ALIGN float exp_1[2];"));
  assert_non_null(strstr(src, "static TT_ALIGN float fc1_out[2];"));
  assert_non_null(strstr(src, "static TT_ALIGN float fc1_out_1[2];"));
  assert_non_null(strstr(src, "static TT_ALIGN float i0_1[2];"));
  free(src);
  char *out = build_and_run(t.p); /* (exp(2a) * a - a) + a = exp(2a) * a */
  assert_string_equal(out, "tensor([  7.3891, 109.1963])\n");
  free(out);
  ir_program_free(t.p);
}

/* The same Program gives the same bytes. */
static void test_emit_deterministic(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 3), NULL, 1, 0);
  int w = tb_const(&t, DT_F32, SHAPE(4, 3), NULL, 0.5, 0);
  int y = tb_2(&t, OP_MATMUL, x, w, &(Attr){.i = {1}});
  tb_out(&t, tb_1(&t, OP_SOFTMAX, y, &(Attr){.i = {1}}));
  tb_finish(&t);
  IrErr err = {{0}, -1};
  char *a = emit(t.p, &err), *b = emit(t.p, &err);
  assert_non_null(a);
  assert_non_null(b);
  assert_string_equal(a, b);
  free(a);
  free(b);
  ir_program_free(t.p);
}

/* Every op in one program, compiled as the driver will: -O3 -march=native with -Werror,
 * under gcc and under clang. */
static void test_all_ops_warning_free(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2, 3), NULL, 0.5, -1);
  int y = tb_const(&t, DT_F32, SHAPE(3), NULL, 1, 1);
  for (int op = 0; op < OP__COUNT; op++) {
    if (!(ir_ops[op].flags & OPF_EW) || op == OP_CAST || op == OP_WHERE) continue;
    if (op == OP_FLOORDIV || op == OP_REMAINDER || op == OP_POW_INT) continue; /* integers only: below */
    int id = ir_ops[op].nin == 1 ? tb_1(&t, (Op)op, x, NULL) : tb_2(&t, (Op)op, x, y, NULL);
    tb_out(&t, id);
    if (t.nouts == 16) t.nouts = 0;
  }
  int xi = tb_const(&t, DT_I64, SHAPE(2, 3), NULL, 1, -2);
  int yi = tb_const(&t, DT_I64, SHAPE(3), NULL, 1, 0);
  Op iops[] = {OP_ADD,  OP_SUB, OP_MUL, OP_MAXIMUM, OP_MINIMUM,  OP_ABS,
               OP_RELU, OP_NEG, OP_LT,  OP_FLOORDIV, OP_REMAINDER, OP_POW_INT};
  for (size_t k = 0; k < sizeof iops / sizeof *iops; k++)
    tb_out(&t, ir_ops[iops[k]].nin == 1 ? tb_1(&t, iops[k], xi, NULL)
                                        : tb_2(&t, iops[k], xi, yi, NULL));
  t.nouts = 0;
  tb_out(&t, tb_1(&t, OP_CAST, x, &(Attr){.i = {DT_F64}}));
  int xd = tb_1(&t, OP_CAST, x, &(Attr){.i = {DT_F64}});
  tb_out(&t, tb_1(&t, OP_LOG_SOFTMAX, xd, &(Attr){.i = {0}}));
  tb_out(&t, tb_1(&t, OP_MEAN, xd, &(Attr){.i = {3, 1}}));
  tb_out(&t,
         tb_2(&t, OP_MATMUL, xd, tb_1(&t, OP_CAST, x, &(Attr){.i = {DT_F64}}), &(Attr){.i = {1}}));
  tb_out(&t, tb_1(&t, OP_MIN, xi, &(Attr){.i = {2, 0}}));
  tb_out(&t, tb_1(&t, OP_ARGMIN, xi, &(Attr){.i = {0, 0}}));
  tb_out(&t, ir_add_source(t.g, OP_NORMAL, DT_F64, SHAPE(4), &(Attr){.f = {0, 1}}, (Loc){0}));
  tb_out(&t, ir_add_source(t.g, OP_ARANGE, DT_I64, SHAPE(4), &(Attr){.f = {1, 2}}, (Loc){0}));
  tb_out(&t, ir_add_source(t.g, OP_FILL, DT_BOOL, SHAPE(2), &(Attr){.f = {1}}, (Loc){0}));
  tb_out(&t, tb_const(&t, DT_F64, SHAPE(3), (double[]){INFINITY, -INFINITY, NAN}, 0, 0));
  tb_out(&t, tb_const(&t, DT_I64, SHAPE(2), (double[]){-9223372036854775807.0 - 1, 7}, 0, 0));
  tb_const(&t, DT_I8, SHAPE(2), NULL, 1, -1); /* dead values, as without the DCE pass */
  tb_1(&t, OP_EXP, x, NULL);
  tb_1(&t, OP_RESHAPE, tb_1(&t, OP_TANH, x, NULL), &(Attr){.ints = (int64_t[]){6}, .nints = 1});
  /* A graph nobody calls and a var nobody reads are still valid C. */
  ir_graph_new(t.p, (Loc){0});
  ir_var_new(t.p, "unused", VAR_PARAM, DT_F32, SHAPE(2));
  tb_finish(&t);
  IrErr err = {{0}, -1};
  char *src = emit(t.p, &err);
  if (!src) fail_msg("codegen failed: %s", err.msg);
  char path[600];
  snprintf(path, sizeof path, "%s/allops.c", tmpdir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(src, f);
  fclose(f);
  free(src);
  const char *flags = "-std=c11 -O3 -march=native -Wall -Wextra -Werror";
  assert_int_equal(run_cmd("gcc %s -I'%s' -c '%s' -o /dev/null", flags, rtdir, path), 0);
  if (have_clang)
    assert_int_equal(run_cmd("clang %s -I'%s' -c '%s' -o /dev/null", flags, rtdir, path), 0);
  ir_program_free(t.p);
}

/* ---- errors ----------------------------------------------------------------------- */

static void test_error_symbolic_dim(void **state) {
  (void)state;
  TB t = tb_new();
  Shape s = SHAPE(64, 3);
  s.symm = 1u;
  int x = ir_add_source(t.g, OP_FILL, DT_F32, s, &(Attr){.f = {1}}, (Loc){0});
  tb_out(&t, x);
  tb_finish(&t);
  IrErr err = {{0}, -1};
  char *src = emit(t.p, &err);
  assert_null(src);
  assert_string_equal(err.msg, "graph 0 has a batch dimension but no data loader to size it");
  ir_program_free(t.p);
}

/* A malformed Program (bad var id, a node reading a later node, a bad graph index) is an
 * error message, never a crash. */
static void test_error_malformed_program(void **state) {
  (void)state;
  TB t = tb_new();
  int x = tb_const(&t, DT_F32, SHAPE(2), NULL, 1, 0);
  tb_out(&t, x);
  tb_finish(&t);
  IrErr err = {{0}, -1};
  Node *st = &t.g->nodes[t.g->n - 1];
  st->attr.var = 99;
  assert_null(emit(t.p, &err));
  assert_non_null(strstr(err.msg, "out of range"));
  st->attr.var = 0;
  st->in[0] = 5;
  err.msg[0] = '\0';
  assert_null(emit(t.p, &err));
  assert_non_null(strstr(err.msg, "not an earlier node"));
  st->in[0] = x;
  t.p->stmts[0].graph = 7;
  err.msg[0] = '\0';
  assert_null(emit(t.p, &err));
  assert_non_null(strstr(err.msg, "runs graph 7, out of range"));
  t.p->stmts[0].graph = 0;
  t.g->nodes[x].attr.data = NULL;
  assert_null(emit(t.p, &err));
  ir_program_free(t.p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ew_broadcast_add),
      cmocka_unit_test(test_ew_unary),
      cmocka_unit_test(test_ew_cast_and_maximum_nan),
      cmocka_unit_test(test_ew_where_and_comparisons),
      cmocka_unit_test(test_matmul_2d),
      cmocka_unit_test(test_matmul_batched),
      cmocka_unit_test(test_matmul_broadcast_batch),
      cmocka_unit_test(test_matmul_1d),
      cmocka_unit_test(test_matmul_transposed_b),
      cmocka_unit_test(test_matmul_int64),
      cmocka_unit_test(test_reduce_dims_keepdim),
      cmocka_unit_test(test_reduce_nan_and_integers),
      cmocka_unit_test(test_reduce_argmax_first_index),
      cmocka_unit_test(test_const_large_at_file_scope),
      cmocka_unit_test(test_softmax_large_logits),
      cmocka_unit_test(test_layout_permute),
      cmocka_unit_test(test_layout_slice_of_reshape),
      cmocka_unit_test(test_layout_cat_expand_fill_arange),
      cmocka_unit_test(test_uniform_after_manual_seed),
      cmocka_unit_test(test_print_items_and_options),
      cmocka_unit_test(test_names_sanitized_and_unique),
      cmocka_unit_test(test_emit_deterministic),
      cmocka_unit_test(test_all_ops_warning_free),
      cmocka_unit_test(test_error_symbolic_dim),
      cmocka_unit_test(test_error_malformed_program),
  };
  return cmocka_run_group_tests(tests, setup_all, cg_teardown);
}
