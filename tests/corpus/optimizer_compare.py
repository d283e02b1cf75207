# Compare optimizers on the same problem from the same initial weights.
import torch
import torch.nn as nn

torch.manual_seed(33)
X = torch.randn(64, 4)
y = X @ torch.tensor([[2.0], [-1.0], [0.5], [1.0]]) + 1.0

results = {}
for name in ["SGD", "Momentum", "Adam", "RMSprop"]:
    torch.manual_seed(0)
    model = nn.Linear(4, 1)
    if name == "SGD":
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
    elif name == "Momentum":
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    elif name == "Adam":
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
    else:
        opt = torch.optim.RMSprop(model.parameters(), lr=0.01)
    for step in range(50):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X), y)
        loss.backward()
        opt.step()
    results[name] = loss.item()

for name, final in results.items():
    print(f"{name:<10} final loss {final:.4f}")
best = min(results, key=results.get)
print("best:", best)
