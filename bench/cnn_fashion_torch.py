#!/usr/bin/python3
"""cnn_fashion_torch.py — the PyTorch side of the Fashion-MNIST CNN training benchmark, and
the harness that times ttc (im2col and naive convolutions) and PyTorch the same way.

  /usr/bin/python3 bench/cnn_fashion_torch.py train [--steps S] [--threads T]
      the PyTorch twin of bench/cnn_bench.tt: seed 0, conv(1->8) -> relu -> max_pool 2 ->
      conv(8->16) -> relu -> max_pool 2 -> linear(784 -> 10), Adam lr 1e-3, batch 64, the
      first S batches of one shuffled epoch; same printed lines.
  /usr/bin/python3 bench/cnn_fashion_torch.py bench --ttc-bin BIN --ttc-naive-bin BIN2
                   [--steps S] [--runs R] [--naive-runs N] [--openblas-dir DIR]
      runs the two ttc binaries and this script's `train` (1 and 2 threads) as child
      processes, interleaved, one warm-up round, then R measured runs (N for the slow naive
      binary); prints the table and the ratios the issue asks for.

The approach is bench/mlp_fashion_torch.py's (its small helpers are copied here rather than
imported, so the two benchmarks can change independently): each program prints "ready" once
the data is open and the model and optimizer exist, three "step N: loss X" lines, and a
"done S steps" line. The harness timestamps each line as it arrives through a pipe; training
time is "done" minus "ready", so data opening and interpreter start-up are excluded and
per-batch loading (shuffle, gather, uint8 -> float / 255) is included, in both. Peak RSS is
the child's ru_maxrss from wait4() (for PyTorch that includes the interpreter and libtorch).
Debian's torch runs Conv2d through oneDNN (MKL-DNN); its matmuls go to whatever
libblas.so.3 is installed, hence the optional OpenBLAS rows.

Run it through bench/cnn_fashion.sh, which builds ttc and both binaries first.
"""
import argparse
import gzip
import os
import statistics
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"
BATCH = 64


# ---- the PyTorch program ------------------------------------------------------------------

