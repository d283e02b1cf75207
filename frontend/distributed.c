/*
 * distributed.c — torch.distributed as data-parallel training over MPI: the process group
 * (init_process_group, get_rank, get_world_size, barrier, all_reduce), DistributedSampler,
 * and DistributedDataParallel.
 *
 * The rank and the world size are run-time values (HX_CALL of the runtime's tt_dist_rank and
 * tt_dist_world): mpirun decides them, so `if rank == 0:` is a C if. The collectives are
 * ST_CALL statements between graphs: the graph before has computed what they read, and the
 * graph after reads what they wrote. DistributedDataParallel averages the gradients of its
 * module's parameters after every backward() that reaches them (one bucketed call,
 * runtime/mpi/dist.c), broadcasts rank 0's parameters when it wraps the module and, with
 * broadcast_buffers (the default), rank 0's buffers before a forward, as PyTorch's does. A program that calls any of this sets Program.mpi, and only such a program
 * is linked with MPI.
 */
#include "lower.h"

#include <string.h>

#define B(name) static Value *db_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)


/* A call statement between graphs (inside a branch that runs after the graph, in its list). */
static Stmt *call_stmt(L *l, const char *fn, int32_t off) {
  if (!l->capture) end_graph(l);
  Stmt *st = emit_stmt(l, ST_CALL, off);
  st->fn = fn;
  l->p->mpi = true;
  return st;
}

static void set_args(L *l, Stmt *st, HostExpr **args, int n) {
  st->args = arena_alloc(l->p->arena, sizeof(HostExpr *) * (size_t)(n + 1));
  memcpy(st->args, args, sizeof(HostExpr *) * (size_t)n);
  st->nargs = n;
}

static void set_vars(L *l, Stmt *st, const int *vars, int n) {
  st->vars = arena_alloc(l->p->arena, sizeof(int) * (size_t)(n + 1));
  memcpy(st->vars, vars, sizeof(int) * (size_t)n);
  st->nkeys = n;
}

static Value *host_call(L *l, const char *fn, bool isbool) {
  HostExpr *e = ir_hx(l->p, HX_CALL);
  e->fn = fn;
  e->isbool = isbool;
  l->p->mpi = true;
  return v_host(l, e);
}

/* ---- the process group ------------------------------------------------------------------ */

B(init_process_group) {
  Value *v[8];
  args_bind(l, "init_process_group", "backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None, group_name='', pg_options=None", self, a, v, 8);
  if (!v[0] || v[0]->k != V_STR || strcmp(v[0]->s, "mpi"))
    lerr(l, a->off, "init_process_group(): ttc runs torch.distributed on MPI: pass backend=\"mpi\" and start the program with mpirun -np N");
  for (int i = 1; i < 8; i++)
    if (v[i] && v[i]->k != V_NONE && !(i == 3 || i == 4 ? v[i]->k == V_INT && v[i]->i == -1 : i == 6 && v[i]->k == V_STR && !v[i]->s[0]))
      lerr(l, a->off, "init_process_group(): with the MPI backend mpirun gives the ranks; other arguments than backend are not supported");
  call_stmt(l, "tt_dist_init", a->off);
  return l->none;
}

B(get_rank) {
  UNUSED(self), UNUSED(a);
  if (a->npos || a->nkw) lerr(l, a->off, "get_rank(): process groups other than the default one are not supported");
  return host_call(l, "tt_dist_rank", false);
}

B(get_world_size) {
  UNUSED(self);
  if (a->npos || a->nkw) lerr(l, a->off, "get_world_size(): process groups other than the default one are not supported");
  return host_call(l, "tt_dist_world", false);
}

B(is_initialized) {
  UNUSED(self), UNUSED(a);
  return host_call(l, "tt_dist_initialized", true);
}

B(is_available) {
  UNUSED(self), UNUSED(a);
  return l->vtrue;
}

B(barrier) {
  Value *v[3];
  args_bind(l, "barrier", "group=None, async_op=False, device_ids=None", self, a, v, 3);
  if ((v[0] && v[0]->k != V_NONE) || (v[1] && v_truthy(l, v[1], a->off)))
    lerr(l, a->off, "barrier(): only the default group, synchronously");
  call_stmt(l, "tt_dist_barrier", a->off);
  return l->none;
}

