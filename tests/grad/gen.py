#!/usr/bin/python3
"""gen.py — writes the finite-difference gradient checks tests/grad/fd-*.tt.

Each check is a small float64 program: it projects an expression's output onto fixed random
weights, f(x) = (expr(x) * w).sum(), calls f(x).backward(), and compares every input's .grad
with the central difference (f(x + h e_k) - f(x - h e_k)) / 2h over every element k. The
loop over k runs at compile time in ttc (a top-level range() loop over tensors is unrolled),
so the programs are kept to tens of elements. Each check prints one line,
"LABEL: tensor(True)", so a failing rule names itself in the diff.

Inputs are drawn from a seeded generator and rounded, away from kinks (relu, abs and max at
0, ties of maximum/minimum and of max/min over dims), so the central difference is exact to
about 1e-9 and a tolerance of 1e-6 separates a right rule from a wrong one by orders of
magnitude. Needs torch only to learn each expression's output shape and to validate the
inputs:

    /usr/bin/python3 tests/grad/gen.py          # rewrite tests/grad/fd-*.tt
    UPDATE=1 bash tests/gradcheck.sh ...          # then their .expected, under PyTorch
"""
import os
import random
import zlib
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
F64 = "dtype=torch.float64"


def lit(v):
    """A Python literal for a nested list of floats/ints/bools."""
    if isinstance(v, list):
        return "[" + ", ".join(lit(x) for x in v) + "]"
    if isinstance(v, bool):
        return repr(v)
    if isinstance(v, float):
        return repr(round(v, 3))
    return repr(v)


def tensor_src(t):
    if t.dtype == torch.float64:
        return "tensor(%s, %s)" % (lit(t.tolist()), F64)
    return "tensor(%s)" % lit(t.tolist())


def draw(rng, shape, kind):
    n = 1
    for d in shape:
        n *= d
    if kind.startswith("int:"):
        c = int(kind[4:])
        return torch.tensor([rng.randrange(c) for _ in range(n)], dtype=torch.int64).reshape(shape)
    if kind == "bool":
        return torch.tensor([rng.random() < 0.5 for _ in range(n)]).reshape(shape)
    vals = []
    while len(vals) < n:
        if kind == "any":  # away from 0: the kink of relu/abs
            v = rng.uniform(0.2, 1.5) * rng.choice((-1, 1))
        elif kind == "pos":  # log, sqrt, rsqrt, pow's base, denominators
            v = rng.uniform(0.4, 2.0)
        elif kind == "prob":  # binary_cross_entropy's input and targets
            v = rng.uniform(0.15, 0.85)
        elif kind == "small":
            v = rng.uniform(-1.0, 1.0)
        else:
            raise ValueError(kind)
        v = round(v, 3)
        if kind == "any" and abs(v) < 0.2:
            continue
        if any(abs(v - u) < 0.03 for u in vals):  # no near-ties anywhere (max, min, maximum)
            continue
        vals.append(v)
    return torch.tensor(vals, dtype=torch.float64).reshape(shape)


