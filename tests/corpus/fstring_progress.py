# Training with the progress prints people write: epochs, batches, percentages, timings-free.
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(29)
X = torch.randn(96, 3)
y = (X.sum(1) > 0).float().unsqueeze(1)
train_loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 1))
criterion = nn.BCEWithLogitsLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
num_epochs = 3

for epoch in range(num_epochs):
    running_loss = 0.0
    correct = 0
    for batch_idx, (data, target) in enumerate(train_loader):
        optimizer.zero_grad()
        output = model(data)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()
        running_loss += loss.item()
        correct += ((output > 0).float() == target).sum().item()
        print('Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}'.format(
            epoch, (batch_idx + 1) * len(data), len(train_loader.dataset),
            100. * (batch_idx + 1) / len(train_loader), loss.item()))
    epoch_loss = running_loss / len(train_loader)
    epoch_acc = correct / len(train_loader.dataset)
    print(f"Epoch {epoch + 1:>2}/{num_epochs} - loss: {epoch_loss:.4f} - acc: {epoch_acc:.4f}")
print("=" * 20)
print(f"{'Done':^20}")
