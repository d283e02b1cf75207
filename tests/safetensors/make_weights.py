# Writes torch_weights.safetensors with PyTorch (the reference writer in ref/), for
# from_torch.py: run from this folder with PYTHONPATH=ref.
import torch
import torch.nn as nn
from safetensors.torch import save_file

torch.manual_seed(1234)
fc1, fc2 = nn.Linear(4, 8), nn.Linear(8, 3)
save_file({"fc1.weight": fc1.weight.detach(), "fc1.bias": fc1.bias.detach(),
           "fc2.weight": fc2.weight.detach(), "fc2.bias": fc2.bias.detach(),
           "input": torch.randn(2, 4), "labels": torch.tensor([2, 0]),
           "mask": torch.tensor([True, False])},
          "torch_weights.safetensors", metadata={"source": "pytorch"})
