# Weight initialization with nn.init and model.apply.
import torch
import torch.nn as nn


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.xavier_uniform_(m.weight)
        nn.init.zeros_(m.bias)


torch.manual_seed(28)
model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
model.apply(init_weights)
print(model[0].weight)
print(model[0].bias)
print(model[2].bias)

layer = nn.Linear(100, 50)
nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
print(f"kaiming std: {layer.weight.std().item():.3f}")
nn.init.normal_(layer.weight, mean=0.0, std=0.02)
print(f"normal std: {layer.weight.std().item():.3f}")
nn.init.constant_(layer.bias, 0.1)
print(layer.bias[:5])
nn.init.uniform_(layer.weight, -0.1, 0.1)
print(layer.weight.min().item() >= -0.1, layer.weight.max().item() <= 0.1)

with torch.no_grad():
    layer.weight.fill_(0.5)
    layer.bias.zero_()
print(layer(torch.ones(1, 100))[0, :3])
