#!/usr/bin/python3
"""gemm_bench.py — torch.mm GFLOP/s, one thread, on the shapes of bench/gemm_bench.c.

Run with Debian's torch: /usr/bin/python3 bench/gemm_bench.py
"""
import time

import torch

SHAPES = [
    ("fc1 x@W^T  64x256x784 NT", 64, 256, 784, False, True),
    ("           64x256x784 NN", 64, 256, 784, False, False),
    ("fc1 dW     784x256x64 TN", 784, 256, 64, True, False),
    ("fc1 dW^T   256x784x64 TN", 256, 784, 64, True, False),
    ("fc1 dx     64x784x256 NN", 64, 784, 256, False, False),
    ("fc2 x@W^T  64x10x256  NT", 64, 10, 256, False, True),
    ("           64x10x256  NN", 64, 10, 256, False, False),
    ("fc2 dW     10x256x64  TN", 10, 256, 64, True, False),
    ("fc2 dx     64x256x10  NN", 64, 256, 10, False, False),
    ("square     512x512x512 NN", 512, 512, 512, False, False),
]


def gflops(fn, flop):
    reps = 1
    while True:
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        if time.perf_counter() - t0 > 0.04:
            break
        reps *= 2
    best = 1e30
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        best = min(best, (time.perf_counter() - t0) / reps)
    return flop / best * 1e-9


def main():
    torch.set_num_threads(1)
    print("%-28s %10s" % ("shape (M x N x K)", "torch.mm"))
    for name, m, n, k, ta, tb in SHAPES:
        a = torch.rand(k, m).t() if ta else torch.rand(m, k)
        b = torch.rand(n, k).t() if tb else torch.rand(k, n)
        out = torch.empty(m, n)
        print("%-28s %10.1f   GFLOP/s" % (name, gflops(lambda: torch.mm(a, b, out=out),
                                                      2.0 * m * n * k)))


if __name__ == "__main__":
    main()
