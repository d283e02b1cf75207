/*
 * main.c — the ttc command: option parsing and the calls into the compiler library.
 *
 *   ttc compile FILE.tt [-o OUT.c|-] [--emit=c|ir|dot] [--passes=LIST] [-O0|-O1]
 *                       [--print-after=PASS] [--print-after-all]
 *   ttc build FILE.tt [-o BIN] [--cc=CC] [--cflags=FLAGS] [compile options]
 *   ttc run FILE.tt [build options] [-- ARGS...]
 *   ttc diff FILE.tt --pass=NAME | --from=A --to=B [--emit=c|ir]
 *   ttc profile FILE.tt [--json] [--runs=N] [--warmup=N]   (driver/profile.c)
 *   ttc bench A.tt [B.tt] [--a=OPTS --b=OPTS] [--runs=N] [--warmup=N]   (driver/bench.c)
 *   ttc olympics DIR [-o OUTDIR] [--runs=N] [--warmup=N]   (driver/olympics.c)
 *   ttc roofline                                          (driver/roofline.c)
 *   (compile, build, run: --detect-anomaly adds a NaN/inf check after every kernel;
 *    --profile[=SVG] times every kernel: run prints them ranked and draws the roofline)
 *   ttc --list-passes | --help | --version
 *
 * `build` compiles the emitted C together with the runtime (the .c files of runtime/, compiled once
 * per compiler and flags into a cache); `run` builds into a cache keyed by the content
 * of the emitted C and the compiler settings, then runs the program from the current
 * directory and exits with its status. What ttc runs from the cache it trusts only because
 * the cache is private and checksummed (see "the cache" below); -o writes through device
 * nodes, FIFOs and symbolic links rather than renaming over them (write_output).
 */
/* XSI on top of the build's POSIX 2008: realpath and S_ISVTX, for checking the cache's parents */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "passes/passes.h"
#include "driver/driver.h"

#ifndef TTC_RUNTIME_DIR
#define TTC_RUNTIME_DIR "runtime"
#endif
#ifndef TTC_VERSION
#define TTC_VERSION "0"
#endif
#ifndef TTC_EXTRA_CFLAGS
#define TTC_EXTRA_CFLAGS ""
#endif


static void usage(FILE *f) {
  fputs("usage: ttc COMMAND FILE.tt [options]\n"
        "\n"
        "commands:\n"
        "  compile   translate FILE.tt to C (or IR, or Graphviz dot)\n"
        "  build     compile and build a native program\n"
        "  run       build (cached) and run; exits with the program's status\n"
        "  diff      show what a pass changes in the emitted C or IR\n"
        "  profile   parameters, FLOPs, static memory; measured latency, throughput, RSS\n"
        "            (docs/PROFILE.md; --json, --runs=N, --warmup=N)\n"
        "  bench     A.tt [B.tt]: run both alternately and compare their times with a\n"
        "            95%% interval (--a=OPTS --b=OPTS: one program, two pipelines;\n"
        "            --runs=N, --warmup=N)\n"
        "  plot      METRICS.csv|.jsonl -o CURVE.svg: draw the training curves a program\n"
        "            run with --metrics wrote (docs/METRICS.md)\n"
        "  roofline  measure this machine's peak FLOP/s and memory bandwidth, cache and\n"
        "            print them (docs/ROOFLINE.md)\n"
        "  olympics  DIR [-o OUTDIR]: the capstone's events over the entries in DIR\n"
        "            (each .tt trains itself and prints its test accuracy): leaderboard,\n"
        "            submissions and Pareto plot in OUTDIR (docs/OLYMPICS.md)\n"
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
        "                     -fno-math-errno -fno-trapping-math: sqrtf and friends\n"
        "                     vectorize without errno, selects in loops without traps;\n"
        "                     and -fopenmp unless CC is clang: large loops on every core)\n"
        "  --pass=NAME        diff: the pass whose effect to show\n"
        "  --from=A --to=B    diff: two points of the pipeline (start, a pass name, end)\n"
        "  --disable-pass=P   leave pass P out of the pipeline (repeatable), to compare\n"
        "                     an optimization with and without itself\n"
        "  --conv=naive|im2col  the convolution kernel (default im2col: the conv-im2col pass)\n"
        "  --detect-anomaly   stop at the first NaN or inf a kernel produces, naming the\n"
        "                     op, forward or backward, and the .tt line\n"
        "  --explain=PASS     say what pass PASS did and did not do, and why, with the\n"
        "                     .tt lines (fuse)\n"
        "  --mem-report       print the program's static memory by kind (parameters,\n"
        "                     gradients, optimizer state, values, intermediates, ...)\n"
        "  --metrics[=FILE]   build/run: record each training step's loss, epoch,\n"
        "                     learning rate and time (and the printed accuracy) to FILE\n"
        "                     (.csv, or JSON lines for .jsonl); a built program writes\n"
        "                     to $TTC_METRICS, else FILE\n"
        "  --profile[=SVG]    build/run: time every kernel; run prints them ranked by\n"
        "                     time against the roofline and writes it as SVG (default\n"
        "                     NAME.roofline.svg; docs/ROOFLINE.md)\n"
        "  -- ARGS            run: arguments for the program\n"
        "  --list-passes      list the passes\n"
        "  --help, --version\n",
        f);
}

