/*
 * print.c — print(tensor) exactly as PyTorch 1.13 writes it, and Python's repr(float).
 *
 * A line-by-line port of torch/_tensor_str.py with the default print options, so that the
 * output of a compiled program can be diffed against the same program run by PyTorch.
 * The text is built in a growable buffer first because the suffix placement
 * (_add_suffixes) depends on the length of the last line written.
 */
#include "tt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* torch._tensor_str.PRINT_OPTS defaults */
#define PRECISION 4
#define THRESHOLD 1000
#define EDGEITEMS 3
#define LINEWIDTH 80
#define MAX_RANK 32

/* ---- a growable string ---------------------------------------------------------------- */

typedef struct Buf {
  char *s;
  size_t len, cap;
} Buf;

static void buf_grow(Buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 256;
  while (cap < b->len + extra + 1)
    cap *= 2;
  char *s = realloc(b->s, cap);
  if (!s)
    tt_fatal("out of memory while printing a tensor");
  b->s = s;
  b->cap = cap;
}

static void buf_putn(Buf *b, const char *s, size_t n) {
  buf_grow(b, n);
  memcpy(b->s + b->len, s, n);
  b->len += n;
  b->s[b->len] = '\0';
}

static void buf_puts(Buf *b, const char *s) { buf_putn(b, s, strlen(s)); }

static void buf_spaces(Buf *b, int n) {
  for (int i = 0; i < n; i++)
    buf_putn(b, " ", 1);
}

/* ---- element access --------------------------------------------------------------------- */

typedef struct Tensor {
  TtDType dt;
  const void *data;
  int rank;
  const int64_t *shape;
  int64_t stride[MAX_RANK]; /* row-major, in elements */
} Tensor;

static bool is_floating(TtDType dt) { return dt == TT_F32 || dt == TT_F64; }

static double get_f(const Tensor *t, int64_t i) {
  return t->dt == TT_F32 ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
}

static int64_t get_i(const Tensor *t, int64_t i) {
  switch (t->dt) {
  case TT_I64: return ((const int64_t *)t->data)[i];
  case TT_I32: return ((const int32_t *)t->data)[i];
  case TT_I8: return ((const int8_t *)t->data)[i];
  case TT_BOOL: return ((const bool *)t->data)[i] ? 1 : 0;
  default: return 0;
  }
}

/* ---- _Formatter --------------------------------------------------------------------------- */

typedef struct Formatter {
  bool floating, int_mode, sci_mode;
  int max_width;
  /* statistics of the nonzero finite values, gathered in the first pass */
  int64_t nnz;
  double min_abs, max_abs;
} Formatter;

/* Python's "{}".format / "{:.Nf}" / "{:.Ne}" for one value: nan and inf have no sign
 * for nan, and "inf"/"-inf", exactly as Python spells them (C would write "-nan"). */
static int fmt_float(char *out, size_t n, double v, char conv, int prec) {
  if (isnan(v))
    return snprintf(out, n, "nan");
  if (isinf(v))
    return snprintf(out, n, v > 0 ? "inf" : "-inf");
  return conv == 'e' ? snprintf(out, n, "%.*e", prec, v) : snprintf(out, n, "%.*f", prec, v);
}

static int fmt_int(char *out, size_t n, TtDType dt, int64_t v) {
  if (dt == TT_BOOL)
    return snprintf(out, n, "%s", v ? "True" : "False");
  return snprintf(out, n, "%lld", (long long)v);
}

typedef void (*Visit)(Formatter *f, const Tensor *t, int64_t index);

/* Visits the elements that get_summarized_data keeps (all of them when not summarizing). */
static void visit_summarized(Formatter *f, const Tensor *t, int dim, int64_t base, bool summarize,
                             Visit fn) {
  if (dim == t->rank) {
    fn(f, t, base);
    return;
  }
  int64_t size = t->shape[dim];
  for (int64_t i = 0; i < size; i++) {
    if (summarize && size > 2 * EDGEITEMS && i == EDGEITEMS)
      i = size - EDGEITEMS;
    visit_summarized(f, t, dim + 1, base + i * t->stride[dim], summarize, fn);
  }
}

