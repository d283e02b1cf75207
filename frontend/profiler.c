/*
 * profiler.c — the curriculum's Profiler (module 14) in the language: what ttc profile
 * counts, asked for from the program.
 *
 *   profiler = Profiler()
 *   profiler.count_parameters(model)            # int: sum(p.numel() for p in model.parameters())
 *   profiler.count_flops(model, (1, 784))        # int: the FLOPs of one forward on that shape
 *   profiler.measure_memory(model, (1, 784))     # dict of MB: parameters, activations, their sum
 *   profiler.measure_latency(model, x)           # float: mean ms per forward, measured at run time
 *
 * The counts are known when the program is compiled, so those results are Python ints
 * and floats, printed and compared like any others. count_flops runs the model's forward
 * once on zeros of input_shape under no_grad (as the Python reference in tests/torch_ref.py
 * does) and sums ir_cost over the nodes it made: the numbers of the kernel comments and of
 * ttc profile, by the same function (a multiply-add is 2, an elementwise op 1 per element,
 * a pool 1 per window element; a convolution's bias is inside its kernel, a Linear's is an
 * add of its own). The traced nodes compute nothing anyone reads, so the dce pass removes
 * them: asking costs the program nothing when it runs.
 *
 * measure_memory's numbers are static: parameter_memory_mb is the parameters' bytes,
 * activation_memory_mb the bytes of the forward's input and output, peak_memory_mb their
 * sum (a lower bound on what one forward holds; ttc profile measures the real peak RSS).
 * measure_latency(model, input_tensor, warmup=10, iterations=100) is measured when the
 * program runs: a loop of `warmup` forwards under no_grad, the clock, a loop of `iterations`
 * forwards, the clock again; the result is a run-time float, the mean milliseconds per
 * forward (TinyTorch returns the median of per-call times; the mean needs no list of
 * samples, and ttc profile reports the median, percentiles and interval). Each loop's
 * forward stores its output into a variable, so the dce pass cannot drop the work being
 * timed.
 */
#include "lower.h"

#include <string.h>

#define B(name) static Value *pb_##name(L *l, Value *self, Args *a)
#define UNUSED(x) (void)(x)

static bool is_profiler(const Value *v) { return is_class(v, "Profiler"); }

B(Profiler) {
  if (self) lerr(l, a->off, "a Profiler is not callable; call its methods (count_parameters, count_flops, measure_memory, measure_latency)");
  args_bind(l, "Profiler", "", NULL, a, NULL, 0);
  return obj_new(l, "Profiler");
}

static Value *want_module(L *l, Value *m, const char *fname, int32_t off) {
  if (!m || !bi_is_module(m)) lerr(l, off, "Profiler.%s(): expected a Module, not %s", fname, m ? v_typename(m) : "None");
  return m;
}

/* The parameters' elements and bytes. */
static void param_totals(L *l, Value *m, int64_t *numel, int64_t *bytes) {
  Value *ps = v_new(l, V_LIST);
  collect_params(l, m, ps, "", NULL);
  *numel = *bytes = 0;
  for (int i = 0; i < ps->n; i++) {
    Shape s = tshape(l, ps->items[i]);
    *numel += shape_numel(&s);
    *bytes += shape_numel(&s) * (int64_t)dt_size(tdtype(l, ps->items[i]));
  }
}

B(count_parameters) {
  Value *v[1];
  args_bind(l, "count_parameters", "model", NULL, a, v, 1);
  int64_t n, b;
  param_totals(l, want_module(l, v[0], "count_parameters", a->off), &n, &b);
  UNUSED(self);
  return v_int(l, n);
}

/* input_shape: a tuple or list of positive ints (or a torch.Size). */
static Shape want_shape(L *l, Value *v, const char *fname, int32_t off) {
  if (!v || (v->k != V_TUPLE && v->k != V_LIST))
    lerr(l, off, "Profiler.%s(): input_shape must be a tuple of ints, such as (1, 784)", fname);
  if (v->n < 1 || v->n > TT_MAX_RANK) lerr(l, off, "Profiler.%s(): input_shape has %d dims (1 to %d)", fname, v->n, TT_MAX_RANK);
  int64_t d[TT_MAX_RANK];
  for (int i = 0; i < v->n; i++) {
    d[i] = want_int(l, v->items[i], "an input_shape dim", off);
    if (d[i] < 1) lerr(l, off, "Profiler.%s(): input_shape dim %d is %lld; dims are positive", fname, i, (long long)d[i]);
    if (d[i] > IR_MAX_NUMEL) lerr(l, off, "Profiler.%s(): input_shape dim %d is too large", fname, i);
  }
  Shape s = shape_make(v->n, d);
  if (shape_numel(&s) > IR_MAX_NUMEL) lerr(l, off, "Profiler.%s(): input_shape is too large", fname);
  return s;
}