_Noreturn void die(const char *fmt, ...) {
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

static void disable_pass(Opts *o, const char *name) {
  if (!pass_lookup(name)) die("--disable-pass: unknown pass '%s' (see ttc --list-passes)", name);
  size_t len = strlen(o->disabled);
  if (len + strlen(name) + 2 > sizeof o->disabled) die("--disable-pass: too many passes");
  snprintf(o->disabled + len, sizeof o->disabled - len, "%s%s", len ? "," : "", name);
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
    const char *a = argv[i];
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
    } else if (opt_one(&o, a)) {
    } else if (a[0] == '-' && a[1]) {
      die("unknown option '%s' (see ttc --help)", a);
    } else if (!o.cmd) {
      o.cmd = a;
    } else if (!o.file) {
      o.file = a;
    } else if (!strcmp(o.cmd, "bench") && !o.file2) {
      o.file2 = a;
    } else {
      die("unexpected argument '%s'", a);
    }
  }
  if (!o.cmd) die("no command (see ttc --help)");
  static const char *const cmds[] = {"compile", "build", "run", "diff", "profile", "bench", "plot", "olympics"};
  bool known = false;
  for (size_t k = 0; k < sizeof cmds / sizeof *cmds; k++) known |= !strcmp(o.cmd, cmds[k]);
  known |= !strcmp(o.cmd, "roofline"); /* the only command without an input file */
  if (!known) die("unknown command '%s' (see ttc --help)", o.cmd);
  if (!o.file && strcmp(o.cmd, "roofline")) die("%s: no input file", o.cmd);
  if (o.profile && strcmp(o.cmd, "compile") && strcmp(o.cmd, "build") && strcmp(o.cmd, "run"))
    die("--profile is for compile, build and run, not %s", o.cmd);
  /* `TTC_METRICS=F ttc run P.tt` records the curves as --metrics=F does */
  const char *env_metrics = getenv("TTC_METRICS");
  if (!o.metrics && !strcmp(o.cmd, "run") && env_metrics && *env_metrics) o.metrics = "";
  if (o.metrics && strcmp(o.cmd, "compile") && strcmp(o.cmd, "build") && strcmp(o.cmd, "run"))
    die("--metrics is for compile, build and run, not %s", o.cmd);
  if (!o.cc) o.cc = getenv("CC") && *getenv("CC") ? getenv("CC") : "cc";
  /* -fopenmp with gcc only: it runs the loops codegen marks TT_PARALLEL_FOR on every core
     (libgomp comes with gcc); clang's OpenMP needs libomp, which a machine may lack */
  if (!o.cflags) {
    const char *b = strrchr(o.cc, '/') ? strrchr(o.cc, '/') + 1 : o.cc;
    o.cflags = getenv("TTC_CFLAGS") && *getenv("TTC_CFLAGS") ? getenv("TTC_CFLAGS")
               : strstr(b, "clang") ? "-O3 -march=native -fno-math-errno -fno-trapping-math"
                                    : "-O3 -march=native -fno-math-errno -fno-trapping-math -fopenmp";
  }
  return o;
}

/* One option of the form -X or --name[=value]; false if a is not one. ttc bench's --a and
 * --b apply these to each side's copy of the options. */
bool opt_one(Opts *o, const char *a) {
  const char *v;
  if (prefix(a, "--emit=", &v)) {
    if (strcmp(v, "c") && strcmp(v, "ir") && strcmp(v, "dot")) die("--emit must be c, ir or dot, not '%s'", v);
    o->emit = v;
  } else if (prefix(a, "--passes=", &v)) {
    o->passes = v;
  } else if (!strcmp(a, "-O0") || !strcmp(a, "-O1") || !strcmp(a, "-O2") || !strcmp(a, "-O3")) {
    o->level = a[2] - '0';
  } else if (prefix(a, "--print-after=", &v)) {
    o->print_after = v;
  } else if (!strcmp(a, "--print-after-all")) {
    o->print_after_all = true;
  } else if (prefix(a, "--cc=", &v)) {
    o->cc = v;
  } else if (prefix(a, "--cflags=", &v)) {
    o->cflags = v;
  } else if (prefix(a, "--conv=", &v)) {
    if (strcmp(v, "naive") && strcmp(v, "im2col")) die("--conv must be naive or im2col, not '%s'", v);
    if (!strcmp(v, "naive")) disable_pass(o, "conv-im2col");
  } else if (prefix(a, "--disable-pass=", &v)) {
    disable_pass(o, v);
  } else if (!strcmp(a, "--detect-anomaly")) {
    o->detect_anomaly = true;
    /* every op's own result is checked, so none is computed inside another's loop */
    if (!strstr(o->disabled, "fuse")) disable_pass(o, "fuse");
  } else if (prefix(a, "--explain=", &v)) {
    if (!pass_lookup(v)) die("--explain: unknown pass '%s' (see ttc --list-passes)", v);
    o->explain = v;
  } else if (!strcmp(a, "--metrics")) {
    o->metrics = "";
  } else if (prefix(a, "--metrics=", &v)) {
    if (!*v) die("--metrics= needs a file name");
    o->metrics = v;
  } else if (!strcmp(a, "--profile")) {
    o->profile = "";
  } else if (prefix(a, "--profile=", &v)) {
    if (!*v) die("--profile= needs a file name");
    o->profile = v;
  } else if (!strcmp(a, "--mem-report")) {
    o->mem_report = true;
  } else if (prefix(a, "--from=", &v)) {
    o->from = v;
  } else if (prefix(a, "--to=", &v)) {
    o->to = v;
  } else if (prefix(a, "--pass=", &v)) {
    o->pass = v;
  } else if (!strcmp(a, "--json")) {
    o->json = true;
  } else if (prefix(a, "--runs=", &v)) {
    o->runs = atoi(v);
    if (o->runs < 2 || o->runs > 100000) {
      if (strcmp(v, "0")) die("--runs must be 2 to 100000 (0: profile's counts only), not '%s'", v);
      o->runs = -1;
    }
  } else if (prefix(a, "--warmup=", &v)) {
    o->warmup = atoi(v);
    if (o->warmup < 0 || o->warmup > 100000) die("--warmup must be 0 to 100000, not '%s'", v);
  } else if (prefix(a, "--a=", &v)) {
    o->a_opts = v;
  } else if (prefix(a, "--b=", &v)) {
    o->b_opts = v;
  } else {
    return false;
  }
  return true;
}

/* ---- compiling ------------------------------------------------------------------- */

/* A backward() the pipeline did not differentiate (--passes without autodiff) computes
 * nothing: say so once, at its line. */
