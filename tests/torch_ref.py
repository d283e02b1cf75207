#!/usr/bin/python3
"""torch_ref.py — run a .tt program under real PyTorch; its stdout is the expected output.

A .tt program is Python with torch's names, so the reference is the program itself run with
a prelude that binds ttc's bare names (tensor, zeros, relu, Linear, Module, ...) to torch's.
`import torch` and friends in the program keep working: they are plain Python imports.

    /usr/bin/python3 tests/torch_ref.py FILE.tt

Used by tests/exec.sh --regen (UPDATE=1) to write tests/exec/NAME.expected; the test suite
itself never needs torch.
"""
import math
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Module(nn.Module):
    """nn.Module whose state exists before __init__ runs: ttc lets a user class skip
    super().__init__(), so the prelude sets nn.Module's fields up in __new__."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls)
        nn.Module.__init__(self)
        return self

    def __init__(self, *args, **kwargs):
        # super().__init__() from a user class must not reset what __new__ set up (a class
        # may assign attributes before calling it).
        pass


def _tensor(data, *args, **kwargs):
    if isinstance(data, torch.Tensor):
        return data.clone().detach().requires_grad_(kwargs.get("requires_grad", False))
    return torch.tensor(data, *args, **kwargs)


def _sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """F.scaled_dot_product_attention as PyTorch 2's documentation defines it, for the
    PyTorch 1.13 that lacks it (out of place, so a mask may broadcast over batch dims)."""
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1 / math.sqrt(query.size(-1)) if scale is None else scale
    attn_bias = torch.zeros(L, S, dtype=query.dtype)
    if is_causal:
        assert attn_mask is None
        temp_mask = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
        attn_bias = attn_bias.masked_fill(temp_mask.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            attn_bias = attn_bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            attn_bias = attn_mask + attn_bias
    attn_weight = query @ key.transpose(-2, -1) * scale_factor
    attn_weight += attn_bias
    attn_weight = torch.softmax(attn_weight, dim=-1)
    if dropout_p > 0:
        attn_weight = torch.dropout(attn_weight, dropout_p, train=True)
    return attn_weight @ value


if not hasattr(F, "scaled_dot_product_attention"):
    F.scaled_dot_product_attention = _sdpa


def magnitude_prune(model, sparsity=0.9):
    """TinyTorch's (module 16) global magnitude pruning, as ttc defines it (frontend/prune.c):
    the sparsity-quantile of |w| over every parameter of 2+ dims (np.percentile's linear
    interpolation), and each such parameter keeps the entries with |w| >= that threshold."""
    weights = [p for p in model.parameters() if p.dim() > 1]
    if not weights:
        return model
    mags = torch.cat([p.detach().abs().flatten() for p in weights])
    threshold = torch.quantile(mags, sparsity)
    with torch.no_grad():
        for p in weights:
            p.mul_((p.abs() >= threshold).to(p.dtype))
    return model


def structured_prune(model, prune_ratio=0.5):
    """TinyTorch's structured pruning in PyTorch's [out, in] layout, as ttc defines it: in
    every Linear but the last, the int(out * prune_ratio) output neurons with the smallest
    L2 norm of their weight row (ties: the lower index) get a zero row and a zero bias."""
    lins = [m for m in model.modules() if isinstance(m, nn.Linear)]
    with torch.no_grad():
        for m in lins[:-1]:
            k = int(m.out_features * prune_ratio)
            if k <= 0:
                continue
            idx = torch.argsort(torch.norm(m.weight, p=2, dim=1), stable=True)[:k]
            m.weight[idx] = 0
            if m.bias is not None:
                m.bias[idx] = 0
    return model


def quantize_int8(tensor):
    """TinyTorch's (module 15) asymmetric int8 quantization of a whole tensor, as ttc
    defines it (frontend/quant.c): its NumPy arithmetic, float64 for the parameters and
    float32 for the codes, rounding half to even."""
    data = tensor.detach().float()
    min_val, max_val = float(data.min()), float(data.max())
    if abs(max_val - min_val) < 1e-8:
        return torch.zeros_like(data, dtype=torch.int8), 1.0, 0
    scale = (max_val - min_val) / 255
    zero_point = int(max(-128, min(127, round(-128 - min_val / scale))))
    q = torch.round(data / scale + zero_point).clamp(-128, 127).to(torch.int8)
    return q, scale, zero_point


def dequantize_int8(q_tensor, scale, zero_point):
    """TinyTorch's inverse of quantize_int8, in float32."""
    return (q_tensor.float() - zero_point) * scale


