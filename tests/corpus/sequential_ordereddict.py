# nn.Sequential built from an OrderedDict, layers reached by name and by index.
from collections import OrderedDict

import torch
import torch.nn as nn

torch.manual_seed(10)
model = nn.Sequential(OrderedDict([
    ("fc1", nn.Linear(6, 12)),
    ("act1", nn.ReLU()),
    ("fc2", nn.Linear(12, 4)),
    ("softmax", nn.Softmax(dim=1)),
]))
print(model)
print(model.fc1)
print(model[2].weight.shape)
x = torch.randn(3, 6)
probs = model(x)
print(probs)
print(probs.sum(dim=1))
for name, module in model.named_children():
    print(name, type(module).__name__)
