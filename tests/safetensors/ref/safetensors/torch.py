"""safetensors.torch, as the package's docs define it, in json + struct + torch."""
import json
import struct

import torch

_DT = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
       torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32", torch.float32: "F32",
       torch.float64: "F64", torch.int64: "I64"}
_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32",
          "F32", "F64", "I64", "U64"]
_FROM = {v: k for k, v in _DT.items()}
_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "F16": 2, "BF16": 2, "I32": 4, "F32": 4,
         "F64": 8, "I64": 8}


def _bytes(t):
    return t.contiguous().view(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""


def save_file(tensors, filename, metadata=None):
    ptrs = {}
    for k, t in tensors.items():
        if not t.is_contiguous():
            raise ValueError(f"You are trying to save a non contiguous tensor: `{k}`")
        if t.numel() and t.data_ptr() in ptrs:
            raise RuntimeError(f"Some tensors share memory: {[ptrs[t.data_ptr()], k]}")
        ptrs[t.data_ptr()] = k
    items = sorted(tensors.items(), key=lambda kv: (-_ORDER.index(_DT[kv[1].dtype]), kv[0]))
    header, data, off = {}, b"", 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for k, t in items:
        b = _bytes(t.detach())
        header[k] = {"dtype": _DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        data += b
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(filename, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def _read(filename):
    with open(filename, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    spans = sorted(tuple(v["data_offsets"]) for k, v in header.items() if k != "__metadata__")
    at = 0
    for b, e in spans:
        assert b == at, "offsets must tile the data"
        at = e
    assert at == len(data), "data length"
    return header, data


def load_file(filename, device="cpu"):
    header, data = _read(filename)
    out = {}
    for k in sorted(k for k in header if k != "__metadata__"):
        v = header[k]
        b, e = v["data_offsets"]
        dt = _FROM[v["dtype"]]
        buf = bytearray(data[b:e])
        t = torch.frombuffer(buf, dtype=dt) if buf else torch.empty(0, dtype=dt)
        out[k] = t.reshape(v["shape"]).clone()
    return out


def save_model(model, filename, metadata=None, force_contiguous=False):
    sd = model.state_dict()
    seen = {}
    for k in list(sd):
        p = sd[k].data_ptr()
        if p in seen:
            metadata = {} if metadata is None else metadata
            metadata.setdefault(k, seen[p])
            del sd[k]
        else:
            seen[p] = k
    save_file(sd, filename, metadata=metadata)


def load_model(model, filename, strict=True, device="cpu"):
    sd = load_file(filename)
    msd = model.state_dict()
    # the names that are repeats of another tensor of the model (tied weights)
    by_ptr = {}
    for k, t in msd.items():
        by_ptr.setdefault(t.data_ptr(), []).append(k)
    to_remove = []
    for names in by_ptr.values():
        keep = [k for k in names if k in sd][:1] or sorted(names)[:1]
        to_remove += [k for k in names if k not in keep]
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = set(missing)
    for k in to_remove:
        if k not in missing:
            unexpected.append(k)
        else:
            missing.remove(k)
    if strict and (missing or unexpected):
        raise RuntimeError(f"Error(s) in loading state_dict: missing {missing}, unexpected {unexpected}")
    return missing, unexpected


def metadata_of(filename):
    """Not in the package: the header's __metadata__, for the tests."""
    return _read(filename)[0].get("__metadata__")
