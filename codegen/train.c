/*
 * train.c — the ops a training step adds: host values read into a graph (a learning rate, a
 * step count), the run-time batch size, and the optimizer updates.
 *
 * SGD, Adam(W), RMSprop, Adagrad and Adadelta are one fused loop each over the parameter,
 * rewriting the parameter and its state variables in place. They reproduce PyTorch 1.13's
 * single-tensor updates (torch/optim/sgd.py, adam.py, adamw.py, rmsprop.py, adagrad.py,
 * adadelta.py) operation by operation: every tensor operation
 * there rounds to float32, so each one is a separate float statement here, and the Python
 * scalars (lr, bias corrections, step size) are computed in double and cast to float where
 * PyTorch passes them to a float kernel. The step count is an input, 1 at the first step:
 * SGD's momentum buffer starts as the gradient itself then, as PyTorch's `buf is None` does.
 */
#include "codegen/codegen.h"

#include <math.h>
#include <string.h>

/* ---- host values ------------------------------------------------------------------ */

bool cg_hostvar(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (n->attr.var < 0 || n->attr.var >= cg->p->nhvars)
    return cg_fail(cg, "hostvar %%%d: host var %d out of range", id, n->attr.var);
  if (shape_numel(&n->shape) != 1 || n->shape.symm)
    return cg_fail(cg, "hostvar %%%d: a host value is one element", id);
  const char *h = cg->hname[n->attr.var];
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "from %s", h));
  cg_line(cg, "%s[0] = (%s)%s;", cg_buf(cg, id), cg_ctype(n->dtype), h);
  return true;
}

bool cg_batch(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (shape_numel(&n->shape) != 1 || n->shape.symm)
    return cg_fail(cg, "batch %%%d: the batch size is one element", id);
  if (cg->g->loader < 0 || cg->g->loader >= cg->p->nloaders)
    return cg_fail(cg, "batch %%%d: the graph has no data loader, so no batch size", id);
  cg_kernel_comment(cg, id, NULL);
  cg->used_B = true;
  cg_line(cg, "%s[0] = (%s)B;", cg_buf(cg, id), cg_ctype(n->dtype));
  return true;
}

/* ---- optimizer steps -------------------------------------------------------------- */

/* Checks what both optimizers need: float parameter-shaped operands (0..nparam-1 except
 * lr and step), a 0-d f64 lr, a 0-d i64 step, var ids in range. */
static bool check_opt(Cg *cg, int id, int nin, int lr, int nvars) {
  const Node *n = cg_node(cg, id);
  const char *opn = ir_ops[n->op].name;
  if (!cg_check_inputs(cg, id, nin)) return false;
  if (n->attr.nints != nvars) return cg_fail(cg, "%s: expected %d variables", opn, nvars);
  for (int k = 0; k < nvars; k++)
    if (n->attr.ints[k] < 0 || n->attr.ints[k] >= cg->p->nvars)
      return cg_fail(cg, "%s: var %lld out of range", opn, (long long)n->attr.ints[k]);
  const Node *prm = cg_in(cg, id, 0);
  if (prm->dtype != DT_F32 && prm->dtype != DT_F64)
    return cg_fail(cg, "%s: parameters must be float32 or float64", opn);
  if (prm->shape.symm) return cg_fail(cg, "%s: a parameter cannot have a batch dimension", opn);
  for (int k = 0; k < nin; k++) {
    const Node *x = cg_in(cg, id, k);
    if (k == lr || k == lr + 1) {
      DType want = k == lr ? DT_F64 : DT_I64;
      if (x->dtype != want || shape_numel(&x->shape) != 1)
        return cg_fail(cg, "%s: operand %d must be a 0-d %s", opn, k, dt_name(want));
    } else if (x->dtype != prm->dtype || !shape_eq(&x->shape, &prm->shape)) {
      return cg_fail(cg, "%s: operand %d does not match the parameter", opn, k);
    }
  }
  for (int k = 0; k < nvars; k++) {
    const Var *v = &cg->p->vars[n->attr.ints[k]];
    if (v->dtype != prm->dtype || shape_numel(&v->shape) != shape_numel(&prm->shape))
      return cg_fail(cg, "%s: var %s does not match the parameter", opn,
                     cg->vname[n->attr.ints[k]]);
  }
  return true;
}

