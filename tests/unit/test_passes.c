/*
 * test_passes.c — the pass infrastructure: program passes (clone, add a variable, change a
 * variable's dtype with the shapes downstream re-derived, insert host statements), the
 * rewrite walk with its use counts, stable uids, and the verifier catching a broken rewrite
 * before any C is emitted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "ir/ir.h"
#include "passes/passes.h"

static const char *SRC = "x = tensor([1., 2., 3.])\n"
                         "t = x * 2.0\n"
                         "print(t)\n"
                         "u = t + 1.0\n"
                         "print(u)\n";

static Program *compile(const char *text) {
  Source *src = source_from_string("prog.tt", text);
  Diag d = {.src = src, .out = stderr};
  Program *p = frontend_compile(src, &d);
  assert_non_null(p);
  source_free(src);
  return p;
}

static int var_named(const Program *p, const char *name) {
  for (int v = 0; v < p->nvars; v++)
    if (!strcmp(p->vars[v].name, name)) return v;
  return -1;
}

/* The emitted C, or NULL with err set. */
static char *emit_c(const Program *p, IrErr *err) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  bool ok = cg_emit_program(f, p, NULL, err);
  fclose(f);
  if (!ok) {
    free(buf);
    return NULL;
  }
  return buf;
}

/* ---- a program pass: t becomes float64, and a new variable holds it as float32 ------- */

typedef struct Widen {
  int var;      /* the variable made f64 */
  bool no_cast; /* the broken version: forget to convert what is stored into it */
} Widen;
static Widen widen_cfg;

/* STORE into the widened var: store cast(value, f64) instead. */
static int store_rule(IrRewrite *rw, int id) {
  const Node *n = &rw->in->nodes[id];
  /* a rule must not match its own result, or the walk never reaches a fixed point */
  if (n->attr.var != widen_cfg.var || rw->in->nodes[n->in[0]].dtype == DT_F64) return IR_KEEP;
  Attr ca = {0};
  ca.i[0] = DT_F64;
  int32_t cin[1] = {rw->map[n->in[0]]};
  int cast = ir_add(rw->out, OP_CAST, cin, 1, &ca, n->loc, &rw->err);
  if (cast < 0) return IR_FAIL;
  Attr sa = {0};
  sa.var = n->attr.var;
  int32_t sin[1] = {cast};
  return ir_add(rw->out, OP_STORE, sin, 1, &sa, n->loc, &rw->err) < 0 ? IR_FAIL : IR_DROP;
}

static Program *widen_pass(const Program *in, PassCtx *cx) {
  Program *p = ir_program_clone(in);
  int t = widen_cfg.var;
  /* a new variable, and a statement that prints it, inserted after the first print */
  int copy = ir_var_new(p, "t_copy", VAR_VALUE, DT_F32, p->vars[t].shape);
  /* a graph of its own, built while t is still float32: t_copy = (-t).float() */
  Graph *g = ir_graph_new(p, (Loc){0});
  Attr ia = {0};
  ia.var = t;
  int x = ir_add_source(g, OP_INPUT, DT_F32, p->vars[t].shape, &ia, (Loc){0});
  int sum = ir_add1(g, OP_NEG, x, (Loc){0}, &cx->err);
  assert_true(sum >= 0);
  Attr ca = {0};
  ca.i[0] = DT_F32;
  int32_t cin[1] = {sum};
  int c = ir_add(g, OP_CAST, cin, 1, &ca, (Loc){0}, &cx->err);
  assert_true(c >= 0);
  Attr sa = {0};
  sa.var = copy;
  int32_t sin[1] = {c};
  assert_true(ir_add(g, OP_STORE, sin, 1, &sa, (Loc){0}, &cx->err) >= 0);
  /* now t becomes float64: the input, and the neg after it, are re-derived */
  if (!ir_var_retype(p, t, DT_F64, p->vars[t].shape, &cx->err)) {
    ir_program_free(p);
    return NULL;
  }
  for (int gi = 0; gi < p->ngraphs && !widen_cfg.no_cast; gi++) {
    static const IrRule rules[] = {{OP_STORE, store_rule}};
    Graph *old = p->graphs[gi];
    Graph *ng = ir_rewrite(p, old, rules, 1, NULL, NULL, &cx->err);
    if (!ng) {
      ir_program_free(p);
      return NULL;
    }
    if (ng != old) {
      p->graphs[gi] = ng;
      ir_graph_free(old);
    }
  }
  int at = 0;
  while (at < p->nstmts && p->stmts[at].kind != ST_PRINT) at++;
  Stmt *run = ir_stmt_insert(p, NULL, false, at + 1, ST_GRAPH, (Loc){0});
  run->graph = g->id;
  Stmt *pr = ir_stmt_insert(p, NULL, false, at + 2, ST_PRINT, (Loc){0});
  pr->items = arena_alloc(p->arena, sizeof *pr->items);
  pr->items[0].var = copy;
  pr->nitems = 1;
  return p;
}