static void visit_stats(Formatter *f, const Tensor *t, int64_t i) {
  if (!f->floating) {
    char s[32];
    int w = fmt_int(s, sizeof s, t->dt, get_i(t, i));
    if (w > f->max_width)
      f->max_width = w;
    return;
  }
  double v = get_f(t, i);
  if (!isfinite(v) || v == 0.0)
    return;
  double a = fabs(v);
  if (f->nnz == 0 || a < f->min_abs)
    f->min_abs = a;
  if (f->nnz == 0 || a > f->max_abs)
    f->max_abs = a;
  f->nnz++;
  if (v != ceil(v))
    f->int_mode = false;
}

static void visit_width(Formatter *f, const Tensor *t, int64_t i) {
  double v = get_f(t, i);
  if (!isfinite(v) || v == 0.0)
    return;
  char s[400];
  int w;
  if (f->sci_mode)
    w = fmt_float(s, sizeof s, v, 'e', PRECISION);
  else if (f->int_mode)
    w = fmt_float(s, sizeof s, v, 'f', 0) + 1;
  else
    w = fmt_float(s, sizeof s, v, 'f', PRECISION);
  if (w > f->max_width)
    f->max_width = w;
}

static void formatter_init(Formatter *f, const Tensor *t, bool summarize) {
  memset(f, 0, sizeof *f);
  f->floating = is_floating(t->dt);
  f->int_mode = true;
  f->max_width = 1;
  visit_summarized(f, t, 0, 0, summarize, visit_stats);
  if (!f->floating || f->nnz == 0)
    return;
  double ratio = f->max_abs / f->min_abs;
  if (f->int_mode)
    f->sci_mode = ratio > 1000.0 || f->max_abs > 1.0e8;
  else
    f->sci_mode = ratio > 1000.0 || f->max_abs > 1.0e8 || f->min_abs < 1.0e-4;
  visit_summarized(f, t, 0, 0, summarize, visit_width);
}

static void formatter_put(const Formatter *f, Buf *b, const Tensor *t, int64_t i) {
  char s[400];
  int n;
  if (f->floating) {
    double v = get_f(t, i);
    if (f->sci_mode) {
      n = fmt_float(s, sizeof s, v, 'e', PRECISION);
    } else if (f->int_mode) {
      n = fmt_float(s, sizeof s, v, 'f', 0);
      if (isfinite(v))
        s[n++] = '.', s[n] = '\0';
    } else {
      n = fmt_float(s, sizeof s, v, 'f', PRECISION);
    }
  } else {
    n = fmt_int(s, sizeof s, t->dt, get_i(t, i));
  }
  buf_spaces(b, f->max_width - n);
  buf_putn(b, s, (size_t)n);
}

/* ---- _vector_str and _tensor_str_with_formatter ------------------------------------------- */

static void vector_str(Buf *b, const Tensor *t, int64_t base, int indent, bool summarize,
                       const Formatter *f) {
  int element_length = f->max_width + 2;
  int per_line = (int)floor((double)(LINEWIDTH - indent) / element_length);
  if (per_line < 1)
    per_line = 1;
  int64_t size = t->shape[t->rank - 1];
  int64_t stride = t->stride[t->rank - 1];
  bool cut = summarize && size > 2 * EDGEITEMS;
  int64_t nitems = cut ? 2 * EDGEITEMS + 1 : size;
  buf_puts(b, "[");
  for (int64_t k = 0; k < nitems; k++) {
    if (k > 0) {
      if (k % per_line == 0) {
        buf_puts(b, ",\n");
        buf_spaces(b, indent + 1);
      } else {
        buf_puts(b, ", ");
      }
    }
    if (cut && k == EDGEITEMS) {
      buf_puts(b, " ...");
      continue;
    }
    int64_t i = cut && k > EDGEITEMS ? size - (nitems - k) : k;
    formatter_put(f, b, t, base + i * stride);
  }
  buf_puts(b, "]");
}

