/*
 * main.c — the ttc command: option parsing and the calls into the compiler library.
 *
 *   ttc compile FILE.tt [-o OUT.c|-] [--emit=c|ir|dot] [--passes=LIST] [-O0|-O1]
 *                       [--print-after=PASS] [--print-after-all]
 *   ttc build FILE.tt [-o BIN] [--cc=CC] [--cflags=FLAGS] [compile options]
 *   ttc run FILE.tt [build options] [-- ARGS...]
 *   ttc diff FILE.tt --pass=NAME | --from=A --to=B [--emit=c|ir]
 *   (compile, build, run: --detect-anomaly adds a NaN/inf check after every kernel)
 *   ttc --list-passes | --help | --version
 *
 * `build` compiles the emitted C together with the runtime (the .c files of runtime/, compiled once
 * per compiler and flags into a cache); `run` builds into a cache keyed by the content
 * of the emitted C and the compiler settings, then runs the program from the current
 * directory and exits with its status.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

#ifndef TTC_RUNTIME_DIR
#define TTC_RUNTIME_DIR "runtime"
#endif
#ifndef TTC_VERSION
#define TTC_VERSION "0"
#endif
#ifndef TTC_EXTRA_CFLAGS
#define TTC_EXTRA_CFLAGS ""
#endif

typedef struct Opts {
  const char *cmd;
  const char *file;
  const char *out;
  const char *emit;
  const char *passes; /* NULL: the level's pipeline */
  int level;
  const char *print_after;
  bool print_after_all;
  const char *cc;
  const char *cflags;
  const char *pass; /* diff */
  const char *from, *to; /* diff: two pipeline points */
  bool detect_anomaly;
  bool conv_naive; /* --conv=naive: leave conv-im2col out of the pipeline */
  char **args;      /* run: arguments after -- */
  int nargs;
} Opts;

static void usage(FILE *f) {
  fputs("usage: ttc COMMAND FILE.tt [options]\n"
        "\n"
        "commands:\n"
        "  compile   translate FILE.tt to C (or IR, or Graphviz dot)\n"
        "  build     compile and build a native program\n"
        "  run       build (cached) and run; exits with the program's status\n"
        "  diff      show what a pass changes in the emitted C or IR\n"
        "\n"
        "options:\n"
        "  -o PATH            output file (compile: '-' is stdout; build: the binary)\n"
        "  --emit=c|ir|dot    what compile writes (default c)\n"
        "  --passes=LIST      comma-separated pass pipeline (see --list-passes)\n"
        "  -O0, -O1           optimization level: the default pipeline (-O1)\n"
        "  --print-after=P    print the IR after pass P to stderr\n"
        "  --print-after-all  print the IR after every pass to stderr\n"
        "  --cc=CC            C compiler for build/run (default: $CC or cc)\n"
        "  --cflags=FLAGS     flags for it (default: $TTC_CFLAGS or -O3 -march=native\n"
        "                     -fno-math-errno: sqrtf and friends vectorize without errno)\n"
        "  --pass=NAME        diff: the pass whose effect to show\n"
        "  --from=A --to=B    diff: two points of the pipeline (start, a pass name, end)\n"
        "  --conv=naive|im2col  the convolution kernel (default im2col: the conv-im2col pass)\n"
        "  --detect-anomaly   stop at the first NaN or inf a kernel produces, naming the\n"
        "                     op, forward or backward, and the .tt line\n"
        "  -- ARGS            run: arguments for the program\n"
        "  --list-passes      list the passes\n"
        "  --help, --version\n",
        f);
}

static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("ttc: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static bool prefix(const char *s, const char *p, const char **rest) {
  size_t n = strlen(p);
  if (strncmp(s, p, n)) return false;
  *rest = s + n;
  return true;
}

