#!/usr/bin/python3
"""runtime_ref.py — PyTorch's answers for the runtime's unit tests.

Run with Debian's torch (/usr/bin/python3 tests/runtime_ref.py > tests/unit/runtime_ref.h).
The output is checked in so that the suite runs without torch. Everything is generated
from fixed seeds, so rerunning the script reproduces the header byte for byte.

It records:
  - print cases: raw values (as exact hex literals), dtype, shape, print options and
    the exact text print(tensor) writes, for random shapes of rank 0-4, magnitudes
    1e-8..1e10, integral values, nan/inf, -0.0, summarized (>1000 elements) tensors,
    empty tensors, every dtype the runtime prints, grad_fn / requires_grad / Parameter;
  - Python's repr(float) for many doubles;
  - torch's random streams for a fixed sequence of calls (the test replays them).
"""
import math
import random
import struct

import torch

OUT = []


def emit(s=""):
    OUT.append(s)


def c_str(s):
    """A C string literal, split at newlines so that the header stays readable."""
    parts = s.split("\n")
    lines = []
    for i, p in enumerate(parts):
        p = p.replace("\\", "\\\\").replace('"', '\\"')
        if i + 1 < len(parts):
            p += "\\n"
        lines.append('"' + p + '"')
    return "\n    ".join(lines)


def c_double(v):
    if math.isnan(v):
        return "-NAN" if math.copysign(1.0, v) < 0 else "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    return v.hex()


DTYPES = {
    torch.float32: "TT_F32",
    torch.float64: "TT_F64",
    torch.int64: "TT_I64",
    torch.int32: "TT_I32",
    torch.int8: "TT_I8",
    torch.bool: "TT_BOOL",
}

# ---- print cases ---------------------------------------------------------------------

rng = random.Random(1234)
cases = []  # (tensor, gradfn, requires_grad, param)


def rand_shape(rank, max_numel):
    while True:
        shape = [rng.choice([1, 1, 2, 3, 4, 5, 7, 8]) if rank > 2 else rng.randint(1, 12)
                 for _ in range(rank)]
        n = 1
        for d in shape:
            n *= d
        if n <= max_numel:
            return shape


def rand_values(n, kind, mag):
    vals = []
    for _ in range(n):
        if kind == "uniform":
            v = rng.uniform(-1, 1) * mag
        elif kind == "positive":
            v = rng.uniform(0, 1) * mag
        elif kind == "integral":
            v = float(rng.randint(-int(mag), int(mag)))
        elif kind == "lognormal":
            v = math.copysign(math.exp(rng.uniform(-18, 23)), rng.uniform(-1, 1))
        elif kind == "special":
            v = rng.choice([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1.0, -2.0,
                            rng.uniform(-1, 1) * mag])
        elif kind == "zeros":
            v = rng.choice([0.0, -0.0])
        else:
            raise ValueError(kind)
        vals.append(v)
    return vals


KINDS = ["uniform", "uniform", "positive", "integral", "lognormal", "special", "zeros"]
MAGS = [1e-8, 1e-5, 1e-4, 1e-3, 0.5, 1.0, 3.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e7, 1e8, 1e9, 1e10]

for i in range(170):
    rank = rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])
    shape = rand_shape(rank, 200) if rank else []
    n = 1
    for d in shape:
        n *= d
    kind = rng.choice(KINDS)
    mag = rng.choice(MAGS)
    if kind == "integral":
        mag = rng.choice([1, 5, 100, 1000, 99999, 10 ** 6, 10 ** 9])
    vals = rand_values(n, kind, mag)
    dtype = torch.float64 if i % 7 == 3 else torch.float32
    t = torch.tensor(vals, dtype=dtype).reshape(shape)
    cases.append((t, None, False, False))