class Program:
    def __init__(self, name, doc, seed):
        self.name = name
        self.doc = doc
        self.rng = random.Random(seed)
        self.lines = []
        self.n = 0

    def check(self, label, expr, inputs, h=1e-6, tol=1e-6, ok=None):
        """inputs: list of (name, shape, kind, requires_grad). expr uses those names."""
        self.n += 1
        i = self.n
        env = {"torch": torch, "F": F, "tensor": torch.tensor, "cat": torch.cat,
               "stack": torch.stack, "where": torch.where}
        for _ in range(100):
            vals = {nm: draw(self.rng, shape, kind) for nm, shape, kind, _ in inputs}
            if ok is None or ok(**vals):
                break
        else:
            raise RuntimeError("%s: no valid inputs" % label)
        env.update(vals)
        out = eval(expr, env)
        w = draw(self.rng, tuple(out.shape), "small")
        args = ", ".join(nm for nm, _, _, _ in inputs)
        L = self.lines
        L.append("")
        L.append("# %s" % label)
        for nm, _, _, rg in inputs:
            src = tensor_src(vals[nm])
            if rg:
                src = src[:-1] + ", requires_grad=True)"
            L.append("%s_%d = %s" % (nm, i, src))
        L.append("w_%d = %s" % (i, tensor_src(w)))
        L.append("def f_%d(%s):" % (i, args))
        L.append("    return ((%s) * w_%d).sum()" % (expr, i))
        call = ", ".join("%s_%d" % (nm, i) for nm, _, _, _ in inputs)
        L.append("f_%d(%s).backward()" % (i, call))
        for nm, shape, _, rg in inputs:
            if not rg:
                continue
            n = 1
            for d in shape:
                n *= d
            shp = ", ".join(str(d) for d in shape)
            e = "eye(%d, %s)[k].%s" % (n, F64, "reshape(%s)" % shp if shape else "sum()")
            plus = ", ".join(("%s_%d + h * e" % (m, i)) if m == nm else ("%s_%d" % (m, i))
                             for m, _, _, _ in inputs)
            minus = plus.replace(" + h * e", " - h * e")
            L.append("num = zeros((%s), %s)" % (shp + ("," if len(shape) == 1 else ""), F64))
            L.append("h = %r" % h)
            L.append("for k in range(%d):" % n)
            L.append("    e = %s" % e)
            L.append("    num = num + (f_%d(%s) - f_%d(%s)) / (2 * h) * e" % (i, plus, i, minus))
            L.append("print(%r, (%s_%d.grad - num).abs().max() < %r)" % (label + " d" + nm + ":",
                                                                        nm, i, tol))

    def write(self):
        head = ["# %s — generated by tests/grad/gen.py; edit that, not this." % self.name,
                "# " + self.doc,
                "# Every line printed must be True: autodiff's gradient equals the central",
                "# difference, in float64, for every input element.",
                "import torch"]
        with open(os.path.join(HERE, self.name + ".tt"), "w") as f:
            f.write("\n".join(head + self.lines) + "\n")


def far_apart(a, b):
    return bool(((a - b).abs() > 0.05).all())


def unary():
    p = Program("fd-unary", "Elementwise unary gradient rules.", 1)
    x = [("x", (2, 3), "any", True)]
    xp = [("x", (2, 3), "pos", True)]
    p.check("neg", "-x", x)
    p.check("torch.neg", "torch.neg(x)", x)
    p.check("exp", "torch.exp(x)", x)
    p.check("log", "torch.log(x)", xp)
    p.check("sqrt", "torch.sqrt(x)", xp)
    p.check("rsqrt", "torch.rsqrt(x)", xp)
    p.check("abs", "x.abs()", x)
    p.check("torch.abs", "torch.abs(x)", x)
    p.check("relu", "torch.relu(x)", x)
    p.check("F.relu", "F.relu(x)", x)
    p.check("sigmoid", "torch.sigmoid(x)", x)
    p.check("tanh", "torch.tanh(x)", x)
    p.check("erf", "torch.erf(x)", x)
    p.check("gelu", "F.gelu(x)", x)
    p.check("gelu tanh", "F.gelu(x, approximate='tanh')", x)
    p.check("square", "torch.square(x)", x)
    p.check("clamp", "torch.clamp(x, -0.9, 0.8)", x,
            ok=lambda x: bool(((x + 0.9).abs() > 0.05).all() and ((x - 0.8).abs() > 0.05).all()))
    p.check("chain", "torch.tanh(torch.exp(x) * torch.sigmoid(x))", x)
    p.write()


