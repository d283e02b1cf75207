# A custom Dataset class and a DataLoader, iterated in a training loop.
import torch
from torch.utils.data import Dataset, DataLoader


class RegressionDataset(Dataset):
    def __init__(self, n):
        self.x = torch.linspace(0, 1, n).unsqueeze(1)
        self.y = 4 * self.x - 1

    def __len__(self):
        return len(self.x)

    def __getitem__(self, idx):
        return self.x[idx], self.y[idx]


torch.manual_seed(11)
dataset = RegressionDataset(40)
print("dataset size:", len(dataset))
x0, y0 = dataset[3]
print(x0, y0)
loader = DataLoader(dataset, batch_size=8, shuffle=True)
print("batches per epoch:", len(loader))

model = torch.nn.Linear(1, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.3)
for epoch in range(20):
    epoch_loss = 0.0
    for xb, yb in loader:
        pred = model(xb)
        loss = torch.nn.functional.mse_loss(pred, yb)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item() * xb.size(0)
    if epoch % 5 == 0:
        print(f"epoch {epoch}: mean loss {epoch_loss / len(dataset):.5f}")
print(f"learned: y = {model.weight.item():.2f} x + {model.bias.item():.2f}")
