# Train a tiny CNN to tell whether the bright square is in the left or right half.
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(7)
N = 64
images = torch.randn(N, 1, 12, 12) * 0.3
labels = torch.randint(0, 2, (N,))
for i in range(N):
    col = 1 if labels[i] == 0 else 7
    images[i, 0, 4:8, col:col + 4] += 2.0


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 5 * 5, 2)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc(x)


net = Net()
optimizer = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for epoch in range(15):
    optimizer.zero_grad()
    outputs = net(images)
    loss = criterion(outputs, labels)
    loss.backward()
    optimizer.step()
    if epoch % 5 == 4:
        _, predicted = torch.max(outputs, 1)
        accuracy = (predicted == labels).sum().item() / N
        print(f"epoch {epoch + 1}: loss {loss.item():.4f}, accuracy {accuracy:.2%}")