def cast():
    p = Program("fd-cast", "cast: float64 -> float32 -> float64 passes the gradient through; "
                "h and the tolerance fit float32's precision.", 2)
    x = [("x", (2, 3), "any", True)]
    p.check("float", "(x.float() * x.float()).double()", x, h=1e-2, tol=1e-3)
    p.check("to float32", "torch.exp(x.to(torch.float32)).to(torch.float64)", x, h=1e-2,
            tol=1e-3)
    p.check("double noop", "x.double() * x", x)
    p.write()


def binary(op, name, fn, akind="any", bkind="any", scalars=True):
    """op: a format with {a} {b}; checks same shapes, broadcasting (3,1) with (4,), a 0-d
    tensor operand on either side, Python scalars on either side, and the function form fn."""
    p = Program("fd-" + name, "Binary rule %s with broadcasting and scalars." % name,
                zlib.crc32(name.encode()) % 1000)
    ok = far_apart if name in ("maximum", "minimum") else None
    e = op.format(a="a", b="b")
    p.check(name + " (2,3)x(2,3)", e, [("a", (2, 3), akind, True), ("b", (2, 3), bkind, True)],
            ok=ok)
    p.check(name + " (3,1)x(4,)", e, [("a", (3, 1), akind, True), ("b", (4,), bkind, True)],
            ok=ok)
    p.check(name + " (4,)x(3,1)", e, [("a", (4,), akind, True), ("b", (3, 1), bkind, True)],
            ok=ok)
    p.check(name + " (2,1,3)x(2,1)", e,
            [("a", (2, 1, 3), akind, True), ("b", (2, 1), bkind, True)], ok=ok)
    p.check(name + " (2,3)x0-d", e, [("a", (2, 3), akind, True), ("b", (), bkind, True)], ok=ok)
    p.check(name + " 0-dx(2,3)", e, [("a", (), akind, True), ("b", (2, 3), bkind, True)], ok=ok)
    p.check(name + " only a", e, [("a", (3, 1), akind, True), ("b", (4,), bkind, False)], ok=ok)
    p.check(name + " only b", e, [("a", (3, 1), akind, False), ("b", (4,), bkind, True)], ok=ok)
    p.check(name + " same tensor", op.format(a="a", b="a"), [("a", (2, 3), akind, True)])
    if scalars:
        p.check(name + " tensor,scalar", op.format(a="a", b="1.7"), [("a", (2, 3), akind, True)])
        p.check(name + " scalar,tensor", op.format(a="1.3", b="b"), [("b", (2, 3), bkind, True)])
    if fn:
        p.check(name + " " + fn, "%s(a, b)" % fn,
                [("a", (3, 1), akind, True), ("b", (4,), bkind, True)], ok=ok)
    p.write()


def where():
    p = Program("fd-where", "where(cond, a, b) with broadcasting of all three.", 3)
    p.check("where same", "torch.where(c, a, b)",
            [("c", (2, 3), "bool", False), ("a", (2, 3), "any", True), ("b", (2, 3), "any", True)])
    p.check("where broadcast", "torch.where(c, a, b)",
            [("c", (2, 3), "bool", False), ("a", (2, 1), "any", True), ("b", (3,), "any", True)])
    p.check("where cond broadcast", "torch.where(c, a, b)",
            [("c", (3, 1), "bool", False), ("a", (4,), "any", True), ("b", (), "any", True)])
    p.check("where from compare", "torch.where(a > b, a * b, a - b)",
            [("a", (2, 3), "any", True), ("b", (2, 3), "any", True)], ok=far_apart)
    p.write()