class Profiler:
    """The curriculum's Profiler (module 14) as ttc defines it (frontend/profiler.c): counts
    known before the program runs. count_flops runs the forward once on zeros under no_grad
    and counts each aten op as ttc's ir_cost counts the op it lowers to; an op this table
    does not know is an error, never a guess."""

    _ew = {"relu", "sub", "div", "mul", "add", "sigmoid", "tanh", "neg", "exp", "log", "sqrt", "rsub", "gelu"}
    _free = {"view", "t", "_unsafe_view", "reshape", "flatten", "expand", "detach", "clone", "zeros", "fill",
             "permute", "transpose", "unsqueeze", "squeeze", "contiguous", "alias", "empty", "_to_copy",
             "_reshape_alias", "as_strided", "slice", "select"}

    def count_parameters(self, model):
        return sum(p.numel() for p in model.parameters())

    def _trace(self, model, input_shape):
        from torch.utils._python_dispatch import TorchDispatchMode
        counter = [0]
        free, ew = self._free, self._ew

        class Count(TorchDispatchMode):
            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                name = func.__name__.split(".")[0].rstrip("_")
                if name == "addmm":
                    m, k = args[1].shape
                    counter[0] += 2 * m * k * args[2].shape[1] + out.numel()
                elif name == "mm":
                    counter[0] += 2 * out.numel() * args[0].shape[1]
                elif name == "convolution":
                    w = args[1]
                    counter[0] += 2 * out.numel() * w.shape[1] * w.shape[2] * w.shape[3]
                elif name in ("max_pool2d_with_indices", "avg_pool2d"):
                    k = args[1] if isinstance(args[1], (list, tuple)) else [args[1]] * 2
                    k = list(k) * 2 if len(k) == 1 else k
                    o = out[0] if isinstance(out, tuple) else out
                    counter[0] += o.numel() * k[0] * k[1]
                elif name in ew:
                    counter[0] += out.numel()
                elif name not in free:
                    raise NotImplementedError(f"Profiler.count_flops: no FLOP rule for aten.{name}")
                return out

        x = torch.zeros(*input_shape)
        with torch.no_grad(), Count():
            y = model(x)
        return counter[0], x, y

    def count_flops(self, model, input_shape):
        return self._trace(model, input_shape)[0]

    def measure_memory(self, model, input_shape):
        _, x, y = self._trace(model, input_shape)
        mb = 1024.0 * 1024.0
        pm = sum(p.numel() * p.element_size() for p in model.parameters()) / mb
        am = (x.numel() * x.element_size() + y.numel() * y.element_size()) / mb
        return {"parameter_memory_mb": pm, "activation_memory_mb": am, "peak_memory_mb": pm + am}

    def measure_latency(self, model, input_tensor, warmup=10, iterations=100):
        """The mean milliseconds per forward under no_grad, after warmup forwards."""
        import time
        with torch.no_grad():
            for _ in range(warmup):
                model(input_tensor)
            t0 = time.perf_counter()
            for _ in range(iterations):
                model(input_tensor)
            return (time.perf_counter() - t0) * 1000.0 / iterations


class BenchmarkResult:
    """One model's measurement runs in ms: mean, sample std, min, max, count."""

    def __init__(self, model_name, values):
        n = len(values)
        self.metric_name, self.model_name, self.count = "latency_ms", model_name, n
        self.mean = sum(values) / n
        self.std = math.sqrt(max(sum((v - self.mean) ** 2 for v in values) / (n - 1), 0.0))
        self.min, self.max = min(values), max(values)


class Benchmark:
    """The curriculum's Benchmark (module 19) as ttc defines it (frontend/profiler.c)."""

    def __init__(self, models, datasets=None, warmup_runs=5, measurement_runs=10):
        self.models, self.datasets = list(models), datasets
        self.warmup_runs, self.measurement_runs = warmup_runs, measurement_runs

    def run_latency_benchmark(self, input_shape=(1, 28, 28)):
        import time
        results = {}
        for i, m in enumerate(self.models):
            name = m.name if isinstance(getattr(m, "name", None), str) else f"model_{i}"
            x = torch.zeros(*input_shape)
            values = []
            with torch.no_grad():
                for _ in range(self.warmup_runs):
                    m(x)
                for _ in range(self.measurement_runs):
                    t0 = time.perf_counter()
                    m(x)
                    values.append((time.perf_counter() - t0) * 1000.0)
            results[name] = BenchmarkResult(name, values)
        return results