static void warn_backward_left(const Program *p) {
  for (int gi = 0; gi < p->ngraphs; gi++)
    for (int id = 0; id < p->graphs[gi]->n; id++)
      if (p->graphs[gi]->nodes[id].op == OP_BACKWARD) {
        int line, col;
        ir_linecol(p->src, p->graphs[gi]->nodes[id].loc.off, &line, &col);
        fprintf(stderr, "%s:%d:%d: warning: backward() computes no gradients: the pass pipeline has no autodiff\n",
                p->filename, line, col);
        return;
      }
}

/* Front end, passes; NULL after a diagnostic (already printed). */
Program *compile_program(const Opts *o, const Source *src, const char *pipeline) {
  Diag d = {.src = src, .out = stderr};
  Program *p = frontend_compile(src, &d);
  if (!p) return NULL;
  IrErr err;
  if (!ir_verify_program(p, &err)) {
    fprintf(stderr, "ttc: internal error: the IR from the front end does not verify: %s\n", err.msg);
    ir_program_free(p);
    return NULL;
  }
  if (o->cgm && !metrics_instrument(p, o->cgm, &err)) {
    fprintf(stderr, "ttc: internal error: --metrics: %s\n", err.msg);
    ir_program_free(p);
    return NULL;
  }
  PipelineOpts po = {.print_after = o->print_after, .print_after_all = o->print_after_all, .trace = stderr,
                     .explain = o->explain};
  p = pass_run_pipeline(p, pipeline, &po, &err); /* frees p on failure */
  if (!p) {
    if (err.off >= 0)
      diag_error(&d, err.off, "%s", err.msg);
    else
      fprintf(stderr, "ttc: error: %s\n", err.msg);
    return NULL;
  }
  if (strcmp(o->cmd, "diff")) warn_backward_left(p);
  if (!strcmp(o->cmd, "compile")) kvcache_report(p, stderr); /* the caches' memory, if any */
  return p;
}

/* The data file a program's large constants go to (CgOptions.data): name is what the C
 * calls it, buf/n its bytes once emitted (n == 0: the program has none, write no file). */
static bool emit(const Opts *o, Program *p, const char *what, FILE *f, DataOut *d, CgInfo *info) {
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
  co.info = info;
  co.metrics = o->cgm;
  co.profile = o->profile != NULL;
  /* the report on the terminal: stdout, unless the C goes there */
  if (o->mem_report) co.mem_report = o->out || strcmp(o->cmd, "compile") ? stdout : stderr;
  if (d) {
    co.data = open_memstream(&d->buf, &d->n);
    if (!co.data) die("out of memory");
    co.data_name = d->name;
  }
  IrErr err;
  bool ok = cg_emit_program(f, p, &co, &err);
  if (co.data && fclose(co.data) && ok) die("out of memory");
  if (!ok) {
    if (err.off >= 0 && p->src) { /* a kernel that cannot be emitted: its line */
      int line, col;
      ir_linecol(p->src, err.off, &line, &col);
      fprintf(stderr, "%s:%d:%d: error: %s\n", p->filename, line, col, err.msg);
    } else {
      fprintf(stderr, "%s: error: %s\n", p->filename, err.msg);
    }
    return false;
  }
  return true;
}

/* The emitted text in memory. */
char *emit_to_string(const Opts *o, Program *p, const char *what, size_t *len, DataOut *d, CgInfo *info) {
  char *buf = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&buf, &n);
  if (!f) die("out of memory");
  bool ok = emit(o, p, what, f, d, info);
  fclose(f);
  if (!ok) {
    free(buf);
    return NULL;
  }
  if (len) *len = n;
  return buf;
}

/* ---- files and hashing ------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static uint64_t fnv_str(uint64_t h, const char *s) {
  return fnv(h, s, strlen(s) + 1);
}

/* The whole of what fd reads; NULL on a read error (errno set). */
static char *read_fd(int fd, size_t *len) {
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n + 65536 > cap) {
      cap = cap ? cap * 2 : 65536;
      buf = xrealloc(buf, cap + 1);
    }
    ssize_t r = read(fd, buf + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      free(buf);
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = 0;
  *len = n;
  return buf;
}

char *read_file(const char *path, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  char *buf = read_fd(fd, len);
  close(fd);
  return buf;
}

/* 0, or the errno of the write that failed. */
static int write_all(int fd, const char *data, size_t n) {
  while (n) {
    ssize_t w = write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno;
    data += w;
    n -= (size_t)w;
  }
  return 0;
}

/* A failed write or mkdir. A full disk, a quota or `ulimit -f` is the user's to fix, and is
 * said in those words rather than as a compiler failure. */
static _Noreturn void die_io(const char *path, bool dir, int err) {
  const char *doing = dir ? "creating the directory" : "writing";
  if (err == ENOSPC) die("no space left on device while %s %s", doing, path);
#ifdef EDQUOT
  if (err == EDQUOT) die("disk quota exceeded while %s %s", doing, path);
#endif
  if (err == EFBIG) die("file size limit exceeded (ulimit -f) while %s %s", doing, path);
  die("cannot %s %s: %s", dir ? "create the directory" : "write", path, strerror(err));
}

static mode_t umasked(mode_t mode) {
  mode_t u = umask(0);
  umask(u);
  return mode & ~u;
}

/* Writes path whole or not at all: a new temporary beside it, renamed over it. */
static void write_atomic(const char *path, const char *data, size_t n, mode_t mode) {
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%.4200s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) die_io(path, false, errno);
  int err = write_all(fd, data, n);
  if (!err && fchmod(fd, mode)) err = errno;
  if (close(fd) && !err) err = errno;
  if (!err && rename(tmp, path)) err = errno;
  if (err) {
    unlink(tmp);
    die_io(path, false, err);
  }
}

/* Writes what -o names. A regular file, or a path that does not exist yet, is replaced
 * atomically, so nobody reads half a file. Anything else (/dev/null, a FIFO, a terminal, a
 * symbolic link such as /dev/stdout) is opened and written in place, and its mode left
 * alone: renaming over it would replace the node itself with a regular file, and as root
 * that turned /dev/null into one for everybody. */