/* A hyperparameter as a literal of the parameter's type: PyTorch casts Python scalars to
 * the tensor's type before the kernel runs. */
static const char *hp(Cg *cg, DType t, double v) {
  return cg_literal(cg, t, v);
}

bool cg_sgd_step(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  bool mom = n->nin == 5;
  if (!check_opt(cg, id, n->nin == 5 ? 5 : 4, 2, mom ? 2 : 1)) return false;
  double momentum = n->attr.f[0], dampening = n->attr.f[1], wd = n->attr.f[2];
  bool nesterov = n->attr.i[0] != 0;
  if (!isfinite(momentum) || !isfinite(dampening) || !isfinite(wd))
    return cg_fail(cg, "sgd_step: hyperparameters must be finite");
  if (mom != (momentum != 0))
    return cg_fail(cg, "sgd_step: a momentum buffer goes with a non-zero momentum");
  DType t = cg_node(cg, n->in[0])->dtype;
  const char *T = cg_ctype(t);
  const char *P = cg->vname[n->attr.ints[0]], *G = cg_buf(cg, n->in[1]);
  const char *LR = cg_buf(cg, n->in[2]), *STEP = cg_buf(cg, n->in[3]);
  const char *BUF = mom ? cg->vname[n->attr.ints[1]] : NULL;
  const char *PIN = cg_buf(cg, n->in[0]), *BIN = mom ? cg_buf(cg, n->in[4]) : NULL;
  int64_t numel = shape_numel(&cg_node(cg, n->in[0])->shape);
  const char *desc = arena_printf(cg->arena, "momentum=%s dampening=%s weight_decay=%s%s",
                                  hp(cg, DT_F64, momentum), hp(cg, DT_F64, dampening),
                                  hp(cg, DT_F64, wd), nesterov ? " nesterov" : "");
  cg_kernel_comment(cg, id, desc);
  cg_line(cg, "{");
  cg->indent++;
  cg_line(cg, "const %s neg_lr = (%s)-%s[0];", T, T, LR);
  if (!mom) cg_line(cg, "(void)%s;", STEP);
  cg_line(cg, "for (int64_t i = 0; i < %lld; i++) {", (long long)numel);
  cg->indent++;
  cg_line(cg, "%s g_i = %s[i];", T, G);
  if (wd != 0) cg_line(cg, "g_i = g_i + %s * %s[i];", hp(cg, t, wd), PIN);
  if (mom) {
    /* buf.mul_(momentum).add_(d_p, alpha=1 - dampening): two roundings */
    cg_line(cg, "%s b_i = %s[i] * %s;", T, BIN, hp(cg, t, momentum));
    cg_line(cg, "b_i = %s[0] == 1 ? g_i : b_i + %s * g_i;", STEP, hp(cg, t, 1 - dampening));
    cg_line(cg, "%s[i] = b_i;", BUF);
    if (nesterov)
      cg_line(cg, "g_i = g_i + %s * b_i;", hp(cg, t, momentum));
    else
      cg_line(cg, "g_i = b_i;");
  }
  cg_line(cg, "%s[i] = %s[i] + neg_lr * g_i;", P, PIN);
  cg->indent--;
  cg_line(cg, "}");
  cg->indent--;
  cg_line(cg, "}");
  return true;
}