def _qcodes(x, inv, zp, lo, hi):
    """torch.quantize_per_tensor's arithmetic with tensor parameters (frontend/quant.c)."""
    r = torch.round(x * inv) + torch.as_tensor(zp).float()
    r = torch.where(r.abs() < 2.0 ** 63, r, torch.tensor(-(2.0 ** 63)))
    return r.long().clamp(lo, hi).to(torch.int8)


def _state(m, observed):
    """The buffers ttc's quantized layers hold, which state_dict() lists in this order:
    weight (int8 codes), weight_scale, bias, and with calibration input_scale and
    input_zero_point. The layer computes with them, so load_state_dict() changes it."""
    m.register_buffer("weight", m.wq)
    m.register_buffer("weight_scale", m.sw)
    if m.qbias is not None:
        m.register_buffer("bias", m.qbias)
    if observed is not None:
        scale, zp, _ = _qinput(observed, torch.zeros(1))
        m.register_buffer("input_scale", scale)
        m.register_buffer("input_zero_point", zp)


def _qinput(observed, x, m=None):
    """ttc's activation quantization: int8 codes from the calibrated range (or the batch's
    own), widened to include 0; returns (scale, zero point, codes)."""
    if m is not None:
        m.wq, m.sw, m.qbias = m.weight, m.weight_scale, getattr(m, "bias", None)
        if observed is not None:
            scale, zp = m.input_scale, m.input_zero_point
            return scale, zp, _qcodes(x, 1.0 / scale, zp, -128, 127)
    zero = torch.tensor(0.0)
    lo, hi = observed if observed is not None else (x.min(), x.max())
    mn, mx = torch.minimum(lo, zero), torch.maximum(hi, zero)
    rng = mx - mn
    scale = torch.where(rng > 0, rng / 255.0, torch.tensor(1.0))
    zp = torch.round(-128.0 - mn / scale).clamp(-128, 127).long()
    return scale, zp, _qcodes(x, 1.0 / scale, zp, -128, 127)


class QuantizedConv2d(nn.Module):
    """ttc's int8 Conv2d (frontend/quant.c): weights per output channel, activations as
    QuantizedLinear's, the exact integer convolution (in float64, exact at these sizes)."""

    def __init__(self, conv, observed=None):
        super().__init__()
        self.observed = observed
        w = self.w = conv.weight.detach().float()
        amax = w.abs().amax(dim=(1, 2, 3))
        self.sw = torch.where(amax > 0, amax / 127.0, torch.tensor(1.0))
        self.wq = _qcodes(w, (1.0 / self.sw)[:, None, None, None], 0, -128, 127)
        self.qbias = None if conv.bias is None else conv.bias.detach().float()
        self.stride, self.padding = conv.stride, conv.padding
        _state(self, observed)

    def forward(self, x):
        scale, zp, xq = _qinput(self.observed, x, self)
        acc = F.conv2d(xq.double() - zp, self.wq.double(), stride=self.stride, padding=self.padding)
        y = acc.round().int().float() * (scale * self.sw).view(1, -1, 1, 1)
        return y if self.qbias is None else y + self.qbias.view(1, -1, 1, 1)


class QuantizedLinear(nn.Module):
    """ttc's int8 Linear (frontend/quant.c): int8 weights with a symmetric scale per output
    row, int8 activations with a scale and zero point from each batch's range (widened to
    include 0), the exact integer product, scaled back to float32 with the bias."""

    def __init__(self, linear, observed=None):
        super().__init__()
        self.observed = observed  # (min, max) from calibration: static scales
        w = self.w = linear.weight.detach().float()
        amax = w.abs().amax(dim=1)
        self.sw = torch.where(amax > 0, amax / 127.0, torch.tensor(1.0))
        self.wq = _qcodes(w, (1.0 / self.sw)[:, None], 0, -128, 127)
        self.qbias = None if linear.bias is None else linear.bias.detach().float()
        _state(self, observed)

    def forward(self, x):
        scale, zp, xq = _qinput(self.observed, x, self)
        acc = ((xq.long() - zp) @ self.wq.long().T).int()
        y = acc.float() * (scale * self.sw)
        return y if self.qbias is None else y + self.qbias


def _quantize_children(model, ranges):
    for name, child in list(model.named_children()):
        if isinstance(child, nn.Linear):
            setattr(model, name, QuantizedLinear(child, ranges.get(child)))
        elif isinstance(child, nn.Conv2d):
            setattr(model, name, QuantizedConv2d(child, ranges.get(child)))
        else:
            _quantize_children(child, ranges)


