# Three Gaussian blobs, a 2-layer MLP, CrossEntropyLoss and a held-out split.
import torch
from torch import nn

torch.manual_seed(5)
centers = torch.tensor([[0.0, 3.0], [3.0, -1.0], [-3.0, -1.0]])
X = torch.cat([c + torch.randn(60, 2) for c in centers])
y = torch.arange(3).repeat_interleave(60)
perm = torch.randperm(len(X))
X, y = X[perm], y[perm]
X_train, y_train = X[:150], y[:150]
X_test, y_test = X[150:], y[150:]


class Net(nn.Module):
    def __init__(self, hidden):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))


net = Net(8)
loss_fn = nn.CrossEntropyLoss()
opt = torch.optim.SGD(net.parameters(), lr=0.1)
for epoch in range(1, 61):
    opt.zero_grad()
    loss = loss_fn(net(X_train), y_train)
    loss.backward()
    opt.step()
    if epoch % 20 == 0:
        print(f"Epoch {epoch}: train loss {loss.item():.4f}")

with torch.no_grad():
    pred = net(X_test).argmax(1)
correct = (pred == y_test).sum().item()
print(f"Test accuracy: {correct}/{len(y_test)} = {100.0 * correct / len(y_test):.2f}%")
