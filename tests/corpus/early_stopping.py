# Early stopping on a validation loss with a best-loss variable and patience.
import copy
import torch
import torch.nn as nn

torch.manual_seed(17)
X = torch.randn(120, 4)
y = X @ torch.tensor([[1.5], [-1.0], [0.0], [2.0]]) + 0.5 * torch.randn(120, 1)
X_train, y_train = X[:90], y[:90]
X_val, y_val = X[90:], y[90:]

model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 1))
optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
criterion = nn.MSELoss()

best_loss = float("inf")
best_epoch = 0
best_state = None
patience = 5
bad_epochs = 0
for epoch in range(200):
    model.train()
    optimizer.zero_grad()
    loss = criterion(model(X_train), y_train)
    loss.backward()
    optimizer.step()

    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(X_val), y_val).item()
    if val_loss < best_loss:
        best_loss = val_loss
        best_epoch = epoch
        best_state = copy.deepcopy(model.state_dict())
        bad_epochs = 0
    else:
        bad_epochs += 1
        if bad_epochs >= patience:
            print(f"early stopping at epoch {epoch}")
            break

print(f"best validation loss {best_loss:.4f} at epoch {best_epoch}")
model.load_state_dict(best_state)
with torch.no_grad():
    print(f"restored model val loss {criterion(model(X_val), y_val).item():.4f}")
