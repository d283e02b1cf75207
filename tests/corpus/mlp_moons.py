# Two interleaving half circles ("moons") made by hand, classified by an MLP.
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(4)
n = 100
t = torch.rand(n) * math.pi
outer = torch.stack([torch.cos(t), torch.sin(t)], dim=1)
inner = torch.stack([1 - torch.cos(t), 1 - torch.sin(t) - 0.5], dim=1)
X = torch.cat([outer, inner]) + 0.1 * torch.randn(2 * n, 2)
y = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])

model = nn.Sequential(
    nn.Linear(2, 16),
    nn.ReLU(),
    nn.Linear(16, 16),
    nn.ReLU(),
    nn.Linear(16, 2),
)
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)

for epoch in range(200):
    logits = model(X)
    loss = F.cross_entropy(logits, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 50 == 0 or epoch == 199:
        acc = (logits.argmax(dim=1) == y).float().mean().item()
        print(f"epoch {epoch:3d} | loss {loss.item():.4f} | acc {acc * 100:.1f}%")