static void write_output(const char *path, const char *data, size_t n, mode_t mode) {
  struct stat st;
  if (lstat(path, &st) || S_ISREG(st.st_mode)) {
    write_atomic(path, data, n, mode);
    return;
  }
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) die_io(path, false, errno);
  int err = write_all(fd, data, n);
  if (close(fd) && !err) err = errno;
  if (err) die_io(path, false, err);
}

/* ---- processes -------------------------------------------------------------------- */

extern char **environ;

/* Forks and runs argv. With exec_fd >= 0 the child executes that descriptor (a checked
 * binary) rather than looking argv[0] up, so what runs is the file that was checked; out_fd
 * and err_fd >= 0 become the child's stdout and stderr. */
pid_t spawn(char **argv, int exec_fd, int out_fd, int err_fd) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    signal(SIGXFSZ, SIG_DFL); /* ignored by ttc (see main), not by what it runs */
    if (out_fd >= 0) dup2(out_fd, 1);
    if (err_fd >= 0) dup2(err_fd, 2);
    if (exec_fd >= 0) {
      fexecve(exec_fd, argv, environ);
      /* no execveat and no /proc: the path, in a directory already proven private */
      if (errno == ENOSYS || errno == ENOENT) execv(argv[0], argv);
    } else {
      execvp(argv[0], argv);
    }
    fprintf(stderr, "ttc: error: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  return pid;
}

/* The exit status of pid (128+signal if killed). */
int wait_for(pid_t pid) {
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) die("waitpid: %s", strerror(errno));
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 1;
}

static int run_argv(char **argv, bool quiet_stdout) {
  return wait_for(spawn(argv, -1, quiet_stdout ? 2 : -1, -1));
}

static bool contains(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; k && i + k <= n; i++)
    if (!memcmp(s + i, needle, k)) return true;
  return false;
}

/* Runs the C compiler, its stdout and stderr passed on to ttc's stderr and read on the way
 * for a full disk, a quota or a file size limit; returns its status and, through io_err, the
 * errno its messages named (0: none). The messages are in the C locale's words; a
 * translated one is caught by the free-space check in cc_failed instead. */
static int run_cc(char **argv, int *io_err) {
  static const struct {
    const char *text;
    int err;
  } words[] = {
      {"No space left on device", ENOSPC},
#ifdef EDQUOT
      {"Disk quota exceeded", EDQUOT},
#endif
      {"File size limit exceeded", EFBIG}, /* SIGXFSZ, as the gcc driver reports ld's death */
      {"File too large", EFBIG},
  };
  int p[2];
  if (pipe(p)) die("pipe: %s", strerror(errno));
  fcntl(p[0], F_SETFD, FD_CLOEXEC);
  fcntl(p[1], F_SETFD, FD_CLOEXEC);
  pid_t pid = spawn(argv, -1, p[1], p[1]);
  close(p[1]);
  /* a window of the last 64 bytes and the new chunk, so a phrase split by a read is seen */
  char win[64 + 4096];
  size_t keep = 0;
  *io_err = 0;
  for (;;) {
    ssize_t r = read(p[0], win + keep, sizeof win - keep);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    fwrite(win + keep, 1, (size_t)r, stderr);
    size_t n = keep + (size_t)r;
    for (size_t i = 0; !*io_err && i < sizeof words / sizeof words[0]; i++)
      if (contains(win, n, words[i].text)) *io_err = words[i].err;
    keep = n < 64 ? n : 64;
    memmove(win, win + n - keep, keep);
  }
  fflush(stderr);
  close(p[0]);
  return wait_for(pid);
}

/* True if the file system holding dir has no room left (for us). */
static bool fs_full(const char *dir) {
  struct statvfs sv;
  if (statvfs(dir, &sv)) return false;
  return geteuid() == 0 ? sv.f_bfree == 0 : sv.f_bavail == 0;
}

/* The C compiler failed while writing out (in dir): if for want of space (io_err from
 * run_cc, or a file system now full), says so and exits; otherwise returns, and the caller
 * reports the failure as its own. */
static void cc_io_failure(const char *out, const char *dir, int io_err) {
  const char *tmpdir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  if (!io_err && (fs_full(dir) || fs_full(tmpdir))) io_err = ENOSPC;
  if (!io_err) return;
  if (io_err == EFBIG)
    die("file size limit exceeded (ulimit -f) while the C compiler wrote %s (or its temporary "
        "files in %s; its message is above): raise the limit",
        out, tmpdir);
  die("%s while the C compiler wrote %s (or its temporary files in %s; its message is above): "
      "free some space, or set TTC_CACHE_DIR or TMPDIR to another file system",
      io_err == ENOSPC ? "no space left on device" : "disk quota exceeded", out, tmpdir);
}

/* The C compiler in a child of ttc (run_cc there), so that several compile at once: a cold
 * build compiles the program's C while the runtime's files compile beside it. The child's
 * status carries run_cc's: 0, 1 (failed), or a failure for want of space (io_err). */
static pid_t cc_start(char **argv) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    int io_err;
    int st = run_cc(argv, &io_err);
    _exit(!st ? 0 : io_err == ENOSPC ? 101 : io_err == EFBIG ? 102 : io_err ? 103 : 1);
  }
  return pid;
}

static int cc_wait(pid_t pid, int *io_err) {
  int st = wait_for(pid);
#ifdef EDQUOT
  *io_err = st == 101 ? ENOSPC : st == 102 ? EFBIG : st == 103 ? EDQUOT : 0;
#else
  *io_err = st == 101 ? ENOSPC : st == 102 ? EFBIG : 0;
#endif
  return st;
}

