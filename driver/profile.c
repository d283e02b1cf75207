/*
 * profile.c — ttc profile: what a program costs, counted from its IR and measured on the
 * machine (docs/PROFILE.md).
 *
 * Counted: parameters (per layer and total) from the program's parameter variables; FLOPs
 * per forward and per training step from ir_cost over the graphs' nodes (the numbers in
 * the kernel comments of the C); static memory from the emitter's own report
 * (CgOptions.info: the numbers of --mem-report).
 *
 * Measured: ttc builds a harness, the program's C with its main renamed and a main of the
 * harness's own that fills the parameters and inputs with uniform noise and calls one
 * graph function (the forward, or the training step) in a loop, timing each call with the
 * runtime's monotonic clock. The loaders and the host program around the graphs do not
 * run: a forward's latency is the graph's, not the data loading's.
 */
#define _DEFAULT_SOURCE /* wait4: the child's peak RSS */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver/driver.h"
#include "passes/passes.h"
#include "runtime/tt.h"

/* What ttc profile knows of one graph. */
typedef struct GraphCost {
  bool params; /* reads a parameter */
  bool trains; /* has an optimizer step or autodiff's nodes */
  double flops, fwd_flops; /* all nodes; the forward's (no backward, no optimizer) */
  double flops1;          /* all nodes at batch 1 (the symbolic dimension's extent 1) */
  double fwd_flops1;
  int64_t batch; /* the symbolic dimension's bound, 0 without one */
} GraphCost;

/* The FLOPs of g's nodes; fwd: only the forward's. At extent 1 with one, else at the
 * bound, as the kernel comments count them. */
static double graph_flops(const Graph *g, bool fwd, bool one) {
  Node *nodes = xmalloc((size_t)(g->n ? g->n : 1) * sizeof *nodes);
  if (g->n) memcpy(nodes, g->nodes, (size_t)g->n * sizeof *nodes); /* an emptied graph has no nodes array */
  if (one)
    for (int i = 0; i < g->n; i++)
      for (int k = 0; k < nodes[i].shape.rank; k++)
        if (sym_at(&nodes[i].shape, k)) nodes[i].shape.d[k] = 1;
  Graph tmp = *g;
  tmp.nodes = nodes;
  double f = 0;
  for (int i = 0; i < g->n; i++) {
    if (fwd && (nodes[i].backward || (ir_ops[nodes[i].op].flags & OPF_OPTIM))) continue;
    f += ir_cost(&tmp, &nodes[i]).flops;
  }
  free(nodes);
  return f;
}

static GraphCost graph_cost(const Program *p, const Graph *g) {
  GraphCost c = {0};
  for (int i = 0; i < g->n; i++) {
    const Node *n = &g->nodes[i];
    if (n->op == OP_INPUT && p->vars[n->attr.var].kind == VAR_PARAM) c.params = true;
    if (n->backward || (ir_ops[n->op].flags & OPF_OPTIM)) c.trains = true;
  }
  c.flops = graph_flops(g, false, false);
  c.fwd_flops = graph_flops(g, true, false);
  c.flops1 = graph_flops(g, false, true);
  c.fwd_flops1 = graph_flops(g, true, true);
  c.batch = g->loader >= 0 ? p->loaders[g->loader].batch : 0;
  return c;
}

/* Each graph's cost into gc (p->ngraphs of them); the forward: the inference graph (reads
 * parameters, trains nothing) with the most FLOPs; the training step: the training graph
 * with the most; -1 where there is none. */
static void pick_graphs(const Program *p, GraphCost *gc, int *fwd, int *train) {
  *fwd = *train = -1;
  for (int gi = 0; gi < p->ngraphs; gi++) {
    gc[gi] = graph_cost(p, p->graphs[gi]);
    if (!gc[gi].params) continue;
    int *best = gc[gi].trains ? train : fwd;
    if (*best < 0 || gc[gi].flops > gc[*best].flops) *best = gi;
  }
}

/* ---- the harness ------------------------------------------------------------------ */

/* Whether one of the graphs reads variable v. */
static bool reads_var(const Program *p, const int *graphs, int ngraphs, int v) {
  for (int k = 0; k < ngraphs; k++) {
    const Graph *g = p->graphs[graphs[k]];
    for (int i = 0; i < g->n; i++)
      if (g->nodes[i].op == OP_INPUT && g->nodes[i].attr.var == v) return true;
  }
  return false;
}

