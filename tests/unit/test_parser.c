/*
 * test_parser.c — the grammar, through ast_dump, and the syntax errors, in full.
 *
 * Each construct of docs/LANGUAGE.md's grammar has a case here; error cases compare the
 * whole message, source line and caret (and the note, where there is one).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "frontend/frontend.h"

static char err_buf[4096];

/* Parses len bytes of text; returns the dump, or "ERR" with the diagnostic in err_buf. */
static const char *parse_n(const char *text, size_t len) {
  static char *out;
  static size_t outlen;
  free(out);
  Source *s = malloc(sizeof *s + len + 1);
  char *copy = (char *)(s + 1);
  memcpy(copy, text, len);
  copy[len] = '\0';
  s->name = "m.tt";
  s->text = copy;
  s->len = len;
  s->base = 0; /* the main file: its text starts the offset space */
  s->next = NULL;
  Arena *a = arena_new();
  FILE *ef = fmemopen(err_buf, sizeof err_buf, "w");
  Diag d = {.src = s, .out = ef};
  Ast *root = parse_program(s, a, &d);
  fclose(ef);
  FILE *f = open_memstream(&out, &outlen);
  if (root) {
    assert_int_equal(d.nerrors, 0);
    assert_int_equal(root->kind, AST_BLOCK);
    ast_dump(f, root);
  } else {
    assert_true(d.nerrors > 0);
    fputs("ERR", f);
  }
  fclose(f);
  arena_free(a);
  free(s);
  return out;
}

static const char *parse(const char *text) {
  return parse_n(text, strlen(text));
}

static const char *parse_error(const char *text) {
  assert_string_equal(parse(text), "ERR");
  return err_buf;
}

/* ---- statements ---------------------------------------------------------------------- */

static void seed_example(void **state) {
  assert_string_equal(parse("x = Tensor([[1., 2.]], requires_grad=True)\n"
                            "layer = Linear(2, 1)\n"
                            "y = layer(x)\n"
                            "y.backward()\n"
                            "print(x.grad)\n"),
                      "(assign (name x) (call (name Tensor) (list (list (float 1) (float 2))) "
                      "(kwarg requires_grad (bool 1))))\n"
                      "(assign (name layer) (call (name Linear) (int 2) (int 1)))\n"
                      "(assign (name y) (call (name layer) (name x)))\n"
                      "(expr (call (attr (name y) backward)))\n"
                      "(expr (call (name print) (attr (name x) grad)))\n");
}

static void class_and_def(void **state) {
  assert_string_equal(parse("class MLP(Module):\n"
                            "    def __init__(self, hidden=256):\n"
                            "        self.fc1 = Linear(784, hidden)\n"
                            "\n"
                            "    def forward(self, x):\n"
                            "        return self.fc1(x)\n"
                            "class Empty:\n"
                            "    pass\n"
                            "class E2(): pass\n"),
                      "(class MLP (name Module) (block (def __init__ ((name self) (kwarg hidden "
                      "(int 256))) (block (assign (attr (name self) fc1) (call (name Linear) "
                      "(int 784) (name hidden))))) (def forward ((name self) (name x)) (block "
                      "(return (call (attr (name self) fc1) (name x)))))))\n"
                      "(class Empty _ (block (pass)))\n"
                      "(class E2 _ (block (pass)))\n");
  /* annotations are accepted and dropped; a trailing comma is fine */
  assert_string_equal(parse("def f(x: Tensor, n: int = 2,) -> Tensor:\n    return x, n\n"
                            "def g(): return\n"),
                      "(def f ((name x) (kwarg n (int 2))) (block (return (tuple (name x) "
                      "(name n)))))\n"
                      "(def g () (block (return)))\n");
}

