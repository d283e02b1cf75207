# Weights through the safetensors format: saved and loaded back, a model's state_dict,
# tensors of each dtype ttc holds, metadata, save_model/load_model with tied weights.
import torch
import torch.nn as nn
from safetensors.torch import save_file, load_file, save_model, load_model
import safetensors.torch

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
x = torch.randn(5, 3)
y = net(x)
print(y)
save_file(net.state_dict(), "net.safetensors", metadata={"format": "pt"})
sd = load_file("net.safetensors")
print(list(sd.keys()))
print(sd["0.weight"])
net2 = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
net2.load_state_dict(sd)
print(torch.equal(net2(x), y))

tensors = {
    "b": torch.arange(6).reshape(2, 3),
    "a": torch.tensor([True, False, True]),
    "c": torch.randn(2, dtype=torch.float64),
    "i": torch.tensor([1, -2], dtype=torch.int32),
    "q": torch.tensor([-128, 127], dtype=torch.int8),
    "s": torch.tensor(3.5),
}
save_file(tensors, "mixed.safetensors")
back = safetensors.torch.load_file("mixed.safetensors")
for k, v in back.items():
    print(k, v.dtype, tuple(v.shape), v)


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)
        self.head = nn.Linear(3, 5, bias=False)
        self.head.weight = self.emb.weight


tied = Tied()
save_model(tied, "tied.safetensors")
print(list(load_file("tied.safetensors").keys()))
other = Tied()
missing, unexpected = load_model(other, "tied.safetensors")
print(missing, unexpected, torch.equal(other.head.weight, tied.emb.weight))
