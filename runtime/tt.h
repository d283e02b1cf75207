/*
 * tt.h — the runtime that programs emitted by ttc link against.
 *
 * Small and boring on purpose: printing in PyTorch's format, PyTorch's random number
 * stream, matrix multiplication (a naive reference and a tiled version), aligned
 * allocation and fatal errors. Kernels do not allocate.
 *
 * Sections: rt.c (init, errors, allocation), print.c (PyTorch tensor format and
 * Python float repr), rng.c (mt19937 as PyTorch's CPU generator), gemm.c (matmul).
 */
#ifndef TT_RUNTIME_H
#define TT_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TT_ALIGN _Alignas(64)
/* A function the C compiler must keep apart (the parts of a large graph, codegen/emit.c). */
#define TT_NOINLINE __attribute__((noinline))
/* A buffer a program may never touch: a .grad when no backward() runs (no autodiff pass). */
#define TT_MAYBE_UNUSED __attribute__((unused))
/*
 * An elementwise loop (or a row-wise one: softmax) over a large tensor, marked by codegen
 * to run on every core: each element is computed by one thread with the arithmetic it has
 * on one, so the results do not depend on the thread count. It takes effect when the C is
 * compiled with -fopenmp (ttc's default flags with gcc: driver/main.c), and is nothing
 * otherwise. TT_THREADS=1 keeps such loops on one thread, as it does the runtime's kernels.
 */
#ifdef _OPENMP
#define TT_PARALLEL_FOR _Pragma("omp parallel for schedule(static)")
#else
#define TT_PARALLEL_FOR
#endif

/* ---- rt.c ----------------------------------------------------------------------- */

/* Element types, same order as the compiler's DType. */
typedef enum { TT_F32, TT_F64, TT_I64, TT_I32, TT_I8, TT_BOOL } TtDType;

/* Called first by every generated main: keeps argv for the program, seeds the RNG with
 * PyTorch's default seed (67280421310721). */
void tt_init(int argc, char **argv);
/* The program's data file as the assembler included it ([begin, end)) is size bytes with
 * FNV-1a hash hash, or the program stops naming name: a C file compiled against another
 * program's data file. */
void tt_data_check(const unsigned char *begin, const unsigned char *end, uint64_t size,
                   uint64_t hash, const char *name);
/* Prints "error: ..." to stderr and exits with status 1. */
_Noreturn void tt_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For tests and fuzzers only (generated programs never call it): while hook is set,
 * tt_fatal passes it the message (without "error: ") instead, and the hook must not
 * return (it longjmps out). The data and checkpoint readers free what they hold before
 * they call tt_fatal, so a jump leaks nothing. NULL restores the default. */
void tt_set_fatal_hook(void (*hook)(const char *msg));
/* Opens path for reading, refusing anything but a regular file without blocking on it
 * (a FIFO, a device). Returns the descriptor (close-on-exec), or -1 with *why saying what
 * is wrong ("No such file or directory", "Is a FIFO, not a regular file"). */
int tt_open_regular(const char *path, const char **why);
/* 64-byte aligned, zeroed; fatal on out of memory. Freed with tt_free. */
void *tt_alloc(size_t bytes);
void tt_free(void *p);

/* ---- print.c --------------------------------------------------------------------- */

typedef struct TtPrintOpts {
  const char *gradfn; /* ", grad_fn=<AddBackward0>" when non-NULL */
  bool requires_grad; /* ", requires_grad=True" (leaves only, no grad_fn) */
  bool param;         /* "Parameter containing:\n" first */
} TtPrintOpts;

/*
 * Writes the tensor exactly as print(t) does in PyTorch (torch._tensor_str, default
 * print options: precision 4, threshold 1000, edgeitems 3, linewidth 80), without a
 * trailing newline. shape has rank entries (rank 0 is a scalar).
 */
void tt_print_tensor(FILE *f, TtDType dt, const void *data, int rank, const int64_t *shape,
                     const TtPrintOpts *opts);
/* Python's repr(float): the shortest string that round-trips ("0.1", "1e-05", "inf"). */
char *tt_pyfloat_repr(double v, char *buf, size_t n);

/* ---- sort.c ------------------------------------------------------------------------- */

/* The positions (0..n-1) that sort x[0], x[st], ..., x[(n-1)*st] ascending (descending when
 * desc), written to out with the same stride: a stable merge sort; NaN sorts after every
 * number ascending and before descending, as PyTorch. scratch holds n positions. */
void tt_argsort_f32(const float *x, int64_t n, int64_t st, int64_t *out, int desc, int64_t *scratch);
void tt_argsort_f64(const double *x, int64_t n, int64_t st, int64_t *out, int desc, int64_t *scratch);
void tt_argsort_i64(const int64_t *x, int64_t n, int64_t st, int64_t *out, int desc, int64_t *scratch);
/* The index of the lower median of x[0], x[st], ..., x[(n-1)*st] (the first NaN if any; of
 * equal values the one a stable sort puts in the middle), as torch.median(x, dim). scratch
 * holds n positions. */
int64_t tt_median_index_f32(const float *x, int64_t n, int64_t st, int64_t *scratch);
int64_t tt_median_index_f64(const double *x, int64_t n, int64_t st, int64_t *scratch);
int64_t tt_median_index_i64(const int64_t *x, int64_t n, int64_t st, int64_t *scratch);
/* torch.topk's choice of k of x[0], x[st], ... (largest, or smallest), as ATen 1.13 makes it
 * with libstdc++'s partial_sort / nth_element, ties included: out[0..k) the chosen positions,
 * out[k..n) the rest (stride st). scratch holds n positions. */
