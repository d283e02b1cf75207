#!/usr/bin/env python3
"""make_reader_seeds.py — writes the seed corpora of the runtime readers' fuzzers:
tests/fuzz/idx/ (fuzz_idx.c), tests/fuzz/cifar/ (fuzz_cifar.c) and tests/fuzz/ckpt/
(fuzz_ckpt.c). Each seed is a small good file or a small damaged one (truncated, wrong
magic, huge or overflowing dimensions, wrong versions, bad checksums, gzip bombs in small
form, ...), named after what it is. The output is the same bytes every run (gzip streams
carry no time stamp), so the checked-in corpora are reviewed as this script's diff.

    python3 tests/fuzz/make_reader_seeds.py          # rewrites the three directories

The input layouts are the harnesses' (see their header comments); keep in sync.
"""
import os
import shutil
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def gz(data, level=6):
    """A gzip member without a time stamp or a name: the same bytes every run."""
    c = zlib.compressobj(level, zlib.DEFLATED, 31)
    return c.compress(data) + c.flush()


def write(corpus, name, data):
    with open(os.path.join(HERE, corpus, name), "wb") as f:
        f.write(data)


# ---- IDX ---------------------------------------------------------------------------------

def labels(n, count=None, magic=0x801, shift=0):
    return struct.pack(">II", magic, n if count is None else count) + bytes(
        (i + shift) % 10 for i in range(n))


def images(n, count=None, rows=28, cols=28, magic=0x803):
    body = bytes((i * 7 + j * 3) % 256 for i in range(n) for j in range(28 * 28))
    return struct.pack(">IIII", magic, n if count is None else count, rows, cols) + body


def idx(lab, img, lenc=0, ienc=0, shuffle=False, batch=1, nocache=False):
    """fuzz_idx.c's container: flags, the labels' length, labels, images. enc 1 means the
    bytes given are already the .gz file's."""
    flags = lenc | ienc << 2 | shuffle << 4 | (batch - 1) << 5 | nocache << 7
    return bytes([flags]) + struct.pack("<I", len(lab)) + lab + img


def bomb(head, zeros, level=9):
    return gz(head + bytes(zeros), level)


