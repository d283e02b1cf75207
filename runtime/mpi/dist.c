/*
 * dist.c — torch.distributed over MPI: the process group, all_reduce, barrier, and
 * DistributedDataParallel's gradient averaging and buffer broadcast.
 *
 * Only programs that use torch.distributed link this file (ttc build compiles it with MPI's
 * flags: pkg-config ompi, or mpicc --showme), so the rest of the runtime and every other
 * program keep no MPI dependency. One process per rank, started by mpirun; the ranks run the
 * same program and meet in MPI's collectives.
 *
 * Failure: errors on MPI_COMM_WORLD return rather than abort inside MPI, and a failed call
 * stops the program naming the call, the rank and MPI's reason; a tt_fatal on any rank (a bad
 * file, a run-time assert) aborts the whole job through MPI_Abort, so no rank is left waiting
 * in a collective. A rank that dies is seen by mpirun, which ends the others (Open MPI's own
 * behavior); tests/dist.sh kills one mid-training and checks that the job ends within seconds.
 */
#include "tt.h"

#include <mpi.h>
#ifdef _OPENMP
#include <omp.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* DistributedDataParallel's default bucket_cap_mb: gradients go out in buckets of this size. */
#define BUCKET_BYTES (25u << 20)

static int rank_ = -1, world_ = 0;
static int finalized;

static void check(int rc, const char *call) {
  if (rc == MPI_SUCCESS) return;
  char why[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, why, &len);
  fprintf(stderr, "error: rank %d of %d: %s failed: %s (did another rank stop?)\n", rank_, world_,
          call, why);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

/* tt_fatal on one rank ends all of them: the others may be waiting in a collective. */
static void abort_job(const char *msg) {
  fflush(stdout);
  fprintf(stderr, "error: %s\n", msg);
  fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  exit(1);
}

static void finalize(void) {
  if (finalized || world_ == 0) return;
  finalized = 1;
  fflush(stdout);
  MPI_Finalize();
}

static void need_init(const char *what) {
  if (world_ == 0)
    tt_fatal("%s: Default process group has not been initialized, please make sure to call "
             "init_process_group.", what);
  if (finalized) tt_fatal("%s: the process group has been destroyed", what);
}

void tt_dist_init(void) {
  if (world_ != 0) tt_fatal("trying to initialize the default process group twice!");
  int provided;
  /* only the main thread calls MPI (the runtime's worker thread runs kernels) */
  if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
    tt_fatal("init_process_group(backend=\"mpi\"): MPI_Init failed");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &world_), "MPI_Comm_size");
  tt_set_fatal_hook(abort_job);
  atexit(finalize);
#ifdef _OPENMP
  /* ranks sharing a machine share its cores: OpenMP's pool (the generated parallel loops,
     TT_PARALLEL_FOR) gets this rank's share, so idle threads do not spin on another rank's
     core; TT_THREADS / OMP_NUM_THREADS, when set, decide instead */
  MPI_Comm node;
  int local = 1;
  if (!getenv("TT_THREADS") && !getenv("OMP_NUM_THREADS") &&
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node) == MPI_SUCCESS) {
    MPI_Comm_size(node, &local);
    MPI_Comm_free(&node);
    int share = omp_get_num_procs() / (local > 0 ? local : 1);
    omp_set_num_threads(share > 1 ? share : 1);
  }
#endif
}

int64_t tt_dist_rank(void) {
  need_init("get_rank()");
  return rank_;
}

int64_t tt_dist_world(void) {
  need_init("get_world_size()");
  return world_;
}

int64_t tt_dist_initialized(void) { return world_ != 0 && !finalized; }

