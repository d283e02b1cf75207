# reshape, view, permute, transpose, squeeze and friends.
import torch

x = torch.arange(12)
print(x.view(3, 4))
print(x.reshape(2, -1))
print(x.view(2, 2, 3).shape)

img = torch.arange(24).reshape(2, 3, 4)  # C, H, W
hwc = img.permute(1, 2, 0)
print(hwc.shape)
print(hwc[0, 0])
print(hwc.is_contiguous())
print(hwc.contiguous().view(-1)[:6])

m = torch.arange(6).reshape(2, 3)
print(m.t())
print(m.transpose(0, 1).shape)
print(m.T)

s = torch.zeros(1, 3, 1, 2)
print(s.squeeze().shape)
print(s.squeeze(0).shape)
print(s.unsqueeze(-1).shape)
print(torch.flatten(s).shape, s.flatten(1).shape)

batch = torch.randn(5, 1, 4, 4)
print(batch.view(batch.size(0), -1).shape)
print(batch.reshape(-1, 16).shape)
print(m.unsqueeze(0).expand(3, 2, 3).shape)
print(m.repeat(2, 1))
print(m.flip(1))