static Opts parse_args(int argc, char **argv) {
  Opts o = {0};
  o.emit = "c";
  o.level = 1;
  if (argc < 2) {
    usage(stderr);
    exit(1);
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--version")) {
      printf("ttc %s\n", TTC_VERSION);
      exit(0);
    } else if (!strcmp(a, "--list-passes")) {
      pass_list(stdout);
      exit(0);
    } else if (!strcmp(a, "--")) {
      o.args = argv + i + 1;
      o.nargs = argc - i - 1;
      break;
    } else if (!strcmp(a, "-o")) {
      if (i + 1 >= argc) die("-o needs a path");
      o.out = argv[++i];
    } else if (prefix(a, "--emit=", &v)) {
      if (strcmp(v, "c") && strcmp(v, "ir") && strcmp(v, "dot")) die("--emit must be c, ir or dot, not '%s'", v);
      o.emit = v;
    } else if (prefix(a, "--passes=", &v)) {
      o.passes = v;
    } else if (!strcmp(a, "-O0") || !strcmp(a, "-O1") || !strcmp(a, "-O2") || !strcmp(a, "-O3")) {
      o.level = a[2] - '0';
    } else if (prefix(a, "--print-after=", &v)) {
      o.print_after = v;
    } else if (!strcmp(a, "--print-after-all")) {
      o.print_after_all = true;
    } else if (prefix(a, "--cc=", &v)) {
      o.cc = v;
    } else if (prefix(a, "--cflags=", &v)) {
      o.cflags = v;
    } else if (prefix(a, "--conv=", &v)) {
      if (strcmp(v, "naive") && strcmp(v, "im2col")) die("--conv must be naive or im2col, not '%s'", v);
      o.conv_naive = !strcmp(v, "naive");
    } else if (!strcmp(a, "--detect-anomaly")) {
      o.detect_anomaly = true;
    } else if (prefix(a, "--from=", &v)) {
      o.from = v;
    } else if (prefix(a, "--to=", &v)) {
      o.to = v;
    } else if (prefix(a, "--pass=", &v)) {
      o.pass = v;
    } else if (a[0] == '-' && a[1]) {
      die("unknown option '%s' (see ttc --help)", a);
    } else if (!o.cmd) {
      o.cmd = a;
    } else if (!o.file) {
      o.file = a;
    } else {
      die("unexpected argument '%s'", a);
    }
  }
  if (!o.cmd) die("no command (see ttc --help)");
  if (strcmp(o.cmd, "compile") && strcmp(o.cmd, "build") && strcmp(o.cmd, "run") && strcmp(o.cmd, "diff"))
    die("unknown command '%s' (see ttc --help)", o.cmd);
  if (!o.file) die("%s: no input file", o.cmd);
  if (!o.cc) o.cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  if (!o.cflags) o.cflags = getenv("TTC_CFLAGS") && *getenv("TTC_CFLAGS") ? getenv("TTC_CFLAGS") : "-O3 -march=native -fno-math-errno";
  return o;
}

/* ---- compiling ------------------------------------------------------------------- */

/* Front end, passes; NULL after a diagnostic (already printed). */
static Program *compile_program(const Opts *o, const Source *src, const char *pipeline) {
  Diag d = {.src = src, .out = stderr};
  Program *p = frontend_compile(src, &d);
  if (!p) return NULL;
  IrErr err;
  if (!ir_verify_program(p, &err)) {
    fprintf(stderr, "ttc: internal error: the IR from the front end does not verify: %s\n", err.msg);
    ir_program_free(p);
    return NULL;
  }
  PipelineOpts po = {.print_after = o->print_after, .print_after_all = o->print_after_all, .trace = stderr};
  if (!pass_run_pipeline(p, pipeline, &po, &err)) {
    fprintf(stderr, "ttc: error: %s\n", err.msg);
    ir_program_free(p);
    return NULL;
  }
  return p;
}

static bool emit(const Opts *o, Program *p, const char *what, FILE *f) {
  if (!strcmp(what, "ir")) {
    ir_print_program(f, p);
    return true;
  }
  if (!strcmp(what, "dot")) {
    ir_print_dot(f, p);
    return true;
  }
  CgOptions co = {0};
  co.detect_anomaly = o->detect_anomaly;
  IrErr err;
  if (!cg_emit_program(f, p, &co, &err)) {
    fprintf(stderr, "%s: error: %s\n", p->filename, err.msg);
    return false;
  }
  return true;
}