def reduction(name):
    p = Program("fd-" + name, "Reduction %s: full, over each dim, keepdim both ways." % name,
                zlib.crc32(name.encode()) % 1000 + 7)
    x = [("x", (2, 3, 2), "any", True)]
    tup = name in ("max", "min")
    p.check(name + " full", "x.%s()" % name, x)
    p.check("torch." + name + " full", "torch.%s(x)" % name, x)
    for d in (0, 1, 2, -1):
        for kd in (False, True):
            e = "x.%s(dim=%d, keepdim=%s)" % (name, d, kd)
            if tup:
                e += "[0]"
            p.check("%s dim=%d keepdim=%s" % (name, d, kd), e, x)
    if tup:
        p.check(name + " positional dim .values", "torch.%s(x, 1).values" % name, x)
        p.check(name + " 2-D dim=1", "x.%s(1)[0]" % name, [("x", (3, 4), "any", True)])
    else:
        p.check(name + " dims (0,2)", "x.%s(dim=(0, 2))" % name, x)
        p.check(name + " dims (0,2) keepdim", "x.%s((0, 2), keepdim=True)" % name, x)
        p.check(name + " dims (-1,-2)", "torch.%s(x, (-1, -2))" % name, x)
        p.check(name + " 1-D", "x.%s(0)" % name, [("x", (5,), "any", True)])
    p.write()


def matmul():
    p = Program("fd-matmul", "matmul: 1-D, 2-D, batched, broadcast batch; mm, bmm, @.", 4)

    def mm(label, e, sa, sb):
        p.check(label, e, [("a", sa, "any", True), ("b", sb, "any", True)])
    mm("1-D @ 1-D", "a @ b", (3,), (3,))
    mm("1-D @ 2-D", "a @ b", (3,), (3, 2))
    mm("2-D @ 1-D", "a @ b", (2, 3), (3,))
    mm("2-D @ 2-D", "a @ b", (2, 3), (3, 2))
    mm("mm", "torch.mm(a, b)", (3, 2), (2, 4))
    mm("batched", "torch.matmul(a, b)", (2, 2, 3), (2, 3, 2))
    mm("bmm", "torch.bmm(a, b)", (2, 3, 2), (2, 2, 2))
    mm("3-D @ 2-D", "a @ b", (2, 2, 3), (3, 2))
    mm("2-D @ 3-D", "a @ b", (2, 3), (2, 3, 2))
    mm("broadcast batch", "a @ b", (2, 1, 2, 3), (2, 3, 2))
    mm("3-D @ 1-D", "a @ b", (2, 2, 3), (3,))
    mm("1-D @ 3-D", "a @ b", (3,), (2, 3, 2))
    mm("transposed operand", "a @ b.t()", (2, 3), (4, 3))
    mm("transpose(-1,-2) operand", "a.transpose(-1, -2) @ b", (2, 3, 2), (3, 2))
    p.check("a @ a", "a @ a", [("a", (3, 3), "any", True)])
    p.check("shared weight in two layers", "torch.tanh(x @ W) @ W",
            [("x", (2, 3), "any", True), ("W", (3, 3), "any", True)])
    p.write()


def layout():
    p = Program("fd-layout", "Views and copies: reshape, view, flatten, (un)squeeze, permute, "
                "transpose, expand.", 5)
    x = [("x", (2, 3, 2), "any", True)]
    p.check("reshape", "x.reshape(3, 4)", x)
    p.check("reshape -1", "torch.reshape(x, (-1, 2))", x)
    p.check("view", "x.view(6, 2)", x)
    p.check("flatten", "x.flatten()", x)
    p.check("flatten(1)", "torch.flatten(x, 1)", x)
    p.check("unsqueeze", "x.unsqueeze(1)", x)
    p.check("unsqueeze -1", "torch.unsqueeze(x, -1)", x)
    p.check("squeeze", "y.squeeze()", [("y", (2, 1, 3), "any", True)])
    p.check("squeeze(1)", "y.squeeze(1)", [("y", (2, 1, 3), "any", True)])
    p.check("permute", "x.permute(2, 0, 1)", x)
    p.check("torch.permute", "torch.permute(x, (1, 2, 0))", x)
    p.check("transpose", "x.transpose(0, 2)", x)
    p.check("t", "y.t()", [("y", (2, 3), "any", True)])
    p.check("T", "y.T", [("y", (2, 3), "any", True)])
    p.check("expand", "y.expand(3, 4)", [("y", (3, 1), "any", True)])
    p.check("expand -1", "y.expand(2, -1, 3)", [("y", (4, 1), "any", True)])
    p.check("expand new dims", "y.expand(2, 3, 2)", [("y", (2,), "any", True)])
    p.check("permute then reshape", "x.permute(1, 0, 2).reshape(3, 4) * 2.0", x)
    p.write()


