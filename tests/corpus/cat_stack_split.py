# cat, stack, split and chunk.
import torch

a = torch.tensor([[1, 2], [3, 4]])
b = torch.tensor([[5, 6]])
print(torch.cat([a, b], dim=0))
print(torch.cat((a, a), dim=1))

v1 = torch.tensor([1.0, 2.0, 3.0])
v2 = torch.tensor([4.0, 5.0, 6.0])
s = torch.stack([v1, v2])
print(s, s.shape)
print(torch.stack([v1, v2], dim=1))

big = torch.arange(10)
for piece in big.split(4):
    print(piece)
for i, chunk in enumerate(torch.chunk(big, 3)):
    print(i, chunk.tolist())
first, second = torch.split(big, [3, 7])
print(first, second.sum())

rows = [torch.full((3,), float(i)) for i in range(4)]
matrix = torch.stack(rows)
print(matrix)
print(torch.cat(rows).shape)
left, right = matrix.chunk(2, dim=1)
print(left.shape, right.shape)
print(torch.hstack([v1, v2]))
print(torch.vstack([v1, v2]))