/* The emitted text in memory. */
static char *emit_to_string(const Opts *o, Program *p, const char *what, size_t *len) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) die("out of memory");
  bool ok = emit(o, p, what, f);
  fclose(f);
  if (!ok) {
    free(buf);
    return NULL;
  }
  if (len) *len = n;
  return buf;
}

/* ---- files, hashing, processes ---------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) {
  return fnv(h, s, strlen(s) + 1);
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 65536 > cap) {
      cap = cap ? cap * 2 : 65536;
      buf = xrealloc(buf, cap + 1);
    }
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (r == 0) break;
  }
  fclose(f);
  buf[n] = 0;
  *len = n;
  return buf;
}

static void mkdirs(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      mkdir(tmp, 0777);
      *p = '/';
    }
  if (mkdir(tmp, 0777) && errno != EEXIST) die("cannot create directory %s: %s", tmp, strerror(errno));
}

static const char *cache_dir(void) {
  static char dir[900];
  const char *e = getenv("TTC_CACHE_DIR");
  if (e && *e) snprintf(dir, sizeof dir, "%s", e);
  else if ((e = getenv("XDG_CACHE_HOME")) && *e) snprintf(dir, sizeof dir, "%s/ttc", e);
  else if ((e = getenv("HOME")) && *e) snprintf(dir, sizeof dir, "%s/.cache/ttc", e);
  else snprintf(dir, sizeof dir, "/tmp/ttc-cache-%d", (int)getuid());
  mkdirs(dir);
  return dir;
}

/* Runs argv; returns the exit status (128+signal if killed). */
static int run_argv(char **argv, bool quiet_stdout) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    if (quiet_stdout) dup2(2, 1);
    execvp(argv[0], argv);
    fprintf(stderr, "ttc: error: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die("waitpid: %s", strerror(errno));
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

/* argv for the C compiler: cc, the flag words, then the rest. */
typedef struct Argv {
  char **v;
  int n, cap;
} Argv;

static void av_push(Argv *a, const char *s) {
  if (a->n + 2 > a->cap) {
    a->cap = a->cap ? a->cap * 2 : 32;
    a->v = xrealloc(a->v, sizeof(char *) * (size_t)a->cap);
  }
  a->v[a->n++] = strdup(s);
  a->v[a->n] = NULL;
}

static void av_words(Argv *a, const char *s) {
  const char *p = s;
  while (*p) {
    while (*p == ' ' || *p == '\t') p++;
    if (!*p) break;
    const char *e = p;
    while (*e && *e != ' ' && *e != '\t') e++;
    char w[1024];
    snprintf(w, sizeof w, "%.*s", (int)(e - p), p);
    av_push(a, w);
    p = e;
  }
}

static void av_free(Argv *a) {
  for (int i = 0; i < a->n; i++) free(a->v[i]);
  free(a->v);
}

/* The runtime's source files, sorted, for hashing and compiling. */
static int rt_sources(char names[][256], int max) {
  DIR *d = opendir(TTC_RUNTIME_DIR);
  if (!d) die("cannot open the runtime directory %s: %s", TTC_RUNTIME_DIR, strerror(errno));
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < max) {
    size_t l = strlen(e->d_name);
    if (l > 2 && l < 200 && (!strcmp(e->d_name + l - 2, ".c") || !strcmp(e->d_name + l - 2, ".h")))
      snprintf(names[n++], 256, "%s", e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, 256, (int (*)(const void *, const void *))strcmp);
  return n;
}

/* Compiles the runtime once per (compiler, flags, runtime sources); returns the object
 * paths through objs. */
static uint64_t runtime_objects(const Opts *o, Argv *objs) {
  char names[64][256];
  int n = rt_sources(names, 64);
  uint64_t h = 1469598103934665603ULL;
  h = fnv_str(h, o->cc);
  h = fnv_str(h, o->cflags);
  h = fnv_str(h, TTC_EXTRA_CFLAGS);
  for (int i = 0; i < n; i++) {
    char path[4096 + 256];
    snprintf(path, sizeof path, "%.4000s/%.255s", TTC_RUNTIME_DIR, names[i]);
    size_t len;
    char *text = read_file(path, &len);
    if (!text) die("cannot read %s", path);
    h = fnv_str(h, names[i]);
    h = fnv(h, text, len);
    free(text);
  }
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/rt-%016llx", cache_dir(), (unsigned long long)h);
  mkdirs(dir);
  for (int i = 0; i < n; i++) {
    size_t l = strlen(names[i]);
    if (strcmp(names[i] + l - 2, ".c")) continue;
    char obj[1400], src[1400], tmp[1500];
    snprintf(obj, sizeof obj, "%s/%.*s.o", dir, (int)(l - 2), names[i]);
    snprintf(src, sizeof src, "%s/%s", TTC_RUNTIME_DIR, names[i]);
    if (access(obj, R_OK)) {
      snprintf(tmp, sizeof tmp, "%s.tmp%d", obj, (int)getpid());
      Argv a = {0};
      av_push(&a, o->cc);
      av_push(&a, "-std=c11");
      av_push(&a, "-D_POSIX_C_SOURCE=200809L");
      av_words(&a, o->cflags);
      av_words(&a, TTC_EXTRA_CFLAGS);
      av_push(&a, "-c");
      av_push(&a, src);
      av_push(&a, "-o");
      av_push(&a, tmp);
      int st = run_argv(a.v, true);
      av_free(&a);
      if (st) die("could not compile the runtime (%s) with %s", src, o->cc);
      if (rename(tmp, obj)) die("cannot write %s: %s", obj, strerror(errno));
    }
    av_push(objs, obj);
  }
  return h;
}

/* Writes C to cpath and links it with the runtime into bin (atomically). */
static void build_binary(const Opts *o, const char *cpath, const char *bin) {
  Argv objs = {0};
  runtime_objects(o, &objs);
  char tmp[4400];
  snprintf(tmp, sizeof tmp, "%.4300s.tmp%d", bin, (int)getpid());
  Argv a = {0};
  av_push(&a, o->cc);
  av_push(&a, "-std=c11");
  av_words(&a, o->cflags);
  av_words(&a, TTC_EXTRA_CFLAGS);
  av_push(&a, "-Wall");
  av_push(&a, "-Wextra");
  av_push(&a, "-I" TTC_RUNTIME_DIR);
  av_push(&a, cpath);
  for (int i = 0; i < objs.n; i++) av_push(&a, objs.v[i]);
  av_push(&a, "-o");
  av_push(&a, tmp);
  av_push(&a, "-lz");
  av_push(&a, "-lm");
  int st = run_argv(a.v, true);
  av_free(&a);
  av_free(&objs);
  if (st) {
    unlink(tmp);
    die("internal error: the C emitted for %s did not compile with %s (please report it)", o->file, o->cc);
  }
  if (rename(tmp, bin)) die("cannot write %s: %s", bin, strerror(errno));
}

static void write_file_atomic(const char *path, const char *data, size_t n) {
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp%d", path, (int)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) die("cannot write %s: %s", path, strerror(errno));
  if (fwrite(data, 1, n, f) != n || fclose(f)) die("cannot write %s: %s", path, strerror(errno));
  if (rename(tmp, path)) die("cannot write %s: %s", path, strerror(errno));
}

/* ---- commands -------------------------------------------------------------------- */

static const char *pipeline_of(const Opts *o) {
  const char *base = o->passes ? o->passes : pass_pipeline_for_level(o->level);
  if (!o->conv_naive) return base;
  /* --conv=naive: the same pipeline without the kernel choice */
  static char buf[1024];
  size_t n = 0;
  buf[0] = 0;
  for (const char *p = base; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (!(len == 11 && !strncmp(p, "conv-im2col", 11)) && n + len + 2 < sizeof buf) {
      if (n) buf[n++] = ',';
      memcpy(buf + n, p, len);
      n += len;
      buf[n] = 0;
    }
    p = e ? e + 1 : p + len;
  }
  return buf;
}

static int cmd_compile(const Opts *o, const Source *src) {
  Program *p = compile_program(o, src, pipeline_of(o));
  if (!p) return 1;
  size_t n;
  char *text = emit_to_string(o, p, o->emit, &n);
  ir_program_free(p);
  if (!text) return 1;
  if (!o->out || !strcmp(o->out, "-")) {
    fwrite(text, 1, n, stdout);
  } else {
    write_file_atomic(o->out, text, n);
  }
  free(text);
  return 0;
}

/* Builds the program into the cache (or reuses it); returns the binary's path. */
static char *build_cached(const Opts *o, const Source *src, bool *ok) {
  Program *p = compile_program(o, src, pipeline_of(o));
  *ok = false;
  if (!p) return NULL;
  size_t n;
  char *text = emit_to_string(o, p, "c", &n);
  ir_program_free(p);
  if (!text) return NULL;
  Argv objs = {0};
  uint64_t h = runtime_objects(o, &objs);
  av_free(&objs);
  h = fnv(h, text, n);
  char dir[4096], cpath[4200], bin[4200];
  snprintf(dir, sizeof dir, "%s/%016llx", cache_dir(), (unsigned long long)h);
  mkdirs(dir);
  snprintf(cpath, sizeof cpath, "%s/model.c", dir);
  snprintf(bin, sizeof bin, "%s/model", dir);
  if (access(bin, X_OK)) {
    write_file_atomic(cpath, text, n);
    build_binary(o, cpath, bin);
  }
  free(text);
  *ok = true;
  return strdup(bin);
}

static int cmd_build(const Opts *o, const Source *src) {
  bool ok;
  char *bin = build_cached(o, src, &ok);
  if (!ok) return 1;
  char out[4096];
  if (o->out) snprintf(out, sizeof out, "%s", o->out);
  else {
    /* models/mlp.tt -> ./mlp, as cc names a.out after nothing */
    const char *base = strrchr(o->file, '/');
    base = base ? base + 1 : o->file;
    snprintf(out, sizeof out, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && !strcmp(dot, ".tt")) *dot = 0;
    else strncat(out, ".out", sizeof out - strlen(out) - 1);
  }
  size_t n;
  char *data = read_file(bin, &n);
  if (!data) die("cannot read %s", bin);
  write_file_atomic(out, data, n);
  chmod(out, 0755);
  free(data);
  free(bin);
  return 0;
}

static int cmd_run(const Opts *o, const Source *src) {
  bool ok;
  char *bin = build_cached(o, src, &ok);
  if (!ok) return 1;
  Argv a = {0};
  av_push(&a, bin);
  for (int i = 0; i < o->nargs; i++) av_push(&a, o->args[i]);
  int st = run_argv(a.v, false);
  av_free(&a);
  free(bin);
  return st;
}

/* The pipeline with and without one pass. */
/* The pipeline's passes up to and including `point` ("start": none, "end": all). */
static void pipeline_prefix(const char *pipeline, const char *point, char *out, size_t n) {
  out[0] = 0;
  if (!strcmp(point, "start")) return;
  bool found = !strcmp(point, "end");
  if (!found) {
    char wrapped[1100], pat[80];
    snprintf(wrapped, sizeof wrapped, ",%s,", pipeline);
    snprintf(pat, sizeof pat, ",%.70s,", point);
    found = strstr(wrapped, pat) != NULL;
    if (!found) die("diff: '%s' is not a pass of the pipeline '%s' (use start, end or one of its passes)", point, pipeline);
  }
  size_t len = 0;
  for (const char *p = pipeline; *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l && len + l + 2 < n) {
      if (len) out[len++] = ',';
      memcpy(out + len, p, l);
      len += l;
      out[len] = 0;
    }
    if (strcmp(point, "end") && l == strlen(point) && !strncmp(p, point, l)) break;
    p = e ? e + 1 : p + l;
  }
}