B(destroy_process_group) {
  UNUSED(self), UNUSED(a);
  call_stmt(l, "tt_dist_destroy", a->off);
  return l->none;
}

/* torch.distributed.ReduceOp's members, as torch numbers them (runtime/mpi/dist.c's ops). */
static const struct {
  const char *name;
  int64_t op;
} reduce_ops[] = {{"SUM", 0}, {"AVG", 1}, {"PRODUCT", 2}, {"MIN", 3}, {"MAX", 4}};

B(ReduceOp) {
  UNUSED(self);
  lerr(l, a->off, "ReduceOp is used by its members (ReduceOp.SUM, ReduceOp.MAX, ...)");
}

B(all_reduce) {
  Value *v[4];
  args_bind(l, "all_reduce", "tensor, op=None, group=None, async_op=False", self, a, v, 4);
  Value *t = want_tensor(l, v[0], "all_reduce", a->off);
  int64_t op = 0;
  if (v[1] && v[1]->k != V_NONE) {
    op = want_int(l, v[1], "op", a->off);
    if (op == 1) lerr(l, a->off, "all_reduce(): ReduceOp.AVG is not supported by the MPI backend (sum, then divide by get_world_size())");
    if (op < 0 || op > 4) lerr(l, a->off, "all_reduce(): op must be a ReduceOp (SUM, PRODUCT, MIN, MAX)");
  }
  if ((v[2] && v[2]->k != V_NONE) || (v[3] && v_truthy(l, v[3], a->off)))
    lerr(l, a->off, "all_reduce(): only the default group, synchronously");
  if (l->capture)
    lerr(l, a->off, "all_reduce() in a branch that runs after the graph: compute it before the branch");
  int var = tvar(l, t);
  const Var *vr = &l->p->vars[var];
  if (vr->shape.symm)
    lerr(l, a->off, "all_reduce(): a tensor sized by the loader's batch is not supported (ranks may hold batches of other sizes)");
  const char *fn = vr->dtype == DT_F32 ? "tt_dist_all_reduce_f32" : vr->dtype == DT_F64 ? "tt_dist_all_reduce_f64"
                 : vr->dtype == DT_I64 ? "tt_dist_all_reduce_i64" : NULL;
  if (!fn) lerr(l, a->off, "all_reduce(): ttc reduces float32, float64 and int64 tensors");
  Stmt *st = call_stmt(l, fn, a->off);
  HostExpr *opx = hx_int(l, op);
  set_args(l, st, &opx, 1);
  set_vars(l, st, &var, 1);
  t->t.graph = -1; /* later reads see the reduced values */
  return l->none;
}

/* ---- DistributedSampler ------------------------------------------------------------------ */

B(DistributedSampler) {
  if (self) lerr(l, a->off, "a DistributedSampler is given to a DataLoader, not called");
  Value *v[6];
  args_bind(l, "DistributedSampler", "dataset, num_replicas=None, rank=None, shuffle=True, seed=0, drop_last=False", self, a, v, 6);
  Value *ds = v[0];
  if (!ds || ds->k != V_OBJECT) lerr(l, a->off, "DistributedSampler(): expected a dataset");
  Value *o = obj_new(l, "DistributedSampler");
  attrs_set(l, &o->attrs, "dataset", ds);
  /* num_replicas and rank: given, or the process group's (run-time values) */
  Value *rep = v[1] && v[1]->k != V_NONE ? v[1] : host_call(l, "tt_dist_world", false);
  Value *rank = v[2] && v[2]->k != V_NONE ? v[2] : host_call(l, "tt_dist_rank", false);
  if (rep->k == V_INT && rank->k == V_INT && (rank->i >= rep->i || rank->i < 0))
    lerr(l, a->off, "Invalid rank %lld, rank should be in the interval [0, %lld]", (long long)rank->i, (long long)rep->i - 1);
  if (!hx_of(l, rep, a->off) || !hx_of(l, rank, a->off) || hx_of(l, rep, a->off)->isfloat || hx_of(l, rank, a->off)->isfloat)
    lerr(l, a->off, "DistributedSampler(): num_replicas and rank must be ints");
  attrs_set(l, &o->attrs, "num_replicas", rep);
  attrs_set(l, &o->attrs, "rank", rank);
  attrs_set(l, &o->attrs, "shuffle", v_int(l, v[3] ? v_truthy(l, v[3], a->off) : 1));
  attrs_set(l, &o->attrs, "seed", v_int(l, v[4] ? want_int(l, v[4], "seed", a->off) : 0));
  attrs_set(l, &o->attrs, "drop_last", v_int(l, v[5] ? v_truthy(l, v[5], a->off) : 0));
  attrs_set(l, &o->attrs, "__loaders__", v_new(l, V_LIST));
  return o;
}

