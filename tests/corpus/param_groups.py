# Different learning rates for different parts of a model via parameter groups.
import torch
import torch.nn as nn

torch.manual_seed(34)
backbone = nn.Linear(4, 8)
head = nn.Linear(8, 2)
model = nn.Sequential(backbone, nn.ReLU(), head)
optimizer = torch.optim.SGD([
    {"params": backbone.parameters(), "lr": 0.01},
    {"params": head.parameters()},
], lr=0.1, momentum=0.9)
print(len(optimizer.param_groups))
for i, g in enumerate(optimizer.param_groups):
    print(i, g["lr"], g["momentum"], len(g["params"]))

x = torch.randn(16, 4)
y = torch.randint(0, 2, (16,))
before = backbone.weight.clone()
for _ in range(5):
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
print(f"loss {loss.item():.4f}")
print(f"backbone moved {(backbone.weight - before).abs().max().item():.4f}")

for g in optimizer.param_groups:
    g["lr"] = g["lr"] * 0.1
print([g["lr"] for g in optimizer.param_groups])