def idx_seeds():
    L, I = labels(3), images(3)
    good_gz = gz(I)
    s = {
        "good-plain": idx(L, I),
        "good-gz": idx(gz(L), gz(I), 1, 1),
        "good-gzipped-by-harness": idx(L, I, 2, 2),
        "good-no-cache": idx(gz(L), gz(I), 1, 1, nocache=True),
        "good-shuffle-batch3": idx(labels(4), images(4), shuffle=True, batch=3),
        "good-zero-images": idx(labels(0), images(0), 2, 2),
        "labels-bad-magic": idx(labels(3, magic=0x803), I),
        "images-bad-magic": idx(L, images(3, magic=0x801)),
        "images-32x32": idx(L, images(0, count=3, rows=32, cols=32) + bytes(3 * 1024)),
        "images-dims-huge": idx(L, images(0, count=3, rows=0xFFFFFFFF, cols=0xFFFFFFFF)),
        "images-dims-zero": idx(L, images(0, count=3, rows=0, cols=0)),
        "images-count-huge": idx(L, images(3, count=0xFFFFFFFF)),
        "labels-count-huge": idx(labels(3, count=0xFFFFFFFF), I),
        "count-mismatch": idx(labels(4), I),
        "images-truncated": idx(L, I[:16 + 784 + 100]),
        "labels-truncated": idx(L[:9], I),
        "header-short": idx(L[:5], I[:7]),
        "empty-files": idx(b"", b""),
        "label-out-of-range": idx(L[:9] + b"\x0c" + L[10:], I),
        "gz-truncated": idx(L, good_gz[:len(good_gz) // 2], 0, 1),
        "gz-bad-crc": idx(L, good_gz[:-8] + bytes([good_gz[-8] ^ 1]) + good_gz[-7:], 0, 1),
        "gz-bad-isize": idx(L, good_gz[:-4] + struct.pack("<I", 5), 0, 1),
        "gz-two-members": idx(L, gz(I[:100]) + gz(I[100:]), 0, 1),
        "gz-zero-padded": idx(L, good_gz + bytes(16), 0, 1),
        "gz-trailing-garbage": idx(L, good_gz + b"garbage", 0, 1),
        "gz-not-gzip": idx(L, I, 0, 1),
        "gz-empty": idx(L, b"", 0, 1),
        "gz-bad-magic-inside": idx(L, gz(images(3, magic=0x12345678)), 0, 1),
        "gz-dims-inside": idx(L, gz(images(0, count=3, rows=64, cols=64)), 0, 1),
        # a small gzip bomb: the header claims 1 image (800 bytes), the stream holds 1 MiB
        "gz-bomb-images": idx(labels(1), bomb(images(1), 1 << 20), 0, 1),
        "gz-bomb-labels": idx(bomb(labels(3), 1 << 20), I, 1, 0),
        "gz-bomb-no-cache": idx(labels(1), bomb(images(1), 1 << 20), 0, 1, nocache=True),
        "gz-bomb-second-member": idx(labels(1), gz(images(1)) + bomb(b"", 1 << 20), 0, 1),
        "container-length-past-end": bytes([0]) + struct.pack("<I", 0xFFFFFFFF) + L,
    }
    return s


# ---- CIFAR-10 ------------------------------------------------------------------------------

def records(n, label=lambda r: r % 10):
    out = b""
    for r in range(n):
        out += bytes([label(r)]) + bytes((r * 5 + j) % 256 for j in range(3072))
    return out


def cifar(data, enc=0, train=False, shuffle=False, nocache=False):
    return bytes([enc | train << 2 | shuffle << 3 | nocache << 7]) + data


def cifar_seeds():
    R2 = records(2)
    g = gz(R2)
    return {
        "good-test": cifar(R2),
        "good-train": cifar(records(1), train=True),
        "good-gz": cifar(g, 1),
        "good-gzipped-by-harness-shuffle": cifar(records(3), 2, shuffle=True),
        "good-no-cache": cifar(g, 1, nocache=True),
        "good-train-gz": cifar(gz(records(1)), 1, train=True),
        "not-whole-records": cifar(R2 + bytes(100)),
        "one-byte-short": cifar(R2[:-1]),
        "empty": cifar(b""),
        "label-out-of-range": cifar(records(2, lambda r: 200)),
        "gz-truncated": cifar(g[:len(g) // 2], 1),
        "gz-bad-crc": cifar(g[:-8] + bytes([g[-8] ^ 1]) + g[-7:], 1),
        "gz-isize-zero": cifar(g[:-4] + bytes(4), 1),
        "gz-two-members": cifar(gz(R2[:3073]) + gz(R2[3073:]), 1),
        # gzip bombs: ISIZE (the last member's size) is the claim
        "gz-bomb-two-members": cifar(bomb(b"", 1 << 20) + gz(records(1)), 1),
        "gz-bomb-isize-lies": cifar(bomb(b"", 1 << 20)[:-4] + struct.pack("<I", 3073), 1),
        "gz-not-gzip": cifar(R2, 1),
    }


# ---- checkpoints -----------------------------------------------------------------------------

# (key, dtype code, shape, element format): fuzz_ckpt.c's state_a and state_b, in sync.
F32, F64, I64, BOOL = 0, 1, 2, 5
STATE_A = [("fc.weight", F32, [2, 3], "f"), ("fc.bias", F32, [2], "f"), ("opt.step", I64, [], "q"),
           ("lr", F64, [], "d"), ("mask", BOOL, [4], "B")]
STATE_B = [("model.0.weight", F32, [2, 2], "f"), ("model.0.bias", F32, [2], "f")]


def entry(key, dtype, shape, fmt, nbytes=None, data=None, rank=None, klen=None):
    n = 1
    for d in shape:
        n *= d
    if data is None:
        data = struct.pack("<%d%s" % (n, fmt), *([1] * n)) if n < 1000 else b""
    k = key.encode()
    out = struct.pack("<I", len(k) if klen is None else klen) + k
    out += struct.pack("<II", dtype, len(shape) if rank is None else rank)
    out += b"".join(struct.pack("<q", d) for d in shape)
    return out + struct.pack("<Q", len(data) if nbytes is None else nbytes) + data


def ckpt(entries, version=1, size=None, count=None, crc=None, extra=b""):
    body = b"".join(entries) + extra
    total = 6 + 4 + 8 + 4 + len(body) + 4
    head = b"TTCKPT" + struct.pack("<IQI", version, total if size is None else size,
                                   len(entries) if count is None else count)
    data = head + body
    c = zlib.crc32(data) if crc is None else crc
    return data + struct.pack("<I", c)


def ckpt_seeds():
    A = [entry(*e) for e in STATE_A]
    B = [entry(*e) for e in STATE_B] + [entry("opt.step", I64, [], "q")]
    good = ckpt(A)
    return {
        "good": good,
        "good-model-and-opt": ckpt(B),
        "good-reordered": ckpt(A[::-1]),
        "empty-state": ckpt([]),
        "truncated-half": good[:len(good) // 2],
        "truncated-header": good[:10],
        "truncated-crc": good[:-4],
        "empty-file": b"",
        "bad-magic": b"PK\x03\x04" + good[4:],
        "version-0": ckpt(A, version=0),
        "version-2": ckpt(A, version=2),
        "size-larger": ckpt(A, size=len(good) + 1),
        "size-smaller": ckpt(A, size=22),
        "size-huge": ckpt(A, size=3 << 30),
        "bad-crc": ckpt(A, crc=0x12345678),
        "count-huge": ckpt(A, count=0xFFFFFFFF),
        "count-too-small": ckpt(A, count=2),
        "rank-33": ckpt(A[:1] + [entry("x", F32, [1] * 33, "f")]),
        "rank-huge": ckpt([entry("fc.weight", F32, [2, 3], "f", rank=0xFFFFFFFF)]),
        "dtype-9": ckpt([entry("fc.weight", 9, [2, 3], "f", data=bytes(24))]),
        "key-length-huge": ckpt([entry("fc.weight", F32, [2, 3], "f", klen=0xFFFFFFF0)]),
        "bytes-huge": ckpt([entry("fc.weight", F32, [2, 3], "f", nbytes=(1 << 64) - 8)]),
        "dims-overflow": ckpt([entry("fc.weight", F32, [1 << 62, 4], "f", data=b"")]),
        "dims-negative": ckpt([entry("fc.weight", F32, [-2, -3], "f", data=bytes(24))]),
        "duplicate-key": ckpt(A + A[:1]),
        "trailing-bytes": ckpt(A, extra=b"\0\0\0"),
        "shape-mismatch": ckpt([entry("fc.weight", F32, [3, 2], "f")] + A[1:]),
        "dtype-mismatch": ckpt(A[:3] + [entry("lr", F32, [], "f")] + A[4:]),
        "bytes-mismatch": ckpt([entry("fc.weight", F32, [2, 3], "f", data=bytes(20))] + A[1:]),
        "missing-key": ckpt(A[:4]),
        "unexpected-key": ckpt(A + [entry("extra", F32, [1], "f")]),
        # "mask" spelt in four bytes that are not UTF-8
        "key-not-utf8": ckpt(A[:4] + [b"\x04\0\0\0\xff\xfe\xfd\xfc" + A[4][8:]]),
    }


def main():
    for corpus, seeds in (("idx", idx_seeds()), ("cifar", cifar_seeds()),
                          ("ckpt", ckpt_seeds())):
        d = os.path.join(HERE, corpus)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        for name, data in sorted(seeds.items()):
            write(corpus, name, data)
        print("%s: %d seeds, %d bytes" % (corpus, len(seeds), sum(map(len, seeds.values()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