def index():
    p = Program("fd-index", "Indexing and slicing.", 6)
    x = [("x", (3, 4), "any", True)]
    p.check("x[1]", "x[1]", x)
    p.check("x[-1]", "x[-1]", x)
    p.check("x[0, 2]", "x[0, 2]", x)
    p.check("x[:, 1:3]", "x[:, 1:3]", x)
    p.check("x[::2]", "x[::2]", x)
    p.check("x[1:, ::3]", "x[1:, ::3]", x)
    p.check("x[..., -1]", "x[..., -1]", x)
    p.check("x[:, None]", "x[:, None]", x)
    p.check("x[:2] + x[1:]", "x[:2] + x[1:]", x)
    p.check("3-D slice", "y[1, :, 1:]", [("y", (2, 3, 3), "any", True)])
    p.write()


def catstack():
    p = Program("fd-cat", "cat and stack.", 7)
    ab = [("a", (2, 3), "any", True), ("b", (1, 3), "any", True)]
    p.check("cat dim 0", "torch.cat([a, b])", ab)
    p.check("cat dim 1", "torch.cat([a, c], dim=1)",
            [("a", (2, 3), "any", True), ("c", (2, 2), "any", True)])
    p.check("cat dim -1 three", "torch.cat((a, c, a), -1)",
            [("a", (2, 3), "any", True), ("c", (2, 2), "any", False)])
    p.check("cat same tensor", "torch.cat([a, a * 2.0], 0)", [("a", (2, 3), "any", True)])
    p.check("stack", "torch.stack([a, b])",
            [("a", (2, 3), "any", True), ("b", (2, 3), "any", True)])
    p.check("stack dim 1", "torch.stack([a, b], dim=1)",
            [("a", (2, 3), "any", True), ("b", (2, 3), "any", True)])
    p.check("stack dim -1", "torch.stack((a, b, a), -1)",
            [("a", (3,), "any", True), ("b", (3,), "any", True)])
    p.write()


def softmax():
    p = Program("fd-softmax", "softmax and log_softmax over each dim.", 8)
    x = [("x", (2, 3, 2), "any", True)]
    for d in (0, 1, 2, -1):
        p.check("softmax dim=%d" % d, "torch.softmax(x, dim=%d)" % d, x)
        p.check("log_softmax dim=%d" % d, "torch.log_softmax(x, %d)" % d, x)
    p.check("F.softmax 1-D", "F.softmax(y, dim=0)", [("y", (5,), "any", True)])
    p.check("F.log_softmax 2-D", "F.log_softmax(y, dim=1)", [("y", (2, 4), "any", True)])
    p.check("x.softmax", "y.softmax(-1)", [("y", (2, 4), "any", True)])
    p.write()


def losses_ce():
    p = Program("fd-loss-ce", "cross_entropy and nll_loss, each reduction; class indices and "
                "class probabilities as targets.", 9)
    ci = [("x", (3, 4), "any", True), ("t", (3,), "int:4", False)]
    p.check("cross_entropy", "F.cross_entropy(x, t)", ci)
    p.check("cross_entropy sum", "F.cross_entropy(x, t, reduction='sum')", ci)
    p.check("cross_entropy none", "F.cross_entropy(x, t, reduction='none')", ci)
    p.check("cross_entropy 1-D", "F.cross_entropy(x, t)",
            [("x", (4,), "any", True), ("t", (), "int:4", False)])
    p.check("cross_entropy probabilities", "F.cross_entropy(x, torch.softmax(q, 1))",
            [("x", (3, 4), "any", True), ("q", (3, 4), "any", True)])
    p.check("nll_loss", "F.nll_loss(x, t)", ci)
    p.check("nll_loss sum", "F.nll_loss(x, t, reduction='sum')", ci)
    p.check("nll_loss none", "F.nll_loss(x, t, reduction='none')", ci)
    p.check("nll_loss of log_softmax", "F.nll_loss(F.log_softmax(x, 1), t)", ci)
    p.write()