/* The program's C with its main renamed, and the harness's main: argv is GRAPH BATCH
 * WARMUP RUNS BUDGET; prints each measured call's seconds, one a line. only_read: only the
 * variables the graphs read are filled (the others' pages stay untouched, out of the peak
 * RSS: an inference process's memory, not the training state's). */
static char *harness_text(const Program *p, const CgInfo *info, const char *c, size_t n,
                          const int *graphs, int ngraphs, bool only_read, size_t *len) {
  static const char main_line[] = "\nint main(int argc, char **argv) {\n";
  const char *m = strstr(c, main_line);
  if (!m) die("internal error: profile: the emitted C has no main");
  char *buf = NULL;
  size_t blen = 0;
  FILE *f = open_memstream(&buf, &blen);
  if (!f) die("out of memory");
  fwrite(c, 1, (size_t)(m - c), f);
  fputs("\nint ttc_program_main(int argc, char **argv);\nint ttc_program_main(int argc, char **argv) {\n", f);
  fwrite(m + strlen(main_line), 1, n - (size_t)(m - c) - strlen(main_line), f);
  fputs("\n/* ttc profile's harness (driver/profile.c): one graph in a loop, timed */\n"
        "#include <stdlib.h>\n\n"
        "int main(int argc, char **argv) {\n"
        "  tt_init(argc, argv);\n"
        "  if (argc != 6) return 2;\n"
        "  const int which = atoi(argv[1]), warmup = atoi(argv[3]), runs = atoi(argv[4]);\n"
        "  const int64_t batch = atoll(argv[2]);\n"
        "  const double budget = atof(argv[5]);\n"
        "  (void)batch;\n"
        "  tt_manual_seed(0);\n",
        f);
  for (int v = 0; v < p->nvars; v++) {
    const Var *var = &p->vars[v];
    if (var->dtype != DT_F32 || var->kind == VAR_GRAD || var->removed) continue;
    if (only_read && !reads_var(p, graphs, ngraphs, v)) continue;
    int64_t ne = shape_numel(&var->shape);
    fprintf(f, "  tt_uniform_f32(%s, %lld, -0.1, 0.1);\n", info->vname[v], (long long)(ne > 0 ? ne : 1));
  }
  fputs("  void (*fn)(void) = NULL;\n  switch (which) {\n", f);
  for (int k = 0; k < ngraphs; k++) {
    const Graph *g = p->graphs[graphs[k]];
    fprintf(f, "  case %d:\n    fn = %s;\n", k, info->gname[graphs[k]]);
    if (g->loader >= 0) fprintf(f, "    %s = batch;\n", info->lbatch[g->loader]);
    fputs("    break;\n", f);
  }
  fputs("  default:\n    return 2;\n  }\n"
        "  for (int i = 0; i < warmup; i++) fn();\n"
        "  const double start = tt_now();\n"
        "  for (int i = 0; i < runs; i++) {\n"
        "    const double t0 = tt_now();\n"
        "    fn();\n"
        "    printf(\"%.9f\\n\", tt_now() - t0);\n"
        "    if (budget > 0 && i >= 4 && tt_now() - start > budget) break;\n"
        "  }\n"
        "  return 0;\n"
        "}\n",
        f);
  if (fclose(f)) die("out of memory");
  *len = blen;
  return buf;
}

typedef ProfileRun Measured; /* driver.h */

