/*
 * outline.c — one C function for a layer that repeats: C that grows with the model's
 * design, not with its depth.
 *
 * A ModuleList of identical blocks traces the same ops from the same source lines once per
 * block, so a graph's kernels come in runs that differ only in the buffers they name (each
 * block's weights and intermediates). Each such run becomes one function whose parameters
 * are those buffers, called once per block with that block's: a learner reads one Block,
 * and the C compiler compiles it once. Runs are found by their nodes (op, source position,
 * dtype, shape, attributes: a signature per node, and runs of signatures that repeat back
 * to back) and confirmed by their C: every copy's text must equal the first's once each
 * buffer name is replaced by its order of first appearance. The function's body is the
 * first copy's C as it is, its parameters the names that copy uses, so its comments read as
 * before. A function made for one graph serves any later graph with a run of the same text
 * (the evaluation forward of the train split and of the validation split).
 *
 * Not outlined: runs under --profile (each kernel has its own timer row), runs of fewer than
 * CG_RUN_MIN_NODES nodes or CG_RUN_MIN_BYTES of C, and runs needing more than
 * CG_RUN_MAX_PARAMS parameters (C guarantees 127).
 */
#include "codegen/codegen.h"

#include <stdlib.h>
#include <string.h>

#define CG_RUN_MIN_NODES 4
#define CG_RUN_MIN_BYTES 600
#define CG_RUN_MAX_PARAMS 120
#define CG_RUN_CANDIDATES 16 /* later nodes of the same signature tried as a period */

struct CgOutlined {
  char *canon;      /* the C with buffer names numbered (malloc'd) */
  uint64_t hash;
  const char *name; /* the function */
};

/* ---- buffer names --------------------------------------------------------------------- */

typedef struct {
  const char *name;
  DType dt;
  bool isconst; /* a constant: passed as const T * */
  int node;     /* the node whose storage it is, or -1 (a program variable) */
} BufInfo;

typedef struct {
  BufInfo *slot;
  size_t cap;
} BufMap;

static uint64_t fnv(const void *p, size_t n, uint64_t h) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
  return h;
}

static BufInfo *map_find(BufMap *m, const char *s, size_t n) {
  size_t i = fnv(s, n, 14695981039346656037ULL) & (m->cap - 1);
  for (;; i = (i + 1) & (m->cap - 1)) {
    BufInfo *b = &m->slot[i];
    if (!b->name || (strlen(b->name) == n && !memcmp(b->name, s, n))) return b;
  }
}

static void map_put(BufMap *m, const char *name, DType dt, bool isconst, int node) {
  if (!name) return;
  BufInfo *b = map_find(m, name, strlen(name));
  if (b->name) return;
  *b = (BufInfo){name, dt, isconst, node};
}

/* ---- one copy's C ------------------------------------------------------------------------ */

typedef struct {
  char *canon;            /* malloc'd */
  size_t len;
  const BufInfo **params; /* in order of first appearance in code */
  int nparams;
  bool usesB;
} Copy;

static bool ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool ident_char(int c) { return ident_start(c) || (c >= '0' && c <= '9'); }

/* Canonical text of s (buffer names numbered by first appearance anywhere), and the
 * buffers named in code (not in comments or strings) in that order. local[]: names
 * declared inside the copy (its small constants), numbered but never parameters. */