void tt_topk_order_f32(const float *x, int64_t n, int64_t st, int64_t *out, int largest, int64_t k, int64_t *scratch);
void tt_topk_order_f64(const double *x, int64_t n, int64_t st, int64_t *out, int largest, int64_t k, int64_t *scratch);

/* ---- rng.c ------------------------------------------------------------------------- */

/* PyTorch's CPU generator: mt19937 seeded as torch.manual_seed(seed) seeds it. */
void tt_manual_seed(uint64_t seed);
/* torch.rand / Tensor.uniform_(lo, hi) on a contiguous tensor of n elements: the same
 * numbers PyTorch draws for the same seed and call sequence. */
void tt_uniform_f32(float *out, int64_t n, double lo, double hi);
void tt_uniform_f64(double *out, int64_t n, double lo, double hi);
/* torch.randn / Tensor.normal_(mean, std), the same numbers as PyTorch. */
void tt_normal_f32(float *out, int64_t n, double mean, double std);
void tt_normal_f64(double *out, int64_t n, double mean, double std);

/* ---- gemm.c ------------------------------------------------------------------------ */

/*
 * C[M,N] (+)= op(A)[M,K] @ op(B)[K,N], row-major with leading dimensions lda, ldb, ldc.
 * op(A) = A, or A^T when transA (A is then stored [K,M]); likewise B. accumulate: add to
 * C instead of overwriting it. The tiled version is the one generated code calls; the
 * naive one is its reference, kept next to it and tested against it.
 */
void tt_gemm_f32(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                 const float *B, int64_t ldb, bool transB, float *C, int64_t ldc, bool accumulate);
void tt_gemm_f32_naive(int64_t M, int64_t N, int64_t K, const float *A, int64_t lda, bool transA,
                       const float *B, int64_t ldb, bool transB, float *C, int64_t ldc,
                       bool accumulate);
/* Threads for the runtime's big kernels: 1 keeps them on the calling thread, 2 (the
 * default on two or more CPUs, unless TT_THREADS=1) shares them with one worker: GEMMs
 * split their columns, convolutions (forward, input gradient) their batch, 2x2 max
 * pooling its planes. The results are bit for bit the same either way. TT_THREADS=1 in
 * the environment wins over this call. */
void tt_gemm_threads(int n);
/* Runs fn(arg, 0) on the calling thread and fn(arg, 1) on the worker, and returns when
 * both are done; without a worker (or from inside a part) both run here, in order. */
void tt_parallel2(void (*fn)(void *arg, int part), void *arg);
/* Whether tt_parallel2 would use the worker now. */
bool tt_parallel2_available(void);
void tt_gemm_f64(int64_t M, int64_t N, int64_t K, const double *A, int64_t lda, bool transA,
                 const double *B, int64_t ldb, bool transB, double *C, int64_t ldc,
                 bool accumulate);

/* ---- host values (print.c) ---------------------------------------------------------- */

/* print() of a host scalar: Python's str() when spec is NULL or "", else Python's
 * format(v, spec) for the format mini-language ([[fill]align][sign][#][0][width][,]
 * [.precision][type], types d f F e E g G % and none). isint: v holds an int. */
void tt_print_host(FILE *f, double v, bool isint, bool isbool, const char *spec);
/* Python's // and % on ints and floats (floor semantics; division by zero is fatal with
 * a message naming the source line in where). */
int64_t tt_floordiv_i64(int64_t a, int64_t b, const char *where);
int64_t tt_mod_i64(int64_t a, int64_t b, const char *where);
double tt_floordiv_f64(double a, double b, const char *where);
double tt_mod_f64(double a, double b, const char *where);
/* Python's round(x, n) of a float: x rounded to n decimal digits exactly (the decimal
 * value of x, ties to even), then the nearest double. */
double tt_round_digits(double x, int64_t n);

/* ---- powi.c ------------------------------------------------------------------------ */

/* a ** b of integers as ATen's powi: wrapping in the type (the caller converts the result
 * to it); for b < 0, 1 if a is 1, +-1 if a is -1, else 0. */
int64_t tt_pow_i64(int64_t a, int64_t b);

/* ---- linalg.c ---------------------------------------------------------------------- */

/* torch.linalg on contiguous row-major matrices, batch of them back to back, factored in
 * double; where: the source position for the singular-matrix errors (PyTorch's). */
void tt_linalg_inv_f32(float *out, const float *a, int64_t batch, int64_t n, const char *where);
void tt_linalg_inv_f64(double *out, const double *a, int64_t batch, int64_t n, const char *where);
void tt_linalg_solve_f32(float *out, const float *a, const float *b, int64_t batch, int64_t n,
                         int64_t k, const char *where);
void tt_linalg_solve_f64(double *out, const double *a, const double *b, int64_t batch, int64_t n,
                         int64_t k, const char *where);
void tt_linalg_det_f32(float *out, const float *a, int64_t batch, int64_t n);
void tt_linalg_det_f64(double *out, const double *a, int64_t batch, int64_t n);
/* the least-squares solution out[n][k] of a[m][n] x = b[m][k], m >= n, full column rank */
void tt_linalg_lstsq_f32(float *out, const float *a, const float *b, int64_t m, int64_t n, int64_t k,
                         const char *where);