/* Runs the harness on its k-th graph at batch; the times it prints, summarized. */
static Measured measure(const char *bin, int exec_fd, int k, int64_t batch, const Opts *o) {
  Measured m = {.batch = batch};
  char sk[16], sb[32], sw[16], sr[16], sbud[16];
  int warm = o->warmup ? o->warmup : 5;
  int runs = o->runs ? o->runs : 30;
  snprintf(sk, sizeof sk, "%d", k);
  snprintf(sb, sizeof sb, "%lld", (long long)batch);
  snprintf(sw, sizeof sw, "%d", warm);
  snprintf(sr, sizeof sr, "%d", runs);
  snprintf(sbud, sizeof sbud, "%g", o->runs ? 0.0 : 2.0); /* --runs: exactly that many */
  char *argv[] = {(char *)bin, sk, sb, sw, sr, sbud, NULL};
  FILE *tmp = tmpfile();
  if (!tmp) die("profile: cannot create a temporary file: %s", strerror(errno));
  pid_t pid = spawn(argv, exec_fd, fileno(tmp), -1);
  int st;
  struct rusage ru;
  while (wait4(pid, &st, 0, &ru) < 0)
    if (errno != EINTR) die("wait4: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st)) {
    fclose(tmp);
    return m;
  }
  m.rss_kib = ru.ru_maxrss;
  rewind(tmp);
  double *t = xmalloc((size_t)runs * sizeof *t);
  int n = 0;
  while (n < runs && fscanf(tmp, "%lf", &t[n]) == 1) n++;
  fclose(tmp);
  tt_stats_summary(t, n, &m.s);
  free(t);
  m.ok = n >= 2;
  return m;
}

/* ---- the report ------------------------------------------------------------------- */

/* A parameter's layer: its name less the last _part ("fc1_weight" -> "fc1"). */
static int layer_len(const char *name) {
  const char *u = strrchr(name, '_');
  return u && u != name ? (int)(u - name) : (int)strlen(name);
}

static void print_measured(FILE *f, const char *what, const Measured *m, double flops) {
  if (!m->ok) {
    fprintf(f, "  %-22s batch %-5lld the harness failed\n", what, (long long)m->batch);
    return;
  }
  const TtSummary *s = &m->s;
  fprintf(f, "  %-22s batch %-5lld %9.3f ms ± %.3f  (95%% CI %.3f-%.3f, p50 %.3f p90 %.3f p99 %.3f, %d runs)\n",
          what, (long long)m->batch, s->mean * 1e3, s->std * 1e3, s->ci_lo * 1e3, s->ci_hi * 1e3,
          s->p50 * 1e3, s->p90 * 1e3, s->p99 * 1e3, s->n);
  fprintf(f, "  %-22s %-11s %9.1f samples/s, %.2f GFLOP/s, peak RSS %.1f MiB\n", "", "",
          (double)(m->batch ? m->batch : 1) / s->mean, flops / s->mean / 1e9, m->rss_kib / 1024.0);
}

static void json_measured(FILE *f, const char *key, const Measured *m, double flops, bool comma) {
  const TtSummary *s = &m->s;
  if (!m->ok) {
    fprintf(f, "  \"%s\": null%s\n", key, comma ? "," : "");
    return;
  }
  fprintf(f,
          "  \"%s\": {\"batch\": %lld, \"flops\": %.0f, \"runs\": %d, \"mean_s\": %.9g, \"std_s\": %.9g, "
          "\"ci95_s\": [%.9g, %.9g], \"p50_s\": %.9g, \"p90_s\": %.9g, \"p99_s\": %.9g, "
          "\"samples_per_s\": %.6g, \"gflops_per_s\": %.6g, \"peak_rss_bytes\": %lld}%s\n",
          key, (long long)m->batch, flops, s->n, s->mean, s->std, s->ci_lo, s->ci_hi, s->p50, s->p90,
          s->p99, (double)(m->batch ? m->batch : 1) / s->mean, flops / s->mean / 1e9,
          (long long)m->rss_kib * 1024, comma ? "," : "");
}

