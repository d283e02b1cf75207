/*
 * test_codegen_host.c — execution tests of the emitter's training features: the host program
 * (loops, ifs, assignments, host-value prints), data loaders feeding graphs with a symbolic
 * batch dimension (a partial last batch included), matmul with a transposed left operand,
 * the optimizer steps against PyTorch's numbers, and the NaN detective.
 *
 * Programs are built by hand with the IR builder, emitted, compiled with gcc and clang under
 * -Wall -Wextra -Werror, linked with the runtime and run. Optimizer references come from
 * /usr/bin/python3 with torch 1.13 (the script is in the test's comment); they are compared
 * to 1e-6 relative, since PyTorch's vectorized kernels may fuse a multiply-add.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "codegen/codegen.h"
#include "ir/ir.h"

/* ---- the harness: cg_harness.h ---------------------------------------------------- */

#include "cg_harness.h"

static int setup_all(void **state) {
  (void)state;
  return cg_setup(__FILE__, "tests/unit/test_codegen_host.c");
}

/* ---- building programs ------------------------------------------------------------ */

/* Line 1 is what the NaN detective's messages point at. */
static const char *SRC = "y = log(x)\n"
                         "for i in range(5):\n"
                         "    print(i)\n";

static Shape shp(int rank, const int64_t *d) {
  return shape_make(rank, d);
}
#define SHAPE(...)                                                                                 \
  shp((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static int cst(Graph *g, DType dt, Shape s, const double *v) {
  int64_t n = shape_numel(&s);
  void *data = arena_alloc(g->arena, (size_t)(n ? n : 1) * dt_size(dt));
  for (int64_t i = 0; i < n; i++) {
    if (dt == DT_F32)
      ((float *)data)[i] = (float)v[i];
    else if (dt == DT_F64)
      ((double *)data)[i] = v[i];
    else
      ((int64_t *)data)[i] = (int64_t)v[i];
  }
  return ir_add_source(g, OP_CONST, dt, s, &(Attr){.data = data}, (Loc){0});
}

static int op(Graph *g, Op o, const int32_t *in, int nin, const Attr *a) {
  IrErr err = {{0}, -1};
  int id = ir_add(g, o, in, nin, a ? a : &(Attr){0}, (Loc){0}, &err);
  if (id < 0) fail_msg("ir_add %s: %s", ir_ops[o].name, err.msg);
  return id;
}
static int op1(Graph *g, Op o, const Attr *a, int x) {
  return op(g, o, (int32_t[]){x}, 1, a);
}
static int op2(Graph *g, Op o, const Attr *a, int x, int y) {
  return op(g, o, (int32_t[]){x, y}, 2, a);
}

static int input(Graph *g, const Program *p, int var) {
  return ir_add_source(g, OP_INPUT, p->vars[var].dtype, p->vars[var].shape, &(Attr){.var = var},
                       (Loc){0});
}
static void store(Graph *g, int id, int var) {
  op1(g, OP_STORE, &(Attr){.var = var}, id);
}

static HostExpr *hx_int(Program *p, int64_t v) {
  HostExpr *e = ir_hx(p, HX_INT);
  e->i = v;
  return e;
}
static HostExpr *hx_float(Program *p, double v) {
  HostExpr *e = ir_hx(p, HX_FLOAT);
  e->f = v;
  e->isfloat = true;
  return e;
}
static HostExpr *hx_var(Program *p, int h) {
  HostExpr *e = ir_hx(p, HX_VAR);
  e->hvar = h;
  e->isfloat = p->hvars[h].isfloat;
  return e;
}
static HostExpr *hx_bin(Program *p, int o, HostExpr *a, HostExpr *b, bool isfloat, bool isbool) {
  HostExpr *e = ir_hx(p, HX_BIN);
  e->op = o;
  e->a = a;
  e->b = b;
  e->isfloat = isfloat;
  e->isbool = isbool;
  return e;
}

/* A print of one host value (spec may be NULL) ending with a newline, appended to a list. */
static void print_host(Program *p, Stmt **list, int *n, int *cap, HostExpr *e, const char *spec,
                       const char *label) {
  Stmt *s =
      list ? ir_stmt_push(p, list, n, cap, ST_PRINT, (Loc){0}) : ir_stmt_add(p, ST_PRINT, (Loc){0});
  PrintItem *it = arena_alloc(p->arena, 2 * sizeof *it);
  it[0].var = -1;
  it[0].text = label;
  it[1].var = -1;
  it[1].expr = e;
  it[1].spec = spec;
  s->items = it;
  s->nitems = 2;
  s->sep = " ";
  s->end = "\n";
}

static void print_var(Program *p, Stmt **list, int *n, int *cap, int var) {
  Stmt *s =
      list ? ir_stmt_push(p, list, n, cap, ST_PRINT, (Loc){0}) : ir_stmt_add(p, ST_PRINT, (Loc){0});
  PrintItem *it = arena_alloc(p->arena, sizeof *it);
  it->var = var;
  s->items = it;
  s->nitems = 1;
  s->end = "\n";
}

/* ---- host control flow ------------------------------------------------------------ */

/*
 * s = 0.0
 * for i in range(0, 12, 2):
 *     if i == 6: continue
 *     s = s + i / 4
 *     if i % 4 == 0: print("even", i // 4)  elif i > 9: print("big", s, format ".3f"); break
 *     else: print("odd", i > 1)
 * print("s", s); print("neg", -7 // 2, -7 % 3)
 */
static void test_host_loops_ifs_prints(void **state) {
  (void)state;
  Program *p = ir_program_new("host.tt", SRC);
  int s = ir_hvar_new(p, "s", true), i = ir_hvar_new(p, "i", false);
  Stmt *a = ir_stmt_add(p, ST_ASSIGN, (Loc){0});
  a->hvar = s;
  a->expr = hx_int(p, 0); /* an int assigned to a float var becomes 0.0 */
  Stmt *f = ir_stmt_add(p, ST_FOR, (Loc){12});
  f->hvar = i;
  f->expr = hx_int(p, 0);
  f->expr2 = hx_int(p, 12);
  f->step = 2;
  Stmt *c = ir_stmt_push(p, &f->body, &f->nbody, &f->capbody, ST_IF, (Loc){12});
  c->expr = hx_bin(p, HB_EQ, hx_var(p, i), hx_int(p, 6), false, true);
  ir_stmt_push(p, &c->body, &c->nbody, &c->capbody, ST_CONTINUE, (Loc){12});
  Stmt *as = ir_stmt_push(p, &f->body, &f->nbody, &f->capbody, ST_ASSIGN, (Loc){12});
  as->hvar = s;
  as->expr = hx_bin(p, HB_ADD, hx_var(p, s),
                    hx_bin(p, HB_DIV, hx_var(p, i), hx_int(p, 4), true, false), true, false);
  Stmt *iff = ir_stmt_push(p, &f->body, &f->nbody, &f->capbody, ST_IF, (Loc){12});
  iff->expr = hx_bin(p, HB_EQ, hx_bin(p, HB_MOD, hx_var(p, i), hx_int(p, 4), false, false),
                     hx_int(p, 0), false, true);
  print_host(p, &iff->body, &iff->nbody, &iff->capbody,
             hx_bin(p, HB_FLOORDIV, hx_var(p, i), hx_int(p, 4), false, false), NULL, "even");
  Stmt *elif = ir_stmt_push(p, &iff->orelse, &iff->norelse, &iff->capelse, ST_IF, (Loc){12});
  elif->expr = hx_bin(p, HB_GT, hx_var(p, i), hx_int(p, 9), false, true);
  print_host(p, &elif->body, &elif->nbody, &elif->capbody, hx_var(p, s), ".3f", "big");
  ir_stmt_push(p, &elif->body, &elif->nbody, &elif->capbody, ST_BREAK, (Loc){12});
  print_host(p, &elif->orelse, &elif->norelse, &elif->capelse,
             hx_bin(p, HB_GT, hx_var(p, i), hx_int(p, 1), false, true), NULL, "odd");
  print_host(p, NULL, NULL, NULL, hx_var(p, s), NULL, "s");
  print_host(p, NULL, NULL, NULL, hx_var(p, i), NULL, "i");
  print_host(p, NULL, NULL, NULL, hx_bin(p, HB_FLOORDIV, hx_int(p, -7), hx_int(p, 2), false, false),
             NULL, "fd");
  print_host(p, NULL, NULL, NULL, hx_bin(p, HB_MOD, hx_int(p, -7), hx_int(p, 3), false, false),
             NULL, "mod");
  print_host(p, NULL, NULL, NULL, hx_bin(p, HB_POW, hx_float(p, 2), hx_int(p, 10), true, false),
             NULL, "pow");
  Run r = cg_build_and_run(p, NULL);
  /* what Python prints for the same program */
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "even 0\nodd True\neven 1\neven 2\nbig 6.000\ns 6.0\ni 10\nfd -4\n"
                             "mod 2\npow 1024.0\n");
  run_free(&r);
  ir_program_free(p);
}

/* ---- loaders and symbolic batch dims ---------------------------------------------- */

/*
 * data = TensorDataset(arange(15.).view(5, 3), arange(5) * 10)
 * for x, y in DataLoader(data, batch_size=2):
 *     r = x.sum(1) + y          # [B, 3] -> [B]
 *     m = x.sum() / B           # mean over the batch, with BATCH
 *     w = x @ W^T               # M = B
 *     g = x^T @ x               # K = B (transA)
 *     sm = softmax(x, 1).argmax(1)
 *     print(r); print(m, g[0,0]); print(w)
 * The last batch has one sample.
 */
static void test_loader_partial_batch_symbolic(void **state) {
  (void)state;
  Program *p = ir_program_new("data.tt", SRC);
  int X = ir_var_new(p, "X", VAR_VALUE, DT_F32, SHAPE(5, 3));
  int Y = ir_var_new(p, "Y", VAR_VALUE, DT_I64, SHAPE(5));
  Shape xb = SHAPE(2, 3), yb = SHAPE(2);
  xb.symm = 1u;
  yb.symm = 1u;
  int xv = ir_var_new(p, "x", VAR_VALUE, DT_F32, xb);
  int yv = ir_var_new(p, "y", VAR_VALUE, DT_I64, yb);
  Loader ld = {.kind = LD_TENSORS,
               .name = "train",
               .batch = 2,
               .xvar = xv,
               .yvar = yv,
               .srcx = X,
               .srcy = Y,
               .n = 5};
  int L = ir_loader_new(p, &ld);
  /* graph 0: the dataset */
  Graph *g0 = ir_graph_new(p, (Loc){0});
  int ax = ir_add_source(g0, OP_ARANGE, DT_F32, SHAPE(5, 3), &(Attr){.f = {0, 1}}, (Loc){0});
  store(g0, ax, X);
  int ay = ir_add_source(g0, OP_ARANGE, DT_I64, SHAPE(5), &(Attr){.f = {0, 10}}, (Loc){0});
  store(g0, ay, Y);
  ir_stmt_add(p, ST_GRAPH, (Loc){0})->graph = g0->id;
  /* graph 1: one batch */
  Graph *g = ir_graph_new(p, (Loc){0});
  g->loader = L;
  int x = input(g, p, xv), y = input(g, p, yv);
  int rs = op1(g, OP_SUM, &(Attr){.i = {2, 0}}, x);
  int yf = op1(g, OP_CAST, &(Attr){.i = {DT_F32}}, y);
  int r = op2(g, OP_ADD, NULL, rs, yf);
  int tot = op1(g, OP_SUM, &(Attr){.i = {3, 0}}, x);
  int bsz = ir_add_source(g, OP_BATCH, DT_F32, shape_scalar(), &(Attr){0}, (Loc){0});
  int m = op2(g, OP_DIV, NULL, tot, bsz);
  int W = cst(g, DT_F32, SHAPE(2, 3), (double[]){1, 0, 1, 0, 2, 0});
  int w = op2(g, OP_MATMUL, &(Attr){.i = {1, 0}}, x, W);
  int gram = op2(g, OP_MATMUL, &(Attr){.i = {0, 1}}, x, x);
  int sm = op1(g, OP_SOFTMAX, &(Attr){.i = {1}}, x);
  int am = op1(g, OP_ARGMAX, &(Attr){.i = {2, 0}}, sm);
  int mean0 = op1(g, OP_MEAN, &(Attr){.i = {1, 0}}, x);
  Shape rb = SHAPE(2), wb = SHAPE(2, 2);
  rb.symm = 1u;
  wb.symm = 1u;
  int rv = ir_var_new(p, "r", VAR_VALUE, DT_F32, rb);
  int mv = ir_var_new(p, "m", VAR_VALUE, DT_F32, shape_scalar());
  int wv = ir_var_new(p, "w", VAR_VALUE, DT_F32, wb);
  int gv = ir_var_new(p, "gram", VAR_VALUE, DT_F32, SHAPE(3, 3));
  int amv = ir_var_new(p, "am", VAR_VALUE, DT_I64, rb);
  int m0v = ir_var_new(p, "mean0", VAR_VALUE, DT_F32, SHAPE(3));
  store(g, r, rv);
  store(g, m, mv);
  store(g, w, wv);
  store(g, gram, gv);
  store(g, am, amv);
  store(g, mean0, m0v);
  Stmt *lp = ir_stmt_add(p, ST_LOADER, (Loc){12});
  lp->loader = L;
  ir_stmt_push(p, &lp->body, &lp->nbody, &lp->capbody, ST_GRAPH, (Loc){0})->graph = g->id;
  print_var(p, &lp->body, &lp->nbody, &lp->capbody, rv);
  HostExpr *item = ir_hx(p, HX_ITEM);
  item->var = mv;
  item->isfloat = true;
  print_host(p, &lp->body, &lp->nbody, &lp->capbody, item, NULL, "m");
  HostExpr *bx = ir_hx(p, HX_BATCH);
  bx->loader = L;
  print_host(p, &lp->body, &lp->nbody, &lp->capbody, bx, NULL, "B");
  print_var(p, &lp->body, &lp->nbody, &lp->capbody, wv);
  print_var(p, &lp->body, &lp->nbody, &lp->capbody, gv);
  print_var(p, &lp->body, &lp->nbody, &lp->capbody, amv);
  print_var(p, &lp->body, &lp->nbody, &lp->capbody, m0v);
  HostExpr *nl = ir_hx(p, HX_LOADER_LEN), *nd = ir_hx(p, HX_DATASET_LEN);
  nl->loader = nd->loader = L;
  print_host(p, NULL, NULL, NULL, nl, NULL, "len");
  print_host(p, NULL, NULL, NULL, nd, NULL, "dataset");
  IrErr err = {{0}, -1};
  assert_true(ir_verify_program(p, &err));
  Run run = cg_build_and_run(p, NULL);
  assert_int_equal(run.status, 0);
  /* torch, /tmp/hostref.py: x = arange(15.).view(5, 3); batches of 2, the last of 1 */
  const char *want =
      "tensor([ 3., 22.])\nm 7.5\nB 2\ntensor([[2., 2.],\n        [8., 8.]])\n"
      "tensor([[ 9., 12., 15.],\n        [12., 17., 22.],\n        [15., 22., 29.]])\n"
      "tensor([2, 2])\ntensor([1.5000, 2.5000, 3.5000])\ntensor([41., 60.])\nm 25.5\n"
      "B 2\ntensor([[14., 14.],\n        [20., 20.]])\ntensor([[117., 132., 147.],\n"
      "        [132., 149., 166.],\n        [147., 166., 185.]])\ntensor([2, 2])\n"
      "tensor([7.5000, 8.5000, 9.5000])\ntensor([79.])\nm 39.0\nB 1\n"
      "tensor([[26., 26.]])\ntensor([[144., 156., 168.],\n        [156., 169., 182.],\n"
      "        [168., 182., 196.]])\ntensor([2])\ntensor([12., 13., 14.])\nlen 3\n"
      "dataset 5\n";
  assert_string_equal(run.out, want);
  run_free(&run);
  ir_program_free(p);
}

/* torch.tensor([[1.,2.],[3.,4.],[5.,6.]]).t() @ b: the stored left operand is [K, M]. */
static void test_matmul_trans_a(void **state) {
  (void)state;
  Program *p = ir_program_new("mm.tt", SRC);
  Graph *g = ir_graph_new(p, (Loc){0});
  int a = cst(g, DT_F32, SHAPE(3, 2), (double[]){1, 2, 3, 4, 5, 6});
  int b = cst(g, DT_F32, SHAPE(3, 4), (double[]){1, 0, 2, 1, 0, 1, 1, 2, 1, 1, 0, 3});
  int c = op2(g, OP_MATMUL, &(Attr){.i = {0, 1}}, a, b);
  int ai = op1(g, OP_CAST, &(Attr){.i = {DT_I64}}, a),
      bi = op1(g, OP_CAST, &(Attr){.i = {DT_I64}}, b);
  int ci = op2(g, OP_MATMUL, &(Attr){.i = {0, 1}}, ai, bi);
  int cv = ir_var_new(p, "c", VAR_VALUE, DT_F32, SHAPE(2, 4));
  int civ = ir_var_new(p, "ci", VAR_VALUE, DT_I64, SHAPE(2, 4));
  store(g, c, cv);
  store(g, ci, civ);
  ir_stmt_add(p, ST_GRAPH, (Loc){0})->graph = g->id;
  print_var(p, NULL, NULL, NULL, cv);
  print_var(p, NULL, NULL, NULL, civ);
  Run r = cg_build_and_run(p, NULL);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "tensor([[ 6.,  8.,  5., 22.],\n        [ 8., 10.,  8., 28.]])\n"
                             "tensor([[ 6,  8,  5, 22],\n        [ 8, 10,  8, 28]])\n");
  run_free(&r);
  ir_program_free(p);
}