bool cg_adam_step(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (!check_opt(cg, id, 6, 4, 3)) return false;
  double b1 = n->attr.f[0], b2 = n->attr.f[1], eps = n->attr.f[2], wd = n->attr.f[3];
  bool adamw = n->attr.i[0] != 0;
  if (!isfinite(b1) || !isfinite(b2) || !isfinite(eps) || !isfinite(wd))
    return cg_fail(cg, "adam_step: hyperparameters must be finite");
  DType t = cg_node(cg, n->in[0])->dtype;
  const char *T = cg_ctype(t);
  const char *P = cg->vname[n->attr.ints[0]], *M = cg->vname[n->attr.ints[1]];
  const char *V = cg->vname[n->attr.ints[2]];
  const char *PIN = cg_buf(cg, n->in[0]), *G = cg_buf(cg, n->in[1]);
  const char *MIN = cg_buf(cg, n->in[2]), *VIN = cg_buf(cg, n->in[3]);
  const char *LR = cg_buf(cg, n->in[4]), *STEP = cg_buf(cg, n->in[5]);
  int64_t numel = shape_numel(&cg_node(cg, n->in[0])->shape);
  const char *desc =
      arena_printf(cg->arena, "%s betas=(%s, %s) eps=%s weight_decay=%s", adamw ? "AdamW" : "Adam",
                   hp(cg, DT_F64, b1), hp(cg, DT_F64, b2), hp(cg, DT_F64, eps), hp(cg, DT_F64, wd));
  cg_kernel_comment(cg, id, desc);
  cg_line(cg, "{");
  cg->indent++;
  /* Python floats: bias corrections and the step size in double, as adam.py computes them. */
  cg_line(cg, "const double bc1 = 1 - pow(%s, (double)%s[0]);", hp(cg, DT_F64, b1), STEP);
  cg_line(cg, "const double bc2_sqrt = sqrt(1 - pow(%s, (double)%s[0]));", hp(cg, DT_F64, b2),
          STEP);
  cg_line(cg, "const %s neg_step = (%s)-(%s[0] / bc1);", T, T, LR);
  cg_line(cg, "const %s bc2s = (%s)bc2_sqrt;", T, T);
  if (adamw && wd != 0)
    cg_line(cg, "const %s wd_decay = (%s)(1 - %s[0] * %s);", T, T, LR, hp(cg, DT_F64, wd));
  cg_line(cg, "for (int64_t i = 0; i < %lld; i++) {", (long long)numel);
  cg->indent++;
  cg_line(cg, "%s p_i = %s[i];", T, PIN);
  cg_line(cg, "%s g_i = %s[i];", T, G);
  if (wd != 0) {
    if (adamw)
      cg_line(cg, "p_i = p_i * wd_decay;");
    else
      cg_line(cg, "g_i = g_i + %s * p_i;", hp(cg, t, wd));
  }
  /* exp_avg.mul_(b1).add_(g, alpha=1-b1); exp_avg_sq.mul_(b2).addcmul_(g, g, value=1-b2) */
  cg_line(cg, "%s m_i = %s[i] * %s;", T, MIN, hp(cg, t, b1));
  cg_line(cg, "m_i = m_i + %s * g_i;", hp(cg, t, 1 - b1));
  cg_line(cg, "%s v_i = %s[i] * %s;", T, VIN, hp(cg, t, b2));
  cg_line(cg, "v_i = v_i + %s * g_i * g_i;", hp(cg, t, 1 - b2));
  /* denom = (exp_avg_sq.sqrt() / bc2_sqrt).add_(eps); param.addcdiv_(m, denom, -step_size) */
  cg_line(cg, "%s d_i = sqrt%s(v_i) / bc2s;", T, t == DT_F32 ? "f" : "");
  cg_line(cg, "d_i = d_i + %s;", hp(cg, t, eps));
  cg_line(cg, "%s[i] = m_i;", M);
  cg_line(cg, "%s[i] = v_i;", V);
  cg_line(cg, "%s[i] = p_i + neg_step * m_i / d_i;", P);
  cg->indent--;
  cg_line(cg, "}");
  cg->indent--;
  cg_line(cg, "}");
  return true;
}

/* The opening of the loop the three below share: "{", the element type's names, and the
 * gradient with weight decay folded in (grad.add(param, alpha=weight_decay)). */
static void open_update(Cg *cg, int id, double wd, const char **T, const char **f) {
  const Node *n = cg_node(cg, id);
  DType t = cg_node(cg, n->in[0])->dtype;
  *T = cg_ctype(t);
  *f = t == DT_F32 ? "f" : "";
  cg_line(cg, "for (int64_t i = 0; i < %lld; i++) {",
          (long long)shape_numel(&cg_node(cg, n->in[0])->shape));
  cg->indent++;
  cg_line(cg, "%s p_i = %s[i];", *T, cg_buf(cg, n->in[0]));
  cg_line(cg, "%s g_i = %s[i];", *T, cg_buf(cg, n->in[1]));
  if (wd != 0) cg_line(cg, "g_i = g_i + %s * p_i;", hp(cg, t, wd));
}