typedef struct Trace {
  double flops;
  int64_t in_bytes, out_bytes;
} Trace;

/* One forward of m on zeros of shape s, under no_grad: the FLOPs of the nodes it made. */
static Trace trace_forward(L *l, Value *m, Shape s, const char *fname, int32_t off) {
  Trace t = {0};
  Value *x = filled(l, s, DT_F32, 0.0, off);
  Graph *g = cur_graph(l);
  int gi = l->p->ngraphs, n0 = g->n;
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *pos[1] = {x};
  Args ca = {.pos = pos, .npos = 1, .off = off};
  Value *y = v_call(l, m, &ca);
  l->no_grad = saved;
  if (cur_graph(l) != g || l->p->ngraphs != gi)
    lerr(l, off, "Profiler.%s(): the model's forward runs host code between its tensor operations "
                 "(a print, a run-time branch or loop); ttc counts a forward that is one graph", fname);
  for (int i = n0; i < g->n; i++) t.flops += ir_cost(g, &g->nodes[i]).flops;
  t.in_bytes = shape_numel(&s) * 4;
  if (y && y->k == V_TENSOR) {
    Shape ys = tshape(l, y);
    t.out_bytes = shape_numel(&ys) * (int64_t)dt_size(tdtype(l, y));
  } else {
    lerr(l, off, "Profiler.%s(): the model's forward returns %s, not a tensor", fname, y ? v_typename(y) : "None");
  }
  return t;
}

B(count_flops) {
  Value *v[2];
  args_bind(l, "count_flops", "model, input_shape", NULL, a, v, 2);
  Value *m = want_module(l, v[0], "count_flops", a->off);
  Trace t = trace_forward(l, m, want_shape(l, v[1], "count_flops", a->off), "count_flops", a->off);
  UNUSED(self);
  return v_int(l, (int64_t)t.flops);
}

B(measure_memory) {
  Value *v[2];
  args_bind(l, "measure_memory", "model, input_shape", NULL, a, v, 2);
  Value *m = want_module(l, v[0], "measure_memory", a->off);
  int64_t n, pbytes;
  param_totals(l, m, &n, &pbytes);
  Trace t = trace_forward(l, m, want_shape(l, v[1], "measure_memory", a->off), "measure_memory", a->off);
  const double MB = 1024.0 * 1024.0;
  double pm = (double)pbytes / MB, am = (double)(t.in_bytes + t.out_bytes) / MB;
  const char *keys[] = {"parameter_memory_mb", "activation_memory_mb", "peak_memory_mb"};
  double vals[] = {pm, am, pm + am};
  Value *d = v_new(l, V_DICT);
  for (int i = 0; i < 3; i++) {
    v_list_push(l, d, v_str(l, keys[i]));
    v_list_push(l, d, v_float(l, vals[i]));
  }
  UNUSED(self);
  return d;
}

/* A run-time loop of n forwards of m on x under no_grad, as a program's own loop would be;
 * each stores its output, which keeps the forward alive. */
