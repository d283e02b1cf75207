# CosineAnnealingLR with get_last_lr(), collecting the schedule in a list.
import torch
from torch import nn, optim

torch.manual_seed(14)
net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
opt = optim.Adam(net.parameters(), lr=0.01)
sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)
data = torch.randn(16, 4)
target = torch.randn(16, 1)

lrs = []
for epoch in range(12):
    opt.zero_grad()
    loss = ((net(data) - target) ** 2).mean()
    loss.backward()
    opt.step()
    sched.step()
    lrs.append(sched.get_last_lr()[0])
    print(f"{epoch:2d} loss {loss.item():.4f} next lr {lrs[-1]:.6f}")
print("max lr seen:", max(lrs))
