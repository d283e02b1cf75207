# An MLP whose depth comes from a list of sizes, built with nn.ModuleList.
import torch
import torch.nn as nn


class DeepMLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        self.layers = nn.ModuleList()
        for i in range(len(sizes) - 1):
            self.layers.append(nn.Linear(sizes[i], sizes[i + 1]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x


torch.manual_seed(9)
model = DeepMLP([4, 16, 8, 3])
print(model)
print("number of layers:", len(model.layers))
x = torch.randn(5, 4)
y = torch.tensor([0, 1, 2, 1, 0])
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(50):
    loss = nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
print(f"final loss: {loss.item():.4f}")
print(model(x).argmax(dim=1))