static void assignments(void **state) {
  assert_string_equal(parse("a, b = b, a\n"
                            "(c, d) = [e, f] = 1, 2\n"
                            "x.y[0] = z\n"
                            "a = b = 1\n"
                            "t = 1,\n"),
                      "(assign (tuple (name a) (name b)) (tuple (name b) (name a)))\n"
                      "(assign (tuple (name c) (name d)) (tuple (int 1) (int 2)))\n"
                      "(assign (list (name e) (name f)) (tuple (name c) (name d)))\n"
                      "(assign (index (attr (name x) y) (int 0)) (name z))\n"
                      "(assign (name a) (int 1))\n"
                      "(assign (name b) (name a))\n"
                      "(assign (name t) (tuple (int 1)))\n");
  assert_string_equal(parse("a += 1\nb -= 1\nc *= 2\nd /= 2\ne //= 2\nf %= 2\ng **= 2\n"
                            "h @= w\nself.n += 1\nx[i] -= y\n"),
                      "(augassign + (name a) (int 1))\n(augassign - (name b) (int 1))\n"
                      "(augassign * (name c) (int 2))\n(augassign / (name d) (int 2))\n"
                      "(augassign // (name e) (int 2))\n(augassign % (name f) (int 2))\n"
                      "(augassign ** (name g) (int 2))\n(augassign @ (name h) (name w))\n"
                      "(augassign + (attr (name self) n) (int 1))\n"
                      "(augassign - (index (name x) (name i)) (name y))\n");
}

static void simple_statements(void **state) {
  assert_string_equal(parse("pass\nbreak\ncontinue\nreturn\nreturn a, b\n"
                            "assert x\nassert x > 0, 'must be positive'\n"
                            "a = 1; b = 2;\n"),
                      "(pass)\n(break)\n(continue)\n(return)\n"
                      "(return (tuple (name a) (name b)))\n"
                      "(assert (name x))\n"
                      "(assert (compare > (name x) (int 0)) (str \"must be positive\"))\n"
                      "(assign (name a) (int 1))\n(assign (name b) (int 2))\n");
  assert_string_equal(parse("import torch\nimport torch.nn.functional as F\n"
                            "from torch import nn, optim as o\n"
                            "from a.b import (x,\n    y as z,)\n"),
                      "(import torch)\n(import torch.nn.functional (name F))\n"
                      "(fromimport torch nn (optim o))\n(fromimport a.b x (y z))\n");
}

static void control_flow(void **state) {
  assert_string_equal(parse("if a:\n    x = 1\nelif b:\n    x = 2\nelif c: x = 3\nelse:\n"
                            "    x = 4\n"),
                      "(if (name a) (block (assign (name x) (int 1))) (if (name b) (block "
                      "(assign (name x) (int 2))) (if (name c) (block (assign (name x) "
                      "(int 3))) (block (assign (name x) (int 4))))))\n");
  assert_string_equal(parse("if a: pass\n"), "(if (name a) (block (pass)))\n");
  assert_string_equal(parse("for epoch in range(5):\n"
                            "    for x, y in train:\n"
                            "        opt.step()\n"
                            "for i in 1, 2: print(i)\n"),
                      "(for (name epoch) (call (name range) (int 5)) (block (for (tuple (name x) "
                      "(name y)) (name train) (block (expr (call (attr (name opt) step)))))))\n"
                      "(for (name i) (tuple (int 1) (int 2)) (block (expr (call (name print) "
                      "(name i)))))\n");
  assert_string_equal(parse("while i < n:\n    i += 1\n"),
                      "(while (compare < (name i) (name n)) (block (augassign + (name i) "
                      "(int 1))))\n");
  assert_string_equal(parse("with no_grad():\n    y = f(x)\nwith open(p) as f: pass\n"),
                      "(with (call (name no_grad)) _ (block (assign (name y) (call (name f) "
                      "(name x)))))\n"
                      "(with (call (name open) (name p)) (name f) (block (pass)))\n");
}

/* ---- expressions --------------------------------------------------------------------- */

static void precedence(void **state) {
  assert_string_equal(parse("a + b * c - d / e // f % g @ h\n"),
                      "(expr (binop - (binop + (name a) (binop * (name b) (name c))) (binop @ "
                      "(binop % (binop // (binop / (name d) (name e)) (name f)) (name g)) "
                      "(name h))))\n");
  /* ** is right-associative and binds tighter than unary minus on its left */
  assert_string_equal(parse("-x ** 2\n2 ** 3 ** 4\n2 ** -1\n-+a\n"),
                      "(expr (unary - (binop ** (name x) (int 2))))\n"
                      "(expr (binop ** (int 2) (binop ** (int 3) (int 4))))\n"
                      "(expr (binop ** (int 2) (unary - (int 1))))\n"
                      "(expr (unary - (unary + (name a))))\n");
  assert_string_equal(parse("a or b and not c == d + 1\n"),
                      "(expr (boolop or (name a) (boolop and (name b) (unary not (compare == "
                      "(name c) (binop + (name d) (int 1)))))))\n");
  assert_string_equal(parse("x = a if c else b if d else e\n"),
                      "(assign (name x) (ifexp (name c) (name a) (ifexp (name d) (name b) "
                      "(name e))))\n");
}