static bool copy_of(Cg *cg, BufMap *m, const char *s, const char **local, int nlocal, Copy *c) {
  memset(c, 0, sizeof *c);
  FILE *f = open_memstream(&c->canon, &c->len);
  if (!f) return false;
  const BufInfo **seen = NULL;
  bool *incode = NULL;
  struct FLocal {
    const char *s;
    size_t n;
  } *fl = NULL;
  int nfl = 0;
  int nseen = 0, capseen = 0;
  enum { CODE, COMMENT, STR, CHR } st = CODE;
  for (size_t i = 0; s[i];) {
    char ch = s[i];
    if (st == CODE && ch == '/' && s[i + 1] == '*') {
      st = COMMENT;
      fputs("/*", f);
      i += 2;
      continue;
    }
    if (st == COMMENT && ch == '*' && s[i + 1] == '/') {
      st = CODE;
      fputs("*/", f);
      i += 2;
      continue;
    }
    if ((st == STR || st == CHR) && ch == '\\' && s[i + 1]) {
      fputc(ch, f);
      fputc(s[i + 1], f);
      i += 2;
      continue;
    }
    if (st == CODE && (ch == '"' || ch == '\'')) st = ch == '"' ? STR : CHR;
    else if ((st == STR && ch == '"') || (st == CHR && ch == '\'')) st = CODE;
    if (st == CODE && ch >= '0' && ch <= '9') { /* a number, letters and all (1e-5f, 0x1p3) */
      size_t j = i;
      while (ident_char(s[j]) || s[j] == '.' ||
             ((s[j] == '+' || s[j] == '-') && (s[j - 1] == 'e' || s[j - 1] == 'E' || s[j - 1] == 'p' || s[j - 1] == 'P')))
        j++;
      fwrite(s + i, 1, j - i, f);
      i = j;
      continue;
    }
    if (ident_start(ch) && (i == 0 || !ident_char(s[i - 1]))) {
      size_t j = i;
      while (ident_char(s[j])) j++;
      if (st == CODE && j - i == 1 && ch == 'B') c->usesB = true;
      BufInfo *b = map_find(m, s + i, j - i);
      if (b->name) {
        int k = 0;
        while (k < nseen && seen[k] != b) k++;
        if (k == nseen) {
          if (nseen == capseen) {
            capseen = capseen ? 2 * capseen : 32;
            seen = realloc(seen, sizeof *seen * (size_t)capseen);
            incode = realloc(incode, sizeof *incode * (size_t)capseen);
            if (!seen || !incode) abort();
          }
          seen[nseen] = b;
          incode[nseen++] = false;
        }
        if (st == CODE && !incode[k]) {
          bool loc = false;
          for (int q = 0; q < nlocal; q++) loc |= !strcmp(local[q], b->name);
          incode[k] = !loc;
        }
        fprintf(f, "\x01%d\x02", k);
      } else if (s[i] == 'f' && j - i > 1 && strspn(s + i + 1, "0123456789") == j - i - 1) {
        /* a fused op's local (codegen/ew.c names it after its node): numbered too */
        int k = 0;
        while (k < nfl && (fl[k].n != j - i || memcmp(fl[k].s, s + i, j - i))) k++;
        if (k == nfl) {
          fl = realloc(fl, sizeof *fl * (size_t)(nfl + 1));
          if (!fl) abort();
          fl[nfl++] = (struct FLocal){s + i, j - i};
        }
        fprintf(f, "\x03%d\x02", k);
      } else {
        fwrite(s + i, 1, j - i, f);
      }
      i = j;
      continue;
    }
    fputc(ch, f);
    i++;
  }
  bool ok = fclose(f) == 0;
  /* the parameters: buffers named in code, in order of first appearance */
  int np = 0;
  for (int k = 0; k < nseen; k++) np += incode[k];
  c->params = arena_alloc(cg->arena, sizeof *c->params * (size_t)(np + 1));
  for (int k = 0; k < nseen; k++)
    if (incode[k]) c->params[c->nparams++] = seen[k];
  free(seen);
  free(incode);
  free(fl);
  return ok;
}

/* ---- runs --------------------------------------------------------------------------------- */

static uint64_t node_sig(const Node *n) {
  uint64_t h = 14695981039346656037ULL;
  h = fnv(&n->op, sizeof n->op, h);
  h = fnv(&n->loc.off, sizeof n->loc.off, h);
  h = fnv(&n->dtype, sizeof n->dtype, h);
  h = fnv(&n->shape.rank, sizeof n->shape.rank, h);
  h = fnv(&n->shape.symm, sizeof n->shape.symm, h);
  h = fnv(n->shape.d, sizeof n->shape.d[0] * (size_t)n->shape.rank, h);
  h = fnv(&n->nin, sizeof n->nin, h);
  h = fnv(n->attr.i, sizeof n->attr.i, h);
  h = fnv(&n->attr.nints, sizeof n->attr.nints, h);
  h = fnv(&n->fused, sizeof n->fused, h);
  return h;
}

/* The C of nodes [a, a + len): their texts, one after the other (malloc'd). */
static char *run_text(char **nt, int a, int len) {
  size_t total = 1;
  for (int id = a; id < a + len; id++) total += strlen(nt[id]);
  char *s = malloc(total), *p = s;
  if (!s) abort();
  for (int id = a; id < a + len; id++) {
    size_t k = strlen(nt[id]);
    memcpy(p, nt[id], k);
    p += k;
  }
  *p = '\0';
  return s;
}