# Summarized tensors (more than 1000 elements), all ranks.
for shape in [[1001], [2500], [40, 30], [3, 400], [1000, 2], [5, 7, 40], [2, 3, 20, 30],
              [8, 8, 8, 8], [1, 1001], [7, 200]]:
    n = 1
    for d in shape:
        n *= d
    kind = rng.choice(["uniform", "integral", "lognormal", "special"])
    mag = rng.choice([1.0, 100.0, 1e-3])
    if kind == "integral":
        mag = 50
    vals = rand_values(n, kind, mag)
    cases.append((torch.tensor(vals, dtype=torch.float32).reshape(shape), None, False, False))

# Line wrapping: long vectors inside nested brackets.
for shape in [[70], [2, 40], [2, 2, 33], [13], [1, 1, 1, 90]]:
    n = 1
    for d in shape:
        n *= d
    vals = rand_values(n, "uniform", rng.choice([1.0, 1e5, 1e-6]))
    cases.append((torch.tensor(vals, dtype=torch.float32).reshape(shape), None, False, False))

# Integer and bool tensors.
for dtype, lo, hi in [(torch.int64, -10 ** 12, 10 ** 12), (torch.int64, -5, 5),
                      (torch.int32, -2 ** 31, 2 ** 31 - 1), (torch.int32, 0, 9),
                      (torch.int8, -128, 127), (torch.int8, 0, 3)]:
    for rank in [0, 1, 2, 3]:
        shape = rand_shape(rank, 120) if rank else []
        n = 1
        for d in shape:
            n *= d
        vals = [rng.randint(lo, hi) for _ in range(n)]
        cases.append((torch.tensor(vals, dtype=dtype).reshape(shape), None, False, False))
cases.append((torch.arange(2000, dtype=torch.int64).reshape(40, 50) - 1000, None, False, False))
cases.append((torch.arange(1500, dtype=torch.int32), None, False, False))
for rank in [0, 1, 2, 3]:
    shape = rand_shape(rank, 120) if rank else []
    n = 1
    for d in shape:
        n *= d
    vals = [rng.random() < 0.5 for _ in range(n)]
    cases.append((torch.tensor(vals, dtype=torch.bool).reshape(shape), None, False, False))
cases.append((torch.ones(3, dtype=torch.bool), None, False, False))
cases.append((torch.tensor([i % 3 == 0 for i in range(1200)]), None, False, False))

# Empty tensors.
for dtype in DTYPES:
    for shape in [[0], [0, 3], [2, 0, 4]]:
        cases.append((torch.zeros(shape, dtype=dtype), None, False, False))

# Hand-picked.
for vals in [3.5, -0.0, 0.0, float("nan"), float("-inf"), 1e-5, 123456789.0, 1e10, 0.1,
             [1.0, 2.0], [1.0, float("nan")], [float("nan")], [float("inf"), -0.0],
             [1e-9, 1.0], [0.0001, 0.001], [1e8, 1.0], [1.5e8, 1.0], [-0.0, 0.0],
             [0.5, float("inf")], [123456.0, 0.5], [2.0, -1e8], [1.0, 1000.0],
             [1.0, 1001.0], [[1.0, 2.0], [3.0, 4.0]], [9.99995, 0.00015]]:
    cases.append((torch.tensor(vals), None, False, False))
    cases.append((torch.tensor(vals, dtype=torch.float64), None, False, False))

# Options: grad_fn, requires_grad, Parameter.
for i in range(12):
    shape = rand_shape(rng.choice([0, 1, 2, 3]), 60) if i % 4 else []
    n = 1
    for d in shape:
        n *= d
    vals = rand_values(n, rng.choice(["uniform", "integral", "special"]), 10.0)
    t = torch.tensor(vals, dtype=torch.float64 if i % 5 == 4 else torch.float32)
    # A Parameter requires grad, so a param case sets both flags.
    cases.append((t.reshape(shape), "MulBackward0" if i % 3 == 0 else None, i % 3 != 0,
                  i % 3 == 2))