/* ---- optimizers ------------------------------------------------------------------- */

/*
 * p = Parameter(tensor([1., -2., .5])); three steps with p.grad = tensor([.3, -.1, 2.]) *
 * (s + 1); then print each element with %.9e. /tmp/optref.py:
 *   def run(mk): ... opt = mk([p]); for s in range(3): p.grad = ...; opt.step()
 */
static void run_opt(Op o, const double *f, int64_t flag, const double *want) {
  Program *p = ir_program_new("opt.tt", SRC);
  bool adam = o == OP_ADAM_STEP, mom = !adam && f[0] != 0;
  int P = ir_var_new(p, "param", VAR_PARAM, DT_F32, SHAPE(3));
  int S1 = ir_var_new(p, "state1", VAR_STATE, DT_F32, SHAPE(3));
  int S2 = ir_var_new(p, "state2", VAR_STATE, DT_F32, SHAPE(3));
  int lr = ir_hvar_new(p, "lr", true), step = ir_hvar_new(p, "step", false);
  Graph *g0 = ir_graph_new(p, (Loc){0});
  store(g0, cst(g0, DT_F32, SHAPE(3), (double[]){1, -2, 0.5}), P);
  ir_stmt_add(p, ST_GRAPH, (Loc){0})->graph = g0->id;
  Graph *g = ir_graph_new(p, (Loc){0});
  int pi = input(g, p, P);
  int base = cst(g, DT_F32, SHAPE(3), (double[]){0.3, -0.1, 2});
  int sc = ir_add_source(g, OP_HOSTVAR, DT_F32, shape_scalar(), &(Attr){.var = step}, (Loc){0});
  int grad = op2(g, OP_MUL, NULL, base, sc);
  int lri = ir_add_source(g, OP_HOSTVAR, DT_F64, shape_scalar(), &(Attr){.var = lr}, (Loc){0});
  int sti = ir_add_source(g, OP_HOSTVAR, DT_I64, shape_scalar(), &(Attr){.var = step}, (Loc){0});
  Attr a = {.f = {f[0], f[1], f[2], f[3]}, .i = {flag}};
  if (adam) {
    a.ints = ir_ints(g, (int64_t[]){P, S1, S2}, 3);
    a.nints = 3;
    op(g, o, (int32_t[]){pi, grad, input(g, p, S1), input(g, p, S2), lri, sti}, 6, &a);
  } else if (mom) {
    a.ints = ir_ints(g, (int64_t[]){P, S1}, 2);
    a.nints = 2;
    op(g, o, (int32_t[]){pi, grad, lri, sti, input(g, p, S1)}, 5, &a);
  } else {
    a.ints = ir_ints(g, (int64_t[]){P}, 1);
    a.nints = 1;
    op(g, o, (int32_t[]){pi, grad, lri, sti}, 4, &a);
  }
  Stmt *as = ir_stmt_add(p, ST_ASSIGN, (Loc){0});
  as->hvar = lr;
  as->expr = hx_float(p, f[4]);
  Stmt *lp = ir_stmt_add(p, ST_FOR, (Loc){12});
  lp->hvar = step;
  lp->expr = hx_int(p, 1);
  lp->expr2 = hx_int(p, 4);
  lp->step = 1;
  ir_stmt_push(p, &lp->body, &lp->nbody, &lp->capbody, ST_GRAPH, (Loc){0})->graph = g->id;
  /* the three elements, each through a slice into a 1-element var */
  Graph *g2 = ir_graph_new(p, (Loc){0});
  int pin = input(g2, p, P), ev[3];
  for (int k = 0; k < 3; k++) {
    int sl = op1(g2, OP_SLICE,
                 &(Attr){.ints = ir_ints(g2, (int64_t[]){k, k + 1, 1}, 3), .nints = 3}, pin);
    char nm[8];
    snprintf(nm, sizeof nm, "e%d", k);
    ev[k] = ir_var_new(p, nm, VAR_VALUE, DT_F32, SHAPE(1));
    store(g2, sl, ev[k]);
  }
  ir_stmt_add(p, ST_GRAPH, (Loc){0})->graph = g2->id;
  for (int k = 0; k < 3; k++) {
    HostExpr *it = ir_hx(p, HX_ITEM);
    it->var = ev[k];
    it->isfloat = true;
    print_host(p, NULL, NULL, NULL, it, ".9e", "e");
  }
  IrErr err = {{0}, -1};
  if (!ir_verify_program(p, &err)) fail_msg("verify: %s", err.msg);
  Run r = cg_build_and_run(p, NULL);
  assert_int_equal(r.status, 0);
  double got[3];
  assert_int_equal(sscanf(r.out, "e %lf\ne %lf\ne %lf", &got[0], &got[1], &got[2]), 3);
  for (int k = 0; k < 3; k++)
    if (fabs(got[k] - want[k]) > 1e-6 * fabs(want[k]) + 1e-9)
      fail_msg("element %d: %.9e, torch %.9e", k, got[k], want[k]);
  run_free(&r);
  ir_program_free(p);
}