static void comparisons(void **state) {
  assert_string_equal(parse("a == b\na != b\na < b\na <= b\na > b\na >= b\n"
                            "a is None\na is not None\na in b\na not in b\n"),
                      "(expr (compare == (name a) (name b)))\n(expr (compare != (name a) "
                      "(name b)))\n(expr (compare < (name a) (name b)))\n(expr (compare <= "
                      "(name a) (name b)))\n(expr (compare > (name a) (name b)))\n(expr (compare "
                      ">= (name a) (name b)))\n(expr (compare is (name a) (none)))\n(expr "
                      "(compare is-not (name a) (none)))\n(expr (compare in (name a) (name b)))\n"
                      "(expr (compare not-in (name a) (name b)))\n");
  /* chains are nested ANDs of compares */
  assert_string_equal(parse("0 <= i < n <= m\n"),
                      "(expr (boolop and (boolop and (compare <= (int 0) (name i)) (compare < "
                      "(name i) (name n))) (compare <= (name n) (name m))))\n");
}

static void primaries(void **state) {
  assert_string_equal(parse("f()\nf(a, b,)\nf(a, k=v, j=1,)\nx.y.z\nf(x)(y)[0].w\n"),
                      "(expr (call (name f)))\n(expr (call (name f) (name a) (name b)))\n"
                      "(expr (call (name f) (name a) (kwarg k (name v)) (kwarg j (int 1))))\n"
                      "(expr (attr (attr (name x) y) z))\n"
                      "(expr (attr (index (call (call (name f) (name x)) (name y)) (int 0)) w))\n");
  assert_string_equal(parse("x[i]\nx[a:b:c]\nx[:]\nx[::2]\nx[1:]\nx[:, 0]\nx[..., None]\n"
                            "x[i, j]\nx[i,]\n"),
                      "(expr (index (name x) (name i)))\n"
                      "(expr (index (name x) (slice (name a) (name b) (name c))))\n"
                      "(expr (index (name x) (slice _ _ _)))\n"
                      "(expr (index (name x) (slice _ _ (int 2))))\n"
                      "(expr (index (name x) (slice (int 1) _ _)))\n"
                      "(expr (index (name x) (tuple (slice _ _ _) (int 0))))\n"
                      "(expr (index (name x) (tuple (ellipsis) (none))))\n"
                      "(expr (index (name x) (tuple (name i) (name j))))\n"
                      "(expr (index (name x) (tuple (name i))))\n");
}

static void atoms(void **state) {
  assert_string_equal(parse("(None, True, False, ..., 1, 2.5, 'a')\n"),
                      "(expr (tuple (none) (bool 1) (bool 0) (ellipsis) (int 1) (float 2.5) "
                      "(str \"a\")))\n");
  assert_string_equal(parse("()\n(a,)\n(a)\n((a, b),)\n[]\n[1, [2]]\n[a,]\n"),
                      "(expr (tuple))\n(expr (tuple (name a)))\n(expr (name a))\n"
                      "(expr (tuple (tuple (name a) (name b))))\n(expr (list))\n"
                      "(expr (list (int 1) (list (int 2))))\n(expr (list (name a)))\n");
  assert_string_equal(parse("{}\n{'a': 1, b: [2],}\n"),
                      "(expr (dict))\n(expr (dict (str \"a\") (int 1) (name b) (list (int 2))))\n");
  assert_string_equal(parse("x = 1e-3 + 0x10 + 1_000\n"),
                      "(assign (name x) (binop + (binop + (float 0.001) (int 16)) (int 1000)))\n");
}

