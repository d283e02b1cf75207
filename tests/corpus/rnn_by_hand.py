# A vanilla RNN cell unrolled by hand over time steps.
import torch
import torch.nn as nn

torch.manual_seed(32)


class RNNCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.i2h = nn.Linear(input_size, hidden_size)
        self.h2h = nn.Linear(hidden_size, hidden_size)
        self.hidden_size = hidden_size

    def forward(self, x, h):
        return torch.tanh(self.i2h(x) + self.h2h(h))


cell = RNNCell(2, 4)
head = nn.Linear(4, 1)
params = list(cell.parameters()) + list(head.parameters())
opt = torch.optim.SGD(params, lr=0.1)
seq = torch.randn(6, 3, 2)  # time, batch, features
target = seq.sum(dim=0)[:, :1]

for epoch in range(30):
    h = torch.zeros(3, cell.hidden_size)
    for t in range(seq.size(0)):
        h = cell(seq[t], h)
    pred = head(h)
    loss = ((pred - target) ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if epoch % 10 == 0:
        print(f"epoch {epoch} loss {loss.item():.4f}")
print(h.shape)
print(pred.detach().squeeze())