static int cmd_diff(const Opts *o, const Source *src) {
  if (!o->pass && !(o->from && o->to))
    die("diff: --pass=NAME, or --from=A --to=B (pipeline points), is required (see ttc --list-passes)");
  if (o->pass && !pass_lookup(o->pass)) die("diff: unknown pass '%s' (see ttc --list-passes)", o->pass);
  const char *what = strcmp(o->emit, "ir") ? "c" : "ir";
  /* before: the pipeline without the pass; after: with it (added if absent) */
  const char *base = pipeline_of(o);
  char before[1024] = "", after[1024] = "";
  bool present = false;
  if (!o->pass) {
    pipeline_prefix(base, o->from, before, sizeof before);
    pipeline_prefix(base, o->to, after, sizeof after);
  }
  for (int i = 0; o->pass && i < pass_count; i++) {
    const char *nm = pass_registry[i].name;
    char pat[80];
    snprintf(pat, sizeof pat, ",%s,", nm);
    char wrapped[1100];
    snprintf(wrapped, sizeof wrapped, ",%s,", base);
    bool in = strstr(wrapped, pat) != NULL;
    if (!strcmp(nm, o->pass)) present = true;
    if (in && strcmp(nm, o->pass)) {
      if (*before) strcat(before, ",");
      strcat(before, nm);
    }
    if (in || !strcmp(nm, o->pass)) {
      if (*after) strcat(after, ",");
      strcat(after, nm);
    }
  }
  (void)present;
  Program *p1 = compile_program(o, src, before);
  if (!p1) return 1;
  size_t n1, n2;
  char *t1 = emit_to_string(o, p1, what, &n1);
  ir_program_free(p1);
  Program *p2 = compile_program(o, src, after);
  if (!p2 || !t1) return 1;
  char *t2 = emit_to_string(o, p2, what, &n2);
  ir_program_free(p2);
  if (!t2) return 1;
  char dir[4096], f1[4200], f2[4200], l1[300], l2[300];
  snprintf(dir, sizeof dir, "%s/diff-%d", cache_dir(), (int)getpid());
  mkdirs(dir);
  const char *base_name = strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file;
  snprintf(f1, sizeof f1, "%s/before", dir);
  snprintf(f2, sizeof f2, "%s/after", dir);
  write_file_atomic(f1, t1, n1);
  write_file_atomic(f2, t2, n2);
  if (o->pass) {
    snprintf(l1, sizeof l1, "%s.%s (without %s)", base_name, what, o->pass);
    snprintf(l2, sizeof l2, "%s.%s (with %s)", base_name, what, o->pass);
  } else {
    snprintf(l1, sizeof l1, "%s.%s (after %.100s)", base_name, what, o->from);
    snprintf(l2, sizeof l2, "%s.%s (after %.100s)", base_name, what, o->to);
  }
  char *argv[] = {"diff", "-u", "--label", l1, "--label", l2, f1, f2, NULL};
  int st = run_argv(argv, false);
  unlink(f1);
  unlink(f2);
  rmdir(dir);
  free(t1);
  free(t2);
  return st > 1 ? 1 : 0;
}

int main(int argc, char **argv) {
  Opts o = parse_args(argc, argv);
  if (o.passes) {
    IrErr err;
    if (!pass_check_list(o.passes, &err)) die("%s", err.msg);
  }
  Source *src = source_read(o.file);
  if (!src) return 1;
  int st;
  if (!strcmp(o.cmd, "compile")) st = cmd_compile(&o, src);
  else if (!strcmp(o.cmd, "build")) st = cmd_build(&o, src);
  else if (!strcmp(o.cmd, "run")) st = cmd_run(&o, src);
  else st = cmd_diff(&o, src);
  source_free(src);
  return st;
}