void tt_dist_barrier(void) {
  need_init("barrier()");
  check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void tt_dist_destroy(void) {
  need_init("destroy_process_group()");
  tt_set_fatal_hook(NULL);
  finalize();
}

/* torch.distributed.ReduceOp's values (SUM 0, PRODUCT 2, MIN 3, MAX 4) as MPI's ops. */
static MPI_Op mpi_op(int64_t op) {
  switch (op) {
  case 0: return MPI_SUM;
  case 2: return MPI_PROD;
  case 3: return MPI_MIN;
  case 4: return MPI_MAX;
  default: tt_fatal("all_reduce: reduce op %lld is not supported by the MPI backend", (long long)op);
  }
}

/* In place, a buffer at a time, in chunks that fit MPI's int count. */
static void all_reduce(MPI_Datatype dt, size_t esize, int64_t op, int n, void *const *bufs,
                       const int64_t *counts) {
  need_init("all_reduce()");
  for (int i = 0; i < n; i++)
    for (int64_t at = 0; at < counts[i];) {
      int64_t m = counts[i] - at < (1 << 30) ? counts[i] - at : (1 << 30);
      check(MPI_Allreduce(MPI_IN_PLACE, (char *)bufs[i] + (size_t)at * esize, (int)m, dt,
                          mpi_op(op), MPI_COMM_WORLD),
            "MPI_Allreduce");
      at += m;
    }
}

void tt_dist_all_reduce_f32(int64_t op, int n, void *const *bufs, const int64_t *counts) {
  all_reduce(MPI_FLOAT, sizeof(float), op, n, bufs, counts);
}

void tt_dist_all_reduce_f64(int64_t op, int n, void *const *bufs, const int64_t *counts) {
  all_reduce(MPI_DOUBLE, sizeof(double), op, n, bufs, counts);
}

void tt_dist_all_reduce_i64(int64_t op, int n, void *const *bufs, const int64_t *counts) {
  all_reduce(MPI_INT64_T, sizeof(int64_t), op, n, bufs, counts);
}

void tt_dist_broadcast_f32(int n, void *const *bufs, const int64_t *counts) {
  need_init("DistributedDataParallel");
  for (int i = 0; i < n; i++)
    for (int64_t at = 0; at < counts[i];) {
      int64_t m = counts[i] - at < (1 << 30) ? counts[i] - at : (1 << 30);
      check(MPI_Bcast((float *)bufs[i] + at, (int)m, MPI_FLOAT, 0, MPI_COMM_WORLD), "MPI_Bcast");
      at += m;
    }
}

/* DistributedDataParallel's broadcast_buffers: before a forward, rank 0's buffers to every
 * rank, coalesced into one MPI_Bcast of bytes (copies, so no arithmetic needs the dtypes: the
 * first n8 buffers have 8-byte elements, the next n4 4-byte, the rest 1-byte). PyTorch
 * 1.13 syncs only when the wrapper's previous forward ran with gradients (or there was none:
 * require_forward_param_sync), so each wrapper's last grad_enabled is kept here. */
void tt_dist_sync_buffers(int64_t ddp, int64_t grad_enabled, int64_t n8, int64_t n4, int n,
                          void *const *bufs, const int64_t *counts) {
  need_init("DistributedDataParallel");
  static unsigned char *skip; /* skip[ddp]: the previous forward ran without gradients */
  static int64_t nskip;
  if (ddp >= nskip) {
    unsigned char *s = realloc(skip, (size_t)(ddp + 1));
    if (!s) tt_fatal("out of memory");
    memset(s + nskip, 0, (size_t)(ddp + 1 - nskip));
    skip = s, nskip = ddp + 1;
  }
  bool sync = !skip[ddp];
  skip[ddp] = !grad_enabled;
  if (!sync || world_ == 1) return;
  static unsigned char *pack;
  static size_t cap;
  size_t total = 0;
  for (int i = 0; i < n; i++) total += (size_t)counts[i] * (i < n8 ? 8 : i < n8 + n4 ? 4 : 1);
  if (total > cap) {
    free(pack);
    pack = malloc(total);
    if (!pack) tt_fatal("out of memory (%zu bytes of buffers to broadcast)", total);
    cap = total;
  }
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    size_t b = (size_t)counts[i] * (i < n8 ? 8 : i < n8 + n4 ? 4 : 1);
    if (rank_ == 0) memcpy(pack + at, bufs[i], b);
    at += b;
  }
  for (size_t off = 0; off < total;) {
    size_t m = total - off < (1u << 30) ? total - off : (1u << 30);
    check(MPI_Bcast(pack + off, (int)m, MPI_BYTE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    off += m;
  }
  at = 0;
  for (int i = 0; i < n; i++) {
    size_t b = (size_t)counts[i] * (i < n8 ? 8 : i < n8 + n4 ? 4 : 1);
    if (rank_ != 0) memcpy(bufs[i], pack + at, b);
    at += b;
  }
}

/* Gradients are packed in order into buckets of up to BUCKET_BYTES (a larger gradient is a
 * bucket by itself, reduced in place), each bucket summed by one MPI_Allreduce, then every
 * value divided by the world size: DDP's average. */
void tt_dist_average_grads(int n, void *const *bufs, const int64_t *counts) {
  need_init("DistributedDataParallel");
  static float *bucket;
  static size_t cap;
  const size_t capn = BUCKET_BYTES / sizeof(float);
  for (int i = 0; i < n;) {
    if ((size_t)counts[i] >= capn) { /* alone, in place */
      all_reduce(MPI_FLOAT, sizeof(float), 0, 1, &bufs[i], &counts[i]);
      float *g = bufs[i];
      for (int64_t k = 0; k < counts[i]; k++) g[k] /= (float)world_;
      i++;
      continue;
    }
    int j = i;
    size_t total = 0;
    while (j < n && (size_t)counts[j] < capn && total + (size_t)counts[j] <= capn) total += (size_t)counts[j++];
    if (total > cap) {
      free(bucket);
      bucket = malloc(total * sizeof *bucket);
      if (!bucket) tt_fatal("out of memory (a gradient bucket of %zu floats)", total);
      cap = total;
    }
    size_t at = 0;
    for (int k = i; k < j; k++) {
      memcpy(bucket + at, bufs[k], (size_t)counts[k] * sizeof *bucket);
      at += (size_t)counts[k];
    }
    check(MPI_Allreduce(MPI_IN_PLACE, bucket, (int)total, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD),
          "MPI_Allreduce");
    at = 0;
    for (int k = i; k < j; k++) {
      float *g = bufs[k];
      for (int64_t e = 0; e < counts[k]; e++) g[e] = bucket[at + (size_t)e] / (float)world_;
      at += (size_t)counts[k];
    }
    i = j;
  }
}