/* Small constants a copy declares itself: their names are its own, not parameters. -1
 * when a node outside the copy reads one (the front end made the next block's constant
 * here) or computes an op of the copy fused into its loop: that C would name what the
 * function hides, so the run stays inline. lo[id], hi[id]: the first and last node that
 * reads id's storage (directly or through views). */
static int locals_of(Cg *cg, int a, int len, const int *lo, const int *hi, const char **local) {
  const Graph *g = cg->g;
  int n = 0;
  for (int id = a; id < a + len; id++) {
    const Node *nd = &g->nodes[id];
    bool local_const = nd->op == OP_CONST && cg_lives(cg, cg->gi, id) != CG_FILESCOPE && cg_buf(cg, id);
    if ((nd->fused || local_const) && hi[id] >= 0 && (lo[id] < a || hi[id] >= a + len)) return -1;
    if (local_const) local[n++] = cg_buf(cg, id);
  }
  return n;
}

static const char *param_decl(Cg *cg, const BufInfo *b) {
  return arena_printf(cg->arena, "%s%s *%s", b->isconst ? "const " : "", cg_ctype(b->dt), b->name);
}

static const char *call_of(Cg *cg, const char *fn, const Copy *c) {
  const char *s = arena_printf(cg->arena, "%*s%s(", 2, "", fn);
  for (int k = 0; k < c->nparams; k++) s = arena_printf(cg->arena, "%s%s%s", s, k ? ", " : "", c->params[k]->name);
  if (c->usesB) s = arena_printf(cg->arena, "%s%sB", s, c->nparams ? ", " : "");
  return arena_printf(cg->arena, "%s);\n", s);
}

/* The function for copy c (its C text), defined now on cg->out if no earlier run had the
 * same canonical text; its name. */
static const char *function_for(Cg *cg, const Copy *c, const char *text, int a, int len, int count) {
  uint64_t h = fnv(c->canon, c->len, 14695981039346656037ULL);
  for (int i = 0; i < cg->noutl; i++)
    if (cg->outl[i].hash == h && !strcmp(cg->outl[i].canon, c->canon)) return cg->outl[i].name;
  const char *name = cg_unique_name(cg, arena_printf(cg->arena, "layer%d", cg->noutl + 1));
  cg->outl = realloc(cg->outl, sizeof *cg->outl * (size_t)(cg->noutl + 1));
  if (!cg->outl) abort();
  cg->outl[cg->noutl++] = (CgOutlined){strdup(c->canon), h, name};
  int lo = 0, hi = 0, col;
  for (int id = a; id < a + len; id++) {
    int line;
    ir_linecol(cg->p->src, cg->g->nodes[id].loc.off, &line, &col);
    if (!lo || line < lo) lo = line;
    if (line > hi) hi = line;
  }
  fprintf(cg->out, "/* %s lines %d-%d: a layer that repeats (%d times in %s, and wherever the same C recurs);\n"
                   " * its parameters are the buffers of the first time, whose C this is */\n",
          cg->file, lo, hi, count, cg->gname[cg->gi]);
  fprintf(cg->out, "static TT_NOINLINE void %s(", name);
  for (int k = 0; k < c->nparams; k++) fprintf(cg->out, "%s%s", k ? ", " : "", param_decl(cg, c->params[k]));
  if (c->usesB) fprintf(cg->out, "%sconst int64_t B", c->nparams ? ", " : "");
  if (!c->nparams && !c->usesB) fputs("void", cg->out);
  fputs(") {\n", cg->out);
  fputs(text, cg->out);
  fputs("}\n\n", cg->out);
  return name;
}

static void copy_free(Copy *c) { free(c->canon); }