void tt_linalg_lstsq_f64(double *out, const double *a, const double *b, int64_t m, int64_t n, int64_t k,
                         const char *where);

/* ---- rng.c: torch.Generator objects --------------------------------------------------- */

/* Generators 1 .. TT_MAX_GENERATORS-1 are the program's torch.Generator() objects, each its
 * own mt19937 stream; 0 is the default generator (tt_manual_seed's). */
#define TT_MAX_GENERATORS 64
/* g.manual_seed(seed) */
void tt_generator_seed(int g, uint64_t seed);
/* The draws that follow (rand, randn, randint, randperm, normal_, ...) come from generator g
 * until the next call; generated code returns to 0 after each draw with generator=. */
void tt_generator_use(int g);

/* ---- rng.c ------------------------------------------------------------------------- */

/* The next 64 random bits of the program's generator (PyTorch's random64 of mt19937):
 * what a DataLoader draws to seed its epoch's shuffle, as PyTorch's RandomSampler does. */
uint64_t tt_rng_random64(void);
/* torch.randint(low, high, (n,)) for int64 (high > low), the same numbers as PyTorch. */
void tt_randint_i64(int64_t *out, int64_t n, int64_t lo, int64_t hi);
/* torch.randperm(n, generator=torch.Generator().manual_seed(seed)) into perm[n], from a
 * private generator: the program's stream is not touched. */
void tt_randperm(int64_t *perm, int64_t n, uint64_t seed);
/* torch.randperm(n): the same shuffle drawn from the program's generator. */
void tt_randperm_i64(int64_t *perm, int64_t n);

/* ---- data.c: datasets and loaders --------------------------------------------------- */

/*
 * A loader yields batches of (x, y) rows in order or shuffled; the last batch may be
 * smaller unless drop_last. Files are checked when the loader is opened: a missing,
 * truncated or malformed file stops the program with a message naming the file. Images
 * are float32 in [0, 1] (torchvision's ToTensor), labels int64. Memory stays bounded: the
 * label index is read whole, images are read a batch at a time.
 */
typedef struct TtLoader TtLoader;
/* MNIST / Fashion-MNIST: ROOT/PREFIX-images-idx3-ubyte[.gz] and ROOT/PREFIX-labels-idx1-ubyte[.gz],
 * PREFIX "train" or "t10k"; x rows are [1, 28, 28]. */
TtLoader *tt_loader_idx(const char *root, const char *prefix, int64_t batch, bool shuffle,
                        bool drop_last);
/* CIFAR-10 binary version: ROOT/data_batch_1.bin .. data_batch_5.bin (train) or
 * ROOT/test_batch.bin; x rows are [3, 32, 32]. */
TtLoader *tt_loader_cifar10(const char *root, bool train, int64_t batch, bool shuffle,
                            bool drop_last);
/* TensorDataset: n rows of xrow bytes in x, and of yrow bytes in y (y may be NULL). The
 * arrays must outlive the loader. */
TtLoader *tt_loader_tensors(const void *x, size_t xrow, const void *y, size_t yrow, int64_t n,
                            int64_t batch, bool shuffle, bool drop_last);
int64_t tt_loader_len(const TtLoader *ld);         /* batches per epoch: len(loader) */
int64_t tt_loader_dataset_len(const TtLoader *ld); /* samples: len(loader.dataset) */
/* Starts an epoch (draws a fresh shuffle from the program's RNG when shuffling). */
void tt_loader_start(TtLoader *ld);
int64_t tt_loader_epoch(const TtLoader *ld); /* the pass under way, from 0 */
/* Writes the next batch's rows into x and y and its size into *n; false at the epoch's end. */
bool tt_loader_next(TtLoader *ld, void *x, void *y, int64_t *n);
void tt_loader_free(TtLoader *ld);
/* DataLoader(sampler=DistributedSampler(...)): from the next epoch on, the loader yields
 * this rank's share of the dataset, in PyTorch's order; set_epoch reseeds its shuffle. */
void tt_loader_distribute(TtLoader *ld, int64_t replicas, int64_t rank, int64_t shuffle,
                          int64_t seed, int64_t drop_last);
void tt_loader_set_epoch(TtLoader *ld, int64_t epoch);

/* ---- mpi/dist.c: torch.distributed over MPI (only programs that use it link it) --------
 *
 * init_process_group(backend="mpi") starts MPI; errors on MPI_COMM_WORLD return, and a failed
 * call stops the program naming the call and the rank (a rank that died). The vars of a
 * call are (count, pointers, element counts), as ST_CALL passes them.
 */
void tt_dist_init(void);
int64_t tt_dist_rank(void);       /* get_rank(): fatal before init_process_group */
int64_t tt_dist_world(void);      /* get_world_size() */
int64_t tt_dist_initialized(void); /* is_initialized() */
void tt_dist_barrier(void);
void tt_dist_destroy(void);
/* all_reduce(t, op) in place; op 0 SUM, 1 PRODUCT, 2 MIN, 3 MAX (torch's ReduceOp order
 * differs: the front end maps it). One function per dtype. */
