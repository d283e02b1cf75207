/*
 * checks.c — the checked operations the emitted C defines for itself, where C's arithmetic
 * and Python's (or PyTorch's) part ways: an int64 result that does not fit is undefined
 * behaviour in C and a bigger int in Python, so host ints stop the program instead (ttc's
 * are 64-bit); x / 0.0 is an infinity in C and ZeroDivisionError in Python; a float cast to
 * int64 out of range is undefined in C and an error or a bigint in Python; an integer
 * tensor divided by zero is undefined in C and "ZeroDivisionError" in PyTorch.
 *
 * Each is a small static function whose last argument is the source position
 * ("model.tt:7:3", from cg_where) that its error names. A helper is written into the
 * translation unit only when the program uses one (cg_helper marks it; cg_emit_helpers
 * writes the marked ones, in this table's order), so programs without run-time arithmetic
 * emit what they did before, and the output stays deterministic.
 */
#include "codegen/codegen.h"

/* Keep in sync with CgHelper (codegen.h). */
static const struct {
  const char *name;
  const char *text;
} helpers[CG_H__COUNT] = {
    [CG_H_ADD] = {"ttc_add_i64",
                  "static int64_t ttc_add_i64(int64_t a, int64_t b, const char *where) {\n"
                  "  int64_t r;\n"
                  "  if (__builtin_add_overflow(a, b, &r)) ttc_int_overflow(where);\n"
                  "  return r;\n"
                  "}\n"},
    [CG_H_SUB] = {"ttc_sub_i64",
                  "static int64_t ttc_sub_i64(int64_t a, int64_t b, const char *where) {\n"
                  "  int64_t r;\n"
                  "  if (__builtin_sub_overflow(a, b, &r)) ttc_int_overflow(where);\n"
                  "  return r;\n"
                  "}\n"},
    [CG_H_MUL] = {"ttc_mul_i64",
                  "static int64_t ttc_mul_i64(int64_t a, int64_t b, const char *where) {\n"
                  "  int64_t r;\n"
                  "  if (__builtin_mul_overflow(a, b, &r)) ttc_int_overflow(where);\n"
                  "  return r;\n"
                  "}\n"},
    [CG_H_NEG] = {"ttc_neg_i64",
                  "static int64_t ttc_neg_i64(int64_t a, const char *where) {\n"
                  "  if (a == INT64_MIN) ttc_int_overflow(where);\n"
                  "  return -a;\n"
                  "}\n"},
    [CG_H_ABS] = {"ttc_abs_i64",
                  "static int64_t ttc_abs_i64(int64_t a, const char *where) {\n"
                  "  if (a == INT64_MIN) ttc_int_overflow(where);\n"
                  "  return a < 0 ? -a : a;\n"
                  "}\n"},
    [CG_H_POW] = {"ttc_pow_i64",
                  "/* Python's int ** int for b >= 0, by squaring; a negative b would make a\n"
                  " * float, which an int expression cannot hold. */\n"
                  "static int64_t ttc_pow_i64(int64_t a, int64_t b, const char *where) {\n"
                  "  if (b < 0)\n"
                  "    tt_fatal(\"%s: int ** negative int is a float in Python; ttc types this \"\n"
                  "             \"expression as an int (write float(x) ** y)\", where);\n"
                  "  int64_t r = 1;\n"
                  "  while (b) {\n"
                  "    if ((b & 1) && __builtin_mul_overflow(r, a, &r)) ttc_int_overflow(where);\n"
                  "    b >>= 1;\n"
                  "    if (b && __builtin_mul_overflow(a, a, &a)) ttc_int_overflow(where);\n"
                  "  }\n"
                  "  return r;\n"
                  "}\n"},
    [CG_H_POWF] = {"ttc_pow_f64",
                   "static double ttc_pow_f64(double a, double b, const char *where) {\n"
                   "  if (a == 0 && b < 0)\n"
                   "    tt_fatal(\"%s: 0.0 cannot be raised to a negative power\", where);\n"
                   "  return pow(a, b);\n"
                   "}\n"},
    [CG_H_DIV] = {"ttc_div_f64",
                  "/* Python's true division: by zero is an error, not an infinity. isint: both\n"
                  " * operands were ints (Python's message differs). */\n"
                  "static double ttc_div_f64(double a, double b, int isint, const char *where) {\n"
                  "  if (b == 0)\n"
                  "    tt_fatal(\"%s: %sdivision by zero\", where, isint ? \"\" : \"float \");\n"
                  "  return a / b;\n"
                  "}\n"},
    [CG_H_F2I] = {"ttc_f2i",
                  "/* int(x) of a float: Python's errors for NaN and infinities; a value past\n"
                  " * int64 would be a bigger int in Python. */\n"
                  "static int64_t ttc_f2i(double x, const char *where) {\n"
                  "  if (x != x) tt_fatal(\"%s: cannot convert float NaN to integer\", "
                  "where);\n"
                  "  if (x == INFINITY || x == -INFINITY)\n"
                  "    tt_fatal(\"%s: cannot convert float infinity to integer\", "
                  "where);\n"
                  "  if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))\n"
                  "    ttc_int_overflow(where);\n"
                  "  return (int64_t)x;\n"
                  "}\n"},
    [CG_H_STEP] = {"ttc_step_i64",
                   "/* A range() counter's next value, saturated: past int64 the loop is over\n"
                   " * anyway (the stop is an int64), so it ends rather than wraps. */\n"
                   "static int64_t ttc_step_i64(int64_t i, int64_t step) {\n"
                   "  int64_t r;\n"
                   "  if (__builtin_add_overflow(i, step, &r)) return step > 0 ? INT64_MAX : "
                   "INT64_MIN;\n"
                   "  return r;\n"
                   "}\n"},
    [CG_H_FLOORDIV] = {"ttc_floordiv",
                       "/* // of integer tensors, as PyTorch: floor division, and division by\n"
                       " * zero an error (RuntimeError: ZeroDivisionError in PyTorch). */\n"
                       "static int64_t ttc_floordiv(int64_t a, int64_t b, const char *where) {\n"
                       "  if (b == 0) tt_fatal(\"%s: ZeroDivisionError\", where);\n"
                       "  if (b == -1) {\n"
                       "    if (a == INT64_MIN) ttc_int_overflow(where);\n"
                       "    return -a;\n"
                       "  }\n"
                       "  int64_t q = a / b;\n"
                       "  return q - (a % b != 0 && (a < 0) != (b < 0));\n"
                       "}\n"},
    [CG_H_REMAINDER] = {"ttc_remainder",
                        "/* % of integer tensors: the remainder with the divisor's sign. */\n"
                        "static int64_t ttc_remainder(int64_t a, int64_t b, const char *where) {\n"
                        "  if (b == 0) tt_fatal(\"%s: ZeroDivisionError\", where);\n"
                        "  if (b == -1) return 0;\n"
                        "  int64_t r = a % b;\n"
                        "  return r != 0 && (r < 0) != (b < 0) ? r + b : r;\n"
                        "}\n"},
    [CG_H_WALL] = {"ttc_wall",
                   "#include <time.h>\n"
                   "/* time.time(): seconds since the epoch, as Python's float */\n"
                   "static double ttc_wall(void) {\n"
                   "  struct timespec ts;\n"
                   "  if (!timespec_get(&ts, TIME_UTC)) return 0;\n"
                   "  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;\n"
                   "}\n"},
    [CG_H_KEYPOS] = {"ttc_keypos",
                     "/* itos[i] for an i known only at run time: the position of key k among\n"
                     " * the n keys of a string table (keys NULL: 0..n-1), with Python's error.\n"
                     " * kind: 0 list, 1 tuple, 2 str (an index may count from the end), 3 dict. */\n"
                     "static int64_t ttc_keypos(int64_t k, int isbool, int64_t n, const int64_t *keys,\n"
                     "                          int kind, const char *where) {\n"
                     "  if (kind == 3) {\n"
                     "    if (!keys && k >= 0 && k < n) return k;\n"
                     "    for (int64_t j = 0; keys && j < n; j++)\n"
                     "      if (keys[j] == k) return j;\n"
                     "    if (isbool) tt_fatal(\"%s: KeyError: %s\", where, k ? \"True\" : \"False\");\n"
                     "    tt_fatal(\"%s: KeyError: %lld\", where, (long long)k);\n"
                     "  }\n"
                     "  int64_t i = k < 0 ? k + n : k;\n"
                     "  if (i < 0 || i >= n)\n"
                     "    tt_fatal(\"%s: IndexError: %s index out of range\", where,\n"
                     "             kind == 2 ? \"string\" : kind == 1 ? \"tuple\" : \"list\");\n"
                     "  return i;\n"
                     "}\n"},
    [CG_H_LIST] = {"ttc_list",
                   "#include <stdlib.h>\n"
                   "/* A Python list of numbers that grows while the program runs (hist.append(\n"
                   " * loss.item()) in a loop); each element keeps its kind: 0 int, 1 float, 2 bool. */\n"
                   "typedef struct { double f; int64_t i; int k; } ttc_item;\n"
                   "typedef struct { int64_t n, cap; ttc_item *e; } ttc_list;\n"
                   "static inline void ttc_list_push(ttc_list *l, int k, double f, int64_t i) {\n"
                   "  if (l->n == l->cap) {\n"
                   "    int64_t cap = l->cap ? 2 * l->cap : 16;\n"
                   "    ttc_item *e = realloc(l->e, (size_t)cap * sizeof *e);\n"
                   "    if (!e) tt_fatal(\"out of memory: a list of %lld numbers\", (long long)cap);\n"
                   "    l->e = e;\n"
                   "    l->cap = cap;\n"
                   "  }\n"
                   "  l->e[l->n++] = (ttc_item){f, i, k};\n"
                   "}\n"
                   "static inline void ttc_list_push_f(ttc_list *l, double v) { ttc_list_push(l, 1, v, 0); }\n"
                   "static inline void ttc_list_push_i(ttc_list *l, int64_t v, int isbool) {\n"
                   "  ttc_list_push(l, isbool ? 2 : 0, (double)v, v);\n"
                   "}\n"
                   "static inline ttc_item ttc_list_get(const ttc_list *l, int64_t i, const char *where) {\n"
                   "  if (i < 0) i += l->n;\n"
                   "  if (i < 0 || i >= l->n) tt_fatal(\"%s: IndexError: list index out of range\", where);\n"
                   "  return l->e[i];\n"
                   "}\n"
                   "/* sum(): left to right from 0, as Python adds (ints exactly, overflow fatal) */\n"
                   "static inline double ttc_list_sum_f(const ttc_list *l) {\n"
                   "  double s = 0;\n"
                   "  for (int64_t j = 0; j < l->n; j++) s += l->e[j].k == 1 ? l->e[j].f : (double)l->e[j].i;\n"
                   "  return s;\n"
                   "}\n"
                   "static inline int64_t ttc_list_sum_i(const ttc_list *l, const char *where) {\n"
                   "  int64_t s = 0;\n"
                   "  for (int64_t j = 0; j < l->n; j++)\n"
                   "    if (__builtin_add_overflow(s, l->e[j].i, &s)) ttc_int_overflow(where);\n"
                   "  return s;\n"
                   "}\n"
                   "/* min()/max(): the first of the smallest (largest) elements, as Python's */\n"
                   "static inline ttc_item ttc_list_best(const ttc_list *l, int ismax, const char *where) {\n"
                   "  if (l->n == 0)\n"
                   "    tt_fatal(\"%s: ValueError: %s() arg is an empty sequence\", where, ismax ? \"max\" : \"min\");\n"
                   "  ttc_item b = l->e[0];\n"
                   "  for (int64_t j = 1; j < l->n; j++) {\n"
                   "    ttc_item x = l->e[j];\n"
                   "    double xv = x.k == 1 ? x.f : (double)x.i, bv = b.k == 1 ? b.f : (double)b.i;\n"
                   "    if (ismax ? xv > bv : xv < bv) b = x;\n"
                   "  }\n"
                   "  return b;\n"
                   "}\n"
                   "/* print(hist): Python's repr of the list */\n"
                   "static inline void ttc_list_print(FILE *f, const ttc_list *l) {\n"
                   "  fputc('[', f);\n"
                   "  for (int64_t j = 0; j < l->n; j++) {\n"
                   "    if (j) fputs(\", \", f);\n"
                   "    const ttc_item *e = &l->e[j];\n"
                   "    if (e->k == 1) tt_print_host(f, e->f, false, false, NULL);\n"
                   "    else if (e->k == 2) fputs(e->i ? \"True\" : \"False\", f);\n"
                   "    else fprintf(f, \"%lld\", (long long)e->i);\n"
                   "  }\n"
                   "  fputc(']', f);\n"
                   "}\n"},
};

