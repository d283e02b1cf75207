#!/usr/bin/python3
"""mlp_fashion_torch.py — the PyTorch side of the Fashion-MNIST MLP training benchmark, and
the harness that times both systems the same way.

  /usr/bin/python3 bench/mlp_fashion_torch.py train [--epochs E] [--threads T]
      the PyTorch twin of bench/mlp_bench.tt: same seed, model, Adam, batch 64, same shuffle
      draws (so the same batches and the same losses), same printed lines.
  /usr/bin/python3 bench/mlp_fashion_torch.py bench --ttc-bin BIN [--epochs E] [--runs R]
      runs the ttc binary and this script's `train` (1 and 2 threads) as child processes,
      interleaved, one warm-up each, then R measured runs each; prints the table.

Both programs print "ready" once the datasets are opened and the model and optimizer exist,
then one "epoch N: train loss X" line per epoch. The harness timestamps each line as it
arrives through a pipe (the ttc binary runs under `stdbuf -oL`, torch prints with flush), so
both are clocked by the same code: training time is last epoch line minus "ready". Opening
the data (gunzip or ttc's decompression cache) is before "ready" and not counted, in both;
per-batch loading (shuffle, gathering 64 rows, uint8 -> float / 255) is inside the loop and
counted, in both. Peak RSS is the child's ru_maxrss from wait4(), which includes the Python
interpreter and libtorch for PyTorch: that is what it costs to train with it.

Run it through bench/mlp_fashion.sh, which builds ttc and the binary first.
"""
import argparse
import gzip
import os
import statistics
import subprocess
import sys
import time

