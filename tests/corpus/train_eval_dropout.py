# Dropout behaves differently in train() and eval() mode.
import torch
import torch.nn as nn

torch.manual_seed(18)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(8, 16)
        self.dropout = nn.Dropout(p=0.5)
        self.fc2 = nn.Linear(16, 1)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = self.dropout(x)
        return self.fc2(x)


net = Net()
x = torch.randn(4, 8)
print("training mode:", net.training)
out1 = net(x)
out2 = net(x)
print("two train passes equal:", torch.equal(out1, out2))
net.eval()
print("training mode:", net.training)
with torch.no_grad():
    e1 = net(x)
    e2 = net(x)
print("two eval passes equal:", torch.equal(e1, e2))
print(e1.squeeze())

d = nn.Dropout(0.25)
ones = torch.ones(2, 8)
print(d(ones))