def _percentiles(x, p):
    """The percentile observer's estimate for one batch (frontend/quant.c's
    batch_percentiles): float32 bisection from [min, max], 24 steps, exact counts."""
    n = torch.tensor(float(x.numel()), dtype=torch.float64)
    need = n * (p / 100.0)
    below = n - need
    a, b = x.min(), x.max()
    for _ in range(24):
        mid = (a + b) * 0.5
        ok = (x <= mid).sum().double() >= need
        a, b = torch.where(ok, a, mid), torch.where(ok, mid, b)
    hi = b
    a, b = x.min(), x.max()
    for _ in range(24):
        mid = (a + b) * 0.5
        ok = (x < mid).sum().double() <= below
        a, b = torch.where(ok, mid, a), torch.where(ok, b, mid)
    return a, hi


def _clipped(m, x):
    """How many of x's values the layer's calibrated range clips (codes clamped)."""
    r = torch.round(x * (1.0 / m.input_scale)) + m.input_zero_point.float()
    return (r > 127.0).sum().double() + (r < -128.0).sum().double(), float(x.numel())


def _report(model, calibrated, clip=None):
    """quantize_model(report=True)'s lines: input scale and zero point, the calibration
    data's clipping rate, weight SQNR."""
    for name, m in model.named_modules():
        if isinstance(m, (QuantizedLinear, QuantizedConv2d)):
            deq = m.wq.float() * m.sw.view((-1,) + (1,) * (m.w.dim() - 1))
            wd, ed = m.w.double(), (m.w - deq).double()
            db = (torch.log10((wd * wd).sum() / (ed * ed).sum()) * 10.0).item()
            if calibrated:
                scale, zp, _ = _qinput(m.observed, torch.zeros(1))
                nclip, nall = clip[m]
                print("quantize_model:", name, "input scale", round(scale.item(), 6), "zero point",
                      zp.item(), "clipping rate", round((nclip / nall).item(), 6),
                      "weight SQNR dB", round(db, 2))
            else:
                print("quantize_model:", name, "input dynamic", "weight SQNR dB", round(db, 2))


def quantize_model(model, calibration_data=None, num_batches=None, report=False, observer="minmax",
                   percentile=99.99):
    """ttc's quantize_model: every Linear (Conv2d) below model becomes a QuantizedLinear
    (QuantizedConv2d), in place;
    with calibration_data, each one's input range is the min and max its input reaches over
    the first num_batches batches (all by default) run through the float model, or with
    observer="percentile" the batches' percentiles (percentile and 100 - percentile),
    averaged."""
    ranges = {}

    def batches():
        for i, b in enumerate(calibration_data):
            if num_batches is not None and i == num_batches:
                break
            yield b[0] if isinstance(b, (tuple, list)) else b

    if calibration_data is not None:
        sums = {}

        def observe(mod, inp):
            x = inp[0]
            lo, hi = ranges.get(mod, (torch.tensor(math.inf), torch.tensor(-math.inf)))
            ranges[mod] = (torch.minimum(lo, x.min()), torch.maximum(hi, x.max()))
            if observer == "percentile":
                plo, phi = _percentiles(x, percentile)
                slo, shi, n = sums.get(mod, (torch.tensor(0.0), torch.tensor(0.0), torch.tensor(0.0)))
                sums[mod] = (slo + plo, shi + phi, n + 1.0)
        hooks = [m.register_forward_pre_hook(observe) for m in model.modules()
                 if isinstance(m, (nn.Linear, nn.Conv2d))]
        with torch.no_grad():
            for b in batches():
                model(b)
        for h in hooks:
            h.remove()
        if observer == "percentile":
            ranges = {m: (slo / n, shi / n) for m, (slo, shi, n) in sums.items()}
    _quantize_children(model, ranges)
    clip = None
    if report and calibration_data is not None:
        clip = {}
        qs = [m for m in model.modules() if isinstance(m, (QuantizedLinear, QuantizedConv2d))]
        saved = {}
        for m in qs:  # the float model again: each layer computes as before quantization
            saved[m] = m.forward
            m.forward = (lambda mod: lambda x: _float_forward(mod, x))(m)
            clip[m] = (torch.tensor(0.0, dtype=torch.float64), torch.tensor(0.0, dtype=torch.float64))

        def count(mod, inp):
            c, n = _clipped(mod, inp[0])
            clip[mod] = (clip[mod][0] + c, clip[mod][1] + n)
        hooks = [m.register_forward_pre_hook(count) for m in qs]
        with torch.no_grad():
            for b in batches():
                model(b)
        for h in hooks:
            h.remove()
        for m in qs:
            m.forward = saved[m]
    if report:
        _report(model, calibration_data is not None, clip)
    return model