bool cg_outline(Cg *cg, char **nt, const char **calls, int *skip) {
  const Graph *g = cg->g;
  int n = g->n;
  for (int id = 0; id < n; id++) calls[id] = NULL, skip[id] = 1;
  if (cg->prof || n < 2 * CG_RUN_MIN_NODES || getenv("TTC_NO_OUTLINE")) return true;
  /* the graph's buffer names: its nodes' storage and the program's variables */
  BufMap m = {.cap = 64};
  while (m.cap < 4 * (size_t)(n + cg->p->nvars)) m.cap *= 2;
  m.slot = calloc(m.cap, sizeof *m.slot);
  uint64_t *sig = malloc(sizeof *sig * (size_t)n);
  int *next = malloc(sizeof *next * (size_t)n);
  const char **local = malloc(sizeof *local * (size_t)(n + 1));
  int *lo = malloc(sizeof *lo * (size_t)n), *hi = malloc(sizeof *hi * (size_t)n);
  if (!m.slot || !sig || !next || !local || !lo || !hi) abort();
  for (int id = 0; id < n; id++) lo[id] = hi[id] = -1;
  for (int u = 0; u < n; u++) /* the readers of each storage: a view's are its source's */
    for (int k = 0; k < g->nodes[u].nin; k++) {
      int r = g->nodes[u].in[k];
      while ((ir_ops[g->nodes[r].op].flags & OPF_VIEW) && g->nodes[r].nin > 0) {
        if (lo[r] < 0) lo[r] = u;
        hi[r] = u;
        r = g->nodes[r].in[0];
      }
      if (lo[r] < 0) lo[r] = u;
      hi[r] = u;
    }
  for (int id = 0; id < n; id++) {
    const Node *nd = &g->nodes[id];
    map_put(&m, cg_buf(cg, id), nd->dtype, nd->op == OP_CONST, id);
  }
  for (int v = 0; v < cg->p->nvars; v++) map_put(&m, cg->vname[v], cg->p->vars[v].dtype, false, -1);
  for (int id = 0; id < n; id++) sig[id] = node_sig(&g->nodes[id]);
  for (int id = n - 1; id >= 0; id--) { /* the next node of the same signature */
    next[id] = -1;
    for (int j = id + 1; j < n && j < id + 4096; j++)
      if (sig[j] == sig[id]) {
        next[id] = j;
        break;
      }
  }
  bool ok = true;
  for (int i = 0; ok && i < n;) {
    int bestP = 0, bestk = 0;
    int tries = 0;
    for (int j = next[i]; j >= 0 && tries < CG_RUN_CANDIDATES; j = next[j], tries++) {
      int P = j - i;
      if (P < CG_RUN_MIN_NODES || i + 2 * P > n) continue;
      int k = 1;
      for (;;) {
        int b = i + k * P;
        if (b + P > n) break;
        bool same = true;
        for (int t = 0; same && t < P; t++) same = sig[i + t] == sig[b + t];
        if (!same) break;
        k++;
      }
      if (k >= 2 && ((int64_t)k * P > (int64_t)bestk * bestP)) bestP = P, bestk = k;
    }
    if (!bestk) {
      i++;
      continue;
    }
    /* the copies' C must agree too, names aside */
    int nl = locals_of(cg, i, bestP, lo, hi, local);
    if (nl < 0) {
      i++;
      continue;
    }
    char *t0 = run_text(nt, i, bestP);
    Copy c0;
    ok = copy_of(cg, &m, t0, local, nl, &c0);
    int k = 1, ncs = ok ? 1 : 0;
    Copy *cs = malloc(sizeof *cs * (size_t)bestk);
    if (!cs) abort();
    cs[0] = c0;
    while (ok && k < bestk) {
      nl = locals_of(cg, i + k * bestP, bestP, lo, hi, local);
      if (nl < 0) break;
      char *tk = run_text(nt, i + k * bestP, bestP);
      ok = copy_of(cg, &m, tk, local, nl, &cs[k]);
      free(tk);
      if (!ok) break;
      ncs++;
      if (cs[k].len != c0.len || memcmp(cs[k].canon, c0.canon, c0.len)) break;
      k++;
    }
    if (ok && k >= 2 && strlen(t0) >= CG_RUN_MIN_BYTES && c0.nparams <= CG_RUN_MAX_PARAMS) {
      const char *fn = function_for(cg, &c0, t0, i, bestP, k);
      for (int q = 0; q < k; q++) {
        calls[i + q * bestP] = call_of(cg, fn, &cs[q]);
        skip[i + q * bestP] = bestP;
      }
      if (c0.usesB) cg->used_B = true;
    } else {
      k = 0;
    }
    for (int q = 0; q < ncs; q++) copy_free(&cs[q]);
    free(cs);
    free(t0);
    i += k ? k * bestP : 1;
  }
  free(m.slot);
  free(sig);
  free(next);
  free(local);
  free(lo);
  free(hi);
  return ok ? true : cg_fail(cg, "codegen: out of memory");
}

void cg_outline_free(Cg *cg) {
  for (int i = 0; i < cg->noutl; i++) free(cg->outl[i].canon);
  free(cg->outl);
  cg->outl = NULL;
  cg->noutl = 0;
}
