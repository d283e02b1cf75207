# The XOR problem with a tiny MLP.
import torch
import torch.nn as nn

torch.manual_seed(36)
X = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])


class XOR(nn.Module):
    def __init__(self):
        super(XOR, self).__init__()
        self.layer1 = nn.Linear(2, 4)
        self.layer2 = nn.Linear(4, 1)

    def forward(self, x):
        x = torch.sigmoid(self.layer1(x))
        return torch.sigmoid(self.layer2(x))


model = XOR()
loss_func = nn.MSELoss()
optimizer = torch.optim.SGD(model.parameters(), lr=2.0)
epochs = 2000
for epoch in range(epochs):
    optimizer.zero_grad()
    loss = loss_func(model(X), Y)
    loss.backward()
    optimizer.step()
    if epoch % 500 == 0:
        print("Epoch: {0}, Loss: {1:.5f}".format(epoch, loss.item()))

with torch.no_grad():
    out = model(X)
for inp, o in zip(X, out):
    print(inp.tolist(), "->", round(o.item()))
