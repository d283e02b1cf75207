/*
 * memplan.c — static memory planning: every graph's intermediate buffers share arenas.
 *
 * Purpose:  without a plan each intermediate value is its own static array for the whole
 *           run, so a training step's memory is the sum of every activation, gradient and
 *           temporary it ever makes (and a program's, the sum over all its graphs). Here a
 *           buffer lives from the node that computes it to the last node that reads it
 *           (through views too), and buffers whose lifetimes do not overlap share elements
 *           (ir_lifetimes, ir/ir.c). An elementwise kernel marked in place whose input of
 *           the same shape dies at it writes over that input. Graphs run one at a time, so
 *           all graphs plan into the same arenas, each from offset 0: an arena is as large
 *           as the largest graph's need.
 * Requires: the finished graphs (it runs last: a later pass would rebuild a graph and
 *           drop its plan, which codegen then does without).
 * Produces: Graph.mem_off (each owning node's offset, in elements, in the arena of its
 *           dtype) and Program.arena_elems (each arena's elements). The IR is otherwise
 *           unchanged; codegen declares each planned buffer as a pointer into its arena
 *           instead of an array (`ttc diff F --pass=memplan` shows it), and `ttc compile
 *           --mem-report` (and the comment heading the C) gives the sizes.
 *
 * One arena per dtype, so that storage a float value used is never read as an int64 one:
 * the C's pointers stay typed and its aliasing rules hold. The placement is greedy by size
 * with best fit (TensorFlow Lite's arena planner does the same): buffers are placed largest
 * first; each goes into the smallest gap, among the buffers already placed whose lifetimes
 * overlap its own, that holds it, or after the highest of them. A kernel never writes a
 * buffer it reads, except the in-place case (an input is live at its reader). Variables
 * (parameters, gradients, optimizer state, values that outlive a graph) keep their arrays.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

/* Offsets are multiples of this many bytes, for the kernels' vector loads. */
#define MEMPLAN_ALIGN 64

typedef struct Buf {
  int id, last; /* the buffer's first node (its owner) and the last node that reads it */
  DType dt;
  int64_t elems, off; /* rounded up to the alignment; the offset, in elements */
} Buf;

static int by_size_desc(const void *a, const void *b) {
  const Buf *x = a, *y = b;
  if (x->dt != y->dt) return (int)x->dt - (int)y->dt;
  if (x->elems != y->elems) return x->elems > y->elems ? -1 : 1;
  return x->id - y->id; /* deterministic */
}

static int by_off(const void *a, const void *b) {
  const Buf *x = *(const Buf *const *)a, *y = *(const Buf *const *)b;
  return x->off < y->off ? -1 : x->off > y->off;
}

/* Plans graph g into off[] (g->n entries); need[dt] gets the elements each arena needs. */
static void plan_graph(const Program *p, const Graph *g, int64_t *off, int64_t *need) {
  int n = g->n;
  int *last = xmalloc(sizeof(int) * (size_t)(n + 1)), *share = xmalloc(sizeof(int) * (size_t)(n + 1));
  int64_t *elems = xmalloc(sizeof(int64_t) * (size_t)(n + 1));
  Buf *bufs = xmalloc(sizeof(Buf) * (size_t)(n + 1));
  Buf **live = xmalloc(sizeof(Buf *) * (size_t)(n + 1));
  int *slot = xmalloc(sizeof(int) * (size_t)(n + 1));
  ir_lifetimes(p, g, last, elems, share);
  int nb = 0;
  for (int id = 0; id < n; id++) { /* one buffer per owner; an in-place result extends it */
    slot[id] = -1;
    if (elems[id] < 0) continue;
    if (share[id] != id) {
      Buf *b = &bufs[slot[share[id]]];
      if (last[id] > b->last) b->last = last[id];
      slot[id] = slot[share[id]];
      continue;
    }
    int64_t per = MEMPLAN_ALIGN / (int64_t)dt_size(g->nodes[id].dtype);
    slot[id] = nb;
    bufs[nb++] = (Buf){id, last[id], g->nodes[id].dtype, (elems[id] + per - 1) / per * per, -1};
  }
  /* slot[] indexes bufs in creation order: keep that order's ids before sorting */
  int *order = xmalloc(sizeof(int) * (size_t)(nb + 1));
  for (int i = 0; i < nb; i++) order[i] = bufs[i].id;
  qsort(bufs, (size_t)nb, sizeof *bufs, by_size_desc);
  for (int i = 0; i < nb; i++) {
    Buf *b = &bufs[i];
    int nl = 0;
    for (int j = 0; j < i; j++) /* placed buffers of its dtype alive at the same time */
      if (bufs[j].dt == b->dt && bufs[j].id <= b->last && bufs[j].last >= b->id) live[nl++] = &bufs[j];
    qsort(live, (size_t)nl, sizeof *live, by_off);
    int64_t at = 0, best = -1, best_gap = INT64_MAX;
    for (int j = 0; j < nl; j++) {
      int64_t gap = live[j]->off - at;
      if (gap >= b->elems && gap < best_gap) best = at, best_gap = gap;
      if (live[j]->off + live[j]->elems > at) at = live[j]->off + live[j]->elems;
    }
    b->off = best >= 0 ? best : at;
    if (b->off + b->elems > need[b->dt]) need[b->dt] = b->off + b->elems;
  }
  /* every node of a buffer gets its offset */
  int64_t *at_id = xmalloc(sizeof(int64_t) * (size_t)(n + 1));
  for (int i = 0; i < nb; i++) at_id[bufs[i].id] = bufs[i].off;
  for (int id = 0; id < n; id++) off[id] = slot[id] >= 0 ? at_id[order[slot[id]]] : -1;
  free(at_id);
  free(order);
  free(last);
  free(share);
  free(elems);
  free(bufs);
  free(live);
  free(slot);
}

Program *pass_memplan(const Program *in, PassCtx *cx) {
  (void)cx;
  Program *p = ir_program_clone(in);
  for (int gi = 0; gi < p->ngraphs; gi++) {
    Graph *g = p->graphs[gi];
    int64_t need[DT__COUNT] = {0};
    g->mem_off = xmalloc(sizeof(int64_t) * (size_t)(g->n + 1));
    plan_graph(p, g, g->mem_off, need);
    for (int t = 0; t < DT__COUNT; t++)
      if (need[t] > p->arena_elems[t]) p->arena_elems[t] = need[t];
  }
  return p;
}