static const PassInfo widen_info = {"widen", "test: t as float64", PASS_PROGRAM, NULL, widen_pass};

static void test_program_pass_adds_var_and_changes_dtype(void **state) {
  (void)state;
  Program *p = compile(SRC);
  IrErr err;
  p = pass_run_pipeline(p, "autodiff,dce", NULL, &err);
  assert_non_null(p);
  widen_cfg = (Widen){.var = var_named(p, "t"), .no_cast = false};
  assert_true(widen_cfg.var >= 0);
  int nvars = p->nvars, nstmts = p->nstmts, ngraphs = p->ngraphs;
  Program *q = pass_apply(p, &widen_info, &err); /* p is freed: q is a new program */
  if (!q) fail_msg("%s", err.msg);
  assert_non_null(q);
  assert_int_equal(q->nvars, nvars + 1);
  assert_int_equal(q->nstmts, nstmts + 2);
  assert_int_equal(q->ngraphs, ngraphs + 1);
  assert_int_equal(q->vars[widen_cfg.var].dtype, DT_F64);
  assert_true(ir_verify_program(q, &err));
  /* every reader of t was re-derived: -t is float64 now */
  bool f64_add = false;
  for (int gi = 0; gi < q->ngraphs; gi++)
    for (int id = 0; id < q->graphs[gi]->n; id++) {
      const Node *n = &q->graphs[gi]->nodes[id];
      if (n->op == OP_NEG) f64_add |= n->dtype == DT_F64;
    }
  assert_true(f64_add);
  assert_int_equal(q->stmts[1].kind, ST_PRINT); /* print(t), then what the pass inserted */
  assert_int_equal(q->stmts[2].kind, ST_GRAPH);
  assert_int_equal(q->stmts[3].kind, ST_PRINT);
  char *c = emit_c(q, &err);
  assert_non_null(c);
  assert_non_null(strstr(c, "static TT_ALIGN double t[3]"));
  assert_non_null(strstr(c, "t_copy"));
  free(c);
  ir_program_free(q);
}

static void test_broken_program_pass_caught_by_verifier(void **state) {
  (void)state;
  Program *p = compile(SRC);
  IrErr err;
  p = pass_run_pipeline(p, "autodiff,dce", NULL, &err);
  assert_non_null(p);
  widen_cfg = (Widen){.var = var_named(p, "t"), .no_cast = true};
  Program *q = pass_apply(p, &widen_info, &err);
  assert_null(q); /* the verifier, not the C compiler, refuses the f32 stored into f64 $t */
  assert_non_null(strstr(err.msg, "after pass widen does not verify"));
  assert_non_null(strstr(err.msg, "store $t"));
}