/* ---- the cache ----------------------------------------------------------------------
 *
 * `ttc run` executes what it finds in the cache, so the cache is trusted only as far as
 * nobody else can write to it:
 *   - each directory ttc makes there is created 0700, and each one it uses (the cache root,
 *     the <hash> entries, the rt-<hash> runtime objects, diff-<pid>) must be a directory, not
 *     a symbolic link (lstat), owned by the effective uid and not writable by group or
 *     others. The root's ancestors must belong to root or the user, and be writable by others
 *     only if sticky, as /tmp is. Anything else is an error naming the directory: ttc neither
 *     uses nor repairs a directory that someone else may have filled.
 *   - each file ttc builds there (a program, a runtime object) gets a checksum beside it,
 *     FILE.sum, written once FILE is complete. Before use, FILE is read through one
 *     descriptor and checked, and `run` executes that descriptor (fexecve), so the bytes
 *     checked are the bytes run. A missing or wrong checksum means: build it again. This
 *     catches corruption (a truncated or replaced file), not an attacker: the private
 *     directories keep attackers out.
 */

/* NULL if dir is a directory that only the user can change; otherwise what is wrong, in why. */
static const char *dir_problem(const char *dir, char *why, size_t n) {
  struct stat st;
  if (lstat(dir, &st)) snprintf(why, n, "cannot be examined (%s)", strerror(errno));
  else if (S_ISLNK(st.st_mode)) snprintf(why, n, "is a symbolic link, not a directory");
  else if (!S_ISDIR(st.st_mode)) snprintf(why, n, "is not a directory");
  else if (st.st_uid != geteuid())
    snprintf(why, n, "is owned by uid %ld, not by you (uid %ld)", (long)st.st_uid, (long)geteuid());
  else if (st.st_mode & 022)
    snprintf(why, n, "is writable by %s (mode %04o)", st.st_mode & 002 ? "others" : "its group",
             (unsigned)(st.st_mode & 07777));
  else return NULL;
  return why;
}

static _Noreturn void refuse_dir(const char *dir, const char *why) {
  die("refusing the cache directory %s: it %s. ttc runs the programs it caches, so the cache "
      "must be yours and writable by you alone: remove it, or set TTC_CACHE_DIR to a "
      "directory of your own",
      dir, why);
}

/* Creates dir 0700 if it is missing, and refuses it unless it is private. */
void private_dir(const char *dir) {
  if (mkdir(dir, 0700) && errno != EEXIST) die_io(dir, true, errno);
  char why[200];
  if (dir_problem(dir, why, sizeof why)) refuse_dir(dir, why);
}

/* Refuses dir if someone other than root and the user could rename it away and put their
 * own in its place: an ancestor that belongs to another user, or that others can write and
 * is not sticky. */
static void check_ancestors(const char *dir) {
  char parent[1024];
  snprintf(parent, sizeof parent, "%s", dir);
  size_t n = strlen(parent);
  while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
  char *slash = strrchr(parent, '/');
  if (!slash) snprintf(parent, sizeof parent, ".");
  else if (slash == parent) parent[1] = 0;
  else *slash = 0;
  char *real = realpath(parent, NULL);
  if (!real) die("cannot resolve %s: %s", parent, strerror(errno));
  size_t len = strlen(real);
  for (size_t i = 0; i <= len; i++) {
    if (i && i < len && real[i] != '/') continue;
    /* "/", then the prefix before each further slash, then the whole */
    char pre[1024];
    snprintf(pre, sizeof pre, "%.*s", i ? (int)i : 1, real);
    struct stat st;
    if (lstat(pre, &st)) die("cannot examine %s: %s", pre, strerror(errno));
    char why[1300];
    if (st.st_uid != 0 && st.st_uid != geteuid())
      snprintf(why, sizeof why, "is inside %s, which belongs to uid %ld", pre, (long)st.st_uid);
    else if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX))
      snprintf(why, sizeof why, "is inside %s, which others can write (mode %04o, not sticky)",
               pre, (unsigned)(st.st_mode & 07777));
    else continue;
    free(real);
    refuse_dir(dir, why);
  }
  free(real);
}

/* Creates the missing directories above path, 0700. */
static void mkparents(const char *path) {
  char tmp[1024];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') {
      *p = 0;
      if (mkdir(tmp, 0700) && errno != EEXIST) die_io(tmp, true, errno);
      *p = '/';
    }
}

/* The cache root: $TTC_CACHE_DIR, $XDG_CACHE_HOME/ttc, ~/.cache/ttc, or else
 * ttc-cache-EUID in $TMPDIR or /tmp, where others could have made it first: checked, like
 * every cache directory, before anything in it is used. */
const char *cache_dir(void) {
  static char dir[900];
  if (*dir) return dir;
  const char *e = getenv("TTC_CACHE_DIR");
  if (e && *e) snprintf(dir, sizeof dir, "%s", e);
  else if ((e = getenv("XDG_CACHE_HOME")) && *e) snprintf(dir, sizeof dir, "%s/ttc", e);
  else if ((e = getenv("HOME")) && *e) snprintf(dir, sizeof dir, "%s/.cache/ttc", e);
  else {
    e = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ttc-cache-%ld", e && *e == '/' ? e : "/tmp", (long)geteuid());
  }
  mkparents(dir);
  if (mkdir(dir, 0700) && errno != EEXIST) die_io(dir, true, errno);
  check_ancestors(dir);
  private_dir(dir);
  return dir;
}

/* A file of the cache, checked: its bytes, and a descriptor open on them. */
void cached_close(Cached *c) {
  if (c->fd >= 0) close(c->fd);
  free(c->data);
  c->fd = -1;
  c->data = NULL;
}

/* The checksum file's one line: FNV-1a, 64 bits, over the bytes, and their count. */
static void sum_line(char *out, size_t cap, const char *data, size_t n) {
  uint64_t h = fnv(14695981039346656037ULL, data, n);
  snprintf(out, cap, "fnv1a64 %016llx %zu\n", (unsigned long long)h, n);
}

/* Opens a cached file and checks it against its checksum; false (c closed) if it is missing,
 * is not a regular file of the user's that only the user can write, or does not match. */
