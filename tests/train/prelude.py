#!/usr/bin/python3
"""prelude.py — run a tests/train .tt program under PyTorch 1.13 to get its expected output.

tests/torch_ref.py binds ttc's bare tensor names to torch's, tests/grad/prelude.py adds
the losses; this adds the training names (optimizers, schedulers, clipping, data loading,
checkpoints, tqdm) the way a PyTorch script imports them, so a .tt file runs unchanged:

    /usr/bin/python3 tests/train/prelude.py FILE.tt

Kept here so that torch_ref.py and tests/grad/prelude.py stay their owners'. Debian has
neither torchvision nor tqdm: tqdm is a pass-through iterable (ttc draws its bar on stderr,
which the tests do not compare), and the torchvision datasets are not defined, so the
programs that need them are ttc-only tests with hand-written .expected files.
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "grad"))
sys.path.insert(0, os.path.join(here, ".."))
import prelude as grad_prelude  # noqa: E402,F401  (its import adds the loss names)
import torch_ref  # noqa: E402
from torch_ref import torch  # noqa: E402

from torch.optim import SGD, Adadelta, Adagrad, Adam, AdamW, RMSprop  # noqa: E402
from torch.optim.lr_scheduler import (CosineAnnealingLR, ExponentialLR, LinearLR,  # noqa: E402
                                      StepLR)
from torch.nn.utils import clip_grad_norm_, clip_grad_value_  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402


class tqdm:
    """tqdm(iterable, desc=...) without the bar: iterating it iterates the iterable."""

    def __init__(self, iterable=None, desc=None, total=None, leave=True):
        self.iterable = iterable

    def __iter__(self):
        return iter(self.iterable)

    def __len__(self):
        return len(self.iterable)

    def set_postfix(self, **kwargs):
        pass


torch_ref._names.update({
    "SGD": SGD, "Adam": Adam, "AdamW": AdamW, "RMSprop": RMSprop, "Adagrad": Adagrad,
    "Adadelta": Adadelta,
    "CosineAnnealingLR": CosineAnnealingLR, "StepLR": StepLR, "LinearLR": LinearLR,
    "ExponentialLR": ExponentialLR,
    "clip_grad_norm_": clip_grad_norm_, "clip_grad_value_": clip_grad_value_,
    "DataLoader": DataLoader, "TensorDataset": TensorDataset,
    "save": torch.save, "load": torch.load, "tqdm": tqdm,
})

if __name__ == "__main__":
    torch_ref.main()