DATA = "/usr/share/datasets/fashion-mnist"
TRAIN_N = 60000


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

    class MLP(nn.Module):
        def __init__(self, hidden=256):
            super().__init__()
            self.fc1 = nn.Linear(784, hidden)
            self.fc2 = nn.Linear(hidden, 10)

        def forward(self, x):
            return self.fc2(F.relu(self.fc1(x)))

    torch.manual_seed(0)
    model = MLP()
    train_set, test_set = Rows("train"), Rows("t10k")
    # RandomSampler without a generator draws its seed from the global one each epoch, and
    # the iterator draws its base seed, exactly as DataLoader(shuffle=True) does.
    sampler = BatchSampler(RandomSampler(train_set), batch_size=64, drop_last=False)
    train_dl = DataLoader(train_set, sampler=sampler, batch_size=None)
    test_dl = DataLoader(test_set, sampler=BatchSampler(range(len(test_set)), 1000, False),
                         batch_size=None)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(train_set[[0]][0].flatten(1))  # loads the BLAS library, so the line below can name it
    with open("/proc/self/maps") as maps:
        blas = sorted({os.path.realpath(ln.split()[-1]) for ln in maps
                       if "blas" in ln.rsplit("/", 1)[-1]})
    print("blas " + " ".join(blas), flush=True)
    print("ready", flush=True)

    for epoch in range(args.epochs):
        total = 0.0
        for x, y in train_dl:
            loss = F.cross_entropy(model(x.flatten(1)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: train loss {total / len(train_dl):.4f}", flush=True)

    correct = 0
    with torch.no_grad():
        for x, y in test_dl:
            correct += (model(x.flatten(1)).argmax(dim=1) == y).sum().item()
    print(f"test accuracy: {100 * correct / len(test_set):.2f}%", flush=True)


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
    except ValueError:
        sys.exit(f"bench: {cmd[0]} printed no 'ready' line:\n" + "\n".join(lines))
    ep = [i for i, s in enumerate(lines) if s.startswith("epoch ")]
    marks = [stamps[ready]] + [stamps[i] for i in ep]
    return {
        "train_s": marks[-1] - marks[0],
        "epoch_s": [b - a for a, b in zip(marks, marks[1:])],
        "wall_s": t_exit - t0,
        "rss_mib": ru.ru_maxrss / 1024.0,
        "losses": [lines[i].split()[-1] for i in ep],
        "acc": next((s.split()[-1] for s in lines if s.startswith("test accuracy")), "?"),
        "blas": next(("/".join(s.split()[-1].split("/")[-2:]) for s in lines
                      if s.startswith("blas ")), "-"),
    }


def spread(xs, fmt):
    """median [min-max], the honest summary of a handful of runs."""
    return f"{fmt.format(statistics.median(xs))} [{fmt.format(min(xs))}-{fmt.format(max(xs))}]"


def bench(args):
    me = os.path.abspath(__file__)
    # (name, threads, command, environment); OpenBLAS keeps its own thread pool, which
    # torch.set_num_threads does not size, so OPENBLAS_NUM_THREADS is set to match.
    # ttc's runtime splits its big GEMMs over two threads when there are two CPUs.
    ttc_threads = 1 if os.environ.get("TT_THREADS") == "1" else min(2, os.cpu_count() or 1)
    systems = [("ttc", ttc_threads, ["stdbuf", "-oL", args.ttc_bin], dict(os.environ))]
    blases = [("torch", None)] + ([("torch+ob", args.openblas_dir)] if args.openblas_dir else [])
    for name, libdir in blases:
        for t in (1, 2):
            env = dict(os.environ, OMP_NUM_THREADS=str(t), OPENBLAS_NUM_THREADS=str(t))
            if libdir:
                env["LD_LIBRARY_PATH"] = libdir
            systems.append((name, t, [sys.executable, me, "train", "--epochs", str(args.epochs),
                                      "--threads", str(t)], env))
    results = {i: [] for i in range(len(systems))}
    for r in range(args.runs + 1):  # run 0 is the warm-up (page cache, caches, CPU clocks)
        for i, (_, _, cmd, env) in enumerate(systems):  # interleaved: load drifts hit all alike
            m = measure(cmd, env)
            if r > 0:
                results[i].append(m)
            print(f"  run {r}{' (warm-up)' if r == 0 else ''} {systems[i][0]:5} "
                  f"{systems[i][1]} thr: train {m['train_s']:.3f} s, RSS {m['rss_mib']:.0f} MiB",
                  file=sys.stderr, flush=True)

    samples = TRAIN_N * args.epochs
    rows = []
    print(f"\nFashion-MNIST MLP 784-256-10, Adam, batch 64, {args.epochs} epoch(s) = "
          f"{samples} samples, {args.runs} runs after 1 warm-up; median [min-max]")
    print(f"{'system':8} {'thr':>3}  {'samples/s':>24}  {'s/epoch':>22}  {'peak RSS MiB':>20}"
          f"  {'wall s':>6}  losses / test acc")
    for i, (name, thr, _, _) in enumerate(systems):
        ms = results[i]
        sps = [samples / m["train_s"] for m in ms]
        eps = [m["train_s"] / args.epochs for m in ms]
        rss = [m["rss_mib"] for m in ms]
        wall = statistics.median(m["wall_s"] for m in ms)
        rows.append((name, thr, statistics.median(sps), statistics.median(rss)))
        print(f"{name:8} {thr:>3}  {spread(sps, '{:.0f}'):>24}  {spread(eps, '{:.3f}'):>22}  "
              f"{spread(rss, '{:.1f}'):>20}  {wall:6.2f}  {' '.join(ms[0]['losses'])} / "
              f"{ms[0]['acc']}")
        per_epoch = [statistics.median(m["epoch_s"][e] for m in ms) for e in range(args.epochs)]
        print(f"{'':14}per-epoch median s: {' '.join(f'{s:.3f}' for s in per_epoch)}; "
              f"BLAS: {ms[0]['blas']}")

    ttc = rows[0]
    best = max(rows[1:], key=lambda row: row[2])
    speed, mem = ttc[2] / best[2], best[3] / ttc[3]
    print(f"\nttc / best torch ({best[0]}, {best[1]} thread(s)): {speed:.2f}x samples/s, "
          f"it uses {mem:.1f}x ttc's peak RSS")
    stock = max(rows[1:3], key=lambda row: row[2])
    print(f"ttc / Debian's stock torch ({stock[1]} thread(s)): {ttc[2] / stock[2]:.2f}x "
          f"samples/s, it uses {stock[3] / ttc[3]:.1f}x ttc's peak RSS")
    target = speed >= 1.0 and mem >= 10.0
    print(f"target (>= 1x torch's best, <= 1/10 of its memory): {'met' if target else 'NOT met'}"
          f"; goal 2x: {'met' if speed >= 2.0 else 'not met'}")
    if any(results[0][0]["losses"] != results[i][0]["losses"] for i in range(1, len(systems))):
        print("note: ttc's and torch's losses differ in the 4th decimal or above (see table)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="the PyTorch training program")
    t.add_argument("--epochs", type=int, default=1)
    t.add_argument("--threads", type=int, default=1)
    b = sub.add_parser("bench", help="time ttc and PyTorch side by side")
    b.add_argument("--ttc-bin", required=True)
    b.add_argument("--epochs", type=int, default=1, help="must match the binary's EPOCHS")
    b.add_argument("--runs", type=int, default=5)
    b.add_argument("--openblas-dir", help="a directory holding OpenBLAS's libblas.so.3, to "
                   "also measure torch with it (Debian's torch uses whichever BLAS is installed)")
    args = ap.parse_args()
    if args.cmd == "train":
        train(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