static void close_update(Cg *cg) {
  cg->indent--;
  cg_line(cg, "}");
  cg->indent--;
  cg_line(cg, "}");
}

bool cg_rmsprop_step(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  double alpha = n->attr.f[0], eps = n->attr.f[1], wd = n->attr.f[2], mom = n->attr.f[3];
  bool centered = n->attr.i[0] != 0;
  int nstate = 1 + (mom > 0) + centered;
  if (n->nin != 4 + nstate)
    return cg_fail(cg, "rmsprop_step: expected %d inputs for its options", 4 + nstate);
  if (!check_opt(cg, id, n->nin, n->nin - 2, 1 + nstate)) return false;
  if (!isfinite(alpha) || !isfinite(eps) || !isfinite(wd) || !isfinite(mom))
    return cg_fail(cg, "rmsprop_step: hyperparameters must be finite");
  DType t = cg_node(cg, n->in[0])->dtype;
  const char *LR = cg_buf(cg, n->in[n->nin - 2]), *STEP = cg_buf(cg, n->in[n->nin - 1]);
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "alpha=%s eps=%s weight_decay=%s momentum=%s%s",
                                         hp(cg, DT_F64, alpha), hp(cg, DT_F64, eps),
                                         hp(cg, DT_F64, wd), hp(cg, DT_F64, mom),
                                         centered ? " centered" : ""));
  cg_line(cg, "{");
  cg->indent++;
  cg_line(cg, "const %s neg_lr = (%s)-%s[0];", cg_ctype(t), cg_ctype(t), LR);
  cg_line(cg, "(void)%s;", STEP);
  const char *T, *f;
  open_update(cg, id, wd, &T, &f);
  int k = 2; /* the next state input */
  const char *SQ = cg->vname[n->attr.ints[1]];
  /* square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha) */
  cg_line(cg, "%s s_i = %s[i] * %s;", T, cg_buf(cg, n->in[k++]), hp(cg, t, alpha));
  cg_line(cg, "s_i = s_i + %s * g_i * g_i;", hp(cg, t, 1 - alpha));
  cg_line(cg, "%s[i] = s_i;", SQ);
  int buf_in = mom > 0 ? k++ : -1, avg_in = centered ? k++ : -1;
  if (centered) {
    /* grad_avg.mul_(alpha).add_(grad, alpha=1 - alpha);
       avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_() */
    cg_line(cg, "%s a_i = %s[i] * %s;", T, cg_buf(cg, n->in[avg_in]), hp(cg, t, alpha));
    cg_line(cg, "a_i = a_i + %s * g_i;", hp(cg, t, 1 - alpha));
    cg_line(cg, "%s[i] = a_i;", cg->vname[n->attr.ints[avg_in - 1]]);
    cg_line(cg, "%s d_i = sqrt%s(s_i + %s * a_i * a_i);", T, f, hp(cg, t, -1));
  } else {
    cg_line(cg, "%s d_i = sqrt%s(s_i);", T, f);
  }
  cg_line(cg, "d_i = d_i + %s;", hp(cg, t, eps));
  if (mom > 0) {
    /* buf.mul_(momentum).addcdiv_(grad, avg); param.add_(buf, alpha=-lr) */
    cg_line(cg, "%s b_i = %s[i] * %s;", T, cg_buf(cg, n->in[buf_in]), hp(cg, t, mom));
    cg_line(cg, "b_i = b_i + g_i / d_i;");
    cg_line(cg, "%s[i] = b_i;", cg->vname[n->attr.ints[buf_in - 1]]);
    cg_line(cg, "%s[i] = p_i + neg_lr * b_i;", cg->vname[n->attr.ints[0]]);
  } else {
    /* param.addcdiv_(grad, avg, value=-lr) */
    cg_line(cg, "%s[i] = p_i + neg_lr * g_i / d_i;", cg->vname[n->attr.ints[0]]);
  }
  close_update(cg);
  return true;
}