static void strings_and_fstrings(void **state) {
  assert_string_equal(parse("s = 'a' \"b\" '''c\n''' r'\\d'\n"),
                      "(assign (name s) (str \"abc\\n\\\\d\"))\n");
  assert_string_equal(parse("print(f'epoch {epoch}: loss={loss.item():.4f} {x!r} {{lit}}')\n"),
                      "(expr (call (name print) (fstring (str \"epoch \") (format (name epoch) _ "
                      "_) (str \": loss=\") (format (call (attr (name loss) item)) _ \".4f\") "
                      "(str \" \") (format (name x) !r _) (str \" {lit}\"))))\n");
  /* literal pieces merge across adjacent strings; nested brackets and quotes in fields */
  assert_string_equal(parse("s = 'a' f'b{x}' 'c' f'd\\n'\nt = f\"{d['k']:>8} {f(a, (b))}\"\n"
                            "u = f''\n"),
                      "(assign (name s) (fstring (str \"ab\") (format (name x) _ _) "
                      "(str \"cd\\n\")))\n"
                      "(assign (name t) (fstring (format (index (name d) (str \"k\")) _ \">8\") "
                      "(str \" \") (format (call (name f) (name a) (name b)) _ _)))\n"
                      "(assign (name u) (fstring))\n");
  assert_string_equal(parse("s = rf'\\d{x}'\n"),
                      "(assign (name s) (fstring (str \"\\\\d\") (format (name x) _ _)))\n");
}

static void layout(void **state) {
  /* no trailing newline, CRLF, blank lines and comments, an empty file */
  assert_string_equal(parse("if x:\n    y = 1"), "(if (name x) (block (assign (name y) (int 1))))\n");
  assert_string_equal(parse("if x:\r\n    y = 1\r\n\r\nz = 2\r\n"),
                      "(if (name x) (block (assign (name y) (int 1))))\n(assign (name z) (int 2))\n");
  assert_string_equal(parse("# header\n\n\nx = (1 +\n   2)  # why\n\n"),
                      "(assign (name x) (binop + (int 1) (int 2)))\n");
  assert_string_equal(parse(""), "");
  assert_string_equal(parse("\n\n# nothing\n"), "");
}

/* ---- errors -------------------------------------------------------------------------- */

static void syntax_errors(void **state) {
  assert_string_equal(parse_error("def f(x)\n    return x\n"),
                      "m.tt:1:9: error: expected ':'\ndef f(x)\n        ^\n");
  assert_string_equal(parse_error("x = tensor([1., 2.]\nprint(x)\n"),
                      "m.tt:2:1: error: expected ')'\n"
                      "print(x)\n"
                      "^\n"
                      "m.tt:1:11: note: to match this '('\n"
                      "x = tensor([1., 2.]\n"
                      "          ^\n");
  assert_string_equal(parse_error("y = 1 +\n"),
                      "m.tt:1:8: error: expected an expression\ny = 1 +\n       ^\n");
  /* Lemon's default reductions leave the closer as the one thing expected, as clang says */
  assert_string_equal(parse_error("f(a,,)\n"),
                      "m.tt:1:5: error: expected ')'\n"
                      "f(a,,)\n"
                      "    ^\n"
                      "m.tt:1:2: note: to match this '('\n"
                      "f(a,,)\n"
                      " ^\n");
  assert_string_equal(parse_error("x = 1\n  y = 2\n"),
                      "m.tt:2:3: error: unexpected indent\n  y = 2\n  ^\n");
  assert_string_equal(parse_error("for i in range(3):\nprint(i)\n"),
                      "m.tt:2:1: error: expected an indented block\nprint(i)\n^\n");
  assert_string_equal(parse_error("if x:\n"), "m.tt:2:1: error: expected an indented block\n\n^\n");
  assert_string_equal(parse_error("x = 1 2\n"),
                      "m.tt:1:7: error: expected end of line\nx = 1 2\n      ^\n");
  assert_string_equal(parse_error("else:\n    pass\n"),
                      "m.tt:1:1: error: unexpected 'else'\nelse:\n^\n");
  assert_string_equal(parse_error("x = [1, 2\n"),
                      "m.tt:1:5: error: '[' was never closed\nx = [1, 2\n    ^\n");
  assert_string_equal(parse_error("while x\n"),
                      "m.tt:1:8: error: expected ':'\nwhile x\n       ^\n");
}