# A suffix that wraps onto its own line.
cases.append((torch.tensor([[1.25] * 10] * 2), "AddmmBackward0", False, False))
cases.append((torch.full([8], 1.0e-3), "MulBackward0", False, False))
cases.append((torch.full([2, 7], 123.0625, dtype=torch.float64), "MulBackward0", False, False))
cases.append((torch.full([2, 7], 123.0625, dtype=torch.float64), None, True, False))


def expected_text(t, gradfn, requires_grad, param):
    if gradfn:
        x = t.clone().requires_grad_(True)
        if gradfn == "AddmmBackward0":
            y = torch.addmm(torch.zeros(t.shape, dtype=t.dtype), x,
                            torch.eye(t.shape[1], dtype=t.dtype))
        else:
            y = x * 1
        s = str(y)
        assert "grad_fn=<%s>" % gradfn in s, s
        return s
    if param:
        return repr(torch.nn.Parameter(t.clone()))
    if requires_grad:
        return str(t.clone().requires_grad_(True))
    return str(t)


emit("/*")
emit(" * runtime_ref.h — PyTorch's reference answers for the runtime unit tests.")
emit(" *")
emit(" * Generated by tests/runtime_ref.py with Debian's torch " + torch.__version__ + "; do not")
emit(" * edit. Regenerate with: /usr/bin/python3 tests/runtime_ref.py > tests/unit/runtime_ref.h")
emit(" */")
emit("#ifndef TT_RUNTIME_REF_H")
emit("#define TT_RUNTIME_REF_H")
emit("")
emit("#include <math.h>")
emit("#include <stdint.h>")
emit("")
emit("#include \"runtime/tt.h\"")
emit("")
emit("typedef struct RefPrintCase {")
emit("  TtDType dt;")
emit("  int rank;")
emit("  int64_t shape[4];")
emit("  const double *fvals;  /* float32/float64 values (float32 exactly representable) */")
emit("  const int64_t *ivals; /* integer and bool values */")
emit("  const char *gradfn;")
emit("  int requires_grad, param;")
emit("  const char *const *expect; /* the lines of print(t), NULL-terminated */")
emit("} RefPrintCase;")
emit("")

for idx, (t, gradfn, rg, param) in enumerate(cases):
    lines = expected_text(t, gradfn, rg, param).split("\n")
    emit("static const char *const ref_print_e%d[] = {\n    %s,\n    0};" % (
        idx, ",\n    ".join(c_str(line) for line in lines)))
    flat = t.reshape(-1).tolist()
    if not flat:
        continue
    if t.dtype.is_floating_point:
        body = ", ".join(c_double(float(v)) for v in flat)
        emit("static const double ref_print_f%d[] = {%s};" % (idx, body))
    else:
        body = ", ".join(str(int(v)) for v in flat)
        body = body.replace("-9223372036854775808", "INT64_MIN")
        emit("static const int64_t ref_print_i%d[] = {%s};" % (idx, body))
emit("")
emit("static const RefPrintCase ref_print_cases[] = {")
for idx, (t, gradfn, rg, param) in enumerate(cases):
    shape = list(t.shape) + [0] * (4 - t.dim())
    numel = t.numel()
    fv = "ref_print_f%d" % idx if numel and t.dtype.is_floating_point else "0"
    iv = "ref_print_i%d" % idx if numel and not t.dtype.is_floating_point else "0"
    gf = '"%s"' % gradfn if gradfn else "0"
    emit("  {%s, %d, {%s}, %s, %s, %s, %d, %d, ref_print_e%d}," % (
        DTYPES[t.dtype], t.dim(), ", ".join(str(d) for d in shape), fv, iv, gf, int(rg),
        int(param), idx))
emit("};")
emit("")

# ---- repr(float) ---------------------------------------------------------------------