static void forward_loop(L *l, Value *m, Value *x, int64_t n, int32_t off) {
  if (n <= 0) return;
  end_graph(l);
  Stmt *body = NULL;
  int nbody = 0, capbody = 0;
  Stmt **sb = l->blk;
  int *sn = l->blkn, *sc = l->blkcap;
  l->blk = &body;
  l->blkn = &nbody;
  l->blkcap = &capbody;
  l->loop_depth++;
  int unrolled = l->unrolled;
  l->unrolled = 0;
  region_enter(l, off);
  int hv = ir_hvar_new(l->p, "_", false);
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *pos[1] = {x};
  Args ca = {.pos = pos, .npos = 1, .off = off};
  Value *y = v_call(l, m, &ca);
  l->no_grad = saved;
  if (!y || y->k != V_TENSOR)
    lerr(l, off, "Profiler.measure_latency(): the model's forward returns %s, not a tensor", y ? v_typename(y) : "None");
  (void)tvar(l, y);
  end_graph(l);
  region_leave(l);
  l->blk = sb;
  l->blkn = sn;
  l->blkcap = sc;
  l->loop_depth--;
  l->unrolled = unrolled;
  Stmt *s = emit_stmt(l, ST_FOR, off);
  s->body = body;
  s->nbody = nbody;
  s->capbody = capbody;
  s->hvar = hv;
  s->expr = hx_int(l, 0);
  s->expr2 = hx_int(l, n);
  s->step = 1;
}

static Value *clock_now(L *l) {
  HostExpr *e = ir_hx(l->p, HX_CLOCK);
  e->i = 1; /* monotonic: time.perf_counter() */
  e->isfloat = true;
  return v_host(l, e);
}

static Value *hvar_value(L *l, int hv) {
  HostExpr *e = ir_hx(l->p, HX_VAR);
  e->hvar = hv;
  e->isfloat = true;
  return v_host(l, e);
}

B(measure_latency) {
  Value *v[4];
  args_bind(l, "measure_latency", "model, input_tensor, warmup=10, iterations=100", NULL, a, v, 4);
  Value *m = want_module(l, v[0], "measure_latency", a->off);
  Value *x = want_tensor(l, v[1], "Profiler.measure_latency", a->off);
  int64_t warmup = v[2] ? want_int(l, v[2], "warmup", a->off) : 10;
  int64_t iters = v[3] ? want_int(l, v[3], "iterations", a->off) : 100;
  if (warmup < 0) lerr(l, a->off, "Profiler.measure_latency(): warmup is %lld; it must be 0 or more", (long long)warmup);
  if (iters < 1) lerr(l, a->off, "Profiler.measure_latency(): iterations is %lld; it must be 1 or more", (long long)iters);
  forward_loop(l, m, x, warmup, a->off);
  int t0 = host_var_for(l, clock_now(l), "t0", a->off);
  forward_loop(l, m, x, iters, a->off);
  Value *dt = host_binop(l, BIN_SUB, clock_now(l), hvar_value(l, t0), a->off);
  Value *ms = host_binop(l, BIN_MUL, dt, v_float(l, 1000.0 / (double)iters), a->off);
  /* read the clock now, not where the result is used */
  int hv = host_var_for(l, ms, "latency_ms", a->off);
  UNUSED(self);
  return hvar_value(l, hv);
}

/* ---- Benchmark (curriculum module 19) ---------------------------------------------- */

/* Benchmark(models, datasets=None, warmup_runs=5, measurement_runs=10): models a list of
 * modules, each named by its `name` attribute when it is a string, else model_I. */
B(Benchmark) {
  if (self) lerr(l, a->off, "a Benchmark is not callable; call run_latency_benchmark(input_shape)");
  Value *v[4];
  args_bind(l, "Benchmark", "models, datasets=None, warmup_runs=5, measurement_runs=10", NULL, a, v, 4);
  if (!v[0] || (v[0]->k != V_LIST && v[0]->k != V_TUPLE) || v[0]->n == 0)
    lerr(l, a->off, "Benchmark(): models must be a non-empty list of modules");
  for (int i = 0; i < v[0]->n; i++) want_module(l, v[0]->items[i], "Benchmark", a->off);
  int64_t warm = v[2] ? want_int(l, v[2], "warmup_runs", a->off) : 5;
  int64_t runs = v[3] ? want_int(l, v[3], "measurement_runs", a->off) : 10;
  if (warm < 0) lerr(l, a->off, "Benchmark(): warmup_runs is %lld; it must be 0 or more", (long long)warm);
  if (runs < 2) lerr(l, a->off, "Benchmark(): measurement_runs is %lld; a standard deviation needs 2 or more", (long long)runs);
  Value *o = obj_new(l, "Benchmark");
  attrs_set(l, &o->attrs, "models", v[0]);
  attrs_set(l, &o->attrs, "datasets", v[1] ? v[1] : l->none);
  attrs_set(l, &o->attrs, "warmup_runs", v_int(l, warm));
  attrs_set(l, &o->attrs, "measurement_runs", v_int(l, runs));
  return o;
}