def _float_forward(m, x):
    """A quantized layer's float computation (calibration's), from the float weight."""
    if isinstance(m, QuantizedConv2d):
        return F.conv2d(x, m.w, m.qbias, stride=m.stride, padding=m.padding)
    return F.linear(x, m.w, m.qbias)


_names = {
    # creation
    "tensor": _tensor, "Tensor": _tensor,
    "zeros": torch.zeros, "ones": torch.ones, "empty": torch.zeros, "full": torch.full,
    "rand": torch.rand, "randn": torch.randn,
    "zeros_like": torch.zeros_like, "ones_like": torch.ones_like,
    "full_like": torch.full_like, "rand_like": torch.rand_like, "randn_like": torch.randn_like,
    "arange": torch.arange, "linspace": torch.linspace, "eye": torch.eye,
    "manual_seed": torch.manual_seed,
    # elementwise
    "add": torch.add, "sub": torch.sub, "subtract": torch.subtract, "mul": torch.mul,
    "multiply": torch.multiply, "div": torch.div, "divide": torch.divide,
    "true_divide": torch.true_divide, "pow": torch.pow, "exp": torch.exp, "log": torch.log,
    "sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "neg": torch.neg, "negative": torch.negative,
    "square": torch.square, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
    "gelu": F.gelu, "maximum": torch.maximum, "minimum": torch.minimum,
    "clamp": torch.clamp, "clip": torch.clip, "where": torch.where,
    "softmax": torch.softmax, "log_softmax": torch.log_softmax,
    # linear algebra
    "matmul": torch.matmul, "mm": torch.mm, "bmm": torch.bmm,
    # reductions and layout (functions)
    "mean": torch.mean, "argmax": torch.argmax, "argmin": torch.argmin,
    "reshape": torch.reshape, "flatten": torch.flatten, "unsqueeze": torch.unsqueeze,
    "squeeze": torch.squeeze, "permute": torch.permute, "transpose": torch.transpose,
    "swapaxes": torch.swapaxes, "t": torch.t, "cat": torch.cat, "concat": torch.cat,
    "concatenate": torch.cat, "stack": torch.stack,
    "detach": torch.detach, "clone": torch.clone, "numel": torch.numel,
    # modules
    "Module": Module, "Linear": nn.Linear, "ReLU": nn.ReLU, "Sigmoid": nn.Sigmoid,
    "Tanh": nn.Tanh, "GELU": nn.GELU, "Softmax": nn.Softmax, "LogSoftmax": nn.LogSoftmax,
    "Identity": nn.Identity, "Flatten": nn.Flatten, "Sequential": nn.Sequential,
    "ModuleList": nn.ModuleList, "Parameter": nn.Parameter,
    "Conv2d": nn.Conv2d, "MaxPool2d": nn.MaxPool2d, "AvgPool2d": nn.AvgPool2d,
    "Dropout": nn.Dropout, "BatchNorm2d": nn.BatchNorm2d,
    "conv2d": F.conv2d, "max_pool2d": F.max_pool2d, "avg_pool2d": F.avg_pool2d,
    "dropout": F.dropout, "softplus": F.softplus, "erf": torch.erf, "floor": torch.floor,
    "mse_loss": F.mse_loss, "l1_loss": F.l1_loss, "nll_loss": F.nll_loss,
    "cross_entropy": F.cross_entropy, "one_hot": F.one_hot,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "no_grad": torch.no_grad,
    "magnitude_prune": magnitude_prune, "structured_prune": structured_prune,
    "quantize_int8": quantize_int8, "dequantize_int8": dequantize_int8,
    "QuantizedLinear": QuantizedLinear, "quantize_model": quantize_model,
    # namespaces a program may use without importing them (ttc predefines them)
    "torch": torch, "nn": nn, "F": F, "optim": torch.optim, "math": math,
    # the curriculum's measuring tools (ttc: frontend/profiler.c)
    "Profiler": Profiler, "Benchmark": Benchmark,
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: torch_ref.py FILE.tt")
    path = sys.argv[1]
    with open(path) as f:
        src = f.read()
    env = {"__name__": "__main__", "__file__": path}
    env.update(_names)
    exec(compile(src, path, "exec"), env)


if __name__ == "__main__":
    main()