B(set_epoch) {
  Value *v[1];
  args_bind(l, "set_epoch", "epoch", NULL, a, v, 1);
  Value *loaders = attrs_get(&self->attrs, "__loaders__");
  if (!loaders->n)
    lerr(l, a->off, "set_epoch(): ttc needs the DataLoader that uses this sampler made first");
  HostExpr *e = hx_of(l, v[0], a->off);
  if (!e || e->isfloat) lerr(l, a->off, "set_epoch(): epoch must be an int");
  for (int i = 0; i < loaders->n; i++) {
    Stmt *st = emit_stmt(l, ST_CALL, a->off); /* a loader setting: no graph need end */
    st->fn = "tt_loader_set_epoch";
    st->loader = (int)loaders->items[i]->i;
    set_args(l, st, &e, 1);
  }
  return l->none;
}

/* DataLoader(dataset, sampler=s): the loader yields this rank's share in PyTorch's order
 * (runtime/data.c), and len(loader) is known when the program runs. */
void dist_loader_sampler(L *l, Value *loader, Value *sampler, Value *ds, int id, int32_t off) {
  if (!is_class(sampler, "DistributedSampler"))
    lerr(l, off, "DataLoader(): ttc supports sampler=DistributedSampler(...) only");
  if (attrs_get(&sampler->attrs, "dataset") != ds)
    lerr(l, off, "DataLoader(): the sampler was made for another dataset");
  end_graph(l); /* the rank is read after init_process_group */
  Stmt *st = emit_stmt(l, ST_CALL, off);
  st->fn = "tt_loader_distribute";
  st->loader = id;
  static const char *const keys[] = {"num_replicas", "rank", "shuffle", "seed", "drop_last"};
  HostExpr *args[5];
  for (int i = 0; i < 5; i++) args[i] = hx_of(l, attrs_get(&sampler->attrs, keys[i]), off);
  set_args(l, st, args, 5);
  v_list_push(l, attrs_get(&sampler->attrs, "__loaders__"), v_int(l, id));
  HostExpr *len = ir_hx(l->p, HX_LOADER_LEN);
  len->loader = id;
  attrs_set(l, &loader->attrs, "__len__", v_host(l, len));
}

/* ---- DistributedDataParallel ------------------------------------------------------------- */

/* The parameters' variables of a module, in parameters() order. */
static Value *module_params(L *l, Value *m, int32_t off) {
  Args none = {.off = off};
  Value *ps = v_call(l, lower_getattr(l, m, "parameters", off), &none);
  if (ps->k != V_LIST && ps->k != V_TUPLE) lerr(l, off, "DistributedDataParallel(): the module's parameters() is not a list");
  return ps;
}

/* The bytes of one element of a buffer, the classes tt_dist_sync_buffers packs by. */
static int elem_bytes(DType dt) {
  return dt == DT_F64 || dt == DT_I64 ? 8 : dt == DT_F32 || dt == DT_I32 ? 4 : 1;
}

/* broadcast_buffers=True: before the forward, rank 0's buffers (BatchNorm's running
 * statistics, register_buffer's tensors) to every rank, as PyTorch 1.13's DDP.forward does
 * when the module has buffers and the previous forward of this wrapper (if any) ran with
 * gradients; that last condition is a run-time fact (a forward under no_grad in a loop), so
 * the runtime keeps it per wrapper and this forward tells it whether gradients are on. The
 * buffers go 8-byte elements first, then 4-byte, then 1-byte, in named_buffers() order
 * within each. */