def losses_reg():
    p = Program("fd-loss-mse-bce", "mse_loss, binary_cross_entropy(_with_logits), each "
                "reduction, gradients of input and target.", 11)
    xy = [("x", (2, 3), "any", True), ("y", (2, 3), "any", True)]
    p.check("mse_loss", "F.mse_loss(x, y)", xy)
    p.check("mse_loss sum", "F.mse_loss(x, y, reduction='sum')", xy)
    p.check("mse_loss none", "F.mse_loss(x, y, reduction='none')", xy)
    xt = [("x", (2, 3), "any", True), ("y", (2, 3), "prob", True)]
    p.check("bce_with_logits", "F.binary_cross_entropy_with_logits(x, y)", xt)
    p.check("bce_with_logits sum", "F.binary_cross_entropy_with_logits(x, y, reduction='sum')",
            xt)
    p.check("bce_with_logits none",
            "F.binary_cross_entropy_with_logits(x, y, reduction='none')", xt)
    pt = [("x", (2, 3), "prob", True), ("y", (2, 3), "prob", True)]
    p.check("bce", "F.binary_cross_entropy(x, y)", pt)
    p.check("bce sum", "F.binary_cross_entropy(x, y, reduction='sum')", pt)
    p.check("bce none", "F.binary_cross_entropy(x, y, reduction='none')", pt)
    p.check("bce of sigmoid", "F.binary_cross_entropy(torch.sigmoid(x), y)",
            [("x", (2, 3), "any", True), ("y", (2, 3), "prob", False)])
    p.write()


def fanout():
    p = Program("fd-fanout", "A value used more than once: contributions must add.", 10)
    x = [("x", (2, 3), "any", True)]
    p.check("y*y + y.sum()", "torch.exp(x) * torch.exp(x) + torch.exp(x).sum()", x)
    p.check("x in three branches", "torch.tanh(x) * x + x.mean(0) - torch.sigmoid(x.t()).t()", x)
    p.check("x * x.sum(1, keepdim)", "x * x.sum(1, keepdim=True)", x)
    p.check("softmax times input", "torch.softmax(x, 1) * x", x)
    p.check("x / x.norm-ish", "x / torch.sqrt((x * x).sum())", x)
    p.check("broadcast and reduce the same value", "x.unsqueeze(0) * x.unsqueeze(1)",
            [("x", (3,), "any", True)])
    p.write()