void tt_dist_all_reduce_f32(int64_t op, int n, void *const *bufs, const int64_t *counts);
void tt_dist_all_reduce_f64(int64_t op, int n, void *const *bufs, const int64_t *counts);
void tt_dist_all_reduce_i64(int64_t op, int n, void *const *bufs, const int64_t *counts);
/* DistributedDataParallel(model): rank 0's float32 parameters to every rank. */
void tt_dist_broadcast_f32(int n, void *const *bufs, const int64_t *counts);
/* DistributedDataParallel(broadcast_buffers=True) before a forward: rank 0's buffers to every
 * rank (the first n8 of 8-byte elements, then n4 of 4, then 1-byte), unless wrapper ddp's
 * previous forward ran without gradients, as PyTorch's. */
void tt_dist_sync_buffers(int64_t ddp, int64_t grad_enabled, int64_t n8, int64_t n4, int n,
                          void *const *bufs, const int64_t *counts);
/* DistributedDataParallel after backward: float32 gradients summed over the ranks in a few
 * buckets (one MPI_Allreduce each) and divided by the world size. */
void tt_dist_average_grads(int n, void *const *bufs, const int64_t *counts);

/* ---- ckpt.c: checkpoints ------------------------------------------------------------ */

typedef struct TtCkptEntry {
  const char *key; /* state_dict key, e.g. "fc1.weight", "opt.state.0.exp_avg" */
  TtDType dtype;
  int rank;
  const int64_t *shape;
  void *data;
} TtCkptEntry;

/*
 * Writes the entries to path atomically (a temporary file in the same directory, fsync,
 * rename), so an interrupted save never leaves a damaged file where a good one was. The
 * format: a versioned header, then per tensor its name, dtype, shape and bytes, then a
 * CRC32 of everything (docs/CHECKPOINT.md). I/O errors are fatal with the file's name.
 */
void tt_ckpt_save(const char *path, const TtCkptEntry *e, int n);
/* Reads every entry's tensor from path: a missing, truncated or corrupted file, a missing
 * key, or a dtype or shape that differs stops the program with a message naming the file
 * and the problem. Extra tensors in the file are an error too (strict, as load_state_dict). */
void tt_ckpt_load(const char *path, const TtCkptEntry *e, int n);

/* ---- safetensors.c: the safetensors format ------------------------------------------ */

/* tt_ckpt_save and tt_ckpt_load hand a path that starts with byte 1 ("\1METADATA\1PATH",
 * METADATA the __metadata__ JSON object or empty) to these: a save writes PATH in the
 * safetensors format; a load reads exactly the entries given, checked against the file's
 * header, or stops the program naming the file and what is wrong. */
void tt_st_save(const char *tagged, const TtCkptEntry *e, int n);
void tt_st_load(const char *tagged, const TtCkptEntry *e, int n);

/* ---- progress.c: tqdm ------------------------------------------------------------- */

typedef struct TtProgress TtProgress;
/* As tqdm(iterable, desc=desc, total=total): on a terminal (stderr is a TTY) a live bar
 * "desc:  45%|████▌     | 422/938 [00:01<00:01, 412.31it/s, loss=0.512]" redrawn at most
 * ~10 times a second; otherwise a plain line every 10% of total. Writes to stderr. */
TtProgress *tt_progress_new(const char *desc, int64_t total);
void tt_progress_update(TtProgress *p, int64_t n);
/* set_postfix: "loss=0.512" style text shown after the rate. */
void tt_progress_postfix(TtProgress *p, const char *text);
void tt_progress_close(TtProgress *p);
/* A scratch text buffer for a bar's description or postfix made of host values:
 * write to the FILE * tt_text_begin returns, then tt_text_end closes it and returns the
 * text (valid until the next tt_text_begin). */
FILE *tt_text_begin(void);
const char *tt_text_end(FILE *f);
/* For tests: a bar that writes to out, as a terminal when tty, reading time from now. */
TtProgress *tt_progress_new_on(const char *desc, int64_t total, FILE *out, bool tty,
                               double (*now)(void));
/* tqdm's format_interval ("01:05", "1:02:03") and rate ("412.31it/s", "2.50s/it",
 * "?it/s" for an unknown rate). */
char *tt_fmt_interval(double seconds, char *buf, size_t n);
char *tt_fmt_rate(double per_second, char *buf, size_t n);

/* ---- rt.c: timing and checks ------------------------------------------------------ */

double tt_now(void); /* monotonic seconds */
/* The NaN detective (--detect-anomaly): if any of the n values is NaN or infinite, stop
 * with "error: anomaly detected: <NaN|inf> in the output of OP (forward|backward) at
 * FILE:LINE:COL" and exit 1. */
void tt_check_finite_f32(const float *x, int64_t n, const char *op, bool backward,
                         const char *where);
void tt_check_finite_f64(const double *x, int64_t n, const char *op, bool backward,
                         const char *where);

/* ---- metrics.c: training curves (ttc run|build --metrics, docs/METRICS.md) ---------- */

/* After tt_init: writes to $TTC_METRICS, else default_path, else nowhere (NULL). */
void tt_metrics_open(const char *default_path);
void tt_metrics_loss(double loss); /* after a graph with a backward(): the loss */
/* After a graph with an optimizer step: one row (step, epoch, the mean loss since the
 * last step, lr, time). */
void tt_metrics_step(int64_t epoch, bool has_lr, double lr);
void tt_metrics_accuracy(double acc); /* where the program prints its accuracy: one row */