static void tensor_str(Buf *b, const Tensor *t, int dim, int64_t base, int indent, bool summarize,
                       const Formatter *f) {
  int rest = t->rank - dim; /* self.dim() of the sub-tensor */
  if (rest == 0) {
    formatter_put(f, b, t, base);
    return;
  }
  if (rest == 1) {
    vector_str(b, t, base, indent, summarize, f);
    return;
  }
  int64_t size = t->shape[dim];
  bool cut = summarize && size > 2 * EDGEITEMS;
  buf_puts(b, "[");
  for (int64_t i = 0; i < size; i++) {
    if (i > 0) {
      buf_puts(b, ",");
      for (int k = 0; k < rest - 1; k++)
        buf_puts(b, "\n");
      buf_spaces(b, indent + 1);
    }
    if (cut && i == EDGEITEMS) {
      buf_puts(b, "...");
      buf_puts(b, ",");
      for (int k = 0; k < rest - 1; k++)
        buf_puts(b, "\n");
      buf_spaces(b, indent + 1);
      i = size - EDGEITEMS;
    }
    tensor_str(b, t, dim + 1, base + i * t->stride[dim], indent + 1, summarize, f);
  }
  buf_puts(b, "]");
}

/* ---- _str_intern ------------------------------------------------------------------------------ */

static const char *dtype_name(TtDType dt) {
  switch (dt) {
  case TT_F32: return "torch.float32";
  case TT_F64: return "torch.float64";
  case TT_I64: return "torch.int64";
  case TT_I32: return "torch.int32";
  case TT_I8: return "torch.int8";
  case TT_BOOL: return "torch.bool";
  }
  return "?";
}

/* _add_suffixes: a suffix goes on its own line when it would pass the line width. */
static void add_suffix(Buf *b, size_t *last_line_len, const char *suffix, int indent) {
  size_t n = strlen(suffix);
  if (*last_line_len + n + 2 > LINEWIDTH) {
    buf_puts(b, ",\n");
    buf_spaces(b, indent);
    *last_line_len = (size_t)indent + n;
  } else {
    buf_puts(b, ", ");
    *last_line_len += n + 2;
  }
  buf_puts(b, suffix);
}

void tt_print_tensor(FILE *out, TtDType dt, const void *data, int rank, const int64_t *shape,
                     const TtPrintOpts *opts) {
  if ((unsigned)dt > (unsigned)TT_BOOL)
    tt_fatal("print: unknown dtype %d", (int)dt);
  if (rank < 0 || rank > MAX_RANK || (rank > 0 && !shape))
    tt_fatal("print: bad tensor rank %d", rank);
  Tensor t = {.dt = dt, .data = data, .rank = rank, .shape = shape};
  int64_t numel = 1;
  for (int d = rank - 1; d >= 0; d--) {
    if (shape[d] < 0)
      tt_fatal("print: negative dimension %lld", (long long)shape[d]);
    t.stride[d] = numel;
    if (shape[d] != 0 && numel > INT64_MAX / shape[d])
      tt_fatal("print: tensor too large");
    numel *= shape[d];
  }
  if (numel > 0 && !data)
    tt_fatal("print: tensor has no data");

  Buf b = {0};
  const char *prefix = "tensor(";
  int indent = (int)strlen(prefix);
  buf_puts(&b, prefix);
  char suffixes[3][128];
  int nsuf = 0;
  if (numel == 0) {
    buf_puts(&b, "[]");
    if (rank != 1) {
      Buf sz = {0};
      buf_puts(&sz, "size=(");
      for (int d = 0; d < rank; d++) {
        char num[32];
        snprintf(num, sizeof num, d ? ", %lld" : "%lld", (long long)shape[d]);
        buf_puts(&sz, num);
      }
      buf_puts(&sz, rank == 1 ? ",)" : ")");
      snprintf(suffixes[nsuf++], sizeof suffixes[0], "%s", sz.s);
      free(sz.s);
    }
    if (dt != TT_F32)
      snprintf(suffixes[nsuf++], sizeof suffixes[0], "dtype=%s", dtype_name(dt));
  } else {
    if (dt != TT_F32 && dt != TT_I64 && dt != TT_BOOL)
      snprintf(suffixes[nsuf++], sizeof suffixes[0], "dtype=%s", dtype_name(dt));
    bool summarize = numel > THRESHOLD;
    Formatter f;
    formatter_init(&f, &t, summarize);
    tensor_str(&b, &t, 0, 0, indent, summarize, &f);
  }
  if (opts && opts->gradfn)
    snprintf(suffixes[nsuf++], sizeof suffixes[0], "grad_fn=<%s>", opts->gradfn);
  else if (opts && opts->requires_grad)
    snprintf(suffixes[nsuf++], sizeof suffixes[0], "requires_grad=True");

  const char *nl = strrchr(b.s, '\n');
  /* Python: len(s) - s.rfind("\n") + 1, where rfind gives -1 when there is no newline */
  size_t last_line_len = b.len - (nl ? (size_t)(nl - b.s) : (size_t)-1) + 1;
  for (int k = 0; k < nsuf; k++)
    add_suffix(&b, &last_line_len, suffixes[k], indent);
  buf_puts(&b, ")");

  if (opts && opts->param)
    fputs("Parameter containing:\n", out);
  fputs(b.s, out);
  free(b.s);
}

