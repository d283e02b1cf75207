# Keep a loss history and summarize it after training.
import torch
import torch.nn as nn

torch.manual_seed(12)
X = torch.randn(80, 5)
true_w = torch.tensor([[1.0], [-2.0], [0.5], [0.0], [3.0]])
y = X @ true_w + 0.2 * torch.randn(80, 1)

model = nn.Linear(5, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
losses = []
for epoch in range(40):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())

print(f"first loss: {losses[0]:.4f}")
print(f"last loss: {losses[-1]:.4f}")
print(f"min loss: {min(losses):.4f} at epoch {losses.index(min(losses))}")
print(f"mean of last 5: {sum(losses[-5:]) / 5:.4f}")
print("epochs:", len(losses))
print("decreasing:", all(a >= b for a, b in zip(losses, losses[1:])))
print([round(l, 2) for l in losses[::10]])
