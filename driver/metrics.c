/*
 * metrics.c — `--metrics`: the program's training curves (docs/METRICS.md).
 *
 * After autodiff a loss's value stays in the graph only when the program reads it (say
 * loss.item()); the gradients do not need it, so dce drops it. metrics_instrument runs on
 * the front end's program, before the passes, and adds to each graph with a backward() a
 * store of its loss into a variable of its own, and to each graph with an optimizer step a
 * store of that optimizer's learning rate (a run-time value when a scheduler sets it); the
 * codegen's hooks read them after the graph's call (codegen/host.c, metrics_after_graph).
 * Only with --metrics: without it nothing here runs and the C is unchanged.
 */
#include "driver/driver.h"

#include <stdlib.h>
#include <string.h>

/* The lr operand of an optimizer node: SGD's third (a momentum buffer may follow the
 * step), every other's the one before the step, the last (ir/ops.def). */
static int lr_operand(const Node *n) { return n->op == OP_SGD_STEP ? 2 : n->nin - 2; }

/* A store of g's node `id` into a new variable; -1 (nothing added) when the value is not
 * one float32 or float64 number. */
static int store_scalar(Program *p, Graph *g, int id, const char *name, IrErr *err) {
  const Node *n = &g->nodes[id];
  if (shape_numel(&n->shape) != 1 || n->shape.symm || (n->dtype != DT_F32 && n->dtype != DT_F64))
    return -1;
  Loc loc = n->loc;
  int var = ir_var_new(p, name, VAR_VALUE, n->dtype, n->shape);
  Attr at = {0};
  at.var = var;
  int32_t in = id;
  if (ir_add(g, OP_STORE, &in, 1, &at, loc, err) < 0) return -2;
  return var;
}

bool metrics_instrument(Program *p, CgMetrics *m, IrErr *err) {
  metrics_free(m); /* a second compilation's */
  m->ngraphs = p->ngraphs;
  m->loss_var = malloc((size_t)(p->ngraphs + 1) * sizeof *m->loss_var);
  m->lr_var = malloc((size_t)(p->ngraphs + 1) * sizeof *m->lr_var);
  m->step = calloc((size_t)p->ngraphs + 1, sizeof *m->step);
  bool *backward = calloc((size_t)p->ngraphs + 1, sizeof *backward);
  if (!m->loss_var || !m->lr_var || !m->step || !backward) die("out of memory");
  bool any_optim = false;
  for (int gi = 0; gi < p->ngraphs; gi++) {
    Graph *g = p->graphs[gi];
    int loss = -1, optim = -1, n = g->n;
    for (int id = 0; id < n; id++) {
      const Node *nd = &g->nodes[id];
      if (nd->op == OP_BACKWARD && loss < 0 && nd->nin >= 1) loss = nd->in[0];
      if ((ir_ops[nd->op].flags & OPF_OPTIM) && optim < 0) optim = id;
    }
    m->loss_var[gi] = m->lr_var[gi] = -1;
    backward[gi] = loss >= 0;
    m->step[gi] = optim >= 0;
    any_optim |= optim >= 0;
    if (loss >= 0) m->loss_var[gi] = store_scalar(p, g, loss, "metrics_loss", err);
    if (optim >= 0) {
      int lr = lr_operand(&g->nodes[optim]);
      if (lr >= 0 && lr < g->nodes[optim].nin)
        m->lr_var[gi] = store_scalar(p, g, g->nodes[optim].in[lr], "metrics_lr", err);
    }
    if (m->loss_var[gi] == -2 || m->lr_var[gi] == -2) {
      free(backward);
      return false;
    }
  }
  /* a program that updates its weights by hand (no optimizer): each backward() is a step */
  if (!any_optim)
    for (int gi = 0; gi < p->ngraphs; gi++) m->step[gi] = backward[gi];
  free(backward);
  return true;
}

void metrics_free(CgMetrics *m) {
  free(m->loss_var);
  free(m->lr_var);
  free(m->step);
  m->loss_var = m->lr_var = NULL;
  m->step = NULL;
}