floats = [0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 1 / 3, 2 / 3, 1e-5, 1e-4, 0.0001, 0.00012345,
          1e16, 1e15, 123456789012345678.0, 9999999999999998.0, 1e22, 1e23, 5e-324, 2.2250738585072014e-308,
          1.7976931348623157e308, 123.0, 0.5, 100.0, 1e100, 1.5e-10, float("inf"), float("-inf"),
          float("nan"), 3.14159, 2.718281828459045, 1e-7, 9.999999999999999e-5, 0.001, 4.35,
          0.1 + 0.2, 1 / 7, 2 ** 52, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 9007199254740993.0,
          5e-5, 12345.678, 1e21, 1e-300, 8.41e21, 5.0e-324 * 3]
frng = random.Random(99)
for _ in range(600):
    kind = frng.randint(0, 3)
    if kind == 0:
        bits = frng.getrandbits(64)
        v = struct.unpack("<d", struct.pack("<Q", bits))[0]
        if math.isnan(v):
            continue
    elif kind == 1:
        v = frng.uniform(-1, 1) * 10 ** frng.randint(-20, 20)
    elif kind == 2:
        v = float(struct.unpack("<f", struct.pack("<f", frng.uniform(-1, 1) * 10 ** frng.randint(-8, 10)))[0])
    else:
        v = round(frng.uniform(-1000, 1000), frng.randint(0, 6))
    floats.append(v)
# Powers of two and ten near the boundaries of both notations.
for e in range(-330, 310, 7):
    floats.append(float("1e%d" % e) if e > -324 else 5e-324)
for e in range(-1080, 1024, 37):
    floats.append(math.ldexp(1.0, e))

floats = [float(v) for v in floats]
emit("typedef struct RefRepr {")
emit("  double v;")
emit("  const char *expect;")
emit("} RefRepr;")
emit("")
emit("static const RefRepr ref_repr_cases[] = {")
for v in floats:
    emit("  {%s, \"%s\"}," % (c_double(v), repr(v)))
emit("};")
emit("")

# ---- random streams ------------------------------------------------------------------
#
# Each step is one call: kind (0 uniform, 1 normal), dtype, n, two parameters. The test
# replays the steps in order after manual_seed and compares. Long results keep their
# first and last 32 values and an FNV-1a hash of all the value bits.

STEP_KINDS = {"uniform": 0, "normal": 1}
rng_seqs = []


def fnv1a(t):
    h = 0xcbf29ce484222325
    if t.dtype == torch.float32:
        words = t.view(torch.int32).tolist()
        words = [w & 0xffffffff for w in words]
        nbytes = 4
    else:
        words = t.view(torch.int64).tolist()
        words = [w & 0xffffffffffffffff for w in words]
        nbytes = 8
    for w in words:
        for b in range(nbytes):
            h ^= (w >> (8 * b)) & 0xff
            h = (h * 0x100000001b3) & 0xffffffffffffffff
    return h


def run_seq(name, seed, steps):
    if seed is not None:
        torch.manual_seed(seed)
    recs = []
    for kind, dtype, n, a, b in steps:
        if kind == "uniform":
            if a == 0.0 and b == 1.0 and n % 2:
                t = torch.rand(n, dtype=dtype)
            else:
                t = torch.empty(n, dtype=dtype).uniform_(a, b)
        else:
            if a == 0.0 and b == 1.0 and n % 2:
                t = torch.randn(n, dtype=dtype)
            else:
                t = torch.empty(n, dtype=dtype).normal_(a, b)
        recs.append((kind, dtype, n, a, b, t))
    rng_seqs.append((name, seed, recs))