def linear():
    """Linear stores its weight [out, in] and multiplies by the transpose (matmul's transB);
    a parameter is perturbed in place under no_grad, as an optimizer would write it."""
    p = Program("fd-linear", "Linear: weight (matmul with the stored transpose), bias, input; "
                "1-D, 2-D and batched inputs; one layer used twice.", 12)
    L = p.lines
    cases = [("linear 2-D", (2, 3), "fc(x)"), ("linear 1-D", (3,), "fc(x)"),
             ("linear batched", (2, 2, 3), "fc(x)"),
             ("linear used twice", (2, 3), "fc(torch.tanh(fc(x)))")]
    for i, (label, xs, expr) in enumerate(cases, 1):
        W = draw(p.rng, (3, 3), "any")
        b = draw(p.rng, (3,), "any")
        x = draw(p.rng, xs, "any")
        fc = torch.nn.Linear(3, 3).double()
        with torch.no_grad():
            fc.weight.copy_(W)
            fc.bias.copy_(b)
        w = draw(p.rng, tuple(eval(expr, {"fc": fc, "x": x, "torch": torch}).shape), "small")
        L.append("")
        L.append("# %s" % label)
        L.append("fc = Linear(3, 3)")
        L.append("fc.weight = Parameter(%s)" % tensor_src(W))
        L.append("fc.bias = Parameter(%s)" % tensor_src(b))
        L.append("x_%d = %s" % (i, tensor_src(x)[:-1] + ", requires_grad=True)"))
        L.append("w_%d = %s" % (i, tensor_src(w)))
        L.append("def f_%d(x):" % i)
        L.append("    return ((%s) * w_%d).sum()" % (expr, i))
        L.append("f_%d(x_%d).backward()" % (i, i))
        L.append("h = 1e-06")
        for nm, shape in (("fc.weight", (3, 3)), ("fc.bias", (3,)), ("x_%d" % i, xs)):
            n = 1
            for d in shape:
                n *= d
            shp = ", ".join(str(d) for d in shape)
            L.append("num = zeros((%s), %s)" % (shp + ("," if len(shape) == 1 else ""), F64))
            L.append("for k in range(%d):" % n)
            L.append("    e = eye(%d, %s)[k].reshape(%s)" % (n, F64, shp))
            if nm.startswith("fc."):
                L.append("    with torch.no_grad():")
                L.append("        %s += h * e" % nm)
                L.append("    fp = f_%d(x_%d)" % (i, i))
                L.append("    with torch.no_grad():")
                L.append("        %s -= 2 * h * e" % nm)
                L.append("    fm = f_%d(x_%d)" % (i, i))
                L.append("    with torch.no_grad():")
                L.append("        %s += h * e" % nm)
                L.append("    num = num + (fp - fm) / (2 * h) * e")
            else:
                L.append("    num = num + (f_%d(%s + h * e) - f_%d(%s - h * e)) / (2 * h) * e"
                         % (i, nm, i, nm))
            L.append("print(%r, (%s.grad - num).abs().max() < 1e-06)"
                     % (label + " d" + nm + ":", nm))
    p.write()


def more():
    p = Program("fd-more", "Gradient rules of the ops and compositions added for PyTorch "
                "scripts: log1p, expm1, rounding, the activations of activations.c, var, std, "
                "norm, masked_fill, smooth_l1_loss, huber_loss.", 5)
    x = [("x", (2, 3), "any", True)]
    xp = [("x", (2, 3), "pos", True)]
    away = lambda lo, hi: (lambda x: bool(((x - lo).abs() > 0.05).all() and ((x - hi).abs() > 0.05).all()))
    p.check("log1p", "torch.log1p(x)", xp)
    p.check("expm1", "x.expm1()", x)
    p.check("rounding", "x.sign() * x + torch.ceil(x) + x.trunc() + torch.round(x) + (3 * x).frac()", x,
            ok=lambda x: bool((((3 * x) - (3 * x).round()).abs() > 0.05).all()
                              and ((x - x.round()).abs() - 0.5).abs().min() > 0.05))
    p.check("leaky_relu", "F.leaky_relu(x, 0.1)", x)
    p.check("elu", "F.elu(x, 0.7)", x)
    p.check("silu", "F.silu(x)", x)
    p.check("mish", "F.mish(x)", x)
    p.check("hardtanh", "F.hardtanh(x, -0.9, 0.8)", x, ok=away(-0.9, 0.8))
    p.check("relu6", "F.relu6(4 * x)", x, ok=away(0.0, 1.5))
    p.check("logsigmoid", "F.logsigmoid(x)", x)
    p.check("softsign", "F.softsign(x)", x)
    p.check("var", "x.var()", x)
    p.check("std dim", "x.std(dim=1, keepdim=True)", x)
    p.check("var biased", "torch.var(x, 0, unbiased=False)", x)
    p.check("norm", "x.norm()", x)
    p.check("norm dim", "x.norm(dim=0)", x)
    p.check("norm p1", "x.norm(p=1)", x)
    p.check("norm p3", "x.norm(p=3, dim=1)", x)
    p.check("masked_fill", "x.masked_fill(x > 0.5, 2.0)", x, ok=away(0.5, 0.5))
    xy = [("x", (2, 3), "any", True), ("y", (2, 3), "small", True)]
    dok = lambda t: (lambda x, y: bool((((x - y).abs() - t).abs() > 0.05).all()))
    p.check("smooth_l1_loss", "F.smooth_l1_loss(x, y, beta=0.8)", xy, ok=dok(0.8))
    p.check("huber_loss", "F.huber_loss(x, y, delta=0.9, reduction='sum')", xy, ok=dok(0.9))
    p.check("layer_norm", "F.layer_norm(x, (3,))", x)
    p.check("logsumexp", "torch.logsumexp(x, dim=1)", x)
    p.check("split", "torch.cat([t * (i + 1) for i, t in enumerate(x.split(2, dim=1))], 1)", x)
    p.check("gather", "x.gather(1, torch.tensor([[0, 2, 2], [1, 1, 0]]))", x)
    p.check("index_select", "x.index_select(1, torch.tensor([2, 0, 2]))", x)
    p.check("index rows", "x[torch.tensor([1, 0, 1, -1])]", x)
    p.check("embedding", "F.embedding(torch.tensor([[1, 0, 1], [0, 0, 1]]), x)", x)
    p.check("cumsum", "x.cumsum(dim=1) * x.cumsum(0)", x)
    p.check("sort", "x.sort(dim=1, descending=True).values * torch.tensor([1.0, 2.0, 3.0])", x)
    p.check("topk", "torch.topk(x, 2, dim=0).values", x)
    p.write()