static HostExpr *hx_bin(L *l, int op, HostExpr *x, HostExpr *y) {
  HostExpr *e = ir_hx(l->p, HX_BIN);
  e->op = op;
  e->a = x;
  e->b = y;
  e->isfloat = true;
  return e;
}

static HostExpr *hx_var(L *l, int hv) { return hvar_value(l, hv)->hx; }

/* One model's measurement runs, each a forward between two clock reads, summarized in
 * host variables as they go (sum, sum of squares, min, max): a result object. */
static Value *bench_model(L *l, Value *m, Value *x, int64_t runs, const char *name, int32_t off) {
  int sum = host_var_for(l, v_float(l, 0.0), "bench_sum", off);
  int sq = host_var_for(l, v_float(l, 0.0), "bench_sumsq", off);
  int mn = host_var_for(l, v_float(l, 1e300), "bench_min", off);
  int mx = host_var_for(l, v_float(l, 0.0), "bench_max", off);
  end_graph(l);
  Stmt *body = NULL;
  int nbody = 0, capbody = 0;
  Stmt **sb = l->blk;
  int *sn = l->blkn, *sc = l->blkcap;
  l->blk = &body;
  l->blkn = &nbody;
  l->blkcap = &capbody;
  l->loop_depth++;
  int unrolled = l->unrolled;
  l->unrolled = 0;
  region_enter(l, off);
  int hv = ir_hvar_new(l->p, "_", false);
  int t0 = host_var_for(l, clock_now(l), "t0", off);
  bool saved = l->no_grad;
  l->no_grad = true;
  Value *pos[1] = {x};
  Args ca = {.pos = pos, .npos = 1, .off = off};
  Value *y = v_call(l, m, &ca);
  l->no_grad = saved;
  if (!y || y->k != V_TENSOR)
    lerr(l, off, "Benchmark: the forward of %s returns %s, not a tensor", name, y ? v_typename(y) : "None");
  (void)tvar(l, y);
  end_graph(l);
  /* ms = (clock - t0) * 1000, then the running sums */
  HostExpr *dt = hx_bin(l, HB_MUL, hx_bin(l, HB_SUB, clock_now(l)->hx, hx_var(l, t0)), hx_float(l, 1000.0));
  int ms = host_var_for(l, v_host(l, dt), "ms", off);
  host_assign(l, sum, v_host(l, hx_bin(l, HB_ADD, hx_var(l, sum), hx_var(l, ms))), off);
  host_assign(l, sq, v_host(l, hx_bin(l, HB_ADD, hx_var(l, sq), hx_bin(l, HB_MUL, hx_var(l, ms), hx_var(l, ms)))), off);
  host_assign(l, mn, v_host(l, hx_bin(l, HB_MIN, hx_var(l, mn), hx_var(l, ms))), off);
  host_assign(l, mx, v_host(l, hx_bin(l, HB_MAX, hx_var(l, mx), hx_var(l, ms))), off);
  region_leave(l);
  l->blk = sb;
  l->blkn = sn;
  l->blkcap = sc;
  l->loop_depth--;
  l->unrolled = unrolled;
  Stmt *s = emit_stmt(l, ST_FOR, off);
  s->body = body;
  s->nbody = nbody;
  s->capbody = capbody;
  s->hvar = hv;
  s->expr = hx_int(l, 0);
  s->expr2 = hx_int(l, runs);
  s->step = 1;
  /* mean, and the sample standard deviation from the sums (clamped at 0 against rounding) */
  double n = (double)runs;
  int mean = host_var_for(l, v_host(l, hx_bin(l, HB_DIV, hx_var(l, sum), hx_float(l, n))), "bench_mean", off);
  HostExpr *var = hx_bin(l, HB_DIV, hx_bin(l, HB_SUB, hx_var(l, sq), hx_bin(l, HB_MUL, hx_float(l, n), hx_bin(l, HB_MUL, hx_var(l, mean), hx_var(l, mean)))),
                         hx_float(l, n - 1));
  Value *sd = host_call1(l, HU_SQRT, v_host(l, hx_bin(l, HB_MAX, var, hx_float(l, 0.0))), off);
  int std = host_var_for(l, sd, "bench_std", off);
  Value *r = obj_new(l, "BenchmarkResult");
  attrs_set(l, &r->attrs, "metric_name", v_str(l, "latency_ms"));
  attrs_set(l, &r->attrs, "model_name", v_str(l, name));
  attrs_set(l, &r->attrs, "mean", hvar_value(l, mean));
  attrs_set(l, &r->attrs, "std", hvar_value(l, std));
  attrs_set(l, &r->attrs, "min", hvar_value(l, mn));
  attrs_set(l, &r->attrs, "max", hvar_value(l, mx));
  attrs_set(l, &r->attrs, "count", v_int(l, runs));
  return r;
}