f32, f64 = torch.float32, torch.float64
# The default seed: what a program that never calls manual_seed draws (run in a fresh
# process state: the generator was seeded with the default seed at import).
torch.manual_seed(67280421310721)
run_seq("default_seed", None, [("uniform", f32, 10, 0.0, 1.0), ("normal", f32, 5, 0.0, 1.0)])
run_seq("interleaved", 0, [
    ("uniform", f32, 3, 0.0, 1.0), ("normal", f32, 20, 0.0, 1.0), ("uniform", f32, 5, 0.0, 1.0),
    ("normal", f32, 7, 0.0, 1.0), ("uniform", f32, 256 * 784, -0.0357, 0.0357),
    ("normal", f32, 3, 0.0, 1.0), ("normal", f32, 1, 0.0, 1.0), ("uniform", f64, 9, -2.0, 3.0)])
run_seq("sizes_f32", 42, [("normal", f32, n, 0.0, 1.0) for n in
                          [1, 2, 15, 16, 17, 31, 32, 33, 100, 1000]] +
        [("uniform", f32, n, -1.5, 2.5) for n in [1, 16, 17, 1001]])
run_seq("sizes_f64", 7, [("normal", f64, n, 0.5, 2.0) for n in
                         [1, 3, 15, 16, 17, 33, 257]] +
        [("uniform", f64, n, 0.0, 1.0) for n in [1, 16, 1001]] +
        [("normal", f64, 5, 0.0, 1.0), ("normal", f32, 3, -1.0, 0.25)])
run_seq("init_like", 0, [("uniform", f32, 256 * 784, -1 / 28.0, 1 / 28.0),
                         ("uniform", f32, 256, -1 / 28.0, 1 / 28.0),
                         ("uniform", f32, 10 * 256, -1 / 16.0, 1 / 16.0),
                         ("normal", f32, 1000 * 64, 0.0, 0.02),
                         ("normal", f64, 300, -3.0, 10.0)])
run_seq("big_seed", 2 ** 40 + 12345, [("uniform", f32, 40, 0.0, 1.0),
                                     ("normal", f32, 40, 1.0, 3.0)])

KEEP = 32
emit("typedef struct RefRngStep {")
emit("  int kind; /* 0 uniform, 1 normal */")
emit("  TtDType dt;")
emit("  int64_t n;")
emit("  double a, b;")
emit("  const double *head; /* the first min(n, 32) values */")
emit("  const double *tail; /* the last min(n, 32) values */")
emit("  uint64_t fnv;       /* FNV-1a over the bytes of all n values */")
emit("} RefRngStep;")
emit("")
emit("typedef struct RefRngSeq {")
emit("  const char *name;")
emit("  int reseed; /* 0: replay from the default seed (tt_init's) */")
emit("  uint64_t seed;")
emit("  int nsteps;")
emit("  const RefRngStep *steps;")
emit("} RefRngSeq;")
emit("")
for si, (name, seed, recs) in enumerate(rng_seqs):
    for ri, (kind, dtype, n, a, b, t) in enumerate(recs):
        flat = t.tolist()
        emit("static const double ref_rng_h%d_%d[] = {%s};" % (
            si, ri, ", ".join(c_double(float(v)) for v in flat[:KEEP])))
        emit("static const double ref_rng_t%d_%d[] = {%s};" % (
            si, ri, ", ".join(c_double(float(v)) for v in flat[-KEEP:])))
    emit("static const RefRngStep ref_rng_steps%d[] = {" % si)
    for ri, (kind, dtype, n, a, b, t) in enumerate(recs):
        emit("  {%d, %s, %d, %s, %s, ref_rng_h%d_%d, ref_rng_t%d_%d, 0x%016xull}," % (
            STEP_KINDS[kind], DTYPES[dtype], n, c_double(a), c_double(b), si, ri, si, ri,
            fnv1a(t)))
    emit("};")
emit("")
emit("static const RefRngSeq ref_rng_seqs[] = {")
for si, (name, seed, recs) in enumerate(rng_seqs):
    emit("  {\"%s\", %d, %dull, %d, ref_rng_steps%d}," % (
        name, int(seed is not None), seed if seed is not None else 67280421310721, len(recs), si))
emit("};")
emit("")
emit("#endif")

print("\n".join(OUT))