static void test_sgd_momentum_dampening_decay(void **state) {
  (void)state;
  /* SGD(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01) */
  run_opt(OP_SGD_STEP, (double[]){0.9, 0.1, 0.01, 0, 0.1}, 0,
          (double[]){7.299354076e-01, -1.901118875e+00, -1.267650127e+00});
}
static void test_sgd_nesterov(void **state) {
  (void)state;
  /* SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01) */
  run_opt(OP_SGD_STEP, (double[]){0.9, 0, 0.01, 0, 0.1}, 1,
          (double[]){5.557202101e-01, -1.838514924e+00, -2.412315369e+00});
}
static void test_sgd_plain(void **state) {
  (void)state;
  run_opt(OP_SGD_STEP, (double[]){0, 0, 0, 0, 0.1}, 0,
          (double[]){8.199999332e-01, -1.940000057e+00, -6.999999881e-01});
}
static void test_adam_weight_decay(void **state) {
  (void)state;
  /* Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1) */
  run_opt(OP_ADAM_STEP, (double[]){0.9, 0.999, 1e-8, 0.1, 0.01}, 0,
          (double[]){9.704924226e-01, -1.970055938e+00, 4.707418084e-01});
}
static void test_adamw(void **state) {
  (void)state;
  /* AdamW(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1) */
  run_opt(OP_ADAM_STEP, (double[]){0.8, 0.99, 1e-6, 0.1, 0.01}, 1,
          (double[]){9.672967792e-01, -1.964300036e+00, 4.687951803e-01});
}