/* bench.run_latency_benchmark(input_shape=(1, 28, 28)): for each model, warmup_runs
 * forwards on zeros of input_shape, then measurement_runs timed ones; a dict from the
 * models' names to their results (mean, std, min, max in ms, count). */
B(run_latency_benchmark) {
  Value *v[1];
  args_bind(l, "run_latency_benchmark", "input_shape=None", NULL, a, v, 1);
  Shape s;
  if (v[0]) s = want_shape(l, v[0], "run_latency_benchmark", a->off);
  else s = shape_make(3, (const int64_t[]){1, 28, 28});
  Value *models = attrs_get(&self->attrs, "models");
  int64_t warm = attrs_get(&self->attrs, "warmup_runs")->i, runs = attrs_get(&self->attrs, "measurement_runs")->i;
  Value *d = v_new(l, V_DICT);
  for (int i = 0; i < models->n; i++) {
    Value *m = models->items[i];
    Value *nm = attrs_get(&m->attrs, "name");
    const char *name = nm && nm->k == V_STR ? nm->s : arena_printf(l->arena, "model_%d", i);
    Value *x = filled(l, s, DT_F32, 0.0, a->off);
    (void)tvar(l, x); /* the loops read it from a variable */
    forward_loop(l, m, x, warm, a->off);
    v_list_push(l, d, v_str(l, name));
    v_list_push(l, d, bench_model(l, m, x, runs, name, a->off));
  }
  return d;
}

static const Builtin bench_methods[] = {
  {"run_latency_benchmark", BI_FUNC, pb_run_latency_benchmark, 0},
};

static const Builtin methods[] = {
  {"measure_latency", BI_FUNC, pb_measure_latency, 0},
  {"count_parameters", BI_FUNC, pb_count_parameters, 0},
  {"count_flops", BI_FUNC, pb_count_flops, 0},
  {"measure_memory", BI_FUNC, pb_measure_memory, 0},
};

Value *profiler_getattr(L *l, Value *obj, const char *name) {
  if (is_class(obj, "Benchmark")) {
    if (!strcmp(name, "run_latency_benchmark")) {
      Value *v = v_new(l, V_BUILTIN);
      v->bi = &bench_methods[0];
      v->self = obj;
      v->s = bench_methods[0].name;
      return v;
    }
    return attrs_get(&obj->attrs, name);
  }
  if (is_class(obj, "BenchmarkResult")) return attrs_get(&obj->attrs, name);
  if (!is_profiler(obj)) return NULL;
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
    if (!strcmp(name, methods[i].name)) {
      Value *v = v_new(l, V_BUILTIN);
      v->bi = &methods[i];
      v->self = obj;
      v->s = methods[i].name;
      return v;
    }
  return NULL;
}

/* BenchmarkResult is made by run_latency_benchmark only; the row lets obj_new name it. */
B(BenchmarkResult) {
  UNUSED(self);
  lerr(l, a->off, "BenchmarkResult is made by Benchmark.run_latency_benchmark(), not called");
}

const Builtin profiler_builtins[] = {
  {"Profiler", BI_CLASS, pb_Profiler, 0},
  {"Benchmark", BI_CLASS, pb_Benchmark, 0},
  {"BenchmarkResult", BI_CLASS, pb_BenchmarkResult, 0},
};
const int profiler_nbuiltins = sizeof profiler_builtins / sizeof profiler_builtins[0];