static void semantic_errors(void **state) {
  assert_string_equal(parse_error("f(x) = 1\n"),
                      "m.tt:1:1: error: cannot assign to a function call\nf(x) = 1\n^\n");
  assert_string_equal(parse_error("a, 1 = t\n"),
                      "m.tt:1:4: error: cannot assign to a literal\na, 1 = t\n   ^\n");
  assert_string_equal(parse_error("for x + 1 in y: pass\n"),
                      "m.tt:1:7: error: cannot assign to an expression\n"
                      "for x + 1 in y: pass\n"
                      "      ^\n");
  assert_string_equal(parse_error("a, b += 1\n"),
                      "m.tt:1:1: error: cannot use augmented assignment ('+=') on a tuple or list\n"
                      "a, b += 1\n"
                      "^\n");
  assert_string_equal(parse_error("def f(a=1, b): pass\n"),
                      "m.tt:1:12: error: parameter without a default follows one with a default\n"
                      "def f(a=1, b): pass\n"
                      "           ^\n");
  assert_string_equal(parse_error("def f(a, a): pass\n"),
                      "m.tt:1:10: error: duplicate parameter 'a'\ndef f(a, a): pass\n         ^\n");
  assert_string_equal(parse_error("f(k=1, 2)\n"),
                      "m.tt:1:8: error: positional argument follows keyword argument\n"
                      "f(k=1, 2)\n"
                      "       ^\n");
  assert_string_equal(parse_error("f(k=1, k=2)\n"),
                      "m.tt:1:8: error: keyword argument 'k' repeated\nf(k=1, k=2)\n       ^\n");
}

static void unsupported(void **state) {
  assert_string_equal(parse_error("def f(*args): pass\n"),
                      "m.tt:1:7: error: '*args' parameters are not supported\n"
                      "def f(*args): pass\n"
                      "      ^\n");
  assert_string_equal(parse_error("def f(**kw): pass\n"),
                      "m.tt:1:7: error: '**kwargs' parameters are not supported\n"
                      "def f(**kw): pass\n"
                      "      ^\n");
  /* comprehensions parse (generator expressions as lists) */
  assert_string_equal(parse("y = [x * 2 for x in xs if x]\n"),
                      "(assign (name y) (comp (binop * (name x) (int 2)) (for (name x) (name xs) _) (if (name x) _)))\n");
  assert_string_equal(parse("s = sum(x for x in xs)\n"),
                      "(assign (name s) (call (name sum) (comp (name x) (for (name x) (name xs) _))))\n");
  /* unpacking in calls parses (lowering expands it) */
  assert_string_equal(parse("f(x, *a, k=1, **d)\n"),
                      "(expr (call (name f) (name x) (stararg * (name a)) (kwarg k (int 1)) (stararg ** (name d))))\n");
  /* from m import * parses; lowering binds the module's public names (imports.c) */
  assert_string_equal(parse("from m import *\n"), "(fromimport m *)\n");
  assert_string_equal(parse_error("for x in y:\n    pass\nelse:\n    pass\n"),
                      "m.tt:3:1: error: 'for ... else' is not supported\nelse:\n^\n");
}

