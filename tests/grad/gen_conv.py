# gen_conv.py — writes fd-conv.tt: finite-difference checks of conv2d and pooling.
# Run: python3 tests/grad/gen_conv.py (needs no torch; the values are seeded).
import random
random.seed(5)
def t(shape, rg=True):
    n = 1
    for d in shape: n *= d
    vals = [round(random.uniform(-1.5, 1.5), 6) for _ in range(n)]
    def nest(v, sh):
        if len(sh) == 1: return "[" + ", ".join(repr(x) for x in v) + "]"
        step = len(v) // sh[0]
        return "[" + ", ".join(nest(v[i*step:(i+1)*step], sh[1:]) for i in range(sh[0])) + "]"
    return "tensor(%s, dtype=torch.float64%s)" % (nest(vals, shape), ", requires_grad=True" if rg else "")
out = ["# fd-conv — finite differences for conv2d, max_pool2d and avg_pool2d (float64, the",
       "# direct kernels). Every line printed must be True.", "import torch", ""]
cases = [
  ("conv2d 3x3 pad 1", [(1,2,4,4),(2,2,3,3),(2,)], "conv2d(x, w, b, padding=1)", (1,2,4,4)),
  ("conv2d 2x3 stride 2", [(1,1,5,6),(2,1,2,3)], "conv2d(x, w, stride=2)", (1,2,2,2)),
  ("conv2d stride (1,2) pad (2,0)", [(1,1,3,4),(2,1,3,2),(2,)], "conv2d(x, w, b, stride=(1, 2), padding=(2, 0))", (1,2,5,2)),
  ("max_pool2d 2", [(1,2,4,4)], "max_pool2d(x, 2)", (1,2,2,2)),
  ("max_pool2d 3 s1 p1 overlapping", [(1,1,4,5)], "max_pool2d(x, 3, stride=1, padding=1)", (1,1,4,5)),
  ("avg_pool2d 2", [(1,1,4,6)], "avg_pool2d(x, 2)", (1,1,2,3)),
  ("avg_pool2d 3 s2 p1", [(1,1,5,5)], "avg_pool2d(x, 3, stride=2, padding=1)", (1,1,3,3)),
]
for ci, (name, shapes, expr, oshape) in enumerate(cases):
    names = ["x", "w", "b"][:len(shapes)]
    for nm, sh in zip(names, shapes):
        out.append("%s_%d = %s" % (nm, ci, t(sh)))
    out.append("p_%d = %s" % (ci, t(oshape, rg=False)))
    args = ", ".join(names)
    out.append("def f_%d(%s):" % (ci, args))
    out.append("    return (%s * p_%d).sum()" % (expr, ci))
    out.append("f_%d(%s).backward()" % (ci, ", ".join("%s_%d" % (nm, ci) for nm in names)))
    for k, (nm, sh) in enumerate(zip(names, shapes)):
        n = 1
        for d in sh: n *= d
        out.append("num = zeros(%r, dtype=torch.float64)" % (tuple(sh),))
        out.append("for k in range(%d):" % n)
        out.append("    e = eye(%d, dtype=torch.float64)[k].reshape%r" % (n, tuple(sh)))
        plus = ", ".join(("%s_%d + 1e-06 * e" % (m, ci)) if m == nm else ("%s_%d" % (m, ci)) for m in names)
        minus = plus.replace("+ 1e-06", "- 1e-06")
        out.append("    num = num + (f_%d(%s) - f_%d(%s)) / 2e-06 * e" % (ci, plus, ci, minus))
        out.append("print(%r, (%s_%d.grad - num).abs().max() < 1e-06)" % (name + " d" + nm + ":", nm, ci))
    out.append("")
import os
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fd-conv.tt"), "w").write("\n".join(out))
