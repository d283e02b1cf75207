/*
 * arena.c — bump allocation freed whole, and the process's last-resort error paths.
 *
 * Everything the compiler builds lives in an Arena: one per compilation (strings, vars,
 * statements) and one per graph version, so a pass can build a new graph and drop the old
 * one in a single call. Allocations are zeroed and 16-byte aligned so any scalar type or a
 * SIMD-friendly constant buffer can be carved out of them. Requests larger than a block get
 * a block of their own instead of wasting the tail of the current one.
 */
#include "ir/ir.h"

#include <stdlib.h>
#include <string.h>

enum { ARENA_BLOCK = 64 * 1024, ARENA_ALIGN = 16 };

struct ArenaBlock {
  ArenaBlock *next;
  size_t size, used;
  /* The payload follows the header; the header is padded so payload stays aligned. */
  _Alignas(16) unsigned char data[];
};

_Noreturn void tt_internal_error(const char *file, int line, const char *what) {
  fflush(stdout);
  fprintf(stderr, "ttc: internal error at %s:%d: %s\n", file, line, what);
  abort();
}

static _Noreturn void out_of_memory(void) {
  fflush(stdout);
  fputs("ttc: out of memory\n", stderr);
  exit(1);
}

void *xmalloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) out_of_memory();
  return p;
}

void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) out_of_memory();
  return q;
}

Arena *arena_new(void) {
  Arena *a = xmalloc(sizeof *a);
  a->head = NULL;
  a->used_total = 0;
  return a;
}

void arena_free(Arena *a) {
  if (!a) return;
  for (ArenaBlock *b = a->head, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  free(a);
}

static ArenaBlock *block_new(size_t size) {
  if (size > SIZE_MAX - sizeof(ArenaBlock)) out_of_memory();
  ArenaBlock *b = xmalloc(sizeof(ArenaBlock) + size);
  b->next = NULL;
  b->size = size;
  b->used = 0;
  return b;
}

void *arena_alloc(Arena *a, size_t n) {
  if (n > SIZE_MAX - ARENA_ALIGN) out_of_memory();
  size_t need = (n + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  if (need == 0) need = ARENA_ALIGN;
  ArenaBlock *b = a->head;
  if (need > ARENA_BLOCK / 4) {
    /* A big request gets its own block, linked behind the current one so the current
     * block keeps serving small requests. */
    ArenaBlock *big = block_new(need);
    big->used = need;
    if (b) {
      big->next = b->next;
      b->next = big;
    } else {
      a->head = big;
    }
    a->used_total += need;
    memset(big->data, 0, need);
    return big->data;
  }
  if (!b || b->size - b->used < need) {
    b = block_new(ARENA_BLOCK);
    b->next = a->head;
    a->head = b;
  }
  void *p = b->data + b->used;
  b->used += need;
  a->used_total += need;
  memset(p, 0, need);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *d = arena_alloc(a, n + 1);
  memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
  /* Format into a stack buffer first; most strings fit, and only long ones format twice.
   * (Sizing with vsnprintf(NULL, 0, ...) trips a gcc -O2 -fsanitize false positive.) */
  char small[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) tt_internal_error(__FILE__, __LINE__, "bad format string");
  if ((size_t)n < sizeof small) return arena_strndup(a, small, (size_t)n);
  char *d = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(d, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return d;
}