/* ---- repr(float) ----------------------------------------------------------------------------- */

/* Shortest decimal digits that read back as v (v finite, positive): digits without
 * trailing zeros into dig, and the decimal exponent of the first digit. Tries 1..17
 * significant digits; at each length the correctly rounded candidate is the closest, and
 * its neighbour on the other side of v can still round-trip where the gap to the next
 * double is asymmetric (v a power of two), so that one is tried too. */
static int shortest_digits(double v, char *dig, int *exp10) {
  char s[64];
  for (int p = 1; p <= 17; p++) {
    snprintf(s, sizeof s, "%.*e", p - 1, v);
    double back = strtod(s, NULL);
    /* mantissa digits and exponent of the candidate */
    uint64_t m = 0;
    char *e = strchr(s, 'e');
    for (char *c = s; c < e; c++)
      if (*c >= '0' && *c <= '9')
        m = m * 10 + (uint64_t)(*c - '0');
    int x = atoi(e + 1);
    if (back != v) {
      uint64_t alt = back < v ? m + 1 : m - 1;
      char t[64];
      snprintf(t, sizeof t, "%llue%d", (unsigned long long)alt, x - (p - 1));
      if (alt == 0 || strtod(t, NULL) != v)
        continue;
      /* alt may have p + 1 digits (9.99 -> 10.00) or p - 1 (1.00 -> 0.99): renormalise */
      int len = snprintf(s, sizeof s, "%llu", (unsigned long long)alt);
      x = x - (p - 1) + (len - 1);
      m = alt;
    }
    int len = snprintf(dig, 32, "%llu", (unsigned long long)m);
    while (len > 1 && dig[len - 1] == '0')
      dig[--len] = '\0';
    *exp10 = x;
    return len;
  }
  /* %.16e always round-trips, so this is not reached */
  return snprintf(dig, 32, "0");
}

char *tt_pyfloat_repr(double v, char *buf, size_t n) {
  if (!buf || n == 0)
    return buf;
  if (isnan(v)) {
    snprintf(buf, n, "nan");
    return buf;
  }
  if (isinf(v)) {
    snprintf(buf, n, v > 0 ? "inf" : "-inf");
    return buf;
  }
  char out[64];
  size_t o = 0;
  if (signbit(v))
    out[o++] = '-';
  v = fabs(v);
  if (v == 0.0) {
    snprintf(buf, n, "%s0.0", o ? "-" : "");
    return buf;
  }
  char dig[32];
  int x = 0;
  int nd = shortest_digits(v, dig, &x);
  if (x < -4 || x >= 16) {
    out[o++] = dig[0];
    if (nd > 1) {
      out[o++] = '.';
      for (int i = 1; i < nd; i++)
        out[o++] = dig[i];
    }
    o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", x < 0 ? '-' : '+', abs(x));
  } else if (x >= 0) {
    for (int i = 0; i <= x; i++)
      out[o++] = i < nd ? dig[i] : '0';
    out[o++] = '.';
    if (nd > x + 1)
      for (int i = x + 1; i < nd; i++)
        out[o++] = dig[i];
    else
      out[o++] = '0';
  } else {
    out[o++] = '0';
    out[o++] = '.';
    for (int i = 0; i < -x - 1; i++)
      out[o++] = '0';
    for (int i = 0; i < nd; i++)
      out[o++] = dig[i];
  }
  out[o] = '\0';
  snprintf(buf, n, "%s", out);
  return buf;
}

/* ---- host values: str() and format() ------------------------------------------------- */

/* A parsed format spec: [[fill]align][sign][#][0][width][,|_][.precision][type]. */
typedef struct Spec {
  char fill, align, sign, type, sep;
  bool alt;
  int width, prec; /* prec -1: not given */
} Spec;