static bool cached_open(const char *path, Cached *c) {
  c->data = NULL;
  /* O_NOFOLLOW: a symlink fails (ELOOP) and is rebuilt over; O_NONBLOCK: a FIFO cannot hang us */
  c->fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (c->fd < 0) return false;
  struct stat st;
  bool ok = !fstat(c->fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
            !(st.st_mode & 022) && (c->data = read_fd(c->fd, &c->n));
  if (ok) {
    char sum[4300], want[80], have[81] = "";
    snprintf(sum, sizeof sum, "%.4200s.sum", path);
    int fd = open(sum, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    ssize_t r = fd >= 0 ? read(fd, have, sizeof have - 1) : -1;
    if (fd >= 0) close(fd);
    sum_line(want, sizeof want, c->data, c->n);
    if (r < 0) ok = false; /* no checksum (a cache from before checksums, or a build cut short) */
    else if (strcmp(have, want)) {
      fprintf(stderr, "ttc: note: %s does not match its checksum; building it again\n", path);
      ok = false;
    }
  }
  if (!ok) cached_close(c);
  return ok;
}

/* Puts a file the C compiler has just written (tmp) in place as path, its checksum last: a
 * file without its checksum, or with another's, is rebuilt, never trusted. Returns it open. */
static void cached_commit(const char *tmp, const char *path, mode_t mode, Cached *c) {
  c->fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (c->fd < 0) die("cannot read %s: %s", tmp, strerror(errno));
  /* the compiler made it with the umask's mode: group-writable would be refused next time */
  if (fchmod(c->fd, mode) || !(c->data = read_fd(c->fd, &c->n)))
    die("cannot read %s: %s", tmp, strerror(errno));
  char sum[4300], sumtmp[4400], line[80];
  snprintf(sum, sizeof sum, "%.4200s.sum", path);
  snprintf(sumtmp, sizeof sumtmp, "%s.tmp%ld", sum, (long)getpid());
  sum_line(line, sizeof line, c->data, c->n);
  int fd = open(sumtmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  int err = fd < 0 ? errno : write_all(fd, line, strlen(line));
  if (fd >= 0 && close(fd) && !err) err = errno;
  if (!err && unlink(sum) && errno != ENOENT) err = errno;
  if (!err && rename(tmp, path)) err = errno;
  if (!err && rename(sumtmp, sum)) err = errno;
  if (err) {
    unlink(tmp);
    unlink(sumtmp);
    die_io(sum, false, err);
  }
}

/* ---- building --------------------------------------------------------------------- */

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
  *a = (Argv){0};
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

/* Compiles the runtime once per (compiler, flags, runtime sources); returns that key, and
 * the object paths through objs. compile false: the key only (a cached program needs no
 * runtime objects; a new one compiles them in build_binary, beside its own C). */
static uint64_t runtime_objects(const Opts *o, Argv *objs, bool compile) {
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
  if (!compile) return h; /* the key only (build_text) */
  private_dir(dir);
  /* the missing objects compile as jobs, as many at once as there are CPUs (at most 8) */
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  int slots = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu;
  struct {
    pid_t pid;
    char obj[1400], src[1400], tmp[1500];
  } job[64];
  int nj = 0, next = 0, running = 0;
  for (int i = 0; i < n; i++) {
    size_t l = strlen(names[i]);
    if (strcmp(names[i] + l - 2, ".c")) continue;
    char obj[1400];
    snprintf(obj, sizeof obj, "%s/%.*s.o", dir, (int)(l - 2), names[i]);
    av_push(objs, obj);
    Cached c;
    if (cached_open(obj, &c)) {
      cached_close(&c);
      continue;
    }
    snprintf(job[nj].obj, sizeof job[nj].obj, "%s", obj);
    snprintf(job[nj].src, sizeof job[nj].src, "%s/%s", TTC_RUNTIME_DIR, names[i]);
    snprintf(job[nj].tmp, sizeof job[nj].tmp, "%s.tmp%d", obj, (int)getpid());
    nj++;
  }
  for (int done = 0; done < nj;) {
    while (next < nj && running < slots) {
      Argv a = {0};
      av_push(&a, o->cc);
      av_push(&a, "-std=c11");
      av_push(&a, "-D_POSIX_C_SOURCE=200809L");
      av_words(&a, o->cflags);
      av_words(&a, TTC_EXTRA_CFLAGS);
      av_push(&a, "-c");
      av_push(&a, job[next].src);
      av_push(&a, "-o");
      av_push(&a, job[next].tmp);
      job[next++].pid = cc_start(a.v);
      av_free(&a);
      running++;
    }
    /* in order: the first failure reported is the first file's */
    int io_err;
    int st = cc_wait(job[done].pid, &io_err);
    running--;
    if (st) {
      for (int k = done + 1; k < next; k++) wait_for(job[k].pid);
      for (int k = done; k < next; k++) unlink(job[k].tmp);
      cc_io_failure(job[done].obj, dir, io_err);
      die("could not compile the runtime (%s) with %s", job[done].src, o->cc);
    }
    Cached c;
    cached_commit(job[done].tmp, job[done].obj, 0644, &c);
    cached_close(&c);
    done++;
  }
  return h;
}

/* MPI's compiler flags (what == "cflags") or linker flags ("libs") for a program that uses
 * torch.distributed: pkg-config's ompi, else mpicc's own; a missing MPI is an error here, at
 * build time, not a failure of the C compiler. Other programs never ask, and keep no MPI. */
static void mpi_flags(Argv *a, const char *what) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "pkg-config --%s ompi 2>/dev/null", what);
  for (int k = 0; k < 2; k++) {
    if (k) snprintf(cmd, sizeof cmd, "mpicc --showme:%s 2>/dev/null", strcmp(what, "libs") ? "compile" : "link");
    FILE *f = popen(cmd, "r");
    char buf[2048];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    int st = f ? pclose(f) : -1;
    if (st != 0 || n == sizeof buf - 1) continue;
    buf[n] = 0;
    for (char *q = buf; *q; q++)
      if (*q == '\n') *q = ' ';
    av_words(a, buf);
    return;
  }
  die("this program uses torch.distributed, which needs MPI, and neither `pkg-config ompi` nor "
      "`mpicc` found one: install Open MPI (apt-get install libopenmpi-dev openmpi-bin)");
}

/* Links the C at cpath with the runtime into bin, in the entry directory dir, and returns
 * it checked and open; mpi: with runtime/mpi/ and MPI's library. */
static void build_binary(const Opts *o, const char *cpath, const char *dir, const char *bin,
                         bool mpi, Cached *c) {
  /* the program's C compiles (-c) while the runtime's missing objects do, then one link */
  char tmp[4400], otmp[4400];
  snprintf(tmp, sizeof tmp, "%.4300s.tmp%d", bin, (int)getpid());
  snprintf(otmp, sizeof otmp, "%.4300s.tmp%d.o", bin, (int)getpid());
  Argv a = {0};
  av_push(&a, o->cc);
  av_push(&a, "-std=c11");
  av_words(&a, o->cflags);
  av_words(&a, TTC_EXTRA_CFLAGS);
  av_push(&a, "-Wall");
  av_push(&a, "-Wextra");
  av_push(&a, "-I" TTC_RUNTIME_DIR);
  char incbin[4200];
  snprintf(incbin, sizeof incbin, "-Wa,-I%s", dir); /* the data file's .incbin */
  av_push(&a, incbin);
  if (mpi) mpi_flags(&a, "cflags");
  av_push(&a, "-c");
  av_push(&a, cpath);
  av_push(&a, "-o");
  av_push(&a, otmp);
  pid_t model = cc_start(a.v);
  av_free(&a);
  Argv objs = {0};
  runtime_objects(o, &objs, true);
  int io_err;
  int st = cc_wait(model, &io_err);
  if (!st) {
    av_push(&a, o->cc);
    av_push(&a, "-std=c11");
    av_words(&a, o->cflags);
    av_words(&a, TTC_EXTRA_CFLAGS);
    if (mpi) { /* dist.c compiles here */
      av_push(&a, "-Wall");
      av_push(&a, "-Wextra");
      av_push(&a, "-I" TTC_RUNTIME_DIR);
      mpi_flags(&a, "cflags");
    }
    av_push(&a, otmp);
    if (mpi) av_push(&a, TTC_RUNTIME_DIR "/mpi/dist.c");
    for (int i = 0; i < objs.n; i++) av_push(&a, objs.v[i]);
    av_push(&a, "-o");
    av_push(&a, tmp);
    av_push(&a, "-lz");
    av_push(&a, "-lcjson"); /* runtime/safetensors.c */
    av_push(&a, "-lm");
    if (mpi) mpi_flags(&a, "libs");
    st = run_cc(a.v, &io_err);
    av_free(&a);
  }
  unlink(otmp);
  av_free(&objs);
  if (st) {
    unlink(tmp);
    cc_io_failure(bin, dir, io_err);
    die("internal error: the C emitted for %s did not compile with %s (please report it)", o->file, o->cc);
  }
  cached_commit(tmp, bin, 0755, c);
}

/* ---- commands -------------------------------------------------------------------- */

/* The pipeline: --passes, or the level's; less the disabled passes. */
const char *pipeline_of(const Opts *o) {
  const char *base = o->passes ? o->passes : pass_pipeline_for_level(o->level);
  if (!o->disabled[0]) return base;
  static char buf[1024];
  IrErr err;
  if (!pass_pipeline_without(base, o->disabled, buf, sizeof buf, &err)) die("%s", err.msg);
  return buf;
}

static int cmd_compile(const Opts *o, const Source *src) {
  Program *p = compile_program(o, src, pipeline_of(o));
  if (!p) return 1;
  size_t n;
  /* C into a file: large constants go to a data file beside it (out.c -> out.data), which
   * the C includes by name; to standard output, everything is in the C. */
  bool tofile = o->out && strcmp(o->out, "-") && !strcmp(o->emit, "c");
  char dpath[4200], dname[4200];
  DataOut d = {0};
  if (tofile) {
    snprintf(dpath, sizeof dpath, "%.4000s", o->out);
    size_t l = strlen(dpath);
    if (l > 2 && !strcmp(dpath + l - 2, ".c")) dpath[l - 2] = 0;
    strcat(dpath, ".data");
    const char *base = strrchr(dpath, '/');
    snprintf(dname, sizeof dname, "%s", base ? base + 1 : dpath);
    d.name = dname;
  }
  char *text = emit_to_string(o, p, o->emit, &n, tofile ? &d : NULL, NULL);
  ir_program_free(p);
  if (!text) {
    free(d.buf);
    return 1;
  }
  if (!o->out || !strcmp(o->out, "-")) {
    if (fwrite(text, 1, n, stdout) != n || fflush(stdout)) die_io("standard output", false, errno);
  } else {
    if (d.n) write_output(dpath, d.buf, d.n, umasked(0666)); /* first: the C names it */
    write_output(o->out, text, n, umasked(0666));
  }
  free(d.buf);
  free(text);
  return 0;
}

/* Builds the program into the cache, or reuses what is there if it matches its checksum;
 * returns the binary checked and open (false after a diagnostic). */
static bool build_cached(const Opts *o, const Source *src, Cached *c, char bin[4200]) {
  Program *p = compile_program(o, src, pipeline_of(o));
  if (!p) return false;
  size_t n;
  DataOut d = {.name = "model.data"};
  char *text = emit_to_string(o, p, "c", &n, &d, NULL);
  bool mpi = p->mpi;
  ir_program_free(p);
  if (!text) {
    free(d.buf);
    return false;
  }
  build_text(o, text, n, &d, mpi, c, bin);
  free(d.buf);
  free(text);
  return true;
}

/* Builds C text (with its data d, named "model.data") into the cache, or reuses what is
 * there if it matches its checksum; returns the binary checked and open in c, its path in
 * bin. */
void build_text(const Opts *o, const char *text, size_t n, const DataOut *d, bool mpi, Cached *c,
                char bin[4200]) {
  Argv objs = {0};
  uint64_t h = runtime_objects(o, &objs, false);
  av_free(&objs);
  h = fnv(h, text, n);
  if (mpi) { /* linked from source: its text is part of the key */
    size_t len;
    char *dist = read_file(TTC_RUNTIME_DIR "/mpi/dist.c", &len);
    if (!dist) die("cannot read %s", TTC_RUNTIME_DIR "/mpi/dist.c");
    h = fnv(h, dist, len);
    free(dist);
  }
  char dir[4096], cpath[4200];
  snprintf(dir, sizeof dir, "%s/%016llx", cache_dir(), (unsigned long long)h);
  private_dir(dir);
  snprintf(cpath, sizeof cpath, "%s/model.c", dir);
  snprintf(bin, 4200, "%.4190s/model", dir);
  if (!cached_open(bin, c)) {
    /* the data's hash is in the C (main() checks it), so the key covers it too */
    if (d->n) {
      char dpath[4200];
      snprintf(dpath, sizeof dpath, "%.4100s/model.data", dir);
      write_atomic(dpath, d->buf, d->n, 0644);
    }
    write_atomic(cpath, text, n, 0644);
    build_binary(o, cpath, dir, bin, mpi, c);
  }
}

static int cmd_build(const Opts *o, const Source *src) {
  Cached c;
  char bin[4200];
  if (!build_cached(o, src, &c, bin)) return 1;
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
  /* the bytes checked against the checksum, not the file read again */
  write_output(out, c.data, c.n, 0755);
  cached_close(&c);
  return 0;
}

static int cmd_run(const Opts *o, const Source *src) {
  Cached c;
  char bin[4200];
  if (!build_cached(o, src, &c, bin)) return 1;
  /* the file goes to the program in its environment, not in its C: one cached binary
   * serves every file name */
  if (o->metrics && *o->metrics && setenv("TTC_METRICS", o->metrics, 1)) die("cannot set TTC_METRICS");
  char prof[4200];
  if (o->profile) profile_begin(prof);
  Argv a = {0};
  av_push(&a, bin);
  for (int i = 0; i < o->nargs; i++) av_push(&a, o->args[i]);
  int st = wait_for(spawn(a.v, c.fd, -1, -1));
  av_free(&a);
  cached_close(&c);
  if (o->profile) profile_report(o, prof);
  return st;
}

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
  /* --pass=X: what X changed. Where X is in the pipeline, before is the IR just before X
   * ran and after the IR just after it (the passes after X would blur the picture: DCE
   * drops what autodiff left dead). Where it is not, before is the whole pipeline and
   * after the same with X added at its place in the registry's order. */
  const char *base = pipeline_of(o);
  char before[1024] = "", after[1024] = "";
  if (!o->pass) {
    pipeline_prefix(base, o->from, before, sizeof before);
    pipeline_prefix(base, o->to, after, sizeof after);
  } else {
    char wrapped[1100], pat[80];
    snprintf(wrapped, sizeof wrapped, ",%s,", base);
    snprintf(pat, sizeof pat, ",%s,", o->pass);
    if (strstr(wrapped, pat)) {
      pipeline_prefix(base, o->pass, after, sizeof after);
      size_t k = strlen(after) - strlen(o->pass);
      snprintf(before, sizeof before, "%.*s", (int)(k ? k - 1 : 0), after);
    } else {
      snprintf(before, sizeof before, "%s", base);
      for (int i = 0; i < pass_count; i++) {
        const char *nm = pass_registry[i].name;
        snprintf(pat, sizeof pat, ",%s,", nm);
        if (!strstr(wrapped, pat) && strcmp(nm, o->pass)) continue;
        size_t len = strlen(after);
        snprintf(after + len, sizeof after - len, "%s%s", len ? "," : "", nm);
      }
    }
  }
  Program *p1 = compile_program(o, src, before);
  if (!p1) return 1;
  size_t n1, n2;
  char *t1 = emit_to_string(o, p1, what, &n1, NULL, NULL);
  ir_program_free(p1);
  Program *p2 = compile_program(o, src, after);
  if (!p2 || !t1) return 1;
  char *t2 = emit_to_string(o, p2, what, &n2, NULL, NULL);
  ir_program_free(p2);
  if (!t2) return 1;
  char dir[4096], f1[4200], f2[4200], l1[300], l2[300];
  snprintf(dir, sizeof dir, "%s/diff-%d", cache_dir(), (int)getpid());
  private_dir(dir);
  const char *base_name = strrchr(o->file, '/') ? strrchr(o->file, '/') + 1 : o->file;
  snprintf(f1, sizeof f1, "%s/before", dir);
  snprintf(f2, sizeof f2, "%s/after", dir);
  write_atomic(f1, t1, n1, 0644);
  write_atomic(f2, t2, n2, 0644);
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
  /* past `ulimit -f` a write fails with EFBIG, said as such, rather than killing ttc */
  signal(SIGXFSZ, SIG_IGN);
  Opts o = parse_args(argc, argv);
  if (o.passes) {
    IrErr err;
    if (!pass_check_list(o.passes, &err)) die("%s", err.msg);
  }
  if (!strcmp(o.cmd, "roofline")) return cmd_roofline(&o);
  if (!strcmp(o.cmd, "bench")) return cmd_bench(&o);
  if (!strcmp(o.cmd, "plot")) return cmd_plot(&o);
  if (!strcmp(o.cmd, "olympics")) return cmd_olympics(&o);
  CgMetrics cgm = {0};
  if (o.metrics) {
    /* ttc run passes the file in the environment; build and compile write it in the C */
    cgm.path = *o.metrics && strcmp(o.cmd, "run") ? o.metrics : NULL;
    o.cgm = &cgm;
  }
  Source *src = source_read(o.file);
  if (!src) return 1;
  int st;
  if (!strcmp(o.cmd, "compile")) st = cmd_compile(&o, src);
  else if (!strcmp(o.cmd, "build")) st = cmd_build(&o, src);
  else if (!strcmp(o.cmd, "run")) st = cmd_run(&o, src);
  else if (!strcmp(o.cmd, "profile")) st = cmd_profile(&o, src);
  else st = cmd_diff(&o, src);
  source_free(src);
  if (o.cgm) metrics_free(o.cgm);
  return st;
}