static void test_clone_is_deep(void **state) {
  (void)state;
  Program *p = compile(SRC);
  Program *c = ir_program_clone(p);
  IrErr err;
  assert_true(ir_verify_program(c, &err));
  c->vars[0].dtype = DT_F64;
  c->graphs[0]->nodes[0].dtype = DT_I64;
  c->stmts[0].kind = ST_BREAK;
  assert_int_not_equal(p->vars[0].dtype, DT_F64);
  assert_int_not_equal(p->graphs[0]->nodes[0].dtype, DT_I64);
  assert_int_not_equal(p->stmts[0].kind, ST_BREAK);
  ir_program_free(c);
  /* the clone prints as the original */
  char *a = NULL, *b = NULL;
  size_t na, nb;
  FILE *f = open_memstream(&a, &na);
  ir_print_program(f, p);
  fclose(f);
  c = ir_program_clone(p);
  f = open_memstream(&b, &nb);
  ir_print_program(f, c);
  fclose(f);
  assert_string_equal(a, b);
  free(a);
  free(b);
  ir_program_free(c);
  ir_program_free(p);
}

/* ---- memplan: buffers that are never alive together share storage; the verifier checks it */

static void test_memplan(void **state) {
  (void)state;
  /* a and b die at c, c at d: d can take a's place, or b's (in place) */
  Program *p = compile("x = tensor([1., 2., 3., 4.])\n"
                       "a = x * 2.0\n"
                       "b = x + 1.0\n"
                       "c = a * b\n"
                       "d = c.exp()\n"
                       "print(d.sum())\n");
  IrErr err;
  Program *q = pass_apply(p, pass_lookup("memplan"), &err);
  assert_non_null(q);
  const Graph *g = q->graphs[0];
  assert_non_null(g->mem_off);
  int64_t sep = 0;
  for (int id = 0; id < g->n; id++)
    if (g->mem_off[id] >= 0) sep += shape_numel(&g->nodes[id].shape);
  /* several 4-element buffers, planned into less than their sum (16 floats = 64 bytes per
   * buffer after alignment, two alive at once at most but for the sum's input) */
  assert_true(q->arena_elems[DT_F32] > 0);
  assert_true(q->arena_elems[DT_F32] < 16 * sep);
  assert_true(ir_verify_program(q, &err));
  char *c = emit_c(q, &err);
  assert_non_null(c);
  assert_non_null(strstr(c, "static TT_ALIGN float arena_f32["));
  assert_non_null(strstr(c, "= arena_f32 + "));
  free(c);
  /* two buffers alive at the same time at one offset: the verifier says which */
  Graph *gw = q->graphs[0];
  int a = -1, b = -1;
  for (int id = 0; id < gw->n && b < 0; id++)
    if (gw->mem_off[id] >= 0) {
      if (a < 0) a = id;
      else if (gw->nodes[id].op == OP_ADD) b = id;
    }
  assert_true(a >= 0 && b > a);
  int64_t keep = gw->mem_off[b];
  gw->mem_off[b] = gw->mem_off[a];
  assert_false(ir_verify_program(q, &err));
  assert_non_null(strstr(err.msg, "memplan: shares elements with"));
  gw->mem_off[b] = keep;
  /* outside the arena */
  gw->mem_off[b] = q->arena_elems[DT_F32];
  assert_false(ir_verify_program(q, &err));
  gw->mem_off[b] = keep;
  assert_true(ir_verify_program(q, &err));
  /* a graph pass after memplan drops the plan: the clone has none */
  Graph *cl = ir_graph_clone(gw);
  assert_null(cl->mem_off);
  ir_graph_free(cl);
  ir_program_free(q);
}

/* ---- fuse: a weight gradient's GEMM adds into .grad; elementwise chains are one loop --- */