/* ---- the NaN detective ------------------------------------------------------------ */

/* y = log(x) with x = [1, -1]: the log is where the NaN appears, and the run stops there. */
static void test_detect_anomaly_stops_at_nan(void **state) {
  (void)state;
  Program *p = ir_program_new("models/nan.tt", SRC);
  Graph *g = ir_graph_new(p, (Loc){0});
  int x = cst(g, DT_F32, SHAPE(2), (double[]){1, -1});
  int lg = ir_add(g, OP_LOG, (int32_t[]){x}, 1, &(Attr){0}, (Loc){4}, &(IrErr){{0}, -1});
  int yv = ir_var_new(p, "y", VAR_VALUE, DT_F32, SHAPE(2));
  store(g, lg, yv);
  ir_stmt_add(p, ST_GRAPH, (Loc){0})->graph = g->id;
  print_var(p, NULL, NULL, NULL, yv);
  Run r = cg_build_and_run(p, &(CgOptions){.detect_anomaly = true});
  assert_int_equal(r.status, 1);
  assert_string_equal(r.out, "");
  assert_non_null(
      strstr(r.err, "anomaly detected: NaN in the output of log (forward) at nan.tt:1:5"));
  run_free(&r);
  /* Without the option the NaN is printed, as PyTorch does. */
  r = cg_build_and_run(p, NULL);
  assert_int_equal(r.status, 0);
  assert_string_equal(r.out, "tensor([0., nan])\n");
  run_free(&r);
  ir_program_free(p);
}