static const char *spec_parse(const char *s, Spec *sp) {
  *sp = (Spec){' ', 0, '-', 0, 0, false, 0, -1};
  bool fill_given = false;
  size_t len = strlen(s);
  if (len >= 2 && strchr("<>=^", s[1])) {
    sp->fill = s[0];
    sp->align = s[1];
    fill_given = true;
    s += 2;
  } else if (len >= 1 && strchr("<>=^", s[0])) {
    sp->align = *s++;
  }
  if (*s && strchr("+- ", *s))
    sp->sign = *s++;
  if (*s == '#') {
    sp->alt = true;
    s++;
  }
  if (*s == '0') {
    /* '0' before the width: zero padding between the sign and the digits, unless an
     * alignment was given explicitly (Python 3.10+) */
    if (!fill_given)
      sp->fill = '0';
    if (!sp->align)
      sp->align = '=';
    s++;
  }
  while (*s >= '0' && *s <= '9') {
    if (sp->width > 100000)
      return "width too big";
    sp->width = sp->width * 10 + (*s++ - '0');
  }
  if (*s == ',' || *s == '_') {
    sp->sep = *s++;
    if (*s == ',' || *s == '_')
      return "cannot specify both ',' and '_'";
  }
  if (*s == '.') {
    s++;
    if (!(*s >= '0' && *s <= '9'))
      return "format specifier missing precision";
    sp->prec = 0;
    while (*s >= '0' && *s <= '9') {
      if (sp->prec > 1000)
        return "precision too big";
      sp->prec = sp->prec * 10 + (*s++ - '0');
    }
  }
  if (*s) {
    if (!strchr("dfFeEgG%", *s) || s[1])
      return "invalid format specifier";
    sp->type = *s;
  }
  return NULL;
}

/*
 * The digits of the integer part with thousands separators, zero-padded to min_width
 * when the fill is '0' with '=' alignment: a port of CPython's
 * _PyUnicode_InsertThousandsGrouping, which groups the padding zeros too
 * (format(1234, '08,') == '0,001,234'). Writes right to left into out, returns the start.
 */
static char *group_digits(const char *dig, int nd, char sep, int min_width, char *end) {
  char *o = end;
  *o = '\0';
  if (!sep) { /* zero padding, if any, is the '=' fill */
    o -= nd;
    memcpy(o, dig, (size_t)nd);
    return o;
  }
  int remaining = nd;
  for (bool use_sep = false;; use_sep = true) {
    int want = remaining > min_width ? remaining : min_width;
    int l = want < 1 ? 1 : (want < 3 ? want : 3);
    int zeros = l - remaining > 0 ? l - remaining : 0;
    int chars = remaining < l ? (remaining > 0 ? remaining : 0) : l;
    if (use_sep)
      *--o = sep;
    for (int i = 0; i < chars; i++)
      *--o = dig[remaining - 1 - i];
    for (int i = 0; i < zeros; i++)
      *--o = '0';
    remaining -= chars;
    min_width -= l;
    if (remaining <= 0 && min_width <= 0)
      return o;
    min_width -= 1;
  }
}

/* Lays out sign, integer digits, and the rest (point, fraction, exponent, '%') into the
 * field, as CPython's calc_number_widths / fill_number do. */
static void emit_number(FILE *f, const Spec *sp, bool neg, const char *intdig, int nd,
                        const char *rest) {
  char sign = neg ? '-' : (sp->sign == '+' ? '+' : (sp->sign == ' ' ? ' ' : 0));
  int nrest = (int)strlen(rest);
  int min_width = 0;
  if (sp->fill == '0' && sp->align == '=')
    min_width = sp->width - (sign ? 1 : 0) - nrest;
  /* digits + separators fit in 4/3 of the larger of nd and min_width */
  int cap = (nd > min_width ? nd : min_width) * 2 + 8;
  char *gbuf = malloc((size_t)cap);
  if (!gbuf)
    tt_fatal("out of memory (formatting a number)");
  char *g = group_digits(intdig, nd, sp->sep, min_width, gbuf + cap - 1);
  int total = (sign ? 1 : 0) + (int)strlen(g) + nrest;
  int pad = sp->width > total ? sp->width - total : 0;
  int lpad = 0, rpad = 0, spad = 0;
  switch (sp->align ? sp->align : '>') {
  case '<': rpad = pad; break;
  case '^': lpad = pad / 2; rpad = pad - lpad; break;
  case '=': spad = pad; break;
  default: lpad = pad; break;
  }
  for (int i = 0; i < lpad; i++)
    fputc(sp->fill, f);
  if (sign)
    fputc(sign, f);
  for (int i = 0; i < spad; i++)
    fputc(sp->fill, f);
  fputs(g, f);
  fputs(rest, f);
  for (int i = 0; i < rpad; i++)
    fputc(sp->fill, f);
  free(gbuf);
}

