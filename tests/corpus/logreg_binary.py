# Logistic regression on two Gaussian clusters.
import torch
import torch.nn as nn

torch.manual_seed(2)
n = 100
x0 = torch.randn(n, 2) + torch.tensor([-2.0, -2.0])
x1 = torch.randn(n, 2) + torch.tensor([2.0, 2.0])
X = torch.cat([x0, x1], dim=0)
y = torch.cat([torch.zeros(n), torch.ones(n)]).unsqueeze(1)


class LogisticRegression(nn.Module):
    def __init__(self, in_dim):
        super().__init__()
        self.linear = nn.Linear(in_dim, 1)

    def forward(self, x):
        return torch.sigmoid(self.linear(x))


model = LogisticRegression(2)
criterion = nn.BCELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)

for epoch in range(30):
    y_hat = model(X)
    loss = criterion(y_hat, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if epoch % 5 == 0:
        acc = ((y_hat > 0.5).float() == y).float().mean()
        print(f"epoch {epoch:2d} loss {loss.item():.4f} acc {acc.item():.3f}")

with torch.no_grad():
    probs = model(torch.tensor([[-1.0, -1.0], [0.0, 0.0], [1.5, 1.0]]))
print(probs.squeeze())