static void test_fuse(void **state) {
  (void)state;
  Program *p = compile("import torch\n"
                       "import torch.nn as nn\n"
                       "torch.manual_seed(0)\n"
                       "lin = nn.Linear(4, 3)\n"
                       "x = torch.randn(8, 4)\n"
                       "for _ in range(2):  # the second backward adds to .grad\n"
                       "    y = (lin(x) * 2.0 + 1.0).relu()\n"
                       "    y.sum().backward()\n"
                       "print(lin.weight.grad)\n");
  IrErr err;
  p = pass_run_pipeline(p, "autodiff,dce,fuse,dce", &(PipelineOpts){0}, &err);
  assert_non_null(p);
  int acc = 0, fused = 0, twice = -1;
  const Graph *g = p->graphs[p->ngraphs - 1];
  for (int gi = 0; gi < p->ngraphs; gi++)
    for (int id = 0; id < p->graphs[gi]->n; id++) {
      const Node *n = &p->graphs[gi]->nodes[id];
      acc += n->op == OP_MATMUL_ACC;
      fused += n->fused;
    }
  assert_int_equal(acc, 1); /* the second weight gradient, into .grad */
  assert_true(fused >= 2);    /* * 2.0 and + 1.0 inside relu's loop */
  int *uses = calloc((size_t)g->n + 1, sizeof *uses);
  ir_use_counts(g, uses);
  for (int id = 0; id < g->n && twice < 0; id++)
    if ((ir_ops[g->nodes[id].op].flags & OPF_EW) && uses[id] > 1) twice = id;
  free(uses);
  char *c = emit_c(p, &err);
  assert_non_null(c);
  assert_non_null(strstr(c, "fused into the loop below"));
  assert_non_null(strstr(c, ", true);")); /* the accumulating GEMM */
  free(c);
  /* a value with two users cannot be fused: the verifier says so */
  if (twice >= 0) {
    p->graphs[p->ngraphs - 1]->nodes[twice].fused = true;
    assert_false(ir_verify_program(p, &err));
    assert_non_null(strstr(err.msg, "fused, but not an elementwise value used once"));
  }
  ir_program_free(p);
}

/* ---- the rewrite walk ------------------------------------------------------------- */

static int drop_mul(IrRewrite *rw, int id) {
  (void)rw;
  (void)id;
  return IR_DROP;
}

static void test_rewrite_dropping_a_used_node_fails(void **state) {
  (void)state;
  Program *p = compile(SRC);
  static const IrRule rules[] = {{OP_MUL, drop_mul}};
  IrErr err;
  Graph *g = ir_rewrite(p, p->graphs[0], rules, 1, NULL, NULL, &err);
  assert_null(g);
  assert_non_null(strstr(err.msg, "which a rewrite rule dropped"));
  ir_program_free(p);
}

static void test_uids_survive_passes(void **state) {
  (void)state;
  Program *p = compile("x = tensor([1., 2.], requires_grad=True)\n"
                       "dead = x * 5.0\n"
                       "y = (x * x).sum()\n"
                       "y.backward()\n"
                       "print(x.grad)\n");
  /* the uid of the node named y before the passes */
  int32_t uid = -1;
  const Graph *g0 = p->graphs[0];
  for (int id = 0; id < g0->n; id++)
    if (g0->nodes[id].name && !strcmp(g0->nodes[id].name, "y")) uid = g0->nodes[id].uid;
  assert_true(uid >= 0);
  int32_t next = g0->next_uid;
  IrErr err;
  p = pass_run_pipeline(p, "autodiff,dce", NULL, &err);
  assert_non_null(p);
  const Graph *g = p->graphs[0];
  bool kept = false;
  int *uses = calloc((size_t)g->n, sizeof *uses);
  ir_use_counts(g, uses);
  for (int id = 0; id < g->n; id++) {
    const Node *n = &g->nodes[id];
    if (n->name && !strcmp(n->name, "y")) kept = n->uid == uid;
    if (n->backward) assert_true(n->uid >= next); /* new nodes: fresh uids */
    if (n->name && !strcmp(n->name, "dead")) fail_msg("dce left the dead value");
    if (!(ir_ops[n->op].flags & (OPF_SINK | OPF_RNG))) assert_true(uses[id] > 0);
  }
  free(uses);
  /* y was only the loss: dce may drop it; if kept, it kept its uid */
  (void)kept;
  assert_string_equal(g->name, "backward_step");
  ir_program_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_program_pass_adds_var_and_changes_dtype),
    cmocka_unit_test(test_broken_program_pass_caught_by_verifier),
    cmocka_unit_test(test_clone_is_deep),
    cmocka_unit_test(test_memplan),
    cmocka_unit_test(test_fuse),
    cmocka_unit_test(test_rewrite_dropping_a_used_node_fails),
    cmocka_unit_test(test_uids_survive_passes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
