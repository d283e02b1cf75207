#!/usr/bin/python3
"""prelude.py — tests/torch_ref.py plus the bare names the autodiff tests use that its
prelude lacks (the losses, their modules, erf, one_hot). Run a .tt under PyTorch:

    /usr/bin/python3 tests/grad/prelude.py FILE.tt

Kept beside the tests so torch_ref.py stays its owner's; names added there make the
matching lines here redundant, not wrong.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import torch_ref  # noqa: E402
from torch_ref import F, nn, torch  # noqa: E402

torch_ref._names.update({
    "erf": torch.erf, "one_hot": F.one_hot,
    "mse_loss": F.mse_loss, "l1_loss": F.l1_loss, "nll_loss": F.nll_loss,
    "cross_entropy": F.cross_entropy,
    "binary_cross_entropy": F.binary_cross_entropy,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
    "MSELoss": nn.MSELoss, "L1Loss": nn.L1Loss, "CrossEntropyLoss": nn.CrossEntropyLoss,
    "NLLLoss": nn.NLLLoss, "BCELoss": nn.BCELoss, "BCEWithLogitsLoss": nn.BCEWithLogitsLoss,
})

if __name__ == "__main__":
    torch_ref.main()