def read_idx(name):
    """An IDX file's payload as a uint8 tensor with the file's shape."""
    import torch
    with gzip.open(os.path.join(DATA, name + ".gz"), "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    body = bytearray(raw[4 + 4 * ndim:])
    return torch.frombuffer(body, dtype=torch.uint8).reshape(dims)


def train(args):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler

    torch.set_num_threads(args.threads)

    class Rows(Dataset):
        """Fashion-MNIST held as uint8 like the files; a whole batch of indices is gathered
        at once (what ttc's loader does), not 64 __getitem__ calls and a collate."""

        def __init__(self, kind):
            self.x = read_idx(f"{kind}-images-idx3-ubyte").unsqueeze(1)  # [N,1,28,28]
            self.y = read_idx(f"{kind}-labels-idx1-ubyte").long()

        def __len__(self):
            return len(self.y)

        def __getitem__(self, idx):
            idx = torch.as_tensor(idx)
            return self.x[idx].float().div_(255.0), self.y[idx]  # ToTensor's float32 / 255

    class CNN(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.fc = nn.Linear(16 * 7 * 7, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc(x.flatten(1))

    torch.manual_seed(0)
    model = CNN()
    train_set = Rows("train")
    # RandomSampler without a generator draws its seed from the global one when iterated,
    # and the iterator draws its base seed, exactly as DataLoader(shuffle=True) does.
    sampler = BatchSampler(RandomSampler(train_set), batch_size=BATCH, drop_last=False)
    train_dl = DataLoader(train_set, sampler=sampler, batch_size=None)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    print("ready", flush=True)

    total = 0.0
    for i, (x, y) in enumerate(train_dl):
        if i >= args.steps:
            break
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
        if i < 3:
            print(f"step {i + 1}: loss {loss.item():.4f}", flush=True)
    print(f"done {args.steps} steps: mean train loss {total / args.steps:.4f}", flush=True)


# ---- the harness ----------------------------------------------------------------------------

def measure(cmd, env):
    """Runs cmd, timestamping its stdout lines; returns times, lines and peak RSS in MiB."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env)
    stamps, lines = [], []
    for line in p.stdout:
        stamps.append(time.perf_counter())
        lines.append(line.rstrip("\n"))
    err = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    t_exit = time.perf_counter()
    p.returncode = os.waitstatus_to_exitcode(status)  # reaped here, for ru_maxrss
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{err}")
    try:
        ready = lines.index("ready")
        done = next(i for i, s in enumerate(lines) if s.startswith("done "))
    except (ValueError, StopIteration):
        sys.exit(f"bench: {cmd[0]} printed no 'ready' or 'done' line:\n" + "\n".join(lines))
    return {
        "train_s": stamps[done] - stamps[ready],
        "wall_s": t_exit - t0,
        "rss_mib": ru.ru_maxrss / 1024.0,
        "losses": [s.split()[-1] for s in lines if s.startswith("step ")],
        "mean": lines[done].split()[-1],
    }


def spread(xs, fmt):
    """median [min-max], the honest summary of a handful of runs."""
    return f"{fmt.format(statistics.median(xs))} [{fmt.format(min(xs))}-{fmt.format(max(xs))}]"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def bench(args):
    me = os.path.abspath(__file__)
    # (name, threads, command, environment, measured runs). ttc's runtime splits its big GEMMs
    # over two threads when there are two CPUs; the direct convolution kernels use one (so
    # ttc-naive's Linear layers may use two).
    # OpenBLAS keeps its own thread pool, which torch.set_num_threads does not size, so
    # OPENBLAS_NUM_THREADS is set to match.
    ttc_threads = 1 if os.environ.get("TT_THREADS") == "1" else min(2, os.cpu_count() or 1)
    systems = [("ttc", ttc_threads, ["stdbuf", "-oL", args.ttc_bin], dict(os.environ), args.runs),
               ("ttc-naive", ttc_threads, ["stdbuf", "-oL", args.ttc_naive_bin], dict(os.environ),
                args.naive_runs)]
    blases = [("torch", None)] + ([("torch+ob", args.openblas_dir)] if args.openblas_dir else [])
    for name, libdir in blases:
        for t in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t))
            if libdir:
                env["LD_LIBRARY_PATH"] = libdir
            systems.append((name, t, [sys.executable, me, "train", "--steps", str(args.steps),
                                      "--threads", str(t)], env, args.runs))
    results = {i: [] for i in range(len(systems))}
    for r in range(max(args.runs, args.naive_runs) + 1):  # run 0 is the warm-up
        for i, (name, thr, cmd, env, runs) in enumerate(systems):  # interleaved
            if r > runs:
                continue
            m = measure(cmd, env)
            if r > 0:
                results[i].append(m)
            print(f"  run {r}{' (warm-up)' if r == 0 else ''} {name:9} {thr} thr: "
                  f"train {m['train_s']:.3f} s, RSS {m['rss_mib']:.0f} MiB, load {loadavg()}",
                  file=sys.stderr, flush=True)

    samples = BATCH * args.steps
    rows = []
    print(f"\nFashion-MNIST CNN conv(1->8) conv(8->16) linear(784->10), Adam, batch 64, "
          f"{args.steps} steps = {samples} samples; {args.runs} runs ({args.naive_runs} for "
          f"ttc-naive) after 1 warm-up; median [min-max]")
    print(f"{'system':9} {'thr':>3}  {'samples/s':>21}  {'train s':>22}  {'peak RSS MiB':>20}"
          f"  {'wall s':>6}  first losses / mean")
    for i, (name, thr, _, _, _) in enumerate(systems):
        ms = results[i]
        sps = [samples / m["train_s"] for m in ms]
        ts = [m["train_s"] for m in ms]
        rss = [m["rss_mib"] for m in ms]
        wall = statistics.median(m["wall_s"] for m in ms)
        rows.append((name, thr, statistics.median(sps), statistics.median(rss)))
        print(f"{name:9} {thr:>3}  {spread(sps, '{:.0f}'):>21}  {spread(ts, '{:.3f}'):>22}  "
              f"{spread(rss, '{:.1f}'):>20}  {wall:6.2f}  {' '.join(ms[0]['losses'])} / "
              f"{ms[0]['mean']}")

    ttc, naive = rows[0], rows[1]
    print(f"\nttc im2col / naive convolutions: {ttc[2] / naive[2]:.2f}x samples/s "
          f"(target >= 5x: {'met' if ttc[2] / naive[2] >= 5.0 else 'NOT met'})")
    for label, cands in (("best torch", rows[2:]), ("Debian's stock torch", rows[2:4])):
        best = max(cands, key=lambda row: row[2])
        print(f"ttc / {label} ({best[0]}, {best[1]} thread(s)): {ttc[2] / best[2]:.2f}x "
              f"samples/s; peak RSS {ttc[3]:.1f} vs {best[3]:.1f} MiB "
              f"(torch uses {best[3] / ttc[3]:.1f}x)")
        sec_epoch = 60000 / best[2]
        print(f"  at these rates one 60000-sample epoch: ttc {60000 / ttc[2]:.2f} s, "
              f"{best[0]} {sec_epoch:.2f} s")
    first = results[0][0]["losses"]
    same = all(results[i][0]["losses"] == first for i in range(1, len(systems)))
    print(f"first losses {' '.join(first)}: "
          f"{'the same in every system' if same else 'DIFFER between systems (see table)'}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="the PyTorch training program")
    t.add_argument("--steps", type=int, default=300)
    t.add_argument("--threads", type=int, default=1)
    b = sub.add_parser("bench", help="time ttc and PyTorch side by side")
    b.add_argument("--ttc-bin", required=True, help="bench/cnn_bench.tt built with im2col")
    b.add_argument("--ttc-naive-bin", required=True, help="the same built with --conv=naive")
    b.add_argument("--steps", type=int, default=300, help="must match the binaries' STEPS")
    b.add_argument("--runs", type=int, default=5)
    b.add_argument("--naive-runs", type=int, default=3)
    b.add_argument("--openblas-dir", help="a directory holding OpenBLAS's libblas.so.3, to "
                   "also measure torch with it (Debian's torch uses whichever BLAS is installed)")
    args = ap.parse_args()
    for v in ("steps", "runs", "naive_runs"):
        if getattr(args, v, 1) < 1:
            ap.error(f"--{v.replace('_', '-')} must be at least 1")
    if args.cmd == "train":
        train(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