/* ---- determinism and refusals ----------------------------------------------------- */

static void test_emit_deterministic_with_host(void **state) {
  (void)state;
  Program *p = ir_program_new("det.tt", SRC);
  int h = ir_hvar_new(p, "lr", true);
  Stmt *f = ir_stmt_add(p, ST_FOR, (Loc){12});
  f->hvar = ir_hvar_new(p, "i", false);
  f->expr = hx_int(p, 0);
  f->expr2 = hx_var(p, f->hvar); /* a run-time stop: evaluated once, before the loop */
  f->step = -1;
  Stmt *a = ir_stmt_push(p, &f->body, &f->nbody, &f->capbody, ST_ASSIGN, (Loc){12});
  a->hvar = h;
  a->expr = hx_bin(p, HB_MUL, hx_var(p, h), hx_float(p, 0.5), true, false);
  char *c1 = emit_opts(p, NULL, &(IrErr){{0}, -1}), *c2 = emit_opts(p, NULL, &(IrErr){{0}, -1});
  assert_non_null(c1);
  assert_string_equal(c1, c2);
  assert_non_null(strstr(c1, "for (int64_t i0 = 0, i0_end = i_1; i0 > i0_end; i0--) {"));
  assert_non_null(strstr(c1, "/* det.tt:2: for i in range(5): */"));
  free(c1);
  free(c2);
  ir_program_free(p);
}