/* ---- stats.c: the statistics of measurement (ttc profile, ttc bench) ---------------- */

typedef struct TtSummary {
  int n;
  double mean, std; /* std: the sample's (n - 1) */
  double min, max, p50, p90, p99; /* percentiles by linear interpolation */
  double ci_lo, ci_hi;            /* the mean's 95% confidence interval (Student's t) */
} TtSummary;
void tt_stats_summary(const double *x, int n, TtSummary *s);
double tt_stats_t975(int df); /* Student's t quantile 0.975 */

typedef struct TtRatio {
  double ratio, lo, hi; /* mean(a) / mean(b) and its 95% bootstrap interval */
  bool significant;     /* the interval excludes 1 */
} TtRatio;
void tt_stats_ratio(const double *a, int na, const double *b, int nb, int resamples, uint64_t seed,
                    TtRatio *r);

/* ---- conv.c: convolution and pooling -------------------------------------------- */

/*
 * PyTorch's layouts, row-major and contiguous: x [N, C, H, W], weight [K, C, R, S], bias [K],
 * y [N, K, OH, OW] with OH = (H + 2*ph - R) / sh + 1 (floor), OW likewise; zero padding.
 * The im2col kernels take a caller-provided workspace of tt_conv2d_workspace(...) floats
 * (generated code declares one, the largest any convolution needs, and shares it); the naive
 * ones are the references and the --conv=naive kernels. Gradients overwrite their output.
 */
/* Floats of workspace one im2col convolution (or its gradients) needs: C*R*S*OH*OW. */
size_t tt_conv2d_workspace(int64_t C, int64_t H, int64_t W, int64_t R, int64_t S, int64_t sh,
                           int64_t sw, int64_t ph, int64_t pw);