/* Which helpers call ttc_int_overflow, written first when any of them is used. */
static bool uses_overflow(CgHelper h) {
  return h != CG_H_POWF && h != CG_H_DIV && h != CG_H_STEP && h != CG_H_REMAINDER && h != CG_H_WALL &&
         h != CG_H_KEYPOS;  /* CG_H_LIST's sum does */
}

const char *cg_helper(Cg *cg, CgHelper h) {
  cg->helpers[h] = true;
  return helpers[h].name;
}

void cg_emit_helpers(Cg *cg) {
  bool any = false, overflow = false;
  for (int h = 0; h < CG_H__COUNT; h++) {
    any |= cg->helpers[h];
    overflow |= cg->helpers[h] && uses_overflow((CgHelper)h);
  }
  if (!any) return;
  fputs("/* checked operations: Python's semantics where C's differ (codegen/checks.c) */\n",
        cg->out);
  if (overflow)
    fputs("static _Noreturn void ttc_int_overflow(const char *where) {\n"
          "  tt_fatal(\"%s: integer overflow: ttc's ints are 64-bit (Python's would grow)\", "
          "where);\n"
          "}\n",
          cg->out);
  for (int h = 0; h < CG_H__COUNT; h++)
    if (cg->helpers[h]) fputs(helpers[h].text, cg->out);
  fputc('\n', cg->out);
}
