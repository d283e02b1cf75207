# StepLR: the learning rate drops by gamma every step_size epochs.
import torch
import torch.nn as nn
from torch.optim.lr_scheduler import StepLR

torch.manual_seed(13)
model = nn.Linear(3, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
scheduler = StepLR(optimizer, step_size=3, gamma=0.5)
X = torch.randn(32, 3)
y = X.sum(dim=1, keepdim=True)

for epoch in range(10):
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(X), y)
    loss.backward()
    optimizer.step()
    lr = optimizer.param_groups[0]["lr"]
    print(f"epoch {epoch}: lr={lr:.4f} loss={loss.item():.4f}")
    scheduler.step()