static void test_errors_are_messages(void **state) {
  (void)state;
  Program *p = ir_program_new("bad.tt", SRC);
  Stmt *b = ir_stmt_add(p, ST_BREAK, (Loc){0});
  (void)b;
  IrErr err = {{0}, -1};
  assert_null(emit_opts(p, NULL, &err));
  assert_non_null(strstr(err.msg, "break or continue outside a loop"));
  ir_program_free(p);
  /* a loader whose batch var has the wrong row size */
  p = ir_program_new("bad.tt", SRC);
  Shape xb = SHAPE(4, 2);
  xb.symm = 1u;
  int X = ir_var_new(p, "X", VAR_VALUE, DT_F32, SHAPE(8, 3));
  int xv = ir_var_new(p, "x", VAR_VALUE, DT_F32, xb);
  ir_loader_new(p, &(Loader){.kind = LD_TENSORS,
                             .name = "dl",
                             .batch = 4,
                             .xvar = xv,
                             .yvar = -1,
                             .srcx = X,
                             .srcy = -1,
                             .n = 8});
  err.msg[0] = '\0';
  assert_null(emit_opts(p, NULL, &err));
  assert_string_equal(err.msg, "loader dl: dataset rows and batch rows differ in size or dtype");
  ir_program_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_host_loops_ifs_prints),
      cmocka_unit_test(test_loader_partial_batch_symbolic),
      cmocka_unit_test(test_matmul_trans_a),
      cmocka_unit_test(test_sgd_momentum_dampening_decay),
      cmocka_unit_test(test_sgd_nesterov),
      cmocka_unit_test(test_sgd_plain),
      cmocka_unit_test(test_adam_weight_decay),
      cmocka_unit_test(test_adamw),
      cmocka_unit_test(test_detect_anomaly_stops_at_nan),
      cmocka_unit_test(test_emit_deterministic_with_host),
      cmocka_unit_test(test_errors_are_messages),
  };
  return cmocka_run_group_tests(tests, setup_all, cg_teardown);
}