static void lambdas_and_displays(void **state) {
  /* a lambda keeps its body as a RETURN (the dump shows the expression) */
  assert_string_equal(parse("f = lambda x, y=1: x + y\n"),
                      "(assign (name f) (lambda ((name x) (kwarg y (int 1))) (binop + (name x) (name y))))\n");
  assert_string_equal(parse("g = lambda: 0\n"), "(assign (name g) (lambda () (int 0)))\n");
  assert_string_equal(parse("ys = sorted(xs, key=lambda p: p[1])\n"),
                      "(assign (name ys) (call (name sorted) (name xs) (kwarg key (lambda ((name p)) "
                      "(index (name p) (int 1))))))\n");
  /* the body is a whole test: the conditional expression belongs to it */
  assert_string_equal(parse("h = lambda x,: x if x else -x\n"),
                      "(assign (name h) (lambda ((name x)) (ifexp (name x) (name x) (unary - (name x)))))\n");
  assert_string_equal(parse("t = lambda: 1, 2\n"), "(assign (name t) (tuple (lambda () (int 1)) (int 2)))\n");
  assert_string_equal(parse("k = lambda a=lambda: 1: a()\n"),
                      "(assign (name k) (lambda ((kwarg a (lambda () (int 1)))) (call (name a))))\n");
  /* dict comprehensions: the dict of (key, value) pairs */
  assert_string_equal(parse("d = {k: v for k, v in items if v}\n"),
                      "(assign (name d) (dictcomp (comp (tuple (name k) (name v)) (for (tuple (name k) "
                      "(name v)) (name items) _) (if (name v) _))))\n");
  /* sets; {} stays an empty dict */
  assert_string_equal(parse("s = {1, 2}\n"), "(assign (name s) (set (list (int 1) (int 2))))\n");
  assert_string_equal(parse("s = {1,}\n"), "(assign (name s) (set (list (int 1))))\n");
  assert_string_equal(parse("s = {x for x in y}\n"),
                      "(assign (name s) (set (comp (name x) (for (name x) (name y) _))))\n");
  assert_string_equal(parse("e = {}\n"), "(assign (name e) (dict))\n");
  /* Python's modules that ttc implements are values; torch's stay imports */
  assert_string_equal(parse("import copy\nimport copy as cp\nimport torch\n"),
                      "(assign (name copy) (module copy))\n(assign (name cp) (module copy))\n"
                      "(import torch)\n");
  assert_string_equal(parse("from collections import OrderedDict as OD, Counter\n"),
                      "(assign (name OD) (attr (module collections) OrderedDict))\n"
                      "(assign (name Counter) (attr (module collections) Counter))\n");
  assert_string_equal(parse_error("f = lambda *a: 0\n"),
                      "m.tt:1:12: error: '*args' parameters are not supported\n"
                      "f = lambda *a: 0\n"
                      "           ^\n");
  assert_string_equal(parse_error("f = lambda x, x: 0\n"),
                      "m.tt:1:15: error: duplicate parameter 'x'\n"
                      "f = lambda x, x: 0\n"
                      "              ^\n");
  assert_string_equal(parse_error("f = lambda x=1, y: 0\n"),
                      "m.tt:1:17: error: parameter without a default follows one with a default\n"
                      "f = lambda x=1, y: 0\n"
                      "                ^\n");
  assert_string_equal(parse_error("f = lambda x: y: 0\n"),
                      "m.tt:1:16: error: expected end of line\n"
                      "f = lambda x: y: 0\n"
                      "               ^\n");
  assert_string_equal(parse_error("(lambda: 0) = 1\n"),
                      "m.tt:1:2: error: cannot assign to a lambda\n"
                      "(lambda: 0) = 1\n"
                      " ^\n");
  assert_string_equal(parse_error("{1, 2} = s\n"),
                      "m.tt:1:1: error: cannot assign to a literal\n"
                      "{1, 2} = s\n"
                      "^\n");
}

static void fstring_errors(void **state) {
  /* the field's expression is parsed in place: the caret points inside the string */
  assert_string_equal(parse_error("print(f'loss {a +} done')\n"),
                      "m.tt:1:18: error: expected an expression\n"
                      "print(f'loss {a +} done')\n"
                      "                 ^\n");
  assert_string_equal(parse_error("s = f'{}'\n"),
                      "m.tt:1:8: error: expected an expression\ns = f'{}'\n       ^\n");
  assert_string_equal(parse_error("s = f'a}b'\n"),
                      "m.tt:1:8: error: single '}' is not allowed in an f-string; write '}}'\n"
                      "s = f'a}b'\n"
                      "       ^\n");
  assert_string_equal(parse_error("s = f'{x!q}'\n"),
                      "m.tt:1:10: error: f-string conversion must be !r, !s or !a\n"
                      "s = f'{x!q}'\n"
                      "         ^\n");
  assert_string_equal(parse_error("s = f'{x:{w}}'\n"),
                      "m.tt:1:10: error: nested fields in an f-string format spec are not "
                      "supported\n"
                      "s = f'{x:{w}}'\n"
                      "         ^\n");
  assert_string_equal(parse_error("s = f'{x'\n"),
                      "m.tt:1:9: error: expected '}' to close the f-string field\n"
                      "s = f'{x'\n"
                      "        ^\n"
                      "m.tt:1:7: note: to match this '{'\n"
                      "s = f'{x'\n"
                      "      ^\n");
  assert_string_equal(parse_error("s = f'{(x}'\n"),
                      "m.tt:1:10: error: closing '}' does not match opening '('\n"
                      "s = f'{(x}'\n"
                      "         ^\n"
                      "m.tt:1:8: note: '(' opened here\n"
                      "s = f'{(x}'\n"
                      "       ^\n");
  assert_string_equal(parse_error("s = f'{x + (y'\n"),
                      "m.tt:1:12: error: '(' was never closed\ns = f'{x + (y'\n           ^\n");
  assert_string_equal(parse_error("s = f'{$}'\n"),
                      "m.tt:1:8: error: invalid character '$'\ns = f'{$}'\n       ^\n");
}

