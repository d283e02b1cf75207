# Broadcasting drills.
import torch

a = torch.arange(3).view(3, 1)
b = torch.arange(4)
print(a + b)
print((a * b).shape)

x = torch.ones(2, 3, 4)
bias = torch.tensor([1.0, 2.0, 3.0, 4.0])
print((x + bias)[0])

row = torch.tensor([[1.0, 2.0, 3.0]])
col = torch.tensor([[10.0], [20.0]])
print(row * col)

data = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
mean = data.mean(dim=0)
std = data.std(dim=0)
normalized = (data - mean) / std
print(mean, std)
print(normalized)

dist = ((data[:, None, :] - data[None, :, :]) ** 2).sum(-1).sqrt()
print(dist)
print(torch.broadcast_shapes((2, 1), (1, 3)))
print(2 ** torch.arange(5))
print(torch.tensor([1, 2, 3]) / 2)