static void format_int(FILE *f, const Spec *sp, int64_t v) {
  char dig[32];
  uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  int nd = snprintf(dig, sizeof dig, "%llu", (unsigned long long)m);
  emit_number(f, sp, v < 0, dig, nd, "");
}

/* The text of |v| in the spec's type, before any padding or grouping. */
static void float_text(const Spec *sp, double a, char *out, size_t n) {
  char type = sp->type;
  int prec = sp->prec;
  bool upper = type == 'F' || type == 'E' || type == 'G';
  if (isnan(a) || isinf(a)) {
    snprintf(out, n, "%s", isnan(a) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"));
    if (type == '%')
      strncat(out, "%", n - strlen(out) - 1);
    return;
  }
  switch (type) {
  case 'f': case 'F':
    snprintf(out, n, sp->alt ? "%#.*f" : "%.*f", prec < 0 ? 6 : prec, a);
    break;
  case '%':
    snprintf(out, n, sp->alt ? "%#.*f%%" : "%.*f%%", prec < 0 ? 6 : prec, a * 100.0);
    break;
  case 'e': case 'E':
    snprintf(out, n, sp->alt ? (upper ? "%#.*E" : "%#.*e") : (upper ? "%.*E" : "%.*e"),
             prec < 0 ? 6 : prec, a);
    break;
  case 'g': case 'G':
    snprintf(out, n, sp->alt ? (upper ? "%#.*G" : "%#.*g") : (upper ? "%.*G" : "%.*g"),
             prec < 0 ? 6 : (prec == 0 ? 1 : prec), a);
    break;
  default:
    if (prec < 0) {
      tt_pyfloat_repr(a, out, n); /* str(float) */
    } else {
      /* like 'g', but fixed-point keeps one digit after the point ('.3' of 1.0 is 1.0),
       * and so switches to an exponent one digit earlier (CPython's format_float_short
       * with Py_DTSF_ADD_DOT_0: '.3' of 100.0 is 1e+02) */
      int p = prec == 0 ? 1 : prec;
      char e[1200];
      snprintf(e, sizeof e, sp->alt ? "%#.*e" : "%.*e", p - 1, a);
      char *ep = strchr(e, 'e');
      int x = atoi(ep + 1);
      if (x < -4 || x >= p - 1) {
        size_t m = (size_t)(ep - e);
        if (!sp->alt) {
          while (m > 1 && e[m - 1] == '0')
            m--;
          if (e[m - 1] == '.')
            m--;
        }
        snprintf(out, n, "%.*s%s", (int)m, e, ep);
      } else {
        snprintf(out, n, sp->alt ? "%#.*f" : "%.*f", p - 1 - x, a);
        size_t m = strlen(out);
        if (!sp->alt && strchr(out, '.'))
          while (m > 1 && out[m - 1] == '0')
            out[--m] = '\0';
        if (out[m - 1] == '.')
          strncat(out, "0", n - m - 1);
        else if (!strchr(out, '.'))
          strncat(out, ".0", n - m - 1);
      }
    }
    break;
  }
}

static void format_float(FILE *f, const Spec *sp, double v) {
  char text[1200];
  bool neg = signbit(v) && !isnan(v); /* Python never prints a sign on a NaN */
  float_text(sp, fabs(v), text, sizeof text);
  /* split the integer digits (grouped and zero-padded) from the rest */
  int nd = 0;
  while (text[nd] >= '0' && text[nd] <= '9')
    nd++;
  if (nd == 0) { /* nan, inf: no digits to group */
    Spec plain = *sp;
    plain.sep = 0; /* Python pads inf and nan with zeros but never groups them */
    emit_number(f, &plain, neg, "", 0, text);
    return;
  }
  char dig[1200];
  memcpy(dig, text, (size_t)nd);
  dig[nd] = '\0';
  emit_number(f, sp, neg, dig, nd, text + nd);
}

/* format(v, spec) with Python's rules; see tt.h. An invalid spec is a fatal error, as
 * Python raises ValueError (the compiler checks literal specs before this runs). */
void tt_print_host(FILE *f, double v, bool isint, bool isbool, const char *spec) {
  if (!spec || !*spec) {
    char buf[64];
    if (isbool)
      fputs(v != 0.0 ? "True" : "False", f);
    else if (isint)
      fprintf(f, "%lld", (long long)v);
    else
      fputs(tt_pyfloat_repr(v, buf, sizeof buf), f);
    return;
  }
  Spec sp;
  const char *err = spec_parse(spec, &sp);
  if (err)
    tt_fatal("invalid format spec '%s': %s", spec, err);
  if (isint || isbool) {
    if (sp.type == 'd' || sp.type == 0) {
      if (sp.prec >= 0)
        tt_fatal("invalid format spec '%s': precision not allowed in integer format specifier",
                 spec);
      if (!(v >= -9223372036854775808.0 && v < 9223372036854775808.0))
        tt_fatal("integer value out of range in format");
      format_int(f, &sp, (int64_t)v);
    } else {
      format_float(f, &sp, v); /* format(3, '.2f') formats 3.0 */
    }
    return;
  }
  if (sp.type == 'd') {
    /* Python rejects 'd' for a float; we print its integer part, which is what the
     * program most likely meant. */
    if (isfinite(v) && v >= -9223372036854775808.0 && v < 9223372036854775808.0) {
      if (sp.prec >= 0)
        sp.prec = -1;
      format_int(f, &sp, (int64_t)v);
      return;
    }
    sp.type = 0;
  }
  if (sp.align == 0)
    sp.align = '>';
  format_float(f, &sp, v);
}

/* ---- host arithmetic: Python's // and % -------------------------------------------- */

int64_t tt_floordiv_i64(int64_t a, int64_t b, const char *where) {
  if (b == 0)
    tt_fatal("%s: integer division or modulo by zero", where ? where : "?");
  if (a == INT64_MIN && b == -1)
    tt_fatal("%s: integer overflow in //", where ? where : "?");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0)))
    q--;
  return q;
}

