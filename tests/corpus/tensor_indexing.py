# Indexing drills.
import torch

x = torch.arange(24).reshape(4, 6)
print(x)
print(x[0])
print(x[:, 1])
print(x[1:3, ::2])
print(x[-1])
print(x[..., 0])
print(x[2, 3], x[2, 3].item())
print(x[[0, 2]])
print(x[:, [1, 4]])
print(x[x > 20])
print(x[None, 0].shape)

y = torch.zeros(3, 3)
y[1] = 5
y[:, 2] = -1
y[0, 0] = 7
print(y)
m = x % 5 == 0
print(m.sum())
z = x.clone().float()
z[m] = 0.5
print(z)
print(x.numel(), x.dim(), x.size(), x.size(1))