static void sync_buffers(L *l, Value *ddp, Value *m, int32_t off) {
  Args none = {.off = off};
  Value *bs = v_call(l, lower_getattr(l, m, "buffers", off), &none);
  if (bs->k != V_LIST || !bs->n) return;
  int *vars = arena_alloc(l->arena, sizeof(int) * (size_t)(bs->n + 1)), n = 0;
  int64_t nsize[2] = {0, 0};
  for (int size = 8; size >= 1; size /= 2) {
    if (size == 2) continue;
    for (int i = 0; i < bs->n; i++) {
      Value *b = bs->items[i];
      if (b->k != V_TENSOR || b->t.var < 0)
        lerr(l, off, "DistributedDataParallel(broadcast_buffers=True): a buffer of the module is not a registered tensor (pass broadcast_buffers=False)");
      if (elem_bytes(l->p->vars[b->t.var].dtype) != size) continue;
      bool seen = false;
      for (int k = 0; k < n; k++) seen |= vars[k] == b->t.var;
      if (seen) continue;
      vars[n++] = b->t.var;
      if (size > 1) nsize[size == 8 ? 0 : 1]++;
    }
  }
  if (l->capture)
    lerr(l, off, "a DistributedDataParallel forward that broadcasts buffers, in a branch that runs after the graph: call it before the branch");
  Stmt *st = call_stmt(l, "tt_dist_sync_buffers", off);
  HostExpr *args[] = {hx_int(l, attrs_get(&ddp->attrs, "__ddp_id__")->i), hx_int(l, !l->no_grad),
                      hx_int(l, nsize[0]), hx_int(l, nsize[1])};
  set_args(l, st, args, 4);
  set_vars(l, st, vars, n);
  for (int i = 0; i < bs->n; i++) bs->items[i]->t.graph = -1; /* read rank 0's values */
}

B(DistributedDataParallel) {
  if (self) { /* ddp(x): the module's forward */
    Value *m = attrs_get(&self->attrs, "module");
    if (attrs_get(&self->attrs, "broadcast_buffers")->i) sync_buffers(l, self, m, a->off);
    return v_call(l, m, a);
  }
  Value *v[11];
  args_bind(l, "DistributedDataParallel", "module, device_ids=None, output_device=None, dim=0, broadcast_buffers=True, process_group=None, bucket_cap_mb=25, find_unused_parameters=False, check_reduction=False, gradient_as_bucket_view=False, static_graph=False", self, a, v, 11);
  Value *m = v[0];
  if (!m || m->k != V_OBJECT) lerr(l, a->off, "DistributedDataParallel(): expected a Module");
  if ((v[1] && v[1]->k != V_NONE) || (v[2] && v[2]->k != V_NONE))
    lerr(l, a->off, "DistributedDataParallel(): device_ids and output_device are for GPUs; ttc trains on the CPU");
  if (v[5] && v[5]->k != V_NONE) lerr(l, a->off, "DistributedDataParallel(): only the default process group");
  Value *ps = module_params(l, m, a->off);
  int *vars = arena_alloc(l->arena, sizeof(int) * (size_t)(ps->n + 1)), n = 0;
  for (int i = 0; i < ps->n; i++) {
    Value *p = ps->items[i];
    if (p->k != V_TENSOR || p->t.var < 0) lerr(l, a->off, "DistributedDataParallel(): a parameter that is not a leaf tensor");
    if (l->p->vars[p->t.var].dtype != DT_F32)
      lerr(l, a->off, "DistributedDataParallel(): ttc averages float32 parameters only");
    bool seen = false; /* a tied weight is one parameter */
    for (int k = 0; k < n; k++) seen |= vars[k] == p->t.var;
    if (p->t.requires_grad && !seen) vars[n++] = p->t.var;
  }
  /* every rank starts from rank 0's parameters, as PyTorch's constructor broadcasts them */
  Stmt *st = call_stmt(l, "tt_dist_broadcast_f32", a->off);
  set_vars(l, st, vars, n);
  for (int i = 0; i < ps->n; i++) ps->items[i]->t.graph = -1;
  Value *o = obj_new(l, "DistributedDataParallel");
  attrs_set(l, &o->attrs, "module", m);
  Value *pv = v_new(l, V_LIST);
  for (int i = 0; i < n; i++) v_list_push(l, pv, v_int(l, vars[i]));
  attrs_set(l, &o->attrs, "__ddp_vars__", pv);
  attrs_set(l, &o->attrs, "broadcast_buffers", v_int(l, v[4] ? v_truthy(l, v[4], a->off) : 1));
  if (!l->ddps) l->ddps = v_new(l, V_LIST);
  attrs_set(l, &o->attrs, "__ddp_id__", v_int(l, l->ddps->n));
  v_list_push(l, l->ddps, o);
  return o;
}