int cmd_profile(const Opts *o, const Source *src) {
  Program *p = compile_program(o, src, pipeline_of(o));
  if (!p) return 1;
  if (p->mpi) die("profile: %s uses torch.distributed; profile it without the process group", o->file);
  CgInfo info = {0};
  DataOut d = {.name = "model.data"};
  size_t n;
  char *c = emit_to_string(o, p, "c", &n, &d, &info);
  if (!c) return 1;

  /* the forward: the inference graph (reads parameters, trains nothing) with the most
   * FLOPs; the training step: the training graph with the most */
  GraphCost *gc = xmalloc((size_t)(p->ngraphs + 1) * sizeof *gc);
  int fwd, train;
  pick_graphs(p, gc, &fwd, &train);
  int64_t nparams = 0;
  for (int v = 0; v < p->nvars; v++)
    if (p->vars[v].kind == VAR_PARAM && !p->vars[v].removed) nparams += shape_numel(&p->vars[v].shape);

  /* measured: the forward at batch 1 and at its batch, the training step at its batch */
  Measured mf1 = {0}, mfb = {0}, mt = {0};
  int sel[2], nsel = 0, kf = -1, kt = -1;
  if (fwd >= 0) kf = nsel, sel[nsel++] = fwd;
  if (train >= 0) kt = nsel, sel[nsel++] = train;
  bool timed = nsel && o->runs >= 0; /* --runs=0: the counts only */
  if (timed) {
    size_t hn;
    char *h = harness_text(p, &info, c, n, sel, nsel, false, &hn);
    Cached cached;
    char bin[4200];
    if (!o->json) fprintf(stderr, "ttc profile: building and timing %s...\n", o->file);
    build_text(o, h, hn, &d, false, &cached, bin);
    free(h);
    if (fwd >= 0) {
      if (gc[fwd].batch > 1) mf1 = measure(bin, cached.fd, kf, 1, o);
      mfb = measure(bin, cached.fd, kf, gc[fwd].batch, o);
    }
    if (train >= 0) mt = measure(bin, cached.fd, kt, gc[train].batch, o);
    cached_close(&cached);
  }
  double ffwd = fwd >= 0 ? gc[fwd].flops : 0, ffwd1 = fwd >= 0 ? gc[fwd].flops1 : 0;
  double ftrain = train >= 0 ? gc[train].flops : 0;
  /* the model's forward inside the training step, where the program has no inference graph */
  double ftrain_fwd = train >= 0 ? gc[train].fwd_flops : 0;

  FILE *f = stdout;
  if (o->json) {
    fprintf(f, "{\n  \"file\": \"%s\",\n  \"parameters\": %lld,\n  \"layers\": [", p->filename, (long long)nparams);
    bool first = true;
    for (int v = 0; v < p->nvars; v++) {
      const Var *var = &p->vars[v];
      if (var->kind != VAR_PARAM || var->removed) continue;
      char sh[128];
      fprintf(f, "%s\n    {\"layer\": \"%.*s\", \"name\": \"%s\", \"shape\": \"%s\", \"parameters\": %lld}",
              first ? "" : ",", layer_len(var->name), var->name, var->name,
              shape_str(&var->shape, sh, sizeof sh), (long long)shape_numel(&var->shape));
      first = false;
    }
    fprintf(f, "\n  ],\n");
    fprintf(f, "  \"flops_forward\": %.0f,\n  \"flops_forward_batch\": %lld,\n  \"flops_forward_batch1\": %.0f,\n",
            fwd >= 0 ? ffwd : ftrain_fwd, (long long)(fwd >= 0 ? gc[fwd].batch : train >= 0 ? gc[train].batch : 0),
            fwd >= 0 ? ffwd1 : train >= 0 ? gc[train].fwd_flops1 : 0);
    fprintf(f, "  \"flops_train_step\": %.0f,\n  \"flops_train_step_batch\": %lld,\n", ftrain,
            (long long)(train >= 0 ? gc[train].batch : 0));
    fprintf(f, "  \"static_memory\": {\"parameters\": %lld, \"gradients\": %lld, \"optimizer_state\": %lld, "
               "\"values\": %lld, \"intermediates\": %lld, \"constants\": %lld, \"conv_workspace\": %lld, "
               "\"total\": %lld},\n",
            (long long)info.params, (long long)info.grads, (long long)info.state, (long long)info.values,
            (long long)info.intermediates, (long long)info.consts, (long long)info.workspace,
            (long long)info.total);
    json_measured(f, "forward_batch1", &mf1, ffwd1, true);
    json_measured(f, "forward", &mfb, ffwd, true);
    json_measured(f, "train_step", &mt, ftrain, false);
    fprintf(f, "}\n");
  } else {
    fprintf(f, "profile of %s\n\nparameters (by layer: the names less their last _part):\n", p->filename);
    for (int v = 0; v < p->nvars; v++) {
      const Var *var = &p->vars[v];
      if (var->kind != VAR_PARAM || var->removed) continue;
      char sh[128];
      fprintf(f, "  %-24.*s %-26s %-14s %12lld\n", layer_len(var->name), var->name, var->name,
              shape_str(&var->shape, sh, sizeof sh), (long long)shape_numel(&var->shape));
    }
    fprintf(f, "  %-66s %12lld\n\nFLOPs (counted from the IR, as the kernel comments):\n", "total", (long long)nparams);
    char label[300];
    if (fwd >= 0) {
      snprintf(label, sizeof label, "forward (%s)", info.gname[fwd]);
      fprintf(f, "  %-30s batch %-5lld %15.0f\n", label, (long long)gc[fwd].batch, ffwd);
      if (gc[fwd].batch > 1) fprintf(f, "  %-30s batch 1     %15.0f\n", "", ffwd1);
    } else if (train >= 0) {
      snprintf(label, sizeof label, "forward (inside %s)", info.gname[train]);
      fprintf(f, "  %-30s batch %-5lld %15.0f\n", label, (long long)gc[train].batch, ftrain_fwd);
    }
    if (train >= 0) {
      snprintf(label, sizeof label, "training step (%s)", info.gname[train]);
      fprintf(f, "  %-30s batch %-5lld %15.0f\n", label, (long long)gc[train].batch, ftrain);
    }
    fprintf(f, "\nstatic memory (as ttc compile --mem-report), bytes:\n");
    const char *names[] = {"parameters", "gradients", "optimizer state", "values", "intermediates", "constants", "conv workspace", "total"};
    int64_t vals[] = {info.params, info.grads, info.state, info.values, info.intermediates, info.consts, info.workspace, info.total};
    for (int k = 0; k < 8; k++)
      if (k != 6 || vals[k]) fprintf(f, "  %-17s %12lld  %9.2f MiB\n", names[k], (long long)vals[k], (double)vals[k] / (1 << 20));
    fprintf(f, "\nmeasured (docs/PROFILE.md: one graph called in a loop by a harness, after warm-up):\n");
    if (!timed) {
      fprintf(f, "  nothing: %s\n", nsel ? "--runs=0" : "no graph reads parameters");
    } else if (fwd >= 0) {
      if (gc[fwd].batch > 1) print_measured(f, "forward", &mf1, ffwd1);
      print_measured(f, "forward", &mfb, ffwd);
    } else {
      fprintf(f, "  forward: none to time alone (no graph reads parameters outside training)\n");
    }
    if (timed && train >= 0) print_measured(f, "training step", &mt, ftrain);
  }
  free(gc);
  free(c);
  free(d.buf);
  cg_info_free(&info);
  ir_program_free(p);
  bool failed = timed && ((fwd >= 0 && !mfb.ok) || (train >= 0 && !mt.ok));
  if (failed) fprintf(stderr, "ttc: error: profile: the harness of %s failed\n", o->file);
  return failed;
}

