# Gradient clipping by norm: print the norm before clipping each step.
import torch
import torch.nn as nn

torch.manual_seed(16)
model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
X = torch.randn(50, 10) * 5
y = torch.randn(50, 1) * 10

for step in range(6):
    optimizer.zero_grad()
    loss = nn.MSELoss()(model(X), y)
    loss.backward()
    total_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    clipped = torch.sqrt(sum((p.grad ** 2).sum() for p in model.parameters()))
    optimizer.step()
    print(f"step {step}: loss {loss.item():.3f} grad norm {total_norm.item():.3f} -> {clipped.item():.3f}")