/* After a backward() that gave gradients to the leaves vars[0..n): the gradients of each
 * DistributedDataParallel's parameters among them are averaged over the ranks. */
void dist_after_backward(L *l, const int *vars, int n, int32_t off) {
  for (int d = 0; l->ddps && d < l->ddps->n; d++) {
    Value *pv = attrs_get(&l->ddps->items[d]->attrs, "__ddp_vars__");
    int *grads = arena_alloc(l->arena, sizeof(int) * (size_t)(pv->n + 1)), ng = 0;
    for (int i = 0; i < pv->n; i++)
      for (int k = 0; k < n; k++)
        if (vars[k] == pv->items[i]->i && l->p->vars[vars[k]].grad >= 0) grads[ng++] = l->p->vars[vars[k]].grad;
    if (!ng) continue;
    Stmt *st = call_stmt(l, "tt_dist_average_grads", off);
    set_vars(l, st, grads, ng);
    for (int k = 0; k < n; k++) /* read the averaged gradients again */
      if (vars[k] < l->nleaves && l->leaves[vars[k]] && l->leaves[vars[k]]->t.grad)
        l->leaves[vars[k]]->t.grad->t.graph = -1;
  }
}

/* a method, found through dist_getattr only */
static const Builtin sampler_set_epoch = {"set_epoch", 0, db_set_epoch, 0};

/* Attributes of torch.distributed (ReduceOp) and of this file's objects; NULL if none. */
Value *dist_getattr(L *l, Value *obj, const char *name) {
  if (obj->k == V_NS && !strcmp(obj->s, "torch.distributed") && !strcmp(name, "ReduceOp")) {
    Value *o = obj_new(l, "ReduceOp");
    for (size_t i = 0; i < sizeof reduce_ops / sizeof reduce_ops[0]; i++)
      attrs_set(l, &o->attrs, reduce_ops[i].name, v_int(l, reduce_ops[i].op));
    return o;
  }
  if (is_class(obj, "DistributedSampler") && !strcmp(name, "set_epoch")) {
    Value *bm = v_new(l, V_BUILTIN);
    bm->bi = &sampler_set_epoch;
    bm->self = obj;
    bm->s = "set_epoch";
    return bm;
  }
  if (is_class(obj, "DistributedDataParallel") && (!strcmp(name, "no_sync") || !strcmp(name, "join")))
    lerr(l, l->stmt_off, "DistributedDataParallel.%s() is not supported by ttc", name);
  return NULL;
}

const Builtin dist_builtins[] = {
  {"init_process_group", BI_FUNC, db_init_process_group, 0},
  {"get_rank", BI_FUNC, db_get_rank, 0},
  {"get_world_size", BI_FUNC, db_get_world_size, 0},
  {"is_initialized", BI_FUNC, db_is_initialized, 0},
  {"is_available", BI_FUNC, db_is_available, 0},
  {"is_mpi_available", BI_FUNC, db_is_available, 0},
  {"barrier", BI_FUNC, db_barrier, 0},
  {"destroy_process_group", BI_FUNC, db_destroy_process_group, 0},
  {"all_reduce", BI_FUNC, db_all_reduce, 0},
  {"ReduceOp", BI_CLASS, db_ReduceOp, 0},
  {"DistributedSampler", BI_CLASS, db_DistributedSampler, 0},
  {"DistributedDataParallel", BI_CLASS, db_DistributedDataParallel, 0},
};
const int dist_nbuiltins = (int)(sizeof dist_builtins / sizeof dist_builtins[0]);