/* ---- for ttc olympics (driver/olympics.c) ----------------------------------------- */

int profile_forward(const Program *p, int loader, double *flops1, double *flops) {
  GraphCost *gc = xmalloc((size_t)(p->ngraphs + 1) * sizeof *gc);
  int fwd, train;
  pick_graphs(p, gc, &fwd, &train);
  if (loader >= 0) { /* the body of that loader's loop: the inference graph there with the most FLOPs */
    fwd = -1;
    for (int gi = 0; gi < p->ngraphs; gi++)
      if (p->graphs[gi]->loader == loader && !gc[gi].trains && (fwd < 0 || gc[gi].flops > gc[fwd].flops)) fwd = gi;
  }
  *flops1 = fwd >= 0 ? gc[fwd].flops1 : 0;
  *flops = fwd >= 0 ? gc[fwd].flops : 0;
  free(gc);
  return fwd;
}

ProfileRun profile_time_graph(const Opts *o, const Program *p, const char *c, size_t n, const DataOut *d,
                              const CgInfo *info, int g, int64_t batch) {
  size_t hn;
  char *h = harness_text(p, info, c, n, &g, 1, true, &hn);
  Cached cached;
  char bin[4200];
  build_text(o, h, hn, d, false, &cached, bin);
  free(h);
  ProfileRun r = measure(bin, cached.fd, 0, batch, o);
  cached_close(&cached);
  return r;
}