/* y = conv2d(x, w, b) (b may be NULL): im2col per image, then one tiled tt_gemm_f32. */
void tt_conv2d_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                   int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                   int64_t sw, int64_t ph, int64_t pw, float *ws);
/* The direct 7-nested-loop convolution. */
void tt_conv2d_naive_f32(const float *x, const float *w, const float *b, float *y, int64_t N,
                         int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                         int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_conv2d_naive_f64(const double *x, const double *w, const double *b, double *y, int64_t N,
                         int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                         int64_t sh, int64_t sw, int64_t ph, int64_t pw);
/* dx = d conv2d / d x given dy: per image one GEMM w^T dy into the workspace, then col2im. */
void tt_conv2d_grad_input_f32(const float *dy, const float *w, float *dx, int64_t N, int64_t C,
                              int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                              int64_t sw, int64_t ph, int64_t pw, float *ws);
void tt_conv2d_grad_input_naive_f32(const float *dy, const float *w, float *dx, int64_t N,
                                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                    int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_conv2d_grad_input_naive_f64(const double *dy, const double *w, double *dx, int64_t N,
                                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                    int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
/* dw = d conv2d / d w summed over the batch: per image im2col, then GEMM dy cols^T added. */
void tt_conv2d_grad_weight_f32(const float *x, const float *dy, float *dw, int64_t N, int64_t C,
                               int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                               int64_t sw, int64_t ph, int64_t pw, float *ws);
void tt_conv2d_grad_weight_naive_f32(const float *x, const float *dy, float *dw, int64_t N,
                                     int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                     int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_conv2d_grad_weight_naive_f64(const double *x, const double *dy, double *dw, int64_t N,
                                     int64_t C, int64_t H, int64_t W, int64_t K, int64_t R,
                                     int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
/* One image: cols is [C*R*S, OH*OW]. col2im is im2col's adjoint and ADDS into x (the caller
 * zeroes it). */
void tt_im2col_f32(const float *x, float *cols, int64_t C, int64_t H, int64_t W, int64_t R,
                   int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_col2im_f32(const float *cols, float *x, int64_t C, int64_t H, int64_t W, int64_t R,
                   int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
/*
 * Pooling over [N, C, H, W] into [N, C, OH, OW], OH = (H + 2*ph - kh) / sh + 1 (floor,
 * ceil_mode=False). Max pooling as PyTorch: padding is -inf, NaN propagates, the gradient goes
 * to the first maximum of each window (recomputed from x) and accumulates where windows
 * overlap. Average pooling counts the padding (count_include_pad=True): divides by kh*kw.
 * The gradients overwrite dx.
 */
void tt_maxpool2d_f32(const float *x, float *y, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_maxpool2d_grad_f32(const float *x, const float *dy, float *dx, int64_t N, int64_t C,
                           int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                           int64_t ph, int64_t pw);
void tt_maxpool2d_f64(const double *x, double *y, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_maxpool2d_grad_f64(const double *x, const double *dy, double *dx, int64_t N, int64_t C,
                           int64_t H, int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw,
                           int64_t ph, int64_t pw);
void tt_avgpool2d_f32(const float *x, float *y, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_avgpool2d_grad_f32(const float *dy, float *dx, int64_t N, int64_t C, int64_t H,
                           int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                           int64_t pw);
void tt_avgpool2d_f64(const double *x, double *y, int64_t N, int64_t C, int64_t H, int64_t W,
                      int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_avgpool2d_grad_f64(const double *dy, double *dx, int64_t N, int64_t C, int64_t H,
                           int64_t W, int64_t kh, int64_t kw, int64_t sh, int64_t sw, int64_t ph,
                           int64_t pw);

/* ---- attn.c: attention over a KV cache (passes/kvcache.c) ------------------------------ */

/*
 * For each of nb leading slices: writes the m new rows of k [m, D] and v [m, Dv] (rows mb
 * apart, mb the extent's bound) into the caches at rows c..c+m-1 (kt transposed, [D, cap];
 * vc [cap, Dv]), then y row i = softmax(q_i . K[0..c+i] scaled) @ V[0..c+i]: causal
 * attention at position c+i. mode: 0 no scale, 1 times scale, 2 divided by it. s: cap
 * floats of scratch. Stops naming where when the positions do not fit the cache.
 */
void tt_kv_attention_f32(int64_t nb, int64_t m, int64_t mb, int64_t c, int64_t cap, int64_t D,
                         int64_t Dv, const float *q, const float *k, const float *v, float *kt,
                         float *vc, float *y, float scale, int mode, float *s, const char *where);

/* ---- qgemm.c: int8 matmul and convolution (quantized programs) ----------------------- */

/*
 * C[M,N] (+)= (A[M,K] - za) @ op(B)[K,N], exact, in int32: A holds row-major activation codes
 * (uint8 with za in [0, 255], or int8 with za in [-128, 127]), B int8 weight codes (no zero
 * point), op(B) = B, or B^T when transB (B stored [N,K], as a Linear's weight). K is at most
 * 65536 (the result then fits int32). AVX-512 VNNI's vpdpbusd when the compiler targets it,
 * plain C otherwise; the naive twins are the references, and every path gives the same bits.
 */
void tt_gemm_u8s8(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda, int32_t za,
                  const int8_t *B, int64_t ldb, bool transB, int32_t *C, int64_t ldc,
                  bool accumulate);
void tt_gemm_s8s8(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda, int32_t za,
                  const int8_t *B, int64_t ldb, bool transB, int32_t *C, int64_t ldc,
                  bool accumulate);
void tt_gemm_u8s8_naive(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda,
                        int32_t za, const int8_t *B, int64_t ldb, bool transB, int32_t *C,
                        int64_t ldc, bool accumulate);
void tt_gemm_s8s8_naive(int64_t M, int64_t N, int64_t K, const int8_t *A, int64_t lda,
                        int32_t za, const int8_t *B, int64_t ldb, bool transB, int32_t *C,
                        int64_t ldc, bool accumulate);
/* B packed once for many products (a Linear's weight W [N,K]: B = W^T, transB): the panels
 * tt_gemm_u8s8 would pack on every call, and their column sums. tt_qpack_b_size(N, K) bytes,
 * 64-byte aligned (tt_alloc). */
size_t tt_qpack_b_size(int64_t N, int64_t K);
void tt_qpack_b(int64_t N, int64_t K, const int8_t *B, int64_t ldb, bool transB, void *packed);
void tt_gemm_u8s8_packed(int64_t M, int64_t N, int64_t K, const uint8_t *A, int64_t lda,
                         int32_t za, const void *Bp, int32_t *C, int64_t ldc, bool accumulate);
/* y[N,K,OH,OW] = conv2d(x - xz, w) in int32 (no bias: the caller's float epilogue adds it),
 * x uint8 codes [N,C,H,W] with zero point xz, w int8 codes [K,C,R,S]; padding is xz (the
 * code of 0.0). Per image: im2row (one row of C*R*S codes per output pixel) and one
 * tt_gemm_u8s8, in a workspace of tt_conv2d_q8_workspace(...) bytes (64-byte aligned). */
size_t tt_conv2d_q8_workspace(int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                              int64_t sh, int64_t sw, int64_t ph, int64_t pw);
void tt_conv2d_u8s8(const uint8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                    int64_t sw, int64_t ph, int64_t pw, void *ws);
void tt_conv2d_u8s8_naive(const uint8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw);
/* q = clamp(zp + nearbyint(x * inv_scale)) as torch.quantize_per_tensor computes it (a NaN
 * or an infinity gives the lowest code, as there), to uint8 [0, 255] or int8 [-128, 127]. */
void tt_quantize_f32_u8(const float *x, uint8_t *q, int64_t n, float inv_scale, int32_t zp);
void tt_quantize_f32_s8(const float *x, int8_t *q, int64_t n, float inv_scale, int32_t zp);
/* y[M,N] = acc * (sx * sw[j]) + bias[j] (bias may be NULL), then ReLU when relu: the float
 * edge of an int8 Linear with per-output-channel weight scales sw. */
void tt_qlinear_epilogue(const int32_t *acc, float *y, int64_t M, int64_t N, float sx,
                         const float *sw, const float *bias, bool relu);
/* The same with int8 activation codes (zero point xz in [-128, 127]). */
void tt_conv2d_s8s8(const int8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                    int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S, int64_t sh,
                    int64_t sw, int64_t ph, int64_t pw, void *ws);
void tt_conv2d_s8s8_naive(const int8_t *x, int32_t xz, const int8_t *w, int32_t *y, int64_t N,
                          int64_t C, int64_t H, int64_t W, int64_t K, int64_t R, int64_t S,
                          int64_t sh, int64_t sw, int64_t ph, int64_t pw);
/* One image: rows is [OH*OW, C*R*S], padding filled with xz. */
void tt_im2row_u8(const uint8_t *x, uint8_t *rows, int32_t xz, int64_t C, int64_t H, int64_t W,
                  int64_t R, int64_t S, int64_t sh, int64_t sw, int64_t ph, int64_t pw);

/* ---- sparse.c: x @ W^T for a weight that is mostly zeros (passes/prune.c) ------------ */

/* SELL-16: 16 rows per slice side by side, each row's nonzeros in k order, cut at the
 * GEMM's KC blocks so that the sums are tt_gemm_f32's bits (runtime/sparse.c). */
#define TT_SPARSE_LANES 16
#define TT_SPARSE_KC 256 /* keep in sync with runtime/gemm.c's KC */
/* int32s of the index of a [N, K] weight with room for cap (padded) entries */
#define TT_SPARSE_INDEX_LEN(N, K, cap)                                                      \
  (8 + ((N) + 15) / 16 * 16 + ((N) + 15) / 16 * (((K) + TT_SPARSE_KC - 1) / TT_SPARSE_KC) + 1 + \
   (cap))
int64_t tt_sparse_index_len(int64_t N, int64_t K, int64_t cap);
/* The index of W's nonzeros (marked dense when they need more than cap entries). */
void tt_sparse_index_f32(const float *W, int64_t N, int64_t K, int64_t cap, int32_t *idx,
                         int64_t len);
/* vals[cap]: W's values in the index's order (0 at the padding). */
void tt_sparse_values_f32(const float *W, const int32_t *idx, float *vals);
/* y[M, N] = x[M, K] @ W[N, K]^T from the index and values (from W by tt_gemm_f32 when the
 * index is dense); the same bits as tt_gemm_f32 for finite x. */
void tt_sparse_linear_f32(int64_t M, int64_t N, int64_t K, const float *x, const float *W,
                          const int32_t *idx, const float *vals, float *y);
void tt_sparse_linear_f32_naive(int64_t M, int64_t N, int64_t K, const float *x, const float *W,
                                const int32_t *idx, const float *vals, float *y);

/* ---- roofline.c: the machine's roofline and --profile's kernel timers ---------------- */

/* Peak FLOP/s of an FMA loop and bytes/s of STREAM's triad (arrays past the caches, and
 * arrays inside L2), on one thread and on two (tt_parallel2), best of a few runs. */
typedef struct TtRoofline {
  double peak1, peak2;   /* FLOP/s */
  double dram1, dram2;   /* bytes/s, 3 x 256 MiB arrays */
  double l2_1, l2_2;     /* bytes/s, 3 x 128 KiB arrays */
  const char *simd;      /* the vector instructions the FMA loop used */
} TtRoofline;
void tt_roofline_measure(TtRoofline *r);
/* One kernel of a program built with --profile: the C defines a table of these (op, .tt
 * line, ir_cost's FLOPs and bytes per call) and brackets the kernel with tt_prof_begin
 * and tt_prof_end, which add its time and a call; at exit the table is written to
 * $TTC_PROFILE (else stderr) for ttc to rank and plot. */
typedef struct TtProfSite {
  const char *op, *name; /* the op and its buffer (or what it writes) */
  int line;
  double flops, bytes;   /* per call */
  uint64_t calls;
  double seconds;
} TtProfSite;
void tt_prof_begin(TtProfSite *sites, int n);
void tt_prof_end(TtProfSite *site);
/* One call of graph name (a string literal) took seconds: the host code of a --profile
 * build times every graph call, and at exit each graph called 8 times or more gets a
 * "# graph" line with its mean time per call in each eighth of its calls, in order (a
 * generation step's time by position: flat with a KV cache, growing without). */
void tt_prof_graph(const char *name, double seconds);

/* ---- vector math (inline, for the generated loops) ---------------------------------- */

#include <math.h>

/* a * b + c with one rounding where the target has FMA (ISO C mode does not contract
 * a * b + c by itself); elsewhere the plain expression, not a slow fmaf call */
#ifdef __FMA__
#define TT_FMAF(a, b, c) fmaf(a, b, c)
#else
#define TT_FMAF(a, b, c) ((a) * (b) + (c))
#endif

/*
 * erf for float, as the exact GELU (forward and backward) and torch.erf compute it: gcc
 * does not vectorize a loop that calls libm's erff, so this one is straight-line
 * arithmetic and selects, which it does. Three polynomials, each fitted (minimax, in
 * double) and then evaluated for every x, the interval picking the result:
 *   |x| < 1:         x + x P(x^2), P = erf(x)/x - 1 (adding x last keeps the leading term exact)
 *   1 <= |x| < 2.25: 1 - Q1(|x| - 1.625), Q1 ~ erfc
 *   2.25 <= |x|:     1 - Q2(|x| - 3.085), Q2 ~ erfc; from 3.92 on, erf rounds to 1 in float
 * Error at most 0.97 ulp of the exact erf over every float in [0, 10] (98.6% correctly
 * rounded; tests/erf.sh checks it and compares with PyTorch). Odd: erf(-x) = -erf(x),
 * erf(-0) = -0; NaN stays NaN. Not bit for bit libm's erff.
 */
static inline float tt_erff(float x) {
  float a = fabsf(x), t = a * a;
  float p = 7.85383963e-05f;
  p = TT_FMAF(p, t, -8.01018497e-04f);
  p = TT_FMAF(p, t, 5.18832635e-03f);
  p = TT_FMAF(p, t, -2.68538110e-02f);
  p = TT_FMAF(p, t, 1.12835854e-01f);
  p = TT_FMAF(p, t, -3.76126260e-01f);
  p = TT_FMAF(p, t, 1.28379166e-01f);
  float u = a - 1.625f;
  float q = -1.26201974e-03f;
  q = TT_FMAF(q, u, 8.71074386e-04f);
  q = TT_FMAF(q, u, 6.12041028e-03f);
  q = TT_FMAF(q, u, -1.45092160e-02f);
  q = TT_FMAF(q, u, 2.14705081e-03f);
  q = TT_FMAF(q, u, 4.97315489e-02f);
  q = TT_FMAF(q, u, -1.14841573e-01f);
  q = TT_FMAF(q, u, 1.30766824e-01f);
  q = TT_FMAF(q, u, -8.04722384e-02f);
  q = TT_FMAF(q, u, 2.15562712e-02f);
  float v = a - 3.085f;
  float r = 1.01426413e-04f;
  r = TT_FMAF(r, v, -3.26515234e-04f);
  r = TT_FMAF(r, v, 5.45276969e-04f);
  r = TT_FMAF(r, v, -6.85397710e-04f);
  r = TT_FMAF(r, v, 6.80788071e-04f);
  r = TT_FMAF(r, v, -5.00623835e-04f);
  r = TT_FMAF(r, v, 2.56460567e-04f);
  r = TT_FMAF(r, v, -8.29478740e-05f);
  r = TT_FMAF(r, v, 1.28327138e-05f);
  float c = a < 2.25f ? q : r;
  float y = a < 1.0f ? TT_FMAF(a, p, a) : 1.0f - c;
  y = a >= 3.92f ? 1.0f : y; /* NaN fails the test and keeps the polynomials' NaN */
  return copysignf(y, x);
}

/*
 * exp for float, as softmax, log_softmax, torch.exp and the GELU's gradient compute it: gcc
 * vectorizes no loop that calls libm's expf (without -ffast-math it has no vector variant
 * to call), and softmax over a GPT's attention rows spent 2% of a training step per layer
 * there. Computed in double, which makes it correctly rounded nearly everywhere:
 * x = n ln2 + r with |r| <= ln2/2 (n by the 1.5 * 2^52 rounding trick, ln2 in two parts),
 * exp(r) by its Taylor polynomial of degree 10 (truncation below 3e-13 relative), times
 * 2^n built in the exponent bits, rounded once to float. Against exp in double rounded to
 * float, 15 of 640 million floats of [-110, 95] differ, by 1 ulp (libm's expf: 48804).
 * Below -104 it is 0 (exp(-inf) too), above 89 inf; NaN stays NaN. The clamps are selects
 * on the float argument: with -fno-trapping-math (ttc's default flags) gcc turns them,
 * and so the whole loop, into vector code.
 */
static inline float tt_expf(float x) {
  float c = x < -104.0f ? -104.0f : x;
  c = c > 89.0f ? 89.0f : c;
  double xd = (double)c;
  double t = xd * 1.4426950408889634 + 6755399441055744.0; /* n in its low bits */
  double n = t - 6755399441055744.0;
  double r = xd - n * 0.6931471805599453;
  r = r - n * 2.3190468138462996e-17;
  double p = 2.7557319223985893e-07;
  p = p * r + 2.7557319223985888e-06;
  p = p * r + 2.4801587301587302e-05;
  p = p * r + 1.9841269841269841e-04;
  p = p * r + 1.3888888888888889e-03;
  p = p * r + 8.3333333333333332e-03;
  p = p * r + 4.1666666666666664e-02;
  p = p * r + 1.6666666666666666e-01;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  union {
    double d;
    uint64_t u;
  } s = {t};
  s.u = (s.u + 1023) << 52; /* 2^n */
  return (float)(p * s.d);
}

/*
 * A softmax row's maximum and sum (codegen/kernels.c, cg_softmax), for rows that are
 * contiguous. An in-order loop is one chain of dependent compares or adds, 4 cycles an
 * element, and gcc keeps it so (reordering float adds would change the result): a GPT's
 * attention softmax spent most of its time there. Here 16 (8) running maxima (sums) take
 * the elements in turn and are combined at the end, which gcc turns into vector code.
 * The maximum is the same value as the in-order loop's, NaNs skipped as there (x > m is
 * false for them); the sum is in double, as before, so reordering it moves it by about
 * 1e-16 of itself, far below the float it is rounded to.
 */
static inline float tt_row_max_f32(const float *x, int64_t n) {
  float m[16];
  for (int k = 0; k < 16; k++) m[k] = -INFINITY;
  const int64_t whole = n - n % 16;
  for (int64_t i = 0; i < whole; i += 16)
    for (int k = 0; k < 16; k++) m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
  float r = -INFINITY;
  for (int k = 0; k < 16; k++) r = m[k] > r ? m[k] : r;
  for (int64_t i = whole; i < n; i++) r = x[i] > r ? x[i] : r;
  return r;
}

static inline double tt_row_sum_f32(const float *x, int64_t n) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t whole = n - n % 8;
  for (int64_t i = 0; i < whole; i += 8)
    for (int k = 0; k < 8; k++) s[k] += x[i + k];
  double r = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
  for (int64_t i = whole; i < n; i++) r += x[i];
  return r;
}

#endif