bool cg_adagrad_step(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (!check_opt(cg, id, 5, 3, 2)) return false;
  double decay = n->attr.f[0], eps = n->attr.f[1], wd = n->attr.f[2];
  if (!isfinite(decay) || !isfinite(eps) || !isfinite(wd))
    return cg_fail(cg, "adagrad_step: hyperparameters must be finite");
  DType t = cg_node(cg, n->in[0])->dtype;
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "lr_decay=%s eps=%s weight_decay=%s",
                                         hp(cg, DT_F64, decay), hp(cg, DT_F64, eps),
                                         hp(cg, DT_F64, wd)));
  cg_line(cg, "{");
  cg->indent++;
  /* clr = lr / (1 + (step - 1) * lr_decay), a Python float */
  cg_line(cg, "const double clr = %s[0] / (1 + (double)(%s[0] - 1) * %s);", cg_buf(cg, n->in[3]),
          cg_buf(cg, n->in[4]), hp(cg, DT_F64, decay));
  cg_line(cg, "const %s neg_clr = (%s)-clr;", cg_ctype(t), cg_ctype(t));
  const char *T, *f;
  open_update(cg, id, wd, &T, &f);
  /* state_sum.addcmul_(grad, grad, value=1); std = state_sum.sqrt().add_(eps);
     param.addcdiv_(grad, std, value=-clr) */
  cg_line(cg, "%s s_i = %s[i] + %s * g_i * g_i;", T, cg_buf(cg, n->in[2]), hp(cg, t, 1));
  cg_line(cg, "%s[i] = s_i;", cg->vname[n->attr.ints[1]]);
  cg_line(cg, "%s d_i = sqrt%s(s_i) + %s;", T, f, hp(cg, t, eps));
  cg_line(cg, "%s[i] = p_i + neg_clr * g_i / d_i;", cg->vname[n->attr.ints[0]]);
  close_update(cg);
  return true;
}

bool cg_adadelta_step(Cg *cg, int id) {
  const Node *n = cg_node(cg, id);
  if (!check_opt(cg, id, 6, 4, 3)) return false;
  double rho = n->attr.f[0], eps = n->attr.f[1], wd = n->attr.f[2];
  if (!isfinite(rho) || !isfinite(eps) || !isfinite(wd))
    return cg_fail(cg, "adadelta_step: hyperparameters must be finite");
  DType t = cg_node(cg, n->in[0])->dtype;
  cg_kernel_comment(cg, id, arena_printf(cg->arena, "rho=%s eps=%s weight_decay=%s",
                                         hp(cg, DT_F64, rho), hp(cg, DT_F64, eps),
                                         hp(cg, DT_F64, wd)));
  cg_line(cg, "{");
  cg->indent++;
  cg_line(cg, "const %s neg_lr = (%s)-%s[0];", cg_ctype(t), cg_ctype(t), cg_buf(cg, n->in[4]));
  cg_line(cg, "(void)%s;", cg_buf(cg, n->in[5]));
  const char *T, *f;
  open_update(cg, id, wd, &T, &f);
  /* square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho);
     std = square_avg.add(eps).sqrt_(); delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad);
     acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho); param.add_(delta, alpha=-lr) */
  cg_line(cg, "%s s_i = %s[i] * %s;", T, cg_buf(cg, n->in[2]), hp(cg, t, rho));
  cg_line(cg, "s_i = s_i + %s * g_i * g_i;", hp(cg, t, 1 - rho));
  cg_line(cg, "%s std_i = sqrt%s(s_i + %s);", T, f, hp(cg, t, eps));
  cg_line(cg, "%s u_i = %s[i];", T, cg_buf(cg, n->in[3]));
  cg_line(cg, "%s delta_i = sqrt%s(u_i + %s) / std_i * g_i;", T, f, hp(cg, t, eps));
  cg_line(cg, "u_i = u_i * %s;", hp(cg, t, rho));
  cg_line(cg, "u_i = u_i + %s * delta_i * delta_i;", hp(cg, t, 1 - rho));
  cg_line(cg, "%s[i] = s_i;", cg->vname[n->attr.ints[1]]);
  cg_line(cg, "%s[i] = u_i;", cg->vname[n->attr.ints[2]]);
  cg_line(cg, "%s[i] = p_i + neg_lr * delta_i;", cg->vname[n->attr.ints[0]]);
  close_update(cg);
  return true;
}
