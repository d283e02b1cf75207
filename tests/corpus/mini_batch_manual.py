# Manual mini-batching with randperm and slicing, no DataLoader.
import torch
import torch.nn as nn

torch.manual_seed(38)
n_samples = 100
X = torch.randn(n_samples, 2)
y = (X[:, 0] - X[:, 1] > 0).long()
model = nn.Linear(2, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
batch_size = 25

for epoch in range(5):
    perm = torch.randperm(n_samples)
    epoch_loss = 0.0
    n_batches = 0
    for i in range(0, n_samples, batch_size):
        idx = perm[i:i + batch_size]
        xb, yb = X[idx], y[idx]
        loss = nn.functional.cross_entropy(model(xb), yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item()
        n_batches += 1
    print(f"epoch {epoch}: {epoch_loss / n_batches:.4f} over {n_batches} batches")

with torch.no_grad():
    acc = (model(X).argmax(dim=1) == y).float().mean()
print(f"train accuracy {acc:.2f}")