int64_t tt_mod_i64(int64_t a, int64_t b, const char *where) {
  if (b == 0)
    tt_fatal("%s: integer division or modulo by zero", where ? where : "?");
  if (b == -1)
    return 0; /* also avoids INT64_MIN % -1, which traps */
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0)))
    r += b;
  return r;
}

/* CPython's float_divmod, so that the edge cases (signed zeros, results that fall on an
 * integer after rounding) come out as Python's. */
static void float_divmod(double vx, double wx, double *floordiv, double *mod) {
  double m = fmod(vx, wx);
  double div = (vx - m) / wx;
  if (m != 0.0) {
    if ((wx < 0) != (m < 0)) {
      m += wx;
      div -= 1.0;
    }
  } else {
    m = copysign(0.0, wx);
  }
  double fd;
  if (div != 0.0) {
    fd = floor(div);
    if (div - fd > 0.5)
      fd += 1.0;
  } else {
    fd = copysign(0.0, vx / wx);
  }
  *floordiv = fd;
  *mod = m;
}

double tt_floordiv_f64(double a, double b, const char *where) {
  if (b == 0.0)
    tt_fatal("%s: float floor division by zero", where ? where : "?");
  double q, r;
  float_divmod(a, b, &q, &r);
  return q;
}

double tt_mod_f64(double a, double b, const char *where) {
  if (b == 0.0)
    tt_fatal("%s: float modulo by zero", where ? where : "?");
  double q, r;
  float_divmod(a, b, &q, &r);
  return r;
}

double tt_round_digits(double x, int64_t n) {
  if (!isfinite(x) || n > 330)
    return x;
  if (n < 0) {
    if (n < -330)
      return copysign(0.0, x);
    double m = pow(10.0, (double)-n);
    return nearbyint(x / m) * m;
  }
  /* printf rounds the exact binary value correctly; strtod returns the nearest double:
     what Python's round does with its own dtoa */
  char buf[720];
  snprintf(buf, sizeof buf, "%.*f", (int)n, x);
  return strtod(buf, NULL);
}