def attention():
    # PyTorch 1.13 lacks F.scaled_dot_product_attention: torch_ref.py defines it as PyTorch 2
    # documents it, which is all the generator needs (the output's shape)
    sys.path.insert(0, os.path.dirname(HERE))
    import torch_ref  # noqa: F401

    p = Program("fd-sdpa", "F.scaled_dot_product_attention: matmul, masks, softmax, matmul.", 9)
    qkv = [("q", (2, 3, 4), "any", True), ("k", (2, 4, 4), "any", True), ("v", (2, 4, 2), "any", True)]
    p.check("sdpa", "F.scaled_dot_product_attention(q, k, v)", qkv)
    p.check("sdpa is_causal", "F.scaled_dot_product_attention(q, k, v, is_causal=True)",
            [("q", (2, 3, 4), "any", True), ("k", (2, 3, 4), "any", True), ("v", (2, 3, 2), "any", True)])
    p.check("sdpa bool mask", "F.scaled_dot_product_attention(q, k, v, attn_mask=m)",
            qkv + [("m", (3, 4), "bool", False)], ok=lambda m, **_: bool(m.any(dim=-1).all()))
    p.check("sdpa float mask and scale", "F.scaled_dot_product_attention(q, k, v, m, scale=0.3)",
            qkv + [("m", (2, 1, 4), "small", False)])
    p.write()


def main():
    attention()
    unary()
    more()
    cast()
    binary("{a} + {b}", "add", "torch.add")
    binary("{a} - {b}", "sub", "torch.sub")
    binary("{a} * {b}", "mul", "torch.mul")
    binary("{a} / {b}", "div", "torch.div", bkind="pos")
    binary("{a} ** {b}", "pow", "torch.pow", akind="pos", bkind="any")
    binary("torch.maximum({a}, {b})", "maximum", None, scalars=False)
    binary("torch.minimum({a}, {b})", "minimum", None, scalars=False)
    where()
    for r in ("sum", "mean", "max", "min"):
        reduction(r)
    matmul()
    linear()
    layout()
    index()
    catstack()
    softmax()
    losses_ce()
    losses_reg()
    fanout()


if __name__ == "__main__":
    sys.exit(main())
