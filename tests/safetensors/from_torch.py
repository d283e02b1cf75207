# Weights PyTorch wrote (torch_weights.safetensors, from make_weights.py) run in ttc.
import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


weights = load_file("torch_weights.safetensors")
model = MLP()
model.load_state_dict({k: v for k, v in weights.items() if k.startswith("fc")})
x = weights["input"]
print(model(x))
print(weights["labels"], weights["mask"])
print(F.cross_entropy(model(x), weights["labels"]))