/* ---- robustness ---------------------------------------------------------------------- */

static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * (size_t)n + tl + 1), *p = s;
  memcpy(p, head, hl);
  p += hl;
  for (int i = 0; i < n; i++, p += ul)
    memcpy(p, unit, ul);
  memcpy(p, tail, tl + 1);
  return s;
}

static void expect_too_deep(char *text) {
  assert_string_equal(parse(text), "ERR");
  assert_non_null(strstr(err_buf, "error: expression or block nested too deeply\n"));
  free(text);
}

static void deep_nesting(void **state) {
  expect_too_deep(repeat("x = ", "(", 100000, "1\n"));
  expect_too_deep(repeat("x = ", "-", 100000, "1\n"));
  expect_too_deep(repeat("x = ", "not ", 100000, "1\n"));
  expect_too_deep(repeat("x = 1", " ** 1", 100000, "\n"));
  /* left-leaning chains do not grow the parser stack, but would the AST's depth */
  expect_too_deep(repeat("x = 1", " + 1", 100000, "\n"));
  expect_too_deep(repeat("x = a", ".b", 100000, "\n"));
  expect_too_deep(repeat("x = f", "()", 100000, "\n"));
  /* 10000 nested ifs */
  size_t cap = 10000 * 10010, n = 0;
  char *ifs = malloc(cap);
  for (int i = 0; i < 10000; i++) {
    memset(ifs + n, ' ', (size_t)i);
    n += (size_t)i;
    memcpy(ifs + n, "if x:\n", 6);
    n += 6;
  }
  ifs[n] = '\0';
  expect_too_deep(ifs);
  /* what real programs nest stays well inside the limits */
  char *ok = repeat("x = ", "[", 150, "");
  char *ok2 = repeat(ok, "]", 150, "\n");
  assert_string_not_equal(parse(ok2), "ERR");
  free(ok);
  free(ok2);
}

static void long_elif_chain(void **state) {
  char *s = repeat("if a: pass\n", "elif b: pass\n", 5000, "else: pass\n");
  assert_string_not_equal(parse(s), "ERR");
  free(s);
}

static void binary_garbage(void **state) {
  unsigned char buf[2048];
  uint32_t x = 987654321;
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < sizeof buf; i++) {
      x = x * 1664525u + 1013904223u;
      /* mostly ASCII punctuation and letters, so the parser is reached too */
      buf[i] = round % 2 ? (unsigned char)(x >> 24) : (unsigned char)(" \n()[]:,=+-*xy1'\"fi"[(x >> 16) % 19]);
    }
    parse_n((const char *)buf, sizeof buf);
  }
}

static void large_file_is_linear(void **state) {
  /* about 10 MB: must parse in well under the time a quadratic step would take */
  const char *unit = "class M(Module):\n    def forward(self, x):\n"
                     "        return self.fc(relu(x))[:, 0] * 2.5 + f'{x!r:>4}'\n"
                     "for i in range(5):\n    if a < b <= c and not d: opt.step()\n";
  char *big = repeat("", unit, 10000000 / (int)strlen(unit), "");
  clock_t t0 = clock();
  const char *out = parse(big);
  double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
  assert_string_not_equal(out, "ERR");
  assert_true(secs < 10.0);
  free(big);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(seed_example),    cmocka_unit_test(class_and_def),
      cmocka_unit_test(assignments),     cmocka_unit_test(simple_statements),
      cmocka_unit_test(control_flow),    cmocka_unit_test(precedence),
      cmocka_unit_test(comparisons),     cmocka_unit_test(primaries),
      cmocka_unit_test(atoms),           cmocka_unit_test(strings_and_fstrings),
      cmocka_unit_test(layout),          cmocka_unit_test(syntax_errors),
      cmocka_unit_test(semantic_errors), cmocka_unit_test(unsupported),
      cmocka_unit_test(lambdas_and_displays),
      cmocka_unit_test(fstring_errors),  cmocka_unit_test(deep_nesting),
      cmocka_unit_test(long_elif_chain), cmocka_unit_test(binary_garbage),
      cmocka_unit_test(large_file_is_linear),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
